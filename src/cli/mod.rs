//! Command-line interface: parses arguments, runs a command, renders diagnostics.
//!
//! Exit codes: 0 success; 1 the input has errors (or warnings under `--deny-warnings`, or
//! `fmt --check` found unformatted files); 2 the command line itself is wrong.

mod cache;
mod check;
mod eval;
mod expand;
mod export;
mod fmt;
mod graph;
mod import;
mod report;
mod run;
mod stats;
mod tree;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use quandary::render::{self, ErrorFormat};
use quandary::{Diagnostic, SourceMap};

/// quandary: value frameworks as text, checked, formatted and summarised.
#[derive(Parser, Debug)]
#[command(name = "quandary", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Expand a suite, ask every scenario and report, into a run folder (the main job)
    Run(run::Args),
    /// Parse, resolve and validate files, reporting every error and warning
    Check(check::Args),
    /// Print files in the canonical layout, check it, or rewrite files in place
    Fmt(fmt::Args),
    /// Count levels, values, rules, relations and mappings of a framework
    Stats(stats::Args),
    /// Print a framework's hierarchy
    Tree(tree::Args),
    /// Draw the conflict graph of a framework (DOT, JSON or Mermaid)
    Graph(graph::Args),
    /// Turn research data sets into source files
    Import(import::Args),
    /// Expand a suite into scenarios, one JSON object a line
    Expand(expand::Args),
    /// Show which template, picks, relations and rules made a scenario
    Explain(expand::ExplainArgs),
    /// Ask a model (or a value-system agent) every scenario of a suite; resumable
    Eval(eval::Args),
    /// Which values the answers upheld and neglected: scores, win rates, rankings, intervals
    Report(report::Args),
    /// Compare two results journals value by value: shifts with intervals
    Diff(report::DiffArgs),
    /// Infer a value system's weights from the choices, as a `profile` block
    Fit(report::FitArgs),
    /// Count or clear the response cache of `eval`
    Cache(cache::Args),
    /// Hand a suite to Inspect, lm-evaluation-harness or promptfoo, or results to preference tuning
    Export(export::Args),
}

/// Options shared by every command that reports diagnostics.
#[derive(clap::Args, Debug, Clone)]
pub struct DiagnosticArgs {
    /// How to show errors and warnings
    #[arg(long, value_enum, default_value_t = ErrorFormatArg::Human)]
    pub error_format: ErrorFormatArg,
    /// Treat warnings as errors (exit 1 when there is any)
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFormatArg {
    /// Source excerpts with the problem underlined
    Human,
    /// Plain ASCII text
    Plain,
    /// One JSON object a line
    Json,
}

impl DiagnosticArgs {
    /// Writes `diagnostics` to stderr and says whether they fail the command.
    pub fn report(&self, diagnostics: &[Diagnostic], sources: &SourceMap) -> bool {
        let format = match self.error_format {
            ErrorFormatArg::Human => ErrorFormat::Human,
            ErrorFormatArg::Plain => ErrorFormat::Plain,
            ErrorFormatArg::Json => ErrorFormat::Json,
        };
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        let mut stderr = std::io::stderr().lock();
        let mut errors = 0;
        let mut warnings = 0;
        for d in diagnostics {
            if d.is_error() {
                errors += 1;
            } else {
                warnings += 1;
            }
            let _ = stderr.write_all(render::render(d, sources, format, color).as_bytes());
        }
        if format != ErrorFormat::Json && (errors > 0 || warnings > 0) {
            let _ = writeln!(stderr, "{}", summary(errors, warnings));
        }
        errors > 0 || (self.deny_warnings && warnings > 0)
    }
}

fn summary(errors: usize, warnings: usize) -> String {
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    match (errors, warnings) {
        (0, w) => plural(w, "warning"),
        (e, 0) => plural(e, "error"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// Writes to stdout, treating a closed pipe (`| head`) as success.
pub fn print(text: &str) -> bool {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => true,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => true,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            false
        }
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => {
                    ExitCode::SUCCESS
                }
                _ => ExitCode::from(2),
            };
        }
    };
    let ok = match cli.command {
        Command::Run(args) => run::run(args),
        Command::Check(args) => check::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Stats(args) => stats::run(args),
        Command::Tree(args) => tree::run(args),
        Command::Graph(args) => graph::run(args),
        Command::Import(args) => import::run(args),
        Command::Expand(args) => expand::run(args),
        Command::Explain(args) => expand::explain(args),
        Command::Eval(args) => eval::run(args),
        Command::Report(args) => report::run(args),
        Command::Diff(args) => report::diff(args),
        Command::Fit(args) => report::fit(args),
        Command::Cache(args) => cache::run(args),
        Command::Export(args) => export::run(args),
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
