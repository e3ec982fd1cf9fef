//! `quandary run`: expand, evaluate and report into a run folder, through the binary.

use std::path::{Path, PathBuf};

#[path = "support/cli.rs"]
mod cli;

use cli::in_root as quandary;

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The main job: the everyday suite, answered by its profile, reported.
#[test]
fn the_everyday_suite_runs_offline_and_resumes() {
    let dir = scratch("run_everyday");
    let d = dir.to_str().expect("UTF-8");
    let out = quandary(&["run", "scenarios/everyday.qd", "--count", "400", "-o", d]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for name in [
        "suite.jsonl",
        "results.jsonl",
        "report.json",
        "report.md",
        "report.html",
    ] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let stdout = text(&out.stdout);
    assert!(stdout.contains("everyday.care_and_fairness"), "{stdout}");
    assert!(stdout.contains("Labels of mft"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).expect("json"))
            .expect("parses");
    assert_eq!(report["answers"], 800);
    assert_eq!(report["answered"], 800);
    // A deterministic agent answers twins alike.
    assert_eq!(report["twin_flips"]["k"], 0);
    let care = report["labels"]
        .as_array()
        .expect("labels")
        .iter()
        .find(|g| g["framework"] == "mft")
        .and_then(|g| g["values"].as_array())
        .and_then(|v| v.iter().find(|x| x["value"] == "mft.care"))
        .expect("mft.care");
    // The profile weighs care highest: it is upheld more than neglected.
    assert!(care["score"].as_f64().expect("score") > 0.0, "{care}");

    // Again: nothing is expanded or asked twice, and the report is the same.
    let before = std::fs::read(dir.join("report.json")).expect("json");
    let again = quandary(&["run", "scenarios/everyday.qd", "--count", "400", "-o", d]);
    assert!(again.status.success(), "{}", text(&again.stderr));
    let err = text(&again.stderr);
    assert!(err.contains("holds this suite already"), "{err}");
    assert!(err.contains("0 asked"), "{err}");
    assert_eq!(
        std::fs::read(dir.join("report.json")).expect("json"),
        before
    );

    // Another suite into the same folder is refused: its results would be mixed.
    let other = quandary(&["run", "scenarios/everyday.qd", "--count", "300", "-o", d]);
    assert_eq!(other.status.code(), Some(1));
    assert!(
        text(&other.stderr).contains("holds the results of another suite"),
        "{}",
        text(&other.stderr)
    );
}

#[test]
fn a_framework_without_a_profile_is_answered_at_random() {
    let dir = scratch("run_plain");
    let out = quandary(&[
        "run",
        "tests/run/plain.qd",
        "-o",
        dir.to_str().expect("UTF-8"),
        "--rows",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("declares no profile"));
    assert!(text(&out.stdout).contains("random/seed=0"));
    let results = std::fs::read_to_string(dir.join("results.jsonl")).expect("results");
    assert_eq!(results.lines().count(), 1 + 24);
}

#[test]
fn a_missing_suite_or_file_is_a_diagnostic() {
    let out = quandary(&[
        "run",
        "tests/run/plain.qd",
        "--suite",
        "smal",
        "-o",
        "/nonexistent/x",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("did you mean `small`?"),
        "{}",
        text(&out.stderr)
    );
    let out = quandary(&["run", "tests/run/missing.qd"]);
    assert_eq!(out.status.code(), Some(1));
}
