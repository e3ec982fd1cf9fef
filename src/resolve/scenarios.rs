//! Binding scenarios: slots and picks over framework sets, actions and what they uphold,
//! and the texts that are templates.

use super::*;
use crate::syntax::SET_FUNCTIONS;

impl Resolver<'_> {
    pub(super) fn bind_scenario(&mut self, module: ModuleId, id: ScenarioId, sc: &ast::Scenario) {
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
        let mut show: Option<(&ast::Number, Option<&ast::Ident>, Span)> = None;
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
                        // An unknown namespace leaves the pick unresolved; it still picks rules.
                        _ if pick.from.function.name == "rule_conflicts" => Var::PickedRules,
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
                ast::ScenarioEntry::Show(n, mode, span) => {
                    if show.is_some() {
                        self.diagnostics.push(duplicate_attribute("show", *span));
                    } else {
                        show = Some((n, mode.as_ref(), *span));
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
                self.diagnostics.push(super::duplicate_member(
                    ("action", &a.id.name),
                    ("scenario", &sc.id.name),
                    a.id.span,
                    first.span,
                ));
                continue;
            }
            let mut action = Action {
                id: a.id.name.clone(),
                label: a.label.as_ref().map(template),
                upholds: Vec::new(),
                upholds_indirect: Vec::new(),
                upholds_relevance: Vec::new(),
                either: Vec::new(),
                violates: Vec::new(),
                violates_indirect: Vec::new(),
                affects: Vec::new(),
                follows: None,
                distractor: false,
                describe: None,
                translations: IndexMap::new(),
                span: a.span,
            };
            for attribute in &a.attributes {
                match attribute {
                    ast::ActionAttribute::Upholds(refs, _, _)
                    | ast::ActionAttribute::Violates(refs, _)
                    | ast::ActionAttribute::UpholdsIndirectly(refs, _, _)
                    | ast::ActionAttribute::ViolatesIndirectly(refs, _)
                    | ast::ActionAttribute::Either(refs, _) => {
                        let mut terms = Vec::new();
                        // Each term's relevance, as written (upheld values only).
                        let mut relevance = Vec::new();
                        let written = match attribute {
                            ast::ActionAttribute::Upholds(_, r, _)
                            | ast::ActionAttribute::UpholdsIndirectly(_, r, _) => r.as_slice(),
                            _ => &[],
                        };
                        for (i, r) in refs.iter().enumerate() {
                            let n = terms.len();
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
                            if terms.len() > n {
                                relevance.push(match written.get(i).and_then(Option::as_ref) {
                                    Some(w) => (w.value, Some(w.span)),
                                    None => (1.0, None),
                                });
                            }
                        }
                        if matches!(attribute, ast::ActionAttribute::Either(..)) {
                            action.either.extend(terms);
                            continue;
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
                            action.upholds_relevance.extend(relevance);
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
                    ast::ActionAttribute::Translation(t) => {
                        if action.translations.contains_key(&t.lang.name) {
                            self.diagnostics.push(duplicate_attribute(
                                &format!("{} translation", t.lang.name),
                                t.span,
                            ));
                        } else {
                            action
                                .translations
                                .insert(t.lang.name.clone(), template(&t.text));
                        }
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
        let show = show.and_then(|(n, mode, span)| self.show(n, mode, span, options));
        let scenario = &mut self.framework.scenarios[id.index()];
        scenario.show = show;
        scenario.topic = topic;
        scenario.describe = describe;
        scenario.slots = slots;
        scenario.picks = picks;
        scenario.text = text;
        scenario.variants = variants;
        scenario.actions = actions;
        scenario.verbatim = verbatim.is_some();
    }

    /// `show k diverse|random` of a scenario with `options` non-distractor actions: k must
    /// be at least 2 (a dilemma) and fewer than the options (else every scenario shows them
    /// all); with more than 64 options a random draw's subsets could not be numbered.
    fn show(
        &mut self,
        n: &ast::Number,
        mode: Option<&ast::Ident>,
        span: Span,
        options: usize,
    ) -> Option<Show> {
        let diverse = match mode.map(|m| m.name.as_str()) {
            None | Some("random") => false,
            Some("diverse") => true,
            Some(_) => {
                if let Some(mode) = mode {
                    self.invalid_word(mode, "show", super::setting_words("scenario", "show"));
                }
                return None;
            }
        };
        let count = match n.raw.parse::<u32>() {
            Ok(k) if k >= 2 && (k as usize) < options && options <= 64 => k,
            Ok(k) if k >= 2 && options > 64 => {
                self.invalid_setting(
                    span,
                    format!(
                        "`show {k}` draws from {options} options; at most 64 can be drawn from"
                    ),
                    "split the actions over several scenarios of at most 64 options each",
                );
                return None;
            }
            Ok(k) if k >= 2 => {
                self.invalid_setting(
                    n.span,
                    format!(
                        "`show {k}` asks for {k} of {options} option{}: every scenario would show them all",
                        if options == 1 { "" } else { "s" }
                    ),
                    "show fewer options than the scenario has (distractors do not count), or remove `show`",
                );
                return None;
            }
            _ => {
                self.invalid_setting(
                    n.span,
                    format!("`show {}` is not a whole number of at least 2", n.raw),
                    "write how many options each scenario shows, e.g. `show 3 diverse`",
                );
                return None;
            }
        };
        Some(Show {
            count,
            diverse,
            span,
        })
    }

    /// The values a slot's set function names.
    pub(super) fn value_set(
        &mut self,
        module: ModuleId,
        call: &ast::SetCall,
    ) -> Option<Vec<ValueId>> {
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
                        ast::SetArg::Namespace(_, span) => self.bad_argument_at(
                            *span,
                            "`values` takes values, not `ns.*`".to_string(),
                            "write the values' ids".to_string(),
                        ),
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
    pub(super) fn pick_source(
        &mut self,
        module: ModuleId,
        call: &ast::SetCall,
    ) -> Option<PickSource> {
        match call.function.name.as_str() {
            "conflicts" => {
                let mut values = Vec::new();
                for a in &call.args {
                    match a {
                        ast::SetArg::Reference(r) => values.extend(self.value(module, r)),
                        ast::SetArg::Namespace(_, span) => self.bad_argument_at(*span, "`conflicts` takes values, not `ns.*`".to_string(), "write the values' ids; each stands for itself and every value below it".to_string()),
                        ast::SetArg::Text(s) => self.bad_argument_at(s.span, "`conflicts` takes values, not strings".to_string(), "write the values' ids; each stands for itself and every value below it".to_string()),
                    }
                }
                Some(PickSource::Conflicts(values))
            }
            "rule_conflicts" => {
                let mut filter = RuleFilter::default();
                let mut unknown = false;
                for a in &call.args {
                    match a {
                        ast::SetArg::Reference(r) if r.namespace.is_none() => {
                            filter.contexts.push(r.id.name.clone())
                        }
                        ast::SetArg::Text(s) => filter.contexts.push(s.value.clone()),
                        ast::SetArg::Namespace(ns, _) => match self.namespace(module, ns) {
                            Some(m) if !filter.modules.contains(&m) => filter.modules.push(m),
                            Some(_) => {}
                            None => unknown = true,
                        },
                        ast::SetArg::Reference(r) => self.bad_argument_at(
                            r.span,
                            "`rule_conflicts` takes contexts and namespaces, not names".to_string(),
                            "write context words such as `workplace`, phrases in quotes, or \
                             `ns.*` for the rules of the file imported as `ns`"
                                .to_string(),
                        ),
                    }
                }
                // Without the namespace, the pick would draw from rules it was not meant to.
                Some(if unknown {
                    PickSource::Unresolved
                } else {
                    PickSource::RuleConflicts(filter)
                })
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

    pub(super) fn unknown_function(&mut self, call: &ast::SetCall) {
        let help = match suggest::similar(&call.function.name, SET_FUNCTIONS.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the set functions are {}", backticked(SET_FUNCTIONS)),
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

    pub(super) fn bad_argument(&mut self, call: &ast::SetCall, message: String, help: String) {
        self.bad_argument_at(call.span, message, help);
    }

    pub(super) fn bad_argument_at(&mut self, span: Span, message: String, help: String) {
        self.diagnostics.push(
            Diagnostic::new(Code::BadArgument, message)
                .label(span, "here")
                .help(help),
        );
    }
}
