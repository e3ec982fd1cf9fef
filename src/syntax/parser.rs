//! From text to [`ast::File`]: pest parses one top-level item at a time, so a syntax error
//! in one item still lets every other item be parsed and checked for syntax.

use pest::Parser as _;
use pest::iterators::Pair;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::suggest;
use crate::syntax::ast::{self, *};
use crate::syntax::{fast, scan};

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/quandary.pest"]
struct Grammar;

/// Words that introduce constructs and so cannot be level keywords.
pub const RESERVED: &[&str] = &[
    "framework",
    "use",
    "as",
    "map",
    "conflict",
    "prefer",
    "wiser",
    "rule",
    "profile",
    "scenario",
    "suite",
    "prompt",
    "steer",
    "constitution",
    "judge",
    "question",
    "stance",
    "source",
    "version",
    "license",
    "levels",
    "describe",
    "kind",
    "alias",
    "when",
    "in",
    "weight",
    "note",
    "upholds",
    "violates",
    "context",
    "topic",
    "slot",
    "pick",
    "from",
    "text",
    "action",
    "affects",
    "follows",
    "distractor",
    "distractors",
    "seed",
    "count",
    "each",
    "balance",
    "twins",
    "require",
    "dedupe",
    "order",
    "system",
    "user",
    "labels",
    "instruction",
    "toward",
    "away",
    "principle",
    "verdict",
    "verbatim",
    "indirectly",
    "persona",
    "pass",
    "option",
    "reference",
    "statement",
    "reversed",
    "languages",
    "show",
    "populations",
];

/// The items that are templates a suite draws from (with `from`).
const TEMPLATE_WORDS: &[&str] = &["scenario", "question", "stance"];

/// The set functions of slots and picks, which take their arguments in parentheses (the
/// resolver knows what each does).
pub const SET_FUNCTIONS: &[&str] = &[
    "children",
    "descendants",
    "level",
    "values",
    "conflicts",
    "rule_conflicts",
];

/// Words that start a top-level item (for suggestions after a syntax error, and an
/// editor's completion).
pub const ITEM_WORDS: &[&str] = &[
    "framework",
    "use",
    "map",
    "conflict",
    "prefer",
    "wiser",
    "rule",
    "profile",
    "scenario",
    "suite",
    "prompt",
    "steer",
    "constitution",
    "judge",
    "question",
    "stance",
    "populations",
];

/// Parses `text` (the contents of `file`) into a syntax tree and its syntax diagnostics.
///
/// The tree holds every item that parsed; the diagnostics say what did not.
pub fn parse(file: FileId, text: &str) -> (File, Vec<Diagnostic>) {
    let (ast, _, diagnostics) = parse_with(file, text, Mode::Fast);
    (ast, diagnostics)
}

/// A file parsed for resolving alone: every item in source order, a plain rule by where it
/// starts (read again with [`fast::read`] when it is needed) and every other item as a
/// tree, so a large framework of rules is never held as trees.
pub(crate) struct Lean {
    /// The items that are not plain rules, and every comment.
    pub file: File,
    /// Every item in source order.
    pub entries: Vec<Entry>,
}

/// An item of a [`Lean`] file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The tree at this index of [`Lean::file`]'s items.
    Item(u32),
    /// A plain rule starting at this offset.
    Plain(u32),
}

impl Lean {
    /// Every item as a tree, as [`parse`] gives them: each plain rule read again.
    #[cfg(test)]
    pub fn trees(&self, file: FileId, text: &str) -> Vec<Item> {
        let mut plain = fast::Plain::default();
        self.entries
            .iter()
            .filter_map(|e| match *e {
                Entry::Item(i) => self.file.items.get(i as usize).cloned(),
                Entry::Plain(at) => {
                    fast::rule(file, text, at as usize, &mut plain).map(|(item, _)| item)
                }
            })
            .collect()
    }
}

/// [`parse`], with each plain rule left as text: the same items and diagnostics.
pub(crate) fn parse_lean(file: FileId, text: &str) -> (Lean, Vec<Diagnostic>) {
    let (file, entries, diagnostics) = parse_with(file, text, Mode::Lean);
    (Lean { file, entries }, diagnostics)
}

/// How plain rules are read: by pest, directly into trees, or directly and left as text.
/// None of them changes the result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    #[cfg(test)]
    Pest,
    Fast,
    Lean,
}

/// [`parse`] in a [`Mode`]: the tree, the entries (in [`Mode::Lean`] only), the diagnostics.
fn parse_with(file: FileId, text: &str, mode: Mode) -> (File, Vec<Entry>, Vec<Diagnostic>) {
    let scan = scan::scan(file, text);
    let mut ast = File {
        items: Vec::new(),
        comments: scan.comments,
    };
    if !scan.diagnostics.is_empty() {
        return (ast, Vec::new(), scan.diagnostics);
    }
    let resync = scan.resync.as_slice();
    let chunks = chunks(text, resync);
    let mut diagnostics = Vec::new();
    let mut entries = Vec::new();
    let parsed: Vec<Parsed> = if chunks.len() > 1 {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .iter()
                .map(|&(from, to)| s.spawn(move || parse_range(file, text, resync, from, to, mode)))
                .collect();
            handles
                .into_iter()
                .zip(&chunks)
                .map(|(h, &(from, to))| {
                    h.join()
                        .unwrap_or_else(|_| parse_range(file, text, resync, from, to, mode))
                })
                .collect()
        })
    } else {
        chunks
            .iter()
            .map(|&(from, to)| parse_range(file, text, resync, from, to, mode))
            .collect()
    };
    // Chunks start at top-level line starts; an item may still run over one (`conflict a <>`
    // then `b` on the next line). Then the next chunk is parsed again from where that
    // item ended, so the result is exactly the sequential parse.
    let mut end = 0;
    for (part, &(from, to)) in parsed.into_iter().zip(&chunks) {
        let part = if from < end {
            parse_range(file, text, resync, end, to.max(end), mode)
        } else {
            part
        };
        end = part.end;
        let offset = ast.items.len() as u32;
        entries.extend(part.entries.into_iter().map(|e| match e {
            Entry::Item(i) => Entry::Item(i + offset),
            plain => plain,
        }));
        ast.items.extend(part.items);
        diagnostics.extend(part.diagnostics);
    }
    (ast, entries, diagnostics)
}

/// Files below this size are parsed on one thread. Above it, a thread more costs less
/// than the half of the parse it takes: `check` of the 45 KB `scenarios/everyday.qd` (and
/// the rules it uses) took 0.88× the wall time with 16 KiB as with 1 MiB (`farm-bench`,
/// 31 pairs, medians 12 and 14 ms), which every `eval` with a framework pays first.
const PARALLEL_THRESHOLD: usize = 16 << 10;

/// Splits the file into byte ranges that start at top-level line starts, one per thread.
fn chunks(text: &str, resync: &[usize]) -> Vec<(usize, usize)> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if text.len() < PARALLEL_THRESHOLD || threads < 2 {
        return vec![(0, text.len())];
    }
    let mut bounds = vec![0];
    for k in 1..threads {
        let target = text.len() * k / threads;
        let at = resync.partition_point(|&r| r < target);
        if let Some(&r) = resync.get(at)
            && r > *bounds.last().unwrap_or(&0)
        {
            bounds.push(r);
        }
    }
    bounds.push(text.len());
    bounds.windows(2).map(|w| (w[0], w[1])).collect()
}

/// The items parsed from one range of the file.
struct Parsed {
    items: Vec<Item>,
    /// In [`Mode::Lean`], every item in order (indexes into `items` local to the range).
    entries: Vec<Entry>,
    diagnostics: Vec<Diagnostic>,
    /// Where parsing stopped: at or past the range's end.
    end: usize,
}

/// Parses the items that start in `from..to` (the last may run past `to`).
fn parse_range(
    file: FileId,
    text: &str,
    resync: &[usize],
    from: usize,
    to: usize,
    mode: Mode,
) -> Parsed {
    let mut items = Vec::new();
    let mut entries = Vec::new();
    let mut diagnostics = Vec::new();
    let mut plain = fast::Plain::default();
    let mut pos = skip_trivia(text, from);
    while pos < to {
        // An imported taxonomy is mostly `value` and `map` lines: read them directly.
        let line = match mode {
            #[cfg(test)]
            Mode::Pest => None,
            _ => {
                fast::line_item(file, text, pos).filter(|&(_, end)| ends_line(line_rest(text, end)))
            }
        };
        if let Some((item, end)) = line {
            if mode == Mode::Lean {
                entries.push(Entry::Item(items.len() as u32));
            }
            items.push(item);
            pos = skip_trivia(text, end);
            continue;
        }
        // Most of a large framework is rules in their plain form: read them directly.
        if text.as_bytes()[pos..].starts_with(b"rule") {
            match mode {
                #[cfg(test)]
                Mode::Pest => {}
                Mode::Fast => {
                    if let Some((item, end)) = fast::rule(file, text, pos, &mut plain)
                        && ends_line(line_rest(text, end))
                    {
                        items.push(item);
                        pos = skip_trivia(text, end);
                        continue;
                    }
                }
                Mode::Lean => {
                    if fast::read(text, pos, &mut plain).is_some()
                        && ends_line(line_rest(text, plain.end))
                    {
                        entries.push(Entry::Plain(pos as u32));
                        pos = skip_trivia(text, plain.end);
                        continue;
                    }
                }
            }
        }
        // Parse the item within its own extent (up to the next line that starts a top-level
        // item), so the work per item does not depend on the size of the rest of the file.
        // An item may legitimately run over such a line (`conflict a <>` / `b`): then the
        // rest of the file is tried.
        let next = resync.partition_point(|&r| r <= pos);
        let bounded = resync.get(next).map_or(text.len(), |&r| r);
        // A parse that fails before the slice's last token fails there on the whole text
        // too (the slice ends at a line that starts an item, so no token is cut): only one
        // that ran to the slice's end may need the lines after it. Trying the rest of the
        // file for every error would cost the rest's length each time (pest finds an
        // error's line from the end of its input), and a file of many errors the square.
        let slice = &text[pos..bounded];
        let attempt = match Grammar::parse(Rule::item, slice) {
            Ok(pairs) if bounded == text.len() || item_complete(slice, &pairs) => Ok(pairs),
            Err(error) if error_offset(&error) < slice.trim_end().len() => Err(error),
            _ if bounded < text.len() => Grammar::parse(Rule::item, &text[pos..]),
            other => other,
        };
        match attempt {
            Ok(mut pairs) => {
                let Some(item) = pairs.next().and_then(|p| p.into_inner().next()) else {
                    break;
                };
                let end = pos + token_end(&item);
                let rest = line_rest(text, end);
                let line_end = end + rest.len();
                if ends_line(rest) {
                    let b = Builder { file, offset: pos };
                    if mode == Mode::Lean {
                        entries.push(Entry::Item(items.len() as u32));
                    }
                    items.push(b.item(item));
                    pos = skip_trivia(text, end);
                    continue;
                }
                // Something follows the item on its last line: parse the item again, this
                // time to the end of that line, to say what was expected there.
                let at = match Grammar::parse(Rule::item_line, &text[pos..line_end]) {
                    Err(error) => {
                        let at = pos + error_offset(&error);
                        diagnostics.push(syntax_error(file, text, at, &error.variant));
                        at
                    }
                    Ok(_) => {
                        let at = line_end - rest.trim_start_matches([' ', '\t', '\r']).len();
                        diagnostics.push(syntax_error(
                            file,
                            text,
                            at,
                            &pest::error::ErrorVariant::CustomError {
                                message: String::new(),
                            },
                        ));
                        at
                    }
                };
                match resync.iter().find(|&&r| r > at) {
                    Some(&next) => pos = next,
                    None => break,
                }
            }
            Err(error) => {
                let at = pos + error_offset(&error);
                diagnostics.push(syntax_error(file, text, at, &error.variant));
                match resync.iter().find(|&&r| r > at) {
                    Some(&next) => pos = next,
                    None => break,
                }
            }
        }
    }
    Parsed {
        items,
        entries,
        diagnostics,
        end: pos,
    }
}

/// The rest of the line from `at`.
fn line_rest(text: &str, at: usize) -> &str {
    let rest = &text[at..];
    rest.find('\n').map_or(rest, |n| &rest[..n])
}

/// Whether nothing but blanks and a comment follow an item on its last line.
fn ends_line(rest: &str) -> bool {
    let rest = rest.trim_start_matches([' ', '\t', '\r']);
    rest.is_empty() || rest.starts_with('#')
}

/// Whether a parse of a bounded slice stands as the item's parse: only trivia follow it in
/// the slice (otherwise the item may continue past the bound and the full parse decides).
fn item_complete(slice: &str, pairs: &pest::iterators::Pairs<'_, Rule>) -> bool {
    let Some(item) = pairs.clone().next() else {
        return false;
    };
    skip_trivia(slice, token_end(&item)) == slice.len()
}

/// Where the last token of `pair` ends. A pair's own span can run on over whitespace and
/// comments that an optional part skipped before failing.
fn token_end(pair: &Pair<'_, Rule>) -> usize {
    let mut last = pair.clone();
    while let Some(inner) = last.clone().into_inner().last() {
        last = inner;
    }
    last.as_span().end()
}

fn error_offset(error: &pest::error::Error<Rule>) -> usize {
    match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((p, _)) => p,
    }
}

/// Skips whitespace and comments from `pos`: what pest passes over between two tokens.
pub(super) fn skip_trivia(text: &str, mut pos: usize) -> usize {
    let bytes = text.as_bytes();
    while pos < bytes.len() {
        match bytes[pos] {
            b' ' | b'\t' | b'\r' | b'\n' => pos += 1,
            b'#' => {
                pos = bytes[pos..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| pos + n);
            }
            _ => break,
        }
    }
    pos
}

fn syntax_error(
    file: FileId,
    text: &str,
    at: usize,
    variant: &pest::error::ErrorVariant<Rule>,
) -> Diagnostic {
    let mut expected: Vec<&'static str> = Vec::new();
    if let pest::error::ErrorVariant::ParsingError { positives, .. } = variant {
        for r in positives {
            let name = describe(*r);
            if !expected.contains(&name) {
                expected.push(name);
            }
        }
    }
    // The end of the line reads best last: "expected `{` or the end of the line".
    expected.sort_by_key(|e| *e == "the end of the line");
    // The parser looks for what is missing past line ends and comments; the reader expects
    // to be told at the end of the line where it went missing. But where a block expected
    // its next entry (or its `}`) and found a word on a later line, that word is what is out
    // of place (`value x` inside a scenario): point at it.
    let last = last_token_end(text, at);
    let misplaced = expected.contains(&"`}`") && text[at..].starts_with(ident_start);
    let at = if text[last..at].contains('\n') && !misplaced {
        last
    } else {
        at
    };
    let (found, width) = found_at(text, at);
    // "unexpected word `x`", where the message says "found the word `x`".
    let unexpected = format!(
        "unexpected {}",
        found
            .strip_prefix("the ")
            .or_else(|| found.strip_prefix("a "))
            .unwrap_or(&found)
    );
    let message = if expected.is_empty() {
        unexpected.clone()
    } else {
        format!("expected {}, found {found}", one_of(&expected))
    };
    let label = if width == 0 {
        "the text ends here".to_string()
    } else {
        unexpected
    };
    let here = Span::new(file, at..at + width);
    // A string closed early by a quote meant to be inside it: `"Tell the "truth" always"`.
    if let Some(quote) = early_quote(text, at) {
        let word: String = text[quote + 1..]
            .chars()
            .take_while(|&c| c.is_ascii_alphanumeric() || c == '_')
            .collect();
        return Diagnostic::new(
            Code::Syntax,
            format!("a string ends early, at the `\"` before `{word}`"),
        )
        .label(
            Span::new(file, quote..quote + 1),
            "this quote ends the string",
        )
        .label(here, label)
        .help(
            "to put a `\"` inside a string, write `\\\"`; or write the text as a `\"\"\"` block, \
             where quotes need no escape",
        );
    }
    if let Some(d) = not_source(file, text, at) {
        return d;
    }
    let diagnostic = Diagnostic::new(Code::Syntax, message).label(here, label);
    if misplaced {
        let word: String = text[at..]
            .chars()
            .take_while(|&c| c.is_ascii_alphanumeric() || c == '_')
            .collect();
        if ITEM_WORDS.contains(&word.as_str()) || !RESERVED.contains(&word.as_str()) {
            // The keywords that may start an entry here come first: `scenarios` in a suite
            // is not `scenario`, an item of its own.
            let here: Vec<&str> = expected
                .iter()
                .filter_map(|e| e.strip_prefix('`')?.strip_suffix('`'))
                .collect();
            let help = match suggest::similar(&word, here.iter().copied())
                .or_else(|| suggest::similar(&word, RESERVED.iter().copied()))
            {
                Some(s) if here.contains(&"from") && TEMPLATE_WORDS.contains(&s) => {
                    let next = text[at + word.len()..]
                        .trim_start_matches([' ', '\t'])
                        .chars()
                        .take_while(|&c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
                        .collect::<String>();
                    let next = if next.is_empty() {
                        "my_template".into()
                    } else {
                        next
                    };
                    format!(
                        "a suite names the templates it draws from with `from`: `from {next}` \
                         (several: `from {next}, other`)"
                    )
                }
                Some(s) if s != word => format!("did you mean `{s}`?"),
                _ => format!(
                    "`{word}` cannot start an entry of this block; if `{word} …` is an item of \
                     its own, move it after the block's closing `}}`"
                ),
            };
            return diagnostic.help(help);
        }
    }
    diagnostic.help(syntax_help(text, at, &expected))
}

/// A file of quandary's own JSON lines (a suite, results, a report) given where framework
/// source goes, told as what it is, with the sources a suite names in its header.
fn not_source(file: FileId, text: &str, at: usize) -> Option<Diagnostic> {
    if at != skip_trivia(text, 0) || !text[at..].starts_with(['{', '[']) {
        return None;
    }
    let first = text[at..].lines().next().unwrap_or_default();
    let header = serde_json::from_str::<serde_json::Value>(first).ok();
    // A format quandary writes is a short word; anything else is not shown.
    let Some((header, format)) = header
        .as_ref()
        .filter(|h| h.get("quandary").is_some())
        .and_then(|h| Some((h, h.get("format")?.as_str()?)))
        .filter(|(_, f)| {
            f.len() <= 32 && f.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    else {
        return Some(
            Diagnostic::new(
                Code::Syntax,
                "this file begins as JSON does, not as framework source",
            )
            .label(Span::new(file, at..at + 1), "JSON, not an item")
            .help(
                "give a framework source file (`.qd`); the JSON files quandary writes (suites, \
                 results, reports) are read by the commands that take them, such as `eval` \
                 and `report`",
            ),
        );
    };
    let files: Vec<&str> = header
        .get("files")
        .and_then(|f| f.as_array())
        .map(|f| f.iter().filter_map(|f| f.as_str()).collect())
        .unwrap_or_default();
    let help = match (format, files.as_slice()) {
        ("suite", [_, ..]) => format!(
            "give the framework source this suite was expanded from: {}",
            suggest::code_list(&files)
        ),
        ("results", _) => match header.get("suite_file").and_then(|f| f.as_str()) {
            Some(suite) => format!(
                "give the framework source (`.qd`) of the suite these results answer; the \
                 suite, `{suite}`, names it in its first line"
            ),
            None => "give the framework source (`.qd`) of the suite these results answer".into(),
        },
        _ => "give a framework source file (`.qd`)".into(),
    };
    Some(
        Diagnostic::new(
            Code::Syntax,
            format!("this is a quandary {format} file (JSON lines), not framework source"),
        )
        .label(Span::new(file, at..at + 1), "a JSON line, not an item")
        .help(help),
    )
}

fn ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// On the line of an error at `at`, before it: a plain string's closing quote followed
/// directly by a letter (`"Tell the "truth`), the sign of a quote meant to be inside it.
fn early_quote(text: &str, at: usize) -> Option<usize> {
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let bytes = text.as_bytes();
    let mut in_string = false;
    let mut i = line_start;
    while i < at {
        match bytes[i] {
            b'\\' if in_string => i += 1,
            b'"' if bytes[i..].starts_with(b"\"\"\"") => return None,
            b'"' if in_string => {
                in_string = false;
                if bytes
                    .get(i + 1)
                    .is_some_and(|&b| b.is_ascii_alphanumeric() || b == b'_')
                {
                    return Some(i);
                }
            }
            b'"' => in_string = true,
            b'#' if !in_string => return None,
            _ => {}
        }
        i += 1;
    }
    None
}

/// The end of the last token before `at`, skipping back over whitespace and comments.
fn last_token_end(text: &str, at: usize) -> usize {
    let mut end = at;
    loop {
        let trimmed = text[..end].trim_end_matches([' ', '\t', '\r', '\n']).len();
        // A comment runs to the end of its line: if the line holding `trimmed` has a `#`
        // outside a string, continue from before it.
        let line_start = text[..trimmed].rfind('\n').map_or(0, |n| n + 1);
        match comment_start(&text[line_start..trimmed]) {
            Some(c) if line_start + c < trimmed => end = line_start + c,
            _ => return trimmed,
        }
    }
}

/// Where a `#` comment starts on a line, ignoring `#` inside strings.
fn comment_start(line: &str) -> Option<usize> {
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '#' if !in_string => return Some(i),
            _ => {}
        }
    }
    None
}

/// The help for a word where a relation's operator goes (`prefer a over b`,
/// `conflict a vs b`): the line as it should be written, with its own names.
fn relation_operator_help(
    text: &str,
    line_start: usize,
    at: usize,
    keyword: &str,
    word: &str,
    expected: &[&str],
) -> Option<String> {
    let (op, meaning) = match keyword {
        "prefer" => (">", "takes priority over"),
        "wiser" => (">", "is a wiser value than"),
        "conflict" => ("<>", "conflicts with"),
        _ => return None,
    };
    if word.is_empty() || !expected.contains(&format!("`{op}`").as_str()) {
        return None;
    }
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let before = text[line_start..at].trim_end();
    let left = &before[before.trim_end_matches(is_name).len()..];
    let after = text[at + word.len()..].trim_start_matches([' ', '\t']);
    let right = &after[..after.len() - after.trim_start_matches(is_name).len()];
    if left.is_empty() {
        return Some(format!("write `{op}` between the two values"));
    }
    if right.is_empty() {
        // `prefer a b`: the word is the second value, and the operator is missing.
        return Some(format!(
            "write `{op}` between the two values: `{keyword} {left} {op} {word}` ({left} \
             {meaning} {word})"
        ));
    }
    Some(format!(
        "write `{op}` in place of `{word}`: `{keyword} {left} {op} {right}` ({left} {meaning} \
         {right})"
    ))
}

/// What the user should do about a syntax error.
fn syntax_help(text: &str, at: usize, expected: &[&str]) -> String {
    // A misspelt item keyword parses as a value node and fails a little later; look at the
    // first word of the line.
    let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    let first_word: String = text[line_start..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if !first_word.is_empty()
        && !RESERVED.contains(&first_word.as_str())
        && let Some(s) = suggest::similar(&first_word, ITEM_WORDS.iter().copied())
    {
        return format!("did you mean `{s}`?");
    }
    // `priority a > b`: an unknown first word reads as a level, the next as a value's id.
    let rest = &text[at..];
    if !first_word.is_empty()
        && !RESERVED.contains(&first_word.as_str())
        && rest.starts_with(['>', '<'])
    {
        return format!(
            "`{first_word} …` reads as a value of a level `{first_word}`; a relation is \
             written `prefer a > b` (a takes priority over b), `conflict a <> b` or \
             `wiser a > b`"
        );
    }
    let word: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    // `prefer a over b`, `conflict a vs b`: a word where the relation's operator goes.
    if let Some(help) = relation_operator_help(text, line_start, at, &first_word, &word, expected) {
        return help;
    }
    // `from conflicts`: a set function without its parentheses.
    if SET_FUNCTIONS.contains(&word.as_str())
        && !text[at + word.len()..]
            .trim_start_matches([' ', '\t'])
            .starts_with('(')
    {
        return match word.as_str() {
            "conflicts" => "write `conflicts()` for every conflict between two values in \
                            scope, or `conflicts(people)` for those among the values under \
                            `people`"
                .into(),
            "rule_conflicts" => "write `rule_conflicts()` for every conflict between two \
                                 rules in scope, or `rule_conflicts(health)` for those of \
                                 the rules in a context"
                .into(),
            _ => format!("`{word}` takes its arguments in parentheses: `{word}(x)`"),
        };
    }
    if RESERVED.contains(&word.as_str())
        && text[line_start..at]
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|w| w == word)
    {
        return format!("`{word}` is given twice here; keep one");
    }
    if !word.is_empty()
        && let Some(s) = suggest::similar(&word, RESERVED.iter().copied())
        && s != word
    {
        return format!("did you mean `{s}`?");
    }
    if expected.contains(&"`}`") && expected.len() <= 2 {
        return "close the block with `}`".into();
    }
    let key = text[line_start..at]
        .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    if expected == ["a string"] && text[at..].starts_with('.') && RESERVED.contains(&key) {
        return format!(
            "`{key}` has no versions in other languages here: only a prompt's `system`, `user` \
             and `instruction`, a steer's `system` and a scenario's `text` have them"
        );
    }
    // `slot v = [honesty, care]`: a list of names where a slot's strings go.
    let before = text[line_start..at].trim_start();
    if expected == ["a string"]
        && !word.is_empty()
        && before.starts_with("slot ")
        && before.contains('[')
    {
        return "a slot over values takes a set function, not a list: `values(honesty, care)` \
                (or `children(x)`, `descendants(x)`, `level(k)`); a list holds strings in \
                double quotes"
            .into();
    }
    if expected == ["a string"] {
        return "write the text in double quotes, e.g. \"Care for others\"".into();
    }
    if expected == [describe(Rule::kw_to)] {
        return "write a scale from its lowest to its highest mark: `scale 1 to 5`".into();
    }
    if expected == ["a number"] {
        return "write a number such as `0.5`".into();
    }
    if expected == [describe(Rule::number_list)] {
        return "write one share per option, in brackets: `[0.4, 0.5, 0.1]`".into();
    }
    if expected.contains(&"a name") {
        return "names are identifiers such as `honesty`, or `ns.id` for a name from an \
                imported framework"
            .into();
    }
    "see docs/language.md for the syntax of each item".into()
}

/// A reader's description of what sits at `at`, and how many bytes it spans.
fn found_at(text: &str, at: usize) -> (String, usize) {
    let rest = &text[at.min(text.len())..];
    let Some(c) = rest.chars().next() else {
        return ("the end of the file".into(), 0);
    };
    if c.is_ascii_alphanumeric() || c == '_' || c == '-' && rest.len() > 1 {
        let word: String = rest
            .char_indices()
            .take_while(|&(i, c)| c.is_ascii_alphanumeric() || c == '_' || c == '.' || i == 0)
            .map(|(_, c)| c)
            .collect();
        let kind = if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
            "the number"
        } else {
            "the word"
        };
        return (format!("{kind} `{word}`"), word.len());
    }
    if c == '"' {
        return ("a string".into(), 1);
    }
    if c == '\n' || c == '\r' {
        return ("the end of the line".into(), 0);
    }
    (format!("`{c}`"), c.len_utf8())
}

fn one_of(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// The user's words for a grammar rule.
fn describe(r: Rule) -> &'static str {
    match r {
        Rule::ident => "a name",
        Rule::reference => "a name",
        Rule::string | Rule::plain_string | Rule::triple_string => "a string",
        Rule::number => "a number",
        Rule::lang | Rule::translation => "a translation such as `zh \"…\"`",
        Rule::kw_framework => "`framework`",
        Rule::kw_source | Rule::source_attr => "`source`",
        Rule::kw_version | Rule::version_attr => "`version`",
        Rule::kw_license | Rule::license_attr => "`license`",
        Rule::kw_levels | Rule::levels_attr => "`levels`",
        Rule::kw_describe | Rule::describe_attr => "`describe`",
        Rule::kw_kind | Rule::kind_attr => "`kind`",
        Rule::kw_alias | Rule::alias_attr => "`alias`",
        Rule::kw_use => "`use`",
        Rule::kw_as => "`as`",
        Rule::kw_map => "`map`",
        Rule::kw_conflict => "`conflict`",
        Rule::kw_prefer => "`prefer`",
        Rule::kw_wiser => "`wiser`",
        Rule::kw_when | Rule::when_clause => "`when`",
        Rule::kw_in | Rule::in_clause => "`in`",
        Rule::kw_weight | Rule::weight_attr => "`weight`",
        Rule::kw_note | Rule::note_attr => "`note`",
        Rule::kw_rule => "`rule`",
        Rule::kw_upholds | Rule::upholds_attr => "`upholds`",
        Rule::kw_violates | Rule::violates_attr => "`violates`",
        Rule::kw_context | Rule::context_attr => "`context`",
        Rule::kw_profile => "`profile`",
        Rule::context => "a context (a word or a string)",
        Rule::arrow => "`=>`",
        Rule::tension => "`<>`",
        Rule::above => "`>`",
        Rule::open => "`{`",
        Rule::close => "`}`",
        Rule::profile_entry => "a value and its weight",
        Rule::node => "a value node",
        Rule::EOI => "the end of the line",
        Rule::escape => "an escape",
        Rule::level_word => "a level keyword",
        Rule::reserved => "a keyword",
        Rule::item
        | Rule::item_line
        | Rule::file
        | Rule::framework
        | Rule::use_decl
        | Rule::map_decl
        | Rule::conflict
        | Rule::prefer
        | Rule::wiser
        | Rule::rule
        | Rule::scenario
        | Rule::suite
        | Rule::prompt
        | Rule::steer
        | Rule::constitution
        | Rule::judge
        | Rule::question
        | Rule::stance
        | Rule::profile => "an item",
        Rule::framework_body | Rule::rule_body | Rule::profile_body | Rule::node_body => "`{`",
        Rule::relation_attr => "`weight` or `note`",
        Rule::kw_scenario => "`scenario`",
        Rule::kw_topic | Rule::topic_attr => "`topic`",
        Rule::kw_slot | Rule::slot_decl => "`slot`",
        Rule::kw_pick | Rule::pick_decl => "`pick`",
        Rule::kw_from | Rule::from_attr => "`from`",
        Rule::kw_text | Rule::text_attr | Rule::text_key => "`text`",
        Rule::kw_action | Rule::action => "`action`",
        Rule::kw_affects | Rule::affects_attr => "`affects`",
        Rule::kw_follows | Rule::follows_attr => "`follows`",
        Rule::kw_distractor | Rule::distractor_flag => "`distractor`",
        Rule::kw_suite => "`suite`",
        Rule::kw_seed | Rule::seed_attr => "`seed`",
        Rule::kw_count | Rule::count_attr => "`count`",
        Rule::kw_each | Rule::each_attr => "`each`",
        Rule::kw_balance | Rule::balance_attr => "`balance`",
        Rule::kw_twins | Rule::twins_attr => "`twins`",
        Rule::kw_require | Rule::require_attr => "`require`",
        Rule::kw_dedupe | Rule::dedupe_flag => "`dedupe`",
        Rule::kw_distractors | Rule::distractors_attr => "`distractors`",
        Rule::kw_order | Rule::order_attr => "`order`",
        Rule::equals => "`=`",
        Rule::sign => "`+` or `-`",
        Rule::string_list => "a list of strings such as `[\"a\", \"b\"]`",
        Rule::set_call => "a set such as `children(value)` or `conflicts(a, b)`",
        Rule::set_arg => "a name or a string",
        Rule::namespace_all => "`ns.*`",
        Rule::party => "a party",
        Rule::scenario_body | Rule::action_body | Rule::suite_body => "`{`",
        Rule::prompt_body | Rule::steer_body | Rule::constitution_body | Rule::judge_body => "`{`",
        Rule::kw_prompt => "`prompt`",
        Rule::kw_steer => "`steer`",
        Rule::kw_constitution => "`constitution`",
        Rule::kw_system | Rule::system_attr | Rule::system_key | Rule::judge_system => "`system`",
        Rule::kw_user | Rule::user_attr | Rule::user_key | Rule::judge_user => "`user`",
        Rule::kw_labels | Rule::labels_attr => "`labels`",
        Rule::kw_instruction
        | Rule::instruction_attr
        | Rule::instruction_key
        | Rule::judge_instruction => "`instruction`",
        Rule::kw_answer | Rule::answer_attr => "`answer`",
        Rule::kw_toward | Rule::toward_attr => "`toward`",
        Rule::kw_away | Rule::away_attr => "`away`",
        Rule::kw_principle | Rule::principle_attr => "`principle`",
        Rule::kw_judge | Rule::judge_attr => "`judge`",
        Rule::kw_verdict | Rule::verdict_attr => "`verdict`",
        Rule::kw_scale => "`scale`",
        Rule::kw_to => "`to`",
        Rule::verdict_word | Rule::verdict_labels | Rule::verdict_scale => {
            "a verdict (`actions`, `stance`, `labels a, b` or `scale 1 to 5`)"
        }
        Rule::kw_verbatim | Rule::verbatim_flag => "`verbatim`",
        Rule::kw_show | Rule::show_attr => "`show`",
        Rule::kw_populations | Rule::populations | Rule::populations_body => "`populations`",
        Rule::population_aliases => {
            "a population and its spellings (`\"Czechia\" alias \"Czech Rep.\"`)"
        }
        Rule::show_mode => "how the options are drawn (`diverse` or `random`)",
        Rule::kw_indirectly | Rule::indirectly => "`indirectly`",
        Rule::action_upholds | Rule::upheld => "`upholds`",
        Rule::kw_either | Rule::action_either => "`either`",
        Rule::kw_relevance | Rule::relevance => "`relevance`",
        Rule::action_violates => "`violates`",
        Rule::kw_persona | Rule::persona_attr => "`persona`",
        Rule::kw_pass | Rule::pass_attr => "`pass`",
        Rule::kw_languages | Rule::languages_attr => "`languages`",
        Rule::kw_question | Rule::question_attr | Rule::question_key => "`question`",
        Rule::kw_option | Rule::option_decl => "`option`",
        Rule::kw_reference | Rule::reference_decl => "`reference`",
        Rule::number_list => "a list of numbers such as `[0.4, 0.6]`",
        Rule::kw_stance => "`stance`",
        Rule::kw_statement | Rule::statement_attr | Rule::statement_key => "`statement`",
        Rule::kw_reversed | Rule::reversed_attr | Rule::reversed_key => "`reversed`",
        Rule::question_body | Rule::stance_body => "`{`",
        Rule::WHITESPACE | Rule::COMMENT | Rule::ident_char | Rule::comma => "`,`",
    }
}

/// What [`Builder::block`] reads of a block item.
struct Block<A> {
    id: Ident,
    label: Option<Str>,
    attributes: Vec<A>,
    braces: Option<Braces>,
    span: Span,
}

/// Turns pest pairs into syntax nodes; `offset` is where the item's text starts in the file.
struct Builder {
    file: FileId,
    offset: usize,
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let start = pair.as_span().start();
        Span::new(
            self.file,
            self.offset + start..self.offset + token_end(pair),
        )
    }

    fn item(&self, pair: Pair<'_, Rule>) -> Item {
        match pair.as_rule() {
            Rule::framework => Item::Framework(self.framework(pair)),
            Rule::use_decl => {
                let span = self.span(&pair);
                let mut inner = pair.into_inner().skip(1);
                let path = self.string(inner.next());
                let namespace = self.ident(inner.nth(1));
                Item::Use(Use {
                    path,
                    namespace,
                    span,
                })
            }
            Rule::map_decl => {
                let span = self.span(&pair);
                let mut refs = pair
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::reference)
                    .map(|p| self.reference(p));
                let value = refs.next().unwrap_or_else(|| self.empty_reference(span));
                Item::Map(Map {
                    value,
                    targets: refs.collect(),
                    span,
                })
            }
            Rule::conflict => Item::Relation(Box::new(self.relation(RelationKind::Conflict, pair))),
            Rule::prefer => Item::Relation(Box::new(self.relation(RelationKind::Prefer, pair))),
            Rule::wiser => Item::Relation(Box::new(self.relation(RelationKind::Wiser, pair))),
            Rule::rule => Item::Rule(self.rule(pair)),
            Rule::profile => Item::Profile(self.profile(pair)),
            Rule::scenario => Item::Scenario(self.scenario(pair)),
            Rule::suite => Item::Suite(self.suite(pair)),
            Rule::prompt => Item::Prompt(self.presentation(pair)),
            Rule::steer => Item::Steer(self.presentation(pair)),
            Rule::constitution => Item::Constitution(self.presentation(pair)),
            Rule::judge => Item::Judge(self.presentation(pair)),
            Rule::question => Item::Question(self.question(pair)),
            Rule::stance => Item::Stance(self.stance(pair)),
            Rule::populations => Item::Populations(self.populations(pair)),
            _ => Item::Node(Box::new(self.node(pair))),
        }
    }

    /// The parts every block item shares — `keyword id "label"? { attribute… }` — with
    /// each attribute of the block turned into an `A` by `attribute` (or skipped).
    fn block<A>(
        &self,
        pair: Pair<'_, Rule>,
        mut attribute: impl FnMut(Pair<'_, Rule>, Span) -> Option<A>,
    ) -> Block<A> {
        let span = self.span(&pair);
        let mut id = None;
        let mut label = None;
        let mut attributes = Vec::new();
        let mut braces = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => id = Some(self.ident(Some(p))),
                Rule::string => label = Some(self.string(Some(p))),
                Rule::framework_body
                | Rule::rule_body
                | Rule::profile_body
                | Rule::action_body
                | Rule::suite_body
                | Rule::prompt_body
                | Rule::steer_body
                | Rule::constitution_body
                | Rule::judge_body
                | Rule::question_body
                | Rule::stance_body => {
                    let mut b = Braces::default();
                    for a in p.into_inner() {
                        let aspan = self.span(&a);
                        match a.as_rule() {
                            Rule::open => b.open = aspan,
                            Rule::close => b.close = aspan,
                            _ => attributes.extend(attribute(a, aspan)),
                        }
                    }
                    braces = Some(b);
                }
                _ => {}
            }
        }
        Block {
            id: id.unwrap_or_else(|| self.empty_ident(span)),
            label,
            attributes,
            braces,
            span,
        }
    }

    fn framework(&self, pair: Pair<'_, Rule>) -> Framework {
        let b = self.block(pair, |a, span| {
            Some(match a.as_rule() {
                Rule::source_attr => FrameworkAttribute::Source(self.last_string(a), span),
                Rule::version_attr => FrameworkAttribute::Version(self.last_string(a), span),
                Rule::license_attr => FrameworkAttribute::License(self.last_string(a), span),
                Rule::describe_attr => FrameworkAttribute::Describe(self.last_string(a), span),
                Rule::levels_attr => FrameworkAttribute::Levels(
                    a.into_inner()
                        .filter(|p| p.as_rule() == Rule::ident)
                        .map(|p| self.ident(Some(p)))
                        .collect(),
                    span,
                ),
                Rule::translation => FrameworkAttribute::Translation(self.translation(a)),
                _ => return None,
            })
        });
        Framework {
            id: b.id,
            label: b.label,
            attributes: b.attributes,
            braces: b.braces,
            span: b.span,
        }
    }

    fn relation(&self, kind: RelationKind, pair: Pair<'_, Rule>) -> Relation {
        let span = self.span(&pair);
        let mut refs = Vec::new();
        let mut context = None;
        let mut weight = None;
        let mut note = None;
        let mut weight_first = true;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::reference => refs.push(self.reference(p)),
                Rule::when_clause | Rule::in_clause => {
                    context = p.into_inner().nth(1).map(|c| self.context(c));
                }
                Rule::weight_attr => {
                    weight = p.into_inner().nth(1).map(|n| self.number(n));
                }
                Rule::note_attr => {
                    if weight.is_none() {
                        weight_first = false;
                    }
                    note = Some(self.last_string(p));
                }
                _ => {}
            }
        }
        let mut refs = refs.into_iter();
        let left = refs.next().unwrap_or_else(|| self.empty_reference(span));
        let right = refs.next().unwrap_or_else(|| self.empty_reference(span));
        Relation {
            kind,
            left,
            right,
            context,
            weight,
            note,
            weight_first,
            span,
        }
    }

    fn rule(&self, pair: Pair<'_, Rule>) -> ast::Rule {
        let b = self.block(pair, |a, span| {
            Some(match a.as_rule() {
                Rule::upholds_attr => RuleAttribute::Upholds(self.references(a), span),
                Rule::violates_attr => RuleAttribute::Violates(self.references(a), span),
                Rule::context_attr => RuleAttribute::Context(
                    a.into_inner()
                        .filter(|p| p.as_rule() == Rule::context)
                        .map(|c| self.context(c))
                        .collect(),
                    span,
                ),
                Rule::describe_attr => RuleAttribute::Describe(self.last_string(a), span),
                Rule::translation => RuleAttribute::Translation(self.translation(a)),
                _ => return None,
            })
        });
        ast::Rule {
            text: b.label.unwrap_or_else(|| self.empty_string(b.span)),
            id: b.id,
            attributes: b.attributes,
            braces: b.braces,
            span: b.span,
        }
    }

    fn profile(&self, pair: Pair<'_, Rule>) -> Profile {
        let b = self.block(pair, |e, span| match e.as_rule() {
            Rule::describe_attr => Some(ProfileEntry::Describe(self.last_string(e), span)),
            Rule::profile_entry => {
                let mut inner = e.into_inner();
                let (r, n) = (inner.next()?, inner.next()?);
                Some(ProfileEntry::Weight(
                    self.reference(r),
                    self.number(n),
                    span,
                ))
            }
            _ => None,
        });
        Profile {
            id: b.id,
            label: b.label,
            entries: b.attributes,
            braces: b.braces.unwrap_or_default(),
            span: b.span,
        }
    }

    fn node(&self, pair: Pair<'_, Rule>) -> Node {
        let span = self.span(&pair);
        let mut idents = Vec::new();
        let mut label = None;
        let mut entries = Vec::new();
        let mut braces = None;
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::level_word | Rule::ident => idents.push(self.ident(Some(p))),
                Rule::string => label = Some(self.string(Some(p))),
                Rule::node_body => {
                    let mut b = Braces::default();
                    for e in p.into_inner() {
                        let espan = self.span(&e);
                        match e.as_rule() {
                            Rule::open => b.open = espan,
                            Rule::close => b.close = espan,
                            Rule::describe_attr => {
                                entries.push(NodeEntry::Describe(self.last_string(e), espan))
                            }
                            Rule::kind_attr => {
                                let kind = e.into_inner().nth(1);
                                entries.push(NodeEntry::Kind(self.ident(kind), espan));
                            }
                            Rule::alias_attr => {
                                let aliases = e
                                    .into_inner()
                                    .filter(|p| p.as_rule() == Rule::string)
                                    .map(|s| self.string(Some(s)))
                                    .collect();
                                entries.push(NodeEntry::Alias(aliases, espan));
                            }
                            Rule::translation => {
                                entries.push(NodeEntry::Translation(self.translation(e)))
                            }
                            Rule::node => entries.push(NodeEntry::Child(self.node(e))),
                            _ => {}
                        }
                    }
                    braces = Some(b);
                }
                _ => {}
            }
        }
        let mut idents = idents.into_iter();
        let keyword = idents.next().unwrap_or_else(|| self.empty_ident(span));
        let id = idents.next().unwrap_or_else(|| self.empty_ident(span));
        Node {
            keyword,
            id,
            label,
            entries,
            braces,
            span,
        }
    }

    fn scenario(&self, pair: Pair<'_, Rule>) -> Scenario {
        let span = self.span(&pair);
        let mut id = None;
        let mut label = None;
        let mut entries = Vec::new();
        let mut braces = Braces::default();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => id = Some(self.ident(Some(p))),
                Rule::string => label = Some(self.string(Some(p))),
                Rule::scenario_body => {
                    for e in p.into_inner() {
                        let espan = self.span(&e);
                        match e.as_rule() {
                            Rule::open => braces.open = espan,
                            Rule::close => braces.close = espan,
                            Rule::topic_attr => {
                                if let Some(c) = e.into_inner().nth(1) {
                                    entries.push(ScenarioEntry::Topic(self.context(c), espan));
                                }
                            }
                            Rule::describe_attr => {
                                entries.push(ScenarioEntry::Describe(self.last_string(e), espan))
                            }
                            Rule::verbatim_flag => entries.push(ScenarioEntry::Verbatim(espan)),
                            Rule::show_attr => {
                                let mut count = None;
                                let mut mode = None;
                                for x in e.into_inner() {
                                    match x.as_rule() {
                                        Rule::number => count = Some(self.number(x)),
                                        Rule::show_mode => {
                                            mode = Some(Ident {
                                                name: x.as_str().to_string(),
                                                span: self.span(&x),
                                            })
                                        }
                                        _ => {}
                                    }
                                }
                                if let Some(count) = count {
                                    entries.push(ScenarioEntry::Show(count, mode, espan));
                                }
                            }
                            Rule::slot_decl => {
                                let mut inner = e.into_inner().skip(1);
                                let name = self.ident(inner.next());
                                let Some(domain) = inner.nth(1) else { continue };
                                let domain = match domain.as_rule() {
                                    Rule::string_list => {
                                        let dspan = self.span(&domain);
                                        SlotDomain::Strings(
                                            domain
                                                .into_inner()
                                                .filter(|p| p.as_rule() == Rule::string)
                                                .map(|s| self.string(Some(s)))
                                                .collect(),
                                            dspan,
                                        )
                                    }
                                    _ => SlotDomain::Call(self.set_call(domain)),
                                };
                                entries.push(ScenarioEntry::Slot(ast::Slot {
                                    name,
                                    domain,
                                    span: espan,
                                }));
                            }
                            Rule::pick_decl => {
                                let mut names = Vec::new();
                                let mut from = None;
                                for x in e.into_inner() {
                                    match x.as_rule() {
                                        Rule::ident => names.push(self.ident(Some(x))),
                                        Rule::set_call => from = Some(self.set_call(x)),
                                        _ => {}
                                    }
                                }
                                let mut names = names.into_iter();
                                let (Some(a), Some(b), Some(from)) =
                                    (names.next(), names.next(), from)
                                else {
                                    continue;
                                };
                                entries.push(ScenarioEntry::Pick(ast::Pick {
                                    names: [a, b],
                                    from,
                                    span: espan,
                                }));
                            }
                            Rule::text_attr => {
                                let mut lang = None;
                                let mut template = None;
                                for x in e.into_inner() {
                                    match x.as_rule() {
                                        Rule::text_key => {
                                            lang = x
                                                .into_inner()
                                                .find(|l| l.as_rule() == Rule::lang)
                                                .map(|l| Ident {
                                                    name: l.as_str().to_string(),
                                                    span: self.span(&l),
                                                });
                                        }
                                        Rule::string => template = Some(self.string(Some(x))),
                                        _ => {}
                                    }
                                }
                                entries.push(ScenarioEntry::Text(ast::Text {
                                    lang,
                                    template: template.unwrap_or_else(|| self.empty_string(espan)),
                                    span: espan,
                                }));
                            }
                            Rule::action => entries.push(ScenarioEntry::Action(self.action(e))),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        Scenario {
            id: id.unwrap_or_else(|| self.empty_ident(span)),
            label,
            entries,
            braces,
            span,
        }
    }

    fn set_call(&self, pair: Pair<'_, Rule>) -> SetCall {
        let span = self.span(&pair);
        let mut function = None;
        let mut args = Vec::new();
        for p in pair.into_inner() {
            match p.as_rule() {
                Rule::ident => function = Some(self.ident(Some(p))),
                Rule::set_arg => match p.into_inner().next() {
                    Some(a) if a.as_rule() == Rule::reference => {
                        args.push(SetArg::Reference(self.reference(a)))
                    }
                    Some(a) if a.as_rule() == Rule::namespace_all => {
                        // Atomic: it ends with its `*`, which is no token of its own.
                        let whole = a.as_span();
                        let span = Span::new(
                            self.file,
                            self.offset + whole.start()..self.offset + whole.end(),
                        );
                        let ns = self.ident(a.into_inner().next());
                        args.push(SetArg::Namespace(ns, span))
                    }
                    Some(a) => args.push(SetArg::Text(self.string(Some(a)))),
                    None => {}
                },
                _ => {}
            }
        }
        SetCall {
            function: function.unwrap_or_else(|| self.empty_ident(span)),
            args,
            span,
        }
    }

    fn action(&self, pair: Pair<'_, Rule>) -> Action {
        let b = self.block(pair, |a, span| {
            Some(match a.as_rule() {
                Rule::action_upholds => {
                    let mut indirect = false;
                    let mut refs = Vec::new();
                    let mut relevance = Vec::new();
                    for p in a.into_inner() {
                        match p.as_rule() {
                            Rule::indirectly => indirect = true,
                            Rule::upheld => {
                                let mut inner = p.into_inner();
                                if let Some(r) = inner.next() {
                                    refs.push(self.reference(r));
                                    relevance.push(
                                        inner
                                            .next()
                                            .and_then(|r| r.into_inner().nth(1))
                                            .map(|n| self.number(n)),
                                    );
                                }
                            }
                            _ => {}
                        }
                    }
                    if indirect {
                        ActionAttribute::UpholdsIndirectly(refs, relevance, span)
                    } else {
                        ActionAttribute::Upholds(refs, relevance, span)
                    }
                }
                Rule::action_violates => {
                    let indirect = a
                        .clone()
                        .into_inner()
                        .any(|p| p.as_rule() == Rule::indirectly);
                    let refs = self.references(a);
                    if indirect {
                        ActionAttribute::ViolatesIndirectly(refs, span)
                    } else {
                        ActionAttribute::Violates(refs, span)
                    }
                }
                Rule::action_either => ActionAttribute::Either(self.references(a), span),
                Rule::affects_attr => {
                    let indirect = a
                        .clone()
                        .into_inner()
                        .any(|p| p.as_rule() == Rule::indirectly);
                    let parties = a
                        .into_inner()
                        .filter(|p| p.as_rule() == Rule::party)
                        .map(|p| self.party(p))
                        .collect();
                    if indirect {
                        ActionAttribute::AffectsIndirectly(parties, span)
                    } else {
                        ActionAttribute::Affects(parties, span)
                    }
                }
                Rule::follows_attr => {
                    ActionAttribute::Follows(self.ident(a.into_inner().nth(1)), span)
                }
                Rule::distractor_flag => ActionAttribute::Distractor(span),
                Rule::describe_attr => ActionAttribute::Describe(self.last_string(a), span),
                Rule::translation => ActionAttribute::Translation(self.translation(a)),
                _ => return None,
            })
        });
        Action {
            id: b.id,
            label: b.label,
            attributes: b.attributes,
            braces: b.braces,
            span: b.span,
        }
    }

    fn party(&self, p: Pair<'_, Rule>) -> Party {
        let span = self.span(&p);
        let mut name = None;
        let mut sign = None;
        for x in p.into_inner() {
            match x.as_rule() {
                Rule::sign => sign = x.as_str().chars().next(),
                Rule::string => name = Some(Context::Phrase(self.string(Some(x)))),
                _ => name = Some(Context::Word(self.ident(Some(x)))),
            }
        }
        Party {
            name: name.unwrap_or_else(|| Context::Word(self.empty_ident(span))),
            sign,
            span,
        }
    }

    fn suite(&self, pair: Pair<'_, Rule>) -> ast::Suite {
        let b = self.block(pair, |a, span| {
            let kind = a.as_rule();
            Some(match kind {
                Rule::dedupe_flag => SuiteSetting::Dedupe(span),
                Rule::describe_attr => SuiteSetting::Describe(self.last_string(a), span),
                Rule::from_attr => SuiteSetting::From(self.references(a), span),
                Rule::seed_attr | Rule::count_attr | Rule::each_attr | Rule::distractors_attr => {
                    let n = self.number(a.into_inner().nth(1)?);
                    match kind {
                        Rule::seed_attr => SuiteSetting::Seed(n, span),
                        Rule::count_attr => SuiteSetting::Count(n, span),
                        Rule::each_attr => SuiteSetting::Each(n, span),
                        _ => SuiteSetting::Distractors(n, span),
                    }
                }
                Rule::persona_attr => SuiteSetting::Persona(self.last_string(a), span),
                Rule::pass_attr => {
                    let mut population = None;
                    let mut mark = None;
                    for p in a.into_inner() {
                        match p.as_rule() {
                            Rule::string => population = Some(self.string(Some(p))),
                            Rule::number => mark = Some(self.number(p)),
                            _ => {}
                        }
                    }
                    SuiteSetting::Pass(population, mark?, span)
                }
                Rule::languages_attr => SuiteSetting::Languages(
                    a.into_inner()
                        .filter(|l| l.as_rule() == Rule::lang)
                        .map(|l| Ident {
                            name: l.as_str().to_string(),
                            span: self.span(&l),
                        })
                        .collect(),
                    span,
                ),
                Rule::judge_attr => SuiteSetting::Judge(
                    self.reference(a.into_inner().find(|p| p.as_rule() == Rule::reference)?),
                    span,
                ),
                Rule::balance_attr | Rule::twins_attr | Rule::require_attr | Rule::order_attr => {
                    let word = self.ident(a.into_inner().nth(1));
                    match kind {
                        Rule::balance_attr => SuiteSetting::Balance(word, span),
                        Rule::twins_attr => SuiteSetting::Twins(word, span),
                        Rule::require_attr => SuiteSetting::Require(word, span),
                        _ => SuiteSetting::Order(word, span),
                    }
                }
                _ => return None,
            })
        });
        ast::Suite {
            id: b.id,
            label: b.label,
            settings: b.attributes,
            braces: b.braces.unwrap_or_default(),
            span: b.span,
        }
    }

    fn presentation(&self, pair: Pair<'_, Rule>) -> PresentationBlock {
        let b = self.block(pair, |a, span| {
            Some(match a.as_rule() {
                Rule::system_attr => {
                    PresentationAttribute::System(self.key_lang(&a), self.last_string(a), span)
                }
                Rule::user_attr => {
                    PresentationAttribute::User(self.key_lang(&a), self.last_string(a), span)
                }
                Rule::instruction_attr => {
                    PresentationAttribute::Instruction(self.key_lang(&a), self.last_string(a), span)
                }
                Rule::judge_system => {
                    PresentationAttribute::System(None, self.last_string(a), span)
                }
                Rule::judge_user => PresentationAttribute::User(None, self.last_string(a), span),
                Rule::judge_instruction => {
                    PresentationAttribute::Instruction(None, self.last_string(a), span)
                }
                Rule::verdict_attr => PresentationAttribute::Verdict(self.verdict(a)?, span),
                Rule::principle_attr => PresentationAttribute::Principle(self.last_string(a), span),
                Rule::source_attr => PresentationAttribute::Source(self.last_string(a), span),
                Rule::describe_attr => PresentationAttribute::Describe(self.last_string(a), span),
                Rule::labels_attr => {
                    PresentationAttribute::Labels(self.ident(a.into_inner().nth(1)), span)
                }
                Rule::answer_attr => {
                    PresentationAttribute::Answer(self.ident(a.into_inner().nth(1)), span)
                }
                Rule::toward_attr => PresentationAttribute::Toward(self.references(a), span),
                Rule::away_attr => PresentationAttribute::Away(self.references(a), span),
                _ => return None,
            })
        });
        PresentationBlock {
            id: b.id,
            label: b.label,
            attributes: b.attributes,
            braces: b.braces.unwrap_or_default(),
            span: b.span,
        }
    }

    /// A judge's `verdict …`: a kind word, a list of labels or a scale.
    fn verdict(&self, pair: Pair<'_, Rule>) -> Option<ast::Verdict> {
        let what = pair.into_inner().nth(1)?;
        Some(match what.as_rule() {
            Rule::verdict_labels => ast::Verdict::Labels(
                what.into_inner()
                    .filter(|p| p.as_rule() == Rule::ident)
                    .map(|p| self.ident(Some(p)))
                    .collect(),
            ),
            Rule::verdict_scale => {
                let mut numbers = what
                    .into_inner()
                    .filter(|p| p.as_rule() == Rule::number)
                    .map(|n| self.number(n));
                ast::Verdict::Scale(numbers.next()?, numbers.next()?)
            }
            _ => ast::Verdict::Word(self.ident(Some(what))),
        })
    }

    fn question(&self, pair: Pair<'_, Rule>) -> ast::Question {
        let b = self.block(pair, |e, span| match e.as_rule() {
            Rule::source_attr => Some(QuestionEntry::Source(self.last_string(e), span)),
            Rule::describe_attr => Some(QuestionEntry::Describe(self.last_string(e), span)),
            Rule::option_decl => {
                let mut inner = e.into_inner().skip(1);
                let id = self.ident(inner.next());
                let label = self.string(inner.next());
                let translations = inner
                    .filter(|p| p.as_rule() == Rule::translation)
                    .map(|p| self.translation(p))
                    .collect();
                Some(QuestionEntry::Option(QuestionOption {
                    id,
                    label,
                    translations,
                    span,
                }))
            }
            Rule::text_attr => Some(QuestionEntry::Text(
                self.key_lang(&e),
                self.last_string(e),
                span,
            )),
            Rule::reference_decl => {
                let mut population = None;
                let mut shares = Vec::new();
                let mut list_span = span;
                for p in e.into_inner() {
                    match p.as_rule() {
                        Rule::string => population = Some(self.string(Some(p))),
                        Rule::number_list => {
                            list_span = self.span(&p);
                            shares = p
                                .into_inner()
                                .filter(|n| n.as_rule() == Rule::number)
                                .map(|n| self.number(n))
                                .collect();
                        }
                        _ => {}
                    }
                }
                Some(QuestionEntry::Reference(ReferenceAnswers {
                    population: population.unwrap_or_else(|| self.empty_string(span)),
                    shares,
                    list_span,
                    span,
                }))
            }
            _ => None,
        });
        ast::Question {
            text: b.label.unwrap_or_else(|| self.empty_string(b.span)),
            id: b.id,
            entries: b.attributes,
            braces: b.braces,
            span: b.span,
        }
    }

    fn stance(&self, pair: Pair<'_, Rule>) -> ast::Stance {
        let b = self.block(pair, |a, span| {
            Some(match a.as_rule() {
                Rule::question_attr => {
                    StanceAttribute::Question(self.key_lang(&a), self.last_string(a), span)
                }
                Rule::statement_attr => {
                    StanceAttribute::Statement(self.key_lang(&a), self.last_string(a), span)
                }
                Rule::reversed_attr => {
                    StanceAttribute::Reversed(self.key_lang(&a), self.last_string(a), span)
                }
                Rule::source_attr => StanceAttribute::Source(self.last_string(a), span),
                Rule::describe_attr => StanceAttribute::Describe(self.last_string(a), span),
                _ => return None,
            })
        });
        ast::Stance {
            country: b.label.unwrap_or_else(|| self.empty_string(b.span)),
            id: b.id,
            attributes: b.attributes,
            braces: b.braces,
            span: b.span,
        }
    }

    fn populations(&self, pair: Pair<'_, Rule>) -> ast::Populations {
        let span = self.span(&pair);
        let mut braces = Braces::default();
        let mut entries = Vec::new();
        for p in pair.into_inner() {
            if p.as_rule() != Rule::populations_body {
                continue;
            }
            for e in p.into_inner() {
                let espan = self.span(&e);
                match e.as_rule() {
                    Rule::open => braces.open = espan,
                    Rule::close => braces.close = espan,
                    Rule::population_aliases => {
                        let mut strings = e
                            .into_inner()
                            .filter(|s| s.as_rule() == Rule::string)
                            .map(|s| self.string(Some(s)));
                        let Some(name) = strings.next() else { continue };
                        entries.push(ast::PopulationAliases {
                            name,
                            aliases: strings.collect(),
                            span: espan,
                        });
                    }
                    _ => {}
                }
            }
        }
        ast::Populations {
            entries,
            braces,
            span,
        }
    }

    fn translation(&self, pair: Pair<'_, Rule>) -> Translation {
        let span = self.span(&pair);
        let mut inner = pair.into_inner();
        let lang = inner
            .next()
            .map(|l| Ident {
                name: l.as_str().to_string(),
                span: self.span(&l),
            })
            .unwrap_or_else(|| self.empty_ident(span));
        let text = self.string(inner.next());
        Translation { lang, text, span }
    }

    fn references(&self, pair: Pair<'_, Rule>) -> Vec<Reference> {
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::reference)
            .map(|p| self.reference(p))
            .collect()
    }

    fn reference(&self, pair: Pair<'_, Rule>) -> Reference {
        let span = self.span(&pair);
        let mut parts: Vec<Ident> = pair.into_inner().map(|p| self.ident(Some(p))).collect();
        let id = parts.pop().unwrap_or_else(|| self.empty_ident(span));
        Reference {
            namespace: parts.pop(),
            id,
            span,
        }
    }

    fn context(&self, pair: Pair<'_, Rule>) -> Context {
        let span = self.span(&pair);
        match pair.into_inner().next() {
            Some(p) if p.as_rule() == Rule::string => Context::Phrase(self.string(Some(p))),
            Some(p) => Context::Word(self.ident(Some(p))),
            None => Context::Word(self.empty_ident(span)),
        }
    }

    /// The last string inside an attribute (`describe "…"` and the like).
    /// The language of a `key.lang "…"` attribute (`system.zh`), if it names one.
    fn key_lang(&self, pair: &Pair<'_, Rule>) -> Option<Ident> {
        pair.clone()
            .into_inner()
            .next()?
            .into_inner()
            .find(|l| l.as_rule() == Rule::lang)
            .map(|l| Ident {
                name: l.as_str().to_string(),
                span: self.span(&l),
            })
    }

    fn last_string(&self, pair: Pair<'_, Rule>) -> Str {
        let span = self.span(&pair);
        pair.into_inner()
            .filter(|p| p.as_rule() == Rule::string)
            .last()
            .map(|p| self.string(Some(p)))
            .unwrap_or_else(|| self.empty_string(span))
    }

    fn ident(&self, pair: Option<Pair<'_, Rule>>) -> Ident {
        match pair {
            Some(p) => Ident {
                name: p.as_str().to_string(),
                span: self.span(&p),
            },
            None => Ident {
                name: String::new(),
                span: Span::default(),
            },
        }
    }

    fn string(&self, pair: Option<Pair<'_, Rule>>) -> Str {
        let Some(p) = pair else {
            return self.empty_string(Span::default());
        };
        let raw = p.as_str();
        let value = if let Some(inner) = raw
            .strip_prefix("\"\"\"")
            .and_then(|r| r.strip_suffix("\"\"\""))
        {
            inner.to_string()
        } else {
            unescape(&raw[1..raw.len().saturating_sub(1).max(1)])
        };
        Str {
            value,
            raw: raw.to_string(),
            span: self.span(&p),
        }
    }

    fn number(&self, pair: Pair<'_, Rule>) -> Number {
        let raw = pair.as_str();
        Number {
            // The grammar only admits decimal literals, which always parse as f64.
            value: raw.parse().unwrap_or(f64::NAN),
            raw: raw.to_string(),
            span: self.span(&pair),
        }
    }

    fn empty_ident(&self, span: Span) -> Ident {
        Ident {
            name: String::new(),
            span,
        }
    }

    fn empty_string(&self, span: Span) -> Str {
        Str {
            value: String::new(),
            raw: "\"\"".into(),
            span,
        }
    }

    fn empty_reference(&self, span: Span) -> Reference {
        Reference {
            namespace: None,
            id: self.empty_ident(span),
            span,
        }
    }
}

/// Decodes the escapes of a plain string's contents (validated by the grammar).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                match u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    Some(c) => out.push(c),
                    None => out.push('\u{FFFD}'),
                }
            }
            Some(c) => out.push(c),
            None => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(text: &str) -> File {
        let (file, diagnostics) = parse(FileId(0), text);
        assert!(diagnostics.is_empty(), "{diagnostics:#?}");
        file
    }

    fn help_of(text: &str) -> Option<String> {
        let (_, diagnostics) = parse(FileId(0), text);
        diagnostics.first().and_then(|d| d.help.clone())
    }

    #[test]
    fn a_word_for_a_relations_operator_gets_the_line_written_as_it_should_be() {
        assert_eq!(
            help_of("prefer ns.a over b when work\n").as_deref(),
            Some("write `>` in place of `over`: `prefer ns.a > b` (ns.a takes priority over b)")
        );
        // Without a name after the word, the word is the second value.
        assert_eq!(
            help_of("conflict a b\n").as_deref(),
            Some("write `<>` between the two values: `conflict a <> b` (a conflicts with b)")
        );
        // A word where something other than the operator is expected keeps its own help.
        assert_eq!(
            help_of("prefer a > b weight 0.1 weight 0.2\n").as_deref(),
            Some("`weight` is given twice here; keep one")
        );
    }

    #[test]
    fn parses_either_and_relevance() {
        let file = parse_ok(
            "scenario s { text \"t\"\n  action a { upholds x relevance 0.3, ns.y  either z, w }\n  \
             action b { upholds indirectly y relevance 1 } }",
        );
        let Item::Scenario(s) = &file.items[0] else {
            panic!("not a scenario")
        };
        let actions: Vec<&Action> = s
            .entries
            .iter()
            .filter_map(|e| match e {
                ScenarioEntry::Action(a) => Some(a),
                _ => None,
            })
            .collect();
        let ActionAttribute::Upholds(refs, relevance, _) = &actions[0].attributes[0] else {
            panic!("not upholds")
        };
        let names: Vec<String> = refs.iter().map(Reference::display).collect();
        assert_eq!(names, ["x", "ns.y"]);
        let relevance: Vec<Option<&str>> = relevance
            .iter()
            .map(|r| r.as_ref().map(|n| n.raw.as_str()))
            .collect();
        assert_eq!(relevance, [Some("0.3"), None]);
        let ActionAttribute::Either(refs, _) = &actions[0].attributes[1] else {
            panic!("not either")
        };
        assert_eq!(refs.len(), 2);
        let ActionAttribute::UpholdsIndirectly(_, relevance, _) = &actions[1].attributes[0] else {
            panic!("not upholds indirectly")
        };
        assert_eq!(relevance[0].as_ref().map(|n| n.value), Some(1.0));
        // `relevance` follows a value of `upholds` only.
        let (_, diagnostics) = parse(
            FileId(0),
            "scenario s { text \"t\"  action a { violates x relevance 0.3 } }",
        );
        assert!(!diagnostics.is_empty());
    }

    #[test]
    fn parses_every_item() {
        let file = parse_ok(
            r#"
framework cvc "CVC" { levels dimension, core  source "x"  zh "中" }
use "mft.qd" as mft
map honesty => mft.fairness, virtue.truthfulness
conflict a <> b weight 0.5 note "n"
prefer a > b when family
wiser a > b in "politics" weight 3
rule r "Text \"q\"" { upholds a, mft.care  violates b  context health, "x" }
profile p "P" { a 0.9  mft.care 0.1 }
dimension nation "Nation" { zh "国家"  core prosperity { kind duty alias "Wealth", "Riches" } }
"#,
        );
        assert_eq!(file.items.len(), 9);
        let Item::Rule(rule) = &file.items[6] else {
            panic!("not a rule")
        };
        assert_eq!(rule.text.value, "Text \"q\"");
        let Item::Node(node) = &file.items[8] else {
            panic!("not a node")
        };
        assert_eq!(node.keyword.name, "dimension");
        assert!(matches!(&node.entries[1], NodeEntry::Child(c) if c.id.name == "prosperity"));
    }

    #[test]
    fn parses_a_judge_and_a_suite_naming_it() {
        let file = parse_ok(
            "judge j \"J\" {\n  system \"s\"\n  user \"u\"\n  instruction \"i\"\n  \
             verdict labels a, b\n}\njudge k { verdict scale -2 to 2 }\n\
             judge l { verdict stance }\nsuite s { judge ns.j }\n",
        );
        let Item::Judge(j) = &file.items[0] else {
            panic!("not a judge")
        };
        assert_eq!(j.label.as_ref().map(|l| l.value.as_str()), Some("J"));
        assert!(
            matches!(&j.attributes[0], PresentationAttribute::System(None, s, _) if s.value == "s")
        );
        assert!(matches!(
            &j.attributes[1],
            PresentationAttribute::User(None, _, _)
        ));
        assert!(matches!(
            &j.attributes[2],
            PresentationAttribute::Instruction(None, _, _)
        ));
        assert!(matches!(
            &j.attributes[3],
            PresentationAttribute::Verdict(ast::Verdict::Labels(l), _) if l.len() == 2
        ));
        let Item::Judge(k) = &file.items[1] else {
            panic!("not a judge")
        };
        assert!(matches!(
            &k.attributes[0],
            PresentationAttribute::Verdict(ast::Verdict::Scale(lo, hi), _)
                if lo.raw == "-2" && hi.raw == "2"
        ));
        let Item::Judge(l) = &file.items[2] else {
            panic!("not a judge")
        };
        assert!(matches!(
            &l.attributes[0],
            PresentationAttribute::Verdict(ast::Verdict::Word(w), _) if w.name == "stance"
        ));
        let Item::Suite(s) = &file.items[3] else {
            panic!("not a suite")
        };
        assert!(matches!(&s.settings[0], SuiteSetting::Judge(r, _) if r.display() == "ns.j"));
    }

    #[test]
    fn reports_each_broken_item_and_keeps_the_rest() {
        let (file, diagnostics) = parse(
            FileId(0),
            "conflict a <> b weight\nvalue ok\nprefer a b\nvalue ok2 \"x\" y\nvalue ok3\n",
        );
        let messages: Vec<_> = diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "expected a number, found the end of the line",
                "expected `>`, found the word `b`",
                "expected `{` or the end of the line, found the word `y`",
            ]
        );
        assert_eq!(file.items.len(), 2);
    }

    #[test]
    fn suggests_a_misspelt_keyword() {
        let (_, diagnostics) = parse(FileId(0), "conflcit a <> b\n");
        assert_eq!(
            diagnostics[0].help.as_deref(),
            Some("did you mean `conflict`?")
        );
    }

    /// The direct reader of plain items changes nothing: the same trees (spans included)
    /// and diagnostics as pest alone, on rules, values and maps and on thousands of seeded
    /// mutations of them.
    #[test]
    fn reading_plain_items_directly_gives_the_pest_tree() {
        let base = "rule r0 \"Act with care.\" {\n  upholds v0, ns.v1, v2\n  violates v3\n  \
                    context health, \"public office\"\n}\nrule r1 \"x\"\nrule r2 \"y\" { }\n\
                    rule r3 \"z\" { upholds a\n  zh \"中\" describe \"d\" }\n\
                    rule r4 \"w\" {upholds a,b context c}  # trailing\nvalue v0\n\
                    value v1 \"care\"\nvalue v2 \"x\" { describe \"d\" }\nvalue v3\n  \"next line\"\nvalue v4 # c\n \"l\"\n\
                    map v1 => ns.a, ns.b ,b.c\nmap v2=>x # note\nmap v3 =>\n  w.v\n";
        same_trees(base);
        let pieces = [
            " ", "\n", ",", ".", "{", "}", "\"", "#", "\\", "rule ", "upholds", "context", "a",
            "1", "\t", "\"\"\"", "value ", "map ", "=>", "=", ">", "_",
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..6000 {
            let mut text = base.to_string();
            for _ in 0..1 + next(3) {
                let mut at = next(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if next(2) == 0 {
                    text.insert_str(at, pieces[next(pieces.len())]);
                } else {
                    let mut to = (at + 1 + next(4)).min(text.len());
                    while !text.is_char_boundary(to) {
                        to += 1;
                    }
                    text.replace_range(at..to, "");
                }
            }
            same_trees(&text);
        }
    }

    /// Every framework shipped reads to the same trees with and without the direct reader.
    #[test]
    fn every_shipped_framework_reads_to_the_pest_tree() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        let mut dirs = vec![root.join("rules"), root.join("scenarios")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a shipped folder") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "qd") {
                    files.push(path);
                }
            }
        }
        assert!(files.len() > 10, "{files:?}");
        for path in files {
            same_trees(&std::fs::read_to_string(&path).expect("a shipped file"));
        }
    }

    /// The fast parse, the pest parse and the lean parse of `text` give the same trees and
    /// diagnostics.
    fn same_trees(text: &str) {
        let (fast, _, fast_errors) = parse_with(FileId(0), text, Mode::Fast);
        let (slow, _, slow_errors) = parse_with(FileId(0), text, Mode::Pest);
        assert_eq!(
            format!("{fast:?} {fast_errors:?}"),
            format!("{slow:?} {slow_errors:?}"),
            "{text:?}"
        );
        let (lean, lean_errors) = parse_lean(FileId(0), text);
        assert_eq!(
            format!("{:?}", lean.trees(FileId(0), text)),
            format!("{:?}", fast.items),
            "{text:?}"
        );
        assert_eq!(
            format!("{lean_errors:?}"),
            format!("{fast_errors:?}"),
            "{text:?}"
        );
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(r"a\nb\u{41}\\"), "a\nbA\\");
    }
}
