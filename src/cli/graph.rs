//! `quandary graph FILE`

use std::path::PathBuf;

use clap::ValueEnum;
use quandary::graph::{ConflictGraph, DrawOptions, EdgeKind};

use super::DiagnosticArgs;

/// Arguments of `graph`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The framework file to draw (with the frameworks it imports)
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Output format [default: dot, or the ranking table with --rank]
    #[arg(long, value_enum)]
    pub format: Option<GraphFormat>,
    /// Rank the values by PageRank over the `wiser` edges (the moral graph). Alone, prints
    /// a ranking table; with --format, adds each value's score to the drawing
    #[arg(long)]
    pub rank: bool,
    /// Show how many scenarios of this suite pose each pair of values (coverage); pairs a
    /// suite poses that no relation joins appear as `posed` edges
    #[arg(long, value_name = "NAME")]
    pub suite: Option<String>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// How `graph` prints.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz DOT (render with `dot -Tsvg`)
    Dot,
    /// One JSON object: nodes, clusters and edges
    Json,
    /// A Mermaid flowchart
    Mermaid,
}

pub fn run(args: Args) -> bool {
    let (project, suite) = match &args.suite {
        Some(name) => match super::expand::load_suite(&args.file, Some(name), &args.diagnostics) {
            Some((project, suite)) => (project, Some(suite)),
            None => return false,
        },
        None => {
            let project = quandary::Project::load(&args.file);
            if args
                .diagnostics
                .report(project.diagnostics(), project.sources())
                || project.has_errors()
            {
                return false;
            }
            (project, None)
        }
    };
    let Some(&root) = project.framework().roots.first() else {
        return false;
    };
    let mut graph = ConflictGraph::build(project.framework(), root);
    graph.locate(project.sources());
    if let Some(suite) = suite {
        let options = quandary::expand::Options::default();
        match project.expansion(suite, &options) {
            Ok(expansion) => graph.set_coverage(expansion.pair_counts()),
            Err(d) => {
                args.diagnostics.report(&d, project.sources());
                return false;
            }
        }
    }
    if args.rank && !graph.edges().iter().any(|e| e.kind == EdgeKind::Wiser) {
        eprintln!("note: the framework has no `wiser` relations, so every value ranks equally");
    }
    let options = DrawOptions { rank: args.rank };
    let text = match (args.format, args.rank) {
        (None, true) => graph.ranking_table(),
        (None | Some(GraphFormat::Dot), _) => graph.to_dot(&options),
        (Some(GraphFormat::Json), _) => graph.to_json(&options),
        (Some(GraphFormat::Mermaid), _) => graph.to_mermaid(&options),
    };
    super::print(&text)
}
