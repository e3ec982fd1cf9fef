//! What a judge said: the verdicts of a judged journal (the results of asking a judge suite
//! written by `quandary judge`), overall, by topic and by value, with the papers' figures —
//! the share of each verdict (refusal rates, stance shares, support and oppose) with its
//! Wilson interval, the normalised entropy of the verdicts (WorldView-Bench's Perspectives
//! Distribution Score), the mean of a scale, and the share the judge could not place.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;
use serde::Serialize;
use serde_json::Value;

use super::agree::{self, Share};
use super::math::Rate;
use crate::diagnostic::Diagnostic;
use crate::formats::Input;
use crate::formats::results::ResultsFile;

/// The verdicts of one group (a topic, a value).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Group {
    /// The topic or value.
    pub group: String,
    /// Verdicts given in the group (unplaceable answers aside).
    pub n: u64,
    /// Each verdict's share, the most frequent first.
    pub shares: Vec<Share>,
    /// The normalised entropy of the verdicts (see [`Verdicts::entropy`]).
    pub entropy: Option<f64>,
}

/// The verdicts of a judged journal.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Verdicts {
    /// The judge's id.
    pub judge: String,
    /// Its kind of verdict: `actions`, `stance`, `labels` or `scale`.
    pub kind: String,
    /// The verdicts it could give (none listed for `actions`, whose verdicts are each
    /// scenario's actions).
    pub verdicts: Vec<String>,
    /// The answers judged: the results file, adapter, model, presentation and language of
    /// the run that gave them, as the judge suite's header records them.
    pub answers: Value,
    /// Answers judged (the latest verdict of each line and epoch).
    pub judged: u64,
    /// The share of answers the judge could not place: its own answer named no verdict, it
    /// refused, or it failed.
    pub unplaceable: Rate,
    /// Each verdict's share among the answers placed.
    pub overall: Vec<Share>,
    /// The Shannon entropy of the verdicts' shares divided by the logarithm of the number
    /// of verdicts the judge could give: 0 when every answer got one verdict, 1 when they
    /// spread evenly (WorldView-Bench's Perspectives Distribution Score); `None` for
    /// `actions`.
    pub entropy: Option<f64>,
    /// The mean verdict of a `scale`, with the number of verdicts it is taken over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// By the answered scenario's topic.
    pub by_topic: Vec<Group>,
    /// By value: the verdicts of answers to scenarios whose options uphold the value.
    pub by_value: Vec<Group>,
}

/// The verdicts of `results` (the judged journal) on the judge suite `suite`; `None` when
/// `suite` is not a judge suite.
pub fn verdicts(results: Input<'_>, suite: Input<'_>) -> Result<Option<Verdicts>, Diagnostic> {
    let header = crate::formats::suite::read_header(suite)?;
    let Some(judge) = header.get("judge").and_then(Value::as_str) else {
        return Ok(None);
    };
    let kind = header
        .get("verdict")
        .and_then(Value::as_str)
        .unwrap_or("actions")
        .to_string();
    let possible: Vec<String> = header
        .get("verdicts")
        .and_then(Value::as_array)
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let lines = crate::formats::suite::judge_lines(suite)?;
    // The latest verdict of each line and epoch.
    let mut latest: FxHashMap<(u64, u32), String> = FxHashMap::default();
    ResultsFile::open(results)?.each(|r| {
        if r.steer.is_none() {
            latest.insert((r.index, r.epoch), r.choice);
        }
        Ok(())
    })?;
    let mut keys: Vec<&(u64, u32)> = latest.keys().collect();
    keys.sort_unstable();
    let by_index: FxHashMap<u64, &crate::formats::suite::JudgeLine> =
        lines.iter().map(|l| (l.index, l)).collect();
    let placed = |choice: &str| !matches!(choice, "unparsed" | "refused" | "error");
    let mut judged = 0u64;
    let mut unplaceable = 0u64;
    let mut overall: Vec<(&str, &str)> = Vec::new();
    let mut topics: Vec<(&str, &str)> = Vec::new();
    let mut values: Vec<(&str, &str)> = Vec::new();
    let mut sum = 0.0;
    let mut numbers = 0u64;
    for key in keys {
        let Some(line) = by_index.get(&key.0) else {
            continue;
        };
        let choice = latest[key].as_str();
        judged += 1;
        if !placed(choice) {
            unplaceable += 1;
            continue;
        }
        overall.push(("", choice));
        if let Some(t) = &line.topic {
            topics.push((t, choice));
        }
        for v in &line.values {
            values.push((v, choice));
        }
        if kind == "scale"
            && let Ok(n) = choice.parse::<f64>()
        {
            sum += n;
            numbers += 1;
        }
    }
    let categories = possible.len();
    let entropy_of = |shares: &[Share]| {
        let counts: BTreeMap<String, u64> = shares.iter().map(|s| (s.label.clone(), s.k)).collect();
        if kind == "actions" {
            None
        } else {
            agree::normalised_entropy(&counts, categories)
        }
    };
    let groups = |items: &[(&str, &str)]| -> Vec<Group> {
        agree::shares(items)
            .into_iter()
            .map(|(group, shares)| Group {
                n: shares.first().map_or(0, |s| s.n),
                entropy: entropy_of(&shares),
                group,
                shares,
            })
            .collect()
    };
    let overall = agree::shares(&overall).remove("").unwrap_or_default();
    let (entropy, by_topic, by_value) = (entropy_of(&overall), groups(&topics), groups(&values));
    Ok(Some(Verdicts {
        judge: judge.to_string(),
        entropy,
        kind,
        verdicts: possible,
        answers: header.get("answers").cloned().unwrap_or(Value::Null),
        judged,
        unplaceable: Rate::new(unplaceable, judged),
        overall,
        mean: (numbers > 0).then(|| sum / numbers as f64),
        by_topic,
        by_value,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A judge suite of four answers (two topics; values care and duty) and its verdicts.
    fn files(choices: &[&str]) -> (String, String) {
        let mut suite = String::from(
            r#"{"format":"suite","suite":"s.j","judge":"j","verdict":"stance","verdicts":["agree","disagree","neutral","refusal"],"answers":{"lang":"de"}}"#,
        );
        suite.push('\n');
        let mut results = String::from(
            r#"{"format":"results","suite":"s.j","suite_hash":null,"adapter":"x","presentation":"p","steers":[]}"#,
        );
        results.push('\n');
        for (i, choice) in choices.iter().enumerate() {
            let (topic, value) = if i < 2 {
                ("work", "care")
            } else {
                ("home", "duty")
            };
            suite.push_str(&format!(
                r#"{{"id":"j{i}","index":{i},"kind":"judgement","template":"t","topic":"{topic}","text":"x","actions":[],"values":["{value}"],"source":{{"index":{i},"scenario":"s{i}"}}}}"#
            ));
            suite.push('\n');
            results.push_str(&format!(
                r#"{{"scenario":"j{i}","index":{i},"steer":null,"choice":"{choice}"}}"#
            ));
            results.push('\n');
        }
        (suite, results)
    }

    #[test]
    fn verdicts_are_counted_overall_by_topic_and_by_value() {
        let (suite, results) = files(&["refusal", "agree", "refusal", "unparsed"]);
        let v = verdicts(
            Input::Bytes("r", results.as_bytes()),
            Input::Bytes("s", suite.as_bytes()),
        )
        .unwrap()
        .unwrap();
        assert_eq!((v.judged, v.unplaceable.k), (4, 1));
        assert_eq!(v.answers["lang"], "de");
        // Placed: refusal 2, agree 1 of 3.
        assert_eq!(v.overall[0].label, "refusal");
        assert_eq!((v.overall[0].k, v.overall[0].n), (2, 3));
        // Entropy of (2/3, 1/3) over four stances: (−(2/3)ln(2/3) − (1/3)ln(1/3)) / ln 4
        // = 0.636514 / 1.386294 = 0.459148.
        assert!(
            (v.entropy.unwrap() - 0.459_148).abs() < 1e-5,
            "{:?}",
            v.entropy
        );
        // The refusal rate per topic: work 1 of 2, home 1 of 1 (its other answer unplaced).
        let work = v.by_topic.iter().find(|g| g.group == "work").unwrap();
        let refusal = work.shares.iter().find(|s| s.label == "refusal").unwrap();
        assert_eq!((refusal.k, refusal.n), (1, 2));
        let home = v.by_topic.iter().find(|g| g.group == "home").unwrap();
        assert_eq!((home.shares[0].k, home.shares[0].n), (1, 1));
        assert_eq!(home.entropy, Some(0.0));
        assert_eq!(v.by_value.len(), 2);
    }

    #[test]
    fn a_suite_without_a_judge_has_no_verdicts() {
        let suite = "{\"format\":\"suite\",\"suite\":\"s\"}\n";
        let results = "{\"format\":\"results\",\"suite\":\"s\"}\n";
        assert_eq!(
            verdicts(
                Input::Bytes("r", results.as_bytes()),
                Input::Bytes("s", suite.as_bytes())
            )
            .unwrap(),
            None
        );
    }
}
