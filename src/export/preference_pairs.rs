//! Preference pairs from a results file, in the conversational preference format of TRL
//! (`DPOTrainer`, `RewardTrainer`): `prompt` (the messages `eval` sent), `chosen` and
//! `rejected` (one assistant message each, the text of an option as the prompt showed it),
//! the options' labels beside them.
//!
//! Each answered scenario gives one pair per option not chosen that is not a distractor: the
//! chosen option is preferred to each of them. Answers that chose no option (`unparsed`,
//! `refused`, `error`) give none and are counted, as are scenarios the run did not answer.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{Shown, SuiteReader};
use crate::diagnostic::Diagnostic;
use crate::eval::Presentation;

/// What a preference-pair export wrote and skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairs {
    /// Pairs written.
    pub pairs: u64,
    /// Scenarios whose answer chose an option.
    pub answered: u64,
    /// Scenarios answered `unparsed`.
    pub unparsed: u64,
    /// Scenarios answered `refused`.
    pub refused: u64,
    /// Scenarios answered `error`, or with a choice that names no option of the scenario.
    pub errors: u64,
    /// Scenarios of the suite without an answer in the run.
    pub unanswered: u64,
    /// The suite the pairs were read from.
    pub suite: PathBuf,
}

/// Writes the preference pairs of the run under `steer` (`None`: the plain run) in the
/// results file at `results` to `out`. The suite is `suite`, or the one the results header
/// names; `presentation` must show scenarios as the run did (its fingerprint is in the
/// header).
pub fn write(
    results: &Path,
    suite: Option<&Path>,
    presentation: &Presentation,
    steer: Option<&str>,
    out: &mut dyn Write,
) -> Result<Pairs, Diagnostic> {
    let (header, answers) = super::latest_answers(results, steer)?;
    let steer = match steer {
        Some(id) => Some(super::recorded_steer(results, &header, id)?),
        None => None,
    };
    super::check_presentation(results, &header, presentation)?;
    let suite = match suite {
        Some(s) => s.to_path_buf(),
        None => suite_of(results, &header)?,
    };
    let mut reader = SuiteReader::open(crate::formats::Input::Path(&suite))
        .map_err(|d| d.help("give the suite with --suite FILE"))?;
    super::check_same_suite(results, &header, &suite, &reader.header)?;
    let mut pairs = Pairs {
        suite: suite.clone(),
        ..Pairs::default()
    };
    while let Some(ref item) = reader.next_line()? {
        let s = item;
        let Some(answer) = answers.get(&s.index) else {
            pairs.unanswered += 1;
            continue;
        };
        if answer.scenario != s.id {
            return Err(super::other_scenario(
                results,
                s.index,
                &answer.scenario,
                &suite,
                &s.id,
            ));
        }
        crate::eval::untranslated(presentation, s)?;
        let shown = Shown::new(presentation, steer.as_ref(), s);
        let Some(chosen) = shown.options.iter().position(|o| o.action == answer.choice) else {
            match answer.choice.as_str() {
                "unparsed" => pairs.unparsed += 1,
                "refused" => pairs.refused += 1,
                _ => pairs.errors += 1,
            }
            continue;
        };
        pairs.answered += 1;
        let prompt = shown.messages();
        let c = &shown.options[chosen];
        for (i, r) in shown.options.iter().enumerate() {
            if i == chosen || item.actions.get(i).is_some_and(|a| a.distractor) {
                continue;
            }
            let row = json!({
                "prompt": prompt,
                "chosen": [{"role": "assistant", "content": c.text}],
                "rejected": [{"role": "assistant", "content": r.text}],
                "scenario": s.id,
                "index": s.index,
                "steer": steer.as_ref().map(|s| &s.id),
                "chosen_action": c.action,
                "rejected_action": r.action,
                "chosen_label": c.label,
                "rejected_label": r.label,
            });
            super::json_line(out, &row, "the pairs")?;
            pairs.pairs += 1;
        }
    }
    super::flush(out, "the pairs")?;
    Ok(pairs)
}

/// The suite a results header names.
fn suite_of(results: &Path, header: &serde_json::Value) -> Result<PathBuf, Diagnostic> {
    header
        .get("suite_file")
        .and_then(|f| f.as_str())
        .map(PathBuf::from)
        .ok_or_else(|| {
            Diagnostic::new(
                crate::Code::Io,
                format!("the header of `{}` names no suite file", results.display()),
            )
            .path(results.display().to_string())
            .help("give the suite with --suite FILE")
        })
}
