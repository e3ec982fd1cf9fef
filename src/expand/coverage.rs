//! How much of its pool each candidate set covers: for the scenarios of a suite whose
//! templates `show k` of their options, the share of the pool's values the shown options
//! uphold and how alike the shown options are, beside what a random draw of k options of the
//! same pool gives (computed exactly, not sampled).

use super::plan::{Vector, upheld_of};
use super::*;

/// The most draws [`Expansion::coverage`] reads: a larger suite is measured on its first
/// draws.
pub const COVERAGE_DRAWS: u64 = 100_000;

/// The candidate sets of one template of a suite, measured.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Coverage {
    /// The template (`framework.id`, or `id` in a file without a header).
    pub template: String,
    /// How many options each scenario shows.
    pub show: u32,
    /// `"diverse"` or `"random"`.
    pub draw: &'static str,
    /// The non-distractor actions the options are drawn from.
    pub pool: usize,
    /// Scenarios measured (draws kept; repeats count again).
    pub scenarios: u64,
    /// Mean over the scenarios of the share of the pool's values (those its options uphold
    /// under the binding) that the shown options uphold.
    pub coverage: f64,
    /// The same for a draw of k options of the pool at random: its expectation.
    pub random_coverage: f64,
    /// Mean over the scenarios of the mean Pearson correlation between the shown options'
    /// value vectors (1 for a value an option upholds, 0 otherwise, over the pool's values);
    /// pairs with a constant vector are left out, and `None` when no pair is left.
    pub correlation: Option<f64>,
    /// The same for a random draw: the mean over every pair of the pool.
    pub random_correlation: Option<f64>,
}

/// Running sums of one template.
#[derive(Default)]
struct Sums {
    scenarios: u64,
    measured: u64,
    coverage: f64,
    random_coverage: f64,
    correlated: u64,
    correlation: f64,
    random_correlated: u64,
    random_correlation: f64,
}

impl<'a> Expansion<'a> {
    /// The candidate sets of each template of the suite that has `show k`, in the suite's
    /// order, measured over its first `draws` draws (at most [`COVERAGE_DRAWS`]).
    pub fn coverage(&self, draws: u64) -> Vec<Coverage> {
        let mut sums: Vec<Sums> = self.templates.iter().map(|_| Sums::default()).collect();
        let has_show = |c: &Compiled| matches!(&c.body, Body::Scenario(b) if b.show.is_some());
        if self.templates.iter().any(has_show) {
            for plan in self.plans().take(draws.min(COVERAGE_DRAWS) as usize) {
                let c = &self.templates[plan.template];
                let Body::Scenario(b) = &c.body else {
                    continue;
                };
                let Some(show) = &b.show else { continue };
                let bound = self.bind(c, &plan.choices);
                let signed: Vec<Vector> = self.pool_vectors(b, show, &bound);
                let vectors: Vec<Vec<ValueId>> =
                    signed.iter().map(|v| upheld_of(v).collect()).collect();
                let shown: Vec<usize> = self
                    .shown(c, &plan.choices, &bound)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|i| show.pool.iter().position(|p| p == i))
                    .collect();
                let s = &mut sums[plan.template];
                s.scenarios += 1;
                let mut values: Vec<ValueId> = vectors.iter().flatten().copied().collect();
                values.sort_unstable();
                values.dedup();
                if values.is_empty() {
                    continue;
                }
                s.measured += 1;
                let mut covered: Vec<ValueId> = shown
                    .iter()
                    .flat_map(|&p| vectors[p].iter().copied())
                    .collect();
                covered.sort_unstable();
                covered.dedup();
                s.coverage += covered.len() as f64 / values.len() as f64;
                // A value upheld by m of the n options is missed by a random k-subset with
                // probability C(n − m, k) / C(n, k).
                let (n, k) = (vectors.len() as u64, show.count as u64);
                let all = choose(n, k) as f64;
                let expected: f64 = values
                    .iter()
                    .map(|v| {
                        let m = vectors
                            .iter()
                            .filter(|x| x.binary_search(v).is_ok())
                            .count();
                        1.0 - choose(n - m as u64, k) as f64 / all
                    })
                    .sum();
                s.random_coverage += expected / values.len() as f64;
                // Correlations over every value the pool touches, upheld, violated or
                // `either`.
                let mut touched: Vec<ValueId> = signed.iter().flatten().map(|x| x.0).collect();
                touched.sort_unstable();
                touched.dedup();
                let dims = touched.len();
                if let Some(r) = mean_correlation(&signed, &shown, dims) {
                    s.correlated += 1;
                    s.correlation += r;
                }
                let everyone: Vec<usize> = (0..signed.len()).collect();
                if let Some(r) = mean_correlation(&signed, &everyone, dims) {
                    s.random_correlated += 1;
                    s.random_correlation += r;
                }
            }
        }
        self.templates
            .iter()
            .zip(sums)
            .filter_map(|(c, s)| {
                let Body::Scenario(b) = &c.body else {
                    return None;
                };
                let show = b.show.as_ref()?;
                let mean = |sum: f64, n: u64| if n == 0 { 0.0 } else { sum / n as f64 };
                Some(Coverage {
                    template: c.key.clone(),
                    show: show.count as u32,
                    draw: if show.diverse { "diverse" } else { "random" },
                    pool: show.pool.len(),
                    scenarios: s.scenarios,
                    coverage: mean(s.coverage, s.measured),
                    random_coverage: mean(s.random_coverage, s.measured),
                    correlation: (s.correlated > 0).then(|| mean(s.correlation, s.correlated)),
                    random_correlation: (s.random_correlated > 0)
                        .then(|| mean(s.random_correlation, s.random_correlated)),
                })
            })
            .collect()
    }
}

/// The mean Pearson correlation over the pairs of `members` (positions in `vectors`) of
/// their vectors over `dims` values (1 upheld, −1 violated, 0 `either` or untouched); a pair
/// with a constant vector is left out.
fn mean_correlation(vectors: &[Vector], members: &[usize], dims: usize) -> Option<f64> {
    let d = dims as f64;
    // The sum of a vector's coordinates and of their squares.
    let moments = |x: &Vector| {
        x.iter().fold((0.0, 0.0), |(s, q), &(_, c)| {
            (s + f64::from(c), q + f64::from(c * c))
        })
    };
    let (mut sum, mut pairs) = (0.0, 0u64);
    for (i, &a) in members.iter().enumerate() {
        for &b in &members[i + 1..] {
            let (x, y) = (&vectors[a], &vectors[b]);
            let ((sx, qx), (sy, qy)) = (moments(x), moments(y));
            let spread = (d * qx - sx * sx) * (d * qy - sy * sy);
            if spread <= 0.0 {
                continue;
            }
            let mut product = 0.0;
            for &(v, c) in x {
                if let Ok(k) = y.binary_search_by_key(&v, |e| e.0) {
                    product += f64::from(c * y[k].1);
                }
            }
            sum += (d * product - sx * sy) / spread.sqrt();
            pairs += 1;
        }
    }
    (pairs > 0).then(|| sum / pairs as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(ids: &[u32]) -> Vector {
        ids.iter().map(|&i| (ValueId(i), 1)).collect()
    }

    #[test]
    fn opposite_vectors_correlate_minus_one_and_equal_ones_plus_one() {
        let vectors = vec![v(&[0, 1]), v(&[0, 1]), v(&[2, 3])];
        let r = mean_correlation(&vectors, &[0, 2], 4).unwrap_or(0.0);
        assert!((r + 1.0).abs() < 1e-12, "{r}");
        let r = mean_correlation(&vectors, &[0, 1], 4).unwrap_or(0.0);
        assert!((r - 1.0).abs() < 1e-12, "{r}");
        // An option upholding nothing has no correlation with anything.
        assert_eq!(mean_correlation(&[v(&[]), v(&[1])], &[0, 1], 2), None);
        // Upholding what the other violates and violating what it upholds: −1; the same
        // values upheld by one and violated by the other, too.
        let up = |ids: &[u32], c: i8| ids.iter().map(|&i| (ValueId(i), c)).collect::<Vector>();
        let a = [up(&[0], 1), up(&[1], -1)].concat();
        let b = [up(&[0], -1), up(&[1], 1)].concat();
        let r = mean_correlation(&[a.clone(), b], &[0, 1], 3).unwrap_or(0.0);
        assert!((r + 1.0).abs() < 1e-12, "{r}");
        let r = mean_correlation(&[a.clone(), a], &[0, 1], 3).unwrap_or(0.0);
        assert!((r - 1.0).abs() < 1e-12, "{r}");
    }

    #[test]
    fn the_distance_counts_opposite_valences_twice_and_either_once() {
        use super::super::plan::vector_distance;
        let (x, y, z) = (ValueId(0), ValueId(1), ValueId(2));
        assert_eq!(vector_distance(&[(x, 1)], &[(x, -1)]), 2);
        assert_eq!(vector_distance(&[(x, 1)], &[(x, 0)]), 1);
        assert_eq!(vector_distance(&[(x, -1)], &[(x, 0)]), 1);
        assert_eq!(vector_distance(&[(x, 1)], &[(y, 1)]), 2);
        assert_eq!(vector_distance(&[(x, 1), (z, 0)], &[(x, 1), (y, -1)]), 2);
        assert_eq!(vector_distance(&[], &[(y, 0)]), 1);
    }

    #[test]
    fn subsets_are_numbered_in_lexicographic_order() {
        let all: Vec<Vec<usize>> = (0..choose(4, 2))
            .map(|r| super::super::plan::unrank(4, 2, r))
            .collect();
        assert_eq!(
            all,
            vec![
                vec![0, 1],
                vec![0, 2],
                vec![0, 3],
                vec![1, 2],
                vec![1, 3],
                vec![2, 3]
            ]
        );
        assert_eq!(choose(64, 32), 1_832_624_140_942_590_534);
    }
}
