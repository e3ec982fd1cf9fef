//! A quick pass over the raw text before parsing: collects comments, checks strings and
//! brace nesting, and finds the places where top-level items start.
//!
//! It runs first so that an unterminated string, an unclosed block or pathological nesting
//! gets a precise diagnostic (and so that the recursive-descent parser never sees nesting
//! deep enough to exhaust the stack).

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::ast::Comment;

/// How deep blocks may nest. Real hierarchies are a handful of levels deep.
pub const MAX_DEPTH: usize = 64;

/// What the scan found.
pub(crate) struct Scan {
    pub comments: Vec<Comment>,
    /// Offsets of lines that start, at brace depth 0, with an identifier: where the parser
    /// resumes after a syntax error.
    pub resync: Vec<usize>,
    pub diagnostics: Vec<Diagnostic>,
}

pub(crate) fn scan(file: FileId, text: &str) -> Scan {
    let bytes = text.as_bytes();
    let span = |range: std::ops::Range<usize>| Span::new(file, range);
    let mut out = Scan {
        comments: Vec::new(),
        resync: Vec::new(),
        diagnostics: Vec::new(),
    };
    let mut open: Vec<usize> = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    while i < bytes.len() {
        let b = bytes[i];
        if line_start && open.is_empty() && (b.is_ascii_alphabetic() || b == b'_') {
            out.resync.push(i);
        }
        line_start = false;
        match b {
            b'\n' => {
                line_start = true;
                i += 1;
            }
            b'#' => {
                let end = memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |n| i + n);
                let text_end = if end > i && bytes[end - 1] == b'\r' {
                    end - 1
                } else {
                    end
                };
                out.comments.push(Comment {
                    text: text[i..text_end].trim_end().to_string(),
                    span: span(i..text_end),
                });
                i = end;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => match find(&bytes[i + 3..], b"\"\"\"") {
                Some(n) => i += 3 + n + 3,
                None => {
                    out.diagnostics.push(
                        Diagnostic::new(Code::UnterminatedString, "unterminated string")
                            .label(span(i..i + 3), "this text block is never closed")
                            .help("close it with `\"\"\"`"),
                    );
                    return out;
                }
            },
            b'"' => {
                let start = i;
                i += 1;
                loop {
                    match bytes.get(i) {
                        None | Some(b'\n') => {
                            out.diagnostics.push(
                                Diagnostic::new(Code::UnterminatedString, "unterminated string")
                                    .label(span(start..start + 1), "this string is never closed")
                                    .help(
                                        "close it with `\"` on the same line; for text over \
                                         several lines use `\"\"\"…\"\"\"`",
                                    ),
                            );
                            break;
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let len = escape_len(&bytes[i..]);
                            if len == 0 {
                                let end = next_char_end(text, i + 1);
                                out.diagnostics.push(
                                    Diagnostic::new(
                                        Code::InvalidEscape,
                                        format!("unknown escape `{}` in a string", &text[i..end]),
                                    )
                                    .label(span(i..end), "not an escape the language knows")
                                    .help(
                                        "the escapes are `\\\"`, `\\\\`, `\\n`, `\\t`, `\\r` and \
                                         `\\u{…}`; write `\\\\` for a backslash",
                                    ),
                                );
                                i = end;
                            } else {
                                i += len;
                            }
                        }
                        Some(_) => i += 1,
                    }
                }
            }
            b'{' => {
                open.push(i);
                if open.len() > MAX_DEPTH {
                    out.diagnostics.push(
                        Diagnostic::new(
                            Code::TooDeep,
                            format!("blocks nested more than {MAX_DEPTH} deep"),
                        )
                        .label(span(i..i + 1), "this block is too deep")
                        .help("a framework's hierarchy has a few levels; flatten the nesting"),
                    );
                    return out;
                }
                i += 1;
            }
            b'}' => {
                if open.pop().is_none() {
                    out.diagnostics.push(
                        Diagnostic::new(Code::UnmatchedClose, "`}` closes no block")
                            .label(span(i..i + 1), "nothing to close here")
                            .help("remove this `}`, or add the `{` it should close"),
                    );
                }
                i += 1;
            }
            _ => i += 1,
        }
    }
    if let Some(&start) = open.last() {
        out.diagnostics.push(
            Diagnostic::new(Code::UnclosedBlock, "block is never closed")
                .label(span(start..start + 1), "this `{` has no matching `}`")
                .help("add a `}` where the block should end"),
        );
    }
    out
}

/// Length of a valid escape at the start of `bytes` (which starts with a backslash), or 0.
fn escape_len(bytes: &[u8]) -> usize {
    match bytes.get(1) {
        Some(b'"' | b'\\' | b'n' | b't' | b'r') => 2,
        Some(b'u') if bytes.get(2) == Some(&b'{') => {
            let digits = bytes[3..]
                .iter()
                .take_while(|b| b.is_ascii_hexdigit())
                .count();
            if (1..=6).contains(&digits) && bytes.get(3 + digits) == Some(&b'}') {
                4 + digits
            } else {
                0
            }
        }
        _ => 0,
    }
}

fn next_char_end(text: &str, at: usize) -> usize {
    text[at.min(text.len())..]
        .chars()
        .next()
        .map_or(text.len(), |c| at + c.len_utf8())
}

fn memchr(needle: u8, hay: &[u8]) -> Option<usize> {
    hay.iter().position(|&b| b == needle)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        scan(FileId(0), text)
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect()
    }

    #[test]
    fn finds_comments_outside_strings() {
        let s = scan(FileId(0), "a \"# no\" # yes\r\n# two\n");
        let texts: Vec<_> = s.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, ["# yes", "# two"]);
    }

    #[test]
    fn reports_string_and_brace_errors() {
        assert_eq!(codes("a \"open\n"), ["Q0004"]);
        assert_eq!(codes("a \"bad \\q\""), ["Q0005"]);
        assert_eq!(codes("a {\n"), ["Q0006"]);
        assert_eq!(codes("}"), ["Q0007"]);
        assert_eq!(codes(&"{".repeat(2_000_000)), ["Q0008"]);
        assert_eq!(
            codes("a \"\\u{1F600}\" \"\"\"x\ny\"\"\""),
            Vec::<&str>::new()
        );
    }

    #[test]
    fn resync_points_are_top_level_line_starts() {
        let s = scan(FileId(0), "a {\nb\n}\nc\n  d\n");
        assert_eq!(s.resync, [0, 8]);
    }
}
