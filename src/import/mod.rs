//! Importers: data sets from the research literature turned into source files, and the
//! answers of a batch inference engine turned into a results journal
//! ([`openai_batch`]).
//!
//! Every importer is a pure function from the bytes of its input files to an [`Imported`]:
//! the source files to write (paths relative to an output directory, text in the canonical
//! layout) and the problems found on the way. A malformed row is reported as a
//! [`Diagnostic`] naming the file and the line, and importing goes on with the other rows,
//! unless [`Options::strict`] is set: then the importer stops at the first problem and
//! produces no files.
//!
//! The helpers here ([`ident`], [`quote`], [`Ids`], [`framework_block`], [`block`],
//! [`layout`]) are shared by the importers so that they all write the same canonical layout.

#[cfg(feature = "openai")]
pub mod batch_api;
pub mod cvc_rules;
pub mod daily_dilemmas;
pub mod mge;
pub mod openai_batch;
pub mod principles;

pub mod goqa;
pub mod navab;
pub mod populations;
mod pyrepr;
mod records;
mod table;

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};

/// What an importer produced.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Imported {
    /// The files to write: a path relative to the output directory, and the file's text.
    pub files: Vec<(PathBuf, String)>,
    /// Every problem found in the input, in the order found.
    pub diagnostics: Vec<Diagnostic>,
    /// Lines of the import's summary, such as how many records the input itself marks as
    /// left out (the command-line tool shows them after the diagnostics).
    pub summary: Vec<String>,
}

impl Imported {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// An import that failed before producing anything.
    pub fn failed(diagnostic: Diagnostic) -> Self {
        Imported {
            files: Vec::new(),
            diagnostics: vec![diagnostic],
            summary: Vec::new(),
        }
    }
}

/// Options every importer understands.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Options {
    /// Stop at the first problem and produce no files, instead of reporting each problem
    /// and importing the rest.
    pub strict: bool,
}

/// A problem at one line of an input file: `values.csv line 12: …`, about the file at
/// `path` (shown by its file name in the message).
pub fn line_error(path: &str, line: u64, message: impl fmt::Display) -> Diagnostic {
    Diagnostic::new(
        Code::ImportRow,
        format!("{} line {line}: {message}", file_name(path)),
    )
    .path(path)
}

/// A problem with a whole input file: `labels.json: …`.
pub fn file_error(path: &str, message: impl fmt::Display) -> Diagnostic {
    Diagnostic::new(Code::ImportRow, format!("{}: {message}", file_name(path))).path(path)
}

pub(crate) fn file_name(path: &str) -> &str {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or(path)
}

/// Loads the files an importer made (paths relative to the output directory) as `quandary
/// check ENTRY` would. An error among them is a fault of the importer, never of the data:
/// it comes back as one diagnostic saying so, to be reported rather than written.
pub(crate) fn check_output(files: &[(PathBuf, String)], entry: &str) -> Option<Diagnostic> {
    let mut loader = crate::MemoryLoader::new();
    for (path, text) in files {
        loader = loader.with(path, text.clone());
    }
    let loaded = crate::load::load_with(&mut loader, &[entry]);
    let first = loaded.diagnostics.iter().find(|d| d.is_error())?;
    Some(
        Diagnostic::new(
            Code::ImportRow,
            format!(
                "the file `{entry}` made from the input does not check ({}); it is not written",
                first.message
            ),
        )
        .help("this is a fault of the importer: please report it with the input"),
    )
}

/// Collects an importer's diagnostics and tells it when to stop.
#[derive(Debug)]
pub struct Problems {
    strict: bool,
    diagnostics: Vec<Diagnostic>,
}

impl Problems {
    /// No problems yet.
    pub fn new(options: &Options) -> Self {
        Problems {
            strict: options.strict,
            diagnostics: Vec::new(),
        }
    }

    /// Records a problem; says whether to go on (false under [`Options::strict`]).
    #[must_use]
    pub fn report(&mut self, diagnostic: Diagnostic) -> bool {
        self.diagnostics.push(diagnostic);
        !self.strict
    }

    /// Records a warning: the import goes on, even under [`Options::strict`].
    pub fn warn(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    /// The result: `files`, or none at all when a strict import stopped early.
    pub fn finish(self, files: Vec<(PathBuf, String)>) -> Imported {
        let files = if self.strict && self.diagnostics.iter().any(Diagnostic::is_error) {
            Vec::new()
        } else {
            files
        };
        Imported {
            files,
            diagnostics: self.diagnostics,
            summary: Vec::new(),
        }
    }

    /// Stops the import here: no files, the problems found so far.
    pub fn stop(self) -> Imported {
        Imported {
            files: Vec::new(),
            diagnostics: self.diagnostics,
            summary: Vec::new(),
        }
    }
}

/// An identifier made from a label: lowercase ASCII letters and digits, every other run of
/// characters turned into one `_`, no `_` at either end ("Self-expression" →
/// `self_expression`). An identifier cannot start with a digit, so such names get a `v_`
/// prefix; a label with no letter or digit at all becomes `value`.
pub fn ident(label: &str) -> String {
    let mut out = String::with_capacity(label.len());
    let mut gap = false;
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            gap = false;
            out.push(c.to_ascii_lowercase());
        } else {
            gap = true;
        }
    }
    if out.is_empty() {
        out.push_str("value");
    } else if out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert_str(0, "v_");
    }
    out
}

/// Hands out identifiers that are unique in one file: the first `x` is `x`, the next ones
/// `x_2`, `x_3`, … (skipping any already taken).
#[derive(Debug, Default, Clone)]
pub struct Ids {
    taken: HashSet<String>,
}

impl Ids {
    /// No identifiers taken yet.
    pub fn new() -> Self {
        Ids::default()
    }

    /// A unique identifier for `label` (see [`ident`]).
    pub fn for_label(&mut self, label: &str) -> String {
        self.unique(ident(label))
    }

    /// `base` if it is free, else the first free `base_N` with N ≥ 2.
    pub fn unique(&mut self, base: String) -> String {
        let mut id = base.clone();
        let mut n = 1u64;
        while self.taken.contains(&id) {
            n += 1;
            id = format!("{base}_{n}");
        }
        self.taken.insert(id.clone());
        id
    }
}

/// A string literal for `text`: quoted, with `"` and `\` escaped, and line breaks, tabs and
/// other control characters written as escapes.
pub fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A `framework` header in the canonical layout: `framework id "label"` and a block with
/// one `keyword "text"` entry per attribute (see [`block`]).
pub fn framework_block(id: &str, label: &str, attributes: &[(&str, &str)]) -> String {
    let entries: Vec<String> = attributes
        .iter()
        .map(|(keyword, text)| format!("{keyword} {}", quote(text)))
        .collect();
    block(&format!("framework {id} {}", quote(label)), &entries)
}

/// An item with its block in the canonical layout: `head` alone when there are no entries;
/// `head { entry }` on one line when there is a single entry that is not a comment and the
/// line fits in [`crate::format::MAX_WIDTH`] characters; else `head {`, one entry per line
/// indented by two spaces, `}`.
pub fn block<S: AsRef<str>>(head: &str, entries: &[S]) -> String {
    match entries {
        [] => head.to_string(),
        [entry] if !entry.as_ref().starts_with('#') => {
            let one_line = format!("{head} {{ {} }}", entry.as_ref());
            if one_line.chars().count() <= crate::format::MAX_WIDTH {
                one_line
            } else {
                format!("{head} {{\n  {}\n}}", entry.as_ref())
            }
        }
        _ => {
            let mut out = format!("{head} {{\n");
            for entry in entries {
                out.push_str("  ");
                out.push_str(entry.as_ref());
                out.push('\n');
            }
            out.push('}');
            out
        }
    }
}

/// Text for a comment: every run of whitespace and control characters turned into one
/// space, so that the text stays on the comment's line.
pub fn comment_text(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A JSON error's message without the position serde_json appends to it
/// (`expected value at line 1 column 5` → `expected value`).
pub fn json_message(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_string()
}

/// A whole file in the canonical layout from its groups of lines (a header comment, the
/// framework block, the `use` lines, …): one blank line between groups, empty groups left
/// out, no trailing spaces, exactly one final newline.
pub fn layout<S: AsRef<str>>(groups: &[S]) -> String {
    let mut out = String::new();
    for group in groups {
        let lines: Vec<&str> = group.as_ref().lines().map(str::trim_end).collect();
        if lines.iter().all(|l| l.is_empty()) {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        for line in lines {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_are_snake_case() {
        assert_eq!(ident("Self-expression"), "self_expression");
        assert_eq!(ident("love and belonging"), "love_and_belonging");
        assert_eq!(
            ident("respect for others' property"),
            "respect_for_others_property"
        );
        assert_eq!(
            ident("  --Righteous   Indignation!! "),
            "righteous_indignation"
        );
        assert_eq!(ident("1st place"), "v_1st_place");
        assert_eq!(ident("?!"), "value");
        assert_eq!(ident("café au lait"), "caf_au_lait");
    }

    #[test]
    fn ids_are_unique() {
        let mut ids = Ids::new();
        assert_eq!(ids.for_label("Care"), "care");
        assert_eq!(ids.for_label("care"), "care_2");
        assert_eq!(ids.for_label("care 2"), "care_2_2");
        assert_eq!(ids.for_label("CARE!"), "care_3");
    }

    #[test]
    fn strings_are_escaped() {
        assert_eq!(quote(r#"say "hi" \ bye"#), r#""say \"hi\" \\ bye""#);
        assert_eq!(quote("a\nb\u{7}"), r#""a\nb\u{7}""#);
    }

    #[test]
    fn blocks_go_on_one_line_when_they_can() {
        assert_eq!(block::<&str>("value a", &[]), "value a");
        assert_eq!(block("value a", &["kind duty"]), "value a { kind duty }");
        assert_eq!(
            block("value a", &["# why", "kind duty"]),
            "value a {\n  # why\n  kind duty\n}"
        );
        let long = format!("describe {}", quote(&"x".repeat(90)));
        assert_eq!(
            block("value a", &[long.as_str()]),
            format!("value a {{\n  {long}\n}}")
        );
        assert_eq!(comment_text(" a\n b\t\u{7}c "), "a b c");
    }

    #[test]
    fn json_messages_lose_their_position() {
        let e = serde_json::from_str::<serde_json::Value>("{\"a\": }").unwrap_err();
        assert_eq!(json_message(&e), "expected value");
    }

    #[test]
    fn layout_separates_groups_with_one_blank_line() {
        let text = layout(&["# head", "", "framework x \"X\" {\n}  ", "value a \"A\"\n"]);
        assert_eq!(text, "# head\n\nframework x \"X\" {\n}\n\nvalue a \"A\"\n");
    }

    #[test]
    fn strict_problems_stop_and_drop_files() {
        let mut p = Problems::new(&Options { strict: true });
        assert!(!p.report(line_error("dir/values.csv", 3, "bad")));
        let imported = p.finish(vec![("x.qd".into(), String::new())]);
        assert!(imported.files.is_empty());
        assert_eq!(imported.diagnostics[0].message, "values.csv line 3: bad");
        assert_eq!(
            imported.diagnostics[0].path.as_deref(),
            Some("dir/values.csv")
        );
    }
}
