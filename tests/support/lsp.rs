//! A language-server client for tests: spawns `quandary lsp` and speaks JSON-RPC over its
//! standard input and output, as an editor does. Included with
//! `#[path = "support/lsp.rs"] mod lsp_client;`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

use serde_json::{Value, json};

/// How long any one message may take: only a guard against a server that hangs.
const PATIENCE: Duration = Duration::from_secs(120);

/// What the server sent that was not yet taken.
pub struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    messages: Receiver<Value>,
    next_id: i64,
    /// Notifications received, in order.
    pub notifications: Vec<Value>,
    /// Documents opened: path → (version, text).
    versions: std::collections::HashMap<PathBuf, (i32, String)>,
}

/// Reads one framed message.
pub fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut length = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            length = v.parse::<usize>().ok();
        }
    }
    let mut body = vec![0; length?];
    r.read_exact(&mut body).ok()?;
    serde_json::from_slice(&body).ok()
}

/// The `file:` URI of a path.
pub fn uri(path: &Path) -> String {
    let mut s = String::from("file://");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

impl Client {
    /// Starts the server in `dir` and initialises it.
    pub fn start(dir: &Path) -> Client {
        let mut client = Client::spawn(dir);
        let result = client.request(
            "initialize",
            json!({"processId": null, "rootUri": uri(dir), "capabilities": {}}),
        );
        assert!(result["result"]["capabilities"].is_object(), "{result}");
        client.notify("initialized", json!({}));
        client
    }

    /// Starts the server without initialising it.
    pub fn spawn(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quandary"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("starts quandary lsp");
        let stdin = child.stdin.take().expect("a stdin");
        let stdout = child.stdout.take().expect("a stdout");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            while let Some(m) = read_message(&mut reader) {
                if tx.send(m).is_err() {
                    break;
                }
            }
        });
        Client {
            child,
            stdin: Some(stdin),
            messages: rx,
            next_id: 0,
            notifications: Vec::new(),
            versions: Default::default(),
        }
    }

    /// Writes raw bytes to the server.
    pub fn write_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("the server's input is open");
        stdin.write_all(bytes).expect("writes to the server");
        stdin.flush().expect("flushes");
    }

    /// Closes the server's input, as an editor that goes away does.
    pub fn close_input(&mut self) {
        self.stdin = None;
    }

    pub fn send(&mut self, message: &Value) {
        let body = message.to_string();
        self.write_raw(format!("Content-Length: {}\r\n\r\n{body}", body.len()).as_bytes());
    }

    pub fn notify(&mut self, method: &str, params: Value) {
        self.send(&json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message from the server, keeping notifications aside.
    pub fn next(&mut self) -> Value {
        match self.messages.recv_timeout(PATIENCE) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => panic!("the server sent nothing for {PATIENCE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server closed its output"),
        }
    }

    /// Waits for the response with id `id`, keeping notifications.
    pub fn response(&mut self, id: &Value) -> Value {
        loop {
            let m = self.next();
            if m.get("id") == Some(id) && m.get("method").is_none() {
                return m;
            }
            if m.get("id").is_none() {
                self.notifications.push(m);
            }
        }
    }

    /// Sends a request and waits for its response (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = json!(self.next_id);
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(&id)
    }

    /// Waits until every edit sent so far is analysed and its diagnostics published.
    pub fn settle(&mut self) {
        let r = self.request("quandary/settle", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
    }

    pub fn open(&mut self, path: &Path) {
        let text = std::fs::read_to_string(path).expect("a fixture file");
        self.versions.insert(path.to_path_buf(), (1, text.clone()));
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri(path), "languageId": "quandary", "version": 1, "text": text}}),
        );
    }

    /// Replaces the whole text of an open document.
    pub fn change(&mut self, path: &Path, text: &str) {
        let entry = self.versions.get_mut(path).expect("an open document");
        entry.0 += 1;
        entry.1 = text.to_string();
        let version = entry.0;
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(path), "version": version},
                   "contentChanges": [{"text": text}]}),
        );
    }

    /// Sends one ranged edit to an open document.
    pub fn edit(&mut self, path: &Path, range: Value, text: &str) {
        let entry = self.versions.get_mut(path).expect("an open document");
        entry.0 += 1;
        let version = entry.0;
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri(path), "version": version},
                   "contentChanges": [{"range": range, "text": text}]}),
        );
    }

    pub fn text(&self, path: &Path) -> &str {
        &self.versions[path].1
    }

    pub fn version(&self, path: &Path) -> i32 {
        self.versions[path].0
    }

    /// The last diagnostics published for `path`.
    pub fn diagnostics(&self, path: &Path) -> Option<&Value> {
        let uri = uri(path);
        self.notifications
            .iter()
            .rev()
            .filter(|n| n["method"] == "textDocument/publishDiagnostics")
            .find(|n| n["params"]["uri"] == uri.as_str())
            .map(|n| &n["params"])
    }

    /// Waits for the next diagnostics published for `path`.
    pub fn wait_diagnostics(&mut self, path: &Path) -> Value {
        let uri = uri(path);
        loop {
            let m = self.next();
            if m.get("id").is_none() {
                let hit = m["method"] == "textDocument/publishDiagnostics"
                    && m["params"]["uri"] == uri.as_str();
                self.notifications.push(m.clone());
                if hit {
                    return m["params"].clone();
                }
            }
        }
    }

    /// Shuts the server down and returns its exit status.
    pub fn shutdown(mut self) -> std::process::ExitStatus {
        let r = self.request("shutdown", Value::Null);
        assert!(r.get("error").is_none(), "{r}");
        self.notify("exit", Value::Null);
        self.wait()
    }

    /// Waits (bounded) for the server to exit.
    pub fn wait(mut self) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("the server's status") {
                return status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the server did not exit");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
