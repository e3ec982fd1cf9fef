//! The resolved model: what a set of source files means once names are bound.
//!
//! All items live in arenas on [`Framework`] and refer to each other by typed ids, so the
//! model is cheap to walk and has no lifetimes. Every collection is in definition order.

use std::sync::Arc;

use indexmap::IndexMap;

use crate::source::{FileId, Span};

macro_rules! id_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub(crate) u32);

        impl $name {
            /// The position in its arena.
            pub fn index(self) -> usize {
                self.0 as usize
            }

            /// The id at position `index` of its arena.
            pub fn from_index(index: usize) -> Self {
                $name(index as u32)
            }
        }
    )*};
}

id_type! {
    /// A module (one source file) in [`Framework::modules`].
    ModuleId;
    /// A value node in [`Framework::values`].
    ValueId;
    /// A rule in [`Framework::rules`].
    RuleId;
    /// A profile in [`Framework::profiles`].
    ProfileId;
    /// A relation in [`Framework::relations`].
    RelationId;
    /// A scenario template in [`Framework::scenarios`].
    ScenarioId;
    /// A suite in [`Framework::suites`].
    SuiteId;
    /// A prompt in [`Framework::prompts`].
    PromptId;
    /// A steer or constitution in [`Framework::steers`].
    SteerId;
    /// A judge in [`Framework::judges`].
    JudgeId;
    /// A survey question in [`Framework::questions`].
    QuestionId;
    /// A stance in [`Framework::stances`].
    StanceId;
}

/// Everything loaded: the files named by the caller (roots) and every file they import.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Framework {
    /// One module per source file, in load order.
    pub modules: Vec<Module>,
    /// The modules the caller asked for, in the order given.
    pub roots: Vec<ModuleId>,
    /// Every value node of every module.
    pub values: Vec<Value>,
    /// Every rule.
    pub rules: Vec<Rule>,
    /// Every relation.
    pub relations: Vec<Relation>,
    /// Every profile.
    pub profiles: Vec<Profile>,
    /// Every `map` line.
    pub mappings: Vec<Mapping>,
    /// Every scenario template.
    pub scenarios: Vec<ScenarioTemplate>,
    /// Every suite.
    pub suites: Vec<Suite>,
    /// Every prompt.
    pub prompts: Vec<Prompt>,
    /// Every steer and constitution.
    pub steers: Vec<Steer>,
    /// Every judge.
    pub judges: Vec<Judge>,
    /// Every survey question.
    pub questions: Vec<Question>,
    /// Every stance.
    pub stances: Vec<Stance>,
    /// Every line of every `populations` table, in load order.
    pub populations: Vec<PopulationAliases>,
    /// Each name and spelling of [`Framework::populations`] by its [`spelling_key`]: the
    /// line it belongs to.
    pub population_index: std::collections::BTreeMap<String, usize>,
}

/// `"United Kingdom" alias "Britain", "Great Britain"`: a population and the other
/// spellings that mean it, wherever populations are named.
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationAliases {
    /// The name the population is known by.
    pub name: String,
    /// The other spellings, and where each is written.
    pub aliases: Vec<(String, Span)>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where its name is written.
    pub span: Span,
}

impl Framework {
    /// The name a population is known by: the name of the `populations` line that lists
    /// `given` (or a spelling of it, compared by [`spelling_key`]), else `given` trimmed.
    pub fn population_name(&self, given: &str) -> String {
        if self.population_index.is_empty() {
            return given.trim().to_string();
        }
        match self.population_index.get(&spelling_key(given)) {
            Some(&line) => self.populations[line].name.clone(),
            None => given.trim().to_string(),
        }
    }

    /// The weight profile `profile` gives every value that has one, by qualified name
    /// (`framework.value`): the profile's weight for the value, else for its nearest
    /// ancestor that has one, else the mean weight of the values it is mapped to (`map`) in
    /// other frameworks (found the same way). So a profile over the Moral Foundations weighs
    /// DailyDilemmas values through their mapping. A value with none is left out.
    pub fn profile_weights(&self, profile: ProfileId) -> std::collections::HashMap<String, f64> {
        use std::collections::HashMap;
        let p = &self.profiles[profile.index()];
        let explicit: HashMap<ValueId, f64> = p.weights.iter().copied().collect();
        let own = |v: ValueId| -> Option<f64> {
            std::iter::once(v)
                .chain(self.ancestors(v))
                .find_map(|x| explicit.get(&x).copied())
        };
        let mut targets: HashMap<ValueId, Vec<ValueId>> = HashMap::new();
        for m in &self.mappings {
            targets
                .entry(m.value)
                .or_default()
                .extend(m.targets.iter().copied());
        }
        let mut weights = HashMap::new();
        for i in 0..self.values.len() {
            let v = ValueId(i as u32);
            let weight = own(v).or_else(|| {
                let mapped: Vec<f64> = std::iter::once(v)
                    .chain(self.ancestors(v))
                    .filter_map(|x| targets.get(&x))
                    .flatten()
                    .filter_map(|&t| own(t))
                    .collect();
                (!mapped.is_empty()).then(|| mapped.iter().sum::<f64>() / mapped.len() as f64)
            });
            if let Some(w) = weight {
                weights.insert(self.qualified_value(v), w);
            }
        }
        weights
    }

    /// The first root module (the file passed to [`crate::load_path`] or [`crate::load_str`]).
    ///
    /// # Panics
    /// If nothing was loaded; every `load_*` function loads at least one root module.
    pub fn root_module(&self) -> &Module {
        &self.modules[self.roots[0].index()]
    }

    /// The module with id `id`.
    pub fn module(&self, id: ModuleId) -> &Module {
        &self.modules[id.index()]
    }

    /// The value with id `id`.
    pub fn value(&self, id: ValueId) -> &Value {
        &self.values[id.index()]
    }

    /// The rule with id `id`.
    pub fn rule(&self, id: RuleId) -> &Rule {
        &self.rules[id.index()]
    }

    /// The value's name as a reader in `from` writes it: `id`, or `ns.id` when it comes from
    /// a module that `from` imports.
    pub fn value_name(&self, id: ValueId, from: ModuleId) -> String {
        let value = self.value(id);
        if value.module == from {
            return value.id.clone();
        }
        match self
            .module(from)
            .imports
            .iter()
            .find(|(_, m)| **m == value.module)
        {
            Some((ns, _)) => format!("{ns}.{}", value.id),
            None => format!("{}.{}", self.module(value.module).display_id(), value.id),
        }
    }

    /// The value's name independent of any file: `framework_id.value_id` (the file's
    /// framework id, or `file` when it has no header).
    pub fn qualified_value(&self, id: ValueId) -> String {
        let v = self.value(id);
        format!("{}.{}", self.module(v.module).display_id(), v.id)
    }

    /// The value a qualified name (`framework_id.value_id`, as [`Framework::qualified_value`]
    /// writes it) names, if any.
    pub fn find_qualified(&self, name: &str) -> Option<ValueId> {
        let (module, id) = name.split_once('.')?;
        self.modules
            .iter()
            .filter(|m| m.display_id() == module)
            .find_map(|m| m.value(id))
    }

    /// The rule's name independent of any file: `framework_id.rule_id`.
    pub fn qualified_rule(&self, id: RuleId) -> String {
        let r = self.rule(id);
        format!("{}.{}", self.module(r.module).display_id(), r.id)
    }

    /// The ancestors of a value, nearest first.
    pub fn ancestors(&self, id: ValueId) -> impl Iterator<Item = ValueId> + '_ {
        std::iter::successors(self.value(id).parent, |p| self.value(*p).parent)
    }

    /// The value's label, or its id when it has none.
    pub fn value_label(&self, id: ValueId) -> &str {
        let v = self.value(id);
        v.label.as_deref().unwrap_or(&v.id)
    }
}

/// One source file's contents, resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    /// The source file.
    pub file: FileId,
    /// The file name without its extension: the module's name when it has no header.
    pub stem: String,
    /// The `framework` header, if the file has one.
    pub header: Option<Header>,
    /// The level keywords, outermost first (`["value"]` when the file declares none).
    pub levels: Vec<String>,
    /// Imported modules by namespace, in `use` order.
    pub imports: IndexMap<String, ModuleId>,
    /// Every item of the module by id.
    pub items: IndexMap<String, ItemId>,
    /// All value nodes, in definition (pre-)order.
    pub values: Vec<ValueId>,
    /// The top-level value nodes.
    pub top: Vec<ValueId>,
    /// Rules in definition order.
    pub rules: Vec<RuleId>,
    /// Relations in definition order.
    pub relations: Vec<RelationId>,
    /// Profiles in definition order.
    pub profiles: Vec<ProfileId>,
    /// Indexes into [`Framework::mappings`] of this module's `map` lines.
    pub mappings: Vec<usize>,
    /// Scenario templates in definition order.
    pub scenarios: Vec<ScenarioId>,
    /// Suites in definition order.
    pub suites: Vec<SuiteId>,
    /// Prompts in definition order.
    pub prompts: Vec<PromptId>,
    /// Steers and constitutions in definition order.
    pub steers: Vec<SteerId>,
    /// Judges in definition order.
    pub judges: Vec<JudgeId>,
    /// Questions in definition order.
    pub questions: Vec<QuestionId>,
    /// Stances in definition order.
    pub stances: Vec<StanceId>,
}

impl Module {
    /// The framework id, or the file's stem for a file without a header.
    pub fn display_id(&self) -> &str {
        self.header
            .as_ref()
            .map_or(self.stem.as_str(), |h| h.id.as_str())
    }

    /// The value with id `id` in this module, if any.
    pub fn value(&self, id: &str) -> Option<ValueId> {
        match self.items.get(id) {
            Some(ItemId::Value(v)) => Some(*v),
            _ => None,
        }
    }
}

/// What an id in a module names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ItemId {
    /// A value node.
    Value(ValueId),
    /// A rule.
    Rule(RuleId),
    /// A profile.
    Profile(ProfileId),
    /// A scenario template.
    Scenario(ScenarioId),
    /// A suite.
    Suite(SuiteId),
    /// A prompt.
    Prompt(PromptId),
    /// A steer or constitution.
    Steer(SteerId),
    /// A judge.
    Judge(JudgeId),
    /// A survey question.
    Question(QuestionId),
    /// A stance.
    Stance(StanceId),
}

/// The `framework` header.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Header {
    /// Its id.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// `source "…"`
    pub source: Option<String>,
    /// `version "…"`
    pub version: Option<String>,
    /// `license "…"`
    pub license: Option<String>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// Translated labels by language tag.
    pub translations: IndexMap<String, String>,
    /// Where the header is.
    pub span: Span,
}

/// What sort of normative item a value node is (as in ValuePrism).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ValueKind {
    /// A value (the default).
    #[default]
    Value,
    /// A right.
    Right,
    /// A duty.
    Duty,
}

impl ValueKind {
    /// Every kind, as written.
    pub const NAMES: [&'static str; 3] = ["value", "right", "duty"];

    /// The kind named `name`.
    pub fn from_name(name: &str) -> Option<ValueKind> {
        match name {
            "value" => Some(ValueKind::Value),
            "right" => Some(ValueKind::Right),
            "duty" => Some(ValueKind::Duty),
            _ => None,
        }
    }
}

/// A value node of the hierarchy.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    /// Its id, unique in its module.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// The module it is declared in.
    pub module: ModuleId,
    /// Its level: an index into its module's [`Module::levels`].
    pub level: usize,
    /// The enclosing node.
    pub parent: Option<ValueId>,
    /// Nested nodes, in definition order.
    pub children: Vec<ValueId>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// Translated labels by language tag.
    pub translations: IndexMap<String, String>,
    /// Value, right or duty.
    pub kind: ValueKind,
    /// Other names the value goes by (in data sets, say).
    pub aliases: Vec<String>,
    /// Where the node is declared (its keyword to its closing brace).
    pub span: Span,
    /// Where its id is.
    pub id_span: Span,
}

/// One side of a relation: relations hold between values or between rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Endpoint {
    /// A value.
    Value(ValueId),
    /// A rule.
    Rule(RuleId),
}

/// `conflict`, `prefer` or `wiser`.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    /// Which relation.
    pub kind: RelationKind,
    /// Left side (the preferred or wiser one for `prefer` and `wiser`).
    pub left: Endpoint,
    /// Right side.
    pub right: Endpoint,
    /// The context, if any.
    pub context: Option<String>,
    /// The weight, if given.
    pub weight: Option<f64>,
    /// The note, if given.
    pub note: Option<String>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
    /// Where its weight is, if given.
    pub weight_span: Option<Span>,
}

/// A normative rule tied to values.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Its id.
    pub id: String,
    /// The rule's text.
    pub text: String,
    /// Values the rule upholds.
    pub upholds: Vec<ValueId>,
    /// Values the rule violates.
    pub violates: Vec<ValueId>,
    /// Contexts it applies in (each text held once for all rules: a framework's rules name
    /// a few contexts).
    pub contexts: Vec<Arc<str>>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// Translations of the text.
    pub translations: Translations,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// Texts by language, in the order written, as on a [`Rule`]: one word when there are none,
/// as for nearly every rule of a large framework (an empty map would take nine).
#[derive(Clone, Default)]
pub struct Translations(Option<Box<IndexMap<String, String>>>);

impl Translations {
    /// The text in `lang`, if translated.
    pub fn get<Q>(&self, lang: &Q) -> Option<&String>
    where
        Q: ?Sized + std::hash::Hash + indexmap::Equivalent<String>,
    {
        self.0.as_ref().and_then(|m| m.get(lang))
    }

    /// Whether there is a text in `lang`.
    pub fn contains_key<Q>(&self, lang: &Q) -> bool
    where
        Q: ?Sized + std::hash::Hash + indexmap::Equivalent<String>,
    {
        self.get(lang).is_some()
    }

    /// Whether there is no translation.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many languages.
    pub fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |m| m.len())
    }

    /// The translations as a map of their own.
    pub fn to_map(&self) -> IndexMap<String, String> {
        self.0.as_deref().cloned().unwrap_or_default()
    }

    /// Language and text, in the order written.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &String)> {
        self.0.iter().flat_map(|m| m.iter())
    }
}

impl From<IndexMap<String, String>> for Translations {
    fn from(map: IndexMap<String, String>) -> Self {
        Translations((!map.is_empty()).then(|| Box::new(map)))
    }
}

impl<'a> IntoIterator for &'a Translations {
    type Item = (&'a String, &'a String);
    type IntoIter = Box<dyn Iterator<Item = (&'a String, &'a String)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

/// As maps: the same texts in the same languages.
impl PartialEq for Translations {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// As a map, `{"zh": "…"}`.
impl std::fmt::Debug for Translations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A value system: weights per value.
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Its id.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// Weights in definition order.
    pub weights: Vec<(ValueId, f64)>,
    /// Where each weight's entry is (parallel to `weights`).
    pub weight_spans: Vec<Span>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// `map value => ns.label, …`
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    /// The value placed.
    pub value: ValueId,
    /// Its places in other frameworks.
    pub targets: Vec<ValueId>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// A dilemma template.
#[derive(Clone, Debug, PartialEq)]
pub struct ScenarioTemplate {
    /// Its id.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// `topic …`
    pub topic: Option<String>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// Slots in definition order.
    pub slots: Vec<Slot>,
    /// Picks in definition order.
    pub picks: Vec<Pick>,
    /// The main text template.
    pub text: Option<Template>,
    /// Text variants by language tag.
    pub variants: IndexMap<String, Template>,
    /// The actions (options), in definition order.
    pub actions: Vec<Action>,
    /// `verbatim`: the texts and labels are taken as written, not as templates.
    pub verbatim: bool,
    /// `show k diverse|random`: each scenario shows k of the non-distractor actions.
    pub show: Option<Show>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// `show k diverse` or `show k random`: the candidate set a scenario shows, drawn from the
/// template's non-distractor actions (its pool).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Show {
    /// How many options each scenario shows (at least 2, fewer than the pool).
    pub count: u32,
    /// `diverse`: the options uphold values as unlike as they can; `random`: any k.
    pub diverse: bool,
    /// Where it is written.
    pub span: Span,
}

impl ScenarioTemplate {
    /// Every variable a template may use: slot and pick names, in definition order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.slots.iter().map(|s| s.name.as_str()).chain(
            self.picks
                .iter()
                .flat_map(|p| p.names.iter().map(String::as_str)),
        )
    }
}

/// A template's source and where it is.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    /// The minijinja source.
    pub source: String,
    /// The string literal holding it.
    pub span: Span,
    /// The length of the literal's opening quotes (1 or 3) when it has no escapes, so that
    /// offsets inside the template map one to one onto the file; 0 when they do not.
    pub quotes: u8,
}

impl Template {
    /// Byte offset in the file of the template's first character, when offsets inside the
    /// template map one to one onto the file.
    pub fn offset(&self) -> Option<usize> {
        (self.quotes > 0).then(|| self.span.start as usize + usize::from(self.quotes))
    }
}

/// `slot name = …`
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    /// The variable.
    pub name: String,
    /// What it ranges over.
    pub domain: SlotDomain,
    /// Where it is declared.
    pub span: Span,
}

/// What a slot ranges over.
#[derive(Clone, Debug, PartialEq)]
pub enum SlotDomain {
    /// Literal strings.
    Strings(Vec<String>),
    /// Values of the framework.
    Values(Vec<ValueId>),
}

impl SlotDomain {
    /// How many choices the slot has.
    pub fn len(&self) -> usize {
        match self {
            SlotDomain::Strings(s) => s.len(),
            SlotDomain::Values(v) => v.len(),
        }
    }

    /// Whether the slot has no choice at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// `pick a, b from …`: a pair drawn from the conflict graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    /// The two variables.
    pub names: [String; 2],
    /// Where the pair comes from.
    pub source: PickSource,
    /// Where it is declared.
    pub span: Span,
}

/// Where a pick draws its pair from.
#[derive(Clone, Debug, PartialEq)]
pub enum PickSource {
    /// `conflicts(a, b, …)`: two values in a declared conflict, both within the given values
    /// (each standing for itself and everything below it); all conflicts when empty.
    Conflicts(Vec<ValueId>),
    /// `rule_conflicts(ctx, ns.*, …)`: two rules in conflict (declared, or through the values
    /// they uphold), among the rules the filter admits.
    RuleConflicts(RuleFilter),
    /// A source with errors (reported when resolving): the pick's variables exist, but it
    /// draws nothing.
    Unresolved,
}

/// The rules a `rule_conflicts(…)` pick considers: those with one of its contexts, declared
/// in one of its namespaces' files.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RuleFilter {
    /// Contexts (`health`, `"public office"`): a rule must have one of them; any rule when
    /// empty.
    pub contexts: Vec<String>,
    /// The files named by `ns.*`: a rule must be declared in one of them; any file when empty.
    pub modules: Vec<ModuleId>,
}

impl RuleFilter {
    /// Whether the filter admits `rule` (scope aside).
    pub fn admits(&self, rule: &Rule) -> bool {
        (self.contexts.is_empty()
            || rule
                .contexts
                .iter()
                .any(|c| self.contexts.iter().any(|x| **x == **c)))
            && (self.modules.is_empty() || self.modules.contains(&rule.module))
    }
}

/// An option of a scenario.
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// Its id.
    pub id: String,
    /// Its label (a template).
    pub label: Option<Template>,
    /// Values it upholds, directly or indirectly, as written.
    pub upholds: Vec<Term>,
    /// For each of `upholds`, whether it is upheld only indirectly (`upholds indirectly`).
    pub upholds_indirect: Vec<bool>,
    /// For each of `upholds`, its relevance (`upholds privacy relevance 0.3`; 1 when not
    /// written) and where the relevance is written.
    pub upholds_relevance: Vec<(f64, Option<Span>)>,
    /// Values it violates, directly or indirectly, as written.
    pub violates: Vec<Term>,
    /// For each of `violates`, whether it is violated only indirectly.
    pub violates_indirect: Vec<bool>,
    /// Values it could serve or go against (`either`; ValuePrism's valence `either`): counted
    /// neither as upheld nor as violated.
    pub either: Vec<Term>,
    /// Parties it affects, directly or indirectly.
    pub affects: Vec<Effect>,
    /// The pick variable of the rule this action follows, if any.
    pub follows: Option<String>,
    /// An irrelevant option, included as the suite's `distractors` setting says.
    pub distractor: bool,
    /// `describe "…"`
    pub describe: Option<String>,
    /// Its label in other languages (`zh "…"`), by tag, each a template.
    pub translations: IndexMap<String, Template>,
    /// Where it is declared.
    pub span: Span,
}

/// A value an action upholds or violates.
#[derive(Clone, Debug, PartialEq)]
pub enum Term {
    /// A value of the framework.
    Value(ValueId),
    /// A variable bound to a value: a pick or a slot over values.
    Variable(String),
}

/// A party an action affects.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Effect {
    /// Who.
    pub party: String,
    /// `+`, `-`, or none.
    pub sign: Option<Sign>,
    /// Affected only through the action's consequences (`affects indirectly`).
    pub indirect: bool,
}

/// The direction of an effect on a party.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Sign {
    /// `+`
    #[serde(rename = "+")]
    Positive,
    /// `-`
    #[serde(rename = "-")]
    Negative,
}

/// How many scenarios a suite asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Size {
    /// `count N`: N scenarios in all, spread over the suite's templates.
    Count(u64),
    /// `each N`: N scenarios for every distinct binding of every template.
    Each(u64),
}

/// How a suite spreads its scenarios over bindings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Balance {
    /// Each scenario draws its binding independently.
    #[default]
    Random,
    /// `balance pairs`: each picked pair about equally often.
    Pairs,
    /// `balance diverse`: no binding repeats before all have been used.
    Diverse,
}

/// The order of a scenario's options.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Order {
    /// As written.
    #[default]
    Fixed,
    /// Drawn by each scenario's seed.
    Shuffled,
}

/// What to expand, how many, how balanced.
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    /// Its id.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// The seed (0 unless set).
    pub seed: u64,
    /// The scenarios, questions and stances, in the order given (all of the module's, in
    /// definition order, when `from` is absent).
    pub items: Vec<SuiteItem>,
    /// How many scenarios.
    pub size: Size,
    /// How bindings are spread.
    pub balance: Balance,
    /// `twins order`: each scenario also with its options in reverse order.
    pub twins: bool,
    /// `require conflict`: keep only scenarios whose options uphold conflicting values.
    pub require_conflict: bool,
    /// `dedupe`: drop scenarios that render exactly like an earlier one.
    pub dedupe: bool,
    /// The share of scenarios that include their distractor options.
    pub distractors: f64,
    /// The order of options.
    pub order: Order,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
    /// Where its `count` or `each` setting is, if written.
    pub size_span: Option<Span>,
    /// Where its `require conflict` setting is, if written.
    pub require_span: Option<Span>,
    /// `persona "…"`: a template over `population`; each question is also asked with it
    /// before its text, once for every population it has a reference for.
    pub persona: Option<Template>,
    /// `pass "population" n` and `pass n`: the similarity to a population's answers that a
    /// model should reach, in definition order.
    pub pass: Vec<PassMark>,
    /// `languages zh, de`: the languages it is run in, each with where it is written.
    pub languages: Vec<(String, Span)>,
    /// `judge id`: the judge that reads the suite's free-form answers.
    pub judge: Option<JudgeId>,
    /// Where its `judge` setting is, if written.
    pub judge_span: Option<Span>,
}

/// What a suite expands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SuiteItem {
    /// A scenario template (or a verbatim scenario).
    Scenario(ScenarioId),
    /// A survey question.
    Question(QuestionId),
    /// A stance.
    Stance(StanceId),
}

/// `pass "France" 0.8`: a pass mark for one population, or for every population.
#[derive(Clone, Debug, PartialEq)]
pub struct PassMark {
    /// The population; `None` for the mark of every population without one of its own.
    pub population: Option<String>,
    /// The mark, from 0 to 1.
    pub mark: f64,
    /// Where the setting is.
    pub span: Span,
}

/// `question id "text" { … }`: a survey question, its options in order, and how
/// populations answered it.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// Its id.
    pub id: String,
    /// The question as it is put, taken as written (not a template).
    pub text: String,
    /// The question in other languages (`text.zh "…"`), by tag.
    pub variants: IndexMap<String, String>,
    /// `source "…"`
    pub source: Option<String>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// The options, in order.
    pub options: Vec<QuestionOption>,
    /// The reference answers, in definition order; populations are distinct.
    pub references: Vec<Distribution>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
    /// Where its id is.
    pub id_span: Span,
}

/// An option of a question.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionOption {
    /// Its id, unique in its question.
    pub id: String,
    /// The answer as it is shown.
    pub label: String,
    /// The answer in other languages (`zh "…"` after the label), by tag.
    pub translations: IndexMap<String, String>,
    /// Where it is declared.
    pub span: Span,
}

/// `reference "France" [0.4, 0.5, 0.1]`: one share per option, in the options' order.
#[derive(Clone, Debug, PartialEq)]
pub struct Distribution {
    /// The population.
    pub population: String,
    /// The shares as written.
    pub shares: Vec<f64>,
    /// Where each share is (parallel to `shares`).
    pub share_spans: Vec<Span>,
    /// Where the bracketed list is.
    pub list_span: Span,
    /// Where the entry is.
    pub span: Span,
}

impl Distribution {
    /// The shares divided by their sum, when it is positive and finite.
    pub fn normalised(&self) -> Option<Vec<f64>> {
        let sum: f64 = self.shares.iter().sum();
        if !(sum.is_finite() && sum > 0.0) || self.shares.iter().any(|s| *s < 0.0) {
            return None;
        }
        if (sum - 1.0).abs() <= 1e-9 {
            return Some(self.shares.clone());
        }
        Some(self.shares.iter().map(|s| s / sum).collect())
    }
}

/// `stance id "country" { … }`: a country's stance, as a statement and its reversal.
#[derive(Clone, Debug, PartialEq)]
pub struct Stance {
    /// Its id.
    pub id: String,
    /// The country whose stance it is.
    pub country: String,
    /// The question the statements answer, if given.
    pub question: Option<String>,
    /// The stance held in the country.
    pub statement: String,
    /// Its reversal.
    pub reversed: String,
    /// Its texts in other languages (`question.zh`, `statement.zh`, `reversed.zh`), by tag.
    pub translations: IndexMap<String, StanceTexts>,
    /// `source "…"`
    pub source: Option<String>,
    /// `describe "…"`
    pub describe: Option<String>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// A stance's texts in one language other than its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StanceTexts {
    /// `question.tag "…"`
    pub question: Option<String>,
    /// `statement.tag "…"`
    pub statement: Option<String>,
    /// `reversed.tag "…"`
    pub reversed: Option<String>,
}

/// How options are labelled in a prompt.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum OptionLabels {
    /// `A`, `B`, `C`, …
    #[default]
    Letters,
    /// `Action 1`, `Action 2`, …
    Actions,
}

/// How a model is asked to answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum AnswerMode {
    /// The option alone (its label), read from the text and, where offered, the first
    /// token's log-probabilities.
    #[default]
    Choice,
    /// Free to think first; the final choice is read from the end of the answer.
    Reasoning,
    /// A long-form answer in the model's own words, kept whole for a judge to read.
    Free,
}

impl AnswerMode {
    /// Its name: `choice`, `reasoning` or `free`.
    pub fn name(self) -> &'static str {
        match self {
            AnswerMode::Choice => "choice",
            AnswerMode::Reasoning => "reasoning",
            AnswerMode::Free => "free",
        }
    }

    /// The mode named `name`.
    pub fn from_name(name: &str) -> Option<AnswerMode> {
        match name {
            "choice" => Some(AnswerMode::Choice),
            "reasoning" => Some(AnswerMode::Reasoning),
            "free" => Some(AnswerMode::Free),
            _ => None,
        }
    }
}

/// `prompt id "label" { … }`: how scenarios are shown to a model.
#[derive(Clone, Debug, PartialEq)]
pub struct Prompt {
    /// Its id.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// The system prompt.
    pub system: Option<String>,
    /// The user message template (variables `text`, `options`, `instruction`).
    pub user: Option<Template>,
    /// How options are labelled.
    pub labels: OptionLabels,
    /// The answer instruction.
    pub instruction: Option<String>,
    /// How the model answers.
    pub answer: AnswerMode,
    /// Its texts in other languages (`system.zh`, `user.zh`, `instruction.zh`), by tag.
    pub translations: IndexMap<String, PromptTexts>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// A prompt's texts in one language other than its own.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PromptTexts {
    /// `system.tag "…"`
    pub system: Option<String>,
    /// `user.tag "…"`
    pub user: Option<Template>,
    /// `instruction.tag "…"`
    pub instruction: Option<String>,
}

/// `steer` or `constitution`: a system prompt a run can be repeated under.
#[derive(Clone, Debug, PartialEq)]
pub struct Steer {
    /// Its id.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// The system prompt (for a constitution, its principles as a numbered list).
    pub system: String,
    /// The system prompt in other languages (`system.zh "…"`), by tag.
    pub translations: IndexMap<String, String>,
    /// Values it pushes toward.
    pub toward: Vec<ValueId>,
    /// Values it pushes away from.
    pub away: Vec<ValueId>,
    /// A constitution's principles.
    pub principles: Vec<String>,
    /// Where it comes from.
    pub source: Option<String>,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// `judge id "label" { … }`: how a model's free-form answer is read back, by a model, as a
/// verdict.
#[derive(Clone, Debug, PartialEq)]
pub struct Judge {
    /// Its id.
    pub id: String,
    /// Its label.
    pub label: Option<String>,
    /// The judge's system prompt.
    pub system: Option<String>,
    /// The template of the judge's message (variables `text`, `options`, `answer`,
    /// `verdicts`, `instruction`).
    pub user: Option<Template>,
    /// The answer instruction.
    pub instruction: Option<String>,
    /// What the judge answers.
    pub verdict: Verdict,
    /// The module declaring it.
    pub module: ModuleId,
    /// Where it is declared.
    pub span: Span,
}

/// What a judge answers: `verdict actions`, `stance`, `labels a, b, …` or `scale 1 to 5`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// One of the scenario's actions: the action the answer chose.
    Actions,
    /// The answer's stance: `agree`, `disagree`, `neutral` or `refusal`.
    Stance,
    /// One of a declared set of labels (identifiers), in the order written.
    Labels(Vec<String>),
    /// A whole number on a scale, from the first bound to the second (both included).
    Scale(i64, i64),
}

impl Verdict {
    /// The kinds of verdict, as written after `verdict`.
    pub const KINDS: [&'static str; 4] = ["actions", "stance", "labels", "scale"];

    /// The verdicts of [`Verdict::Stance`], in order.
    pub const STANCES: [&'static str; 4] = ["agree", "disagree", "neutral", "refusal"];

    /// The widest scale `check` accepts: its high bound less its low bound.
    pub const MAX_SCALE_SPAN: i64 = 100;

    /// Its kind, as written after `verdict`: `actions`, `stance`, `labels` or `scale`.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Actions => "actions",
            Verdict::Stance => "stance",
            Verdict::Labels(_) => "labels",
            Verdict::Scale(..) => "scale",
        }
    }

    /// The ids of the verdicts a judge may give, in order: the stances, the labels, or the
    /// marks of the scale as numbers (`"1"`, …, `"5"`). `None` for [`Verdict::Actions`],
    /// whose verdicts are the actions of each scenario.
    pub fn options(&self) -> Option<Vec<String>> {
        match self {
            Verdict::Actions => None,
            Verdict::Stance => Some(Verdict::STANCES.iter().map(|s| s.to_string()).collect()),
            Verdict::Labels(labels) => Some(labels.clone()),
            Verdict::Scale(low, high) => Some((*low..=*high).map(|n| n.to_string()).collect()),
        }
    }
}

/// The sort of a relation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RelationKind {
    /// `conflict a <> b`: a symmetric tension.
    Conflict,
    /// `prefer a > b`: a priority claim.
    Prefer,
    /// `wiser a > b`: a moral-graph edge, `a` is wiser than `b` (in a context).
    Wiser,
}

impl RelationKind {
    /// The keyword.
    pub fn keyword(self) -> &'static str {
        match self {
            RelationKind::Conflict => "conflict",
            RelationKind::Prefer => "prefer",
            RelationKind::Wiser => "wiser",
        }
    }

    /// The operator between the two sides.
    pub fn operator(self) -> &'static str {
        match self {
            RelationKind::Conflict => "<>",
            _ => ">",
        }
    }

    /// The word introducing a context (`when` for prefer, `in` for wiser).
    pub fn context_word(self) -> &'static str {
        match self {
            RelationKind::Wiser => "in",
            _ => "when",
        }
    }

    /// All kinds in a fixed order.
    pub const ALL: [RelationKind; 3] = [
        RelationKind::Conflict,
        RelationKind::Prefer,
        RelationKind::Wiser,
    ];
}

/// A population as it is compared: without surrounding spaces, ignoring case.
pub(crate) fn population_key(population: &str) -> String {
    population.trim().to_lowercase()
}

/// A population's name as spellings are compared (by `populations` tables, `check` and the
/// importers): lowercase ASCII words, accents and punctuation dropped, `&` as
/// `and`, abbreviations written out, no leading "the".
pub fn spelling_key(name: &str) -> String {
    let mut plain = String::with_capacity(name.len());
    for c in name.chars() {
        let c = match c {
            'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => {
                'a'
            }
            'ç' | 'Ç' => 'c',
            'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
            'ñ' | 'Ñ' => 'n',
            'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
            c => c,
        };
        if c == '&' {
            plain.push_str(" and ");
        } else if c.is_alphanumeric() {
            plain.extend(c.to_lowercase());
        } else {
            plain.push(' ');
        }
    }
    let words: Vec<&str> = plain
        .split_whitespace()
        .map(|w| match w {
            "s" => "south",
            "n" => "north",
            "rep" => "republic",
            "dem" => "democratic",
            "st" => "saint",
            "fed" => "federation",
            w => w,
        })
        .collect();
    let words = match words.as_slice() {
        ["the", rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    words.join(" ")
}

/// Pairs of names (in the order given) that are likely one population: the same [`spelling_key`],
/// or the same key but for its spaces ("Viet Nam", "Vietnam"). Each name is paired with the
/// first of its group.
pub fn likely_same_populations<'a>(names: &[&'a str]) -> Vec<(&'a str, &'a str)> {
    let mut first: std::collections::HashMap<String, &'a str> = std::collections::HashMap::new();
    let mut out = Vec::new();
    for &name in names {
        let k: String = spelling_key(name).chars().filter(|c| *c != ' ').collect();
        match first.get(&k) {
            Some(&earlier) if earlier != name => out.push((earlier, name)),
            Some(_) => {}
            None => {
                first.insert(k, name);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_name_their_kind_and_list_their_options() {
        assert_eq!(Verdict::Actions.options(), None);
        assert_eq!(
            Verdict::Stance.options().unwrap(),
            ["agree", "disagree", "neutral", "refusal"]
        );
        let labels = Verdict::Labels(vec!["western".into(), "eastern".into()]);
        assert_eq!(labels.options().unwrap(), ["western", "eastern"]);
        assert_eq!(
            Verdict::Scale(1, 5).options().unwrap(),
            ["1", "2", "3", "4", "5"]
        );
        assert_eq!(Verdict::Scale(-1, 1).options().unwrap(), ["-1", "0", "1"]);
        let names: Vec<&str> = [
            Verdict::Actions,
            Verdict::Stance,
            labels,
            Verdict::Scale(0, 1),
        ]
        .iter()
        .map(Verdict::name)
        .collect();
        assert_eq!(names, Verdict::KINDS);
    }
}
