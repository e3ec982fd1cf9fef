//! `quandary expand FILE` and `quandary explain FILE ID`

use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use quandary::expand::{DEFAULT_MAX, Expansion, Options, Shard};
use quandary::model::SuiteId;
use quandary::{Code, Diagnostic, Project};

use super::DiagnosticArgs;

/// Arguments of `expand`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The file declaring the suite (with everything it imports)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    #[command(flatten)]
    pub suite: SuiteArgs,
    /// Write only shard K of N (1-based): the scenarios whose index is K-1 modulo N
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<Shard>,
    /// Rendering threads (default: the number of cores); the output does not depend on it
    #[arg(long, value_name = "N", value_parser = super::threads)]
    pub threads: Option<usize>,
    /// Write the suite to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// Choosing and adjusting a suite.
#[derive(clap::Args, Debug, Clone)]
pub struct SuiteArgs {
    /// The suite to expand (default: the file's first suite)
    #[arg(long, value_name = "NAME")]
    pub suite: Option<String>,
    /// Replace the suite's seed
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Replace the suite's size with `count N`
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Refuse suites larger than this
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX)]
    pub max_scenarios: u64,
}

impl SuiteArgs {
    /// The options of a run with these arguments.
    pub fn options(&self, threads: usize, shard: Option<Shard>) -> Options {
        Options {
            seed: self.seed,
            count: self.count,
            max: self.max_scenarios,
            threads,
            shard,
        }
    }
}

pub(super) fn parse_shard(text: &str) -> Result<Shard, String> {
    let (k, n) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}` is not of the form K/N, e.g. 1/3"))?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| format!("`{k}` is not a whole number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("`{n}` is not a whole number"))?;
    if n == 0 || k == 0 || k > n {
        return Err(format!("shard {k}/{n} does not exist: K runs from 1 to N"));
    }
    Ok(Shard { index: k, of: n })
}

/// Loads `file` and reports its diagnostics; `None` when it has errors.
pub fn load_project(file: &Path, diagnostics: &DiagnosticArgs) -> Option<Project> {
    let mut project = Project::load(file);
    // `check` judges a suite's size against the default maximum; a run judges it against
    // its own (`--max-scenarios`) when it builds the expansion.
    project.forget(Code::SuiteTooLarge);
    if diagnostics.report(project.diagnostics(), project.sources()) || project.has_errors() {
        return None;
    }
    Some(project)
}

/// Loads `file`, reports its diagnostics, and finds the suite named `name` (or the first).
pub fn load_suite(
    file: &Path,
    name: Option<&str>,
    diagnostics: &DiagnosticArgs,
) -> Option<(Project, SuiteId)> {
    let project = load_project(file, diagnostics)?;
    match project.suite(name) {
        Ok(s) => Some((project, s)),
        Err(d) => {
            diagnostics.report(&[d], project.sources());
            None
        }
    }
}

pub fn run(args: Args) -> bool {
    let Some((project, suite)) =
        load_suite(&args.file, args.suite.suite.as_deref(), &args.diagnostics)
    else {
        return false;
    };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let options = args.suite.options(threads, args.shard);
    let expansion = match project.expansion(suite, &options) {
        Ok(e) => e,
        Err(d) => {
            args.diagnostics.report(&d, project.sources());
            return false;
        }
    };
    // A regular file is written under a temporary name and put in place when whole, so a
    // failed expansion leaves the previous file as it was; a device or FIFO is written
    // through.
    let mut file = match &args.output {
        Some(path) => match quandary::output::Output::create(path) {
            Ok(f) => Some(f),
            Err(d) => {
                args.diagnostics.report(&[d], project.sources());
                return false;
            }
        },
        None => None,
    };
    let mut stdout;
    let (out, name): (&mut dyn Write, String) = match (&mut file, &args.output) {
        (Some(f), Some(path)) => (f.writer(), path.display().to_string()),
        _ => {
            stdout = BufWriter::with_capacity(1 << 20, std::io::stdout().lock());
            (&mut stdout, "standard output".to_string())
        }
    };
    let bar = progress_bar(expansion.planned());
    let mut on_progress = |done: u64, _total: u64| {
        if let Some(bar) = &bar {
            bar.set_position(done);
        }
    };
    let result = expansion.run(out, &options, &mut on_progress);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let result = match (result, file) {
        (Ok(summary), Some(file)) => file.commit().map(|_| summary),
        (result, _) => result,
    };
    match result {
        Ok(summary) => {
            let mut line = format!(
                "wrote {} of {} scenarios to {name}",
                summary.written, summary.scenarios
            );
            if summary.filtered > 0 {
                line.push_str(&format!(
                    "; {} draws dropped (by `require conflict`, or as a rule pair or diverse set \
                     drawn before)",
                    summary.filtered
                ));
            }
            if summary.duplicates > 0 {
                line.push_str(&format!("; {} duplicates dropped", summary.duplicates));
            }
            eprintln!("{line}");
            true
        }
        Err(d) => {
            // A broken pipe (`| head`) is not an error of the suite.
            if d.message.contains("Broken pipe") {
                return true;
            }
            args.diagnostics.report(&[d], project.sources());
            false
        }
    }
}

/// A progress bar on stderr when it is a terminal.
fn progress_bar(total: u64) -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() || total < 10_000 {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} draws  {per_sec}  eta {eta}")
    {
        bar.set_style(style);
    }
    Some(bar)
}

/// Arguments of `explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The file declaring the suite
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// The scenario id, as in the suite (`s…`)
    #[arg(value_name = "ID")]
    pub id: String,
    #[command(flatten)]
    pub suite: SuiteArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

pub fn explain(args: ExplainArgs) -> bool {
    let loaded = quandary::load_path(&args.file);
    if args
        .diagnostics
        .report(&loaded.diagnostics, &loaded.sources)
        || loaded.has_errors()
    {
        return false;
    }
    let root = loaded.framework.root_module();
    let suites: Vec<SuiteId> = match &args.suite.suite {
        Some(name) => root
            .suites
            .iter()
            .copied()
            .filter(|s| loaded.framework.suites[s.index()].id == *name)
            .collect(),
        None => root.suites.clone(),
    };
    let id = args.id.trim();
    if quandary::expand::scenario_index(id).is_some() && suites.len() > 1 {
        let names: Vec<&str> = suites
            .iter()
            .map(|s| loaded.framework.suites[s.index()].id.as_str())
            .collect();
        let d = Diagnostic::new(
            Code::InvalidSetting,
            format!(
                "`{id}` is an index, and `{}` has {} suites",
                args.file.display(),
                suites.len()
            ),
        )
        .help(format!(
            "an index names a line of one suite: add --suite NAME ({})",
            names.join(", ")
        ));
        args.diagnostics.report(&[d], &loaded.sources);
        return false;
    }
    let options = args.suite.options(1, None);
    for suite in suites {
        let expansion = match Expansion::new(&loaded.framework, &loaded.sources, suite, &options) {
            Ok(e) => e,
            Err(d) => {
                args.diagnostics.report(&d, &loaded.sources);
                return false;
            }
        };
        match expansion.explain(&args.id) {
            Ok(Some(text)) => return super::print(&text),
            Ok(None) => {}
            Err(d) => {
                args.diagnostics.report(&[d], &loaded.sources);
                return false;
            }
        }
    }
    let d = Diagnostic::new(
        Code::UnknownReference,
        format!(
            "no scenario `{}` in the suites of `{}`",
            args.id,
            args.file.display()
        ),
    )
    .path(args.file.display().to_string())
    .help("ids come from `quandary expand`; pass the same --suite, --seed and --count as then");
    args.diagnostics.report(&[d], &loaded.sources);
    false
}
