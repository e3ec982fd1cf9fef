//! `quandary run FILE`: expand, evaluate and report in one command, into a run folder.

use std::path::{Path, PathBuf};

use quandary::project::{Expanded, RunFolder, RunSpec};
use quandary::{Diagnostic, SourceMap};

use super::DiagnosticArgs;
use super::eval::AskArgs;
use super::expand::SuiteArgs;
use super::report::BootstrapArgs;

/// Arguments of `run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file declaring the suite (with everything it imports)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// The run folder (default: runs/SUITE); running the same command again resumes it
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Rows of the highest and of the lowest values shown on the terminal
    #[arg(long, default_value_t = 10, value_name = "N")]
    pub rows: usize,
    #[command(flatten)]
    pub ask: AskArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

fn fail(diagnostics: &DiagnosticArgs, d: Diagnostic) -> bool {
    diagnostics.report(&[d], &SourceMap::new());
    false
}

pub fn run(args: Args) -> bool {
    let Some(project) = super::expand::load_project(&args.file, &args.diagnostics) else {
        return false;
    };
    let suite = match project.suite(args.suite.suite.as_deref()) {
        Ok(s) => s,
        Err(d) => {
            args.diagnostics.report(&[d], project.sources());
            return false;
        }
    };
    let suite_name = project.framework().suites[suite.index()].id.clone();
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&suite_name));
    let folder = match RunFolder::create(&dir) {
        Ok(f) => f,
        Err(d) => return fail(&args.diagnostics, d),
    };
    // An explicit --framework supplies the profiles, prompts and steers instead.
    let explicit = match &args.ask.framework {
        Some(file) => {
            match quandary::project::suite_project(Some(file), &serde_json::Value::Null) {
                Ok((_, p)) => Some(p),
                Err(d) => return fail(&args.diagnostics, d),
            }
        }
        None => None,
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let spec = RunSpec {
        suite: Some(suite_name),
        expand: args.suite.options(threads, None),
        adapter: args.ask.spec(),
        adapter_chosen: args.ask.adapter.is_some() || explicit.is_some(),
        prompt: args.ask.prompt.clone(),
        labels: super::eval::labels(args.ask.labels),
        answer: args.ask.answer.map(super::eval::AnswerArg::mode),
        steers: args.ask.steers.clone(),
        concurrency: args.ask.concurrency as usize,
        retry_errors: args.ask.retry_errors,
        epochs: args.ask.epochs,
        lang: args.ask.lang.clone(),
        report: args.bootstrap.options(),
    };
    let result = super::eval::with_progress(&folder.results(), |progress| match &explicit {
        // The suite comes from the file given; who answers, from the framework given.
        Some(framework) => project.run_with(framework, &folder, &spec, progress),
        None => project.run(&folder, &spec, progress),
    });
    let outcome = match result {
        Ok(o) => o,
        Err(d) => return fail(&args.diagnostics, d),
    };
    match outcome.expanded {
        Expanded::Kept => eprintln!("{} holds this suite already", folder.suite().display()),
        Expanded::Written(n) => {
            eprintln!("expanded {n} scenarios into {}", folder.suite().display())
        }
    }
    if outcome.baseline {
        eprintln!(
            "note: `{}` declares no profile, so the random baseline answers (give --adapter, \
             or add a `profile` block)",
            args.file.display()
        );
    }
    super::eval::summary(&outcome.evaluated, &folder.results(), &outcome.adapter);
    let ok = super::print(&outcome.report.brief(args.rows));
    eprintln!(
        "\nthe run is in {}: suite.jsonl, results.jsonl, report.json, report.md, report.html",
        dir.display()
    );
    ok
}
