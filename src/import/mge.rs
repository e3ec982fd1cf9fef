//! Moral graphs from Moral Graph Elicitation (Klingefjord, Lowe and Edelman, 2024): values
//! cards, the votes saying which card is wiser than which in a context, and the cases
//! (the questions put to participants) with their contexts and the cards voted for.
//!
//! An export is one or more JSON files — a JSON document (an object or a list) or JSON Lines
//! — each told apart by what its rows hold, never by its name. A row is:
//!
//! - a **values card** (the moral graph's nodes, the tool's canonical cards): `id` (a number
//!   or a string) and `title`, with `description` or `instructionsDetailed`, and `policies`
//!   or `evaluationCriteria`, optional;
//! - a **participant's values card**, which has a `canonicalCardId` or a `chatId`: the card
//!   one participant articulated, deduplicated into the canonical card it names. It is not a
//!   node of the graph; its canonical card counts it;
//! - a **context**: a string `id` and nothing but bookkeeping (`createdAt`, `updatedAt`,
//!   `deliberationId`, `createdInChatId`);
//! - a **case**: an `id` and a `title` with a `question` or a `seedMessage`;
//! - a **link** of a context to a case: `contextId` and `caseId`;
//! - a **vote** for a card in a case: `valuesCardId` and `caseId` (and `userId`);
//! - an **edge**, one participant's answer to "is card `toId` wiser than card `fromId` in
//!   this context?": `fromId`, `toId`, `contextId` (or `context`), `relationship` (or
//!   `type`): `upgrade` (yes, also when absent), `no_upgrade` or `not_sure`; `userId`;
//! - a **summarised edge**, as the tool's graph summary writes them: `sourceValueId`,
//!   `wiserValueId`, `contexts`, `counts` (`markedWiser`, `markedNotWiser`, `markedUnsure`).
//!
//! A row that none of these shapes fits (a card without its `title`, say) takes the kind of
//! most of its file's rows, so that it is reported as what it was meant to be. A JSON
//! document may also be an object whose `values` list holds cards, whose `edges` list holds
//! edges or summarised edges and whose `upgrades` list holds edges.
//!
//! Ids are kept per kind: card `2`, participant's card `2`, vote `2` and case `2` are four
//! different things, so ids that overlap across files never collide.
//!
//! [`import_graph`] writes one framework: a `value` per card (the id made from the title,
//! the label the title, the description as `describe`; the card's id, policies and the
//! participants' cards deduplicated into it as comments) and, per (from card, to card,
//! context), `wiser to > from in "context" weight N`, N the number of `upgrade` votes, with
//! a note counting every answer and naming the cases of the context. A triple without an
//! `upgrade` vote cannot be a `wiser` relation (its weight would be 0): it is listed in a
//! comment at the end, as are the contexts no edge names. Each case becomes a `profile`
//! `case_ID` whose weights are the shares of the case's votes each card received.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use indexmap::IndexMap;
use serde_json::Value as Json;
use serde_json::value::RawValue;

use super::{
    Ids, Imported, Options, Problems, block, comment_text, file_error, framework_block, ident,
    layout, line_error, quote,
};
use crate::diagnostic::{Code, Diagnostic};

/// Where the data comes from, as written in the generated `source` line.
pub const SOURCE: &str = "Moral Graph Elicitation (Klingefjord, Lowe and Edelman, 2024)";

/// The answers a participant gives about a pair of cards in a context.
pub const ANSWERS: [&str; 3] = ["upgrade", "no_upgrade", "not_sure"];

/// How many places an aggregated message lists before it says "and N more".
const LISTED: usize = 5;

/// Imports a moral graph from `inputs` (each a file name, shown in messages, and its
/// bytes) as `NAME.qd`, a framework with the id `name` (an identifier).
///
/// Rows come from every input, in any order: an edge may name cards of another file, a link
/// contexts and cases of others. A row that cannot be read, and a row naming a card, case
/// or context no input holds, is reported with its file and line and left out; the edges
/// and votes naming a card that is left out are reported with it. A card given twice, or a
/// participant's edge or vote given twice, is a warning, and the later one is left out. A
/// file that is not JSON, or not one of the shapes above, stops the import.
pub fn import_graph(inputs: &[(&str, &[u8])], name: &str, options: &Options) -> Imported {
    let mut problems = Problems::new(options);
    let mut entries = Vec::new();
    for (file, bytes) in inputs {
        if let Err(d) = read_file(file, bytes, &mut entries) {
            problems.warn(d);
            return problems.stop();
        }
    }

    let mut ids = Ids::new();
    let mut cards: IndexMap<String, Kept> = IndexMap::new();
    let mut left_out: HashMap<String, (&str, u64)> = HashMap::new();
    let mut user_cards: IndexMap<String, (UserCard, &str, u64)> = IndexMap::new();
    let mut contexts: IndexMap<String, (&str, u64)> = IndexMap::new();
    let mut cases: IndexMap<String, (Case, &str, u64)> = IndexMap::new();
    let mut links = Vec::new();
    let mut votes = Vec::new();
    let mut case_votes = Vec::new();
    let duplicate = |what: &str, file: &str, line: u64, first: (&str, u64)| {
        Diagnostic::new(
            Code::ImportDuplicate,
            format!(
                "{} line {line}: {what} is given twice (first in {} line {}); the later one is \
                 left out",
                super::file_name(file),
                super::file_name(first.0),
                first.1
            ),
        )
        .path(file)
        .help("remove one of the two rows, or give each its own id")
    };
    for entry in entries {
        let (file, line) = (entry.file, entry.line);
        match entry.item {
            Ok(Item::Card(card)) => {
                if let Some(first) = cards.get(&card.key) {
                    let what = format!("card `{}`", card.key);
                    problems.warn(duplicate(&what, file, line, (first.file, first.line)));
                    continue;
                }
                cards.insert(
                    card.key.clone(),
                    Kept {
                        value: ids.for_label(&card.title),
                        card,
                        file,
                        line,
                    },
                );
            }
            Ok(Item::UserCard(card)) => {
                if let Some((_, first_file, first_line)) = user_cards.get(&card.key) {
                    let what = format!("participant's card `{}`", card.key);
                    problems.warn(duplicate(&what, file, line, (first_file, *first_line)));
                    continue;
                }
                user_cards.insert(card.key.clone(), (card, file, line));
            }
            Ok(Item::Context(context)) => {
                if let Some(first) = contexts.get(&context) {
                    let what = format!("context {}", quote(&context));
                    problems.warn(duplicate(&what, file, line, *first));
                    continue;
                }
                contexts.insert(context, (file, line));
            }
            Ok(Item::Case(case)) => {
                if let Some((_, first_file, first_line)) = cases.get(&case.key) {
                    let what = format!("case `{}`", case.key);
                    problems.warn(duplicate(&what, file, line, (first_file, *first_line)));
                    continue;
                }
                cases.insert(case.key.clone(), (case, file, line));
            }
            Ok(Item::Link { context, case }) => links.push((file, line, context, case)),
            Ok(Item::Votes(v)) => votes.push((file, line, v)),
            Ok(Item::CaseVote(v)) => case_votes.push((file, line, v)),
            Err(Unread {
                message,
                help,
                card,
            }) => {
                if let Some(key) = card {
                    left_out.entry(key).or_insert((file, line));
                }
                let mut d = line_error(file, line, message);
                if let Some(help) = help {
                    d = d.help(help);
                }
                if !problems.report(d) {
                    return problems.stop();
                }
            }
        }
    }
    // A card that one row gives and another row fails to give is kept: only cards no row
    // gives are left out.
    left_out.retain(|key, _| !cards.contains_key(key));

    // Rows naming a left-out card: one message per card, listing where they are.
    let mut with_left_out: IndexMap<String, Vec<(&str, u64)>> = IndexMap::new();
    let only_user_cards = cards.is_empty() && !user_cards.is_empty();
    let unknown_card = |file: &str, line: u64, what: String, keys: &[&str]| -> Diagnostic {
        let missing = match keys {
            [k] => format!("no values card has the id `{k}`"),
            _ => format!(
                "no values cards have the ids `{}` and `{}`",
                keys[0], keys[1]
            ),
        };
        let help = if only_user_cards {
            "edges and votes name the canonical values cards, and the inputs hold only \
             participants' cards (rows with `canonicalCardId` or `chatId`): give the file of \
             canonical cards too"
        } else {
            "give the file that holds the card too, or correct the id"
        };
        line_error(
            file,
            line,
            format!("{what} names a card no input holds ({missing}); it is left out"),
        )
        .help(help)
    };

    // The links of contexts to cases.
    let mut cases_of: HashMap<String, Vec<String>> = HashMap::new();
    let mut contexts_of: IndexMap<String, Vec<String>> = IndexMap::new();
    for (file, line, context, case) in links {
        let mut missing = Vec::new();
        if !cases.contains_key(&case) {
            missing.push(format!("no case has the id `{case}`"));
        }
        if !contexts.is_empty() && !contexts.contains_key(&context) {
            missing.push(format!("no context is {}", quote(&context)));
        }
        if !missing.is_empty() {
            let d = line_error(
                file,
                line,
                format!(
                    "the link of context {} to case `{case}` names what no input holds ({}); \
                     it is left out",
                    quote(&context),
                    missing.join(", ")
                ),
            )
            .help("give the files of cases and contexts too, or correct the id");
            if !problems.report(d) {
                return problems.stop();
            }
            continue;
        }
        let list = cases_of.entry(context.clone()).or_default();
        if !list.contains(&case) {
            list.push(case.clone());
            contexts_of.entry(case).or_default().push(context);
        }
    }

    // The edges, counted per (from card, to card, contexts).
    let mut tallies: IndexMap<Compared, [u64; 3]> = IndexMap::new();
    // Each participant's first edge per comparison: where it stands.
    let mut seen: HashMap<(String, Compared), (&str, u64)> = HashMap::new();
    for (file, line, v) in votes {
        let what = if v.summary { "the edge" } else { "the vote" };
        let gone: Vec<&String> = [&v.from, &v.to]
            .into_iter()
            .filter(|k| left_out.contains_key(*k))
            .collect();
        if let Some(key) = gone.first() {
            with_left_out
                .entry((*key).clone())
                .or_default()
                .push((file, line));
            continue;
        }
        let unknown: Vec<&str> = [&v.from, &v.to]
            .into_iter()
            .filter(|k| !cards.contains_key(*k))
            .map(String::as_str)
            .collect();
        let problem = if !unknown.is_empty() {
            Some(unknown_card(
                file,
                line,
                format!("{what} from card `{}` to card `{}`", v.from, v.to),
                &unknown,
            ))
        } else if v.from == v.to {
            Some(
                line_error(
                    file,
                    line,
                    format!(
                        "{what} goes from card `{}` to itself; it is left out",
                        v.from
                    ),
                )
                .help("an edge compares two different cards: correct `fromId` or `toId`"),
            )
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

    // The votes for cards in cases: per case, per card.
    let mut case_tallies: IndexMap<String, IndexMap<String, u64>> = IndexMap::new();
    let mut voters: HashMap<(String, String, String), (&str, u64)> = HashMap::new();
    for (file, line, v) in case_votes {
        if left_out.contains_key(&v.card) {
            with_left_out
                .entry(v.card.clone())
                .or_default()
                .push((file, line));
            continue;
        }
        let problem = if !cards.contains_key(&v.card) {
            Some(unknown_card(
                file,
                line,
                format!("the vote for card `{}` in case `{}`", v.card, v.case),
                &[v.card.as_str()],
            ))
        } else if !cases.contains_key(&v.case) {
            let mut d = line_error(
                file,
                line,
                format!(
                    "the vote for card `{}` names case `{}`, which no input holds; it is left out",
                    v.card, v.case
                ),
            );
            d = d.help(
                match crate::suggest::similar(&v.case, cases.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`? Or give the file that holds the case"),
                    None => "give the file that holds the case too, or correct the id".to_string(),
                },
            );
            Some(d)
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
            let key = (user.clone(), v.card.clone(), v.case.clone());
            if let Some((first_file, first_line)) = voters.get(&key) {
                problems.warn(
                    Diagnostic::new(
                        Code::ImportDuplicate,
                        format!(
                            "{} line {line}: participant `{user}` votes for card `{}` in case \
                             `{}` twice (first in {} line {first_line}); the later vote is left \
                             out",
                            super::file_name(file),
                            v.card,
                            v.case,
                            super::file_name(first_file)
                        ),
                    )
                    .path(file),
                );
                continue;
            }
            voters.insert(key, (file, line));
        }
        *case_tallies
            .entry(v.case)
            .or_default()
            .entry(v.card)
            .or_default() += 1;
    }

    // Edges and votes that went with a card left out: never silently.
    for (key, places) in &with_left_out {
        let (card_file, card_line) = left_out.get(key).copied().unwrap_or(("", 0));
        let mut listed: Vec<String> = places
            .iter()
            .take(LISTED)
            .map(|(f, l)| format!("{} line {l}", super::file_name(f)))
            .collect();
        if places.len() > LISTED {
            listed.push(format!("and {} more", places.len() - LISTED));
        }
        let d = Diagnostic::new(
            Code::ImportRow,
            format!(
                "{} row{} naming card `{key}` {} left out with it ({}): {}",
                places.len(),
                if places.len() == 1 { "" } else { "s" },
                if places.len() == 1 { "is" } else { "are" },
                format_args!("{} line {card_line}", super::file_name(card_file)),
                listed.join(", ")
            ),
        )
        .path(card_file)
        .help(format!(
            "correct card `{key}` in {} line {card_line} and import again",
            super::file_name(card_file)
        ));
        if !problems.report(d) {
            return problems.stop();
        }
    }

    // The participants' cards, under their canonical cards.
    let mut articulated: HashMap<String, Vec<&UserCard>> = HashMap::new();
    let mut unmerged = Vec::new();
    for (card, file, line) in user_cards.values() {
        match &card.canonical {
            Some(c) if cards.contains_key(c) => {
                articulated.entry(c.clone()).or_default().push(card)
            }
            Some(c) => problems.warn(
                Diagnostic::new(
                    Code::ImportDuplicate,
                    format!(
                        "{} line {line}: participant's card `{}` ({}) names canonical card `{c}`, \
                         which no input holds; it is not counted",
                        super::file_name(file),
                        card.key,
                        quote(&card.title)
                    ),
                )
                .path(*file)
                .help("give the file of canonical values cards too"),
            ),
            None => unmerged.push(card),
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
        if let Some(own) = articulated.get(&card.key) {
            entries.push(format!(
                "# Articulated by participants as: {}",
                comment_text(
                    &own.iter()
                        .map(|c| format!("{} (card {})", quote(&c.title), c.key))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            ));
        }
        values.push(block(
            &format!("value {value} {}", quote(&card.title)),
            &entries,
        ));
    }
    let mut relations = String::new();
    let mut unwise = String::new();
    let mut named_contexts: HashSet<&str> = HashSet::new();
    for ((from, to, contexts_of_edge), [upgrade, no_upgrade, not_sure]) in &tallies {
        let (Some(wiser), Some(other)) = (cards.get(to), cards.get(from)) else {
            continue;
        };
        let (wiser, other) = (&wiser.value, &other.value);
        named_contexts.extend(contexts_of_edge.iter().map(String::as_str));
        let context = match contexts_of_edge.as_slice() {
            [c] => format!(" in {}", quote(c)),
            _ => String::new(),
        };
        let mut note = format!("{upgrade} upgrade, {no_upgrade} no_upgrade, {not_sure} not_sure");
        if contexts_of_edge.len() > 1 {
            note.push_str(&format!(
                "; in the contexts: {}",
                contexts_of_edge.join(" | ")
            ));
        }
        let mut edge_cases: Vec<&str> = Vec::new();
        for c in contexts_of_edge {
            for case in cases_of.get(c).into_iter().flatten() {
                if !edge_cases.contains(&case.as_str()) {
                    edge_cases.push(case);
                }
            }
        }
        if !edge_cases.is_empty() {
            note.push_str(&format!("; cases: {}", edge_cases.join(", ")));
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
    let mut unused = String::new();
    for context in contexts
        .keys()
        .filter(|c| !named_contexts.contains(c.as_str()))
    {
        if unused.is_empty() {
            unused.push_str("# Contexts no edge names:\n");
        }
        let of = cases_of
            .get(context)
            .map(|c| format!(" (cases: {})", c.join(", ")))
            .unwrap_or_default();
        unused.push_str(&format!(
            "# {}\n",
            comment_text(&format!("{}{of}", quote(context)))
        ));
    }
    if !unmerged.is_empty() {
        unused.push_str(&format!(
            "# Participants' cards merged into no canonical card: {}\n",
            comment_text(
                &unmerged
                    .iter()
                    .map(|c| format!("{} (card {})", quote(&c.title), c.key))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        ));
    }
    let mut profiles = Vec::new();
    for (key, (case, _, _)) in &cases {
        let tally = case_tallies.get(key);
        let total: u64 = tally.map_or(0, |t| t.values().sum());
        let mut ranked: Vec<(&String, u64)> = tally
            .map(|t| t.iter().map(|(k, n)| (k, *n)).collect())
            .unwrap_or_default();
        // Most votes first; ties in the order of the cards.
        ranked.sort_by_key(|(k, n)| (std::cmp::Reverse(*n), cards.get_index_of(*k)));
        let mut entries = Vec::new();
        if let Some(q) = &case.question {
            entries.push(format!("describe {}", quote(q)));
        }
        entries.push(format!(
            "# case {}: {total} vote{}",
            comment_text(key),
            if total == 1 { "" } else { "s" }
        ));
        if let Some(list) = contexts_of.get(key) {
            entries.push(format!("# contexts: {}", comment_text(&list.join(" | "))));
        }
        let kept: Vec<(&Kept, u64)> = ranked
            .into_iter()
            .filter_map(|(card, n)| cards.get(card).map(|k| (k, n)))
            .collect();
        if !kept.is_empty() {
            entries.push(format!(
                "# votes: {}",
                kept.iter()
                    .map(|(k, n)| format!("{} {n}", k.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        for (k, n) in kept {
            entries.push(format!("{} {}", k.value, share(n, total)));
        }
        let id = ids.unique(format!("case_{}", ident(key)));
        let head = format!("profile {id} {}", quote(&case.title));
        // A profile's block is required, even when empty.
        profiles.push(if entries.is_empty() {
            format!("{head} {{}}")
        } else {
            block(&head, &entries)
        });
    }
    let names: Vec<&str> = inputs.iter().map(|(f, _)| super::file_name(f)).collect();
    let mut groups = vec![
        format!(
            "# Generated by `quandary import mge` from {}: a value per values card, and\n\
             # `wiser a > b in \"context\" weight N` where N participants judged card `a` wiser \
             than\n# card `b` in that context; each note counts every answer and names the \
             context's cases.\n# Each case is a profile: the share of its votes each card \
             received.",
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
    groups.extend(profiles);
    groups.push(unwise);
    groups.push(unused);
    problems.finish(vec![(PathBuf::from(format!("{name}.qd")), layout(&groups))])
}

/// `n / total` with at most four decimals, as a profile weight (`0.5`, `0.3333`, `1`).
fn share(n: u64, total: u64) -> String {
    if total == 0 {
        return "0".into();
    }
    let text = format!("{:.4}", n as f64 / total as f64);
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// What edges compare: the card judged against, the card judged wiser or not, the contexts.
type Compared = (String, String, Vec<String>);

/// A values card.
struct Card {
    /// Its id in the export, as text (`1` and `"1"` are the same card).
    key: String,
    title: String,
    description: Option<String>,
    policies: Vec<String>,
}

/// A card one participant articulated.
struct UserCard {
    key: String,
    title: String,
    /// The canonical card it was deduplicated into.
    canonical: Option<String>,
}

/// A case: a question put to participants.
struct Case {
    key: String,
    title: String,
    question: Option<String>,
}

/// A vote for a card in a case.
struct CaseVote {
    card: String,
    case: String,
    user: Option<String>,
}

/// A card that is imported: its value's id, and where it is given.
struct Kept<'a> {
    card: Card,
    value: String,
    file: &'a str,
    line: u64,
}

/// Edges on one pair of cards: one participant's, or a summarised edge's.
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
    UserCard(UserCard),
    Context(String),
    Case(Case),
    Link { context: String, case: String },
    Votes(Votes),
    CaseVote(CaseVote),
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

/// What a row is, told by its keys.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Card,
    UserCard,
    Context,
    Case,
    Link,
    Edge,
    Summary,
    CaseVote,
}

/// Keys a row of any kind may hold without saying what it is.
const BOOKKEEPING: [&str; 6] = [
    "id",
    "createdAt",
    "updatedAt",
    "deliberationId",
    "createdInChatId",
    "embedding",
];

/// Keys only a values card holds.
const CARD_FIELDS: [&str; 5] = [
    "description",
    "policies",
    "instructionsShort",
    "instructionsDetailed",
    "evaluationCriteria",
];

/// The kind a row's keys say it is, if they say.
fn kind_of(object: &Object) -> Option<Kind> {
    let has = |k: &str| object.contains_key(k);
    if has("valuesCardId") {
        Some(Kind::CaseVote)
    } else if has("fromId") || has("toId") {
        Some(Kind::Edge)
    } else if has("sourceValueId") || has("wiserValueId") {
        Some(Kind::Summary)
    } else if has("contextId") && has("caseId") {
        Some(Kind::Link)
    } else if has("canonicalCardId") || has("chatId") {
        Some(Kind::UserCard)
    } else if has("title") && (has("question") || has("seedMessage")) {
        Some(Kind::Case)
    } else if has("title") || CARD_FIELDS.iter().any(|k| has(k)) {
        Some(Kind::Card)
    } else if matches!(object.get("id"), Some(Json::String(_)))
        && object.keys().all(|k| BOOKKEEPING.contains(&k.as_str()))
    {
        Some(Kind::Context)
    } else {
        None
    }
}

/// What a list of an export holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    /// `values`: cards.
    Values,
    /// `edges`: edges or summarised edges.
    Edges,
    /// `upgrades`: edges, upgrades unless they say otherwise.
    Upgrades,
    /// A list or a JSON Lines file: any rows, told apart by their keys.
    Any,
}

/// One row of a file before it is read: where it stands, and its JSON or why it is none.
type Raw = (u64, Result<Json, Unread>);

/// Reads an input's rows into `entries`; an error when the file as a whole cannot be read.
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
    let shapes = "a moral graph export is JSON: lists (or JSON Lines) of values cards, \
                  participants' cards, contexts, cases, links of contexts to cases, votes or \
                  edges, or an object with a `values` list of cards and an `edges` or \
                  `upgrades` list of edges";
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
        .help(shapes)
    };
    let first = text.trim_start().chars().next();
    // JSON Lines: named so, or objects one a line (the first line an object on its own, the
    // whole no document).
    let whole = serde_json::from_str::<&RawValue>(text);
    let named_lines = std::path::Path::new(file).extension().is_some_and(|e| {
        matches!(
            e.to_string_lossy().to_lowercase().as_str(),
            "jsonl" | "ndjson"
        )
    });
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let lines = named_lines
        || (whole.is_err()
            && matches!(
                serde_json::from_str::<Json>(first_line),
                Ok(Json::Object(_))
            ));
    if lines {
        let mut rows: Vec<Raw> = Vec::new();
        for (n, line) in text.split('\n').enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let json = serde_json::from_str::<Json>(line).map_err(|e| {
                Unread::from(format!(
                    "not valid JSON ({} at column {}); the line is left out",
                    super::json_message(&e),
                    e.column()
                ))
            });
            rows.push((n as u64 + 1, json));
        }
        push_rows(file, rows, Section::Any, entries);
        return Ok(());
    }

    let breaks: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    let line_of = |raw: &RawValue| {
        let offset = (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
        breaks.partition_point(|&b| b < offset) as u64 + 1
    };
    let rows_of = |list: Vec<&RawValue>| -> Vec<Raw> {
        list.into_iter()
            .map(|raw| {
                let json = serde_json::from_str::<Json>(raw.get())
                    .map_err(|e| Unread::from(super::json_message(&e)));
                (line_of(raw), json)
            })
            .collect()
    };
    match first {
        Some('[') => {
            let list: Vec<&RawValue> = serde_json::from_str(text).map_err(not_json)?;
            push_rows(file, rows_of(list), Section::Any, entries);
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
                push_rows(file, rows_of(list), section, entries);
                found = true;
            }
            if !found {
                // One row alone: a file of one card, case, …
                let json: Json = serde_json::from_str(text).map_err(not_json)?;
                if let Json::Object(row) = &json
                    && kind_of(row).is_some()
                {
                    push_rows(file, vec![(1, Ok(json))], Section::Any, entries);
                    return Ok(());
                }
                let keys = crate::suggest::code_list(object.keys());
                return Err(file_error(
                    file,
                    format!(
                        "has no `values`, `edges` or `upgrades` list, and is not one row of an \
                         export (its keys are {})",
                        if keys.is_empty() {
                            "none".to_string()
                        } else {
                            keys
                        }
                    ),
                )
                .help(shapes));
            }
        }
        _ => {
            // Not an object or a list: let the parser say what it is.
            whole.map_err(not_json)?;
            return Err(file_error(file, "is neither an object nor a list").help(shapes));
        }
    }
    Ok(())
}

/// Reads the rows of one list (or JSON Lines file) into `entries`: each row of the kind its
/// keys say, and a row whose keys say nothing of the kind most rows of the list are.
fn push_rows<'a>(file: &'a str, rows: Vec<Raw>, section: Section, entries: &mut Vec<Entry<'a>>) {
    let kinds: Vec<Option<Kind>> = rows
        .iter()
        .map(|(_, json)| match json {
            Ok(Json::Object(o)) => kind_of(o),
            _ => None,
        })
        .collect();
    let mut counts: IndexMap<Kind, usize> = IndexMap::new();
    for k in kinds.iter().flatten() {
        *counts.entry(*k).or_default() += 1;
    }
    let mut most: Option<(Kind, usize)> = None;
    for (k, n) in counts {
        if most.is_none_or(|(_, m)| n > m) {
            most = Some((k, n));
        }
    }
    let file_kind = most.map(|(k, _)| k);
    for ((line, json), kind) in rows.into_iter().zip(kinds) {
        let item = json.and_then(|json| {
            let Json::Object(object) = json else {
                return Err(Unread::from("not an object; it is left out".to_string()));
            };
            let kind = match section {
                Section::Values => kind.filter(|k| *k == Kind::UserCard).unwrap_or(Kind::Card),
                Section::Edges if kind == Some(Kind::Summary) => Kind::Summary,
                Section::Edges | Section::Upgrades => Kind::Edge,
                Section::Any => match kind.or(file_kind) {
                    Some(k) => k,
                    None => {
                        let keys = crate::suggest::code_list(object.keys().take(8));
                        return Err(Unread {
                            message: format!(
                                "cannot tell what the row is (its keys are {}); it is left out",
                                if keys.is_empty() {
                                    "none".to_string()
                                } else {
                                    keys
                                }
                            ),
                            help: Some(
                                "a card has `id` and `title`; a context a string `id`; an edge \
                                 `fromId` and `toId`; a vote `valuesCardId` and `caseId`"
                                    .into(),
                            ),
                            card: None,
                        });
                    }
                },
            };
            read_item(&object, kind)
        });
        entries.push(Entry { file, line, item });
    }
}

/// Reads one row as a `kind`.
fn read_item(object: &Object, kind: Kind) -> Result<Item, Unread> {
    match kind {
        Kind::Card => read_card(object).map(Item::Card),
        Kind::UserCard => read_user_card(object).map(Item::UserCard),
        Kind::Context => read_context(object).map(Item::Context),
        Kind::Case => read_case(object).map(Item::Case),
        Kind::Link => read_link(object),
        Kind::Edge => read_vote(object).map(Item::Votes),
        Kind::Summary => read_summary(object).map(Item::Votes),
        Kind::CaseVote => read_case_vote(object).map(Item::CaseVote),
    }
}

type Object = serde_json::Map<String, Json>;

/// The id under `key`: a number or a string, as text.
fn card_id(object: &Object, key: &str) -> Result<Option<String>, String> {
    match object.get(key) {
        None | Some(Json::Null) => Ok(None),
        Some(Json::Number(n)) => Ok(Some(n.to_string())),
        Some(Json::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{key}` is not an id (a number or a string)")),
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
        return Err(Unread {
            message: "the card has no `id`; it is left out".to_string(),
            help: Some("give the card the `id` its edges and votes name".into()),
            card: None,
        });
    };
    let fail = |message: String| Unread {
        message: format!("{message}; card `{key}` is left out"),
        help: Some(format!("give card `{key}` a `title` (a string)")),
        card: Some(key.clone()),
    };
    let title = match text(object, &["title"]).map_err(fail)? {
        Some(t) if !t.trim().is_empty() => t,
        _ => return Err(fail("the card has no `title`".into())),
    };
    let fail = |message: String| Unread {
        message: format!("{message}; card `{key}` is left out"),
        help: None,
        card: Some(key.clone()),
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

fn read_user_card(object: &Object) -> Result<UserCard, Unread> {
    let left_out = |m: String| Unread::from(format!("{m}; the participant's card is left out"));
    let Some(key) = card_id(object, "id").map_err(left_out)? else {
        return Err(left_out("the participant's card has no `id`".into()));
    };
    let title = text(object, &["title"])
        .map_err(left_out)?
        .unwrap_or_default();
    let canonical = card_id(object, "canonicalCardId").map_err(left_out)?;
    Ok(UserCard {
        key,
        title,
        canonical,
    })
}

fn read_context(object: &Object) -> Result<String, Unread> {
    match text(object, &["id"]) {
        Ok(Some(id)) if !id.trim().is_empty() => Ok(id),
        _ => Err(Unread::from(
            "the context has no `id` (its text); it is left out".to_string(),
        )),
    }
}

fn read_case(object: &Object) -> Result<Case, Unread> {
    let left_out = |m: String| Unread::from(format!("{m}; the case is left out"));
    let Some(key) = card_id(object, "id").map_err(left_out)? else {
        return Err(left_out("the case has no `id`".into()));
    };
    let title = text(object, &["title"])
        .map_err(left_out)?
        .unwrap_or_default();
    let question = text(object, &["question", "seedMessage"])
        .map_err(left_out)?
        .filter(|q| !q.trim().is_empty());
    let title = if title.trim().is_empty() {
        key.clone()
    } else {
        title
    };
    Ok(Case {
        key,
        title,
        question,
    })
}

fn read_link(object: &Object) -> Result<Item, Unread> {
    let left_out = |m: String| Unread::from(format!("{m}; the link is left out"));
    let context = text(object, &["contextId"]).map_err(left_out)?;
    let case = card_id(object, "caseId").map_err(left_out)?;
    match (context, case) {
        (Some(context), Some(case)) if !context.trim().is_empty() => {
            Ok(Item::Link { context, case })
        }
        _ => Err(left_out(
            "the link needs a `contextId` and a `caseId`".into(),
        )),
    }
}

fn read_case_vote(object: &Object) -> Result<CaseVote, Unread> {
    let left_out = |m: String| Unread::from(format!("{m}; the vote is left out"));
    let card = card_id(object, "valuesCardId").map_err(left_out)?;
    let case = card_id(object, "caseId").map_err(left_out)?;
    let (Some(card), Some(case)) = (card, case) else {
        return Err(left_out(
            "the vote needs a `valuesCardId` and a `caseId`".into(),
        ));
    };
    let user = card_id(object, "userId").ok().flatten();
    Ok(CaseVote { card, case, user })
}

/// The two card ids of an edge.
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
                "graph.json line 3: the card has no `title`; card `2` is left out",
                "graph.json line 4: the card has no `id`; it is left out",
                "graph.json line 5: not an object; it is left out",
                "graph.json line 6: `policies` is not a list of strings; card `4` is left out",
                "graph.json line 10: the vote has no `toId`; it is left out",
                "graph.json line 12: the edge has no `counts` object; the edge is left out",
                "graph.json line 13: `upgarde` is not an answer (`upgrade`, `no_upgrade` or `not_sure`); the vote is left out",
                "graph.json line 9: the vote goes from card `1` to itself; it is left out",
                "graph.json line 11: the edge from card `1` to card `5` names a card no input holds (no values card has the id `5`); it is left out",
                "1 row naming card `2` is left out with it (graph.json line 3): graph.json line 8",
            ]
        );
        assert_eq!(
            imported.diagnostics[6].help.as_deref(),
            Some("did you mean `upgrade`?")
        );
        // The vote on card 2, whose card is left out, goes with it, and is reported.
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
                "g.json: has no `values`, `edges` or `upgrades` list, and is not one row of an export (its keys are `cards`)",
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
