//! The language server: the Language Server Protocol over a byte stream (standard input and
//! output for `quandary lsp`), answering from the same loading, checking and formatting as
//! the command line.
//!
//! The message loop never waits for an analysis: documents are loaded on a worker thread,
//! a result superseded by a newer edit is dropped, and requests are answered from the
//! latest analysis of each open document.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::io::{self, BufRead, Read, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::notification::Notification as _;
use lsp_types::request::Request as _;
use lsp_types::{notification as note, request as req};
use serde_json::Value as Json;

use crate::input;

mod analysis;
mod features;
mod text;

use analysis::{Analysis, Overlay, key};
use text::{Lines, path_to_uri, uri_to_path};

/// The largest message read: a source file of the largest size `check` reads, escaped as
/// JSON, with room to spare. A larger one is skipped with an error response.
const MAX_MESSAGE: usize = 2 * input::MAX_SOURCE as usize + (1 << 20);
/// The longest header line read.
const MAX_HEADER: u64 = 4096;
/// Threads analysing documents: a large framework being loaded does not hold up the
/// diagnostics of a small file.
const WORKERS: usize = 2;
/// How long edits are let settle before their documents are analysed again.
const DEBOUNCE: Duration = Duration::from_millis(20);

/// A request answered once every edit received before it has been analysed and its
/// diagnostics published: for scripted clients and tests, which must not guess how long an
/// analysis takes.
pub const SETTLE: &str = "quandary/settle";

/// What the writer thread writes: a message, or a raw JSON text (an error response to a
/// message too malformed to have an id).
enum Out {
    Message(Message),
    Raw(String),
}

/// Serves the protocol on `input` and `output` until the client sends `exit` or closes
/// `input`. Returns whether the client asked for a shutdown first (the exit status the
/// protocol asks for).
pub fn serve<R, W>(input: R, output: W) -> io::Result<bool>
where
    R: BufRead + Send + 'static,
    W: Write + Send + 'static,
{
    let (out_tx, out_rx) = crossbeam_channel::unbounded::<Out>();
    let (in_tx, in_rx) = crossbeam_channel::bounded::<Message>(64);
    let writer = std::thread::Builder::new()
        .name("lsp-writer".into())
        .spawn(move || write_loop(output, out_rx))?;
    let reader_out = out_tx.clone();
    std::thread::Builder::new()
        .name("lsp-reader".into())
        .spawn(move || read_loop(input, in_tx, reader_out))?;
    let (job_tx, job_rx) = crossbeam_channel::unbounded::<Job>();
    let (done_tx, done_rx) = crossbeam_channel::unbounded::<Done>();
    for i in 0..WORKERS {
        let (jobs, done) = (job_rx.clone(), done_tx.clone());
        std::thread::Builder::new()
            .name(format!("lsp-analysis-{i}"))
            .spawn(move || analysis_loop(jobs, done))?;
    }
    drop((job_rx, done_tx));
    let mut server = Server {
        out: out_tx,
        docs: HashMap::new(),
        analyses: HashMap::new(),
        wanted: HashMap::new(),
        have: HashMap::new(),
        busy: BTreeSet::new(),
        settling: Vec::new(),
        dirty: BTreeSet::new(),
        deadline: None,
        generation: 0,
        jobs: job_tx,
        state: State::Uninitialised,
        running: Arc::new(Mutex::new(HashSet::new())),
        workspace: None,
    };
    let clean = server.run(&in_rx, &done_rx);
    drop(server);
    // The writer ends when every sender is gone: after the last response is written.
    let written = writer.join().unwrap_or(Ok(()));
    written.map(|()| clean)
}

fn write_loop<W: Write>(mut output: W, rx: Receiver<Out>) -> io::Result<()> {
    for out in rx {
        match out {
            Out::Message(m) => m.write(&mut output)?,
            Out::Raw(text) => {
                write!(output, "Content-Length: {}\r\n\r\n{text}", text.len())?;
                output.flush()?;
            }
        }
    }
    Ok(())
}

/// One frame of the stream.
enum Frame {
    Body(Vec<u8>),
    /// A message longer than [`MAX_MESSAGE`]: answered, then skipped unread.
    TooLarge(usize),
    /// A frame whose body was skipped, and why.
    Bad(String),
    End,
}

fn read_frame<R: BufRead>(input: &mut R) -> io::Result<Frame> {
    let mut length: Option<usize> = None;
    let mut bad: Option<String> = None;
    let mut headers = 0;
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = input
            .by_ref()
            .take(MAX_HEADER)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(Frame::End);
        }
        if line.last() != Some(&b'\n') {
            // A header line longer than any real one: skip the rest of it.
            bad = Some("a header line is too long".into());
            let mut rest = Vec::new();
            input
                .by_ref()
                .take(MAX_MESSAGE as u64)
                .read_until(b'\n', &mut rest)?;
            continue;
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if headers == 0 && bad.is_none() {
                // A stray blank line between frames.
                continue;
            }
            break;
        }
        headers += 1;
        match text.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                match value.trim().parse::<usize>() {
                    Ok(n) => length = Some(n),
                    Err(_) => bad = Some(format!("bad Content-Length `{}`", value.trim())),
                }
            }
            Some(_) => {}
            None => bad = Some(format!("malformed header line `{text}`")),
        }
    }
    let Some(length) = length else {
        return Ok(Frame::Bad(
            bad.unwrap_or_else(|| "a message without Content-Length".into()),
        ));
    };
    if length > MAX_MESSAGE {
        return Ok(Frame::TooLarge(length));
    }
    let mut body = Vec::with_capacity(length.min(1 << 20));
    input.by_ref().take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        return Ok(Frame::End);
    }
    match bad {
        Some(why) => Ok(Frame::Bad(why)),
        None => Ok(Frame::Body(body)),
    }
}

fn read_loop<R: BufRead>(mut input: R, tx: Sender<Message>, out: Sender<Out>) {
    while let Ok(frame) = read_frame(&mut input) {
        match frame {
            Frame::End => break,
            Frame::Bad(why) => {
                let _ = out.send(raw_error(Json::Null, ErrorCode::InvalidRequest, &why));
            }
            Frame::TooLarge(length) => {
                let why = format!(
                    "a message of {length} bytes is larger than the {MAX_MESSAGE} bytes read"
                );
                let _ = out.send(raw_error(Json::Null, ErrorCode::InvalidRequest, &why));
                // Skipped in pieces, never held.
                match io::copy(&mut input.by_ref().take(length as u64), &mut io::sink()) {
                    Ok(n) if n == length as u64 => {}
                    _ => break,
                }
            }
            Frame::Body(body) => match parse(&body) {
                Ok(message) => {
                    let exit = matches!(&message, Message::Notification(n) if n.method == note::Exit::METHOD);
                    if tx.send(message).is_err() || exit {
                        break;
                    }
                }
                Err(Some((id, code, why))) => {
                    let _ = out.send(raw_error(id, code, &why));
                }
                // A malformed notification gets no answer.
                Err(None) => {}
            },
        }
    }
}

/// A message, or what to answer instead: (id, code, message), none for a notification.
fn parse(body: &[u8]) -> Result<Message, Option<(Json, ErrorCode, String)>> {
    let json: Json = serde_json::from_slice(body).map_err(|e| {
        Some((
            Json::Null,
            ErrorCode::ParseError,
            format!("not JSON text: {e}"),
        ))
    })?;
    let id = json.get("id").cloned();
    let has_method = json.get("method").is_some_and(Json::is_string);
    let is_response = json.get("result").is_some() || json.get("error").is_some();
    let well_formed = json.is_object() && (has_method || (id.is_some() && is_response));
    let invalid = |why: String| match (&id, has_method) {
        (None, true) => None,
        _ => Some((
            id.clone().unwrap_or(Json::Null),
            ErrorCode::InvalidRequest,
            why,
        )),
    };
    if !well_formed {
        return Err(invalid(
            "not a JSON-RPC request, notification or response".into(),
        ));
    }
    serde_json::from_value::<Message>(json)
        .map_err(|e| invalid(format!("not a JSON-RPC message: {e}")))
}

fn raw_error(id: Json, code: ErrorCode, message: &str) -> Out {
    let id = match id {
        Json::Number(_) | Json::String(_) => id,
        _ => Json::Null,
    };
    Out::Raw(
        serde_json::json!({
            "jsonrpc": "2.0",
            "id": id,
            "error": {"code": code as i32, "message": message},
        })
        .to_string(),
    )
}

/// A document to analyse.
struct Job {
    root: PathBuf,
    path: PathBuf,
    version: i32,
    generation: u64,
    overlay: Arc<Overlay>,
}

/// An analysis done.
struct Done {
    generation: u64,
    analysis: Arc<Analysis>,
}

fn analysis_loop(jobs: Receiver<Job>, done: Sender<Done>) {
    for job in jobs {
        let analysis = Analysis::new(job.root, &job.path, job.version, &job.overlay);
        let finished = Done {
            generation: job.generation,
            analysis: Arc::new(analysis),
        };
        if done.send(finished).is_err() {
            return;
        }
    }
}

/// An open document.
pub(crate) struct Doc {
    pub uri: lsp_types::Uri,
    pub path: PathBuf,
    pub text: Arc<str>,
    pub version: i32,
}

#[derive(PartialEq)]
enum State {
    Uninitialised,
    Running,
    ShuttingDown,
}

pub(crate) struct Server {
    out: Sender<Out>,
    /// Open documents by key.
    pub docs: HashMap<PathBuf, Doc>,
    /// The latest analysis of each open document.
    pub analyses: HashMap<PathBuf, Arc<Analysis>>,
    /// The generation of the analysis last asked for, per document.
    wanted: HashMap<PathBuf, u64>,
    /// The generation of the analysis last published, per document.
    have: HashMap<PathBuf, u64>,
    /// Documents being analysed: at most one analysis of a document runs at a time, and
    /// edits made meanwhile wait in `dirty` (each edit supersedes the one before).
    busy: BTreeSet<PathBuf>,
    /// `quandary/settle` requests waiting for every analysis asked for to be published.
    settling: Vec<RequestId>,
    /// Documents to analyse again once edits settle.
    dirty: BTreeSet<PathBuf>,
    deadline: Option<Instant>,
    generation: u64,
    jobs: Sender<Job>,
    state: State,
    /// Requests answered off the loop (formatting) and not answered yet: whichever of the
    /// answer and a `$/cancelRequest` takes its id out first responds, so a request gets
    /// exactly one response.
    running: Arc<Mutex<HashSet<RequestId>>>,
    /// The workspace's folder (`rootUri`, else the first workspace folder, else `rootPath`),
    /// where references and renames also look for files no open document loads.
    pub workspace: Option<PathBuf>,
}

/// The workspace folder `initialize` names, if any.
fn workspace_root(params: &Json) -> Option<PathBuf> {
    let uri = params
        .get("rootUri")
        .and_then(Json::as_str)
        .or_else(|| params.get("workspaceFolders")?.get(0)?.get("uri")?.as_str());
    if let Some(uri) = uri {
        let uri: lsp_types::Uri = uri.parse().ok()?;
        return Some(uri_to_path(&uri));
    }
    params
        .get("rootPath")
        .and_then(Json::as_str)
        .map(PathBuf::from)
}

/// A request's failure.
pub(crate) struct Failure {
    code: ErrorCode,
    message: String,
}

impl Failure {
    pub(crate) fn params(message: impl Into<String>) -> Self {
        Failure {
            code: ErrorCode::InvalidParams,
            message: message.into(),
        }
    }

    pub(crate) fn failed(message: impl Into<String>) -> Self {
        Failure {
            code: ErrorCode::RequestFailed,
            message: message.into(),
        }
    }
}

impl Server {
    /// The loop: returns whether `shutdown` came before `exit`.
    fn run(&mut self, input: &Receiver<Message>, done: &Receiver<Done>) -> bool {
        loop {
            let timeout = self.deadline.map_or(Duration::from_secs(3600), |d| {
                d.saturating_duration_since(Instant::now())
            });
            select! {
                recv(input) -> message => match message {
                    Ok(Message::Request(r)) => self.request(r),
                    Ok(Message::Notification(n)) => {
                        if n.method == note::Exit::METHOD {
                            return self.state == State::ShuttingDown;
                        }
                        self.notification(n);
                    }
                    Ok(Message::Response(_)) => {}
                    Err(_) => return false,
                },
                recv(done) -> finished => {
                    if let Ok(finished) = finished {
                        self.finished(finished);
                    }
                },
                default(timeout) => {},
            }
            if self.deadline.is_some_and(|d| d <= Instant::now()) {
                self.flush();
            }
            if !self.settling.is_empty() && self.settled() {
                for id in std::mem::take(&mut self.settling) {
                    self.respond(id, Ok(Json::Null));
                }
            }
        }
    }

    /// Whether every change so far has been analysed and its diagnostics published.
    fn settled(&self) -> bool {
        self.dirty.is_empty()
            && self.deadline.is_none()
            && self
                .wanted
                .iter()
                .all(|(root, g)| self.have.get(root) == Some(g))
    }

    pub(crate) fn send(&self, message: Message) {
        let _ = self.out.send(Out::Message(message));
    }

    fn respond(&self, id: RequestId, result: Result<Json, Failure>) {
        let response = match result {
            Ok(value) => Response::new_ok(id, value),
            Err(f) => Response::new_err(id, f.code as i32, f.message),
        };
        self.send(response.into());
    }

    fn request(&mut self, r: Request) {
        match self.state {
            State::Uninitialised if r.method != req::Initialize::METHOD => {
                return self.respond(
                    r.id,
                    Err(Failure {
                        code: ErrorCode::ServerNotInitialized,
                        message: "the server is not initialised yet".into(),
                    }),
                );
            }
            State::ShuttingDown => {
                return self.respond(
                    r.id,
                    Err(Failure {
                        code: ErrorCode::InvalidRequest,
                        message: "the server is shutting down".into(),
                    }),
                );
            }
            _ => {}
        }
        let id = r.id.clone();
        let result = match r.method.as_str() {
            req::Initialize::METHOD => {
                self.state = State::Running;
                self.workspace = workspace_root(&r.params);
                Ok(features::initialize_result())
            }
            SETTLE => {
                self.settling.push(r.id);
                return;
            }
            req::Shutdown::METHOD => {
                self.state = State::ShuttingDown;
                Ok(Json::Null)
            }
            req::Formatting::METHOD => {
                // Formatting a large file takes a while: off the loop.
                match features::formatting_job(self, r.params) {
                    Ok(job) => {
                        let out = self.out.clone();
                        let running = Arc::clone(&self.running);
                        if let Ok(mut r) = running.lock() {
                            r.insert(id.clone());
                        }
                        let spawned = std::thread::Builder::new().name("lsp-format".into()).spawn(
                            move || {
                                let result = match job() {
                                    Ok(v) => Response::new_ok(id.clone(), v),
                                    Err(f) => {
                                        Response::new_err(id.clone(), f.code as i32, f.message)
                                    }
                                };
                                // Cancelled meanwhile: the cancellation has answered.
                                if running.lock().is_ok_and(|mut r| r.remove(&id)) {
                                    let _ = out.send(Out::Message(response_message(result)));
                                }
                            },
                        );
                        if let Err(e) = spawned {
                            if let Ok(mut running) = self.running.lock() {
                                running.remove(&r.id);
                            }
                            return self.respond(
                                r.id,
                                Err(Failure::failed(format!("cannot format: {e}"))),
                            );
                        }
                        return;
                    }
                    Err(f) => Err(f),
                }
            }
            method => features::handle(self, method, r.params),
        };
        self.respond(r.id, result);
    }

    fn notification(&mut self, n: Notification) {
        if self.state == State::Uninitialised {
            return;
        }
        match n.method.as_str() {
            note::DidOpenTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidOpenTextDocumentParams>(n.params)
                {
                    let path = uri_to_path(&p.text_document.uri);
                    let k = key(&path);
                    self.docs.insert(
                        k.clone(),
                        Doc {
                            uri: p.text_document.uri,
                            path,
                            text: Arc::from(p.text_document.text),
                            version: p.text_document.version,
                        },
                    );
                    self.changed(&k, Duration::ZERO);
                }
            }
            note::DidChangeTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeTextDocumentParams>(n.params)
                {
                    let k = key(&uri_to_path(&p.text_document.uri));
                    let Some(doc) = self.docs.get_mut(&k) else {
                        return;
                    };
                    let mut text = doc.text.to_string();
                    for change in p.content_changes {
                        match change.range {
                            Some(range) => {
                                let lines = Lines::new(&text, false);
                                let start = lines.offset(range.start);
                                let end = lines.offset(range.end).max(start);
                                text.replace_range(start..end, &change.text);
                            }
                            None => text = change.text,
                        }
                    }
                    doc.text = Arc::from(text);
                    doc.version = p.text_document.version;
                    self.changed(&k, DEBOUNCE);
                }
            }
            note::DidCloseTextDocument::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidCloseTextDocumentParams>(n.params)
                {
                    let k = key(&uri_to_path(&p.text_document.uri));
                    if let Some(doc) = self.docs.remove(&k) {
                        self.analyses.remove(&k);
                        self.wanted.remove(&k);
                        self.have.remove(&k);
                        self.dirty.remove(&k);
                        self.publish(&doc.uri, Vec::new(), None);
                        // Its importers read it from disk again.
                        self.changed(&k, Duration::ZERO);
                    }
                }
            }
            note::Cancel::METHOD => {
                if let Ok(p) = serde_json::from_value::<lsp_types::CancelParams>(n.params) {
                    let id: RequestId = match p.id {
                        lsp_types::NumberOrString::Number(n) => n.into(),
                        lsp_types::NumberOrString::String(s) => s.into(),
                    };
                    // Still running: answered now, its own answer dropped when it comes.
                    // Answered already (every other request is answered in turn): nothing.
                    if self.running.lock().is_ok_and(|mut r| r.remove(&id)) {
                        self.respond(
                            id,
                            Err(Failure {
                                code: ErrorCode::RequestCanceled,
                                message: "the request was cancelled".into(),
                            }),
                        );
                    }
                }
            }
            note::DidChangeWatchedFiles::METHOD => {
                if let Ok(p) =
                    serde_json::from_value::<lsp_types::DidChangeWatchedFilesParams>(n.params)
                {
                    for change in p.changes {
                        let k = key(&uri_to_path(&change.uri));
                        if !self.docs.contains_key(&k) {
                            self.changed(&k, DEBOUNCE);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The file with key `k` changed: it and every open document whose last analysis read
    /// it are analysed again after `delay`.
    fn changed(&mut self, k: &PathBuf, delay: Duration) {
        if self.docs.contains_key(k) {
            self.dirty.insert(k.clone());
        }
        for (root, analysis) in &self.analyses {
            if analysis.keys.contains(k) && self.docs.contains_key(root) {
                self.dirty.insert(root.clone());
            }
        }
        let at = Instant::now() + delay;
        self.deadline = Some(self.deadline.map_or(at, |d| d.max(at)));
    }

    /// Sends every dirty document to the worker.
    fn flush(&mut self) {
        self.deadline = None;
        if self.dirty.is_empty() {
            return;
        }
        let overlay: Arc<Overlay> = Arc::new(
            self.docs
                .iter()
                .map(|(k, d)| (k.clone(), Arc::clone(&d.text)))
                .collect(),
        );
        let mut waiting = BTreeSet::new();
        for root in std::mem::take(&mut self.dirty) {
            let Some(doc) = self.docs.get(&root) else {
                continue;
            };
            if self.busy.contains(&root) {
                waiting.insert(root);
                continue;
            }
            self.busy.insert(root.clone());
            self.generation += 1;
            self.wanted.insert(root.clone(), self.generation);
            let _ = self.jobs.send(Job {
                path: doc.path.clone(),
                version: doc.version,
                root,
                generation: self.generation,
                overlay: Arc::clone(&overlay),
            });
        }
        self.dirty = waiting;
    }

    fn finished(&mut self, done: Done) {
        let root = done.analysis.root.clone();
        self.busy.remove(&root);
        // Edits that came during this analysis: their turn now.
        if self.dirty.contains(&root) && self.deadline.is_none() {
            self.flush();
        }
        if self.wanted.get(&root) != Some(&done.generation) {
            return;
        }
        let Some(doc) = self.docs.get(&root) else {
            return;
        };
        let uri = doc.uri.clone();
        let diagnostics = features::diagnostics(&done.analysis, self);
        let version = done.analysis.version;
        self.have.insert(root.clone(), done.generation);
        self.analyses.insert(root, done.analysis);
        self.publish(&uri, diagnostics, Some(version));
    }

    fn publish(
        &self,
        uri: &lsp_types::Uri,
        diagnostics: Vec<lsp_types::Diagnostic>,
        version: Option<i32>,
    ) {
        let params = lsp_types::PublishDiagnosticsParams {
            uri: uri.clone(),
            diagnostics,
            version,
        };
        self.send(Notification::new(note::PublishDiagnostics::METHOD.into(), params).into());
    }

    /// The URI of the file with key `k` (an open document's own URI when it is open).
    pub(crate) fn uri_of(&self, k: &std::path::Path) -> Option<lsp_types::Uri> {
        match self.docs.get(k) {
            Some(doc) => Some(doc.uri.clone()),
            None => path_to_uri(k),
        }
    }
}

fn response_message(r: Response) -> Message {
    Message::Response(r)
}
