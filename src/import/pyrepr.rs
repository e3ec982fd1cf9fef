//! Python literals as data sets saved with pandas leave them in CSV cells: lists of strings
//! (`['Honesty', "Respect for others' property"]`), `nan`, and dicts of lists
//! (`defaultdict(<class 'list'>, {'Belgium': [0.25, 0.75]})`).
//!
//! A reader of what Python's `repr` writes — strings in either quote with their escapes (and
//! the `r`, `u` and `b` prefixes), numbers, `nan`, `inf`, `None`, `True`, `False`, lists,
//! tuples, dicts, and a `defaultdict(…)` around a dict. It evaluates nothing, nests at most
//! [`MAX_DEPTH`] deep, and says where the text stops making sense instead of panicking.

use std::fmt;

/// How deep lists and dicts may nest.
pub const MAX_DEPTH: usize = 64;

/// A Python literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Py {
    /// A string.
    Str(String),
    /// A number; `nan` and `inf` are numbers too.
    Num(f64),
    /// `None`.
    None,
    /// `True` or `False`.
    Bool(bool),
    /// A list or a tuple.
    List(Vec<Py>),
    /// A dict (or a `defaultdict`), its entries in the order written.
    Dict(Vec<(Py, Py)>),
}

impl Py {
    /// Whether this is `nan` or `None`: a missing value, as pandas writes it.
    pub fn is_missing(&self) -> bool {
        match self {
            Py::Num(n) => n.is_nan(),
            Py::None => true,
            _ => false,
        }
    }

    /// What kind of literal this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Py::Str(_) => "a string",
            Py::Num(n) if n.is_nan() => "`nan`",
            Py::Num(_) => "a number",
            Py::None => "`None`",
            Py::Bool(_) => "a truth value",
            Py::List(_) => "a list",
            Py::Dict(_) => "a dict",
        }
    }
}

/// Reads `text` as one Python literal (surrounding white space allowed). The error says
/// what is wrong and at which character (counting from 1).
pub fn parse(text: &str) -> Result<Py, String> {
    let mut p = Parser {
        chars: text.chars().collect(),
        pos: 0,
        depth: 0,
    };
    p.space();
    let value = p.value()?;
    p.space();
    if p.pos < p.chars.len() {
        return Err(p.error("unexpected text after the value"));
    }
    Ok(value)
}

/// A cell holding a list of strings: `['a', "b's"]`. An empty cell, `nan`, `[]` and `[nan]`
/// are empty lists; `nan` and `None` items are left out.
pub fn string_list(cell: &str) -> Result<Vec<String>, String> {
    let cell = cell.trim();
    if cell.is_empty() {
        return Ok(Vec::new());
    }
    match parse(cell)? {
        v if v.is_missing() => Ok(Vec::new()),
        Py::List(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Py::Str(s) => out.push(s),
                    v if v.is_missing() => {}
                    v => return Err(format!("item {} is {}, not a string", i + 1, v.kind())),
                }
            }
            Ok(out)
        }
        v => Err(format!("it is {}, not a list", v.kind())),
    }
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    depth: usize,
}

impl Parser {
    fn error(&self, what: impl fmt::Display) -> String {
        format!("{what} at character {}", self.pos + 1)
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn space(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Py, String> {
        match self.peek() {
            None => Err(self.error("the text ends where a value should be")),
            Some('[') => self.sequence(']'),
            Some('(') => self.sequence(')'),
            Some('{') => self.dict(),
            Some('\'' | '"') => self.string(false),
            Some(c) if c.is_ascii_digit() || matches!(c, '-' | '+' | '.') => self.number(),
            Some(c) if c.is_alphabetic() || c == '_' => self.name(),
            Some(c) => Err(self.error(format!("unexpected `{c}`"))),
        }
    }

    fn nest(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("lists and dicts nest more than {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    /// A list `[…]` or a tuple `(…)`, the opening bracket next.
    fn sequence(&mut self, close: char) -> Result<Py, String> {
        self.nest()?;
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.space();
            if self.peek() == Some(close) {
                self.pos += 1;
                break;
            }
            items.push(self.value()?);
            self.space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(c) if c == close => {}
                None => {
                    return Err(self.error(format!("the text ends before the closing `{close}`")));
                }
                Some(c) => {
                    return Err(self.error(format!("expected `,` or `{close}`, found `{c}`")));
                }
            }
        }
        self.depth -= 1;
        Ok(Py::List(items))
    }

    /// A dict `{key: value, …}`, the brace next.
    fn dict(&mut self) -> Result<Py, String> {
        self.nest()?;
        self.pos += 1;
        let mut entries = Vec::new();
        loop {
            self.space();
            if self.peek() == Some('}') {
                self.pos += 1;
                break;
            }
            let key = self.value()?;
            self.space();
            match self.peek() {
                Some(':') => self.pos += 1,
                None => return Err(self.error("the text ends before the closing `}`")),
                Some(c) => return Err(self.error(format!("expected `:`, found `{c}`"))),
            }
            self.space();
            let value = self.value()?;
            entries.push((key, value));
            self.space();
            match self.peek() {
                Some(',') => self.pos += 1,
                Some('}') => {}
                None => return Err(self.error("the text ends before the closing `}`")),
                Some(c) => return Err(self.error(format!("expected `,` or `}}`, found `{c}`"))),
            }
        }
        self.depth -= 1;
        Ok(Py::Dict(entries))
    }

    fn number(&mut self) -> Result<Py, String> {
        let start = self.pos;
        let mut negative = false;
        if let Some(sign @ ('-' | '+')) = self.peek() {
            negative = sign == '-';
            self.pos += 1;
        }
        // `-inf`, `-nan`
        if self.peek().is_some_and(char::is_alphabetic) {
            let at = self.pos;
            let word = self.word();
            return match word.as_str() {
                "inf" => Ok(Py::Num(if negative {
                    f64::NEG_INFINITY
                } else {
                    f64::INFINITY
                })),
                "nan" => Ok(Py::Num(f64::NAN)),
                _ => {
                    self.pos = at;
                    Err(self.error(format!("`{word}` is not a number")))
                }
            };
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, '.' | '_'))
        {
            self.pos += 1;
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some('-' | '+')) {
                self.pos += 1;
            }
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        let text: String = self.chars[start..self.pos]
            .iter()
            .filter(|&&c| c != '_')
            .collect();
        text.parse::<f64>().map(Py::Num).map_err(|_| {
            self.pos = start;
            self.error(format!("`{text}` is not a number"))
        })
    }

    /// An identifier-like word (letters, digits, `_`, `.`).
    fn word(&mut self) -> String {
        let start = self.pos;
        while self
            .peek()
            .is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.'))
        {
            self.pos += 1;
        }
        self.chars[start..self.pos].iter().collect()
    }

    fn name(&mut self) -> Result<Py, String> {
        let start = self.pos;
        let word = self.word();
        // String prefixes: r'…', u'…', b'…', rb'…', …
        if matches!(self.peek(), Some('\'' | '"'))
            && !word.is_empty()
            && word.len() <= 2
            && word
                .chars()
                .all(|c| matches!(c, 'r' | 'R' | 'u' | 'U' | 'b' | 'B'))
        {
            return self.string(word.contains(['r', 'R']));
        }
        match word.as_str() {
            "nan" | "NaN" | "np.nan" | "numpy.nan" => Ok(Py::Num(f64::NAN)),
            "inf" => Ok(Py::Num(f64::INFINITY)),
            "None" => Ok(Py::None),
            "True" => Ok(Py::Bool(true)),
            "False" => Ok(Py::Bool(false)),
            "defaultdict" | "collections.defaultdict" => self.defaultdict(),
            _ => {
                self.pos = start;
                Err(self.error(format!("`{word}` is not a literal")))
            }
        }
    }

    /// `defaultdict(<class 'list'>, {…})` (or `defaultdict(list, {…})`), after the name.
    fn defaultdict(&mut self) -> Result<Py, String> {
        self.space();
        if self.peek() != Some('(') {
            return Err(self.error("expected `(` after `defaultdict`"));
        }
        self.pos += 1;
        self.space();
        match self.peek() {
            // `<class 'list'>`: everything up to the `>`.
            Some('<') => {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '>' {
                        break;
                    }
                }
            }
            Some(c) if c.is_alphabetic() || c == '_' => {
                self.word();
            }
            _ => return Err(self.error("expected the default factory of the `defaultdict`")),
        }
        self.space();
        if self.peek() != Some(',') {
            return Err(self.error("expected `,` and a dict in the `defaultdict`"));
        }
        self.pos += 1;
        self.space();
        if self.peek() != Some('{') {
            return Err(self.error("expected a dict in the `defaultdict`"));
        }
        let dict = self.dict()?;
        self.space();
        if self.peek() != Some(')') {
            return Err(self.error("expected `)` closing the `defaultdict`"));
        }
        self.pos += 1;
        Ok(dict)
    }

    /// A string, its quote next; `raw`: backslashes are kept.
    fn string(&mut self, raw: bool) -> Result<Py, String> {
        let start = self.pos;
        let Some(quote) = self.peek() else {
            return Err(self.error("expected a string"));
        };
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                self.pos = start;
                return Err(self.error("the string that starts here is not closed"));
            };
            self.pos += 1;
            if c == quote {
                return Ok(Py::Str(out));
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let Some(e) = self.peek() else {
                continue;
            };
            if raw {
                // A raw string keeps the backslash, and an escaped quote does not end it.
                out.push('\\');
                out.push(e);
                self.pos += 1;
                continue;
            }
            self.pos += 1;
            match e {
                '\\' | '\'' | '"' => out.push(e),
                'n' => out.push('\n'),
                't' => out.push('\t'),
                'r' => out.push('\r'),
                'a' => out.push('\u{7}'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'v' => out.push('\u{b}'),
                '\n' => {}
                '0'..='7' => {
                    let mut code = e.to_digit(8).unwrap_or(0);
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                self.pos += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(self.code_point(code)?);
                }
                'x' | 'u' | 'U' => {
                    let digits = match e {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let mut code = 0u32;
                    for _ in 0..digits {
                        match self.peek().and_then(|c| c.to_digit(16)) {
                            Some(d) => {
                                code = code.saturating_mul(16).saturating_add(d);
                                self.pos += 1;
                            }
                            None => {
                                return Err(self
                                    .error(format!("`\\{e}` needs {digits} hexadecimal digits")));
                            }
                        }
                    }
                    out.push(self.code_point(code)?);
                }
                // Python keeps an unknown escape as it is.
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn code_point(&self, code: u32) -> Result<char, String> {
        char::from_u32(code).ok_or_else(|| self.error(format!("`{code:#x}` is not a character")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Py {
        Py::Str(text.into())
    }

    #[test]
    fn reads_lists_of_strings_in_either_quote() {
        assert_eq!(
            parse(r#"['Honesty', "Respect for visitor's sensitivities", 'a \'b\' "c"']"#),
            Ok(Py::List(vec![
                s("Honesty"),
                s("Respect for visitor's sensitivities"),
                s("a 'b' \"c\"")
            ]))
        );
        assert_eq!(
            string_list("[nan, 'Traditional', nan]"),
            Ok(vec!["Traditional".to_string()])
        );
        for empty in ["", "  ", "nan", "[]", "[nan]", "[ ]", "None"] {
            assert_eq!(string_list(empty), Ok(vec![]), "{empty:?}");
        }
    }

    #[test]
    fn decodes_escapes() {
        assert_eq!(
            parse(r"'tab\there\nline \\ \x41\u00e9\U0001F600 \101 \q'"),
            Ok(s("tab\there\nline \\ Aé😀 A \\q"))
        );
        assert_eq!(parse(r"r'a\'b\n'"), Ok(s(r"a\'b\n")));
        assert_eq!(parse("u'x'"), Ok(s("x")));
    }

    #[test]
    fn reads_defaultdicts_of_numbers() {
        let text = "defaultdict(<class 'list'>, {'Belgium': [0.25, 0.75], \"Côte d'Ivoire\": \
                    [1e-05, nan], 'X': [1, -2.5, inf]})";
        let Ok(Py::Dict(entries)) = parse(text) else {
            panic!("{:?}", parse(text))
        };
        assert_eq!(entries.len(), 3);
        assert_eq!(
            entries[0],
            (s("Belgium"), Py::List(vec![Py::Num(0.25), Py::Num(0.75)]))
        );
        assert_eq!(entries[1].0, s("Côte d'Ivoire"));
        let Py::List(shares) = &entries[1].1 else {
            panic!()
        };
        assert_eq!(shares[0], Py::Num(1e-5));
        assert!(shares[1].is_missing());
        assert_eq!(
            entries[2].1,
            Py::List(vec![Py::Num(1.0), Py::Num(-2.5), Py::Num(f64::INFINITY)])
        );
        assert_eq!(parse("defaultdict(list, {})"), Ok(Py::Dict(vec![])));
        assert_eq!(
            parse("{'a': (1, 2,), 'b': None, 'c': True}"),
            Ok(Py::Dict(vec![
                (s("a"), Py::List(vec![Py::Num(1.0), Py::Num(2.0)])),
                (s("b"), Py::None),
                (s("c"), Py::Bool(true)),
            ]))
        );
    }

    #[test]
    fn says_where_the_text_goes_wrong() {
        assert_eq!(
            parse("['a', 'b'"),
            Err("the text ends before the closing `]` at character 10".into())
        );
        assert_eq!(
            parse("['a' 'b']"),
            Err("expected `,` or `]`, found `'` at character 6".into())
        );
        assert_eq!(
            parse("['a', 'b]"),
            Err("the string that starts here is not closed at character 7".into())
        );
        assert_eq!(
            parse("[os.system('x')]"),
            Err("`os.system` is not a literal at character 2".into())
        );
        assert_eq!(
            parse("['a'] x"),
            Err("unexpected text after the value at character 7".into())
        );
        assert_eq!(
            parse("{'a' 1}"),
            Err("expected `:`, found `1` at character 6".into())
        );
        assert_eq!(
            parse("'\\x4'"),
            Err("`\\x` needs 2 hexadecimal digits at character 5".into())
        );
        assert_eq!(
            parse("'\\ud800'"),
            Err("`0xd800` is not a character at character 8".into())
        );
        assert_eq!(string_list("'a'"), Err("it is a string, not a list".into()));
        assert_eq!(
            string_list("['a', 1]"),
            Err("item 2 is a number, not a string".into())
        );
        assert_eq!(
            parse("1.2.3"),
            Err("`1.2.3` is not a number at character 1".into())
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(10_000);
        assert!(parse(&deep).unwrap_err().contains("nest more than 64 deep"));
        let ok = format!("{}{}", "[".repeat(64), "]".repeat(64));
        assert!(parse(&ok).is_ok());
        // Every prefix of a literal fails cleanly.
        let text = "defaultdict(<class 'list'>, {'B\\'x': [0.5, 0.5], \"C\": [1e-3, nan]})";
        let chars: Vec<char> = text.chars().collect();
        for n in 0..chars.len() {
            let prefix: String = chars[..n].iter().collect();
            assert!(parse(&prefix).is_err(), "{prefix:?}");
        }
    }
}
