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
use std::io::BufRead;
use std::path::{Path, PathBuf};

use indexmap::{IndexMap, IndexSet};
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use smallvec::SmallVec;
use xxhash_rust::xxh3::xxh3_64;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Framework, ValueId};

/// Per name: times selected, neglected, won in conflict, in conflict.
pub type Counts = [u64; 4];
/// Index of the selected count in [`Counts`].
pub const SELECTED: usize = 0;
/// Index of the neglected count.
pub const NEGLECTED: usize = 1;
/// Index of the wins in conflict.
pub const WINS: usize = 2;
/// Index of the conflicts.
pub const TRIALS: usize = 3;

/// The name of the view of values themselves.
pub const VALUES: &str = "values";
/// The name of the view up the hierarchy.
pub const HIERARCHY: &str = "hierarchy";

/// How many scenarios a report keeps to show behind each value, label and pair.
pub const EXAMPLES_PER_CELL: usize = 8;

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
    fn project(&mut self, value: &str, framework: Option<&Framework>) -> usize {
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

    fn slots_of(&self, projection: usize) -> &[u32] {
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
    /// Per (cluster, slot), the counts.
    pub counts: FxHashMap<(u32, u32), Counts>,
    /// Per (cluster, slot a, slot b) with a < b, both of the values view: wins of a over b
    /// and of b over a.
    pub pairs: FxHashMap<(u32, u32, u32), [u64; 2]>,
    /// The previous scenario's twin group, whether it was the base of its group, and the
    /// chosen action.
    last: Option<(u64, bool, u32)>,
}

/// A scenario shown behind a cell of a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Example {
    /// Its index in the suite.
    pub index: u64,
    /// Its id.
    pub id: String,
    /// The template it came from.
    pub template: String,
    /// The dilemma.
    pub text: String,
    /// Its options, in the order shown.
    pub options: Vec<ExampleOption>,
    /// The chosen action's id.
    pub choice: String,
    /// Where it came from (file:line of the template and of the relations behind it).
    pub provenance: Option<serde_json::Value>,
}

/// An option of an [`Example`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExampleOption {
    /// The action's id.
    pub id: String,
    /// Its text.
    pub label: String,
    /// The values it upholds.
    pub upholds: Vec<String>,
}

/// The scenarios behind cells, for one run.
#[derive(Default)]
pub struct Examples {
    /// Per slot, the scenarios (by index) where its name was in conflict.
    pub by_slot: FxHashMap<u32, Vec<u64>>,
    /// Per pair of value slots, the scenarios where they met.
    pub by_pair: FxHashMap<(u32, u32), Vec<u64>>,
    /// The scenarios named above.
    pub scenarios: BTreeMap<u64, Example>,
}

/// A journal read against its suite.
pub struct Tally {
    /// The slots.
    pub catalog: Catalog,
    /// The templates, in order of first appearance in the suite.
    pub clusters: IndexSet<Box<str>, FxBuildHasher>,
    /// The runs: the plain run first, then each steer in the journal's order.
    pub runs: Vec<RunTally>,
    /// The run examples are kept for.
    pub primary: usize,
    /// Answers in the journal not joined to a scenario of the suite (another suite's, or an
    /// action the scenario lacks).
    pub unmatched: u64,
    /// Scenarios behind cells of the primary run.
    pub examples: Examples,
    /// Question and stance lines of the primary run.
    pub survey: super::survey::SurveyTally,
    /// The results header.
    pub results_header: serde_json::Value,
    /// The suite header.
    pub suite_header: serde_json::Value,
    /// The suite read.
    pub suite_path: PathBuf,
    /// What the reader should know (a framework that could not be loaded, a torn line).
    pub notes: Vec<String>,
}

/// Where a report's inputs are.
#[derive(Clone, Debug)]
pub struct Sources<'a> {
    /// The results journal.
    pub results: &'a Path,
    /// The suite (default: the one named in the journal's header).
    pub suite: Option<&'a Path>,
    /// The framework (default: the first file named in the suite's header).
    pub framework: Option<&'a Path>,
    /// The run to keep examples for (`None`: the plain run).
    pub steer: Option<&'a str>,
}

#[derive(Deserialize)]
struct ResultLine<'a> {
    #[serde(borrow)]
    scenario: Cow<'a, str>,
    index: u64,
    #[serde(borrow, default)]
    steer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    choice: Cow<'a, str>,
    #[serde(default)]
    position: Option<u64>,
    #[serde(borrow, default)]
    readings: Option<Readings<'a>>,
    #[serde(borrow, default)]
    probabilities: Option<Probabilities<'a>>,
}

/// A JSON object of probabilities per action, kept as its pairs, keys borrowed.
struct Probabilities<'a>(Vec<(Name<'a>, f64)>);

impl<'de: 'a, 'a> Deserialize<'de> for Probabilities<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Pairs<'a> {
            type Value = Probabilities<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of probabilities per action")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(2));
                while let Some((k, v)) = map.next_entry::<Name<'de>, f64>()? {
                    out.push((k, v));
                }
                Ok(Probabilities(out))
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

#[derive(Deserialize)]
struct Readings<'a> {
    #[serde(borrow, default)]
    logprobs: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    parse: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(crate) struct SuiteLine<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default)]
    pub index: u64,
    #[serde(borrow, default)]
    pub template: Cow<'a, str>,
    #[serde(borrow, default)]
    pub twin_group: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    provenance: Option<&'a RawValue>,
    #[serde(borrow)]
    pub actions: SmallVec<[SuiteAction<'a>; 2]>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    question: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    options: Vec<Name<'a>>,
    #[serde(borrow, default)]
    persona: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    references: Option<&'a RawValue>,
    #[serde(borrow, default)]
    stance: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    country: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    part: Option<Cow<'a, str>>,
}

/// A name in a JSON list, borrowed from the line when it has no escapes (a `Cow` inside a
/// `Vec` would always be copied).
#[derive(Deserialize)]
pub(crate) struct Name<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Name<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize)]
pub(crate) struct SuiteAction<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow, default)]
    label: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub upholds: SmallVec<[Name<'a>; 4]>,
    #[serde(borrow, default)]
    pub violates: SmallVec<[Name<'a>; 4]>,
    #[serde(default)]
    pub distractor: bool,
}

/// Result lines.
struct ResultLines;

impl Line for ResultLines {
    type Out<'a> = ResultLine<'a>;
    fn parse(text: Text<'_>) -> Result<ResultLine<'_>, serde_json::Error> {
        text.parse()
    }
}

/// Scenario lines.
struct SuiteLines;

impl Line for SuiteLines {
    type Out<'a> = SuiteLine<'a>;
    fn parse(text: Text<'_>) -> Result<SuiteLine<'_>, serde_json::Error> {
        text.parse()
    }
}

/// The latest answer to one scenario under one run, compactly.
#[derive(Clone)]
struct Answer {
    /// xxh3 of the scenario id.
    id: u64,
    /// The chosen action (an index into the journal's action ids) or a failure.
    choice: u32,
    /// The position of the option chosen, `u32::MAX` for none.
    position: u32,
    /// 0: not read twice; 1: the readings agree; 2: they differ.
    readings: u8,
    /// Probabilities per action (indexes into the journal's action ids), when recorded.
    probabilities: Option<Box<[(u32, f64)]>>,
}

const UNPARSED: u32 = u32::MAX;
const REFUSED: u32 = u32::MAX - 1;
const ERROR: u32 = u32::MAX - 2;

pub(crate) fn io_error(path: &Path, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("cannot read `{}`: {why}", path.display()))
        .path(path.display().to_string())
}

fn open(path: &Path) -> Result<std::io::BufReader<std::fs::File>, Diagnostic> {
    let file =
        std::fs::File::open(path).map_err(|e| io_error(path, e.to_string().to_lowercase()))?;
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(io_error(path, "it is a directory"));
    }
    Ok(std::io::BufReader::with_capacity(1 << 20, file))
}

/// Reads a line into `buf` (cleared first); `false` at the end.
fn next_line(
    reader: &mut impl BufRead,
    buf: &mut String,
    path: &Path,
    line: u64,
) -> Result<bool, Diagnostic> {
    let mut bytes = std::mem::take(buf).into_bytes();
    let read = crate::input::read_line(reader, &mut bytes, crate::input::MAX_LINE);
    *buf = String::from_utf8_lossy(&bytes).into_owned();
    match read {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) => Err(io_error(
            path,
            format!("line {line}: {}", crate::input::why(&e)),
        )),
    }
}

/// A kind of JSON line that can be parsed borrowing from its bytes.
pub(crate) trait Line {
    /// The parsed line.
    type Out<'a>: Send;
    /// Parses one line.
    fn parse(text: Text<'_>) -> Result<Self::Out<'_>, serde_json::Error>;
}

/// A line: text already known to be UTF-8 (parsed without checking it again), or bytes.
#[derive(Clone, Copy)]
pub(crate) enum Text<'a> {
    /// Checked text.
    Str(&'a str),
    /// Unchecked bytes.
    Bytes(&'a [u8]),
}

impl<'a> Text<'a> {
    fn parse<T: Deserialize<'a>>(self) -> Result<T, serde_json::Error> {
        match self {
            Text::Str(s) => serde_json::from_str(s),
            Text::Bytes(b) => serde_json::from_slice(b),
        }
    }

    fn is_blank(&self) -> bool {
        match self {
            Text::Str(s) => s.bytes().all(|b| b.is_ascii_whitespace()),
            Text::Bytes(b) => b.iter().all(u8::is_ascii_whitespace),
        }
    }
}

/// Bytes read at a time, cut at the last whole line.
const BATCH_BYTES: usize = 8 << 20;

/// Reads the JSON lines left in `reader` (after the header: the first is line 2) in
/// batches, parses each batch on two threads, and hands the lines to `each` in order with
/// their line numbers. Blank lines are skipped.
pub(crate) fn each_line<L: Line>(
    reader: &mut impl std::io::Read,
    path: &Path,
    mut each: impl FnMut(Result<L::Out<'_>, serde_json::Error>, u64) -> Result<(), Diagnostic>,
) -> Result<(), Diagnostic> {
    let mut buf: Vec<u8> = Vec::with_capacity(BATCH_BYTES + (1 << 16));
    let mut carry: Vec<u8> = Vec::new();
    let mut line_no = 1u64;
    let mut at_end = false;
    while !at_end {
        buf.clear();
        buf.append(&mut carry);
        // Fill the batch (past a line longer than a batch, if need be).
        let target = BATCH_BYTES.max(buf.len() + (1 << 20));
        while buf.len() < target {
            let start = buf.len();
            buf.resize(start + (1 << 20), 0);
            match reader.read(&mut buf[start..]) {
                Ok(0) => {
                    buf.truncate(start);
                    at_end = true;
                    break;
                }
                Ok(n) => buf.truncate(start + n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(start),
                Err(e) => {
                    return Err(io_error(path, e.to_string().to_lowercase()));
                }
            }
        }
        // Whole lines only; the rest waits for the next batch.
        let cut = if at_end {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(i) => i + 1,
                None if buf.len() > crate::input::MAX_LINE => {
                    return Err(io_error(
                        path,
                        format!(
                            "line {}: {}",
                            line_no + 1,
                            crate::input::why(&crate::input::line_too_long(crate::input::MAX_LINE))
                        ),
                    ));
                }
                None => {
                    carry = std::mem::take(&mut buf);
                    continue;
                }
            }
        };
        carry.extend_from_slice(&buf[cut..]);
        let chunk = &buf[..cut];
        // The batch is checked as UTF-8 once, not string by string; a batch that is not
        // (a torn or damaged line) is parsed as bytes, line by line.
        let text = std::str::from_utf8(chunk).ok();
        let mut lines: Vec<(u64, Text<'_>)> = Vec::with_capacity(chunk.len() / 256 + 1);
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', chunk)
            .chain((cut > 0 && chunk[cut - 1] != b'\n').then_some(cut))
        {
            line_no += 1;
            let l = match text {
                Some(t) => Text::Str(t.get(start..end).unwrap_or_default()),
                None => Text::Bytes(&chunk[start..end]),
            };
            start = end + 1;
            if !l.is_blank() {
                lines.push((line_no, l));
            }
        }
        consume_in_order::<L>(&lines, &mut each).map_err(|e| {
            e.unwrap_or_else(|| io_error(path, "a parsing thread stopped unexpectedly"))
        })?;
    }
    Ok(())
}

/// Lines parsed at a time by one thread.
const PART_LINES: usize = 256;

/// Parses `lines` in parts on two threads and hands them to `each` in order as they are
/// ready: a second thread parses parts ahead, and this one, while the next part is not
/// ready, parses a part itself. So parsing overlaps with what `each` does.
fn consume_in_order<L: Line>(
    lines: &[(u64, Text<'_>)],
    each: &mut impl FnMut(Result<L::Out<'_>, serde_json::Error>, u64) -> Result<(), Diagnostic>,
) -> Result<(), Option<Diagnostic>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Condvar, Mutex};
    let parts: Vec<&[(u64, Text<'_>)]> = lines.chunks(PART_LINES).collect();
    let slots: Vec<Mutex<Option<Parsed<'_, L>>>> = parts.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let ready = (Mutex::new(()), Condvar::new());
    // Takes the next part nobody has taken and parses it into its slot; `false` when none
    // is left.
    let work = || -> bool {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(part) = parts.get(i) else {
            return false;
        };
        let parsed = parse_part::<L>(part);
        if let Ok(mut slot) = slots[i].lock() {
            *slot = Some(parsed);
        }
        // Under the lock the consumer checks with, so no wake-up is lost.
        let _guard = ready.0.lock();
        ready.1.notify_all();
        true
    };
    std::thread::scope(|scope| {
        let helper = scope.spawn(|| while work() {});
        let mut result = Ok(());
        'parts: for slot in &slots {
            loop {
                let taken = slot.lock().map_err(|_| None)?.take();
                if let Some(parsed) = taken {
                    for (line, n) in parsed {
                        if let Err(d) = each(line, n) {
                            result = Err(Some(d));
                            break 'parts;
                        }
                    }
                    break;
                }
                if work() {
                    continue;
                }
                // Every part is taken: wait for the helper to finish this one.
                let guard = ready.0.lock().map_err(|_| None)?;
                if slot.lock().map_err(|_| None)?.is_some() {
                    continue;
                }
                drop(ready.1.wait(guard).map_err(|_| None)?);
            }
        }
        // On an error, the helper takes no further part.
        next.store(parts.len(), Ordering::Relaxed);
        helper.join().map_err(|_| None)?;
        result
    })
}

type Parsed<'a, L> = Vec<(Result<<L as Line>::Out<'a>, serde_json::Error>, u64)>;

fn parse_part<'a, L: Line>(part: &[(u64, Text<'a>)]) -> Parsed<'a, L> {
    part.iter().map(|(n, l)| (L::parse(*l), *n)).collect()
}

fn header(line: &str, format: &str) -> Option<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(line)
        .ok()
        .filter(|h| h.get("format").and_then(|f| f.as_str()) == Some(format))
}

/// A path recorded in a header, as written or, failing that, beside `near`.
pub(crate) fn recorded_path(recorded: &str, near: &Path) -> PathBuf {
    let as_written = PathBuf::from(recorded);
    if as_written.exists() || as_written.is_absolute() {
        return as_written;
    }
    match (near.parent(), as_written.file_name()) {
        (Some(dir), Some(name)) if dir.join(name).exists() => dir.join(name),
        _ => as_written,
    }
}

/// Loads the framework a suite was expanded from (or `explicit`), for theory labels, the
/// hierarchy and profiles; a note instead of an error when it cannot be.
pub(crate) fn framework(
    explicit: Option<&Path>,
    suite_header: &serde_json::Value,
    notes: &mut Vec<String>,
) -> Option<crate::Loaded> {
    match crate::eval::suite_framework(explicit, suite_header) {
        Ok((_, loaded)) => Some(loaded),
        // A suite that names no file (written by hand) simply has no framework.
        Err(_)
            if explicit.is_none() && suite_header.get("files").and_then(|f| f.get(0)).is_none() =>
        {
            None
        }
        Err(d) => {
            notes.push(format!(
                "{}, so theory labels, the hierarchy and profiles are left out ({})",
                d.message,
                d.help.as_deref().unwrap_or("give --framework FILE")
            ));
            None
        }
    }
}

/// A results journal, compactly: the latest answer per (run, scenario index).
pub(crate) struct Journal {
    /// Its header.
    pub header: serde_json::Value,
    /// The runs: the plain run, then the steers the header lists, then any others found.
    pub runs: IndexSet<Option<String>, FxBuildHasher>,
    choices: IndexSet<Box<str>, FxBuildHasher>,
    answers: FxHashMap<(u32, u64), Answer>,
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

impl Journal {
    /// Reads the journal at `path`.
    pub fn read(path: &Path) -> Result<Journal, Diagnostic> {
        let mut reader = open(path)?;
        let mut buf = String::new();
        next_line(&mut reader, &mut buf, path, 1)?;
        let header = header(&buf, "results").ok_or_else(|| {
            io_error(path, "its first line is not a results header")
                .help("give a results file written by `quandary eval`")
        })?;
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
        let mut answers: FxHashMap<(u32, u64), Answer> = FxHashMap::default();
        let mut notes = Vec::new();
        let mut torn: Option<u64> = None;
        each_line::<ResultLines>(&mut reader, path, |parsed, line_no| {
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
            let probabilities = r.probabilities.map(|p| {
                p.0.into_iter()
                    .map(|(action, p)| {
                        let i = match choices.get_index_of(&*action) {
                            Some(i) => i,
                            None => choices.insert_full(action.0.into()).0,
                        };
                        (i as u32, p)
                    })
                    .collect()
            });
            answers.insert(
                (run, r.index),
                Answer {
                    id: xxh3_64(r.scenario.as_bytes()),
                    choice,
                    position: r
                        .position
                        .map_or(u32::MAX, |p| p.min(u64::from(u32::MAX - 1)) as u32),
                    readings,
                    probabilities,
                },
            );
            Ok(())
        })?;
        if let Some(line) = torn {
            notes.push(format!(
                "line {line} of `{}` is torn (a run that was stopped) and is left out; running \
                 the same `quandary eval` again completes it",
                path.display()
            ));
        }
        Ok(Journal {
            header,
            runs,
            choices,
            answers,
            notes,
        })
    }

    /// The run of `steer` (0, the plain run, for none).
    pub fn run(&self, steer: Option<&str>, path: &Path) -> Result<usize, Diagnostic> {
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

    /// The suite the journal answers: `explicit`, or the one its header names.
    pub fn suite_path(&self, explicit: Option<&Path>, path: &Path) -> Result<PathBuf, Diagnostic> {
        match explicit {
            Some(p) => Ok(p.to_path_buf()),
            None => self
                .header
                .get("suite_file")
                .and_then(|f| f.as_str())
                .map(|f| recorded_path(f, path))
                .ok_or_else(|| {
                    io_error(path, "its header names no suite file")
                        .help("give the suite with --suite FILE")
                }),
        }
    }

    /// How run `run` answered the scenario `s` (whose id hashes to `id`).
    fn join(&self, run: usize, s: &SuiteLine<'_>, id: u64) -> Joined<'_> {
        let Some(answer) = self.answers.get(&(run as u32, s.index)) else {
            return Joined::No;
        };
        if answer.id != id {
            return Joined::No;
        }
        match answer.choice {
            UNPARSED | REFUSED | ERROR => Joined::Failed(answer),
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

/// A suite file read line by line.
pub(crate) struct SuiteFile {
    reader: std::io::BufReader<std::fs::File>,
    /// Where it is.
    pub path: PathBuf,
    /// Its header.
    pub header: serde_json::Value,
}

impl SuiteFile {
    /// Opens the suite at `path` and reads its header.
    pub fn open(path: &Path) -> Result<SuiteFile, Diagnostic> {
        let mut reader = open(path).map_err(|d| d.help("give the suite with --suite FILE"))?;
        let mut buf = String::new();
        next_line(&mut reader, &mut buf, path, 1)?;
        let header = header(&buf, "suite").ok_or_else(|| {
            io_error(path, "its first line is not a suite header")
                .help("give the suite written by `quandary expand` that the results answer")
        })?;
        Ok(SuiteFile {
            reader,
            path: path.to_path_buf(),
            header,
        })
    }

    /// Calls `f` on every scenario with the hash of its id.
    pub fn each(
        &mut self,
        mut f: impl FnMut(&SuiteLine<'_>, u64) -> Result<(), Diagnostic>,
    ) -> Result<(), Diagnostic> {
        let path = self.path.clone();
        each_line::<SuiteLines>(&mut self.reader, &path, |parsed, line_no| {
            let s = parsed.map_err(|e| {
                io_error(&path, format!("line {line_no} is not a scenario: {e}"))
                    .help("give the suite written by `quandary expand` that the results answer")
            })?;
            let id = xxh3_64(s.id.as_bytes());
            f(&s, id)
        })
    }
}

/// The answers of one run, joined to the suite's scenarios: `f` gets each answered scenario
/// and the position of the option chosen (`None` for a failed answer). Returns the journal's
/// answers that belong to no scenario, and the journal's and the suite's notes.
pub(crate) fn each_answer(
    journal: &Journal,
    suite: &mut SuiteFile,
    run: usize,
    mut f: impl FnMut(&SuiteLine<'_>, Option<usize>),
) -> Result<u64, Diagnostic> {
    let mut matched = 0u64;
    suite.each(|s, id| {
        match journal.join(run, s, id) {
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
        Ok(())
    })?;
    let in_run = journal
        .answers
        .keys()
        .filter(|(r, _)| *r as usize == run)
        .count() as u64;
    Ok(in_run - matched)
}

impl Tally {
    /// Reads the journal and its suite.
    pub fn read(sources: &Sources<'_>) -> Result<(Tally, Option<crate::Loaded>), Diagnostic> {
        let results = sources.results;
        let journal = Journal::read(results)?;
        let mut notes = journal.notes.clone();
        let primary = journal.run(sources.steer, results)?;
        let suite_path = journal.suite_path(sources.suite, results)?;
        let mut suite = SuiteFile::open(&suite_path)?;
        let loaded = framework(sources.framework, &suite.header, &mut notes);
        let framework = loaded.as_ref().map(|l| &l.framework);

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
            examples: Examples::default(),
            survey: Default::default(),
            results_header: journal.header.clone(),
            suite_header: suite.header.clone(),
            suite_path: suite_path.clone(),
            notes,
        };
        let mut matched = 0u64;
        let mut scratch = Scratch::default();
        suite.each(|s, id| {
            let cluster = match tally.clusters.get_index_of(s.template.as_ref()) {
                Some(c) => c,
                None => tally.clusters.insert_full(s.template.as_ref().into()).0,
            } as u32;
            let group = s
                .twin_group
                .as_deref()
                .map(|g| (xxh3_64(g.as_bytes()), g == s.id));
            for run in 0..tally.runs.len() {
                let (answer, chosen) = match journal.join(run, s, id) {
                    Joined::No => {
                        tally.runs[run].last = None;
                        continue;
                    }
                    Joined::Failed(a) => (a, None),
                    Joined::Chose(a, k) => (a, Some(k)),
                };
                matched += 1;
                let keep_examples = run == tally.primary;
                if keep_examples && s.kind.as_deref().is_some_and(|k| k != "scenario") {
                    tally.survey_line(&journal, s, answer, chosen);
                }
                tally.count(
                    run,
                    cluster,
                    s,
                    answer,
                    chosen,
                    group,
                    framework,
                    &mut scratch,
                    keep_examples,
                );
            }
            Ok(())
        })?;
        tally.unmatched = journal.len() as u64 - matched;
        Ok((tally, loaded))
    }

    /// Counts a question or stance line of the primary run.
    fn survey_line(
        &mut self,
        journal: &Journal,
        s: &SuiteLine<'_>,
        answer: &Answer,
        chosen: Option<usize>,
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
        let from_probabilities = answer.probabilities.as_ref().and_then(|p| {
            let dist: Vec<f64> = s
                .options
                .iter()
                .map(|o| {
                    let id = journal.choices.get_index_of(&**o);
                    p.iter()
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
        let line = super::survey::SurveyLine {
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
        self.survey.count(&line, distribution, chosen_id);
    }

    /// Counts one answered scenario.
    #[allow(clippy::too_many_arguments)]
    fn count(
        &mut self,
        run: usize,
        cluster: u32,
        s: &SuiteLine<'_>,
        answer: &Answer,
        chosen: Option<usize>,
        group: Option<(u64, bool)>,
        framework: Option<&Framework>,
        scratch: &mut Scratch,
        keep_examples: bool,
    ) {
        let r = &mut self.runs[run];
        r.records += 1;
        match answer.choice {
            UNPARSED => r.unparsed += 1,
            REFUSED => r.refused += 1,
            ERROR => r.errors += 1,
            _ => {}
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
            r.last = None;
            return;
        };
        r.answered += 1;
        r.first += u64::from(answer.position == 0);
        // A twin is the line after its base, in the same group.
        if let Some((g, base)) = group {
            if let (false, Some((last_group, true, last_choice))) = (base, r.last)
                && last_group == g
            {
                r.twin_pairs += 1;
                r.twin_flips += u64::from(last_choice != answer.choice);
            }
            r.last = Some((g, base, answer.choice));
        } else {
            r.last = None;
        }

        // Selected and neglected pool the names of every value of an option, as DailyDilemmas
        // pools theory labels: a label two values of the chosen option map to is selected
        // twice. Whether a name is on a side at all (wins in conflict, pairs) uses sets.
        let r = &mut self.runs[run];
        scratch.chosen.clear();
        scratch.rejected.clear();
        for v in &s.actions[k].upholds {
            let p = self.catalog.project(v, framework);
            for &slot in self.catalog.slots_of(p) {
                r.counts.entry((cluster, slot)).or_default()[SELECTED] += 1;
                scratch.chosen.push(slot);
            }
        }
        scratch.chosen.sort_unstable();
        scratch.chosen.dedup();
        for (i, a) in s.actions.iter().enumerate() {
            if i == k || a.distractor {
                continue;
            }
            for v in &a.upholds {
                let p = self.catalog.project(v, framework);
                for &slot in self.catalog.slots_of(p) {
                    r.counts.entry((cluster, slot)).or_default()[NEGLECTED] += 1;
                    scratch.rejected.push(slot);
                }
            }
        }
        // Every slot of a rejected side, once.
        scratch.lost.clear();
        scratch.lost.extend_from_slice(&scratch.rejected);
        scratch.lost.sort_unstable();
        scratch.lost.dedup();

        for &slot in &scratch.chosen {
            if scratch.lost.binary_search(&slot).is_err() {
                let c = r.counts.entry((cluster, slot)).or_default();
                c[WINS] += 1;
                c[TRIALS] += 1;
            }
        }
        scratch.losers.clear();
        for &slot in &scratch.lost {
            if scratch.chosen.binary_search(&slot).is_err() {
                r.counts.entry((cluster, slot)).or_default()[TRIALS] += 1;
                scratch.losers.push(slot);
            }
        }
        // Pairwise games between values (not labels): every winner against every loser.
        scratch.winners.clear();
        scratch.winners.extend(
            scratch
                .chosen
                .iter()
                .copied()
                .filter(|s| scratch.lost.binary_search(s).is_err()),
        );
        let catalog = &self.catalog;
        for &w in &scratch.winners {
            if catalog.view_of(w) != 0 {
                continue;
            }
            for &l in &scratch.losers {
                if catalog.view_of(l) != 0 {
                    continue;
                }
                let (key, side) = if w < l { ((w, l), 0) } else { ((l, w), 1) };
                r.pairs.entry((cluster, key.0, key.1)).or_default()[side] += 1;
            }
        }
        if keep_examples {
            self.keep_example(s, k, scratch);
        }
    }

    fn keep_example(&mut self, s: &SuiteLine<'_>, chosen: usize, scratch: &Scratch) {
        let mut wanted = false;
        let ex = &mut self.examples;
        let in_conflict = scratch
            .winners
            .iter()
            .chain(&scratch.losers)
            .copied()
            .filter(|&slot| self.catalog.view_of(slot) != self.catalog.hierarchy_view());
        for slot in in_conflict {
            let list = ex.by_slot.entry(slot).or_default();
            if list.len() < EXAMPLES_PER_CELL {
                list.push(s.index);
                wanted = true;
            }
        }
        for &w in &scratch.winners {
            for &l in &scratch.losers {
                if self.catalog.view_of(w) != 0 || self.catalog.view_of(l) != 0 {
                    continue;
                }
                let list = ex.by_pair.entry((w.min(l), w.max(l))).or_default();
                if list.len() < EXAMPLES_PER_CELL {
                    list.push(s.index);
                    wanted = true;
                }
            }
        }
        if !wanted {
            return;
        }
        let text = |raw: Option<&RawValue>| -> String {
            raw.and_then(|r| serde_json::from_str::<String>(r.get()).ok())
                .unwrap_or_default()
        };
        ex.scenarios.insert(
            s.index,
            Example {
                index: s.index,
                id: s.id.to_string(),
                template: s.template.to_string(),
                text: text(s.text),
                options: s
                    .actions
                    .iter()
                    .map(|a| ExampleOption {
                        id: a.id.to_string(),
                        label: text(a.label),
                        upholds: a.upholds.iter().map(|v| v.0.to_string()).collect(),
                    })
                    .collect(),
                choice: s.actions[chosen].id.to_string(),
                provenance: s
                    .provenance
                    .and_then(|r| serde_json::from_str(r.get()).ok()),
            },
        );
    }
}

/// Buffers reused from one scenario to the next.
#[derive(Default)]
struct Scratch {
    chosen: Vec<u32>,
    rejected: Vec<u32>,
    lost: Vec<u32>,
    winners: Vec<u32>,
    losers: Vec<u32>,
}

fn not_a_result(path: &Path, line: u64) -> Diagnostic {
    io_error(path, format!("line {line} is not a result"))
        .help("only a torn last line is left out; check the file was written by `quandary eval`")
}

fn unknown_steer(
    path: &Path,
    steer: &str,
    runs: &IndexSet<Option<String>, FxBuildHasher>,
) -> Diagnostic {
    let names: Vec<&str> = runs.iter().flatten().map(String::as_str).collect();
    Diagnostic::new(
        Code::UnknownReference,
        format!(
            "`{}` holds no answers under the steer `{steer}`",
            path.display()
        ),
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
