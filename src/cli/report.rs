//! `quandary report RESULTS.jsonl` and `quandary diff BASE.jsonl OTHER.jsonl`

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use quandary::project::ReportInputs;
use quandary::report::{self, Options};
use quandary::{Code, Diagnostic, SourceMap};

use super::DiagnosticArgs;

/// Arguments of `report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A results journal written by `quandary eval`
    #[arg(value_name = "RESULTS.jsonl")]
    pub results: PathBuf,
    /// The suite the results answer (default: the one named in the results header)
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// The framework for theory labels, the hierarchy and profiles (default: the file the
    /// suite was expanded from)
    #[arg(long, value_name = "FILE")]
    pub framework: Option<PathBuf>,
    /// Report on the run under this steer (default: the run without a steer)
    #[arg(long, value_name = "ID")]
    pub steer: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the report to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Pass mark on survey questions' alignment score, the share of a population who chose
    /// the model's answer (from 0 to 1; the suite's `pass` marks the similarity)
    #[arg(long, value_name = "N", value_parser = share)]
    pub pass_alignment: Option<f64>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// A number from 0 to 1.
fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(x) if (0.0..=1.0).contains(&x) => Ok(x),
        _ => Err(format!("`{text}` is not a number from 0 to 1")),
    }
}

/// How intervals are resampled.
#[derive(clap::Args, Debug, Clone)]
pub struct BootstrapArgs {
    /// Seed of the cluster bootstrap (the same seed gives the same report)
    #[arg(
        id = "bootstrap_seed",
        long = "bootstrap-seed",
        default_value_t = 0,
        value_name = "N"
    )]
    pub seed: u64,
    /// Bootstrap resamples of the templates (0: Wilson and Newcombe intervals only)
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub resamples: u32,
}

impl BootstrapArgs {
    pub fn options(&self) -> Options {
        Options {
            seed: self.seed,
            resamples: self.resamples,
            pass_alignment: None,
        }
    }
}

/// How `report` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// An aligned table
    Table,
    /// Markdown
    Md,
    /// One JSON object
    Json,
    /// One self-contained HTML page
    Html,
}

/// Arguments of `diff`.
#[derive(clap::Args, Debug)]
pub struct DiffArgs {
    /// The base results journal (a model, a checkpoint, a plain run)
    #[arg(value_name = "BASE.jsonl")]
    pub base: PathBuf,
    /// The journal compared with it
    #[arg(value_name = "OTHER.jsonl")]
    pub other: PathBuf,
    /// The framework for theory labels and the hierarchy (default: the file the base suite
    /// was expanded from)
    #[arg(long, value_name = "FILE")]
    pub framework: Option<PathBuf>,
    /// Compare the runs under this steer in both journals (default: the plain runs)
    #[arg(long, value_name = "ID")]
    pub steer: Option<String>,
    /// Output format (`html` is not offered: use `report` on each)
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the comparison to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// Arguments of `merge`.
#[derive(clap::Args, Debug)]
pub struct MergeArgs {
    /// The journals of every shard of one run, written by `quandary eval --shard K/N`
    #[arg(value_name = "SHARD.jsonl", required = true)]
    pub shards: Vec<PathBuf>,
    /// The merged journal (default: standard output)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

pub fn merge(args: MergeArgs) -> bool {
    use quandary::formats::{Input, results};
    let inputs: Vec<Input<'_>> = args.shards.iter().map(|p| Input::Path(p)).collect();
    let merged = match &args.output {
        Some(path) => quandary::export::to_file(path, |w| results::merge(&inputs, w)),
        None => {
            let stdout = std::io::stdout();
            let mut lock = stdout.lock();
            results::merge(&inputs, &mut lock)
        }
    };
    match merged {
        Ok(m) => {
            eprintln!(
                "merged {} shards: {} results{}",
                m.shards,
                m.results,
                args.output
                    .as_ref()
                    .map_or(String::new(), |p| format!(" in {}", p.display()))
            );
            true
        }
        Err(d) => fail(&args.diagnostics, d),
    }
}

/// Arguments of `agree`.
#[derive(clap::Args, Debug)]
pub struct AgreeArgs {
    /// The first rater: a results journal (a model's answers or a judge's verdicts, as
    /// `quandary judge` writes them), or labels (JSON Lines or CSV with `scenario` and
    /// `label` columns)
    #[arg(value_name = "A")]
    pub a: PathBuf,
    /// The second rater, in the same forms
    #[arg(value_name = "B")]
    pub b: PathBuf,
    /// Output format (`html` is not offered)
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// Write the comparison to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// A rater given on the command line: a results journal with the suite its header names, or
/// a labels file.
fn rater(path: &Path) -> Result<(Option<PathBuf>, &Path), Diagnostic> {
    match quandary::formats::results::read_header(quandary::formats::Input::Path(path)) {
        Ok(_) => Ok((Some(quandary::project::suite_of(path)?), path)),
        Err(_) => Ok((None, path)),
    }
}

pub fn agree(args: AgreeArgs) -> bool {
    use quandary::formats::Input;
    use quandary::report::raters::{Rater, agreement};
    let result = rater(&args.a)
        .and_then(|a| Ok((a, rater(&args.b)?)))
        .and_then(|(a, b)| {
            fn make<'a>(suite: &'a Option<PathBuf>, path: &'a Path) -> Rater<'a> {
                match suite {
                    Some(s) => Rater::Journal {
                        results: Input::Path(path),
                        suite: Input::Path(s),
                    },
                    None => Rater::Labels(Input::Path(path)),
                }
            }
            let options = args.bootstrap.options();
            agreement(
                &make(&a.0, a.1),
                &make(&b.0, b.1),
                options.seed,
                options.resamples as usize,
            )
        });
    let text = result.and_then(|r| {
        Ok(match args.format {
            ReportFormat::Table => r.table(),
            ReportFormat::Md => r.markdown(),
            ReportFormat::Json => json(&r)?,
            ReportFormat::Html => {
                return Err(
                    Diagnostic::new(Code::InvalidSetting, "`agree` has no HTML form")
                        .help("use --format table, md or json"),
                );
            }
        })
    });
    match text {
        Ok(text) => emit(&text, args.output.as_deref(), &args.diagnostics),
        Err(d) => fail(&args.diagnostics, d),
    }
}

fn fail(diagnostics: &DiagnosticArgs, d: Diagnostic) -> bool {
    diagnostics.report(&[d], &SourceMap::new());
    false
}

/// Writes `text` to `output` (atomically: nothing is left behind on an error) or to standard
/// output.
pub fn emit(text: &str, output: Option<&Path>, diagnostics: &DiagnosticArgs) -> bool {
    match output {
        None => super::print(text),
        Some(path) => match quandary::export::to_file(path, |w| {
            quandary::export::write_text(w, text, &path.display().to_string())
        }) {
            Ok(()) => true,
            Err(d) => {
                let help = d.help.clone();
                let mut d =
                    Diagnostic::new(Code::Io, format!("cannot write the output: {}", d.message))
                        .path(path.display().to_string());
                if let Some(help) = help {
                    d = d.help(help);
                }
                fail(diagnostics, d)
            }
        },
    }
}

/// `report` of the run `sources` names in `format`; the HTML page's browser lists every
/// answered scenario (up to its bound), with its answer.
pub fn render(
    report: &report::Report,
    sources: &report::Sources<'_>,
    format: ReportFormat,
) -> Result<String, Diagnostic> {
    Ok(match format {
        ReportFormat::Table => report.table(),
        ReportFormat::Md => report.markdown(),
        ReportFormat::Html => quandary::project::html(report, sources)?,
        ReportFormat::Json => json(report)?,
    })
}

fn json(value: &impl serde::Serialize) -> Result<String, Diagnostic> {
    serde_json::to_string_pretty(value)
        .map(|j| j + "\n")
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot write the report as JSON: {e}")))
}

pub fn run(args: Args) -> bool {
    let text = ReportInputs::find(
        &args.results,
        args.suite.as_deref(),
        args.framework.as_deref(),
    )
    .and_then(|inputs| {
        let sources = inputs.sources(&args.results, args.steer.as_deref());
        let options = Options {
            pass_alignment: args.pass_alignment,
            ..args.bootstrap.options()
        };
        let r = report::report(&sources, &options)?;
        render(&r, &sources, args.format)
    });
    match text {
        Ok(text) => emit(&text, args.output.as_deref(), &args.diagnostics),
        Err(d) => fail(&args.diagnostics, d),
    }
}

pub fn diff(args: DiffArgs) -> bool {
    let inputs = ReportInputs::find(&args.base, None, args.framework.as_deref()).and_then(|a| {
        Ok((
            a,
            ReportInputs::find(&args.other, None, args.framework.as_deref())?,
        ))
    });
    let text = inputs.and_then(|(a, b)| {
        let steer = args.steer.as_deref();
        report::diff(
            &a.sources(&args.base, steer),
            &b.sources(&args.other, steer),
            &args.bootstrap.options(),
        )
    });
    let text = text.and_then(|d| {
        Ok(match args.format {
            ReportFormat::Table => d.table(),
            ReportFormat::Md => d.markdown(),
            ReportFormat::Json => json(&d)?,
            ReportFormat::Html => {
                return Err(Diagnostic::new(
                    Code::InvalidSetting,
                    "`diff` has no HTML form",
                )
                .help("use --format table, md or json, or `quandary report --format html` on each journal"));
            }
        })
    });
    match text {
        Ok(text) => emit(&text, args.output.as_deref(), &args.diagnostics),
        Err(d) => fail(&args.diagnostics, d),
    }
}

/// Arguments of `fit`.
#[derive(clap::Args, Debug)]
pub struct FitArgs {
    /// A results journal written by `quandary eval`
    #[arg(value_name = "RESULTS.jsonl")]
    pub results: PathBuf,
    /// The suite the results answer (default: the one named in the results header)
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// The framework file the profile is for: values are written as it names them (default:
    /// the file the suite was expanded from)
    #[arg(long, value_name = "FILE")]
    pub framework: Option<PathBuf>,
    /// Fit the run under this steer (default: the run without a steer)
    #[arg(long, value_name = "ID")]
    pub steer: Option<String>,
    /// The id of the profile printed
    #[arg(long, default_value = "fitted", value_name = "ID")]
    pub name: String,
    /// The L2 penalty on the utilities (a Gaussian prior; keeps them finite when choices are
    /// deterministic)
    #[arg(long, default_value_t = 1.0, value_name = "X")]
    pub l2: f64,
    /// Output: a `profile` block of the language, or JSON
    #[arg(long, value_enum, default_value_t = FitFormat::Qd)]
    pub format: FitFormat,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// How `fit` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum FitFormat {
    /// A `profile` block to paste into a framework
    Qd,
    /// One JSON object
    Json,
}

pub fn fit(args: FitArgs) -> bool {
    let valid_id = args
        .name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && args
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid_id {
        return fail(
            &args.diagnostics,
            Diagnostic::new(
                Code::InvalidSetting,
                format!("`{}` is not an identifier", args.name),
            )
            .help("give --name a snake_case id such as `fitted_gpt4`"),
        );
    }
    let text = ReportInputs::find(
        &args.results,
        args.suite.as_deref(),
        args.framework.as_deref(),
    )
    .and_then(|inputs| {
        report::fit::fit(
            &inputs.sources(&args.results, args.steer.as_deref()),
            args.l2,
        )
    })
    .and_then(|f| match args.format {
        FitFormat::Qd => Ok(f.profile(&args.name)),
        FitFormat::Json => json(&f),
    });
    match text {
        Ok(text) => emit(&text, args.output.as_deref(), &args.diagnostics),
        Err(d) => fail(&args.diagnostics, d),
    }
}
