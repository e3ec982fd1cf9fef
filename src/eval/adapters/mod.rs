//! The built-in adapters.

mod command;
pub mod openai;
mod profile;
mod random;
mod replay;

pub use command::Command;
pub use openai::{OpenAi, OpenAiOptions};
pub use profile::Profile;
pub use random::Random;
pub use replay::Replay;

/// A seeded stream for one request: the same (seed, scenario, steer) always draws the same.
pub(crate) fn stream(
    seed: u64,
    scenario: &str,
    steer: Option<&str>,
    what: &str,
) -> rand_chacha::ChaCha8Rng {
    let key = format!("{what}\u{1f}{scenario}\u{1f}{}", steer.unwrap_or(""));
    crate::expand::rng::fixed(seed, &key)
}
