//! Inferring a value system from choices: the weights under which a model's answers are most
//! likely, printed as a `profile` block.
//!
//! The model is the one the `profile` agent follows, made probabilistic: an option's utility
//! is the sum of the weights of the values it upholds minus those it violates, and an option
//! is chosen with probability proportional to `exp(utility)` (a conditional logit, which for
//! two options is a Bradley–Terry model over the values each upholds). The weights are the
//! maximum of the log-likelihood with an L2 penalty `λ/2·‖w‖²` (a Gaussian prior, which keeps
//! them finite when the choices are deterministic), found by Newton's method. Scenarios with
//! the same options (in values) are pooled first, so the cost grows with the distinct kinds
//! of dilemma, not with the answers.

use std::path::Path;

use indexmap::IndexSet;
use rustc_hash::{FxBuildHasher, FxHashMap};
use serde::Serialize;

use super::math::{self, Interval, Z95};
use super::tally::{self, AnswerIndex};
use crate::diagnostic::{Code, Diagnostic};
use crate::formats::suite::SuiteFile;
use crate::model::Framework;

/// The most values a fit takes on: each Newton step factors a matrix of their number
/// squared.
pub const MOST_VALUES: usize = 3000;

/// A fitted value.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FittedValue {
    /// The value (`framework.value`).
    pub value: String,
    /// The value as the framework file writes it (`ns.value` for an imported one).
    pub name: String,
    /// Its utility (log-odds scale), relative to the mean of all fitted values.
    pub utility: f64,
    /// The utility's 95% Wald interval.
    pub interval: Interval,
    /// The utility mapped linearly onto `[0, 1]` (lowest to highest), a profile's range.
    pub weight: f64,
}

/// A fitted value system.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Fitted {
    /// The results file.
    pub results: String,
    /// The steer of the run fitted (`None`: the plain run).
    pub steer: Option<String>,
    /// Answers naming an option.
    pub answers: u64,
    /// Distinct kinds of dilemma (options with the same values).
    pub patterns: u64,
    /// The L2 penalty.
    pub l2: f64,
    /// The penalised log-likelihood at the fit.
    pub log_likelihood: f64,
    /// The share of answers the fitted weights predict (the option of highest utility).
    pub accuracy: f64,
    /// Per value, heaviest first.
    pub values: Vec<FittedValue>,
    /// What the reader should know.
    pub notes: Vec<String>,
}

/// One option's values: `(value, +1 upheld / −1 violated)`, by value.
type Features = Vec<(u32, i32)>;

/// Fits the answers of one run of a journal.
pub fn fit(sources: &tally::Sources<'_>, l2: f64) -> Result<Fitted, Diagnostic> {
    if !(l2.is_finite() && l2 > 0.0) {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            format!("the L2 penalty {l2} is not a positive number"),
        )
        .help("give a penalty above 0, e.g. --l2 1"));
    }
    let journal = AnswerIndex::read(sources.results)?;
    let run = journal.run(sources.steer, &sources.results.name())?;
    let mut suite = SuiteFile::open(sources.suite)?;
    let mut notes = journal.notes.clone();
    notes.extend(sources.notes.iter().cloned());

    let mut values: IndexSet<String, FxBuildHasher> = IndexSet::default();
    let mut patterns: FxHashMap<Vec<Features>, Vec<u64>> = FxHashMap::default();
    let mut answers = 0u64;
    let mut repeats = 0u64;
    tally::each_answer(&journal, &mut suite, run, |s, chosen| {
        let Some(k) = chosen else { return };
        answers += 1;
        repeats += u64::from(s.occurrence.is_some_and(|o| o > 1));
        let options: Vec<Features> = s
            .actions
            .iter()
            .map(|a| {
                let mut f: Vec<(u32, i32)> = Vec::new();
                for (list, sign) in [(&a.upholds, 1), (&a.violates, -1)] {
                    for v in list {
                        let i = values.insert_full(v.to_string()).0 as u32;
                        match f.iter_mut().find(|(x, _)| *x == i) {
                            Some(e) => e.1 += sign,
                            None => f.push((i, sign)),
                        }
                    }
                }
                f.retain(|(_, c)| *c != 0);
                f.sort_unstable();
                f
            })
            .collect();
        let n = options.len();
        let counts = patterns.entry(options).or_insert_with(|| vec![0; n]);
        counts[k] += 1;
    })?;
    if values.len() > MOST_VALUES {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            format!(
                "the answers involve {} values, more than the {MOST_VALUES} a fit takes on",
                values.len()
            ),
        )
        .help("fit a suite over fewer values"));
    }
    if answers == 0 {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            format!(
                "`{}` holds no answer naming an option to fit",
                sources.results.name()
            ),
        )
        .help("run `quandary eval` first, or choose the run with --steer"));
    }
    // Pooled patterns in a fixed order, so the sums (and the bytes printed) never depend on
    // hash order.
    let mut pooled: Vec<(Vec<Features>, Vec<u64>)> = patterns.into_iter().collect();
    pooled.sort_unstable();
    let v = values.len();
    let (w, info, log_likelihood) = newton(&pooled, v, l2);
    // Utilities are reported relative to their mean: when every option upholds and violates
    // as many values as the others, only differences are identified.
    let mean = w.iter().sum::<f64>() / v.max(1) as f64;
    let w: Vec<f64> = w.iter().map(|x| x - mean).collect();
    // Repeats of a binding (lines with an `occurrence` past 1) add answers but no new
    // scenario: the standard errors are those of the distinct answers (the design effect of
    // repeats that agree completely).
    let inflation = if repeats > 0 {
        (answers as f64 / (answers - repeats).max(1) as f64).sqrt()
    } else {
        1.0
    };
    let se: Vec<f64> = match math::spd_inverse(&info, v) {
        Some(cov) => math::centred_variances(&cov, v)
            .into_iter()
            .map(|x| x.sqrt() * inflation)
            .collect(),
        None => vec![f64::NAN; v],
    };
    let accuracy = accuracy(&pooled, &w) / answers as f64;
    let (lo, hi) = w
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    let framework = sources.framework;
    let mut fitted: Vec<FittedValue> = values
        .iter()
        .enumerate()
        .map(|(i, name)| FittedValue {
            value: name.clone(),
            name: written_name(framework, name),
            utility: w[i],
            interval: Interval {
                low: w[i] - Z95 * se[i],
                high: w[i] + Z95 * se[i],
            },
            weight: if hi > lo {
                (w[i] - lo) / (hi - lo)
            } else {
                0.5
            },
        })
        .collect();
    if fitted.len() > 1
        && fitted
            .iter()
            .all(|v| !(v.interval.low > 0.0 || v.interval.high < 0.0))
    {
        notes.push(
            "every value's 95% interval includes 0 (the mean utility): the answers do not \
             tell the values apart, and the weights from 0 to 1 order noise"
                .to_string(),
        );
    }
    fitted.sort_by(|a, b| {
        b.utility
            .total_cmp(&a.utility)
            .then_with(|| a.value.cmp(&b.value))
    });
    Ok(Fitted {
        results: sources.results.name().to_string(),
        steer: journal.runs.get_index(run).cloned().flatten(),
        answers,
        patterns: pooled.len() as u64,
        l2,
        log_likelihood,
        accuracy,
        values: fitted,
        notes,
    })
}

/// How the framework's file writes a value (its qualified name when it is not found).
fn written_name(framework: Option<&Framework>, qualified: &str) -> String {
    let found =
        framework.and_then(|f| Some(f.value_name(f.find_qualified(qualified)?, *f.roots.first()?)));
    found.unwrap_or_else(|| qualified.to_string())
}

fn utility(f: &Features, w: &[f64]) -> f64 {
    f.iter().map(|&(i, c)| f64::from(c) * w[i as usize]).sum()
}

/// The penalised log-likelihood at `w`.
fn log_likelihood(pooled: &[(Vec<Features>, Vec<u64>)], w: &[f64], l2: f64) -> f64 {
    let mut total = -0.5 * l2 * w.iter().map(|x| x * x).sum::<f64>();
    for (options, counts) in pooled {
        let u: Vec<f64> = options.iter().map(|f| utility(f, w)).collect();
        let max = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let log_sum = max + u.iter().map(|x| (x - max).exp()).sum::<f64>().ln();
        for (ui, &n) in u.iter().zip(counts) {
            total += n as f64 * (ui - log_sum);
        }
    }
    total
}

/// Newton's method with step halving: the weights, the information matrix (the negative
/// Hessian) at them, and the penalised log-likelihood.
fn newton(pooled: &[(Vec<Features>, Vec<u64>)], v: usize, l2: f64) -> (Vec<f64>, Vec<f64>, f64) {
    let mut w = vec![0.0; v];
    let mut current = log_likelihood(pooled, &w, l2);
    let mut info = vec![0.0; v * v];
    let mut grad = vec![0.0; v];
    let mut mean = vec![0.0; v];
    for _ in 0..200 {
        information(pooled, &w, l2, &mut info, &mut grad, &mut mean);
        let mut l = info.clone();
        if !math::cholesky(&mut l, v) {
            break;
        }
        let mut step = grad.clone();
        math::cholesky_solve(&l, v, &mut step);
        let mut scale = 1.0;
        let mut improved = false;
        for _ in 0..40 {
            let next: Vec<f64> = w.iter().zip(&step).map(|(a, s)| a + scale * s).collect();
            let value = log_likelihood(pooled, &next, l2);
            if value >= current - 1e-12 {
                let change = step.iter().map(|s| (scale * s).abs()).fold(0.0, f64::max);
                w = next;
                current = value;
                improved = change >= 1e-9;
                break;
            }
            scale /= 2.0;
        }
        if !improved {
            break;
        }
    }
    information(pooled, &w, l2, &mut info, &mut grad, &mut mean);
    (w, info, current)
}

/// The gradient and the information matrix of the penalised log-likelihood at `w`.
fn information(
    pooled: &[(Vec<Features>, Vec<u64>)],
    w: &[f64],
    l2: f64,
    info: &mut [f64],
    grad: &mut [f64],
    mean: &mut [f64],
) {
    let v = w.len();
    info.iter_mut().for_each(|x| *x = 0.0);
    for (i, g) in grad.iter_mut().enumerate() {
        *g = -l2 * w[i];
        info[i * v + i] = l2;
    }
    for (options, counts) in pooled {
        let n: f64 = counts.iter().sum::<u64>() as f64;
        let u: Vec<f64> = options.iter().map(|f| utility(f, w)).collect();
        let max = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e: Vec<f64> = u.iter().map(|x| (x - max).exp()).collect();
        let sum: f64 = e.iter().sum();
        // The indexes this pattern touches, and the expected features under the model.
        let mut touched: Vec<u32> = options.iter().flatten().map(|&(i, _)| i).collect();
        touched.sort_unstable();
        touched.dedup();
        for &i in &touched {
            mean[i as usize] = 0.0;
        }
        for ((f, &count), ei) in options.iter().zip(counts).zip(&e) {
            let p = ei / sum;
            for &(i, c) in f {
                grad[i as usize] += count as f64 * f64::from(c);
                mean[i as usize] += p * f64::from(c);
            }
        }
        for &i in &touched {
            grad[i as usize] -= n * mean[i as usize];
        }
        // n·(E[x xᵀ] − E[x] E[x]ᵀ) over the touched indexes.
        for (f, ei) in options.iter().zip(&e) {
            let p = ei / sum;
            for &(i, ci) in f {
                for &(j, cj) in f {
                    info[i as usize * v + j as usize] += n * p * f64::from(ci * cj);
                }
            }
        }
        for &i in &touched {
            for &j in &touched {
                info[i as usize * v + j as usize] -= n * mean[i as usize] * mean[j as usize];
            }
        }
    }
}

/// Answers whose option has the highest fitted utility (ties shared).
fn accuracy(pooled: &[(Vec<Features>, Vec<u64>)], w: &[f64]) -> f64 {
    pooled
        .iter()
        .map(|(options, counts)| {
            let u: Vec<f64> = options.iter().map(|f| utility(f, w)).collect();
            let max = u.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let best: Vec<usize> = (0..u.len()).filter(|&i| u[i] == max).collect();
            best.iter().map(|&i| counts[i] as f64).sum::<f64>() / best.len() as f64
        })
        .sum()
}

impl Fitted {
    /// The fit as a `profile` block of the language, with a comment per value giving its
    /// utility and interval.
    pub fn profile(&self, id: &str) -> String {
        use std::fmt::Write as _;
        let file = Path::new(&self.results).file_name().map_or_else(
            || self.results.clone(),
            |f| f.to_string_lossy().into_owned(),
        );
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Fitted by `quandary fit` from {} ({} answers{}, {} values, {} kinds of dilemma):",
            self.results,
            self.answers,
            self.steer
                .as_ref()
                .map_or(String::new(), |s| format!(" under the steer {s}")),
            self.values.len(),
            self.patterns
        );
        let _ = writeln!(
            out,
            "# P(option) ∝ exp(Σ upheld − Σ violated utilities), L2 penalty {}; the weights predict {:.1}% of the answers.",
            self.l2,
            100.0 * self.accuracy
        );
        let _ = writeln!(
            out,
            "# Weights map the utilities linearly onto [0, 1]; each line gives the utility (relative to their mean) and its 95% interval."
        );
        for n in &self.notes {
            let _ = writeln!(out, "# note: {n}");
        }
        let _ = writeln!(
            out,
            "profile {id} \"Fitted from {}\" {{",
            file.replace('\\', "\\\\").replace('"', "\\\"")
        );
        let width = self
            .values
            .iter()
            .map(|v| v.name.chars().count())
            .max()
            .unwrap_or(0);
        for v in &self.values {
            let _ = writeln!(
                out,
                "  {:width$} {:.3}  # utility {:+.3} [{:+.3}, {:+.3}]",
                v.name, v.weight, v.utility, v.interval.low, v.interval.high
            );
        }
        let _ = writeln!(out, "}}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two values, one always chosen over the other 3 times in 4: the unpenalised logit
    /// would give w₀ − w₁ = ln 3; the penalty shrinks it and splits it evenly.
    #[test]
    fn a_pair_recovers_its_log_odds() {
        let pooled = vec![(vec![vec![(0, 1)], vec![(1, 1)]], vec![300, 100])];
        let (w, info, _) = newton(&pooled, 2, 1e-6);
        assert!((w[0] - w[1] - 3f64.ln()).abs() < 1e-3, "{w:?}");
        assert!((w[0] + w[1]).abs() < 1e-3, "{w:?}");
        // Information of the difference: n·p·(1 − p) = 400·0.75·0.25 = 75 on each diagonal.
        assert!((info[0] - 75.0).abs() < 1e-3, "{info:?}");
    }

    #[test]
    fn deterministic_choices_stay_finite() {
        let pooled = vec![(vec![vec![(0, 1)], vec![(1, 1)]], vec![50, 0])];
        let (w, _, ll) = newton(&pooled, 2, 1.0);
        assert!(w.iter().all(|x| x.is_finite()) && w[0] > w[1], "{w:?}");
        assert!(ll.is_finite());
    }
}
