//! A direct reader for the one item that makes up nearly all of a large framework: a `rule`
//! in its plain form (`rule id "text" { upholds a, b  violates c  context d, "e" }`).
//!
//! The grammar stays the definition of the language: this reader accepts a subset of what
//! `grammar/quandary.pest` accepts for `rule` (no comments, escapes or language tags with
//! subtags inside the item) and builds exactly the tree the pest parse builds, spans
//! included. On anything else it declines, and the item goes to pest, which parses it or
//! says what is wrong. A unit test and the parser's differential test hold the two to the
//! same trees.

use crate::source::{FileId, Span};
use crate::syntax::ast::{Braces, Context, Ident, Item, Reference, Rule, RuleAttribute, Str};

/// Reads a plain `rule` item starting at `pos` (where `rule` starts): the item and where its
/// last token ends, or `None` for anything outside the plain form.
pub(crate) fn rule(file: FileId, text: &str, pos: usize) -> Option<(Item, usize)> {
    let mut r = Reader {
        file,
        text,
        bytes: text.as_bytes(),
        pos,
    };
    let start = pos;
    if r.word()? != "rule" {
        return None;
    }
    r.space()?;
    let id = r.ident()?;
    r.space()?;
    let label = r.string()?;
    let mut end = label.span.range().end;
    let after_label = r.pos;
    r.space()?;
    let mut attributes = Vec::new();
    let braces = if r.peek() == Some(b'{') {
        let open = r.span(r.pos..r.pos + 1);
        r.pos += 1;
        loop {
            r.space()?;
            if r.peek() == Some(b'}') {
                let close = r.span(r.pos..r.pos + 1);
                r.pos += 1;
                end = r.pos;
                break Some(Braces { open, close });
            }
            attributes.push(r.attribute()?);
        }
    } else {
        r.pos = after_label;
        None
    };
    let item = Rule {
        id,
        text: label,
        attributes,
        braces,
        span: r.span(start..end),
    };
    Some((Item::Rule(item), end))
}

struct Reader<'a> {
    file: FileId,
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

fn ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

impl<'a> Reader<'a> {
    fn span(&self, range: std::ops::Range<usize>) -> Span {
        Span::new(self.file, range)
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Skips whitespace; declines at a comment (pest treats it as whitespace, but its text
    /// belongs to the formatter and the plain form has none).
    fn space(&mut self) -> Option<()> {
        while let Some(b) = self.peek() {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => return None,
                _ => break,
            }
        }
        Some(())
    }

    /// A maximal run of identifier characters starting with a letter or `_`.
    fn word(&mut self) -> Option<&'a str> {
        let start = self.pos;
        if !self.peek().is_some_and(ident_start) {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(ident_char) {
            self.pos += 1;
        }
        Some(&self.text[start..self.pos])
    }

    fn ident(&mut self) -> Option<Ident> {
        let start = self.pos;
        let name = self.word()?;
        Some(Ident {
            name: name.to_string(),
            span: self.span(start..self.pos),
        })
    }

    /// `ident` or `ns.ident`, with nothing between the parts.
    fn reference(&mut self) -> Option<Reference> {
        let start = self.pos;
        let first = self.ident()?;
        let (namespace, id) = if self.peek() == Some(b'.') {
            self.pos += 1;
            (Some(first), self.ident()?)
        } else {
            (None, first)
        };
        if self.peek() == Some(b'.') {
            return None;
        }
        Some(Reference {
            namespace,
            id,
            span: self.span(start..self.pos),
        })
    }

    /// A one-line string without escapes.
    fn string(&mut self) -> Option<Str> {
        let start = self.pos;
        if self.peek() != Some(b'"') || self.bytes[start..].starts_with(b"\"\"\"") {
            return None;
        }
        let body = start + 1;
        let close = body + self.bytes[body..].iter().position(|&b| b == b'"')?;
        if self.bytes[body..close]
            .iter()
            .any(|&b| b == b'\\' || b == b'\n')
        {
            return None;
        }
        self.pos = close + 1;
        Some(Str {
            value: self.text[body..close].to_string(),
            raw: self.text[start..self.pos].to_string(),
            span: self.span(start..self.pos),
        })
    }

    /// `item (, item)*` where whitespace may surround the commas; the list ends at the last
    /// item (the whitespace after it is not part of the attribute).
    fn list<T>(&mut self, mut item: impl FnMut(&mut Self) -> Option<T>) -> Option<Vec<T>> {
        let mut items = vec![item(self)?];
        loop {
            let end = self.pos;
            self.space()?;
            if self.peek() != Some(b',') {
                self.pos = end;
                return Some(items);
            }
            self.pos += 1;
            self.space()?;
            items.push(item(self)?);
        }
    }

    fn attribute(&mut self) -> Option<RuleAttribute> {
        let start = self.pos;
        let word = self.word()?;
        let attribute = match word {
            "upholds" | "violates" => {
                self.space()?;
                let refs = self.list(Self::reference)?;
                let span = self.span(start..self.pos);
                if word == "upholds" {
                    RuleAttribute::Upholds(refs, span)
                } else {
                    RuleAttribute::Violates(refs, span)
                }
            }
            "context" => {
                self.space()?;
                let contexts = self.list(|r| match r.peek() {
                    Some(b'"') => r.string().map(Context::Phrase),
                    _ => r.ident().map(Context::Word),
                })?;
                RuleAttribute::Context(contexts, self.span(start..self.pos))
            }
            _ => return None,
        };
        Some(attribute)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_plain_form_and_declines_the_rest() {
        let text = "rule r1 \"Act with care.\" {\n  upholds a, ns.b\n  context health, \"x y\"\n}";
        let (item, end) = rule(FileId(0), text, 0).expect("the plain form");
        assert_eq!(end, text.len());
        let Item::Rule(r) = item else {
            panic!("not a rule")
        };
        assert_eq!(r.id.name, "r1");
        assert_eq!(r.text.value, "Act with care.");
        assert_eq!(r.attributes.len(), 2);
        for declined in [
            "rule r \"a\\\"b\" { upholds a }",
            "rule r \"a\" { # note\n upholds a }",
            "rule r \"a\" { describe \"d\" }",
            "rule r \"a\" { upholds a. }",
            "rule r \"a\" { upholds a, }",
            "rule r \"a\" { upholds }",
            "rule r \"\"\"a\"\"\"",
            "rules r \"a\"",
            "rule r \"a\" { upholds a",
        ] {
            assert!(rule(FileId(0), declined, 0).is_none(), "{declined}");
        }
    }
}
