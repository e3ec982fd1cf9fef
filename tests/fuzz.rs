//! A seeded mutation fuzzer over parse, check, fmt and expand (see `tests/support/fuzz.rs`).
//!
//! - `short_random_run`: about 1,500 mutated inputs from a fixed seed, every oracle checked;
//! - `regressions`: every file in `tests/fuzz/regressions/` (a minimised input that once broke
//!   an oracle; add a case by adding a file), checked the same way;
//! - `long_run` and `minimise` (ignored): what `scripts/fuzz` runs, in the release profile;
//! - `fuzz_worker`: does nothing unless the driver started this binary as a worker process.
//!
//! Knobs: `QUANDARY_FUZZ_SEED`, `QUANDARY_FUZZ_INPUTS`, `QUANDARY_FUZZ_SECONDS`,
//! `QUANDARY_FUZZ_START` (the first iteration), `QUANDARY_FUZZ_JOBS`, `QUANDARY_FUZZ_TIMEOUT`
//! (seconds an input may take, default 5), `QUANDARY_FUZZ_MEMORY_MB` (a worker's address
//! space, default 4096, 0 for no limit), `QUANDARY_FUZZ_OUT` (where failing inputs are saved;
//! default `fuzz-found/` in the target directory), `QUANDARY_FUZZ_DUMP=true` (save every
//! input there, failing or not), `QUANDARY_FUZZ_STACK_KB` (the stack inputs are checked on,
//! default 2048).

#[path = "support/fuzz.rs"]
mod engine;

use std::path::{Path, PathBuf};
use std::time::Duration;

use engine::{Config, Corpus};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The seed of the short run, so `cargo test` checks the same inputs every time.
const SHORT_SEED: u64 = 0x5EED_F022;
const SHORT_INPUTS: u64 = 1_500;

fn config(default_seed: u64, default_inputs: Option<u64>, live: bool) -> Config {
    let seconds: Option<f64> = engine::env("QUANDARY_FUZZ_SECONDS");
    let inputs = engine::env("QUANDARY_FUZZ_INPUTS").or(if seconds.is_some() {
        None
    } else {
        default_inputs
    });
    Config {
        seed: engine::env("QUANDARY_FUZZ_SEED").unwrap_or(default_seed),
        start: engine::env("QUANDARY_FUZZ_START").unwrap_or(0),
        inputs,
        duration: seconds.map(Duration::from_secs_f64),
        jobs: engine::jobs(),
        limits: engine::limits(),
        out: engine::out_dir(),
        keep: 3,
        live,
        dump: engine::env("QUANDARY_FUZZ_DUMP").unwrap_or(false),
    }
}

#[test]
fn fuzz_worker() {
    engine::worker_if_requested();
}

#[test]
fn short_random_run() {
    let corpus = Corpus::load(&root());
    assert!(
        corpus.files.len() > 20,
        "the corpus should hold the repository's .qd files, found {}",
        corpus.files.len()
    );
    let config = config(SHORT_SEED, Some(SHORT_INPUTS), false);
    let report = engine::run(&corpus, &config);
    println!("{}", report.summary());
    assert!(
        report.found.is_empty(),
        "the fuzzer broke an oracle (inputs saved under {}; minimise one with \
         `scripts/fuzz --minimise FILE` and add it to tests/fuzz/regressions/):\n{}",
        config.out.display(),
        report.summary()
    );
}

#[test]
fn regressions() {
    let dir = root().join("tests/fuzz/regressions");
    let files = engine::qd_files(&dir);
    assert!(
        !files.is_empty(),
        "no regression inputs in {}",
        dir.display()
    );
    // The regression inputs are large by design (a 10,000-preference cycle, chains of
    // 20,000 operators), and this runs in the test profile: a hang here is a minute, not
    // the random run's five seconds.
    let mut limits = engine::limits();
    limits.timeout = limits.timeout.max(std::time::Duration::from_secs(60));
    let results = engine::replay(&files, &limits);
    let mut failing = String::new();
    for (path, failures) in &results {
        let name = path.strip_prefix(&dir).unwrap_or(path).display();
        if failures.is_empty() {
            println!("ok    {name}");
            continue;
        }
        println!("FAIL  {name}");
        for f in failures {
            let line = format!("      {}: {}\n", f.signature(), short(&f.message));
            print!("{line}");
            failing.push_str(&format!(
                "{name}: {}: {}\n",
                f.signature(),
                short(&f.message)
            ));
        }
    }
    assert!(
        failing.is_empty(),
        "regression inputs still break oracles:\n{failing}"
    );
}

fn short(s: &str) -> String {
    let mut out: String = s.chars().take(300).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// The long run of `scripts/fuzz`: `QUANDARY_FUZZ_SECONDS` or `QUANDARY_FUZZ_INPUTS`
/// (default 60 seconds), `QUANDARY_FUZZ_SEED` (default: from the clock).
#[test]
#[ignore = "a long run: scripts/fuzz"]
fn long_run() {
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let mut config = config(clock % 1_000_000_007, None, true);
    if config.inputs.is_none() && config.duration.is_none() {
        config.duration = Some(Duration::from_secs(60));
    }
    let corpus = Corpus::load(&root());
    println!(
        "fuzzing: seed {}, {} corpus files, {} workers, {} s per input, failures saved under {}",
        config.seed,
        corpus.files.len(),
        config.jobs,
        config.limits.timeout.as_secs_f64(),
        config.out.display()
    );
    let report = engine::run(&corpus, &config);
    println!("\n{}", report.summary());
    assert!(report.found.is_empty(), "{} failures", report.found.len());
}

/// `QUANDARY_FUZZ_MINIMISE=FILE`: writes `FILE.min.qd`, the smallest input found that fails
/// like `FILE` (with `QUANDARY_FUZZ_SIGNATURE`, or `FILE`'s first failure's signature).
#[test]
#[ignore = "minimises one input: scripts/fuzz --minimise FILE"]
fn minimise() {
    let Some(file) = std::env::var_os("QUANDARY_FUZZ_MINIMISE") else {
        panic!("set QUANDARY_FUZZ_MINIMISE to the input to minimise");
    };
    let file = PathBuf::from(file);
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let limits = engine::limits();
    let failures = &engine::replay(std::slice::from_ref(&file), &limits)[0].1;
    for f in failures {
        println!("fails: {}: {}", f.signature(), short(&f.message));
    }
    let signature = match std::env::var("QUANDARY_FUZZ_SIGNATURE") {
        Ok(s) => s,
        Err(_) => match failures.first() {
            Some(f) => f.signature(),
            None => panic!("{} breaks no oracle", file.display()),
        },
    };
    let budget = Duration::from_secs_f64(engine::env("QUANDARY_FUZZ_SECONDS").unwrap_or(300.0));
    println!(
        "minimising {} ({} bytes) for: {signature}",
        file.display(),
        text.len()
    );
    let small = engine::minimise(&text, &signature, &limits, budget);
    let out = min_path(&file);
    std::fs::write(&out, &small).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
    println!(
        "{} bytes: {}\n{}",
        small.len(),
        out.display(),
        short(&small)
    );
}

fn min_path(file: &Path) -> PathBuf {
    let name = file.file_name().map_or_else(
        || "input".into(),
        |n| n.to_string_lossy().trim_end_matches(".qd").to_string(),
    );
    file.with_file_name(format!("{name}.min.qd"))
}
