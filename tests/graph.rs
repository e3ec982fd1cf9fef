//! The conflict graph: snapshots of every `tests/graph/*.qd` fixture in DOT, JSON and
//! Mermaid, Graphviz rendering, PageRank worked by hand, rule-derived edges, coverage,
//! determinism and the `graph` command.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use quandary::Loaded;

#[path = "support/tools.rs"]
mod tools;
use quandary::graph::{ConflictGraph, DrawOptions, Edge, EdgeKind};
use quandary::model::ValueId;

#[path = "support/cli.rs"]
mod cli;

use cli::{in_root as quandary, stderr, stdout};

/// The fixture's path relative to the crate, so `source` fields do not depend on where the
/// crate is checked out.
fn relative(path: &Path) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

fn load(path: &str) -> Loaded {
    let loaded = quandary::load_path(path);
    assert!(!loaded.has_errors(), "{path}: {:#?}", loaded.diagnostics);
    loaded
}

fn graph_of(loaded: &Loaded) -> ConflictGraph {
    let mut graph = ConflictGraph::build(&loaded.framework, loaded.framework.roots[0]);
    graph.locate(&loaded.sources);
    graph
}

/// The value `id` of the root module, or `ns.id` of a module it imports.
fn value(loaded: &Loaded, name: &str) -> ValueId {
    let f = &loaded.framework;
    let root = f.root_module();
    let found = match name.split_once('.') {
        Some((ns, id)) => f.module(root.imports[ns]).value(id),
        None => root.value(name),
    };
    found.unwrap_or_else(|| panic!("no value `{name}`"))
}

const NO_RANK: DrawOptions = DrawOptions { rank: false };
const RANK: DrawOptions = DrawOptions { rank: true };

#[test]
fn dot_snapshots() {
    insta::glob!("graph/*.qd", |path| {
        let graph = graph_of(&load(&relative(path)));
        insta::assert_snapshot!(graph.to_dot(&NO_RANK));
    });
}

#[test]
fn json_snapshots() {
    insta::glob!("graph/*.qd", |path| {
        let graph = graph_of(&load(&relative(path)));
        let json = graph.to_json(&NO_RANK);
        serde_json::from_str::<serde_json::Value>(&json).expect("valid JSON");
        insta::assert_snapshot!(json);
    });
}

#[test]
fn mermaid_snapshots() {
    insta::glob!("graph/*.qd", |path| {
        let graph = graph_of(&load(&relative(path)));
        insta::assert_snapshot!(graph.to_mermaid(&NO_RANK));
    });
}

/// Runs Graphviz on `dot_text`; `None` (the test skipped, see `support/tools.rs`) when it
/// is not installed.
fn render_svg(name: &str, dot_text: &str) -> Option<String> {
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tools::skip(
                "rendering with Graphviz",
                "Graphviz's `dot` is not installed (apt-get install graphviz)",
            );
            return None;
        }
        Err(e) => panic!("cannot run `dot`: {e}"),
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dot_text.as_bytes())
        .expect("dot reads the graph");
    let out = child.wait_with_output().expect("dot runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{name}: dot failed: {stderr}\n{dot_text}"
    );
    assert!(
        !stderr.contains("Warning") && !stderr.contains("Error"),
        "{name}: dot complains: {stderr}"
    );
    let svg = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(svg.contains("<svg"), "{name}: no SVG from dot");
    Some(svg)
}

#[test]
fn graphviz_renders_every_graph() {
    let mut files: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/graph"))
            .expect("fixture folder")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "qd"))
            .map(|p| relative(&p))
            .collect();
    files.sort();
    assert!(files.len() >= 4, "the fixtures are there");
    files.extend(["rules/schwartz.qd", "rules/mft.qd", "rules/cvc.qd"].map(String::from));
    for file in files {
        let loaded = load(&file);
        let mut graph = graph_of(&loaded);
        if render_svg(&file, &graph.to_dot(&NO_RANK)).is_none() {
            return;
        }
        // Scores in the labels, and coverage (edge suffixes and `posed` edges).
        let values: Vec<ValueId> = graph.nodes().iter().map(|n| n.value).collect();
        let pairs: Vec<((ValueId, ValueId), u64)> = values
            .windows(2)
            .enumerate()
            .map(|(i, w)| ((w[0], w[1]), i as u64 % 3))
            .collect();
        graph.set_coverage(pairs);
        render_svg(&file, &graph.to_dot(&RANK));
    }
}

#[test]
fn dot_escapes_labels_and_quotes_ids() {
    let graph = graph_of(&load("tests/graph/basic.qd"));
    let dot = graph.to_dot(&NO_RANK);
    assert!(dot.starts_with("graph \"basic\" {\n"));
    assert!(dot.contains(r#"label="Basic \"graph\" fixture";"#));
    assert!(dot.contains(r#""basic.honesty" [label="Honesty \\ candour"];"#));
    assert!(dot.contains(r#"subgraph "cluster_basic.civic" {"#));
    assert!(dot.contains(r#"label="Civic \"public\" values";"#));
    // Solitude is in no relation but is drawn.
    assert!(dot.contains(r#""basic.solitude" [label="Solitude"];"#));
    assert!(dot.contains(
        r#""basic.honesty" -- "basic.loyalty" [label="when public office, 0.8", style=dashed, dir=forward"#
    ));
    assert!(dot.contains(
        r#""basic.fairness" -- "basic.order" [label="in courts, 12", style=bold, dir=forward"#
    ));
}

/// `wiser.qd`: `wiser a > b` weight 3, `wiser c > b` weight 1, and a conflict `a <> c`,
/// which PageRank ignores. Rank flows from the less wise value to the wiser one:
///
/// - `b` passes 3/4 of its rank to `a` and 1/4 to `c`;
/// - `a` and `c` are wiser than nothing (dangling), so they spread theirs over all three.
///
/// With N = 3, d = 0.85 and S = A + C = 1 − B:
///
/// ```text
/// B = (1 − d)/N + d·S/N               → B = 0.05 + 0.85·(1 − B)/3 → 3.85·B = 1 → B = 20/77
/// A = (1 − d)/N + d·(3/4·B + S/3)     = 1/20 + 17/20 · (15/77 + 19/77) = 131/308
/// C = (1 − d)/N + d·(1/4·B + S/3)     = 1/20 + 17/20 · (5/77 + 19/77)  =  97/308
/// ```
///
/// and A + B + C = (131 + 80 + 97)/308 = 1.
#[test]
fn page_rank_by_hand() {
    let loaded = load("tests/graph/wiser.qd");
    let graph = graph_of(&loaded);
    let ranked = graph.page_rank();
    let expected = [
        ("a", 131.0 / 308.0),
        ("c", 97.0 / 308.0),
        ("b", 20.0 / 77.0),
    ];
    assert_eq!(ranked.len(), 3);
    for ((v, score), (name, want)) in ranked.iter().zip(expected) {
        assert_eq!(*v, value(&loaded, name), "ranked order");
        assert!(
            (score - want).abs() < 1e-9,
            "{name}: {score} instead of {want}"
        );
    }
    let total: f64 = ranked.iter().map(|(_, s)| s).sum();
    assert!((total - 1.0).abs() < 1e-9);

    let table = graph.ranking_table();
    assert_eq!(
        table,
        "rank  value     score  label\n   \
            1  moral.a  0.4253  A\n   \
            2  moral.c  0.3149  C\n   \
            3  moral.b  0.2597  B\n"
    );
    let json: serde_json::Value = serde_json::from_str(&graph.to_json(&RANK)).expect("valid JSON");
    let a = &json["nodes"][0];
    assert_eq!(a["id"], "moral.a");
    assert!((a["rank"].as_f64().expect("a rank") - 131.0 / 308.0).abs() < 1e-9);
    assert!(
        graph
            .to_dot(&RANK)
            .contains(r#""moral.a" [label="A\n0.4253"];"#)
    );
    assert!(graph.to_mermaid(&RANK).contains(r#"moral_a("A (0.4253)")"#));
}

#[test]
fn without_wiser_edges_every_value_ranks_equally_ties_by_name() {
    let loaded = load("rules/mft.qd");
    let graph = graph_of(&loaded);
    let ranked = graph.page_rank();
    let n = graph.nodes().len();
    assert_eq!(ranked.len(), n);
    for (_, score) in &ranked {
        assert!((score - 1.0 / n as f64).abs() < 1e-12);
    }
    let names: Vec<&str> = ranked
        .iter()
        .map(|(v, _)| graph.node(*v).expect("node").id.as_str())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    // Tied values share a rank in the table.
    assert!(
        graph
            .ranking_table()
            .lines()
            .skip(1)
            .all(|l| l.trim_start().starts_with("1 "))
    );
}

fn edges_of_kind(
    graph: &ConflictGraph,
    kind: EdgeKind,
) -> Vec<(String, String, f64, Vec<[String; 2]>)> {
    graph
        .edges()
        .into_iter()
        .filter(|e| e.kind == kind)
        .map(|e: &Edge| {
            (
                graph.node(e.from).expect("from").id.clone(),
                graph.node(e.to).expect("to").id.clone(),
                e.weight,
                e.rules.clone(),
            )
        })
        .collect()
}

#[test]
fn rules_put_value_pairs_in_tension() {
    let graph = graph_of(&load("tests/graph/rules.qd"));
    let pair = |a: &str, b: &str| [format!("rules_fx.{a}"), format!("rules_fx.{b}")];
    let s = |v: &str| format!("rules_fx.{v}");
    assert_eq!(
        edges_of_kind(&graph, EdgeKind::RuleConflict),
        vec![
            // From `conflict keep_secret <> warn_others`, in definition order.
            (
                s("privacy"),
                s("safety"),
                1.0,
                vec![pair("keep_secret", "warn_others")]
            ),
            (
                s("privacy"),
                s("autonomy"),
                1.0,
                vec![pair("keep_secret", "warn_others")]
            ),
            // From `conflict tell_truth <> spare_feelings`, and from the rules upholding
            // the two sides of `conflict honesty <> kindness`; each rule pair counts once.
            (
                s("honesty"),
                s("kindness"),
                2.0,
                vec![
                    pair("tell_truth", "spare_feelings"),
                    pair("disclose_all", "spare_feelings")
                ]
            ),
        ]
    );
    // The declared value conflict is still there, and rule relations draw no other edge.
    assert_eq!(
        edges_of_kind(&graph, EdgeKind::Conflict),
        vec![(s("honesty"), s("kindness"), 0.6, vec![])]
    );
    assert!(edges_of_kind(&graph, EdgeKind::Prefer).is_empty());
    let dot = graph.to_dot(&NO_RANK);
    assert!(dot.contains(
        r#""rules_fx.honesty" -- "rules_fx.kindness" [label="2 rule pairs", style=dotted, dir=none"#
    ));
}

#[test]
fn imported_values_are_drawn_only_in_relations() {
    let loaded = load("tests/graph/imports.qd");
    let graph = graph_of(&loaded);
    let ids: Vec<&str> = graph.nodes().iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "imports.duty",
            "imports.rest",
            "base.leisure",
            "base.work",
            "base.family"
        ]
    );
    assert!(!graph.contains(value(&loaded, "base.worship")));
    let json: serde_json::Value =
        serde_json::from_str(&graph.to_json(&NO_RANK)).expect("valid JSON");
    assert_eq!(json["framework"], "imports");
    assert_eq!(json["clusters"][0]["id"], "base.life");
    assert_eq!(json["clusters"][0]["label"], "Life");
    assert_eq!(json["edges"][2]["source"], "tests/graph/shared/base.qd:13");
}

#[test]
fn coverage_counts_pairs_and_adds_posed_edges() {
    let loaded = load("tests/graph/imports.qd");
    let mut graph = graph_of(&loaded);
    let v = |name: &str| value(&loaded, name);
    graph.set_coverage([
        // Either order, counts add up.
        ((v("base.leisure"), v("duty")), 2),
        ((v("duty"), v("base.leisure")), 1),
        // A pair without an edge, one side not yet drawn.
        ((v("rest"), v("base.worship")), 4),
        // Ignored: a value with itself, and a pair posed by no scenario.
        ((v("rest"), v("rest")), 9),
        ((v("base.work"), v("rest")), 0),
    ]);
    let json: serde_json::Value =
        serde_json::from_str(&graph.to_json(&NO_RANK)).expect("valid JSON");
    let edges = json["edges"].as_array().expect("edges");
    let summary: Vec<(String, String, String, u64)> = edges
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().expect("kind").to_string(),
                e["from"].as_str().expect("from").to_string(),
                e["to"].as_str().expect("to").to_string(),
                e["coverage"].as_u64().expect("coverage on every edge"),
            )
        })
        .collect();
    let row = |k: &str, a: &str, b: &str, n| (k.to_string(), a.to_string(), b.to_string(), n);
    assert_eq!(
        summary,
        [
            row("conflict", "imports.duty", "base.leisure", 3),
            row("wiser", "imports.duty", "imports.rest", 0),
            row("conflict", "base.work", "base.family", 0),
            row("posed", "imports.rest", "base.worship", 4),
        ]
    );
    assert_eq!(edges[3]["weight"], 4.0);
    assert!(graph.contains(v("base.worship")));
    let dot = graph.to_dot(&NO_RANK);
    assert!(dot.contains(r#"[label="0.4, 3 scenarios", dir=none"#));
    assert!(dot.contains(r#""imports.rest" -- "base.worship" [label="4 scenarios", style=dotted"#));
    let mermaid = graph.to_mermaid(&NO_RANK);
    assert!(mermaid.contains(r#"imports_rest -.-|"4 scenarios"| base_worship"#));
    assert!(mermaid.contains(r#"imports_duty ---|"0.4, 3 scenarios"| base_leisure"#));

    // Setting coverage again replaces it, and drops the values only it had drawn.
    graph.set_coverage([]);
    assert!(!graph.contains(v("base.worship")));
    assert!(
        graph
            .edges()
            .iter()
            .all(|e| e.kind != EdgeKind::Posed && e.coverage == Some(0))
    );
}

#[test]
fn two_builds_give_identical_output() {
    for file in [
        "tests/graph/basic.qd",
        "tests/graph/rules.qd",
        "tests/graph/imports.qd",
        "rules/cvc.qd",
    ] {
        let render = || {
            let graph = graph_of(&load(file));
            [
                graph.to_dot(&RANK),
                graph.to_json(&RANK),
                graph.to_mermaid(&RANK),
                graph.ranking_table(),
            ]
        };
        assert_eq!(render(), render(), "{file}");
    }
}

#[test]
fn every_node_id_and_edge_end_is_known() {
    for file in ["rules/cvc.qd", "rules/mft.qd", "rules/schwartz.qd"] {
        let graph = graph_of(&load(file));
        let json: serde_json::Value =
            serde_json::from_str(&graph.to_json(&RANK)).expect("valid JSON");
        let ids: std::collections::HashSet<&str> = json["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].as_str().expect("id"))
            .collect();
        let clusters: std::collections::HashSet<&str> = json["clusters"]
            .as_array()
            .expect("clusters")
            .iter()
            .map(|n| n["id"].as_str().expect("id"))
            .collect();
        for n in json["nodes"].as_array().expect("nodes") {
            if let Some(parent) = n["parent"].as_str() {
                assert!(clusters.contains(parent), "{file}: parent {parent}");
            }
        }
        for e in json["edges"].as_array().expect("edges") {
            assert!(ids.contains(e["from"].as_str().expect("from")), "{file}");
            assert!(ids.contains(e["to"].as_str().expect("to")), "{file}");
            assert!(e["source"].as_str().is_some_and(|s| s.starts_with(file)));
        }
    }
}

// The command line.

#[test]
fn cli_prints_each_format() {
    let file = "tests/graph/basic.qd";
    let graph = graph_of(&load(file));

    let dot = quandary(&["graph", file]);
    assert_eq!(dot.status.code(), Some(0), "{}", stderr(&dot));
    assert_eq!(stdout(&dot), graph.to_dot(&NO_RANK));
    assert!(stderr(&dot).is_empty());
    assert_eq!(
        stdout(&quandary(&["graph", "--format", "dot", file])),
        stdout(&dot)
    );

    let json = quandary(&["graph", "--format", "json", file]);
    assert_eq!(json.status.code(), Some(0));
    assert_eq!(stdout(&json), graph.to_json(&NO_RANK));

    let mermaid = quandary(&["graph", "--format", "mermaid", file]);
    assert_eq!(mermaid.status.code(), Some(0));
    assert!(stdout(&mermaid).starts_with("flowchart LR\n"));
    assert_eq!(stdout(&mermaid), graph.to_mermaid(&NO_RANK));
}

#[test]
fn cli_ranks() {
    let file = "tests/graph/wiser.qd";
    let graph = graph_of(&load(file));
    let table = quandary(&["graph", "--rank", file]);
    assert_eq!(table.status.code(), Some(0));
    assert_eq!(stdout(&table), graph.ranking_table());
    assert!(stdout(&table).starts_with("rank  value"));

    let json = quandary(&["graph", "--rank", "--format", "json", file]);
    assert_eq!(stdout(&json), graph.to_json(&RANK));
    let dot = quandary(&["graph", "--rank", "--format", "dot", file]);
    assert_eq!(stdout(&dot), graph.to_dot(&RANK));

    // Without `wiser` relations the ranking is flat, and the user is told why.
    let flat = quandary(&["graph", "--rank", "tests/graph/rules.qd"]);
    assert_eq!(flat.status.code(), Some(0));
    assert!(stderr(&flat).contains("no `wiser` relations"));
}

#[test]
fn cli_refuses_files_with_errors() {
    let o = quandary(&[
        "graph",
        "--error-format",
        "plain",
        "tests/check/unknown_reference.qd",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).is_empty());
    assert!(stderr(&o).contains("error[Q0101]"));

    // Warnings are reported, and fail only when denied.
    let warned = quandary(&["graph", "tests/check/duplicate_label.qd"]);
    assert_eq!(warned.status.code(), Some(0));
    assert!(stderr(&warned).contains("1 warning"));
    assert!(stdout(&warned).starts_with("graph "));
    let denied = quandary(&["graph", "--deny-warnings", "tests/check/duplicate_label.qd"]);
    assert_eq!(denied.status.code(), Some(1));
    assert!(stdout(&denied).is_empty());

    let missing = quandary(&["graph", "tests/graph/nosuch.qd"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("Q0001"));

    assert_eq!(quandary(&["graph"]).status.code(), Some(2));
    assert_eq!(
        quandary(&["graph", "--format", "svg", "tests/graph/basic.qd"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn clashing_canonical_names_stay_distinct() {
    // Two files with the same framework id, each with a value `v`.
    let mut loader = quandary::MemoryLoader::new()
        .with(
            "a.qd",
            "framework dup\nuse \"b.qd\" as b\nvalue v \"V\"\nconflict v <> b.v\n",
        )
        .with("b.qd", "framework dup\nvalue v \"Other V\"\n");
    let loaded = quandary::load_with(&mut loader, &["a.qd"]);
    assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
    let graph = graph_of(&loaded);
    let ids: Vec<&str> = graph.nodes().iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, ["dup.v", "dup.v~2"]);
    let mermaid = graph.to_mermaid(&NO_RANK);
    assert!(mermaid.contains("  dup_v --- dup_v_2\n"));
    render_svg("clash", &graph.to_dot(&NO_RANK));
}
