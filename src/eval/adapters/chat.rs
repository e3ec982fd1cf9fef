//! The chat-completions wire format: the body of a request and the reading of its answer,
//! shared by everything that asks a model through an OpenAI-compatible API — the live
//! [`openai`](super::openai) adapter and the batch files of `export --to openai-batch` and
//! `import openai-batch` — so that a request sent live and one sent in a batch are the same
//! bytes, and an answer is read the same way wherever it came from.
//!
//! The answer is read two ways, both reported in [`Decision::readings`]:
//!
//! - `logprobs`: a forced choice from the `top_logprobs` of the answer's first token (or,
//!   for labels sharing a first word such as `Action 1`/`Action 2`, of the first token after
//!   that shared part). Tokens are trimmed of leading spaces and compared with the labels
//!   without regard to case; the probabilities of tokens naming the same option are added
//!   and renormalised over the options, giving [`Decision::probabilities`] and the most
//!   probable option.
//! - `parse`: [`present::parse`](crate::eval::present::parse) on the answer text.
//!
//! This module sends nothing: it needs no HTTP client, and is there without the `openai`
//! feature.

use serde::Deserialize;
use std::borrow::Cow;

use super::Mode;
use crate::eval::present;
use crate::eval::{AdapterError, Answer, Choice, Decision, Request};
use crate::model::AnswerMode;

/// The longest reasoning answer asked for unless told otherwise, in tokens.
pub const DEFAULT_REASONING_TOKENS: u32 = super::openai_reasoning_tokens();

/// How much of a body an error quotes.
const EXCERPT: usize = 500;

/// What a chat-completions request asks for, and how its answer is read: everything of the
/// `openai` adapter that changes the bytes sent or the decision read, and nothing about how
/// the request travels.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatSettings {
    /// The model's name.
    pub model: String,
    /// Sampling temperature.
    pub temperature: f64,
    /// The longest answer, in tokens, when the answer is a choice.
    pub max_tokens: u32,
    /// The longest answer, in tokens, when the model reasons before it answers (or answers
    /// in its own words).
    pub reasoning_tokens: u32,
    /// The sampling seed, for servers that take one; each epoch adds its number.
    pub seed: Option<u64>,
    /// Which readings to make.
    pub mode: Mode,
}

impl ChatSettings {
    /// Settings for `model` with the defaults: temperature 0, 16 tokens, no seed, both
    /// readings.
    pub fn new(model: impl Into<String>) -> ChatSettings {
        ChatSettings {
            model: model.into(),
            temperature: 0.0,
            max_tokens: 16,
            reasoning_tokens: DEFAULT_REASONING_TOKENS,
            seed: None,
            mode: Mode::Both,
        }
    }

    /// The JSON body of the request for `request`: `model`, `messages` (the system prompt,
    /// if any, then the user prompt), `temperature`, `max_tokens`, `seed` (plus the epoch)
    /// and, for a choice read by its log-probabilities, `logprobs` and `top_logprobs`.
    pub fn body(&self, request: &Request<'_>) -> Vec<u8> {
        #[derive(serde::Serialize)]
        struct Message<'a> {
            role: &'a str,
            content: &'a str,
        }
        #[derive(serde::Serialize)]
        struct Body<'a> {
            model: &'a str,
            messages: smallvec::SmallVec<[Message<'a>; 2]>,
            temperature: f64,
            max_tokens: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            seed: Option<u64>,
            #[serde(skip_serializing_if = "Option::is_none")]
            logprobs: Option<bool>,
            #[serde(skip_serializing_if = "Option::is_none")]
            top_logprobs: Option<u32>,
        }
        let mut messages = smallvec::SmallVec::new();
        if let Some(system) = request.system {
            messages.push(Message {
                role: "system",
                content: system,
            });
        }
        messages.push(Message {
            role: "user",
            content: request.prompt,
        });
        let choice = request.mode == AnswerMode::Choice;
        // The first token's alternatives say something only of an answer that is a label.
        let logprobs = choice && self.mode != Mode::Parse;
        let body = Body {
            model: &self.model,
            messages,
            temperature: self.temperature,
            max_tokens: if choice {
                self.max_tokens
            } else {
                self.reasoning_tokens
            },
            // Each epoch is its own draw: its own sampling seed.
            seed: self
                .seed
                .map(|seed| seed.wrapping_add(u64::from(request.epoch))),
            logprobs: logprobs.then_some(true),
            top_logprobs: logprobs.then_some(20),
        };
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The fingerprint of an adapter asking with these settings at `base_url` (its secrets
    /// hidden): `openai/BASE-URL/MODEL/temperature=T/max_tokens=N/seed=N/mode=MODE`.
    pub fn fingerprint(&self, base_url: &str) -> String {
        format!(
            "openai/{}/{}/temperature={}/max_tokens={}/seed={}/mode={}",
            redact_url(base_url.trim_end_matches('/')),
            self.model,
            self.temperature,
            self.max_tokens,
            self.seed
                .map_or_else(|| "none".to_string(), |s| s.to_string()),
            self.mode
        ) + &if self.reasoning_tokens == DEFAULT_REASONING_TOKENS {
            String::new()
        } else {
            format!("/reasoning_tokens={}", self.reasoning_tokens)
        }
    }

    /// The parameters recorded for these settings at `base_url`: what changes the answers.
    pub fn parameters(&self, base_url: &str) -> serde_json::Value {
        let mut parameters = serde_json::json!({
            "base_url": redact_url(base_url.trim_end_matches('/')),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "seed": self.seed,
            "mode": self.mode.name(),
        });
        if self.reasoning_tokens != DEFAULT_REASONING_TOKENS {
            parameters["reasoning_tokens"] = self.reasoning_tokens.into();
        }
        parameters
    }

    /// Reads a chat completion's body (`bytes`) as the answer to `request`, the `attempts`-th
    /// asking: both readings, the choice, the tokens used. A body that is not a chat
    /// completion, or has no choices, is an error quoting it; `secrets` are hidden in
    /// whatever the decision or the error quotes.
    pub fn read(
        &self,
        bytes: &[u8],
        request: &Request<'_>,
        attempts: u32,
        secrets: &Secrets,
    ) -> Result<Decision, AdapterError> {
        // Checked whole first: `from_utf8` checks many bytes at a time, where the lossy
        // reading goes a piece at a time (2.4% of a run against a local stub).
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => std::borrow::Cow::Borrowed(text),
            Err(_) => String::from_utf8_lossy(bytes),
        };
        let response: Completion = serde_json::from_str(&text).map_err(|e| {
            secrets.error(
                format!("the server's answer is not a chat completion: {e}"),
                attempts,
                Some(secrets.excerpt(&text)),
            )
        })?;
        let Some(choice) = response.choices.into_iter().next() else {
            return Err(secrets.error(
                "the server's answer has no choices".into(),
                attempts,
                Some(secrets.excerpt(&text)),
            ));
        };
        let message = choice.message.unwrap_or_default();
        let content = message.content.unwrap_or_default().into_owned();
        let mut decision = Decision {
            prompt_tokens: response.usage.as_ref().and_then(|u| u.prompt_tokens),
            completion_tokens: response.usage.as_ref().and_then(|u| u.completion_tokens),
            attempts,
            ..Decision::default()
        };
        // A model that declines through the API's own refusal field.
        if content.is_empty()
            && let Some(refusal) = message.refusal.filter(|r| !r.is_empty())
        {
            decision.answer = Some(Answer::Refused);
            decision.readings.push(("parse".into(), Answer::Refused));
            decision.raw = Some(secrets.scrub(refusal.into_owned()));
            return Ok(decision);
        }
        let reasoning = message
            .reasoning_content
            .filter(|r| !r.trim().is_empty())
            .map(|r| secrets.scrub(r.into_owned()));
        if request.mode != AnswerMode::Choice {
            let mut reading =
                present::read_in(&content, request.options, request.mode, request.lang);
            // An answer cut off at the token limit has not given its final answer: only an
            // explicit one ("Final answer: B") is read from it, not its last line or the
            // like.
            if request.mode == AnswerMode::Reasoning
                && choice.finish_reason.as_deref() == Some("length")
                && !matches!(reading.rule, Some("final answer" | "answer" | "i choose"))
            {
                reading.answer = Answer::Unparsed;
                reading.rule = None;
            }
            if request.mode == AnswerMode::Reasoning {
                decision
                    .readings
                    .push(("parse".into(), reading.answer.clone()));
            }
            decision.answer = Some(reading.answer);
            decision.rule = reading.rule.map(str::to_string);
            decision.reasoning = reasoning.or(reading.reasoning.map(|r| secrets.scrub(r)));
            decision.raw = Some(secrets.scrub(content));
            return Ok(decision);
        }
        let (parsed, rule) = present::parse_in(&content, request.options, request.lang);
        let forced = match self.mode {
            Mode::Parse => None,
            Mode::Logprobs | Mode::Both => choice
                .logprobs
                .as_ref()
                .and_then(|l| forced_choice(&l.content, request.options)),
        };
        if self.mode != Mode::Parse {
            let reading = forced
                .as_ref()
                .map_or(Answer::Unparsed, |f| Answer::Option(f.best));
            decision.readings.push(("logprobs".into(), reading));
        }
        if self.mode != Mode::Logprobs {
            decision.readings.push(("parse".into(), parsed.clone()));
        }
        decision.label_mass = forced.as_ref().map(|f| f.mass);
        match forced {
            // Where the model answered with a label, that label is its choice: the most
            // probable one at temperature 0, a draw from the probabilities above it (so a
            // sampled answer is recorded as sampled, not as the most probable). Where it
            // began otherwise ("The answer is B", "I'm a helpful AI…") its text decides, and
            // the answer is unparsed when the text names no option; the probabilities over
            // the labels are kept either way.
            Some(Forced {
                generated: Some(generated),
                probabilities,
                ..
            }) => {
                decision.answer = Some(Answer::Option(generated));
                decision.probabilities = Some(probabilities);
                decision.rule = Some("logprobs".to_string());
            }
            Some(f) => {
                decision.answer = Some(parsed);
                decision.probabilities = Some(f.probabilities);
                decision.rule = rule.map(str::to_string);
            }
            None => {
                decision.answer = Some(parsed);
                decision.rule = rule.map(str::to_string);
            }
        }
        decision.reasoning = reasoning;
        decision.raw = Some(secrets.scrub(content));
        Ok(decision)
    }
}

/// What must never be shown (an API key, the secrets a URL may carry), hidden as `***` in
/// whatever a decision or an error quotes.
#[derive(Clone, Debug, Default)]
pub struct Secrets(Vec<String>);

impl Secrets {
    /// These secrets.
    pub fn new(secrets: Vec<String>) -> Secrets {
        Secrets(secrets)
    }

    /// `text` with every secret replaced by `***`.
    pub fn scrub(&self, text: String) -> String {
        self.0
            .iter()
            .fold(text, |text, secret| super::scrub(&text, secret))
    }

    /// The start of a body, for an error message: the secrets hidden before the body is cut,
    /// so no part of one survives the cut.
    pub fn excerpt(&self, text: &str) -> String {
        self.scrub(excerpt(&self.scrub(text.to_string())))
    }

    /// An error with `message` and `raw`, the secrets hidden.
    pub fn error(&self, message: String, attempts: u32, raw: Option<String>) -> AdapterError {
        AdapterError {
            message: self.scrub(message),
            attempts,
            raw: raw.map(|r| self.scrub(r)),
        }
    }
}

/// `choices[0].logprobs.content[…]`: a generated token and its alternatives. Texts are
/// borrowed from the answer's body where they have no escapes.
#[derive(Deserialize, Default)]
struct TokenLogprobs<'a> {
    #[serde(default, borrow)]
    token: Cow<'a, str>,
    #[serde(default, borrow)]
    top_logprobs: Vec<TopLogprob<'a>>,
}

#[derive(Deserialize)]
struct TopLogprob<'a> {
    #[serde(default, borrow)]
    token: Cow<'a, str>,
    #[serde(default)]
    logprob: Option<f64>,
}

#[derive(Deserialize)]
struct Completion<'a> {
    #[serde(default, borrow)]
    choices: Vec<CompletionChoice<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct CompletionChoice<'a> {
    #[serde(default, borrow)]
    message: Option<Message<'a>>,
    #[serde(default, borrow)]
    logprobs: Option<Logprobs<'a>>,
    /// `length` when the answer was cut off at the token limit.
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize, Default)]
struct Message<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    refusal: Option<Cow<'a, str>>,
    /// The reasoning some servers return apart from the answer (vLLM, DeepSeek:
    /// `reasoning_content`; others: `reasoning`).
    #[serde(default, alias = "reasoning", borrow)]
    reasoning_content: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Logprobs<'a> {
    #[serde(default, borrow)]
    content: Vec<TokenLogprobs<'a>>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// Lower case without white space: `Action 2`, ` action2` and `ACTION 2` are all `action2`.
fn compact(text: &str) -> String {
    let mut out = String::new();
    compact_onto(&mut out, text);
    out
}

/// [`compact`] of `text`, added to `out`.
fn compact_onto(out: &mut String, text: &str) {
    out.extend(
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '\u{2581}')
            .flat_map(char::to_lowercase),
    );
}

/// The option a candidate answer names: the label it equals, or else the one label it
/// begins, if it goes past the labels' shared beginning.
fn label_of(candidate: &str, labels: &[String], shared: &str) -> Option<usize> {
    if candidate.len() <= shared.len() {
        return None;
    }
    if let Some(i) = labels.iter().position(|l| l == candidate) {
        return Some(i);
    }
    let mut starting = labels
        .iter()
        .enumerate()
        .filter(|(_, l)| l.starts_with(candidate));
    match (starting.next(), starting.next()) {
        (Some((i, _)), None) => Some(i),
        _ => None,
    }
}

/// The forced-choice reading of an answer's token logprobs: the option chosen and the
/// probabilities of all options, or `None` when no top token names an option.
///
/// The reading is taken at the first token where the answer so far equals the labels'
/// shared beginning: the first token for `A`/`B`, the token after `Action` for
/// `Action 1`/`Action 2`. Tokens are compared without white space or case.
/// A choice read from the log-probabilities of the token where a label would stand.
#[derive(Debug, PartialEq)]
struct Forced {
    /// The most probable label's option.
    best: usize,
    /// The probability of each option, renormalised over the labels.
    probabilities: Vec<f64>,
    /// The option whose label is the token generated there, if it is one.
    generated: Option<usize>,
    /// The probability the labels had there together (of what the top log-probabilities
    /// show).
    mass: f64,
}

fn forced_choice(content: &[TokenLogprobs], options: &[Choice]) -> Option<Forced> {
    let shared = compact(&shared_prefix(options));
    let labels: Vec<String> = options.iter().map(|o| compact(&o.label)).collect();
    let mut so_far = String::new();
    // What the answer would be with a top token: written over for each (one buffer for
    // all, where building each anew took two allocations a token).
    let mut candidate = String::new();
    let with = |candidate: &mut String, so_far: &str, token: &str| {
        candidate.clear();
        candidate.push_str(so_far);
        compact_onto(candidate, token);
    };
    for position in content {
        if so_far == shared {
            let mut mass = vec![0.0; options.len()];
            for top in &position.top_logprobs {
                let Some(logprob) = top.logprob.filter(|l| l.is_finite()) else {
                    continue;
                };
                with(&mut candidate, &so_far, &top.token);
                if let Some(i) = label_of(&candidate, &labels, &shared) {
                    mass[i] += logprob.exp();
                }
            }
            let total: f64 = mass.iter().sum();
            if total > 0.0 && total.is_finite() {
                let probabilities: Vec<f64> = mass.iter().map(|m| m / total).collect();
                // The most probable; the first shown among equals.
                let mut best = 0;
                for (i, p) in probabilities.iter().enumerate() {
                    if *p > probabilities[best] {
                        best = i;
                    }
                }
                with(&mut candidate, &so_far, &position.token);
                return Some(Forced {
                    best,
                    probabilities,
                    generated: label_of(&candidate, &labels, &shared),
                    mass: total.min(1.0),
                });
            }
        }
        compact_onto(&mut so_far, &position.token);
        // Past the shared beginning without naming an option: nothing to read.
        if !shared.starts_with(so_far.as_str()) {
            return None;
        }
    }
    None
}

/// The beginning the labels share, cut back to the end of a word (`Action ` for
/// `Action 1`/`Action 2`, `Item ` for `Item 1`/`Item 12`; nothing for `A`/`B`).
fn shared_prefix(options: &[Choice]) -> String {
    let labels: Vec<Vec<char>> = options
        .iter()
        .map(|o| o.label.to_lowercase().chars().collect())
        .collect();
    let Some((first, rest)) = labels.split_first() else {
        return String::new();
    };
    if rest.is_empty() {
        return String::new();
    }
    let mut end = first.len();
    for l in rest {
        end = end.min(first.iter().zip(l).take_while(|(a, b)| a == b).count());
    }
    match first[..end].iter().rposition(|c| c.is_whitespace()) {
        Some(space) => first[..=space].iter().collect(),
        None => String::new(),
    }
}

/// What a URL may carry that is secret: the password of `user:password@`, and the values
/// of query parameters.
pub fn url_secrets(url: &str) -> Vec<String> {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let (base, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    let host = &rest[..rest.find('/').unwrap_or(rest.len())];
    let password = host
        .rfind('@')
        .map(|at| &host[..at])
        .map(|user| user.split_once(':').map_or(user, |(_, p)| p));
    query
        .split('&')
        .map(|pair| pair.split_once('=').map_or(pair, |(_, v)| v))
        .chain(password)
        .chain(url.split_once('#').map(|(_, f)| f))
        .filter(|v| v.len() >= 4)
        .map(str::to_string)
        .collect()
}

/// A URL with what may be a secret hidden: `user:password@` becomes `***@`, the value of
/// every query parameter `***` (`?key=***`), and a fragment `#***`.
pub fn redact_url(url: &str) -> String {
    let (url, fragment) = match url.split_once('#') {
        Some((u, _)) => (u, "#***"),
        None => (url, ""),
    };
    let (url, query) = match url.split_once('?') {
        Some((u, q)) => (u, Some(q)),
        None => (url, None),
    };
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let host_end = rest.find('/').unwrap_or(rest.len());
    let mut out = match rest[..host_end].rfind('@') {
        Some(at) if !scheme.is_empty() => format!("{scheme}://***@{}", &rest[at + 1..]),
        _ => url.to_string(),
    };
    if let Some(query) = query {
        out.push('?');
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) => format!("{k}=***"),
                None if pair.is_empty() => String::new(),
                None => "***".to_string(),
            })
            .collect();
        out.push_str(&pairs.join("&"));
    }
    out.push_str(fragment);
    out
}

/// The start of a body, for an error message.
fn excerpt(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(EXCERPT) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

/// What an HTTP status means, for an error message: ` (bad request)`, ….
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => " (bad request)",
        401 => " (unauthorized: check the API key)",
        403 => " (forbidden)",
        404 => " (not found: check --base-url and --model)",
        408 => " (request timeout)",
        429 => " (too many requests)",
        500 => " (internal server error)",
        502 => " (bad gateway)",
        503 => " (service unavailable)",
        504 => " (gateway timeout)",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(labels: &[&str]) -> Vec<Choice> {
        labels
            .iter()
            .enumerate()
            .map(|(i, l)| Choice {
                label: l.to_string(),
                action: format!("a{i}"),
                text: format!("option {i}"),
                upholds: vec![],
                violates: vec![],
                ..Default::default()
            })
            .collect()
    }

    fn position(token: &str, top: &[(&str, f64)]) -> TokenLogprobs<'static> {
        TokenLogprobs {
            token: token.to_string().into(),
            top_logprobs: top
                .iter()
                .map(|(t, p)| TopLogprob {
                    token: t.to_string().into(),
                    logprob: Some(p.ln()),
                })
                .collect(),
        }
    }

    #[test]
    fn letters_sum_spaced_and_cased_tokens() {
        let o = options(&["A", "B"]);
        let content = [position(
            " B",
            &[
                (" B", 0.5),
                ("B", 0.1),
                (" b", 0.1),
                (" A", 0.2),
                (" The", 0.1),
            ],
        )];
        let Forced {
            best: choice,
            probabilities: p,
            mass,
            ..
        } = forced_choice(&content, &o).unwrap();
        assert_eq!(choice, 1);
        assert!((p[1] - 0.7 / 0.9).abs() < 1e-12, "{p:?}");
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // " The" took 0.1 of the first token's probability: the labels had 0.9.
        assert!((mass - 0.9).abs() < 1e-12, "{mass}");
    }

    #[test]
    fn no_label_among_the_top_tokens_is_no_reading() {
        let o = options(&["A", "B"]);
        let content = [position("I", &[("I", 0.6), (" cannot", 0.3)])];
        assert_eq!(forced_choice(&content, &o), None);
        assert_eq!(forced_choice(&[], &o), None);
    }

    #[test]
    fn an_answer_that_begins_otherwise_is_no_label_generated() {
        // SmolLM2's "I'm a helpful AI…", with " A" among the alternatives of its first token.
        let o = options(&["A", "B"]);
        let content = [position("I", &[("I", 0.5), (" A", 0.3), (" B", 0.1)])];
        let f = forced_choice(&content, &o).expect("the labels have mass");
        assert_eq!(f.best, 0);
        assert_eq!(f.generated, None);
        assert!((f.mass - 0.4).abs() < 1e-12, "{}", f.mass);
        let content = [position(" B", &[(" B", 0.6), (" A", 0.3)])];
        assert_eq!(
            forced_choice(&content, &o).expect("a reading").generated,
            Some(1)
        );
        // Sampled at a temperature: the label drawn is not the most probable one.
        let content = [position(" A", &[(" B", 0.6), (" A", 0.3)])];
        let f = forced_choice(&content, &o).expect("a reading");
        assert_eq!((f.best, f.generated), (1, Some(0)));
    }

    #[test]
    fn action_labels_read_the_token_after_the_shared_word() {
        let o = options(&["Action 1", "Action 2"]);
        let content = [
            position("Action", &[("Action", 0.9), ("I", 0.1)]),
            position(" 2", &[(" 2", 0.6), (" 1", 0.3), ("2", 0.05)]),
        ];
        let Forced {
            best: choice,
            probabilities: p,
            ..
        } = forced_choice(&content, &o).unwrap();
        assert_eq!(choice, 1);
        assert!((p[1] - 0.65 / 0.95).abs() < 1e-12, "{p:?}");
        // Split as "Action", " ", "1".
        let content = [
            position("Action", &[("Action", 0.9)]),
            position(" ", &[(" ", 0.9)]),
            position("1", &[("1", 0.8), ("2", 0.2)]),
        ];
        assert_eq!(forced_choice(&content, &o).unwrap().best, 0);
        // An answer that does not start with the shared word.
        let content = [position("You", &[("You", 0.9), ("Action", 0.1)])];
        assert_eq!(forced_choice(&content, &o), None);
    }

    #[test]
    fn shared_prefixes_end_at_a_word() {
        assert_eq!(shared_prefix(&options(&["A", "B"])), "");
        assert_eq!(
            shared_prefix(&options(&["Action 1", "Action 2"])),
            "action "
        );
        assert_eq!(shared_prefix(&options(&["Item 1", "Item 12"])), "item ");
        assert_eq!(shared_prefix(&options(&["A", "AA", "AB"])), "");
        assert_eq!(shared_prefix(&options(&["Only"])), "");
    }

    #[test]
    fn labels_past_z_prefer_the_exact_label() {
        let o = options(&["A", "B", "AA"]);
        let content = [position("A", &[("A", 0.5), ("AA", 0.3), ("B", 0.2)])];
        let Forced {
            best: choice,
            probabilities: p,
            ..
        } = forced_choice(&content, &o).unwrap();
        assert_eq!(choice, 0);
        assert!((p[2] - 0.3).abs() < 1e-12);
    }

    #[test]
    fn bodies_carry_the_settings_in_a_fixed_order() {
        let o = options(&["A", "B"]);
        let mut request = Request::new("s1", "Which?", &o);
        request.system = Some("Be brief.");
        let mut chat = ChatSettings::new("m");
        chat.seed = Some(7);
        assert_eq!(
            String::from_utf8(chat.body(&request)).unwrap(),
            r#"{"model":"m","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Which?"}],"temperature":0.0,"max_tokens":16,"seed":7,"logprobs":true,"top_logprobs":20}"#
        );
        // Each epoch its own seed; no logprobs when the text alone is read, nor when the
        // model reasons first, which gets its own token limit.
        request.epoch = 2;
        chat.mode = Mode::Parse;
        chat.seed = None;
        request.system = None;
        assert_eq!(
            String::from_utf8(chat.body(&request)).unwrap(),
            r#"{"model":"m","messages":[{"role":"user","content":"Which?"}],"temperature":0.0,"max_tokens":16}"#
        );
        chat.mode = Mode::Both;
        chat.seed = Some(7);
        request.mode = AnswerMode::Reasoning;
        let body: serde_json::Value = serde_json::from_slice(&chat.body(&request)).unwrap();
        assert_eq!(body["seed"], 9);
        assert_eq!(body["max_tokens"], DEFAULT_REASONING_TOKENS);
        assert!(body.get("logprobs").is_none(), "{body}");
    }

    #[test]
    fn fingerprints_name_what_changes_answers_and_hide_secrets() {
        let mut chat = ChatSettings::new("smollm2");
        chat.seed = Some(0);
        assert_eq!(
            chat.fingerprint("http://127.0.0.1:8080/v1/"),
            "openai/http://127.0.0.1:8080/v1/smollm2/temperature=0/max_tokens=16/seed=0/mode=both"
        );
        chat.reasoning_tokens = 96;
        chat.seed = None;
        assert_eq!(
            chat.fingerprint("https://u:p@host/v1?key=sk-1234"),
            "openai/https://***@host/v1?key=***/smollm2/temperature=0/max_tokens=16/seed=none/mode=both/reasoning_tokens=96"
        );
        let p = chat.parameters("https://u:p@host/v1");
        assert_eq!(p["base_url"], "https://***@host/v1");
        assert_eq!(p["reasoning_tokens"], 96);
    }

    #[test]
    fn a_read_answer_has_both_readings_and_hides_secrets() {
        let o = options(&["A", "B"]);
        let request = Request::new("s1", "Which?", &o);
        let chat = ChatSettings::new("m");
        let secrets = Secrets::new(vec!["sk-very-secret-key".into()]);
        let body = br#"{"choices":[{"message":{"content":"B, says sk-very-secret-key"},"logprobs":{"content":[{"token":"B","top_logprobs":[{"token":"B","logprob":-0.1},{"token":"A","logprob":-2.5}]}]}}],"usage":{"prompt_tokens":5,"completion_tokens":2}}"#;
        let d = chat.read(body, &request, 3, &secrets).unwrap();
        assert_eq!(d.answer, Some(Answer::Option(1)));
        assert_eq!(
            d.readings,
            vec![
                ("logprobs".to_string(), Answer::Option(1)),
                ("parse".to_string(), Answer::Option(1))
            ]
        );
        assert_eq!(d.rule.as_deref(), Some("logprobs"));
        assert_eq!(d.raw.as_deref(), Some("B, says ***"));
        assert_eq!(
            (d.prompt_tokens, d.completion_tokens, d.attempts),
            (Some(5), Some(2), 3)
        );
        let e = chat
            .read(b"{\"echo\":\"sk-very-secret-key\"", &request, 1, &secrets)
            .unwrap_err();
        assert!(
            e.message
                .starts_with("the server's answer is not a chat completion"),
            "{e:?}"
        );
        assert!(!e.raw.unwrap_or_default().contains("sk-very"));
    }

    #[test]
    fn an_answer_with_bytes_that_are_not_utf8_reads_them_as_replacement_characters() {
        let o = options(&["A", "B"]);
        let request = Request::new("s1", "Which?", &o);
        let chat = ChatSettings::new("m");
        let body = b"{\"choices\":[{\"message\":{\"content\":\"B \xff\xfe\"}}]}";
        let d = chat.read(body, &request, 1, &Secrets::default()).unwrap();
        assert_eq!(d.answer, Some(Answer::Option(1)));
        assert_eq!(d.raw.as_deref(), Some("B \u{fffd}\u{fffd}"));
    }

    #[test]
    fn texts_with_escapes_read_as_those_without() {
        // The answer's texts are borrowed from its body where they can be, and decoded where
        // they carry escapes: both read alike.
        let o = options(&["Action 1", "Action 2"]);
        let request = Request::new("s1", "Which?", &o);
        let chat = ChatSettings::new("m");
        let secrets = Secrets::default();
        let plain = br#"{"choices":[{"message":{"content":"Action 2","reasoning_content":"Care first."},"finish_reason":"stop","logprobs":{"content":[{"token":"Action","top_logprobs":[{"token":"Action","logprob":-0.1}]},{"token":" 2","top_logprobs":[{"token":" 2","logprob":-0.2},{"token":" 1","logprob":-1.9}]}]}}]}"#;
        let escaped = br#"{"choices":[{"message":{"content":"Action\u0020\u0032","reasoning_content":"Care\nfirst."},"finish_reason":"st\u006fp","logprobs":{"content":[{"token":"\u0041ction","top_logprobs":[{"token":"Acti\u006fn","logprob":-0.1}]},{"token":"\u00202","top_logprobs":[{"token":" \u0032","logprob":-0.2},{"token":"\u0020\u0031","logprob":-1.9}]}]}}]}"#;
        let a = chat.read(plain, &request, 1, &secrets).unwrap();
        let b = chat.read(escaped, &request, 1, &secrets).unwrap();
        assert_eq!(a.answer, Some(Answer::Option(1)));
        assert_eq!(a.rule.as_deref(), Some("logprobs"));
        assert_eq!(
            (&a.answer, &a.readings, &a.probabilities, &a.rule),
            (&b.answer, &b.readings, &b.probabilities, &b.rule)
        );
        assert_eq!(a.raw.as_deref(), Some("Action 2"));
        assert_eq!(b.raw.as_deref(), Some("Action 2"));
        assert_eq!(b.reasoning.as_deref(), Some("Care\nfirst."));
    }
}
