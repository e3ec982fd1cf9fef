//! YAML for the task and test files: block style, every string double-quoted.
//!
//! A double-quoted scalar means the same to every YAML parser (1.1 or 1.2, js-yaml, PyYAML,
//! libyaml), so nothing a scenario says can turn into a number, a boolean or a comment.
//! Keys are written bare only when they are plain lowercase identifiers that no YAML schema
//! reads as anything but a string.

use serde_json::Value;

/// `value` as a block at `indent` spaces, ending with a line feed. A scalar or an empty
/// collection is one line (`"text"`, `[]`, `{}`).
pub(crate) fn block(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, v) in map {
                out.push_str(&pad);
                push_key(key, out);
                out.push(':');
                if is_inline(v) {
                    out.push(' ');
                    inline(v, out);
                    out.push('\n');
                } else {
                    out.push('\n');
                    block(v, indent + 2, out);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for v in items {
                item(v, indent, out);
            }
        }
        _ => {
            out.push_str(&pad);
            inline(value, out);
            out.push('\n');
        }
    }
}

/// `value` as one item of a block sequence at `indent` spaces.
pub(crate) fn item(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    if is_inline(value) {
        out.push_str(&pad);
        out.push_str("- ");
        inline(value, out);
        out.push('\n');
        return;
    }
    // The item's block at two more spaces, its first indentation turned into the dash.
    let mut inner = String::new();
    block(value, indent + 2, &mut inner);
    out.push_str(&pad);
    out.push_str("- ");
    out.push_str(&inner[indent + 2..]);
}

fn is_inline(value: &Value) -> bool {
    match value {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => true,
    }
}

fn inline(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => quoted(s, out),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// Words that YAML 1.1 reads as booleans or null when bare.
const SPECIAL: [&str; 11] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
];

fn push_key(key: &str, out: &mut String) {
    let plain = key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !SPECIAL.contains(&key);
    if plain {
        out.push_str(key);
    } else {
        quoted(key, out);
    }
}

/// A YAML double-quoted scalar. Besides `"` and `\`, every character outside YAML's
/// printable set is escaped, and so are the characters some parsers read as line breaks
/// (U+0085, U+2028, U+2029) and the byte-order mark.
pub(crate) fn quoted(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20
                || ('\u{7f}'..='\u{9f}').contains(&c)
                || matches!(
                    c,
                    '\u{2028}' | '\u{2029}' | '\u{feff}' | '\u{fffe}' | '\u{ffff}'
                ) =>
            {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn blocks() {
        let mut out = String::new();
        block(
            &json!({"task": "t", "on": 1, "list": [{"a": "x", "b": []}, "y"], "empty": {}}),
            0,
            &mut out,
        );
        assert_eq!(
            out,
            "task: \"t\"\n\"on\": 1\nlist:\n  - a: \"x\"\n    b: []\n  - \"y\"\nempty: {}\n"
        );
    }

    #[test]
    fn escapes() {
        let mut out = String::new();
        quoted("a \"b\"\\\n\u{7f}\u{2028}é", &mut out);
        assert_eq!(out, "\"a \\\"b\\\"\\\\\\n\\u007f\\u2028é\"");
    }
}
