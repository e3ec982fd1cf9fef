//! Diagnostic fixtures: every `tests/check/*.qd` file is checked, its diagnostics are
//! compared with the file's own `# expect:` lines, and their rendering is snapshot-tested.
//!
//! An expectation reads `# expect: CODE LINE:COL MESSAGE`, optionally followed by
//! `# help: TEXT`. A file without expectations must check cleanly. A new case is a new file.

use std::path::Path;

use quandary::render::{self, ErrorFormat};

#[derive(Debug, PartialEq)]
struct Expected {
    code: String,
    at: (usize, usize),
    message: String,
    help: Option<String>,
}

fn expectations(text: &str) -> Vec<Expected> {
    let mut out: Vec<Expected> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# expect: ") {
            let mut parts = rest.splitn(3, ' ');
            let code = parts.next().unwrap_or_default().to_string();
            let at = parts.next().unwrap_or_default();
            let (l, c) = at
                .split_once(':')
                .expect("expectation position is LINE:COL");
            out.push(Expected {
                code,
                at: (l.parse().expect("line"), c.parse().expect("column")),
                message: parts.next().unwrap_or_default().to_string(),
                help: None,
            });
        } else if let Some(help) = line.strip_prefix("# help: ") {
            out.last_mut()
                .expect("`# help:` follows an `# expect:`")
                .help = Some(help.to_string());
        }
    }
    out
}

/// The fixture's path relative to the crate, so names in diagnostics do not depend on
/// where the crate is checked out.
fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn diagnostics_match_fixture_expectations() {
    insta::glob!("check/*.qd", |path| {
        let name = relative(path);
        let bytes = std::fs::read(path).expect("fixture is readable");
        let text = String::from_utf8_lossy(&bytes);
        let expected = expectations(&text);
        let loaded = quandary::load_path(&name);
        let mut actual = Vec::new();
        for d in &loaded.diagnostics {
            let at = d
                .primary_span()
                .and_then(|s| {
                    let file = loaded.sources.get(s.file?);
                    Some(file.line_col(s.start as usize))
                })
                .unwrap_or((0, 0));
            let wanted = expected
                .iter()
                .find(|e| e.code == d.code.as_str() && e.at == at && e.message == d.message);
            actual.push(Expected {
                code: d.code.as_str().to_string(),
                at,
                message: d.message.clone(),
                help: match wanted {
                    Some(e) if e.help.is_none() => None,
                    _ => d.help.clone(),
                },
            });
            // Every diagnostic has a help line and a code the docs list.
            assert!(d.help.is_some(), "{name}: diagnostic without help: {d:?}");
            assert!(
                !d.message.ends_with('.'),
                "{name}: message ends with a period"
            );
        }
        assert_eq!(
            actual, expected,
            "{name}: diagnostics differ from the `# expect:` lines"
        );

        let mut rendered = String::new();
        for format in [ErrorFormat::Plain, ErrorFormat::Human, ErrorFormat::Json] {
            for d in &loaded.diagnostics {
                rendered.push_str(&render::render(d, &loaded.sources, format, false));
            }
            rendered.push_str("----\n");
        }
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn every_code_is_covered_by_a_fixture_or_a_cli_test() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/check");
    let mut all = String::new();
    for entry in std::fs::read_dir(&dir).expect("fixture folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "qd") {
            all.push_str(&String::from_utf8_lossy(
                &std::fs::read(&path).expect("read"),
            ));
        }
    }
    for code in quandary::Code::ALL {
        // Q0001 (a file named on the command line cannot be read) is covered by tests/cli.rs,
        // Q0124 (a template that fails while rendering, which `check` cannot see) by
        // tests/expand.rs, the importer codes Q04xx by tests/import_*.rs, the codes of a run
        // that cannot ask (Q05xx) by tests/openai.rs, those of drift and simulate (Q06xx) by
        // tests/drift.rs and tests/simulate.rs.
        if matches!(code.as_str(), "Q0001" | "Q0124")
            || code.as_str().starts_with("Q04")
            || code.as_str().starts_with("Q05")
            || code.as_str().starts_with("Q06")
        {
            continue;
        }
        assert!(
            all.contains(&format!("# expect: {} ", code.as_str())),
            "no fixture expects {code}"
        );
    }
}
