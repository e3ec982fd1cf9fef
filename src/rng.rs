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

/// A seeded permutation of `0..n` computed on the fly, in constant memory: a balanced
/// Feistel network of six rounds over the smallest domain of 4^h numbers that holds `n`
/// (h ≥ 1), walking the cycle of a number until it falls inside `0..n`. The domain is less
/// than 4n, so a number takes fewer than four steps on average.
#[derive(Clone, Debug)]
pub struct Permutation {
    n: u64,
    /// Bits of each half of a number of the domain.
    half: u32,
    keys: [u64; 6],
}

impl Permutation {
    /// A permutation of `0..n` drawn from `rng`.
    pub fn new(rng: &mut ChaCha8Rng, n: u64) -> Permutation {
        let mut half = 1;
        while half < 32 && (1u128 << (2 * half)) < u128::from(n) {
            half += 1;
        }
        let mut keys = [0u64; 6];
        for k in &mut keys {
            *k = rng.next_u64();
        }
        Permutation { n, half, keys }
    }

    /// The `k`-th number of the permutation (`k` below `n`).
    pub fn at(&self, k: u64) -> u64 {
        if self.n <= 1 {
            return 0;
        }
        let mut x = k;
        loop {
            x = self.step(x);
            if x < self.n {
                return x;
            }
        }
    }

    /// One pass of the network over the whole domain.
    fn step(&self, x: u64) -> u64 {
        let mask = (1u64 << self.half) - 1;
        let (mut left, mut right) = ((x >> self.half) & mask, x & mask);
        for &key in &self.keys {
            let f = mix(right ^ key) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half) | right
    }
}

/// The finaliser of SplitMix64: every bit of the input moves every bit of the output.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
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
    fn permutation_is_a_permutation_and_depends_on_the_seed() {
        for n in [1u64, 2, 3, 4, 5, 17, 64, 65, 1000, 4097] {
            let p = Permutation::new(&mut fixed(3, "p"), n);
            let mut seen: Vec<u64> = (0..n).map(|k| p.at(k)).collect();
            seen.sort();
            assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n = {n}");
        }
        let a = Permutation::new(&mut fixed(3, "p"), 1000);
        let b = Permutation::new(&mut fixed(4, "p"), 1000);
        assert!((0..1000).filter(|&k| a.at(k) != b.at(k)).count() > 900);
        // Not the identity, nor a shift.
        assert!((0..1000).filter(|&k| a.at(k) == k).count() < 20);
        assert!((1..1000).filter(|&k| a.at(k) == a.at(k - 1) + 1).count() < 20);
    }

    #[test]
    fn permutation_handles_the_largest_domains() {
        for n in [u64::MAX, 1 << 63, (1 << 40) + 3] {
            let p = Permutation::new(&mut fixed(5, "big"), n);
            let xs: Vec<u64> = (0..200).map(|k| p.at(k)).collect();
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
