//! The dilemmas of DailyDilemmas, one CSV row per action, as fixed scenarios; the model
//! choices recorded in the file as results journals.
//!
//! The per-action file (`dilemmas_with_detail_by_action.csv`) has, for each dilemma `idx`, a
//! `to_do` and a `not_to_do` row (`action_type`) with the dilemma text
//! (`dilemma_situation`), the action (`action`), its values and parties, direct and indirect
//! (`values_direct`, `values_indirect`, `parties_direct`, `parties_indirect`, each a Python
//! list), its `negative_consequence`, the dilemma's `basic_situation`, `topic` and
//! `topic_group`, and, in every `model_resp_<model>_clean` column, the action a model chose
//! for the dilemma (`to_do` or `not_to_do`; `nan` when its answer could not be read).
//!
//! [`super::import`] writes `dilemmas.qd`: one `verbatim` scenario per dilemma (`dd_<idx>`), its
//! `to_do` action first, over the values of `values.qd`, and a suite asking each dilemma
//! once, in file order. It expands that suite into `dilemmas.suite.jsonl`, as
//! `quandary expand DIR/dilemmas.qd` would, and writes one results journal per model
//! column, `<model>.results.jsonl`, in the shape `quandary eval` writes, so that
//! `quandary report` reads it and the `replay` adapter can replay it.
//!
//! A value name matches a value of `values.csv` ignoring case (the data set lowercases its
//! 301 values: `Respect for rules` is `respect for rules`). A name that is not among them is
//! declared in `dilemmas.qd` itself, mapped to no theory, with one warning (`Q0402`) for all
//! of them: the paper leaves such values out of its scores (its `values_names` column holds
//! an action's names that are among the 301), and so do the theory labels, since nothing
//! maps them; the values themselves are kept, so the scenario says everything the row says.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

use super::super::table::{self, Stop};
use super::super::{Ids, Problems, file_error, framework_block, ident, layout, line_error, quote};
use super::{HEADER, LICENSE, SOURCE};
use crate::diagnostic::{Code, Diagnostic};
use crate::import::pyrepr;

/// The source file written.
pub const FILE: &str = "dilemmas.qd";
/// The id of its framework and of its suite.
pub const ID: &str = "dilemmas";
/// The suite file written.
pub const SUITE_FILE: &str = "dilemmas.suite.jsonl";
/// The namespace the values file is imported under.
const NAMESPACE: &str = "dd";

/// The columns a per-action dilemmas file must have.
pub const REQUIRED: [&str; 4] = ["idx", "dilemma_situation", "action_type", "action"];

/// The two actions of a dilemma, in the order they are offered (`Action 1`, `Action 2`).
const ACTIONS: [&str; 2] = ["to_do", "not_to_do"];

/// Whether a CSV header is that of a per-action dilemmas file: it has the [`REQUIRED`]
/// columns (in any order and case).
pub fn is_dilemmas_header<S: AsRef<str>>(header: &[S]) -> bool {
    REQUIRED
        .iter()
        .all(|name| header.iter().any(|h| h.as_ref().eq_ignore_ascii_case(name)))
}

/// Whether a CSV header is that of the data set's dilemma-level file (`dilemma.csv`): each
/// dilemma's situation, without its actions or their values, so no scenario can be made of it.
pub fn is_dilemma_level_header<S: AsRef<str>>(header: &[S]) -> bool {
    let has = |name: &str| {
        header
            .iter()
            .any(|h| h.as_ref().trim().eq_ignore_ascii_case(name))
    };
    has("dilemma_situation") && !has("action")
}

/// The model of a `model_resp_<model>_clean` column.
pub fn model_of_column(column: &str) -> Option<&str> {
    let lower = column.get(..11)?;
    if !lower.eq_ignore_ascii_case("model_resp_") {
        return None;
    }
    let rest = &column[11..];
    let end = rest.len().checked_sub(6)?;
    if !rest.get(end..)?.eq_ignore_ascii_case("_clean") || end == 0 {
        return None;
    }
    Some(&rest[..end])
}

/// A value an action names: one of `values.qd` (by id), or one declared in `dilemmas.qd`
/// (by its name in lowercase).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum ValueRef {
    Known(String),
    Extra(String),
}

/// A value the dilemmas name that the values file lacks.
#[derive(Debug)]
struct Extra {
    id: String,
    /// As first written.
    label: String,
    /// Where it is first named.
    line: u64,
}

#[derive(Debug)]
struct Action {
    label: String,
    consequence: String,
    direct: Vec<ValueRef>,
    indirect: Vec<ValueRef>,
    parties: Vec<String>,
    parties_indirect: Vec<String>,
}

/// What a model chose for a dilemma, as the file records it.
#[derive(Clone, Debug, PartialEq)]
enum Choice {
    /// One of [`ACTIONS`], with the cell as written.
    Action(usize, String),
    /// `nan`: no choice could be read from the model's answer.
    Unread,
    /// The two rows disagree: left out.
    Conflicting,
}

#[derive(Debug)]
struct Dilemma {
    idx: String,
    id: String,
    /// The line of its first row.
    line: u64,
    text: String,
    situation: String,
    topic: String,
    topic_group: String,
    actions: [Option<Action>; 2],
    /// Per model column, the choice and the line it was read on.
    choices: Vec<Option<(Choice, u64)>>,
}

/// The columns found in the header.
struct Columns {
    names: Vec<String>,
    idx: usize,
    text: usize,
    action_type: usize,
    action: usize,
    situation: Option<usize>,
    consequence: Option<usize>,
    values_direct: Option<usize>,
    values_indirect: Option<usize>,
    parties_direct: Option<usize>,
    parties_indirect: Option<usize>,
    topic: Option<usize>,
    topic_group: Option<usize>,
    /// Per model: its name (as in the column) and its column.
    models: Vec<(String, usize)>,
}

/// Reads the per-action file (its bytes, named `path` in messages) against the value files
/// already made (`values`: paths relative to the output directory and texts), and returns
/// the files it makes: `dilemmas.qd`, the expanded suite and one journal per model. `dir`
/// is the output directory as given, under which the suite and the journals record the
/// paths of the files they refer to.
pub(super) fn import(
    csv: &[u8],
    path: &str,
    values: &[(PathBuf, String)],
    dir: &Path,
    problems: &mut Problems,
) -> Result<Vec<(PathBuf, String)>, Stop> {
    let report = table::report;
    let known = match value_ids(values) {
        Ok(k) => k,
        Err(d) => {
            report(problems, d)?;
            return Ok(Vec::new());
        }
    };

    let mut table = match table::open(csv, path) {
        Ok(t) => t,
        Err(d) => {
            report(problems, d)?;
            return Ok(Vec::new());
        }
    };
    let columns = match Columns::find(&table.columns) {
        Ok(c) => c,
        Err(missing) => {
            report(
                problems,
                line_error(path, 1, format!("the header has no `{missing}` column"))
                    .help(format!("the header is `{}`", table.columns.join(","))),
            )?;
            return Ok(Vec::new());
        }
    };

    // Ids of the file: the framework, the namespace, the suite, then scenarios and the
    // values the data names that values.csv lacks, as they come.
    let mut ids = Ids::new();
    for taken in [ID, NAMESPACE] {
        ids.unique(taken.to_string());
    }
    let mut extras: IndexMap<String, Extra> = IndexMap::new();
    let mut dilemmas: IndexMap<String, Dilemma> = IndexMap::new();
    for row in table.by_ref() {
        let row = match row {
            Ok(r) => r,
            Err(d) => {
                report(problems, d)?;
                continue;
            }
        };
        let line = row.line;
        let fields: Vec<&str> = row.fields.iter().map(String::as_str).collect();
        let fail = |why: String| line_error(path, line, format!("{why}; the row is left out"));
        let cell = |c: Option<usize>| c.map_or("", |c| fields[c]);
        let idx = fields[columns.idx].trim();
        if idx.is_empty() {
            report(problems, fail("the `idx` is empty".into()))?;
            continue;
        }
        let Some(side) = ACTIONS
            .iter()
            .position(|a| a.eq_ignore_ascii_case(fields[columns.action_type].trim()))
        else {
            report(
                problems,
                fail(format!(
                    "the `action_type` is \"{}\", not `to_do` or `not_to_do`",
                    fields[columns.action_type]
                )),
            )?;
            continue;
        };
        let label = fields[columns.action];
        if label.trim().is_empty() {
            report(problems, fail("the `action` is empty".into()))?;
            continue;
        }
        let text = fields[columns.text];
        if text.trim().is_empty() {
            report(problems, fail("the `dilemma_situation` is empty".into()))?;
            continue;
        }
        // The lists, each a Python list of strings.
        let mut lists: Vec<Vec<String>> = Vec::with_capacity(4);
        let mut bad = None;
        for (name, column) in [
            ("values_direct", columns.values_direct),
            ("values_indirect", columns.values_indirect),
            ("parties_direct", columns.parties_direct),
            ("parties_indirect", columns.parties_indirect),
        ] {
            match pyrepr::string_list(cell(column)) {
                Ok(list) => lists.push(list),
                Err(why) => {
                    bad = Some(format!(
                        "the `{name}` cell is not a Python list of strings: {why}"
                    ));
                    break;
                }
            }
        }
        if let Some(why) = bad {
            report(problems, fail(why))?;
            continue;
        }
        // The choices of the models, read before the row is taken, so a bad one is
        // reported with the row's line.
        let mut choices = Vec::with_capacity(columns.models.len());
        for (model, column) in &columns.models {
            let raw = fields[*column];
            let choice = match raw.trim().to_ascii_lowercase().as_str() {
                "" | "nan" | "none" => Some(Choice::Unread),
                "to_do" | "to do" | "action 1" | "1" => Some(Choice::Action(0, raw.trim().into())),
                "not_to_do" | "not to do" | "action 2" | "2" => {
                    Some(Choice::Action(1, raw.trim().into()))
                }
                _ => {
                    report(
                        problems,
                        line_error(
                            path,
                            line,
                            format!(
                                "the `{}` cell is \"{raw}\", not `to_do`, `not_to_do`, \
                                 `Action 1`, `Action 2` or `nan`; {model}'s choice for dilemma \
                                 `{idx}` is left out",
                                columns.names[*column]
                            ),
                        ),
                    )?;
                    None
                }
            };
            choices.push(choice);
        }

        let mut refs = |names: &[String]| -> Vec<ValueRef> {
            let mut out: Vec<ValueRef> = Vec::new();
            for name in names {
                let name = name.trim();
                if name.is_empty() {
                    continue;
                }
                let key = name.to_lowercase();
                let r = match known.get(&key) {
                    Some(id) => ValueRef::Known(id.clone()),
                    None => {
                        extras.entry(key.clone()).or_insert_with(|| Extra {
                            id: ids.for_label(name),
                            label: name.to_string(),
                            line,
                        });
                        ValueRef::Extra(key)
                    }
                };
                if !out.contains(&r) {
                    out.push(r);
                }
            }
            out
        };
        let direct = refs(&lists[0]);
        let indirect: Vec<ValueRef> = refs(&lists[1])
            .into_iter()
            .filter(|v| !direct.contains(v))
            .collect();
        let action = Action {
            label: label.to_string(),
            consequence: cell(columns.consequence).to_string(),
            direct,
            indirect,
            parties: unique(&lists[2]),
            parties_indirect: unique(&lists[3]),
        };

        let dilemma = dilemmas.entry(idx.to_string()).or_insert_with(|| Dilemma {
            idx: idx.to_string(),
            id: ids.unique(ident(&format!("dd {idx}"))),
            line,
            text: text.to_string(),
            situation: cell(columns.situation).to_string(),
            topic: cell(columns.topic).trim().to_string(),
            topic_group: cell(columns.topic_group).trim().to_string(),
            actions: [None, None],
            choices: vec![None; columns.models.len()],
        });
        if dilemma.actions[side].is_some() {
            report(
                problems,
                fail(format!(
                    "dilemma `{idx}` has a `{}` row already",
                    ACTIONS[side]
                )),
            )?;
            continue;
        }
        if dilemma.text != text {
            report(
                problems,
                line_error(
                    path,
                    line,
                    format!(
                        "the `dilemma_situation` of dilemma `{idx}` differs from the one on \
                         line {}; that one is kept",
                        dilemma.line
                    ),
                ),
            )?;
        }
        dilemma.actions[side] = Some(action);
        for (m, choice) in choices.into_iter().enumerate() {
            let Some(choice) = choice else {
                dilemma.choices[m] = Some((Choice::Conflicting, line));
                continue;
            };
            match &dilemma.choices[m] {
                None => dilemma.choices[m] = Some((choice, line)),
                Some((Choice::Conflicting, _)) => {}
                Some((earlier, at)) => {
                    let same = match (earlier, &choice) {
                        (Choice::Action(a, _), Choice::Action(b, _)) => a == b,
                        (a, b) => a == b,
                    };
                    if !same {
                        let (model, column) = &columns.models[m];
                        report(
                            problems,
                            line_error(
                                path,
                                line,
                                format!(
                                    "the `{}` cell says {} where line {at} says {}; {model}'s \
                                     choice for dilemma `{idx}` is left out",
                                    columns.names[*column],
                                    describe(&choice),
                                    describe(earlier)
                                ),
                            ),
                        )?;
                        dilemma.choices[m] = Some((Choice::Conflicting, line));
                    }
                }
            }
        }
    }

    // Dilemmas with both actions become scenarios.
    let mut complete = Vec::new();
    for d in dilemmas.into_values() {
        if let Some(missing) = (0..2).find(|&s| d.actions[s].is_none()) {
            report(
                problems,
                line_error(
                    path,
                    d.line,
                    format!(
                        "dilemma `{}` has no `{}` row; it is left out",
                        d.idx, ACTIONS[missing]
                    ),
                ),
            )?;
            continue;
        }
        complete.push(d);
    }

    if complete.is_empty() {
        report(
            problems,
            file_error(
                path,
                "holds no dilemma with both its actions; no dilemmas are written",
            ),
        )?;
        return Ok(Vec::new());
    }

    // The added values, those of the dilemmas written, in the order first named.
    let used: std::collections::HashSet<&str> = complete
        .iter()
        .flat_map(|d| d.actions.iter().flatten())
        .flat_map(|a| a.direct.iter().chain(&a.indirect))
        .filter_map(|r| match r {
            ValueRef::Extra(key) => Some(key.as_str()),
            ValueRef::Known(_) => None,
        })
        .collect();
    let extras: IndexMap<String, Extra> = extras
        .into_iter()
        .filter(|(key, _)| used.contains(key.as_str()))
        .collect();
    if !extras.is_empty() {
        problems.warn(extras_warning(path, &extras));
    }
    let source = source_text(path, &complete, &extras);
    let mut files = vec![(PathBuf::from(FILE), source)];

    // The suite, expanded as `quandary expand DIR/dilemmas.qd` would, and the journals.
    match expand(values, &files[0].1, dir) {
        Ok((suite, lines)) => {
            let journals = journals(path, &columns, &complete, &lines, dir, &suite);
            files.push((PathBuf::from(SUITE_FILE), suite_text(&suite)));
            files.extend(journals);
        }
        Err(d) => report(problems, d)?,
    }
    Ok(files)
}

/// One warning for all the values added: a data set the size of DailyDilemmas names
/// thousands of values outside its 301, and `dilemmas.qd` lists every one.
fn extras_warning(path: &str, extras: &IndexMap<String, Extra>) -> Diagnostic {
    const SHOWN: usize = 5;
    let mut named: Vec<String> = extras
        .values()
        .take(SHOWN)
        .map(|e| format!("\"{}\" (line {})", e.label, e.line))
        .collect();
    if extras.len() > SHOWN {
        named.push(format!("and {} more", extras.len() - SHOWN));
    }
    let (count, they) = match extras.len() {
        1 => ("1 value the dilemmas name is".to_string(), "it is"),
        n => (format!("{n} values the dilemmas name are"), "they are"),
    };
    Diagnostic::new(
        Code::ImportExtraLabel,
        format!(
            "{}: {count} not in the values file: {}; {they} added to `{FILE}`, mapped to no \
             theory",
            super::super::file_name(path),
            named.join(", ")
        ),
    )
    .path(path)
    .help(
        "DailyDilemmas scores the values of values.csv only: an added value counts among the \
         values, never for a theory label",
    )
}

fn describe(choice: &Choice) -> String {
    match choice {
        Choice::Action(a, raw) => format!("\"{raw}\" (`{}`)", ACTIONS[*a]),
        Choice::Unread => "`nan`".into(),
        Choice::Conflicting => "something else".into(),
    }
}

/// The distinct non-empty items, in order.
fn unique(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let item = item.trim();
        if !item.is_empty() && !out.iter().any(|o| o == item) {
            out.push(item.to_string());
        }
    }
    out
}

impl Columns {
    /// The columns of `header`, or the name of a required one it lacks.
    fn find(header: &[String]) -> Result<Columns, &'static str> {
        let names = header.to_vec();
        let find = |name: &str| names.iter().position(|c| c.eq_ignore_ascii_case(name));
        let need = |name: &'static str| find(name).ok_or(name);
        let models = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| model_of_column(n).map(|m| (m.to_string(), i)))
            .collect();
        Ok(Columns {
            idx: need("idx")?,
            text: need("dilemma_situation")?,
            action_type: need("action_type")?,
            action: need("action")?,
            situation: find("basic_situation"),
            consequence: find("negative_consequence"),
            values_direct: find("values_direct"),
            values_indirect: find("values_indirect"),
            parties_direct: find("parties_direct"),
            parties_indirect: find("parties_indirect"),
            topic: find("topic"),
            topic_group: find("topic_group"),
            models,
            names,
        })
    }
}

/// The ids of the values of `values.qd`, by their label in lowercase.
fn value_ids(values: &[(PathBuf, String)]) -> Result<IndexMap<String, String>, Diagnostic> {
    let mut loader = crate::MemoryLoader::new();
    for (p, text) in values {
        loader = loader.with(p, text.clone());
    }
    let loaded = crate::load::load_with(&mut loader, &["values.qd"]);
    if loaded.has_errors() {
        return Err(internal(&loaded.diagnostics));
    }
    let f = &loaded.framework;
    let mut out = IndexMap::new();
    for &v in &f.root_module().values {
        let value = f.value(v);
        let label = value.label.as_deref().unwrap_or(&value.id).to_lowercase();
        out.entry(label).or_insert_with(|| value.id.clone());
    }
    Ok(out)
}

/// Generated files that do not load: a fault of the importer, reported rather than hidden.
fn internal(diagnostics: &[Diagnostic]) -> Diagnostic {
    let first = diagnostics
        .iter()
        .find(|d| d.is_error())
        .map_or("", |d| d.message.as_str());
    Diagnostic::new(
        Code::ImportRow,
        format!("the generated files do not load ({first}); no suite or results are written"),
    )
    .help("this is a fault of the importer: please report it with the input")
}

/// `dilemmas.qd`.
fn source_text(path: &str, dilemmas: &[Dilemma], extras: &IndexMap<String, Extra>) -> String {
    let file = super::super::file_name(path);
    let mut groups = vec![
        format!(
            "{HEADER}\n# One verbatim scenario per dilemma of {file}, over the values of\n\
             # values.qd, and a suite asking each once, in the order of the file."
        ),
        framework_block(
            ID,
            "DailyDilemmas dilemmas",
            &[("source", SOURCE), ("license", LICENSE)],
        ),
        format!("use \"values.qd\" as {NAMESPACE}"),
    ];
    if !extras.is_empty() {
        let mut text = String::from(
            "# Values the dilemmas name that values.csv lacks: mapped to no theory.\n",
        );
        for e in extras.values() {
            text.push_str(&format!("value {} {}\n", e.id, quote(&e.label)));
        }
        groups.push(text);
    }
    let name = |r: &ValueRef| match r {
        ValueRef::Known(id) => format!("{NAMESPACE}.{id}"),
        ValueRef::Extra(key) => extras
            .get(key)
            .map_or_else(|| "value".into(), |e| e.id.clone()),
    };
    let names = |refs: &[ValueRef]| refs.iter().map(name).collect::<Vec<_>>().join(", ");
    let parties = |p: &[String]| p.iter().map(|p| quote(p)).collect::<Vec<_>>().join(", ");
    for d in dilemmas {
        let mut s = match d.situation.trim() {
            "" => format!("scenario {} {{\n", d.id),
            _ => format!("scenario {} {} {{\n", d.id, quote(&d.situation)),
        };
        s.push_str("  verbatim\n");
        if !d.topic_group.is_empty() {
            let topic = if ident(&d.topic_group) == d.topic_group {
                d.topic_group.clone()
            } else {
                quote(&d.topic_group)
            };
            s.push_str(&format!("  topic {topic}\n"));
        }
        let about = match d.topic.as_str() {
            "" => format!("DailyDilemmas dilemma {}", d.idx),
            t => format!("DailyDilemmas dilemma {}, topic {t}", d.idx),
        };
        s.push_str(&format!("  describe {}\n", quote(&about)));
        s.push_str(&format!("  text {}\n", quote(&d.text)));
        for (side, action) in d.actions.iter().enumerate() {
            let Some(a) = action else { continue };
            s.push_str(&format!(
                "  action {} {} {{\n",
                ACTIONS[side],
                quote(&a.label)
            ));
            if !a.direct.is_empty() {
                s.push_str(&format!("    upholds {}\n", names(&a.direct)));
            }
            if !a.indirect.is_empty() {
                s.push_str(&format!("    upholds indirectly {}\n", names(&a.indirect)));
            }
            if !a.parties.is_empty() {
                s.push_str(&format!("    affects {}\n", parties(&a.parties)));
            }
            if !a.parties_indirect.is_empty() {
                s.push_str(&format!(
                    "    affects indirectly {}\n",
                    parties(&a.parties_indirect)
                ));
            }
            if !a.consequence.trim().is_empty() {
                s.push_str(&format!("    describe {}\n", quote(&a.consequence)));
            }
            s.push_str("  }\n");
        }
        s.push('}');
        groups.push(s);
    }
    groups.push(format!(
        "suite {ID} {} {{\n  each 1\n  order fixed\n}}",
        quote(&format!("The dilemmas of {file}, each once"))
    ));
    let text = layout(&groups);
    // The canonical layout, as `quandary fmt` prints it.
    crate::format::format(&text).unwrap_or(text)
}

/// A scenario line of the suite, as far as the journals need it.
struct Line {
    id: String,
    index: u64,
    template: String,
    order: Vec<String>,
}

/// Loads the files under `dir`, as `quandary expand DIR/dilemmas.qd` does, and expands the
/// suite: its bytes and its scenario lines.
fn expand(
    values: &[(PathBuf, String)],
    source: &str,
    dir: &Path,
) -> Result<(Vec<u8>, Vec<Line>), Diagnostic> {
    let mut loader = crate::MemoryLoader::new();
    for (p, text) in values {
        loader = loader.with(dir.join(p), text.clone());
    }
    loader = loader.with(dir.join(FILE), source.to_string());
    let loaded = crate::load::load_with(&mut loader, &[dir.join(FILE)]);
    if loaded.has_errors() {
        return Err(internal(&loaded.diagnostics));
    }
    let f = &loaded.framework;
    let Some(&suite) = f.root_module().suites.first() else {
        return Err(internal(&[]));
    };
    let options = crate::expand::Options::default();
    let expansion = crate::expand::Expansion::new(f, &loaded.sources, suite, &options)
        .map_err(|d| internal(&d))?;
    let mut out = Vec::new();
    expansion
        .run(&mut out, &options, &mut |_, _| {})
        .map_err(|d| internal(&[d]))?;
    let mut lines = Vec::new();
    for line in out.split(|&b| b == b'\n').skip(1) {
        if line.is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_slice(line)
            .map_err(|e| internal(&[Diagnostic::new(Code::Io, e.to_string())]))?;
        let text = |k: &str| {
            v.get(k)
                .and_then(|x| x.as_str())
                .unwrap_or_default()
                .to_string()
        };
        lines.push(Line {
            id: text("id"),
            index: v.get("index").and_then(|i| i.as_u64()).unwrap_or_default(),
            template: text("template"),
            order: v
                .get("actions")
                .and_then(|a| a.as_array())
                .into_iter()
                .flatten()
                .filter_map(|a| a.get("id").and_then(|i| i.as_str()).map(str::to_string))
                .collect(),
        });
    }
    Ok((out, lines))
}

fn suite_text(suite: &[u8]) -> String {
    // The expansion writes JSON, which is UTF-8.
    String::from_utf8_lossy(suite).into_owned()
}

/// One results journal per model column, named after the model.
fn journals(
    path: &str,
    columns: &Columns,
    dilemmas: &[Dilemma],
    lines: &[Line],
    dir: &Path,
    suite: &[u8],
) -> Vec<(PathBuf, String)> {
    let header: serde_json::Value = suite
        .split(|&b| b == b'\n')
        .next()
        .and_then(|l| serde_json::from_slice(l).ok())
        .unwrap_or_default();
    let by_template: IndexMap<&str, &Line> =
        lines.iter().map(|l| (l.template.as_str(), l)).collect();
    let file = super::super::file_name(path);
    let mut names = Ids::new();
    let mut out = Vec::new();
    for (m, (model, column)) in columns.models.iter().enumerate() {
        let stem = if !model.starts_with('.')
            && model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            names.unique(model.clone())
        } else {
            names.for_label(model)
        };
        let mut text = serde_json::json!({
            "quandary": env!("CARGO_PKG_VERSION"),
            "format": "results",
            "suite": header.get("suite"),
            "suite_file": dir.join(SUITE_FILE).display().to_string(),
            "suite_hash": header.get("source_hash"),
            "seed": header.get("seed"),
            "adapter": format!("recorded/{model}"),
            "model": model,
            "parameters": { "from": file, "column": &columns.names[*column] },
            "presentation": null,
            "steers": [],
        })
        .to_string();
        text.push('\n');
        for d in dilemmas {
            let Some(line) = by_template.get(d.id.as_str()) else {
                continue;
            };
            let (choice, position, raw) = match d.choices.get(m).cloned().flatten() {
                Some((Choice::Action(a, raw), _)) => {
                    let id = ACTIONS[a];
                    (
                        id.to_string(),
                        line.order.iter().position(|o| o == id),
                        Some(raw),
                    )
                }
                Some((Choice::Unread, _)) => ("unparsed".to_string(), None, None),
                Some((Choice::Conflicting, _)) | None => continue,
            };
            let record = crate::formats::results::Record {
                scenario: line.id.clone(),
                index: line.index,
                twin_group: None,
                steer: None,
                epoch: 0,
                choice,
                position,
                order: line.order.clone(),
                probabilities: None,
                readings: IndexMap::new(),
                raw,
                rule: None,
                reasoning: None,
                label_mass: None,
                scores: None,
                latency_ms: 0.0,
                tokens: crate::formats::results::Tokens::default(),
                attempts: 1,
            };
            if let Ok(json) = serde_json::to_string(&record) {
                text.push_str(&json);
                text.push('\n');
            }
        }
        out.push((PathBuf::from(format!("{stem}.results.jsonl")), text));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_columns() {
        assert_eq!(model_of_column("model_resp_gpt4_clean"), Some("gpt4"));
        assert_eq!(model_of_column("MODEL_RESP_gpt-3.5_CLEAN"), Some("gpt-3.5"));
        assert_eq!(model_of_column("model_resp__clean"), None);
        assert_eq!(model_of_column("model_resp_gpt4"), None);
        assert_eq!(model_of_column("model_resp_clean"), None);
        assert_eq!(model_of_column("modél_resp_x_clean"), None);
        assert!(is_dilemmas_header(&[
            "IDX",
            "action",
            "Action_Type",
            "dilemma_situation"
        ]));
        assert!(!is_dilemmas_header(&[
            "",
            "idx",
            "basic_situation",
            "dilemma_situation"
        ]));
        assert!(is_dilemma_level_header(&[
            "",
            "idx",
            "basic_situation",
            "dilemma_situation"
        ]));
        assert!(!is_dilemma_level_header(&[
            "idx",
            "dilemma_situation",
            "action_type",
            "action"
        ]));
        assert!(!is_dilemma_level_header(&["value", "wvs"]));
    }
}
