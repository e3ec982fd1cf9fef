//! `quandary export SUITE.jsonl --to FORMAT` and `quandary export RESULTS.jsonl --to
//! preference-pairs`

use std::io::Write;
use std::path::{Path, PathBuf};

use quandary::export::{self, Format, SuiteExport};
use quandary::{Code, Diagnostic, SourceMap};

use super::DiagnosticArgs;
use super::eval::{ChatArgs, RequestArgs, framework_for, labels, presentation};

/// Arguments of `export`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A suite written by `quandary expand`, or, for `preference-pairs`, a results file
    /// written by `quandary eval`
    #[arg(value_name = "SUITE.jsonl|RESULTS.jsonl")]
    pub input: PathBuf,
    /// What to write: `inspect`, `lm-eval`, `promptfoo`, `openai-batch` or `preference-pairs`
    #[arg(long, value_name = "FORMAT")]
    pub to: String,
    /// Where to write: a file for `inspect`, `openai-batch` and `preference-pairs` (default:
    /// standard output), a directory for `lm-eval` and `promptfoo` (required)
    #[arg(short, long, value_name = "PATH")]
    pub output: Option<PathBuf>,
    /// A results file of the same suite whose recorded choices become the targets (not for
    /// `preference-pairs`)
    #[arg(long, value_name = "RESULTS.jsonl")]
    pub target: Option<PathBuf>,
    /// For `preference-pairs`: the suite the results answer (default: the one named in the
    /// results header)
    #[arg(long, value_name = "FILE")]
    pub suite: Option<PathBuf>,
    /// How the scenarios are shown, as `eval` shows them; `--steer` and `--epochs` as for
    /// `eval` with `--to openai-batch`
    #[command(flatten)]
    pub requests: RequestArgs,
    /// For `--to openai-batch`: the body of each request, as the `openai` adapter of `eval`
    /// makes it
    #[command(flatten)]
    pub chat: ChatArgs,
    /// For `--to openai-batch`: only the requests of shard K of N (1-based), the scenarios
    /// whose index is K-1 modulo N, as `eval --shard` asks them: a batch in N files, each
    /// imported with the same `--shard`, the journals joined with `quandary merge`
    #[arg(long, value_name = "K/N", value_parser = super::expand::parse_shard)]
    pub shard: Option<quandary::expand::Shard>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

fn fail(args: &Args, d: Diagnostic) -> bool {
    args.diagnostics.report(&[d], &SourceMap::new());
    false
}

fn misplaced(flag: &str, format: Format, help: &str) -> Diagnostic {
    Diagnostic::new(
        Code::InvalidSetting,
        format!("{flag} does not apply to `--to {}`", format.name()),
    )
    .help(help.to_string())
}

pub fn run(args: Args) -> bool {
    let format = match Format::from_name(&args.to) {
        Ok(f) => f,
        Err(d) => return fail(&args, d),
    };
    if format.reads_results() && args.target.is_some() {
        return fail(
            &args,
            misplaced(
                "--target",
                format,
                "preference pairs take their choices from the results file itself",
            ),
        );
    }
    if !format.reads_results() && args.suite.is_some() {
        return fail(
            &args,
            misplaced(
                "--suite",
                format,
                "give the suite itself as the input; --suite names the suite of a results file",
            ),
        );
    }
    if format.writes_directory() && args.output.is_none() {
        return fail(
            &args,
            Diagnostic::new(
                Code::InvalidSetting,
                format!(
                    "`--to {}` writes several files and needs a directory",
                    format.name()
                ),
            )
            .help(format!("give one with -o DIR, e.g. `-o {}`", format.name())),
        );
    }
    let steers = &args.requests.steers;
    if format == Format::OpenAiBatch {
        for (given, flag, help) in [
            (
                args.target.is_some(),
                "--target",
                "a batch holds requests, not targets: export them without --target",
            ),
            (
                args.suite.is_some(),
                "--suite",
                "give the suite itself as the input; --suite names the suite of a results file",
            ),
        ] {
            if given {
                return fail(&args, misplaced(flag, format, help));
            }
        }
    } else {
        if args.shard.is_some() {
            return fail(
                &args,
                misplaced(
                    "--shard",
                    format,
                    "split the suite itself with `quandary expand --shard K/N`",
                ),
            );
        }
        if steers.iter().any(|s| s == "all") {
            return fail(
                &args,
                Diagnostic::new(
                    Code::InvalidSetting,
                    "an export holds one run, not `all` steers",
                )
                .help("give one steer's id, and export once per steer"),
            );
        }
        if steers.len() > 1 {
            let d = Diagnostic::new(
                Code::InvalidSetting,
                format!(
                    "an export to `{}` holds one run, not {} steers",
                    format.name(),
                    steers.len()
                ),
            )
            .help(
                "give one steer's id, and export once per steer (`--to openai-batch` takes \
                 several)",
            );
            return fail(&args, d);
        }
        for (given, flag) in [
            (args.requests.epochs > 1, "--epochs"),
            (args.chat.model.is_some(), "--model"),
        ] {
            if given {
                return fail(
                    &args,
                    misplaced(
                        flag,
                        format,
                        "it says how `--to openai-batch` asks a model: leave it out",
                    ),
                );
            }
        }
    }
    let result = if format.reads_results() {
        pairs(&args)
    } else if format == Format::OpenAiBatch {
        batch(&args)
    } else {
        suite(&args, format)
    };
    match result {
        Ok(summary) => {
            eprintln!("{summary}");
            true
        }
        Err(d) => fail(&args, d),
    }
}

/// The presentation and steers the flags ask for, for the suite with `header`: an export
/// shows what a run shows.
fn shown(
    args: &Args,
    header: &serde_json::Value,
    steers: &[String],
) -> Result<(quandary::eval::Presentation, Vec<quandary::eval::Steer>), Diagnostic> {
    let r = &args.requests;
    let needed = r.prompt.is_some() || !steers.is_empty();
    let framework = framework_for(r.framework.as_deref(), header, needed)?;
    presentation(
        framework.as_ref(),
        r.prompt.as_deref(),
        labels(r.labels),
        r.answer,
        steers,
        r.lang.as_deref(),
    )
}

/// Exports a suite as the input file of a batch; says what was written.
fn batch(args: &Args) -> Result<String, Diagnostic> {
    let chat = args.chat.settings()?;
    let header =
        quandary::formats::suite::read_header(quandary::formats::Input::Path(&args.input))?;
    let (mut settings, _) = args.requests.settings(&header, false)?;
    settings.shard = args.shard.map(|s| (s.index, s.of));
    let w = match &args.output {
        Some(path) => export::to_file(path, |out| {
            export::openai_batch::write(&args.input, &settings, &chat, out)
        })?,
        None => export::openai_batch::write(
            &args.input,
            &settings,
            &chat,
            &mut std::io::BufWriter::new(Stdout::new()),
        )?,
    };
    let mut summary = format!(
        "wrote {} for {} to {}",
        plural(w.requests, "request"),
        plural(w.scenarios, "scenario"),
        place(args.output.as_deref())
    );
    if w.left_out > 0 {
        summary.push_str(&format!(
            "; {} left out: their prompt cannot be rendered, or the scenario has no options \
             (`eval` sends nothing for them either)",
            plural(w.left_out, "request")
        ));
    }
    if let Some(shards) = export::openai_batch::shards_needed(&w) {
        let of = args.shard.map_or(1, |s| s.of);
        summary.push_str(&format!(
            "\nwarning: a file of OpenAI's Batch API holds at most {} requests and {} MB; \
             this one has {} in {:.1} MB: export it in {} parts with --shard 1/{n} … \
             --shard {n}/{n}",
            export::openai_batch::MAX_REQUESTS,
            export::openai_batch::MAX_BYTES / 1_000_000,
            w.requests,
            w.bytes as f64 / 1e6,
            shards * of,
            n = shards * of
        ));
    }
    Ok(summary)
}

/// Exports a suite; says what was written.
fn suite(args: &Args, format: Format) -> Result<String, Diagnostic> {
    let header =
        quandary::formats::suite::read_header(quandary::formats::Input::Path(&args.input))?;
    let (presentation, steers) = shown(args, &header, &args.requests.steers)?;
    let settings = SuiteExport {
        presentation,
        steer: steers.into_iter().next(),
        target: args.target.clone(),
    };
    let (written, place) = if format == Format::Inspect {
        let w = match &args.output {
            Some(path) => export::to_file(path, |out| {
                export::inspect::write(&args.input, &settings, out)
            })?,
            None => export::inspect::write(
                &args.input,
                &settings,
                &mut std::io::BufWriter::new(Stdout::new()),
            )?,
        };
        (w, place(args.output.as_deref()))
    } else {
        let dir = args.output.as_deref().unwrap_or(Path::new("."));
        let w = if format == Format::LmEval {
            export::lm_eval::write(&args.input, &settings, dir)?
        } else {
            export::promptfoo::write(&args.input, &settings, dir)?
        };
        let files: Vec<String> = w.files.iter().map(|f| f.display().to_string()).collect();
        let place = files.join(" and ");
        (w, place)
    };
    let noun = match format {
        Format::LmEval => "documents",
        Format::Promptfoo => "test cases",
        _ => "samples",
    };
    let mut summary = String::new();
    for note in &written.notes {
        summary.push_str(&format!("warning: {note}\n"));
    }
    summary.push_str(&format!("wrote {} {noun} to {place}", written.samples));
    if written.untargeted > 0 {
        summary.push_str(&format!(
            "; {} left out: the target run chose no option there",
            plural(written.untargeted, "scenario")
        ));
    }
    Ok(summary)
}

fn place(output: Option<&Path>) -> String {
    output.map_or_else(
        || "standard output".to_string(),
        |p| p.display().to_string(),
    )
}

fn plural(n: u64, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Exports the preference pairs of a results file; says what was written and skipped.
fn pairs(args: &Args) -> Result<String, Diagnostic> {
    let header = export::results_header(&args.input)?;
    let suite_path = match &args.suite {
        Some(s) => s.clone(),
        None => header
            .get("suite_file")
            .and_then(|f| f.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| {
                Diagnostic::new(
                    Code::Io,
                    format!(
                        "the header of `{}` names no suite file",
                        args.input.display()
                    ),
                )
                .help("give the suite with --suite FILE")
            })?,
    };
    // The suite's header names the framework, and with it the prompt the run used.
    let suite_header =
        quandary::formats::suite::read_header(quandary::formats::Input::Path(&suite_path))
            .map_err(|d| d.help("give the suite with --suite FILE"))?;
    let (presentation, _) = shown(args, &suite_header, &[])?;
    let steer = args.requests.steers.first().map(String::as_str);
    let p = match &args.output {
        Some(path) => export::to_file(path, |out| {
            export::preference_pairs::write(
                &args.input,
                Some(&suite_path),
                &presentation,
                steer,
                out,
            )
        })?,
        None => export::preference_pairs::write(
            &args.input,
            Some(&suite_path),
            &presentation,
            steer,
            &mut std::io::BufWriter::new(Stdout::new()),
        )?,
    };
    Ok(format!(
        "wrote {} from {} to {}; skipped {} unparsed, {} refused and {} failed, and {} without an answer",
        plural(p.pairs, "pair"),
        plural(p.answered, "answered scenario"),
        place(args.output.as_deref()),
        p.unparsed,
        p.refused,
        p.errors,
        plural(p.unanswered, "scenario"),
    ))
}

/// Standard output that treats a closed pipe (`… | head`) as the reader having had enough:
/// what follows is dropped, and the export ends without an error.
struct Stdout {
    out: std::io::StdoutLock<'static>,
    closed: bool,
}

impl Stdout {
    fn new() -> Stdout {
        Stdout {
            out: std::io::stdout().lock(),
            closed: false,
        }
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.closed {
            return Ok(buf.len());
        }
        match self.out.write(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(buf.len())
            }
            r => r,
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.closed {
            return Ok(());
        }
        match self.out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(())
            }
            r => r,
        }
    }
}
