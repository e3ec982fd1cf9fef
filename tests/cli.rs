//! The command-line tool, run as a user would: exit codes, output formats, bad arguments.

#[path = "support/cli.rs"]
mod support;

use support::{in_root as quandary, stderr, stdout};

#[test]
fn check_exit_codes() {
    let clean = quandary(&["check", "tests/check/ok_bom_crlf.qd"]);
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    assert!(stderr(&clean).is_empty());

    let errors = quandary(&["check", "tests/check/unknown_reference.qd"]);
    assert_eq!(errors.status.code(), Some(1));
    assert!(stderr(&errors).contains("3 errors"));

    // Warnings alone pass, unless denied.
    let warnings = quandary(&["check", "tests/check/duplicate_label.qd"]);
    assert_eq!(warnings.status.code(), Some(0));
    assert!(stderr(&warnings).contains("1 warning"));
    let denied = quandary(&["check", "--deny-warnings", "tests/check/duplicate_label.qd"]);
    assert_eq!(denied.status.code(), Some(1));

    // A usage error is exit 2.
    let usage = quandary(&["check"]);
    assert_eq!(usage.status.code(), Some(2));
    let usage = quandary(&["check", "--error-format", "xml", "a.qd"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn check_reports_every_file_at_once() {
    let o = quandary(&[
        "check",
        "--error-format",
        "plain",
        "tests/check/unknown_reference.qd",
        "tests/check/self_relation.qd",
    ]);
    let err = stderr(&o);
    assert!(err.contains("tests/check/unknown_reference.qd:3:10: error[Q0101]"));
    assert!(err.contains("tests/check/self_relation.qd:3:1: error[Q0201]"));
    assert!(err.contains("6 errors"));
}

#[test]
fn json_diagnostics_have_every_field() {
    let o = quandary(&[
        "check",
        "--error-format",
        "json",
        "tests/check/unknown_kind.qd",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stderr(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    assert_eq!(lines.len(), 2);
    let d = &lines[0];
    assert_eq!(d["code"], "Q0112");
    assert_eq!(d["severity"], "error");
    assert_eq!(d["message"], "`rigth` is not a kind");
    assert_eq!(d["file"], "tests/check/unknown_kind.qd");
    assert_eq!(d["line"], 1);
    assert_eq!(d["column"], 32);
    assert_eq!(d["span"]["start"], 31);
    assert_eq!(d["span"]["end"], 36);
    assert_eq!(d["help"], "did you mean `right`?");
}

#[test]
fn unreadable_inputs_are_diagnostics() {
    let missing = quandary(&["check", "--error-format", "plain", "no/such.qd"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing)
            .contains("no/such.qd: error[Q0001]: cannot read `no/such.qd`: no such file")
    );
    let dir = quandary(&["check", "--error-format", "plain", "tests"]);
    assert_eq!(dir.status.code(), Some(1));
    assert!(stderr(&dir).contains("it is a directory"));
    assert!(stderr(&dir).contains("help: pass the `.qd` files in it"));
}

#[test]
fn stats_json_counts_levels_in_order() {
    let o = quandary(&["stats", "--format", "json", "tests/check/ok_bom_crlf.qd"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let levels: Vec<(&String, &serde_json::Value)> =
        v["levels"].as_object().expect("levels").iter().collect();
    assert_eq!(levels.len(), 2);
    assert_eq!(levels[0].0, "group");
    assert_eq!(levels[0].1, 1);
    assert_eq!(levels[1].0, "value");
    assert_eq!(levels[1].1, 2);
    assert_eq!(v["values"], 3);
    assert_eq!(v["relations"]["conflict"], 1);

    let table = quandary(&["stats", "tests/check/ok_bom_crlf.qd"]);
    assert!(stdout(&table).contains("conflict"));
}

#[test]
fn stats_measures_the_candidate_sets_of_suites_that_show_k_options() {
    let file = "tests/golden/expand/show_diverse.qd";
    let table = quandary(&["stats", file]);
    assert_eq!(table.status.code(), Some(0), "{}", stderr(&table));
    insta::assert_snapshot!("stats_candidate_sets", stdout(&table));
    let o = quandary(&["stats", "--format", "json", file]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("json");
    let rows = v["coverage"].as_array().expect("coverage");
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["suite"], "diverse");
    assert_eq!(rows[0]["draw"], "diverse");
    assert_eq!(rows[1]["draw"], "random");
    let figure = |row: &serde_json::Value, key: &str| row[key].as_f64().expect(key);
    assert!(figure(&rows[0], "coverage") >= figure(&rows[1], "coverage"));
    // A file without `show` keeps its counts alone.
    let plain = quandary(&["stats", "--format", "json", "tests/check/ok_bom_crlf.qd"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&plain)).expect("json");
    assert!(v.get("coverage").is_none());
}

#[test]
fn stats_and_tree_refuse_files_with_errors() {
    let o = quandary(&["stats", "tests/check/unknown_reference.qd"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    let o = quandary(&["tree", "tests/check/unknown_reference.qd"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn tree_prints_the_hierarchy() {
    let o = quandary(&["tree", "tests/check/ok_bom_crlf.qd"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "f \"F\"  (group > value)\n└── g \"G\"\n    ├── care \"Care\"\n    └── loyalty \"Loyalty\"\n"
    );
}

#[test]
fn tree_says_when_no_label_is_in_the_language_asked() {
    let o = quandary(&["tree", "rules/cvc.qd", "--lang", "zh"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("├── nation \"Nation\" 国家"),
        "{}",
        stdout(&o)
    );
    assert!(stderr(&o).is_empty(), "{}", stderr(&o));
    // A language no label is in: the same outline, and a note of the languages there are.
    let o = quandary(&["tree", "rules/cvc.qd", "--lang", "de"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stdout(&o).contains("├── nation \"Nation\"\n"),
        "{}",
        stdout(&o)
    );
    assert_eq!(
        stderr(&o),
        "note: no label of the hierarchy is in `de`: labels are translated into `zh`\n"
    );
    let o = quandary(&["tree", "tests/check/ok_bom_crlf.qd", "--lang", "zh"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("no label is translated"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn help_and_version() {
    let o = quandary(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    for command in ["check", "fmt", "stats", "tree", "import"] {
        assert!(stdout(&o).contains(command), "--help lists `{command}`");
    }
    let o = quandary(&["--version"]);
    assert!(stdout(&o).starts_with("quandary "));
}

#[test]
fn a_negative_number_is_refused_as_the_value_it_was_given_for() {
    for (args, flag) in [
        (
            &["report", "r.jsonl", "--resamples", "-3"][..],
            "--resamples",
        ),
        (&["expand", "s.qd", "--count", "-5"][..], "--count"),
        (
            &["eval", "s.jsonl", "--temperature", "-0.5"][..],
            "--temperature",
        ),
    ] {
        let o = quandary(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert!(
            err.contains(&format!("invalid value '{}' for '{flag}", args[3])),
            "{err}"
        );
        assert!(!err.contains("use '--"), "{err}");
    }
}

#[test]
fn completions_and_the_manual_page_come_from_the_commands() {
    for (shell, marker) in [
        ("bash", "_quandary()"),
        ("zsh", "#compdef quandary"),
        ("fish", "complete -c quandary"),
    ] {
        let out = quandary(&["completions", shell]);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["expand", "eval", "report", "merge"] {
            assert!(script.contains(command), "{shell} completes `{command}`");
        }
    }
    let out = quandary(&["completions", "tcsh"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    let out = quandary(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out);
    assert!(page.contains(".TH quandary 1"), "{page}");
    assert!(page.contains("expand"), "the page lists the commands");
}
