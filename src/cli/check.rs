//! `quandary check FILE…`

use std::path::PathBuf;

use super::DiagnosticArgs;

/// Arguments of `check`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Source files to check (with everything they import)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

pub fn run(args: Args) -> bool {
    let loaded = quandary::load_files(&args.files);
    !args
        .diagnostics
        .report(&loaded.diagnostics, &loaded.sources)
}
