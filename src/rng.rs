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

/// A 64-bit key for a suite-wide decision (a permutation of bindings, say).
pub fn key(seed: u64, what: &str) -> u64 {
    xxh3_64_with_seed(what.as_bytes(), seed)
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

/// A keyed pseudo-random permutation of `0..m` for any `m` up to 2¹²⁸: a four-round Feistel
/// network on the smallest even number of bits that holds `m`, walked until it lands below
/// `m` (cycle walking; fewer than four steps on average). Nothing is stored: `at(i)` is
/// computed, so a permutation of 10¹² bindings costs no memory.
#[derive(Clone, Copy, Debug)]
pub struct Permutation {
    m: u128,
    half: u32,
    keys: [u64; 4],
}

impl Permutation {
    /// The permutation of `0..m` keyed by `key`.
    pub fn new(key: u64, m: u128) -> Permutation {
        let bits = 128 - m.saturating_sub(1).leading_zeros();
        let half = bits.div_ceil(2).max(1);
        let mut keys = [0u64; 4];
        for (i, k) in keys.iter_mut().enumerate() {
            *k = xxh3_64_with_seed(&(i as u64).to_le_bytes(), key);
        }
        Permutation { m, half, keys }
    }

    /// The `i`-th number of the permutation (`i < m`).
    pub fn at(&self, i: u128) -> u128 {
        if self.m <= 1 {
            return 0;
        }
        let mut x = i % self.m;
        loop {
            x = self.round_trip(x);
            if x < self.m {
                return x;
            }
        }
    }

    fn round_trip(&self, x: u128) -> u128 {
        let mask = (1u128 << self.half) - 1;
        let (mut left, mut right) = (x >> self.half, x & mask);
        for &k in &self.keys {
            let f = u128::from(xxh3_64_with_seed(&(right as u64).to_le_bytes(), k))
                | u128::from(xxh3_64_with_seed(&((right >> 64) as u64).to_le_bytes(), !k)) << 64;
            (left, right) = (right, (left ^ f) & mask);
        }
        (left << self.half) | right
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
    fn permutation_visits_every_number_once() {
        for m in [1u128, 2, 3, 6, 10, 97, 360, 1000, 4097] {
            for key in [0, 7] {
                let p = Permutation::new(key, m);
                let mut seen: Vec<u128> = (0..m).map(|k| p.at(k)).collect();
                seen.sort();
                assert_eq!(seen, (0..m).collect::<Vec<_>>(), "m = {m}");
            }
        }
        // Another key, another order; a huge space costs nothing.
        let (a, b) = (Permutation::new(1, 1000), Permutation::new(2, 1000));
        assert!((0..1000).any(|i| a.at(i) != b.at(i)));
        let huge = Permutation::new(3, u128::MAX / 3);
        assert!(huge.at(12345) < u128::MAX / 3);
        assert_ne!(huge.at(1), huge.at(2));
    }

    #[test]
    fn permutation_is_not_the_identity_nor_a_shift_and_handles_the_largest_domains() {
        let (a, b) = (Permutation::new(3, 1000), Permutation::new(4, 1000));
        assert!((0..1000).filter(|&k| a.at(k) != b.at(k)).count() > 900);
        assert!((0..1000).filter(|&k| a.at(k) == k).count() < 20);
        assert!((1..1000).filter(|&k| a.at(k) == a.at(k - 1) + 1).count() < 20);
        for n in [u128::from(u64::MAX), 1 << 63, (1 << 40) + 3, u128::MAX] {
            let p = Permutation::new(5, n);
            let xs: Vec<u128> = (0..200).map(|k| p.at(k)).collect();
            assert!(xs.iter().all(|&x| x < n));
            let mut sorted = xs.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(sorted.len(), xs.len(), "n = {n}");
        }
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
