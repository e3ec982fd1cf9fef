//! Opinion dynamics on value profiles: the bounded-confidence model of Deffuant and
//! Weisbuch, with each `profile` of a framework one agent and its weights its opinion.
//!
//! The opinion space is the values some agent weighs (a value an agent does not weigh
//! counts 0, as the language reads an absent weight: indifferent). At each step one edge of
//! the network is drawn, uniformly and seeded (a ChaCha stream from [`crate::rng`]); its two
//! agents interact only if the distance between their weight vectors — the mean absolute
//! difference over the opinion space — is below the confidence bound ε, and then each moves
//! toward the other by μ times their difference, both from the weights before the step:
//! `a += μ·(b − a)`, `b += μ·(a − b)`. The sum of the two is kept, and with μ ≤ 1/2 the
//! weights stay in [0, 1].

use indexmap::IndexMap;
use serde::Serialize;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::Framework;
use crate::rng;
use crate::source::{FileId, SourceMap, Span};

/// The most steps a simulation may be asked for.
pub const MAX_STEPS: u64 = 100_000_000;

/// The most edges a network may list.
pub const MAX_EDGES: usize = 10_000_000;

/// The agents: the profiles of a framework's root files, and the values they weigh.
#[derive(Clone, Debug, PartialEq)]
pub struct Agents {
    /// The profiles' ids, in definition order.
    pub ids: Vec<String>,
    /// The opinion space: every value some profile weighs (`framework.value`), in the
    /// framework's order.
    pub values: Vec<String>,
    /// Per agent, its weight of each value (0 where its profile does not weigh it).
    pub weights: Vec<Vec<f64>>,
}

impl Agents {
    /// The profiles declared in `framework`'s root files, one agent each.
    pub fn of(framework: &Framework) -> Agents {
        let profiles: Vec<_> = framework
            .profiles
            .iter()
            .filter(|p| framework.roots.contains(&p.module))
            .collect();
        let mut weighed: Vec<crate::model::ValueId> = profiles
            .iter()
            .flat_map(|p| p.weights.iter().map(|(v, _)| *v))
            .collect();
        weighed.sort_unstable();
        weighed.dedup();
        let weights = profiles
            .iter()
            .map(|p| {
                weighed
                    .iter()
                    .map(|v| {
                        p.weights
                            .iter()
                            .find(|(w, _)| w == v)
                            .map_or(0.0, |(_, x)| *x)
                    })
                    .collect()
            })
            .collect();
        Agents {
            ids: profiles.iter().map(|p| p.id.clone()).collect(),
            values: weighed
                .iter()
                .map(|v| framework.qualified_value(*v))
                .collect(),
            weights,
        }
    }

    fn position(&self, id: &str) -> Option<usize> {
        self.ids.iter().position(|a| a == id)
    }

    /// Each agent's weights by value, in order.
    pub fn by_agent(&self) -> IndexMap<String, IndexMap<String, f64>> {
        self.ids
            .iter()
            .zip(&self.weights)
            .map(|(id, w)| {
                (
                    id.clone(),
                    self.values.iter().cloned().zip(w.iter().copied()).collect(),
                )
            })
            .collect()
    }
}

/// The mean absolute difference of two weight vectors (0 for an empty space).
pub fn distance(a: &[f64], b: &[f64]) -> f64 {
    if a.is_empty() {
        return 0.0;
    }
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).sum::<f64>() / a.len() as f64
}

/// Who may meet whom: undirected edges between agents (their positions in [`Agents`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Network {
    /// The edges, in the file's order.
    pub edges: Vec<(usize, usize)>,
}

impl Network {
    /// Parses the edge list `file` of `sources`: one edge a line, two agent ids apart by
    /// spaces (`a b`) or by a comma (`a,b`, with an optional `source,target` header); blank
    /// lines and lines starting with `#` are skipped. Every bad line is reported, at its
    /// place.
    pub fn parse(
        sources: &SourceMap,
        file: FileId,
        agents: &Agents,
    ) -> Result<Network, Vec<Diagnostic>> {
        const EDGE: &str = "write one edge a line: two profile ids, as `a b` or `a,b`";
        let text = sources.get(file).text();
        let span = |part: &str| {
            let start = part.as_ptr() as usize - text.as_ptr() as usize;
            Span::new(file, start..start + part.len())
        };
        let malformed = |line: &str, message: String, help: &str| {
            Diagnostic::new(Code::NetworkLine, message)
                .label(span(line), "")
                .help(help.to_string())
        };
        let mut edges = Vec::new();
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> = if line.contains(',') {
                line.split(',').map(str::trim).collect()
            } else {
                line.split_whitespace().collect()
            };
            if i == 0 && fields == ["source", "target"] {
                continue;
            }
            let [a, b] = fields[..] else {
                errors.push(malformed(
                    line,
                    format!("{} fields where an edge has 2", fields.len()),
                    EDGE,
                ));
                continue;
            };
            if a.is_empty() || b.is_empty() {
                errors.push(malformed(line, "an edge with an empty end".into(), EDGE));
                continue;
            }
            if a == b {
                errors.push(malformed(
                    line,
                    format!("an edge from `{a}` to itself"),
                    "an agent does not interact with itself: remove the line",
                ));
                continue;
            }
            let mut ends = [0usize; 2];
            let mut known = true;
            for (end, id) in ends.iter_mut().zip([a, b]) {
                match agents.position(id) {
                    Some(p) => *end = p,
                    None => {
                        known = false;
                        let names: Vec<&str> = agents.ids.iter().map(String::as_str).collect();
                        errors.push(
                            Diagnostic::new(Code::UnknownAgent, format!("no profile `{id}`"))
                                .label(span(id), "not a profile of the framework")
                                .help(crate::suggest::help(
                                    id,
                                    &names,
                                    "",
                                    "declare profiles in the framework: each is one agent",
                                    "the profiles are: ",
                                )),
                        );
                    }
                }
            }
            if known {
                if edges.len() == MAX_EDGES {
                    errors.push(malformed(
                        line,
                        format!("more than {MAX_EDGES} edges"),
                        "give a smaller network",
                    ));
                    break;
                }
                edges.push((ends[0], ends[1]));
            }
        }
        let name = sources.get(file).name();
        if errors.is_empty() && edges.is_empty() {
            errors.push(
                Diagnostic::new(Code::NetworkLine, format!("`{name}` lists no edge"))
                    .path(name.to_string())
                    .help(EDGE),
            );
        }
        if errors.is_empty() {
            Ok(Network { edges })
        } else {
            Err(errors)
        }
    }

    /// Reads the edge list at `path` (bounded, as every data file: see [`crate::input`])
    /// into `sources`, and parses it.
    pub fn read(
        path: &std::path::Path,
        agents: &Agents,
        sources: &mut SourceMap,
    ) -> Result<Network, Vec<Diagnostic>> {
        let name = path.display().to_string();
        let bytes = crate::input::read(path, crate::input::MAX_DATA).map_err(|why| {
            vec![
                Diagnostic::new(Code::Io, format!("cannot read `{name}`: {why}"))
                    .path(name.clone()),
            ]
        })?;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            vec![
                Diagnostic::new(Code::NotUtf8, format!("`{name}` is not UTF-8 text"))
                    .path(name.clone()),
            ]
        })?;
        let file = sources.add(name, Some(path.to_path_buf()), text);
        Network::parse(sources, file, agents)
    }
}

/// The settings of a simulation.
#[derive(Clone, Debug, PartialEq)]
pub struct Params {
    /// Steps (one drawn edge each).
    pub steps: u64,
    /// The confidence bound ε: agents interact only if their distance is below it.
    pub confidence: f64,
    /// The rate μ at which each moves toward the other, from 0 to 1/2.
    pub rate: f64,
    /// Seed of the draw of edges.
    pub seed: u64,
}

impl Params {
    /// Refuses settings out of range.
    pub fn check(&self) -> Result<(), Diagnostic> {
        let bad = |what: String, help: &str| {
            Err(Diagnostic::new(Code::InvalidSetting, what).help(help.to_string()))
        };
        if self.steps > MAX_STEPS {
            return bad(
                format!("{} steps are more than {MAX_STEPS}", self.steps),
                "ask for fewer steps",
            );
        }
        if !(self.confidence.is_finite() && self.confidence >= 0.0) {
            return bad(
                format!("confidence `{}` is not a number from 0", self.confidence),
                "give --confidence a distance such as 0.2 (weights lie in [0, 1])",
            );
        }
        if !(self.rate.is_finite() && (0.0..=0.5).contains(&self.rate)) {
            return bad(
                format!(
                    "rate `{}` is out of range: it must be between 0 and 0.5",
                    self.rate
                ),
                "at 0.5 two agents meet halfway; above it they would overshoot each other",
            );
        }
        Ok(())
    }
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Event {
    /// The step's number, from 1.
    pub step: u64,
    /// The edge drawn.
    pub edge: (usize, usize),
    /// Whether its agents were close enough to interact.
    pub interacted: bool,
}

/// A simulation under way.
pub struct Simulation {
    agents: Agents,
    network: Network,
    params: Params,
    stream: rand_chacha::ChaCha8Rng,
    done: u64,
}

impl Simulation {
    /// A simulation of `agents` on `network` (whose edges name positions in `agents`).
    pub fn new(agents: Agents, network: Network, params: Params) -> Result<Simulation, Diagnostic> {
        params.check()?;
        if let Some(&(a, b)) = network
            .edges
            .iter()
            .find(|(a, b)| a.max(b) >= &agents.ids.len())
        {
            return Err(Diagnostic::new(
                Code::UnknownAgent,
                format!("an edge joins agents {a} and {b}, past the last"),
            ));
        }
        Ok(Simulation {
            stream: rng::fixed(params.seed, "simulate/edges"),
            agents,
            network,
            params,
            done: 0,
        })
    }

    /// The agents as they are now.
    pub fn agents(&self) -> &Agents {
        &self.agents
    }

    /// Steps taken.
    pub fn steps_taken(&self) -> u64 {
        self.done
    }

    /// Takes the next step; `None` once every step is taken (or with no edge).
    pub fn step(&mut self) -> Option<Event> {
        if self.done >= self.params.steps || self.network.edges.is_empty() {
            return None;
        }
        self.done += 1;
        let k = rng::below(&mut self.stream, self.network.edges.len() as u64) as usize;
        let (a, b) = self.network.edges[k];
        let w = &mut self.agents.weights;
        let interacted = distance(&w[a], &w[b]) < self.params.confidence;
        // An agent joined to itself (the parser refuses it) would not move.
        if interacted && a != b {
            let mu = self.params.rate;
            let (low, high) = w.split_at_mut(a.max(b));
            let (p, q) = (&mut low[a.min(b)], &mut high[0]);
            for (x, y) in p.iter_mut().zip(q.iter_mut()) {
                let (x0, y0) = (*x, *y);
                *x = x0 + mu * (y0 - x0);
                *y = y0 + mu * (x0 - y0);
            }
        }
        Some(Event {
            step: self.done,
            edge: (a, b),
            interacted,
        })
    }

    /// The state after `event` (or the start, with none), as a line of the trajectory.
    pub fn snapshot(&self, event: Option<&Event>) -> Snapshot {
        Snapshot {
            kind: "state",
            step: event.map_or(0, |e| e.step),
            edge: event.map(|e| {
                [
                    self.agents.ids[e.edge.0].clone(),
                    self.agents.ids[e.edge.1].clone(),
                ]
            }),
            interacted: event.map(|e| e.interacted),
            weights: self.agents.by_agent(),
        }
    }
}

/// One line of a trajectory: every agent's weights after a step.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// Always `state`.
    pub kind: &'static str,
    /// Steps taken (0: the start).
    pub step: u64,
    /// The edge drawn at this step (none at the start).
    pub edge: Option<[String; 2]>,
    /// Whether its agents interacted.
    pub interacted: Option<bool>,
    /// Per agent, its weight of each value.
    pub weights: IndexMap<String, IndexMap<String, f64>>,
}

/// How far simulated weights are from observed ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fit {
    /// Always `fit`.
    pub kind: &'static str,
    /// The step the simulated weights are from.
    pub step: u64,
    /// The mean squared error over every agent in both and every value of the opinion
    /// space (`None` when no agent is in both).
    pub mse: Option<f64>,
    /// Per agent in both, its mean squared error over the opinion space.
    pub agents: IndexMap<String, f64>,
    /// What the comparison left out.
    pub notes: Vec<String>,
}

/// Compares `simulated` with `observed` (profiles with the same ids, seen later): per agent
/// in both, the mean of the squared differences of its weights over the simulated opinion
/// space (a value an observed profile does not weigh counts 0), and their mean overall.
pub fn fit(simulated: &Agents, observed: &Agents, step: u64) -> Fit {
    let mut notes = Vec::new();
    let outside: Vec<&str> = observed
        .values
        .iter()
        .filter(|v| !simulated.values.contains(v))
        .map(String::as_str)
        .collect();
    if !outside.is_empty() {
        notes.push(format!(
            "the observed profiles weigh values no simulated one does, left out: {}",
            outside.join(", ")
        ));
    }
    let mut agents = IndexMap::new();
    let mut missing = Vec::new();
    for (id, w) in simulated.ids.iter().zip(&simulated.weights) {
        let Some(o) = observed.position(id) else {
            missing.push(id.as_str());
            continue;
        };
        let seen = |v: &String| {
            observed
                .values
                .iter()
                .position(|x| x == v)
                .map_or(0.0, |i| observed.weights[o][i])
        };
        let n = simulated.values.len();
        let sum: f64 = simulated
            .values
            .iter()
            .zip(w)
            .map(|(v, x)| (x - seen(v)).powi(2))
            .sum();
        agents.insert(id.clone(), if n == 0 { 0.0 } else { sum / n as f64 });
    }
    if !missing.is_empty() {
        notes.push(format!(
            "no observed profile for {}",
            crate::suggest::code_list(&missing)
        ));
    }
    let mut extra = observed
        .ids
        .iter()
        .filter(|id| simulated.position(id).is_none())
        .peekable();
    if extra.peek().is_some() {
        notes.push(format!(
            "observed profiles that are no agent, left out: {}",
            crate::suggest::code_list(extra)
        ));
    }
    // Every agent has as many values, so the overall mean is the mean of the agents'.
    let mse = (!agents.is_empty()).then(|| agents.values().sum::<f64>() / agents.len() as f64);
    Fit {
        kind: "fit",
        step,
        mse,
        agents,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agents(weights: &[&[f64]]) -> Agents {
        Agents {
            ids: (0..weights.len()).map(|i| format!("p{i}")).collect(),
            values: (0..weights[0].len()).map(|i| format!("f.v{i}")).collect(),
            weights: weights.iter().map(|w| w.to_vec()).collect(),
        }
    }

    #[test]
    fn distance_is_the_mean_absolute_difference() {
        assert!((distance(&[0.0, 1.0], &[0.5, 0.5]) - 0.5).abs() < 1e-12);
        assert_eq!(distance(&[], &[]), 0.0);
    }

    #[test]
    fn two_agents_meet_halfway_at_rate_one_half() {
        let a = agents(&[&[0.0, 1.0], &[1.0, 0.0]]);
        let net = Network {
            edges: vec![(0, 1)],
        };
        let params = Params {
            steps: 1,
            confidence: 2.0,
            rate: 0.5,
            seed: 0,
        };
        let mut s = Simulation::new(a, net, params).expect("valid");
        let e = s.step().expect("a step");
        assert!(e.interacted);
        assert_eq!(s.agents().weights, vec![vec![0.5, 0.5], vec![0.5, 0.5]]);
        assert_eq!(s.step(), None);
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let params = |rate, confidence, steps| Params {
            steps,
            confidence,
            rate,
            seed: 0,
        };
        assert!(params(0.6, 0.1, 1).check().is_err());
        assert!(params(f64::NAN, 0.1, 1).check().is_err());
        assert!(params(0.1, -1.0, 1).check().is_err());
        assert!(params(0.1, 0.1, MAX_STEPS + 1).check().is_err());
        assert!(params(0.5, 0.0, MAX_STEPS).check().is_ok());
    }

    #[test]
    fn headers_comments_and_commas() {
        let a = agents(&[&[0.0], &[1.0], &[0.5]]);
        let mut sources = SourceMap::new();
        let file = sources.add(
            "n.csv",
            None,
            "source,target\n# a comment\np0,p1\n\np1 p2\n",
        );
        let net = Network::parse(&sources, file, &a).expect("valid");
        assert_eq!(net.edges, vec![(0, 1), (1, 2)]);
    }
}
