//! The HTML report: one self-contained page (inline CSS, SVG and a little script), so it
//! opens offline and can be mailed or archived with a paper. Charts are drawn here as SVG
//! (the conflict graph laid out by [`super::layout`]); the script only runs the browser of
//! scenarios: it pages and filters the scenarios of a [`Browse`], embedded once as JSON with
//! a table of repeated strings, and shows those behind a clicked bar, cell, row or node.
//!
//! Every number is written with a fixed number of decimals and nothing depends on the time
//! or the machine, so the same report gives the same bytes.

use std::fmt::Write as _;

use super::browse::Browse;
use super::layout;
use super::{Interval, Report, Shift, ValueStats};

/// The most values the heatmap and the graph show (those in the most conflicts).
const MOST_VALUES: usize = 40;

pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Red (0) through light grey (0.5) to blue (1).
fn colour(x: f64) -> String {
    let x = if x.is_finite() {
        x.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let (from, to, t) = if x < 0.5 {
        ((192.0, 57.0, 43.0), (236.0, 236.0, 236.0), x / 0.5)
    } else {
        ((236.0, 236.0, 236.0), (36.0, 113.0, 163.0), (x - 0.5) / 0.5)
    };
    let mix = |a: f64, b: f64| (a + (b - a) * t).round() as u8;
    format!(
        "#{:02x}{:02x}{:02x}",
        mix(from.0, to.0),
        mix(from.1, to.1),
        mix(from.2, to.2)
    )
}

fn shown_name(value: &str, label: Option<&str>) -> String {
    match label {
        Some(l) if !l.is_empty() => l.to_string(),
        _ => value.rsplit('.').next().unwrap_or(value).to_string(),
    }
}

/// One bar of a diverging chart.
struct Bar {
    key: String,
    name: String,
    title: String,
    value: f64,
    interval: Option<Interval>,
}

/// A diverging bar chart over `[-range, range]`.
fn diverging(out: &mut String, id: &str, caption: &str, bars: &[Bar], range: f64) {
    const LABEL: f64 = 240.0;
    const PLOT: f64 = 560.0;
    const ROW: f64 = 18.0;
    const TOP: f64 = 24.0;
    let height = TOP + ROW * bars.len() as f64 + 10.0;
    let centre = LABEL + PLOT / 2.0;
    let x = |v: f64| centre + (v.clamp(-range, range) / range) * (PLOT / 2.0);
    let _ = writeln!(
        out,
        "<figure><figcaption>{}</figcaption><svg id=\"{}\" class=\"chart\" role=\"img\" \
         viewBox=\"0 0 {:.0} {:.0}\" width=\"{:.0}\" height=\"{:.0}\">",
        esc(caption),
        esc(id),
        LABEL + PLOT + 20.0,
        height,
        LABEL + PLOT + 20.0,
        height
    );
    for tick in [-1.0, -0.5, 0.0, 0.5, 1.0] {
        let v = tick * range;
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\"/>\
             <text class=\"tick\" x=\"{0:.1}\" y=\"{3:.1}\">{4:.0}</text>",
            x(v),
            TOP - 6.0,
            height - 6.0,
            TOP - 10.0,
            v
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let (x0, x1) = (x(0.0), x(if b.value.is_finite() { b.value } else { 0.0 }));
        let class = if b.value >= 0.0 { "pos" } else { "neg" };
        let _ = writeln!(
            out,
            "<g class=\"cell\" data-key=\"{}\"><title>{}</title>\
             <text class=\"name\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
             <rect class=\"{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\"/>",
            esc(&b.key),
            esc(&b.title),
            LABEL - 8.0,
            y + ROW * 0.7,
            esc(&layout::fit(&b.name, LABEL - 12.0)),
            class,
            x0.min(x1),
            y + 3.0,
            (x1 - x0).abs().max(0.5),
            ROW - 6.0
        );
        if let Some(i) = b.interval {
            let (lo, hi, mid) = (x(i.low), x(i.high), y + ROW / 2.0);
            let _ = writeln!(
                out,
                "<path class=\"whisker\" d=\"M{lo:.1} {mid:.1}H{hi:.1}M{lo:.1} {:.1}V{:.1}M{hi:.1} {:.1}V{:.1}\"/>",
                mid - 4.0,
                mid + 4.0,
                mid - 4.0,
                mid + 4.0
            );
        }
        let _ = writeln!(out, "</g>");
    }
    let _ = writeln!(out, "</svg></figure>");
}

/// The summary's sentence on the most upheld and most neglected values (HTML): every value
/// tied at the top or bottom is named, and a score whose interval includes 0 is said to be
/// indistinguishable from indifference.
fn headline(values: &[ValueStats]) -> Option<String> {
    let (top, bottom) = (values.first()?, values.last()?);
    let side = |edge: &ValueStats| -> String {
        let tied: Vec<&ValueStats> = values
            .iter()
            .filter(|v| (v.score - edge.score).abs() < 1e-9)
            .collect();
        let mut names: Vec<String> = tied
            .iter()
            .take(5)
            .map(|v| format!("<b>{}</b>", esc(&v.value)))
            .collect();
        if tied.len() > 5 {
            names.push(format!("{} more", tied.len() - 5));
        }
        let who = match tied.len() {
            1 => names.concat(),
            n => format!("{n} values tied ({})", names.join(", ")),
        };
        let i = edge.score_interval;
        let doubt = if i.low <= 0.0 && i.high >= 0.0 {
            ", but its 95% interval includes 0: not distinguishable from indifference"
        } else {
            ""
        };
        format!(
            "{who} (score {:.1}, 95% [{:.1}, {:.1}]{doubt})",
            edge.score, i.low, i.high
        )
    };
    if values.len() == 1 {
        return Some(format!("Only one value was scored: {}.", side(top)));
    }
    Some(format!(
        "Most upheld: {}; most neglected: {}.",
        side(top),
        side(bottom)
    ))
}

/// The interval a chart draws: the union of the Wilson and bootstrap intervals, the more
/// cautious reading.
fn drawn(wilson: Interval, bootstrap: Option<Interval>) -> Interval {
    bootstrap.map_or(wilson, |b| wilson.union(b))
}

/// The bars of a table of values; with `kinds`, each name says whether it is a value, a
/// right or a duty.
fn value_bars(view: &str, values: &[ValueStats], kinds: bool) -> Vec<Bar> {
    values
        .iter()
        .map(|v| Bar {
            key: format!("{view}:{}", v.value),
            name: if kinds {
                format!(
                    "{} ({})",
                    shown_name(&v.value, v.label.as_deref()),
                    super::text::kind(v.kind)
                )
            } else {
                shown_name(&v.value, v.label.as_deref())
            },
            title: format!(
                "{}{}: score {:.1} (selected {}, neglected {}); win rate in conflict {:.1}% of {}",
                v.value,
                if kinds {
                    format!(", {}", super::text::kind(v.kind))
                } else {
                    String::new()
                },
                v.score,
                v.selected,
                v.neglected,
                100.0 * v.wins.rate,
                v.wins.n
            ),
            value: v.score,
            interval: Some(drawn(v.score_interval, v.score_bootstrap)),
        })
        .map(|mut b| {
            if let Some(v) = values.iter().find(|v| b.key.ends_with(&v.value))
                && v.either > 0
            {
                b.title
                    .push_str(&format!("; either in {} chosen option(s)", v.either));
            }
            b
        })
        .collect()
}

fn shift_bars(shifts: &[Shift]) -> Vec<Bar> {
    shifts
        .iter()
        .map(|s| Bar {
            key: format!("values:{}", s.value),
            name: format!(
                "{}{}",
                shown_name(&s.value, s.label.as_deref()),
                if s.changed { " *" } else { "" }
            ),
            title: format!(
                "{}: {:.1} → {:.1} ({:+.1}){}",
                s.value,
                s.base_score,
                s.score,
                s.delta,
                if s.changed { ", beyond chance" } else { "" }
            ),
            value: s.delta,
            interval: Some(drawn(s.interval, s.bootstrap)),
        })
        .collect()
}

/// A value of the heatmap and the graph: its name, the name shown, its win rate in
/// conflict, and its Bradley–Terry group and parent (the order the layouts start from, so
/// that values which meet start together).
type Shown = (String, String, f64, (u32, Option<String>));

/// The most pairs the list of pairs shows (the JSON report has every pair).
const MOST_PAIRS: usize = 300;
/// The most values the heatmap shows.
const HEATMAP_VALUES: usize = 16;

/// A value of the ranking as the charts show it.
fn shown(r: &Report, x: &super::Ranked) -> Shown {
    let stats = r.values.iter().find(|v| v.value == x.value);
    (
        x.value.clone(),
        layout::shorten(
            &shown_name(&x.value, x.label.as_deref()),
            layout::LABEL_CHARS,
        ),
        stats.map_or(f64::NAN, |v| v.wins.rate),
        (x.group, stats.and_then(|v| v.parent.clone())),
    )
}

/// The values of the graph: those in the most conflicts, in ranking order.
fn chosen_values(r: &Report) -> Vec<Shown> {
    let mut ranked: Vec<&super::Ranked> = r.ranking.iter().collect();
    ranked.sort_by(|a, b| b.games.cmp(&a.games).then_with(|| a.rank.cmp(&b.rank)));
    ranked.truncate(MOST_VALUES);
    ranked.sort_by(|a, b| (a.group, a.rank, &a.value).cmp(&(b.group, b.rank, &b.value)));
    ranked.iter().map(|x| shown(r, x)).collect()
}

/// The values of the heatmap: where most cells have data. The values with the most
/// partners (up to [`HEATMAP_VALUES`]), less those that met none of the others; `None` when
/// fewer than three values or three pairs remain, or fewer than a third of the cells would
/// be filled (the list of pairs then says it all).
fn heatmap_values(r: &Report) -> Option<Vec<Shown>> {
    use std::collections::{BTreeMap, BTreeSet};
    let mut partners: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in &r.pairs {
        partners.entry(&p.a).or_default().insert(&p.b);
        partners.entry(&p.b).or_default().insert(&p.a);
    }
    let mut by_degree: Vec<(&str, usize)> = partners.iter().map(|(v, p)| (*v, p.len())).collect();
    by_degree.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut kept: BTreeSet<&str> = by_degree
        .iter()
        .take(HEATMAP_VALUES)
        .map(|(v, _)| *v)
        .collect();
    loop {
        let lonely: Vec<&str> = kept
            .iter()
            .copied()
            .filter(|v| !partners[v].iter().any(|p| kept.contains(p)))
            .collect();
        if lonely.is_empty() {
            break;
        }
        for v in lonely {
            kept.remove(v);
        }
    }
    let cells = r
        .pairs
        .iter()
        .filter(|p| kept.contains(p.a.as_str()) && kept.contains(p.b.as_str()))
        .count();
    let n = kept.len();
    if n < 3 || cells < 3 || cells * 3 < n * (n - 1) / 2 {
        return None;
    }
    let mut ranked: Vec<&super::Ranked> = r
        .ranking
        .iter()
        .filter(|x| kept.contains(x.value.as_str()))
        .collect();
    ranked.sort_by(|a, b| (a.group, a.rank, &a.value).cmp(&(b.group, b.rank, &b.value)));
    Some(ranked.iter().map(|x| shown(r, x)).collect())
}

/// Every pair that met, most conflicts first: the win rate of the first value with its
/// Wilson interval, as a row each (a table, so no label is ever cut).
fn pair_list(out: &mut String, r: &Report) {
    let mut pairs: Vec<&super::PairStats> = r.pairs.iter().collect();
    pairs.sort_by(|x, y| {
        y.a_wins
            .n
            .cmp(&x.a_wins.n)
            .then_with(|| (&x.a, &x.b).cmp(&(&y.a, &y.b)))
    });
    let _ = writeln!(
        out,
        "<h3>Pairs that met</h3><p class=\"muted\">{} pair{} of values met in conflict, most \
         conflicts first: the share of their conflicts the first value won, with its 95% \
         Wilson interval (the bar: the share; the whisker: the interval; the line: one half). \
         Click a row to see its scenarios.</p>",
        pairs.len(),
        if pairs.len() == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        out,
        "<table id=\"pairs-table\"><thead><tr><th>value</th><th>against</th>\
         <th class=\"n\">conflicts</th><th class=\"n\">won</th><th class=\"n\">95% interval</th>\
         <th></th></tr></thead><tbody>"
    );
    const W: f64 = 160.0;
    for p in pairs.iter().take(MOST_PAIRS) {
        let w = &p.a_wins;
        let x = |v: f64| 2.0 + v.clamp(0.0, 1.0) * (W - 4.0);
        let _ = writeln!(
            out,
            "<tr class=\"cell\" data-pair=\"{}|{}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{:.1}%</td><td class=\"n\">[{:.1}, {:.1}]</td><td>\
             <svg class=\"spark\" width=\"{W:.0}\" height=\"14\" viewBox=\"0 0 {W:.0} 14\" aria-hidden=\"true\">\
             <rect x=\"2\" y=\"3\" width=\"{:.1}\" height=\"8\" fill=\"{}\"/>\
             <path class=\"whisker\" d=\"M{:.1} 7H{:.1}M{:.1} 3V11M{:.1} 3V11\"/>\
             <path class=\"half\" d=\"M{:.1} 0V14\"/></svg></td></tr>",
            esc(&p.a),
            esc(&p.b),
            esc(&p.a),
            esc(&p.b),
            w.n,
            100.0 * w.rate,
            100.0 * w.low,
            100.0 * w.high,
            (x(w.rate) - 2.0).max(0.5),
            colour(w.rate),
            x(w.low),
            x(w.high),
            x(w.low),
            x(w.high),
            x(0.5)
        );
    }
    let _ = writeln!(out, "</tbody></table>");
    if pairs.len() > MOST_PAIRS {
        let _ = writeln!(
            out,
            "<p class=\"muted\">{} more pairs with fewer conflicts are left out here: \
             <code>quandary report --format json</code> lists every pair.</p>",
            pairs.len() - MOST_PAIRS
        );
    }
}

fn heatmap(out: &mut String, r: &Report, values: &[Shown]) {
    const CELL: f64 = 18.0;
    // Room for the longest name, so that none is cut.
    let widest = values
        .iter()
        .map(|v| layout::text_width(&v.1))
        .fold(0.0, f64::max);
    let left = widest + 14.0;
    let top = widest + 14.0;
    let n = values.len() as f64;
    let (width, height) = (left + CELL * n + 10.0, top + CELL * n + 10.0);
    let _ = writeln!(
        out,
        "<figure><figcaption>Pairwise win rates among the {} values that met most others: \
         the share of conflicts between the row's value and the column's that the row's \
         value won (blank: they never met)</figcaption>\
         <svg id=\"heatmap\" class=\"chart\" role=\"img\" viewBox=\"0 0 {width:.0} {height:.0}\" \
         width=\"{width:.0}\" height=\"{height:.0}\">",
        values.len()
    );
    for (i, (value, name, _, _)) in values.iter().enumerate() {
        let p = CELL * i as f64;
        let _ = writeln!(
            out,
            "<g><title>{}</title><text class=\"name\" x=\"{:.1}\" y=\"{:.1}\">{}</text>\
             <text class=\"col\" transform=\"translate({:.1} {:.1}) rotate(-90)\">{}</text></g>",
            esc(value),
            left - 6.0,
            top + p + CELL * 0.7,
            esc(name),
            left + p + CELL * 0.7,
            top - 6.0,
            esc(name)
        );
    }
    for pair in &r.pairs {
        let (Some(i), Some(j)) = (
            values.iter().position(|v| v.0 == pair.a),
            values.iter().position(|v| v.0 == pair.b),
        ) else {
            continue;
        };
        let rate = pair.a_wins.rate;
        for (row, col, share, (w, l)) in [
            (i, j, rate, (pair.a_wins.k, pair.a_wins.n - pair.a_wins.k)),
            (
                j,
                i,
                1.0 - rate,
                (pair.a_wins.n - pair.a_wins.k, pair.a_wins.k),
            ),
        ] {
            let _ = writeln!(
                out,
                "<rect class=\"cell\" data-pair=\"{}|{}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" \
                 height=\"{:.1}\" fill=\"{}\"><title>{} won {} of {} against {} ({:.1}%)</title></rect>",
                esc(&pair.a),
                esc(&pair.b),
                left + CELL * col as f64,
                top + CELL * row as f64,
                CELL - 1.0,
                CELL - 1.0,
                colour(share),
                esc(&values[row].0),
                w,
                w + l,
                esc(&values[col].0),
                100.0 * share
            );
        }
    }
    let _ = writeln!(out, "</svg></figure>");
}

fn graph(out: &mut String, r: &Report, values: &[Shown]) {
    let edges: Vec<(usize, usize, f64)> = r
        .pairs
        .iter()
        .filter_map(|p| {
            let i = values.iter().position(|v| v.0 == p.a)?;
            let j = values.iter().position(|v| v.0 == p.b)?;
            Some((i, j, p.a_wins.n as f64))
        })
        .collect();
    let names: Vec<String> = values.iter().map(|v| v.1.clone()).collect();
    let placed = layout::layout(&names, &edges);
    let (width, height) = (placed.width, placed.height);
    let _ = writeln!(
        out,
        "<figure><figcaption>The conflict graph: an edge for every pair that met (wider for \
         more conflicts), each value coloured by its win rate in conflict (red: loses, blue: \
         wins); values that meet are laid out near each other</figcaption><svg id=\"graph\" \
         class=\"chart\" role=\"img\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" \
         height=\"{height:.0}\">"
    );
    for (pair, &(i, j, n)) in r
        .pairs
        .iter()
        .filter(|p| values.iter().any(|v| v.0 == p.a) && values.iter().any(|v| v.0 == p.b))
        .zip(&edges)
    {
        let (a, b) = (placed.nodes[i], placed.nodes[j]);
        let _ = writeln!(
            out,
            "<line class=\"edge cell\" data-pair=\"{}|{}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" \
             y2=\"{:.1}\" stroke-width=\"{:.2}\"><title>{} against {}: {} of {} won by {}</title></line>",
            esc(&pair.a),
            esc(&pair.b),
            a.0,
            a.1,
            b.0,
            b.1,
            1.0 + n.log2().max(0.0) * 0.6,
            esc(&pair.a),
            esc(&pair.b),
            pair.a_wins.k,
            pair.a_wins.n,
            esc(&pair.a)
        );
    }
    for (i, (value, name, rate, _)) in values.iter().enumerate() {
        let (x, y) = placed.nodes[i];
        let _ = writeln!(
            out,
            "<g class=\"cell\" data-key=\"values:{}\"><title>{}: wins {:.1}% of its conflicts</title>\
             <circle class=\"node\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"{:.0}\" fill=\"{}\"/>\
             <text class=\"node-label\" x=\"{:.1}\" y=\"{:.1}\">{}</text></g>",
            esc(value),
            esc(value),
            100.0 * rate,
            layout::RADIUS,
            colour(*rate),
            x + layout::RADIUS + 5.0,
            y + 4.0,
            esc(name)
        );
    }
    let _ = writeln!(out, "</svg></figure>");
}

/// Similarity per population: a bar for the plain answers, one for the answers given as
/// that population, and the pass mark as a tick.
fn survey_section(out: &mut String, survey: &super::alignment::Survey) {
    const LABEL: f64 = 200.0;
    const PLOT: f64 = 500.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 24.0;
    let _ = writeln!(
        out,
        "<section id=\"survey\"><h2>Survey questions</h2><p class=\"muted\">Similarity of \
         the model's answer distributions to each population's (1 − Jensen–Shannon distance, \
         base 2), over {} questions: dark bars for the plain answers, light bars for the \
         answers given as someone from that population; a tick marks the pass mark.</p>",
        survey.questions
    );
    let height = TOP + ROW * survey.populations.len() as f64 + 10.0;
    let x = |v: f64| LABEL + v.clamp(0.0, 1.0) * PLOT;
    let _ = writeln!(
        out,
        "<figure><svg id=\"chart-survey\" class=\"chart\" role=\"img\" viewBox=\"0 0 {w:.0} \
         {height:.0}\" width=\"{w:.0}\" height=\"{height:.0}\">",
        w = LABEL + PLOT + 20.0
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\"/>\
             <text class=\"tick\" x=\"{0:.1}\" y=\"{3:.1}\">{4:.2}</text>",
            x(tick),
            TOP - 6.0,
            height - 6.0,
            TOP - 10.0,
            tick
        );
    }
    for (i, p) in survey.populations.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let _ = writeln!(
            out,
            "<g><title>{}: {} plain, {} as {}</title><text class=\"name\" x=\"{:.1}\" \
             y=\"{:.1}\">{}</text>",
            esc(&p.population),
            p.similarity.map_or("–".into(), |s| format!("{s:.3}")),
            p.persona_similarity
                .map_or("–".into(), |s| format!("{s:.3}")),
            esc(&p.population),
            LABEL - 8.0,
            y + ROW * 0.6,
            esc(&p.population)
        );
        for (value, dy, class) in [
            (p.similarity, 3.0, "pos"),
            (p.persona_similarity, 13.0, "persona"),
        ] {
            if let Some(v) = value {
                let _ = writeln!(
                    out,
                    "<rect class=\"{class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"9\"/>",
                    x(0.0),
                    y + dy,
                    (x(v) - x(0.0)).max(0.5)
                );
            }
        }
        if let Some(m) = p.pass {
            let _ = writeln!(
                out,
                "<path class=\"whisker\" d=\"M{0:.1} {1:.1}V{2:.1}\"/>",
                x(m),
                y + 1.0,
                y + ROW - 3.0
            );
        }
        let _ = writeln!(out, "</g>");
    }
    let _ = writeln!(out, "</svg></figure>");
    section_table(out, "survey-table", &super::text::survey_section(survey));
    if let Some(section) = super::text::survey_alignment_section(survey) {
        let _ = writeln!(
            out,
            "<h3>Alignment</h3><p class=\"muted\">{}. Averaged over the model's answers to \
             each question, then over questions (KorNAT's social-value alignment); a model \
             answering at random over k options scores 1/k.</p>",
            esc(&section.title)
        );
        section_table(out, "survey-alignment-table", &section);
    }
    let _ = writeln!(out, "</section>");
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d1d1f; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 1rem 0; } figcaption { color: #555; margin-bottom: .3rem; }
svg.chart { max-width: 100%; height: auto; background: #fff; }
svg .grid { stroke: #ddd; } svg .tick { font-size: 10px; fill: #777; text-anchor: middle; }
svg .name { font-size: 11px; text-anchor: end; fill: #222; } svg .col { font-size: 11px; fill: #222; }
svg .pos { fill: #2471a3; } svg .persona { fill: #9cc3e0; } svg .neg { fill: #c0392b; } svg .whisker { stroke: #111; stroke-width: 1.2; fill: none; }
svg .edge { stroke: #9aa5b1; stroke-opacity: .7; } svg .node { stroke: #333; }
svg .node-label { font-size: 11px; paint-order: stroke; stroke: #fff; stroke-width: 3px; stroke-linejoin: round; }
.cell { cursor: pointer; } .cell:hover rect, rect.cell:hover { opacity: .75; }
.notes li { color: #7a4b00; } details { margin: .5rem 0; } summary { cursor: pointer; }
.chosen { font-weight: 600; } .chosen::before { content: "✓ "; color: #2471a3; }
svg .half { stroke: #777; stroke-dasharray: 2 2; } tr.cell:hover { background: #f3f6f9; }
#filters { display: flex; flex-wrap: wrap; gap: .4rem 1rem; align-items: center; margin: .5rem 0; } #filters select { max-width: 16rem; }
#cell-filter { background: #e8f0f7; padding: 1px 6px; border-radius: 4px; }
.pager { margin: .5rem 0; } .pager button { font: inherit; }
article.scenario { border-top: 1px solid #ddd; padding: .4rem 0 .6rem; } article.scenario h3 { font-size: .95rem; margin: .2rem 0; color: #555; }
article.scenario .dilemma { white-space: pre-wrap; margin: .3rem 0; } article.scenario ol { margin: .2rem 0; }
pre.raw, details.prompt pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: 4px 6px; margin: .2rem 0; max-height: 20rem; overflow: auto; }
.muted { color: #777; }
"#;

const SCRIPT: &str = r#"
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var S = data.strings, all = data.scenarios, PAGE = 20;
  var state = { cell: null, value: '', template: '', choice: '', agree: '', epoch: '', text: '', page: 0 };
  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function fill(select, values) {
    values.forEach(function (v) { var o = el('option', null, v); o.value = v; select.appendChild(o); });
  }
  function distinct(f) {
    var seen = {}, out = [];
    all.forEach(function (s) { f(s).forEach(function (v) { if (!seen.hasOwnProperty(v)) { seen[v] = 1; out.push(v); } }); });
    return out.sort();
  }
  fill($('f-value'), distinct(function (s) {
    var v = []; s.o.forEach(function (o) { o[2].forEach(function (u) { v.push(S[u]); }); }); return v;
  }));
  fill($('f-template'), distinct(function (s) { return [S[s.t]]; }));
  fill($('f-choice'), distinct(function (s) { return [S[s.c]]; }));
  if (data.epochs > 1) {
    var epochs = {};
    all.forEach(function (s) { epochs[s.e || 0] = 1; });
    fill($('f-epoch'), Object.keys(epochs).map(Number).sort(function (a, b) { return a - b; }).map(String));
    $('epoch-filter').hidden = false;
  }
  function tags(s) {
    var t = [];
    // Twins agree or differ only when both named an action (a failure is neither).
    var acts = s.o.map(function (o) { return S[o[0]]; });
    if (!s.tw) t.push('no-twin');
    else if (acts.indexOf(S[s.c]) >= 0 && acts.indexOf(S[s.tw[1]]) >= 0)
      t.push(S[s.tw[1]] === S[s.c] ? 'twins-agree' : 'twins-differ');
    if (s.rd && s.rd.length > 1) {
      var first = s.rd[0][1];
      t.push(s.rd.every(function (r) { return r[1] === first; }) ? 'readings-agree' : 'readings-differ');
    }
    return t;
  }
  function met(s, c) {
    return s.pr.some(function (p) {
      return (S[p[0]] === c.a && S[p[1]] === c.b) || (S[p[0]] === c.b && S[p[1]] === c.a);
    });
  }
  function matches(s) {
    var c = state.cell;
    if (c && c.pair) {
      if (!met(s, c)) return false;
    } else if (c && !s.k.some(function (k) { return S[k] === c.key; })) return false;
    if (state.value && !s.o.some(function (o) { return o[2].some(function (u) { return S[u] === state.value; }); })) return false;
    if (state.template && S[s.t] !== state.template) return false;
    if (state.choice && S[s.c] !== state.choice) return false;
    if (state.epoch && String(s.e || 0) !== state.epoch) return false;
    if (state.agree && tags(s).indexOf(state.agree) < 0) return false;
    if (state.text) {
      var hay = (s.x + ' ' + (s.r || '') + ' ' + s.o.map(function (o) { return S[o[1]]; }).join(' ')).toLowerCase();
      if (hay.indexOf(state.text) < 0) return false;
    }
    return true;
  }
  function line(parent, label, text, cls) {
    var p = el('div', cls);
    p.appendChild(el('b', null, label + ' '));
    p.appendChild(document.createTextNode(text));
    parent.appendChild(p);
    return p;
  }
  function card(s) {
    var a = el('article', 'scenario');
    a.setAttribute('data-index', String(s.i));
    a.appendChild(el('h3', null, '#' + s.i + ' · ' + S[s.t] + ' · ' + s.id + (data.epochs > 1 ? ' · epoch ' + (s.e || 0) : '')));
    a.appendChild(el('p', 'dilemma', s.x));
    var ol = el('ol', 'options');
    s.o.forEach(function (o, k) {
      var li = el('li', S[o[0]] === S[s.c] ? 'chosen' : null);
      var values = o[3] ? 'distractor' : o[2].map(function (u) { return S[u]; }).join(', ');
      var text = S[o[1]] + ' (' + S[o[0]] + ') [' + values + ']';
      if (s.p && s.p[k] !== null && s.p[k] !== undefined) text += ' · p = ' + s.p[k].toFixed(3);
      li.textContent = text;
      ol.appendChild(li);
    });
    a.appendChild(ol);
    line(a, 'Choice', S[s.c] + (s.ru !== undefined ? ' (read by ' + S[s.ru] + ')' : ''));
    var raw = line(a, 'Answer', '');
    raw.appendChild(el('pre', 'raw', s.r === undefined ? '(not recorded)' : s.r));
    if (s.rs !== undefined) { var r = line(a, 'Reasoning', ''); r.appendChild(el('pre', 'raw', s.rs)); }
    var readings = [];
    if (s.rd) readings.push(s.rd.map(function (r) { return S[r[0]] + ' → ' + S[r[1]]; }).join(', '));
    if (s.tw) {
      var tag = tags(s);
      readings.push('its twin #' + s.tw[0] + ' (options swapped) ' +
        (tag.indexOf('twins-agree') >= 0 ? 'chose ' + S[s.tw[1]] + ': the same action'
         : tag.indexOf('twins-differ') >= 0 ? 'chose ' + S[s.tw[1]] + ': a different action'
         : 'answered ' + S[s.tw[1]]));
    }
    if (readings.length) line(a, 'Readings', readings.join('; '), 'readings');
    if (s.pm !== undefined) {
      var d = el('details', 'prompt');
      d.appendChild(el('summary', null, 'Prompt as sent'));
      if (s.sy !== undefined) d.appendChild(el('pre', 'system', 'system: ' + S[s.sy]));
      d.appendChild(el('pre', 'user', s.pm));
      a.appendChild(d);
    }
    return a;
  }
  function render() {
    var list = all.filter(matches);
    var pages = Math.max(1, Math.ceil(list.length / PAGE));
    state.page = Math.min(Math.max(0, state.page), pages - 1);
    var from = state.page * PAGE, to = Math.min(list.length, from + PAGE);
    var box = $('scenarios');
    while (box.firstChild) box.removeChild(box.firstChild);
    list.slice(from, to).forEach(function (s) { box.appendChild(card(s)); });
    $('page-info').textContent = list.length === 0 ? 'no scenario matches' :
      'scenarios ' + (from + 1) + '–' + to + ' of ' + list.length + (list.length === all.length ? '' : ' (of ' + all.length + ' in this page)');
    $('prev').disabled = state.page === 0;
    $('next').disabled = state.page >= pages - 1;
    var note = $('cell-note');
    note.hidden = true;
    if (state.cell) {
      var c = state.cell;
      var behind = c.pair ? (data.cells[c.a + '|' + c.b] || data.cells[c.b + '|' + c.a] || 0) : (data.cells[c.key] || 0);
      var listed = cellCount();
      if (behind > listed) {
        note.hidden = false;
        note.textContent = (behind - listed) + ' more of the ' + behind + ' answers behind this cell are past ' +
          'the page\u2019s bound and not listed: quandary explain FILE ID shows one, and the journal holds its answer.';
      }
    }
  }
  function cellCount() {
    var c = state.cell;
    return all.filter(function (s) {
      return c.pair ? met(s, c)
                    : s.k.some(function (k) { return S[k] === c.key; });
    }).length;
  }
  function setCell(cell, title) {
    state.cell = cell; state.page = 0;
    $('cell-filter').hidden = !cell;
    $('cell-name').textContent = title || '';
    $('scenarios-title').textContent = title || 'Scenarios';
    render();
  }
  function open(hash) {
    var m = /^#(value|pair)=(.*)$/.exec(hash);
    if (!m) { render(); return false; }
    var key = decodeURIComponent(m[2]);
    if (m[1] === 'value') setCell({ key: key }, 'Scenarios where ' + key.replace(/^[^:]*:/, '') + ' was in conflict');
    else { var ab = key.split('|'); setCell({ pair: true, a: ab[0], b: ab[1] }, 'Scenarios where ' + ab.join(' and ') + ' met'); }
    return true;
  }
  [['f-value', 'value'], ['f-template', 'template'], ['f-choice', 'choice'], ['f-agree', 'agree'], ['f-epoch', 'epoch']].forEach(function (f) {
    $(f[0]).addEventListener('change', function (e) { state[f[1]] = e.target.value; state.page = 0; render(); });
  });
  $('f-text').addEventListener('input', function (e) { state.text = e.target.value.toLowerCase(); state.page = 0; render(); });
  $('prev').addEventListener('click', function () { state.page -= 1; render(); });
  $('next').addEventListener('click', function () { state.page += 1; render(); });
  $('clear-cell').addEventListener('click', function () { history.replaceState(null, '', '#'); setCell(null, null); });
  document.addEventListener('click', function (e) {
    var target = e.target.closest ? e.target.closest('[data-key],[data-pair]') : null;
    if (!target) return;
    var hash = target.hasAttribute('data-key') ? '#value=' + encodeURIComponent(target.getAttribute('data-key'))
                                               : '#pair=' + encodeURIComponent(target.getAttribute('data-pair'));
    history.replaceState(null, '', hash);
    open(hash);
    $('scenarios-section').scrollIntoView({ behavior: 'smooth' });
  });
  open(location.hash);
})();
"#;

fn table(out: &mut String, id: &str, headers: &[(&str, bool)], rows: &[Vec<String>]) {
    let _ = write!(out, "<table id=\"{id}\"><thead><tr>");
    for (h, numeric) in headers {
        let _ = write!(
            out,
            "<th{}>{}</th>",
            if *numeric { " class=\"n\"" } else { "" },
            esc(h)
        );
    }
    let _ = writeln!(out, "</tr></thead><tbody>");
    for row in rows {
        let _ = write!(out, "<tr>");
        for (cell, (_, numeric)) in row.iter().zip(headers) {
            let _ = write!(
                out,
                "<td{}>{}</td>",
                if *numeric { " class=\"n\"" } else { "" },
                esc(cell)
            );
        }
        let _ = writeln!(out, "</tr>");
    }
    let _ = writeln!(out, "</tbody></table>");
}

/// A table of the text report's `section`, without its title.
fn section_table(out: &mut String, id: &str, section: &super::text::Section) {
    let headers: Vec<(&str, bool)> = section
        .headers
        .iter()
        .copied()
        .zip(section.numeric.iter().copied())
        .collect();
    table(out, id, &headers, &section.rows);
}

fn id_part(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// Strings said once in the page's data, each then named by its position.
#[derive(Default)]
struct Strings(indexmap::IndexSet<String>);

impl Strings {
    fn id(&mut self, s: &str) -> usize {
        match self.0.get_index_of(s) {
            Some(i) => i,
            None => self.0.insert_full(s.to_string()).0,
        }
    }
}

/// The data the script reads: every scenario of `browse`, compactly (repeated strings said
/// once, in `strings`, and named by position), as JSON safe inside a script element.
fn data(browse: &Browse) -> String {
    use serde_json::{Value, json};
    let mut strings = Strings::default();
    let scenarios: Vec<Value> = browse
        .scenarios
        .iter()
        .map(|e| {
            let mut o = serde_json::Map::new();
            o.insert("i".into(), json!(e.index));
            if browse.epochs > 1 {
                o.insert("e".into(), json!(e.epoch));
            }
            o.insert("id".into(), json!(e.id));
            o.insert("t".into(), json!(strings.id(&e.template)));
            o.insert("x".into(), json!(e.text));
            let options: Vec<Value> = e
                .options
                .iter()
                .map(|a| {
                    let upholds: Vec<usize> = a.upholds.iter().map(|v| strings.id(v)).collect();
                    json!([
                        strings.id(&a.id),
                        strings.id(&a.label),
                        upholds,
                        u8::from(a.distractor)
                    ])
                })
                .collect();
            o.insert("o".into(), json!(options));
            o.insert("c".into(), json!(strings.id(&e.choice)));
            if let Some(raw) = &e.raw {
                o.insert("r".into(), json!(raw));
            }
            if let Some(r) = &e.reasoning {
                o.insert("rs".into(), json!(r));
            }
            if let Some(rule) = &e.rule {
                o.insert("ru".into(), json!(strings.id(rule)));
            }
            if let Some(p) = &e.probabilities {
                o.insert("p".into(), json!(p));
            }
            if !e.readings.is_empty() {
                let readings: Vec<Value> = e
                    .readings
                    .iter()
                    .map(|(k, v)| json!([strings.id(k), strings.id(v)]))
                    .collect();
                o.insert("rd".into(), json!(readings));
            }
            if let Some((index, choice)) = &e.twin {
                o.insert("tw".into(), json!([index, strings.id(choice)]));
            }
            if let Some(system) = &e.system {
                o.insert("sy".into(), json!(strings.id(system)));
            }
            if let Some(prompt) = &e.prompt {
                o.insert("pm".into(), json!(prompt));
            }
            let cells: Vec<usize> = e.cells.iter().map(|c| strings.id(c)).collect();
            o.insert("k".into(), json!(cells));
            let pairs: Vec<Value> = e
                .pairs
                .iter()
                .map(|(a, b)| json!([strings.id(a), strings.id(b)]))
                .collect();
            o.insert("pr".into(), json!(pairs));
            Value::Object(o)
        })
        .collect();
    let json = json!({
        "strings": strings.0.into_iter().collect::<Vec<String>>(),
        "scenarios": scenarios,
        "answered": browse.answered,
        "left_out": browse.left_out,
        "epochs": browse.epochs,
        "cells": browse.cells,
        "results": browse.results,
        "prompts": browse.prompts,
    });
    json.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The whole page.
pub(super) fn page(r: &Report, browse: &Browse) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let title = format!(
        "quandary report: {}",
        r.suite.as_deref().unwrap_or("results")
    );
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"quandary {}\"><title>{}</title><style>{}</style></head><body>",
        esc(&r.quandary),
        esc(&title),
        STYLE
    );
    let _ = writeln!(out, "<h1>{}</h1>", esc(&title));

    // Summary.
    let _ = writeln!(out, "<section id=\"summary\"><h2>Summary</h2>");
    let facts: Vec<Vec<String>> = super::text::summary(r)
        .into_iter()
        .map(|(k, v)| vec![k, v])
        .collect();
    table(&mut out, "facts", &[("", false), ("", false)], &facts);
    // What can make the figures below misleading comes first.
    if !r.notes.is_empty() {
        let _ = writeln!(out, "<ul class=\"notes\">");
        for n in &r.notes {
            let _ = writeln!(out, "<li>{}</li>", esc(n));
        }
        let _ = writeln!(out, "</ul>");
    }
    if let Some(line) = headline(&r.values) {
        let _ = writeln!(out, "<p>{line}</p>");
    }
    if !r.values.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"muted\">Scores run from −100 (always on the rejected side) to 100 (always \
         chosen). Whiskers show the wider of the Wilson and the cluster-bootstrap 95% \
         intervals. Click a bar, a cell or a node to see the scenarios behind it.</p>"
        );
    }
    let _ = writeln!(out, "</section>");

    // Values.
    if !r.values.is_empty() {
        let _ = writeln!(out, "<section id=\"values\"><h2>Values</h2>");
        diverging(
            &mut out,
            "chart-values",
            "Score per value (upheld by the chosen option minus by the rejected one)",
            &value_bars("values", &r.values, r.has_kinds()),
            100.0,
        );
        let _ = writeln!(out, "</section>");
    }

    if !r.labels.is_empty() {
        let _ = writeln!(out, "<section id=\"labels\"><h2>Theory labels</h2>");
        for g in &r.labels {
            diverging(
                &mut out,
                &format!("chart-labels-{}", id_part(&g.framework)),
                &format!("Score per label of {}", g.framework),
                &value_bars(&g.framework, &g.values, r.has_kinds()),
                100.0,
            );
        }
        let _ = writeln!(out, "</section>");
    }
    if !r.rollup.is_empty() {
        let _ = writeln!(out, "<section id=\"hierarchy\"><h2>Up the hierarchy</h2>");
        diverging(
            &mut out,
            "chart-hierarchy",
            "Score per value, counting every value below it",
            &value_bars("hierarchy", &r.rollup, r.has_kinds()),
            100.0,
        );
        let _ = writeln!(out, "</section>");
    }

    // Pairs, ranking and profiles: for dilemmas only.
    if !r.values.is_empty() {
        // Pairs.
        let chosen = chosen_values(r);
        let _ = writeln!(
            out,
            "<section id=\"pairs\"><h2>Conflicts between values</h2>"
        );
        if chosen.is_empty() {
            let _ = writeln!(out, "<p>No two values met in conflict.</p>");
        } else {
            pair_list(&mut out, r);
            if let Some(dense) = heatmap_values(r) {
                heatmap(&mut out, r, &dense);
            }
            if r.ranking.len() > chosen.len() {
                let _ = writeln!(
                    out,
                    "<p class=\"muted\">The graph shows the {} values in the most conflicts of {} \
                     ranked.</p>",
                    chosen.len(),
                    r.ranking.len()
                );
            }
            graph(&mut out, r, &chosen);
        }
        let _ = writeln!(out, "</section>");

        // Ranking and profiles.
        let _ = writeln!(
            out,
            "<section id=\"ranking\"><h2>Bradley–Terry ranking</h2><p class=\"muted\">Strength is \
             a log-odds scale centred on the mean: a value beats another with probability \
             1/(1 + e<sup>−(difference)</sup>).</p>"
        );
        if let Some(section) = super::text::ranking_section(r) {
            section_table(&mut out, "ranking-table", &section);
        }
        if let Some(section) = super::text::profiles_section(r) {
            let _ = writeln!(out, "<h3>Agreement with profiles</h3>");
            section_table(&mut out, "profiles", &section);
        }
        let _ = writeln!(out, "</section>");
    }
    if let Some(v) = &r.verdicts {
        let _ = writeln!(
            out,
            "<section id=\"verdicts\"><h2>Verdicts</h2><p class=\"muted\">What the judge said of \
             each answer: each verdict's share with its 95% Wilson interval, and the entropy of \
             the verdicts divided by its largest value (0: one verdict for every answer, 1: \
             spread evenly).</p>"
        );
        for (i, section) in super::text::verdict_sections(v).into_iter().enumerate() {
            let _ = writeln!(out, "<h3>{}</h3>", esc(&section.title));
            section_table(&mut out, &format!("verdicts-{i}"), &section);
        }
        let _ = writeln!(out, "</section>");
    }
    if let Some(survey) = &r.survey {
        survey_section(&mut out, survey);
    }
    if !r.stances.is_empty() {
        let _ = writeln!(
            out,
            "<section id=\"stances\"><h2>Stances per country</h2><p class=\"muted\">How \
             often the model chose the country's statement over its reversal, sided with the \
             country when asked to agree or disagree, and agreed with exactly one of the two.</p>"
        );
        if let Some(section) = super::text::stances_section(r) {
            section_table(&mut out, "stance-table", &section);
        }
        let _ = writeln!(out, "</section>");
    }
    if let Some(section) = super::text::parties_section(r) {
        let _ = writeln!(
            out,
            "<section id=\"parties\"><h2>Parties</h2><p class=\"muted\">Per party the options \
             affect: among the answers where an option favours (harms) it, the share whose \
             chosen option does; direct and indirect effects apart.</p>"
        );
        section_table(&mut out, "parties-table", &section);
        let _ = writeln!(out, "</section>");
    }
    if !r.steers.is_empty() {
        let _ = writeln!(
            out,
            "<section id=\"steers\"><h2>Steering</h2><p class=\"muted\">Shift of each value's \
             score against the plain run; * marks a shift beyond chance (both intervals exclude \
             zero).</p>"
        );
        for s in &r.steers {
            let _ = writeln!(
                out,
                "<details{}><summary>{}: {} answered, {} value{} moved beyond chance</summary>",
                if r.steers.len() <= 3 { " open" } else { "" },
                esc(&s.steer),
                s.answered,
                s.changed,
                if s.changed == 1 { "" } else { "s" }
            );
            diverging(
                &mut out,
                &format!("chart-steer-{}", id_part(&s.steer)),
                &format!("Shift of each value's score under {}", s.steer),
                &shift_bars(&s.values),
                200.0,
            );
            if let Some(section) = super::text::party_shift_section(
                format!("Parties under {}", s.steer),
                &s.parties,
                ["plain", "steered"],
            ) {
                section_table(
                    &mut out,
                    &format!("steer-parties-{}", id_part(&s.steer)),
                    &section,
                );
            }
            let _ = writeln!(out, "</details>");
        }
        let _ = writeln!(out, "</section>");
    }

    browser(&mut out, browse);
    let _ = writeln!(
        out,
        "<script type=\"application/json\" id=\"report-data\">{}</script><script>{}</script></body></html>",
        data(browse),
        SCRIPT
    );
    out
}

/// The browser of scenarios: its filters, pager and list (the script fills them), and what
/// the page leaves out.
fn browser(out: &mut String, browse: &Browse) {
    let _ = writeln!(
        out,
        "<section id=\"scenarios-section\"><h2 id=\"scenarios-title\">Scenarios</h2>\
         <p class=\"muted\">Every answered scenario{}{}: the dilemma, the options as shown with \
         the values they uphold (✓ marks the choice), the raw answer, the probabilities and \
         readings where the journal has them, and how its order-swapped twin was answered. \
         Click a bar, a cell, a row or a node above to see the scenarios behind it; filter \
         and page through them here.</p>",
        if browse.epochs > 1 {
            format!(", once per epoch ({} epochs)", browse.epochs)
        } else {
            String::new()
        },
        if browse.prompts {
            ", with the prompt as sent"
        } else {
            ""
        }
    );
    if browse.left_out > 0 {
        let quota = match browse.quota {
            Some(q) if q > 0 => format!(
                "a sample that holds the first {q} answer{} behind every value, pair of values \
                 and template (in the suite's order; all of them where a cell has fewer), then \
                 the next ones in the suite's order as room allows",
                if q == 1 { "" } else { "s" }
            ),
            Some(_) => "a sample that holds an answer behind as many values, pairs of values \
                        and templates as fit, in the suite's order"
                .to_string(),
            None => "the first ones in the suite's order".to_string(),
        };
        let _ = writeln!(
            out,
            "<p id=\"bound-note\" class=\"notes\">This page holds {} of the {} answers: it is \
             bounded at {} answers or about {} MiB of text, so it keeps {quota}. The other {} \
             are counted in every figure but not listed: see one with <code>quandary explain \
             FILE ID</code>, or its answer in the journal <code>{}</code> (the line with its \
             <code>\"index\"</code>{}).</p>",
            browse.scenarios.len(),
            browse.answered,
            super::browse::MAX_SCENARIOS,
            super::browse::MAX_BYTES >> 20,
            browse.left_out,
            esc(&browse.results),
            if browse.epochs > 1 {
                " and <code>\"epoch\"</code>"
            } else {
                ""
            }
        );
    }
    let _ = writeln!(
        out,
        "<div id=\"filters\"><span id=\"cell-filter\" hidden><span id=\"cell-name\"></span> \
         <button type=\"button\" id=\"clear-cell\" title=\"Show every scenario\">×</button></span>\
         <label>value <select id=\"f-value\"><option value=\"\">any</option></select></label>\
         <label>template <select id=\"f-template\"><option value=\"\">any</option></select></label>\
         <label>choice <select id=\"f-choice\"><option value=\"\">any</option></select></label>\
         <label>readings <select id=\"f-agree\"><option value=\"\">any</option>\
         <option value=\"twins-agree\">twins chose the same action</option>\
         <option value=\"twins-differ\">twins chose differently</option>\
         <option value=\"no-twin\">no twin in the page</option>\
         <option value=\"readings-agree\">readings agree</option>\
         <option value=\"readings-differ\">readings differ</option></select></label>\
         <label id=\"epoch-filter\" hidden>epoch <select id=\"f-epoch\"><option value=\"\">any</option></select></label>\
         <label>text <input id=\"f-text\" type=\"search\" placeholder=\"in dilemma or answer\"></label></div>\
         <p id=\"cell-note\" class=\"muted\" hidden></p>\
         <div class=\"pager\"><button type=\"button\" id=\"prev\">← previous</button> \
         <span id=\"page-info\"></span> <button type=\"button\" id=\"next\">next →</button></div>\
         <div id=\"scenarios\"></div></section>"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_run_from_red_through_grey_to_blue() {
        assert_eq!(colour(0.0), "#c0392b");
        assert_eq!(colour(0.5), "#ececec");
        assert_eq!(colour(1.0), "#2471a3");
        assert_eq!(colour(f64::NAN), "#ececec");
    }

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;"
        );
    }
}
