//! A direct reader for the items that make up nearly all of a large framework: a `rule` in
//! its plain form (`rule id "text" { upholds a, b  violates c  context d, "e" }`), and the
//! lines of an imported taxonomy, `value id "label"` (without a block) and
//! `map id => ns.a, ns.b`.
//!
//! The grammar stays the definition of the language: this reader accepts a subset of what
//! `grammar/quandary.pest` accepts for these items (no comments, escapes or language tags with
//! subtags inside the item) and builds exactly the tree the pest parse builds, spans
//! included. On anything else it declines, and the item goes to pest, which parses it or
//! says what is wrong. A unit test and the parser's differential test hold the two to the
//! same trees.

use std::ops::Range;

use crate::source::{FileId, Span};
use crate::syntax::ast::{
    Braces, Context, Ident, Item, Map, Node, Reference, Rule, RuleAttribute, Str,
};
use crate::syntax::parser::skip_trivia;

/// A plain rule as byte ranges into the text, read without building a tree: what resolving
/// needs of it. One value is reused from rule to rule, so reading allocates only while its
/// lists grow.
#[derive(Debug, Default)]
pub(crate) struct Plain {
    /// Where the item starts (at `rule`).
    pub start: usize,
    /// Where its last token ends.
    pub end: usize,
    /// The id.
    pub id: Range<usize>,
    /// The text, quotes included (the plain form has no escapes: the value is inside them).
    pub text: Range<usize>,
    /// Where `{` and `}` are, if the rule has a block.
    pub braces: Option<(usize, usize)>,
    /// The attributes in source order.
    pub attributes: Vec<PlainAttribute>,
    /// The references of every `upholds` and `violates`, in source order.
    pub references: Vec<PlainReference>,
    /// The contexts of every `context`, in source order: a word, or a phrase with its quotes.
    pub contexts: Vec<(Range<usize>, bool)>,
}

/// Which attribute of a plain rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PlainKind {
    Upholds,
    Violates,
    Context,
}

/// One attribute of a plain rule: its kind, where it is, and its entries in
/// [`Plain::references`] or [`Plain::contexts`].
#[derive(Clone, Debug)]
pub(crate) struct PlainAttribute {
    pub kind: PlainKind,
    pub span: Range<usize>,
    pub entries: Range<usize>,
}

/// `id` or `ns.id` as ranges.
#[derive(Clone, Debug)]
pub(crate) struct PlainReference {
    pub namespace: Option<Range<usize>>,
    pub id: Range<usize>,
    pub span: Range<usize>,
}

impl Plain {
    /// The value of the rule's text (between its quotes).
    pub fn text_value<'t>(&self, text: &'t str) -> &'t str {
        &text[self.text.start + 1..self.text.end - 1]
    }

    /// The text of a context: a word as written, a phrase without its quotes.
    pub fn context_text<'t>(text: &'t str, (range, phrase): &(Range<usize>, bool)) -> &'t str {
        if *phrase {
            &text[range.start + 1..range.end - 1]
        } else {
            &text[range.clone()]
        }
    }
}

/// Reads a plain `rule` item starting at `pos` (where `rule` starts) into `out`, or `None`
/// (with `out` in no useful state) for anything outside the plain form.
pub(crate) fn read(text: &str, pos: usize, out: &mut Plain) -> Option<()> {
    out.attributes.clear();
    out.references.clear();
    out.contexts.clear();
    let mut r = Reader {
        bytes: text.as_bytes(),
        pos,
    };
    out.start = pos;
    if r.word()? != b"rule" {
        return None;
    }
    r.space()?;
    out.id = r.ident()?;
    r.space()?;
    out.text = r.string()?;
    out.end = out.text.end;
    r.space()?;
    out.braces = None;
    if r.peek() == Some(b'{') {
        let open = r.pos;
        r.pos += 1;
        loop {
            r.space()?;
            if r.peek() == Some(b'}') {
                out.braces = Some((open, r.pos));
                r.pos += 1;
                out.end = r.pos;
                break;
            }
            r.attribute(out)?;
        }
    }
    Some(())
}

/// Reads a plain `rule` item starting at `pos` (where `rule` starts): the item and where its
/// last token ends, or `None` for anything outside the plain form. `plain` is scratch space.
pub(crate) fn rule(
    file: FileId,
    text: &str,
    pos: usize,
    plain: &mut Plain,
) -> Option<(Item, usize)> {
    read(text, pos, plain)?;
    let span = |range: Range<usize>| Span::new(file, range);
    let ident = |range: &Range<usize>| Ident {
        name: text[range.clone()].to_string(),
        span: span(range.clone()),
    };
    let string = |range: &Range<usize>| Str {
        value: text[range.start + 1..range.end - 1].to_string(),
        raw: text[range.clone()].to_string(),
        span: span(range.clone()),
    };
    let attributes = plain
        .attributes
        .iter()
        .map(|a| {
            let s = span(a.span.clone());
            match a.kind {
                PlainKind::Upholds | PlainKind::Violates => {
                    let refs = plain.references[a.entries.clone()]
                        .iter()
                        .map(|r| Reference {
                            namespace: r.namespace.as_ref().map(ident),
                            id: ident(&r.id),
                            span: span(r.span.clone()),
                        })
                        .collect();
                    if a.kind == PlainKind::Upholds {
                        RuleAttribute::Upholds(refs, s)
                    } else {
                        RuleAttribute::Violates(refs, s)
                    }
                }
                PlainKind::Context => RuleAttribute::Context(
                    plain.contexts[a.entries.clone()]
                        .iter()
                        .map(|(range, phrase)| {
                            if *phrase {
                                Context::Phrase(string(range))
                            } else {
                                Context::Word(ident(range))
                            }
                        })
                        .collect(),
                    s,
                ),
            }
        })
        .collect();
    let item = Rule {
        id: ident(&plain.id),
        text: string(&plain.text),
        attributes,
        braces: plain.braces.map(|(open, close)| Braces {
            open: span(open..open + 1),
            close: span(close..close + 1),
        }),
        span: span(plain.start..plain.end),
    };
    Some((Item::Rule(item), plain.end))
}

/// Reads a one-line item in its plain form starting at `pos`: `map id => ns.a, ns.b`, or a
/// value without a block, `value id "label"` or `value id`. The item and where its last
/// token ends, or `None` for anything else (a block, a comment after the item, an escape).
pub(crate) fn line_item(file: FileId, text: &str, pos: usize) -> Option<(Item, usize)> {
    let mut r = Reader {
        bytes: text.as_bytes(),
        pos,
    };
    let span = |range: Range<usize>| Span::new(file, range);
    let ident = |range: Range<usize>| Ident {
        name: text[range.clone()].to_string(),
        span: span(range),
    };
    let reference = |r: PlainReference| Reference {
        namespace: r.namespace.map(ident),
        id: ident(r.id),
        span: span(r.span),
    };
    let keyword = r.ident()?;
    match &text.as_bytes()[keyword.clone()] {
        b"map" => {
            r.space()?;
            let value = r.reference()?;
            r.space()?;
            if !r.bytes[r.pos..].starts_with(b"=>") {
                return None;
            }
            r.pos += 2;
            r.space()?;
            let mut targets = Vec::new();
            r.list(&mut targets, Reader::reference)?;
            let end = r.pos;
            let item = Map {
                value: reference(value),
                targets: targets.into_iter().map(reference).collect(),
                span: span(pos..end),
            };
            Some((Item::Map(item), end))
        }
        // A level keyword that no other item starts with (`value` is the one the
        // importers write).
        b"value" => {
            r.space()?;
            let id = r.ident()?;
            let mut end = r.pos;
            // A label or a block may follow after any whitespace and comments, as pest
            // reads them.
            r.pos = skip_trivia(text, r.pos);
            let label = match r.peek() {
                Some(b'"') => {
                    let label = r.string()?;
                    end = r.pos;
                    r.pos = skip_trivia(text, r.pos);
                    Some(label)
                }
                _ => None,
            };
            // A block: pest reads it.
            if r.peek() == Some(b'{') {
                return None;
            }
            let node = Node {
                keyword: ident(keyword),
                id: ident(id),
                label: label.map(|range| Str {
                    value: text[range.start + 1..range.end - 1].to_string(),
                    raw: text[range.clone()].to_string(),
                    span: span(range),
                }),
                entries: Vec::new(),
                braces: None,
                span: span(pos..end),
            };
            Some((Item::Node(Box::new(node)), end))
        }
        _ => None,
    }
}

struct Reader<'a> {
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
    fn word(&mut self) -> Option<&'a [u8]> {
        let range = self.ident()?;
        Some(&self.bytes[range])
    }

    /// Where a maximal run of identifier characters starting with a letter or `_` is.
    fn ident(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        if !self.peek().is_some_and(ident_start) {
            return None;
        }
        self.pos += 1;
        while self.peek().is_some_and(ident_char) {
            self.pos += 1;
        }
        Some(start..self.pos)
    }

    /// `ident` or `ns.ident`, with nothing between the parts.
    fn reference(&mut self) -> Option<PlainReference> {
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
        Some(PlainReference {
            namespace,
            id,
            span: start..self.pos,
        })
    }

    /// A one-line string without escapes, quotes included.
    fn string(&mut self) -> Option<Range<usize>> {
        let start = self.pos;
        if self.peek() != Some(b'"') || self.bytes[start..].starts_with(b"\"\"\"") {
            return None;
        }
        let body = start + 1;
        // The first quote, backslash or line end: only a quote closes a plain string.
        let close = body + memchr::memchr3(b'"', b'\\', b'\n', &self.bytes[body..])?;
        if self.bytes[close] != b'"' {
            return None;
        }
        self.pos = close + 1;
        Some(start..self.pos)
    }

    /// `item (, item)*` where whitespace may surround the commas, each item pushed to
    /// `list`; the list ends at the last item (the whitespace after it is not part of the
    /// attribute). The range of `list` the items took.
    fn list<T>(
        &mut self,
        list: &mut Vec<T>,
        mut item: impl FnMut(&mut Self) -> Option<T>,
    ) -> Option<Range<usize>> {
        let from = list.len();
        list.push(item(self)?);
        loop {
            let end = self.pos;
            self.space()?;
            if self.peek() != Some(b',') {
                self.pos = end;
                return Some(from..list.len());
            }
            self.pos += 1;
            self.space()?;
            list.push(item(self)?);
        }
    }

    fn attribute(&mut self, out: &mut Plain) -> Option<()> {
        let start = self.pos;
        let word = self.word()?;
        let (kind, entries) = match word {
            b"upholds" | b"violates" => {
                self.space()?;
                let entries = self.list(&mut out.references, Self::reference)?;
                let kind = if word == b"upholds" {
                    PlainKind::Upholds
                } else {
                    PlainKind::Violates
                };
                (kind, entries)
            }
            b"context" => {
                self.space()?;
                let entries = self.list(&mut out.contexts, |r| match r.peek() {
                    Some(b'"') => r.string().map(|s| (s, true)),
                    _ => r.ident().map(|i| (i, false)),
                })?;
                (PlainKind::Context, entries)
            }
            _ => return None,
        };
        out.attributes.push(PlainAttribute {
            kind,
            span: start..self.pos,
            entries,
        });
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_value_and_map_lines_and_declines_the_rest() {
        let text = "map kindness => mft.care, emotion.trust\n";
        let (item, end) = line_item(FileId(0), text, 0).expect("a plain map");
        assert_eq!(end, text.len() - 1);
        let Item::Map(m) = item else {
            panic!("not a map")
        };
        assert_eq!(m.value.id.name, "kindness");
        let targets: Vec<String> = m.targets.iter().map(Reference::display).collect();
        assert_eq!(targets, ["mft.care", "emotion.trust"]);
        let text = "value trust \"trust\"\nvalue self";
        let (item, end) = line_item(FileId(0), text, 0).expect("a value without a block");
        assert_eq!(end, "value trust \"trust\"".len());
        let Item::Node(n) = item else {
            panic!("not a value")
        };
        assert_eq!(
            (n.keyword.name.as_str(), n.id.name.as_str()),
            ("value", "trust")
        );
        assert_eq!(n.label.map(|l| l.value).as_deref(), Some("trust"));
        // A comment after it is not part of it.
        let text = "value v \"x\"  # note\nvalue w";
        let (_, end) = line_item(FileId(0), text, 0).expect("a value before a comment");
        assert_eq!(end, "value v \"x\"".len());
        for declined in [
            "value v \"x\" { describe \"d\" }",
            "value v {}",
            "value v \"a\\\"b\"",
            "value v \"x\" # note\n{}",
            "value v \"\"\"x\"\"\"",
            "values v \"x\"",
            "map a => b,",
            "map a => b.c.d",
            "map a = > b",
            "map a => # note\n b",
            "mapping a => b",
            "rule r \"x\"",
        ] {
            assert!(line_item(FileId(0), declined, 0).is_none(), "{declined}");
        }
    }

    #[test]
    fn reads_the_plain_form_and_declines_the_rest() {
        let text = "rule r1 \"Act with care.\" {\n  upholds a, ns.b\n  context health, \"x y\"\n}";
        let (item, end) = rule(FileId(0), text, 0, &mut Plain::default()).expect("the plain form");
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
            assert!(
                rule(FileId(0), declined, 0, &mut Plain::default()).is_none(),
                "{declined}"
            );
        }
    }
}
