//! `quandary tree FILE`

use std::path::PathBuf;

use super::DiagnosticArgs;

/// Arguments of `tree`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The framework file whose hierarchy to print
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Also show each label's translation into this language (e.g. `zh`)
    #[arg(long, value_name = "LANG")]
    pub lang: Option<String>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
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
    super::print(&quandary::stats::tree(
        &loaded.framework,
        root,
        args.lang.as_deref(),
    ))
}
