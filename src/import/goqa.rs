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

use std::path::PathBuf;

use super::pyrepr::{self, Py};
use super::table;
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

/// One question read from a row.
struct Question {
    id: String,
    text: String,
    source: String,
    options: Vec<(String, String)>,
    references: Vec<(String, Vec<f64>)>,
}

/// Imports a GlobalOpinionQA CSV (its bytes, named `file` in messages) as `NAME.qd`.
///
/// A row whose question is empty, or whose options or selections cannot be read, is
/// reported and left out; a country whose shares cannot be used (not numbers, `nan`, fewer
/// or more than the options, negative, all 0, a country named twice) is reported and left
/// out of its question.
pub fn import_goqa(csv: &[u8], file: &str, settings: &Settings, options: &Options) -> Imported {
    let mut problems = Problems::new(options);
    let mut table = match table::open(csv, file) {
        Ok(t) => t,
        Err(d) => {
            let _ = problems.report(d);
            return problems.stop();
        }
    };
    let mut columns = Vec::new();
    for name in ["question", "options", "selections"] {
        match table.column(name) {
            Some(c) => columns.push(c),
            None => {
                let d = file_error(
                    file,
                    format!(
                        "has no `{name}` column (its header is `{}`)",
                        table.columns.join(",")
                    ),
                )
                .help("give the data set's CSV, with the columns `question`, `options`, `selections` and `source`");
                let _ = problems.report(d);
                return problems.stop();
            }
        }
    }
    let (question_column, options_column, selections_column) = (columns[0], columns[1], columns[2]);
    let source_column = table.column("source");

    let width = table::count(csv).to_string().len().max(4);
    let mut ids = Ids::new();
    ids.unique(settings.name.clone());
    let mut questions: Vec<Question> = Vec::new();
    for row in table.by_ref() {
        let row = match row {
            Ok(r) => r,
            Err(d) => {
                if !problems.report(d) {
                    return problems.stop();
                }
                continue;
            }
        };
        let line = row.line;
        let fail = |why: String| line_error(file, line, format!("{why}; the row is left out"));
        let text = &row.fields[question_column];
        if text.trim().is_empty() {
            if !problems.report(fail("the question is empty".into())) {
                return problems.stop();
            }
            continue;
        }
        let labels = match answer_options(&row.fields[options_column]) {
            Ok(l) => l,
            Err(why) => {
                if !problems.report(fail(format!("the `options` {why}"))) {
                    return problems.stop();
                }
                continue;
            }
        };
        let selections = match pyrepr::parse(row.fields[selections_column].trim()) {
            Ok(Py::Dict(entries)) => entries,
            Ok(v) if v.is_missing() => Vec::new(),
            Ok(v) => {
                let d = fail(format!(
                    "the `selections` are {}, not a dict of countries",
                    v.kind()
                ));
                if !problems.report(d) {
                    return problems.stop();
                }
                continue;
            }
            Err(why) => {
                let d = fail(format!("the `selections` cannot be read: {why}"));
                if !problems.report(d) {
                    return problems.stop();
                }
                continue;
            }
        };
        let mut option_ids = Ids::new();
        let options: Vec<(String, String)> = labels
            .into_iter()
            .map(|label| (option_ids.unique(option_id(&label)), label))
            .collect();
        let id = ids.unique(format!("{}_{:0width$}", settings.name, row.number));
        let mut references: Vec<(String, Vec<f64>)> = Vec::new();
        for (country, shares) in selections {
            let skip = |why: String| {
                line_error(
                    file,
                    line,
                    format!("{why}; the country is left out of question `{id}`"),
                )
            };
            let country = match country {
                Py::Str(c) if !c.trim().is_empty() => c,
                Py::Str(_) => {
                    if !problems.report(skip("a country in `selections` has an empty name".into()))
                    {
                        return problems.stop();
                    }
                    continue;
                }
                other => {
                    let d = skip(format!(
                        "a country in `selections` is named by {}",
                        other.kind()
                    ));
                    if !problems.report(d) {
                        return problems.stop();
                    }
                    continue;
                }
            };
            let key = country.trim().to_lowercase();
            if references
                .iter()
                .any(|(c, _)| c.trim().to_lowercase() == key)
            {
                if !problems.report(skip(format!("`{country}` is named twice in `selections`"))) {
                    return problems.stop();
                }
                continue;
            }
            match shares_of(&shares, options.len()) {
                Ok(mut shares) => {
                    let sum: f64 = shares.iter().sum();
                    if (sum - 1.0).abs() > TOLERANCE {
                        problems.warn(
                            Diagnostic::new(
                                Code::UnnormalisedDistribution,
                                format!(
                                    "{} line {line}: the shares of `{country}` in question `{id}` \
                                     sum to {}, not 1; they are divided by their sum",
                                    super::file_name(file),
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
                    references.push((country, shares));
                }
                Err(why) => {
                    if !problems.report(skip(format!("the shares of `{country}` {why}"))) {
                        return problems.stop();
                    }
                }
            }
        }
        questions.push(Question {
            id,
            text: text.clone(),
            source: match source_column.map(|c| row.fields[c].trim()) {
                Some(s) if !s.is_empty() => format!("GlobalOpinionQA (Durmus et al. 2023), {s}"),
                _ => "GlobalOpinionQA (Durmus et al. 2023)".into(),
            },
            options,
            references,
        });
    }
    if questions.is_empty() {
        if !problems.report(file_error(file, "holds no question that can be imported")) {
            return problems.stop();
        }
        return problems.finish(Vec::new());
    }
    let text = source_text(file, settings, &questions);
    let path = format!("{}.qd", settings.name);
    let files = vec![(PathBuf::from(&path), text)];
    if let Some(d) = check_output(&files, &path) {
        let _ = problems.report(d);
        return problems.stop();
    }
    problems.finish(files)
}

/// The answers: a list of at least two strings.
fn answer_options(cell: &str) -> Result<Vec<String>, String> {
    let items = match pyrepr::parse(cell.trim()) {
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

fn source_text(file: &str, settings: &Settings, questions: &[Question]) -> String {
    let mut groups = vec![format!(
        "# Generated by `quandary import goqa` from {} (GlobalOpinionQA, Durmus et al. 2023;\n\
         # CC BY-NC-SA 4.0). One question per row, with the answers of each country as a\n\
         # reference, and a suite asking each question as it is and as someone from each country.",
        super::file_name(file)
    )];
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
}
