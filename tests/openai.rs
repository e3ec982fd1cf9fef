//! The `openai` adapter against a scripted stub server (faults, retries, backing off, a
//! killed run resumed), and, when `QUANDARY_LLM_URL` names one, against a real model.

#[path = "support/stub.rs"]
mod stub;
#[path = "support/tools.rs"]
mod tools;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use quandary::eval::adapters::openai::{Mode, OpenAi, OpenAiOptions};
use quandary::eval::present::Labels;
use quandary::eval::{self, Adapter, Presentation, ScenarioLine, Settings};
use stub::{Framing, Reply, Seen, Stub};

#[path = "support/cli.rs"]
mod cli;

const KEY_VAR: &str = "QUANDARY_TEST_OPENAI_KEY";
const KEY: &str = "sk-test-Zq8VfU3xKp2wLm9T-distinctive";

fn bin() -> Command {
    cli::command(&cli::root())
}

/// `quandary COMMAND` asking the small real model behind `url`.
fn smollm2(command: &str, url: &str) -> Command {
    let mut c = bin();
    c.arg(command).args([
        "--adapter",
        "openai",
        "--model",
        "smollm2",
        "--base-url",
        url,
    ]);
    c
}

fn temp(name: &str) -> PathBuf {
    cli::scratch(&format!("openai_{name}"))
}

/// Expands `count` template draws of the everyday suite (twins double them) into `dir`.
fn suite(dir: &Path, count: u64) -> PathBuf {
    let path = dir.join("suite.jsonl");
    let out = bin()
        .args(["expand", "scenarios/everyday.qd", "--count"])
        .arg(count.to_string())
        .arg("-o")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn scenarios(suite: &Path) -> Vec<ScenarioLine> {
    std::fs::read_to_string(suite)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The user prompt the run sends for `scenario` with the default presentation.
fn prompt_of(scenario: &ScenarioLine) -> String {
    let p = Presentation::default();
    p.prompt(scenario, &p.options(scenario))
}

fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Reads a results file: the header and the records.
fn results(path: &Path) -> (serde_json::Value, Vec<serde_json::Value>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: serde_json::Value = serde_json::from_str(lines.next().unwrap()).unwrap();
    assert_eq!(header["format"], "results", "{header}");
    let records = lines.map(|l| serde_json::from_str(l).unwrap()).collect();
    (header, records)
}

fn eval(suite: &Path, out: &Path, url: &str, extra: &[&str]) -> Output {
    bin()
        .arg("eval")
        .arg(suite)
        .args([
            "--adapter",
            "openai",
            "--model",
            "stub-model",
            "--base-url",
            url,
        ])
        .args(["--api-key-env", KEY_VAR])
        .arg("-o")
        .arg(out)
        .arg("--cache-dir")
        .arg(out.with_extension("cache"))
        .args(extra)
        .env(KEY_VAR, KEY)
        .output()
        .unwrap()
}

/// What the fault-injecting stub does with a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    None,
    TooMany0,
    TooMany1,
    ServerError,
    Timeout,
    TruncatedJson,
    NoOption,
    Refusal,
}

const FAULTS: [Fault; 8] = [
    Fault::None,
    Fault::TooMany0,
    Fault::TooMany1,
    Fault::ServerError,
    Fault::Timeout,
    Fault::TruncatedJson,
    Fault::NoOption,
    Fault::Refusal,
];

fn fault(prompt: &str) -> Fault {
    FAULTS[(hash(prompt) % 8) as usize]
}

/// The option the stub's model prefers for a prompt (0 or 1).
fn preferred(prompt: &str) -> usize {
    ((hash(prompt) >> 8) % 2) as usize
}

/// An answer for option `pick` (A or B) with leading-space tokens, a bare duplicate and
/// tokens naming no option among the alternatives.
fn answer(pick: usize) -> Reply {
    let (me, other) = if pick == 0 { ("A", "B") } else { ("B", "A") };
    Reply::answer(
        me,
        &format!(" {me}"),
        &[
            (&format!(" {me}"), 0.6),
            (me, 0.1),
            (&format!(" {other}"), 0.2),
            (" The", 0.05),
            (" I", 0.05),
        ],
    )
}

fn faulty(seen: &Seen) -> Reply {
    let ok = || answer(preferred(&seen.prompt));
    match (fault(&seen.prompt), seen.attempt) {
        (Fault::None, _) => ok(),
        (Fault::TooMany0, 0) => Reply::Status {
            code: 429,
            retry_after: Some("0".into()),
            body: r#"{"error":{"message":"rate limited"}}"#.into(),
            delay: Duration::ZERO,
        },
        (Fault::TooMany1, 0) => Reply::Status {
            code: 429,
            retry_after: Some("1".into()),
            body: r#"{"error":{"message":"slow down"}}"#.into(),
            delay: Duration::ZERO,
        },
        (Fault::ServerError, 0 | 1) => Reply::Status {
            code: 500,
            retry_after: None,
            body: "internal error".into(),
            delay: Duration::ZERO,
        },
        (Fault::Timeout, 0) => Reply::Hang(Duration::from_millis(2500)),
        // A body cut short, that also echoes the credentials it was sent.
        (Fault::TruncatedJson, _) => Reply::Body(format!(
            r#"{{"echo":"{}","choices":[{{"index":0,"message":{{"role":"assis"#,
            seen.authorization.clone().unwrap_or_default()
        )),
        (Fault::NoOption, _) => Reply::answer(
            "Both options have merit.",
            "Both",
            &[("Both", 0.7), ("Neither", 0.2), ("It", 0.1)],
        ),
        (Fault::Refusal, _) => Reply::answer(
            "I cannot help with choosing here.",
            "I",
            &[("I", 0.9), ("As", 0.1)],
        ),
        _ => ok(),
    }
}

/// Every file under `dir` (results, caches), and the outputs, must not hold the key.
fn assert_no_key(dir: &Path, outputs: &[&Output]) {
    let mut files = 0;
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
                continue;
            }
            files += 1;
            let bytes = std::fs::read(&path).unwrap();
            assert!(
                !String::from_utf8_lossy(&bytes).contains(KEY),
                "the key is in {}",
                path.display()
            );
        }
    }
    assert!(files > 2);
    for o in outputs {
        assert!(!String::from_utf8_lossy(&o.stdout).contains(KEY));
        assert!(!String::from_utf8_lossy(&o.stderr).contains(KEY));
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn every_fault_ends_answered_or_recorded() {
    let dir = temp("faults");
    let suite = suite(&dir, 20);
    let scenarios = scenarios(&suite);
    assert_eq!(scenarios.len(), 40);
    let kinds: BTreeSet<Fault> = scenarios.iter().map(|s| fault(&prompt_of(s))).collect();
    assert!(
        kinds.len() >= 6,
        "the suite exercises too few faults: {kinds:?}"
    );
    let server = Stub::start(faulty);
    let out = dir.join("results.jsonl");
    let started = Instant::now();
    let run = eval(
        &suite,
        &out,
        &server.url,
        &["--timeout", "1", "--max-retries", "3", "--concurrency", "8"],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let (header, records) = results(&out);
    assert_eq!(header["model"], "stub-model");
    assert!(header["adapter"].as_str().unwrap().starts_with("openai/"));
    assert_eq!(header["parameters"]["mode"], "both");
    // None lost, none duplicated.
    assert_eq!(records.len(), scenarios.len());
    let ids: BTreeSet<&str> = records
        .iter()
        .map(|r| r["scenario"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), records.len());
    let by_id: HashMap<&str, &ScenarioLine> =
        scenarios.iter().map(|s| (s.id.as_str(), s)).collect();
    assert_eq!(ids, by_id.keys().copied().collect());
    // Requests the stub saw per prompt: what `attempts` counts.
    let log = server.log();
    let mut asked: HashMap<&str, u32> = HashMap::new();
    for seen in &log {
        *asked.entry(seen.prompt.as_str()).or_default() += 1;
        assert_eq!(
            seen.authorization.as_deref(),
            Some(format!("Bearer {KEY}").as_str())
        );
        assert_eq!(seen.body["logprobs"], true);
        assert_eq!(seen.body["top_logprobs"], 20);
        assert_eq!(seen.body["model"], "stub-model");
        assert_eq!(seen.body["max_tokens"], 16);
        assert!(seen.body.get("n").is_none());
        assert!(seen.system.is_none());
    }
    let mut seen_kinds = BTreeMap::new();
    for r in &records {
        let scenario = by_id[r["scenario"].as_str().unwrap()];
        let prompt = prompt_of(scenario);
        let kind = fault(&prompt);
        *seen_kinds.entry(kind).or_insert(0) += 1;
        let attempts = r["attempts"].as_u64().unwrap() as u32;
        assert_eq!(attempts, asked[prompt.as_str()], "{kind:?} {r}");
        let choice = r["choice"].as_str().unwrap();
        let order: Vec<&str> = r["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        match kind {
            Fault::TruncatedJson => {
                assert_eq!(choice, "error", "{r}");
                assert_eq!(attempts, 1, "malformed JSON is not retried");
                let raw = r["raw"].as_str().unwrap();
                assert!(raw.contains("not a chat completion"), "{raw}");
                assert!(raw.contains("Bearer ***"), "{raw}");
            }
            Fault::NoOption => {
                assert_eq!(choice, "unparsed", "{r}");
                assert_eq!(attempts, 1);
                assert_eq!(r["readings"]["logprobs"], "unparsed");
                assert_eq!(r["readings"]["parse"], "unparsed");
                assert!(r["probabilities"].is_null());
            }
            Fault::Refusal => {
                assert_eq!(choice, "refused", "{r}");
                assert_eq!(r["readings"]["parse"], "refused");
                assert_eq!(r["raw"], "I cannot help with choosing here.");
            }
            _ => {
                let expected = order[preferred(&prompt)];
                assert_eq!(choice, expected, "{kind:?} {r}");
                assert_eq!(r["readings"]["logprobs"], expected);
                assert_eq!(r["readings"]["parse"], expected);
                let p = r["probabilities"].as_object().unwrap();
                let values: Vec<f64> = p.values().map(|v| v.as_f64().unwrap()).collect();
                assert!(values.iter().all(|v| v.is_finite() && *v >= 0.0));
                assert!(close(values.iter().sum(), 1.0), "{p:?}");
                assert!(close(p[expected].as_f64().unwrap(), 0.7 / 0.9), "{p:?}");
                assert_eq!(r["tokens"]["prompt"], 42);
                assert_eq!(r["tokens"]["completion"], 1);
                let retries = match kind {
                    Fault::None => 1,
                    Fault::TooMany0 | Fault::TooMany1 | Fault::Timeout => 2,
                    _ => 3,
                };
                assert_eq!(attempts, retries, "{kind:?} {r}");
                if kind == Fault::TooMany1 {
                    assert!(
                        r["latency_ms"].as_f64().unwrap() >= 1000.0,
                        "Retry-After: 1 honoured"
                    );
                }
            }
        }
    }
    assert_eq!(seen_kinds.len(), kinds.len());
    assert!(
        out.with_extension("cache").is_dir(),
        "the answers were cached"
    );
    assert_no_key(&dir, &[&run]);

    // Rerun: nothing is asked again.
    let before = server.requests();
    let again = eval(&suite, &out, &server.url, &["--timeout", "1"]);
    assert!(again.status.success());
    assert_eq!(server.requests(), before);
    assert_eq!(results(&out).1.len(), scenarios.len());
    // --retry-errors asks only the one that failed with an error.
    let errors = records.iter().filter(|r| r["choice"] == "error").count();
    let retried = eval(
        &suite,
        &out,
        &server.url,
        &["--timeout", "1", "--retry-errors"],
    );
    assert!(retried.status.success());
    assert_eq!(server.requests(), before + errors);
    assert_no_key(&dir, &[&again, &retried]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gives_up_after_the_retries_and_says_why() {
    let dir = temp("give-up");
    let suite = suite(&dir, 2);
    let server = Stub::start(|_: &Seen| Reply::Status {
        code: 503,
        retry_after: Some("0".into()),
        body: "overloaded".into(),
        delay: Duration::ZERO,
    });
    let out = dir.join("results.jsonl");
    let run = eval(&suite, &out, &server.url, &["--max-retries", "2"]);
    assert!(run.status.success());
    let (_, records) = results(&out);
    assert_eq!(records.len(), 4);
    for r in &records {
        assert_eq!(r["choice"], "error");
        assert_eq!(r["attempts"], 3);
        let raw = r["raw"].as_str().unwrap();
        assert!(raw.contains("gave up after 3 attempts: HTTP 503"), "{raw}");
        assert!(raw.contains("overloaded"), "{raw}");
    }
    assert_eq!(server.requests(), 12);
    // A client error is not retried.
    let server = Stub::start(|s: &Seen| Reply::Status {
        code: 401,
        retry_after: None,
        body: format!("bad key {}", s.authorization.clone().unwrap_or_default()),
        delay: Duration::ZERO,
    });
    let out = dir.join("unauthorized.jsonl");
    let run = eval(&suite, &out, &server.url, &[]);
    assert!(run.status.success());
    let (_, records) = results(&out);
    assert!(
        records
            .iter()
            .all(|r| r["choice"] == "error" && r["attempts"] == 1)
    );
    assert!(records[0]["raw"].as_str().unwrap().contains("HTTP 401"));
    assert_eq!(server.requests(), 4);
    // Nothing listening: the run stops before the first request (Q0501), at once, and no
    // results file is made.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let out = dir.join("refused.jsonl");
    let started = std::time::Instant::now();
    let run = eval(&suite, &out, &url, &["--max-retries", "5"]);
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("Q0501") && err.contains(&url), "{err}");
    assert!(err.contains("nothing was asked"), "{err}");
    assert!(!out.exists(), "no results file");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "it fails at once"
    );
    assert_no_key(&dir, &[&run]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The first failed answer of each kind is said on stderr as it happens, before the summary
/// and once per kind, naming its scenario, with the key hidden as the journal hides it; no
/// progress bar is drawn where stderr is not a terminal. A server that is not there stops the
/// run before any answer, so nothing fails one by one.
#[test]
fn the_first_failure_of_each_kind_is_said_as_it_happens() {
    let dir = temp("first-failure");
    let suite = suite(&dir, 6);
    // In turn: an error that echoes the key, an answer that names no option, an answer.
    let server = Stub::start(|s: &Seen| match s.n % 3 {
        1 => Reply::Status {
            code: 400,
            retry_after: None,
            body: format!(
                "bad request from {}",
                s.authorization.clone().unwrap_or_default()
            ),
            delay: Duration::ZERO,
        },
        2 => Reply::Answer {
            text: "Perhaps the weather\nwill be nice.".into(),
            tokens: vec![],
            delay: Duration::ZERO,
        },
        _ => answer(0),
    });
    let out = dir.join("results.jsonl");
    let run = eval(&suite, &out, &server.url, &["--max-retries", "0"]);
    assert!(run.status.success(), "{}", cli::stderr(&run));
    let err = cli::stderr(&run);
    let (_, records) = results(&out);
    let first = |kind: &str| {
        records
            .iter()
            .find(|r| r["choice"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in {records:?}"))
    };
    let (error, unparsed) = (first("error"), first("unparsed"));
    let error_line = format!(
        "first error (scenario {} #{}, steer none): ",
        error["scenario"].as_str().unwrap(),
        error["index"]
    );
    let unparsed_line = format!(
        "first unparsed answer (scenario {} #{}, steer none): \"Perhaps the weather will be nice.\"\n",
        unparsed["scenario"].as_str().unwrap(),
        unparsed["index"]
    );
    assert_eq!(err.matches("first error (").count(), 1, "{err}");
    assert_eq!(err.matches("first unparsed answer (").count(), 1, "{err}");
    assert_eq!(err.matches(&unparsed_line).count(), 1, "{err}");
    let summary = err.find(" requests: ").expect("the summary");
    let error_at = err.find(&error_line).expect("the first error's line");
    assert!(
        error_at < summary && err.find(&unparsed_line).unwrap() < summary,
        "{err}"
    );
    // What it says is what the journal holds, the key hidden alike.
    let said = err[error_at + error_line.len()..].lines().next().unwrap();
    assert!(
        said.contains("HTTP 400") && said.contains("bad request from Bearer ***"),
        "{said}"
    );
    assert!(error["raw"].as_str().unwrap().starts_with(said), "{said}");
    // Without a terminal, no bar: its message never reaches stderr.
    assert!(!err.contains("eta ") && !err.contains('\r'), "{err}");
    assert_no_key(&dir, &[&run]);

    // Nothing listening: the run stops before its first request, so no answer fails.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/v1", closed.local_addr().unwrap());
    drop(closed);
    let run = eval(&suite, &dir.join("dead.jsonl"), &url, &[]);
    assert_eq!(run.status.code(), Some(1));
    let err = cli::stderr(&run);
    assert!(
        err.contains("Q0501") && !err.contains("first error"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn too_many_errors_in_a_row_stop_the_run_and_a_rerun_resumes() {
    let dir = temp("max-errors");
    let suite = suite(&dir, 50);
    // Broken until told otherwise.
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let switch = healthy.clone();
    let failing = Stub::start(move |_: &Seen| {
        if switch.load(std::sync::atomic::Ordering::SeqCst) {
            answer(0)
        } else {
            Reply::Status {
                code: 500,
                retry_after: None,
                body: "broken".into(),
                // Slow enough that the run stops long before it has asked them all.
                delay: Duration::from_millis(10),
            }
        }
    });
    let out = dir.join("results.jsonl");
    let run = eval(
        &suite,
        &out,
        &failing.url,
        &["--max-retries", "0", "--max-errors", "3"],
    );
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    // The writer sees the answers as the worker hands them over (at least every few
    // milliseconds, so a fast stub's come in a batch): the run stops at the first batch
    // that makes 3 or more in a row, keeping every answer it received.
    assert!(
        err.contains("Q0502") && err.contains("requests in a row failed"),
        "{err}"
    );
    assert!(err.contains("HTTP 500"), "{err}");
    let (_, records) = results(&out);
    assert!(
        records.len() >= 3 && records.len() < 100,
        "{}",
        records.len()
    );
    assert_eq!(
        records.len(),
        failing.requests(),
        "every answer received is kept"
    );
    // The server is back: the same command resumes, asking the failed ones again.
    let before = failing.requests();
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    let run = eval(
        &suite,
        &out,
        &failing.url,
        &["--max-retries", "0", "--max-errors", "3", "--retry-errors"],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        failing.requests() - before,
        100,
        "50 scenarios and their twins"
    );
    let (_, records) = results(&out);
    let last: std::collections::BTreeMap<u64, &str> = records
        .iter()
        .map(|r| (r["index"].as_u64().unwrap(), r["choice"].as_str().unwrap()))
        .collect();
    assert_eq!(last.len(), 100);
    assert!(last.values().all(|c| *c != "error"), "{last:?}");
    healthy.store(false, std::sync::atomic::Ordering::SeqCst);
    // --max-errors 0 never stops.
    let out = dir.join("never.jsonl");
    let run = eval(
        &suite,
        &out,
        &failing.url,
        &["--max-retries", "0", "--max-errors", "0"],
    );
    assert!(run.status.success());
    assert_eq!(results(&out).1.len(), 100);
    // The summary says what the failures were: how many of each kind, and the first.
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("  100 error; the first: gave up after 1 attempt: HTTP 500"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// One request of `adapter` for a two-option scenario: how long it took, and what it said.
fn one_request(adapter: &OpenAi) -> (Duration, Result<eval::Decision, eval::AdapterError>) {
    let options: Vec<eval::Choice> = ["A", "B"]
        .iter()
        .map(|l| eval::Choice {
            label: l.to_string(),
            action: l.to_lowercase(),
            text: format!("Option {l}"),
            upholds: vec![],
            violates: vec![],
            ..Default::default()
        })
        .collect();
    let request = eval::Request::new("s1", "Which?", &options);
    let started = Instant::now();
    let decided = adapter.decide(&request);
    (started.elapsed(), decided)
}

/// An adapter asking `url`, allowed `timeout` a request and no retry.
fn impatient(url: &str, timeout: Duration) -> OpenAi {
    let mut options = OpenAiOptions::new(url, "stub-model");
    options.timeout = timeout;
    options.max_retries = 0;
    OpenAi::new(options)
}

/// The timeout bounds every part of a request: connecting, waiting for the answer, and
/// the whole of it (an answer that comes a byte at a time, each soon after the last).
#[test]
fn every_timeout_fires_connecting_waiting_and_the_whole_request() {
    let timeout = Duration::from_millis(500);
    let gave_up = "gave up after 1 attempt: no answer within 0.5 s";
    // Connecting: a server whose queue of connections not yet accepted is full, so that the
    // system drops what else comes (no answer, not a refusal).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    {
        use std::os::fd::AsRawFd;
        // SAFETY: listen(2) on a socket this test owns, to shorten its queue.
        assert_eq!(unsafe { libc::listen(listener.as_raw_fd(), 0) }, 0);
    }
    let mut waiting = Vec::new();
    let mut full = false;
    for _ in 0..16 {
        match std::net::TcpStream::connect_timeout(&address, Duration::from_millis(200)) {
            Ok(stream) => waiting.push(stream),
            Err(_) => {
                full = true;
                break;
            }
        }
    }
    assert!(full, "the queue of {address} never filled");
    let (took, decided) = one_request(&impatient(&format!("http://{address}/v1"), timeout));
    let e = decided.expect_err("no connection can be made");
    // The message says the timeout stopped it (a refusal or an answer would say otherwise);
    // how long it took depends on the machine, so it is only shown.
    assert_eq!(e.message, gave_up, "after {took:?}");
    drop(waiting);
    // Waiting for the answer: a server that says nothing for 3 s.
    let silent = Stub::start(|_: &Seen| Reply::Hang(Duration::from_secs(3)));
    let (took, decided) = one_request(&impatient(&silent.url, timeout));
    assert_eq!(
        decided.expect_err("no answer").message,
        gave_up,
        "after {took:?}"
    );
    // The whole request: the answer's 200-odd bytes at one every 10 ms take 2 s; each read
    // gets a byte in time, so only the deadline on the whole can stop it.
    let slow = Stub::start(|_: &Seen| Reply::Trickle {
        text: "B".into(),
        every: Duration::from_millis(10),
    });
    let (took, decided) = one_request(&impatient(&slow.url, timeout));
    // Without the deadline on the whole, this answer is read (below): the message is the
    // proof that the deadline stopped it.
    assert_eq!(
        decided.expect_err("too slow").message,
        gave_up,
        "after {took:?}"
    );
    // Given the time, the same answer is read.
    let (_, decided) = one_request(&impatient(&slow.url, Duration::from_secs(30)));
    assert_eq!(
        decided.expect("a decision").answer,
        Some(eval::Answer::Option(1))
    );
}

#[test]
fn too_many_requests_lowers_the_concurrency() {
    let dir = temp("backoff");
    let suite = suite(&dir, 20);
    // The first 8 requests are turned away (slowly, so that they overlap); the rest are
    // answered after a short think.
    let server = Stub::start(|s: &Seen| {
        if s.n <= 8 {
            Reply::Status {
                code: 429,
                retry_after: Some("0".into()),
                body: "{}".into(),
                delay: Duration::from_millis(150),
            }
        } else {
            answer(preferred(&s.prompt)).after(Duration::from_millis(30))
        }
    });
    let mut options = OpenAiOptions::new(server.url.clone(), "stub-model");
    options.concurrency = 8;
    options.timeout = Duration::from_secs(5);
    let adapter = OpenAi::new(options);
    let settings = Settings {
        concurrency: 8,
        ..Settings::default()
    };
    let out = dir.join("results.jsonl");
    let outcome = eval::run(&suite, &out, &adapter, &settings, &mut |_| {}).unwrap();
    assert_eq!(outcome.answered, 40);
    let log = server.log();
    let first: usize = log.iter().take(8).map(|s| s.in_flight).max().unwrap();
    let after: usize = log
        .iter()
        .skip(8)
        .take(6)
        .map(|s| s.in_flight)
        .max()
        .unwrap();
    assert!(first >= 6, "the run did not reach its concurrency: {first}");
    assert!(
        after <= 3,
        "in flight after the 429s: {after} (before: {first})"
    );
    // It grows back, never past the run's concurrency.
    assert!(server.max_in_flight() <= 8);
    assert!(adapter.concurrency_limit() > 1 && adapter.concurrency_limit() <= 8);
    let (_, records) = results(&out);
    let retried = records.iter().filter(|r| r["attempts"] == 2).count();
    assert_eq!(retried, 8);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn action_labels_and_modes() {
    let dir = temp("modes");
    let suite = suite(&dir, 3);
    // Answers "Action 2", split into the tokens "Action" and " 2".
    let server = Stub::start(|s: &Seen| {
        if s.prompt.contains("Action 1") {
            Reply::Answer {
                text: "Action 2".into(),
                tokens: vec![
                    (
                        "Action".into(),
                        vec![("Action".into(), 0.9), ("I".into(), 0.1)],
                    ),
                    (
                        " 2".into(),
                        vec![(" 2".into(), 0.6), (" 1".into(), 0.3), ("2".into(), 0.1)],
                    ),
                ],
                delay: Duration::ZERO,
            }
        } else {
            // Without logprobs asked, the stub sends none; the text says B.
            answer(1)
        }
    });
    let run = |mode: Mode, labels: Labels, name: &str| {
        let mut options = OpenAiOptions::new(server.url.clone(), "m");
        options.mode = mode;
        options.seed = Some(7);
        let adapter = OpenAi::new(options);
        let settings = Settings {
            presentation: Presentation {
                labels,
                ..Presentation::default()
            },
            concurrency: 3,
            ..Settings::default()
        };
        let out = dir.join(name);
        eval::run(&suite, &out, &adapter, &settings, &mut |_| {}).unwrap();
        (adapter.fingerprint(), results(&out).1)
    };
    let (fingerprint, records) = run(Mode::Both, Labels::Actions, "actions.jsonl");
    assert!(
        fingerprint.ends_with("/m/temperature=0/max_tokens=16/seed=7/mode=both"),
        "{fingerprint}"
    );
    for r in &records {
        let second = r["order"][1].as_str().unwrap();
        assert_eq!(r["choice"], second);
        assert_eq!(r["readings"]["logprobs"], second);
        assert_eq!(r["readings"]["parse"], second);
        assert!(close(r["probabilities"][second].as_f64().unwrap(), 0.7));
    }
    let (_, records) = run(Mode::Parse, Labels::Letters, "parse.jsonl");
    let log = server.log();
    assert!(log.last().unwrap().body.get("logprobs").is_none());
    for r in &records {
        assert_eq!(r["choice"], r["order"][1]);
        assert!(r["probabilities"].is_null());
        assert!(r["readings"].get("logprobs").is_none());
        assert_eq!(r["readings"]["parse"], r["order"][1]);
    }
    let (_, records) = run(Mode::Logprobs, Labels::Letters, "logprobs.jsonl");
    for r in &records {
        assert_eq!(r["choice"], r["order"][1]);
        assert!(r["readings"].get("parse").is_none());
        assert!(close(
            r["probabilities"][r["order"][1].as_str().unwrap()]
                .as_f64()
                .unwrap(),
            0.7 / 0.9
        ));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The (scenario, choice) pairs of a results file, checking there are no duplicates.
fn pairs(path: &Path) -> BTreeSet<(String, String)> {
    let (header, records) = results(path);
    assert!(header["adapter"].as_str().unwrap().starts_with("openai/"));
    let set: BTreeSet<(String, String)> = records
        .iter()
        .map(|r| {
            (
                r["scenario"].as_str().unwrap().to_string(),
                r["choice"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        set.len(),
        records.len(),
        "duplicate results in {}",
        path.display()
    );
    set
}

#[test]
fn a_killed_run_resumes_to_the_same_results() {
    let dir = temp("kill");
    let suite = suite(&dir, 20);
    let server =
        Stub::start(|s: &Seen| answer(preferred(&s.prompt)).after(Duration::from_millis(40)));
    let whole = dir.join("whole.jsonl");
    let run = eval(&suite, &whole, &server.url, &["--concurrency", "2"]);
    assert!(run.status.success());
    let expected = pairs(&whole);
    assert_eq!(expected.len(), 40);

    let killed = dir.join("killed.jsonl");
    let before = server.requests();
    let mut child = bin()
        .arg("eval")
        .arg(&suite)
        .args([
            "--adapter",
            "openai",
            "--model",
            "stub-model",
            "--base-url",
            &server.url,
        ])
        .args(["--api-key-env", KEY_VAR, "--concurrency", "2", "-o"])
        .arg(&killed)
        .arg("--cache-dir")
        .arg(killed.with_extension("cache"))
        .env(KEY_VAR, KEY)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let lines = std::fs::read_to_string(&killed).map_or(0, |t| t.lines().count());
        if lines >= 8 {
            break;
        }
        assert!(Instant::now() < deadline, "the run did not start");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let partial = pairs(&killed);
    assert!(partial.len() < 40, "killed too late to test anything");
    // A write cut short by the kill.
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&killed)
        .unwrap()
        .write_all(br#"{"scenario":"s0","index":3,"tw"#)
        .unwrap();
    let asked_before_kill = server.requests() - before;
    let resumed = eval(&suite, &killed, &server.url, &["--concurrency", "2"]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let stderr = String::from_utf8_lossy(&resumed.stderr);
    assert!(
        stderr.contains(&format!("{} resumed", partial.len())),
        "{stderr}"
    );
    assert_eq!(pairs(&killed), expected);
    // The resumed run asks at most what the journal lacks: nothing written before the kill
    // is asked again. (An answer received but not yet written when the kill came comes
    // from the response cache, or is asked again.)
    let asked_after_kill = server.requests() - before - asked_before_kill;
    assert!(
        asked_after_kill <= 40 - partial.len(),
        "{asked_after_kill} requests after the kill, {} answers kept",
        partial.len()
    );
    assert!(asked_before_kill + asked_after_kill >= 40);
    assert_no_key(&dir, &[&run, &resumed]);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A small real model behind an OpenAI-compatible server (`scripts/llm-server.py`), when
/// `QUANDARY_LLM_URL` gives its base URL.
#[test]
fn a_real_model_answers_every_scenario() {
    let Some(url) = std::env::var("QUANDARY_LLM_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
    else {
        tools::skip(
            "a_real_model_answers_every_scenario",
            "QUANDARY_LLM_URL does not give the small model's server (scripts/llm-server.py)",
        );
        return;
    };
    let dir = temp("real");
    let suite = suite(&dir, 5);
    let scenarios = scenarios(&suite);
    assert_eq!(scenarios.len(), 10);
    // Forced choice read two ways, and reasoning: every answer is an option, or said to be
    // unparsed or refused; none is an error, none is lost.
    for (mode, answer, tokens) in [
        ("logprobs", "choice", "8"),
        ("parse", "choice", "8"),
        ("both", "reasoning", "96"),
    ] {
        let out = dir.join(format!("{mode}-{answer}.jsonl"));
        let run = smollm2("eval", &url)
            .arg(&suite)
            .args([
                "--mode",
                mode,
                "--answer",
                answer,
                "--max-tokens",
                tokens,
                "--reasoning-tokens",
                tokens,
                "--timeout",
                "120",
                "--concurrency",
                "2",
            ])
            .arg("-o")
            .arg(&out)
            .arg("--no-cache")
            .output()
            .unwrap();
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (header, records) = results(&out);
        assert_eq!(header["parameters"]["mode"], mode);
        assert_eq!(records.len(), 10);
        for r in &records {
            let order: Vec<&str> = r["order"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let choice = r["choice"].as_str().unwrap();
            assert!(
                order.contains(&choice) || choice == "unparsed" || choice == "refused",
                "{mode}/{answer}: neither an action nor a reading's failure: {r}"
            );
            assert!(r["tokens"]["prompt"].as_u64().unwrap() > 0, "{r}");
            assert!(r["raw"].is_string(), "the answer's text is kept: {r}");
            if order.contains(&choice) {
                assert!(r["rule"].is_string(), "an option read by a rule: {r}");
            }
            match (mode, answer) {
                ("logprobs", _) => {
                    let p = r["probabilities"].as_object().expect("probabilities");
                    let values: Vec<f64> = p.values().map(|v| v.as_f64().unwrap()).collect();
                    assert_eq!(values.len(), order.len());
                    assert!(
                        values
                            .iter()
                            .all(|v| v.is_finite() && (0.0..=1.0).contains(v)),
                        "{r}"
                    );
                    assert!((values.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{r}");
                    let mass = r["label_mass"].as_f64().expect("the mass on the labels");
                    assert!(mass > 0.0 && mass <= 1.0, "{r}");
                    // The log-probabilities decide only where the model answered with a label.
                    if r["rule"] == "logprobs" {
                        assert_eq!(r["readings"]["logprobs"], choice);
                    }
                }
                (_, "reasoning") => {
                    assert!(r["probabilities"].is_null(), "no logprobs asked: {r}");
                    assert_eq!(r["readings"]["parse"], choice);
                }
                _ => assert_eq!(r["readings"]["parse"], choice),
            }
        }
        eprintln!(
            "real model, {mode}/{answer}: {:?}",
            records
                .iter()
                .map(|r| r["choice"].as_str().unwrap_or("?").to_string())
                .collect::<Vec<_>>()
        );
    }
    // Asked in Chinese, reasoning first: every answer read in Chinese (or English), or
    // said to be unparsed or refused.
    let town = town_suite(&dir);
    let out = dir.join("zh.jsonl");
    let run = smollm2("eval", &url)
        .arg(&town)
        .args([
            "--answer",
            "reasoning",
            "--lang",
            "zh",
            "--reasoning-tokens",
            "96",
        ])
        .args(["--timeout", "120", "--concurrency", "2", "--no-cache", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (header, records) = results(&out);
    assert_eq!(header["lang"], "zh");
    assert_eq!(records.len(), 6);
    for r in &records {
        let choice = r["choice"].as_str().unwrap();
        assert!(
            ["refuse", "allow", "unparsed", "refused"].contains(&choice),
            "zh: neither an action nor a reading's failure: {r}"
        );
        assert!(r["raw"].is_string(), "{r}");
    }
    // Free-form answers to the civics study, judged by the same model reasoning first: every
    // answer kept whole, every verdict a stance or unplaceable.
    let folder = dir.join("civics");
    let run = smollm2("run", &url)
        .args(["scenarios/civics.qd", "-o"])
        .arg(&folder)
        .args(["--reasoning-tokens", "96", "--judge-answer", "reasoning"])
        .args(["--timeout", "120", "--concurrency", "2", "--no-cache"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let answers = cli::json_lines(folder.join("results.jsonl"));
    assert_eq!(answers.len(), 5);
    for r in &answers[1..] {
        assert!(r["choice"] == "free" && r["raw"].is_string(), "{r}");
    }
    let judged = cli::json_lines(folder.join("judged.jsonl"));
    assert_eq!(judged.len(), 5);
    for r in &judged[1..] {
        let choice = r["choice"].as_str().unwrap();
        assert!(
            [
                "agree", "disagree", "neutral", "refusal", "unparsed", "refused"
            ]
            .contains(&choice),
            "{r}"
        );
    }
    eprintln!(
        "real model, civics free answers judged: {:?}",
        judged[1..]
            .iter()
            .map(|r| format!("{} ({})", r["choice"], r["rule"]))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "real model, zh/reasoning: {:?}",
        records
            .iter()
            .map(|r| format!("{} ({})", r["choice"], r["rule"]))
            .collect::<Vec<_>>()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Fails when any piece of the key eight bytes long is in `text`.
fn assert_no_key_piece(text: &str, where_: &str) {
    for start in 0..=KEY.len() - 8 {
        let piece = &KEY[start..start + 8];
        assert!(
            !text.contains(piece),
            "`{piece}` of the key is in {where_}: {text}"
        );
    }
}

#[test]
fn no_piece_of_the_key_survives_an_error_body_cut_short() {
    let dir = temp("key_pieces");
    let suite = suite(&dir, 2);
    // The key straddles the 500th character, where error bodies are cut; a second server
    // echoes the key cut short, and a third ends its body with the key's first bytes.
    let stub = Stub::start(|seen: &Seen| {
        let body = match seen.n % 3 {
            0 => format!("{}you sent: Bearer {KEY} and more", "x".repeat(480)),
            1 => format!("invalid key: {}…", &KEY[..14]),
            _ => format!("invalid key: {}", &KEY[..6]),
        };
        Reply::Status {
            code: 401,
            retry_after: None,
            body,
            delay: Duration::ZERO,
        }
    });
    let out = eval(&suite, &dir.join("results.jsonl"), &stub.url, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.join("results.jsonl")).unwrap();
    assert!(text.contains("HTTP 401"), "{text}");
    assert!(text.contains("***"), "{text}");
    assert_no_key_piece(&text, "the results");
    assert_no_key_piece(&String::from_utf8_lossy(&out.stderr), "stderr");
    // The last bytes of a body that are the key's first are hidden too.
    assert!(
        !text.contains(&format!("invalid key: {}\"", &KEY[..6])),
        "{text}"
    );
}

#[test]
fn a_key_in_the_base_url_is_not_recorded() {
    let dir = temp("key_in_url");
    let suite = suite(&dir, 2);
    let stub = Stub::start(|_: &Seen| Reply::answer("A", " A", &[(" A", 0.9), (" B", 0.1)]));
    let url = format!("{}?api-key=QUERY-SECRET-4711&api-version=2024", stub.url);
    let out = eval(&suite, &dir.join("results.jsonl"), &url, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (header, records) = results(&dir.join("results.jsonl"));
    assert_eq!(records.len(), 4);
    assert!(
        records.iter().all(|r| r["choice"] != "error"),
        "{records:?}"
    );
    assert!(
        header["adapter"]
            .as_str()
            .unwrap()
            .contains("?api-key=***&api-version=***"),
        "{header}"
    );
    let mut todo = vec![dir.clone()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                todo.push(path);
            } else {
                let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
                assert!(!text.contains("QUERY-SECRET"), "{}", path.display());
            }
        }
    }
    // The query reached the server after the path.
    assert!(stub.requests() >= 1);
}

#[test]
fn an_absurd_retry_after_is_an_error_not_a_crash() {
    let dir = temp("retry_after");
    let suite = suite(&dir, 1);
    for value in ["18446744073709551615", "1e23", "-5", "soon"] {
        let value = value.to_string();
        let stub = Stub::start(move |_: &Seen| Reply::Status {
            code: 429,
            retry_after: Some(value.clone()),
            body: "slow down".into(),
            delay: Duration::ZERO,
        });
        let results = dir.join("results.jsonl");
        let _ = std::fs::remove_file(&results);
        let out = eval(&suite, &results, &stub.url, &["--max-retries", "0"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (_, records) = self::results(&results);
        assert!(
            records.iter().all(|r| r["choice"] == "error"),
            "{records:?}"
        );
    }
}

/// What the reasoning stub answers a prompt: one of eight shapes, by the prompt's hash.
fn reasoning_shape(prompt: &str) -> usize {
    (hash(prompt) % 8) as usize
}

/// The text of option `label` in a prompt laid out by default (`B. Favour loyalty`).
fn option_text<'a>(prompt: &'a str, label: &str) -> &'a str {
    prompt
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label}. ")))
        .unwrap_or_default()
}

#[test]
fn reasoning_answers_in_every_shape_end_in_a_reading() {
    let dir = temp("reasoning");
    let suite = suite(&dir, 12);
    let stub = Stub::start(|seen: &Seen| {
        let text = match reasoning_shape(&seen.prompt) {
            0 => "Let me think. A helps one person, B helps more.\nFinal answer: B".to_string(),
            1 => "Both matter, but:\nAnswer: (A)".to_string(),
            2 => "A is tempting. In the end, **B**".to_string(),
            3 => "<think>B? No: A keeps the promise.</think>\nFinal answer: A".to_string(),
            4 => {
                // A server that returns the reasoning apart (vLLM, DeepSeek).
                let body = serde_json::json!({
                    "choices": [{"message": {
                        "role": "assistant",
                        "content": "Final answer: B",
                        "reasoning_content": "Weighing both options carefully."
                    }}],
                    "usage": {"prompt_tokens": 40, "completion_tokens": 9}
                });
                return Reply::Body(body.to_string());
            }
            5 => "I cannot choose between these; both are wrong.".to_string(),
            6 => "Lorem ipsum dolor sit amet.".to_string(),
            _ => format!(
                "It is hard.\n\nI would {}.",
                option_text(&seen.prompt, "B").to_lowercase()
            ),
        };
        Reply::Answer {
            text,
            tokens: Vec::new(),
            delay: Duration::ZERO,
        }
    });
    let out = dir.join("results.jsonl");
    let run = eval(&suite, &out, &stub.url, &["--answer", "reasoning"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    // Asked without logprobs, with room to think.
    for seen in stub.log() {
        assert!(seen.body.get("logprobs").is_none(), "{}", seen.body);
        assert_eq!(seen.body["max_tokens"], 1024);
        assert!(seen.prompt.contains("Final answer: X"), "{}", seen.prompt);
    }
    let (header, records) = results(&out);
    assert!(
        header["presentation"]
            .as_str()
            .unwrap()
            .ends_with("/reasoning"),
        "{header}"
    );
    let by_id: HashMap<String, ScenarioLine> = scenarios(&suite)
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let mut shapes_seen = BTreeSet::new();
    assert_eq!(records.len(), 24);
    for r in &records {
        let scenario = &by_id[r["scenario"].as_str().unwrap()];
        let prompt = prompt_of_mode(scenario);
        let shape = reasoning_shape(&prompt);
        shapes_seen.insert(shape);
        let order: Vec<&str> = r["order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let (choice, rule) = match shape {
            0 => (order[1], "final answer"),
            1 => (order[0], "answer"),
            2 => (order[1], "bold"),
            3 => (order[0], "final answer"),
            4 => (order[1], "final answer"),
            5 => ("refused", "refusal"),
            6 => ("unparsed", ""),
            _ => (order[1], "option text"),
        };
        assert_eq!(r["choice"], choice, "shape {shape}: {r}");
        assert_eq!(r["rule"].as_str().unwrap_or(""), rule, "shape {shape}: {r}");
        match shape {
            3 => assert_eq!(r["reasoning"], "B? No: A keeps the promise."),
            4 => assert_eq!(r["reasoning"], "Weighing both options carefully."),
            _ => assert!(r.get("reasoning").is_none(), "{r}"),
        }
    }
    assert!(
        shapes_seen.len() >= 6,
        "the suite reaches most shapes: {shapes_seen:?}"
    );
}

/// The user prompt the run sends for `scenario` asking for reasoning.
fn prompt_of_mode(scenario: &ScenarioLine) -> String {
    let p = Presentation {
        mode: quandary::model::AnswerMode::Reasoning,
        ..Presentation::default()
    };
    p.prompt(scenario, &p.options(scenario))
}

/// Sampled at a temperature, a model may answer with a label that is not its most probable
/// one: the choice is the label it gave, and the `logprobs` reading the most probable.
#[test]
fn a_sampled_label_is_the_choice_and_the_most_probable_a_reading() {
    let dir = temp("sampled");
    let suite = suite(&dir, 3);
    let server =
        Stub::start(|_: &Seen| Reply::answer("B", " B", &[(" A", 0.7), (" B", 0.3), (" I", 0.05)]));
    let mut options = OpenAiOptions::new(server.url.clone(), "m");
    options.temperature = 1.0;
    let adapter = OpenAi::new(options);
    let out = dir.join("sampled.jsonl");
    eval::run(&suite, &out, &adapter, &Settings::default(), &mut |_| {}).unwrap();
    let records = results(&out).1;
    assert!(!records.is_empty());
    for r in &records {
        let (first, second) = (
            r["order"][0].as_str().unwrap(),
            r["order"][1].as_str().unwrap(),
        );
        assert_eq!(r["choice"], second, "{r}");
        assert_eq!(r["rule"], "logprobs", "{r}");
        assert_eq!(r["readings"]["logprobs"], first, "{r}");
        assert_eq!(r["readings"]["parse"], second, "{r}");
        assert!(
            close(r["probabilities"][first].as_f64().unwrap(), 0.7),
            "{r}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Expands suite `queue` of the Chinese and German fixture into `dir`.
fn town_suite(dir: &Path) -> PathBuf {
    let path = dir.join("town.jsonl");
    let out = bin()
        .args(["expand", "tests/eval/town.qd", "--suite", "queue", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

#[test]
fn answers_in_other_languages_end_in_a_reading() {
    let dir = temp("languages");
    let suite = town_suite(&dir);
    // By the prompt's hash: a refusal in the prompt's language, its final-answer line
    // (Chinese in full-width forms), or text naming nothing.
    let shape = |prompt: &str| (hash(prompt) % 3) as usize;
    let stub = Stub::start(move |seen: &Seen| {
        let zh = seen.prompt.contains("最终答案");
        let de = seen.prompt.contains("Endgültige Antwort");
        let text = match (shape(&seen.prompt), zh, de) {
            (0, true, _) => "作为人工智能，我无法做出这个选择。",
            (0, _, true) => "Als KI kann ich mich hier nicht entscheiden.",
            (0, ..) => "I cannot choose between these.",
            (1, true, _) => "两者都有道理。\n\n最终答案：Ｂ",
            (1, _, true) => "Beides hat Gewicht.\n\nEndgültige Antwort: B",
            (1, ..) => "Both matter.\n\nFinal answer: B",
            _ => "Lorem ipsum dolor sit amet.",
        };
        Reply::Answer {
            text: text.into(),
            tokens: Vec::new(),
            delay: Duration::ZERO,
        }
    });
    let mut shapes = BTreeSet::new();
    for lang in ["zh", "de", "en"] {
        let out = dir.join(format!("{lang}.jsonl"));
        let mut extra = vec!["--answer", "reasoning"];
        if lang != "en" {
            extra.extend(["--lang", lang]);
        }
        let run = eval(&suite, &out, &stub.url, &extra);
        assert!(
            run.status.success(),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let (header, records) = results(&out);
        assert_eq!(header["lang"].as_str(), (lang != "en").then_some(lang));
        assert_eq!(records.len(), 6);
        let scenarios: HashMap<String, ScenarioLine> = scenarios(&suite)
            .into_iter()
            .map(|s| (s.id.clone(), s))
            .collect();
        for r in &records {
            let scenario = &scenarios[r["scenario"].as_str().unwrap()];
            let mut p = Presentation {
                mode: quandary::model::AnswerMode::Reasoning,
                ..Presentation::default()
            };
            if lang != "en" {
                p = p.in_language(None, lang).unwrap();
            }
            let prompt = p.prompt(scenario, &p.options(scenario));
            let s = shape(&prompt);
            shapes.insert(s);
            let (choice, rule) = match s {
                0 => ("refused", "refusal"),
                1 => ("allow", "final answer"),
                _ => ("unparsed", ""),
            };
            assert_eq!(r["choice"], choice, "{lang}, shape {s}: {r}");
            assert_eq!(r["rule"].as_str().unwrap_or(""), rule, "{lang}: {r}");
        }
    }
    assert_eq!(shapes.len(), 3, "every shape reached: {shapes:?}");
    // Every request of a run in a language was sent in it.
    let log = stub.log();
    assert_eq!(log.len(), 18);
    assert_eq!(log.iter().filter(|s| s.prompt.contains("摊位")).count(), 6);
    assert_eq!(
        log.iter()
            .filter(|s| s.prompt.contains("Stammkunde"))
            .count(),
        6
    );
}

#[test]
fn an_answer_cut_off_at_the_token_limit_is_read_only_by_an_explicit_final_answer() {
    let dir = temp("cut_off");
    let suite = town_suite(&dir);
    // By the prompt's hash: cut off after a bare last line, or after "Final answer: B".
    let explicit = |prompt: &str| hash(prompt).is_multiple_of(2);
    let stub = Stub::start(move |seen: &Seen| {
        let content = if explicit(&seen.prompt) {
            "Weighing it up.\n\nFinal answer: B"
        } else {
            "Weighing it up. The first option is\nB"
        };
        let body = serde_json::json!({
            "choices": [{"message": {"role": "assistant", "content": content},
                         "finish_reason": "length"}],
            "usage": {"prompt_tokens": 40, "completion_tokens": 96}
        });
        Reply::Body(body.to_string())
    });
    let out = dir.join("results.jsonl");
    let run = eval(&suite, &out, &stub.url, &["--answer", "reasoning"]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let by_id: HashMap<String, ScenarioLine> = scenarios(&suite)
        .into_iter()
        .map(|s| (s.id.clone(), s))
        .collect();
    let (_, records) = results(&out);
    let mut both = BTreeSet::new();
    for r in &records {
        let prompt = prompt_of_mode(&by_id[r["scenario"].as_str().unwrap()]);
        let e = explicit(&prompt);
        both.insert(e);
        let expected = if e { "allow" } else { "unparsed" };
        assert_eq!(r["choice"], expected, "{r}");
    }
    assert_eq!(both.len(), 2, "both shapes reached");
}

#[test]
fn free_answers_and_a_judge_through_the_same_server_end_in_a_verdict_or_unplaceable() {
    let dir = temp("judge");
    let stub = Stub::start(|seen: &Seen| {
        let judging = seen.prompt.contains("\n----\n");
        let text = match (judging, hash(&seen.prompt) % 3) {
            // The subject: free-form answers, one a refusal.
            (false, 0) => "I cannot take a side on this.".to_string(),
            (false, _) => "On balance I agree: it protects people.".to_string(),
            // The judge: a verdict by name, one at the end of its reasoning, or nothing it
            // can read.
            (true, 0) => "agree".to_string(),
            (true, 1) => "The answer avoids the question.\n\nFinal answer: refusal".to_string(),
            (true, _) => "Hmm, hard to say.".to_string(),
        };
        Reply::Answer {
            text,
            tokens: Vec::new(),
            delay: Duration::ZERO,
        }
    });
    let run = bin()
        .args(["run", "scenarios/civics.qd", "-o"])
        .arg(&dir)
        .args([
            "--adapter",
            "openai",
            "--model",
            "stub-model",
            "--base-url",
            &stub.url,
        ])
        .args(["--mode", "parse", "--no-cache"])
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let answers = cli::json_lines(dir.join("results.jsonl"));
    assert_eq!(answers.len(), 5);
    assert!(
        answers[1..]
            .iter()
            .all(|r| r["choice"] == "free" && r["raw"].is_string())
    );
    let judged = cli::json_lines(dir.join("judged.jsonl"));
    assert_eq!(judged.len(), 5, "one verdict per answer");
    let mut unplaceable = 0;
    for r in &judged[1..] {
        let choice = r["choice"].as_str().unwrap();
        assert!(
            ["agree", "disagree", "neutral", "refusal", "unparsed"].contains(&choice),
            "{r}"
        );
        unplaceable += usize::from(choice == "unparsed");
    }
    // Every judge request carried its answer, and was asked without logprobs for a label.
    let log = stub.log();
    let judge_requests: Vec<&Seen> = log
        .iter()
        .filter(|s| s.prompt.contains("\n----\n"))
        .collect();
    assert_eq!(judge_requests.len(), 4);
    assert!(judge_requests.iter().all(|s| {
        s.prompt
            .contains("agree: It agrees\ndisagree: It disagrees")
    }));
    let verdicts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("verdicts.json")).unwrap()).unwrap();
    assert_eq!(verdicts["verdicts"]["judged"], 4);
    assert_eq!(verdicts["verdicts"]["unplaceable"]["k"], unplaceable);
}

/// Answers far longer than the client's buffers stream through them; headers longer than
/// the input buffer (32 KiB) end the request at once with an error, not a crash or a wait.
/// Answers in every shape HTTP/1.1 allows (chunked, up to the close, after a
/// `100 Continue`, on a connection the server closes after it) are read, and a request
/// sent on a kept connection the server has closed is sent again on a new one without
/// counting as an attempt.
#[test]
fn answers_in_every_framing_are_read_and_closed_connections_asked_again() {
    let dir = temp("framing");
    let suite = suite(&dir, 40);
    let shapes = [
        Framing::Chunked,
        Framing::UntilClose,
        Framing::Continue,
        Framing::ThenClose,
    ];
    let server = Stub::start(move |s: &Seen| Reply::Framed {
        text: ["A", "B"][preferred(&s.prompt)].into(),
        framing: shapes[s.n % shapes.len()],
    });
    let out = dir.join("results.jsonl");
    let run = eval(
        &suite,
        &out,
        &server.url,
        &["--concurrency", "4", "--max-retries", "0"],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let (_, records) = results(&out);
    assert_eq!(records.len(), 80);
    for r in &records {
        assert_eq!(r["attempts"], 1, "{r}");
        let options = r["order"].as_array().unwrap();
        let prompt = scenarios(&suite)
            .into_iter()
            .find(|s| s.id == r["scenario"].as_str().unwrap())
            .map(|s| prompt_of(&s))
            .unwrap();
        assert_eq!(r["choice"], options[preferred(&prompt)], "{r}");
    }
    // Every request was asked once: none failed and none was sent twice.
    assert_eq!(server.log().len(), 80);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Through the cache, a run keeps its requests in flight as without it, and a second run is
/// answered by the cache alone, the server not asked again.
#[test]
fn a_cached_run_asks_many_at_once_and_a_second_run_asks_nothing() {
    use quandary::eval::cache::{Cache, Cached};
    let dir = temp("cached");
    let suite = suite(&dir, 30);
    let threads = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = threads.clone();
    let server = Stub::start(move |s: &Seen| {
        seen.fetch_max(asking_threads(), std::sync::atomic::Ordering::SeqCst);
        answer(preferred(&s.prompt)).after(Duration::from_millis(20))
    });
    let settings = Settings {
        concurrency: 8,
        ..Settings::default()
    };
    let cached = || {
        let mut options = OpenAiOptions::new(server.url.clone(), "stub-model");
        options.concurrency = 8;
        Cached::new(
            Box::new(OpenAi::new(options)),
            Cache::new(dir.join("cache")),
        )
    };
    let choices = |path: &Path| -> BTreeMap<u64, String> {
        results(path)
            .1
            .iter()
            .map(|r| (r["index"].as_u64().unwrap(), r["choice"].to_string()))
            .collect()
    };
    let first = cached();
    let out = dir.join("first.jsonl");
    let outcome = eval::run(&suite, &out, &first, &settings, &mut |_| {}).unwrap();
    assert_eq!(outcome.answered, 60);
    assert_eq!(server.max_in_flight(), 8);
    if Path::new("/proc/self/task").is_dir() {
        // Asked through the pipeline, not a thread a request.
        let threads = threads.load(std::sync::atomic::Ordering::SeqCst);
        assert!((1..8).contains(&threads), "{threads} asking threads");
    }
    let counters = first.counters();
    assert_eq!(counters.misses(), 60);
    let asked = server.log().len();
    assert_eq!(asked, 60);

    let second = cached();
    let again = dir.join("second.jsonl");
    eval::run(&suite, &again, &second, &settings, &mut |_| {}).unwrap();
    assert_eq!(server.log().len(), asked, "the cache answers every request");
    let counters = second.counters();
    assert_eq!(counters.hits(), 60);
    assert_eq!(choices(&out), choices(&again));
    let _ = std::fs::remove_dir_all(&dir);
}

/// The threads of this process that ask through a pipeline (Linux; 0 elsewhere).
fn asking_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm"))
                .is_ok_and(|name| name.trim() == "quandary-ask")
        })
        .count()
}

/// An HTTP proxy on 127.0.0.1 that relays each connection to the server its first
/// request names (a full URL, as a client sends a proxy), keeping every request line.
fn relay() -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(client.try_clone().unwrap());
                let mut upstream: Option<std::net::TcpStream> = None;
                let mut line = String::new();
                // Request after request: the line kept, the rest relayed as it comes.
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    if line.trim().is_empty() {
                        continue;
                    }
                    seen.lock().unwrap().push(line.trim().to_string());
                    if upstream.is_none() {
                        let target = line.split_whitespace().nth(1).unwrap_or_default();
                        let authority = target
                            .strip_prefix("http://")
                            .and_then(|t| t.split('/').next())
                            .unwrap_or_default();
                        let server = std::net::TcpStream::connect(authority).unwrap();
                        let mut back = server.try_clone().unwrap();
                        let mut to_client = client.try_clone().unwrap();
                        std::thread::spawn(move || {
                            let _ = std::io::copy(&mut back, &mut to_client);
                        });
                        upstream = Some(server);
                    }
                    let server = upstream.as_mut().unwrap();
                    let mut length = 0usize;
                    let mut head = line.clone();
                    loop {
                        let mut header = String::new();
                        if reader.read_line(&mut header).unwrap_or(0) == 0 {
                            return;
                        }
                        if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:")
                        {
                            length = v.trim().parse().unwrap_or(0);
                        }
                        head.push_str(&header);
                        if header.trim().is_empty() {
                            break;
                        }
                    }
                    let mut body = vec![0; length];
                    std::io::Read::read_exact(&mut reader, &mut body).unwrap();
                    server.write_all(head.as_bytes()).unwrap();
                    server.write_all(&body).unwrap();
                }
            });
        }
    });
    (url, lines)
}

/// `eval` asks through the HTTP proxy the environment names, unless `NO_PROXY` names the
/// server's host; a proxy of another kind stops the run before its first request.
#[test]
fn an_http_proxy_in_the_environment_is_asked_through_unless_no_proxy_names_the_host() {
    let dir = temp("proxy");
    let suite = suite(&dir, 10);
    let server = Stub::start(|s: &Seen| answer(preferred(&s.prompt)));
    let (proxy, lines) = relay();
    let run = |out: &str, env: &[(&str, &str)]| {
        let mut command = bin();
        command
            .arg("eval")
            .arg(&suite)
            .args(["--adapter", "openai", "--model", "stub-model"])
            .args(["--base-url", &server.url, "--no-cache", "-o"])
            .arg(dir.join(out));
        for (k, v) in env {
            command.env(k, v);
        }
        command.output().unwrap()
    };
    let through = run("through.jsonl", &[("HTTP_PROXY", &proxy)]);
    assert!(
        through.status.success(),
        "{}",
        String::from_utf8_lossy(&through.stderr)
    );
    assert_eq!(results(&dir.join("through.jsonl")).1.len(), 20);
    let relayed = lines.lock().unwrap().clone();
    let chat = format!("POST {}/chat/completions HTTP/1.1", server.url);
    assert_eq!(
        relayed.iter().filter(|l| **l == chat).count(),
        20,
        "{relayed:?}"
    );
    assert!(relayed.contains(&format!("GET {}/chat/completions HTTP/1.1", server.url)));
    // NO_PROXY names the host: the proxy is not asked.
    let direct = run(
        "direct.jsonl",
        &[("HTTP_PROXY", &proxy), ("NO_PROXY", "localhost,127.0.0.1")],
    );
    assert!(direct.status.success());
    assert_eq!(results(&dir.join("direct.jsonl")).1.len(), 20);
    assert_eq!(lines.lock().unwrap().len(), relayed.len());
    // A SOCKS proxy is not one quandary speaks: said before anything is asked.
    let asked = server.log().len();
    let socks = run("socks.jsonl", &[("ALL_PROXY", "socks5://127.0.0.1:1080")]);
    assert!(!socks.status.success());
    let err = String::from_utf8_lossy(&socks.stderr);
    assert!(
        err.contains("the model cannot be asked") && err.contains("socks5"),
        "{err}"
    );
    assert_eq!(server.log().len(), asked);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A run keeps its concurrency in flight on a few threads, not a thread a request: at
/// concurrency 32, the server sees 32 requests at once while the run asks on no more
/// threads than the machine has processors.
#[test]
fn many_requests_in_flight_on_few_threads() {
    if !Path::new("/proc/self/task").is_dir() {
        eprintln!("skipped: threads are counted through /proc/self/task (Linux)");
        return;
    }
    let dir = temp("threads");
    let suite = suite(&dir, 200);
    let asking = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = asking.clone();
    let server = Stub::start(move |s: &Seen| {
        // The run's asking threads, counted while requests are in flight.
        seen.fetch_max(asking_threads(), std::sync::atomic::Ordering::SeqCst);
        answer(preferred(&s.prompt)).after(Duration::from_millis(40))
    });
    let mut options = OpenAiOptions::new(server.url.clone(), "stub-model");
    options.concurrency = 32;
    let adapter = OpenAi::new(options);
    let settings = Settings {
        concurrency: 32,
        ..Settings::default()
    };
    let out = dir.join("results.jsonl");
    let outcome = eval::run(&suite, &out, &adapter, &settings, &mut |_| {}).unwrap();
    assert_eq!(outcome.answered, 400);
    assert_eq!(server.max_in_flight(), 32);
    let processors = std::thread::available_parallelism().map_or(1, usize::from);
    let threads = asking.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        (1..=processors.min(32)).contains(&threads),
        "{threads} asking threads on {processors} processors"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn long_answers_pass_and_over_long_headers_are_an_error() {
    let long = format!("B. {}", "Because it is kind. ".repeat(50_000));
    assert!(long.len() > 900_000);
    let stub = Stub::start(move |_: &Seen| Reply::Answer {
        text: long.clone(),
        tokens: vec![],
        delay: Duration::ZERO,
    });
    let (_, decided) = one_request(&impatient(&stub.url, Duration::from_secs(30)));
    let decided = decided.expect("a long answer is read");
    assert_eq!(decided.answer, Some(eval::Answer::Option(1)));
    assert!(decided.raw.as_ref().is_some_and(|raw| raw.len() > 900_000));

    let stub = Stub::start(|_: &Seen| Reply::Status {
        code: 200,
        retry_after: Some("7".repeat(40 << 10)),
        body: "{}".into(),
        delay: Duration::ZERO,
    });
    let (took, decided) = one_request(&impatient(&stub.url, Duration::from_secs(30)));
    let error = decided.expect_err("headers past the buffer are an error");
    assert!(
        error.message.starts_with("gave up after 1 attempt"),
        "{}",
        error.message
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
}
