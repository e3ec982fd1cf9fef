//! Reports as text: an aligned table for a terminal, and Markdown. Both are drawn from the
//! same sections, so they say the same things.

use std::fmt::Write as _;

use unicode_width::UnicodeWidthStr;

use super::{Diff, Interval, Rate, Report, Shift, ValueStats};

/// A titled table: headers, rows, and which columns are numbers (right-aligned). The text
/// and the HTML report draw their tables from the same sections.
pub(super) struct Section {
    pub title: String,
    pub headers: Vec<&'static str>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

fn pct(x: f64) -> String {
    format!("{:.1}", 100.0 * x)
}

fn rate(r: &Rate) -> String {
    format!("{}%", pct(r.rate))
}

fn interval(i: Option<Interval>, scale: f64) -> String {
    match i {
        Some(i) => format!("[{:.1}, {:.1}]", scale * i.low, scale * i.high),
        None => "–".into(),
    }
}

fn signed(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:+.1}")
    }
}

/// A value as a row names it: its name, and its label where the label says more than the
/// id (`honesty` needs no "(Honesty)").
fn name(value: &str, label: Option<&str>) -> String {
    let id = value.rsplit('.').next().unwrap_or(value);
    let same = |l: &str| l.to_lowercase().replace([' ', '-'], "_") == id.to_lowercase();
    match label {
        Some(l) if !l.is_empty() && !same(l) => format!("{value} ({l})"),
        _ => value.to_string(),
    }
}

/// Drops the framework prefix every row's value shares, saying it in the title instead.
fn strip_common_prefix(section: &mut Section) {
    let Some(col) = section.headers.iter().position(|h| *h == "value") else {
        return;
    };
    let Some(first) = section.rows.first().and_then(|r| r.get(col)) else {
        return;
    };
    let Some((prefix, _)) = first.split_once('.') else {
        return;
    };
    let prefix = format!("{prefix}.");
    if !section
        .rows
        .iter()
        .all(|r| r.get(col).is_some_and(|c| c.starts_with(&prefix)))
    {
        return;
    }
    for row in &mut section.rows {
        if let Some(c) = row.get_mut(col) {
            *c = c[prefix.len()..].to_string();
        }
    }
    let framework = &prefix[..prefix.len() - 1];
    if !section.title.ends_with(framework) {
        section.title = format!("{} ({framework})", section.title);
    }
}

/// A table of value statistics; with `kinds`, a column says whether each is a value, a
/// right or a duty.
fn value_section(title: String, values: &[ValueStats], (kinds, either): (bool, bool)) -> Section {
    let mut section = Section {
        title,
        headers: vec![
            "value",
            "score",
            "95% Wilson",
            "95% bootstrap",
            "selected",
            "neglected",
            "win rate",
            "95% Wilson",
            "95% bootstrap",
            "conflicts",
        ],
        numeric: vec![false, true, true, true, true, true, true, true, true, true],
        rows: values
            .iter()
            .map(|v| {
                vec![
                    name(&v.value, v.label.as_deref()),
                    format!("{:.1}", v.score),
                    interval(Some(v.score_interval), 1.0),
                    interval(v.score_bootstrap, 1.0),
                    weighed(v.selected, v.relevance.map(|r| r[0])),
                    weighed(v.neglected, v.relevance.map(|r| r[1])),
                    rate(&v.wins),
                    interval(Some(v.wins.interval()), 100.0),
                    interval(v.wins_bootstrap, 100.0),
                    weighed(v.wins.n, v.wins_relevance.map(|r| r[1])),
                ]
            })
            .collect(),
    };
    if either {
        section.headers.insert(6, "either");
        section.numeric.insert(6, true);
        for (row, v) in section.rows.iter_mut().zip(values) {
            row.insert(6, v.either.to_string());
        }
    }
    if kinds {
        section.headers.insert(1, "kind");
        section.numeric.insert(1, false);
        for (row, v) in section.rows.iter_mut().zip(values) {
            row.insert(1, kind(v.kind).into());
        }
    }
    section
}

/// A count, and after it the sum of the relevances behind it when some was not 1.
fn weighed(n: u64, relevance: Option<f64>) -> String {
    match relevance {
        Some(r) => format!("{n} ({r:.2})"),
        None => n.to_string(),
    }
}

/// A value's kind as the tables write it (`–` when the framework is not known).
pub(super) fn kind(kind: Option<crate::model::ValueKind>) -> &'static str {
    match kind {
        Some(crate::model::ValueKind::Value) => "value",
        Some(crate::model::ValueKind::Right) => "right",
        Some(crate::model::ValueKind::Duty) => "duty",
        None => "–",
    }
}

/// A table of shifts between two runs; `runs` names the columns of their scores.
/// With a `kind` column when one of its rows is a right or a duty.
fn shift_section(title: String, shifts: &[&Shift], runs: [&'static str; 2]) -> Section {
    let mut section = Section {
        title,
        headers: vec![
            "value",
            runs[0],
            runs[1],
            "shift",
            "95% Newcombe",
            "95% bootstrap",
            "win rate shift",
            "95% Newcombe",
            "beyond chance",
        ],
        numeric: vec![false, true, true, true, true, true, true, true, false],
        rows: shifts
            .iter()
            .map(|s| {
                vec![
                    name(&s.value, s.label.as_deref()),
                    format!("{:.1}", s.base_score),
                    format!("{:.1}", s.score),
                    signed(s.delta),
                    interval(Some(s.interval), 1.0),
                    interval(s.bootstrap, 1.0),
                    signed(100.0 * s.wins_delta),
                    interval(Some(s.wins_interval), 100.0),
                    if s.changed { "yes" } else { "" }.to_string(),
                ]
            })
            .collect(),
    };
    if shifts
        .iter()
        .any(|s| s.kind.is_some_and(|k| k != crate::model::ValueKind::Value))
    {
        section.headers.insert(1, "kind");
        section.numeric.insert(1, false);
        for (row, s) in section.rows.iter_mut().zip(shifts) {
            row.insert(1, kind(s.kind).into());
        }
    }
    section
}

pub(super) fn summary(r: &Report) -> Vec<(String, String)> {
    let with = |x: &Rate| {
        format!(
            "{} [{}, {}] ({}/{})",
            rate(x),
            pct(x.low),
            pct(x.high),
            x.k,
            x.n
        )
    };
    let mut out = vec![
        (
            "suite".to_string(),
            format!("{} ({})", r.suite.as_deref().unwrap_or("?"), r.suite_file),
        ),
        (
            "answered by".into(),
            match (&r.model, &r.adapter) {
                (Some(m), Some(a)) if a.contains(m.as_str()) => a.clone(),
                (Some(m), Some(a)) => format!("{m} ({a})"),
                (None, Some(a)) => a.clone(),
                (m, None) => m.clone().unwrap_or_else(|| "?".into()),
            },
        ),
    ];
    if let Some(s) = &r.steer {
        out.push(("steer".into(), s.clone()));
    }
    if let Some(l) = &r.lang {
        out.push(("language".into(), l.clone()));
    }
    out.extend([
        (
            "answers".into(),
            format!("{} ({} naming an option)", r.answers, r.answered),
        ),
        ("unparsed".into(), with(&r.unparsed)),
        ("refused".into(), with(&r.refused)),
        ("errors".into(), with(&r.errors)),
    ]);
    if r.free.k > 0 {
        out.push(("free-form".into(), with(&r.free)));
    }
    if let Some(m) = &r.label_mass {
        out.push((
            "mass on labels".into(),
            format!(
                "{}% on average; below half in {}",
                pct(m.mean),
                with(&m.below_half)
            ),
        ));
    }
    if let Some(s) = &r.scores {
        let (what, unit) = match s.by {
            "logprob" => ("the log-probability of each option's text", " nats"),
            _ => ("a reward model's score of each option", ""),
        };
        out.push((
            "chosen by scores".into(),
            format!(
                "{} answers by {what}; the best led the next by {:.3}{unit} on average",
                s.answers, s.mean_margin
            ),
        ));
        if let Some(d) = &s.mean_differs {
            out.push((
                "mean per token".into(),
                format!("would choose otherwise in {}", with(d)),
            ));
        }
    }
    out.extend([
        ("first option chosen".into(), with(&r.position_bias)),
        (
            "twin flips".into(),
            if r.twin_flips.n == 0 {
                "no twins".into()
            } else {
                with(&r.twin_flips)
            },
        ),
    ]);
    if let Some(d) = &r.distractors {
        out.push((
            "distractor chosen".into(),
            format!(
                "{} of answers to scenarios showing one ({} scenarios)",
                with(&d.chosen),
                d.scenarios
            ),
        ));
    }
    if r.readings_agree.n > 0 {
        out.push(("readings agree".into(), with(&r.readings_agree)));
    }
    if r.self_consistency.n > 0 {
        out.push(("epochs agree".into(), with(&r.self_consistency)));
    }
    if !r.read_by.is_empty() {
        let rules: Vec<String> = r
            .read_by
            .iter()
            .map(|c| format!("{} {:.1}%", c.rule, 100.0 * c.answers.rate))
            .collect();
        out.push(("read by".into(), rules.join(", ")));
    }
    if r.unmatched > 0 {
        out.push((
            "not in the suite".into(),
            format!("{} answers", r.unmatched),
        ));
    }
    if r.values.is_empty() {
        return out;
    }
    out.push((
        "bootstrap".into(),
        if r.resamples > 0 {
            format!(
                "{} resamples of {} templates, seed {}",
                r.resamples, r.clusters, r.seed
            )
        } else {
            format!("none ({} templates)", r.clusters)
        },
    ));
    out
}

pub(super) fn ranking_section(r: &Report) -> Option<Section> {
    if r.ranking.is_empty() {
        return None;
    }
    let mut section = Section {
        title: "Bradley–Terry ranking".into(),
        headers: vec![
            "rank",
            "value",
            "group",
            "strength",
            "95% Wald",
            "95% bootstrap",
            "won",
            "conflicts",
        ],
        numeric: vec![true, false, true, true, true, true, true, true],
        rows: r
            .ranking
            .iter()
            .map(|x| {
                vec![
                    x.rank.to_string(),
                    name(&x.value, x.label.as_deref()),
                    x.group.to_string(),
                    format!("{:+.2}", x.strength),
                    interval2(x.interval),
                    interval2(x.bootstrap),
                    weighed(x.wins, x.relevance.map(|r| r[0])),
                    weighed(x.games, x.relevance.map(|r| r[1])),
                ]
            })
            .collect(),
    };
    if r.has_kinds() {
        section.headers.insert(2, "kind");
        section.numeric.insert(2, false);
        for (row, x) in section.rows.iter_mut().zip(&r.ranking) {
            row.insert(2, kind(x.kind).into());
        }
    }
    Some(section)
}

pub(super) fn profiles_section(r: &Report) -> Option<Section> {
    // No value scored (free-form answers, a judge's stances): nothing to compare.
    if r.profiles.iter().all(|p| p.values == 0) {
        return None;
    }
    Some(Section {
        title: "Agreement with profiles".into(),
        headers: vec!["profile", "Spearman", "95% bootstrap", "values"],
        numeric: vec![false, true, true, true],
        rows: r
            .profiles
            .iter()
            .map(|p| {
                vec![
                    p.profile.clone(),
                    p.spearman.map_or("–".into(), |x| format!("{x:+.2}")),
                    interval2(p.bootstrap),
                    p.values.to_string(),
                ]
            })
            .collect(),
    })
}

pub(super) fn survey_section(survey: &super::alignment::Survey) -> Section {
    Section {
        title: format!(
            "Survey: similarity (1 − Jensen–Shannon distance) to each population, {} questions{}",
            survey.questions,
            survey.passed.map_or(String::new(), |p| format!(
                "; {} of {} pass marks reached",
                p.k, p.n
            ))
        ),
        headers: survey_headers("similarity"),
        numeric: vec![false, true, true, true, true, true, true, true, false],
        rows: survey
            .populations
            .iter()
            .map(|p| {
                survey_row(
                    &p.population,
                    [
                        (p.similarity, p.interval, p.questions),
                        (
                            p.persona_similarity,
                            p.persona_interval,
                            p.persona_questions,
                        ),
                    ],
                    p.pass,
                    p.passed,
                )
            })
            .collect(),
    }
}

/// The columns of a survey table whose score is `score`, plainly and as the population.
fn survey_headers(score: &'static str) -> Vec<&'static str> {
    vec![
        "population",
        score,
        "95% bootstrap",
        "questions",
        "as this population",
        "95% bootstrap",
        "questions",
        "pass mark",
        "passed",
    ]
}

/// A population's row of a survey table: its score, interval and questions asked plainly
/// and as the population, its pass mark and whether it was reached.
fn survey_row(
    population: &str,
    scores: [(Option<f64>, Option<Interval>, u64); 2],
    pass: Option<f64>,
    passed: Option<bool>,
) -> Vec<String> {
    let mut row = vec![population.to_string()];
    for (score, interval, questions) in scores {
        row.push(survey_score(score));
        row.push(survey_interval(interval));
        row.push(questions.to_string());
    }
    row.push(pass.map_or(String::new(), |m| format!("{m:.2}")));
    row.push(match passed {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => String::new(),
    });
    row
}

fn survey_score(x: Option<f64>) -> String {
    x.map_or("–".into(), |x| format!("{x:.3}"))
}

fn survey_interval(i: Option<Interval>) -> String {
    i.map_or("–".into(), |i| format!("[{:.3}, {:.3}]", i.low, i.high))
}

/// KorNAT's alignment score per population (the share of the population who chose the
/// model's answer), overall in the title; `None` when no question was answered with an
/// option.
pub(super) fn survey_alignment_section(survey: &super::alignment::Survey) -> Option<Section> {
    if survey
        .populations
        .iter()
        .all(|p| p.alignment.is_none() && p.persona_alignment.is_none())
    {
        return None;
    }
    Some(Section {
        title: format!(
            "Survey: alignment (the share of each population who chose the model's answer); \
             overall {} {} over {} questions{}",
            survey_score(survey.alignment),
            survey_interval(survey.alignment_interval),
            survey.alignment_questions,
            survey.alignment_passed.map_or(String::new(), |p| format!(
                "; {} of {} alignment pass marks reached",
                p.k, p.n
            ))
        ),
        headers: survey_headers("alignment"),
        numeric: vec![false, true, true, true, true, true, true, true, false],
        rows: survey
            .populations
            .iter()
            .map(|p| {
                survey_row(
                    &p.population,
                    [
                        (p.alignment, p.alignment_interval, p.alignment_questions),
                        (
                            p.persona_alignment,
                            p.persona_alignment_interval,
                            p.persona_alignment_questions,
                        ),
                    ],
                    p.alignment_pass,
                    p.alignment_passed,
                )
            })
            .collect(),
    })
}

/// How often a distractor was chosen, per template (CVC's distractor analysis).
pub(super) fn distractors_section(r: &Report) -> Option<Section> {
    let d = r.distractors.as_ref()?;
    Some(Section {
        title: "Distractors chosen, per template".into(),
        headers: vec!["template", "distractor chosen", "95% Wilson", "scenarios"],
        numeric: vec![false, true, true, true],
        rows: d
            .templates
            .iter()
            .map(|t| {
                vec![
                    t.template.clone(),
                    format!("{} ({}/{})", rate(&t.chosen), t.chosen.k, t.chosen.n),
                    interval(Some(t.chosen.interval()), 100.0),
                    t.scenarios.to_string(),
                ]
            })
            .collect(),
    })
}

/// How the chosen options treat each party the options affect (DailyDilemmas' parties).
pub(super) fn parties_section(r: &Report) -> Option<Section> {
    if r.parties.is_empty() {
        return None;
    }
    let share = |x: &Rate| {
        if x.n == 0 {
            "–".to_string()
        } else {
            format!("{} ({}/{})", rate(x), x.k, x.n)
        }
    };
    let rejected = |x: &Rate| {
        if x.n == 0 {
            "–".to_string()
        } else {
            (x.n - x.k).to_string()
        }
    };
    let wilson = |x: &Rate| {
        if x.n == 0 {
            "–".to_string()
        } else {
            interval(Some(x.interval()), 100.0)
        }
    };
    Some(Section {
        title: "Parties: chosen options that affect, favour or harm them, where an option does"
            .into(),
        headers: vec![
            "party",
            "effect",
            "affected",
            "95% Wilson",
            "favoured",
            "95% Wilson",
            "favour rejected",
            "harmed",
            "95% Wilson",
            "harm rejected",
        ],
        numeric: vec![false, false, true, true, true, true, true, true, true, true],
        rows: r
            .parties
            .iter()
            .map(|p| {
                vec![
                    p.party.clone(),
                    if p.indirect { "indirect" } else { "direct" }.into(),
                    share(&p.affected),
                    wilson(&p.affected),
                    share(&p.favoured),
                    wilson(&p.favoured),
                    rejected(&p.favoured),
                    share(&p.harmed),
                    wilson(&p.harmed),
                    rejected(&p.harmed),
                ]
            })
            .collect(),
    })
}

/// The parties of two runs side by side: one row per party, effect and measure, with the
/// shift and its Newcombe interval (`–` where a run had no such answers).
pub(super) fn party_shift_section(
    title: String,
    shifts: &[super::PartyShift],
    runs: [&'static str; 2],
) -> Option<Section> {
    if shifts.is_empty() {
        return None;
    }
    let share = |x: &Rate| {
        if x.n == 0 {
            "–".to_string()
        } else {
            format!("{} ({}/{})", rate(x), x.k, x.n)
        }
    };
    Some(Section {
        title,
        headers: vec![
            "party",
            "effect",
            "measure",
            runs[0],
            runs[1],
            "shift",
            "95% Newcombe",
        ],
        numeric: vec![false, false, false, true, true, true, true],
        rows: shifts
            .iter()
            .map(|p| {
                vec![
                    p.party.clone(),
                    if p.indirect { "indirect" } else { "direct" }.into(),
                    p.measure.into(),
                    share(&p.base),
                    share(&p.other),
                    match p.interval {
                        Some(_) => signed(100.0 * p.shift),
                        None => "–".into(),
                    },
                    match p.interval {
                        Some(i) => interval(Some(i), 100.0),
                        None => "–".into(),
                    },
                ]
            })
            .collect(),
    })
}

pub(super) fn stances_section(r: &Report) -> Option<Section> {
    if r.stances.is_empty() {
        return None;
    }
    Some(Section {
        title: "Stances: alignment per country".into(),
        headers: vec![
            "country",
            "stances",
            "chooses its statement",
            "95% Wilson",
            "agrees with it",
            "95% Wilson",
            "consistent",
            "95% Wilson",
        ],
        numeric: vec![false, true, true, true, true, true, true, true],
        rows: r
            .stances
            .iter()
            .map(|c| {
                vec![
                    c.country.clone(),
                    c.stances.to_string(),
                    format!("{} ({}/{})", rate(&c.choice), c.choice.k, c.choice.n),
                    interval(Some(c.choice.interval()), 100.0),
                    format!(
                        "{} ({}/{})",
                        rate(&c.agreement),
                        c.agreement.k,
                        c.agreement.n
                    ),
                    interval(Some(c.agreement.interval()), 100.0),
                    format!(
                        "{} ({}/{})",
                        rate(&c.consistency),
                        c.consistency.k,
                        c.consistency.n
                    ),
                    interval(Some(c.consistency.interval()), 100.0),
                ]
            })
            .collect(),
    })
}

/// A judge's verdicts: overall, by topic and by value, each verdict's share with its
/// interval and the normalised entropy.
pub(super) fn verdict_sections(v: &super::verdicts::Verdicts) -> Vec<Section> {
    let entropy = |e: Option<f64>| e.map_or("–".into(), |e| format!("{e:.3}"));
    let table = |title: String,
                 first: &'static str,
                 groups: Vec<(String, u64, &[super::agree::Share], Option<f64>)>| {
        Section {
            title,
            headers: vec![
                first,
                "answers",
                "verdict",
                "share",
                "95% Wilson",
                "entropy",
            ],
            numeric: vec![false, true, false, true, true, true],
            rows: groups
                .into_iter()
                .flat_map(|(group, n, shares, e)| {
                    shares.iter().enumerate().map(move |(i, s)| {
                        let first = i == 0;
                        vec![
                            if first { group.clone() } else { String::new() },
                            if first { n.to_string() } else { String::new() },
                            s.label.clone(),
                            format!("{} ({}/{})", pct(s.share), s.k, s.n),
                            format!("[{}, {}]", pct(s.interval.0), pct(s.interval.1)),
                            if first { entropy(e) } else { String::new() },
                        ]
                    })
                })
                .collect(),
        }
    };
    let placed = v.judged - v.unplaceable.k;
    let mut out = vec![table(
        format!(
            "Verdicts of judge {} ({}): {} judged, {} unplaceable ({}%){}",
            v.judge,
            v.kind,
            v.judged,
            v.unplaceable.k,
            pct(v.unplaceable.rate),
            v.mean.map_or(String::new(), |m| format!(", mean {m:.2}"))
        ),
        "",
        vec![(String::from("all"), placed, &v.overall[..], v.entropy)],
    )];
    if !v.by_topic.is_empty() {
        out.push(table(
            "Verdicts by topic".into(),
            "topic",
            v.by_topic
                .iter()
                .map(|g| (g.group.clone(), g.n, &g.shares[..], g.entropy))
                .collect(),
        ));
    }
    if !v.by_value.is_empty() {
        out.push(table(
            "Verdicts by value".into(),
            "value",
            v.by_value
                .iter()
                .map(|g| (g.group.clone(), g.n, &g.shares[..], g.entropy))
                .collect(),
        ));
    }
    out
}

fn sections(r: &Report) -> Vec<Section> {
    let mut out = Vec::new();
    let kinds = (r.has_kinds(), r.has_either());
    if let Some(v) = &r.verdicts {
        out.extend(verdict_sections(v));
    }
    if !r.values.is_empty() {
        out.push(value_section("Values".into(), &r.values, kinds));
    }
    for g in &r.labels {
        out.push(value_section(
            format!("Labels of {}", g.framework),
            &g.values,
            kinds,
        ));
    }
    if !r.rollup.is_empty() {
        out.push(value_section("Up the hierarchy".into(), &r.rollup, kinds));
    }
    out.extend(ranking_section(r));
    out.extend(profiles_section(r));
    out.extend(distractors_section(r));
    out.extend(parties_section(r));
    if let Some(survey) = &r.survey {
        out.push(survey_section(survey));
        out.extend(survey_alignment_section(survey));
    }
    out.extend(stances_section(r));
    for s in &r.steers {
        let moved: Vec<&Shift> = s
            .values
            .iter()
            .chain(s.labels.iter().flat_map(|g| &g.values))
            .filter(|x| x.changed)
            .collect();
        out.push(shift_section(
            format!(
                "Steer {}: {} answered; {} value{} moved beyond chance{}",
                s.steer,
                s.answered,
                s.changed,
                if s.changed == 1 { "" } else { "s" },
                if moved.is_empty() {
                    ""
                } else {
                    " (values and labels that moved)"
                }
            ),
            &moved,
            ["plain score", "steered score"],
        ));
        out.extend(party_shift_section(
            format!("Steer {}: parties", s.steer),
            &s.parties,
            ["plain", "steered"],
        ));
    }
    out
}

fn interval2(i: Option<Interval>) -> String {
    match i {
        Some(i) => format!("[{:+.2}, {:+.2}]", i.low, i.high),
        None => "–".into(),
    }
}

fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

fn grid(out: &mut String, mut s: Section) {
    strip_common_prefix(&mut s);
    let s = &s;
    let _ = writeln!(out, "\n{}", s.title);
    if s.rows.is_empty() {
        return;
    }
    let mut widths: Vec<usize> = s.headers.iter().map(|h| width(h)).collect();
    for row in &s.rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let line = |out: &mut String, cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(width(cell));
            if i > 0 {
                text.push_str("  ");
            }
            if s.numeric[i] {
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            } else {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            }
        }
        let _ = writeln!(out, "{}", text.trim_end());
    };
    line(out, &mut s.headers.iter().copied());
    for row in &s.rows {
        line(out, &mut row.iter().map(String::as_str));
    }
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

fn md(out: &mut String, mut s: Section) {
    strip_common_prefix(&mut s);
    let s = &s;
    let _ = writeln!(out, "\n## {}\n", s.title);
    if s.rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "| {} |", s.headers.join(" | "));
    let rule: Vec<&str> = s
        .numeric
        .iter()
        .map(|&n| if n { "---:" } else { "---" })
        .collect();
    let _ = writeln!(out, "| {} |", rule.join(" | "));
    for row in &s.rows {
        let cells: Vec<String> = row.iter().map(|c| md_cell(c)).collect();
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

pub(super) fn table(r: &Report) -> String {
    let mut out = String::new();
    let facts = summary(r);
    let w = facts.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    for (k, v) in &facts {
        let _ = writeln!(out, "{k:w$}  {v}");
    }
    for s in sections(r) {
        grid(&mut out, s);
    }
    notes(&mut out, &r.notes, "\nnote: ");
    out
}

/// The report in brief, for a terminal after a run: the facts, the values (the `rows`
/// highest and lowest when there are more), every theory label, the hierarchy, the
/// agreement with profiles and one line per steer.
pub(super) fn brief(r: &Report, rows: usize) -> String {
    let mut out = String::new();
    let facts = summary(r);
    let w = facts.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    for (k, v) in &facts {
        let _ = writeln!(out, "{k:w$}  {v}");
    }
    for mut s in sections(r) {
        if s.title.starts_with("Steer ") {
            let _ = writeln!(out, "\n{}", s.title);
            continue;
        }
        if s.title.starts_with("Bradley") {
            continue;
        }
        strip_common_prefix(&mut s);
        if s.rows.len() > 2 * rows {
            let hidden = s.rows.len() - 2 * rows;
            let tail = s.rows.split_off(s.rows.len() - rows);
            s.rows.truncate(rows);
            let mut gap = vec![String::new(); s.headers.len()];
            gap[0] = format!("… {hidden} more");
            s.rows.push(gap);
            s.rows.extend(tail);
        }
        grid(&mut out, s);
    }
    notes(&mut out, &r.notes, "\nnote: ");
    out
}

pub(super) fn markdown(r: &Report) -> String {
    let mut out = format!(
        "# Report: {}\n\n| | |\n|---|---|\n",
        r.suite.as_deref().unwrap_or("results")
    );
    for (k, v) in summary(r) {
        let _ = writeln!(out, "| {} | {} |", md_cell(&k), md_cell(&v));
    }
    for s in sections(r) {
        md(&mut out, s);
    }
    notes(&mut out, &r.notes, "\n> ");
    out
}

fn notes(out: &mut String, notes: &[String], prefix: &str) {
    for n in notes {
        let _ = writeln!(out, "{prefix}{n}");
    }
}

/// `0.0% (0/4) → 25.0% (1/4), +25.0 [−13.0, +62.4]`
fn failure_shift(base: &Rate, other: &Rate, shift: Interval) -> String {
    format!(
        "{}% ({}/{}) → {}% ({}/{}), {} [{}, {}]",
        pct(base.rate),
        base.k,
        base.n,
        pct(other.rate),
        other.k,
        other.n,
        signed(100.0 * (other.rate - base.rate)),
        signed(100.0 * shift.low),
        signed(100.0 * shift.high)
    )
}

fn diff_facts(d: &Diff) -> Vec<(String, String)> {
    let mut facts = diff_facts_core(d);
    if d.failures.iter().any(|f| f.lang.is_some()) {
        let lang = |f: &super::Failures| f.lang.clone().unwrap_or_else(|| "as written".into());
        facts.insert(
            2,
            (
                "languages".into(),
                format!("{} → {}", lang(&d.failures[0]), lang(&d.failures[1])),
            ),
        );
    }
    facts
}

fn diff_facts_core(d: &Diff) -> Vec<(String, String)> {
    vec![
        (
            "base".into(),
            format!("{} ({} answered)", d.base, d.base_answered),
        ),
        (
            "compared".into(),
            format!("{} ({} answered)", d.other, d.answered),
        ),
        (
            "same suite".into(),
            if d.same_suite { "yes" } else { "no" }.into(),
        ),
        (
            "unparsed".into(),
            failure_shift(
                &d.failures[0].unparsed,
                &d.failures[1].unparsed,
                d.unparsed_shift,
            ),
        ),
        (
            "refused".into(),
            failure_shift(
                &d.failures[0].refused,
                &d.failures[1].refused,
                d.refused_shift,
            ),
        ),
        (
            "bootstrap".into(),
            if d.resamples > 0 {
                format!(
                    "{} paired resamples of {} templates, seed {}",
                    d.resamples, d.clusters, d.seed
                )
            } else {
                format!("none ({} templates)", d.clusters)
            },
        ),
        (
            "moved beyond chance".into(),
            format!("{} of {} values", d.changed, d.values.len()),
        ),
    ]
}

fn diff_sections(d: &Diff) -> Vec<Section> {
    let mut out = Vec::new();
    if !d.verdicts.is_empty() {
        out.push(Section {
            title: "Verdicts".into(),
            headers: vec!["verdict", "base", "compared", "shift", "95% Newcombe"],
            numeric: vec![false, true, true, true, true],
            rows: d
                .verdicts
                .iter()
                .map(|v| {
                    vec![
                        v.verdict.clone(),
                        format!("{}% ({}/{})", pct(v.base.rate), v.base.k, v.base.n),
                        format!("{}% ({}/{})", pct(v.other.rate), v.other.k, v.other.n),
                        signed(100.0 * (v.other.rate - v.base.rate)),
                        format!(
                            "[{}, {}]",
                            signed(100.0 * v.shift.low),
                            signed(100.0 * v.shift.high)
                        ),
                    ]
                })
                .collect(),
        });
    }
    const RUNS: [&str; 2] = ["base score", "compared score"];
    out.push(shift_section(
        "Values".into(),
        &d.values.iter().collect::<Vec<_>>(),
        RUNS,
    ));
    for g in &d.labels {
        out.push(shift_section(
            format!("Labels of {}", g.framework),
            &g.values.iter().collect::<Vec<_>>(),
            RUNS,
        ));
    }
    if !d.rollup.is_empty() {
        out.push(shift_section(
            "Up the hierarchy".into(),
            &d.rollup.iter().collect::<Vec<_>>(),
            RUNS,
        ));
    }
    out.extend(party_shift_section(
        "Parties".into(),
        &d.parties,
        ["base", "compared"],
    ));
    out
}

pub(super) fn diff_table(d: &Diff) -> String {
    let mut out = String::new();
    let facts = diff_facts(d);
    let w = facts.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    for (k, v) in &facts {
        let _ = writeln!(out, "{k:w$}  {v}");
    }
    for s in diff_sections(d) {
        grid(&mut out, s);
    }
    notes(&mut out, &d.notes, "\nnote: ");
    out
}

pub(super) fn diff_markdown(d: &Diff) -> String {
    let mut out = "# Comparison\n\n| | |\n|---|---|\n".to_string();
    for (k, v) in diff_facts(d) {
        let _ = writeln!(out, "| {} | {} |", md_cell(&k), md_cell(&v));
    }
    for s in diff_sections(d) {
        md(&mut out, s);
    }
    notes(&mut out, &d.notes, "\n> ");
    out
}

fn raters_facts(r: &super::raters::Raters) -> Vec<(String, String)> {
    let a = &r.agreement;
    vec![
        (
            "first".into(),
            format!("{} ({} rated by it alone)", r.a, r.only_a),
        ),
        (
            "second".into(),
            format!("{} ({} rated by it alone)", r.b, r.only_b),
        ),
        (
            "both rated".into(),
            format!("{} answers, {} templates", a.n, a.clusters),
        ),
        (
            "agree".into(),
            format!(
                "{}% [{}, {}]",
                pct(a.observed),
                pct(a.observed_interval.0),
                pct(a.observed_interval.1)
            ),
        ),
        ("by chance".into(), format!("{}%", pct(a.expected))),
        (
            "Cohen's kappa".into(),
            match (a.kappa, a.kappa_interval) {
                (Some(k), Some((lo, hi))) => {
                    format!("{k:+.3} [{lo:+.3}, {hi:+.3}] (95% bootstrap)")
                }
                (Some(k), None) => format!("{k:+.3} (no interval: fewer than two templates)"),
                (None, _) => "– (both gave every answer one and the same label)".into(),
            },
        ),
    ]
}

fn confusion_section(r: &super::raters::Raters) -> Section {
    Section {
        title: "Labels given (first rater, second rater)".into(),
        headers: vec!["first", "second", "answers"],
        numeric: vec![false, false, true],
        rows: r
            .confusion
            .iter()
            .map(|(a, b, n)| vec![a.clone(), b.clone(), n.to_string()])
            .collect(),
    }
}

pub(super) fn raters_table(r: &super::raters::Raters) -> String {
    let mut out = String::new();
    let facts = raters_facts(r);
    let w = facts.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    for (k, v) in &facts {
        let _ = writeln!(out, "{k:w$}  {v}");
    }
    grid(&mut out, confusion_section(r));
    out
}

pub(super) fn raters_markdown(r: &super::raters::Raters) -> String {
    let mut out = String::from("# Agreement\n\n| | |\n|---|---|\n");
    for (k, v) in raters_facts(r) {
        let _ = writeln!(out, "| {} | {} |", md_cell(&k), md_cell(&v));
    }
    md(&mut out, confusion_section(r));
    out
}
