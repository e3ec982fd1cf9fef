//! `random`: a seeded baseline that picks uniformly.

use crate::eval::{Adapter, AdapterError, Decision, Request};
use crate::rng;

/// Picks an option uniformly at random, the same one every time for a given seed,
/// scenario and steer.
#[derive(Clone, Debug)]
pub struct Random {
    /// The seed.
    pub seed: u64,
}

impl Adapter for Random {
    fn fingerprint(&self) -> String {
        format!("random/seed={}", self.seed)
    }

    fn parameters(&self) -> serde_json::Value {
        serde_json::json!({ "seed": self.seed })
    }

    /// It draws from the options alone.
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
        let mut stream = super::stream(
            self.seed,
            request.scenario,
            request.steer,
            request.epoch,
            "random",
        );
        let pick = rng::below(&mut stream, n as u64) as usize;
        let mut d = Decision::option(pick);
        d.probabilities = Some(vec![1.0 / n as f64; n]);
        Ok(d)
    }
}
