//! Parse, resolve and check a generated CVC-scale framework: 3 dimensions, 12 core values,
//! 50 derived values and 250,000 rules (`scripts/gen_cvc_scale.py` writes the same file for
//! `scripts/measure-check.sh`, which reports wall time and peak memory).

use criterion::{Criterion, criterion_group, criterion_main};
use quandary::{MemoryLoader, load_with};

fn generate(rules: usize) -> String {
    let mut out = String::from(
        "framework big \"CVC-scale benchmark\" {\n  levels dimension, core, derived\n}\n",
    );
    let mut derived = Vec::new();
    for d in 0..3 {
        out.push_str(&format!("dimension d{d} \"Dimension {d}\" {{\n"));
        for c in 0..4 {
            out.push_str(&format!("  core c{d}_{c} \"Core {d}.{c}\" {{\n"));
            let count = if d * 4 + c < 2 { 5 } else { 4 };
            for k in 0..count {
                let name = format!("v{d}_{c}_{k}");
                out.push_str(&format!(
                    "    derived {name} \"Derived {d}.{c}.{k}\" {{ zh \"派生{d}{c}{k}\" }}\n"
                ));
                derived.push(name);
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
    }
    let contexts = ["health", "workplace", "family", "online", "public_office"];
    for i in 0..rules {
        let a = &derived[i % derived.len()];
        let b = &derived[(i * 7 + 3) % derived.len()];
        let c = &derived[(i * 13 + 5) % derived.len()];
        let mut ups = vec![a.as_str(), b.as_str()];
        if i % 2 == 0 {
            ups.push(c.as_str());
        }
        ups.dedup();
        out.push_str(&format!(
            "rule r{i} \"Rule number {i}: people in this situation should act with care.\" {{\n  upholds {}\n  context {}\n}}\n",
            ups.join(", "),
            contexts[i % contexts.len()]
        ));
    }
    out
}

fn bench(c: &mut Criterion) {
    let text = generate(250_000);
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
