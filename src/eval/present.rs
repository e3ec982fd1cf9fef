//! How a scenario is shown to a model, and how its answer is read.

use super::{Answer, Choice, ScenarioLine};
use crate::formats::suite::ScenarioView;
pub use crate::model::AnswerMode;

/// How options are labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Labels {
    /// `A`, `B`, `C`, …
    #[default]
    Letters,
    /// `Action 1`, `Action 2`, … (as DailyDilemmas asks).
    Actions,
    /// Each option's own id (`agree`, `refusal`, `3`): how a judge is shown the verdicts of
    /// a stance, labels or a scale.
    Ids,
}

/// How scenarios are shown.
#[derive(Clone, Debug, Default)]
pub struct Presentation {
    /// A system prompt, if any (a steer's system prompt comes after it).
    pub system: Option<String>,
    /// How options are labelled.
    pub labels: Labels,
    /// The answer instruction; the default names the labels.
    pub instruction: Option<String>,
    /// A minijinja template for the user message, over `text`, `options` (each with
    /// `label`, `text`, `action`) and `instruction`; the default lays them out in turn.
    pub user: Option<String>,
    /// How the model answers: the option alone, or reasoning first.
    pub mode: AnswerMode,
    /// The language the scenarios are asked in (a tag such as `zh` or `pt-BR`): their text
    /// and options in it, the wording quandary adds in it, and answers read in it (and in
    /// English). `None` asks in the suite's own text, in English.
    pub lang: Option<String>,
    /// `user`, compiled on first use: leave it to its default.
    pub compiled: PromptCache,
}

/// A `user` template compiled on first use, with the source it was compiled from; shared by
/// clones of a [`Presentation`].
#[derive(Clone, Debug, Default)]
pub struct PromptCache(std::sync::Arc<std::sync::OnceLock<(String, Compiled)>>);

type Compiled = Result<minijinja::Environment<'static>, String>;

impl PartialEq for Presentation {
    fn eq(&self, other: &Self) -> bool {
        (
            &self.system,
            self.labels,
            &self.instruction,
            &self.user,
            self.mode,
            &self.lang,
        ) == (
            &other.system,
            other.labels,
            &other.instruction,
            &other.user,
            other.mode,
            &other.lang,
        )
    }
}

fn compile(user: &str) -> Compiled {
    let mut env = crate::template::environment();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Lenient);
    crate::template::guard(user).map_err(|(_, why, _)| why)?;
    env.add_template_owned("user", user.to_string())
        .map_err(|e| e.to_string())?;
    Ok(env)
}

impl Presentation {
    /// The presentation a `prompt` block describes.
    pub fn from_prompt(prompt: &crate::model::Prompt) -> Presentation {
        Presentation {
            system: prompt.system.clone(),
            labels: match prompt.labels {
                crate::model::OptionLabels::Letters => Labels::Letters,
                crate::model::OptionLabels::Actions => Labels::Actions,
            },
            instruction: prompt.instruction.clone(),
            user: prompt
                .user
                .as_ref()
                .map(|t| crate::template::dedent(&t.source).0),
            mode: prompt.answer,
            lang: None,
            compiled: Default::default(),
        }
    }

    /// The presentation `prompt` (if any) describes, in `lang`: the prompt's `system.L`,
    /// `user.L` and `instruction.L` in place of its own. A prompt text without a translation
    /// into `lang` is an error, not a fall-back to the original; so is a language quandary
    /// has no wording for, unless the prompt gives `instruction.L`.
    pub fn in_language(
        mut self,
        prompt: Option<&crate::model::Prompt>,
        lang: &str,
    ) -> Result<Presentation, String> {
        if let Some(p) = prompt {
            let texts = p.translations.get(lang).cloned().unwrap_or_default();
            let mut missing = Vec::new();
            if p.system.is_some() && texts.system.is_none() {
                missing.push("system");
            }
            if p.user.is_some() && texts.user.is_none() {
                missing.push("user");
            }
            if p.instruction.is_some() && texts.instruction.is_none() {
                missing.push("instruction");
            }
            if !missing.is_empty() {
                let keys: Vec<String> = missing.iter().map(|k| format!("`{k}.{lang}`")).collect();
                return Err(format!(
                    "prompt `{}` has no {} for `{lang}`: add {} to it",
                    p.id,
                    missing.join(", "),
                    keys.join(", ")
                ));
            }
            if texts.system.is_some() {
                self.system = texts.system;
            }
            if let Some(user) = texts.user {
                self.user = Some(crate::template::dedent(&user.source).0);
                self.compiled = Default::default();
            }
            if texts.instruction.is_some() {
                self.instruction = texts.instruction;
            }
        }
        if self.instruction.is_none() && crate::language::wording(lang).is_none() {
            let known: Vec<&str> = crate::language::known().collect();
            return Err(format!(
                "quandary has no wording for `{lang}` (it has {}): give the prompt an \
                 `instruction.{lang} \"…\"` in that language",
                known.join(", ")
            ));
        }
        self.lang = Some(lang.to_string());
        Ok(self)
    }

    /// The wording quandary adds in the run's language.
    fn wording(&self) -> &'static crate::language::Wording {
        self.lang
            .as_deref()
            .and_then(crate::language::wording)
            .unwrap_or(&crate::language::ENGLISH)
    }
}

impl Presentation {
    /// How a judge is asked: its system prompt, each line of its judge suite in the
    /// default layout (the message about the answer, then the verdicts: by name, `agree:
    /// It agrees`, or for `verdict actions` the options labelled `A`, `B`, …), and its
    /// instruction or the default one naming them.
    pub fn from_judge(judge: &crate::model::Judge) -> Presentation {
        Presentation {
            system: judge.system.clone(),
            instruction: judge.instruction.clone(),
            // The verdicts of a stance, labels or a scale are answered by name; a judge of
            // actions names the option as the answering model was shown it.
            labels: match judge.verdict {
                crate::model::Verdict::Actions => Labels::Letters,
                _ => Labels::Ids,
            },
            ..Presentation::default()
        }
    }

    /// A short description that changes whenever what is sent changes.
    pub fn fingerprint(&self) -> String {
        let hash = xxhash_rust::xxh3::xxh3_64(
            format!("{:?}|{:?}|{:?}", self.system, self.instruction, self.user).as_bytes(),
        );
        // A choice is the presentation it always was; another mode is said.
        let mode = match self.mode {
            AnswerMode::Choice => String::new(),
            other => format!("/{}", other.name()),
        };
        let lang = match &self.lang {
            Some(l) => format!("/lang={l}"),
            None => String::new(),
        };
        format!(
            "{}/{hash:016x}{mode}{lang}",
            match self.labels {
                Labels::Letters => "letters",
                Labels::Actions => "actions",
                Labels::Ids => "ids",
            }
        )
    }

    /// The label of the option at `position` (with [`Labels::Ids`], its position as a
    /// number: [`Presentation::options`] labels options by their ids).
    pub fn label(&self, position: usize) -> String {
        match self.labels {
            Labels::Letters => letter(position),
            Labels::Actions => format!("{} {}", self.wording().action, position + 1),
            Labels::Ids => (position + 1).to_string(),
        }
    }

    /// The scenario's options, labelled, in the order of the suite (in the run's language
    /// when the action has a translation into it).
    pub fn options(&self, scenario: &ScenarioLine) -> Vec<Choice> {
        self.options_of(&scenario.view())
    }

    /// [`Presentation::options`] of a borrowed line.
    pub(crate) fn options_of(&self, scenario: &ScenarioView<'_>) -> Vec<Choice> {
        let mut options = Vec::new();
        self.fill_options(scenario, &mut options);
        options
    }

    /// [`Presentation::options_of`] into `options`, whose strings are written over (their
    /// room kept): a run asks one scenario after another without allocating for each.
    pub(crate) fn fill_options(&self, scenario: &ScenarioView<'_>, options: &mut Vec<Choice>) {
        options.truncate(scenario.actions.len());
        while options.len() < scenario.actions.len() {
            options.push(Choice {
                label: String::new(),
                action: String::new(),
                text: String::new(),
                upholds: Vec::new(),
                violates: Vec::new(),
                either: Vec::new(),
                relevance: std::collections::BTreeMap::new(),
            });
        }
        for (i, (a, o)) in scenario.actions.iter().zip(options.iter_mut()).enumerate() {
            o.label.clear();
            match self.labels {
                Labels::Ids => o.label.push_str(&a.id),
                Labels::Letters => push_letter(i, &mut o.label),
                Labels::Actions => o.label.push_str(&self.label(i)),
            }
            o.action.clear();
            o.action.push_str(&a.id);
            o.text.clear();
            o.text.push_str(
                self.lang
                    .as_ref()
                    .and_then(|l| a.variants.get(l))
                    .unwrap_or(a.label.as_ref()),
            );
            overwrite(&mut o.upholds, &a.upholds);
            overwrite(&mut o.violates, &a.violates);
            overwrite(&mut o.either, &a.either);
            o.relevance.clone_from(&a.relevance);
        }
    }

    /// The user prompt: the dilemma, the options, the instruction. A `user` template that
    /// fails to render (which `check` makes unlikely) gives the default layout; see
    /// [`Presentation::try_prompt`].
    pub fn prompt(&self, scenario: &ScenarioLine, options: &[Choice]) -> String {
        let scenario = scenario.view();
        self.try_prompt_of(&scenario, options)
            .unwrap_or_else(|_| self.default_prompt(&scenario, options))
    }

    /// The user prompt, or why the `user` template failed to render. The template is
    /// compiled once, on first use.
    pub fn try_prompt(
        &self,
        scenario: &ScenarioLine,
        options: &[Choice],
    ) -> Result<String, String> {
        self.try_prompt_of(&scenario.view(), options)
    }

    /// [`Presentation::try_prompt`] of a borrowed line.
    pub(crate) fn try_prompt_of(
        &self,
        scenario: &ScenarioView<'_>,
        options: &[Choice],
    ) -> Result<String, String> {
        let Some(user) = &self.user else {
            return Ok(self.default_prompt(scenario, options));
        };
        let (source, compiled) = self
            .compiled
            .0
            .get_or_init(|| (user.clone(), compile(user)));
        // A template changed after first use is compiled afresh.
        let fresh;
        let env = if source == user {
            compiled
        } else {
            fresh = compile(user);
            &fresh
        };
        let env = env
            .as_ref()
            .map_err(|e| format!("the prompt template is not valid: {e}"))?;
        let instruction = self.instruction(options);
        let options: Vec<minijinja::Value> = options
            .iter()
            .map(
                |o| minijinja::context! { label => &o.label, text => &o.text, action => &o.action },
            )
            .collect();
        env.get_template("user")
            .and_then(|t| {
                t.render(minijinja::context! {
                    text => self.text_of(scenario).trim(), options, instruction => &instruction
                })
            })
            .map_err(|e| format!("the prompt template failed: {e}"))
    }

    /// The default layout: the dilemma, the labelled options, the instruction.
    fn default_prompt(&self, scenario: &ScenarioView<'_>, options: &[Choice]) -> String {
        let instruction = self.instruction(options);
        let text = self.text_of(scenario);
        let mut out = String::with_capacity(text.len() + 200);
        out.push_str(text.trim());
        out.push_str("\n\n");
        for o in options {
            out.push_str(&o.label);
            out.push_str(match self.labels {
                Labels::Letters => ". ",
                Labels::Actions | Labels::Ids => ": ",
            });
            out.push_str(&o.text);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&instruction);
        out
    }

    /// The scenario's text in the run's language (its own text when it has no translation,
    /// which the run refuses before asking anything).
    pub fn text<'s>(&self, scenario: &'s ScenarioLine) -> &'s str {
        self.lang
            .as_ref()
            .and_then(|l| scenario.variants.get(l))
            .unwrap_or(&scenario.text)
    }

    /// [`Presentation::text`] of a borrowed line.
    fn text_of<'s>(&self, scenario: &'s ScenarioView<'_>) -> &'s str {
        self.lang
            .as_ref()
            .and_then(|l| scenario.variants.get(l))
            .unwrap_or(scenario.text.as_ref())
    }

    /// What the scenario lacks to be asked in the run's language: its text or an option's
    /// label in it, named for a diagnostic; `None` when nothing is missing.
    pub fn untranslated(&self, scenario: &ScenarioLine) -> Option<String> {
        self.untranslated_of(&scenario.view())
    }

    /// [`Presentation::untranslated`] of a borrowed line.
    pub(crate) fn untranslated_of(&self, scenario: &ScenarioView<'_>) -> Option<String> {
        let lang = self.lang.as_ref()?;
        if !scenario.variants.contains_key(lang) {
            return Some(format!("its text (`text.{lang}`)"));
        }
        let missing: Vec<&str> = scenario
            .actions
            .iter()
            .filter(|a| !a.variants.contains_key(lang))
            .map(|a| &*a.id)
            .collect();
        (!missing.is_empty()).then(|| {
            format!(
                "the label of action {} (`{lang} \"…\"` in the action)",
                crate::suggest::code_list(&missing)
            )
        })
    }

    /// The answer instruction: the prompt's own, or one naming the labels (in the run's
    /// language).
    pub fn instruction(&self, options: &[Choice]) -> String {
        if let Some(i) = &self.instruction {
            return i.clone();
        }
        let wording = self.wording();
        let labels: Vec<String> = options.iter().map(|o| o.label.clone()).collect();
        let list = crate::language::list(wording, &labels);
        let text = match (self.mode, self.labels) {
            (AnswerMode::Choice, Labels::Letters) => wording.letters,
            (AnswerMode::Choice, Labels::Actions | Labels::Ids) => wording.actions,
            (AnswerMode::Reasoning, _) => wording.reasoning,
            (AnswerMode::Free, _) => wording.free,
        };
        text.replace("{list}", &list)
    }

    /// The system prompt for a request under `steer`.
    pub fn system(&self, steer: Option<&str>) -> Option<String> {
        match (&self.system, steer) {
            (None, None) => None,
            (Some(s), None) => Some(s.clone()),
            (None, Some(t)) => Some(t.to_string()),
            (Some(s), Some(t)) => Some(format!("{s}\n\n{t}")),
        }
    }
}

/// `A` … `Z`, then `AA`, `AB`, ….
pub(crate) fn letter(position: usize) -> String {
    let mut out = String::new();
    push_letter(position, &mut out);
    out
}

/// [`letter`], appended to `out`.
fn push_letter(position: usize, out: &mut String) {
    let start = out.len();
    let mut n = position;
    loop {
        out.insert(start, char::from(b'A' + (n % 26) as u8));
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
}

/// Makes `strings` a copy of `names`, writing over the strings it has.
fn overwrite(strings: &mut Vec<String>, names: &[crate::formats::suite::Name<'_>]) {
    strings.truncate(names.len());
    for (s, n) in strings.iter_mut().zip(names) {
        s.clear();
        s.push_str(n);
    }
    let had = strings.len();
    strings.extend(names[had..].iter().map(|n| n.to_string()));
}

/// An answer read: the option it names (or why none), and the rule that read it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// What the answer says.
    pub answer: Answer,
    /// The rule that found it (`final answer`, `bold`, `label`, `option text`, …), or
    /// `None` when nothing did.
    pub rule: Option<&'static str>,
    /// The model's reasoning, when the answer held a `<think>…</think>` block.
    pub reasoning: Option<String>,
}

/// Reads an answer given in `mode`. In [`AnswerMode::Choice`] the whole answer is read as
/// [`parse`] reads it. In [`AnswerMode::Reasoning`] a `<think>…</think>` block is set aside
/// as the reasoning, and the final choice is looked for from the end: "Final answer: B",
/// "Answer: (B)", "the answer is B", "I choose B", a last label in bold (`**B**`), then the
/// last line read as a choice, then the text of exactly one option in the last paragraph.
/// An answer none of these reads is unparsed (or refused), never a choice forced from it.
pub fn read(answer: &str, options: &[Choice], mode: AnswerMode) -> Reading {
    read_in(answer, options, mode, None)
}

/// [`read`] for an answer to a question asked in `lang`: its markers of a final answer and
/// its refusals are read as well as English ones, and full-width forms (`Ｂ`, `：`) as
/// ASCII.
pub fn read_in(answer: &str, options: &[Choice], mode: AnswerMode, lang: Option<&str>) -> Reading {
    let answer = &*crate::language::normalise(answer);
    if mode == AnswerMode::Free {
        // Kept whole for a judge; only a `<think>` block is set aside.
        let (reasoning, _) = split_thinking(answer);
        return Reading {
            answer: Answer::Free,
            rule: None,
            reasoning,
        };
    }
    if mode == AnswerMode::Choice {
        let (answer, rule) = parse_in(answer, options, lang);
        return Reading {
            answer,
            rule,
            reasoning: None,
        };
    }
    let (reasoning, body) = split_thinking(answer);
    let body = body.trim();
    // Lower-casing keeps byte offsets only where it keeps lengths: otherwise the markers are
    // looked for in the text as written.
    let lower = body.to_lowercase();
    let lower = if lower.len() == body.len() {
        lower
    } else {
        body.to_string()
    };
    let readers = crate::language::readers(lang);
    // Markers of a final answer, the last one in the text deciding; a marker inside a
    // longer one ("answer:" in "final answer:") counts as the longer one.
    let found: Vec<(usize, usize, &'static str)> = readers
        .iter()
        .flat_map(|w| w.markers.iter())
        .filter_map(|&(marker, rule)| lower.rfind(marker).map(|at| (at, at + marker.len(), rule)))
        .collect();
    let last = found
        .iter()
        .max_by_key(|(start, end, _)| (*start, *end))
        .copied();
    let best = last.map(|(start, end, rule)| {
        found
            .iter()
            .filter(|(s, e, _)| *s < start && *e >= start)
            .max_by_key(|(_, e, _)| *e)
            .map_or((end, rule), |&(_, e, r)| (e.max(end), r))
    });
    if let Some((after, rule)) = best {
        let rest: String = body[after..].chars().take(200).collect();
        let rest = rest.trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(' && c != '*');
        let first_line = rest.lines().next().unwrap_or_default();
        if let (Answer::Option(i), _) = parse_in(first_line, options, lang) {
            return Reading {
                answer: Answer::Option(i),
                rule: Some(rule),
                reasoning,
            };
        }
    }
    // An answer that lists the options again ("A. …", "B. …" on lines of their own, in
    // the prompt's words or its own) names no choice by its last line, its bold or an
    // option's text: only an explicit final answer above reads it.
    if echoes_options(body, options) {
        let (answer, rule) = if declines(&body.to_lowercase(), &readers) {
            (Answer::Refused, Some("refusal"))
        } else {
            (Answer::Unparsed, None)
        };
        return Reading {
            answer,
            rule,
            reasoning,
        };
    }
    // The last label in bold: `**B**`.
    let mut bold = None;
    let mut rest = body;
    while let Some(open) = rest.find("**") {
        let after = &rest[open + 2..];
        let Some(close) = after.find("**") else { break };
        let inner = after[..close].trim();
        if let Some(i) = options.iter().position(|o| {
            o.label
                .eq_ignore_ascii_case(inner.trim_matches(['(', ')', '.', ':']))
        }) {
            bold = Some(i);
        }
        rest = &after[close + 2..];
    }
    if let Some(i) = bold {
        return Reading {
            answer: Answer::Option(i),
            rule: Some("bold"),
            reasoning,
        };
    }
    // The last line alone, read as a choice.
    if let Some(last) = body.lines().rev().find(|l| !l.trim().is_empty())
        && let (Answer::Option(i), Some(rule)) = parse_in(last, options, lang)
        && rule != "option text"
    {
        return Reading {
            answer: Answer::Option(i),
            rule: Some("last line"),
            reasoning,
        };
    }
    // The text of exactly one option in the last paragraph.
    let last_paragraph = body.rsplit("\n\n").next().unwrap_or(body).to_lowercase();
    let by_text: Vec<usize> = (0..options.len())
        .filter(|&i| {
            let t = options[i].text.trim().to_lowercase();
            !t.is_empty() && last_paragraph.contains(&t)
        })
        .collect();
    if let [one] = by_text.as_slice() {
        return Reading {
            answer: Answer::Option(*one),
            rule: Some("option text"),
            reasoning,
        };
    }
    let (answer, rule) = if declines(&body.to_lowercase(), &readers) {
        (Answer::Refused, Some("refusal"))
    } else {
        (Answer::Unparsed, None)
    };
    Reading {
        answer,
        rule,
        reasoning,
    }
}

/// An option's text as the sentence of an agent choosing it in a free-form answer, in
/// `lang` (English without one): `I would keep quiet.`, `Meine Wahl: Schweigen.`
pub fn as_sentence(option: &str, lang: Option<&str>) -> String {
    let wording = lang
        .and_then(crate::language::wording)
        .unwrap_or(&crate::language::ENGLISH);
    let text = option.trim().trim_end_matches(['.', '!', '?', '。']);
    let text = if wording.tag == "en" {
        let mut chars = text.chars();
        match chars.next() {
            // "Keep quiet" reads "keep quiet"; "AI", "Ask Dr. Lee" keep their capitals when
            // the second letter is a capital.
            Some(first) if chars.next().is_some_and(|c| !c.is_uppercase()) => {
                first.to_lowercase().chain(text.chars().skip(1)).collect()
            }
            _ => text.to_string(),
        }
    } else {
        text.to_string()
    };
    wording.choose.replace("{option}", &text)
}

/// Whether `body` repeats the options as the prompt lists them, which names none of them:
/// every option's listing line (`A. text`, `Action 1: text`) is a line of it; or every
/// label opens a list item of its own words (`A. Keep quiet` / `B. Truth`) and the answer
/// ends on such an item. Options discussed in turn and then chosen (`A: …` / `B: …` /
/// `B`) are not a repetition.
fn echoes_options(body: &str, options: &[Choice]) -> bool {
    // What follows `label` on a line that is a list item of it.
    fn item<'a>(line: &'a str, label: &str) -> Option<&'a str> {
        let rest = line.trim().strip_prefix(label)?;
        [". ", ": ", ") "]
            .iter()
            .find_map(|p| rest.strip_prefix(p))
            .map(str::trim)
    }
    let listed = |exact: bool| {
        options.iter().all(|o| {
            let text = o.text.trim();
            body.lines().any(|line| {
                item(line, &o.label)
                    .is_some_and(|rest| !exact || (!text.is_empty() && rest == text))
            })
        })
    };
    let ends_on_item = body
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .is_some_and(|last| options.iter().any(|o| item(last, &o.label).is_some()));
    options.len() > 1 && (listed(true) || (ends_on_item && listed(false)))
}

/// A `<think>…</think>` block (its text) and what follows it; an unclosed block leaves no
/// answer after it.
fn split_thinking(answer: &str) -> (Option<String>, &str) {
    let Some(open) = answer.find("<think>") else {
        return (None, answer);
    };
    let inner = &answer[open + "<think>".len()..];
    match inner.find("</think>") {
        Some(close) => (
            Some(inner[..close].trim().to_string()),
            &inner[close + "</think>".len()..],
        ),
        None => (Some(inner.trim().to_string()), ""),
    }
}

/// Reads which option an answer names: a label (`B`, `(B)`, `Answer: B`, `Action 2`),
/// or, failing that, the text of exactly one option. A declining answer naming no option is
/// [`Answer::Refused`]; anything else [`Answer::Unparsed`].
pub fn parse(answer: &str, options: &[Choice]) -> Answer {
    parse_with_rule(answer, options).0
}

/// [`parse`], with the rule that read the answer: `label`, `bracketed`, `option text` or
/// `refusal`.
pub fn parse_with_rule(answer: &str, options: &[Choice]) -> (Answer, Option<&'static str>) {
    parse_in(answer, options, None)
}

/// [`parse_with_rule`] for an answer to a question asked in `lang` (see [`read_in`]).
pub fn parse_in(
    answer: &str,
    options: &[Choice],
    lang: Option<&str>,
) -> (Answer, Option<&'static str>) {
    let readers = crate::language::readers(lang);
    let answer = crate::language::normalise(answer);
    let text = answer.trim();
    let cleaned: String = text
        .chars()
        .map(|c| {
            if c == '*' || c == '`' || c == '"' || c == '\'' {
                ' '
            } else {
                c
            }
        })
        .collect();
    let cleaned = cleaned.trim();
    let lower = cleaned.to_lowercase();
    // "Action 2" and the like: exactly one label named.
    let named: Vec<usize> = (0..options.len())
        .filter(|&i| {
            let label = options[i].label.to_lowercase();
            label.len() > 1 && contains_word(&lower, &label)
        })
        .collect();
    if let [one] = named.as_slice() {
        return (Answer::Option(*one), Some("label"));
    }
    // A single-letter label: at the start, or after "answer"/"option"/"choice", or alone
    // in brackets.
    let stripped = strip_prefixes(&lower, &readers);
    for (i, o) in options.iter().enumerate() {
        let label = o.label.to_lowercase();
        if label.len() > 2 {
            continue;
        }
        let rest = stripped.strip_prefix(&label);
        // "A" and "I" are also English words: "A good question…" names no option.
        let word_use = (label == "a" || label == "i")
            && rest.is_some_and(|r| {
                let mut chars = r.chars();
                chars.next().is_some_and(char::is_whitespace)
                    && chars.next().is_some_and(|c| c.is_alphabetic())
            });
        if !word_use
            && rest.is_some_and(|r| {
                r.is_empty()
                    || !r
                        .starts_with(|c: char| c.is_alphanumeric() && !crate::language::unspaced(c))
            })
        {
            return (Answer::Option(i), Some("label"));
        }
        if lower.contains(&format!("({label})"))
            && options.iter().all(|other| {
                other.label.to_lowercase() == label
                    || !lower.contains(&format!("({})", other.label.to_lowercase()))
            })
        {
            return (Answer::Option(i), Some("bracketed"));
        }
    }
    // The text of exactly one option.
    let by_text: Vec<usize> = (0..options.len())
        .filter(|&i| {
            let t = options[i].text.trim().to_lowercase();
            !t.is_empty() && lower.contains(&t)
        })
        .collect();
    if let [one] = by_text.as_slice() {
        return (Answer::Option(*one), Some("option text"));
    }
    if declines(&lower, &readers) || declines(&text.to_lowercase(), &readers) {
        return (Answer::Refused, Some("refusal"));
    }
    (Answer::Unparsed, None)
}

/// Whether a (lower-cased) answer declines to choose, in one of the `readers`' languages.
fn declines(lower: &str, readers: &[&crate::language::Wording]) -> bool {
    readers
        .iter()
        .flat_map(|w| w.refusals.iter())
        .any(|d| lower.contains(d))
}

/// Drops leading "answer:", "option", "choice", "i choose" (and their like in the
/// `readers`' languages) and punctuation.
fn strip_prefixes<'s>(lower: &'s str, readers: &[&crate::language::Wording]) -> &'s str {
    let mut s = lower.trim_start_matches(|c: char| !c.is_alphanumeric());
    for w in readers {
        for prefix in w.prefixes {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.trim_start_matches(|c: char| !c.is_alphanumeric());
            }
        }
    }
    s
}

/// Whether `word` stands alone in `hay`: not inside a longer word (a neighbour written
/// without spaces, as Chinese is, does not join it).
fn contains_word(hay: &str, word: &str) -> bool {
    let joins = |c: char| c.is_alphanumeric() && !crate::language::unspaced(c);
    hay.match_indices(word).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + word.len()..].chars().next();
        !before.is_some_and(joins) && !after.is_some_and(joins)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> ScenarioLine {
        ScenarioLine {
            id: "s1".into(),
            template: "t".into(),
            text: text.into(),
            ..ScenarioLine::default()
        }
    }

    #[test]
    fn a_user_template_is_compiled_once_and_its_failures_are_reported() {
        let p = Presentation {
            user: Some("Q: {{ text }} ({{ options | length }})".into()),
            ..Presentation::default()
        };
        let s = scenario("Why?");
        assert_eq!(p.try_prompt(&s, &[]).as_deref(), Ok("Q: Why? (0)"));
        assert!(p.compiled.0.get().is_some(), "compiled on first use");
        // Clones share the compiled template; a changed template is compiled afresh.
        let mut q = p.clone();
        q.user = Some("{{ text }}!".into());
        assert_eq!(q.try_prompt(&s, &[]).as_deref(), Ok("Why?!"));
        let broken = Presentation {
            user: Some("{{ text | int }}".into()),
            ..Presentation::default()
        };
        let err = broken.try_prompt(&s, &[]).expect_err("not a number");
        assert!(err.starts_with("the prompt template failed"), "{err}");
        // `prompt` falls back to the default layout.
        assert!(broken.prompt(&s, &[]).starts_with("Why?"));
    }

    fn options(labels: Labels) -> Vec<Choice> {
        let p = Presentation {
            labels,
            ..Presentation::default()
        };
        ["Report the colleague", "Keep quiet"]
            .iter()
            .enumerate()
            .map(|(i, t)| Choice {
                label: p.label(i),
                action: format!("a{i}"),
                text: t.to_string(),
                upholds: vec![],
                violates: vec![],
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn reads_letters() {
        let o = options(Labels::Letters);
        for (answer, expected) in [
            ("A", Answer::Option(0)),
            (" B", Answer::Option(1)),
            ("B.", Answer::Option(1)),
            ("**B**", Answer::Option(1)),
            ("Answer: B", Answer::Option(1)),
            ("(A) because honesty matters", Answer::Option(0)),
            ("I choose B", Answer::Option(1)),
            ("Keep quiet.", Answer::Option(1)),
            ("A good question; I cannot answer that", Answer::Refused),
            ("Both are fine", Answer::Unparsed),
        ] {
            assert_eq!(parse(answer, &o), expected, "{answer:?}");
        }
    }

    #[test]
    fn reads_action_labels() {
        let o = options(Labels::Actions);
        assert_eq!(parse("Action 2", &o), Answer::Option(1));
        assert_eq!(parse("I would take action 1.", &o), Answer::Option(0));
        assert_eq!(parse("Action 1 or Action 2", &o), Answer::Unparsed);
    }

    #[test]
    fn labels_go_past_z() {
        assert_eq!(letter(0), "A");
        assert_eq!(letter(25), "Z");
        assert_eq!(letter(26), "AA");
    }

    fn three() -> Vec<Choice> {
        ["report", "wait", "leave"]
            .iter()
            .enumerate()
            .map(|(i, a)| Choice {
                label: letter(i),
                action: a.to_string(),
                text: format!("{a} now"),
                upholds: vec![],
                violates: vec![],
                ..Default::default()
            })
            .collect()
    }

    #[test]
    fn reasoning_answers_are_read_from_the_end() {
        let o = three();
        let read = |text: &str| {
            let r = super::read(text, &o, AnswerMode::Reasoning);
            (r.answer, r.rule)
        };
        let b = Answer::Option(1);
        // The common shapes, each with the rule that read it.
        assert_eq!(
            read("A would be kind, but rules matter.\nFinal answer: B"),
            (b.clone(), Some("final answer"))
        );
        assert_eq!(
            read("Considering A and C...\nAnswer: (B)"),
            (b.clone(), Some("answer"))
        );
        assert_eq!(
            read("A is tempting. Weighing it all, I choose **B**."),
            (b.clone(), Some("i choose"))
        );
        assert_eq!(read("A? C? In the end: **B**"), (b.clone(), Some("bold")));
        assert_eq!(
            read("Option A is rash.\n\nB"),
            (b.clone(), Some("last line"))
        );
        assert_eq!(
            read("Reporting is rash.\n\nSo: wait now, and see."),
            (b.clone(), Some("option text"))
        );
        // The last marker decides; a think block is set aside as the reasoning.
        assert_eq!(
            read("Final answer: A... no. Final answer: B"),
            (b.clone(), Some("final answer"))
        );
        let r = super::read(
            "<think>A or B? Final answer: A</think>\nFinal answer: C",
            &o,
            AnswerMode::Reasoning,
        );
        assert_eq!(r.answer, Answer::Option(2));
        assert_eq!(r.reasoning.as_deref(), Some("A or B? Final answer: A"));
        // An answer nothing reads is unparsed: never a choice forced from its first letter.
        assert_eq!(
            read("A good question. It depends on the hospital."),
            (Answer::Unparsed, None)
        );
        assert_eq!(
            read("I'm a helpful AI named SmolLM, trained by Hugging Face."),
            (Answer::Unparsed, None)
        );
        assert_eq!(
            read("As an AI, I cannot choose for you."),
            (Answer::Refused, Some("refusal"))
        );
        // A think block never closed leaves no answer.
        assert_eq!(read("<think>Final answer: A"), (Answer::Unparsed, None));
    }

    #[test]
    fn choices_say_which_rule_read_them() {
        let o = three();
        assert_eq!(parse_with_rule("B", &o), (Answer::Option(1), Some("label")));
        assert_eq!(
            parse_with_rule("I pick (C) here", &o),
            (Answer::Option(2), Some("bracketed"))
        );
        assert_eq!(
            parse_with_rule("leave now", &o),
            (Answer::Option(2), Some("option text"))
        );
        assert_eq!(parse_with_rule("banana", &o), (Answer::Unparsed, None));
    }

    #[test]
    fn answers_are_read_in_the_run_language_and_in_english() {
        let o = three();
        let reading = |text: &str, lang| read_in(text, &o, AnswerMode::Reasoning, lang);
        let zh = reading("让我想想。\n\n最终答案：Ｂ", Some("zh"));
        assert_eq!(
            (zh.answer, zh.rule),
            (Answer::Option(1), Some("final answer"))
        );
        assert_eq!(
            reading("嗯……答案是（Ｃ）。", Some("zh")).answer,
            Answer::Option(2)
        );
        let de = reading("Abwägen … Endgültige Antwort: C", Some("de"));
        assert_eq!(
            (de.answer, de.rule),
            (Answer::Option(2), Some("final answer"))
        );
        // English is read in every language; German is not read in a run without one.
        assert_eq!(
            reading("Final answer: A", Some("ja")).answer,
            Answer::Option(0)
        );
        assert_eq!(
            reading("Endgültige Antwort: C", None).answer,
            Answer::Unparsed
        );
        for (text, lang) in [
            ("Ich kann mich nicht entscheiden, als KI.", "de"),
            ("Je ne peux pas choisir.", "fr"),
            ("Lo siento, no puedo elegir.", "es"),
            ("作为人工智能，我无法做出选择。", "zh"),
            ("申し訳ありませんが、お答えできません。", "ja"),
            ("죄송합니다. 선택할 수 없습니다.", "ko"),
            ("Я не могу выбрать.", "ru"),
            ("Não posso escolher.", "pt-BR"),
        ] {
            let r = reading(text, Some(lang));
            assert_eq!(
                (r.answer, r.rule),
                (Answer::Refused, Some("refusal")),
                "{lang}: {text}"
            );
            // The same refusal in a run without the language is not read as one.
            assert_eq!(reading(text, None).answer, Answer::Unparsed, "{text}");
        }
    }

    #[test]
    fn an_answer_repeating_the_options_names_none_of_them() {
        let o = three();
        let read = |text: &str| {
            let r = super::read(text, &o, AnswerMode::Reasoning);
            (r.answer, r.rule)
        };
        // A small model that repeats the question until it is cut off.
        let echo = "A. report now\nB. wait now\nC. leave now\n\nA. report now\nB.";
        assert_eq!(read(echo), (Answer::Unparsed, None));
        // An explicit final answer after the repeated options still reads.
        assert_eq!(
            read("A. report now\nB. wait now\nC. leave now\n\nFinal answer: C").0,
            Answer::Option(2)
        );
        // The options listed again in the model's own words, ending on the last item.
        assert_eq!(
            read("A. report it\nB. wait\nC. go"),
            (Answer::Unparsed, None)
        );
        assert_eq!(
            read("A) Report\nB) Wait\nC) Leave"),
            (Answer::Unparsed, None)
        );
        // One option named as a list item is a choice.
        assert_eq!(read("B. wait now").0, Answer::Option(1));
        // Options discussed in turn are not a repetition of the list.
        assert_eq!(
            read("A: reporting is fair.\nB: waiting is kind.\nC: leaving helps no one.\n\nB").0,
            Answer::Option(1)
        );
    }

    #[test]
    fn an_answer_introduced_in_a_sentence_is_read() {
        let o = three();
        for text in [
            "The answer to your question is: B",
            "My answer is B.",
            "The answer is (B)",
        ] {
            assert_eq!(parse(text, &o), Answer::Option(1), "{text}");
        }
    }

    #[test]
    fn labels_and_prefixes_are_read_in_the_run_language() {
        let o = three();
        assert_eq!(parse_in("答案：Ｂ", &o, Some("zh")).0, Answer::Option(1));
        assert_eq!(parse_in("B。", &o, Some("zh")).0, Answer::Option(1));
        assert_eq!(parse_in("我选择C", &o, Some("zh")).0, Answer::Option(2));
        assert_eq!(parse_in("Antwort: C", &o, Some("de")).0, Answer::Option(2));
        let zh = Presentation {
            labels: Labels::Actions,
            lang: Some("zh".into()),
            ..Presentation::default()
        };
        let actions: Vec<Choice> = o
            .iter()
            .enumerate()
            .map(|(i, c)| Choice {
                label: zh.label(i),
                ..c.clone()
            })
            .collect();
        assert_eq!(actions[1].label, "行动 2");
        assert_eq!(
            parse_in("我会选择行动 2。", &actions, Some("zh")),
            (Answer::Option(1), Some("label"))
        );
    }

    #[test]
    fn a_presentation_in_a_language_sends_its_texts_and_wording() {
        let mut line = scenario("A regular asks to skip the queue.");
        line.variants
            .insert("de".into(), "Ein Stammkunde drängelt.".into());
        line.actions = vec![
            crate::formats::suite::ActionLine {
                id: "wait".into(),
                label: "Ask them to wait".into(),
                variants: [("de".to_string(), "Warten lassen".to_string())].into(),
                ..Default::default()
            },
            crate::formats::suite::ActionLine {
                id: "allow".into(),
                label: "Let them through".into(),
                ..Default::default()
            },
        ];
        let de = Presentation::default().in_language(None, "de").unwrap();
        assert_eq!(
            de.untranslated(&line).as_deref(),
            Some("the label of action `allow` (`de \"…\"` in the action)")
        );
        line.actions[1]
            .variants
            .insert("de".into(), "Vorlassen".into());
        assert_eq!(de.untranslated(&line), None);
        let options = de.options(&line);
        assert_eq!(
            de.prompt(&line, &options),
            "Ein Stammkunde drängelt.\n\nA. Warten lassen\nB. Vorlassen\n\n\
             Antworte nur mit dem Buchstaben der gewählten Option (A oder B)."
        );
        assert!(de.fingerprint().ends_with("/lang=de"));
        assert_ne!(de.fingerprint(), Presentation::default().fingerprint());
        // No wording for the language, and no instruction in it: refused.
        let err = Presentation::default()
            .in_language(None, "tlh")
            .unwrap_err();
        assert!(err.contains("instruction.tlh"), "{err}");
        let own = Presentation {
            instruction: Some("jIH".into()),
            ..Presentation::default()
        };
        assert!(own.in_language(None, "tlh").is_ok());
    }

    #[test]
    fn a_free_answer_is_kept_whole_and_an_agent_says_its_choice() {
        let o = three();
        let r = read_in(
            "<think>Hmm.</think>I would wait now, B.",
            &o,
            AnswerMode::Free,
            None,
        );
        assert_eq!((r.answer, r.rule), (Answer::Free, None));
        assert_eq!(r.reasoning.as_deref(), Some("Hmm."));
        let free = Presentation {
            mode: AnswerMode::Free,
            ..Presentation::default()
        };
        assert_eq!(free.instruction(&o), "Answer in your own words.");
        assert!(free.fingerprint().ends_with("/free"));
        let zh = free.clone().in_language(None, "zh").unwrap();
        assert_eq!(zh.instruction(&o), "请用你自己的话回答。");
        assert_eq!(as_sentence("Keep quiet.", None), "I would keep quiet.");
        assert_eq!(as_sentence("AI rules", None), "I would AI rules.");
        assert_eq!(
            as_sentence("Schweigen", Some("de")),
            "Meine Wahl: Schweigen."
        );
        assert_eq!(as_sentence("同意。", Some("zh")), "我的选择：同意。");
    }
}
