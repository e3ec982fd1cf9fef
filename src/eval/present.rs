//! How a scenario is shown to a model, and how its answer is read.

use super::{Answer, Choice, ScenarioLine};
pub use crate::model::AnswerMode;

/// How options are labelled.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Labels {
    /// `A`, `B`, `C`, …
    #[default]
    Letters,
    /// `Action 1`, `Action 2`, … (as DailyDilemmas asks).
    Actions,
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
        ) == (
            &other.system,
            other.labels,
            &other.instruction,
            &other.user,
            other.mode,
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
            compiled: Default::default(),
        }
    }
}

impl Presentation {
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
        format!(
            "{}/{hash:016x}{mode}",
            match self.labels {
                Labels::Letters => "letters",
                Labels::Actions => "actions",
            }
        )
    }

    /// The label of the option at `position`.
    pub fn label(&self, position: usize) -> String {
        match self.labels {
            Labels::Letters => letter(position),
            Labels::Actions => format!("Action {}", position + 1),
        }
    }

    /// The scenario's options, labelled, in the order of the suite.
    pub fn options(&self, scenario: &ScenarioLine) -> Vec<Choice> {
        scenario
            .actions
            .iter()
            .enumerate()
            .map(|(i, a)| Choice {
                label: self.label(i),
                action: a.id.clone(),
                text: a.label.clone(),
                upholds: a.upholds.clone(),
                violates: a.violates.clone(),
            })
            .collect()
    }

    /// The user prompt: the dilemma, the options, the instruction. A `user` template that
    /// fails to render (which `check` makes unlikely) gives the default layout; see
    /// [`Presentation::try_prompt`].
    pub fn prompt(&self, scenario: &ScenarioLine, options: &[Choice]) -> String {
        self.try_prompt(scenario, options)
            .unwrap_or_else(|_| self.default_prompt(scenario, options))
    }

    /// The user prompt, or why the `user` template failed to render. The template is
    /// compiled once, on first use.
    pub fn try_prompt(
        &self,
        scenario: &ScenarioLine,
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
                    text => scenario.text.trim(), options, instruction => &instruction
                })
            })
            .map_err(|e| format!("the prompt template failed: {e}"))
    }

    /// The default layout: the dilemma, the labelled options, the instruction.
    fn default_prompt(&self, scenario: &ScenarioLine, options: &[Choice]) -> String {
        let instruction = self.instruction(options);
        let mut out = String::with_capacity(scenario.text.len() + 200);
        out.push_str(scenario.text.trim());
        out.push_str("\n\n");
        for o in options {
            out.push_str(&o.label);
            out.push_str(match self.labels {
                Labels::Letters => ". ",
                Labels::Actions => ": ",
            });
            out.push_str(&o.text);
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&instruction);
        out
    }

    /// The answer instruction: the prompt's own, or one naming the labels.
    pub fn instruction(&self, options: &[Choice]) -> String {
        let mut out = String::new();
        match &self.instruction {
            Some(i) => out.push_str(i),
            None => {
                let labels: Vec<String> = options.iter().map(|o| o.label.clone()).collect();
                let list = match labels.as_slice() {
                    [] => String::new(),
                    [one] => one.clone(),
                    [init @ .., last] => format!("{} or {last}", init.join(", ")),
                };
                match (self.mode, self.labels) {
                    (AnswerMode::Choice, Labels::Letters) => out.push_str(&format!(
                        "Answer with the letter of the option you choose ({list}) and nothing else."
                    )),
                    (AnswerMode::Choice, Labels::Actions) => out.push_str(&format!(
                        "Answer with the option you choose ({list}) and nothing else."
                    )),
                    (AnswerMode::Reasoning, _) => out.push_str(&format!(
                        "Think it through, then end with a line of the form \"Final answer: X\", \
                         where X is the option you choose ({list})."
                    )),
                }
            }
        }
        out
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
fn letter(position: usize) -> String {
    let mut n = position;
    let mut out = Vec::new();
    loop {
        out.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
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
    if mode == AnswerMode::Choice {
        let (answer, rule) = parse_with_rule(answer, options);
        return Reading {
            answer,
            rule,
            reasoning: None,
        };
    }
    let (reasoning, body) = split_thinking(answer);
    let body = body.trim();
    let lower = body.to_lowercase();
    // Markers of a final answer, the last one in the text deciding.
    const MARKERS: [(&str, &str); 8] = [
        ("final answer", "final answer"),
        ("final choice", "final answer"),
        ("my answer is", "answer"),
        ("the answer is", "answer"),
        ("answer:", "answer"),
        ("answer is", "answer"),
        ("i choose", "i choose"),
        ("i would choose", "i choose"),
    ];
    // The last marker found; a marker inside a longer one ("answer:" in "final answer:")
    // counts as the longer one.
    let found: Vec<(usize, usize, &'static str)> = MARKERS
        .iter()
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
        if let (Answer::Option(i), _) = parse_with_rule(first_line, options) {
            return Reading {
                answer: Answer::Option(i),
                rule: Some(rule),
                reasoning,
            };
        }
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
        && let (Answer::Option(i), Some(rule)) = parse_with_rule(last, options)
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
    let (answer, rule) = if declines(&lower) {
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
    let stripped = strip_prefixes(&lower);
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
            && rest.is_some_and(|r| r.is_empty() || !r.starts_with(|c: char| c.is_alphanumeric()))
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
    if declines(&lower) || declines(&text.to_lowercase()) {
        return (Answer::Refused, Some("refusal"));
    }
    (Answer::Unparsed, None)
}

/// Whether a (lower-cased) answer declines to choose.
fn declines(lower: &str) -> bool {
    const DECLINING: [&str; 8] = [
        "i cannot",
        "i can't",
        "i can not",
        "i won't",
        "i will not",
        "i'm not able",
        "i am not able",
        "as an ai",
    ];
    DECLINING.iter().any(|d| lower.contains(d))
}

/// Drops leading "answer:", "option", "choice", "i choose" and punctuation.
fn strip_prefixes(lower: &str) -> &str {
    let mut s = lower.trim_start_matches(|c: char| !c.is_alphanumeric());
    for prefix in [
        "final answer",
        "answer",
        "the answer is",
        "i choose",
        "i would choose",
        "my choice is",
        "option",
        "choice",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest.trim_start_matches(|c: char| !c.is_alphanumeric());
        }
    }
    s
}

fn contains_word(hay: &str, word: &str) -> bool {
    hay.match_indices(word).any(|(i, _)| {
        let before = hay[..i].chars().next_back();
        let after = hay[i + word.len()..].chars().next();
        !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
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
}
