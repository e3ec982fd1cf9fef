//! `quandary run FILE`: expand, evaluate and report in one command, into a run folder.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use quandary::expand::Expansion;
use quandary::report::{self, Sources};
use quandary::{Code, Diagnostic, SourceMap};

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
    pub bootstrap: BootstrapArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

fn fail(diagnostics: &DiagnosticArgs, d: Diagnostic) -> bool {
    diagnostics.report(&[d], &SourceMap::new());
    false
}

fn io(path: &Path, what: &str, e: std::io::Error) -> Diagnostic {
    Diagnostic::new(
        Code::Io,
        format!(
            "cannot {what} `{}`: {}",
            path.display(),
            e.to_string().to_lowercase()
        ),
    )
    .path(path.display().to_string())
    .help("give a writable run folder with -o DIR")
}

/// The first line of a file, parsed, if it is JSON.
fn first_line(path: &Path) -> Option<serde_json::Value> {
    let file = std::fs::File::open(path).ok()?;
    let mut line = String::new();
    std::io::BufReader::new(file).read_line(&mut line).ok()?;
    serde_json::from_str(&line).ok()
}

pub fn run(args: Args) -> bool {
    let Some((loaded, suite)) =
        super::expand::load_suite(&args.file, args.suite.suite.as_deref(), &args.diagnostics)
    else {
        return false;
    };
    let suite_name = loaded.framework.suites[suite.index()].id.clone();
    let dir = args
        .output
        .clone()
        .unwrap_or_else(|| Path::new("runs").join(&suite_name));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return fail(&args.diagnostics, io(&dir, "create the run folder", e));
    }
    let suite_file = dir.join("suite.jsonl");
    let results = dir.join("results.jsonl");

    // Expand, unless the folder already holds this very suite (a resumed run).
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let options = args.suite.options(threads, None);
    let expansion = match Expansion::new(&loaded.framework, &loaded.sources, suite, &options) {
        Ok(e) => e,
        Err(d) => {
            args.diagnostics.report(&d, &loaded.sources);
            return false;
        }
    };
    if first_line(&suite_file).as_ref() == Some(&expansion.header(None)) {
        eprintln!("{} holds this suite already", suite_file.display());
    } else {
        if results.exists() {
            return fail(
                &args.diagnostics,
                Diagnostic::new(
                    Code::InvalidSetting,
                    format!(
                        "`{}` holds the results of another suite (other sources, seed or count)",
                        dir.display()
                    ),
                )
                .help("give another run folder with -o DIR, or remove this one"),
            );
        }
        let written = quandary::export::to_file(&suite_file, |out| {
            expansion.run(out, &options, &mut |_, _| {})
        });
        match written {
            Ok(summary) => eprintln!(
                "expanded {} scenarios into {}",
                summary.written,
                suite_file.display()
            ),
            Err(d) => return fail(&args.diagnostics, d),
        }
    }

    // Evaluate: the framework's first profile unless told otherwise, or, for a framework
    // without one, the random baseline.
    let mut ask = args.ask.clone();
    if ask.adapter.is_none() && ask.framework.is_none() && loaded.framework.profiles.is_empty() {
        eprintln!(
            "note: `{}` declares no profile, so the random baseline answers (give --adapter, \
             or add a `profile` block)",
            args.file.display()
        );
        ask.adapter = Some("random".into());
    }
    if !super::eval::evaluate(&suite_file, &results, &ask, &args.diagnostics) {
        return false;
    }

    // Report.
    let sources = Sources {
        results: &results,
        suite: Some(&suite_file),
        framework: None,
        steer: None,
    };
    let report = match report::report(&sources, &args.bootstrap.options()) {
        Ok(r) => r,
        Err(d) => return fail(&args.diagnostics, d),
    };
    let json = match serde_json::to_string_pretty(&report) {
        Ok(j) => j + "\n",
        Err(e) => {
            return fail(
                &args.diagnostics,
                Diagnostic::new(Code::Io, format!("cannot write the report as JSON: {e}")),
            );
        }
    };
    for (name, text) in [
        ("report.json", json),
        ("report.md", report.markdown()),
        ("report.html", report.html()),
    ] {
        let path = dir.join(name);
        let written = quandary::export::to_file(&path, |w| {
            quandary::export::write_text(w, &text, &path.display().to_string())
        });
        if let Err(d) = written {
            return fail(&args.diagnostics, d);
        }
    }
    let ok = super::print(&report.brief(args.rows));
    eprintln!(
        "\nthe run is in {}: suite.jsonl, results.jsonl, report.json, report.md, report.html",
        dir.display()
    );
    ok
}
