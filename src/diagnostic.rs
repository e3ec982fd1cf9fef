//! Diagnostics as data: every phase returns all of its errors and warnings as [`Diagnostic`]s;
//! only the command-line tool renders them (see [`crate::render`]).

use std::fmt;

use crate::source::Span;

/// How serious a diagnostic is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Something is probably wrong, but the input still means something.
    Warning,
    /// The input is wrong; nothing downstream may rely on it.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, $severity:ident, $summary:literal; )*) => {
        /// The stable code of a diagnostic. Codes never change meaning; `docs/language.md`
        /// lists them all.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in numeric order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// The code as written in diagnostics, e.g. `Q0101`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// The severity a diagnostic with this code has.
            pub fn severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }

            /// One line saying what the code means.
            pub fn summary(self) -> &'static str {
                match self { $( Code::$variant => $summary, )* }
            }
        }
    };
}

codes! {
    /// A file could not be read: missing, a directory, or unreadable.
    Io = "Q0001", Error, "a file cannot be read";
    /// A file is not valid UTF-8.
    NotUtf8 = "Q0002", Error, "a file is not UTF-8 text";
    /// The text does not follow the grammar.
    Syntax = "Q0003", Error, "syntax error";
    /// A string is never closed.
    UnterminatedString = "Q0004", Error, "unterminated string";
    /// A backslash escape that the language does not know.
    InvalidEscape = "Q0005", Error, "invalid escape in a string";
    /// A `{` without its `}`.
    UnclosedBlock = "Q0006", Error, "a block is never closed";
    /// A `}` without its `{`.
    UnmatchedClose = "Q0007", Error, "a `}` closes nothing";
    /// Blocks nested deeper than the language allows.
    TooDeep = "Q0008", Error, "blocks nested too deeply";
    /// A name that does not refer to anything.
    UnknownReference = "Q0101", Error, "unknown reference";
    /// Two items with one id.
    DuplicateId = "Q0102", Error, "duplicate id";
    /// A node keyword that is not one of the framework's levels.
    UnknownLevel = "Q0103", Error, "unknown level keyword";
    /// A node nested more than one level below its parent.
    SkippedLevel = "Q0104", Error, "nesting skips a level";
    /// A node at or above its parent's level, or a top-level node below the outermost level.
    MisorderedLevel = "Q0105", Error, "nesting out of level order";
    /// A `use` whose file cannot be read.
    ImportMissing = "Q0106", Error, "imported file cannot be read";
    /// Files that import each other in a cycle.
    ImportCycle = "Q0107", Error, "import cycle";
    /// An `ns.id` reference whose namespace is not imported.
    UnknownNamespace = "Q0108", Error, "unknown namespace";
    /// Two imports under one namespace.
    DuplicateNamespace = "Q0109", Error, "duplicate namespace";
    /// More than one `framework` header in one file.
    DuplicateFramework = "Q0110", Error, "more than one framework header";
    /// A `levels` list that repeats a keyword or uses a reserved word.
    InvalidLevels = "Q0111", Error, "invalid levels";
    /// A `kind` other than `value`, `right` or `duty`.
    UnknownKind = "Q0112", Error, "unknown kind";
    /// A reference to an item of the wrong sort, e.g. a rule where a value is needed.
    WrongSort = "Q0113", Error, "reference to the wrong sort of item";
    /// An attribute given twice where it may appear once.
    DuplicateAttribute = "Q0114", Error, "attribute given twice";
    /// Two slots or picks of one scenario bind the same variable.
    DuplicateVariable = "Q0115", Error, "variable bound twice";
    /// A set function that does not exist.
    UnknownFunction = "Q0116", Error, "unknown set function";
    /// A set function given arguments it cannot take.
    BadArgument = "Q0117", Error, "bad argument";
    /// A scenario without a text, or with fewer than two options.
    IncompleteScenario = "Q0118", Error, "incomplete scenario";
    /// A suite setting with a value it cannot take.
    InvalidSetting = "Q0119", Error, "invalid suite setting";
    /// A template that is not valid minijinja.
    TemplateSyntax = "Q0120", Error, "template syntax error";
    /// A template variable that is neither a slot nor a pick.
    UnknownVariable = "Q0121", Error, "unknown template variable";
    /// A pick that has no pair to draw from.
    NoCandidates = "Q0122", Error, "pick has no candidate";
    /// A suite asking for more scenarios than the configured maximum.
    SuiteTooLarge = "Q0123", Error, "suite too large";
    /// A template that fails while rendering a scenario.
    TemplateRuntime = "Q0124", Error, "template failed to render";
    /// A steer without a system prompt, a constitution without principles, or a judge
    /// without a verdict.
    IncompletePresentation = "Q0125", Error, "incomplete steer, constitution or judge";
    /// A question without text or with fewer than two options; a stance without a country,
    /// its statement or its reversal.
    IncompleteQuestion = "Q0126", Error, "incomplete question or stance";
    /// A reference distribution of the wrong length, or with negative or non-finite shares.
    InvalidDistribution = "Q0127", Error, "invalid reference distribution";
    /// A `verbatim` scenario with slots or picks.
    VerbatimVariables = "Q0128", Error, "variables in a verbatim scenario";
    /// A suite with `require conflict` none of whose bindings can meet it.
    UnsatisfiableRequirement = "Q0129", Error, "requirement no scenario can meet";
    /// A suite is asked in a language some text it sends has no version in.
    MissingTranslation = "Q0130", Error, "missing translation";
    /// A spelling in a `populations` table that already means a population.
    PopulationSpelledTwice = "Q0131", Error, "population spelling given twice";
    /// A relation between a value and itself.
    SelfRelation = "Q0201", Error, "a value related to itself";
    /// `prefer` relations that form a cycle in one context.
    PreferCycle = "Q0202", Error, "cycle of preferences";
    /// A weight outside its allowed range.
    WeightOutOfRange = "Q0203", Error, "weight out of range";
    /// A rule that upholds and violates one value.
    ContradictoryRule = "Q0204", Error, "rule upholds and violates one value";
    /// A profile that weighs one value twice.
    DuplicateWeight = "Q0205", Error, "value weighed twice in a profile";
    /// An upheld value's relevance outside [0, 1].
    RelevanceOutOfRange = "Q0206", Error, "relevance out of range";
    /// A row of an imported data file that cannot be read; the row is left out.
    ImportRow = "Q0401", Error, "malformed row in imported data";
    /// Imported data uses a label its label set lacks; the label is added.
    ImportExtraLabel = "Q0402", Warning, "label missing from the label set";
    /// An entry of imported data given twice (a card, a vote); the later one is left out.
    ImportDuplicate = "Q0403", Warning, "duplicate entry in imported data";
    /// Two population names of imported data that are likely one population, which the
    /// built-in alias table does not merge.
    ImportLikelySamePopulation = "Q0404", Warning, "two names likely of one population";
    /// A row of imported data that disagrees with the framework in a way the import
    /// reconciles (a CVC rule's level that is not the dimension of its core values); the row
    /// is imported.
    ImportReconciled = "Q0405", Warning, "imported row reconciled with the framework";
    /// The model cannot be asked at all (its server unreachable, the key refused): the run
    /// stops before the first request.
    AdapterUnavailable = "Q0501", Error, "the model cannot be asked";
    /// Too many requests in a row failed (`eval --max-errors`): the run stops, keeping what
    /// was answered.
    TooManyErrors = "Q0502", Error, "too many requests failed in a row";
    /// A Batch API refused a request or failed a batch as a whole (`eval --batch`).
    BatchFailed = "Q0510", Error, "the batch API failed";
    /// The state file of a batch run names other requests than the run's, or cannot be
    /// read (`eval --batch`).
    BatchInFlight = "Q0511", Error, "another batch in flight";
    /// A value that no relation, rule, mapping or profile refers to.
    UnreferencedValue = "Q0301", Warning, "value referenced by nothing";
    /// The same relation (or mapping) declared twice.
    DuplicateRelation = "Q0302", Warning, "relation declared twice";
    /// Two values with the same label.
    DuplicateLabel = "Q0303", Warning, "duplicate label";
    /// A suite asking for more scenarios than there are distinct ones.
    CountExceedsSpace = "Q0304", Warning, "more scenarios than distinct bindings";
    /// A value that a suite's scenarios are meant to pose but never can.
    UnposableValue = "Q0305", Warning, "value no suite can pose";
    /// A reference distribution whose shares do not sum to 1; it is normalised.
    UnnormalisedDistribution = "Q0306", Warning, "distribution does not sum to 1";
    /// A suite setting that can have no effect: a pass mark for a population no question of
    /// the suite has a reference for, or a persona or pass mark in a suite without questions
    /// or without references.
    IneffectiveSetting = "Q0307", Warning, "suite setting without effect";
    /// A suite with `require conflict` that no binding tried could meet.
    RareRequirement = "Q0308", Warning, "requirement rarely met";
    /// Two populations named in the sources that are likely one, and that no `populations`
    /// line makes one.
    LikelySamePopulation = "Q0309", Warning, "two names likely of one population";
    /// A line of a `populations` table whose population nothing names.
    UnusedPopulation = "Q0310", Warning, "population spellings nothing uses";
    /// `drift` was given journals of different suites.
    DifferentSuites = "Q0601", Error, "runs of different suites";
    /// A line of a network file that is not an edge.
    NetworkLine = "Q0602", Error, "malformed line in a network file";
    /// A network names an agent the profiles do not declare.
    UnknownAgent = "Q0603", Error, "unknown agent in a network";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A span in the source with what it shows.
#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What this place has to do with the diagnostic (may be empty).
    pub message: String,
}

/// One error or warning.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong: lowercase, no final period, the user's identifiers in backticks.
    pub message: String,
    /// Places in the source; the first is the primary one.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
    /// The file the diagnostic is about when no label points into it (e.g. a missing file).
    pub path: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with `code`'s severity and no labels.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: Vec::new(),
            help: None,
            path: None,
        }
    }

    /// Adds a label (the first added is the primary one).
    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// Names the file the diagnostic is about when it has no label.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The primary span, if any.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for Diagnostic {}

/// Sorts diagnostics into the order they are shown: by file, position, then code.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| {
        let span = d.primary_span();
        (
            span.and_then(|s| s.file),
            span.map(|s| s.start),
            d.path.clone(),
            d.code,
        )
    });
}
