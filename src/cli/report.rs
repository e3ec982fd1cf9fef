//! `quandary report RESULTS.jsonl`

use std::path::PathBuf;

use clap::ValueEnum;
use quandary::SourceMap;

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
    /// Report on the run under this steer (default: the run without a steer)
    #[arg(long, value_name = "ID")]
    pub steer: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// How `report` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// An aligned table
    Table,
    /// One JSON object
    Json,
}

pub fn run(args: Args) -> bool {
    let report =
        match quandary::report::report(&args.results, args.suite.as_deref(), args.steer.as_deref())
        {
            Ok(r) => r,
            Err(d) => {
                args.diagnostics.report(&[d], &SourceMap::new());
                return false;
            }
        };
    let text = match args.format {
        ReportFormat::Table => report.table(),
        ReportFormat::Json => match serde_json::to_string_pretty(&report) {
            Ok(j) => j + "\n",
            Err(e) => {
                eprintln!("error: cannot write the report as JSON: {e}");
                return false;
            }
        },
    };
    super::print(&text)
}
