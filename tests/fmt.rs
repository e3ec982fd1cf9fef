//! The formatter: fixture pairs in `tests/fmt/`, round trips over every source file in the
//! repository, and the `quandary fmt` command.
//!
//! A fixture is a pair `tests/fmt/NAME.in.qd` → `tests/fmt/NAME.out.qd`: add a case by adding
//! the two files.

use std::path::{Path, PathBuf};

use quandary::format::format;
use quandary::{SourceMap, load_str};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The comments of `text`, in order.
fn comments(text: &str) -> Vec<String> {
    let mut sources = SourceMap::new();
    let file = sources.add("x.qd", None, text);
    let (ast, _) = quandary::syntax::parse(file, sources.get(file).text());
    ast.comments.into_iter().map(|c| c.text).collect()
}

/// Checks everything the formatter promises about `original` and its formatted form,
/// `name` being the file's path (imports are read relative to it).
fn assert_faithful(name: &str, original: &str, formatted: &str) {
    assert_eq!(
        format(formatted).as_deref(),
        Ok(formatted),
        "{name}: formatting the formatted text changes it"
    );
    assert!(
        load_str(name, original).framework == load_str(name, formatted).framework,
        "{name}: the formatted text resolves to a different model"
    );
    assert_eq!(
        comments(original),
        comments(formatted),
        "{name}: comments lost or reordered"
    );
    let body = formatted.strip_prefix('\u{FEFF}').unwrap_or(formatted);
    if !body.is_empty() {
        let newline = if body.contains("\r\n") { "\r\n" } else { "\n" };
        assert!(body.ends_with(newline), "{name}: no final line ending");
        assert!(
            !body.ends_with(&format!("{newline}{newline}")),
            "{name}: blank lines at the end"
        );
    }
}

/// Every `*.qd` file under `dir`, recursively, sorted.
fn qd_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(qd_files(&path));
        } else if path.extension().is_some_and(|e| e == "qd") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn fixtures() {
    let dir = root().join("tests/fmt");
    let mut cases = 0;
    for input in qd_files(&dir) {
        let name = input.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".in.qd") else {
            continue;
        };
        let expected_path = dir.join(format!("{stem}.out.qd"));
        let original = std::fs::read_to_string(&input).unwrap();
        let expected = std::fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        let formatted = format(&original).unwrap_or_else(|d| panic!("{name}: {d:#?}"));
        assert_eq!(
            formatted.split_inclusive('\n').collect::<Vec<_>>(),
            expected.split_inclusive('\n').collect::<Vec<_>>(),
            "{name}: the formatted text (left) differs from {stem}.out.qd (right)"
        );
        assert_eq!(
            format(&expected).as_deref(),
            Ok(expected.as_str()),
            "{stem}.out.qd is not formatted"
        );
        assert_faithful(&input.to_string_lossy(), &original, &formatted);
        cases += 1;
    }
    assert!(
        cases >= 12,
        "only {cases} fixtures found in {}",
        dir.display()
    );
}

/// Every source file in the repository that parses formats idempotently, to the same model,
/// keeping its comments. The fuzzer's regression inputs are left to `tests/fuzz.rs`, which
/// checks the same in a process of its own: they are made to crash the library.
#[test]
fn round_trips_every_source_file() {
    let root = root();
    let mut checked = 0;
    for dir in ["rules", "tests", "examples", "scenarios"] {
        for path in qd_files(&root.join(dir)) {
            if path.starts_with(root.join("tests/fuzz")) {
                continue;
            }
            let Ok(original) = std::fs::read_to_string(&path) else {
                continue;
            };
            let Ok(formatted) = format(&original) else {
                continue;
            };
            assert_faithful(&path.to_string_lossy(), &original, &formatted);
            checked += 1;
        }
    }
    assert!(checked > 0);
}

// ---------------------------------------------------------------- the command

/// `quandary fmt`, through the built binary.
#[cfg(feature = "cli")]
mod cli {
    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    /// A fresh, empty directory for one test.
    fn temp_dir(test: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("fmt-{test}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn quandary(args: &[&str], dir: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_quandary"))
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap()
    }

    fn stdout(output: &Output) -> String {
        String::from_utf8(output.stdout.clone()).unwrap()
    }

    fn stderr(output: &Output) -> String {
        String::from_utf8(output.stderr.clone()).unwrap()
    }

    const MESSY: &str = "value   care \"Care\"{kind duty}\nconflict care<>care   # why\n";
    const CANONICAL: &str = "value care \"Care\" { kind duty }\nconflict care <> care  # why\n";

    #[test]
    fn cli_prints_the_formatted_text() {
        let dir = temp_dir("prints");
        std::fs::write(dir.join("a.qd"), MESSY).unwrap();
        let out = quandary(&["fmt", "a.qd"], &dir);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), CANONICAL);
        // The file itself is left alone.
        assert_eq!(std::fs::read_to_string(dir.join("a.qd")).unwrap(), MESSY);
    }

    #[test]
    fn cli_reads_standard_input() {
        let dir = temp_dir("stdin");
        let mut child = Command::new(env!("CARGO_BIN_EXE_quandary"))
            .args(["fmt", "-"])
            .current_dir(&dir)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(MESSY.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        assert_eq!(stdout(&out), CANONICAL);
    }

    #[test]
    fn cli_check_prints_a_diff_and_fails_on_an_unformatted_file() {
        let dir = temp_dir("check-messy");
        std::fs::write(dir.join("messy.qd"), MESSY).unwrap();
        std::fs::write(dir.join("clean.qd"), CANONICAL).unwrap();
        let out = quandary(&["fmt", "--check", "clean.qd", "messy.qd"], &dir);
        assert_eq!(out.status.code(), Some(1));
        let diff = stdout(&out);
        assert!(diff.starts_with("--- messy.qd\n+++ messy.qd\n"), "{diff}");
        assert!(
            diff.contains("\n-value   care \"Care\"{kind duty}\n"),
            "{diff}"
        );
        assert!(
            diff.contains("\n+value care \"Care\" { kind duty }\n"),
            "{diff}"
        );
        assert!(!diff.contains("clean.qd"), "{diff}");
        assert_eq!(
            std::fs::read_to_string(dir.join("messy.qd")).unwrap(),
            MESSY
        );
    }

    #[test]
    fn cli_check_is_quiet_and_succeeds_on_formatted_files() {
        let dir = temp_dir("check-clean");
        std::fs::write(dir.join("clean.qd"), CANONICAL).unwrap();
        std::fs::write(dir.join("empty.qd"), "").unwrap();
        let out = quandary(&["fmt", "--check", "clean.qd", "empty.qd"], &dir);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
        assert_eq!(stderr(&out), "");
    }

    #[test]
    fn cli_write_rewrites_unformatted_files_only() {
        let dir = temp_dir("write");
        std::fs::write(dir.join("messy.qd"), MESSY).unwrap();
        std::fs::write(dir.join("clean.qd"), CANONICAL).unwrap();
        // An old modification time shows whether the canonical file was rewritten.
        let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
        std::fs::File::options()
            .write(true)
            .open(dir.join("clean.qd"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let out = quandary(&["fmt", "--write", "messy.qd", "clean.qd"], &dir);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), "");
        assert_eq!(
            std::fs::read_to_string(dir.join("messy.qd")).unwrap(),
            CANONICAL
        );
        let clean = std::fs::metadata(dir.join("clean.qd")).unwrap();
        assert_eq!(clean.modified().unwrap(), old);
        // No temporary file is left behind.
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["clean.qd", "messy.qd"]);
    }

    #[test]
    fn cli_reports_syntax_errors_and_leaves_the_file_alone() {
        let dir = temp_dir("syntax");
        let broken = "value   a b\n";
        std::fs::write(dir.join("broken.qd"), broken).unwrap();
        std::fs::write(dir.join("messy.qd"), MESSY).unwrap();
        for flag in ["--write", "--check"] {
            let out = quandary(
                &[
                    "fmt",
                    flag,
                    "--error-format",
                    "plain",
                    "broken.qd",
                    "messy.qd",
                ],
                &dir,
            );
            assert_eq!(out.status.code(), Some(1));
            let err = stderr(&out);
            assert!(
                err.contains("Q0003") && err.contains("broken.qd:1:"),
                "{err}"
            );
            assert_eq!(
                std::fs::read_to_string(dir.join("broken.qd")).unwrap(),
                broken
            );
        }
        // The other file was still formatted.
        assert_eq!(
            std::fs::read_to_string(dir.join("messy.qd")).unwrap(),
            CANONICAL
        );
        let out = quandary(&["fmt", "--error-format", "json", "broken.qd"], &dir);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(stdout(&out), "");
        let json: serde_json::Value = serde_json::from_str(stderr(&out).trim()).unwrap();
        assert_eq!(json["code"], "Q0003");
    }

    #[test]
    fn cli_reports_unreadable_files() {
        let dir = temp_dir("unreadable");
        std::fs::create_dir(dir.join("sub")).unwrap();
        std::fs::write(dir.join("latin1.qd"), b"value a \"caf\xe9\"\n").unwrap();
        let out = quandary(
            &[
                "fmt",
                "--write",
                "--error-format",
                "plain",
                "missing.qd",
                "sub",
                "latin1.qd",
            ],
            &dir,
        );
        assert_eq!(out.status.code(), Some(1));
        let err = stderr(&out);
        assert!(
            err.contains("cannot read `missing.qd`: no such file"),
            "{err}"
        );
        assert!(
            err.contains("cannot read `sub`: it is a directory"),
            "{err}"
        );
        assert!(err.contains("Q0002"), "{err}");
        assert_eq!(
            std::fs::read(dir.join("latin1.qd")).unwrap(),
            b"value a \"caf\xe9\"\n"
        );
    }

    #[test]
    fn cli_check_and_write_conflict() {
        let dir = temp_dir("conflict");
        std::fs::write(dir.join("a.qd"), MESSY).unwrap();
        let out = quandary(&["fmt", "--check", "--write", "a.qd"], &dir);
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(std::fs::read_to_string(dir.join("a.qd")).unwrap(), MESSY);
    }
}
