//! The canonical layout of source files, as printed by `quandary fmt`.
//!
//! [`format()`] parses a file and prints its syntax tree back in one fixed layout:
//!
//! - two-space indentation, no trailing whitespace, exactly one final line ending (an empty
//!   file stays empty);
//! - one item or block entry a line; a blank line is kept (at most one) wherever the source
//!   had one or more, never right after `{`, before `}` or at the start of the file;
//! - a block with a single entry that is not a nested node, holding no comment, is written
//!   on one line (`value care "Care" { kind duty }`) when that line fits in
//!   [`MAX_WIDTH`] characters; an empty block `{}` is dropped, except on a `profile`, which
//!   must have one;
//! - strings and numbers are kept exactly as written;
//! - every comment is kept, in order: one that follows code on its line stays there, two
//!   spaces after the code; any other sits on its own line, indented like the code after it;
//!   one written inside a construct that is printed on a single line (`conflict a <> # x`)
//!   moves onto its own line just before that construct;
//! - line endings follow the file's first line ending (CRLF or LF), and a leading byte-order
//!   mark is kept.
//!
//! The layout is idempotent, and the formatted text resolves to the same model as the
//! original.

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::ast::{
    ActionAttribute, Braces, Comment, Context, File, FrameworkAttribute, Ident, Item, Node,
    NodeEntry, Party, PresentationAttribute, PresentationBlock, ProfileEntry, QuestionEntry,
    Reference, Relation, RuleAttribute, ScenarioEntry, SetArg, SetCall, SlotDomain,
    StanceAttribute, Str, SuiteSetting, Translation, Verdict,
};

/// The widest a block may be, in characters and indentation included, to be written on one
/// line.
pub const MAX_WIDTH: usize = 100;

/// The indentation of one block level.
const INDENT: &str = "  ";

/// Formats the source text of one file.
///
/// Returns the text in the canonical layout, or the file's syntax errors: a file that does
/// not parse is never formatted. The diagnostics' spans point into file `0` of a
/// [`SourceMap`] holding just this text; use [`format_source()`] to format a file that
/// already has a place in a source map.
///
/// ```
/// let formatted = quandary::format::format("value   care \"Care\"{kind duty}\n").unwrap();
/// assert_eq!(formatted, "value care \"Care\" { kind duty }\n");
/// ```
pub fn format(text: &str) -> Result<String, Vec<Diagnostic>> {
    let mut sources = SourceMap::new();
    let file = sources.add("", None, text);
    format_source(file, text)
}

/// Formats the text of `file`, as read from disk.
///
/// `text` may start with a byte-order mark; the spans of the returned diagnostics point
/// into the text without it, as [`SourceMap::add`] stores it.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let (bom, body) = match text.strip_prefix('\u{FEFF}') {
        Some(rest) => ("\u{FEFF}", rest),
        None => ("", text),
    };
    let (ast, diagnostics) = crate::syntax::parse(file, body);
    if !diagnostics.is_empty() {
        return Err(diagnostics);
    }
    let lines = print_file(body, &ast);
    let newline = LineEnding::detect(body).as_str();
    let mut out = String::with_capacity(text.len() + 16);
    out.push_str(bom);
    for line in &lines {
        out.push_str(line);
        out.push_str(newline);
    }
    Ok(out)
}

/// The line ending a file is written with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`
    Lf,
    /// `\r\n`
    CrLf,
}

impl LineEnding {
    /// The line ending of `text`'s first line; LF when it has a single line.
    pub fn detect(text: &str) -> LineEnding {
        match text.find('\n') {
            Some(n) if text[..n].ends_with('\r') => LineEnding::CrLf,
            _ => LineEnding::Lf,
        }
    }

    /// The characters of the line ending.
    pub fn as_str(self) -> &'static str {
        match self {
            LineEnding::Lf => "\n",
            LineEnding::CrLf => "\r\n",
        }
    }
}

/// The lines of the formatted file, without line endings. A line may hold line breaks of
/// its own, inside a triple-quoted string, which are printed as written.
fn print_file(text: &str, file: &File) -> Vec<String> {
    let units: Vec<Unit> = file.items.iter().map(item).collect();
    let mut printer = Printer {
        text,
        comments: &file.comments,
        next: 0,
        lines: Vec::new(),
    };
    printer.level(&units, 0, 0, text.len());
    debug_assert_eq!(
        printer.next,
        file.comments.len(),
        "a comment was not printed"
    );
    printer.lines
}

// ---------------------------------------------------------------- the layout tree

/// One item or block entry, reduced to what its layout needs.
enum Unit {
    /// Printed on one line.
    Line {
        /// The text.
        text: String,
        /// Where it was.
        span: Span,
    },
    /// A header with an optional block: a framework, node, rule or profile.
    Block {
        /// Everything before the `{`.
        header: String,
        /// The braces, if the source had a block.
        braces: Option<Braces>,
        /// The block's entries.
        entries: Vec<Unit>,
        /// Whether an empty block is written `{}` (profiles) rather than dropped.
        keep_empty: bool,
        /// Where it was.
        span: Span,
    },
}

impl Unit {
    fn span(&self) -> Span {
        match self {
            Unit::Line { span, .. } | Unit::Block { span, .. } => *span,
        }
    }

    /// Where the part printed on the construct's first line ends in the source: comments
    /// before this offset (and after the start) are moved before the construct.
    fn header_end(&self) -> usize {
        match self {
            Unit::Block {
                braces: Some(b), ..
            } => b.open.start as usize,
            _ => self.span().end as usize,
        }
    }
}

fn line(text: String, span: Span) -> Unit {
    Unit::Line { text, span }
}

fn item(item: &Item) -> Unit {
    match item {
        Item::Framework(f) => Unit::Block {
            header: header("framework", &f.id.name, f.label.as_ref()),
            braces: f.braces.clone(),
            entries: f.attributes.iter().map(framework_attribute).collect(),
            keep_empty: false,
            span: f.span,
        },
        Item::Use(u) => line(
            format!("use {} as {}", u.path.raw, u.namespace.name),
            u.span,
        ),
        Item::Map(m) => line(
            format!("map {} => {}", m.value.display(), references(&m.targets)),
            m.span,
        ),
        Item::Relation(r) => line(relation(r), r.span),
        Item::Rule(r) => Unit::Block {
            header: header("rule", &r.id.name, Some(&r.text)),
            braces: r.braces.clone(),
            entries: r.attributes.iter().map(rule_attribute).collect(),
            keep_empty: false,
            span: r.span,
        },
        Item::Profile(p) => Unit::Block {
            header: header("profile", &p.id.name, p.label.as_ref()),
            braces: Some(p.braces.clone()),
            entries: p.entries.iter().map(profile_entry).collect(),
            keep_empty: true,
            span: p.span,
        },
        Item::Scenario(sc) => Unit::Block {
            header: header("scenario", &sc.id.name, sc.label.as_ref()),
            braces: Some(sc.braces.clone()),
            entries: sc.entries.iter().map(scenario_entry).collect(),
            keep_empty: true,
            span: sc.span,
        },
        Item::Suite(su) => Unit::Block {
            header: header("suite", &su.id.name, su.label.as_ref()),
            braces: Some(su.braces.clone()),
            entries: su.settings.iter().map(suite_setting).collect(),
            keep_empty: true,
            span: su.span,
        },
        Item::Prompt(b) => presentation("prompt", b),
        Item::Steer(b) => presentation("steer", b),
        Item::Constitution(b) => presentation("constitution", b),
        Item::Judge(b) => presentation("judge", b),
        Item::Question(q) => Unit::Block {
            header: header("question", &q.id.name, Some(&q.text)),
            braces: q.braces.clone(),
            entries: q
                .entries
                .iter()
                .map(|e| {
                    let text = match e {
                        QuestionEntry::Option(o) => {
                            let mut text = format!("option {} {}", o.id.name, o.label.raw);
                            for t in &o.translations {
                                text.push_str(&format!("  {} {}", t.lang.name, t.text.raw));
                            }
                            text
                        }
                        QuestionEntry::Text(lang, s, _) => {
                            format!("text{} {}", dotted(lang.as_ref()), s.raw)
                        }
                        QuestionEntry::Reference(r) => {
                            let shares: Vec<&str> =
                                r.shares.iter().map(|n| n.raw.as_str()).collect();
                            format!("reference {} [{}]", r.population.raw, shares.join(", "))
                        }
                        QuestionEntry::Source(s, _) => format!("source {}", s.raw),
                        QuestionEntry::Describe(s, _) => format!("describe {}", s.raw),
                    };
                    line(text, e.span())
                })
                .collect(),
            keep_empty: false,
            span: q.span,
        },
        Item::Populations(p) => Unit::Block {
            header: "populations".to_string(),
            braces: Some(p.braces.clone()),
            entries: p
                .entries
                .iter()
                .map(|e| {
                    let aliases: Vec<&str> = e.aliases.iter().map(|a| a.raw.as_str()).collect();
                    line(
                        format!("{} alias {}", e.name.raw, aliases.join(", ")),
                        e.span,
                    )
                })
                .collect(),
            keep_empty: true,
            span: p.span,
        },
        Item::Stance(st) => Unit::Block {
            header: header("stance", &st.id.name, Some(&st.country)),
            braces: st.braces.clone(),
            entries: st
                .attributes
                .iter()
                .map(|a| {
                    let text = match a {
                        StanceAttribute::Question(l, s, _) => {
                            format!("question{} {}", dotted(l.as_ref()), s.raw)
                        }
                        StanceAttribute::Statement(l, s, _) => {
                            format!("statement{} {}", dotted(l.as_ref()), s.raw)
                        }
                        StanceAttribute::Reversed(l, s, _) => {
                            format!("reversed{} {}", dotted(l.as_ref()), s.raw)
                        }
                        StanceAttribute::Source(s, _) => format!("source {}", s.raw),
                        StanceAttribute::Describe(s, _) => format!("describe {}", s.raw),
                    };
                    line(text, a.span())
                })
                .collect(),
            keep_empty: false,
            span: st.span,
        },
        Item::Node(n) => node(n),
    }
}

fn presentation(keyword: &str, b: &PresentationBlock) -> Unit {
    Unit::Block {
        header: header(keyword, &b.id.name, b.label.as_ref()),
        braces: Some(b.braces.clone()),
        entries: b
            .attributes
            .iter()
            .map(|a| {
                let text = match a {
                    PresentationAttribute::System(l, s, _) => {
                        format!("system{} {}", dotted(l.as_ref()), s.raw)
                    }
                    PresentationAttribute::User(l, s, _) => {
                        format!("user{} {}", dotted(l.as_ref()), s.raw)
                    }
                    PresentationAttribute::Labels(w, _) => format!("labels {}", w.name),
                    PresentationAttribute::Instruction(l, s, _) => {
                        format!("instruction{} {}", dotted(l.as_ref()), s.raw)
                    }
                    PresentationAttribute::Answer(w, _) => format!("answer {}", w.name),
                    PresentationAttribute::Toward(r, _) => format!("toward {}", references(r)),
                    PresentationAttribute::Away(r, _) => format!("away {}", references(r)),
                    PresentationAttribute::Principle(s, _) => format!("principle {}", s.raw),
                    PresentationAttribute::Verdict(v, _) => format!("verdict {}", verdict(v)),
                    PresentationAttribute::Source(s, _) => format!("source {}", s.raw),
                    PresentationAttribute::Describe(s, _) => format!("describe {}", s.raw),
                };
                line(text, a.span())
            })
            .collect(),
        keep_empty: true,
        span: b.span,
    }
}

/// A judge's verdict after the keyword: `stance`, `labels a, b`, `scale 1 to 5`.
fn verdict(v: &Verdict) -> String {
    match v {
        Verdict::Word(w) => w.name.clone(),
        Verdict::Labels(labels) => {
            let labels: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
            format!("labels {}", labels.join(", "))
        }
        Verdict::Scale(low, high) => format!("scale {} to {}", low.raw, high.raw),
    }
}

fn scenario_entry(entry: &ScenarioEntry) -> Unit {
    match entry {
        ScenarioEntry::Topic(c, span) => line(format!("topic {}", context(c)), *span),
        ScenarioEntry::Describe(s, span) => line(format!("describe {}", s.raw), *span),
        ScenarioEntry::Verbatim(span) => line("verbatim".to_string(), *span),
        ScenarioEntry::Show(n, mode, span) => match mode {
            Some(mode) => line(format!("show {} {}", n.raw, mode.name), *span),
            None => line(format!("show {}", n.raw), *span),
        },
        ScenarioEntry::Slot(slot) => {
            let domain = match &slot.domain {
                SlotDomain::Strings(items, _) => {
                    let items: Vec<&str> = items.iter().map(|i| i.raw.as_str()).collect();
                    format!("[{}]", items.join(", "))
                }
                SlotDomain::Call(call) => set_call(call),
            };
            line(format!("slot {} = {domain}", slot.name.name), slot.span)
        }
        ScenarioEntry::Pick(pick) => line(
            format!(
                "pick {}, {} from {}",
                pick.names[0].name,
                pick.names[1].name,
                set_call(&pick.from)
            ),
            pick.span,
        ),
        ScenarioEntry::Text(text) => {
            let key = match &text.lang {
                Some(lang) => format!("text.{}", lang.name),
                None => "text".to_string(),
            };
            line(format!("{key} {}", text.template.raw), text.span)
        }
        ScenarioEntry::Action(action) => Unit::Block {
            header: header("action", &action.id.name, action.label.as_ref()),
            braces: action.braces.clone(),
            entries: action.attributes.iter().map(action_attribute).collect(),
            keep_empty: false,
            span: action.span,
        },
    }
}

fn set_call(call: &SetCall) -> String {
    let args: Vec<String> = call
        .args
        .iter()
        .map(|a| match a {
            SetArg::Reference(r) => r.display(),
            SetArg::Text(s) => s.raw.clone(),
            SetArg::Namespace(ns, _) => format!("{}.*", ns.name),
        })
        .collect();
    format!("{}({})", call.function.name, args.join(", "))
}

fn action_attribute(attribute: &ActionAttribute) -> Unit {
    match attribute {
        ActionAttribute::Upholds(refs, relevance, span) => {
            line(format!("upholds {}", upheld(refs, relevance)), *span)
        }
        ActionAttribute::Either(refs, span) => line(format!("either {}", references(refs)), *span),
        ActionAttribute::Violates(refs, span) => {
            line(format!("violates {}", references(refs)), *span)
        }
        ActionAttribute::UpholdsIndirectly(refs, relevance, span) => line(
            format!("upholds indirectly {}", upheld(refs, relevance)),
            *span,
        ),
        ActionAttribute::ViolatesIndirectly(refs, span) => {
            line(format!("violates indirectly {}", references(refs)), *span)
        }
        ActionAttribute::Affects(ps, span) => line(format!("affects {}", parties(ps)), *span),
        ActionAttribute::AffectsIndirectly(ps, span) => {
            line(format!("affects indirectly {}", parties(ps)), *span)
        }
        ActionAttribute::Follows(rule, span) => line(format!("follows {}", rule.name), *span),
        ActionAttribute::Distractor(span) => line("distractor".to_string(), *span),
        ActionAttribute::Describe(s, span) => line(format!("describe {}", s.raw), *span),
        ActionAttribute::Translation(t) => translation(t),
    }
}

/// `.zh` for a key in another language, nothing for the key itself.
fn dotted(lang: Option<&Ident>) -> String {
    lang.map_or_else(String::new, |l| format!(".{}", l.name))
}

/// Upheld values, each with its relevance as written (`care relevance 0.5`).
fn upheld(refs: &[Reference], relevance: &[Option<crate::syntax::ast::Number>]) -> String {
    let refs: Vec<String> = refs
        .iter()
        .enumerate()
        .map(|(i, r)| match relevance.get(i).and_then(Option::as_ref) {
            Some(n) => format!("{} relevance {}", r.display(), n.raw),
            None => r.display(),
        })
        .collect();
    refs.join(", ")
}

fn parties(parties: &[Party]) -> String {
    let parties: Vec<String> = parties
        .iter()
        .map(|p| match p.sign {
            Some(sign) => format!("{} {sign}", context(&p.name)),
            None => context(&p.name).to_string(),
        })
        .collect();
    parties.join(", ")
}

fn suite_setting(setting: &SuiteSetting) -> Unit {
    let text = match setting {
        SuiteSetting::Seed(n, _) => format!("seed {}", n.raw),
        SuiteSetting::From(refs, _) => format!("from {}", references(refs)),
        SuiteSetting::Count(n, _) => format!("count {}", n.raw),
        SuiteSetting::Each(n, _) => format!("each {}", n.raw),
        SuiteSetting::Balance(w, _) => format!("balance {}", w.name),
        SuiteSetting::Twins(w, _) => format!("twins {}", w.name),
        SuiteSetting::Require(w, _) => format!("require {}", w.name),
        SuiteSetting::Dedupe(_) => "dedupe".to_string(),
        SuiteSetting::Distractors(n, _) => format!("distractors {}", n.raw),
        SuiteSetting::Order(w, _) => format!("order {}", w.name),
        SuiteSetting::Persona(s, _) => format!("persona {}", s.raw),
        SuiteSetting::Pass(Some(p), n, _) => format!("pass {} {}", p.raw, n.raw),
        SuiteSetting::Pass(None, n, _) => format!("pass {}", n.raw),
        SuiteSetting::Languages(tags, _) => format!(
            "languages {}",
            tags.iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        SuiteSetting::Judge(r, _) => format!("judge {}", r.display()),
        SuiteSetting::Describe(s, _) => format!("describe {}", s.raw),
    };
    line(text, setting.span())
}

fn header(keyword: &str, id: &str, label: Option<&Str>) -> String {
    match label {
        Some(label) => format!("{keyword} {id} {}", label.raw),
        None => format!("{keyword} {id}"),
    }
}

fn node(n: &Node) -> Unit {
    Unit::Block {
        header: header(&n.keyword.name, &n.id.name, n.label.as_ref()),
        braces: n.braces.clone(),
        entries: n.entries.iter().map(node_entry).collect(),
        keep_empty: false,
        span: n.span,
    }
}

fn node_entry(entry: &NodeEntry) -> Unit {
    match entry {
        NodeEntry::Describe(s, span) => line(format!("describe {}", s.raw), *span),
        NodeEntry::Kind(k, span) => line(format!("kind {}", k.name), *span),
        NodeEntry::Alias(aliases, span) => {
            let aliases: Vec<&str> = aliases.iter().map(|a| a.raw.as_str()).collect();
            line(format!("alias {}", aliases.join(", ")), *span)
        }
        NodeEntry::Translation(t) => translation(t),
        NodeEntry::Child(child) => node(child),
    }
}

fn framework_attribute(attribute: &FrameworkAttribute) -> Unit {
    match attribute {
        FrameworkAttribute::Source(s, span) => line(format!("source {}", s.raw), *span),
        FrameworkAttribute::Version(s, span) => line(format!("version {}", s.raw), *span),
        FrameworkAttribute::License(s, span) => line(format!("license {}", s.raw), *span),
        FrameworkAttribute::Describe(s, span) => line(format!("describe {}", s.raw), *span),
        FrameworkAttribute::Levels(levels, span) => {
            let levels: Vec<&str> = levels.iter().map(|l| l.name.as_str()).collect();
            line(format!("levels {}", levels.join(", ")), *span)
        }
        FrameworkAttribute::Translation(t) => translation(t),
    }
}

fn rule_attribute(attribute: &RuleAttribute) -> Unit {
    match attribute {
        RuleAttribute::Upholds(refs, span) => line(format!("upholds {}", references(refs)), *span),
        RuleAttribute::Violates(refs, span) => {
            line(format!("violates {}", references(refs)), *span)
        }
        RuleAttribute::Context(contexts, span) => {
            let contexts: Vec<&str> = contexts.iter().map(context).collect();
            line(format!("context {}", contexts.join(", ")), *span)
        }
        RuleAttribute::Describe(s, span) => line(format!("describe {}", s.raw), *span),
        RuleAttribute::Translation(t) => translation(t),
    }
}

fn profile_entry(entry: &ProfileEntry) -> Unit {
    match entry {
        ProfileEntry::Describe(s, span) => line(format!("describe {}", s.raw), *span),
        ProfileEntry::Weight(r, n, span) => line(format!("{} {}", r.display(), n.raw), *span),
    }
}

fn translation(t: &Translation) -> Unit {
    line(format!("{} {}", t.lang.name, t.text.raw), t.span)
}

fn relation(r: &Relation) -> String {
    let mut out = format!(
        "{} {} {} {}",
        r.kind.keyword(),
        r.left.display(),
        r.kind.operator(),
        r.right.display()
    );
    if let Some(c) = &r.context {
        out.push(' ');
        out.push_str(r.kind.context_word());
        out.push(' ');
        out.push_str(context(c));
    }
    let weight = r.weight.as_ref().map(|w| format!(" weight {}", w.raw));
    let note = r.note.as_ref().map(|n| format!(" note {}", n.raw));
    let (first, second) = if r.weight_first {
        (weight, note)
    } else {
        (note, weight)
    };
    out.extend(first);
    out.extend(second);
    out
}

fn references(refs: &[Reference]) -> String {
    let refs: Vec<String> = refs.iter().map(Reference::display).collect();
    refs.join(", ")
}

/// A context as written: a bare word, or a phrase with its quotes.
fn context(c: &Context) -> &str {
    match c {
        Context::Word(w) => &w.name,
        Context::Phrase(s) => &s.raw,
    }
}

// ---------------------------------------------------------------- printing

/// Walks the layout tree in source order, taking each comment when the walk reaches it.
struct Printer<'a> {
    /// The source text (without a byte-order mark).
    text: &'a str,
    /// Every comment, in source order.
    comments: &'a [Comment],
    /// The first comment not printed yet.
    next: usize,
    /// The output lines.
    lines: Vec<String>,
}

impl<'a> Printer<'a> {
    /// Prints one level, the file or a block's inside: `units` between the source offsets
    /// `start` (just after the `{`) and `end` (the `}`), with the comments among them.
    fn level(&mut self, units: &[Unit], depth: usize, start: usize, end: usize) {
        // Where the last thing printed at this level ended in the source.
        let mut prev_end = start;
        // Whether nothing has been printed on a line of its own at this level yet.
        let mut first = true;
        for unit in units {
            let span = unit.span();
            self.comments_before(span.start as usize, depth, &mut prev_end, &mut first);
            let mut blank = !first && self.blank_between(prev_end, span.start as usize);
            // Comments inside the part of the construct printed on one line go before it.
            while let Some(comment) = self.take_before(unit.header_end()) {
                self.push_blank(std::mem::take(&mut blank));
                self.push(depth, &comment.text);
            }
            self.push_blank(blank);
            self.unit(unit, depth);
            prev_end = span.end as usize;
            first = false;
        }
        self.comments_before(end, depth, &mut prev_end, &mut first);
    }

    /// Prints the comments that start before `before`: as trailing comments when they follow
    /// code on its line, else on lines of their own.
    fn comments_before(
        &mut self,
        before: usize,
        depth: usize,
        prev_end: &mut usize,
        first: &mut bool,
    ) {
        while let Some(comment) = self.take_before(before) {
            let start = comment.span.start as usize;
            let after_code = !self.text[*prev_end..start].contains('\n');
            if let Some(last) = self.lines.last_mut().filter(|_| after_code) {
                last.push_str("  ");
                last.push_str(&comment.text);
            } else {
                let blank = !*first && self.blank_between(*prev_end, start);
                self.push_blank(blank);
                self.push(depth, &comment.text);
                *first = false;
            }
            *prev_end = comment.span.end as usize;
        }
    }

    /// Prints one item or entry (its leading comments are printed already).
    fn unit(&mut self, unit: &Unit, depth: usize) {
        let (header, braces, entries, keep_empty) = match unit {
            Unit::Line { text, .. } => return self.push(depth, text),
            Unit::Block {
                header,
                braces,
                entries,
                keep_empty,
                ..
            } => (header, braces, entries, *keep_empty),
        };
        let Some(braces) = braces else {
            return self.push(depth, header);
        };
        let close = braces.close.start as usize;
        let has_comments = self.peek_before(close);
        if entries.is_empty() && !has_comments {
            return if keep_empty {
                self.push(depth, &format!("{header} {{}}"))
            } else {
                self.push(depth, header)
            };
        }
        if let [Unit::Line { text, .. }] = entries.as_slice() {
            let one_line = format!("{header} {{ {text} }}");
            let width = depth * INDENT.len() + one_line.chars().count();
            if !has_comments && width <= MAX_WIDTH && !one_line.contains('\n') {
                return self.push(depth, &one_line);
            }
        }
        self.push(depth, &format!("{header} {{"));
        self.level(entries, depth + 1, braces.open.end as usize, close);
        self.push(depth, "}");
    }

    /// Whether the next comment starts before `offset`.
    fn peek_before(&self, offset: usize) -> bool {
        self.comments
            .get(self.next)
            .is_some_and(|c| (c.span.start as usize) < offset)
    }

    /// The next comment, if it starts before `offset`.
    fn take_before(&mut self, offset: usize) -> Option<&'a Comment> {
        let comments = self.comments;
        if self.peek_before(offset) {
            self.next += 1;
            Some(&comments[self.next - 1])
        } else {
            None
        }
    }

    /// Whether the source has a blank line between `from` and `to` (which hold only
    /// whitespace).
    fn blank_between(&self, from: usize, to: usize) -> bool {
        self.text[from..to].matches('\n').count() >= 2
    }

    fn push(&mut self, depth: usize, text: &str) {
        self.lines.push(format!("{}{text}", INDENT.repeat(depth)));
    }

    fn push_blank(&mut self, blank: bool) {
        if blank {
            self.lines.push(String::new());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(text: &str) -> String {
        let out = format(text).unwrap_or_else(|d| panic!("{d:#?}"));
        assert_eq!(format(&out).unwrap(), out, "not idempotent");
        out
    }

    #[test]
    fn empty_file_stays_empty() {
        assert_eq!(fmt(""), "");
        assert_eq!(fmt("\n\n  \n"), "");
    }

    #[test]
    fn refuses_a_file_with_syntax_errors() {
        let errors = format("conflict a b\nvalue x\n").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert!(format("value x \"open\n").is_err());
    }

    #[test]
    fn items_at_column_zero_with_one_space_between_tokens() {
        assert_eq!(
            fmt("   value\tcare   \"Care\"\n  use  \"a.qd\"   as  a\n"),
            "value care \"Care\"\nuse \"a.qd\" as a\n"
        );
    }

    #[test]
    fn keeps_at_most_one_blank_line() {
        assert_eq!(
            fmt("\n\nvalue a\n\n\n\nvalue b\nvalue c\n  \n \nvalue d\n\n\n"),
            "value a\n\nvalue b\nvalue c\n\nvalue d\n"
        );
    }

    #[test]
    fn no_blank_line_after_open_or_before_close() {
        assert_eq!(
            fmt("value a {\n\n  describe \"d\"\n\n  value b\n\n}\n"),
            "value a {\n  describe \"d\"\n\n  value b\n}\n"
        );
    }

    #[test]
    fn one_entry_block_on_one_line() {
        assert_eq!(
            fmt("value a \"A\" {\n  kind duty\n}\n"),
            "value a \"A\" { kind duty }\n"
        );
        assert_eq!(
            fmt("rule r \"R\" {\nupholds a,b}\nframework f {levels x,y}\n"),
            "rule r \"R\" { upholds a, b }\nframework f { levels x, y }\n"
        );
    }

    #[test]
    fn a_child_node_or_two_entries_make_a_block_multi_line() {
        assert_eq!(
            fmt("value a { value b }\nvalue c { kind duty describe \"d\" }\n"),
            "value a {\n  value b\n}\nvalue c {\n  kind duty\n  describe \"d\"\n}\n"
        );
    }

    #[test]
    fn one_line_form_only_when_it_fits() {
        // `value a { describe "" }` is 23 characters.
        let line = |fill: &str, n: usize| format!("value a {{ describe \"{}\" }}", fill.repeat(n));
        assert_eq!(line("x", 77).chars().count(), MAX_WIDTH);
        assert_eq!(fmt(&line("x", 77)), format!("{}\n", line("x", 77)));
        assert_eq!(
            fmt(&line("x", 78)),
            format!("value a {{\n  describe \"{}\"\n}}\n", "x".repeat(78))
        );
        // Characters, not bytes.
        assert_eq!(fmt(&line("国", 77)), format!("{}\n", line("国", 77)));
        // Indentation counts.
        let nested = |n: usize| format!("value p {{\n  {}\n  value c\n}}\n", line("x", n));
        assert_eq!(fmt(&nested(75)), nested(75));
        assert_eq!(
            fmt(&nested(76)),
            format!(
                "value p {{\n  value a {{\n    describe \"{}\"\n  }}\n  value c\n}}\n",
                "x".repeat(76)
            )
        );
    }

    #[test]
    fn empty_blocks_are_dropped_except_on_profiles() {
        assert_eq!(
            fmt("value a {}\nrule r \"R\" { }\nframework f \"F\" {\n}\nprofile p {  }\n"),
            "value a\nrule r \"R\"\nframework f \"F\"\nprofile p {}\n"
        );
    }

    #[test]
    fn every_item_kind() {
        let text = "framework cvc \"CVC\" {\n  levels dimension, core\n  source \"s\"\n  version \"1\"\n  license \"MIT\"\n  describe \"d\"\n  zh \"中\"\n}\n\
use \"mft.qd\" as mft\n\
map honesty => mft.fairness, virtue.truthfulness\n\
conflict a <> b weight 0.5 note \"n\"\n\
conflict a <> b note \"n\" weight 0.5\n\
prefer a > b when family weight 1\n\
wiser a > b in \"politics\" note \"x\"\n\
rule r \"Text \\\"q\\\"\" {\n  upholds a, mft.care\n  violates b\n  context health, \"x\"\n  describe \"d\"\n  fr \"t\"\n}\n\
profile p \"P\" {\n  describe \"d\"\n  a 0.9\n  mft.care -1e3\n}\n\
dimension nation \"Nation\" {\n  zh \"国家\"\n  core prosperity {\n    kind duty\n    alias \"Wealth\", \"Riches\"\n  }\n}\n";
        assert_eq!(fmt(text), text);
    }

    #[test]
    fn strings_and_numbers_as_written() {
        let text = "value a {\n  describe \"\"\"line one\n   line two   \n\"\"\"\n  alias \"\\u{41}\\n\"\n}\nprofile p { a 0.50 }\nprofile q { a 5E-1 }\n";
        assert_eq!(fmt(text), text);
    }

    #[test]
    fn a_multi_line_string_never_goes_on_one_line() {
        let text = "value a {\n  describe \"\"\"x\ny\"\"\"\n}\n";
        assert_eq!(fmt(text), text);
    }

    #[test]
    fn trailing_comments_stay_two_spaces_after_the_code() {
        assert_eq!(
            fmt("value a # one\nconflict a <> b     #two\nvalue c { kind duty }# three\n"),
            "value a  # one\nconflict a <> b  #two\nvalue c { kind duty }  # three\n"
        );
    }

    #[test]
    fn own_line_comments_take_the_indentation_of_the_code_after_them() {
        assert_eq!(
            fmt(
                "    # top\nvalue a {\n# inner\n        kind duty\n  value b {\n# deep\nkind right\n}\n}\n"
            ),
            "# top\nvalue a {\n  # inner\n  kind duty\n  value b {\n    # deep\n    kind right\n  }\n}\n"
        );
    }

    #[test]
    fn a_comment_last_in_a_block_takes_the_inner_indentation() {
        assert_eq!(
            fmt("value a {\nkind duty\n# last\n}\n# end\n"),
            "value a {\n  kind duty\n  # last\n}\n# end\n"
        );
    }

    #[test]
    fn a_comment_after_an_open_brace_stays_on_its_line() {
        assert_eq!(
            fmt("value a { # about a\n  kind duty }\n"),
            "value a {  # about a\n  kind duty\n}\n"
        );
    }

    #[test]
    fn a_comment_inside_a_one_line_construct_moves_before_it() {
        assert_eq!(
            fmt("conflict a <> # why\n  b # after\n"),
            "# why\nconflict a <> b  # after\n"
        );
        assert_eq!(
            fmt("value x {\n  alias \"a\", # first\n    \"b\"\n}\n"),
            "value x {\n  # first\n  alias \"a\", \"b\"\n}\n"
        );
        // In the header of a block.
        assert_eq!(
            fmt("value # kw\n x # id\n \"X\" # label\n { kind duty }\n"),
            "# kw\n# id\n# label\nvalue x \"X\" { kind duty }\n"
        );
    }

    #[test]
    fn a_moved_comment_keeps_the_blank_line_before_its_construct() {
        assert_eq!(
            fmt("value a\n\n\nconflict a\n# why\n<> b\n"),
            "value a\n\n# why\nconflict a <> b\n"
        );
    }

    #[test]
    fn a_block_with_a_comment_is_multi_line() {
        assert_eq!(
            fmt("value a { kind duty # d\n}\n"),
            "value a {\n  kind duty  # d\n}\n"
        );
        assert_eq!(
            fmt("value a {\n  # nothing yet\n}\nprofile p {\n# none\n}\n"),
            "value a {\n  # nothing yet\n}\nprofile p {\n  # none\n}\n"
        );
    }

    #[test]
    fn blank_lines_before_comments_are_kept() {
        assert_eq!(
            fmt("\n\n# a\n\n\n# b\nvalue x\n\n# c\n\n\n\n"),
            "# a\n\n# b\nvalue x\n\n# c\n"
        );
        assert_eq!(
            fmt("value x {\n  kind duty\n\n  # c\n\n}\n"),
            "value x {\n  kind duty\n\n  # c\n}\n"
        );
    }

    #[test]
    fn a_comment_only_file() {
        assert_eq!(fmt("# just this   "), "# just this\n");
    }

    #[test]
    fn comments_inside_strings_are_text() {
        assert_eq!(
            fmt("value a \"# not a comment\"\n"),
            "value a \"# not a comment\"\n"
        );
    }

    #[test]
    fn crlf_follows_the_first_line() {
        assert_eq!(
            fmt("value a {\r\nkind duty\r\n value b}\n# c\r\n"),
            "value a {\r\n  kind duty\r\n  value b\r\n}\r\n# c\r\n"
        );
        assert_eq!(fmt("value a\nvalue b\r\n"), "value a\nvalue b\n");
        assert_eq!(LineEnding::detect("x"), LineEnding::Lf);
    }

    #[test]
    fn keeps_a_byte_order_mark() {
        assert_eq!(fmt("\u{FEFF}value  a\n"), "\u{FEFF}value a\n");
    }

    #[test]
    fn syntax_error_spans_skip_the_byte_order_mark() {
        let errors = format("\u{FEFF}value a b\n").unwrap_err();
        assert_eq!(errors[0].primary_span().unwrap().start, 8);
    }
}
