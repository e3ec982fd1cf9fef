//! Seeded randomness: every scenario has its own ChaCha stream, seeded from the suite seed,
//! the template and the scenario's draw number, so no draw depends on thread order.

use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// The stream of scenario number `draw` of template `template` in a suite seeded `seed`.
pub fn stream(seed: u64, template: &str, draw: u64) -> (u64, ChaCha8Rng) {
    let own =
        xxh3_64_with_seed(template.as_bytes(), seed) ^ draw.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    let own = xxh3_64_with_seed(&own.to_le_bytes(), seed);
    (own, ChaCha8Rng::seed_from_u64(own))
}

/// A fixed stream for a suite-wide decision (a permutation of pairs, say).
pub fn fixed(seed: u64, what: &str) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(xxh3_64_with_seed(what.as_bytes(), seed))
}

/// A uniform integer in `0..n` (n > 0), without modulo bias (Lemire's method).
pub fn below(rng: &mut ChaCha8Rng, n: u64) -> u64 {
    debug_assert!(n > 0);
    loop {
        let m = u128::from(rng.next_u64()) * u128::from(n);
        let low = m as u64;
        if low >= n.wrapping_neg() % n {
            return (m >> 64) as u64;
        }
    }
}

/// A uniform number in `[0, 1)`.
pub fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Shuffles `items` in place (Fisher–Yates).
pub fn shuffle<T>(rng: &mut ChaCha8Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A seeded permutation of `0..m`: `k ↦ (a·k + b) mod m` with `a` coprime to `m`. Walking
/// `k = 0, 1, 2, …` visits every number once before any repeats.
#[derive(Clone, Copy, Debug)]
pub struct Affine {
    a: u128,
    b: u128,
    m: u128,
}

impl Affine {
    /// A permutation of `0..m` drawn from `rng`.
    pub fn new(rng: &mut ChaCha8Rng, m: u128) -> Affine {
        let m = m.max(1);
        let b = u128::from(rng.next_u64()) % m;
        // A multiplier near m·(golden ratio) spreads consecutive k across the space; step
        // to the next number coprime to m.
        let mut a = ((m as f64 * 0.618_033_988_749_895) as u128).max(1) % m;
        a = a.max(1);
        while gcd(a, m) != 1 {
            a = a % m + 1;
        }
        Affine { a, b, m }
    }

    /// The `k`-th number of the permutation.
    pub fn at(&self, k: u128) -> u128 {
        (self.a.wrapping_mul(k % self.m) % self.m + self.b) % self.m
    }
}

fn gcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let (s1, mut a) = stream(42, "t", 7);
        let (s2, mut b) = stream(42, "t", 7);
        assert_eq!(s1, s2);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(stream(42, "t", 8).0, s1);
        assert_ne!(stream(43, "t", 7).0, s1);
        assert_ne!(stream(42, "u", 7).0, s1);
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut rng = fixed(1, "x");
        let mut counts = [0u32; 3];
        for _ in 0..30_000 {
            counts[below(&mut rng, 3) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_000..11_000).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn affine_is_a_permutation() {
        for m in [1u128, 2, 6, 10, 97, 360] {
            let p = Affine::new(&mut fixed(3, "p"), m);
            let mut seen: Vec<u128> = (0..m).map(|k| p.at(k)).collect();
            seen.sort();
            assert_eq!(seen, (0..m).collect::<Vec<_>>(), "m = {m}");
        }
    }
}
