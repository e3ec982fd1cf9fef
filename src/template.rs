//! Templates: the minijinja text of scenarios, prompts, judges and personas, dedented, guarded
//! against what the engine must not be given, compiled once in a sandboxed environment, and
//! checked for the variables they use. Every phase that renders text uses this module.

use minijinja::{Environment, UndefinedBehavior};

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Template;
use crate::source::Span;

/// The most work one template may do while rendering (minijinja fuel).
pub const FUEL: u64 = 200_000;

/// The longest rendered text a template may produce, in bytes.
pub const MAX_OUTPUT: usize = 64 * 1024;

/// A template ready to render, with what is needed to point into its source.
#[derive(Debug, Clone)]
pub struct CompiledTemplate {
    /// Its name in the environment.
    pub name: String,
    /// The dedented source.
    pub source: String,
    /// For each line of `source`, the file offset of its first character (when the
    /// template's offsets map onto the file).
    line_offsets: Option<Vec<usize>>,
    /// The string literal, for errors that cannot be placed more precisely.
    pub span: Span,
}

impl CompiledTemplate {
    /// The file span of a byte range of the dedented source.
    pub fn span_of(&self, range: std::ops::Range<usize>) -> Span {
        let Some(offsets) = &self.line_offsets else {
            return self.span;
        };
        let Some(file) = self.span.file else {
            return self.span;
        };
        let at = |pos: usize| {
            // The engine's offsets may fall inside a character (`{{ 名字 }}`).
            let mut pos = pos.min(self.source.len());
            while !self.source.is_char_boundary(pos) {
                pos -= 1;
            }
            let line = self.source[..pos].matches('\n').count();
            let line_start = self.source[..pos].rfind('\n').map_or(0, |n| n + 1);
            offsets.get(line).map(|o| o + pos - line_start)
        };
        match (at(range.start), at(range.end)) {
            (Some(s), Some(e)) => Span::new(file, s..e.max(s)),
            _ => self.span,
        }
    }
}

/// A part of a template that does nothing but print: see [`CompiledTemplate::segments`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Segment {
    /// Text printed as it stands.
    Text(String),
    /// `{{ name }}`, or `{{ name.attribute }}`.
    Variable(String, Option<String>),
}

impl CompiledTemplate {
    /// The template as text and variables printed in turn, when that is all it is: every
    /// tag `{{ name }}` or `{{ name.attribute }}` (ASCII names, no filter, call, index or
    /// white-space control), no `{% … %}` or `{# … #}`, and no final line break for the
    /// engine to drop. Printing the segments in order gives what the engine renders, for a
    /// context whose values print as themselves; `None` for anything else.
    pub fn segments(&self) -> Option<Vec<Segment>> {
        segments(&self.source)
    }
}

/// See [`CompiledTemplate::segments`].
pub fn segments(source: &str) -> Option<Vec<Segment>> {
    if source.ends_with(['\n', '\r']) {
        return None;
    }
    let mut out = Vec::new();
    let mut rest = source;
    loop {
        // The first tag opener, as the engine finds it: `{` followed by `{`, `%` or `#`.
        let bytes = rest.as_bytes();
        let mut from = 0;
        let open = loop {
            match memchr::memchr(b'{', &bytes[from..]) {
                None => break None,
                Some(n) => match bytes.get(from + n + 1) {
                    Some(b'{') => break Some(from + n),
                    Some(b'%' | b'#') => return None,
                    _ => from += n + 1,
                },
            }
        };
        let Some(open) = open else {
            if !rest.is_empty() {
                out.push(Segment::Text(rest.to_string()));
            }
            return Some(out);
        };
        if open > 0 {
            out.push(Segment::Text(rest[..open].to_string()));
        }
        let inner = &rest[open + 2..];
        let close = memchr::memmem::find(inner.as_bytes(), b"}}")?;
        let expression = inner[..close].trim_matches([' ', '\t', '\n', '\r']);
        let (name, attribute) = match expression.split_once('.') {
            Some((name, attribute)) => (
                name.trim_end_matches([' ', '\t', '\n', '\r']),
                Some(attribute.trim_start_matches([' ', '\t', '\n', '\r'])),
            ),
            None => (expression, None),
        };
        if !is_name(name) || !attribute.is_none_or(is_name) {
            return None;
        }
        out.push(Segment::Variable(
            name.to_string(),
            attribute.map(str::to_string),
        ));
        rest = &inner[close + 2..];
    }
}

/// An ASCII identifier that the engine reads as a name (not `true`, `none` and the like).
fn is_name(word: &str) -> bool {
    let mut bytes = word.bytes();
    bytes
        .next()
        .is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !matches!(
            word,
            "true"
                | "false"
                | "none"
                | "True"
                | "False"
                | "None"
                | "and"
                | "or"
                | "not"
                | "in"
                | "is"
                | "if"
                | "else"
        )
}

/// Removes a leading line break, the indentation common to every non-blank line, and
/// trailing white space, so a triple-quoted text can be indented with the code around it.
/// Returns the new text and, for each of its lines, the byte offset in `text` where it
/// starts.
pub fn dedent(text: &str) -> (String, Vec<usize>) {
    // A first line holding only white space (the rest of the `"""` line) is dropped.
    let first_end = text.find('\n').map_or(text.len(), |n| n + 1);
    let (body, base) = if first_end < text.len() && text[..first_end].trim().is_empty() {
        (&text[first_end..], first_end)
    } else {
        (text, 0)
    };
    let indent = body
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start_matches([' ', '\t']).len())
        .min()
        .unwrap_or(0);
    let mut out = String::with_capacity(body.len());
    let mut offsets = Vec::new();
    let mut pos = base;
    for raw in body.split_inclusive('\n') {
        let line = raw.trim_end_matches('\n').trim_end_matches('\r');
        let cut = indent.min(line.len() - line.trim_start_matches([' ', '\t']).len());
        if !offsets.is_empty() {
            out.push('\n');
        }
        offsets.push(pos + cut);
        out.push_str(&line[cut..]);
        pos += raw.len();
    }
    let trimmed = out.trim_end().len();
    out.truncate(trimmed);
    offsets.truncate(out.split('\n').count());
    (out, offsets)
}

/// A new sandboxed environment: strict undefined, bounded work, no loader (so no
/// `include` or file access), no access to the process environment.
pub fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(64);
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    env
}

/// The most operators, filters, tests, attribute and index accesses and calls one
/// `{{ … }}` or `{% … %}` tag may hold. The engine parses and renders expressions
/// recursively, so an expression nested without bound would overflow the stack; real
/// templates use a handful.
pub const MAX_TAG_OPERATORS: usize = 200;

/// The longest template source, in bytes: the engine counts lines and columns in 16 bits,
/// and a rendered text may be at most [`MAX_OUTPUT`] anyway.
pub const MAX_TEMPLATE: usize = 60_000;

/// Statements that would reach other templates: the sandbox has none to offer.
const FORBIDDEN_TAGS: [&str; 4] = ["include", "extends", "import", "from"];

/// Checks what the engine must not be given: a tag with more than
/// [`MAX_TAG_OPERATORS`] operators, or an `include`, `extends`, `import` or `from`
/// statement. Returns the byte range of the offending tag in `source`, why, and how to fix
/// it.
pub fn guard(source: &str) -> Result<(), (std::ops::Range<usize>, String, &'static str)> {
    // The engine counts lines and columns in 16 bits.
    if source.len() > MAX_TEMPLATE {
        return Err((
            0..source.len(),
            format!(
                "it is {} bytes long; a template may be at most {MAX_TEMPLATE}",
                source.len()
            ),
            "shorten the template, or give a long fixed text as a `verbatim` scenario",
        ));
    }
    let bytes = source.as_bytes();
    let mut i = 0;
    while let Some(open) = memchr::memchr(b'{', &bytes[i..]).map(|n| n + i) {
        let Some(&kind) = bytes.get(open + 1) else {
            break;
        };
        let close: &[u8] = match kind {
            b'{' => b"}}",
            b'%' => b"%}",
            b'#' => b"#}",
            _ => {
                i = open + 1;
                continue;
            }
        };
        let start = open + 2;
        if kind == b'#' {
            i = memchr::memmem::find(&bytes[start..], close).map_or(bytes.len(), |n| start + n + 2);
            continue;
        }
        // Through the tag, skipping string literals.
        let mut j = start;
        let mut operators = 0usize;
        let mut words: Vec<&str> = Vec::new();
        let end = loop {
            let Some(&c) = bytes.get(j) else {
                break bytes.len();
            };
            match c {
                b'"' | b'\'' => {
                    j += 1;
                    while let Some(&d) = bytes.get(j) {
                        j += if d == b'\\' { 2 } else { 1 };
                        if d == c {
                            break;
                        }
                    }
                    continue;
                }
                _ if bytes[j..].starts_with(close) => break j + 2,
                b'+' | b'-' | b'*' | b'/' | b'%' | b'~' | b'|' | b'.' | b'[' | b'(' | b'='
                | b'<' | b'>' | b'!' => operators += 1,
                c if c.is_ascii_alphabetic() || c == b'_' => {
                    let from = j;
                    while bytes
                        .get(j)
                        .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                    {
                        j += 1;
                    }
                    let word = &source[from..j];
                    if matches!(word, "not" | "and" | "or" | "is" | "if" | "in") {
                        operators += 1;
                    }
                    if words.len() < 2 {
                        words.push(word);
                    }
                    continue;
                }
                _ => {}
            }
            j += 1;
        };
        if operators > MAX_TAG_OPERATORS {
            return Err((
                open..end,
                format!(
                    "an expression here has {operators} operators, filters or accesses; \
                     at most {MAX_TAG_OPERATORS} are allowed in one tag"
                ),
                "split the expression, or compute the value in a slot",
            ));
        }
        if kind == b'%' {
            if let Some(word) = words.first().filter(|w| FORBIDDEN_TAGS.contains(w)) {
                return Err((
                    open..end,
                    format!("`{word}` is not available: a template cannot reach other templates"),
                    "write the text in this template: each template stands alone",
                ));
            }
            // What a raw block holds is text, not tags.
            if words.first() == Some(&"raw") {
                let rest = &source[end.min(source.len())..];
                i = find_endraw(rest).map_or(source.len(), |n| end + n);
                continue;
            }
        }
        i = end;
    }
    Ok(())
}

/// Where the `{% endraw %}` tag in `text` ends.
fn find_endraw(text: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(open) = text[from..].find("{%").map(|n| n + from) {
        let inner = text[open + 2..].trim_start_matches(['-', '+', ' ', '\t', '\n', '\r']);
        if inner.starts_with("endraw") {
            return text[open..].find("%}").map(|n| open + n + 2);
        }
        from = open + 2;
    }
    None
}

/// Compiles `template` into `env` under `name`; a syntax error becomes a diagnostic.
pub fn compile(
    env: &mut Environment<'static>,
    name: String,
    template: &Template,
    owner: Owner<'_>,
) -> Result<CompiledTemplate, Diagnostic> {
    let (source, lines) = dedent(&template.source);
    let line_offsets = template
        .offset()
        .map(|start| lines.iter().map(|l| start + l).collect());
    let compiled = CompiledTemplate {
        name: name.clone(),
        source: source.clone(),
        line_offsets,
        span: template.span,
    };
    if let Err((range, why, help)) = guard(&source) {
        return Err(Diagnostic::new(
            Code::TemplateSyntax,
            format!("{} is not valid: {why}", owner.template()),
        )
        .label(compiled.span_of(range), "here")
        .help(help));
    }
    match env.add_template_owned(name, source) {
        Ok(()) => Ok(compiled),
        Err(e) => {
            let span = e.range().map_or(template.span, |r| compiled.span_of(r));
            Err(Diagnostic::new(
                Code::TemplateSyntax,
                format!(
                    "{} is not valid: {}",
                    owner.template(),
                    e.detail().unwrap_or("syntax error")
                ),
            )
            .label(span, "here")
            .help(
                "templates are minijinja (Jinja2) text: `{{ variable }}`, `{% if … %}…{% endif %}`",
            ))
        }
    }
}

/// Checks that every variable `template` uses is one of `variables`.
pub fn check_variables(
    env: &Environment<'static>,
    template: &CompiledTemplate,
    variables: &[&str],
    owner: Owner<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let Ok(t) = env.get_template(&template.name) else {
        return;
    };
    check_filters_and_tests(env, template, owner, out);
    let mut unknown: Vec<String> = t
        .undeclared_variables(false)
        .into_iter()
        .filter(|v| !variables.contains(&v.as_str()) && env.globals().all(|(g, _)| g != v))
        .collect();
    unknown.sort_by_key(|v| first_use(&template.source, v).unwrap_or(usize::MAX));
    let listed = crate::suggest::code_list(variables);
    for name in unknown {
        let span = first_use(&template.source, &name)
            .map_or(template.span, |at| template.span_of(at..at + name.len()));
        let help = match (
            crate::suggest::similar(&name, variables.iter().copied()),
            owner,
        ) {
            (Some(s), _) => format!("did you mean `{s}`?"),
            (None, Owner::Scenario(_)) if variables.is_empty() => {
                "declare it with `slot` or `pick` in the scenario".to_string()
            }
            (None, Owner::Scenario(_)) => {
                format!("the scenario binds {listed}; declare others with `slot` or `pick`")
            }
            (None, Owner::Prompt(_)) => format!("a prompt's template sees {listed}"),
            (None, Owner::Judge(_)) => format!("a judge's template sees {listed}"),
            (None, Owner::Persona(_)) => format!("a persona template sees {listed}"),
        };
        let (message, label) = match owner {
            Owner::Scenario(id) => (
                format!("`{name}` in the template of scenario `{id}` is neither a slot nor a pick"),
                "not bound by this scenario",
            ),
            Owner::Prompt(id) => (
                format!("`{name}` in the template of prompt `{id}` is not a prompt variable"),
                "not a prompt variable",
            ),
            Owner::Judge(id) => (
                format!("`{name}` in the template of judge `{id}` is not a judge variable"),
                "not a judge variable",
            ),
            Owner::Persona(id) => (
                format!(
                    "`{name}` in the persona template of suite `{id}` is not a persona variable"
                ),
                "not a persona variable",
            ),
        };
        out.push(
            Diagnostic::new(Code::UnknownVariable, message)
                .label(span, label)
                .help(help),
        );
    }
}

/// A filter (`x | upper`, `{% filter upper %}`) or a test (`x is even`) a template names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Callable {
    Filter,
    Test,
}

impl Callable {
    fn noun(self) -> &'static str {
        match self {
            Callable::Filter => "filter",
            Callable::Test => "test",
        }
    }

    /// Whether `env` has a filter or test called `name` (an identifier): the engine looks
    /// them up only when it renders, so a one-tag template asks it.
    fn exists(self, env: &Environment<'static>, name: &str) -> bool {
        let (probe, unknown) = match self {
            Callable::Filter => (
                format!("{{{{ 1 | {name} }}}}"),
                minijinja::ErrorKind::UnknownFilter,
            ),
            Callable::Test => (
                format!("{{{{ 1 is {name} }}}}"),
                minijinja::ErrorKind::UnknownTest,
            ),
        };
        !matches!(env.render_str(&probe, ()), Err(e) if e.kind() == unknown)
    }

    /// The filters and tests of the engine with the features this crate builds it with, for
    /// suggestions (a test holds the list to the engine; only those `env` has are offered).
    fn known(self) -> &'static [&'static str] {
        match self {
            Callable::Filter => &[
                "abs",
                "attr",
                "batch",
                "bool",
                "capitalize",
                "chain",
                "count",
                "d",
                "default",
                "dictsort",
                "e",
                "escape",
                "first",
                "float",
                "format",
                "groupby",
                "indent",
                "int",
                "items",
                "join",
                "last",
                "length",
                "lines",
                "list",
                "lower",
                "map",
                "max",
                "min",
                "pprint",
                "reject",
                "rejectattr",
                "replace",
                "reverse",
                "round",
                "safe",
                "select",
                "selectattr",
                "slice",
                "sort",
                "split",
                "string",
                "sum",
                "title",
                "trim",
                "unique",
                "upper",
                "zip",
            ],
            Callable::Test => &[
                "boolean",
                "defined",
                "divisibleby",
                "endingwith",
                "eq",
                "equalto",
                "escaped",
                "even",
                "false",
                "filter",
                "float",
                "ge",
                "greaterthan",
                "gt",
                "in",
                "integer",
                "iterable",
                "le",
                "lessthan",
                "lower",
                "lt",
                "mapping",
                "ne",
                "none",
                "number",
                "odd",
                "safe",
                "sameas",
                "sequence",
                "startingwith",
                "string",
                "test",
                "true",
                "undefined",
                "upper",
            ],
        }
    }
}

/// The filters and tests `source` names inside its tags, each with the offset of its name,
/// in the order they are written.
fn named_callables(source: &str) -> Vec<(Callable, &str, usize)> {
    let mut found = Vec::new();
    first_name_in_tags(source, |block, start, end| {
        let before = block[..start].trim_end();
        let name = &block[start..end];
        let word_before = before
            .rsplit(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .next()
            .unwrap_or_default();
        let is_before = |text: &str| {
            text.strip_suffix("is").is_some_and(|rest| {
                !rest.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            })
        };
        // `x | name`, `{% filter name %}`; `x is name`, `x is not name`.
        let filter =
            before.ends_with('|') || before.trim_start_matches(['-', '+']).trim_start() == "filter";
        let test = (is_before(before) && name != "not")
            || (word_before == "not" && is_before(before[..before.len() - 3].trim_end()));
        let kind = match (filter, test) {
            (true, _) => Some(Callable::Filter),
            (false, true) => Some(Callable::Test),
            (false, false) => None,
        };
        if let Some(kind) = kind {
            let at = block.as_ptr() as usize - source.as_ptr() as usize + start;
            found.push((kind, &source[at..at + name.len()], at));
        }
        false
    });
    found
}

/// Checks that every filter and test `template` names is one the engine has: it would
/// otherwise fail only when a rendering reaches it, perhaps for a few bindings, and Jinja2
/// reports it when it compiles.
fn check_filters_and_tests(
    env: &Environment<'static>,
    template: &CompiledTemplate,
    owner: Owner<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let mut seen = std::collections::BTreeSet::new();
    // The names to suggest, each kind's asked of the engine once.
    let mut offered: [Option<Vec<&str>>; 2] = [None, None];
    for (kind, name, at) in named_callables(&template.source) {
        if !seen.insert((kind, name)) || kind.exists(env, name) {
            continue;
        }
        let known = offered[kind as usize].get_or_insert_with(|| {
            kind.known()
                .iter()
                .copied()
                .filter(|k| kind.exists(env, k))
                .collect()
        });
        let help = match crate::suggest::similar(name, known.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!(
                "the {}s are {}",
                kind.noun(),
                crate::suggest::code_list(known.iter())
            ),
        };
        out.push(
            Diagnostic::new(
                Code::TemplateSyntax,
                format!(
                    "{} is not valid: there is no {} `{name}`",
                    owner.template(),
                    kind.noun()
                ),
            )
            .label(
                template.span_of(at..at + name.len()),
                format!("unknown {}", kind.noun()),
            )
            .help(help),
        );
    }
}

/// The attributes every value a scenario's pick binds has; its label's translations are
/// attributes too, by language tag (`.zh`).
pub const VALUE_ATTRIBUTES: [&str; 4] = ["id", "name", "label", "describe"];

/// The attributes every rule a scenario's pick binds has; its text's translations are
/// attributes too, by language tag.
pub const RULE_ATTRIBUTES: [&str; 3] = ["id", "name", "text"];

/// A variable bound to a value or a rule (by a `pick`, or a slot over values), as a
/// scenario's templates see it.
pub struct PickVariable<'a> {
    /// The variable (`a`).
    pub name: &'a str,
    /// `value` or `rule`, for messages.
    pub kind: &'static str,
    /// The attributes every one of them has.
    pub attributes: &'static [&'static str],
    /// Whether any of them is translated into a language.
    pub translated: &'a dyn Fn(&str) -> bool,
}

/// Checks the attributes a scenario's `template` reads of its values and rules
/// (`{{ a.lable }}`): an attribute that no value or rule has fails every rendering that
/// reaches it, so it is reported where it is written, with the attribute meant. An
/// attribute shaped like a language tag (`a.fr`) passes: it is a translation, which some
/// values may lack (`{{ a.fr | default(a.label) }}`).
pub fn check_pick_attributes(
    env: &Environment<'static>,
    template: &CompiledTemplate,
    picks: &[PickVariable<'_>],
    scenario: &str,
    out: &mut Vec<Diagnostic>,
) {
    let Ok(t) = env.get_template(&template.name) else {
        return;
    };
    let mut read: Vec<(usize, String, &PickVariable<'_>, Option<&str>)> = t
        .undeclared_variables(true)
        .into_iter()
        .filter_map(|path| {
            let mut parts = path.split('.');
            let root = parts.next()?;
            let attribute = parts.next()?;
            let pick = picks.iter().find(|p| p.name == root)?;
            if pick.attributes.contains(&attribute) || (pick.translated)(attribute) {
                return None;
            }
            let similar = crate::suggest::similar(attribute, pick.attributes.iter().copied());
            let tag = (2..=3).contains(&attribute.len())
                && attribute.bytes().all(|b| b.is_ascii_lowercase());
            if tag && similar.is_none() {
                return None;
            }
            let at = first_attribute_use(&template.source, root, attribute).unwrap_or(usize::MAX);
            Some((at, path, pick, similar))
        })
        .collect();
    // The set comes in no fixed order: the messages come in the order of the text.
    read.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    // `a.nme` and `a.nme.upper` are one mistake.
    read.dedup_by(|a, b| a.0 == b.0 && a.0 != usize::MAX || a.1 == b.1);
    for (at, path, pick, similar) in read {
        let name = pick.name;
        let attribute = path.split('.').nth(1).unwrap_or_default();
        let span = if at == usize::MAX {
            template.span
        } else {
            template.span_of(at..at + attribute.len())
        };
        let has = crate::suggest::code_list(pick.attributes);
        let has = format!(
            "A {} has {has} and its translations by language tag (`{name}.zh`)",
            pick.kind
        );
        let help = match similar {
            Some(s) => format!("did you mean `{name}.{s}`? {has}"),
            None => has,
        };
        out.push(
            Diagnostic::new(
                Code::UnknownVariable,
                format!(
                    "`{name}.{attribute}` in the template of scenario `{scenario}` is not an attribute of a {}",
                    pick.kind
                ),
            )
            .label(span, "no such attribute")
            .help(help),
        );
    }
}

/// The attributes of each of the `options` a prompt's or judge's template sees.
pub const OPTION_ATTRIBUTES: [&str; 3] = ["label", "text", "action"];

/// Renders a prompt's or judge's `template` once on sample values of the shape it is given
/// (each of `variables` a text, `options` two options with [`OPTION_ATTRIBUTES`],
/// `verdicts` two words), so that an attribute no object has (`{{ o.lable }}`, which would
/// otherwise render as nothing or fail on every request) is reported with what exists.
pub fn check_attributes(
    env: &Environment<'static>,
    template: &CompiledTemplate,
    variables: &[&str],
    owner: Owner<'_>,
    out: &mut Vec<Diagnostic>,
) {
    let Ok(t) = env.get_template(&template.name) else {
        return;
    };
    let option = |label: &str, text: &str, action: &str| {
        minijinja::context! { label => label, text => text, action => action }
    };
    let mut context = std::collections::BTreeMap::new();
    for &v in variables {
        let value = match v {
            "options" => minijinja::Value::from(vec![
                option("A", "Tell the truth.", "first"),
                option("B", "Stay silent.", "second"),
            ]),
            "verdicts" => minijinja::Value::from(vec!["A", "B"]),
            _ => minijinja::Value::from("Some text."),
        };
        context.insert(v, value);
    }
    let Err(e) = t.render(minijinja::Value::from(context)) else {
        return;
    };
    if e.kind() != minijinja::ErrorKind::UndefinedError {
        return;
    }
    // The failing expression, `o.lable` or `options[0].lable`: its last attribute.
    let Some(range) = e.range() else { return };
    let Some(expression) = template.source.get(range.clone()) else {
        return;
    };
    let attribute = expression
        .rsplit('.')
        .next()
        .unwrap_or(expression)
        .trim()
        .to_string();
    if attribute.is_empty()
        || !attribute
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        || expression == attribute
    {
        return;
    }
    let listed = crate::suggest::code_list(OPTION_ATTRIBUTES);
    let help = match crate::suggest::similar(&attribute, OPTION_ATTRIBUTES.iter().copied()) {
        Some(s) => format!("did you mean `{s}`? An option has {listed}"),
        None => format!("an option has {listed}"),
    };
    let start = range.end - attribute.len();
    out.push(
        Diagnostic::new(
            Code::UnknownVariable,
            format!(
                "`{attribute}` in the {} is not an attribute of what it is given",
                owner.template()
            ),
        )
        .label(template.span_of(start..range.end), "no such attribute")
        .help(help),
    );
}

/// Whose template a check is about.
#[derive(Clone, Copy, Debug)]
pub enum Owner<'a> {
    /// A scenario's text, variant or action label.
    Scenario(&'a str),
    /// A prompt's user template.
    Prompt(&'a str),
    /// A judge's user template.
    Judge(&'a str),
    /// A suite's persona.
    Persona(&'a str),
}

impl Owner<'_> {
    /// The template, as messages name it: "template of scenario `visit`".
    pub fn template(&self) -> String {
        match self {
            Owner::Scenario(id) => format!("template of scenario `{id}`"),
            Owner::Prompt(id) => format!("template of prompt `{id}`"),
            Owner::Judge(id) => format!("template of judge `{id}`"),
            Owner::Persona(id) => format!("persona template of suite `{id}`"),
        }
    }
}

/// Where `name` is first used as a variable inside `{{ }}` or `{% %}` in `source`.
fn first_use(source: &str, name: &str) -> Option<usize> {
    first_name_in_tags(source, |block, start, end| {
        &block[start..end] == name && !block[..start].ends_with('.')
    })
}

/// Where `root.attribute` is first read inside `{{ }}` or `{% %}` in `source` (the start of
/// `attribute`).
fn first_attribute_use(source: &str, root: &str, attribute: &str) -> Option<usize> {
    first_name_in_tags(source, |block, start, end| {
        let Some(before) = block[..start].strip_suffix('.') else {
            return false;
        };
        let Some(outer) = before.strip_suffix(root) else {
            return false;
        };
        &block[start..end] == attribute
            && !outer.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.')
    })
}

/// Where the first name inside `{{ }}` or `{% %}` in `source` that `wanted` takes is: it is
/// given the tag's text and the name's range in it. Names in quoted strings are skipped.
fn first_name_in_tags(
    source: &str,
    mut wanted: impl FnMut(&str, usize, usize) -> bool,
) -> Option<usize> {
    let mut search = 0;
    while let Some(open) = source[search..].find(['{']).map(|i| search + i) {
        let kind = source[open + 1..].chars().next();
        if kind == Some('#') {
            // A comment holds no names.
            search = source[open..]
                .find("#}")
                .map_or(source.len(), |i| open + i + 2);
            continue;
        }
        if !matches!(kind, Some('{' | '%')) {
            search = open + 1;
            continue;
        }
        let close = if kind == Some('{') { "}}" } else { "%}" };
        let end = source[open..]
            .find(close)
            .map_or(source.len(), |i| open + i);
        let block = &source[open + 2..end];
        if kind == Some('%')
            && block
                .trim_start_matches(['-', '+', ' ', '\t', '\n', '\r'])
                .strip_prefix("raw")
                .is_some_and(|rest| {
                    !rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
                })
        {
            // What a raw block holds is text, not tags.
            let after = (end + 2).min(source.len());
            search = find_endraw(&source[after..]).map_or(source.len(), |n| after + n);
            continue;
        }
        let mut i = 0;
        let bytes = block.as_bytes();
        while i < bytes.len() {
            let c = bytes[i];
            if c == b'"' || c == b'\'' {
                i += block[i + 1..]
                    .find(c as char)
                    .map_or(block.len(), |n| n + 2);
                continue;
            }
            if c.is_ascii_alphabetic() || c == b'_' {
                let start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                if wanted(block, start, i) {
                    return Some(open + 2 + start);
                }
                continue;
            }
            i += 1;
        }
        search = end;
    }
    None
}

/// What a prompt's user template sees.
pub const PROMPT_VARIABLES: [&str; 3] = ["text", "options", "instruction"];

/// What a judge's user template sees: the scenario's (or question's) text, the options shown
/// to the answering model, its free-form answer, the verdicts the judge may give, and the
/// instruction.
pub const JUDGE_VARIABLES: [&str; 5] = ["text", "options", "answer", "verdicts", "instruction"];

/// What a suite's persona template sees.
pub const PERSONA_VARIABLES: [&str; 1] = ["population"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_a_blank_first_line_with_spaces() {
        let (out, offsets) = dedent("  \n    First.\n    Then.\n  ");
        assert_eq!(out, "First.\nThen.");
        assert_eq!(offsets, [7, 18]);
    }

    #[test]
    fn dedents_and_maps_offsets() {
        let text = "\n    You are a {{ role }}.\n      Indented.\n  ";
        let (out, offsets) = dedent(text);
        assert_eq!(out, "You are a {{ role }}.\n  Indented.");
        assert_eq!(offsets, [5, 31]);
        assert_eq!(&text[offsets[1]..offsets[1] + 2], "  ");
    }

    /// Prints `segments` with `who` = "Ann" and `r.id` = "r1".
    fn print(segments: &[Segment]) -> String {
        segments
            .iter()
            .map(|s| match s {
                Segment::Text(t) => t.clone(),
                Segment::Variable(n, None) if n == "who" => "Ann".into(),
                Segment::Variable(n, Some(a)) if n == "r" && a == "id" => "r1".into(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn segments_print_what_the_engine_renders() {
        let mut env = environment();
        let context = minijinja::context! {
            who => "Ann",
            r => minijinja::context! { id => "r1" },
        };
        let simple = [
            "",
            "plain text, no tags",
            "{{ who }}",
            "{{who}} and {{  who\n}}!",
            "You are {{ who }} in {x} }} {{ r.id }} and {{ r . id }}",
            "a { b {{ who }}{",
            "{{ who }}\n  x",
            "\u{6d3e} {{ who }} \"q\" \\ \t",
        ];
        for (i, source) in simple.iter().enumerate() {
            let segments = segments(source).unwrap_or_else(|| panic!("{source:?}"));
            env.add_template_owned(format!("s{i}"), source.to_string())
                .unwrap();
            let rendered = env
                .get_template(&format!("s{i}"))
                .unwrap()
                .render(&context)
                .unwrap();
            assert_eq!(print(&segments), rendered, "{source:?}");
        }
        for source in [
            "{% if who %}x{% endif %}",
            "{# note #}{{ who }}",
            "{{ who | upper }}",
            "{{- who }}",
            "{{ who -}}",
            "{{ who + 1 }}",
            "{{ r.id.x }}",
            "{{ r[0] }}",
            "{{ true }}",
            "{{ none }}",
            "{{ 名字 }}",
            "{{ who }}\n",
            "{{ who",
            "{{ 'a}}' }}",
        ] {
            assert_eq!(segments(source), None, "{source:?}");
        }
        assert_eq!(
            segments("Hi {{ who }}, {{ r.id }}."),
            Some(vec![
                Segment::Text("Hi ".into()),
                Segment::Variable("who".into(), None),
                Segment::Text(", ".into()),
                Segment::Variable("r".into(), Some("id".into())),
                Segment::Text(".".into()),
            ])
        );
    }

    #[test]
    fn finds_the_filters_and_tests_a_template_names_outside_strings_comments_and_raw() {
        let source = "{{ a|upper }} {{ b | default('| x') is not none }}{% filter lower|trim %}\
                      {% endfilter %}{# {{ c | gone }} #}{% raw %}{{ d | gone }}{% endraw %}\
                      {%- if e is odd and this is defined %}{% endif %}";
        let named: Vec<(Callable, &str)> = named_callables(source)
            .into_iter()
            .map(|(kind, name, at)| {
                assert_eq!(&source[at..at + name.len()], name);
                (kind, name)
            })
            .collect();
        use Callable::{Filter, Test};
        assert_eq!(
            named,
            [
                (Filter, "upper"),
                (Filter, "default"),
                (Test, "none"),
                (Filter, "lower"),
                (Filter, "trim"),
                (Test, "odd"),
                (Test, "defined"),
            ]
        );
    }

    #[test]
    fn asks_the_engine_which_filters_and_tests_it_has() {
        let env = environment();
        assert!(Callable::Filter.exists(&env, "upper"));
        assert!(!Callable::Filter.exists(&env, "uper"));
        assert!(Callable::Test.exists(&env, "even"));
        assert!(!Callable::Test.exists(&env, "evn"));
        // The names offered as suggestions are the engine's.
        for kind in [Callable::Filter, Callable::Test] {
            let missing: Vec<&&str> = kind
                .known()
                .iter()
                .filter(|k| !kind.exists(&env, k))
                .collect();
            assert!(missing.is_empty(), "{kind:?}: {missing:?}");
        }
    }

    #[test]
    fn finds_the_first_use_of_a_variable() {
        let src = "Hello {{ name }} and {{ other.name }} {% if name2 %}{{ name }}{% endif %}";
        assert_eq!(first_use(src, "name"), Some(9));
        assert_eq!(first_use(src, "name2"), Some(44));
        assert_eq!(first_use(src, "missing"), None);
    }
}
