//! Value rules in the shape of the Chinese Values Corpus (CVC; Beijing-AISI, 2025), mapped
//! onto a framework with three levels, such as `rules/cvc.qd` (dimension → core → derived).
//!
//! The input is JSON Lines, one rule a line:
//!
//! ```json
//! {"rule": "Officials should disclose their conflicts of interest.", "level": ["Society"], "core values": ["Justice"], "derived values": ["Procedural justice"]}
//! ```
//!
//! `rule` is required; `level`, `core values` and `derived values` are lists of names (a
//! single name is read as a list of one; a missing key as an empty list); other keys are
//! ignored. A name matches a value of the framework's first, second and third level
//! respectively, by its label, id, aliases or translations, ignoring case, surrounding
//! spaces and the difference between `_` and a space.
//!
//! [`import_rules`] writes one `rule` per row. It upholds the row's derived values, and the
//! core values the row names without naming a derived value under them. A row is left out,
//! with an error naming its line, when it is not a JSON object, has no rule text or names a
//! value the framework lacks. A row naming a derived value under none of its core values,
//! or a core value outside its levels, is imported with a warning ([`Code::ImportReconciled`]):
//! the values as named, the level as the core values' dimension. Every rule is written
//! below a comment `# FILE:LINE` saying which row it comes from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use super::{
    Imported, Options, Problems, block, comment_text, framework_block, ident, layout, line_error,
    quote,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Framework, ValueId};

/// The keys of a row naming its values, by level, outermost first.
pub const KEYS: [&str; 3] = ["level", "core values", "derived values"];

/// The key of a row's text.
pub const RULE_KEY: &str = "rule";

/// Imports rules (the bytes of a JSON Lines file, named `file` in messages) onto
/// `framework`, whose root module holds the hierarchy, as `STEM.qd` (the stem of `file`).
/// The written file imports the framework with `use "USE_PATH" as NS`, NS being the
/// framework's id; `use_path` is the framework file's path relative to the directory the
/// file is written to.
///
/// Rule ids are `r` and the row's line number, padded with zeros to at least four digits
/// (`r0007`), so they are unique and tell where each rule comes from.
pub fn import_rules(
    jsonl: &[u8],
    file: &str,
    framework: &Framework,
    use_path: &str,
    options: &Options,
) -> Imported {
    let module = framework.root_module();
    if module.levels.len() != 3 {
        return Imported::failed(
            Diagnostic::new(
                Code::Io,
                format!(
                    "the framework `{}` has {} level{} ({}); rules are mapped onto three: \
                     dimension, core and derived values",
                    module.display_id(),
                    module.levels.len(),
                    if module.levels.len() == 1 { "" } else { "s" },
                    module.levels.join(", ")
                ),
            )
            .help("give a framework with `levels` of three keywords, such as rules/cvc.qd"),
        );
    }
    let hierarchy = Hierarchy::new(framework);
    let ns = ident(module.display_id());
    let mut problems = Problems::new(options);
    let bytes = jsonl.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(jsonl);
    let line_count = bytes.split(|&b| b == b'\n').count();
    let width = line_count.to_string().len().max(4);
    let mut rules = Vec::new();
    for (n, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = n as u64 + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match read_row(line, &hierarchy) {
            Ok(row) => {
                let upholds: Vec<String> = row
                    .upholds
                    .iter()
                    .map(|&v| format!("{ns}.{}", framework.value(v).id))
                    .collect();
                let entries: Vec<String> = if upholds.is_empty() {
                    Vec::new()
                } else {
                    vec![format!("upholds {}", upholds.join(", "))]
                };
                for (message, help) in &row.warnings {
                    let mut d = Diagnostic::new(
                        Code::ImportReconciled,
                        format!("{} line {line_no}: {message}", super::file_name(file)),
                    )
                    .path(file);
                    if let Some(help) = help {
                        d = d.help(help.clone());
                    }
                    problems.warn(d);
                }
                let head = format!("rule r{line_no:0width$} {}", quote(&row.text));
                // The row's place in the input, as provenance: a comment `fmt` keeps.
                rules.push(format!(
                    "# {}:{line_no}\n{}",
                    comment_text(super::file_name(file)),
                    block(&head, &entries)
                ));
            }
            Err(found) => {
                for (message, help) in found {
                    let mut d =
                        line_error(file, line_no, format!("{message}; the row is left out"));
                    if let Some(help) = help {
                        d = d.help(help);
                    }
                    if !problems.report(d) {
                        return problems.stop();
                    }
                }
            }
        }
    }
    let name = super::file_name(file);
    let stem = Path::new(name)
        .file_stem()
        .map_or_else(|| name.to_string(), |s| s.to_string_lossy().into_owned());
    let mut groups = vec![
        format!(
            "# Generated by `quandary import cvc-rules` from {name} onto the framework `{}`.\n\
             # One rule per row, named after its line (r0007: line 7); each upholds the derived\n\
             # values its row names, and the core values it names without a derived value under\n\
             # them.",
            module.display_id()
        ),
        framework_block(
            &ident(&stem),
            &format!("Rules from {name}"),
            &[("source", name)],
        ),
        format!("use {} as {ns}", quote(use_path)),
    ];
    groups.extend(rules);
    problems.finish(vec![(PathBuf::from(format!("{stem}.qd")), layout(&groups))])
}

/// A problem with a row: the message and, maybe, a help line.
type Problem = (String, Option<String>);

/// A row that can be imported.
struct Row {
    text: String,
    upholds: Vec<ValueId>,
    /// What the import reconciled: a level not the dimension of the core values, a derived
    /// value under another core value than the row names.
    warnings: Vec<Problem>,
}

/// Reads one line: the rule, or every problem found in it.
fn read_row(line: &[u8], hierarchy: &Hierarchy) -> Result<Row, Vec<Problem>> {
    let fail = |message: String| Err(vec![(message, None)]);
    let Ok(text) = std::str::from_utf8(line) else {
        return Err(vec![(
            "the line is not UTF-8 text".into(),
            Some("save the file as UTF-8".into()),
        )]);
    };
    let json: Json = match serde_json::from_str(text) {
        Ok(j) => j,
        Err(e) => {
            return fail(format!(
                "not valid JSON ({} at column {})",
                super::json_message(&e),
                e.column()
            ));
        }
    };
    let Json::Object(row) = json else {
        return Err(vec![(
            "not a JSON object".into(),
            Some(format!(
                "write each rule as an object with the keys `{RULE_KEY}`, `{}`, `{}` and `{}`",
                KEYS[0], KEYS[1], KEYS[2]
            )),
        )]);
    };
    let mut problems: Vec<Problem> = Vec::new();
    let text = match row.get(RULE_KEY) {
        Some(Json::String(s)) if !s.trim().is_empty() => Some(s.clone()),
        Some(Json::String(_)) => {
            problems.push(("the rule is empty".into(), None));
            None
        }
        Some(_) => {
            problems.push((format!("`{RULE_KEY}` is not a string"), None));
            None
        }
        None => {
            problems.push((
                format!("the row has no `{RULE_KEY}`"),
                Some(format!("give the rule's text as `\"{RULE_KEY}\": \"…\"`")),
            ));
            None
        }
    };

    // The values named at each level, resolved.
    let mut named: [Vec<(String, ValueId)>; 3] = Default::default();
    for (level, key) in KEYS.iter().enumerate() {
        let names = match row.get(*key) {
            None | Some(Json::Null) => Vec::new(),
            Some(Json::String(s)) => vec![s.clone()],
            Some(Json::Array(items)) => {
                let mut names = Vec::new();
                for item in items {
                    match item {
                        Json::String(s) => names.push(s.clone()),
                        _ => {
                            problems.push((format!("`{key}` is not a list of names"), None));
                            names.clear();
                            break;
                        }
                    }
                }
                names
            }
            Some(_) => {
                problems.push((format!("`{key}` is not a list of names"), None));
                Vec::new()
            }
        };
        for name in names {
            match hierarchy.find(&name, level) {
                Ok(v) => {
                    if !named[level].iter().any(|(_, w)| *w == v) {
                        named[level].push((name, v));
                    }
                }
                Err(problem) => problems.push(problem),
            }
        }
    }
    let [levels, cores, derived] = &named;
    let f = hierarchy.framework;

    // A derived value under none of the row's core values is kept as named, with a warning.
    let mut warnings: Vec<Problem> = Vec::new();
    for (name, d) in derived {
        let core = f.value(*d).parent;
        if !cores.iter().any(|(_, c)| Some(*c) == core) {
            let given = if cores.is_empty() {
                "none are given".to_string()
            } else {
                quoted_names(cores)
            };
            let under = core.map_or_else(String::new, |c| {
                format!(" (it is under \"{}\")", f.value_label(c))
            });
            warnings.push((
                format!(
                    "\"{name}\" in `{}` is not under any of the row's core values ({given}){under}; \
                     the rule upholds the values as named",
                    KEYS[2]
                ),
                core.map(|c| {
                    format!(
                        "add \"{}\" to `{}`, or correct the derived value",
                        f.value_label(c),
                        KEYS[1]
                    )
                }),
            ));
        }
    }
    // A `level` that is not the dimension of the core values gives way to the dimension the
    // core values lie in, with a warning: the level is derived from the values.
    if !levels.is_empty() {
        for (name, c) in cores {
            let Some(dimension) = f.value(*c).parent else {
                continue;
            };
            if !levels.iter().any(|(_, l)| *l == dimension) {
                warnings.push((
                    format!(
                        "the core value \"{name}\" is in the dimension \"{}\", not in the row's \
                         `{}` ({}); the level is taken from the core value",
                        f.value_label(dimension),
                        KEYS[0],
                        quoted_names(levels)
                    ),
                    Some(format!(
                        "write \"{}\" in `{}`, or correct the core value",
                        f.value_label(dimension),
                        KEYS[0]
                    )),
                ));
            }
        }
    }
    match text {
        Some(text) if problems.is_empty() => {
            let mut upholds: Vec<ValueId> = derived.iter().map(|(_, d)| *d).collect();
            for (_, c) in cores {
                if !derived.iter().any(|(_, d)| f.value(*d).parent == Some(*c)) {
                    upholds.push(*c);
                }
            }
            Ok(Row {
                text,
                upholds,
                warnings,
            })
        }
        _ => Err(problems),
    }
}

/// The names of a row, quoted as the row spells them.
fn quoted_names(values: &[(String, ValueId)]) -> String {
    values
        .iter()
        .map(|(name, _)| format!("\"{name}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The framework's values by every name they go by.
struct Hierarchy<'a> {
    framework: &'a Framework,
    /// Normalised names (see [`normal`]) to the values they name, in definition order.
    by_name: HashMap<String, Vec<ValueId>>,
}

impl<'a> Hierarchy<'a> {
    fn new(framework: &'a Framework) -> Self {
        let mut by_name: HashMap<String, Vec<ValueId>> = HashMap::new();
        for &v in &framework.root_module().values {
            let value = framework.value(v);
            let names = std::iter::once(value.id.as_str())
                .chain(value.label.as_deref())
                .chain(value.aliases.iter().map(String::as_str))
                .chain(value.translations.values().map(String::as_str));
            for name in names {
                let entry = by_name.entry(normal(name)).or_default();
                if !entry.contains(&v) {
                    entry.push(v);
                }
            }
        }
        Hierarchy { framework, by_name }
    }

    fn level_name(&self, level: usize) -> &str {
        &self.framework.root_module().levels[level]
    }

    /// The value of `level` that `name` names.
    fn find(&self, name: &str, level: usize) -> Result<ValueId, Problem> {
        let f = self.framework;
        let key = KEYS[level];
        let all = self
            .by_name
            .get(&normal(name))
            .map_or(&[][..], Vec::as_slice);
        let at_level: Vec<ValueId> = all
            .iter()
            .copied()
            .filter(|&v| f.value(v).level == level)
            .collect();
        match at_level.as_slice() {
            [v] => return Ok(*v),
            [] => {}
            several => {
                return Err((
                    format!(
                        "\"{name}\" in `{key}` names {} {} values",
                        several.len(),
                        self.level_name(level)
                    ),
                    Some(format!(
                        "write the id of the one you mean: {}",
                        several
                            .iter()
                            .map(|&v| format!("`{}`", f.value(v).id))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ));
            }
        }
        let root = f.root_module();
        if let Some(&other) = all.first() {
            let other_level = f.value(other).level;
            return Err((
                format!(
                    "\"{name}\" in `{key}` is a {} value of `{}`, not a {} value",
                    self.level_name(other_level),
                    root.display_id(),
                    self.level_name(level)
                ),
                Some(format!("list it under `{}`", KEYS[other_level])),
            ));
        }
        let labels: Vec<&str> = root
            .values
            .iter()
            .filter(|&&v| f.value(v).level == level)
            .map(|&v| f.value_label(v))
            .collect();
        let help = crate::suggest::similar(name, labels.iter().copied())
            .map(|s| format!("did you mean \"{s}\"?"));
        Err((
            format!(
                "\"{name}\" in `{key}` matches no {} value of `{}`",
                self.level_name(level),
                root.display_id()
            ),
            help,
        ))
    }
}

/// A name as it is compared: lowercase, `_` read as a space, runs of spaces as one, no
/// spaces at either end.
fn normal(name: &str) -> String {
    name.to_lowercase()
        .replace('_', " ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAMEWORK: &str = r#"framework cvc "CVC" { levels dimension, core, derived }
dimension society "Society" {
  zh "社会"
  core justice "Justice" {
    derived procedural_justice "Procedural justice" { zh "程序公正" }
    derived corrective_justice "Corrective justice"
  }
  core equality "Equality" { derived equal_rights "Equal rights" }
}
dimension person "Person" {
  core integrity "Integrity" {
    alias "Honesty"
    derived sincerity "Sincerity"
  }
}
"#;

    fn import(jsonl: &str, strict: bool) -> Imported {
        let loaded = crate::load_str("cvc.qd", FRAMEWORK);
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        import_rules(
            jsonl.as_bytes(),
            "dir/rules.jsonl",
            &loaded.framework,
            "cvc.qd",
            &Options { strict },
        )
    }

    fn messages(imported: &Imported) -> Vec<&str> {
        imported
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect()
    }

    #[test]
    fn writes_a_rule_per_row_in_canonical_layout() {
        let imported = import(
            concat!(
                r#"{"rule": "Say \"no\" \\ plainly.", "level": ["society"], "core values": ["Justice", "Equality"], "derived values": ["程序公正"]}"#,
                "\n\n",
                r#"{"rule": "Be honest.", "level": "Person", "core values": ["honesty"], "extra": 1}"#,
                "\n",
                r#"{"rule": "Nothing named."}"#,
                "\n"
            ),
            false,
        );
        assert!(
            imported.diagnostics.is_empty(),
            "{:?}",
            imported.diagnostics
        );
        let (path, text) = &imported.files[0];
        assert_eq!(path, &PathBuf::from("rules.qd"));
        let body = text.split_once("\n\nframework").unwrap().1;
        assert_eq!(
            body,
            " rules \"Rules from rules.jsonl\" { source \"rules.jsonl\" }\n\nuse \"cvc.qd\" as cvc\n\n\
             # rules.jsonl:1\nrule r0001 \"Say \\\"no\\\" \\\\ plainly.\" { upholds cvc.procedural_justice, cvc.equality }\n\n\
             # rules.jsonl:3\nrule r0003 \"Be honest.\" { upholds cvc.integrity }\n\n\
             # rules.jsonl:4\nrule r0004 \"Nothing named.\"\n"
        );
        assert_eq!(
            crate::format::format(text).ok().as_deref(),
            Some(text.as_str())
        );
    }

    #[test]
    fn bad_rows_are_reported_with_their_lines() {
        let imported = import(
            concat!(
                "{\"rule\": \"Good.\", \"core values\": [\"Justice\"]}\n",
                "not json\n",
                "{\"level\": [\"Society\"]}\n",
                "{\"rule\": \"x\", \"derived values\": [\"Procedual justice\"]}\n",
                "{\"rule\": \"x\", \"core values\": [\"Justice\"], \"derived values\": [\"Sincerity\"]}\n",
                "{\"rule\": \"x\", \"level\": [\"Person\"], \"core values\": [\"Justice\"]}\n",
                "{\"rule\": \"x\", \"derived values\": [\"Justice\"]}\n",
                "[1]\n",
                "{\"rule\": \"Also good.\", \"derived values\": \"Equal rights\", \"core values\": \"Equality\"}\n",
            ),
            false,
        );
        let m = messages(&imported);
        assert_eq!(m.len(), 7, "{m:#?}");
        assert_eq!(
            m[0],
            "rules.jsonl line 2: not valid JSON (expected ident at column 2); the row is left out"
        );
        assert_eq!(
            m[1],
            "rules.jsonl line 3: the row has no `rule`; the row is left out"
        );
        assert_eq!(
            m[2],
            "rules.jsonl line 4: \"Procedual justice\" in `derived values` matches no derived \
             value of `cvc`; the row is left out"
        );
        assert_eq!(
            imported.diagnostics[2].help.as_deref(),
            Some("did you mean \"Procedural justice\"?")
        );
        // Lines 5 and 6 disagree with the framework, and are imported with a warning
        // quoting the row's own spellings.
        assert_eq!(
            m[3],
            "rules.jsonl line 5: \"Sincerity\" in `derived values` is not under any of the row's \
             core values (\"Justice\") (it is under \"Integrity\"); the rule upholds the values as \
             named"
        );
        assert_eq!(
            imported.diagnostics[3].help.as_deref(),
            Some("add \"Integrity\" to `core values`, or correct the derived value")
        );
        assert_eq!(
            m[4],
            "rules.jsonl line 6: the core value \"Justice\" is in the dimension \"Society\", not in \
             the row's `level` (\"Person\"); the level is taken from the core value"
        );
        let codes: Vec<Code> = imported.diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(
            codes,
            [
                Code::ImportRow,
                Code::ImportRow,
                Code::ImportRow,
                Code::ImportReconciled,
                Code::ImportReconciled,
                Code::ImportRow,
                Code::ImportRow
            ]
        );
        assert!(m[5].starts_with("rules.jsonl line 7: \"Justice\" in `derived values` is a core value of `cvc`, not a derived value"));
        assert!(m[6].starts_with("rules.jsonl line 8: not a JSON object"));
        assert!(
            imported
                .diagnostics
                .iter()
                .all(|d| d.path.as_deref() == Some("dir/rules.jsonl"))
        );
        let text = &imported.files[0].1;
        assert!(text.contains("rule r0001 \"Good.\" { upholds cvc.justice }\n"));
        assert!(text.contains("rule r0009 \"Also good.\" { upholds cvc.equal_rights }\n"));
        assert!(text.contains(
            "# rules.jsonl:5\nrule r0005 \"x\" { upholds cvc.sincerity, cvc.justice }\n"
        ));
        assert!(text.contains("# rules.jsonl:6\nrule r0006 \"x\" { upholds cvc.justice }\n"));
        assert_eq!(text.matches("\nrule ").count(), 4);
    }

    #[test]
    fn strict_stops_at_the_first_problem() {
        let imported = import("{\"rule\": \"a\"}\n{}\n{}\n", true);
        assert!(imported.files.is_empty());
        assert_eq!(
            messages(&imported),
            ["rules.jsonl line 2: the row has no `rule`; the row is left out"]
        );
    }

    #[test]
    fn a_framework_without_three_levels_is_refused() {
        let loaded = crate::load_str("flat.qd", "value a \"A\"\n");
        let imported = import_rules(
            b"",
            "r.jsonl",
            &loaded.framework,
            "flat.qd",
            &Options::default(),
        );
        assert!(imported.files.is_empty());
        assert!(
            imported.diagnostics[0]
                .message
                .starts_with("the framework `flat` has 1 level (value)")
        );
    }
}
