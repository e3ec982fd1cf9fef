//! The numbers behind a report: proportions with Wilson intervals, the Newcombe interval of
//! a difference, percentiles, rank correlation, and the small dense linear algebra the
//! Bradley–Terry and value-system fits need.

use serde::Serialize;

/// `z` of a two-sided 95% interval.
pub const Z95: f64 = 1.959_963_984_540_054;

/// A 95% interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// Whether the interval lies wholly above or wholly below zero.
    pub fn excludes_zero(&self) -> bool {
        self.low > 0.0 || self.high < 0.0
    }

    /// The smallest interval holding both.
    pub fn union(self, other: Interval) -> Interval {
        Interval {
            low: self.low.min(other.low),
            high: self.high.max(other.high),
        }
    }

    /// The interval mapped through an increasing function.
    pub fn map(self, f: impl Fn(f64) -> f64) -> Interval {
        Interval {
            low: f(self.low),
            high: f(self.high),
        }
    }
}

/// A proportion with its 95% Wilson score interval.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Rate {
    /// Successes.
    pub k: u64,
    /// Trials.
    pub n: u64,
    /// `k / n` (0 when `n` is 0).
    pub rate: f64,
    /// Lower bound of the 95% Wilson interval.
    pub low: f64,
    /// Upper bound of the 95% Wilson interval.
    pub high: f64,
}

impl Rate {
    /// Whether it counts no trial.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Whether it counts no success.
    pub fn is_zero(&self) -> bool {
        self.k == 0
    }

    /// `k` successes in `n` trials.
    pub fn new(k: u64, n: u64) -> Rate {
        let (low, high) = wilson(k, n, Z95);
        Rate {
            k,
            n,
            rate: if n == 0 { 0.0 } else { k as f64 / n as f64 },
            low,
            high,
        }
    }

    /// `k` successes in `n` trials of which only `distinct` are independent (the rest
    /// repeat some of them): the rate is `k / n`, the Wilson interval that of the same rate
    /// over `distinct` trials. With `distinct == n`, [`Rate::new`].
    pub fn distinct(k: u64, n: u64, distinct: u64) -> Rate {
        if distinct >= n || n == 0 {
            return Rate::new(k, n);
        }
        Rate::weighed(k, n, k as f64 / n as f64, distinct.max(1))
    }

    /// `k` of `n` counted, with a `rate` that is not `k / n` (a share weighed by relevance),
    /// its Wilson interval that of the rate over `trials` independent trials.
    pub fn weighed(k: u64, n: u64, rate: f64, trials: u64) -> Rate {
        let (low, high) = wilson_rate(rate, trials as f64, Z95);
        Rate {
            k,
            n,
            rate,
            low,
            high,
        }
    }

    /// The Wilson interval.
    pub fn interval(&self) -> Interval {
        Interval {
            low: self.low,
            high: self.high,
        }
    }
}

/// The Wilson score interval of `k` successes in `n` trials at `z` (both bounds 0 when
/// `n` is 0).
pub fn wilson(k: u64, n: u64, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 0.0);
    }
    wilson_rate(k as f64 / n as f64, n as f64, z)
}

/// The Wilson interval of an observed rate `p` over `n` trials (`n` need not be whole).
pub(crate) fn wilson_rate(p: f64, n: f64, z: f64) -> (f64, f64) {
    if n <= 0.0 {
        return (0.0, 0.0);
    }
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    ((centre - half).max(0.0), (centre + half).min(1.0))
}

/// Newcombe's hybrid score interval (his method 10) for `after.rate − before.rate`, built
/// from the two Wilson intervals. It treats the two proportions as independent, which makes
/// it conservative for the same scenarios asked twice.
pub fn newcombe(before: &Rate, after: &Rate) -> Interval {
    let d = after.rate - before.rate;
    let (p1, l1, u1) = (before.rate, before.low, before.high);
    let (p2, l2, u2) = (after.rate, after.low, after.high);
    Interval {
        low: d - ((p2 - l2).powi(2) + (u1 - p1).powi(2)).sqrt(),
        high: d + ((u2 - p2).powi(2) + (p1 - l1).powi(2)).sqrt(),
    }
}

/// The `q`-quantile of sorted `values` by linear interpolation between order statistics
/// (Hyndman and Fan's type 7, the default of R and NumPy).
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => f64::NAN,
        1 => sorted[0],
        n => {
            let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
            let i = h.floor() as usize;
            let j = (i + 1).min(n - 1);
            sorted[i] + (h - i as f64) * (sorted[j] - sorted[i])
        }
    }
}

/// The central 95% of `samples` (sorted in place; non-finite samples are dropped).
pub fn percentile_interval(samples: &mut Vec<f64>) -> Option<Interval> {
    samples.retain(|x| x.is_finite());
    if samples.is_empty() {
        return None;
    }
    samples.sort_by(f64::total_cmp);
    Some(Interval {
        low: quantile(samples, 0.025),
        high: quantile(samples, 0.975),
    })
}

/// Ranks from 1, ties sharing the mean of their ranks.
pub fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    let mut out = vec![0.0; values.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && values[order[j + 1]] == values[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            out[k] = rank;
        }
        i = j + 1;
    }
    out
}

/// Pearson's correlation (`None` when either side is constant or there are fewer than 2
/// points).
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 2 {
        return None;
    }
    let mx = x[..n].iter().sum::<f64>() / n as f64;
    let my = y[..n].iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for i in 0..n {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx).powi(2);
        syy += (y[i] - my).powi(2);
    }
    (sxx > 0.0 && syy > 0.0).then(|| (sxy / (sxx * syy).sqrt()).clamp(-1.0, 1.0))
}

/// Spearman's rank correlation: Pearson's correlation of the ranks (ties averaged).
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    pearson(&ranks(x), &ranks(y))
}

/// Factors the symmetric positive definite `n × n` matrix `a` (row-major) in place into its
/// lower Cholesky factor. `false` when it is not positive definite.
pub fn cholesky(a: &mut [f64], n: usize) -> bool {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if !(d > 0.0 && d.is_finite()) {
            return false;
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = s / d;
        }
        for i in 0..j {
            a[i * n + j] = 0.0;
        }
    }
    true
}

/// Solves `L Lᵀ x = b` in place given the Cholesky factor `l` of [`cholesky`].
pub fn cholesky_solve(l: &[f64], n: usize, b: &mut [f64]) {
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
}

/// The inverse of the symmetric positive definite `a` (row-major), or `None`.
pub fn spd_inverse(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut l = a.to_vec();
    if !cholesky(&mut l, n) {
        return None;
    }
    let mut inv = vec![0.0; n * n];
    let mut e = vec![0.0; n];
    for j in 0..n {
        e.iter_mut().for_each(|x| *x = 0.0);
        e[j] = 1.0;
        cholesky_solve(&l, n, &mut e);
        for i in 0..n {
            inv[i * n + j] = e[i];
        }
    }
    Some(inv)
}

/// The variances of `xᵢ − mean(x)` given the covariance `cov` (row-major `n × n`) of `x`:
/// `Cᵢᵢ − 2·mean_j Cᵢⱼ + mean_jk Cⱼₖ`.
pub fn centred_variances(cov: &[f64], n: usize) -> Vec<f64> {
    let row_means: Vec<f64> = (0..n)
        .map(|i| cov[i * n..(i + 1) * n].iter().sum::<f64>() / n as f64)
        .collect();
    let grand = row_means.iter().sum::<f64>() / n.max(1) as f64;
    (0..n)
        .map(|i| (cov[i * n + i] - 2.0 * row_means[i] + grand).max(0.0))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_matches_hand_computed_bounds() {
        // 7 of 10 at z = 1.96 (z² = 3.8416): centre (0.7 + 3.8416/20)/(1 + 3.8416/10)
        // = 0.89208/1.38416 = 0.644492; half 1.96·sqrt(0.7·0.3/10 + 3.8416/400)/1.38416
        // = 1.96·sqrt(0.030604)/1.38416 = 0.247718 → [0.396774, 0.892210].
        let (low, high) = wilson(7, 10, 1.96);
        assert!((low - 0.3968).abs() < 1e-4, "{low}");
        assert!((high - 0.8922).abs() < 1e-4, "{high}");
        assert_eq!(wilson(0, 0, 1.96), (0.0, 0.0));
        let (low, high) = wilson(0, 5, Z95);
        assert_eq!(low, 0.0);
        assert!(high > 0.4 && high < 0.44, "{high}");
    }

    #[test]
    fn newcombe_matches_his_worked_example() {
        // Newcombe (1998), table II, example (a): 56/70 against 48/80 → difference 0.2,
        // method 10 interval [0.0524, 0.3339].
        let i = newcombe(&Rate::new(48, 80), &Rate::new(56, 70));
        assert!((i.low - 0.0524).abs() < 5e-4, "{i:?}");
        assert!((i.high - 0.3339).abs() < 5e-4, "{i:?}");
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let v = [1.0, 2.0, 3.0, 4.0];
        // numpy.quantile([1,2,3,4], 0.025) = 1.075; 0.975 → 3.925.
        assert!((quantile(&v, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile(&v, 0.975) - 3.925).abs() < 1e-12);
        assert_eq!(quantile(&[5.0], 0.3), 5.0);
        assert!(quantile(&[], 0.5).is_nan());
    }

    #[test]
    fn ranks_average_ties_and_spearman_follows() {
        assert_eq!(ranks(&[10.0, 20.0, 20.0, 5.0]), [2.0, 3.5, 3.5, 1.0]);
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), Some(1.0));
        assert_eq!(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), Some(-1.0));
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
        // x = 1..5, y = 2,1,4,3,5: d² = 1+1+1+1+0 = 4 → 1 − 6·4/(5·24) = 0.8.
        let r = spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).expect("r");
        assert!((r - 0.8).abs() < 1e-12);
    }

    #[test]
    fn cholesky_inverts_a_small_matrix() {
        // [[4, 2], [2, 3]]⁻¹ = [[3, −2], [−2, 4]] / 8.
        let inv = spd_inverse(&[4.0, 2.0, 2.0, 3.0], 2).expect("positive definite");
        let want = [0.375, -0.25, -0.25, 0.5];
        for (a, b) in inv.iter().zip(want) {
            assert!((a - b).abs() < 1e-12, "{inv:?}");
        }
        assert!(spd_inverse(&[1.0, 2.0, 2.0, 1.0], 2).is_none());
    }
}
