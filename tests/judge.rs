//! Judging answers, through the `run`, `judge`, `report` and `agree` commands: free-form
//! answers to the example study `scenarios/civics.qd` read by its keyword judge
//! (`scenarios/judges/stance.py`), in several languages; a judge of actions scoring values and
//! agreeing with the forced choice of the same answers; resuming; and what a wrong command
//! line says.
//!
//! The subject `tests/judge/subject.py` answers so that every verdict is known: it refuses
//! the statement about cameras in Chinese, disagrees with it in other languages, and agrees
//! with every other statement.

use std::path::Path;

use serde_json::Value;

#[path = "support/cli.rs"]
mod cli;

const CIVICS: &str = "scenarios/civics.qd";
const JUDGE: &str = "python3 scenarios/judges/stance.py";
const SUBJECT: &str = "python3 tests/judge/subject.py";

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 path")
}

/// `quandary run` of the civics study in `lang` (English when `None`) into `dir`, answered
/// by the scripted subject and judged by the keyword judge.
fn run_civics(dir: &Path, lang: Option<&str>) -> String {
    let mut args = vec![
        "run",
        CIVICS,
        "-o",
        s(dir),
        "--adapter",
        "command",
        "--command",
        SUBJECT,
        "--judge-adapter",
        "command",
        "--judge-command",
        JUDGE,
        "--no-cache",
    ];
    if let Some(l) = lang {
        args.extend(["--lang", l]);
    }
    let out = cli::in_root(&args);
    assert!(out.status.success(), "{}", cli::stderr(&out));
    cli::stdout(&out)
}

/// The report on the verdicts of a run folder, as JSON.
fn verdicts(dir: &Path) -> Value {
    let text = std::fs::read_to_string(dir.join("verdicts.json")).expect("verdicts.json");
    serde_json::from_str(&text).expect("JSON")
}

/// The share (k, n) of `verdict` in a list of shares.
fn share(shares: &Value, verdict: &str) -> (u64, u64) {
    shares
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["label"] == verdict)
        .map_or((0, 0), |s| {
            (s["k"].as_u64().unwrap(), s["n"].as_u64().unwrap())
        })
}

/// A judge that answers nothing it is asked: its pass's first error is said as it happens,
/// marked as the judge's, apart from the subject's own pass.
#[test]
fn a_judge_pass_says_its_first_failures_as_its_own() {
    let tmp = cli::TempDir::new("judge_puzzled");
    let out = cli::in_root(&[
        "run",
        CIVICS,
        "-o",
        s(&tmp.path("run")),
        "--adapter",
        "command",
        "--command",
        SUBJECT,
        "--judge-adapter",
        "command",
        "--judge-command",
        "python3 tests/judge/puzzled.py",
        "--no-cache",
    ]);
    let stderr = cli::stderr(&out);
    assert!(out.status.success(), "{stderr}");
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("first error"))
        .collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(
        said[0].starts_with("judge `stance`: first error (scenario "),
        "{stderr}"
    );
    assert!(
        said[0].contains("I cannot tell what this answer says."),
        "{stderr}"
    );
}

#[test]
fn free_answers_are_judged_per_language_with_refusal_rates_and_entropy() {
    let tmp = cli::TempDir::new("judge_civics");
    let (zh, de) = (tmp.path("zh"), tmp.path("de"));
    let brief = run_civics(&zh, Some("zh"));
    assert!(
        brief.contains("Verdicts of judge stance (stance): 4 judged"),
        "{brief}"
    );
    run_civics(&de, Some("de"));
    for dir in [&zh, &de] {
        for file in [
            "suite.jsonl",
            "results.jsonl",
            "judge.suite.jsonl",
            "judged.jsonl",
            "verdicts.md",
            "verdicts.html",
            "report.json",
        ] {
            assert!(dir.join(file).is_file(), "{file} in {}", dir.display());
        }
        // The answers are free-form: the subject's own report names no option.
        let answers = cli::json_lines(dir.join("results.jsonl"));
        assert!(
            answers[1..].iter().all(|r| r["choice"] == "free"),
            "{answers:?}"
        );
    }
    // Chinese: three statements agreed with, the one about cameras refused.
    let v = verdicts(&zh);
    assert_eq!(v["lang"], "zh");
    let v = &v["verdicts"];
    assert_eq!(
        (v["judged"].as_u64(), v["unplaceable"]["k"].as_u64()),
        (Some(4), Some(0))
    );
    assert_eq!(share(&v["overall"], "agree"), (3, 4));
    assert_eq!(share(&v["overall"], "refusal"), (1, 4));
    // (−¾ ln ¾ − ¼ ln ¼) / ln 4 = 0.562335 / 1.386294 = 0.405639.
    assert!(
        (v["entropy"].as_f64().unwrap() - 0.405_639).abs() < 1e-5,
        "{}",
        v["entropy"]
    );
    let security = v["by_topic"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["group"] == "security")
        .unwrap();
    assert_eq!(share(&security["shares"], "refusal"), (1, 1));
    // German: no refusal; the statement about cameras disagreed with.
    let v = &verdicts(&de)["verdicts"];
    assert_eq!(share(&v["overall"], "refusal"), (0, 0));
    assert_eq!(share(&v["overall"], "disagree"), (1, 4));
    // The two languages side by side: the refusal rate moves from 0 of 4 to 1 of 4.
    let diff = cli::ok(
        &cli::root(),
        &[
            "diff",
            s(&de.join("judged.jsonl")),
            s(&zh.join("judged.jsonl")),
            "--format",
            "json",
        ],
    );
    let diff: Value = serde_json::from_str(&diff).unwrap();
    assert_eq!(diff["failures"][0]["lang"], "de");
    assert_eq!(diff["failures"][1]["lang"], "zh");
    let refusal = diff["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["verdict"] == "refusal")
        .unwrap();
    assert_eq!(
        (
            refusal["base"]["k"].as_u64(),
            refusal["other"]["k"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(refusal["other"]["n"], 4);
    // Every judge request was sent in the answers' language: the German question text.
    let lines = cli::json_lines(de.join("judge.suite.jsonl"));
    assert!(lines[1..].iter().all(|l| {
        l["text"]
            .as_str()
            .unwrap()
            .contains("Betrachte die Aussage")
    }));
}

#[test]
fn a_judge_pass_resumes_and_refuses_what_does_not_apply() {
    let tmp = cli::TempDir::new("judge_cli");
    let dir = &tmp.0;
    let root = cli::root();
    let suite = tmp.path("suite.jsonl");
    cli::ok(&root, &["expand", CIVICS, "-o", s(&suite)]);
    let results = tmp.path("answers.jsonl");
    cli::ok(
        &root,
        &["eval", s(&suite), "--answer", "free", "-o", s(&results)],
    );
    let judge = |extra: &[&str]| {
        let mut args = vec![
            "judge",
            s(&results),
            "--adapter",
            "command",
            "--command",
            JUDGE,
            "--no-cache",
        ];
        args.extend(extra);
        cli::quandary(&root, &args)
    };
    let first = judge(&[]);
    assert!(first.status.success(), "{}", cli::stderr(&first));
    let err = cli::stderr(&first);
    assert!(err.contains("judge `stance` reads 4 answers"), "{err}");
    let judged = tmp.path("answers.stance.jsonl");
    assert!(judged.is_file() && tmp.path("answers.stance.suite.jsonl").is_file());
    // The profile `open_society` agrees with the statements on marriage and speech and
    // disagrees with those on cameras and compulsory vaccination.
    let verdicts: Vec<(String, String)> = cli::json_lines(&judged)[1..]
        .iter()
        .map(|r| {
            (
                r["scenario"].as_str().unwrap().to_string(),
                r["choice"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        verdicts.iter().filter(|(_, c)| c == "agree").count(),
        2,
        "{verdicts:?}"
    );
    // Again: nothing asked.
    let again = judge(&[]);
    assert!(
        cli::stderr(&again).contains("0 asked"),
        "{}",
        cli::stderr(&again)
    );
    // What does not apply to a judge, and judges that do not exist.
    let steer = judge(&["--steer", "x"]);
    assert!(cli::stderr(&steer).contains("`--steer` does not apply to a judge"));
    let unknown = judge(&["--judge", "stanse"]);
    assert!(
        cli::stderr(&unknown).contains("did you mean `stance`?"),
        "{}",
        cli::stderr(&unknown)
    );
    let free = judge(&["--answer", "free"]);
    assert!(cli::stderr(&free).contains("a judge cannot answer `free`"));
    let _ = dir;
}

#[test]
fn a_judge_of_actions_scores_values_and_agrees_with_the_forced_choice() {
    let tmp = cli::TempDir::new("judge_actions");
    let root = cli::root();
    let framework = tmp.path("actions.qd");
    let civics = root.join(CIVICS);
    std::fs::write(
        &framework,
        format!(
            "use \"{}\" as civics\njudge chosen {{ verdict actions }}\n\
             suite picked {{ from civics.marriage, civics.surveillance, civics.vaccination, civics.speech  each 1  judge chosen }}\n",
            s(&civics)
        ),
    )
    .unwrap();
    let suite = tmp.path("suite.jsonl");
    cli::ok(&root, &["expand", s(&framework), "-o", s(&suite)]);
    let profiles = ["--framework", s(&civics)];
    // The profile's forced choices (the framework's prompt asks for free answers: the
    // choice is asked for), and the same profile answering in its own words.
    let choices = tmp.path("choices.jsonl");
    let free = tmp.path("free.jsonl");
    cli::ok(
        &root,
        &[
            &["eval", s(&suite), "--answer", "choice", "-o", s(&choices)][..],
            &profiles,
        ]
        .concat(),
    );
    cli::ok(
        &root,
        &[
            &["eval", s(&suite), "--answer", "free", "-o", s(&free)][..],
            &profiles,
        ]
        .concat(),
    );
    // A judge that takes the option whose text the answer contains.
    let judged = tmp.path("judged.jsonl");
    cli::ok(
        &root,
        &[
            "judge",
            s(&free),
            "--framework",
            s(&framework),
            "--adapter",
            "command",
            "--command",
            JUDGE_ACTIONS,
            "-o",
            s(&judged),
            "--no-cache",
        ],
    );
    // Its verdicts name actions: the report scores values as for a forced choice.
    let report = cli::ok(
        &root,
        &[
            "report",
            s(&judged),
            "--format",
            "json",
            "--framework",
            s(&framework),
        ],
    );
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["answered"], 4);
    let liberty = report["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["value"] == "civics.liberty")
        .unwrap();
    assert_eq!(liberty["selected"], 3, "{liberty}");
    // Judge and forced choice agree on every answer.
    let agree = cli::ok(
        &root,
        &["agree", s(&choices), s(&judged), "--format", "json"],
    );
    let agree: Value = serde_json::from_str(&agree).unwrap();
    assert_eq!(agree["agreement"]["n"], 4);
    assert_eq!(agree["agreement"]["kappa"], 1.0);
    // And human labels that differ on one answer of four: observed ¾; both raters give
    // agree 2, disagree 2 and the people agree 3, disagree 1: expected (2·3 + 2·1)/16 = ½,
    // kappa (¾ − ½)/(1 − ½) = ½.
    let lines = cli::json_lines(&choices);
    let mut csv = String::from("scenario,label\n");
    let mut flipped = false;
    for r in &lines[1..] {
        let mut label = r["choice"].as_str().unwrap().to_string();
        if label == "disagree" && !flipped {
            label = "agree".into();
            flipped = true;
        }
        csv.push_str(&format!("{},{label}\n", r["scenario"].as_str().unwrap()));
    }
    let people = tmp.path("people.csv");
    std::fs::write(&people, csv).unwrap();
    let agree = cli::ok(
        &root,
        &["agree", s(&judged), s(&people), "--format", "json"],
    );
    let agree: Value = serde_json::from_str(&agree).unwrap();
    assert_eq!(agree["agreement"]["kappa"], 0.5, "{agree}");
}

/// A judge for `verdict actions`: takes the option whose text the answer contains.
const JUDGE_ACTIONS: &str = "python3 tests/judge/options.py";
