//! The examples of the language reference: every ```qd block of `docs/language.md` checks
//! without errors or warnings.
//!
//! Each block is written to a scratch folder that also holds the frameworks of `rules/`, so
//! an example may import them (`use "mft.qd" as mft`) as the reference says it can when it
//! stands next to them. A block with a `framework` header whose file is not among those is
//! also saved under its framework's name (`ward.qd`), so later examples can import it.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The ```qd blocks of a Markdown text, in order.
fn qd_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line == "```qd" => current = Some(String::new()),
            None => {}
            Some(_) if line == "```" => blocks.extend(current.take()),
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    blocks
}

/// The id of the block's `framework` header, if it has one.
fn framework_id(block: &str) -> Option<&str> {
    block.lines().find_map(|l| {
        let rest = l.strip_prefix("framework ")?;
        rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .filter(|id| !id.is_empty())
    })
}

#[test]
fn every_example_of_the_reference_checks_cleanly() {
    let text = std::fs::read_to_string(root().join("docs/language.md")).expect("the reference");
    let blocks = qd_blocks(&text);
    assert!(blocks.len() >= 10, "only {} examples found", blocks.len());
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("docs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    for entry in std::fs::read_dir(root().join("rules")).expect("rules/") {
        let path = entry.expect("an entry").path();
        if path.extension().is_some_and(|e| e == "qd") {
            std::fs::copy(&path, dir.join(path.file_name().expect("a name"))).expect("copy");
        }
    }
    let mut failures = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let path = dir.join(format!("example{i:02}.qd"));
        std::fs::write(&path, block).expect("write");
        if let Some(id) = framework_id(block) {
            let named = dir.join(format!("{id}.qd"));
            if !named.exists() {
                std::fs::write(&named, block).expect("write");
            }
        }
        let loaded = quandary::load_path(&path);
        if !loaded.diagnostics.is_empty() {
            let messages: Vec<String> = loaded
                .diagnostics
                .iter()
                .map(|d| format!("{} {}", d.code, d.message))
                .collect();
            failures.push(format!(
                "example {i} (starting {:?}): {messages:?}",
                block.lines().next().unwrap_or_default()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
