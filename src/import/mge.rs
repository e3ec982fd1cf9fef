//! Moral graphs from Moral Graph Elicitation (Klingefjord, Lowe and Edelman, 2024): values
//! cards and the votes saying which card is wiser than which in a context.
//!
//! An export is one or more JSON files holding any of:
//!
//! - **values cards**: `{"id": 1, "title": "…", "description": "…", "policies": ["…"]}`;
//!   `id` (a number or a string) and `title` are required, other fields optional
//!   (`instructionsDetailed` stands in for a missing `description`, `evaluationCriteria` for
//!   missing `policies`);
//! - **votes**: `{"fromId": 1, "toId": 2, "contextId": "…", "relationship": "upgrade"}`, one
//!   participant's answer to "is card `toId` wiser than card `fromId` in this context?":
//!   `upgrade` (yes), `no_upgrade` or `not_sure`. The answer may be given as `type`, as in
//!   the tool's database, and the context as `context`; a vote without an answer is an
//!   `upgrade`. A `userId`, when given, lets a participant's repeated vote be found;
//! - **summarised edges**, as the tool's graph summary writes them:
//!   `{"sourceValueId": 1, "wiserValueId": 2, "contexts": ["…"], "counts": {"markedWiser": 3,
//!   "markedNotWiser": 1, "markedUnsure": 0}}`.
//!
//! A `.json` file is one document: an object whose `values` list holds cards, whose `edges`
//! list holds votes or summarised edges and whose `upgrades` list holds votes that are
//! upgrades unless they say otherwise (other keys, such as `questions`, are ignored); or a
//! list of cards and votes. A `.jsonl` or `.ndjson` file holds one card or vote a line.
//! Within a list or a JSON Lines file an object is a vote when it has `fromId` or `toId`, a
//! summarised edge when it has `sourceValueId` or `wiserValueId`, and a card otherwise.
//!
//! [`import_graph`] writes one framework: a `value` per card (the id made from the title,
//! the label the title, the description as `describe`, the card's id and policies as
//! comments) and, per (from card, to card, context), `wiser to > from in "context" weight
//! N`, N the number of `upgrade` votes, with a note counting every answer. A triple without
//! an `upgrade` vote cannot be a `wiser` relation (its weight would be 0): it is listed in a
//! comment at the end.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde_json::Value as Json;
use serde_json::value::RawValue;

use super::{
    Ids, Imported, Options, Problems, block, comment_text, file_error, framework_block, layout,
    line_error, quote,
};
use crate::diagnostic::{Code, Diagnostic};

/// Where the data comes from, as written in the generated `source` line.
pub const SOURCE: &str = "Moral Graph Elicitation (Klingefjord, Lowe and Edelman, 2024)";

/// The answers a participant gives about a pair of cards in a context.
pub const ANSWERS: [&str; 3] = ["upgrade", "no_upgrade", "not_sure"];

/// Imports a moral graph from `inputs` (each a file name, shown in messages, and its
/// bytes) as `NAME.qd`, a framework with the id `name` (an identifier).
///
/// Cards come from every input, so votes may name cards of another file. A card or vote
/// that cannot be read, and a vote naming a card no input holds, is reported with its file
/// and line and left out; a card given twice, or a participant's vote given twice, is a
/// warning, and the later one is left out. A file that is not JSON, or not one of the
/// shapes above, stops the import.
pub fn import_graph(inputs: &[(&str, &[u8])], name: &str, options: &Options) -> Imported {
    let mut problems = Problems::new(options);
    let mut entries = Vec::new();
    for (file, bytes) in inputs {
        match read_file(file, bytes, &mut entries) {
            Ok(()) => {}
            Err(d) => {
                problems.warn(d);
                return problems.stop();
            }
        }
    }

    // The cards: every input's, first one wins.
    let mut ids = Ids::new();
    let mut cards: IndexMap<String, Kept> = IndexMap::new();
    let mut left_out: HashSet<String> = HashSet::new();
    let mut votes = Vec::new();
    for entry in entries {
        match entry.item {
            Ok(Item::Card(card)) => {
                if let Some(first) = cards.get(&card.key) {
                    problems.warn(
                        Diagnostic::new(
                            Code::ImportDuplicate,
                            format!(
                                "{} line {}: card `{}` is given twice (first in {} line {}); \
                                 the later one is left out",
                                super::file_name(entry.file),
                                entry.line,
                                card.key,
                                super::file_name(first.file),
                                first.line
                            ),
                        )
                        .path(entry.file),
                    );
                    continue;
                }
                cards.insert(
                    card.key.clone(),
                    Kept {
                        value: ids.for_label(&card.title),
                        card,
                        file: entry.file,
                        line: entry.line,
                    },
                );
            }
            Ok(Item::Votes(v)) => votes.push((entry.file, entry.line, v)),
            Err(Unread {
                message,
                help,
                card,
            }) => {
                if let Some(key) = card {
                    left_out.insert(key);
                }
                let mut d = line_error(entry.file, entry.line, message);
                if let Some(help) = help {
                    d = d.help(help);
                }
                if !problems.report(d) {
                    return problems.stop();
                }
            }
        }
    }

    // The votes, counted per (from card, to card, contexts).
    let mut tallies: IndexMap<Compared, [u64; 3]> = IndexMap::new();
    // Each participant's first vote per comparison: where it stands.
    let mut seen: HashMap<(String, Compared), (&str, u64)> = HashMap::new();
    for (file, line, v) in votes {
        if left_out.contains(&v.from) || left_out.contains(&v.to) {
            // The card's own error says so; its votes go with it.
            continue;
        }
        let unknown: Vec<&str> = [&v.from, &v.to]
            .into_iter()
            .filter(|k| !cards.contains_key(*k))
            .map(String::as_str)
            .collect();
        let what = if v.summary { "the edge" } else { "the vote" };
        let problem = if !unknown.is_empty() {
            let missing = match unknown.as_slice() {
                [k] => format!("no values card has the id `{k}`"),
                _ => format!(
                    "no values cards have the ids `{}` and `{}`",
                    unknown[0], unknown[1]
                ),
            };
            Some(
                line_error(
                    file,
                    line,
                    format!(
                        "{what} from card `{}` to card `{}` names a card no input holds \
                         ({missing}); it is left out",
                        v.from, v.to
                    ),
                )
                .help("give the file that holds the card too, or correct the id"),
            )
        } else if v.from == v.to {
            Some(line_error(
                file,
                line,
                format!(
                    "{what} goes from card `{}` to itself; it is left out",
                    v.from
                ),
            ))
        } else {
            None
        };
        if let Some(d) = problem {
            if !problems.report(d) {
                return problems.stop();
            }
            continue;
        }
        if let Some(user) = &v.user {
            let key = (
                user.clone(),
                (v.from.clone(), v.to.clone(), v.contexts.clone()),
            );
            if let Some((first_file, first_line)) = seen.get(&key) {
                problems.warn(
                    Diagnostic::new(
                        Code::ImportDuplicate,
                        format!(
                            "{} line {line}: participant `{user}` votes on card `{}` against \
                             card `{}` in this context twice (first in {} line {first_line}); \
                             the later vote is left out",
                            super::file_name(file),
                            v.to,
                            v.from,
                            super::file_name(first_file)
                        ),
                    )
                    .path(file),
                );
                continue;
            }
            seen.insert(key, (file, line));
        }
        let counts = tallies.entry((v.from, v.to, v.contexts)).or_default();
        for (total, n) in counts.iter_mut().zip(v.counts) {
            *total += n;
        }
    }

    // The file.
    let mut values = Vec::new();
    for Kept { card, value, .. } in cards.values() {
        let mut entries = vec![format!("# card {}", comment_text(&card.key))];
        if let Some(d) = &card.description {
            entries.push(format!("describe {}", quote(d)));
        }
        if !card.policies.is_empty() {
            entries.push("# Policies:".into());
            for p in &card.policies {
                entries.push(format!("# - {}", comment_text(p)));
            }
        }
        values.push(block(
            &format!("value {value} {}", quote(&card.title)),
            &entries,
        ));
    }
    let mut relations = String::new();
    let mut unwise = String::new();
    for ((from, to, contexts), [upgrade, no_upgrade, not_sure]) in &tallies {
        // Only votes between kept cards are counted.
        let (Some(wiser), Some(other)) = (cards.get(to), cards.get(from)) else {
            continue;
        };
        let (wiser, other) = (&wiser.value, &other.value);
        let context = match contexts.as_slice() {
            [c] => format!(" in {}", quote(c)),
            _ => String::new(),
        };
        let mut note = format!("{upgrade} upgrade, {no_upgrade} no_upgrade, {not_sure} not_sure");
        if contexts.len() > 1 {
            note.push_str(&format!("; in the contexts: {}", contexts.join(" | ")));
        }
        if *upgrade > 0 {
            relations.push_str(&format!(
                "wiser {wiser} > {other}{context} weight {upgrade} note {}\n",
                quote(&note)
            ));
        } else {
            unwise.push_str(&format!(
                "# {}\n",
                comment_text(&format!("{wiser} > {other}{context}: {note}"))
            ));
        }
    }
    if !unwise.is_empty() {
        unwise.insert_str(
            0,
            "# Asked, but no participant judged the card wiser (so no `wiser` relation):\n",
        );
    }
    let names: Vec<&str> = inputs.iter().map(|(f, _)| super::file_name(f)).collect();
    let mut groups = vec![
        format!(
            "# Generated by `quandary import mge` from {}: a value per values card, and\n\
             # `wiser a > b in \"context\" weight N` where N participants judged card `a` wiser \
             than\n# card `b` in that context; each note counts every answer.",
            names.join(", ")
        ),
        framework_block(
            name,
            "Moral graph",
            &[("source", &format!("{SOURCE}: {}", names.join(", ")))],
        ),
    ];
    groups.extend(values);
    groups.push(relations);
    groups.push(unwise);
    problems.finish(vec![(PathBuf::from(format!("{name}.qd")), layout(&groups))])
}

/// What votes compare: the card judged against, the card judged wiser or not, the contexts.
type Compared = (String, String, Vec<String>);

/// A values card.
struct Card {
    /// Its id in the export, as text (`1` and `"1"` are the same card).
    key: String,
    title: String,
    description: Option<String>,
    policies: Vec<String>,
}

/// A card that is imported: its value's id, and where it is given.
struct Kept<'a> {
    card: Card,
    value: String,
    file: &'a str,
    line: u64,
}

/// Votes on one pair of cards: one participant's, or a summarised edge's.
struct Votes {
    /// The card judged against.
    from: String,
    /// The card judged wiser, or not.
    to: String,
    /// The context (none, one, or the contexts of a summarised edge).
    contexts: Vec<String>,
    /// `upgrade`, `no_upgrade` and `not_sure` votes.
    counts: [u64; 3],
    /// Who voted, when known.
    user: Option<String>,
    /// Whether it is a summarised edge.
    summary: bool,
}

enum Item {
    Card(Card),
    Votes(Votes),
}

/// An object that cannot be read: why, maybe how to fix it, and the card's id when it is
/// a card with one.
struct Unread {
    message: String,
    help: Option<String>,
    card: Option<String>,
}

impl From<String> for Unread {
    fn from(message: String) -> Self {
        Unread {
            message,
            help: None,
            card: None,
        }
    }
}

/// One object of an input, where it stands.
struct Entry<'a> {
    file: &'a str,
    line: u64,
    item: Result<Item, Unread>,
}

/// What a list of an export holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    /// `values`: cards.
    Values,
    /// `edges`: votes or summarised edges.
    Edges,
    /// `upgrades`: votes, upgrades unless they say otherwise.
    Upgrades,
    /// A list or a JSON Lines file: any of them, told apart by their keys.
    Any,
}

/// Reads an input's objects into `entries`; an error when the file as a whole cannot be read.
fn read_file<'a>(
    file: &'a str,
    bytes: &[u8],
    entries: &mut Vec<Entry<'a>>,
) -> Result<(), Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Err(
            Diagnostic::new(Code::NotUtf8, format!("`{file}` is not UTF-8 text"))
                .path(file)
                .help("save the file as UTF-8"),
        );
    };
    let extension = Path::new(file)
        .extension()
        .map(|e| e.to_string_lossy().to_lowercase());
    if matches!(extension.as_deref(), Some("jsonl" | "ndjson")) {
        for (n, line) in text.split('\n').enumerate() {
            let line_no = n as u64 + 1;
            if line.trim().is_empty() {
                continue;
            }
            let item = match serde_json::from_str::<Json>(line) {
                Ok(json) => read_item(json, Section::Any),
                Err(e) => Err(Unread::from(format!(
                    "not valid JSON ({} at column {}); the line is left out",
                    super::json_message(&e),
                    e.column()
                ))),
            };
            entries.push(Entry {
                file,
                line: line_no,
                item,
            });
        }
        return Ok(());
    }

    let not_json = |e: serde_json::Error| {
        line_error(
            file,
            e.line() as u64,
            format!(
                "not valid JSON ({} at column {})",
                super::json_message(&e),
                e.column()
            ),
        )
    };
    let shapes = "a moral graph export is an object with a `values` list of cards and an \
                  `edges` or `upgrades` list of votes, or a list of cards and votes";
    let breaks: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line_of = |raw: &RawValue| {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        breaks.partition_point(|&b| b < offset) as u64 + 1
    };
    let mut push = |list: Vec<&RawValue>, section: Section| {
        for raw in list {
            let item = match serde_json::from_str::<Json>(raw.get()) {
                Ok(json) => read_item(json, section),
                Err(e) => Err(Unread::from(super::json_message(&e))),
            };
            entries.push(Entry {
                file,
                line: line_of(raw),
                item,
            });
        }
    };
    match text.trim_start().chars().next() {
        Some('[') => {
            let list: Vec<&RawValue> = serde_json::from_str(text).map_err(not_json)?;
            push(list, Section::Any);
        }
        Some('{') => {
            let object: IndexMap<String, &RawValue> =
                serde_json::from_str(text).map_err(not_json)?;
            let mut found = false;
            for (key, section) in [
                ("values", Section::Values),
                ("edges", Section::Edges),
                ("upgrades", Section::Upgrades),
            ] {
                let Some(raw) = object.get(key) else {
                    continue;
                };
                let list: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
                    line_error(file, line_of(raw), format!("`{key}` is not a list")).help(shapes)
                })?;
                push(list, section);
                found = true;
            }
            if !found {
                let keys: Vec<String> = object.keys().map(|k| format!("`{k}`")).collect();
                return Err(file_error(
                    file,
                    format!(
                        "has no `values`, `edges` or `upgrades` list (its keys are {})",
                        if keys.is_empty() {
                            "none".to_string()
                        } else {
                            keys.join(", ")
                        }
                    ),
                )
                .help(shapes));
            }
        }
        _ => {
            // Not an object or a list: let the parser say what it is.
            serde_json::from_str::<Json>(text).map_err(not_json)?;
            return Err(file_error(file, "is neither an object nor a list").help(shapes));
        }
    }
    Ok(())
}

/// Reads one object of a list.
fn read_item(json: Json, section: Section) -> Result<Item, Unread> {
    let Json::Object(object) = json else {
        return Err(Unread::from("not an object; it is left out".to_string()));
    };
    let has = |k: &str| object.contains_key(k);
    let summary = has("sourceValueId") || has("wiserValueId");
    let vote = has("fromId") || has("toId");
    match section {
        Section::Values => read_card(&object).map(Item::Card),
        Section::Edges | Section::Any if summary => read_summary(&object).map(Item::Votes),
        Section::Edges | Section::Upgrades => read_vote(&object).map(Item::Votes),
        Section::Any if vote => read_vote(&object).map(Item::Votes),
        Section::Any => read_card(&object).map(Item::Card),
    }
}

type Object = serde_json::Map<String, Json>;

/// The card id under `key`: a number or a string, as text.
fn card_id(object: &Object, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => Ok(Some(n.to_string())),
        Some(Json::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not a card id (a number or a string)")),
    }
}

/// The text under the first of `keys` present, if any.
fn text(object: &Object, keys: &[&str]) -> Result<Option<String>, String> {
    for key in keys {
        match object.get(*key) {
            None | Some(Json::Null) => continue,
            Some(Json::String(s)) => return Ok(Some(s.clone())),
            Some(_) => return Err(format!("`{key}` is not a string")),
        }
    }
    Ok(None)
}

fn read_card(object: &Object) -> Result<Card, Unread> {
    let key = card_id(object, "id").map_err(|m| format!("{m}; the card is left out"))?;
    let Some(key) = key else {
        return Err(Unread::from(
            "the card has no `id`; it is left out".to_string(),
        ));
    };
    let fail = |message: String| Unread {
        message: format!("{message}; card `{key}` and the votes naming it are left out"),
        help: None,
        card: Some(key.clone()),
    };
    let title = match text(object, &["title"]).map_err(fail)? {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Err(fail("the card has no `title`".into())),
    };
    let description = text(object, &["description", "instructionsDetailed"])
        .map_err(fail)?
        .filter(|d| !d.trim().is_empty());
    let mut policies = Vec::new();
    for key in ["policies", "evaluationCriteria"] {
        match object.get(key) {
            None | Some(Json::Null) => continue,
            Some(Json::Array(items)) => {
                for item in items {
                    match item {
                        Json::String(s) => policies.push(s.clone()),
                        _ => return Err(fail(format!("`{key}` is not a list of strings"))),
                    }
                }
                break;
            }
            Some(_) => return Err(fail(format!("`{key}` is not a list of strings"))),
        }
    }
    Ok(Card {
        key: key.clone(),
        title,
        description,
        policies,
    })
}

/// The two card ids of a vote or an edge.
fn ends(object: &Object, from: &str, to: &str, what: &str) -> Result<(String, String), String> {
    let from_id = card_id(object, from).map_err(|m| format!("{m}; {what} is left out"))?;
    let to_id = card_id(object, to).map_err(|m| format!("{m}; {what} is left out"))?;
    match (from_id, to_id) {
        (Some(f), Some(t)) => Ok((f, t)),
        (None, _) => Err(format!("{what} has no `{from}`; it is left out")),
        (_, None) => Err(format!("{what} has no `{to}`; it is left out")),
    }
}

fn read_vote(object: &Object) -> Result<Votes, Unread> {
    let (from, to) = ends(object, "fromId", "toId", "the vote")?;
    let left_out = |m: String| format!("{m}; the vote is left out");
    let context = text(object, &["contextId", "context"])
        .map_err(left_out)?
        .filter(|c| !c.trim().is_empty());
    let answer = text(object, &["relationship", "type"]).map_err(left_out)?;
    let answer = answer.unwrap_or_else(|| ANSWERS[0].to_string());
    let Some(index) = ANSWERS.iter().position(|a| *a == answer) else {
        return Err(Unread {
            message: format!(
                "`{answer}` is not an answer (`upgrade`, `no_upgrade` or `not_sure`); the \
                 vote is left out"
            ),
            help: crate::suggest::similar(&answer, ANSWERS).map(|s| format!("did you mean `{s}`?")),
            card: None,
        });
    };
    let mut counts = [0; 3];
    counts[index] = 1;
    let user = card_id(object, "userId").ok().flatten();
    Ok(Votes {
        from,
        to,
        contexts: context.into_iter().collect(),
        counts,
        user,
        summary: false,
    })
}

fn read_summary(object: &Object) -> Result<Votes, Unread> {
    let (from, to) = ends(object, "sourceValueId", "wiserValueId", "the edge")?;
    let left_out = |m: String| Unread::from(format!("{m}; the edge is left out"));
    let mut contexts = Vec::new();
    match object.get("contexts") {
        None | Some(Json::Null) => {}
        Some(Json::Array(items)) => {
            for item in items {
                match item {
                    Json::String(s) if !s.trim().is_empty() => {
                        if !contexts.contains(s) {
                            contexts.push(s.clone());
                        }
                    }
                    Json::String(_) => {}
                    _ => return Err(left_out("`contexts` is not a list of strings".into())),
                }
            }
        }
        Some(_) => return Err(left_out("`contexts` is not a list of strings".into())),
    }
    let Some(Json::Object(counted)) = object.get("counts") else {
        return Err(left_out("the edge has no `counts` object".into()));
    };
    let mut counts = [0; 3];
    for (slot, key) in counts
        .iter_mut()
        .zip(["markedWiser", "markedNotWiser", "markedUnsure"])
    {
        match counted.get(key) {
            None | Some(Json::Null) => {}
            Some(n) => match n.as_u64() {
                Some(n) => *slot = n,
                None => {
                    return Err(left_out(format!(
                        "`counts.{key}` is not a whole number of votes"
                    )));
                }
            },
        }
    }
    Ok(Votes {
        from,
        to,
        contexts,
        counts,
        user: None,
        summary: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn import(inputs: &[(&str, &str)], strict: bool) -> Imported {
        let inputs: Vec<(&str, &[u8])> = inputs.iter().map(|(n, t)| (*n, t.as_bytes())).collect();
        import_graph(&inputs, "g", &Options { strict })
    }

    fn messages(imported: &Imported) -> Vec<&str> {
        imported
            .diagnostics
            .iter()
            .map(|d| d.message.as_str())
            .collect()
    }

    const CARDS: &str =
        r#"[{"id": 1, "title": "Care"}, {"id": "2", "title": "Care", "description": "x"}]"#;

    #[test]
    fn writes_values_and_weighted_wiser_relations() {
        let imported = import(
            &[
                ("cards.json", CARDS),
                (
                    "votes.jsonl",
                    "{\"fromId\": 1, \"toId\": 2, \"contextId\": \"c\"}\n\n\
                     {\"fromId\": \"1\", \"toId\": 2, \"contextId\": \"c\", \"relationship\": \"not_sure\"}\n\
                     {\"fromId\": 2, \"toId\": 1, \"type\": \"no_upgrade\"}\n",
                ),
            ],
            false,
        );
        assert!(
            imported.diagnostics.is_empty(),
            "{:?}",
            imported.diagnostics
        );
        let (path, text) = &imported.files[0];
        assert_eq!(path, &PathBuf::from("g.qd"));
        assert_eq!(
            crate::format::format(text).ok().as_deref(),
            Some(text.as_str())
        );
        let body = text.split_once("\n\nvalue").unwrap().1;
        assert_eq!(
            body,
            " care \"Care\" {\n  # card 1\n}\n\n\
             value care_2 \"Care\" {\n  # card 2\n  describe \"x\"\n}\n\n\
             wiser care_2 > care in \"c\" weight 1 note \"1 upgrade, 0 no_upgrade, 1 not_sure\"\n\n\
             # Asked, but no participant judged the card wiser (so no `wiser` relation):\n\
             # care > care_2: 0 upgrade, 1 no_upgrade, 0 not_sure\n"
        );
    }

    #[test]
    fn entries_that_cannot_be_read_are_left_out() {
        let imported = import(
            &[(
                "graph.json",
                r#"{"values": [
  {"id": 1, "title": "A"},
  {"id": 2},
  {"title": "No id"},
  3,
  {"id": 4, "title": "D", "policies": "one"}
], "edges": [
  {"fromId": 1, "toId": 2},
  {"fromId": 1, "toId": 1},
  {"fromId": 1},
  {"sourceValueId": 1, "wiserValueId": 5, "counts": {}},
  {"sourceValueId": 1, "wiserValueId": 6},
  {"fromId": 1, "toId": 7, "relationship": "upgarde"}
]}"#,
            )],
            false,
        );
        let m = messages(&imported);
        assert_eq!(
            m,
            [
                "graph.json line 3: the card has no `title`; card `2` and the votes naming it are left out",
                "graph.json line 4: the card has no `id`; it is left out",
                "graph.json line 5: not an object; it is left out",
                "graph.json line 6: `policies` is not a list of strings; card `4` and the votes naming it are left out",
                "graph.json line 10: the vote has no `toId`; it is left out",
                "graph.json line 12: the edge has no `counts` object; the edge is left out",
                "graph.json line 13: `upgarde` is not an answer (`upgrade`, `no_upgrade` or `not_sure`); the vote is left out",
                "graph.json line 9: the vote goes from card `1` to itself; it is left out",
                "graph.json line 11: the edge from card `1` to card `5` names a card no input holds (no values card has the id `5`); it is left out",
            ]
        );
        assert_eq!(
            imported.diagnostics[6].help.as_deref(),
            Some("did you mean `upgrade`?")
        );
        // The vote on card 2, whose card is left out, goes with it without a message.
        assert!(
            imported.files[0]
                .1
                .contains("value a \"A\" {\n  # card 1\n}\n")
        );
        assert!(!imported.files[0].1.contains("\nwiser "));
    }

    #[test]
    fn files_that_are_not_exports_stop_the_import() {
        for (text, message) in [
            (
                "{\"values\": [",
                "g.json line 1: not valid JSON (EOF while parsing a list at column 12)",
            ),
            (
                "{\"cards\": []}",
                "g.json: has no `values`, `edges` or `upgrades` list (its keys are `cards`)",
            ),
            ("{\"values\": {}}", "g.json line 1: `values` is not a list"),
            ("\"text\"", "g.json: is neither an object nor a list"),
        ] {
            let imported = import(&[("g.json", text)], false);
            assert!(imported.files.is_empty());
            assert_eq!(messages(&imported), [message]);
        }
    }

    #[test]
    fn strict_stops_at_the_first_error_not_at_a_warning() {
        let inputs = [(
            "g.jsonl",
            "{\"id\": 1, \"title\": \"A\"}\n{\"id\": 1, \"title\": \"A\"}\n{\"id\": 2}\n{\"id\": 3}\n",
        )];
        let imported = import(&inputs, true);
        assert!(imported.files.is_empty());
        assert_eq!(imported.diagnostics.len(), 2);
        assert_eq!(imported.diagnostics[0].code, Code::ImportDuplicate);
        assert!(
            imported.diagnostics[1]
                .message
                .starts_with("g.jsonl line 3")
        );
    }
}
