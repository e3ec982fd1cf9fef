//! An [Inspect](https://inspect.aisi.org.uk/) dataset: JSON Lines that
//! `inspect_ai.dataset.json_dataset` reads as `Sample`s with its default field names.
//!
//! Each line has `input` (the user prompt `eval` sends, or, when a system prompt applies,
//! the chat messages `[{"role": "system", …}, {"role": "user", …}]`), `choices` (the options'
//! texts, in the order shown), `target` (the label of the target run's choice, only with a
//! target), `id` (unique in the file) and `metadata`.

use std::io::Write;
use std::path::Path;

use serde_json::{Value, json};

use super::{ShownSuite, SuiteExport, Written};
use crate::diagnostic::Diagnostic;

/// Writes the suite at `suite` as an Inspect dataset to `out`.
pub fn write(
    suite: &Path,
    settings: &SuiteExport,
    out: &mut dyn Write,
) -> Result<Written, Diagnostic> {
    let steer = settings.steer.as_ref();
    let mut written = Written::default();
    let mut samples = 0;
    ShownSuite::open(suite, settings)?.each(&mut written, |item, shown, target, header| {
        let mut metadata = super::metadata(item, shown, header, &settings.presentation, steer);
        let mut sample = serde_json::Map::new();
        sample.insert(
            "input".into(),
            match shown.system {
                Some(_) => shown.messages(),
                None => json!(shown.prompt),
            },
        );
        sample.insert(
            "choices".into(),
            shown.options.iter().map(|o| json!(o.text)).collect(),
        );
        if let Some(p) = target {
            sample.insert("target".into(), json!(shown.options[p].label));
            metadata.insert("target_action".into(), json!(shown.options[p].action));
        }
        sample.insert("id".into(), json!(sample_id(item)));
        sample.insert("metadata".into(), Value::Object(metadata));
        super::json_line(out, &Value::Object(sample), "the dataset")?;
        samples += 1;
        Ok(())
    })?;
    written.samples = samples;
    super::flush(out, "the dataset")?;
    Ok(written)
}

/// A sample's id: the scenario's id and its index. Inspect refuses a dataset with two
/// samples of one id, and a suite without `dedupe` may hold one scenario twice; the index is
/// unique within a suite and the same in every shard.
pub(crate) fn sample_id(scenario: &crate::formats::suite::ScenarioLine) -> String {
    format!("{}-{}", scenario.id, scenario.index)
}
