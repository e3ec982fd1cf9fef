//! `quandary export` through the built binary: a small suite (tests/export/ward.qd, twins
//! on, a distractor in every scenario) and a profile agent's answers are exported to each
//! format, and every file is read back with a reader of that format's shape: Inspect's
//! `Sample` fields, lm-eval's task keys, promptfoo's test case keys, TRL's preference columns.
//! The prompts are compared with what `eval` sends ([`Presentation`]), the targets with the
//! recorded choices, and a second export with the first, byte for byte. Then the errors.
//!
//! With `QUANDARY_INSPECT_PYTHON` naming a Python that has `inspect_ai` (`scripts/test` installs
//! one in `.venv-inspect/`), the Inspect dataset is also loaded with Inspect's own
//! `json_dataset`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use quandary::eval::{Presentation, ScenarioLine};
use serde::Deserialize;
use serde_json::Value;

#[path = "support/cli.rs"]
mod cli;

use cli::in_root as run;

#[path = "support/tools.rs"]
mod tools;

const WARD: &str = "tests/export/ward.qd";
const SURVEY: &str = "tests/export/survey.qd";

// --------------------------------------------------------------------- helpers

fn scratch(test: &str) -> PathBuf {
    cli::scratch(&format!("export_{test}"))
}

/// Runs the binary; it must succeed. Returns (stdout, stderr).
fn ok(args: &[&str]) -> (String, String) {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "quandary {}: {stderr}",
        args.join(" ")
    );
    (String::from_utf8_lossy(&out.stdout).into_owned(), stderr)
}

/// Runs the binary; it must fail with exit code 1 and a diagnostic, not a panic. Returns
/// stderr.
fn fails(args: &[&str]) -> String {
    let out = run(args);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(1),
        "quandary {}: {stderr}",
        args.join(" ")
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.contains("error"), "{stderr}");
    stderr
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// The ward suite (8 scenarios: 4 draws and their twins) and the `nurse` profile's answers,
/// plain and under the steer `loyal`.
fn ward(dir: &Path) -> (PathBuf, PathBuf) {
    let suite = dir.join("night.jsonl");
    let results = dir.join("night.results.jsonl");
    ok(&["expand", WARD, "-o", s(&suite)]);
    ok(&[
        "eval",
        s(&suite),
        "--adapter",
        "profile",
        "--steer",
        "loyal",
        "-o",
        s(&results),
    ]);
    (suite, results)
}

/// The suite's scenarios, as `eval` reads them, and the actions flagged as distractors.
fn scenarios(suite: &Path) -> Vec<(ScenarioLine, Vec<bool>)> {
    std::fs::read_to_string(suite)
        .expect("the suite")
        .lines()
        .skip(1)
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a scenario");
            let distractors = v["actions"]
                .as_array()
                .expect("actions")
                .iter()
                .map(|a| a["distractor"].as_bool().expect("a flag"))
                .collect();
            (serde_json::from_str(l).expect("a scenario"), distractors)
        })
        .collect()
}

/// The latest choice per scenario index of the run under `steer`.
fn choices(results: &Path, steer: Option<&str>) -> BTreeMap<u64, String> {
    let mut out = BTreeMap::new();
    for line in std::fs::read_to_string(results)
        .expect("the results")
        .lines()
        .skip(1)
    {
        let r: Value = serde_json::from_str(line).expect("a result");
        if r["steer"].as_str() == steer {
            out.insert(
                r["index"].as_u64().expect("an index"),
                r["choice"].as_str().expect("a choice").to_string(),
            );
        }
    }
    out
}

/// `A`, `B`, … for a position.
fn letter(position: usize) -> String {
    char::from(b'A' + position as u8).to_string()
}

fn lines<T: for<'de> Deserialize<'de>>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .expect("the export")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

// ------------------------------------------------------------------ the shapes read back

/// A chat message as Inspect, promptfoo and TRL read it.
#[derive(Deserialize, Debug, PartialEq, Clone)]
#[serde(deny_unknown_fields)]
struct Message {
    role: String,
    content: String,
}

/// Inspect's `Sample` fields, as `json_dataset` reads them by default.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Sample {
    input: Input,
    choices: Vec<String>,
    target: Option<String>,
    id: String,
    metadata: Metadata,
}

#[derive(Deserialize, Debug, PartialEq)]
#[serde(untagged)]
enum Input {
    Text(String),
    Messages(Vec<Message>),
}

#[derive(Deserialize, Debug)]
struct Metadata {
    scenario: String,
    index: u64,
    suite: String,
    suite_seed: u64,
    source_hash: String,
    seed: String,
    draw: u64,
    template: String,
    topic: Option<String>,
    bindings: BTreeMap<String, String>,
    twin_group: Option<String>,
    provenance: Value,
    presentation: String,
    steer: Option<String>,
    options: Vec<OptionMeta>,
    #[serde(default)]
    target: Option<String>,
    #[serde(default)]
    target_action: Option<String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct OptionMeta {
    label: String,
    action: String,
    text: String,
    upholds: Vec<String>,
    violates: Vec<String>,
    affects: Value,
    distractor: bool,
}

/// The keys of an lm-eval task YAML.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Task {
    task: String,
    dataset_path: String,
    dataset_kwargs: DatasetKwargs,
    test_split: String,
    output_type: String,
    doc_to_text: String,
    doc_to_choice: String,
    doc_to_target: String,
    description: Option<String>,
    metric_list: Vec<Metric>,
    metadata: BTreeMap<String, serde_yaml_ng::Value>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct DatasetKwargs {
    data_files: BTreeMap<String, String>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Metric {
    metric: String,
    aggregation: String,
    higher_is_better: bool,
}

/// An lm-eval document.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Doc {
    id: String,
    scenario: String,
    index: u64,
    template: String,
    topic: String,
    twin_group: String,
    prompt: String,
    choices: Vec<String>,
    options: Vec<String>,
    actions: Vec<String>,
    upholds: Vec<Vec<String>>,
    violates: Vec<Vec<String>>,
    target: usize,
}

/// A promptfoo configuration.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct PromptfooConfig {
    description: String,
    prompts: Vec<String>,
    providers: Vec<String>,
    tests: String,
}

/// A promptfoo test case.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct TestCase {
    description: String,
    vars: Vars,
    #[serde(default)]
    assert: Option<Vec<Assertion>>,
    metadata: Metadata,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Vars {
    messages: Vec<Message>,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Assertion {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

/// A row of TRL's conversational preference format, with the columns quandary adds.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Pair {
    prompt: Vec<Message>,
    chosen: Vec<Message>,
    rejected: Vec<Message>,
    scenario: String,
    index: u64,
    steer: Option<String>,
    chosen_action: String,
    rejected_action: String,
    chosen_label: String,
    rejected_label: String,
}

/// What `eval` sends for a scenario: the system prompt (if any) and the user message.
fn sent(p: &Presentation, steer: Option<&str>, scenario: &ScenarioLine) -> Vec<Message> {
    let mut out = Vec::new();
    if let Some(system) = p.system(steer) {
        out.push(Message {
            role: "system".into(),
            content: system,
        });
    }
    out.push(Message {
        role: "user".into(),
        content: p.prompt(scenario, &p.options(scenario)),
    });
    out
}

const LOYAL: &str = "Stand by your colleagues, whatever it costs.";

// ------------------------------------------------------------------------ Inspect

#[test]
fn inspect_samples_are_the_suite_as_eval_shows_it() {
    let dir = scratch("inspect");
    let (suite, _) = ward(&dir);
    let out = dir.join("night.inspect.jsonl");
    let (_, stderr) = ok(&["export", s(&suite), "--to", "inspect", "-o", s(&out)]);
    assert!(stderr.contains("wrote 8 samples to"), "{stderr}");
    let samples: Vec<Sample> = lines(&out);
    let suite_lines = scenarios(&suite);
    assert_eq!(samples.len(), 8);
    let plain = Presentation::default();
    let mut ids = std::collections::BTreeSet::new();
    for (sample, (scenario, distractors)) in samples.iter().zip(&suite_lines) {
        // No system prompt: the input is the user message, as a string.
        let prompt = plain.prompt(scenario, &plain.options(scenario));
        assert_eq!(sample.input, Input::Text(prompt));
        let texts: Vec<&str> = scenario.actions.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(sample.choices, texts);
        assert_eq!(sample.target, None);
        assert!(
            ids.insert(sample.id.clone()),
            "ids are unique: {}",
            sample.id
        );
        let m = &sample.metadata;
        assert_eq!(m.scenario, scenario.id);
        assert_eq!(m.index, scenario.index);
        assert_eq!((m.suite.as_str(), m.suite_seed), ("night", 7));
        assert!(m.source_hash.starts_with("xxh3-128:"));
        assert_eq!(m.seed.len(), 16);
        assert_eq!(m.draw, scenario.index / 2);
        assert_eq!(m.template, "night_shift");
        assert_eq!(m.topic.as_deref(), Some("health"));
        assert_eq!(m.twin_group, scenario.twin_group);
        assert!(m.twin_group.is_some());
        assert!(["junior doctor", "nurse", "porter"].contains(&m.bindings["role"].as_str()));
        assert!(m.bindings["a"].starts_with("ward."));
        assert!(
            m.provenance["template"]
                .as_str()
                .expect("a place")
                .starts_with(WARD)
        );
        assert_eq!(m.presentation, plain.fingerprint());
        assert_eq!(m.steer, None);
        assert_eq!(m.target_action, None);
        for (i, (o, a)) in m.options.iter().zip(&scenario.actions).enumerate() {
            assert_eq!(o.label, letter(i));
            assert_eq!(
                (o.action.as_str(), o.text.as_str()),
                (a.id.as_str(), a.label.as_str())
            );
            assert_eq!((&o.upholds, &o.violates), (&a.upholds, &a.violates));
            assert_eq!(o.distractor, distractors[i]);
            assert_eq!(o.affects, Value::Array(vec![]));
        }
    }
    // Twins: the same draw with the options in the other order.
    assert_eq!(
        samples[0].metadata.twin_group,
        samples[1].metadata.twin_group
    );
    let mut reversed = samples[0].choices.clone();
    reversed.reverse();
    assert_eq!(samples[1].choices, reversed);
    // The same export again: the same bytes, to a file and to standard output.
    let again = dir.join("again.jsonl");
    ok(&["export", s(&suite), "--to", "inspect", "-o", s(&again)]);
    let first = std::fs::read(&out).expect("the export");
    assert_eq!(first, std::fs::read(&again).expect("the export"));
    let (stdout, stderr) = ok(&["export", s(&suite), "--to", "inspect"]);
    assert_eq!(stdout.as_bytes(), first.as_slice());
    assert!(stderr.contains("to standard output"), "{stderr}");
}

#[test]
fn inspect_targets_are_the_recorded_choices_under_the_steer() {
    let dir = scratch("inspect_target");
    let (suite, results) = ward(&dir);
    let out = dir.join("night.inspect.jsonl");
    ok(&[
        "export",
        s(&suite),
        "--to",
        "inspect",
        "--steer",
        "loyal",
        "--target",
        s(&results),
        "-o",
        s(&out),
    ]);
    let samples: Vec<Sample> = lines(&out);
    assert_eq!(samples.len(), 8);
    let recorded = choices(&results, Some("loyal"));
    let plain = Presentation::default();
    for (sample, (scenario, _)) in samples.iter().zip(scenarios(&suite)) {
        // Under the steer, a system prompt applies: the input is the chat messages.
        assert_eq!(
            sample.input,
            Input::Messages(sent(&plain, Some(LOYAL), &scenario))
        );
        let choice = &recorded[&scenario.index];
        let position = scenario
            .actions
            .iter()
            .position(|a| a.id == *choice)
            .expect("an option");
        assert_eq!(sample.target.as_deref(), Some(letter(position).as_str()));
        assert_eq!(
            sample.metadata.target_action.as_deref(),
            Some(choice.as_str())
        );
        assert_eq!(sample.metadata.steer.as_deref(), Some("loyal"));
    }

    // A target run that chose no option for some scenarios, or never got to them: those are
    // left out and counted. Only the first three scenarios were answered, one of them
    // `unparsed` in the end (the journal's last line for it counts).
    let text = std::fs::read_to_string(&results).expect("the results");
    let mut partial: Vec<String> = text.lines().take(1 + 3 * 2).map(String::from).collect();
    let mut last: Value = serde_json::from_str(&partial[5]).expect("a result");
    assert_eq!(last["steer"], Value::Null);
    last["choice"] = "unparsed".into();
    last["position"] = Value::Null;
    partial.push(last.to_string());
    let partial_path = dir.join("partial.results.jsonl");
    std::fs::write(&partial_path, partial.join("\n") + "\n").expect("written");
    let (stdout, stderr) = ok(&[
        "export",
        s(&suite),
        "--to",
        "inspect",
        "--target",
        s(&partial_path),
    ]);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(
        stderr.contains("wrote 2 samples to standard output; 6 scenarios left out: the target run chose no option there"),
        "{stderr}"
    );
}

/// Inspect's own reader, when a Python with `inspect_ai` is at hand.
#[test]
fn inspect_reads_the_dataset() {
    let Some(python) = std::env::var_os("QUANDARY_INSPECT_PYTHON").filter(|p| !p.is_empty()) else {
        tools::skip(
            "inspect_reads_the_dataset",
            "QUANDARY_INSPECT_PYTHON does not name a Python with inspect_ai",
        );
        return;
    };
    let dir = scratch("inspect_real");
    let (suite, results) = ward(&dir);
    for steer in [None, Some("loyal")] {
        let out = dir.join("night.inspect.jsonl");
        let mut args = vec![
            "export",
            s(&suite),
            "--to",
            "inspect",
            "--target",
            s(&results),
        ];
        args.extend(["-o", s(&out)]);
        if let Some(st) = steer {
            args.extend(["--steer", st]);
        }
        ok(&args);
        let read = Command::new(&python)
            .arg("tests/export/load_inspect.py")
            .arg(&out)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("python runs");
        assert!(
            read.status.success(),
            "{}",
            String::from_utf8_lossy(&read.stderr)
        );
        let read: Value = serde_json::from_slice(&read.stdout).expect("json");
        let ours: Vec<Sample> = lines(&out);
        assert_eq!(read["count"], 8);
        let plain = Presentation::default();
        let recorded = choices(&results, steer);
        for ((sample, theirs), (scenario, _)) in ours
            .iter()
            .zip(read["samples"].as_array().expect("samples"))
            .zip(scenarios(&suite))
        {
            assert_eq!(theirs["id"], sample.id.as_str());
            assert_eq!(theirs["scenario"], scenario.id.as_str());
            let texts: Vec<&str> = scenario.actions.iter().map(|a| a.label.as_str()).collect();
            assert_eq!(theirs["choices"], serde_json::json!(texts));
            let messages: Vec<Message> =
                serde_json::from_value(theirs["messages"].clone()).expect("messages");
            assert_eq!(
                messages,
                sent(&plain, steer.map(|_| LOYAL), &scenario),
                "Inspect reads the prompt eval sends"
            );
            let position = scenario
                .actions
                .iter()
                .position(|a| a.id == recorded[&scenario.index])
                .expect("an option");
            assert_eq!(theirs["target"], letter(position).as_str());
        }
    }
}

// ------------------------------------------------------------------------ lm-eval

#[test]
fn lm_eval_task_and_documents() {
    let dir = scratch("lm_eval");
    let (suite, results) = ward(&dir);
    let out = dir.join("lm");
    let (_, stderr) = ok(&["export", s(&suite), "--to", "lm-eval", "-o", s(&out)]);
    let yaml_path = out.join("quandary_night.yaml");
    let data_path = out.join("quandary_night.jsonl");
    assert!(stderr.contains("wrote 8 documents to"), "{stderr}");
    let task: Task =
        serde_yaml_ng::from_str(&std::fs::read_to_string(&yaml_path).expect("the task"))
            .expect("a task");
    assert_eq!(task.task, "quandary_night");
    assert_eq!(task.dataset_path, "json");
    assert_eq!(task.dataset_kwargs.data_files["test"], s(&data_path));
    assert_eq!(task.test_split, "test");
    assert_eq!(task.output_type, "multiple_choice");
    assert_eq!(
        (
            task.doc_to_text.as_str(),
            task.doc_to_choice.as_str(),
            task.doc_to_target.as_str()
        ),
        ("prompt", "choices", "target")
    );
    assert_eq!(task.description, None);
    assert_eq!(task.metric_list.len(), 1);
    let m = &task.metric_list[0];
    assert_eq!(
        (
            m.metric.as_str(),
            m.aggregation.as_str(),
            m.higher_is_better
        ),
        ("acc", "mean", true)
    );
    assert_eq!(task.metadata["version"], serde_yaml_ng::Value::from(1.0));
    assert_eq!(task.metadata["suite"], serde_yaml_ng::Value::from("night"));

    let docs: Vec<Doc> = lines(&data_path);
    assert_eq!(docs.len(), 8);
    let plain = Presentation::default();
    for (doc, (scenario, _)) in docs.iter().zip(scenarios(&suite)) {
        assert_eq!(
            doc.prompt,
            plain.prompt(&scenario, &plain.options(&scenario))
        );
        // The model is asked for a label; lm-eval scores each label after the prompt.
        let labels: Vec<String> = (0..scenario.actions.len()).map(letter).collect();
        assert_eq!(doc.choices, labels);
        let texts: Vec<&str> = scenario.actions.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(doc.options, texts);
        let ids: Vec<&str> = scenario.actions.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(doc.actions, ids);
        let upholds: Vec<Vec<String>> =
            scenario.actions.iter().map(|a| a.upholds.clone()).collect();
        assert_eq!(doc.upholds, upholds);
        assert_eq!(doc.violates.len(), scenario.actions.len());
        // Without a target run the target is the first option shown.
        assert_eq!(doc.target, 0);
        assert_eq!(
            (doc.scenario.as_str(), doc.index),
            (scenario.id.as_str(), scenario.index)
        );
        assert_eq!(doc.id, format!("{}-{}", scenario.id, scenario.index));
        assert_eq!(
            (doc.template.as_str(), doc.topic.as_str()),
            ("night_shift", "health")
        );
        assert_eq!(
            Some(doc.twin_group.as_str()),
            scenario.twin_group.as_deref()
        );
    }

    // The same export again: the same bytes.
    let yaml = std::fs::read(&yaml_path).expect("the task");
    let data = std::fs::read(&data_path).expect("the documents");
    ok(&["export", s(&suite), "--to", "lm-eval", "-o", s(&out)]);
    assert_eq!(yaml, std::fs::read(&yaml_path).expect("the task"));
    assert_eq!(data, std::fs::read(&data_path).expect("the documents"));
    assert_eq!(
        std::fs::read_dir(&out).expect("the folder").count(),
        2,
        "no file left over"
    );

    // With a steer and a target run: the steer's text is the description (the system
    // message under --apply_chat_template) and the targets are the recorded positions.
    let steered = dir.join("lm-loyal");
    ok(&[
        "export",
        s(&suite),
        "--to",
        "lm-eval",
        "--steer",
        "loyal",
        "--target",
        s(&results),
        "-o",
        s(&steered),
    ]);
    let task: Task = serde_yaml_ng::from_str(
        &std::fs::read_to_string(steered.join("quandary_night_loyal.yaml")).expect("the task"),
    )
    .expect("a task");
    assert_eq!(task.task, "quandary_night_loyal");
    assert_eq!(task.description.as_deref(), Some(LOYAL));
    let docs: Vec<Doc> = lines(&steered.join("quandary_night_loyal.jsonl"));
    let recorded = choices(&results, Some("loyal"));
    for (doc, (scenario, _)) in docs.iter().zip(scenarios(&suite)) {
        assert_eq!(doc.actions[doc.target], recorded[&scenario.index]);
    }
}

// ---------------------------------------------------------------------- promptfoo

#[test]
fn promptfoo_tests_and_configuration() {
    let dir = scratch("promptfoo");
    let (suite, results) = ward(&dir);
    let out = dir.join("pf");
    let (_, stderr) = ok(&[
        "export",
        s(&suite),
        "--to",
        "promptfoo",
        "--target",
        s(&results),
        "-o",
        s(&out),
    ]);
    assert!(stderr.contains("wrote 8 test cases to"), "{stderr}");
    let config: PromptfooConfig = serde_yaml_ng::from_str(
        &std::fs::read_to_string(out.join("promptfooconfig.yaml")).expect("the config"),
    )
    .expect("a config");
    assert_eq!(config.prompts, ["{{ messages | dump }}"]);
    assert_eq!(config.providers, ["echo"]);
    assert_eq!(config.tests, "file://tests.yaml");
    assert!(
        config.description.contains("`night`"),
        "{}",
        config.description
    );
    let tests_text = std::fs::read_to_string(out.join("tests.yaml")).expect("the tests");
    let tests: Vec<TestCase> = serde_yaml_ng::from_str(&tests_text).expect("test cases");
    assert_eq!(tests.len(), 8);
    let plain = Presentation::default();
    let recorded = choices(&results, None);
    for (case, (scenario, _)) in tests.iter().zip(scenarios(&suite)) {
        assert_eq!(case.vars.messages, sent(&plain, None, &scenario));
        let position = scenario
            .actions
            .iter()
            .position(|a| a.id == recorded[&scenario.index])
            .expect("an option");
        let label = letter(position);
        let asserts = case.assert.as_ref().expect("an assertion");
        assert_eq!(asserts.len(), 1);
        assert_eq!(asserts[0].kind, "regex");
        assert_eq!(asserts[0].value, format!("^\\W*{label}\\W*$"));
        assert_eq!(case.metadata.target.as_deref(), Some(label.as_str()));
        assert_eq!(case.metadata.scenario, scenario.id);
        assert!(case.description.contains(&scenario.id));
        let texts: Vec<&str> = case
            .metadata
            .options
            .iter()
            .map(|o| o.text.as_str())
            .collect();
        let suite_texts: Vec<&str> = scenario.actions.iter().map(|a| a.label.as_str()).collect();
        assert_eq!(texts, suite_texts);
    }

    // Without a target: no assertion. Under the steer: a system message first.
    let plain_out = dir.join("pf-loyal");
    ok(&[
        "export",
        s(&suite),
        "--to",
        "promptfoo",
        "--steer",
        "loyal",
        "-o",
        s(&plain_out),
    ]);
    let tests: Vec<TestCase> = serde_yaml_ng::from_str(
        &std::fs::read_to_string(plain_out.join("tests.yaml")).expect("the tests"),
    )
    .expect("test cases");
    for (case, (scenario, _)) in tests.iter().zip(scenarios(&suite)) {
        assert!(case.assert.is_none());
        assert_eq!(case.vars.messages, sent(&plain, Some(LOYAL), &scenario));
    }

    // The same export again: the same bytes.
    ok(&[
        "export",
        s(&suite),
        "--to",
        "promptfoo",
        "--target",
        s(&results),
        "-o",
        s(&out),
    ]);
    assert_eq!(
        tests_text,
        std::fs::read_to_string(out.join("tests.yaml")).expect("the tests")
    );
}

// --------------------------------------------------------------- preference pairs

#[test]
fn preference_pairs_from_the_latest_answers() {
    let dir = scratch("pairs");
    let (suite, results) = ward(&dir);
    // Re-asked scenarios: index 2 ends `unparsed`, index 4 `refused`, index 7 `error`, and
    // index 5 is an error first and then answered again: the last line for an index counts.
    let text = std::fs::read_to_string(&results).expect("the results");
    let plain_lines: Vec<Value> = text
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str::<Value>(l).expect("a result"))
        .filter(|r| r["steer"].is_null())
        .collect();
    let with = |index: usize, choice: &str| {
        let mut r = plain_lines[index].clone();
        r["choice"] = choice.into();
        r["position"] = Value::Null;
        r.to_string()
    };
    let mut journal = text.clone();
    for line in [
        with(2, "unparsed"),
        with(4, "refused"),
        with(5, "error"),
        plain_lines[5].to_string(),
        with(7, "error"),
    ] {
        journal.push_str(&line);
        journal.push('\n');
    }
    std::fs::write(&results, &journal).expect("written");

    let out = dir.join("pairs.jsonl");
    let (_, stderr) = ok(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "-o",
        s(&out),
    ]);
    let pairs: Vec<Pair> = lines(&out);
    let recorded = choices(&results, None);
    let suite_lines = scenarios(&suite);
    let plain = Presentation::default();
    // One pair per answered scenario and rejected option that is not a distractor.
    let mut expected = Vec::new();
    for (scenario, distractors) in &suite_lines {
        let choice = &recorded[&scenario.index];
        let Some(chosen) = scenario.actions.iter().position(|a| a.id == *choice) else {
            continue;
        };
        for (i, a) in scenario.actions.iter().enumerate() {
            if i != chosen && !distractors[i] {
                expected.push((scenario.clone(), chosen, i, a.id.clone()));
            }
        }
    }
    assert_eq!(pairs.len(), 5, "5 answered scenarios × 1 rejected option");
    assert_eq!(pairs.len(), expected.len());
    for (pair, (scenario, chosen, rejected, rejected_id)) in pairs.iter().zip(&expected) {
        assert_eq!(pair.prompt, sent(&plain, None, scenario));
        let assistant = |content: String| {
            vec![Message {
                role: "assistant".into(),
                content,
            }]
        };
        assert_eq!(
            pair.chosen,
            assistant(scenario.actions[*chosen].label.clone())
        );
        assert_eq!(
            pair.rejected,
            assistant(scenario.actions[*rejected].label.clone())
        );
        assert_eq!(
            (pair.scenario.as_str(), pair.index),
            (scenario.id.as_str(), scenario.index)
        );
        assert_eq!(pair.chosen_action, scenario.actions[*chosen].id);
        assert_eq!(&pair.rejected_action, rejected_id);
        assert_eq!(pair.chosen_label, letter(*chosen));
        assert_eq!(pair.rejected_label, letter(*rejected));
        assert_eq!(pair.steer, None);
    }
    assert!(
        stderr.contains("wrote 5 pairs from 5 answered scenarios to")
            && stderr.contains(
                "skipped 1 unparsed, 1 refused and 1 failed, and 0 scenarios without an answer"
            ),
        "{stderr}"
    );
    // Deterministic, and the same on standard output.
    let (stdout, _) = ok(&["export", s(&results), "--to", "preference-pairs"]);
    assert_eq!(stdout, std::fs::read_to_string(&out).expect("the pairs"));

    // The steered run: every scenario answered, the steer's text as the system message.
    let (stdout, stderr) = ok(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "--steer",
        "loyal",
    ]);
    let pairs: Vec<Pair> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a pair"))
        .collect();
    assert_eq!(pairs.len(), 8, "{stderr}");
    for (pair, (scenario, _)) in pairs.iter().zip(&suite_lines) {
        assert_eq!(pair.prompt, sent(&plain, Some(LOYAL), scenario));
        assert_eq!(pair.steer.as_deref(), Some("loyal"));
    }
}

/// A suite shown through a prompt block (system prompt, action labels, a user template), its
/// suite named with --suite.
#[test]
fn preference_pairs_show_the_prompt_the_run_used() {
    let dir = scratch("pairs_prompt");
    let suite = dir.join("survey.jsonl");
    let results = dir.join("survey.results.jsonl");
    ok(&["expand", SURVEY, "-o", s(&suite)]);
    ok(&["eval", s(&suite), "-o", s(&results)]);
    let moved = dir.join("moved.jsonl");
    std::fs::copy(&suite, &moved).expect("copied");
    let (stdout, _) = ok(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "--suite",
        s(&moved),
    ]);
    let loaded = quandary::load_path(SURVEY);
    let study = Presentation::from_prompt(&loaded.framework.prompts[0]);
    let pairs: Vec<Pair> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a pair"))
        .collect();
    let suite_lines = scenarios(&suite);
    assert_eq!(pairs.len(), suite_lines.len());
    for (pair, (scenario, _)) in pairs.iter().zip(&suite_lines) {
        assert_eq!(pair.prompt, sent(&study, None, scenario));
        assert_eq!(
            pair.prompt[0].content,
            "You are taking part in a study of moral judgement."
        );
        assert!(pair.chosen_label.starts_with("Action "));
        assert!(
            scenario
                .actions
                .iter()
                .any(|a| a.label == pair.chosen[0].content)
        );
    }
    // Other labels than the run's would show other prompts: refused.
    let err = fails(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "--prompt",
        "studdy",
    ]);
    assert!(
        err.contains("no prompt `studdy`") && err.contains("did you mean `study`?"),
        "{err}"
    );
}

// ------------------------------------------------------------------------ errors

#[test]
fn bad_input_is_a_diagnostic() {
    let dir = scratch("errors");
    let (suite, results) = ward(&dir);
    let missing = dir.join("nosuch.jsonl");
    let err = fails(&["export", s(&missing), "--to", "inspect"]);
    assert!(
        err.contains("cannot read the suite") && err.contains("no such file"),
        "{err}"
    );

    let not_suite = dir.join("other.jsonl");
    std::fs::write(&not_suite, "{\"format\":\"report\"}\n").expect("written");
    let err = fails(&["export", s(&not_suite), "--to", "inspect"]);
    assert!(
        err.contains("its first line is not a suite header"),
        "{err}"
    );
    let err = fails(&["export", s(&not_suite), "--to", "preference-pairs"]);
    assert!(
        err.contains("its first line is not a results header"),
        "{err}"
    );

    // A malformed line, by its number; nothing is left behind.
    let text = std::fs::read_to_string(&suite).expect("the suite");
    let broken = dir.join("broken.jsonl");
    let mut lines: Vec<&str> = text.lines().collect();
    lines[3] = "{\"id\": \"s1\", \"text\": 3}";
    std::fs::write(&broken, lines.join("\n")).expect("written");
    let out = dir.join("broken.inspect.jsonl");
    let err = fails(&["export", s(&broken), "--to", "inspect", "-o", s(&out)]);
    assert!(err.contains("line 4 is not a scenario"), "{err}");
    let lm = dir.join("broken-lm");
    fails(&["export", s(&broken), "--to", "lm-eval", "-o", s(&lm)]);
    let left: Vec<_> = std::fs::read_dir(&dir)
        .expect("the folder")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("partial") || n.starts_with("broken.inspect"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(std::fs::read_dir(&lm).expect("the folder").count(), 0);

    // An unknown format, with a suggestion; in JSON, by its parts.
    let out = run(&[
        "export",
        s(&suite),
        "--to",
        "inspekt",
        "--error-format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let d: Value =
        serde_json::from_slice(out.stderr.split(|&b| b == b'\n').next().expect("a line"))
            .expect("json");
    assert_eq!(d["code"], "Q0119");
    assert_eq!(d["message"], "`inspekt` is not an export format");
    assert_eq!(d["help"], "did you mean `inspect`?");

    let err = fails(&["export", s(&suite), "--to", "lm-eval"]);
    assert!(
        err.contains("needs a directory") && err.contains("-o DIR"),
        "{err}"
    );
    let err = fails(&["export", s(&suite), "--to", "promptfoo"]);
    assert!(err.contains("needs a directory"), "{err}");

    // A results file where a suite belongs, and the other way round.
    let err = fails(&["export", s(&results), "--to", "inspect"]);
    assert!(
        err.contains("is a results file, not a suite") && err.contains("--target"),
        "{err}"
    );
    let err = fails(&["export", s(&suite), "--to", "preference-pairs"]);
    assert!(err.contains("is a suite, not a results file"), "{err}");
    let err = fails(&[
        "export",
        s(&suite),
        "--to",
        "inspect",
        "--target",
        s(&suite),
    ]);
    assert!(err.contains("is a suite, not a results file"), "{err}");

    // Results of another suite.
    let other = dir.join("other-suite.jsonl");
    ok(&["expand", WARD, "--seed", "8", "-o", s(&other)]);
    let err = fails(&[
        "export",
        s(&other),
        "--to",
        "inspect",
        "--target",
        s(&results),
    ]);
    assert!(err.contains("holds answers to another suite"), "{err}");
    let err = fails(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "--suite",
        s(&other),
    ]);
    assert!(err.contains("holds answers to another suite"), "{err}");

    // Steers: unknown, `all`, or one the run was not made under.
    let err = fails(&["export", s(&suite), "--to", "inspect", "--steer", "loyl"]);
    assert!(
        err.contains("no steer or constitution `loyl`") && err.contains("`loyal`"),
        "{err}"
    );
    let err = fails(&["export", s(&suite), "--to", "inspect", "--steer", "all"]);
    assert!(err.contains("one run"), "{err}");
    let err = fails(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "--steer",
        "loyl",
    ]);
    assert!(
        err.contains("no run under the steer `loyl`") && err.contains("did you mean `loyal`?"),
        "{err}"
    );

    // Settings that would show other prompts than the run's.
    let err = fails(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "--labels",
        "actions",
    ]);
    assert!(err.contains("showed its scenarios another way"), "{err}");

    // Flags that belong to the other kind of input.
    let err = fails(&[
        "export",
        s(&results),
        "--to",
        "preference-pairs",
        "--target",
        s(&results),
    ]);
    assert!(err.contains("--target does not apply"), "{err}");
    let err = fails(&["export", s(&suite), "--to", "inspect", "--suite", s(&suite)]);
    assert!(err.contains("--suite does not apply"), "{err}");

    // A file that cannot be created.
    let nowhere = dir.join("no/such/dir/out.jsonl");
    let err = fails(&["export", s(&suite), "--to", "inspect", "-o", s(&nowhere)]);
    assert!(err.contains("cannot create"), "{err}");

    // A torn last line (a run that was stopped) is left out, as every reader of results
    // leaves it out; a damaged line before the last is an error.
    let text = std::fs::read_to_string(&results).expect("the results");
    let torn = dir.join("torn.results.jsonl");
    std::fs::write(&torn, text.clone() + "{\"scenario\":").expect("written");
    let out = run(&["export", s(&torn), "--to", "preference-pairs"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let last = text.lines().last().expect("a result").to_string();
    std::fs::write(&torn, text + "{\"scenario\":\n" + &last + "\n").expect("written");
    let err = fails(&["export", s(&torn), "--to", "preference-pairs"]);
    assert!(err.contains("is not a result"), "{err}");

    // A command line clap refuses: exit code 2.
    let out = run(&["export", s(&suite)]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_suite_is_exported_in_a_language_as_eval_shows_it() {
    let dir = scratch("lang");
    let queue = dir.join("queue.jsonl");
    let partial = dir.join("partial.jsonl");
    ok(&[
        "expand",
        "tests/eval/town.qd",
        "--suite",
        "queue",
        "-o",
        queue.to_str().unwrap(),
    ]);
    ok(&[
        "expand",
        "tests/eval/town.qd",
        "--suite",
        "partial",
        "-o",
        partial.to_str().unwrap(),
    ]);
    let (samples, _) = ok(&[
        "export",
        queue.to_str().unwrap(),
        "--to",
        "inspect",
        "--lang",
        "zh",
    ]);
    let first: Value = serde_json::from_str(samples.lines().next().unwrap()).unwrap();
    assert_eq!(first["input"][0]["content"], "请回答问题。");
    let user = first["input"][1]["content"].as_str().unwrap();
    assert!(
        user.contains("一位老顾客想插队。\n\nA. 请他排队\nB. 让他先走"),
        "{user}"
    );
    assert_eq!(first["choices"][0], "请他排队");
    // A line without its Chinese version is refused, not exported in English.
    let out = dir.join("partial.inspect.jsonl");
    let refused = run(&[
        "export",
        partial.to_str().unwrap(),
        "--to",
        "inspect",
        "--lang",
        "zh",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        cli::stderr(&refused).contains("Q0130"),
        "{}",
        cli::stderr(&refused)
    );
    assert!(!out.exists());
}
