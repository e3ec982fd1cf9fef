//! A chat-completions server on 127.0.0.1 that answers at once, for measuring the `openai`
//! adapter without a model: HTTP/1.1 with keep-alive, one thread a connection, every POST
//! answered with the same completion (the option `B`, with log-probabilities when the
//! request asks for them), every GET with 405 (the adapter's check that a server is there).
//! It prints `http://127.0.0.1:PORT/v1` on its first line, then serves until it has been
//! up for `--for SECONDS` (default 600), and stops.
//!
//!     cargo run --release --example chat_stub -- [--port N] [--for SECONDS]
//!
//! `scripts/measure-http.sh` runs it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The completion every POST gets, with and without log-probabilities.
fn completion(logprobs: bool) -> String {
    let top: Vec<serde_json::Value> = [(" B", 0.6f64), ("B", 0.1), (" A", 0.2), (" The", 0.1)]
        .iter()
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

/// Answers the requests of one connection until it closes.
fn serve(stream: TcpStream, plain: &[u8], with_logprobs: &[u8]) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::with_capacity(64 << 10, stream);
    let mut line = String::new();
    let mut body = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if line.trim().is_empty() {
            continue;
        }
        let get = line.starts_with("GET ");
        let mut length = 0usize;
        loop {
            line.clear();
            if reader.read_line(&mut line)? == 0 {
                return Ok(());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        body.resize(length, 0);
        reader.read_exact(&mut body)?;
        if get {
            writer.write_all(b"HTTP/1.1 405 Method Not Allowed\r\ncontent-length: 0\r\n\r\n")?;
            continue;
        }
        let logprobs = memchr::memmem::find(&body, b"\"logprobs\":true").is_some();
        writer.write_all(if logprobs { with_logprobs } else { plain })?;
    }
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
    let listener = TcpListener::bind(("127.0.0.1", port)).expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    println!("http://127.0.0.1:{port}/v1");
    let _ = std::io::stdout().flush();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(lifetime));
        std::process::exit(0);
    });
    let plain: &'static [u8] = response(&completion(false)).leak();
    let with_logprobs: &'static [u8] = response(&completion(true)).leak();
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || serve(stream, plain, with_logprobs));
    }
}
