//! `quandary simulate` against hand-worked figures: three agents on a line a–b–c
//! (tests/simulate/town.qd, line.txt), two values, care and honesty:
//!
//! | agent | care | honesty |
//! |-------|------|---------|
//! | a     | 0.2  | 0.8     |
//! | b     | 0.6  | 0.4     |
//! | c     | 1.0  | 0.2     |
//!
//! Distances (mean absolute difference): a–b (0.4 + 0.4)/2 = 0.4, b–c (0.4 + 0.2)/2 = 0.3.
//! - ε = 1, μ = 0.5, one step: the drawn pair meets halfway — a–b → both (0.4, 0.6); b–c
//!   → both (0.8, 0.3) — and the third is unchanged.
//! - ε = 0.1: no pair is close enough, so nobody ever moves.
//! - ε = 0.35: only b–c may meet; once they have, b = c = (0.8, 0.3), and a–b is then
//!   (0.6 + 0.5)/2 = 0.55 apart: a stays at (0.2, 0.8) for good.
//!
//! Against tests/simulate/observed.qd (a (0.2, 0.8), b (0.6, 0.4), c (1.0, 0.5)) that end
//! state has squared errors a 0; b (0.2² + 0.1²)/2 = 0.025; c (0.2² + 0.2²)/2 = 0.04; mean
//! (0 + 0.025 + 0.04)/3 = 0.021667.

use serde_json::Value;

#[path = "support/cli.rs"]
mod support;

const TOWN: &str = "tests/simulate/town.qd";

fn simulate(extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["simulate", TOWN];
    args.extend(extra);
    support::ok(&support::root(), &args)
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn weights(line: &Value, agent: &str) -> (f64, f64) {
    let w = &line["weights"][agent];
    (
        w["town.care"].as_f64().expect("care"),
        w["town.honesty"].as_f64().expect("honesty"),
    )
}

fn close((a, b): (f64, f64), (x, y): (f64, f64)) -> bool {
    (a - x).abs() < 1e-9 && (b - y).abs() < 1e-9
}

#[test]
fn one_step_meets_halfway() {
    for seed in ["0", "1", "2", "3"] {
        let lines = simulate(&[
            "--network",
            "tests/simulate/line.txt",
            "--steps",
            "1",
            "--confidence",
            "1",
            "--rate",
            "0.5",
            "--seed",
            seed,
        ]);
        assert_eq!(lines.len(), 2);
        assert!(close(weights(&lines[0], "a"), (0.2, 0.8)));
        let step = &lines[1];
        assert_eq!(step["step"], 1);
        assert_eq!(step["interacted"], true);
        let edge: Vec<&str> = step["edge"]
            .as_array()
            .expect("an edge")
            .iter()
            .map(|e| e.as_str().expect("an id"))
            .collect();
        match edge[..] {
            ["a", "b"] => {
                assert!(close(weights(step, "a"), (0.4, 0.6)));
                assert!(close(weights(step, "b"), (0.4, 0.6)));
                assert!(close(weights(step, "c"), (1.0, 0.2)));
            }
            ["b", "c"] => {
                assert!(close(weights(step, "a"), (0.2, 0.8)));
                assert!(close(weights(step, "b"), (0.8, 0.3)));
                assert!(close(weights(step, "c"), (0.8, 0.3)));
            }
            _ => panic!("not an edge of the line: {edge:?}"),
        }
    }
}

#[test]
fn a_small_confidence_moves_nobody() {
    let lines = simulate(&[
        "--network",
        "tests/simulate/line.csv",
        "--steps",
        "40",
        "--confidence",
        "0.1",
    ]);
    assert_eq!(lines.len(), 41);
    for line in &lines[1..] {
        assert_eq!(line["interacted"], false);
        assert_eq!(line["weights"], lines[0]["weights"]);
    }
}

#[test]
fn the_error_against_observed_profiles() {
    let lines = simulate(&[
        "--network",
        "tests/simulate/line.txt",
        "--steps",
        "60",
        "--every",
        "20",
        "--confidence",
        "0.35",
        "--observed",
        "tests/simulate/observed.qd",
    ]);
    // Steps 0, 20, 40, 60, then the fit.
    let steps: Vec<u64> = lines[..4]
        .iter()
        .map(|l| l["step"].as_u64().expect("a step"))
        .collect();
    assert_eq!(steps, [0, 20, 40, 60]);
    let end = &lines[3];
    assert!(close(weights(end, "a"), (0.2, 0.8)));
    assert!(close(weights(end, "b"), (0.8, 0.3)));
    assert!(close(weights(end, "c"), (0.8, 0.3)));
    let fit = &lines[4];
    assert_eq!(fit["kind"], "fit");
    assert_eq!(fit["step"], 60);
    let mse = |v: &Value| v.as_f64().expect("a number");
    assert!(mse(&fit["agents"]["a"]).abs() < 1e-12);
    assert!((mse(&fit["agents"]["b"]) - 0.025).abs() < 1e-12);
    assert!((mse(&fit["agents"]["c"]) - 0.04).abs() < 1e-12);
    assert!((mse(&fit["mse"]) - 0.065 / 3.0).abs() < 1e-12);
    assert_eq!(fit["notes"], serde_json::json!([]));
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let run = |seed: &str| {
        support::ok(
            &support::root(),
            &[
                "simulate",
                TOWN,
                "--network",
                "tests/simulate/line.txt",
                "--steps",
                "30",
                "--confidence",
                "1",
                "--rate",
                "0.3",
                "--seed",
                seed,
            ],
        )
    };
    let first = run("7");
    assert_eq!(first, run("7"));
    let edges = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).expect("JSON")["edge"].to_string())
            .collect()
    };
    assert_ne!(
        edges(&first),
        edges(&run("8")),
        "another seed, the same edges"
    );
    insta::assert_snapshot!("simulate_trajectory", first);
}

#[test]
fn bad_lines_and_unknown_ids_are_diagnosed_at_their_place() {
    let out = support::in_root(&[
        "simulate",
        TOWN,
        "--network",
        "tests/simulate/bad.txt",
        "--error-format",
        "plain",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(support::stdout(&out).is_empty());
    insta::assert_snapshot!("simulate_bad_edges", support::stderr(&out));
}

#[test]
fn out_of_range_settings_are_refused() {
    let out = support::in_root(&[
        "simulate",
        TOWN,
        "--network",
        "tests/simulate/line.txt",
        "--rate",
        "0.9",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(support::stderr(&out).contains("must be between 0 and 0.5"));
    let out = support::in_root(&[
        "simulate",
        TOWN,
        "--network",
        "tests/simulate/line.txt",
        "--steps",
        "1000000000",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
