//! The built-in adapters.

mod profile;
mod random;

pub use profile::Profile;
pub use random::Random;

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
