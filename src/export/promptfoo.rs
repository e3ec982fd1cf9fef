//! A [promptfoo](https://www.promptfoo.dev/) test file and a configuration that runs it.
//!
//! `tests.yaml` is a list of test cases, one per scenario: a `description`, the chat
//! messages `eval` sends as the variable `messages` (a system message when a system prompt
//! applies, then the user message), with a target an `assert` that the answer is the target
//! option's label alone (punctuation and markdown around it allowed), and `metadata`.
//! `promptfooconfig.yaml` sends each test's messages as a chat prompt (`{{ messages | dump }}`)
//! to the `echo` provider, to be replaced by the model under test.

use std::path::Path;

use serde_json::{Value, json};

use super::{ShownSuite, SuiteExport, Written};
use crate::diagnostic::Diagnostic;
use crate::output::Output;

/// The name of the test file in the output directory.
pub const TESTS: &str = "tests.yaml";
/// The name of the configuration in the output directory.
pub const CONFIG: &str = "promptfooconfig.yaml";

/// Writes the suite at `suite` as a promptfoo test file and configuration into the directory
/// `dir` (created if missing).
pub fn write(suite: &Path, settings: &SuiteExport, dir: &Path) -> Result<Written, Diagnostic> {
    let steer = settings.steer.as_ref();
    let shown_suite = ShownSuite::open(suite, settings)?;
    let header = shown_suite.header().clone();
    super::create_dir(dir)?;
    let mut written = Written::default();
    let mut tests = Output::create(&dir.join(TESTS))?;
    super::write_text(
        tests.writer(),
        "# promptfoo test cases written by `quandary export`, one per scenario.\n",
        "the test file",
    )?;
    let mut samples = 0;
    shown_suite.each(&mut written, |item, shown, target, header| {
        let mut metadata = super::metadata(item, shown, header, &settings.presentation, steer);
        let s = item;
        let mut case = serde_json::Map::new();
        case.insert(
            "description".into(),
            json!(format!("{} #{} ({})", s.template, s.index, s.id)),
        );
        case.insert("vars".into(), json!({ "messages": shown.messages() }));
        if let Some(p) = target {
            let label = &shown.options[p].label;
            case.insert(
                "assert".into(),
                json!([{"type": "regex", "value": answer_pattern(label)}]),
            );
            metadata.insert("target".into(), json!(label));
            metadata.insert("target_action".into(), json!(shown.options[p].action));
        }
        case.insert("metadata".into(), Value::Object(metadata));
        let mut text = String::new();
        super::yaml::item(&Value::Object(case), 0, &mut text);
        super::write_text(tests.writer(), &text, "the test file")?;
        samples += 1;
        Ok(())
    })?;
    written.samples = samples;
    if written.samples == 0 {
        super::write_text(tests.writer(), "[]\n", "the test file")?;
    }
    written.files.push(tests.commit()?);
    let mut config = Output::create(&dir.join(CONFIG))?;
    super::write_text(config.writer(), &config_yaml(&header), "the configuration")?;
    written.files.push(config.commit()?);
    Ok(written)
}

/// A regular expression (JavaScript syntax, as promptfoo's `regex` assertion takes it) that
/// an answer naming `label` alone matches: `A`, `A.`, `**A**`, `(A)`.
pub fn answer_pattern(label: &str) -> String {
    let mut escaped = String::new();
    for c in label.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    format!("^\\W*{escaped}\\W*$")
}

fn config_yaml(header: &Value) -> String {
    let suite = header
        .get("suite")
        .and_then(Value::as_str)
        .unwrap_or("suite");
    let label = header.get("label").and_then(Value::as_str);
    let seed = header.get("seed").map(Value::to_string).unwrap_or_default();
    let description = match label {
        Some(l) => format!("quandary suite `{suite}` ({l}), seed {seed}"),
        None => format!("quandary suite `{suite}`, seed {seed}"),
    };
    let config = json!({
        "description": description,
        "prompts": ["{{ messages | dump }}"],
        "providers": ["echo"],
        "tests": format!("file://{TESTS}"),
    });
    let mut out = String::from(
        "# A promptfoo configuration written by `quandary export`: replace the `echo`\n\
         # provider, which answers with the prompt itself, by the model under test.\n",
    );
    super::yaml::block(&config, 0, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_escape_the_label() {
        assert_eq!(answer_pattern("A"), "^\\W*A\\W*$");
        assert_eq!(answer_pattern("Action 2"), "^\\W*Action 2\\W*$");
        assert_eq!(answer_pattern("a.b"), "^\\W*a\\.b\\W*$");
    }
}
