//! Records of the JSON and CSV files data sets circulate in: a JSON array of objects, JSON
//! Lines (one object a line), or a CSV table with a header row; each record with the line it
//! starts on and its fields by normalised name ([`ident`]: `generated Q` is `generated_q`).

use indexmap::IndexMap;
use serde_json::Value;

use super::{file_error, ident, line_error, table};
use crate::diagnostic::Diagnostic;

/// A record of an input, its fields by normalised name.
pub(crate) struct Record {
    /// The line it starts on.
    pub line: u64,
    /// Its fields, by [`ident`] of their names.
    pub fields: IndexMap<String, Value>,
}

impl Record {
    /// The text of the first of `names` the record has: `Ok(None)` when it has none, or an
    /// empty or `null` one.
    pub(crate) fn text(&self, names: &[&str]) -> Result<Option<&str>, String> {
        for name in names {
            match self.fields.get(*name) {
                None | Some(Value::Null) => continue,
                Some(Value::String(s)) if s.trim().is_empty() => continue,
                Some(Value::String(s)) => return Ok(Some(s)),
                Some(other) => {
                    let kind = match other {
                        Value::Bool(_) => "a truth value",
                        Value::Number(_) => "a number",
                        Value::Array(_) => "a list",
                        _ => "an object",
                    };
                    return Err(format!("the `{name}` field is {kind}, not text"));
                }
            }
        }
        Ok(None)
    }
}

/// A record of an input, or the diagnostic of one that cannot be read.
pub(crate) enum Item {
    /// A record.
    Record(Record),
    /// What is wrong with it.
    Bad(Diagnostic),
}

/// The records of one input, in order.
pub(crate) fn items(bytes: &[u8], name: &str) -> Vec<Item> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if !matches!(first, Some(b'[' | b'{')) {
        return csv_items(bytes, name);
    }
    let Ok(text) = std::str::from_utf8(bytes) else {
        return vec![Item::Bad(
            file_error(name, "is not UTF-8 text").help("save the file as UTF-8"),
        )];
    };
    let (pieces, broken) = if first == Some(&b'[') {
        array_elements(text)
    } else {
        let lines = text
            .split('\n')
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i as u64 + 1, l))
            .collect();
        (lines, None)
    };
    let mut out: Vec<Item> = pieces
        .into_iter()
        .map(|(line, piece)| match serde_json::from_str::<Value>(piece) {
            Ok(Value::Object(map)) => Item::Record(Record {
                line,
                fields: map.into_iter().map(|(k, v)| (ident(&k), v)).collect(),
            }),
            Ok(_) => Item::Bad(line_error(
                name,
                line,
                "the record is not a JSON object; it is left out",
            )),
            Err(e) => {
                // serde's position counts from the record's start; the line is ours.
                let message = e.to_string();
                let message = message
                    .rsplit_once(" at line ")
                    .map_or(message.as_str(), |(m, _)| m);
                Item::Bad(line_error(
                    name,
                    line + e.line().saturating_sub(1) as u64,
                    format!("is not valid JSON ({message}); the record is left out"),
                ))
            }
        })
        .collect();
    if let Some((line, why)) = broken {
        out.push(Item::Bad(line_error(name, line, why)));
    }
    out
}

pub(crate) fn csv_items(bytes: &[u8], name: &str) -> Vec<Item> {
    let table = match table::open(bytes, name) {
        Ok(t) => t,
        Err(d) => return vec![Item::Bad(d)],
    };
    let keys: Vec<String> = table.columns.iter().map(|c| ident(c)).collect();
    table
        .map(|row| match row {
            Ok(row) => Item::Record(Record {
                line: row.line,
                fields: keys
                    .iter()
                    .zip(row.fields)
                    .map(|(k, v)| (k.clone(), Value::String(v)))
                    .collect(),
            }),
            Err(d) => Item::Bad(d),
        })
        .collect()
}

/// Where a JSON array breaks, and how.
pub(crate) type Broken = (u64, String);

/// The elements of a JSON array, each with the line it starts on; and, when the array is
/// broken (not closed, no array at all, text after it), the line and what is wrong, after
/// the elements found before it.
pub(crate) fn array_elements(text: &str) -> (Vec<(u64, &str)>, Option<Broken>) {
    let bytes = text.as_bytes();
    let mut line = 1u64;
    let mut i = 0;
    let skip_space = |i: &mut usize, line: &mut u64| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            if bytes[*i] == b'\n' {
                *line += 1;
            }
            *i += 1;
        }
    };
    let mut out = Vec::new();
    skip_space(&mut i, &mut line);
    if bytes.get(i) != Some(&b'[') {
        return (out, Some((line, "is not a JSON array".into())));
    }
    i += 1;
    loop {
        skip_space(&mut i, &mut line);
        match bytes.get(i) {
            None => return (out, Some((line, "the JSON array is not closed".into()))),
            Some(b']') => {
                i += 1;
                break;
            }
            _ => {}
        }
        let start = i;
        let start_line = line;
        let mut depth = 0usize;
        let mut in_string = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'\n' {
                line += 1;
            }
            if in_string {
                match b {
                    b'\\' => i += 1,
                    b'"' => in_string = false,
                    _ => {}
                }
            } else {
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' if depth > 0 => depth -= 1,
                    b',' | b']' if depth == 0 => break,
                    _ => {}
                }
            }
            i += 1;
        }
        if i >= bytes.len() {
            return (
                out,
                Some((
                    start_line,
                    "the JSON array is not closed after this record".into(),
                )),
            );
        }
        out.push((start_line, text[start..i].trim_end()));
        if bytes[i] == b',' {
            i += 1;
        }
    }
    skip_space(&mut i, &mut line);
    if i < bytes.len() {
        return (out, Some((line, "text follows the JSON array".into())));
    }
    (out, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_elements_know_their_lines() {
        let text = "[\n  {\"a\": \"x]\\\"\"},\n  {\"b\": [1, {\"c\": 2}]}\n  ,\n  3\n]\n";
        let (elements, broken) = array_elements(text);
        assert_eq!(
            elements,
            [
                (2, "{\"a\": \"x]\\\"\"}"),
                (3, "{\"b\": [1, {\"c\": 2}]}"),
                (5, "3")
            ]
        );
        assert_eq!(broken, None);
        assert_eq!(array_elements("[]"), (vec![], None));
        assert_eq!(
            array_elements("[\n{\"a\": 1},\n{\"b\": "),
            (
                vec![(2, "{\"a\": 1}")],
                Some((3, "the JSON array is not closed after this record".into()))
            )
        );
        assert_eq!(
            array_elements("[1] x"),
            (
                vec![(1, "1")],
                Some((1, "text follows the JSON array".into()))
            )
        );
    }
}
