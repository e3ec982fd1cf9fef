//! The syntax tree of one source file. Every node carries its [`Span`]; spans are ignored by
//! equality, so two trees compare by structure.

use crate::source::Span;

/// A parsed source file.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct File {
    /// Top-level items in source order.
    pub items: Vec<Item>,
    /// Every comment in the file, in source order (kept for the formatter).
    pub comments: Vec<Comment>,
}

/// A `# …` comment.
#[derive(Clone, Debug, PartialEq)]
pub struct Comment {
    /// The comment text including the `#`, without the line ending.
    pub text: String,
    /// Where it is.
    pub span: Span,
}

/// An identifier as written.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name.
    pub name: String,
    /// Where it is.
    pub span: Span,
}

/// A string literal: its value and its source text.
#[derive(Clone, Debug, PartialEq)]
pub struct Str {
    /// The value, escapes decoded (verbatim for triple-quoted strings).
    pub value: String,
    /// The literal as written, quotes included.
    pub raw: String,
    /// Where it is.
    pub span: Span,
}

/// A number literal.
#[derive(Clone, Debug, PartialEq)]
pub struct Number {
    /// The value.
    pub value: f64,
    /// The literal as written.
    pub raw: String,
    /// Where it is.
    pub span: Span,
}

/// A name: `id` for a local item or `ns.id` for one from an imported framework.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// The import namespace, if qualified.
    pub namespace: Option<Ident>,
    /// The item's id.
    pub id: Ident,
    /// The whole reference.
    pub span: Span,
}

impl Reference {
    /// The reference as written, `ns.id` or `id`.
    pub fn display(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}.{}", ns.name, self.id.name),
            None => self.id.name.clone(),
        }
    }
}

/// A context of a `prefer`, `wiser` or rule: a bare word or a phrase.
#[derive(Clone, Debug, PartialEq)]
pub enum Context {
    /// `when family`
    Word(Ident),
    /// `in "politicised contexts"`
    Phrase(Str),
}

impl Context {
    /// The context's text.
    pub fn text(&self) -> &str {
        match self {
            Context::Word(i) => &i.name,
            Context::Phrase(s) => &s.value,
        }
    }

    /// Where it is.
    pub fn span(&self) -> Span {
        match self {
            Context::Word(i) => i.span,
            Context::Phrase(s) => s.span,
        }
    }
}

/// A top-level item.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// `framework id "label" { … }`
    Framework(Framework),
    /// `use "path.qd" as ns`
    Use(Use),
    /// `map value => ns.label, …`
    Map(Map),
    /// `conflict`, `prefer` or `wiser`
    Relation(Box<Relation>),
    /// `rule id "text" { … }`
    Rule(Rule),
    /// `profile id "label" { … }`
    Profile(Profile),
    /// `scenario id "label" { … }`: a dilemma template
    Scenario(Scenario),
    /// `suite id "label" { … }`: what to expand, how many, how balanced
    Suite(Suite),
    /// `prompt id "label" { … }`: how scenarios are shown to a model
    Prompt(Prompt),
    /// `steer id "label" { … }`: a system prompt toward or away from values
    Steer(Steer),
    /// `constitution id "label" { principle "…" … }`
    Constitution(Constitution),
    /// `judge id "label" { system …  user …  verdict … }`: how a free-form answer is judged
    Judge(Judge),
    /// `question id "text" { option …  reference … }`: a survey question
    Question(Question),
    /// `stance id "country" { statement …  reversed … }`: a country's stance
    Stance(Stance),
    /// `populations { "United Kingdom" alias "Britain", … }`: spellings of populations
    Populations(Populations),
    /// A value node, `keyword id "label" { … }`
    Node(Box<Node>),
}

impl Item {
    /// Where the item is.
    pub fn span(&self) -> Span {
        match self {
            Item::Framework(x) => x.span,
            Item::Use(x) => x.span,
            Item::Map(x) => x.span,
            Item::Relation(x) => x.span,
            Item::Rule(x) => x.span,
            Item::Profile(x) => x.span,
            Item::Scenario(x) => x.span,
            Item::Suite(x) => x.span,
            Item::Prompt(x) => x.span,
            Item::Steer(x) => x.span,
            Item::Constitution(x) => x.span,
            Item::Judge(x) => x.span,
            Item::Question(x) => x.span,
            Item::Stance(x) => x.span,
            Item::Populations(x) => x.span,
            Item::Node(x) => x.span,
        }
    }
}

/// A block's braces, kept so the formatter knows where comments sit.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Braces {
    /// The `{`.
    pub open: Span,
    /// The `}`.
    pub close: Span,
}

/// The framework header.
#[derive(Clone, Debug, PartialEq)]
pub struct Framework {
    /// Its id.
    pub id: Ident,
    /// Its label.
    pub label: Option<Str>,
    /// Its attributes, in source order.
    pub attributes: Vec<FrameworkAttribute>,
    /// The block's braces, if it has a block.
    pub braces: Option<Braces>,
    /// The whole item.
    pub span: Span,
}

/// An attribute of the framework header.
#[derive(Clone, Debug, PartialEq)]
pub enum FrameworkAttribute {
    /// `source "…"`
    Source(Str, Span),
    /// `version "…"`
    Version(Str, Span),
    /// `license "…"`
    License(Str, Span),
    /// `levels a, b, c`
    Levels(Vec<Ident>, Span),
    /// `describe "…"`
    Describe(Str, Span),
    /// `zh "…"`
    Translation(Translation),
}

impl FrameworkAttribute {
    /// Where the attribute is.
    pub fn span(&self) -> Span {
        match self {
            FrameworkAttribute::Source(_, s)
            | FrameworkAttribute::Version(_, s)
            | FrameworkAttribute::License(_, s)
            | FrameworkAttribute::Levels(_, s)
            | FrameworkAttribute::Describe(_, s) => *s,
            FrameworkAttribute::Translation(t) => t.span,
        }
    }
}

/// A translated label, `zh "国家"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Translation {
    /// The language tag.
    pub lang: Ident,
    /// The translated text.
    pub text: Str,
    /// The whole attribute.
    pub span: Span,
}

/// `use "path.qd" as ns`
#[derive(Clone, Debug, PartialEq)]
pub struct Use {
    /// The path, relative to the importing file.
    pub path: Str,
    /// The namespace the imported names live under.
    pub namespace: Ident,
    /// The whole item.
    pub span: Span,
}

/// `map value => ns.label, …`
#[derive(Clone, Debug, PartialEq)]
pub struct Map {
    /// The value being placed.
    pub value: Reference,
    /// Its places in other frameworks.
    pub targets: Vec<Reference>,
    /// The whole item.
    pub span: Span,
}

pub use crate::model::RelationKind;

/// `conflict a <> b`, `prefer a > b when ctx`, `wiser a > b in "ctx"`, each with an optional
/// `weight` and `note`.
#[derive(Clone, Debug, PartialEq)]
pub struct Relation {
    /// Which relation.
    pub kind: RelationKind,
    /// The left side.
    pub left: Reference,
    /// The right side.
    pub right: Reference,
    /// The context (`prefer` and `wiser` only).
    pub context: Option<Context>,
    /// `weight N`
    pub weight: Option<Number>,
    /// `note "…"`
    pub note: Option<Str>,
    /// The order `weight` and `note` were written in (true: weight first), kept by the formatter.
    pub weight_first: bool,
    /// The whole item.
    pub span: Span,
}

/// `rule id "text" { upholds …  violates …  context … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Its id.
    pub id: Ident,
    /// The rule's text.
    pub text: Str,
    /// Its attributes, in source order.
    pub attributes: Vec<RuleAttribute>,
    /// The block's braces, if it has a block.
    pub braces: Option<Braces>,
    /// The whole item.
    pub span: Span,
}

/// An attribute of a rule.
#[derive(Clone, Debug, PartialEq)]
pub enum RuleAttribute {
    /// `upholds a, b`
    Upholds(Vec<Reference>, Span),
    /// `violates a, b`
    Violates(Vec<Reference>, Span),
    /// `context health, "public office"`
    Context(Vec<Context>, Span),
    /// `describe "…"`
    Describe(Str, Span),
    /// `zh "…"`
    Translation(Translation),
}

impl RuleAttribute {
    /// Where the attribute is.
    pub fn span(&self) -> Span {
        match self {
            RuleAttribute::Upholds(_, s)
            | RuleAttribute::Violates(_, s)
            | RuleAttribute::Context(_, s)
            | RuleAttribute::Describe(_, s) => *s,
            RuleAttribute::Translation(t) => t.span,
        }
    }
}

/// `profile id "label" { value weight … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Profile {
    /// Its id.
    pub id: Ident,
    /// Its label.
    pub label: Option<Str>,
    /// `describe "…"`, if given.
    pub entries: Vec<ProfileEntry>,
    /// The braces.
    pub braces: Braces,
    /// The whole item.
    pub span: Span,
}

/// A line of a profile.
#[derive(Clone, Debug, PartialEq)]
pub enum ProfileEntry {
    /// `describe "…"`
    Describe(Str, Span),
    /// `value 0.8`
    Weight(Reference, Number, Span),
}

impl ProfileEntry {
    /// Where the entry is.
    pub fn span(&self) -> Span {
        match self {
            ProfileEntry::Describe(_, s) | ProfileEntry::Weight(_, _, s) => *s,
        }
    }
}

/// A value node: `keyword id "label" { … }`.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    /// The level keyword.
    pub keyword: Ident,
    /// Its id.
    pub id: Ident,
    /// Its label.
    pub label: Option<Str>,
    /// Attributes and children, in source order.
    pub entries: Vec<NodeEntry>,
    /// The block's braces, if it has a block.
    pub braces: Option<Braces>,
    /// The whole node.
    pub span: Span,
}

/// What a node's block holds.
#[derive(Clone, Debug, PartialEq)]
pub enum NodeEntry {
    /// `describe "…"`
    Describe(Str, Span),
    /// `kind duty`
    Kind(Ident, Span),
    /// `alias "a", "b"`
    Alias(Vec<Str>, Span),
    /// `zh "…"`
    Translation(Translation),
    /// A nested node.
    Child(Node),
}

impl NodeEntry {
    /// Where the entry is.
    pub fn span(&self) -> Span {
        match self {
            NodeEntry::Describe(_, s) | NodeEntry::Kind(_, s) | NodeEntry::Alias(_, s) => *s,
            NodeEntry::Translation(t) => t.span,
            NodeEntry::Child(n) => n.span,
        }
    }
}

/// `scenario id "label" { … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    /// Its id.
    pub id: Ident,
    /// Its label.
    pub label: Option<Str>,
    /// Its entries, in source order.
    pub entries: Vec<ScenarioEntry>,
    /// The braces.
    pub braces: Braces,
    /// The whole item.
    pub span: Span,
}

/// What a scenario's block holds.
#[derive(Clone, Debug, PartialEq)]
pub enum ScenarioEntry {
    /// `topic workplace`
    Topic(Context, Span),
    /// `slot role = ["nurse", "teacher"]` or `slot v = children(justice)`
    Slot(Slot),
    /// `pick a, b from conflicts(…)`
    Pick(Pick),
    /// `text """…"""` or `text.fr """…"""`
    Text(Text),
    /// `action id "label" { … }`
    Action(Action),
    /// `describe "…"`
    Describe(Str, Span),
    /// `verbatim`: texts and labels are taken as written, not as templates
    Verbatim(Span),
    /// `show 3 diverse`: how many of the actions each scenario shows, and how they are drawn
    Show(Number, Option<Ident>, Span),
}

impl ScenarioEntry {
    /// Where the entry is.
    pub fn span(&self) -> Span {
        match self {
            ScenarioEntry::Topic(_, s)
            | ScenarioEntry::Describe(_, s)
            | ScenarioEntry::Verbatim(s)
            | ScenarioEntry::Show(_, _, s) => *s,
            ScenarioEntry::Slot(x) => x.span,
            ScenarioEntry::Pick(x) => x.span,
            ScenarioEntry::Text(x) => x.span,
            ScenarioEntry::Action(x) => x.span,
        }
    }
}

/// `slot name = …`
#[derive(Clone, Debug, PartialEq)]
pub struct Slot {
    /// The variable it binds.
    pub name: Ident,
    /// What it ranges over.
    pub domain: SlotDomain,
    /// The whole entry.
    pub span: Span,
}

/// What a slot ranges over.
#[derive(Clone, Debug, PartialEq)]
pub enum SlotDomain {
    /// `["a", "b"]`
    Strings(Vec<Str>, Span),
    /// `children(x)` and the like.
    Call(SetCall),
}

/// `name(arg, …)`: a set drawn from the framework.
#[derive(Clone, Debug, PartialEq)]
pub struct SetCall {
    /// The function.
    pub function: Ident,
    /// Its arguments.
    pub args: Vec<SetArg>,
    /// The whole call.
    pub span: Span,
}

/// An argument of a [`SetCall`].
#[derive(Clone, Debug, PartialEq)]
pub enum SetArg {
    /// A name.
    Reference(Reference),
    /// A string.
    Text(Str),
    /// `ns.*`: everything of the file imported as `ns`.
    Namespace(Ident, Span),
}

impl SetArg {
    /// Where the argument is.
    pub fn span(&self) -> Span {
        match self {
            SetArg::Reference(r) => r.span,
            SetArg::Text(s) => s.span,
            SetArg::Namespace(_, span) => *span,
        }
    }
}

/// `pick a, b from conflicts(…)`
#[derive(Clone, Debug, PartialEq)]
pub struct Pick {
    /// The two variables bound.
    pub names: [Ident; 2],
    /// Where the pair is drawn from.
    pub from: SetCall,
    /// The whole entry.
    pub span: Span,
}

/// `text """…"""` or `text.fr """…"""`
#[derive(Clone, Debug, PartialEq)]
pub struct Text {
    /// The language of a variant; `None` for the main text.
    pub lang: Option<Ident>,
    /// The template.
    pub template: Str,
    /// The whole entry.
    pub span: Span,
}

/// `action id "label" { upholds …  violates …  affects …  follows r  distractor }`
#[derive(Clone, Debug, PartialEq)]
pub struct Action {
    /// Its id.
    pub id: Ident,
    /// Its label (a template).
    pub label: Option<Str>,
    /// Its attributes, in source order.
    pub attributes: Vec<ActionAttribute>,
    /// The block's braces, if it has a block.
    pub braces: Option<Braces>,
    /// The whole entry.
    pub span: Span,
}

/// An attribute of an action.
#[derive(Clone, Debug, PartialEq)]
pub enum ActionAttribute {
    /// `upholds a, honesty relevance 0.5`: the values, and each one's relevance as written
    /// (`None`: not written, 1)
    Upholds(Vec<Reference>, Vec<Option<Number>>, Span),
    /// `violates b`
    Violates(Vec<Reference>, Span),
    /// `upholds indirectly trust`: values upheld through the action's consequences, each
    /// with its relevance as written
    UpholdsIndirectly(Vec<Reference>, Vec<Option<Number>>, Span),
    /// `either privacy`: values the action could serve or go against (ValuePrism's valence
    /// `either`)
    Either(Vec<Reference>, Span),
    /// `violates indirectly trust`
    ViolatesIndirectly(Vec<Reference>, Span),
    /// `affects colleague -, company +`
    Affects(Vec<Party>, Span),
    /// `affects indirectly "the team"`: parties affected through the consequences
    AffectsIndirectly(Vec<Party>, Span),
    /// `follows r1`: the action follows a picked rule
    Follows(Ident, Span),
    /// `distractor`: an irrelevant option
    Distractor(Span),
    /// `describe "…"`
    Describe(Str, Span),
    /// `zh "…"`: the label in another language
    Translation(Translation),
}

impl ActionAttribute {
    /// Where the attribute is.
    pub fn span(&self) -> Span {
        match self {
            ActionAttribute::Upholds(_, _, s)
            | ActionAttribute::Violates(_, s)
            | ActionAttribute::UpholdsIndirectly(_, _, s)
            | ActionAttribute::Either(_, s)
            | ActionAttribute::ViolatesIndirectly(_, s)
            | ActionAttribute::Affects(_, s)
            | ActionAttribute::AffectsIndirectly(_, s)
            | ActionAttribute::Follows(_, s)
            | ActionAttribute::Distractor(s)
            | ActionAttribute::Describe(_, s) => *s,
            ActionAttribute::Translation(t) => t.span,
        }
    }
}

/// A party an action affects, with the sign of the effect.
#[derive(Clone, Debug, PartialEq)]
pub struct Party {
    /// Who.
    pub name: Context,
    /// `+` or `-`, if given.
    pub sign: Option<char>,
    /// The whole party.
    pub span: Span,
}

/// `suite id "label" { … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Suite {
    /// Its id.
    pub id: Ident,
    /// Its label.
    pub label: Option<Str>,
    /// Its settings, in source order.
    pub settings: Vec<SuiteSetting>,
    /// The braces.
    pub braces: Braces,
    /// The whole item.
    pub span: Span,
}

/// A setting of a suite.
#[derive(Clone, Debug, PartialEq)]
pub enum SuiteSetting {
    /// `seed 42`
    Seed(Number, Span),
    /// `from a, b`
    From(Vec<Reference>, Span),
    /// `count 1000`
    Count(Number, Span),
    /// `each 3`
    Each(Number, Span),
    /// `balance pairs` / `balance diverse`
    Balance(Ident, Span),
    /// `twins order`
    Twins(Ident, Span),
    /// `require conflict`
    Require(Ident, Span),
    /// `dedupe`
    Dedupe(Span),
    /// `distractors 0.3`
    Distractors(Number, Span),
    /// `order fixed` / `order shuffled`
    Order(Ident, Span),
    /// `persona "Answer as someone from {{ population }} would."`
    Persona(Str, Span),
    /// `pass "France" 0.8`, or `pass 0.8` for every population
    Pass(Option<Str>, Number, Span),
    /// `languages zh, de`
    Languages(Vec<Ident>, Span),
    /// `judge strict`: the judge of the suite's free-form answers
    Judge(Reference, Span),
    /// `describe "…"`
    Describe(Str, Span),
}

impl SuiteSetting {
    /// Where the setting is.
    pub fn span(&self) -> Span {
        match self {
            SuiteSetting::Seed(_, s)
            | SuiteSetting::From(_, s)
            | SuiteSetting::Count(_, s)
            | SuiteSetting::Each(_, s)
            | SuiteSetting::Balance(_, s)
            | SuiteSetting::Twins(_, s)
            | SuiteSetting::Require(_, s)
            | SuiteSetting::Dedupe(s)
            | SuiteSetting::Distractors(_, s)
            | SuiteSetting::Order(_, s)
            | SuiteSetting::Persona(_, s)
            | SuiteSetting::Pass(_, _, s)
            | SuiteSetting::Languages(_, s)
            | SuiteSetting::Judge(_, s)
            | SuiteSetting::Describe(_, s) => *s,
        }
    }
}

/// An attribute of a `prompt`, `steer`, `constitution` or `judge` block.
#[derive(Clone, Debug, PartialEq)]
pub enum PresentationAttribute {
    /// `system "…"`, or `system.zh "…"` in another language
    System(Option<Ident>, Str, Span),
    /// `user """…"""`: the user message template (`user.zh` in another language)
    User(Option<Ident>, Str, Span),
    /// `labels letters` / `labels actions`
    Labels(Ident, Span),
    /// `instruction "…"` (`instruction.zh` in another language)
    Instruction(Option<Ident>, Str, Span),
    /// `answer choice` / `answer reasoning`
    Answer(Ident, Span),
    /// `toward a, b`
    Toward(Vec<Reference>, Span),
    /// `away a, b`
    Away(Vec<Reference>, Span),
    /// `principle "…"`
    Principle(Str, Span),
    /// `verdict stance`, `verdict labels a, b`, `verdict scale 1 to 5` (a judge's)
    Verdict(Verdict, Span),
    /// `source "…"`
    Source(Str, Span),
    /// `describe "…"`
    Describe(Str, Span),
}

impl PresentationAttribute {
    /// Where the attribute is.
    pub fn span(&self) -> Span {
        match self {
            PresentationAttribute::System(_, _, s)
            | PresentationAttribute::User(_, _, s)
            | PresentationAttribute::Labels(_, s)
            | PresentationAttribute::Instruction(_, _, s)
            | PresentationAttribute::Answer(_, s)
            | PresentationAttribute::Toward(_, s)
            | PresentationAttribute::Away(_, s)
            | PresentationAttribute::Principle(_, s)
            | PresentationAttribute::Verdict(_, s)
            | PresentationAttribute::Source(_, s)
            | PresentationAttribute::Describe(_, s) => *s,
        }
    }
}

/// A block of presentation attributes with an id and a label: `prompt`, `steer`,
/// `constitution` and `judge` share this shape.
#[derive(Clone, Debug, PartialEq)]
pub struct PresentationBlock {
    /// Its id.
    pub id: Ident,
    /// Its label.
    pub label: Option<Str>,
    /// Its attributes, in source order.
    pub attributes: Vec<PresentationAttribute>,
    /// The braces.
    pub braces: Braces,
    /// The whole item.
    pub span: Span,
}

/// `prompt id "label" { system …  user …  labels …  instruction … }`
pub type Prompt = PresentationBlock;
/// `steer id "label" { system …  toward …  away … }`
pub type Steer = PresentationBlock;
/// `constitution id "label" { principle "…" … }`
pub type Constitution = PresentationBlock;
/// `judge id "label" { system …  user …  instruction …  verdict … }`
pub type Judge = PresentationBlock;

/// What a judge's `verdict` says it answers, as written.
#[derive(Clone, Debug, PartialEq)]
pub enum Verdict {
    /// A kind named by its word alone: `actions`, `stance`, or a word that is none (also
    /// `labels` without labels and `scale` without bounds), for the resolver to report.
    Word(Ident),
    /// `labels western, eastern, islamic`
    Labels(Vec<Ident>),
    /// `scale 1 to 5`: the lowest and the highest mark
    Scale(Number, Number),
}

/// `question id "text" { source …  option …  reference … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// Its id.
    pub id: Ident,
    /// The question as it is put.
    pub text: Str,
    /// Its entries, in source order.
    pub entries: Vec<QuestionEntry>,
    /// The block's braces, if it has a block.
    pub braces: Option<Braces>,
    /// The whole item.
    pub span: Span,
}

/// What a question's block holds.
#[derive(Clone, Debug, PartialEq)]
pub enum QuestionEntry {
    /// `option very "Very important"`
    Option(QuestionOption),
    /// `reference "France" [0.4, 0.5, 0.1]`
    Reference(ReferenceAnswers),
    /// `text.zh "…"`: the question in another language (`None`: a plain `text`, which a
    /// question does not take: its text follows its id).
    Text(Option<Ident>, Str, Span),
    /// `source "…"`
    Source(Str, Span),
    /// `describe "…"`
    Describe(Str, Span),
}

impl QuestionEntry {
    /// Where the entry is.
    pub fn span(&self) -> Span {
        match self {
            QuestionEntry::Option(o) => o.span,
            QuestionEntry::Reference(r) => r.span,
            QuestionEntry::Source(_, s)
            | QuestionEntry::Describe(_, s)
            | QuestionEntry::Text(_, _, s) => *s,
        }
    }
}

/// `option id "label"`: one answer a question offers.
#[derive(Clone, Debug, PartialEq)]
pub struct QuestionOption {
    /// Its id.
    pub id: Ident,
    /// The answer as it is shown.
    pub label: Str,
    /// The answer in other languages (`zh "…"` after the label).
    pub translations: Vec<Translation>,
    /// The whole entry.
    pub span: Span,
}

/// `reference "France" [0.40, 0.50, 0.10]`: how a population answered, one share per
/// option in the order of the options.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferenceAnswers {
    /// The population.
    pub population: Str,
    /// The shares, as written.
    pub shares: Vec<Number>,
    /// The bracketed list.
    pub list_span: Span,
    /// The whole entry.
    pub span: Span,
}

/// `populations { "name" alias "spelling", … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Populations {
    /// One line per population: its name, then the spellings that mean it.
    pub entries: Vec<PopulationAliases>,
    /// The block's braces.
    pub braces: Braces,
    /// The whole item.
    pub span: Span,
}

/// `"United Kingdom" alias "Britain", "Great Britain"`
#[derive(Clone, Debug, PartialEq)]
pub struct PopulationAliases {
    /// The population's name.
    pub name: Str,
    /// The other spellings of it.
    pub aliases: Vec<Str>,
    /// The whole line.
    pub span: Span,
}

/// `stance id "country" { question …  statement …  reversed … }`
#[derive(Clone, Debug, PartialEq)]
pub struct Stance {
    /// Its id.
    pub id: Ident,
    /// The country whose stance it is.
    pub country: Str,
    /// Its attributes, in source order.
    pub attributes: Vec<StanceAttribute>,
    /// The block's braces, if it has a block.
    pub braces: Option<Braces>,
    /// The whole item.
    pub span: Span,
}

/// An attribute of a stance.
#[derive(Clone, Debug, PartialEq)]
pub enum StanceAttribute {
    /// `question "…"` (`question.zh "…"` in another language): the question the stance
    /// answers
    Question(Option<Ident>, Str, Span),
    /// `statement "…"` (`statement.zh`): the stance
    Statement(Option<Ident>, Str, Span),
    /// `reversed "…"` (`reversed.zh`): the opposite stance
    Reversed(Option<Ident>, Str, Span),
    /// `source "…"`
    Source(Str, Span),
    /// `describe "…"`
    Describe(Str, Span),
}

impl StanceAttribute {
    /// Where the attribute is.
    pub fn span(&self) -> Span {
        match self {
            StanceAttribute::Question(_, _, s)
            | StanceAttribute::Statement(_, _, s)
            | StanceAttribute::Reversed(_, _, s)
            | StanceAttribute::Source(_, s)
            | StanceAttribute::Describe(_, s) => *s,
        }
    }
}
