//! `openai`: any OpenAI-compatible chat-completions endpoint (OpenAI itself, llama.cpp's
//! server, vLLM, Ollama, …).
//!
//! One request a decision: `POST {base_url}/chat/completions` with the system prompt (if
//! any) and the user prompt. The answer is read two ways, both reported in
//! [`Decision::readings`]:
//!
//! - `logprobs`: a forced choice from the `top_logprobs` of the answer's first token (or,
//!   for labels sharing a first word such as `Action 1`/`Action 2`, of the first token after
//!   that shared part). Tokens are trimmed of leading spaces and compared with the labels
//!   without regard to case; the probabilities of tokens naming the same option are added
//!   and renormalised over the options, giving [`Decision::probabilities`] and the most
//!   probable option.
//! - `parse`: [`present::parse`](crate::eval::present::parse) on the answer text.
//!
//! The decision's answer is the `logprobs` reading when there is one (modes `logprobs` and
//! `both`), else the `parse` reading.
//!
//! **Retries.** A 429, a 408, a 5xx, a timeout or a failed connection is retried up to
//! [`OpenAiOptions::max_retries`] times, after the server's `Retry-After` (seconds or an
//! HTTP date) when it gives one, else after an exponential backoff with full jitter (a
//! uniform draw below `min(30 s, 0.5 s × 2^retry)`). Anything else that goes wrong — another
//! status, a body that is not JSON, an answer without choices — is not retried: it becomes an
//! [`AdapterError`] with an excerpt of the body. An answer naming no option is
//! [`Answer::Unparsed`], one declining to choose [`Answer::Refused`].
//!
//! **Concurrency that backs off.** All the threads of a run share one connection pool and
//! one gate on requests in flight. The gate's limit starts at
//! [`OpenAiOptions::concurrency`] and moves as TCP's congestion window does (additive
//! increase, multiplicative decrease): every 429 halves it (never below 1), and each run of
//! `limit` successes in a row raises it by one, never above the starting value. A thread
//! waits at the gate while the requests in flight reach the limit, so a server that says
//! "too many requests" soon sees fewer.
//!
//! **Secrets.** The API key is sent as a bearer token and nowhere else: it is not in the
//! fingerprint, the parameters or `Debug` output, and any error message or body excerpt that
//! would echo it has it replaced by `***`.

use std::cell::Cell;
use std::fmt;
use std::sync::{Condvar, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Deserialize;

use crate::eval::present;
use crate::eval::{Adapter, AdapterError, Answer, Choice, Decision, Request};
use crate::model::AnswerMode;

/// The longest reasoning answer asked for unless told otherwise, in tokens.
pub const DEFAULT_REASONING_TOKENS: u32 = super::openai_reasoning_tokens();

/// The longest wait a `Retry-After` header can impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The first backoff step.
const BACKOFF_BASE: f64 = 0.5;
/// The longest backoff step.
const BACKOFF_CAP: f64 = 30.0;
/// How much of a body an error quotes.
const EXCERPT: usize = 500;
/// The largest response body read.
const MAX_BODY: u64 = 16 << 20;

pub use super::Mode;

/// How to reach the endpoint and what to ask it.
#[derive(Clone)]
pub struct OpenAiOptions {
    /// The API's base URL, up to and including `/v1`: `POST {base_url}/chat/completions`.
    pub base_url: String,
    /// The model's name.
    pub model: String,
    /// The API key, sent as a bearer token; `None` for servers that need none.
    pub api_key: Option<String>,
    /// Sampling temperature.
    pub temperature: f64,
    /// The longest answer, in tokens, when the answer is a choice.
    pub max_tokens: u32,
    /// The longest answer, in tokens, when the model reasons before it answers.
    pub reasoning_tokens: u32,
    /// The sampling seed, for servers that take one.
    pub seed: Option<u64>,
    /// How long one request may take.
    pub timeout: Duration,
    /// Retries of a request after a 429, a 5xx, a timeout or a failed connection.
    pub max_retries: u32,
    /// Requests in flight at most (the gate's starting and highest limit): the run's
    /// concurrency.
    pub concurrency: usize,
    /// Which readings to make.
    pub mode: Mode,
}

impl OpenAiOptions {
    /// Options with the defaults: temperature 0, 16 tokens, no seed, 60 s, 6 retries,
    /// 64 in flight, both readings.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiOptions {
        OpenAiOptions {
            base_url: base_url.into(),
            model: model.into(),
            api_key: None,
            temperature: 0.0,
            max_tokens: 16,
            reasoning_tokens: DEFAULT_REASONING_TOKENS,
            seed: None,
            timeout: Duration::from_secs(60),
            max_retries: 6,
            concurrency: 64,
            mode: Mode::Both,
        }
    }
}

impl fmt::Debug for OpenAiOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiOptions")
            .field("base_url", &redact_url(&self.base_url))
            .field("model", &self.model)
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("reasoning_tokens", &self.reasoning_tokens)
            .field("seed", &self.seed)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("concurrency", &self.concurrency)
            .field("mode", &self.mode)
            .finish()
    }
}

/// The `openai` adapter. Share one between threads: they share its connection pool and its
/// gate on requests in flight.
pub struct OpenAi {
    options: OpenAiOptions,
    url: String,
    /// What must never be shown: the key, and the secrets a URL may carry (a password,
    /// the values of query parameters).
    secrets: Vec<String>,
    agent: ureq::Agent,
    gate: Gate,
}

impl fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAi")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl OpenAi {
    /// An adapter for the endpoint `options` describes.
    pub fn new(mut options: OpenAiOptions) -> OpenAi {
        options.base_url = options.base_url.trim_end_matches('/').to_string();
        options.concurrency = options.concurrency.max(1);
        // A query (`?api-version=…`) stays after the path.
        let url = match options.base_url.split_once('?') {
            Some((base, query)) => {
                format!("{}/chat/completions?{query}", base.trim_end_matches('/'))
            }
            None => format!("{}/chat/completions", options.base_url),
        };
        let secrets = options
            .api_key
            .iter()
            .cloned()
            .chain(url_secrets(&options.base_url))
            .collect();
        let pool = options.concurrency.max(4);
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .max_redirects(0)
            .max_idle_connections(pool)
            .max_idle_connections_per_host(pool)
            // Under the keep-alive timeouts servers commonly use (llama.cpp's is 5 s), so that
            // a pooled connection the server has closed is rarely tried.
            .max_idle_age(Duration::from_secs(4))
            .user_agent(format!("quandary/{}", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        OpenAi {
            gate: Gate::new(options.concurrency),
            options,
            url,
            secrets,
            agent,
        }
    }

    /// Its options.
    pub fn options(&self) -> &OpenAiOptions {
        &self.options
    }

    /// The gate's current limit on requests in flight.
    pub fn concurrency_limit(&self) -> usize {
        self.gate.limit()
    }

    /// The request body.
    fn body(&self, request: &Request<'_>) -> Vec<u8> {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = request.system {
            messages.push(serde_json::json!({ "role": "system", "content": system }));
        }
        messages.push(serde_json::json!({ "role": "user", "content": request.prompt }));
        let choice = request.mode == AnswerMode::Choice;
        let max_tokens = if choice {
            self.options.max_tokens
        } else {
            self.options.reasoning_tokens
        };
        let mut body = serde_json::json!({
            "model": self.options.model,
            "messages": messages,
            "temperature": self.options.temperature,
            "max_tokens": max_tokens,
        });
        // Each epoch is its own draw: its own sampling seed.
        if let Some(seed) = self.options.seed {
            body["seed"] = seed.wrapping_add(u64::from(request.epoch)).into();
        }
        // The first token's alternatives say something only of an answer that is a label.
        if choice && self.options.mode != Mode::Parse {
            body["logprobs"] = true.into();
            body["top_logprobs"] = 20.into();
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// Replaces the API key, wherever it appears, by `***`.
    fn scrub(&self, text: String) -> String {
        self.secrets
            .iter()
            .fold(text, |text, secret| super::scrub(&text, secret))
    }

    /// The start of a body, for an error message: the key hidden before the body is cut,
    /// so no part of it survives the cut.
    fn excerpt(&self, text: &str) -> String {
        self.scrub(excerpt(&self.scrub(text.to_string())))
    }

    fn error(&self, message: String, attempts: u32, raw: Option<String>) -> AdapterError {
        AdapterError {
            message: self.scrub(message),
            attempts,
            raw: raw.map(|r| self.scrub(r)),
        }
    }

    /// One request: the status, the `Retry-After` header, the body.
    fn send(&self, body: &[u8]) -> Result<(u16, Option<String>, Vec<u8>), ureq::Error> {
        let mut call = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json");
        if let Some(key) = &self.options.api_key {
            call = call.header("authorization", format!("Bearer {key}"));
        }
        let mut response = call.send(body)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()?;
        Ok((status, retry_after, bytes))
    }

    /// Reads a successful response.
    fn read(
        &self,
        bytes: &[u8],
        request: &Request<'_>,
        attempts: u32,
    ) -> Result<Decision, AdapterError> {
        let text = String::from_utf8_lossy(bytes);
        let response: Completion = serde_json::from_str(&text).map_err(|e| {
            self.error(
                format!("the server's answer is not a chat completion: {e}"),
                attempts,
                Some(self.excerpt(&text)),
            )
        })?;
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(self.error(
                "the server's answer has no choices".into(),
                attempts,
                Some(self.excerpt(&text)),
            ));
        };
        let message = choice.message.unwrap_or_default();
        let content = message.content.unwrap_or_default();
        let mut decision = Decision {
            prompt_tokens: response.usage.as_ref().and_then(|u| u.prompt_tokens),
            completion_tokens: response.usage.as_ref().and_then(|u| u.completion_tokens),
            attempts,
            ..Decision::default()
        };
        // A model that declines through the API's own refusal field.
        if content.is_empty()
            && let Some(refusal) = message.refusal.filter(|r| !r.is_empty())
        {
            decision.answer = Some(Answer::Refused);
            decision.readings.push(("parse".into(), Answer::Refused));
            decision.raw = Some(self.scrub(refusal));
            return Ok(decision);
        }
        let reasoning = message
            .reasoning_content
            .filter(|r| !r.trim().is_empty())
            .map(|r| self.scrub(r));
        if request.mode != AnswerMode::Choice {
            let mut reading =
                present::read_in(&content, request.options, request.mode, request.lang);
            // An answer cut off at the token limit has not given its final answer: only an
            // explicit one ("Final answer: B") is read from it, not its last line or the
            // like.
            if request.mode == AnswerMode::Reasoning
                && choice.finish_reason.as_deref() == Some("length")
                && !matches!(reading.rule, Some("final answer" | "answer" | "i choose"))
            {
                reading.answer = Answer::Unparsed;
                reading.rule = None;
            }
            if request.mode == AnswerMode::Reasoning {
                decision
                    .readings
                    .push(("parse".into(), reading.answer.clone()));
            }
            decision.answer = Some(reading.answer);
            decision.rule = reading.rule.map(str::to_string);
            decision.reasoning = reasoning.or(reading.reasoning.map(|r| self.scrub(r)));
            decision.raw = Some(self.scrub(content));
            return Ok(decision);
        }
        let (parsed, rule) = present::parse_in(&content, request.options, request.lang);
        let forced = match self.options.mode {
            Mode::Parse => None,
            Mode::Logprobs | Mode::Both => choice
                .logprobs
                .as_ref()
                .and_then(|l| forced_choice(&l.content, request.options)),
        };
        if self.options.mode != Mode::Parse {
            let reading = forced
                .as_ref()
                .map_or(Answer::Unparsed, |f| Answer::Option(f.best));
            decision.readings.push(("logprobs".into(), reading));
        }
        if self.options.mode != Mode::Logprobs {
            decision.readings.push(("parse".into(), parsed.clone()));
        }
        decision.label_mass = forced.as_ref().map(|f| f.mass);
        match forced {
            // Where the model answered with a label, that label is its choice: the most
            // probable one at temperature 0, a draw from the probabilities above it (so a
            // sampled answer is recorded as sampled, not as the most probable). Where it
            // began otherwise ("The answer is B", "I'm a helpful AI…") its text decides, and
            // the answer is unparsed when the text names no option; the probabilities over
            // the labels are kept either way.
            Some(Forced {
                generated: Some(generated),
                probabilities,
                ..
            }) => {
                decision.answer = Some(Answer::Option(generated));
                decision.probabilities = Some(probabilities);
                decision.rule = Some("logprobs".to_string());
            }
            Some(f) => {
                decision.answer = Some(parsed);
                decision.probabilities = Some(f.probabilities);
                decision.rule = rule.map(str::to_string);
            }
            None => {
                decision.answer = Some(parsed);
                decision.rule = rule.map(str::to_string);
            }
        }
        decision.reasoning = reasoning;
        decision.raw = Some(self.scrub(content));
        Ok(decision)
    }
}

impl Adapter for OpenAi {
    fn fingerprint(&self) -> String {
        let o = &self.options;
        format!(
            "openai/{}/{}/temperature={}/max_tokens={}/seed={}/mode={}",
            redact_url(&o.base_url),
            o.model,
            o.temperature,
            o.max_tokens,
            o.seed.map_or_else(|| "none".to_string(), |s| s.to_string()),
            o.mode
        ) + &if o.reasoning_tokens == DEFAULT_REASONING_TOKENS {
            String::new()
        } else {
            format!("/reasoning_tokens={}", o.reasoning_tokens)
        }
    }

    fn model(&self) -> Option<String> {
        Some(self.options.model.clone())
    }

    /// What changes the answers (and so is part of cache keys); run settings such as the
    /// timeout, retries and concurrency are not.
    fn parameters(&self) -> serde_json::Value {
        let o = &self.options;
        let mut parameters = serde_json::json!({
            "base_url": redact_url(&o.base_url),
            "temperature": o.temperature,
            "max_tokens": o.max_tokens,
            "seed": o.seed,
            "mode": o.mode.name(),
        });
        if o.reasoning_tokens != DEFAULT_REASONING_TOKENS {
            parameters["reasoning_tokens"] = o.reasoning_tokens.into();
        }
        parameters
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        if request.options.is_empty() {
            return Err(self.error("the scenario has no options".into(), 0, None));
        }
        let body = self.body(request);
        let mut attempts = 0u32;
        loop {
            let permit = self.gate.enter();
            attempts += 1;
            let outcome = self.send(&body);
            drop(permit);
            let retries_left = attempts <= self.options.max_retries;
            // What went wrong, and how long the server asks us to wait.
            let (why, raw, wait) = match outcome {
                Ok((status, _, bytes)) if (200..300).contains(&status) => {
                    self.gate.success();
                    return self.read(&bytes, request, attempts);
                }
                Ok((status, retry_after, bytes)) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let why = format!("HTTP {status}{}", reason(status));
                    let retryable = status == 429 || status == 408 || status >= 500;
                    if status == 429 {
                        self.gate.throttled();
                    }
                    if !retryable {
                        return Err(self.error(why, attempts, Some(self.excerpt(&text))));
                    }
                    let wait = retry_after.as_deref().and_then(parse_retry_after);
                    (why, Some(self.excerpt(&text)), wait)
                }
                Err(e) => {
                    let retryable = matches!(
                        e,
                        ureq::Error::Timeout(_)
                            | ureq::Error::Io(_)
                            | ureq::Error::ConnectionFailed
                            | ureq::Error::Protocol(_)
                    );
                    let why = describe(&e, &self.options);
                    if !retryable {
                        return Err(self.error(why, attempts, None));
                    }
                    (why, None, None)
                }
            };
            if !retries_left {
                return Err(self.error(
                    format!(
                        "gave up after {attempts} attempt{}: {why}",
                        if attempts == 1 { "" } else { "s" }
                    ),
                    attempts,
                    raw,
                ));
            }
            std::thread::sleep(wait.unwrap_or_else(|| backoff(attempts - 1)));
        }
    }
}

/// `choices[0].logprobs.content[…]`: a generated token and its alternatives.
#[derive(Deserialize, Default)]
struct TokenLogprobs {
    #[serde(default)]
    token: String,
    #[serde(default)]
    top_logprobs: Vec<TopLogprob>,
}

#[derive(Deserialize)]
struct TopLogprob {
    #[serde(default)]
    token: String,
    #[serde(default)]
    logprob: Option<f64>,
}

#[derive(Deserialize)]
struct Completion {
    #[serde(default)]
    choices: Vec<CompletionChoice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct CompletionChoice {
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    logprobs: Option<Logprobs>,
    /// `length` when the answer was cut off at the token limit.
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize, Default)]
struct Message {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
    /// The reasoning some servers return apart from the answer (vLLM, DeepSeek:
    /// `reasoning_content`; others: `reasoning`).
    #[serde(default, alias = "reasoning")]
    reasoning_content: Option<String>,
}

#[derive(Deserialize)]
struct Logprobs {
    #[serde(default)]
    content: Vec<TokenLogprobs>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Lower case without white space: `Action 2`, ` action2` and `ACTION 2` are all `action2`.
fn compact(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{2581}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The option a candidate answer names: the label it equals, or else the one label it
/// begins, if it goes past the labels' shared beginning.
fn label_of(candidate: &str, labels: &[String], shared: &str) -> Option<usize> {
    if candidate.len() <= shared.len() {
        return None;
    }
    if let Some(i) = labels.iter().position(|l| l == candidate) {
        return Some(i);
    }
    let mut starting = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(candidate));
    match (starting.next(), starting.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// The forced-choice reading of an answer's token logprobs: the option chosen and the
/// probabilities of all options, or `None` when no top token names an option.
///
/// The reading is taken at the first token where the answer so far equals the labels'
/// shared beginning: the first token for `A`/`B`, the token after `Action` for
/// `Action 1`/`Action 2`. Tokens are compared without white space or case.
/// A choice read from the log-probabilities of the token where a label would stand.
#[derive(Debug, PartialEq)]
struct Forced {
    /// The most probable label's option.
    best: usize,
    /// The probability of each option, renormalised over the labels.
    probabilities: Vec<f64>,
    /// The option whose label is the token generated there, if it is one.
    generated: Option<usize>,
    /// The probability the labels had there together (of what the top log-probabilities
    /// show).
    mass: f64,
}

fn forced_choice(content: &[TokenLogprobs], options: &[Choice]) -> Option<Forced> {
    let shared = compact(&shared_prefix(options));
    let labels: Vec<String> = options.iter().map(|o| compact(&o.label)).collect();
    let mut so_far = String::new();
    for position in content {
        if so_far == shared {
            let mut mass = vec![0.0; options.len()];
            for top in &position.top_logprobs {
                let Some(logprob) = top.logprob.filter(|l| l.is_finite()) else {
                    continue;
                };
                let candidate = format!("{so_far}{}", compact(&top.token));
                if let Some(i) = label_of(&candidate, &labels, &shared) {
                    mass[i] += logprob.exp();
                }
            }
            let total: f64 = mass.iter().sum();
            if total > 0.0 && total.is_finite() {
                let probabilities: Vec<f64> = mass.iter().map(|m| m / total).collect();
                // The most probable; the first shown among equals.
                let mut best = 0;
                for (i, p) in probabilities.iter().enumerate() {
                    if *p > probabilities[best] {
                        best = i;
                    }
                }
                let generated = format!("{so_far}{}", compact(&position.token));
                return Some(Forced {
                    best,
                    probabilities,
                    generated: label_of(&generated, &labels, &shared),
                    mass: total.min(1.0),
                });
            }
        }
        so_far.push_str(&compact(&position.token));
        // Past the shared beginning without naming an option: nothing to read.
        if !shared.starts_with(so_far.as_str()) {
            return None;
        }
    }
    None
}

/// The beginning the labels share, cut back to the end of a word (`Action ` for
/// `Action 1`/`Action 2`, `Item ` for `Item 1`/`Item 12`; nothing for `A`/`B`).
fn shared_prefix(options: &[Choice]) -> String {
    let labels: Vec<Vec<char>> = options
        .iter()
        .map(|o| o.label.to_lowercase().chars().collect())
        .collect();
    let Some((first, rest)) = labels.split_first() else {
        return String::new();
    };
    if rest.is_empty() {
        return String::new();
    }
    let mut end = first.len();
    for l in rest {
        end = end.min(first.iter().zip(l).take_while(|(a, b)| a == b).count());
    }
    match first[..end].iter().rposition(|c| c.is_whitespace()) {
        Some(space) => first[..=space].iter().collect(),
        None => String::new(),
    }
}

/// The full-jitter backoff before retry `retry` (0-based).
fn backoff(retry: u32) -> Duration {
    let ceiling = (BACKOFF_BASE * 2f64.powi(retry.min(16) as i32)).min(BACKOFF_CAP);
    Duration::from_secs_f64(ceiling * uniform())
}

/// A uniform draw in [0, 1) from a cheap per-thread xorshift seeded from the clock: jitter
/// need not be reproducible.
fn uniform() -> f64 {
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let nanos = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64);
            let here = &nanos as *const u64 as u64;
            (nanos ^ here.rotate_left(32)) | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64
    })
}

/// A `Retry-After` value: delay seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<f64>() {
        // Capped before it becomes a duration: `1e23` or `18446744073709551615` seconds
        // are a server's mistake, not a reason to stop.
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(MAX_RETRY_AFTER.as_secs_f64())));
    }
    let at = http_date(value)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?.as_secs() as i64;
    Some(Duration::from_secs((at - now).max(0) as u64).min(MAX_RETRY_AFTER))
}

/// Seconds since the epoch of an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) or an
/// RFC 850 date (`Sunday, 06-Nov-94 08:49:37 GMT`).
fn http_date(value: &str) -> Option<i64> {
    let (_, rest) = value.split_once(", ")?;
    let mut parts = rest.split([' ', '-']).filter(|p| !p.is_empty());
    let day: i64 = parts.next()?.parse().ok()?;
    let month = parts.next()?;
    let month = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ]
    .iter()
    .position(|m| month.eq_ignore_ascii_case(m))? as i64
        + 1;
    let mut year: i64 = parts.next()?.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut clock = parts.next()?.split(':');
    let h: i64 = clock.next()?.parse().ok()?;
    let m: i64 = clock.next()?.parse().ok()?;
    let s: i64 = clock.next()?.parse().ok()?;
    if !parts.next()?.eq_ignore_ascii_case("gmt") || !(1..=31).contains(&day) {
        return None;
    }
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + m * 60 + s)
}

/// What a URL may carry that is secret: the password of `user:password@`, and the values
/// of query parameters.
fn url_secrets(url: &str) -> Vec<String> {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let (base, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let host = &rest[..rest.find('/').unwrap_or(rest.len())];
    let password = host
        .rfind('@')
        .map(|at| &host[..at])
        .map(|user| user.split_once(':').map_or(user, |(_, p)| p));
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(_, v)| v))
        .chain(password)
        .chain(url.split_once('#').map(|(_, f)| f))
        .filter(|v| v.len() >= 4)
        .map(str::to_string)
        .collect()
}

/// A URL with what may be a secret hidden: `user:password@` becomes `***@`, the value of
/// every query parameter `***` (`?key=***`), and a fragment `#***`.
fn redact_url(url: &str) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((u, _)) => (u, "#***"),
        None => (url, ""),
    };
    let (url, query) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host_end = rest.find('/').unwrap_or(rest.len());
    let mut out = match rest[..host_end].rfind('@') {
        Some(at) if !scheme.is_empty() => format!("{scheme}://***@{}", &rest[at + 1..]),
        _ => url.to_string(),
    };
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}=***"),
                None if pair.is_empty() => String::new(),
                None => "***".to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out.push_str(fragment);
    out
}

/// The start of a body, for an error message.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => " (bad request)",
        401 => " (unauthorized: check the API key)",
        403 => " (forbidden)",
        404 => " (not found: check --base-url and --model)",
        408 => " (request timeout)",
        429 => " (too many requests)",
        500 => " (internal server error)",
        502 => " (bad gateway)",
        503 => " (service unavailable)",
        504 => " (gateway timeout)",
        _ => "",
    }
}

fn describe(e: &ureq::Error, options: &OpenAiOptions) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("no answer within {} s", options.timeout.as_secs_f64()),
        ureq::Error::ConnectionFailed => {
            format!("cannot connect to {}", redact_url(&options.base_url))
        }
        ureq::Error::HostNotFound => {
            format!("the host of {} is not found", redact_url(&options.base_url))
        }
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => format!("request failed: {other}"),
    }
}

/// The shared limit on requests in flight (see the module's documentation).
struct Gate {
    state: Mutex<GateState>,
    wake: Condvar,
    max: usize,
}

struct GateState {
    limit: usize,
    in_flight: usize,
    successes: usize,
}

/// A place at the gate, given back when dropped.
struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight -= 1;
        drop(state);
        self.0.wake.notify_one();
    }
}

impl Gate {
    fn new(max: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                limit: max,
                in_flight: 0,
                successes: 0,
            }),
            wake: Condvar::new(),
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn limit(&self) -> usize {
        self.lock().limit
    }

    /// Waits for a place.
    fn enter(&self) -> Permit<'_> {
        let mut state = self.lock();
        while state.in_flight >= state.limit {
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
        }
        state.in_flight += 1;
        Permit(self)
    }

    /// A 429: halve the limit.
    fn throttled(&self) {
        let mut state = self.lock();
        state.limit = (state.limit / 2).max(1);
        state.successes = 0;
    }

    /// A success: after `limit` in a row, one more place.
    fn success(&self) {
        let mut state = self.lock();
        if state.limit >= self.max {
            return;
        }
        state.successes += 1;
        if state.successes >= state.limit {
            state.limit += 1;
            state.successes = 0;
            drop(state);
            self.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(labels: &[&str]) -> Vec<Choice> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| Choice {
                label: l.to_string(),
                action: format!("a{i}"),
                text: format!("option {i}"),
                upholds: vec![],
                violates: vec![],
            })
            .collect()
    }

    fn position(token: &str, top: &[(&str, f64)]) -> TokenLogprobs {
        TokenLogprobs {
            token: token.into(),
            top_logprobs: top
                .iter()
                .map(|(t, p)| TopLogprob {
                    token: t.to_string(),
                    logprob: Some(p.ln()),
                })
                .collect(),
        }
    }

    #[test]
    fn letters_sum_spaced_and_cased_tokens() {
        let o = options(&["A", "B"]);
        let content = [position(
            " B",
            &[
                (" B", 0.5),
                ("B", 0.1),
                (" b", 0.1),
                (" A", 0.2),
                (" The", 0.1),
            ],
        )];
        let Forced {
            best: choice,
            probabilities: p,
            mass,
            ..
        } = forced_choice(&content, &o).unwrap();
        assert_eq!(choice, 1);
        assert!((p[1] - 0.7 / 0.9).abs() < 1e-12, "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // " The" took 0.1 of the first token's probability: the labels had 0.9.
        assert!((mass - 0.9).abs() < 1e-12, "{mass}");
    }

    #[test]
    fn no_label_among_the_top_tokens_is_no_reading() {
        let o = options(&["A", "B"]);
        let content = [position("I", &[("I", 0.6), (" cannot", 0.3)])];
        assert_eq!(forced_choice(&content, &o), None);
        assert_eq!(forced_choice(&[], &o), None);
    }

    #[test]
    fn an_answer_that_begins_otherwise_is_no_label_generated() {
        // SmolLM2's "I'm a helpful AI…", with " A" among the alternatives of its first token.
        let o = options(&["A", "B"]);
        let content = [position("I", &[("I", 0.5), (" A", 0.3), (" B", 0.1)])];
        let f = forced_choice(&content, &o).expect("the labels have mass");
        assert_eq!(f.best, 0);
        assert_eq!(f.generated, None);
        assert!((f.mass - 0.4).abs() < 1e-12, "{}", f.mass);
        let content = [position(" B", &[(" B", 0.6), (" A", 0.3)])];
        assert_eq!(
            forced_choice(&content, &o).expect("a reading").generated,
            Some(1)
        );
        // Sampled at a temperature: the label drawn is not the most probable one.
        let content = [position(" A", &[(" B", 0.6), (" A", 0.3)])];
        let f = forced_choice(&content, &o).expect("a reading");
        assert_eq!((f.best, f.generated), (1, Some(0)));
    }

    #[test]
    fn action_labels_read_the_token_after_the_shared_word() {
        let o = options(&["Action 1", "Action 2"]);
        let content = [
            position("Action", &[("Action", 0.9), ("I", 0.1)]),
            position(" 2", &[(" 2", 0.6), (" 1", 0.3), ("2", 0.05)]),
        ];
        let Forced {
            best: choice,
            probabilities: p,
            ..
        } = forced_choice(&content, &o).unwrap();
        assert_eq!(choice, 1);
        assert!((p[1] - 0.65 / 0.95).abs() < 1e-12, "{p:?}");
        // Split as "Action", " ", "1".
        let content = [
            position("Action", &[("Action", 0.9)]),
            position(" ", &[(" ", 0.9)]),
            position("1", &[("1", 0.8), ("2", 0.2)]),
        ];
        assert_eq!(forced_choice(&content, &o).unwrap().best, 0);
        // An answer that does not start with the shared word.
        let content = [position("You", &[("You", 0.9), ("Action", 0.1)])];
        assert_eq!(forced_choice(&content, &o), None);
    }

    #[test]
    fn shared_prefixes_end_at_a_word() {
        assert_eq!(shared_prefix(&options(&["A", "B"])), "");
        assert_eq!(
            shared_prefix(&options(&["Action 1", "Action 2"])),
            "action "
        );
        assert_eq!(shared_prefix(&options(&["Item 1", "Item 12"])), "item ");
        assert_eq!(shared_prefix(&options(&["A", "AA", "AB"])), "");
        assert_eq!(shared_prefix(&options(&["Only"])), "");
    }

    #[test]
    fn labels_past_z_prefer_the_exact_label() {
        let o = options(&["A", "B", "AA"]);
        let content = [position("A", &[("A", 0.5), ("AA", 0.3), ("B", 0.2)])];
        let Forced {
            best: choice,
            probabilities: p,
            ..
        } = forced_choice(&content, &o).unwrap();
        assert_eq!(choice, 0);
        assert!((p[2] - 0.3).abs() < 1e-12);
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        assert_eq!(parse_retry_after("0"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("-1"), None);
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO)
        );
        assert_eq!(
            parse_retry_after("Fri, 01 Jan 9999 00:00:00 GMT"),
            Some(MAX_RETRY_AFTER)
        );
    }

    #[test]
    fn backoff_stays_under_its_ceiling() {
        for retry in 0..40 {
            let d = backoff(retry).as_secs_f64();
            assert!(d >= 0.0 && d <= (BACKOFF_BASE * 2f64.powi(retry.min(16) as i32)).min(30.0));
        }
    }

    #[test]
    fn gate_halves_and_grows_back() {
        let gate = Gate::new(8);
        gate.throttled();
        assert_eq!(gate.limit(), 4);
        for _ in 0..3 {
            gate.throttled();
        }
        assert_eq!(gate.limit(), 1);
        gate.success();
        assert_eq!(gate.limit(), 2);
        gate.success();
        gate.success();
        assert_eq!(gate.limit(), 3);
        for _ in 0..100 {
            gate.success();
        }
        assert_eq!(gate.limit(), 8);
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(redact_url("https://u:p@host/v1"), "https://***@host/v1");
        assert_eq!(
            redact_url("https://host/v1?api-key=sk-secret&v=2#tok"),
            "https://host/v1?api-key=***&v=***#***"
        );
        assert_eq!(
            redact_url("https://host/v1?sk-secret"),
            "https://host/v1?***"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:8080/v1"),
            "http://127.0.0.1:8080/v1"
        );
    }

    #[test]
    fn the_key_stays_out_of_what_is_shown() {
        let mut o = OpenAiOptions::new("http://127.0.0.1:9/v1", "m");
        o.api_key = Some("sk-very-secret-key".into());
        let a = OpenAi::new(o);
        let shown = format!("{a:?} {} {}", a.fingerprint(), a.parameters());
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert_eq!(
            a.scrub("echo: Bearer sk-very-secret-key".into()),
            "echo: Bearer ***"
        );
    }
}
