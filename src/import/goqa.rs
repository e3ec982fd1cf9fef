//! GlobalOpinionQA (Durmus et al. 2023, "Towards Measuring the Representation of Subjective
//! Global Opinions in Language Models"; the Hugging Face data set
//! `Anthropic/llm_global_opinions`, CC BY-NC-SA 4.0): survey questions of the Pew Global
//! Attitudes Survey and the World Values Survey with the answers of each country.
//!
//! The data set is one CSV, `global_opinions.csv`, with the columns
//!
//! - `question`: the question as put;
//! - `options`: its answers, a Python list of strings (`['Very good', "Don't know"]`);
//! - `selections`: per country, the share of people who chose each answer, a Python
//!   `defaultdict` (`defaultdict(<class 'list'>, {'Belgium': [0.25, 0.75], …})`);
//! - `source`: `GAS` or `WVS`.
//!
//! [`import_goqa`] writes one `question` per row, `NAME_0001` for the first
//! row, with an option per answer and a `reference` per country, and a suite that asks each
//! question as it is and, under a persona, as someone from each of its countries. Shares
//! that do not sum to 1 within 0.01 (the tolerance of `quandary check`) are divided by their
//! sum, with a warning, so the file checks cleanly.

use std::collections::HashMap;
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value;

use super::populations::{self, Populations};
use super::pyrepr::{self, Py};
use super::records::{self, Item, Record};
use super::table::{self, Stop};
use super::{
    Ids, Imported, Options, Problems, check_output, file_error, ident, layout, line_error, quote,
};
use crate::diagnostic::{Code, Diagnostic};

/// The name of the file, the suite and the prefix of question ids when none is given.
pub const DEFAULT_NAME: &str = "goqa";

/// The persona of the suite when none is given.
pub const DEFAULT_PERSONA: &str = "Answer as someone from {{ population }} would.";

/// How far from 1 shares may sum before they are normalised: the tolerance of the check.
const TOLERANCE: f64 = 0.01;

/// What [`import_goqa`] writes, besides the input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The file is `NAME.qd`, its suite `NAME`, its questions `NAME_0001`, ….
    pub name: String,
    /// The persona template of the suite (over `population`).
    pub persona: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            name: DEFAULT_NAME.into(),
            persona: DEFAULT_PERSONA.into(),
        }
    }
}

/// One question read from a row, or from the records asking it of one country each.
struct Question {
    id: String,
    text: String,
    source: String,
    options: Vec<(String, String)>,
    references: Vec<(String, Vec<f64>)>,
}

/// The shapes of input [`import_goqa`] reads, as its messages name them.
pub const SHAPES: &str = "the data set's CSV (columns `question`, `options`, `selections`, \
     `source`); its rows as JSON Lines or a JSON array of objects with those fields; a page of \
     the Hugging Face datasets-server (`{\"rows\": [{\"row_idx\": 0, \"row\": {…}}]}`); or \
     records of one question and country each, as JSON Lines, a JSON array or CSV (`question` \
     written as \"Question: … Options: … Answer:\", `country`, `selections`)";

/// The field names of a record's question text, by their normalised form.
pub const TEXT: [&str; 3] = ["question", "prompt", "input"];
/// The field names of a record's country (records of one question and country).
pub const COUNTRY: [&str; 2] = ["country", "population"];
/// The field names of a record's shares (records of one question and country).
pub const SHARES: [&str; 3] = ["selections", "distribution", "shares"];

/// Imports GlobalOpinionQA (its bytes, named `file` in messages) as `NAME.qd`. The shape of
/// the input (see [`SHAPES`]) is told from its content: its first character (`[` a JSON
/// array, `{` a datasets-server page or JSON Lines, else CSV), and each record's fields (a
/// record naming a country is one question asked of one country; others are the data set's
/// rows). Records of one question and country with the same question and options make one
/// question, with a reference per country.
///
/// A row whose question is empty, or whose options or selections cannot be read, is
/// reported and left out; a country whose shares cannot be used (not numbers, `nan`, fewer
/// or more than the options, negative, all 0, a country named twice) is reported and left
/// out of its question.
pub fn import_goqa(bytes: &[u8], file: &str, settings: &Settings, options: &Options) -> Imported {
    let mut problems = Problems::new(options);
    let items = match read_items(bytes, file) {
        Ok(items) => items,
        Err(d) => {
            let _ = problems.report(d);
            return problems.stop();
        }
    };
    let width = items.len().to_string().len().max(4);
    let mut ids = Ids::new();
    ids.unique(settings.name.clone());
    let mut reader = Reader {
        file,
        settings,
        width,
        ids,
        questions: Vec::new(),
        asked: HashMap::new(),
        populations: Populations::new(),
        seen: IndexMap::new(),
        merged: IndexMap::new(),
    };
    for (n, item) in items.into_iter().enumerate() {
        let number = n as u64 + 1;
        let read = match item {
            Item::Record(record) => reader.record(&record, number, &mut problems),
            Item::Bad(d) => table::report(&mut problems, d),
        };
        if read.is_err() {
            return problems.stop();
        }
    }
    let names: Vec<&str> = reader.seen.keys().map(String::as_str).collect();
    for (a, b) in populations::likely_duplicates(&names) {
        problems.warn(same_population(
            (a, file, reader.seen[a]),
            (b, file, reader.seen[b]),
        ));
    }
    let questions = reader.questions;
    let merged = reader.merged;
    if questions.is_empty() {
        let d = file_error(file, "holds no question that can be imported")
            .help(format!("`import goqa` reads {SHAPES}"));
        if !problems.report(d) {
            return problems.stop();
        }
        return problems.finish(Vec::new());
    }
    let text = source_text(file, settings, &questions, &merged);
    let path = format!("{}.qd", settings.name);
    let files = vec![(PathBuf::from(&path), text)];
    if let Some(d) = check_output(&files, &path) {
        let _ = problems.report(d);
        return problems.stop();
    }
    problems.finish(files)
}

/// The records of the input, in order, after its shape is told from its first character.
fn read_items(bytes: &[u8], file: &str) -> Result<Vec<Item>, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        None => Err(file_error(file, "is empty: it holds no question")
            .help(format!("`import goqa` reads {SHAPES}"))),
        Some(b'{') => {
            let Ok(text) = std::str::from_utf8(bytes) else {
                return Err(file_error(file, "is not UTF-8 text").help("save the file as UTF-8"));
            };
            Ok(page_rows(text, file).unwrap_or_else(|| records::items(bytes, file)))
        }
        Some(b'[') => Ok(records::items(bytes, file)),
        Some(_) => {
            let table = table::open(bytes, file)?;
            let has = |name: &str| table.column(name).is_some();
            let missing = if !TEXT.iter().any(|c| has(c)) {
                Some("question")
            } else if COUNTRY.iter().any(|c| has(c)) {
                None
            } else {
                ["options", "selections"].into_iter().find(|c| !has(c))
            };
            if let Some(name) = missing {
                return Err(file_error(
                    file,
                    format!(
                        "has no `{name}` column (its header is `{}`)",
                        table.columns.join(",")
                    ),
                )
                .help(format!("`import goqa` reads {SHAPES}")));
            }
            Ok(records::csv_items(bytes, file))
        }
    }
}

/// The rows of a page of the Hugging Face datasets-server (`{"rows": [{"row_idx": 0,
/// "row": {…}}, …]}`), each with the line it starts on; `None` when the text is not such a
/// page (then it is read as JSON Lines).
fn page_rows(text: &str, file: &str) -> Option<Vec<Item>> {
    #[derive(serde::Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        rows: Vec<&'a serde_json::value::RawValue>,
    }
    let page: Page<'_> = serde_json::from_str(text).ok()?;
    let base = text.as_ptr() as usize;
    let mut lines = table::Lines::new(text.as_bytes());
    let items = page
        .rows
        .iter()
        .map(|raw| {
            let offset = (raw.get().as_ptr() as usize).saturating_sub(base);
            let line = lines.at(offset as u64);
            match serde_json::from_str::<Value>(raw.get()) {
                Ok(Value::Object(mut entry)) => match entry.swap_remove("row") {
                    Some(Value::Object(row)) => Item::Record(Record {
                        line,
                        fields: row.into_iter().map(|(k, v)| (ident(&k), v)).collect(),
                    }),
                    _ => Item::Bad(line_error(
                        file,
                        line,
                        "the entry of `rows` has no `row` object; it is left out",
                    )),
                },
                _ => Item::Bad(line_error(
                    file,
                    line,
                    "the entry of `rows` is not a JSON object; it is left out",
                )),
            }
        })
        .collect();
    Some(items)
}

/// Reads records into questions.
struct Reader<'a> {
    file: &'a str,
    settings: &'a Settings,
    width: usize,
    ids: Ids,
    questions: Vec<Question>,
    /// The question of each (text, options) asked of one country, by its place in
    /// `questions`.
    asked: HashMap<(String, Vec<String>), usize>,
    /// The merged spellings of populations.
    populations: Populations,
    /// Every population named, with the line it is first named on.
    seen: IndexMap<String, u64>,
    /// The spellings of the input that the table merged, by the name they were merged
    /// into, each once (by spelling): the `populations` table written with the questions.
    merged: IndexMap<String, Vec<String>>,
}

impl Reader<'_> {
    /// The name `given` is written with (see [`Populations::merge`]).
    fn merge(&mut self, given: &str) -> String {
        self.populations.merge(given, &mut self.merged)
    }

    /// Reads one record, the `number`th of the input.
    fn record(
        &mut self,
        record: &Record,
        number: u64,
        problems: &mut Problems,
    ) -> Result<(), Stop> {
        let (file, line) = (self.file, record.line);
        let fail = |why: String| line_error(file, line, format!("{why}; the row is left out"));
        let text = match record.text(&TEXT) {
            Ok(Some(t)) => t,
            Ok(None) if TEXT.iter().any(|t| record.fields.contains_key(*t)) => {
                return table::report(problems, fail("the question is empty".into()));
            }
            Ok(None) => {
                let d = fail("the record has no question (a `question` field)".into())
                    .help(format!("`import goqa` reads {SHAPES}"));
                return table::report(problems, d);
            }
            Err(why) => return table::report(problems, fail(why)),
        };
        let country = match record.text(&COUNTRY) {
            Ok(c) => c,
            Err(why) => return table::report(problems, fail(why)),
        };
        let source = match record.text(&["source"]) {
            Ok(Some(s)) => format!("GlobalOpinionQA (Durmus et al. 2023), {}", s.trim()),
            _ => "GlobalOpinionQA (Durmus et al. 2023)".into(),
        };
        if let Some(country) = country {
            return self.asked_of_one(record, text, country, source, number, problems);
        }
        if !record.fields.contains_key("options") || !record.fields.contains_key("selections") {
            let d = fail(
                "the record is neither a row of the data set (with `options` and `selections`) \
                 nor a question asked of one country (with a `country`)"
                    .into(),
            )
            .help(format!("`import goqa` reads {SHAPES}"));
            return table::report(problems, d);
        }
        let labels = match answer_options(py_field(record.fields.get("options"))) {
            Ok(l) => l,
            Err(why) => return table::report(problems, fail(format!("the `options` {why}"))),
        };
        let selections = match py_field(record.fields.get("selections")) {
            Ok(Py::Dict(entries)) => entries,
            Ok(v) if v.is_missing() => Vec::new(),
            Ok(v) => {
                let d = fail(format!(
                    "the `selections` are {}, not a dict of countries",
                    v.kind()
                ));
                return table::report(problems, d);
            }
            Err(why) => {
                let d = fail(format!("the `selections` cannot be read: {why}"));
                return table::report(problems, d);
            }
        };
        let id = self.id(number);
        let mut question = Question::new(id, text, source, labels);
        for (country, shares) in selections {
            let country = match country {
                Py::Str(c) if !c.trim().is_empty() => c,
                Py::Str(_) => {
                    let d =
                        question.skip(file, line, "a country in `selections` has an empty name");
                    table::report(problems, d)?;
                    continue;
                }
                other => {
                    let d = question.skip(
                        file,
                        line,
                        &format!("a country in `selections` is named by {}", other.kind()),
                    );
                    table::report(problems, d)?;
                    continue;
                }
            };
            let name = self.merge(&country);
            question.add(
                file,
                line,
                (&country, name),
                &shares,
                &mut self.seen,
                problems,
            )?;
        }
        self.questions.push(question);
        Ok(())
    }

    /// Reads a record of one question asked of one country: its question text wrapped as
    /// "Question: … Options: … Answer:" (or its `options` given apart), its shares.
    fn asked_of_one(
        &mut self,
        record: &Record,
        text: &str,
        country: &str,
        source: String,
        number: u64,
        problems: &mut Problems,
    ) -> Result<(), Stop> {
        let (file, line) = (self.file, record.line);
        let fail = |why: String| line_error(file, line, format!("{why}; the record is left out"));
        let (question_text, labels) = match unwrap_question(text) {
            Some((q, labels)) => (q, labels),
            None => match record.fields.get("options") {
                Some(v) if !matches!(v, Value::Null) => match answer_options(py_field(Some(v))) {
                    Ok(labels) => (text.trim().to_string(), labels),
                    Err(why) => {
                        return table::report(problems, fail(format!("the `options` {why}")));
                    }
                },
                _ => {
                    let d = fail(
                        "the question is not written as \"Question: … Options: A. … B. … \
                         Answer:\" and the record has no `options`"
                            .into(),
                    )
                    .help("give the options after `Options:`, each after a letter (`A.`, `(A)` or `A)`), or as an `options` list");
                    return table::report(problems, d);
                }
            },
        };
        let Some(shares) = SHARES.iter().find_map(|name| record.fields.get(*name)) else {
            let d = fail(format!(
                "it has no shares of `{country}` (a `selections` or `distribution` field)"
            ));
            return table::report(problems, d);
        };
        let shares = match py_field(Some(shares)) {
            // A dict of this one country, as the data set's `selections` hold it.
            Ok(Py::Dict(mut entries)) if entries.len() == 1 => entries.swap_remove(0).1,
            Ok(v) => v,
            Err(why) => {
                return table::report(problems, fail(format!("its shares cannot be read: {why}")));
            }
        };
        let key = (question_text, labels);
        let at = match self.asked.get(&key) {
            Some(&at) => at,
            None => {
                let id = self.id(number);
                let (question_text, labels) = key.clone();
                self.questions
                    .push(Question::new(id, &question_text, source, labels));
                self.asked.insert(key, self.questions.len() - 1);
                self.questions.len() - 1
            }
        };
        let name = self.merge(country);
        self.questions[at].add(
            file,
            line,
            (country, name),
            &shares,
            &mut self.seen,
            problems,
        )
    }

    fn id(&mut self, number: u64) -> String {
        self.ids.unique(format!(
            "{}_{:0width$}",
            self.settings.name,
            number,
            width = self.width
        ))
    }
}

impl Question {
    fn new(id: String, text: &str, source: String, labels: Vec<String>) -> Self {
        let mut option_ids = Ids::new();
        let options = labels
            .into_iter()
            .map(|label| (option_ids.unique(option_id(&label)), label))
            .collect();
        Question {
            id,
            text: text.to_string(),
            source,
            options,
            references: Vec::new(),
        }
    }

    /// The error leaving a country out of this question.
    fn skip(&self, file: &str, line: u64, why: &str) -> Diagnostic {
        line_error(
            file,
            line,
            format!("{why}; the country is left out of question `{}`", self.id),
        )
    }

    /// Adds the reference of a country, given as spelled in the input and as merged (see
    /// [`Populations`]), or reports why it cannot be used; notes the line a population is
    /// first named on in `seen`.
    fn add(
        &mut self,
        file: &str,
        line: u64,
        (given, country): (&str, String),
        shares: &Py,
        seen: &mut IndexMap<String, u64>,
        problems: &mut Problems,
    ) -> Result<(), Stop> {
        let key = country.trim().to_lowercase();
        if self
            .references
            .iter()
            .any(|(c, _)| c.trim().to_lowercase() == key)
        {
            let why = if given.trim() == country {
                format!("`{country}` is named twice in `selections`")
            } else {
                format!("`{given}` is `{country}`, which `selections` already names")
            };
            let d = self.skip(file, line, &why);
            return table::report(problems, d);
        }
        match shares_of(shares, self.options.len()) {
            Ok(mut shares) => {
                let sum: f64 = shares.iter().sum();
                if (sum - 1.0).abs() > TOLERANCE {
                    problems.warn(
                        Diagnostic::new(
                            Code::UnnormalisedDistribution,
                            format!(
                                "{} line {line}: the shares of `{given}` in question `{}` \
                                 sum to {}, not 1; they are divided by their sum",
                                super::file_name(file),
                                self.id,
                                round(sum)
                            ),
                        )
                        .path(file)
                        .help(
                            "nothing to do if the shares are percentages or rounded; otherwise look \
                             for a missing or mistyped share",
                        ),
                    );
                    for s in &mut shares {
                        *s = round(*s / sum);
                    }
                }
                seen.entry(country.clone()).or_insert(line);
                self.references.push((country, shares));
                Ok(())
            }
            Err(why) => {
                let d = self.skip(file, line, &format!("the shares of `{given}` {why}"));
                table::report(problems, d)
            }
        }
    }
}

/// The warning that two populations of the input, each with the file and line it is first
/// named on, are likely one.
pub(crate) fn same_population(
    (a, file_a, line_a): (&str, &str, u64),
    (b, file_b, line_b): (&str, &str, u64),
) -> Diagnostic {
    Diagnostic::new(
        Code::ImportLikelySamePopulation,
        format!(
            "\"{a}\" ({} line {line_a}) and \"{b}\" ({} line {line_b}) are likely one \
             population; they are kept apart",
            super::file_name(file_a),
            super::file_name(file_b),
        ),
    )
    .path(file_b)
    .help(
        "if they are one, spell them alike in the input, or make them one in the written sources \
         with a line of a `populations` table; only the spellings of the built-in table (see \
         \"Population names\" in the language reference) are merged on import",
    )
}

/// A field as a Python literal: a string is read as Python writes it (the data set's cells
/// are Python reprs), anything else is taken as the JSON it is.
fn py_field(value: Option<&Value>) -> Result<Py, String> {
    match value {
        None | Some(Value::Null) => Ok(Py::None),
        Some(Value::String(s)) => pyrepr::parse(s.trim()),
        Some(other) => Ok(json_to_py(other)),
    }
}

fn json_to_py(value: &Value) -> Py {
    match value {
        Value::Null => Py::None,
        Value::Bool(b) => Py::Bool(*b),
        Value::Number(n) => Py::Num(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Py::Str(s.clone()),
        Value::Array(items) => Py::List(items.iter().map(json_to_py).collect()),
        Value::Object(map) => Py::Dict(
            map.iter()
                .map(|(k, v)| (Py::Str(k.clone()), json_to_py(v)))
                .collect(),
        ),
    }
}

/// The question and its options out of a prompt written as "Question: … Options: A. …
/// B. … Answer:" (the markers in any case; options marked `A.`, `(A)`, `A)` or `A:`, each on
/// its own line or all on one). `None` when the text is not written so, or holds fewer than
/// two options.
pub(crate) fn unwrap_question(text: &str) -> Option<(String, Vec<String>)> {
    let lower = text.to_lowercase();
    // Lowercasing keeps byte offsets only for ASCII-only changes; bail out otherwise.
    if lower.len() != text.len() {
        return None;
    }
    let q = lower.find("question:")?;
    let after_q = q + "question:".len();
    let o = after_q + lower[after_q..].find("options:")?;
    let after_o = o + "options:".len();
    let end = lower[after_o..]
        .rfind("answer:")
        .map_or(text.len(), |a| after_o + a);
    let question = text[after_q..o].trim();
    if question.is_empty() {
        return None;
    }
    let options = split_options(&text[after_o..end])?;
    Some((question.to_string(), options))
}

/// The options of an options block: the texts after the markers `A`, `B`, `C`, … in turn,
/// all of the style of the first (`A.`, `(A)`, `A)` or `A:`). Markers at the start of a line
/// are preferred; else they are looked for anywhere after white space.
fn split_options(block: &str) -> Option<Vec<String>> {
    const STYLES: [(&str, &str); 4] = [("(", ")"), ("", "."), ("", ")"), ("", ":")];
    for line_starts in [true, false] {
        for (open, close) in STYLES {
            let mut starts: Vec<(usize, usize)> = Vec::new();
            let mut from = 0;
            for letter in 'A'..='Z' {
                let marker = format!("{open}{letter}{close}");
                let found = block[from..].match_indices(&marker).find(|&(i, _)| {
                    let at = from + i;
                    let before = block[..at].chars().next_back();
                    let after = block[at + marker.len()..].chars().next();
                    let boundary = if line_starts {
                        block[..at].trim_end_matches([' ', '\t']).is_empty()
                            || block[..at].trim_end_matches([' ', '\t']).ends_with('\n')
                    } else {
                        before.is_none_or(char::is_whitespace)
                    };
                    boundary && after.is_none_or(char::is_whitespace)
                });
                let Some((i, _)) = found else { break };
                starts.push((from + i, from + i + marker.len()));
                from = from + i + marker.len();
            }
            if starts.len() < 2 {
                continue;
            }
            let options: Vec<String> = starts
                .iter()
                .enumerate()
                .map(|(k, &(_, text_start))| {
                    let text_end = starts.get(k + 1).map_or(block.len(), |&(s, _)| s);
                    block[text_start..text_end].trim().to_string()
                })
                .collect();
            if options.iter().all(|o| !o.is_empty()) {
                return Some(options);
            }
        }
    }
    None
}

/// The answers: a list of at least two strings.
fn answer_options(parsed: Result<Py, String>) -> Result<Vec<String>, String> {
    let items = match parsed {
        Ok(Py::List(items)) => items,
        Ok(v) => return Err(format!("are {}, not a list of answers", v.kind())),
        Err(why) => return Err(format!("cannot be read: {why}")),
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.into_iter().enumerate() {
        match item {
            Py::Str(s) if !s.trim().is_empty() => out.push(s),
            Py::Str(_) => return Err(format!("hold an empty answer (answer {})", i + 1)),
            v => {
                return Err(format!(
                    "hold {} where answer {} should be",
                    v.kind(),
                    i + 1
                ));
            }
        }
    }
    if out.len() < 2 {
        return Err(format!(
            "hold {} answer{}; a question needs at least two",
            out.len(),
            if out.len() == 1 { "" } else { "s" }
        ));
    }
    Ok(out)
}

/// The shares of one country: as many finite numbers, not below 0 and not all 0, as there
/// are answers.
fn shares_of(value: &Py, answers: usize) -> Result<Vec<f64>, String> {
    let Py::List(items) = value else {
        return Err(format!("are {}, not a list of numbers", value.kind()));
    };
    if items.len() != answers {
        return Err(format!("are {} numbers for {answers} answers", items.len()));
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Py::Num(n) if n.is_finite() && *n >= 0.0 => out.push(*n),
            Py::Num(n) if n.is_nan() => return Err(format!("hold `nan` for answer {}", i + 1)),
            Py::Num(n) => return Err(format!("hold {n} for answer {}", i + 1)),
            v => return Err(format!("hold {} for answer {}", v.kind(), i + 1)),
        }
    }
    if out.iter().all(|&s| s == 0.0) {
        return Err("are all 0".into());
    }
    Ok(out)
}

/// A number rounded to six decimals, for normalised shares and messages.
fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// An option's id from its label: lowercase words joined by `_`, at most about 24
/// characters; one that would start with a digit starts with `o_`.
pub(crate) fn option_id(label: &str) -> String {
    let full = ident(label);
    if full == "value" && !label.chars().any(|c| c.is_ascii_alphanumeric()) {
        return "option".into();
    }
    let (prefix, words) = match full.strip_prefix("v_") {
        Some(rest)
            if label
                .trim_start_matches(|c: char| !c.is_ascii_alphanumeric())
                .starts_with(|c: char| c.is_ascii_digit()) =>
        {
            ("o_", rest)
        }
        _ => ("", full.as_str()),
    };
    let mut out = String::from(prefix);
    for (i, word) in words.split('_').enumerate() {
        if i > 0 && out.len() + 1 + word.len() > 24 {
            break;
        }
        if i > 0 {
            out.push('_');
        }
        out.push_str(word);
    }
    out
}

/// A share as written: the shortest text that reads back as the same number.
fn share(x: f64) -> String {
    format!("{x}")
}

fn source_text(
    file: &str,
    settings: &Settings,
    questions: &[Question],
    merged: &IndexMap<String, Vec<String>>,
) -> String {
    let mut groups = vec![format!(
        "# Generated by `quandary import goqa` from {} (GlobalOpinionQA, Durmus et al. 2023;\n\
         # CC BY-NC-SA 4.0). One question per row, with the answers of each country as a\n\
         # reference, and a suite asking each question as it is and as someone from each country.",
        super::file_name(file)
    )];
    // The spellings of the input written under another name, as a table the sources keep.
    groups.extend(populations::table(merged));
    for q in questions {
        let mut s = format!("question {} {} {{\n", q.id, quote(&q.text));
        s.push_str(&format!("  source {}\n", quote(&q.source)));
        for (id, label) in &q.options {
            s.push_str(&format!("  option {id} {}\n", quote(label)));
        }
        for (country, shares) in &q.references {
            let shares: Vec<String> = shares.iter().map(|&x| share(x)).collect();
            s.push_str(&format!(
                "  reference {} [{}]\n",
                quote(country),
                shares.join(", ")
            ));
        }
        s.push('}');
        groups.push(s);
    }
    let persona = if questions.iter().any(|q| !q.references.is_empty()) {
        format!("\n  persona {}\n", quote(&settings.persona))
    } else {
        String::new()
    };
    groups.push(format!(
        "suite {} {} {{{persona}}}",
        settings.name,
        quote("GlobalOpinionQA: each question as asked and as someone from each country"),
    ));
    let text = layout(&groups);
    crate::format::format(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(csv: &str) -> Imported {
        import_goqa(
            csv.as_bytes(),
            "goqa.csv",
            &Settings::default(),
            &Options::default(),
        )
    }

    #[test]
    fn option_ids_are_short_words() {
        assert_eq!(option_id("Very good"), "very_good");
        assert_eq!(option_id("Don't know/Refused"), "don_t_know_refused");
        assert_eq!(
            option_id("The government should take more responsibility"),
            "the_government_should"
        );
        assert_eq!(option_id("10 - Completely agree"), "o_10_completely_agree");
        assert_eq!(option_id("—"), "option");
        assert_eq!(
            option_id("Supercalifragilisticexpialidocious-and-more"),
            "supercalifragilisticexpialidocious"
        );
    }

    #[test]
    fn writes_questions_with_references_and_a_persona_suite() {
        let csv = r#"question,selections,options,source
"Is it good?","defaultdict(<class 'list'>, {'Belgium': [0.25, 0.75], ""Côte d'Ivoire"": [0.5, 0.4]})","['Yes', ""Don't know""]",GAS
"#;
        let imported = import(csv);
        let messages: Vec<&str> = imported
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert!(
            messages[0].starts_with(
                "goqa.csv line 2: the shares of `Côte d'Ivoire` in question `goqa_0001` sum to 0.9"
            ),
            "{messages:?}"
        );
        let text = &imported.files[0].1;
        assert!(text.contains("question goqa_0001 \"Is it good?\" {\n  source \"GlobalOpinionQA (Durmus et al. 2023), GAS\"\n  option yes \"Yes\"\n  option don_t_know \"Don't know\"\n  reference \"Belgium\" [0.25, 0.75]\n  reference \"Côte d'Ivoire\" [0.555556, 0.444444]\n}\n"), "{text}");
        assert!(
            text.contains("persona \"Answer as someone from {{ population }} would.\""),
            "{text}"
        );
        let loaded = crate::load_str("goqa.qd", text);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    }

    #[test]
    fn questions_are_unwrapped_from_evaluation_prompts() {
        let (q, o) = unwrap_question(
            "Question: Is it good?\nOptions:\nA. Yes\nB. No, not (A) at all\nC. Don't know\nAnswer:",
        )
        .unwrap();
        assert_eq!(q, "Is it good?");
        assert_eq!(o, ["Yes", "No, not (A) at all", "Don't know"]);
        let (q, o) =
            unwrap_question("question: Plan B? options: (A) Plan A. (B) Plan B. answer:").unwrap();
        assert_eq!(
            (q.as_str(), o),
            ("Plan B?", vec!["Plan A.".to_string(), "Plan B.".into()])
        );
        let (_, o) = unwrap_question("Question: X?\nOptions:\nA) one\nB) two\n\nAnswer:").unwrap();
        assert_eq!(o, ["one", "two"]);
        assert_eq!(
            unwrap_question("Question: X? Options: A. only Answer:"),
            None
        );
        assert_eq!(unwrap_question("Is it good? A. Yes B. No"), None);
        assert_eq!(unwrap_question("Question: Options: A. a B. b"), None);
    }

    #[test]
    fn reads_rows_as_json_lines_arrays_and_datasets_server_pages() {
        let row = r#"{"question": "Is it good?", "selections": "defaultdict(<class 'list'>, {'Belgium': [0.25, 0.75]})", "options": "['Yes', 'No']", "source": "GAS"}"#;
        let expected = "question goqa_0001 \"Is it good?\" {\n  source \"GlobalOpinionQA (Durmus et al. 2023), GAS\"\n  option yes \"Yes\"\n  option no \"No\"\n  reference \"Belgium\" [0.25, 0.75]\n}\n";
        let page = format!(
            "{{\"features\": [],\n\"rows\": [\n{{\"row_idx\": 0, \"row\": {row}, \"truncated_cells\": []}}\n]}}"
        );
        for input in [row.to_string(), format!("[\n{row}\n]"), page] {
            let imported = import(&input);
            assert!(
                imported.diagnostics.is_empty(),
                "{:?}",
                imported.diagnostics
            );
            assert!(
                imported.files[0].1.contains(expected),
                "{}",
                imported.files[0].1
            );
        }
        let broken = "{\"rows\": [\n{\"row_idx\": 0},\n1\n]}";
        let messages: Vec<String> = import(broken)
            .diagnostics
            .into_iter()
            .map(|d| d.message)
            .collect();
        assert_eq!(
            messages,
            [
                "goqa.csv line 2: the entry of `rows` has no `row` object; it is left out",
                "goqa.csv line 3: the entry of `rows` is not a JSON object; it is left out",
                "goqa.csv: holds no question that can be imported",
            ]
        );
    }

    #[test]
    fn records_of_one_country_each_make_one_question() {
        let jsonl = "{\"question\": \"Question: Is it good?\\nOptions:\\n(A) Yes\\n(B) No\\nAnswer:\", \"country\": \"Chile\", \"selections\": [0.5, 0.5]}\n\
            {\"question\": \"Question: Is it good?\\nOptions:\\n(A) Yes\\n(B) No\\nAnswer:\", \"country\": \"Peru\", \"selections\": \"[0.25, 0.75]\"}\n\
            {\"prompt\": \"Is it bad?\", \"options\": [\"Yes\", \"No\"], \"country\": \"Peru\", \"distribution\": {\"Peru\": [1, 0]}}\n\
            {\"question\": \"Is it?\", \"country\": \"Peru\", \"selections\": [1, 0]}\n\
            {\"text\": \"What?\"}\n";
        let imported = import(jsonl);
        let messages: Vec<&str> = imported
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "goqa.csv line 4: the question is not written as \"Question: … Options: A. … B. … Answer:\" and the record has no `options`; the record is left out",
                "goqa.csv line 5: the record has no question (a `question` field); the row is left out",
            ]
        );
        let text = &imported.files[0].1;
        assert!(text.contains("question goqa_0001 \"Is it good?\" {\n  source \"GlobalOpinionQA (Durmus et al. 2023)\"\n  option yes \"Yes\"\n  option no \"No\"\n  reference \"Chile\" [0.5, 0.5]\n  reference \"Peru\" [0.25, 0.75]\n}\n"), "{text}");
        assert!(text.contains("question goqa_0003 \"Is it bad?\" {\n  source \"GlobalOpinionQA (Durmus et al. 2023)\"\n  option yes \"Yes\"\n  option no \"No\"\n  reference \"Peru\" [1, 0]\n}\n"), "{text}");
    }
}
