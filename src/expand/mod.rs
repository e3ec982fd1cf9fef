//! Expansion: a suite and its scenario templates become a deterministic stream of dilemmas,
//! written as JSON Lines.
//!
//! Each scenario is made in two steps. *Planning* (cheap, sequential) decides which template
//! and which binding draw number `k` gets, from the scenario's own ChaCha stream seeded by
//! (suite seed, template, `k`). *Rendering* (the costly part: templates, JSON) runs on
//! several threads over batches of plans; the results are written in plan order. So the
//! output is byte-identical whatever the thread count, and a shard `k/n` holds exactly the
//! scenarios whose index is `k-1` modulo `n`.

pub mod compile;
mod survey;

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::sync::{Arc, mpsc};

use minijinja::Environment;
use minijinja::value::{Object, Value as Jinja};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use xxhash_rust::xxh3::xxh3_128;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::rng;
use crate::source::SourceMap;
use crate::template::{self, CompiledTemplate};
use compile::{Candidate, Candidates};

/// The most scenarios a suite may ask for unless the caller raises it.
pub const DEFAULT_MAX: u64 = 100_000_000;

/// Plans rendered together; bounds the memory of a run.
const BATCH: usize = 4096;

/// Which part of the output a run writes: shard `index` (1-based) of `of`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, from 1.
    pub index: u64,
    /// How many shards.
    pub of: u64,
}

/// Settings of a run that override or bound the suite's own.
#[derive(Clone, Debug)]
pub struct Options {
    /// Replace the suite's seed.
    pub seed: Option<u64>,
    /// Replace the suite's size with `count N`.
    pub count: Option<u64>,
    /// Refuse suites planning more scenarios than this.
    pub max: u64,
    /// Rendering threads (at least 1).
    pub threads: usize,
    /// Write only one shard.
    pub shard: Option<Shard>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: None,
            count: None,
            max: DEFAULT_MAX,
            threads: 1,
            shard: None,
        }
    }
}

/// What a run did.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Plans considered (draws).
    pub planned: u64,
    /// Scenarios in the suite (all shards).
    pub scenarios: u64,
    /// Scenarios written by this run (its shard).
    pub written: u64,
    /// Draws dropped by `require conflict`.
    pub filtered: u64,
    /// Scenarios dropped by `dedupe`.
    pub duplicates: u64,
}

/// A suite compiled and ready to expand.
pub struct Expansion<'a> {
    framework: &'a Framework,
    sources: &'a SourceMap,
    suite: &'a Suite,
    seed: u64,
    size: Size,
    env: Environment<'static>,
    templates: Vec<Compiled>,
    /// Plans in all: `count`, or `each` × the sum of the binding spaces.
    total: u64,
    /// Distinct bindings of all templates together.
    space: u128,
    /// For `balance diverse`: a seeded permutation of all those bindings.
    diverse: rng::Affine,
    /// Canonical names (`framework.id`) of every value and rule.
    value_names: Vec<String>,
    rule_names: Vec<String>,
    /// Declared value conflicts, both orders, for `require conflict`.
    conflicts: HashSet<(ValueId, ValueId)>,
    /// Declared conflicts between rules, both orders.
    rule_conflicts: HashSet<(RuleId, RuleId)>,
    /// JSON fragments written into every scenario, escaped once: value and rule names,
    /// rule texts, `file:line` of relations and rules, the suite id.
    json: Fragments,
}

/// Pre-escaped JSON string literals.
struct Fragments {
    values: Vec<String>,
    rules: Vec<String>,
    rule_texts: Vec<String>,
    relation_locations: Vec<String>,
    rule_locations: Vec<String>,
    suite: String,
}

/// A string as a JSON literal, quotes included.
fn json_str(s: &str) -> String {
    // Serialising a string cannot fail.
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// One item of a suite compiled for it: a scenario template, a question or a stance.
struct Compiled {
    /// What it is.
    item: SuiteItem,
    /// The key its streams are seeded with: `framework.id`.
    key: String,
    dims: Vec<Dim>,
    /// Distinct bindings (the product of the dimensions).
    space: u128,
    /// For `balance pairs`: per dimension, a seeded order of its choices.
    pair_orders: Vec<Vec<u32>>,
    /// The item's `file:line` as a JSON literal.
    json_location: String,
    body: Body,
}

/// What an item's lines are made of.
enum Body {
    /// A scenario: templates rendered per binding.
    Scenario(Box<ScenarioBody>),
    /// A question or a stance: fixed parts, assembled from fragments.
    Survey(survey::Survey),
}

/// A scenario template's compiled parts.
struct ScenarioBody {
    scenario: ScenarioId,
    /// Variables: slot names, then pick names.
    variables: Arc<[String]>,
    text: Piece,
    variants: Vec<(String, Piece)>,
    actions: Vec<CompiledAction>,
    /// Texts and labels are literal: nothing is rendered.
    verbatim: bool,
    /// `{"kind":"scenario","template":…,"topic":…,"bindings":{`
    json_prefix: String,
    /// `"name":` for each variable.
    json_keys: Vec<String>,
    /// For each slot over strings, its choices as JSON literals.
    json_slot_strings: Vec<Vec<String>>,
    /// `"lang":` for each variant.
    json_variant_keys: Vec<String>,
}

/// A text of a scenario: a template, or, in a verbatim scenario, the text itself.
enum Piece {
    Template(CompiledTemplate),
    Literal(String),
}

/// One axis of a template's binding space.
enum Dim {
    /// A slot with this many choices.
    Slot(usize, u64),
    /// A pick: each candidate in either orientation.
    Pick(Candidates),
    /// The parts of a question or stance: the lines it is asked in.
    Part(u64),
}

impl Dim {
    fn size(&self) -> u64 {
        match self {
            Dim::Slot(_, n) | Dim::Part(n) => *n,
            Dim::Pick(c) => 2 * c.len() as u64,
        }
    }
}

struct CompiledAction {
    id: String,
    /// `{"id":…,"label":` — the label follows.
    json_head: String,
    /// The label when it does not depend on the binding (no template syntax, or no label
    /// and no rule to follow), as a JSON literal.
    json_label: Option<String>,
    /// `,"affects":[…],"distractor":…}`
    json_tail: String,
    label: Option<CompiledTemplate>,
    upholds: Vec<Term>,
    upholds_indirect: Vec<bool>,
    violates: Vec<Term>,
    violates_indirect: Vec<bool>,
    /// The variable (index) of the rule the action follows.
    follows: Option<usize>,
    distractor: bool,
}

/// What a draw decided, before rendering.
struct Plan {
    draw: u64,
    template: usize,
    seed: u64,
    choices: Vec<u64>,
    rng: ChaCha8Rng,
}

/// What one scenario line is made of, besides its plan and the order of its options.
#[derive(Clone, Copy)]
struct ScenarioLine<'b, 'r> {
    bound: &'b [Bound<'r>],
    text: &'b str,
    variants: &'b [std::borrow::Cow<'b, str>],
    labels: &'b [Option<String>],
}

/// A variable's value in one binding.
#[derive(Clone, Copy, Debug)]
enum Bound<'a> {
    Text(&'a str),
    Value(ValueId),
    Rule(RuleId),
}

impl<'a> Expansion<'a> {
    /// Compiles suite `suite` of `framework`. Fails with diagnostics when a template does
    /// not compile or the suite is larger than `options.max`.
    pub fn new(
        framework: &'a Framework,
        sources: &'a SourceMap,
        suite: SuiteId,
        options: &Options,
    ) -> Result<Self, Vec<Diagnostic>> {
        let suite = &framework.suites[suite.index()];
        let seed = options.seed.unwrap_or(suite.seed);
        let size = options.count.map_or(suite.size, Size::Count);
        let mut env = template::environment();
        let mut diagnostics = Vec::new();
        let mut templates = Vec::new();
        let personas = survey::Personas::new(framework, &mut env, suite)?;
        for (t, &item) in suite.items.iter().enumerate() {
            let compiled = match item {
                SuiteItem::Scenario(sid) => {
                    compile_scenario(framework, sources, &mut env, sid, t, seed)
                }
                SuiteItem::Question(q) => Ok(survey::question(framework, sources, q, &personas)),
                SuiteItem::Stance(st) => Ok(survey::stance(framework, sources, st)),
            };
            match compiled {
                Ok(c) => templates.push(c),
                Err(mut d) => diagnostics.append(&mut d),
            }
        }
        if !diagnostics.is_empty() {
            return Err(diagnostics);
        }
        if templates.is_empty() {
            return Err(vec![
                Diagnostic::new(
                    Code::InvalidSetting,
                    format!("suite `{}` has no scenarios", suite.id),
                )
                .label(suite.span, "nothing to expand")
                .help(
                    "declare a `scenario`, `question` or `stance` in its file, or list some \
                     with `from`",
                ),
            ]);
        }
        let spaces: u128 = templates.iter().map(|t| t.space).sum();
        let total: u128 = match size {
            Size::Count(n) => u128::from(n),
            Size::Each(n) => spaces.saturating_mul(u128::from(n)),
        };
        if let Some(SuiteItem::Scenario(empty)) =
            templates.iter().find(|t| t.space == 0).map(|t| t.item)
        {
            // A pick or slot with no choice; `check` explains which.
            let t = empty.index();
            return Err(vec![
                Diagnostic::new(
                    Code::NoCandidates,
                    format!(
                        "scenario `{}` has nothing to bind",
                        framework.scenarios[t].id
                    ),
                )
                .label(framework.scenarios[t].span, "no binding")
                .help("run `quandary check` for the slot or pick without choices"),
            ]);
        }
        let planned = total.saturating_mul(if suite.twins { 2 } else { 1 });
        if planned > u128::from(options.max) {
            return Err(vec![too_large(suite, planned, options.max)]);
        }
        let visible = compile::scope(framework, suite.module);
        let mut conflicts = HashSet::new();
        let mut rule_conflicts = HashSet::new();
        for r in &framework.relations {
            if r.kind == crate::syntax::ast::RelationKind::Conflict
                && visible.get(r.module.index()).copied().unwrap_or(false)
            {
                match (r.left, r.right) {
                    (Endpoint::Value(a), Endpoint::Value(b)) => {
                        conflicts.insert((a, b));
                        conflicts.insert((b, a));
                    }
                    (Endpoint::Rule(a), Endpoint::Rule(b)) => {
                        rule_conflicts.insert((a, b));
                        rule_conflicts.insert((b, a));
                    }
                    _ => {}
                }
            }
        }
        let json = Fragments {
            values: (0..framework.values.len())
                .map(|i| json_str(&framework.qualified_value(ValueId(i as u32))))
                .collect(),
            rules: (0..framework.rules.len())
                .map(|i| json_str(&framework.qualified_rule(RuleId(i as u32))))
                .collect(),
            rule_texts: framework.rules.iter().map(|r| json_str(&r.text)).collect(),
            relation_locations: framework
                .relations
                .iter()
                .map(|r| json_str(&sources.location(r.span)))
                .collect(),
            rule_locations: framework
                .rules
                .iter()
                .map(|r| json_str(&sources.location(r.span)))
                .collect(),
            suite: json_str(&suite.id),
        };
        Ok(Expansion {
            rule_conflicts,
            space: spaces.max(1),
            diverse: rng::Affine::new(&mut rng::fixed(seed, "diverse"), spaces.max(1)),
            json,
            framework,
            sources,
            suite,
            seed,
            size,
            env,
            templates,
            total: total as u64,
            value_names: (0..framework.values.len())
                .map(|i| framework.qualified_value(ValueId(i as u32)))
                .collect(),
            rule_names: (0..framework.rules.len())
                .map(|i| framework.qualified_rule(RuleId(i as u32)))
                .collect(),
            conflicts,
        })
    }

    /// How many draws the run plans (before filters and twins).
    pub fn planned(&self) -> u64 {
        self.total
    }

    /// The header line: version, suite, seed, and a hash of every source file.
    pub fn header(&self, shard: Option<Shard>) -> serde_json::Value {
        let mut hasher = Vec::new();
        let mut files = Vec::new();
        for (_, file) in self.sources.iter() {
            hasher.extend_from_slice(&(file.text().len() as u64).to_le_bytes());
            hasher.extend_from_slice(file.text().as_bytes());
            files.push(file.name().to_string());
        }
        let (size, n) = match self.size {
            Size::Count(n) => ("count", n),
            Size::Each(n) => ("each", n),
        };
        let mut header = serde_json::json!({
            "quandary": env!("CARGO_PKG_VERSION"),
            "format": "suite",
            "suite": self.suite.id,
            "label": self.suite.label,
            "seed": self.seed,
            "source_hash": format!("xxh3-128:{:032x}", xxh3_128(&hasher)),
            "files": files,
            "templates": self.templates.iter().map(|t| item_id(self.framework, t.item)).collect::<Vec<_>>(),
            size: n,
            "balance": match self.suite.balance { Balance::Random => "random", Balance::Pairs => "pairs", Balance::Diverse => "diverse" },
            "twins": self.suite.twins,
            "require_conflict": self.suite.require_conflict,
            "dedupe": self.suite.dedupe,
            "order": match self.suite.order { Order::Fixed => "fixed", Order::Shuffled => "shuffled" },
            "distractors": self.suite.distractors,
            "persona": self.suite.persona.as_ref().map(|p| template::dedent(&p.source).0),
            "pass": survey::pass_json(self.suite),
        });
        if let (Some(s), Some(map)) = (shard, header.as_object_mut()) {
            map.insert("shard".into(), format!("{}/{}", s.index, s.of).into());
        }
        header
    }

    /// Plans draw `k`, or `None` when `require conflict` drops it.
    fn plan(&self, k: u64) -> Option<Plan> {
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
                        let order = &c.pair_orders[d];
                        let pick = u64::from(order[(local % cands.len() as u64) as usize]);
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
    fn upheld(&self, c: &Compiled, bound: &[Bound<'_>]) -> Vec<Vec<ValueId>> {
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
    fn conflicting(&self, c: &Compiled, choices: &[u64]) -> bool {
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
    fn bind(&self, c: &Compiled, choices: &[u64]) -> Vec<Bound<'a>> {
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
                    let cand = &cands[(choice / 2) as usize];
                    let (first, second) = if choice % 2 == 0 {
                        (cand.a, cand.b)
                    } else {
                        (cand.b, cand.a)
                    };
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
    fn action_values(
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

    /// Renders one plan: the scenario (or question or stance line), and its twin when the
    /// suite asks for twins.
    fn render(
        &self,
        plan: &mut Plan,
        local: &mut Local,
        lines: Option<(u64, Option<Shard>)>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> Result<(), Diagnostic> {
        let c = &self.templates[plan.template];
        let body = match &c.body {
            Body::Scenario(body) => body,
            Body::Survey(survey) => {
                self.render_survey(plan, c, survey, lines, out, spans);
                return Ok(());
            }
        };
        let scenario = &self.framework.scenarios[body.scenario.index()];
        let bound = self.bind(c, &plan.choices);
        // A verbatim scenario renders nothing, so it needs no template context.
        let context = if body.verbatim {
            None
        } else {
            let values: Vec<Jinja> = bound
                .iter()
                .map(|b| match *b {
                    Bound::Text(s) => Jinja::from(s),
                    Bound::Value(v) => local
                        .values
                        .entry(v)
                        .or_insert_with(|| self.value_view(v))
                        .clone(),
                    Bound::Rule(r) => local
                        .rules
                        .entry(r)
                        .or_insert_with(|| self.rule_view(r))
                        .clone(),
                })
                .collect();
            let names = local.variables.entry(plan.template).or_insert_with(|| {
                // A copy per thread: sharing one would make every scenario touch the same
                // reference count from both threads.
                body.variables.iter().cloned().collect::<Vec<_>>().into()
            });
            Some(Jinja::from_object(Context {
                names: Arc::clone(names),
                values,
            }))
        };
        let text = self.piece(&body.text, context.as_ref(), plan, scenario)?;
        let mut variants = Vec::with_capacity(body.variants.len());
        for (_, t) in &body.variants {
            variants.push(self.piece(t, context.as_ref(), plan, scenario)?);
        }
        // Options: every non-distractor action; distractors as often as the suite says.
        let include_distractors = rng::unit(&mut plan.rng) < self.suite.distractors;
        let mut options: Vec<usize> = (0..body.actions.len())
            .filter(|&i| include_distractors || !body.actions[i].distractor)
            .collect();
        if self.suite.order == Order::Shuffled {
            rng::shuffle(&mut plan.rng, &mut options);
        }
        let mut labels: Vec<Option<String>> = Vec::with_capacity(body.actions.len());
        for a in &body.actions {
            labels.push(match (&a.json_label, &a.label, &context) {
                (None, Some(t), Some(context)) => {
                    Some(self.run_template(t, context, plan, scenario)?)
                }
                _ => None,
            });
        }
        let scenario_line = ScenarioLine {
            bound: &bound,
            text: &text,
            variants: &variants,
            labels: &labels,
        };
        let base = self.write_scenario(plan, c, body, &scenario_line, &options, None, out, spans);
        if let Some((index, shard)) = lines {
            finish_line(out, spans, index, shard);
        }
        if self.suite.twins {
            options.reverse();
            self.write_scenario(
                plan,
                c,
                body,
                &scenario_line,
                &options,
                Some(base),
                out,
                spans,
            );
            if let Some((index, shard)) = lines {
                finish_line(out, spans, index + 1, shard);
            }
        }
        Ok(())
    }

    /// Writes the line of a question or stance part, and its twin when the suite asks for
    /// twins. Nothing is rendered: the lines are assembled from fragments made once.
    fn render_survey(
        &self,
        plan: &mut Plan,
        c: &Compiled,
        survey: &survey::Survey,
        lines: Option<(u64, Option<Shard>)>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) {
        let part = survey.part(plan.choices.first().copied().unwrap_or(0));
        // The draw of the distractors is made, though a question has none, so the stream
        // of every draw is used in the same order.
        let _ = rng::unit(&mut plan.rng);
        let mut options: Vec<usize> = (0..survey.options(part).len()).collect();
        if self.suite.order == Order::Shuffled {
            rng::shuffle(&mut plan.rng, &mut options);
        }
        let base = self.write_survey(plan, c, survey, part, &options, None, out, spans);
        if let Some((index, shard)) = lines {
            finish_line(out, spans, index, shard);
        }
        if self.suite.twins {
            options.reverse();
            self.write_survey(plan, c, survey, part, &options, Some(base), out, spans);
            if let Some((index, shard)) = lines {
                finish_line(out, spans, index + 1, shard);
            }
        }
    }

    /// Writes one question or stance line, like [`Expansion::write_scenario`].
    #[allow(clippy::too_many_arguments)]
    fn write_survey(
        &self,
        plan: &Plan,
        c: &Compiled,
        survey: &survey::Survey,
        part: &survey::Part,
        options: &[usize],
        twin_of: Option<u128>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> u128 {
        let start = out.len();
        out.extend_from_slice(part.head.as_bytes());
        let actions = survey.options(part);
        for (n, &i) in options.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(actions[i].as_bytes());
        }
        out.extend_from_slice(b"]}");
        let id = xxh3_128(&out[start..]);
        out.pop();
        out.extend_from_slice(part.tail.as_bytes());
        self.write_trailer(plan, c, id, twin_of, out);
        out.extend_from_slice(b",\"relations\":[],\"rules\":[]}}\n");
        spans.push(Rendered {
            id,
            start,
            end: out.len(),
        });
        id
    }

    /// Writes the fields every line ends with, from `seed` to the provenance's `template`.
    fn write_trailer(
        &self,
        plan: &Plan,
        c: &Compiled,
        id: u128,
        twin_of: Option<u128>,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b",\"seed\":\"");
        push_hex(out, u128::from(plan.seed), 16);
        out.extend_from_slice(b"\",\"draw\":");
        push_u64(out, plan.draw);
        out.extend_from_slice(b",\"suite\":");
        out.extend_from_slice(self.json.suite.as_bytes());
        out.extend_from_slice(b",\"twin_group\":");
        match twin_of.or(self.suite.twins.then_some(id)) {
            Some(group) => {
                out.extend_from_slice(b"\"s");
                push_hex(out, group, 32);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"provenance\":{\"template\":");
        out.extend_from_slice(c.json_location.as_bytes());
    }

    /// A value as templates see it.
    fn value_view(&self, id: ValueId) -> Jinja {
        let v = self.framework.value(id);
        Jinja::from_object(ValueView {
            id: v.id.clone(),
            name: self.framework.qualified_value(id),
            label: self.framework.value_label(id).to_string(),
            describe: v.describe.clone(),
            translations: v.translations.clone(),
        })
    }

    /// A rule as templates see it.
    fn rule_view(&self, id: RuleId) -> Jinja {
        let r = self.framework.rule(id);
        Jinja::from_object(RuleView {
            translations: r.translations.clone(),
            text: r.text.clone(),
            id: r.id.clone(),
            name: self.framework.qualified_rule(id),
        })
    }

    /// Writes `,`-separated JSON names of the values `terms` resolve to under `bound`, and
    /// of those the followed rule adds; with `only`, just the terms whose flag is set (and
    /// none of the rule's).
    fn push_values(
        &self,
        out: &mut Vec<u8>,
        c: &ScenarioBody,
        terms: &[Term],
        only: Option<&[bool]>,
        rule_values: &[ValueId],
        bound: &[Bound<'_>],
    ) {
        let mut first = true;
        let mut push = |out: &mut Vec<u8>, v: ValueId| {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(self.json.values[v.index()].as_bytes());
        };
        for (i, t) in terms.iter().enumerate() {
            if only.is_some_and(|flags| !flags.get(i).copied().unwrap_or(false)) {
                continue;
            }
            match t {
                Term::Value(v) => push(out, *v),
                Term::Variable(name) => {
                    if let Some(Bound::Value(v)) = c
                        .variables
                        .iter()
                        .position(|n| n == name)
                        .and_then(|i| bound.get(i))
                    {
                        push(out, *v);
                    }
                }
            }
        }
        if only.is_none() {
            for &v in rule_values {
                push(out, v);
            }
        }
    }

    /// A scenario's text under a binding: the template rendered, or the literal text.
    fn piece<'p>(
        &self,
        piece: &'p Piece,
        context: Option<&Jinja>,
        plan: &Plan,
        scenario: &Scenario,
    ) -> Result<std::borrow::Cow<'p, str>, Diagnostic> {
        match (piece, context) {
            (Piece::Template(t), Some(context)) => self
                .run_template(t, context, plan, scenario)
                .map(std::borrow::Cow::Owned),
            (Piece::Literal(text), _) => Ok(std::borrow::Cow::Borrowed(text)),
            // A template needs a context; a verbatim scenario has only literals.
            (Piece::Template(t), None) => Ok(std::borrow::Cow::Owned(t.source.clone())),
        }
    }

    fn run_template(
        &self,
        t: &CompiledTemplate,
        context: &Jinja,
        plan: &Plan,
        scenario: &Scenario,
    ) -> Result<String, Diagnostic> {
        let failed = |detail: String, span| {
            Diagnostic::new(
                Code::TemplateRuntime,
                format!(
                    "template of scenario `{}` failed for draw {}: {detail}",
                    scenario.id, plan.draw
                ),
            )
            .label(span, "while rendering this")
            .help("make the template work for every binding; `quandary explain` shows a binding's values")
        };
        let template = self
            .env
            .get_template(&t.name)
            .map_err(|e| failed(e.to_string(), t.span))?;
        let text = template.render(context.clone()).map_err(|e| {
            let span = e.range().map_or(t.span, |r| t.span_of(r));
            failed(
                e.detail().map_or_else(|| e.to_string(), str::to_string),
                span,
            )
        })?;
        if text.len() > template::MAX_OUTPUT {
            return Err(failed(
                format!(
                    "it produced {} bytes, more than the limit of {}",
                    text.len(),
                    template::MAX_OUTPUT
                ),
                t.span,
            ));
        }
        Ok(text)
    }

    /// Writes one scenario line (without its leading `{"id":…,"index":…,`, which the writer
    /// adds) and returns its content-derived id.
    #[allow(clippy::too_many_arguments)]
    fn write_scenario(
        &self,
        plan: &Plan,
        compiled: &Compiled,
        c: &ScenarioBody,
        line: &ScenarioLine<'_, '_>,
        options: &[usize],
        twin_of: Option<u128>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> u128 {
        let ScenarioLine {
            bound,
            text,
            variants,
            labels,
        } = *line;
        // The content comes first so the id can be hashed from it in place; the writer puts
        // `{"id":…,"index":…,` in front, in place of the content's own `{`.
        let start = out.len();
        out.extend_from_slice(c.json_prefix.as_bytes());
        for (i, b) in bound.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(c.json_keys[i].as_bytes());
            match b {
                // Slots come first among the variables, one each: variable `i` is slot `i`.
                Bound::Text(_) => out
                    .extend_from_slice(c.json_slot_strings[i][plan.choices[i] as usize].as_bytes()),
                Bound::Value(v) => out.extend_from_slice(self.json.values[v.index()].as_bytes()),
                Bound::Rule(r) => out.extend_from_slice(self.json.rules[r.index()].as_bytes()),
            }
        }
        out.extend_from_slice(b"},\"text\":");
        push_json_str(out, text);
        out.extend_from_slice(b",\"variants\":{");
        for (i, v) in variants.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(c.json_variant_keys[i].as_bytes());
            push_json_str(out, v);
        }
        out.extend_from_slice(b"},\"actions\":[");
        for (n, &i) in options.iter().enumerate() {
            let a = &c.actions[i];
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(a.json_head.as_bytes());
            let rule = match a.follows.and_then(|f| bound.get(f)) {
                Some(Bound::Rule(r)) => Some(*r),
                _ => None,
            };
            match (&a.json_label, &labels[i], rule) {
                (Some(l), _, _) => out.extend_from_slice(l.as_bytes()),
                (None, Some(l), _) => push_json_str(out, l),
                (None, None, Some(r)) => {
                    out.extend_from_slice(self.json.rule_texts[r.index()].as_bytes())
                }
                (None, None, None) => push_json_str(out, &a.id),
            }
            let (rule_up, rule_down): (&[ValueId], &[ValueId]) = match rule {
                Some(r) => (
                    &self.framework.rule(r).upholds,
                    &self.framework.rule(r).violates,
                ),
                None => (&[], &[]),
            };
            out.extend_from_slice(b",\"upholds\":[");
            self.push_values(out, c, &a.upholds, None, rule_up, bound);
            out.extend_from_slice(b"],\"violates\":[");
            self.push_values(out, c, &a.violates, None, rule_down, bound);
            out.extend_from_slice(b"],\"upholds_indirect\":[");
            if a.upholds_indirect.contains(&true) {
                let flags = Some(a.upholds_indirect.as_slice());
                self.push_values(out, c, &a.upholds, flags, &[], bound);
            }
            out.extend_from_slice(b"],\"violates_indirect\":[");
            if a.violates_indirect.contains(&true) {
                let flags = Some(a.violates_indirect.as_slice());
                self.push_values(out, c, &a.violates, flags, &[], bound);
            }
            out.push(b']');
            out.extend_from_slice(a.json_tail.as_bytes());
        }
        out.extend_from_slice(b"]}");
        let id = xxh3_128(&out[start..]);
        out.pop();
        self.write_trailer(plan, compiled, id, twin_of, out);
        out.extend_from_slice(b",\"relations\":[");
        let mut first = true;
        for (dim, &choice) in compiled.dims.iter().zip(&plan.choices) {
            if let Dim::Pick(cands) = dim {
                for &r in &cands[(choice / 2) as usize].relations {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(self.json.relation_locations[r.index()].as_bytes());
                }
            }
        }
        out.extend_from_slice(b"],\"rules\":[");
        let mut first = true;
        for b in bound {
            if let Bound::Rule(r) = b {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(self.json.rule_locations[r.index()].as_bytes());
            }
        }
        out.extend_from_slice(b"]}}\n");
        spans.push(Rendered {
            id,
            start,
            end: out.len(),
        });
        id
    }

    /// Expands the suite into `out`: the header line, then one scenario a line.
    /// `progress` is told the draws done so far and the total after each batch.
    ///
    /// With one thread everything happens on the calling thread. With more, a pool of
    /// rendering threads works one batch ahead of the calling thread, which writes the
    /// batches in order.
    pub fn run(
        &self,
        out: &mut dyn Write,
        options: &Options,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<Summary, Diagnostic> {
        let io = |e: std::io::Error| {
            Diagnostic::new(Code::Io, format!("cannot write the suite: {e}"))
                .help("check the output path and the free space")
        };
        let header = self.header(options.shard);
        writeln!(out, "{header}").map_err(io)?;
        let threads = options.threads.max(1);
        let mut writer = Writer {
            head: Vec::with_capacity(64),
            summary: Summary::default(),
            seen: HashSet::new(),
            index: 0,
            per_plan: if self.suite.twins { 2 } else { 1 },
            dedupe: self.suite.dedupe,
            shard: options.shard,
        };
        // Without filters the index of every scenario is known from its draw, so a shard
        // renders only its own; otherwise every draw is rendered and the writer decides.
        let skip = options
            .shard
            .filter(|_| !self.suite.dedupe && !self.suite.require_conflict);
        if threads == 1 {
            let mut local = Local::default();
            let mut buffer = Vec::new();
            let mut from = 0;
            while from < self.total {
                let to = (from + BATCH as u64).min(self.total);
                let chunk = self.work(from, to, buffer, &mut local, skip);
                buffer = writer.write(chunk, out).map_err(|e| e.either(io))?;
                writer.summary.planned += to - from;
                from = to;
                progress(from, self.total);
            }
            out.flush().map_err(io)?;
            return Ok(writer.summary);
        }
        let batch = (BATCH * threads) as u64;
        let batches = self.total.div_ceil(batch);
        // Batch `b` goes to the threads in `threads` consecutive parts.
        let part = |b: u64, w: usize| {
            let from = b * batch;
            let to = ((b + 1) * batch).min(self.total);
            let size = (to - from).div_ceil(threads as u64);
            let start = (from + w as u64 * size).min(to);
            (start, (start + size).min(to))
        };
        std::thread::scope(|scope| -> Result<(), Diagnostic> {
            let (done_tx, done_rx) = mpsc::channel::<(u64, usize, Chunk)>();
            let mut jobs = Vec::with_capacity(threads);
            for w in 0..threads {
                let (job_tx, job_rx) = mpsc::channel::<(u64, u64, u64, Vec<u8>)>();
                jobs.push(job_tx);
                let done_tx = done_tx.clone();
                let this = &*self;
                scope.spawn(move || {
                    let mut local = Local::default();
                    for (b, from, to, buffer) in job_rx {
                        let chunk = this.work(from, to, buffer, &mut local, skip);
                        if done_tx.send((b, w, chunk)).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut spare: Vec<Vec<u8>> = Vec::new();
            let send = |b: u64, spare: &mut Vec<Vec<u8>>| {
                for (w, job) in jobs.iter().enumerate() {
                    let (from, to) = part(b, w);
                    let buffer = spare.pop().unwrap_or_default();
                    // A thread that stopped has reported why through `done`.
                    let _ = job.send((b, from, to, buffer));
                }
            };
            send(0, &mut spare);
            let mut waiting: std::collections::BTreeMap<(u64, usize), Chunk> = Default::default();
            for b in 0..batches {
                if b + 1 < batches {
                    send(b + 1, &mut spare);
                }
                for w in 0..threads {
                    let chunk = loop {
                        if let Some(chunk) = waiting.remove(&(b, w)) {
                            break chunk;
                        }
                        match done_rx.recv() {
                            Ok((bb, ww, chunk)) => {
                                waiting.insert((bb, ww), chunk);
                            }
                            Err(_) => {
                                return Err(Diagnostic::new(
                                    Code::Io,
                                    "a rendering thread stopped unexpectedly",
                                )
                                .help("this is a bug in quandary; please report it"));
                            }
                        }
                    };
                    spare.push(writer.write(chunk, out).map_err(|e| e.either(io))?);
                }
                let (from, _) = part(b, 0);
                let (_, to) = part(b, threads - 1);
                writer.summary.planned += to - from;
                progress(to, self.total);
            }
            Ok(())
        })?;
        out.flush().map_err(io)?;
        Ok(writer.summary)
    }

    /// Plans and renders draws `from..to` into `buffer`.
    fn work(
        &self,
        from: u64,
        to: u64,
        buffer: Vec<u8>,
        local: &mut Local,
        skip: Option<Shard>,
    ) -> Chunk {
        let per_plan = if self.suite.twins { 2 } else { 1 };
        let mut chunk = Chunk {
            buffer,
            draws: Vec::with_capacity((to - from) as usize),
            error: None,
            // Without filters the index of a scenario follows from its draw, so the lines
            // are finished here and the writer only copies the buffer.
            complete: !self.suite.dedupe && !self.suite.require_conflict,
        };
        for k in from..to {
            let Some(mut plan) = self.plan(k) else {
                chunk.draws.push(Draw::Filtered);
                continue;
            };
            if let Some(s) = skip
                && !(k * per_plan..(k + 1) * per_plan).any(|i| i % s.of == s.index - 1)
            {
                chunk.draws.push(Draw::Skipped);
                continue;
            }
            let mut spans = Vec::with_capacity(2);
            let lines = chunk.complete.then_some((k * per_plan, skip));
            match self.render(&mut plan, local, lines, &mut chunk.buffer, &mut spans) {
                Ok(()) => chunk.draws.push(Draw::Rendered(spans)),
                Err(d) => {
                    chunk.error = Some(d);
                    break;
                }
            }
        }
        chunk
    }

    /// How many scenarios of the suite pose each unordered pair of values: values upheld by
    /// two different options of one scenario (counted from the plans; `dedupe` is not applied).
    pub fn pair_counts(&self) -> Vec<((ValueId, ValueId), u64)> {
        let mut counts: std::collections::BTreeMap<(ValueId, ValueId), u64> = Default::default();
        let per_plan = if self.suite.twins { 2 } else { 1 };
        for k in 0..self.total {
            let Some(plan) = self.plan(k) else { continue };
            let c = &self.templates[plan.template];
            let bound = self.bind(c, &plan.choices);
            let upheld = self.upheld(c, &bound);
            let mut pairs = std::collections::BTreeSet::new();
            for (i, us) in upheld.iter().enumerate() {
                for ws in &upheld[i + 1..] {
                    for &u in us {
                        for &w in ws {
                            if u != w {
                                pairs.insert(if u < w { (u, w) } else { (w, u) });
                            }
                        }
                    }
                }
            }
            for p in pairs {
                *counts.entry(p).or_default() += per_plan;
            }
        }
        counts.into_iter().collect()
    }

    /// Finds the scenario with id `id` (as written, `s…`) and says how it was made: the
    /// template, the binding, the relations and rules behind it, with their source lines.
    pub fn explain(&self, id: &str) -> Result<Option<String>, Diagnostic> {
        let wanted = id.trim().trim_start_matches('s');
        let Ok(wanted) = u128::from_str_radix(wanted, 16) else {
            return Ok(None);
        };
        let mut local = Local::default();
        for k in 0..self.total {
            let Some(mut plan) = self.plan(k) else {
                continue;
            };
            let mut buffer = Vec::new();
            let mut spans = Vec::new();
            self.render(&mut plan, &mut local, None, &mut buffer, &mut spans)?;
            if let Some(span) = spans.iter().find(|s| s.id == wanted) {
                let line = format!(
                    "{{\"id\":\"s{:032x}\",{}",
                    span.id,
                    String::from_utf8_lossy(&buffer[span.start + 1..span.end])
                );
                return Ok(Some(self.explanation(&plan, line.as_bytes())));
            }
        }
        Ok(None)
    }

    fn explanation(&self, plan: &Plan, rendered: &[u8]) -> String {
        use std::fmt::Write as _;
        let c = &self.templates[plan.template];
        let bound = self.bind(c, &plan.choices);
        let line = |span: crate::source::Span| -> String {
            match span.file {
                Some(f) => {
                    let file = self.sources.get(f);
                    let (l, _) = file.line_col(span.start as usize);
                    format!("{}:{l}  {}", file.name(), file.line_text(l).trim())
                }
                None => String::new(),
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "suite     {} (seed {}), draw {}, scenario seed {:016x}",
            self.suite.id, self.seed, plan.draw, plan.seed
        );
        let body = match &c.body {
            Body::Scenario(body) => body,
            Body::Survey(survey) => {
                let what = match c.item {
                    SuiteItem::Stance(_) => "stance",
                    _ => "question",
                };
                let _ = writeln!(out, "{what:<9} {}", line(item_span(self.framework, c.item)));
                let part = survey.part(plan.choices.first().copied().unwrap_or(0));
                let _ = writeln!(out, "part      {}", part.describe);
                let _ = writeln!(out, "scenario");
                let _ = writeln!(out, "  {}", String::from_utf8_lossy(rendered).trim_end());
                return out;
            }
        };
        let _ = writeln!(out, "template  {}", line(item_span(self.framework, c.item)));
        let _ = writeln!(out, "bindings");
        for (name, b) in body.variables.iter().zip(&bound) {
            let value = match b {
                Bound::Text(s) => format!("{s:?}"),
                Bound::Value(v) => format!(
                    "{} \"{}\"",
                    self.value_names[v.index()],
                    self.framework.value_label(*v)
                ),
                Bound::Rule(r) => format!(
                    "{} \"{}\"",
                    self.rule_names[r.index()],
                    self.framework.rule(*r).text
                ),
            };
            let _ = writeln!(out, "  {name} = {value}");
        }
        let mut relation_lines = Vec::new();
        for (dim, &choice) in c.dims.iter().zip(&plan.choices) {
            if let Dim::Pick(cands) = dim {
                for &r in &cands[(choice / 2) as usize].relations {
                    relation_lines.push(line(self.framework.relations[r.index()].span));
                }
            }
        }
        if !relation_lines.is_empty() {
            let _ = writeln!(out, "relations");
            for l in relation_lines {
                let _ = writeln!(out, "  {l}");
            }
        }
        let rules: Vec<String> = bound
            .iter()
            .filter_map(|b| match b {
                Bound::Rule(r) => Some(line(self.framework.rule(*r).span)),
                _ => None,
            })
            .collect();
        if !rules.is_empty() {
            let _ = writeln!(out, "rules");
            for l in rules {
                let _ = writeln!(out, "  {l}");
            }
        }
        let _ = writeln!(out, "scenario");
        let _ = writeln!(out, "  {}", String::from_utf8_lossy(rendered).trim_end());
        out
    }
}

/// The id of a suite's item.
fn item_id(framework: &Framework, item: SuiteItem) -> &str {
    match item {
        SuiteItem::Scenario(x) => &framework.scenarios[x.index()].id,
        SuiteItem::Question(x) => &framework.questions[x.index()].id,
        SuiteItem::Stance(x) => &framework.stances[x.index()].id,
    }
}

/// Where a suite's item is declared.
fn item_span(framework: &Framework, item: SuiteItem) -> crate::source::Span {
    match item {
        SuiteItem::Scenario(x) => framework.scenarios[x.index()].span,
        SuiteItem::Question(x) => framework.questions[x.index()].span,
        SuiteItem::Stance(x) => framework.stances[x.index()].span,
    }
}

/// Appends `s` as a JSON string literal.
fn push_json_str(out: &mut Vec<u8>, s: &str) {
    // Serialising a string into memory cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Appends the lowest `digits` hexadecimal digits of `value`.
fn push_hex(out: &mut Vec<u8>, value: u128, digits: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for i in (0..digits).rev() {
        out.push(HEX[((value >> (4 * i)) & 0xf) as usize]);
    }
}

/// Appends `value` in decimal.
fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

fn too_large(suite: &Suite, planned: u128, max: u64) -> Diagnostic {
    let span = suite.size_span.unwrap_or(suite.span);
    let how_many = if planned == u128::MAX {
        "more scenarios than can be counted".to_string()
    } else {
        format!("{planned} scenarios")
    };
    Diagnostic::new(
        Code::SuiteTooLarge,
        format!(
            "suite `{}` would make {how_many}, more than the maximum of {max}",
            suite.id
        ),
    )
    .label(span, "too many")
    .help("ask for fewer (`count N`), or raise the limit with `--max-scenarios`")
}

/// Mixed-radix decoding of binding number `number` into one choice per dimension.
fn decode(dims: &[Dim], mut number: u128) -> Vec<u64> {
    dims.iter()
        .map(|d| {
            let n = u128::from(d.size().max(1));
            let choice = (number % n) as u64;
            number /= n;
            choice
        })
        .collect()
}

fn compile_scenario(
    framework: &Framework,
    sources: &SourceMap,
    env: &mut Environment<'static>,
    sid: ScenarioId,
    t: usize,
    seed: u64,
) -> Result<Compiled, Vec<Diagnostic>> {
    let scenario = &framework.scenarios[sid.index()];
    let module = framework.module(scenario.module);
    let key = format!("{}.{}", module.display_id(), scenario.id);
    let mut errors = Vec::new();
    let variables: Vec<String> = scenario.variables().map(str::to_string).collect();
    let var_refs: Vec<&str> = variables.iter().map(String::as_str).collect();
    let verbatim = scenario.verbatim;
    // A verbatim scenario's texts are literals: nothing of them is compiled.
    let mut template = |name: String, tpl: &Template, errors: &mut Vec<Diagnostic>| {
        if verbatim {
            return Some(Piece::Literal(tpl.source.clone()));
        }
        match template::compile(env, name, tpl, template::Owner::Scenario(&scenario.id)) {
            Ok(c) => Some(Piece::Template(c)),
            Err(d) => {
                errors.push(d);
                None
            }
        }
    };
    let text = match &scenario.text {
        Some(tpl) => template(format!("{t}/{}", scenario.id), tpl, &mut errors),
        None => None,
    };
    let mut variants = Vec::new();
    for (lang, tpl) in &scenario.variants {
        if let Some(c) = template(format!("{t}/{}.{lang}", scenario.id), tpl, &mut errors) {
            variants.push((lang.clone(), c));
        }
    }
    let mut actions = Vec::new();
    for a in &scenario.actions {
        let static_label = match (&a.label, &a.follows) {
            (Some(t), _) if verbatim => Some(json_str(&t.source)),
            (Some(t), _) if !t.source.contains("{{") && !t.source.contains("{%") => {
                Some(json_str(&template::dedent(&t.source).0))
            }
            (None, None) => Some(json_str(&a.id)),
            _ => None,
        };
        let label = match &a.label {
            Some(tpl) => {
                match template(format!("{t}/{}/{}", scenario.id, a.id), tpl, &mut errors) {
                    Some(Piece::Template(c)) => Some(c),
                    _ => None,
                }
            }
            None => None,
        };
        actions.push(CompiledAction {
            json_head: format!("{{\"id\":{},\"label\":", json_str(&a.id)),
            json_label: static_label,
            json_tail: format!(
                ",\"affects\":{},\"distractor\":{}}}",
                serde_json::to_string(&a.affects).unwrap_or_else(|_| "[]".into()),
                a.distractor
            ),
            id: a.id.clone(),
            label,
            upholds: a.upholds.clone(),
            upholds_indirect: a.upholds_indirect.clone(),
            violates: a.violates.clone(),
            violates_indirect: a.violates_indirect.clone(),
            follows: a
                .follows
                .as_ref()
                .and_then(|f| variables.iter().position(|v| v == f)),
            distractor: a.distractor,
        });
    }
    let mut unknown = Vec::new();
    let compiled = text
        .iter()
        .chain(variants.iter().map(|(_, t)| t))
        .filter_map(|p| match p {
            Piece::Template(t) => Some(t),
            Piece::Literal(_) => None,
        });
    for tpl in compiled.chain(actions.iter().filter_map(|a| a.label.as_ref())) {
        template::check_variables(
            env,
            tpl,
            &var_refs,
            template::Owner::Scenario(&scenario.id),
            &mut unknown,
        );
    }
    errors.extend(unknown);
    let Some(text) = text else {
        if errors.is_empty() {
            errors.push(
                Diagnostic::new(
                    Code::IncompleteScenario,
                    format!("scenario `{}` has no text", scenario.id),
                )
                .label(scenario.span, "no text")
                .help("add `text \"\"\"…\"\"\"`"),
            );
        }
        return Err(errors);
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    let mut dims = Vec::new();
    for (i, slot) in scenario.slots.iter().enumerate() {
        dims.push(Dim::Slot(i, slot.domain.len() as u64));
    }
    for pick in &scenario.picks {
        dims.push(Dim::Pick(Arc::new(compile::candidates(
            framework, scenario, pick,
        ))));
    }
    let space = dims
        .iter()
        .fold(1u128, |acc, d| acc.saturating_mul(u128::from(d.size())));
    let pair_orders = pair_orders(&dims, seed, &key);
    let json_prefix = format!(
        "{{\"kind\":\"scenario\",\"template\":{},\"topic\":{},\"bindings\":{{",
        json_str(&scenario.id),
        scenario
            .topic
            .as_deref()
            .map_or_else(|| "null".to_string(), json_str)
    );
    let json_keys = variables
        .iter()
        .map(|v| format!("{}:", json_str(v)))
        .collect();
    let json_slot_strings = scenario
        .slots
        .iter()
        .map(|slot| match &slot.domain {
            SlotDomain::Strings(items) => items.iter().map(|i| json_str(i)).collect(),
            SlotDomain::Values(_) => Vec::new(),
        })
        .collect();
    let json_variant_keys = variants
        .iter()
        .map(|(lang, _)| format!("{}:", json_str(lang)))
        .collect();
    let location = sources.location(scenario.span);
    Ok(Compiled {
        item: SuiteItem::Scenario(sid),
        key,
        dims,
        space,
        pair_orders,
        json_location: json_str(&location),
        body: Body::Scenario(Box::new(ScenarioBody {
            scenario: sid,
            variables: variables.into(),
            text,
            variants,
            actions,
            verbatim,
            json_prefix,
            json_keys,
            json_slot_strings,
            json_variant_keys,
        })),
    })
}

/// For `balance pairs`: per dimension, a seeded order of a pick's candidates.
fn pair_orders(dims: &[Dim], seed: u64, key: &str) -> Vec<Vec<u32>> {
    dims.iter()
        .enumerate()
        .map(|(d, dim)| {
            let mut order: Vec<u32> = match dim {
                Dim::Pick(c) => (0..c.len() as u32).collect(),
                Dim::Slot(..) | Dim::Part(_) => Vec::new(),
            };
            rng::shuffle(
                &mut rng::fixed(seed, &format!("{key}/pairs/{d}")),
                &mut order,
            );
            order
        })
        .collect()
}

/// What one rendering thread keeps for itself: template views of values and rules, and the
/// variable names, made on first use.
#[derive(Default)]
struct Local {
    values: std::collections::HashMap<ValueId, Jinja>,
    rules: std::collections::HashMap<RuleId, Jinja>,
    variables: std::collections::HashMap<usize, Arc<[String]>>,
}

/// The output of one thread over consecutive draws.
#[derive(Default)]
struct Chunk {
    buffer: Vec<u8>,
    draws: Vec<Draw>,
    /// A template failed at the draw after the last one in `draws`.
    error: Option<Diagnostic>,
    /// The buffer holds finished lines (numbered, of this shard only), in order.
    complete: bool,
}

/// Turns the last rendered scenario into a finished line: its `{` becomes
/// `{"id":…,"index":…,`. A line of another shard is dropped.
fn finish_line(out: &mut Vec<u8>, spans: &mut [Rendered], index: u64, shard: Option<Shard>) {
    let Some(span) = spans.last_mut() else {
        return;
    };
    if shard.is_some_and(|s| index % s.of != s.index - 1) {
        out.truncate(span.start);
        span.end = span.start;
        return;
    }
    let mut head = Vec::with_capacity(64);
    push_head(&mut head, span.id, index);
    out.splice(span.start..span.start + 1, head);
    span.end = out.len();
}

/// `{"id":"s…","index":N,`
fn push_head(out: &mut Vec<u8>, id: u128, index: u64) {
    out.extend_from_slice(b"{\"id\":\"s");
    push_hex(out, id, 32);
    out.extend_from_slice(b"\",\"index\":");
    push_u64(out, index);
    out.push(b',');
}

/// What became of one draw.
enum Draw {
    /// Dropped by `require conflict`.
    Filtered,
    /// Another shard's: not rendered.
    Skipped,
    /// The scenario (and its twin) in the chunk's buffer.
    Rendered(Vec<Rendered>),
}

/// A failure while writing: the output, or a template.
enum WriteError {
    Io(std::io::Error),
    Template(Diagnostic),
}

impl WriteError {
    fn either(self, io: impl Fn(std::io::Error) -> Diagnostic) -> Diagnostic {
        match self {
            WriteError::Io(e) => io(e),
            WriteError::Template(d) => d,
        }
    }
}

/// Writes rendered scenarios in draw order: numbers them, drops duplicates, keeps a shard.
struct Writer {
    /// The start of the line being written, reused.
    head: Vec<u8>,
    summary: Summary,
    seen: HashSet<u128>,
    index: u64,
    per_plan: u64,
    dedupe: bool,
    shard: Option<Shard>,
}

impl Writer {
    /// Writes a chunk; returns its buffer, emptied, for reuse.
    fn write(&mut self, chunk: Chunk, out: &mut dyn Write) -> Result<Vec<u8>, WriteError> {
        if chunk.complete {
            out.write_all(&chunk.buffer).map_err(WriteError::Io)?;
        }
        for draw in chunk.draws {
            match draw {
                Draw::Filtered => self.summary.filtered += 1,
                Draw::Skipped => {
                    self.index += self.per_plan;
                    self.summary.scenarios += self.per_plan;
                }
                Draw::Rendered(spans) if chunk.complete => {
                    for span in spans {
                        self.summary.written += u64::from(span.end > span.start);
                        self.index += 1;
                        self.summary.scenarios += 1;
                    }
                }
                Draw::Rendered(spans) => {
                    for span in spans {
                        if self.dedupe && !self.seen.insert(span.id) {
                            self.summary.duplicates += 1;
                            continue;
                        }
                        if self.shard.is_none_or(|s| self.index % s.of == s.index - 1) {
                            self.head.clear();
                            push_head(&mut self.head, span.id, self.index);
                            out.write_all(&self.head).map_err(WriteError::Io)?;
                            out.write_all(&chunk.buffer[span.start + 1..span.end])
                                .map_err(WriteError::Io)?;
                            self.summary.written += 1;
                        }
                        self.index += 1;
                        self.summary.scenarios += 1;
                    }
                }
            }
        }
        match chunk.error {
            Some(d) => {
                out.flush().map_err(WriteError::Io)?;
                Err(WriteError::Template(d))
            }
            None => {
                let mut buffer = chunk.buffer;
                buffer.clear();
                Ok(buffer)
            }
        }
    }
}

/// Where the bytes of one rendered scenario are in a render buffer.
struct Rendered {
    id: u128,
    start: usize,
    end: usize,
}

/// The variables of one scenario, as the template sees them.
#[derive(Debug)]
struct Context {
    names: Arc<[String]>,
    values: Vec<Jinja>,
}

impl Object for Context {
    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        let key = key.as_str()?;
        self.names
            .iter()
            .position(|n| n == key)
            .map(|i| self.values[i].clone())
    }

    fn enumerate(self: &Arc<Self>) -> minijinja::value::Enumerator {
        minijinja::value::Enumerator::Values(
            self.names.iter().map(|n| Jinja::from(n.as_str())).collect(),
        )
    }
}

/// A value bound to a variable: renders as its label; `.id`, `.name`, `.label`,
/// `.describe` and translations (`.zh`) are available.
#[derive(Debug)]
struct ValueView {
    id: String,
    name: String,
    label: String,
    describe: Option<String>,
    translations: indexmap::IndexMap<String, String>,
}

impl Object for ValueView {
    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        match key.as_str()? {
            "id" => Some(Jinja::from(self.id.as_str())),
            "name" => Some(Jinja::from(self.name.as_str())),
            "label" => Some(Jinja::from(self.label.as_str())),
            "describe" => self.describe.as_deref().map(Jinja::from),
            lang => self.translations.get(lang).map(|t| Jinja::from(t.as_str())),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// A rule bound to a variable: renders as its text; `.id`, `.name`, `.text` and
/// translations of the text (`.zh`) are available.
#[derive(Debug)]
struct RuleView {
    text: String,
    id: String,
    name: String,
    translations: indexmap::IndexMap<String, String>,
}

impl Object for RuleView {
    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        match key.as_str()? {
            "id" => Some(Jinja::from(self.id.as_str())),
            "name" => Some(Jinja::from(self.name.as_str())),
            "text" => Some(Jinja::from(self.text.as_str())),
            lang => self.translations.get(lang).map(|t| Jinja::from(t.as_str())),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// The expansion checks that `quandary check` runs: templates compile and use only bound
/// variables, every pick has candidates, suites are not too large and do not ask for more
/// than they can give, and every value a pick names can be posed.
pub(crate) fn check(
    framework: &Framework,
    sources: &SourceMap,
    broken: &dyn Fn(ModuleId) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut env = template::environment();
    let mut spaces: Vec<Option<u128>> = Vec::with_capacity(framework.scenarios.len());
    for (i, scenario) in framework.scenarios.iter().enumerate() {
        if broken(scenario.module) {
            spaces.push(None);
            continue;
        }
        match compile_scenario(framework, sources, &mut env, ScenarioId(i as u32), i, 0) {
            Ok(c) => {
                for (dim, pick) in c
                    .dims
                    .iter()
                    .filter_map(|d| match d {
                        Dim::Pick(p) => Some(p),
                        _ => None,
                    })
                    .zip(&scenario.picks)
                {
                    if matches!(pick.source, PickSource::Unresolved) {
                        continue;
                    }
                    if dim.is_empty() {
                        out.push(no_candidates(framework, scenario, pick));
                    } else if let PickSource::Conflicts(filter) = &pick.source {
                        for &f in filter {
                            let posed = dim.iter().any(|c: &Candidate| {
                                [c.a, c.b].iter().any(|e| matches!(e, Endpoint::Value(v) if *v == f || framework.ancestors(*v).any(|a| a == f)))
                            });
                            if !posed {
                                out.push(
                                    Diagnostic::new(
                                        Code::UnposableValue,
                                        format!("`{}` is in no declared conflict with the other values of this pick, so no suite can pose it", framework.value_name(f, scenario.module)),
                                    )
                                    .label(pick.span, "never draws it")
                                    .help("declare a `conflict` between it and another value of the pick, or remove it"),
                                );
                            }
                        }
                    }
                }
                spaces.push(Some(c.space));
            }
            Err(d) => {
                // Incomplete scenarios are reported by the resolver already.
                out.extend(d.into_iter().filter(|d| d.code != Code::IncompleteScenario));
                spaces.push(None);
            }
        }
    }
    for (i, prompt) in framework.prompts.iter().enumerate() {
        let Some(user) = &prompt.user else { continue };
        if broken(prompt.module) {
            continue;
        }
        match template::compile(
            &mut env,
            format!("prompt/{i}"),
            user,
            template::Owner::Prompt(&prompt.id),
        ) {
            Ok(t) => template::check_variables(
                &env,
                &t,
                &template::PROMPT_VARIABLES,
                template::Owner::Prompt(&prompt.id),
                &mut out,
            ),
            Err(d) => out.push(d),
        }
    }
    for (index, suite) in framework.suites.iter().enumerate() {
        if broken(suite.module) {
            continue;
        }
        survey::check_suite(framework, &mut env, index, suite, &mut out);
        let templates_fine = suite.items.iter().all(|item| match item {
            SuiteItem::Scenario(s) => spaces.get(s.index()).copied().flatten().is_some(),
            _ => true,
        });
        if suite.require_conflict && templates_fine {
            let id = SuiteId(index as u32);
            if let Ok(expansion) = Expansion::new(framework, sources, id, &Options::default()) {
                match expansion.conflict_possible(REQUIREMENT_BUDGET) {
                    Some(true) => {}
                    Some(false) => out.push(
                        Diagnostic::new(
                            Code::UnsatisfiableRequirement,
                            format!(
                                "no scenario of suite `{}` can meet `require conflict`: no binding of its templates has options upholding values in a declared conflict",
                                suite.id
                            ),
                        )
                        .label(suite.require_span.unwrap_or(suite.span), "every draw would be dropped")
                        .help("declare a `conflict` between values the options uphold, pick the options' values with `conflicts(…)`, or remove `require conflict`"),
                    ),
                    None => out.push(
                        Diagnostic::new(
                            Code::RareRequirement,
                            format!(
                                "none of {REQUIREMENT_BUDGET} bindings tried per template of suite `{}` meets `require conflict`",
                                suite.id
                            ),
                        )
                        .label(suite.require_span.unwrap_or(suite.span), "most draws, perhaps all, will be dropped")
                        .help("declare a `conflict` between values the options uphold, pick the options' values with `conflicts(…)`, or remove `require conflict`"),
                    ),
                }
            }
        }
        let Some(space) = suite
            .items
            .iter()
            .map(|&item| match item {
                SuiteItem::Scenario(s) => spaces.get(s.index()).copied().flatten(),
                _ => Some(survey::space(framework, suite, item)),
            })
            .try_fold(0u128, |acc, s| s.map(|s| acc.saturating_add(s)))
        else {
            continue;
        };
        let total = match suite.size {
            Size::Count(n) => u128::from(n),
            Size::Each(n) => space.saturating_mul(u128::from(n)),
        }
        .saturating_mul(if suite.twins { 2 } else { 1 });
        if total > u128::from(DEFAULT_MAX) {
            out.push(too_large(suite, total, DEFAULT_MAX));
        } else if let Size::Count(n) = suite.size
            && u128::from(n) > space
            && space > 0
        {
            out.push(
                    Diagnostic::new(
                        Code::CountExceedsSpace,
                        format!("suite `{}` asks for {n} scenarios but its templates have only {space} distinct bindings", suite.id),
                    )
                    .label(suite.size_span.unwrap_or(suite.span), "more than can be distinct")
                    .help("some scenarios will repeat; lower the count, add slot choices, or use `each 1` for every binding once"),
                );
        }
    }
    out
}

/// Bindings of a template tried at `check` time for `require conflict`: every one of a
/// smaller template, this many drawn from a larger one.
const REQUIREMENT_BUDGET: u64 = 20_000;

fn no_candidates(framework: &Framework, scenario: &Scenario, pick: &Pick) -> Diagnostic {
    let help = match &pick.source {
        PickSource::Conflicts(f) if f.is_empty() => "declare conflicts between values: `conflict a <> b`".to_string(),
        PickSource::Conflicts(_) => "no declared conflict joins two of these values (or values below them); declare one with `conflict a <> b`".to_string(),
        PickSource::Unresolved => String::new(),
        PickSource::RuleConflicts(_) => "no two rules (with these contexts) conflict: declare `conflict rule_a <> rule_b`, or have them uphold values in a declared conflict".to_string(),
    };
    let _ = framework;
    Diagnostic::new(
        Code::NoCandidates,
        format!(
            "pick `{}, {}` in scenario `{}` has no pair to draw",
            pick.names[0], pick.names[1], scenario.id
        ),
    )
    .label(pick.span, "no candidate")
    .help(help)
}
