//! Rendering diagnostics for people and programs. The library never prints: these
//! functions return text, and the command-line tool writes it.

use std::fmt::{self, Write as _};

use crate::diagnostic::{Diagnostic, Severity};
use crate::source::{SourceFile, SourceMap, Span};

/// How diagnostics are shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum ErrorFormat {
    /// Source excerpts with the span underlined, in colour when `color` is set.
    #[default]
    Human,
    /// The same information in plain ASCII, one diagnostic a paragraph.
    Plain,
    /// One JSON object a line.
    Json,
}

/// The width [`render`] wraps human-readable text at.
pub const WIDTH: usize = 100;

/// Renders `diagnostic` in `format`; `color` applies to [`ErrorFormat::Human`] only, which
/// wraps its text at [`WIDTH`] columns.
pub fn render(
    diagnostic: &Diagnostic,
    sources: &SourceMap,
    format: ErrorFormat,
    color: bool,
) -> String {
    render_wrapped(diagnostic, sources, format, color, Some(WIDTH))
}

/// As [`render`], with the human-readable text wrapped at `width` columns, or not at all
/// (`None`: for output read by programs, or searched, rather than read on a terminal).
pub fn render_wrapped(
    diagnostic: &Diagnostic,
    sources: &SourceMap,
    format: ErrorFormat,
    color: bool,
    width: Option<usize>,
) -> String {
    match format {
        ErrorFormat::Human => human(diagnostic, sources, color, width),
        ErrorFormat::Plain => plain(diagnostic, sources),
        ErrorFormat::Json => {
            let mut s = json(diagnostic, sources).to_string();
            s.push('\n');
            s
        }
    }
}

/// Where a span is, for people: file, 1-based line and column.
fn locate(sources: &SourceMap, span: Span) -> Option<(&SourceFile, usize, usize)> {
    let file = sources.get(span.file?);
    let (line, column) = file.line_col(span.start as usize);
    Some((file, line, column))
}

/// The diagnostic as a JSON object: code, severity, message, file, line, column, span,
/// help, and every label.
pub fn json(d: &Diagnostic, sources: &SourceMap) -> serde_json::Value {
    let label_json = |span: Span, message: &str| {
        let Some((file, line, column)) = locate(sources, span) else {
            return serde_json::json!({ "message": message });
        };
        let (end_line, end_column) = file.line_col(span.end as usize);
        serde_json::json!({
            "file": file.name(),
            "line": line,
            "column": column,
            "end_line": end_line,
            "end_column": end_column,
            "span": { "start": span.start, "end": span.end },
            "message": message,
        })
    };
    let primary = d
        .primary_span()
        .and_then(|s| locate(sources, s).map(|l| (s, l)));
    let (file, line, column, span, end) = match primary {
        Some((span, (file, line, column))) => (
            Some(file.name().to_string()),
            Some(line),
            Some(column),
            Some(serde_json::json!({ "start": span.start, "end": span.end })),
            Some(file.line_col(span.end as usize)),
        ),
        None => (d.path.clone(), None, None, None, None),
    };
    serde_json::json!({
        "code": d.code.as_str(),
        "severity": d.severity,
        "message": d.message,
        "file": file,
        "line": line,
        "column": column,
        "end_line": end.map(|e| e.0),
        "end_column": end.map(|e| e.1),
        "span": span,
        "help": d.help,
        "labels": d.labels.iter().map(|l| label_json(l.span, &l.message)).collect::<Vec<_>>(),
    })
}

/// Plain ASCII: `file:line:col: error[Q0101]: message`, the source line, a caret
/// underline, and the help. Control characters from the input are shown escaped, and a
/// long line is shown as a window around the label.
pub fn plain(d: &Diagnostic, sources: &SourceMap) -> String {
    let mut out = String::new();
    let head = match d.primary_span().and_then(|s| locate(sources, s)) {
        Some((file, line, column)) => format!("{}:{line}:{column}: ", visible(file.name())),
        None => d
            .path
            .as_ref()
            .map(|p| format!("{}: ", visible(p)))
            .unwrap_or_default(),
    };
    let _ = writeln!(
        out,
        "{head}{}[{}]: {}",
        d.severity,
        d.code,
        visible(&d.message)
    );
    for label in &d.labels {
        let Some((file, line, column)) = locate(sources, label.span) else {
            continue;
        };
        let text = file.line_text(line);
        let start = floor_boundary(file.text(), label.span.start as usize);
        let line_start = start - text_before(file.text(), start).len();
        let (end_line, _) = file.line_col(label.span.end as usize);
        let end = if end_line == line {
            floor_boundary(file.text(), label.span.end as usize).max(start)
        } else {
            line_start + text.len()
        };
        let (shown, pad, width) = excerpt(text, start - line_start, end - line_start);
        let gutter = line.to_string().len();
        if label.span.file != d.primary_span().and_then(|s| s.file) {
            let _ = writeln!(
                out,
                "{:gutter$}--> {}:{line}:{column}",
                "",
                visible(file.name())
            );
        }
        let _ = writeln!(out, "{line} | {shown}");
        let _ = writeln!(
            out,
            "{:gutter$} | {}{} {}",
            "",
            " ".repeat(pad),
            "^".repeat(width.max(1)),
            visible(&label.message),
        );
    }
    if let Some(help) = &d.help {
        let _ = writeln!(out, "  help: {}", visible(help));
    }
    out
}

/// The longest source line (in bytes) shown whole; a longer one is shown as a window around
/// the label.
const WHOLE_LINE: usize = 240;

/// The most characters of a source line shown before, inside and after a label.
const WINDOW_BEFORE: usize = 60;
const WINDOW_INSIDE: usize = 100;
const WINDOW_AFTER: usize = 40;

/// What to show of `line` for a label over its bytes `start..end`: the text (escaped,
/// and cut to a window marked with `...` when long), the display width before the label and
/// the label's width, so carets sit under wide (CJK) characters.
fn excerpt(line: &str, start: usize, end: usize) -> (String, usize, usize) {
    let start = floor_boundary(line, start);
    let mut end = floor_boundary(line, end).max(start);
    // An empty label sits under the character it stands before.
    if end == start {
        end = line[start..]
            .chars()
            .next()
            .map_or(start, |c| start + c.len_utf8());
    }
    if line.len() <= WHOLE_LINE {
        let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
        let (before, covered) = (visible(&line[..start]), visible(&line[start..end]));
        return (visible(line).into_owned(), width(&before), width(&covered));
    }
    let from = line[..start]
        .char_indices()
        .rev()
        .take(WINDOW_BEFORE)
        .last()
        .map_or(start, |(i, _)| i);
    let inside_end = line[start..end]
        .char_indices()
        .nth(WINDOW_INSIDE)
        .map_or(end, |(i, _)| start + i);
    let to = if inside_end < end {
        inside_end
    } else {
        line[end..]
            .char_indices()
            .nth(WINDOW_AFTER)
            .map_or(line.len(), |(i, _)| end + i)
    };
    let lead = if from > 0 { "..." } else { "" };
    let tail = if to < line.len() { "..." } else { "" };
    let before = visible(&line[from..start]);
    let covered = visible(&line[start..inside_end]);
    let after = visible(&line[inside_end..to]);
    let width = |s: &str| unicode_width::UnicodeWidthStr::width(s);
    (
        format!("{lead}{before}{covered}{after}{tail}"),
        width(lead) + width(&before),
        width(&covered),
    )
}

/// `at`, or the start of the character it falls inside.
fn floor_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Whether `c` must not reach a terminal as it is: control characters (which can move
/// the cursor or change colours), line and paragraph separators, and the bidirectional
/// controls that can make text read differently from what it is.
fn is_hidden(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `text` with every character that must not reach a terminal written as `\u{…}`.
pub fn visible(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(is_hidden) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_hidden(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The part of `text`'s line that lies before byte `at`.
fn text_before(text: &str, at: usize) -> &str {
    let at = floor_boundary(text, at);
    let start = text[..at].rfind('\n').map_or(0, |n| n + 1);
    &text[start..at]
}

/// The longest source line miette is given: past it, or where a labelled line holds a
/// character that must not reach a terminal, the plain rendering (which shows a window
/// of the line, escaped) serves instead.
#[cfg(feature = "cli")]
const HUMAN_MAX_LINE: usize = 400;

/// The most labels the graphical renderer is given.
#[cfg(feature = "cli")]
const HUMAN_MAX_LABELS: usize = 32;

/// Whether the graphical renderer can show every labelled line of `d` as it is.
#[cfg(feature = "cli")]
fn human_can_show(d: &Diagnostic, sources: &SourceMap) -> bool {
    // The graphical renderer's time grows with the square of the labels.
    d.labels.len() <= HUMAN_MAX_LABELS
        && d.labels.iter().all(|l| {
            let Some((file, line, _)) = locate(sources, l.span) else {
                return true;
            };
            let (end_line, _) = file.line_col(l.span.end as usize);
            (line..=end_line).all(|n| {
                let text = file.line_text(n);
                text.len() <= HUMAN_MAX_LINE && !text.chars().any(is_hidden)
            })
        })
        && !d.message.chars().any(is_hidden)
        && !d.help.as_deref().is_some_and(|h| h.chars().any(is_hidden))
        && !d.labels.iter().any(|l| l.message.chars().any(is_hidden))
}

/// The width given to miette for text that is not to be wrapped.
#[cfg(feature = "cli")]
const UNWRAPPED: usize = 1 << 16;

/// Graphical output through miette, with every label shown against its file.
#[cfg(feature = "cli")]
pub fn human(d: &Diagnostic, sources: &SourceMap, color: bool, width: Option<usize>) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme)
        // Unwrapped is as wide as a message can be.
        .with_width(width.unwrap_or(UNWRAPPED))
        .with_links(false);
    if !human_can_show(d, sources) {
        return plain(d, sources);
    }
    let view = MietteView::new(d, sources);
    let mut out = String::new();
    if handler.render_report(&mut out, &view).is_err() {
        return plain(d, sources);
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// Without the `cli` feature there is no graphical renderer: plain text serves.
#[cfg(not(feature = "cli"))]
pub fn human(d: &Diagnostic, sources: &SourceMap, _color: bool, _width: Option<usize>) -> String {
    plain(d, sources)
}

/// A diagnostic seen through miette's eyes: labels in the primary file are shown there,
/// labels in other files become related reports on those files.
pub struct MietteView<'a> {
    diagnostic: &'a Diagnostic,
    file: Option<FileSource<'a>>,
    labels: Vec<(Span, &'a str)>,
    related: Vec<MietteView<'a>>,
    message: Option<&'a str>,
}

impl<'a> MietteView<'a> {
    /// Wraps `diagnostic` with the sources it points into.
    pub fn new(diagnostic: &'a Diagnostic, sources: &'a SourceMap) -> Self {
        let primary_file = diagnostic.primary_span().and_then(|s| s.file);
        let mut labels = Vec::new();
        let mut related = Vec::new();
        for l in &diagnostic.labels {
            if l.span.file == primary_file {
                labels.push((l.span, l.message.as_str()));
            } else if let Some(f) = l.span.file {
                related.push(MietteView {
                    diagnostic,
                    file: Some(FileSource(sources.get(f))),
                    labels: vec![(l.span, l.message.as_str())],
                    related: Vec::new(),
                    message: Some(if l.message.is_empty() {
                        "related"
                    } else {
                        l.message.as_str()
                    }),
                });
            }
        }
        MietteView {
            diagnostic,
            file: primary_file.map(|f| FileSource(sources.get(f))),
            labels,
            related,
            message: None,
        }
    }
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MietteView")
            .field("diagnostic", self.diagnostic)
            .finish()
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.message {
            Some(m) => f.write_str(m),
            None => match (&self.file, &self.diagnostic.path) {
                (None, Some(path)) => write!(f, "{path}: {}", self.diagnostic.message),
                _ => f.write_str(&self.diagnostic.message),
            },
        }
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.message
            .is_none()
            .then(|| Box::new(self.diagnostic.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            _ if self.message.is_some() => miette::Severity::Advice,
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        if self.message.is_some() {
            return None;
        }
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.file.as_ref().map(|f| f as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        if self.labels.is_empty() {
            return None;
        }
        Some(Box::new(self.labels.iter().enumerate().map(
            |(i, (span, m))| {
                let text = (!m.is_empty()).then(|| m.to_string());
                let range = span.range();
                if i == 0 {
                    miette::LabeledSpan::new_primary_with_span(text, range)
                } else {
                    miette::LabeledSpan::new_with_span(text, range)
                }
            },
        )))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(
            self.related.iter().map(|r| r as &dyn miette::Diagnostic),
        ))
    }
}

/// A source file as miette reads it, named so excerpts show the file.
struct FileSource<'a>(&'a SourceFile);

impl miette::SourceCode for FileSource<'_> {
    fn read_span<'b>(
        &'b self,
        span: &miette::SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'b> + 'b>, miette::MietteError> {
        let text = self.0.text();
        // Read from the lines the excerpt needs: miette counts lines from the start of what
        // it is given, and a file of many diagnostics would cost its length for each.
        let (from, to, lines_before) = if span.offset() <= text.len() {
            self.0.excerpt_window(
                span.offset(),
                span.offset() + span.len(),
                context_lines_before,
                context_lines_after,
            )
        } else {
            (0, text.len(), 0)
        };
        let local = miette::SourceSpan::new((span.offset() - from).into(), span.len());
        let contents =
            text[from..to].read_span(&local, context_lines_before, context_lines_after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.0.name().to_string(),
            contents.data(),
            miette::SourceSpan::new(
                (contents.span().offset() + from).into(),
                contents.span().len(),
            ),
            contents.line() + lines_before,
            contents.column(),
            contents.line_count() + lines_before,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use miette::SourceCode;

    /// An excerpt read from its window is the one miette reads from the whole text: the
    /// same bytes, span, line, column and line count, whatever the line endings (line
    /// feeds, carriage return and line feed, lone carriage returns) and context.
    #[test]
    fn excerpts_read_from_their_window_are_those_of_the_whole_text() {
        let text = "one\ntwo\r\nthree\rfour\n\nsix é\r\rnine\nten";
        let mut sources = SourceMap::new();
        let id = sources.add("f.qd", None, text);
        let file = FileSource(sources.get(id));
        let fields = |c: &dyn miette::SpanContents<'_>| {
            (
                c.data().to_vec(),
                *c.span(),
                c.line(),
                c.column(),
                c.line_count(),
            )
        };
        for start in (0..=text.len()).filter(|&i| text.is_char_boundary(i)) {
            for len in 0..=(text.len() - start).min(12) {
                for before in 0..3 {
                    for after in 0..3 {
                        let span = miette::SourceSpan::new(start.into(), len);
                        let whole = text.read_span(&span, before, after).map(|c| fields(&*c));
                        let windowed = file.read_span(&span, before, after).map(|c| fields(&*c));
                        assert_eq!(
                            windowed.ok(),
                            whole.ok(),
                            "{start}+{len}, {before} before, {after} after"
                        );
                    }
                }
            }
        }
    }
}
