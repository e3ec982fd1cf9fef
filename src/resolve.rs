//! From syntax trees to the resolved [`Framework`]: loads imports, declares every item,
//! checks the level nesting and binds every reference, collecting all diagnostics.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;

use crate::check;
use crate::diagnostic::{self, Code, Diagnostic};
use crate::model::*;
use crate::source::{FileId, SourceMap, Span};
use crate::suggest;
use crate::syntax::{self, RESERVED, ast};

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
        if path.is_dir() {
            return Err("it is a directory".into());
        }
        std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string().to_lowercase(),
        })
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

/// The result of loading: the model, every diagnostic, and the sources they point into.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved model (as complete as the errors allow).
    pub framework: Framework,
    /// Every error and warning, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The files read.
    pub sources: SourceMap,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Whether any diagnostic is a warning.
    pub fn has_warnings(&self) -> bool {
        self.diagnostics.iter().any(|d| !d.is_error())
    }
}

/// Loads, resolves and checks the file at `path` and everything it imports.
pub fn load_path(path: impl AsRef<Path>) -> Loaded {
    load_files(&[path.as_ref()])
}

/// Loads, resolves and checks several files (each with its imports) into one model.
pub fn load_files<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    load_with(&mut FsLoader, paths)
}

/// Loads source text that has no file on disk; its `use` paths are read from disk,
/// relative to the current directory.
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut loader = StrLoader {
        name: PathBuf::from(name),
        text: text.to_string(),
    };
    load_with(&mut loader, &[name])
}

struct StrLoader {
    name: PathBuf,
    text: String,
}

impl Loader for StrLoader {
    fn read(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        if path == self.name {
            Ok(self.text.clone().into_bytes())
        } else {
            FsLoader.read(path)
        }
    }
    fn key(&self, path: &Path) -> PathBuf {
        if path == self.name {
            path.to_path_buf()
        } else {
            FsLoader.key(path)
        }
    }
}

/// Loads, resolves and checks `paths` with a caller-provided [`Loader`].
pub fn load_with<P: AsRef<Path>>(loader: &mut dyn Loader, paths: &[P]) -> Loaded {
    let mut r = Resolver {
        loader,
        sources: SourceMap::new(),
        framework: Framework::default(),
        diagnostics: Vec::new(),
        by_key: HashMap::new(),
        stack: Vec::new(),
        asts: Vec::new(),
    };
    for path in paths {
        let path = path.as_ref();
        if let Some(m) = r.load(path, None) {
            if !r.framework.roots.contains(&m) {
                r.framework.roots.push(m);
            }
        }
    }
    r.declare_all();
    r.bind_all();
    let broken: Vec<bool> = r.asts.iter().map(|a| a.broken).collect();
    r.diagnostics
        .extend(check::check(&r.framework, &r.sources, &broken));
    let mut diagnostics = r.diagnostics;
    diagnostic::sort(&mut diagnostics);
    diagnostics.dedup();
    Loaded {
        framework: r.framework,
        diagnostics,
        sources: r.sources,
    }
}

struct ModuleAst {
    file: ast::File,
    /// For each item of `file`, the rule or profile it declared (None for other items and
    /// for items whose id was a duplicate).
    declared: Vec<Option<ItemId>>,
    /// Namespaces whose `use` failed: references through them are not reported again.
    failed_imports: Vec<String>,
    /// The file had syntax errors: items may be missing, so references into it that fail
    /// to resolve are not reported.
    broken: bool,
}

struct Resolver<'l> {
    loader: &'l mut dyn Loader,
    sources: SourceMap,
    framework: Framework,
    diagnostics: Vec<Diagnostic>,
    by_key: HashMap<PathBuf, ModuleId>,
    /// Modules being loaded, with the `use` that led to each, for cycle detection.
    stack: Vec<(ModuleId, Option<Span>)>,
    asts: Vec<ModuleAst>,
}

impl Resolver<'_> {
    /// Reads, parses and registers the module at `path` and, recursively, its imports.
    fn load(&mut self, path: &Path, via: Option<Span>) -> Option<ModuleId> {
        let key = self.loader.key(path);
        if let Some(&id) = self.by_key.get(&key) {
            if let Some(pos) = self.stack.iter().position(|(m, _)| *m == id) {
                self.import_cycle(pos, via);
            }
            return Some(id);
        }
        let display = path.to_string_lossy().into_owned();
        let bytes = match self.loader.read(path) {
            Ok(bytes) => bytes,
            Err(why) => {
                let d = match via {
                    Some(span) => Diagnostic::new(
                        Code::ImportMissing,
                        format!("cannot read imported file `{display}`: {why}"),
                    )
                    .label(span, "imported here")
                    .help("paths in `use` are relative to the importing file"),
                    None => Diagnostic::new(Code::Io, format!("cannot read `{display}`: {why}"))
                        .path(display.clone())
                        .help(if why.contains("directory") {
                            "pass the `.qd` files in it, e.g. `dir/*.qd`"
                        } else {
                            "check the path"
                        }),
                };
                self.diagnostics.push(d);
                return None;
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
                let file = self.sources.add(display.clone(), Some(path.into()), &valid);
                let offset = self.sources.get(file).text().len();
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::NotUtf8,
                        format!("`{display}` is not UTF-8 text (invalid byte at offset {at})"),
                    )
                    .label(Span::new(file, offset..offset), "the invalid byte is here")
                    .help("save the file as UTF-8"),
                );
                return None;
            }
        };
        let file = self.sources.add(display, Some(path.into()), &text);
        let (ast, syntax_errors) = syntax::parse(file, self.sources.get(file).text());
        let broken = !syntax_errors.is_empty();
        self.diagnostics.extend(syntax_errors);
        let id = ModuleId(self.framework.modules.len() as u32);
        self.framework.modules.push(Module {
            file,
            header: None,
            levels: vec!["value".into()],
            imports: IndexMap::new(),
            items: IndexMap::new(),
            values: Vec::new(),
            top: Vec::new(),
            rules: Vec::new(),
            relations: Vec::new(),
            profiles: Vec::new(),
            mappings: Vec::new(),
        });
        self.by_key.insert(key, id);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let uses: Vec<ast::Use> = ast
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Use(u) => Some(u.clone()),
                _ => None,
            })
            .collect();
        self.asts.push(ModuleAst {
            declared: Vec::new(),
            failed_imports: Vec::new(),
            file: ast,
            broken,
        });
        self.stack.push((id, via));
        for u in uses {
            let target = normalize(&dir.join(&u.path.value));
            let Some(imported) = self.load(&target, Some(u.path.span)) else {
                self.asts[id.index()]
                    .failed_imports
                    .push(u.namespace.name.clone());
                continue;
            };
            let module = &mut self.framework.modules[id.index()];
            if let Some(&previous) = module.imports.get(&u.namespace.name) {
                if previous != imported {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateNamespace,
                            format!("namespace `{}` is imported twice", u.namespace.name),
                        )
                        .label(u.namespace.span, "imported again here")
                        .help("give each import its own namespace"),
                    );
                }
            } else {
                module.imports.insert(u.namespace.name.clone(), imported);
            }
        }
        self.stack.pop();
        Some(id)
    }

    fn import_cycle(&mut self, from: usize, via: Option<Span>) {
        let chain: Vec<String> = self.stack[from..]
            .iter()
            .map(|(m, _)| {
                let file = self.framework.modules[m.index()].file;
                format!("`{}`", self.sources.get(file).name())
            })
            .chain(std::iter::once({
                let file = self.framework.modules[self.stack[from].0.index()].file;
                format!("`{}`", self.sources.get(file).name())
            }))
            .collect();
        let mut d = Diagnostic::new(
            Code::ImportCycle,
            format!("files import each other in a cycle: {}", chain.join(" → ")),
        );
        if let Some(span) = via {
            d = d.label(span, "this import closes the cycle");
        }
        for (_, span) in self.stack[from + 1..].iter() {
            if let Some(span) = span {
                d = d.label(*span, "imported here");
            }
        }
        self.diagnostics.push(d.help(
            "move what both files need into a third file that both import, or drop one `use`",
        ));
    }

    /// Declares headers, levels, value nodes, rules and profiles of every module.
    fn declare_all(&mut self) {
        for m in 0..self.asts.len() {
            let module = ModuleId(m as u32);
            let items = std::mem::take(&mut self.asts[m].file.items);
            let mut declared = vec![None; items.len()];
            for item in &items {
                if let ast::Item::Framework(f) = item {
                    self.declare_header(module, f);
                }
            }
            for (index, item) in items.iter().enumerate() {
                match item {
                    ast::Item::Node(node) => {
                        if let Some(v) = self.declare_node(module, node, None) {
                            self.framework.modules[m].top.push(v);
                        }
                    }
                    ast::Item::Rule(rule) => {
                        let id = RuleId(self.framework.rules.len() as u32);
                        if self.declare_id(module, &rule.id, ItemId::Rule(id)) {
                            let mut translations = IndexMap::new();
                            let mut describe = None;
                            let mut contexts = Vec::new();
                            for a in &rule.attributes {
                                match a {
                                    ast::RuleAttribute::Describe(s, span) => {
                                        self.once(&mut describe, s, *span, "describe")
                                    }
                                    ast::RuleAttribute::Translation(t) => {
                                        self.translation(&mut translations, t)
                                    }
                                    ast::RuleAttribute::Context(cs, _) => {
                                        contexts.extend(cs.iter().map(|c| c.text().to_string()))
                                    }
                                    _ => {}
                                }
                            }
                            self.framework.rules.push(Rule {
                                id: rule.id.name.clone(),
                                text: rule.text.value.clone(),
                                upholds: Vec::new(),
                                violates: Vec::new(),
                                contexts,
                                describe,
                                translations,
                                module,
                                span: rule.span,
                            });
                            self.framework.modules[m].rules.push(id);
                            declared[index] = Some(ItemId::Rule(id));
                        }
                    }
                    ast::Item::Profile(p) => {
                        let id = ProfileId(self.framework.profiles.len() as u32);
                        if self.declare_id(module, &p.id, ItemId::Profile(id)) {
                            let mut describe = None;
                            for e in &p.entries {
                                if let ast::ProfileEntry::Describe(s, span) = e {
                                    self.once(&mut describe, s, *span, "describe");
                                }
                            }
                            self.framework.profiles.push(Profile {
                                id: p.id.name.clone(),
                                label: p.label.as_ref().map(|l| l.value.clone()),
                                describe,
                                weights: Vec::new(),
                                weight_spans: Vec::new(),
                                module,
                                span: p.span,
                            });
                            self.framework.modules[m].profiles.push(id);
                            declared[index] = Some(ItemId::Profile(id));
                        }
                    }
                    _ => {}
                }
            }
            self.asts[m].file.items = items;
            self.asts[m].declared = declared;
        }
    }

    fn declare_header(&mut self, module: ModuleId, f: &ast::Framework) {
        if let Some(previous) = &self.framework.modules[module.index()].header {
            let first = previous.span;
            self.diagnostics.push(
                Diagnostic::new(
                    Code::DuplicateFramework,
                    "a file has more than one `framework` header",
                )
                .label(f.id.span, "second header")
                .label(first, "first header")
                .help("a file declares at most one framework; merge the headers"),
            );
            return;
        }
        let mut header = Header {
            id: f.id.name.clone(),
            label: f.label.as_ref().map(|l| l.value.clone()),
            span: f.span,
            ..Header::default()
        };
        let mut levels: Option<Vec<String>> = None;
        for a in &f.attributes {
            match a {
                ast::FrameworkAttribute::Source(s, span) => {
                    self.once(&mut header.source, s, *span, "source")
                }
                ast::FrameworkAttribute::Version(s, span) => {
                    self.once(&mut header.version, s, *span, "version")
                }
                ast::FrameworkAttribute::License(s, span) => {
                    self.once(&mut header.license, s, *span, "license")
                }
                ast::FrameworkAttribute::Describe(s, span) => {
                    self.once(&mut header.describe, s, *span, "describe")
                }
                ast::FrameworkAttribute::Translation(t) => {
                    self.translation(&mut header.translations, t)
                }
                ast::FrameworkAttribute::Levels(words, span) => {
                    if levels.is_some() {
                        self.diagnostics.push(duplicate_attribute("levels", *span));
                        continue;
                    }
                    let mut list: Vec<String> = Vec::new();
                    for w in words {
                        if RESERVED.contains(&w.name.as_str()) {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::InvalidLevels,
                                    format!(
                                        "`{}` is a reserved word and cannot be a level",
                                        w.name
                                    ),
                                )
                                .label(w.span, "reserved word")
                                .help("choose another keyword for this level"),
                            );
                        } else if list.contains(&w.name) {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::InvalidLevels,
                                    format!("level `{}` is listed twice", w.name),
                                )
                                .label(w.span, "listed again here")
                                .help("each level keyword appears once, outermost first"),
                            );
                        } else {
                            list.push(w.name.clone());
                        }
                    }
                    if !list.is_empty() {
                        levels = Some(list);
                    }
                }
            }
        }
        let m = &mut self.framework.modules[module.index()];
        if let Some(levels) = levels {
            m.levels = levels;
        }
        m.header = Some(header);
    }

    fn once(&mut self, slot: &mut Option<String>, s: &ast::Str, span: Span, what: &str) {
        if slot.is_some() {
            self.diagnostics.push(duplicate_attribute(what, span));
        } else {
            *slot = Some(s.value.clone());
        }
    }

    fn translation(&mut self, map: &mut IndexMap<String, String>, t: &ast::Translation) {
        if map.contains_key(&t.lang.name) {
            self.diagnostics.push(duplicate_attribute(
                &format!("{} translation", t.lang.name),
                t.span,
            ));
        } else {
            map.insert(t.lang.name.clone(), t.text.value.clone());
        }
    }

    /// Registers `id` in the module; reports a duplicate and returns false if it is taken.
    fn declare_id(&mut self, module: ModuleId, id: &ast::Ident, item: ItemId) -> bool {
        let m = &mut self.framework.modules[module.index()];
        if let Some(previous) = m.items.get(&id.name) {
            let first = match previous {
                ItemId::Value(v) => self.framework.values[v.index()].id_span,
                ItemId::Rule(r) => self.framework.rules[r.index()].span,
                ItemId::Profile(p) => self.framework.profiles[p.index()].span,
            };
            self.diagnostics.push(
                Diagnostic::new(Code::DuplicateId, format!("`{}` is defined twice", id.name))
                    .label(id.span, "defined again here")
                    .label(first, "first defined here")
                    .help("ids are unique within a file; rename one of them"),
            );
            return false;
        }
        m.items.insert(id.name.clone(), item);
        true
    }

    fn declare_node(
        &mut self,
        module: ModuleId,
        node: &ast::Node,
        parent: Option<ValueId>,
    ) -> Option<ValueId> {
        let levels = &self.framework.modules[module.index()].levels;
        let keyword = &node.keyword.name;
        let level = match levels.iter().position(|l| l == keyword) {
            Some(level) => level,
            None => {
                let candidates: Vec<&str> = levels.iter().map(String::as_str).collect();
                let mut help = match suggest::similar(keyword, candidates.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the levels of this file are {}", backticked(&candidates)),
                };
                if self.framework.modules[module.index()].header.is_none() {
                    help = "this file declares no levels, so its nodes are written `value id`; \
                            or declare them with `levels …` in a `framework` header"
                        .into();
                }
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::UnknownLevel,
                        format!("`{keyword}` is not a level of this framework"),
                    )
                    .label(node.keyword.span, "unknown level keyword")
                    .help(help),
                );
                // Keep going as if the level were right, to check the rest of the node.
                parent.map_or(0, |p| self.framework.values[p.index()].level + 1)
            }
        };
        let expected = parent.map_or(0, |p| self.framework.values[p.index()].level + 1);
        let levels = &self.framework.modules[module.index()].levels;
        if level != expected && levels.get(level) == Some(keyword) {
            let d = match parent {
                None => Diagnostic::new(
                    Code::MisorderedLevel,
                    format!("`{keyword}` cannot stand at the top level"),
                )
                .label(node.keyword.span, "needs an enclosing node")
                .help(format!(
                    "nest it inside a `{}`; the top level holds `{}` nodes",
                    levels[level - 1],
                    levels[0]
                )),
                Some(p) => {
                    let parent_keyword = &levels[self.framework.values[p.index()].level];
                    let parent_span = self.framework.values[p.index()].span;
                    if level > expected {
                        Diagnostic::new(
                            Code::SkippedLevel,
                            format!(
                                "`{keyword}` inside `{parent_keyword}` skips the level `{}`",
                                levels[expected]
                            ),
                        )
                        .label(node.keyword.span, "skips a level")
                        .help(format!(
                            "put it inside a `{}` (levels: {})",
                            levels[level - 1],
                            backticked(&levels.iter().map(String::as_str).collect::<Vec<_>>())
                        ))
                    } else {
                        Diagnostic::new(
                            Code::MisorderedLevel,
                            format!("`{keyword}` cannot be nested inside `{parent_keyword}`"),
                        )
                        .label(node.keyword.span, "out of level order")
                        .label(
                            Span::new(
                                parent_span.file.unwrap_or(FileId(0)),
                                parent_span.start as usize..parent_span.start as usize,
                            ),
                            format!("inside this `{parent_keyword}`"),
                        )
                        .help(format!(
                            "levels nest outermost first: {}",
                            backticked(&levels.iter().map(String::as_str).collect::<Vec<_>>())
                        ))
                    }
                }
            };
            self.diagnostics.push(d);
        }
        let id = ValueId(self.framework.values.len() as u32);
        let declared = self.declare_id(module, &node.id, ItemId::Value(id));
        let mut value = Value {
            id: node.id.name.clone(),
            label: node.label.as_ref().map(|l| l.value.clone()),
            module,
            level,
            parent,
            children: Vec::new(),
            describe: None,
            translations: IndexMap::new(),
            kind: ValueKind::Value,
            aliases: Vec::new(),
            span: node.span,
            id_span: node.id.span,
        };
        let mut kind_seen = false;
        for e in &node.entries {
            match e {
                ast::NodeEntry::Describe(s, span) => {
                    self.once(&mut value.describe, s, *span, "describe")
                }
                ast::NodeEntry::Translation(t) => self.translation(&mut value.translations, t),
                ast::NodeEntry::Alias(list, _) => {
                    value.aliases.extend(list.iter().map(|s| s.value.clone()))
                }
                ast::NodeEntry::Kind(k, span) => {
                    if kind_seen {
                        self.diagnostics.push(duplicate_attribute("kind", *span));
                        continue;
                    }
                    kind_seen = true;
                    match ValueKind::from_name(&k.name) {
                        Some(kind) => value.kind = kind,
                        None => {
                            let help = match suggest::similar(&k.name, ValueKind::NAMES) {
                                Some(s) => format!("did you mean `{s}`?"),
                                None => "the kinds are `value`, `right` and `duty`".into(),
                            };
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::UnknownKind,
                                    format!("`{}` is not a kind", k.name),
                                )
                                .label(k.span, "unknown kind")
                                .help(help),
                            );
                        }
                    }
                }
                ast::NodeEntry::Child(_) => {}
            }
        }
        // A duplicate id still gets its node stored (its children are declared and
        // checked), but it is not reachable by name.
        self.framework.values.push(value);
        let m = &mut self.framework.modules[module.index()];
        if declared {
            m.values.push(id);
        }
        for e in &node.entries {
            if let ast::NodeEntry::Child(child) = e {
                if let Some(c) = self.declare_node(module, child, Some(id)) {
                    self.framework.values[id.index()].children.push(c);
                }
            }
        }
        declared.then_some(id)
    }

    /// Binds the references of relations, rules, profiles and mappings in every module.
    fn bind_all(&mut self) {
        for m in 0..self.asts.len() {
            let module = ModuleId(m as u32);
            let items = std::mem::take(&mut self.asts[m].file.items);
            let declared = std::mem::take(&mut self.asts[m].declared);
            for (item, declared) in items.iter().zip(&declared) {
                match item {
                    ast::Item::Relation(rel) => self.bind_relation(module, rel),
                    ast::Item::Rule(rule) => {
                        let Some(ItemId::Rule(id)) = *declared else {
                            continue;
                        };
                        for a in &rule.attributes {
                            match a {
                                ast::RuleAttribute::Upholds(refs, _) => {
                                    let vs: Vec<ValueId> =
                                        refs.iter().filter_map(|r| self.value(module, r)).collect();
                                    self.framework.rules[id.index()].upholds.extend(vs);
                                }
                                ast::RuleAttribute::Violates(refs, _) => {
                                    let vs: Vec<ValueId> =
                                        refs.iter().filter_map(|r| self.value(module, r)).collect();
                                    self.framework.rules[id.index()].violates.extend(vs);
                                }
                                _ => {}
                            }
                        }
                    }
                    ast::Item::Profile(p) => {
                        let Some(ItemId::Profile(id)) = *declared else {
                            continue;
                        };
                        for e in &p.entries {
                            if let ast::ProfileEntry::Weight(r, n, span) = e {
                                if let Some(v) = self.value(module, r) {
                                    let profile = &mut self.framework.profiles[id.index()];
                                    profile.weights.push((v, n.value));
                                    profile.weight_spans.push(*span);
                                }
                            }
                        }
                    }
                    ast::Item::Map(map) => {
                        let value = self.value(module, &map.value);
                        let mut targets = Vec::new();
                        for t in &map.targets {
                            if t.namespace.is_none() {
                                self.diagnostics.push(
                                    Diagnostic::new(
                                        Code::WrongSort,
                                        format!("`{}` is not in another framework", t.id.name),
                                    )
                                    .label(t.span, "a local name")
                                    .help(
                                        "`map` places a value in an imported framework: \
                                         write `ns.id`",
                                    ),
                                );
                                continue;
                            }
                            if let Some(v) = self.value(module, t) {
                                targets.push(v);
                            }
                        }
                        if let Some(value) = value {
                            let index = self.framework.mappings.len();
                            self.framework.mappings.push(Mapping {
                                value,
                                targets,
                                module,
                                span: map.span,
                            });
                            self.framework.modules[m].mappings.push(index);
                        }
                    }
                    _ => {}
                }
            }
            self.asts[m].file.items = items;
        }
    }

    fn bind_relation(&mut self, module: ModuleId, rel: &ast::Relation) {
        let left = self.lookup(module, &rel.left);
        let right = self.lookup(module, &rel.right);
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let endpoint = |item: ItemId| match item {
            ItemId::Value(v) => Some(Endpoint::Value(v)),
            ItemId::Rule(r) => Some(Endpoint::Rule(r)),
            ItemId::Profile(_) => None,
        };
        let (l, r) = (endpoint(left), endpoint(right));
        let wiser = rel.kind == ast::RelationKind::Wiser;
        let bad =
            |e: Option<Endpoint>| e.is_none() || (wiser && matches!(e, Some(Endpoint::Rule(_))));
        for (e, reference) in [(l, &rel.left), (r, &rel.right)] {
            if bad(e) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::WrongSort,
                        format!(
                            "`{}` is {}, not a value",
                            reference.display(),
                            if e.is_none() { "a profile" } else { "a rule" }
                        ),
                    )
                    .label(reference.span, "needs a value here")
                    .help(if wiser {
                        "`wiser` relates two values"
                    } else {
                        "relations hold between two values or between two rules"
                    }),
                );
            }
        }
        let (Some(l), Some(r)) = (l, r) else { return };
        if bad(Some(l)) || bad(Some(r)) {
            return;
        }
        if std::mem::discriminant(&l) != std::mem::discriminant(&r) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::WrongSort,
                    format!(
                        "`{}` and `{}` are not both values or both rules",
                        rel.left.display(),
                        rel.right.display()
                    ),
                )
                .label(rel.left.span, "")
                .label(rel.right.span, "")
                .help("relations hold between two values or between two rules"),
            );
            return;
        }
        let id = RelationId(self.framework.relations.len() as u32);
        self.framework.relations.push(Relation {
            kind: rel.kind,
            left: l,
            right: r,
            context: rel.context.as_ref().map(|c| c.text().to_string()),
            weight: rel.weight.as_ref().map(|w| w.value),
            note: rel.note.as_ref().map(|n| n.value.clone()),
            module,
            span: rel.span,
            weight_span: rel.weight.as_ref().map(|w| w.span),
        });
        self.framework.modules[module.index()].relations.push(id);
    }

    /// Resolves a reference that must name a value.
    fn value(&mut self, module: ModuleId, r: &ast::Reference) -> Option<ValueId> {
        match self.lookup(module, r)? {
            ItemId::Value(v) => Some(v),
            other => {
                let what = if matches!(other, ItemId::Rule(_)) {
                    "a rule"
                } else {
                    "a profile"
                };
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::WrongSort,
                        format!("`{}` is {what}, not a value", r.display()),
                    )
                    .label(r.span, "needs a value here")
                    .help("name a value node of the hierarchy"),
                );
                None
            }
        }
    }

    /// Resolves a reference to whatever it names, reporting unknown names.
    fn lookup(&mut self, module: ModuleId, r: &ast::Reference) -> Option<ItemId> {
        let target = match &r.namespace {
            None => module,
            Some(ns) => {
                let m = &self.framework.modules[module.index()];
                match m.imports.get(&ns.name) {
                    Some(&t) => t,
                    None => {
                        let help = match suggest::similar(
                            &ns.name,
                            m.imports.keys().map(String::as_str),
                        ) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None if m.imports.is_empty() => format!(
                                "import the framework first: `use \"file.qd\" as {}`",
                                ns.name
                            ),
                            None => format!(
                                "the imported namespaces are {}",
                                backticked(
                                    &m.imports.keys().map(String::as_str).collect::<Vec<_>>()
                                )
                            ),
                        };
                        // An import that failed has already been reported.
                        let ast = &self.asts[module.index()];
                        if !ast.broken && !ast.failed_imports.contains(&ns.name) {
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::UnknownNamespace,
                                    format!("no framework is imported as `{}`", ns.name),
                                )
                                .label(ns.span, "unknown namespace")
                                .help(help),
                            );
                        }
                        return None;
                    }
                }
            }
        };
        let m = &self.framework.modules[target.index()];
        if let Some(&item) = m.items.get(&r.id.name) {
            return Some(item);
        }
        if self.asts[target.index()].broken {
            return None;
        }
        let help = self.suggest_id(
            target,
            &r.id.name,
            r.namespace.as_ref().map(|n| n.name.as_str()),
        );
        let whose = match &r.namespace {
            Some(ns) => format!(" in `{}`", ns.name),
            None => String::new(),
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::UnknownReference,
                format!("`{}` is not defined{whose}", r.id.name),
            )
            .label(r.id.span, "unknown name")
            .help(help),
        );
        None
    }

    fn suggest_id(&self, target: ModuleId, name: &str, ns: Option<&str>) -> String {
        let m = &self.framework.modules[target.index()];
        let qualify = |id: &str| match ns {
            Some(ns) => format!("{ns}.{id}"),
            None => id.to_string(),
        };
        // A label or alias written in place of the id.
        let wanted = name.to_lowercase().replace(['_', '-'], " ");
        for &v in &m.values {
            let value = &self.framework.values[v.index()];
            let names = value.label.iter().chain(value.aliases.iter());
            if names
                .into_iter()
                .any(|l| l.to_lowercase().replace(['_', '-'], " ") == wanted)
            {
                return format!(
                    "did you mean `{}`? (its label is \"{}\")",
                    qualify(&value.id),
                    self.framework.value_label(v)
                );
            }
        }
        match suggest::similar(name, m.items.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{}`?", qualify(s)),
            None => "define it, or check the spelling".into(),
        }
    }
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

    #[test]
    fn normalizes_paths() {
        assert_eq!(
            normalize(Path::new("rules/./x/../mft.qd")),
            Path::new("rules/mft.qd")
        );
        assert_eq!(normalize(Path::new("../a.qd")), Path::new("../a.qd"));
    }
}
