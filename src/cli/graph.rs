//! `quandary graph FILE`

use std::path::PathBuf;

use clap::ValueEnum;
use quandary::graph::{ConflictGraph, DrawOptions, EdgeKind, WiserFilter};

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
    /// Keep only the `wiser` edges in this context
    #[arg(long, value_name = "TEXT")]
    pub context: Option<String>,
    /// Keep only the `wiser` edges whose note names this case (as `import mge` writes it)
    #[arg(long, value_name = "ID")]
    pub case: Option<String>,
    /// Keep only the `wiser` edges with at least N votes (counted from the note
    /// `U upgrade, N no_upgrade, S not_sure`, else the weight)
    #[arg(long, value_name = "N")]
    pub min_votes: Option<u64>,
    /// Keep only the `wiser` edges that more than half of their voters upgraded
    #[arg(long)]
    pub majority: bool,
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
    let filter = WiserFilter {
        context: args.context.clone(),
        case: args.case.clone(),
        min_votes: args.min_votes,
        majority: args.majority,
    };
    if !filter.is_empty() {
        graph.filter_wiser(&filter);
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
