//! `quandary drift` against hand-worked figures: three checkpoints (tests/drift/step*.jsonl)
//! of one suite (tests/drift/drift.suite.jsonl).
//!
//! The suite has 14 scenarios of two options each: s0–s9 set honesty (a1) against loyalty
//! (a2), s10–s13 care (a1) against fairness (a2). The checkpoints choose a1 in the first
//! k of each group:
//!
//! | checkpoint | honesty chosen | care chosen |
//! |------------|----------------|-------------|
//! | step1      | 2 of 10        | 2 of 4      |
//! | step2      | 5 of 10        | 2 of 4      |
//! | step3      | 9 of 10        | 3 of 4      |
//!
//! Honesty's score 100·(sel − neg)/(sel + neg): 100·(2 − 8)/10 = −60, 0, 100·(9 − 1)/10 = 80.
//! Its interval maps the Wilson interval of sel/10 by 100·(2q − 1) (z = 1.95996):
//! - 2/10: centre (0.2 + 0.19208)/1.38415 = 0.28326, half 1.95996·sqrt(0.016 + 0.0096041)
//!   /1.38415 = 0.22658 → [0.05668, 0.50984] → [−88.66, 1.97];
//! - 5/10: [0.23659, 0.76341] → [−52.68, 52.68];
//! - 9/10: [0.59585, 0.98212] → [19.17, 96.42].
//!
//! Drift: 80 − (−60) = +140, and the intervals of step1 and step3 separate (1.97 < 19.17).
//! Steps: +60 (step1 → step2), +80 (step2 → step3): the largest is step2 → step3, and its
//! intervals overlap (52.68 > 19.17), so it is not distinguishable. Loyalty is honesty's
//! mirror (60, 0, −80; drift −140). Care: 0, 0, 100·(3 − 1)/4 = 50 (2/4 → [−69.99, 69.99],
//! 3/4 → [−39.87, 90.88]): drift +50 at step2 → step3, not distinguishable; fairness its
//! mirror. Sorted by drift: honesty and loyalty (140, by name), then care and fairness (50).

use std::path::PathBuf;

use quandary::project::ReportInputs;
use quandary::report::drift::{Drift, drift};

#[path = "support/cli.rs"]
mod support;

const RUNS: [&str; 3] = [
    "tests/drift/step1.results.jsonl",
    "tests/drift/step2.results.jsonl",
    "tests/drift/step3.results.jsonl",
];

fn path(p: &str) -> PathBuf {
    support::root().join(p)
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 5e-3
}

fn by_library(runs: &[&str]) -> Result<Drift, quandary::Diagnostic> {
    let paths: Vec<PathBuf> = runs.iter().map(|p| path(p)).collect();
    let inputs: Vec<ReportInputs> = paths
        .iter()
        .map(|p| ReportInputs::find(p, None, None))
        .collect::<Result<_, _>>()?;
    let sources: Vec<_> = inputs
        .iter()
        .zip(&paths)
        .map(|(i, p)| i.sources(p, None))
        .collect();
    let labels: Vec<String> = (1..=runs.len()).map(|i| format!("c{i}")).collect();
    drift(&sources, &labels)
}

#[test]
fn three_checkpoints_by_hand() {
    let d = by_library(&RUNS).expect("a drift");
    let order: Vec<&str> = d.values.iter().map(|v| v.value.as_str()).collect();
    assert_eq!(order, ["x.honesty", "x.loyalty", "x.care", "x.fairness"]);

    let honesty = &d.values[0];
    let points: Vec<_> = honesty
        .points
        .iter()
        .map(|p| p.expect("scored at every checkpoint"))
        .collect();
    let expected = [
        (2, 8, -60.0, -88.66, 1.97),
        (5, 5, 0.0, -52.68, 52.68),
        (9, 1, 80.0, 19.17, 96.42),
    ];
    for (p, (sel, neg, score, low, high)) in points.iter().zip(expected) {
        assert_eq!((p.selected, p.neglected), (sel, neg));
        assert!(close(p.score, score), "{} ≠ {score}", p.score);
        assert!(
            close(p.interval.low, low) && close(p.interval.high, high),
            "{:?} ≠ [{low}, {high}]",
            p.interval
        );
    }
    let total = honesty.drift.expect("a drift");
    assert_eq!((total.from, total.to), (0, 2));
    assert!(close(total.change, 140.0));
    assert!(total.distinguishable);
    let step = honesty.largest_step.expect("a step");
    assert_eq!((step.from, step.to), (1, 2));
    assert!(close(step.change, 80.0));
    assert!(!step.distinguishable);

    let loyalty = &d.values[1];
    assert!(close(loyalty.drift.expect("a drift").change, -140.0));
    let care = &d.values[2];
    let step = care.largest_step.expect("a step");
    assert_eq!((step.from, step.to), (1, 2));
    assert!(close(step.change, 50.0) && !step.distinguishable);
    assert!(!care.drift.expect("a drift").distinguishable);
}

/// Each point is what `report` gives for that run, to the bit.
#[test]
fn every_point_is_the_report_of_its_run() {
    let d = by_library(&RUNS).expect("a drift");
    for (i, run) in RUNS.iter().enumerate() {
        let p = path(run);
        let inputs = ReportInputs::find(&p, None, None).expect("inputs");
        let report = quandary::report::report(&inputs.sources(&p, None), &Default::default())
            .expect("a report");
        for v in &report.values {
            let t = d
                .values
                .iter()
                .find(|t| t.value == v.value)
                .expect("every value");
            let point = t.points[i].expect("a point");
            assert_eq!(point.score.to_bits(), v.score.to_bits());
            assert_eq!(point.interval, v.score_interval);
        }
    }
}

#[test]
fn runs_of_another_suite_are_refused() {
    let err = by_library(&[RUNS[0], "tests/report/six.results.jsonl"]).expect_err("refused");
    assert_eq!(err.code, quandary::Code::DifferentSuites);
    assert!(err.message.contains("`suite` differs"), "{}", err.message);

    let out = support::in_root(&["drift", RUNS[0], RUNS[1], "tests/report/six.results.jsonl"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = support::stderr(&out);
    assert!(stderr.contains("Q0601"), "{stderr}");
    assert!(stderr.contains("answer different suites"), "{stderr}");
    assert!(support::stdout(&out).is_empty());
}

#[test]
fn labels_must_match_the_runs() {
    let out = support::in_root(&["drift", RUNS[0], RUNS[1], "--labels", "a,b,c"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(support::stderr(&out).contains("3 labels for 2 runs"));
    // One run is no drift: clap refuses it.
    let out = support::in_root(&["drift", RUNS[0]]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_table_through_the_binary() {
    let text = support::ok(&support::root(), &["drift", RUNS[0], RUNS[1], RUNS[2]]);
    insta::assert_snapshot!("drift_table", text);
}

#[test]
fn json_through_the_binary() {
    let mut args = vec!["drift"];
    args.extend(RUNS);
    args.extend(["--labels", "early,middle,late", "--format", "json"]);
    let text = support::ok(&support::root(), &args);
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(value["checkpoints"][2]["label"], "late");
    assert_eq!(value["values"][0]["largest_step"]["from"], 1);
    insta::assert_snapshot!("drift_json", text);
}

/// Run folders as `quandary run` writes them: `results.jsonl` beside `suite.jsonl`, named
/// by the folder.
#[test]
fn run_folders_are_read_and_named_by_their_folder() {
    let dir = support::scratch("drift_folders");
    let suite = std::fs::read(path("tests/drift/drift.suite.jsonl")).expect("suite");
    let mut args: Vec<String> = vec!["drift".into()];
    for (i, run) in RUNS.iter().enumerate() {
        let folder = dir.join(format!("ckpt{}", i + 1));
        std::fs::create_dir_all(&folder).expect("folder");
        std::fs::write(folder.join("suite.jsonl"), &suite).expect("suite");
        // The header names the suite where the fixture keeps it; the folder's own is found
        // beside the journal.
        let journal = std::fs::read_to_string(path(run)).expect("journal");
        std::fs::write(
            folder.join("results.jsonl"),
            journal.replace("tests/drift/drift.suite.jsonl", "elsewhere/suite.jsonl"),
        )
        .expect("journal");
        args.push(format!("ckpt{}", i + 1));
    }
    args.extend(["--format".into(), "json".into()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let text = support::ok(&dir, &args);
    let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    let labels: Vec<&str> = value["checkpoints"]
        .as_array()
        .expect("checkpoints")
        .iter()
        .map(|c| c["label"].as_str().expect("a label"))
        .collect();
    assert_eq!(labels, ["ckpt1", "ckpt2", "ckpt3"]);
    assert_eq!(value["values"][0]["value"], "x.honesty");
    assert_eq!(value["values"][0]["drift"]["change"], 140.0);
}

/// The elements of an HTML page, opened and closed in order (void elements aside).
fn assert_well_formed(html: &str) {
    const VOID: [&str; 4] = ["meta", "br", "hr", "img"];
    let mut open: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        rest = &rest[start + 1..];
        let end = rest.find('>').expect("every tag is closed");
        let tag = &rest[..end];
        rest = &rest[end + 1..];
        if tag.starts_with('!') {
            continue;
        }
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        assert!(!name.is_empty(), "a tag without a name: <{tag}>");
        if tag.starts_with('/') {
            assert_eq!(
                open.pop().as_deref(),
                Some(name.as_str()),
                "</{name}> misplaced"
            );
        } else if !(tag.ends_with('/') || VOID.contains(&name.as_str())) {
            if name == "style" {
                // CSS holds no `<`.
                let close = rest.find("</style>").expect("the style ends");
                assert!(!rest[..close].contains('<'));
            }
            open.push(name);
        }
    }
    assert!(open.is_empty(), "left open: {open:?}");
}

#[test]
fn the_page_is_well_formed_self_contained_and_escaped() {
    let mut args = vec!["drift"];
    args.extend(RUNS);
    args.extend(["--labels", "<b>&\"one\",two,three", "--format", "html"]);
    let html = support::ok(&support::root(), &args);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_well_formed(&html);
    assert!(!html.contains("<b>&\""), "a label is not escaped");
    assert!(html.contains("&lt;b&gt;&amp;&quot;one&quot;"));
    for remote in ["http://", "https://", "src=", "<script"] {
        assert!(!html.contains(remote), "the page holds `{remote}`");
    }
    // One chart per value, each with a point and an interval per checkpoint.
    assert_eq!(html.matches("<figure id=\"chart-").count(), 4);
    assert_eq!(html.matches("<circle class=\"pt\"").count(), 12);
    assert_eq!(html.matches("<line class=\"step\"").count(), 4);
    // The same runs give the same bytes.
    assert_eq!(html, support::ok(&support::root(), &args));
}
