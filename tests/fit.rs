//! `quandary fit` recovers a known value system from the choices the profile agent makes
//! under it: 1,000 scenarios of tests/fit/eight.qd (every pair of eight values in conflict,
//! both orders), answered by the profile `known`, fitted, printed as a `profile` block,
//! parsed back by quandary itself and compared with `known` by Spearman's rank correlation.

use std::path::{Path, PathBuf};
use std::process::Command;

use quandary::machinery::spearman;

#[path = "support/cli.rs"]
mod cli;

use cli::scratch;

/// Runs the binary in the crate's folder; it must succeed. Its standard output.
fn quandary(args: &[&str]) -> String {
    cli::ok(&cli::root(), args)
}

/// The weights of profile `id` in `source`, by value id.
fn weights(source: &str, id: &str) -> Vec<(String, f64)> {
    let loaded = quandary::load_str("eight.qd", source);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let f = &loaded.framework;
    let p = f.profiles.iter().find(|p| p.id == id).expect("the profile");
    let mut out: Vec<(String, f64)> = p
        .weights
        .iter()
        .map(|&(v, w)| (f.value(v).id.clone(), w))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn recovered(temperature: &str) -> f64 {
    let dir = scratch(&format!("fit_{temperature}"));
    let s = |p: PathBuf| p.to_str().expect("UTF-8").to_string();
    let suite = s(dir.join("suite.jsonl"));
    let results = s(dir.join("results.jsonl"));
    quandary(&["expand", "tests/fit/eight.qd", "-o", &suite]);
    let lines = std::fs::read_to_string(&suite)
        .expect("suite")
        .lines()
        .count();
    assert_eq!(lines, 1001, "a header and 1,000 scenarios");
    quandary(&[
        "eval",
        &suite,
        "--adapter",
        "profile:known",
        "--temperature",
        temperature,
        "-o",
        &results,
    ]);
    let block = quandary(&["fit", &results]);
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fit/eight.qd"))
            .expect("the fixture");
    let known = weights(&source, "known");
    let fitted = weights(&format!("{source}\n{block}"), "fitted");
    assert_eq!(
        known.iter().map(|k| &k.0).collect::<Vec<_>>(),
        fitted.iter().map(|k| &k.0).collect::<Vec<_>>(),
        "every value fitted:\n{block}"
    );
    let x: Vec<f64> = known.iter().map(|k| k.1).collect();
    let y: Vec<f64> = fitted.iter().map(|k| k.1).collect();
    spearman(&x, &y).expect("a correlation")
}

#[test]
fn a_noisy_profile_is_recovered() {
    let rho = recovered("0.3");
    eprintln!("Spearman at temperature 0.3: {rho:.4}");
    assert!(rho >= 0.9, "Spearman {rho}");
}

#[test]
fn a_deterministic_profile_is_recovered() {
    let rho = recovered("0");
    eprintln!("Spearman at temperature 0: {rho:.4}");
    assert!(rho >= 0.9, "Spearman {rho}");
}

#[test]
fn fit_refuses_what_it_cannot_fit() {
    let out = Command::new(env!("CARGO_BIN_EXE_quandary"))
        .args(["fit", "tests/report/six.results.jsonl", "--l2=-1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not a positive number"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_quandary"))
        .args(["fit", "tests/report/six.results.jsonl", "--name", "9 lives"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not an identifier"));
}
