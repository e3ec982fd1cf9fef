//! The grammar against the repository's `.qd` files, its own corpus and highlight tests
//! (test/corpus/*.txt, test/highlight/*.qd: the files `tree-sitter test` reads), and the
//! queries against the grammar. Runs without the tree-sitter CLI and without network.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use tree_sitter::{Language, Node, Parser, Query, Tree};
use tree_sitter_highlight::{HighlightConfiguration, HighlightEvent, Highlighter};

fn language() -> Language {
    super::LANGUAGE.into()
}

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The repository this grammar is kept in: editors/tree-sitter-quandary/../..
fn repo_root() -> PathBuf {
    crate_dir().join("../..")
}

fn parse(text: &str) -> Tree {
    let mut parser = Parser::new();
    parser.set_language(&language()).unwrap();
    parser.parse(text, None).unwrap()
}

/// Where the tree has an ERROR or MISSING node: `row:col kind`, the first few of them.
fn errors(node: Node, found: &mut Vec<String>) {
    if found.len() >= 5 {
        return;
    }
    if node.is_error() || node.is_missing() {
        let at = node.start_position();
        found.push(format!(
            "{}:{} {}",
            at.row + 1,
            at.column + 1,
            node.to_sexp()
        ));
        return;
    }
    if node.has_error() {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            errors(child, found);
        }
    }
}

fn files_with_extension(dir: &Path, ext: &str, found: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            let skipped = name == ".git"
                || name == "target"
                || name == "node_modules"
                || name.starts_with(".venv");
            if !skipped {
                files_with_extension(&path, ext, found);
            }
        } else if path.extension().is_some_and(|e| e == ext) {
            found.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    let root = repo_root().canonicalize().unwrap();
    let path = path.canonicalize().unwrap();
    path.strip_prefix(&root)
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

/// The files test/syntax-errors.txt lists.
fn listed_syntax_error_files() -> Vec<String> {
    let listed = fs::read_to_string(crate_dir().join("test/syntax-errors.txt")).unwrap();
    listed
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The files test/syntax-errors.txt lists exist, and the grammar finds an error in each: a
/// file that parses cleanly has no place in the list.
#[test]
fn the_files_listed_as_broken_are_broken() {
    let files = listed_syntax_error_files();
    assert!(!files.is_empty());
    for file in files {
        let path = repo_root().join(&file);
        let bytes = fs::read(&path)
            .unwrap_or_else(|e| panic!("test/syntax-errors.txt lists `{file}`: {e}"));
        let mut parser = Parser::new();
        parser.set_language(&language()).unwrap();
        let tree = parser.parse(&bytes, None).unwrap();
        assert!(
            tree.root_node().has_error(),
            "`{file}` parses without errors: take it out of test/syntax-errors.txt"
        );
    }
}

/// The `.qd` files of the repository that `quandary` refuses with a syntax error (Q0002 to
/// Q0008): the fixtures of tests/check/ whose snapshot says so, and the files that
/// test/syntax-errors.txt lists (the other fixtures written to be broken).
fn syntax_error_files() -> Vec<String> {
    let root = repo_root();
    let mut files = listed_syntax_error_files();
    let snapshots = root.join("tests/snapshots");
    let prefix = "check__diagnostics_match_fixture_expectations@";
    let mut entries: Vec<_> = fs::read_dir(&snapshots)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(fixture) = name
            .strip_prefix(prefix)
            .and_then(|n| n.strip_suffix(".snap"))
        else {
            continue;
        };
        let snapshot = fs::read_to_string(&path).unwrap();
        let syntax = (2..=8).any(|n| snapshot.contains(&format!("error[Q000{n}]")));
        if syntax {
            files.push(format!("tests/check/{fixture}"));
        }
    }
    files
}

/// The files among `names` (paths from the repository's root) that the tools refuse with a
/// syntax error (Q0002 to Q0008), as `quandary fmt` says: the debug build of the repository
/// (target/debug/quandary, which `scripts/test` has built by then), if there is one.
fn tools_syntax_errors(names: &[String]) -> Option<Vec<String>> {
    let root = repo_root();
    let quandary = root.join("target/debug/quandary");
    if !quandary.is_file() {
        return None;
    }
    let output = Command::new(&quandary)
        .current_dir(&root)
        .args(["fmt", "--error-format", "json"])
        .args(names)
        .stdout(std::process::Stdio::null())
        .output()
        .unwrap();
    let mut broken = Vec::new();
    for line in String::from_utf8_lossy(&output.stderr).lines() {
        let field = |key: &str| {
            let start = line.find(&format!("\"{key}\":\""))? + key.len() + 4;
            Some(line[start..].split('"').next()?.to_owned())
        };
        let (Some(code), Some(file)) = (field("code"), field("file")) else {
            continue;
        };
        let syntax = (2..=8).any(|n| code == format!("Q000{n}"));
        if syntax && !broken.contains(&file) {
            broken.push(file);
        }
    }
    Some(broken)
}

#[test]
fn every_qd_file_the_tools_parse_parses_without_errors() {
    let mut paths = Vec::new();
    files_with_extension(&repo_root(), "qd", &mut paths);
    // A fuzz regression is whatever input once broke the tools, valid or not.
    let names: Vec<String> = paths
        .iter()
        .map(|p| relative(p))
        .filter(|n| !n.starts_with("tests/fuzz/"))
        .collect();
    let broken = match tools_syntax_errors(&names) {
        Some(broken) => broken,
        None => {
            let _ = writeln!(
                std::io::stderr().lock(),
                "no target/debug/quandary: the files broken on purpose are those of \
                 test/syntax-errors.txt and the tests/check snapshots"
            );
            syntax_error_files()
        }
    };
    let mut failures = Vec::new();
    let mut parsed = 0;
    for name in &names {
        if broken.contains(name) {
            continue;
        }
        let path = repo_root().join(name);
        let text = fs::read_to_string(&path).unwrap();
        let tree = parse(&text);
        parsed += 1;
        let mut found = Vec::new();
        errors(tree.root_node(), &mut found);
        if !found.is_empty() {
            failures.push(format!("{name}:\n  {}", found.join("\n  ")));
        }
    }
    assert!(
        parsed >= 100,
        "only {parsed} .qd files found under {}",
        repo_root().display()
    );
    assert!(
        failures.is_empty(),
        "{} of {parsed} files do not parse:\n{}\n\
         Make grammar.js follow grammar/quandary.pest (then `tree-sitter generate --abi 14` \
         in editors/tree-sitter-quandary), or, for a file broken on purpose that the tools \
         are not built to tell (no target/debug/quandary), list it in test/syntax-errors.txt.",
        failures.len(),
        failures.join("\n")
    );
}

/// The examples of the language reference (its ```qd blocks, which tests/docs.rs checks
/// cleanly with the tools).
#[test]
fn every_example_of_the_reference_parses_without_errors() {
    let text = fs::read_to_string(repo_root().join("docs/language.md")).unwrap();
    let blocks: Vec<&str> = text
        .split("```qd\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap())
        .collect();
    assert!(blocks.len() >= 10, "only {} examples found", blocks.len());
    let mut failures = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        let mut found = Vec::new();
        errors(parse(block).root_node(), &mut found);
        if !found.is_empty() {
            let first = block.lines().next().unwrap_or("");
            failures.push(format!(
                "example {i} ({first:?}):\n  {}",
                found.join("\n  ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_queries_compile_against_the_grammar() {
    for (name, source) in [
        ("highlights", super::HIGHLIGHTS_QUERY),
        ("injections", super::INJECTIONS_QUERY),
        ("locals", super::LOCALS_QUERY),
        ("folds", super::FOLDS_QUERY),
    ] {
        if let Err(e) = Query::new(&language(), source) {
            panic!("queries/{name}.scm: {e}");
        }
    }
    highlight_configuration();
}

/// A parser of ABI 14 loads in the tree-sitter runtimes of older editors too (0.20 to 0.24:
/// Neovim 0.10, Helix before tree-house); the CLI's default, 15, needs 0.25.
#[test]
fn the_parser_is_generated_for_abi_14() {
    assert_eq!(
        language().abi_version(),
        14,
        "generate the parser with `tree-sitter generate --abi 14`"
    );
}

#[test]
fn the_node_types_are_those_of_the_grammar() {
    let node_types = fs::read_to_string(crate_dir().join("src/node-types.json")).unwrap();
    assert_eq!(node_types, super::NODE_TYPES);
    let lang = language();
    for kind in [
        "source_file",
        "value_node",
        "scenario",
        "suite",
        "judge",
        "translation",
    ] {
        assert!(lang.id_for_node_kind(kind, true) != 0, "no node `{kind}`");
        assert!(
            node_types.contains(&format!("\"type\": \"{kind}\"")),
            "`{kind}` not in node-types.json"
        );
    }
}

/// The languages the injection query asks for while `text` is highlighted.
fn injected_languages(text: &str) -> Vec<String> {
    let config = highlight_configuration();
    let mut highlighter = Highlighter::new();
    let asked = std::cell::RefCell::new(Vec::new());
    let events = highlighter
        .highlight(&config, text.as_bytes(), None, None, |name| {
            asked.borrow_mut().push(name.to_owned());
            None
        })
        .unwrap();
    for event in events {
        event.unwrap();
    }
    asked.into_inner()
}

#[test]
fn template_strings_and_comments_are_injected() {
    assert_eq!(
        injected_languages("value a \"plain text\"\n"),
        Vec::<String>::new()
    );
    assert_eq!(injected_languages("value a \"{{ x }} y\"\n"), ["jinja"]);
    assert_eq!(
        injected_languages("value a \"\"\"{% if a %}b{% endif %}\"\"\"\n"),
        ["jinja"]
    );
    assert_eq!(injected_languages("value a \"{# note #}\"\n"), ["jinja"]);
    assert_eq!(injected_languages("# TODO\nvalue a\n"), ["comment"]);
}

// ---------------------------------------------------------------- corpus tests

struct CorpusCase {
    file: String,
    name: String,
    input: String,
    expected: String,
}

fn is_rule(line: &str, c: char) -> bool {
    line.len() >= 3 && line.chars().all(|x| x == c)
}

/// The cases of a corpus file: a name between two lines of `=`, the input, a line of `-`,
/// the expected tree.
fn corpus_cases(file: &str, text: &str) -> Vec<CorpusCase> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cases = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !is_rule(lines[i], '=') {
            i += 1;
            continue;
        }
        let name = lines[i + 1].trim().to_owned();
        assert!(
            is_rule(lines[i + 2], '='),
            "{file}: `{name}` has no closing line of `=`"
        );
        let start = i + 3;
        let sep = (start..lines.len())
            .find(|&j| is_rule(lines[j], '-'))
            .unwrap();
        let end = (sep..lines.len())
            .find(|&j| is_rule(lines[j], '='))
            .unwrap_or(lines.len());
        let input = lines[start..sep].join("\n").trim_end().to_owned() + "\n";
        let expected = lines[sep + 1..end].join("\n");
        cases.push(CorpusCase {
            file: file.to_owned(),
            name,
            input,
            expected,
        });
        i = end;
    }
    cases
}

/// An S-expression with single spaces, without its field names unless `fields`.
fn normalize(sexp: &str, fields: bool) -> String {
    let spaced = sexp.replace('(', " ( ").replace(')', " ) ");
    let words: Vec<&str> = spaced
        .split_whitespace()
        .filter(|w| fields || !w.ends_with(':'))
        .collect();
    words.join(" ").replace("( ", "(").replace(" )", ")")
}

#[test]
fn the_corpus_tests_pass() {
    let dir = crate_dir().join("test/corpus");
    let mut paths = Vec::new();
    files_with_extension(&dir, "txt", &mut paths);
    let mut failures = Vec::new();
    let mut count = 0;
    for path in &paths {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        for case in corpus_cases(&file, &fs::read_to_string(path).unwrap()) {
            count += 1;
            // As `tree-sitter test` does: field names count where the expected tree has them.
            let fields = case.expected.contains(": (");
            let actual = normalize(&parse(&case.input).root_node().to_sexp(), fields);
            let expected = normalize(&case.expected, fields);
            if actual != expected {
                failures.push(format!(
                    "{} `{}`:\n  expected {expected}\n  actual   {actual}",
                    case.file, case.name
                ));
            }
        }
    }
    assert!(count >= 10, "only {count} corpus cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------- highlight tests

fn highlight_configuration() -> HighlightConfiguration {
    let mut config = HighlightConfiguration::new(
        language(),
        "quandary",
        super::HIGHLIGHTS_QUERY,
        super::INJECTIONS_QUERY,
        super::LOCALS_QUERY,
    )
    .unwrap();
    let names: Vec<String> = config.names().iter().map(|n| n.to_string()).collect();
    config.configure(&names);
    config
}

/// For each byte of `text`, the innermost highlight over it.
fn highlights(text: &str) -> (Vec<Option<String>>, Vec<String>) {
    let config = highlight_configuration();
    let names: Vec<String> = config.names().iter().map(|n| n.to_string()).collect();
    let mut highlighter = Highlighter::new();
    let events = highlighter
        .highlight(&config, text.as_bytes(), None, None, |_| None)
        .unwrap();
    let mut stack = Vec::new();
    let mut at = vec![None; text.len()];
    for event in events {
        match event.unwrap() {
            HighlightEvent::HighlightStart(h) => stack.push(names[h.0].clone()),
            HighlightEvent::HighlightEnd => {
                stack.pop();
            }
            HighlightEvent::Source { start, end } => {
                for slot in &mut at[start..end] {
                    slot.clone_from(&stack.last().cloned());
                }
            }
        }
    }
    (at, names)
}

struct Assertion {
    line: usize,
    row: usize,
    columns: std::ops::Range<usize>,
    negated: bool,
    name: String,
}

/// The assertions of a highlight test: a comment `# ^ name` (or `# ^^^ name`) under a line
/// says that the columns of the carets are highlighted as `name`; `# <- name` says it of
/// the column of the `#`; `!name` says they are not.
fn assertions(text: &str) -> Vec<Assertion> {
    let mut found = Vec::new();
    let mut row = None;
    for (line, content) in text.lines().enumerate() {
        let trimmed = content.trim_start();
        let hash = content.len() - trimmed.len();
        let rest = trimmed.strip_prefix('#').map(str::trim_start);
        let marker = rest.filter(|r| r.starts_with('^') || r.starts_with("<-"));
        let (Some(marker), Some(row)) = (marker, row) else {
            row = Some(line);
            continue;
        };
        let (columns, after) = if let Some(after) = marker.strip_prefix("<-") {
            (hash..hash + 1, after)
        } else {
            let start = content.find('^').unwrap();
            let carets = marker.chars().take_while(|&c| c == '^').count();
            (start..start + carets, &marker[carets..])
        };
        let after = after.trim();
        let (negated, name) = match after.strip_prefix('!') {
            Some(name) => (true, name),
            None => (false, after),
        };
        found.push(Assertion {
            line,
            row,
            columns,
            negated,
            name: name.to_owned(),
        });
    }
    found
}

#[test]
fn the_highlight_tests_pass() {
    let dir = crate_dir().join("test/highlight");
    let mut paths = Vec::new();
    files_with_extension(&dir, "qd", &mut paths);
    let mut failures = Vec::new();
    let mut count = 0;
    for path in &paths {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(path).unwrap();
        let (at, names) = highlights(&text);
        let offsets: Vec<usize> = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        for assertion in assertions(&text) {
            count += 1;
            assert!(
                names.contains(&assertion.name),
                "{file}:{}: `{}` is no capture of queries/highlights.scm",
                assertion.line + 1,
                assertion.name
            );
            for column in assertion.columns.clone() {
                let actual = at.get(offsets[assertion.row] + column).cloned().flatten();
                let holds = actual.as_deref() == Some(assertion.name.as_str());
                if holds == assertion.negated {
                    failures.push(format!(
                        "{file}:{}:{}: expected {}{}, found {}",
                        assertion.row + 1,
                        column + 1,
                        if assertion.negated { "not " } else { "" },
                        assertion.name,
                        actual.as_deref().unwrap_or("no highlight")
                    ));
                    break;
                }
            }
        }
    }
    assert!(count >= 20, "only {count} highlight assertions");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------- in Neovim

include!("support.rs");

/// Neovim, set up as docs/editors.md says (the parser compiled into `parser/quandary.so`, the
/// queries copied into `queries/quandary/`), loads the parser and every query, and applies
/// them: its own query engine reads `#match?` as a Vim regex, not as tree-sitter's.
#[test]
fn neovim_loads_the_parser_and_applies_the_queries() {
    let (Some(nvim), Some(cc)) = (on_path("nvim"), on_path("cc")) else {
        assert!(
            !tools_required(),
            "Neovim or cc is missing, and QUANDARY_REQUIRE_TOOLS is set (`scripts/test` installs them)"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED neovim_loads_the_parser_and_applies_the_queries: no nvim or cc on the PATH"
        );
        return;
    };
    let home = scratch_dir("nvim");
    fs::create_dir_all(home.join("queries/quandary")).unwrap();
    build_shared_parser(&cc, &home.join("parser/quandary.so"));
    for name in ["highlights", "injections", "locals", "folds"] {
        let query = crate_dir().join(format!("queries/{name}.scm"));
        fs::copy(&query, home.join(format!("queries/quandary/{name}.scm"))).unwrap();
    }
    let sample = home.join("sample.qd");
    fs::write(
        &sample,
        "framework f \"F\" { levels group, value }\n\
         group g { value care \"Care for {{ who }}\" }\n\
         value plain \"Plain\" # TODO\n",
    )
    .unwrap();
    let out = home.join("out.txt");
    let status = Command::new(nvim)
        .args(["--headless", "-u", "NONE", "-i", "NONE", "--cmd"])
        .arg(format!("set rtp^={}", home.display()))
        .arg(&sample)
        .arg("-c")
        .arg(format!(
            "luafile {}",
            crate_dir().join("test/neovim/check.lua").display()
        ))
        .env("QUANDARY_NVIM_OUT", &out)
        .status()
        .unwrap();
    let report = fs::read_to_string(&out).unwrap_or_default();
    let _ = fs::remove_dir_all(&home);
    assert!(status.success(), "nvim failed:\n{report}");
    let lines: Vec<&str> = report.lines().collect();
    let errors: Vec<&&str> = lines.iter().filter(|l| l.starts_with("error")).collect();
    assert!(errors.is_empty(), "Neovim:\n{}", report);
    for expected in [
        "has_error\tfalse",
        "capture\thighlights\tkeyword\tframework",
        "capture\thighlights\ttype\tf",
        "capture\thighlights\tkeyword\tlevels",
        "capture\thighlights\tkeyword\tgroup",
        "capture\thighlights\ttype\tcare",
        "capture\thighlights\tcomment\t# TODO",
        "capture\tinjections\tinjection.content\tCare for {{ who }}",
        "capture\tinjections\tinjection.content\t# TODO",
        "capture\tfolds\tfold\t{ value care \"Care for {{ who }}\" }",
    ] {
        assert!(
            lines.contains(&expected),
            "Neovim did not give `{expected}`:\n{report}"
        );
    }
    assert!(
        !lines.contains(&"capture\tinjections\tinjection.content\tPlain"),
        "a string without Jinja is injected:\n{report}"
    );
}
