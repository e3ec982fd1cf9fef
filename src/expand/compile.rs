//! Compiling a scenario's picks before expansion: the candidate pairs each pick can draw,
//! and where they come from.

use std::collections::HashSet;
use std::sync::Arc;

use crate::model::RelationKind;
use crate::model::*;

/// One pair a pick can draw, with the relations or rules that make it a conflict.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// One side.
    pub a: Endpoint,
    /// The other side.
    pub b: Endpoint,
    /// The relations behind the pair.
    pub relations: Vec<RelationId>,
}

/// Every module `module` can see: itself and everything it imports, transitively.
pub fn scope(framework: &Framework, module: ModuleId) -> Vec<bool> {
    let mut seen = vec![false; framework.modules.len()];
    let mut stack = vec![module];
    while let Some(m) = stack.pop() {
        if std::mem::replace(&mut seen[m.index()], true) {
            continue;
        }
        stack.extend(framework.module(m).imports.values().copied());
    }
    seen
}

/// Whether `v` is `root` or below it.
fn under(framework: &Framework, v: ValueId, root: ValueId) -> bool {
    v == root || framework.ancestors(v).any(|a| a == root)
}

/// The rules a `rule_conflicts` pick of a scenario in `module` considers: those in scope
/// that `filter` admits, in definition order.
pub fn pick_rules<'f>(
    framework: &'f Framework,
    module: ModuleId,
    filter: &'f RuleFilter,
) -> impl Iterator<Item = RuleId> + 'f {
    let visible = scope(framework, module);
    framework
        .rules
        .iter()
        .enumerate()
        .filter(move |(_, r)| visible.get(r.module.index()).copied().unwrap_or(false))
        .filter(|(_, r)| filter.admits(r))
        .map(|(i, _)| RuleId(i as u32))
}

/// The pairs a pick can draw, in definition order of the relations (and rules) behind them.
pub fn candidates(
    framework: &Framework,
    scenario: &ScenarioTemplate,
    pick: &Pick,
) -> Vec<Candidate> {
    let visible = scope(framework, scenario.module);
    let in_scope = |m: ModuleId| visible.get(m.index()).copied().unwrap_or(false);
    let mut out: Vec<Candidate> = Vec::new();
    let mut index: std::collections::HashMap<(Endpoint, Endpoint), usize> = Default::default();
    let mut add = |a: Endpoint, b: Endpoint, relation: RelationId, out: &mut Vec<Candidate>| {
        let key = if b < a { (b, a) } else { (a, b) };
        match index.get(&key) {
            Some(&i) => {
                if !out[i].relations.contains(&relation) {
                    out[i].relations.push(relation);
                }
            }
            None => {
                index.insert(key, out.len());
                out.push(Candidate {
                    a,
                    b,
                    relations: vec![relation],
                });
            }
        }
    };
    let value_conflicts = framework.relations.iter().enumerate().filter(|(_, r)| {
        r.kind == RelationKind::Conflict && in_scope(r.module) && r.left != r.right
    });
    match &pick.source {
        PickSource::Conflicts(filter) => {
            let allowed = |e: Endpoint| match e {
                Endpoint::Value(v) => {
                    filter.is_empty() || filter.iter().any(|&f| under(framework, v, f))
                }
                Endpoint::Rule(_) => false,
            };
            for (i, r) in value_conflicts {
                if allowed(r.left) && allowed(r.right) {
                    add(r.left, r.right, RelationId(i as u32), &mut out);
                }
            }
        }
        PickSource::Unresolved => {}
        PickSource::RuleConflicts(filter) => {
            let rules: Vec<RuleId> = pick_rules(framework, scenario.module, filter).collect();
            let chosen: HashSet<RuleId> = rules.iter().copied().collect();
            // Declared conflicts between rules.
            for (i, r) in value_conflicts.clone() {
                if let (Endpoint::Rule(a), Endpoint::Rule(b)) = (r.left, r.right)
                    && chosen.contains(&a)
                    && chosen.contains(&b)
                {
                    add(r.left, r.right, RelationId(i as u32), &mut out);
                }
            }
            // Rules whose upheld values are in a declared conflict.
            let mut upholding: std::collections::HashMap<ValueId, Vec<RuleId>> = Default::default();
            for &r in &rules {
                for &v in &framework.rule(r).upholds {
                    upholding.entry(v).or_default().push(r);
                }
            }
            for (i, rel) in value_conflicts {
                let (Endpoint::Value(x), Endpoint::Value(y)) = (rel.left, rel.right) else {
                    continue;
                };
                let (Some(xs), Some(ys)) = (upholding.get(&x), upholding.get(&y)) else {
                    continue;
                };
                for &a in xs {
                    for &b in ys {
                        if a != b {
                            let (a, b) = if b < a { (b, a) } else { (a, b) };
                            add(
                                Endpoint::Rule(a),
                                Endpoint::Rule(b),
                                RelationId(i as u32),
                                &mut out,
                            );
                        }
                    }
                }
            }
        }
    }
    out
}

/// The shared, immutable list of a pick's candidates.
pub type Candidates = Arc<Vec<Candidate>>;
