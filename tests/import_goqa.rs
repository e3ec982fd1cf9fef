//! `quandary import goqa`: GlobalOpinionQA's CSV as questions with references, through the
//! built binary, on `tests/data/goqa/opinions.csv` — invented rows in the data set's shape
//! (columns `question`, `selections`, `options`, `source`), some of them malformed:
//!
//! | line | row | what happens |
//! |---|---|---|
//! | 2 | trust, WVS: Belgium [0.2, 0.5, 0.3], Côte d'Ivoire [0.1, 0.3, 0.6] | `goqa_0001`, two references |
//! | 3 | travel, GAS: France [0.7, 0.2, 0.07], Japan [0.5, 0.3, nan] | `goqa_0002`; France sums to 0.97, so it is normalised (warning): 0.7/0.97 = 0.721649, 0.2/0.97 = 0.206186, 0.07/0.97 = 0.072165; Japan holds `nan` (error, left out) |
//! | 4 | news: options `['Yes', 'No'` not closed | error, row left out (record 3) |
//! | 5–6 | children, a question with a line break: Brazil [55, 45], Kenya [60, 40, 0] | `goqa_0004`; Brazil sums to 100, normalised to [0.55, 0.45] (warning); Kenya has 3 shares for 2 answers (error, left out) |
//! | 7 | weather: selections a list, not a dict | error, row left out (record 5) |
//! | 8 | two fields only | error, row left out (record 6) |
//! | 9 | braces, `{}` selections | `goqa_0007`, no reference |
//!
//! So 4 questions, with 2 + 1 + 1 + 0 references: under the persona the suite asks
//! (1 + 2) + (1 + 1) + (1 + 1) + 1 = 8 lines. 5 errors, 2 warnings.

use std::path::PathBuf;

#[path = "support/cli.rs"]
mod cli;
use cli::{json_lines, ok, quandary, stderr};

fn input() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/goqa/opinions.csv")
        .display()
        .to_string()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    cli::scratch(&format!("import_goqa_{name}"))
}

#[test]
fn questions_check_expand_and_are_answered() {
    let dir = scratch("data");
    let input = input();
    let args = [
        "import",
        "goqa",
        &input,
        "-o",
        "out",
        "--error-format",
        "plain",
    ];
    let out = quandary(&dir, &args);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out/goqa.qd\n");
    let err = stderr(&out);
    for expected in [
        "opinions.csv line 3: the shares of `France` in question `goqa_0002` sum to 0.97, not 1; they are divided by their sum",
        "opinions.csv line 3: the shares of `Japan` hold `nan` for answer 3; the country is left out of question `goqa_0002`",
        "opinions.csv line 4: the `options` cannot be read: the text ends before the closing `]` at character 13; the row is left out",
        "opinions.csv line 5: the shares of `Brazil` in question `goqa_0004` sum to 100, not 1; they are divided by their sum",
        "opinions.csv line 5: the shares of `Kenya` are 3 numbers for 2 answers; the country is left out of question `goqa_0004`",
        "opinions.csv line 7: the `selections` are a list, not a dict of countries; the row is left out",
        "opinions.csv line 8: 2 fields where the header has 4; the row is left out",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    assert!(err.contains("5 errors, 2 warnings"), "{err}");

    let text = std::fs::read_to_string(dir.join("out/goqa.qd")).expect("goqa.qd");
    for expected in [
        "question goqa_0001 \"How much do you trust people you meet for the first time?\" {\n  \
         source \"GlobalOpinionQA (Durmus et al. 2023), WVS\"\n  \
         option trust_completely \"Trust completely\"\n  \
         option trust_somewhat \"Trust somewhat\"\n  \
         option do_not_trust_very_much \"Do not trust very much\"\n  \
         reference \"Belgium\" [0.2, 0.5, 0.3]\n  \
         reference \"Côte d'Ivoire\" [0.1, 0.3, 0.6]\n}\n",
        "  option don_t_know_refused \"Don't know/Refused\"\n  \
         reference \"France\" [0.721649, 0.206186, 0.072165]\n}\n",
        "question goqa_0004 \"Thinking about the next ten years,\\nwill children be better off than their parents?\" {",
        "  reference \"Brazil\" [0.55, 0.45]\n}\n",
        "question goqa_0007 \"Should {{ braces }} be read literally?\" {",
        "  persona \"Answer as someone from {{ population }} would.\"\n",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    assert!(!text.contains("Japan") && !text.contains("Kenya") && !text.contains("Peru"));

    ok(&dir, &["check", "--deny-warnings", "out/goqa.qd"]);
    ok(&dir, &["fmt", "--check", "out/goqa.qd"]);
    ok(&dir, &["expand", "out/goqa.qd", "-o", "suite.jsonl"]);
    let suite = json_lines(dir.join("suite.jsonl"));
    assert_eq!(suite.len(), 1 + 8);
    let asked: Vec<(&str, Option<&str>)> = suite[1..]
        .iter()
        .map(|l| (l["question"].as_str().unwrap(), l["persona"].as_str()))
        .collect();
    assert_eq!(
        asked,
        [
            ("goqa_0001", None),
            ("goqa_0001", Some("Belgium")),
            ("goqa_0001", Some("Côte d'Ivoire")),
            ("goqa_0002", None),
            ("goqa_0002", Some("France")),
            ("goqa_0004", None),
            ("goqa_0004", Some("Brazil")),
            ("goqa_0007", None),
        ]
    );
    assert_eq!(
        suite[3]["text"],
        "Answer as someone from Côte d'Ivoire would.\n\nHow much do you trust people you meet for the first time?"
    );
    assert_eq!(suite[8]["text"], "Should {{ braces }} be read literally?");
    assert_eq!(
        suite[5]["references"]["France"],
        serde_json::json!([0.721649, 0.206186, 0.072165])
    );

    ok(
        &dir,
        &[
            "eval",
            "suite.jsonl",
            "--adapter",
            "random",
            "-o",
            "results.jsonl",
        ],
    );
    let results = json_lines(dir.join("results.jsonl"));
    assert_eq!(results.len(), 1 + 8);
    for (answer, line) in results[1..].iter().zip(&suite[1..]) {
        assert_eq!(answer["scenario"], line["id"]);
        let options: Vec<&str> = line["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o.as_str().unwrap())
            .collect();
        assert!(
            options.contains(&answer["choice"].as_str().unwrap()),
            "{answer}"
        );
    }

    // The same input gives the same bytes.
    let first = std::fs::read(dir.join("out/goqa.qd")).unwrap();
    quandary(&dir, &args);
    assert_eq!(std::fs::read(dir.join("out/goqa.qd")).unwrap(), first);
}

#[test]
fn strict_stops_at_the_first_error_and_names_are_chosen() {
    let dir = scratch("strict");
    let input = input();
    // Line 3's France is a warning and does not stop it; Japan, on the same line, does.
    let out = quandary(
        &dir,
        &[
            "import",
            "goqa",
            &input,
            "-o",
            "out",
            "--strict",
            "--error-format",
            "plain",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("`Japan`"), "{err}");
    assert!(!err.contains("line 4"), "{err}");
    assert!(!dir.join("out").exists());

    let out = quandary(
        &dir,
        &[
            "import",
            "goqa",
            &input,
            "-o",
            "named",
            "--name",
            "survey",
            "--persona",
            "Imagine you live in {{ population }}.",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = std::fs::read_to_string(dir.join("named/survey.qd")).unwrap();
    assert!(text.contains("question survey_0001 "), "{text}");
    assert!(text.contains("suite survey "), "{text}");
    assert!(
        text.contains("persona \"Imagine you live in {{ population }}.\""),
        "{text}"
    );

    let out = quandary(
        &dir,
        &["import", "goqa", &input, "-o", "bad", "--name", "Bad-Name"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`Bad-Name` is not an identifier"));
    assert!(!dir.join("bad").exists());
}

#[test]
fn inputs_that_are_not_the_data_set_are_refused() {
    let dir = scratch("refused");
    std::fs::write(dir.join("other.csv"), "name,answer\nx,y\n").unwrap();
    let out = quandary(&dir, &["import", "goqa", "other.csv", "-o", "out"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("has no `question` column"),
        "{}",
        stderr(&out)
    );
    std::fs::write(dir.join("empty.csv"), "").unwrap();
    let out = quandary(&dir, &["import", "goqa", "empty.csv", "-o", "out"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is empty"), "{}", stderr(&out));
    assert!(!dir.join("out").exists());
}

#[test]
fn damaged_inputs_never_panic() {
    use quandary::import::Options;
    use quandary::import::goqa::{Settings, import_goqa};
    for file in ["opinions.csv", "rows_page.json", "prompts.jsonl"] {
        let bytes = std::fs::read(data(file)).unwrap();
        for n in 0..bytes.len() {
            let imported = import_goqa(
                &bytes[..n],
                "opinions.csv",
                &Settings::default(),
                &Options::default(),
            );
            // Whatever was written checks.
            for (path, text) in &imported.files {
                let loaded = quandary::load_str(&path.display().to_string(), text);
                assert!(
                    !loaded.has_errors(),
                    "{file}, prefix of {n} bytes: {:?}",
                    loaded.diagnostics
                );
            }
        }
    }
}

fn data(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/goqa")
        .join(name)
        .display()
        .to_string()
}

/// The data set's rows as JSON Lines (`rows.jsonl`) and as a page of the Hugging Face
/// datasets-server (`rows_page.json`), and records of one question and country each with the
/// question in an evaluation prompt (`prompts.jsonl`), all give the questions of the first
/// rows of `opinions.csv`: the shape is told from the content.
#[test]
fn every_shape_of_the_data_set_gives_the_same_questions() {
    let dir = scratch("shapes");
    let trust = "question goqa_0001 \"How much do you trust people you meet for the first time?\" {\n  \
         source \"GlobalOpinionQA (Durmus et al. 2023), WVS\"\n  \
         option trust_completely \"Trust completely\"\n  \
         option trust_somewhat \"Trust somewhat\"\n  \
         option do_not_trust_very_much \"Do not trust very much\"\n  \
         reference \"Belgium\" [0.2, 0.5, 0.3]\n  \
         reference \"Côte d'Ivoire\" [0.1, 0.3, 0.6]\n}\n";
    let travel = "  option don_t_know_refused \"Don't know/Refused\"\n  \
         reference \"France\" [0.7, 0.2, 0.1]\n}\n";
    for (file, broken) in [
        (
            "rows.jsonl",
            "rows.jsonl line 3: the `options` cannot be read: the text ends before the closing `]` at character 13; the row is left out",
        ),
        (
            "rows_page.json",
            "rows_page.json line 29: the `options` cannot be read: the text ends before the closing `]` at character 13; the row is left out",
        ),
        (
            "prompts.jsonl",
            "prompts.jsonl line 4: the question is not written as \"Question: … Options: A. … B. … Answer:\" and the record has no `options`; the record is left out",
        ),
    ] {
        let out = quandary(
            &dir,
            &[
                "import",
                "goqa",
                &data(file),
                "-o",
                file,
                "--error-format",
                "plain",
            ],
        );
        assert_eq!(out.status.code(), Some(1), "{file}");
        let err = stderr(&out);
        assert!(err.contains(broken), "{file}: {broken}\n{err}");
        assert!(err.contains("1 error"), "{file}: {err}");
        let text = std::fs::read_to_string(dir.join(file).join("goqa.qd")).expect("goqa.qd");
        // The records of one country each carry no source of their own for the first question.
        let trust = if file == "prompts.jsonl" {
            trust.replace(", WVS", "")
        } else {
            trust.to_string()
        };
        assert!(text.contains(&trust), "{file}\n{text}");
        assert!(text.contains(travel), "{file}\n{text}");
        assert!(text.contains("question goqa_0003 \"Is it a good thing or a bad thing that more people travel abroad?\" {\n  source \"GlobalOpinionQA (Durmus et al. 2023), GAS\"\n") == (file == "prompts.jsonl"), "{file}\n{text}");
        ok(
            &dir,
            &["check", "--deny-warnings", &format!("{file}/goqa.qd")],
        );
    }
}

#[test]
fn an_input_of_no_known_shape_says_which_shapes_are_read() {
    let dir = scratch("unknown");
    let out = quandary(
        &dir,
        &[
            "import",
            "goqa",
            &data("unknown.json"),
            "-o",
            "out",
            "--error-format",
            "plain",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    for expected in [
        "unknown.json line 2: the record has no question (a `question` field); the row is left out",
        "unknown.json: holds no question that can be imported",
        "help: `import goqa` reads the data set's CSV (columns `question`, `options`, `selections`, `source`); its rows as JSON Lines or a JSON array",
        "a page of the Hugging Face datasets-server",
        "records of one question and country each",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    assert!(!dir.join("out").exists());
}

/// Well-known spellings of one country are merged through the alias table; two names that
/// read alike but that the table does not list are kept apart with a warning quoting both.
#[test]
fn spellings_of_one_population_are_merged_or_reported() {
    let dir = scratch("populations");
    let out = quandary(
        &dir,
        &[
            "import",
            "goqa",
            &data("populations.csv"),
            "-o",
            "out",
            "--error-format",
            "plain",
        ],
    );
    let err = stderr(&out);
    // Line 4 names the United Kingdom twice, as "United Kingdom" and as "Great Britain".
    assert_eq!(out.status.code(), Some(1), "{err}");
    for expected in [
        "populations.csv line 4: `Great Britain` is `United Kingdom`, which `selections` already names; the country is left out of question `goqa_0003`",
        "warning[Q0404]",
        "\"Bosnia & Herzegovina\" (populations.csv line 2) and \"Bosnia and Herzegovina\" (populations.csv line 3) are likely one population; they are kept apart",
        "1 error, 1 warning",
    ] {
        assert!(err.contains(expected), "{expected}\n{err}");
    }
    let text = std::fs::read_to_string(dir.join("out/goqa.qd")).unwrap();
    for expected in [
        "  reference \"United Kingdom\" [0.9, 0.1]\n  reference \"Czechia\" [0.8, 0.2]\n  reference \"South Korea\" [0.7, 0.3]\n  reference \"Bosnia & Herzegovina\" [0.6, 0.4]\n}",
        "  reference \"United Kingdom\" [0.5, 0.5]\n  reference \"Czechia\" [0.4, 0.6]\n  reference \"South Korea\" [0.3, 0.7]\n  reference \"Bosnia and Herzegovina\" [0.2, 0.8]\n}",
    ] {
        assert!(text.contains(expected), "{expected}\n{text}");
    }
    // The references name each population once, by its name; the spellings the table
    // merged are written as a `populations` table, which the sources then read.
    let (table, questions) = text.split_once("\nquestion ").expect("questions");
    for spelling in ["Britain\"", "Czech Rep.", "S. Korea"] {
        assert!(
            !questions.contains(&format!("\"{spelling}")),
            "{spelling}\n{text}"
        );
    }
    assert!(
        table.contains(
            "populations {\n  \"United Kingdom\" alias \"Britain\", \"Great Britain\"\n  \
             \"Czechia\" alias \"Czech Rep.\"\n}"
        ),
        "{text}"
    );
    assert!(
        !table.contains("S. Korea"),
        "the name's own spelling covers it"
    );
    let loaded = quandary::load_path(dir.join("out/goqa.qd"));
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let codes: Vec<&str> = loaded.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(codes, ["Q0309"], "the likely pair, as `check` sees it");
    assert_eq!(
        loaded.framework.population_name("Great Britain"),
        "United Kingdom"
    );
}
