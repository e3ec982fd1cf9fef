//! Reports against hand-computed expectations: six scenarios (tests/report/six.*.jsonl).
//!
//! The answers (s2 was first an error, then asked again: the latest line counts):
//!
//! | scenario | options shown (upholds)        | chosen | position |
//! |----------|--------------------------------|--------|----------|
//! | s0       | a1 (care), a2 (loyalty)        | a1     | 0        |
//! | s1       | a1 (care), a2 (fairness)       | a2     | 1        |
//! | s2       | a1 (loyalty), a2 (fairness)    | a2     | 1        |
//! | s3       | a1 (care), a2 (loyalty)        | a1     | 0        | twin group s3
//! | s4       | a2 (loyalty), a1 (care)        | a2     | 0        | twin of s3: flipped
//! | s5       | a1 (care, honesty), a2 (honesty) | unparsed |        |
//!
//! Selected (upheld by the chosen option): care s0, s3 = 2; fairness s1, s2 = 2; loyalty
//! s4 = 1. Neglected (upheld by an option not chosen): loyalty s0, s2, s3 = 3; care s1, s4
//! = 2; fairness 0. Scores 100·(sel − neg)/(sel + neg): fairness 100·2/2 = 100, care
//! 100·0/4 = 0, loyalty 100·(1 − 3)/4 = −50 — in that order.
//!
//! Win rates in conflict (the value on one side only): care wins s0, s3, loses s1, s4 →
//! 2/4; fairness wins s1, s2 → 2/2; loyalty wins s4, loses s0, s2, s3 → 1/4.
//! Wilson 95% for 2/4 (z² = 3.8415): centre (0.5 + 3.8415/8)/(1 + 3.8415/4) = 0.5, half
//! 1.96·sqrt(0.0625 + 3.8415/64)/1.96037 = 0.34997 → [0.1500, 0.8500].
//! Wilson for 1/4: centre (0.25 + 0.48019)/1.96037 = 0.37247, half
//! 1.96·sqrt(0.046875 + 0.060023)/1.96037 = 0.32682 → [0.0456, 0.6993].
//!
//! Position bias: first option chosen in s0, s3, s4 of 5 answered → 3/5. Twin flips: the
//! pair (s3, s4) chose a1 then a2 → 1/1. Unparsed 1/6, errors 0/6 (s2's error was
//! superseded). Readings: s0 read a1 from both log-probabilities and text (agree), s1 read
//! a1 and a2 (disagree) → 1/2.

use quandary::report::report;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 5e-4
}

#[test]
fn six_scenarios_by_hand() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let r = report(&root.join("tests/report/six.results.jsonl"), None, None).expect("reads");
    assert_eq!(r.answers, 6);
    assert_eq!(r.answered, 5);
    assert_eq!((r.unparsed.k, r.unparsed.n), (1, 6));
    assert_eq!((r.errors.k, r.errors.n), (0, 6));
    assert_eq!((r.position_bias.k, r.position_bias.n), (3, 5));
    assert_eq!((r.twin_flips.k, r.twin_flips.n), (1, 1));
    assert_eq!((r.readings_agree.k, r.readings_agree.n), (1, 2));

    let names: Vec<&str> = r.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(names, ["x.fairness", "x.care", "x.loyalty"]);
    let v = |name: &str| r.values.iter().find(|v| v.value == name).expect("value");
    assert_eq!((v("x.care").selected, v("x.care").neglected), (2, 2));
    assert_eq!(
        (v("x.fairness").selected, v("x.fairness").neglected),
        (2, 0)
    );
    assert_eq!((v("x.loyalty").selected, v("x.loyalty").neglected), (1, 3));
    assert!(close(v("x.fairness").score, 100.0));
    assert!(close(v("x.care").score, 0.0));
    assert!(close(v("x.loyalty").score, -50.0));

    let care = v("x.care").wins;
    assert_eq!((care.k, care.n), (2, 4));
    assert!(
        close(care.low, 0.1500) && close(care.high, 0.8500),
        "{care:?}"
    );
    let loyalty = v("x.loyalty").wins;
    assert_eq!((loyalty.k, loyalty.n), (1, 4));
    assert!(
        close(loyalty.low, 0.0456) && close(loyalty.high, 0.6993),
        "{loyalty:?}"
    );
    assert_eq!((v("x.fairness").wins.k, v("x.fairness").wins.n), (2, 2));
}

#[test]
fn a_missing_suite_and_a_non_results_file_are_diagnostics() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let err = report(
        &root.join("tests/report/six.results.jsonl"),
        Some(&root.join("tests/report/missing.jsonl")),
        None,
    )
    .expect_err("no suite");
    assert!(err.message.contains("cannot read"), "{}", err.message);
    let err =
        report(&root.join("tests/report/six.suite.jsonl"), None, None).expect_err("not results");
    assert!(
        err.message.contains("not a results header"),
        "{}",
        err.message
    );
}

/// Theory labels and the hierarchy, through the binary: tests/report/mapped.qd expands to
/// four scenarios (patience or kindness against duty, each in both orders) and the profile
/// `kind_first` (kindness 0.9, duty 0.5, patience 0.1) chooses duty over patience and
/// kindness over duty.
///
/// Values: kindness selected 2, neglected 0 → 100; duty 2/2 → 0; patience 0/2 → −100.
/// Labels (patience → calm; kindness → warmth and calm; duty → order): the two patience
/// scenarios select {order} and neglect {calm}; the two kindness scenarios select {warmth,
/// calm} and neglect {order}. So warmth 2/0 → 100, wins 2/2; calm 2/2 → 0, wins 2/4; order
/// 2/2 → 0, wins 2/4.
/// Up the hierarchy (patience, kindness under personal; duty under social): personal 2/2
/// → 0 and social 2/2 → 0, each winning 2 of 4.
#[test]
fn labels_and_the_hierarchy_by_hand() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("report_mapped");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let suite = dir.join("s.jsonl");
    let results = dir.join("r.jsonl");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_quandary"))
            .args(args)
            .current_dir(root)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let s = |p: &std::path::Path| p.to_str().expect("UTF-8").to_string();
    run(&["expand", "tests/report/mapped.qd", "-o", &s(&suite)]);
    run(&[
        "eval",
        &s(&suite),
        "--adapter",
        "profile",
        "-o",
        &s(&results),
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&run(&["report", &s(&results), "--format", "json"])).expect("json");
    let stats = |list: &serde_json::Value| -> Vec<(String, u64, u64, f64, u64, u64)> {
        list.as_array()
            .expect("a list")
            .iter()
            .map(|v| {
                (
                    v["value"].as_str().expect("name").to_string(),
                    v["selected"].as_u64().expect("n"),
                    v["neglected"].as_u64().expect("n"),
                    v["score"].as_f64().expect("score"),
                    v["wins"]["k"].as_u64().expect("k"),
                    v["wins"]["n"].as_u64().expect("n"),
                )
            })
            .collect()
    };
    let row = |n: &str, s, g, score, k, m| (n.to_string(), s, g, score, k, m);
    assert_eq!(
        stats(&json["values"]),
        [
            row("mapped.kindness", 2, 0, 100.0, 2, 2),
            row("mapped.duty", 2, 2, 0.0, 2, 4),
            row("mapped.patience", 0, 2, -100.0, 0, 2),
        ]
    );
    assert_eq!(json["labels"][0]["framework"], "theory");
    assert_eq!(
        stats(&json["labels"][0]["values"]),
        [
            row("theory.warmth", 2, 0, 100.0, 2, 2),
            row("theory.calm", 2, 2, 0.0, 2, 4),
            row("theory.order", 2, 2, 0.0, 2, 4),
        ]
    );
    assert_eq!(
        stats(&json["rollup"]),
        [
            row("mapped.personal", 2, 2, 0.0, 2, 4),
            row("mapped.social", 2, 2, 0.0, 2, 4),
        ]
    );
}
