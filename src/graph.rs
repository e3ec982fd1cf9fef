//! The conflict graph of a framework: its values as nodes, its relations as edges, drawn as
//! Graphviz DOT, Mermaid or JSON, with an optional PageRank over the `wiser` edges.
//!
//! [`ConflictGraph::build`] takes one module (the root) and the modules it imports:
//!
//! - **Nodes** are every value of the root module (isolated ones included), and every value
//!   of an imported module that takes part in an edge. Each node belongs to the cluster of
//!   its parent value. In DOT and Mermaid, a value with drawn values below it is drawn as
//!   its cluster, with a box node of its own inside the cluster when it has edges.
//! - **Edges**, in definition order: every `conflict` (symmetric, stored once), `prefer`
//!   (left preferred over right) and `wiser` (left wiser than right) between two values,
//!   declared by the root module or by a module it imports; then the **rule-derived
//!   conflicts** (`rule_conflict`): the value pairs that rules put in tension, either
//!   because the two rules are declared in conflict (`conflict rule_a <> rule_b` relates
//!   every value upheld by one to every value upheld by the other) or because a value
//!   upheld by one rule is in a declared conflict with a value upheld by the other. The
//!   weight of a rule-derived edge is the number of distinct rule pairs supporting it.
//! - With [`ConflictGraph::set_coverage`], how many scenarios pose each value pair: a count
//!   on every edge, and a `posed` edge for a posed pair that has no other edge.
//!
//! Values are named canonically, `framework_id.value_id` (see [`canonical_name`]).
//!
//! # JSON
//!
//! [`ConflictGraph::to_json`] writes one object:
//!
//! ```json
//! {
//!   "framework": "mft",
//!   "nodes": [
//!     {"id": "mft.care", "label": "Care / harm", "level": "foundation",
//!      "parent": "mft.individualizing", "rank": 0.21}
//!   ],
//!   "clusters": [
//!     {"id": "mft.individualizing", "label": "Individualizing", "level": "cluster",
//!      "parent": null}
//!   ],
//!   "edges": [
//!     {"kind": "conflict", "from": "mft.care", "to": "mft.loyalty", "weight": 0.5,
//!      "context": null, "note": "…", "source": "rules/mft.qd:68", "rules": [],
//!      "coverage": 3}
//!   ]
//! }
//! ```
//!
//! - `nodes`: in definition order. `parent` is the id of the enclosing value (a cluster),
//!   or `null` at the top level. `rank` (the PageRank score) only when asked for.
//! - `clusters`: every value with drawn values below it, in definition order, so that a
//!   `parent` can be looked up even when the parent value is not itself a node.
//! - `edges`: `kind` is `conflict`, `prefer`, `wiser`, `rule_conflict` or `posed`. For
//!   `prefer` and `wiser`, `from` is the preferred or wiser side; for the other kinds the
//!   order carries no meaning. `weight` is the declared weight (1 when none is given), the
//!   number of supporting rule pairs for `rule_conflict`, and the number of scenarios for
//!   `posed`. `context` and `note` are `null` when absent; `source` is `file:line` of the
//!   declaration (for `rule_conflict`, of the first supporting rule conflict or rule), or
//!   `null` when the graph was not located with [`ConflictGraph::locate`]. `rules` lists the
//!   supporting rule pairs of a `rule_conflict` edge (empty for the other kinds).
//!   `coverage`, the number of scenarios posing the edge's value pair, is present only
//!   when coverage was set.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;

use indexmap::IndexMap;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use serde::Serialize;

use crate::model::RelationKind;
use crate::model::{Endpoint, Framework, ModuleId, RuleId, ValueId};
use crate::source::{SourceMap, Span};

/// The canonical name of a value: `framework_id.value_id`, where `framework_id` is the id
/// in its module's header, or the file's stem for a module without one (as
/// [`Module::display_id`](crate::model::Module::display_id) gives it).
pub fn canonical_name(framework: &Framework, value: ValueId) -> String {
    let v = framework.value(value);
    format!("{}.{}", framework.module(v.module).display_id(), v.id)
}

/// The canonical name of a rule: `framework_id.rule_id`.
fn rule_name(framework: &Framework, rule: RuleId) -> String {
    let r = framework.rule(rule);
    format!("{}.{}", framework.module(r.module).display_id(), r.id)
}

/// The sort of an edge.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// A declared `conflict` between two values (symmetric).
    Conflict,
    /// A declared `prefer`: `from` takes priority over `to`.
    Prefer,
    /// A declared `wiser`: `from` is wiser than `to`.
    Wiser,
    /// Two values that rules put in tension (symmetric).
    RuleConflict,
    /// Two values posed together by scenarios, with no other edge between them (symmetric).
    Posed,
}

impl EdgeKind {
    /// The name used in JSON.
    pub fn name(self) -> &'static str {
        match self {
            EdgeKind::Conflict => "conflict",
            EdgeKind::Prefer => "prefer",
            EdgeKind::Wiser => "wiser",
            EdgeKind::RuleConflict => "rule_conflict",
            EdgeKind::Posed => "posed",
        }
    }

    /// Whether the edge points from one side to the other (`prefer`, `wiser`).
    pub fn is_directed(self) -> bool {
        matches!(self, EdgeKind::Prefer | EdgeKind::Wiser)
    }
}

/// What the graph knows of a value (kept for every value of the framework, so that values
/// can be added later, e.g. by coverage).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The value.
    pub value: ValueId,
    /// Its canonical name, unique in the graph (see [`canonical_name`]; when two values
    /// share one, the later gets `~2`, `~3`, … appended).
    pub id: String,
    /// Its label, or its id when it has none.
    pub label: String,
    /// Its level keyword.
    pub level: String,
    /// The enclosing value, if any.
    pub parent: Option<ValueId>,
}

/// One edge of the graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Edge {
    /// Its sort.
    pub kind: EdgeKind,
    /// One side: the preferred or wiser one for `prefer` and `wiser`.
    pub from: ValueId,
    /// The other side.
    pub to: ValueId,
    /// The declared weight (1 when none is given), the number of supporting rule pairs
    /// (`rule_conflict`) or of scenarios (`posed`).
    pub weight: f64,
    /// Whether the weight was written in the source (labels show only such weights).
    pub weight_given: bool,
    /// The context of a `prefer` or `wiser`.
    pub context: Option<String>,
    /// The note, if any.
    pub note: Option<String>,
    /// Where it is declared.
    pub span: Option<Span>,
    /// `file:line` of [`Edge::span`], once the graph is located ([`ConflictGraph::locate`]).
    pub source: Option<String>,
    /// For `rule_conflict`: the canonical names of the supporting rule pairs.
    pub rules: Vec<[String; 2]>,
    /// How many scenarios pose the two values together, once coverage is set.
    pub coverage: Option<u64>,
    /// Position in output order.
    seq: usize,
}

/// What drawings show beyond the graph itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DrawOptions {
    /// Show each value's PageRank score ([`ConflictGraph::page_rank`]): in DOT under the
    /// label, in Mermaid after it in parentheses, in JSON as the node's `rank`.
    pub rank: bool,
}

/// Which `wiser` edges to rank by, as Moral Graph Elicitation's users rank: in one context,
/// in the contexts of one case, with enough votes, or those a majority upgraded.
///
/// The votes of an edge are read from its note when it starts as `import mge` writes it,
/// `U upgrade, N no_upgrade, S not_sure`, and its cases from the note's `; cases: A, B`
/// part; an edge without such a note has its weight as its upgrade votes and no others.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WiserFilter {
    /// Only edges in this context.
    pub context: Option<String>,
    /// Only edges whose note names this case.
    pub case: Option<String>,
    /// Only edges with at least this many votes (of any answer).
    pub min_votes: Option<u64>,
    /// Only edges where more than half of the votes are upgrades.
    pub majority: bool,
}

impl WiserFilter {
    /// Whether the filter keeps every edge.
    pub fn is_empty(&self) -> bool {
        *self == WiserFilter::default()
    }

    fn keeps(&self, edge: &Edge) -> bool {
        if let Some(c) = &self.context
            && edge.context.as_deref() != Some(c.as_str())
        {
            return false;
        }
        let note = edge.note.as_deref().unwrap_or("");
        if let Some(case) = &self.case
            && !note_cases(note).any(|c| c == case)
        {
            return false;
        }
        let [upgrade, no_upgrade, not_sure] = note_votes(note).unwrap_or([
            if edge.weight.is_finite() && edge.weight > 0.0 {
                edge.weight.round() as u64
            } else {
                0
            },
            0,
            0,
        ]);
        let total = upgrade + no_upgrade + not_sure;
        if self.min_votes.is_some_and(|n| total < n) {
            return false;
        }
        !self.majority || 2 * upgrade > total
    }
}

/// The answers counted at the start of a note, `U upgrade, N no_upgrade, S not_sure`.
pub fn note_votes(note: &str) -> Option<[u64; 3]> {
    let head = note.split("; ").next()?;
    let mut counts = [0u64; 3];
    let parts: Vec<&str> = head.split(", ").collect();
    if parts.len() != 3 {
        return None;
    }
    for ((slot, part), answer) in
        counts
            .iter_mut()
            .zip(parts)
            .zip(["upgrade", "no_upgrade", "not_sure"])
    {
        let (n, word) = part.split_once(' ')?;
        if word != answer {
            return None;
        }
        *slot = n.parse().ok()?;
    }
    Some(counts)
}

/// The cases a note names in its `; cases: A, B` part.
fn note_cases(note: &str) -> impl Iterator<Item = &str> {
    note.split("; ")
        .filter_map(|part| part.strip_prefix("cases: "))
        .flat_map(|list| list.split(", "))
}

/// The conflict graph of one module and its imports.
#[derive(Clone, Debug)]
pub struct ConflictGraph {
    /// The root module's framework id (or its file's stem).
    framework: String,
    /// The root module's label, if any.
    title: Option<String>,
    /// Every value of the framework, by [`ValueId`] index.
    info: Vec<Node>,
    graph: StableDiGraph<ValueId, Edge>,
    index: HashMap<ValueId, NodeIndex>,
    /// Nodes present only because coverage posed them.
    posed_nodes: BTreeSet<ValueId>,
    next_seq: usize,
}

/// Damping factor of [`ConflictGraph::page_rank`].
const DAMPING: f64 = 0.85;
/// The iteration stops when the ranks move less than this in total (L1 distance).
const TOLERANCE: f64 = 1e-10;
/// The iteration stops after this many rounds in any case.
const MAX_ITERATIONS: usize = 100;

impl ConflictGraph {
    /// Builds the graph of `module` (usually a root of `framework`) and the modules it
    /// imports.
    pub fn build(framework: &Framework, module: ModuleId) -> ConflictGraph {
        let root = framework.module(module);
        let mut graph = ConflictGraph {
            framework: root.display_id().to_string(),
            title: root.header.as_ref().and_then(|h| h.label.clone()),
            info: node_info(framework),
            graph: StableDiGraph::default(),
            index: HashMap::new(),
            posed_nodes: BTreeSet::new(),
            next_seq: 0,
        };
        let mut scope: Vec<ModuleId> = vec![module];
        for &m in root.imports.values() {
            if !scope.contains(&m) {
                scope.push(m);
            }
        }
        let in_scope = |m: ModuleId| scope.contains(&m);

        for &v in &root.values {
            graph.add_node(v);
        }

        // Declared relations between values, in definition order.
        let mut conflicts: Vec<(ValueId, ValueId)> = Vec::new();
        for rel in framework.relations.iter().filter(|r| in_scope(r.module)) {
            let (Endpoint::Value(left), Endpoint::Value(right)) = (rel.left, rel.right) else {
                continue;
            };
            let kind = match rel.kind {
                RelationKind::Conflict => {
                    conflicts.push((left, right));
                    EdgeKind::Conflict
                }
                RelationKind::Prefer => EdgeKind::Prefer,
                RelationKind::Wiser => EdgeKind::Wiser,
            };
            graph.add_edge(Edge {
                kind,
                from: left,
                to: right,
                weight: rel.weight.unwrap_or(1.0),
                weight_given: rel.weight.is_some(),
                context: rel.context.clone(),
                note: rel.note.clone(),
                span: Some(rel.span),
                source: None,
                rules: Vec::new(),
                coverage: None,
                seq: 0,
            });
        }

        // Rule-derived conflicts: value pair -> (orientation, first evidence, rule pairs).
        struct Derived {
            from: ValueId,
            to: ValueId,
            span: Span,
            rules: Vec<(RuleId, RuleId)>,
            seen: HashSet<(RuleId, RuleId)>,
        }
        let mut derived: IndexMap<(ValueId, ValueId), Derived> = IndexMap::new();
        let mut support = |u: ValueId, w: ValueId, a: RuleId, b: RuleId, span: Span| {
            if u == w || a == b {
                return;
            }
            let entry = derived.entry(pair(u, w)).or_insert_with(|| Derived {
                from: u,
                to: w,
                span,
                rules: Vec::new(),
                seen: HashSet::new(),
            });
            let key = if a < b { (a, b) } else { (b, a) };
            if entry.seen.insert(key) {
                entry.rules.push((a, b));
            }
        };
        // Declared conflicts between rules relate the values they uphold.
        for rel in framework.relations.iter().filter(|r| in_scope(r.module)) {
            if rel.kind != RelationKind::Conflict {
                continue;
            }
            let (Endpoint::Rule(a), Endpoint::Rule(b)) = (rel.left, rel.right) else {
                continue;
            };
            for &u in &framework.rule(a).upholds {
                for &w in &framework.rule(b).upholds {
                    support(u, w, a, b, rel.span);
                }
            }
        }
        // Rules upholding the two sides of a declared value conflict.
        let mut upheld_by: HashMap<ValueId, Vec<RuleId>> = HashMap::new();
        for (i, rule) in framework.rules.iter().enumerate() {
            if in_scope(rule.module) {
                for &v in &rule.upholds {
                    upheld_by.entry(v).or_default().push(RuleId(i as u32));
                }
            }
        }
        let none: Vec<RuleId> = Vec::new();
        for (u, w) in conflicts {
            for &a in upheld_by.get(&u).unwrap_or(&none) {
                for &b in upheld_by.get(&w).unwrap_or(&none) {
                    support(u, w, a, b, framework.rule(a).span);
                }
            }
        }
        for d in derived.into_values() {
            graph.add_edge(Edge {
                kind: EdgeKind::RuleConflict,
                from: d.from,
                to: d.to,
                weight: d.rules.len() as f64,
                weight_given: true,
                context: None,
                note: None,
                span: Some(d.span),
                source: None,
                rules: d
                    .rules
                    .iter()
                    .map(|&(a, b)| [rule_name(framework, a), rule_name(framework, b)])
                    .collect(),
                coverage: None,
                seq: 0,
            });
        }
        graph
    }

    /// Fills in the `file:line` of every edge from the files the framework was loaded from.
    pub fn locate(&mut self, sources: &SourceMap) {
        for edge in self.graph.edge_weights_mut() {
            edge.source = edge.span.and_then(|span| {
                let file = span.file?;
                if file.index() >= sources.len() {
                    return None;
                }
                let f = sources.get(file);
                let (line, _) = f.line_col(span.start as usize);
                Some(format!("{}:{line}", f.name()))
            });
        }
    }

    /// Records how many scenarios pose each unordered pair of values (the order within a
    /// pair does not matter; counts for the same pair add up). Every edge gets the count of
    /// its pair (0 when not posed); a posed pair without any edge gets an edge of kind
    /// [`EdgeKind::Posed`], adding its values as nodes where needed. Calling it again
    /// replaces the previous counts.
    pub fn set_coverage(&mut self, counts: impl IntoIterator<Item = ((ValueId, ValueId), u64)>) {
        // Forget the previous coverage.
        self.graph.retain_edges(|g, e| g[e].kind != EdgeKind::Posed);
        for v in std::mem::take(&mut self.posed_nodes) {
            if let Some(n) = self.index.remove(&v) {
                self.graph.remove_node(n);
            }
        }

        let mut totals: BTreeMap<(ValueId, ValueId), u64> = BTreeMap::new();
        for ((a, b), n) in counts {
            if a != b && a.index() < self.info.len() && b.index() < self.info.len() {
                *totals.entry(pair(a, b)).or_default() += n;
            }
        }
        let mut linked: HashSet<(ValueId, ValueId)> = HashSet::new();
        for edge in self.graph.edge_weights_mut() {
            let key = pair(edge.from, edge.to);
            linked.insert(key);
            edge.coverage = Some(totals.get(&key).copied().unwrap_or(0));
        }
        for ((a, b), n) in totals {
            if n == 0 || linked.contains(&(a, b)) {
                continue;
            }
            for v in [a, b] {
                if !self.index.contains_key(&v) {
                    self.add_node(v);
                    self.posed_nodes.insert(v);
                }
            }
            self.add_edge(Edge {
                kind: EdgeKind::Posed,
                from: a,
                to: b,
                weight: n as f64,
                weight_given: false,
                context: None,
                note: None,
                span: None,
                source: None,
                rules: Vec::new(),
                coverage: Some(n),
                seq: 0,
            });
        }
    }

    /// Keeps only the `wiser` edges that `filter` lets through (other edges stay).
    pub fn filter_wiser(&mut self, filter: &WiserFilter) {
        self.graph.retain_edges(|g, e| {
            g.edge_weight(e)
                .is_none_or(|edge| edge.kind != EdgeKind::Wiser || filter.keeps(edge))
        });
    }

    /// The underlying petgraph graph: node weights are values, edges point `from` → `to`
    /// (symmetric kinds are stored once, in the order written).
    pub fn graph(&self) -> &StableDiGraph<ValueId, Edge> {
        &self.graph
    }

    /// The nodes, in definition order.
    pub fn nodes(&self) -> Vec<&Node> {
        let mut values: Vec<ValueId> = self.index.keys().copied().collect();
        values.sort();
        values.into_iter().map(|v| &self.info[v.index()]).collect()
    }

    /// What the graph knows of `value`, whether or not it is a node.
    pub fn node(&self, value: ValueId) -> Option<&Node> {
        self.info.get(value.index())
    }

    /// Whether `value` is a node of the graph.
    pub fn contains(&self, value: ValueId) -> bool {
        self.index.contains_key(&value)
    }

    /// The edges, in output order: declared relations in definition order, then the
    /// rule-derived conflicts, then the `posed` pairs.
    pub fn edges(&self) -> Vec<&Edge> {
        let mut edges: Vec<&Edge> = self.graph.edge_weights().collect();
        edges.sort_by_key(|e| e.seq);
        edges
    }

    /// PageRank over the `wiser` edges, as in Moral Graph Elicitation: an edge `a > b`
    /// ("`a` is wiser than `b`") passes rank from `b` to `a`, in proportion to its weight
    /// among `b`'s outgoing weights. Damping 0.85; a value wiser than nothing (a dangling
    /// node) spreads its rank over all nodes. Iterates until the ranks move less than
    /// 1e-10 in total, or 100 times. Every node is ranked; the scores sum to 1. Sorted by
    /// score, highest first, ties by canonical name.
    pub fn page_rank(&self) -> Vec<(ValueId, f64)> {
        let nodes: Vec<ValueId> = self.nodes().iter().map(|n| n.value).collect();
        let n = nodes.len();
        if n == 0 {
            return Vec::new();
        }
        let position: HashMap<ValueId, usize> =
            nodes.iter().enumerate().map(|(i, &v)| (v, i)).collect();
        // Rank flows from the less wise side (`to`) to the wiser one (`from`).
        let mut links: Vec<(usize, usize, f64)> = Vec::new();
        let mut out_weight = vec![0.0; n];
        for e in self.edges() {
            if e.kind != EdgeKind::Wiser
                || e.from == e.to
                || !e.weight.is_finite()
                || e.weight <= 0.0
            {
                continue;
            }
            let (Some(&src), Some(&dst)) = (position.get(&e.to), position.get(&e.from)) else {
                continue;
            };
            links.push((src, dst, e.weight));
            out_weight[src] += e.weight;
        }
        let uniform = 1.0 / n as f64;
        let mut rank = vec![uniform; n];
        for _ in 0..MAX_ITERATIONS {
            let dangling: f64 = (0..n)
                .filter(|&i| out_weight[i] == 0.0)
                .map(|i| rank[i])
                .sum();
            let base = (1.0 - DAMPING) * uniform + DAMPING * dangling * uniform;
            let mut next = vec![base; n];
            for &(src, dst, w) in &links {
                next[dst] += DAMPING * rank[src] * w / out_weight[src];
            }
            let moved: f64 = rank.iter().zip(&next).map(|(a, b)| (a - b).abs()).sum();
            rank = next;
            if moved < TOLERANCE {
                break;
            }
        }
        let mut ranked: Vec<(ValueId, f64)> = nodes.into_iter().zip(rank).collect();
        // Scores closer than the tolerance are ties.
        ranked.sort_by(|a, b| {
            let key = |s: f64| (s / TOLERANCE).round() as i64;
            key(b.1)
                .cmp(&key(a.1))
                .then_with(|| self.info[a.0.index()].id.cmp(&self.info[b.0.index()].id))
        });
        ranked
    }

    /// The PageRank as an aligned table: position (ties share one), value, score, label.
    pub fn ranking_table(&self) -> String {
        let ranked = self.page_rank();
        let mut rows: Vec<[String; 4]> = vec![[
            "rank".into(),
            "value".into(),
            "score".into(),
            "label".into(),
        ]];
        let mut position = 0;
        let mut previous: Option<i64> = None;
        for (i, &(v, score)) in ranked.iter().enumerate() {
            let key = (score / TOLERANCE).round() as i64;
            if previous != Some(key) {
                position = i + 1;
                previous = Some(key);
            }
            let node = &self.info[v.index()];
            rows.push([
                position.to_string(),
                node.id.clone(),
                format!("{score:.4}"),
                node.label.clone(),
            ]);
        }
        let width = |c: usize| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0);
        let (w0, w1, w2) = (width(0), width(1), width(2));
        let mut out = String::new();
        for [rank, value, score, label] in &rows {
            let line = format!("{rank:>w0$}  {value:<w1$}  {score:>w2$}  {label}");
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }

    /// Graphviz DOT: an undirected `graph`, laid out left to right, with one `cluster_…`
    /// subgraph per parent value (nested as the hierarchy is), labelled with the parent's
    /// label. Node ids are the quoted canonical names. `conflict` edges are
    /// solid lines without arrows, `prefer` dashed arrows, `wiser` bold arrows (both
    /// pointing from the preferred or wiser side), `rule_conflict` dotted lines and `posed`
    /// grey dotted lines. Edge labels give the context and the written weight, the number
    /// of rule pairs, and the scenario count once coverage is set; tooltips give the note
    /// and the source line.
    pub fn to_dot(&self, options: &DrawOptions) -> String {
        let ranks = self.ranks(options);
        let mut out = String::new();
        let _ = writeln!(out, "graph {} {{", dot_quote(&self.framework));
        if let Some(title) = &self.title {
            let _ = writeln!(out, "  label={};", dot_quote(title));
            out.push_str("  labelloc=t;\n");
        }
        out.push_str("  rankdir=LR;\n");
        out.push_str("  node [shape=ellipse];\n");
        out.push_str("  edge [fontsize=10];\n");
        let layout = self.layout();
        self.dot_container(None, &layout, &ranks, 1, &mut out);
        for e in self.edges() {
            let mut attrs: Vec<String> = Vec::new();
            let label = edge_label(e, false);
            if !label.is_empty() {
                attrs.push(format!("label={}", dot_quote(&label)));
            }
            attrs.push(
                match e.kind {
                    EdgeKind::Conflict => "dir=none",
                    EdgeKind::Prefer => "style=dashed, dir=forward",
                    EdgeKind::Wiser => "style=bold, dir=forward",
                    EdgeKind::RuleConflict => "style=dotted, dir=none",
                    EdgeKind::Posed => "style=dotted, dir=none, color=gray50",
                }
                .to_string(),
            );
            let tooltip: Vec<&str> = [e.note.as_deref(), e.source.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            if !tooltip.is_empty() {
                attrs.push(format!("tooltip={}", dot_quote(&tooltip.join(" — "))));
            }
            let _ = writeln!(
                out,
                "  {} -- {} [{}];",
                dot_quote(&self.info[e.from.index()].id),
                dot_quote(&self.info[e.to.index()].id),
                attrs.join(", ")
            );
        }
        out.push_str("}\n");
        out
    }

    fn dot_container(
        &self,
        cluster: Option<ValueId>,
        layout: &Layout,
        ranks: &HashMap<ValueId, f64>,
        depth: usize,
        out: &mut String,
    ) {
        let indent = "  ".repeat(depth);
        for item in layout.items(cluster) {
            match item {
                Item::Node(v) => {
                    let node = &self.info[v.index()];
                    let mut label = dot_escape(&node.label);
                    if let Some(score) = ranks.get(&v) {
                        let _ = write!(label, "\\n{score:.4}");
                    }
                    let shape = if layout.clusters.contains(&v) {
                        ", shape=box"
                    } else {
                        ""
                    };
                    let _ = writeln!(
                        out,
                        "{indent}{} [label=\"{label}\"{shape}];",
                        dot_quote(&node.id)
                    );
                }
                Item::Cluster(c) => {
                    let node = &self.info[c.index()];
                    let _ = writeln!(
                        out,
                        "{indent}subgraph {} {{",
                        dot_quote(&format!("cluster_{}", node.id))
                    );
                    let _ = writeln!(out, "{indent}  label={};", dot_quote(&node.label));
                    self.dot_container(Some(c), layout, ranks, depth + 1, out);
                    let _ = writeln!(out, "{indent}}}");
                }
            }
        }
    }

    /// Mermaid (`flowchart LR`): one subgraph per parent value (nested as the hierarchy
    /// is), `---` for `conflict`, `-->` for `prefer` and `wiser` (labelled with the kind),
    /// `-.-` for `rule_conflict` and `posed`. Node ids are the canonical names with every
    /// character other than `[A-Za-z0-9_]` replaced by `_`.
    pub fn to_mermaid(&self, options: &DrawOptions) -> String {
        let ranks = self.ranks(options);
        let layout = self.layout();
        // Node and subgraph ids share one namespace in Mermaid.
        let mut used: HashSet<String> = HashSet::new();
        let mut ids: HashMap<ValueId, String> = HashMap::new();
        let mut cluster_ids: HashMap<ValueId, String> = HashMap::new();
        let mut nodes: Vec<ValueId> = self.index.keys().copied().collect();
        nodes.sort();
        for v in nodes {
            ids.insert(v, unique(sanitise(&self.info[v.index()].id), &mut used));
        }
        for &c in &layout.clusters {
            let id = unique(
                format!("cluster_{}", sanitise(&self.info[c.index()].id)),
                &mut used,
            );
            cluster_ids.insert(c, id);
        }
        let mut out = String::from("flowchart LR\n");
        self.mermaid_container(None, &layout, &ids, &cluster_ids, &ranks, 1, &mut out);
        for e in self.edges() {
            let link = match e.kind {
                EdgeKind::Conflict => "---",
                EdgeKind::Prefer | EdgeKind::Wiser => "-->",
                EdgeKind::RuleConflict | EdgeKind::Posed => "-.-",
            };
            let label = edge_label(e, true);
            let label = if label.is_empty() {
                String::new()
            } else {
                format!("|\"{}\"|", mermaid_escape(&label))
            };
            let _ = writeln!(out, "  {} {link}{label} {}", ids[&e.from], ids[&e.to]);
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn mermaid_container(
        &self,
        cluster: Option<ValueId>,
        layout: &Layout,
        ids: &HashMap<ValueId, String>,
        cluster_ids: &HashMap<ValueId, String>,
        ranks: &HashMap<ValueId, f64>,
        depth: usize,
        out: &mut String,
    ) {
        let indent = "  ".repeat(depth);
        for item in layout.items(cluster) {
            match item {
                Item::Node(v) => {
                    let node = &self.info[v.index()];
                    let mut label = node.label.clone();
                    if let Some(score) = ranks.get(&v) {
                        let _ = write!(label, " ({score:.4})");
                    }
                    let label = mermaid_escape(&label);
                    let id = &ids[&v];
                    if layout.clusters.contains(&v) {
                        let _ = writeln!(out, "{indent}{id}[\"{label}\"]");
                    } else {
                        let _ = writeln!(out, "{indent}{id}(\"{label}\")");
                    }
                }
                Item::Cluster(c) => {
                    let _ = writeln!(
                        out,
                        "{indent}subgraph {} [\"{}\"]",
                        cluster_ids[&c],
                        mermaid_escape(&self.info[c.index()].label)
                    );
                    self.mermaid_container(
                        Some(c),
                        layout,
                        ids,
                        cluster_ids,
                        ranks,
                        depth + 1,
                        out,
                    );
                    let _ = writeln!(out, "{indent}end");
                }
            }
        }
    }

    /// JSON, in the shape described in the [module documentation](self), pretty-printed
    /// and ending in a line break.
    pub fn to_json(&self, options: &DrawOptions) -> String {
        let ranks = self.ranks(options);
        let layout = self.layout();
        let name = |v: ValueId| self.info[v.index()].id.as_str();
        let json = JsonGraph {
            framework: &self.framework,
            nodes: self
                .nodes()
                .into_iter()
                .map(|n| JsonNode {
                    id: &n.id,
                    label: &n.label,
                    level: &n.level,
                    parent: n.parent.map(name),
                    rank: ranks.get(&n.value).copied(),
                })
                .collect(),
            clusters: layout
                .clusters
                .iter()
                .map(|&c| {
                    let n = &self.info[c.index()];
                    JsonCluster {
                        id: &n.id,
                        label: &n.label,
                        level: &n.level,
                        parent: n.parent.map(name),
                    }
                })
                .collect(),
            edges: self
                .edges()
                .into_iter()
                .map(|e| JsonEdge {
                    kind: e.kind,
                    from: name(e.from),
                    to: name(e.to),
                    weight: e.weight,
                    context: e.context.as_deref(),
                    note: e.note.as_deref(),
                    source: e.source.as_deref(),
                    rules: &e.rules,
                    coverage: e.coverage,
                })
                .collect(),
        };
        // Serialising plain strings and numbers cannot fail; fall back to `null` regardless.
        serde_json::to_string_pretty(&json).unwrap_or_else(|_| "null".into()) + "\n"
    }

    fn ranks(&self, options: &DrawOptions) -> HashMap<ValueId, f64> {
        if options.rank {
            self.page_rank().into_iter().collect()
        } else {
            HashMap::new()
        }
    }

    fn add_node(&mut self, v: ValueId) {
        if !self.index.contains_key(&v) {
            let n = self.graph.add_node(v);
            self.index.insert(v, n);
        }
    }

    fn add_edge(&mut self, mut edge: Edge) {
        self.add_node(edge.from);
        self.add_node(edge.to);
        edge.seq = self.next_seq;
        self.next_seq += 1;
        let (a, b) = (self.index[&edge.from], self.index[&edge.to]);
        self.graph.add_edge(a, b, edge);
    }

    /// Where each node and cluster is drawn.
    fn layout(&self) -> Layout {
        let mut clusters: BTreeSet<ValueId> = BTreeSet::new();
        for &v in self.index.keys() {
            let mut at = self.info[v.index()].parent;
            while let Some(p) = at {
                if !clusters.insert(p) {
                    break;
                }
                at = self.info[p.index()].parent;
            }
        }
        let mut contents: BTreeMap<Option<ValueId>, Vec<(ValueId, u8, Item)>> = BTreeMap::new();
        for (&v, &n) in &self.index {
            // The cluster stands for a value without edges.
            if clusters.contains(&v) && self.graph.neighbors_undirected(n).next().is_none() {
                continue;
            }
            // A value with drawn values below it is drawn first in its own cluster.
            let (container, order) = if clusters.contains(&v) {
                (Some(v), 0)
            } else {
                (self.info[v.index()].parent, 1)
            };
            contents
                .entry(container)
                .or_default()
                .push((v, order, Item::Node(v)));
        }
        for &c in &clusters {
            contents
                .entry(self.info[c.index()].parent)
                .or_default()
                .push((c, 1, Item::Cluster(c)));
        }
        let contents = contents
            .into_iter()
            .map(|(k, mut items)| {
                items.sort_by_key(|&(v, order, _)| (order != 0, v));
                (k, items.into_iter().map(|(_, _, item)| item).collect())
            })
            .collect();
        Layout { clusters, contents }
    }
}

/// The nesting of a drawing: what each cluster (or the top level, `None`) holds.
struct Layout {
    clusters: BTreeSet<ValueId>,
    contents: BTreeMap<Option<ValueId>, Vec<Item>>,
}

impl Layout {
    fn items(&self, cluster: Option<ValueId>) -> Vec<Item> {
        self.contents.get(&cluster).cloned().unwrap_or_default()
    }
}

#[derive(Clone, Copy, Debug)]
enum Item {
    Node(ValueId),
    Cluster(ValueId),
}

#[derive(Serialize)]
struct JsonGraph<'a> {
    framework: &'a str,
    nodes: Vec<JsonNode<'a>>,
    clusters: Vec<JsonCluster<'a>>,
    edges: Vec<JsonEdge<'a>>,
}

#[derive(Serialize)]
struct JsonNode<'a> {
    id: &'a str,
    label: &'a str,
    level: &'a str,
    parent: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rank: Option<f64>,
}

#[derive(Serialize)]
struct JsonCluster<'a> {
    id: &'a str,
    label: &'a str,
    level: &'a str,
    parent: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    kind: EdgeKind,
    from: &'a str,
    to: &'a str,
    weight: f64,
    context: Option<&'a str>,
    note: Option<&'a str>,
    source: Option<&'a str>,
    rules: &'a [[String; 2]],
    #[serde(skip_serializing_if = "Option::is_none")]
    coverage: Option<u64>,
}

/// An unordered pair as an ordered key.
fn pair(a: ValueId, b: ValueId) -> (ValueId, ValueId) {
    if a <= b { (a, b) } else { (b, a) }
}

/// What the graph records of every value of `framework`, with unique canonical names.
fn node_info(framework: &Framework) -> Vec<Node> {
    let mut used: HashSet<String> = HashSet::new();
    (0..framework.values.len())
        .map(|i| {
            let id = ValueId(i as u32);
            let v = framework.value(id);
            let name = canonical_name(framework, id);
            let mut unique_name = name.clone();
            let mut n = 1;
            while !used.insert(unique_name.clone()) {
                n += 1;
                unique_name = format!("{name}~{n}");
            }
            Node {
                value: id,
                id: unique_name,
                label: framework.value_label(id).to_string(),
                level: framework
                    .module(v.module)
                    .levels
                    .get(v.level)
                    .cloned()
                    .unwrap_or_default(),
                parent: v.parent,
            }
        })
        .collect()
}

/// The text on an edge: the kind (Mermaid only, where `prefer` and `wiser` look alike),
/// the context, the written weight, the rule pairs, the scenario count.
fn edge_label(e: &Edge, with_kind: bool) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut head = String::new();
    if with_kind && e.kind.is_directed() {
        head.push_str(e.kind.name());
    }
    if let Some(context) = &e.context {
        let word = if e.kind == EdgeKind::Wiser {
            "in"
        } else {
            "when"
        };
        if !head.is_empty() {
            head.push(' ');
        }
        let _ = write!(head, "{word} {context}");
    }
    if !head.is_empty() {
        parts.push(head);
    }
    match e.kind {
        EdgeKind::RuleConflict => {
            let n = e.rules.len();
            parts.push(format!("{n} rule pair{}", if n == 1 { "" } else { "s" }));
        }
        EdgeKind::Posed => {}
        _ if e.weight_given => parts.push(e.weight.to_string()),
        _ => {}
    }
    if let Some(n) = e.coverage {
        parts.push(format!("{n} scenario{}", if n == 1 { "" } else { "s" }));
    }
    parts.join(", ")
}

/// Escapes text for a quoted DOT string (quotes, backslashes, line breaks).
fn dot_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

fn dot_quote(text: &str) -> String {
    format!("\"{}\"", dot_escape(text))
}

/// Escapes text for a quoted Mermaid label: characters Mermaid would read as markup become
/// entity codes.
fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '|' => out.push_str("#124;"),
            '\n' | '\r' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid id: every character other than `[A-Za-z0-9_]` becomes `_`.
fn sanitise(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `id`, or `id_2`, `id_3`, … if already taken.
fn unique(id: String, used: &mut HashSet<String>) -> String {
    let mut candidate = id.clone();
    let mut n = 1;
    while !used.insert(candidate.clone()) {
        n += 1;
        candidate = format!("{id}_{n}");
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_labels() {
        assert_eq!(dot_quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(
            mermaid_escape(r#"a "b" <c> #1"#),
            "a #quot;b#quot; #lt;c#gt; #35;1"
        );
        assert_eq!(sanitise("mft.care-x"), "mft_care_x");
    }

    #[test]
    fn notes_give_votes_and_cases() {
        assert_eq!(
            note_votes("3 upgrade, 1 no_upgrade, 0 not_sure; cases: grief, diagnosis"),
            Some([3, 1, 0])
        );
        assert_eq!(note_votes("12 of 15 participants"), None);
        let cases: Vec<&str> =
            note_cases("1 upgrade, 0 no_upgrade, 0 not_sure; in the contexts: a | b; cases: x, y")
                .collect();
        assert_eq!(cases, ["x", "y"]);
    }

    #[test]
    fn unique_ids_get_suffixes() {
        let mut used = HashSet::new();
        assert_eq!(unique("a".into(), &mut used), "a");
        assert_eq!(unique("a".into(), &mut used), "a_2");
        assert_eq!(unique("a".into(), &mut used), "a_3");
    }
}
