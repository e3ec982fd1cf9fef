//! The pipeline through the library, as an embedder and `quandary run` use it: sources
//! loaded once, names found with suggestions, a run folder expanded, evaluated and reported,
//! and the same report from bytes in memory.

#[path = "support/cli.rs"]
mod cli;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use quandary::project::{Expanded, RunFolder, RunSpec};
use quandary::{AdapterSpec, FsLoader, Loader, Project, Settings};

/// Reads through the file system, counting the reads of every file.
#[derive(Default)]
struct CountingLoader {
    reads: BTreeMap<PathBuf, u32>,
}

impl Loader for CountingLoader {
    fn read(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        let key = FsLoader.key(path);
        *self.reads.entry(key).or_default() += 1;
        FsLoader.read(path)
    }

    fn key(&self, path: &Path) -> PathBuf {
        FsLoader.key(path)
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn a_run_reads_each_source_file_once() {
    let mut loader = CountingLoader::default();
    let project = Project::load_with(&mut loader, &[root().join("scenarios/everyday.qd")]);
    assert!(!project.has_errors(), "{:?}", project.diagnostics());
    let dir = cli::scratch("project_run_once");
    let folder = RunFolder::create(dir.join("run")).expect("a folder");
    let spec = RunSpec {
        expand: quandary::ExpandOptions {
            count: Some(200),
            ..Default::default()
        },
        report: quandary::ReportOptions {
            seed: 0,
            resamples: 50,
            ..Default::default()
        },
        ..RunSpec::default()
    };
    let outcome = project.run(&folder, &spec, &mut |_| {}).expect("runs");
    assert_eq!(outcome.expanded, Expanded::Written(400));
    assert_eq!(outcome.evaluated.asked, 400);
    assert_eq!(outcome.report.answers, 400);
    assert!(!outcome.baseline, "the suite's framework has a profile");
    // Every file of the framework was read, and each once: the run reused the project.
    assert_eq!(loader.reads.len(), 7, "{:?}", loader.reads);
    assert!(loader.reads.values().all(|&n| n == 1), "{:?}", loader.reads);
    for name in [
        "suite.jsonl",
        "results.jsonl",
        "report.json",
        "report.md",
        "report.html",
    ] {
        assert!(folder.dir.join(name).is_file(), "{name}");
    }
    // Again: the folder holds this suite, and nothing is asked twice.
    let again = project.run(&folder, &spec, &mut |_| {}).expect("resumes");
    assert_eq!(again.expanded, Expanded::Kept);
    assert_eq!(again.evaluated.asked, 0);
    assert_eq!(again.report.values, outcome.report.values);
    // Another suite in the same folder is refused.
    let other = RunSpec {
        expand: quandary::ExpandOptions {
            count: Some(10),
            ..Default::default()
        },
        ..spec.clone()
    };
    let err = project
        .run(&folder, &other, &mut |_| {})
        .err()
        .expect("refused");
    assert!(
        err.message.contains("holds the results of another suite"),
        "{}",
        err.message
    );
}

#[test]
fn the_pipeline_in_memory_reports_what_the_files_report() {
    let project = Project::load(root().join("scenarios/everyday.qd"));
    let suite = project.suite(None).expect("a suite");
    let options = quandary::ExpandOptions {
        count: Some(100),
        ..Default::default()
    };
    let bytes = project.expand_to_vec(suite, &options).expect("expands");
    let adapter = project
        .adapter(&AdapterSpec::default())
        .expect("an adapter");
    let results = project
        .evaluate(&bytes, adapter.adapter.as_ref(), &Settings::default())
        .expect("evaluates");
    let report_options = quandary::ReportOptions {
        seed: 3,
        resamples: 40,
        ..Default::default()
    };
    let in_memory = project
        .report(&bytes, &results, None, &report_options)
        .expect("reports");

    let dir = cli::scratch("project_in_memory");
    let folder = RunFolder::create(&dir).expect("a folder");
    let spec = RunSpec {
        expand: options,
        report: report_options,
        ..RunSpec::default()
    };
    let on_disk = project.run(&folder, &spec, &mut |_| {}).expect("runs");
    // The same bytes of suite; the same statistics (the journals differ only in latency).
    assert_eq!(std::fs::read(folder.suite()).expect("the suite"), bytes);
    assert_eq!(in_memory.values, on_disk.report.values);
    assert_eq!(in_memory.ranking, on_disk.report.ranking);
    assert_eq!(in_memory.answers, 200);
}

#[test]
fn names_are_found_or_suggested() {
    let project = Project::load(root().join("scenarios/everyday.qd"));
    let err = project.suite(Some("everday")).expect_err("misspelt");
    assert_eq!(err.help.as_deref(), Some("did you mean `everyday`?"));
    let err = project
        .steers(&["nobody".to_string()])
        .expect_err("no such steer");
    assert!(
        err.message.contains("no steer or constitution `nobody`"),
        "{}",
        err.message
    );
    let spec = AdapterSpec {
        name: "profile:care_and_fairnes".into(),
        ..AdapterSpec::default()
    };
    let err = project.adapter(&spec).err().expect("misspelt profile");
    assert_eq!(
        err.help.as_deref(),
        Some("did you mean `profile:care_and_fairness`?")
    );
    let spec = AdapterSpec {
        name: "randmo".into(),
        ..AdapterSpec::default()
    };
    let err = project.adapter(&spec).err().expect("no such adapter");
    assert_eq!(err.help.as_deref(), Some("did you mean `random`?"));
}

/// The HTML report's browser shows each scenario's prompt as the run sent it: the journal's
/// presentation (here a prompt of the framework, under a steer) is found again by its
/// fingerprint and renders the same system and user messages; a journal whose presentation
/// matches none gets no prompts rather than wrong ones.
#[test]
fn the_browser_renders_the_prompt_each_scenario_was_sent_with() {
    use quandary::eval::present::Labels;
    use quandary::formats::Input;
    use quandary::formats::suite::SuiteReader;
    let project = Project::load(root().join("tests/eval/town.qd"));
    assert!(!project.has_errors(), "{:?}", project.diagnostics());
    let suite = project.suite(Some("queue")).expect("a suite");
    let bytes = project
        .expand_to_vec(suite, &quandary::ExpandOptions::default())
        .expect("expands");
    let presentation = project
        .presentation(Some("plain"), Labels::Letters)
        .expect("the prompt");
    let steers = project.steers(&["elders".to_string()]).expect("the steer");
    let settings = Settings {
        presentation: presentation.clone(),
        steers: steers.clone(),
        ..Settings::default()
    };
    let adapter = project
        .adapter(&AdapterSpec {
            name: "random".into(),
            ..AdapterSpec::default()
        })
        .expect("an adapter");
    let results = project
        .evaluate(&bytes, adapter.adapter.as_ref(), &settings)
        .expect("evaluates");
    let sources = quandary::report::Sources {
        results: Input::Bytes("results", &results),
        suite: Input::Bytes("suite", &bytes),
        framework: Some(project.framework()),
        steer: Some("elders"),
        notes: &[],
    };
    let browse = quandary::project::browse(&sources).expect("browses");
    assert!(browse.prompts);
    let mut lines = SuiteReader::open(Input::Bytes("suite", &bytes)).expect("the suite");
    let mut seen = 0;
    while let Some(line) = lines.next_line().expect("a line") {
        let sent = quandary::eval::Asking::new(&presentation, &line, Some(&steers[0]));
        let entry = browse
            .scenarios
            .iter()
            .find(|e| e.index == line.index)
            .expect("every scenario answered");
        assert_eq!(entry.prompt.as_deref(), sent.prompt.as_deref().ok());
        assert_eq!(entry.system, sent.system);
        // The random baseline chooses without text: an action of the scenario, no raw answer.
        assert!(
            line.actions.iter().any(|a| a.id == entry.choice),
            "{}",
            entry.choice
        );
        seen += 1;
    }
    assert!(seen > 0);
    assert!(
        browse.scenarios[0]
            .system
            .as_deref()
            .is_some_and(|s| s.starts_with("Answer the question."))
    );

    // Another presentation than any the framework describes: no prompt is guessed.
    let text = String::from_utf8(results.clone()).expect("UTF-8");
    let fingerprint = presentation.fingerprint();
    let other = text.replacen(&fingerprint, "letters/0000000000000000", 1);
    assert_ne!(other, text);
    let sources = quandary::report::Sources {
        results: Input::Bytes("results", other.as_bytes()),
        ..sources
    };
    let browse = quandary::project::browse(&sources).expect("browses");
    assert!(!browse.prompts);
    assert!(browse.scenarios.iter().all(|e| e.prompt.is_none()));
}
