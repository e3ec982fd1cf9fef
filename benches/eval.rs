//! Decisions per second of the in-process `profile` adapter (no run around it): the Moral
//! Foundations `liberal` profile deciding two-option dilemmas, with and without a
//! temperature.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use quandary::eval::adapters::ProfileAgent;
use quandary::eval::{Adapter, Choice, Request};
use quandary::model::ProfileId;

fn bench(c: &mut Criterion) {
    let loaded = quandary::load_path(concat!(env!("CARGO_MANIFEST_DIR"), "/rules/mft.qd"));
    assert!(!loaded.has_errors());
    let f = &loaded.framework;
    let names: Vec<String> = (0..f.values.len())
        .map(|i| f.qualified_value(quandary::model::ValueId::from_index(i)))
        .collect();
    // 1,000 requests over every pair of foundations, both orders.
    let requests: Vec<(String, Vec<Choice>)> = (0..1000)
        .map(|i| {
            let a = &names[i % names.len()];
            let b = &names[(i * 7 + 3) % names.len()];
            let option = |label: &str, value: &String| Choice {
                label: label.into(),
                action: format!("do_{value}"),
                text: format!("Act for {value}"),
                upholds: vec![value.clone()],
                violates: vec![],
                ..Default::default()
            };
            (format!("s{i}"), vec![option("A", a), option("B", b)])
        })
        .collect();
    let mut group = c.benchmark_group("profile");
    group.throughput(Throughput::Elements(requests.len() as u64));
    for temperature in [0.0, 0.5] {
        let adapter = ProfileAgent::new(f, ProfileId::from_index(0), temperature, 7);
        group.bench_function(format!("decide_temperature_{temperature}"), |b| {
            b.iter(|| {
                let mut chosen = 0;
                for (id, options) in &requests {
                    let request = Request::new(id, "", options);
                    if let Ok(d) = adapter.decide(&request) {
                        chosen += d.answer.is_some() as usize;
                    }
                }
                chosen
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
