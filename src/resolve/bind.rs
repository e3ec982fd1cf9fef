//! Binding references: relations, rules, mappings and profiles to the items they name,
//! across namespaces, with did-you-mean for a name that is not found.

use super::*;

impl Resolver<'_> {
    /// Binds the references of relations, rules, profiles and mappings in every module.
    pub(super) fn bind_all(&mut self) {
        for m in 0..self.asts.len() {
            let module = ModuleId(m as u32);
            let items = std::mem::take(&mut self.asts[m].file.items);
            let entries = std::mem::take(&mut self.asts[m].entries);
            let declared = std::mem::take(&mut self.asts[m].declared);
            let file = self.framework.modules[m].file;
            let text = self.sources.get(file).shared_text();
            let mut plain = syntax::Plain::default();
            for (entry, declared) in entries.iter().zip(&declared) {
                let item = match *entry {
                    syntax::Entry::Plain(at) => {
                        if let Some(ItemId::Rule(id)) = *declared
                            && syntax::read_plain(&text, at as usize, &mut plain).is_some()
                        {
                            self.bind_plain_rule(module, id, file, &text, &plain);
                        }
                        continue;
                    }
                    syntax::Entry::Item(i) => match items.get(i as usize) {
                        Some(item) => item,
                        None => continue,
                    },
                };
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
            self.asts[m].entries = entries;
        }
    }

    /// Binds the values a plain rule upholds and violates, as [`Self::bind_all`] binds a
    /// rule's tree.
    fn bind_plain_rule(
        &mut self,
        module: ModuleId,
        id: RuleId,
        file: FileId,
        text: &str,
        plain: &syntax::Plain,
    ) {
        for a in &plain.attributes {
            let upholds = match a.kind {
                syntax::PlainKind::Upholds => true,
                syntax::PlainKind::Violates => false,
                syntax::PlainKind::Context => continue,
            };
            let vs: Vec<ValueId> = plain.references[a.entries.clone()]
                .iter()
                .filter_map(|r| {
                    let span = |range: &std::ops::Range<usize>| Span::new(file, range.clone());
                    let view = RefView {
                        namespace: r.namespace.as_ref().map(|ns| (&text[ns.clone()], span(ns))),
                        id: &text[r.id.clone()],
                        id_span: span(&r.id),
                        span: span(&r.span),
                    };
                    self.value_view(module, &view)
                })
                .collect();
            let rule = &mut self.framework.rules[id.index()];
            let list = if upholds {
                &mut rule.upholds
            } else {
                &mut rule.violates
            };
            if list.is_empty() {
                *list = vs;
            } else {
                list.extend(vs);
            }
        }
    }

    pub(super) fn bind_relation(&mut self, module: ModuleId, rel: &ast::Relation) {
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

    /// Resolves a reference that must name a value.
    pub(super) fn value(&mut self, module: ModuleId, r: &ast::Reference) -> Option<ValueId> {
        self.value_view(module, &RefView::of(r))
    }

    /// [`Self::value`] of a reference as borrowed parts.
    pub(super) fn value_view(&mut self, module: ModuleId, r: &RefView<'_>) -> Option<ValueId> {
        match self.lookup_view(module, r)? {
            ItemId::Value(v) => Some(v),
            other => {
                let what = sort_of(other);
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

    /// Resolves a reference that must name a judge.
    pub(super) fn lookup_judge(&mut self, module: ModuleId, r: &ast::Reference) -> Option<JudgeId> {
        match self.lookup(module, r)? {
            ItemId::Judge(j) => Some(j),
            other => {
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::WrongSort,
                        format!("`{}` is {}, not a judge", r.display(), sort_of(other)),
                    )
                    .label(r.span, "needs a judge here")
                    .help("name a judge, declared with `judge id { verdict … }`"),
                );
                None
            }
        }
    }

    /// The module imported as `ns` into `module`, reporting an unknown namespace (with a
    /// suggestion for a near miss).
    pub(super) fn namespace(&mut self, module: ModuleId, ns: &ast::Ident) -> Option<ModuleId> {
        self.namespace_named(module, &ns.name, ns.span)
    }

    /// [`Self::namespace`] of a name and its span.
    fn namespace_named(&mut self, module: ModuleId, name: &str, span: Span) -> Option<ModuleId> {
        let m = &self.framework.modules[module.index()];
        if let Some(&t) = m.imports.get(name) {
            return Some(t);
        }
        let help = match suggest::similar(name, m.imports.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{s}`?"),
            None if m.imports.is_empty() => {
                format!("import the framework first: `use \"file.qd\" as {name}`")
            }
            None => format!(
                "the imported namespaces are {}",
                backticked(&m.imports.keys().map(String::as_str).collect::<Vec<_>>())
            ),
        };
        // An import that failed has already been reported.
        let ast = &self.asts[module.index()];
        if !ast.unparsed.contains(name) && !ast.failed_imports.iter().any(|f| f == name) {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::UnknownNamespace,
                    format!("no framework is imported as `{name}`"),
                )
                .label(span, "unknown namespace")
                .help(help),
            );
        }
        None
    }

    /// Resolves a reference to whatever it names, reporting unknown names.
    pub(super) fn lookup(&mut self, module: ModuleId, r: &ast::Reference) -> Option<ItemId> {
        self.lookup_view(module, &RefView::of(r))
    }

    /// [`Self::lookup`] of a reference as borrowed parts.
    fn lookup_view(&mut self, module: ModuleId, r: &RefView<'_>) -> Option<ItemId> {
        let target = match r.namespace {
            None => module,
            Some((name, span)) => self.namespace_named(module, name, span)?,
        };
        let m = &self.framework.modules[target.index()];
        if let Some(&item) = m.items.get(r.id) {
            return Some(item);
        }
        if self.asts[target.index()].unparsed.contains(r.id) {
            return None;
        }
        let help = self.suggest_id(target, r.id, r.namespace.map(|(name, _)| name));
        let whose = match r.namespace {
            Some((name, _)) => format!(" in `{name}`"),
            None => String::new(),
        };
        self.diagnostics.push(
            Diagnostic::new(
                Code::UnknownReference,
                format!("`{}` is not defined{whose}", r.id),
            )
            .label(r.id_span, "unknown name")
            .help(help),
        );
        None
    }

    pub(super) fn suggest_id(&mut self, target: ModuleId, name: &str, ns: Option<&str>) -> String {
        let key = (target, name.to_string(), ns.map(str::to_string));
        if let Some(help) = self.suggested.get(&key) {
            return help.clone();
        }
        let help = self.suggestion(target, name, ns);
        self.suggested.insert(key, help.clone());
        help
    }

    /// [`Self::suggest_id`], not yet asked.
    fn suggestion(&mut self, target: ModuleId, name: &str, ns: Option<&str>) -> String {
        let qualify = |id: &str| match ns {
            Some(ns) => format!("{ns}.{id}"),
            None => id.to_string(),
        };
        // A label or alias written in place of the id.
        let normal = |text: &str| text.to_lowercase().replace(['_', '-'], " ");
        let framework = &self.framework;
        let labels = self.labels.entry(target).or_insert_with(|| {
            let mut labels = HashMap::new();
            for &v in &framework.modules[target.index()].values {
                let value = &framework.values[v.index()];
                for label in value.label.iter().chain(value.aliases.iter()) {
                    labels.entry(normal(label)).or_insert(v);
                }
            }
            labels
        });
        if let Some(&v) = labels.get(&normal(name)) {
            let value = &framework.values[v.index()];
            return format!(
                "did you mean `{}`? (its label is \"{}\")",
                qualify(&value.id),
                framework.value_label(v)
            );
        }
        if self.searches_left == 0 {
            return "define it, or check the spelling".into();
        }
        self.searches_left -= 1;
        let m = &self.framework.modules[target.index()];
        match suggest::similar(name, m.items.keys().map(String::as_str)) {
            Some(s) => format!("did you mean `{}`?", qualify(s)),
            None => "define it, or check the spelling".into(),
        }
    }
}

/// What sort of item `item` is, with its article: "a rule", "a judge".
/// A reference as borrowed parts: from a tree ([`RefView::of`]) or from a plain rule's text.
pub(super) struct RefView<'a> {
    /// The namespace and where it is, if qualified.
    pub namespace: Option<(&'a str, Span)>,
    /// The id.
    pub id: &'a str,
    /// Where the id is.
    pub id_span: Span,
    /// The whole reference.
    pub span: Span,
}

impl<'a> RefView<'a> {
    pub(super) fn of(r: &'a ast::Reference) -> Self {
        RefView {
            namespace: r.namespace.as_ref().map(|ns| (ns.name.as_str(), ns.span)),
            id: &r.id.name,
            id_span: r.id.span,
            span: r.span,
        }
    }

    /// The reference as written, `ns.id` or `id`.
    fn display(&self) -> String {
        match self.namespace {
            Some((ns, _)) => format!("{ns}.{}", self.id),
            None => self.id.to_string(),
        }
    }
}

pub(super) fn sort_of(item: ItemId) -> &'static str {
    match item {
        ItemId::Value(_) => "a value",
        ItemId::Rule(_) => "a rule",
        ItemId::Profile(_) => "a profile",
        ItemId::Scenario(_) => "a scenario",
        ItemId::Suite(_) => "a suite",
        ItemId::Prompt(_) => "a prompt",
        ItemId::Steer(_) => "a steer",
        ItemId::Judge(_) => "a judge",
        ItemId::Question(_) => "a question",
        ItemId::Stance(_) => "a stance",
    }
}
