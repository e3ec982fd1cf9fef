//! `quandary eval SUITE.jsonl`

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use quandary::eval::adapters::{AdapterSpec, Built, Mode};
use quandary::eval::present::Labels;
use quandary::eval::{self, Presentation, Settings};
use quandary::project::{self, Project};
use quandary::{Diagnostic, SourceMap};

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
    /// With --dry-run: the price of a million prompt tokens and of a million completion
    /// tokens (any currency), to estimate what the run costs at most
    #[arg(long, value_names = ["IN", "OUT"], num_args = 2, value_parser = super::price)]
    pub price: Option<Vec<f64>>,
    /// Ask only shard K of N (1-based): the scenarios whose index is K-1 modulo N, as
    /// `expand --shard` splits a suite; join the shards' journals with `quandary merge`
    #[arg(long, value_name = "K/N", value_parser = super::expand::parse_shard)]
    pub shard: Option<quandary::expand::Shard>,
    #[command(flatten)]
    pub ask: AskArgs,
    #[command(flatten)]
    pub batch: super::batch::BatchArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// Who answers and how they are asked: shared by `eval`, `run` and `judge`.
#[derive(clap::Args, Debug, Clone)]
pub struct AskArgs {
    /// Who answers: `profile` (the first profile of the suite's framework) or
    /// `profile:NAME`, `random`, `openai`, `openai-logprob` (the most likely option text),
    /// `reward` (a reward model's best-scored option), `command` (with --command) or
    /// `replay` (with --from) [default: profile]
    #[arg(long, value_name = "ADAPTER")]
    pub adapter: Option<String>,
    /// Requests in flight at once
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub concurrency: u64,
    /// Ask again the scenarios whose recorded answer is an error
    #[arg(long)]
    pub retry_errors: bool,
    /// Stop once this many requests in a row fail with an error, keeping what was
    /// answered (0: never stop)
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_errors: u64,
    #[command(flatten)]
    pub requests: RequestArgs,
    #[command(flatten)]
    pub chat: ChatArgs,
    /// The `openai` adapter's API, up to and including `/v1` (any OpenAI-compatible
    /// chat-completions server)
    #[arg(long, value_name = "URL", default_value = DEFAULT_BASE_URL)]
    pub base_url: String,
    /// The environment variable holding the `openai` adapter's API key (unset: no key, as
    /// local servers need none); the key is never written anywhere
    #[arg(long, value_name = "VAR", default_value = "OPENAI_API_KEY")]
    pub api_key_env: String,
    /// Seconds one `openai` request, or one `command` answer, may take
    #[arg(long, value_name = "SECONDS", default_value_t = 60.0, value_parser = super::seconds)]
    pub timeout: f64,
    /// Retries of an `openai` request after a 429, a 5xx, a timeout or a lost connection
    /// (exponential backoff with jitter, or the server's Retry-After)
    #[arg(long, value_name = "N", default_value_t = 6, value_parser = clap::value_parser!(u32).range(0..=100))]
    pub max_retries: u32,
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

/// The `openai` adapter's API unless told otherwise.
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:8080/v1";

/// Which requests a run makes and how each shows its scenario: shared by `eval`, `run`,
/// `judge`, `export` and `import openai-batch`.
#[derive(clap::Args, Debug, Clone)]
pub struct RequestArgs {
    /// The framework file with the profiles, prompts and steers (default: the file the suite
    /// was expanded from)
    #[arg(long, value_name = "FILE")]
    pub framework: Option<PathBuf>,
    /// How options are labelled in the prompt (a `prompt` block's `labels` wins)
    #[arg(long, value_enum, default_value_t = LabelStyle::Letters)]
    pub labels: LabelStyle,
    /// How the model answers: the option alone (`choice`), thinking first and ending with
    /// its final answer (`reasoning`), or in its own words (`free`) [default: the prompt's
    /// `answer`, else choice]
    #[arg(long, value_enum, value_name = "MODE")]
    pub answer: Option<AnswerArg>,
    /// Ask in this language (a tag such as `zh`, `de` or `pt-BR`): the scenarios' `text.TAG`
    /// and their actions' `TAG` labels, the prompt's `system.TAG`, `user.TAG` and
    /// `instruction.TAG`, quandary's own wording in the language, and answers read in it
    #[arg(long, value_name = "TAG")]
    pub lang: Option<String>,
    /// The `prompt` block that shows scenarios (default: the framework's first, if any)
    #[arg(long, value_name = "NAME")]
    pub prompt: Option<String>,
    /// Repeat the run under this `steer` or `constitution` (repeatable; `all` for every one
    /// the framework declares); the run without a steer is always made. For `export` to
    /// another format than openai-batch: show the scenarios under this one steer, and read
    /// the answers of the run under it
    #[arg(long = "steer", value_name = "ID")]
    pub steers: Vec<String>,
    /// Ask each scenario N times (under each steer), each time with its own seed and cache
    /// key: a model's self-consistency at a temperature above 0
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub epochs: u32,
}

/// What the `openai` adapter puts in a request's body and how it reads the answer (the
/// temperature and seed also drive the `profile` and `random` agents): shared by `eval`,
/// `run`, `judge`, `export --to openai-batch` and `import openai-batch`.
#[derive(clap::Args, Debug, Clone)]
pub struct ChatArgs {
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
    /// The model the `openai` adapter asks for
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,
    /// The longest answer the `openai` adapter asks for, in tokens
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub max_tokens: u32,
    /// The longest answer the `openai` adapter asks for when the model reasons, in tokens
    #[arg(long, value_name = "N", default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub reasoning_tokens: u32,
    /// How the `openai` adapter reads an answer: the first token's `logprobs`, parsing the
    /// text, or both (the logprobs decide when they name an option)
    #[arg(long, value_enum, default_value_t = ReadMode::Both)]
    pub mode: ReadMode,
}

impl ChatArgs {
    /// The `openai` adapter's reading mode.
    pub fn read_mode(&self) -> Mode {
        match self.mode {
            ReadMode::Logprobs => Mode::Logprobs,
            ReadMode::Parse => Mode::Parse,
            ReadMode::Both => Mode::Both,
        }
    }

    /// The body and reading settings, for the model given (or a diagnostic asking for one).
    pub fn settings(&self) -> Result<quandary::eval::adapters::ChatSettings, Diagnostic> {
        let Some(model) = self.model.clone() else {
            return Err(Diagnostic::new(
                quandary::Code::InvalidSetting,
                "the requests need a model",
            )
            .help(
                "give --model NAME, the model the batch is to ask (a local server takes any name)",
            ));
        };
        Ok(quandary::eval::adapters::ChatSettings {
            model,
            temperature: self.temperature,
            max_tokens: self.max_tokens,
            reasoning_tokens: self.reasoning_tokens,
            // As the `openai` adapter built from these flags asks.
            seed: Some(self.seed),
            mode: self.read_mode(),
        })
    }
}

impl AskArgs {
    /// The adapter asked for (`profile` when none is).
    pub fn adapter_name(&self) -> &str {
        self.adapter.as_deref().unwrap_or("profile")
    }
}

impl RequestArgs {
    /// The settings of a run making these requests of the suite with `header` (one request
    /// at a time, errors not asked again), and the framework, when the run needs it (for its
    /// prompt or steers, or when `framework_needed`).
    pub fn settings(
        &self,
        header: &serde_json::Value,
        framework_needed: bool,
    ) -> Result<(Settings, Option<Project>), Diagnostic> {
        let needed = self.prompt.is_some() || !self.steers.is_empty() || framework_needed;
        let framework = framework_for(self.framework.as_deref(), header, needed)?;
        let (presentation, steers) = presentation(
            framework.as_ref(),
            self.prompt.as_deref(),
            labels(self.labels),
            self.answer,
            &self.steers,
            self.lang.as_deref(),
        )?;
        Ok((
            Settings {
                presentation,
                steers,
                epochs: self.epochs,
                ..Settings::default()
            },
            framework,
        ))
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

/// How the model answers.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnswerArg {
    /// The option alone
    Choice,
    /// Think first, then the final answer
    Reasoning,
    /// In its own words, kept whole for a judge (`quandary judge`)
    Free,
}

impl AnswerArg {
    /// The library's mode.
    pub fn mode(self) -> quandary::model::AnswerMode {
        match self {
            AnswerArg::Choice => quandary::model::AnswerMode::Choice,
            AnswerArg::Reasoning => quandary::model::AnswerMode::Reasoning,
            AnswerArg::Free => quandary::model::AnswerMode::Free,
        }
    }
}

/// Option labels.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelStyle {
    /// A, B, C
    Letters,
    /// Action 1, Action 2 (as DailyDilemmas asks)
    Actions,
}

pub(super) fn fail(diagnostics: &DiagnosticArgs, d: Diagnostic) -> bool {
    diagnostics.report(&[d], &SourceMap::new());
    false
}

impl AskArgs {
    /// The adapter the flags describe, for the library to build.
    pub fn spec(&self) -> AdapterSpec {
        AdapterSpec {
            name: self.adapter_name().to_string(),
            temperature: self.chat.temperature,
            seed: self.chat.seed,
            model: self.chat.model.clone(),
            base_url: self.base_url.clone(),
            api_key_env: self.api_key_env.clone(),
            max_tokens: self.chat.max_tokens,
            reasoning_tokens: self.chat.reasoning_tokens,
            mode: self.chat.read_mode(),
            timeout: std::time::Duration::from_secs_f64(self.timeout),
            max_retries: self.max_retries,
            concurrency: self.concurrency as usize,
            command: self.command.clone(),
            stderr: Some(std::sync::Arc::new(|line: &str| eprintln!("{line}"))),
            from: self.from.clone(),
            cache: (!self.no_cache).then(|| {
                self.cache_dir
                    .clone()
                    .unwrap_or_else(eval::cache::Cache::default_dir)
            }),
        }
    }
}

/// The library's label style.
pub(super) fn labels(style: LabelStyle) -> Labels {
    match style {
        LabelStyle::Letters => Labels::Letters,
        LabelStyle::Actions => Labels::Actions,
    }
}

/// The framework of the suite with `header` (or `explicit`), when a run needs it: for the
/// `profile` adapter, a prompt or steers — or to show scenarios with its first prompt, when
/// it can be loaded.
pub(super) fn framework_for(
    explicit: Option<&Path>,
    header: &serde_json::Value,
    needed: bool,
) -> Result<Option<Project>, Diagnostic> {
    match project::suite_project(explicit, header) {
        Ok((_, p)) => Ok(Some(p)),
        Err(d) if needed => Err(d),
        // Without a profile, prompt or steer, a framework that cannot be read is no obstacle.
        Err(_) => Ok(None),
    }
}

/// The presentation and steers the flags ask for, with `framework` (when there is one).
pub(super) fn presentation(
    framework: Option<&Project>,
    prompt: Option<&str>,
    labels: Labels,
    answer: Option<AnswerArg>,
    steers: &[String],
    lang: Option<&str>,
) -> Result<(Presentation, Vec<eval::Steer>), Diagnostic> {
    let framework = framework.map(Project::framework);
    let mut presentation = project::presentation(framework, prompt, labels)?;
    if let Some(answer) = answer {
        presentation.mode = answer.mode();
    }
    let steers = match framework {
        Some(f) => project::steers(f, steers)?,
        None => Vec::new(),
    };
    match lang {
        Some(lang) => project::in_language(framework, prompt, presentation, steers, lang),
        None => Ok((presentation, steers)),
    }
}

pub fn run(args: Args) -> bool {
    let output = args.output.clone().unwrap_or_else(|| {
        let path = eval::default_results_path(&args.suite);
        match args.shard {
            // Each shard its own journal beside the suite: SUITE.results.2-of-4.jsonl.
            Some(s) => path.with_extension(format!("{}-of-{}.jsonl", s.index, s.of)),
            None => path,
        }
    });
    if args.dry_run {
        let plan =
            quandary::formats::suite::read_header(quandary::formats::Input::Path(&args.suite))
                .and_then(|header| prepare(&args.ask, &header, false))
                .and_then(|(mut settings, _)| {
                    settings.shard = args.shard.map(|s| (s.index, s.of));
                    let per_request = match settings.presentation.mode {
                        quandary::model::AnswerMode::Choice => args.ask.chat.max_tokens,
                        _ => args.ask.chat.reasoning_tokens,
                    };
                    Ok(eval::dry_run(&args.suite, &settings)?.with_answers(u64::from(per_request)))
                });
        return match plan {
            Ok(plan) => {
                let mut factors = vec![format!("{} scenarios", plan.scenarios)];
                if plan.steers > 1 {
                    factors.push(format!(
                        "{} runs: plain and {} steered",
                        plan.steers,
                        plan.steers - 1
                    ));
                }
                if plan.epochs > 1 {
                    factors.push(format!("{} epochs", plan.epochs));
                }
                let cost = match args.price.as_deref() {
                    Some(&[input, output]) => format!(
                        "; at most {:.2} at {input} and {output} per million prompt and \
                         completion tokens",
                        plan.cost(input, output)
                    ),
                    _ => String::new(),
                };
                super::print(&format!(
                    "{} requests ({}), about {} prompt tokens and at most {} completion tokens \
                     ({} a request){cost}\n",
                    plan.requests,
                    factors.join(" × "),
                    plan.prompt_tokens,
                    plan.completion_tokens,
                    plan.completion_tokens / plan.requests.max(1)
                ))
            }
            Err(d) => fail(&args.diagnostics, d),
        };
    }
    if args.batch.batch {
        return super::batch::run(&args, &output);
    }
    let prepared =
        quandary::formats::suite::read_header(quandary::formats::Input::Path(&args.suite))
            .and_then(|header| {
                let (mut settings, project) = prepare(&args.ask, &header, true)?;
                settings.shard = args.shard.map(|s| (s.index, s.of));
                let name = args
                    .ask
                    .requests
                    .framework
                    .as_deref()
                    .or_else(|| header_file(&header))
                    .map(|p| p.display().to_string())
                    .unwrap_or_default();
                let built = args
                    .ask
                    .spec()
                    .build(project.as_ref().map(Project::framework), &name)?;
                Ok((settings, built))
            });
    match prepared {
        Ok((settings, built)) => {
            evaluate(&args.suite, &output, &settings, built, &args.diagnostics)
        }
        Err(d) => fail(&args.diagnostics, d),
    }
}

/// The first source file a suite's header names.
fn header_file(header: &serde_json::Value) -> Option<&Path> {
    header
        .get("files")
        .and_then(|f| f.get(0))
        .and_then(|f| f.as_str())
        .map(Path::new)
}

/// The run settings the flags ask for, and the framework, when the run needs it (or, with
/// `with_adapter`, when the adapter does).
fn prepare(
    ask: &AskArgs,
    header: &serde_json::Value,
    with_adapter: bool,
) -> Result<(Settings, Option<Project>), Diagnostic> {
    let (settings, framework) = ask
        .requests
        .settings(header, with_adapter && ask.spec().kind() == "profile")?;
    Ok((
        Settings {
            concurrency: ask.concurrency as usize,
            retry_errors: ask.retry_errors,
            max_errors: ask.max_errors,
            // The total is wanted for the progress bar, shown on a terminal.
            total_first: std::io::stderr().is_terminal(),
            ..settings
        },
        framework,
    ))
}

/// Evaluates `suite` into the journal `output` with `built`, with a progress bar on a
/// terminal and a summary on stderr; `false` (diagnostics reported) if it fails.
pub fn evaluate(
    suite: &Path,
    output: &Path,
    settings: &Settings,
    built: Built,
    diagnostics: &DiagnosticArgs,
) -> bool {
    let result = with_progress(output, |progress| {
        eval::run(suite, output, built.adapter.as_ref(), settings, progress)
    });
    match result {
        Ok(o) => {
            summary(&o, output, &built);
            true
        }
        Err(d) => fail(diagnostics, d),
    }
}

/// Runs `evaluate` (writing the journal `journal`) with a progress bar on a terminal, and
/// with what an interruption should say. The first failed answer of each kind is said at
/// once, above the bar (or on its own line when there is no bar).
pub(super) fn with_progress<T>(
    journal: &Path,
    evaluate: impl FnOnce(&mut dyn FnMut(eval::Event<'_>)) -> T,
) -> T {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new(0);
        if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len}  {msg}") {
            bar.set_style(style);
        }
        bar
    });
    let mut started = std::time::Instant::now();
    let mut first: Option<u64> = None;
    let mut pass: Option<String> = None;
    let mut progress = |event: eval::Event<'_>| {
        let (done, total, errors) = match event {
            eval::Event::Progress {
                done,
                total,
                failed,
            } => (done, total, failed),
            eval::Event::Pass(name) => {
                // Another pass: its own counts, and its failures said as its own.
                pass = Some(name.to_string());
                first = None;
                started = std::time::Instant::now();
                return;
            }
            eval::Event::FirstFailure(failure) => {
                let line = match &pass {
                    Some(name) => format!("{name}: {}", first_failure(failure)),
                    None => first_failure(failure),
                };
                match &bar {
                    Some(bar) => bar.println(line),
                    None => eprintln!("{line}"),
                }
                return;
            }
        };
        super::progress(done, total);
        if let Some(bar) = &bar {
            // Answers resumed from the journal are not part of this run's rate.
            let from = *first.get_or_insert(done);
            // Not counted yet: the bar is as long as what is done.
            bar.set_length(total.unwrap_or(done));
            bar.set_position(done);
            bar.set_message(progress_message(
                done - from.min(done),
                total.map(|total| total.saturating_sub(done)),
                errors,
                started.elapsed(),
            ));
        }
    };
    super::journal_in_use(Some(journal));
    let result = evaluate(&mut progress);
    super::journal_in_use(None);
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    result
}

/// The progress bar's message: the rate and the time left (when the requests `left` are
/// known) from this run's average so far (steady, where the rate of the last moments jumps
/// with every burst of answers), the time elapsed, and how many answers failed or were not
/// understood, with their share.
fn progress_message(
    done: u64,
    left: Option<u64>,
    errors: u64,
    elapsed: std::time::Duration,
) -> String {
    let seconds = elapsed.as_secs_f64();
    let clock = |s: f64| {
        let s = s.round() as u64;
        if s >= 3600 {
            format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
        } else {
            format!("{}:{:02}", s / 60, s % 60)
        }
    };
    let (rate, eta) = if done > 0 && seconds >= 1.0 {
        let rate = done as f64 / seconds;
        let eta = left.map_or_else(|| "–".to_string(), |left| clock(left as f64 / rate));
        (format!("{rate:.1}/s"), eta)
    } else {
        ("–/s".to_string(), "–".to_string())
    };
    let share = if done > 0 {
        format!(" ({:.0}%)", 100.0 * errors as f64 / done as f64)
    } else {
        String::new()
    };
    format!(
        "{rate}  elapsed {}  eta {eta}  {errors} failed or unparsed{share}",
        clock(seconds)
    )
}

/// The most characters of a failed answer a line on the terminal quotes.
const QUOTED: usize = 200;

/// What a failed answer said, for one line on a terminal: control characters and line
/// breaks made visible, cut at [`QUOTED`] characters.
fn quoted(text: &str) -> String {
    let shown = quandary::render::visible(&text.replace('\n', " ")).into_owned();
    let shown = shown.trim();
    if shown.is_empty() {
        return "(an empty answer)".to_string();
    }
    match shown.char_indices().nth(QUOTED) {
        Some((at, _)) => format!("{}…", &shown[..at]),
        None => shown.to_string(),
    }
}

/// The line that says the first failed answer of its kind, as it happens: which scenario
/// (under which steer, in which epoch) and what it said.
fn first_failure(f: &eval::Failure) -> String {
    let what = match f.kind.as_str() {
        "error" => "error",
        "unparsed" => "unparsed answer",
        "refused" => "refusal",
        other => other,
    };
    let epoch = if f.epoch > 0 {
        format!(", epoch {}", f.epoch)
    } else {
        String::new()
    };
    let said = if f.kind == "error" || f.first.trim().is_empty() {
        quoted(&f.first)
    } else {
        format!("\"{}\"", quoted(&f.first))
    };
    format!(
        "first {what} (scenario {} #{}, steer {}{epoch}): {said}",
        f.scenario,
        f.index,
        f.steer.as_deref().unwrap_or("none"),
    )
}

/// The summary of a run on standard error: what was asked and answered, where the results
/// are, and how the cache served.
pub(super) fn summary(o: &eval::Outcome, results: &Path, built: &Built) {
    let free = if o.free > 0 {
        format!("{} free-form, ", o.free)
    } else {
        String::new()
    };
    eprintln!(
        "{} requests: {} asked ({free}{} answered, {} unparsed, refused or failed), {} resumed; \
         tokens {} prompt, {} completion; {:.2} s; results in {}",
        o.requests,
        o.asked,
        o.answered,
        o.failed,
        o.resumed,
        o.prompt_tokens,
        o.completion_tokens,
        o.seconds,
        results.display()
    );
    for f in &o.failures {
        let first = quandary::render::visible(&f.first.replace('\n', " ")).into_owned();
        let first = if first.trim().is_empty() {
            "(an empty answer)".to_string()
        } else {
            first
        };
        eprintln!("  {} {}; the first: {first}", f.count, f.kind);
    }
    report_cache(built);
}

/// Says how many answers came from the cache, and whether it could be written.
fn report_cache(built: &Built) {
    let Some((counters, dir)) = &built.cache else {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_first_failure_names_its_scenario_and_quotes_what_it_said_on_one_line() {
        let failure = |kind: &str, first: &str, steer: Option<&str>, epoch| eval::Failure {
            kind: kind.into(),
            count: 1,
            first: first.into(),
            scenario: "s0ec4".into(),
            index: 12,
            steer: steer.map(str::to_string),
            epoch,
        };
        assert_eq!(
            first_failure(&failure(
                "error",
                "cannot connect to http://***@host/v1",
                None,
                0
            )),
            "first error (scenario s0ec4 #12, steer none): cannot connect to http://***@host/v1"
        );
        assert_eq!(
            first_failure(&failure(
                "unparsed",
                "Well,\nmaybe\u{1b}[2J",
                Some("care"),
                2
            )),
            "first unparsed answer (scenario s0ec4 #12, steer care, epoch 2): \"Well, maybe\\u{1b}[2J\""
        );
        assert_eq!(
            first_failure(&failure("refused", "  ", None, 0)),
            "first refusal (scenario s0ec4 #12, steer none): (an empty answer)"
        );
        let long = first_failure(&failure("unparsed", &"é".repeat(300), None, 0));
        assert!(
            long.ends_with(&format!("\"{}…\"", "é".repeat(QUOTED))),
            "{long}"
        );
    }

    #[test]
    fn progress_is_the_average_so_far_with_the_share_that_failed() {
        assert_eq!(
            progress_message(0, Some(100), 0, Duration::from_millis(300)),
            "–/s  elapsed 0:00  eta –  0 failed or unparsed"
        );
        // 50 answers in 25 s: 2/s, 150 left take 75 s.
        assert_eq!(
            progress_message(50, Some(150), 5, Duration::from_secs(25)),
            "2.0/s  elapsed 0:25  eta 1:15  5 failed or unparsed (10%)"
        );
        assert_eq!(
            progress_message(1, Some(7200), 1, Duration::from_secs(2)),
            "0.5/s  elapsed 0:02  eta 4:00:00  1 failed or unparsed (100%)"
        );
        // Not counted yet: no time left to say.
        assert_eq!(
            progress_message(50, None, 0, Duration::from_secs(25)),
            "2.0/s  elapsed 0:25  eta –  0 failed or unparsed (0%)"
        );
    }
}
