//! `quandary import cvc-rules` through the built binary, on the invented rules of
//! `tests/data/cvc_rules/rules.jsonl` (written in the style of the CVC corpus; none is taken
//! from it), mapped onto `rules/cvc.qd`.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

#[path = "support/cli.rs"]
mod cli;

use cli::{TempDir, files_in, root, stderr, stdout};

/// Runs the binary in the crate's folder.
fn quandary(args: &[&str]) -> Output {
    cli::quandary(&root(), args)
}

const RULES: &str = "tests/data/cvc_rules/rules.jsonl";

fn import(out_dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "import",
        "cvc-rules",
        RULES,
        "-o",
        out_dir.to_str().unwrap(),
        "--error-format",
        "plain",
    ];
    args.extend(extra);
    quandary(&args)
}

#[test]
fn rules_are_mapped_onto_the_framework_and_bad_rows_reported() {
    let tmp = TempDir::new("map");
    let out_dir = tmp.path("out/nested");
    let out = import(&out_dir, &[]);
    // Three rows are bad: the exit code is 1, and the other nine are written, two of them
    // (lines 8 and 9) reconciled with the framework, with a warning.
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let written = out_dir.join("rules.qd");
    assert_eq!(stdout(&out), format!("{}\n", written.display()));
    assert_eq!(files_in(&out_dir), BTreeSet::from(["rules.qd".to_string()]));

    let err = stderr(&out);
    for expected in [
        // Line 4 is cut off before its closing brace.
        "rules.jsonl line 4: not valid JSON (EOF while parsing an object at column 88); the row \
         is left out",
        // Line 5 has levels and values but no `rule`.
        "rules.jsonl line 5: the row has no `rule`; the row is left out",
        // Line 7 misspells "Seeking truth from facts".
        "rules.jsonl line 7: \"Seeking truth from fact\" in `derived values` matches no derived \
         value of `cvc`; the row is left out",
        "help: did you mean \"Seeking truth from facts\"?",
        // Line 8: Sincerity lies under Integrity, and the row names only Dedication: the rule
        // upholds both as named.
        "warning[Q0405]",
        "rules.jsonl line 8: \"Sincerity\" in `derived values` is not under any of the row's \
         core values (\"Dedication\") (it is under \"Integrity\"); the rule upholds the values \
         as named",
        "help: add \"Integrity\" to `core values`, or correct the derived value",
        // Line 9: Justice lies in the dimension Society, and the row says Nation: the level
        // is taken from the core value.
        "rules.jsonl line 9: the core value \"Justice\" is in the dimension \"Society\", not in \
         the row's `level` (\"Nation\"); the level is taken from the core value",
        "3 errors, 2 warnings",
    ] {
        assert!(err.contains(expected), "missing {expected:?} in\n{err}");
    }
    assert_eq!(err.matches("error[Q0401]").count(), 3, "{err}");
    assert_eq!(err.matches("warning[Q0405]").count(), 2, "{err}");
    // Every rule is written below the line of its row, as provenance.
    let text = std::fs::read_to_string(&written).unwrap();
    assert!(text.contains("# rules.jsonl:8\nrule r0008 \"Employees should not take credit for a colleague's work.\" {"), "{text}");
    assert_eq!(text.matches("\n# rules.jsonl:").count(), 9, "{text}");

    // The written file checks without errors (or warnings), through its relative `use`.
    let text = std::fs::read_to_string(&written).unwrap();
    let use_line = text.lines().find(|l| l.starts_with("use ")).unwrap();
    assert!(use_line.ends_with("/rules/cvc.qd\" as cvc"), "{use_line}");
    assert!(use_line.starts_with("use \"../"), "{use_line}");
    let check = quandary(&["check", written.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(stderr(&check).is_empty(), "{}", stderr(&check));
    // It is in the canonical layout.
    let fmt = quandary(&["fmt", "--check", written.to_str().unwrap()]);
    assert_eq!(fmt.status.code(), Some(0), "{}", stderr(&fmt));

    // The rules, worked out by hand from the good rows. Each upholds its row's derived
    // values, and the core values its row names without a derived value under them.
    let loaded = quandary::load_path(&written);
    assert!(!loaded.has_errors());
    let f = &loaded.framework;
    let rules: Vec<(String, String, Vec<String>)> = f
        .root_module()
        .rules
        .iter()
        .map(|&r| {
            let rule = f.rule(r);
            let upholds = rule.upholds.iter().map(|&v| f.qualified_value(v)).collect();
            (rule.id.clone(), rule.text.clone(), upholds)
        })
        .collect();
    let expected: [(&str, &str, &[&str]); 9] = [
        (
            "r0001",
            "Officials should disclose their conflicts of interest.",
            &["cvc.procedural_justice"],
        ),
        (
            "r0002",
            "Neighbours should help an elderly resident carry heavy shopping up the stairs.",
            &["cvc.caring_for_others"],
        ),
        // Equality has Equal rights under it; Integrity is named without a derived value.
        (
            "r0003",
            "Shops should mark their prices clearly, so that every customer pays the same.",
            &["cvc.equal_rights", "cvc.integrity"],
        ),
        // Named in Chinese: 国家 is Nation, 民主 Democracy, 民主决策 Democratic decision-making.
        (
            "r0006",
            "Villagers should be consulted before their farmland is rezoned for industry.",
            &["cvc.democratic_decision_making"],
        ),
        // Sincerity is kept, and so is Dedication, named without a derived value under it.
        (
            "r0008",
            "Employees should not take credit for a colleague's work.",
            &["cvc.sincerity", "cvc.dedication"],
        ),
        // The level Nation gives way to Justice's dimension.
        (
            "r0009",
            "Courts should hear both parties before they decide a case.",
            &["cvc.procedural_justice"],
        ),
        // The text keeps its quote and backslash.
        (
            "r0010",
            "Online forms should accept names that contain a \" or a \\ character.",
            &["cvc.equal_rights"],
        ),
        // "Friendship" is an alias of Kindness; "person" and "tolerating others" differ from
        // the labels in case only.
        (
            "r0011",
            "Residents should forgive a neighbour's noisy renovation if it ends on time.",
            &["cvc.tolerating_others"],
        ),
        // Line 12 is blank; line 13 names a core value and no derived value.
        (
            "r0013",
            "Companies should pay for training when employees want to learn new skills.",
            &["cvc.prosperity"],
        ),
    ];
    assert_eq!(rules.len(), expected.len());
    for ((id, text, upholds), (eid, etext, eupholds)) in rules.iter().zip(expected) {
        assert_eq!((id.as_str(), text.as_str()), (eid, etext));
        assert_eq!(upholds, eupholds, "{id}");
    }
}

#[test]
fn strict_writes_nothing() {
    let tmp = TempDir::new("strict");
    let out_dir = tmp.path("out");
    let out = import(&out_dir, &["--strict"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // It stops at the first bad row, line 4.
    assert!(err.contains("rules.jsonl line 4: "), "{err}");
    assert!(!err.contains("line 5"), "{err}");
    assert!(err.contains("1 error"), "{err}");
    assert!(stdout(&out).is_empty());
    assert!(files_in(&out_dir).is_empty());
}

#[test]
fn output_is_deterministic() {
    let tmp = TempDir::new("again");
    let (a, b) = (tmp.path("a"), tmp.path("b"));
    import(&a, &[]);
    import(&b, &[]);
    let first = std::fs::read(a.join("rules.qd")).unwrap();
    assert_eq!(first, std::fs::read(b.join("rules.qd")).unwrap());
    // Written again over the first: the same bytes.
    import(&a, &[]);
    assert_eq!(first, std::fs::read(a.join("rules.qd")).unwrap());
    assert_eq!(files_in(&a).len(), 1, "no temporary files left");
}

#[test]
fn frameworks_that_do_not_fit_are_refused() {
    let tmp = TempDir::new("framework");
    let out_dir = tmp.path("out");
    let out_str = out_dir.to_str().unwrap();

    // The Moral Foundations have two levels, not three.
    let out = quandary(&[
        "import",
        "cvc-rules",
        RULES,
        "--framework",
        "rules/mft.qd",
        "-o",
        out_str,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the framework `mft` has 2 levels (cluster, foundation)"),
        "{}",
        stderr(&out)
    );

    let out = quandary(&[
        "import",
        "cvc-rules",
        RULES,
        "--framework",
        "rules/nosuch.qd",
        "-o",
        out_str,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));

    // Rules named like the framework, written next to it, would replace it.
    std::fs::copy(root().join("rules/cvc.qd"), tmp.path("cvc.qd")).unwrap();
    std::fs::copy(root().join(RULES), tmp.path("cvc.jsonl")).unwrap();
    let out = quandary(&[
        "import",
        "cvc-rules",
        tmp.path("cvc.jsonl").to_str().unwrap(),
        "--framework",
        tmp.path("cvc.qd").to_str().unwrap(),
        "-o",
        tmp.0.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("the framework they use"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read(tmp.path("cvc.qd")).unwrap(),
        std::fs::read(root().join("rules/cvc.qd")).unwrap()
    );
    assert!(files_in(&out_dir).is_empty());
}
