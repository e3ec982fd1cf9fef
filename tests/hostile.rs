//! Hostile input never panics or hangs: each case must come back with diagnostics (or
//! none, where the input is fine) on a default-sized test thread stack.

use quandary::{Code, MemoryLoader, load_with};

#[path = "support/cli.rs"]
mod cli;

fn check_bytes(bytes: Vec<u8>) -> Vec<Code> {
    // `MemoryLoader` takes text; non-UTF-8 goes through a file on disk instead.
    match String::from_utf8(bytes) {
        Ok(text) => {
            let mut loader = MemoryLoader::new().with("input.qd", text);
            load_with(&mut loader, &["input.qd"])
                .diagnostics
                .iter()
                .map(|d| d.code)
                .collect()
        }
        Err(e) => {
            let dir = scratch("bytes");
            let path = dir.join("input.qd");
            std::fs::write(&path, e.into_bytes()).expect("write");
            quandary::load_path(&path)
                .diagnostics
                .iter()
                .map(|d| d.code)
                .collect()
        }
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    cli::scratch(&format!("hostile_{name}"))
}

/// A small deterministic generator (xorshift), so failures reproduce.
struct Bytes(u64);

impl Bytes {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn random_bytes() {
    let mut rng = Bytes(0x9E37_79B9_7F4A_7C15);
    for _ in 0..300 {
        let len = (rng.next() % 400) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        check_bytes(bytes);
    }
}

#[test]
fn random_tokens() {
    // Plausible tokens in random order reach deeper into the parser than random bytes.
    const TOKENS: &[&str] = &[
        "framework",
        "levels",
        "value",
        "core",
        "x",
        "y",
        "\"s\"",
        "{",
        "}",
        "<>",
        ">",
        "=>",
        ",",
        ".",
        "conflict",
        "prefer",
        "wiser",
        "rule",
        "profile",
        "use",
        "as",
        "map",
        "when",
        "in",
        "weight",
        "0.5",
        "-1",
        "upholds",
        "kind",
        "zh",
        "#c\n",
        "\n",
        "\"\"\"t\"\"\"",
        "\\",
        "\"",
    ];
    let mut rng = Bytes(42);
    for _ in 0..500 {
        let n = (rng.next() % 40) as usize;
        let text: Vec<&str> = (0..n)
            .map(|_| TOKENS[(rng.next() % TOKENS.len() as u64) as usize])
            .collect();
        check_bytes(text.join(" ").into_bytes());
    }
}

#[test]
fn random_survey_items() {
    // Questions, stances, verbatim scenarios and suites in random order and shape: loading
    // never panics, and every suite of a file without errors expands.
    const TOKENS: &[&str] = &[
        "question",
        "stance",
        "option",
        "reference",
        "statement",
        "reversed",
        "source",
        "scenario",
        "verbatim",
        "text",
        "action",
        "upholds",
        "indirectly",
        "affects",
        "suite",
        "from",
        "persona",
        "pass",
        "each",
        "count",
        "twins",
        "order",
        "shuffled",
        "a",
        "b",
        "q",
        "s",
        "\"France\"",
        "\"{{ population }}\"",
        "\"{{\"",
        "[",
        "]",
        "[0.5, 0.5]",
        "[1e999]",
        "[]",
        "0.8",
        "-1",
        "2",
        "{",
        "}",
        ",",
        "\n",
        "value",
        "conflict",
        "<>",
    ];
    let mut rng = Bytes(7);
    for _ in 0..400 {
        let n = (rng.next() % 60) as usize;
        let text: Vec<&str> = (0..n)
            .map(|_| TOKENS[(rng.next() % TOKENS.len() as u64) as usize])
            .collect();
        let text = text.join(" ");
        let mut loader = MemoryLoader::new().with("input.qd", text.clone());
        let loaded = load_with(&mut loader, &["input.qd"]);
        if loaded.has_errors() {
            continue;
        }
        for &suite in &loaded.framework.root_module().suites {
            let options = quandary::expand::Options {
                max: 10_000,
                ..Default::default()
            };
            if let Ok(expansion) = quandary::expand::Expansion::new(
                &loaded.framework,
                &loaded.sources,
                suite,
                &options,
            ) {
                let mut out = Vec::new();
                let _ = expansion.run(&mut out, &options, &mut |_, _| {});
            }
        }
    }
    // And a hand-made one that reaches every part.
    let text = "value care\nvalue loyalty\nconflict care <> loyalty\n\
                question q \"Q {{ x }}?\" { option a \"A\" option b \"B\" reference \"F\" [1, 3] }\n\
                stance s \"F\" { statement \"S\" reversed \"R\" }\n\
                scenario v { verbatim text \"{%\" action x { upholds indirectly care } action y { upholds loyalty } }\n\
                suite all { persona \"{{ population }}\" pass \"F\" 0.5 twins order order shuffled }\n";
    let mut loader = MemoryLoader::new().with("input.qd", text);
    let loaded = load_with(&mut loader, &["input.qd"]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let suite = loaded.framework.root_module().suites[0];
    let options = quandary::expand::Options::default();
    let expansion =
        quandary::expand::Expansion::new(&loaded.framework, &loaded.sources, suite, &options)
            .expect("compiles");
    let mut out = Vec::new();
    expansion
        .run(&mut out, &options, &mut |_, _| {})
        .expect("expands");
    // The header, then (2 question parts + 3 stance parts + 1 scenario) × twins.
    assert_eq!(out.iter().filter(|&&b| b == b'\n').count(), 1 + 6 * 2);
}

#[test]
fn invalid_utf8() {
    assert_eq!(
        check_bytes(b"value a \xff\xfe \"x\"".to_vec()),
        [Code::NotUtf8]
    );
}

#[test]
fn empty_and_blank_files() {
    assert!(check_bytes(Vec::new()).is_empty());
    assert!(check_bytes(b"\n\n   \t\n# only a comment".to_vec()).is_empty());
}

#[test]
fn sixty_thousand_nested_blocks() {
    let mut text = String::from("framework f { levels value }\n");
    for i in 0..60_000 {
        text.push_str(&format!("value v{i} {{ "));
    }
    text.push_str(&"} ".repeat(60_000));
    assert_eq!(check_bytes(text.into_bytes()), [Code::TooDeep]);
}

#[test]
fn two_million_open_braces() {
    assert_eq!(
        check_bytes("{".repeat(2_000_000).into_bytes()),
        [Code::TooDeep]
    );
}

#[test]
fn nesting_just_under_the_limit_parses() {
    let depth = quandary::syntax::MAX_DEPTH;
    let levels: Vec<String> = (0..depth).map(|i| format!("l{i}")).collect();
    let mut text = format!("framework f {{ levels {} }}\n", levels.join(", "));
    for (i, l) in levels.iter().enumerate() {
        text.push_str(&format!("{l} v{i} {{ "));
    }
    text.push_str(&"} ".repeat(depth));
    text.push_str("\nconflict v0 <> v1\n");
    // The framework header's own braces count too: one level less than the limit is left.
    let codes = check_bytes(text.into_bytes());
    assert!(
        codes.iter().all(|c| *c != Code::Syntax),
        "deep but legal nesting failed to parse: {codes:?}"
    );
}

#[test]
fn a_missing_file_and_a_directory() {
    let codes: Vec<Code> = quandary::load_path("tests/no/such/file.qd")
        .diagnostics
        .iter()
        .map(|d| d.code)
        .collect();
    assert_eq!(codes, [Code::Io]);
    let dir = scratch("dir");
    let loaded = quandary::load_path(&dir);
    assert_eq!(loaded.diagnostics.len(), 1);
    assert_eq!(loaded.diagnostics[0].code, Code::Io);
    assert!(loaded.diagnostics[0].message.contains("directory"));
}

#[test]
fn bom_and_crlf_simply_work() {
    let text = "\u{FEFF}framework f \"F\" {\r\n  levels value\r\n}\r\nvalue a \"A\"\r\nvalue b \"B\" {\r\n  zh \"乙\"\r\n}\r\nconflict a <> b  # a comment\r\n";
    let mut loader = MemoryLoader::new().with("crlf.qd", text);
    let loaded = load_with(&mut loader, &["crlf.qd"]);
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    let b = &loaded.framework.values[1];
    assert_eq!(b.translations.get("zh").map(String::as_str), Some("乙"));
    // Positions are counted without the BOM, and CR does not shift columns.
    let mut loader = MemoryLoader::new().with(
        "crlf.qd",
        text.replace("conflict a <> b", "conflict a <> c"),
    );
    let loaded = load_with(&mut loader, &["crlf.qd"]);
    let span = loaded.diagnostics[0].primary_span().expect("span");
    let file = loaded.sources.get(span.file.expect("file"));
    assert_eq!(file.line_col(span.start as usize), (8, 15));
}

#[test]
fn very_long_lines_and_huge_numbers() {
    let label = "x".repeat(1_000_000);
    let text = format!(
        "value a \"{label}\"\nvalue b \"B\"\nconflict a <> b weight 1e999999\nprofile p {{ a 99999999999999999999999999 }}\n"
    );
    let codes = check_bytes(text.into_bytes());
    assert_eq!(codes, [Code::WeightOutOfRange, Code::WeightOutOfRange]);
}

/// A JSON value drawn from `rng`, often of the shape the importers read, often not.
fn json_value(rng: &mut Bytes, depth: u32) -> serde_json::Value {
    use serde_json::{Value, json};
    const STRINGS: &[&str] = &[
        "",
        " ",
        "Justice",
        "justice",
        "Procedural justice",
        "公正",
        "Society",
        "Person",
        "Friendship",
        "upgrade",
        "no_upgrade",
        "not_sure",
        "a \"quoted\" \\ word",
        "line\nbreak\r\ttab\u{0}\u{7f}",
        "# not a comment",
        "\"\"\"",
        "1",
        "rule",
        "}",
    ];
    match rng.next() % if depth > 2 { 5 } else { 8 } {
        0 => Value::Null,
        1 => json!(rng.next() % 5),
        2 => json!(-1.5),
        3 | 4 => json!(STRINGS[(rng.next() % STRINGS.len() as u64) as usize]),
        5 => Value::Array(
            (0..rng.next() % 4)
                .map(|_| json_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            const KEYS: &[&str] = &[
                "rule",
                "level",
                "core values",
                "derived values",
                "id",
                "title",
                "description",
                "policies",
                "fromId",
                "toId",
                "contextId",
                "relationship",
                "userId",
                "sourceValueId",
                "wiserValueId",
                "contexts",
                "counts",
                "markedWiser",
                "values",
                "edges",
                "upgrades",
            ];
            let mut object = serde_json::Map::new();
            for _ in 0..rng.next() % 6 {
                let key = KEYS[(rng.next() % KEYS.len() as u64) as usize];
                object.insert(key.to_string(), json_value(rng, depth + 1));
            }
            Value::Object(object)
        }
    }
}

/// An object of one of the shapes the importers read (`kind` 0: a rule, 1: a values card,
/// 2: a vote), its fields mostly of the right type, their text drawn at random.
fn shaped(rng: &mut Bytes, kind: u64) -> serde_json::Value {
    use serde_json::json;
    const TEXT: &[&str] = &[
        "Officials should be fair.",
        "a \"quoted\" \\ word",
        "line\nbreak\r\ttab\u{0}\u{7f}",
        "# not a comment",
        "\"\"\"",
        "Care",
        "care!",
        "公正",
        "}",
    ];
    const NAMES: &[&str] = &[
        "Society",
        "person",
        "Justice",
        "Integrity",
        "Friendship",
        "Procedural justice",
        "sincerity",
        "程序公正",
        "Prosperity",
        "Nonsense",
    ];
    const ANSWERS: &[&str] = &[
        "upgrade",
        "upgrade",
        "upgrade",
        "no_upgrade",
        "not_sure",
        "maybe",
    ];
    let pick =
        |rng: &mut Bytes, from: &[&'static str]| from[(rng.next() % from.len() as u64) as usize];
    let names =
        |rng: &mut Bytes| -> Vec<&str> { (0..rng.next() % 3).map(|_| pick(rng, NAMES)).collect() };
    let odd = |rng: &mut Bytes, usual: serde_json::Value| {
        if rng.next().is_multiple_of(8) {
            json_value(rng, 3)
        } else {
            usual
        }
    };
    // Names that fit together (a level, a core value of it, a derived value of that), or not.
    const FITTING: &[[&str; 3]] = &[
        ["Society", "Justice", "Procedural justice"],
        ["person", "integrity", "sincerity"],
        ["个人", "Friendship", "Caring for others"],
        ["Nation", "Prosperity", "Reform innovation"],
    ];
    match kind {
        0 => {
            let rule = json!(pick(rng, TEXT));
            let [level, core, derived] = if rng.next().is_multiple_of(4) {
                [json!(names(rng)), json!(names(rng)), json!(names(rng))]
            } else {
                let [l, c, d] = FITTING[(rng.next() % FITTING.len() as u64) as usize];
                let derived = if rng.next().is_multiple_of(2) {
                    vec![d]
                } else {
                    vec![]
                };
                [json!([l]), json!([c]), json!(derived)]
            };
            json!({
                "rule": odd(rng, rule), "level": odd(rng, level), "core values": odd(rng, core),
                "derived values": derived,
            })
        }
        1 => {
            let title = json!(pick(rng, TEXT));
            json!({
                "id": rng.next() % 4, "title": odd(rng, title), "description": pick(rng, TEXT),
                "policies": [pick(rng, TEXT)],
            })
        }
        _ => {
            let context = json!(pick(rng, TEXT));
            json!({
                "fromId": rng.next() % 4, "toId": rng.next() % 5, "contextId": odd(rng, context),
                "relationship": pick(rng, ANSWERS), "userId": rng.next() % 3,
            })
        }
    }
}

#[test]
fn importers_survive_random_json_and_write_files_that_load() {
    use quandary::import::{Options, cvc_rules, mge};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cvc_text = std::fs::read_to_string(root.join("rules/cvc.qd")).expect("cvc.qd");
    let cvc = load_with(
        &mut MemoryLoader::new().with("cvc.qd", cvc_text.clone()),
        &["cvc.qd"],
    );
    let mut rng = Bytes(7);
    for round in 0..400 {
        // Rules every other round, cards and votes in between, and some JSON of any shape.
        let items: Vec<serde_json::Value> = (0..rng.next() % 12)
            .map(|_| match rng.next() % 6 {
                0 => json_value(&mut rng, 0),
                k => shaped(&mut rng, if round % 2 == 0 { 0 } else { 1 + k % 2 }),
            })
            .collect();
        let lines: Vec<String> = items.iter().map(|i| i.to_string()).collect();
        let text = if round % 3 == 0 {
            serde_json::json!({"values": items.clone(), "edges": items}).to_string()
        } else {
            lines.join("\n")
        };
        let mut bytes = text.into_bytes();
        if round % 7 == 0 {
            // A line cut short, maybe inside a character.
            bytes.truncate(bytes.len() / 2);
        }
        let strict = round % 4 == 0;
        let options = Options { strict };
        let imported =
            cvc_rules::import_rules(&bytes, "rules.jsonl", &cvc.framework, "cvc.qd", &options);
        for (path, written) in &imported.files {
            let mut loader = MemoryLoader::new()
                .with("cvc.qd", cvc_text.clone())
                .with(path, written.clone());
            let loaded = load_with(&mut loader, &[path]);
            assert!(!loaded.has_errors(), "{written}\n{:?}", loaded.diagnostics);
        }
        let name = if round % 3 == 0 { "g.json" } else { "g.jsonl" };
        let imported = mge::import_graph(&[(name, &bytes)], "g", &options);
        for (path, written) in &imported.files {
            let mut loader = MemoryLoader::new().with(path, written.clone());
            let loaded = load_with(&mut loader, &[path]);
            assert!(!loaded.has_errors(), "{written}\n{:?}", loaded.diagnostics);
        }
    }
}

#[test]
fn a_long_preference_cycle_is_named_by_its_start() {
    // 3,000 preferences in a ring: one diagnostic, naming twelve of them and the length,
    // pointing at twelve (the graphical renderer's time grows with the square of labels).
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("value v{i}\n"));
    }
    for i in 0..3000 {
        text.push_str(&format!("prefer v{i} > v{}\n", (i + 1) % 3000));
    }
    let mut loader = MemoryLoader::new().with("ring.qd", text);
    let loaded = load_with(&mut loader, &["ring.qd"]);
    let cycles: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code == Code::PreferCycle)
        .collect();
    assert_eq!(cycles.len(), 1);
    assert_eq!(cycles[0].labels.len(), 12);
    assert!(
        cycles[0]
            .message
            .contains("… (3000 preferences in all) > `v0`"),
        "{}",
        cycles[0].message
    );
    let shown = quandary::render::render(
        cycles[0],
        &loaded.sources,
        quandary::render::ErrorFormat::Human,
        false,
    );
    assert_eq!(shown.matches("part of the cycle").count(), 12, "{shown}");
}
