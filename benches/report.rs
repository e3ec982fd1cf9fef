//! The report of a million results with 1,000 bootstrap resamples: 500,000 dilemmas of
//! scenarios/everyday.qd with their order-swapped twins (16 templates, the bootstrap's
//! clusters), answered by the suite's profile with a temperature of 0.5, read and reported
//! (every view, the Bradley–Terry ranking and its bootstrap, the profile's agreement).
//!
//! The inputs (1.5 GB of suite, 350 MB of results) are made once into
//! target/bench-report/ and reused while the sources are unchanged.

use std::path::{Path, PathBuf};

use criterion::{Criterion, criterion_group, criterion_main};
use quandary::eval::adapters::ProfileAgent;
use quandary::eval::{self, Settings};
use quandary::expand::{DEFAULT_MAX, Expansion, Options};
use quandary::model::ProfileId;
use quandary::project::ReportInputs;
use quandary::report;

const SCENARIOS: u64 = 500_000;

fn inputs() -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/bench-report");
    let suite = dir.join("suite.jsonl");
    let results = dir.join("results.jsonl");
    let loaded = quandary::load_path(root.join("scenarios/everyday.qd"));
    assert!(!loaded.has_errors(), "scenarios/everyday.qd has errors");
    let f = &loaded.framework;
    let options = Options {
        seed: None,
        count: Some(SCENARIOS),
        max: DEFAULT_MAX,
        threads: 2,
        shard: None,
    };
    let id = f.root_module().suites[0];
    let expansion = Expansion::new(f, &loaded.sources, id, &options).expect("expands");
    let header = expansion.header(None).to_string();
    let current = std::fs::read_to_string(dir.join("header.json")).ok();
    if current.as_deref() == Some(header.as_str()) && results.exists() {
        return (suite, results);
    }
    std::fs::create_dir_all(&dir).expect("a folder for the inputs");
    let _ = std::fs::remove_file(&results);
    let mut out = std::io::BufWriter::new(std::fs::File::create(&suite).expect("the suite"));
    expansion
        .run(&mut out, &options, &mut |_, _| {})
        .expect("writes the suite");
    drop(out);
    let agent = ProfileAgent::new(f, ProfileId::from_index(0), 0.5, 1);
    eval::run(&suite, &results, &agent, &Settings::default(), &mut |_| {})
        .expect("answers the suite");
    std::fs::write(dir.join("header.json"), header).expect("writes");
    (suite, results)
}

fn bench(c: &mut Criterion) {
    let (suite, results) = inputs();
    // The framework is loaded once, outside the measured work: a report never loads sources.
    let found = ReportInputs::find(&results, Some(&suite), None).expect("inputs");
    let sources = found.sources(&results, None);
    let options = report::Options {
        seed: 0,
        resamples: 1000,
        ..Default::default()
    };
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(60));
    group.bench_function("one_million_results_1000_resamples", |b| {
        b.iter(|| {
            let r = report::report(&sources, &options).expect("reports");
            assert_eq!(r.answers, 2 * SCENARIOS);
            r.values.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
