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

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::marker::PhantomData;

use indexmap::IndexMap;
use rustc_hash::FxHashMap;
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use smallvec::SmallVec;

use super::tally::{Catalog, Sources};
use crate::diagnostic::Diagnostic;
use crate::formats::results::{LineIndex, LineReader, Record, Score, Tokens};
use crate::formats::scan::{Cursor, Fields};
use crate::formats::suite::{ScenarioLine, SuiteReader};
use crate::formats::{Line as Parse, Text};

/// The most answers kept (a scenario answered in several epochs is an answer per epoch).
pub const MAX_SCENARIOS: usize = 5_000;
/// About the most bytes of text kept (scenario texts, option labels, answers, prompts).
pub const MAX_BYTES: usize = 8 << 20;
/// The most characters kept of one raw answer, reasoning or prompt.
pub const MAX_TEXT: usize = 4_000;

/// Renders the prompt a scenario was sent with: the system prompt (if any) and the user
/// message; `None` when it cannot be known.
pub type Prompter<'a> = dyn Fn(&ScenarioLine) -> Option<(Option<String>, String)> + Sync + 'a;

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

/// What a pass reads of a scenario line, the scenario's text and labels only measured:
/// [`Glance::scan`] finds it in one pass, and serde_json reads any line it declines, with
/// the types [`ScenarioLine`] reads, so what one refuses the other does.
#[derive(Debug, Deserialize)]
#[serde(rename = "ScenarioLine")]
struct Glance<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    #[serde(default)]
    index: u64,
    #[serde(default, rename = "twin_group")]
    _twin_group: Checked<Option<String>>,
    #[serde(borrow, default)]
    template: Cow<'a, str>,
    /// The length of the dilemma.
    #[serde(deserialize_with = "length")]
    text: usize,
    #[serde(default, rename = "variants")]
    _variants: Checked<BTreeMap<String, String>>,
    #[serde(borrow)]
    actions: SmallVec<[Glimpse<'a>; 4]>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(default, rename = "topic")]
    _topic: Checked<Option<String>>,
    #[serde(default, rename = "suite")]
    _suite: Checked<Option<String>>,
    #[serde(default, rename = "bindings")]
    _bindings: Checked<IgnoredAny>,
    #[serde(default, rename = "seed")]
    _seed: Checked<IgnoredAny>,
    #[serde(default, rename = "draw")]
    _draw: Checked<IgnoredAny>,
    #[serde(default, rename = "provenance")]
    _provenance: Checked<IgnoredAny>,
}

/// An option as [`Glance`] reads it.
#[derive(Debug, Deserialize)]
#[serde(rename = "ActionLine")]
struct Glimpse<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
    /// The length of its text.
    #[serde(deserialize_with = "length")]
    label: usize,
    #[serde(default, rename = "variants")]
    _variants: Checked<BTreeMap<String, String>>,
    #[serde(borrow, default)]
    upholds: SmallVec<[Cow<'a, str>; 2]>,
    #[serde(default, rename = "violates")]
    _violates: Checked<Vec<String>>,
    #[serde(default)]
    distractor: bool,
    #[serde(default, rename = "affects")]
    _affects: Checked<IgnoredAny>,
    #[serde(default, rename = "either")]
    _either: Checked<Vec<String>>,
    #[serde(default, rename = "relevance")]
    _relevance: Checked<BTreeMap<String, f64>>,
}

/// What a pass reads of a journal's line, the answer and the reasoning only measured: as
/// [`Glance`] reads a scenario line, with the types of [`Record`].
#[derive(Debug, Deserialize)]
#[serde(rename = "Record")]
struct Said<'a> {
    #[serde(borrow)]
    scenario: Cow<'a, str>,
    #[serde(default, rename = "index")]
    _index: Checked<u64>,
    #[serde(default, rename = "twin_group")]
    _twin_group: Checked<Option<String>>,
    #[serde(default, rename = "steer")]
    _steer: Checked<Option<String>>,
    #[serde(default, rename = "epoch")]
    _epoch: Checked<u32>,
    #[serde(borrow)]
    choice: Cow<'a, str>,
    #[serde(default, rename = "position")]
    _position: Checked<Option<usize>>,
    #[serde(default, rename = "order")]
    _order: Checked<Vec<String>>,
    #[serde(default, rename = "probabilities")]
    _probabilities: Checked<Option<IndexMap<String, f64>>>,
    #[serde(default, rename = "readings")]
    _readings: Checked<IndexMap<String, String>>,
    /// The length of the raw answer.
    #[serde(default, deserialize_with = "optional_length")]
    raw: Option<usize>,
    #[serde(default, rename = "rule")]
    _rule: Checked<Option<String>>,
    /// The length of the reasoning.
    #[serde(default, deserialize_with = "optional_length")]
    reasoning: Option<usize>,
    #[serde(default, rename = "label_mass")]
    _label_mass: Checked<Option<f64>>,
    #[serde(default, rename = "scores")]
    _scores: Checked<Option<IndexMap<String, Score>>>,
    #[serde(default, rename = "latency_ms")]
    _latency_ms: Checked<f64>,
    #[serde(default, rename = "tokens")]
    _tokens: Checked<Tokens>,
    #[serde(default, rename = "attempts")]
    _attempts: Checked<u32>,
}

/// A field read as a `T` would be (so a line that is not one is refused), and not kept.
struct Checked<T>(PhantomData<T>);

impl<T> Default for Checked<T> {
    fn default() -> Self {
        Checked(PhantomData)
    }
}

impl<T> std::fmt::Debug for Checked<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("_")
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Checked<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(|_| Checked(PhantomData))
    }
}

/// The length of a string.
fn length<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    String::deserialize(d).map(|s| s.len())
}

/// The length of a string, or `None` for `null`.
fn optional_length<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
    Option::<String>::deserialize(d).map(|s| s.map(|s| s.len()))
}

/// Reads a map of strings to what `value` reads.
fn map_of(c: &mut Cursor<'_>, mut value: impl FnMut(&mut Cursor<'_>) -> Option<()>) -> Option<()> {
    c.object(|c, _| value(c))
}

/// Reads a list of strings.
fn strings(c: &mut Cursor<'_>) -> Option<()> {
    c.array(|c| c.string_len().map(drop))
}

/// `null` or a string; its length.
fn optional_string(c: &mut Cursor<'_>) -> Option<Option<usize>> {
    c.optional(Cursor::string_len)
}

impl<'a> Glance<'a> {
    /// The line, through the scan or serde_json.
    fn read(raw: &'a [u8]) -> Result<Glance<'a>, serde_json::Error> {
        Text::of(raw).scan_or_parse(Glance::scan)
    }

    /// The line read in one pass, or `None` for serde_json to read.
    fn scan(line: &'a str) -> Option<Glance<'a>> {
        let mut c = Cursor::new(line);
        let mut seen = Fields::default();
        let (mut id, mut text, mut actions) = (None, None, None);
        let (mut index, mut template, mut kind) = (0, Cow::Borrowed(""), None);
        c.object(|c, key| {
            match key {
                "id" => {
                    seen.first(0)?;
                    id = Some(c.string()?);
                }
                "index" => {
                    seen.first(1)?;
                    index = c.parse()?;
                }
                "twin_group" => {
                    seen.first(2)?;
                    optional_string(c)?;
                }
                "template" => {
                    seen.first(3)?;
                    template = Cow::Borrowed(c.string()?);
                }
                "text" => {
                    seen.first(4)?;
                    text = Some(c.string_len()?);
                }
                "variants" => {
                    seen.first(5)?;
                    map_of(c, |c| c.string_len().map(drop))?;
                }
                "actions" => {
                    seen.first(6)?;
                    let mut list = SmallVec::new();
                    c.array(|c| {
                        list.push(Glimpse::scan(c)?);
                        Some(())
                    })?;
                    actions = Some(list);
                }
                "kind" => {
                    seen.first(7)?;
                    kind = c.optional(|c| c.string().map(Cow::Borrowed))?;
                }
                "topic" => {
                    seen.first(8)?;
                    optional_string(c)?;
                }
                "suite" => {
                    seen.first(9)?;
                    optional_string(c)?;
                }
                "bindings" | "seed" | "draw" | "provenance" => {
                    let bit = match key {
                        "bindings" => 10,
                        "seed" => 11,
                        "draw" => 12,
                        _ => 13,
                    };
                    seen.first(bit)?;
                    c.skip()?;
                }
                _ => c.skip()?,
            }
            Some(())
        })?;
        c.end()?;
        Some(Glance {
            id: Cow::Borrowed(id?),
            index,
            _twin_group: Checked::default(),
            template,
            text: text?,
            _variants: Checked::default(),
            actions: actions?,
            kind,
            _topic: Checked::default(),
            _suite: Checked::default(),
            _bindings: Checked::default(),
            _seed: Checked::default(),
            _draw: Checked::default(),
            _provenance: Checked::default(),
        })
    }
}

impl<'a> Glimpse<'a> {
    /// An option read in one pass, or `None`.
    fn scan(c: &mut Cursor<'a>) -> Option<Glimpse<'a>> {
        let mut seen = Fields::default();
        let (mut id, mut label) = (None, None);
        let (mut upholds, mut distractor) = (SmallVec::new(), false);
        c.object(|c, key| {
            match key {
                "id" => {
                    seen.first(0)?;
                    id = Some(c.string()?);
                }
                "label" => {
                    seen.first(1)?;
                    label = Some(c.string_len()?);
                }
                "variants" => {
                    seen.first(2)?;
                    map_of(c, |c| c.string_len().map(drop))?;
                }
                "upholds" => {
                    seen.first(3)?;
                    c.array(|c| {
                        upholds.push(Cow::Borrowed(c.string()?));
                        Some(())
                    })?;
                }
                "violates" => {
                    seen.first(4)?;
                    strings(c)?;
                }
                "distractor" => {
                    seen.first(5)?;
                    distractor = c.boolean()?;
                }
                "affects" => {
                    seen.first(6)?;
                    c.skip()?;
                }
                "either" => {
                    seen.first(7)?;
                    strings(c)?;
                }
                "relevance" => {
                    seen.first(8)?;
                    map_of(c, |c| c.parse::<f64>().map(drop))?;
                }
                _ => c.skip()?,
            }
            Some(())
        })?;
        Some(Glimpse {
            id: Cow::Borrowed(id?),
            label: label?,
            _variants: Checked::default(),
            upholds,
            _violates: Checked::default(),
            distractor,
            _affects: Checked::default(),
            _either: Checked::default(),
            _relevance: Checked::default(),
        })
    }
}

impl<'a> Said<'a> {
    /// The line, through the scan or serde_json.
    fn read(raw: &'a [u8]) -> Result<Said<'a>, serde_json::Error> {
        Text::of(raw).scan_or_parse(Said::scan)
    }

    /// The line read in one pass, or `None` for serde_json to read.
    fn scan(line: &'a str) -> Option<Said<'a>> {
        let mut c = Cursor::new(line);
        let mut seen = Fields::default();
        let (mut scenario, mut choice, mut raw, mut reasoning) = (None, None, None, None);
        c.object(|c, key| {
            match key {
                "scenario" => {
                    seen.first(0)?;
                    scenario = Some(c.string()?);
                }
                "index" => {
                    seen.first(1)?;
                    c.parse::<u64>()?;
                }
                "twin_group" => {
                    seen.first(2)?;
                    optional_string(c)?;
                }
                "steer" => {
                    seen.first(3)?;
                    optional_string(c)?;
                }
                "epoch" => {
                    seen.first(4)?;
                    c.parse::<u32>()?;
                }
                "choice" => {
                    seen.first(5)?;
                    choice = Some(c.string()?);
                }
                "position" => {
                    seen.first(6)?;
                    c.optional(|c| c.parse::<usize>())?;
                }
                "order" => {
                    seen.first(7)?;
                    strings(c)?;
                }
                "probabilities" => {
                    seen.first(8)?;
                    c.optional(|c| map_of(c, |c| c.parse::<f64>().map(drop)))?;
                }
                "readings" => {
                    seen.first(9)?;
                    map_of(c, |c| c.string_len().map(drop))?;
                }
                "raw" => {
                    seen.first(10)?;
                    raw = optional_string(c)?;
                }
                "rule" => {
                    seen.first(11)?;
                    optional_string(c)?;
                }
                "reasoning" => {
                    seen.first(12)?;
                    reasoning = optional_string(c)?;
                }
                "label_mass" => {
                    seen.first(13)?;
                    c.optional(|c| c.parse::<f64>())?;
                }
                // Left to serde_json unless null.
                "scores" => {
                    seen.first(14)?;
                    c.optional(|_| None::<()>)?;
                }
                "latency_ms" => {
                    seen.first(15)?;
                    c.parse::<f64>()?;
                }
                "tokens" => {
                    seen.first(16)?;
                    let mut seen = Fields::default();
                    c.object(|c, key| match key {
                        "prompt" => {
                            seen.first(0)?;
                            c.optional(|c| c.parse::<u64>()).map(drop)
                        }
                        "completion" => {
                            seen.first(1)?;
                            c.optional(|c| c.parse::<u64>()).map(drop)
                        }
                        _ => c.skip(),
                    })?;
                }
                "attempts" => {
                    seen.first(17)?;
                    c.parse::<u32>()?;
                }
                _ => c.skip()?,
            }
            Some(())
        })?;
        c.end()?;
        Some(Said {
            scenario: Cow::Borrowed(scenario?),
            _index: Checked::default(),
            _twin_group: Checked::default(),
            _steer: Checked::default(),
            _epoch: Checked::default(),
            choice: Cow::Borrowed(choice?),
            _position: Checked::default(),
            _order: Checked::default(),
            _probabilities: Checked::default(),
            _readings: Checked::default(),
            raw,
            _rule: Checked::default(),
            reasoning,
            _label_mass: Checked::default(),
            _scores: Checked::default(),
            _latency_ms: Checked::default(),
            _tokens: Checked::default(),
            _attempts: Checked::default(),
        })
    }
}

/// The slots in conflict of an answer and the pairs of values that met in it (each pair
/// ordered by name), as [`Sides::read`] finds them; buffers kept from answer to answer.
#[derive(Default)]
struct Sides {
    cells: Vec<u32>,
    pairs: Vec<(u32, u32)>,
    chosen: Vec<u32>,
    rejected: Vec<u32>,
}

impl Sides {
    /// The names in conflict (winners, losers) of a scenario answered with option `k`, and
    /// the pairs of values that met: the same sides as the report counts.
    fn read(
        &mut self,
        catalog: &mut Catalog,
        framework: Option<&crate::model::Framework>,
        line: &Glance<'_>,
        k: usize,
    ) {
        let mut slots_of = |values: &[Cow<'_, str>], into: &mut Vec<u32>| {
            for v in values {
                let p = catalog.project(v, framework);
                into.extend_from_slice(catalog.slots_of(p));
            }
        };
        self.chosen.clear();
        self.rejected.clear();
        slots_of(&line.actions[k].upholds, &mut self.chosen);
        for (i, a) in line.actions.iter().enumerate() {
            if i != k && !a.distractor {
                slots_of(&a.upholds, &mut self.rejected);
            }
        }
        self.chosen.sort_unstable();
        self.chosen.dedup();
        self.rejected.sort_unstable();
        self.rejected.dedup();
        self.cells.clear();
        self.pairs.clear();
        let (chosen, rejected) = (&self.chosen, &self.rejected);
        let winners = chosen.iter().filter(|s| rejected.binary_search(s).is_err());
        let losers = rejected.iter().filter(|s| chosen.binary_search(s).is_err());
        self.cells.extend(winners.clone().chain(losers.clone()));
        for &w in winners {
            for &l in losers.clone() {
                if catalog.view_of(w) != 0 || catalog.view_of(l) != 0 {
                    continue;
                }
                let pair = if catalog.name_of(w) <= catalog.name_of(l) {
                    (w, l)
                } else {
                    (l, w)
                };
                self.pairs.push(pair);
            }
        }
        self.pairs.sort_unstable();
        self.pairs.dedup();
    }

    /// No sides: an answer naming no option, or not to a dilemma.
    fn clear(&mut self) {
        self.cells.clear();
        self.pairs.clear();
    }

    /// The cells as keys (`view:name`), sorted, and the pairs as names, sorted.
    fn keys(&self, catalog: &Catalog) -> (Vec<String>, Vec<(String, String)>) {
        let mut cells: Vec<String> = self.cells.iter().map(|&s| cell(catalog, s)).collect();
        cells.sort();
        cells.dedup();
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .map(|&(a, b)| {
                (
                    catalog.name_of(a).to_string(),
                    catalog.name_of(b).to_string(),
                )
            })
            .collect();
        pairs.sort();
        pairs.dedup();
        (cells, pairs)
    }
}

/// The key of a slot's cell: `view:name`.
fn cell(catalog: &Catalog, slot: u32) -> String {
    format!(
        "{}:{}",
        catalog.views[catalog.view_of(slot) as usize],
        catalog.name_of(slot)
    )
}

/// A scenario line as a pass meets it: glanced at, and read whole when an answer of it is
/// kept.
struct Line<'r> {
    raw: &'r [u8],
    glance: Glance<'r>,
    whole: Option<ScenarioLine>,
    /// Its line number in the suite, for messages.
    number: u64,
}

impl Line<'_> {
    /// The line, whole (of the suite `suite`, for messages).
    fn whole(&mut self, suite: &str) -> Result<&ScenarioLine, Diagnostic> {
        let whole = match self.whole.take() {
            Some(whole) => whole,
            None => serde_json::from_slice(self.raw)
                .map_err(|e| crate::formats::suite::not_a_scenario(suite, self.number, &e))?,
        };
        Ok(self.whole.insert(whole))
    }
}

/// What a pass over the run hands on for each answer.
struct Answered<'a, 'r> {
    line: &'a mut Line<'r>,
    epoch: u32,
    said: &'a Said<'a>,
    /// The journal's line of the answer, and the journal's name.
    record: &'a [u8],
    results: &'a str,
    /// The suite's name.
    suite: &'a str,
    sides: &'a Sides,
    catalog: &'a Catalog,
    /// How many answers came before it behind the cell of its that has had the fewest.
    level: u64,
}

impl Answered<'_, '_> {
    /// The answer, whole.
    fn record(&self) -> Result<Record, Diagnostic> {
        serde_json::from_slice(self.record)
            .map_err(|e| crate::formats::results::changed(self.results, e))
    }
}

/// Counts the answers behind each cell, as a pass meets them: per slot, pair of slots and
/// template.
#[derive(Default)]
struct Levels {
    slots: Vec<u64>,
    pairs: FxHashMap<(u32, u32), u64>,
    templates: FxHashMap<String, u64>,
}

impl Levels {
    /// The fewest answers met before behind any cell of `sides` and `template`, then counts
    /// one more behind each.
    fn next(&mut self, sides: &Sides, template: &str) -> u64 {
        let mut level = u64::MAX;
        let mut count = |n: &mut u64| {
            level = level.min(*n);
            *n += 1;
        };
        for &s in &sides.cells {
            let s = s as usize;
            if self.slots.len() <= s {
                self.slots.resize(s + 1, 0);
            }
            count(&mut self.slots[s]);
        }
        for pair in &sides.pairs {
            count(self.pairs.entry(*pair).or_default());
        }
        match self.templates.get_mut(template) {
            Some(n) => count(n),
            None => count(self.templates.entry(template.to_string()).or_default()),
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
trait Pass: Send {
    /// Whether it wants every line (so they are read ahead, on two threads).
    const EVERY_LINE: bool;
    /// Whether no answer of the line `line` or after is of use: the walk stops there.
    fn done(&self, _line: u64) -> bool {
        false
    }
    /// Whether the suite's line number `line` (counting scenarios from 0) is read: a pass
    /// that has no use for its answers saves parsing it.
    fn wants(&mut self, line: u64) -> bool;
    /// Takes an answer of the line `line`.
    fn answer(&mut self, line: u64, answered: Answered<'_, '_>) -> Result<(), Diagnostic>;
}

/// Scenario lines glanced at ([`Glance`]), with their text, for the batched reader.
struct Glanced;

impl Parse for Glanced {
    type Out<'a> = (&'a [u8], Glance<'a>);
    fn parse(text: Text<'_>) -> Result<(&[u8], Glance<'_>), serde_json::Error> {
        Ok((text.bytes(), text.scan_or_parse(Glance::scan)?))
    }
}

/// A walk over the run's answers: what [`each_answer`] holds from line to line.
struct Walk<'w, 's, P> {
    sources: &'w Sources<'s>,
    journal: &'w LineIndex,
    answered: &'w [(u64, u32)],
    catalog: &'w mut Catalog,
    pass: &'w mut P,
    lines: LineReader<'s>,
    results: String,
    suite: String,
    levels: Levels,
    sides: Sides,
    key: crate::formats::results::RequestKey,
    number: u64,
}

impl<P: Pass> Walk<'_, '_, P> {
    /// Whether the next scenario line is wanted; counts it.
    fn wants(&mut self) -> bool {
        let at_line = self.number;
        self.number += 1;
        self.pass.wants(at_line)
    }

    /// Hands on the answers of the scenario line `raw` (line `n` of the suite), read as
    /// `glance`.
    fn line<'l>(
        &mut self,
        raw: &'l [u8],
        glance: Result<Glance<'l>, serde_json::Error>,
        n: u64,
    ) -> Result<(), Diagnostic> {
        let glance =
            glance.map_err(|e| crate::formats::suite::not_a_scenario(&self.suite, n, &e))?;
        let at_line = self.number - 1;
        let mut line = Line {
            raw,
            glance,
            whole: None,
            number: n,
        };
        let dilemma = line.glance.kind.as_deref().is_none_or(|k| k == "scenario");
        let index = line.glance.index;
        let from = self.answered.partition_point(|&(i, _)| i < index);
        let epochs = self.answered[from..]
            .iter()
            .take_while(|&&(i, _)| i == index)
            .map(|&(_, e)| e);
        for epoch in epochs {
            self.key.0 = index;
            self.key.2 = epoch;
            let Some(&at) = self.journal.latest.get(&self.key) else {
                continue;
            };
            let record = self.lines.line(at)?;
            let said = Said::read(record)
                .map_err(|e| crate::formats::results::changed(&self.results, e))?;
            if said.scenario != line.glance.id {
                continue;
            }
            let k = line.glance.actions.iter().position(|a| a.id == said.choice);
            match k {
                Some(k) if dilemma => {
                    self.sides
                        .read(self.catalog, self.sources.framework, &line.glance, k);
                }
                _ => self.sides.clear(),
            }
            let level = self.levels.next(&self.sides, &line.glance.template);
            self.pass.answer(
                at_line,
                Answered {
                    line: &mut line,
                    epoch,
                    said: &said,
                    record,
                    results: &self.results,
                    suite: &self.suite,
                    sides: &self.sides,
                    catalog: self.catalog,
                    level,
                },
            )?;
        }
        Ok(())
    }
}

/// Reads the run's answers, scenario by scenario in the suite's order and each scenario's
/// epochs in turn (those of `answered`, the run's requests the journal answers), handing
/// each to `pass` with its cells and its level (counted over the lines `pass` wants). A
/// pass that wants every line has them read in batches on two threads.
fn each_answer<P: Pass>(
    sources: &Sources<'_>,
    journal: &LineIndex,
    answered: &[(u64, u32)],
    catalog: &mut Catalog,
    pass: &mut P,
) -> Result<(), Diagnostic> {
    let suite = SuiteReader::open(sources.suite)?;
    let mut walk = Walk {
        sources,
        journal,
        answered,
        catalog,
        pass,
        lines: LineReader::new(sources.results),
        results: sources.results.name(),
        suite: suite.name().to_string(),
        levels: Levels::default(),
        sides: Sides::default(),
        key: (0, sources.steer.map(str::to_string), 0),
        number: 0,
    };
    if P::EVERY_LINE {
        suite.each_parsed::<Glanced, Diagnostic>(|parsed, n| {
            walk.wants();
            match parsed {
                Ok((raw, glance)) => walk.line(raw, Ok(glance), n),
                Err(e) => walk.line(&[], Err(e), n),
            }
        })
    } else {
        let walked = suite.each_raw(|raw, n| {
            if walk.pass.done(walk.number) {
                return Err(Stop::Done);
            }
            if !walk.wants() {
                return Ok(());
            }
            walk.line(raw, Glance::read(raw), n).map_err(Stop::Failed)
        });
        match walked {
            Ok(()) | Err(Stop::Done) => Ok(()),
            Err(Stop::Failed(e)) => Err(e),
        }
    }
}

/// Why a walk over the suite stopped before its end.
enum Stop {
    /// Nothing after is of use.
    Done,
    /// It failed.
    Failed(Diagnostic),
}

impl From<Diagnostic> for Stop {
    fn from(e: Diagnostic) -> Stop {
        Stop::Failed(e)
    }
}

/// About the bytes an answer adds to a page, before its prompt is rendered: a rendered
/// prompt is taken to hold the dilemma and the options again, and an instruction. Only the
/// quota is chosen by it: what is kept is counted as it is.
fn estimate(line: &Glance<'_>, said: &Said<'_>, prompts: bool) -> usize {
    let text = line.text.min(4 * MAX_TEXT);
    let options: usize = line
        .actions
        .iter()
        .map(|a| a.label.min(4 * MAX_TEXT) + a.id.len() + 16)
        .sum();
    let said_len = |s: Option<usize>| s.map_or(0, |s| s.min(4 * MAX_TEXT));
    let prompt = if prompts {
        (text + options + 160).min(MAX_TEXT + 64)
    } else {
        0
    };
    text + options + said_len(said.raw) + said_len(said.reasoning) + prompt + 64
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
        slots: Vec::new(),
        pairs: FxHashMap::default(),
    };
    let mut catalog = Catalog::new(sources.framework);
    each_answer(sources, &journal, &answered, &mut catalog, &mut first)?;
    let First {
        mut out,
        per_level,
        met,
        slots,
        pairs,
        ..
    } = first;
    for (slot, &n) in slots.iter().enumerate() {
        if n > 0 {
            *out.cells.entry(cell(&catalog, slot as u32)).or_default() += n;
        }
    }
    for (&(a, b), &n) in &pairs {
        let key = format!("{}|{}", catalog.name_of(a), catalog.name_of(b));
        *out.cells.entry(key).or_default() += n;
    }
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
    let quota = quota.unwrap_or(0);
    let mut second = Second {
        out,
        prompter,
        met: &met,
        at: 0,
        quota,
        last: met
            .iter()
            .filter(|m| u64::from(m.level) < quota)
            .map(|m| m.line)
            .max(),
        room,
        room_bytes,
        bytes: 0,
        filled: 0,
    };
    each_answer(sources, &journal, &answered, &mut catalog, &mut second)?;
    let mut out = second.out;
    // Answers of lines after the last one read (the pass stopped once no answer after could
    // be kept, or the suite was cut short since the first pass).
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
    /// How many answers are behind each slot's cell, and each pair's.
    slots: Vec<u64>,
    pairs: FxHashMap<(u32, u32), u64>,
}

impl Pass for First<'_, '_> {
    const EVERY_LINE: bool = true;

    fn wants(&mut self, _: u64) -> bool {
        true
    }

    fn answer(&mut self, line: u64, a: Answered<'_, '_>) -> Result<(), Diagnostic> {
        let out = &mut self.out;
        out.answered += 1;
        for &s in &a.sides.cells {
            let s = s as usize;
            if self.slots.len() <= s {
                self.slots.resize(s + 1, 0);
            }
            self.slots[s] += 1;
        }
        for pair in &a.sides.pairs {
            *self.pairs.entry(*pair).or_default() += 1;
        }
        // No quota goes past the bound: the levels above it are one.
        let level = a.level.min(MAX_SCENARIOS as u64);
        let slot = self.per_level.entry(level).or_default();
        slot.0 += 1;
        slot.1 = slot
            .1
            .saturating_add(estimate(&a.line.glance, a.said, self.prompter.is_some()));
        self.met.push(Met {
            line,
            level: level as u32,
        });
        if out.left_out > 0 || out.scenarios.len() >= MAX_SCENARIOS || self.bytes >= MAX_BYTES {
            out.left_out += 1;
        } else {
            let entry = entry(a, self.prompter)?;
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
    /// The last line with an answer within the quota.
    last: Option<u64>,
    /// Room left for answers past the quota: answers, and bytes.
    room: u64,
    room_bytes: usize,
    bytes: usize,
    filled: usize,
}

impl Pass for Second<'_, '_, '_> {
    const EVERY_LINE: bool = false;

    fn done(&self, line: u64) -> bool {
        self.last.is_none_or(|last| line > last)
            && (self.room == 0 || self.filled >= self.room_bytes)
    }

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

    fn answer(&mut self, line: u64, a: Answered<'_, '_>) -> Result<(), Diagnostic> {
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
        let entry = entry(a, self.prompter)?;
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
fn entry(a: Answered<'_, '_>, prompter: Option<&Prompter<'_>>) -> Result<Entry, Diagnostic> {
    let record = a.record()?;
    let (cells, pairs) = a.sides.keys(a.catalog);
    let line = a.line.whole(a.suite)?;
    let rendered = prompter.and_then(|p| p(line));
    let probabilities = record.probabilities.as_ref().map(|p| {
        line.actions
            .iter()
            .map(|x| p.get(&x.id).copied().filter(|x| x.is_finite()))
            .collect()
    });
    Ok(Entry {
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
        cells,
        pairs,
    })
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

    const LINE: &str = r#"{"id":"s87","index":3,"kind":"scenario","template":"colleague","topic":"work","bindings":{"role":"supervisor"},"text":"You \"work\" as a supervisor \u00e9\u4f60\ud83d\ude00.\nWhat do you do?","variants":{"zh":"\u4f60"},"actions":[{"id":"to_do","label":"Keep \"quiet\"","variants":{},"upholds":["dd.compassion"],"violates":["dd.accountability"],"either":["dd.honesty"],"relevance":{"dd.compassion":0.5},"affects":[{"party":"adviser","sign":"+"}],"distractor":false},{"id":"not","label":"Report","upholds":[],"violates":[],"distractor":true}],"seed":"92c7","draw":0,"suite":"everyday","twin_group":"s87","provenance":{"template":"everyday.qd:73"}}"#;

    const RECORD: &str = r#"{"scenario":"s87","index":3,"twin_group":"s87","steer":null,"epoch":1,"choice":"to_do","position":0,"order":["to_do","not"],"probabilities":{"to_do":0.598687660112452,"not":0.4},"readings":{"parse":"to_do"},"raw":"A, \"because\" \u00e9","rule":"label","reasoning":"Thought\n\ud83d\ude00","label_mass":0.9,"scores":null,"latency_ms":0.037109,"tokens":{"prompt":12,"completion":null},"attempts":1}"#;

    #[test]
    fn lines_read_in_one_pass_read_as_serde_json_reads_them() {
        use crate::formats::scan::tests::differential;
        differential(
            &[LINE, SUITE.lines().nth(3).unwrap_or_default()],
            |l| Glance::scan(l).map(|g| format!("{g:?}")),
            |l| serde_json::from_str::<Glance<'_>>(l).map(|g| format!("{g:?}")),
        );
        differential(
            &[RECORD, RESULTS.lines().nth(2).unwrap_or_default()],
            |l| Said::scan(l).map(|s| format!("{s:?}")),
            |l| serde_json::from_str::<Said<'_>>(l).map(|s| format!("{s:?}")),
        );
    }

    #[test]
    fn what_is_measured_is_the_length_of_what_is_read_whole() {
        let glance = Glance::scan(LINE).expect("read in one pass");
        let whole: ScenarioLine = serde_json::from_str(LINE).expect("a scenario");
        assert_eq!(glance.text, whole.text.len());
        let labels: Vec<usize> = whole.actions.iter().map(|a| a.label.len()).collect();
        let measured: Vec<usize> = glance.actions.iter().map(|a| a.label).collect();
        assert_eq!(measured, labels);
        assert_eq!(glance.actions[0].upholds.as_slice(), ["dd.compassion"]);
        assert!(glance.actions[1].distractor);
        let said = Said::scan(RECORD).expect("read in one pass");
        let record: Record = serde_json::from_str(RECORD).expect("a record");
        assert_eq!(said.raw, record.raw.as_ref().map(String::len));
        assert_eq!(said.reasoning, record.reasoning.as_ref().map(String::len));
        assert_eq!(
            (said.scenario.as_ref(), said.choice.as_ref()),
            ("s87", "to_do")
        );
        // A line the whole reader refuses is refused, not glanced at.
        let no_label = LINE.replace(r#""label":"Report","#, "");
        assert!(Glance::scan(&no_label).is_none());
        assert!(Glance::read(no_label.as_bytes()).is_err());
        let text_null = LINE.replacen(r#""text":"You"#, r#""text":null,"x":"You"#, 1);
        assert!(Glance::read(text_null.as_bytes()).is_err());
        let bad_latency = RECORD.replace(r#""latency_ms":0.037109"#, r#""latency_ms":"slow""#);
        assert!(Said::read(bad_latency.as_bytes()).is_err());
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
