//! Expansion: a suite and its scenario templates become a deterministic stream of dilemmas,
//! written as JSON Lines.
//!
//! Each scenario is made in two steps. *Planning* (cheap, sequential) decides which template
//! and which binding draw number `k` gets, from the scenario's own ChaCha stream seeded by
//! (suite seed, template, `k`). *Rendering* (the costly part: templates, JSON) runs on
//! several threads over batches of plans; the results are written in plan order. So the
//! output is byte-identical whatever the thread count, and a shard `k/n` holds exactly the
//! scenarios whose index is `k-1` modulo `n`.

mod check;
mod compile;
mod coverage;
mod explain;
mod languages;
mod plan;
mod questions;
mod render;
mod run;

pub(crate) use check::check;
pub use compile::RulePairs;
pub use coverage::{COVERAGE_DRAWS, Coverage};
pub use explain::scenario_index;

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
use compile::Candidates;

/// The most scenarios a suite may ask for unless the caller raises it.
pub const DEFAULT_MAX: u64 = 100_000_000;

/// Plans rendered together; bounds the memory of a run.
const BATCH: usize = 1024;

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
    /// Draws dropped by `require conflict`, or as a repeat rule pair or diverse set.
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
    /// Draws at most: `count`, or `each` × the sum of the binding spaces (with `dedupe`, no
    /// more than the bindings; with `require conflict` and `count n`, 64 × n).
    total: u64,
    /// With `require conflict` and `count n`: the run stops once n draws are kept.
    quota: Option<u64>,
    /// Some draws are dropped (`require conflict`, or a rule pair drawn again), so the
    /// index of a scenario is known only once the draws before it are.
    filters: bool,
    /// Scenarios `dedupe` leaves out because the suite asks for more than its bindings.
    capped: u64,
    /// The templates in turn, for `count` without `balance diverse`.
    rounds: Rounds,
    /// Per template, a seeded permutation of its bindings (`count`, random balance).
    orders: Vec<rng::Permutation>,
    /// Per template, the key of its `balance pairs` permutations.
    pair_keys: Vec<u64>,
    /// Distinct bindings of all templates together.
    space: u128,
    /// For `balance diverse`: a seeded permutation of all those bindings.
    diverse: rng::Affine,
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
    /// Each rule's name, text and `file:line`, one after the other in one buffer, so the
    /// rules a draw binds are each in one place in memory (a large framework's rules are
    /// drawn at random).
    rules: Vec<u8>,
    /// Where each of those starts in `rules`, three a rule, and the end.
    rule_starts: Vec<usize>,
    relation_locations: Vec<String>,
    suite: String,
}

impl Fragments {
    /// The `n`-th literal of rule `r` (0 its name, 1 its text, 2 its `file:line`).
    fn rule(&self, r: RuleId, n: usize) -> &[u8] {
        let at = 3 * r.index() + n;
        match (self.rule_starts.get(at), self.rule_starts.get(at + 1)) {
            (Some(&from), Some(&to)) => self.rules.get(from..to).unwrap_or(b"\"\""),
            _ => b"\"\"",
        }
    }

    /// Rule `r`'s name (`framework.id`).
    fn rule_name(&self, r: RuleId) -> &[u8] {
        self.rule(r, 0)
    }

    /// Rule `r`'s text.
    fn rule_text(&self, r: RuleId) -> &[u8] {
        self.rule(r, 1)
    }

    /// Where rule `r` is declared.
    fn rule_location(&self, r: RuleId) -> &[u8] {
        self.rule(r, 2)
    }
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
    /// For `balance pairs`: per dimension, a seeded order of a pick's candidates.
    pair_orders: Vec<PairOrder>,
    /// The item's `file:line` as a JSON literal.
    json_location: String,
    body: Body,
}

/// What an item's lines are made of.
enum Body {
    /// A scenario: templates rendered per binding.
    Scenario(Box<ScenarioBody>),
    /// A question or a stance: fixed parts, assembled from fragments.
    Survey(questions::Survey),
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
    /// `show k`: the pool the shown options are drawn from.
    show: Option<ShowPool>,
    /// `{"kind":"scenario","template":…,"topic":…,"bindings":{`
    json_prefix: String,
    /// `"name":` for each variable.
    json_keys: Vec<String>,
    /// For each slot over strings, its choices as JSON literals.
    json_slot_strings: Vec<Vec<String>>,
    /// `"lang":` for each variant.
    json_variant_keys: Vec<String>,
}

/// A scenario's `show k`: its pool (the non-distractor actions) and how k are drawn.
struct ShowPool {
    /// How many options each scenario shows.
    count: usize,
    /// `show k diverse` rather than `random`.
    diverse: bool,
    /// The actions (indices) of the pool, in definition order.
    pool: Vec<usize>,
    /// Positions in `pool` in a seeded order: where a diverse set starts (its binding), and
    /// how ties between equally distant options are broken.
    order: Vec<usize>,
}

/// The number of ways to choose `k` of `n` (saturating).
fn choose(n: u64, k: u64) -> u128 {
    if k > n {
        return 0;
    }
    let k = k.min(n - k);
    let mut c = 1u128;
    for i in 0..k {
        c = c.saturating_mul(u128::from(n - i)) / u128::from(i + 1);
    }
    c
}

/// A text of a scenario: a template, or, in a verbatim scenario, the text itself.
enum Piece {
    Template(Renderable),
    Literal(String),
}

/// A scenario's template: compiled for the engine and, when all it does is print text and
/// variables, also as the parts of a JSON string written without the engine.
struct Renderable {
    template: CompiledTemplate,
    direct: Option<Vec<DirectPart>>,
}

/// A part of a template written without the engine (see [`template::Segment`]).
enum DirectPart {
    /// Text, escaped for a JSON string (without quotes).
    Text(String),
    /// Variable `index` of the scenario, or its attribute.
    Variable(usize, Option<String>),
}

impl Renderable {
    /// `template`, whose variables are `variables`, with its direct parts if it has them.
    fn new(template: CompiledTemplate, variables: &[String]) -> Renderable {
        let direct = template.segments().and_then(|segments| {
            segments
                .into_iter()
                .map(|segment| match segment {
                    template::Segment::Text(text) => {
                        let mut escaped = Vec::with_capacity(text.len());
                        push_json_inner(&mut escaped, &text);
                        String::from_utf8(escaped).ok().map(DirectPart::Text)
                    }
                    template::Segment::Variable(name, attribute) => variables
                        .iter()
                        .position(|v| *v == name)
                        .map(|i| DirectPart::Variable(i, attribute)),
                })
                .collect()
        });
        Renderable { template, direct }
    }
}

/// One axis of a template's binding space.
enum Dim {
    /// A slot with this many choices.
    Slot(usize, u64),
    /// A pick: each candidate in either orientation.
    Pick(Candidates),
    /// The parts of a question or stance: the lines it is asked in.
    Part(u64),
    /// `show k`: which k options a scenario shows (for `diverse`, the option the set starts
    /// from; for `random`, the number of the k-subset of the pool).
    Show(u64),
}

impl Dim {
    fn size(&self) -> u64 {
        match self {
            Dim::Slot(_, n) | Dim::Part(n) | Dim::Show(n) => *n,
            Dim::Pick(c) => 2 * c.len(),
        }
    }
}

/// For `balance pairs`: the order in which a pick poses its candidates.
enum PairOrder {
    /// Not a pick.
    None,
    /// Listed candidates (a `conflicts` pick): a seeded shuffle of their numbers.
    Shuffled(Vec<u32>),
    /// Indexed candidates (a `rule_conflicts` pick): a seeded permutation computed on the
    /// fly, so memory does not grow with the number of pairs.
    Permuted(rng::Permutation),
}

impl PairOrder {
    /// The candidate posed `j`-th (`j` below the number of candidates).
    fn at(&self, j: u64) -> u64 {
        match self {
            PairOrder::None => j,
            PairOrder::Shuffled(order) => u64::from(order[j as usize]),
            PairOrder::Permuted(p) => p.at(u128::from(j)) as u64,
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
    /// `,"affects":[…],"distractor":…` — the variants and `}` follow.
    json_tail: String,
    label: Option<Renderable>,
    /// Its label in other languages: `"lang":` and the label's piece. An action without a
    /// label that follows a rule takes the rule's translation into each language the
    /// scenario's text has (see `write_scenario`).
    translations: Vec<(String, Piece)>,
    upholds: Vec<Term>,
    upholds_indirect: Vec<bool>,
    /// Per upheld term, its relevance (1 when not written).
    upholds_relevance: Vec<f64>,
    /// Values it could serve or go against (`either`).
    either: Vec<Term>,
    violates: Vec<Term>,
    violates_indirect: Vec<bool>,
    /// The variable (index) of the rule the action follows.
    follows: Option<usize>,
    distractor: bool,
}

/// The templates of a `count` suite in turn: round r asks every template with more than r
/// bindings, in definition order, so a template whose bindings are used up leaves its turn to
/// the others. Draw number `k` (below the suite's bindings) is located in O(log T).
struct Rounds {
    /// Runs of rounds with the same templates: the first round, the draws before it, and
    /// the templates (by index) it asks; `None` when listing them per run would take too
    /// much memory, and they are found by a scan.
    runs: Vec<(u128, u128, Option<Vec<u32>>, usize)>,
    spaces: Vec<u128>,
}

impl Rounds {
    /// Listed templates at most, over all runs.
    const MOST_LISTED: usize = 1 << 20;

    fn new(spaces: impl Iterator<Item = u128>) -> Rounds {
        let spaces: Vec<u128> = spaces.collect();
        let mut sorted: Vec<u128> = spaces.iter().copied().filter(|&s| s > 0).collect();
        sorted.sort_unstable();
        let mut ends = sorted.clone();
        ends.dedup();
        // Templates asked in the run ending at `end`: those with at least `end` bindings.
        let asked_until = |end: u128| sorted.len() - sorted.partition_point(|&s| s < end);
        let counts: Vec<usize> = ends.iter().map(|&e| asked_until(e)).collect();
        let listed: usize = counts.iter().sum();
        // Each template goes into every run it is asked in: as many pushes as are listed.
        let mut lists: Option<Vec<Vec<u32>>> = (listed <= Self::MOST_LISTED).then(|| {
            let mut lists: Vec<Vec<u32>> = counts.iter().map(|&n| Vec::with_capacity(n)).collect();
            for (t, &space) in spaces.iter().enumerate() {
                let runs = ends.partition_point(|&e| e <= space);
                for list in &mut lists[..runs] {
                    list.push(t as u32);
                }
            }
            lists
        });
        let mut runs = Vec::with_capacity(ends.len());
        let (mut round, mut before) = (0u128, 0u128);
        for (i, (&end, &n)) in ends.iter().zip(&counts).enumerate() {
            let asked = lists.as_mut().map(|l| std::mem::take(&mut l[i]));
            runs.push((round, before, asked, n));
            before = before.saturating_add((end - round).saturating_mul(n as u128));
            round = end;
        }
        Rounds { runs, spaces }
    }

    /// The template of draw `k` and which of its own draws it is.
    fn locate(&self, k: u128) -> (usize, u128) {
        let i = self.runs.partition_point(|r| r.1 <= k).saturating_sub(1);
        let Some((round, before, asked, n)) = self.runs.get(i) else {
            return (0, 0);
        };
        let n = (*n).max(1) as u128;
        let offset = k - before;
        let (round, p) = (round + offset / n, (offset % n) as usize);
        let t = match asked {
            Some(asked) => asked.get(p).map_or(0, |&t| t as usize),
            None => (0..self.spaces.len())
                .filter(|&t| self.spaces[t] > round)
                .nth(p)
                .unwrap_or(0),
        };
        (t, round)
    }
}

/// What a draw decided, before rendering.
struct Plan {
    draw: u64,
    /// Which occurrence of its binding this draw is, from 1 (see [`Expansion::occurrence`]).
    occurrence: u64,
    template: usize,
    seed: u64,
    choices: Vec<u64>,
    rng: ChaCha8Rng,
}

/// What the templates of one draw are rendered against.
struct Scope<'s, 'r> {
    body: &'s ScenarioBody,
    bound: &'s [Bound<'r>],
    /// The engine's context, made when a template first needs it.
    context: Option<Jinja>,
}

/// What one scenario line is made of, besides its plan and the order of its options.
struct AssembledLine<'b, 'r> {
    bound: &'b [Bound<'r>],
    /// The rendered texts, each a JSON string literal; the fields below are ranges of it.
    json: &'b [u8],
    text: std::ops::Range<usize>,
    variants: &'b [std::ops::Range<usize>],
    labels: &'b [Option<std::ops::Range<usize>>],
    /// For each action, its translated labels, in the order of its `translations`.
    label_variants: &'b [Vec<std::ops::Range<usize>>],
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
        let personas = questions::Personas::new(framework, &mut env, suite)?;
        for (t, &item) in suite.items.iter().enumerate() {
            let compiled = match item {
                SuiteItem::Scenario(sid) => {
                    compile_scenario(framework, sources, &mut env, sid, t, seed)
                }
                SuiteItem::Question(q) => Ok(questions::question(framework, sources, q, &personas)),
                SuiteItem::Stance(st) => Ok(questions::stance(framework, sources, st)),
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
        let per_plan = if suite.twins { 2 } else { 1 };
        let planned = total.saturating_mul(per_plan);
        if planned > u128::from(options.max) {
            return Err(vec![too_large(suite, planned, options.max)]);
        }
        let visible = compile::scope(framework, suite.module);
        let mut conflicts = HashSet::new();
        let mut rule_conflicts = HashSet::new();
        for r in &framework.relations {
            if r.kind == crate::model::RelationKind::Conflict
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
        let mut rules = Vec::new();
        let mut rule_starts = Vec::with_capacity(3 * framework.rules.len() + 1);
        for (i, r) in framework.rules.iter().enumerate() {
            rule_starts.push(rules.len());
            push_json_str(&mut rules, &framework.qualified_rule(RuleId(i as u32)));
            rule_starts.push(rules.len());
            push_json_str(&mut rules, &r.text);
            rule_starts.push(rules.len());
            push_json_str(&mut rules, &sources.location(r.span));
        }
        rule_starts.push(rules.len());
        let json = Fragments {
            values: (0..framework.values.len())
                .map(|i| json_str(&framework.qualified_value(ValueId(i as u32))))
                .collect(),
            rules,
            rule_starts,
            relation_locations: framework
                .relations
                .iter()
                .map(|r| json_str(&sources.location(r.span)))
                .collect(),
            suite: json_str(&suite.id),
        };
        // `dedupe` asks each binding once: the size stops at the bindings.
        let space = spaces.max(1);
        let (total, capped) = match (suite.dedupe, size) {
            (true, Size::Count(n)) => {
                let kept = total.min(space);
                (kept, (u128::from(n) - kept).saturating_mul(per_plan))
            }
            (true, Size::Each(n)) => (
                space,
                space
                    .saturating_mul(u128::from(n) - 1)
                    .saturating_mul(per_plan),
            ),
            _ => (total, 0),
        };
        // Draws some bindings of which are dropped: by `require conflict`, because a
        // rule-pair pick draws a pair an earlier candidate already is, or a diverse set that
        // an earlier start already makes.
        let filters = suite.require_conflict
            || templates.iter().any(|t| {
                t.dims
                    .iter()
                    .any(|d| matches!(d, Dim::Pick(c) if c.may_repeat()))
                    || matches!(&t.body, Body::Scenario(b) if b.show.as_ref().is_some_and(|s| s.diverse))
            });
        let quota = match size {
            Size::Count(n) if filters => Some(n),
            _ => None,
        };
        // With `require conflict`, a `count n` suite draws until n are kept: at most 64 draws
        // for each (and, with `dedupe`, no binding twice).
        let total = match quota {
            Some(n) if suite.dedupe => u128::from(n).saturating_mul(64).min(space),
            Some(n) => u128::from(n).saturating_mul(64),
            None => total,
        }
        .min(u128::from(u64::MAX));
        let orders = templates
            .iter()
            .map(|c| rng::Permutation::new(rng::key(seed, &format!("{}/bindings", c.key)), c.space))
            .collect();
        let pair_keys = templates
            .iter()
            .map(|c| rng::key(seed, &format!("{}/pairs", c.key)))
            .collect();
        Ok(Expansion {
            rule_conflicts,
            quota,
            filters,
            capped: capped.min(u128::from(u64::MAX)) as u64,
            rounds: Rounds::new(templates.iter().map(|t| t.space)),
            orders,
            pair_keys,
            space,
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
            conflicts,
        })
    }

    /// How many draws the run plans (before filters and twins): with `require conflict`
    /// and `count n`, the n it keeps (it may draw up to 64 × n to find them).
    pub fn planned(&self) -> u64 {
        self.quota.unwrap_or(self.total)
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
            "pass": questions::pass_json(self.suite),
        });
        if let (Some(s), Some(map)) = (shard, header.as_object_mut()) {
            map.insert("shard".into(), format!("{}/{}", s.index, s.of).into());
        }
        header
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

/// Appends `s` escaped for a JSON string, without quotes, as [`push_json_str`] escapes it:
/// `"`, `\\` and the control characters below U+0020, nothing else.
fn push_json_inner(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let bytes = s.as_bytes();
    let mut from = 0;
    let mut unicode = *b"\\u0000";
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..0x20 => {
                unicode[4] = HEX[usize::from(b >> 4)];
                unicode[5] = HEX[usize::from(b & 0xf)];
                &unicode
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[from..i]);
        out.extend_from_slice(escape);
        from = i + 1;
    }
    out.extend_from_slice(&bytes[from..]);
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
            Ok(c) => Some(Piece::Template(Renderable::new(c, &variables))),
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
        let mut translations = Vec::new();
        for (lang, tpl) in &a.translations {
            let name = format!("{t}/{}/{}.{lang}", scenario.id, a.id);
            if let Some(c) = template(name, tpl, &mut errors) {
                translations.push((format!("{}:", json_str(lang)), c));
            }
        }
        actions.push(CompiledAction {
            json_head: format!("{{\"id\":{},\"label\":", json_str(&a.id)),
            json_label: static_label,
            json_tail: format!(
                ",\"affects\":{},\"distractor\":{}",
                serde_json::to_string(&a.affects).unwrap_or_else(|_| "[]".into()),
                a.distractor
            ),
            id: a.id.clone(),
            label,
            translations,
            upholds: a.upholds.clone(),
            upholds_indirect: a.upholds_indirect.clone(),
            upholds_relevance: a.upholds_relevance.iter().map(|(r, _)| *r).collect(),
            either: a.either.clone(),
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
    // Every compiled template of the scenario: its texts, then its actions' labels.
    let all_templates = || {
        let compiled = text
            .iter()
            .chain(variants.iter().map(|(_, t)| t))
            .filter_map(|p| match p {
                Piece::Template(t) => Some(&t.template),
                Piece::Literal(_) => None,
            });
        let translated = actions.iter().flat_map(|a| {
            a.translations.iter().filter_map(|(_, p)| match p {
                Piece::Template(t) => Some(&t.template),
                Piece::Literal(_) => None,
            })
        });
        compiled
            .chain(
                actions
                    .iter()
                    .filter_map(|a| a.label.as_ref().map(|l| &l.template)),
            )
            .chain(translated)
    };
    for tpl in all_templates() {
        template::check_variables(
            env,
            tpl,
            &var_refs,
            template::Owner::Scenario(&scenario.id),
            &mut unknown,
        );
    }
    // What the templates read of the values and rules that picks and slots over values
    // bind (slots of strings bind texts).
    let values_in = |lang: &str| {
        framework
            .values
            .iter()
            .any(|v| v.translations.contains_key(lang))
    };
    let rules_in = |lang: &str| {
        framework
            .rules
            .iter()
            .any(|r| r.translations.contains_key(lang))
    };
    let value = |name| template::PickVariable {
        name,
        kind: "value",
        attributes: &template::VALUE_ATTRIBUTES,
        translated: &values_in,
    };
    let rule = |name| template::PickVariable {
        name,
        kind: "rule",
        attributes: &template::RULE_ATTRIBUTES,
        translated: &rules_in,
    };
    let picks: Vec<template::PickVariable<'_>> = scenario
        .slots
        .iter()
        .filter(|s| matches!(s.domain, crate::model::SlotDomain::Values(_)))
        .map(|s| value(s.name.as_str()))
        .chain(scenario.picks.iter().flat_map(|p| {
            p.names.iter().map(move |name| match p.source {
                crate::model::PickSource::RuleConflicts(_) => rule(name.as_str()),
                _ => value(name.as_str()),
            })
        }))
        .collect();
    if unknown.is_empty() && !picks.is_empty() {
        for tpl in all_templates() {
            template::check_pick_attributes(env, tpl, &picks, &scenario.id, &mut unknown);
        }
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
        dims.push(Dim::Pick(compile::candidates(framework, scenario, pick)));
    }
    let show = scenario.show.map(|show| {
        let pool: Vec<usize> = (0..actions.len())
            .filter(|&i| !actions[i].distractor)
            .collect();
        let mut order: Vec<usize> = (0..pool.len()).collect();
        rng::shuffle(&mut rng::fixed(seed, &format!("{key}/show")), &mut order);
        let count = show.count as usize;
        let size = if show.diverse {
            pool.len() as u64
        } else {
            u64::try_from(choose(pool.len() as u64, count as u64)).unwrap_or(u64::MAX)
        };
        dims.push(Dim::Show(size));
        ShowPool {
            count,
            diverse: show.diverse,
            pool,
            order,
        }
    });
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
            show,
            json_prefix,
            json_keys,
            json_slot_strings,
            json_variant_keys,
        })),
    })
}

/// For `balance pairs`: per dimension, a seeded order of a pick's candidates.
fn pair_orders(dims: &[Dim], seed: u64, key: &str) -> Vec<PairOrder> {
    dims.iter()
        .enumerate()
        .map(|(d, dim)| {
            let Dim::Pick(c) = dim else {
                return PairOrder::None;
            };
            let mut rng = rng::fixed(seed, &format!("{key}/pairs/{d}"));
            if c.is_listed() {
                let mut order: Vec<u32> = (0..c.len() as u32).collect();
                rng::shuffle(&mut rng, &mut order);
                PairOrder::Shuffled(order)
            } else {
                PairOrder::Permuted(rng::Permutation::new(
                    rng::key(seed, &format!("{key}/pairs/{d}")),
                    u128::from(c.len()),
                ))
            }
        })
        .collect()
}

/// What one rendering thread keeps for itself: template views of values and rules, and the
/// variable names, made on first use.
#[derive(Default)]
struct Local {
    /// The rendered texts of the draw at hand, as JSON string literals.
    json: Vec<u8>,
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

/// Writes rendered scenarios in draw order: numbers them, keeps a shard, and stops at the
/// quota of `require conflict`.
struct Writer {
    /// The start of the line being written, reused.
    head: Vec<u8>,
    summary: Summary,
    index: u64,
    per_plan: u64,
    shard: Option<Shard>,
    /// Draws to keep, if the run stops at a number kept.
    quota: Option<u64>,
    /// Draws kept so far.
    kept: u64,
}

impl Writer {
    /// Whether the quota is met: later draws are not needed.
    fn full(&self) -> bool {
        self.quota.is_some_and(|q| self.kept >= q)
    }

    /// The progress to show after `draws` draws: the draws, or the draws kept towards the
    /// quota.
    fn done(&self, draws: u64) -> u64 {
        match self.quota {
            Some(_) => self.kept,
            None => draws,
        }
    }

    /// Writes a chunk; returns its buffer, emptied, for reuse.
    fn write(&mut self, chunk: Chunk, out: &mut dyn Write) -> Result<Vec<u8>, WriteError> {
        if chunk.complete {
            out.write_all(&chunk.buffer).map_err(WriteError::Io)?;
        }
        for draw in chunk.draws {
            if self.full() {
                break;
            }
            self.summary.planned += 1;
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
                    self.kept += 1;
                    for span in spans {
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

#[cfg(test)]
mod tests {
    use super::Rounds;

    #[test]
    fn values_and_rules_have_the_attributes_check_allows() {
        use super::{Arc, Jinja, Object, RuleView, ValueView};
        // `check` passes these attributes and reports others: the views must answer them.
        let translations: indexmap::IndexMap<String, String> =
            [("zh".to_string(), "关怀".to_string())]
                .into_iter()
                .collect();
        let value = Arc::new(ValueView {
            id: "care".into(),
            name: "f.care".into(),
            label: "Care".into(),
            describe: Some("Looking after others.".into()),
            translations: translations.clone(),
        });
        let rule = Arc::new(RuleView {
            text: "Help.".into(),
            id: "help".into(),
            name: "f.help".into(),
            translations,
        });
        for a in crate::template::VALUE_ATTRIBUTES.into_iter().chain(["zh"]) {
            assert!(value.get_value(&Jinja::from(a)).is_some(), "{a}");
        }
        for a in crate::template::RULE_ATTRIBUTES.into_iter().chain(["zh"]) {
            assert!(rule.get_value(&Jinja::from(a)).is_some(), "{a}");
        }
        assert!(value.get_value(&Jinja::from("nme")).is_none());
    }

    #[test]
    fn json_escaping_without_quotes_matches_serde_json() {
        let mut text: String = (0u8..0x80).map(char::from).collect();
        text.push_str("é 派生 \u{2028} \u{1F600} end");
        for s in [text.as_str(), "", "plain", "\"", "a\\b"] {
            let mut inner = vec![b'"'];
            super::push_json_inner(&mut inner, s);
            inner.push(b'"');
            let mut quoted = Vec::new();
            super::push_json_str(&mut quoted, s);
            assert_eq!(String::from_utf8(inner), String::from_utf8(quoted), "{s:?}");
        }
    }

    #[test]
    fn the_templates_take_turns_until_their_bindings_are_used_up() {
        // Round 0 asks all three, round 1 the two with more than one binding, round 2 the
        // one with three.
        let rounds = Rounds::new([1u128, 3, 2].into_iter());
        let draws: Vec<(usize, u128)> = (0..6).map(|k| rounds.locate(k)).collect();
        assert_eq!(draws, [(0, 0), (1, 0), (2, 0), (1, 1), (2, 1), (1, 2)]);
        // Without the lists (too many to keep), the scan finds the same.
        let mut scanned = Rounds::new([1u128, 3, 2].into_iter());
        for run in &mut scanned.runs {
            run.2 = None;
        }
        assert!((0..6).all(|k| scanned.locate(k) == rounds.locate(k)));
        // Huge spaces cost nothing.
        let big = Rounds::new([u128::MAX / 2, 5].into_iter());
        assert_eq!(big.locate(10), (0, 5));
        assert_eq!(big.locate(11), (0, 6));
    }
}
