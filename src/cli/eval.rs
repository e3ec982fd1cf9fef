//! `quandary eval SUITE.jsonl`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use quandary::eval::present::Labels;
use quandary::eval::{self, Adapter, Presentation, Settings};
use quandary::{Code, Diagnostic, SourceMap};

use super::DiagnosticArgs;

/// Arguments of `eval`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A suite written by `quandary expand`
    #[arg(value_name = "SUITE.jsonl")]
    pub suite: PathBuf,
    /// The results journal (default: SUITE.results.jsonl beside the suite); run the same
    /// command again to resume it
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print how many requests the run would make and an estimate of prompt tokens, and stop
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub ask: AskArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// Who answers and how they are asked: shared by `eval` and `run`.
#[derive(clap::Args, Debug, Clone)]
pub struct AskArgs {
    /// Who answers: `profile` (the first profile of the suite's framework) or
    /// `profile:NAME`, `random`, `openai`, `command` (with --command) or `replay` (with
    /// --from) [default: profile]
    #[arg(long, value_name = "ADAPTER")]
    pub adapter: Option<String>,
    /// Requests in flight at once
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
    /// Ask again the scenarios whose recorded answer is an error
    #[arg(long)]
    pub retry_errors: bool,
    /// The framework file with the profiles (default: the file the suite was expanded from)
    #[arg(long, value_name = "FILE")]
    pub framework: Option<PathBuf>,
    /// Softmax temperature of the profile agent (0: always the heaviest option), and the
    /// sampling temperature the `openai` adapter asks for
    #[arg(long, default_value_t = 0.0, value_name = "T", value_parser = super::temperature)]
    pub temperature: f64,
    /// Seed of the random and profile adapters, and the sampling seed the `openai` adapter
    /// asks for
    #[arg(
        id = "adapter_seed",
        long = "adapter-seed",
        default_value_t = 0,
        value_name = "N"
    )]
    pub seed: u64,
    /// How options are labelled in the prompt (a `prompt` block's `labels` wins)
    #[arg(long, value_enum, default_value_t = LabelStyle::Letters)]
    pub labels: LabelStyle,
    /// The `openai` adapter's API, up to and including `/v1` (any OpenAI-compatible
    /// chat-completions server)
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080/v1")]
    pub base_url: String,
    /// The model the `openai` adapter asks for
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The environment variable holding the `openai` adapter's API key (unset: no key, as
    /// local servers need none); the key is never written anywhere
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// The longest answer the `openai` adapter asks for, in tokens
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_tokens: u32,
    /// How the `openai` adapter reads an answer: the first token's `logprobs`, parsing the
    /// text, or both (the logprobs decide when they name an option)
    #[arg(long, value_enum, default_value_t = ReadMode::Both)]
    pub mode: ReadMode,
    /// Seconds one `openai` request, or one `command` answer, may take
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = super::seconds)]
    pub timeout: f64,
    /// Retries of an `openai` request after a 429, a 5xx, a timeout or a lost connection
    /// (exponential backoff with jitter, or the server's Retry-After)
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_retries: u32,
    /// The `prompt` block that shows scenarios (default: the framework's first, if any)
    #[arg(long, value_name = "NAME")]
    pub prompt: Option<String>,
    /// Repeat the run under this `steer` or `constitution` (repeatable; `all` for every one
    /// the framework declares); the run without a steer is always made
    #[arg(long = "steer", value_name = "ID")]
    pub steers: Vec<String>,
    /// The `command` adapter's program and its arguments, quoted as in a shell; it reads
    /// requests as JSON lines on stdin and answers one a line on stdout
    #[arg(long, value_name = "PROGRAM ARGS…")]
    pub command: Option<String>,
    /// The `replay` adapter's answers: a results file, or JSON Lines or CSV mapping scenario
    /// ids to choices
    #[arg(long, value_name = "FILE")]
    pub from: Option<PathBuf>,
    /// The response cache of the `command` and `openai` adapters (default:
    /// $QUANDARY_CACHE_DIR, else .quandary-cache)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Ask every request, neither reading nor writing the response cache
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
}

impl AskArgs {
    /// The adapter asked for (`profile` when none is).
    pub fn adapter_name(&self) -> &str {
        self.adapter.as_deref().unwrap_or("profile")
    }
}

/// How the `openai` adapter reads an answer.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// A forced choice from the first answer token's top logprobs
    Logprobs,
    /// Parse the answer text
    Parse,
    /// Both, reported side by side; the logprobs decide
    Both,
}

/// Option labels.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelStyle {
    /// A, B, C
    Letters,
    /// Action 1, Action 2 (as DailyDilemmas asks)
    Actions,
}

fn fail(diagnostics: &DiagnosticArgs, d: Diagnostic) -> bool {
    diagnostics.report(&[d], &SourceMap::new());
    false
}

/// Builds the adapter named by `--adapter`.
fn adapter(args: &AskArgs, header: &serde_json::Value) -> Result<Box<dyn Adapter>, Diagnostic> {
    let (kind, name) = match args.adapter_name().split_once(':') {
        Some((k, n)) => (k, Some(n)),
        None => (args.adapter_name(), None),
    };
    match kind {
        "random" => Ok(Box::new(eval::adapters::Random { seed: args.seed })),
        "command" => command_adapter(args),
        "replay" => replay_adapter(args),
        "openai" => {
            use eval::adapters::openai::{Mode, OpenAi, OpenAiOptions};
            let Some(model) = args.model.clone() else {
                return Err(Diagnostic::new(
                    Code::InvalidSetting,
                    "the `openai` adapter needs a model",
                )
                .help("give --model NAME (a local server takes any name)"));
            };
            let mut options = OpenAiOptions::new(args.base_url.clone(), model);
            options.api_key = std::env::var(&args.api_key_env)
                .ok()
                .filter(|k| !k.trim().is_empty());
            options.temperature = args.temperature;
            options.max_tokens = args.max_tokens;
            options.seed = Some(args.seed);
            options.timeout = std::time::Duration::from_secs_f64(args.timeout);
            options.max_retries = args.max_retries;
            options.concurrency = args.concurrency as usize;
            options.mode = match args.mode {
                ReadMode::Logprobs => Mode::Logprobs,
                ReadMode::Parse => Mode::Parse,
                ReadMode::Both => Mode::Both,
            };
            Ok(Box::new(OpenAi::new(options)))
        }
        "profile" => {
            let (file, loaded) = eval::suite_framework(args.framework.as_deref(), header)?;
            let f = &loaded.framework;
            let found = match name {
                Some(n) => f.profiles.iter().position(|p| p.id == n),
                None => (0..f.profiles.len()).next(),
            };
            let Some(p) = found else {
                let names: Vec<&str> = f.profiles.iter().map(|p| p.id.as_str()).collect();
                let help = match (name, names.is_empty()) {
                    (_, true) => "add a `profile id \"label\" { value 0.8 … }` block, or give another file with --framework".to_string(),
                    (Some(n), false) => match quandary::suggest::similar(n, names.iter().copied()) {
                        Some(s) => format!("did you mean `profile:{s}`?"),
                        None => format!("the profiles are {}", names.join(", ")),
                    },
                    (None, false) => String::new(),
                };
                return Err(Diagnostic::new(
                    Code::UnknownReference,
                    match name {
                        Some(n) => format!(
                            "no profile `{n}` in `{}` or what it imports",
                            file.display()
                        ),
                        None => format!(
                            "`{}` and what it imports declare no profile",
                            file.display()
                        ),
                    },
                )
                .help(help));
            };
            let mut agent = eval::adapters::Profile::new(
                f,
                quandary::model::ProfileId::from_index(p),
                args.temperature,
                args.seed,
            );
            // Under a steer the agent leans toward and away from the steer's values.
            for steer in &f.steers {
                agent.steer(f, steer);
            }
            Ok(Box::new(agent))
        }
        other => {
            let known = ["profile", "random", "openai", "command", "replay"];
            let help = match quandary::suggest::similar(other, known) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "the adapters are `profile`, `profile:NAME`, `random`, `openai`, \
                         `command` and `replay`"
                    .to_string(),
            };
            Err(
                Diagnostic::new(Code::InvalidSetting, format!("`{other}` is not an adapter"))
                    .help(help),
            )
        }
    }
}

/// The flags that decide how scenarios are shown: `--prompt`, `--labels`, `--framework` and
/// `--steer`. `eval` and `export` take the same ones, so an export shows what a run shows.
pub(super) struct PresentationFlags<'a> {
    pub prompt: Option<&'a str>,
    pub labels: LabelStyle,
    pub framework: Option<&'a Path>,
    pub steers: &'a [String],
}

/// The presentation and steers the flags ask for, for the suite with this header.
pub(super) fn presentation(
    flags: &PresentationFlags<'_>,
    header: &serde_json::Value,
) -> Result<(Presentation, Vec<eval::Steer>), Diagnostic> {
    let labels = match flags.labels {
        LabelStyle::Letters => Labels::Letters,
        LabelStyle::Actions => Labels::Actions,
    };
    let plain = Presentation {
        labels,
        ..Presentation::default()
    };
    // Without --prompt or --steer a framework that cannot be read is no obstacle.
    let loaded = match eval::suite_framework(flags.framework, header) {
        Ok((_, l)) => l,
        Err(_) if flags.prompt.is_none() && flags.steers.is_empty() => {
            return Ok((plain, Vec::new()));
        }
        Err(d) => return Err(d),
    };
    let f = &loaded.framework;
    let presentation = match flags.prompt {
        Some(name) => match f.prompts.iter().find(|p| p.id == name) {
            Some(p) => Presentation::from_prompt(p),
            None => {
                let names: Vec<&str> = f.prompts.iter().map(|p| p.id.as_str()).collect();
                return Err(Diagnostic::new(
                    Code::UnknownReference,
                    format!("no prompt `{name}` in the suite's framework"),
                )
                .help(
                    match quandary::suggest::similar(name, names.iter().copied()) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None if names.is_empty() => {
                            "declare one: `prompt id { system \"…\" }`".into()
                        }
                        None => format!("the prompts are {}", names.join(", ")),
                    },
                ));
            }
        },
        None => f.prompts.first().map_or(plain, Presentation::from_prompt),
    };
    let mut steers = Vec::new();
    for name in flags.steers {
        let chosen: Vec<&quandary::model::Steer> = if name == "all" {
            f.steers.iter().collect()
        } else {
            f.steers.iter().filter(|s| s.id == *name).collect()
        };
        if chosen.is_empty() {
            let names: Vec<&str> = f.steers.iter().map(|s| s.id.as_str()).collect();
            return Err(Diagnostic::new(
                Code::UnknownReference,
                format!("no steer or constitution `{name}` in the suite's framework"),
            )
            .help(
                match quandary::suggest::similar(name, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None if names.is_empty() => "declare one: `steer id { system \"…\" }`".into(),
                    None => format!("the steers are {} (or `all`)", names.join(", ")),
                },
            ));
        }
        for s in chosen {
            if !steers.iter().any(|x: &eval::Steer| x.id == s.id) {
                steers.push(eval::Steer {
                    id: s.id.clone(),
                    system: s.system.clone(),
                });
            }
        }
    }
    Ok((presentation, steers))
}

pub fn run(args: Args) -> bool {
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| eval::default_results_path(&args.suite));
    if args.dry_run {
        let plan = eval::suite_header(&args.suite)
            .and_then(|header| settings(&args.ask, &header))
            .and_then(|settings| eval::dry_run(&args.suite, &settings));
        return match plan {
            Ok(plan) => super::print(&format!(
                "{} requests ({} scenarios × {} steer{}), about {} prompt tokens\n",
                plan.requests,
                plan.scenarios,
                plan.steers,
                if plan.steers == 1 { "" } else { "s" },
                plan.prompt_tokens
            )),
            Err(d) => fail(&args.diagnostics, d),
        };
    }
    evaluate(&args.suite, &output, &args.ask, &args.diagnostics)
}

/// The run settings the flags ask for.
fn settings(ask: &AskArgs, header: &serde_json::Value) -> Result<Settings, Diagnostic> {
    let flags = PresentationFlags {
        prompt: ask.prompt.as_deref(),
        labels: ask.labels,
        framework: ask.framework.as_deref(),
        steers: &ask.steers,
    };
    let (presentation, steers) = presentation(&flags, header)?;
    Ok(Settings {
        presentation,
        steers,
        concurrency: ask.concurrency as usize,
        retry_errors: ask.retry_errors,
    })
}

/// Evaluates `suite` into the journal `output` as `ask` says, with a progress bar on a
/// terminal and a summary on stderr; `false` (diagnostics reported) if it fails.
pub fn evaluate(
    suite: &std::path::Path,
    output: &std::path::Path,
    ask: &AskArgs,
    diagnostics: &DiagnosticArgs,
) -> bool {
    let prepared = eval::suite_header(suite).and_then(|header| {
        let settings = settings(ask, &header)?;
        Ok((settings, adapter(ask, &header)?))
    });
    let (settings, adapter) = match prepared {
        Ok(p) => p,
        Err(d) => return fail(diagnostics, d),
    };
    let (adapter, cache) = with_cache(ask, adapter);
    let bar = (std::io::stderr().is_terminal()).then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len}  {per_sec}  eta {eta}  {msg}",
        ) {
            bar.set_style(style);
        }
        bar
    });
    let mut progress = |done: u64, total: u64, errors: u64| {
        super::progress(done, total);
        if let Some(bar) = &bar {
            bar.set_length(total);
            bar.set_position(done);
            bar.set_message(format!("{errors} failed"));
        }
    };
    super::journal_in_use(Some(output));
    let result = eval::run(suite, output, adapter.as_ref(), &settings, &mut progress);
    super::journal_in_use(None);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    match result {
        Ok(o) => {
            eprintln!(
                "{} requests: {} asked ({} answered, {} unparsed, refused or failed), {} resumed; \
                 tokens {} prompt, {} completion; {:.2} s; results in {}",
                o.requests,
                o.asked,
                o.answered,
                o.failed,
                o.resumed,
                o.prompt_tokens,
                o.completion_tokens,
                o.seconds,
                output.display()
            );
            report_cache(cache.as_ref());
            true
        }
        Err(d) => fail(diagnostics, d),
    }
}

/// The adapters whose answers the response cache keeps: those asking a slow or paid model.
/// In-process agents answer faster than the cache, and `replay` already reads a file.
const CACHEABLE: [&str; 2] = ["command", "openai"];

/// The `command` adapter: `--command "PROGRAM ARGS…"`.
fn command_adapter(args: &AskArgs) -> Result<Box<dyn Adapter>, Diagnostic> {
    let Some(line) = &args.command else {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            "the `command` adapter needs a program to run",
        )
        .help("give --command \"PROGRAM ARGS…\""));
    };
    let command = eval::adapters::Command::new(line).map_err(|e| {
        Diagnostic::new(Code::InvalidSetting, format!("cannot use --command: {e}"))
            .help("give --command \"PROGRAM ARGS…\", quoted as in a shell")
    })?;
    command.check().map_err(|e| {
        Diagnostic::new(Code::Io, format!("cannot use --command: {e}"))
            .help("give the program's path, or a program on the PATH")
    })?;
    let command = command
        .with_timeout(Some(std::time::Duration::from_secs_f64(args.timeout)))
        .hide_env(&args.api_key_env)
        .with_stderr(std::sync::Arc::new(|line: &str| eprintln!("{line}")));
    Ok(Box::new(command))
}

/// The `replay` adapter: `--from FILE`.
fn replay_adapter(args: &AskArgs) -> Result<Box<dyn Adapter>, Diagnostic> {
    let Some(from) = &args.from else {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            "the `replay` adapter needs the answers to replay",
        )
        .help(
            "give --from FILE: a results file, or JSON Lines or CSV of scenario ids and choices",
        ));
    };
    Ok(Box::new(eval::adapters::Replay::from_path(from)?))
}

/// The counters of the response cache a run uses, and its directory.
type CacheUse = (std::sync::Arc<eval::cache::Counters>, PathBuf);

/// Wraps a cacheable adapter in the response cache, unless `--no-cache`.
fn with_cache(args: &AskArgs, adapter: Box<dyn Adapter>) -> (Box<dyn Adapter>, Option<CacheUse>) {
    let kind = args.adapter_name().split(':').next().unwrap_or_default();
    if args.no_cache || !CACHEABLE.contains(&kind) {
        return (adapter, None);
    }
    let dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(eval::cache::Cache::default_dir);
    let cached = eval::cache::Cached::new(adapter, eval::cache::Cache::new(&dir));
    let counters = cached.counters();
    (Box::new(cached), Some((counters, dir)))
}

/// Says how many answers came from the cache, and whether it could be written.
fn report_cache(cache: Option<&CacheUse>) {
    let Some((counters, dir)) = cache else {
        return;
    };
    if counters.hits() > 0 {
        eprintln!(
            "{} of them answered from the cache in {}",
            counters.hits(),
            dir.display()
        );
    }
    if let (n @ 1.., Some(why)) = counters.write_errors() {
        eprintln!(
            "warning: {n} answer{} not cached: {why}",
            if n == 1 { " was" } else { "s were" }
        );
    }
}
