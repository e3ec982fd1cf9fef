//! The floor under `eval --adapter openai` against a server that answers at once: N threads,
//! each with one keep-alive connection, POSTing the same chat request and reading each
//! answer's head and body, and nothing else — no JSON, no journal, no HTTP library. It
//! prints the requests answered per second. `scripts/measure-http.sh` runs it beside
//! `quandary` at each concurrency, so a fall-off at high concurrency can be told apart from
//! one that blocking threads on few processors would have anyway.
//!
//!     cargo run --release --example http_floor -- http://127.0.0.1:PORT/v1 THREADS REQUESTS
//!
//! Only plain `http://` to an address (`127.0.0.1:PORT`), and answers with a
//! `content-length` of at most 16 MiB: it is a measuring tool for the stub in
//! `examples/chat_stub.rs`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// The largest head and body an answer may have.
const MAX_HEAD: usize = 64 << 10;
const MAX_BODY: usize = 16 << 20;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let parsed = match args.as_slice() {
        [url, threads, requests] => url
            .strip_prefix("http://")
            .and_then(|rest| rest.split('/').next())
            .and_then(|host| host.parse::<SocketAddr>().ok())
            .zip(
                threads
                    .parse::<usize>()
                    .ok()
                    .filter(|t| (1..=4096).contains(t)),
            )
            .zip(requests.parse::<usize>().ok()),
        _ => None,
    };
    let Some(((address, threads), requests)) = parsed else {
        eprintln!("usage: http_floor http://127.0.0.1:PORT/v1 THREADS(1..=4096) REQUESTS");
        std::process::exit(2);
    };
    let body = br#"{"model":"stub","messages":[{"role":"user","content":"Which do you choose? A. Report it B. Keep quiet. Answer with the letter only."}],"temperature":0.0,"max_tokens":16,"logprobs":true,"top_logprobs":20}"#;
    let mut request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {address}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(body);
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    let failed = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| scope.spawn(|| ask(address, &request, &next, requests)))
            .collect();
        workers
            .into_iter()
            .filter_map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err("a thread stopped".into()))
                    .err()
            })
            .next()
    });
    if let Some(why) = failed {
        eprintln!("http_floor: {why}");
        std::process::exit(1);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("{:.0}", requests as f64 / seconds);
}

/// Asks on one connection until `total` requests have been taken between the threads.
fn ask(
    address: SocketAddr,
    request: &[u8],
    next: &AtomicUsize,
    total: usize,
) -> Result<(), String> {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(5))
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let mut buffer = vec![0u8; 16 << 10];
    let mut held = 0;
    while next.fetch_add(1, Ordering::Relaxed) < total {
        stream
            .write_all(request)
            .map_err(|e| format!("sending: {e}"))?;
        // Read until the head and the body it announces are in; what follows is kept.
        let mut need: Option<usize> = None;
        loop {
            if need.is_none()
                && let Some(end) = memchr::memmem::find(&buffer[..held], b"\r\n\r\n")
            {
                let head = String::from_utf8_lossy(&buffer[..end]).to_ascii_lowercase();
                let length = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .filter(|&n| n <= MAX_BODY)
                    .ok_or("an answer without a content-length of at most 16 MiB")?;
                need = Some(end + 4 + length);
            }
            if let Some(n) = need
                && held >= n
            {
                buffer.copy_within(n..held, 0);
                held -= n;
                break;
            }
            if need.is_none() && held >= MAX_HEAD {
                return Err("an answer's head is over 64 KiB".into());
            }
            if held == buffer.len() {
                buffer.resize(buffer.len() * 2, 0);
            }
            match stream.read(&mut buffer[held..]) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => held += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("reading: {e}")),
            }
        }
    }
    Ok(())
}
