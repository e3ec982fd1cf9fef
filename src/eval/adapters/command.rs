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
//! The program's standard error is passed through to quandary's own, and its last line is
//! kept for these messages. When the adapter is dropped the program's standard input is
//! closed; the program should then exit, and is killed if it has not after five seconds.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::{Arc, Mutex, MutexGuard, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::eval::{Adapter, AdapterError, Answer, Choice, Decision, Request, present};

/// The longest excerpt of a bad answer kept in a message.
const EXCERPT: usize = 300;

/// A program answering requests over JSON lines (see the module documentation).
pub struct Command {
    argv: Vec<String>,
    shared: Arc<Shared>,
    io: Mutex<Io>,
    /// How long one answer may take; `None` waits for ever.
    timeout: Option<Duration>,
}

/// The writing side: one request line at a time.
struct Io {
    stdin: Option<ChildStdin>,
    started: bool,
    next_id: u64,
    reader: Option<JoinHandle<()>>,
}

/// What the writing side, the reader thread and the adapter's owner share.
struct Shared {
    child: Mutex<Option<Child>>,
    pending: Mutex<Pending>,
    last_stderr: Mutex<Option<String>>,
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
            }),
            io: Mutex::new(Io {
                stdin: None,
                started: false,
                next_id: 1,
                reader: None,
            }),
            timeout: None,
        }
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
        let spawned = std::process::Command::new(&self.argv[0])
            .args(&self.argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
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
            std::thread::spawn(move || pass_stderr(stderr, &shared))
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
                    Ok(reply) => interpret(reply, request.options),
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
            Ok(reply) => interpret(reply, request.options),
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
        if let Some(child) = lock(&self.shared.child).as_mut() {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
        }
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
    serde_json::json!({
        "id": id,
        "scenario": request.scenario,
        "steer": request.steer,
        "system": request.system,
        "prompt": request.prompt,
        "options": request.options,
    })
}

/// Copies the program's standard error to ours, keeping its last non-empty line.
fn pass_stderr(stderr: impl Read, shared: &Shared) {
    let mut reader = BufReader::new(stderr);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {
                let _ = std::io::stderr().lock().write_all(&buf);
                let line = String::from_utf8_lossy(&buf);
                let line = line.trim();
                if !line.is_empty() {
                    *lock(&shared.last_stderr) = Some(excerpt(line));
                }
            }
        }
    }
}

/// The reader thread: hands every answer line to the request it answers, and when the
/// output ends, fails every request with the reason.
fn read(stdout: impl Read, shared: &Shared, echo: Option<JoinHandle<()>>) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    let ended = loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => break None,
            Err(e) => break Some(e.to_string().to_lowercase()),
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let (id, reply) = if line.starts_with('{') {
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
        let _ = child.kill();
    }
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
fn interpret(reply: Reply, options: &[Choice]) -> Result<Decision, AdapterError> {
    match reply {
        Reply::Failed(why) => Err(Command::dead_error(why)),
        Reply::Garbage(line) => Err(garbage(&line)),
        Reply::Bare(line) => match present::parse(&line, options) {
            Answer::Unparsed => Err(garbage(&line)),
            answer => Ok(Decision {
                answer: Some(answer),
                raw: Some(line),
                attempts: 1,
                ..Decision::default()
            }),
        },
        Reply::Json(map) => answer(&map, options),
    }
}

/// Reads a JSON answer.
fn answer(
    map: &serde_json::Map<String, Value>,
    options: &[Choice],
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
    let choice = match map.get("choice") {
        _ if refused => Answer::Refused,
        None | Some(Value::Null) => match &raw {
            Some(raw) => present::parse(raw, options),
            None => return Err(bad("has no `choice`".into())),
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
        Some(Value::String(s)) => pick(s, options),
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
    })
}

/// The option a `choice` string names: a label, an action id, or what the text reads as.
fn pick(choice: &str, options: &[Choice]) -> Answer {
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
    present::parse(choice, options)
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
        ["first", "second"]
            .iter()
            .enumerate()
            .map(|(i, a)| Choice {
                label: ["A", "B"][i].into(),
                action: a.to_string(),
                text: format!("Do the {a} thing"),
                upholds: vec![],
                violates: vec![],
            })
            .collect()
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
        let choice = |reply| interpret(reply, &o).map(|d| d.answer.unwrap());
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
        let err = |reply| interpret(reply, &o).unwrap_err().message;
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
        let request = Request {
            scenario: "s1",
            group: "s1",
            steer: None,
            system: None,
            prompt: "Which?",
            options: &o,
        };
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
        let request = Request {
            scenario: "s1",
            group: "s1",
            steer: None,
            system: None,
            prompt: "Which?",
            options: &o,
        };
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
        let request = Request {
            scenario: "s1",
            group: "s1",
            steer: None,
            system: None,
            prompt: "Which?",
            options: &o,
        };
        assert!(
            c.decide(&request)
                .unwrap_err()
                .message
                .starts_with("cannot start `surely-no-such-program-here`")
        );
    }
}
