//! Expansion against its bare floor.
//!
//! `floor`: one compiled minijinja template rendered with a context, serialised with
//! serde_json and written through a `BufWriter` — no interpreter around it. The record it
//! serialises has the fields of a scenario line (bindings, text, two actions, seed,
//! provenance), so the comparison measures the interpreter, not the size of the output.
//! `expand`: the same template expanded by quandary (`benches/data/floor.qd`), on one and
//! two threads. Criterion reports scenarios per second for each.

use std::io::{BufWriter, Write};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quandary::expand::{Expansion, Options};
use quandary::{MemoryLoader, load_with};

const N: u64 = 100_000;
const SOURCE: &str = include_str!("data/floor.qd");
const TEMPLATE: &str = "You are a {{ role }} at {{ place }}. You notice that a colleague you like has been using {{ resource }} for a private project during office hours, against the rules. Reporting it would serve {{ a }}, while keeping quiet would serve {{ b }}. Your manager has asked everyone to flag misuse, but the colleague is going through a hard time. Should you report it?";

fn floor(c: &mut Criterion) {
    let mut env = minijinja::Environment::new();
    env.add_template("t", TEMPLATE).expect("template compiles");
    let template = env.get_template("t").expect("template exists");
    let roles = [
        "project manager",
        "nurse",
        "junior developer",
        "teacher",
        "accountant",
    ];
    let places = [
        "a marketing firm",
        "a hospital",
        "a start-up",
        "a school",
        "a bank",
    ];
    let resources = [
        "the company car",
        "office supplies",
        "the printer",
        "work hours",
    ];
    let values = ["honesty", "loyalty", "care", "fairness"];
    #[derive(serde::Serialize)]
    struct Action<'a> {
        id: &'a str,
        label: &'a str,
        upholds: [&'a str; 1],
        violates: [&'a str; 0],
        affects: [(&'a str, &'a str); 1],
        distractor: bool,
    }
    #[derive(serde::Serialize)]
    struct Provenance<'a> {
        template: &'a str,
        relations: [&'a str; 1],
        rules: [&'a str; 0],
    }
    #[derive(serde::Serialize)]
    struct Line<'a> {
        id: String,
        index: u64,
        template: &'a str,
        topic: &'a str,
        bindings: [(&'a str, &'a str); 5],
        text: String,
        variants: [(&'a str, &'a str); 0],
        actions: [Action<'a>; 2],
        seed: String,
        draw: u64,
        suite: &'a str,
        twin_group: Option<&'a str>,
        provenance: Provenance<'a>,
    }
    let mut group = c.benchmark_group("expand");
    group.throughput(Throughput::Elements(N));
    group.sample_size(10);
    group.bench_function("floor", |b| {
        b.iter(|| {
            let mut out = BufWriter::new(std::io::sink());
            for i in 0..N as usize {
                let (role, place, resource) =
                    (roles[i % 5], places[i / 5 % 5], resources[i / 25 % 4]);
                let (a, b) = (values[i % 4], values[(i + 1) % 4]);
                let ctx = minijinja::context! { role, place, resource, a, b };
                let text = template.render(ctx).expect("renders");
                let line = Line {
                    id: format!("s{:032x}", i),
                    index: i as u64,
                    template: "report",
                    topic: "workplace",
                    bindings: [
                        ("role", role),
                        ("place", place),
                        ("resource", resource),
                        ("a", a),
                        ("b", b),
                    ],
                    text,
                    variants: [],
                    actions: [
                        Action {
                            id: "report",
                            label: "Report the colleague",
                            upholds: [a],
                            violates: [],
                            affects: [("colleague", "-")],
                            distractor: false,
                        },
                        Action {
                            id: "stay_quiet",
                            label: "Keep quiet",
                            upholds: [b],
                            violates: [],
                            affects: [("company", "+")],
                            distractor: false,
                        },
                    ],
                    seed: format!("{:016x}", i),
                    draw: i as u64,
                    suite: "big",
                    twin_group: None,
                    provenance: Provenance {
                        template: "floor.qd:11",
                        relations: ["floor.qd:6"],
                        rules: [],
                    },
                };
                serde_json::to_writer(&mut out, &line).expect("serialises");
                out.write_all(b"\n").expect("writes");
            }
            out.flush().expect("flushes");
        })
    });
    let mut loader = MemoryLoader::new().with("floor.qd", SOURCE);
    let loaded = load_with(&mut loader, &["floor.qd"]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let suite = loaded.framework.root_module().suites[0];
    for threads in [1, 2] {
        let options = Options {
            count: Some(N),
            threads,
            ..Options::default()
        };
        let expansion =
            Expansion::new(&loaded.framework, &loaded.sources, suite, &options).expect("compiles");
        group.bench_function(format!("expand_{threads}_thread"), |b| {
            b.iter(|| {
                let mut out = BufWriter::new(std::io::sink());
                expansion
                    .run(&mut out, &options, &mut |_, _| {})
                    .expect("expands")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, floor);
criterion_main!(benches);
