//! "Did you mean …?": the closest candidate to a misspelt name.

/// The candidate most similar to `name`, if any is similar enough to be a likely typo.
///
/// Similarity is normalised Damerau–Levenshtein similarity; ties go to the earliest
/// candidate, so suggestions are deterministic.
pub fn similar<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = name.to_lowercase();
    let mut best: Option<(&'a str, f64)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let score = if candidate.to_lowercase() == lower {
            1.0
        } else {
            strsim::normalized_damerau_levenshtein(&lower, &candidate.to_lowercase())
        };
        // One slip in a short word weighs more: `pears` for `pairs` is 0.6.
        let threshold = if name.chars().count() <= 5 { 0.6 } else { 0.7 };
        let prefix = candidate.starts_with(name) && name.len() >= 4;
        if (score >= threshold || prefix) && best.is_none_or(|(_, s)| score > s) {
            best = Some((candidate, score));
        }
    }
    best.map(|(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::similar;

    #[test]
    fn finds_typos_not_strangers() {
        let names = ["honesty", "loyalty", "care", "fairness"];
        assert_eq!(similar("honsety", names), Some("honesty"));
        assert_eq!(similar("Care", names), Some("care"));
        assert_eq!(similar("fair", names), Some("fairness"));
        assert_eq!(similar("zebra", names), None);
    }
}
