//! A Batch API on 127.0.0.1 (an ephemeral port), as OpenAI's works: `POST /v1/files`
//! (multipart, purpose `batch`), `POST /v1/batches`, `GET /v1/batches/{id}` and
//! `GET /v1/files/{id}/content`. A batch runs each line of its file by POSTing the line's
//! body to an upstream chat-completions API (a scripted stub or the real small model), and
//! moves one status a look: `validating`, `in_progress`, `finalizing`, then `completed` (or
//! what its [`Fault`] says).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// How a batch goes wrong.
#[derive(Clone, Debug, Default)]
pub enum Fault {
    /// It does not.
    #[default]
    None,
    /// It fails as a whole: the input is refused, with this message for line 1.
    Failed(String),
    /// It expires with only the first N lines answered.
    ExpiresAfter(usize),
    /// Requests without this bearer key are refused with a 401.
    Key(String),
}

/// A request as the API saw it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
}

#[derive(Default)]
struct State {
    files: BTreeMap<String, Vec<u8>>,
    batches: BTreeMap<String, Value>,
    calls: Vec<Call>,
}

/// A running Batch API; stops accepting when dropped.
pub struct BatchApi {
    /// The API's base URL: `http://127.0.0.1:PORT/v1`.
    pub url: String,
    port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl BatchApi {
    /// Starts an API whose batches ask `upstream` (a base URL up to `/v1`).
    pub fn start(upstream: String, fault: Fault) -> BatchApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local address").port();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (shared, stopping) = (Arc::clone(&state), Arc::clone(&stop));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (state, upstream, fault) =
                    (Arc::clone(&shared), upstream.clone(), fault.clone());
                std::thread::spawn(move || serve(stream, &state, &upstream, &fault));
            }
        });
        BatchApi {
            url: format!("http://127.0.0.1:{port}/v1"),
            port,
            state,
            stop,
        }
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// How many requests so far were `method path-prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        self.calls()
            .iter()
            .filter(|c| c.method == method && c.path.starts_with(prefix))
            .count()
    }

    /// The files uploaded so far, by id.
    pub fn files(&self) -> BTreeMap<String, Vec<u8>> {
        self.state.lock().unwrap().files.clone()
    }
}

impl Drop for BatchApi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Answers one request, then closes the connection.
fn serve(stream: TcpStream, state: &Mutex<State>, upstream: &str, fault: &Fault) {
    let mut writer = match stream.try_clone() {
        Ok(w) => w,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let (mut length, mut authorization, mut content_type) = (0usize, None, String::new());
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
            let value = value.trim().to_string();
            match name.to_ascii_lowercase().as_str() {
                "content-length" => length = value.parse().unwrap_or(0),
                "authorization" => authorization = Some(value),
                "content-type" => content_type = value,
                _ => {}
            }
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    state.lock().unwrap().calls.push(Call {
        method: method.clone(),
        path: path.clone(),
        authorization: authorization.clone(),
    });
    let (status, payload) = match fault {
        Fault::Key(key) if authorization.as_deref() != Some(&format!("Bearer {key}")) => (
            401,
            json!({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
                .to_string()
                .into_bytes(),
        ),
        _ => route(&method, &path, &body, &content_type, state, upstream, fault),
    };
    let head = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        if status < 300 { "OK" } else { "Stub" },
        payload.len()
    );
    let _ = writer.write_all(head.as_bytes());
    let _ = writer.write_all(&payload);
}

fn route(
    method: &str,
    path: &str,
    body: &[u8],
    content_type: &str,
    state: &Mutex<State>,
    upstream: &str,
    fault: &Fault,
) -> (u16, Vec<u8>) {
    let not_found = || (404, br#"{"error":{"message":"not found"}}"#.to_vec());
    match (method, path) {
        ("POST", "/v1/files") => {
            let Some(boundary) = content_type.split("boundary=").nth(1) else {
                return (400, br#"{"error":{"message":"not multipart"}}"#.to_vec());
            };
            let (purpose, file) = multipart(body, boundary);
            if purpose.as_deref() != Some("batch") {
                return (
                    400,
                    br#"{"error":{"message":"purpose must be batch"}}"#.to_vec(),
                );
            }
            let Some(file) = file else {
                return (400, br#"{"error":{"message":"no file"}}"#.to_vec());
            };
            let mut s = state.lock().unwrap();
            let id = format!("file-{}", s.files.len() + 1);
            let bytes = file.len();
            s.files.insert(id.clone(), file);
            (
                200,
                json!({"id": id, "object": "file", "bytes": bytes, "purpose": "batch"})
                    .to_string()
                    .into_bytes(),
            )
        }
        ("POST", "/v1/batches") => {
            let request: Value = serde_json::from_slice(body).unwrap_or_default();
            let file = request["input_file_id"].as_str().unwrap_or_default();
            let mut s = state.lock().unwrap();
            if !s.files.contains_key(file)
                || request["endpoint"] != "/v1/chat/completions"
                || request["completion_window"] != "24h"
            {
                return (400, br#"{"error":{"message":"bad batch"}}"#.to_vec());
            }
            let id = format!("batch_{}", s.batches.len() + 1);
            let total = s.files[file].iter().filter(|b| **b == b'\n').count();
            let batch = json!({
                "id": id, "object": "batch", "endpoint": "/v1/chat/completions",
                "input_file_id": file, "completion_window": "24h", "status": "validating",
                "output_file_id": null, "error_file_id": null,
                "request_counts": {"total": total, "completed": 0, "failed": 0}
            });
            s.batches.insert(id, batch.clone());
            (200, batch.to_string().into_bytes())
        }
        ("GET", p) if p.starts_with("/v1/batches/") => {
            let id = &p["/v1/batches/".len()..];
            let Some(mut batch) = state.lock().unwrap().batches.get(id).cloned() else {
                return not_found();
            };
            let status = batch["status"].as_str().unwrap_or_default().to_string();
            match status.as_str() {
                "validating" => batch["status"] = "in_progress".into(),
                "in_progress" => batch["status"] = "finalizing".into(),
                "finalizing" => finish(&mut batch, state, upstream, fault),
                _ => {}
            }
            state
                .lock()
                .unwrap()
                .batches
                .insert(id.to_string(), batch.clone());
            (200, batch.to_string().into_bytes())
        }
        ("GET", p) if p.starts_with("/v1/files/") && p.ends_with("/content") => {
            let id = &p["/v1/files/".len()..p.len() - "/content".len()];
            match state.lock().unwrap().files.get(id) {
                Some(bytes) => (200, bytes.clone()),
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}

/// Runs a batch's lines against the upstream API and ends it as its fault says.
fn finish(batch: &mut Value, state: &Mutex<State>, upstream: &str, fault: &Fault) {
    let input = batch["input_file_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let text = String::from_utf8(state.lock().unwrap().files[&input].clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a batch line"))
        .collect();
    if let Fault::Failed(message) = fault {
        batch["status"] = "failed".into();
        batch["errors"] = json!({"object": "list", "data": [
            {"code": "invalid_request", "message": message, "param": "body.model", "line": 1}
        ]});
        return;
    }
    let answered = match fault {
        Fault::ExpiresAfter(n) => *n,
        _ => lines.len(),
    };
    let mut output = String::new();
    let mut errors = String::new();
    for (n, line) in lines.iter().enumerate() {
        let id = &line["custom_id"];
        if n >= answered {
            errors.push_str(&format!(
                "{}\n",
                json!({"id": format!("batch_req_{n}"), "custom_id": id, "response": null,
                       "error": {"code": "batch_expired", "message": "This request could not be executed before the completion window expired."}})
            ));
            continue;
        }
        let answer = ureq::post(format!("{upstream}/chat/completions"))
            .header("content-type", "application/json")
            .send(line["body"].to_string().as_bytes())
            .expect("the upstream answers")
            .body_mut()
            .read_to_string()
            .expect("a body");
        let body: Value = serde_json::from_str(&answer).expect("a chat completion");
        output.push_str(&format!(
            "{}\n",
            json!({"id": format!("batch_req_{n}"), "custom_id": id,
                   "response": {"status_code": 200, "request_id": format!("req_{n}"), "body": body},
                   "error": null})
        ));
    }
    let mut s = state.lock().unwrap();
    let mut store = |bytes: String| {
        let id = format!("file-{}", s.files.len() + 1);
        s.files.insert(id.clone(), bytes.into_bytes());
        id
    };
    let out = (!output.is_empty()).then(|| store(output));
    let err = (!errors.is_empty()).then(|| store(errors));
    batch["status"] = if answered < lines.len() {
        "expired"
    } else {
        "completed"
    }
    .into();
    batch["output_file_id"] = out.into();
    batch["error_file_id"] = err.into();
    batch["request_counts"] = json!({
        "total": lines.len(), "completed": answered, "failed": lines.len() - answered
    });
}

/// The `purpose` field and the `file` part of a multipart body.
fn multipart(body: &[u8], boundary: &str) -> (Option<String>, Option<Vec<u8>>) {
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut purpose = None;
    let mut file = None;
    let positions: Vec<usize> = find_all(text, delimiter.as_bytes());
    for pair in positions.windows(2) {
        let part = &text[pair[0] + delimiter.len()..pair[1]];
        let Some(split) = find_all(part, b"\r\n\r\n").first().copied() else {
            continue;
        };
        let headers = String::from_utf8_lossy(&part[..split]).to_ascii_lowercase();
        let mut content = &part[split + 4..];
        if content.ends_with(b"\r\n") {
            content = &content[..content.len() - 2];
        }
        if headers.contains("name=\"purpose\"") {
            purpose = Some(String::from_utf8_lossy(content).into_owned());
        } else if headers.contains("name=\"file\"") {
            file = Some(content.to_vec());
        }
    }
    (purpose, file)
}

fn find_all(haystack: &[u8], needle: &[u8]) -> Vec<usize> {
    (0..haystack.len().saturating_sub(needle.len() - 1))
        .filter(|&i| haystack[i..].starts_with(needle))
        .collect()
}
