//! The frameworks shipped in `rules/` are clean: no errors, no warnings, canonical layout.

use std::path::{Path, PathBuf};

fn qd_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            qd_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "qd") {
            out.push(path);
        }
    }
}

fn rules() -> Vec<PathBuf> {
    let mut files = Vec::new();
    qd_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("rules"),
        &mut files,
    );
    files.sort();
    assert!(files.len() >= 9, "rules/ holds the seed frameworks");
    files
}

#[test]
fn every_framework_checks_without_warnings() {
    for file in rules() {
        let loaded = quandary::load_path(&file);
        let messages: Vec<String> = loaded
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect();
        assert!(messages.is_empty(), "{}: {messages:#?}", file.display());
    }
}

#[test]
fn every_framework_is_canonically_formatted() {
    for file in rules() {
        let text = std::fs::read_to_string(&file).expect("UTF-8");
        let formatted = quandary::format::format(&text).expect("parses");
        assert!(
            formatted == text,
            "{} is not in the canonical layout",
            file.display()
        );
    }
}

#[test]
fn the_seed_frameworks_have_their_published_shape() {
    let counts = |file: &str| {
        let loaded = quandary::load_path(Path::new(env!("CARGO_MANIFEST_DIR")).join(file));
        let root = loaded.framework.roots[0];
        quandary::stats::Stats::of(&loaded.framework, root)
    };
    // CVC: 3 dimensions, 12 core values, 50 derived values (the CVC framework figure).
    let cvc = counts("rules/cvc.qd");
    let levels: Vec<(&str, usize)> = cvc.levels.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(levels, [("dimension", 3), ("core", 12), ("derived", 50)]);
    assert!(cvc.rules >= 12);
    // Schwartz: ten basic values in four higher-order groups.
    let schwartz = counts("rules/schwartz.qd");
    let levels: Vec<(&str, usize)> = schwartz
        .levels
        .iter()
        .map(|(k, n)| (k.as_str(), *n))
        .collect();
    assert_eq!(levels, [("group", 4), ("value", 10)]);
    // Moral Foundations: six foundations.
    let mft = counts("rules/mft.qd");
    assert_eq!(mft.levels.get("foundation"), Some(&6));
    // DailyDilemmas: 301 values mapped onto five theories as values.csv gives.
    let dd = counts("rules/daily_dilemmas/values.qd");
    assert_eq!(dd.values, 301);
    let mappings: Vec<(&str, usize)> = dd.mappings.iter().map(|(k, n)| (k.as_str(), *n)).collect();
    assert_eq!(
        mappings,
        [
            ("wvs", 225),
            ("mft", 217),
            ("emotion", 198),
            ("maslow", 268),
            ("virtue", 49)
        ]
    );
}
