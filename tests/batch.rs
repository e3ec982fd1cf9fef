//! Batch inference engines through the built binary: `export --to openai-batch` writes the
//! requests `eval --adapter openai` sends, byte for byte, and `import openai-batch` reads
//! the engine's answers into the journal a live run writes.
//!
//! Against a scripted stub: the bodies `eval` sends equal the batch's; the batch's bodies
//! answered by the same stub, written in the Batch API's output shape with a line missing,
//! one in the error file and failures in OpenAI's and vLLM's shapes, import to the live
//! journal, the failures recorded as errors; `eval --retry-errors` finishes the imported
//! journal live. The published shapes (`tests/data/openai_batch/`) are read. Lines that
//! answer no request are diagnostics. `eval --batch` submits through a Batch API on
//! 127.0.0.1 (`support/batch_api.rs`), polls, resumes and records what a live run records;
//! its faults (a failed batch, an expired one, a refused key, other requests while a batch
//! is in flight) are diagnostics. With `QUANDARY_LLM_URL`, the round trip through the small
//! real model reports as the live run does, by hand and through the Batch API.

#[path = "support/batch_api.rs"]
mod batch_api;
#[path = "support/cli.rs"]
mod cli;
#[path = "support/stub.rs"]
mod stub;
#[path = "support/tools.rs"]
mod tools;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Output;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;
use stub::{Reply, Seen, Stub};

const WARD: &str = "tests/export/ward.qd";

// --------------------------------------------------------------------- helpers

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// Runs the binary in the crate's folder; it must succeed. Returns its standard error.
fn ok(args: &[&str]) -> String {
    let out = cli::in_root(args);
    let stderr = cli::stderr(&out);
    assert!(
        out.status.success(),
        "quandary {}: {stderr}",
        args.join(" ")
    );
    stderr
}

/// Runs the binary; it must fail with exit code 1 and a diagnostic, not a panic. Returns
/// its standard error.
fn fails(args: &[&str]) -> String {
    let out: Output = cli::in_root(args);
    let stderr = cli::stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(1),
        "quandary {}: {stderr}",
        args.join(" ")
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// The ward suite: 8 scenarios (4 draws and their twins), 3 options each.
fn ward(dir: &Path) -> PathBuf {
    let suite = dir.join("night.jsonl");
    ok(&["expand", WARD, "-o", s(&suite)]);
    suite
}

/// A line of a batch input file, its body as written.
#[derive(Deserialize)]
struct InputLine<'a> {
    custom_id: String,
    method: String,
    url: String,
    #[serde(borrow)]
    body: &'a RawValue,
}

/// The (custom_id, body) of every line of a batch input file, checking each line's shape.
fn batch(path: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).expect("the batch file");
    text.lines()
        .map(|l| {
            let line: InputLine<'_> = serde_json::from_str(l).expect("a batch line");
            assert_eq!(
                (line.method.as_str(), line.url.as_str()),
                ("POST", "/v1/chat/completions")
            );
            assert!(
                l.starts_with(r#"{"custom_id":""#),
                "the Batch API's field order: {l}"
            );
            (line.custom_id, line.body.get().to_string())
        })
        .collect()
}

/// POSTs `body` to `{base}/chat/completions`; the answer's body.
fn post(base: &str, body: &str) -> String {
    ureq::post(format!("{base}/chat/completions"))
        .header("content-type", "application/json")
        .send(body.as_bytes())
        .expect("the server answers")
        .body_mut()
        .read_to_string()
        .expect("a body")
}

/// A line of the Batch API's output file answering `custom_id` with the chat completion
/// `completion`.
fn answered(n: usize, custom_id: &str, completion: &str) -> String {
    format!(
        r#"{{"id":"batch_req_{n:04}","custom_id":{},"response":{{"status_code":200,"request_id":"req_{n:04}","body":{completion}}},"error":null}}"#,
        Value::from(custom_id)
    )
}

/// A results journal: its header and its records.
fn journal(path: &Path) -> (Value, Vec<Value>) {
    let mut lines = cli::json_lines(path).into_iter();
    let header = lines.next().expect("a header");
    assert_eq!(header["format"], "results");
    (header, lines.collect())
}

/// A record without what depends on the clock.
fn timeless(mut record: Value) -> Value {
    if let Some(o) = record.as_object_mut() {
        o.remove("latency_ms");
    }
    record
}

/// A report without the name of the results file it read.
fn report(results: &Path) -> Value {
    let out = cli::in_root(&["report", s(results), "--format", "json"]);
    assert!(out.status.success(), "{}", cli::stderr(&out));
    let mut report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    if let Some(o) = report.as_object_mut() {
        o.remove("results");
    }
    report
}

fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// The stub's model: its answer depends on the prompt, the system prompt and the seed (so
/// on the steer and the epoch), never on how often it was asked. Most answers are a label
/// with its alternatives; some begin otherwise, and are read from their text.
fn model(seen: &Seen) -> Reply {
    let h = fnv(&format!(
        "{}|{}|{}",
        seen.prompt,
        seen.system.clone().unwrap_or_default(),
        seen.body["seed"]
    ));
    let labels = ["A", "B", "C"];
    let pick = labels[(h % 3) as usize];
    if h.is_multiple_of(5) {
        return Reply::answer(
            &format!("I would choose {pick}."),
            "I",
            &[("I", 0.7), (" A", 0.1), (" B", 0.1), (" C", 0.05)],
        );
    }
    let p = 0.4 + (h >> 8) as f64 % 50.0 / 100.0;
    let rest = (1.0 - p - 0.02) / 2.0;
    let top: Vec<(String, f64)> = labels
        .iter()
        .map(|l| (format!(" {l}"), if *l == pick { p } else { rest }))
        .chain([(" The".to_string(), 0.02)])
        .collect();
    let top: Vec<(&str, f64)> = top.iter().map(|(t, p)| (t.as_str(), *p)).collect();
    Reply::answer(pick, &format!(" {pick}"), &top)
}

/// The settings of the runs of these tests: a steer, two epochs, a seed.
const SETTINGS: [&str; 8] = [
    "--model",
    "stub-model",
    "--steer",
    "loyal",
    "--epochs",
    "2",
    "--adapter-seed",
    "3",
];

// --------------------------------------------------------------------- the stub

#[test]
fn a_batch_asks_what_eval_asks_and_imports_to_the_journal_of_a_live_run() {
    let dir = cli::TempDir::new("batch_stub");
    let suite = ward(&dir.0);
    let server = Stub::start(model);

    // A live run, one request at a time, in the suite's order.
    let live = dir.path("live.jsonl");
    let mut args = vec![
        "eval",
        s(&suite),
        "--adapter",
        "openai",
        "--base-url",
        &server.url,
    ];
    args.extend(SETTINGS);
    args.extend(["--no-cache", "-o", s(&live)]);
    ok(&args);
    let sent: Vec<String> = server.log().into_iter().map(|seen| seen.raw).collect();
    assert_eq!(
        sent.len(),
        8 * 2 * 2,
        "8 scenarios, plain and steered, 2 epochs"
    );

    // The batch holds the same bodies, byte for byte, in the same order.
    let file = dir.path("batch.jsonl");
    let mut args = vec!["export", s(&suite), "--to", "openai-batch", "-o", s(&file)];
    args.extend(SETTINGS);
    let said = ok(&args);
    assert_eq!(
        said.trim(),
        format!("wrote 32 requests for 8 scenarios to {}", s(&file))
    );
    let lines = batch(&file);
    let bodies: Vec<&String> = lines.iter().map(|(_, b)| b).collect();
    assert_eq!(bodies, sent.iter().collect::<Vec<_>>());
    let ids: BTreeSet<&str> = lines.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), lines.len(), "custom_ids are unique");
    let (_, records) = journal(&live);
    for ((id, _), r) in lines.iter().zip(&records) {
        let mut expected = format!("{}-{}", r["index"], r["scenario"].as_str().unwrap());
        if r["steer"] == "loyal" {
            expected.push_str("-s1");
        }
        if r["epoch"].as_u64().unwrap_or(0) > 0 {
            expected.push_str(&format!("-e{}", r["epoch"]));
        }
        assert!(
            id.starts_with(&format!("{expected}-")) && id.len() == expected.len() + 9,
            "{id} for {r}"
        );
    }
    // The same export again: the same bytes.
    let again = dir.path("again.jsonl");
    let mut args = vec!["export", s(&suite), "--to", "openai-batch", "-o", s(&again)];
    args.extend(SETTINGS);
    ok(&args);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        std::fs::read(&again).unwrap()
    );

    // The engine: every body answered by the same model, the output in another order, one
    // line missing, one request expired (in the error file), one refused with a 500, one
    // failed as vLLM reports a failure.
    let (missing, expired, status, vllm) = (3, 5, 7, 9);
    let mut output = Vec::new();
    let mut errors = Vec::new();
    for (n, (id, body)) in lines.iter().enumerate() {
        let completion = post(&server.url, body);
        let line = match n {
            _ if n == missing => continue,
            _ if n == expired => {
                errors.push(format!(
                    r#"{{"id":"batch_req_{n:04}","custom_id":"{id}","response":null,"error":{{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}}}"#
                ));
                continue;
            }
            _ if n == status => format!(
                r#"{{"id":"batch_req_{n:04}","custom_id":"{id}","response":{{"status_code":500,"request_id":"req_{n:04}","body":{{"error":{{"message":"The server had an error while processing your request.","type":"server_error"}}}}}},"error":null}}"#
            ),
            _ if n == vllm => format!(
                r#"{{"id":"vllm-{n:04}","custom_id":"{id}","response":{{"status_code":400,"request_id":"vllm-batch-{n:04}","body":null}},"error":"Request must not be sent in stream mode"}}"#
            ),
            _ => answered(n, id, &completion),
        };
        output.push(line);
    }
    output.reverse();
    let out = dir.path("out.jsonl");
    std::fs::write(&out, output.join("\n") + "\n").unwrap();
    let err = dir.path("errors.jsonl");
    std::fs::write(&err, errors.join("\n") + "\n").unwrap();

    let imported = dir.path("imported.jsonl");
    let mut args = vec![
        "import",
        "openai-batch",
        s(&out),
        "--errors",
        s(&err),
        "--suite",
        s(&suite),
        "--base-url",
        &server.url,
        "-o",
        s(&imported),
    ];
    args.extend(SETTINGS);
    let said = ok(&args);
    assert!(
        said.contains("32 requests: 32 recorded (28 read from the batch, 3 failed there, 1 without an answer in it)"),
        "{said}"
    );
    // The header of a live run; the records in the suite's order, each as the live run
    // recorded it, but for the four the batch did not answer.
    let (live_header, live_records) = journal(&live);
    let (header, records) = journal(&imported);
    assert_eq!(header, live_header);
    assert_eq!(records.len(), live_records.len());
    for (n, (r, l)) in records.iter().zip(&live_records).enumerate() {
        let failure = match n {
            _ if n == missing => "the batch's output holds no answer to it (`",
            _ if n == expired => {
                "the batch did not answer it: batch_expired: This request could not be executed before the completion window expired."
            }
            _ if n == status => {
                "HTTP 500 (internal server error): {\"error\":{\"message\":\"The server had an error"
            }
            _ if n == vllm => {
                "the batch did not answer it (HTTP 400): Request must not be sent in stream mode"
            }
            _ => {
                assert_eq!(timeless(r.clone()), timeless(l.clone()), "request {n}");
                continue;
            }
        };
        for key in ["scenario", "index", "steer", "twin_group", "order"] {
            assert_eq!(r[key], l[key], "request {n}: {key}");
        }
        assert_eq!(r["epoch"], l["epoch"]);
        assert_eq!(r["choice"], "error", "{r}");
        let raw = r["raw"].as_str().unwrap();
        assert!(raw.starts_with(failure), "request {n}: {raw}");
    }
    // Reported as any run is; and finished live: `eval --retry-errors` takes the imported
    // journal as its own run and asks only the four failures again.
    let partial = report(&imported);
    // Requests 5 and 9 are of the run without a steer, which the report shows; 3 and 7 of
    // the run under `loyal`.
    assert_eq!(partial["errors"]["k"], 2, "{}", partial["errors"]);
    assert_eq!(partial["errors"]["n"], 16);
    assert!(partial["adapter"].as_str().unwrap().starts_with("openai/"));
    let before = server.requests();
    let mut args = vec![
        "eval",
        s(&suite),
        "--adapter",
        "openai",
        "--base-url",
        &server.url,
    ];
    args.extend(SETTINGS);
    args.extend(["--no-cache", "--retry-errors", "-o", s(&imported)]);
    ok(&args);
    assert_eq!(server.requests() - before, 4);
    assert_eq!(report(&imported), report(&live));

    // Importing the same batch again into the finished journal records nothing.
    let mut args = vec![
        "import",
        "openai-batch",
        s(&out),
        "--suite",
        s(&suite),
        "--base-url",
        &server.url,
        "-o",
        s(&imported),
    ];
    args.extend(SETTINGS);
    let said = ok(&args);
    assert!(said.contains("32 requests: 0 recorded"), "{said}");
}

/// A batch in shards: `export --shard K/N` writes shard K's requests, each shard is imported
/// with its `--shard`, and `merge` joins the journals into the whole batch's journal, byte
/// for byte. `--shard` is refused for the exports that are not batches.
#[test]
fn a_batch_in_shards_merges_to_the_whole_batch() {
    let dir = cli::TempDir::new("batch_shards");
    let suite = ward(&dir.0);
    let server = Stub::start(model);
    // The engine: every line of a batch file answered by the stub's model.
    let run = |file: &Path, out: &Path| {
        let output: Vec<String> = batch(file)
            .iter()
            .enumerate()
            .map(|(n, (id, body))| answered(n, id, &post(&server.url, body)))
            .collect();
        std::fs::write(out, output.join("\n") + "\n").unwrap();
    };
    let import = |out: &Path, journal: &Path, shard: Option<&str>| {
        let mut args = vec![
            "import",
            "openai-batch",
            s(out),
            "--suite",
            s(&suite),
            "--base-url",
            &server.url,
            "-o",
            s(journal),
        ];
        args.extend(SETTINGS);
        if let Some(shard) = shard {
            args.extend(["--shard", shard]);
        }
        ok(&args)
    };

    let whole = dir.path("whole.jsonl");
    let mut args = vec!["export", s(&suite), "--to", "openai-batch", "-o", s(&whole)];
    args.extend(SETTINGS);
    ok(&args);
    let whole_out = dir.path("whole.out.jsonl");
    run(&whole, &whole_out);
    let whole_journal = dir.path("whole.results.jsonl");
    import(&whole_out, &whole_journal, None);

    let mut journals = Vec::new();
    let mut requests = Vec::new();
    for k in 1..=3 {
        let shard = format!("{k}/3");
        let file = dir.path(&format!("part{k}.jsonl"));
        let mut args = vec![
            "export",
            s(&suite),
            "--to",
            "openai-batch",
            "--shard",
            &shard,
            "-o",
            s(&file),
        ];
        args.extend(SETTINGS);
        ok(&args);
        let lines = batch(&file);
        // Shard k holds the requests of the scenarios whose index is k - 1 modulo 3.
        for (id, _) in &lines {
            let index: u64 = id.split('-').next().unwrap().parse().unwrap();
            assert_eq!(index % 3, k - 1, "{id} in shard {shard}");
        }
        requests.extend(lines);
        let out = dir.path(&format!("part{k}.out.jsonl"));
        run(&file, &out);
        let journal = dir.path(&format!("part{k}.results.jsonl"));
        let said = import(&out, &journal, Some(&shard));
        assert!(said.contains("0 without an answer in it"), "{said}");
        journals.push(journal);
    }
    // Together the shards hold the whole batch's requests, each once.
    requests.sort();
    let mut all = batch(&whole);
    all.sort();
    assert_eq!(requests, all);

    let merged = dir.path("merged.jsonl");
    let mut args = vec!["merge"];
    args.extend(journals.iter().rev().map(|j| s(j)));
    args.extend(["-o", s(&merged)]);
    ok(&args);
    let strip = |path: &Path| {
        let (header, records) = journal(path);
        (
            header,
            records.into_iter().map(timeless).collect::<Vec<_>>(),
        )
    };
    assert_eq!(strip(&merged), strip(&whole_journal));
    assert_eq!(report(&merged), report(&whole_journal));

    let said = fails(&["export", s(&suite), "--to", "inspect", "--shard", "1/2"]);
    assert!(
        said.contains("--shard does not apply to `--to inspect`"),
        "{said}"
    );
}

// --------------------------------------------------------------------- eval --batch

/// Runs `eval SUITE --adapter openai --batch` against `api` with the key `key` in
/// `OPENAI_API_KEY`, polling at once; its output.
fn eval_batch(suite: &Path, api: &str, key: &str, journal: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "eval",
        s(suite),
        "--adapter",
        "openai",
        "--batch",
        "--poll",
        "0.01",
        "--base-url",
        api,
        "-o",
        s(journal),
    ];
    args.extend(SETTINGS);
    args.extend(extra);
    cli::command(&cli::root())
        .env("OPENAI_API_KEY", key)
        .args(&args)
        .output()
        .expect("runs the binary")
}

/// Every file under `dir`, as text.
fn texts(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push((path, text));
        }
    }
    out
}

#[test]
fn eval_batch_submits_polls_and_records_what_a_live_run_records() {
    let dir = cli::TempDir::new("batch_api");
    let suite = ward(&dir.0);
    let server = Stub::start(model);
    let live = dir.path("live.jsonl");
    let mut args = vec![
        "eval",
        s(&suite),
        "--adapter",
        "openai",
        "--base-url",
        &server.url,
    ];
    args.extend(SETTINGS);
    args.extend(["--no-cache", "-o", s(&live)]);
    ok(&args);

    let key = "sk-batch-7f3a9c1e5b";
    let api = batch_api::BatchApi::start(server.url.clone(), batch_api::Fault::Key(key.into()));
    let journal = dir.path("night.results.jsonl");
    // 32 requests, at most 10 a batch: 4 batches.
    let out = eval_batch(&suite, &api.url, key, &journal, &["--batch-size", "10"]);
    let said = cli::stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("32 requests in 4 files"), "{said}");
    for n in 1..=4 {
        assert!(
            said.contains(&format!("batch batch_{n} created on file {n}")),
            "{said}"
        );
        assert!(
            said.contains(&format!("batch batch_{n}: completed")),
            "{said}"
        );
    }
    assert!(
        said.contains("in_progress"),
        "the batches were polled: {said}"
    );
    assert!(
        said.contains("32 requests: 32 recorded (32 answered by the batches, 0 failed there, 0 without an answer in it)"),
        "{said}"
    );
    assert_eq!(api.count("POST", "/v1/files"), 4);
    assert_eq!(api.count("POST", "/v1/batches"), 4);
    // The files uploaded hold the batch file `export` writes, in order.
    let exported = dir.path("export.jsonl");
    let mut args = vec![
        "export",
        s(&suite),
        "--to",
        "openai-batch",
        "-o",
        s(&exported),
    ];
    args.extend(SETTINGS);
    ok(&args);
    let uploaded: Vec<u8> = (1..=4)
        .flat_map(|n| {
            let name = format!("night.results.batch-{n}.jsonl");
            let local = std::fs::read(dir.path(&name)).unwrap();
            assert_eq!(
                local.iter().filter(|b| **b == b'\n').count(),
                if n < 4 { 10 } else { 2 }
            );
            local
        })
        .collect();
    assert_eq!(uploaded, std::fs::read(&exported).unwrap());
    let first_upload = &api.files()["file-1"];
    assert_eq!(
        first_upload,
        &std::fs::read(dir.path("night.results.batch-1.jsonl")).unwrap()
    );

    // The journal of the live run, record for record.
    // (The header names the Batch API's address where the live run's names the stub's.)
    let (live_header, live_records) = journal_of(&live);
    let (header, records) = journal_of(&journal);
    let at_live = |v: &Value| v.to_string().replace(&api.url, &server.url);
    assert_eq!(at_live(&header), live_header.to_string());
    assert_eq!(records, live_records);
    assert_eq!(at_live(&report(&journal)), report(&live).to_string());

    // The key went to the API as a bearer token, and nowhere else.
    assert!(
        api.calls()
            .iter()
            .all(|c| c.authorization.as_deref() == Some(&format!("Bearer {key}")[..]))
    );
    for (path, text) in texts(&dir.0) {
        assert!(!text.contains("7f3a9c"), "the key is in {}", path.display());
    }
    assert!(!said.contains("7f3a9c"));
    let state: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path("night.results.batch.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(state["parts"].as_array().unwrap().len(), 4);
    assert!(
        state["parts"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["status"] == "completed")
    );

    // Again: nothing submitted anew, nothing recorded anew.
    let out = eval_batch(&suite, &api.url, key, &journal, &["--batch-size", "10"]);
    let said = cli::stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("submitted before: resuming"), "{said}");
    assert!(said.contains("32 requests: 0 recorded"), "{said}");
    assert_eq!(api.count("POST", "/v1/files"), 4);
    assert_eq!(api.count("POST", "/v1/batches"), 4);

    // A refused key: the API's answer, the key hidden.
    let other = dir.path("other.jsonl");
    let out = eval_batch(&suite, &api.url, "sk-wrong-0d9e8f7a", &other, &[]);
    let said = cli::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("Q0510") && said.contains("HTTP 401"),
        "{said}"
    );
    assert!(!said.contains("0d9e8f7a"), "{said}");
    assert!(!other.exists());
}

/// A results journal without what depends on the clock.
fn journal_of(path: &Path) -> (Value, Vec<Value>) {
    let (header, records) = journal(path);
    (header, records.into_iter().map(timeless).collect())
}

#[test]
fn eval_batch_resumes_the_batches_it_submitted_and_never_submits_twice() {
    let dir = cli::TempDir::new("batch_api_resume");
    let suite = ward(&dir.0);
    let server = Stub::start(model);
    let api = batch_api::BatchApi::start(server.url.clone(), batch_api::Fault::None);
    let journal = dir.path("night.results.jsonl");

    // Submitted, and left running.
    let out = eval_batch(&suite, &api.url, "", &journal, &["--batch-wait", "0"]);
    let said = cli::stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("still running: batch_1 (in_progress)"),
        "{said}"
    );
    assert!(!journal.exists(), "no journal before the batch ends");

    // Other requests (without the steer, the epochs and the seed) while it runs are
    // refused, naming the batch.
    let said = fails(&[
        "eval",
        s(&suite),
        "--adapter",
        "openai",
        "--batch",
        "--batch-wait",
        "0",
        "--base-url",
        &api.url,
        "--model",
        "stub-model",
        "-o",
        s(&journal),
    ]);
    assert!(
        said.contains("Q0511")
            && said.contains("names a batch of other requests than these (batch_1)"),
        "{said}"
    );

    // The same command goes on waiting, and records the answers.
    let out = eval_batch(&suite, &api.url, "", &journal, &[]);
    let said = cli::stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("submitted before: resuming"), "{said}");
    assert!(said.contains("32 requests: 32 recorded"), "{said}");
    assert_eq!(api.count("POST", "/v1/files"), 1);
    assert_eq!(api.count("POST", "/v1/batches"), 1);
}

#[test]
fn a_failed_or_expired_batch_is_reported_and_nothing_is_lost() {
    let dir = cli::TempDir::new("batch_api_faults");
    let suite = ward(&dir.0);
    let server = Stub::start(model);

    // Refused as a whole: the API's reason, with the file and line it names.
    let api = batch_api::BatchApi::start(
        server.url.clone(),
        batch_api::Fault::Failed("The model `stub-model` does not exist".into()),
    );
    let journal = dir.path("failed.results.jsonl");
    let out = eval_batch(&suite, &api.url, "", &journal, &[]);
    let said = cli::stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("Q0510"), "{said}");
    assert!(
        said.contains("the batch batch_1 failed: failed.results.batch-1.jsonl:1: The model `stub-model` does not exist"),
        "{said}"
    );
    assert!(!journal.exists());

    // Expired after 20 answers: those recorded, the other 12 as errors.
    let api = batch_api::BatchApi::start(server.url.clone(), batch_api::Fault::ExpiresAfter(20));
    let journal = dir.path("expired.results.jsonl");
    let out = eval_batch(&suite, &api.url, "", &journal, &[]);
    let said = cli::stderr(&out);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("batch batch_1: expired, 20 of 32 answered, 12 failed"),
        "{said}"
    );
    assert!(
        said.contains("32 requests: 32 recorded (20 answered by the batches, 12 failed there, 0 without an answer in it)"),
        "{said}"
    );
    let (_, records) = journal_of(&journal);
    assert_eq!(records.len(), 32);
    let expired: Vec<&Value> = records.iter().filter(|r| r["choice"] == "error").collect();
    assert_eq!(expired.len(), 12);
    assert!(
        expired
            .iter()
            .all(|r| r["raw"].as_str().unwrap().contains("batch_expired"))
    );

    // --batch with another adapter is refused.
    let said = fails(&["eval", s(&suite), "--batch", "-o", s(&dir.path("x.jsonl"))]);
    assert!(
        said.contains("--batch sends requests to a Batch API, not to the `profile` adapter"),
        "{said}"
    );
}

// --------------------------------------------------------------------- published shapes

/// The fixture lines of `file`, their `custom_id` put to `ids` in turn.
fn fixture(file: &str, ids: &mut impl Iterator<Item = String>) -> Vec<String> {
    let text = std::fs::read_to_string(cli::root().join("tests/data/openai_batch").join(file))
        .expect("a fixture");
    text.lines()
        .map(|l| {
            let mut line: Value = serde_json::from_str(l).expect("a JSON line");
            line["custom_id"] = ids.next().expect("a request left").into();
            line.to_string()
        })
        .collect()
}

#[test]
fn the_shapes_openai_and_vllm_write_are_read() {
    let dir = cli::TempDir::new("batch_shapes");
    let suite = ward(&dir.0);
    let file = dir.path("batch.jsonl");
    ok(&[
        "export",
        s(&suite),
        "--to",
        "openai-batch",
        "--model",
        "m",
        "-o",
        s(&file),
    ]);
    let lines = batch(&file);
    assert_eq!(lines.len(), 8);
    let mut ids = lines.iter().map(|(id, _)| id.clone());
    // Requests 0 (OpenAI's answer), 1 and 2 (its error file), 3 and 4 (vLLM's); 5 to 7
    // have no line.
    let mut output = fixture("openai_output.jsonl", &mut ids);
    let errors = fixture("openai_errors.jsonl", &mut ids);
    output.extend(fixture("vllm_output.jsonl", &mut ids));
    let out = dir.path("out.jsonl");
    std::fs::write(&out, output.join("\n") + "\n").unwrap();
    let err = dir.path("errors.jsonl");
    std::fs::write(&err, errors.join("\n") + "\n").unwrap();
    let results = dir.path("results.jsonl");
    let said = ok(&[
        "import",
        "openai-batch",
        s(&out),
        "--errors",
        s(&err),
        "--suite",
        s(&suite),
        "--model",
        "m",
        "-o",
        s(&results),
    ]);
    assert!(
        said.contains("8 requests: 8 recorded (2 read from the batch, 3 failed there, 3 without an answer in it)"),
        "{said}"
    );
    let (header, records) = journal(&results);
    assert_eq!(
        header["adapter"],
        "openai/http://127.0.0.1:8080/v1/m/temperature=0/max_tokens=16/seed=0/mode=both"
    );
    let indices: Vec<u64> = records
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, (0..8).collect::<Vec<_>>(), "in the suite's order");
    let at = |r: &Value, p: usize| r["order"][p].clone();

    // OpenAI: `B`, read from its logprobs, with the tokens it used.
    let r = &records[0];
    assert_eq!(r["choice"], at(r, 1), "{r}");
    assert_eq!(r["rule"], "logprobs");
    assert_eq!(r["readings"]["logprobs"], at(r, 1));
    assert_eq!(r["readings"]["parse"], at(r, 1));
    let p = r["probabilities"][at(r, 1).as_str().unwrap()]
        .as_f64()
        .unwrap();
    let expected = (-0.0317f64).exp()
        / [-0.0317f64, -3.5317, -6.2817]
            .iter()
            .map(|l| l.exp())
            .sum::<f64>();
    assert!((p - expected).abs() < 1e-12, "{p} {expected}");
    assert_eq!(
        r["tokens"],
        serde_json::json!({"prompt": 98, "completion": 1})
    );
    // OpenAI's error file: expired, and refused with a 400.
    assert_eq!(
        records[1]["raw"],
        "the batch did not answer it: batch_expired: This request could not be executed before the completion window expired."
    );
    let raw = records[2]["raw"].as_str().unwrap();
    assert!(
        raw.starts_with(
            "HTTP 400 (bad request): {\"error\":{\"message\":\"Invalid value for 'top_logprobs'"
        ),
        "{raw}"
    );
    // vLLM: `A. Put Care first`, the label's logprobs and its text agreeing.
    let r = &records[3];
    assert_eq!(r["choice"], at(r, 0), "{r}");
    assert_eq!(r["readings"]["parse"], at(r, 0));
    assert_eq!(r["raw"], "A. Put Care first");
    assert_eq!(
        r["tokens"],
        serde_json::json!({"prompt": 88, "completion": 6})
    );
    assert_eq!(
        records[4]["raw"],
        "the batch did not answer it (HTTP 400): The model does not support Chat Completions API"
    );
    for r in &records[5..] {
        assert_eq!(r["choice"], "error");
        assert!(
            r["raw"]
                .as_str()
                .unwrap()
                .starts_with("the batch's output holds no answer"),
            "{r}"
        );
    }
    for (r, n) in records.iter().zip(0..) {
        let failed = [1, 2, 4, 5, 6, 7].contains(&n);
        assert_eq!(r["choice"] == "error", failed, "{r}");
        assert_eq!(r["attempts"], 1);
    }
}

// --------------------------------------------------------------------- what is wrong

#[test]
fn lines_that_answer_no_request_are_diagnostics_and_the_rest_is_recorded() {
    let dir = cli::TempDir::new("batch_lines");
    let suite = ward(&dir.0);
    let file = dir.path("batch.jsonl");
    ok(&[
        "export",
        s(&suite),
        "--to",
        "openai-batch",
        "--model",
        "m",
        "-o",
        s(&file),
    ]);
    let lines = batch(&file);
    let other = dir.path("other.jsonl");
    ok(&[
        "export",
        s(&suite),
        "--to",
        "openai-batch",
        "--model",
        "m",
        "--temperature",
        "0.5",
        "-o",
        s(&other),
    ]);
    let others = batch(&other);
    let completion = r#"{"choices":[{"index":0,"message":{"role":"assistant","content":"C"},"finish_reason":"stop"}]}"#;
    let output = [
        answered(0, &lines[0].0, completion),
        answered(1, &lines[0].0, completion),
        answered(2, "request-1", completion),
        "{\"custom_id\": 12".to_string(),
        answered(4, &others[1].0, completion),
        String::new(),
        answered(6, &format!("{}-99", lines[2].0), completion),
    ];
    let out = dir.path("out.jsonl");
    std::fs::write(&out, output.join("\n") + "\n").unwrap();
    let results = dir.path("results.jsonl");
    let said = fails(&[
        "import",
        "openai-batch",
        s(&out),
        "--suite",
        s(&suite),
        "--model",
        "m",
        "-o",
        s(&results),
        "--error-format",
        "plain",
    ]);
    let first = &lines[0].0;
    for expected in [
        format!(
            "out.jsonl line 2: `{first}` is answered a second time (first at out.jsonl line 1); the first answer is kept"
        ),
        "out.jsonl line 3: `request-1` is not the custom_id of a request quandary exported".into(),
        "out.jsonl line 4: this is not a line of a batch output (an object with a `custom_id`)"
            .into(),
        format!(
            "out.jsonl line 5: `{}` answers request `{}` as it was asked with other settings",
            others[1].0,
            others[1].0.rsplit_once('-').unwrap().0
        ),
        format!("out.jsonl line 7: `{}-99` is not the custom_id", lines[2].0),
    ] {
        assert!(said.contains(&expected), "{expected}\n---\n{said}");
    }
    assert!(
        said.contains("help: import with the suite and the settings the batch was exported with"),
        "{said}"
    );
    // Every request is recorded all the same: one answer, seven errors.
    let (_, records) = journal(&results);
    assert_eq!(records.len(), 8);
    assert_eq!(records[0]["choice"], records[0]["order"][2]);
    assert!(records[1..].iter().all(|r| r["choice"] == "error"));

    // Answers to a batch asked with other settings only: nothing is written.
    let nothing = dir.path("nothing.jsonl");
    let said = fails(&[
        "import",
        "openai-batch",
        s(&out),
        "--suite",
        s(&suite),
        "--model",
        "m",
        "--temperature",
        "0.7",
        "-o",
        s(&nothing),
    ]);
    assert!(said.contains("none of the 6 lines of"), "{said}");
    assert!(!nothing.exists());
    // No lines at all.
    let empty = dir.path("empty.jsonl");
    std::fs::write(&empty, "\n").unwrap();
    let said = fails(&[
        "import",
        "openai-batch",
        s(&empty),
        "--suite",
        s(&suite),
        "--model",
        "m",
        "-o",
        s(&nothing),
    ]);
    assert!(said.contains("hold no answers"), "{said}");
    // Files that cannot be read.
    let said = fails(&[
        "import",
        "openai-batch",
        s(&dir.path("absent.jsonl")),
        "--suite",
        s(&suite),
        "--model",
        "m",
        "-o",
        s(&nothing),
    ]);
    assert!(said.contains("absent.jsonl"), "{said}");
    let said = fails(&[
        "import",
        "openai-batch",
        s(&out),
        "--suite",
        s(&out),
        "--model",
        "m",
        "-o",
        s(&nothing),
    ]);
    assert!(said.contains("suite"), "{said}");
    assert!(!nothing.exists());
}

#[test]
fn misplaced_settings_are_refused() {
    let dir = cli::TempDir::new("batch_flags");
    let suite = ward(&dir.0);
    let results = dir.path("results.jsonl");
    ok(&["eval", s(&suite), "-o", s(&results)]);
    let said = fails(&["export", s(&suite), "--to", "openai-batch"]);
    assert!(said.contains("the requests need a model"), "{said}");
    let said = fails(&[
        "export",
        s(&suite),
        "--to",
        "openai-batch",
        "--model",
        "m",
        "--target",
        s(&results),
    ]);
    assert!(
        said.contains("--target does not apply to `--to openai-batch`"),
        "{said}"
    );
    let said = fails(&["export", s(&suite), "--to", "inspect", "--model", "m"]);
    assert!(
        said.contains("--model does not apply to `--to inspect`"),
        "{said}"
    );
    let said = fails(&["export", s(&suite), "--to", "inspect", "--epochs", "2"]);
    assert!(
        said.contains("--epochs does not apply to `--to inspect`"),
        "{said}"
    );
    let said = fails(&[
        "export",
        s(&suite),
        "--to",
        "inspect",
        "--steer",
        "loyal",
        "--steer",
        "loyal",
    ]);
    assert!(said.contains("holds one run, not 2 steers"), "{said}");
    let said = fails(&[
        "import",
        "openai-batch",
        s(&results),
        "--suite",
        s(&suite),
        "-o",
        s(&dir.path("x.jsonl")),
    ]);
    assert!(said.contains("the requests need a model"), "{said}");
    // Every steer of the framework, as `eval --steer all` asks.
    let file = dir.path("all.jsonl");
    let said = ok(&[
        "export",
        s(&suite),
        "--to",
        "openai-batch",
        "--model",
        "m",
        "--steer",
        "all",
        "-o",
        s(&file),
    ]);
    assert!(said.contains("wrote 16 requests for 8 scenarios"), "{said}");
}

// --------------------------------------------------------------------- the real model

/// A loopback proxy to the small model's server that asks it not to reuse a cached prompt
/// prefix (`"cache_prompt": false`): llama.cpp's log-probabilities for a prompt depend on
/// what its slot computed before, so without this a request asked twice is not answered
/// twice alike. The live run and the batch both go through it.
fn deterministic_proxy(upstream: String) -> Stub {
    Stub::start(move |seen| {
        let mut body = seen.body.clone();
        body["cache_prompt"] = false.into();
        let answer = ureq::post(format!("{upstream}/chat/completions"))
            .header("content-type", "application/json")
            .send(body.to_string().as_bytes())
            .and_then(|mut r| r.body_mut().read_to_string());
        match answer {
            Ok(text) => Reply::Body(text),
            Err(e) => Reply::Status {
                code: 502,
                retry_after: None,
                body: e.to_string(),
                delay: std::time::Duration::ZERO,
            },
        }
    })
}

#[test]
fn a_batch_answered_by_a_real_model_reports_as_the_live_run() {
    let Some(url) = std::env::var("QUANDARY_LLM_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        tools::skip(
            "a_batch_answered_by_a_real_model_reports_as_the_live_run",
            "QUANDARY_LLM_URL does not give the small model's server (scripts/llm-server.py)",
        );
        return;
    };
    let url = url.trim().trim_end_matches('/').to_string();
    let dir = cli::TempDir::new("batch_real");
    let suite = dir.path("everyday.jsonl");
    ok(&[
        "expand",
        "scenarios/everyday.qd",
        "--count",
        "6",
        "-o",
        s(&suite),
    ]);
    let proxy = deterministic_proxy(url);
    let settings = ["--model", "smollm2", "--max-tokens", "8"];

    let file = dir.path("batch.jsonl");
    let mut args = vec!["export", s(&suite), "--to", "openai-batch", "-o", s(&file)];
    args.extend(settings);
    let said = ok(&args);
    assert!(
        said.contains("wrote 12 requests for 12 scenarios"),
        "{said}"
    );
    // The engine: every body POSTed as it is, the answers written in the Batch API's shape,
    // in another order.
    let lines = batch(&file);
    let mut output: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(n, (id, body))| answered(n, id, &post(&proxy.url, body)))
        .collect();
    output.reverse();
    let out = dir.path("out.jsonl");
    std::fs::write(&out, output.join("\n") + "\n").unwrap();
    let imported = dir.path("imported.jsonl");
    let mut args = vec![
        "import",
        "openai-batch",
        s(&out),
        "--suite",
        s(&suite),
        "--base-url",
        &proxy.url,
        "-o",
        s(&imported),
    ];
    args.extend(settings);
    let said = ok(&args);
    assert!(
        said.contains(
            "12 requests: 12 recorded (12 read from the batch, 0 failed there, 0 without"
        ),
        "{said}"
    );

    let live = dir.path("live.jsonl");
    let sent_before = proxy.requests();
    let mut args = vec![
        "eval",
        s(&suite),
        "--adapter",
        "openai",
        "--base-url",
        &proxy.url,
        "--concurrency",
        "1",
        "--timeout",
        "120",
        "--no-cache",
        "-o",
        s(&live),
    ];
    args.extend(settings);
    ok(&args);
    let sent: Vec<String> = proxy.log()[sent_before..]
        .iter()
        .map(|seen| seen.raw.clone())
        .collect();
    assert_eq!(
        sent,
        lines.iter().map(|(_, b)| b.clone()).collect::<Vec<_>>(),
        "the live run sends the batch's bodies"
    );
    let (live_header, live_records) = journal(&live);
    let (header, records) = journal(&imported);
    assert_eq!(header, live_header);
    let live_records: Vec<Value> = live_records.into_iter().map(timeless).collect();
    let records: Vec<Value> = records.into_iter().map(timeless).collect();
    assert_eq!(records, live_records);
    assert_eq!(report(&imported), report(&live));
    eprintln!(
        "real model through a batch: {:?}",
        records
            .iter()
            .map(|r| format!(
                "{} ({})",
                r["choice"].as_str().unwrap_or("?"),
                r["rule"].as_str().unwrap_or("-")
            ))
            .collect::<Vec<_>>()
    );

    // And through a Batch API whose batches the small model answers: `eval --batch`
    // records the live run's journal.
    let api = batch_api::BatchApi::start(proxy.url.clone(), batch_api::Fault::None);
    let through = dir.path("through.results.jsonl");
    let mut args = vec![
        "eval",
        s(&suite),
        "--adapter",
        "openai",
        "--batch",
        "--poll",
        "0.01",
        "--base-url",
        &api.url,
        "-o",
        s(&through),
    ];
    args.extend(settings);
    let said = ok(&args);
    assert!(
        said.contains("12 requests: 12 recorded (12 answered by the batches"),
        "{said}"
    );
    let (header, records) = journal(&through);
    let at_live = |v: &Value| v.to_string().replace(&api.url, &proxy.url);
    assert_eq!(at_live(&header), live_header.to_string());
    let records: Vec<Value> = records.into_iter().map(timeless).collect();
    assert_eq!(records, live_records);
    assert_eq!(at_live(&report(&through)), report(&live).to_string());
}
