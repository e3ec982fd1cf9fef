//! `quandary simulate FILE --network EDGES`: bounded-confidence opinion dynamics on the
//! profiles of a framework.

use std::io::Write;
use std::path::{Path, PathBuf};

use quandary::simulate::{Agents, Network, Params, Simulation, fit};
use quandary::{Code, Diagnostic, Project, SourceMap};

use super::DiagnosticArgs;

/// Arguments of `simulate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A framework whose profiles are the agents (each profile one agent)
    #[arg(value_name = "FILE")]
    pub framework: PathBuf,
    /// Who may meet whom: an edge list, `a b` or `a,b` a line (ids are profile ids)
    #[arg(long, value_name = "EDGES")]
    pub network: PathBuf,
    /// Steps: one edge drawn at each
    #[arg(long, default_value_t = 1000, value_name = "N", value_parser = clap::value_parser!(u64).range(0..=quandary::simulate::MAX_STEPS))]
    pub steps: u64,
    /// The confidence bound ε: two agents interact only if the mean absolute difference of
    /// their weights is below it
    #[arg(long, default_value_t = 0.2, value_name = "ε")]
    pub confidence: f64,
    /// The rate μ: each moves μ·(other − self) toward the other, from 0 to 0.5
    #[arg(long, default_value_t = 0.5, value_name = "μ")]
    pub rate: f64,
    /// Seed of the draw of edges (the same seed gives the same trajectory)
    #[arg(long, default_value_t = 0, value_name = "S")]
    pub seed: u64,
    /// Write the agents' weights every K steps (and at the start and the end)
    #[arg(long, default_value_t = 1, value_name = "K", value_parser = clap::value_parser!(u64).range(1..))]
    pub every: u64,
    /// Profiles with the same ids observed later: the mean squared error of the final
    /// weights against them ends the output
    #[arg(long, value_name = "FILE.qd")]
    pub observed: Option<PathBuf>,
    /// Write the trajectory to this file instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// The profiles of the framework at `path`, after reporting its diagnostics; `None` when
/// they fail the command.
fn agents(path: &Path, diagnostics: &DiagnosticArgs) -> Option<Agents> {
    let project = Project::load(path);
    if diagnostics.report(project.diagnostics(), project.sources()) {
        return None;
    }
    Some(Agents::of(project.framework()))
}

/// The message of a write to a reader that stopped early (`| head`): not a failure.
const CLOSED: &str = "the reader of the trajectory stopped reading";

fn io(e: std::io::Error) -> Diagnostic {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Diagnostic::new(Code::Io, CLOSED)
    } else {
        Diagnostic::new(Code::Io, format!("cannot write the trajectory: {e}"))
    }
}

fn line(out: &mut dyn Write, value: &impl serde::Serialize) -> Result<(), Diagnostic> {
    let text = serde_json::to_string(value)
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot write the trajectory: {e}")))?;
    out.write_all(text.as_bytes())
        .and_then(|()| out.write_all(b"\n"))
        .map_err(io)
}

/// Runs the simulation into `out`: the start, every `every` steps, the end, then the fit.
fn write(
    mut simulation: Simulation,
    every: u64,
    observed: Option<&Agents>,
    out: &mut dyn Write,
) -> Result<(), Diagnostic> {
    line(out, &simulation.snapshot(None))?;
    let mut last = None;
    let mut written = 0;
    while let Some(event) = simulation.step() {
        if event.step % every == 0 {
            line(out, &simulation.snapshot(Some(&event)))?;
            written = event.step;
        }
        last = Some(event);
    }
    if let Some(event) = last
        && written != event.step
    {
        line(out, &simulation.snapshot(Some(&event)))?;
    }
    if let Some(observed) = observed {
        line(
            out,
            &fit(simulation.agents(), observed, simulation.steps_taken()),
        )?;
    }
    out.flush().map_err(io)
}

pub fn run(args: Args) -> bool {
    let fail = |d: Diagnostic| {
        args.diagnostics.report(&[d], &SourceMap::new());
        false
    };
    let Some(start) = agents(&args.framework, &args.diagnostics) else {
        return false;
    };
    if start.ids.is_empty() {
        return fail(
            Diagnostic::new(
                Code::InvalidSetting,
                format!("`{}` declares no profile", args.framework.display()),
            )
            .path(args.framework.display().to_string())
            .help("declare the agents as `profile id { value weight … }`"),
        );
    }
    let observed = match &args.observed {
        Some(path) => match agents(path, &args.diagnostics) {
            Some(a) => Some(a),
            None => return false,
        },
        None => None,
    };
    let mut sources = SourceMap::new();
    let network = match Network::read(&args.network, &start, &mut sources) {
        Ok(n) => n,
        Err(errors) => {
            args.diagnostics.report(&errors, &sources);
            return false;
        }
    };
    let params = Params {
        steps: args.steps,
        confidence: args.confidence,
        rate: args.rate,
        seed: args.seed,
    };
    let simulation = match Simulation::new(start, network, params) {
        Ok(s) => s,
        Err(d) => return fail(d),
    };
    let written = match &args.output {
        Some(path) => quandary::export::to_file(path, |w| {
            write(simulation, args.every, observed.as_ref(), w)
        }),
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            write(simulation, args.every, observed.as_ref(), &mut out)
        }
    };
    match written {
        Ok(()) => true,
        // A reader that stops early (`| head`) wants no more.
        Err(d) if args.output.is_none() && d.message == CLOSED => true,
        Err(d) => fail(d),
    }
}
