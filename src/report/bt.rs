//! The Bradley–Terry model of pairwise conflicts: value `i` beats value `j` with probability
//! `σ(θᵢ − θⱼ)`.
//!
//! Every value also plays one won and one lost game against a fixed reference of strength
//! `θ = 0`. This weak prior keeps strengths finite when a value never loses (or never wins)
//! and ties together values whose conflicts form separate groups; with many answers its
//! effect vanishes. Strengths are reported centred on their mean.

use super::math::{Z95, spd_inverse};

/// Games between values: `(i, j, wins of i over j, wins of j over i)` with `i < j`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Games {
    /// How many values play.
    pub players: usize,
    /// The pairs that met.
    pub pairs: Vec<(u32, u32, f64, f64)>,
}

/// Wins against the reference and losses to it, per value.
const PRIOR_GAMES: f64 = 1.0;

/// Above this many players the fit uses the MM algorithm (linear cost per step) instead of
/// Newton's method (cubic cost per step, few steps).
const NEWTON_LIMIT: usize = 400;

/// The connected component of every player (by the smallest player in it): players that
/// never met, directly or through others, are in different components.
pub fn components(games: &Games) -> Vec<usize> {
    let mut parent: Vec<usize> = (0..games.players).collect();
    fn root(parent: &mut [usize], mut x: usize) -> usize {
        while parent[x] != x {
            parent[x] = parent[parent[x]];
            x = parent[x];
        }
        x
    }
    for &(i, j, a, b) in &games.pairs {
        if a + b > 0.0 {
            let (ri, rj) = (root(&mut parent, i as usize), root(&mut parent, j as usize));
            parent[ri.max(rj)] = ri.min(rj);
        }
    }
    (0..games.players).map(|x| root(&mut parent, x)).collect()
}

/// The games split by component: each component's players (in order) and its games with
/// the players renumbered from 0. The prior ties a player only to the fixed reference, so
/// components are independent problems.
fn split(games: &Games) -> Vec<(Vec<usize>, Games)> {
    let component = components(games);
    let mut index: Vec<usize> = vec![0; games.players];
    let mut groups: Vec<(usize, Vec<usize>, Games)> = Vec::new();
    for (player, &c) in component.iter().enumerate() {
        let g = match groups.iter().position(|(root, _, _)| *root == c) {
            Some(g) => g,
            None => {
                groups.push((c, Vec::new(), Games::default()));
                groups.len() - 1
            }
        };
        index[player] = groups[g].1.len();
        groups[g].1.push(player);
        groups[g].2.players += 1;
    }
    let group_of: Vec<usize> = component
        .iter()
        .map(|c| {
            groups
                .iter()
                .position(|(root, _, _)| root == c)
                .unwrap_or(0)
        })
        .collect();
    for &(i, j, a, b) in &games.pairs {
        let g = group_of[i as usize];
        if group_of[j as usize] == g {
            groups[g]
                .2
                .pairs
                .push((index[i as usize] as u32, index[j as usize] as u32, a, b));
        }
    }
    groups.into_iter().map(|(_, p, g)| (p, g)).collect()
}

/// Maximum-a-posteriori log-strengths (not centred), starting from `start` when given,
/// component by component: Newton's method on the strictly concave log-posterior for up to
/// [`NEWTON_LIMIT`] players, else the MM algorithm of Hunter (2004).
pub fn fit(games: &Games, start: Option<&[f64]>) -> Vec<f64> {
    let n = games.players;
    let mut theta: Vec<f64> = match start {
        Some(s) if s.len() == n => s.to_vec(),
        _ => vec![0.0; n],
    };
    for (players, group) in split(games) {
        let begin: Vec<f64> = players.iter().map(|&p| theta[p]).collect();
        let fitted = fit_connected(&group, &begin);
        for (&p, t) in players.iter().zip(fitted) {
            theta[p] = t;
        }
    }
    theta
}

/// [`fit`] of one component.
fn fit_connected(games: &Games, start: &[f64]) -> Vec<f64> {
    let n = games.players;
    let mut theta = start.to_vec();
    if n == 0 {
        return theta;
    }
    if n <= NEWTON_LIMIT && newton(games, &mut theta) {
        return theta;
    }
    mm(games, &mut theta);
    theta
}

fn log_posterior(games: &Games, theta: &[f64]) -> f64 {
    // Each value won and lost PRIOR_GAMES against the reference (θ = 0).
    let mut total: f64 = theta
        .iter()
        .map(|&t| PRIOR_GAMES * (-softplus(-t) - softplus(t)))
        .sum();
    for &(i, j, wij, wji) in &games.pairs {
        let d = theta[i as usize] - theta[j as usize];
        total -= wij * softplus(-d) + wji * softplus(d);
    }
    total
}

/// `ln(1 + eˣ)` without overflow.
fn softplus(x: f64) -> f64 {
    if x > 30.0 { x } else { x.exp().ln_1p() }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// Newton's method with step halving; `false` if it failed to converge.
fn newton(games: &Games, theta: &mut [f64]) -> bool {
    let n = games.players;
    let mut info = vec![0.0; n * n];
    let mut grad = vec![0.0; n];
    let mut current = log_posterior(games, theta);
    for _ in 0..100 {
        information(games, theta, &mut info);
        for (k, g) in grad.iter_mut().enumerate() {
            *g = PRIOR_GAMES * (1.0 - 2.0 * sigmoid(theta[k]));
        }
        for &(i, j, wij, wji) in &games.pairs {
            let (i, j) = (i as usize, j as usize);
            let p = sigmoid(theta[i] - theta[j]);
            let g = wij - (wij + wji) * p;
            grad[i] += g;
            grad[j] -= g;
        }
        if !super::math::cholesky(&mut info, n) {
            return false;
        }
        let mut step = grad.clone();
        super::math::cholesky_solve(&info, n, &mut step);
        let mut scale = 1.0;
        let mut moved = false;
        for _ in 0..40 {
            let next: Vec<f64> = theta
                .iter()
                .zip(&step)
                .map(|(t, s)| t + scale * s)
                .collect();
            let value = log_posterior(games, &next);
            if value >= current - 1e-12 {
                let change = step.iter().map(|s| (scale * s).abs()).fold(0.0, f64::max);
                theta.copy_from_slice(&next);
                current = value;
                moved = true;
                if change < 1e-10 {
                    return true;
                }
                break;
            }
            scale /= 2.0;
        }
        if !moved {
            // No step improves on this point: it is the maximum to working precision.
            return true;
        }
    }
    false
}

/// The MM algorithm of Hunter (2004).
fn mm(games: &Games, theta: &mut [f64]) {
    let n = games.players;
    let mut p: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
    let mut wins = vec![PRIOR_GAMES; n];
    for &(i, j, wij, wji) in &games.pairs {
        wins[i as usize] += wij;
        wins[j as usize] += wji;
    }
    let mut denominator = vec![0.0; n];
    for _ in 0..100_000 {
        for (d, &pi) in denominator.iter_mut().zip(&p) {
            *d = 2.0 * PRIOR_GAMES / (pi + 1.0);
        }
        for &(i, j, wij, wji) in &games.pairs {
            let (i, j) = (i as usize, j as usize);
            let games = (wij + wji) / (p[i] + p[j]);
            denominator[i] += games;
            denominator[j] += games;
        }
        let mut change: f64 = 0.0;
        for k in 0..n {
            let next = wins[k] / denominator[k];
            change = change.max((next.ln() - p[k].ln()).abs());
            p[k] = next;
        }
        if change < 1e-10 {
            break;
        }
    }
    for (t, p) in theta.iter_mut().zip(&p) {
        *t = p.ln();
    }
}

/// The Fisher information (the negative Hessian of the log-posterior) at `theta`, into
/// `info` (row-major `n × n`).
fn information(games: &Games, theta: &[f64], info: &mut [f64]) {
    let n = games.players;
    info.iter_mut().for_each(|x| *x = 0.0);
    for k in 0..n {
        let p = sigmoid(theta[k]);
        info[k * n + k] = 2.0 * PRIOR_GAMES * p * (1.0 - p);
    }
    for &(i, j, wij, wji) in &games.pairs {
        let (i, j) = (i as usize, j as usize);
        let p = sigmoid(theta[i] - theta[j]);
        let c = (wij + wji) * p * (1.0 - p);
        info[i * n + i] += c;
        info[j * n + j] += c;
        info[i * n + j] -= c;
        info[j * n + i] -= c;
    }
}

/// `θ` minus its mean.
pub fn centred(theta: &[f64]) -> Vec<f64> {
    let mean = theta.iter().sum::<f64>() / theta.len().max(1) as f64;
    theta.iter().map(|t| t - mean).collect()
}

/// The half-widths of 95% Wald intervals of the centred strengths, from the inverse of the
/// Fisher information at `theta` (prior included). `None` for more than `limit` players or
/// a singular information matrix.
pub fn wald_half_widths(games: &Games, theta: &[f64], limit: usize) -> Option<Vec<f64>> {
    let n = games.players;
    if n == 0 || n > limit {
        return None;
    }
    // The covariance is block-diagonal by component: invert each block, then centre.
    let mut diagonal = vec![0.0; n];
    let mut row_sums = vec![0.0; n];
    for (players, group) in split(games) {
        let m = group.players;
        let sub: Vec<f64> = players.iter().map(|&p| theta[p]).collect();
        let mut info = vec![0.0; m * m];
        information(&group, &sub, &mut info);
        let cov = spd_inverse(&info, m)?;
        for (k, &p) in players.iter().enumerate() {
            diagonal[p] = cov[k * m + k];
            row_sums[p] = cov[k * m..(k + 1) * m].iter().sum();
        }
    }
    // var(θᵢ − mean θ) = Cᵢᵢ − 2·(Σⱼ Cᵢⱼ)/n + (Σⱼₖ Cⱼₖ)/n².
    let grand: f64 = row_sums.iter().sum();
    let n = n as f64;
    Some(
        (0..games.players)
            .map(|i| {
                let var = diagonal[i] - 2.0 * row_sums[i] / n + grand / (n * n);
                Z95 * var.max(0.0).sqrt()
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At the fit, each value's observed wins (prior included) equal its expected wins.
    #[test]
    fn the_fit_satisfies_its_likelihood_equations() {
        let games = Games {
            players: 3,
            pairs: vec![(0, 1, 2.0, 1.0), (0, 2, 0.0, 1.0), (1, 2, 0.0, 1.0)],
        };
        let theta = fit(&games, None);
        let p: Vec<f64> = theta.iter().map(|t| t.exp()).collect();
        let mut observed = [1.0; 3];
        let mut expected: Vec<f64> = p.iter().map(|pi| 2.0 * pi / (pi + 1.0)).collect();
        for &(i, j, wij, wji) in &games.pairs {
            let (i, j) = (i as usize, j as usize);
            observed[i] += wij;
            observed[j] += wji;
            let n = wij + wji;
            expected[i] += n * p[i] / (p[i] + p[j]);
            expected[j] += n * p[j] / (p[i] + p[j]);
        }
        for k in 0..3 {
            assert!((observed[k] - expected[k]).abs() < 1e-8, "{k}");
        }
        // Value 2 beat both others and lost nothing; value 0 beat 1 twice and lost once.
        assert!(theta[2] > theta[0] && theta[0] > theta[1], "{theta:?}");
    }

    /// Two separate groups of values: fitting and inverting them apart gives what the whole
    /// problem gives.
    #[test]
    fn components_are_fitted_and_inverted_apart_as_a_whole() {
        let games = Games {
            players: 5,
            pairs: vec![
                (0, 2, 4.0, 1.0),
                (1, 3, 2.0, 2.0),
                (3, 4, 0.0, 3.0),
                (1, 4, 1.0, 0.0),
            ],
        };
        assert_eq!(components(&games), [0, 1, 0, 1, 1]);
        let theta = fit(&games, None);
        let mut whole = vec![0.0; 5];
        assert!(newton(&games, &mut whole));
        for k in 0..5 {
            assert!((theta[k] - whole[k]).abs() < 1e-8, "{theta:?} {whole:?}");
        }
        let apart = wald_half_widths(&games, &theta, 10).expect("invertible");
        let mut info = vec![0.0; 25];
        information(&games, &theta, &mut info);
        let cov = spd_inverse(&info, 5).expect("invertible");
        let together: Vec<f64> = crate::report::math::centred_variances(&cov, 5)
            .into_iter()
            .map(|v| Z95 * v.sqrt())
            .collect();
        for k in 0..5 {
            assert!(
                (apart[k] - together[k]).abs() < 1e-9,
                "{apart:?} {together:?}"
            );
        }
    }

    #[test]
    fn newton_and_mm_agree() {
        let games = Games {
            players: 4,
            pairs: vec![
                (0, 1, 5.0, 2.0),
                (1, 2, 3.0, 3.0),
                (2, 3, 0.0, 4.0),
                (0, 3, 1.0, 1.0),
            ],
        };
        let a = fit(&games, None);
        let mut b = vec![0.0; 4];
        mm(&games, &mut b);
        for k in 0..4 {
            assert!((a[k] - b[k]).abs() < 1e-6, "{a:?} {b:?}");
        }
    }

    #[test]
    fn lone_values_sit_at_the_reference_and_intervals_shrink_with_games() {
        let few = Games {
            players: 2,
            pairs: vec![(0, 1, 3.0, 1.0)],
        };
        let many = Games {
            players: 2,
            pairs: vec![(0, 1, 300.0, 100.0)],
        };
        let a = wald_half_widths(&few, &fit(&few, None), 10).expect("invertible");
        let b = wald_half_widths(&many, &fit(&many, None), 10).expect("invertible");
        assert!(b[0] < a[0] / 5.0, "{a:?} {b:?}");
        // 300 to 100: θ₀ − θ₁ near ln 3.
        let t = fit(&many, None);
        assert!((t[0] - t[1] - 3f64.ln()).abs() < 0.02, "{t:?}");
        let alone = Games {
            players: 1,
            pairs: vec![],
        };
        assert!(fit(&alone, None)[0].abs() < 1e-9);
    }
}
