//! The CVC-scale framework of `scripts/gen_cvc_scale.py`, written in Rust for the benches:
//! 3 dimensions, 12 core values, 50 derived values and `rules` rules, each upholding 2–3
//! derived values. With `conflicts`, the 50 conflicts between derived values that
//! `gen_cvc_scale.py N --pairs` adds, which make the rules rule pairs.

/// The framework's text: the same bytes as `gen_cvc_scale.py` writes.
pub fn generate(rules: usize, conflicts: bool) -> String {
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
    if conflicts {
        let n = derived.len();
        let mut seen = std::collections::HashSet::new();
        let mut pairs = Vec::new();
        for i in 0..n {
            let steps: &[usize] = if i % 5 == 0 { &[11, 23] } else { &[11] };
            for &step in steps {
                let j = (i + step) % n;
                if i != j && seen.insert((i.min(j), i.max(j))) {
                    pairs.push((i, j));
                }
            }
        }
        for &(i, j) in pairs.iter().take(50) {
            out.push_str(&format!("conflict {} <> {}\n", derived[i], derived[j]));
        }
    }
    let contexts = ["health", "workplace", "family", "online", "public_office"];
    for i in 0..rules {
        let a = &derived[i % derived.len()];
        let b = &derived[(i * 7 + 3) % derived.len()];
        let c = &derived[(i * 13 + 5) % derived.len()];
        let mut ups: Vec<&str> = Vec::new();
        let listed: &[&String] = if i % 2 == 1 { &[a, b] } else { &[a, b, c] };
        for v in listed {
            if !ups.contains(&v.as_str()) {
                ups.push(v);
            }
        }
        out.push_str(&format!(
            "rule r{i} \"Rule number {i}: people in this situation should act with care.\" {{\n  upholds {}\n  context {}\n}}\n",
            ups.join(", "),
            contexts[i % contexts.len()]
        ));
    }
    out
}
