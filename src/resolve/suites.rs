//! Binding suites and what they ask through: settings, prompts, steers and constitutions,
//! judges, questions and stances, personas and pass marks.

use super::*;

impl Resolver<'_> {
    pub(super) fn bind_suite(&mut self, module: ModuleId, id: SuiteId, su: &ast::Suite) {
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
                ast::SuiteSetting::Languages(..) => "languages",
                ast::SuiteSetting::Judge(..) => "judge",
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
                    _ => self.invalid_word(w, "balance", super::setting_words("suite", "balance")),
                },
                ast::SuiteSetting::Twins(w, _) => match w.name.as_str() {
                    "order" => suite.twins = true,
                    _ => self.invalid_word(w, "twins", super::setting_words("suite", "twins")),
                },
                ast::SuiteSetting::Require(w, span) => match w.name.as_str() {
                    "conflict" => {
                        suite.require_conflict = true;
                        suite.require_span = Some(*span);
                    }
                    _ => self.invalid_word(w, "require", super::setting_words("suite", "require")),
                },
                ast::SuiteSetting::Order(w, _) => match w.name.as_str() {
                    "fixed" => suite.order = Order::Fixed,
                    "shuffled" => suite.order = Order::Shuffled,
                    _ => self.invalid_word(w, "order", super::setting_words("suite", "order")),
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
                ast::SuiteSetting::Languages(tags, _) => {
                    for tag in tags {
                        if suite.languages.iter().any(|(l, _)| *l == tag.name) {
                            self.diagnostics.push(duplicate_attribute(
                                &format!("language `{}`", tag.name),
                                tag.span,
                            ));
                        } else {
                            suite.languages.push((tag.name.clone(), tag.span));
                        }
                    }
                }
                ast::SuiteSetting::Judge(r, span) => {
                    suite.judge = self.lookup_judge(module, r);
                    suite.judge_span = Some(*span);
                }
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

    pub(super) fn prompt(&mut self, module: ModuleId, b: &ast::PresentationBlock) -> Prompt {
        let mut prompt = Prompt {
            id: b.id.name.clone(),
            label: b.label.as_ref().map(|l| l.value.clone()),
            system: None,
            user: None,
            labels: OptionLabels::Letters,
            instruction: None,
            answer: AnswerMode::Choice,
            translations: IndexMap::new(),
            module,
            span: b.span,
        };
        let mut labels_seen = false;
        let mut answer_seen = false;
        for a in &b.attributes {
            match a {
                ast::PresentationAttribute::System(None, s, span) => {
                    self.once(&mut prompt.system, s, *span, "system")
                }
                ast::PresentationAttribute::Instruction(None, s, span) => {
                    self.once(&mut prompt.instruction, s, *span, "instruction")
                }
                ast::PresentationAttribute::User(None, s, span) => {
                    if prompt.user.is_some() {
                        self.diagnostics.push(duplicate_attribute("user", *span));
                    } else {
                        prompt.user = Some(template(s));
                    }
                }
                ast::PresentationAttribute::System(Some(lang), s, span) => {
                    let texts = prompt.translations.entry(lang.name.clone()).or_default();
                    let what = format!("system.{}", lang.name);
                    self.once(&mut texts.system, s, *span, &what)
                }
                ast::PresentationAttribute::Instruction(Some(lang), s, span) => {
                    let texts = prompt.translations.entry(lang.name.clone()).or_default();
                    let what = format!("instruction.{}", lang.name);
                    self.once(&mut texts.instruction, s, *span, &what)
                }
                ast::PresentationAttribute::User(Some(lang), s, span) => {
                    let texts = prompt.translations.entry(lang.name.clone()).or_default();
                    if texts.user.is_some() {
                        self.diagnostics
                            .push(duplicate_attribute(&format!("user.{}", lang.name), *span));
                    } else {
                        texts.user = Some(template(s));
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
                        _ => {
                            self.invalid_word(w, "labels", super::setting_words("prompt", "labels"))
                        }
                    }
                }
                ast::PresentationAttribute::Answer(w, span) => {
                    if answer_seen {
                        self.diagnostics.push(duplicate_attribute("answer", *span));
                        continue;
                    }
                    answer_seen = true;
                    match AnswerMode::from_name(&w.name) {
                        Some(mode) => prompt.answer = mode,
                        None => {
                            self.invalid_word(w, "answer", super::setting_words("prompt", "answer"))
                        }
                    }
                }
                _ => {}
            }
        }
        prompt
    }

    pub(super) fn steer(
        &mut self,
        module: ModuleId,
        b: &ast::PresentationBlock,
        constitution: bool,
    ) -> Steer {
        let mut system = None;
        let mut source = None;
        let mut principles = Vec::new();
        let mut translations = IndexMap::new();
        for a in &b.attributes {
            match a {
                ast::PresentationAttribute::System(None, s, span) => {
                    self.once(&mut system, s, *span, "system")
                }
                ast::PresentationAttribute::System(Some(lang), s, span) => {
                    if translations.contains_key(&lang.name) {
                        self.diagnostics
                            .push(duplicate_attribute(&format!("system.{}", lang.name), *span));
                    } else {
                        translations.insert(lang.name.clone(), s.value.clone());
                    }
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
            translations,
            toward: Vec::new(),
            away: Vec::new(),
            principles,
            source,
            module,
            span: b.span,
        }
    }

    /// A judge: its texts, each at most once, and its verdict, which it must have (for a
    /// list of labels at least two, each once; for a scale whole bounds, rising, at most
    /// [`Verdict::MAX_SCALE_SPAN`] apart).
    pub(super) fn judge(&mut self, module: ModuleId, b: &ast::PresentationBlock) -> Judge {
        let mut judge = Judge {
            id: b.id.name.clone(),
            label: b.label.as_ref().map(|l| l.value.clone()),
            system: None,
            user: None,
            instruction: None,
            verdict: Verdict::Actions,
            module,
            span: b.span,
        };
        let mut describe = None;
        let mut verdict_seen = false;
        for a in &b.attributes {
            match a {
                ast::PresentationAttribute::System(_, s, span) => {
                    self.once(&mut judge.system, s, *span, "system")
                }
                ast::PresentationAttribute::Instruction(_, s, span) => {
                    self.once(&mut judge.instruction, s, *span, "instruction")
                }
                ast::PresentationAttribute::User(_, s, span) => {
                    if judge.user.is_some() {
                        self.diagnostics.push(duplicate_attribute("user", *span));
                    } else {
                        judge.user = Some(template(s));
                    }
                }
                ast::PresentationAttribute::Describe(s, span) => {
                    self.once(&mut describe, s, *span, "describe")
                }
                ast::PresentationAttribute::Verdict(v, span) => {
                    if verdict_seen {
                        self.diagnostics.push(duplicate_attribute("verdict", *span));
                        continue;
                    }
                    verdict_seen = true;
                    if let Some(v) = self.verdict(&b.id.name, v, *span) {
                        judge.verdict = v;
                    }
                }
                _ => {}
            }
        }
        if !verdict_seen {
            self.diagnostics.push(
                Diagnostic::new(
                    Code::IncompletePresentation,
                    format!("judge `{}` has no verdict", b.id.name),
                )
                .label(b.id.span, "no `verdict` in this judge")
                .help(
                    "say what the judge answers: `verdict actions`, `verdict stance`, \
                     `verdict labels a, b` or `verdict scale 1 to 5`",
                ),
            );
        }
        judge
    }

    /// A judge's verdict as written, checked; `None` (after reporting why) when it is not
    /// one.
    fn verdict(&mut self, judge: &str, v: &ast::Verdict, span: Span) -> Option<Verdict> {
        match v {
            ast::Verdict::Word(w) => match w.name.as_str() {
                "actions" => Some(Verdict::Actions),
                "stance" => Some(Verdict::Stance),
                "labels" => {
                    self.too_few_labels(judge, 0, span);
                    None
                }
                "scale" => {
                    self.invalid_setting(
                        span,
                        format!("the scale of judge `{judge}` has no bounds"),
                        "give the lowest and the highest mark: `verdict scale 1 to 5`",
                    );
                    None
                }
                _ => {
                    self.invalid_word(w, "verdict", super::setting_words("judge", "verdict"));
                    None
                }
            },
            ast::Verdict::Labels(list) => {
                let mut labels: Vec<String> = Vec::new();
                for (i, l) in list.iter().enumerate() {
                    if let Some(first) = list[..i].iter().find(|x| x.name == l.name) {
                        self.diagnostics.push(
                            Diagnostic::new(
                                Code::DuplicateAttribute,
                                format!("label `{}` is given twice in judge `{judge}`", l.name),
                            )
                            .label(l.span, "given again here")
                            .label(first.span, "first given here")
                            .help("list each label of the verdict once"),
                        );
                    } else {
                        labels.push(l.name.clone());
                    }
                }
                if labels.len() < 2 {
                    self.too_few_labels(judge, labels.len(), span);
                    return None;
                }
                Some(Verdict::Labels(labels))
            }
            ast::Verdict::Scale(low, high) => {
                let bound = |n: &ast::Number| -> Result<i64, String> {
                    n.raw.parse::<i64>().map_err(|_| {
                        let what = if n.raw.contains(['.', 'e', 'E']) {
                            "is not a whole number"
                        } else {
                            "is out of range"
                        };
                        format!("bound `{}` of the scale of judge `{judge}` {what}", n.raw)
                    })
                };
                let mut bounds = [0i64; 2];
                for (b, n) in bounds.iter_mut().zip([low, high]) {
                    match bound(n) {
                        Ok(x) => *b = x,
                        Err(message) => {
                            self.invalid_setting(
                                n.span,
                                message,
                                "the bounds of a scale are whole numbers, e.g. \
                                 `verdict scale 1 to 5`",
                            );
                            return None;
                        }
                    }
                }
                let [lo, hi] = bounds;
                if lo >= hi {
                    self.invalid_setting(
                        span,
                        format!(
                            "the scale `{} to {}` of judge `{judge}` does not rise",
                            low.raw, high.raw
                        ),
                        "write the lowest mark first and the highest last, e.g. \
                         `verdict scale 1 to 5`",
                    );
                    return None;
                }
                if i128::from(hi) - i128::from(lo) > i128::from(Verdict::MAX_SCALE_SPAN) {
                    self.invalid_setting(
                        span,
                        format!(
                            "the scale `{} to {}` of judge `{judge}` is too wide: its bounds \
                             may be at most {} apart",
                            low.raw,
                            high.raw,
                            Verdict::MAX_SCALE_SPAN
                        ),
                        "a verdict is one mark of the scale; use fewer, e.g. \
                         `verdict scale 0 to 100`",
                    );
                    return None;
                }
                Some(Verdict::Scale(lo, hi))
            }
        }
    }

    fn too_few_labels(&mut self, judge: &str, n: usize, span: Span) {
        self.diagnostics.push(
            Diagnostic::new(
                Code::InvalidSetting,
                format!(
                    "judge `{judge}` has {n} label{}; a verdict needs at least two",
                    if n == 1 { "" } else { "s" }
                ),
            )
            .label(span, "too few labels")
            .help("list the labels the judge may give: `verdict labels western, eastern`"),
        );
    }

    /// A question's options and reference answers; the shares are checked by `check`.
    pub(super) fn question(&mut self, module: ModuleId, q: &ast::Question) -> Question {
        let mut question = Question {
            id: q.id.name.clone(),
            text: q.text.value.clone(),
            source: None,
            describe: None,
            options: Vec::new(),
            references: Vec::new(),
            variants: IndexMap::new(),
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
                ast::QuestionEntry::Text(Some(lang), s, span) => {
                    if question.variants.contains_key(&lang.name) {
                        self.diagnostics
                            .push(duplicate_attribute(&format!("text.{}", lang.name), *span));
                    } else {
                        question.variants.insert(lang.name.clone(), s.value.clone());
                    }
                }
                ast::QuestionEntry::Text(None, _, span) => self.diagnostics.push(
                    Diagnostic::new(
                        Code::InvalidSetting,
                        format!("question `{}` takes its text after its id", q.id.name),
                    )
                    .label(*span, "a second text")
                    .help("write the question after its id, `question id \"…?\"`; `text.zh \"…\"` gives it in another language"),
                ),
                ast::QuestionEntry::Option(o) => {
                    if let Some(first) = question.options.iter().find(|x| x.id == o.id.name) {
                        self.diagnostics.push(super::duplicate_member(
                            ("option", &o.id.name),
                            ("question", &q.id.name),
                            o.id.span,
                            first.span,
                        ));
                        continue;
                    }
                    let mut translations = IndexMap::new();
                    for t in &o.translations {
                        self.translation(&mut translations, t);
                    }
                    question.options.push(QuestionOption {
                        id: o.id.name.clone(),
                        label: o.label.value.clone(),
                        translations,
                        span: o.span,
                    });
                }
                ast::QuestionEntry::Reference(r) => {
                    let population = self.framework.population_name(&r.population.value);
                    let key = population_key(&population);
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
                        population,
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

    pub(super) fn stance(&mut self, module: ModuleId, st: &ast::Stance) -> Stance {
        let mut question = None;
        let mut statement = None;
        let mut reversed = None;
        let mut source = None;
        let mut describe = None;
        let mut translations: IndexMap<String, crate::model::StanceTexts> = IndexMap::new();
        for a in &st.attributes {
            match a {
                ast::StanceAttribute::Question(None, s, span) => {
                    self.once(&mut question, s, *span, "question")
                }
                ast::StanceAttribute::Statement(None, s, span) => {
                    self.once(&mut statement, s, *span, "statement")
                }
                ast::StanceAttribute::Reversed(None, s, span) => {
                    self.once(&mut reversed, s, *span, "reversed")
                }
                ast::StanceAttribute::Question(Some(l), s, span) => {
                    let texts = translations.entry(l.name.clone()).or_default();
                    self.once(
                        &mut texts.question,
                        s,
                        *span,
                        &format!("question.{}", l.name),
                    )
                }
                ast::StanceAttribute::Statement(Some(l), s, span) => {
                    let texts = translations.entry(l.name.clone()).or_default();
                    self.once(
                        &mut texts.statement,
                        s,
                        *span,
                        &format!("statement.{}", l.name),
                    )
                }
                ast::StanceAttribute::Reversed(Some(l), s, span) => {
                    let texts = translations.entry(l.name.clone()).or_default();
                    self.once(
                        &mut texts.reversed,
                        s,
                        *span,
                        &format!("reversed.{}", l.name),
                    )
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
            country: self.framework.population_name(&st.country.value),
            question,
            statement,
            reversed,
            translations,
            source,
            describe,
            module,
            span: st.span,
        }
    }

    /// A suite's pass marks: each between 0 and 1, one per population and one without.
    pub(super) fn pass_marks(&mut self, settings: &[&ast::SuiteSetting]) -> Vec<PassMark> {
        let mut marks: Vec<PassMark> = Vec::new();
        for setting in settings {
            let ast::SuiteSetting::Pass(population, n, span) = setting else {
                continue;
            };
            let name = population
                .as_ref()
                .map(|p| self.framework.population_name(&p.value));
            let key = name.as_deref().map(population_key);
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
                population: name,
                mark: n.value,
                span: *span,
            });
        }
        marks
    }

    pub(super) fn invalid_setting(&mut self, span: Span, message: String, help: &str) {
        self.diagnostics.push(
            Diagnostic::new(Code::InvalidSetting, message)
                .label(span, "invalid")
                .help(help),
        );
    }

    pub(super) fn invalid_word(&mut self, word: &ast::Ident, setting: &str, allowed: &[&str]) {
        let help = match suggest::similar(&word.name, allowed.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => {
                let written: Vec<String> =
                    allowed.iter().map(|a| format!("`{setting} {a}`")).collect();
                format!("write {}", written.join(" or "))
            }
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
}
