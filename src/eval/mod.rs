//! Evaluation: scenarios from a suite file go to a model [`Adapter`]; every decision is
//! appended to a results journal as it arrives, so a run that is stopped resumes where it
//! was, asking nothing twice and losing nothing.
//!
//! An embedder implements [`Adapter`] (one method, [`Adapter::decide`]) and calls [`run`].

pub mod adapters;
pub mod cache;
pub mod judge;
pub mod present;

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Code, Diagnostic};
use crate::formats::Input;
pub use crate::formats::results::{Done, Journal, Lock, Record, Score, Tail, Tokens};
pub use crate::formats::suite::{ActionLine, ScenarioLine};
use crate::formats::suite::{ScenarioView, SuiteReader};
pub use present::Presentation;

/// One option of a scenario as an adapter sees it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// How the option is labelled in the prompt: `A`, `B`, … or `Action 1`, ….
    pub label: String,
    /// The action's id in the scenario.
    pub action: String,
    /// The action's text.
    pub text: String,
    /// Values the action upholds (`framework.value`).
    #[serde(default)]
    pub upholds: Vec<String>,
    /// Values the action violates.
    #[serde(default)]
    pub violates: Vec<String>,
    /// Values it could serve or go against (`either`): on no side.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub either: Vec<String>,
    /// The relevance of upheld values other than 1, by value.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub relevance: std::collections::BTreeMap<String, f64>,
}

/// What an adapter is asked.
#[derive(Clone, Debug)]
pub struct Request<'a> {
    /// The scenario's id.
    pub scenario: &'a str,
    /// The scenario's index in the suite (a suite without `dedupe` may hold one scenario
    /// twice: the index tells the two apart).
    pub index: u64,
    /// The scenario's twin group, or its id when it has none: the same for a scenario and
    /// its order-swapped twin.
    pub group: &'a str,
    /// The steer the scenario is asked under, if any.
    pub steer: Option<&'a str>,
    /// The system prompt, if any.
    pub system: Option<&'a str>,
    /// The user prompt: the dilemma, the labelled options and the answer instruction.
    pub prompt: &'a str,
    /// The options, in the order shown.
    pub options: &'a [Choice],
    /// How the model is asked to answer.
    pub mode: crate::model::AnswerMode,
    /// Which asking of the scenario this is, from 0: each epoch is its own draw of the model
    /// (its own seed and cache key).
    pub epoch: u32,
    /// The language it is asked in, if the run names one: an adapter reads the answer in it.
    pub lang: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// A request for `scenario` (its own twin group, under no steer, without a system
    /// prompt) with `prompt` and `options`.
    pub fn new(scenario: &'a str, prompt: &'a str, options: &'a [Choice]) -> Request<'a> {
        Request {
            scenario,
            index: 0,
            group: scenario,
            steer: None,
            system: None,
            prompt,
            options,
            mode: crate::model::AnswerMode::Choice,
            epoch: 0,
            lang: None,
        }
    }
}

/// Options for the adapters' own tests: one per action id, labelled A, B, …, with the text
/// "Do the ACTION thing".
#[cfg(test)]
pub(crate) fn test_options(actions: &[&str]) -> Vec<Choice> {
    actions
        .iter()
        .enumerate()
        .map(|(i, a)| Choice {
            label: char::from(b'A' + i as u8).to_string(),
            action: a.to_string(),
            text: format!("Do the {a} thing"),
            upholds: vec![],
            violates: vec![],
            ..Default::default()
        })
        .collect()
}

/// What an adapter chose.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Answer {
    /// The option at this position of [`Request::options`].
    Option(usize),
    /// The answer names no option.
    Unparsed,
    /// The model declined to choose.
    Refused,
    /// A free-form answer (in [`AnswerMode::Free`](crate::model::AnswerMode::Free)), kept
    /// whole for a judge to read.
    Free,
}

/// An adapter's decision on one request.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Decision {
    /// The choice.
    pub answer: Option<Answer>,
    /// Probabilities per option (in the order shown), when the adapter knows them.
    pub probabilities: Option<Vec<f64>>,
    /// Other readings of the same answer, by method (e.g. `logprobs`, `parse`).
    pub readings: Vec<(String, Answer)>,
    /// The raw answer text.
    pub raw: Option<String>,
    /// Prompt tokens used.
    pub prompt_tokens: Option<u64>,
    /// Completion tokens used.
    pub completion_tokens: Option<u64>,
    /// Requests made (more than 1 after retries).
    pub attempts: u32,
    /// The rule that read the answer from the text (`label`, `final answer`, …), when one
    /// did.
    pub rule: Option<String>,
    /// The model's reasoning, when it gave one apart from its answer.
    pub reasoning: Option<String>,
    /// The share of the probability of the answer's first token (where the labels begin)
    /// that fell on the options' labels, when the adapter knows it: how far `probabilities`,
    /// renormalised over the labels, rest on what the model would say.
    pub label_mass: Option<f64>,
    /// What each option (in the order shown) was scored by, when the adapter chose by
    /// scores.
    pub scores: Option<Vec<Score>>,
}

impl Decision {
    /// A decision for option `index` (one attempt, nothing else known).
    pub fn option(index: usize) -> Decision {
        Decision {
            answer: Some(Answer::Option(index)),
            attempts: 1,
            ..Decision::default()
        }
    }
}

/// The position of the highest score (the first of equal ones); 0 when there are none.
/// Scores are finite: adapters drop or refuse the others before they choose.
pub(crate) fn highest(scores: &[f64]) -> usize {
    let mut best = 0;
    for (i, s) in scores.iter().enumerate() {
        if *s > scores[best] {
            best = i;
        }
    }
    best
}

/// Probabilities from log-scores: `exp(s - max)` normalised to sum to 1 (a softmax).
#[cfg_attr(not(feature = "openai"), allow(dead_code))]
pub(crate) fn softmax(scores: &[f64]) -> Vec<f64> {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.iter().map(|e| e / total).collect()
}

/// An adapter could not decide (after its own retries).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct AdapterError {
    /// What went wrong, for the results file: never a secret.
    pub message: String,
    /// Requests made.
    pub attempts: u32,
    /// The raw answer, if one came back.
    pub raw: Option<String>,
}

impl AdapterError {
    /// The error of a request without options, which no adapter can answer.
    pub fn no_options() -> AdapterError {
        AdapterError {
            message: "the scenario has no options".into(),
            attempts: 1,
            raw: None,
        }
    }
}

/// Something that answers dilemmas: a model behind an API, a program, a value system.
///
/// ```
/// use quandary::eval::{Adapter, AdapterError, Decision, Request};
///
/// /// Always picks the option with the shortest text.
/// struct Shortest;
///
/// impl Adapter for Shortest {
///     fn fingerprint(&self) -> String {
///         "shortest/1".into()
///     }
///     fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
///         let best = (0..request.options.len())
///             .min_by_key(|&i| request.options[i].text.len())
///             .unwrap_or(0);
///         Ok(Decision::option(best))
///     }
/// }
/// ```
pub trait Adapter: Send + Sync {
    /// A stable description of the adapter and everything that changes its answers (model,
    /// parameters; never a secret): recorded in results and part of cache keys.
    fn fingerprint(&self) -> String;

    /// The model's name, if the adapter has one.
    fn model(&self) -> Option<String> {
        None
    }

    /// The parameters to record in the results header.
    fn parameters(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Decides one request. Called from several threads at once when the run's concurrency
    /// is above 1.
    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError>;

    /// Whether a run may ask it on two threads at once even at concurrency 1, each asking
    /// the scenarios it has just read: an adapter that decides in-process in microseconds,
    /// from the request alone (a value profile, a seeded draw), so the run is not held up
    /// by one thread reading and asking in turn. The default: no.
    fn in_process(&self) -> bool {
        false
    }

    /// Whether the adapter reads the user prompt ([`Request::prompt`]). One that decides
    /// from the options alone (a value profile, a seeded draw) says `false`, and a run then
    /// leaves the prompt empty rather than render it for each request, unless the
    /// presentation has a `user` template (whose failure to render is recorded as an
    /// error, whoever is asked). The default reads it.
    fn reads_prompt(&self) -> bool {
        true
    }

    /// Whether the adapter can answer at all, checked once before the first request (a
    /// server that cannot be reached, a key it refuses), so a run fails at once rather than
    /// recording an error for every scenario. The default has nothing to check.
    fn check(&self) -> Result<(), AdapterError> {
        Ok(())
    }

    /// A way to keep many requests in flight on one thread, if the adapter has one (an
    /// adapter that asks a server over the network: its requests wait on the server, not
    /// on a processor). A run then asks on a few threads, each with a pipeline of its own,
    /// rather than on a thread a request. The default: none.
    fn pipeline(&self) -> Option<Box<dyn Pipeline + '_>> {
        None
    }
}

/// Requests of one adapter in flight together, on the thread that holds it: see
/// [`Adapter::pipeline`]. Each request is known by a tag (a small number its caller gives
/// and may give again once the request is decided).
pub trait Pipeline {
    /// Starts deciding `request`, as `tag`.
    fn start(&mut self, tag: usize, request: &Request<'_>);

    /// Waits until at least one request started is decided, and pushes the tag and
    /// decision of each decided to `decided`; returns at once when none is in flight.
    /// `request` gives back the request started as a tag (so that the pipeline need not
    /// keep a copy to read its answer), or `None` for a tag not started.
    fn wait<'r>(
        &mut self,
        request: &dyn Fn(usize) -> Option<Request<'r>>,
        decided: &mut Vec<(usize, Result<Decision, AdapterError>)>,
    );
}

/// A system prompt a run can be repeated under.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Steer {
    /// Its id.
    pub id: String,
    /// The system prompt.
    pub system: String,
}

/// Settings of an evaluation run.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How scenarios are shown.
    pub presentation: Presentation,
    /// Steers to repeat the run under; the run without a steer is always included.
    pub steers: Vec<Steer>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Ask again the scenarios whose recorded answer is an error.
    pub retry_errors: bool,
    /// How many times each scenario is asked (under each steer), at least 1.
    pub epochs: u32,
    /// `Some((k, n))`: ask only shard `k` of `n` (1 ≤ k ≤ n), the scenarios whose index `i`
    /// has `i mod n = k − 1`, as `expand --shard` splits a suite; the journals of all
    /// shards are joined by [`crate::formats::results::merge`].
    pub shard: Option<(u64, u64)>,
    /// Stop the run once this many requests in a row have failed with an error (0: never).
    /// What was answered stays in the journal, and a run of the same command resumes.
    pub max_errors: u64,
    /// Whether every [`Event::Progress`] must have the run's total (a progress bar's
    /// length needs it). Without it, a run of an in-process adapter (`profile`, `random`)
    /// that asks every line of a suite one at a time counts its requests as it asks them,
    /// instead of reading the suite once more first (6–8% of such a run's time),
    /// and its progress has no total until the last; [`Outcome::requests`] is the same
    /// either way.
    pub total_first: bool,
}

impl Settings {
    /// Whether the scenario at `index` is asked in this run's shard.
    pub fn asks(&self, index: u64) -> bool {
        self.shard
            .is_none_or(|(k, n)| n == 0 || index % n == k.saturating_sub(1))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            presentation: Presentation::default(),
            steers: Vec::new(),
            concurrency: 1,
            retry_errors: false,
            epochs: 1,
            shard: None,
            max_errors: 0,
            total_first: true,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Outcome {
    /// Requests in the suite (scenarios × steers).
    pub requests: u64,
    /// Already in the journal, not asked again.
    pub resumed: u64,
    /// Asked in this run.
    pub asked: u64,
    /// Of those, answered with an option.
    pub answered: u64,
    /// Of those, recorded as `unparsed`, `refused` or `error`.
    pub failed: u64,
    /// Of those, free-form answers (recorded as `free`), to be judged.
    pub free: u64,
    /// Tokens used in this run.
    pub prompt_tokens: u64,
    /// Tokens used in this run.
    pub completion_tokens: u64,
    /// Seconds the run took.
    pub seconds: f64,
    /// Per kind of failure (`error`, `unparsed`, `refused`), in the order first met: how
    /// many, and what the first said (the reason of an error, the raw answer otherwise).
    pub failures: Vec<Failure>,
}

/// One kind of failed answer in a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Failure {
    /// `error`, `unparsed` or `refused`.
    pub kind: String,
    /// How many answers of this run failed so.
    pub count: u64,
    /// What the first one said, as the journal records it (the reason of an error, the raw
    /// answer otherwise; an adapter hides its secrets before anything is recorded), cut to
    /// [`FIRST_CHARS`] characters.
    pub first: String,
    /// The scenario of the first one.
    pub scenario: String,
    /// Its index in the suite.
    pub index: u64,
    /// The steer it was asked under, if any.
    pub steer: Option<String>,
    /// The epoch it was asked in.
    pub epoch: u32,
}

/// The most characters of a failed answer that [`Failure::first`] keeps.
pub const FIRST_CHARS: usize = 300;

/// What a run tells its caller as it goes (the library prints nothing: a caller shows it).
#[derive(Clone, Debug, PartialEq)]
pub enum Event<'a> {
    /// After each batch of answers: requests done (those resumed from the journal
    /// included), the total, and the answers of this run that failed so far.
    Progress {
        /// Requests done.
        done: u64,
        /// Requests in all; `None` while they are not counted yet (see
        /// [`Settings::total_first`]).
        total: Option<u64>,
        /// Answers of this run recorded as `error`, `unparsed` or `refused`.
        failed: u64,
    },
    /// The first answer of this run that failed in its way (`error`, `unparsed` or
    /// `refused`), once per kind, told as soon as it is counted (before the progress that
    /// counts it).
    FirstFailure(&'a Failure),
    /// A run of several passes begins another, named (`judge JUDGE`: a judge reading the
    /// answers); the progress and failures that follow are that pass's. Never told by
    /// [`run`] itself.
    Pass(&'a str),
}

impl Outcome {
    /// Counts a failed record; the kind's entry when it is the first of its kind.
    fn fail(&mut self, record: &Record) -> Option<&Failure> {
        match self.failures.iter().position(|f| f.kind == record.choice) {
            Some(i) => {
                self.failures[i].count += 1;
                None
            }
            None => {
                self.failures.push(Failure {
                    kind: record.choice.clone(),
                    count: 1,
                    first: record
                        .raw
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(FIRST_CHARS)
                        .collect(),
                    scenario: record.scenario.clone(),
                    index: record.index,
                    steer: record.steer.clone(),
                    epoch: record.epoch,
                });
                self.failures.last()
            }
        }
    }
}

/// Evaluates the suite at `suite` with `adapter`, appending results to the journal at
/// `results` (created with a header, or resumed). `progress` is told requests done, the
/// total, and failures so far after each batch of decisions ([`Event::Progress`]), and the
/// first failed answer of each kind as soon as it comes ([`Event::FirstFailure`]).
pub fn run(
    suite: &Path,
    results: &Path,
    adapter: &dyn Adapter,
    settings: &Settings,
    progress: &mut dyn FnMut(Event<'_>),
) -> Result<Outcome, Diagnostic> {
    let started = Instant::now();
    let header = results_header(Input::Path(suite), adapter, settings)?;
    // What the journal holds is read first, without touching it; then the suite is counted
    // (reading of each line only what the count needs: nothing more than where it ends
    // unless the run resumes, is a shard or is asked in a language) and checked against
    // the journal; then it is streamed to the workers, each line parsed once, so memory does
    // not grow with its size. The journal is opened for appending when the first answers
    // come (or at the end, when there are none), so a suite whose first scenario cannot be
    // read, or that answers another journal, changes no results file.
    let lock = Lock::acquire(results)?;
    let (done, tail) = Journal::inspect(results, &header)?;
    // An in-process agent asked every line is not held up by counting them first, unless
    // the total is wanted: it counts them as it asks.
    let counts_first = settings.total_first
        || !adapter.in_process()
        || settings.concurrency > 1
        || !done.is_empty()
        || settings.shard.is_some()
        || settings.presentation.lang.is_some();
    let counted = if counts_first {
        let outcome = count(Input::Path(suite), &done, settings, |index, id| {
            if done.mismatch(index, id) {
                return Err(Diagnostic::new(
                    Code::Io,
                    format!(
                        "cannot use `{}`: it records another scenario at index {index} than \
                         the suite's `{id}`",
                        results.display(),
                    ),
                )
                .path(results.display().to_string())
                .help(
                    "the journal answers another expansion of the suite: give a new results \
                     file with -o, or the suite it answers",
                ));
            }
            Ok(())
        })?;
        Some(outcome)
    } else {
        None
    };
    // A server that cannot answer stops the run before the journal is touched; a suite
    // with nothing to ask asks nothing.
    let any = match &counted {
        Some(outcome) => outcome.requests > outcome.resumed,
        None => SuiteReader::open(Input::Path(suite))?.next_raw()?.is_some(),
    };
    if any {
        adapter.check().map_err(|e| {
            Diagnostic::new(
                Code::AdapterUnavailable,
                format!("the model cannot be asked: {}", e.message),
            )
            .help(
                "check --base-url (is the server running, and does it offer what the message \
                 says the adapter needs?), the key, and the network; nothing was asked and no \
                 results file was changed",
            )
        })?;
    }
    let mut lock = Some(lock);
    let mut journal: Option<Journal> = None;
    let mut open = |journal: &mut Option<Journal>| -> Result<(), Diagnostic> {
        if journal.is_none()
            && let Some(lock) = lock.take()
        {
            *journal = Some(Journal::resume(results, &header, &tail, lock)?);
        }
        Ok(())
    };
    let mut write = |lines: &[u8]| -> Result<(), Diagnostic> {
        open(&mut journal)?;
        match journal.as_mut() {
            Some(j) => j.append_lines(lines),
            None => Ok(()),
        }
    };
    let outcome = drive(
        Input::Path(suite),
        &done,
        adapter,
        settings,
        counted,
        progress,
        &mut write,
    )?;
    // A run that asked nothing still leaves its journal, with its header.
    open(&mut journal)?;
    Ok(Outcome {
        seconds: started.elapsed().as_secs_f64(),
        ..outcome
    })
}

/// The header of the results of `suite` asked of `adapter` under `settings`.
fn results_header(
    suite: Input<'_>,
    adapter: &dyn Adapter,
    settings: &Settings,
) -> Result<serde_json::Value, Diagnostic> {
    let suite_header = crate::formats::suite::read_header(suite)?;
    let mut header = serde_json::json!({
        "quandary": env!("CARGO_PKG_VERSION"),
        "format": "results",
        "suite": suite_header.get("suite"),
        "suite_file": suite.name(),
        "suite_hash": suite_header.get("source_hash"),
        "seed": suite_header.get("seed"),
        "adapter": adapter.fingerprint(),
        "model": adapter.model(),
        "parameters": adapter.parameters(),
        "presentation": settings.presentation.fingerprint(),
        "steers": settings.steers,
    });
    if let Some(lang) = &settings.presentation.lang {
        header["lang"] = lang.as_str().into();
    }
    if let Some((k, n)) = settings.shard {
        header["shard"] = format!("{k}/{n}").into();
    }
    Ok(header)
}

/// Counts the requests of the suite and those `done` holds, and checks the id at every
/// index with `check`, reading of each line only what that needs: where it ends, when
/// nothing is done yet and every line is asked; its index and id (from the start of the
/// line, as `expand` writes it, else parsed), when some are done or only a shard is asked;
/// the whole line when the run is in a language, which every scenario must have.
fn count(
    suite: Input<'_>,
    done: &Done,
    settings: &Settings,
    mut check: impl FnMut(u64, &str) -> Result<(), Diagnostic> + Send,
) -> Result<Outcome, Diagnostic> {
    let mut outcome = Outcome::default();
    let per_scenario = runs(settings).count() as u64;
    let tally = |index: u64, outcome: &mut Outcome| {
        outcome.requests += per_scenario;
        if !done.is_empty() {
            outcome.resumed += runs(settings)
                .filter(|(_, steer, epoch)| {
                    done.is_done(
                        index,
                        steer.map(|s| s.id.as_str()),
                        *epoch,
                        settings.retry_errors,
                    )
                })
                .count() as u64;
        }
    };
    let reader = SuiteReader::open(suite)?;
    if settings.presentation.lang.is_some() {
        reader.each_view(|scenario| {
            if !settings.asks(scenario.index) {
                return Ok(());
            }
            check(scenario.index, &scenario.id)?;
            untranslated_of(&settings.presentation, &scenario)?;
            tally(scenario.index, &mut outcome);
            Ok::<(), Diagnostic>(())
        })?;
    } else if done.is_empty() && settings.shard.is_none() {
        // Every line is asked: they are counted on two threads.
        let mut lines = 0u64;
        reader.each_chunk(&mut lines, false, &|chunk, turn| {
            let n = chunk.len() as u64;
            turn.take(|lines, _| {
                **lines += n;
                Ok::<(), Diagnostic>(())
            });
        })?;
        outcome.requests = lines * per_scenario;
    } else {
        let name = reader.name().to_string();
        reader.each_chunk((&mut check, &mut outcome), false, &|lines, turn| {
            turn.take(|(check, outcome), base| {
                for &(n, line) in lines {
                    let line = line.bytes();
                    let (index, id) = match id_and_index(line) {
                        Some((id, index)) => (index, Cow::Borrowed(id)),
                        None => match serde_json::from_slice::<IdAndIndex<'_>>(line) {
                            Ok(s) => (s.index, s.id),
                            // What is wrong with it, as reading it whole says.
                            Err(e) => {
                                let e = serde_json::from_slice::<
                                    crate::formats::suite::ScenarioView<'_>,
                                >(line)
                                .err()
                                .unwrap_or(e);
                                return Err(crate::formats::suite::not_a_scenario(
                                    &name,
                                    base + n,
                                    &e,
                                ));
                            }
                        },
                    };
                    if settings.asks(index) {
                        check(index, &id)?;
                        tally(index, outcome);
                    }
                }
                Ok(())
            });
        })?;
    }
    Ok(outcome)
}

/// The id and index of a scenario line.
#[derive(Deserialize)]
struct IdAndIndex<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    index: u64,
}

/// The id and index of a line that begins as `expand` writes it (`{"id":"…","index":N,`),
/// read from that beginning alone; `None` for a line that begins otherwise.
fn id_and_index(line: &[u8]) -> Option<(&str, u64)> {
    let rest = line.strip_prefix(b"{\"id\":\"")?;
    let end = memchr::memchr2(b'"', b'\\', rest)?;
    let id = std::str::from_utf8(&rest[..end]).ok()?;
    let rest = rest[end..].strip_prefix(b"\",\"index\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=19).contains(&digits)
        || (digits > 1 && rest[0] == b'0')
        || !matches!(rest.get(digits), Some(b',' | b'}'))
        || id.bytes().any(|b| b < 0x20)
    {
        return None;
    }
    let index = std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()?;
    Some((id, index))
}

/// Refuses a scenario that cannot be shown in the presentation's language (`Q0130`, naming
/// what to add): no text falls back to the suite's own language unseen.
pub fn untranslated(
    presentation: &Presentation,
    scenario: &ScenarioLine,
) -> Result<(), Diagnostic> {
    untranslated_of(presentation, &scenario.view())
}

/// [`untranslated`] of a borrowed line.
fn untranslated_of(
    presentation: &Presentation,
    scenario: &ScenarioView<'_>,
) -> Result<(), Diagnostic> {
    let (Some(lang), Some(missing)) = (&presentation.lang, presentation.untranslated_of(scenario))
    else {
        return Ok(());
    };
    let kind = scenario.kind.as_deref().unwrap_or("scenario");
    let help = if kind == "scenario" {
        format!(
            "give scenario template `{}` a `text.{lang} \"…\"` and each of its actions a \
             `{lang} \"…\"` label, then expand the suite again (`quandary check` lists \
             what a suite's `languages` need)",
            scenario.template
        )
    } else if kind == "question" {
        format!(
            "give question `{}` a `text.{lang} \"…\"` and each of its options a `{lang} \"…\"` \
             label, then expand the suite again (a question asked under the suite's persona \
             has no translations: expand without the persona)",
            scenario.template
        )
    } else {
        format!(
            "give stance `{}` a `statement.{lang}` and a `reversed.{lang}` (and a \
             `question.{lang}` when it has a question), then expand the suite again",
            scenario.template
        )
    };
    Err(Diagnostic::new(
        Code::MissingTranslation,
        format!(
            "cannot ask {kind} {} (`{}`) in `{lang}`: the suite has no `{lang}` version of {missing}",
            scenario.index, scenario.id
        ),
    )
    .help(help))
}

/// Asks every scenario of `suite` under every steer that `done` does not hold yet, on a
/// bounded pool of workers, handing the answers' journal lines to `write` as they come;
/// `outcome` holds the counts of the suite, and comes back with the answers added.
fn drive(
    suite: Input<'_>,
    done: &Done,
    adapter: &dyn Adapter,
    settings: &Settings,
    counted: Option<Outcome>,
    progress: &mut dyn FnMut(Event<'_>),
    write: &mut dyn FnMut(&[u8]) -> Result<(), Diagnostic>,
) -> Result<Outcome, Diagnostic> {
    let total = counted.as_ref().map(|o| o.requests);
    let mut outcome = counted.unwrap_or_default();
    let mut done_count = outcome.resumed;
    let mut failures = 0;
    progress(Event::Progress {
        done: done_count,
        total,
        failed: failures,
    });
    let todo = total.map_or(u64::MAX, |total| total - outcome.resumed);
    let workers = settings
        .concurrency
        .max(1)
        .min(usize::try_from(todo.max(1)).unwrap_or(usize::MAX));
    // An adapter with a pipeline is asked on a few threads (no more than the processors),
    // each keeping its share of the requests in flight.
    let pipelined = !adapter.in_process() && adapter.pipeline().is_some();
    let loops = if pipelined {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .min(workers)
    } else {
        0
    };
    // One worker is the reader itself: it asks each scenario as it comes, borrowed from the
    // batch of lines read (parsed on two threads, in order), so a fast in-process adapter
    // is not held up by copying scenarios or handing them between threads. Several workers
    // each take the next request from the suite themselves, one at a time (reading it a line
    // at a time, under a lock), so slow requests spread over all of them and no thread
    // hands requests to another.
    let jobs = std::sync::Mutex::new(Jobs {
        reader: if workers > 1 || pipelined {
            Some(SuiteReader::open(suite)?)
        } else {
            None
        },
        unread: done.is_empty() && settings.shard.is_none() && runs(settings).count() == 1,
        pending: std::collections::VecDeque::new(),
        failed: None,
    });
    let suite_name = suite.name();
    // Answers go to the writer in batches: as many as it can take while it writes others.
    // Several workers send one answer at a time, and the writer waits a moment (`GATHER`)
    // between writes: there is room for 64 answers a worker, so that fast ones do not fill
    // the channel in that moment (a full channel parks every worker, and waking them costs
    // more than the answers: at concurrency 64, room for 4 a worker took 2.6 futex calls an
    // answer, this 0.1). The single reader sends a chunk's answers at once: 256 batches.
    let room = if workers > 1 { 64 * workers } else { 256 };
    let (done_tx, done_rx) = mpsc::sync_channel::<Batch>(room);
    let presentation = &settings.presentation;
    // Set when the run stops early (too many errors, or the writer failed): nothing more is
    // asked.
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| -> Result<(), Diagnostic> {
        for n in 0..loops {
            let jobs = &jobs;
            let suite_name = suite_name.as_str();
            let stop = &stop;
            let done_tx = done_tx.clone();
            // The requests this thread keeps in flight: its share of the concurrency.
            let share = workers / loops + usize::from(n < workers % loops);
            let spawned = std::thread::Builder::new()
                .name("quandary-ask".into())
                .spawn_scoped(scope, move || {
                    if let Some(pipeline) = adapter.pipeline() {
                        let asks = Asks {
                            adapter,
                            settings,
                            done,
                            jobs,
                            suite_name,
                            stop,
                        };
                        asks.through(pipeline, share, &done_tx);
                    }
                });
            if let Err(e) = spawned {
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                return Err(Diagnostic::new(
                    Code::Io,
                    format!("cannot start a thread to ask on: {e}"),
                ));
            }
        }
        let spawned = if workers > 1 && !pipelined {
            workers
        } else {
            0
        };
        for _ in 0..spawned {
            let jobs = &jobs;
            let suite_name = suite_name.as_str();
            let stop = &stop;
            let done_tx = done_tx.clone();
            scope.spawn(move || {
                let mut asking = Asking::empty();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let job = match jobs.lock() {
                        Ok(mut jobs) => jobs.next(settings, done),
                        Err(_) => None,
                    };
                    let Some((scenario, steer, epoch)) = job else {
                        break;
                    };
                    let record = match &scenario {
                        Scenario::Parsed(s) => ask(
                            adapter,
                            presentation,
                            &s.view(),
                            steer,
                            epoch,
                            &mut asking,
                            None,
                        ),
                        Scenario::Line(line, n) => match ScenarioView::parse(line) {
                            Ok(s) => {
                                ask(adapter, presentation, &s, steer, epoch, &mut asking, None)
                            }
                            Err(e) => {
                                let why = crate::formats::suite::not_a_scenario(suite_name, *n, &e);
                                if let Ok(mut jobs) = jobs.lock() {
                                    jobs.fail(why);
                                }
                                break;
                            }
                        },
                    };
                    // One by one from a slow model, so a killed run loses nothing it was told.
                    if done_tx.send(Batch::of(vec![record])).is_err() {
                        break;
                    }
                }
            });
        }
        let reader_done_tx = done_tx;
        let stop = &stop;
        let reader = (workers == 1 && !pipelined).then(|| {
            scope.spawn(move || -> Result<(), Diagnostic> {
                let done_tx = reader_done_tx;
                // Every request of `scenario` not done yet, asked into `batch`; `spare` is
                // a record the batch gave back, whose room the next can take.
                let ask_all = |scenario: &ScenarioView<'_>,
                               asking: &mut Asking,
                               batch: &mut Batch,
                               spare: &mut Option<Record>|
                 -> Result<(), Stop> {
                    if !settings.asks(scenario.index) {
                        return Ok(());
                    }
                    for (_, steer, epoch) in runs(settings) {
                        if done.is_done(
                            scenario.index,
                            steer.map(|s| s.id.as_str()),
                            epoch,
                            settings.retry_errors,
                        ) {
                            continue;
                        }
                        if stop.load(std::sync::atomic::Ordering::Relaxed) {
                            return Err(Stop::Done);
                        }
                        let record = ask(
                            adapter,
                            presentation,
                            scenario,
                            steer,
                            epoch,
                            asking,
                            spare.take(),
                        );
                        *spare = batch.push(record);
                    }
                    Ok(())
                };
                let reader = SuiteReader::open(suite)?;
                let read = if adapter.in_process() {
                    // Read, parsed and asked on two threads, a chunk of the suite at a
                    // time, the answers of each chunk handed to the writer in order; a line
                    // that is not a scenario ends the run after the answers before it.
                    let name = reader.name().to_string();
                    reader.each_chunk(done_tx, true, &|lines, turn| {
                        let mut batch = Batch::new(lines.len());
                        let mut spare = None;
                        let mut asking = Asking::empty();
                        // Why the chunk's lines stop: the run was stopped, or the line
                        // so numbered in the chunk is not a scenario.
                        let mut stopped = Ok(());
                        let mut scenario = ScenarioView::empty();
                        for &(n, text) in lines {
                            let asked = match scenario.read_into(text) {
                                Ok(()) => ask_all(&scenario, &mut asking, &mut batch, &mut spare)
                                    .map_err(Ok),
                                Err(e) => Err(Err((n, e))),
                            };
                            if asked.is_err() {
                                stopped = asked;
                                break;
                            }
                        }
                        // Written out here, on two threads, not by the writer.
                        turn.take(|done_tx, base| {
                            if !batch.briefs.is_empty() && done_tx.send(batch).is_err() {
                                return Err(Stop::Done);
                            }
                            stopped.map_err(|why| match why {
                                Ok(stop) => stop,
                                Err((n, e)) => Stop::Failed(crate::formats::suite::not_a_scenario(
                                    &name,
                                    base + n,
                                    &e,
                                )),
                            })
                        });
                    })
                } else {
                    // Answers go to the writer at least every few milliseconds, and in
                    // batches from a fast agent.
                    let mut batch = Batch::new(0);
                    let mut spare = None;
                    let mut since = Instant::now();
                    let mut asking = Asking::empty();
                    let read = reader.each_view(|scenario| {
                        let asked = ask_all(&scenario, &mut asking, &mut batch, &mut spare);
                        if batch.briefs.len() >= BATCH || since.elapsed() >= FLUSH_AFTER {
                            if done_tx
                                .send(std::mem::replace(&mut batch, Batch::new(0)))
                                .is_err()
                            {
                                return Err(Stop::Done);
                            }
                            since = Instant::now();
                        }
                        asked
                    });
                    // What was answered before the end (or a line that cannot be read) is
                    // kept.
                    if !batch.briefs.is_empty() {
                        let _ = done_tx.send(batch);
                    }
                    read
                };
                match read {
                    Ok(()) | Err(Stop::Done) => Ok(()),
                    Err(Stop::Failed(d)) => Err(d),
                }
            })
        });
        let mut written: Result<(), Diagnostic> = Ok(());
        let mut in_a_row = 0u64;
        let mut stopped: Option<Diagnostic> = None;
        while let Ok(mut batch) = done_rx.recv() {
            // Whatever else has come, written with these.
            while let Ok(more) = done_rx.try_recv() {
                batch.add(more);
            }
            let mut last_error = None;
            for brief in &batch.briefs {
                let record = match brief {
                    Brief::Answered => {
                        outcome.answered += 1;
                        in_a_row = 0;
                        continue;
                    }
                    Brief::Free => {
                        outcome.free += 1;
                        in_a_row = 0;
                        continue;
                    }
                    Brief::Failed(record) => record,
                };
                if record.choice == "error" {
                    in_a_row += 1;
                    last_error.clone_from(&record.raw);
                } else {
                    in_a_row = 0;
                }
                outcome.failed += 1;
                if let Some(first) = outcome.fail(record) {
                    progress(Event::FirstFailure(first));
                }
                failures += 1;
            }
            outcome.asked += batch.briefs.len() as u64;
            outcome.prompt_tokens += batch.tokens.0;
            outcome.completion_tokens += batch.tokens.1;
            let lines = match batch.lines {
                Ok(lines) => lines,
                Err(d) => {
                    written = Err(d);
                    stop.store(true, std::sync::atomic::Ordering::Relaxed);
                    break;
                }
            };
            if let Err(d) = write(&lines) {
                written = Err(d);
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
                break;
            }
            done_count += batch.briefs.len() as u64;
            progress(Event::Progress {
                done: done_count,
                total,
                failed: failures,
            });
            // After a stop, the answers still coming (asked already) are written too.
            if stopped.is_none() && settings.max_errors > 0 && in_a_row >= settings.max_errors {
                stopped = Some(
                    Diagnostic::new(
                        Code::TooManyErrors,
                        format!(
                            "stopped after {in_a_row} requests in a row failed; the last: {}",
                            last_error.as_deref().unwrap_or("an error")
                        ),
                    )
                    .help(format!(
                        "the {} answers recorded so far are kept: fix the cause and run the same \
                     command to resume, with --retry-errors to ask the failed ones again \
                     (--max-errors N sets how many failures in a row stop a run; 0 never)",
                        done_count
                    )),
                );
                stop.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            // Several workers' answers come one by one: a moment's wait gathers those of
            // fast requests into one write, where waking for each would cost more than it.
            if workers > 1 {
                std::thread::sleep(GATHER);
            }
        }
        if let Some(d) = stopped {
            written = written.and(Err(d));
        }
        // Dropping the receiver (on an error) stops the reader and the workers.
        drop(done_rx);
        let read = reader.map_or(Ok(()), |reader| {
            reader.join().unwrap_or_else(|_| {
                Err(Diagnostic::new(
                    Code::Io,
                    "the suite reader stopped unexpectedly",
                ))
            })
        });
        written.and(read)
    })?;
    if let Some(d) = jobs.into_inner().ok().and_then(|j| j.failed) {
        return Err(d);
    }
    if total.is_none() {
        // Uncounted, every line was asked (nothing was done before, and a run that stops
        // early is an error): the requests are those asked.
        outcome.requests = outcome.asked;
        progress(Event::Progress {
            done: done_count,
            total: Some(outcome.requests),
            failed: failures,
        });
    }
    Ok(outcome)
}

/// What a thread asking through a pipeline shares with the run.
struct Asks<'r, 'a, 's> {
    adapter: &'r dyn Adapter,
    settings: &'s Settings,
    done: &'r Done,
    jobs: &'r std::sync::Mutex<Jobs<'a, 's>>,
    suite_name: &'r str,
    stop: &'r std::sync::atomic::AtomicBool,
}

/// A request a pipeline has in flight (or room for one): what its record needs.
struct Slot<'s> {
    /// What is asked; `None` when the slot is free.
    asked: Option<Flying<'s>>,
    /// Its options and prompt (their room kept from one request to the next).
    asking: Asking,
}

/// The scenario's id, index and twin group, the steer and epoch of a request in flight,
/// and when it was started.
type Flying<'s> = (String, u64, Option<String>, Option<&'s Steer>, u32, Instant);

impl<'s> Slot<'s> {
    /// The request in flight, if any.
    fn request<'a>(&'a self, presentation: &'a Presentation) -> Option<Request<'a>> {
        let (id, index, group, steer, epoch, _) = self.asked.as_ref()?;
        let group = group.as_deref().unwrap_or(id);
        self.asking
            .request_at(presentation, (id, *index, group), *steer, *epoch)
            .ok()
    }

    /// The record of the request in flight, decided `result`; the slot is free after it.
    fn record(
        &mut self,
        presentation: &Presentation,
        result: Result<Decision, AdapterError>,
    ) -> Option<Record> {
        let (id, index, twin_group, steer, epoch, started) = self.asked.take()?;
        let asked = Asked {
            scenario: &id,
            index,
            twin_group: twin_group.as_deref(),
            steer,
            epoch,
        };
        Some(record(
            presentation,
            &asked,
            &self.asking.options,
            result,
            started,
            None,
        ))
    }
}

impl<'s> Asks<'_, '_, 's> {
    /// Asks the run's requests through `pipeline`, `share` of them in flight at once, until
    /// the suite ends or the run stops; each batch of answers goes to `done_tx`.
    fn through(
        &self,
        mut pipeline: Box<dyn Pipeline + '_>,
        share: usize,
        done_tx: &mpsc::SyncSender<Batch>,
    ) {
        let presentation = &self.settings.presentation;
        let reads = self.adapter.reads_prompt();
        let mut slots: Vec<Slot<'s>> = (0..share.max(1))
            .map(|_| Slot {
                asked: None,
                asking: Asking::empty(),
            })
            .collect();
        let mut records = Vec::new();
        let mut decided = Vec::new();
        let mut reading = true;
        loop {
            // Every free slot is given the next request, while there is one.
            while reading && !self.stop.load(std::sync::atomic::Ordering::Relaxed) {
                let Some(free) = slots.iter().position(|s| s.asked.is_none()) else {
                    break;
                };
                let job = match self.jobs.lock() {
                    Ok(mut jobs) => jobs.next(self.settings, self.done),
                    Err(_) => None,
                };
                let Some((scenario, steer, epoch)) = job else {
                    reading = false;
                    break;
                };
                let slot = &mut slots[free];
                let view = match &scenario {
                    Scenario::Parsed(s) => s.view(),
                    Scenario::Line(line, n) => match ScenarioView::parse(line) {
                        Ok(s) => s,
                        Err(e) => {
                            let why =
                                crate::formats::suite::not_a_scenario(self.suite_name, *n, &e);
                            if let Ok(mut jobs) = self.jobs.lock() {
                                jobs.fail(why);
                            }
                            reading = false;
                            break;
                        }
                    },
                };
                slot.asking.fill(presentation, &view, steer, reads);
                slot.asked = Some((
                    view.id.to_string(),
                    view.index,
                    view.twin_group.as_deref().map(str::to_string),
                    steer,
                    epoch,
                    Instant::now(),
                ));
                match slot.request(presentation) {
                    Some(request) => pipeline.start(free, &request),
                    // A prompt that cannot be rendered is recorded as an error, not sent.
                    None => {
                        let why = slot.asking.prompt.as_ref().err();
                        let error = not_asked(why.map_or("the prompt cannot be rendered", |w| w));
                        records.extend(slot.record(presentation, Err(error)));
                    }
                }
            }
            // One by one from a slow model (as many as came at once from a fast one), so a
            // killed run loses nothing it was told.
            if !records.is_empty()
                && done_tx
                    .send(Batch::of(std::mem::take(&mut records)))
                    .is_err()
            {
                return;
            }
            if slots.iter().all(|s| s.asked.is_none()) {
                return;
            }
            pipeline.wait(
                &|tag| slots.get(tag).and_then(|s| s.request(presentation)),
                &mut decided,
            );
            if decided.is_empty() {
                // Returning at once says none is in flight: what the pipeline was given and
                // has not decided is lost, and recorded as such rather than waited for.
                for slot in &mut slots {
                    let lost = not_asked("the adapter's pipeline lost the request");
                    records.extend(slot.record(presentation, Err(lost)));
                }
            }
            for (tag, result) in decided.drain(..) {
                if let Some(slot) = slots.get_mut(tag) {
                    records.extend(slot.record(presentation, result));
                }
            }
        }
    }
}

/// The requests the workers take one at a time: the suite read a line at a time, each
/// scenario asked under every steer in every epoch that is not done yet.
struct Jobs<'a, 's> {
    reader: Option<SuiteReader<'a>>,
    /// Whether each line is one request, whatever its index: a run without steers or
    /// epochs, of the whole suite, that resumes nothing. Its lines are handed out as they
    /// are read, and parsed by the workers, not under the lock.
    unread: bool,
    pending: std::collections::VecDeque<Job<'s>>,
    /// Why the suite cannot be read on.
    failed: Option<Diagnostic>,
}

/// A scenario to ask: its line as read, for the worker to parse (with its number), or
/// parsed already (when the line is asked more than once, or its index had to be read to
/// know whether it is asked at all).
enum Scenario {
    Line(std::sync::Arc<[u8]>, u64),
    Parsed(std::sync::Arc<ScenarioLine>),
}

type Job<'s> = (Scenario, Option<&'s Steer>, u32);

impl<'s> Jobs<'_, 's> {
    /// The next request, or `None` at the end of the suite or a line that cannot be read.
    fn next(&mut self, settings: &'s Settings, done: &Done) -> Option<Job<'s>> {
        loop {
            if let Some(job) = self.pending.pop_front() {
                return Some(job);
            }
            let reader = self.reader.as_mut()?;
            if self.unread {
                match reader.next_raw() {
                    Ok(Some((n, line))) => return Some((Scenario::Line(line, n), None, 0)),
                    Ok(None) => self.reader = None,
                    Err(d) => self.fail(d),
                }
                continue;
            }
            let scenario = match reader.next_line() {
                Ok(Some(s)) => s,
                Ok(None) => {
                    self.reader = None;
                    continue;
                }
                Err(d) => {
                    self.fail(d);
                    continue;
                }
            };
            if !settings.asks(scenario.index) {
                continue;
            }
            let scenario = std::sync::Arc::new(scenario);
            for (_, steer, epoch) in runs(settings) {
                if !done.is_done(
                    scenario.index,
                    steer.map(|s| s.id.as_str()),
                    epoch,
                    settings.retry_errors,
                ) {
                    self.pending
                        .push_back((Scenario::Parsed(scenario.clone()), steer, epoch));
                }
            }
        }
    }

    /// The suite cannot be read on: nothing more is handed out.
    fn fail(&mut self, why: Diagnostic) {
        self.reader = None;
        self.pending.clear();
        self.failed.get_or_insert(why);
    }
}

/// Asks every scenario of a suite file's bytes (`suite`) of `adapter` under `settings`, in
/// memory: the results journal's bytes (its header, then a line per answer, in the order
/// answered) and what the run did.
pub fn run_in_memory(
    suite: &[u8],
    adapter: &dyn Adapter,
    settings: &Settings,
) -> Result<(Vec<u8>, Outcome), Diagnostic> {
    let started = Instant::now();
    let input = Input::Bytes("suite", suite);
    let header = results_header(input, adapter, settings)?;
    let done = Done::default();
    let outcome = count(input, &done, settings, |_, _| Ok(()))?;
    let mut journal = header.to_string().into_bytes();
    journal.push(b'\n');
    let mut write = |lines: &[u8]| {
        journal.extend_from_slice(lines);
        Ok(())
    };
    let outcome = drive(
        input,
        &done,
        adapter,
        settings,
        Some(outcome),
        &mut |_| {},
        &mut write,
    )?;
    Ok((
        journal,
        Outcome {
            seconds: started.elapsed().as_secs_f64(),
            ..outcome
        },
    ))
}

/// Answers on their way to the writer: their journal lines, written out where they were
/// asked (so the records are dropped by the thread that made them), and what the tally
/// reads of each.
struct Batch {
    /// The lines, each ended by a line feed.
    lines: Result<Vec<u8>, Diagnostic>,
    /// What each answer was, in order.
    briefs: Vec<Brief>,
    /// The prompt and completion tokens of them all.
    tokens: (u64, u64),
}

/// What the tally reads of an answer.
enum Brief {
    /// It chose an option.
    Answered,
    /// It answered in its own words.
    Free,
    /// It failed (`error`, `unparsed`, `refused`): the record, for the run's summary.
    Failed(Box<Record>),
}

impl Batch {
    /// An empty batch with room for about `answers` answers.
    fn new(answers: usize) -> Batch {
        Batch {
            lines: Ok(Vec::with_capacity(512 * answers)),
            briefs: Vec::with_capacity(answers),
            tokens: (0, 0),
        }
    }

    fn of(records: Vec<Record>) -> Batch {
        let mut batch = Batch::new(records.len());
        for record in records {
            batch.push(record);
        }
        batch
    }

    /// `record` written after the others; it comes back when the batch does not keep it
    /// (an answer that did not fail), so that its room can serve the next.
    fn push(&mut self, record: Record) -> Option<Record> {
        if let Ok(lines) = &mut self.lines {
            match record.write_json(lines) {
                Ok(()) => lines.push(b'\n'),
                Err(e) => self.lines = Err(crate::formats::results::unrecorded(&e)),
            }
        }
        self.tokens.0 += record.tokens.prompt.unwrap_or(0);
        self.tokens.1 += record.tokens.completion.unwrap_or(0);
        let brief = if record.position.is_some() {
            Brief::Answered
        } else if record.choice == "free" {
            Brief::Free
        } else {
            self.briefs.push(Brief::Failed(Box::new(record)));
            return None;
        };
        self.briefs.push(brief);
        Some(record)
    }

    /// `more` written after these.
    fn add(&mut self, more: Batch) {
        if let (Ok(lines), more_lines) = (&mut self.lines, more.lines) {
            match more_lines {
                Ok(more) => lines.extend_from_slice(&more),
                Err(d) => self.lines = Err(d),
            }
        }
        self.briefs.extend(more.briefs);
        self.tokens.0 += more.tokens.0;
        self.tokens.1 += more.tokens.1;
    }
}

/// The longest the reader holds answers before handing them to the writer.
const FLUSH_AFTER: std::time::Duration = std::time::Duration::from_millis(5);

/// The most answers the reader holds before handing them to the writer.
const BATCH: usize = 256;

/// How long the writer waits for more answers of several workers before writing on.
const GATHER: std::time::Duration = std::time::Duration::from_millis(1);

/// Why the reader stopped before the end of the suite.
enum Stop {
    /// The run was stopped (the writer failed, or too many requests failed).
    Done,
    /// The suite cannot be read.
    Failed(Diagnostic),
}

impl From<Diagnostic> for Stop {
    fn from(d: Diagnostic) -> Stop {
        Stop::Failed(d)
    }
}

/// Calls `f` with every scenario of the suite, in order.
fn each_scenario(
    suite: Input<'_>,
    f: impl FnMut(ScenarioLine) -> Result<(), Diagnostic>,
) -> Result<(), Diagnostic> {
    SuiteReader::open(suite)?.each(f)
}

/// Asks one scenario (under one steer) and turns the answer into a result record.
/// `asking` is room for the options and prompt, written over (kept from one call to the
/// next, so asking does not allocate them anew).
fn ask(
    adapter: &dyn Adapter,
    presentation: &Presentation,
    scenario: &ScenarioView<'_>,
    steer: Option<&Steer>,
    epoch: u32,
    asking: &mut Asking,
    spare: Option<Record>,
) -> Record {
    asking.fill(presentation, scenario, steer, adapter.reads_prompt());
    let asking = &*asking;
    let started = Instant::now();
    // A prompt that cannot be rendered is recorded as an error, not sent otherwise.
    let result = match asking.request_of(presentation, scenario, steer, epoch) {
        Ok(request) => adapter.decide(&request),
        Err(why) => Err(not_asked(why)),
    };
    let asked = Asked {
        scenario: &scenario.id,
        index: scenario.index,
        twin_group: scenario.twin_group.as_deref(),
        steer,
        epoch,
    };
    record(
        presentation,
        &asked,
        &asking.options,
        result,
        started,
        spare,
    )
}

/// Why a request was not asked (a prompt that cannot be rendered), as the error recorded
/// for it.
fn not_asked(why: &str) -> AdapterError {
    AdapterError {
        message: why.to_string(),
        attempts: 0,
        raw: None,
    }
}

/// Which asking of which scenario a record is of.
struct Asked<'a> {
    scenario: &'a str,
    index: u64,
    twin_group: Option<&'a str>,
    steer: Option<&'a Steer>,
    epoch: u32,
}

/// The result record of `asked` with `options` shown: the adapter's `result`, asked at
/// `started`; its texts are written into the room of `spare`, a record no longer needed,
/// when there is one (a fast agent's answers then allocate nothing for them).
fn record(
    presentation: &Presentation,
    asked: &Asked<'_>,
    options: &[Choice],
    result: Result<Decision, AdapterError>,
    started: Instant,
    spare: Option<Record>,
) -> Record {
    let &Asked {
        scenario,
        index,
        twin_group,
        steer,
        epoch,
    } = asked;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (mut order, mut id, mut group, mut choice) = match spare {
        Some(r) => (r.order, r.scenario, r.twin_group, r.choice),
        None => Default::default(),
    };
    order.truncate(options.len());
    for (i, o) in options.iter().enumerate() {
        match order.get_mut(i) {
            Some(held) => held.clone_from(&o.action),
            None => order.push(o.action.clone()),
        }
    }
    let scenario = {
        id.clear();
        id.push_str(scenario);
        id
    };
    let twin_group = twin_group.map(|g| {
        let mut group = group.take().unwrap_or_default();
        group.clear();
        group.push_str(g);
        group
    });
    let name_of = |a: &Answer| match a {
        Answer::Option(i) => options.get(*i).map_or("unparsed", |o| o.action.as_str()),
        Answer::Unparsed => "unparsed",
        Answer::Refused => "refused",
        Answer::Free => "free",
    };
    let name = |a: &Answer| name_of(a).to_string();
    let choice = |said: &str| {
        choice.clear();
        choice.push_str(said);
        choice
    };
    // Asked for a free-form answer, an agent that chooses (`profile`, `random`, a program
    // answering with a choice) says its choice as a sentence.
    let result = result.map(|mut d| {
        if presentation.mode == crate::model::AnswerMode::Free
            && let Some(Answer::Option(i)) = d.answer
            && let Some(o) = options.get(i)
        {
            d.raw = d
                .raw
                .or_else(|| Some(present::as_sentence(&o.text, presentation.lang.as_deref())));
            d.answer = Some(Answer::Free);
        }
        d
    });
    match result {
        Ok(d) => {
            let answer = d.answer.clone().unwrap_or(Answer::Unparsed);
            let position = match answer {
                Answer::Option(i) if i < options.len() => Some(i),
                _ => None,
            };
            let probabilities = d.probabilities.as_ref().map(|p| {
                options
                    .iter()
                    .zip(p)
                    .map(|(o, p)| (o.action.clone(), *p))
                    .collect()
            });
            Record {
                scenario,
                index,
                twin_group,
                steer: steer.map(|s| s.id.clone()),
                epoch,
                choice: choice(name_of(&answer)),
                position,
                order,
                probabilities,
                readings: d
                    .readings
                    .iter()
                    .map(|(k, a)| (k.clone(), name(a)))
                    .collect(),
                raw: d.raw,
                rule: d.rule,
                reasoning: d.reasoning,
                label_mass: d.label_mass,
                scores: d.scores.as_ref().map(|s| {
                    options
                        .iter()
                        .zip(s)
                        .map(|(o, s)| (o.action.clone(), *s))
                        .collect()
                }),
                latency_ms,
                tokens: Tokens {
                    prompt: d.prompt_tokens,
                    completion: d.completion_tokens,
                },
                attempts: d.attempts.max(1),
            }
        }
        Err(e) => Record {
            scenario,
            index,
            twin_group,
            steer: steer.map(|s| s.id.clone()),
            epoch,
            choice: choice("error"),
            position: None,
            order,
            probabilities: None,
            readings: Default::default(),
            raw: Some(match e.raw {
                Some(raw) => format!("{}: {raw}", e.message),
                None => e.message,
            }),
            rule: None,
            reasoning: None,
            label_mass: None,
            scores: None,
            latency_ms,
            tokens: Tokens::default(),
            attempts: e.attempts.max(1),
        },
    }
}

/// A scenario as a run shows it under one steer: what every request about it is made of.
/// `eval` asks with it, and `export --to openai-batch` writes the same requests into a
/// batch file, so both send the same bytes.
pub struct Asking {
    /// The options, labelled, in the order shown.
    pub options: Vec<Choice>,
    /// The user prompt, or why it cannot be rendered.
    pub prompt: Result<String, String>,
    /// The system prompt: the presentation's, then the steer's.
    pub system: Option<String>,
}

impl Asking {
    /// `scenario` as `presentation` shows it under `steer`.
    pub fn new(
        presentation: &Presentation,
        scenario: &ScenarioLine,
        steer: Option<&Steer>,
    ) -> Asking {
        Asking::of(presentation, &scenario.view(), steer, true)
    }

    /// [`Asking::new`] of a borrowed line; without `prompt`, the default layout is not
    /// rendered (the prompt is empty), for an adapter that does not read it.
    fn of(
        presentation: &Presentation,
        scenario: &ScenarioView<'_>,
        steer: Option<&Steer>,
        prompt: bool,
    ) -> Asking {
        let mut asking = Asking::empty();
        asking.fill(presentation, scenario, steer, prompt);
        asking
    }

    /// No options, an empty prompt: room for [`Asking::fill`].
    fn empty() -> Asking {
        Asking {
            options: Vec::new(),
            prompt: Ok(String::new()),
            system: None,
        }
    }

    /// Makes this [`Asking::of`] `scenario`, writing over the options it has (their room
    /// kept), so a run asking one scenario after another does not allocate them anew.
    fn fill(
        &mut self,
        presentation: &Presentation,
        scenario: &ScenarioView<'_>,
        steer: Option<&Steer>,
        prompt: bool,
    ) {
        presentation.fill_options(scenario, &mut self.options);
        if prompt || presentation.user.is_some() {
            self.prompt = presentation.try_prompt_of(scenario, &self.options);
        } else if let Ok(p) = &mut self.prompt {
            p.clear();
        } else {
            self.prompt = Ok(String::new());
        }
        self.system = presentation.system(steer.map(|s| s.system.as_str()));
    }

    /// The request of its `epoch`-th asking, or why its prompt cannot be rendered.
    pub fn request<'a>(
        &'a self,
        presentation: &'a Presentation,
        scenario: &'a ScenarioLine,
        steer: Option<&'a Steer>,
        epoch: u32,
    ) -> Result<Request<'a>, &'a str> {
        let group = scenario.twin_group.as_deref().unwrap_or(&scenario.id);
        let line = (scenario.id.as_str(), scenario.index, group);
        self.request_at(presentation, line, steer, epoch)
    }

    /// [`Asking::request`] of a borrowed line.
    fn request_of<'a>(
        &'a self,
        presentation: &'a Presentation,
        scenario: &'a ScenarioView<'_>,
        steer: Option<&'a Steer>,
        epoch: u32,
    ) -> Result<Request<'a>, &'a str> {
        let line = (&*scenario.id, scenario.index, scenario.group());
        self.request_at(presentation, line, steer, epoch)
    }

    /// The request for the scenario `(id, index, twin group)`.
    fn request_at<'a>(
        &'a self,
        presentation: &'a Presentation,
        (scenario, index, group): (&'a str, u64, &'a str),
        steer: Option<&'a Steer>,
        epoch: u32,
    ) -> Result<Request<'a>, &'a str> {
        let prompt = self.prompt.as_deref().map_err(String::as_str)?;
        Ok(Request {
            scenario,
            index,
            group,
            steer: steer.map(|s| s.id.as_str()),
            system: self.system.as_deref(),
            prompt,
            options: &self.options,
            mode: presentation.mode,
            epoch,
            lang: presentation.lang.as_deref(),
        })
    }
}

/// The requests a run makes of each scenario, in the order it makes them: the run without a
/// steer, then each steer of `settings` in turn, each asked in every epoch. The number of
/// the steer is 0 for the run without one, then 1, 2, … in the order of `settings.steers`.
pub fn runs(settings: &Settings) -> impl Iterator<Item = (usize, Option<&Steer>, u32)> + '_ {
    std::iter::once(None)
        .chain(settings.steers.iter().map(Some))
        .enumerate()
        .flat_map(move |(n, s)| (0..settings.epochs.max(1)).map(move |e| (n, s, e)))
}

/// What a run would ask.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DryRun {
    /// Scenarios in the suite.
    pub scenarios: u64,
    /// Steers, the plain run included.
    pub steers: u64,
    /// Times each scenario is asked under each steer.
    pub epochs: u64,
    /// Requests: scenarios × steers.
    pub requests: u64,
    /// An estimate of the prompt tokens (a token for every four bytes of prompt).
    pub prompt_tokens: u64,
    /// The most completion tokens the run can use: the requests times the longest answer
    /// asked for (see [`DryRun::with_answers`]); 0 until it is known.
    pub completion_tokens: u64,
}

impl DryRun {
    /// With the longest answer each request asks for, in tokens (the `openai` adapter's
    /// `max_tokens`, or its reasoning tokens when the model reasons or answers freely).
    pub fn with_answers(mut self, tokens_per_request: u64) -> DryRun {
        self.completion_tokens = self.requests.saturating_mul(tokens_per_request);
        self
    }

    /// What the run costs at most, at `input` and `output` (prices per million prompt and
    /// completion tokens): the prompt tokens estimated and every completion token allowed.
    pub fn cost(&self, input: f64, output: f64) -> f64 {
        (self.prompt_tokens as f64 * input + self.completion_tokens as f64 * output) / 1e6
    }
}

/// Counts the requests a run of `suite` would make, and estimates their prompt tokens.
pub fn dry_run(suite: &Path, settings: &Settings) -> Result<DryRun, Diagnostic> {
    crate::formats::suite::read_header(Input::Path(suite))?;
    let mut out = DryRun {
        steers: 1 + settings.steers.len() as u64,
        ..DryRun::default()
    };
    let steer_bytes: u64 = settings.steers.iter().map(|s| s.system.len() as u64).sum();
    let system = settings
        .presentation
        .system
        .as_ref()
        .map_or(0, |s| s.len() as u64);
    each_scenario(Input::Path(suite), |scenario| {
        if !settings.asks(scenario.index) {
            return Ok(());
        }
        let options = settings.presentation.options(&scenario);
        let prompt = settings.presentation.prompt(&scenario, &options).len() as u64;
        out.scenarios += 1;
        out.prompt_tokens += ((prompt + system) * out.steers + steer_bytes).div_ceil(4);
        Ok(())
    })?;
    out.epochs = u64::from(settings.epochs.max(1));
    out.prompt_tokens *= out.epochs;
    out.requests = out.scenarios * out.steers * out.epochs;
    Ok(out)
}

/// The default results path for a suite: `SUITE.results.jsonl` beside it.
pub fn default_results_path(suite: &Path) -> PathBuf {
    let stem = suite
        .file_stem()
        .map_or_else(|| "suite".into(), |s| s.to_string_lossy().into_owned());
    let stem = stem.strip_suffix(".suite").unwrap_or(&stem).to_string();
    suite.with_file_name(format!("{stem}.results.jsonl"))
}

#[cfg(test)]
mod count_tests {
    use super::*;

    #[test]
    fn ids_and_indexes_are_read_from_the_start_of_a_line_as_expand_writes_it() {
        assert_eq!(
            id_and_index(br#"{"id":"s0ec4","index":12,"kind":"scenario"}"#),
            Some(("s0ec4", 12))
        );
        assert_eq!(id_and_index(br#"{"id":"s1","index":0}"#), Some(("s1", 0)));
        // Anything else is left to the parser.
        for line in [
            r#"{"index":12,"id":"s1"}"#,
            r#"{"id":"s"1","index":1,"x":0}"#,
            r#"{"id":"s\1","index":1,"x":0}"#,
            r#"{"id":"s1","index":01,"x":0}"#,
            r#"{"id":"s1","index":1.5,"x":0}"#,
            r#"{"id":"s1","index":-1,"x":0}"#,
            r#"{"id":"s1","index":99999999999999999999,"x":0}"#,
            r#"{"id":"s1"}"#,
            r#" {"id":"s1","index":1}"#,
            "{\"id\":\"s\t1\",\"index\":1}",
        ] {
            assert_eq!(id_and_index(line.as_bytes()), None, "{line}");
        }
    }
}

#[cfg(test)]
mod asking_tests {
    use super::*;

    const SUITE: &str = concat!(
        r#"{"format":"suite","suite":"t"}"#,
        "\n",
        r#"{"id":"s1","index":0,"text":"Which?","actions":[{"id":"go","label":"Go"},{"id":"stay","label":"Stay"}]}"#,
        "\n"
    );

    /// Picks the first option and keeps the prompts it was given.
    #[derive(Default)]
    struct First {
        reads: bool,
        in_process: bool,
        seen: std::sync::Mutex<Vec<String>>,
    }

    impl Adapter for First {
        fn fingerprint(&self) -> String {
            "first".into()
        }
        fn reads_prompt(&self) -> bool {
            self.reads
        }
        fn in_process(&self) -> bool {
            self.in_process
        }
        fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
            if let Ok(mut seen) = self.seen.lock() {
                seen.push(request.prompt.to_string());
            }
            Ok(Decision::option(0))
        }
    }

    fn asked(reads: bool, user: Option<&str>) -> (Vec<String>, String) {
        let adapter = First {
            reads,
            ..First::default()
        };
        let mut settings = Settings::default();
        settings.presentation.user = user.map(str::to_string);
        let (journal, _) = run_in_memory(SUITE.as_bytes(), &adapter, &settings).unwrap();
        let journal = String::from_utf8(journal).unwrap();
        let record = journal.lines().nth(1).unwrap_or_default().to_string();
        (adapter.seen.into_inner().unwrap(), record)
    }

    #[test]
    fn a_prompt_is_rendered_only_for_an_adapter_that_reads_it_or_a_user_template() {
        let (read, _) = asked(true, None);
        assert_eq!(read.len(), 1);
        assert!(
            read[0].starts_with("Which?\n\nA. Go\nB. Stay\n\nAnswer"),
            "{read:?}"
        );
        let (unread, record) = asked(false, None);
        assert_eq!(unread, [""]);
        assert!(record.contains(r#""choice":"go""#), "{record}");
        // A template is rendered all the same, so one that fails is an error for every
        // adapter.
        let (templated, _) = asked(false, Some("{{ text }}!"));
        assert_eq!(templated, ["Which?!"]);
        let (failed, record) = asked(false, Some("{{ text | nosuchfilter }}"));
        assert!(failed.is_empty());
        assert!(record.contains(r#""choice":"error""#), "{record}");
    }

    /// The journal of `suite` asked of [`First`] (its latencies left out), or the error.
    fn journal(suite: &[u8], in_process: bool) -> Result<String, String> {
        let adapter = First {
            in_process,
            ..First::default()
        };
        let settings = Settings {
            steers: vec![Steer {
                id: "kind".into(),
                system: "Be kind.".into(),
            }],
            ..Settings::default()
        };
        run_in_memory(suite, &adapter, &settings)
            .map(|(journal, _)| without_latency(&String::from_utf8_lossy(&journal)))
            .map_err(|d| d.to_string())
    }

    /// The journal with every `"latency_ms":…,` left out.
    fn without_latency(journal: &str) -> String {
        journal
            .lines()
            .map(
                |l| match (l.find("\"latency_ms\":"), l.find(",\"tokens\"")) {
                    (Some(a), Some(b)) if a < b => format!("{}{}", &l[..a], &l[b + 1..]),
                    _ => l.to_string(),
                },
            )
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// A suite of 700 two-option scenarios (`extra` ends each line's fields) and a header:
    /// asked on two threads and in turn, it gives the same journal; with line `bad` not a
    /// scenario, both name that line and stop there. The good suite's bytes.
    /// An adapter whose pipeline decides, at each wait, every request started since the
    /// last (the first option), and loses those of scenarios whose index `loses` divides.
    struct Batched {
        loses: u64,
        /// The most requests a pipeline held at once.
        most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    struct BatchedPipeline {
        loses: u64,
        started: Vec<usize>,
        held: usize,
        most: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Adapter for Batched {
        fn fingerprint(&self) -> String {
            "batched".into()
        }
        fn decide(&self, _: &Request<'_>) -> Result<Decision, AdapterError> {
            Ok(Decision::option(0))
        }
        fn pipeline(&self) -> Option<Box<dyn Pipeline + '_>> {
            Some(Box::new(BatchedPipeline {
                loses: self.loses,
                started: Vec::new(),
                held: 0,
                most: self.most.clone(),
            }))
        }
    }

    impl Pipeline for BatchedPipeline {
        fn start(&mut self, tag: usize, request: &Request<'_>) {
            self.held += 1;
            self.most
                .fetch_max(self.held, std::sync::atomic::Ordering::Relaxed);
            if !request.index.is_multiple_of(self.loses) {
                self.started.push(tag);
            }
        }
        fn wait<'r>(
            &mut self,
            request: &dyn Fn(usize) -> Option<Request<'r>>,
            decided: &mut Vec<(usize, Result<Decision, AdapterError>)>,
        ) {
            // Lost requests are held until a wait that decides nothing gives them up.
            self.held = if self.started.is_empty() {
                0
            } else {
                self.held - self.started.len()
            };
            for tag in self.started.drain(..) {
                // The request started under the tag is the one given back.
                let index = request(tag).map_or(0, |r| r.index);
                assert!(!index.is_multiple_of(self.loses));
                decided.push((tag, Ok(Decision::option(0))));
            }
        }
    }

    #[test]
    fn a_pipeline_is_asked_its_share_at_once_and_what_it_loses_is_recorded() {
        let lines: Vec<String> = std::iter::once(r#"{"format":"suite","suite":"t"}"#.to_string())
            .chain((0..50).map(|i| {
                format!(
                    r#"{{"id":"s{i}","index":{i},"text":"Which {i}?","actions":[{{"id":"go","label":"Go"}},{{"id":"stay","label":"Stay"}}]}}"#
                )
            }))
            .collect();
        let suite = lines.join("\n").into_bytes();
        for concurrency in [1, 4, 64] {
            let settings = Settings {
                concurrency,
                ..Settings::default()
            };
            let adapter = Batched {
                loses: 7,
                most: Default::default(),
            };
            let (journal, outcome) = run_in_memory(&suite, &adapter, &settings).unwrap();
            let records: Vec<serde_json::Value> = String::from_utf8_lossy(&journal)
                .lines()
                .skip(1)
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert_eq!(records.len(), 50, "concurrency {concurrency}");
            for r in &records {
                let index = r["index"].as_u64().unwrap();
                if index.is_multiple_of(7) {
                    assert_eq!(r["choice"], "error");
                    assert_eq!(r["raw"], "the adapter's pipeline lost the request");
                } else {
                    assert_eq!(r["choice"], r["order"][0], "{r}");
                }
            }
            assert_eq!((outcome.answered, outcome.failed), (42, 8));
            // No pipeline held more than the run's concurrency, and each held several at
            // once when it could.
            let most = adapter.most.load(std::sync::atomic::Ordering::Relaxed);
            assert!(
                most <= concurrency,
                "{most} held at concurrency {concurrency}"
            );
            assert!(
                most >= concurrency.min(2),
                "{most} held at concurrency {concurrency}"
            );
        }
    }

    fn same_journal_and_bad_line(option: &str, extra: &str, bad: usize) -> Vec<u8> {
        let line = |i: usize| {
            format!(
                r#"{{"id":"s{i}","index":{i},"text":"Which {i}?","actions":[{{"id":"go","label":"Go"}},{{"id":"stay","label":"{option}"}}]{extra}}}"#
            )
        };
        let mut lines: Vec<String> = (0..700).map(line).collect();
        lines.insert(0, r#"{"format":"suite","suite":"t"}"#.to_string());
        let good = lines.join("\n").into_bytes();
        let parallel = journal(&good, true);
        assert_eq!(parallel, journal(&good, false));
        assert_eq!(parallel.map(|j| j.lines().count()), Ok(1 + 2 * 700));
        lines[bad] = format!(r#"{{"id":"s{}","text":"x"}}"#, bad - 1);
        let bad_suite = lines.join("\n").into_bytes();
        let said = journal(&bad_suite, true).unwrap_err();
        assert!(
            said.contains(&format!("line {} is not a scenario", bad + 1)),
            "{said}"
        );
        assert_eq!(journal(&bad_suite, false).unwrap_err(), said);
        good
    }

    #[test]
    fn an_in_process_adapter_asked_on_two_threads_writes_the_same_journal() {
        let good = same_journal_and_bad_line(r"St\u0061y", "", 500);
        // A line that is not UTF-8 stops either at the same line.
        let mut torn = good;
        let at = torn.len() - 30;
        torn[at] = 0xff;
        assert_eq!(
            journal(&torn, true).unwrap_err(),
            journal(&torn, false).unwrap_err()
        );
    }

    /// [`First`], in process, whose check fails when `down`.
    struct Checked {
        down: bool,
        checks: std::sync::atomic::AtomicUsize,
    }

    impl Adapter for Checked {
        fn fingerprint(&self) -> String {
            "first".into()
        }
        fn in_process(&self) -> bool {
            true
        }
        fn check(&self) -> Result<(), AdapterError> {
            self.checks
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match self.down {
                true => Err(not_asked("down")),
                false => Ok(()),
            }
        }
        fn decide(&self, _: &Request<'_>) -> Result<Decision, AdapterError> {
            Ok(Decision::option(0))
        }
    }

    #[test]
    fn a_run_that_need_not_know_its_total_first_counts_as_it_asks() {
        let dir = std::env::temp_dir().join(format!("quandary-uncounted-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let line = |i: usize| {
            format!(
                r#"{{"id":"s{i}","index":{i},"text":"Which?","actions":[{{"id":"go","label":"Go"}},{{"id":"stay","label":"Stay"}}]}}"#
            )
        };
        let mut lines: Vec<String> = (0..3000).map(line).collect();
        lines.insert(0, r#"{"format":"suite","suite":"t"}"#.to_string());
        let suite = dir.join("suite.jsonl");
        std::fs::write(&suite, lines.join("\n")).unwrap();
        let steered = Settings {
            steers: vec![Steer {
                id: "kind".into(),
                system: "Be kind.".into(),
            }],
            ..Settings::default()
        };
        let mut journals = Vec::new();
        for total_first in [true, false] {
            let settings = Settings {
                total_first,
                ..steered.clone()
            };
            let adapter = Checked {
                down: false,
                checks: Default::default(),
            };
            let results = dir.join(format!("results-{total_first}.jsonl"));
            let mut totals = Vec::new();
            let outcome = run(&suite, &results, &adapter, &settings, &mut |e| {
                if let Event::Progress { done, total, .. } = e {
                    totals.push((done, total));
                }
            })
            .unwrap();
            assert_eq!((outcome.requests, outcome.asked), (6000, 6000));
            let (last, first) = (totals.last().unwrap(), totals[0]);
            assert_eq!(*last, (6000, Some(6000)), "{total_first}");
            if total_first {
                assert!(totals.iter().all(|&(_, t)| t == Some(6000)));
            } else {
                // Not counted before the last.
                assert_eq!(first, (0, None));
                assert!(totals[..totals.len() - 1].iter().all(|&(_, t)| t.is_none()));
            }
            assert_eq!(adapter.checks.load(std::sync::atomic::Ordering::Relaxed), 1);
            let journal = std::fs::read_to_string(&results).unwrap();
            journals.push(without_latency(&journal));
        }
        assert_eq!(journals[0], journals[1]);
        // A suite with nothing to ask asks nothing, not even whether the adapter can answer.
        std::fs::write(&suite, "{\"format\":\"suite\",\"suite\":\"t\"}\n\n").unwrap();
        let adapter = Checked {
            down: true,
            checks: Default::default(),
        };
        let settings = Settings {
            total_first: false,
            ..Settings::default()
        };
        let results = dir.join("empty.jsonl");
        let outcome = run(&suite, &results, &adapter, &settings, &mut |_| {}).unwrap();
        assert_eq!((outcome.requests, outcome.asked), (0, 0));
        assert_eq!(adapter.checks.load(std::sync::atomic::Ordering::Relaxed), 0);
        // One that has is stopped before its journal is written.
        std::fs::write(&suite, lines[..3].join("\n")).unwrap();
        let results = dir.join("down.jsonl");
        let e = run(&suite, &results, &adapter, &settings, &mut |_| {}).unwrap_err();
        assert_eq!(e.code, Code::AdapterUnavailable, "{e}");
        assert!(!results.exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_bad_line_is_named_by_its_number_in_the_file_past_the_first_chunk() {
        // 12 KiB a line: 700 lines make two chunks and more.
        let pad = format!(r#","provenance":"{}""#, "p".repeat(12 << 10));
        let good = same_journal_and_bad_line("Stay", &pad, 650);
        assert!(good.len() > 8 << 20);
    }
}
