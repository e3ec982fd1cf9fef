//! The suite file `quandary expand` writes: a header line (`"format":"suite"`: the suite, its
//! seed, the hash and paths of its sources, its settings), then one line per scenario,
//! question part or stance part. `expand` writes the lines (assembled from fragments, for
//! speed; a test reads them back through this module); everything else reads them here:
//! whole ([`ScenarioLine`], through [`SuiteReader`]) or borrowed from the text
//! ([`SuiteLineRef`], through [`each_borrowed`]).

use std::borrow::Cow;
use std::io::BufRead;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use smallvec::SmallVec;

use super::{Input, Line, Text, first_line};
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
            header,
        })
    }

    /// The next scenario, or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<ScenarioLine>, Diagnostic> {
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
                .map_err(|e| suite_error(&self.name, format!("line {n} is not a scenario: {e}")));
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

/// The header of a suite file; a file that is not a suite (a results file, say) is a
/// diagnostic saying what it is.
pub fn read_header(input: Input<'_>) -> Result<Value, Diagnostic> {
    Ok(SuiteReader::open(input)?.header)
}

/// A scenario line borrowed from the text it was parsed from: what a report needs.
#[derive(Deserialize)]
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
    #[serde(borrow, default)]
    pub text: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub provenance: Option<&'a RawValue>,
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
#[derive(Deserialize, Serialize)]
pub(crate) struct Name<'a>(#[serde(borrow)] pub Cow<'a, str>);

impl std::ops::Deref for Name<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

/// An option of a borrowed scenario line.
#[derive(Deserialize)]
pub(crate) struct ActionRef<'a> {
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub label: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub upholds: SmallVec<[Name<'a>; 4]>,
    #[serde(borrow, default)]
    pub violates: SmallVec<[Name<'a>; 4]>,
    #[serde(default)]
    pub distractor: bool,
}

/// Borrowed scenario lines, for the batched reader.
struct SuiteLines;

impl Line for SuiteLines {
    type Out<'a> = SuiteLineRef<'a>;
    fn parse(text: Text<'_>) -> Result<SuiteLineRef<'_>, serde_json::Error> {
        text.parse()
    }
}

/// A suite file opened for the batched reader.
pub(crate) struct SuiteFile<'a> {
    reader: Box<dyn BufRead + Send + 'a>,
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
            name,
            header,
        })
    }

    /// Calls `f` on every scenario, borrowed, with the hash of its id; the lines are parsed
    /// in batches on two threads.
    pub fn each_borrowed(
        &mut self,
        mut f: impl FnMut(&SuiteLineRef<'_>, u64) -> Result<(), Diagnostic>,
    ) -> Result<(), Diagnostic> {
        let name = self.name.clone();
        super::each_line::<SuiteLines>(&mut self.reader, &name, |parsed, line_no| {
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
