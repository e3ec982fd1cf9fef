//! NaVAB, the National Values Alignment Benchmark (the Hugging Face data set
//! `JadenGGGeee/NaVAB`, Apache-2.0): statements held in a country, each with a question it
//! answers and a reversed statement, as ⟨question, statement, reversed statement⟩ triples.
//!
//! The data set's files (`China/official_statement_result.json`, …) are JSON arrays of
//! objects with the fields `statement`, `generated reverse statement` and `generated Q`
//! (and `raw_news`, `source`, …, which are not needed); the country is the folder's. So
//! [`import_navab`] reads, from each input:
//!
//! - a JSON array of objects, a JSON Lines file (one object a line), or a CSV file with a
//!   header row — told apart by the first character, `[`, `{` or anything else;
//! - in each record, the fields below, found by name ignoring case, with spaces, `-` and
//!   `_` alike (`generated reverse statement` is `generated_reverse_statement`):
//!
//! | what | field names |
//! |---|---|
//! | the statement | `statement`, `positive_statement` |
//! | its reversal | `generated_reverse_statement`, `reverse_statement`, `reversed_statement`, `reversed`, `reverse`, `negative_statement` |
//! | the question | `generated_q`, `question`, `q` (optional) |
//! | the country | `country`, `nation`, `nationality` (or [`Settings::country`] for every record without one) |
//!
//! It writes one `stance` per record, `NAME_0001` for the first record of the first input
//! (numbers go on across the inputs), and a suite asking each: the choice between the two
//! statements and agree or disagree with each.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value;

use super::table;
use super::{
    Ids, Imported, Options, Problems, check_output, file_error, ident, layout, line_error, quote,
};
use crate::diagnostic::Diagnostic;

/// The name of the file, the suite and the prefix of stance ids when none is given.
pub const DEFAULT_NAME: &str = "navab";

/// The field names of the statement, by their normalised form (see the module docs).
pub const STATEMENT: [&str; 2] = ["statement", "positive_statement"];
/// The field names of the reversed statement.
pub const REVERSED: [&str; 6] = [
    "generated_reverse_statement",
    "reverse_statement",
    "reversed_statement",
    "reversed",
    "reverse",
    "negative_statement",
];
/// The field names of the question.
pub const QUESTION: [&str; 3] = ["generated_q", "question", "q"];
/// The field names of the country.
pub const COUNTRY: [&str; 3] = ["country", "nation", "nationality"];

/// What [`import_navab`] writes, besides the inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The file is `NAME.qd`, its suite `NAME`, its stances `NAME_0001`, ….
    pub name: String,
    /// The country of every record that names none.
    pub country: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            name: DEFAULT_NAME.into(),
            country: None,
        }
    }
}

/// One input: its name in messages and its bytes.
#[derive(Clone, Debug)]
pub struct Input<'a> {
    /// The file, as shown in diagnostics.
    pub name: String,
    /// Its content.
    pub bytes: &'a [u8],
}

/// A record of an input, its fields by normalised name.
struct Record {
    line: u64,
    fields: IndexMap<String, Value>,
}

struct Stance {
    id: String,
    country: String,
    question: Option<String>,
    statement: String,
    reversed: String,
    source: String,
}

/// Imports the records of `inputs` as `NAME.qd`. A record that is not an object, or lacks a
/// statement, a reversed statement or a country (or holds one that is not text), is reported
/// with its line and left out.
pub fn import_navab(inputs: &[Input<'_>], settings: &Settings, options: &Options) -> Imported {
    let mut problems = Problems::new(options);
    // Stances with their record numbers; ids are made once the count, and so the width of
    // the numbers, is known.
    let mut found: Vec<(usize, Stance)> = Vec::new();
    let mut number = 0usize;
    for input in inputs {
        for item in items(input) {
            number += 1;
            let problem = match item {
                Item::Record(record) => match stance(&record, settings) {
                    Ok(mut stance) => {
                        stance.source = format!("NaVAB, {}", super::file_name(&input.name));
                        found.push((number, stance));
                        continue;
                    }
                    Err((why, help)) => {
                        let d = line_error(
                            &input.name,
                            record.line,
                            format!("{why}; the record is left out"),
                        );
                        match help {
                            Some(h) => d.help(h),
                            None => d,
                        }
                    }
                },
                Item::Bad(d) => d,
            };
            if !problems.report(problem) {
                return problems.stop();
            }
        }
    }
    if found.is_empty() {
        let d = match inputs {
            [one] => file_error(&one.name, "holds no stance that can be imported"),
            _ => file_error(
                inputs.first().map_or("navab", |i| i.name.as_str()),
                "the inputs hold no stance that can be imported",
            ),
        };
        let _ = problems.report(d);
        return problems.finish(Vec::new());
    }
    let width = number.to_string().len().max(4);
    let mut ids = Ids::new();
    ids.unique(settings.name.clone());
    let stances: Vec<Stance> = found
        .into_iter()
        .map(|(n, mut stance)| {
            stance.id = ids.unique(format!("{}_{n:0width$}", settings.name));
            stance
        })
        .collect();
    let path = format!("{}.qd", settings.name);
    let files = vec![(
        PathBuf::from(&path),
        source_text(inputs, settings, &stances),
    )];
    if let Some(d) = check_output(&files, &path) {
        let _ = problems.report(d);
        return problems.stop();
    }
    problems.finish(files)
}

/// The text of the first of `names` the record has: `Ok(None)` when it has none, or an
/// empty or `null` one.
fn text<'a>(record: &'a Record, names: &[&str]) -> Result<Option<&'a str>, String> {
    for name in names {
        match record.fields.get(*name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) if s.trim().is_empty() => continue,
            Some(Value::String(s)) => return Ok(Some(s)),
            Some(other) => {
                let kind = match other {
                    Value::Bool(_) => "a truth value",
                    Value::Number(_) => "a number",
                    Value::Array(_) => "a list",
                    _ => "an object",
                };
                return Err(format!("the `{name}` field is {kind}, not text"));
            }
        }
    }
    Ok(None)
}

/// The stance of a record (its id and source are filled in later), or what is wrong with
/// it and how to mend it.
fn stance(record: &Record, settings: &Settings) -> Result<Stance, (String, Option<&'static str>)> {
    let plain = |why: String| (why, None);
    let statement = text(record, &STATEMENT)
        .map_err(plain)?
        .ok_or_else(|| plain("it has no statement (a `statement` field)".into()))?;
    let reversed = text(record, &REVERSED).map_err(plain)?.ok_or_else(|| {
        plain(
            "it has no reversed statement (a `generated reverse statement` or `reversed` field)"
                .into(),
        )
    })?;
    let country = match text(record, &COUNTRY).map_err(plain)? {
        Some(c) => c.trim().to_string(),
        None => settings.country.clone().ok_or((
            "it names no country (a `country` field)".to_string(),
            Some("give --country NAME for the records that name none"),
        ))?,
    };
    if statement.trim() == reversed.trim() {
        return Err(plain(
            "its reversed statement is the statement itself".into(),
        ));
    }
    let question = text(record, &QUESTION).map_err(plain)?.map(str::to_string);
    Ok(Stance {
        id: String::new(),
        country,
        question,
        statement: statement.to_string(),
        reversed: reversed.to_string(),
        source: String::new(),
    })
}

/// A record of an input, or the diagnostic of one that cannot be read.
enum Item {
    Record(Record),
    Bad(Diagnostic),
}

/// The records of one input, in order.
fn items(input: &Input<'_>) -> Vec<Item> {
    let name = &input.name;
    let bytes = input
        .bytes
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(input.bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'[' | b'{')) {
        return csv_items(bytes, name);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![Item::Bad(
            file_error(name, "is not UTF-8 text").help("save the file as UTF-8"),
        )];
    };
    let (pieces, broken) = if first == Some(&b'[') {
        array_elements(text)
    } else {
        let lines = text
            .split('\n')
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i as u64 + 1, l))
            .collect();
        (lines, None)
    };
    let mut out: Vec<Item> = pieces
        .into_iter()
        .map(|(line, piece)| match serde_json::from_str::<Value>(piece) {
            Ok(Value::Object(map)) => Item::Record(Record {
                line,
                fields: map.into_iter().map(|(k, v)| (ident(&k), v)).collect(),
            }),
            Ok(_) => Item::Bad(line_error(
                name,
                line,
                "the record is not a JSON object; it is left out",
            )),
            Err(e) => {
                // serde's position counts from the record's start; the line is ours.
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m);
                Item::Bad(line_error(
                    name,
                    line + e.line().saturating_sub(1) as u64,
                    format!("is not valid JSON ({message}); the record is left out"),
                ))
            }
        })
        .collect();
    if let Some((line, why)) = broken {
        out.push(Item::Bad(line_error(name, line, why)));
    }
    out
}

fn csv_items(bytes: &[u8], name: &str) -> Vec<Item> {
    let table = match table::open(bytes, name) {
        Ok(t) => t,
        Err(d) => return vec![Item::Bad(d)],
    };
    let keys: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
    table
        .map(|row| match row {
            Ok(row) => Item::Record(Record {
                line: row.line,
                fields: keys
                    .iter()
                    .zip(row.fields)
                    .map(|(k, v)| (k.clone(), Value::String(v)))
                    .collect(),
            }),
            Err(d) => Item::Bad(d),
        })
        .collect()
}

/// Where a JSON array breaks, and how.
type Broken = (u64, String);

/// The elements of a JSON array, each with the line it starts on; and, when the array is
/// broken (not closed, no array at all, text after it), the line and what is wrong, after
/// the elements found before it.
fn array_elements(text: &str) -> (Vec<(u64, &str)>, Option<Broken>) {
    let bytes = text.as_bytes();
    let mut line = 1u64;
    let mut i = 0;
    let skip_space = |i: &mut usize, line: &mut u64| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            if bytes[*i] == b'\n' {
                *line += 1;
            }
            *i += 1;
        }
    };
    let mut out = Vec::new();
    skip_space(&mut i, &mut line);
    if bytes.get(i) != Some(&b'[') {
        return (out, Some((line, "is not a JSON array".into())));
    }
    i += 1;
    loop {
        skip_space(&mut i, &mut line);
        match bytes.get(i) {
            None => return (out, Some((line, "the JSON array is not closed".into()))),
            Some(b']') => {
                i += 1;
                break;
            }
            _ => {}
        }
        let start = i;
        let start_line = line;
        let mut depth = 0usize;
        let mut in_string = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\n' {
                line += 1;
            }
            if in_string {
                match b {
                    b'\\' => i += 1,
                    b'"' => in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => break,
                    _ => {}
                }
            }
            i += 1;
        }
        if i >= bytes.len() {
            return (
                out,
                Some((
                    start_line,
                    "the JSON array is not closed after this record".into(),
                )),
            );
        }
        out.push((start_line, text[start..i].trim_end()));
        if bytes[i] == b',' {
            i += 1;
        }
    }
    skip_space(&mut i, &mut line);
    if i < bytes.len() {
        return (out, Some((line, "text follows the JSON array".into())));
    }
    (out, None)
}

fn source_text(inputs: &[Input<'_>], settings: &Settings, stances: &[Stance]) -> String {
    let names: Vec<&str> = inputs.iter().map(|i| super::file_name(&i.name)).collect();
    let mut groups = vec![format!(
        "# Generated by `quandary import navab` from {} (NaVAB, Apache-2.0).\n\
         # One stance per record: a statement held in its country, its reversal and the\n\
         # question it answers; the suite asks each as a choice and as agree or disagree.",
        names.join(", ")
    )];
    for s in stances {
        let mut block = format!("stance {} {} {{\n", s.id, quote(&s.country));
        if let Some(q) = &s.question {
            block.push_str(&format!("  question {}\n", quote(q)));
        }
        block.push_str(&format!("  statement {}\n", quote(&s.statement)));
        block.push_str(&format!("  reversed {}\n", quote(&s.reversed)));
        block.push_str(&format!("  source {}\n", quote(&s.source)));
        block.push('}');
        groups.push(block);
    }
    groups.push(format!(
        "suite {} {} {{}}",
        settings.name,
        quote("NaVAB: each stance as a choice and as agree or disagree")
    ));
    let text = layout(&groups);
    crate::format::format(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_elements_know_their_lines() {
        let text = "[\n  {\"a\": \"x]\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}\n  ,\n  3\n]\n";
        let (elements, broken) = array_elements(text);
        assert_eq!(
            elements,
            [
                (2, "{\"a\": \"x]\\\"\"}"),
                (3, "{\"b\": [1, {\"c\": 2}]}"),
                (5, "3")
            ]
        );
        assert_eq!(broken, None);
        assert_eq!(array_elements("[]"), (vec![], None));
        assert_eq!(
            array_elements("[\n{\"a\": 1},\n{\"b\": "),
            (
                vec![(2, "{\"a\": 1}")],
                Some((3, "the JSON array is not closed after this record".into()))
            )
        );
        assert_eq!(
            array_elements("[1] x"),
            (
                vec![(1, "1")],
                Some((1, "text follows the JSON array".into()))
            )
        );
    }

    #[test]
    fn reads_the_data_sets_fields_and_aliases() {
        let json = "[\n  {\"raw_news\": \"…\", \"statement\": \"A.\", \"generated Q\": \"Q?\", \"generated reverse statement\": \"Not A.\"},\n  {\"Statement\": \"B.\", \"Reversed\": \"Not B.\", \"Country\": \"France\"}\n]";
        let inputs = [Input {
            name: "in/official.json".into(),
            bytes: json.as_bytes(),
        }];
        let settings = Settings {
            country: Some("China".into()),
            ..Settings::default()
        };
        let imported = import_navab(&inputs, &settings, &Options::default());
        assert!(
            imported.diagnostics.is_empty(),
            "{:?}",
            imported.diagnostics
        );
        let text = &imported.files[0].1;
        assert!(text.contains("stance navab_0001 \"China\" {\n  question \"Q?\"\n  statement \"A.\"\n  reversed \"Not A.\"\n  source \"NaVAB, official.json\"\n}\n"), "{text}");
        assert!(
            text.contains("stance navab_0002 \"France\" {\n  statement \"B.\"\n"),
            "{text}"
        );
    }
}
