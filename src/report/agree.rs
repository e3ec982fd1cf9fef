//! Statistics for judges of free-form answers: how far two raters agree on the same items
//! (Cohen's kappa, with a cluster-bootstrap interval), how evenly one judge's labels spread
//! (the normalised entropy that WorldView-Bench calls the Perspectives Distribution Score),
//! and the share of each label within a group (a language, a topic, a value) with its Wilson
//! interval.
//!
//! Every function here is pure: labels are compared as strings, maps and lists come out
//! sorted, and the bootstrap draws from a stream fixed by its seed, so the same input and
//! seed give the same numbers.

use std::collections::BTreeMap;

use serde::Serialize;

use super::math::{self, Rate};
use crate::rng;

/// How far two raters agree on the same items.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Agreement {
    /// Items rated by both.
    pub n: u64,
    /// The share of items given the same label by both (0 when `n` is 0).
    pub observed: f64,
    /// The 95% Wilson interval of `observed`.
    pub observed_interval: (f64, f64),
    /// The agreement expected by chance from the two raters' marginals: `Σₖ aₖ·bₖ / n²`,
    /// where `aₖ` and `bₖ` count the items each rater gave label `k` (0 when `n` is 0).
    pub expected: f64,
    /// Cohen's kappa, `(observed − expected) / (1 − expected)`: 1 for perfect agreement, 0
    /// for agreement at chance, negative below it. `None` when `n` is 0 or `expected` is 1
    /// (both raters gave every item one and the same label).
    pub kappa: Option<f64>,
    /// The 2.5th and 97.5th percentiles of kappa over a cluster bootstrap (clusters drawn
    /// with replacement). A resample whose expected agreement is 1 has no kappa and is left
    /// out; `None` with fewer than two clusters, no resamples, or fewer than half of the
    /// resamples having a kappa.
    pub kappa_interval: Option<(f64, f64)>,
    /// Distinct clusters (the units the bootstrap resamples).
    pub clusters: u64,
}

/// One label's share of a group.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Share {
    /// The label.
    pub label: String,
    /// Items of the group with this label.
    pub k: u64,
    /// Items of the group.
    pub n: u64,
    /// `k / n`.
    pub share: f64,
    /// The 95% Wilson interval of `share`.
    pub interval: (f64, f64),
}

/// What one cluster adds to the counts kappa is computed from.
#[derive(Default)]
struct Cluster {
    /// Items.
    n: u64,
    /// Items given the same label by both raters.
    agree: u64,
    /// Per category (an index into the sorted union of labels), items rater a gave it.
    a: BTreeMap<usize, u64>,
    /// The same for rater b.
    b: BTreeMap<usize, u64>,
}

/// The counts kappa is computed from, summed over (possibly repeated) clusters.
struct Totals {
    n: u64,
    agree: u64,
    a: Vec<u64>,
    b: Vec<u64>,
}

impl Totals {
    fn new(categories: usize) -> Totals {
        Totals {
            n: 0,
            agree: 0,
            a: vec![0; categories],
            b: vec![0; categories],
        }
    }

    fn clear(&mut self) {
        self.n = 0;
        self.agree = 0;
        self.a.iter_mut().chain(&mut self.b).for_each(|x| *x = 0);
    }

    fn add(&mut self, c: &Cluster) {
        self.n += c.n;
        self.agree += c.agree;
        for (&k, &x) in &c.a {
            self.a[k] += x;
        }
        for (&k, &x) in &c.b {
            self.b[k] += x;
        }
    }

    /// `Σₖ aₖ·bₖ`: the chance agreement times `n²`, exactly.
    fn chance(&self) -> u128 {
        self.a
            .iter()
            .zip(&self.b)
            .map(|(&a, &b)| u128::from(a) * u128::from(b))
            .sum()
    }

    /// Kappa, `(n·agree − Σₖ aₖbₖ) / (n² − Σₖ aₖbₖ)`: the textbook ratio with both terms
    /// multiplied by `n²`, in integers, so it is rounded once. `None` when `n` is 0 or the
    /// chance agreement is 1.
    fn kappa(&self) -> Option<f64> {
        let n = u128::from(self.n);
        let chance = self.chance();
        if n == 0 || chance == n * n {
            return None;
        }
        let above = (n * u128::from(self.agree)) as f64 - chance as f64;
        Some(above / (n * n - chance) as f64)
    }
}

/// Cohen's kappa between two raters. Each pair is `(cluster, label_a, label_b)`: the labels
/// the two raters gave one item, and the cluster the item belongs to (its template), which
/// is what the bootstrap resamples, `resamples` times from a stream seeded by `seed`. The
/// categories are the union of both raters' labels.
pub fn cohen_kappa(pairs: &[(&str, &str, &str)], seed: u64, resamples: usize) -> Agreement {
    let category: BTreeMap<&str, usize> = {
        let mut labels: BTreeMap<&str, usize> = pairs
            .iter()
            .flat_map(|&(_, a, b)| [(a, 0), (b, 0)])
            .collect();
        labels.values_mut().enumerate().for_each(|(i, x)| *x = i);
        labels
    };
    let mut by_cluster: BTreeMap<&str, Cluster> = BTreeMap::new();
    for &(cluster, a, b) in pairs {
        let c = by_cluster.entry(cluster).or_default();
        c.n += 1;
        c.agree += u64::from(a == b);
        *c.a.entry(category[a]).or_default() += 1;
        *c.b.entry(category[b]).or_default() += 1;
    }
    let clusters: Vec<Cluster> = by_cluster.into_values().collect();
    let mut all = Totals::new(category.len());
    clusters.iter().for_each(|c| all.add(c));
    let n = all.n;
    let (observed, expected) = if n == 0 {
        (0.0, 0.0)
    } else {
        let n = n as f64;
        (all.agree as f64 / n, all.chance() as f64 / (n * n))
    };
    Agreement {
        n,
        observed,
        observed_interval: math::wilson(all.agree, n, math::Z95),
        expected,
        kappa: all.kappa(),
        kappa_interval: bootstrap(&clusters, category.len(), seed, resamples),
        clusters: clusters.len() as u64,
    }
}

/// The percentile interval of kappa over `resamples` cluster resamples.
fn bootstrap(
    clusters: &[Cluster],
    categories: usize,
    seed: u64,
    resamples: usize,
) -> Option<(f64, f64)> {
    if clusters.len() < 2 || resamples == 0 {
        return None;
    }
    let mut stream = rng::fixed(seed, "report/agree/kappa");
    let m = clusters.len() as u64;
    let mut totals = Totals::new(categories);
    let kappas = (0..resamples)
        .filter_map(|_| {
            totals.clear();
            for _ in 0..m {
                totals.add(&clusters[rng::below(&mut stream, m) as usize]);
            }
            totals.kappa()
        })
        .collect();
    central(kappas, resamples)
}

/// The central 95% of the `valid` kappas of `drawn` resamples, when at least half had one.
fn central(mut valid: Vec<f64>, drawn: usize) -> Option<(f64, f64)> {
    if valid.len() * 2 < drawn {
        return None;
    }
    math::percentile_interval(&mut valid).map(|i| (i.low, i.high))
}

/// How often each pair of labels `(label_a, label_b)` was given to one item, sorted: the
/// confusion table of two raters (clusters are ignored).
pub fn confusion(pairs: &[(&str, &str, &str)]) -> BTreeMap<(String, String), u64> {
    let mut out: BTreeMap<(String, String), u64> = BTreeMap::new();
    for &(_, a, b) in pairs {
        *out.entry((a.to_string(), b.to_string())).or_default() += 1;
    }
    out
}

/// The normalised entropy of a distribution of labels (WorldView-Bench's Perspectives
/// Distribution Score): the Shannon entropy of the shares in nats, `−Σ pᵢ ln pᵢ`, divided by
/// `ln categories`, its largest value. `categories` is the number of labels the judge could
/// give, not only those seen (were it fewer than the labels counted, the score could exceed
/// 1). 1 when the labels are spread evenly over every category, 0 when all are one label;
/// zero counts add nothing. `None` when the counts sum to 0 or `categories` is below 2.
pub fn normalised_entropy(counts: &BTreeMap<String, u64>, categories: usize) -> Option<f64> {
    let total: u64 = counts.values().sum();
    if total == 0 || categories < 2 {
        return None;
    }
    let t = total as f64;
    // −p ln p written as p ln(1/p), so that a single label gives +0 rather than −0.
    let entropy: f64 = counts
        .values()
        .filter(|&&k| k > 0)
        .map(|&k| k as f64 / t * (t / k as f64).ln())
        .sum();
    Some(entropy / (categories as f64).ln())
}

/// Per group, the share of each label among the group's items with its 95% Wilson interval;
/// each item is `(group, label)`. Groups are sorted by name; within a group, labels by
/// descending count, then by name.
pub fn shares(items: &[(&str, &str)]) -> BTreeMap<String, Vec<Share>> {
    let mut counts: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
    for &(group, label) in items {
        *counts.entry(group).or_default().entry(label).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(group, labels)| {
            let n = labels.values().sum();
            let mut list: Vec<Share> = labels
                .into_iter()
                .map(|(label, k)| {
                    let rate = Rate::new(k, n);
                    Share {
                        label: label.to_string(),
                        k,
                        n,
                        share: rate.rate,
                        interval: (rate.low, rate.high),
                    }
                })
                .collect();
            list.sort_by(|x, y| y.k.cmp(&x.k).then_with(|| x.label.cmp(&y.label)));
            (group.to_string(), list)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `count` items of `cluster` labelled `a` by one rater and `b` by the other.
    fn items<'a>(
        out: &mut Vec<(&'a str, &'a str, &'a str)>,
        cluster: &'a str,
        a: &'a str,
        b: &'a str,
        count: usize,
    ) {
        out.extend(std::iter::repeat_n((cluster, a, b), count));
    }

    /// The textbook table of 50 items, spread over ten clusters of five (each cluster holds
    /// 2 yes/yes, 1 no/no and 2 more items, so the cells add up to 20, 5, 10 and 15).
    fn textbook() -> Vec<(&'static str, &'static str, &'static str)> {
        const CLUSTERS: [&str; 10] = ["t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7", "t8", "t9"];
        let mut out = Vec::new();
        for (i, &c) in CLUSTERS.iter().enumerate() {
            items(&mut out, c, "yes", "yes", 2);
            items(&mut out, c, "no", "no", 1);
            // Clusters 0–4 add yes/no, no/yes; clusters 5–9 add no/yes, no/no:
            // yes/no 5·1 = 5, no/yes 5·1 + 5·1 = 10, no/no 10·1 + 5·1 = 15.
            if i < 5 {
                items(&mut out, c, "yes", "no", 1);
                items(&mut out, c, "no", "yes", 1);
            } else {
                items(&mut out, c, "no", "yes", 1);
                items(&mut out, c, "no", "no", 1);
            }
        }
        out
    }

    #[test]
    fn kappa_of_the_textbook_table() {
        // Both yes 20, a yes b no 5, a no b yes 10, both no 15; n = 50.
        // p_o = (20 + 15)/50 = 0.70. Rater a says yes 25/50 = 0.5, rater b 30/50 = 0.6, so
        // p_e = 0.5·0.6 + 0.5·0.4 = 0.5 and kappa = (0.7 − 0.5)/(1 − 0.5) = 0.4.
        let pairs = textbook();
        let k = cohen_kappa(&pairs, 7, 0);
        assert_eq!(k.n, 50);
        assert_eq!(k.clusters, 10);
        assert!((k.observed - 0.7).abs() < 1e-12, "{k:?}");
        assert!((k.expected - 0.5).abs() < 1e-12, "{k:?}");
        assert!((k.kappa.expect("kappa") - 0.4).abs() < 1e-12, "{k:?}");
        assert_eq!(k.observed_interval, math::wilson(35, 50, math::Z95));
        assert_eq!(k.kappa_interval, None, "no resamples, no interval");

        let table = confusion(&pairs);
        let cell = |a: &str, b: &str| table[&(a.to_string(), b.to_string())];
        assert_eq!(
            (
                cell("yes", "yes"),
                cell("yes", "no"),
                cell("no", "yes"),
                cell("no", "no")
            ),
            (20, 5, 10, 15)
        );
        let keys: Vec<_> = table.keys().cloned().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn kappa_at_its_bounds() {
        // Perfect agreement on two labels: p_o = 1, p_e = 0.5·0.5 + 0.5·0.5 = 0.5 → 1.
        let mut pairs = Vec::new();
        items(&mut pairs, "x", "yes", "yes", 3);
        items(&mut pairs, "y", "no", "no", 3);
        assert_eq!(cohen_kappa(&pairs, 0, 0).kappa, Some(1.0));

        // Systematic disagreement on two balanced labels: p_o = 0, p_e = 0.5 → −0.5/0.5 = −1.
        let mut pairs = Vec::new();
        items(&mut pairs, "x", "yes", "no", 3);
        items(&mut pairs, "y", "no", "yes", 3);
        let k = cohen_kappa(&pairs, 0, 0);
        assert_eq!((k.observed, k.expected, k.kappa), (0.0, 0.5, Some(-1.0)));

        // One label only, on both sides: p_e = 1·1 = 1, so kappa is undefined.
        let mut pairs = Vec::new();
        items(&mut pairs, "x", "yes", "yes", 4);
        let k = cohen_kappa(&pairs, 0, 100);
        assert_eq!((k.observed, k.expected, k.kappa), (1.0, 1.0, None));
        assert_eq!(k.kappa_interval, None);

        // No items.
        let k = cohen_kappa(&[], 0, 100);
        assert_eq!(
            (k.n, k.clusters, k.observed, k.expected, k.kappa),
            (0, 0, 0.0, 0.0, None)
        );
        assert_eq!((k.observed_interval, k.kappa_interval), ((0.0, 0.0), None));
    }

    #[test]
    fn kappa_labels_are_the_union_of_both_raters() {
        // a: p, p, q; b: p, r, r. Categories {p, q, r}; p_o = 1/3;
        // p_e = (2·1 + 1·0 + 0·2)/9 = 2/9; kappa = (1/3 − 2/9)/(1 − 2/9) = (1/9)/(7/9) = 1/7.
        let pairs = [("c", "p", "p"), ("c", "p", "r"), ("c", "q", "r")];
        let k = cohen_kappa(&pairs, 0, 0);
        assert!((k.expected - 2.0 / 9.0).abs() < 1e-12, "{k:?}");
        assert!((k.kappa.expect("kappa") - 1.0 / 7.0).abs() < 1e-12, "{k:?}");
    }

    #[test]
    fn kappa_interval_is_seeded_and_covers_the_estimate() {
        let pairs = textbook();
        let first = cohen_kappa(&pairs, 42, 1000);
        let again = cohen_kappa(&pairs, 42, 1000);
        assert_eq!(first, again);
        let (low, high) = first.kappa_interval.expect("ten clusters");
        assert!(low <= 0.4 && 0.4 <= high, "{low} {high}");
        assert!(-1.0 <= low && high <= 1.0, "{low} {high}");
        assert!(low < high, "{low} {high}");

        // The input order does not matter: clusters are resampled in sorted order.
        let mut reversed = pairs.clone();
        reversed.reverse();
        assert_eq!(cohen_kappa(&reversed, 42, 1000), first);

        // One cluster: nothing to resample.
        let one: Vec<_> = pairs.iter().map(|&(_, a, b)| ("only", a, b)).collect();
        let k = cohen_kappa(&one, 42, 1000);
        assert_eq!(k.clusters, 1);
        assert_eq!(k.kappa, first.kappa);
        assert_eq!(k.kappa_interval, None);
    }

    #[test]
    fn kappa_interval_leaves_out_resamples_without_a_kappa() {
        // Cluster x holds only yes/yes, cluster y only no/no: a resample drawing one of them
        // twice (half of them) has p_e = 1 and no kappa; every other resample has kappa 1.
        // So the interval is either missing (fewer than half valid) or exactly (1, 1).
        let pairs = [("x", "yes", "yes"), ("y", "no", "no")];
        for seed in 0..20 {
            let i = cohen_kappa(&pairs, seed, 101).kappa_interval;
            assert!(matches!(i, None | Some((1.0, 1.0))), "{seed}: {i:?}");
        }
        // Fewer than half of the resamples valid: no interval; half: an interval.
        assert_eq!(central(vec![0.1, 0.2, 0.3], 8), None);
        assert_eq!(central(vec![0.5; 4], 8), Some((0.5, 0.5)));
    }

    fn counts(list: &[(&str, u64)]) -> BTreeMap<String, u64> {
        list.iter().map(|&(l, k)| (l.to_string(), k)).collect()
    }

    #[test]
    fn normalised_entropy_by_hand() {
        // Uniform over 4: −4·(0.25 ln 0.25) = ln 4, over ln 4 = 1.
        let uniform = counts(&[("a", 3), ("b", 3), ("c", 3), ("d", 3)]);
        let h = normalised_entropy(&uniform, 4).expect("counts");
        assert!((h - 1.0).abs() < 1e-12, "{h}");

        // All in one: −1·ln 1 = 0 (and +0, not −0); zero counts add nothing.
        let one = counts(&[("a", 5), ("b", 0)]);
        let h = normalised_entropy(&one, 3).expect("counts");
        assert_eq!(h, 0.0);
        assert!(h.is_sign_positive());

        // {a: 2, b: 1, c: 1} of 4 categories: shares 0.5, 0.25, 0.25, so
        // H = −(0.5 ln 0.5 + 2·0.25 ln 0.25) = 0.5 ln 2 + 0.5·(2 ln 2) = 1.5 ln 2 = 1.0397,
        // and ln 4 = 2 ln 2 = 1.3863: 1.5 ln 2 / 2 ln 2 = 0.75 exactly.
        let skewed = counts(&[("a", 2), ("b", 1), ("c", 1)]);
        let h = normalised_entropy(&skewed, 4).expect("counts");
        assert!((h - 0.75).abs() < 1e-12, "{h}");
        let entropy = 1.5 * std::f64::consts::LN_2;
        assert!((entropy - 1.0397).abs() < 1e-4 && (4f64.ln() - 1.3863).abs() < 1e-4);

        assert_eq!(normalised_entropy(&skewed, 1), None);
        assert_eq!(normalised_entropy(&skewed, 0), None);
        assert_eq!(normalised_entropy(&counts(&[("a", 0)]), 4), None);
        assert_eq!(normalised_entropy(&BTreeMap::new(), 4), None);
    }

    #[test]
    fn shares_per_group_with_wilson_intervals() {
        let items = [
            ("fr", "refused"),
            ("en", "answered"),
            ("en", "refused"),
            ("fr", "answered"),
            ("en", "answered"),
            ("en", "answered"),
        ];
        let s = shares(&items);
        assert_eq!(s.keys().collect::<Vec<_>>(), ["en", "fr"]);
        // en: answered 3 of 4, refused 1 of 4 (by count); fr: 1 and 1 (tie, by name).
        let en: Vec<(&str, u64, u64)> = s["en"]
            .iter()
            .map(|x| (x.label.as_str(), x.k, x.n))
            .collect();
        assert_eq!(en, [("answered", 3, 4), ("refused", 1, 4)]);
        let fr: Vec<&str> = s["fr"].iter().map(|x| x.label.as_str()).collect();
        assert_eq!(fr, ["answered", "refused"]);
        for list in s.values() {
            for x in list {
                assert_eq!(x.share, x.k as f64 / x.n as f64);
                assert_eq!(x.interval, math::wilson(x.k, x.n, math::Z95));
            }
        }
        assert!(shares(&[]).is_empty());
    }
}
