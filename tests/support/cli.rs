//! Running the built binary from integration tests: shared by the test files that include
//! it with `#[path = "support/cli.rs"] mod cli;`. Not every file uses every helper.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh, empty directory under the test target's scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir
}

/// The binary, to run in `cwd` without colour, with nothing on its standard input and
/// none of the test programs' variables it might inherit.
pub fn command(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_quandary"));
    c.current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("OPENAI_API_KEY")
        .stdin(std::process::Stdio::null());
    // Tests reach 127.0.0.1 only: not through a proxy the machine names.
    use quandary::eval::adapters::openai::{NO_PROXY_VARIABLES, PROXY_VARIABLES};
    for var in PROXY_VARIABLES.iter().chain(&NO_PROXY_VARIABLES) {
        c.env_remove(var);
    }
    c
}

/// Runs the binary in `cwd`, without colour.
pub fn quandary(cwd: &Path, args: &[&str]) -> Output {
    command(cwd).args(args).output().expect("runs the binary")
}

/// Runs the binary in the crate's folder, as a user in a checkout would.
pub fn in_root(args: &[&str]) -> Output {
    quandary(&root(), args)
}

/// Its standard error, as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs the binary in `cwd` and insists on success; its standard output.
pub fn ok(cwd: &Path, args: &[&str]) -> String {
    let out = quandary(cwd, args);
    assert!(
        out.status.success(),
        "quandary {}: {}",
        args.join(" "),
        stderr(&out)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every line of a JSON Lines file, parsed.
pub fn json_lines(path: impl AsRef<Path>) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .expect("a file")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// The crate's folder: the binary runs there as a user in a checkout would.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Its standard output, as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The names of the files in `dir` (none when it does not exist).
pub fn files_in(dir: &Path) -> std::collections::BTreeSet<String> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .map(|e| {
                e.expect("an entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect(),
        Err(_) => std::collections::BTreeSet::new(),
    }
}

/// A scratch folder removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty folder under the test target's scratch space.
    pub fn new(name: &str) -> Self {
        TempDir(scratch(name))
    }

    /// A path inside it.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
