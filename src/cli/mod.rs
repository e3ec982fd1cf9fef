//! Command-line interface: parses arguments, runs a command, renders diagnostics.
//!
//! Exit codes: 0 success; 1 the input has errors (or warnings under `--deny-warnings`, or
//! `fmt --check` found unformatted files); 2 the command line itself is wrong.

mod batch;
mod cache;
mod check;
mod drift;
mod eval;
mod expand;
mod export;
mod fmt;
mod graph;
mod import;
mod judge;
mod lsp;
mod report;
mod run;
mod simulate;
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
    /// Turn research data sets into source files, or a batch engine's answers into results
    Import(import::Args),
    /// Expand a suite into scenarios, one JSON object a line
    Expand(expand::Args),
    /// Show which template, picks, relations and rules made a scenario
    Explain(expand::ExplainArgs),
    /// Ask a model (or a value-system agent) every scenario of a suite; resumable
    Eval(eval::Args),
    /// Have a judge model read every answer of a results journal and give its verdict; resumable
    Judge(judge::Args),
    /// Which values the answers upheld and neglected: scores, win rates, rankings, intervals
    Report(report::Args),
    /// Compare two results journals value by value: shifts with intervals
    Diff(report::DiffArgs),
    /// Join the journals of the shards of one run (`eval --shard K/N`) into one journal
    Merge(report::MergeArgs),
    /// How far two raters of the same answers agree (judges, a forced choice, people): Cohen's kappa
    Agree(report::AgreeArgs),
    /// Infer a value system's weights from the choices, as a `profile` block
    Fit(report::FitArgs),
    /// Count or clear the response cache of `eval`
    Cache(cache::Args),
    /// Hand a suite to Inspect, lm-evaluation-harness, promptfoo or a batch inference engine, or results to preference tuning
    Export(export::Args),
    /// Follow each value's score across checkpoints of one model: trajectories, drift, the largest step
    Drift(drift::Args),
    /// Simulate bounded-confidence opinion dynamics on a framework's profiles over a network
    Simulate(simulate::Args),
    /// Print a shell's completion script for quandary (bash, zsh, fish, elvish, powershell)
    Completions(CompletionsArgs),
    /// Print quandary's manual page (roff), for `man`
    Man,
    /// Serve the Language Server Protocol on standard input and output, for editors
    Lsp(lsp::Args),
}

/// Arguments of `completions`.
#[derive(clap::Args, Debug)]
struct CompletionsArgs {
    /// The shell
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

/// Writes generated text to standard output; false (with a message) when it cannot.
fn write_stdout(bytes: &[u8]) -> bool {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => true,
        // A reader that stops early (`| head`) wants no more.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => true,
        Err(e) => {
            eprintln!("error: cannot write to standard output: {e}");
            false
        }
    }
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
        let terminal = std::io::stderr().is_terminal();
        let color = terminal && std::env::var_os("NO_COLOR").is_none();
        // Wrapped for people at a terminal; whole lines for a file, a pipe or a test.
        let width = terminal.then_some(render::WIDTH);
        let mut stderr = std::io::stderr().lock();
        let mut errors = 0;
        let mut warnings = 0;
        for d in diagnostics {
            if d.is_error() {
                errors += 1;
            } else {
                warnings += 1;
            }
            let _ = stderr
                .write_all(render::render_wrapped(d, sources, format, color, width).as_bytes());
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

/// The most threads a command may be asked to start.
const MAX_THREADS: usize = 256;

/// `--threads N`: from 1 to [`MAX_THREADS`].
fn threads(text: &str) -> Result<usize, String> {
    match text.trim().parse::<u64>() {
        Ok(n @ 1..) if n <= MAX_THREADS as u64 => Ok(n as usize),
        Ok(0) => Err("give at least 1 thread".into()),
        Ok(_) => Err(format!("give at most {MAX_THREADS} threads")),
        Err(_) => Err(format!("`{text}` is not a whole number of threads")),
    }
}

/// The longest a single request may be given: a week.
const MAX_SECONDS: f64 = 7.0 * 24.0 * 3600.0;

/// `--timeout SECONDS`: a positive number of seconds, at most [`MAX_SECONDS`].
/// A number of seconds as [`seconds`] reads it, or 0.
fn seconds_or_zero(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(0.0) => Ok(0.0),
        _ => seconds(text),
    }
}

fn seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("`{text}` is not a positive number of seconds"));
    }
    if value > MAX_SECONDS {
        return Err(format!(
            "`{text}` seconds is longer than a week ({MAX_SECONDS} s), the longest allowed"
        ));
    }
    Ok(value)
}

/// The highest sampling temperature accepted.
const MAX_TEMPERATURE: f64 = 100.0;

/// `--temperature T`: a finite number from 0 to [`MAX_TEMPERATURE`].
/// A price per million tokens: a finite number not below 0.
fn price(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(p) if p.is_finite() && p >= 0.0 => Ok(p),
        _ => Err(format!(
            "`{text}` is not a price: give a number not below 0, such as 2.5"
        )),
    }
}

fn temperature(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number"))?;
    if !(value.is_finite() && (0.0..=MAX_TEMPERATURE).contains(&value)) {
        return Err(format!(
            "`{text}` is not a temperature: give a number from 0 to {MAX_TEMPERATURE}"
        ));
    }
    Ok(value)
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

/// The results journal an evaluation is writing, for the message when interrupted.
static JOURNAL: std::sync::Mutex<Option<std::path::PathBuf>> = std::sync::Mutex::new(None);
/// Requests answered and in all, as the evaluation's progress last said.
static ANSWERED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static REQUESTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Says which journal an evaluation writes (`None` when it is done), so an interruption
/// can tell what was kept.
pub fn journal_in_use(path: Option<&std::path::Path>) {
    if let Ok(mut j) = JOURNAL.lock() {
        *j = path.map(std::path::Path::to_path_buf);
    }
}

/// What an interruption says instead of the journal's state (`None`: the journal's).
static INTERRUPT_NOTE: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

/// Sets what an interruption says, for a command whose work goes on elsewhere (batches a
/// Batch API runs); `None` goes back to what was kept in the journal.
pub fn on_interrupt(note: Option<String>) {
    if let Ok(mut n) = INTERRUPT_NOTE.lock() {
        *n = note;
    }
}

/// Records an evaluation's progress (its total, when counted), for the message when
/// interrupted.
pub fn progress(done: u64, total: Option<u64>) {
    use std::sync::atomic::Ordering::Relaxed;
    ANSWERED.store(done, Relaxed);
    REQUESTS.store(total.unwrap_or(UNCOUNTED), Relaxed);
}

/// What [`REQUESTS`] holds while a run's requests are not counted.
const UNCOUNTED: u64 = u64::MAX;

/// On Ctrl-C, SIGTERM or SIGHUP: stop the programs the `command` adapter started (with
/// their process groups), say what was kept and how to go on, and exit with 130.
fn handle_interrupts() {
    let _ = ctrlc::set_handler(|| {
        use std::sync::atomic::Ordering::Relaxed;
        quandary::eval::adapters::terminate_commands(std::time::Duration::from_secs(1));
        let journal = JOURNAL.lock().ok().and_then(|j| j.clone());
        let note = INTERRUPT_NOTE.lock().ok().and_then(|n| n.clone());
        let mut err = std::io::stderr().lock();
        let _ = match (note, journal) {
            (Some(note), _) => writeln!(err, "\n{}", render::visible(&note)),
            (None, journal) => match journal {
                Some(path) => writeln!(
                    err,
                    "\ninterrupted: {} requests are answered in {}, every answer received \
                 kept; run the same command again to resume",
                    match REQUESTS.load(Relaxed) {
                        UNCOUNTED => ANSWERED.load(Relaxed).to_string(),
                        total => format!("{} of {total}", ANSWERED.load(Relaxed)),
                    },
                    render::visible(&path.display().to_string())
                ),
                None => writeln!(err, "\ninterrupted"),
            },
        };
        std::process::exit(130);
    });
}

/// `command` and its subcommands with a negative number taken as a flag's value, so that
/// `--resamples -3` is refused as a value ("invalid digit") rather than as an unknown flag
/// `-3` with the advice to pass it after `--`, which would make it a file name.
fn negative_numbers(command: clap::Command) -> clap::Command {
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    names
        .iter()
        .fold(command.allow_negative_numbers(true), |command, name| {
            command.mut_subcommand(name, negative_numbers)
        })
}

pub fn main() -> ExitCode {
    handle_interrupts();
    use clap::{CommandFactory, FromArgMatches};
    let cli = match negative_numbers(Cli::command())
        .try_get_matches()
        .and_then(|matches| Cli::from_arg_matches(&matches))
    {
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
        Command::Judge(args) => judge::run(args),
        Command::Report(args) => report::run(args),
        Command::Diff(args) => report::diff(args),
        Command::Fit(args) => report::fit(args),
        Command::Agree(args) => report::agree(args),
        Command::Merge(args) => report::merge(args),
        Command::Cache(args) => cache::run(args),
        Command::Export(args) => export::run(args),
        Command::Lsp(args) => lsp::run(args),
        Command::Drift(args) => drift::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Completions(args) => {
            use clap::CommandFactory;
            let mut command = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut command, "quandary", &mut out);
            write_stdout(&out)
        }
        Command::Man => {
            use clap::CommandFactory;
            let mut out = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut out) {
                Ok(()) => write_stdout(&out),
                Err(e) => {
                    eprintln!("error: cannot render the manual page: {e}");
                    false
                }
            }
        }
    };
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
