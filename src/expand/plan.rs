//! Planning a draw: which template and binding draw `k` takes (balanced, diverse or seeded),
//! whether it meets `require conflict`, and what its options uphold.

use super::*;

impl<'a> Expansion<'a> {
    /// Plans draw `k`, or `None` when `require conflict` drops it.
    pub(super) fn plan(&self, k: u64) -> Option<Plan> {
        let t_count = self.templates.len() as u64;
        // Binding number `rest` of the suite's templates taken one after the other.
        let locate = |mut rest: u128| {
            for (t, c) in self.templates.iter().enumerate() {
                if rest < c.space {
                    return (t, rest);
                }
                rest -= c.space;
            }
            (0, 0)
        };
        let (template, local, choices_from): (usize, u64, Option<u128>) =
            match (self.size, self.suite.balance) {
                (Size::Each(n), _) => {
                    let (t, b) = locate(u128::from(k / n));
                    (t, 0, Some(b))
                }
                // One permutation over every binding of every template: none repeats
                // before all have been used, however the templates differ in size.
                (Size::Count(_), Balance::Diverse) => {
                    let (t, b) = locate(self.diverse.at(u128::from(k) % self.space));
                    (t, 0, Some(b))
                }
                (Size::Count(_), _) => ((k % t_count) as usize, k / t_count, None),
            };
        let c = &self.templates[template];
        let (seed, mut rng) = rng::stream(self.seed, &c.key, k);
        let mut choices = match choices_from {
            Some(number) => decode(&c.dims, number),
            None => c
                .dims
                .iter()
                .enumerate()
                .map(|(d, dim)| match (self.suite.balance, dim) {
                    (Balance::Pairs, Dim::Pick(cands)) => {
                        let pick = c.pair_orders[d].at(local % cands.len());
                        2 * pick + rng::below(&mut rng, 2)
                    }
                    _ => rng::below(&mut rng, dim.size()),
                })
                .collect(),
        };
        // Questions and stances pose no values in conflict: the filter keeps them.
        let filtered = self.suite.require_conflict && matches!(c.body, Body::Scenario(_));
        if filtered && !self.conflicting(c, &choices) {
            // A drawn binding may be redrawn; an enumerated one is simply dropped.
            if matches!(self.size, Size::Each(_)) {
                return None;
            }
            let mut found = false;
            for _ in 0..64 {
                choices = c
                    .dims
                    .iter()
                    .map(|d| rng::below(&mut rng, d.size()))
                    .collect();
                if self.conflicting(c, &choices) {
                    found = true;
                    break;
                }
            }
            if !found {
                return None;
            }
        }
        Some(Plan {
            draw: k,
            template,
            seed,
            choices,
            rng,
        })
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

    /// The values each non-distractor action of a binding upholds (none for a question or
    /// stance).
    pub(super) fn upheld(&self, c: &Compiled, bound: &[Bound<'_>]) -> Vec<Vec<ValueId>> {
        let Body::Scenario(b) = &c.body else {
            return Vec::new();
        };
        b.actions
            .iter()
            .filter(|a| !a.distractor)
            .map(|a| {
                let (mut up, _) = self.action_values(b, a, bound);
                up.dedup();
                up
            })
            .collect()
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
        let upheld = self.upheld(c, &bound);
        let lineage = |v: ValueId| std::iter::once(v).chain(self.framework.ancestors(v));
        for (i, us) in upheld.iter().enumerate() {
            for ws in &upheld[i + 1..] {
                for &u in us {
                    for &w in ws {
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

    /// The variables' values for a binding (none for a question or stance).
    pub(super) fn bind(&self, c: &Compiled, choices: &[u64]) -> Vec<Bound<'a>> {
        let Body::Scenario(body) = &c.body else {
            return Vec::new();
        };
        let scenario = &self.framework.scenarios[body.scenario.index()];
        let mut out = Vec::with_capacity(body.variables.len());
        for (dim, &choice) in c.dims.iter().zip(choices) {
            match dim {
                Dim::Part(_) => {}
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
        let resolve = |terms: &[Term], c: &ScenarioBody| -> Vec<ValueId> {
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
        };
        let mut up = resolve(&a.upholds, c);
        let mut down = resolve(&a.violates, c);
        if let Some(Bound::Rule(r)) = a.follows.and_then(|i| bound.get(i)) {
            let rule = self.framework.rule(*r);
            up.extend(rule.upholds.iter().copied());
            down.extend(rule.violates.iter().copied());
        }
        (up, down)
    }
}
