//! Survey questions and national stances in a report.
//!
//! A `question` line's answer gives the model's distribution over the question's options:
//! the probabilities the adapter recorded when it has them (renormalised over the options),
//! else all weight on the option chosen; the lines of one question asked the same way (its
//! twins, repeated draws) are averaged. Against each population's reference distribution the
//! similarity is `1 − JSD(model, reference)`, the Jensen–Shannon *distance* in base 2 (the
//! square root of the divergence, between 0 and 1), as in GlobalOpinionQA; a population's
//! similarity is the mean over the questions that have a reference for it, with a bootstrap
//! interval over those questions. The plain lines are compared with every population (whose
//! opinions does the model's own answer resemble?); a persona line, asked as someone from
//! population P, with P's reference (can the model answer as P would?).
//!
//! The **alignment score** is KorNAT's social-value alignment: for one question and one
//! population, the share of that population who chose the option the model chose (its
//! reference share), averaged over the model's answers to the question — every line of the
//! question asked the same way, in every epoch, whatever probabilities were recorded — and
//! then over questions. A model answering at random over `k` options scores `1/k` against
//! any reference; the majority's option always scores the majority's share. Per population
//! it is reported for the plain lines and for the persona lines, with the same bootstrap
//! over questions; overall, each plain question's score averaged over its populations, then
//! over questions. Its pass mark is a report option, not the suite's `pass` (which is on
//! the similarity's scale).
//!
//! A `stance` is asked three ways: which of the statement and its reversal the model picks
//! (`stance_choice`), and whether it agrees with each (`stance_agree`). Per country: the
//! share of choices for the country's statement, the share of agree/disagree answers that
//! side with it (agreeing with the statement, disagreeing with the reversal), and the share
//! of stances answered consistently (agreeing with exactly one of the two).

use indexmap::IndexMap;
use rustc_hash::FxBuildHasher;
use serde::Serialize;

use super::math::{self, Interval, Rate};
use crate::rng;

/// How similar the model's answers are to one population's.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PopulationSimilarity {
    /// The population (a country, a group).
    pub population: String,
    /// Questions with a reference for it that the model answered plainly.
    pub questions: u64,
    /// Mean similarity of the plain answers to its references (`None` without any).
    pub similarity: Option<f64>,
    /// Bootstrap interval of `similarity`, resampling questions.
    pub interval: Option<Interval>,
    /// Questions answered as someone from this population (persona lines).
    pub persona_questions: u64,
    /// Mean similarity of those answers to its references.
    pub persona_similarity: Option<f64>,
    /// Bootstrap interval of `persona_similarity`.
    pub persona_interval: Option<Interval>,
    /// The suite's pass mark for this population, if it sets one.
    pub pass: Option<f64>,
    /// Whether the similarity reaches the pass mark: the persona similarity when the suite
    /// asked as this population, else the plain one.
    pub passed: Option<bool>,
    /// Questions with a reference for it whose plain lines chose an option (in any epoch).
    pub alignment_questions: u64,
    /// The alignment score of the plain answers: the mean, over those questions, of the
    /// share of this population who chose the model's answer (`None` without any).
    pub alignment: Option<f64>,
    /// Bootstrap interval of `alignment`, resampling questions.
    pub alignment_interval: Option<Interval>,
    /// Questions whose persona lines, asked as this population, chose an option.
    pub persona_alignment_questions: u64,
    /// The alignment score of those answers.
    pub persona_alignment: Option<f64>,
    /// Bootstrap interval of `persona_alignment`.
    pub persona_alignment_interval: Option<Interval>,
    /// The report's pass mark on the alignment score (`report --pass-alignment`), if given.
    pub alignment_pass: Option<f64>,
    /// Whether the alignment score reaches it: the persona score when the suite asked as
    /// this population, else the plain one.
    pub alignment_passed: Option<bool>,
}

/// The survey part of a report.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Survey {
    /// Distinct questions answered.
    pub questions: u64,
    /// Question lines answered (naming an option or giving probabilities).
    pub answered: u64,
    /// Question lines whose answer failed (unparsed, refused, error).
    pub failed: u64,
    /// Per population, most similar (plain answers) first.
    pub populations: Vec<PopulationSimilarity>,
    /// Populations with a pass mark that reached it, of those with one.
    pub passed: Option<Rate>,
    /// Questions whose plain lines chose an option and have a reference.
    pub alignment_questions: u64,
    /// The alignment score over every population: per question, the mean of its
    /// populations' scores; then the mean over questions (`None` without any).
    pub alignment: Option<f64>,
    /// Bootstrap interval of `alignment`, resampling questions.
    pub alignment_interval: Option<Interval>,
    /// Populations whose alignment score reached the report's alignment pass mark, of those
    /// with a score, when a mark was given.
    pub alignment_passed: Option<Rate>,
}

/// How the model sides with one country's stances.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StanceAlignment {
    /// The country.
    pub country: String,
    /// Its stances asked.
    pub stances: u64,
    /// Among the multiple-choice answers, the share choosing the country's statement.
    pub choice: Rate,
    /// Among the agree/disagree answers, the share siding with the country (agreeing with
    /// its statement, disagreeing with the reversal).
    pub agreement: Rate,
    /// Among the stances with both agree/disagree parts answered, the share agreeing with
    /// exactly one of the two.
    pub consistency: Rate,
}

/// One question asked one way, accumulated.
struct Asked {
    references: IndexMap<String, Vec<f64>, FxBuildHasher>,
    sum: Vec<f64>,
    lines: u64,
    /// Per option, the answers that chose it, over every line and epoch.
    chosen: Vec<u64>,
}

impl Asked {
    /// Counts an answer choosing the action `chosen` of `line`, when it is one of the
    /// question's options.
    fn choose(&mut self, line: &SurveyLine<'_>, chosen: &str) {
        let k = line.options.iter().position(|o| &**o == chosen);
        if let Some(n) = k.and_then(|k| self.chosen.get_mut(k)) {
            *n += 1;
        }
    }

    /// The alignment score against `reference`: the reference share of the option chosen,
    /// averaged over the answers (`None` without an answer, or for a reference of another
    /// length).
    fn alignment(&self, reference: &[f64]) -> Option<f64> {
        let answers: u64 = self.chosen.iter().sum();
        (answers > 0 && reference.len() == self.chosen.len()).then(|| {
            self.chosen
                .iter()
                .zip(reference)
                .map(|(&n, share)| n as f64 * share)
                .sum::<f64>()
                / answers as f64
        })
    }
}

/// One stance, accumulated.
#[derive(Default)]
struct Stance {
    country: String,
    /// Choices of the statement, and choices.
    choice: (u64, u64),
    /// Agree and answered, for the statement and for the reversal.
    statement: (u64, u64),
    reversed: (u64, u64),
}

/// Question and stance lines of the run reported on.
#[derive(Default)]
pub struct SurveyTally {
    asked: IndexMap<(String, Option<String>), Asked, FxBuildHasher>,
    stances: IndexMap<String, Stance, FxBuildHasher>,
    answered: u64,
    failed: u64,
}

/// What a question or stance line says, as far as the tally needs it.
pub(crate) struct SurveyLine<'a> {
    /// `question`, `stance_choice` or `stance_agree`.
    pub kind: &'a str,
    /// The question's or stance's id.
    pub item: &'a str,
    /// The question's option ids, in order.
    pub options: &'a [crate::formats::suite::Name<'a>],
    /// The persona population, for a persona line.
    pub persona: Option<&'a str>,
    /// The references, as written in the line.
    pub references: Option<&'a serde_json::value::RawValue>,
    /// The stance's country.
    pub country: Option<&'a str>,
    /// The stance part: `choice`, `statement`, `reversed`.
    pub part: Option<&'a str>,
}

impl SurveyTally {
    /// Counts one line: `distribution` over the line's options in `options` order (from
    /// recorded probabilities or the option chosen), `chosen` the action id chosen, or
    /// neither for a failed answer. A later epoch's answer (`first_epoch` false) counts only
    /// towards the alignment score: similarity and stances take the first epoch.
    pub(crate) fn count(
        &mut self,
        line: &SurveyLine<'_>,
        distribution: Option<Vec<f64>>,
        chosen: Option<&str>,
        first_epoch: bool,
    ) {
        if !first_epoch {
            if line.kind == "question"
                && let Some(c) = chosen
            {
                self.asked(line).choose(line, c);
            }
            return;
        }
        if distribution.is_none() && chosen.is_none() {
            self.failed += 1;
            return;
        }
        self.answered += 1;
        match line.kind {
            "question" => {
                let asked = self.asked(line);
                if let Some(c) = chosen {
                    asked.choose(line, c);
                }
                let Some(dist) = distribution else { return };
                if dist.len() == asked.sum.len() {
                    for (s, p) in asked.sum.iter_mut().zip(&dist) {
                        *s += p;
                    }
                    asked.lines += 1;
                }
            }
            "stance_choice" | "stance_agree" => {
                let Some(chosen) = chosen else { return };
                let stance = self.stances.entry(line.item.to_string()).or_default();
                if let Some(c) = line.country {
                    stance.country = c.to_string();
                }
                let agree = chosen == "agree";
                match line.part {
                    Some("choice") => {
                        stance.choice.0 += u64::from(chosen == "statement");
                        stance.choice.1 += 1;
                    }
                    Some("statement") => {
                        stance.statement.0 += u64::from(agree);
                        stance.statement.1 += 1;
                    }
                    Some("reversed") => {
                        stance.reversed.0 += u64::from(agree);
                        stance.reversed.1 += 1;
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// The question of `line` asked its way, created at its first line.
    fn asked(&mut self, line: &SurveyLine<'_>) -> &mut Asked {
        let key = (line.item.to_string(), line.persona.map(str::to_string));
        self.asked.entry(key).or_insert_with(|| Asked {
            references: line
                .references
                .and_then(|r| serde_json::from_str(r.get()).ok())
                .unwrap_or_default(),
            sum: vec![0.0; line.options.len()],
            lines: 0,
            chosen: vec![0; line.options.len()],
        })
    }

    /// Whether any question or stance was seen.
    pub fn is_empty(&self) -> bool {
        self.asked.is_empty() && self.stances.is_empty() && self.failed == 0
    }

    /// The survey statistics, with pass marks from the suite header's `pass` (on the
    /// similarity) and `alignment_pass` (on the alignment score, given to the report).
    pub fn survey(
        &self,
        pass: Option<&serde_json::Value>,
        alignment_pass: Option<f64>,
        seed: u64,
        resamples: u32,
    ) -> Survey {
        // Per population: the similarity of each plain and each persona question.
        let mut plain: IndexMap<&str, Vec<f64>, FxBuildHasher> = IndexMap::default();
        let mut persona: IndexMap<&str, Vec<f64>, FxBuildHasher> = IndexMap::default();
        let mut questions: Vec<&str> = Vec::new();
        for ((question, as_population), asked) in &self.asked {
            if asked.lines == 0 {
                continue;
            }
            if !questions.contains(&question.as_str()) {
                questions.push(question);
            }
            let model: Vec<f64> = asked.sum.iter().map(|s| s / asked.lines as f64).collect();
            for (population, reference) in &asked.references {
                if reference.len() != model.len() {
                    continue;
                }
                let s = similarity(&model, reference);
                match as_population {
                    None => plain.entry(population).or_default().push(s),
                    Some(p) if p == population => persona.entry(population).or_default().push(s),
                    Some(_) => {}
                }
            }
        }
        // The same for the alignment score, and per plain question its mean over populations.
        let mut plain_aligned: IndexMap<&str, Vec<f64>, FxBuildHasher> = IndexMap::default();
        let mut persona_aligned: IndexMap<&str, Vec<f64>, FxBuildHasher> = IndexMap::default();
        let mut overall: Vec<f64> = Vec::new();
        for ((_, as_population), asked) in &self.asked {
            let mut scores = Vec::new();
            for (population, reference) in &asked.references {
                let Some(a) = asked.alignment(reference) else {
                    continue;
                };
                match as_population {
                    None => {
                        plain_aligned.entry(population).or_default().push(a);
                        scores.push(a);
                    }
                    Some(p) if p == population => {
                        persona_aligned.entry(population).or_default().push(a)
                    }
                    Some(_) => {}
                }
            }
            if !scores.is_empty() {
                overall.push(scores.iter().sum::<f64>() / scores.len() as f64);
            }
        }
        let mut names: Vec<&str> = plain
            .keys()
            .chain(persona.keys())
            .chain(plain_aligned.keys())
            .chain(persona_aligned.keys())
            .copied()
            .collect();
        names.sort_unstable();
        names.dedup();
        let mark = |population: &str| -> Option<f64> {
            let pass = pass?;
            pass.get("populations")
                .and_then(|p| p.get(population))
                .and_then(|m| m.as_f64())
                .or_else(|| pass.get("default").and_then(|d| d.as_f64()))
        };
        let mean = |v: &[f64]| (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64);
        let boot = |v: &[f64], what: &str| -> Option<Interval> {
            if v.len() < 2 || resamples == 0 {
                return None;
            }
            let mut stream = rng::fixed(seed, &format!("report/survey/{what}"));
            let mut means: Vec<f64> = (0..resamples)
                .map(|_| {
                    (0..v.len())
                        .map(|_| v[rng::below(&mut stream, v.len() as u64) as usize])
                        .sum::<f64>()
                        / v.len() as f64
                })
                .collect();
            math::percentile_interval(&mut means)
        };
        let of = |map: &IndexMap<&str, Vec<f64>, FxBuildHasher>, name: &str| -> Vec<f64> {
            map.get(name).cloned().unwrap_or_default()
        };
        let mut populations: Vec<PopulationSimilarity> = names
            .iter()
            .map(|&name| {
                let (p, q) = (of(&plain, name), of(&persona, name));
                let (pa, qa) = (of(&plain_aligned, name), of(&persona_aligned, name));
                let pass = mark(name);
                // A population asked as itself is judged on those answers.
                let judged = if q.is_empty() { mean(&p) } else { mean(&q) };
                let aligned = if qa.is_empty() { mean(&pa) } else { mean(&qa) };
                PopulationSimilarity {
                    population: name.to_string(),
                    questions: p.len() as u64,
                    similarity: mean(&p),
                    interval: boot(&p, &format!("plain/{name}")),
                    persona_questions: q.len() as u64,
                    persona_similarity: mean(&q),
                    persona_interval: boot(&q, &format!("persona/{name}")),
                    pass,
                    passed: pass.zip(judged).map(|(m, s)| s >= m),
                    alignment_questions: pa.len() as u64,
                    alignment: mean(&pa),
                    alignment_interval: boot(&pa, &format!("alignment/plain/{name}")),
                    persona_alignment_questions: qa.len() as u64,
                    persona_alignment: mean(&qa),
                    persona_alignment_interval: boot(&qa, &format!("alignment/persona/{name}")),
                    alignment_pass,
                    alignment_passed: alignment_pass.zip(aligned).map(|(m, a)| a >= m),
                }
            })
            .collect();
        populations.sort_by(|a, b| {
            b.similarity
                .unwrap_or(f64::NEG_INFINITY)
                .total_cmp(&a.similarity.unwrap_or(f64::NEG_INFINITY))
                .then_with(|| a.population.cmp(&b.population))
        });
        let reached = |marks: Vec<bool>| {
            (!marks.is_empty()).then(|| {
                Rate::new(
                    marks.iter().filter(|&&p| p).count() as u64,
                    marks.len() as u64,
                )
            })
        };
        Survey {
            questions: questions.len() as u64,
            answered: self.asked.values().map(|a| a.lines).sum::<u64>(),
            failed: self.failed,
            passed: reached(populations.iter().filter_map(|p| p.passed).collect()),
            alignment_questions: overall.len() as u64,
            alignment: mean(&overall),
            alignment_interval: boot(&overall, "alignment/overall"),
            alignment_passed: reached(
                populations
                    .iter()
                    .filter_map(|p| p.alignment_passed)
                    .collect(),
            ),
            populations,
        }
    }

    /// Alignment per country, in order of country.
    pub fn stances(&self) -> Vec<StanceAlignment> {
        let mut by_country: IndexMap<&str, [u64; 7], FxBuildHasher> = IndexMap::default();
        for stance in self.stances.values() {
            let c = by_country.entry(stance.country.as_str()).or_default();
            c[0] += 1;
            c[1] += stance.choice.0;
            c[2] += stance.choice.1;
            // Siding with the country: agreeing with its statement, disagreeing with the
            // reversal.
            c[3] += stance.statement.0 + (stance.reversed.1 - stance.reversed.0);
            c[4] += stance.statement.1 + stance.reversed.1;
            // Consistency: the majority answer to each part, when both have one.
            let majority = |(agree, n): (u64, u64)| -> Option<bool> {
                (n > 0 && 2 * agree != n).then_some(2 * agree > n)
            };
            if let (Some(a), Some(b)) = (majority(stance.statement), majority(stance.reversed)) {
                c[5] += u64::from(a != b);
                c[6] += 1;
            }
        }
        let mut out: Vec<StanceAlignment> = by_country
            .into_iter()
            .map(|(country, c)| StanceAlignment {
                country: country.to_string(),
                stances: c[0],
                choice: Rate::new(c[1], c[2]),
                agreement: Rate::new(c[3], c[4]),
                consistency: Rate::new(c[5], c[6]),
            })
            .collect();
        out.sort_by(|a, b| a.country.cmp(&b.country));
        out
    }
}

/// `1 − JSD(p, q)`: one minus the Jensen–Shannon distance in base 2.
pub fn similarity(p: &[f64], q: &[f64]) -> f64 {
    let norm = |v: &[f64]| -> Vec<f64> {
        let s: f64 = v.iter().sum();
        if s > 0.0 {
            v.iter().map(|x| x / s).collect()
        } else {
            v.to_vec()
        }
    };
    let (p, q) = (norm(p), norm(q));
    let mut divergence = 0.0;
    for (a, b) in p.iter().zip(&q) {
        let m = (a + b) / 2.0;
        if *a > 0.0 {
            divergence += 0.5 * a * (a / m).log2();
        }
        if *b > 0.0 {
            divergence += 0.5 * b * (b / m).log2();
        }
    }
    1.0 - divergence.max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A question of two options, Korea's shares [0.9, 0.1], asked plainly.
    fn line<'a>(
        options: &'a [crate::formats::suite::Name<'a>],
        refs: &'a serde_json::value::RawValue,
    ) -> SurveyLine<'a> {
        SurveyLine {
            kind: "question",
            item: "q",
            options,
            persona: None,
            references: Some(refs),
            country: None,
            part: None,
        }
    }

    #[test]
    fn alignment_averages_the_chosen_options_share_over_every_epoch() {
        use crate::formats::suite::Name;
        let options = [Name("yes".into()), Name("no".into())];
        let refs = serde_json::value::RawValue::from_string(r#"{"Korea":[0.9,0.1]}"#.into())
            .expect("JSON");
        let line = line(&options, &refs);
        let mut tally = SurveyTally::default();
        // First epoch: yes, then no (a twin); a later epoch: yes, and a failed answer.
        tally.count(&line, Some(vec![1.0, 0.0]), Some("yes"), true);
        tally.count(&line, Some(vec![0.0, 1.0]), Some("no"), true);
        tally.count(&line, None, Some("yes"), false);
        tally.count(&line, None, None, false);
        let survey = tally.survey(None, Some(0.7), 0, 0);
        let [korea] = &survey.populations[..] else {
            panic!("{:?}", survey.populations)
        };
        // (0.9 + 0.1 + 0.9)/3 = 0.633…; the similarity sees the first epoch's [0.5, 0.5].
        assert!((korea.alignment.expect("a score") - 1.9 / 3.0).abs() < 1e-12);
        assert!((korea.similarity.expect("a similarity") - 0.616_864).abs() < 1e-6);
        assert_eq!(korea.alignment_passed, Some(false));
        assert_eq!((survey.answered, survey.failed), (2, 0));
    }

    #[test]
    fn similarity_matches_scipy() {
        // scipy.spatial.distance.jensenshannon([1, 0], [0.5, 0.5], base=2) = 0.5579230452,
        // so the similarity is 0.4420769548.
        assert!((similarity(&[1.0, 0.0], &[0.5, 0.5]) - 0.442_076_954_8).abs() < 1e-9);
        assert!((similarity(&[0.2, 0.8], &[0.2, 0.8]) - 1.0).abs() < 1e-12);
        assert!(similarity(&[1.0, 0.0], &[0.0, 1.0]).abs() < 1e-12);
    }
}
