//! Validation of a resolved [`Framework`]: the errors and warnings that need the whole
//! model (cycles, ranges, duplicates, unused values).

use std::collections::{BTreeMap, HashMap, HashSet};

use petgraph::algo::kosaraju_scc;
use petgraph::graphmap::DiGraphMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::RelationKind;
use crate::model::*;
use crate::source::{SourceMap, Span};

/// Checks `framework`. `broken[m]` says module `m` had syntax errors: its warnings are not
/// reported, as they may only reflect the items that did not parse.
pub(crate) fn check(
    framework: &Framework,
    sources: &SourceMap,
    broken: &[bool],
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    self_relations(framework, &mut out);
    weights(framework, &mut out);
    prefer_cycles(framework, &mut out);
    rules(framework, &mut out);
    profiles(framework, &mut out);
    relevance(framework, &mut out);
    duplicate_relations(framework, &mut out);
    duplicate_mappings(framework, &mut out);
    let is_broken = |m: ModuleId| broken.get(m.index()).copied().unwrap_or(false);
    unreferenced(framework, &is_broken, &mut out);
    duplicate_labels(framework, &is_broken, &mut out);
    references(framework, sources, &is_broken, &mut out);
    populations(framework, &is_broken, &mut out);
    out.extend(crate::expand::check(framework, sources, &is_broken));
    out
}

fn endpoint_name(f: &Framework, e: Endpoint, from: ModuleId) -> String {
    match e {
        Endpoint::Value(v) => f.value_name(v, from),
        Endpoint::Rule(r) => f.rule(r).id.clone(),
    }
}

fn self_relations(f: &Framework, out: &mut Vec<Diagnostic>) {
    for rel in &f.relations {
        if rel.left == rel.right {
            let name = endpoint_name(f, rel.left, rel.module);
            let message = match rel.kind {
                RelationKind::Conflict => format!("`{name}` is in conflict with itself"),
                RelationKind::Prefer => format!("`{name}` is preferred to itself"),
                RelationKind::Wiser => format!("`{name}` is said to be wiser than itself"),
            };
            out.push(
                Diagnostic::new(Code::SelfRelation, message)
                    .label(rel.span, "relates a value to itself")
                    .help("a relation needs two different sides; check for a typo"),
            );
        }
    }
}

fn weights(f: &Framework, out: &mut Vec<Diagnostic>) {
    for rel in &f.relations {
        let (Some(w), Some(span)) = (rel.weight, rel.weight_span) else {
            continue;
        };
        let ok = match rel.kind {
            RelationKind::Wiser => w.is_finite() && w > 0.0,
            _ => (0.0..=1.0).contains(&w),
        };
        if !ok {
            let (range, help) = match rel.kind {
                RelationKind::Wiser => (
                    "greater than 0",
                    "a `wiser` weight is a strength or a count of votes, greater than 0",
                ),
                _ => (
                    "between 0 and 1",
                    "a relation's weight lies between 0 and 1",
                ),
            };
            out.push(
                Diagnostic::new(
                    Code::WeightOutOfRange,
                    format!("weight {w} is out of range: it must be {range}"),
                )
                .label(span, "out of range")
                .help(help),
            );
        }
    }
}

fn prefer_cycles(f: &Framework, out: &mut Vec<Diagnostic>) {
    // One graph per context; a preference without a context is its own context.
    let mut by_context: BTreeMap<Option<&str>, Vec<&Relation>> = BTreeMap::new();
    for rel in f
        .relations
        .iter()
        .filter(|r| r.kind == RelationKind::Prefer)
    {
        if rel.left != rel.right {
            by_context
                .entry(rel.context.as_deref())
                .or_default()
                .push(rel);
        }
    }
    for (context, rels) in by_context {
        let mut graph: DiGraphMap<Endpoint, usize, std::hash::RandomState> = DiGraphMap::default();
        for (i, rel) in rels.iter().enumerate() {
            graph.add_edge(rel.left, rel.right, i);
        }
        // Kosaraju's algorithm walks the graph without recursion: a chain of many thousand
        // preferences must not overflow the stack.
        let mut components = kosaraju_scc(&graph);
        components.retain(|c| c.len() > 1);
        // Report cycles in the order their first relation was written.
        components.sort_by_key(|c| {
            let set: HashSet<_> = c.iter().collect();
            rels.iter()
                .position(|r| set.contains(&r.left) && set.contains(&r.right))
        });
        for component in components {
            let cycle = find_cycle(&graph, &component, &rels);
            let module = rels[cycle[0]].module;
            // A long cycle is named by its start; its length is said.
            let shown = &cycle[..cycle.len().min(CYCLE_SHOWN)];
            let mut names: Vec<String> = shown
                .iter()
                .map(|&i| format!("`{}`", endpoint_name(f, rels[i].left, module)))
                .collect();
            if shown.len() < cycle.len() {
                names.push(format!("… ({} preferences in all)", cycle.len()));
            }
            names.push(names[0].clone());
            let chain = names.join(" > ");
            let where_ = match context {
                Some(c) => format!("in context `{c}`"),
                None => "without a context".to_string(),
            };
            let mut d = Diagnostic::new(
                Code::PreferCycle,
                format!("preferences {where_} form a cycle: {chain}"),
            );
            for &i in shown {
                d = d.label(rels[i].span, "part of the cycle");
            }
            out.push(d.help(
                "a priority order cannot loop back on itself; drop or reverse one of these, \
                 or give it a different context with `when`",
            ));
        }
    }
}

/// One cycle through a strongly connected component, as indexes into `rels` in order.
/// The most preferences of a cycle named and pointed at in its diagnostic.
const CYCLE_SHOWN: usize = 12;

fn find_cycle(
    graph: &DiGraphMap<Endpoint, usize, std::hash::RandomState>,
    component: &[Endpoint],
    rels: &[&Relation],
) -> Vec<usize> {
    let members: HashSet<Endpoint> = component.iter().copied().collect();
    // Start at the earliest-written relation inside the component.
    let start_rel = rels
        .iter()
        .position(|r| members.contains(&r.left) && members.contains(&r.right))
        .unwrap_or(0);
    let start = rels[start_rel].left;
    // Breadth-first search back to `start` gives the shortest cycle through it.
    let mut previous: HashMap<Endpoint, (Endpoint, usize)> = HashMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = HashSet::from([start]);
    while let Some(node) = queue.pop_front() {
        let mut edges: Vec<(Endpoint, usize)> = graph
            .edges(node)
            .filter(|(_, to, _)| members.contains(to))
            .map(|(_, to, &i)| (to, i))
            .collect();
        edges.sort_by_key(|&(_, i)| i);
        for (to, i) in edges {
            if to == start {
                let mut cycle = vec![i];
                let mut at = node;
                while at != start {
                    let (from, j) = previous[&at];
                    cycle.push(j);
                    at = from;
                }
                cycle.reverse();
                return cycle;
            }
            if seen.insert(to) {
                previous.insert(to, (node, i));
                queue.push_back(to);
            }
        }
    }
    vec![start_rel]
}

fn rules(f: &Framework, out: &mut Vec<Diagnostic>) {
    for rule in &f.rules {
        for v in &rule.upholds {
            if rule.violates.contains(v) {
                out.push(
                    Diagnostic::new(
                        Code::ContradictoryRule,
                        format!(
                            "rule `{}` both upholds and violates `{}`",
                            rule.id,
                            f.value_name(*v, rule.module)
                        ),
                    )
                    .label(rule.span, "contradictory rule")
                    .help("a rule either upholds a value or violates it; remove it from one list"),
                );
            }
        }
    }
}

/// Every relevance written on an upheld value lies in [0, 1] (`Q0206`).
fn relevance(f: &Framework, out: &mut Vec<Diagnostic>) {
    for s in &f.scenarios {
        for a in &s.actions {
            for &(r, span) in &a.upholds_relevance {
                let Some(span) = span else { continue };
                if !(0.0..=1.0).contains(&r) {
                    out.push(
                        Diagnostic::new(
                            Code::RelevanceOutOfRange,
                            format!(
                                "relevance {r} in action `{}` of scenario `{}` is out of range: \
                                 it must be between 0 and 1",
                                a.id, s.id
                            ),
                        )
                        .label(span, "out of range")
                        .help(
                            "a relevance lies between 0 (the value does not bear on the action) \
                             and 1 (fully, as without `relevance`)",
                        ),
                    );
                }
            }
        }
    }
}

fn profiles(f: &Framework, out: &mut Vec<Diagnostic>) {
    for profile in &f.profiles {
        let mut seen: HashMap<ValueId, Span> = HashMap::new();
        for (&(v, w), &span) in profile.weights.iter().zip(&profile.weight_spans) {
            if let Some(&first) = seen.get(&v) {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateWeight,
                        format!(
                            "profile `{}` weighs `{}` twice",
                            profile.id,
                            f.value_name(v, profile.module)
                        ),
                    )
                    .label(span, "weighed again here")
                    .label(first, "first weighed here")
                    .help("give each value one weight"),
                );
            } else {
                seen.insert(v, span);
            }
            if !(0.0..=1.0).contains(&w) {
                out.push(
                    Diagnostic::new(
                        Code::WeightOutOfRange,
                        format!(
                            "weight {w} of `{}` in profile `{}` is out of range: it must be \
                             between 0 and 1",
                            f.value_name(v, profile.module),
                            profile.id
                        ),
                    )
                    .label(span, "out of range")
                    .help("a profile's weights lie between 0 (indifferent) and 1 (paramount)"),
                );
            }
        }
    }
}

fn duplicate_relations(f: &Framework, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(RelationKind, Endpoint, Endpoint, Option<&str>), &Relation> =
        HashMap::new();
    for rel in &f.relations {
        let (a, b) = if rel.kind == RelationKind::Conflict && rel.right < rel.left {
            (rel.right, rel.left)
        } else {
            (rel.left, rel.right)
        };
        let key = (rel.kind, a, b, rel.context.as_deref());
        if let Some(first) = seen.get(&key) {
            out.push(
                Diagnostic::new(
                    Code::DuplicateRelation,
                    format!(
                        "`{} {} {} {}` is declared twice",
                        rel.kind.keyword(),
                        endpoint_name(f, rel.left, rel.module),
                        rel.kind.operator(),
                        endpoint_name(f, rel.right, rel.module)
                    ),
                )
                .label(rel.span, "declared again here")
                .label(first.span, "first declared here")
                .help("remove one of them"),
            );
        } else {
            seen.insert(key, rel);
        }
    }
}

fn duplicate_mappings(f: &Framework, out: &mut Vec<Diagnostic>) {
    let mut seen: HashMap<(ValueId, ValueId), Span> = HashMap::new();
    for m in &f.mappings {
        for &t in &m.targets {
            if let Some(first) = seen.get(&(m.value, t)) {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateRelation,
                        format!(
                            "`{}` is mapped to `{}` twice",
                            f.value_name(m.value, m.module),
                            f.value_name(t, m.module)
                        ),
                    )
                    .label(m.span, "mapped again here")
                    .label(*first, "first mapped here")
                    .help("remove one of them"),
                );
            } else {
                seen.insert((m.value, t), m.span);
            }
        }
    }
}

/// Warns about values that nothing refers to, in files that relate values at all (a file
/// that only lists a taxonomy, to be mapped onto or imported, is not expected to).
/// The populations the sources name (question references, stances, pass marks), after the
/// `populations` tables made their spellings one: two names likely of one population that no
/// line joins (`Q0309`, by [`likely_same_populations`]); and lines of a root file's table
/// whose population nothing names (`Q0310`).
fn populations(f: &Framework, broken: &dyn Fn(ModuleId) -> bool, out: &mut Vec<Diagnostic>) {
    // Each population once (names equal but for case and surrounding spaces are one), where
    // it is first named, in definition order.
    let mut named: Vec<(&str, Span, ModuleId)> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let references = f.questions.iter().flat_map(|q| {
        q.references
            .iter()
            .map(|r| (r.population.as_str(), r.span, q.module))
    });
    let stances = f
        .stances
        .iter()
        .map(|s| (s.country.as_str(), s.span, s.module));
    let marks = f.suites.iter().flat_map(|s| {
        s.pass
            .iter()
            .filter_map(|m| Some((m.population.as_deref()?, m.span, s.module)))
    });
    for (name, span, module) in references.chain(stances).chain(marks) {
        if seen.insert(population_key(name)) {
            named.push((name, span, module));
        }
    }
    let names: Vec<&str> = named.iter().map(|(n, _, _)| *n).collect();
    for (a, b) in likely_same_populations(&names) {
        let find = |x: &str| named.iter().find(|(n, _, _)| *n == x).copied();
        let (Some((_, at_a, module_a)), Some((_, at_b, module_b))) = (find(a), find(b)) else {
            continue;
        };
        if broken(module_a) || broken(module_b) {
            continue;
        }
        out.push(
            Diagnostic::new(
                Code::LikelySamePopulation,
                format!("\"{a}\" and \"{b}\" are likely one population"),
            )
            .label(at_b, "named here")
            .label(at_a, "first named here")
            .help(format!(
                "if they are, make them one with a line of a `populations` table: \
                 `populations {{ \"{a}\" alias \"{b}\" }}`; if not, rename one"
            )),
        );
    }
    for line in &f.populations {
        if !f.roots.contains(&line.module) || broken(line.module) {
            continue;
        }
        let key = population_key(&line.name);
        if !seen.contains(&key) {
            out.push(
                Diagnostic::new(
                    Code::UnusedPopulation,
                    format!(
                        "no question, stance or pass mark names \"{}\" or a spelling of it",
                        line.name
                    ),
                )
                .label(line.span, "named by nothing")
                .help("remove the line, or check the spelling of the population's name"),
            );
        }
    }
}

fn unreferenced(f: &Framework, broken: &dyn Fn(ModuleId) -> bool, out: &mut Vec<Diagnostic>) {
    let mut used = vec![false; f.values.len()];
    let mut mark = |v: ValueId| used[v.index()] = true;
    for rel in &f.relations {
        for e in [rel.left, rel.right] {
            if let Endpoint::Value(v) = e {
                mark(v);
            }
        }
    }
    for rule in &f.rules {
        rule.upholds
            .iter()
            .chain(&rule.violates)
            .for_each(|&v| mark(v));
    }
    for p in &f.profiles {
        p.weights.iter().for_each(|&(v, _)| mark(v));
    }
    for m in &f.mappings {
        mark(m.value);
        m.targets.iter().for_each(|&v| mark(v));
    }
    for steer in &f.steers {
        steer
            .toward
            .iter()
            .chain(&steer.away)
            .for_each(|&v| mark(v));
    }
    for s in &f.scenarios {
        for slot in &s.slots {
            if let SlotDomain::Values(values) = &slot.domain {
                values.iter().for_each(|&v| mark(v));
            }
        }
        for pick in &s.picks {
            if let PickSource::Conflicts(values) = &pick.source {
                values.iter().for_each(|&v| mark(v));
            }
        }
        for a in &s.actions {
            for t in a.upholds.iter().chain(&a.violates).chain(&a.either) {
                if let Term::Value(v) = t {
                    mark(*v);
                }
            }
        }
    }
    // A value is in use when it or anything below it is.
    for i in (0..f.values.len()).rev() {
        if used[i]
            && let Some(p) = f.values[i].parent
        {
            used[p.index()] = true;
        }
    }
    for (m, module) in f.modules.iter().enumerate() {
        let relates =
            !module.relations.is_empty() || !module.rules.is_empty() || !module.profiles.is_empty();
        if !relates || broken(ModuleId(m as u32)) {
            continue;
        }
        for &v in &module.values {
            if !used[v.index()] {
                let value = f.value(v);
                out.push(
                    Diagnostic::new(
                        Code::UnreferencedValue,
                        format!("value `{}` is referenced by nothing", value.id),
                    )
                    .label(value.id_span, "never used")
                    .help(
                        "relate it to another value, tie it to a rule, or remove it if it \
                         does not belong",
                    ),
                );
            }
        }
    }
}

fn duplicate_labels(f: &Framework, broken: &dyn Fn(ModuleId) -> bool, out: &mut Vec<Diagnostic>) {
    for (m, module) in f.modules.iter().enumerate() {
        if broken(ModuleId(m as u32)) {
            continue;
        }
        let mut seen: HashMap<String, ValueId> = HashMap::new();
        for &v in &module.values {
            let Some(label) = &f.value(v).label else {
                continue;
            };
            let key = label.trim().to_lowercase();
            if let Some(&first) = seen.get(&key) {
                out.push(
                    Diagnostic::new(
                        Code::DuplicateLabel,
                        format!(
                            "`{}` and `{}` have the same label \"{label}\"",
                            f.value(first).id,
                            f.value(v).id
                        ),
                    )
                    .label(f.value(v).id_span, "same label")
                    .label(f.value(first).id_span, "as this one")
                    .help("readers tell values apart by their labels; make them distinct"),
                );
            } else {
                seen.insert(key, v);
            }
        }
    }
}

/// Checks every reference distribution of every question: one share per option, each a
/// finite number not below 0, adding up to 1 (warning: it is normalised).
fn references(
    f: &Framework,
    sources: &SourceMap,
    broken: &dyn Fn(ModuleId) -> bool,
    out: &mut Vec<Diagnostic>,
) {
    for q in &f.questions {
        let ids: Vec<&str> = q.options.iter().map(|o| o.id.as_str()).collect();
        for r in &q.references {
            let who = &r.population;
            if who.trim().is_empty() {
                out.push(
                    Diagnostic::new(
                        Code::InvalidDistribution,
                        format!("a reference of question `{}` names no population", q.id),
                    )
                    .label(r.span, "no population")
                    .help("name the population the shares describe, e.g. `reference \"France\" [0.4, 0.6]`"),
                );
            }
            let mut valid = true;
            for (&share, &span) in r.shares.iter().zip(&r.share_spans) {
                let problem = if !share.is_finite() {
                    "is not a finite number"
                } else if share < 0.0 {
                    "is negative"
                } else {
                    continue;
                };
                valid = false;
                out.push(
                    Diagnostic::new(
                        Code::InvalidDistribution,
                        format!(
                            "share `{}` of `{who}` in question `{}` {problem}",
                            source_text(sources, span, share),
                            q.id
                        ),
                    )
                    .label(span, "not a share")
                    .help("a share is the part of the population giving that answer: a number from 0, such as `0.25`"),
                );
            }
            if r.shares.len() != q.options.len() {
                let n = r.shares.len();
                out.push(
                    Diagnostic::new(
                        Code::InvalidDistribution,
                        format!(
                            "the reference of `{who}` has {n} share{} but question `{}` has {} option{}",
                            if n == 1 { "" } else { "s" },
                            q.id,
                            q.options.len(),
                            if q.options.len() == 1 { "" } else { "s" }
                        ),
                    )
                    .label(r.list_span, format!("{n} share{}", if n == 1 { "" } else { "s" }))
                    .help(format!(
                        "give one share per option, in the order of the options: {}",
                        ids.join(", ")
                    )),
                );
                continue;
            }
            if !valid || r.shares.is_empty() {
                continue;
            }
            let sum: f64 = r.shares.iter().sum();
            if sum <= 0.0 {
                out.push(
                    Diagnostic::new(
                        Code::InvalidDistribution,
                        format!("the shares of `{who}` in question `{}` sum to 0", q.id),
                    )
                    .label(r.list_span, "no answer has a share")
                    .help("at least one share must be greater than 0"),
                );
            } else if (sum - 1.0).abs() > 0.01 + 1e-9 && !broken(q.module) {
                out.push(
                    Diagnostic::new(
                        Code::UnnormalisedDistribution,
                        format!(
                            "the shares of `{who}` in question `{}` sum to {}, not 1; they will be normalised",
                            q.id,
                            short(sum)
                        ),
                    )
                    .label(r.list_span, "does not sum to 1")
                    .help("each share is divided by their sum; check for a missing or mistyped share, or write the shares as proportions"),
                );
            }
        }
    }
}

/// A number in a few digits: `0.9`, not `0.8999999999999999`.
fn short(x: f64) -> String {
    let text = format!("{x:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    text.to_string()
}

/// A number as the user wrote it, when the span holds it.
fn source_text(sources: &SourceMap, span: Span, value: f64) -> String {
    span.file
        .and_then(|file| sources.get(file).text().get(span.range()))
        .map_or_else(|| short(value), str::to_string)
}
