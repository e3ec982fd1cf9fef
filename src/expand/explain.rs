//! Explaining a scenario by id (`quandary explain`), and counting the pairs a suite poses.

use super::*;

/// `id` read as a scenario's index in its suite: a whole number shorter than an id (32 hex
/// digits), which [`Expansion::explain`] takes as well as an id.
pub fn scenario_index(id: &str) -> Option<u64> {
    let id = id.trim();
    (!id.is_empty() && id.len() < 32 && id.bytes().all(|b| b.is_ascii_digit()))
        .then(|| id.parse().ok())
        .flatten()
}

impl<'a> Expansion<'a> {
    /// How many scenarios of the suite pose each unordered pair of values: values upheld by
    /// two different options of one scenario (counted from the plans; `dedupe` is not applied).
    pub fn pair_counts(&self) -> Vec<((ValueId, ValueId), u64)> {
        let mut counts: std::collections::BTreeMap<(ValueId, ValueId), u64> = Default::default();
        let per_plan = if self.suite.twins { 2 } else { 1 };
        for plan in self.plans() {
            let c = &self.templates[plan.template];
            let bound = self.bind(c, &plan.choices);
            let upheld = self.upheld(c, &plan.choices, &bound);
            let mut pairs = std::collections::BTreeSet::new();
            for (i, us) in upheld.iter().enumerate() {
                for ws in &upheld[i + 1..] {
                    for &u in us {
                        for &w in ws {
                            if u != w {
                                pairs.insert(if u < w { (u, w) } else { (w, u) });
                            }
                        }
                    }
                }
            }
            for p in pairs {
                *counts.entry(p).or_default() += per_plan;
            }
        }
        counts.into_iter().collect()
    }

    /// Finds the scenario with id `id` (as written, `s…`) and says how it was made: the
    /// template, the binding, the relations and rules behind it, with their source lines.
    ///
    /// `id` may also be a scenario's `index` in the suite (a whole number shorter than an
    /// id): the line at that place.
    pub fn explain(&self, id: &str) -> Result<Option<String>, Diagnostic> {
        let id = id.trim();
        let by_index = scenario_index(id);
        let wanted = match by_index {
            Some(_) => None,
            None => match u128::from_str_radix(id.trim_start_matches('s'), 16) {
                Ok(w) => Some(w),
                Err(_) => return Ok(None),
            },
        };
        let per_plan = if self.suite.twins { 2 } else { 1 };
        let mut local = Local::default();
        for (n, mut plan) in self.plans().enumerate() {
            let first = n as u64 * per_plan;
            if let Some(i) = by_index
                && !(first..first + per_plan).contains(&i)
            {
                continue;
            }
            let mut buffer = Vec::new();
            let mut spans = Vec::new();
            self.render(&mut plan, &mut local, None, &mut buffer, &mut spans)?;
            let found = spans
                .iter()
                .enumerate()
                .find(|(t, s)| match (by_index, wanted) {
                    (Some(i), _) => first + *t as u64 == i,
                    (None, Some(w)) => s.id == w,
                    _ => false,
                });
            if let Some((t, span)) = found {
                let line = format!(
                    "{{\"id\":\"s{:032x}\",\"index\":{},{}",
                    span.id,
                    first + t as u64,
                    String::from_utf8_lossy(&buffer[span.start + 1..span.end])
                );
                return Ok(Some(self.explanation(&plan, line.as_bytes())));
            }
            if by_index.is_some() {
                break;
            }
        }
        Ok(None)
    }

    /// The plans of the draws the suite keeps, in draw order: those `require conflict` does
    /// not drop, up to its quota.
    pub(super) fn plans(&self) -> impl Iterator<Item = Plan> + '_ {
        let (mut k, mut kept) = (0u64, 0u64);
        std::iter::from_fn(move || {
            while k < self.total && self.quota.is_none_or(|q| kept < q) {
                k += 1;
                if let Some(plan) = self.plan(k - 1) {
                    kept += 1;
                    return Some(plan);
                }
            }
            None
        })
    }

    pub(super) fn explanation(&self, plan: &Plan, rendered: &[u8]) -> String {
        use std::fmt::Write as _;
        let c = &self.templates[plan.template];
        let bound = self.bind(c, &plan.choices);
        let line = |span: crate::source::Span| -> String {
            match span.file {
                Some(f) => {
                    let file = self.sources.get(f);
                    let (l, _) = file.line_col(span.start as usize);
                    format!("{}:{l}  {}", file.name(), file.line_text(l).trim())
                }
                None => String::new(),
            }
        };
        let mut out = String::new();
        let _ = writeln!(
            out,
            "suite     {} (seed {}), draw {}, scenario seed {:016x}",
            self.suite.id, self.seed, plan.draw, plan.seed
        );
        if plan.occurrence > 1 {
            let (first, _) = self.occurrence(plan.draw);
            let _ = writeln!(
                out,
                "repeat    occurrence {} of the binding of draw {first}: the suite asks for \
                 more scenarios than it has bindings",
                plan.occurrence
            );
        }
        let body = match &c.body {
            Body::Scenario(body) => body,
            Body::Survey(survey) => {
                let what = match c.item {
                    SuiteItem::Stance(_) => "stance",
                    _ => "question",
                };
                let _ = writeln!(out, "{what:<9} {}", line(item_span(self.framework, c.item)));
                let part = survey.part(plan.choices.first().copied().unwrap_or(0));
                let _ = writeln!(out, "part      {}", part.describe);
                readable(&mut out, rendered);
                return out;
            }
        };
        let _ = writeln!(out, "template  {}", line(item_span(self.framework, c.item)));
        let _ = writeln!(out, "bindings");
        for (name, b) in body.variables.iter().zip(&bound) {
            let value = match b {
                Bound::Text(s) => format!("{s:?}"),
                Bound::Value(v) => format!(
                    "{} \"{}\"",
                    self.framework.qualified_value(*v),
                    self.framework.value_label(*v)
                ),
                Bound::Rule(r) => format!(
                    "{} \"{}\"",
                    self.framework.qualified_rule(*r),
                    self.framework.rule(*r).text
                ),
            };
            let _ = writeln!(out, "  {name} = {value}");
        }
        if let (Some(show), Some(shown)) = (&body.show, self.shown(c, &plan.choices, &bound)) {
            let ids: Vec<&str> = shown.iter().map(|&i| body.actions[i].id.as_str()).collect();
            let how = if show.diverse {
                let first = show
                    .order
                    .get(plan.choices.last().copied().unwrap_or(0) as usize)
                    .and_then(|&p| show.pool.get(p))
                    .map_or("", |&i| body.actions[i].id.as_str());
                format!("diverse, from `{first}`")
            } else {
                "random".to_string()
            };
            let _ = writeln!(
                out,
                "shows     {} of {} options ({how}): {}",
                ids.len(),
                show.pool.len(),
                ids.join(", ")
            );
        }
        let mut relation_lines = Vec::new();
        for (dim, &choice) in c.dims.iter().zip(&plan.choices) {
            if let Dim::Pick(cands) = dim {
                for &r in &cands.get(choice / 2).relations {
                    relation_lines.push(line(self.framework.relations[r.index()].span));
                }
            }
        }
        if !relation_lines.is_empty() {
            let _ = writeln!(out, "relations");
            for l in relation_lines {
                let _ = writeln!(out, "  {l}");
            }
        }
        let rules: Vec<String> = bound
            .iter()
            .filter_map(|b| match b {
                Bound::Rule(r) => Some(line(self.framework.rule(*r).span)),
                _ => None,
            })
            .collect();
        if !rules.is_empty() {
            let _ = writeln!(out, "rules");
            for l in rules {
                let _ = writeln!(out, "  {l}");
            }
        }
        readable(&mut out, rendered);
        out
    }
}

/// The scenario line, readably: its id and index, its text, and its options as shown, each
/// with the values it upholds and violates; then the line itself.
fn readable(out: &mut String, rendered: &[u8]) {
    use std::fmt::Write as _;
    let line = String::from_utf8_lossy(rendered);
    let line = line.trim_end();
    let _ = writeln!(out, "scenario");
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(line) {
        let _ = writeln!(
            out,
            "  id {}, index {}",
            v["id"].as_str().unwrap_or("?"),
            v["index"]
        );
        for text_line in v["text"].as_str().unwrap_or("").lines() {
            let _ = writeln!(out, "  | {text_line}");
        }
        let _ = writeln!(out, "options (as shown)");
        let list = |x: &serde_json::Value| -> String {
            x.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default()
        };
        for (n, a) in v["actions"].as_array().into_iter().flatten().enumerate() {
            let mut about = Vec::new();
            let (up, down) = (list(&a["upholds"]), list(&a["violates"]));
            if !up.is_empty() {
                about.push(format!("upholds {up}"));
            }
            if !down.is_empty() {
                about.push(format!("violates {down}"));
            }
            if a["distractor"] == true {
                about.push("distractor".to_string());
            }
            let _ = writeln!(
                out,
                "  {}. {} ({}){}",
                n + 1,
                a["label"].as_str().unwrap_or(""),
                a["id"].as_str().unwrap_or(""),
                if about.is_empty() {
                    String::new()
                } else {
                    format!(": {}", about.join("; "))
                }
            );
        }
    }
    let _ = writeln!(out, "line");
    let _ = writeln!(out, "  {line}");
}
