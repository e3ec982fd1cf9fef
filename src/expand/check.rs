//! The expansion checks of `quandary check`: templates compile and use only bound variables,
//! picks have candidates, suites are not too large and ask for no more than they can give,
//! every value a pick names can be posed, and `require conflict` can be met.

use super::*;

/// The expansion checks that `quandary check` runs: templates compile and use only bound
/// variables, every pick has candidates, suites are not too large and do not ask for more
/// than they can give, and every value a pick names can be posed.
pub(crate) fn check(
    framework: &Framework,
    sources: &SourceMap,
    broken: &dyn Fn(ModuleId) -> bool,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut env = template::environment();
    let mut spaces: Vec<Option<u128>> = Vec::with_capacity(framework.scenarios.len());
    for (i, scenario) in framework.scenarios.iter().enumerate() {
        let compiled = compile_scenario(framework, sources, &mut env, ScenarioId(i as u32), i, 0);
        match compiled {
            // In a file with syntax errors, a scenario that parsed still has its templates
            // checked; what it draws may depend on items that did not parse.
            Ok(_) if broken(scenario.module) => spaces.push(None),
            Ok(c) => {
                for (dim, pick) in c
                    .dims
                    .iter()
                    .filter_map(|d| match d {
                        Dim::Pick(p) => Some(p),
                        _ => None,
                    })
                    .zip(&scenario.picks)
                {
                    if matches!(pick.source, PickSource::Unresolved) {
                        continue;
                    }
                    if dim.is_empty() {
                        out.push(no_candidates(framework, scenario, pick));
                    } else if let PickSource::Conflicts(filter) = &pick.source {
                        for &f in filter {
                            // A `conflicts` pick lists its candidates: they are few.
                            let posed = (0..dim.len()).any(|k| {
                                let (a, b) = dim.sides(k);
                                [a, b].iter().any(|e| matches!(e, Endpoint::Value(v) if *v == f || framework.ancestors(*v).any(|a| a == f)))
                            });
                            if !posed {
                                out.push(
                                    Diagnostic::new(
                                        Code::UnposableValue,
                                        format!("`{}` is in no declared conflict with the other values of this pick, so no suite can pose it", framework.value_name(f, scenario.module)),
                                    )
                                    .label(pick.span, "never draws it")
                                    .help("declare a `conflict` between it and another value of the pick, or remove it"),
                                );
                            }
                        }
                    }
                }
                spaces.push(Some(c.space));
            }
            Err(d) => {
                // Incomplete scenarios are reported by the resolver already.
                out.extend(d.into_iter().filter(|d| d.code != Code::IncompleteScenario));
                spaces.push(None);
            }
        }
    }
    // The templates of prompts and judges: each compiles and uses only its variables.
    let prompts = framework.prompts.iter().enumerate().map(|(i, p)| {
        let owner = template::Owner::Prompt(&p.id);
        (
            format!("prompt/{i}"),
            &p.user,
            owner,
            &template::PROMPT_VARIABLES[..],
        )
    });
    let judges = framework.judges.iter().enumerate().map(|(i, j)| {
        let owner = template::Owner::Judge(&j.id);
        (
            format!("judge/{i}"),
            &j.user,
            owner,
            &template::JUDGE_VARIABLES[..],
        )
    });
    for (name, user, owner, variables) in prompts.chain(judges) {
        let Some(user) = user else { continue };
        match template::compile(&mut env, name, user, owner) {
            Ok(t) => {
                let before = out.len();
                template::check_variables(&env, &t, variables, owner, &mut out);
                if out.len() == before {
                    template::check_attributes(&env, &t, variables, owner, &mut out);
                }
            }
            Err(d) => out.push(d),
        }
    }
    for (index, suite) in framework.suites.iter().enumerate() {
        if broken(suite.module) {
            continue;
        }
        questions::check_suite(framework, &mut env, index, suite, &mut out);
        languages::check(framework, suite, &mut out);
        let templates_fine = suite.items.iter().all(|item| match item {
            SuiteItem::Scenario(s) => spaces.get(s.index()).copied().flatten().is_some(),
            _ => true,
        });
        if suite.require_conflict && templates_fine {
            let id = SuiteId(index as u32);
            if let Ok(expansion) = Expansion::new(framework, sources, id, &Options::default()) {
                match expansion.conflict_possible(REQUIREMENT_BUDGET) {
                    Some(true) => {}
                    Some(false) => out.push(
                        Diagnostic::new(
                            Code::UnsatisfiableRequirement,
                            format!(
                                "no scenario of suite `{}` can meet `require conflict`: no binding of its templates has options upholding values in a declared conflict",
                                suite.id
                            ),
                        )
                        .label(suite.require_span.unwrap_or(suite.span), "every draw would be dropped")
                        .help("declare a `conflict` between values the options uphold, pick the options' values with `conflicts(…)`, or remove `require conflict`"),
                    ),
                    None => out.push(
                        Diagnostic::new(
                            Code::RareRequirement,
                            format!(
                                "none of {REQUIREMENT_BUDGET} bindings tried per template of suite `{}` meets `require conflict`",
                                suite.id
                            ),
                        )
                        .label(suite.require_span.unwrap_or(suite.span), "most draws, perhaps all, will be dropped")
                        .help("declare a `conflict` between values the options uphold, pick the options' values with `conflicts(…)`, or remove `require conflict`"),
                    ),
                }
            }
        }
        let Some(space) = suite
            .items
            .iter()
            .map(|&item| match item {
                SuiteItem::Scenario(s) => spaces.get(s.index()).copied().flatten(),
                _ => Some(questions::space(framework, suite, item)),
            })
            .try_fold(0u128, |acc, s| s.map(|s| acc.saturating_add(s)))
        else {
            continue;
        };
        let total = match suite.size {
            Size::Count(n) => u128::from(n),
            Size::Each(n) => space.saturating_mul(u128::from(n)),
        }
        .saturating_mul(if suite.twins { 2 } else { 1 });
        if total > u128::from(DEFAULT_MAX) {
            out.push(too_large(suite, total, DEFAULT_MAX));
        } else if let Some(d) = repeats(framework, sources, index, suite, space) {
            out.push(d);
        }
    }
    out
}

/// Warning `Q0304` when a suite asks for more scenarios than it has distinct bindings (or,
/// with `require conflict`, bindings that meet it, when they can all be tried): past them,
/// scenarios repeat, marked with their occurrence.
fn repeats(
    framework: &Framework,
    sources: &SourceMap,
    index: usize,
    suite: &Suite,
    space: u128,
) -> Option<Diagnostic> {
    if space == 0 {
        return None;
    }
    // A `show k diverse` template's starts can end in one set: its distinct scenarios are
    // counted when it is small enough, else the space is an upper bound.
    let diverse = suite.items.iter().any(|item| match item {
        SuiteItem::Scenario(s) => framework.scenarios[s.index()]
            .show
            .as_ref()
            .is_some_and(|s| s.diverse),
        _ => false,
    });
    let (space, bound) = if diverse {
        let expansion = Expansion::new(
            framework,
            sources,
            SuiteId(index as u32),
            &Options::default(),
        )
        .ok()?;
        match expansion.distinct_bindings(REQUIREMENT_BUDGET) {
            (distinct, true) => (distinct, ""),
            (_, false) => (space, "at most "),
        }
    } else {
        (space, "")
    };
    let span = suite.size_span.unwrap_or(suite.span);
    let id = &suite.id;
    let repeated = "more than can be distinct";
    let (message, help) = match suite.size {
        Size::Each(n) if n > 1 && !suite.dedupe => (
            format!("suite `{id}` asks for each of its {bound}{space} distinct bindings {n} times"),
            "the repeats are the same scenarios, numbered by `occurrence`, and count as one in \
             the report's intervals; to ask a model several times, use `each 1` and \
             `eval --epochs N`",
        ),
        Size::Count(n) if u128::from(n) > space => (
            format!(
                "suite `{id}` asks for {n} scenarios but its templates have {}{space} \
                 distinct bindings",
                if bound.is_empty() { "only " } else { bound }
            ),
            if suite.dedupe {
                "`dedupe` writes each binding once, so the suite stops short; lower the count or \
                 add slot choices"
            } else {
                "past them the scenarios repeat, numbered by `occurrence`; lower the count, add \
                 slot choices, or use `each 1` for every binding once"
            },
        ),
        Size::Count(n) if suite.require_conflict => {
            let expansion = Expansion::new(
                framework,
                sources,
                SuiteId(index as u32),
                &Options::default(),
            )
            .ok()?;
            let meeting = expansion.conflicting_bindings(REQUIREMENT_BUDGET)?;
            if u128::from(n) <= meeting || meeting == 0 {
                return None;
            }
            (
                format!(
                    "suite `{id}` asks for {n} scenarios but only {meeting} of its {bound}{space} \
                     distinct bindings {} `require conflict`",
                    if meeting == 1 { "meets" } else { "meet" }
                ),
                if suite.dedupe {
                    "`dedupe` writes each binding once, so the suite stops short; lower the \
                     count or declare more conflicts"
                } else {
                    "past them the scenarios repeat, numbered by `occurrence`; lower the count \
                     or declare more conflicts"
                },
            )
        }
        _ => return None,
    };
    Some(
        Diagnostic::new(Code::CountExceedsSpace, message)
            .label(span, repeated)
            .help(help),
    )
}

/// Bindings of a template tried at `check` time for `require conflict`: every one of a
/// smaller template, this many drawn from a larger one.
const REQUIREMENT_BUDGET: u64 = 20_000;

fn no_candidates(framework: &Framework, scenario: &ScenarioTemplate, pick: &Pick) -> Diagnostic {
    let help = match &pick.source {
        PickSource::Conflicts(f) if f.is_empty() => "declare conflicts between values: `conflict a <> b`".to_string(),
        PickSource::Conflicts(_) => "no declared conflict joins two of these values (or values below them); declare one with `conflict a <> b`".to_string(),
        PickSource::Unresolved => String::new(),
        PickSource::RuleConflicts(filter) if !filter.modules.is_empty() => "no two rules of these namespaces (with these contexts) conflict: declare `conflict rule_a <> rule_b`, or have them uphold values in a declared conflict".to_string(),
        PickSource::RuleConflicts(_) => "no two rules (with these contexts) conflict: declare `conflict rule_a <> rule_b`, or have them uphold values in a declared conflict".to_string(),
    };
    let _ = framework;
    Diagnostic::new(
        Code::NoCandidates,
        format!(
            "pick `{}, {}` in scenario `{}` has no pair to draw",
            pick.names[0], pick.names[1], scenario.id
        ),
    )
    .label(pick.span, "no candidate")
    .help(help)
}
