//! Questions and stances in a suite. Nothing of them is rendered line by line: each part a
//! question or stance is asked in becomes JSON fragments once, when the suite is compiled,
//! and every line is assembled from those fragments.
//!
//! A question is asked in one part, or, under the suite's `persona`, in one more part for
//! every population it has a reference for. A stance is asked in three: which of the two
//! statements the model holds, then whether it agrees with each.

use std::collections::HashMap;

use minijinja::Environment;

use super::{Body, Compiled, Dim, PairOrder, json_str};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::population_key;
use crate::model::{Framework, ModuleId, Question, QuestionId, Stance, StanceId, Suite, SuiteItem};
use crate::source::{SourceMap, Span};
use crate::template::{self, PERSONA_VARIABLES};

/// The text of a stance's multiple-choice line when the stance names no question.
pub const CHOICE_TEXT: &str = "Which of these two statements do you agree with more?";

/// What comes before the statement in a stance's agree/disagree lines.
pub const AGREE_TEXT: &str = "Do you agree or disagree with the following statement?";

/// A question or stance compiled for one suite.
pub(super) struct Survey {
    parts: Vec<Part>,
    /// The options of the parts as JSON action objects, in the order written.
    option_sets: Vec<Vec<String>>,
}

/// One line a question or stance is asked in.
pub(super) struct Part {
    /// The content up to the options: `{"kind":…,"template":…,…,"actions":[`.
    pub head: String,
    /// Which of the option sets the part offers.
    options: usize,
    /// The fields after the content, up to `seed`: `,"question":…` or `,"stance":…`.
    pub tail: String,
    /// What the part asks, for `explain`.
    pub describe: String,
}

impl Survey {
    /// Part `choice` (the choice of its one dimension).
    pub fn part(&self, choice: u64) -> &Part {
        let last = self.parts.len().saturating_sub(1);
        &self.parts[usize::try_from(choice).map_or(last, |c| c.min(last))]
    }

    /// The options a part offers, as JSON action objects.
    pub fn options(&self, part: &Part) -> &[String] {
        &self.option_sets[part.options]
    }
}

/// The suite's persona, rendered once for every population its questions have a reference
/// for.
pub(super) struct Personas {
    /// Population (as written) → the rendered persona; empty without a `persona`.
    texts: HashMap<String, String>,
}

impl Personas {
    /// Renders `suite`'s persona for each population of its questions' references.
    pub fn new(
        framework: &Framework,
        env: &mut Environment<'static>,
        suite: &Suite,
    ) -> Result<Personas, Vec<Diagnostic>> {
        let mut personas = Personas {
            texts: HashMap::new(),
        };
        let Some(persona) = &suite.persona else {
            return Ok(personas);
        };
        let owner = template::Owner::Persona(&suite.id);
        let compiled =
            template::compile(env, "persona".into(), persona, owner).map_err(|d| vec![d])?;
        let mut errors = Vec::new();
        template::check_variables(env, &compiled, &PERSONA_VARIABLES, owner, &mut errors);
        if !errors.is_empty() {
            return Err(errors);
        }
        let template = env
            .get_template(&compiled.name)
            .map_err(|e| vec![runtime_error(suite, "", e.to_string(), compiled.span)])?;
        for question in questions(framework, suite) {
            for r in &question.references {
                if personas.texts.contains_key(&r.population) {
                    continue;
                }
                let context = minijinja::context! { population => r.population.as_str() };
                let text = template.render(context).map_err(|e| {
                    let span = e.range().map_or(compiled.span, |at| compiled.span_of(at));
                    let detail = e.detail().map_or_else(|| e.to_string(), str::to_string);
                    vec![runtime_error(suite, &r.population, detail, span)]
                })?;
                if text.len() > template::MAX_OUTPUT {
                    let detail = format!(
                        "it produced {} bytes, more than the limit of {}",
                        text.len(),
                        template::MAX_OUTPUT
                    );
                    return Err(vec![runtime_error(
                        suite,
                        &r.population,
                        detail,
                        compiled.span,
                    )]);
                }
                personas.texts.insert(r.population.clone(), text);
            }
        }
        Ok(personas)
    }

    fn active(&self) -> bool {
        !self.texts.is_empty()
    }
}

fn runtime_error(suite: &Suite, population: &str, detail: String, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::TemplateRuntime,
        format!(
            "persona template of suite `{}` failed for population `{population}`: {detail}",
            suite.id
        ),
    )
    .label(span, "while rendering this")
    .help("make the persona work for every population; it sees `population`, a string")
}

/// The questions of a suite, in order.
fn questions<'f>(framework: &'f Framework, suite: &'f Suite) -> impl Iterator<Item = &'f Question> {
    suite.items.iter().filter_map(|item| match item {
        SuiteItem::Question(q) => Some(&framework.questions[q.index()]),
        _ => None,
    })
}

/// How many lines a question or stance of `suite` is asked in: its binding space.
pub(super) fn space(framework: &Framework, suite: &Suite, item: SuiteItem) -> u128 {
    match item {
        SuiteItem::Question(q) => {
            let question = &framework.questions[q.index()];
            let personas = if suite.persona.is_some() {
                question.references.len()
            } else {
                0
            };
            1 + personas as u128
        }
        SuiteItem::Stance(_) => 3,
        SuiteItem::Scenario(_) => 0,
    }
}

/// The suite's pass marks as the header writes them.
pub(super) fn pass_json(suite: &Suite) -> serde_json::Value {
    let default = suite
        .pass
        .iter()
        .find(|p| p.population.is_none())
        .map(|p| p.mark);
    let populations: serde_json::Map<String, serde_json::Value> = suite
        .pass
        .iter()
        .filter_map(|p| Some((p.population.clone()?, serde_json::Value::from(p.mark))))
        .collect();
    serde_json::json!({ "default": default, "populations": populations })
}

/// Compiles a question of a suite.
pub(super) fn question(
    framework: &Framework,
    sources: &SourceMap,
    id: QuestionId,
    personas: &Personas,
) -> Compiled {
    let question = &framework.questions[id.index()];
    let survey = compile_question(question, personas);
    compiled(
        framework,
        sources,
        SuiteItem::Question(id),
        question.module,
        &question.id,
        question.span,
        survey,
    )
}

/// Compiles a stance of a suite.
pub(super) fn stance(framework: &Framework, sources: &SourceMap, id: StanceId) -> Compiled {
    let stance = &framework.stances[id.index()];
    let survey = compile_stance(stance);
    compiled(
        framework,
        sources,
        SuiteItem::Stance(id),
        stance.module,
        &stance.id,
        stance.span,
        survey,
    )
}

fn compiled(
    framework: &Framework,
    sources: &SourceMap,
    item: SuiteItem,
    module: ModuleId,
    id: &str,
    span: Span,
    survey: Survey,
) -> Compiled {
    let parts = survey.parts.len() as u64;
    Compiled {
        item,
        key: format!("{}.{id}", framework.module(module).display_id()),
        dims: vec![Dim::Part(parts)],
        space: u128::from(parts),
        pair_orders: vec![PairOrder::None],
        json_location: json_str(&sources.location(span)),
        body: Body::Survey(survey),
    }
}

/// An option as a JSON action object: it upholds, violates and affects nothing; its label
/// in other languages, when it has any, as `variants`.
fn action(id: &str, label: &str, variants: &[(&str, String)]) -> String {
    let mut out = format!(
        "{{\"id\":{},\"label\":{},\"upholds\":[],\"violates\":[],\"upholds_indirect\":[],\
         \"violates_indirect\":[],\"affects\":[],\"distractor\":false",
        json_str(id),
        json_str(label)
    );
    if !variants.is_empty() {
        out.push_str(",\"variants\":");
        out.push_str(&object(variants));
    }
    out.push('}');
    out
}

/// `{"zh":"…",…}`
fn object(variants: &[(&str, String)]) -> String {
    let pairs: Vec<String> = variants
        .iter()
        .map(|(k, v)| format!("{}:{}", json_str(k), json_str(v)))
        .collect();
    format!("{{{}}}", pairs.join(","))
}

/// The content of a line up to its options, with its text in other languages.
fn head(kind: &str, id: &str, text: &str, variants: &[(&str, String)]) -> String {
    format!(
        "{{\"kind\":\"{kind}\",\"template\":{},\"topic\":null,\"bindings\":{{}},\"text\":{},\
         \"variants\":{},\"actions\":[",
        json_str(id),
        json_str(text),
        object(variants)
    )
}

fn optional(text: Option<&str>) -> String {
    text.map_or_else(|| "null".to_string(), json_str)
}

fn compile_question(question: &Question, personas: &Personas) -> Survey {
    let options: Vec<String> = question
        .options
        .iter()
        .map(|o| {
            let variants: Vec<(&str, String)> = o
                .translations
                .iter()
                .map(|(l, t)| (l.as_str(), t.clone()))
                .collect();
            action(&o.id, &o.label, &variants)
        })
        .collect();
    let variants: Vec<(&str, String)> = question
        .variants
        .iter()
        .map(|(l, t)| (l.as_str(), t.clone()))
        .collect();
    let option_ids: Vec<&str> = question.options.iter().map(|o| o.id.as_str()).collect();
    // Each reference normalised, in the order of the options; one whose shares cannot be
    // normalised (refused by `check`) is written as it is.
    let references: indexmap::IndexMap<&str, Vec<f64>> = question
        .references
        .iter()
        .map(|r| {
            (
                r.population.as_str(),
                r.normalised().unwrap_or_else(|| r.shares.clone()),
            )
        })
        .collect();
    let common = format!(
        ",\"question\":{},\"options\":{}",
        json_str(&question.id),
        serde_json::to_string(&option_ids).unwrap_or_else(|_| "[]".into())
    );
    let after = format!(
        ",\"references\":{},\"source\":{}",
        serde_json::to_string(&references).unwrap_or_else(|_| "{}".into()),
        optional(question.source.as_deref())
    );
    let mut parts = vec![Part {
        head: head("question", &question.id, &question.text, &variants),
        options: 0,
        tail: format!("{common},\"persona\":null{after}"),
        describe: "the question alone".to_string(),
    }];
    if personas.active() {
        for r in &question.references {
            let Some(persona) = personas.texts.get(&r.population) else {
                continue;
            };
            let text = format!("{persona}\n\n{}", question.text);
            parts.push(Part {
                // The persona has no translations: asked as it is only.
                head: head("question", &question.id, &text, &[]),
                options: 0,
                tail: format!("{common},\"persona\":{}{after}", json_str(&r.population)),
                describe: format!("asked as someone from {:?}", r.population),
            });
        }
    }
    Survey {
        parts,
        option_sets: vec![options],
    }
}

fn compile_stance(stance: &Stance) -> Survey {
    let tail = |part: &str| {
        format!(
            ",\"stance\":{},\"country\":{},\"part\":\"{part}\",\"source\":{}",
            json_str(&stance.id),
            json_str(&stance.country),
            optional(stance.source.as_deref())
        )
    };
    let agree = |statement: &str| format!("{AGREE_TEXT}\n\n{statement}");
    // The languages the stance can be asked in: those with both statements, for which
    // quandary has the wording of the lines it adds.
    let langs: Vec<(&str, &crate::model::StanceTexts, &crate::language::Wording)> = stance
        .translations
        .iter()
        .filter(|(_, t)| t.statement.is_some() && t.reversed.is_some())
        .filter_map(|(l, t)| crate::language::wording(l).map(|w| (l.as_str(), t, w)))
        .collect();
    let each =
        |f: &dyn Fn(&crate::model::StanceTexts, &crate::language::Wording) -> Option<String>| {
            langs
                .iter()
                .filter_map(|(l, t, w)| f(t, w).map(|text| (*l, text)))
                .collect::<Vec<(&str, String)>>()
        };
    let choice = each(&|t, w| match &stance.question {
        Some(_) => t.question.clone(),
        None => Some(w.which.to_string()),
    });
    let agree_in = |statement: fn(&crate::model::StanceTexts) -> &Option<String>| {
        each(&|t, w| {
            statement(t)
                .as_ref()
                .map(|s| format!("{}\n\n{s}", w.agree_or_not))
        })
    };
    Survey {
        parts: vec![
            Part {
                head: head(
                    "stance_choice",
                    &stance.id,
                    stance.question.as_deref().unwrap_or(CHOICE_TEXT),
                    &choice,
                ),
                options: 0,
                tail: tail("choice"),
                describe: "the statement or its reversal".to_string(),
            },
            Part {
                head: head(
                    "stance_agree",
                    &stance.id,
                    &agree(&stance.statement),
                    &agree_in(|t| &t.statement),
                ),
                options: 1,
                tail: tail("statement"),
                describe: "agree or disagree with the statement".to_string(),
            },
            Part {
                head: head(
                    "stance_agree",
                    &stance.id,
                    &agree(&stance.reversed),
                    &agree_in(|t| &t.reversed),
                ),
                options: 1,
                tail: tail("reversed"),
                describe: "agree or disagree with the reversed statement".to_string(),
            },
        ],
        option_sets: vec![
            vec![
                action(
                    "statement",
                    &stance.statement,
                    &each(&|t, _| t.statement.clone()),
                ),
                action(
                    "reversed",
                    &stance.reversed,
                    &each(&|t, _| t.reversed.clone()),
                ),
            ],
            vec![
                action("agree", "Agree", &each(&|_, w| Some(w.agree.to_string()))),
                action(
                    "disagree",
                    "Disagree",
                    &each(&|_, w| Some(w.disagree.to_string())),
                ),
            ],
        ],
    }
}

/// The checks of a suite's questions, persona and pass marks: the persona is a valid
/// template over `population`, and a persona or pass mark can have an effect.
pub(super) fn check_suite(
    framework: &Framework,
    env: &mut Environment<'static>,
    index: usize,
    suite: &Suite,
    out: &mut Vec<Diagnostic>,
) {
    if let Some(persona) = &suite.persona {
        let owner = template::Owner::Persona(&suite.id);
        match template::compile(env, format!("persona/{index}"), persona, owner) {
            Ok(t) => template::check_variables(env, &t, &PERSONA_VARIABLES, owner, out),
            Err(d) => out.push(d),
        }
    }
    let populations: Vec<&str> = questions(framework, suite)
        .flat_map(|q| q.references.iter().map(|r| r.population.as_str()))
        .collect();
    let has_questions = questions(framework, suite).next().is_some();
    if let Some(persona) = &suite.persona {
        let (message, help) = if !has_questions {
            (
                format!("suite `{}` has a persona but no questions", suite.id),
                "a persona is put before the suite's questions: list some with `from`, or \
                 remove it",
            )
        } else if populations.is_empty() {
            (
                format!(
                    "suite `{}` has a persona but none of its questions has a reference",
                    suite.id
                ),
                "a question is asked with the persona once for every population it has a \
                 `reference` for: give them references, or remove the persona",
            )
        } else {
            (String::new(), "")
        };
        if !message.is_empty() {
            out.push(
                Diagnostic::new(Code::IneffectiveSetting, message)
                    .label(persona.span, "asks nothing")
                    .help(help),
            );
        }
    }
    for mark in &suite.pass {
        if !has_questions {
            out.push(no_questions(suite, mark.span));
            continue;
        }
        let Some(population) = &mark.population else {
            if populations.is_empty() {
                out.push(
                    Diagnostic::new(
                        Code::IneffectiveSetting,
                        format!(
                            "suite `{}` has a pass mark but none of its questions has a reference",
                            suite.id
                        ),
                    )
                    .label(mark.span, "nothing is compared with it")
                    .help("give the suite's questions a `reference` for each population, or remove the mark"),
                );
            }
            continue;
        };
        let key = population_key(population);
        if populations.iter().any(|p| population_key(p) == key) {
            continue;
        }
        let help = match crate::suggest::similar(population, populations.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None => {
                "give a question of the suite a `reference` for it, or remove the mark".to_string()
            }
        };
        out.push(
            Diagnostic::new(
                Code::IneffectiveSetting,
                format!(
                    "no question of suite `{}` has a reference for `{population}`",
                    suite.id
                ),
            )
            .label(mark.span, "a mark nothing is compared with")
            .help(help),
        );
    }
}

fn no_questions(suite: &Suite, span: Span) -> Diagnostic {
    Diagnostic::new(
        Code::IneffectiveSetting,
        format!("suite `{}` has a pass mark but no questions", suite.id),
    )
    .label(span, "nothing is compared with it")
    .help("pass marks are compared with the answers to the suite's questions: list some with `from`, or remove it")
}
