//! Rule-pair candidates of a `rule_conflicts()` pick over a generated CVC-scale framework
//! (`scripts/gen_cvc_scale.py 250000 --pairs`: 50 derived values in 50 conflicts, 250,000
//! rules upholding 2–3 of them, 7.4 billion candidate pairs): indexing them (memory and
//! time grow with the rules, not the pairs) and drawing candidate k (binary searches), next
//! to parsing and loading the same framework, which dominate `check`.
//! `scripts/measure-rule-pairs.sh` reports the wall time and peak memory of the commands.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use quandary::machinery::RulePairs;
use quandary::model::RuleId;
use quandary::{MemoryLoader, SourceMap, load_with};

#[path = "support/cvc_scale.rs"]
mod cvc_scale;

const RULES: usize = 250_000;

fn bench(c: &mut Criterion) {
    let text = cvc_scale::generate(RULES, true);
    let mut loader = MemoryLoader::new().with("big.qd", text.clone());
    let loaded = load_with(&mut loader, &["big.qd"]);
    assert!(!loaded.has_errors());
    let framework = &loaded.framework;
    let module = framework.roots[0];
    let rules = || (0..framework.rules.len()).map(RuleId::from_index);
    let pairs = RulePairs::new(framework, module, rules());
    assert!(pairs.len() > 1_000_000_000, "{} candidates", pairs.len());

    let mut group = c.benchmark_group("rule_pairs");
    group.sample_size(10);
    let file = SourceMap::new().add("big.qd", None, "");
    group.bench_function("parse_250k_rules", |b| {
        b.iter(|| quandary::syntax::parse(file, &text).0.items.len())
    });
    group.bench_function("load_250k_rules", |b| {
        b.iter_batched(
            || MemoryLoader::new().with("big.qd", text.clone()),
            |mut loader| load_with(&mut loader, &["big.qd"]).framework.rules.len(),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("index_250k_rules", |b| {
        b.iter(|| RulePairs::new(framework, module, rules()).len())
    });
    group.sample_size(50);
    // 10,000 candidates spread over the whole range, with their relations.
    let step = pairs.len() / 10_000;
    group.bench_function("draw_10k_candidates", |b| {
        b.iter(|| {
            let mut relations = 0;
            for i in 0..10_000 {
                let (a, r) = pairs.pair(i * step + i % 7);
                relations += pairs.relations(a, r).len();
            }
            relations
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
