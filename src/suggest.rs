//! "Did you mean …?": the closest candidate to a misspelt name; and names listed as messages
//! list them.

/// Names as messages list them: each in backticks, joined by commas (`` `a`, `b`, `c` ``).
pub fn code_list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let _ = write!(out, "`{item}`");
    }
    out
}

/// The candidate most similar to `name`, if any is similar enough to be a likely typo.
///
/// Similarity is normalised Damerau–Levenshtein similarity; ties go to the earliest
/// candidate, so suggestions are deterministic.
///
/// Names longer than [`MAX_COMPARED`] characters get no suggestion (nobody mistypes a name
/// that long), and a candidate whose length alone rules it out is not compared, so a
/// suggestion costs little however long the name or the list.
pub fn similar<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let length = name.chars().count();
    if length > MAX_COMPARED {
        return None;
    }
    let lower = name.to_lowercase();
    let counts = name.is_ascii().then(|| ascii_counts(name));
    // One slip in a short word weighs more: `pears` for `pairs` is 0.6.
    let threshold = if length <= 5 { 0.6 } else { 0.7 };
    let mut best: Option<(&'a str, f64)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let prefix = candidate.starts_with(name) && name.len() >= 4;
        // The similarity is at most 1 − (difference of lengths) / (the longer length).
        let ascii = candidate.is_ascii();
        let other = if ascii {
            candidate.len()
        } else {
            candidate.chars().count()
        };
        let longer = length.max(other).max(1) as f64;
        let mut bound = 1.0 - length.abs_diff(other) as f64 / longer;
        if !prefix && (bound < threshold || other > MAX_COMPARED) {
            continue;
        }
        if best.is_some_and(|(_, s)| bound <= s) {
            continue;
        }
        // Each edit changes the counts of at most two letters by one (a transposition none),
        // so the distance is at least half the letters the two do not share: most of a
        // long list is ruled out so, before the costly comparison.
        if let Some(counts) = &counts
            && ascii
            && other <= MAX_COMPARED
        {
            // The letters not shared: both lengths less twice the shared ones.
            let mut left = *counts;
            let mut shared = 0;
            for b in candidate.bytes() {
                if let Some(n) = left.get_mut(usize::from(b.to_ascii_lowercase()))
                    && *n > 0
                {
                    *n -= 1;
                    shared += 1;
                }
            }
            let apart = length + other - 2 * shared;
            bound = bound.min(1.0 - apart.div_ceil(2) as f64 / longer);
            if (!prefix && bound < threshold) || best.is_some_and(|(_, s)| bound <= s) {
                continue;
            }
        }
        let candidate_lower = candidate.to_lowercase();
        let score = if candidate_lower == lower {
            1.0
        } else if other > MAX_COMPARED {
            0.0
        } else {
            strsim::normalized_damerau_levenshtein(&lower, &candidate_lower)
        };
        if (score >= threshold || prefix) && best.is_none_or(|(_, s)| score > s) {
            best = Some((candidate, score));
        }
    }
    best.map(|(c, _)| c)
}

/// How many times each ASCII byte stands in `text` (an ASCII text), lowercased.
fn ascii_counts(text: &str) -> [u16; 128] {
    let mut counts = [0u16; 128];
    for b in text.bytes() {
        if let Some(c) = counts.get_mut(usize::from(b.to_ascii_lowercase())) {
            *c = c.saturating_add(1);
        }
    }
    counts
}

/// The help for a name not found among `names`: "did you mean `x`?" for a likely typo
/// (`prefix` before the suggestion: `profile:`), else `declare` when there are none, else
/// `list` followed by the names.
pub fn help(name: &str, names: &[&str], prefix: &str, declare: &str, list: &str) -> String {
    match similar(name, names.iter().copied()) {
        Some(s) => format!("did you mean `{prefix}{s}`?"),
        None if names.is_empty() => declare.to_string(),
        None => format!("{list}{}", names.join(", ")),
    }
}

/// The longest name compared for a suggestion, in characters.
pub const MAX_COMPARED: usize = 256;

#[cfg(test)]
mod tests {
    use super::{code_list, similar};

    #[test]
    fn code_lists_quote_and_join() {
        assert_eq!(code_list(["a", "b", "c"]), "`a`, `b`, `c`");
        assert_eq!(code_list(["one"]), "`one`");
        assert_eq!(code_list(Vec::<String>::new()), "");
    }

    #[test]
    fn finds_typos_not_strangers() {
        let names = ["honesty", "loyalty", "care", "fairness"];
        assert_eq!(similar("honsety", names), Some("honesty"));
        assert_eq!(similar("Care", names), Some("care"));
        assert_eq!(similar("fair", names), Some("fairness"));
        assert_eq!(similar("zebra", names), None);
    }

    /// [`similar`] without the letter counts, which only rule out candidates that could not
    /// win: every comparison made.
    fn similar_by_comparing_all<'a>(name: &str, candidates: &[&'a str]) -> Option<&'a str> {
        let lower = name.to_lowercase();
        let length = name.chars().count();
        let threshold = if length <= 5 { 0.6 } else { 0.7 };
        let mut best: Option<(&'a str, f64)> = None;
        for &candidate in candidates {
            if candidate == name {
                continue;
            }
            let prefix = candidate.starts_with(name) && name.len() >= 4;
            let score = strsim::normalized_damerau_levenshtein(&lower, &candidate.to_lowercase());
            if (score >= threshold || prefix) && best.is_none_or(|(_, s)| score > s) {
                best = Some((candidate, score));
            }
        }
        best.map(|(c, _)| c)
    }

    #[test]
    fn ruling_candidates_out_by_their_letters_changes_no_suggestion() {
        // Names and typos of them: letters left out, doubled, swapped, changed, and cased.
        let names: Vec<String> = (0..400)
            .map(|i| {
                let stems = [
                    "honesty",
                    "care",
                    "fair_ness",
                    "loyalty",
                    "v1_2",
                    "Autonomy",
                ];
                format!("{}{}", stems[i % stems.len()], i / 7)
            })
            .collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let mut tried = 0;
        for (i, name) in names.iter().enumerate().step_by(3) {
            let bytes = name.as_bytes();
            let k = i % bytes.len();
            let mut typos = vec![
                format!("{}{}", &name[..k], &name[k + 1..]),
                format!("{}{}", &name[..k + 1], &name[k..]),
                name.to_uppercase(),
                format!("{name}x"),
                format!("q{}", &name[1..]),
            ];
            if k + 1 < bytes.len() {
                let mut swapped = bytes.to_vec();
                swapped.swap(k, k + 1);
                typos.push(String::from_utf8(swapped).unwrap());
            }
            for typo in typos {
                assert_eq!(
                    similar(&typo, names.iter().copied()),
                    similar_by_comparing_all(&typo, &names),
                    "{typo}"
                );
                tried += 1;
            }
        }
        assert!(tried > 700);
    }

    #[test]
    fn long_names_cost_little() {
        let names: Vec<String> = (0..3000).map(|i| format!("value_{i}")).collect();
        let long = "x".repeat(1_000_000);
        assert_eq!(similar(&long, names.iter().map(String::as_str)), None);
        assert_eq!(
            similar("value_29999", names.iter().map(String::as_str)),
            Some("value_2999")
        );
    }
}
