//! `openai`: any OpenAI-compatible chat-completions endpoint (OpenAI itself, llama.cpp's
//! server, vLLM, Ollama, …).
//!
//! One request a decision: `POST {base_url}/chat/completions` with the body
//! [`ChatSettings::body`] makes (the system prompt, if any, and the user prompt), its answer
//! read by [`ChatSettings::read`], two ways (`logprobs` and `parse`): the
//! [`chat`](super::chat) module holds both, shared with the batch files of
//! `export --to openai-batch` and `import openai-batch`.
//!
//! **Retries.** A 429, a 408, a 5xx, a timeout or a failed connection is retried up to
//! [`OpenAiOptions::max_retries`] times, after the server's `Retry-After` (seconds or an
//! HTTP date) when it gives one, else after an exponential backoff with full jitter (a
//! uniform draw below `min(30 s, 0.5 s × 2^retry)`). Anything else that goes wrong — another
//! status, a body that is not JSON, an answer without choices — is not retried: it becomes an
//! [`AdapterError`] with an excerpt of the body. An answer naming no option is
//! [`Answer::Unparsed`](crate::eval::Answer::Unparsed), one declining to choose
//! [`Answer::Refused`](crate::eval::Answer::Refused).
//!
//! **Concurrency that backs off.** All the threads of a run share one gate on requests in
//! flight, and a connection pool for every eight of them. The gate's limit starts at
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
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::chat::{ChatSettings, Secrets, reason, redact_url, url_secrets};
pub use super::scoring::Readout;
use super::scoring::{logprob_body, read_logprob, read_reward, reward_body};
use crate::eval::{Adapter, AdapterError, Answer, Decision, Request, Score};

pub use super::chat::DEFAULT_REASONING_TOKENS;

/// The longest wait a `Retry-After` header can impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The first backoff step.
const BACKOFF_BASE: f64 = 0.5;
/// The longest backoff step.
const BACKOFF_CAP: f64 = 30.0;
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
    /// What is asked: a choice (chat completions), the log-probability of each option's
    /// text (completions with echo), or a reward model's score of each option (pooling).
    pub readout: Readout,
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
            readout: Readout::Chat,
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
            .field("readout", &self.readout)
            .finish()
    }
}

/// The `openai` adapter. Share one between threads: they share its connection pools and
/// its gate on requests in flight.
pub struct OpenAi {
    options: OpenAiOptions,
    /// What goes into each request's body, and how its answer is read.
    chat: ChatSettings,
    url: String,
    /// What must never be shown: the key, and the secrets a URL may carry (a password,
    /// the values of query parameters).
    secrets: Secrets,
    /// One agent, with its connection pool, for every [`THREADS_A_POOL`] threads.
    agents: Vec<ureq::Agent>,
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
        let url = options.readout.url(&options.base_url);
        let secrets = Secrets::new(
            options
                .api_key
                .iter()
                .cloned()
                .chain(url_secrets(&options.base_url))
                .collect(),
        );
        let chat = ChatSettings {
            model: options.model.clone(),
            temperature: options.temperature,
            max_tokens: options.max_tokens,
            reasoning_tokens: options.reasoning_tokens,
            seed: options.seed,
            mode: options.mode,
        };
        // A pool for every few threads: ureq holds its pool's lock while it checks that a
        // pooled connection is still open, and many threads sharing one lock wait on each
        // other more than on the server.
        let pools = options.concurrency.div_ceil(THREADS_A_POOL);
        let pool = options.concurrency.div_ceil(pools).max(4);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // The whole request — resolving, connecting, sending, the answer — within the
            // timeout.
            .timeout_global(Some(options.timeout))
            .max_redirects(0)
            // Each connection's buffers are zeroed whole when it opens: ureq's 128 KiB each
            // cost 16 MB at concurrency 64, for answers whose headers take a few hundred
            // bytes. The input buffer bounds the response's headers: 32 KiB is four times
            // what common proxies let through. Bodies stream through either in pieces.
            .input_buffer_size(32 << 10)
            .output_buffer_size(16 << 10)
            .max_idle_connections(pool)
            .max_idle_connections_per_host(pool)
            // Under the keep-alive timeouts servers commonly use (llama.cpp's is 5 s), so that
            // a pooled connection the server has closed is rarely tried.
            .max_idle_age(Duration::from_secs(4))
            .user_agent(format!("quandary/{}", env!("CARGO_PKG_VERSION")))
            .build();
        let resolver = std::sync::Arc::new(Resolver::default());
        let agents = (0..pools)
            .map(|_| {
                ureq::Agent::with_parts(
                    config.clone(),
                    ureq::unversioned::transport::DefaultConnector::new(),
                    Shared(resolver.clone()),
                )
            })
            .collect();
        OpenAi {
            gate: Gate::new(options.concurrency),
            options,
            chat,
            url,
            secrets,
            agents,
        }
    }

    /// The agent (and so the connection pool) of the calling thread.
    fn agent(&self) -> &ureq::Agent {
        static THREADS: AtomicUsize = AtomicUsize::new(0);
        thread_local! {
            static THREAD: usize = THREADS.fetch_add(1, Ordering::Relaxed);
        }
        &self.agents[THREAD.with(|t| *t) % self.agents.len()]
    }

    /// Its options.
    pub fn options(&self) -> &OpenAiOptions {
        &self.options
    }

    /// The gate's current limit on requests in flight.
    pub fn concurrency_limit(&self) -> usize {
        self.gate.limit()
    }

    /// One request: the status, the `Retry-After` header, the body.
    fn send(&self, body: &[u8]) -> Result<(u16, Option<String>, Vec<u8>), ureq::Error> {
        let mut call = self
            .agent()
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
}

impl Adapter for OpenAi {
    fn fingerprint(&self) -> String {
        match self.options.readout {
            Readout::Chat => self.chat.fingerprint(&self.options.base_url),
            Readout::Logprob => format!(
                "openai-logprob/{}/{}",
                redact_url(self.options.base_url.trim_end_matches('/')),
                self.options.model
            ),
            Readout::Reward => format!(
                "reward/{}/{}",
                redact_url(self.options.base_url.trim_end_matches('/')),
                self.options.model
            ),
        }
    }

    /// One request to the endpoint (a GET, which asks the model nothing): any answer but a
    /// refused key means the server is there.
    fn check(&self) -> Result<(), AdapterError> {
        let mut call = self.agent().get(&self.url);
        if let Some(key) = &self.options.api_key {
            call = call.header("authorization", format!("Bearer {key}"));
        }
        match call.call() {
            Ok(response) => match response.status().as_u16() {
                status @ (401 | 403) => Err(self.secrets.error(
                    format!(
                        "{} refused the key (HTTP {status}{})",
                        redact_url(&self.options.base_url),
                        reason(status)
                    ),
                    1,
                    None,
                )),
                _ => self.probe(),
            },
            Err(e) => Err(self.secrets.error(
                format!(
                    "{}: {}",
                    redact_url(&self.options.base_url),
                    describe(&e, &self.options)
                ),
                1,
                None,
            )),
        }
    }

    fn model(&self) -> Option<String> {
        Some(self.options.model.clone())
    }

    /// What changes the answers (and so is part of cache keys); run settings such as the
    /// timeout, retries and concurrency are not.
    fn parameters(&self) -> serde_json::Value {
        match self.options.readout {
            Readout::Chat => self.chat.parameters(&self.options.base_url),
            readout => serde_json::json!({
                "base_url": redact_url(self.options.base_url.trim_end_matches('/')),
                "readout": readout.name(),
            }),
        }
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        if request.options.is_empty() {
            return Err(self
                .secrets
                .error("the scenario has no options".into(), 0, None));
        }
        match self.options.readout {
            Readout::Chat => {
                let (bytes, attempts) = self.post(&self.chat.body(request))?;
                self.chat.read(&bytes, request, attempts, &self.secrets)
            }
            Readout::Logprob => self.by_logprob(request),
            Readout::Reward => self.by_reward(request),
        }
    }
}

impl OpenAi {
    /// Asks the server one body, retrying as the module says: the answer's body and the
    /// requests made.
    fn post(&self, body: &[u8]) -> Result<(Vec<u8>, u32), AdapterError> {
        let mut attempts = 0u32;
        loop {
            let permit = self.gate.enter();
            attempts += 1;
            let outcome = self.send(body);
            drop(permit);
            let retries_left = attempts <= self.options.max_retries;
            // What went wrong, and how long the server asks us to wait.
            let (why, raw, wait) = match outcome {
                Ok((status, _, bytes)) if (200..300).contains(&status) => {
                    self.gate.success();
                    return Ok((bytes, attempts));
                }
                Ok((status, retry_after, bytes)) => {
                    let text = String::from_utf8_lossy(&bytes);
                    let why = format!("HTTP {status}{}", reason(status));
                    let retryable = status == 429 || status == 408 || status >= 500;
                    if status == 429 {
                        self.gate.throttled();
                    }
                    if !retryable {
                        return Err(self.secrets.error(
                            why,
                            attempts,
                            Some(self.secrets.excerpt(&text)),
                        ));
                    }
                    let wait = retry_after.as_deref().and_then(parse_retry_after);
                    (why, Some(self.secrets.excerpt(&text)), wait)
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
                        return Err(self.secrets.error(why, attempts, None));
                    }
                    (why, None, None)
                }
            };
            if !retries_left {
                return Err(self.secrets.error(
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

    /// What the check asks past reaching the server: for the `logprob` readout, the
    /// log-probability of a short text, so that a server that does not echo the prompt's
    /// log-probabilities stops the run before it starts.
    fn probe(&self) -> Result<(), AdapterError> {
        if self.options.readout != Readout::Logprob {
            return Ok(());
        }
        let (bytes, attempts) = self.post(&logprob_body(&self.options.model, PROBE))?;
        read_logprob(&bytes, &self.server(), attempts, &self.secrets).map(|_| ())
    }

    /// The server's base URL, secrets hidden, for messages.
    fn server(&self) -> String {
        redact_url(&self.options.base_url)
    }

    /// Scores each option's text by its log-probability and chooses the most likely.
    fn by_logprob(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        let mut scores = Vec::with_capacity(request.options.len());
        let mut attempts = 0;
        let mut prompt_tokens = Some(0u64);
        for option in request.options {
            let (bytes, n) = self
                .post(&logprob_body(&self.options.model, &option.text))
                .map_err(|e| AdapterError {
                    attempts: e.attempts + attempts,
                    ..e
                })?;
            attempts += n;
            let (score, tokens) = read_logprob(&bytes, &self.server(), attempts, &self.secrets)?;
            prompt_tokens = prompt_tokens.zip(tokens).map(|(a, b)| a + b);
            scores.push(score);
        }
        let sums: Vec<f64> = scores.iter().map(|s| s.logprob.unwrap_or(0.0)).collect();
        Ok(Decision {
            answer: Some(Answer::Option(crate::eval::highest(&sums))),
            probabilities: Some(crate::eval::softmax(&sums)),
            rule: Some("logprob".into()),
            prompt_tokens,
            attempts,
            scores: Some(scores),
            ..Decision::default()
        })
    }

    /// Has a reward model score each option as the answer to the prompt and chooses the
    /// highest.
    fn by_reward(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        let mut scores = Vec::with_capacity(request.options.len());
        let mut attempts = 0;
        for i in 0..request.options.len() {
            let (bytes, n) = self
                .post(&reward_body(&self.options.model, request, i))
                .map_err(|e| AdapterError {
                    attempts: e.attempts + attempts,
                    ..e
                })?;
            attempts += n;
            scores.push(read_reward(&bytes, attempts, &self.secrets)?);
        }
        Ok(Decision {
            answer: Some(Answer::Option(crate::eval::highest(&scores))),
            rule: Some("reward".into()),
            attempts,
            scores: Some(
                scores
                    .into_iter()
                    .map(|r| Score {
                        reward: Some(r),
                        ..Score::default()
                    })
                    .collect(),
            ),
            ..Decision::default()
        })
    }
}

/// The text the `logprob` readout's check scores.
const PROBE: &str = "The sun rises in the east.";

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

/// Threads sharing one connection pool, at most.
const THREADS_A_POOL: usize = 8;

/// How long a host name's addresses are used before it is looked up again.
const NAME_TTL: Duration = Duration::from_secs(10);

/// The adapter's resolver. ureq asks its resolver for the host's addresses before every
/// request, pooled connection or not, and its own resolver, given a timeout, looks the name
/// up on a new thread (so that the lookup can be abandoned at the deadline): a thread a
/// request, even for `127.0.0.1`. This one takes an IP address as it is, and keeps a name's
/// addresses for [`NAME_TTL`], looking it up (through ureq's resolver, deadline and all)
/// only when it has none or they are older: a thread every few seconds at most.
#[derive(Debug, Default)]
struct Resolver {
    lookup: ureq::unversioned::resolver::DefaultResolver,
    /// Per `host:port`: the addresses and when they were looked up.
    names: Mutex<Vec<(String, u16, Addresses, Instant)>>,
    /// Lookups made (for the tests).
    lookups: AtomicUsize,
}

type Addresses = ureq::unversioned::resolver::ResolvedSocketAddrs;

/// The resolver the agents of an adapter share.
#[derive(Debug)]
struct Shared(std::sync::Arc<Resolver>);

impl ureq::unversioned::resolver::Resolver for Shared {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<Addresses, ureq::Error> {
        self.0.resolve(uri, config, timeout)
    }
}

impl ureq::unversioned::resolver::Resolver for Resolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<Addresses, ureq::Error> {
        let port = uri.authority().and_then(|a| {
            a.port_u16().or(match uri.scheme_str() {
                Some("http") => Some(80),
                Some("https") => Some(443),
                _ => None,
            })
        });
        let (Some(authority), Some(port)) = (uri.authority(), port) else {
            // Whatever ureq's own resolver makes of it (an error, most likely).
            return self.lookup.resolve(uri, config, timeout);
        };
        let host = authority.host();
        // `[::1]` is written with brackets in a URL.
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
            let mut addresses = self.lookup.empty();
            for address in config
                .ip_family()
                .keep_wanted(std::iter::once(std::net::SocketAddr::new(ip, port)))
            {
                addresses.push(address);
            }
            return if addresses.is_empty() {
                Err(ureq::Error::HostNotFound)
            } else {
                Ok(addresses)
            };
        }
        let now = Instant::now();
        {
            let names = self.names.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((.., addresses, _)) = names
                .iter()
                .find(|(h, p, _, at)| h == host && *p == port && now.duration_since(*at) < NAME_TTL)
            {
                return Ok(addresses.clone());
            }
        }
        self.lookups.fetch_add(1, Ordering::Relaxed);
        let addresses = self.lookup.resolve(uri, config, timeout)?;
        let mut names = self.names.lock().unwrap_or_else(|p| p.into_inner());
        names.retain(|(h, p, ..)| !(h == host && *p == port));
        names.push((host.to_string(), port, addresses.clone(), now));
        Ok(addresses)
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
    /// Threads waiting for a place: only they need waking.
    waiting: usize,
}

/// A place at the gate, given back when dropped.
struct Permit<'a>(&'a Gate);

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight -= 1;
        let waiting = state.waiting > 0;
        drop(state);
        if waiting {
            self.0.wake.notify_one();
        }
    }
}

impl Gate {
    fn new(max: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                limit: max,
                in_flight: 0,
                successes: 0,
                waiting: 0,
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
            state.waiting += 1;
            state = self.wake.wait(state).unwrap_or_else(|p| p.into_inner());
            state.waiting -= 1;
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
            let waiting = state.waiting > 0;
            drop(state);
            if waiting {
                self.wake.notify_one();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn addresses_are_taken_as_they_are_and_names_looked_up_once_a_while() {
        use ureq::unversioned::resolver::Resolver as _;
        let resolver = Resolver::default();
        let config = ureq::config::Config::default();
        let resolve = |url: &str| {
            let uri: ureq::http::Uri = url.parse().unwrap();
            resolver
                .resolve(&uri, &config, Default::default())
                .map(|a| a.to_vec())
        };
        // No lookup, and so no thread, for an address.
        assert_eq!(
            resolve("http://127.0.0.1:8080/v1").unwrap(),
            ["127.0.0.1:8080".parse().unwrap()]
        );
        assert_eq!(
            resolve("https://[::1]/v1").unwrap(),
            ["[::1]:443".parse().unwrap()]
        );
        assert_eq!(resolver.lookups.load(Ordering::Relaxed), 0);
        // A name is looked up once, then its addresses are kept a while.
        let first = resolve("http://localhost:8080/v1").unwrap();
        assert!(!first.is_empty());
        assert!(
            first
                .iter()
                .all(|a| a.port() == 8080 && a.ip().is_loopback())
        );
        for _ in 0..10 {
            assert_eq!(resolve("http://localhost:8080/v1").unwrap(), first);
        }
        assert_eq!(resolver.lookups.load(Ordering::Relaxed), 1);
        // Another port is another entry.
        assert!(resolve("http://localhost:9090/v1").is_ok());
        assert_eq!(resolver.lookups.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_key_stays_out_of_what_is_shown() {
        let mut o = OpenAiOptions::new("http://127.0.0.1:9/v1", "m");
        o.api_key = Some("sk-very-secret-key".into());
        let a = OpenAi::new(o);
        let shown = format!("{a:?} {} {}", a.fingerprint(), a.parameters());
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert_eq!(
            a.secrets.scrub("echo: Bearer sk-very-secret-key".into()),
            "echo: Bearer ***"
        );
    }
}
