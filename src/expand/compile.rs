//! Compiling a scenario's picks before expansion: the candidate pairs each pick can draw,
//! and where they come from.
//!
//! A `conflicts(…)` pick has at most one candidate per declared conflict: its candidates are
//! listed. A `rule_conflicts(…)` pick pairs every rule upholding one side of a value conflict
//! with every rule upholding the other, which for a large framework is billions of pairs:
//! they are counted and indexed ([`RulePairs`]), never listed, so memory grows with the
//! rules, not with the pairs, and candidate `k` is found in O(log² n).

use std::collections::HashMap;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use crate::model::RelationKind;
use crate::model::*;

/// One pair a pick can draw, with the relations or rules that make it a conflict.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// One side.
    pub a: Endpoint,
    /// The other side.
    pub b: Endpoint,
    /// The relations behind the pair, in definition order (for two rules: the declared
    /// conflicts between them, then the conflicts between values they uphold).
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

/// The pairs a pick can draw, in order: shared, immutable, and cheap to clone.
#[derive(Clone, Debug)]
pub struct Candidates(Arc<Source>);

#[derive(Debug)]
enum Source {
    /// Every candidate, in order.
    Listed(Vec<Candidate>),
    /// Rule pairs, indexed.
    Rules(Box<RulePairs>),
}

impl Candidates {
    /// How many candidates there are.
    pub fn len(&self) -> u64 {
        match &*self.0 {
            Source::Listed(list) => list.len() as u64,
            Source::Rules(pairs) => pairs.len(),
        }
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Candidate `k` (below [`Candidates::len`]), with the relations behind it.
    pub fn get(&self, k: u64) -> Candidate {
        match &*self.0 {
            Source::Listed(list) => list[k as usize].clone(),
            Source::Rules(pairs) => {
                let (a, b) = pairs.pair(k);
                Candidate {
                    a: Endpoint::Rule(a),
                    b: Endpoint::Rule(b),
                    relations: pairs.relations(a, b),
                }
            }
        }
    }

    /// The two sides of candidate `k` (below [`Candidates::len`]), without the relations.
    pub fn sides(&self, k: u64) -> (Endpoint, Endpoint) {
        match &*self.0 {
            Source::Listed(list) => {
                let c = &list[k as usize];
                (c.a, c.b)
            }
            Source::Rules(pairs) => {
                let (a, b) = pairs.pair(k);
                (Endpoint::Rule(a), Endpoint::Rule(b))
            }
        }
    }

    /// Whether candidate `k` repeats an earlier one (the same two rules; see
    /// [`RulePairs::is_repeat`]). Listed candidates never do.
    pub fn is_repeat(&self, k: u64) -> bool {
        match &*self.0 {
            Source::Listed(_) => false,
            Source::Rules(pairs) => pairs.is_repeat(k),
        }
    }

    /// Whether some candidate may repeat an earlier one.
    pub fn may_repeat(&self) -> bool {
        match &*self.0 {
            Source::Listed(_) => false,
            Source::Rules(pairs) => pairs.blocks.len() > 1 || !pairs.rule_relations.is_empty(),
        }
    }

    /// Whether the candidates are listed (a `conflicts` pick) rather than indexed.
    pub fn is_listed(&self) -> bool {
        matches!(&*self.0, Source::Listed(_))
    }
}

/// The pairs a pick can draw, in definition order of the relations (and rules) behind them.
pub fn candidates(framework: &Framework, scenario: &ScenarioTemplate, pick: &Pick) -> Candidates {
    let source = match &pick.source {
        PickSource::Conflicts(filter) => Source::Listed(value_pairs(framework, scenario, filter)),
        PickSource::Unresolved => Source::Listed(Vec::new()),
        PickSource::RuleConflicts(filter) => Source::Rules(Box::new(RulePairs::new(
            framework,
            scenario.module,
            pick_rules(framework, scenario.module, filter),
        ))),
    };
    Candidates(Arc::new(source))
}

/// The declared conflicts (in scope, both sides two different values) of a `conflicts(…)`
/// pick: one candidate per pair of values, with every relation declaring it.
fn value_pairs(
    framework: &Framework,
    scenario: &ScenarioTemplate,
    filter: &[ValueId],
) -> Vec<Candidate> {
    let visible = scope(framework, scenario.module);
    let allowed = |e: Endpoint| match e {
        Endpoint::Value(v) => filter.is_empty() || filter.iter().any(|&f| under(framework, v, f)),
        Endpoint::Rule(_) => false,
    };
    let mut out: Vec<Candidate> = Vec::new();
    let mut index: HashMap<(Endpoint, Endpoint), usize> = HashMap::new();
    for (i, r) in framework.relations.iter().enumerate() {
        if r.kind != RelationKind::Conflict
            || !visible.get(r.module.index()).copied().unwrap_or(false)
            || r.left == r.right
            || !allowed(r.left)
            || !allowed(r.right)
        {
            continue;
        }
        let relation = RelationId(i as u32);
        let key = if r.right < r.left {
            (r.right, r.left)
        } else {
            (r.left, r.right)
        };
        match index.get(&key) {
            Some(&c) => {
                if !out[c].relations.contains(&relation) {
                    out[c].relations.push(relation);
                }
            }
            None => {
                index.insert(key, out.len());
                out.push(Candidate {
                    a: r.left,
                    b: r.right,
                    relations: vec![relation],
                });
            }
        }
    }
    out
}

/// The candidates of a `rule_conflicts` pick, counted and indexed without listing them.
///
/// They come in blocks. Block 0 holds the pairs of rules declared in conflict with each
/// other (`conflict r1 <> r2`), listed (they are few), in definition order, each pair once.
/// Then one block per pair of values in a declared conflict `x <> y`, in definition order of
/// the first relation declaring it: the rules upholding `x` (ascending) against the rules
/// upholding `y` (ascending), row after row, leaving out a rule paired with itself and, for
/// two rules that both uphold `x` and `y`, the second time the pair comes up. A pair of rules
/// whose values are in several conflicts is a candidate of each of their blocks; all but the
/// first are repeats ([`RulePairs::is_repeat`]), whose draws expansion drops.
///
/// A block keeps only the two lists of rules (shared by every block of a value) and where
/// the rules upholding both values are in them. With `B` rules upholding both, row `i` of
/// block `X × Y` is `|Y|` long, less `r + 1` when `X[i]` is the `r`-th of `B`; so the row
/// of a candidate and its place in the row are found by binary search.
#[derive(Debug, Default)]
pub struct RulePairs {
    /// Rule pairs declared in conflict, each once, as first declared.
    declared: Vec<(RuleId, RuleId)>,
    /// Per value of some conflict: the rules considered that uphold it, ascending.
    upholders: Vec<Vec<RuleId>>,
    /// The value conflicts with at least one candidate, in order.
    blocks: Vec<Block>,
    /// Where each block's candidates start; then the total.
    starts: Vec<u64>,
    /// Declared conflicts between two rules, by pair (lower id first), in definition order.
    rule_relations: FxHashMap<(RuleId, RuleId), Vec<RelationId>>,
    /// Declared conflicts between two values, by pair (lower id first), in definition order.
    value_relations: FxHashMap<(ValueId, ValueId), Vec<RelationId>>,
    /// The block of each pair of values in conflict (lower id first), by its place in
    /// `blocks`.
    block_of: FxHashMap<(ValueId, ValueId), u32>,
    /// The values of some conflict each rule considered upholds: `upheld[from[r]..from[r+1]]`.
    upheld_from: Vec<u32>,
    upheld: Vec<ValueId>,
}

/// The candidates of one value conflict `x <> y`.
#[derive(Debug)]
struct Block {
    /// The upholders of `x` (the rows) and of `y` (the columns).
    x: usize,
    y: usize,
    /// Where the rules upholding both `x` and `y` are among the upholders of `x`, ascending.
    both_x: Vec<u32>,
    /// Where the same rules are among the upholders of `y`, ascending.
    both_y: Vec<u32>,
}

/// `(a, b)` with the lower first.
fn ordered<T: Ord>(a: T, b: T) -> (T, T) {
    if b < a { (b, a) } else { (a, b) }
}

impl RulePairs {
    /// The candidate pairs of `rules` (in any order; a rule given twice counts once) in the
    /// scope of `module`.
    pub fn new(
        framework: &Framework,
        module: ModuleId,
        rules: impl IntoIterator<Item = RuleId>,
    ) -> RulePairs {
        let visible = scope(framework, module);
        let mut considered = vec![false; framework.rules.len()];
        let mut rules: Vec<RuleId> = rules
            .into_iter()
            .filter(|r| !std::mem::replace(&mut considered[r.index()], true))
            .collect();
        // Rows and columns follow definition order, whatever the order given.
        rules.sort_unstable();
        let mut out = RulePairs::default();
        // Relations in definition order: declared rule pairs, and the value pairs that make
        // blocks.
        let mut value_pairs: Vec<(ValueId, ValueId)> = Vec::new();
        for (i, r) in framework.relations.iter().enumerate() {
            if r.kind != RelationKind::Conflict
                || !visible.get(r.module.index()).copied().unwrap_or(false)
                || r.left == r.right
            {
                continue;
            }
            let relation = RelationId(i as u32);
            match (r.left, r.right) {
                (Endpoint::Rule(a), Endpoint::Rule(b))
                    if considered[a.index()] && considered[b.index()] =>
                {
                    let known = out.rule_relations.entry(ordered(a, b)).or_default();
                    if known.is_empty() {
                        out.declared.push((a, b));
                    }
                    known.push(relation);
                }
                (Endpoint::Value(x), Endpoint::Value(y)) => {
                    let known = out.value_relations.entry(ordered(x, y)).or_default();
                    if known.is_empty() {
                        value_pairs.push((x, y));
                    }
                    known.push(relation);
                }
                _ => {}
            }
        }
        // The upholders of each value in a conflict, and what each rule upholds of them.
        let mut slot: HashMap<ValueId, usize> = HashMap::new();
        for &(x, y) in &value_pairs {
            for v in [x, y] {
                let next = slot.len();
                slot.entry(v).or_insert(next);
            }
        }
        out.upholders = vec![Vec::new(); slot.len()];
        out.upheld_from = vec![0; framework.rules.len() + 1];
        let mut next = 0;
        for (i, from) in out.upheld_from.iter_mut().enumerate() {
            *from = out.upheld.len() as u32;
            if next < rules.len() && rules[next].index() == i {
                let r = rules[next];
                next += 1;
                for &v in &framework.rule(r).upholds {
                    let Some(&s) = slot.get(&v) else { continue };
                    // A value listed twice counts once.
                    if out.upholders[s].last() != Some(&r) {
                        out.upholders[s].push(r);
                        out.upheld.push(v);
                    }
                }
            }
        }
        let mut total = out.declared.len() as u64;
        out.starts.push(total);
        for (vx, vy) in value_pairs {
            let (Some(&x), Some(&y)) = (slot.get(&vx), slot.get(&vy)) else {
                continue;
            };
            let (xs, ys) = (&out.upholders[x], &out.upholders[y]);
            let (mut both_x, mut both_y) = (Vec::new(), Vec::new());
            let (mut i, mut j) = (0, 0);
            while i < xs.len() && j < ys.len() {
                match xs[i].cmp(&ys[j]) {
                    std::cmp::Ordering::Less => i += 1,
                    std::cmp::Ordering::Greater => j += 1,
                    std::cmp::Ordering::Equal => {
                        both_x.push(i as u32);
                        both_y.push(j as u32);
                        i += 1;
                        j += 1;
                    }
                }
            }
            let block = Block {
                x,
                y,
                both_x,
                both_y,
            };
            let size = block.size(xs.len() as u64, ys.len() as u64);
            if size > 0 {
                total = total.saturating_add(size);
                out.block_of
                    .insert(ordered(vx, vy), out.blocks.len() as u32);
                out.blocks.push(block);
                out.starts.push(total);
            }
        }
        out
    }

    /// How many candidates.
    pub fn len(&self) -> u64 {
        self.starts.last().copied().unwrap_or(0)
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The two rules of candidate `k`: as declared for a declared pair, otherwise the rule
    /// defined first first.
    pub fn pair(&self, k: u64) -> (RuleId, RuleId) {
        if k < self.declared.len() as u64 {
            return self.declared[k as usize];
        }
        // The last block starting at or before k.
        let b = self.starts.partition_point(|&s| s <= k).saturating_sub(1);
        let block = &self.blocks[b];
        let (xs, ys) = (&self.upholders[block.x], &self.upholders[block.y]);
        let (i, j) = block.locate(k - self.starts[b], xs.len(), ys.len());
        ordered(xs[i], ys[j])
    }

    /// Whether candidate `k` is a pair of rules that an earlier candidate already is: a pair
    /// declared in conflict that meets again through its values, or a pair whose values are
    /// in an earlier conflict too. A draw of it is a repeat, which expansion drops.
    pub fn is_repeat(&self, k: u64) -> bool {
        if k < self.declared.len() as u64 {
            return false;
        }
        let b = self.starts.partition_point(|&s| s <= k).saturating_sub(1);
        let (a, r) = self.pair(k);
        if self.rule_relations.contains_key(&ordered(a, r)) {
            return true;
        }
        self.upheld_of(a).iter().any(|&u| {
            self.upheld_of(r).iter().any(|&w| {
                self.block_of
                    .get(&ordered(u, w))
                    .is_some_and(|&earlier| (earlier as usize) < b)
            })
        })
    }

    /// The relations behind the pair `a`, `b`: declared conflicts between the two rules,
    /// then conflicts between values they uphold, each part in definition order.
    pub fn relations(&self, a: RuleId, b: RuleId) -> Vec<RelationId> {
        let mut out = self
            .rule_relations
            .get(&ordered(a, b))
            .cloned()
            .unwrap_or_default();
        let declared = out.len();
        for &u in self.upheld_of(a) {
            for &w in self.upheld_of(b) {
                if let Some(rs) = self.value_relations.get(&ordered(u, w)) {
                    out.extend_from_slice(rs);
                }
            }
        }
        out[declared..].sort_unstable();
        out.dedup();
        out
    }

    fn upheld_of(&self, r: RuleId) -> &[ValueId] {
        let from = self.upheld_from.get(r.index()).copied().unwrap_or(0) as usize;
        let to = self.upheld_from.get(r.index() + 1).copied().unwrap_or(0) as usize;
        self.upheld.get(from..to).unwrap_or(&[])
    }
}

impl Block {
    /// Candidates in a block of `nx` rows and `ny` columns.
    fn size(&self, nx: u64, ny: u64) -> u64 {
        let both = self.both_x.len() as u64;
        nx.saturating_mul(ny) - both * (both + 1) / 2
    }

    /// Where row `i` starts among the block's candidates.
    fn row_start(&self, i: usize, ny: u64) -> u64 {
        let m = self.both_x.partition_point(|&p| (p as usize) < i) as u64;
        i as u64 * ny - m * (m + 1) / 2
    }

    /// Row and column of candidate `k` of the block.
    fn locate(&self, k: u64, nx: usize, ny: usize) -> (usize, usize) {
        let ny64 = ny as u64;
        // The last row starting at or before k (an empty row starts where the next does).
        let (mut lo, mut hi) = (0, nx);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.row_start(mid, ny64) <= k {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        let i = lo;
        let offset = k - self.row_start(i, ny64);
        let r = self.both_x.partition_point(|&p| (p as usize) < i);
        if self.both_x.get(r).is_none_or(|&p| p as usize != i) {
            return (i, offset as usize);
        }
        // Row i is rule r of those upholding both: columns both_y[0..=r] are left out (the
        // rule itself, and pairs met already in an earlier row). The column is the first
        // whose count of kept columns up to and including it exceeds `offset`.
        let excluded = r as u64 + 1;
        let kept_before = |p: usize| -> u64 {
            let gone = (self.both_y.partition_point(|&q| (q as usize) < p) as u64).min(excluded);
            p as u64 - gone
        };
        let (mut lo, mut hi) = (0, ny);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if kept_before(mid + 1) > offset {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        (i, lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::{Rng, SeedableRng};
    use std::collections::HashSet;

    /// A framework of `values` values, some conflicts between them (some declared twice,
    /// some both ways round) and between rules, and `rules` rules upholding 1–3 values each
    /// (some the same value twice).
    fn random_framework(seed: u64, values: usize, rules: usize) -> (Framework, Vec<RuleId>) {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut below = |n: usize| (rng.next_u64() % n as u64) as usize;
        let mut text = String::from("framework t \"T\"\n");
        for v in 0..values {
            text.push_str(&format!("value v{v} \"V{v}\"\n"));
        }
        for r in 0..rules {
            let count = 1 + below(3);
            let ups: Vec<String> = (0..count).map(|_| format!("v{}", below(values))).collect();
            text.push_str(&format!(
                "rule r{r} \"R{r}\" {{ upholds {} }}\n",
                ups.join(", ")
            ));
        }
        for _ in 0..values {
            let (x, y) = (below(values), below(values));
            if x != y {
                text.push_str(&format!("conflict v{x} <> v{y}\n"));
            }
        }
        for _ in 0..3 {
            let (a, b) = (below(rules), below(rules));
            if a != b {
                text.push_str(&format!("conflict r{a} <> r{b}\n"));
            }
        }
        let loaded = crate::load_str("t.qd", &text);
        let ids = (0..loaded.framework.rules.len())
            .map(|i| RuleId(i as u32))
            .collect();
        (loaded.framework, ids)
    }

    /// The candidates as they were listed before indexing: every pair, with today's order,
    /// orientation and relations (a pair of several value conflicts once per conflict).
    fn listed(framework: &Framework, rules: &[RuleId]) -> Vec<Candidate> {
        let chosen: HashSet<RuleId> = rules.iter().copied().collect();
        let conflicts = || {
            framework
                .relations
                .iter()
                .enumerate()
                .filter(|(_, r)| r.kind == RelationKind::Conflict && r.left != r.right)
        };
        let relations = |a: RuleId, b: RuleId| -> Vec<RelationId> {
            let mut declared = Vec::new();
            let mut values = Vec::new();
            for (i, r) in conflicts() {
                let id = RelationId(i as u32);
                match (r.left, r.right) {
                    (Endpoint::Rule(p), Endpoint::Rule(q)) if ordered(p, q) == ordered(a, b) => {
                        declared.push(id)
                    }
                    (Endpoint::Value(x), Endpoint::Value(y)) => {
                        let (ua, ub) = (&framework.rule(a).upholds, &framework.rule(b).upholds);
                        if (ua.contains(&x) && ub.contains(&y))
                            || (ua.contains(&y) && ub.contains(&x))
                        {
                            values.push(id);
                        }
                    }
                    _ => {}
                }
            }
            declared.extend(values);
            declared
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (_, r) in conflicts() {
            if let (Endpoint::Rule(a), Endpoint::Rule(b)) = (r.left, r.right)
                && chosen.contains(&a)
                && chosen.contains(&b)
                && seen.insert(ordered(a, b))
            {
                out.push(Candidate {
                    a: r.left,
                    b: r.right,
                    relations: relations(a, b),
                });
            }
        }
        let mut blocks = HashSet::new();
        for (_, r) in conflicts() {
            let (Endpoint::Value(x), Endpoint::Value(y)) = (r.left, r.right) else {
                continue;
            };
            if !blocks.insert(ordered(x, y)) {
                continue;
            }
            let ups = |v: ValueId| {
                rules
                    .iter()
                    .copied()
                    .filter(move |&r| framework.rule(r).upholds.contains(&v))
            };
            let mut in_block = HashSet::new();
            for a in ups(x) {
                for b in ups(y) {
                    if a != b && in_block.insert(ordered(a, b)) {
                        let (a, b) = ordered(a, b);
                        out.push(Candidate {
                            a: Endpoint::Rule(a),
                            b: Endpoint::Rule(b),
                            relations: relations(a, b),
                        });
                    }
                }
            }
        }
        out
    }

    fn indexed(framework: &Framework, rules: &[RuleId]) -> Vec<Candidate> {
        let module = framework.roots[0];
        let pairs = Candidates(Arc::new(Source::Rules(Box::new(RulePairs::new(
            framework,
            module,
            rules.iter().copied(),
        )))));
        (0..pairs.len()).map(|k| pairs.get(k)).collect()
    }

    #[test]
    fn indexing_matches_listing_on_random_frameworks() {
        // How often the cases that make counting hard came up.
        let (mut repeated_pairs, mut mirrored, mut declared_and_through_values) = (0, 0, 0);
        for seed in 0..200 {
            let (values, rules) = (2 + seed as usize % 7, 1 + seed as usize % 23);
            let (framework, all) = random_framework(seed, values, rules);
            // Every rule, and every other rule.
            let half: Vec<RuleId> = all.iter().copied().step_by(2).collect();
            for subset in [&all, &half] {
                let expected = listed(&framework, subset);
                assert_eq!(
                    indexed(&framework, subset),
                    expected,
                    "seed {seed}, {} rules",
                    subset.len()
                );
                let mut seen = HashSet::new();
                for c in &expected {
                    if !seen.insert(ordered(c.a, c.b)) {
                        repeated_pairs += 1;
                    }
                }
                let declared = |c: &Candidate| {
                    c.relations
                        .iter()
                        .any(|r| matches!(framework.relations[r.index()].left, Endpoint::Rule(_)))
                };
                declared_and_through_values += expected
                    .iter()
                    .filter(|c| declared(c) && c.relations.len() > 1)
                    .count();
            }
            // Two rules upholding both sides of one conflict.
            for r in framework.relations.iter() {
                let (Endpoint::Value(x), Endpoint::Value(y)) = (r.left, r.right) else {
                    continue;
                };
                let both = framework
                    .rules
                    .iter()
                    .filter(|rule| rule.upholds.contains(&x) && rule.upholds.contains(&y))
                    .count();
                mirrored += usize::from(both >= 2);
            }
        }
        assert!(repeated_pairs > 50, "{repeated_pairs}");
        assert!(mirrored > 20, "{mirrored}");
        assert!(
            declared_and_through_values > 5,
            "{declared_and_through_values}"
        );
    }

    #[test]
    fn counts_are_exact_with_rules_upholding_both_sides_and_pairs_in_several_conflicts() {
        let text = r#"
            framework t "T"
            value x "X"
            value y "Y"
            value z "Z"
            conflict x <> y
            conflict y <> x
            conflict x <> z
            rule a "A" { upholds x, y }
            rule b "B" { upholds x, y, z }
            rule c "C" { upholds y }
            rule d "D" { upholds x, x }
            rule e "E" { upholds z }
            conflict a <> c
        "#;
        let loaded = crate::load_str("t.qd", text);
        let f = &loaded.framework;
        let all: Vec<RuleId> = (0..5).map(RuleId).collect();
        let pairs = RulePairs::new(f, f.roots[0], all.iter().copied());
        // Declared: a–c. x <> y (declared twice, one block): x = {a, b, d}, y = {a, b, c};
        // 9 cells less a–a, b–b and b–a again: 6. x <> z: x = {a, b, d}, z = {b, e}: 6 less
        // b–b: 5.
        assert_eq!(pairs.len(), 1 + 6 + 5);
        let got: Vec<(u32, u32)> = (0..pairs.len())
            .map(|k| {
                let (a, b) = pairs.pair(k);
                (a.0, b.0)
            })
            .collect();
        assert_eq!(
            got,
            [
                (0, 2), // a–c, declared
                // x <> y, rows a, b, d against a, b, c: a–a, b–b and b–a (met as a–b) left out.
                (0, 1),
                (0, 2),
                (1, 2),
                (0, 3),
                (1, 3),
                (2, 3),
                // x <> z, rows a, b, d against b, e: b–b left out.
                (0, 1),
                (0, 4),
                (1, 4),
                (1, 3),
                (3, 4),
            ]
        );
        assert_eq!(got, listed_pairs(f, &all));
        // a–c: declared (relation 3), and through x <> y, declared twice (0 and 1).
        assert_eq!(
            pairs.relations(RuleId(0), RuleId(2)),
            [RelationId(3), RelationId(0), RelationId(1)]
        );
        // a–b: through x <> y (0, 1) and x <> z (2).
        assert_eq!(
            pairs.relations(RuleId(0), RuleId(1)),
            [RelationId(0), RelationId(1), RelationId(2)]
        );
    }

    fn listed_pairs(f: &Framework, rules: &[RuleId]) -> Vec<(u32, u32)> {
        listed(f, rules)
            .into_iter()
            .map(|c| match (c.a, c.b) {
                (Endpoint::Rule(a), Endpoint::Rule(b)) => (a.0, b.0),
                _ => (u32::MAX, u32::MAX),
            })
            .collect()
    }

    #[test]
    fn candidate_k_is_a_pure_function_of_k() {
        let (framework, all) = random_framework(7, 6, 40);
        let pairs = RulePairs::new(&framework, framework.roots[0], all.iter().copied());
        assert!(pairs.len() > 50);
        let forward: Vec<_> = (0..pairs.len()).map(|k| pairs.pair(k)).collect();
        let backward: Vec<_> = (0..pairs.len()).rev().map(|k| pairs.pair(k)).collect();
        assert!(forward.iter().eq(backward.iter().rev()));
        let again = RulePairs::new(&framework, framework.roots[0], all.iter().copied());
        assert!((0..pairs.len()).all(|k| again.pair(k) == forward[k as usize]));
    }
}
