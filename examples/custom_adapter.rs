//! An embedder's own adapter: an agent that always takes the option upholding the most
//! values. The example writes a framework in code, expands a suite of it, evaluates the
//! suite with the agent, and prints each scenario with the choice — all in memory.
//!
//!     cargo run --example custom_adapter

use std::collections::HashMap;

use quandary::Project;
use quandary::eval::{self, Adapter, AdapterError, Decision, Request, Settings};
use quandary::expand::Options;
use quandary::formats::Input;
use quandary::formats::results::ResultsFile;
use quandary::formats::suite::SuiteReader;

/// Takes the option that upholds the most values (the first of those, on a tie).
struct MostValues;

impl Adapter for MostValues {
    fn fingerprint(&self) -> String {
        "most-values/1".into()
    }

    fn decide(&self, request: &Request<'_>) -> Result<Decision, AdapterError> {
        let best = (0..request.options.len())
            .max_by_key(|&i| (request.options[i].upholds.len(), std::cmp::Reverse(i)))
            .ok_or_else(|| AdapterError {
                message: "the scenario has no options".into(),
                attempts: 1,
                raw: None,
            })?;
        Ok(Decision::option(best))
    }
}

const FRAMEWORK: &str = r#"
framework office "Office values"
value honesty "Honesty"
value loyalty "Loyalty"
value kindness "Kindness"
conflict honesty <> loyalty
conflict honesty <> kindness

scenario report "A colleague's mistake" {
  slot place = ["bank", "bakery", "school"]
  pick a, b from conflicts()
  text "At the {{ place }}, a colleague made a mistake. {{ a }} or {{ b }}?"
  action together "Own up together, gently" { upholds a, b }
  action first "Put {{ a }} first" { upholds a  violates b }
  action silent "Say nothing" { violates a }
}

scenario lunch "A forgotten lunch" {
  slot who = ["an intern", "the boss", "a visitor"]
  text "{{ who }} forgot their lunch."
  action carry_on "Carry on working" { }
  action share "Share yours" { upholds kindness }
}

suite demo "A demo" {
  seed 1
  count 6
}
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let project = Project::load_str("office.qd", FRAMEWORK);
    if project.has_errors() {
        return Err(format!("the framework has errors: {:?}", project.diagnostics()).into());
    }
    // Everything in memory: the suite file's bytes, then the results journal's.
    let suite = project.expand_to_vec(project.suite(None)?, &Options::default())?;
    let (results, outcome) = eval::run_in_memory(&suite, &MostValues, &Settings::default())?;

    // Each answer with its scenario's text, joined by id.
    let mut texts = HashMap::new();
    SuiteReader::open(Input::Bytes("suite", &suite))?.each(|s| {
        texts.insert(s.id, s.text);
        Ok(())
    })?;
    ResultsFile::open(Input::Bytes("results", &results))?.each(|record| {
        let text = texts.get(&record.scenario).map_or("", String::as_str);
        println!("{text}\n  -> {}", record.choice);
        Ok(())
    })?;
    println!("{} asked, {} answered", outcome.asked, outcome.answered);
    Ok(())
}
