//! Planning a draw: which template and binding draw `k` takes (balanced, diverse or seeded),
//! whether it meets `require conflict`, and what its options uphold.

use super::*;

impl<'a> Expansion<'a> {
    /// Plans draw `k`, or `None` when `require conflict` drops it.
    ///
    /// While the suite's bindings last, no two draws take the same binding. Past them, draw
    /// `k` repeats the draw it is a copy of (see [`Expansion::occurrence`]): the same
    /// binding, from the same stream, so the same scenario, with its occurrence number.
    pub(super) fn plan(&self, k: u64) -> Option<Plan> {
        let (first, occurrence) = self.occurrence(k);
        let (template, choices) = match (self.size, self.suite.balance) {
            (Size::Each(n), _) => {
                let (t, b) = self.locate(u128::from(k / n));
                (t, decode(&self.templates[t].dims, b))
            }
            // One permutation over every binding of every template, however the templates
            // differ in size.
            (Size::Count(_), Balance::Diverse) => {
                let (t, b) = self.locate(self.diverse.at(u128::from(first)));
                (t, decode(&self.templates[t].dims, b))
            }
            // The templates in turn, each walking a seeded permutation of its own bindings;
            // a template whose bindings are used up leaves the turn to the others.
            (Size::Count(_), balance) => {
                let (t, j) = self.rounds.locate(u128::from(first));
                let c = &self.templates[t];
                let choices = if balance == Balance::Pairs {
                    self.pairs_binding(c, t, j)
                } else {
                    decode(&c.dims, self.orders[t].at(j))
                };
                (t, choices)
            }
        };
        let c = &self.templates[template];
        // A rule pair that an earlier candidate already is: a repeat, dropped.
        let repeat = c.dims.iter().zip(&choices).any(|(d, &choice)| match d {
            Dim::Pick(cands) => cands.may_repeat() && cands.is_repeat(choice / 2),
            _ => false,
        });
        if repeat || self.repeat_set(c, &choices) {
            return None;
        }
        let (seed, rng) = rng::stream(self.seed, &c.key, first);
        // Questions and stances pose no values in conflict: the filter keeps them.
        let filtered = self.suite.require_conflict && matches!(c.body, Body::Scenario(_));
        if filtered && !self.conflicting(c, &choices) {
            return None;
        }
        Some(Plan {
            draw: k,
            occurrence,
            template,
            seed,
            choices,
            rng,
        })
    }

    /// The draw that draw `k` repeats (itself, the first time) and which occurrence of it `k`
    /// is, from 1: with `each n`, the n draws of a binding are one draw's occurrences; with
    /// `count`, draw `k` past the suite's M bindings repeats draw `k mod M`.
    pub(super) fn occurrence(&self, k: u64) -> (u64, u64) {
        match self.size {
            Size::Each(n) => (k - k % n, k % n + 1),
            Size::Count(_) => {
                let k = u128::from(k);
                ((k % self.space) as u64, (k / self.space) as u64 + 1)
            }
        }
    }

    /// Binding number `rest` of the suite's templates taken one after the other.
    fn locate(&self, mut rest: u128) -> (usize, u128) {
        for (t, c) in self.templates.iter().enumerate() {
            if rest < c.space {
                return (t, rest);
            }
            rest -= c.space;
        }
        (0, 0)
    }

    /// `balance pairs`: the `j`-th draw of template `c` (number `t`) takes, for its picks,
    /// the candidates numbered `j mod P` (in mixed radix over the picks' seeded orders of
    /// their P candidates together); the rest (orientations and slots) walks a permutation
    /// of its own for those candidates, so no binding repeats before all are used.
    fn pairs_binding(&self, c: &Compiled, t: usize, j: u128) -> Vec<u64> {
        let picks: u128 = c
            .dims
            .iter()
            .filter_map(|d| match d {
                Dim::Pick(cands) => Some(cands.len() as u128),
                _ => None,
            })
            .fold(1u128, |a, n| a.saturating_mul(n.max(1)));
        let (mut q, round) = (j % picks, j / picks);
        let rest_space = (c.space / picks).max(1);
        let key = self.pair_keys[t] ^ (q as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut rest = rng::Permutation::new(key, rest_space).at(round);
        c.dims
            .iter()
            .enumerate()
            .map(|(d, dim)| match dim {
                Dim::Pick(cands) => {
                    let n = u128::from(cands.len().max(1));
                    let digit = q % n;
                    q /= n;
                    let orientation = (rest % 2) as u64;
                    rest /= 2;
                    2 * c.pair_orders[d].at(digit as u64) + orientation
                }
                _ => {
                    let n = u128::from(dim.size().max(1));
                    let choice = (rest % n) as u64;
                    rest /= n;
                    choice
                }
            })
            .collect()
    }

    /// Whether `require conflict` can keep anything: `Some(true)` when some binding of the
    /// suite poses values (or rules) in conflict, or the suite asks questions or stances
    /// (which the filter keeps); `Some(false)` when every binding was tried and none does;
    /// `None` when none of `budget` bindings drawn from a larger template does.
    pub(crate) fn conflict_possible(&self, budget: u64) -> Option<bool> {
        let mut tried_all = true;
        for c in &self.templates {
            if !matches!(c.body, Body::Scenario(_)) {
                return Some(true);
            }
            if c.space <= u128::from(budget) {
                if (0..c.space).any(|number| self.conflicting(c, &decode(&c.dims, number))) {
                    return Some(true);
                }
            } else {
                tried_all = false;
                let mut rng = rng::fixed(self.seed, &c.key);
                for _ in 0..budget {
                    let choices: Vec<u64> = c
                        .dims
                        .iter()
                        .map(|d| rng::below(&mut rng, d.size()))
                        .collect();
                    if self.conflicting(c, &choices) {
                        return Some(true);
                    }
                }
            }
        }
        tried_all.then_some(false)
    }

    /// How many distinct scenarios the suite's bindings make, and whether the count is
    /// exact: a `show k diverse` template's repeat sets (two starts that end in one set) are
    /// left out when it has at most `budget` bindings, else counted (an upper bound).
    pub(crate) fn distinct_bindings(&self, budget: u64) -> (u128, bool) {
        let (mut total, mut exact) = (0u128, true);
        for c in &self.templates {
            let diverse = matches!(&c.body, Body::Scenario(b)
                if b.show.as_ref().is_some_and(|s| s.diverse));
            if !diverse {
                total = total.saturating_add(c.space);
            } else if c.space > u128::from(budget) {
                total = total.saturating_add(c.space);
                exact = false;
            } else {
                total += (0..c.space)
                    .filter(|&number| !self.repeat_set(c, &decode(&c.dims, number)))
                    .count() as u128;
            }
        }
        (total, exact)
    }

    /// How many bindings of the suite `require conflict` keeps (questions and stances
    /// count whole), when every template has at most `budget` bindings; `None` otherwise.
    pub(crate) fn conflicting_bindings(&self, budget: u64) -> Option<u128> {
        let mut total = 0u128;
        for c in &self.templates {
            if !matches!(c.body, Body::Scenario(_)) {
                total += c.space;
                continue;
            }
            if c.space > u128::from(budget) {
                return None;
            }
            total += (0..c.space)
                .filter(|&number| self.conflicting(c, &decode(&c.dims, number)))
                .count() as u128;
        }
        Some(total)
    }

    /// The values each non-distractor action a binding shows upholds (none for a question
    /// or stance).
    pub(super) fn upheld(
        &self,
        c: &Compiled,
        choices: &[u64],
        bound: &[Bound<'_>],
    ) -> Vec<Vec<ValueId>> {
        let Body::Scenario(b) = &c.body else {
            return Vec::new();
        };
        let shown = self.shown(c, choices, bound);
        b.actions
            .iter()
            .enumerate()
            .filter(|(i, a)| !a.distractor && shown.as_ref().is_none_or(|s| s.contains(i)))
            .map(|(_, a)| self.pool_values(b, a, bound))
            .collect()
    }

    /// The values an action upholds under a binding, sorted, each once: its vector in the
    /// space of values, for `show k diverse`.
    pub(super) fn pool_values(
        &self,
        b: &ScenarioBody,
        a: &CompiledAction,
        bound: &[Bound<'_>],
    ) -> Vec<ValueId> {
        let (mut up, _) = self.action_values(b, a, bound);
        up.sort_unstable();
        up.dedup();
        up
    }

    /// An action's vector under a binding, for `show k diverse`: every value it touches,
    /// sorted, with its valence — 1 upheld, −1 violated, 0 `either` (it could serve it or go
    /// against it; a value both upheld and violated counts as `either` too).
    pub(super) fn pool_vector(
        &self,
        b: &ScenarioBody,
        a: &CompiledAction,
        bound: &[Bound<'_>],
    ) -> Vector {
        let (up, down) = self.action_values(b, a, bound);
        let either = resolve_terms(&a.either, b, bound);
        let mut out: Vector = up
            .iter()
            .map(|&v| (v, 1))
            .chain(down.iter().map(|&v| (v, -1)))
            .chain(either.iter().map(|&v| (v, 0)))
            .collect();
        out.sort_unstable();
        // A value with two valences counts as `either`.
        out.dedup_by(|next, kept| {
            if next.0 == kept.0 {
                if next.1 != kept.1 {
                    kept.1 = 0;
                }
                true
            } else {
                false
            }
        });
        out
    }

    /// For a scenario with `show k`, the actions (indices) a binding shows, in definition
    /// order; `None` when it shows them all.
    ///
    /// `random`: the binding's last choice numbers a k-subset of the pool (in lexicographic
    /// order). `diverse`: it names the option the set starts from (in a seeded order of the
    /// pool); then, k − 1 times, the option farthest from those chosen joins: the largest
    /// smallest distance to them (the number of values one upholds and the other does not),
    /// then the most values not yet upheld, then the largest total distance, then the first
    /// in the seeded order.
    pub(super) fn shown(
        &self,
        c: &Compiled,
        choices: &[u64],
        bound: &[Bound<'_>],
    ) -> Option<Vec<usize>> {
        let Body::Scenario(b) = &c.body else {
            return None;
        };
        let show = b.show.as_ref()?;
        let choice = choices.last().copied().unwrap_or(0);
        let n = show.pool.len();
        let mut picked: Vec<usize> = if show.diverse {
            let vectors = self.pool_vectors(b, show, bound);
            greedy(show, &vectors, choice as usize)
        } else {
            unrank(n as u64, show.count as u64, u128::from(choice))
        };
        picked.sort_unstable();
        Some(picked.into_iter().map(|p| show.pool[p]).collect())
    }

    /// The vectors of a pool's options under a binding (see [`Self::pool_vector`]).
    pub(super) fn pool_vectors(
        &self,
        b: &ScenarioBody,
        show: &ShowPool,
        bound: &[Bound<'_>],
    ) -> Vec<Vector> {
        show.pool
            .iter()
            .map(|&i| self.pool_vector(b, &b.actions[i], bound))
            .collect()
    }

    /// Whether a `show k diverse` binding is a **repeat set**: an option earlier in the
    /// pool's seeded order, and in the set, starts the same set. Only the first start of a
    /// set is posed; the others are dropped (like a repeat rule pair), so no two bindings
    /// make the same scenario. Only the set's own options can start it, so at most k − 1
    /// other starts are tried.
    pub(super) fn repeat_set(&self, c: &Compiled, choices: &[u64]) -> bool {
        let Body::Scenario(b) = &c.body else {
            return false;
        };
        let Some(show) = b.show.as_ref().filter(|s| s.diverse) else {
            return false;
        };
        let start = choices.last().copied().unwrap_or(0) as usize;
        let bound = self.bind(c, choices);
        let vectors = self.pool_vectors(b, show, &bound);
        let set = greedy(show, &vectors, start);
        show.order
            .iter()
            .take(start)
            .enumerate()
            .any(|(j, p)| set.contains(p) && greedy(show, &vectors, j) == set)
    }

    /// Whether two actions of a binding uphold values in a declared conflict (directly or
    /// through the values above them).
    pub(super) fn conflicting(&self, c: &Compiled, choices: &[u64]) -> bool {
        let Body::Scenario(body) = &c.body else {
            return false;
        };
        let bound = self.bind(c, choices);
        // Two options following rules declared in conflict.
        let followed: Vec<RuleId> = body
            .actions
            .iter()
            .filter(|a| !a.distractor)
            .filter_map(|a| match a.follows.and_then(|f| bound.get(f)) {
                Some(Bound::Rule(r)) => Some(*r),
                _ => None,
            })
            .collect();
        for (i, a) in followed.iter().enumerate() {
            if followed[i + 1..]
                .iter()
                .any(|b| self.rule_conflicts.contains(&(*a, *b)))
            {
                return true;
            }
        }
        // Values upheld by two options in a declared conflict, unless the other option has
        // one of them as `either` (it could serve it too: no conflict on it).
        let sides = self.sides(c, choices, &bound);
        let lineage = |v: ValueId| std::iter::once(v).chain(self.framework.ancestors(v));
        for (i, (us, ue)) in sides.iter().enumerate() {
            for (ws, we) in &sides[i + 1..] {
                for &u in us.iter().filter(|u| we.binary_search(u).is_err()) {
                    for &w in ws.iter().filter(|w| ue.binary_search(w).is_err()) {
                        if lineage(u).any(|x| lineage(w).any(|y| self.conflicts.contains(&(x, y))))
                        {
                            return true;
                        }
                    }
                }
            }
        }
        false
    }

    /// The values each non-distractor action a binding shows upholds, and those it has as
    /// `either` (sorted, each once).
    fn sides(
        &self,
        c: &Compiled,
        choices: &[u64],
        bound: &[Bound<'_>],
    ) -> Vec<(Vec<ValueId>, Vec<ValueId>)> {
        let Body::Scenario(b) = &c.body else {
            return Vec::new();
        };
        let shown = self.shown(c, choices, bound);
        b.actions
            .iter()
            .enumerate()
            .filter(|(i, a)| !a.distractor && shown.as_ref().is_none_or(|s| s.contains(i)))
            .map(|(_, a)| {
                let (up, _) = self.action_values(b, a, bound);
                let mut either = resolve_terms(&a.either, b, bound);
                either.sort_unstable();
                either.dedup();
                (up, either)
            })
            .collect()
    }

    /// The variables' values for a binding (none for a question or stance).
    pub(super) fn bind(&self, c: &Compiled, choices: &[u64]) -> Vec<Bound<'a>> {
        let Body::Scenario(body) = &c.body else {
            return Vec::new();
        };
        let scenario = &self.framework.scenarios[body.scenario.index()];
        let mut out = Vec::with_capacity(body.variables.len());
        for (dim, &choice) in c.dims.iter().zip(choices) {
            match dim {
                Dim::Part(_) | Dim::Show(_) => {}
                Dim::Slot(s, _) => out.push(match &scenario.slots[*s].domain {
                    SlotDomain::Strings(items) => Bound::Text(&items[choice as usize]),
                    SlotDomain::Values(values) => Bound::Value(values[choice as usize]),
                }),
                Dim::Pick(cands) => {
                    let (a, b) = cands.sides(choice / 2);
                    let (first, second) = if choice % 2 == 0 { (a, b) } else { (b, a) };
                    for e in [first, second] {
                        out.push(match e {
                            Endpoint::Value(v) => Bound::Value(v),
                            Endpoint::Rule(r) => Bound::Rule(r),
                        });
                    }
                }
            }
        }
        out
    }

    /// The values an action upholds and violates under a binding.
    pub(super) fn action_values(
        &self,
        c: &ScenarioBody,
        a: &CompiledAction,
        bound: &[Bound<'_>],
    ) -> (Vec<ValueId>, Vec<ValueId>) {
        let mut up = resolve_terms(&a.upholds, c, bound);
        let mut down = resolve_terms(&a.violates, c, bound);
        if let Some(Bound::Rule(r)) = a.follows.and_then(|i| bound.get(i)) {
            let rule = self.framework.rule(*r);
            up.extend(rule.upholds.iter().copied());
            down.extend(rule.violates.iter().copied());
        }
        (up, down)
    }
}

/// The values `terms` name under a binding (a variable bound to a value stands for it).
fn resolve_terms(terms: &[Term], c: &ScenarioBody, bound: &[Bound<'_>]) -> Vec<ValueId> {
    terms
        .iter()
        .filter_map(|t| match t {
            Term::Value(v) => Some(*v),
            Term::Variable(name) => {
                let i = c.variables.iter().position(|v| v == name)?;
                match bound.get(i)? {
                    Bound::Value(v) => Some(*v),
                    _ => None,
                }
            }
        })
        .collect()
}

/// An option's vector over the values: each value it touches, sorted, with its valence (1
/// upheld, −1 violated, 0 `either`); a value it does not touch is absent.
pub(super) type Vector = Vec<(ValueId, i8)>;

/// The distance between two vectors: per value, 0 when both stand alike, 1 when only one
/// touches it or one has it as `either`, 2 when one upholds what the other violates. Over
/// upheld values only, it is the number of values one upholds and the other does not.
pub(super) fn vector_distance(a: &[(ValueId, i8)], b: &[(ValueId, i8)]) -> usize {
    let (mut i, mut j, mut d) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            std::cmp::Ordering::Less => {
                d += 1;
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                d += 1;
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                d += usize::from(a[i].1.abs_diff(b[j].1));
                i += 1;
                j += 1;
            }
        }
    }
    d + (a.len() - i) + (b.len() - j)
}

/// The upheld values of a vector, in order.
pub(super) fn upheld_of(v: &[(ValueId, i8)]) -> impl Iterator<Item = ValueId> + '_ {
    v.iter().filter(|x| x.1 == 1).map(|x| x.0)
}

/// The `rank`-th k-subset of `0..n` in lexicographic order, as positions.
pub(super) fn unrank(n: u64, k: u64, mut rank: u128) -> Vec<usize> {
    let mut out = Vec::with_capacity(k as usize);
    let mut left = k;
    for i in 0..n {
        if left == 0 {
            break;
        }
        // Subsets that take `i` next, then left − 1 of the n − i − 1 after it.
        let with = choose(n - i - 1, left - 1);
        if rank < with {
            out.push(i as usize);
            left -= 1;
        } else {
            rank -= with;
        }
    }
    out
}

/// The diverse set of `show` that starts from the option at place `start` of its seeded
/// order: positions in the pool, sorted. Then, k − 1 times, the option farthest from those
/// chosen joins (largest smallest distance, then most values not yet upheld, then largest
/// total distance, then the first in the seeded order).
fn greedy(show: &ShowPool, vectors: &[Vector], start: usize) -> Vec<usize> {
    let n = show.pool.len();
    let first = show.order.get(start).copied().unwrap_or(0);
    let mut chosen = vec![first];
    let mut covered: Vec<ValueId> = vectors
        .get(first)
        .map(|v| upheld_of(v).collect())
        .unwrap_or_default();
    while chosen.len() < show.count.min(n) {
        let mut best: Option<((usize, usize, usize), usize)> = None;
        for &p in &show.order {
            if chosen.contains(&p) {
                continue;
            }
            let distances = chosen
                .iter()
                .map(|&q| vector_distance(&vectors[p], &vectors[q]));
            let nearest = distances.clone().min().unwrap_or(0);
            let total = distances.sum();
            let new = upheld_of(&vectors[p])
                .filter(|v| covered.binary_search(v).is_err())
                .count();
            let key = (nearest, new, total);
            if best.is_none_or(|(b, _)| key > b) {
                best = Some((key, p));
            }
        }
        let Some((_, p)) = best else { break };
        chosen.push(p);
        covered.extend(upheld_of(&vectors[p]));
        covered.sort_unstable();
        covered.dedup();
    }
    chosen.sort_unstable();
    chosen
}
