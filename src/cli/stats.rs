//! `quandary stats FILE`

use std::path::PathBuf;

use clap::ValueEnum;
use quandary::expand::{COVERAGE_DRAWS, Coverage, Expansion, Options};
use quandary::model::SuiteItem;
use quandary::stats::Stats;
use serde::Serialize;

use super::DiagnosticArgs;

/// Arguments of `stats`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The framework file to summarise
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    pub format: StatsFormat,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// How `stats` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatsFormat {
    /// An aligned table
    Table,
    /// One JSON object
    Json,
}

pub fn run(args: Args) -> bool {
    let loaded = quandary::load_path(&args.file);
    if args
        .diagnostics
        .report(&loaded.diagnostics, &loaded.sources)
        || loaded.has_errors()
    {
        return false;
    }
    let Some(&root) = loaded.framework.roots.first() else {
        return false;
    };
    let stats = Stats::of(&loaded.framework, root);
    // The candidate sets of every suite of the file whose templates `show k` of their options.
    let mut coverage = Vec::new();
    let framework = &loaded.framework;
    let shows = |item: &SuiteItem| match item {
        SuiteItem::Scenario(s) => framework.scenarios[s.index()].show.is_some(),
        _ => false,
    };
    for &id in &framework.module(root).suites {
        if !framework.suites[id.index()].items.iter().any(shows) {
            continue;
        }
        let options = Options {
            max: u64::MAX,
            ..Options::default()
        };
        match Expansion::new(&loaded.framework, &loaded.sources, id, &options) {
            Ok(expansion) => {
                let suite = &loaded.framework.suites[id.index()].id;
                coverage.extend(expansion.coverage(COVERAGE_DRAWS).into_iter().map(|c| {
                    SuiteCoverage {
                        suite: suite.clone(),
                        coverage: c,
                    }
                }))
            }
            Err(diagnostics) => {
                args.diagnostics.report(&diagnostics, &loaded.sources);
                return false;
            }
        }
    }
    let text = match args.format {
        StatsFormat::Table => stats.table() + &coverage_table(&coverage),
        StatsFormat::Json => match serde_json::to_string_pretty(&Out {
            stats: &stats,
            coverage,
        }) {
            Ok(json) => json + "\n",
            Err(e) => {
                eprintln!("error: cannot write the statistics as JSON: {e}");
                return false;
            }
        },
    };
    super::print(&text)
}

/// The statistics with the candidate sets measured (left out when there are none).
#[derive(Serialize)]
struct Out<'a> {
    #[serde(flatten)]
    stats: &'a Stats,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    coverage: Vec<SuiteCoverage>,
}

/// The candidate sets of one template of a suite.
#[derive(Serialize)]
struct SuiteCoverage {
    suite: String,
    #[serde(flatten)]
    coverage: Coverage,
}

/// The candidate sets as an aligned table under the counts, or nothing.
fn coverage_table(rows: &[SuiteCoverage]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    let figure = |x: Option<f64>| x.map_or_else(|| "-".to_string(), |x| format!("{x:.3}"));
    let mut table = vec![[
        "suite".to_string(),
        "template".into(),
        "show".into(),
        "pool".into(),
        "scenarios".into(),
        "coverage".into(),
        "random".into(),
        "correlation".into(),
        "random".into(),
    ]];
    for r in rows {
        let c = &r.coverage;
        table.push([
            r.suite.clone(),
            c.template.clone(),
            format!("{} {}", c.show, c.draw),
            c.pool.to_string(),
            c.scenarios.to_string(),
            figure(Some(c.coverage)),
            figure(Some(c.random_coverage)),
            figure(c.correlation),
            figure(c.random_correlation),
        ]);
    }
    let mut widths = [0usize; 9];
    for row in &table {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::from("\ncandidate sets\n");
    for row in &table {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, w)| format!("{cell:<w$}"))
            .collect();
        out.push_str("  ");
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}
