//! Every answer of one run, for the HTML report's browser: the scenario, its options and
//! the values they uphold, the answer as recorded in each epoch (the raw text, the
//! probabilities, the readings), the answer to its order-swapped twin, the prompt as sent
//! when the caller can render it, and the cells of the report it is behind.
//!
//! Both files are streamed: the journal is indexed (where the latest line of each request
//! is, a few words per answer), then the suite is read line by line and each answer's line
//! of the journal is read at its offset. What is kept is bounded — at most [`MAX_SCENARIOS`]
//! answers and about [`MAX_BYTES`] of text, a raw answer or a prompt cut at [`MAX_TEXT`]
//! characters — so the page stays small whatever the size of the run. Past the bound the
//! files are read twice: the first pass counts, for each answer, how many answers came
//! before it behind each of its cells (its values, its pairs of values and its template);
//! the second keeps the answers that are among the first `q` behind some cell, with `q` the
//! largest quota that fits, and fills what room is left with the next ones in the suite's
//! order. So every cell shows answers (as many as `q`, where it has them), the sample is
//! the same on every run, and the answers left out are counted, per cell too, so the page
//! can say how many it leaves out.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::tally::{Catalog, Sources};
use crate::diagnostic::Diagnostic;
use crate::formats::results::{LineIndex, LineReader, Record};
use crate::formats::suite::{ScenarioLine, SuiteReader};

/// The most answers kept (a scenario answered in several epochs is an answer per epoch).
pub const MAX_SCENARIOS: usize = 5_000;
/// About the most bytes of text kept (scenario texts, option labels, answers, prompts).
pub const MAX_BYTES: usize = 8 << 20;
/// The most characters kept of one raw answer, reasoning or prompt.
pub const MAX_TEXT: usize = 4_000;

/// Renders the prompt a scenario was sent with: the system prompt (if any) and the user
/// message; `None` when it cannot be known.
pub type Prompter<'a> = dyn Fn(&ScenarioLine) -> Option<(Option<String>, String)> + 'a;

/// The answers of one run, bounded.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Browse {
    /// The answers kept, in the suite's order (a scenario's epochs in turn).
    pub scenarios: Vec<Entry>,
    /// Answers of the run to scenarios of the suite: a scenario and an epoch each.
    pub answered: u64,
    /// Of those, the ones past the bound, not kept.
    pub left_out: u64,
    /// How many epochs the run answered in (1 for a run without `--epochs`).
    pub epochs: u32,
    /// When answers were left out for a sample: the quota every cell was kept up to (the
    /// first `q` answers behind each value, pair of values and template, in the suite's
    /// order, are in the page). `None` when every answer is kept, or (when the text of the
    /// first ones alone fills the page) the first ones are.
    pub quota: Option<u64>,
    /// Per cell (`view:name` for a value or label, `a|b` for a pair of values), how many
    /// answers are behind it, kept or not.
    pub cells: BTreeMap<String, u64>,
    /// The journal read, as messages name it.
    pub results: String,
    /// The suite read.
    pub suite: String,
    /// Whether prompts were rendered.
    pub prompts: bool,
}

/// One answer: a scenario and the epoch it was asked in.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// Its index in the suite.
    pub index: u64,
    /// The epoch of the answer, from 0.
    pub epoch: u32,
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
    /// The order-swapped twin, when kept: its index and its choice in the same epoch.
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

/// What a pass over the run hands on for each answer.
struct Answered<'l> {
    line: &'l ScenarioLine,
    epoch: u32,
    record: Record,
    cells: Vec<String>,
    pairs: Vec<(String, String)>,
    /// How many answers came before it behind the cell of its that has had the fewest.
    level: u64,
}

/// Counts the answers behind each cell, as a pass meets them.
#[derive(Default)]
struct Levels(FxHashMap<String, u64>);

impl Levels {
    /// The fewest answers met before behind any of `keys`, then counts one more behind each.
    fn next<'k>(&mut self, keys: impl Iterator<Item = &'k str>) -> u64 {
        let mut level = u64::MAX;
        for key in keys {
            let n = match self.0.get_mut(key) {
                Some(n) => n,
                None => self.0.entry(key.to_string()).or_default(),
            };
            level = level.min(*n);
            *n += 1;
        }
        level
    }
}

/// The requests of the run `steer` names that the journal answers, as (index, epoch),
/// sorted.
fn answered(journal: &LineIndex, steer: Option<&str>) -> Vec<(u64, u32)> {
    let mut answered: Vec<(u64, u32)> = journal
        .latest
        .keys()
        .filter(|(_, s, _)| s.as_deref() == steer)
        .map(|&(index, _, epoch)| (index, epoch))
        .collect();
    answered.sort_unstable();
    answered
}

/// What a pass over the run does with it.
trait Pass {
    /// Whether the suite's line number `line` (counting scenarios from 0) is read: a pass
    /// that has no use for its answers saves parsing it.
    fn wants(&mut self, line: u64) -> bool;
    /// Takes an answer of the line `line`.
    fn answer(&mut self, line: u64, answered: Answered<'_>) -> Result<(), Diagnostic>;
}

/// Reads the run's answers, scenario by scenario in the suite's order and each scenario's
/// epochs in turn (those of `answered`, the run's requests the journal answers), handing
/// each to `pass` with its cells and its level (counted over the lines `pass` wants).
fn each_answer(
    sources: &Sources<'_>,
    journal: &LineIndex,
    answered: &[(u64, u32)],
    pass: &mut impl Pass,
) -> Result<(), Diagnostic> {
    let mut lines = LineReader::new(sources.results);
    let suite = SuiteReader::open(sources.suite)?;
    let name = suite.name().to_string();
    let steer = sources.steer.map(str::to_string);
    let mut catalog = Catalog::new(sources.framework);
    let mut levels = Levels::default();
    let mut key = (0, steer, 0);
    let mut number = 0u64;
    suite.each_raw(|raw, n| {
        let at_line = number;
        number += 1;
        if !pass.wants(at_line) {
            return Ok(());
        }
        let line: ScenarioLine = serde_json::from_slice(raw)
            .map_err(|e| crate::formats::suite::not_a_scenario(&name, n, &e))?;
        let dilemma = line.kind.as_deref().is_none_or(|k| k == "scenario");
        let template = format!("\u{1f}template:{}", line.template);
        let from = answered.partition_point(|&(i, _)| i < line.index);
        let epochs = answered[from..]
            .iter()
            .take_while(|&&(i, _)| i == line.index)
            .map(|&(_, e)| e);
        for epoch in epochs {
            key.0 = line.index;
            key.2 = epoch;
            let Some(&at) = journal.latest.get(&key) else {
                continue;
            };
            let record: Record = lines.record(at)?;
            if record.scenario != line.id {
                continue;
            }
            let k = line.actions.iter().position(|a| a.id == record.choice);
            let (cells, pairs) = match k {
                Some(k) if dilemma => sides(&mut catalog, sources.framework, &line, k),
                _ => (Vec::new(), Vec::new()),
            };
            let pair_keys: Vec<String> = pairs.iter().map(|(a, b)| format!("{a}|{b}")).collect();
            let level = levels.next(
                cells
                    .iter()
                    .chain(&pair_keys)
                    .map(String::as_str)
                    .chain(std::iter::once(template.as_str())),
            );
            pass.answer(
                at_line,
                Answered {
                    line: &line,
                    epoch,
                    record,
                    cells,
                    pairs,
                    level,
                },
            )?;
        }
        Ok(())
    })
}

/// About the bytes an answer adds to a page, before its prompt is rendered: a rendered
/// prompt is taken to hold the dilemma and the options again, and an instruction. Only the
/// quota is chosen by it: what is kept is counted as it is.
fn estimate(line: &ScenarioLine, record: &Record, prompts: bool) -> usize {
    let text = line.text.len().min(4 * MAX_TEXT);
    let options: usize = line
        .actions
        .iter()
        .map(|a| a.label.len().min(4 * MAX_TEXT) + a.id.len() + 16)
        .sum();
    let said = |s: &Option<String>| s.as_ref().map_or(0, |s| s.len().min(4 * MAX_TEXT));
    let prompt = if prompts {
        (text + options + 160).min(MAX_TEXT + 64)
    } else {
        0
    };
    text + options + said(&record.raw) + said(&record.reasoning) + prompt + 64
}

/// Reads every answer of the run `sources` names, keeping those within the bound (a sample
/// that covers every cell, when they do not all fit); `prompter` renders the prompt each
/// was sent with, when the caller can.
pub fn browse(
    sources: &Sources<'_>,
    prompter: Option<&Prompter<'_>>,
) -> Result<Browse, Diagnostic> {
    let journal = LineIndex::read(sources.results)?;
    let answered = answered(&journal, sources.steer);
    let epochs: std::collections::BTreeSet<u32> = answered.iter().map(|&(_, e)| e).collect();
    let out = Browse {
        results: sources.results.name(),
        suite: sources.suite.name(),
        prompts: prompter.is_some(),
        epochs: u32::try_from(epochs.len()).unwrap_or(u32::MAX).max(1),
        ..Browse::default()
    };
    // The first pass counts the answers and the cells, and per level how many answers and
    // about how many bytes, and notes each answer's line and level. It keeps the first
    // answers, as the page holds them: when they all fit, it is the only pass.
    let mut first = First {
        out,
        prompter,
        per_level: BTreeMap::new(),
        met: Vec::new(),
        bytes: 0,
    };
    each_answer(sources, &journal, &answered, &mut first)?;
    let First {
        mut out,
        per_level,
        met,
        ..
    } = first;
    let (quota, room, room_bytes) = quota(&per_level);
    // Every answer fits (or only the estimate thought so, and the first ones are what fits).
    if out.left_out == 0 || quota.is_none() {
        pair_twins(&mut out.scenarios);
        return Ok(out);
    }
    out.quota = quota;
    out.scenarios.clear();
    out.left_out = 0;
    // The second pass keeps the answers within the quota, and gives the room they leave to
    // the next ones in the suite's order; it parses only the lines of those it may keep.
    let mut second = Second {
        out,
        prompter,
        met: &met,
        at: 0,
        quota: quota.unwrap_or(0),
        room,
        room_bytes,
        bytes: 0,
        filled: 0,
    };
    each_answer(sources, &journal, &answered, &mut second)?;
    let mut out = second.out;
    // Answers of lines after the last one read (a suite cut short since the first pass).
    out.left_out += met.len().saturating_sub(second.at) as u64;
    pair_twins(&mut out.scenarios);
    Ok(out)
}

/// An answer as the first pass met it.
struct Met {
    /// The suite's line (counting scenarios from 0).
    line: u64,
    /// Its level, no higher than the bound.
    level: u32,
}

/// The first pass: counts, and keeps the first answers.
struct First<'p, 'a> {
    out: Browse,
    prompter: Option<&'p Prompter<'a>>,
    per_level: BTreeMap<u64, (u64, usize)>,
    met: Vec<Met>,
    bytes: usize,
}

impl Pass for First<'_, '_> {
    fn wants(&mut self, _: u64) -> bool {
        true
    }

    fn answer(&mut self, line: u64, a: Answered<'_>) -> Result<(), Diagnostic> {
        let out = &mut self.out;
        out.answered += 1;
        for c in &a.cells {
            *out.cells.entry(c.clone()).or_default() += 1;
        }
        for (x, y) in &a.pairs {
            *out.cells.entry(format!("{x}|{y}")).or_default() += 1;
        }
        // No quota goes past the bound: the levels above it are one.
        let level = a.level.min(MAX_SCENARIOS as u64);
        let slot = self.per_level.entry(level).or_default();
        slot.0 += 1;
        slot.1 = slot
            .1
            .saturating_add(estimate(a.line, &a.record, self.prompter.is_some()));
        self.met.push(Met {
            line,
            level: level as u32,
        });
        if out.left_out > 0 || out.scenarios.len() >= MAX_SCENARIOS || self.bytes >= MAX_BYTES {
            out.left_out += 1;
        } else {
            let entry = entry(a, self.prompter);
            self.bytes += entry.size();
            out.scenarios.push(entry);
        }
        Ok(())
    }
}

/// The second pass: keeps the sample.
struct Second<'m, 'p, 'a> {
    out: Browse,
    prompter: Option<&'p Prompter<'a>>,
    /// The answers as the first pass met them, and how many this pass has passed.
    met: &'m [Met],
    at: usize,
    quota: u64,
    /// Room left for answers past the quota: answers, and bytes.
    room: u64,
    room_bytes: usize,
    bytes: usize,
    filled: usize,
}

impl Pass for Second<'_, '_, '_> {
    fn wants(&mut self, line: u64) -> bool {
        // The answers of lines before it that were not handed on are left out.
        while self.met.get(self.at).is_some_and(|m| m.line < line) {
            self.at += 1;
            self.out.left_out += 1;
        }
        let mine = self.met[self.at..]
            .iter()
            .take_while(|m| m.line == line)
            .count();
        if mine == 0 {
            return false;
        }
        let wanted = self.met[self.at..self.at + mine]
            .iter()
            .any(|m| u64::from(m.level) < self.quota)
            || (self.room > 0 && self.filled < self.room_bytes);
        if !wanted {
            self.at += mine;
            self.out.left_out += mine as u64;
        }
        wanted
    }

    fn answer(&mut self, line: u64, a: Answered<'_>) -> Result<(), Diagnostic> {
        let Some(met) = self.met.get(self.at).filter(|m| m.line == line) else {
            return Err(Diagnostic::new(
                crate::diagnostic::Code::Io,
                format!(
                    "cannot read `{}` again as it was read: it changed while it was read",
                    self.out.results
                ),
            )
            .help("report on a journal no run is writing"));
        };
        self.at += 1;
        let within = u64::from(met.level) < self.quota;
        let out = &mut self.out;
        // What the estimate missed still stops at the bound.
        if (!within && self.room == 0)
            || out.scenarios.len() >= MAX_SCENARIOS
            || self.bytes >= MAX_BYTES
        {
            out.left_out += 1;
            return Ok(());
        }
        let entry = entry(a, self.prompter);
        let size = entry.size();
        if !within {
            if self.filled + size > self.room_bytes {
                out.left_out += 1;
                return Ok(());
            }
            self.room -= 1;
            self.filled += size;
        }
        self.bytes += size;
        out.scenarios.push(entry);
        Ok(())
    }
}

/// The largest quota `q` whose answers (those among the first `q` behind some cell) fit the
/// bound, with the room they leave for others (answers, bytes); `None` when every answer
/// fits.
fn quota(per_level: &BTreeMap<u64, (u64, usize)>) -> (Option<u64>, u64, usize) {
    let (count, size) = per_level.values().fold((0u64, 0usize), |(n, b), &(m, c)| {
        (n + m, b.saturating_add(c))
    });
    if count <= MAX_SCENARIOS as u64 && size <= MAX_BYTES {
        return (None, 0, 0);
    }
    let (mut kept, mut kept_bytes) = (0u64, 0usize);
    let mut q = 0;
    for (&level, &(n, b)) in per_level {
        // Levels no answer has are free: the quota passes them.
        if level > q {
            break;
        }
        if kept + n > MAX_SCENARIOS as u64 || kept_bytes.saturating_add(b) > MAX_BYTES {
            break;
        }
        kept += n;
        kept_bytes += b;
        q = level + 1;
    }
    (Some(q), MAX_SCENARIOS as u64 - kept, MAX_BYTES - kept_bytes)
}

/// An answer as the page holds it.
fn entry(a: Answered<'_>, prompter: Option<&Prompter<'_>>) -> Entry {
    let line = a.line;
    let record = a.record;
    let rendered = prompter.and_then(|p| p(line));
    let probabilities = record.probabilities.as_ref().map(|p| {
        line.actions
            .iter()
            .map(|x| p.get(&x.id).copied().filter(|x| x.is_finite()))
            .collect()
    });
    Entry {
        index: line.index,
        epoch: a.epoch,
        id: line.id.clone(),
        template: line.template.clone(),
        text: cut(&line.text, MAX_TEXT),
        options: line
            .actions
            .iter()
            .map(|x| Shown {
                id: x.id.clone(),
                label: cut(&x.label, MAX_TEXT),
                upholds: x.upholds.clone(),
                distractor: x.distractor,
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
        cells: a.cells,
        pairs: a.pairs,
    }
}

/// Fills each kept answer's twin: the other kept answer of its twin group in the same epoch
/// (held as `group:NAME` until then).
fn pair_twins(scenarios: &mut [Entry]) {
    let mut groups: FxHashMap<(String, u32), Vec<usize>> = FxHashMap::default();
    for (i, e) in scenarios.iter().enumerate() {
        if let Some((_, g)) = &e.twin {
            groups.entry((g.clone(), e.epoch)).or_default().push(i);
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
        // One cell: the sample is its first answers.
        assert_eq!(b.quota, Some(MAX_SCENARIOS as u64));
        assert_eq!(
            b.scenarios.last().map(|e| e.index),
            Some(MAX_SCENARIOS as u64 - 1)
        );
    }

    /// A suite of `n` scenarios (template `t1`, values x and y), then `late` more (template
    /// `t2`, values x and z), each answered with its first option in `epochs` epochs.
    fn run_of(n: usize, late: usize, epochs: u32) -> (String, String) {
        let mut suite = String::from(r#"{"format":"suite","suite":"t","seed":0}"#);
        let mut results = String::from(
            r#"{"format":"results","suite":"t","adapter":"hand","presentation":"p","steers":[]}"#,
        );
        for i in 0..n + late {
            let (t, other) = if i < n { ("t1", "v.y") } else { ("t2", "v.z") };
            suite.push_str(&format!(
                "\n{{\"id\":\"s{i}\",\"index\":{i},\"template\":\"{t}\",\"text\":\"x\",\"actions\":[{{\"id\":\"a\",\"label\":\"A\",\"upholds\":[\"v.x\"]}},{{\"id\":\"b\",\"label\":\"B\",\"upholds\":[\"{other}\"]}}]}}"
            ));
            for e in 0..epochs {
                results.push_str(&format!(
                    "\n{{\"scenario\":\"s{i}\",\"index\":{i},\"epoch\":{e},\"choice\":\"a\",\"raw\":\"A\"}}"
                ));
            }
        }
        (suite, results)
    }

    fn browse_of((suite, results): &(String, String)) -> Browse {
        let sources = Sources {
            results: Input::Bytes("results", results.as_bytes()),
            suite: Input::Bytes("suite", suite.as_bytes()),
            framework: None,
            steer: None,
            notes: &[],
        };
        browse(&sources, None).expect("browse")
    }

    #[test]
    fn past_the_bound_a_cell_met_only_after_it_is_still_shown() {
        let late = 5;
        let b = browse_of(&run_of(MAX_SCENARIOS + 5, late, 1));
        assert_eq!(b.answered, MAX_SCENARIOS as u64 + 10);
        assert_eq!(b.scenarios.len(), MAX_SCENARIOS);
        assert_eq!(b.left_out, 10);
        // Every answer of the late template and pair is in the page, in the suite's order.
        let shown: Vec<u64> = b
            .scenarios
            .iter()
            .filter(|e| e.template == "t2")
            .map(|e| e.index)
            .collect();
        let first_late = MAX_SCENARIOS as u64 + 5;
        assert_eq!(
            shown,
            (first_late..first_late + late as u64).collect::<Vec<_>>()
        );
        assert!(
            b.scenarios
                .iter()
                .filter(|e| e.template == "t2")
                .all(|e| e.pairs == [("v.x".to_string(), "v.z".to_string())])
        );
        assert_eq!(b.cells.get("v.x|v.z"), Some(&(late as u64)));
        // The rest of the room goes to the first answers of the crowded cell.
        assert_eq!(b.quota, Some(MAX_SCENARIOS as u64 - late as u64));
        let indexes: Vec<u64> = b.scenarios.iter().map(|e| e.index).collect();
        assert!(
            indexes.windows(2).all(|w| w[0] < w[1]),
            "in the suite's order"
        );
        assert_eq!(
            indexes[MAX_SCENARIOS - late - 1],
            MAX_SCENARIOS as u64 - late as u64 - 1
        );
        // The same sample every time.
        assert_eq!(browse_of(&run_of(MAX_SCENARIOS + 5, late, 1)), b);
    }

    #[test]
    fn past_the_bound_every_epoch_counts_and_each_cell_keeps_its_share() {
        // 3,000 scenarios of one cell in two epochs, and 10 of another: 6,020 answers.
        let b = browse_of(&run_of(3_000, 10, 2));
        assert_eq!(b.epochs, 2);
        assert_eq!(b.answered, 6_020);
        assert_eq!(b.scenarios.len(), MAX_SCENARIOS);
        assert_eq!(b.left_out, 1_020);
        let late: Vec<(u64, u32)> = b
            .scenarios
            .iter()
            .filter(|e| e.template == "t2")
            .map(|e| (e.index, e.epoch))
            .collect();
        assert_eq!(late.len(), 20, "both epochs of every late scenario");
        assert_eq!(late[0], (3_000, 0));
        assert_eq!(late[1], (3_000, 1));
    }

    #[test]
    fn every_epoch_is_an_answer_of_its_own_and_twins_pair_within_an_epoch() {
        let results = concat!(
            r#"{"format":"results","suite":"t","adapter":"hand","presentation":"letters/0","steers":[]}"#,
            "\n",
            r#"{"scenario":"s0","index":0,"epoch":0,"choice":"a","raw":"A"}"#,
            "\n",
            r#"{"scenario":"s0","index":0,"epoch":1,"choice":"b","raw":"B"}"#,
            "\n",
            r#"{"scenario":"s1","index":1,"epoch":1,"choice":"a","raw":"B"}"#,
            "\n",
            r#"{"scenario":"s1","index":1,"epoch":0,"choice":"b","raw":"A"}"#,
            "\n",
            r#"{"scenario":"s2","index":2,"epoch":1,"choice":"unparsed","raw":"?"}"#,
            "\n",
            // An epoch far out: only the epochs answered are looked at.
            r#"{"scenario":"s3","index":3,"epoch":4294967295,"choice":"d","raw":"B"}"#,
            "\n",
        );
        let b = browse_of(&(SUITE.to_string(), results.to_string()));
        assert_eq!(b.epochs, 3);
        assert_eq!(b.answered, 6);
        assert_eq!((b.left_out, b.quota), (0, None));
        let rows: Vec<(u64, u32, &str)> = b
            .scenarios
            .iter()
            .map(|e| (e.index, e.epoch, e.choice.as_str()))
            .collect();
        assert_eq!(
            rows,
            [
                (0, 0, "a"),
                (0, 1, "b"),
                (1, 0, "b"),
                (1, 1, "a"),
                (2, 1, "unparsed"),
                (3, u32::MAX, "d")
            ]
        );
        assert_eq!(b.scenarios[0].twin, Some((1, "b".to_string())));
        assert_eq!(b.scenarios[1].twin, Some((1, "a".to_string())));
        assert_eq!(b.scenarios[3].twin, Some((0, "b".to_string())));
        // Each epoch's answer counts behind its cells.
        assert_eq!(b.cells.get("v.x|v.y"), Some(&4));
    }

    #[test]
    fn the_quota_is_the_largest_that_fits() {
        let levels = |l: &[(u64, u64)]| -> BTreeMap<u64, (u64, usize)> {
            l.iter().map(|&(k, n)| (k, (n, n as usize * 100))).collect()
        };
        assert_eq!(quota(&levels(&[(0, 10), (1, 10)])), (None, 0, 0));
        let max = MAX_SCENARIOS as u64;
        // 3,000 first answers and 3,000 second ones: every first one, and room for 2,000.
        assert_eq!(
            quota(&levels(&[(0, 3_000), (1, 3_000)])),
            (Some(1), max - 3_000, MAX_BYTES - 300_000)
        );
        // More cells than room: a quota of 0, the room filled in the suite's order.
        assert_eq!(quota(&levels(&[(0, max + 1)])), (Some(0), max, MAX_BYTES));
    }
}
