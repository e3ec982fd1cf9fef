//! A run of `eval --adapter openai` through a Batch API: OpenAI's, or a compatible
//! provider's `/v1/files` and `/v1/batches`.
//!
//! The requests are written as [`export --to openai-batch`](crate::export::openai_batch)
//! writes them, in as many files as the API needs ([`BatchApi::max_requests`] requests and
//! [`MAX_BYTES`] bytes a file at most), beside the journal. Each file is uploaded
//! (`POST /files`, purpose `batch`) and a batch created on it (`POST /batches`, endpoint
//! `/v1/chat/completions`); the batches are polled (`GET /batches/{id}`) until each has
//! ended, and their output and error files are downloaded (`GET /files/{id}/content`) and
//! read into the journal by [`import openai-batch`](super::openai_batch): every request
//! recorded, a missing or failed one as an error.
//!
//! **Never twice.** What was submitted is kept in a state file beside the journal
//! (`RESULTS.batch.json`), rewritten after every step, before the next: an interrupted run
//! (Ctrl-C, a lost connection, `wait` run out) resumes where it stopped, polling the batches
//! it created instead of creating them again. The state names each file by a hash of its
//! bytes, so requests made with other settings are refused while a batch of the old ones is
//! in flight. The state holds no secret: no key, and the API's address with its password and
//! query values hidden.
//!
//! **Bounded.** Every request has a timeout, every answer a size limit (a downloaded file
//! [`MAX_DATA`](crate::input::MAX_DATA)), and polling stops after `wait`.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::openai_batch::Imported;
use crate::diagnostic::{Code, Diagnostic};
use crate::eval::Settings;
use crate::eval::adapters::ChatSettings;
use crate::eval::adapters::chat::{Secrets, redact_url};
use crate::export::openai_batch::{MAX_BYTES, MAX_REQUESTS, each_request, line, write_failed};
use crate::input::MAX_DATA;

/// The largest answer read from the API but a file's content.
const MAX_ANSWER: u64 = 1 << 20;
/// What the state file's `format` says.
const FORMAT: &str = "quandary-batch";

/// How to reach a Batch API and how long to wait for it.
#[derive(Clone)]
pub struct BatchApi {
    /// The API's base URL, up to and including `/v1`.
    pub base_url: String,
    /// The API key, sent as a bearer token; `None` for servers that need none.
    pub api_key: Option<String>,
    /// How long one HTTP request may take (an upload or a download included).
    pub timeout: Duration,
    /// The pause between two looks at the batches.
    pub poll: Duration,
    /// How long to poll before leaving the batches running (`None`: until they end). The
    /// same call later resumes.
    pub wait: Option<Duration>,
    /// The batches' completion window, as the API names it (`24h`).
    pub completion_window: String,
    /// The most requests a file holds (at most [`MAX_REQUESTS`], OpenAI's limit; some
    /// providers take fewer).
    pub max_requests: u64,
}

impl BatchApi {
    /// The API at `base_url`, without a key: a 60 s timeout a request, a look every 30 s
    /// until the batches end, a 24 h window, files of OpenAI's size.
    pub fn new(base_url: impl Into<String>) -> BatchApi {
        BatchApi {
            base_url: base_url.into(),
            api_key: None,
            timeout: Duration::from_secs(60),
            poll: Duration::from_secs(30),
            wait: None,
            completion_window: "24h".into(),
            max_requests: MAX_REQUESTS,
        }
    }
}

/// The state file of a run whose journal is `results`: `RESULTS.batch.json` beside it
/// (`.jsonl` left out of the name).
pub fn state_path(results: &Path) -> PathBuf {
    Files::of(results).state()
}

impl std::fmt::Debug for BatchApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchApi")
            .field("base_url", &redact_url(&self.base_url))
            .field("api_key", &self.api_key.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("poll", &self.poll)
            .field("wait", &self.wait)
            .field("completion_window", &self.completion_window)
            .field("max_requests", &self.max_requests)
            .finish()
    }
}

/// What happens, as it happens. `part` numbers the files of requests from 1.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// The requests were written.
    Written {
        /// Into this many files.
        files: usize,
        /// Requests in all.
        requests: u64,
        /// A state file says they were submitted before: the run resumes.
        resumed: bool,
    },
    /// A file of requests was uploaded.
    Uploaded {
        /// Which file.
        part: usize,
        /// Its id at the API.
        file_id: String,
    },
    /// A batch was created on a file.
    Created {
        /// Which file.
        part: usize,
        /// The batch's id.
        batch_id: String,
    },
    /// A look at a batch.
    Status {
        /// Its file.
        part: usize,
        /// Its id.
        batch_id: String,
        /// Its status: `validating`, `in_progress`, `finalizing`, `completed`, `failed`,
        /// `expired`, `cancelling` or `cancelled`.
        status: String,
        /// Requests it answered so far.
        completed: u64,
        /// Requests that failed so far.
        failed: u64,
        /// Requests it holds.
        total: u64,
    },
    /// A file a batch answered with was downloaded.
    Downloaded {
        /// The batch's file of requests.
        part: usize,
        /// Where it was saved.
        path: PathBuf,
    },
}

/// How a call ended.
#[derive(Debug)]
pub enum Finished {
    /// Every batch ended and its answers are in the journal.
    Imported(Imported),
    /// `wait` ran out with these batches (ids and statuses) still running; the same call
    /// resumes them.
    Running {
        /// The state file.
        state: PathBuf,
        /// The batches not ended yet: id and status.
        pending: Vec<(String, String)>,
    },
}

/// The state file: what was submitted.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct State {
    format: String,
    version: u32,
    /// The API, secrets hidden.
    api: String,
    parts: Vec<Part>,
}

/// One file of requests and its batch.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
struct Part {
    /// The file's name, beside the journal.
    input: String,
    requests: u64,
    bytes: u64,
    /// 16 hex digits of a hash of its bytes.
    hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    batch_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    output_file_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error_file_id: Option<String>,
    /// The downloaded files, beside the journal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    downloaded: Vec<String>,
}

/// A batch's status that will not change.
fn ended(status: &str) -> bool {
    matches!(status, "completed" | "failed" | "expired" | "cancelled")
}

/// The files of a run whose journal is `results`: `RESULTS.batch.json` and, for file `n`,
/// `RESULTS.batch-N.jsonl` (the requests), `.out.jsonl` and `.errors.jsonl` (the answers).
struct Files {
    folder: PathBuf,
    stem: String,
}

impl Files {
    fn of(results: &Path) -> Files {
        let name = results
            .file_name()
            .map_or_else(|| "results".into(), |n| n.to_string_lossy().into_owned());
        let stem = name
            .strip_suffix(".jsonl")
            .or_else(|| name.strip_suffix(".json"))
            .unwrap_or(&name)
            .to_string();
        Files {
            folder: results.parent().map(Path::to_path_buf).unwrap_or_default(),
            stem,
        }
    }

    fn state(&self) -> PathBuf {
        self.folder.join(format!("{}.batch.json", self.stem))
    }

    fn name(&self, part: usize, kind: &str) -> String {
        format!("{}.batch-{part}{kind}.jsonl", self.stem)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.folder.join(name)
    }
}

/// Runs the requests of the suite at `suite` under `settings`, with bodies made by `chat`,
/// through the Batch API `api`, into the journal at `results` (created, or resumed as
/// [`import`](super::openai_batch::import) resumes it). Resumes the batches a state file
/// beside the journal names. `events` is told what happens; `progress` the import's
/// progress, as `eval` tells it.
///
/// Fails with `Q0510` when the API refuses a request, a batch fails as a whole (the input
/// is invalid) or its answer cannot be read, and with `Q0511` when the state file names
/// requests other than these; the files written so far are kept and the same call resumes.
pub fn run(
    suite: &Path,
    results: &Path,
    settings: &Settings,
    chat: &ChatSettings,
    api: &BatchApi,
    events: &mut dyn FnMut(Event),
    progress: &mut dyn FnMut(crate::eval::Event<'_>),
) -> Result<Finished, Diagnostic> {
    let files = Files::of(results);
    let client = Client::new(api);
    let most = api.max_requests.clamp(1, MAX_REQUESTS);
    let written = write_parts(suite, settings, chat, &files, most)?;
    let state_path = files.state();
    let mut state = match read_state(&state_path)? {
        Some(old) => {
            let same = old.parts.len() == written.len()
                && old.parts.iter().zip(&written).all(|(a, b)| {
                    (&a.input, a.requests, &a.hash) == (&b.input, b.requests, &b.hash)
                });
            if !same {
                let ids: Vec<&str> = old
                    .parts
                    .iter()
                    .filter_map(|p| p.batch_id.as_deref())
                    .collect();
                return Err(Diagnostic::new(
                    Code::BatchInFlight,
                    format!(
                        "`{}` names a batch of other requests than these ({})",
                        state_path.display(),
                        if ids.is_empty() {
                            "none created yet".to_string()
                        } else {
                            ids.join(", ")
                        }
                    ),
                )
                .path(state_path.display().to_string())
                .help(
                    "run with the settings of that batch to finish it, or delete the state \
                     file (and cancel its batches) to submit these requests anew",
                ));
            }
            old
        }
        None => State {
            format: FORMAT.into(),
            version: 1,
            api: redact_url(&api.base_url),
            parts: written,
        },
    };
    events(Event::Written {
        files: state.parts.len(),
        requests: state.parts.iter().map(|p| p.requests).sum(),
        resumed: state.parts.iter().any(|p| p.file_id.is_some()),
    });
    save(&state_path, &state)?;

    // Submit what is not submitted yet, saving the state after each step.
    for n in 0..state.parts.len() {
        if state.parts[n].file_id.is_none() {
            let path = files.path(&state.parts[n].input);
            let id = client.upload(&path, &state.parts[n].input)?;
            state.parts[n].file_id = Some(id.clone());
            save(&state_path, &state)?;
            events(Event::Uploaded {
                part: n + 1,
                file_id: id,
            });
        }
        if state.parts[n].batch_id.is_none() {
            let file_id = state.parts[n].file_id.clone().unwrap_or_default();
            let batch = client.create(&file_id)?;
            let id = batch.id.clone();
            state.parts[n].batch_id = Some(id.clone());
            state.parts[n].status = Some(batch.status.clone());
            save(&state_path, &state)?;
            events(Event::Created {
                part: n + 1,
                batch_id: id,
            });
        }
    }

    // Poll until every batch has ended, or the wait runs out.
    let started = Instant::now();
    loop {
        for n in 0..state.parts.len() {
            if state.parts[n].status.as_deref().is_some_and(ended) {
                continue;
            }
            let id = state.parts[n].batch_id.clone().unwrap_or_default();
            let batch = client.look(&id)?;
            events(Event::Status {
                part: n + 1,
                batch_id: id.clone(),
                status: batch.status.clone(),
                completed: batch.request_counts.completed,
                failed: batch.request_counts.failed,
                total: batch.request_counts.total,
            });
            let changed = state.parts[n].status.as_deref() != Some(batch.status.as_str());
            state.parts[n].status = Some(batch.status.clone());
            state.parts[n].output_file_id = batch.output_file_id.clone();
            state.parts[n].error_file_id = batch.error_file_id.clone();
            if changed {
                save(&state_path, &state)?;
            }
            if batch.status == "failed" && batch.output_file_id.is_none() {
                return Err(failed_batch(&id, &batch, &state.parts[n].input));
            }
        }
        let pending: Vec<(String, String)> = state
            .parts
            .iter()
            .filter(|p| !p.status.as_deref().is_some_and(ended))
            .map(|p| {
                (
                    p.batch_id.clone().unwrap_or_default(),
                    p.status.clone().unwrap_or_default(),
                )
            })
            .collect();
        if pending.is_empty() {
            break;
        }
        let elapsed = started.elapsed();
        match api.wait {
            Some(wait) if elapsed >= wait => {
                return Ok(Finished::Running {
                    state: state_path,
                    pending,
                });
            }
            Some(wait) => std::thread::sleep(api.poll.min(wait - elapsed)),
            None => std::thread::sleep(api.poll),
        }
    }

    // Download what each batch answered, and read it into the journal.
    let mut outputs = Vec::new();
    for n in 0..state.parts.len() {
        let part = &state.parts[n];
        let wanted = [
            (part.output_file_id.clone(), ".out"),
            (part.error_file_id.clone(), ".errors"),
        ];
        let mut downloaded = Vec::new();
        for (id, kind) in wanted {
            let Some(id) = id else { continue };
            let name = files.name(n + 1, kind);
            let path = files.path(&name);
            if !part.downloaded.contains(&name) || !path.is_file() {
                client.download(&id, &path)?;
                events(Event::Downloaded {
                    part: n + 1,
                    path: path.clone(),
                });
            }
            downloaded.push(name);
            outputs.push(path);
        }
        if state.parts[n].downloaded != downloaded {
            state.parts[n].downloaded = downloaded;
            save(&state_path, &state)?;
        }
    }
    if outputs.is_empty() {
        // Every batch ended without a file (expired or cancelled before any answer): an
        // empty output, so that every request is recorded as unanswered.
        let empty = files.path(&files.name(1, ".out"));
        crate::output::to_file(&empty, |_| Ok(()))?;
        outputs.push(empty);
    }
    let imported = super::openai_batch::import(
        suite,
        &outputs,
        results,
        settings,
        chat,
        &api.base_url,
        progress,
    )?;
    Ok(Finished::Imported(imported))
}

/// Writes the requests into files the API takes, beside the journal; what each holds.
fn write_parts(
    suite: &Path,
    settings: &Settings,
    chat: &ChatSettings,
    files: &Files,
    most: u64,
) -> Result<Vec<Part>, Diagnostic> {
    struct Open {
        out: crate::output::Output,
        part: Part,
        hasher: xxhash_rust::xxh3::Xxh3,
    }
    let start = |n: usize| -> Result<Open, Diagnostic> {
        let input = files.name(n, "");
        Ok(Open {
            out: crate::output::Output::create(&files.path(&input))?,
            part: Part {
                input,
                ..Part::default()
            },
            hasher: xxhash_rust::xxh3::Xxh3::new(),
        })
    };
    let finish = |open: Open| -> Result<Part, Diagnostic> {
        let mut part = open.part;
        part.hash = format!("{:016x}", open.hasher.digest());
        open.out.commit()?;
        Ok(part)
    };
    let mut parts = Vec::new();
    let mut open = start(1)?;
    let mut buffer = Vec::new();
    each_request(suite, settings, chat, |request| {
        line(&request, &mut buffer);
        let size = buffer.len() as u64;
        if open.part.requests > 0
            && (open.part.requests >= most || open.part.bytes + size > MAX_BYTES)
        {
            let next = start(parts.len() + 2)?;
            parts.push(finish(std::mem::replace(&mut open, next))?);
        }
        open.out.writer().write_all(&buffer).map_err(write_failed)?;
        open.hasher.update(&buffer);
        open.part.requests += 1;
        open.part.bytes += size;
        Ok(())
    })?;
    if open.part.requests == 0 && parts.is_empty() {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            "the run asks no request: there is nothing to submit",
        )
        .help("check the suite, and the shard given with --shard"));
    }
    if open.part.requests > 0 {
        parts.push(finish(open)?);
    }
    Ok(parts)
}

/// The state at `path`, if there is one.
fn read_state(path: &Path) -> Result<Option<State>, Diagnostic> {
    let bytes = match crate::input::read_file(path, MAX_ANSWER) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(crate::formats::io_error(
                &path.display().to_string(),
                crate::input::why(&e),
            ));
        }
    };
    match serde_json::from_slice::<State>(&bytes) {
        Ok(state) if state.format == FORMAT && state.version == 1 => Ok(Some(state)),
        Ok(_) | Err(_) => Err(Diagnostic::new(
            Code::BatchInFlight,
            format!(
                "`{}` is not the state of a batch run this version of quandary wrote",
                path.display()
            ),
        )
        .path(path.display().to_string())
        .help(
            "it names the batches a run submitted: restore it, or delete it (and cancel its \
             batches) to submit the requests anew",
        )),
    }
}

/// Writes the state, replacing the file whole.
fn save(path: &Path, state: &State) -> Result<(), Diagnostic> {
    crate::output::to_file(path, |out| {
        let mut text = serde_json::to_vec_pretty(state)
            .map_err(|e| Diagnostic::new(Code::Io, format!("cannot write the batch state: {e}")))?;
        text.push(b'\n');
        out.write_all(&text).map_err(|e| {
            Diagnostic::new(
                Code::Io,
                format!(
                    "cannot write `{}`: {}",
                    path.display(),
                    e.to_string().to_lowercase()
                ),
            )
        })
    })
}

/// A batch object, as far as it is read.
#[derive(Deserialize, Debug, Default)]
struct Batch {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    output_file_id: Option<String>,
    #[serde(default)]
    error_file_id: Option<String>,
    #[serde(default)]
    request_counts: Counts,
    #[serde(default)]
    errors: Option<Value>,
}

#[derive(Deserialize, Debug, Default)]
struct Counts {
    #[serde(default)]
    total: u64,
    #[serde(default)]
    completed: u64,
    #[serde(default)]
    failed: u64,
}

/// The diagnostic of a batch that failed as a whole: the API's reasons, with their lines.
fn failed_batch(id: &str, batch: &Batch, input: &str) -> Diagnostic {
    let reasons: Vec<String> = batch
        .errors
        .as_ref()
        .and_then(|e| e.get("data"))
        .and_then(Value::as_array)
        .map(|data| {
            data.iter()
                .take(5)
                .map(|e| {
                    let message = e["message"].as_str().unwrap_or("no message");
                    match e["line"].as_u64() {
                        Some(line) => format!("{input}:{line}: {message}"),
                        None => message.to_string(),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let why = if reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", reasons.join("; "))
    };
    Diagnostic::new(Code::BatchFailed, format!("the batch {id} failed{why}")).help(
        "the API refused the batch's input file; fix what it names (the model's name, say), \
         delete the state file and run again",
    )
}

/// The API's client: a few requests, each within the timeout, each answer bounded.
struct Client<'a> {
    api: &'a BatchApi,
    base: String,
    agent: ureq::Agent,
    secrets: Secrets,
}

impl<'a> Client<'a> {
    fn new(api: &'a BatchApi) -> Client<'a> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(api.timeout))
            .max_redirects(5)
            .user_agent(format!("quandary/{}", env!("CARGO_PKG_VERSION")))
            .build();
        let base = api.base_url.trim_end_matches('/').to_string();
        Client {
            api,
            agent: config.into(),
            secrets: Secrets::new(
                api.api_key
                    .iter()
                    .cloned()
                    .chain(crate::eval::adapters::chat::url_secrets(&base))
                    .collect(),
            ),
            base,
        }
    }

    /// `{base}/{path}`, a query of the base URL kept after the path.
    fn url(&self, path: &str) -> String {
        match self.base.split_once('?') {
            Some((base, query)) => format!("{}/{path}?{query}", base.trim_end_matches('/')),
            None => format!("{}/{path}", self.base),
        }
    }

    fn authorised<B>(&self, call: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        match &self.api.api_key {
            Some(key) => call.header("authorization", format!("Bearer {key}")),
            None => call,
        }
    }

    /// The error of `what` that went wrong, secrets hidden.
    fn error(&self, what: &str, why: String) -> Diagnostic {
        Diagnostic::new(
            Code::BatchFailed,
            self.secrets
                .scrub(format!("{what} at {}: {why}", redact_url(&self.base))),
        )
        .help(
            "check --base-url, the key and the network; the files written so far are kept \
             and the same command resumes",
        )
    }

    /// The body of a 2xx answer as JSON of type `T`; any other answer an error.
    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        what: &str,
        response: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, Diagnostic> {
        let mut response = response.map_err(|e| self.error(what, e.to_string()))?;
        let status = response.status().as_u16();
        let mut body = Vec::new();
        response
            .body_mut()
            .as_reader()
            .take(MAX_ANSWER)
            .read_to_end(&mut body)
            .map_err(|e| self.error(what, e.to_string()))?;
        let text = String::from_utf8_lossy(&body);
        if !(200..300).contains(&status) {
            return Err(self.error(
                what,
                format!(
                    "HTTP {status}{}: {}",
                    crate::eval::adapters::chat::reason(status),
                    self.secrets.excerpt(&text)
                ),
            ));
        }
        serde_json::from_slice(&body).map_err(|e| {
            self.error(
                what,
                format!(
                    "the answer is not what the Batch API answers ({e}): {}",
                    self.secrets.excerpt(&text)
                ),
            )
        })
    }

    /// Uploads the file at `path` (named `name`) for a batch; its id.
    fn upload(&self, path: &Path, name: &str) -> Result<String, Diagnostic> {
        let what = format!("cannot upload `{}`", path.display());
        let file = std::fs::File::open(path).map_err(|e| {
            crate::formats::io_error(&path.display().to_string(), crate::input::why(&e))
        })?;
        let size = file
            .metadata()
            .map_err(|e| self.error(&what, e.to_string()))?
            .len();
        let boundary = format!(
            "quandary-{:016x}",
            xxhash_rust::xxh3::xxh3_64(name.as_bytes())
        );
        let head = format!(
            "--{boundary}\r\ncontent-disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --{boundary}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             content-type: application/jsonl\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let length = head.len() as u64 + size + tail.len() as u64;
        let body = std::io::Cursor::new(head.into_bytes())
            .chain(file.take(size))
            .chain(std::io::Cursor::new(tail.into_bytes()));
        let call = self
            .authorised(self.agent.post(self.url("files")))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .header("content-length", length.to_string());
        #[derive(Deserialize)]
        struct Uploaded {
            id: String,
        }
        let uploaded: Uploaded =
            self.answer(&what, call.send(ureq::SendBody::from_owned_reader(body)))?;
        Ok(uploaded.id)
    }

    /// Creates a batch on the uploaded file `file_id`.
    fn create(&self, file_id: &str) -> Result<Batch, Diagnostic> {
        let body = serde_json::json!({
            "input_file_id": file_id,
            "endpoint": crate::export::openai_batch::URL,
            "completion_window": self.api.completion_window,
        })
        .to_string();
        let call = self
            .authorised(self.agent.post(self.url("batches")))
            .header("content-type", "application/json");
        let batch: Batch = self.answer(
            &format!("cannot create a batch on {file_id}"),
            call.send(body.as_bytes()),
        )?;
        if batch.id.is_empty() {
            return Err(self.error(
                &format!("cannot create a batch on {file_id}"),
                "the answer names no batch".into(),
            ));
        }
        Ok(batch)
    }

    /// The batch `id` as it is now.
    fn look(&self, id: &str) -> Result<Batch, Diagnostic> {
        let call = self.authorised(self.agent.get(self.url(&format!("batches/{id}"))));
        self.answer(&format!("cannot look at the batch {id}"), call.call())
    }

    /// Downloads the content of the file `id` to `path`, replacing it whole.
    fn download(&self, id: &str, path: &Path) -> Result<(), Diagnostic> {
        let what = format!("cannot download the file {id}");
        let call = self.authorised(self.agent.get(self.url(&format!("files/{id}/content"))));
        let mut response = call.call().map_err(|e| self.error(&what, e.to_string()))?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            let mut text = String::new();
            let _ = response
                .body_mut()
                .as_reader()
                .take(MAX_ANSWER)
                .read_to_string(&mut text);
            return Err(self.error(
                &what,
                format!(
                    "HTTP {status}{}: {}",
                    crate::eval::adapters::chat::reason(status),
                    self.secrets.excerpt(&text)
                ),
            ));
        }
        crate::output::to_file(path, |out| {
            let mut reader = response.body_mut().as_reader().take(MAX_DATA + 1);
            let copied =
                std::io::copy(&mut reader, out).map_err(|e| self.error(&what, e.to_string()))?;
            if copied > MAX_DATA {
                return Err(self.error(
                    &what,
                    format!("it is larger than {}", crate::input::size(MAX_DATA)),
                ));
            }
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_sit_beside_the_journal() {
        let files = Files::of(Path::new("runs/night.results.jsonl"));
        assert_eq!(
            files.state(),
            Path::new("runs/night.results.batch.json").to_path_buf()
        );
        assert_eq!(files.name(2, ".out"), "night.results.batch-2.out.jsonl");
        assert_eq!(files.name(1, ""), "night.results.batch-1.jsonl");
    }

    #[test]
    fn a_failed_batch_names_its_reasons_with_their_lines() {
        let batch: Batch = serde_json::from_str(
            r#"{"id":"batch_1","status":"failed","errors":{"object":"list","data":[
                {"code":"invalid_model","message":"Model 'x' not found","line":3},
                {"code":"other","message":"No line"}]}}"#,
        )
        .unwrap();
        let d = failed_batch("batch_1", &batch, "r.batch-1.jsonl");
        assert_eq!(
            d.message,
            "the batch batch_1 failed: r.batch-1.jsonl:3: Model 'x' not found; No line"
        );
    }

    #[test]
    fn the_state_holds_no_secret_of_the_url() {
        let api = BatchApi {
            api_key: Some("sk-secret".into()),
            ..BatchApi::new("https://user:pw@example.test/v1?key=k")
        };
        let shown = format!("{api:?}");
        assert!(
            !shown.contains("pw") && !shown.contains("sk-secret"),
            "{shown}"
        );
        assert!(!redact_url(&api.base_url).contains("pw"));
    }
}
