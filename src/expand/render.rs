//! Rendering a planned draw: templates run against the binding, options ordered and
//! shuffled, distractors, and the JSON line assembled from fragments escaped once.

use super::*;

impl<'a> Expansion<'a> {
    /// Renders one plan: the scenario (or question or stance line), and its twin when the
    /// suite asks for twins.
    pub(super) fn render(
        &self,
        plan: &mut Plan,
        local: &mut Local,
        lines: Option<(u64, Option<Shard>)>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> Result<(), Diagnostic> {
        let c = &self.templates[plan.template];
        let body = match &c.body {
            Body::Scenario(body) => body,
            Body::Survey(survey) => {
                self.render_survey(plan, c, survey, lines, out, spans);
                return Ok(());
            }
        };
        let scenario = &self.framework.scenarios[body.scenario.index()];
        let bound = self.bind(c, &plan.choices);
        let mut scope = Scope {
            body,
            bound: &bound,
            context: None,
        };
        let mut json = std::mem::take(&mut local.json);
        json.clear();
        let text = self.piece(&body.text, &mut scope, local, plan, scenario, &mut json)?;
        let mut variants = Vec::with_capacity(body.variants.len());
        for (_, t) in &body.variants {
            variants.push(self.piece(t, &mut scope, local, plan, scenario, &mut json)?);
        }
        // Options: every non-distractor action (those the binding shows, with `show k`);
        // distractors as often as the suite says.
        let include_distractors = rng::unit(&mut plan.rng) < self.suite.distractors;
        let shown = self.shown(c, &plan.choices, &bound);
        let mut options: Vec<usize> = (0..body.actions.len())
            .filter(|&i| {
                if body.actions[i].distractor {
                    include_distractors
                } else {
                    shown.as_ref().is_none_or(|s| s.contains(&i))
                }
            })
            .collect();
        if self.suite.order == Order::Shuffled {
            rng::shuffle(&mut plan.rng, &mut options);
        }
        let mut labels = Vec::with_capacity(body.actions.len());
        for a in &body.actions {
            labels.push(match (&a.json_label, &a.label) {
                // A verbatim scenario's labels are literal (`json_label`).
                (None, Some(t)) if !body.verbatim => {
                    Some(self.template(t, &mut scope, local, plan, scenario, &mut json)?)
                }
                _ => None,
            });
        }
        // Translated labels, rendered only when an action has any (most have none, and
        // this is the hot path).
        let mut label_variants = Vec::new();
        if body.actions.iter().any(|a| !a.translations.is_empty()) {
            label_variants.reserve(body.actions.len());
            for a in &body.actions {
                let mut rendered = Vec::with_capacity(a.translations.len());
                for (_, t) in &a.translations {
                    rendered.push(self.piece(t, &mut scope, local, plan, scenario, &mut json)?);
                }
                label_variants.push(rendered);
            }
        }
        let scenario_line = AssembledLine {
            bound: &bound,
            json: &json,
            text,
            variants: &variants,
            labels: &labels,
            label_variants: &label_variants,
        };
        let base = self.write_scenario(plan, c, body, &scenario_line, &options, None, out, spans);
        if let Some((index, shard)) = lines {
            finish_line(out, spans, index, shard);
        }
        if self.suite.twins {
            options.reverse();
            self.write_scenario(
                plan,
                c,
                body,
                &scenario_line,
                &options,
                Some(base),
                out,
                spans,
            );
            if let Some((index, shard)) = lines {
                finish_line(out, spans, index + 1, shard);
            }
        }
        local.json = json;
        Ok(())
    }

    /// Writes the line of a question or stance part, and its twin when the suite asks for
    /// twins. Nothing is rendered: the lines are assembled from fragments made once.
    pub(super) fn render_survey(
        &self,
        plan: &mut Plan,
        c: &Compiled,
        survey: &questions::Survey,
        lines: Option<(u64, Option<Shard>)>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) {
        let part = survey.part(plan.choices.first().copied().unwrap_or(0));
        // The draw of the distractors is made, though a question has none, so the stream
        // of every draw is used in the same order.
        let _ = rng::unit(&mut plan.rng);
        let mut options: Vec<usize> = (0..survey.options(part).len()).collect();
        if self.suite.order == Order::Shuffled {
            rng::shuffle(&mut plan.rng, &mut options);
        }
        let base = self.write_survey(plan, c, survey, part, &options, None, out, spans);
        if let Some((index, shard)) = lines {
            finish_line(out, spans, index, shard);
        }
        if self.suite.twins {
            options.reverse();
            self.write_survey(plan, c, survey, part, &options, Some(base), out, spans);
            if let Some((index, shard)) = lines {
                finish_line(out, spans, index + 1, shard);
            }
        }
    }

    /// Writes one question or stance line, like [`Expansion::write_scenario`].
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_survey(
        &self,
        plan: &Plan,
        c: &Compiled,
        survey: &questions::Survey,
        part: &questions::Part,
        options: &[usize],
        twin_of: Option<u128>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> u128 {
        let start = out.len();
        out.extend_from_slice(part.head.as_bytes());
        let actions = survey.options(part);
        for (n, &i) in options.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(actions[i].as_bytes());
        }
        out.extend_from_slice(b"]}");
        let (id, content) = line_id(plan, &out[start..]);
        out.pop();
        out.extend_from_slice(part.tail.as_bytes());
        self.write_trailer(plan, c, (id, content), twin_of, out);
        out.extend_from_slice(b",\"relations\":[],\"rules\":[]}}\n");
        spans.push(Rendered {
            id,
            start,
            end: out.len(),
        });
        id
    }

    /// Writes the fields every line ends with, from `seed` to the provenance's `template`:
    /// `(id, content)` are the line's id and the hash of its content, which differ for a
    /// repeat (see [`line_id`]).
    pub(super) fn write_trailer(
        &self,
        plan: &Plan,
        c: &Compiled,
        (id, content): (u128, u128),
        twin_of: Option<u128>,
        out: &mut Vec<u8>,
    ) {
        out.extend_from_slice(b",\"seed\":\"");
        push_hex(out, u128::from(plan.seed), 16);
        out.extend_from_slice(b"\",\"draw\":");
        push_u64(out, plan.draw);
        if plan.occurrence > 1 {
            out.extend_from_slice(b",\"occurrence\":");
            push_u64(out, plan.occurrence);
            out.extend_from_slice(b",\"repeat_of\":\"s");
            push_hex(out, content, 32);
            out.push(b'"');
        }
        out.extend_from_slice(b",\"suite\":");
        out.extend_from_slice(self.json.suite.as_bytes());
        out.extend_from_slice(b",\"twin_group\":");
        match twin_of.or(self.suite.twins.then_some(id)) {
            Some(group) => {
                out.extend_from_slice(b"\"s");
                push_hex(out, group, 32);
                out.push(b'"');
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"provenance\":{\"template\":");
        out.extend_from_slice(c.json_location.as_bytes());
    }

    /// A value as templates see it.
    pub(super) fn value_view(&self, id: ValueId) -> Jinja {
        let v = self.framework.value(id);
        Jinja::from_object(ValueView {
            id: v.id.clone(),
            name: self.framework.qualified_value(id),
            label: self.framework.value_label(id).to_string(),
            describe: v.describe.clone(),
            translations: v.translations.clone(),
        })
    }

    /// A rule as templates see it.
    pub(super) fn rule_view(&self, id: RuleId) -> Jinja {
        let r = self.framework.rule(id);
        Jinja::from_object(RuleView {
            translations: r.translations.to_map(),
            text: r.text.clone(),
            id: r.id.clone(),
            name: self.framework.qualified_rule(id),
        })
    }

    /// Writes `,`-separated JSON names of the values `terms` resolve to under `bound`, and
    /// of those the followed rule adds; with `only`, just the terms whose flag is set (and
    /// none of the rule's).
    /// The value a term stands for in a binding, if any.
    fn term_value(&self, c: &ScenarioBody, t: &Term, bound: &[Bound<'_>]) -> Option<ValueId> {
        match t {
            Term::Value(v) => Some(*v),
            Term::Variable(name) => match c
                .variables
                .iter()
                .position(|n| n == name)
                .and_then(|i| bound.get(i))
            {
                Some(Bound::Value(v)) => Some(*v),
                _ => None,
            },
        }
    }

    pub(super) fn push_values(
        &self,
        out: &mut Vec<u8>,
        c: &ScenarioBody,
        terms: &[Term],
        only: Option<&[bool]>,
        rule_values: &[ValueId],
        bound: &[Bound<'_>],
    ) {
        let mut first = true;
        let mut push = |out: &mut Vec<u8>, v: ValueId| {
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(self.json.values[v.index()].as_bytes());
        };
        for (i, t) in terms.iter().enumerate() {
            if only.is_some_and(|flags| !flags.get(i).copied().unwrap_or(false)) {
                continue;
            }
            match t {
                Term::Value(v) => push(out, *v),
                Term::Variable(name) => {
                    if let Some(Bound::Value(v)) = c
                        .variables
                        .iter()
                        .position(|n| n == name)
                        .and_then(|i| bound.get(i))
                    {
                        push(out, *v);
                    }
                }
            }
        }
        if only.is_none() {
            for &v in rule_values {
                push(out, v);
            }
        }
    }

    /// Appends a scenario's text under a binding to `json`, as a JSON string literal: the
    /// template rendered, or the literal text. Returns where it is.
    fn piece(
        &self,
        piece: &Piece,
        scope: &mut Scope<'_, '_>,
        local: &mut Local,
        plan: &Plan,
        scenario: &ScenarioTemplate,
        json: &mut Vec<u8>,
    ) -> Result<std::ops::Range<usize>, Diagnostic> {
        match piece {
            // A verbatim scenario has only literals.
            Piece::Template(t) if !scope.body.verbatim => {
                self.template(t, scope, local, plan, scenario, json)
            }
            Piece::Template(Renderable { template: t, .. }) => {
                let start = json.len();
                push_json_str(json, &t.source);
                Ok(start..json.len())
            }
            Piece::Literal(text) => {
                let start = json.len();
                push_json_str(json, text);
                Ok(start..json.len())
            }
        }
    }

    /// Appends template `t` rendered under the draw's binding to `json`, as a JSON string
    /// literal; returns where it is. A template that only prints text and variables is
    /// written from its parts; any other (or one whose variable has no such attribute, or
    /// whose text may be too long) goes through the engine, in a context made when first
    /// needed.
    fn template(
        &self,
        t: &Renderable,
        scope: &mut Scope<'_, '_>,
        local: &mut Local,
        plan: &Plan,
        scenario: &ScenarioTemplate,
        json: &mut Vec<u8>,
    ) -> Result<std::ops::Range<usize>, Diagnostic> {
        let start = json.len();
        json.push(b'"');
        // The escaped text is at least as long as the text: within the limit, so is the text.
        if let Some(parts) = &t.direct
            && self.write_direct(parts, scope, json)
            && json.len() - start - 1 <= template::MAX_OUTPUT
        {
            json.push(b'"');
            return Ok(start..json.len());
        }
        json.truncate(start);
        let context = match &scope.context {
            Some(context) => context,
            None => {
                scope
                    .context
                    .insert(self.context(plan.template, scope.body, scope.bound, local))
            }
        };
        let text = self.run_template(&t.template, context, plan, scenario)?;
        push_json_str(json, &text);
        Ok(start..json.len())
    }

    /// Writes the parts of a template that only prints text and variables, escaped for a
    /// JSON string, as the engine would print them; `false` when a variable has no such
    /// attribute (the engine then says so).
    fn write_direct(
        &self,
        parts: &[DirectPart],
        scope: &Scope<'_, '_>,
        json: &mut Vec<u8>,
    ) -> bool {
        // A fragment escaped once, without its quotes.
        fn inner(fragment: &[u8]) -> Option<&[u8]> {
            fragment.get(1..fragment.len().saturating_sub(1))
        }
        for part in parts {
            let (i, attribute) = match part {
                DirectPart::Text(text) => {
                    json.extend_from_slice(text.as_bytes());
                    continue;
                }
                DirectPart::Variable(i, attribute) => (*i, attribute.as_deref()),
            };
            match (scope.bound.get(i), attribute) {
                (Some(Bound::Text(s)), None) => push_json_inner(json, s),
                (Some(Bound::Value(v)), attribute) => {
                    let value = self.framework.value(*v);
                    let text = match attribute {
                        None | Some("label") => self.framework.value_label(*v),
                        Some("id") => &value.id,
                        Some("name") => match inner(self.json.values[v.index()].as_bytes()) {
                            Some(name) => {
                                json.extend_from_slice(name);
                                continue;
                            }
                            None => return false,
                        },
                        Some("describe") => match &value.describe {
                            Some(d) => d,
                            None => return false,
                        },
                        Some(lang) => match value.translations.get(lang) {
                            Some(t) => t,
                            None => return false,
                        },
                    };
                    push_json_inner(json, text);
                }
                (Some(Bound::Rule(r)), attribute) => {
                    let fragment = match attribute {
                        None | Some("text") => self.json.rule_text(*r),
                        Some("name") => self.json.rule_name(*r),
                        Some("id") => {
                            push_json_inner(json, &self.framework.rule(*r).id);
                            continue;
                        }
                        Some(lang) => match self.framework.rule(*r).translations.get(lang) {
                            Some(t) => {
                                push_json_inner(json, t);
                                continue;
                            }
                            None => return false,
                        },
                    };
                    match inner(fragment) {
                        Some(text) => json.extend_from_slice(text),
                        None => return false,
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// The engine's context for a draw: its variables' names and values.
    fn context(
        &self,
        template: usize,
        body: &ScenarioBody,
        bound: &[Bound<'_>],
        local: &mut Local,
    ) -> Jinja {
        let values: Vec<Jinja> = bound
            .iter()
            .map(|b| match *b {
                Bound::Text(s) => Jinja::from(s),
                Bound::Value(v) => local
                    .values
                    .entry(v)
                    .or_insert_with(|| self.value_view(v))
                    .clone(),
                Bound::Rule(r) => local
                    .rules
                    .entry(r)
                    .or_insert_with(|| self.rule_view(r))
                    .clone(),
            })
            .collect();
        let names = local.variables.entry(template).or_insert_with(|| {
            // A copy per thread: sharing one would make every scenario touch the same
            // reference count from both threads.
            body.variables.iter().cloned().collect::<Vec<_>>().into()
        });
        Jinja::from_object(Context {
            names: Arc::clone(names),
            values,
        })
    }

    pub(super) fn run_template(
        &self,
        t: &CompiledTemplate,
        context: &Jinja,
        plan: &Plan,
        scenario: &ScenarioTemplate,
    ) -> Result<String, Diagnostic> {
        let failed = |detail: String, span| {
            Diagnostic::new(
                Code::TemplateRuntime,
                format!(
                    "template of scenario `{}` failed for draw {}: {detail}",
                    scenario.id, plan.draw
                ),
            )
            .label(span, "while rendering this")
            .help("make the template work for every binding; `quandary explain` shows a binding's values")
        };
        let template = self
            .env
            .get_template(&t.name)
            .map_err(|e| failed(e.to_string(), t.span))?;
        let text = template.render(context.clone()).map_err(|e| {
            let span = e.range().map_or(t.span, |r| t.span_of(r));
            failed(
                e.detail().map_or_else(|| e.to_string(), str::to_string),
                span,
            )
        })?;
        if text.len() > template::MAX_OUTPUT {
            return Err(failed(
                format!(
                    "it produced {} bytes, more than the limit of {}",
                    text.len(),
                    template::MAX_OUTPUT
                ),
                t.span,
            ));
        }
        Ok(text)
    }

    /// Writes one scenario line (without its leading `{"id":…,"index":…,`, which the writer
    /// adds) and returns its content-derived id.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn write_scenario(
        &self,
        plan: &Plan,
        compiled: &Compiled,
        c: &ScenarioBody,
        line: &AssembledLine<'_, '_>,
        options: &[usize],
        twin_of: Option<u128>,
        out: &mut Vec<u8>,
        spans: &mut Vec<Rendered>,
    ) -> u128 {
        let AssembledLine {
            bound,
            json,
            ref text,
            variants,
            labels,
            label_variants,
        } = *line;
        // The content comes first so the id can be hashed from it in place; the writer puts
        // `{"id":…,"index":…,` in front, in place of the content's own `{`.
        let start = out.len();
        out.extend_from_slice(c.json_prefix.as_bytes());
        for (i, b) in bound.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(c.json_keys[i].as_bytes());
            match b {
                // Slots come first among the variables, one each: variable `i` is slot `i`.
                Bound::Text(_) => out
                    .extend_from_slice(c.json_slot_strings[i][plan.choices[i] as usize].as_bytes()),
                Bound::Value(v) => out.extend_from_slice(self.json.values[v.index()].as_bytes()),
                Bound::Rule(r) => out.extend_from_slice(self.json.rule_name(*r)),
            }
        }
        out.extend_from_slice(b"},\"text\":");
        out.extend_from_slice(&json[text.clone()]);
        out.extend_from_slice(b",\"variants\":{");
        for (i, v) in variants.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(c.json_variant_keys[i].as_bytes());
            out.extend_from_slice(&json[v.clone()]);
        }
        out.extend_from_slice(b"},\"actions\":[");
        for (n, &i) in options.iter().enumerate() {
            let a = &c.actions[i];
            if n > 0 {
                out.push(b',');
            }
            out.extend_from_slice(a.json_head.as_bytes());
            let rule = match a.follows.and_then(|f| bound.get(f)) {
                Some(Bound::Rule(r)) => Some(*r),
                _ => None,
            };
            match (&a.json_label, &labels[i], rule) {
                (Some(l), _, _) => out.extend_from_slice(l.as_bytes()),
                (None, Some(l), _) => out.extend_from_slice(&json[l.clone()]),
                (None, None, Some(r)) => out.extend_from_slice(self.json.rule_text(r)),
                (None, None, None) => push_json_str(out, &a.id),
            }
            let (rule_up, rule_down): (&[ValueId], &[ValueId]) = match rule {
                Some(r) => (
                    &self.framework.rule(r).upholds,
                    &self.framework.rule(r).violates,
                ),
                None => (&[], &[]),
            };
            out.extend_from_slice(b",\"upholds\":[");
            self.push_values(out, c, &a.upholds, None, rule_up, bound);
            out.extend_from_slice(b"],\"violates\":[");
            self.push_values(out, c, &a.violates, None, rule_down, bound);
            out.extend_from_slice(b"],\"upholds_indirect\":[");
            if a.upholds_indirect.contains(&true) {
                let flags = Some(a.upholds_indirect.as_slice());
                self.push_values(out, c, &a.upholds, flags, &[], bound);
            }
            out.extend_from_slice(b"],\"violates_indirect\":[");
            if a.violates_indirect.contains(&true) {
                let flags = Some(a.violates_indirect.as_slice());
                self.push_values(out, c, &a.violates, flags, &[], bound);
            }
            out.push(b']');
            // `either` and the relevance of upheld values only when the action has them, so
            // a line without them is what it always was.
            if !a.either.is_empty() {
                out.extend_from_slice(b",\"either\":[");
                self.push_values(out, c, &a.either, None, &[], bound);
                out.push(b']');
            }
            if a.upholds_relevance.iter().any(|&r| r != 1.0) {
                out.extend_from_slice(b",\"relevance\":{");
                let mut first = true;
                for (t, &r) in a.upholds.iter().zip(&a.upholds_relevance) {
                    let Some(v) = self.term_value(c, t, bound) else {
                        continue;
                    };
                    if r == 1.0 {
                        continue;
                    }
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(self.json.values[v.index()].as_bytes());
                    out.push(b':');
                    let number = serde_json::Number::from_f64(r)
                        .map_or_else(|| "1".to_string(), |n| n.to_string());
                    out.extend_from_slice(number.as_bytes());
                }
                out.push(b'}');
            }
            out.extend_from_slice(a.json_tail.as_bytes());
            // Its label in other languages, left out when it has none (so a line without
            // translations is what it always was): its own, or, without a label of its
            // own, the followed rule's in each language of the scenario's text.
            let rule_variants: Vec<(usize, &str)> = match (&a.json_label, &labels[i], rule) {
                (None, None, Some(r)) if a.translations.is_empty() => {
                    let translations = &self.framework.rule(r).translations;
                    c.variants
                        .iter()
                        .enumerate()
                        .filter_map(|(k, (lang, _))| {
                            translations.get(lang).map(|t| (k, t.as_str()))
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            if !a.translations.is_empty() {
                out.extend_from_slice(b",\"variants\":{");
                for (k, ((key, _), label)) in a
                    .translations
                    .iter()
                    .zip(label_variants.get(i).into_iter().flatten())
                    .enumerate()
                {
                    if k > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(key.as_bytes());
                    out.extend_from_slice(&json[label.clone()]);
                }
                out.push(b'}');
            } else if !rule_variants.is_empty() {
                out.extend_from_slice(b",\"variants\":{");
                for (k, &(v, label)) in rule_variants.iter().enumerate() {
                    if k > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(c.json_variant_keys[v].as_bytes());
                    push_json_str(out, label);
                }
                out.push(b'}');
            }
            out.push(b'}');
        }
        out.extend_from_slice(b"]}");
        let (id, content) = line_id(plan, &out[start..]);
        out.pop();
        self.write_trailer(plan, compiled, (id, content), twin_of, out);
        out.extend_from_slice(b",\"relations\":[");
        let mut first = true;
        for (dim, &choice) in compiled.dims.iter().zip(&plan.choices) {
            if let Dim::Pick(cands) = dim {
                for &r in &cands.get(choice / 2).relations {
                    if !first {
                        out.push(b',');
                    }
                    first = false;
                    out.extend_from_slice(self.json.relation_locations[r.index()].as_bytes());
                }
            }
        }
        out.extend_from_slice(b"],\"rules\":[");
        let mut first = true;
        for b in bound {
            if let Bound::Rule(r) = b {
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(self.json.rule_location(*r));
            }
        }
        out.extend_from_slice(b"]}}\n");
        spans.push(Rendered {
            id,
            start,
            end: out.len(),
        });
        id
    }
}

/// A line's id and the hash of its content (`content`, from its `{` to the `}` closing its
/// options). The first occurrence of a binding is named by its content; a repeat by its
/// content and occurrence number, so every line of a suite has an id of its own, and the
/// repeat names the first by `repeat_of`.
fn line_id(plan: &Plan, content: &[u8]) -> (u128, u128) {
    let hash = xxh3_128(content);
    if plan.occurrence > 1 {
        (
            xxhash_rust::xxh3::xxh3_128_with_seed(content, plan.occurrence),
            hash,
        )
    } else {
        (hash, hash)
    }
}
