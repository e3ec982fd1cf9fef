//! `replay`: answers taken from a file instead of a model.
//!
//! The file is one of:
//!
//! - a results file written by `eval`: its answers are replayed as recorded (the choice,
//!   probabilities, other readings, raw answer, tokens and attempts; a recorded `error` fails
//!   again with its message), so replaying a run reproduces its results, latency aside;
//! - JSON Lines, one `{"scenario": "s…", "choice": "action_id"}` a line, with an optional
//!   `"steer"`;
//! - CSV with a header row naming the columns `scenario` and `choice`, and optionally
//!   `steer`.
//!
//! A choice is an action id, a label as shown in the prompt (`B`, `Action 2`), a position
//! among the options as shown (a number from 0), or `unparsed` / `refused` / `error`. A line
//! with a steer answers only that steer. In a mapping file (not a results file) a line without
//! a steer also answers every steer the file has no line for. When a scenario (and steer) has
//! several lines, the last counts, as in a resumed results file. A scenario with no line fails
//! with "no recorded answer for scenario …".

use std::collections::HashMap;
use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{Adapter, AdapterError, Answer, Choice, Decision, Request, Tokens};
use crate::formats::Input;
use crate::formats::results::ResultsFile;

/// Answers from a recorded file (see the module documentation).
#[derive(Clone, Debug)]
pub struct Replay {
    /// The file's name, for fingerprints and messages.
    name: String,
    /// A hash of its content: replaying another file is another adapter.
    hash: u64,
    /// The model of a replayed results file.
    model: Option<String>,
    /// The adapter that recorded a replayed results file.
    recorded_by: Option<String>,
    /// Whether a line without a steer answers every steer.
    any_steer: bool,
    /// By (scenario, steer, epoch).
    answers: HashMap<(String, Option<String>, u32), Recorded>,
}

/// One recorded answer.
#[derive(Clone, Debug)]
struct Recorded {
    choice: Pick,
    probabilities: Option<IndexMap<String, f64>>,
    readings: IndexMap<String, String>,
    raw: Option<String>,
    tokens: Tokens,
    attempts: u32,
    rule: Option<String>,
    reasoning: Option<String>,
    label_mass: Option<f64>,
    scores: Option<IndexMap<String, crate::eval::Score>>,
}

/// A recorded choice.
#[derive(Clone, Debug)]
enum Pick {
    Name(String),
    Position(usize),
}

impl Replay {
    /// Reads the answers in the file at `path`.
    pub fn from_path(path: &Path) -> Result<Replay, Diagnostic> {
        let text = crate::input::read(path, crate::input::MAX_DATA).map_err(|why| {
            Diagnostic::new(
                Code::Io,
                format!("cannot read the answers `{}`: {why}", path.display()),
            )
            .path(path.display().to_string())
            .help("give a results file, or a JSON Lines or CSV file of scenario ids and choices")
        })?;
        let text = String::from_utf8_lossy(&text);
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |n| n.to_string_lossy().into(),
        );
        Replay::from_text(&name, &text).map_err(|d| d.path(path.display().to_string()))
    }

    /// Reads answers from `text`, a file's content; `name` names it in messages.
    pub fn from_text(name: &str, text: &str) -> Result<Replay, Diagnostic> {
        let mut replay = Replay {
            name: name.to_string(),
            hash: xxhash_rust::xxh3::xxh3_64(text.as_bytes()),
            model: None,
            recorded_by: None,
            any_steer: true,
            answers: HashMap::new(),
        };
        let first = text.lines().find(|l| !l.trim().is_empty());
        let is_results = first.is_some_and(|l| {
            serde_json::from_str::<Value>(l)
                .is_ok_and(|h| h.get("format").and_then(Value::as_str) == Some("results"))
        });
        match first {
            None => return Err(replay.error("it is empty".into())),
            Some(_) if is_results => replay.read_results(text)?,
            Some(l) if l.trim_start().starts_with('{') => replay.read_json_lines(text)?,
            Some(_) => replay.read_csv(text)?,
        }
        Ok(replay)
    }

    /// A results journal, read through its format's one reader: each answer as recorded,
    /// under the steer it was given.
    fn read_results(&mut self, text: &str) -> Result<(), Diagnostic> {
        let file = ResultsFile::open(Input::Bytes(&self.name, text.as_bytes()))?;
        self.any_steer = false;
        self.model = file
            .header
            .get("model")
            .and_then(Value::as_str)
            .map(Into::into);
        self.recorded_by = file
            .header
            .get("adapter")
            .and_then(Value::as_str)
            .map(Into::into);
        let mut answers = std::mem::take(&mut self.answers);
        file.each(|r| {
            answers.insert(
                (r.scenario, r.steer, r.epoch),
                Recorded {
                    choice: Pick::Name(r.choice),
                    probabilities: r.probabilities,
                    readings: r.readings,
                    raw: r.raw,
                    tokens: r.tokens,
                    attempts: r.attempts.max(1),
                    rule: r.rule,
                    reasoning: r.reasoning,
                    label_mass: r.label_mass,
                    scores: r.scores,
                },
            );
            Ok(())
        })?;
        self.answers = answers;
        Ok(())
    }

    /// How many (scenario, steer) pairs have an answer.
    pub fn len(&self) -> usize {
        self.answers.len()
    }

    /// Whether the file holds no answer.
    pub fn is_empty(&self) -> bool {
        self.answers.is_empty()
    }

    /// The adapter that recorded a replayed results file.
    pub fn recorded_by(&self) -> Option<&str> {
        self.recorded_by.as_deref()
    }

    fn error(&self, why: String) -> Diagnostic {
        Diagnostic::new(
            Code::Io,
            format!("cannot replay the answers in `{}`: {why}", self.name),
        )
        .help("give a results file, or a JSON Lines or CSV file of scenario ids and choices")
    }

    fn read_json_lines(&mut self, text: &str) -> Result<(), Diagnostic> {
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        let count = lines.len();
        for (i, &(n, line)) in lines.iter().enumerate() {
            let value: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                // A torn last line of a killed run.
                Err(_) if i + 1 == count && i > 0 => break,
                Err(e) => {
                    return Err(self.error(format!("line {} is not JSON: {e}", n + 1)));
                }
            };
            if let Some(format) = value.get("format").and_then(Value::as_str) {
                return Err(self.error(if format == "suite" {
                    "it is a suite, not answers".into()
                } else {
                    format!("line {} is a `{format}` header", n + 1)
                }));
            }
            let scenario = value.get("scenario").and_then(Value::as_str);
            let choice = match value.get("choice") {
                Some(Value::String(s)) => Some(Pick::Name(s.clone())),
                Some(Value::Number(p)) => p.as_u64().map(|p| Pick::Position(p as usize)),
                _ => None,
            };
            let (Some(scenario), Some(choice)) = (scenario, choice) else {
                return Err(self.error(format!("line {} has no `scenario` and `choice`", n + 1)));
            };
            let steer = value.get("steer").and_then(Value::as_str).map(Into::into);
            let probabilities = value
                .get("probabilities")
                .and_then(|p| serde_json::from_value(p.clone()).ok());
            let readings = value
                .get("readings")
                .and_then(|r| serde_json::from_value(r.clone()).ok())
                .unwrap_or_default();
            let raw = value.get("raw").and_then(Value::as_str).map(Into::into);
            let tokens = value
                .get("tokens")
                .and_then(|t| serde_json::from_value(t.clone()).ok())
                .unwrap_or_default();
            let attempts = value
                .get("attempts")
                .and_then(Value::as_u64)
                .map_or(1, |a| a.clamp(1, u64::from(u32::MAX)) as u32);
            self.answers.insert(
                (scenario.to_string(), steer, 0),
                Recorded {
                    choice,
                    probabilities,
                    readings,
                    raw,
                    tokens,
                    attempts,
                    rule: None,
                    reasoning: None,
                    label_mass: None,
                    scores: None,
                },
            );
        }
        Ok(())
    }

    fn read_csv(&mut self, text: &str) -> Result<(), Diagnostic> {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| self.error(format!("its header row is not CSV: {e}")))?
            .clone();
        let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let (Some(scenario), Some(choice)) = (column("scenario"), column("choice")) else {
            return Err(self.error(
                "it is neither JSON Lines nor CSV with the columns `scenario` and `choice`".into(),
            ));
        };
        let steer = column("steer");
        for (i, row) in reader.records().enumerate() {
            let row = row.map_err(|e| self.error(format!("row {} is not CSV: {e}", i + 2)))?;
            let field = |c: usize| row.get(c).unwrap_or("");
            let id = field(scenario);
            if id.is_empty() {
                continue;
            }
            let pick = field(choice);
            let pick = match pick.parse::<usize>() {
                Ok(p) => Pick::Position(p),
                Err(_) => Pick::Name(pick.to_string()),
            };
            let steer = steer.map(field).filter(|s| !s.is_empty()).map(Into::into);
            self.answers.insert(
                (id.to_string(), steer, 0),
                Recorded {
                    choice: pick,
                    probabilities: None,
                    readings: IndexMap::new(),
                    raw: None,
                    tokens: Tokens::default(),
                    attempts: 1,
                    rule: None,
                    reasoning: None,
                    label_mass: None,
                    scores: None,
                },
            );
        }
        Ok(())
    }
}

/// The option `name` names: an action id, a label, or a failure.
fn resolve(name: &str, options: &[Choice]) -> Option<Result<Answer, ()>> {
    if let Some(i) = options.iter().position(|o| o.action == name) {
        return Some(Ok(Answer::Option(i)));
    }
    if let Some(i) = options.iter().position(|o| o.label == name) {
        return Some(Ok(Answer::Option(i)));
    }
    match name {
        "unparsed" => Some(Ok(Answer::Unparsed)),
        "refused" => Some(Ok(Answer::Refused)),
        "free" => Some(Ok(Answer::Free)),
        "error" => Some(Err(())),
        _ => None,
    }
}

impl Adapter for Replay {
    fn fingerprint(&self) -> String {
        format!("replay/{}/{:016x}", self.name, self.hash)
    }

    fn model(&self) -> Option<String> {
        self.model.clone()
    }

    fn parameters(&self) -> Value {
        serde_json::json!({ "from": self.name, "recorded_by": self.recorded_by })
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        let fail = |message: String| AdapterError {
            message,
            attempts: 1,
            raw: None,
        };
        let key = (
            request.scenario.to_string(),
            request.steer.map(str::to_string),
            request.epoch,
        );
        // An epoch the recording lacks is answered as its first epoch was.
        let recorded = self
            .answers
            .get(&key)
            .or_else(|| self.answers.get(&(key.0.clone(), key.1.clone(), 0)))
            .or_else(|| {
                (self.any_steer && request.steer.is_some())
                    .then(|| self.answers.get(&(key.0.clone(), None, 0)))
                    .flatten()
            });
        let Some(recorded) = recorded else {
            return Err(fail(match request.steer {
                Some(steer) => format!(
                    "no recorded answer for scenario `{}` under steer `{steer}` in `{}`",
                    request.scenario, self.name
                ),
                None => format!(
                    "no recorded answer for scenario `{}` in `{}`",
                    request.scenario, self.name
                ),
            }));
        };
        let answer = match &recorded.choice {
            Pick::Position(p) if *p < request.options.len() => Answer::Option(*p),
            Pick::Position(p) => {
                return Err(fail(format!(
                    "the recorded choice {p} for scenario `{}` is past its {} options",
                    request.scenario,
                    request.options.len()
                )));
            }
            Pick::Name(name) => {
                match resolve(name, request.options) {
                    Some(Ok(answer)) => answer,
                    Some(Err(())) => {
                        return Err(AdapterError {
                            attempts: recorded.attempts,
                            ..fail(recorded.raw.clone().unwrap_or_else(|| {
                                format!("recorded as an error in `{}`", self.name)
                            }))
                        });
                    }
                    None => {
                        let ids: Vec<&str> =
                            request.options.iter().map(|o| o.action.as_str()).collect();
                        return Err(fail(format!(
                            "the recorded choice `{name}` for scenario `{}` is not one of its options ({})",
                            request.scenario,
                            ids.join(", ")
                        )));
                    }
                }
            }
        };
        let probabilities = recorded.probabilities.as_ref().and_then(|p| {
            request
                .options
                .iter()
                .map(|o| p.get(&o.action).copied())
                .collect()
        });
        let readings = recorded
            .readings
            .iter()
            .filter_map(|(method, name)| match resolve(name, request.options) {
                Some(Ok(a)) => Some((method.clone(), a)),
                _ => None,
            })
            .collect();
        Ok(Decision {
            answer: Some(answer),
            probabilities,
            readings,
            raw: recorded.raw.clone(),
            prompt_tokens: recorded.tokens.prompt,
            completion_tokens: recorded.tokens.completion,
            attempts: recorded.attempts,
            rule: recorded.rule.clone(),
            reasoning: recorded.reasoning.clone(),
            label_mass: recorded.label_mass,
            scores: recorded.scores.as_ref().and_then(|s| {
                request
                    .options
                    .iter()
                    .map(|o| s.get(&o.action).copied())
                    .collect()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Vec<Choice> {
        ["first", "second"]
            .iter()
            .enumerate()
            .map(|(i, a)| Choice {
                label: ["A", "B"][i].into(),
                action: a.to_string(),
                text: a.to_string(),
                upholds: vec![],
                violates: vec![],
                ..Default::default()
            })
            .collect()
    }

    fn ask(r: &Replay, scenario: &str, steer: Option<&str>) -> Result<Answer, String> {
        let o = options();
        let request = Request {
            scenario,
            index: 0,
            group: scenario,
            steer,
            system: None,
            prompt: "",
            options: &o,
            mode: Default::default(),
            epoch: 0,
            lang: None,
        };
        r.decide(&request)
            .map(|d| d.answer.unwrap())
            .map_err(|e| e.message)
    }

    #[test]
    fn reads_a_mapping_in_json_lines() {
        let r = Replay::from_text(
            "answers.jsonl",
            "{\"scenario\":\"s1\",\"choice\":\"second\"}\n\
             {\"scenario\":\"s2\",\"choice\":\"A\"}\n\
             {\"scenario\":\"s3\",\"choice\":1}\n\
             {\"scenario\":\"s1\",\"steer\":\"kind\",\"choice\":\"first\"}\n\
             {\"scenario\":\"s4\",\"choice\":\"refused\"}\n",
        )
        .unwrap();
        assert_eq!(ask(&r, "s1", None), Ok(Answer::Option(1)));
        assert_eq!(ask(&r, "s1", Some("kind")), Ok(Answer::Option(0)));
        // No line for steer `harsh`: the line without a steer answers.
        assert_eq!(ask(&r, "s1", Some("harsh")), Ok(Answer::Option(1)));
        assert_eq!(ask(&r, "s2", None), Ok(Answer::Option(0)));
        assert_eq!(ask(&r, "s3", None), Ok(Answer::Option(1)));
        assert_eq!(ask(&r, "s4", None), Ok(Answer::Refused));
        assert_eq!(
            ask(&r, "s9", None),
            Err("no recorded answer for scenario `s9` in `answers.jsonl`".into())
        );
    }

    #[test]
    fn reads_a_mapping_in_csv() {
        let r = Replay::from_text(
            "answers.csv",
            "scenario,choice,steer\ns1,second,\ns2,B,kind\ns3,0,\n",
        )
        .unwrap();
        assert_eq!(ask(&r, "s1", None), Ok(Answer::Option(1)));
        assert_eq!(ask(&r, "s2", Some("kind")), Ok(Answer::Option(1)));
        assert!(
            ask(&r, "s2", None)
                .unwrap_err()
                .starts_with("no recorded answer")
        );
        assert_eq!(ask(&r, "s3", None), Ok(Answer::Option(0)));
        let e = Replay::from_text("x.csv", "id,answer\ns1,a\n").unwrap_err();
        assert!(
            e.message.contains("`scenario` and `choice`"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_results_file_answers_each_steer_only_as_recorded() {
        let r = Replay::from_text(
            "run.results.jsonl",
            "{\"format\":\"results\",\"adapter\":\"random/seed=0\",\"model\":null}\n\
             {\"scenario\":\"s1\",\"steer\":null,\"choice\":\"error\",\"raw\":\"timed out\"}\n\
             {\"scenario\":\"s2\",\"steer\":null,\"choice\":\"second\",\"probabilities\":{\"first\":0.25,\"second\":0.75}}\n\
             {\"scenario\":\"s2\",\"ste",
        )
        .unwrap();
        assert_eq!(r.recorded_by(), Some("random/seed=0"));
        assert_eq!(ask(&r, "s1", None), Err("timed out".into()));
        assert_eq!(ask(&r, "s2", None), Ok(Answer::Option(1)));
        assert!(ask(&r, "s2", Some("kind")).is_err());
        let o = options();
        let request = Request {
            scenario: "s2",
            index: 0,
            group: "s2",
            steer: None,
            system: None,
            prompt: "",
            options: &o,
            mode: Default::default(),
            epoch: 0,
            lang: None,
        };
        assert_eq!(
            r.decide(&request).unwrap().probabilities,
            Some(vec![0.25, 0.75])
        );
    }

    #[test]
    fn refuses_what_is_not_answers() {
        let e = Replay::from_text("s.jsonl", "{\"format\":\"suite\"}\n").unwrap_err();
        assert!(e.message.contains("a suite"), "{}", e.message);
        let e = Replay::from_text("s.jsonl", "{\"id\":\"s1\"}\n{}\n").unwrap_err();
        assert!(e.message.contains("line 1"), "{}", e.message);
        assert!(Replay::from_text("e.jsonl", "\n").is_err());
    }
}
