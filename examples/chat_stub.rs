//! A chat-completions server on 127.0.0.1 that answers at once, for measuring the `openai`
//! adapter without a model: HTTP/1.1 with keep-alive, every POST answered with the same
//! completion (the option `B`, with log-probabilities when the request asks for them), every
//! GET with 405 (the adapter's check that a server is there). It prints
//! `http://127.0.0.1:PORT/v1` on its first line, then serves until it has been up for
//! `--for SECONDS` (default 600), and stops.
//!
//! Every connection is served by one thread waiting on all of them at once (epoll on Linux,
//! through mio), as servers built for many clients are: a thread a connection would put 64
//! more threads on the processors at concurrency 64, and measure the stub's scheduling
//! rather than the adapter.
//!
//!     cargo run --release --example chat_stub -- [--port N] [--for SECONDS]
//!
//! `scripts/measure-http.sh` runs it.

use std::io::{ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};

/// The completion every POST gets, with and without log-probabilities: with them, the 20
/// alternatives the adapter asks for (`top_logprobs`), as a server sends them.
fn completion(logprobs: bool) -> String {
    let words = [
        "The", "I", "Option", "Action", "My", "In", "It", "This", "We", "If", "As", "To", "Both",
        "Neither", "Answer", "Choice",
    ];
    let top: Vec<serde_json::Value> = [(" B", 0.6f64), ("B", 0.1), (" A", 0.2), (" The", 0.05)]
        .into_iter()
        .chain(words.iter().map(|w| (*w, 0.05 / 16.0)))
        .map(|(t, p)| serde_json::json!({ "token": t, "logprob": p.ln() }))
        .collect();
    let mut choice = serde_json::json!({
        "index": 0,
        "finish_reason": "stop",
        "message": { "role": "assistant", "content": "B" },
    });
    if logprobs {
        choice["logprobs"] = serde_json::json!({
            "content": [{ "token": " B", "logprob": 0.6f64.ln(), "top_logprobs": top }]
        });
    }
    serde_json::json!({
        "id": "chatcmpl-stub",
        "object": "chat.completion",
        "model": "stub",
        "choices": [choice],
        "usage": { "prompt_tokens": 42, "completion_tokens": 1, "total_tokens": 43 },
    })
    .to_string()
}

fn response(body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The longest head (request line and headers) and body a request may have; a connection
/// sending more is closed.
const MAX_HEAD: usize = 64 << 10;
const MAX_BODY: usize = 16 << 20;

/// One client's connection: what it sent that is not answered yet, and the answers not
/// yet written.
struct Connection {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    /// Whether the poll is told to wake for writing too (while answers wait to be written).
    writing: bool,
}

/// The answers to the whole requests at the start of `input` (which loses them); `None`
/// when a request is too large or not HTTP.
fn answer(
    input: &mut Vec<u8>,
    output: &mut Vec<u8>,
    plain: &[u8],
    with_logprobs: &[u8],
) -> Option<()> {
    let mut at = 0;
    loop {
        let rest = &input[at..];
        // Blank lines between requests are allowed.
        let blank = rest
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        let rest = &rest[blank..];
        let Some(end) = memchr::memmem::find(rest, b"\r\n\r\n") else {
            if rest.len() > MAX_HEAD {
                return None;
            }
            at += blank;
            break;
        };
        let head = std::str::from_utf8(&rest[..end]).ok()?;
        let mut length = 0usize;
        for header in head.split("\r\n").skip(1) {
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().ok()?;
            }
        }
        if length > MAX_BODY {
            return None;
        }
        let whole = end + 4 + length;
        if rest.len() < whole {
            at += blank;
            break;
        }
        if head.starts_with("GET ") {
            output
                .extend_from_slice(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n");
        } else {
            let body = &rest[end + 4..whole];
            let logprobs = memchr::memmem::find(body, b"\"logprobs\":true").is_some();
            output.extend_from_slice(if logprobs { with_logprobs } else { plain });
        }
        at += blank + whole;
    }
    input.drain(..at);
    Some(())
}

/// Reads what `connection` sent, answers each whole request, and writes what it can;
/// `false` when the connection is closed or broken.
fn serve(connection: &mut Connection, plain: &[u8], with_logprobs: &[u8]) -> bool {
    let mut buffer = [0u8; 16 << 10];
    loop {
        match connection.stream.read(&mut buffer) {
            Ok(0) => return false,
            Ok(n) => connection.input.extend_from_slice(&buffer[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    if answer(
        &mut connection.input,
        &mut connection.output,
        plain,
        with_logprobs,
    )
    .is_none()
    {
        return false;
    }
    while !connection.output.is_empty() {
        match connection.stream.write(&connection.output) {
            Ok(0) => return false,
            Ok(n) => {
                connection.output.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
    true
}

fn main() {
    let mut port = 0u16;
    let mut lifetime = 600u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().and_then(|v| v.parse::<u64>().ok());
        match (arg.as_str(), value) {
            ("--port", Some(v)) if v <= u64::from(u16::MAX) => port = v as u16,
            ("--for", Some(v)) => lifetime = v,
            _ => {
                eprintln!("usage: chat_stub [--port N] [--for SECONDS]");
                std::process::exit(2);
            }
        }
    }
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut listener = TcpListener::bind(address).expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    println!("http://127.0.0.1:{port}/v1");
    let _ = std::io::stdout().flush();
    let plain = response(&completion(false));
    let with_logprobs = response(&completion(true));
    let mut poll = Poll::new().expect("a poll");
    const LISTENER: Token = Token(usize::MAX);
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .expect("register the listener");
    // Connections by token; a closed one's slot is taken by the next.
    let mut connections: Vec<Option<Connection>> = Vec::new();
    let mut events = Events::with_capacity(1024);
    let stop = Instant::now() + Duration::from_secs(lifetime);
    loop {
        let left = stop.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        if let Err(e) = poll.poll(&mut events, Some(left)) {
            if e.kind() == ErrorKind::Interrupted {
                continue;
            }
            panic!("poll: {e}");
        }
        for event in events.iter() {
            if event.token() == LISTENER {
                while let Ok((mut stream, _)) = listener.accept() {
                    let _ = stream.set_nodelay(true);
                    let slot = match connections.iter().position(Option::is_none) {
                        Some(slot) => slot,
                        None => {
                            connections.push(None);
                            connections.len() - 1
                        }
                    };
                    if poll
                        .registry()
                        .register(&mut stream, Token(slot), Interest::READABLE)
                        .is_ok()
                    {
                        connections[slot] = Some(Connection {
                            stream,
                            input: Vec::new(),
                            output: Vec::new(),
                            writing: false,
                        });
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let Some(Some(connection)) = connections.get_mut(slot) else {
                continue;
            };
            let open = serve(connection, &plain, &with_logprobs);
            let writing = !connection.output.is_empty();
            if !open {
                let _ = poll.registry().deregister(&mut connection.stream);
                connections[slot] = None;
            } else if writing != connection.writing {
                let interest = if writing {
                    Interest::READABLE | Interest::WRITABLE
                } else {
                    Interest::READABLE
                };
                connection.writing = writing;
                let _ = poll
                    .registry()
                    .reregister(&mut connection.stream, event.token(), interest);
            }
        }
    }
}
