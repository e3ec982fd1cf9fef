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
    pub judge: JudgeArgs,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// Who judges free-form answers in a run.
#[derive(clap::Args, Debug)]
pub struct JudgeArgs {
    /// The judge that reads the answers (default: the suite's `judge`, when the answers
    /// are free-form)
    #[arg(long, value_name = "NAME")]
    pub judge: Option<String>,
    /// Who judges: `openai`, `command` (with --judge-command), … [default: the adapter that
    /// answered]
    #[arg(long, value_name = "ADAPTER")]
    pub judge_adapter: Option<String>,
    /// The judge's program, for `--judge-adapter command`
    #[arg(long, value_name = "PROGRAM")]
    pub judge_command: Option<String>,
    /// The judge's model, for `--judge-adapter openai` [default: the answering model]
    #[arg(long, value_name = "MODEL")]
    pub judge_model: Option<String>,
    /// How the judge answers: `choice` or `reasoning` [default: choice]
    #[arg(long, value_enum, value_name = "MODE")]
    pub judge_answer: Option<super::eval::AnswerArg>,
}

impl JudgeArgs {
    /// The judge's adapter, when one is named: the answering adapter's settings with the
    /// judge's own adapter, program and model.
    fn spec(&self, ask: &AskArgs) -> Option<quandary::AdapterSpec> {
        if self.judge_adapter.is_none()
            && self.judge_command.is_none()
            && self.judge_model.is_none()
        {
            return None;
        }
        let mut spec = ask.spec();
        if let Some(name) = &self.judge_adapter {
            spec.name = name.clone();
        }
        if self.judge_command.is_some() {
            spec.command = self.judge_command.clone();
        }
        if self.judge_model.is_some() {
            spec.model = self.judge_model.clone();
        }
        Some(spec)
    }
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
    let explicit = match &args.ask.requests.framework {
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
        prompt: args.ask.requests.prompt.clone(),
        labels: super::eval::labels(args.ask.requests.labels),
        answer: args.ask.requests.answer.map(super::eval::AnswerArg::mode),
        steers: args.ask.requests.steers.clone(),
        concurrency: args.ask.concurrency as usize,
        retry_errors: args.ask.retry_errors,
        max_errors: args.ask.max_errors,
        epochs: args.ask.requests.epochs,
        lang: args.ask.requests.lang.clone(),
        judge: args.judge.judge.clone(),
        judge_adapter: args.judge.spec(&args.ask),
        judge_answer: args.judge.judge_answer.map(super::eval::AnswerArg::mode),
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
    let Some(judged) = &outcome.judged else {
        let ok = super::print(&outcome.report.brief(args.rows));
        eprintln!(
            "\nthe run is in {}: suite.jsonl, results.jsonl, report.json, report.md, report.html",
            dir.display()
        );
        return ok;
    };
    eprintln!(
        "judge `{}` read {} answers ({} without text left out)",
        judged.judge, judged.written.lines, judged.written.skipped
    );
    super::eval::summary(&judged.evaluated, &folder.judged(), &judged.adapter);
    let ok = super::print(&judged.report.brief(args.rows));
    eprintln!(
        "\nthe run is in {}: suite.jsonl, results.jsonl, report.*, and the judge's \
         judge.suite.jsonl, judged.jsonl, verdicts.json, verdicts.md, verdicts.html",
        dir.display()
    );
    ok
}
