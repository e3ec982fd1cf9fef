//! Hostile use of the command-line tool: two runs on one journal, a journal of another
//! expansion, special files as `-o`, endless input, absurd flags, programs that misbehave
//! (endless lines, leaked secrets, ignoring SIGTERM), control characters, a missing
//! framework. Each must end in a clear diagnostic, with nothing lost, leaked or left running.

#[path = "support/cli.rs"]
mod cli;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cli::{ok, scratch, stderr};

const AGENTS: &str = "tests/eval/agents.qd";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn bin() -> Command {
    cli::command(root())
}

fn run(args: &[&str]) -> Output {
    cli::quandary(root(), args)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// A suite of the agents fixture, expanded into `dir`.
fn suite(dir: &Path, count: &str) -> PathBuf {
    let path = dir.join("suite.jsonl");
    ok(
        root(),
        &[
            "expand",
            AGENTS,
            "--suite",
            "small",
            "--count",
            count,
            "-o",
            s(&path),
        ],
    );
    path
}

/// A shell program for the `command` adapter.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// `eval SUITE --adapter command --command PROGRAM --no-cache -o RESULTS`.
fn eval_with<'a>(suite: &'a Path, program: &'a Path, results: &'a Path) -> Vec<&'a str> {
    vec![
        "eval",
        s(suite),
        "--adapter",
        "command",
        "--command",
        s(program),
        "--no-cache",
        "-o",
        s(results),
    ]
}

#[cfg(unix)]
#[test]
fn two_runs_on_one_journal_the_second_is_refused() {
    let dir = scratch("hardening_lock");
    let suite = suite(&dir, "6");
    let results = dir.join("results.jsonl");
    // Answers "A" slowly, so the first run holds the journal for a while.
    let slow = script(
        &dir,
        "slow.sh",
        "while read -r line; do sleep 0.2; echo A; done",
    );
    let args = eval_with(&suite, &slow, &results);
    let first = bin()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first run has written its header.
    let start = Instant::now();
    while std::fs::read(&results).map_or(0, |b| b.len()) == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no header written"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let second = run(&args);
    assert_eq!(second.status.code(), Some(1));
    let err = stderr(&second);
    assert!(err.contains("is writing it"), "{err}");
    assert!(
        err.contains(&format!("pid {}", first.id())),
        "the holder is named: {err}"
    );
    let first = first.wait_with_output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    // The journal is whole: one header, every request once; the lock is gone.
    let text = std::fs::read_to_string(&results).unwrap();
    assert_eq!(text.matches("\"format\":\"results\"").count(), 1);
    assert_eq!(text.lines().count(), 1 + 12);
    assert!(!dir.join("results.jsonl.lock").exists());
    // Now the journal is free: a third run resumes it and asks nothing.
    let third = run(&args);
    assert!(third.status.success(), "{}", stderr(&third));
    assert!(stderr(&third).contains("0 asked"), "{}", stderr(&third));
}

#[test]
fn a_journal_of_another_expansion_is_refused() {
    let dir = scratch("hardening_mismatch");
    let suite = suite(&dir, "4");
    let results = dir.join("results.jsonl");
    ok(root(), &["eval", s(&suite), "-o", s(&results)]);
    // The same header, but the second answer is to another scenario at that index.
    let text = std::fs::read_to_string(&results).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut record: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
    record["scenario"] = "s00000000000000000000000000000000".into();
    lines[2] = record.to_string();
    let tampered = lines.join("\n") + "\n";
    std::fs::write(&results, &tampered).unwrap();
    let out = run(&["eval", s(&suite), "-o", s(&results)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("records another scenario at index"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(&results).unwrap(), tampered);
}

#[test]
fn blank_lines_in_a_journal_are_skipped_by_every_reader() {
    let dir = scratch("hardening_blank");
    let suite = suite(&dir, "4");
    let results = dir.join("results.jsonl");
    ok(root(), &["eval", s(&suite), "-o", s(&results)]);
    let text = std::fs::read_to_string(&results).unwrap();
    let spaced = text.replacen('\n', "\n\n  \n", 2);
    std::fs::write(&results, &spaced).unwrap();
    let resumed = run(&["eval", s(&suite), "-o", s(&results)]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(stderr(&resumed).contains("0 asked"), "{}", stderr(&resumed));
    let report = run(&["report", s(&results), "--format", "json"]);
    assert!(report.status.success(), "{}", stderr(&report));
}

#[test]
fn a_suite_cut_short_keeps_the_answers_before_the_cut_and_resumes_once_expanded_again() {
    let dir = scratch("hardening_cut_short");
    let suite = suite(&dir, "6");
    let whole = std::fs::read_to_string(&suite).unwrap();
    // Cut in the middle of the fifth line (the header, then four scenarios).
    let cut_at = whole.match_indices('\n').nth(3).unwrap().0 + 40;
    std::fs::write(&suite, &whole[..cut_at]).unwrap();
    let results = dir.join("results.jsonl");
    let out = run(&["eval", s(&suite), "-o", s(&results)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("line 5 is not a scenario"), "{err}");
    assert!(
        err.contains("line 5 stops before its scenario ends"),
        "{err}"
    );
    // The three scenarios before the cut are answered and kept.
    let kept = std::fs::read_to_string(&results).unwrap();
    assert_eq!(kept.lines().count(), 1 + 3, "{kept}");
    // Expanded again, the suite is the same, and the journal resumes.
    std::fs::write(&suite, &whole).unwrap();
    let resumed = run(&["eval", s(&suite), "-o", s(&results)]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    let rest = whole.lines().count() - 1 - 3;
    assert!(
        stderr(&resumed).contains(&format!("{rest} asked")),
        "{}",
        stderr(&resumed)
    );
    assert!(
        stderr(&resumed).contains("3 resumed"),
        "{}",
        stderr(&resumed)
    );
}

#[cfg(unix)]
#[test]
fn outputs_write_through_devices_fifos_and_links() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let dir = scratch("hardening_outputs");
    let suite = suite(&dir, "4");
    let results = dir.join("results.jsonl");
    ok(root(), &["eval", s(&suite), "-o", s(&results)]);
    let null_before = std::fs::metadata("/dev/null").unwrap();
    let commands: [&[&str]; 5] = [
        &["report", s(&results), "-o"],
        &["diff", s(&results), s(&results), "-o"],
        &["fit", s(&results), "-o"],
        &["export", s(&suite), "--to", "inspect", "-o"],
        &["export", s(&results), "--to", "preference-pairs", "-o"],
    ];
    for args in commands {
        let name = args[0];
        // A device stays a device.
        let mut with = args.to_vec();
        with.push("/dev/null");
        let out = run(&with);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let null_after = std::fs::metadata("/dev/null").unwrap();
        assert!(
            null_after.file_type().is_char_device(),
            "{name} replaced /dev/null"
        );
        assert_eq!(null_before.ino(), null_after.ino());
        // A FIFO is written through: a reader gets the whole output.
        let fifo = dir.join(format!("{name}.fifo"));
        let _ = std::fs::remove_file(&fifo);
        let made = Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        let reader = {
            let fifo = fifo.clone();
            std::thread::spawn(move || std::fs::read(&fifo).unwrap())
        };
        let mut with = args.to_vec();
        with.push(s(&fifo));
        let out = run(&with);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        let read = reader.join().unwrap();
        assert!(!read.is_empty(), "{name} wrote nothing through the FIFO");
        assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo());
        // A link is followed and kept.
        let target = dir.join(format!("{name}.target"));
        let link = dir.join(format!("{name}.link"));
        std::fs::write(&target, "old").unwrap();
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let mut with = args.to_vec();
        with.push(s(&link));
        let out = run(&with);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), read, "{name}");
    }
}

#[test]
fn endless_input_is_refused_with_a_bound() {
    if !Path::new("/dev/zero").exists() {
        return;
    }
    let dir = scratch("hardening_endless");
    let suite = suite(&dir, "2");
    let out = dir.join("out");
    let cases: [(&[&str], &str); 4] = [
        (&["check", "/dev/zero"], "larger than 128 MiB"),
        (
            &["import", "goqa", "/dev/zero", "-o", s(&out)],
            "larger than 1 GiB",
        ),
        (&["report", "/dev/zero"], "longer than 16 MiB"),
        (
            &["eval", s(&suite), "-o", "/dev/zero"],
            "not a regular file",
        ),
    ];
    for (args, expected) in cases {
        let started = Instant::now();
        let out = run(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{args:?} took too long"
        );
    }
    // Standard input that never ends.
    let zero = std::fs::File::open("/dev/zero").unwrap();
    let out = bin().args(["fmt", "-"]).stdin(zero).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("larger than 128 MiB"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn absurd_flags_are_refused_by_name() {
    let dir = scratch("hardening_flags");
    let suite = suite(&dir, "2");
    let cases: [(&[&str], &str); 9] = [
        (&["--timeout", "1e300"], "longer than a week"),
        (&["--timeout", "2e19"], "longer than a week"),
        (&["--timeout", "0"], "not a positive number of seconds"),
        (&["--timeout", "NaN"], "not a positive number of seconds"),
        (&["--temperature", "NaN"], "not a temperature"),
        (&["--temperature", "inf"], "not a temperature"),
        (&["--temperature=-1"], "not a temperature"),
        (&["--max-tokens", "0"], "--max-tokens"),
        (&["--concurrency", "0"], "--concurrency"),
    ];
    for (flags, expected) in cases {
        let mut args = vec!["eval", s(&suite), "-o", "unused.jsonl"];
        args.extend(flags);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{flags:?}: {}",
            stderr(&out)
        );
    }
    for (threads, expected) in [
        ("0", "at least 1 thread"),
        ("100000", "at most 256 threads"),
        ("18446744073709551615", "at most 256 threads"),
        ("many", "not a whole number"),
    ] {
        let out = run(&["expand", AGENTS, "--threads", threads]);
        assert_eq!(out.status.code(), Some(2), "{threads}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{threads}: {}",
            stderr(&out)
        );
    }
    assert!(!root().join("unused.jsonl").exists());
}

#[cfg(unix)]
#[test]
fn a_program_that_never_ends_its_line_fails_one_request() {
    let dir = scratch("hardening_endless_line");
    let suite = suite(&dir, "2");
    let results = dir.join("results.jsonl");
    let endless = script(
        &dir,
        "endless.sh",
        "read -r line; head -c 20000000 /dev/zero | tr '\\0' a; echo\nwhile read -r line; do echo A; done",
    );
    let out = run(&eval_with(&suite, &endless, &results));
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&results).unwrap();
    assert_eq!(text.matches("longer than 16 MiB").count(), 1, "{text}");
    assert_eq!(text.matches("\"choice\":\"error\"").count(), 1, "{text}");
}

#[cfg(unix)]
#[test]
fn a_program_gets_no_key_and_its_output_is_scrubbed() {
    let dir = scratch("hardening_command_key");
    let suite = suite(&dir, "2");
    let results = dir.join("results.jsonl");
    // The program echoes both variables it might see, and a key it read from a file.
    std::fs::write(dir.join("stolen"), "sk-other-secret-2718").unwrap();
    let leaky = script(
        &dir,
        "leaky.sh",
        &format!(
            "while read -r line; do echo \"{{\\\"choice\\\":\\\"A\\\",\\\"raw\\\":\\\"[$OPENAI_API_KEY][$MY_KEY][$(cat {})]\\\"}}\"; echo \"err [$MY_KEY] $(cat {})\" >&2; done",
            s(&dir.join("stolen")),
            s(&dir.join("stolen"))
        ),
    );
    let out = bin()
        .args(eval_with(&suite, &leaky, &results))
        .args(["--api-key-env", "MY_KEY"])
        .env("OPENAI_API_KEY", "sk-openai-secret-3141")
        .env("MY_KEY", "sk-other-secret-2718")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&results).unwrap();
    // Not inherited: the variables are empty in the program.
    assert!(text.contains("[][]"), "{text}");
    // What the program found elsewhere is hidden, in the results and on the terminal.
    assert!(!text.contains("sk-other-secret"), "{text}");
    assert!(text.contains("[***]"), "{text}");
    assert!(
        !stderr(&out).contains("sk-other-secret"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("err [] ***"), "{}", stderr(&out));
}

#[cfg(target_os = "linux")]
#[test]
fn a_stopped_run_takes_its_program_and_the_program_s_children_with_it() {
    let dir = scratch("hardening_sigterm");
    let suite = suite(&dir, "2");
    let pids = dir.join("pids");
    // Ignores SIGTERM and starts a child that would outlive it.
    let stubborn = script(
        &dir,
        "stubborn.sh",
        &format!(
            "trap '' TERM INT\nsleep 600 &\necho $$ $! > {}\nwhile read -r line; do sleep 600; done",
            s(&pids)
        ),
    );
    let mut child = bin()
        .args(eval_with(&suite, &stubborn, &dir.join("results.jsonl")))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while std::fs::read_to_string(&pids).map_or(true, |t| t.split_whitespace().count() < 2) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the program did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = {
        let start = Instant::now();
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "quandary did not stop"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    assert_eq!(out.code(), Some(130));
    let mut err = String::new();
    use std::io::Read;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    for pid in std::fs::read_to_string(&pids).unwrap().split_whitespace() {
        // Gone, or a zombie nobody reaps (this container's first process may not reap).
        // A signal takes effect asynchronously: on a loaded machine, give it a moment.
        let start = Instant::now();
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = state
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .to_string();
            if state.is_empty() || state.starts_with('Z') {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "process {pid} is still running: {state}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn control_characters_never_reach_the_terminal_raw() {
    let dir = scratch("hardening_control");
    std::fs::write(dir.join("esc.qd"), "value a \"A\" \u{1b}[31mred\n").unwrap();
    let out = bin()
        .current_dir(&dir)
        .args(["check", "esc.qd"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(!out.stderr.contains(&0x1b), "{}", stderr(&out));
    assert!(stderr(&out).contains("\\u{1b}"), "{}", stderr(&out));
    std::fs::write(dir.join("bad.csv"), "q\u{1b}[2J,x\n1,2\n").unwrap();
    let out = bin()
        .current_dir(&dir)
        .args(["import", "goqa", "bad.csv", "-o", "out"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!out.stderr.contains(&0x1b), "{}", stderr(&out));
}

#[test]
fn a_missing_framework_is_named_as_missing() {
    let dir = scratch("hardening_missing_framework");
    let suite = suite(&dir, "2");
    let text = std::fs::read_to_string(&suite).unwrap();
    let moved = text.replacen("tests/eval/agents.qd", "tests/eval/moved-away.qd", 1);
    let suite = dir.join("moved.jsonl");
    std::fs::write(&suite, moved).unwrap();
    let out = run(&["eval", s(&suite), "-o", s(&dir.join("r.jsonl"))]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("the framework `tests/eval/moved-away.qd` is not found"),
        "{err}"
    );
    assert!(err.contains("--framework"), "{err}");
}

#[test]
fn a_file_the_parser_once_crashed_on_is_a_diagnostic_in_every_command() {
    let dir = scratch("hardening_commands");
    std::fs::write(dir.join("nested.qd"), "a x { b y { value z } }\n").unwrap();
    for args in [
        &["check", "nested.qd"][..],
        &["stats", "nested.qd"],
        &["tree", "nested.qd"],
        &["graph", "nested.qd"],
        &["expand", "nested.qd"],
        &["fmt", "nested.qd"],
    ] {
        let out = bin().current_dir(&dir).args(args).output().unwrap();
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !stderr(&out).contains("panicked"),
            "{args:?}: {}",
            stderr(&out)
        );
    }
}

/// A journal that cannot grow (its file at the size limit a shell's `ulimit -f` sets, the
/// signal for it ignored, so a write past it fails as on a full disk) stops the run with a
/// diagnostic; the answers written before are kept, a torn last line is cut when the run
/// resumes, and the resumed journal answers every scenario once.
#[cfg(unix)]
#[test]
fn a_journal_that_cannot_grow_stops_the_run_and_resumes_without_a_loss() {
    let dir = scratch("hardening_full");
    let suite = suite(&dir, "400");
    let results = dir.join("results.jsonl");
    let scenarios = std::fs::read_to_string(&suite).unwrap().lines().count() - 1;
    let limited = Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 40 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_quandary"))
        .args(["eval", s(&suite), "-o", s(&results)])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = stderr(&limited);
    assert_eq!(limited.status.code(), Some(1), "{err}");
    assert!(err.contains("cannot write to"), "{err}");
    assert!(
        err.contains("run the same command again to resume"),
        "{err}"
    );
    let written = std::fs::read(&results).unwrap();
    assert!(
        written.len() > 1000 && written.len() <= 40 * 1024,
        "{} bytes",
        written.len()
    );
    // Every whole line before the limit is an answer; only the last can be torn.
    let text = String::from_utf8(written).unwrap();
    let whole = text.lines().count() - usize::from(!text.ends_with('\n'));
    for line in text.lines().take(whole) {
        serde_json::from_str::<serde_json::Value>(line).expect("a whole line");
    }
    assert!(
        whole - 1 < scenarios,
        "{whole} lines: the run stopped early"
    );
    let resumed = run(&["eval", s(&suite), "-o", s(&results)]);
    assert!(resumed.status.success(), "{}", stderr(&resumed));
    assert!(
        stderr(&resumed).contains(&format!("{} resumed", whole - 1)),
        "{}",
        stderr(&resumed)
    );
    let lines = cli::json_lines(&results);
    let mut indexes: Vec<u64> = lines[1..]
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    indexes.sort_unstable();
    assert_eq!(indexes, (0..scenarios as u64).collect::<Vec<_>>());
}
