//! A seeded mutation fuzzer over parse, check, fmt and expand that runs on stable Rust.
//!
//! Used by `tests/fuzz.rs` (a short run inside `cargo test`, the replay of
//! `tests/fuzz/regressions/`) and by `scripts/fuzz` (a longer run in the release profile).
//!
//! - **Inputs** are corpus files (every `.qd` under `rules/`, `scenarios/`, `tests/check/`
//!   and `tests/fmt/`) with a few seeded mutations applied. Rough ones: byte flips (a broken
//!   character becomes U+FFFD: inputs are text), deleted, repeated and moved spans and lines,
//!   lines spliced in from other corpus files, interesting tokens (template delimiters,
//!   non-ASCII such as 名字, é, U+2029 and U+0085, level keywords, odd escapes, `"""`), huge
//!   numbers and large constructs (deep nesting, 70,000-character lines, long preference
//!   chains, template expressions tens of thousands of tokens long). Gentle ones keep the
//!   structure, to get past the parser: text put into string literals, whole items added,
//!   removed or duplicated, numbers and words replaced. A quarter of the inputs aim at
//!   expansion: a corpus file with a suite, or a small scenario and suite (the "harness")
//!   around a template. Inputs may `use "lib.qd"`, a small framework served from memory
//!   beside the input; nothing is read from disk. Input `i` of seed `s` is a pure function
//!   of `(s, i)` and the corpus, so any input can be made again from its seed and iteration.
//! - **Oracles**, checked by [`check`]: no panic (caught, with its message and location);
//!   `fmt` is idempotent and meaning-preserving (the syntax tree of the formatted text equals
//!   the original's, spans aside and an empty block `{}` counting as none; loading both gives
//!   the same diagnostic codes and the same model); every diagnostic is located (a primary
//!   span inside its file, on character boundaries, or a path) and renders in the human,
//!   plain and JSON formats without panicking; a file that loads without errors expands
//!   each suite (a few dozen scenarios, one thread) without panicking, to the same bytes
//!   twice.
//! - **Crashes and hangs**: inputs run in worker processes: the test binary run again with
//!   [`WORKER_ENV`] set, selecting the `fuzz_worker` test, which checks inputs on a thread
//!   with a 2 MiB stack (the default of test and spawned threads), reading them from its
//!   standard input and writing each one to `current.qd` in its directory before checking it.
//!   A worker that dies (a stack overflow aborts the process) or overruns the time budget is
//!   reported with the input it was on and the stage it had reached, and a fresh worker takes
//!   over. Its address space is limited (`ulimit -v`), so runaway memory is a crash too.
//! - **Failures** are grouped by signature (oracle, stage, and the panic's location or a
//!   short description); the first few inputs of each are saved with a note of how they were
//!   made. [`minimise`] shrinks one while it keeps failing the same way.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader, Read, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use quandary::expand::{Expansion, Options};
use quandary::render::{ErrorFormat, render};
use quandary::{Diagnostic, Loaded, MemoryLoader, SourceMap, load_with};

/// Set (to the worker's scratch directory) in the environment of a worker process.
pub const WORKER_ENV: &str = "QUANDARY_FUZZ_WORKER";

/// The name of the test that runs a worker when [`WORKER_ENV`] is set.
pub const WORKER_TEST: &str = "fuzz_worker";

/// Starts every protocol line a worker writes to its standard output (the test harness may
/// write lines of its own there).
const MARK: &str = "\u{1}qfz ";

/// What the input is called when loaded.
pub const INPUT_NAME: &str = "input.qd";

/// A second file the input may import (`use "lib.qd" as lib`); the loader serves only these
/// two from memory, so inputs never read the file system.
pub const LIB_NAME: &str = "lib.qd";
const LIB: &str = "framework lib \"Lib\" {\n  levels domain, value\n}\ndomain d \"D\" {\n  value x \"X\" { zh \"甲\" }\n  value y \"Y\"\n}\nconflict x <> y\nrule r \"R {{ x }}\" { upholds x  violates y }\nscenario s { text \"{{ 1 }}\" action a { upholds x } action b { upholds y } }\n";

/// Scenarios asked of each suite of a clean input.
const EXPAND_COUNT: u64 = 24;
/// Suites expanded per input, at most.
const EXPAND_SUITES: usize = 3;
/// Diagnostics rendered per input, at most (the first two of each code).
const RENDER_MAX: usize = 48;

// ------------------------------------------------------------------------------ random

/// SplitMix64: small, fast, and good enough to pick mutations.
#[derive(Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The generator of input `iteration` of run `seed`.
    pub fn for_input(seed: u64, iteration: u64) -> Rng {
        let mut rng = Rng(seed ^ iteration.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next();
        rng
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    /// One element of `items`, which must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A length of at most `max`, short ones far more likely.
    pub fn small(&mut self, max: usize) -> usize {
        let bits = self.below(usize::BITS as usize - max.max(1).leading_zeros() as usize + 1);
        (1 + self.below(1 << bits)).min(max.max(1))
    }
}

// ------------------------------------------------------------------------------ corpus

/// The files mutations start from, and splice lines from.
pub struct Corpus {
    /// `(path relative to the repository, text)`, sorted by path.
    pub files: Vec<(String, String)>,
    /// The indices of the files that declare a suite.
    pub with_suites: Vec<usize>,
}

/// The directories whose `.qd` files make the corpus.
pub const CORPUS_DIRS: &[&str] = &["rules", "scenarios", "tests/check", "tests/fmt"];

impl Corpus {
    /// Every `.qd` file under [`CORPUS_DIRS`] of `root`. A file that is not UTF-8 is taken
    /// with its bad bytes replaced.
    pub fn load(root: &Path) -> Corpus {
        let mut files = Vec::new();
        for dir in CORPUS_DIRS {
            for path in qd_files(&root.join(dir)) {
                let Ok(bytes) = std::fs::read(&path) else {
                    continue;
                };
                let name = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((name, String::from_utf8_lossy(&bytes).into_owned()));
            }
        }
        files.sort();
        Corpus::new(files)
    }

    /// A corpus of these files.
    pub fn new(files: Vec<(String, String)>) -> Corpus {
        let with_suites = files
            .iter()
            .enumerate()
            .filter(|(_, (_, text))| text.starts_with("suite ") || text.contains("\nsuite "))
            .map(|(i, _)| i)
            .collect();
        Corpus { files, with_suites }
    }
}

/// Every `*.qd` file under `dir`, recursively, sorted.
pub fn qd_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(qd_files(&path));
        } else if path.extension().is_some_and(|e| e == "qd") {
            out.push(path);
        }
    }
    out.sort();
    out
}

// ------------------------------------------------------------------------------ mutations

/// One generated input and how it was made.
pub struct Input {
    /// The run's seed.
    pub seed: u64,
    /// Its number in the run.
    pub iteration: u64,
    /// The corpus file it started from (empty when it started from nothing).
    pub base: String,
    /// The mutations applied, in order.
    pub mutations: Vec<String>,
    /// The text.
    pub text: String,
}

/// Words of the language: keywords, common level keywords, settings.
const WORDS: &[&str] = &[
    "framework",
    "source",
    "version",
    "license",
    "levels",
    "describe",
    "kind",
    "alias",
    "use",
    "as",
    "map",
    "conflict",
    "prefer",
    "wiser",
    "when",
    "in",
    "weight",
    "note",
    "rule",
    "upholds",
    "violates",
    "context",
    "profile",
    "scenario",
    "topic",
    "slot",
    "pick",
    "from",
    "text",
    "text.zh",
    "action",
    "affects",
    "follows",
    "distractor",
    "suite",
    "seed",
    "count",
    "each",
    "balance",
    "twins",
    "require",
    "dedupe",
    "distractors",
    "order",
    "prompt",
    "system",
    "user",
    "labels",
    "instruction",
    "steer",
    "toward",
    "away",
    "constitution",
    "principle",
    "verbatim",
    "indirectly",
    "persona",
    "pass",
    "question",
    "option",
    "reference",
    "stance",
    "statement",
    "reversed",
    "value",
    "group",
    "domain",
    "dimension",
    "core",
    "derived",
    "foundation",
    "right",
    "duty",
    "diverse",
    "pairs",
    "shuffled",
    "fixed",
    "children",
    "descendants",
    "values",
    "conflicts",
    "rule_conflicts",
    "zh",
    "pt-BR",
    "lib",
    "lib.x",
    "lib.y",
    "lib.r",
    "x",
    "_",
    "a1",
    "名字",
    "é",
];

/// Short tokens inserted anywhere.
const TOKENS: &[&str] = &[
    "{{",
    "}}",
    "{%",
    "%}",
    "{#",
    "#}",
    "{{ x }}",
    "{{ a }}",
    "{{ a.zh }}",
    "{{ 名字 }}",
    "{{ é }}",
    "{{ a|upper }}",
    "{{ a|nosuchfilter }}",
    "{{ a.b.c.d }}",
    "{{ a[0] }}",
    "{% if a %}",
    "{% endif %}",
    "{% for i in range(3) %}{{ i }}{% endfor %}",
    "{% raw %}",
    "{% macro m() %}{{ caller() }}{% endmacro %}",
    "{{ loop.index }}",
    "{% include 'x' %}",
    "{% extends 'x' %}",
    "{{ 1/0 }}",
    "{{ a ~ b }}",
    "{{ self }}",
    "{% set a = 1 %}",
    "{{ population }}",
    "名字",
    "é",
    "e\u{301}",
    "\u{2029}",
    "\u{2028}",
    "\u{0085}",
    "\u{FEFF}",
    "\u{200B}",
    "\u{202E}",
    "\u{0}",
    "\u{7f}",
    "\u{b}",
    "\u{c}",
    "\t",
    "\r",
    "\r\n",
    "\n",
    "\n\n",
    "👍",
    "\u{10FFFF}",
    "\"",
    "\"\"\"",
    "\\",
    "\\n",
    "\\u{110000}",
    "\\u{D800}",
    "\\u{0}",
    "\\u{1F600}",
    "\\q",
    "#",
    "# comment\n",
    "{",
    "}",
    "{}",
    "[",
    "]",
    "[]",
    "(",
    ")",
    "<>",
    ">",
    "=>",
    "=",
    ",",
    ".",
    "+",
    "-",
    " ",
    "framework f { levels domain, value }\n",
    "framework g \"G\" { levels a, b, c }\n",
    "framework h { levels value, value }\n",
    "framework k { levels rule }\n",
    "a x { b y { value z } }\n",
    "use \"lib.qd\" as lib\n",
    "use \"input.qd\" as me\n",
    "use \"missing.qd\" as lib\n",
    "use \"../lib.qd\" as up\n",
    "map x => lib.x\n",
    "conflict lib.x <> lib.y\n",
    "prefer lib.x > lib.y when \"ward\"\n",
    "wiser lib.x > lib.y in c weight 2\n",
    "profile p { lib.x 1 }\n",
    "value v \"V\" { kind duty alias \"w\" zh \"乙\" }\n",
    "slot s = children(lib.d)\n",
    "pick a, b from conflicts(lib.d, lib.d)\n",
    "suite t { count 3 }\n",
    "suite t { from lib.s each 2 balance diverse twins order dedupe }\n",
    "languages zh, de, zh\n",
    "languages tlh\n",
    "system.zh \"系统\"\n",
    "user.de \"{{ text }} {{ instruction }}\"\n",
    "instruction.tlh \"jIH\"\n",
    "zh \"{{ a }}行动\"\n",
    "text.pt-BR \"{{ a }}\"\n",
    "statement.zh \"甲\"\n",
    "reversed.de \"B\"\n",
    "option a \"A\"  zh \"甲\"  de \"Ä\"\n",
    "judge j { verdict actions }\n",
    "judge j \"J\" { system \"s\" user \"{{ answer }} {{ verdicts }}\" verdict stance }\n",
    "verdict labels a, b, a\n",
    "verdict scale 1 to 5\n",
    "verdict scale 5 to 1\n",
    "verdict scale -9223372036854775808 to 9223372036854775807\n",
    "verdict stance\n",
    "judge j\n",
    "judge fzlib.j\n",
    "to",
];

/// Numbers that are too large, too small, too precise or negative zero.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "-1",
    "0.5",
    "1e999999",
    "-1e999999",
    "1e-999999",
    "99999999999999999999999999999999",
    "18446744073709551615",
    "18446744073709551616",
    "9223372036854775808",
    "4294967296",
    "9007199254740993",
    "0.000000000000000000000000000001",
    "100000000",
    "100000001",
    "1.5",
    "2",
    "3",
];

/// Template texts for the scenario [`harness`] and for strings.
fn template(rng: &mut Rng) -> String {
    const VALID: &[&str] = &[
        "{{ who }} weighs {{ a }} against {{ b.label }}",
        "{{ who|upper }} {{ a.zh }}",
        "{% for c in who %}{{ c }}{% endfor %} {{ b }}",
        "{% if a.zh %}{{ a.zh }}{% else %}{{ a }}{% endif %}",
        "\n    {{ who }}\n      {{ a }}\n  ",
        "{{ who ~ a ~ b }}",
        "{{ who|length }} {{ a.id }}",
        "名字 é \u{2029} \u{0085} {{ who }}",
        "{{ a|title }} {{ b|lower }} {{ who|replace('名', 'x') }}",
    ];
    if rng.chance(40) {
        return rng.pick(VALID).to_string();
    }
    match rng.below(17) {
        0 => format!("{{{{ {}1 }}}}", "-".repeat(rng.small(20_000))),
        1 => format!("{{{{ who{} }}}}", "|upper".repeat(rng.small(50_000))),
        2 => format!(
            "{{{{ {}1{} }}}}",
            "(".repeat(rng.small(20_000)),
            ")".repeat(rng.small(20_000))
        ),
        3 => {
            let n = rng.small(5_000);
            format!("{}x{}", "{% if 1 %}".repeat(n), "{% endif %}".repeat(n))
        }
        4 => format!(
            "{{{{ {}1{} }}}}",
            "[".repeat(rng.small(20_000)),
            "]".repeat(20)
        ),
        5 => "{{ 名字 }}".into(),
        6 => "{{ a.é }} and {{ é }} and {{ who }} {{ a }} {{ b.zh }}".into(),
        7 => "{% for i in range(100000000) %}{{ i }}{% endfor %}".into(),
        8 => "{{ 'x' * 100000000000 }}".into(),
        9 => "{{ range(100000000)|list|length }}".into(),
        10 => "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}".into(),
        11 => format!("{{{{ {} }}}}", "who ~ ".repeat(rng.small(20_000)) + "1"),
        12 => format!("{{{{ {} }}}}", "not ".repeat(rng.small(20_000)) + "1"),
        13 => format!("{{{{ a{} }}}}", ".b".repeat(rng.small(20_000))),
        14 => format!("{{{{ 1{} }}}}", " + 1".repeat(rng.small(20_000))),
        15 => format!(
            "{}{}",
            "x".repeat(*rng.pick(&[65_534, 65_535, 65_536])),
            rng.pick(&["{{ @ }}", "{{", "{% %}", "{{ who }}"])
        ),
        _ => rng.pick(TOKENS).to_string(),
    }
}

/// Items with a scenario and a suite around `template`, over the values of [`LIB_NAME`], to
/// reach template compilation and expansion from any input.
fn harness(template: &str) -> String {
    format!(
        "use \"lib.qd\" as fzlib\n\
         scenario fzS {{\n  slot who = [\"名字\", \"é\"]\n  pick a, b from conflicts(fzlib.d, fzlib.d)\n  \
         text \"\"\"{template}\"\"\"\n  action one {{ upholds a }}\n  action two {{ upholds b }}\n}}\n\
         suite fzT {{ from fzS count 4 }}\n"
    )
}

/// A large construct.
fn big(rng: &mut Rng) -> (String, String) {
    match rng.below(12) {
        0 => {
            let depth = *rng.pick(&[8, 63, 64, 65, 100, 1_000, 20_000]);
            let close = if rng.chance(70) {
                depth
            } else {
                rng.below(depth)
            };
            (
                format!("braces {depth}"),
                format!("{}{}", "{ ".repeat(depth), "} ".repeat(close)),
            )
        }
        1 => {
            let depth = 1 + rng.small(70);
            let mut s = String::new();
            for i in 0..depth {
                let _ = write!(s, "l{i} n{i} {{ ");
            }
            s.push_str("value z ");
            s.push_str(&"} ".repeat(depth));
            s.push('\n');
            (format!("nested unknown levels {depth}"), s)
        }
        2 => {
            let fill = *rng.pick(&["x", " ", "é", "名", "{", "a ", "\"", "#"]);
            let n = 70_000 / fill.len();
            (format!("long line of {fill:?}"), fill.repeat(n))
        }
        3 => (
            "long label".into(),
            format!("\nvalue long \"{}\"\n", "x".repeat(70_000)),
        ),
        4 => (
            "error past column 70000".into(),
            format!("{}@ }}\n", " ".repeat(70_000)),
        ),
        5 => {
            let t = template(rng);
            ("harness".into(), harness(&t))
        }
        6 => {
            // A long chain of preferences, closed into a cycle or not.
            let n = rng.small(20_000);
            let cycle = rng.chance(50);
            let mut s = String::new();
            for i in 0..n {
                let _ = writeln!(s, "value fz{i}");
            }
            for i in 1..n {
                let _ = writeln!(s, "prefer fz{} > fz{i}", i - 1);
            }
            if cycle {
                let _ = writeln!(s, "prefer fz{} > fz0", n.saturating_sub(1));
            }
            (
                format!(
                    "{n} values and a prefer {}",
                    if cycle { "cycle" } else { "chain" }
                ),
                s,
            )
        }
        7 => {
            let n = rng.small(20_000);
            (format!("list {n}"), format!("[{}]", "\"a\", ".repeat(n)))
        }
        8 => {
            let n = rng.small(100_000);
            (format!("comment {n}"), format!("#{}\n", "#".repeat(n)))
        }
        9 => (
            "triple string".into(),
            format!("\"\"\"{}\"\"\"", "\n  {{ x }}".repeat(rng.small(5_000))),
        ),
        10 => {
            let n = rng.small(20_000);
            (format!("{n} dotted"), format!("a{}", ".b".repeat(n)))
        }
        _ => {
            let t = template(rng);
            ("template".into(), t)
        }
    }
}

/// `i` moved forward to a character boundary of `buf`.
fn boundary(buf: &[u8], i: usize) -> usize {
    let mut i = i.min(buf.len());
    while i < buf.len() && (buf[i] & 0xC0) == 0x80 {
        i += 1;
    }
    i
}

fn position(rng: &mut Rng, buf: &[u8]) -> usize {
    boundary(buf, rng.below(buf.len() + 1))
}

fn span(rng: &mut Rng, buf: &[u8], max: usize) -> (usize, usize) {
    let start = position(rng, buf);
    let end = boundary(buf, start + rng.small(max));
    (start, end)
}

/// Byte ranges of the lines of `buf`, line endings included.
fn lines(buf: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in buf.iter().enumerate() {
        if b == b'\n' {
            out.push((start, i + 1));
            start = i + 1;
        }
    }
    if start < buf.len() {
        out.push((start, buf.len()));
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Inputs are kept below this size, large constructs included.
const MAX_LEN: usize = 600_000;

/// Makes input `iteration` of run `seed`.
pub fn generate(corpus: &Corpus, seed: u64, iteration: u64) -> Input {
    let mut rng = Rng::for_input(seed, iteration);
    let mut mutations = Vec::new();
    // A quarter of the inputs aim at expansion: a file with a suite, or a harness, mutated
    // gently; the others start from any file.
    let focus = rng.chance(25);
    let (base, mut buf) = if focus && (corpus.with_suites.is_empty() || rng.chance(35)) {
        let t = template(&mut rng);
        mutations.push(format!("(focus) harness: {}", short(&t, 60)));
        ("(harness)".to_string(), harness(&t).into_bytes())
    } else if focus {
        let (name, text) = &corpus.files[*rng.pick(&corpus.with_suites)];
        mutations.push("(focus)".to_string());
        (name.clone(), text.clone().into_bytes())
    } else if corpus.files.is_empty() || rng.chance(6) {
        (String::new(), Vec::new())
    } else {
        let (name, text) = rng.pick(&corpus.files);
        (name.clone(), text.clone().into_bytes())
    };
    // Gentle inputs keep the file's structure, so that they get past the parser to the
    // resolver, the checks, the formatter and expansion; rough ones need not.
    let gentle = focus || rng.chance(55);
    let count = if focus {
        rng.below(3)
    } else {
        rng.small(if gentle { 4 } else { 6 })
    };
    if gentle && !focus {
        mutations.push("(gentle)".to_string());
    }
    for _ in 0..count {
        let m = if gentle {
            mutate_gently(&mut rng, corpus, &mut buf)
        } else {
            mutate(&mut rng, corpus, &mut buf)
        };
        mutations.push(m);
    }
    Input {
        seed,
        iteration,
        base,
        mutations,
        text: String::from_utf8_lossy(&buf).into_owned(),
    }
}

/// Where a file's top-level items start, and where its strings' contents are.
struct Layout {
    /// Offsets of lines that start outside any block, and the end of the file.
    tops: Vec<usize>,
    /// `(start, end, triple)`: the contents of each string literal.
    strings: Vec<(usize, usize, bool)>,
}

/// A rough lexer: comments, both kinds of strings, braces.
fn layout(buf: &[u8]) -> Layout {
    let mut tops = Vec::new();
    let mut strings = Vec::new();
    let mut depth = 0i64;
    let mut at_line_start = true;
    let mut i = 0;
    while i < buf.len() {
        if at_line_start {
            if depth <= 0 {
                tops.push(i);
            }
            at_line_start = false;
        }
        match buf[i] {
            b'#' => {
                while i < buf.len() && buf[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' if buf[i..].starts_with(b"\"\"\"") => {
                let start = i + 3;
                let end = buf[start..]
                    .windows(3)
                    .position(|w| w == b"\"\"\"")
                    .map_or(buf.len(), |p| start + p);
                strings.push((start, end, true));
                i = end + 3;
                continue;
            }
            b'"' => {
                let start = i + 1;
                let mut j = start;
                while j < buf.len() && buf[j] != b'"' && buf[j] != b'\n' {
                    j += if buf[j] == b'\\' { 2 } else { 1 };
                }
                let end = j.min(buf.len());
                strings.push((start, end, false));
                i = end + 1;
                continue;
            }
            b'{' => depth += 1,
            b'}' => depth -= 1,
            b'\n' => at_line_start = true,
            _ => {}
        }
        i += 1;
    }
    tops.push(buf.len());
    Layout { tops, strings }
}

/// Text to put inside a string literal.
fn string_text(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=5 => rng.pick(TOKENS).to_string(),
        6 => template(rng),
        7 => "名字".repeat(rng.small(40_000)),
        8 => "x".repeat(70_000),
        _ => rng.pick(WORDS).to_string(),
    }
}

/// `text` escaped for a plain string literal.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
        .replace('\r', "\\r")
}

/// An item (or several) to add at the top level.
fn top_item(rng: &mut Rng, corpus: &Corpus) -> (String, String) {
    match rng.below(10) {
        0..=3 if !corpus.files.is_empty() => {
            let (name, text) = rng.pick(&corpus.files);
            let l = layout(text.as_bytes());
            let k = rng.below(l.tops.len().saturating_sub(1));
            let n = rng.small(3);
            let end = l.tops[(k + n).min(l.tops.len() - 1)];
            let item = text.get(l.tops[k]..end).unwrap_or("").to_string();
            (format!("{n} items of {name}"), item)
        }
        4..=6 => {
            let t = template(rng);
            let shown: String = t.chars().take(30).collect();
            (format!("harness {shown:?}…"), harness(&t))
        }
        7 if rng.chance(50) => (
            "nested unknown levels".into(),
            "a x { b y { value z } }\n".into(),
        ),
        7 => {
            let pad = " ".repeat(*rng.pick(&[65_535, 65_536, 70_000]));
            (
                "item past column 65535".into(),
                format!("{pad}value fzwide \"W\" {{ kind nonsense }}\n"),
            )
        }
        _ => {
            let token = rng.pick(TOKENS);
            (format!("{token:?}"), format!("{token}\n"))
        }
    }
}

/// Applies one mutation that keeps the file's structure; says which.
fn mutate_gently(rng: &mut Rng, corpus: &Corpus, buf: &mut Vec<u8>) -> String {
    let l = layout(buf);
    match rng.below(100) {
        0..=34 if !l.strings.is_empty() => {
            let (start, end, triple) = *rng.pick(&l.strings);
            let at = boundary(buf, start + rng.below(end.saturating_sub(start) + 1));
            let mut text = string_text(rng);
            if triple {
                text = text.replace("\"\"\"", "\"\"");
            } else {
                text = escape(&text);
            }
            let shown: String = text.chars().take(30).collect();
            buf.splice(at..at, text.into_bytes());
            format!("into the string at {start}, at {at}: {shown:?}…")
        }
        35..=44 if !l.strings.is_empty() => {
            let (start, end, triple) = *rng.pick(&l.strings);
            let mut text = string_text(rng);
            if !triple {
                text = escape(&text);
            } else {
                text = text.replace("\"\"\"", "\"\"");
            }
            let shown: String = text.chars().take(30).collect();
            buf.splice(start..end, text.into_bytes());
            format!("replace the string at {start}: {shown:?}…")
        }
        45..=69 => {
            let (what, mut item) = top_item(rng, corpus);
            let at = *rng.pick(&l.tops);
            if at > 0 && buf[at - 1] != b'\n' {
                item.insert(0, '\n');
            }
            if !item.ends_with('\n') {
                item.push('\n');
            }
            buf.splice(at..at, item.into_bytes());
            format!("add {what} at {at}")
        }
        70..=76 if l.tops.len() > 1 => {
            let k = rng.below(l.tops.len() - 1);
            let (a, b) = (l.tops[k], l.tops[k + 1]);
            if rng.chance(50) {
                buf.drain(a..b);
                format!("delete the item at {a}")
            } else {
                let copy = buf[a..b].to_vec();
                buf.splice(b..b, copy);
                format!("duplicate the item at {a}")
            }
        }
        77..=86 => {
            let digits: Vec<usize> = (0..buf.len())
                .filter(|&i| buf[i].is_ascii_digit() && (i == 0 || !is_word(buf[i - 1])))
                .filter(|i| !l.strings.iter().any(|&(s, e, _)| (s..e).contains(i)))
                .collect();
            if digits.is_empty() {
                return "no number to replace".into();
            }
            let a = *rng.pick(&digits);
            let mut b = a;
            while b < buf.len() && (buf[b].is_ascii_digit() || matches!(buf[b], b'.' | b'e' | b'E'))
            {
                b += 1;
            }
            let number = rng.pick(NUMBERS);
            buf.splice(a..b, number.bytes());
            format!("replace the number at {a} with {number}")
        }
        87..=90 => {
            let comment = format!(
                "# {} {}\n",
                rng.pick(TOKENS).replace('\n', " "),
                rng.pick(WORDS)
            );
            let lines = lines(buf);
            let at = if lines.is_empty() {
                0
            } else {
                rng.pick(&lines).0
            };
            buf.splice(at..at, comment.into_bytes());
            format!("comment at {at}")
        }
        91 | 92 => {
            let text = String::from_utf8_lossy(buf).replace('\n', "\r\n");
            *buf = text.into_bytes();
            "CRLF line endings".into()
        }
        93 => {
            buf.splice(0..0, "\u{FEFF}".bytes());
            "byte-order mark".into()
        }
        _ => {
            // A word (not in a string or comment) replaced by another of the language.
            let words: Vec<usize> = (0..buf.len())
                .filter(|&i| is_word(buf[i]) && (i == 0 || !is_word(buf[i - 1])))
                .filter(|i| !l.strings.iter().any(|&(s, e, _)| (s..e).contains(i)))
                .collect();
            if words.is_empty() {
                return "no word to replace".into();
            }
            let a = *rng.pick(&words);
            let mut b = a;
            while b < buf.len() && is_word(buf[b]) {
                b += 1;
            }
            let word = rng.pick(WORDS);
            buf.splice(a..b, word.bytes());
            format!("replace the word at {a} with {word:?}")
        }
    }
}

/// Applies one mutation to `buf`; says which.
fn mutate(rng: &mut Rng, corpus: &Corpus, buf: &mut Vec<u8>) -> String {
    let other = |rng: &mut Rng| -> Vec<u8> {
        if corpus.files.is_empty() {
            LIB.as_bytes().to_vec()
        } else {
            rng.pick(&corpus.files).1.as_bytes().to_vec()
        }
    };
    let roll = rng.below(100);
    match roll {
        0..=5 if !buf.is_empty() => {
            let i = rng.below(buf.len());
            let bit = rng.below(8);
            buf[i] ^= 1 << bit;
            format!("flip bit {bit} of byte {i}")
        }
        6..=11 if !buf.is_empty() => {
            let i = rng.below(buf.len());
            let b = *rng.pick(b"{}\"\\\n#,.-0=<>[]() \t_a");
            buf[i] = b;
            format!("set byte {i} to {:?}", b as char)
        }
        12..=19 if !buf.is_empty() => {
            let (a, b) = span(rng, buf, 256);
            buf.drain(a..b);
            format!("delete {a}..{b}")
        }
        20..=24 if !buf.is_empty() => {
            let ls = lines(buf);
            let (a, b) = *rng.pick(&ls);
            buf.drain(a..b);
            format!("delete line at {a}")
        }
        25..=29 if !buf.is_empty() => {
            let (a, b) = span(rng, buf, 256);
            let copy = buf[a..b].to_vec();
            let most = if rng.chance(10) { 5_000 } else { 3 };
            let room = MAX_LEN.saturating_sub(buf.len()) / copy.len().max(1);
            let times = rng.small(most).min(room);
            let repeated = copy.repeat(times);
            buf.splice(b..b, repeated);
            format!("repeat {a}..{b} {times} more times")
        }
        30..=34 if !buf.is_empty() => {
            let (a, b) = span(rng, buf, 256);
            let copy = buf[a..b].to_vec();
            let at = position(rng, buf);
            buf.splice(at..at, copy);
            format!("copy {a}..{b} to {at}")
        }
        35..=38 if !buf.is_empty() => {
            let ls = lines(buf);
            let (a1, b1) = *rng.pick(&ls);
            let (a2, b2) = *rng.pick(&ls);
            let (first, second) = if a1 <= a2 {
                ((a1, b1), (a2, b2))
            } else {
                ((a2, b2), (a1, b1))
            };
            if first.1 <= second.0 {
                let mut out = buf[..first.0].to_vec();
                out.extend_from_slice(&buf[second.0..second.1]);
                out.extend_from_slice(&buf[first.1..second.0]);
                out.extend_from_slice(&buf[first.0..first.1]);
                out.extend_from_slice(&buf[second.1..]);
                *buf = out;
            }
            format!("swap lines at {} and {}", first.0, second.0)
        }
        39..=48 => {
            let from = other(rng);
            let ls = lines(&from);
            if ls.is_empty() {
                return "splice nothing".into();
            }
            let k = rng.below(ls.len());
            let n = rng.small(6).min(ls.len() - k);
            let chunk = from[ls[k].0..ls[k + n - 1].1].to_vec();
            let mine = lines(buf);
            let at = if mine.is_empty() {
                0
            } else {
                rng.pick(&mine).0
            };
            buf.splice(at..at, chunk);
            format!("splice {n} lines at {at}")
        }
        49..=52 if !buf.is_empty() => {
            let from = other(rng);
            let ls = lines(&from);
            let mine = lines(buf);
            if ls.is_empty() || mine.is_empty() {
                return "replace nothing".into();
            }
            let (fa, fb) = *rng.pick(&ls);
            let (a, b) = *rng.pick(&mine);
            buf.splice(a..b, from[fa..fb].iter().copied());
            format!("replace line at {a}")
        }
        53..=66 => {
            let token = rng.pick(TOKENS);
            let at = position(rng, buf);
            buf.splice(at..at, token.bytes());
            format!("insert {token:?} at {at}")
        }
        67..=76 => {
            // Inside a string: after a quote, where templates are compiled.
            let quotes: Vec<usize> = buf
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'"')
                .map(|(i, _)| i + 1)
                .collect();
            let t = if rng.chance(85) {
                rng.pick(TOKENS).to_string()
            } else {
                template(rng)
            };
            let at = if quotes.is_empty() {
                position(rng, buf)
            } else {
                *rng.pick(&quotes)
            };
            let shown: String = t.chars().take(40).collect();
            buf.splice(at..at, t.into_bytes());
            format!("insert into string at {at}: {shown:?}…")
        }
        77..=84 if !buf.is_empty() => {
            let at = rng.below(buf.len());
            if !is_word(buf[at]) {
                let word = rng.pick(WORDS);
                let at = boundary(buf, at);
                let w = format!(" {word} ");
                buf.splice(at..at, w.bytes());
                return format!("insert word {word:?} at {at}");
            }
            let mut a = at;
            while a > 0 && is_word(buf[a - 1]) {
                a -= 1;
            }
            let mut b = at;
            while b < buf.len() && is_word(buf[b]) {
                b += 1;
            }
            let word = rng.pick(WORDS);
            buf.splice(a..b, word.bytes());
            format!("replace word at {a} with {word:?}")
        }
        85..=87 => {
            let digits: Vec<usize> = (0..buf.len())
                .filter(|&i| buf[i].is_ascii_digit() && (i == 0 || !buf[i - 1].is_ascii_digit()))
                .collect();
            let number = rng.pick(NUMBERS);
            if digits.is_empty() {
                let at = position(rng, buf);
                buf.splice(at..at, number.bytes());
                return format!("insert number {number} at {at}");
            }
            let a = *rng.pick(&digits);
            let mut b = a;
            while b < buf.len() && (buf[b].is_ascii_digit() || matches!(buf[b], b'.' | b'e')) {
                b += 1;
            }
            buf.splice(a..b, number.bytes());
            format!("replace number at {a} with {number}")
        }
        88 => {
            let text = String::from_utf8_lossy(buf).replace('\n', "\r\n");
            *buf = text.into_bytes();
            "CRLF line endings".into()
        }
        89 => {
            buf.splice(0..0, "\u{FEFF}".bytes());
            "byte-order mark".into()
        }
        90 if !buf.is_empty() => {
            let at = position(rng, buf);
            buf.truncate(at);
            format!("truncate at {at}")
        }
        91..=95 if buf.len() < MAX_LEN => {
            let (what, text) = big(rng);
            let at = if rng.chance(50) {
                buf.len()
            } else {
                position(rng, buf)
            };
            buf.splice(at..at, text.into_bytes());
            format!("insert {what} at {at}")
        }
        _ => {
            let token = rng.pick(TOKENS);
            let at = position(rng, buf);
            buf.splice(at..at, token.bytes());
            format!("insert {token:?} at {at}")
        }
    }
}

// ------------------------------------------------------------------------------ oracles

/// An oracle an input broke.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// Which promise: `panic`, `crash`, `hang`, `fmt-idempotent`, `fmt-ast`, `fmt-meaning`,
    /// `fmt-consistency`, `diagnostic-location`, `expand-determinism`.
    pub oracle: String,
    /// Where in the pipeline: `load`, `render-human`, `fmt`, `expand`, ….
    pub stage: String,
    /// What tells this failure from others of its oracle and stage: a panic's location, a
    /// diagnostic code, a short description.
    pub detail: String,
    /// Everything else: the panic message, the differing lines, the end of the standard
    /// error of a dead worker.
    pub message: String,
}

impl Failure {
    fn new(
        oracle: &str,
        stage: &str,
        detail: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Failure {
            oracle: oracle.into(),
            stage: stage.into(),
            detail: detail.into(),
            message: message.into(),
        }
    }

    /// Failures with one signature are taken to be one defect.
    pub fn signature(&self) -> String {
        format!("{} @ {} @ {}", self.oracle, self.stage, self.detail)
    }
}

/// How far an input got: counted over a run, to see what the mutations reach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reach {
    /// Loaded without syntax errors.
    pub parsed: bool,
    /// Loaded without any error.
    pub clean: bool,
    /// Formatted.
    pub formatted: bool,
    /// Suites of clean inputs.
    pub suites: u32,
    /// Suites expanded (the first of two runs succeeded).
    pub expanded: u32,
}

/// A worker's answer for one input.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Reply {
    failures: Vec<Failure>,
    reach: Reach,
}

/// The panics caught since the last [`take_panic`]: message and location.
static PANICS: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());

fn install_panic_hook() {
    panic::set_hook(Box::new(|info| {
        let message = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "(a panic without a message)".to_string()
        };
        let location = info
            .location()
            .map(|l| format!("{}:{}", tidy_path(l.file()), l.line()))
            .unwrap_or_else(|| "unknown".into());
        if let Ok(mut panics) = PANICS.lock() {
            panics.push((message, location));
        }
    }));
}

/// A source path without the parts that depend on the machine: `miette-7.6.0/src/x.rs`
/// rather than `/home/…/.cargo/registry/src/index…/miette-7.6.0/src/x.rs`, `library/…`
/// rather than `/rustc/HASH/library/…`.
fn tidy_path(file: &str) -> String {
    let file = file.replace('\\', "/");
    if let Some(i) = file.find("/registry/src/") {
        let rest = &file[i + "/registry/src/".len()..];
        return rest.split_once('/').map_or(rest, |(_, r)| r).to_string();
    }
    if let Some(i) = file.find("/git/checkouts/") {
        let rest = &file[i + "/git/checkouts/".len()..];
        return rest.to_string();
    }
    match file.find("/library/") {
        Some(i) if file.starts_with("/rustc/") => file[i + 1..].to_string(),
        _ => file,
    }
}

fn take_panic() -> Option<(String, String)> {
    let mut panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
    let first = panics.first().cloned();
    panics.clear();
    first
}

/// Runs `f`, turning a panic into a failure of stage `stage`.
fn guarded<T>(stage: &str, failures: &mut Vec<Failure>, f: impl FnOnce() -> T) -> Option<T> {
    take_panic();
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => Some(v),
        Err(payload) => {
            let (message, location) = take_panic().unwrap_or_else(|| {
                let m = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                (m, "unknown".into())
            });
            failures.push(Failure::new("panic", stage, location, message));
            None
        }
    }
}

/// Loads `text` as [`INPUT_NAME`], with [`LIB_NAME`] beside it; nothing is read from disk.
pub fn load(text: &str) -> Loaded {
    let mut loader = MemoryLoader::new()
        .with(INPUT_NAME, text)
        .with(LIB_NAME, LIB);
    load_with(&mut loader, &[INPUT_NAME])
}

/// Checks every oracle but crashes and hangs on `text`; `stage` is told each stage as it
/// starts.
pub fn check(text: &str, stage: &mut dyn FnMut(&str)) -> (Vec<Failure>, Reach) {
    let mut failures = Vec::new();
    let mut reach = Reach::default();
    stage("load");
    let Some(loaded) = guarded("load", &mut failures, || load(text)) else {
        return (failures, reach);
    };
    reach.clean = !loaded.has_errors();
    reach.parsed = !loaded
        .diagnostics
        .iter()
        .any(|d| SYNTAX_CODES.contains(&d.code.as_str()));
    stage("render");
    diagnostics("load", &loaded.diagnostics, &loaded.sources, &mut failures);
    stage("fmt");
    reach.formatted = fmt(text, &loaded, &mut failures);
    stage("expand");
    (reach.suites, reach.expanded) = expand(&loaded, &mut failures);
    // One defect met twice (a diagnostic rendered after loading and after formatting) is
    // reported once.
    let mut seen = std::collections::HashSet::new();
    failures.retain(|f| seen.insert(f.signature()));
    (failures, reach)
}

/// The codes of errors found before resolving: syntax, strings, blocks.
const SYNTAX_CODES: &[&str] = &[
    "Q0002", "Q0003", "Q0004", "Q0005", "Q0006", "Q0007", "Q0008",
];

/// Why `d` is not located in `sources`, if it is not.
fn unlocated(d: &Diagnostic, sources: &SourceMap) -> Option<String> {
    if d.primary_span().is_none() && d.path.is_none() {
        return Some("no label and no path".into());
    }
    for (n, label) in d.labels.iter().enumerate() {
        let Some(file) = label.span.file else {
            if n == 0 && d.path.is_none() {
                return Some("the primary span has no file and there is no path".into());
            }
            continue;
        };
        if file.index() >= sources.len() {
            return Some(format!(
                "label {n} points into file {} of {}",
                file.index(),
                sources.len()
            ));
        }
        let text = sources.get(file).text();
        let (start, end) = (label.span.start as usize, label.span.end as usize);
        if start > end || end > text.len() {
            return Some(format!(
                "label {n} spans {start}..{end} of a {}-byte file",
                text.len()
            ));
        }
        if !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Some(format!("label {n} ({start}..{end}) splits a character"));
        }
    }
    None
}

/// Every diagnostic located; a selection (the first two of each code) rendered in every
/// format.
fn diagnostics(stage: &str, list: &[Diagnostic], sources: &SourceMap, failures: &mut Vec<Failure>) {
    for d in list {
        if let Some(why) = unlocated(d, sources) {
            failures.push(Failure::new(
                "diagnostic-location",
                stage,
                d.code.as_str(),
                format!("{why}: {}[{}] {}", d.severity, d.code, d.message),
            ));
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut rendered = 0;
    for d in list {
        let n = seen.entry(d.code.as_str()).or_default();
        *n += 1;
        if *n > 2 {
            continue;
        }
        rendered += 1;
        if rendered > RENDER_MAX {
            break;
        }
        for (name, format) in [
            ("render-human", ErrorFormat::Human),
            ("render-plain", ErrorFormat::Plain),
            ("render-json", ErrorFormat::Json),
        ] {
            let before = failures.len();
            guarded(name, failures, || render(d, sources, format, false));
            if let Some(f) = failures.get_mut(before) {
                f.message = format!(
                    "{} (rendering {}[{}] {})",
                    f.message, d.severity, d.code, d.message
                );
            }
        }
    }
}

/// The syntax tree of `text` (a byte-order mark dropped, as the formatter does).
fn parse(text: &str) -> (quandary::syntax::ast::File, Vec<Diagnostic>) {
    let mut sources = SourceMap::new();
    let file = sources.add(INPUT_NAME, None, text);
    quandary::syntax::parse(file, sources.get(file).text())
}

fn short(s: &str, max: usize) -> String {
    let mut out: String = s.chars().take(max).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

/// A syntax tree's `Debug` text without spans, and with braces (which are only spans) left
/// out: `value x {}` and `value x` have one shape.
fn shape(ast: &quandary::syntax::ast::File) -> String {
    let debug = format!("{ast:?}");
    let bytes = debug.as_bytes();
    let mut out = String::with_capacity(debug.len());
    let mut i = 0;
    while i < bytes.len() {
        // A span prints as `START..END`.
        if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                j += 1;
            }
            if debug[j..].starts_with("..") {
                let mut k = j + 2;
                while k < bytes.len() && bytes[k].is_ascii_digit() {
                    k += 1;
                }
                if k > j + 2 {
                    out.push('_');
                    i = k;
                    continue;
                }
            }
            out.push_str(&debug[i..j]);
            i = j;
            continue;
        }
        let c = debug[i..].chars().next().unwrap_or(' ');
        out.push(c);
        i += c.len_utf8();
    }
    out.replace("Some(Braces { open: _, close: _ })", "None")
}

/// The first line where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> String {
    let (al, bl): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    for i in 0..al.len().max(bl.len()) {
        let (x, y) = (al.get(i), bl.get(i));
        if x != y {
            return format!(
                "line {}: {:?} became {:?}",
                i + 1,
                x.map(|s| short(s, 160)),
                y.map(|s| short(s, 160))
            );
        }
    }
    format!("line endings differ ({} and {} bytes)", a.len(), b.len())
}

fn codes(d: &[Diagnostic]) -> Vec<&'static str> {
    let mut c: Vec<&'static str> = d.iter().map(|d| d.code.as_str()).collect();
    c.sort_unstable();
    c
}

/// `fmt`: idempotent, and the formatted text means what the original did. Whether the text
/// could be formatted.
fn fmt(text: &str, loaded: &Loaded, failures: &mut Vec<Failure>) -> bool {
    let mut sources = SourceMap::new();
    let file = sources.add(INPUT_NAME, None, text);
    let Some(first) = guarded("fmt", failures, || {
        quandary::format::format_source(file, text)
    }) else {
        return false;
    };
    let formatted = match first {
        Err(d) => {
            diagnostics("fmt", &d, &sources, failures);
            if !loaded.has_errors() {
                failures.push(Failure::new(
                    "fmt-consistency",
                    "fmt",
                    "fmt rejects a file that loads",
                    format!(
                        "fmt says {:?}; load says {:?}",
                        codes(&d),
                        codes(&loaded.diagnostics)
                    ),
                ));
            }
            return false;
        }
        Ok(f) => f,
    };
    match guarded("fmt-twice", failures, || {
        quandary::format::format(&formatted)
    }) {
        None => {}
        Some(Err(d)) => failures.push(Failure::new(
            "fmt-idempotent",
            "fmt",
            "formatted text does not parse",
            format!(
                "{:?}: {}",
                codes(&d),
                d.first().map(|d| d.message.as_str()).unwrap_or_default()
            ),
        )),
        Some(Ok(again)) if again != formatted => failures.push(Failure::new(
            "fmt-idempotent",
            "fmt",
            "formatting the formatted text changes it",
            first_difference(&formatted, &again),
        )),
        Some(Ok(_)) => {}
    }
    if let Some(((a, _), (b, db))) =
        guarded("fmt-parse", failures, || (parse(text), parse(&formatted)))
    {
        if !db.is_empty() {
            // Reported above as not idempotent.
        } else if a != b {
            // An empty block is dropped by design (`value x {}` becomes `value x`): only
            // the braces, which hold nothing but spans, tell the trees apart then.
            let (x, y) = (shape(&a), shape(&b));
            if x != y {
                let at = x
                    .char_indices()
                    .zip(y.chars())
                    .find(|((_, c), d)| c != d)
                    .map_or(x.len().min(y.len()), |((i, _), _)| i);
                let mut from = at.saturating_sub(120);
                while !x.is_char_boundary(from) {
                    from -= 1;
                }
                let around = |s: &str| short(s.get(from..).unwrap_or(""), 240);
                failures.push(Failure::new(
                    "fmt-ast",
                    "fmt",
                    "formatted text parses to another tree",
                    format!(
                        "the trees (spans left out) first differ at {at}: {} became {}",
                        around(&x),
                        around(&y)
                    ),
                ));
            }
        }
    }
    let Some(reloaded) = guarded("fmt-load", failures, || load(&formatted)) else {
        return true;
    };
    let (before, after) = (codes(&loaded.diagnostics), codes(&reloaded.diagnostics));
    if before != after {
        failures.push(Failure::new(
            "fmt-meaning",
            "fmt",
            "diagnostic codes differ",
            format!("{before:?} became {after:?}"),
        ));
    } else if loaded.framework != reloaded.framework {
        failures.push(Failure::new(
            "fmt-meaning",
            "fmt",
            "model differs",
            "the formatted text resolves to another model",
        ));
    }
    true
}

/// Each suite of a clean input expands, to the same bytes twice. How many were tried and
/// how many expanded.
fn expand(loaded: &Loaded, failures: &mut Vec<Failure>) -> (u32, u32) {
    let mut expanded = 0;
    if loaded.has_errors() {
        return (0, 0);
    }
    let suites: Vec<_> = loaded
        .framework
        .root_module()
        .suites
        .iter()
        .copied()
        .take(EXPAND_SUITES)
        .collect();
    let options = Options {
        count: Some(EXPAND_COUNT),
        threads: 1,
        max: 10_000,
        ..Options::default()
    };
    let tried = suites.len() as u32;
    for suite in suites {
        let once = || -> Result<Vec<u8>, Vec<Diagnostic>> {
            let expansion = Expansion::new(&loaded.framework, &loaded.sources, suite, &options)?;
            let mut out = Vec::new();
            expansion
                .run(&mut out, &options, &mut |_, _| {})
                .map_err(|d| vec![d])?;
            Ok(out)
        };
        let Some(first) = guarded("expand", failures, once) else {
            continue;
        };
        let Some(second) = guarded("expand", failures, once) else {
            continue;
        };
        match (&first, &second) {
            (Ok(a), Ok(b)) if a != b => failures.push(Failure::new(
                "expand-determinism",
                "expand",
                "two runs wrote different bytes",
                first_difference(&String::from_utf8_lossy(a), &String::from_utf8_lossy(b)),
            )),
            (Err(a), Err(b)) if a != b => failures.push(Failure::new(
                "expand-determinism",
                "expand",
                "two runs failed differently",
                format!("{:?} then {:?}", codes(a), codes(b)),
            )),
            (Ok(_), Err(_)) | (Err(_), Ok(_)) => failures.push(Failure::new(
                "expand-determinism",
                "expand",
                "one run failed and one did not",
                String::new(),
            )),
            _ => {}
        }
        match &first {
            Ok(_) => expanded += 1,
            Err(d) => diagnostics("expand", d, &loaded.sources, failures),
        }
    }
    (tried, expanded)
}

// ------------------------------------------------------------------------------ worker

/// In a worker process (when [`WORKER_ENV`] is set), checks inputs read from standard
/// input until it closes; otherwise does nothing.
pub fn worker_if_requested() {
    let Some(dir) = std::env::var_os(WORKER_ENV) else {
        return;
    };
    let dir = PathBuf::from(dir);
    // The stack the library promises to work on: that of a default test or spawned thread.
    let stack_kb: usize = std::env::var("QUANDARY_FUZZ_STACK_KB")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2048);
    install_panic_hook();
    let worker = std::thread::Builder::new()
        .name("fuzz-input".into())
        .stack_size(stack_kb * 1024)
        .spawn(move || worker_loop(&dir))
        .expect("the fuzz worker starts a thread");
    if let Err(e) = worker
        .join()
        .unwrap_or_else(|_| Err("the worker loop panicked".into()))
    {
        eprintln!("fuzz worker: {e}");
        std::process::exit(3);
    }
}

fn worker_loop(dir: &Path) -> Result<(), String> {
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut header = String::new();
    writeln!(out, "{MARK}ready 0").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    loop {
        header.clear();
        if input.read_line(&mut header).map_err(|e| e.to_string())? == 0 {
            return Ok(());
        }
        let mut parts = header.split_whitespace().map(str::parse::<u64>);
        let (Some(Ok(id)), Some(Ok(len))) = (parts.next(), parts.next()) else {
            return Err(format!("bad header {header:?}"));
        };
        let mut bytes = vec![0; len as usize];
        input.read_exact(&mut bytes).map_err(|e| e.to_string())?;
        // Written before checking, so the input is known if the process dies.
        std::fs::write(dir.join("current.qd"), &bytes).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&bytes);
        let (failures, reach) = check(&text, &mut |stage| {
            let _ = writeln!(out, "{MARK}stage {id} {stage}");
            let _ = out.flush();
        });
        let json = serde_json::to_string(&Reply { failures, reach }).map_err(|e| e.to_string())?;
        writeln!(out, "{MARK}done {id} {json}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
    }
}

// ------------------------------------------------------------------------------ driver

enum Event {
    Ready,
    Stage(u64, String),
    Done(u64, Reply),
    Closed,
}

/// A worker process, seen from the driver.
struct Worker {
    child: Child,
    stdin: Option<ChildStdin>,
    events: Receiver<Event>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stderr_thread: Option<JoinHandle<()>>,
    /// Its scratch directory, removed with it.
    dir: PathBuf,
}

/// How the driver runs workers.
#[derive(Clone, Debug)]
pub struct Limits {
    /// The time budget of one input.
    pub timeout: Duration,
    /// The address space of a worker, in MiB (through `ulimit -v`; 0: unlimited).
    pub memory_mb: u64,
    /// Where workers keep `current.qd`.
    pub scratch: PathBuf,
}

impl Worker {
    fn spawn(limits: &Limits) -> std::io::Result<Worker> {
        static NUMBER: AtomicU64 = AtomicU64::new(0);
        let exe = std::env::current_exe()?;
        let n = NUMBER.fetch_add(1, Ordering::Relaxed);
        let dir = limits
            .scratch
            .join(format!("worker-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let args = [
            WORKER_TEST,
            "--exact",
            "--nocapture",
            "--test-threads=1",
            "-q",
        ];
        let sh = Path::new("/bin/sh");
        let mut command = if limits.memory_mb > 0 && sh.exists() {
            let mut c = Command::new(sh);
            c.arg("-c")
                .arg(format!(
                    "ulimit -v {} && exec \"$0\" \"$@\"",
                    limits.memory_mb * 1024
                ))
                .arg(&exe)
                .args(args);
            c
        } else {
            let mut c = Command::new(&exe);
            c.args(args);
            c
        };
        let mut child = command
            .env(WORKER_ENV, &dir)
            .env("RUST_BACKTRACE", "0")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let stdout = child.stdout.take().expect("piped stdout");
        let mut stderr_pipe = child.stderr.take().expect("piped stderr");
        let (tx, events) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = Vec::new();
            loop {
                line.clear();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line);
                let Some(at) = text.find(MARK) else {
                    continue;
                };
                let rest = text[at + MARK.len()..].trim_end();
                let mut parts = rest.splitn(3, ' ');
                let (kind, id, tail) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
                let Some(id) = id.and_then(|s| s.parse().ok()) else {
                    continue;
                };
                let event = match kind {
                    Some("ready") => Event::Ready,
                    Some("stage") => Event::Stage(id, tail.to_string()),
                    Some("done") => match serde_json::from_str(tail) {
                        Ok(f) => Event::Done(id, f),
                        Err(e) => Event::Done(
                            id,
                            Reply {
                                failures: vec![Failure::new(
                                    "protocol",
                                    "driver",
                                    "bad reply",
                                    e.to_string(),
                                )],
                                reach: Reach::default(),
                            },
                        ),
                    },
                    _ => continue,
                };
                if tx.send(event).is_err() {
                    return;
                }
            }
            let _ = tx.send(Event::Closed);
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        let stderr_thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                s.extend_from_slice(&buf[..n]);
                if s.len() > 64 * 1024 {
                    let cut = s.len() - 32 * 1024;
                    s.drain(..cut);
                }
            }
        });
        let stdin = child.stdin.take();
        let worker = Worker {
            child,
            stdin,
            events,
            stderr,
            stderr_thread: Some(stderr_thread),
            dir,
        };
        // Starting is not part of any input's time budget.
        match worker.events.recv_timeout(Duration::from_secs(60)) {
            Ok(Event::Ready) => Ok(worker),
            _ => Err(std::io::Error::other(format!(
                "the worker did not start: {}",
                String::from_utf8_lossy(&worker.stderr.lock().unwrap_or_else(|e| e.into_inner()))
            ))),
        }
    }

    /// Checks `text` as input `id`. `Err` means the worker died or hung and is gone.
    fn run(&mut self, id: u64, text: &str, timeout: Duration) -> Result<Reply, Failure> {
        let start = Instant::now();
        let mut stage = String::from("start");
        let sent = self.stdin.as_mut().map(|stdin| {
            stdin
                .write_all(format!("{id} {}\n", text.len()).as_bytes())
                .and_then(|()| stdin.write_all(text.as_bytes()))
                .and_then(|()| stdin.flush())
        });
        let sent_ok = matches!(sent, Some(Ok(())));
        loop {
            let left = timeout.saturating_sub(start.elapsed());
            let event = if sent_ok {
                self.events.recv_timeout(left)
            } else {
                // The pipe is broken: the worker is gone or going; wait for its output to end.
                self.events
                    .recv_timeout(Duration::from_secs(5))
                    .or(Ok(Event::Closed))
            };
            match event {
                Ok(Event::Stage(i, s)) if i == id => stage = s,
                Ok(Event::Done(i, reply)) if i == id => return Ok(reply),
                Ok(Event::Ready | Event::Stage(..) | Event::Done(..)) => {}
                Ok(Event::Closed) | Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.died(&stage));
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return Err(Failure::new(
                        "hang",
                        &stage,
                        format!("over {} s", timeout.as_secs_f64()),
                        format!(
                            "no answer after {:.1} s (killed)",
                            start.elapsed().as_secs_f64()
                        ),
                    ));
                }
            }
        }
    }

    /// The failure of a worker whose output ended during `stage`.
    fn died(&mut self, stage: &str) -> Failure {
        let status = self.child.wait();
        if let Some(t) = self.stderr_thread.take() {
            let _ = t.join();
        }
        let stderr = self
            .stderr
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let stderr = String::from_utf8_lossy(&stderr);
        let tail: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .rev()
            .take(6)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let status = match status {
            Ok(s) => describe_status(s),
            Err(e) => format!("unknown status ({e})"),
        };
        let detail = if stderr.contains("has overflowed its stack") {
            "stack overflow".to_string()
        } else if stderr.contains("memory allocation of") {
            "out of memory".to_string()
        } else if stderr.contains("panicked") {
            "abort after a panic".to_string()
        } else {
            status.clone()
        };
        Failure::new(
            "crash",
            stage,
            detail,
            format!("worker died ({status}): {}", tail.join(" | ")),
        )
    }
}

fn describe_status(s: std::process::ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = s.signal() {
            return format!("signal {sig}");
        }
    }
    match s.code() {
        Some(c) => format!("exit code {c}"),
        None => "no exit code".into(),
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    break;
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs inputs one after another in a worker, replacing it when it dies.
pub struct Runner {
    limits: Limits,
    worker: Option<Worker>,
    /// Workers started, the first included.
    pub spawned: u64,
}

impl Runner {
    /// A runner with no worker yet.
    pub fn new(limits: Limits) -> Runner {
        Runner {
            limits,
            worker: None,
            spawned: 0,
        }
    }

    /// Every oracle on `text`, crashes and hangs included.
    pub fn check(&mut self, id: u64, text: &str) -> Vec<Failure> {
        self.check_reach(id, text).0
    }

    /// Every oracle on `text`, and how far it got.
    pub fn check_reach(&mut self, id: u64, text: &str) -> (Vec<Failure>, Reach) {
        if self.worker.is_none() {
            match Worker::spawn(&self.limits) {
                Ok(w) => {
                    self.worker = Some(w);
                    self.spawned += 1;
                }
                Err(e) => {
                    let f = Failure::new("driver", "spawn", "cannot start a worker", e.to_string());
                    return (vec![f], Reach::default());
                }
            }
        }
        let worker = self.worker.as_mut().expect("a worker");
        match worker.run(id, text, self.limits.timeout) {
            Ok(reply) => (reply.failures, reply.reach),
            Err(failure) => {
                self.worker = None;
                (vec![failure], Reach::default())
            }
        }
    }
}

// ------------------------------------------------------------------------------ runs

/// A fuzzing run's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// The seed inputs are made from.
    pub seed: u64,
    /// The first iteration.
    pub start: u64,
    /// Stop after this many inputs.
    pub inputs: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Worker processes.
    pub jobs: usize,
    /// Time and memory of one input.
    pub limits: Limits,
    /// Where failing inputs are saved.
    pub out: PathBuf,
    /// Inputs saved per signature, at most.
    pub keep: usize,
    /// Print failures and progress as they come.
    pub live: bool,
    /// Save every input, failing or not (to look at one input of a seed again).
    pub dump: bool,
}

/// One failure of one input.
#[derive(Clone, Debug)]
pub struct Found {
    /// What went wrong.
    pub failure: Failure,
    /// The input's iteration.
    pub iteration: u64,
    /// Where the input was saved, if it was.
    pub saved: Option<PathBuf>,
}

/// What a run did.
#[derive(Debug, Default)]
pub struct Report {
    /// The seed.
    pub seed: u64,
    /// Inputs checked.
    pub inputs: u64,
    /// Wall time.
    pub elapsed: Duration,
    /// Workers started (more than `jobs` when some died or hung).
    pub workers: u64,
    /// Every failure, by iteration.
    pub found: Vec<Found>,
    /// Inputs without syntax errors, without any error, formatted; suites expanded.
    pub parsed: u64,
    /// See `parsed`.
    pub clean: u64,
    /// See `parsed`.
    pub formatted: u64,
    /// See `parsed`.
    pub suites: u64,
    /// The slowest input: its time and iteration.
    pub slowest: (Duration, u64),
    /// See `parsed`.
    pub expanded: u64,
}

impl Report {
    /// Inputs per second.
    pub fn rate(&self) -> f64 {
        self.inputs as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Failures grouped by signature: count, first iteration, first saved path, a message.
    pub fn by_signature(&self) -> BTreeMap<String, (usize, u64, Option<PathBuf>, String)> {
        let mut out: BTreeMap<String, (usize, u64, Option<PathBuf>, String)> = BTreeMap::new();
        for f in &self.found {
            let e = out
                .entry(f.failure.signature())
                .or_insert_with(|| (0, f.iteration, f.saved.clone(), f.failure.message.clone()));
            e.0 += 1;
        }
        out
    }

    /// A summary for people.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "seed {}: {} inputs in {:.1} s ({:.1} inputs/s, {} worker processes), {} failures\n",
            self.seed,
            self.inputs,
            self.elapsed.as_secs_f64(),
            self.rate(),
            self.workers,
            self.found.len()
        );
        let pct = |n: u64| 100.0 * n as f64 / self.inputs.max(1) as f64;
        let _ = writeln!(
            s,
            "  reached: {:.0}% parsed, {:.0}% loaded without errors, {:.0}% formatted; \
             {} suites of clean inputs, {} expanded; slowest input {:.2} s (iteration {})",
            pct(self.parsed),
            pct(self.clean),
            pct(self.formatted),
            self.suites,
            self.expanded,
            self.slowest.0.as_secs_f64(),
            self.slowest.1
        );
        for (sig, (count, iteration, saved, message)) in self.by_signature() {
            let _ = writeln!(
                s,
                "  {count:>5} × {sig}\n        first: iteration {iteration}, saved {}\n        {}",
                saved.map_or_else(|| "-".into(), |p| p.display().to_string()),
                short(&message, 400)
            );
        }
        s
    }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').chars().take(80).collect()
}

/// Runs inputs `config.start..` of `config.seed` until the count or the time is reached.
pub fn run(corpus: &Corpus, config: &Config) -> Report {
    let started = Instant::now();
    let next = AtomicU64::new(config.start);
    let end = config.inputs.map(|n| config.start + n);
    let done = AtomicU64::new(0);
    let reached = [(); 5].map(|()| AtomicU64::new(0));
    let workers = AtomicU64::new(0);
    let found: Mutex<(Vec<Found>, HashMap<String, usize>)> =
        Mutex::new((Vec::new(), HashMap::new()));
    let last_progress = Mutex::new(Instant::now());
    let slowest = Mutex::new((Duration::ZERO, 0));
    let _ = std::fs::create_dir_all(&config.out);
    std::thread::scope(|scope| {
        for _ in 0..config.jobs.max(1) {
            let (next, done, workers, found, last_progress, reached, slowest) = (
                &next,
                &done,
                &workers,
                &found,
                &last_progress,
                &reached,
                &slowest,
            );
            scope.spawn(move || {
                let mut runner = Runner::new(config.limits.clone());
                loop {
                    if config.duration.is_some_and(|d| started.elapsed() >= d) {
                        break;
                    }
                    let iteration = next.fetch_add(1, Ordering::Relaxed);
                    if end.is_some_and(|e| iteration >= e) {
                        break;
                    }
                    let input = generate(corpus, config.seed, iteration);
                    if config.dump {
                        let path = config
                            .out
                            .join(format!("input-s{}-i{iteration}.qd", config.seed));
                        if let Err(e) = std::fs::write(&path, &input.text) {
                            println!("cannot save {}: {e}", path.display());
                        }
                    }
                    let clock = Instant::now();
                    let (failures, reach) = runner.check_reach(iteration, &input.text);
                    let took = clock.elapsed();
                    done.fetch_add(1, Ordering::Relaxed);
                    {
                        let mut s = slowest.lock().unwrap_or_else(|e| e.into_inner());
                        if took > s.0 {
                            *s = (took, iteration);
                        }
                    }
                    for (counter, n) in reached.iter().zip([
                        u64::from(reach.parsed),
                        u64::from(reach.clean),
                        u64::from(reach.formatted),
                        u64::from(reach.suites),
                        u64::from(reach.expanded),
                    ]) {
                        counter.fetch_add(n, Ordering::Relaxed);
                    }
                    if !failures.is_empty() {
                        let mut guard = found.lock().unwrap_or_else(|e| e.into_inner());
                        let (list, per_signature) = &mut *guard;
                        for failure in failures {
                            let count = per_signature.entry(failure.signature()).or_default();
                            *count += 1;
                            let saved = (*count <= config.keep)
                                .then(|| save(config, &input, &failure))
                                .flatten();
                            // The first few of each signature; the summary counts the rest.
                            if config.live && *count <= config.keep {
                                println!(
                                    "FAIL {} | seed {} iteration {} | {} | {}",
                                    failure.signature(),
                                    config.seed,
                                    iteration,
                                    saved.as_ref().map_or_else(
                                        || "(could not save the input)".into(),
                                        |p| p.display().to_string()
                                    ),
                                    short(&failure.message, 300)
                                );
                            }
                            list.push(Found {
                                failure,
                                iteration,
                                saved,
                            });
                        }
                    }
                    if config.live {
                        let mut last = last_progress.lock().unwrap_or_else(|e| e.into_inner());
                        if last.elapsed() >= Duration::from_secs(10) {
                            *last = Instant::now();
                            let n = done.load(Ordering::Relaxed);
                            let secs = started.elapsed().as_secs_f64();
                            println!(
                                "… {n} inputs in {secs:.0} s ({:.1}/s)",
                                n as f64 / secs.max(1e-9)
                            );
                        }
                    }
                }
                workers.fetch_add(runner.spawned, Ordering::Relaxed);
            });
        }
    });
    let (mut list, _) = found.into_inner().unwrap_or_else(|e| e.into_inner());
    list.sort_by_key(|f| f.iteration);
    Report {
        seed: config.seed,
        inputs: done.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        workers: workers.load(Ordering::Relaxed),
        found: list,
        parsed: reached[0].load(Ordering::Relaxed),
        clean: reached[1].load(Ordering::Relaxed),
        formatted: reached[2].load(Ordering::Relaxed),
        suites: reached[3].load(Ordering::Relaxed),
        expanded: reached[4].load(Ordering::Relaxed),
        slowest: slowest.into_inner().unwrap_or_else(|e| e.into_inner()),
    }
}

/// Saves a failing input and a note on how it was made; the input's path.
fn save(config: &Config, input: &Input, failure: &Failure) -> Option<PathBuf> {
    let name = format!(
        "{}-s{}-i{}",
        slug(&failure.signature()),
        input.seed,
        input.iteration
    );
    let path = config.out.join(format!("{name}.qd"));
    std::fs::write(&path, &input.text).ok()?;
    let mut note = format!(
        "signature: {}\nmessage: {}\nseed: {}\niteration: {}\nbase: {}\nmutations:\n",
        failure.signature(),
        failure.message,
        input.seed,
        input.iteration,
        if input.base.is_empty() {
            "(empty)"
        } else {
            &input.base
        },
    );
    for m in &input.mutations {
        let _ = writeln!(note, "  {m}");
    }
    let _ = std::fs::write(config.out.join(format!("{name}.txt")), note);
    Some(path)
}

/// Checks each file, crash-safe; the failures of each.
pub fn replay(files: &[PathBuf], limits: &Limits) -> Vec<(PathBuf, Vec<Failure>)> {
    let mut runner = Runner::new(limits.clone());
    files
        .iter()
        .enumerate()
        .map(|(i, path)| {
            let failures = match std::fs::read(path) {
                Ok(bytes) => match String::from_utf8(bytes) {
                    Ok(text) => runner.check(i as u64, &text),
                    Err(_) => vec![Failure::new(
                        "driver",
                        "read",
                        "not UTF-8",
                        "regression inputs must be UTF-8 text",
                    )],
                },
                Err(e) => vec![Failure::new("driver", "read", "unreadable", e.to_string())],
            };
            (path.clone(), failures)
        })
        .collect()
}

/// The smallest text found, by deleting lines and then characters, that still fails with
/// `signature`; stops after `budget`.
pub fn minimise(text: &str, signature: &str, limits: &Limits, budget: Duration) -> String {
    let started = Instant::now();
    let mut runner = Runner::new(limits.clone());
    let mut id = 0;
    let mut fails = |candidate: &str| -> bool {
        id += 1;
        runner
            .check(id, candidate)
            .iter()
            .any(|f| f.signature() == signature)
    };
    let mut best = text.to_string();
    loop {
        let before = best.len();
        for by_lines in [true, false] {
            let units: Vec<String> = if by_lines {
                best.split_inclusive('\n').map(str::to_string).collect()
            } else {
                best.chars().map(String::from).collect()
            };
            let reduced = reduce(units, &mut fails, started, budget);
            best = reduced.concat();
        }
        if best.len() == before || started.elapsed() >= budget {
            return best;
        }
    }
}

/// Deletes chunks of `units`, halving the chunk size when none can go.
fn reduce(
    mut units: Vec<String>,
    fails: &mut dyn FnMut(&str) -> bool,
    started: Instant,
    budget: Duration,
) -> Vec<String> {
    let mut chunk = units.len().div_ceil(2).max(1);
    while !units.is_empty() {
        let mut progress = false;
        let mut i = 0;
        while i < units.len() {
            if started.elapsed() >= budget {
                return units;
            }
            let end = (i + chunk).min(units.len());
            let candidate: String = units[..i].concat() + &units[end..].concat();
            if fails(&candidate) {
                units.drain(i..end);
                progress = true;
            } else {
                i += chunk;
            }
        }
        if !progress {
            if chunk == 1 {
                break;
            }
            chunk = chunk.div_ceil(2);
        }
    }
    units
}

// ------------------------------------------------------------------------------ settings

/// A setting from the environment.
pub fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    let v = std::env::var(name).ok()?;
    match v.trim().parse() {
        Ok(v) => Some(v),
        Err(_) => panic!("{name}={v:?} is not a valid value"),
    }
}

/// Where failures are saved: `QUANDARY_FUZZ_OUT`, or `fuzz-found/` in the target directory.
pub fn out_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("QUANDARY_FUZZ_OUT") {
        return PathBuf::from(dir);
    }
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("fuzz-found")
}

/// Worker limits from the environment: `QUANDARY_FUZZ_TIMEOUT` (seconds, default 5) and
/// `QUANDARY_FUZZ_MEMORY_MB` (default 4096; 0 for none).
pub fn limits() -> Limits {
    Limits {
        timeout: Duration::from_secs_f64(env("QUANDARY_FUZZ_TIMEOUT").unwrap_or(5.0)),
        memory_mb: env("QUANDARY_FUZZ_MEMORY_MB").unwrap_or(4096),
        scratch: Path::new(env!("CARGO_TARGET_TMPDIR")).join("fuzz-workers"),
    }
}

/// Worker processes: `QUANDARY_FUZZ_JOBS`, or the available parallelism.
pub fn jobs() -> usize {
    env("QUANDARY_FUZZ_JOBS").unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
    })
}
