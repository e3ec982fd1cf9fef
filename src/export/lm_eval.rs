//! An [lm-evaluation-harness](https://github.com/EleutherAI/lm-evaluation-harness) task: a
//! task YAML of `output_type: multiple_choice` and the JSON Lines it reads through
//! `dataset_path: json`.
//!
//! Each document has the user prompt `eval` sends (`prompt`, the task's `doc_to_text`), the
//! option labels the prompt asks the model to answer with (`choices`, its `doc_to_choice`:
//! lm-eval scores the log-likelihood of each label after the prompt), the options' texts
//! (`options`) and the index of the target (`target`, its `doc_to_target`). lm-eval needs a
//! target for every document: with a target run it is the position of the option that run
//! chose; without one it is 0, the first option shown. A system prompt becomes the task's
//! `description`, which lm-eval sends as the system message under `--apply_chat_template`.
//!
//! The documents are flat and typed alike on every line (an absent topic or twin group is
//! `""`), so that the `datasets` library reads any suite into one table.

use std::path::Path;

use serde_json::{Value, json};

use super::{ShownSuite, SuiteExport, Written};
use crate::diagnostic::Diagnostic;
use crate::output::Output;

/// The task's name for the suite `suite` (under `steer`): `quandary_SUITE[_STEER]`.
pub fn task_name(suite: &str, steer: Option<&str>) -> String {
    match steer {
        Some(s) => format!("quandary_{suite}_{s}"),
        None => format!("quandary_{suite}"),
    }
}

/// Writes the suite at `suite` as an lm-eval task into the directory `dir` (created if
/// missing): `TASK.jsonl` and `TASK.yaml`. The YAML names the data file as `dir` is given
/// joined with its name, so lm-eval finds it when run from the directory the export ran in.
pub fn write(suite: &Path, settings: &SuiteExport, dir: &Path) -> Result<Written, Diagnostic> {
    let steer = settings.steer.as_ref();
    let shown_suite = ShownSuite::open(suite, settings)?;
    let header = shown_suite.header().clone();
    super::create_dir(dir)?;
    let task = task_name(shown_suite.suite_id(), steer.map(|s| s.id.as_str()));
    let data_path = dir.join(format!("{task}.jsonl"));
    let yaml_path = dir.join(format!("{task}.yaml"));
    let mut written = Written::default();
    if settings.target.is_none() {
        written.notes.push(
            "no --target run: every document's target is 0, the first option shown, so \
             lm-eval's `acc` measures how often the model picks the first option; give \
             --target RESULTS to score agreement with a run"
                .to_string(),
        );
    }
    let mut samples = 0;
    let mut data = Output::create(&data_path)?;
    shown_suite.each(&mut written, |item, shown, target, _| {
        // Without a target run, lm-eval needs one all the same: position 0.
        let target = target.unwrap_or(0);
        let s = item;
        let doc = json!({
            "id": super::inspect::sample_id(s),
            "scenario": s.id,
            "index": s.index,
            "template": s.template,
            "topic": item.topic.as_deref().unwrap_or(""),
            "twin_group": s.twin_group.as_deref().unwrap_or(""),
            "prompt": shown.prompt,
            "choices": shown.options.iter().map(|o| o.label.as_str()).collect::<Vec<_>>(),
            "options": shown.options.iter().map(|o| o.text.as_str()).collect::<Vec<_>>(),
            "actions": shown.options.iter().map(|o| o.action.as_str()).collect::<Vec<_>>(),
            "upholds": shown.options.iter().map(|o| &o.upholds).collect::<Vec<_>>(),
            "violates": shown.options.iter().map(|o| &o.violates).collect::<Vec<_>>(),
            "target": target,
        });
        super::json_line(data.writer(), &doc, "the task's documents")?;
        samples += 1;
        Ok(())
    })?;
    written.samples = samples;
    // The system prompt is the presentation's and the steer's: one for the whole task.
    let system = settings
        .presentation
        .system(steer.map(|s| s.system.as_str()));
    written.files.push(data.commit()?);
    let yaml = task_yaml(&task, &data_path, system.as_deref(), &header, settings);
    let mut file = Output::create(&yaml_path)?;
    super::write_text(file.writer(), &yaml, "the task")?;
    written.files.push(file.commit()?);
    Ok(written)
}

fn task_yaml(
    task: &str,
    data: &Path,
    system: Option<&str>,
    header: &Value,
    settings: &SuiteExport,
) -> String {
    let mut config = serde_json::Map::new();
    config.insert("task".into(), json!(task));
    config.insert("dataset_path".into(), json!("json"));
    config.insert(
        "dataset_kwargs".into(),
        json!({"data_files": {"test": data.to_string_lossy()}}),
    );
    config.insert("test_split".into(), json!("test"));
    config.insert("output_type".into(), json!("multiple_choice"));
    config.insert("doc_to_text".into(), json!("prompt"));
    config.insert("doc_to_choice".into(), json!("choices"));
    config.insert("doc_to_target".into(), json!("target"));
    if let Some(system) = system {
        config.insert("description".into(), json!(system));
    }
    config.insert(
        "metric_list".into(),
        json!([{"metric": "acc", "aggregation": "mean", "higher_is_better": true}]),
    );
    config.insert(
        "metadata".into(),
        json!({
            "version": 1.0,
            "quandary": env!("CARGO_PKG_VERSION"),
            "suite": header.get("suite"),
            "seed": header.get("seed"),
            "source_hash": header.get("source_hash"),
            "presentation": settings.presentation.fingerprint(),
            "steer": settings.steer.as_ref().map(|s| &s.id),
            "targets": settings.target.as_ref().map(|t| t.to_string_lossy()),
        }),
    );
    let mut out = String::from("# An lm-evaluation-harness task written by `quandary export`.\n");
    super::yaml::block(&Value::Object(config), 0, &mut out);
    out
}
