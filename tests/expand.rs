//! Expansion of suites into JSON Lines, through the library and through the `expand` and
//! `explain` commands: determinism (runs, threads, shards), the header, every field of a
//! scenario line, suite sizes and balance, rule pairs, slots over values, the sandbox of
//! templates, and streaming. The fixtures are in `tests/expand/`.
//!
//! The last section, "Bugs found in src/", holds tests that fail until the bugs they describe
//! are fixed.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quandary::expand::{Expansion, Options, Shard, Summary};
use quandary::{Code, Diagnostic, Loaded};
use serde_json::{Value, json};

#[path = "support/cli.rs"]
mod cli;

use cli::{in_root as quandary, stderr};

const CLINIC: &str = "tests/expand/clinic.qd";
const BALANCE: &str = "tests/expand/balance.qd";
const RULES: &str = "tests/expand/rules.qd";
const SLOTS: &str = "tests/expand/slots.qd";
const SAFETY: &str = "tests/expand/safety.qd";
const SHOW: &str = "tests/expand/show.qd";

// --------------------------------------------------------------------- helpers

/// Runs the binary with its output in files, and fails the test if it takes longer than
/// `limit` (a template that hangs must not hang the test suite).
fn quandary_within(args: &[&str], limit: Duration, name: &str) -> (Option<i32>, String, String) {
    let out_path = tmp(&format!("{name}.stdout"));
    let err_path = tmp(&format!("{name}.stderr"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_quandary"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(File::create(&out_path).expect("stdout file"))
        .stderr(File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("the binary runs");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`quandary {}` ran longer than {limit:?}", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code(),
        std::fs::read_to_string(&out_path).expect("stdout"),
        std::fs::read_to_string(&err_path).expect("stderr"),
    )
}

/// A path in this test binary's scratch folder.
fn tmp(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("expand");
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir.join(name)
}

/// Expands with the binary into a scratch file and returns the file's bytes.
fn expand_file(file: &str, args: &[&str], name: &str) -> Vec<u8> {
    let out = tmp(name);
    let _ = std::fs::remove_file(&out);
    let out_arg = out.to_string_lossy().into_owned();
    let mut all = vec!["expand", file, "--error-format", "plain", "-o", &out_arg];
    all.extend_from_slice(args);
    let o = quandary(&all);
    assert_eq!(
        o.status.code(),
        Some(0),
        "quandary {}: {}",
        all.join(" "),
        stderr(&o)
    );
    std::fs::read(&out).expect("the output file exists")
}

/// The header and the scenario lines of a suite's output. Every line must be complete JSON
/// ending in a line break.
fn parse(bytes: &[u8]) -> (Value, Vec<Value>) {
    let text = std::str::from_utf8(bytes).expect("the output is UTF-8");
    assert!(text.ends_with('\n'), "the output ends with a line break");
    let mut lines = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("{e}: {l}")));
    let header = lines.next().expect("a header line");
    (header, lines.collect())
}

/// Loads a fixture that must have no errors.
fn load(path: &str) -> Loaded {
    let loaded = quandary::load_path(path);
    assert!(
        !loaded.has_errors(),
        "{path}: {:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    loaded
}

fn suite_id(loaded: &Loaded, name: &str) -> quandary::model::SuiteId {
    *loaded
        .framework
        .root_module()
        .suites
        .iter()
        .find(|s| loaded.framework.suites[s.index()].id == name)
        .unwrap_or_else(|| panic!("no suite `{name}`"))
}

/// How a library run ended, and everything it wrote.
type Run = (Result<Summary, Diagnostic>, Vec<u8>);

/// Expands suite `suite` of `loaded` through the library.
fn run_loaded(loaded: &Loaded, suite: &str, options: &Options) -> Result<Run, Vec<Diagnostic>> {
    let expansion = Expansion::new(
        &loaded.framework,
        &loaded.sources,
        suite_id(loaded, suite),
        options,
    )?;
    let mut out = Vec::new();
    let result = expansion.run(&mut out, options, &mut |_, _| {});
    Ok((result, out))
}

/// Expands a suite of a fixture through the library; the run must succeed.
fn expand_lib(path: &str, suite: &str, options: &Options) -> (Summary, Vec<u8>) {
    let loaded = load(path);
    let (result, out) = run_loaded(&loaded, suite, options)
        .unwrap_or_else(|d| panic!("{path} {suite}: {:?}", messages(&d)));
    (result.unwrap_or_else(|d| panic!("{}", d.message)), out)
}

/// The scenario lines of a successful library run.
fn scenarios(path: &str, suite: &str) -> Vec<Value> {
    parse(&expand_lib(path, suite, &Options::default()).1).1
}

fn messages(d: &[Diagnostic]) -> Vec<String> {
    d.iter()
        .map(|d| format!("{} {}", d.code, d.message))
        .collect()
}

/// 1-based number of the first line of `path` that contains `needle`.
fn line_of(path: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).expect("fixture");
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("`{needle}` is not in {path}"))
        + 1
}

fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

fn str_of<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {v}"))
}

/// A scenario's content: what its id is derived from.
fn content(line: &Value) -> String {
    json!({
        "kind": line["kind"],
        "template": line["template"],
        "topic": line["topic"],
        "bindings": line["bindings"],
        "text": line["text"],
        "variants": line["variants"],
        "actions": line["actions"],
    })
    .to_string()
}

fn action_ids(line: &Value) -> Vec<&str> {
    line["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .map(|a| str_of(a, "id"))
        .collect()
}

fn bindings(line: &Value) -> String {
    format!("{}|{}", line["template"], line["bindings"])
}

/// Label and Chinese label of the clinic's values.
fn clinic_value(name: &str) -> (&'static str, &'static str) {
    match name {
        "clinic.care" => ("Care", "关怀"),
        "clinic.fairness" => ("Fairness", "公平"),
        "clinic.honesty" => ("Honesty", "诚实"),
        "clinic.loyalty" => ("Loyalty", "忠诚"),
        "clinic.authority" => ("Authority", "权威"),
        "clinic.tradition" => ("Tradition", "传统"),
        other => panic!("not a clinic value: {other}"),
    }
}

/// Whether two values of balance.qd are declared in conflict.
fn balance_conflict(a: &str, b: &str) -> bool {
    let pairs = [
        ("care", "loyalty"),
        ("fairness", "authority"),
        ("honesty", "tradition"),
    ];
    let (a, b) = (
        a.trim_start_matches("balance."),
        b.trim_start_matches("balance."),
    );
    pairs.contains(&(a, b)) || pairs.contains(&(b, a))
}

// --------------------------------------------------------------------- determinism

/// The suites the determinism tests run: one with nothing on, one with everything on, and
/// one whose templates show sets of their options drawn diverse and at random.
const DETERMINISM_SUITES: [(&str, &str); 3] =
    [(CLINIC, "plain"), (CLINIC, "everything"), (SHOW, "sets")];

#[test]
fn the_same_file_and_seed_give_identical_output() {
    for (file, suite) in DETERMINISM_SUITES {
        let first = expand_file(
            file,
            &["--suite", suite, "--threads", "2"],
            &format!("again-{suite}-1.jsonl"),
        );
        let second = expand_file(
            file,
            &["--suite", suite, "--threads", "2"],
            &format!("again-{suite}-2.jsonl"),
        );
        assert!(first == second, "{suite}: two runs differ");
        // The library writes exactly what the command writes.
        let (_, library) = expand_lib(file, suite, &Options::default());
        assert!(
            library == first,
            "{suite}: the library and the command differ"
        );
    }
}

#[test]
fn the_thread_count_does_not_change_the_output() {
    for (file, suite) in DETERMINISM_SUITES {
        let one = expand_file(
            file,
            &["--suite", suite, "--threads", "1"],
            &format!("threads-{suite}-1.jsonl"),
        );
        for threads in ["2", "8"] {
            let many = expand_file(
                file,
                &["--suite", suite, "--threads", threads],
                &format!("threads-{suite}-{threads}.jsonl"),
            );
            assert!(one == many, "{suite}: --threads {threads} differs from 1");
        }
    }
}

#[test]
fn shards_partition_the_output() {
    for (file, suite) in DETERMINISM_SUITES {
        let whole = expand_file(
            file,
            &["--suite", suite, "--threads", "3"],
            &format!("shard-{suite}-all.jsonl"),
        );
        let (header, all) = parse(&whole);
        assert!(header.get("shard").is_none());
        let mut union = Vec::new();
        for k in 1..=3u64 {
            let part = expand_file(
                file,
                &[
                    "--suite",
                    suite,
                    "--threads",
                    "2",
                    "--shard",
                    &format!("{k}/3"),
                ],
                &format!("shard-{suite}-{k}.jsonl"),
            );
            let (header, lines) = parse(&part);
            assert_eq!(header["shard"], format!("{k}/3"));
            assert!(!lines.is_empty());
            for line in &lines {
                assert_eq!(line["index"].as_u64().expect("index") % 3, k - 1, "{suite}");
            }
            union.extend(lines);
        }
        union.sort_by_key(|l| l["index"].as_u64());
        assert_eq!(union.len(), all.len(), "{suite}");
        assert!(union == all, "{suite}: the shards differ from the whole");
    }
}

#[test]
fn the_library_shards_like_the_command() {
    let (_, whole) = expand_lib(CLINIC, "everything", &Options::default());
    let (_, all) = parse(&whole);
    let mut union = Vec::new();
    for index in 1..=4 {
        let options = Options {
            threads: 3,
            shard: Some(Shard { index, of: 4 }),
            ..Options::default()
        };
        let (summary, out) = expand_lib(CLINIC, "everything", &options);
        let (_, lines) = parse(&out);
        assert_eq!(summary.written, lines.len() as u64);
        assert_eq!(summary.scenarios, all.len() as u64);
        union.extend(lines);
    }
    union.sort_by_key(|l| l["index"].as_u64());
    assert!(union == all);
}

#[test]
fn the_everything_suite_exercises_every_setting() {
    // The determinism tests above are only as good as this suite is varied.
    let (summary, out) = expand_lib(CLINIC, "everything", &Options::default());
    let (header, lines) = parse(&out);
    assert_eq!(header["twins"], true);
    assert_eq!(header["dedupe"], true);
    assert_eq!(header["require_conflict"], true);
    assert_eq!(header["order"], "shuffled");
    assert_eq!(header["distractors"], 0.5);
    // Several batches of plans: draws go on until 10,000 meet `require conflict`, and none
    // repeats a binding (the space is larger), so `dedupe` has nothing to drop.
    assert_eq!(summary.planned, 10_000 + summary.filtered, "{summary:?}");
    assert!(summary.filtered > 0, "{summary:?}");
    assert_eq!(summary.duplicates, 0, "{summary:?}");
    assert_eq!(lines.len(), 20_000);
    let templates: BTreeSet<&str> = lines.iter().map(|l| str_of(l, "template")).collect();
    assert_eq!(
        templates,
        BTreeSet::from(["ward", "mix", "office"]),
        "every template is drawn"
    );
    let with_distractor = lines
        .iter()
        .filter(|l| {
            l["actions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["distractor"] == true)
        })
        .count();
    assert!(with_distractor > 0 && with_distractor < lines.len());
    let orders: BTreeSet<Vec<&str>> = lines
        .iter()
        .filter(|l| l["template"] == "mix")
        .map(|l| {
            action_ids(l)
                .into_iter()
                .filter(|a| *a != "shrug")
                .collect()
        })
        .collect();
    assert!(orders.len() == 2, "{orders:?}");
    // `require conflict`: every `mix` scenario sides with values in a declared conflict.
    let conflicts = [
        ("clinic.care", "clinic.loyalty"),
        ("clinic.fairness", "clinic.authority"),
        ("clinic.honesty", "clinic.loyalty"),
        ("clinic.honesty", "clinic.tradition"),
    ];
    for l in lines.iter().filter(|l| l["template"] == "mix") {
        let pair = (str_of(&l["bindings"], "x"), str_of(&l["bindings"], "y"));
        assert!(conflicts.contains(&pair), "{pair:?}");
    }
    // `dedupe`: no id twice; indexes consecutive after dropping.
    let ids: BTreeSet<&str> = lines.iter().map(|l| str_of(l, "id")).collect();
    assert_eq!(ids.len(), lines.len());
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i as u64);
    }
}

// --------------------------------------------------------------------- header

#[test]
fn the_header_names_version_suite_seed_and_source_hash() {
    let (header, lines) = parse(&expand_file(CLINIC, &["--suite", "small"], "header.jsonl"));
    assert_eq!(header["quandary"], env!("CARGO_PKG_VERSION"));
    assert_eq!(header["format"], "suite");
    assert_eq!(header["suite"], "small");
    assert_eq!(header["label"], "A few, with twins");
    assert_eq!(header["seed"], 7);
    assert_eq!(header["count"], 12);
    assert_eq!(header["twins"], true);
    assert_eq!(header["templates"], json!(["ward"]));
    assert_eq!(header["files"], json!([CLINIC]));
    let hash = str_of(&header, "source_hash");
    let hex = hash
        .strip_prefix("xxh3-128:")
        .expect("the hash names its algorithm");
    assert!(is_hex(hex, 32), "{hash}");
    assert_eq!(lines.len(), 24);
}

#[test]
fn the_source_hash_changes_with_any_source_file() {
    // A copy of slots.qd and the framework it imports, to change them.
    let dir = tmp("hash");
    std::fs::create_dir_all(dir.join("shared")).expect("folder");
    let main = dir.join("slots.qd");
    let imported = dir.join("shared/civic.qd");
    let main_text = std::fs::read_to_string(SLOTS).expect("fixture");
    let imported_text = std::fs::read_to_string("tests/expand/shared/civic.qd").expect("fixture");
    let header = |main_text: &str, imported_text: &str| -> Value {
        std::fs::write(&main, main_text).expect("write");
        std::fs::write(&imported, imported_text).expect("write");
        let loaded = load(main.to_str().expect("path"));
        let expansion = Expansion::new(
            &loaded.framework,
            &loaded.sources,
            suite_id(&loaded, "all"),
            &Options::default(),
        )
        .expect("expands");
        assert_eq!(expansion.header(None)["files"].as_array().unwrap().len(), 2);
        expansion.header(None)
    };
    let original = header(&main_text, &imported_text);
    let hash = |h: &Value| str_of(h, "source_hash").to_string();
    assert_eq!(hash(&original), hash(&header(&main_text, &imported_text)));
    let main_changed = header(&format!("{main_text}# a comment\n"), &imported_text);
    let imported_changed = header(&main_text, &format!("{imported_text}# a comment\n"));
    let one_byte = header(&main_text, &imported_text.replacen("Growth", "Growsh", 1));
    assert_ne!(hash(&original), hash(&main_changed));
    assert_ne!(hash(&original), hash(&imported_changed));
    assert_ne!(hash(&main_changed), hash(&imported_changed));
    assert_ne!(hash(&original), hash(&one_byte));
    // Back to the original bytes, back to the original hash.
    assert_eq!(hash(&original), hash(&header(&main_text, &imported_text)));
}

#[test]
fn the_seed_option_changes_the_scenarios() {
    let (own_header, own) = parse(&expand_file(
        CLINIC,
        &["--suite", "small"],
        "seed-own.jsonl",
    ));
    let (same_header, same) = parse(&expand_file(
        CLINIC,
        &["--suite", "small", "--seed", "7"],
        "seed-7.jsonl",
    ));
    let (other_header, other) = parse(&expand_file(
        CLINIC,
        &["--suite", "small", "--seed", "8"],
        "seed-8.jsonl",
    ));
    assert_eq!(own_header["seed"], 7);
    assert_eq!(same_header, own_header);
    assert_eq!(same, own, "--seed 7 is the suite's own seed");
    assert_eq!(other_header["seed"], 8);
    assert_eq!(other.len(), own.len());
    for (a, b) in own.iter().zip(&other) {
        assert_ne!(a["seed"], b["seed"]);
    }
    let draw = |lines: &[Value]| lines.iter().map(bindings).collect::<Vec<_>>();
    assert_ne!(
        draw(&own),
        draw(&other),
        "another seed draws other bindings"
    );
}

// --------------------------------------------------------------------- scenario lines

#[test]
fn scenario_lines_have_every_field() {
    let lines = scenarios(CLINIC, "small");
    assert_eq!(lines.len(), 24);
    let template_line = line_of(CLINIC, "scenario ward ");
    for (i, l) in lines.iter().enumerate() {
        let id = str_of(l, "id");
        assert!(
            id.starts_with('s') && is_hex(&id[1..], 32),
            "the id is `s` and 32 hex digits: {id}"
        );
        assert_eq!(l["index"], i as u64);
        assert_eq!(l["kind"], "scenario");
        assert_eq!(l["draw"], (i / 2) as u64);
        assert_eq!(l["suite"], "small");
        assert!(is_hex(str_of(l, "seed"), 16), "{}", l["seed"]);
        assert_eq!(l["template"], "ward");
        assert_eq!(l["topic"], "ward");
        let b = &l["bindings"];
        let keys: Vec<&String> = b.as_object().expect("bindings").keys().collect();
        assert_eq!(keys, ["role", "time", "patient", "a", "b"]);
        let (a, b_) = (str_of(b, "a"), str_of(b, "b"));
        let ((a_label, a_zh), (b_label, b_zh)) = (clinic_value(a), clinic_value(b_));
        let a_id = a.trim_start_matches("clinic.");
        let b_id = b_.trim_start_matches("clinic.");

        // The text is dedented: no leading line break, no common indentation, relative
        // indentation kept.
        let text = str_of(l, "text");
        assert_eq!(
            text,
            format!(
                "You are a {}, {}, caring for {}.\nA colleague asks you to choose:\n  {a_label} ({a_id}) or {b_label} ({b_id})?",
                str_of(b, "role"),
                str_of(b, "time"),
                str_of(b, "patient"),
            )
        );
        assert_eq!(
            l["variants"],
            json!({ "zh": format!("你是{}。{a_zh}还是{b_zh}？", str_of(b, "role")) })
        );

        let provenance = &l["provenance"];
        assert_eq!(provenance["template"], format!("{CLINIC}:{template_line}"));
        let relation = line_of_either(CLINIC, a_id, b_id);
        assert_eq!(
            provenance["relations"],
            json!([format!("{CLINIC}:{relation}")])
        );
        assert_eq!(provenance["rules"], json!([]));
    }
    // The options of the first line, as written (the twin reverses them).
    let l = &lines[0];
    let (a, b) = (str_of(&l["bindings"], "a"), str_of(&l["bindings"], "b"));
    assert_eq!(action_ids(l), ["first", "second", "leave"]);
    let actions = l["actions"].as_array().unwrap();
    assert_eq!(
        actions[0],
        json!({
            "id": "first",
            "label": format!("Favour {}", clinic_value(a).0),
            "upholds": [a],
            "violates": [b],
            "upholds_indirect": [],
            "violates_indirect": [],
            "affects": [
                {"party": "patient", "sign": "+", "indirect": false},
                {"party": "colleague", "sign": "-", "indirect": false},
            ],
            "distractor": false,
        })
    );
    assert_eq!(
        actions[1],
        json!({
            "id": "second",
            "label": format!("Favour {}", clinic_value(b).0),
            "upholds": [b],
            "violates": [a],
            "upholds_indirect": [],
            "violates_indirect": [],
            "affects": [
                {"party": "colleague", "sign": "+", "indirect": false},
                {"party": "bystanders", "sign": null, "indirect": false},
            ],
            "distractor": false,
        })
    );
    assert_eq!(
        actions[2],
        json!({
            "id": "leave",
            "label": "Leave it to someone else",
            "upholds": [],
            "violates": [],
            "upholds_indirect": [],
            "violates_indirect": [],
            "affects": [],
            "distractor": true,
        })
    );
}

/// The line of `conflict a <> b` or `conflict b <> a`, whichever the file has.
fn line_of_either(path: &str, a: &str, b: &str) -> usize {
    let text = std::fs::read_to_string(path).expect("fixture");
    text.lines()
        .position(|l| l == format!("conflict {a} <> {b}") || l == format!("conflict {b} <> {a}"))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no conflict between {a} and {b}"))
}

#[test]
fn twins_are_linked_and_have_their_options_reversed() {
    let lines = scenarios(CLINIC, "small");
    for pair in lines.chunks(2) {
        let [base, twin] = pair else {
            panic!("scenarios come in pairs")
        };
        assert_eq!(base["twin_group"], base["id"]);
        assert_eq!(twin["twin_group"], base["id"]);
        assert_ne!(twin["id"], base["id"]);
        for key in [
            "draw",
            "seed",
            "template",
            "bindings",
            "text",
            "variants",
            "provenance",
        ] {
            assert_eq!(base[key], twin[key], "{key}");
        }
        let mut reversed = base["actions"].as_array().unwrap().clone();
        reversed.reverse();
        assert_eq!(twin["actions"], Value::Array(reversed));
    }
    // Without twins there is no group.
    for l in scenarios(BALANCE, "counted") {
        assert_eq!(l["twin_group"], Value::Null);
    }
}

#[test]
fn ids_are_derived_from_content_alone() {
    // Stable across runs.
    let first = scenarios(BALANCE, "repeats");
    let second = scenarios(BALANCE, "repeats");
    assert_eq!(first, second);
    // 48 draws over 36 bindings without dedupe: 12 repeat a binding; the first occurrences
    // are named by their content alone, the same in every suite.
    let mut by_content: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut by_id: HashMap<String, BTreeSet<String>> = HashMap::new();
    let other_suite = scenarios(BALANCE, "no_distractors");
    let more = scenarios(BALANCE, "counted");
    let firsts = |lines: &[Value]| -> Vec<Value> {
        lines
            .iter()
            .filter(|l| l.get("occurrence").is_none())
            .cloned()
            .collect()
    };
    let (first, other_suite, more) = (firsts(&first), firsts(&other_suite), firsts(&more));
    assert_eq!(first.len(), 36);
    for l in first.iter().chain(&other_suite).chain(&more) {
        let (c, id) = (content(l), str_of(l, "id").to_string());
        by_content.entry(c.clone()).or_default().insert(id.clone());
        by_id.entry(id).or_default().insert(c);
    }
    for (c, ids) in &by_content {
        assert_eq!(ids.len(), 1, "one content, several ids: {c}");
    }
    for (id, contents) in &by_id {
        assert_eq!(contents.len(), 1, "one id, several contents: {id}");
    }
    // The same binding in two suites (`counted` and `no_distractors` render trio the same
    // way) has the same id.
    let ids = |lines: &[Value]| -> BTreeSet<String> {
        lines.iter().map(|l| str_of(l, "id").to_string()).collect()
    };
    assert!(!ids(&other_suite).is_disjoint(&ids(&more)));
}

// --------------------------------------------------------------------- sizes and balance

#[test]
fn count_gives_that_many_scenarios() {
    let lines = scenarios(BALANCE, "counted");
    assert_eq!(lines.len(), 25);
    let twins = scenarios(BALANCE, "counted_twins");
    assert_eq!(twins.len(), 50);
    for (i, l) in twins.iter().enumerate() {
        assert_eq!(l["index"], i as u64);
        assert_eq!(l["draw"], (i / 2) as u64);
    }
    // `--count` replaces the suite's size.
    let (summary, out) = expand_lib(
        BALANCE,
        "each3",
        &Options {
            count: Some(7),
            ..Options::default()
        },
    );
    assert_eq!(parse(&out).1.len(), 7);
    assert_eq!(summary.written, 7);
    assert_eq!(parse(&out).0["count"], 7);
}

#[test]
fn each_gives_every_binding_that_many_times() {
    let lines = scenarios(BALANCE, "each3");
    // trio: 3 roles × 3 pairs × 2 orders; cross: 3 × 3 × 4 places.
    assert_eq!(lines.len(), 3 * (18 + 36));
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for l in &lines {
        *seen.entry(bindings(l)).or_default() += 1;
    }
    assert_eq!(seen.len(), 18 + 36);
    assert!(seen.values().all(|&n| n == 3), "{seen:?}");
}

#[test]
fn balance_pairs_poses_each_pair_equally_often() {
    let lines = scenarios(BALANCE, "pairs");
    assert_eq!(lines.len(), 300);
    let mut unordered: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut ordered: BTreeSet<(String, String)> = BTreeSet::new();
    for l in &lines {
        let a = str_of(&l["bindings"], "a").to_string();
        let b = str_of(&l["bindings"], "b").to_string();
        ordered.insert((a.clone(), b.clone()));
        let key = if a < b { (a, b) } else { (b, a) };
        *unordered.entry(key).or_default() += 1;
    }
    assert_eq!(unordered.len(), 3, "{unordered:?}");
    assert!(unordered.values().all(|&n| n == 100), "{unordered:?}");
    assert_eq!(ordered.len(), 6, "both orientations of every pair");
}

#[test]
fn balance_diverse_uses_every_binding_before_repeating() {
    let once = scenarios(BALANCE, "diverse");
    assert_eq!(once.len(), 18);
    let distinct: BTreeSet<String> = once.iter().map(bindings).collect();
    assert_eq!(distinct.len(), 18, "each of the 18 bindings exactly once");

    let twice = scenarios(BALANCE, "diverse_twice");
    assert_eq!(twice.len(), 36);
    let first: BTreeSet<String> = twice[..18].iter().map(bindings).collect();
    let second: BTreeSet<String> = twice[18..].iter().map(bindings).collect();
    assert_eq!(first, distinct);
    assert_eq!(second, distinct);
}

#[test]
fn require_conflict_keeps_only_options_in_conflict() {
    // Enumerated: bindings without a conflict are dropped.
    let (summary, out) = expand_lib(BALANCE, "required_each", &Options::default());
    let lines = parse(&out).1;
    // 3 conflicting (x, y) pairs of 9, in 4 places.
    assert_eq!(lines.len(), 12);
    assert_eq!(summary.filtered, 36 - 12);
    assert_eq!(summary.planned, 36);
    let places: BTreeSet<String> = lines.iter().map(bindings).collect();
    assert_eq!(places.len(), 12);
    // Drawn: bindings without a conflict are dropped and the draws go on until 18 are kept:
    // the 12 that meet it, then the same 12 again as repeats.
    let drawn = scenarios(BALANCE, "required_count");
    assert_eq!(drawn.len(), 18);
    let first: BTreeSet<String> = drawn[..12].iter().map(bindings).collect();
    assert_eq!(first.len(), 12, "no binding repeats before all 12 are used");
    assert!(drawn[..12].iter().all(|l| l.get("occurrence").is_none()));
    assert!(drawn[12..].iter().all(|l| l["occurrence"] == 2));
    for l in lines.iter().chain(&drawn) {
        let actions = l["actions"].as_array().unwrap();
        let x = actions[0]["upholds"][0].as_str().unwrap();
        let y = actions[1]["upholds"][0].as_str().unwrap();
        assert!(balance_conflict(x, y), "{x} and {y} are not in conflict");
    }
    // Without the setting, the same enumeration has every binding.
    let every = scenarios(BALANCE, "each3");
    assert!(
        every
            .iter()
            .filter(|l| l["template"] == "cross")
            .any(|l| !balance_conflict(str_of(&l["bindings"], "x"), str_of(&l["bindings"], "y")))
    );
}

#[test]
fn no_binding_repeats_while_the_bindings_last() {
    // 48 draws over 36 bindings: the first 36 are distinct; draw k past them is a copy of
    // draw k − 36, marked as its second occurrence, with an id of its own.
    let repeats = scenarios(BALANCE, "repeats");
    assert_eq!(repeats.len(), 48);
    let ids: BTreeSet<&str> = repeats.iter().map(|l| str_of(l, "id")).collect();
    assert_eq!(ids.len(), 48, "every line has an id of its own");
    let first: BTreeSet<String> = repeats[..36].iter().map(bindings).collect();
    assert_eq!(first.len(), 36);
    for (k, l) in repeats.iter().enumerate().skip(36) {
        let original = &repeats[k - 36];
        assert_eq!(l["occurrence"], 2);
        assert_eq!(l["repeat_of"], original["id"]);
        assert_eq!(
            content(l),
            content(original),
            "a repeat is the same scenario"
        );
        assert_eq!(l["seed"], original["seed"]);
        assert_eq!(l["draw"], k as u64);
    }
    // Templates of different sizes: the small one drops out of the turn once used up, so 20
    // draws over 2 + 18 bindings use each once, at random and with `balance pairs`.
    for suite in ["mixed", "mixed_pairs"] {
        let lines = scenarios(BALANCE, suite);
        assert_eq!(lines.len(), 20);
        let distinct: BTreeSet<String> = lines
            .iter()
            .map(|l| format!("{} {}", str_of(l, "template"), bindings(l)))
            .collect();
        assert_eq!(distinct.len(), 20, "{suite}");
        assert!(lines.iter().all(|l| l.get("occurrence").is_none()));
    }
    // `each n`: the n draws of a binding are its occurrences 1..n.
    let each = scenarios(BALANCE, "each3");
    let ids: BTreeSet<&str> = each.iter().map(|l| str_of(l, "id")).collect();
    assert_eq!(ids.len(), each.len());
    for triple in each.chunks(3) {
        assert!(triple[0].get("occurrence").is_none());
        assert_eq!(triple[1]["occurrence"], 2);
        assert_eq!(triple[2]["occurrence"], 3);
        assert_eq!(triple[2]["repeat_of"], triple[0]["id"]);
        assert_eq!(content(&triple[1]), content(&triple[0]));
    }
}

#[test]
fn repeats_do_not_depend_on_threads_or_shards() {
    for suite in ["repeats", "required_repeats", "each3", "mixed_pairs"] {
        let (_, one) = expand_lib(BALANCE, suite, &Options::default());
        let (_, two) = expand_lib(
            BALANCE,
            suite,
            &Options {
                threads: 2,
                ..Options::default()
            },
        );
        assert_eq!(one, two, "{suite}: two threads");
        let all = parse(&one).1;
        let mut joined = Vec::new();
        for index in 1..=3 {
            let (_, part) = expand_lib(
                BALANCE,
                suite,
                &Options {
                    threads: 2,
                    shard: Some(Shard { index, of: 3 }),
                    ..Options::default()
                },
            );
            joined.extend(parse(&part).1);
        }
        joined.sort_by_key(|l| l["index"].as_u64());
        assert_eq!(joined, all, "{suite}: three shards");
    }
}

#[test]
fn dedupe_stops_at_the_bindings() {
    let (summary, out) = expand_lib(BALANCE, "deduped", &Options::default());
    let lines = parse(&out).1;
    assert_eq!(lines.len(), 36, "48 asked, 36 bindings");
    let distinct: BTreeSet<String> = lines.iter().map(bindings).collect();
    assert_eq!(distinct.len(), 36);
    assert!(lines.iter().all(|l| l.get("occurrence").is_none()));
    assert_eq!(summary.duplicates, 12);
    assert_eq!(summary.written + summary.duplicates, 48);
    assert_eq!(summary.scenarios, 36);
    for (i, l) in lines.iter().enumerate() {
        assert_eq!(l["index"], i as u64, "indexes stay consecutive");
    }
}

#[test]
fn distractors_zero_never_and_one_always() {
    for l in scenarios(BALANCE, "no_distractors") {
        assert_eq!(action_ids(&l), ["first", "second"]);
        assert!(
            l["actions"]
                .as_array()
                .unwrap()
                .iter()
                .all(|a| a["distractor"] == false)
        );
    }
    for l in scenarios(BALANCE, "all_distractors") {
        assert_eq!(action_ids(&l), ["first", "second", "leave"]);
        assert_eq!(l["actions"][2]["distractor"], true);
    }
}

#[test]
fn order_shuffled_yields_both_orders() {
    let orders = |suite: &str| -> BTreeSet<Vec<String>> {
        scenarios(BALANCE, suite)
            .iter()
            .map(|l| action_ids(l).into_iter().map(str::to_string).collect())
            .collect()
    };
    assert_eq!(
        orders("fixed"),
        BTreeSet::from([vec!["first".to_string(), "second".to_string()]])
    );
    assert_eq!(orders("shuffled").len(), 2, "{:?}", orders("shuffled"));
}

// --------------------------------------------------------------------- candidate sets

/// The candidate sets of a suite's templates that `show k`, through the library.
fn coverage(path: &str, suite: &str) -> Vec<quandary::expand::Coverage> {
    let loaded = load(path);
    let expansion = Expansion::new(
        &loaded.framework,
        &loaded.sources,
        suite_id(&loaded, suite),
        &Options::default(),
    )
    .unwrap_or_else(|d| panic!("{path} {suite}: {:?}", messages(&d)));
    expansion.coverage(quandary::expand::COVERAGE_DRAWS)
}

#[test]
fn a_diverse_set_takes_one_option_of_each_pair_of_twins() {
    // Two pairs of near-twins (care + fairness twice, loyalty + authority twice), two shown:
    // from whichever option a diverse set starts, it takes one of the other pair, so every
    // set covers the four values and its two vectors are opposite (correlation −1).
    let golden = "tests/golden/expand/show_diverse.qd";
    let lines = scenarios(golden, "diverse");
    // One set per option it starts from, but two starts make one set: it is posed once.
    assert_eq!(lines.len(), 3);
    let sets: BTreeSet<Vec<&str>> = lines.iter().map(action_ids).collect();
    assert_eq!(sets.len(), 3, "no set twice");
    for line in &lines {
        let ids = action_ids(line);
        assert_eq!(ids.len(), 2, "{ids:?}");
        let first = ["kind", "gentle"].contains(&ids[0]);
        let second = ["kind", "gentle"].contains(&ids[1]);
        assert_ne!(first, second, "one of each pair: {ids:?}");
    }
    let diverse = coverage(golden, "diverse");
    assert_eq!(diverse.len(), 1);
    let d = &diverse[0];
    assert_eq!((d.show, d.draw, d.pool, d.scenarios), (2, "diverse", 4, 3));
    assert!((d.coverage - 1.0).abs() < 1e-12, "{d:?}");
    assert!((d.correlation.unwrap_or(0.0) + 1.0).abs() < 1e-12, "{d:?}");
    // A random pair is a pair of twins 2 times in 6 and then covers half the values:
    // 4/6 · 1 + 2/6 · 1/2 = 5/6; its correlation is +1 twice and −1 four times: −1/3.
    assert!((d.random_coverage - 5.0 / 6.0).abs() < 1e-12, "{d:?}");
    assert!((d.random_correlation.unwrap_or(0.0) + 1.0 / 3.0).abs() < 1e-12);
    // `each 1` over `show 2 random` draws every pair once: its measured figures are the
    // expectation itself, and the diverse draw covers at least as much.
    let random = coverage(golden, "random");
    let r = &random[0];
    assert_eq!((r.draw, r.scenarios), ("random", 6));
    assert!((r.coverage - 5.0 / 6.0).abs() < 1e-12, "{r:?}");
    assert!((r.coverage - r.random_coverage).abs() < 1e-12);
    assert!((r.correlation.unwrap_or(0.0) + 1.0 / 3.0).abs() < 1e-12);
    assert!(d.coverage >= r.coverage);
}

#[test]
fn a_diverse_set_counts_violated_and_either_values() {
    // Worked out in the fixture: yes upholds care and fairness, no violates them, maybe has
    // them as `either`, other upholds loyalty.
    let golden = "tests/golden/expand/show_diverse_valence.qd";
    let lines = scenarios(golden, "diverse");
    let sets: BTreeSet<Vec<&str>> = lines
        .iter()
        .map(action_ids)
        .map(|mut ids| {
            ids.sort_unstable();
            ids
        })
        .collect();
    let expected: BTreeSet<Vec<&str>> = [
        vec!["no", "yes"],
        vec!["maybe", "other"],
        vec!["other", "yes"],
    ]
    .into_iter()
    .collect();
    assert_eq!((lines.len(), sets), (3, expected));
    let d = &coverage(golden, "diverse")[0];
    // Upheld values covered: {yes, no} 2 of 3, {maybe, other} 1, {yes, other} 3: mean 2/3;
    // a random pair misses each value, upheld by one option of four, half the time: 1/2.
    assert!((d.coverage - 2.0 / 3.0).abs() < 1e-12, "{d:?}");
    assert!((d.random_coverage - 0.5).abs() < 1e-12, "{d:?}");
    // Over care, fairness, loyalty: yes (1, 1, 0), no (−1, −1, 0), other (0, 0, 1); maybe
    // (0, 0, 0) is constant and left out. {yes, no} −1, {yes, other} −1: mean −1. Every
    // pair of the pool: yes–no −1, yes–other −1, no–other +1: −1/3.
    assert!((d.correlation.unwrap_or(0.0) + 1.0).abs() < 1e-12, "{d:?}");
    assert!((d.random_correlation.unwrap_or(0.0) + 1.0 / 3.0).abs() < 1e-12);
}

#[test]
fn explain_says_which_options_a_scenario_shows_and_how() {
    let loaded = load("tests/golden/expand/show_diverse.qd");
    let expansion = Expansion::new(
        &loaded.framework,
        &loaded.sources,
        suite_id(&loaded, "diverse"),
        &Options::default(),
    )
    .expect("compiles");
    let text = expansion.explain("1").expect("explains").expect("found");
    assert!(
        text.contains("shows     2 of 4 options (diverse, from `chain`): kind, chain\n"),
        "{text}"
    );
}

#[test]
fn a_random_set_draws_every_subset_once_per_binding() {
    // 2 places × C(5, 3) subsets of the pool.
    let lines: Vec<Value> = scenarios(SHOW, "every_set")
        .into_iter()
        .filter(|l| l["template"] == "any")
        .collect();
    assert_eq!(lines.len(), 20);
    let sets: BTreeSet<(String, Vec<&str>)> =
        lines.iter().map(|l| (bindings(l), action_ids(l))).collect();
    assert_eq!(sets.len(), 20, "no set twice");
    assert!(sets.iter().all(|(_, ids)| ids.len() == 3));
    // Diverse sets: no set twice for one binding of the slots and picks either.
    let diverse: Vec<Value> = scenarios(SHOW, "every_set")
        .into_iter()
        .filter(|l| l["template"] == "advice")
        .collect();
    let sets: BTreeSet<(String, Vec<&str>)> = diverse
        .iter()
        .map(|l| (bindings(l), action_ids(l)))
        .collect();
    assert_eq!(sets.len(), diverse.len(), "no set twice");
}

#[test]
fn every_scenario_shows_k_options_and_more_of_its_pool_than_chance() {
    for line in scenarios(SHOW, "sets") {
        let actions = line["actions"].as_array().expect("actions");
        let options = actions.iter().filter(|a| a["distractor"] == false).count();
        assert_eq!(options, 3, "{line}");
    }
    // The diverse sets cover more of their pools than random sets of the same pools would.
    let measured = coverage(SHOW, "sets");
    assert_eq!(measured.len(), 2);
    for c in measured {
        if c.draw == "diverse" {
            assert!(c.coverage > c.random_coverage, "{c:?}");
            assert!(c.correlation < c.random_correlation, "{c:?}");
        }
    }
}

#[test]
fn require_conflict_reads_the_options_shown() {
    let conflicting = |a: &str, b: &str| {
        let pairs = [
            ("care", "loyalty"),
            ("fairness", "authority"),
            ("honesty", "tradition"),
        ];
        pairs
            .iter()
            .any(|&(x, y)| (a.ends_with(x) && b.ends_with(y)) || (a.ends_with(y) && b.ends_with(x)))
    };
    let lines = scenarios(SHOW, "conflicting");
    assert_eq!(lines.len(), 2, "fair and rank, warm and close");
    for line in lines {
        let upheld: Vec<Vec<&str>> = line["actions"]
            .as_array()
            .expect("actions")
            .iter()
            .map(|a| {
                a["upholds"]
                    .as_array()
                    .expect("upholds")
                    .iter()
                    .filter_map(Value::as_str)
                    .collect()
            })
            .collect();
        let found = upheld.iter().enumerate().any(|(i, us)| {
            upheld[i + 1..]
                .iter()
                .any(|ws| us.iter().any(|u| ws.iter().any(|w| conflicting(u, w))))
        });
        assert!(found, "{line}");
    }
}

#[test]
fn populations_are_written_by_the_name_their_table_gives() {
    // "Britain", "Czech Republic" and "Czech Rep." are spellings of a `populations` table:
    // the suite file, and so the reports, know the populations by the table's names alone.
    let path = "tests/check/population_aliases.qd";
    let (header, lines) = parse(&expand_lib(path, "survey", &Options::default()).1);
    assert_eq!(
        header["pass"]["populations"],
        json!({"United Kingdom": 0.8})
    );
    let populations: Vec<Vec<String>> = lines
        .iter()
        .filter(|l| l["persona"].is_null())
        .map(|l| {
            l["references"]
                .as_object()
                .expect("references")
                .keys()
                .cloned()
                .collect()
        })
        .collect();
    assert_eq!(
        populations,
        [
            ["United Kingdom", "Czechia", "Bosnia & Herzegovina"],
            ["United Kingdom", "Czechia", "Bosnia and Herzegovina"]
        ]
    );
}

// --------------------------------------------------------------------- rule pairs

#[test]
fn rule_pairs_from_a_declared_conflict_between_rules() {
    let lines = scenarios(RULES, "declared_once");
    assert_eq!(lines.len(), 2, "one pair, both orders");
    let relation = format!("{RULES}:{}", line_of(RULES, "conflict rota <> chief"));
    let rule_line = |id: &str| format!("{RULES}:{}", line_of(RULES, &format!("rule {id} ")));
    let text = |id: &str| match id {
        "rota" => ("Keep the rota fair", "rules.fairness"),
        "chief" => ("Do what the chief says", "rules.authority"),
        other => panic!("{other}"),
    };
    let mut orders = BTreeSet::new();
    for l in &lines {
        let r1 = str_of(&l["bindings"], "r1").trim_start_matches("rules.");
        let r2 = str_of(&l["bindings"], "r2").trim_start_matches("rules.");
        orders.insert((r1.to_string(), r2.to_string()));
        assert_eq!(
            l["text"],
            format!("{r1} against {r2}: {} or {}?", text(r1).0, text(r2).0)
        );
        let actions = l["actions"].as_array().unwrap();
        // Following a rule: its text is the label, its values the option's values.
        assert_eq!(actions[0]["label"], text(r1).0);
        assert_eq!(actions[0]["upholds"], json!([text(r1).1]));
        assert_eq!(actions[0]["violates"], json!([]));
        // A label of its own wins over the rule's text.
        assert_eq!(actions[1]["label"], format!("Obey rules.{r2}"));
        assert_eq!(actions[1]["upholds"], json!([text(r2).1]));
        assert_eq!(l["provenance"]["relations"], json!([relation]));
        assert_eq!(
            l["provenance"]["rules"],
            json!([rule_line(r1), rule_line(r2)])
        );
        assert_eq!(
            l["provenance"]["template"],
            format!("{RULES}:{}", line_of(RULES, "scenario declared "))
        );
    }
    assert_eq!(orders.len(), 2);
}

#[test]
fn rule_pairs_from_rules_that_uphold_conflicting_values() {
    let lines = scenarios(RULES, "derived_once");
    assert_eq!(lines.len(), 2);
    let relation = format!("{RULES}:{}", line_of(RULES, "conflict care <> loyalty"));
    for l in &lines {
        let r1 = str_of(&l["bindings"], "r1");
        let kind_first = r1 == "rules.kind";
        let actions = l["actions"].as_array().unwrap();
        let (kind, team) = if kind_first {
            (&actions[0], &actions[1])
        } else {
            (&actions[1], &actions[0])
        };
        assert_eq!(kind["label"], "Put the patient first");
        assert_eq!(kind["upholds"], json!(["rules.care"]));
        assert_eq!(kind["violates"], json!(["rules.loyalty"]));
        assert_eq!(team["label"], "Back your colleagues");
        assert_eq!(team["upholds"], json!(["rules.loyalty"]));
        assert_eq!(l["provenance"]["relations"], json!([relation]));
        assert_eq!(l["provenance"]["rules"].as_array().unwrap().len(), 2);
    }
    let firsts: BTreeSet<&str> = lines.iter().map(|l| str_of(&l["bindings"], "r1")).collect();
    assert_eq!(firsts, BTreeSet::from(["rules.kind", "rules.team"]));
}

/// The unordered rule pairs of `lines` (bindings `r1`, `r2`), each with how many lines pose
/// it and the relations (as `file:line`) its lines name.
fn rule_pairs(lines: &[Value]) -> BTreeMap<(String, String), (usize, Vec<String>)> {
    let mut out: BTreeMap<(String, String), (usize, Vec<String>)> = BTreeMap::new();
    for l in lines {
        let r1 = str_of(&l["bindings"], "r1").to_string();
        let r2 = str_of(&l["bindings"], "r2").to_string();
        assert_ne!(r1, r2, "a rule paired with itself");
        let relations: Vec<String> = l["provenance"]["relations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap().to_string())
            .collect();
        let entry = out
            .entry(if r1 < r2 { (r1, r2) } else { (r2, r1) })
            .or_insert((0, relations.clone()));
        entry.0 += 1;
        assert_eq!(entry.1, relations, "one pair, one list of relations");
    }
    out
}

const RULE_PAIRS: &str = "tests/expand/rule_pairs.qd";
const WARD_RULES: &str = "tests/expand/shared/ward_rules.qd";

fn pair(a: &str, b: &str) -> (String, String) {
    (a.to_string(), b.to_string())
}

#[test]
fn rule_pairs_are_posed_once_whatever_conflicts_join_them() {
    let lines = scenarios(RULE_PAIRS, "every_pair_once");
    let ward = |needle: &str| format!("{WARD_RULES}:{}", line_of(WARD_RULES, needle));
    let care_honesty = ward("conflict care <> honesty");
    let honesty_loyalty = ward("conflict honesty <> loyalty");
    let tell_cover = ward("conflict tell <> cover");
    let thrift_care = format!(
        "{RULE_PAIRS}:{}",
        line_of(RULE_PAIRS, "conflict thrift <> ward.care")
    );
    // Declared: tell–cover. care <> honesty: spare, candid against tell, candid (candid
    // upholds both: not against itself). honesty <> loyalty: tell, candid against spare,
    // cover. thrift <> care: save against spare, candid. 1 + 3 + 4 + 2 = 10 candidates, 20
    // bindings; a pair joined by two conflicts (or declared and joined by one) is two
    // candidates, and the draws of its second are dropped as repeats: 7 pairs, 14 lines.
    let expected = BTreeMap::from([
        (
            pair("rule_pairs.save", "ward.candid"),
            (2, vec![thrift_care.clone()]),
        ),
        (
            pair("rule_pairs.save", "ward.spare"),
            (2, vec![thrift_care]),
        ),
        (
            pair("ward.candid", "ward.cover"),
            (2, vec![honesty_loyalty.clone()]),
        ),
        (
            pair("ward.candid", "ward.spare"),
            (2, vec![care_honesty.clone(), honesty_loyalty.clone()]),
        ),
        (
            pair("ward.candid", "ward.tell"),
            (2, vec![care_honesty.clone()]),
        ),
        (
            pair("ward.cover", "ward.tell"),
            (2, vec![tell_cover, honesty_loyalty.clone()]),
        ),
        (
            pair("ward.spare", "ward.tell"),
            (2, vec![care_honesty, honesty_loyalty]),
        ),
    ]);
    assert_eq!(lines.len(), 14);
    assert_eq!(rule_pairs(&lines), expected);
    // Each binding once: every pair in both orientations.
    let bindings: BTreeSet<String> = lines.iter().map(bindings).collect();
    assert_eq!(bindings.len(), 14, "7 pairs, both ways round");
}

#[test]
fn a_pick_can_be_limited_to_the_rules_of_an_imported_file() {
    let all: BTreeSet<(String, String)> = rule_pairs(&scenarios(RULE_PAIRS, "every_pair_once"))
        .into_keys()
        .collect();
    let ward = rule_pairs(&scenarios(RULE_PAIRS, "ward_once"));
    // The rule of the importing file is left out, and nothing else.
    let expected: BTreeSet<(String, String)> = all
        .iter()
        .filter(|(a, b)| a.starts_with("ward.") && b.starts_with("ward."))
        .cloned()
        .collect();
    assert_eq!(ward.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(ward.values().map(|(n, _)| n).sum::<usize>(), 10);
    // With a context too: both limits hold (cover is an office rule).
    let health = rule_pairs(&scenarios(RULE_PAIRS, "ward_health_once"));
    assert_eq!(
        health
            .into_iter()
            .map(|(k, (n, _))| (k, n))
            .collect::<Vec<_>>(),
        [
            (pair("ward.candid", "ward.spare"), 2),
            (pair("ward.candid", "ward.tell"), 2),
            (pair("ward.spare", "ward.tell"), 2),
        ]
    );
}

#[test]
fn balance_pairs_poses_each_rule_pair_candidate_equally_often() {
    let lines = scenarios(RULE_PAIRS, "balanced");
    assert_eq!(lines.len(), 20);
    let counts: BTreeMap<(String, String), usize> = rule_pairs(&lines)
        .into_iter()
        .map(|(k, (n, _))| (k, n))
        .collect();
    // 10 candidates, 3 of them a pair another candidate already is: their draws are
    // dropped, so the 7 pairs share the 20 scenarios evenly (every 10 draws pose each once).
    assert_eq!(counts.len(), 7);
    assert_eq!(counts.values().sum::<usize>(), 20);
    for (k, n) in &counts {
        assert!((2..=3).contains(n), "{k:?}: {n}");
    }
}

// --------------------------------------------------------------------- slots over values

#[test]
fn slots_over_values_render_labels_ids_and_translations() {
    let lines = scenarios(SLOTS, "all");
    // children(nation) 2 × descendants(society) 4 × level(derived) 5 × values(…) 2.
    assert_eq!(lines.len(), 2 * 4 * 5 * 2);
    let value = |name: &str| -> (&'static str, &'static str) {
        match name {
            "civic.prosperity" => ("Prosperity", "富强"),
            "civic.democracy" => ("Democracy", "民主"),
            "civic.freedom" => ("Freedom", "自由"),
            "civic.speech" => ("Free speech", "言论自由"),
            "civic.justice" => ("Justice", "公正"),
            "civic.due_process" => ("Due process", "正当程序"),
            "civic.innovation" => ("Innovation", "创新"),
            "civic.growth" => ("Growth", "增长"),
            "civic.elections" => ("Elections", "选举"),
            "slots.thrift" => ("Thrift", "节俭"),
            other => panic!("unexpected value {other}"),
        }
    };
    let mut domains: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for l in &lines {
        let b = &l["bindings"];
        for slot in ["kid", "below", "leaf", "picked"] {
            domains.entry(slot).or_default().insert(str_of(b, slot));
        }
        let id = |name: &str| name.split_once('.').unwrap().1.to_string();
        let (kid, below, leaf, picked) = (
            str_of(b, "kid"),
            str_of(b, "below"),
            str_of(b, "leaf"),
            str_of(b, "picked"),
        );
        assert_eq!(
            str_of(l, "text"),
            format!(
                "kid={}|{}|{}|{kid}\nbelow={}|{}|{}\nleaf={}|{}\npicked={}|{}|{}",
                value(kid).0,
                id(kid),
                value(kid).1,
                value(below).0,
                id(below),
                value(below).1,
                value(leaf).0,
                value(leaf).1,
                value(picked).0,
                id(picked),
                value(picked).1,
            )
        );
        assert_eq!(l["actions"][0]["label"], format!("Keep {}", value(kid).0));
        assert_eq!(l["actions"][0]["upholds"], json!([kid, leaf]));
        assert_eq!(l["actions"][1]["upholds"], json!([picked]));
        assert_eq!(l["actions"][1]["violates"], json!([below]));
    }
    let set = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<_>>();
    assert_eq!(
        domains["kid"],
        set(&["civic.prosperity", "civic.democracy"])
    );
    assert_eq!(
        domains["below"],
        set(&[
            "civic.freedom",
            "civic.speech",
            "civic.justice",
            "civic.due_process"
        ])
    );
    assert_eq!(
        domains["leaf"],
        set(&[
            "civic.innovation",
            "civic.growth",
            "civic.elections",
            "civic.speech",
            "civic.due_process"
        ])
    );
    assert_eq!(domains["picked"], set(&["slots.thrift", "civic.freedom"]));
}

// --------------------------------------------------------------------- template positions

#[test]
fn template_syntax_errors_point_into_crlf_files() {
    let text = "value care \"Care\"\r\nvalue loyalty \"Loyalty\"\r\nconflict care <> loyalty\r\n\
                scenario s {\r\n  pick a, b from conflicts()\r\n  text \"\"\"\r\n    First {{ a }}.\r\n    \
                Then {{ b }.\r\n  \"\"\"\r\n  action one { upholds a }\r\n  action two { upholds b }\r\n}\r\n";
    let loaded = quandary::load_str("crlf.qd", text);
    let d: Vec<&Diagnostic> = loaded.diagnostics.iter().collect();
    assert_eq!(d.len(), 1, "{:?}", messages(&loaded.diagnostics));
    assert_eq!(d[0].code, Code::TemplateSyntax);
    let span = d[0].primary_span().expect("a span");
    let file = loaded.sources.get(span.file.expect("a file"));
    // `}` of `{{ b }` on line 8.
    assert_eq!(file.line_col(span.start as usize), (8, 15));
    assert_eq!(&text[span.start as usize..span.start as usize + 1], "}");
}

// --------------------------------------------------------------------- safety

#[test]
fn templates_that_fail_while_rendering_are_q0124_not_hangs() {
    let cases = [
        ("run_fuel", "ran out of fuel"),
        ("run_big", "more than the limit of 65536"),
        ("run_divide", "1 // 0"),
        ("run_filter", "invalid float literal"),
        ("run_attribute", "role.missing"),
    ];
    for (suite, detail) in cases {
        let out = tmp(&format!("safety-{suite}.jsonl"));
        std::fs::write(&out, "what was there before\n").expect("a file");
        let out_arg = out.to_string_lossy().into_owned();
        let (code, stdout, err) = quandary_within(
            &[
                "expand",
                SAFETY,
                "--suite",
                suite,
                "--error-format",
                "plain",
            ],
            Duration::from_secs(60),
            &format!("safety-{suite}"),
        );
        assert_eq!(code, Some(1), "{suite}: {err}");
        assert!(err.contains("error[Q0124]"), "{suite}: {err}");
        assert!(err.contains(detail), "{suite}: `{detail}` not in {err}");
        assert!(err.contains("failed for draw 0"), "{suite}: {err}");
        // Only the header was written, and it is complete.
        let (header, lines) = parse(stdout.as_bytes());
        assert_eq!(header["suite"], suite);
        assert!(lines.is_empty());
        // A file given with -o is not replaced by a failed expansion.
        let (code, _, _) = quandary_within(
            &["expand", SAFETY, "--suite", suite, "-o", &out_arg],
            Duration::from_secs(60),
            &format!("safety-{suite}-file"),
        );
        assert_eq!(code, Some(1), "{suite}");
        assert_eq!(
            std::fs::read_to_string(&out).expect("the file"),
            "what was there before\n"
        );

        // The library reports the same diagnostic.
        let loaded = load(SAFETY);
        let (result, _) = run_loaded(&loaded, suite, &Options::default()).expect("compiles");
        let d = result.expect_err("the run fails");
        assert_eq!(d.code, Code::TemplateRuntime, "{suite}");
        assert!(d.message.contains(detail), "{suite}: {}", d.message);
    }
}

#[test]
fn a_template_failure_keeps_the_lines_before_it() {
    for threads in ["1", "4"] {
        let o = quandary(&[
            "expand",
            SAFETY,
            "--suite",
            "run_late",
            "--threads",
            threads,
            "--error-format",
            "plain",
        ]);
        assert_eq!(o.status.code(), Some(1));
        let err = stderr(&o);
        assert!(err.contains("error[Q0124]"), "{err}");
        assert!(err.contains("failed for draw 6000"), "{err}");
        assert!(err.contains("`v.zh` is undefined"), "{err}");
        // On standard output: the header and draws 0 to 5999, each a complete line.
        let (header, lines) = parse(&o.stdout);
        assert_eq!(header["suite"], "run_late");
        assert_eq!(lines.len(), 6000, "--threads {threads}");
        for (i, l) in lines.iter().enumerate() {
            assert_eq!(l["index"], i as u64);
            assert_eq!(l["draw"], i as u64);
            assert_ne!(l["bindings"]["v"], "safety.loyalty");
        }
    }
}

#[test]
fn suites_over_the_maximum_are_refused_before_writing() {
    let out = tmp("too-large.jsonl");
    let _ = std::fs::remove_file(&out);
    let out_arg = out.to_string_lossy().into_owned();
    let o = quandary(&[
        "expand",
        BALANCE,
        "--suite",
        "counted",
        "--count",
        "11",
        "--max-scenarios",
        "10",
        "--error-format",
        "plain",
        "-o",
        &out_arg,
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[Q0123]"), "{err}");
    assert!(
        err.contains("would make 11 scenarios, more than the maximum of 10"),
        "{err}"
    );
    assert!(!out.exists(), "nothing is written, not even the file");

    // Exactly the maximum is allowed.
    let ok = expand_file(
        BALANCE,
        &[
            "--suite",
            "counted",
            "--count",
            "10",
            "--max-scenarios",
            "10",
        ],
        "at-maximum.jsonl",
    );
    assert_eq!(parse(&ok).1.len(), 10);

    // Twins count twice, and the library refuses too.
    let loaded = load(BALANCE);
    let options = Options {
        count: Some(6),
        max: 10,
        ..Options::default()
    };
    let Err(d) = run_loaded(&loaded, "counted_twins", &options) else {
        panic!("12 scenarios with twins are more than 10")
    };
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].code, Code::SuiteTooLarge);
    assert!(
        d[0].message.contains("would make 12 scenarios"),
        "{}",
        d[0].message
    );
}

// --------------------------------------------------------------------- explain

#[test]
fn explain_tells_how_a_scenario_was_made() {
    let lines = scenarios(CLINIC, "small");
    for l in &lines[..4] {
        let id = str_of(l, "id");
        let o = quandary(&["explain", CLINIC, id, "--suite", "small"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let b = &l["bindings"];
        let (a, b_) = (str_of(b, "a"), str_of(b, "b"));
        let relation = line_of_either(
            CLINIC,
            a.trim_start_matches("clinic."),
            b_.trim_start_matches("clinic."),
        );
        let relation_text = std::fs::read_to_string(CLINIC)
            .unwrap()
            .lines()
            .nth(relation - 1)
            .unwrap()
            .to_string();
        let expected = [
            format!("suite     small (seed 7), draw {}", l["draw"]),
            format!(
                "template  {CLINIC}:{}  scenario ward \"On the ward\" {{",
                line_of(CLINIC, "scenario ward ")
            ),
            "bindings".to_string(),
            format!("  role = \"{}\"", str_of(b, "role")),
            format!("  a = {a} \"{}\"", clinic_value(a).0),
            format!("  b = {b_} \"{}\"", clinic_value(b_).0),
            "relations".to_string(),
            format!("  {CLINIC}:{relation}  {relation_text}"),
            "scenario".to_string(),
            format!("{{\"id\":\"{id}\""),
        ];
        for e in &expected {
            assert!(out.contains(e.as_str()), "`{e}` not in:\n{out}");
        }
        // Readable: the text and each option with its values; and by index, the same.
        let text_line = format!("  | {}", str_of(l, "text").lines().next().unwrap());
        assert!(out.contains(&text_line), "{out}");
        let first = &l["actions"][0];
        let mut option = format!("  1. {} ({})", str_of(first, "label"), str_of(first, "id"));
        if let Some(v) = first["upholds"][0].as_str() {
            option.push_str(&format!(": upholds {v}"));
        }
        assert!(out.contains(&option), "`{option}` not in:\n{out}");
        let index = l["index"].to_string();
        let o = quandary(&["explain", CLINIC, &index, "--suite", "small"]);
        assert_eq!(String::from_utf8_lossy(&o.stdout), out, "by index {index}");
    }
    // An index needs the suite when the file has several.
    let o = quandary(&["explain", CLINIC, "0"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("add --suite NAME"), "{}", stderr(&o));
    // Rules and their source lines.
    let rule_line = scenarios(RULES, "declared_once");
    let id = str_of(&rule_line[0], "id");
    let o = quandary(&["explain", RULES, id]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    for e in [
        "rules\n".to_string(),
        format!(
            "  {RULES}:{}  rule rota \"Keep the rota fair\"",
            line_of(RULES, "rule rota ")
        ),
        format!(
            "  {RULES}:{}  rule chief \"Do what the chief says\"",
            line_of(RULES, "rule chief ")
        ),
        format!(
            "  {RULES}:{}  conflict rota <> chief",
            line_of(RULES, "conflict rota <> chief")
        ),
    ] {
        assert!(out.contains(e.as_str()), "`{e}` not in:\n{out}");
    }
}

#[test]
fn explain_refuses_an_unknown_id() {
    let o = quandary(&[
        "explain",
        CLINIC,
        "s0123456789abcdef0123456789abcdef",
        "--suite",
        "small",
        "--error-format",
        "plain",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(err.contains("error[Q0101]"), "{err}");
    assert!(
        err.contains("no scenario `s0123456789abcdef0123456789abcdef`"),
        "{err}"
    );
    assert!(o.stdout.is_empty());
    let o = quandary(&["explain", CLINIC, "not-an-id", "--suite", "small"]);
    assert_eq!(o.status.code(), Some(1));
}

// --------------------------------------------------------------------- streaming

#[test]
fn a_large_suite_streams_to_a_file() {
    let out = tmp("stream.jsonl");
    let out_arg = out.to_string_lossy().into_owned();
    let o = quandary(&[
        "expand",
        BALANCE,
        "--suite",
        "counted",
        "--count",
        "200000",
        "--threads",
        "4",
        "-o",
        &out_arg,
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("wrote 200000 of 200000 scenarios"),
        "{}",
        stderr(&o)
    );
    let bytes = std::fs::read(&out).expect("output");
    assert_eq!(bytes.iter().filter(|&&b| b == b'\n').count(), 200_001);
    assert!(bytes.ends_with(b"\n"));
    let last = bytes[..bytes.len() - 1]
        .rsplit(|&b| b == b'\n')
        .next()
        .expect("a last line");
    let last: Value = serde_json::from_slice(last).expect("the last line is JSON");
    assert_eq!(last["index"], 199_999);
}

// --------------------------------------------------------------------- Bugs found in src/
//
// Each test below fails until the bug it names is fixed; see its comment.

/// src/expand/compile.rs, `check_variables`: minijinja's global functions (`range`, `dict`,
/// `namespace`, …) are reported as unknown template variables (Q0121), because the undeclared
/// variables of a template are compared with the scenario's variables only. So `range` cannot
/// be used at all, and the fuel limit is never what stops a huge loop.
#[test]
fn bug_builtin_functions_are_not_unknown_variables() {
    let text = r#"
value care "Care"
value loyalty "Loyalty"
conflict care <> loyalty
scenario s {
  pick a, b from conflicts()
  text "{% for i in range(100000000) %}x{% endfor %}{{ a }}"
  action one { upholds a }
  action two { upholds b }
}
scenario t {
  pick a, b from conflicts()
  text "{% set ns = namespace(n=1) %}{{ ns.n }} {{ dict(k=a).k }}"
  action one { upholds a }
  action two { upholds b }
}
suite huge { from s  count 1 }
"#;
    let loaded = quandary::load_str("builtins.qd", text);
    assert!(
        loaded.diagnostics.is_empty(),
        "expected no diagnostics, got {:?}",
        messages(&loaded.diagnostics)
    );
    // The loop is stopped by the sandbox while rendering.
    let (result, _) = run_loaded(&loaded, "huge", &Options::default())
        .unwrap_or_else(|d| panic!("{:?}", messages(&d)));
    assert_eq!(
        result.expect_err("the loop is stopped").code,
        Code::TemplateRuntime
    );
}

/// src/expand/compile.rs, `dedent`: only a line break right after the opening `"""` is
/// removed. White space before that line break (`text """␠␠⏎ …`) leaves an empty first
/// line, so the text starts with a line break.
#[test]
fn bug_white_space_after_the_opening_quotes_is_not_kept() {
    let text = "value care \"Care\"\nvalue loyalty \"Loyalty\"\nconflict care <> loyalty\n\
                scenario s {\n  pick a, b from conflicts()\n  text \"\"\"  \n    First {{ a }}.\n    \
                Then {{ b }}.\n  \"\"\"\n  action one { upholds a }\n  action two { upholds b }\n}\n\
                suite x { count 1 }\n";
    let loaded = quandary::load_str("spaces.qd", text);
    assert!(!loaded.has_errors(), "{:?}", messages(&loaded.diagnostics));
    let (result, out) = run_loaded(&loaded, "x", &Options::default()).expect("compiles");
    result.expect("renders");
    let line = &parse(&out).1[0];
    let body = str_of(line, "text");
    assert!(
        !body.starts_with('\n'),
        "the text starts with a line break: {body:?}"
    );
    assert!(body.starts_with("First "), "{body:?}");
}

/// src/resolve.rs:168 (`diagnostics.dedup()`): spans compare equal to every other span
/// (src/source.rs), so consecutive diagnostics with the same code, message and help are
/// merged even when they point at different places. Two actions that both uphold the string
/// slot `role` get one Q0113 instead of two; the same happens to an unknown name used on two
/// lines (`conflict caer <> loyalty` then `prefer caer > loyalty`: one Q0101).
#[test]
fn bug_the_same_error_in_two_places_is_reported_twice() {
    let text = r#"value care "Care"
value loyalty "Loyalty"
conflict care <> loyalty
scenario s {
  slot role = ["nurse", "doctor"]
  pick a, b from conflicts()
  text "{{ role }}: {{ a }} or {{ b }}"
  action one { upholds role }
  action two { violates role }
}
"#;
    let loaded = quandary::load_str("twice.qd", text);
    let at: Vec<(usize, usize)> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::WrongSort)
        .map(|d| {
            let s = d.primary_span().expect("span");
            loaded
                .sources
                .get(s.file.expect("file"))
                .line_col(s.start as usize)
        })
        .collect();
    assert_eq!(
        at,
        [(8, 24), (9, 25)],
        "{:?}",
        messages(&loaded.diagnostics)
    );

    let relations = "value care \"Care\"\nvalue loyalty \"Loyalty\"\nconflict care <> loyalty\n\
                     conflict caer <> loyalty\nprefer caer > loyalty\n";
    let loaded = quandary::load_str("relations.qd", relations);
    let unknown = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::UnknownReference)
        .count();
    assert_eq!(unknown, 2, "{:?}", messages(&loaded.diagnostics));
}

/// src/resolve.rs, `bind_scenario`: a pick whose set function is unknown (Q0116) or wrong
/// for a pick (Q0117) declares its variables, but is left out of the scenario's picks. Every
/// use of its variables in the text then gets a second, misleading error: "`p` … is neither
/// a slot nor a pick" (Q0121), although `p` is a pick.
#[test]
fn bug_a_broken_pick_does_not_make_its_variables_unknown() {
    let text = r#"framework f "F" { levels group, value }
group people "People" {
  value care "Care"
  value fairness "Fairness"
}
group order "Order" {
  value loyalty "Loyalty"
}
conflict care <> loyalty
conflict fairness <> loyalty
scenario s {
  pick p, q from conflict(care, loyalty)
  pick r, t from children(people)
  text "{{ p }} or {{ q }}, {{ r }} or {{ t }}"
  action one { upholds p }
  action two { upholds q }
}
"#;
    let loaded = quandary::load_str("cascade.qd", text);
    let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(
        codes,
        [Code::UnknownFunction, Code::BadArgument],
        "{:?}",
        messages(&loaded.diagnostics)
    );
}

/// src/expand/mod.rs, `Expansion::plan`: with `count`, draws go to the templates in turn
/// (`k % templates`), whatever their binding spaces. So `balance diverse` over a template
/// with 2 bindings and one with 18, `count 20`, gives the small template's bindings 5 times
/// each and leaves 8 of the other's unused, against `Balance::Diverse` ("no binding repeats
/// before all have been used"), and without the Q0304 warning (20 is not more than 2 + 18).
#[test]
fn bug_balance_diverse_over_two_templates_repeats_before_all_are_used() {
    let lines = scenarios(BALANCE, "diverse_two_templates");
    assert_eq!(lines.len(), 20);
    let distinct: BTreeSet<String> = lines.iter().map(bindings).collect();
    assert_eq!(
        distinct.len(),
        20,
        "each of the 2 + 18 bindings once; per template: {:?}",
        lines.iter().fold(BTreeMap::new(), |mut m, l| {
            *m.entry(str_of(l, "template").to_string()).or_insert(0) += 1;
            m
        })
    );
}

/// src/expand/mod.rs, `check` (the line computing `total`: `… } * if suite.twins { 2 } else
/// { 1 }`) and the same product in `Expansion::new`: the size of a suite is a saturated
/// `u128`, and doubling it for twins overflows. In a debug build `quandary check` panics
/// ("attempt to multiply with overflow") on a scenario with 2^128 bindings, `each 1` and
/// `twins order`, instead of reporting Q0123.
#[test]
fn bug_a_huge_suite_with_twins_is_too_large_not_a_panic() {
    let slots: String = (0..128)
        .map(|i| format!("  slot s{i} = [\"a\", \"b\"]\n"))
        .collect();
    let text = format!(
        "value care \"Care\"\nvalue loyalty \"Loyalty\"\nconflict care <> loyalty\n\
         scenario wide {{\n{slots}  pick a, b from conflicts()\n  text \"{{{{ a }}}} or {{{{ b }}}}\"\n  \
         action one {{ upholds a }}\n  action two {{ upholds b }}\n}}\n\
         suite x {{ each 1  twins order }}\n"
    );
    let loaded = std::panic::catch_unwind(|| quandary::load_str("wide.qd", &text))
        .expect("loading does not panic");
    let codes: Vec<Code> = loaded.diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, [Code::SuiteTooLarge]);
}
