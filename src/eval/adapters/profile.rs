//! `profile`: a value-system agent. It weighs each option by the values it upholds minus
//! those it violates, under the weights of a `profile` block, and picks the heaviest; with a
//! temperature above 0 it draws from the softmax of the weights instead (seeded).

use rustc_hash::FxHashMap as HashMap;

use crate::eval::{Adapter, AdapterError, Choice, Decision, Request};
use crate::model::{Framework, ProfileId, ValueId};
use crate::rng;

/// A value-system agent built from a `profile` block.
#[derive(Clone, Debug)]
pub struct ProfileAgent {
    name: String,
    /// Weight of every value that has one, by qualified name (`framework.value`).
    weights: HashMap<String, f64>,
    /// Softmax temperature; 0 picks the heaviest option.
    pub temperature: f64,
    /// Seed of the draws (with a temperature) and of tie-breaks.
    pub seed: u64,
    /// Per steer id, the weight added to values (by qualified name) under that steer.
    steers: HashMap<String, HashMap<String, f64>>,
}

/// How far a steer moves the weight of a value it names (`toward` adds, `away` subtracts),
/// and of every value below it.
pub const STEER_SHIFT: f64 = 0.5;

impl ProfileAgent {
    /// The agent of profile `profile` of `framework`.
    ///
    /// A value's weight is the profile's weight for it, else for its nearest ancestor that
    /// has one, else the mean weight of the values it is mapped to (`map`) in other
    /// frameworks (found the same way); a value with none weighs 0. So a profile over the
    /// Moral Foundations weighs DailyDilemmas values through their mapping.
    pub fn new(framework: &Framework, profile: ProfileId, temperature: f64, seed: u64) -> Self {
        let p = &framework.profiles[profile.index()];
        // Looked up a few times a decision: hashed the fast way (the order never shows).
        let weights = framework.profile_weights(profile).into_iter().collect();
        ProfileAgent {
            name: format!("{}.{}", framework.module(p.module).display_id(), p.id),
            weights,
            temperature,
            seed,
            steers: HashMap::default(),
        }
    }

    /// Makes the agent follow `steer`: under it, each value the steer pushes toward (or lies
    /// below one) weighs [`STEER_SHIFT`] more, each it pushes away from weighs that much less.
    pub fn steer(&mut self, framework: &Framework, steer: &crate::model::Steer) {
        let mut shift: HashMap<String, f64> = HashMap::default();
        for i in 0..framework.values.len() {
            let v = ValueId::from_index(i);
            let lineage: Vec<ValueId> = std::iter::once(v).chain(framework.ancestors(v)).collect();
            let mut delta = 0.0;
            if lineage.iter().any(|x| steer.toward.contains(x)) {
                delta += STEER_SHIFT;
            }
            if lineage.iter().any(|x| steer.away.contains(x)) {
                delta -= STEER_SHIFT;
            }
            if delta != 0.0 {
                shift.insert(framework.qualified_value(v), delta);
            }
        }
        if !shift.is_empty() {
            self.steers.insert(steer.id.clone(), shift);
        }
    }

    /// The weight of a value (by qualified name, `framework.value`) under the profile, if it
    /// has one of its own, through an ancestor or through a mapping.
    pub fn weight(&self, value: &str) -> Option<f64> {
        self.weights.get(value).copied()
    }

    /// The weight of an option: its upheld values' weights minus its violated values',
    /// under `steer` (if the agent follows it).
    pub fn score(&self, upholds: &[String], violates: &[String], steer: Option<&str>) -> f64 {
        self.weigh(
            &Choice {
                upholds: upholds.to_vec(),
                violates: violates.to_vec(),
                ..Choice::default()
            },
            steer,
        )
    }

    /// The weight of an option as [`ProfileAgent::score`] gives it, with ValuePrism's valence
    /// and relevance: each upheld value's weight is scaled by its relevance (1 when the
    /// option gives none), and a value the option has as `either` (it could serve it or go
    /// against it) adds nothing, even when the option also upholds or violates it.
    pub fn weigh(&self, option: &Choice, steer: Option<&str>) -> f64 {
        let shift = steer.and_then(|s| self.steers.get(s));
        let w = |v: &String| {
            self.weights.get(v).copied().unwrap_or(0.0)
                + shift.and_then(|m| m.get(v)).copied().unwrap_or(0.0)
        };
        let counted = |v: &&String| !option.either.contains(v);
        let relevance = |v: &String| {
            option
                .relevance
                .get(v)
                .copied()
                .filter(|r| r.is_finite())
                .map_or(1.0, |r| r.clamp(0.0, 1.0))
        };
        option
            .upholds
            .iter()
            .filter(counted)
            .map(|v| relevance(v) * w(v))
            .sum::<f64>()
            - option.violates.iter().filter(counted).map(w).sum::<f64>()
    }
}

impl Adapter for ProfileAgent {
    fn fingerprint(&self) -> String {
        format!(
            "profile/{}/temperature={}/seed={}",
            self.name, self.temperature, self.seed
        )
    }

    fn model(&self) -> Option<String> {
        Some(self.name.clone())
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({ "profile": self.name, "temperature": self.temperature, "seed": self.seed })
    }

    /// It decides from the options' values alone.
    fn reads_prompt(&self) -> bool {
        false
    }

    /// It decides in-process, from the request alone.
    fn in_process(&self) -> bool {
        true
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        let n = request.options.len();
        if n == 0 {
            return Err(AdapterError::no_options());
        }
        let scores: smallvec::SmallVec<[f64; 4]> = request
            .options
            .iter()
            .map(|o| self.weigh(o, request.steer))
            .collect();
        // Seeded by the twin group, not the scenario, so the agent answers a scenario and
        // its order-swapped twin alike; made only when a draw is needed.
        let stream = || {
            super::stream(
                self.seed,
                request.group,
                request.steer,
                request.epoch,
                "profile",
            )
        };
        if self.temperature > 0.0 {
            let mut stream = stream();
            let max = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
            let exp: Vec<f64> = scores
                .iter()
                .map(|s| ((s - max) / self.temperature).exp())
                .collect();
            let total: f64 = exp.iter().sum();
            let probabilities: Vec<f64> = exp.iter().map(|e| e / total).collect();
            // Walk the options in the order of their ids, not as shown, so a scenario and
            // its order-swapped twin draw the same action.
            let mut by_id: Vec<usize> = (0..n).collect();
            by_id.sort_by(|&a, &b| request.options[a].action.cmp(&request.options[b].action));
            let mut u = rng::unit(&mut stream);
            let mut pick = by_id[n - 1];
            for &i in &by_id {
                if u < probabilities[i] {
                    pick = i;
                    break;
                }
                u -= probabilities[i];
            }
            let mut d = Decision::option(pick);
            d.probabilities = Some(probabilities);
            return Ok(d);
        }
        let best = scores.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let mut tied: smallvec::SmallVec<[usize; 4]> =
            (0..n).filter(|&i| scores[i] == best).collect();
        let pick = if tied.len() == 1 {
            tied[0]
        } else {
            // A tie is broken by the option's content (the tied in the order of their ids),
            // again so twins agree.
            tied.sort_by(|&a, &b| request.options[a].action.cmp(&request.options[b].action));
            tied[rng::below(&mut stream(), tied.len() as u64) as usize]
        };
        Ok(Decision::option(pick))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent() -> ProfileAgent {
        ProfileAgent {
            name: "t.p".into(),
            weights: [("v.a", 1.0), ("v.b", 0.5), ("v.c", 0.25)]
                .iter()
                .map(|(v, w)| (v.to_string(), *w))
                .collect(),
            temperature: 0.0,
            seed: 0,
            steers: HashMap::default(),
        }
    }

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn relevance_scales_an_upheld_weight_and_either_adds_nothing() {
        let a = agent();
        // a × 0.5 + b − c = 0.5 + 0.5 − 0.25.
        let option = Choice {
            upholds: names(&["v.a", "v.b"]),
            violates: names(&["v.c"]),
            relevance: [("v.a".to_string(), 0.5)].into_iter().collect(),
            ..Choice::default()
        };
        assert_eq!(a.weigh(&option, None), 0.75);
        // `either` b: b adds nothing, whether upheld or violated too.
        let either = Choice {
            either: names(&["v.b", "v.c"]),
            ..option.clone()
        };
        assert_eq!(a.weigh(&either, None), 0.5);
        // Without relevance or either, the weight is `score`'s.
        let plain = Choice {
            upholds: names(&["v.a", "v.b"]),
            violates: names(&["v.c"]),
            ..Choice::default()
        };
        assert_eq!(
            a.weigh(&plain, None),
            a.score(&plain.upholds, &plain.violates, None)
        );
        assert_eq!(a.weigh(&plain, None), 1.25);
        // A relevance out of range is held to [0, 1].
        let odd = Choice {
            relevance: [("v.a".to_string(), 7.0), ("v.b".to_string(), f64::NAN)]
                .into_iter()
                .collect(),
            ..plain
        };
        assert_eq!(a.weigh(&odd, None), 1.25);
    }
}
