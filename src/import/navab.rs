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

use super::populations::{self, Merged, Populations};
use super::records::{Item, Record, items};
use super::{
    Ids, Imported, Options, Problems, check_output, file_error, layout, line_error, quote,
};

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
    // Records the data set's conflict reduction filtered out (`filter_flag` false).
    let mut filtered = 0usize;
    let populations = Populations::new();
    // The input's spellings merged into another name, for the `populations` table.
    let mut merged = Merged::new();
    // Every country named, with the file and line it is first named on.
    let mut seen: IndexMap<String, (String, u64)> = IndexMap::new();
    for input in inputs {
        for item in items(input.bytes, &input.name) {
            number += 1;
            let problem = match item {
                Item::Record(record) if filtered_out(&record) == Ok(true) => {
                    filtered += 1;
                    continue;
                }
                Item::Record(record) if filtered_out(&record).is_err() => {
                    let why = filtered_out(&record).err().unwrap_or_default();
                    line_error(&input.name, record.line, format!("{why}; the record is left out"))
                        .help("the flag is `true` for a record kept by the data set's conflict reduction, `false` for one it filtered out")
                }
                Item::Record(record) => match stance(&record, settings) {
                    Ok(mut stance) => {
                        stance.source = format!("NaVAB, {}", super::file_name(&input.name));
                        stance.country = populations.merge(&stance.country, &mut merged);
                        seen.entry(stance.country.clone())
                            .or_insert((input.name.clone(), record.line));
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
    let names: Vec<&str> = seen.keys().map(String::as_str).collect();
    for (a, b) in super::populations::likely_duplicates(&names) {
        let ((file_a, line_a), (file_b, line_b)) = (&seen[a], &seen[b]);
        problems.warn(super::goqa::same_population(
            (a, file_a, *line_a),
            (b, file_b, *line_b),
        ));
    }
    let summary = if filtered > 0 {
        vec![format!(
            "{filtered} record{} filtered out by the data set's conflict reduction (`filter_flag` false) {} skipped",
            if filtered == 1 { "" } else { "s" },
            if filtered == 1 { "was" } else { "were" }
        )]
    } else {
        Vec::new()
    };
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
        source_text(inputs, settings, &stances, &merged),
    )];
    if let Some(d) = check_output(&files, &path) {
        let _ = problems.report(d);
        return problems.stop();
    }
    let mut imported = problems.finish(files);
    imported.summary = summary;
    imported
}

/// Whether the data set's pipeline filtered the record out: its `filter_flag` (the mark of
/// NaVAB's conflict reduction) is `false` (or `"False"`, `0`). A record without the flag, or
/// with `true`, is kept; a flag of another kind is an error.
fn filtered_out(record: &Record) -> Result<bool, String> {
    match record.fields.get("filter_flag") {
        None | Some(Value::Null) | Some(Value::Bool(true)) => Ok(false),
        Some(Value::Bool(false)) => Ok(true),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Ok(true),
        Some(Value::Number(n)) if n.as_f64() == Some(1.0) => Ok(false),
        Some(Value::String(s)) => match s.trim().to_lowercase().as_str() {
            "" | "true" | "1" | "yes" => Ok(false),
            "false" | "0" | "no" => Ok(true),
            _ => Err(format!(
                "its `filter_flag` is \"{s}\", neither true nor false"
            )),
        },
        Some(other) => Err(format!(
            "its `filter_flag` is {other}, neither true nor false"
        )),
    }
}

/// The stance of a record (its id and source are filled in later), or what is wrong with
/// it and how to mend it.
fn stance(record: &Record, settings: &Settings) -> Result<Stance, (String, Option<&'static str>)> {
    let plain = |why: String| (why, None);
    let statement = record
        .text(&STATEMENT)
        .map_err(plain)?
        .ok_or_else(|| plain("it has no statement (a `statement` field)".into()))?;
    let reversed = record.text(&REVERSED).map_err(plain)?.ok_or_else(|| {
        plain(
            "it has no reversed statement (a `generated reverse statement` or `reversed` field)"
                .into(),
        )
    })?;
    let country = match record.text(&COUNTRY).map_err(plain)? {
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
    let question = record.text(&QUESTION).map_err(plain)?.map(str::to_string);
    Ok(Stance {
        id: String::new(),
        country,
        question,
        statement: statement.to_string(),
        reversed: reversed.to_string(),
        source: String::new(),
    })
}

fn source_text(
    inputs: &[Input<'_>],
    settings: &Settings,
    stances: &[Stance],
    merged: &Merged,
) -> String {
    let names: Vec<&str> = inputs.iter().map(|i| super::file_name(&i.name)).collect();
    let mut groups = vec![format!(
        "# Generated by `quandary import navab` from {} (NaVAB, Apache-2.0).\n\
         # One stance per record: a statement held in its country, its reversal and the\n\
         # question it answers; the suite asks each as a choice and as agree or disagree.",
        names.join(", ")
    )];
    // The spellings of the input written under another name, as a table the sources keep.
    groups.extend(populations::table(merged));
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

    #[test]
    fn countries_are_merged_by_the_alias_table_or_reported() {
        let jsonl = "{\"statement\": \"A.\", \"reversed\": \"Not A.\", \"country\": \"UK\"}\n\
            {\"statement\": \"B.\", \"reversed\": \"Not B.\", \"country\": \"Great Britain\"}\n\
            {\"statement\": \"C.\", \"reversed\": \"Not C.\", \"country\": \"St Lucia\"}\n\
            {\"statement\": \"D.\", \"reversed\": \"Not D.\", \"country\": \"Saint Lucia\"}\n";
        let inputs = [Input {
            name: "in/stances.jsonl".into(),
            bytes: jsonl.as_bytes(),
        }];
        let imported = import_navab(&inputs, &Settings::default(), &Options::default());
        let messages: Vec<&str> = imported
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "\"St Lucia\" (stances.jsonl line 3) and \"Saint Lucia\" (stances.jsonl line 4) are likely one population; they are kept apart"
            ]
        );
        let text = &imported.files[0].1;
        assert_eq!(text.matches("\"United Kingdom\" {").count(), 2, "{text}");
    }

    #[test]
    fn records_the_conflict_reduction_filtered_out_are_skipped_and_counted() {
        let json = "[\n{\"statement\": \"A.\", \"generated reverse statement\": \"Not A.\", \"filter_flag\": true},\n\
            {\"statement\": \"B.\", \"generated reverse statement\": \"Not B.\", \"filter_flag\": false},\n\
            {\"statement\": \"C.\", \"generated reverse statement\": \"Not C.\", \"filter_flag\": \"False\"},\n\
            {\"statement\": \"D.\", \"generated reverse statement\": \"Not D.\", \"filter_flag\": \"maybe\"},\n\
            {\"statement\": \"E.\", \"generated reverse statement\": \"Not E.\"}\n]";
        let inputs = [Input {
            name: "official.json".into(),
            bytes: json.as_bytes(),
        }];
        let settings = Settings {
            country: Some("China".into()),
            ..Settings::default()
        };
        let imported = import_navab(&inputs, &settings, &Options::default());
        let messages: Vec<&str> = imported
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect();
        assert_eq!(
            messages,
            [
                "official.json line 5: its `filter_flag` is \"maybe\", neither true nor false; the record is left out"
            ]
        );
        assert_eq!(
            imported.summary,
            [
                "2 records filtered out by the data set's conflict reduction (`filter_flag` false) were skipped"
            ]
        );
        let text = &imported.files[0].1;
        assert!(text.contains("statement \"A.\""), "{text}");
        assert!(
            text.contains("stance navab_0005 \"China\" {\n  statement \"E.\""),
            "{text}"
        );
        assert!(
            !text.contains("\"B.\"") && !text.contains("\"C.\"") && !text.contains("\"D.\""),
            "{text}"
        );
    }
}
