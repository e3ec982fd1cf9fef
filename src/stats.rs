//! Summaries of a framework: counts ([`Stats`]) and the hierarchy as an outline ([`tree`]).

use std::fmt::Write as _;

use indexmap::IndexMap;
use serde::Serialize;

use crate::model::RelationKind;
use crate::model::{Framework, ModuleId, ValueId};

/// Counts over one module (the relations, rules and mappings it declares).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Stats {
    /// The framework id, if the file has a header.
    pub framework: Option<String>,
    /// The framework label, if any.
    pub label: Option<String>,
    /// Value nodes per level keyword, outermost level first.
    pub levels: IndexMap<String, usize>,
    /// All value nodes.
    pub values: usize,
    /// Rules.
    pub rules: usize,
    /// Relations by kind (`conflict`, `prefer`, `wiser`), every kind present.
    pub relations: IndexMap<&'static str, usize>,
    /// Profiles.
    pub profiles: usize,
    /// Survey questions.
    pub questions: usize,
    /// Stances.
    pub stances: usize,
    /// For each imported namespace, how many distinct values of this module are mapped into
    /// it, in import order.
    pub mappings: IndexMap<String, usize>,
}

impl Stats {
    /// Counts the items of `module`.
    pub fn of(framework: &Framework, module: ModuleId) -> Stats {
        let m = framework.module(module);
        let mut levels: IndexMap<String, usize> = m.levels.iter().map(|l| (l.clone(), 0)).collect();
        for &v in &m.values {
            if let Some(count) = levels.get_index_mut(framework.value(v).level) {
                *count.1 += 1;
            }
        }
        let mut relations: IndexMap<&'static str, usize> =
            RelationKind::ALL.iter().map(|k| (k.keyword(), 0)).collect();
        for &r in &m.relations {
            *relations
                .entry(framework.relations[r.index()].kind.keyword())
                .or_default() += 1;
        }
        let mut mapped: IndexMap<String, Vec<ValueId>> = m
            .imports
            .keys()
            .map(|ns| (ns.clone(), Vec::new()))
            .collect();
        for &i in &m.mappings {
            let mapping = &framework.mappings[i];
            for &t in &mapping.targets {
                let target_module = framework.value(t).module;
                if let Some((ns, _)) = m.imports.iter().find(|(_, id)| **id == target_module)
                    && let Some(list) = mapped.get_mut(ns)
                {
                    list.push(mapping.value);
                }
            }
        }
        let mappings = mapped
            .into_iter()
            .map(|(ns, mut values)| {
                values.sort();
                values.dedup();
                (ns, values.len())
            })
            .filter(|(_, n)| *n > 0)
            .collect();
        Stats {
            framework: m.header.as_ref().map(|h| h.id.clone()),
            label: m.header.as_ref().and_then(|h| h.label.clone()),
            levels,
            values: m.values.len(),
            rules: m.rules.len(),
            relations,
            profiles: m.profiles.len(),
            questions: m.questions.len(),
            stances: m.stances.len(),
            mappings,
        }
    }

    /// The counts as an aligned two-column table.
    pub fn table(&self) -> String {
        let mut rows: Vec<(String, String)> = Vec::new();
        if let Some(id) = &self.framework {
            let label = self
                .label
                .as_ref()
                .map(|l| format!(" \"{l}\""))
                .unwrap_or_default();
            rows.push(("framework".into(), format!("{id}{label}")));
        }
        for (level, n) in &self.levels {
            rows.push((format!("  {level}"), n.to_string()));
        }
        rows.push(("values".into(), self.values.to_string()));
        rows.push(("rules".into(), self.rules.to_string()));
        for (kind, n) in &self.relations {
            rows.push((format!("  {kind}"), n.to_string()));
        }
        rows.push(("profiles".into(), self.profiles.to_string()));
        // A framework without survey items keeps its short table.
        if self.questions > 0 || self.stances > 0 {
            rows.push(("questions".into(), self.questions.to_string()));
            rows.push(("stances".into(), self.stances.to_string()));
        }
        if !self.mappings.is_empty() {
            rows.push(("mappings".into(), String::new()));
            for (ns, n) in &self.mappings {
                rows.push((format!("  {ns}"), n.to_string()));
            }
        }
        // Level counts go above the `values` total, relation kinds under a `relations` row.
        let relations_at = rows
            .iter()
            .position(|(k, _)| k == "rules")
            .map_or(0, |i| i + 1);
        let total: usize = self.relations.values().sum();
        rows.insert(relations_at, ("relations".into(), total.to_string()));
        let levels_at = usize::from(self.framework.is_some());
        rows.insert(levels_at, ("levels".into(), String::new()));
        let width = rows
            .iter()
            .map(|(k, _)| k.chars().count())
            .max()
            .unwrap_or(0);
        let mut out = String::new();
        for (k, v) in rows {
            let line = format!("{k:<width$}  {v:>6}");
            let _ = writeln!(out, "{}", line.trim_end());
        }
        out
    }
}

/// The hierarchy of `module` as an indented outline: one node a line, `id "label"`, with
/// the translation into `lang` when asked for and present.
pub fn tree(framework: &Framework, module: ModuleId, lang: Option<&str>) -> String {
    let m = framework.module(module);
    let mut out = String::new();
    if let Some(h) = &m.header {
        let _ = write!(out, "{}", h.id);
        if let Some(label) = &h.label {
            let _ = write!(out, " \"{label}\"");
        }
        let _ = writeln!(out, "  ({})", m.levels.join(" > "));
    }
    let count = m.top.len();
    for (i, &v) in m.top.iter().enumerate() {
        node(framework, v, lang, "", i + 1 == count, &mut out);
    }
    out
}

/// The languages the labels of `module`'s hierarchy are translated into, sorted.
pub fn label_languages(framework: &Framework, module: ModuleId) -> Vec<String> {
    let mut langs = std::collections::BTreeSet::new();
    let mut stack: Vec<ValueId> = framework.module(module).top.clone();
    while let Some(v) = stack.pop() {
        let value = framework.value(v);
        langs.extend(value.translations.keys().cloned());
        stack.extend(value.children.iter().copied());
    }
    langs.into_iter().collect()
}

fn node(
    framework: &Framework,
    v: ValueId,
    lang: Option<&str>,
    prefix: &str,
    last: bool,
    out: &mut String,
) {
    let value = framework.value(v);
    let _ = write!(
        out,
        "{prefix}{}{}",
        if last { "└── " } else { "├── " },
        value.id
    );
    if let Some(label) = &value.label {
        let _ = write!(out, " \"{label}\"");
    }
    if let Some(t) = lang.and_then(|l| value.translations.get(l)) {
        let _ = write!(out, " {t}");
    }
    out.push('\n');
    let child_prefix = format!("{prefix}{}", if last { "    " } else { "│   " });
    let count = value.children.len();
    for (i, &c) in value.children.iter().enumerate() {
        node(framework, c, lang, &child_prefix, i + 1 == count, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOURCE: &str = r#"
framework f "F" { levels group, value }
group a "A" {
  value x "X" { zh "叉" }
  value y "Y"
}
group b "B" { value z "Z" }
conflict x <> y
prefer x > z
"#;

    #[test]
    fn counts_levels_and_relations() {
        let loaded = crate::load_str("f.qd", SOURCE);
        assert!(!loaded.has_errors(), "{:#?}", loaded.diagnostics);
        let s = Stats::of(&loaded.framework, loaded.framework.roots[0]);
        assert_eq!(s.levels.get("group"), Some(&2));
        assert_eq!(s.levels.get("value"), Some(&3));
        assert_eq!(s.values, 5);
        assert_eq!(s.relations.get("conflict"), Some(&1));
        assert_eq!(s.relations.get("prefer"), Some(&1));
        assert_eq!(s.relations.get("wiser"), Some(&0));
    }

    #[test]
    fn draws_the_hierarchy() {
        let loaded = crate::load_str("f.qd", SOURCE);
        let text = tree(&loaded.framework, loaded.framework.roots[0], Some("zh"));
        assert_eq!(
            text,
            "f \"F\"  (group > value)\n├── a \"A\"\n│   ├── x \"X\" 叉\n│   └── y \"Y\"\n└── b \"B\"\n    └── z \"Z\"\n"
        );
    }
}
