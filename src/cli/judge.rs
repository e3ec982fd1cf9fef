//! `quandary judge RESULTS.jsonl`

use std::path::PathBuf;

use quandary::eval::{Presentation, Settings};
use quandary::formats::Input;
use quandary::project;
use quandary::{Code, Diagnostic};

use super::DiagnosticArgs;
use super::eval::{AskArgs, evaluate, fail};

/// Arguments of `judge`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A results journal written by `quandary eval` (free-form answers, or any answers with
    /// text)
    #[arg(value_name = "RESULTS.jsonl")]
    pub results: PathBuf,
    /// The judge (default: the one the suite's `judge` setting names)
    #[arg(long, value_name = "NAME")]
    pub judge: Option<String>,
    /// The suite the results answer (default: their header's `suite_file`)
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// The judged journal (default: RESULTS.JUDGE.jsonl beside the results); its judge suite
    /// is written beside it, FILE.suite.jsonl; run the same command again to resume it
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub ask: AskArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

pub fn run(args: Args) -> bool {
    match prepare(&args) {
        Ok((suite, output, settings, built)) => {
            evaluate(&suite, &output, &settings, built, &args.diagnostics)
        }
        Err(d) => fail(&args.diagnostics, d),
    }
}

/// Writes the judge suite; returns it, the judged journal, and how the judge is asked.
fn prepare(
    args: &Args,
) -> Result<(PathBuf, PathBuf, Settings, quandary::eval::adapters::Built), Diagnostic> {
    let ask = &args.ask;
    for (given, flag) in [
        (ask.requests.prompt.is_some(), "--prompt"),
        (!ask.requests.steers.is_empty(), "--steer"),
        (ask.requests.lang.is_some(), "--lang"),
    ] {
        if given {
            return Err(Diagnostic::new(
                Code::InvalidSetting,
                format!("`{flag}` does not apply to a judge"),
            )
            .help("a judge is shown as its `judge` block says: its system prompt, its template and its instruction"));
        }
    }
    let suite = match &args.suite {
        Some(s) => s.clone(),
        None => project::suite_of(&args.results)?,
    };
    let suite_header = quandary::formats::suite::read_header(Input::Path(&suite))?;
    let (file, project) = project::suite_project(ask.requests.framework.as_deref(), &suite_header)?;
    let framework = project.framework();
    let judge = project::judge(
        framework,
        args.judge.as_deref(),
        suite_header.get("suite").and_then(|s| s.as_str()),
    )?;
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| project::judged_path(&args.results, &judge.id));
    let judge_suite = project::judge_suite_path(&output);
    let files: Vec<String> = suite_header
        .get("files")
        .and_then(|f| f.as_array())
        .map(|f| {
            f.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let written = project::write_judge_suite(&files, judge, &args.results, &suite, &judge_suite)?;
    eprintln!(
        "judge `{}` reads {} answers ({} without text left out); its suite is {}",
        judge.id,
        written.lines,
        written.skipped,
        judge_suite.display()
    );
    let mut presentation = Presentation::from_judge(judge);
    if let Some(answer) = ask.requests.answer {
        presentation.mode = answer.mode();
    }
    if presentation.mode == quandary::model::AnswerMode::Free {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            "a judge cannot answer `free`: its verdict is read from its answer",
        )
        .help("ask it with --answer choice or --answer reasoning"));
    }
    let settings = Settings {
        presentation,
        steers: Vec::new(),
        concurrency: ask.concurrency as usize,
        retry_errors: ask.retry_errors,
        epochs: ask.requests.epochs,
        shard: None,
        max_errors: ask.max_errors,
        total_first: true,
    };
    let built = ask
        .spec()
        .build(Some(framework), &file.display().to_string())?;
    Ok((judge_suite, output, settings, built))
}
