//! A scripted OpenAI-compatible chat-completions server on 127.0.0.1 (an ephemeral port),
//! for tests and benches: HTTP/1.1 with keep-alive, one thread a connection, and a script
//! that decides each reply from the request and how often its prompt was asked before.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A request as the stub saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    /// 1-based arrival number.
    pub n: usize,
    /// How many times this prompt was asked before (0 the first time).
    pub attempt: usize,
    /// The user message.
    pub prompt: String,
    /// The system message, if any.
    pub system: Option<String>,
    /// The request's path (`/v1/chat/completions`).
    pub path: String,
    /// The whole body.
    pub body: serde_json::Value,
    /// The body's bytes, as they came.
    pub raw: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// Requests being answered when this one arrived, itself included.
    pub in_flight: usize,
}

/// A reply.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A chat completion with `text`, and (when the request asked for logprobs) one entry
    /// per `(token, top alternatives with their probabilities)`.
    Answer {
        text: String,
        tokens: Vec<(String, Vec<(String, f64)>)>,
        delay: Duration,
    },
    /// A status with a body and maybe a `Retry-After` header.
    Status {
        code: u16,
        retry_after: Option<String>,
        body: String,
        delay: Duration,
    },
    /// 200 with this body as it is (e.g. truncated JSON).
    Body(String),
    /// No answer: wait, then close the connection.
    Hang(Duration),
    /// A chat completion whose body comes a byte at a time, one every `every`: each read
    /// gets something soon, the whole answer only after `every` times its length.
    Trickle { text: String, every: Duration },
    /// A chat completion sent in one of the other shapes HTTP/1.1 allows.
    Framed { text: String, framing: Framing },
}

/// How a [`Reply::Framed`] answer is sent.
#[derive(Clone, Copy, Debug)]
pub enum Framing {
    /// `Transfer-Encoding: chunked`, in chunks of 7 bytes (with an extension), and a trailer.
    Chunked,
    /// Neither a length nor chunks: the body ends when the server closes the connection.
    UntilClose,
    /// A `100 Continue` first, then the answer.
    Continue,
    /// The answer with its length, kept alive as far as its headers say; then the server
    /// closes the connection, so the next request sent on it finds it closed.
    ThenClose,
}

impl Reply {
    /// An answer whose first token is `token` (e.g. `" B"`), with these alternatives.
    pub fn answer(text: &str, token: &str, top: &[(&str, f64)]) -> Reply {
        Reply::Answer {
            text: text.into(),
            tokens: vec![(
                token.into(),
                top.iter().map(|(t, p)| (t.to_string(), *p)).collect(),
            )],
            delay: Duration::ZERO,
        }
    }

    /// The same reply, sent after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        match self {
            Reply::Answer { text, tokens, .. } => Reply::Answer {
                text,
                tokens,
                delay,
            },
            Reply::Status {
                code,
                retry_after,
                body,
                ..
            } => Reply::Status {
                code,
                retry_after,
                body,
                delay,
            },
            other => other,
        }
    }
}

pub type Script = dyn Fn(&Seen) -> Reply + Send + Sync;

struct Shared {
    script: Box<Script>,
    log: Mutex<Vec<Seen>>,
    asked: Mutex<HashMap<String, usize>>,
    arrivals: AtomicUsize,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    stop: AtomicBool,
    keep_log: bool,
}

/// A running stub; stops accepting when dropped.
pub struct Stub {
    /// The API's base URL: `http://127.0.0.1:PORT/v1`.
    pub url: String,
    port: u16,
    shared: Arc<Shared>,
}

impl Stub {
    /// Starts a stub that answers by `script`, keeping a log of every request.
    pub fn start(script: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Stub {
        Stub::with_log(script, true)
    }

    /// Starts a stub; `keep_log: false` keeps only counts (for benches).
    pub fn with_log(
        script: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
        keep_log: bool,
    ) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let shared = Arc::new(Shared {
            script: Box::new(script),
            log: Mutex::new(Vec::new()),
            asked: Mutex::new(HashMap::new()),
            arrivals: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            stop: AtomicBool::new(false),
            keep_log,
        });
        let accepting = Arc::clone(&shared);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accepting.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = Arc::clone(&accepting);
                std::thread::spawn(move || serve(stream, &shared));
            }
        });
        Stub {
            url: format!("http://127.0.0.1:{port}/v1"),
            port,
            shared,
        }
    }

    /// Every request so far, in arrival order.
    pub fn log(&self) -> Vec<Seen> {
        let mut log = self.shared.log.lock().unwrap().clone();
        log.sort_by_key(|s| s.n);
        log
    }

    /// Requests so far.
    pub fn requests(&self) -> usize {
        self.shared.arrivals.load(Ordering::SeqCst)
    }

    /// The most requests being answered at once so far.
    pub fn max_in_flight(&self) -> usize {
        self.shared.max_in_flight.load(Ordering::SeqCst)
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        // Wake the accepting thread.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Answers the requests of one connection until it closes.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    loop {
        // The request line, waiting through idle time until the stub stops.
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) && line.is_empty() =>
            {
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                continue;
            }
            Err(_) => return,
        }
        if line.trim().is_empty() {
            continue;
        }
        let mut length = 0usize;
        let mut authorization = None;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).unwrap_or(0) == 0 {
                return;
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let value = value.trim();
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.parse().unwrap_or(0);
                } else if name.eq_ignore_ascii_case("authorization") {
                    authorization = Some(value.to_string());
                }
            }
        }
        let mut body = vec![0; length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        // A GET (the adapter's check that the server is there) is answered as a server
        // with only a POST endpoint would, without counting as a request.
        if line.starts_with("GET ") {
            let reply = "HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n";
            if writer.write_all(reply.as_bytes()).is_err() {
                return;
            }
            continue;
        }
        let in_flight = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(in_flight, Ordering::SeqCst);
        let n = shared.arrivals.fetch_add(1, Ordering::SeqCst) + 1;
        let raw = String::from_utf8_lossy(&body).into_owned();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let messages = body["messages"].as_array().cloned().unwrap_or_default();
        let text_of = |role: &str| {
            messages
                .iter()
                .find(|m| m["role"] == role)
                .and_then(|m| m["content"].as_str())
                .map(str::to_string)
        };
        let prompt = text_of("user").unwrap_or_default();
        let attempt = {
            let mut asked = shared.asked.lock().unwrap();
            let count = asked.entry(prompt.clone()).or_insert(0);
            *count += 1;
            *count - 1
        };
        let path = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        let seen = Seen {
            n,
            attempt,
            path,
            system: text_of("system"),
            prompt,
            body,
            raw,
            authorization,
            in_flight,
        };
        let reply = (shared.script)(&seen);
        let logprobs = seen.body["logprobs"] == true;
        if shared.keep_log {
            shared.log.lock().unwrap().push(seen);
        }
        let (status, retry_after, payload, delay) = match reply {
            Reply::Answer {
                text,
                tokens,
                delay,
            } => (200, None, completion(&text, &tokens, logprobs), delay),
            Reply::Status {
                code,
                retry_after,
                body,
                delay,
            } => (code, retry_after, body, delay),
            Reply::Body(body) => (200, None, body, Duration::ZERO),
            Reply::Hang(wait) => {
                std::thread::sleep(wait);
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Reply::Trickle { text, every } => {
                let payload = completion(&text, &[], false);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    payload.len()
                );
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for byte in payload.as_bytes() {
                    std::thread::sleep(every);
                    if writer.write_all(std::slice::from_ref(byte)).is_err() {
                        return;
                    }
                }
                continue;
            }
            Reply::Framed { text, framing } => {
                let payload = completion(&text, &[], logprobs);
                shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                let ok = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n";
                let answer = match framing {
                    Framing::Chunked => {
                        let mut a = format!("{ok}transfer-encoding: chunked\r\n\r\n");
                        for piece in payload.as_bytes().chunks(7) {
                            a.push_str(&format!("{:x};piece=1\r\n", piece.len()));
                            a.push_str(std::str::from_utf8(piece).unwrap_or_default());
                            a.push_str("\r\n");
                        }
                        a + "0\r\nx-trailer: done\r\n\r\n"
                    }
                    Framing::UntilClose => format!("{ok}connection: close\r\n\r\n{payload}"),
                    Framing::Continue | Framing::ThenClose => {
                        let interim = if matches!(framing, Framing::Continue) {
                            "HTTP/1.1 100 Continue\r\n\r\n"
                        } else {
                            ""
                        };
                        format!(
                            "{interim}{ok}content-length: {}\r\n\r\n{payload}",
                            payload.len()
                        )
                    }
                };
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
                if matches!(framing, Framing::UntilClose | Framing::ThenClose) {
                    let _ = writer.shutdown(Shutdown::Both);
                    return;
                }
                continue;
            }
        };
        if !delay.is_zero() {
            std::thread::sleep(delay);
        }
        let mut head = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: keep-alive\r\n",
            if status == 200 { "OK" } else { "Stub" },
            payload.len()
        );
        if let Some(r) = retry_after {
            head.push_str(&format!("retry-after: {r}\r\n"));
        }
        head.push_str("\r\n");
        head.push_str(&payload);
        // Counted out before the client can have the answer, so that its next request
        // never finds this one still counted.
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        if writer.write_all(head.as_bytes()).is_err() {
            return;
        }
    }
}

/// A chat-completion body as llama.cpp's server writes it.
fn completion(text: &str, tokens: &[(String, Vec<(String, f64)>)], logprobs: bool) -> String {
    let mut choice = serde_json::json!({
        "finish_reason": "stop",
        "index": 0,
        "message": { "role": "assistant", "content": text },
    });
    if logprobs {
        let content: Vec<serde_json::Value> = tokens
            .iter()
            .map(|(token, top)| {
                let logprob = top
                    .iter()
                    .find(|(t, _)| t == token)
                    .map_or(-10.0, |(_, p)| p.ln());
                serde_json::json!({
                    "id": 1,
                    "token": token,
                    "bytes": token.as_bytes(),
                    "logprob": logprob,
                    "top_logprobs": top
                        .iter()
                        .map(|(t, p)| serde_json::json!({
                            "id": 1, "token": t, "bytes": t.as_bytes(), "logprob": p.ln()
                        }))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        choice["logprobs"] = serde_json::json!({ "content": content });
    }
    serde_json::json!({
        "choices": [choice],
        "created": 1,
        "model": "stub",
        "object": "chat.completion",
        "usage": { "completion_tokens": 1, "prompt_tokens": 42, "total_tokens": 43 },
        "id": "chatcmpl-stub",
    })
    .to_string()
}
