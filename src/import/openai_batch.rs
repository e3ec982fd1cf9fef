//! The output of a batch inference engine read back as a results journal: the answers of
//! OpenAI's Batch API (its output file and its error file) or of `vllm run-batch` to a
//! batch that [`export --to openai-batch`](crate::export::openai_batch) wrote, recorded as
//! a run of `eval --adapter openai` records them.
//!
//! Each line of an output file answers one request, named by its `custom_id`:
//!
//! ```json
//! {"id":"batch_req_…","custom_id":"0-s0ec41…-5d1f0a3c","response":{"status_code":200,"request_id":"…","body":{chat completion}},"error":null}
//! {"id":"batch_req_…","custom_id":"1-s7d2e9…-0b8c7e21","response":null,"error":{"code":"batch_expired","message":"…"}}
//! ```
//!
//! The import is a run of `eval` whose adapter answers from these lines: the requests are
//! made in the suite's order, each answer is read by the `openai` adapter's own reading
//! ([`ChatSettings::read`]), and the journal's header records the `openai` adapter with the
//! same fingerprint, model and parameters as a live run with these settings, so `report`,
//! `diff` and `merge` take it as such, and `eval --retry-errors` can finish it live. A
//! request without a line, or whose line is an error, a status other than 2xx or a body
//! that is not a chat completion, is recorded as an `error` with the reason. A line that
//! answers no request of the suite under these settings, or one already answered, is a
//! diagnostic naming its file and line.
//!
//! The files are read a line at a time (each at most [`MAX_LINE`] bytes): only where each
//! request's line lies is held, and the line is read again when its request is made.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::adapters::ChatSettings;
use crate::eval::adapters::chat::{Secrets, reason};
use crate::eval::{Adapter, AdapterError, Decision, Outcome, Request, Settings};
use crate::export::openai_batch::{custom_id, each_request, split_custom_id};
use crate::formats::Input;
use crate::input::MAX_LINE;

/// The most lines that answer no request reported one by one; the rest are counted.
const MAX_REPORTED: usize = 50;

/// What to do about answers to other requests than the suite's under the settings given.
const SETTINGS_HELP: &str = "import with the suite and the settings the batch was exported with \
     (--model, --temperature, --adapter-seed, --max-tokens, --reasoning-tokens, --mode, \
     --prompt, --steer, --answer, --lang, --labels, --epochs)";

/// What an import read and recorded.
#[derive(Debug, Default)]
pub struct Imported {
    /// The run: the requests of the suite, those the journal already held, those recorded
    /// now and how they ended.
    pub outcome: Outcome,
    /// Lines read from the files (blank lines aside).
    pub lines: u64,
    /// Requests recorded now whose line was read as an answer (an option, `unparsed` or
    /// `refused`).
    pub read: u64,
    /// Requests recorded as an `error` because their line is one: an error, a status other
    /// than 2xx, a body that is not a chat completion.
    pub failed: u64,
    /// Requests recorded as an `error` because no line answers them.
    pub missing: u64,
    /// Lines that answer no request of the suite under these settings, or one another line
    /// answered first: one diagnostic each, naming the file and the line.
    pub diagnostics: Vec<Diagnostic>,
}

/// Where a request's answer lies.
#[derive(Clone, Copy, Debug)]
struct Place {
    file: usize,
    offset: u64,
    len: usize,
    line: u64,
}

/// A request of the suite: the hash of its body, and where its answer lies once found.
struct Expected {
    hash: u32,
    place: Option<Place>,
}

/// Reads the answers in `outputs` (the output file, then the error file, if any) to the
/// batch of the suite at `suite` asked under `settings` with `chat` at `base_url`, and
/// records them in the journal at `results` as a run of the `openai` adapter with these
/// settings records them: created, or resumed when it holds a run of the same suite,
/// adapter, presentation and steers (then only the requests it does not hold yet are
/// recorded, and with `settings.retry_errors` those whose latest line is an error). The
/// journal is in the suite's order. `progress` is told what [`crate::eval::run`] tells it: the
/// requests done, the total and the failures so far, and the first failure of each kind.
///
/// Fails, writing nothing, when an input cannot be read, the suite or the journal cannot be
/// used, or no line of the files answers a request of the suite under these settings.
pub fn import(
    suite: &Path,
    outputs: &[PathBuf],
    results: &Path,
    settings: &Settings,
    chat: &ChatSettings,
    base_url: &str,
    progress: &mut dyn FnMut(crate::eval::Event<'_>),
) -> Result<Imported, Diagnostic> {
    let mut expected: HashMap<String, Expected> = HashMap::new();
    each_request(suite, settings, chat, |request| {
        if let Some((name, hash)) = split_custom_id(&request.custom_id) {
            expected.insert(name.to_string(), Expected { hash, place: None });
        }
        Ok(())
    })?;
    let mut imported = Imported::default();
    let mut files = Vec::with_capacity(outputs.len());
    let mut unplaced = 0u64;
    let mut placed = 0u64;
    for (n, path) in outputs.iter().enumerate() {
        let counts = index(
            n,
            path,
            outputs,
            &mut expected,
            &mut imported.diagnostics,
            &mut unplaced,
        )?;
        imported.lines += counts.lines;
        placed += counts.placed;
        let file = File::open(path).map_err(|e| {
            crate::formats::io_error(&path.display().to_string(), crate::input::why(&e))
        })?;
        files.push(Mutex::new(file));
    }
    if unplaced as usize > MAX_REPORTED {
        imported.diagnostics.push(Diagnostic::new(
            Code::ImportRow,
            format!(
                "{} more lines answer no request of the suite under these settings, or one \
                 answered already",
                unplaced as usize - MAX_REPORTED
            ),
        ));
    }
    if placed == 0 {
        let names: Vec<String> = outputs
            .iter()
            .map(|p| format!("`{}`", p.display()))
            .collect();
        let mut why = if imported.lines == 0 {
            format!("{} hold no answers", names.join(" and "))
        } else {
            format!(
                "none of the {} lines of {} answers a request of `{}` under these settings",
                imported.lines,
                names.join(" and "),
                suite.display()
            )
        };
        if let Some(first) = imported.diagnostics.first() {
            why.push_str(&format!(" ({})", first.message));
        }
        return Err(Diagnostic::new(Code::ImportRow, why).help(SETTINGS_HELP));
    }
    let answers = Answers {
        chat: chat.clone(),
        base_url: base_url.trim_end_matches('/').to_string(),
        steers: settings.steers.iter().map(|s| s.id.clone()).collect(),
        names: outputs.iter().map(|p| p.display().to_string()).collect(),
        files,
        expected,
        secrets: Secrets::default(),
        read: AtomicU64::new(0),
        failed: AtomicU64::new(0),
        missing: AtomicU64::new(0),
    };
    // One request at a time, in the suite's order: answers are read from files, and the
    // journal is in the order of the suite.
    let settings = Settings {
        concurrency: 1,
        ..settings.clone()
    };
    imported.outcome = crate::eval::run(suite, results, &answers, &settings, progress)?;
    imported.read = answers.read.load(Ordering::Relaxed);
    imported.failed = answers.failed.load(Ordering::Relaxed);
    imported.missing = answers.missing.load(Ordering::Relaxed);
    Ok(imported)
}

/// What [`index`] found in one file.
struct Counts {
    lines: u64,
    placed: u64,
}

/// The `custom_id` of an output line, and nothing else of it.
#[derive(Deserialize)]
struct Id<'a> {
    #[serde(borrow)]
    custom_id: Cow<'a, str>,
}

/// Reads the file `outputs[n]` a line at a time, noting where the answer of each request of
/// `expected` lies, and a diagnostic for each line that answers none (the first
/// [`MAX_REPORTED`] of them; `unplaced` counts them all).
fn index(
    n: usize,
    path: &Path,
    outputs: &[PathBuf],
    expected: &mut HashMap<String, Expected>,
    diagnostics: &mut Vec<Diagnostic>,
    unplaced: &mut u64,
) -> Result<Counts, Diagnostic> {
    let name = path.display().to_string();
    let mut reader = Input::Path(path).open()?;
    let mut buf = Vec::new();
    let mut offset = 0u64;
    let mut line = 0u64;
    let mut counts = Counts {
        lines: 0,
        placed: 0,
    };
    let here = |file: usize, line: u64| {
        format!(
            "{} line {line}",
            super::file_name(&outputs[file].display().to_string())
        )
    };
    loop {
        let read = crate::input::read_line(&mut reader, &mut buf, MAX_LINE).map_err(|e| {
            crate::formats::io_error(
                &name,
                format!("line {}: {}", line + 1, crate::input::why(&e)),
            )
        })?;
        if read == 0 {
            break;
        }
        line += 1;
        let start = offset;
        offset += read as u64;
        if crate::input::is_blank(&buf) {
            continue;
        }
        counts.lines += 1;
        let mut problem = |message: String, help: &str| {
            *unplaced += 1;
            if diagnostics.len() < MAX_REPORTED {
                diagnostics.push(super::line_error(&name, line, message).help(help.to_string()));
            }
        };
        let id = match serde_json::from_slice::<Id<'_>>(&buf) {
            Ok(id) => id.custom_id,
            Err(e) => {
                problem(
                    format!(
                        "this is not a line of a batch output (an object with a `custom_id`): {}",
                        super::json_message(&e)
                    ),
                    "give the output file (or the error file) the batch wrote, as it wrote it",
                );
                continue;
            }
        };
        let Some((request, hash)) = split_custom_id(&id) else {
            problem(
                format!("`{id}` is not the custom_id of a request quandary exported"),
                SETTINGS_HELP,
            );
            continue;
        };
        let Some(entry) = expected.get_mut(request) else {
            problem(
                format!("`{id}` names no request of the suite under these settings"),
                SETTINGS_HELP,
            );
            continue;
        };
        if entry.hash != hash {
            problem(
                format!(
                    "`{id}` answers request `{request}` as it was asked with other settings \
                     (another model, sampling, prompt, steer or language)"
                ),
                SETTINGS_HELP,
            );
            continue;
        }
        if let Some(first) = entry.place {
            problem(
                format!(
                    "`{id}` is answered a second time (first at {}); the first answer is kept",
                    here(first.file, first.line)
                ),
                "give each output file once, and the error file apart with --errors",
            );
            continue;
        }
        entry.place = Some(Place {
            file: n,
            offset: start,
            len: read,
            line,
        });
        counts.placed += 1;
    }
    Ok(counts)
}

/// An output line, as much of it as an answer needs.
#[derive(Deserialize)]
struct OutputLine<'a> {
    #[serde(default, borrow)]
    response: Option<Response<'a>>,
    #[serde(default, borrow)]
    error: Option<&'a RawValue>,
}

/// `response` of an output line.
#[derive(Deserialize)]
struct Response<'a> {
    #[serde(default)]
    status_code: Option<u64>,
    #[serde(default, borrow)]
    body: Option<&'a RawValue>,
}

/// The adapter whose answers are the lines of a batch's output.
struct Answers {
    chat: ChatSettings,
    base_url: String,
    /// The run's steers, by id, in order: a steer's number is its place here, plus one.
    steers: Vec<String>,
    names: Vec<String>,
    files: Vec<Mutex<File>>,
    expected: HashMap<String, Expected>,
    secrets: Secrets,
    read: AtomicU64,
    failed: AtomicU64,
    missing: AtomicU64,
}

impl Answers {
    /// The bytes of the line at `place`.
    fn line(&self, place: Place) -> Result<Vec<u8>, String> {
        let name = &self.names[place.file];
        let mut file = self.files[place.file]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let mut bytes = vec![0; place.len];
        file.seek(SeekFrom::Start(place.offset))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| {
                format!(
                    "cannot read line {} of `{name}` again: {}",
                    place.line,
                    crate::input::why(&e)
                )
            })?;
        Ok(bytes)
    }

    /// The bytes of the line at `place`, which answers `id`: a file changed since it was
    /// indexed is an error, not another request's answer.
    fn line_of(&self, place: Place, id: &str) -> Result<Vec<u8>, String> {
        let bytes = self.line(place)?;
        match serde_json::from_slice::<Id<'_>>(&bytes) {
            Ok(line) if line.custom_id == id => Ok(bytes),
            _ => Err(format!(
                "line {} of `{}` changed while it was imported",
                place.line, self.names[place.file]
            )),
        }
    }

    /// The decision an output line gives.
    fn answer(&self, bytes: &[u8], request: &Request<'_>) -> Result<Decision, AdapterError> {
        let failed = |message: String, raw: Option<String>| AdapterError {
            message,
            attempts: 1,
            raw,
        };
        let line: OutputLine<'_> = serde_json::from_slice(bytes).map_err(|e| {
            failed(
                format!(
                    "the batch's line for it is not in the Batch API's shape: {}",
                    super::json_message(&e)
                ),
                Some(self.secrets.excerpt(&String::from_utf8_lossy(bytes))),
            )
        })?;
        let status = line.response.as_ref().and_then(|r| r.status_code);
        let body = line
            .response
            .as_ref()
            .and_then(|r| r.body)
            .filter(|b| b.get() != "null");
        let body_excerpt = body.map(|b| self.secrets.excerpt(b.get()));
        if let Some(error) = line.error.filter(|e| e.get() != "null") {
            let status = status
                .filter(|s| !(200..300).contains(s))
                .map(|s| format!(" (HTTP {s})"))
                .unwrap_or_default();
            return Err(failed(
                format!(
                    "the batch did not answer it{status}: {}",
                    describe_error(error.get())
                ),
                body_excerpt,
            ));
        }
        let Some(response) = &line.response else {
            return Err(failed(
                "the batch's line for it has neither a response nor an error".into(),
                None,
            ));
        };
        let status = response.status_code.unwrap_or(200);
        if !(200..300).contains(&status) {
            let reason = u16::try_from(status).map_or("", reason);
            return Err(failed(format!("HTTP {status}{reason}"), body_excerpt));
        }
        let Some(body) = body else {
            return Err(failed(
                "the batch's response to it has no body".into(),
                None,
            ));
        };
        self.chat
            .read(body.get().as_bytes(), request, 1, &self.secrets)
    }
}

/// What an error of a batch line says: OpenAI's `{"code": …, "message": …}`, vLLM's message
/// or its `{"error": {"message": …, "code": …}}`.
fn describe_error(raw: &str) -> String {
    let value: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let inner = value.get("error").filter(|e| e.is_object());
    let message = text(value.get("message")).or_else(|| text(inner?.get("message")));
    let code = text(value.get("code")).or_else(|| text(inner?.get("code")));
    match (&value, code, message) {
        (Value::String(s), _, _) if !s.trim().is_empty() => s.trim().to_string(),
        (_, Some(code), Some(message)) => format!("{code}: {message}"),
        (_, None, Some(message)) => message,
        (_, Some(code), None) => code,
        _ => Secrets::default().excerpt(raw),
    }
}

impl Adapter for Answers {
    fn fingerprint(&self) -> String {
        self.chat.fingerprint(&self.base_url)
    }

    fn model(&self) -> Option<String> {
        Some(self.chat.model.clone())
    }

    fn parameters(&self) -> Value {
        self.chat.parameters(&self.base_url)
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        if request.options.is_empty() {
            return Err(AdapterError::no_options());
        }
        let steer = request
            .steer
            .and_then(|s| self.steers.iter().position(|id| id == s))
            .map_or(0, |p| p + 1);
        let body = self.chat.body(request);
        let id = custom_id(request, steer, &body);
        let place = split_custom_id(&id)
            .and_then(|(name, _)| self.expected.get(name))
            .and_then(|e| e.place);
        let Some(place) = place else {
            self.missing.fetch_add(1, Ordering::Relaxed);
            return Err(AdapterError {
                message: format!("the batch's output holds no answer to it (`{id}`)"),
                attempts: 1,
                raw: None,
            });
        };
        let answer = self
            .line_of(place, &id)
            .map_err(|message| AdapterError {
                message,
                attempts: 1,
                raw: None,
            })
            .and_then(|bytes| self.answer(&bytes, request));
        let counter = if answer.is_ok() {
            &self.read
        } else {
            &self.failed
        };
        counter.fetch_add(1, Ordering::Relaxed);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_the_engine_said() {
        assert_eq!(
            describe_error(
                r#"{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}"#
            ),
            "batch_expired: This request could not be executed before the completion window expired."
        );
        assert_eq!(
            describe_error(r#""Request must not be sent in stream mode""#),
            "Request must not be sent in stream mode"
        );
        assert_eq!(
            describe_error(
                r#"{"error":{"message":"max_tokens is too large","type":"BadRequestError","param":null,"code":400}}"#
            ),
            "400: max_tokens is too large"
        );
        assert_eq!(
            describe_error(
                r#"{"object":"error","message":"The model does not exist.","type":"NotFoundError","code":404}"#
            ),
            "404: The model does not exist."
        );
        assert_eq!(
            describe_error(r#"{"code":"request_timeout"}"#),
            "request_timeout"
        );
        assert_eq!(describe_error(r#"[1,2]"#), "[1,2]");
    }

    fn answers() -> Answers {
        Answers {
            chat: ChatSettings::new("m"),
            base_url: "http://127.0.0.1:8080/v1".into(),
            steers: vec![],
            names: vec![],
            files: vec![],
            expected: HashMap::new(),
            secrets: Secrets::default(),
            read: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            missing: AtomicU64::new(0),
        }
    }

    #[test]
    fn lines_become_decisions_or_errors() {
        let a = answers();
        let options = crate::eval::test_options(&["stay", "go"]);
        let request = Request::new("s1", "Which?", &options);
        let ok = br#"{"id":"batch_req_1","custom_id":"x","response":{"status_code":200,"request_id":"r","body":{"choices":[{"index":0,"message":{"role":"assistant","content":"B"},"finish_reason":"stop"}],"usage":{"prompt_tokens":9,"completion_tokens":1}}},"error":null}"#;
        let d = a.answer(ok, &request).expect("a decision");
        assert_eq!(d.answer, Some(crate::eval::Answer::Option(1)));
        assert_eq!(
            (d.prompt_tokens, d.completion_tokens, d.attempts),
            (Some(9), Some(1), 1)
        );
        let status = br#"{"id":"b","custom_id":"x","response":{"status_code":429,"request_id":"r","body":{"error":{"message":"slow down"}}},"error":null}"#;
        let e = a.answer(status, &request).unwrap_err();
        assert_eq!(e.message, "HTTP 429 (too many requests)");
        assert_eq!(
            e.raw.as_deref(),
            Some(r#"{"error":{"message":"slow down"}}"#)
        );
        let vllm = br#"{"id":"vllm-1","custom_id":"x","response":{"status_code":400,"request_id":"vllm-batch-1","body":null},"error":"bad things"}"#;
        let e = a.answer(vllm, &request).unwrap_err();
        assert_eq!(
            e.message,
            "the batch did not answer it (HTTP 400): bad things"
        );
        let neither = br#"{"id":"b","custom_id":"x","response":null,"error":null}"#;
        assert!(
            a.answer(neither, &request)
                .unwrap_err()
                .message
                .contains("neither")
        );
        let no_body = br#"{"id":"b","custom_id":"x","response":{"status_code":200,"request_id":"r"},"error":null}"#;
        assert!(
            a.answer(no_body, &request)
                .unwrap_err()
                .message
                .contains("no body")
        );
        let not_chat = br#"{"id":"b","custom_id":"x","response":{"status_code":200,"request_id":"r","body":{"data":[]}},"error":null}"#;
        assert_eq!(
            a.answer(not_chat, &request).unwrap_err().message,
            "the server's answer has no choices"
        );
        let torn = br#"{"id":"b","custom_id":"x","response":{"status_co"#;
        assert!(
            a.answer(torn, &request)
                .unwrap_err()
                .message
                .contains("not in the Batch API's shape")
        );
    }

    #[test]
    fn a_line_changed_since_it_was_indexed_is_an_error() {
        let path =
            std::env::temp_dir().join(format!("quandary-batch-test-{}.jsonl", std::process::id()));
        let line = r#"{"custom_id":"0-s1-0123abcd","response":null,"error":"x"}"#;
        std::fs::write(&path, format!("{line}\n")).unwrap();
        let mut a = answers();
        a.names = vec![path.display().to_string()];
        a.files = vec![Mutex::new(File::open(&path).unwrap())];
        let place = Place {
            file: 0,
            offset: 0,
            len: line.len() + 1,
            line: 1,
        };
        assert!(a.line_of(place, "0-s1-0123abcd").is_ok());
        std::fs::write(&path, line.replace("0123abcd", "0123abce") + "\n").unwrap();
        let e = a.line_of(place, "0-s1-0123abcd").unwrap_err();
        assert!(e.ends_with("changed while it was imported"), "{e}");
        std::fs::write(&path, "").unwrap();
        let e = a.line_of(place, "0-s1-0123abcd").unwrap_err();
        assert!(e.starts_with("cannot read line 1 of"), "{e}");
        let _ = std::fs::remove_file(&path);
    }
}
