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
pub mod rng;

use std::collections::HashSet;
use std::fmt;
use std::io::Write;
use std::sync::Arc;

use minijinja::Environment;
use minijinja::value::{Object, Value as Jinja};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde::ser::SerializeMap;
use xxhash_rust::xxh3::xxh3_128;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::SourceMap;
use compile::{Candidate, Candidates, CompiledTemplate};

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
    /// Canonical names (`framework.id`) of every value and rule.
    value_names: Vec<String>,
    rule_names: Vec<String>,
    /// Declared value conflicts, both orders, for `require conflict`.
    conflicts: HashSet<(ValueId, ValueId)>,
    /// Every value and rule as templates see them, made once.
    value_views: Vec<Jinja>,
    rule_views: Vec<Jinja>,
}

/// A scenario template compiled for one suite.
struct Compiled {
    scenario: ScenarioId,
    /// The key its streams are seeded with: `framework.scenario`.
    key: String,
    /// Variables: slot names, then pick names.
    variables: Arc<[String]>,
    dims: Vec<Dim>,
    /// Distinct bindings (the product of the dimensions).
    space: u128,
    text: CompiledTemplate,
    variants: Vec<(String, CompiledTemplate)>,
    actions: Vec<CompiledAction>,
    /// For `balance pairs`: per dimension, a seeded order of its choices.
    pair_orders: Vec<Vec<u32>>,
    /// For `balance diverse`: a seeded permutation of all bindings.
    diverse: rng::Affine,
    location: String,
}

/// One axis of a template's binding space.
enum Dim {
    /// A slot with this many choices.
    Slot(usize, u64),
    /// A pick: each candidate in either orientation.
    Pick(Candidates),
}

impl Dim {
    fn size(&self) -> u64 {
        match self {
            Dim::Slot(_, n) => *n,
            Dim::Pick(c) => 2 * c.len() as u64,
        }
    }
}

struct CompiledAction {
    id: String,
    label: Option<CompiledTemplate>,
    upholds: Vec<Term>,
    violates: Vec<Term>,
    affects: Vec<Effect>,
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
        let mut env = compile::environment();
        let mut diagnostics = Vec::new();
        let mut templates = Vec::new();
        for (t, &sid) in suite.scenarios.iter().enumerate() {
            match compile_scenario(framework, sources, &mut env, sid, t, seed) {
                Ok(c) => templates.push(c),
                Err(mut d) => diagnostics.append(&mut d),
            }
        }
        if !diagnostics.is_empty() {
            return Err(diagnostics);
        }
        let spaces: u128 = templates.iter().map(|t| t.space).sum();
        let total: u128 = match size {
            Size::Count(n) => u128::from(n),
            Size::Each(n) => spaces.saturating_mul(u128::from(n)),
        };
        if templates.iter().any(|t| t.space == 0) {
            // A pick or slot with no choice; `check` explains which.
            let t = templates
                .iter()
                .find(|t| t.space == 0)
                .map_or(0, |t| t.scenario.index());
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
        let planned = total * if suite.twins { 2 } else { 1 };
        if planned > u128::from(options.max) {
            return Err(vec![too_large(suite, planned, options.max)]);
        }
        let visible = compile::scope(framework, suite.module);
        let mut conflicts = HashSet::new();
        for r in &framework.relations {
            if r.kind == crate::syntax::ast::RelationKind::Conflict
                && visible.get(r.module.index()).copied().unwrap_or(false)
            {
                if let (Endpoint::Value(a), Endpoint::Value(b)) = (r.left, r.right) {
                    conflicts.insert((a, b));
                    conflicts.insert((b, a));
                }
            }
        }
        let value_views = (0..framework.values.len())
            .map(|i| {
                let id = ValueId(i as u32);
                let v = framework.value(id);
                Jinja::from_object(ValueView {
                    id: v.id.clone(),
                    name: framework.qualified_value(id),
                    label: framework.value_label(id).to_string(),
                    describe: v.describe.clone(),
                    translations: v.translations.clone(),
                })
            })
            .collect();
        let rule_views = (0..framework.rules.len())
            .map(|i| {
                let r = framework.rule(RuleId(i as u32));
                Jinja::from_object(RuleView {
                    text: r.text.clone(),
                    id: r.id.clone(),
                    name: framework.qualified_rule(RuleId(i as u32)),
                })
            })
            .collect();
        Ok(Expansion {
            value_views,
            rule_views,
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
            "templates": self.templates.iter().map(|t| &self.framework.scenarios[t.scenario.index()].id).collect::<Vec<_>>(),
            size: n,
            "balance": match self.suite.balance { Balance::Random => "random", Balance::Pairs => "pairs", Balance::Diverse => "diverse" },
            "twins": self.suite.twins,
            "require_conflict": self.suite.require_conflict,
            "dedupe": self.suite.dedupe,
            "order": match self.suite.order { Order::Fixed => "fixed", Order::Shuffled => "shuffled" },
            "distractors": self.suite.distractors,
        });
        if let (Some(s), Some(map)) = (shard, header.as_object_mut()) {
            map.insert("shard".into(), format!("{}/{}", s.index, s.of).into());
        }
        header
    }

    /// Plans draw `k`, or `None` when `require conflict` drops it.
    fn plan(&self, k: u64) -> Option<Plan> {
        let t_count = self.templates.len() as u64;
        let (template, local, mut choices_from): (usize, u64, Option<u128>) = match self.size {
            Size::Count(_) => ((k % t_count) as usize, k / t_count, None),
            Size::Each(n) => {
                let mut rest = u128::from(k / n);
                let mut found = (0, 0, None);
                for (t, c) in self.templates.iter().enumerate() {
                    if rest < c.space {
                        found = (t, 0, Some(rest));
                        break;
                    }
                    rest -= c.space;
                }
                found
            }
        };
        let c = &self.templates[template];
        let (seed, mut rng) = rng::stream(self.seed, &c.key, k);
        if choices_from.is_none() {
            choices_from = match self.suite.balance {
                Balance::Diverse => Some(c.diverse.at(u128::from(local) % c.space)),
                _ => None,
            };
        }
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
        if self.suite.require_conflict && !self.conflicting(c, &choices) {
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

    /// The values each non-distractor action of a binding upholds.
    fn upheld(&self, c: &Compiled, bound: &[Bound<'_>]) -> Vec<Vec<ValueId>> {
        c.actions
            .iter()
            .filter(|a| !a.distractor)
            .map(|a| {
                let (mut up, _) = self.action_values(a, bound);
                up.dedup();
                up
            })
            .collect()
    }

    /// Whether two actions of a binding uphold values in a declared conflict (directly or
    /// through the values above them).
    fn conflicting(&self, c: &Compiled, choices: &[u64]) -> bool {
        let bound = self.bind(c, choices);
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

    /// The variables' values for a binding.
    fn bind(&self, c: &Compiled, choices: &[u64]) -> Vec<Bound<'a>> {
        let scenario = &self.framework.scenarios[c.scenario.index()];
        let mut out = Vec::with_capacity(c.variables.len());
        for (dim, &choice) in c.dims.iter().zip(choices) {
            match dim {
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
        a: &CompiledAction,
        bound: &[Bound<'_>],
    ) -> (Vec<ValueId>, Vec<ValueId>) {
        let resolve = |terms: &[Term], c: &Compiled| -> Vec<ValueId> {
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
        // The action belongs to exactly one compiled template; find it by pointer.
        let c = self
            .templates
            .iter()
            .find(|c| {
                c.actions
                    .as_ptr_range()
                    .contains(&(a as *const CompiledAction))
            })
            .unwrap_or(&self.templates[0]);
        let mut up = resolve(&a.upholds, c);
        let mut down = resolve(&a.violates, c);
        if let Some(Bound::Rule(r)) = a.follows.and_then(|i| bound.get(i)) {
            let rule = self.framework.rule(*r);
            up.extend(rule.upholds.iter().copied());
            down.extend(rule.violates.iter().copied());
        }
        (up, down)
    }

    /// Renders one plan: the scenario, and its twin when the suite asks for twins.
    fn render(
        &self,
        plan: &mut Plan,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> Result<(), Diagnostic> {
        let c = &self.templates[plan.template];
        let scenario = &self.framework.scenarios[c.scenario.index()];
        let bound = self.bind(c, &plan.choices);
        let values: Vec<Jinja> = bound
            .iter()
            .map(|b| match *b {
                Bound::Text(s) => Jinja::from(s),
                Bound::Value(v) => self.value_views[v.index()].clone(),
                Bound::Rule(r) => self.rule_views[r.index()].clone(),
            })
            .collect();
        let context = Jinja::from_object(Context {
            names: Arc::clone(&c.variables),
            values,
        });
        let text = self.run_template(&c.text, &context, plan, scenario)?;
        let mut variants = Vec::with_capacity(c.variants.len());
        for (lang, t) in &c.variants {
            variants.push((
                lang.as_str(),
                self.run_template(t, &context, plan, scenario)?,
            ));
        }
        // Options: every non-distractor action; distractors as often as the suite says.
        let include_distractors = rng::unit(&mut plan.rng) < self.suite.distractors;
        let mut options: Vec<usize> = (0..c.actions.len())
            .filter(|&i| include_distractors || !c.actions[i].distractor)
            .collect();
        if self.suite.order == Order::Shuffled {
            rng::shuffle(&mut plan.rng, &mut options);
        }
        let mut actions = Vec::with_capacity(options.len());
        for &i in &options {
            let a = &c.actions[i];
            let label = match (&a.label, a.follows.and_then(|f| bound.get(f))) {
                (Some(t), _) => self.run_template(t, &context, plan, scenario)?,
                (None, Some(Bound::Rule(r))) => self.framework.rule(*r).text.clone(),
                (None, _) => a.id.clone(),
            };
            let (up, down) = self.action_values(a, &bound);
            actions.push(ActionOut {
                id: &a.id,
                label,
                upholds: up
                    .iter()
                    .map(|v| self.value_names[v.index()].as_str())
                    .collect(),
                violates: down
                    .iter()
                    .map(|v| self.value_names[v.index()].as_str())
                    .collect(),
                affects: &a.affects,
                distractor: a.distractor,
            });
        }
        let bindings = Bindings {
            names: &c.variables,
            bound: &bound,
            expansion: self,
        };
        let provenance = self.provenance(c, &plan.choices, &bound);
        let base = self.write_scenario(
            plan,
            c,
            scenario,
            &bindings,
            &text,
            &variants,
            &actions,
            None,
            &provenance,
            out,
            spans,
        );
        if self.suite.twins {
            actions.reverse();
            self.write_scenario(
                plan,
                c,
                scenario,
                &bindings,
                &text,
                &variants,
                &actions,
                Some(base),
                &provenance,
                out,
                spans,
            );
        } else {
            let _ = base;
        }
        Ok(())
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
        if text.len() > compile::MAX_OUTPUT {
            return Err(failed(
                format!(
                    "it produced {} bytes, more than the limit of {}",
                    text.len(),
                    compile::MAX_OUTPUT
                ),
                t.span,
            ));
        }
        Ok(text)
    }

    /// `file:line` of the template and of each relation and rule a binding drew on.
    fn provenance(&self, c: &Compiled, choices: &[u64], bound: &[Bound<'_>]) -> Provenance {
        let mut relations = Vec::new();
        for (dim, &choice) in c.dims.iter().zip(choices) {
            if let Dim::Pick(cands) = dim {
                for &r in &cands[(choice / 2) as usize].relations {
                    relations.push(compile::location(
                        self.sources,
                        self.framework.relations[r.index()].span,
                    ));
                }
            }
        }
        let rules = bound
            .iter()
            .filter_map(|b| match b {
                Bound::Rule(r) => Some(compile::location(
                    self.sources,
                    self.framework.rule(*r).span,
                )),
                _ => None,
            })
            .collect();
        Provenance {
            template: c.location.clone(),
            relations,
            rules,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn write_scenario(
        &self,
        plan: &Plan,
        c: &Compiled,
        scenario: &Scenario,
        bindings: &Bindings<'_, '_>,
        text: &str,
        variants: &[(&str, String)],
        actions: &[ActionOut<'_>],
        twin_of: Option<u128>,
        provenance: &Provenance,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> u128 {
        let content = Content {
            template: &scenario.id,
            topic: scenario.topic.as_deref(),
            bindings,
            text,
            variants: Variants(variants),
            actions,
        };
        let start = out.len();
        // Serialising plain strings and maps into memory cannot fail.
        let _ = serde_json::to_writer(&mut *out, &content);
        let id = xxh3_128(&out[start..]);
        // Turn `{content}` into `"seed":…,"suite":…,content,"twin_group":…,"provenance":…}`.
        let inner: Vec<u8> = out[start + 1..out.len() - 1].to_vec();
        out.truncate(start);
        let _ = write!(
            out,
            "\"seed\":\"{:016x}\",\"draw\":{},\"suite\":",
            plan.seed, plan.draw
        );
        let _ = serde_json::to_writer(&mut *out, &self.suite.id);
        out.push(b',');
        out.extend_from_slice(&inner);
        out.extend_from_slice(b",\"twin_group\":");
        match twin_of.or(self.suite.twins.then_some(id)) {
            Some(group) => {
                let _ = write!(out, "\"s{group:032x}\"");
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"provenance\":");
        let _ = serde_json::to_writer(&mut *out, provenance);
        out.extend_from_slice(b"}\n");
        let _ = c;
        spans.push(Rendered {
            id,
            start,
            end: out.len(),
        });
        id
    }

    /// Expands the suite into `out`: the header line, then one scenario a line.
    /// `progress` is told the draws done so far and the total after each batch.
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
        let mut summary = Summary::default();
        let mut seen: HashSet<u128> = HashSet::new();
        let mut index: u64 = 0;
        let per_plan = if self.suite.twins { 2 } else { 1 };
        let threads = options.threads.max(1);
        let mut k = 0;
        while k < self.total {
            let end = (k + BATCH as u64).min(self.total);
            let mut plans: Vec<(Option<Plan>, bool)> = Vec::with_capacity((end - k) as usize);
            // Without dedupe the index of every scenario is known before rendering, so a
            // shard renders only its own.
            let mut next = index;
            for draw in k..end {
                let plan = self.plan(draw);
                let wanted = match (plan.is_some(), options.shard, self.suite.dedupe) {
                    (false, _, _) => false,
                    (true, Some(s), false) => {
                        (next..next + per_plan).any(|i| i % s.of == s.index - 1)
                    }
                    _ => true,
                };
                if plan.is_some() {
                    next += per_plan;
                }
                plans.push((plan, wanted));
            }
            summary.planned += end - k;
            let results = self.render_batch(&mut plans, threads);
            for ((plan, _), result) in plans.iter().zip(results) {
                if plan.is_none() {
                    summary.filtered += 1;
                    continue;
                }
                let (buffer, spans) = match result {
                    Some(Ok(r)) => r,
                    Some(Err(d)) => {
                        out.flush().map_err(io)?;
                        return Err(d);
                    }
                    None => {
                        index += per_plan;
                        summary.scenarios += per_plan;
                        continue;
                    }
                };
                for span in spans {
                    if self.suite.dedupe && !seen.insert(span.id) {
                        summary.duplicates += 1;
                        continue;
                    }
                    let mine = options.shard.is_none_or(|s| index % s.of == s.index - 1);
                    if mine {
                        write!(out, "{{\"id\":\"s{:032x}\",\"index\":{index},", span.id)
                            .map_err(io)?;
                        out.write_all(&buffer[span.start..span.end]).map_err(io)?;
                        summary.written += 1;
                    }
                    index += 1;
                    summary.scenarios += 1;
                }
            }
            k = end;
            progress(k, self.total);
        }
        out.flush().map_err(io)?;
        Ok(summary)
    }

    /// Renders the wanted plans of a batch on `threads` threads, results in plan order.
    #[allow(clippy::type_complexity)]
    fn render_batch(
        &self,
        plans: &mut [(Option<Plan>, bool)],
        threads: usize,
    ) -> Vec<Option<Result<(Arc<Vec<u8>>, Vec<Rendered>), Diagnostic>>> {
        let work = |chunk: &mut [(Option<Plan>, bool)]| {
            chunk
                .iter_mut()
                .map(|(plan, wanted)| {
                    let plan = plan.as_mut().filter(|_| *wanted)?;
                    let mut buffer = Vec::with_capacity(1024);
                    let mut spans = Vec::with_capacity(2);
                    Some(
                        self.render(plan, &mut buffer, &mut spans)
                            .map(|()| (Arc::new(buffer), spans)),
                    )
                })
                .collect::<Vec<_>>()
        };
        if threads <= 1 || plans.len() < 64 {
            return work(plans);
        }
        let size = plans.len().div_ceil(threads);
        std::thread::scope(|s| {
            let handles: Vec<_> = plans
                .chunks_mut(size)
                .map(|chunk| s.spawn(move || work(chunk)))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        })
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
        for k in 0..self.total {
            let Some(mut plan) = self.plan(k) else {
                continue;
            };
            let mut buffer = Vec::new();
            let mut spans = Vec::new();
            self.render(&mut plan, &mut buffer, &mut spans)?;
            if let Some(span) = spans.iter().find(|s| s.id == wanted) {
                return Ok(Some(self.explanation(&plan, &buffer[span.start..span.end])));
            }
        }
        Ok(None)
    }

    fn explanation(&self, plan: &Plan, rendered: &[u8]) -> String {
        use std::fmt::Write as _;
        let c = &self.templates[plan.template];
        let scenario = &self.framework.scenarios[c.scenario.index()];
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
        let _ = writeln!(out, "template  {}", line(scenario.span));
        let _ = writeln!(out, "bindings");
        for (name, b) in c.variables.iter().zip(&bound) {
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

fn too_large(suite: &Suite, planned: u128, max: u64) -> Diagnostic {
    let span = suite.size_span.unwrap_or(suite.span);
    Diagnostic::new(
        Code::SuiteTooLarge,
        format!(
            "suite `{}` would make {planned} scenarios, more than the maximum of {max}",
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
    let mut template =
        |name: String, tpl: &Template, errors: &mut Vec<Diagnostic>| match compile::compile(
            env,
            name,
            tpl,
            &scenario.id,
        ) {
            Ok(c) => Some(c),
            Err(d) => {
                errors.push(d);
                None
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
        let label = match &a.label {
            Some(tpl) => template(format!("{t}/{}/{}", scenario.id, a.id), tpl, &mut errors),
            None => None,
        };
        actions.push(CompiledAction {
            id: a.id.clone(),
            label,
            upholds: a.upholds.clone(),
            violates: a.violates.clone(),
            affects: a.affects.clone(),
            follows: a
                .follows
                .as_ref()
                .and_then(|f| variables.iter().position(|v| v == f)),
            distractor: a.distractor,
        });
    }
    let mut unknown = Vec::new();
    for tpl in text
        .iter()
        .chain(variants.iter().map(|(_, t)| t))
        .chain(actions.iter().filter_map(|a| a.label.as_ref()))
    {
        compile::check_variables(env, tpl, &var_refs, &scenario.id, &mut unknown);
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
    let pair_orders = dims
        .iter()
        .enumerate()
        .map(|(d, dim)| {
            let mut order: Vec<u32> = match dim {
                Dim::Pick(c) => (0..c.len() as u32).collect(),
                Dim::Slot(..) => Vec::new(),
            };
            rng::shuffle(
                &mut rng::fixed(seed, &format!("{key}/pairs/{d}")),
                &mut order,
            );
            order
        })
        .collect();
    let diverse = rng::Affine::new(
        &mut rng::fixed(seed, &format!("{key}/diverse")),
        space.max(1),
    );
    Ok(Compiled {
        scenario: sid,
        key,
        variables: variables.into(),
        dims,
        space,
        text,
        variants,
        actions,
        pair_orders,
        diverse,
        location: compile::location(sources, scenario.span),
    })
}

/// Where the bytes of one rendered scenario are in a render buffer.
struct Rendered {
    id: u128,
    start: usize,
    end: usize,
}

#[derive(Serialize)]
struct Content<'a> {
    template: &'a str,
    topic: Option<&'a str>,
    bindings: &'a Bindings<'a, 'a>,
    text: &'a str,
    variants: Variants<'a>,
    actions: &'a [ActionOut<'a>],
}

#[derive(Serialize)]
struct ActionOut<'a> {
    id: &'a str,
    label: String,
    upholds: Vec<&'a str>,
    violates: Vec<&'a str>,
    affects: &'a [Effect],
    distractor: bool,
}

#[derive(Serialize)]
struct Provenance {
    template: String,
    relations: Vec<String>,
    rules: Vec<String>,
}

struct Variants<'a>(&'a [(&'a str, String)]);

impl Serialize for Variants<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct Bindings<'b, 'a> {
    names: &'b [String],
    bound: &'b [Bound<'a>],
    expansion: &'b Expansion<'a>,
}

impl Serialize for Bindings<'_, '_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.names.len()))?;
        for (name, b) in self.names.iter().zip(self.bound) {
            match b {
                Bound::Text(t) => map.serialize_entry(name, t)?,
                Bound::Value(v) => {
                    map.serialize_entry(name, &self.expansion.value_names[v.index()])?
                }
                Bound::Rule(r) => {
                    map.serialize_entry(name, &self.expansion.rule_names[r.index()])?
                }
            }
        }
        map.end()
    }
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

/// A rule bound to a variable: renders as its text; `.id` and `.name` are available.
#[derive(Debug)]
struct RuleView {
    text: String,
    id: String,
    name: String,
}

impl Object for RuleView {
    fn get_value(self: &Arc<Self>, key: &Jinja) -> Option<Jinja> {
        match key.as_str()? {
            "id" => Some(Jinja::from(self.id.as_str())),
            "name" => Some(Jinja::from(self.name.as_str())),
            "text" => Some(Jinja::from(self.text.as_str())),
            _ => None,
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
    let mut env = compile::environment();
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
    for suite in &framework.suites {
        if broken(suite.module) {
            continue;
        }
        let Some(space) = suite
            .scenarios
            .iter()
            .map(|s| spaces.get(s.index()).copied().flatten())
            .try_fold(0u128, |acc, s| s.map(|s| acc.saturating_add(s)))
        else {
            continue;
        };
        let total = match suite.size {
            Size::Count(n) => u128::from(n),
            Size::Each(n) => space.saturating_mul(u128::from(n)),
        } * if suite.twins { 2 } else { 1 };
        if total > u128::from(DEFAULT_MAX) {
            out.push(too_large(suite, total, DEFAULT_MAX));
        } else if let Size::Count(n) = suite.size {
            if u128::from(n) > space && space > 0 {
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
    }
    out
}

fn no_candidates(framework: &Framework, scenario: &Scenario, pick: &Pick) -> Diagnostic {
    let help = match &pick.source {
        PickSource::Conflicts(f) if f.is_empty() => "declare conflicts between values: `conflict a <> b`".to_string(),
        PickSource::Conflicts(_) => "no declared conflict joins two of these values (or values below them); declare one with `conflict a <> b`".to_string(),
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
