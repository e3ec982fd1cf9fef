//! From syntax trees to the resolved [`Framework`]: loads imports, declares every item,
//! checks the level nesting and binds every reference, collecting all diagnostics.

use std::collections::{BTreeSet, HashMap};
use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::{FileId, SourceMap, Span};
use crate::suggest;
use crate::syntax::{self, RESERVED, ast};

/// The words each setting takes, by the block it is in and its keyword: what resolving
/// accepts (any other word is an error with these as its help) and what an editor offers.
pub const SETTING_WORDS: &[(&str, &str, &[&str])] = &[
    ("scenario", "show", &["diverse", "random"]),
    ("suite", "balance", &["pairs", "diverse"]),
    ("suite", "twins", &["order"]),
    ("suite", "require", &["conflict"]),
    ("suite", "order", &["fixed", "shuffled"]),
    ("prompt", "labels", &["letters", "actions"]),
    ("prompt", "answer", &["choice", "reasoning", "free"]),
    ("judge", "verdict", &Verdict::KINDS),
    ("value", "kind", &ValueKind::NAMES),
];

/// The words `setting` takes in a `block` (`value` for any node of the hierarchy); none for
/// a setting that takes no word.
pub fn setting_words(block: &str, setting: &str) -> &'static [&'static str] {
    SETTING_WORDS
        .iter()
        .find(|(b, s, _)| *b == block && *s == setting)
        .map_or(&[], |(_, _, words)| words)
}

mod bind;
mod declare;
mod files;
mod scenarios;
mod suites;

/// Where source files come from: the file system, memory, or anything an embedder provides.
pub trait Loader {
    /// The text of the file at `path`, or a message saying why it cannot be read
    /// (lowercase, e.g. "no such file").
    fn read(&mut self, path: &Path) -> Result<Vec<u8>, String>;

    /// A key identifying the file at `path`, so a file imported twice is loaded once.
    fn key(&self, path: &Path) -> PathBuf {
        normalize(path)
    }
}

/// Reads files from disk.
#[derive(Debug, Default, Clone, Copy)]
pub struct FsLoader;

impl Loader for FsLoader {
    fn read(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        crate::input::read(path, crate::input::MAX_SOURCE)
    }

    fn key(&self, path: &Path) -> PathBuf {
        std::fs::canonicalize(path).unwrap_or_else(|_| normalize(path))
    }
}

/// Serves files from memory, for tests and embedders.
#[derive(Debug, Default, Clone)]
pub struct MemoryLoader {
    files: HashMap<PathBuf, String>,
}

impl MemoryLoader {
    /// An empty loader.
    pub fn new() -> Self {
        MemoryLoader::default()
    }

    /// Adds a file at `path`.
    pub fn with(mut self, path: impl AsRef<Path>, text: impl Into<String>) -> Self {
        self.files.insert(normalize(path.as_ref()), text.into());
        self
    }
}

impl Loader for MemoryLoader {
    fn read(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        self.files
            .get(&normalize(path))
            .map(|t| t.clone().into_bytes())
            .ok_or_else(|| "no such file".to_string())
    }
}

/// What resolving gives: the model, the resolver's diagnostics (not yet checked, sorted or
/// deduplicated), the sources, and which modules had syntax errors.
pub(crate) struct Resolved {
    pub framework: Framework,
    pub diagnostics: Vec<Diagnostic>,
    pub sources: SourceMap,
    /// Per module, whether its file had syntax errors (items may be missing).
    pub broken: Vec<bool>,
    /// Per module, its syntax tree (for tools that map positions to items: the language
    /// server).
    #[cfg_attr(not(feature = "lsp"), allow(dead_code))]
    pub trees: Vec<ast::File>,
}

/// Reads `paths` (and what they import) through `loader` and resolves them into one model.
/// Checking the model is a separate step ([`crate::check`]). The language server keeps the
/// trees; the rest of the crate resolves without them.
#[cfg_attr(not(feature = "lsp"), allow(dead_code))]
pub(crate) fn resolve<P: AsRef<Path>>(loader: &mut dyn Loader, paths: &[P]) -> Resolved {
    resolve_with(loader, paths, true)
}

/// [`resolve`] without the syntax trees (`Resolved::trees` is empty): a plain rule is
/// never held as a tree, so a large framework takes a fraction of the memory.
pub(crate) fn resolve_model<P: AsRef<Path>>(loader: &mut dyn Loader, paths: &[P]) -> Resolved {
    resolve_with(loader, paths, false)
}

fn resolve_with<P: AsRef<Path>>(
    loader: &mut dyn Loader,
    paths: &[P],
    keep_trees: bool,
) -> Resolved {
    let mut r = Resolver {
        contexts: Default::default(),
        keep_trees,
        loader,
        sources: SourceMap::new(),
        framework: Framework::default(),
        diagnostics: Vec::new(),
        by_key: HashMap::new(),
        stack: Vec::new(),
        asts: Vec::new(),
        suggested: HashMap::new(),
        labels: HashMap::new(),
        searches_left: MAX_SEARCHES,
    };
    for path in paths {
        let path = path.as_ref();
        if let Some(m) = r.load(path, None)
            && !r.framework.roots.contains(&m)
        {
            r.framework.roots.push(m);
        }
    }
    r.declare_all();
    r.bind_all();
    Resolved {
        broken: r.asts.iter().map(|a| a.broken).collect(),
        trees: if keep_trees {
            r.asts.into_iter().map(|a| a.file).collect()
        } else {
            Vec::new()
        },
        framework: r.framework,
        diagnostics: r.diagnostics,
        sources: r.sources,
    }
}

struct ModuleAst {
    /// The trees: every item, or (without `keep_trees`) every item but the plain rules.
    file: ast::File,
    /// Every item in source order: an index into `file`'s items, or a plain rule's offset.
    entries: Vec<syntax::Entry>,
    /// For each of `entries`, the rule or profile it declared (None for other items and
    /// for items whose id was a duplicate).
    declared: Vec<Option<ItemId>>,
    /// Namespaces whose `use` failed: references through them are not reported again.
    failed_imports: Vec<String>,
    /// The file had syntax errors: items may be missing, so references into it that fail
    /// to resolve are not reported.
    broken: bool,
    /// In a broken file, the words outside its parsed items: a name among them may be
    /// declared by a broken item, so a reference to it that fails is not reported.
    unparsed: BTreeSet<String>,
}

struct Resolver<'l> {
    loader: &'l mut dyn Loader,
    /// Every context text of a rule, held once.
    contexts: std::collections::HashSet<std::sync::Arc<str>>,
    /// Whether every item is parsed to a tree (for the language server), or plain rules
    /// are left as text.
    keep_trees: bool,
    sources: SourceMap,
    framework: Framework,
    diagnostics: Vec<Diagnostic>,
    by_key: HashMap<PathBuf, ModuleId>,
    /// Modules being loaded, with the `use` that led to each, for cycle detection.
    stack: Vec<(ModuleId, Option<Span>)>,
    asts: Vec<ModuleAst>,
    /// The help for each unknown name met, by module, name and namespace as written: a
    /// name misspelt, or left undefined by a missing `use`, again and again is looked for once.
    suggested: HashMap<(ModuleId, String, Option<String>), String>,
    /// Each module's values by their labels and aliases as written in place of an id
    /// (lowercase, `_` and `-` as spaces), made when a name is first not found in it.
    labels: HashMap<ModuleId, HashMap<String, crate::model::ValueId>>,
    /// How many more unknown names may be compared with every name of their module for a
    /// suggestion: a file of thousands of distinct unknown names must not cost thousands
    /// times the names (the rest get the help without a suggestion).
    searches_left: usize,
}

/// How many distinct unknown names get a suggestion from a comparison with every name of
/// their module.
const MAX_SEARCHES: usize = 200;

/// A template and where its text starts in the file (when offsets map one to one).
fn template(s: &ast::Str) -> Template {
    let quotes = if s.raw.starts_with("\"\"\"") {
        3
    } else if !s.raw.contains('\\') {
        1
    } else {
        0
    };
    Template {
        source: s.value.clone(),
        span: s.span,
        quotes,
    }
}

/// `action `x` is defined twice in scenario `s``: a member id repeated within its item.
fn duplicate_member(
    (member, id): (&str, &str),
    (owner, owner_id): (&str, &str),
    again: Span,
    first: Span,
) -> Diagnostic {
    Diagnostic::new(
        Code::DuplicateId,
        format!("{member} `{id}` is defined twice in {owner} `{owner_id}`"),
    )
    .label(again, "defined again here")
    .label(first, "first defined here")
    .help(format!("give each {member} of a {owner} its own id"))
}

fn duplicate_attribute(what: &str, span: Span) -> Diagnostic {
    Diagnostic::new(Code::DuplicateAttribute, format!("`{what}` is given twice"))
        .label(span, "given again here")
        .help("keep one of them")
}

fn backticked(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.as_slice() {
        [] => "none".into(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Removes `.` and resolves `..` lexically.
pub(crate) fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.components().next_back() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(".."),
            },
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Resolving without trees (plain rules left as text) gives the same model, spans
    /// included, and the same diagnostics as resolving with them.
    #[test]
    fn resolving_without_trees_changes_nothing() {
        // The shipped frameworks, read from disk with their imports, and one in memory.
        let mut cases: Vec<(String, Option<String>)> = std::fs::read_dir("scenarios")
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "qd"))
            .map(|p| (p.display().to_string(), None))
            .collect();
        assert!(!cases.is_empty());
        cases.push((
            "rules.qd".into(),
            "value a \"A\"\nvalue b \"B\" { value c }\n\
             rule r1 \"one\" { upholds a, b  violates c  context health, \"public office\" }\n\
             rule r1 \"again\" { upholds a }\n\
             rule a \"a value's id\"\n\
             rule r2 \"unknown\" { upholds nope, ns.x, r1 }\n\
             rule r3 \"tree\" { upholds a  describe \"d\"  zh \"中\" }\n\
             rule r4 \"x\" { upholds c } rule r5 \"y\"\n\
             rule r6 \"broken\" { upholds }\n\
             rule r7 \"after\" { violates later  upholds a, b }\n\
             value later\n"
                .to_string()
                .into(),
        ));
        for (name, text) in cases {
            let load = |keep: bool| {
                let r = match &text {
                    Some(text) => {
                        let mut loader = MemoryLoader::new().with(&name, text.clone());
                        resolve_with(&mut loader, &[name.as_str()], keep)
                    }
                    None => resolve_with(&mut FsLoader, &[name.as_str()], keep),
                };
                format!("{:?}\n{:?}", r.framework, r.diagnostics)
            };
            assert_eq!(load(false), load(true), "{name}");
        }
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize(Path::new("rules/./x/../mft.qd")),
            Path::new("rules/mft.qd")
        );
        assert_eq!(normalize(Path::new("../a.qd")), Path::new("../a.qd"));
    }

    #[test]
    fn a_populations_table_of_an_imported_file_names_the_populations_of_the_importer() {
        let mut loader = MemoryLoader::new()
            .with(
                "a.qd",
                "use \"names.qd\" as names\n\
                 question q \"Q?\" {\n  option y \"Y\"\n  option n \"N\"\n  \
                 reference \"Britain\" [0.5, 0.5]\n  reference \"S. Korea\" [0.2, 0.8]\n}\n\
                 stance s \"Czech Republic\" { statement \"A\" reversed \"B\" }\n\
                 suite one { pass \"great britain\" 0.5 }\n",
            )
            .with(
                "names.qd",
                "populations {\n  \"United Kingdom\" alias \"Britain\", \"Great Britain\"\n  \
                 \"Czechia\" alias \"Czech Rep.\"\n}\n",
            );
        let r = resolve(&mut loader, &["a.qd"]);
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        let f = &r.framework;
        let references: Vec<&str> = f.questions[0]
            .references
            .iter()
            .map(|d| d.population.as_str())
            .collect();
        // A spelling no line lists is kept as written.
        assert_eq!(references, ["United Kingdom", "S. Korea"]);
        assert_eq!(f.stances[0].country, "Czechia");
        assert_eq!(
            f.suites[0].pass[0].population.as_deref(),
            Some("United Kingdom")
        );
    }

    /// An unknown name met again has the help it had the first time; past
    /// [`MAX_SEARCHES`] distinct unknown names, the rest are not compared with every name
    /// (a label written for an id is still found).
    #[test]
    fn unknown_names_are_looked_for_once_each_and_a_bounded_number_of_them() {
        let mut text = String::from("value honesty \"Being honest\"\n");
        let typos = MAX_SEARCHES + 5;
        for i in 0..typos {
            text.push_str(&format!("value honesty{i} \"H{i}\"\n"));
        }
        for i in 0..typos {
            text.push_str(&format!("rule a{i} \"R\" {{ upholds honsety{i} }}\n"));
        }
        text.push_str(
            "rule again \"R\" { upholds honsety0 }\nrule label \"R\" { upholds being_honest }\n",
        );
        let mut loader = MemoryLoader::new().with("a.qd", text);
        let r = resolve(&mut loader, &["a.qd"]);
        let helps: Vec<String> = r
            .diagnostics
            .iter()
            .filter(|d| d.message.contains("is not defined"))
            .map(|d| d.help.clone().unwrap_or_default())
            .collect();
        assert_eq!(helps.len(), typos + 2);
        assert_eq!(helps[0], "did you mean `honesty0`?");
        assert_eq!(
            helps[MAX_SEARCHES - 1],
            format!("did you mean `honesty{}`?", MAX_SEARCHES - 1)
        );
        assert_eq!(helps[MAX_SEARCHES], "define it, or check the spelling");
        assert_eq!(helps[typos], helps[0]);
        assert_eq!(
            helps[typos + 1],
            "did you mean `honesty`? (its label is \"Being honest\")"
        );
    }

    #[test]
    fn resolves_judges_and_the_judge_of_a_suite() {
        let mut loader = MemoryLoader::new()
            .with(
                "a.qd",
                "use \"b.qd\" as b\n\
                 scenario s { text \"T\" action x action y }\n\
                 judge j \"J\" {\n  system \"S\"\n  user \"{{ answer }}\"\n  \
                 instruction \"I\"\n  verdict labels p, q\n}\n\
                 suite one { judge j }\n\
                 suite two { judge b.k }\n\
                 suite three { from s }\n",
            )
            .with("b.qd", "judge k { verdict scale -1 to 1 }\n");
        let r = resolve(&mut loader, &["a.qd"]);
        assert!(r.diagnostics.is_empty(), "{:?}", r.diagnostics);
        let f = &r.framework;
        assert_eq!(f.judges.len(), 2);
        let j = &f.judges[0];
        assert_eq!(j.id, "j");
        assert_eq!(j.label.as_deref(), Some("J"));
        assert_eq!(j.system.as_deref(), Some("S"));
        assert_eq!(
            j.user.as_ref().map(|t| t.source.as_str()),
            Some("{{ answer }}")
        );
        assert_eq!(j.instruction.as_deref(), Some("I"));
        assert_eq!(j.verdict, Verdict::Labels(vec!["p".into(), "q".into()]));
        assert_eq!(f.judges[1].verdict, Verdict::Scale(-1, 1));
        assert_eq!(f.root_module().judges, [JudgeId(0)]);
        assert_eq!(
            f.root_module().items.get("j"),
            Some(&ItemId::Judge(JudgeId(0)))
        );
        let judges: Vec<Option<JudgeId>> = f.suites.iter().map(|s| s.judge).collect();
        assert_eq!(judges, [Some(JudgeId(0)), Some(JudgeId(1)), None]);
        assert!(f.suites[0].judge_span.is_some() && f.suites[2].judge_span.is_none());
    }
}
