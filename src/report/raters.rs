//! How far two raters of the same answers agree: two judges, a judge and the forced-choice
//! reading of the same answers, or a judge and human labels. Each rater's labels are keyed
//! by the answer they rate — (scenario, steer, epoch) of the run that gave it — so a judged
//! journal is compared with the journal it judged, or with another judge's, answer by
//! answer.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::agree::{self, Agreement};
use crate::diagnostic::{Code, Diagnostic};
use crate::formats::Input;
use crate::formats::results::ResultsFile;

/// Who rates: a results journal (a model's answers, or a judge's verdicts) with the suite it
/// answers, or a file of labels.
#[derive(Clone, Copy, Debug)]
pub enum Rater<'a> {
    /// A results journal and its suite. For a judged journal (its suite a judge suite),
    /// each verdict rates the answer its line judged; otherwise each choice rates its own
    /// answer.
    Journal {
        /// The journal.
        results: Input<'a>,
        /// The suite it answers.
        suite: Input<'a>,
    },
    /// Labels given by people: JSON Lines (`{"scenario": …, "label": …}`, with `steer`,
    /// `epoch` and `template` when they apply) or CSV with a header row naming the columns
    /// `scenario` and `label` (and optionally `steer`, `epoch`, `template`).
    Labels(Input<'a>),
}

/// An answer rated: (scenario, steer, epoch).
type Key = (String, Option<String>, u32);

/// What one rater said of each answer: its label and the answer's cluster (template).
struct Ratings {
    name: String,
    labels: BTreeMap<Key, (String, String)>,
}

/// How far two raters agree.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Raters {
    /// The first rater (a file name).
    pub a: String,
    /// The second rater.
    pub b: String,
    /// Answers both rated with a label (unparsed, error and free-form answers are no
    /// labels).
    pub agreement: Agreement,
    /// How often each pair of labels (the first rater's, the second's) was given.
    pub confusion: Vec<(String, String, u64)>,
    /// Answers only the first rater labelled.
    pub only_a: u64,
    /// Answers only the second rater labelled.
    pub only_b: u64,
}

/// Labels that are not a rating: an answer nothing could read, a failure, an answer still
/// to be judged.
fn no_label(label: &str) -> bool {
    matches!(label, "unparsed" | "error" | "free" | "")
}

/// Compares two raters' labels: Cohen's kappa over the answers both labelled, with an
/// interval from `resamples` cluster-bootstrap resamples (clusters: templates) drawn from
/// `seed`.
pub fn agreement(
    a: &Rater<'_>,
    b: &Rater<'_>,
    seed: u64,
    resamples: usize,
) -> Result<Raters, Diagnostic> {
    let a = ratings(a)?;
    let b = ratings(b)?;
    let mut pairs: Vec<(&str, &str, &str)> = Vec::new();
    let mut only_a = 0;
    for (key, (label, cluster)) in &a.labels {
        match b.labels.get(key) {
            Some((other, _)) => pairs.push((cluster, label, other)),
            None => only_a += 1,
        }
    }
    let only_b = b
        .labels
        .keys()
        .filter(|k| !a.labels.contains_key(*k))
        .count() as u64;
    if pairs.is_empty() {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            format!(
                "`{}` and `{}` label no answer in common ({} and {} labelled)",
                a.name,
                b.name,
                a.labels.len(),
                b.labels.len()
            ),
        )
        .help(
            "compare a judged journal with the journal it judged (or another judge's verdicts \
             on it), or with labels naming the same scenarios",
        ));
    }
    Ok(Raters {
        agreement: agree::cohen_kappa(&pairs, seed, resamples),
        confusion: agree::confusion(&pairs)
            .into_iter()
            .map(|((x, y), n)| (x, y, n))
            .collect(),
        only_a,
        only_b,
        a: a.name,
        b: b.name,
    })
}

fn ratings(rater: &Rater<'_>) -> Result<Ratings, Diagnostic> {
    match *rater {
        Rater::Journal { results, suite } => journal(results, suite),
        Rater::Labels(input) => labels(input),
    }
}

/// The latest label of each answer of a journal.
fn journal(results: Input<'_>, suite: Input<'_>) -> Result<Ratings, Diagnostic> {
    let header = crate::formats::suite::read_header(suite)?;
    let mut labels = BTreeMap::new();
    if header.get("judge").is_some() {
        let lines: BTreeMap<u64, crate::formats::suite::JudgeLine> =
            crate::formats::suite::judge_lines(suite)?
                .into_iter()
                .map(|l| (l.index, l))
                .collect();
        // The judge's own epochs: the latest verdict of a line counts, whatever its epoch.
        let mut latest: BTreeMap<u64, String> = BTreeMap::new();
        ResultsFile::open(results)?.each(|r| {
            if r.steer.is_none() {
                latest.insert(r.index, r.choice);
            }
            Ok(())
        })?;
        for (index, verdict) in latest {
            if let Some(line) = lines.get(&index)
                && !no_label(&verdict)
            {
                let s = &line.source;
                labels.insert(
                    (s.scenario.clone(), s.steer.clone(), s.epoch),
                    (verdict, line.template.clone()),
                );
            }
        }
    } else {
        let mut templates: BTreeMap<String, String> = BTreeMap::new();
        crate::formats::suite::SuiteReader::open(suite)?.each(|line| {
            templates.insert(line.id, line.template);
            Ok(())
        })?;
        ResultsFile::open(results)?.each(|r| {
            let key = (r.scenario, r.steer, r.epoch);
            if no_label(&r.choice) {
                labels.remove(&key);
            } else {
                let cluster = templates
                    .get(&key.0)
                    .cloned()
                    .unwrap_or_else(|| key.0.clone());
                labels.insert(key, (r.choice, cluster));
            }
            Ok(())
        })?;
    }
    Ok(Ratings {
        name: results.name(),
        labels,
    })
}

/// One human label.
#[derive(Deserialize)]
struct Label {
    scenario: String,
    label: String,
    #[serde(default)]
    steer: Option<String>,
    #[serde(default)]
    epoch: u32,
    #[serde(default)]
    template: Option<String>,
}

/// A labels file: JSON Lines or CSV.
fn labels(input: Input<'_>) -> Result<Ratings, Diagnostic> {
    let name = input.name();
    let bytes = crate::input::read_all(input.open()?, crate::input::MAX_DATA)
        .map_err(|e| crate::formats::io_error(&name, crate::input::why(&e)))?;
    let text = String::from_utf8_lossy(&bytes);
    let bad = |line: usize, why: String| {
        Diagnostic::new(Code::ImportRow, format!("{name}:{line}: {why}")).help(
            "give labels as JSON Lines (`{\"scenario\": \"s…\", \"label\": \"agree\"}`) or CSV \
             with a header row `scenario,label` (optionally `steer`, `epoch`, `template`)",
        )
    };
    let mut rows: Vec<(usize, Label)> = Vec::new();
    let first = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    if first.trim_start().starts_with('{') {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let label: Label = serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
            rows.push((i + 1, label));
        }
    } else {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| bad(1, e.to_string()))?.clone();
        let column = |n: &str| {
            headers
                .iter()
                .position(|h| h.trim().eq_ignore_ascii_case(n))
        };
        let (Some(scenario), Some(label)) = (column("scenario"), column("label")) else {
            return Err(bad(
                1,
                "the header row names no `scenario` or no `label` column".into(),
            ));
        };
        let (steer, epoch, template) = (column("steer"), column("epoch"), column("template"));
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| bad(i + 2, e.to_string()))?;
            let get = |c: Option<usize>| {
                c.and_then(|c| row.get(c))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
            };
            let epoch = match get(epoch) {
                Some(e) => e
                    .parse()
                    .map_err(|_| bad(i + 2, format!("epoch `{e}` is not a whole number")))?,
                None => 0,
            };
            rows.push((
                i + 2,
                Label {
                    scenario: get(Some(scenario)).unwrap_or_default().to_string(),
                    label: get(Some(label)).unwrap_or_default().to_string(),
                    steer: get(steer).map(str::to_string),
                    epoch,
                    template: get(template).map(str::to_string),
                },
            ));
        }
    }
    let mut labels = BTreeMap::new();
    for (line, l) in rows {
        if l.scenario.is_empty() {
            return Err(bad(line, "a row has no scenario".into()));
        }
        if no_label(&l.label) {
            continue;
        }
        let cluster = l.template.unwrap_or_else(|| l.scenario.clone());
        labels.insert((l.scenario, l.steer, l.epoch), (l.label, cluster));
    }
    Ok(Ratings { name, labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(lines: &[(&str, &str)]) -> String {
        let mut out = String::from(
            r#"{"format":"results","suite":"s","suite_hash":null,"adapter":"x","presentation":"p","steers":[]}"#,
        );
        out.push('\n');
        for (i, (scenario, choice)) in lines.iter().enumerate() {
            out.push_str(&format!(
                r#"{{"scenario":"{scenario}","index":{i},"steer":null,"choice":"{choice}"}}"#
            ));
            out.push('\n');
        }
        out
    }

    #[test]
    fn a_journal_is_compared_with_human_labels_answer_by_answer() {
        let suite = "{\"format\":\"suite\",\"suite\":\"s\"}\n\
             {\"id\":\"s1\",\"index\":0,\"template\":\"t1\",\"text\":\"x\",\"actions\":[]}\n\
             {\"id\":\"s2\",\"index\":1,\"template\":\"t1\",\"text\":\"x\",\"actions\":[]}\n\
             {\"id\":\"s3\",\"index\":2,\"template\":\"t2\",\"text\":\"x\",\"actions\":[]}\n\
             {\"id\":\"s4\",\"index\":3,\"template\":\"t2\",\"text\":\"x\",\"actions\":[]}\n";
        let results = journal(&[("s1", "a"), ("s2", "b"), ("s3", "a"), ("s4", "unparsed")]);
        let csv = "scenario,label\ns1,a\ns2,a\ns3,a\ns5,b\n";
        let r = agreement(
            &Rater::Journal {
                results: Input::Bytes("r", results.as_bytes()),
                suite: Input::Bytes("s", suite.as_bytes()),
            },
            &Rater::Labels(Input::Bytes("people.csv", csv.as_bytes())),
            0,
            200,
        )
        .unwrap();
        // Both labelled s1 (a/a), s2 (b/a), s3 (a/a); s4 is unparsed, s5 unanswered.
        assert_eq!(r.agreement.n, 3);
        assert!((r.agreement.observed - 2.0 / 3.0).abs() < 1e-12);
        // Marginals: the journal a 2, b 1; the people a 3: expected (2·3 + 1·0)/9 = 2/3, so
        // kappa = (2/3 − 2/3)/(1 − 2/3) = 0.
        assert_eq!(r.agreement.kappa, Some(0.0));
        assert_eq!((r.only_a, r.only_b), (0, 1));
        assert_eq!(r.agreement.clusters, 2);
        assert_eq!(
            r.confusion,
            vec![("a".into(), "a".into(), 2), ("b".into(), "a".into(), 1)]
        );
        // The same labels as JSON Lines.
        let jsonl =
            "{\"scenario\":\"s1\",\"label\":\"a\"}\n{\"scenario\":\"s2\",\"label\":\"a\"}\n";
        let r2 = agreement(
            &Rater::Labels(Input::Bytes("a.jsonl", jsonl.as_bytes())),
            &Rater::Labels(Input::Bytes("people.csv", csv.as_bytes())),
            0,
            0,
        )
        .unwrap();
        assert_eq!(r2.agreement.n, 2);
        assert_eq!(
            r2.agreement.kappa, None,
            "one label on both sides: no kappa"
        );
    }

    #[test]
    fn bad_labels_say_where() {
        let csv = "scenario,verdict\ns1,a\n";
        let err = agreement(
            &Rater::Labels(Input::Bytes("x.csv", csv.as_bytes())),
            &Rater::Labels(Input::Bytes("x.csv", csv.as_bytes())),
            0,
            0,
        )
        .unwrap_err();
        assert!(
            err.message
                .contains("x.csv:1: the header row names no `scenario` or no `label`"),
            "{}",
            err.message
        );
        let jsonl = "{\"scenario\":\"s1\"}\n";
        let err = agreement(
            &Rater::Labels(Input::Bytes("y.jsonl", jsonl.as_bytes())),
            &Rater::Labels(Input::Bytes("y.jsonl", jsonl.as_bytes())),
            0,
            0,
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("y.jsonl:1: missing field `label`"),
            "{}",
            err.message
        );
    }
}
