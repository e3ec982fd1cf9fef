//! Load `rules/cvc.qd`, report its diagnostics, and walk the value hierarchy: each
//! dimension with its core values, how many derived values each has, and which rules
//! uphold something in it.
//!
//!     cargo run --example walk_cvc

use quandary::model::ValueId;
use quandary::render::{self, ErrorFormat};

fn main() -> std::process::ExitCode {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules/cvc.qd");
    let loaded = quandary::load_path(&path);
    for d in &loaded.diagnostics {
        eprint!(
            "{}",
            render::render(d, &loaded.sources, ErrorFormat::Plain, false)
        );
    }
    if loaded.has_errors() {
        return std::process::ExitCode::FAILURE;
    }
    let framework = &loaded.framework;
    let cvc = framework.root_module();
    println!("levels: {}", cvc.levels.join(" > "));

    // For each value, the number of rules that uphold it or something below it.
    let mut upheld = vec![0usize; framework.values.len()];
    for rule in &framework.rules {
        let mut touched: Vec<ValueId> = rule
            .upholds
            .iter()
            .flat_map(|&v| std::iter::once(v).chain(framework.ancestors(v)))
            .collect();
        touched.sort();
        touched.dedup();
        for v in touched {
            upheld[v.index()] += 1;
        }
    }
    let zh = |v: ValueId| {
        framework
            .value(v)
            .translations
            .get("zh")
            .map_or(String::new(), |t| format!(" ({t})"))
    };
    for &dimension in &cvc.top {
        println!(
            "{}{}: {} rules",
            framework.value_label(dimension),
            zh(dimension),
            upheld[dimension.index()]
        );
        for &core in &framework.value(dimension).children {
            println!(
                "  {}{}: {} derived values, {} rules",
                framework.value_label(core),
                zh(core),
                framework.value(core).children.len(),
                upheld[core.index()]
            );
        }
    }
    std::process::ExitCode::SUCCESS
}
