//! Population names as the data sets spell them: the same country is "Britain" in one source,
//! "Great Britain" in another and "United Kingdom" in a third. Importers merge the well-known
//! spellings of [`ALIASES`] into one name, and warn of two names that are likely one
//! population but that the table does not merge ([`likely_duplicates`]).
//!
//! Names are compared by their [`key`]: lowercase, accents and punctuation dropped, `&` read
//! as `and`, the abbreviations `S.`, `N.`, `Rep.`, `Dem.`, `St.` and `Fed.` written out, a
//! leading "the" dropped. The table and the key are fixed, so the merge is the same on every
//! run.

use std::collections::HashMap;

pub use crate::model::{likely_same_populations as likely_duplicates, spelling_key as key};

/// The well-known spellings of a population: its name as importers write it, then the
/// other spellings merged into it (compared by [`key`], so "S. Korea", "S Korea" and
/// "south korea" are all the one alias "South Korea").
pub const ALIASES: &[(&str, &[&str])] = &[
    (
        "United Kingdom",
        &[
            "Britain",
            "Great Britain",
            "UK",
            "U.K.",
            "United Kingdom of Great Britain and Northern Ireland",
        ],
    ),
    (
        "United States",
        &[
            "USA",
            "U.S.A.",
            "US",
            "U.S.",
            "United States of America",
            "America",
        ],
    ),
    ("Czechia", &["Czech Republic", "Czech Rep."]),
    (
        "South Korea",
        &["Korea, Republic of", "Republic of Korea", "Korea, South"],
    ),
    (
        "North Korea",
        &["Korea, Democratic People's Republic of", "DPRK"],
    ),
    ("Russia", &["Russian Federation"]),
    ("Côte d'Ivoire", &["Ivory Coast"]),
    ("Netherlands", &["Holland", "The Netherlands"]),
    ("Slovakia", &["Slovak Republic", "Slovak Rep."]),
    (
        "Iran",
        &["Iran, Islamic Republic of", "Islamic Republic of Iran"],
    ),
    ("Vietnam", &["Viet Nam"]),
    ("Taiwan", &["Taiwan ROC", "Chinese Taipei"]),
    (
        "Palestine",
        &["Palestinian territories", "Palestinian Ter."],
    ),
    ("Turkey", &["Türkiye"]),
    ("Egypt", &["Egypt, Arab Rep."]),
    (
        "Congo (Kinshasa)",
        &[
            "Democratic Republic of the Congo",
            "Dem. Rep. Congo",
            "DR Congo",
            "DRC",
        ],
    ),
    (
        "North Macedonia",
        &["Macedonia", "Republic of North Macedonia"],
    ),
    ("Kyrgyzstan", &["Kyrgyz Republic"]),
    ("Hong Kong", &["Hong Kong SAR", "Hong Kong SAR, China"]),
];

/// The alias table by [`key`], built once per import.
#[derive(Debug)]
pub struct Populations {
    by_key: HashMap<String, &'static str>,
}

impl Default for Populations {
    fn default() -> Self {
        Self::new()
    }
}

impl Populations {
    /// The table of [`ALIASES`].
    pub fn new() -> Self {
        let mut by_key = HashMap::new();
        for (name, aliases) in ALIASES {
            by_key.insert(key(name), *name);
            for alias in *aliases {
                by_key.insert(key(alias), *name);
            }
        }
        Populations { by_key }
    }

    /// The name a population is written with: the table's name for a spelling it lists,
    /// else the name as given (trimmed).
    pub fn name(&self, given: &str) -> String {
        self.by_key
            .get(&key(given))
            .map_or_else(|| given.trim().to_string(), |n| (*n).to_string())
    }
}

/// The spellings of an input that the table merged, by the name they were merged into, each
/// once (by spelling): the `populations` table an importer writes with its items.
pub type Merged = indexmap::IndexMap<String, Vec<String>>;

impl Populations {
    /// The name `given` is written with (see [`Populations::name`]); a spelling merged into
    /// another name is noted in `merged`, unless the name's own spelling covers it.
    pub fn merge(&self, given: &str, merged: &mut Merged) -> String {
        let name = self.name(given);
        let spelling = key(given);
        if spelling != key(&name) {
            let spellings = merged.entry(name.clone()).or_default();
            if !spellings.iter().any(|s| key(s) == spelling) {
                spellings.push(given.trim().to_string());
            }
        }
        name
    }
}

/// The `populations` table of the input's spellings written under another name, with a
/// comment, for the sources an importer writes; `None` when no spelling was merged.
pub fn table(merged: &Merged) -> Option<String> {
    if merged.is_empty() {
        return None;
    }
    let mut s = String::from(
        "# The input's spellings written under another name. Add lines of your own: a\n\
         # spelling on a line is that population wherever populations are named.\n\
         populations {\n",
    );
    for (name, spellings) in merged {
        let spellings: Vec<String> = spellings.iter().map(|x| super::quote(x)).collect();
        s.push_str(&format!(
            "  {} alias {}\n",
            super::quote(name),
            spellings.join(", ")
        ));
    }
    s.push('}');
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_spellings_are_merged() {
        let p = Populations::new();
        for (given, name) in [
            ("Britain", "United Kingdom"),
            ("Great Britain", "United Kingdom"),
            ("Czech Rep.", "Czechia"),
            ("Czech Republic", "Czechia"),
            ("S. Korea", "South Korea"),
            ("s korea", "South Korea"),
            ("Cote d'Ivoire", "Côte d'Ivoire"),
            ("the Netherlands", "Netherlands"),
            (" Belgium ", "Belgium"),
            ("Bosnia & Herzegovina", "Bosnia & Herzegovina"),
        ] {
            assert_eq!(p.name(given), name, "{given}");
        }
    }

    #[test]
    fn likely_duplicates_are_found_in_order() {
        assert_eq!(key("Bosnia & Herzegovina"), "bosnia and herzegovina");
        assert_eq!(key("St. Lucia"), "saint lucia");
        assert_eq!(
            likely_duplicates(&[
                "Bosnia & Herzegovina",
                "France",
                "Bosnia and Herzegovina",
                "Saint Lucia",
                "St Lucia",
                "france",
                "France",
            ]),
            [
                ("Bosnia & Herzegovina", "Bosnia and Herzegovina"),
                ("Saint Lucia", "St Lucia"),
                ("France", "france"),
            ]
        );
    }
}
