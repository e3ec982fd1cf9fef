//! `command`: a program that answers dilemmas over its standard input and output.
//!
//! The program is started once, at the first request (a run answered entirely from the
//! journal or the cache never starts it), and receives one request a line on its standard
//! input. It writes one answer a line to its standard output. Nothing else may be written to
//! standard output: logs go to standard error.
//!
//! # Requests
//!
//! ```json
//! {"id": 1, "scenario": "s0f3…", "steer": null, "system": null,
//!  "prompt": "You are a nurse. …\n\nA. Favour Care\nB. Favour Loyalty\n\nAnswer with …",
//!  "options": [{"label": "A", "action": "first", "text": "Favour Care",
//!               "upholds": ["clinic.care"], "violates": ["clinic.loyalty"]}, …]}
//! ```
//!
//! `id` counts the requests sent to this process, from 1. `steer` is the steer's id and
//! `system` the full system prompt, or `null`. `options` are in the order shown in the
//! prompt.
//!
//! # Answers
//!
//! Either a JSON object:
//!
//! ```json
//! {"id": 1, "choice": "A", "probabilities": [0.8, 0.2], "raw": "A",
//!  "tokens": {"prompt": 52, "completion": 1}}
//! ```
//!
//! - `id`: the request answered. Answers may come in any order, so the program may work on
//!   several requests at once (`eval --concurrency N` keeps up to N in flight). Without an
//!   `id`, the answer goes to the oldest request still waiting.
//! - `choice`: an option's label (`"A"`, `"Action 2"`), its action id (`"first"`), or its
//!   position among the options as a number (from 0). Another string is read like a model's
//!   answer ([`crate::eval::present::parse`]); `null` or absent with a `raw` text reads
//!   `raw` instead.
//! - `refused`: `true` when the model declined to choose.
//! - `probabilities` (optional): one number per option, in the order of `options`.
//! - `rewards` (optional): one number per option, in the order of `options`: a reward
//!   model's score of each option as the answer to the prompt, recorded as the record's
//!   `scores`. Without a `choice` (and a `raw`), the option with the highest reward is
//!   chosen (the first of equal ones).
//! - `raw` (optional): the model's answer text, recorded in the results.
//! - `tokens` (optional): `{"prompt": n, "completion": n}`.
//! - `error` (optional): a message; the request is recorded as an `error` (and asked again
//!   by `eval --retry-errors`).
//!
//! Or a bare line, read like a model's answer: a label (`B`, `(B)`, `Action 2`) or the text
//! of one option. Bare lines carry no id, so they answer requests in the order asked.
//!
//! # Failures
//!
//! A line that is neither a JSON object nor an answer naming an option fails the request it
//! answers ("the command's answer is not JSON or a label"). When the program exits or closes
//! its standard output, every request still waiting, and every later one, fails with its exit
//! status and the last line it wrote to standard error; it is not restarted within a run.
//! The failed requests are recorded as `error`, so running `eval --retry-errors` again asks
//! them again. An answer to an id no request waits for, or a line written when no request
//! waits, means the program lost track of the protocol: it is stopped and the waiting
//! requests fail.
//!
//! The program's standard error is handed line by line to a sink the embedder chooses
//! ([`Command::with_stderr`]; the command-line tool copies it to its own), and its last line
//! is kept for these messages. Lines longer than [`crate::input::MAX_LINE`] are not read
//! whole: such an answer fails the request it answers.
//!
//! # Secrets and lifetime
//!
//! The program does not inherit `OPENAI_API_KEY` or the variables named with
//! [`Command::hide_env`], and their values are hidden (`***`) in everything kept of what it
//! writes. It runs in a process group of its own. When the adapter is dropped the program's
//! standard input is closed; the program should then exit, and after five seconds its
//! process group is sent SIGTERM, and a second later SIGKILL. On Linux the program is also
//! killed when quandary ends, however it ends; [`terminate_all`] stops every program still
//! running (the command-line tool calls it when interrupted).

use std::collections::BTreeMap;
use std::io::{BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::eval::{Adapter, AdapterError, Answer, Choice, Decision, Request, present};
use crate::input;
use crate::model::AnswerMode;

/// Variables no program started by the adapter inherits.
const HIDDEN_ALWAYS: [&str; 1] = ["OPENAI_API_KEY"];

/// Where the program's standard error goes, a line at a time (without its line break).
pub type StderrSink = Arc<dyn Fn(&str) + Send + Sync>;

/// The longest excerpt of a bad answer kept in a message.
const EXCERPT: usize = 300;

/// A program answering requests over JSON lines (see the module documentation).
pub struct Command {
    argv: Vec<String>,
    shared: Arc<Shared>,
    io: Mutex<Io>,
    /// How long one answer may take; `None` waits for ever.
    timeout: Option<Duration>,
    /// Variables the program does not inherit.
    hidden: Vec<String>,
    stderr: Option<StderrSink>,
}

/// The writing side: one request line at a time.
struct Io {
    stdin: Option<ChildStdin>,
    started: bool,
    next_id: u64,
    reader: Option<JoinHandle<()>>,
    /// Dropped to end the thread that started the program (see [`spawn_kept`]).
    keeper: Option<mpsc::Sender<()>>,
}

/// What the writing side, the reader thread and the adapter's owner share.
struct Shared {
    child: Mutex<Option<Child>>,
    pending: Mutex<Pending>,
    last_stderr: Mutex<Option<String>>,
    /// Values hidden in everything kept of the program's output.
    secrets: Mutex<Vec<String>>,
}

impl Shared {
    /// `text` with every secret hidden.
    fn scrub(&self, text: &str) -> String {
        lock(&self.secrets)
            .iter()
            .fold(text.to_string(), |text, secret| super::scrub(&text, secret))
    }
}

struct Pending {
    /// Requests sent and not answered, by id.
    waiting: BTreeMap<u64, mpsc::Sender<Reply>>,
    /// Why the program can answer no more, once it cannot.
    dead: Option<String>,
    /// Requests that gave up waiting (timed out): their late answers are dropped.
    abandoned: std::collections::BTreeSet<u64>,
}

/// What the reader thread hands a waiting request.
enum Reply {
    /// A JSON object.
    Json(serde_json::Map<String, Value>),
    /// A line that is not a JSON object.
    Bare(String),
    /// A line that starts like JSON but is not.
    Garbage(String),
    /// A line longer than the longest read.
    TooLong,
    /// The program can answer no more.
    Failed(String),
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Command {
    /// A command from a command line: words separated by spaces, with `'…'`, `"…"` and `\`
    /// quoting as in a POSIX shell (no variables, globs or pipes: no shell runs). Fails on an
    /// empty line or an unclosed quote.
    pub fn new(command_line: &str) -> Result<Command, String> {
        let argv = split(command_line)?;
        if argv.is_empty() {
            return Err("the command line is empty".into());
        }
        Ok(Command::from_argv(argv))
    }

    /// Gives up on an answer after `limit` (recorded as an error, which `--retry-errors`
    /// asks again); without a limit the adapter waits for ever.
    pub fn with_timeout(mut self, limit: Option<Duration>) -> Command {
        self.timeout = limit;
        self
    }

    /// A command from a program and its arguments.
    pub fn from_argv(argv: Vec<String>) -> Command {
        Command {
            argv,
            shared: Arc::new(Shared {
                child: Mutex::new(None),
                pending: Mutex::new(Pending {
                    waiting: BTreeMap::new(),
                    dead: None,
                    abandoned: Default::default(),
                }),
                last_stderr: Mutex::new(None),
                secrets: Mutex::new(Vec::new()),
            }),
            io: Mutex::new(Io {
                stdin: None,
                started: false,
                next_id: 1,
                reader: None,
                keeper: None,
            }),
            timeout: None,
            hidden: HIDDEN_ALWAYS.iter().map(|s| s.to_string()).collect(),
            stderr: None,
        }
    }

    /// Keeps the environment variable `name` from the program, and hides its value in
    /// everything kept of what the program writes (`OPENAI_API_KEY` always is).
    pub fn hide_env(mut self, name: &str) -> Command {
        if !self.hidden.iter().any(|h| h == name) {
            self.hidden.push(name.to_string());
        }
        self
    }

    /// Hands the program's standard error to `sink`, a line at a time (secrets hidden);
    /// without a sink only its last line is kept, for messages.
    pub fn with_stderr(mut self, sink: StderrSink) -> Command {
        self.stderr = Some(sink);
        self
    }

    /// The program and its arguments.
    pub fn argv(&self) -> &[String] {
        &self.argv
    }

    /// The command line, quoted where needed.
    pub fn command_line(&self) -> String {
        self.argv
            .iter()
            .map(|w| quote(w))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Checks that the program exists (a path, or a name found on `PATH`) without starting
    /// it, so a mistyped command is reported before a run records anything.
    pub fn check(&self) -> Result<(), String> {
        let program = &self.argv[0];
        let path = Path::new(program);
        if path.components().count() > 1 {
            return if path.is_file() {
                Ok(())
            } else {
                Err(format!("there is no program `{program}`"))
            };
        }
        let found = std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|dir| {
                let candidate = dir.join(program);
                candidate.is_file()
                    || (cfg!(windows)
                        && ["exe", "cmd", "bat", "com"]
                            .iter()
                            .any(|ext| candidate.with_extension(ext).is_file()))
            })
        });
        if found {
            Ok(())
        } else {
            Err(format!("there is no program `{program}` on the PATH"))
        }
    }

    /// Starts the program; on failure, marks the adapter dead with the reason.
    fn start(&self, io: &mut Io) {
        io.started = true;
        *lock(&self.shared.secrets) = self
            .hidden
            .iter()
            .filter_map(|name| std::env::var(name).ok())
            .filter(|value| value.len() >= 4)
            .collect();
        let mut command = std::process::Command::new(&self.argv[0]);
        command
            .args(&self.argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for name in &self.hidden {
            command.env_remove(name);
        }
        let spawned = spawn_kept(command).map(|(child, keeper)| {
            io.keeper = Some(keeper);
            child
        });
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => {
                lock(&self.shared.pending).dead = Some(format!(
                    "cannot start `{}`: {}",
                    self.argv[0],
                    e.to_string().to_lowercase()
                ));
                return;
            }
        };
        io.stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        *lock(&self.shared.child) = Some(child);
        let echo = stderr.map(|stderr| {
            let shared = Arc::clone(&self.shared);
            let sink = self.stderr.clone();
            std::thread::spawn(move || pass_stderr(stderr, &shared, sink))
        });
        let shared = Arc::clone(&self.shared);
        io.reader = stdout.map(|stdout| std::thread::spawn(move || read(stdout, &shared, echo)));
    }

    /// Fails a request (and the adapter) with why the program can answer no more.
    fn dead_error(message: String) -> AdapterError {
        AdapterError {
            message,
            attempts: 1,
            raw: None,
        }
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command").field("argv", &self.argv).finish()
    }
}

impl Adapter for Command {
    fn fingerprint(&self) -> String {
        format!("command/{}", self.command_line())
    }

    fn parameters(&self) -> Value {
        serde_json::json!({ "command": self.argv })
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        let (tx, rx) = mpsc::channel();
        let id;
        {
            let mut io = lock(&self.io);
            if !io.started {
                self.start(&mut io);
            }
            {
                let mut pending = lock(&self.shared.pending);
                if let Some(why) = &pending.dead {
                    return Err(Command::dead_error(why.clone()));
                }
                id = io.next_id;
                io.next_id += 1;
                pending.waiting.insert(id, tx);
            }
            let mut line = request_line(id, request).to_string();
            line.push('\n');
            let written = match io.stdin.as_mut() {
                Some(stdin) => stdin
                    .write_all(line.as_bytes())
                    .and_then(|()| stdin.flush()),
                None => Err(std::io::Error::other("its standard input is closed")),
            };
            if let Err(e) = written {
                // Most likely the program has exited: the reader thread is about to say how.
                io.stdin = None;
                drop(io);
                return match rx.recv_timeout(Duration::from_secs(5)) {
                    Ok(reply) => interpret(reply, request.options, request.mode, request.lang),
                    Err(_) => {
                        lock(&self.shared.pending).waiting.remove(&id);
                        Err(Command::dead_error(format!(
                            "cannot write to the command: {}",
                            e.to_string().to_lowercase()
                        )))
                    }
                };
            }
        }
        let reply = match self.timeout {
            Some(limit) => rx.recv_timeout(limit).map_err(|e| match e {
                mpsc::RecvTimeoutError::Timeout => {
                    let mut pending = lock(&self.shared.pending);
                    pending.waiting.remove(&id);
                    pending.abandoned.insert(id);
                    format!(
                        "the command gave no answer within {} s",
                        limit.as_secs_f64()
                    )
                }
                mpsc::RecvTimeoutError::Disconnected => "the command stopped answering".into(),
            }),
            None => rx
                .recv()
                .map_err(|_| "the command stopped answering".to_string()),
        };
        match reply {
            Ok(reply) => interpret(reply, request.options, request.mode, request.lang),
            Err(message) => Err(Command::dead_error(message)),
        }
    }
}

impl Drop for Command {
    fn drop(&mut self) {
        let io = self.io.get_mut().unwrap_or_else(|e| e.into_inner());
        // End of input: the program's signal to finish.
        io.stdin = None;
        let reader = io.reader.take();
        let keeper = io.keeper.take();
        if let Some(child) = lock(&self.shared.child).as_mut() {
            // Five seconds to finish after the end of input, then SIGTERM to its process
            // group, and a second later SIGKILL.
            let mut deadline = Instant::now() + Duration::from_secs(5);
            let mut signals = [Signal::Term, Signal::Kill].into_iter();
            loop {
                match child.try_wait() {
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Ok(None) => match signals.next() {
                        Some(signal) => {
                            signal_group(child, signal);
                            deadline = Instant::now() + Duration::from_secs(1);
                        }
                        None => {
                            let _ = child.wait();
                            break;
                        }
                    },
                    _ => break,
                }
            }
            // What the program left behind in its group goes with it.
            signal_group(child, Signal::Kill);
            unregister(child.id());
        }
        drop(keeper);
        // The reader ends at the end of the program's output; a grandchild still holding it
        // open would keep it reading, so it is not waited for long.
        if let Some(reader) = reader {
            let deadline = Instant::now() + Duration::from_secs(1);
            while !reader.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
    }
}

/// The request line for request `id`.
fn request_line(id: u64, request: &Request<'_>) -> Value {
    let mut line = serde_json::json!({
        "id": id,
        "scenario": request.scenario,
        "steer": request.steer,
        "system": request.system,
        "prompt": request.prompt,
        "options": request.options,
    });
    if request.epoch > 0 {
        line["epoch"] = request.epoch.into();
    }
    if let Some(lang) = request.lang {
        line["lang"] = lang.into();
    }
    line
}

/// Hands the program's standard error to `sink` a line at a time, secrets hidden, keeping
/// its last non-empty line; a line too long to read whole is cut.
fn pass_stderr(stderr: impl Read, shared: &Shared, sink: Option<StderrSink>) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        match input::read_line(&mut reader, &mut buf, input::MAX_LINE) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                if input::skip_line(&mut reader).is_err() {
                    break;
                }
            }
            Err(_) => break,
        }
        let line = shared.scrub(&String::from_utf8_lossy(&buf));
        let line = line.trim_end_matches(['\n', '\r']);
        if let Some(sink) = &sink {
            sink(line);
        }
        let line = line.trim();
        if !line.is_empty() {
            *lock(&shared.last_stderr) = Some(excerpt(line));
        }
    }
}

/// The reader thread: hands every answer line to the request it answers, and when the
/// output ends, fails every request with the reason.
fn read(stdout: impl Read, shared: &Shared, echo: Option<JoinHandle<()>>) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    let ended = loop {
        let too_long = match input::read_line(&mut reader, &mut buf, input::MAX_LINE) {
            Ok(0) => break None,
            Ok(_) => false,
            Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                // The rest of the line is dropped; the answer fails the request it answers.
                match input::skip_line(&mut reader) {
                    Ok(_) => true,
                    Err(e) => break Some(e.to_string().to_lowercase()),
                }
            }
            Err(e) => break Some(e.to_string().to_lowercase()),
        };
        let line = if too_long {
            String::new()
        } else {
            shared.scrub(&String::from_utf8_lossy(&buf))
        };
        let line = line.trim();
        if line.is_empty() && !too_long {
            continue;
        }
        let (id, reply) = if too_long {
            (None, Reply::TooLong)
        } else if line.starts_with('{') {
            match serde_json::from_str::<Value>(line) {
                Ok(Value::Object(map)) => match map.get("id") {
                    None | Some(Value::Null) => (None, Reply::Json(map)),
                    Some(v) => match v.as_u64() {
                        Some(id) => (Some(id), Reply::Json(map)),
                        None => {
                            let why = format!(
                                "the command answered with an id that is not a request number: {}",
                                excerpt(line)
                            );
                            stop(shared, why);
                            return;
                        }
                    },
                },
                _ => (None, Reply::Garbage(line.to_string())),
            }
        } else {
            (None, Reply::Bare(line.to_string()))
        };
        let mut pending = lock(&shared.pending);
        // A late answer to a request that gave up waiting is dropped.
        if id.is_some_and(|id| pending.abandoned.remove(&id)) {
            continue;
        }
        let sender = match id {
            Some(id) => pending.waiting.remove(&id),
            None => pending.waiting.pop_first().map(|(_, s)| s),
        };
        match sender {
            // The request may have given up waiting; nothing to do then.
            Some(s) => {
                let _ = s.send(reply);
            }
            None => {
                drop(pending);
                let why = match id {
                    Some(id) => format!(
                        "the command answered request {id}, which no request waits for: {}",
                        excerpt(line)
                    ),
                    None => format!(
                        "the command wrote a line when no request was waiting: {}",
                        excerpt(line)
                    ),
                };
                stop(shared, why);
                return;
            }
        }
    };
    // The output has ended: find out how the program ended, and say so.
    let deadline = Instant::now() + Duration::from_secs(2);
    let status = loop {
        let status = lock(&shared.child)
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if status.is_some() || Instant::now() >= deadline {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // Let the last lines of standard error arrive.
    if let Some(echo) = echo {
        let deadline = Instant::now() + Duration::from_secs(1);
        while !echo.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
        if echo.is_finished() {
            let _ = echo.join();
        }
    }
    let mut why = match (status, ended) {
        (_, Some(e)) => format!("cannot read the command's answers: {e}"),
        (Some(status), None) => format!("the command exited with {} before answering", {
            describe(status)
        }),
        (None, None) => "the command closed its standard output before answering".to_string(),
    };
    if let Some(last) = lock(&shared.last_stderr).as_ref() {
        why.push_str("; its last stderr line: ");
        why.push_str(last);
    }
    fail_all(shared, why);
}

/// Marks the adapter dead and fails every waiting request.
fn fail_all(shared: &Shared, why: String) {
    let mut pending = lock(&shared.pending);
    for (_, s) in std::mem::take(&mut pending.waiting) {
        let _ = s.send(Reply::Failed(why.clone()));
    }
    pending.dead = Some(why);
}

/// The program broke the protocol: stop it and fail every waiting request.
fn stop(shared: &Shared, why: String) {
    fail_all(shared, why);
    if let Some(child) = lock(&shared.child).as_mut() {
        signal_group(child, Signal::Kill);
        let _ = child.kill();
    }
}

/// A signal for a program's process group.
#[derive(Clone, Copy)]
enum Signal {
    Term,
    Kill,
}

/// Sends `signal` to the process group the program leads (on Unix; elsewhere the program
/// alone is killed).
fn signal_group(child: &mut Child, signal: Signal) {
    #[cfg(unix)]
    {
        let number = match signal {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        };
        if let Ok(group) = i32::try_from(child.id()) {
            // SAFETY: `kill` has no memory effects; a negative pid names a process group,
            // and the group is the one the program was started in (its id is the program's).
            unsafe {
                libc::kill(-group, number);
            }
        }
    }
    #[cfg(not(unix))]
    if matches!(signal, Signal::Kill) {
        let _ = child.kill();
    }
}

/// The process groups of the programs running now, for [`terminate_all`].
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn unregister(id: u32) {
    lock(&RUNNING).retain(|&g| g != id);
}

/// Stops every program the `command` adapter started that is still running, with its
/// process group: SIGTERM, then after up to `grace` SIGKILL. For a process that is about to
/// end (the command-line tool calls it when interrupted); the adapters stay unusable.
pub fn terminate_all(grace: Duration) {
    let groups: Vec<u32> = lock(&RUNNING).clone();
    #[cfg(unix)]
    {
        let send = |number| {
            for &group in &groups {
                if let Ok(group) = i32::try_from(group) {
                    // SAFETY: as in `signal_group`.
                    unsafe {
                        libc::kill(-group, number);
                    }
                }
            }
        };
        send(libc::SIGTERM);
        let deadline = Instant::now() + grace;
        // SAFETY: `kill` with signal 0 only checks that the group exists.
        let alive = |g: &u32| i32::try_from(*g).is_ok_and(|g| unsafe { libc::kill(-g, 0) } == 0);
        while Instant::now() < deadline && groups.iter().any(alive) {
            std::thread::sleep(Duration::from_millis(10));
        }
        send(libc::SIGKILL);
    }
    #[cfg(not(unix))]
    let _ = (groups, grace);
}

/// Starts `command` in a process group of its own, registered in [`RUNNING`], from a thread
/// that lives until the returned sender is dropped. On Linux the program is told to die with
/// the thread that started it, so it dies with the adapter — or with quandary, however
/// quandary ends.
fn spawn_kept(mut command: std::process::Command) -> std::io::Result<(Child, mpsc::Sender<()>)> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        command.process_group(0);
        #[cfg(target_os = "linux")]
        {
            let parent = std::process::id();
            // SAFETY: between fork and exec only async-signal-safe calls are made: `prctl`
            // and `getppid`.
            unsafe {
                command.pre_exec(move || {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    // quandary may have ended before the line above took effect.
                    if libc::getppid() as u32 != parent {
                        return Err(std::io::Error::other("quandary has ended"));
                    }
                    Ok(())
                });
            }
        }
    }
    let (child_tx, child_rx) = mpsc::channel();
    let (keep_tx, keep_rx) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("quandary-command".into())
        .spawn(move || {
            // Registered while the lock is held from before the program starts: an
            // interrupt's `terminate_all` waits for it, and cannot miss a program that has
            // already started children of its own.
            let spawned = {
                let mut running = lock(&RUNNING);
                let spawned = command.spawn();
                if let Ok(child) = &spawned {
                    running.push(child.id());
                }
                spawned
            };
            let _ = child_tx.send(spawned);
            // Until the adapter lets go.
            let _ = keep_rx.recv();
        })?;
    let child = child_rx
        .recv()
        .map_err(|_| std::io::Error::other("the thread starting the program stopped"))??;
    Ok((child, keep_tx))
}

/// `status 1`, `signal 9`.
fn describe(status: std::process::ExitStatus) -> String {
    if let Some(code) = status.code() {
        return format!("status {code}");
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            return format!("signal {signal}");
        }
    }
    status.to_string()
}

/// At most [`EXCERPT`] characters of `text`.
fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

fn garbage(line: &str) -> AdapterError {
    AdapterError {
        message: "the command's answer is not JSON or a label".into(),
        attempts: 1,
        raw: Some(excerpt(line)),
    }
}

/// Turns a reply into a decision on `options`.
fn interpret(
    reply: Reply,
    options: &[Choice],
    mode: AnswerMode,
    lang: Option<&str>,
) -> Result<Decision, AdapterError> {
    match reply {
        Reply::Failed(why) => Err(Command::dead_error(why)),
        Reply::Garbage(line) => Err(garbage(&line)),
        Reply::TooLong => Err(AdapterError {
            message: format!(
                "the command's answer is longer than {}, the longest read",
                input::size(input::MAX_LINE as u64)
            ),
            attempts: 1,
            raw: None,
        }),
        Reply::Bare(line) => {
            let reading = present::read_in(&line, options, mode, lang);
            match reading.answer {
                Answer::Unparsed => Err(garbage(&line)),
                answer => Ok(Decision {
                    answer: Some(answer),
                    raw: Some(line),
                    attempts: 1,
                    rule: reading.rule.map(str::to_string),
                    reasoning: reading.reasoning,
                    ..Decision::default()
                }),
            }
        }
        Reply::Json(map) => answer(&map, options, mode, lang),
    }
}

/// Reads a JSON answer.
fn answer(
    map: &serde_json::Map<String, Value>,
    options: &[Choice],
    mode: AnswerMode,
    lang: Option<&str>,
) -> Result<Decision, AdapterError> {
    let line = || excerpt(&Value::Object(map.clone()).to_string());
    let bad = |what: String| AdapterError {
        message: format!("the command's answer {what}"),
        attempts: 1,
        raw: Some(line()),
    };
    if let Some(e) = map.get("error").filter(|e| !e.is_null()) {
        return Err(AdapterError {
            message: format!(
                "the command reported an error: {}",
                e.as_str().map_or_else(|| e.to_string(), str::to_string)
            ),
            attempts: 1,
            raw: None,
        });
    }
    let raw = match map.get("raw") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(bad("has a `raw` that is not a string".into())),
    };
    let refused = map.get("refused").and_then(Value::as_bool) == Some(true);
    let rewards = match map.get("rewards") {
        None | Some(Value::Null) => None,
        Some(Value::Array(rs)) => {
            let rs: Option<Vec<f64>> = rs
                .iter()
                .map(|r| r.as_f64().filter(|r| r.is_finite()))
                .collect();
            match rs {
                Some(rs) if rs.len() == options.len() => Some(rs),
                Some(rs) => {
                    return Err(bad(format!(
                        "has {} rewards for {} options",
                        rs.len(),
                        options.len()
                    )));
                }
                None => return Err(bad("has rewards that are not numbers".into())),
            }
        }
        Some(_) => return Err(bad("has `rewards` that are not a list".into())),
    };
    let mut read_from_raw = None;
    let choice = match map.get("choice") {
        _ if refused => Answer::Refused,
        None | Some(Value::Null) => match (&raw, &rewards) {
            (Some(raw), _) => {
                let reading = present::read_in(raw, options, mode, lang);
                let answer = reading.answer.clone();
                read_from_raw = Some(reading);
                answer
            }
            (None, Some(rewards)) => Answer::Option(crate::eval::highest(rewards)),
            (None, None) => return Err(bad("has no `choice`".into())),
        },
        Some(Value::Number(n)) => match n.as_u64() {
            Some(i) if (i as usize) < options.len() => Answer::Option(i as usize),
            _ => {
                return Err(bad(format!(
                    "chooses position {n}, but there are {} options (counted from 0)",
                    options.len()
                )));
            }
        },
        Some(Value::String(s)) => pick(s, options, lang),
        Some(_) => return Err(bad("has a `choice` that is not a string or a number".into())),
    };
    let probabilities = match map.get("probabilities") {
        None | Some(Value::Null) => None,
        Some(Value::Array(ps)) => {
            let ps: Option<Vec<f64>> = ps.iter().map(Value::as_f64).collect();
            match ps {
                Some(ps) if ps.len() == options.len() => Some(ps),
                Some(ps) => {
                    return Err(bad(format!(
                        "has {} probabilities for {} options",
                        ps.len(),
                        options.len()
                    )));
                }
                None => return Err(bad("has probabilities that are not numbers".into())),
            }
        }
        Some(_) => return Err(bad("has `probabilities` that are not a list".into())),
    };
    let tokens = map.get("tokens");
    let count = |key: &str| tokens.and_then(|t| t.get(key)).and_then(Value::as_u64);
    Ok(Decision {
        answer: Some(choice),
        probabilities,
        readings: Vec::new(),
        raw,
        prompt_tokens: count("prompt"),
        completion_tokens: count("completion"),
        attempts: map
            .get("attempts")
            .and_then(Value::as_u64)
            .map_or(1, |a| a.clamp(1, u64::from(u32::MAX)) as u32),
        rule: read_from_raw
            .as_ref()
            .and_then(|r| r.rule.map(str::to_string)),
        reasoning: match map.get("reasoning") {
            Some(Value::String(r)) => Some(r.clone()),
            _ => read_from_raw.and_then(|r| r.reasoning),
        },
        label_mass: None,
        scores: rewards.map(|rs| {
            rs.into_iter()
                .map(|r| crate::eval::Score {
                    reward: Some(r),
                    ..Default::default()
                })
                .collect()
        }),
    })
}

/// The option a `choice` string names: a label, an action id, or what the text reads as.
fn pick(choice: &str, options: &[Choice], lang: Option<&str>) -> Answer {
    let choice = choice.trim();
    if let Some(i) = options.iter().position(|o| o.label == choice) {
        return Answer::Option(i);
    }
    if let Some(i) = options.iter().position(|o| o.action == choice) {
        return Answer::Option(i);
    }
    if let Some(i) = options
        .iter()
        .position(|o| o.label.eq_ignore_ascii_case(choice))
    {
        return Answer::Option(i);
    }
    present::parse_in(choice, options, lang).0
}

/// Splits a command line into words, with POSIX-shell quoting.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("the command line has an unclosed `'`".into()),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$' | '`')) => word.push(c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("the command line has an unclosed `\"`".into()),
                        },
                        Some(c) => word.push(c),
                        None => return Err("the command line has an unclosed `\"`".into()),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some('\n') | None => {}
                    Some(c) => word.push(c),
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

/// A word as it would be typed: quoted when it holds anything special.
fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./=:,+@%^".contains(c));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Vec<Choice> {
        crate::eval::test_options(&["first", "second"])
    }

    fn json(text: &str) -> Reply {
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Reply::Json(map),
            _ => panic!("not an object: {text}"),
        }
    }

    #[test]
    fn splits_like_a_shell() {
        assert_eq!(
            split(r#"python3  -u 'my script.py' "a \"b\"" c\ d e''"#).unwrap(),
            ["python3", "-u", "my script.py", r#"a "b""#, "c d", "e"]
        );
        assert_eq!(split("  ").unwrap(), Vec::<String>::new());
        assert_eq!(split("''").unwrap(), [""]);
        assert!(split("echo 'oops").is_err());
        assert!(split("echo \"oops").is_err());
        let words = ["python3", "my script.py", "it's", ""];
        let line: Vec<String> = words.iter().map(|w| quote(w)).collect();
        assert_eq!(split(&line.join(" ")).unwrap(), words);
    }

    #[test]
    fn reads_every_kind_of_choice() {
        let o = options();
        let choice =
            |reply| interpret(reply, &o, AnswerMode::Choice, None).map(|d| d.answer.unwrap());
        assert_eq!(
            choice(json(r#"{"id":1,"choice":"B"}"#)),
            Ok(Answer::Option(1))
        );
        assert_eq!(choice(json(r#"{"choice":"b"}"#)), Ok(Answer::Option(1)));
        assert_eq!(choice(json(r#"{"choice":"first"}"#)), Ok(Answer::Option(0)));
        assert_eq!(choice(json(r#"{"choice":1}"#)), Ok(Answer::Option(1)));
        assert_eq!(
            choice(json(r#"{"choice":null,"raw":"I pick (B)"}"#)),
            Ok(Answer::Option(1))
        );
        assert_eq!(choice(json(r#"{"refused":true}"#)), Ok(Answer::Refused));
        assert_eq!(choice(json(r#"{"choice":"both"}"#)), Ok(Answer::Unparsed));
        assert_eq!(
            choice(Reply::Bare("Answer: A".into())),
            Ok(Answer::Option(0))
        );
        let err = |reply| {
            interpret(reply, &o, AnswerMode::Choice, None)
                .unwrap_err()
                .message
        };
        assert!(err(json(r#"{"choice":2}"#)).contains("2 options"));
        assert!(err(json(r#"{"id":3}"#)).contains("has no `choice`"));
        assert!(err(json(r#"{"choice":"A","probabilities":[1]}"#)).contains("1 probabilities"));
        assert!(err(json(r#"{"error":"rate limited"}"#)).contains("rate limited"));
        assert!(err(Reply::Bare("banana".into())).contains("not JSON or a label"));
        assert!(err(Reply::Garbage("{oops".into())).contains("not JSON or a label"));
    }

    #[test]
    fn keeps_the_details_of_an_answer() {
        let d = interpret(
            json(
                r#"{"id":1,"choice":"A","probabilities":[0.75,0.25],"raw":"A",
                   "tokens":{"prompt":12,"completion":1}}"#,
            ),
            &options(),
            AnswerMode::Choice,
            None,
        )
        .unwrap();
        assert_eq!(d.probabilities, Some(vec![0.75, 0.25]));
        assert_eq!(d.raw.as_deref(), Some("A"));
        assert_eq!((d.prompt_tokens, d.completion_tokens), (Some(12), Some(1)));
        assert_eq!(d.attempts, 1);
    }

    #[cfg(unix)]
    #[test]
    fn answers_through_a_shell_loop() {
        // Answers "B" to every request, one line at a time.
        let c = Command::from_argv(vec![
            "sh".into(),
            "-c".into(),
            "while read -r line; do echo B; done".into(),
        ]);
        let o = options();
        let request = Request::new("s1", "Which?", &o);
        for _ in 0..3 {
            assert_eq!(c.decide(&request).unwrap().answer, Some(Answer::Option(1)));
        }
        assert_eq!(
            c.fingerprint(),
            "command/sh -c 'while read -r line; do echo B; done'"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_program_that_exits_fails_every_request() {
        let c = Command::from_argv(vec![
            "sh".into(),
            "-c".into(),
            "read -r line; echo 'out of luck' >&2; exit 4".into(),
        ]);
        let o = options();
        let request = Request::new("s1", "Which?", &o);
        for _ in 0..2 {
            let e = c.decide(&request).unwrap_err();
            assert_eq!(
                e.message,
                "the command exited with status 4 before answering; its last stderr line: out of luck"
            );
        }
    }

    #[test]
    fn a_missing_program_is_found_out_before_it_runs() {
        let c = Command::new("surely-no-such-program-here --flag").unwrap();
        assert!(
            c.check()
                .unwrap_err()
                .contains("surely-no-such-program-here")
        );
        let o = options();
        let request = Request::new("s1", "Which?", &o);
        assert!(
            c.decide(&request)
                .unwrap_err()
                .message
                .starts_with("cannot start `surely-no-such-program-here`")
        );
    }
}
