//! One analysis of an open document: the document loaded as `check` loads it (through an
//! overlay of the open documents), its syntax trees, and an index of every name in them —
//! definitions and references — for the features that map a position to an item.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostic::Diagnostic;
use crate::load::{self, Loaded};
use crate::model::{Framework, ItemId, ModuleId};
use crate::resolve::{self, FsLoader, Loader};
use crate::source::{FileId, Span};
use crate::syntax::ast;

/// The text of every open document, by file key ([`key`]).
pub(crate) type Overlay = HashMap<PathBuf, Arc<str>>;

/// The key a file is known by: its canonical path, as `check` keys the files it reads.
pub(crate) fn key(path: &Path) -> PathBuf {
    FsLoader.key(path)
}

/// Reads open documents from the overlay and every other file from disk.
struct OverlayLoader<'o> {
    overlay: &'o Overlay,
}

impl Loader for OverlayLoader<'_> {
    fn read(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        match self.overlay.get(&key(path)) {
            Some(text) => Ok(text.as_bytes().to_vec()),
            None => FsLoader.read(path),
        }
    }

    fn key(&self, path: &Path) -> PathBuf {
        key(path)
    }
}

/// What a name at some place stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Target {
    /// An item of a module.
    Item(ItemId),
    /// A file, named by a `use` path or a namespace.
    Module(ModuleId),
    /// A scenario's slot or pick variable, by where it is bound.
    Variable(FileId, u32),
}

/// A name in a file and what it stands for.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Occurrence {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
    pub target: Target,
    /// Whether this is where the target is defined.
    pub def: bool,
}

/// A target independent of any one analysis, so that the analyses of several open
/// documents can be searched together: the defining file's key and the name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Symbol {
    Item {
        file: PathBuf,
        sort: &'static str,
        id: String,
    },
    File(PathBuf),
    Variable(PathBuf, u32),
}

/// One document loaded with everything it imports.
pub(crate) struct Analysis {
    /// The document's key.
    pub root: PathBuf,
    /// The document's version that was analysed.
    pub version: i32,
    pub loaded: Loaded,
    /// Syntax trees by module.
    pub trees: Vec<ast::File>,
    /// File keys by file id.
    pub keys: Vec<PathBuf>,
    /// The module of each file, by file id (none for a file that could not be parsed).
    pub modules: Vec<Option<ModuleId>>,
    /// Every name, sorted by file and position.
    pub occurrences: Vec<Occurrence>,
    /// Where each target is defined.
    pub defs: HashMap<Target, (FileId, u32, u32)>,
}

impl Analysis {
    /// Loads the document at `path` (key `root`) as `check` would, reading open documents
    /// from `overlay`.
    pub(crate) fn new(root: PathBuf, path: &Path, version: i32, overlay: &Overlay) -> Analysis {
        let mut loader = OverlayLoader { overlay };
        let mut resolved = resolve::resolve(&mut loader, &[path]);
        let trees = std::mem::take(&mut resolved.trees);
        let loaded = load::finish(resolved);
        let keys: Vec<PathBuf> = loaded
            .sources
            .iter()
            .map(|(_, f)| key(f.path().unwrap_or(Path::new(f.name()))))
            .collect();
        let mut modules = vec![None; loaded.sources.len()];
        for (i, m) in loaded.framework.modules.iter().enumerate() {
            if let Some(slot) = modules.get_mut(m.file.index()) {
                *slot = Some(ModuleId::from_index(i));
            }
        }
        let mut index = Indexer {
            framework: &loaded.framework,
            texts: loaded
                .sources
                .iter()
                .map(|(_, f)| f.shared_text())
                .collect(),
            occurrences: Vec::new(),
            defs: HashMap::new(),
        };
        for (m, tree) in trees.iter().enumerate() {
            index.file(ModuleId::from_index(m), tree);
        }
        let Indexer {
            mut occurrences,
            defs,
            ..
        } = index;
        occurrences.sort_by_key(|o| (o.file, o.start, o.end));
        Analysis {
            root,
            version,
            loaded,
            trees,
            keys,
            modules,
            occurrences,
            defs,
        }
    }

    pub(crate) fn framework(&self) -> &Framework {
        &self.loaded.framework
    }

    /// The file id of the file with key `key`.
    pub(crate) fn file(&self, key: &Path) -> Option<FileId> {
        let i = self.keys.iter().position(|k| k == key)?;
        self.loaded.sources.iter().nth(i).map(|(id, _)| id)
    }

    /// The diagnostics whose primary place is in the file `file` (or that name no place).
    pub(crate) fn diagnostics_of(&self, file: Option<FileId>) -> impl Iterator<Item = &Diagnostic> {
        self.loaded
            .diagnostics
            .iter()
            .filter(move |d| match d.primary_span() {
                Some(s) => s.file == file && file.is_some(),
                None => true,
            })
    }

    /// The name at byte `offset` of `file`, if any.
    pub(crate) fn at(&self, file: FileId, offset: usize) -> Option<&Occurrence> {
        let offset = offset as u32;
        let first = self
            .occurrences
            .partition_point(|o| (o.file, o.end) < (file, offset));
        self.occurrences[first..]
            .iter()
            .take_while(|o| o.file == file && o.start <= offset)
            .find(|o| o.start <= offset && offset <= o.end)
    }

    /// The target's symbol.
    pub(crate) fn symbol(&self, target: Target) -> Option<Symbol> {
        let f = self.framework();
        match target {
            Target::Module(m) => Some(Symbol::File(self.key_of(f.modules.get(m.index())?.file))),
            Target::Variable(file, start) => Some(Symbol::Variable(self.key_of(file), start)),
            Target::Item(item) => {
                let (module, sort, id) = describe_item(f, item);
                Some(Symbol::Item {
                    file: self.key_of(f.modules.get(module.index())?.file),
                    sort,
                    id: id.to_string(),
                })
            }
        }
    }

    /// The target a symbol stands for in this analysis.
    pub(crate) fn target(&self, symbol: &Symbol) -> Option<Target> {
        match symbol {
            Symbol::File(path) => Some(Target::Module(self.modules[self.file(path)?.index()]?)),
            Symbol::Variable(path, start) => Some(Target::Variable(self.file(path)?, *start)),
            Symbol::Item { file, sort, id } => {
                let m = self.modules[self.file(file)?.index()]?;
                let item = *self.framework().module(m).items.get(id)?;
                (describe_item(self.framework(), item).1 == *sort).then_some(Target::Item(item))
            }
        }
    }

    pub(crate) fn key_of(&self, file: FileId) -> PathBuf {
        self.keys[file.index()].clone()
    }
}

/// An item's module, the name of its sort and its id.
pub(crate) fn describe_item(f: &Framework, item: ItemId) -> (ModuleId, &'static str, &str) {
    match item {
        ItemId::Value(v) => {
            let v = f.value(v);
            (v.module, "value", &v.id)
        }
        ItemId::Rule(r) => (f.rules[r.index()].module, "rule", &f.rules[r.index()].id),
        ItemId::Profile(p) => (
            f.profiles[p.index()].module,
            "profile",
            &f.profiles[p.index()].id,
        ),
        ItemId::Scenario(s) => (
            f.scenarios[s.index()].module,
            "scenario",
            &f.scenarios[s.index()].id,
        ),
        ItemId::Suite(s) => (f.suites[s.index()].module, "suite", &f.suites[s.index()].id),
        ItemId::Prompt(p) => (
            f.prompts[p.index()].module,
            "prompt",
            &f.prompts[p.index()].id,
        ),
        ItemId::Steer(s) => (f.steers[s.index()].module, "steer", &f.steers[s.index()].id),
        ItemId::Judge(j) => (f.judges[j.index()].module, "judge", &f.judges[j.index()].id),
        ItemId::Question(q) => (
            f.questions[q.index()].module,
            "question",
            &f.questions[q.index()].id,
        ),
        ItemId::Stance(s) => (
            f.stances[s.index()].module,
            "stance",
            &f.stances[s.index()].id,
        ),
    }
}

struct Indexer<'f> {
    framework: &'f Framework,
    texts: Vec<Arc<str>>,
    occurrences: Vec<Occurrence>,
    defs: HashMap<Target, (FileId, u32, u32)>,
}

/// A scenario's variables: name and where it is bound.
type Variables = Vec<(String, Span)>;

impl Indexer<'_> {
    fn push(&mut self, span: Span, target: Target, def: bool) {
        let Some(file) = span.file else {
            return;
        };
        if def {
            self.defs
                .entry(target)
                .or_insert((file, span.start, span.end));
        }
        self.occurrences.push(Occurrence {
            file,
            start: span.start,
            end: span.end,
            target,
            def,
        });
    }

    fn def(&mut self, module: ModuleId, id: &ast::Ident) {
        if let Some(&item) = self.framework.module(module).items.get(&id.name) {
            self.push(id.span, Target::Item(item), true);
        }
    }

    fn reference(&mut self, module: ModuleId, r: &ast::Reference, vars: &Variables) {
        let target = match &r.namespace {
            None => {
                if let Some((_, at)) = vars.iter().find(|(n, _)| *n == r.id.name)
                    && let Some(file) = at.file
                {
                    self.push(r.id.span, Target::Variable(file, at.start), false);
                    return;
                }
                module
            }
            Some(ns) => match self.framework.module(module).imports.get(&ns.name) {
                Some(&m) => {
                    self.push(ns.span, Target::Module(m), false);
                    m
                }
                None => return,
            },
        };
        if let Some(&item) = self.framework.module(target).items.get(&r.id.name) {
            self.push(r.id.span, Target::Item(item), false);
        }
    }

    fn references(&mut self, module: ModuleId, refs: &[ast::Reference], vars: &Variables) {
        for r in refs {
            self.reference(module, r, vars);
        }
    }

    fn call(&mut self, module: ModuleId, call: &ast::SetCall) {
        for arg in &call.args {
            match arg {
                ast::SetArg::Reference(r) => self.reference(module, r, &Vec::new()),
                ast::SetArg::Namespace(ns, _) => {
                    if let Some(&m) = self.framework.module(module).imports.get(&ns.name) {
                        self.push(ns.span, Target::Module(m), false);
                    }
                }
                ast::SetArg::Text(_) => {}
            }
        }
    }

    fn file(&mut self, module: ModuleId, tree: &ast::File) {
        let none = Vec::new();
        for item in &tree.items {
            match item {
                ast::Item::Framework(_) => {}
                ast::Item::Use(u) => {
                    if let Some(&m) = self.framework.module(module).imports.get(&u.namespace.name) {
                        self.push(u.path.span, Target::Module(m), false);
                        self.push(u.namespace.span, Target::Module(m), false);
                    }
                }
                ast::Item::Map(map) => {
                    self.reference(module, &map.value, &none);
                    self.references(module, &map.targets, &none);
                }
                ast::Item::Relation(r) => {
                    self.reference(module, &r.left, &none);
                    self.reference(module, &r.right, &none);
                }
                ast::Item::Rule(rule) => {
                    self.def(module, &rule.id);
                    for a in &rule.attributes {
                        if let ast::RuleAttribute::Upholds(refs, _)
                        | ast::RuleAttribute::Violates(refs, _) = a
                        {
                            self.references(module, refs, &none);
                        }
                    }
                }
                ast::Item::Profile(p) => {
                    self.def(module, &p.id);
                    for e in &p.entries {
                        if let ast::ProfileEntry::Weight(r, _, _) = e {
                            self.reference(module, r, &none);
                        }
                    }
                }
                ast::Item::Node(node) => self.node(module, node),
                ast::Item::Scenario(s) => self.scenario(module, s),
                ast::Item::Suite(s) => {
                    self.def(module, &s.id);
                    for setting in &s.settings {
                        match setting {
                            ast::SuiteSetting::From(refs, _) => {
                                self.references(module, refs, &none)
                            }
                            ast::SuiteSetting::Judge(r, _) => self.reference(module, r, &none),
                            _ => {}
                        }
                    }
                }
                ast::Item::Prompt(b)
                | ast::Item::Steer(b)
                | ast::Item::Constitution(b)
                | ast::Item::Judge(b) => {
                    self.def(module, &b.id);
                    for a in &b.attributes {
                        if let ast::PresentationAttribute::Toward(refs, _)
                        | ast::PresentationAttribute::Away(refs, _) = a
                        {
                            self.references(module, refs, &none);
                        }
                    }
                }
                ast::Item::Question(q) => self.def(module, &q.id),
                ast::Item::Stance(s) => self.def(module, &s.id),
                ast::Item::Populations(_) => {}
            }
        }
    }

    fn node(&mut self, module: ModuleId, node: &ast::Node) {
        self.def(module, &node.id);
        for e in &node.entries {
            if let ast::NodeEntry::Child(child) = e {
                self.node(module, child);
            }
        }
    }

    fn scenario(&mut self, module: ModuleId, s: &ast::Scenario) {
        self.def(module, &s.id);
        let mut vars: Variables = Vec::new();
        for e in &s.entries {
            match e {
                ast::ScenarioEntry::Slot(slot) => {
                    vars.push((slot.name.name.clone(), slot.name.span))
                }
                ast::ScenarioEntry::Pick(pick) => {
                    for n in &pick.names {
                        vars.push((n.name.clone(), n.span));
                    }
                }
                _ => {}
            }
        }
        for (_, span) in &vars {
            if let Some(file) = span.file {
                self.push(*span, Target::Variable(file, span.start), true);
            }
        }
        for e in &s.entries {
            match e {
                ast::ScenarioEntry::Slot(slot) => {
                    if let ast::SlotDomain::Call(call) = &slot.domain {
                        self.call(module, call);
                    }
                }
                ast::ScenarioEntry::Pick(pick) => self.call(module, &pick.from),
                ast::ScenarioEntry::Text(text) => self.template(&text.template, &vars),
                ast::ScenarioEntry::Action(action) => {
                    if let Some(label) = &action.label {
                        self.template(label, &vars);
                    }
                    for a in &action.attributes {
                        match a {
                            ast::ActionAttribute::Upholds(refs, _, _)
                            | ast::ActionAttribute::Violates(refs, _)
                            | ast::ActionAttribute::UpholdsIndirectly(refs, _, _)
                            | ast::ActionAttribute::ViolatesIndirectly(refs, _)
                            | ast::ActionAttribute::Either(refs, _) => {
                                self.references(module, refs, &vars)
                            }
                            ast::ActionAttribute::Follows(id, _) => {
                                if let Some((_, at)) = vars.iter().find(|(n, _)| *n == id.name)
                                    && let Some(file) = at.file
                                {
                                    self.push(id.span, Target::Variable(file, at.start), false);
                                }
                            }
                            ast::ActionAttribute::Translation(t) => self.template(&t.text, &vars),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
    }

    /// The variables named inside the `{{ }}` and `{% %}` tags of a template string.
    fn template(&mut self, s: &ast::Str, vars: &Variables) {
        let Some(file) = s.span.file else {
            return;
        };
        let Some(text) = self.texts.get(file.index()).cloned() else {
            return;
        };
        let Some(raw) = text.get(s.span.range()) else {
            return;
        };
        for (start, name) in tag_words(raw) {
            if let Some((_, at)) = vars.iter().find(|(n, _)| n == name) {
                let begin = s.span.start as usize + start;
                let span = Span::new(file, begin..begin + name.len());
                self.push(span, Target::Variable(file, at.start), false);
            }
        }
    }
}

/// The words inside the tags of a template (`{{ a.label }}`, `{% if b %}`), with their byte
/// offsets: not those after a `.`, nor inside quotes.
pub(crate) fn tag_words(raw: &str) -> Vec<(usize, &str)> {
    let mut words = Vec::new();
    let bytes = raw.as_bytes();
    let mut i = 0;
    while let Some(open) = memchr::memmem::find(&bytes[i..], b"{") {
        let at = i + open;
        let close = match bytes.get(at + 1) {
            Some(b'{') => "}}",
            Some(b'%') => "%}",
            _ => {
                i = at + 1;
                continue;
            }
        };
        let body_start = at + 2;
        let body_end = memchr::memmem::find(&bytes[body_start..], close.as_bytes())
            .map_or(bytes.len(), |e| body_start + e);
        let body = &raw[body_start..body_end];
        let mut quote: Option<char> = None;
        let mut word_start: Option<usize> = None;
        for (j, c) in body
            .char_indices()
            .chain(std::iter::once((body.len(), ' ')))
        {
            if let Some(q) = quote {
                if c == q {
                    quote = None;
                }
                continue;
            }
            let is_word = c.is_alphanumeric() || c == '_';
            match (word_start, is_word) {
                (None, true) => word_start = Some(j),
                (Some(s), false) => {
                    let before = body[..s].trim_end().chars().next_back();
                    let word = &body[s..j];
                    if before != Some('.') && !word.starts_with(|c: char| c.is_ascii_digit()) {
                        words.push((body_start + s, word));
                    }
                    word_start = None;
                }
                _ => {}
            }
            if c == '"' || c == '\'' {
                quote = Some(c);
            }
        }
        i = (body_end + close.len()).min(bytes.len());
        if body_end >= bytes.len() {
            break;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_words_of_template_tags() {
        let words = tag_words(r#""{{ a.label }} and {% if b == "x y" %}{{ loop.index }}""#);
        let names: Vec<&str> = words.iter().map(|w| w.1).collect();
        assert_eq!(names, ["a", "if", "b", "loop"]);
        let raw = r#""{{ a.label }}""#;
        assert_eq!(&raw[words[0].0..words[0].0 + 1], "a");
    }
}
