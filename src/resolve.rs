//! From syntax trees to the resolved [`Framework`]: loads imports, declares every item,
//! checks the level nesting and binds every reference, collecting all diagnostics.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use indexmap::IndexMap;

use crate::diagnostic::{Code, Diagnostic};
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
}

/// Reads `paths` (and what they import) through `loader` and resolves them into one model.
/// Checking the model is a separate step ([`crate::check`]).
pub(crate) fn resolve<P: AsRef<Path>>(loader: &mut dyn Loader, paths: &[P]) -> Resolved {
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
        framework: r.framework,
        diagnostics: r.diagnostics,
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
        let stem = path
            .file_stem()
            .map_or_else(|| "file".to_string(), |s| s.to_string_lossy().into_owned());
        self.framework.modules.push(Module {
            file,
            stem,
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
            scenarios: Vec::new(),
            suites: Vec::new(),
            prompts: Vec::new(),
            steers: Vec::new(),
            questions: Vec::new(),
            stances: Vec::new(),
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
                    ast::Item::Scenario(sc) => {
                        let id = ScenarioId(self.framework.scenarios.len() as u32);
                        if self.declare_id(module, &sc.id, ItemId::Scenario(id)) {
                            self.framework.scenarios.push(Scenario {
                                id: sc.id.name.clone(),
                                label: sc.label.as_ref().map(|l| l.value.clone()),
                                topic: None,
                                describe: None,
                                slots: Vec::new(),
                                picks: Vec::new(),
                                text: None,
                                variants: IndexMap::new(),
                                actions: Vec::new(),
                                verbatim: false,
                                module,
                                span: sc.span,
                            });
                            self.framework.modules[m].scenarios.push(id);
                            declared[index] = Some(ItemId::Scenario(id));
                        }
                    }
                    ast::Item::Prompt(b) => {
                        let id = PromptId(self.framework.prompts.len() as u32);
                        if self.declare_id(module, &b.id, ItemId::Prompt(id)) {
                            let prompt = self.prompt(module, b);
                            self.framework.prompts.push(prompt);
                            self.framework.modules[m].prompts.push(id);
                        }
                    }
                    ast::Item::Steer(b) | ast::Item::Constitution(b) => {
                        let id = SteerId(self.framework.steers.len() as u32);
                        if self.declare_id(module, &b.id, ItemId::Steer(id)) {
                            let constitution = matches!(item, ast::Item::Constitution(_));
                            let steer = self.steer(module, b, constitution);
                            self.framework.steers.push(steer);
                            self.framework.modules[m].steers.push(id);
                            declared[index] = Some(ItemId::Steer(id));
                        }
                    }
                    ast::Item::Question(q) => {
                        let id = QuestionId(self.framework.questions.len() as u32);
                        if self.declare_id(module, &q.id, ItemId::Question(id)) {
                            let question = self.question(module, q);
                            self.framework.questions.push(question);
                            self.framework.modules[m].questions.push(id);
                            declared[index] = Some(ItemId::Question(id));
                        }
                    }
                    ast::Item::Stance(st) => {
                        let id = StanceId(self.framework.stances.len() as u32);
                        if self.declare_id(module, &st.id, ItemId::Stance(id)) {
                            let stance = self.stance(module, st);
                            self.framework.stances.push(stance);
                            self.framework.modules[m].stances.push(id);
                            declared[index] = Some(ItemId::Stance(id));
                        }
                    }
                    ast::Item::Suite(su) => {
                        let id = SuiteId(self.framework.suites.len() as u32);
                        if self.declare_id(module, &su.id, ItemId::Suite(id)) {
                            self.framework.suites.push(Suite {
                                id: su.id.name.clone(),
                                label: su.label.as_ref().map(|l| l.value.clone()),
                                describe: None,
                                seed: 0,
                                items: Vec::new(),
                                size: Size::Each(1),
                                balance: Balance::Random,
                                twins: false,
                                require_conflict: false,
                                dedupe: false,
                                distractors: 1.0,
                                order: Order::Fixed,
                                module,
                                span: su.span,
                                size_span: None,
                                require_span: None,
                                persona: None,
                                pass: Vec::new(),
                            });
                            self.framework.modules[m].suites.push(id);
                            declared[index] = Some(ItemId::Suite(id));
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
                ItemId::Scenario(x) => self.framework.scenarios[x.index()].span,
                ItemId::Suite(x) => self.framework.suites[x.index()].span,
                ItemId::Prompt(x) => self.framework.prompts[x.index()].span,
                ItemId::Steer(x) => self.framework.steers[x.index()].span,
                ItemId::Question(x) => self.framework.questions[x.index()].id_span,
                ItemId::Stance(x) => self.framework.stances[x.index()].span,
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
        // Under a parent whose own keyword was unknown there is no order to check.
        let parent_known =
            parent.is_none_or(|p| self.framework.values[p.index()].level < levels.len());
        if level != expected && parent_known && levels.get(level) == Some(keyword) {
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
            if let ast::NodeEntry::Child(child) = e
                && let Some(c) = self.declare_node(module, child, Some(id))
            {
                self.framework.values[id.index()].children.push(c);
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
                            if let ast::ProfileEntry::Weight(r, n, span) = e
                                && let Some(v) = self.value(module, r)
                            {
                                let profile = &mut self.framework.profiles[id.index()];
                                profile.weights.push((v, n.value));
                                profile.weight_spans.push(*span);
                            }
                        }
                    }
                    ast::Item::Scenario(sc) => {
                        let Some(ItemId::Scenario(id)) = *declared else {
                            continue;
                        };
                        self.bind_scenario(module, id, sc);
                    }
                    ast::Item::Steer(b) | ast::Item::Constitution(b) => {
                        let Some(ItemId::Steer(id)) = *declared else {
                            continue;
                        };
                        for a in &b.attributes {
                            match a {
                                ast::PresentationAttribute::Toward(refs, _) => {
                                    let vs: Vec<ValueId> =
                                        refs.iter().filter_map(|r| self.value(module, r)).collect();
                                    self.framework.steers[id.index()].toward.extend(vs);
                                }
                                ast::PresentationAttribute::Away(refs, _) => {
                                    let vs: Vec<ValueId> =
                                        refs.iter().filter_map(|r| self.value(module, r)).collect();
                                    self.framework.steers[id.index()].away.extend(vs);
                                }
                                _ => {}
                            }
                        }
                    }
                    ast::Item::Suite(su) => {
                        let Some(ItemId::Suite(id)) = *declared else {
                            continue;
                        };
                        self.bind_suite(module, id, su);
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
            _ => None,
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
                            if e.is_none() { "not a rule" } else { "a rule" }
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

    fn bind_scenario(&mut self, module: ModuleId, id: ScenarioId, sc: &ast::Scenario) {
        #[derive(Clone, Copy, PartialEq)]
        enum Var {
            Strings,
            Values,
            PickedValues,
            PickedRules,
        }
        let mut vars: IndexMap<String, (Var, Span)> = IndexMap::new();
        let mut declare_var = |r: &mut Self, name: &ast::Ident, var: Var| {
            if let Some((_, first)) = vars.get(&name.name) {
                r.diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateVariable,
                        format!(
                            "`{}` is bound twice in scenario `{}`",
                            name.name, sc.id.name
                        ),
                    )
                    .label(name.span, "bound again here")
                    .label(*first, "first bound here")
                    .help("give each slot and pick variable its own name"),
                );
            } else {
                vars.insert(name.name.clone(), (var, name.span));
            }
        };
        let mut topic: Option<String> = None;
        let mut describe = None;
        let mut slots = Vec::new();
        let mut picks = Vec::new();
        let mut text: Option<Template> = None;
        let mut variants: IndexMap<String, Template> = IndexMap::new();
        let mut verbatim: Option<Span> = None;
        // Slots and picks first: actions may use them wherever they are written.
        for entry in &sc.entries {
            match entry {
                ast::ScenarioEntry::Topic(c, span) => {
                    if topic.is_some() {
                        self.diagnostics.push(duplicate_attribute("topic", *span));
                    } else {
                        topic = Some(c.text().to_string());
                    }
                }
                ast::ScenarioEntry::Describe(s, span) => {
                    self.once(&mut describe, s, *span, "describe")
                }
                ast::ScenarioEntry::Slot(slot) => {
                    let domain = match &slot.domain {
                        ast::SlotDomain::Strings(items, span) => {
                            if items.is_empty() {
                                self.diagnostics.push(
                                    Diagnostic::new(
                                        Code::BadArgument,
                                        format!("slot `{}` has no choices", slot.name.name),
                                    )
                                    .label(*span, "empty list")
                                    .help("list at least one string"),
                                );
                            }
                            declare_var(self, &slot.name, Var::Strings);
                            SlotDomain::Strings(items.iter().map(|s| s.value.clone()).collect())
                        }
                        ast::SlotDomain::Call(call) => {
                            declare_var(self, &slot.name, Var::Values);
                            SlotDomain::Values(self.value_set(module, call).unwrap_or_default())
                        }
                    };
                    slots.push(Slot {
                        name: slot.name.name.clone(),
                        domain,
                        span: slot.span,
                    });
                }
                ast::ScenarioEntry::Pick(pick) => {
                    let source = self.pick_source(module, &pick.from);
                    let var = match source {
                        Some(PickSource::RuleConflicts(_)) => Var::PickedRules,
                        _ => Var::PickedValues,
                    };
                    declare_var(self, &pick.names[0], var);
                    declare_var(self, &pick.names[1], var);
                    // A pick whose source is wrong (already reported) keeps its variables, so
                    // their uses are not reported again; it draws nothing.
                    picks.push(Pick {
                        names: [pick.names[0].name.clone(), pick.names[1].name.clone()],
                        source: source.unwrap_or(PickSource::Unresolved),
                        span: pick.span,
                    });
                }
                ast::ScenarioEntry::Text(t) => {
                    let template = template(&t.template);
                    match &t.lang {
                        None if text.is_some() => {
                            self.diagnostics.push(duplicate_attribute("text", t.span))
                        }
                        None => text = Some(template),
                        Some(lang) if variants.contains_key(&lang.name) => self
                            .diagnostics
                            .push(duplicate_attribute(&format!("text.{}", lang.name), t.span)),
                        Some(lang) => {
                            variants.insert(lang.name.clone(), template);
                        }
                    }
                }
                ast::ScenarioEntry::Verbatim(span) => {
                    if verbatim.is_some() {
                        self.diagnostics
                            .push(duplicate_attribute("verbatim", *span));
                    } else {
                        verbatim = Some(*span);
                    }
                }
                ast::ScenarioEntry::Action(_) => {}
            }
        }
        let mut actions: Vec<Action> = Vec::new();
        for entry in &sc.entries {
            let ast::ScenarioEntry::Action(a) = entry else {
                continue;
            };
            if let Some(first) = actions.iter().find(|x| x.id == a.id.name) {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::DuplicateId,
                        format!(
                            "action `{}` is defined twice in scenario `{}`",
                            a.id.name, sc.id.name
                        ),
                    )
                    .label(a.id.span, "defined again here")
                    .label(first.span, "first defined here")
                    .help("give each action of a scenario its own id"),
                );
                continue;
            }
            let mut action = Action {
                id: a.id.name.clone(),
                label: a.label.as_ref().map(template),
                upholds: Vec::new(),
                upholds_indirect: Vec::new(),
                violates: Vec::new(),
                violates_indirect: Vec::new(),
                affects: Vec::new(),
                follows: None,
                distractor: false,
                describe: None,
                span: a.span,
            };
            for attribute in &a.attributes {
                match attribute {
                    ast::ActionAttribute::Upholds(refs, _)
                    | ast::ActionAttribute::Violates(refs, _)
                    | ast::ActionAttribute::UpholdsIndirectly(refs, _)
                    | ast::ActionAttribute::ViolatesIndirectly(refs, _) => {
                        let mut terms = Vec::new();
                        for r in refs {
                            let var = r
                                .namespace
                                .is_none()
                                .then(|| vars.get(&r.id.name))
                                .flatten();
                            match var {
                                Some((Var::Values | Var::PickedValues, _)) => {
                                    terms.push(Term::Variable(r.id.name.clone()))
                                }
                                Some((kind, _)) => {
                                    let (what, help) = if *kind == Var::Strings {
                                        (
                                            "a slot of strings",
                                            "only values can be upheld or violated: bind the slot to a set of values, e.g. `children(…)`",
                                        )
                                    } else {
                                        (
                                            "a picked rule",
                                            "an action takes on a rule's values with `follows`",
                                        )
                                    };
                                    self.diagnostics.push(
                                        Diagnostic::new(
                                            Code::WrongSort,
                                            format!("`{}` is {what}, not a value", r.id.name),
                                        )
                                        .label(r.span, "needs a value here")
                                        .help(help),
                                    );
                                }
                                None => {
                                    if let Some(v) = self.value(module, r) {
                                        terms.push(Term::Value(v));
                                    }
                                }
                            }
                        }
                        let indirect = matches!(
                            attribute,
                            ast::ActionAttribute::UpholdsIndirectly(..)
                                | ast::ActionAttribute::ViolatesIndirectly(..)
                        );
                        let flags = std::iter::repeat_n(indirect, terms.len());
                        if matches!(
                            attribute,
                            ast::ActionAttribute::Upholds(..)
                                | ast::ActionAttribute::UpholdsIndirectly(..)
                        ) {
                            action.upholds.extend(terms);
                            action.upholds_indirect.extend(flags);
                        } else {
                            action.violates.extend(terms);
                            action.violates_indirect.extend(flags);
                        }
                    }
                    ast::ActionAttribute::Affects(parties, _)
                    | ast::ActionAttribute::AffectsIndirectly(parties, _) => {
                        let indirect =
                            matches!(attribute, ast::ActionAttribute::AffectsIndirectly(..));
                        action.affects.extend(parties.iter().map(|p| Effect {
                            party: p.name.text().to_string(),
                            sign: match p.sign {
                                Some('+') => Some(Sign::Positive),
                                Some('-') => Some(Sign::Negative),
                                _ => None,
                            },
                            indirect,
                        }))
                    }
                    ast::ActionAttribute::Follows(name, span) => match vars.get(&name.name) {
                        Some((Var::PickedRules, _)) if action.follows.is_none() => {
                            action.follows = Some(name.name.clone())
                        }
                        Some((Var::PickedRules, _)) => {
                            self.diagnostics.push(duplicate_attribute("follows", *span))
                        }
                        Some((kind, _)) => {
                            let what = match kind {
                                Var::Strings => "a slot of strings",
                                _ => "a value",
                            };
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::WrongSort,
                                    format!("`{}` is {what}, not a rule", name.name),
                                )
                                .label(name.span, "needs a picked rule here")
                                .help(
                                    "`follows` takes a rule picked with `rule_conflicts(…)`; \
                                     values are upheld with `upholds`",
                                ),
                            );
                        }
                        None => {
                            let rules: Vec<&str> = vars
                                .iter()
                                .filter(|(_, (k, _))| *k == Var::PickedRules)
                                .map(|(n, _)| n.as_str())
                                .collect();
                            let help = match suggest::similar(&name.name, rules.iter().copied()) {
                                Some(s) => format!("did you mean `{s}`?"),
                                None if rules.is_empty() => {
                                    "pick two rules first: `pick r1, r2 from rule_conflicts()`"
                                        .to_string()
                                }
                                None => format!("the picked rules are {}", backticked(&rules)),
                            };
                            self.diagnostics.push(
                                Diagnostic::new(
                                    Code::UnknownReference,
                                    format!("`{}` is not a picked rule", name.name),
                                )
                                .label(name.span, "not a rule picked by this scenario")
                                .help(help),
                            );
                        }
                    },
                    ast::ActionAttribute::Distractor(_) => action.distractor = true,
                    ast::ActionAttribute::Describe(s, span) => {
                        self.once(&mut action.describe, s, *span, "describe")
                    }
                }
            }
            actions.push(action);
        }
        if text.is_none() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::IncompleteScenario,
                    format!("scenario `{}` has no text", sc.id.name),
                )
                .label(sc.id.span, "no `text` in this scenario")
                .help("add the dilemma as a template: `text \"\"\"You are a {{ role }}…\"\"\"`"),
            );
        }
        if let Some(span) = verbatim {
            for (name, (_, at)) in &vars {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::VerbatimVariables,
                        format!(
                            "verbatim scenario `{}` binds `{name}`, but its text is not a template",
                            sc.id.name
                        ),
                    )
                    .label(*at, "bound here")
                    .label(span, "the scenario is verbatim")
                    .help(
                        "a verbatim scenario is given as written: remove the `slot` or `pick`, \
                         or remove `verbatim` to make its texts templates",
                    ),
                );
            }
        }
        let options = actions.iter().filter(|a| !a.distractor).count();
        if options < 2 {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::IncompleteScenario,
                    format!(
                        "scenario `{}` has {options} option{}; a dilemma needs at least two",
                        sc.id.name,
                        if options == 1 { "" } else { "s" }
                    ),
                )
                .label(sc.id.span, "too few actions")
                .help("add `action id \"label\" { upholds … }` blocks (distractors do not count)"),
            );
        }
        let scenario = &mut self.framework.scenarios[id.index()];
        scenario.topic = topic;
        scenario.describe = describe;
        scenario.slots = slots;
        scenario.picks = picks;
        scenario.text = text;
        scenario.variants = variants;
        scenario.actions = actions;
        scenario.verbatim = verbatim.is_some();
    }

    /// The values a slot's set function names.
    fn value_set(&mut self, module: ModuleId, call: &ast::SetCall) -> Option<Vec<ValueId>> {
        let name = call.function.name.as_str();
        match name {
            "children" | "descendants" => {
                let [ast::SetArg::Reference(r)] = call.args.as_slice() else {
                    self.bad_argument(
                        call,
                        format!("`{name}` takes one value"),
                        format!("write `{name}(value)`"),
                    );
                    return None;
                };
                let v = self.value(module, r)?;
                let mut out = Vec::new();
                if name == "children" {
                    out.extend(self.framework.value(v).children.iter().copied());
                } else {
                    let mut stack: Vec<ValueId> = self
                        .framework
                        .value(v)
                        .children
                        .iter()
                        .rev()
                        .copied()
                        .collect();
                    while let Some(x) = stack.pop() {
                        out.push(x);
                        stack.extend(self.framework.value(x).children.iter().rev().copied());
                    }
                }
                if out.is_empty() {
                    self.bad_argument(
                        call,
                        format!("`{}` has nothing below it", r.display()),
                        "name a value that has values below it, or use `values(…)`".to_string(),
                    );
                }
                Some(out)
            }
            "level" => {
                let [ast::SetArg::Reference(r)] = call.args.as_slice() else {
                    self.bad_argument(
                        call,
                        "`level` takes one level keyword".to_string(),
                        "write `level(derived)`, or `level(ns.derived)` for an imported framework"
                            .to_string(),
                    );
                    return None;
                };
                let target = match &r.namespace {
                    None => module,
                    Some(ns) => {
                        match self.framework.modules[module.index()].imports.get(&ns.name) {
                            Some(&t) => t,
                            None => {
                                self.lookup(module, r);
                                return None;
                            }
                        }
                    }
                };
                let m = &self.framework.modules[target.index()];
                match m.levels.iter().position(|l| *l == r.id.name) {
                    Some(level) => Some(
                        m.values
                            .iter()
                            .copied()
                            .filter(|&v| self.framework.value(v).level == level)
                            .collect(),
                    ),
                    None => {
                        let levels: Vec<&str> = m.levels.iter().map(String::as_str).collect();
                        let help = match suggest::similar(&r.id.name, levels.iter().copied()) {
                            Some(s) => format!("did you mean `{s}`?"),
                            None => format!("the levels are {}", backticked(&levels)),
                        };
                        self.bad_argument(call, format!("`{}` is not a level", r.id.name), help);
                        None
                    }
                }
            }
            "values" => {
                let mut out = Vec::new();
                for a in &call.args {
                    match a {
                        ast::SetArg::Reference(r) => out.extend(self.value(module, r)),
                        ast::SetArg::Text(s) => self.bad_argument_at(
                            s.span,
                            "`values` takes values, not strings".to_string(),
                            "write the values' ids".to_string(),
                        ),
                    }
                }
                if call.args.is_empty() {
                    self.bad_argument(
                        call,
                        "`values` needs at least one value".to_string(),
                        "write `values(a, b, …)`".to_string(),
                    );
                }
                Some(out)
            }
            "conflicts" | "rule_conflicts" => {
                self.bad_argument(
                    call,
                    format!("`{name}` draws a pair, not a set"),
                    format!("use it in a pick: `pick a, b from {name}(…)`"),
                );
                None
            }
            _ => {
                self.unknown_function(call);
                None
            }
        }
    }

    /// Where a pick draws its pair from.
    fn pick_source(&mut self, module: ModuleId, call: &ast::SetCall) -> Option<PickSource> {
        match call.function.name.as_str() {
            "conflicts" => {
                let mut values = Vec::new();
                for a in &call.args {
                    match a {
                        ast::SetArg::Reference(r) => values.extend(self.value(module, r)),
                        ast::SetArg::Text(s) => self.bad_argument_at(s.span, "`conflicts` takes values, not strings".to_string(), "write the values' ids; each stands for itself and every value below it".to_string()),
                    }
                }
                Some(PickSource::Conflicts(values))
            }
            "rule_conflicts" => {
                let contexts = call
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        ast::SetArg::Reference(r) if r.namespace.is_none() => {
                            Some(r.id.name.clone())
                        }
                        ast::SetArg::Text(s) => Some(s.value.clone()),
                        ast::SetArg::Reference(r) => {
                            self.bad_argument_at(
                                r.span,
                                "`rule_conflicts` takes contexts".to_string(),
                                "write context words such as `workplace`, or phrases in quotes"
                                    .to_string(),
                            );
                            None
                        }
                    })
                    .collect();
                Some(PickSource::RuleConflicts(contexts))
            }
            name @ ("children" | "descendants" | "level" | "values") => {
                self.bad_argument(call, format!("`{name}` gives a set, not a pair"), format!("use it in a slot: `slot v = {name}(…)`; pick pairs with `conflicts(…)` or `rule_conflicts(…)`"));
                None
            }
            _ => {
                self.unknown_function(call);
                None
            }
        }
    }

    fn unknown_function(&mut self, call: &ast::SetCall) {
        const FUNCTIONS: [&str; 6] = [
            "children",
            "descendants",
            "level",
            "values",
            "conflicts",
            "rule_conflicts",
        ];
        let help = match suggest::similar(&call.function.name, FUNCTIONS) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the set functions are {}", backticked(&FUNCTIONS)),
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::UnknownFunction,
                format!("`{}` is not a set function", call.function.name),
            )
            .label(call.function.span, "unknown function")
            .help(help),
        );
    }

    fn bad_argument(&mut self, call: &ast::SetCall, message: String, help: String) {
        self.bad_argument_at(call.span, message, help);
    }

    fn bad_argument_at(&mut self, span: Span, message: String, help: String) {
        self.diagnostics.push(
            Diagnostic::new(Code::BadArgument, message)
                .label(span, "here")
                .help(help),
        );
    }

    fn bind_suite(&mut self, module: ModuleId, id: SuiteId, su: &ast::Suite) {
        let mut suite = self.framework.suites[id.index()].clone();
        let mut seen: Vec<&'static str> = Vec::new();
        let mut from = None;
        let mut size: Option<(Size, Span)> = None;
        let mut pass: Vec<&ast::SuiteSetting> = Vec::new();
        for setting in &su.settings {
            let key = match setting {
                ast::SuiteSetting::Seed(..) => "seed",
                ast::SuiteSetting::From(..) => "from",
                ast::SuiteSetting::Count(..) | ast::SuiteSetting::Each(..) => "count",
                ast::SuiteSetting::Balance(..) => "balance",
                ast::SuiteSetting::Twins(..) => "twins",
                ast::SuiteSetting::Require(..) => "require",
                ast::SuiteSetting::Dedupe(..) => "dedupe",
                ast::SuiteSetting::Distractors(..) => "distractors",
                ast::SuiteSetting::Order(..) => "order",
                ast::SuiteSetting::Persona(..) => "persona",
                // Each population has its own mark; `pass_marks` reports repeats.
                ast::SuiteSetting::Pass(..) => {
                    pass.push(setting);
                    continue;
                }
                ast::SuiteSetting::Describe(..) => "describe",
            };
            if seen.contains(&key) {
                let what = if key == "count" {
                    "count` or `each"
                } else {
                    key
                };
                self.diagnostics
                    .push(duplicate_attribute(what, setting.span()));
                continue;
            }
            seen.push(key);
            match setting {
                ast::SuiteSetting::Seed(n, _) => match n.raw.parse::<u64>() {
                    Ok(seed) => suite.seed = seed,
                    Err(_) => self.invalid_setting(
                        n.span,
                        format!(
                            "seed `{}` is not a whole number from 0 to 18446744073709551615",
                            n.raw
                        ),
                        "write a whole number such as `42`",
                    ),
                },
                ast::SuiteSetting::Count(n, span) | ast::SuiteSetting::Each(n, span) => {
                    match n.raw.parse::<u64>() {
                        Ok(k) if k > 0 => {
                            let s = if matches!(setting, ast::SuiteSetting::Count(..)) {
                                Size::Count(k)
                            } else {
                                Size::Each(k)
                            };
                            size = Some((s, *span));
                        }
                        _ => self.invalid_setting(
                            n.span,
                            format!("`{}` is not a positive whole number", n.raw),
                            "write how many, e.g. `count 1000` or `each 2`",
                        ),
                    }
                }
                ast::SuiteSetting::From(refs, _) => {
                    let mut list = Vec::new();
                    for r in refs {
                        match self.lookup(module, r) {
                            Some(ItemId::Scenario(x)) => list.push(SuiteItem::Scenario(x)),
                            Some(ItemId::Question(x)) => list.push(SuiteItem::Question(x)),
                            Some(ItemId::Stance(x)) => list.push(SuiteItem::Stance(x)),
                            Some(_) => self.diagnostics.push(
                                Diagnostic::new(
                                    Code::WrongSort,
                                    format!(
                                        "`{}` is not a scenario, question or stance",
                                        r.display()
                                    ),
                                )
                                .label(r.span, "needs a scenario, question or stance here")
                                .help(
                                    "`from` lists the scenarios, questions and stances the \
                                     suite expands",
                                ),
                            ),
                            None => {}
                        }
                    }
                    from = Some(list);
                }
                ast::SuiteSetting::Balance(w, _) => match w.name.as_str() {
                    "pairs" => suite.balance = Balance::Pairs,
                    "diverse" => suite.balance = Balance::Diverse,
                    _ => self.invalid_word(w, "balance", &["pairs", "diverse"]),
                },
                ast::SuiteSetting::Twins(w, _) => match w.name.as_str() {
                    "order" => suite.twins = true,
                    _ => self.invalid_word(w, "twins", &["order"]),
                },
                ast::SuiteSetting::Require(w, span) => match w.name.as_str() {
                    "conflict" => {
                        suite.require_conflict = true;
                        suite.require_span = Some(*span);
                    }
                    _ => self.invalid_word(w, "require", &["conflict"]),
                },
                ast::SuiteSetting::Order(w, _) => match w.name.as_str() {
                    "fixed" => suite.order = Order::Fixed,
                    "shuffled" => suite.order = Order::Shuffled,
                    _ => self.invalid_word(w, "order", &["fixed", "shuffled"]),
                },
                ast::SuiteSetting::Dedupe(_) => suite.dedupe = true,
                ast::SuiteSetting::Distractors(n, _) => {
                    if (0.0..=1.0).contains(&n.value) {
                        suite.distractors = n.value;
                    } else {
                        self.invalid_setting(n.span, format!("`distractors {}` is out of range: it must be between 0 and 1", n.raw), "the share of scenarios that include their distractor options, e.g. `0.3`");
                    }
                }
                ast::SuiteSetting::Persona(s, _) => suite.persona = Some(template(s)),
                ast::SuiteSetting::Pass(..) => {}
                ast::SuiteSetting::Describe(s, span) => {
                    self.once(&mut suite.describe, s, *span, "describe")
                }
            }
        }
        suite.pass = self.pass_marks(&pass);
        suite.items = from.unwrap_or_else(|| {
            self.framework.modules[module.index()]
                .items
                .values()
                .filter_map(|item| match *item {
                    ItemId::Scenario(x) => Some(SuiteItem::Scenario(x)),
                    ItemId::Question(x) => Some(SuiteItem::Question(x)),
                    ItemId::Stance(x) => Some(SuiteItem::Stance(x)),
                    _ => None,
                })
                .collect()
        });
        if let Some((s, span)) = size {
            suite.size = s;
            suite.size_span = Some(span);
        }
        if suite.items.is_empty() && !self.asts[module.index()].broken {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::InvalidSetting,
                    format!("suite `{}` has no scenarios", su.id.name),
                )
                .label(su.id.span, "nothing to expand")
                .help(
                    "declare a `scenario`, `question` or `stance` in this file, or list some \
                     with `from`",
                ),
            );
        }
        self.framework.suites[id.index()] = suite;
    }

    fn prompt(&mut self, module: ModuleId, b: &ast::PresentationBlock) -> Prompt {
        let mut prompt = Prompt {
            id: b.id.name.clone(),
            label: b.label.as_ref().map(|l| l.value.clone()),
            system: None,
            user: None,
            labels: OptionLabels::Letters,
            instruction: None,
            module,
            span: b.span,
        };
        let mut labels_seen = false;
        for a in &b.attributes {
            match a {
                ast::PresentationAttribute::System(s, span) => {
                    self.once(&mut prompt.system, s, *span, "system")
                }
                ast::PresentationAttribute::Instruction(s, span) => {
                    self.once(&mut prompt.instruction, s, *span, "instruction")
                }
                ast::PresentationAttribute::User(s, span) => {
                    if prompt.user.is_some() {
                        self.diagnostics.push(duplicate_attribute("user", *span));
                    } else {
                        prompt.user = Some(template(s));
                    }
                }
                ast::PresentationAttribute::Labels(w, span) => {
                    if labels_seen {
                        self.diagnostics.push(duplicate_attribute("labels", *span));
                        continue;
                    }
                    labels_seen = true;
                    match w.name.as_str() {
                        "letters" => prompt.labels = OptionLabels::Letters,
                        "actions" => prompt.labels = OptionLabels::Actions,
                        _ => self.invalid_word(w, "labels", &["letters", "actions"]),
                    }
                }
                _ => {}
            }
        }
        prompt
    }

    fn steer(&mut self, module: ModuleId, b: &ast::PresentationBlock, constitution: bool) -> Steer {
        let mut system = None;
        let mut source = None;
        let mut principles = Vec::new();
        for a in &b.attributes {
            match a {
                ast::PresentationAttribute::System(s, span) => {
                    self.once(&mut system, s, *span, "system")
                }
                ast::PresentationAttribute::Source(s, span) => {
                    self.once(&mut source, s, *span, "source")
                }
                ast::PresentationAttribute::Principle(s, _) => principles.push(s.value.clone()),
                _ => {}
            }
        }
        let system = if constitution {
            if principles.is_empty() {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::IncompletePresentation,
                        format!("constitution `{}` has no principles", b.id.name),
                    )
                    .label(b.id.span, "no `principle` in this constitution")
                    .help("list its principles: `principle \"Choose the response that…\"`"),
                );
            }
            let mut text =
                String::from("Choose the response that best follows these principles:\n");
            for (i, p) in principles.iter().enumerate() {
                text.push_str(&format!("{}. {p}\n", i + 1));
            }
            text.trim_end().to_string()
        } else {
            system.unwrap_or_else(|| {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::IncompletePresentation,
                        format!("steer `{}` has no system prompt", b.id.name),
                    )
                    .label(b.id.span, "no `system` in this steer")
                    .help("give the text that steers the model: `system \"…\"`"),
                );
                String::new()
            })
        };
        Steer {
            id: b.id.name.clone(),
            label: b.label.as_ref().map(|l| l.value.clone()),
            system,
            toward: Vec::new(),
            away: Vec::new(),
            principles,
            source,
            module,
            span: b.span,
        }
    }

    /// A question's options and reference answers; the shares are checked by `check`.
    fn question(&mut self, module: ModuleId, q: &ast::Question) -> Question {
        let mut question = Question {
            id: q.id.name.clone(),
            text: q.text.value.clone(),
            source: None,
            describe: None,
            options: Vec::new(),
            references: Vec::new(),
            module,
            span: q.span,
            id_span: q.id.span,
        };
        for e in &q.entries {
            match e {
                ast::QuestionEntry::Source(s, span) => {
                    self.once(&mut question.source, s, *span, "source")
                }
                ast::QuestionEntry::Describe(s, span) => {
                    self.once(&mut question.describe, s, *span, "describe")
                }
                ast::QuestionEntry::Option(o) => {
                    if let Some(first) = question.options.iter().find(|x| x.id == o.id.name) {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::DuplicateId,
                                format!(
                                    "option `{}` is defined twice in question `{}`",
                                    o.id.name, q.id.name
                                ),
                            )
                            .label(o.id.span, "defined again here")
                            .label(first.span, "first defined here")
                            .help("give each option of a question its own id"),
                        );
                        continue;
                    }
                    question.options.push(QuestionOption {
                        id: o.id.name.clone(),
                        label: o.label.value.clone(),
                        span: o.span,
                    });
                }
                ast::QuestionEntry::Reference(r) => {
                    let key = population_key(&r.population.value);
                    if let Some(first) = question
                        .references
                        .iter()
                        .find(|x| population_key(&x.population) == key)
                    {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::DuplicateAttribute,
                                format!(
                                    "the reference of `{}` is given twice in question `{}`",
                                    r.population.value, q.id.name
                                ),
                            )
                            .label(r.population.span, "given again here")
                            .label(first.span, "first given here")
                            .help(
                                "keep one distribution per population (populations compare \
                                 ignoring case and surrounding spaces)",
                            ),
                        );
                        continue;
                    }
                    question.references.push(Distribution {
                        population: r.population.value.clone(),
                        shares: r.shares.iter().map(|n| n.value).collect(),
                        share_spans: r.shares.iter().map(|n| n.span).collect(),
                        list_span: r.list_span,
                        span: r.span,
                    });
                }
            }
        }
        if q.text.value.trim().is_empty() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::IncompleteQuestion,
                    format!("question `{}` has no text", q.id.name),
                )
                .label(q.text.span, "empty")
                .help("write the question as it is put: `question id \"How important is…?\"`"),
            );
        }
        let n = question.options.len();
        if n < 2 {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::IncompleteQuestion,
                    format!(
                        "question `{}` has {n} option{}; a question needs at least two",
                        q.id.name,
                        if n == 1 { "" } else { "s" }
                    ),
                )
                .label(q.id.span, "too few options")
                .help("list its answers in order: `option very \"Very important\"`"),
            );
        }
        question
    }

    fn stance(&mut self, module: ModuleId, st: &ast::Stance) -> Stance {
        let mut question = None;
        let mut statement = None;
        let mut reversed = None;
        let mut source = None;
        let mut describe = None;
        for a in &st.attributes {
            match a {
                ast::StanceAttribute::Question(s, span) => {
                    self.once(&mut question, s, *span, "question")
                }
                ast::StanceAttribute::Statement(s, span) => {
                    self.once(&mut statement, s, *span, "statement")
                }
                ast::StanceAttribute::Reversed(s, span) => {
                    self.once(&mut reversed, s, *span, "reversed")
                }
                ast::StanceAttribute::Source(s, span) => self.once(&mut source, s, *span, "source"),
                ast::StanceAttribute::Describe(s, span) => {
                    self.once(&mut describe, s, *span, "describe")
                }
            }
        }
        if st.country.value.trim().is_empty() {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::IncompleteQuestion,
                    format!("stance `{}` names no country", st.id.name),
                )
                .label(st.country.span, "empty")
                .help("name the country whose stance it is: `stance id \"France\" { … }`"),
            );
        }
        let mut missing = |what: &str, example: &str| {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::IncompleteQuestion,
                    format!("stance `{}` has no {what}", st.id.name),
                )
                .label(st.id.span, format!("no `{what}` in this stance"))
                .help(format!(
                    "a stance is a statement and its reversal: {example}"
                )),
            );
            String::new()
        };
        let statement = statement.unwrap_or_else(|| {
            missing(
                "statement",
                "`statement \"Public money should not fund religious schools.\"`",
            )
        });
        let reversed = reversed.unwrap_or_else(|| {
            missing(
                "reversed",
                "`reversed \"Public money should fund religious schools.\"`",
            )
        });
        Stance {
            id: st.id.name.clone(),
            country: st.country.value.clone(),
            question,
            statement,
            reversed,
            source,
            describe,
            module,
            span: st.span,
        }
    }

    /// A suite's pass marks: each between 0 and 1, one per population and one without.
    fn pass_marks(&mut self, settings: &[&ast::SuiteSetting]) -> Vec<PassMark> {
        let mut marks: Vec<PassMark> = Vec::new();
        for setting in settings {
            let ast::SuiteSetting::Pass(population, n, span) = setting else {
                continue;
            };
            let key = population.as_ref().map(|p| population_key(&p.value));
            if marks
                .iter()
                .any(|m| m.population.as_deref().map(population_key) == key)
            {
                let what = match population {
                    Some(p) => format!("pass {}", p.raw),
                    None => "pass".to_string(),
                };
                self.diagnostics.push(duplicate_attribute(&what, *span));
                continue;
            }
            if !(0.0..=1.0).contains(&n.value) {
                self.invalid_setting(
                    n.span,
                    format!(
                        "`pass {}` is out of range: it must be between 0 and 1",
                        n.raw
                    ),
                    "a pass mark is a mean similarity to a population's answers, from 0 to 1, \
                     e.g. `pass \"France\" 0.8`",
                );
                continue;
            }
            marks.push(PassMark {
                population: population.as_ref().map(|p| p.value.clone()),
                mark: n.value,
                span: *span,
            });
        }
        marks
    }

    fn invalid_setting(&mut self, span: Span, message: String, help: &str) {
        self.diagnostics.push(
            Diagnostic::new(Code::InvalidSetting, message)
                .label(span, "invalid")
                .help(help),
        );
    }

    fn invalid_word(&mut self, word: &ast::Ident, setting: &str, allowed: &[&str]) {
        let help = match suggest::similar(&word.name, allowed.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("`{setting}` takes {}", backticked(allowed)),
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::InvalidSetting,
                format!("`{setting} {}` is not a setting", word.name),
            )
            .label(word.span, "unknown")
            .help(help),
        );
    }

    /// Resolves a reference that must name a value.
    fn value(&mut self, module: ModuleId, r: &ast::Reference) -> Option<ValueId> {
        match self.lookup(module, r)? {
            ItemId::Value(v) => Some(v),
            other => {
                let what = match other {
                    ItemId::Rule(_) => "a rule",
                    ItemId::Profile(_) => "a profile",
                    ItemId::Scenario(_) => "a scenario",
                    ItemId::Prompt(_) => "a prompt",
                    ItemId::Steer(_) => "a steer",
                    ItemId::Question(_) => "a question",
                    ItemId::Stance(_) => "a stance",
                    _ => "a suite",
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
