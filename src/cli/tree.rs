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
    // A language no label is in shows nothing more: say so, and which there are.
    if let Some(lang) = args.lang.as_deref() {
        let langs = quandary::stats::label_languages(&loaded.framework, root);
        if !langs.iter().any(|l| l == lang) {
            let have = if langs.is_empty() {
                "no label is translated".to_string()
            } else {
                format!(
                    "labels are translated into {}",
                    quandary::suggest::code_list(&langs)
                )
            };
            let hint = quandary::suggest::similar(lang, langs.iter().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            eprintln!("note: no label of the hierarchy is in `{lang}`: {have}{hint}");
        }
    }
    super::print(&quandary::stats::tree(
        &loaded.framework,
        root,
        args.lang.as_deref(),
    ))
}
