//! The translation check of `quandary check`: a suite that declares `languages` can be
//! asked in each of them, so nothing falls back to its original language unseen.

use super::*;
use crate::model::PickSource;
use crate::source::Span;

/// Reports, for every language a suite declares, each text it would send untranslated:
/// a scenario template's text (`text.L`), an action's label (`L "…"`, or for an action
/// following a rule, the rule's `L` translation), and the framework's prompts and steers
/// (`system.L`, `user.L`, `instruction.L`; an `instruction.L` too when quandary has no
/// wording for the language).
pub(crate) fn check(framework: &Framework, suite: &Suite, out: &mut Vec<Diagnostic>) {
    for (lang, at) in &suite.languages {
        let mut missing = |what: String, span: Span, help: String| {
            out.push(
                Diagnostic::new(
                    Code::MissingTranslation,
                    format!("suite `{}` is asked in `{lang}`, but {what}", suite.id),
                )
                .label(span, format!("no `{lang}` version"))
                .label(*at, "the language is declared here")
                .help(help),
            )
        };
        for item in &suite.items {
            let id = match item {
                SuiteItem::Scenario(id) => id,
                SuiteItem::Question(q) => {
                    let q = &framework.questions[q.index()];
                    if suite.persona.is_some() {
                        missing(
                            format!(
                                "its persona has no translations: question `{}` would be asked under it in English",
                                q.id
                            ),
                            suite.span,
                            format!("leave `persona` or `{lang}` out of the suite"),
                        );
                    }
                    if !q.variants.contains_key(lang) {
                        missing(
                            format!("question `{}` has no `text.{lang}`", q.id),
                            q.span,
                            format!("add `text.{lang} \"…\"` to its block"),
                        );
                    }
                    for o in q
                        .options
                        .iter()
                        .filter(|o| !o.translations.contains_key(lang))
                    {
                        missing(
                            format!(
                                "option `{}` of question `{}` has no `{lang}` label",
                                o.id, q.id
                            ),
                            o.span,
                            format!("add `{lang} \"…\"` after the option's label"),
                        );
                    }
                    continue;
                }
                SuiteItem::Stance(st) => {
                    let st = &framework.stances[st.index()];
                    let texts = st.translations.get(lang).cloned().unwrap_or_default();
                    let mut keys = Vec::new();
                    if st.question.is_some() && texts.question.is_none() {
                        keys.push(format!("`question.{lang}`"));
                    }
                    if texts.statement.is_none() {
                        keys.push(format!("`statement.{lang}`"));
                    }
                    if texts.reversed.is_none() {
                        keys.push(format!("`reversed.{lang}`"));
                    }
                    if !keys.is_empty() {
                        missing(
                            format!("stance `{}` has no {}", st.id, keys.join(", ")),
                            st.span,
                            format!("add {} to it", keys.join(", ")),
                        );
                    }
                    if crate::language::wording(lang).is_none() {
                        missing(
                            format!(
                                "quandary has no wording of its own for `{lang}` to ask stance `{}` (\"Do you agree or disagree…\", `Agree`, `Disagree`)",
                                st.id
                            ),
                            st.span,
                            format!(
                                "its languages are {}",
                                crate::language::known().collect::<Vec<_>>().join(", ")
                            ),
                        );
                    }
                    continue;
                }
            };
            let scenario = &framework.scenarios[id.index()];
            if !scenario.variants.contains_key(lang) {
                missing(
                    format!("scenario `{}` has no `text.{lang}`", scenario.id),
                    scenario.text.as_ref().map_or(scenario.span, |t| t.span),
                    format!("add `text.{lang} \"…\"` after its `text`"),
                );
            }
            for action in &scenario.actions {
                if action.translations.contains_key(lang) {
                    continue;
                }
                if action.label.is_none()
                    && let Some(var) = &action.follows
                {
                    let untranslated = following(framework, scenario, var)
                        .filter(|r| !r.translations.contains_key(lang))
                        .count();
                    if untranslated > 0 {
                        missing(
                            format!(
                                "action `{}` of scenario `{}` follows `{var}`, and {untranslated} \
                                 rule(s) it may draw have no `{lang}` translation",
                                action.id, scenario.id
                            ),
                            action.span,
                            format!(
                                "give the rules a `{lang} \"…\"` translation, or the action a \
                                 `{lang} \"…\"` label of its own"
                            ),
                        );
                    }
                    continue;
                }
                missing(
                    format!(
                        "action `{}` of scenario `{}` has no `{lang}` label",
                        action.id, scenario.id
                    ),
                    action.span,
                    format!("add `{lang} \"…\"` to the action"),
                );
            }
        }
        let known = crate::language::wording(lang).is_some();
        for prompt in &framework.prompts {
            let texts = prompt.translations.get(lang).cloned().unwrap_or_default();
            let mut keys = Vec::new();
            if prompt.system.is_some() && texts.system.is_none() {
                keys.push(format!("`system.{lang}`"));
            }
            if prompt.user.is_some() && texts.user.is_none() {
                keys.push(format!("`user.{lang}`"));
            }
            if texts.instruction.is_none() && (prompt.instruction.is_some() || !known) {
                keys.push(format!("`instruction.{lang}`"));
            }
            if !keys.is_empty() {
                let why = if known {
                    String::new()
                } else {
                    format!(" (quandary has no wording of its own for `{lang}`)")
                };
                missing(
                    format!("prompt `{}` has no {}{why}", prompt.id, keys.join(", ")),
                    prompt.span,
                    format!("add {} to the prompt", keys.join(", ")),
                );
            }
        }
        for steer in &framework.steers {
            if !steer.translations.contains_key(lang) {
                missing(
                    format!("steer `{}` has no `system.{lang}`", steer.id),
                    steer.span,
                    format!("add `system.{lang} \"…\"` to it"),
                );
            }
        }
    }
}

/// The rules a pick variable `var` of `scenario` may draw.
fn following<'f>(
    framework: &'f Framework,
    scenario: &'f ScenarioTemplate,
    var: &str,
) -> impl Iterator<Item = &'f crate::model::Rule> {
    let filter = scenario
        .picks
        .iter()
        .find(|p| p.names.iter().any(|n| n == var))
        .and_then(|p| match &p.source {
            PickSource::RuleConflicts(filter) => Some(filter),
            _ => None,
        });
    filter
        .into_iter()
        .flat_map(|f| compile::pick_rules(framework, scenario.module, f))
        .map(|r| framework.rule(r))
}
