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
//! **Many requests on few threads.** A run asks through [`Flights`]: each of its threads
//! keeps its share of the requests in flight at once on one [`http`](super::http) client,
//! which waits on all of their connections together, so concurrency 64 is 64 connections,
//! not 64 threads. The scoring readouts (`openai-logprob`, `reward`) send one body per
//! option, all at once; the request is decided when every one is answered, or fails with
//! the first that fails for good. [`Adapter::decide`] asks one request the same way and waits
//! for it.
//!
//! **Concurrency that backs off.** Every request of a run passes one gate on bodies in
//! flight. Its limit starts at [`OpenAiOptions::concurrency`] and moves as TCP's congestion
//! window does (additive increase, multiplicative decrease): every 429 halves it (never
//! below 1), and each run of `limit` successes in a row raises it by one, never above the
//! starting value. A body the gate holds back waits (looking again every few milliseconds),
//! so a server that says "too many requests" soon sees fewer.
//!
//! **Deadlines.** [`OpenAiOptions::timeout`] bounds each attempt whole: looking the host up,
//! connecting, TLS, sending, waiting, reading the answer.
//!
//! **Secrets.** The API key is sent as a bearer token and nowhere else: it is not in the
//! fingerprint, the parameters or `Debug` output, and any error message or body excerpt that
//! would echo it has it replaced by `***`.

use std::cell::Cell;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::chat::{ChatSettings, Secrets, reason, redact_url, url_secrets};
use super::http::{Client, Endpoint, Failure, Response};
pub use super::scoring::Readout;
use super::scoring::{logprob_body, read_logprob, read_reward, reward_body};
use crate::eval::{Adapter, AdapterError, Answer, Decision, Pipeline, Request, Score};

pub use super::chat::DEFAULT_REASONING_TOKENS;

/// The longest wait a `Retry-After` header can impose.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);
/// The first backoff step.
const BACKOFF_BASE: f64 = 0.5;
/// The longest backoff step.
const BACKOFF_CAP: f64 = 30.0;

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
    /// The `http://` proxy to ask through, if any (its user and password, when it has
    /// them, sent as a basic `Proxy-Authorization`). [`OpenAiOptions::new`] takes it from
    /// the environment (see [`proxy_from_environment`]).
    pub proxy: Option<String>,
}

/// The environment variables that name a proxy, the first set winning.
pub const PROXY_VARIABLES: [&str; 6] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
];

/// The environment variables that list the hosts asked without a proxy.
pub const NO_PROXY_VARIABLES: [&str; 2] = ["NO_PROXY", "no_proxy"];

/// The proxy the environment names for `base_url`, as curl and most HTTP clients read it:
/// the first set of `ALL_PROXY`, `HTTPS_PROXY`, `HTTP_PROXY` (each also in lower case),
/// unless `NO_PROXY` (or `no_proxy`) lists the URL's host (a name matches itself and the
/// names under it; `*` matches every host).
pub fn proxy_from_environment(base_url: &str) -> Option<String> {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    let proxy = var(&PROXY_VARIABLES)?;
    let host = super::http::host_of(base_url)?;
    match var(&NO_PROXY_VARIABLES) {
        Some(list) if super::http::bypasses(&list, &host) => None,
        _ => Some(proxy.trim().to_string()),
    }
}

impl OpenAiOptions {
    /// Options with the defaults: temperature 0, 16 tokens, no seed, 60 s, 6 retries,
    /// 64 in flight, both readings.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> OpenAiOptions {
        let base_url = base_url.into();
        OpenAiOptions {
            proxy: proxy_from_environment(&base_url),
            base_url,
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
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .finish()
    }
}

/// The `openai` adapter. Share one between threads: they share its gate on requests in
/// flight, and its clients (with the connections they keep) when idle.
pub struct OpenAi {
    options: OpenAiOptions,
    /// What goes into each request's body, and how its answer is read.
    chat: ChatSettings,
    /// What must never be shown: the key, and the secrets a URL may carry (a password,
    /// the values of query parameters).
    secrets: Secrets,
    /// Where requests go, with the key in their headers; or why the URL cannot be asked.
    endpoint: Result<Endpoint, String>,
    /// Clients not in use, with the connections they keep open.
    clients: Mutex<Vec<Client>>,
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
                .chain(options.proxy.iter().flat_map(|p| url_secrets(p)))
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
        let bearer = options.api_key.as_ref().map(|key| format!("Bearer {key}"));
        let headers: Vec<(&str, &str)> = bearer
            .iter()
            .map(|b| ("Authorization", b.as_str()))
            .collect();
        let endpoint = Endpoint::new(&url, &headers, options.proxy.as_deref())
            .map_err(|why| secrets.scrub(why));
        OpenAi {
            gate: Gate::new(options.concurrency),
            options,
            chat,
            secrets,
            endpoint,
            clients: Mutex::new(Vec::new()),
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

    /// A client not in use (with the connections it keeps), or a new one.
    fn client(&self) -> Client {
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .pop()
            .unwrap_or_else(Client::new)
    }

    /// Gives a client back, its connections kept for the next request.
    fn give_back(&self, client: Client) {
        self.clients
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(client);
    }

    /// Requests in flight on one thread (see [`Flights`]).
    pub fn flights(&self) -> Flights<'_> {
        Flights {
            adapter: self,
            client: Some(self.client()),
            flights: Vec::new(),
            queue: Vec::new(),
            ended: Vec::new(),
            decided: Vec::new(),
        }
    }

    /// What `failure` is, said for a message.
    fn describe(&self, failure: &Failure) -> String {
        let url = redact_url(&self.options.base_url);
        match failure {
            Failure::Timeout => {
                format!("no answer within {} s", self.options.timeout.as_secs_f64())
            }
            Failure::Connect(e) => match &self.options.proxy {
                Some(proxy) => format!(
                    "cannot connect to the proxy {} (asked for {url}): {}",
                    redact_url(proxy),
                    e.kind()
                ),
                None => format!("cannot connect to {url}: {}", e.kind()),
            },
            Failure::NotFound => format!("the host of {url} is not found"),
            Failure::Io(e) => format!("connection error: {e}"),
            Failure::Protocol(why) => format!("request failed: {why}"),
            Failure::Url(why) => format!("cannot ask {url}: {why}"),
            Failure::Proxy(status) => format!(
                "the proxy {} would not open a tunnel to {url} (HTTP {status}{})",
                self.options
                    .proxy
                    .as_deref()
                    .map_or_else(String::new, redact_url),
                reason(*status)
            ),
        }
    }

    /// The decision the answers to a request's bodies make: a chat completion's reading,
    /// or each option's score.
    fn decision(
        &self,
        request: &Request<'_>,
        answers: &[Vec<u8>],
        attempts: u32,
    ) -> Result<Decision, AdapterError> {
        match self.options.readout {
            Readout::Chat => {
                let answer = answers.first().map_or(&[][..], Vec::as_slice);
                self.chat.read(answer, request, attempts, &self.secrets)
            }
            Readout::Logprob => {
                let mut scores = Vec::with_capacity(answers.len());
                let mut prompt_tokens = Some(0u64);
                let server = self.server();
                for bytes in answers {
                    let (score, tokens) = read_logprob(bytes, &server, attempts, &self.secrets)?;
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
            Readout::Reward => {
                let rewards = answers
                    .iter()
                    .map(|bytes| read_reward(bytes, attempts, &self.secrets))
                    .collect::<Result<Vec<f64>, AdapterError>>()?;
                Ok(Decision {
                    answer: Some(Answer::Option(crate::eval::highest(&rewards))),
                    rule: Some("reward".into()),
                    attempts,
                    scores: Some(
                        rewards
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
    }

    /// The bodies a request is asked in: one chat completion, or one scoring of each
    /// option.
    fn bodies(&self, request: &Request<'_>) -> Vec<Vec<u8>> {
        match self.options.readout {
            Readout::Chat => vec![self.chat.body(request)],
            Readout::Logprob => request
                .options
                .iter()
                .map(|o| logprob_body(&self.options.model, &o.text))
                .collect(),
            Readout::Reward => (0..request.options.len())
                .map(|i| reward_body(&self.options.model, request, i))
                .collect(),
        }
    }

    /// Decides `bodies` (a request's, or the check's probe) on a client of its own,
    /// waiting for the answer.
    fn decide_now(
        &self,
        request: &Request<'_>,
        bodies: Vec<Vec<u8>>,
    ) -> Result<Decision, AdapterError> {
        let mut flights = self.flights();
        flights.launch(0, bodies);
        let mut decided = Vec::new();
        while decided.is_empty() && !flights.is_idle() {
            flights.wait_for(&|_| Some(request.clone()), &mut decided);
        }
        decided.pop().map_or_else(
            || Err(self.secrets.error("the request was lost".into(), 0, None)),
            |(_, d)| d,
        )
    }

    /// What the check asks past reaching the server: for the `logprob` readout, the
    /// log-probability of a short text, so that a server that does not echo the prompt's
    /// log-probabilities stops the run before it starts.
    fn probe(&self) -> Result<(), AdapterError> {
        if self.options.readout != Readout::Logprob {
            return Ok(());
        }
        let options = [crate::eval::Choice {
            text: PROBE.into(),
            ..Default::default()
        }];
        let request = Request::new("probe", PROBE, &options);
        self.decide_now(&request, vec![logprob_body(&self.options.model, PROBE)])
            .map(|_| ())
    }

    /// The server's base URL, secrets hidden, for messages.
    fn server(&self) -> String {
        redact_url(&self.options.base_url)
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
        let endpoint = self.endpoint.as_ref().map_err(|why| {
            self.secrets
                .error(self.describe(&Failure::Url(why.clone())), 1, None)
        })?;
        let mut client = self.client();
        let asked = client.ask(
            endpoint,
            "GET",
            &[],
            super::http::deadline(self.options.timeout),
        );
        self.give_back(client);
        match asked {
            Ok(response) => match response.status {
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
            // Said with the server's URL, unless what is said names it already.
            Err(failure) => Err(self.secrets.error(
                match failure {
                    Failure::Timeout | Failure::Io(_) | Failure::Protocol(_) => format!(
                        "{}: {}",
                        redact_url(&self.options.base_url),
                        self.describe(&failure)
                    ),
                    _ => self.describe(&failure),
                },
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
        self.decide_now(request, self.bodies(request))
    }

    fn pipeline(&self) -> Option<Box<dyn Pipeline + '_>> {
        Some(Box::new(self.flights()))
    }
}

/// The most bodies one request may take (one per option for the scoring readouts).
const MAX_PARTS: usize = 1 << 16;

/// Requests of an [`OpenAi`] in flight on one thread, on one [`Client`]: each request's
/// bodies sent as the gate lets them, retried as the module says, its decision made when
/// every body is answered (or one has failed for good). The client goes back to the
/// adapter, connections and all, when this is dropped.
pub struct Flights<'a> {
    adapter: &'a OpenAi,
    client: Option<Client>,
    /// The requests, by tag.
    flights: Vec<Option<Flight>>,
    /// Bodies waiting to be sent: (tag, body, not before).
    queue: Vec<(usize, usize, Instant)>,
    /// Exchanges ended and not yet looked at.
    ended: Vec<(u64, Result<Response, Failure>)>,
    /// Requests decided and not yet handed out.
    decided: Vec<(usize, Result<Decision, AdapterError>)>,
}

/// A request in flight.
struct Flight {
    parts: Vec<Part>,
    /// Bodies sent or waiting to be sent.
    out: usize,
    /// Why the request failed (the first body to fail for good).
    error: Option<AdapterError>,
}

/// One body of a request.
struct Part {
    body: Vec<u8>,
    attempts: u32,
    answer: Vec<u8>,
}

impl fmt::Debug for Flights<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Flights")
            .field("requests", &self.flights.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

impl Drop for Flights<'_> {
    fn drop(&mut self) {
        // The places at the gate of what is still out, given back: the adapter may be
        // asked again.
        let out = self.client.as_ref().map_or(0, Client::in_flight) + self.ended.len();
        for _ in 0..out {
            self.adapter.gate.leave();
        }
        if let Some(client) = self.client.take() {
            // A client with requests still in flight is dropped, and their connections with
            // it: another request must not read their answers.
            if client.in_flight() == 0 {
                self.adapter.give_back(client);
            }
        }
    }
}

impl Flights<'_> {
    /// Whether nothing is in flight or waiting to be handed out.
    fn is_idle(&self) -> bool {
        self.decided.is_empty() && self.flights.iter().all(Option::is_none)
    }

    /// Starts the request `tag`, asked in `bodies`.
    fn launch(&mut self, tag: usize, bodies: Vec<Vec<u8>>) {
        let a = self.adapter;
        if bodies.is_empty() {
            let e = a
                .secrets
                .error("the scenario has no options".into(), 0, None);
            return self.decided.push((tag, Err(e)));
        }
        if bodies.len() > MAX_PARTS {
            let e = a.secrets.error(
                format!("the scenario has more than {MAX_PARTS} options to score"),
                0,
                None,
            );
            return self.decided.push((tag, Err(e)));
        }
        if let Err(why) = &a.endpoint {
            let e = a
                .secrets
                .error(a.describe(&Failure::Url(why.clone())), 1, None);
            return self.decided.push((tag, Err(e)));
        }
        if self.flights.len() <= tag {
            self.flights.resize_with(tag + 1, || None);
        }
        let now = Instant::now();
        self.queue
            .extend((0..bodies.len()).map(|part| (tag, part, now)));
        self.flights[tag] = Some(Flight {
            out: bodies.len(),
            parts: bodies
                .into_iter()
                .map(|body| Part {
                    body,
                    attempts: 0,
                    answer: Vec::new(),
                })
                .collect(),
            error: None,
        });
        self.send_due();
    }

    /// Sends the bodies whose time has come, as far as the gate lets them.
    fn send_due(&mut self) {
        let a = self.adapter;
        let (Ok(endpoint), Some(client)) = (&a.endpoint, self.client.as_mut()) else {
            return;
        };
        let now = Instant::now();
        let mut i = 0;
        while i < self.queue.len() {
            let (tag, part, at) = self.queue[i];
            if at > now {
                i += 1;
                continue;
            }
            if !a.gate.try_enter() {
                return;
            }
            self.queue.swap_remove(i);
            let Some(p) = self.flights[tag].as_mut().map(|f| &mut f.parts[part]) else {
                a.gate.leave();
                continue;
            };
            p.attempts += 1;
            let id = (tag as u64) << 16 | part as u64;
            let deadline = super::http::deadline(a.options.timeout);
            client.start(endpoint, id, "POST", &p.body, deadline, &mut self.ended);
        }
    }

    /// Waits until a request is decided and hands out each decided (its tag and
    /// decision); `request` gives the request started under a tag, to read its answer.
    fn wait_for<'r>(
        &mut self,
        request: &dyn Fn(usize) -> Option<Request<'r>>,
        decided: &mut Vec<(usize, Result<Decision, AdapterError>)>,
    ) {
        loop {
            self.settle(request);
            if !self.decided.is_empty() || self.flights.iter().all(Option::is_none) {
                decided.append(&mut self.decided);
                return;
            }
            self.send_due();
            self.settle(request);
            if !self.decided.is_empty() {
                continue;
            }
            let a = self.adapter;
            let (Ok(endpoint), Some(client)) = (&a.endpoint, self.client.as_mut()) else {
                return;
            };
            // Woken for the next body due; while the gate holds one back, every few
            // milliseconds, for a place another thread gives back.
            let now = Instant::now();
            let until = self
                .queue
                .iter()
                .map(|&(_, _, at)| at.max(now + GATE_TICK))
                .min();
            client.wait(endpoint, until, &mut self.ended);
        }
    }

    /// Looks at the exchanges that ended: answers kept, failures retried or recorded,
    /// requests whose bodies are all done decided.
    fn settle<'r>(&mut self, request: &dyn Fn(usize) -> Option<Request<'r>>) {
        let a = self.adapter;
        let now = Instant::now();
        let mut ended_now = std::mem::take(&mut self.ended);
        for (id, ended) in ended_now.drain(..) {
            a.gate.leave();
            let (tag, part) = ((id >> 16) as usize, (id & 0xffff) as usize);
            let Some(flight) = self.flights.get_mut(tag).and_then(Option::as_mut) else {
                continue;
            };
            let attempts = flight.parts[part].attempts;
            // What went wrong, whether asking again may help, and how long the server asks
            // us to wait.
            let (why, raw, retryable, wait) = match ended {
                Ok(r) if (200..300).contains(&r.status) => {
                    a.gate.success();
                    flight.parts[part].answer = r.body;
                    flight.out -= 1;
                    self.decide(tag, request);
                    continue;
                }
                Ok(r) => {
                    let text = String::from_utf8_lossy(&r.body);
                    if r.status == 429 {
                        a.gate.throttled();
                    }
                    (
                        format!("HTTP {}{}", r.status, reason(r.status)),
                        Some(a.secrets.excerpt(&text)),
                        r.status == 429 || r.status == 408 || r.status >= 500,
                        r.retry_after.as_deref().and_then(parse_retry_after),
                    )
                }
                Err(failure) => (a.describe(&failure), None, failure.retryable(), None),
            };
            if flight.error.is_none() && retryable && attempts <= a.options.max_retries {
                let wait = wait.unwrap_or_else(|| backoff(attempts - 1));
                self.queue.push((tag, part, now + wait));
                continue;
            }
            let error = if retryable {
                a.secrets.error(
                    format!(
                        "gave up after {attempts} attempt{}: {why}",
                        if attempts == 1 { "" } else { "s" }
                    ),
                    attempts,
                    raw,
                )
            } else {
                a.secrets.error(why, attempts, raw)
            };
            flight.error.get_or_insert(error);
            flight.out -= 1;
            // The request's other bodies waiting to be sent are not.
            let before = self.queue.len();
            self.queue.retain(|&(t, ..)| t != tag);
            flight.out -= before - self.queue.len();
            self.decide(tag, request);
        }
        // Its room kept for the next exchanges to end.
        self.ended = ended_now;
    }

    /// Decides the request `tag` if none of its bodies is still out.
    fn decide<'r>(&mut self, tag: usize, request: &dyn Fn(usize) -> Option<Request<'r>>) {
        if self.flights[tag].as_ref().is_none_or(|f| f.out > 0) {
            return;
        }
        let Some(flight) = self.flights[tag].take() else {
            return;
        };
        let a = self.adapter;
        let attempts = flight.parts.iter().map(|p| p.attempts).sum();
        let decision = match (flight.error, request(tag)) {
            (Some(e), _) => Err(AdapterError { attempts, ..e }),
            (None, Some(request)) => {
                let answers: Vec<Vec<u8>> = flight.parts.into_iter().map(|p| p.answer).collect();
                a.decision(&request, &answers, attempts)
            }
            (None, None) => Err(a
                .secrets
                .error("the request was lost".into(), attempts, None)),
        };
        self.decided.push((tag, decision));
    }
}

impl Pipeline for Flights<'_> {
    fn start(&mut self, tag: usize, request: &Request<'_>) {
        let bodies = self.adapter.bodies(request);
        self.launch(tag, bodies);
    }

    fn wait<'r>(
        &mut self,
        request: &dyn Fn(usize) -> Option<Request<'r>>,
        decided: &mut Vec<(usize, Result<Decision, AdapterError>)>,
    ) {
        self.wait_for(request, decided);
    }
}

/// How often a body the gate holds back looks again for a place.
const GATE_TICK: Duration = Duration::from_millis(5);

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

/// The shared limit on requests in flight (see the module's documentation).
struct Gate {
    state: Mutex<GateState>,
    max: usize,
}

struct GateState {
    limit: usize,
    in_flight: usize,
    successes: usize,
}

impl Gate {
    fn new(max: usize) -> Gate {
        Gate {
            state: Mutex::new(GateState {
                limit: max,
                in_flight: 0,
                successes: 0,
            }),
            max,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, GateState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn limit(&self) -> usize {
        self.lock().limit
    }

    /// Takes a place, if there is one.
    fn try_enter(&self) -> bool {
        let mut state = self.lock();
        let free = state.in_flight < state.limit;
        state.in_flight += usize::from(free);
        free
    }

    /// Gives a place back.
    fn leave(&self) {
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
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
        assert!((0..8).all(|_| gate.try_enter()));
        assert!(!gate.try_enter());
        gate.leave();
        assert!(gate.try_enter());
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
    fn requests_dropped_in_flight_give_their_places_back() {
        // A server that takes connections and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/v1", listener.local_addr().unwrap());
        let mut options = OpenAiOptions::new(url, "m");
        options.concurrency = 3;
        options.proxy = None;
        let adapter = OpenAi::new(options);
        let choices = crate::eval::test_options(&["a", "b"]);
        let request = Request::new("s", "Which?", &choices);
        for _ in 0..4 {
            let mut flights = adapter.flights();
            for tag in 0..3 {
                flights.start(tag, &request);
            }
            assert_eq!(flights.client.as_ref().map(Client::in_flight), Some(3));
            drop(flights);
        }
        assert!((0..3).all(|_| adapter.gate.try_enter()));
        assert!(!adapter.gate.try_enter());
    }

    #[test]
    fn a_proxy_comes_from_the_environment_unless_no_proxy_names_the_host() {
        use super::super::http::bypasses;
        for (list, host, bypassed) in [
            ("localhost,127.0.0.1", "127.0.0.1", true),
            ("example.com", "api.example.com", true),
            (".example.com", "api.example.com", true),
            ("*.example.com", "example.com", true),
            ("example.com", "notexample.com", false),
            ("*", "anything", true),
            (" a.org , [::1] ", "::1", true),
            ("", "host", false),
        ] {
            assert_eq!(bypasses(list, host), bypassed, "{list:?} {host}");
        }
        assert_eq!(
            super::super::http::host_of("https://u:p@API.Example.com:8443/v1").as_deref(),
            Some("api.example.com")
        );
        let mut o = OpenAiOptions::new("http://127.0.0.1:9/v1", "m");
        o.proxy = Some("http://user:pw-secret@127.0.0.1:3128".into());
        let a = OpenAi::new(o);
        let shown = format!("{a:?}");
        assert!(!shown.contains("pw-secret"), "{shown}");
        assert_eq!(a.secrets.scrub("pw-secret".into()), "***");
        let mut o = OpenAiOptions::new("http://127.0.0.1:9/v1", "m");
        o.proxy = Some("socks5://127.0.0.1:1080".into());
        let e = OpenAi::new(o).check().unwrap_err();
        assert!(e.message.contains("not supported"), "{}", e.message);
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
