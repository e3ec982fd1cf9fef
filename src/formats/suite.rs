//! The suite file `quandary expand` writes: a header line (`"format":"suite"`: the suite, its
//! seed, the hash and paths of its sources, its settings), then one line per scenario,
//! question part or stance part. `expand` writes the lines (assembled from fragments, for
//! speed; a test reads them back through this module); everything else reads them here:
//! whole ([`ScenarioLine`], through [`SuiteReader`]) or borrowed from the text
//! ([`SuiteLineRef`], through [`each_borrowed`]).

use std::borrow::Cow;
use std::io::BufRead;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use smallvec::SmallVec;

use super::scan::{Cursor, Fields};
use super::{Body, Input, Line, Positional, Text, Turn, first_line};
use crate::diagnostic::{Code, Diagnostic};

/// A scenario line of a suite file, whole.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ScenarioLine {
    /// Its id.
    pub id: String,
    /// Its index in the suite.
    #[serde(default)]
    pub index: u64,
    /// Its twin group.
    #[serde(default)]
    pub twin_group: Option<String>,
    /// The template it came from.
    #[serde(default)]
    pub template: String,
    /// The dilemma.
    pub text: String,
    /// The dilemma in other languages, by tag (`text.zh`).
    #[serde(default)]
    pub variants: std::collections::BTreeMap<String, String>,
    /// Its options.
    pub actions: Vec<ActionLine>,
    /// `scenario`, `question`, `stance_choice` or `stance_agree`.
    #[serde(default)]
    pub kind: Option<String>,
    /// Its topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// The suite it belongs to.
    #[serde(default)]
    pub suite: Option<String>,
    /// What its variables were bound to (a JSON object), as written.
    #[serde(default)]
    pub bindings: Option<Box<RawValue>>,
    /// Its own seed, as written.
    #[serde(default)]
    pub seed: Option<Box<RawValue>>,
    /// Its draw number, as written.
    #[serde(default)]
    pub draw: Option<Box<RawValue>>,
    /// Where it came from (template, relations, rules), as written.
    #[serde(default)]
    pub provenance: Option<Box<RawValue>>,
}

/// An option of a scenario line.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ActionLine {
    /// Its id.
    pub id: String,
    /// Its text.
    pub label: String,
    /// Its text in other languages, by tag.
    #[serde(default)]
    pub variants: std::collections::BTreeMap<String, String>,
    /// Values it upholds.
    #[serde(default)]
    pub upholds: Vec<String>,
    /// Values it violates.
    #[serde(default)]
    pub violates: Vec<String>,
    /// Whether it is a distractor.
    #[serde(default)]
    pub distractor: bool,
    /// The parties it affects, as written.
    #[serde(default)]
    pub affects: Option<Box<RawValue>>,
    /// Values it could serve or go against (`either`; absent when none).
    #[serde(default)]
    pub either: Vec<String>,
    /// The relevance of upheld values other than 1 (absent when every one is 1).
    #[serde(default)]
    pub relevance: std::collections::BTreeMap<String, f64>,
}

/// A raw JSON value as a [`Value`] (`null` when absent).
pub fn raw_value(raw: &Option<Box<RawValue>>) -> Value {
    raw.as_ref()
        .and_then(|r| serde_json::from_str(r.get()).ok())
        .unwrap_or(Value::Null)
}

fn suite_error(name: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("cannot read the suite `{name}`: {why}"))
        .path(name)
        .help("give a suite written by `quandary expand`")
}

/// Checks the first line of a suite file and returns its header.
fn header(name: &str, first: &[u8]) -> Result<Value, Diagnostic> {
    if first.is_empty() {
        return Err(suite_error(name, "it is empty"));
    }
    let header: Value = serde_json::from_slice(first)
        .map_err(|e| suite_error(name, format!("its first line is not a suite header: {e}")))?;
    match header.get("format").and_then(Value::as_str) {
        Some("suite") => Ok(header),
        Some("results") => Err(Diagnostic::new(
            Code::Io,
            format!("`{name}` is a results file, not a suite"),
        )
        .path(name)
        .help(format!(
            "export the suite it answers (its header's `suite_file`) with --target {name} to use its answers as targets, or export it --to preference-pairs"
        ))),
        _ => Err(suite_error(
            name,
            "its first line is not a suite header (`\"format\":\"suite\"`)",
        )),
    }
}

/// A suite file read one line at a time, each line at most [`crate::input::MAX_LINE`] bytes;
/// blank lines are skipped.
pub struct SuiteReader<'a> {
    name: String,
    lines: crate::input::Lines<Box<dyn BufRead + Send + 'a>>,
    /// The suite read at any offset, while no line past the header has been read in turn.
    at: Option<Positional<'a>>,
    /// The header line.
    pub header: Value,
}

impl<'a> SuiteReader<'a> {
    /// Opens the suite and reads its header.
    pub fn open(input: Input<'a>) -> Result<SuiteReader<'a>, Diagnostic> {
        let name = input.name();
        let mut reader = input.open().map_err(|d| {
            suite_error(&name, d.message.rsplit(": ").next().unwrap_or("unreadable"))
        })?;
        let first = first_line(&mut reader, &name)?;
        let header = header(&name, &first)?;
        let lines = crate::input::Lines::numbered_from(reader, 2);
        Ok(SuiteReader {
            name,
            lines,
            at: input.positional(),
            header,
        })
    }

    /// The next scenario, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<ScenarioLine>, Diagnostic> {
        self.at = None;
        loop {
            let (n, line) = match self.lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => return Ok(None),
                Err(e) => {
                    let n = self.lines.number();
                    return Err(suite_error(
                        &self.name,
                        format!("line {n}: {}", crate::input::why(&e)),
                    ));
                }
            };
            if crate::input::is_blank(line) {
                continue;
            }
            return serde_json::from_slice(line)
                .map(Some)
                .map_err(|e| not_a_scenario(&self.name, n, &e));
        }
    }

    /// The next line that is not blank, as it is, with its number; `None` at the end.
    pub(crate) fn next_raw(&mut self) -> Result<Option<RawLine>, Diagnostic> {
        self.at = None;
        loop {
            let (n, line) = match self.lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => return Ok(None),
                Err(e) => {
                    let n = self.lines.number();
                    return Err(suite_error(
                        &self.name,
                        format!("line {n}: {}", crate::input::why(&e)),
                    ));
                }
            };
            if !crate::input::is_blank(line) {
                return Ok(Some((n, line.into())));
            }
        }
    }

    /// Calls `f` with every scenario, in order.
    pub fn each(
        mut self,
        mut f: impl FnMut(ScenarioLine) -> Result<(), Diagnostic>,
    ) -> Result<(), Diagnostic> {
        while let Some(line) = self.next_line()? {
            f(line)?;
        }
        Ok(())
    }

    /// The suite's id, from its header.
    pub fn suite_id(&self) -> &str {
        self.header
            .get("suite")
            .and_then(Value::as_str)
            .unwrap_or("suite")
    }
}

/// The error of reading line `n` of the suite `name` (or the file, without one).
fn line_error(name: &str, n: Option<u64>, why: impl std::fmt::Display) -> Diagnostic {
    match n {
        Some(n) => suite_error(name, format!("line {n}: {why}")),
        None => suite_error(name, why),
    }
}

impl<'a> SuiteReader<'a> {
    /// Calls `f` with every scenario left, in order, borrowed from the text: the lines are
    /// read and parsed on two threads, a chunk at a time, each once. A line that is not a
    /// scenario is the error [`SuiteReader::next_line`] gives.
    pub(crate) fn each_view<E: Send + From<Diagnostic>>(
        self,
        mut f: impl FnMut(ScenarioView<'_>) -> Result<(), E> + Send,
    ) -> Result<(), E> {
        let name = self.name.clone();
        self.each_parsed::<ScenarioViews, E>(move |parsed, n| match parsed {
            Ok(scenario) => f(scenario),
            Err(e) => Err(not_a_scenario(&name, n, &e).into()),
        })
    }

    /// Hands the lines left (not blank, unparsed, each numbered within its chunk; checked as
    /// UTF-8 with `text`, else as bytes) a chunk at a time to `work` on two threads, whose
    /// [`Turn`] runs its ordered part on `state` in order: for a caller that does more with
    /// a line than parse it and can do that on two threads.
    pub(crate) fn each_chunk<S: Send, E: Send + From<Diagnostic>>(
        self,
        state: S,
        text: bool,
        work: &(impl Fn(&[(u64, Text<'_>)], &mut Turn<'_, S, E>) + Sync),
    ) -> Result<(), E> {
        let name = self.name;
        let fail = |n: Option<u64>, why: String| line_error(&name, n, why);
        let mut reader = self.lines.into_inner();
        let source = Body::of(&self.at, &mut reader);
        super::chunks::each_chunk(super::chunks::SUITE_SIZES, source, &fail, state, text, work)
    }

    /// Calls `f` with every line left that is not blank as `L` parses it (on two threads, a
    /// chunk at a time), and its number, in order.
    pub(crate) fn each_parsed<L: super::Line, E: Send + From<Diagnostic>>(
        self,
        f: impl FnMut(Result<L::Out<'_>, serde_json::Error>, u64) -> Result<(), E> + Send,
    ) -> Result<(), E> {
        let name = self.name.clone();
        let fail = |n: Option<u64>, why: String| line_error(&name, n, why);
        let mut reader = self.lines.into_inner();
        super::each_line_with::<L, E>(Body::of(&self.at, &mut reader), &fail, f)
    }

    /// Calls `f` with every line left that is not blank, unparsed, and its number: for
    /// what needs no more of a line than is quickly read (how many there are, an id).
    pub(crate) fn each_raw<E: From<Diagnostic>>(
        self,
        mut f: impl FnMut(&[u8], u64) -> Result<(), E>,
    ) -> Result<(), E> {
        let name = self.name;
        let fail = |n: Option<u64>, why: String| line_error(&name, n, why);
        let mut reader = self.lines.into_inner();
        super::each_batch(&mut reader, &fail, |chunk, line_no| {
            let mut start = 0;
            for end in super::line_ends(chunk) {
                *line_no += 1;
                let line = &chunk[start..end];
                start = end + 1;
                if !crate::input::is_blank(line) {
                    f(line, *line_no)?;
                }
            }
            Ok(())
        })
    }

    /// How messages name the suite.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// The error of line `n` of the suite `name`, which is not a scenario.
pub(crate) fn not_a_scenario(name: &str, n: u64, e: &serde_json::Error) -> Diagnostic {
    let d = suite_error(name, format!("line {n} is not a scenario: {e}"));
    if e.is_eof() {
        // A line that stops before its scenario does: most often the last of a file whose
        // writing was stopped.
        return d.help(format!(
            "line {n} stops before its scenario ends: a suite cut short (an `expand` that was \
             stopped, a full disk) or a line broken in two; expand the suite again (with the \
             same sources and seed its scenarios are the same, so a journal of it resumes)"
        ));
    }
    d
}

/// The borrowed lines, named as the owned ones are, so that what they say of a line that is
/// not one is the same (`expected struct ScenarioLine`).
mod view {
    use std::borrow::Cow;

    use serde::Deserialize;
    use serde::de::IgnoredAny;
    use smallvec::SmallVec;

    use super::{Name, Variants};

    /// A scenario line borrowed from its text: what asking a scenario reads of it, parsed once
    /// and not copied. It has every field of a [`super::ScenarioLine`], of the same types, so that a
    /// line one reads the other reads too, and one refuses with the same message (the fields
    /// asking does not use are there for that).
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    pub(crate) struct ScenarioLine<'a> {
        /// Its id.
        #[serde(borrow)]
        pub id: Cow<'a, str>,
        /// Its index in the suite.
        #[serde(default)]
        pub index: u64,
        /// Its twin group.
        #[serde(borrow, default)]
        pub twin_group: Option<Name<'a>>,
        /// The template it came from.
        #[serde(borrow, default)]
        pub template: Cow<'a, str>,
        /// The dilemma.
        #[serde(borrow)]
        pub text: Cow<'a, str>,
        /// The dilemma in other languages, by tag.
        #[serde(borrow, default)]
        pub variants: Variants<'a>,
        /// Its options.
        #[serde(borrow)]
        pub actions: SmallVec<[ActionLine<'a>; 2]>,
        /// `scenario`, `question`, `stance_choice` or `stance_agree`.
        #[serde(borrow, default)]
        pub kind: Option<Name<'a>>,
        /// Its topic.
        #[serde(borrow, default)]
        pub topic: Option<Name<'a>>,
        /// The suite it belongs to.
        #[serde(borrow, default)]
        pub suite: Option<Name<'a>>,
        /// What its variables were bound to: any JSON value, checked and passed over.
        #[serde(default)]
        pub bindings: Option<IgnoredAny>,
        /// Its own seed: any JSON value, checked and passed over.
        #[serde(default)]
        pub seed: Option<IgnoredAny>,
        /// Its draw number: any JSON value, checked and passed over.
        #[serde(default)]
        pub draw: Option<IgnoredAny>,
        /// Where it came from: any JSON value, checked and passed over.
        #[serde(default)]
        pub provenance: Option<IgnoredAny>,
    }

    /// An option of a borrowed scenario line.
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    pub(crate) struct ActionLine<'a> {
        /// Its id.
        #[serde(borrow)]
        pub id: Cow<'a, str>,
        /// Its text.
        #[serde(borrow)]
        pub label: Cow<'a, str>,
        /// Its text in other languages, by tag.
        #[serde(borrow, default)]
        pub variants: Variants<'a>,
        /// Values it upholds.
        #[serde(borrow, default)]
        pub upholds: SmallVec<[Name<'a>; 4]>,
        /// Values it violates.
        #[serde(borrow, default)]
        pub violates: SmallVec<[Name<'a>; 4]>,
        /// Whether it is a distractor.
        #[serde(default)]
        pub distractor: bool,
        /// The parties it affects: any JSON value, checked and passed over.
        #[serde(default)]
        pub affects: Option<IgnoredAny>,
        /// Values it could serve or go against (`either`).
        #[serde(borrow, default)]
        pub either: SmallVec<[Name<'a>; 1]>,
        /// The relevance of upheld values other than 1, by value.
        #[serde(default)]
        pub relevance: std::collections::BTreeMap<String, f64>,
    }
}

pub(crate) use view::{ActionLine as ActionView, ScenarioLine as ScenarioView};

/// Texts by language tag (a JSON object of strings), borrowed; as in a map, a tag written
/// twice has its last text.
#[derive(Debug, Default)]
pub(crate) struct Variants<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

impl<'a> Variants<'a> {
    /// The text in `lang`.
    pub fn get(&self, lang: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(tag, _)| tag == lang)
            .map(|(_, text)| &**text)
    }

    /// Whether there is a text in `lang`.
    pub fn contains_key(&self, lang: &str) -> bool {
        self.get(lang).is_some()
    }

    fn of(map: &'a std::collections::BTreeMap<String, String>) -> Variants<'a> {
        Variants(
            map.iter()
                .map(|(k, v)| (Cow::Borrowed(k.as_str()), Cow::Borrowed(v.as_str())))
                .collect(),
        )
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Variants<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Variants<'a>, D::Error> {
        struct Visit<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Visit<'a> {
            type Value = Variants<'a>;
            // As a `BTreeMap` says.
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Variants<'a>, M::Error> {
                let mut pairs = Vec::new();
                while let Some((tag, text)) = map.next_entry::<Name<'de>, Name<'de>>()? {
                    pairs.push((tag.0, text.0));
                }
                Ok(Variants(pairs))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

impl ScenarioLine {
    /// The line borrowed: what [`ScenarioView`] reads of its text.
    pub(crate) fn view(&self) -> ScenarioView<'_> {
        fn name(s: &Option<String>) -> Option<Name<'_>> {
            s.as_deref().map(|s| Name(Cow::Borrowed(s)))
        }
        fn names(v: &[String]) -> SmallVec<[Name<'_>; 4]> {
            v.iter().map(|s| Name(Cow::Borrowed(s.as_str()))).collect()
        }
        ScenarioView {
            id: Cow::Borrowed(&self.id),
            index: self.index,
            twin_group: name(&self.twin_group),
            template: Cow::Borrowed(&self.template),
            text: Cow::Borrowed(&self.text),
            variants: Variants::of(&self.variants),
            actions: self
                .actions
                .iter()
                .map(|a| ActionView {
                    id: Cow::Borrowed(&a.id),
                    label: Cow::Borrowed(&a.label),
                    variants: Variants::of(&a.variants),
                    upholds: names(&a.upholds),
                    violates: names(&a.violates),
                    distractor: a.distractor,
                    affects: a.affects.as_ref().map(|_| IgnoredAny),
                    either: names(&a.either).into_iter().collect(),
                    relevance: a.relevance.clone(),
                })
                .collect(),
            kind: name(&self.kind),
            topic: name(&self.topic),
            suite: name(&self.suite),
            bindings: self.bindings.as_ref().map(|_| IgnoredAny),
            seed: self.seed.as_ref().map(|_| IgnoredAny),
            draw: self.draw.as_ref().map(|_| IgnoredAny),
            provenance: self.provenance.as_ref().map(|_| IgnoredAny),
        }
    }
}

impl ScenarioView<'_> {
    /// Its twin group, or its id when it has none.
    pub fn group(&self) -> &str {
        self.twin_group.as_deref().unwrap_or(&self.id)
    }
}

impl<'a> ScenarioView<'a> {
    /// The scenario line `text`, read as [`SuiteReader`] reads it.
    pub(crate) fn parse(text: &'a [u8]) -> Result<ScenarioView<'a>, serde_json::Error> {
        match std::str::from_utf8(text) {
            Ok(t) => ScenarioView::read(Text::Str(t)),
            Err(_) => ScenarioView::read(Text::Bytes(text)),
        }
    }

    /// A line handed out by [`SuiteReader::each_part`], read as [`SuiteReader`] reads it.
    pub(crate) fn read(text: Text<'a>) -> Result<ScenarioView<'a>, serde_json::Error> {
        ScenarioViews::parse(text)
    }

    /// A line with nothing in it, to read lines into ([`ScenarioView::read_into`]).
    pub(crate) fn empty() -> ScenarioView<'a> {
        ScenarioView {
            id: Cow::Borrowed(""),
            index: 0,
            twin_group: None,
            template: Cow::Borrowed(""),
            text: Cow::Borrowed(""),
            variants: Variants::default(),
            actions: SmallVec::new(),
            kind: None,
            topic: None,
            suite: None,
            bindings: None,
            seed: None,
            draw: None,
            provenance: None,
        }
    }

    /// [`ScenarioView::read`] into `self`, which a line already read leaves its room to:
    /// a scenario is large, and reading many one after another into one place moves none of
    /// them. On an error, `self` holds what was read before it.
    pub(crate) fn read_into(&mut self, text: Text<'a>) -> Result<(), serde_json::Error> {
        if let Text::Str(line) = text
            && self.scan_into(line).is_some()
        {
            return Ok(());
        }
        *self = text.parse()?;
        Ok(())
    }

    /// The line read by [`super::scan`]: `None` when it declines, and serde_json decides.
    pub(crate) fn scan(line: &'a str) -> Option<ScenarioView<'a>> {
        let mut s = ScenarioView::empty();
        s.scan_into(line)?;
        Some(s)
    }

    /// [`ScenarioView::scan`] into `self`.
    fn scan_into(&mut self, line: &'a str) -> Option<()> {
        let mut c = Cursor::new(line);
        let mut seen = Fields::default();
        let (mut id, mut text, mut actions) = (None, None, false);
        let s = self;
        s.index = 0;
        s.twin_group = None;
        s.template = Cow::Borrowed("");
        s.variants.0.clear();
        s.actions.clear();
        s.kind = None;
        s.topic = None;
        s.suite = None;
        s.bindings = None;
        s.seed = None;
        s.draw = None;
        s.provenance = None;
        let name = |c: &mut Cursor<'a>| c.optional(|c| text_of(c).map(Name));
        c.object(|c, key| {
            match key {
                "id" => {
                    seen.first(0)?;
                    id = Some(text_of(c)?);
                }
                "index" => {
                    seen.first(1)?;
                    s.index = c.parse()?;
                }
                "twin_group" => {
                    seen.first(2)?;
                    s.twin_group = name(c)?;
                }
                "template" => {
                    seen.first(3)?;
                    s.template = text_of(c)?;
                }
                "text" => {
                    seen.first(4)?;
                    text = Some(text_of(c)?);
                }
                "variants" => {
                    seen.first(5)?;
                    s.variants = Variants::scan(c)?;
                }
                "actions" => {
                    seen.first(6)?;
                    c.array(|c| ActionView::scan_onto(c, &mut s.actions))?;
                    actions = true;
                }
                "kind" => {
                    seen.first(7)?;
                    s.kind = name(c)?;
                }
                "topic" => {
                    seen.first(8)?;
                    s.topic = name(c)?;
                }
                "suite" => {
                    seen.first(9)?;
                    s.suite = name(c)?;
                }
                "bindings" => {
                    seen.first(10)?;
                    s.bindings = any(c)?;
                }
                "seed" => {
                    seen.first(11)?;
                    s.seed = any(c)?;
                }
                "draw" => {
                    seen.first(12)?;
                    s.draw = any(c)?;
                }
                "provenance" => {
                    seen.first(13)?;
                    s.provenance = any(c)?;
                }
                _ => c.skip()?,
            }
            Some(())
        })?;
        c.end()?;
        s.id = id?;
        s.text = text?;
        actions.then_some(())
    }
}

impl<'a> ActionView<'a> {
    /// An option read by [`super::scan`] into the end of `list` (where it is made, so
    /// that it is not moved there), or `None`.
    fn scan_onto(c: &mut Cursor<'a>, list: &mut SmallVec<[ActionView<'a>; 2]>) -> Option<()> {
        let mut seen = Fields::default();
        let (mut id, mut label) = (None, None);
        list.push(ActionView {
            id: Cow::Borrowed(""),
            label: Cow::Borrowed(""),
            variants: Variants::default(),
            upholds: SmallVec::new(),
            violates: SmallVec::new(),
            distractor: false,
            affects: None,
            either: SmallVec::new(),
            relevance: std::collections::BTreeMap::new(),
        });
        let a = list.last_mut()?;
        c.object(|c, key| {
            match key {
                "id" => {
                    seen.first(0)?;
                    id = Some(text_of(c)?);
                }
                "label" => {
                    seen.first(1)?;
                    label = Some(text_of(c)?);
                }
                "variants" => {
                    seen.first(2)?;
                    a.variants = Variants::scan(c)?;
                }
                "upholds" | "violates" => {
                    let list = if key == "upholds" {
                        seen.first(3)?;
                        &mut a.upholds
                    } else {
                        seen.first(4)?;
                        &mut a.violates
                    };
                    c.array(|c| {
                        list.push(Name(text_of(c)?));
                        Some(())
                    })?;
                }
                "distractor" => {
                    seen.first(5)?;
                    a.distractor = c.boolean()?;
                }
                "affects" => {
                    seen.first(6)?;
                    a.affects = any(c)?;
                }
                "either" => {
                    seen.first(7)?;
                    c.array(|c| {
                        a.either.push(Name(text_of(c)?));
                        Some(())
                    })?;
                }
                // Rare: serde reads it.
                "relevance" => return None,
                _ => c.skip()?,
            }
            Some(())
        })?;
        a.id = id?;
        a.label = label?;
        Some(())
    }
}

impl<'a> Variants<'a> {
    /// Texts by tag read by [`super::scan`] (tags without escapes), or `None`.
    fn scan(c: &mut Cursor<'a>) -> Option<Variants<'a>> {
        let mut pairs = Vec::new();
        c.object(|c, tag| {
            pairs.push((Cow::Borrowed(tag), text_of(c)?));
            Some(())
        })?;
        Some(Variants(pairs))
    }
}

/// A string, borrowed from the line when it has no escapes and read by serde_json when it
/// has (as serde_json reads it into a `Cow`); `None` for any other value.
fn text_of<'a>(c: &mut Cursor<'a>) -> Option<Cow<'a, str>> {
    // Most have none: read in one pass.
    if let Some(text) = c.string() {
        return Some(Cow::Borrowed(text));
    }
    let raw = c.raw()?;
    let inner = raw.strip_prefix('"')?.strip_suffix('"')?;
    if memchr::memchr(b'\\', inner.as_bytes()).is_none() {
        return Some(Cow::Borrowed(inner));
    }
    serde_json::from_str::<String>(raw).ok().map(Cow::Owned)
}

/// Any value, checked and passed over: `None` for `null`, as an `Option` reads it.
fn any(c: &mut Cursor<'_>) -> Option<Option<IgnoredAny>> {
    c.optional(|c| c.skip().map(|()| IgnoredAny))
}

/// Borrowed scenario lines whole, for the batched reader.
struct ScenarioViews;

impl Line for ScenarioViews {
    type Out<'a> = ScenarioView<'a>;
    fn parse(text: Text<'_>) -> Result<ScenarioView<'_>, serde_json::Error> {
        text.scan_or_parse(ScenarioView::scan)
    }
}

/// A line of a suite as it is, with its number.
pub(crate) type RawLine = (u64, std::sync::Arc<[u8]>);

/// The header of a suite file; a file that is not a suite (a results file, say) is a
/// diagnostic saying what it is.
pub fn read_header(input: Input<'_>) -> Result<Value, Diagnostic> {
    Ok(SuiteReader::open(input)?.header)
}

/// A scenario line borrowed from the text it was parsed from: what a report needs.
#[derive(Debug, Deserialize)]
pub(crate) struct SuiteLineRef<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(default)]
    pub index: u64,
    #[serde(borrow, default)]
    pub template: Cow<'a, str>,
    #[serde(borrow, default)]
    pub twin_group: Option<Cow<'a, str>>,
    /// Which occurrence of its binding the line is (absent on the first).
    #[serde(default)]
    pub occurrence: Option<u64>,
    #[serde(borrow)]
    pub actions: SmallVec<[ActionRef<'a>; 2]>,
    #[serde(borrow, default)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub question: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub options: Vec<Name<'a>>,
    #[serde(borrow, default)]
    pub persona: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub references: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub stance: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub country: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub part: Option<Cow<'a, str>>,
}

/// A name in a JSON list, borrowed from the line when it has no escapes (a `Cow` inside a
/// `Vec` would always be copied).
#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct Name<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Name<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// An option of a borrowed scenario line.
#[derive(Debug, Deserialize)]
pub(crate) struct ActionRef<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub upholds: SmallVec<[Name<'a>; 4]>,
    #[serde(borrow, default)]
    pub violates: SmallVec<[Name<'a>; 4]>,
    #[serde(default)]
    pub distractor: bool,
    /// The parties it affects (`affects`), as the suite line lists them.
    #[serde(borrow, default)]
    pub affects: SmallVec<[EffectRef<'a>; 1]>,
    /// Values it could serve or go against (`either`).
    #[serde(borrow, default)]
    pub either: SmallVec<[Name<'a>; 1]>,
    /// The relevance of upheld values other than 1, by value (a JSON object), as written.
    #[serde(borrow, default)]
    pub relevance: Option<&'a RawValue>,
}

/// A party an option affects, borrowed: who, `+`, `-` or no sign, and whether only through
/// the option's consequences (`affects indirectly`).
#[derive(Debug, Deserialize)]
pub(crate) struct EffectRef<'a> {
    #[serde(borrow)]
    pub party: Cow<'a, str>,
    #[serde(borrow, default)]
    pub sign: Option<Cow<'a, str>>,
    #[serde(default)]
    pub indirect: bool,
}

impl<'a> EffectRef<'a> {
    /// A party read by [`super::scan`], or `None`.
    fn scan(c: &mut Cursor<'a>) -> Option<EffectRef<'a>> {
        let mut seen = Fields::default();
        let mut party = None;
        let mut effect = EffectRef {
            party: Cow::Borrowed(""),
            sign: None,
            indirect: false,
        };
        c.object(|c, key| {
            match key {
                "party" => {
                    seen.first(0)?;
                    party = Some(Cow::Borrowed(c.string()?));
                }
                "sign" => {
                    seen.first(1)?;
                    effect.sign = c.optional(|c| c.string().map(Cow::Borrowed))?;
                }
                "indirect" => {
                    seen.first(2)?;
                    effect.indirect = c.boolean()?;
                }
                _ => c.skip()?,
            }
            Some(())
        })?;
        effect.party = party?;
        Some(effect)
    }
}

/// Borrowed scenario lines, for the batched reader.
struct SuiteLines;

impl Line for SuiteLines {
    type Out<'a> = SuiteLineRef<'a>;
    fn parse(text: Text<'_>) -> Result<SuiteLineRef<'_>, serde_json::Error> {
        text.scan_or_parse(SuiteLineRef::scan)
    }
}

impl<'a> SuiteLineRef<'a> {
    /// The line read by [`super::scan`]: `None` when it declines, and serde_json decides.
    pub(crate) fn scan(line: &'a str) -> Option<SuiteLineRef<'a>> {
        let mut c = Cursor::new(line);
        let mut seen = Fields::default();
        let mut id = None;
        let mut actions = None;
        let mut s = SuiteLineRef {
            id: Cow::Borrowed(""),
            index: 0,
            template: Cow::Borrowed(""),
            twin_group: None,
            occurrence: None,
            actions: SmallVec::new(),
            kind: None,
            question: None,
            options: Vec::new(),
            persona: None,
            references: None,
            stance: None,
            country: None,
            part: None,
        };
        let name = |c: &mut Cursor<'a>| c.string().map(Cow::Borrowed);
        let names = |c: &mut Cursor<'a>, into: &mut dyn FnMut(Name<'a>)| {
            c.array(|c| {
                into(Name(name(c)?));
                Some(())
            })
        };
        c.object(|c, key| {
            match key {
                "id" => {
                    seen.first(0)?;
                    id = Some(name(c)?);
                }
                "index" => {
                    seen.first(1)?;
                    s.index = c.parse()?;
                }
                "template" => {
                    seen.first(2)?;
                    s.template = name(c)?;
                }
                "twin_group" => {
                    seen.first(3)?;
                    s.twin_group = c.optional(name)?;
                }
                "occurrence" => {
                    seen.first(4)?;
                    s.occurrence = c.optional(|c| c.parse())?;
                }
                "text" => {
                    seen.first(5)?;
                    c.raw()?;
                }
                "provenance" => {
                    seen.first(6)?;
                    c.raw()?;
                }
                "actions" => {
                    seen.first(7)?;
                    let mut list = SmallVec::new();
                    c.array(|c| {
                        list.push(ActionRef::scan(c)?);
                        Some(())
                    })?;
                    actions = Some(list);
                }
                "kind" => {
                    seen.first(8)?;
                    s.kind = c.optional(name)?;
                }
                "question" => {
                    seen.first(9)?;
                    s.question = c.optional(name)?;
                }
                "options" => {
                    seen.first(10)?;
                    names(c, &mut |n| s.options.push(n))?;
                }
                "persona" => {
                    seen.first(11)?;
                    s.persona = c.optional(name)?;
                }
                // Left to serde_json unless null: a borrowed raw value cannot be made here.
                "references" => {
                    seen.first(12)?;
                    c.optional(|_| None::<()>)?;
                }
                "stance" => {
                    seen.first(13)?;
                    s.stance = c.optional(name)?;
                }
                "country" => {
                    seen.first(14)?;
                    s.country = c.optional(name)?;
                }
                "part" => {
                    seen.first(15)?;
                    s.part = c.optional(name)?;
                }
                _ => c.skip()?,
            }
            Some(())
        })?;
        c.end()?;
        s.id = id?;
        s.actions = actions?;
        Some(s)
    }
}

impl<'a> ActionRef<'a> {
    /// An option read by [`super::scan`], or `None`.
    fn scan(c: &mut Cursor<'a>) -> Option<ActionRef<'a>> {
        let mut seen = Fields::default();
        let mut id = None;
        let mut a = ActionRef {
            id: Cow::Borrowed(""),
            upholds: SmallVec::new(),
            violates: SmallVec::new(),
            distractor: false,
            affects: SmallVec::new(),
            either: SmallVec::new(),
            relevance: None,
        };
        c.object(|c, key| {
            match key {
                "id" => {
                    seen.first(0)?;
                    id = Some(Cow::Borrowed(c.string()?));
                }
                "label" => {
                    seen.first(1)?;
                    c.raw()?;
                }
                "upholds" | "violates" => {
                    let list = if key == "upholds" {
                        seen.first(2)?;
                        &mut a.upholds
                    } else {
                        seen.first(3)?;
                        &mut a.violates
                    };
                    c.array(|c| {
                        list.push(Name(Cow::Borrowed(c.string()?)));
                        Some(())
                    })?;
                }
                "distractor" => {
                    seen.first(4)?;
                    a.distractor = c.boolean()?;
                }
                "affects" => {
                    seen.first(5)?;
                    c.array(|c| {
                        a.affects.push(EffectRef::scan(c)?);
                        Some(())
                    })?;
                }
                "either" => {
                    seen.first(6)?;
                    c.array(|c| {
                        a.either.push(Name(Cow::Borrowed(c.string()?)));
                        Some(())
                    })?;
                }
                // Relevances other than 1 are rare: serde reads such a line.
                "relevance" => return None,
                _ => c.skip()?,
            }
            Some(())
        })?;
        a.id = id?;
        Some(a)
    }
}

/// A suite file opened for the batched reader.
pub(crate) struct SuiteFile<'a> {
    reader: Box<dyn BufRead + Send + 'a>,
    /// The suite read at any offset, until it has been read.
    at: Option<Positional<'a>>,
    /// How messages name it.
    pub name: String,
    /// Its header.
    pub header: Value,
}

impl<'a> SuiteFile<'a> {
    /// Opens the suite and reads its header.
    pub fn open(input: Input<'a>) -> Result<SuiteFile<'a>, Diagnostic> {
        let name = input.name();
        let mut reader = input
            .open()
            .map_err(|d| d.help("give the suite with --suite FILE"))?;
        let first = first_line(&mut reader, &name)?;
        let header = header(&name, &first).map_err(|d| {
            d.help("give the suite written by `quandary expand` that the results answer")
        })?;
        Ok(SuiteFile {
            reader,
            at: input.positional(),
            name,
            header,
        })
    }

    /// Calls `f` on every scenario, borrowed, with the hash of its id; the lines are parsed
    /// in batches on two threads.
    pub fn each_borrowed(
        &mut self,
        mut f: impl FnMut(&SuiteLineRef<'_>, u64) -> Result<(), Diagnostic> + Send,
    ) -> Result<(), Diagnostic> {
        let name = self.name.clone();
        // Read once: what is read at offsets is not read again in turn.
        let at = Positional::once(&mut self.at, &mut self.reader);
        let source = Body::of(&at, &mut self.reader);
        super::each_line::<SuiteLines>(source, &name, |parsed, line_no| {
            let s = parsed.map_err(|e| {
                super::io_error(&name, format!("line {line_no} is not a scenario: {e}"))
                    .help("give the suite written by `quandary expand` that the results answer")
            })?;
            let id = xxhash_rust::xxh3::xxh3_64(s.id.as_bytes());
            f(&s, id)
        })
    }
}

/// Where a judged answer came from: written into each line of a judge suite as `source`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
pub struct Source {
    /// The scenario's index in the suite answered.
    pub index: u64,
    /// The scenario's id.
    pub scenario: String,
    /// The steer it was asked under, if any.
    #[serde(default)]
    pub steer: Option<String>,
    /// The epoch.
    #[serde(default)]
    pub epoch: u32,
    /// What the answering run recorded (`free`, an action id, `unparsed`, `refused`).
    #[serde(default)]
    pub choice: String,
}

/// A line of a judge suite (written by `quandary judge`), as a report of its verdicts needs
/// it.
#[derive(Clone, Debug, Deserialize)]
pub struct JudgeLine {
    /// Its index in the judge suite.
    pub index: u64,
    /// The answered scenario's template.
    #[serde(default)]
    pub template: String,
    /// The answered scenario's topic.
    #[serde(default)]
    pub topic: Option<String>,
    /// The values the answered scenario's options uphold.
    #[serde(default)]
    pub values: Vec<String>,
    /// The answer judged.
    pub source: Source,
}

/// Every line of a judge suite, in order; a line that is not a judge suite's is an error.
pub fn judge_lines(input: Input<'_>) -> Result<Vec<JudgeLine>, Diagnostic> {
    let mut reader = SuiteReader::open(input)?;
    let mut out = Vec::new();
    loop {
        let (n, line) = match reader.lines.next_line() {
            Ok(Some(l)) => l,
            Ok(None) => return Ok(out),
            Err(e) => {
                let n = reader.lines.number();
                return Err(suite_error(
                    &reader.name,
                    format!("line {n}: {}", crate::input::why(&e)),
                ));
            }
        };
        if crate::input::is_blank(line) {
            continue;
        }
        let judged: JudgeLine = serde_json::from_slice(line).map_err(|e| {
            suite_error(
                &reader.name,
                format!("line {n} is not a line of a judge suite: {e}"),
            )
            .help("give a judge suite written by `quandary judge`")
        })?;
        out.push(judged);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"id":"s1","index":3,"kind":"scenario","template":"t","topic":"work","bindings":{"a":"x"},"text":"Which?","variants":{"zh":"哪个？","de":"Welche?","zh":"哪一个？"},"actions":[{"id":"go","label":"Go","variants":{"zh":"走"},"upholds":["f.care"],"violates":[],"affects":[{"party":"p"}],"distractor":false},{"id":"stay","label":"Stay \"here\"","upholds":[],"violates":["f.care","f.a","f.b","f.c","f.d"]}],"seed":"ab","draw":0,"suite":"s","twin_group":"s0","provenance":{"template":"x.qd:1"}}"#;

    #[test]
    fn a_view_reads_what_the_whole_line_reads() {
        let line: ScenarioLine = serde_json::from_str(GOOD).unwrap();
        let view: ScenarioView<'_> = serde_json::from_str(GOOD).unwrap();
        for v in [&view, &line.view()] {
            assert_eq!((&*v.id, v.index, v.group()), ("s1", 3, "s0"));
            assert_eq!((&*v.template, &*v.text), ("t", "Which?"));
            assert_eq!(v.kind.as_deref(), Some("scenario"));
            // As in a map, the last of a tag written twice.
            assert_eq!(v.variants.get("zh"), Some("哪一个？"));
            assert!(v.variants.contains_key("de") && !v.variants.contains_key("fr"));
            assert_eq!(v.actions.len(), 2);
            assert_eq!(v.actions[1].label, "Stay \"here\"");
            assert_eq!(v.actions[0].variants.get("zh"), Some("走"));
            assert_eq!(v.actions[1].violates.len(), 5);
            assert_eq!(&*v.actions[1].violates[4], "f.d");
            assert!(v.bindings.is_some() && v.topic.is_some());
        }
        // Borrowed from the text where it has no escapes.
        assert!(matches!(view.text, Cow::Borrowed(_)));
        assert!(matches!(view.actions[1].label, Cow::Owned(_)));
    }

    /// The fast reader reads a line as serde_json reads it into a view, or declines.
    #[test]
    fn a_scanned_view_reads_what_serde_json_reads() {
        crate::formats::scan::tests::differential(
            &[
                GOOD,
                r#"{"id":"s87","index":0,"kind":"scenario","template":"colleague","topic":"work","bindings":{"role":"supervisor","a":"dd.compassion"},"text":"You \"work\" as a supervisor.\nWhat do you do?","variants":{},"actions":[{"id":"to_do","label":"Keep quiet","upholds":["dd.compassion"],"violates":["dd.accountability"],"upholds_indirect":[],"violates_indirect":[],"affects":[{"party":"adviser","sign":"+","indirect":false},{"party":"colleague","sign":null,"indirect":false}],"distractor":false},{"id":"not","label":"Report","upholds":[],"violates":[],"distractor":true}],"seed":"92c7","draw":0,"suite":"everyday","twin_group":"s87","provenance":{"template":"everyday.qd:73","relations":["everyday.qd:25"],"rules":[]}}"#,
                r#" { "id" : "q\u00e9" , "index" : 7 , "kind" : null , "twin_group" : null , "text" : "Agree?" , "actions" : [ { "id" : "yes" , "label" : "Yes" , "variants" : { "de" : "Ja" } } ] , "seed" : null , "extra" : [1, {"a": null}] } "#,
            ],
            |l| ScenarioView::scan(l).map(|s| format!("{s:?}")),
            |l| serde_json::from_str::<ScenarioView<'_>>(l).map(|s| format!("{s:?}")),
        );
    }

    /// A view read into one place after another line holds nothing of that line.
    #[test]
    fn a_view_read_into_the_room_of_another_is_the_view_read_afresh() {
        let full = GOOD;
        let bare = r#"{"id":"s2","text":"Which?","actions":[{"id":"a","label":"A"}]}"#;
        let escaped =
            r#"{"id":"s3","text":"W\u0068ich?","actions":[{"id":"a","label":"A"}],"extra":1}"#;
        let mut view = ScenarioView::empty();
        for line in [full, bare, full, escaped, bare, full] {
            view.read_into(Text::Str(line)).unwrap();
            let fresh = ScenarioView::read(Text::Str(line)).unwrap();
            assert_eq!(format!("{view:?}"), format!("{fresh:?}"), "{line}");
        }
        // What a line that is not a scenario says is what reading it afresh says.
        let said = view.read_into(Text::Str(r#"{"id":"s4"}"#)).unwrap_err();
        let fresh = ScenarioView::read(Text::Str(r#"{"id":"s4"}"#)).unwrap_err();
        assert_eq!(said.to_string(), fresh.to_string());
    }

    #[test]
    fn a_view_refuses_what_the_whole_line_refuses_with_the_same_message() {
        let lines = [
            r#"{"id":"s1","text":"x""#,
            r#"{"id":"s1","text":"x"}"#,
            r#"{"id":"s1","actions":[]}"#,
            r#"{"text":"x","actions":[]}"#,
            r#"{"id":1,"text":"x","actions":[]}"#,
            r#"{"id":"s1","index":-1,"text":"x","actions":[]}"#,
            r#"{"id":"s1","text":"x","actions":{}}"#,
            r#"{"id":"s1","text":"x","actions":[{"id":"a"}]}"#,
            r#"{"id":"s1","text":"x","actions":[{"id":"a","label":"A","upholds":"v"}]}"#,
            r#"{"id":"s1","text":"x","actions":[{"id":"a","label":"A","upholds":[1]}]}"#,
            r#"{"id":"s1","text":"x","actions":[{"id":"a","label":"A","distractor":"no"}]}"#,
            r#"{"id":"s1","text":"x","variants":[],"actions":[]}"#,
            r#"{"id":"s1","text":"x","variants":{"zh":null},"actions":[]}"#,
            r#"{"id":"s1","text":"x","actions":[],"kind":5}"#,
            r#"{"id":"s1","text":"x","actions":[],"twin_group":[]}"#,
            r#"{"id":"s1","text":"x","actions":[],"bindings":{"a":}}"#,
            r#"{"id":"s1","id":"s2","text":"x","actions":[]}"#,
            r#"{"id":"s1","text":"x","actions":[]} x"#,
            r#"["s1"]"#,
            r#""s1""#,
            "{\"id\":\"s\u{1}\",\"text\":\"x\",\"actions\":[]}",
            r#"{"id":"\ud800","text":"x","actions":[]}"#,
        ];
        for text in lines {
            let whole = serde_json::from_str::<ScenarioLine>(text).map(|_| ());
            let view = serde_json::from_str::<ScenarioView<'_>>(text).map(|_| ());
            let whole_bytes = serde_json::from_slice::<ScenarioLine>(text.as_bytes()).map(|_| ());
            let view_bytes =
                serde_json::from_slice::<ScenarioView<'_>>(text.as_bytes()).map(|_| ());
            let said = |r: Result<(), serde_json::Error>| r.map_err(|e| e.to_string());
            assert_eq!(said(view), said(whole), "{text}");
            assert_eq!(said(view_bytes), said(whole_bytes), "{text}");
        }
    }
}
