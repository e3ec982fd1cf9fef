//! The language server, driven as an editor drives it: `quandary lsp` spawned, JSON-RPC on
//! its standard input and output.
//!
//! Each folder of `tests/lsp/` is a case: `.qd` files with cursor markers `⟦name⟧` (taken
//! out before the files are written) and `steps.txt`, one request a line:
//!
//! ```text
//! open FILE                     didOpen, then wait until it is analysed
//! diagnostics FILE              the last diagnostics published for FILE
//! change FILE "old" => "new"    didChange (the whole text, `old` replaced), then settle
//! hover FILE@MARK               and likewise definition, references, completion,
//!                               actions (code actions), prepare-rename
//! rename FILE@MARK NEW
//! format FILE | symbols FILE | tokens FILE
//! ```
//!
//! The transcript of the answers, with paths relative to the case, is a snapshot.

#[path = "support/lsp.rs"]
mod lsp_client;
#[path = "support/tools.rs"]
mod tools;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use lsp_client::{Client, uri};
use serde_json::{Value, json};

/// A fresh, empty directory under the test target's scratch space.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("lsp")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    dir.canonicalize().expect("a canonical scratch directory")
}

/// The line and UTF-16 column of a byte offset.
fn position(text: &str, offset: usize) -> Value {
    let before = &text[..offset];
    let line = before.matches('\n').count();
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    json!({"line": line, "character": before[start..].encode_utf16().count()})
}

/// Copies a case's files into `dir`, without their markers; returns the markers' places.
fn lay_out(case: &Path, dir: &Path, rel: &Path, marks: &mut HashMap<String, (PathBuf, Value)>) {
    for entry in std::fs::read_dir(case.join(rel)).expect("a case folder") {
        let entry = entry.expect("an entry");
        let rel = rel.join(entry.file_name());
        if entry.path().is_dir() {
            std::fs::create_dir_all(dir.join(&rel)).expect("a folder");
            lay_out(case, dir, &rel, marks);
            continue;
        }
        let mut text = std::fs::read_to_string(entry.path()).expect("a fixture");
        while let Some(open) = text.find('⟦') {
            let close = text[open..].find('⟧').expect("a closed marker") + open;
            let name = text[open + '⟦'.len_utf8()..close].to_string();
            text.replace_range(open..close + '⟧'.len_utf8(), "");
            marks.insert(name, (dir.join(&rel), position(&text, open)));
        }
        std::fs::write(dir.join(&rel), text).expect("writes a fixture");
    }
}

/// Paths and URIs relative to the case folder, for the transcript.
struct Show {
    dir: PathBuf,
}

impl Show {
    fn uri(&self, u: &Value) -> String {
        let u = u.as_str().unwrap_or("?");
        let prefix = uri(&self.dir);
        u.strip_prefix(&prefix)
            .map_or(u.to_string(), |r| r.trim_start_matches('/').to_string())
    }

    fn range(r: &Value) -> String {
        format!(
            "{}:{}-{}:{}",
            r["start"]["line"], r["start"]["character"], r["end"]["line"], r["end"]["character"]
        )
    }

    fn location(&self, l: &Value) -> String {
        format!("{} {}", self.uri(&l["uri"]), Show::range(&l["range"]))
    }

    fn diagnostics(&self, d: &Value, out: &mut String) {
        let list = d["diagnostics"].as_array().cloned().unwrap_or_default();
        let _ = writeln!(
            out,
            "  version {}, {} diagnostics",
            d["version"],
            list.len()
        );
        for x in list {
            let _ = writeln!(
                out,
                "  {} {} [{}] {}",
                Show::range(&x["range"]),
                x["code"].as_str().unwrap_or(""),
                match x["severity"].as_i64() {
                    Some(1) => "error",
                    Some(2) => "warning",
                    _ => "?",
                },
                x["message"].as_str().unwrap_or("").replace('\n', "\n    ")
            );
            for r in x["relatedInformation"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "    related {}: {}",
                    self.location(&r["location"]),
                    r["message"].as_str().unwrap_or("")
                );
            }
        }
    }
}

fn run_case(case: &Path) -> String {
    let name = case.file_name().unwrap().to_string_lossy().into_owned();
    let dir = scratch(&name);
    let mut marks = HashMap::new();
    lay_out(case, &dir, Path::new(""), &mut marks);
    let steps = std::fs::read_to_string(dir.join("steps.txt")).expect("steps.txt");
    let show = Show { dir: dir.clone() };
    let mut client = Client::start(&dir);
    let mut out = String::new();
    let at = |spec: &str| -> (PathBuf, Value) {
        let (file, mark) = spec.split_once('@').expect("FILE@MARK");
        let (path, pos) = marks
            .get(mark)
            .unwrap_or_else(|| panic!("no marker `{mark}`"));
        assert_eq!(path, &dir.join(file), "marker `{mark}` is in another file");
        (path.clone(), pos.clone())
    };
    for step in steps
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let _ = writeln!(out, "> {step}");
        let (verb, rest) = step.split_once(' ').unwrap_or((step, ""));
        let doc = |p: &Path| json!({"uri": uri(p)});
        match verb {
            "open" => {
                client.open(&dir.join(rest));
                client.settle();
            }
            "diagnostics" => {
                let path = dir.join(rest);
                let d = client
                    .diagnostics(&path)
                    .expect("diagnostics published")
                    .clone();
                assert_eq!(
                    d["version"],
                    json!(client.version(&path)),
                    "diagnostics of the latest version"
                );
                show.diagnostics(&d, &mut out);
            }
            "change" => {
                let (file, edit) = rest
                    .split_once(' ')
                    .expect("change FILE \"old\" => \"new\"");
                let (old, new) = edit.split_once(" => ").expect("\"old\" => \"new\"");
                let unquote = |s: &str| s.trim().trim_matches('"').replace("\\n", "\n");
                let path = dir.join(file);
                let text = client.text(&path).to_string();
                let old = unquote(old);
                assert!(text.contains(&old), "`{old}` is in {file}");
                let text = text.replacen(&old, &unquote(new), 1);
                client.change(&path, &text);
                client.settle();
            }
            "hover" => {
                let (path, pos) = at(rest);
                let r = client.request(
                    "textDocument/hover",
                    json!({"textDocument": doc(&path), "position": pos}),
                );
                match r["result"]["contents"]["value"].as_str() {
                    Some(text) => {
                        let _ = writeln!(out, "  range {}", Show::range(&r["result"]["range"]));
                        for line in text.lines() {
                            let _ = writeln!(out, "  | {line}");
                        }
                    }
                    None => {
                        let _ = writeln!(out, "  {}", r["result"]);
                    }
                }
            }
            "definition" | "references" => {
                let (path, pos) = at(rest);
                let mut params = json!({"textDocument": doc(&path), "position": pos});
                if verb == "references" {
                    params["context"] = json!({"includeDeclaration": true});
                }
                let r = client.request(&format!("textDocument/{verb}"), params);
                let result = &r["result"];
                let list = match result {
                    Value::Array(a) => a.clone(),
                    Value::Null => Vec::new(),
                    one => vec![one.clone()],
                };
                if list.is_empty() {
                    let _ = writeln!(out, "  none");
                }
                for l in list {
                    let _ = writeln!(out, "  {}", show.location(&l));
                }
            }
            "completion" => {
                let (path, pos) = at(rest);
                let r = client.request(
                    "textDocument/completion",
                    json!({"textDocument": doc(&path), "position": pos}),
                );
                let items = r["result"].as_array().cloned().unwrap_or_default();
                let labels: Vec<String> = items
                    .iter()
                    .map(|i| i["label"].as_str().unwrap_or("?").to_string())
                    .collect();
                let _ = writeln!(out, "  {}", labels.join(" "));
            }
            "actions" => {
                let (path, pos) = at(rest);
                let r = client.request(
                    "textDocument/codeAction",
                    json!({"textDocument": doc(&path), "range": {"start": pos, "end": pos},
                           "context": {"diagnostics": []}}),
                );
                for a in r["result"].as_array().into_iter().flatten() {
                    let _ = writeln!(
                        out,
                        "  {} ({})",
                        a["title"].as_str().unwrap_or("?"),
                        a["kind"]
                    );
                    for (u, edits) in a["edit"]["changes"].as_object().into_iter().flatten() {
                        for e in edits.as_array().into_iter().flatten() {
                            let _ = writeln!(
                                out,
                                "    {} {} → {}",
                                show.uri(&json!(u)),
                                Show::range(&e["range"]),
                                e["newText"]
                            );
                        }
                    }
                }
            }
            "prepare-rename" => {
                let (path, pos) = at(rest);
                let r = client.request(
                    "textDocument/prepareRename",
                    json!({"textDocument": doc(&path), "position": pos}),
                );
                match r["result"].is_null() {
                    true => {
                        let _ = writeln!(out, "  not renamable");
                    }
                    false => {
                        let _ = writeln!(out, "  {}", Show::range(&r["result"]));
                    }
                }
            }
            "rename" => {
                let (spec, new) = rest.split_once(' ').expect("rename FILE@MARK NEW");
                let (path, pos) = at(spec);
                let r = client.request(
                    "textDocument/rename",
                    json!({"textDocument": doc(&path), "position": pos, "newName": new}),
                );
                if let Some(e) = r.get("error") {
                    let _ = writeln!(
                        out,
                        "  error {}: {}",
                        e["code"],
                        e["message"].as_str().unwrap_or("")
                    );
                }
                let mut lines: Vec<String> = Vec::new();
                for (u, edits) in r["result"]["changes"].as_object().into_iter().flatten() {
                    for e in edits.as_array().into_iter().flatten() {
                        lines.push(format!(
                            "  {} {} → {}",
                            show.uri(&json!(u)),
                            Show::range(&e["range"]),
                            e["newText"]
                        ));
                    }
                }
                lines.sort();
                for l in lines {
                    let _ = writeln!(out, "{l}");
                }
            }
            "format" => {
                let path = dir.join(rest);
                let r = client.request(
                    "textDocument/formatting",
                    json!({"textDocument": doc(&path), "options": {"tabSize": 2, "insertSpaces": true}}),
                );
                // The edit is `fmt`'s output, over the whole document.
                let fmt = std::process::Command::new(env!("CARGO_BIN_EXE_quandary"))
                    .arg("fmt")
                    .arg(&path)
                    .output()
                    .expect("runs fmt");
                let expected = String::from_utf8(fmt.stdout).expect("UTF-8");
                let edits = r["result"].as_array().cloned().unwrap_or_default();
                let text = client.text(&path).to_string();
                let _ = writeln!(out, "  {} edit(s)", edits.len());
                let formatted = match edits.as_slice() {
                    [] => text.clone(),
                    [one] => {
                        let end = position(&text, text.len());
                        assert_eq!(
                            one["range"],
                            json!({"start": {"line": 0, "character": 0}, "end": end})
                        );
                        one["newText"].as_str().unwrap_or("").to_string()
                    }
                    more => panic!("one whole-document edit, not {}", more.len()),
                };
                assert_eq!(formatted, expected, "the edit gives what `fmt` prints");
                let _ = writeln!(
                    out,
                    "  equal to `quandary fmt` ({} lines)",
                    formatted.lines().count()
                );
            }
            "symbols" => {
                let path = dir.join(rest);
                let r = client.request(
                    "textDocument/documentSymbol",
                    json!({"textDocument": doc(&path)}),
                );
                fn walk(s: &Value, depth: usize, out: &mut String) {
                    let _ = writeln!(
                        out,
                        "  {}{} ({}) {} {}",
                        "  ".repeat(depth),
                        s["name"].as_str().unwrap_or("?"),
                        s["detail"].as_str().unwrap_or(""),
                        s["kind"],
                        Show::range(&s["selectionRange"])
                    );
                    for c in s["children"].as_array().into_iter().flatten() {
                        walk(c, depth + 1, out);
                    }
                }
                for s in r["result"].as_array().into_iter().flatten() {
                    walk(s, 0, &mut out);
                }
            }
            "tokens" => {
                let path = dir.join(rest);
                let r = client.request(
                    "textDocument/semanticTokens/full",
                    json!({"textDocument": doc(&path)}),
                );
                let data: Vec<u64> = r["result"]["data"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_u64)
                    .collect();
                let text = client.text(&path).to_string();
                let lines: Vec<&str> = text.lines().collect();
                let types = ["namespace", "value", "rule", "item", "variable", "comment"];
                let (mut line, mut col) = (0u64, 0u64);
                for t in data.chunks(5) {
                    line += t[0];
                    col = if t[0] == 0 { col + t[1] } else { t[1] };
                    let l: Vec<u16> = lines[line as usize].encode_utf16().collect();
                    let word = String::from_utf16_lossy(&l[col as usize..(col + t[2]) as usize]);
                    let _ = writeln!(
                        out,
                        "  {line}:{col} {} {word}{}",
                        types[t[3] as usize],
                        if t[4] == 1 { " (declaration)" } else { "" }
                    );
                }
            }
            other => panic!("unknown step `{other}`"),
        }
    }
    let status = client.shutdown();
    assert!(status.success(), "a clean exit after shutdown: {status}");
    out
}

#[test]
fn cases() {
    insta::glob!("lsp/*/steps.txt", |path| {
        let case = path.parent().expect("a case folder");
        let transcript = run_case(case);
        insta::assert_snapshot!(transcript);
    });
}

/// Bad input gets an error response, and the server goes on answering.
/// `$/cancelRequest`: a formatting still running is answered `RequestCancelled` (its own
/// answer dropped), one already answered is not answered again, an unknown id is ignored;
/// every request gets exactly one response either way.
#[test]
fn a_cancelled_request_gets_exactly_one_answer() {
    let dir = scratch("cancel");
    let file = dir.join("big.qd");
    let mut text = String::from("framework f {\n  levels value\n}\nvalue a {}\nvalue b {}\n");
    for n in 0..20_000 {
        text.push_str(&format!("rule   r{n}  \"Rule {n}.\"   {{ upholds a }}\n"));
    }
    std::fs::write(&file, &text).unwrap();
    let mut client = Client::start(&dir);
    client.open(&file);
    client.settle();
    let format = |id: i64| {
        json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/formatting", "params": {
            "textDocument": {"uri": uri(&file)},
            "options": {"tabSize": 2, "insertSpaces": true}
        }})
    };
    // Every response until the one to `last`, in order.
    let mut answers: Vec<Value> = Vec::new();
    let mut until = |client: &mut Client, last: i64| loop {
        let m = client.next();
        if m.get("method").is_some() {
            continue;
        }
        let done = m["id"] == json!(last);
        answers.push(m);
        if done {
            break;
        }
    };
    // Cancelled at once: answered by the cancellation or by the formatting, never both.
    client.send(&format(1001));
    client.notify("$/cancelRequest", json!({"id": 1001}));
    // Answered before it is cancelled: the cancellation changes nothing.
    client.send(&format(1002));
    until(&mut client, 1002);
    client.notify("$/cancelRequest", json!({"id": 1002}));
    // An id the server never saw, and one given as a string.
    client.notify("$/cancelRequest", json!({"id": 99_999}));
    client.notify("$/cancelRequest", json!({"id": "x"}));
    // A last request, answered after everything above.
    client
        .send(&json!({"jsonrpc": "2.0", "id": 1003, "method": "quandary/settle", "params": null}));
    until(&mut client, 1003);
    let done: Vec<&Value> = answers.iter().filter(|m| m["id"] == json!(1002)).collect();
    assert_eq!(done.len(), 1, "{answers:?}");
    assert!(done[0]["result"].is_array(), "{}", done[0]);
    answers.retain(|m| m["id"] != json!(1002) && m["id"] != json!(1003));
    // 1001 may still be formatting when 1003 is answered: wait for it if it is not there.
    if !answers.iter().any(|m| m["id"] == json!(1001)) {
        answers.push(client.response(&json!(1001)));
    }
    let first: Vec<&Value> = answers.iter().filter(|m| m["id"] == json!(1001)).collect();
    assert_eq!(first.len(), 1, "{answers:?}");
    assert!(
        first[0]["result"].is_array() || first[0]["error"]["code"] == json!(-32800),
        "{}",
        first[0]
    );
    assert!(
        answers.iter().all(|m| m["id"] == json!(1001)),
        "no other answer: {answers:?}"
    );
    // Nothing more for 1001 after a last round trip.
    let r = client.request(
        "textDocument/hover",
        json!({
            "textDocument": {"uri": uri(&file)}, "position": {"line": 0, "character": 0}
        }),
    );
    assert!(r.get("error").is_none(), "{r}");
    assert!(client.shutdown().success());
}

#[test]
fn malformed_messages_get_errors_not_crashes() {
    let dir = scratch("malformed");
    let mut client = Client::start(&dir);
    // Not JSON at all.
    client.write_raw(b"Content-Length: 9\r\n\r\n{not json");
    let r = client.next();
    assert_eq!(r["error"]["code"], json!(-32700), "{r}");
    assert_eq!(r["id"], Value::Null);
    // Not UTF-8.
    client.write_raw(b"Content-Length: 4\r\n\r\n\xff\xfe\xfd\xfc");
    let r = client.next();
    assert_eq!(r["error"]["code"], json!(-32700), "{r}");
    // JSON, but not a message: answered by its id.
    client.send(&json!({"jsonrpc": "2.0", "id": 77, "params": 3}));
    let r = client.next();
    assert_eq!(r["id"], json!(77), "{r}");
    assert_eq!(r["error"]["code"], json!(-32600));
    // A request whose parameters are wrong.
    let r = client.request("textDocument/hover", json!({"textDocument": 5}));
    assert_eq!(r["error"]["code"], json!(-32602), "{r}");
    // A method the server does not know.
    let r = client.request("textDocument/unheardOf", json!({}));
    assert_eq!(r["error"]["code"], json!(-32601), "{r}");
    // A header without a length.
    client.write_raw(b"Content-Type: x\r\n\r\n");
    let r = client.next();
    assert_eq!(r["error"]["code"], json!(-32600), "{r}");
    // Still answering.
    let r = client.request(
        "textDocument/hover",
        json!({
            "textDocument": {"uri": uri(&dir.join("none.qd"))},
            "position": {"line": 0, "character": 0}
        }),
    );
    assert_eq!(r["result"], Value::Null, "{r}");
    // A message larger than any the server reads: answered at once, then skipped without
    // being held (here the stream ends first, and so does the server).
    client.write_raw(b"Content-Length: 999999999999\r\n\r\n{");
    let r = client.next();
    assert_eq!(r["error"]["code"], json!(-32600), "{r}");
    client.close_input();
    assert!(!client.wait().success(), "no shutdown was asked for");
}

/// A file that is not UTF-8: formatting it is refused with an error; importing it gives
/// `check`'s diagnostic, on the `use` that reads it.
#[test]
fn a_file_that_is_not_utf8_gets_an_error() {
    let dir = scratch("not_utf8");
    std::fs::write(dir.join("latin1.qd"), b"value caf\xe9 \"Caf\xe9\"\n").unwrap();
    std::fs::write(dir.join("main.qd"), "use \"latin1.qd\" as l\nvalue care\n").unwrap();
    let mut client = Client::start(&dir);
    let r = client.request(
        "textDocument/formatting",
        json!({"textDocument": {"uri": uri(&dir.join("latin1.qd"))},
               "options": {"tabSize": 2, "insertSpaces": true}}),
    );
    let message = r["error"]["message"].as_str().unwrap_or("");
    assert!(message.contains("not UTF-8"), "{r}");
    client.open(&dir.join("main.qd"));
    client.settle();
    let d = client
        .diagnostics(&dir.join("main.qd"))
        .expect("diagnostics")
        .clone();
    let list = d["diagnostics"].as_array().expect("a list");
    let on_use = list
        .iter()
        .find(|x| x["code"] == "Q0002")
        .unwrap_or_else(|| panic!("Q0002 on the `use`: {d}"));
    assert_eq!(on_use["range"]["start"], json!({"line": 0, "character": 4}));
    assert!(client.shutdown().success());
}

/// Requests before `initialize` are refused; `exit` without `shutdown` is a failure.
#[test]
fn the_lifecycle_is_kept() {
    let dir = scratch("lifecycle");
    let mut client = Client::spawn(&dir);
    let r = client.request("textDocument/hover", json!({}));
    assert_eq!(r["error"]["code"], json!(-32002), "{r}");
    let r = client.request("initialize", json!({"processId": null, "capabilities": {}}));
    assert_eq!(r["result"]["serverInfo"]["name"], json!("quandary"));
    client.notify("exit", Value::Null);
    assert!(!client.wait().success());
}

/// Ranged edits are applied as the editor sends them, in UTF-16 columns.
#[test]
fn ranged_edits_are_applied() {
    let dir = scratch("ranged");
    let path = dir.join("a.qd");
    std::fs::write(&path, "value a \"国家\"\nvalue b \"𝄞\"\nconflict b <> c\n").unwrap();
    let mut client = Client::start(&dir);
    client.open(&path);
    client.settle();
    let d = client.diagnostics(&path).unwrap().clone();
    assert!(d.to_string().contains("Q0101"), "{d}");
    // The label of `b` (a character of two UTF-16 units) becomes `c`'s declaration, by a
    // ranged edit in UTF-16 columns: `value b "𝄞"` + `\nvalue c`.
    client.edit(
        &path,
        json!({"start": {"line": 1, "character": 12}, "end": {"line": 1, "character": 12}}),
        "\nvalue c",
    );
    client.settle();
    let d = client.diagnostics(&path).unwrap().clone();
    assert!(!d.to_string().contains("Q0101"), "{d}");
    assert!(client.shutdown().success());
}

/// The TextMate grammar against its annotated files (`editors/vscode/tests/*.qd`), with
/// `vscode-tmgrammar-test` as `scripts/test` installs it under `editors/vscode`.
#[test]
fn textmate_grammar() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("editors/vscode");
    let bin = dir.join("node_modules/.bin/vscode-tmgrammar-test");
    if !bin.is_file() || tools::on_path("node").is_none() {
        tools::skip(
            "textmate_grammar",
            "vscode-tmgrammar-test is not installed under editors/vscode (npm install there)",
        );
        return;
    }
    let output = std::process::Command::new(&bin)
        .current_dir(&dir)
        .args(["-g", "syntaxes/quandary.tmLanguage.json", "tests/*.qd"])
        .output()
        .expect("runs vscode-tmgrammar-test");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Both annotated files ran.
    assert_eq!(stdout.matches("run successfuly").count(), 2, "{stdout}");
}

/// Edits sent faster than they are analysed: superseded analyses are dropped, and what is
/// published last is the latest version's diagnostics; every publish is of a version sent.
#[test]
fn rapid_edits_end_with_the_latest_version() {
    let dir = scratch("rapid");
    let path = dir.join("a.qd");
    std::fs::write(&path, "value a\nvalue b\nconflict a <> b\n").unwrap();
    let mut client = Client::start(&dir);
    client.open(&path);
    for i in 0..40 {
        // Even edits name an unknown value, odd ones (the last among them) do not.
        let other = if i % 2 == 0 { "c" } else { "b" };
        client.change(&path, &format!("value a\nvalue b\nconflict a <> {other}\n"));
    }
    client.settle();
    let last = client.diagnostics(&path).expect("diagnostics").clone();
    assert_eq!(last["version"], json!(41), "{last}");
    assert_eq!(last["diagnostics"], json!([]), "{last}");
    let published: Vec<i64> = client
        .notifications
        .iter()
        .filter(|n| n["method"] == "textDocument/publishDiagnostics")
        .filter_map(|n| n["params"]["version"].as_i64())
        .collect();
    assert!(published.windows(2).all(|w| w[0] < w[1]), "{published:?}");
    assert!(client.shutdown().success());
}
