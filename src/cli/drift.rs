//! `quandary drift RUN…`: how each value's score moves across checkpoints of one model.

use std::path::{Path, PathBuf};

use clap::ValueEnum;
use quandary::project::{ReportInputs, RunFolder};
use quandary::report::drift;
use quandary::{Code, Diagnostic, SourceMap};

use super::DiagnosticArgs;

/// Arguments of `drift`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The checkpoints' runs in training order: results journals of one suite, or run
    /// folders as `quandary run` writes them
    #[arg(value_name = "RUN", num_args = 2.., required = true)]
    pub runs: Vec<PathBuf>,
    /// Names of the checkpoints, comma-separated, one per run (default: the file stems, or
    /// the folders' names)
    #[arg(long, value_name = "A,B,…", value_delimiter = ',')]
    pub labels: Option<Vec<String>>,
    /// The framework for labels (default: the file each suite was expanded from)
    #[arg(long, value_name = "FILE")]
    pub framework: Option<PathBuf>,
    /// Follow the runs under this steer in every journal (default: the plain runs)
    #[arg(long, value_name = "ID")]
    pub steer: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = DriftFormat::Table)]
    pub format: DriftFormat,
    /// Write to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// How `drift` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DriftFormat {
    /// An aligned table
    Table,
    /// One JSON object
    Json,
    /// One self-contained HTML page with a chart per value
    Html,
}

/// A run given on the command line: its journal, and the suite of a run folder.
fn journal(path: &Path) -> (PathBuf, Option<PathBuf>) {
    if path.is_dir() {
        let folder = RunFolder {
            dir: path.to_path_buf(),
        };
        (folder.results(), Some(folder.suite()))
    } else {
        (path.to_path_buf(), None)
    }
}

/// A checkpoint's default name: a journal's stem (`ckpt1` for `ckpt1.results.jsonl`), a
/// folder's name.
fn default_label(path: &Path) -> String {
    let name = if path.is_dir() {
        path.file_name()
    } else {
        path.file_stem()
    };
    let name = name.map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match name.strip_suffix(".results") {
        Some(stem) if !stem.is_empty() => stem.to_string(),
        _ => name,
    }
}

pub fn run(args: Args) -> bool {
    let labels: Vec<String> = match &args.labels {
        Some(l) => l.iter().map(|s| s.trim().to_string()).collect(),
        None => args.runs.iter().map(|p| default_label(p)).collect(),
    };
    let journals: Vec<(PathBuf, Option<PathBuf>)> = args.runs.iter().map(|p| journal(p)).collect();
    let inputs: Result<Vec<ReportInputs>, Diagnostic> = journals
        .iter()
        .map(|(results, suite)| {
            ReportInputs::find(results, suite.as_deref(), args.framework.as_deref())
        })
        .collect();
    let text = inputs.and_then(|inputs| {
        let sources: Vec<_> = inputs
            .iter()
            .zip(&journals)
            .map(|(i, (results, _))| i.sources(results, args.steer.as_deref()))
            .collect();
        let d = drift::drift(&sources, &labels)?;
        Ok(match args.format {
            DriftFormat::Table => d.table(),
            DriftFormat::Html => d.html(),
            DriftFormat::Json => {
                serde_json::to_string_pretty(&d)
                    .map(|j| j + "\n")
                    .map_err(|e| {
                        Diagnostic::new(Code::Io, format!("cannot write the drift as JSON: {e}"))
                    })?
            }
        })
    });
    match text {
        Ok(text) => super::report::emit(&text, args.output.as_deref(), &args.diagnostics),
        Err(d) => {
            args.diagnostics.report(&[d], &SourceMap::new());
            false
        }
    }
}
