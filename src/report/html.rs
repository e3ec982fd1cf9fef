//! The HTML report: one self-contained page (inline CSS, SVG and a little script), so it
//! opens offline and can be mailed or archived with a paper. Charts are drawn here as SVG;
//! the script only fills the table of scenarios behind a clicked bar or cell.
//!
//! Every number is written with a fixed number of decimals and nothing depends on the time
//! or the machine, so the same report gives the same bytes.

use std::fmt::Write as _;

use super::{Interval, Report, Shift, ValueStats};

/// The most values the heatmap and the graph show (those in the most conflicts).
const MOST_VALUES: usize = 40;

fn esc(s: &str) -> String {
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
            esc(&b.name),
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

fn value_bars(view: &str, values: &[ValueStats]) -> Vec<Bar> {
    values
        .iter()
        .map(|v| Bar {
            key: format!("{view}:{}", v.value),
            name: shown_name(&v.value, v.label.as_deref()),
            title: format!(
                "{}: score {:.1} (selected {}, neglected {}); win rate in conflict {:.1}% of {}",
                v.value,
                v.score,
                v.selected,
                v.neglected,
                100.0 * v.wins.rate,
                v.wins.n
            ),
            value: v.score,
            interval: Some(drawn(v.score_interval, v.score_bootstrap)),
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
/// conflict, and where it sits on the graph's circle (its Bradley–Terry group, then its
/// parent), so that values which meet sit together.
type Shown = (String, String, f64, (u32, Option<String>));

/// The values of the heatmap and the graph: those in the most conflicts, in ranking order.
fn chosen_values(r: &Report) -> Vec<Shown> {
    let mut ranked: Vec<&super::Ranked> = r.ranking.iter().collect();
    ranked.sort_by(|a, b| b.games.cmp(&a.games).then_with(|| a.rank.cmp(&b.rank)));
    ranked.truncate(MOST_VALUES);
    ranked.sort_by_key(|x| x.rank);
    ranked
        .iter()
        .map(|x| {
            let stats = r.values.iter().find(|v| v.value == x.value);
            (
                x.value.clone(),
                shown_name(&x.value, x.label.as_deref()),
                stats.map_or(f64::NAN, |v| v.wins.rate),
                (x.group, stats.and_then(|v| v.parent.clone())),
            )
        })
        .collect()
}

fn heatmap(out: &mut String, r: &Report, values: &[Shown]) {
    const CELL: f64 = 18.0;
    const LABEL: f64 = 200.0;
    let n = values.len() as f64;
    let size = LABEL + CELL * n + 10.0;
    let _ = writeln!(
        out,
        "<figure><figcaption>Pairwise win rates: the share of conflicts between the row's \
         value and the column's that the row's value won</figcaption>\
         <svg id=\"heatmap\" class=\"chart\" role=\"img\" viewBox=\"0 0 {size:.0} {size:.0}\" \
         width=\"{size:.0}\" height=\"{size:.0}\">"
    );
    for (i, (_, name, _, _)) in values.iter().enumerate() {
        let p = LABEL + CELL * i as f64 + CELL * 0.7;
        let _ = writeln!(
            out,
            "<text class=\"name\" x=\"{:.1}\" y=\"{p:.1}\">{}</text>\
             <text class=\"col\" transform=\"translate({:.1} {:.1}) rotate(-60)\">{}</text>",
            LABEL - 6.0,
            esc(name),
            LABEL + CELL * i as f64 + CELL * 0.6,
            LABEL - 6.0,
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
                LABEL + CELL * col as f64,
                LABEL + CELL * row as f64,
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
    const SIZE: f64 = 720.0;
    let radius = SIZE / 2.0 - 150.0;
    let centre = SIZE / 2.0;
    // Around the circle by group and parent, so values that meet sit together.
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| (&values[a].3, &values[a].0).cmp(&(&values[b].3, &values[b].0)));
    let mut place = vec![(0.0, 0.0, 0.0); values.len()];
    for (k, &i) in order.iter().enumerate() {
        let angle = std::f64::consts::TAU * k as f64 / values.len().max(1) as f64
            - std::f64::consts::FRAC_PI_2;
        place[i] = (
            centre + radius * angle.cos(),
            centre + radius * angle.sin(),
            angle,
        );
    }
    let _ = writeln!(
        out,
        "<figure><figcaption>The conflict graph: an edge for every pair that met (wider for \
         more conflicts), each value coloured by its win rate in conflict (red: loses, blue: \
         wins)</figcaption><svg id=\"graph\" class=\"chart\" role=\"img\" viewBox=\"0 0 \
         {SIZE:.0} {SIZE:.0}\" width=\"{SIZE:.0}\" height=\"{SIZE:.0}\">"
    );
    for pair in &r.pairs {
        let (Some(i), Some(j)) = (
            values.iter().position(|v| v.0 == pair.a),
            values.iter().position(|v| v.0 == pair.b),
        ) else {
            continue;
        };
        let _ = writeln!(
            out,
            "<line class=\"edge cell\" data-pair=\"{}|{}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" \
             y2=\"{:.1}\" stroke-width=\"{:.2}\"><title>{} against {}: {} of {} won by {}</title></line>",
            esc(&pair.a),
            esc(&pair.b),
            place[i].0,
            place[i].1,
            place[j].0,
            place[j].1,
            1.0 + (pair.a_wins.n as f64).log2().max(0.0) * 0.6,
            esc(&pair.a),
            esc(&pair.b),
            pair.a_wins.k,
            pair.a_wins.n,
            esc(&pair.a)
        );
    }
    for (i, (value, name, rate, _)) in values.iter().enumerate() {
        let (x, y, angle) = place[i];
        let (lx, ly) = (x + 12.0 * angle.cos(), y + 12.0 * angle.sin());
        let anchor = if angle.cos() < -0.01 { "end" } else { "start" };
        let _ = writeln!(
            out,
            "<g class=\"cell\" data-key=\"values:{}\"><title>{}: wins {:.1}% of its conflicts</title>\
             <circle class=\"node\" cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"7\" fill=\"{}\"/>\
             <text class=\"node-label\" x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text></g>",
            esc(value),
            esc(value),
            100.0 * rate,
            colour(*rate),
            ly + 4.0,
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
    let _ = writeln!(out, "</section>");
}

const STYLE: &str = r#"
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto; max-width: 1100px; color: #1d1d1f; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .5rem 0; } td, th { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1rem 0; } figcaption { color: #555; margin-bottom: .3rem; }
svg.chart { max-width: 100%; height: auto; background: #fff; }
svg .grid { stroke: #ddd; } svg .tick { font-size: 10px; fill: #777; text-anchor: middle; }
svg .name { font-size: 11px; text-anchor: end; fill: #222; } svg .col { font-size: 11px; fill: #222; }
svg .pos { fill: #2471a3; } svg .persona { fill: #9cc3e0; } svg .neg { fill: #c0392b; } svg .whisker { stroke: #111; stroke-width: 1.2; fill: none; }
svg .edge { stroke: #9aa5b1; stroke-opacity: .7; } svg .node { stroke: #333; } svg .node-label { font-size: 11px; }
.cell { cursor: pointer; } .cell:hover rect, rect.cell:hover { opacity: .75; }
.notes li { color: #7a4b00; } details { margin: .5rem 0; } summary { cursor: pointer; }
#scenarios td.text { max-width: 520px; } .chosen { font-weight: 600; } .chosen::before { content: "✓ "; color: #2471a3; }
.muted { color: #777; }
"#;

const SCRIPT: &str = r#"
(function () {
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var byIndex = {};
  data.scenarios.forEach(function (s) { byIndex[s.index] = s; });
  function cell(text, cls) {
    var td = document.createElement('td');
    if (cls) td.className = cls;
    td.textContent = text;
    return td;
  }
  function show(title, indexes) {
    document.getElementById('scenarios-title').textContent = title;
    var body = document.querySelector('#scenarios tbody');
    while (body.firstChild) body.removeChild(body.firstChild);
    (indexes || []).forEach(function (i) {
      var s = byIndex[i];
      if (!s) return;
      var tr = document.createElement('tr');
      tr.appendChild(cell(String(s.index), 'n'));
      tr.appendChild(cell(s.template));
      tr.appendChild(cell(s.text, 'text'));
      var options = document.createElement('td');
      s.options.forEach(function (o) {
        var div = document.createElement('div');
        div.textContent = o.label + ' [' + o.upholds.join(', ') + ']';
        if (o.id === s.choice) div.className = 'chosen';
        options.appendChild(div);
      });
      tr.appendChild(options);
      var p = s.provenance || {};
      tr.appendChild(cell([p.template].concat(p.relations || [], p.rules || []).filter(Boolean).join(' · ')));
      body.appendChild(tr);
    });
    document.getElementById('scenarios-count').textContent =
      (indexes || []).length + ' scenario' + ((indexes || []).length === 1 ? '' : 's') + ' shown';
  }
  function open(hash) {
    var m = /^#(value|pair)=(.*)$/.exec(hash);
    if (!m) return false;
    var key = decodeURIComponent(m[2]);
    if (m[1] === 'value') show('Scenarios where ' + key.replace(/^[^:]*:/, '') + ' was in conflict', data.by_value[key]);
    else show('Scenarios where ' + key.split('|').join(' and ') + ' met', data.by_pair[key]);
    return true;
  }
  document.addEventListener('click', function (e) {
    var el = e.target.closest ? e.target.closest('[data-key],[data-pair]') : null;
    if (!el) return;
    var hash = el.hasAttribute('data-key') ? '#value=' + encodeURIComponent(el.getAttribute('data-key'))
                                           : '#pair=' + encodeURIComponent(el.getAttribute('data-pair'));
    history.replaceState(null, '', hash);
    open(hash);
    document.getElementById('scenarios-section').scrollIntoView({ behavior: 'smooth' });
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

/// The data the script reads: the scenarios behind cells, as JSON safe inside a script
/// element.
fn data(r: &Report) -> String {
    let by_value: serde_json::Map<String, serde_json::Value> = r
        .examples
        .by_value
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::json!(v)))
        .collect();
    let by_pair: serde_json::Map<String, serde_json::Value> = r
        .examples
        .by_pair
        .iter()
        .map(|((a, b), v)| (format!("{a}|{b}"), serde_json::json!(v)))
        .collect();
    let json = serde_json::json!({
        "by_value": by_value,
        "by_pair": by_pair,
        "scenarios": r.examples.scenarios,
    });
    json.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

/// The whole page.
pub(super) fn page(r: &Report) -> String {
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
            &value_bars("values", &r.values),
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
                &value_bars(&g.framework, &g.values),
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
            &value_bars("hierarchy", &r.rollup),
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
            if r.ranking.len() > chosen.len() {
                let _ = writeln!(
                    out,
                    "<p class=\"muted\">The {} values in the most conflicts of {} ranked.</p>",
                    chosen.len(),
                    r.ranking.len()
                );
            }
            heatmap(&mut out, r, &chosen);
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
            let _ = writeln!(out, "</details>");
        }
        let _ = writeln!(out, "</section>");
    }

    let _ = writeln!(
        out,
        "<section id=\"scenarios-section\"><h2 id=\"scenarios-title\">Scenarios</h2>\
         <p id=\"scenarios-count\" class=\"muted\">Click a bar, a cell or a node above: up to {} \
         scenarios behind it appear here.</p>",
        super::tally::EXAMPLES_PER_CELL
    );
    table(
        &mut out,
        "scenarios",
        &[
            ("index", true),
            ("template", false),
            ("dilemma", false),
            ("options (values upheld)", false),
            ("provenance", false),
        ],
        &[],
    );
    let _ = writeln!(
        out,
        "</section><script type=\"application/json\" id=\"report-data\">{}</script><script>{}</script></body></html>",
        data(r),
        SCRIPT
    );
    out
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
