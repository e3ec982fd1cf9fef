// Helpers of the tests that run an editor's own loading (tests.rs, for Neovim; helix.rs),
// included in both.

/// Whether every tool must be there (`QUANDARY_REQUIRE_TOOLS=1`, set by `scripts/test`).
fn tools_required() -> bool {
    std::env::var_os("QUANDARY_REQUIRE_TOOLS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// A program found on the `PATH`.
fn on_path(program: &str) -> Option<PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// An empty folder of this test run's own.
fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "tree-sitter-quandary-{name}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// The parser as an editor builds it: a shared library of src/parser.c and src/scanner.c.
fn build_shared_parser(cc: &Path, out: &Path) {
    fs::create_dir_all(out.parent().unwrap()).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let built = Command::new(cc)
        .args(["-shared", "-fPIC", "-O0", "-I"])
        .arg(&src)
        .arg(src.join("parser.c"))
        .arg(src.join("scanner.c"))
        .arg("-o")
        .arg(out)
        .status()
        .unwrap();
    assert!(built.success(), "cc failed to build the parser");
}
