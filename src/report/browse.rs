//! Every answered scenario of one run, for the HTML report's browser: the scenario, its
//! options and the values they uphold, the answer as recorded (the raw text, the
//! probabilities, the readings), the answer to its order-swapped twin, the prompt as sent
//! when the caller can render it, and the cells of the report it is behind.
//!
//! Both files are streamed: the journal is indexed (where the latest line of each request
//! is, a few words per answer), then the suite is read line by line and each answered
//! scenario's line of the journal is read at its offset. What is kept is bounded — at most
//! [`MAX_SCENARIOS`] scenarios and about [`MAX_BYTES`] of text, a raw answer or a prompt cut
//! at [`MAX_TEXT`] characters — so the page stays small whatever the size of the suite; the
//! scenarios past the bound are counted, per cell too, so the page can say how many it
//! leaves out.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::tally::{Catalog, Sources};
use crate::diagnostic::Diagnostic;
use crate::formats::results::{LineIndex, LineReader, Record};
use crate::formats::suite::{ScenarioLine, SuiteReader};

/// The most scenarios kept.
pub const MAX_SCENARIOS: usize = 5_000;
/// About the most bytes of text kept (scenario texts, option labels, answers, prompts).
pub const MAX_BYTES: usize = 8 << 20;
/// The most characters kept of one raw answer, reasoning or prompt.
pub const MAX_TEXT: usize = 4_000;

/// Renders the prompt a scenario was sent with: the system prompt (if any) and the user
/// message; `None` when it cannot be known.
pub type Prompter<'a> = dyn Fn(&ScenarioLine) -> Option<(Option<String>, String)> + 'a;

/// The scenarios of one run, bounded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Browse {
    /// The scenarios kept, in the suite's order.
    pub scenarios: Vec<Entry>,
    /// Scenarios of the suite the run answered (its first epoch).
    pub answered: u64,
    /// Of those, the ones past the bound, not kept.
    pub left_out: u64,
    /// Per cell (`view:name` for a value or label, `a|b` for a pair of values), how many
    /// answered scenarios are behind it, kept or not.
    pub cells: BTreeMap<String, u64>,
    /// The journal read, as messages name it.
    pub results: String,
    /// The suite read.
    pub suite: String,
    /// Whether prompts were rendered.
    pub prompts: bool,
}

/// One answered scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its index in the suite.
    pub index: u64,
    /// Its id.
    pub id: String,
    /// Its template.
    pub template: String,
    /// The dilemma.
    pub text: String,
    /// Its options, in the order shown.
    pub options: Vec<Shown>,
    /// The chosen action's id, or `unparsed`, `refused`, `error` or `free`.
    pub choice: String,
    /// The raw answer (or the error), cut at [`MAX_TEXT`] characters.
    pub raw: Option<String>,
    /// The model's reasoning apart from its answer, cut likewise.
    pub reasoning: Option<String>,
    /// The rule that read the choice from the text.
    pub rule: Option<String>,
    /// Per option (in the order shown), its probability, when recorded.
    pub probabilities: Option<Vec<Option<f64>>>,
    /// Other readings of the answer (method, action or failure).
    pub readings: Vec<(String, String)>,
    /// The order-swapped twin, when kept: its index and its choice.
    pub twin: Option<(u64, String)>,
    /// The system prompt, when rendered.
    pub system: Option<String>,
    /// The user message, when rendered, cut at [`MAX_TEXT`] characters.
    pub prompt: Option<String>,
    /// The value and label cells it is behind (`view:name`): the names in conflict.
    pub cells: Vec<String>,
    /// The pairs of values that met in it, each `(a, b)` with `a < b`.
    pub pairs: Vec<(String, String)>,
}

/// An option as shown.
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    /// The action's id.
    pub id: String,
    /// Its text.
    pub label: String,
    /// The values it upholds.
    pub upholds: Vec<String>,
    /// Whether it is a distractor (upholding nothing in conflict).
    pub distractor: bool,
}

/// `s` with at most `max` characters, saying how many were cut.
fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((at, _)) => format!(
            "{}… ({} more characters)",
            &s[..at],
            s[at..].chars().count()
        ),
    }
}

impl Entry {
    /// About the bytes it adds to a page.
    fn size(&self) -> usize {
        let options: usize = self
            .options
            .iter()
            .map(|o| o.label.len() + o.id.len() + 16)
            .sum();
        self.text.len()
            + options
            + self.raw.as_ref().map_or(0, String::len)
            + self.reasoning.as_ref().map_or(0, String::len)
            + self.prompt.as_ref().map_or(0, String::len)
            + 64
    }
}

/// The names in conflict (winners, losers) of a scenario answered with option `k`, as cell
/// keys, and the pairs of values that met: the same sides as the report counts.
fn sides(
    catalog: &mut Catalog,
    framework: Option<&crate::model::Framework>,
    line: &ScenarioLine,
    k: usize,
) -> (Vec<String>, Vec<(String, String)>) {
    let mut slots_of = |values: &[String]| -> Vec<u32> {
        let mut slots = Vec::new();
        for v in values {
            let p = catalog.project(v, framework);
            slots.extend_from_slice(catalog.slots_of(p));
        }
        slots
    };
    let mut chosen = slots_of(&line.actions[k].upholds);
    let mut rejected: Vec<u32> = Vec::new();
    for (i, a) in line.actions.iter().enumerate() {
        if i != k && !a.distractor {
            rejected.extend(slots_of(&a.upholds));
        }
    }
    chosen.sort_unstable();
    chosen.dedup();
    rejected.sort_unstable();
    rejected.dedup();
    let winners: Vec<u32> = chosen
        .iter()
        .copied()
        .filter(|s| rejected.binary_search(s).is_err())
        .collect();
    let losers: Vec<u32> = rejected
        .iter()
        .copied()
        .filter(|s| chosen.binary_search(s).is_err())
        .collect();
    let key = |slot: u32| {
        format!(
            "{}:{}",
            catalog.views[catalog.view_of(slot) as usize],
            catalog.name_of(slot)
        )
    };
    let mut cells: Vec<String> = winners.iter().chain(&losers).map(|&s| key(s)).collect();
    cells.sort();
    cells.dedup();
    let mut pairs = Vec::new();
    for &w in &winners {
        for &l in &losers {
            if catalog.view_of(w) != 0 || catalog.view_of(l) != 0 {
                continue;
            }
            let (a, b) = (catalog.name_of(w), catalog.name_of(l));
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            pairs.push((a.to_string(), b.to_string()));
        }
    }
    pairs.sort();
    pairs.dedup();
    (cells, pairs)
}

/// Reads every answered scenario of the run `sources` names, keeping those within the
/// bound; `prompter` renders the prompt each was sent with, when the caller can.
pub fn browse(
    sources: &Sources<'_>,
    prompter: Option<&Prompter<'_>>,
) -> Result<Browse, Diagnostic> {
    let journal = LineIndex::read(sources.results)?;
    let mut lines = LineReader::new(sources.results);
    let mut suite = SuiteReader::open(sources.suite)?;
    let steer = sources.steer.map(str::to_string);
    let mut catalog = Catalog::new(sources.framework);
    let mut out = Browse {
        results: sources.results.name(),
        suite: sources.suite.name(),
        prompts: prompter.is_some(),
        ..Browse::default()
    };
    let mut bytes = 0usize;
    while let Some(line) = suite.next_line()? {
        let Some(&at) = journal.latest.get(&(line.index, steer.clone(), 0)) else {
            continue;
        };
        let record: Record = lines.record(at)?;
        if record.scenario != line.id {
            continue;
        }
        out.answered += 1;
        let k = line.actions.iter().position(|a| a.id == record.choice);
        let dilemma = line.kind.as_deref().is_none_or(|k| k == "scenario");
        let (cells, pairs) = match k {
            Some(k) if dilemma => sides(&mut catalog, sources.framework, &line, k),
            _ => (Vec::new(), Vec::new()),
        };
        for c in &cells {
            *out.cells.entry(c.clone()).or_default() += 1;
        }
        for (a, b) in &pairs {
            *out.cells.entry(format!("{a}|{b}")).or_default() += 1;
        }
        if out.scenarios.len() >= MAX_SCENARIOS || bytes >= MAX_BYTES {
            out.left_out += 1;
            continue;
        }
        let rendered = prompter.and_then(|p| p(&line));
        let probabilities = record.probabilities.as_ref().map(|p| {
            line.actions
                .iter()
                .map(|a| p.get(&a.id).copied().filter(|x| x.is_finite()))
                .collect()
        });
        let entry = Entry {
            index: line.index,
            id: line.id.clone(),
            template: line.template.clone(),
            text: cut(&line.text, MAX_TEXT),
            options: line
                .actions
                .iter()
                .map(|a| Shown {
                    id: a.id.clone(),
                    label: cut(&a.label, MAX_TEXT),
                    upholds: a.upholds.clone(),
                    distractor: a.distractor,
                })
                .collect(),
            choice: record.choice.clone(),
            raw: record.raw.as_deref().map(|r| cut(r, MAX_TEXT)),
            reasoning: record.reasoning.as_deref().map(|r| cut(r, MAX_TEXT)),
            rule: record.rule.clone(),
            probabilities,
            readings: record.readings.into_iter().collect(),
            twin: line
                .twin_group
                .as_ref()
                .map(|g| (u64::MAX, format!("group:{g}"))),
            system: rendered.as_ref().and_then(|(s, _)| s.clone()),
            prompt: rendered.map(|(_, u)| cut(&u, MAX_TEXT)),
            cells,
            pairs,
        };
        bytes += entry.size();
        out.scenarios.push(entry);
    }
    pair_twins(&mut out.scenarios);
    Ok(out)
}

/// Fills each kept scenario's twin: the other kept scenario of its twin group (held as
/// `group:NAME` until then).
fn pair_twins(scenarios: &mut [Entry]) {
    let mut groups: FxHashMap<String, Vec<usize>> = FxHashMap::default();
    for (i, e) in scenarios.iter().enumerate() {
        if let Some((_, g)) = &e.twin {
            groups.entry(g.clone()).or_default().push(i);
        }
    }
    let mut twins: Vec<Option<(u64, String)>> = vec![None; scenarios.len()];
    for members in groups.values() {
        for &i in members {
            twins[i] = members
                .iter()
                .find(|&&j| j != i)
                .map(|&j| (scenarios[j].index, scenarios[j].choice.clone()));
        }
    }
    for (e, t) in scenarios.iter_mut().zip(twins) {
        e.twin = t;
    }
}

impl Browse {
    /// The scenarios a report keeps behind its cells (a few per cell, without answers):
    /// what a page shows when it was not given a [`Browse`].
    pub fn from_examples(examples: &super::Examples) -> Browse {
        let mut cells_of: BTreeMap<u64, Vec<String>> = BTreeMap::new();
        let mut pairs_of: BTreeMap<u64, Vec<(String, String)>> = BTreeMap::new();
        let mut cells = BTreeMap::new();
        for (key, list) in &examples.by_value {
            cells.insert(key.clone(), list.len() as u64);
            for &i in list {
                cells_of.entry(i).or_default().push(key.clone());
            }
        }
        for ((a, b), list) in &examples.by_pair {
            cells.insert(format!("{a}|{b}"), list.len() as u64);
            for &i in list {
                pairs_of.entry(i).or_default().push((a.clone(), b.clone()));
            }
        }
        let scenarios: Vec<Entry> = examples
            .scenarios
            .iter()
            .map(|e| Entry {
                index: e.index,
                id: e.id.clone(),
                template: e.template.clone(),
                text: e.text.clone(),
                options: e
                    .options
                    .iter()
                    .map(|o| Shown {
                        id: o.id.clone(),
                        label: o.label.clone(),
                        upholds: o.upholds.clone(),
                        distractor: false,
                    })
                    .collect(),
                choice: e.choice.clone(),
                raw: None,
                reasoning: None,
                rule: None,
                probabilities: None,
                readings: Vec::new(),
                twin: None,
                system: None,
                prompt: None,
                cells: cells_of.remove(&e.index).unwrap_or_default(),
                pairs: pairs_of.remove(&e.index).unwrap_or_default(),
            })
            .collect();
        Browse {
            answered: scenarios.len() as u64,
            scenarios,
            cells,
            ..Browse::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::Input;

    const SUITE: &str = concat!(
        r#"{"format":"suite","suite":"t","seed":0}"#,
        "\n",
        r#"{"id":"s0","index":0,"template":"t1","twin_group":"s0","text":"First </script> dilemma","actions":[{"id":"a","label":"Do A","upholds":["v.x"]},{"id":"b","label":"Do B","upholds":["v.y"]}]}"#,
        "\n",
        r#"{"id":"s1","index":1,"template":"t1","twin_group":"s0","text":"First, swapped","actions":[{"id":"b","label":"Do B","upholds":["v.y"]},{"id":"a","label":"Do A","upholds":["v.x"]}]}"#,
        "\n",
        r#"{"id":"s2","index":2,"template":"t2","text":"Third","actions":[{"id":"a","label":"Do A","upholds":["v.x"]},{"id":"c","label":"Leave","upholds":[],"distractor":true},{"id":"d","label":"Do D","upholds":["v.z"]}]}"#,
        "\n",
        r#"{"id":"s3","index":3,"template":"t2","text":"Unanswered","actions":[{"id":"a","label":"Do A","upholds":["v.x"]},{"id":"d","label":"Do D","upholds":["v.z"]}]}"#,
        "\n",
    );

    const RESULTS: &str = concat!(
        r#"{"format":"results","suite":"t","adapter":"hand","presentation":"letters/0","steers":[]}"#,
        "\n",
        r#"{"scenario":"s0","index":0,"choice":"error","raw":"timeout"}"#,
        "\n",
        r#"{"scenario":"s0","index":0,"choice":"a","position":0,"raw":"A, because </script><b>","probabilities":{"a":0.75,"b":0.25},"readings":{"logprobs":"a","parse":"a"}}"#,
        "\n",
        r#"{"scenario":"s1","index":1,"choice":"b","position":0,"raw":"A"}"#,
        "\n",
        r#"{"scenario":"s2","index":2,"choice":"d","position":2,"raw":"C"}"#,
        "\n",
        r#"{"scenario":"other","index":3,"choice":"a","raw":"A"}"#,
        "\n",
    );

    fn read(prompter: Option<&Prompter<'_>>) -> Browse {
        let sources = Sources {
            results: Input::Bytes("results", RESULTS.as_bytes()),
            suite: Input::Bytes("suite", SUITE.as_bytes()),
            framework: None,
            steer: None,
            notes: &[],
        };
        browse(&sources, prompter).expect("browse")
    }

    #[test]
    fn keeps_every_answered_scenario_with_its_latest_answer() {
        let b = read(None);
        assert_eq!(b.answered, 3, "s3's answer belongs to another suite");
        assert_eq!(b.left_out, 0);
        let indexes: Vec<u64> = b.scenarios.iter().map(|e| e.index).collect();
        assert_eq!(indexes, [0, 1, 2]);
        let first = &b.scenarios[0];
        assert_eq!(first.choice, "a", "the latest line counts, not the error");
        assert_eq!(first.raw.as_deref(), Some("A, because </script><b>"));
        assert_eq!(first.probabilities, Some(vec![Some(0.75), Some(0.25)]));
        assert_eq!(
            first.readings,
            [
                ("logprobs".into(), "a".into()),
                ("parse".into(), "a".into())
            ]
        );
        assert_eq!(first.cells, ["values:v.x", "values:v.y"]);
        assert_eq!(first.pairs, [("v.x".to_string(), "v.y".to_string())]);
        assert!(first.prompt.is_none() && !b.prompts);
    }

    #[test]
    fn twins_name_each_other_and_distractors_are_not_in_conflict() {
        let b = read(None);
        // Both twins chose an action of their own: s0 `a`, s1 `b`.
        assert_eq!(b.scenarios[0].twin, Some((1, "b".to_string())));
        assert_eq!(b.scenarios[1].twin, Some((0, "a".to_string())));
        assert_eq!(b.scenarios[2].twin, None);
        assert_eq!(b.scenarios[2].cells, ["values:v.x", "values:v.z"]);
        assert_eq!(b.cells.get("values:v.x"), Some(&3));
        assert_eq!(b.cells.get("v.x|v.y"), Some(&2));
        assert_eq!(b.cells.get("v.x|v.z"), Some(&1));
    }

    #[test]
    fn renders_prompts_through_the_caller() {
        let prompter =
            |s: &ScenarioLine| Some((Some("Be brief.".to_string()), format!("{}?", s.text)));
        let b = read(Some(&prompter));
        assert!(b.prompts);
        assert_eq!(b.scenarios[2].prompt.as_deref(), Some("Third?"));
        assert_eq!(b.scenarios[2].system.as_deref(), Some("Be brief."));
    }

    #[test]
    fn long_text_is_cut_and_says_by_how_much() {
        assert_eq!(cut("abcdef", 4), "abcd… (2 more characters)");
        assert_eq!(cut("äöü", 3), "äöü");
        assert_eq!(cut("äöüß", 2), "äö… (2 more characters)");
    }

    #[test]
    fn past_the_bound_scenarios_are_counted_not_kept() {
        let mut suite = String::from(r#"{"format":"suite","suite":"t","seed":0}"#);
        let mut results = String::from(
            r#"{"format":"results","suite":"t","adapter":"hand","presentation":"p","steers":[]}"#,
        );
        let n = MAX_SCENARIOS + 7;
        for i in 0..n {
            suite.push_str(&format!(
                "\n{{\"id\":\"s{i}\",\"index\":{i},\"template\":\"t\",\"text\":\"x\",\"actions\":[{{\"id\":\"a\",\"label\":\"A\",\"upholds\":[\"v.x\"]}},{{\"id\":\"b\",\"label\":\"B\",\"upholds\":[\"v.y\"]}}]}}"
            ));
            results.push_str(&format!(
                "\n{{\"scenario\":\"s{i}\",\"index\":{i},\"choice\":\"a\",\"raw\":\"A\"}}"
            ));
        }
        let sources = Sources {
            results: Input::Bytes("results", results.as_bytes()),
            suite: Input::Bytes("suite", suite.as_bytes()),
            framework: None,
            steer: None,
            notes: &[],
        };
        let b = browse(&sources, None).expect("browse");
        assert_eq!(b.scenarios.len(), MAX_SCENARIOS);
        assert_eq!(b.left_out, 7);
        assert_eq!(b.answered, n as u64);
        assert_eq!(b.cells.get("values:v.x"), Some(&(n as u64)));
    }
}
