//! `quandary stats FILE`

use std::path::PathBuf;

use clap::ValueEnum;
use quandary::stats::Stats;

use super::DiagnosticArgs;

/// Arguments of `stats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The framework file to summarise
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// How `stats` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    /// An aligned table
    Table,
    /// One JSON object
    Json,
}

pub fn run(args: Args) -> bool {
    let loaded = quandary::load_path(&args.file);
    if args
        .diagnostics
        .report(&loaded.diagnostics, &loaded.sources)
        || loaded.has_errors()
    {
        return false;
    }
    let Some(&root) = loaded.framework.roots.first() else {
        return false;
    };
    let stats = Stats::of(&loaded.framework, root);
    let text = match args.format {
        StatsFormat::Table => stats.table(),
        StatsFormat::Json => match serde_json::to_string_pretty(&stats) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("error: cannot write the statistics as JSON: {e}");
                return false;
            }
        },
    };
    super::print(&text)
}
