//! Golden fixtures: a new case is a new file.
//!
//! - `tests/golden/expand/*.qd`: a framework with a suite, its first line
//!   `# golden: suite=NAME [count=N] [seed=S]`; the whole expansion is snapshotted, and every
//!   line must read back through the suite file's typed reader and its borrowed one (expand
//!   assembles its lines by hand, for speed).
//! - `tests/golden/report/NAME/`: `suite.jsonl` and `results.jsonl` (and the framework the
//!   suite's header names, when it names one); the Markdown report is snapshotted.

use std::path::Path;

use quandary::formats::Input;
use quandary::formats::suite::SuiteReader;
use quandary::project::ReportInputs;
use quandary::{ExpandOptions, Project, ReportOptions};

/// The fixture's path relative to the crate, so what the outputs record of it does not
/// depend on where the crate is checked out.
fn relative(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// `# golden: suite=night count=6 seed=3` → the suite's name and the expansion's options.
fn settings(text: &str) -> (Option<String>, ExpandOptions) {
    let line = text
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("# golden:"))
        .expect("the first line is `# golden: suite=NAME …`");
    let mut suite = None;
    let mut options = ExpandOptions::default();
    for word in line.split_whitespace() {
        let (key, value) = word.split_once('=').expect("KEY=VALUE");
        match key {
            "suite" => suite = Some(value.to_string()),
            "count" => options.count = Some(value.parse().expect("a count")),
            "seed" => options.seed = Some(value.parse().expect("a seed")),
            other => panic!("unknown golden setting `{other}`"),
        }
    }
    (suite, options)
}

#[test]
fn expansions() {
    insta::glob!("golden/expand/*.qd", |path| {
        let name = relative(path);
        let text = std::fs::read_to_string(path).expect("the fixture");
        let (suite, options) = settings(&text);
        let project = Project::load(&name);
        assert!(!project.has_errors(), "{name}: {:?}", project.diagnostics());
        let suite = project.suite(suite.as_deref()).expect("the suite");
        let bytes = project.expand_to_vec(suite, &options).expect("expands");
        let output = String::from_utf8(bytes.clone()).expect("UTF-8");

        // Every line reads back whole, in order, with the id and actions it was written with.
        let mut reader = SuiteReader::open(Input::Bytes("suite", &bytes)).expect("a suite");
        let mut read = 0;
        for (i, line) in output.lines().skip(1).enumerate() {
            let raw: serde_json::Value = serde_json::from_str(line).expect("JSON");
            let typed = reader.next_line().expect("reads").expect("a line");
            assert_eq!(
                typed.id,
                raw["id"].as_str().unwrap_or_default(),
                "{name}:{i}"
            );
            assert_eq!(typed.index, i as u64, "{name}");
            assert_eq!(typed.text, raw["text"].as_str().unwrap_or_default());
            let actions: Vec<&str> = typed.actions.iter().map(|a| a.id.as_str()).collect();
            let raw_actions: Vec<&str> = raw["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|a| a["id"].as_str())
                .collect();
            assert_eq!(actions, raw_actions, "{name}:{i}");
            read += 1;
        }
        assert!(reader.next_line().expect("the end").is_none());
        assert!(read > 0, "{name} expands to nothing");
        insta::assert_snapshot!(output);
    });
}

#[test]
fn reports() {
    insta::glob!("golden/report/*/suite.jsonl", |path| {
        let dir = path.parent().expect("a folder");
        let results = Path::new(&relative(dir)).join("results.jsonl");
        let suite = Path::new(&relative(dir)).join("suite.jsonl");
        let inputs = ReportInputs::find(&results, Some(&suite), None).expect("the inputs");
        let options = ReportOptions {
            seed: 0,
            resamples: 200,
            ..Default::default()
        };
        let report =
            quandary::report::report(&inputs.sources(&results, None), &options).expect("a report");
        insta::assert_snapshot!(report.markdown());
    });
}
