//! Reading a results journal against the suite it answers, in one pass over each file.
//!
//! The journal is read first into a compact index of the latest answer per (steer, scenario
//! index): a few words per answer, none of its text. The suite is then streamed in order and
//! every answered scenario is counted, per template (the bootstrap's clusters), under every
//! name its values count for: the value itself, the theory labels it is mapped to, the
//! values above it. Memory grows with the number of answers (the index) and of distinct
//! (template, name) pairs, never with the text of the suite.

use std::borrow::Cow;
use std::collections::BTreeMap;

use indexmap::{IndexMap, IndexSet};
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde_json::value::RawValue;
use xxhash_rust::xxh3::xxh3_64;

use crate::diagnostic::{Code, Diagnostic};
use crate::formats::Input;
use crate::formats::results::{Readings, ResultsFile};
use crate::formats::suite::{SuiteFile, SuiteLineRef};
use crate::model::{Framework, ValueId};

/// Per name: times selected, neglected, won in conflict, in conflict; and of the first two
/// and the last, those counted on repeats of a binding (lines with an `occurrence` past 1);
/// then times the chosen option had it as `either`, selected and neglected weighed by
/// relevance (in thousandths: a value upheld without `relevance` adds 1000), and wins and
/// conflicts weighed by the relevance of the value on the side that upholds it.
pub type Counts = [u64; COUNTERS];
/// The counters of [`Counts`].
pub const COUNTERS: usize = 11;
/// Index of the selected count in [`Counts`].
pub const SELECTED: usize = 0;
/// Index of the neglected count.
pub const NEGLECTED: usize = 1;
/// Index of the wins in conflict.
pub const WINS: usize = 2;
/// Index of the conflicts.
pub const TRIALS: usize = 3;
/// Index of the selected and neglected counted on repeats.
pub const REPEATED: usize = 4;
/// Index of the conflicts counted on repeats.
pub const REPEATED_TRIALS: usize = 5;
/// Index of the times the chosen option had the name as `either`.
pub const EITHER: usize = 6;
/// Index of the selected count weighed by relevance, in thousandths.
pub const SELECTED_RELEVANCE: usize = 7;
/// Index of the neglected count weighed by relevance, in thousandths.
pub const NEGLECTED_RELEVANCE: usize = 8;
/// Index of the wins in conflict weighed by relevance, in thousandths.
pub const WINS_RELEVANCE: usize = 9;
/// Index of the conflicts weighed by relevance, in thousandths.
pub const TRIALS_RELEVANCE: usize = 10;
/// A relevance of 1, in the thousandths of the weighed counts.
pub const FULL_RELEVANCE: u64 = 1000;
/// A game between two values of relevance 1, in the millionths of the weighed games.
pub const FULL_GAME: u64 = FULL_RELEVANCE * FULL_RELEVANCE;

/// The relevance of `value` in an option's `relevance` object, in thousandths
/// ([`FULL_RELEVANCE`] when it is not there).
fn relevance_of(relevance: &[(String, f64)], value: &str) -> u64 {
    relevance
        .binary_search_by(|(v, _)| v.as_str().cmp(value))
        .ok()
        .map_or(FULL_RELEVANCE, |i| {
            (relevance[i].1.clamp(0.0, 1.0) * FULL_RELEVANCE as f64).round() as u64
        })
}

/// An option's `relevance` object as pairs sorted by value, a value written twice keeping
/// its last relevance (empty when absent or unreadable).
fn relevances(raw: Option<&RawValue>) -> Vec<(String, f64)> {
    raw.and_then(|r| serde_json::from_str::<BTreeMap<String, f64>>(r.get()).ok())
        .map(|m| m.into_iter().collect())
        .unwrap_or_default()
}

/// The name of the view of values themselves.
pub const VALUES: &str = "values";
/// The name of the view up the hierarchy.
pub const HIERARCHY: &str = "hierarchy";

/// The names answers are counted under, and how each value of a suite projects onto them.
pub struct Catalog {
    /// View names: [`VALUES`], one per framework values are mapped onto (its id), then
    /// [`HIERARCHY`].
    pub views: Vec<String>,
    /// Every slot: a name within a view.
    pub slots: IndexSet<(u16, Box<str>), FxBuildHasher>,
    /// Per value named in the suite, its slots (every view).
    projections: IndexMap<Box<str>, Vec<u32>, FxBuildHasher>,
    index: Option<FrameworkIndex>,
}

struct FrameworkIndex {
    targets: FxHashMap<ValueId, Vec<ValueId>>,
    /// Per label framework id, its view.
    label_views: FxHashMap<String, u16>,
}

impl Catalog {
    /// A catalog over `framework`'s mappings and hierarchy (values only without one).
    pub fn new(framework: Option<&Framework>) -> Catalog {
        let mut views = vec![VALUES.to_string()];
        let index = framework.map(|f| {
            let mut targets: FxHashMap<ValueId, Vec<ValueId>> = FxHashMap::default();
            for m in &f.mappings {
                targets
                    .entry(m.value)
                    .or_default()
                    .extend(m.targets.iter().copied());
            }
            let mut label_frameworks: Vec<String> = targets
                .values()
                .flatten()
                .map(|t| f.module(f.value(*t).module).display_id().to_string())
                .collect();
            label_frameworks.sort_unstable();
            label_frameworks.dedup();
            let label_views = label_frameworks
                .iter()
                .enumerate()
                .map(|(i, id)| (id.clone(), (i + 1) as u16))
                .collect();
            views.extend(label_frameworks);
            FrameworkIndex {
                targets,
                label_views,
            }
        });
        views.push(HIERARCHY.to_string());
        Catalog {
            views,
            slots: IndexSet::default(),
            projections: IndexMap::default(),
            index,
        }
    }

    /// The view up the hierarchy.
    pub fn hierarchy_view(&self) -> u16 {
        (self.views.len() - 1) as u16
    }

    fn slot(&mut self, view: u16, name: String) -> u32 {
        self.slots.insert_full((view, name.into_boxed_str())).0 as u32
    }

    /// The projection of `value` (by its position among projections).
    pub(super) fn project(&mut self, value: &str, framework: Option<&Framework>) -> usize {
        if let Some(i) = self.projections.get_index_of(value) {
            return i;
        }
        let mut slots = vec![self.slot(0, value.to_string())];
        let hierarchy = self.hierarchy_view();
        let mut extra: Vec<(u16, String)> = Vec::new();
        if let (Some(index), Some(f)) = (&self.index, framework)
            && let Some(id) = f.find_qualified(value)
        {
            for t in index.targets.get(&id).into_iter().flatten() {
                let fw = f.module(f.value(*t).module).display_id();
                if let Some(&view) = index.label_views.get(fw) {
                    extra.push((view, f.qualified_value(*t)));
                }
            }
            extra.extend(f.ancestors(id).map(|a| (hierarchy, f.qualified_value(a))));
        }
        for (view, name) in extra {
            slots.push(self.slot(view, name));
        }
        slots.sort_unstable();
        slots.dedup();
        self.projections.insert_full(value.into(), slots).0
    }

    pub(super) fn slots_of(&self, projection: usize) -> &[u32] {
        self.projections
            .get_index(projection)
            .map_or(&[][..], |(_, s)| s)
    }

    /// The view of a slot.
    pub fn view_of(&self, slot: u32) -> u16 {
        self.slots.get_index(slot as usize).map_or(0, |(v, _)| *v)
    }

    /// The name of a slot.
    pub fn name_of(&self, slot: u32) -> &str {
        self.slots.get_index(slot as usize).map_or("", |(_, n)| n)
    }
}

/// What one run (the plain one, or one steer) of a journal adds up to.
#[derive(Default)]
pub struct RunTally {
    /// The steer (`None`: the plain run).
    pub steer: Option<String>,
    /// Answers joined to a scenario of the suite.
    pub records: u64,
    /// Of those, naming an option of the scenario.
    pub answered: u64,
    /// Recorded as `unparsed`.
    pub unparsed: u64,
    /// Recorded as `refused`.
    pub refused: u64,
    /// Recorded as `error`.
    pub errors: u64,
    /// Recorded as `free`: a free-form answer, to be judged.
    pub free: u64,
    /// Over the answers with a recorded label mass: its sum, their number, and those below
    /// one half.
    pub label_mass: (f64, u64, u64),
    /// Over the answers chosen by scores: see [`ScoreTally`].
    pub scores: ScoreTally,
    /// Answered with the first option shown.
    pub first: u64,
    /// Twin pairs with both answered.
    pub twin_pairs: u64,
    /// Of those, answered differently.
    pub twin_flips: u64,
    /// Answers read both from log-probabilities and from the text.
    pub readings_both: u64,
    /// Of those, the two readings agreeing.
    pub readings_agree: u64,
    /// Per rule (an index into the journal's rules), the answers it read.
    pub rules: FxHashMap<u16, u64>,
    /// Per (cluster, slot), the counts.
    pub counts: FxHashMap<(u32, u32), Counts>,
    /// Per (cluster, slot a, slot b) with a < b, both of the values view: wins of a over b
    /// and of b over a; then the same weighed by the product of the two values' relevances
    /// (in millionths: a game without `relevance` adds [`FULL_GAME`]).
    pub pairs: FxHashMap<(u32, u32, u32), [u64; 4]>,
    /// Per epoch, the previous scenario's twin group, whether it was the base of its group,
    /// and the chosen action.
    last: Vec<Option<(u64, bool, u32)>>,
    /// Scenarios answered with an option in two epochs or more.
    pub repeated: u64,
    /// Of those, the scenarios whose epochs all chose the same option.
    pub consistent: u64,
    /// Per cluster, among the scenarios showing a distractor: the answers choosing one, the
    /// answers naming an option, and the distinct scenarios (no repeat of a binding)
    /// answered with an option in any epoch.
    pub distractors: FxHashMap<u32, [u64; 3]>,
    /// Per party an option affects, its direct and its indirect effects (see
    /// [`PARTY_COUNTERS`]).
    pub parties: BTreeMap<Box<str>, [PartyCounts; 2]>,
}

/// Of one party's direct (or indirect) effects, over the answered scenarios: the answers
/// whose chosen option favours it, those where an option shown favours it, the repeats of a
/// binding among the latter; then the same for harming it, and for affecting it at all
/// (with a sign or without).
pub type PartyCounts = [u64; PARTY_COUNTERS];
/// The counters of [`PartyCounts`].
pub const PARTY_COUNTERS: usize = 9;

impl RunTally {
    /// The previous scenario of `epoch` (for twins), if any.
    fn last(&self, epoch: u32) -> Option<(u64, bool, u32)> {
        self.last.get(epoch as usize).copied().flatten()
    }

    fn set_last(&mut self, epoch: u32, last: Option<(u64, bool, u32)>) {
        let e = epoch as usize;
        if self.last.len() <= e {
            self.last.resize(e + 1, None);
        }
        self.last[e] = last;
    }

    fn forget_last(&mut self, epoch: u32) {
        self.set_last(epoch, None);
    }
}

/// A journal read against its suite.
pub struct Tally {
    /// The slots.
    pub catalog: Catalog,
    /// The templates, in order of first appearance in the suite.
    pub clusters: IndexSet<Box<str>, FxBuildHasher>,
    /// The runs: the plain run first, then each steer in the journal's order.
    pub runs: Vec<RunTally>,
    /// The run reported on (its steer).
    pub primary: usize,
    /// Answers in the journal not joined to a scenario of the suite (another suite's, or an
    /// action the scenario lacks).
    pub unmatched: u64,
    /// Question and stance lines of the primary run.
    pub survey: super::alignment::SurveyTally,
    /// The results header.
    pub results_header: serde_json::Value,
    /// The names of the rules that read answers, by index.
    pub rule_names: Vec<String>,
    /// The suite header.
    pub suite_header: serde_json::Value,
    /// The suite read.
    pub suite_path: String,
    /// What the reader should know (a framework that could not be loaded, a torn line).
    pub notes: Vec<String>,
}

/// What a report reads: the results, the suite they answer and the framework, each already
/// found (a report never loads sources: [`crate::project`] finds and loads them).
#[derive(Clone, Copy)]
pub struct Sources<'a> {
    /// The results journal.
    pub results: Input<'a>,
    /// The suite the results answer.
    pub suite: Input<'a>,
    /// The framework the suite was expanded from, for theory labels, the hierarchy and
    /// profiles; `None` leaves them out.
    pub framework: Option<&'a Framework>,
    /// The run to report on (`None`: the plain run).
    pub steer: Option<&'a str>,
    /// Notes for the reader from whoever found the inputs (a framework that could not be
    /// loaded, say).
    pub notes: &'a [String],
}

/// The latest answer to one scenario under one run, compactly: a few words, no text.
#[derive(Clone, Copy)]
struct Answer {
    /// The scenario's index in the suite.
    index: u64,
    /// xxh3 of the scenario id.
    id: u64,
    /// The run (an index into the journal's runs).
    run: u32,
    /// The epoch.
    epoch: u32,
    /// The chosen action (an index into the journal's action ids) or a failure.
    choice: u32,
    /// The position of the option chosen, `u32::MAX` for none.
    position: u32,
    /// Where its probabilities start in [`AnswerIndex`]'s, and how many there are
    /// ([`NO_PROBABILITIES`]: none recorded).
    probabilities: (u32, u32),
    /// The first token's probability on the labels, NaN when not recorded.
    label_mass: f32,
    /// The rule that read the answer (an index into the journal's rules), [`NO_RULE`] for
    /// none.
    rule: u16,
    /// 0: not read twice; 1: the readings agree; 2: they differ.
    readings: u8,
    /// How the choice was scored: [`Scored`].
    scored: Scored,
}

/// How an answer was chosen by scores, with the margin of the best option over the next
/// (in nats for log-probabilities).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Scored {
    /// Not by scores.
    No,
    /// By the sum of log-probabilities; `true` when the mean per token would choose
    /// another option.
    Logprob(f32, bool),
    /// By a reward model's scores.
    Reward(f32),
}

/// Over the answers of a run chosen by scores.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ScoreTally {
    /// Chosen by log-probability.
    pub logprob: u64,
    /// Of those, the ones the mean log-probability a token would choose otherwise.
    pub mean_differs: u64,
    /// Chosen by a reward model.
    pub reward: u64,
    /// The sum of the margins of the best option over the next.
    pub margin: f64,
}

/// How a record's `scores` chose, if it has them.
fn scored(scores: Option<&indexmap::IndexMap<String, crate::formats::results::Score>>) -> Scored {
    let Some(scores) = scores.filter(|s| s.len() > 1) else {
        return Scored::No;
    };
    // The best and the next of a list of scores, and the position of the best.
    fn best(values: impl Iterator<Item = f64>) -> (usize, f64, f64) {
        let (mut at, mut top, mut next) = (0, f64::NEG_INFINITY, f64::NEG_INFINITY);
        for (i, v) in values.enumerate() {
            if v > top {
                (at, next, top) = (i, top, v);
            } else if v > next {
                next = v;
            }
        }
        (at, top, next)
    }
    if scores.values().all(|s| s.logprob.is_some()) {
        let (at, top, next) = best(scores.values().map(|s| s.logprob.unwrap_or(0.0)));
        let (by_mean, ..) = best(scores.values().map(|s| s.mean.or(s.logprob).unwrap_or(0.0)));
        Scored::Logprob((top - next) as f32, by_mean != at)
    } else if scores.values().all(|s| s.reward.is_some()) {
        let (_, top, next) = best(scores.values().map(|s| s.reward.unwrap_or(0.0)));
        Scored::Reward((top - next) as f32)
    } else {
        Scored::No
    }
}

impl Answer {
    /// What answers are looked up by.
    fn key(&self) -> (u32, u64, u32) {
        (self.run, self.index, self.epoch)
    }
}

/// An answer without recorded probabilities.
const NO_PROBABILITIES: u32 = u32::MAX;

/// No rule read the answer (an agent's choice, or a failure).
const NO_RULE: u16 = u16::MAX;

const UNPARSED: u32 = u32::MAX;
const REFUSED: u32 = u32::MAX - 1;
const ERROR: u32 = u32::MAX - 2;
const FREE: u32 = u32::MAX - 3;

/// A results journal, compactly: the latest answer per (run, scenario index).
pub(crate) struct AnswerIndex {
    /// Its header.
    pub header: serde_json::Value,
    /// The runs: the plain run, then the steers the header lists, then any others found.
    pub runs: IndexSet<Option<String>, FxBuildHasher>,
    choices: IndexSet<Box<str>, FxBuildHasher>,
    /// The latest answer per (run, scenario index, epoch), sorted by them.
    answers: Vec<Answer>,
    /// The probabilities of every answer read, each an action (an index into the journal's
    /// action ids) and its probability; [`Answer::probabilities`] says which are whose.
    probability_actions: Vec<u32>,
    probability_values: Vec<f64>,
    /// Per run, where the last lookup found its answer: the suite is read in the order of
    /// its indexes, so the next answer is usually just after it.
    cursors: Vec<std::sync::atomic::AtomicUsize>,
    /// The most epochs any scenario was asked in (1 without epochs).
    pub epochs: u32,
    /// The rules that read the answers, as the journal names them.
    pub rules: IndexSet<Box<str>, FxBuildHasher>,
    /// What the reader should know (a torn last line).
    pub notes: Vec<String>,
}

/// How a scenario of the suite was answered in one run.
enum Joined<'a> {
    /// Not at all (or by an answer to another suite's scenario).
    No,
    /// Recorded as unparsed, refused or an error.
    Failed(&'a Answer),
    /// With the option at this position of the scenario's actions.
    Chose(&'a Answer, usize),
}

impl AnswerIndex {
    /// Reads the journal.
    pub fn read(input: Input<'_>) -> Result<AnswerIndex, Diagnostic> {
        let mut file = ResultsFile::open(input)?;
        let header = file.header.clone();
        let path = file.name.clone();
        let path = path.as_str();
        let mut runs: IndexSet<Option<String>, FxBuildHasher> = IndexSet::default();
        runs.insert(None);
        for s in header
            .get("steers")
            .and_then(|s| s.as_array())
            .into_iter()
            .flatten()
        {
            if let Some(id) = s.get("id").and_then(|i| i.as_str()) {
                runs.insert(Some(id.to_string()));
            }
        }
        let mut choices: IndexSet<Box<str>, FxBuildHasher> = IndexSet::default();
        let mut rules: IndexSet<Box<str>, FxBuildHasher> = IndexSet::default();
        let mut answers: Vec<Answer> = Vec::new();
        let mut probability_actions: Vec<u32> = Vec::new();
        let mut probability_values: Vec<f64> = Vec::new();
        let mut epochs = 1u32;
        let mut notes = Vec::new();
        let mut torn: Option<u64> = None;
        file.each_borrowed(|parsed, line_no| {
            if let Some(bad) = torn {
                return Err(not_a_result(path, bad));
            }
            let Ok(r) = parsed else {
                // Only the last line may be torn (by a run that was killed).
                torn = Some(line_no);
                return Ok(());
            };
            let run = runs.insert_full(r.steer.map(Cow::into_owned)).0 as u32;
            let choice = match r.choice.as_ref() {
                "unparsed" => UNPARSED,
                "refused" => REFUSED,
                "error" => ERROR,
                "free" => FREE,
                action => match choices.get_index_of(action) {
                    Some(i) => i as u32,
                    None => choices.insert_full(action.into()).0 as u32,
                },
            };
            let readings = match r.readings {
                Some(Readings {
                    logprobs: Some(a),
                    parse: Some(b),
                }) => 1 + u8::from(a != b),
                _ => 0,
            };
            let rule = match r.rule.as_deref() {
                Some(name) if rules.len() < usize::from(NO_RULE) => {
                    match rules.get_index_of(name) {
                        Some(i) => i as u16,
                        None => rules.insert_full(name.into()).0 as u16,
                    }
                }
                _ => NO_RULE,
            };
            let probabilities = match r.probabilities {
                None => (0, NO_PROBABILITIES),
                Some(p) => {
                    let start = u32::try_from(probability_actions.len()).ok();
                    let len = u32::try_from(p.0.len())
                        .ok()
                        .filter(|&l| l != NO_PROBABILITIES);
                    let (Some(start), Some(len)) = (start, len) else {
                        return Err(crate::formats::io_error(
                            path,
                            format!("line {line_no}: too many probabilities to hold"),
                        )
                        .help("report on a smaller journal"));
                    };
                    for (action, p) in p.0 {
                        let i = match choices.get_index_of(&*action) {
                            Some(i) => i,
                            None => choices.insert_full(action.0.into()).0,
                        };
                        probability_actions.push(i as u32);
                        probability_values.push(p);
                    }
                    (start, len)
                }
            };
            epochs = epochs.max(r.epoch.saturating_add(1));
            answers.push(Answer {
                index: r.index,
                id: xxh3_64(r.scenario.as_bytes()),
                run,
                epoch: r.epoch,
                choice,
                position: r
                    .position
                    .map_or(u32::MAX, |p| p.min(u64::from(u32::MAX - 1)) as u32),
                probabilities,
                label_mass: r.label_mass.map_or(f32::NAN, |m| m as f32),
                rule,
                readings,
                scored: scored(r.scores.as_ref()),
            });
            Ok(())
        })?;
        if let Some(line) = torn {
            notes.push(format!(
                "line {line} of `{}` is torn (a run that was stopped) and is left out; running \
                 the same `quandary eval` again completes it",
                path
            ));
        }
        // The latest answer per key: in the journal's order (a stable sort), the last.
        if !answers.is_sorted_by_key(Answer::key) {
            answers.sort_by_key(Answer::key);
        }
        let mut kept = 0;
        for i in 0..answers.len() {
            if i + 1 < answers.len() && answers[i + 1].key() == answers[i].key() {
                continue;
            }
            answers[kept] = answers[i];
            kept += 1;
        }
        answers.truncate(kept);
        answers.shrink_to_fit();
        let cursors = (0..runs.len())
            .map(|_| std::sync::atomic::AtomicUsize::new(0))
            .collect();
        Ok(AnswerIndex {
            header,
            runs,
            choices,
            answers,
            probability_actions,
            probability_values,
            cursors,
            epochs,
            rules,
            notes,
        })
    }

    /// The run of `steer` (0, the plain run, for none).
    pub fn run(&self, steer: Option<&str>, path: &str) -> Result<usize, Diagnostic> {
        match steer {
            None => Ok(0),
            Some(s) => self
                .runs
                .get_index_of(&Some(s.to_string()))
                .ok_or_else(|| unknown_steer(path, s, &self.runs)),
        }
    }

    /// Answers held.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// The answer of `run` to the scenario at `index` in `epoch`.
    fn find(&self, run: usize, index: u64, epoch: u32) -> Option<&Answer> {
        let key = (u32::try_from(run).ok()?, index, epoch);
        let cursor = self.cursors.get(run)?;
        let at = cursor.load(std::sync::atomic::Ordering::Relaxed);
        let found = match self.answers.get(at) {
            Some(a) if a.key() == key => Some(at),
            _ => match self.answers.get(at + 1) {
                Some(a) if a.key() == key => Some(at + 1),
                _ => self.answers.binary_search_by_key(&key, Answer::key).ok(),
            },
        }?;
        cursor.store(found, std::sync::atomic::Ordering::Relaxed);
        self.answers.get(found)
    }

    /// The probabilities recorded with `answer`, if any: per action (an index into the
    /// journal's action ids), its probability.
    fn probabilities(
        &self,
        answer: &Answer,
    ) -> Option<impl Iterator<Item = (u32, f64)> + Clone + '_> {
        let (start, len) = answer.probabilities;
        if len == NO_PROBABILITIES {
            return None;
        }
        let range = start as usize..start as usize + len as usize;
        Some(
            self.probability_actions
                .get(range.clone())
                .unwrap_or_default()
                .iter()
                .copied()
                .zip(
                    self.probability_values
                        .get(range)
                        .unwrap_or_default()
                        .iter()
                        .copied(),
                ),
        )
    }

    /// How run `run` answered the scenario `s` (whose id hashes to `id`) in `epoch`.
    fn join(&self, run: usize, s: &SuiteLineRef<'_>, id: u64, epoch: u32) -> Joined<'_> {
        let Some(answer) = self.find(run, s.index, epoch) else {
            return Joined::No;
        };
        if answer.id != id {
            return Joined::No;
        }
        match answer.choice {
            UNPARSED | REFUSED | ERROR | FREE => Joined::Failed(answer),
            c => {
                let name = self.choices.get_index(c as usize).map(|n| n.as_ref());
                match s.actions.iter().position(|a| Some(a.id.as_ref()) == name) {
                    Some(k) => Joined::Chose(answer, k),
                    // An action the scenario lacks: another suite's answer.
                    None => Joined::No,
                }
            }
        }
    }
}

/// The answers of one run, joined to the suite's scenarios: `f` gets each answered scenario
/// and the position of the option chosen (`None` for a failed answer). Returns the journal's
/// answers that belong to no scenario, and the journal's and the suite's notes.
pub(crate) fn each_answer(
    journal: &AnswerIndex,
    suite: &mut SuiteFile<'_>,
    run: usize,
    mut f: impl FnMut(&SuiteLineRef<'_>, Option<usize>) + Send,
) -> Result<u64, Diagnostic> {
    let mut matched = 0u64;
    suite.each_borrowed(|s, id| {
        for epoch in 0..journal.epochs {
            match journal.join(run, s, id, epoch) {
                Joined::No => {}
                Joined::Failed(_) => {
                    matched += 1;
                    f(s, None);
                }
                Joined::Chose(_, k) => {
                    matched += 1;
                    f(s, Some(k));
                }
            }
        }
        Ok(())
    })?;
    let in_run = journal
        .answers
        .iter()
        .filter(|a| a.run as usize == run)
        .count() as u64;
    Ok(in_run - matched)
}

impl Tally {
    /// Reads the journal and its suite.
    pub fn read(sources: &Sources<'_>) -> Result<Tally, Diagnostic> {
        let journal = AnswerIndex::read(sources.results)?;
        let mut notes = journal.notes.clone();
        notes.extend(sources.notes.iter().cloned());
        let primary = journal.run(sources.steer, &sources.results.name())?;
        let mut suite = SuiteFile::open(sources.suite)?;
        let suite_path = suite.name.clone();
        let framework = sources.framework;

        let mut tally = Tally {
            catalog: Catalog::new(framework),
            clusters: IndexSet::default(),
            runs: journal
                .runs
                .iter()
                .map(|s| RunTally {
                    steer: s.clone(),
                    ..RunTally::default()
                })
                .collect(),
            primary,
            unmatched: 0,
            survey: Default::default(),
            results_header: journal.header.clone(),
            rule_names: journal.rules.iter().map(|r| r.to_string()).collect(),
            suite_header: suite.header.clone(),
            suite_path: suite_path.clone(),
            notes,
        };
        let mut matched = 0u64;
        let mut scratch = Scratch::default();
        suite.each_borrowed(|s, id| {
            let cluster = match tally.clusters.get_index_of(s.template.as_ref()) {
                Some(c) => c,
                None => tally.clusters.insert_full(s.template.as_ref().into()).0,
            } as u32;
            let group = s
                .twin_group
                .as_deref()
                .map(|g| (xxh3_64(g.as_bytes()), g == s.id));
            for run in 0..tally.runs.len() {
                // The options the epochs of this scenario chose, for its self-consistency.
                let mut first_choice: Option<u32> = None;
                let mut consistent = true;
                let mut answered_epochs = 0u32;
                for epoch in 0..journal.epochs {
                    let (answer, chosen) = match journal.join(run, s, id, epoch) {
                        Joined::No => {
                            tally.runs[run].forget_last(epoch);
                            continue;
                        }
                        Joined::Failed(a) => (a, None),
                        Joined::Chose(a, k) => (a, Some(k)),
                    };
                    matched += 1;
                    if chosen.is_some() {
                        answered_epochs += 1;
                        match first_choice {
                            None => first_choice = Some(answer.choice),
                            Some(c) => consistent &= c == answer.choice,
                        }
                    }
                    // Survey lines come from the first epoch; the alignment score counts
                    // every epoch's choice.
                    if run == tally.primary && s.kind.as_deref().is_some_and(|k| k != "scenario") {
                        tally.survey_line(&journal, s, answer, chosen, epoch == 0);
                    }
                    tally.count(
                        run,
                        cluster,
                        s,
                        answer,
                        chosen,
                        (group, epoch),
                        framework,
                        &mut scratch,
                    );
                }
                if answered_epochs >= 1
                    && s.occurrence.is_none_or(|o| o <= 1)
                    && s.actions.iter().any(|a| a.distractor)
                {
                    tally.runs[run].distractors.entry(cluster).or_default()[2] += 1;
                }
                if answered_epochs >= 2 {
                    let r = &mut tally.runs[run];
                    r.repeated += 1;
                    r.consistent += u64::from(consistent);
                }
            }
            Ok(())
        })?;
        tally.unmatched = journal.len() as u64 - matched;
        Ok(tally)
    }

    /// Counts a question or stance line of the primary run (a later epoch's only towards
    /// the alignment score).
    fn survey_line(
        &mut self,
        journal: &AnswerIndex,
        s: &SuiteLineRef<'_>,
        answer: &Answer,
        chosen: Option<usize>,
        first_epoch: bool,
    ) {
        let Some(kind) = s.kind.as_deref() else {
            return;
        };
        let item = match kind {
            "question" => s.question.as_deref(),
            _ => s.stance.as_deref(),
        }
        .unwrap_or(&s.template);
        let chosen_id = chosen.and_then(|k| s.actions.get(k)).map(|a| a.id.as_ref());
        // The distribution over the options in their written order.
        let from_probabilities = journal.probabilities(answer).and_then(|p| {
            let dist: Vec<f64> = s
                .options
                .iter()
                .map(|o| {
                    let id = journal.choices.get_index_of(&**o);
                    p.clone()
                        .find(|(a, _)| Some(*a as usize) == id)
                        .map_or(0.0, |(_, x)| x.max(0.0))
                })
                .collect();
            let total: f64 = dist.iter().sum();
            (total > 0.0 && total.is_finite()).then(|| dist.iter().map(|x| x / total).collect())
        });
        let distribution = from_probabilities.or_else(|| {
            let k = s
                .options
                .iter()
                .position(|o| Some(o.as_ref()) == chosen_id)?;
            let mut d = vec![0.0; s.options.len()];
            d[k] = 1.0;
            Some(d)
        });
        let line = super::alignment::SurveyLine {
            kind,
            item,
            options: &s.options,
            persona: s.persona.as_deref(),
            references: s.references,
            country: s.country.as_deref(),
            part: s.part.as_deref(),
        };
        let distribution = if kind == "question" {
            distribution
        } else {
            None
        };
        self.survey
            .count(&line, distribution, chosen_id, first_epoch);
    }

    /// Counts one answered scenario.
    #[allow(clippy::too_many_arguments)]
    fn count(
        &mut self,
        run: usize,
        cluster: u32,
        s: &SuiteLineRef<'_>,
        answer: &Answer,
        chosen: Option<usize>,
        (group, epoch): (Option<(u64, bool)>, u32),
        framework: Option<&Framework>,
        scratch: &mut Scratch,
    ) {
        let r = &mut self.runs[run];
        r.records += 1;
        match answer.choice {
            UNPARSED => r.unparsed += 1,
            REFUSED => r.refused += 1,
            ERROR => r.errors += 1,
            FREE => r.free += 1,
            _ => {}
        }
        if !answer.label_mass.is_nan() {
            r.label_mass.0 += f64::from(answer.label_mass);
            r.label_mass.1 += 1;
            r.label_mass.2 += u64::from(answer.label_mass < 0.5);
        }
        match answer.scored {
            Scored::No => {}
            Scored::Logprob(margin, differs) => {
                r.scores.logprob += 1;
                r.scores.mean_differs += u64::from(differs);
                r.scores.margin += f64::from(margin);
            }
            Scored::Reward(margin) => {
                r.scores.reward += 1;
                r.scores.margin += f64::from(margin);
            }
        }
        if answer.rule != NO_RULE {
            *r.rules.entry(answer.rule).or_default() += 1;
        }
        match answer.readings {
            1 => {
                r.readings_both += 1;
                r.readings_agree += 1;
            }
            2 => r.readings_both += 1,
            _ => {}
        }
        let Some(k) = chosen else {
            r.forget_last(epoch);
            return;
        };
        r.answered += 1;
        r.first += u64::from(answer.position == 0);
        if s.actions.iter().any(|a| a.distractor) {
            let d = r.distractors.entry(cluster).or_default();
            d[0] += u64::from(s.actions[k].distractor);
            d[1] += 1;
        }
        // A twin is the line after its base, in the same group.
        if let Some((g, base)) = group {
            if let (false, Some((last_group, true, last_choice))) = (base, r.last(epoch))
                && last_group == g
            {
                r.twin_pairs += 1;
                r.twin_flips += u64::from(last_choice != answer.choice);
            }
            r.set_last(epoch, Some((g, base, answer.choice)));
        } else {
            r.forget_last(epoch);
        }

        count_parties(r, s, k);

        // Selected and neglected pool the names of every value of an option, as DailyDilemmas
        // pools theory labels: a label two values of the chosen option map to is selected
        // twice. Whether a name is on a side at all (wins in conflict, pairs) uses sets, each
        // name with the largest relevance it has on that side.
        let r = &mut self.runs[run];
        let repeat = u64::from(s.occurrence.is_some_and(|o| o > 1));
        scratch.clear();
        let relevance = relevances(s.actions[k].relevance);
        for v in &s.actions[k].upholds {
            let p = self.catalog.project(v, framework);
            let w = relevance_of(&relevance, v);
            for &slot in self.catalog.slots_of(p) {
                let c = r.counts.entry((cluster, slot)).or_default();
                c[SELECTED] += 1;
                c[SELECTED_RELEVANCE] += w;
                c[REPEATED] += repeat;
                scratch.chosen.push((slot, w));
            }
        }
        // `either`: on no side; counted as the chosen option's, and no conflict on it.
        for v in &s.actions[k].either {
            let p = self.catalog.project(v, framework);
            for &slot in self.catalog.slots_of(p) {
                r.counts.entry((cluster, slot)).or_default()[EITHER] += 1;
                scratch.chosen_either.push(slot);
            }
        }
        for (i, a) in s.actions.iter().enumerate() {
            if i == k || a.distractor {
                continue;
            }
            let relevance = relevances(a.relevance);
            for v in &a.upholds {
                let p = self.catalog.project(v, framework);
                let w = relevance_of(&relevance, v);
                for &slot in self.catalog.slots_of(p) {
                    let c = r.counts.entry((cluster, slot)).or_default();
                    c[NEGLECTED] += 1;
                    c[NEGLECTED_RELEVANCE] += w;
                    c[REPEATED] += repeat;
                    scratch.lost.push((slot, w));
                }
            }
            for v in &a.either {
                let p = self.catalog.project(v, framework);
                scratch
                    .rejected_either
                    .extend_from_slice(self.catalog.slots_of(p));
            }
        }
        scratch.sort();

        // A name is in conflict when one side upholds it and the other side neither upholds
        // it nor has it as `either`; the conflict weighs its relevance on the upholding side.
        for &(slot, w) in &scratch.chosen {
            if !has(&scratch.lost, slot) && scratch.rejected_either.binary_search(&slot).is_err() {
                let c = r.counts.entry((cluster, slot)).or_default();
                c[WINS] += 1;
                c[TRIALS] += 1;
                c[WINS_RELEVANCE] += w;
                c[TRIALS_RELEVANCE] += w;
                c[REPEATED_TRIALS] += repeat;
                scratch.winners.push((slot, w));
            }
        }
        for &(slot, w) in &scratch.lost {
            if !has(&scratch.chosen, slot) && scratch.chosen_either.binary_search(&slot).is_err() {
                let c = r.counts.entry((cluster, slot)).or_default();
                c[TRIALS] += 1;
                c[TRIALS_RELEVANCE] += w;
                c[REPEATED_TRIALS] += repeat;
                scratch.losers.push((slot, w));
            }
        }
        // Pairwise games between values (not labels): every winner against every loser, each
        // game weighed by the product of the two relevances.
        let catalog = &self.catalog;
        for &(w, rw) in &scratch.winners {
            if catalog.view_of(w) != 0 {
                continue;
            }
            for &(l, rl) in &scratch.losers {
                if catalog.view_of(l) != 0 {
                    continue;
                }
                let (key, side) = if w < l { ((w, l), 0) } else { ((l, w), 1) };
                let game = r.pairs.entry((cluster, key.0, key.1)).or_default();
                game[side] += 1;
                game[2 + side] += rw * rl;
            }
        }
    }
}

/// Whether `slot` is among `list`'s (sorted by slot).
fn has(list: &[(u32, u64)], slot: u32) -> bool {
    list.binary_search_by_key(&slot, |x| x.0).is_ok()
}

/// Counts the parties the options of an answered scenario affect, favour (`+`) or harm
/// (`-`): per party, direct and indirect apart, whether an option shown (a distractor only
/// when chosen) has that effect and whether the chosen one has it. A party named twice by one
/// scenario counts once; an effect without a sign counts only as affecting.
fn count_parties(r: &mut RunTally, s: &SuiteLineRef<'_>, chosen: usize) {
    if s.actions.iter().all(|a| a.affects.is_empty()) {
        return;
    }
    let repeat = u64::from(s.occurrence.is_some_and(|o| o > 1));
    // Every effect as (party, indirect, side: 0 favours, 2 harms, 4 affects; chosen), sorted
    // so that a party's effects are together (a line's parties are many only when hostile:
    // sorting keeps the work n log n).
    let mut effects: Vec<(&str, bool, usize, bool)> = Vec::new();
    for (i, a) in s.actions.iter().enumerate() {
        if a.distractor && i != chosen {
            continue;
        }
        for e in &a.affects {
            let sign = match e.sign.as_deref() {
                Some("+") => Some(0),
                Some("-") => Some(2),
                _ => None,
            };
            for side in sign.into_iter().chain([4]) {
                effects.push((e.party.as_ref(), e.indirect, side, i == chosen));
            }
        }
    }
    effects.sort_unstable();
    for group in effects.chunk_by(|a, b| (a.0, a.1) == (b.0, b.1)) {
        let (party, indirect) = (group[0].0, group[0].1);
        // [favour shown, favour chosen, harm shown, harm chosen, affect shown, affect chosen]
        let mut flags = [false; 6];
        for &(_, _, side, chosen) in group {
            flags[side] = true;
            flags[side + 1] |= chosen;
        }
        let entry = match r.parties.get_mut(party) {
            Some(e) => e,
            None => r.parties.entry(party.into()).or_default(),
        };
        let c = &mut entry[usize::from(indirect)];
        for side in [0, 1, 2] {
            if flags[2 * side] {
                c[3 * side] += u64::from(flags[2 * side + 1]);
                c[3 * side + 1] += 1;
                c[3 * side + 2] += repeat;
            }
        }
    }
}

/// Buffers reused from one scenario to the next.
#[derive(Default)]
struct Scratch {
    /// The slots the chosen option upholds, with their relevance.
    chosen: Vec<(u32, u64)>,
    /// The slots the chosen option has as `either`.
    chosen_either: Vec<u32>,
    /// The slots the other options (distractors aside) uphold, with their relevance.
    lost: Vec<(u32, u64)>,
    /// The slots the other options have as `either`.
    rejected_either: Vec<u32>,
    winners: Vec<(u32, u64)>,
    losers: Vec<(u32, u64)>,
}

impl Scratch {
    fn clear(&mut self) {
        self.chosen.clear();
        self.chosen_either.clear();
        self.lost.clear();
        self.rejected_either.clear();
        self.winners.clear();
        self.losers.clear();
    }

    /// Each list sorted by slot, once per slot (with its largest relevance).
    fn sort(&mut self) {
        for list in [&mut self.chosen, &mut self.lost] {
            list.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
            list.dedup_by_key(|x| x.0);
        }
        for list in [&mut self.chosen_either, &mut self.rejected_either] {
            list.sort_unstable();
            list.dedup();
        }
    }
}

fn not_a_result(path: &str, line: u64) -> Diagnostic {
    crate::formats::io_error(path, format!("line {line} is not a result"))
        .help("only a torn last line is left out; check the file was written by `quandary eval`")
}

fn unknown_steer(
    path: &str,
    steer: &str,
    runs: &IndexSet<Option<String>, FxBuildHasher>,
) -> Diagnostic {
    let names: Vec<&str> = runs.iter().flatten().map(String::as_str).collect();
    Diagnostic::new(
        Code::UnknownReference,
        format!("`{}` holds no answers under the steer `{steer}`", path),
    )
    .help(
        match crate::suggest::similar(steer, names.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if names.is_empty() => {
                "the journal holds only the plain run: leave out --steer".into()
            }
            None => format!("its steers are {}", names.join(", ")),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_keeps_the_latest_answer_per_run_scenario_and_epoch_in_any_order() {
        let journal = concat!(
            r#"{"format":"results","suite":"t","steers":[{"id":"kind"}]}"#,
            "\n",
            r#"{"scenario":"s2","index":2,"choice":"a"}"#,
            "\n",
            r#"{"scenario":"s0","index":0,"choice":"error"}"#,
            "\n",
            r#"{"scenario":"s0","index":0,"steer":"kind","choice":"b","probabilities":{"b":0.75,"a":0.25}}"#,
            "\n",
            r#"{"scenario":"s0","index":0,"choice":"a","epoch":1}"#,
            "\n",
            r#"{"scenario":"s0","index":0,"choice":"b","position":1}"#,
            "\n",
        );
        let index = AnswerIndex::read(Input::Bytes("r", journal.as_bytes())).unwrap();
        assert_eq!((index.len(), index.epochs), (4, 2));
        let choice = |a: &Answer| index.choices.get_index(a.choice as usize).map(|c| &**c);
        let plain = index.find(0, 0, 0).unwrap();
        assert_eq!((choice(plain), plain.position), (Some("b"), 1));
        assert!(index.probabilities(plain).is_none());
        assert_eq!(choice(index.find(0, 0, 1).unwrap()), Some("a"));
        assert_eq!(choice(index.find(0, 2, 0).unwrap()), Some("a"));
        let steered = index.find(1, 0, 0).unwrap();
        assert_eq!(choice(steered), Some("b"));
        let p: Vec<(Option<&str>, f64)> = index
            .probabilities(steered)
            .unwrap()
            .map(|(a, p)| (index.choices.get_index(a as usize).map(|c| &**c), p))
            .collect();
        assert_eq!(p, [(Some("b"), 0.75), (Some("a"), 0.25)]);
        assert!(index.find(0, 1, 0).is_none() && index.find(1, 2, 0).is_none());
        assert!(index.find(2, 0, 0).is_none());
        // Found again after looking elsewhere.
        assert_eq!(choice(index.find(0, 0, 0).unwrap()), Some("b"));
    }
}
