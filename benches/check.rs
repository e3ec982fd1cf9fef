//! Parse, resolve and check a generated CVC-scale framework: 3 dimensions, 12 core values,
//! 50 derived values and 250,000 rules (`scripts/gen_cvc_scale.py` writes the same file for
//! `scripts/measure-check.sh`, which reports wall time and peak memory).

use criterion::{Criterion, criterion_group, criterion_main};
use quandary::{MemoryLoader, load_with};

#[path = "support/cvc_scale.rs"]
mod cvc_scale;

fn bench(c: &mut Criterion) {
    let text = cvc_scale::generate(250_000, false);
    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("cvc_scale_250k_rules", |b| {
        b.iter(|| {
            let mut loader = MemoryLoader::new().with("big.qd", text.clone());
            let loaded = load_with(&mut loader, &["big.qd"]);
            assert!(!loaded.has_errors());
            loaded.framework.rules.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
