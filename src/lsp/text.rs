//! Positions and addresses: byte offsets to the protocol's lines and UTF-16 columns and
//! back, `file:` URIs to paths and back, and edits applied to a document's text.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use lsp_types::{Position, Range, Uri};

/// Where each line of a text starts, to turn byte offsets into positions and back.
pub(crate) struct Lines<'t> {
    text: &'t str,
    starts: Vec<u32>,
    /// The document had a byte-order mark that `text` lacks: columns of the first line
    /// count it.
    bom: bool,
}

impl<'t> Lines<'t> {
    pub(crate) fn new(text: &'t str, bom: bool) -> Self {
        let mut starts = vec![0u32];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i as u32 + 1));
        Lines { text, starts, bom }
    }

    /// The position of byte `offset` (clamped to the text, moved back to a character
    /// boundary).
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = match self.starts.binary_search(&(offset as u32)) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let start = self.starts[line] as usize;
        let mut character: usize = self.text[start..offset].encode_utf16().count();
        if line == 0 && self.bom {
            character += 1;
        }
        Position::new(line as u32, character as u32)
    }

    /// The range of bytes `start..end`.
    pub(crate) fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end))
    }

    /// The byte offset of `position` (a column past the end of its line is the line's
    /// end; a line past the last is the end of the text).
    pub(crate) fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let start = start as usize;
        let end = self
            .starts
            .get(position.line as usize + 1)
            .map_or(self.text.len(), |&e| e as usize);
        let line = self.text[start..end].trim_end_matches(['\n', '\r']);
        let mut want = position.character as usize;
        if position.line == 0 && self.bom {
            want = want.saturating_sub(1);
        }
        let mut units = 0;
        for (i, c) in line.char_indices() {
            if units >= want {
                return start + i;
            }
            units += c.len_utf16();
        }
        start + line.len()
    }

    /// The end of the text as a position.
    pub(crate) fn end(&self) -> Position {
        self.position(self.text.len())
    }
}

/// The path a `file:` URI names; any other URI stands for itself, as a path that exists
/// only in the editor.
pub(crate) fn uri_to_path(uri: &Uri) -> PathBuf {
    let s = uri.as_str();
    let Some(rest) = s.strip_prefix("file://") else {
        return PathBuf::from(s);
    };
    // Skip an authority (`localhost`), keep the path.
    let path = match rest.find('/') {
        Some(i) => &rest[i..],
        None => rest,
    };
    let path = path.split(['?', '#']).next().unwrap_or(path);
    PathBuf::from(decode(path))
}

/// The `file:` URI of `path`.
pub(crate) fn path_to_uri(path: &Path) -> Option<Uri> {
    let text = path.to_string_lossy();
    if !path.is_absolute() && text.contains(':') {
        // A path that stood for a URI (`untitled:…`).
        return Uri::from_str(&text).ok();
    }
    let mut s = String::from("file://");
    if !text.starts_with('/') {
        s.push('/');
    }
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    Uri::from_str(&s).ok()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(b) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(b);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The identifier (letters, digits, `_`, `-`) around byte `offset`, with its byte range.
pub(crate) fn word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let is_word = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    let offset = offset.min(text.len());
    if !text.is_char_boundary(offset) {
        return None;
    }
    let start = text[..offset]
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_word(c))
        .last()
        .map_or(offset, |(i, _)| i);
    let end = text[offset..]
        .char_indices()
        .find(|&(_, c)| !is_word(c))
        .map_or(text.len(), |(i, _)| offset + i);
    (start < end).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_utf16_units() {
        let text = "ab\n国𝄞x\n";
        let lines = Lines::new(text, false);
        // `x` follows a three-byte character (one unit) and a four-byte one (two units).
        let x = text.find('x').unwrap();
        assert_eq!(lines.position(x), Position::new(1, 3));
        assert_eq!(lines.offset(Position::new(1, 3)), x);
        assert_eq!(lines.offset(Position::new(1, 99)), x + 1);
        assert_eq!(lines.offset(Position::new(9, 0)), text.len());
        let with_bom = Lines::new("ab", true);
        assert_eq!(with_bom.position(1), Position::new(0, 2));
        assert_eq!(with_bom.offset(Position::new(0, 2)), 1);
    }

    #[test]
    fn uris_round_trip() {
        let path = Path::new("/tmp/a b/é.qd");
        let uri = path_to_uri(path).unwrap();
        assert_eq!(uri.as_str(), "file:///tmp/a%20b/%C3%A9.qd");
        assert_eq!(uri_to_path(&uri), path);
    }

    #[test]
    fn finds_the_word_at_an_offset() {
        let text = "upholds care_x, ns.v";
        assert_eq!(word_at(text, 10), Some((8, 14)));
        assert_eq!(word_at(text, 8), Some((8, 14)));
        assert_eq!(word_at(text, 14), Some((8, 14)));
        assert_eq!(word_at(text, 15), None);
    }
}
