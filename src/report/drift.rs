//! Value drift: how each value's score moves across checkpoints of one model, in training
//! order, each a results journal of the same suite.
//!
//! Every checkpoint is reported with [`super::report`], so a value's score and its interval
//! at each checkpoint are exactly those `report` gives (the DailyDilemmas score and the
//! interval mapped from the Wilson interval of `selected / (selected + neglected)`). Per
//! value, the drift is the last score minus the first (over the checkpoints where the value
//! was scored), and the largest step is the largest change, in absolute terms, between two
//! consecutive checkpoints that both scored it. A change is *distinguishable* when the two
//! scores' intervals do not overlap. Values are sorted by the size of their drift.

use std::fmt::Write as _;

use serde::Serialize;

use super::{Interval, Options, Sources};
use crate::diagnostic::{Code, Diagnostic};

/// The header fields of a results journal that say which suite it answers.
const SUITE_IDENTITY: [&str; 3] = ["suite", "seed", "suite_hash"];

/// One checkpoint: a run of the suite.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Checkpoint {
    /// Its name.
    pub label: String,
    /// The results journal.
    pub results: String,
    /// The model its journal names, if any.
    pub model: Option<String>,
    /// Scenarios answered.
    pub answered: u64,
}

/// A value's score at one checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Point {
    /// Times upheld by the chosen option.
    pub selected: u64,
    /// Times upheld by an option not chosen.
    pub neglected: u64,
    /// The DailyDilemmas score, from −100 to 100.
    pub score: f64,
    /// Its interval, as `report` gives it.
    pub interval: Interval,
}

/// A change of a value's score between two checkpoints.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The earlier checkpoint (its position among the checkpoints).
    pub from: usize,
    /// The later checkpoint.
    pub to: usize,
    /// The later score minus the earlier.
    pub change: f64,
    /// Whether the two scores' intervals do not overlap.
    pub distinguishable: bool,
}

impl Change {
    fn between(from: usize, a: &Point, to: usize, b: &Point) -> Change {
        Change {
            from,
            to,
            change: b.score - a.score,
            distinguishable: a.interval.high < b.interval.low || b.interval.high < a.interval.low,
        }
    }
}

/// One value across the checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trajectory {
    /// The value (`framework.value`).
    pub value: String,
    /// Its label, when the framework gives one.
    pub label: Option<String>,
    /// Its score at each checkpoint, in order; `None` where no answer touched it.
    pub points: Vec<Option<Point>>,
    /// From the first checkpoint that scored it to the last: `None` when fewer than two did.
    pub drift: Option<Change>,
    /// The largest change between consecutive checkpoints (the first of equals): `None`
    /// when no two consecutive checkpoints scored it.
    pub largest_step: Option<Change>,
}

/// How values drift across checkpoints.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Drift {
    /// The version of quandary that wrote it.
    pub quandary: String,
    /// The suite every checkpoint answers.
    pub suite: Option<String>,
    /// The steer whose runs are compared, if any.
    pub steer: Option<String>,
    /// The checkpoints, in order.
    pub checkpoints: Vec<Checkpoint>,
    /// Every value scored at some checkpoint, the largest drift first.
    pub values: Vec<Trajectory>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

/// Reports on each of `runs` (checkpoints of one model in training order, named by
/// `labels`) and follows every value across them. Refuses runs of different suites.
pub fn drift(runs: &[Sources<'_>], labels: &[String]) -> Result<Drift, Diagnostic> {
    if runs.len() < 2 {
        return Err(
            Diagnostic::new(Code::InvalidSetting, "a drift needs at least two runs")
                .help("give the checkpoints' journals in training order"),
        );
    }
    if labels.len() != runs.len() {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            format!("{} labels for {} runs", labels.len(), runs.len()),
        )
        .help("give one label per run, in the same order"));
    }
    same_suite(runs)?;
    // Only the scores and their Wilson intervals are used: no bootstrap.
    let options = Options {
        seed: 0,
        resamples: 0,
        ..Options::default()
    };
    let mut checkpoints = Vec::with_capacity(runs.len());
    let mut notes: Vec<String> = Vec::new();
    // Per value, in the order first met: label and points.
    let mut values: indexmap::IndexMap<String, (Option<String>, Vec<Option<Point>>)> =
        indexmap::IndexMap::new();
    let mut suite = None;
    for (i, (sources, label)) in runs.iter().zip(labels).enumerate() {
        let report = super::report(sources, &options)?;
        suite = suite.or(report.suite.clone());
        // The ranking's notes speak of what a drift does not show.
        for note in report.notes.iter().filter(|n| !n.contains("Bradley–Terry")) {
            if !notes.contains(note) {
                notes.push(note.clone());
            }
        }
        for v in &report.values {
            let entry = values
                .entry(v.value.clone())
                .or_insert_with(|| (v.label.clone(), vec![None; runs.len()]));
            entry.1[i] = Some(Point {
                selected: v.selected,
                neglected: v.neglected,
                score: v.score,
                interval: v.score_interval,
            });
        }
        checkpoints.push(Checkpoint {
            label: label.clone(),
            results: report.results.clone(),
            model: report.model.clone(),
            answered: report.answered,
        });
    }
    let mut values: Vec<Trajectory> = values
        .into_iter()
        .map(|(value, (label, points))| trajectory(value, label, points))
        .collect();
    let size = |c: &Option<Change>| c.map_or(-1.0, |c| c.change.abs());
    values.sort_by(|a, b| {
        size(&b.drift)
            .total_cmp(&size(&a.drift))
            .then(size(&b.largest_step).total_cmp(&size(&a.largest_step)))
            .then_with(|| a.value.cmp(&b.value))
    });
    Ok(Drift {
        quandary: env!("CARGO_PKG_VERSION").into(),
        suite,
        steer: runs[0].steer.map(str::to_string),
        checkpoints,
        values,
        notes,
    })
}

fn trajectory(value: String, label: Option<String>, points: Vec<Option<Point>>) -> Trajectory {
    let scored: Vec<(usize, &Point)> = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.as_ref().map(|p| (i, p)))
        .collect();
    let drift = match (scored.first(), scored.last()) {
        (Some(&(i, a)), Some(&(j, b))) if i < j => Some(Change::between(i, a, j, b)),
        _ => None,
    };
    let mut largest_step: Option<Change> = None;
    for (i, pair) in points.windows(2).enumerate() {
        if let [Some(a), Some(b)] = pair {
            let step = Change::between(i, a, i + 1, b);
            if largest_step.is_none_or(|l| step.change.abs() > l.change.abs()) {
                largest_step = Some(step);
            }
        }
    }
    Trajectory {
        value,
        label,
        points,
        drift,
        largest_step,
    }
}

/// Refuses runs whose journals answer different suites (name, seed and hash of the suite,
/// as resuming and merging compare them).
fn same_suite(runs: &[Sources<'_>]) -> Result<(), Diagnostic> {
    let mut first: Option<(serde_json::Value, String)> = None;
    for sources in runs {
        let header = crate::formats::results::read_header(sources.results)?;
        let name = sources.results.name();
        match &first {
            None => first = Some((header, name)),
            Some((base, base_name)) => {
                if let Some(key) = SUITE_IDENTITY
                    .iter()
                    .find(|k| header.get(**k) != base.get(**k))
                {
                    let shown = |h: &serde_json::Value| {
                        h.get(*key)
                            .map_or_else(|| "none".to_string(), |v| v.to_string())
                    };
                    return Err(Diagnostic::new(
                        Code::DifferentSuites,
                        format!(
                            "`{name}` and `{base_name}` answer different suites: their `{key}` \
                             differs ({} and {})",
                            shown(&header),
                            shown(base)
                        ),
                    )
                    .path(name.clone())
                    .help(
                        "give journals of one suite (the same suite, seed and sources), \
                         or compare two runs with `quandary diff`",
                    ));
                }
            }
        }
    }
    Ok(())
}

fn number(x: f64) -> String {
    // No `-0.0`.
    let x = if x == 0.0 { 0.0 } else { x };
    format!("{x:.1}")
}

fn signed(x: f64) -> String {
    if x > 0.0 {
        format!("+{}", number(x))
    } else {
        number(x)
    }
}

fn point(p: &Option<Point>) -> String {
    match p {
        Some(p) => format!(
            "{} [{}, {}]",
            number(p.score),
            number(p.interval.low),
            number(p.interval.high)
        ),
        None => "-".into(),
    }
}

impl Drift {
    /// The label of checkpoint `i`.
    fn label(&self, i: usize) -> &str {
        self.checkpoints.get(i).map_or("", |c| c.label.as_str())
    }

    fn change(&self, c: &Option<Change>) -> (String, String, String) {
        match c {
            Some(c) => (
                signed(c.change),
                format!("{} → {}", self.label(c.from), self.label(c.to)),
                if c.distinguishable { "yes" } else { "no" }.into(),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        }
    }

    /// The rows of the table: a header, then one per value.
    fn rows(&self) -> Vec<Vec<String>> {
        let mut header = vec!["value".to_string()];
        header.extend(self.checkpoints.iter().map(|c| c.label.clone()));
        header.extend(
            ["drift", "separates", "largest step", "between", "separates"]
                .iter()
                .map(|s| s.to_string()),
        );
        let mut rows = vec![header];
        for v in &self.values {
            let mut row = vec![v.value.clone()];
            row.extend(v.points.iter().map(point));
            let (d, _, ds) = self.change(&v.drift);
            let (s, at, ss) = self.change(&v.largest_step);
            row.extend([d, ds, s, at, ss]);
            rows.push(row);
        }
        rows
    }

    /// An aligned table: each value's score `[interval]` at every checkpoint, its drift
    /// (last − first) and its largest step, each with whether the intervals separate.
    pub fn table(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Value drift over {} checkpoints{}{}",
            self.checkpoints.len(),
            self.suite
                .as_ref()
                .map_or(String::new(), |s| format!(" of suite `{s}`")),
            self.steer
                .as_ref()
                .map_or(String::new(), |s| format!(", under steer `{s}`"))
        );
        for c in &self.checkpoints {
            let _ = writeln!(
                out,
                "  {}: {} ({} answered{})",
                c.label,
                c.results,
                c.answered,
                c.model
                    .as_ref()
                    .map_or(String::new(), |m| format!(", model {m}"))
            );
        }
        out.push('\n');
        let rows = self.rows();
        let columns = rows.first().map_or(0, Vec::len);
        let widths: Vec<usize> = (0..columns)
            .map(|c| {
                rows.iter()
                    .map(|r| r.get(c).map_or(0, |s| s.chars().count()))
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for row in &rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c].saturating_sub(cell.chars().count());
                if c > 0 {
                    line.push_str("  ");
                }
                // Names to the left, figures to the right.
                if c == 0 {
                    line.push_str(cell);
                    line.extend(std::iter::repeat_n(' ', pad));
                } else {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line.push_str(cell);
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str(
            "\nScores from -100 to 100 with their 95% intervals (as `quandary report` gives \
             them); drift = last - first; separates = the two intervals do not overlap.\n",
        );
        for note in &self.notes {
            let _ = writeln!(out, "note: {note}");
        }
        out
    }

    /// One self-contained HTML page: a line chart of each value's score with its intervals
    /// (small multiples, in the order of the table), and the table.
    pub fn html(&self) -> String {
        page(self)
    }
}

/// The width and height of one chart, and its plot area's margins.
const CHART: (f64, f64) = (300.0, 180.0);
const MARGIN: (f64, f64, f64, f64) = (40.0, 12.0, 24.0, 34.0); // left, right, top, bottom

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
table{border-collapse:collapse;margin:1em 0}td,th{padding:.2em .6em;border-bottom:1px solid #ddd}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#666}\
.charts{display:flex;flex-wrap:wrap;gap:1em}figure{margin:0}\
figcaption{font-size:.9em;text-align:center}\
svg text{font-size:10px;fill:#444}.axis{stroke:#bbb;stroke-width:1}\
.zero{stroke:#888;stroke-width:1;stroke-dasharray:3 3}\
.ci{stroke:#2471a3;stroke-width:1.5}.path{stroke:#2471a3;stroke-width:1.5;fill:none}\
.step{stroke:#c0392b;stroke-width:3;fill:none}.pt{fill:#2471a3}";

/// At most this many characters of a checkpoint's label under a chart (the table has all).
const TICK_CHARS: usize = 12;

fn tick(label: &str) -> String {
    if label.chars().count() <= TICK_CHARS {
        label.to_string()
    } else {
        let mut short: String = label.chars().take(TICK_CHARS - 1).collect();
        short.push('…');
        short
    }
}

fn chart(out: &mut String, d: &Drift, v: &Trajectory, index: usize) {
    use super::html::esc;
    let (w, h) = CHART;
    let (left, right, top, bottom) = MARGIN;
    let n = d.checkpoints.len().max(1) as f64;
    let x = |i: usize| left + (i as f64 + 0.5) * (w - left - right) / n;
    let y = |score: f64| top + (100.0 - score.clamp(-100.0, 100.0)) / 200.0 * (h - top - bottom);
    let caption = format!(
        "{}: drift {}",
        v.value,
        v.drift.map_or("-".into(), |c| signed(c.change))
    );
    let _ = write!(
        out,
        "<figure id=\"chart-{index}\"><svg width=\"{w:.0}\" \
         height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\" role=\"img\"><title>{}</title>",
        esc(&caption)
    );
    for score in [100.0, -100.0] {
        let _ = write!(
            out,
            "<line class=\"axis\" x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{score:.0}</text>",
            w - right,
            y(score),
            y(score),
            left - 4.0,
            y(score) + 3.0
        );
    }
    let _ = write!(
        out,
        "<line class=\"zero\" x1=\"{left:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">0</text>",
        w - right,
        y(0.0),
        y(0.0),
        left - 4.0,
        y(0.0) + 3.0
    );
    for (i, c) in d.checkpoints.iter().enumerate() {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            x(i),
            h - bottom + 14.0,
            esc(&tick(&c.label))
        );
    }
    let step = v.largest_step.map(|s| s.from);
    for (i, pair) in v.points.windows(2).enumerate() {
        if let [Some(a), Some(b)] = pair {
            let class = if step == Some(i) { "step" } else { "path" };
            let _ = write!(
                out,
                "<line class=\"{class}\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/>",
                x(i),
                y(a.score),
                x(i + 1),
                y(b.score)
            );
        }
    }
    for (i, p) in v.points.iter().enumerate() {
        let Some(p) = p else { continue };
        let _ = write!(
            out,
            "<line class=\"ci\" x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{1:.1}\" y2=\"{2:.1}\"/>\
             <line class=\"ci\" x1=\"{3:.1}\" x2=\"{4:.1}\" y1=\"{1:.1}\" y2=\"{1:.1}\"/>\
             <line class=\"ci\" x1=\"{3:.1}\" x2=\"{4:.1}\" y1=\"{2:.1}\" y2=\"{2:.1}\"/>\
             <circle class=\"pt\" cx=\"{0:.1}\" cy=\"{5:.1}\" r=\"3.5\"><title>{6}</title></circle>",
            x(i),
            y(p.interval.high),
            y(p.interval.low),
            x(i) - 4.0,
            x(i) + 4.0,
            y(p.score),
            esc(&format!("{}: {}", d.label(i), point(&Some(*p))))
        );
    }
    let _ = writeln!(
        out,
        "</svg><figcaption>{}</figcaption></figure>",
        esc(&caption)
    );
}

fn page(d: &Drift) -> String {
    use super::html::esc;
    let mut out = String::with_capacity(16 * 1024);
    let title = format!(
        "quandary drift: {}",
        d.suite.as_deref().unwrap_or("results")
    );
    let _ = writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"generator\" content=\"quandary {}\"><title>{}</title>\
         <style>{STYLE}</style></head><body>",
        esc(&d.quandary),
        esc(&title)
    );
    let _ = writeln!(out, "<h1>{}</h1>", esc(&title));
    let _ = writeln!(out, "<section id=\"checkpoints\"><h2>Checkpoints</h2><ol>");
    for c in &d.checkpoints {
        let _ = writeln!(
            out,
            "<li><b>{}</b>: {} ({} answered{})</li>",
            esc(&c.label),
            esc(&c.results),
            c.answered,
            c.model
                .as_ref()
                .map_or(String::new(), |m| format!(", model {}", esc(m)))
        );
    }
    let _ = writeln!(out, "</ol>");
    if !d.notes.is_empty() {
        let _ = writeln!(out, "<ul class=\"notes\">");
        for n in &d.notes {
            let _ = writeln!(out, "<li>{}</li>", esc(n));
        }
        let _ = writeln!(out, "</ul>");
    }
    let _ = writeln!(
        out,
        "<p class=\"muted\">Scores run from -100 to 100; whiskers are the 95% intervals \
         <code>quandary report</code> gives. The red segment is each value's largest step.</p>\
         </section>"
    );
    let _ = writeln!(
        out,
        "<section id=\"charts\"><h2>Trajectories</h2><div class=\"charts\">"
    );
    for (i, v) in d.values.iter().enumerate() {
        chart(&mut out, d, v, i);
    }
    let _ = writeln!(out, "</div></section>");
    let _ = writeln!(out, "<section id=\"table\"><h2>Values</h2><table>");
    for (r, row) in d.rows().iter().enumerate() {
        out.push_str("<tr>");
        for (c, cell) in row.iter().enumerate() {
            let (open, close) = match (r, c) {
                (0, _) => ("<th>", "</th>"),
                (_, 0) => ("<td>", "</td>"),
                _ => ("<td class=\"n\">", "</td>"),
            };
            let _ = write!(out, "{open}{}{close}", esc(cell));
        }
        out.push_str("</tr>\n");
    }
    let _ = writeln!(out, "</table></section></body></html>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(score: f64, low: f64, high: f64) -> Option<Point> {
        Some(Point {
            selected: 0,
            neglected: 0,
            score,
            interval: Interval { low, high },
        })
    }

    #[test]
    fn the_largest_step_and_the_drift_skip_unscored_checkpoints() {
        let t = trajectory(
            "x.a".into(),
            None,
            vec![
                p(-60.0, -80.0, -20.0),
                None,
                p(0.0, -50.0, 50.0),
                p(80.0, 20.0, 95.0),
            ],
        );
        let drift = t.drift.expect("a drift");
        assert_eq!((drift.from, drift.to), (0, 3));
        assert_eq!(drift.change, 140.0);
        assert!(drift.distinguishable);
        // 0 → 2 is not a step: checkpoint 1 has no score.
        let step = t.largest_step.expect("a step");
        assert_eq!((step.from, step.to, step.change), (2, 3, 80.0));
        assert!(!step.distinguishable);
    }

    #[test]
    fn one_scored_checkpoint_has_no_drift() {
        let t = trajectory("x.a".into(), None, vec![None, p(10.0, 0.0, 20.0)]);
        assert_eq!(t.drift, None);
        assert_eq!(t.largest_step, None);
    }

    #[test]
    fn equal_steps_keep_the_first() {
        let t = trajectory(
            "x.a".into(),
            None,
            vec![p(0.0, -1.0, 1.0), p(10.0, 9.0, 11.0), p(0.0, -1.0, 1.0)],
        );
        let step = t.largest_step.expect("a step");
        assert_eq!((step.from, step.to, step.change), (0, 1, 10.0));
        assert!(step.distinguishable);
    }
}
