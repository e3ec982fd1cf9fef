//! Source files and byte spans into them.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Identifies one file in a [`SourceMap`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub(crate) u32);

impl FileId {
    /// The position of the file in its [`SourceMap`].
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A byte range in one source file.
///
/// Spans compare equal to every other span, so that syntax trees and resolved models compare
/// by structure alone: a file and its formatted form resolve to equal models.
#[derive(Clone, Copy, Default)]
pub struct Span {
    /// The file the span points into.
    pub file: Option<FileId>,
    /// Byte offset of the first byte.
    pub start: u32,
    /// Byte offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span over `range` in `file`.
    pub fn new(file: FileId, range: Range<usize>) -> Self {
        Span {
            file: Some(file),
            start: range.start as u32,
            end: range.end as u32,
        }
    }

    /// The byte range of the span.
    pub fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    /// The smallest span covering both spans (which must be in one file).
    pub fn to(self, other: Span) -> Span {
        Span {
            file: self.file,
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl PartialEq for Span {
    fn eq(&self, _: &Span) -> bool {
        true
    }
}

impl Eq for Span {}

impl std::hash::Hash for Span {
    fn hash<H: std::hash::Hasher>(&self, _: &mut H) {}
}

impl fmt::Debug for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

/// One source file: its name as the user gave it and its text.
#[derive(Debug)]
pub struct SourceFile {
    name: String,
    path: Option<PathBuf>,
    text: Arc<str>,
    line_starts: Vec<u32>,
    /// Where a carriage return stands alone (not before a line feed), which an excerpt
    /// counts as a line end: almost always none.
    lone_returns: Vec<u32>,
    had_bom: bool,
}

impl SourceFile {
    /// The name used in diagnostics (the path as given, or a caller-chosen name).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path on disk, when the file was read from disk.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The text, without a leading byte-order mark.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// A shared handle on the text.
    pub fn shared_text(&self) -> Arc<str> {
        Arc::clone(&self.text)
    }

    /// Whether the file on disk started with a UTF-8 byte-order mark (removed from [`Self::text`]).
    pub fn had_bom(&self) -> bool {
        self.had_bom
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = match self.line_starts.binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.line_starts[line] as usize;
        let mut end = offset;
        while !self.text.is_char_boundary(end) {
            end -= 1;
        }
        let column = self.text[start..end].chars().count() + 1;
        (line + 1, column)
    }

    /// The part of the text an excerpt of `start..end` with `before` and `after` lines of
    /// context needs (from the start of a line, to the start of a line or the end), and the
    /// lines before it as an excerpt counts them (a lone carriage return ends one too), so
    /// an excerpt costs the size of its lines, not of the text before them.
    pub(crate) fn excerpt_window(
        &self,
        start: usize,
        end: usize,
        before: usize,
        after: usize,
    ) -> (usize, usize, usize) {
        let line_of = |at: usize| {
            self.line_starts
                .partition_point(|&s| s as usize <= at)
                .saturating_sub(1)
        };
        // Lines as the line feeds end them: no fewer than an excerpt counts in between. One
        // more before, so the excerpt never starts where the text it is read from does
        // (miette reads an empty span there otherwise than further on).
        let first = line_of(start).saturating_sub(before.saturating_add(1));
        let last = line_of(end).saturating_add(after).saturating_add(1);
        let from = self.line_starts[first] as usize;
        let to = self
            .line_starts
            .get(last.saturating_add(1))
            .map_or(self.text.len(), |&s| s as usize);
        let lone = self.lone_returns.partition_point(|&r| (r as usize) < from);
        (from, to, first + lone)
    }

    /// The text of the 1-based line `line`, without its line ending.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let start = start as usize;
        let end = self
            .line_starts
            .get(line)
            .map_or(self.text.len(), |&e| e as usize);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// Every source file one load has read, addressed by [`FileId`].
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    /// `file:line` of a span (empty for a span in no file): where a scenario, relation or rule
    /// came from, for provenance.
    pub fn location(&self, span: Span) -> String {
        match span.file {
            Some(f) => {
                let file = self.get(f);
                format!("{}:{}", file.name(), file.line_col(span.start as usize).0)
            }
            None => String::new(),
        }
    }

    /// An empty map.
    pub fn new() -> Self {
        SourceMap::default()
    }

    /// Adds a file. A leading byte-order mark is removed from the text.
    pub fn add(&mut self, name: impl Into<String>, path: Option<PathBuf>, text: &str) -> FileId {
        let (text, had_bom) = match text.strip_prefix('\u{FEFF}') {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        let mut line_starts = vec![0u32];
        line_starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1));
        let lone_returns = memchr::memchr_iter(b'\r', text.as_bytes())
            .filter(|&i| text.as_bytes().get(i + 1) != Some(&b'\n'))
            .map(|i| i as u32)
            .collect();
        let id = FileId(self.files.len() as u32);
        self.files.push(SourceFile {
            name: name.into(),
            path,
            text: Arc::from(text),
            line_starts,
            lone_returns,
            had_bom,
        });
        id
    }

    /// The file with id `id`.
    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.index()]
    }

    /// All files in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(i as u32), f))
    }

    /// The number of files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether no file has been added.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_characters_and_handles_crlf() {
        let mut map = SourceMap::new();
        let id = map.add("a.qd", None, "\u{FEFF}ab\r\n国家 x\n");
        let f = map.get(id);
        assert!(f.had_bom());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(4), (2, 1));
        // `x` comes after two three-byte characters and a space.
        assert_eq!(f.line_col(11), (2, 4));
        assert_eq!(f.line_text(1), "ab");
        assert_eq!(f.line_text(2), "国家 x");
    }

    #[test]
    fn spans_are_ignored_by_equality() {
        let a = Span::new(FileId(0), 1..2);
        let b = Span::new(FileId(3), 7..9);
        assert_eq!(a, b);
    }
}
