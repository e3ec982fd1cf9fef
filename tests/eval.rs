//! Evaluation runs, through the `eval` and `cache` commands and through the library: the
//! `profile` agent's choices worked out by hand, the seeded `random` baseline, resuming
//! (nothing asked twice, a torn last line dropped, `--retry-errors`), refusing a results file
//! of another run, `--dry-run`, the `command` adapter with good and broken programs, an eval
//! killed mid-run, `replay`, and the response cache.
//!
//! The fixtures are in `tests/eval/`: `agents.qd` (a framework with two profiles, importing
//! `theory.qd`) and `answerer.py` (a program for the `command` adapter, whose choices the
//! tests work out the same way it does).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quandary::eval::adapters::Replay;
use quandary::eval::cache::{Cache, Cached};
use quandary::eval::{self, Adapter, AdapterError, Decision, Request, Settings, Steer};
use serde_json::Value;

#[path = "support/cli.rs"]
mod cli;

const AGENTS: &str = "tests/eval/agents.qd";
const ANSWERER: &str = "tests/eval/answerer.py";

// --------------------------------------------------------------------- helpers

/// A fresh scratch folder for one test.
fn scratch(test: &str) -> PathBuf {
    cli::scratch(&format!("eval_{test}"))
}

/// The binary, run in the crate's folder as a user would, with its response cache in
/// `dir` unless the arguments name another.
fn quandary(dir: &Path) -> Command {
    let mut c = cli::command(&cli::root());
    c.env("QUANDARY_CACHE_DIR", dir.join("cache"))
        .env_remove("QUANDARY_TEST_COUNTER")
        .env_remove("QUANDARY_TEST_DELAY")
        .env_remove("QUANDARY_TEST_GARBAGE")
        .env_remove("QUANDARY_TEST_CRASH_AFTER");
    c
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    quandary(dir)
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// Runs the binary; it must succeed.
fn ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run(dir, args, env);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "quandary {}: {err}", args.join(" "));
    err
}

/// Expands suite `suite` of the agents fixture into `dir`.
fn suite(dir: &Path, suite: &str, extra: &[&str]) -> PathBuf {
    let path = dir.join(format!("{suite}.suite.jsonl"));
    let p = path.to_str().unwrap();
    let mut args = vec!["expand", AGENTS, "--suite", suite, "-o", p];
    args.extend(extra);
    ok(dir, &args, &[]);
    path
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The number after "N requests: " … "K asked" in the summary line.
fn asked(stderr: &str) -> u64 {
    let line = stderr
        .lines()
        .find(|l| l.contains(" requests: "))
        .unwrap_or_else(|| panic!("no summary in {stderr}"));
    let after = line.split(" requests: ").nth(1).unwrap();
    after.split(' ').next().unwrap().parse().unwrap()
}

/// The header and the records of a results file.
fn results(path: &Path) -> (Value, Vec<Value>) {
    let text = std::fs::read_to_string(path).expect("results");
    let mut lines = text.lines();
    let header = serde_json::from_str(lines.next().expect("a header")).expect("JSON header");
    let records = lines
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    (header, records)
}

/// The latest record of every (scenario, steer), latency removed: what a run decided.
fn decided(path: &Path) -> BTreeMap<(String, Option<String>), Value> {
    let mut out = BTreeMap::new();
    for mut r in results(path).1 {
        r.as_object_mut().unwrap().remove("latency_ms");
        let key = (
            r["scenario"].as_str().unwrap().to_string(),
            r["steer"].as_str().map(str::to_string),
        );
        out.insert(key, r);
    }
    out
}

/// Fails when a (scenario, steer) has two records.
fn assert_no_duplicates(path: &Path) {
    let (_, records) = results(path);
    let mut seen = HashMap::new();
    for r in &records {
        let key = (r["scenario"].to_string(), r["steer"].to_string());
        *seen.entry(key).or_insert(0) += 1;
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "recorded twice: {twice:?}");
}

/// The scenarios of a suite file, by id.
fn scenarios(path: &Path) -> HashMap<String, Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["id"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

/// The position `answerer.py` picks: the sum of the bytes of the scenario id and the steer
/// id, modulo the number of options.
fn answerer_pick(scenario: &str, steer: Option<&str>, options: usize) -> usize {
    let sum: usize = scenario
        .bytes()
        .chain(steer.unwrap_or("").bytes())
        .map(usize::from)
        .sum();
    sum % options
}

/// Checks that every record of a run of `answerer.py` has the option it picks.
fn assert_answerer_choices(path: &Path) {
    let (_, records) = results(path);
    assert!(!records.is_empty());
    for r in records {
        let order = r["order"].as_array().unwrap();
        let pick = answerer_pick(
            r["scenario"].as_str().unwrap(),
            r["steer"].as_str(),
            order.len(),
        );
        assert_eq!(r["position"], pick, "{r}");
        assert_eq!(r["choice"], order[pick], "{r}");
    }
}

fn command(mode: &str) -> String {
    format!("python3 {ANSWERER} {mode}")
}

// --------------------------------------------------------------------- profile and random

/// For each conflict of `agents.qd`, the value a profile favours: (a, b, winner).
type Winners = [(&'static str, &'static str, &'static str); 4];

/// The `profile` agent picks the option whose upheld values minus its violated ones weigh
/// most. In `agents.qd` every scenario sets two conflicting values `a` and `b` against each
/// other: `first` upholds a and violates b (weight w(a) - w(b)), `second` the reverse, and
/// `leave` touches nothing (0). So the heavier value wins.
///
/// `carer`: care 0.9 and honesty 0.9 (both inherited from the group `people`), loyalty 0.3,
/// obedience 0.2, and thrift 0.5, which it has neither itself nor from its group `duty` but
/// gets through `map thrift => theory.order` (0.5).
///   care <> loyalty: care (0.9 > 0.3); honesty <> obedience: honesty (0.9 > 0.2);
///   thrift <> care: care (0.9 > 0.5); thrift <> loyalty: thrift (0.5 > 0.3 — without the
///   map thrift would weigh 0 and loyalty would win).
///
/// `loyalist`: loyalty 1.0, obedience 0.8, thrift 0.6 (inherited from `duty`, which wins
/// over the map: a value's own line of ancestors comes first), care and honesty 0.1.
///   care <> loyalty: loyalty; honesty <> obedience: obedience; thrift <> care: thrift
///   (0.6 > 0.1); thrift <> loyalty: loyalty (1.0 > 0.6).
#[test]
fn the_profile_agent_picks_the_heavier_value() {
    let dir = scratch("profile");
    let suite = suite(&dir, "many", &[]);
    let scenarios = scenarios(&suite);
    let winners: [(&str, Winners); 2] = [
        (
            "carer",
            [
                ("care", "loyalty", "care"),
                ("honesty", "obedience", "honesty"),
                ("thrift", "care", "care"),
                ("thrift", "loyalty", "thrift"),
            ],
        ),
        (
            "loyalist",
            [
                ("care", "loyalty", "loyalty"),
                ("honesty", "obedience", "obedience"),
                ("thrift", "care", "thrift"),
                ("thrift", "loyalty", "loyalty"),
            ],
        ),
    ];
    for (profile, table) in winners {
        let out = dir.join(format!("{profile}.results.jsonl"));
        let adapter = format!("profile:{profile}");
        ok(
            &dir,
            &["eval", s(&suite), "--adapter", &adapter, "-o", s(&out)],
            &[],
        );
        let (header, records) = results(&out);
        assert_eq!(
            header["adapter"],
            format!("profile/agents.{profile}/temperature=0/seed=0")
        );
        assert_eq!(records.len(), 40);
        let mut seen = std::collections::BTreeSet::new();
        for r in &records {
            let scenario = &scenarios[r["scenario"].as_str().unwrap()];
            let value = |v: &str| {
                scenario["bindings"][v]
                    .as_str()
                    .unwrap()
                    .trim_start_matches("agents.")
                    .to_string()
            };
            let (a, b) = (value("a"), value("b"));
            let winner = table
                .iter()
                .find(|(x, y, _)| (*x == a && *y == b) || (*x == b && *y == a))
                .unwrap_or_else(|| panic!("no expectation for {a} <> {b}"))
                .2;
            seen.insert((a.clone().min(b.clone()), a.clone().max(b.clone())));
            let expected = if winner == a { "first" } else { "second" };
            assert_eq!(r["choice"], expected, "{profile}: {a} <> {b}: {r}");
            assert_eq!(
                r["order"][r["position"].as_u64().unwrap() as usize],
                expected
            );
        }
        assert_eq!(seen.len(), 4, "the suite sets every conflict: {seen:?}");
    }
}

/// The `profile` agent with ValuePrism's relevance and `either`, worked out by hand in
/// `tests/eval/valence.qd`: relevance scales an upheld value's weight, an `either` value
/// adds nothing. Each dilemma's choice is the other one without them.
#[test]
fn the_profile_agent_weighs_relevance_and_leaves_either_out() {
    let dir = scratch("valence");
    let suite = dir.join("valence.suite.jsonl");
    ok(
        &dir,
        &["expand", "tests/eval/valence.qd", "-o", s(&suite)],
        &[],
    );
    let scenarios = scenarios(&suite);
    let out = dir.join("valence.results.jsonl");
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "profile:guard",
            "-o",
            s(&out),
        ],
        &[],
    );
    let (_, records) = results(&out);
    let chosen: BTreeMap<String, String> = records
        .iter()
        .map(|r| {
            let template = scenarios[r["scenario"].as_str().unwrap()]["template"]
                .as_str()
                .unwrap()
                .to_string();
            (template, r["choice"].as_str().unwrap().to_string())
        })
        .collect();
    let expected: BTreeMap<String, String> = [
        ("cameras", "refuse"),
        ("diary", "respect"),
        ("report", "keep"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(chosen, expected);
}

/// Runs the `carer` agent over the twins of `small` and checks every pair agrees.
fn twins_agree(test: &str, temperature: &str) {
    let dir = scratch(test);
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    let err = ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "profile:carer",
            "--temperature",
            temperature,
            "-o",
            s(&out),
        ],
        &[],
    );
    assert_eq!(asked(&err), 12);
    let mut by_group: HashMap<String, Vec<String>> = HashMap::new();
    for r in results(&out).1 {
        if let Some(p) = r["probabilities"].as_object() {
            let total: f64 = p.values().map(|v| v.as_f64().unwrap()).sum();
            assert!((total - 1.0).abs() < 1e-9);
        }
        by_group
            .entry(r["twin_group"].as_str().unwrap().into())
            .or_default()
            .push(r["choice"].as_str().unwrap().into());
    }
    assert_eq!(by_group.len(), 6);
    for (group, choices) in by_group {
        assert_eq!(choices.len(), 2);
        assert_eq!(choices[0], choices[1], "twins of {group} disagree");
    }
}

#[test]
fn the_profile_agent_answers_twins_alike() {
    twins_agree("twins", "0");
}

/// With a temperature the agent draws from the softmax walking the options in the order
/// shown, so a draw seeded alike for both twins can land on different actions.
#[test]
fn the_profile_agent_answers_twins_alike_with_a_temperature() {
    twins_agree("twins_temperature", "0.5");
}

#[test]
fn random_is_seeded_and_reproducible() {
    let dir = scratch("random");
    let suite = suite(&dir, "many", &[]);
    let run_seed = |seed: &str, name: &str| {
        let out = dir.join(name);
        ok(
            &dir,
            &[
                "eval",
                s(&suite),
                "--adapter",
                "random",
                "--adapter-seed",
                seed,
                "-o",
                s(&out),
            ],
            &[],
        );
        decided(&out)
    };
    let a = run_seed("7", "a.jsonl");
    let b = run_seed("7", "b.jsonl");
    let c = run_seed("8", "c.jsonl");
    assert_eq!(a, b);
    assert_ne!(a, c);
    let positions: std::collections::BTreeSet<u64> = a
        .values()
        .map(|r| r["position"].as_u64().unwrap())
        .collect();
    assert_eq!(positions.len(), 3, "every position is drawn sometimes");
}

// --------------------------------------------------------------------- resuming

#[test]
fn a_resumed_run_asks_nothing_twice() {
    let dir = scratch("resume");
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    let args = ["eval", s(&suite), "--adapter", "random", "-o", s(&out)];
    assert_eq!(asked(&ok(&dir, &args, &[])), 12);
    let first = std::fs::read(&out).unwrap();
    let err = ok(&dir, &args, &[]);
    assert_eq!(asked(&err), 0);
    assert!(err.contains("12 resumed"), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), first, "nothing was written");
}

#[test]
fn a_torn_last_line_is_dropped_and_asked_again() {
    let dir = scratch("torn");
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    let args = [
        "eval",
        s(&suite),
        "--adapter",
        "profile:carer",
        "-o",
        s(&out),
    ];
    ok(&dir, &args, &[]);
    let whole = decided(&out);
    let len = std::fs::metadata(&out).unwrap().len();
    // Cut the last line in the middle, as a process killed mid-write leaves it.
    let file = std::fs::OpenOptions::new().write(true).open(&out).unwrap();
    file.set_len(len - 40).unwrap();
    drop(file);
    assert_eq!(asked(&ok(&dir, &args, &[])), 1);
    assert_no_duplicates(&out);
    assert_eq!(results(&out).1.len(), 12);
    assert_eq!(decided(&out), whole);
}

#[test]
fn retry_errors_asks_only_the_failed_ones_again() {
    let dir = scratch("retry");
    let suite = suite(&dir, "many", &[]);
    let out = dir.join("r.jsonl");
    let cmd = command("good");
    let args = [
        "eval",
        s(&suite),
        "--adapter",
        "command",
        "--command",
        &cmd,
        "-o",
        s(&out),
        "--no-cache",
    ];
    ok(&dir, &args, &[("QUANDARY_TEST_GARBAGE", "1")]);
    let errors: Vec<Value> = results(&out)
        .1
        .into_iter()
        .filter(|r| r["choice"] == "error")
        .collect();
    assert!(
        !errors.is_empty() && errors.len() < 40,
        "{} errors",
        errors.len()
    );
    for e in &errors {
        assert_eq!(
            e["raw"],
            "the command's answer is not JSON or a label: the moon is made of cheese"
        );
    }
    // Without --retry-errors nothing is asked again, errors included.
    assert_eq!(asked(&ok(&dir, &args, &[])), 0);
    let mut retry = args.to_vec();
    retry.push("--retry-errors");
    assert_eq!(asked(&ok(&dir, &retry, &[])), errors.len() as u64);
    assert_eq!(asked(&ok(&dir, &retry, &[])), 0);
    let (_, records) = results(&out);
    assert_eq!(
        records.len(),
        40 + errors.len(),
        "the error lines stay, answers follow"
    );
    assert!(decided(&out).values().all(|r| r["choice"] != "error"));
    assert_answerer_choices_latest(&out);
}

/// Like [`assert_answerer_choices`], for the latest record of every scenario.
fn assert_answerer_choices_latest(path: &Path) {
    for r in decided(path).values() {
        let order = r["order"].as_array().unwrap();
        let pick = answerer_pick(r["scenario"].as_str().unwrap(), None, order.len());
        assert_eq!(r["choice"], order[pick], "{r}");
    }
}

#[test]
fn a_results_file_of_another_run_is_refused() {
    let dir = scratch("refuse");
    let small = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    ok(
        &dir,
        &["eval", s(&small), "--adapter", "random", "-o", s(&out)],
        &[],
    );
    let before = std::fs::read(&out).unwrap();

    let other_adapter = run(
        &dir,
        &[
            "eval",
            s(&small),
            "--adapter",
            "random",
            "--adapter-seed",
            "9",
            "-o",
            s(&out),
        ],
        &[],
    );
    assert_eq!(other_adapter.status.code(), Some(1));
    let err = String::from_utf8_lossy(&other_adapter.stderr);
    assert!(err.contains("it holds a run with another adapter"), "{err}");
    assert!(err.contains("give a new file with -o"), "{err}");

    // A suite of another framework file.
    let theory = dir.join("theory.suite.jsonl");
    std::fs::write(
        &theory,
        "{\"quandary\":\"0.1.0\",\"format\":\"suite\",\"suite\":\"x\",\"seed\":1,\
         \"source_hash\":\"xxh3-128:0000\",\"files\":[]}\n",
    )
    .unwrap();
    let other_suite = run(
        &dir,
        &["eval", s(&theory), "--adapter", "random", "-o", s(&out)],
        &[],
    );
    assert_eq!(other_suite.status.code(), Some(1));
    let err = String::from_utf8_lossy(&other_suite.stderr);
    assert!(err.contains("it holds a run with another suite"), "{err}");

    // Not a results file at all.
    let not_results = run(
        &dir,
        &["eval", s(&small), "--adapter", "random", "-o", s(&small)],
        &[],
    );
    assert_eq!(not_results.status.code(), Some(1));
    let err = String::from_utf8_lossy(&not_results.stderr);
    assert!(err.contains("it is not a results file"), "{err}");
    assert_eq!(
        std::fs::read(&out).unwrap(),
        before,
        "a refused file is left alone"
    );
}

/// Two suites of the same framework file share their source hash, so the journal cannot
/// tell them apart by it.
#[test]
fn a_results_file_of_another_suite_of_the_same_file_is_refused() {
    let dir = scratch("refuse_same_file");
    let small = suite(&dir, "small", &[]);
    let reseeded = suite(&dir, "many", &["--seed", "99"]);
    let out = dir.join("r.jsonl");
    ok(
        &dir,
        &["eval", s(&small), "--adapter", "random", "-o", s(&out)],
        &[],
    );
    let other = run(
        &dir,
        &["eval", s(&reseeded), "--adapter", "random", "-o", s(&out)],
        &[],
    );
    assert_eq!(
        other.status.code(),
        Some(1),
        "the runs were mixed in one file"
    );
}

#[test]
fn dry_run_counts_and_writes_nothing() {
    let dir = scratch("dry");
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    let o = run(
        &dir,
        &[
            "eval",
            s(&suite),
            "--dry-run",
            "--adapter",
            "command",
            "-o",
            s(&out),
        ],
        &[],
    );
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.starts_with("12 requests (12 scenarios), about "),
        "{text}"
    );
    // At most 16 completion tokens a request (the default --max-tokens) in choice mode.
    assert!(
        text.contains("at most 192 completion tokens (16 a request)"),
        "{text}"
    );
    assert!(!out.exists());
    // Reasoning twice, at a price: 12 × 2 requests of at most 100 tokens.
    let o = run(
        &dir,
        &[
            "eval",
            s(&suite),
            "--dry-run",
            "--answer",
            "reasoning",
            "--epochs",
            "2",
            "--reasoning-tokens",
            "100",
            "--price",
            "1",
            "1000",
        ],
        &[],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("24 requests (12 scenarios × 2 epochs)"),
        "{text}"
    );
    assert!(
        text.contains("at most 2400 completion tokens (100 a request)"),
        "{text}"
    );
    // The completion tokens alone cost 2400 × 1000 / 1e6 = 2.40, the prompt tokens a little.
    let cost: f64 = text
        .split("; at most ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|c| c.parse().ok())
        .expect("a cost");
    assert!((2.40..2.50).contains(&cost), "{text}");
    let bad = run(
        &dir,
        &["eval", s(&suite), "--dry-run", "--price", "x", "1"],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
}

// --------------------------------------------------------------------- command

#[test]
fn the_command_adapter_reads_json_and_bare_answers() {
    let dir = scratch("command");
    let suite = suite(&dir, "many", &[]);
    for mode in ["good", "bare"] {
        let out = dir.join(format!("{mode}.jsonl"));
        let cmd = command(mode);
        let err = ok(
            &dir,
            &[
                "eval",
                s(&suite),
                "--adapter",
                "command",
                "--command",
                &cmd,
                "-o",
                s(&out),
                "--no-cache",
            ],
            &[],
        );
        assert!(err.contains("40 answered"), "{err}");
        assert_answerer_choices(&out);
        let (header, records) = results(&out);
        assert_eq!(header["adapter"], format!("command/{cmd}"));
        assert_eq!(header["parameters"]["command"][2], mode);
        let r = &records[0];
        if mode == "good" {
            let label = ["A", "B", "C"][r["position"].as_u64().unwrap() as usize];
            assert_eq!(r["raw"], format!("I choose {label}"));
            assert_eq!(r["tokens"]["completion"], 3);
        } else {
            assert_eq!(r["tokens"]["completion"], Value::Null);
        }
    }
}

#[test]
fn the_command_adapter_matches_answers_out_of_order() {
    let dir = scratch("reverse");
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    let cmd = command("reverse");
    let err = ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "command",
            "--command",
            &cmd,
            "-o",
            s(&out),
            "--concurrency",
            "4",
            "--no-cache",
        ],
        &[],
    );
    // The program's stderr comes through: it did answer several requests last first.
    assert!(err.contains("answering 4 at once, last first"), "{err}");
    assert!(err.contains("12 answered"), "{err}");
    assert_answerer_choices(&out);
    assert_no_duplicates(&out);
}

#[test]
fn a_crashing_command_fails_the_rest_and_the_run_resumes() {
    let dir = scratch("crash");
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    let cmd = command("bare");
    let args = [
        "eval",
        s(&suite),
        "--adapter",
        "command",
        "--command",
        &cmd,
        "-o",
        s(&out),
        "--no-cache",
    ];
    let err = ok(&dir, &args, &[("QUANDARY_TEST_CRASH_AFTER", "5")]);
    assert!(
        err.contains("5 answered, 7 unparsed, refused or failed"),
        "{err}"
    );
    let (_, records) = results(&out);
    for r in &records[5..] {
        assert_eq!(r["choice"], "error");
        assert_eq!(
            r["raw"],
            "the command exited with status 3 before answering; \
             its last stderr line: boom: crashed after 5 answers"
        );
    }
    let mut retry = args.to_vec();
    retry.push("--retry-errors");
    assert_eq!(asked(&ok(&dir, &retry, &[])), 7);
    assert_answerer_choices_latest(&out);
}

#[test]
fn the_command_adapter_needs_a_program_that_exists() {
    let dir = scratch("command_flags");
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    for (command, message) in [
        (None, "the `command` adapter needs a program to run"),
        (
            Some("no-such-program-anywhere --x"),
            "there is no program `no-such-program-anywhere`",
        ),
        (Some("python3 'unclosed"), "unclosed `'`"),
    ] {
        let mut args = vec!["eval", s(&suite), "--adapter", "command", "-o", s(&out)];
        if let Some(c) = command {
            args.extend(["--command", c]);
        }
        let o = run(&dir, &args, &[]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(message), "{err}");
        assert!(!out.exists(), "nothing is recorded");
    }
}

/// An eval killed with SIGKILL mid-run, then run again, ends with the results of a run that
/// was never interrupted: every scenario once, none lost.
#[test]
fn an_eval_killed_mid_run_resumes_to_the_same_results() {
    let dir = scratch("kill");
    let suite = suite(&dir, "many", &[]);
    let cmd = command("good");
    let whole = dir.join("whole.jsonl");
    let killed = dir.join("killed.jsonl");
    let args = |out: &Path| {
        vec![
            "eval".to_string(),
            s(&suite).into(),
            "--adapter".into(),
            "command".into(),
            "--command".into(),
            cmd.clone(),
            "-o".into(),
            s(out).into(),
            "--no-cache".into(),
            "--concurrency".into(),
            "2".into(),
        ]
    };
    let whole_args = args(&whole);
    let whole_args: Vec<&str> = whole_args.iter().map(String::as_str).collect();
    ok(&dir, &whole_args, &[]);

    let mut child = quandary(&dir)
        .args(args(&killed))
        .env("QUANDARY_TEST_DELAY", "0.05")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary runs");
    let start = Instant::now();
    loop {
        let lines = std::fs::read_to_string(&killed).map_or(0, |t| t.lines().count());
        if lines >= 8 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it could be killed"
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the run is stuck"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let done = results(&killed).1.len();

    assert!(done < 40, "killed mid-run, after {done} answers");

    let again = args(&killed);
    let again: Vec<&str> = again.iter().map(String::as_str).collect();
    let err = ok(&dir, &again, &[]);
    assert_eq!(asked(&err), 40 - done as u64, "{err}");
    assert_no_duplicates(&killed);
    assert_eq!(results(&killed).1.len(), 40);
    assert_eq!(decided(&killed), decided(&whole));
}

// --------------------------------------------------------------------- replay

#[test]
fn replay_reproduces_a_recorded_run() {
    let dir = scratch("replay");
    let suite = suite(&dir, "many", &[]);
    let recorded = dir.join("recorded.jsonl");
    // With a temperature the agent reports probabilities, which are replayed too.
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "profile:carer",
            "--temperature",
            "0.3",
            "-o",
            s(&recorded),
        ],
        &[],
    );
    let replayed = dir.join("replayed.jsonl");
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "replay",
            "--from",
            s(&recorded),
            "-o",
            s(&replayed),
        ],
        &[],
    );
    assert_eq!(decided(&replayed), decided(&recorded));
    let (header, _) = results(&replayed);
    assert!(
        header["adapter"]
            .as_str()
            .unwrap()
            .starts_with("replay/recorded.jsonl/"),
        "{header}"
    );
    assert_eq!(header["model"], "agents.carer");

    // Errors, tokens and raw answers too.
    let cmd = command("good");
    let with_errors = dir.join("errors.jsonl");
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "command",
            "--command",
            &cmd,
            "-o",
            s(&with_errors),
            "--no-cache",
        ],
        &[("QUANDARY_TEST_GARBAGE", "1")],
    );
    let replayed = dir.join("replayed-errors.jsonl");
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "replay",
            "--from",
            s(&with_errors),
            "-o",
            s(&replayed),
        ],
        &[],
    );
    assert_eq!(decided(&replayed), decided(&with_errors));
}

#[test]
fn replay_reads_a_csv_mapping_and_reports_what_is_missing() {
    let dir = scratch("replay_csv");
    let suite = suite(&dir, "small", &[]);
    let ids: Vec<String> = {
        let mut v: Vec<(u64, String)> = scenarios(&suite)
            .into_iter()
            .map(|(id, s)| (s["index"].as_u64().unwrap(), id))
            .collect();
        v.sort();
        v.into_iter().map(|(_, id)| id).collect()
    };
    // Every scenario but the last: by action id, by label, by position.
    let mut csv = String::from("scenario,choice\n");
    for (i, id) in ids[..11].iter().enumerate() {
        let choice = ["second", "A", "2"][i % 3];
        csv.push_str(&format!("{id},{choice}\n"));
    }
    let mapping = dir.join("answers.csv");
    std::fs::write(&mapping, csv).unwrap();
    let out = dir.join("r.jsonl");
    let err = ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "replay",
            "--from",
            s(&mapping),
            "-o",
            s(&out),
        ],
        &[],
    );
    assert!(
        err.contains("11 answered, 1 unparsed, refused or failed"),
        "{err}"
    );
    let (_, records) = results(&out);
    for (i, r) in records.iter().enumerate().take(11) {
        let order = r["order"].as_array().unwrap();
        let expected = match i % 3 {
            0 => Value::from("second"),
            1 => order[0].clone(),
            _ => order[2].clone(),
        };
        assert_eq!(r["choice"], expected, "{r}");
    }
    assert_eq!(records[11]["choice"], "error");
    assert_eq!(
        records[11]["raw"],
        format!(
            "no recorded answer for scenario `{}` in `answers.csv`",
            ids[11]
        )
    );

    let o = run(&dir, &["eval", s(&suite), "--adapter", "replay"], &[]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--from FILE"));
    let o = run(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "replay",
            "--from",
            s(&suite),
            "-o",
            s(&dir.join("x")),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("it is a suite, not answers"));
}

/// Answers by steer: option 0 without one, the last option under any steer.
struct BySteer;

impl Adapter for BySteer {
    fn fingerprint(&self) -> String {
        "by-steer/1".into()
    }
    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        Ok(match request.steer {
            None => Decision::option(0),
            Some(_) => Decision::option(request.options.len() - 1),
        })
    }
}

#[test]
fn replay_keeps_the_steer_dimension() {
    let dir = scratch("replay_steers");
    let suite = suite(&dir, "small", &[]);
    let settings = Settings {
        steers: vec![
            Steer {
                id: "kind".into(),
                system: "Be kind.".into(),
            },
            Steer {
                id: "strict".into(),
                system: "Be strict.".into(),
            },
        ],
        ..Settings::default()
    };
    let recorded = dir.join("recorded.jsonl");
    let o = eval::run(&suite, &recorded, &BySteer, &settings, &mut |_| {}).unwrap();
    assert_eq!((o.requests, o.answered), (36, 36));
    let replay = Replay::from_path(&recorded).unwrap();
    assert_eq!(replay.len(), 36);
    assert_eq!(replay.recorded_by(), Some("by-steer/1"));
    let replayed = dir.join("replayed.jsonl");
    eval::run(&suite, &replayed, &replay, &settings, &mut |_| {}).unwrap();
    assert_eq!(decided(&replayed), decided(&recorded));
    let decided = decided(&replayed);
    assert!(
        decided
            .iter()
            .all(|((_, steer), r)| (r["position"] == 0) == steer.is_none())
    );

    // A recorded steer answers only that steer: a results file without steers answers none.
    let plain = dir.join("plain.jsonl");
    eval::run(&suite, &plain, &BySteer, &Settings::default(), &mut |_| {}).unwrap();
    let replay = Replay::from_path(&plain).unwrap();
    let out = dir.join("steered-from-plain.jsonl");
    let o = eval::run(&suite, &out, &replay, &settings, &mut |_| {}).unwrap();
    assert_eq!((o.answered, o.failed), (12, 24));
}

// --------------------------------------------------------------------- cache

#[test]
fn the_cache_answers_a_second_run_without_starting_the_command() {
    let dir = scratch("cache");
    let suite = suite(&dir, "small", &[]);
    let cache = dir.join("responses");
    let counter = dir.join("counter.txt");
    let cmd = command("good");
    let eval = |out: &Path| {
        ok(
            &dir,
            &[
                "eval",
                s(&suite),
                "--adapter",
                "command",
                "--command",
                &cmd,
                "-o",
                s(out),
                "--cache-dir",
                s(&cache),
            ],
            &[("QUANDARY_TEST_COUNTER", s(&counter))],
        )
    };
    let lines = || std::fs::read_to_string(&counter).map_or(0, |t| t.lines().count());
    let first = dir.join("first.jsonl");
    let err = eval(&first);
    assert!(!err.contains("from the cache"), "{err}");
    assert_eq!(lines(), 13, "started once, asked 12 times");

    let second = dir.join("second.jsonl");
    let err = eval(&second);
    assert!(err.contains("12 of them answered from the cache"), "{err}");
    assert_eq!(lines(), 13, "the command was not started again");
    assert_eq!(decided(&second), decided(&first));
    assert_eq!(results(&second).0["adapter"], results(&first).0["adapter"]);

    let o = run(&dir, &["cache", "stats", "--cache-dir", s(&cache)], &[]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(": 12 entries, "), "{text}");
    assert!(text.contains(&format!("  12  command/{cmd}")), "{text}");
    let o = run(
        &dir,
        &[
            "cache",
            "stats",
            "--cache-dir",
            s(&cache),
            "--format",
            "json",
        ],
        &[],
    );
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["entries"], 12);
    assert_eq!(json["adapters"][format!("command/{cmd}")], 12);

    let err = ok(&dir, &["cache", "clear", "--cache-dir", s(&cache)], &[]);
    assert!(err.starts_with("removed 12 entries"), "{err}");
    let o = run(&dir, &["cache", "stats", "--cache-dir", s(&cache)], &[]);
    assert!(String::from_utf8_lossy(&o.stdout).contains(": 0 entries, 0 bytes"));

    // Emptied, the cache asks again; --no-cache neither reads nor writes it.
    eval(&dir.join("third.jsonl"));
    assert_eq!(lines(), 26);
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "command",
            "--command",
            &cmd,
            "-o",
            s(&dir.join("fourth.jsonl")),
            "--no-cache",
        ],
        &[("QUANDARY_TEST_COUNTER", s(&counter))],
    );
    assert_eq!(lines(), 39);
}

#[test]
fn the_default_cache_directory_comes_from_the_environment() {
    let dir = scratch("cache_env");
    let suite = suite(&dir, "small", &[]);
    let cmd = command("good");
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "command",
            "--command",
            &cmd,
            "-o",
            s(&dir.join("r.jsonl")),
        ],
        &[],
    );
    // `quandary()` points QUANDARY_CACHE_DIR at dir/cache.
    let o = run(&dir, &["cache", "stats"], &[]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains(": 12 entries"), "{text}");
    assert!(dir.join("cache").join("CACHEDIR.TAG").is_file());
    // Agents in the process are not cached.
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "random",
            "-o",
            s(&dir.join("random.jsonl")),
        ],
        &[],
    );
    let o = run(&dir, &["cache", "stats", "--format", "json"], &[]);
    let json: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(json["entries"], 12);
}

/// Counts its decisions; picks the option with the longest text.
struct Longest(AtomicU64);

impl Adapter for Longest {
    fn fingerprint(&self) -> String {
        "longest/1".into()
    }
    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        let best = (0..request.options.len())
            .max_by_key(|&i| request.options[i].text.len())
            .unwrap_or(0);
        Ok(Decision::option(best))
    }
}

#[test]
fn any_adapter_can_be_cached_through_the_library() {
    let dir = scratch("cache_library");
    let suite = suite(&dir, "small", &[]);
    let cache = Cache::new(dir.join("cache"));
    let settings = Settings {
        concurrency: 4,
        ..Settings::default()
    };
    let first = Cached::new(Box::new(Longest(AtomicU64::new(0))), cache.clone());
    let a = dir.join("a.jsonl");
    eval::run(&suite, &a, &first, &settings, &mut |_| {}).unwrap();
    // Twins show the same options in another order: another prompt, another request.
    assert_eq!(first.inner().0.load(Ordering::Relaxed), 12);
    assert_eq!(first.counters().misses(), 12);

    let second = Cached::new(Box::new(Longest(AtomicU64::new(0))), cache.clone());
    let b = dir.join("b.jsonl");
    eval::run(&suite, &b, &second, &settings, &mut |_| {}).unwrap();
    assert_eq!(second.inner().0.load(Ordering::Relaxed), 0);
    assert_eq!(second.counters().hits(), 12);
    assert_eq!(decided(&a), decided(&b));
    assert_eq!(cache.stats().unwrap().adapters.get("longest/1"), Some(&12));
}

/// A command that stays alive but never answers: each request gives up after `--timeout`
/// and is recorded as an error; a late answer would be dropped, not taken for another.
#[test]
fn a_silent_command_times_out_and_the_run_finishes() {
    let dir = scratch("silent");
    let suite = suite(&dir, "small", &[]);
    let out = dir.join("r.jsonl");
    let silent = "python3 -c \"import sys, time\nfor line in sys.stdin: time.sleep(60)\"";
    let started = std::time::Instant::now();
    let err = ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "command",
            "--command",
            silent,
            "--timeout",
            "0.3",
            "--concurrency",
            "4",
            "-o",
            s(&out),
            "--no-cache",
        ],
        &[],
    );
    assert!(
        err.contains("0 answered, 12 unparsed, refused or failed"),
        "{err}"
    );
    let (_, records) = results(&out);
    assert_eq!(records.len(), 12);
    for r in &records {
        assert_eq!(r["choice"], "error");
        assert_eq!(r["raw"], "the command gave no answer within 0.3 s");
    }
    // Timed out, not waited for: 12 requests at 4 at a time, 0.3 s each, and the child is
    // stopped when the run ends.
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

/// A suite that cannot be read is reported with its line, and leaves no results file.
#[test]
fn a_broken_suite_leaves_no_results_file() {
    let dir = scratch("broken_suite");
    let suite = dir.join("bad.suite.jsonl");
    std::fs::write(
        &suite,
        "{\"format\":\"suite\",\"suite\":\"x\",\"seed\":1,\"source_hash\":\"h\",\"files\":[]}\n\
         {\"id\":\"s1\",\"text\":\"x\"\n",
    )
    .unwrap();
    let out = dir.join("r.jsonl");
    let run = run(
        &dir,
        &["eval", s(&suite), "--adapter", "random", "-o", s(&out)],
        &[],
    );
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("line 2 is not a scenario"), "{err}");
    assert!(!out.exists());
}

/// A suite read once: a line further on that cannot be read is found when the run comes to
/// it. What was answered before it is kept, the run fails naming the line, and once the
/// suite is whole again the same command resumes, asking only the rest.
#[test]
fn a_suite_broken_further_on_keeps_the_answers_before_it_and_resumes() {
    let dir = scratch("broken_later");
    let whole = suite(&dir, "small", &[]);
    let text = std::fs::read_to_string(&whole).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 13, "a header and 12 scenarios");
    // Line 9 (the 8th scenario) loses its text.
    let mut broken: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut line: Value = serde_json::from_str(lines[8]).unwrap();
    line.as_object_mut().unwrap().remove("text");
    broken[8] = line.to_string();
    let bad = dir.join("bad.suite.jsonl");
    std::fs::write(&bad, broken.join("\n") + "\n").unwrap();
    let out = dir.join("r.jsonl");
    let args = ["eval", s(&bad), "--adapter", "random", "-o", s(&out)];
    let run = run(&dir, &args, &[]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("line 9 is not a scenario: missing field `text`"),
        "{err}"
    );
    let (_, records) = results(&out);
    let indexes: Vec<u64> = records
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(
        indexes,
        (0..7).collect::<Vec<_>>(),
        "the answers before line 9"
    );
    // Whole again: the rest is asked, and the journal is the one a single run makes.
    std::fs::write(&bad, &text).unwrap();
    let err = ok(&dir, &args, &[]);
    assert_eq!(asked(&err), 5, "{err}");
    assert!(err.contains("7 resumed"), "{err}");
    assert_no_duplicates(&out);
    let once = dir.join("once.jsonl");
    ok(
        &dir,
        &["eval", s(&bad), "--adapter", "random", "-o", s(&once)],
        &[],
    );
    let strip = |p: &Path| -> Vec<String> {
        results(p)
            .1
            .into_iter()
            .map(|mut r| {
                r.as_object_mut().unwrap().remove("latency_ms");
                r.to_string()
            })
            .collect()
    };
    assert_eq!(strip(&out), strip(&once));
}

// --------------------------------------------------------------------- epochs

#[test]
fn epochs_ask_each_scenario_again_with_its_own_draw_and_resume_by_epoch() {
    let dir = scratch("epochs");
    let suite = suite(&dir, "many", &[]);
    let out = dir.join("epochs.jsonl");
    let eval_epochs = |n: &str| {
        ok(
            &dir,
            &[
                "eval",
                s(&suite),
                "--adapter",
                "random",
                "--adapter-seed",
                "3",
                "--epochs",
                n,
                "-o",
                s(&out),
            ],
            &[],
        )
    };
    let first = eval_epochs("3");
    let (_, records) = results(&out);
    let scenarios = scenarios(&suite).len();
    assert_eq!(records.len(), 3 * scenarios, "{first}");
    // The first epoch is what a single asking draws; later ones carry their epoch.
    let by_epoch = |e: u64| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| r.get("epoch").and_then(Value::as_u64).unwrap_or(0) == e)
            .collect()
    };
    assert!(
        records
            .iter()
            .all(|r| r.get("epoch") != Some(&Value::from(0)))
    );
    let single = dir.join("single.jsonl");
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "random",
            "--adapter-seed",
            "3",
            "-o",
            s(&single),
        ],
        &[],
    );
    let one: Vec<Value> = results(&single).1;
    let positions = |rs: &[&Value]| -> Vec<u64> {
        rs.iter().map(|r| r["position"].as_u64().unwrap()).collect()
    };
    assert_eq!(
        positions(&by_epoch(0)),
        positions(&one.iter().collect::<Vec<_>>())
    );
    assert_ne!(
        positions(&by_epoch(0)),
        positions(&by_epoch(1)),
        "epochs draw afresh"
    );
    // Four epochs resume three: only the fourth is asked.
    let more = eval_epochs("4");
    assert_eq!(asked(&more), scenarios as u64, "{more}");
    assert_eq!(results(&out).1.len(), 4 * scenarios);
    // The report counts every epoch and says how often the epochs of a scenario agree.
    let report = quandary(&dir)
        .args(["report", s(&out), "--format", "json"])
        .output()
        .expect("runs");
    assert!(
        report.status.success(),
        "{}",
        String::from_utf8_lossy(&report.stderr)
    );
    let json: Value = serde_json::from_slice(&report.stdout).expect("JSON");
    assert_eq!(json["answers"], 4 * scenarios as u64);
    let consistency = &json["self_consistency"];
    assert_eq!(consistency["n"], scenarios as u64, "{consistency}");
    let k = consistency["k"].as_u64().unwrap();
    // Four uniform draws over three options agree on every one rarely.
    assert!(k < scenarios as u64 / 2, "{consistency}");
}

#[test]
fn the_command_adapter_is_told_the_epoch_and_the_cache_keeps_epochs_apart() {
    let dir = scratch("epochs_cache");
    let suite = suite(&dir, "small", &[]);
    let counter = dir.join("counter");
    let args = |out: &Path| -> Vec<String> {
        vec![
            "eval".into(),
            s(&suite).into(),
            "--adapter".into(),
            "command".into(),
            "--command".into(),
            command("good"),
            "--epochs".into(),
            "2".into(),
            "-o".into(),
            s(out).into(),
        ]
    };
    let out = dir.join("a.jsonl");
    let a: Vec<String> = args(&out);
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    ok(&dir, &a, &[("QUANDARY_TEST_COUNTER", s(&counter))]);
    let log = std::fs::read_to_string(&counter).unwrap();
    let asked_first = log.matches("ask ").count();
    let scenarios = scenarios(&suite).len();
    assert_eq!(asked_first, 2 * scenarios, "both epochs asked");
    // The first epoch's request is what a single asking sends; the second names its epoch.
    assert_eq!(log.matches(" epoch 1\n").count(), scenarios, "{log}");
    assert!(!log.contains(" epoch 0"), "{log}");
    // A second run into another file is answered from the cache: each epoch its own entry.
    let out = dir.join("b.jsonl");
    let b: Vec<String> = args(&out);
    let b: Vec<&str> = b.iter().map(String::as_str).collect();
    let err = ok(&dir, &b, &[("QUANDARY_TEST_COUNTER", s(&counter))]);
    assert!(
        err.contains(&format!(
            "{} of them answered from the cache",
            2 * scenarios
        )),
        "{err}"
    );
    let asked_again = std::fs::read_to_string(&counter)
        .unwrap()
        .matches("ask ")
        .count();
    assert_eq!(asked_again, asked_first, "nothing asked twice");
}

/// The `answerer.py lang` log lines: each request's language, system prompt and prompt.
fn asked_prompts(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `answerer.py lang` over `suite` in `lang` into `out`, with `extra` arguments,
/// logging to `log`.
fn eval_in(dir: &Path, suite: &Path, lang: &str, out: &Path, log: &Path, extra: &[&str]) -> Output {
    let answerer = command("lang");
    let mut args = vec![
        "eval",
        s(suite),
        "--adapter",
        "command",
        "--command",
        &answerer,
    ];
    args.extend(["--lang", lang, "-o", s(out)]);
    args.extend(extra);
    run(dir, &args, &[("QUANDARY_TEST_COUNTER", s(log))])
}

/// Expands suite `name` of `tests/eval/town.qd` into `dir`.
fn town(dir: &Path, name: &str) -> PathBuf {
    let suite = dir.join(format!("{name}.jsonl"));
    let file = "tests/eval/town.qd";
    ok(
        dir,
        &["expand", file, "--suite", name, "-o", s(&suite)],
        &[],
    );
    suite
}

#[test]
fn a_run_in_a_language_sends_its_texts_and_reads_its_answers() {
    let dir = scratch("lang");
    let suite = town(&dir, "queue");
    let lines = scenarios(&suite);
    // Chinese: the scenario's `text.zh`, the actions' `zh` labels, the prompt's and the
    // steer's `system.zh`, quandary's own instruction in Chinese; the answer ends in
    // full-width "最终答案：Ｂ", and is read.
    let (out, log) = (dir.join("zh.jsonl"), dir.join("zh.log"));
    let extra = ["--answer", "reasoning", "--steer", "elders"];
    let zh = eval_in(&dir, &suite, "zh", &out, &log, &extra);
    assert!(
        zh.status.success(),
        "{}",
        String::from_utf8_lossy(&zh.stderr)
    );
    let asked = asked_prompts(&log);
    assert_eq!(
        asked.len(),
        2 * lines.len(),
        "every scenario, plain and steered"
    );
    for a in &asked {
        assert_eq!(a["lang"], "zh", "{a}");
        let prompt = a["prompt"].as_str().unwrap();
        assert!(prompt.contains("一位老顾客想插队。"), "{prompt}");
        assert!(prompt.contains("A. 请他排队\nB. 让他先走"), "{prompt}");
        assert!(
            prompt.contains("“最终答案：X”") && prompt.contains("（A或B）"),
            "{prompt}"
        );
        assert!(!prompt.contains("queue"), "nothing in English: {prompt}");
        let system = a["system"].as_str().unwrap();
        assert!(
            ["请回答问题。", "请回答问题。\n\n尊敬长辈。"].contains(&system),
            "{system}"
        );
    }
    assert_answerer_choices(&out);
    let (header, records) = results(&out);
    assert_eq!(header["lang"], "zh");
    let presentation = header["presentation"].as_str().unwrap();
    assert!(
        presentation.ends_with("/reasoning/lang=zh"),
        "{presentation}"
    );
    assert!(
        records.iter().all(|r| r["rule"] == "final answer"),
        "{records:?}"
    );
    let report = run(&dir, &["report", s(&out)], &[]);
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(report.contains("language             zh"), "{report}");

    // German: a refusal in German is read as one; the other answers as choices.
    let (out, log) = (dir.join("de.jsonl"), dir.join("de.log"));
    let de = eval_in(&dir, &suite, "de", &out, &log, &["--answer", "reasoning"]);
    assert!(
        de.status.success(),
        "{}",
        String::from_utf8_lossy(&de.stderr)
    );
    let (_, records) = results(&out);
    for r in &records {
        let id = r["scenario"].as_str().unwrap();
        if answerer_pick(id, None, 2) == 0 {
            assert_eq!(
                (&r["choice"], &r["rule"]),
                (&"refused".into(), &"refusal".into()),
                "{r}"
            );
        } else {
            assert_eq!(r["rule"], "final answer", "{r}");
            assert_eq!(r["position"], answerer_pick(id, None, 2), "{r}");
        }
    }
    assert!(
        records.iter().any(|r| r["choice"] == "refused"),
        "{records:?}"
    );
    assert!(
        records.iter().any(|r| r["choice"] != "refused"),
        "{records:?}"
    );
}

#[test]
fn a_missing_translation_stops_a_run_before_anything_is_asked() {
    let dir = scratch("lang_missing");
    let suite = town(&dir, "partial");
    let (out, log) = (dir.join("results.jsonl"), dir.join("log"));
    let err = |lang: &str| {
        let run = eval_in(&dir, &suite, lang, &out, &log, &[]);
        assert!(!run.status.success());
        String::from_utf8_lossy(&run.stderr).into_owned()
    };
    // The `stall` scenarios have no `sell` label in Chinese, and no German text at all.
    let zh = err("zh");
    assert!(zh.contains("Q0130"), "{zh}");
    let missing = "in `zh`: the suite has no `zh` version of the label of action `sell`";
    assert!(zh.contains(missing), "{zh}");
    assert!(
        zh.contains("give scenario template `stall` a `text.zh"),
        "{zh}"
    );
    let de = err("de");
    assert!(
        de.contains("no `de` version of its text (`text.de`)"),
        "{de}"
    );
    // A language the prompt has no system prompt in is refused just as early.
    let fr = err("fr");
    assert!(
        fr.contains("prompt `plain` has no system for `fr`: add `system.fr`"),
        "{fr}"
    );
    assert!(!log.exists(), "nothing was asked");
    assert!(!out.exists(), "no results file was written");
}

#[test]
fn questions_and_stances_are_asked_in_a_language_with_its_wording() {
    let dir = scratch("lang_survey");
    let suite = dir.join("survey.jsonl");
    let file = "tests/golden/expand/translated_survey.qd";
    ok(
        &dir,
        &["expand", file, "--suite", "s", "-o", s(&suite)],
        &[],
    );
    let (out, log) = (dir.join("zh.jsonl"), dir.join("zh.log"));
    let zh = eval_in(&dir, &suite, "zh", &out, &log, &["--answer", "reasoning"]);
    assert!(
        zh.status.success(),
        "{}",
        String::from_utf8_lossy(&zh.stderr)
    );
    let prompts: Vec<String> = asked_prompts(&log)
        .iter()
        .map(|a| a["prompt"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(prompts.len(), 4);
    assert!(
        prompts[0].starts_with("民主对你有多重要？\n\nA. 非常重要\nB. 不重要"),
        "{}",
        prompts[0]
    );
    assert!(
        prompts[1].starts_with("这两种说法中，你更同意哪一种？\n\nA. 公共资金不应资助宗教学校。"),
        "{}",
        prompts[1]
    );
    assert!(
        prompts[2].starts_with(
            "你同意还是不同意以下说法？\n\n公共资金不应资助宗教学校。\n\nA. 同意\nB. 不同意"
        ),
        "{}",
        prompts[2]
    );
    // The answers ("最终答案：Ｘ") are read: every choice an option of its line.
    let (_, records) = results(&out);
    assert!(
        records.iter().all(|r| r["rule"] == "final answer"),
        "{records:?}"
    );
}

#[test]
fn sharded_evals_merge_into_a_journal_that_reports_as_the_unsharded_run() {
    let dir = scratch("shards");
    let suite = suite(&dir, "small", &[]);
    let ask = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            s(&suite),
            "--adapter",
            "random",
            "--adapter-seed",
            "7",
        ];
        args.extend(extra);
        ok(&dir, &args, &[]);
    };
    let full = dir.join("full.jsonl");
    ask(&["-o", s(&full), "--concurrency", "3"]);
    for k in ["1/3", "2/3", "3/3"] {
        ask(&["--shard", k, "--concurrency", "2"]);
    }
    // Each shard asked only its scenarios, into its own journal beside the suite.
    let shard = |k: u32| suite.with_file_name(format!("small.results.{k}-of-3.jsonl"));
    let (header, records) = results(&shard(2));
    assert_eq!(header["shard"], "2/3");
    assert!(
        records
            .iter()
            .all(|r| r["index"].as_u64().unwrap() % 3 == 1),
        "{records:?}"
    );
    // Merged in any order: the same bytes, and the same report as the unsharded run.
    let merge = |order: [u32; 3], out: &Path| {
        let shards: Vec<PathBuf> = order.iter().map(|&k| shard(k)).collect();
        let mut args = vec!["merge"];
        args.extend(shards.iter().map(|p| s(p)));
        args.extend(["-o", s(out)]);
        ok(&dir, &args, &[]);
    };
    let merged = dir.join("merged.jsonl");
    let again = dir.join("again.jsonl");
    merge([3, 1, 2], &merged);
    merge([1, 2, 3], &again);
    assert_eq!(
        std::fs::read(&merged).unwrap(),
        std::fs::read(&again).unwrap()
    );
    let (merged_header, merged_records) = results(&merged);
    assert!(merged_header.get("shard").is_none());
    assert_eq!(merged_records.len(), results(&full).1.len());
    let report = |journal: &Path| {
        let out = run(&dir, &["report", s(journal), "--format", "json"], &[]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.replace(s(journal), "JOURNAL")
    };
    assert_eq!(report(&merged), report(&full));
    // What is not one run's complete set of shards is refused, and nothing is written.
    let refused = |args: &[&str], why: &str| {
        let out = run(&dir, args, &[]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    };
    let partial = dir.join("partial.jsonl");
    refused(
        &["merge", s(&shard(1)), s(&shard(2)), "-o", s(&partial)],
        "shard 3/3 of the run is missing",
    );
    assert!(!partial.exists());
    refused(&["merge", s(&shard(1)), s(&shard(1))], "are both shard 1/3");
    refused(&["merge", s(&full)], "is not the journal of a shard");
    // A shard's journal resumes only as that shard.
    let wrong = run(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "random",
            "--adapter-seed",
            "7",
            "--shard",
            "2/3",
            "-o",
            s(&shard(1)),
        ],
        &[],
    );
    assert!(!wrong.status.success());
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("another shard"),
        "{}",
        String::from_utf8_lossy(&wrong.stderr)
    );
    let other = dir.join("other.jsonl");
    ok(
        &dir,
        &[
            "eval",
            s(&suite),
            "--adapter",
            "random",
            "--adapter-seed",
            "8",
            "--shard",
            "3/3",
            "-o",
            s(&other),
        ],
        &[],
    );
    refused(
        &["merge", s(&shard(1)), s(&shard(2)), s(&other)],
        "their `adapter` differs",
    );
}
