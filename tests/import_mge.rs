//! `quandary import mge` through the built binary, on the small invented moral graph of
//! `tests/data/mge/`: four values cards, two contexts and the votes of six participants.
//!
//! `graph.json` holds it all in one export (`values` and `edges`), with a card given twice,
//! a participant's vote given twice and a vote naming a card that does not exist;
//! `cards.json` and `votes.jsonl` hold the same cards and votes in two files, with two bad
//! lines of their own instead; `summary.json` is the tool's summarised shape.
//!
//! The votes ("from → to": is card `to` wiser than card `from`?), by participant:
//!
//! | context | from → to | upgrade | no_upgrade | not_sure |
//! |---|---|---|---|---|
//! | grieving | 4 Gentle Reassurance → 1 Attentive Listening | 1, 2, 3 | 4 | |
//! | grieving | 3 Honest Counsel → 1 Attentive Listening | 1, 2 | | 5 |
//! | medical decision | 4 Gentle Reassurance → 2 Informed Autonomy | 1, 3 (1 again: left out) | | |
//! | medical decision | 1 Attentive Listening → 2 Informed Autonomy | 2 | 4 | |
//! | medical decision | 3 Honest Counsel → 2 Informed Autonomy | | 1, 5 | |
//! | medical decision | 4 Gentle Reassurance → 3 Honest Counsel | 5 | | |
//! | grieving | 2 Informed Autonomy → 9 (no such card: left out) | 6 | | |
//!
//! So five `wiser` relations, weighted 3, 2, 2, 1 and 1, and one pair that nobody upgraded
//! (Honest Counsel → Informed Autonomy), which is a comment.

use std::path::Path;
use std::process::Output;

#[path = "support/cli.rs"]
mod cli;

use cli::{TempDir, files_in, root, stderr, stdout};

/// Runs the binary in the crate's folder.
fn quandary(args: &[&str]) -> Output {
    cli::quandary(&root(), args)
}

const DATA: &str = "tests/data/mge";
const GRIEF: &str = "When someone is grieving";
const MEDICAL: &str = "When someone faces a hard medical decision";

/// Imports the named files of `tests/data/mge` into `out_dir`.
fn import(inputs: &[&str], out_dir: &Path, extra: &[&str]) -> Output {
    let paths: Vec<String> = inputs.iter().map(|i| format!("{DATA}/{i}")).collect();
    let mut args = vec!["import", "mge"];
    args.extend(paths.iter().map(String::as_str));
    args.extend(["-o", out_dir.to_str().unwrap(), "--error-format", "plain"]);
    args.extend(extra);
    quandary(&args)
}

/// The written file checks without errors or warnings and is in the canonical layout.
fn assert_checks(path: &Path) {
    let check = quandary(&["check", path.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(stderr(&check).is_empty(), "{}", stderr(&check));
    let fmt = quandary(&["fmt", "--check", path.to_str().unwrap()]);
    assert_eq!(fmt.status.code(), Some(0), "{}", stderr(&fmt));
}

/// The `wiser` relations of a file: (wiser, other, context, weight, note).
fn relations(path: &Path) -> Vec<(String, String, Option<String>, f64, String)> {
    let loaded = quandary::load_path(path);
    assert!(!loaded.has_errors());
    let f = &loaded.framework;
    f.relations
        .iter()
        .map(|r| {
            let name = |e: quandary::model::Endpoint| match e {
                quandary::model::Endpoint::Value(v) => f.value(v).id.clone(),
                quandary::model::Endpoint::Rule(r) => f.rule(r).id.clone(),
            };
            (
                name(r.left),
                name(r.right),
                r.context.clone(),
                r.weight.unwrap(),
                r.note.clone().unwrap(),
            )
        })
        .collect()
}

fn expected_relations() -> Vec<(String, String, Option<String>, f64, String)> {
    [
        (
            "attentive_listening",
            "gentle_reassurance",
            GRIEF,
            3.0,
            "3 upgrade, 1 no_upgrade, 0 not_sure",
        ),
        (
            "attentive_listening",
            "honest_counsel",
            GRIEF,
            2.0,
            "2 upgrade, 0 no_upgrade, 1 not_sure",
        ),
        (
            "informed_autonomy",
            "gentle_reassurance",
            MEDICAL,
            2.0,
            "2 upgrade, 0 no_upgrade, 0 not_sure",
        ),
        (
            "informed_autonomy",
            "attentive_listening",
            MEDICAL,
            1.0,
            "1 upgrade, 1 no_upgrade, 0 not_sure",
        ),
        (
            "honest_counsel",
            "gentle_reassurance",
            MEDICAL,
            1.0,
            "1 upgrade, 0 no_upgrade, 0 not_sure",
        ),
    ]
    .into_iter()
    .map(|(a, b, c, w, n)| (a.into(), b.into(), Some(c.into()), w, n.into()))
    .collect()
}

#[test]
fn one_file_export_becomes_a_framework() {
    let tmp = TempDir::new("one");
    let out_dir = tmp.path("out");
    let out = import(&["graph.json"], &out_dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let written = out_dir.join("graph.qd");
    assert_eq!(stdout(&out), format!("{}\n", written.display()));
    let err = stderr(&out);
    for expected in [
        "warning[Q0403]: graph.json line 32: card `2` is given twice (first in graph.json line \
         12); the later one is left out",
        "warning[Q0403]: graph.json line 53: participant `1` votes on card `2` against card `4` \
         in this context twice (first in graph.json line 46); the later vote is left out",
        "error[Q0401]: graph.json line 54: the vote from card `2` to card `9` names a card no \
         input holds (no values card has the id `9`); it is left out",
        "1 error, 2 warnings",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
    assert_checks(&written);

    // One value per card, named after its title, described by its description.
    let loaded = quandary::load_path(&written);
    let f = &loaded.framework;
    let values: Vec<(&str, &str, Option<&str>)> = f
        .root_module()
        .values
        .iter()
        .map(|&v| {
            let v = f.value(v);
            (
                v.id.as_str(),
                v.label.as_deref().unwrap(),
                v.describe.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        values,
        [
            (
                "attentive_listening",
                "Attentive Listening",
                Some("Giving someone room to say what they feel before offering anything.")
            ),
            (
                "informed_autonomy",
                "Informed Autonomy",
                Some(
                    "Helping a person see their options clearly, so that the choice stays theirs."
                )
            ),
            (
                "honest_counsel",
                "Honest Counsel",
                Some("Saying plainly what one believes will happen, even when it is unwelcome.")
            ),
            (
                "gentle_reassurance",
                "Gentle Reassurance",
                Some("Calming someone's fear with warmth before turning to the facts.")
            ),
        ]
    );
    assert_eq!(relations(&written), expected_relations());
    let text = std::fs::read_to_string(&written).unwrap();
    // The policies are comments in the card's block; the pair nobody upgraded is a comment.
    assert!(text.contains(
        "value gentle_reassurance \"Gentle Reassurance\" {\n  # card 4\n  \
         describe \"Calming someone's fear with warmth before turning to the facts.\"\n  \
         # Policies:\n  # - WORDS that soften \"the worst\" without denying it\n}\n"
    ));
    assert!(text.ends_with(
        "# Asked, but no participant judged the card wiser (so no `wiser` relation):\n\
         # informed_autonomy > honest_counsel in \"When someone faces a hard medical decision\": \
         0 upgrade, 2 no_upgrade, 0 not_sure\n"
    ));
}

#[test]
fn the_ranking_follows_the_votes() {
    let tmp = TempDir::new("rank");
    let out_dir = tmp.path("out");
    import(&["graph.json"], &out_dir, &[]);
    let out = quandary(&[
        "graph",
        "--rank",
        out_dir.join("graph.qd").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // By hand, with R Gentle Reassurance, H Honest Counsel, L Attentive Listening and A
    // Informed Autonomy: an edge "a is wiser than b" passes b's rank to a in proportion to
    // its weight among b's edges. R's edges weigh 3 (to L), 2 (to A) and 1 (to H), H's 2 (to
    // L), L's 1 (to A); A is wiser than nothing, so it passes its rank to all four equally.
    // With damping 0.85 and four values, each gets 0.15/4 + 0.85·A/4 = 0.0375 + 0.2125·A
    // from that, which is all R gets:
    //   R = 0.0375 + 0.2125·A
    //   H = R + 0.85·R/6                = 1.141667·R
    //   L = R + 0.85·(3R/6 + H)          = 2.395417·R
    //   A = R + 0.85·(2R/6 + L)          = 3.319437·R
    // The four add up to 7.856521·R = 1, so R = 0.1273, H = 0.1453, L = 0.3049, A = 0.4225:
    // the card wiser than everything it was compared with comes first, the card judged less
    // wise than every other last.
    let table = stdout(&out);
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().take(3).collect())
        .collect();
    assert_eq!(
        rows,
        [
            ["1", "graph.informed_autonomy", "0.4225"],
            ["2", "graph.attentive_listening", "0.3049"],
            ["3", "graph.honest_counsel", "0.1453"],
            ["4", "graph.gentle_reassurance", "0.1273"],
        ],
        "{table}"
    );
}

#[test]
fn cards_and_votes_may_come_in_separate_files() {
    let tmp = TempDir::new("split");
    let out_dir = tmp.path("out");
    let out = import(&["cards.json", "votes.jsonl"], &out_dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "error[Q0401]: votes.jsonl line 15: not valid JSON (expected ident at column 2); the line \
         is left out",
        "error[Q0401]: votes.jsonl line 16: `upgraded` is not an answer (`upgrade`, `no_upgrade` \
         or `not_sure`); the vote is left out",
        "help: did you mean `upgrade`?",
        "2 errors",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
    // Named after the first input; the same values and relations as the one-file export
    // (votes.jsonl gives the answer as `type` and the context as `context`, and line 3's
    // vote without an answer is an upgrade).
    let written = out_dir.join("cards.qd");
    assert_checks(&written);
    assert_eq!(relations(&written), expected_relations());
    let one = TempDir::new("split-one");
    import(&["graph.json"], &one.0, &[]);
    let body = |path: &Path| {
        let text = std::fs::read_to_string(path).unwrap();
        text.split_once("\n}\n\nvalue ").unwrap().1.to_string()
    };
    assert_eq!(body(&written), body(&one.path("graph.qd")));
}

#[test]
fn summarised_edges_keep_their_counts() {
    let tmp = TempDir::new("summary");
    let out = import(&["summary.json"], &tmp.0, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let written = tmp.path("summary.qd");
    assert_checks(&written);
    // markedWiser is the weight; an edge of several contexts has none, and lists them.
    assert_eq!(
        relations(&written),
        [
            (
                "attentive_listening".to_string(),
                "honest_counsel".to_string(),
                Some(GRIEF.to_string()),
                4.0,
                "4 upgrade, 1 no_upgrade, 1 not_sure".to_string()
            ),
            (
                "informed_autonomy".to_string(),
                "attentive_listening".to_string(),
                None,
                2.0,
                format!(
                    "2 upgrade, 0 no_upgrade, 0 not_sure; in the contexts: {GRIEF} | {MEDICAL}"
                )
            ),
        ]
    );
}

#[test]
fn strict_writes_nothing() {
    let tmp = TempDir::new("strict");
    let out_dir = tmp.path("out");
    let out = import(&["cards.json", "votes.jsonl"], &out_dir, &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("votes.jsonl line 15"), "{err}");
    assert!(!err.contains("line 16"), "{err}");
    assert!(stdout(&out).is_empty());
    assert!(files_in(&out_dir).is_empty());

    // Warnings do not stop a strict import; the error after them does.
    let out = import(&["graph.json"], &out_dir, &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("1 error, 2 warnings"),
        "{}",
        stderr(&out)
    );
    assert!(files_in(&out_dir).is_empty());
}

#[test]
fn output_is_deterministic_and_named_on_request() {
    let tmp = TempDir::new("again");
    let (a, b) = (tmp.path("a"), tmp.path("b"));
    import(&["graph.json"], &a, &[]);
    import(&["graph.json"], &b, &[]);
    let first = std::fs::read(a.join("graph.qd")).unwrap();
    assert_eq!(first, std::fs::read(b.join("graph.qd")).unwrap());
    import(&["graph.json"], &a, &[]);
    assert_eq!(first, std::fs::read(a.join("graph.qd")).unwrap());
    assert_eq!(files_in(&a).len(), 1, "no temporary files left");

    let out = import(&["summary.json"], &a, &["--name", "grief_graph"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(a.join("grief_graph.qd")).unwrap();
    assert!(
        text.contains("\nframework grief_graph \"Moral graph\" {\n"),
        "{text}"
    );

    let out = import(&["summary.json"], &a, &["--name", "Grief graph"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("`Grief graph` is not an identifier"),
        "{}",
        stderr(&out)
    );
}

/// `tests/data/mge/export/` is the same graph as the tool's database saves it: one JSON list
/// per table, named after the table, with ids that overlap from file to file — canonical
/// cards 1–4, participants' cards 1–5 (each naming its canonical card, card 5 none), votes
/// 1–9 for cards in the cases `grief` and `diagnosis`, and the contexts, cases and the links
/// between them. Its bad rows: the edge to card 9, which no file holds; participant 1's
/// second vote for card 1 in `grief` (Vote.json line 9); a vote in the case `divorce`, which
/// no file holds (line 10).
const EXPORT: &str = "export";

/// A profile: its id, its label, and its (value, weight) pairs.
type Profile<'a> = (&'a str, &'a str, Vec<(&'a str, f64)>);

#[test]
fn a_database_export_folder_keeps_every_relation_and_its_cases() {
    let tmp = TempDir::new("folder");
    let out_dir = tmp.path("out");
    let out = import(&[EXPORT], &out_dir, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    for expected in [
        "error[Q0401]: Edge.json line 16: the vote from card `2` to card `9` names a card no \
         input holds (no values card has the id `9`); it is left out",
        "warning[Q0403]: Vote.json line 9: participant `1` votes for card `1` in case `grief` \
         twice (first in Vote.json line 2); the later vote is left out",
        "error[Q0401]: Vote.json line 10: the vote for card `3` names case `divorce`, which no \
         input holds; it is left out",
        "2 errors, 1 warning",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
    // Nothing is read as a card with no title: votes, contexts and cases are what they are.
    assert!(!err.contains("no `title`"), "{err}");
    let written = out_dir.join("export.qd");
    assert_eq!(stdout(&out), format!("{}\n", written.display()));
    assert_checks(&written);

    // The canonical cards are the values, with their own titles, whatever the ids of the
    // participants' cards; the five relations of the one-file export all survive.
    let loaded = quandary::load_path(&written);
    let f = &loaded.framework;
    let values: Vec<(&str, &str)> = f
        .root_module()
        .values
        .iter()
        .map(|&v| (f.value(v).id.as_str(), f.value(v).label.as_deref().unwrap()))
        .collect();
    assert_eq!(
        values,
        [
            ("attentive_listening", "Attentive Listening"),
            ("informed_autonomy", "Informed Autonomy"),
            ("honest_counsel", "Honest Counsel"),
            ("gentle_reassurance", "Gentle Reassurance"),
        ]
    );
    let with_cases = |note: &str, cases: &str| format!("{note}; cases: {cases}");
    let expected: Vec<_> = expected_relations()
        .into_iter()
        .map(|(a, b, c, w, n)| {
            let cases = if c.as_deref() == Some(GRIEF) {
                "grief, diagnosis"
            } else {
                "diagnosis"
            };
            (a, b, c, w, with_cases(&n, cases))
        })
        .collect();
    assert_eq!(relations(&written), expected);

    // Each case is a profile: the shares of its votes (grief: 2 for card 1, 1 for card 4;
    // diagnosis: 3 for card 2, 1 for card 3 — the duplicate and the `divorce` vote left out).
    let profiles: Vec<Profile> = f
        .profiles
        .iter()
        .map(|p| {
            (
                p.id.as_str(),
                p.label.as_deref().unwrap(),
                p.weights
                    .iter()
                    .map(|&(v, w)| (f.value(v).id.as_str(), w))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        profiles,
        [
            (
                "case_grief",
                "A friend's loss",
                vec![
                    ("attentive_listening", 0.6667),
                    ("gentle_reassurance", 0.3333)
                ]
            ),
            (
                "case_diagnosis",
                "A frightening diagnosis",
                vec![("informed_autonomy", 0.75), ("honest_counsel", 0.25)]
            ),
        ]
    );
    let text = std::fs::read_to_string(&written).unwrap();
    for expected in [
        // The participants' cards are counted under their canonical card, never as values.
        "  # Articulated by participants as: \"Listening Without Fixing\" (card 1), \"Room To \
         Grieve\" (card 2)\n",
        "  describe \"My best friend's mother died yesterday. What should I say to her?\"\n  \
         # case grief: 3 votes\n  # contexts: When someone is grieving\n  \
         # votes: attentive_listening 2, gentle_reassurance 1\n",
        "# Contexts no edge names:\n# \"When a friend asks to borrow money\"\n",
        "# Participants' cards merged into no canonical card: \"Warm First\" (card 5)\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains("value listening_without_fixing"), "{text}");
}

#[test]
fn the_export_files_may_come_in_any_order() {
    let tmp = TempDir::new("order");
    let (folder, shuffled) = (tmp.path("folder"), tmp.path("shuffled"));
    import(&[EXPORT], &folder, &[]);
    let files = [
        "Vote.json",
        "Edge.json",
        "ValuesCard.json",
        "ContextsOnCases.json",
        "Context.json",
        "CanonicalValuesCard.json",
        "Case.json",
    ];
    let paths: Vec<String> = files.iter().map(|f| format!("{EXPORT}/{f}")).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    let out = import(&paths, &shuffled, &["--name", "export"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let a = shuffled.join("export.qd");
    assert_eq!(relations(&a), relations(&folder.join("export.qd")));
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(
        text.contains("profile case_grief \"A friend's loss\""),
        "{text}"
    );
}

#[test]
fn participants_cards_alone_are_not_the_graph() {
    let tmp = TempDir::new("user-cards");
    let out = import(
        &[
            &format!("{EXPORT}/ValuesCard.json"),
            &format!("{EXPORT}/Edge.json"),
        ],
        &tmp.0,
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    // Every edge is reported (none is silently dropped), and the help says what is missing.
    assert_eq!(
        err.matches("error[Q0401]: Edge.json line").count(),
        15,
        "{err}"
    );
    assert!(
        err.contains(
            "help: edges and votes name the canonical values cards, and the inputs hold only \
             participants' cards (rows with `canonicalCardId` or `chatId`): give the file of \
             canonical cards too"
        ),
        "{err}"
    );
    // No participant's title becomes a value.
    let text = std::fs::read_to_string(tmp.path("valuescard.qd")).unwrap();
    assert!(!text.contains("\nvalue "), "{text}");
}

#[test]
fn a_bad_row_never_knocks_out_another_files_card() {
    // `untitled_card.json` holds a card 2 without a title: it is reported, and card 2 of
    // CanonicalValuesCard.json, with the edges naming it, stays.
    let tmp = TempDir::new("untitled");
    let out = import(&[EXPORT, "untitled_card.json"], &tmp.0, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(
            "error[Q0401]: untitled_card.json line 2: the card has no `title`; card `2` is left out\n  help: give card `2` a `title` (a string)"
        ),
        "{err}"
    );
    let rels = relations(&tmp.path("export.qd"));
    assert_eq!(rels.len(), 5, "{rels:?}");
    assert!(
        rels.iter().filter(|r| r.0 == "informed_autonomy").count() == 2,
        "{rels:?}"
    );
}

#[test]
fn the_ranking_can_be_per_case_context_votes_and_majority() {
    let tmp = TempDir::new("rank-filters");
    import(&[EXPORT], &tmp.0, &[]);
    let file = tmp.path("export.qd");
    let wiser = |extra: &[&str]| -> Vec<(String, String)> {
        let mut args = vec!["graph", "--format", "json"];
        args.extend(extra);
        args.push(file.to_str().unwrap());
        let out = quandary(&args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
        json["edges"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["kind"] == "wiser")
            .map(|e| {
                let short = |k: &str| {
                    e[k].as_str()
                        .unwrap()
                        .trim_start_matches("export.")
                        .to_string()
                };
                (short("from"), short("to"))
            })
            .collect()
    };
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    // The case `grief` is linked to the grieving context only.
    assert_eq!(
        wiser(&["--case", "grief"]),
        [
            pair("attentive_listening", "gentle_reassurance"),
            pair("attentive_listening", "honest_counsel")
        ]
    );
    assert_eq!(wiser(&["--context", MEDICAL]).len(), 3);
    // At least 3 votes: 3+1+0 and 2+0+1.
    assert_eq!(wiser(&["--min-votes", "3"]), wiser(&["--case", "grief"]));
    // A majority upgraded every edge but Attentive Listening → Informed Autonomy (1 of 2).
    let majority = wiser(&["--majority"]);
    assert_eq!(majority.len(), 4);
    assert!(!majority.contains(&pair("informed_autonomy", "attentive_listening")));

    // The ranking table of one case: its own winner first.
    let out = quandary(&["graph", "--rank", "--case", "grief", file.to_str().unwrap()]);
    let table = stdout(&out);
    let first = table.lines().nth(1).unwrap();
    assert!(first.contains("export.attentive_listening"), "{table}");
}
