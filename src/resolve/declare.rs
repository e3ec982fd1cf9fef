//! Declaring every item: the framework header and its levels, ids, value nodes and their
//! nesting, rules, profiles and the rest, before any reference is bound.

use super::*;

impl Resolver<'_> {
    /// Reads every `populations` table of every module into [`Framework::populations`],
    /// before anything names a population: a line's name and its spellings are indexed by
    /// their [`spelling_key`]. A name on two lines is one population (the lines join); a
    /// spelling that already means a population is `Q0131`.
    fn declare_populations(&mut self) {
        let mut tables = Vec::new();
        for (m, a) in self.asts.iter().enumerate() {
            for item in &a.file.items {
                if let ast::Item::Populations(p) = item {
                    tables.push((ModuleId(m as u32), p.clone()));
                }
            }
        }
        // Where each key was first written.
        let mut written: std::collections::BTreeMap<String, Span> = Default::default();
        for (module, table) in tables {
            for entry in &table.entries {
                let key = spelling_key(&entry.name.value);
                let line = match self.framework.population_index.get(&key) {
                    Some(&line) if spelling_key(&self.framework.populations[line].name) == key => {
                        line
                    }
                    Some(&line) => {
                        let first = written.get(&key).copied().unwrap_or(entry.name.span);
                        self.diagnostics.push(spelled_twice(
                            &entry.name.value,
                            &self.framework.populations[line].name,
                            entry.name.span,
                            first,
                        ));
                        continue;
                    }
                    None => {
                        let line = self.framework.populations.len();
                        self.framework.populations.push(PopulationAliases {
                            name: entry.name.value.trim().to_string(),
                            aliases: Vec::new(),
                            module,
                            span: entry.name.span,
                        });
                        self.framework.population_index.insert(key.clone(), line);
                        written.insert(key, entry.name.span);
                        line
                    }
                };
                for alias in &entry.aliases {
                    let key = spelling_key(&alias.value);
                    if let Some(&other) = self.framework.population_index.get(&key) {
                        let first = written.get(&key).copied().unwrap_or(alias.span);
                        self.diagnostics.push(spelled_twice(
                            &alias.value,
                            &self.framework.populations[other].name,
                            alias.span,
                            first,
                        ));
                        continue;
                    }
                    self.framework.population_index.insert(key.clone(), line);
                    written.insert(key, alias.span);
                    self.framework.populations[line]
                        .aliases
                        .push((alias.value.clone(), alias.span));
                }
            }
        }
    }

    /// Declares headers, levels, value nodes, rules and profiles of every module.
    pub(super) fn declare_all(&mut self) {
        self.declare_populations();
        for m in 0..self.asts.len() {
            let module = ModuleId(m as u32);
            let items = std::mem::take(&mut self.asts[m].file.items);
            let entries = std::mem::take(&mut self.asts[m].entries);
            let mut declared = vec![None; entries.len()];
            for item in &items {
                if let ast::Item::Framework(f) = item {
                    self.declare_header(module, f);
                }
            }
            let file = self.framework.modules[m].file;
            let text = self.sources.get(file).shared_text();
            let mut plain = syntax::Plain::default();
            let rules = entries
                .iter()
                .filter(|e| match **e {
                    syntax::Entry::Plain(_) => true,
                    syntax::Entry::Item(i) => {
                        matches!(items.get(i as usize), Some(ast::Item::Rule(_)))
                    }
                })
                .count();
            self.framework.rules.reserve_exact(rules);
            self.framework.modules[m].rules.reserve_exact(rules);
            for (index, entry) in entries.iter().enumerate() {
                let item = match *entry {
                    syntax::Entry::Plain(at) => {
                        if syntax::read_plain(&text, at as usize, &mut plain).is_some() {
                            declared[index] = self.declare_plain_rule(module, file, &text, &plain);
                        }
                        continue;
                    }
                    syntax::Entry::Item(i) => match items.get(i as usize) {
                        Some(item) => item,
                        None => continue,
                    },
                };
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
                                        for c in cs {
                                            contexts.push(self.context(c.text()));
                                        }
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
                                translations: translations.into(),
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
                            self.framework.scenarios.push(ScenarioTemplate {
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
                                show: None,
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
                    ast::Item::Judge(b) => {
                        let id = JudgeId(self.framework.judges.len() as u32);
                        if self.declare_id(module, &b.id, ItemId::Judge(id)) {
                            let judge = self.judge(module, b);
                            self.framework.judges.push(judge);
                            self.framework.modules[m].judges.push(id);
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
                                languages: Vec::new(),
                                judge: None,
                                judge_span: None,
                            });
                            self.framework.modules[m].suites.push(id);
                            declared[index] = Some(ItemId::Suite(id));
                        }
                    }
                    _ => {}
                }
            }
            self.asts[m].file.items = items;
            self.asts[m].entries = entries;
            self.asts[m].declared = declared;
        }
    }

    /// Declares a plain rule (read from `text`) as a rule's tree is declared: its id, text and
    /// contexts (the plain form has no `describe` and no translations).
    fn declare_plain_rule(
        &mut self,
        module: ModuleId,
        file: FileId,
        text: &str,
        plain: &syntax::Plain,
    ) -> Option<ItemId> {
        let id = RuleId(self.framework.rules.len() as u32);
        let name = &text[plain.id.clone()];
        if !self.declare_name(
            module,
            name,
            Span::new(file, plain.id.clone()),
            ItemId::Rule(id),
        ) {
            return None;
        }
        let contexts = plain
            .contexts
            .iter()
            .map(|c| self.context(syntax::Plain::context_text(text, c)))
            .collect();
        self.framework.rules.push(Rule {
            id: name.to_string(),
            text: plain.text_value(text).to_string(),
            upholds: Vec::new(),
            violates: Vec::new(),
            contexts,
            describe: None,
            translations: Translations::default(),
            module,
            span: Span::new(file, plain.start..plain.end),
        });
        self.framework.modules[module.index()].rules.push(id);
        Some(ItemId::Rule(id))
    }

    pub(super) fn declare_header(&mut self, module: ModuleId, f: &ast::Framework) {
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

    pub(super) fn once(&mut self, slot: &mut Option<String>, s: &ast::Str, span: Span, what: &str) {
        if slot.is_some() {
            self.diagnostics.push(duplicate_attribute(what, span));
        } else {
            *slot = Some(s.value.clone());
        }
    }

    pub(super) fn translation(&mut self, map: &mut IndexMap<String, String>, t: &ast::Translation) {
        if map.contains_key(&t.lang.name) {
            self.diagnostics.push(duplicate_attribute(
                &format!("{} translation", t.lang.name),
                t.span,
            ));
        } else {
            map.insert(t.lang.name.clone(), t.text.value.clone());
        }
    }

    /// The shared text of a rule's context.
    fn context(&mut self, text: &str) -> std::sync::Arc<str> {
        if let Some(shared) = self.contexts.get(text) {
            return std::sync::Arc::clone(shared);
        }
        let shared: std::sync::Arc<str> = std::sync::Arc::from(text);
        self.contexts.insert(std::sync::Arc::clone(&shared));
        shared
    }

    /// Registers `id` in the module; reports a duplicate and returns false if it is taken.
    pub(super) fn declare_id(&mut self, module: ModuleId, id: &ast::Ident, item: ItemId) -> bool {
        self.declare_name(module, &id.name, id.span, item)
    }

    /// [`Self::declare_id`] of a name and where it is.
    fn declare_name(&mut self, module: ModuleId, name: &str, span: Span, item: ItemId) -> bool {
        let m = &mut self.framework.modules[module.index()];
        if let Some(previous) = m.items.get(name) {
            let first = match previous {
                ItemId::Value(v) => self.framework.values[v.index()].id_span,
                ItemId::Rule(r) => self.framework.rules[r.index()].span,
                ItemId::Profile(p) => self.framework.profiles[p.index()].span,
                ItemId::Scenario(x) => self.framework.scenarios[x.index()].span,
                ItemId::Suite(x) => self.framework.suites[x.index()].span,
                ItemId::Prompt(x) => self.framework.prompts[x.index()].span,
                ItemId::Steer(x) => self.framework.steers[x.index()].span,
                ItemId::Judge(x) => self.framework.judges[x.index()].span,
                ItemId::Question(x) => self.framework.questions[x.index()].id_span,
                ItemId::Stance(x) => self.framework.stances[x.index()].span,
            };
            self.diagnostics.push(
                Diagnostic::new(Code::DuplicateId, format!("`{name}` is defined twice"))
                    .label(span, "defined again here")
                    .label(first, "first defined here")
                    .help("ids are unique within a file; rename one of them"),
            );
            return false;
        }
        m.items.insert(name.to_string(), item);
        true
    }

    pub(super) fn declare_node(
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
                            let help = match suggest::similar(
                                &k.name,
                                super::setting_words("value", "kind").iter().copied(),
                            ) {
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
}

/// `Q0131`: a spelling that already means a population.
fn spelled_twice(spelling: &str, population: &str, again: Span, first: Span) -> Diagnostic {
    let (message, help) = if spelling_key(spelling) == spelling_key(population) {
        (
            format!("\"{spelling}\" is already the population \"{population}\""),
            "a spelling means one population: list it once, on the population's own line",
        )
    } else {
        (
            format!("\"{spelling}\" is already a spelling of \"{population}\""),
            "a spelling means one population: keep it on that population's line alone",
        )
    };
    Diagnostic::new(Code::PopulationSpelledTwice, message)
        .label(again, "given again here")
        .label(first, "first given here")
        .help(help)
}
