//! Export: suites handed to other evaluation harnesses, and results to preference tuning.
//!
//! A suite becomes an [Inspect](inspect) dataset, an [lm-evaluation-harness](lm_eval) task,
//! a [promptfoo](promptfoo) test file or the input file of a batch inference engine
//! ([OpenAI's Batch API, `vllm run-batch`](openai_batch)); a results journal becomes
//! [preference pairs](preference_pairs) in the shape TRL's `DPOTrainer` reads. Every prompt
//! is the one `eval` sends: the same [`Presentation`] lays it out.
//!
//! Each export reads its input line by line and writes as it goes; only a results file read
//! for its answers is held in memory, as the latest choice per scenario index. The output
//! depends only on the input and the settings, so the same export gives the same bytes.

pub mod inspect;
pub mod lm_eval;
pub mod openai_batch;
pub mod preference_pairs;
pub mod promptfoo;
mod yaml;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::{Choice, Presentation, Steer};
use crate::formats::Input;
use crate::formats::results::ResultsFile;
pub(crate) use crate::formats::suite::SuiteReader;
use crate::formats::suite::{ScenarioLine, raw_value};

/// What an export writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An Inspect dataset: JSON Lines of samples.
    Inspect,
    /// An lm-evaluation-harness task: a task YAML and the JSON Lines it reads.
    LmEval,
    /// A promptfoo test file and a configuration that runs it.
    Promptfoo,
    /// Preference pairs from a results file, as TRL's `DPOTrainer` reads them.
    PreferencePairs,
    /// The input file of OpenAI's Batch API (and `vllm run-batch`): the requests of a run of
    /// the `openai` adapter, one a line.
    OpenAiBatch,
}

impl Format {
    /// Every format, in the order the documentation lists them.
    pub const ALL: [Format; 5] = [
        Format::Inspect,
        Format::LmEval,
        Format::Promptfoo,
        Format::PreferencePairs,
        Format::OpenAiBatch,
    ];

    /// The format's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Format::Inspect => "inspect",
            Format::LmEval => "lm-eval",
            Format::Promptfoo => "promptfoo",
            Format::PreferencePairs => "preference-pairs",
            Format::OpenAiBatch => "openai-batch",
        }
    }

    /// The format called `name`; an unknown name is a diagnostic with a suggestion.
    pub fn from_name(name: &str) -> Result<Format, Diagnostic> {
        if let Some(f) = Format::ALL.iter().find(|f| f.name() == name) {
            return Ok(*f);
        }
        let names = Format::ALL.map(Format::name);
        let help = match crate::suggest::similar(name, names) {
            Some(s) => format!("did you mean `{s}`?"),
            None => format!("the formats are {}", names.join(", ")),
        };
        Err(Diagnostic::new(
            Code::InvalidSetting,
            format!("`{name}` is not an export format"),
        )
        .help(help))
    }

    /// Whether the format writes several files into a directory (else one file or a
    /// stream).
    pub fn writes_directory(self) -> bool {
        matches!(self, Format::LmEval | Format::Promptfoo)
    }

    /// Whether the format reads a results file (else a suite).
    pub fn reads_results(self) -> bool {
        self == Format::PreferencePairs
    }
}

/// The settings of a suite export (Inspect, lm-eval, promptfoo).
#[derive(Clone, Debug, Default)]
pub struct SuiteExport {
    /// How scenarios are shown, as `eval` shows them.
    pub presentation: Presentation,
    /// The steer whose system prompt follows the presentation's, as in `eval --steer`; the
    /// answers of `target` are then read from the run under it.
    pub steer: Option<Steer>,
    /// A results file of the same suite whose recorded choices become the targets.
    pub target: Option<PathBuf>,
}

/// What a suite export wrote.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Written {
    /// Samples (lines, test cases) written.
    pub samples: u64,
    /// Scenarios left out because the target run chose no option there (or has no answer).
    pub untargeted: u64,
    /// The files written, in the order written (empty for a stream).
    pub files: Vec<PathBuf>,
    /// What the reader of the files should know (a default that changes what they measure).
    pub notes: Vec<String>,
}

// ------------------------------------------------------------------ reading a suite

/// A scenario line of a suite, with what the exports carry besides what `eval` needs.
/// One scenario of a suite as an export sees it.
pub(crate) type Item = ScenarioLine;

// ------------------------------------------------------------------ reading results

/// The latest answer recorded for one scenario index.
pub(crate) struct Latest {
    /// The scenario's id, as the results file names it.
    pub scenario: String,
    /// The chosen action's id, or `unparsed`, `refused` or `error`.
    pub choice: String,
}

/// Reads the header of the results file at `path`.
pub fn results_header(path: &Path) -> Result<Value, Diagnostic> {
    crate::formats::results::read_header(Input::Path(path))
}

/// The results file's header and, per scenario index, the latest answer of the run under
/// `steer` (`None`: the plain run). The journal is append-only: a re-asked scenario's last
/// line counts.
pub(crate) fn latest_answers(
    path: &Path,
    steer: Option<&str>,
) -> Result<(Value, BTreeMap<u64, Latest>), Diagnostic> {
    let file = ResultsFile::open(Input::Path(path))?;
    let header = file.header.clone();
    let mut latest = BTreeMap::new();
    file.each(|record| {
        // The first epoch's answer is the one a target or a pair takes.
        if record.steer.as_deref() == steer && record.epoch == 0 {
            latest.insert(
                record.index,
                Latest {
                    scenario: record.scenario,
                    choice: record.choice,
                },
            );
        }
        Ok(())
    })?;
    Ok((header, latest))
}

/// Checks that the results with `results_header` answer the suite with `suite_header`.
pub(crate) fn check_same_suite(
    results: &Path,
    results_header: &Value,
    suite: &Path,
    suite_header: &Value,
) -> Result<(), Diagnostic> {
    let same = results_header.get("suite") == suite_header.get("suite")
        && results_header.get("seed") == suite_header.get("seed")
        && results_header.get("suite_hash") == suite_header.get("source_hash");
    if same {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::Io,
        format!(
            "`{}` holds answers to another suite than `{}`",
            results.display(),
            suite.display()
        ),
    )
    .path(results.display().to_string())
    .help(
        "give the results of `quandary eval` on this suite: their header names it in `suite_file`",
    ))
}

/// The error for a result line that answers another scenario than the suite's at its index.
pub(crate) fn other_scenario(
    results: &Path,
    index: u64,
    answered: &str,
    suite: &Path,
    expected: &str,
) -> Diagnostic {
    Diagnostic::new(
        Code::Io,
        format!(
            "`{}` answers scenario `{answered}` at index {index}, but scenario {index} of `{}` is `{expected}`",
            results.display(),
            suite.display()
        ),
    )
    .path(results.display().to_string())
    .help("give the results of a run of this very suite (the same --seed and --count)")
}

/// The targets of a suite export: the label of the option the target run chose, per
/// scenario index.
/// A suite read for an export: each scenario as shown, with its target when the export has
/// targets; the scenarios the target run chose no option for are counted and left out.
pub(crate) struct ShownSuite<'a> {
    reader: SuiteReader<'a>,
    targets: Option<Targets>,
    settings: &'a SuiteExport,
}

impl<'a> ShownSuite<'a> {
    /// Opens the suite at `suite` for the export `settings` describes.
    pub fn open(suite: &'a Path, settings: &'a SuiteExport) -> Result<ShownSuite<'a>, Diagnostic> {
        let reader = SuiteReader::open(Input::Path(suite))?;
        let targets = match &settings.target {
            Some(t) => Some(Targets::read(
                t,
                settings.steer.as_ref().map(|s| s.id.as_str()),
                suite,
                &reader.header,
            )?),
            None => None,
        };
        Ok(ShownSuite {
            reader,
            targets,
            settings,
        })
    }

    /// The suite's header.
    pub fn header(&self) -> &Value {
        &self.reader.header
    }

    /// The suite's id.
    pub fn suite_id(&self) -> &str {
        self.reader.suite_id()
    }

    /// Calls `f` with every scenario, as shown, its target (`None` without targets) and the
    /// suite's header; counts the scenarios left out in `written`.
    pub fn each(
        mut self,
        written: &mut Written,
        mut f: impl FnMut(&Item, &Shown, Option<usize>, &Value) -> Result<(), Diagnostic>,
    ) -> Result<(), Diagnostic> {
        let steer = self.settings.steer.as_ref();
        while let Some(ref item) = self.reader.next_line()? {
            crate::eval::untranslated(&self.settings.presentation, item)?;
            let shown = Shown::new(&self.settings.presentation, steer, item);
            let target = match &self.targets {
                Some(t) => match t.position(item, &shown.options)? {
                    Some(p) => Some(p),
                    None => {
                        written.untargeted += 1;
                        continue;
                    }
                },
                None => None,
            };
            f(item, &shown, target, &self.reader.header)?;
        }
        Ok(())
    }
}

pub(crate) struct Targets {
    path: PathBuf,
    suite: PathBuf,
    answers: BTreeMap<u64, Latest>,
}

impl Targets {
    /// Reads the target run of `path` (under `steer`) for the suite at `suite`.
    pub fn read(
        path: &Path,
        steer: Option<&str>,
        suite: &Path,
        suite_header: &Value,
    ) -> Result<Targets, Diagnostic> {
        let (header, answers) = latest_answers(path, steer)?;
        check_same_suite(path, &header, suite, suite_header)?;
        Ok(Targets {
            path: path.to_path_buf(),
            suite: suite.to_path_buf(),
            answers,
        })
    }

    /// The position, among `options`, of the option recorded for `scenario`; `None` when
    /// the run chose none there.
    pub fn position(
        &self,
        scenario: &ScenarioLine,
        options: &[Choice],
    ) -> Result<Option<usize>, Diagnostic> {
        let Some(latest) = self.answers.get(&scenario.index) else {
            return Ok(None);
        };
        if latest.scenario != scenario.id {
            return Err(other_scenario(
                &self.path,
                scenario.index,
                &latest.scenario,
                &self.suite,
                &scenario.id,
            ));
        }
        Ok(options.iter().position(|o| o.action == latest.choice))
    }
}

// ------------------------------------------------------------------ what a model is shown

/// A scenario as `eval` shows it: the labelled options, the user prompt and the system
/// prompt.
pub(crate) struct Shown {
    pub options: Vec<Choice>,
    pub prompt: String,
    pub system: Option<String>,
}

impl Shown {
    pub fn new(
        presentation: &Presentation,
        steer: Option<&Steer>,
        scenario: &ScenarioLine,
    ) -> Shown {
        let options = presentation.options(scenario);
        let prompt = presentation.prompt(scenario, &options);
        let system = presentation.system(steer.map(|s| s.system.as_str()));
        Shown {
            options,
            prompt,
            system,
        }
    }

    /// The chat messages of the request: the system prompt, if any, then the user prompt.
    pub fn messages(&self) -> Value {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = &self.system {
            messages.push(json!({"role": "system", "content": system}));
        }
        messages.push(json!({"role": "user", "content": self.prompt}));
        Value::Array(messages)
    }
}

/// What the exports record about a scenario besides the prompt: where it came from and what
/// each option stands for.
pub(crate) fn metadata(
    item: &Item,
    shown: &Shown,
    suite_header: &Value,
    presentation: &Presentation,
    steer: Option<&Steer>,
) -> serde_json::Map<String, Value> {
    let options: Vec<Value> = shown
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| {
            json!({
                "label": o.label,
                "action": o.action,
                "text": o.text,
                "upholds": o.upholds,
                "violates": o.violates,
                "affects": item.actions.get(i).map_or(Value::Null, |a| raw_value(&a.affects)),
                "distractor": item.actions.get(i).is_some_and(|a| a.distractor),
            })
        })
        .collect();
    let s = item;
    let mut m = serde_json::Map::new();
    m.insert("scenario".into(), json!(s.id));
    m.insert("index".into(), json!(s.index));
    m.insert(
        "suite".into(),
        json!(
            item.suite
                .as_deref()
                .or(suite_header.get("suite").and_then(Value::as_str))
        ),
    );
    m.insert(
        "suite_seed".into(),
        suite_header.get("seed").cloned().unwrap_or(Value::Null),
    );
    m.insert(
        "source_hash".into(),
        suite_header
            .get("source_hash")
            .cloned()
            .unwrap_or(Value::Null),
    );
    m.insert("seed".into(), raw_value(&item.seed));
    m.insert("draw".into(), raw_value(&item.draw));
    m.insert("template".into(), json!(s.template));
    m.insert("topic".into(), json!(item.topic));
    m.insert("bindings".into(), raw_value(&item.bindings));
    m.insert("twin_group".into(), json!(s.twin_group));
    m.insert("provenance".into(), raw_value(&item.provenance));
    m.insert("presentation".into(), json!(presentation.fingerprint()));
    m.insert("steer".into(), json!(steer.map(|s| &s.id)));
    m.insert("options".into(), Value::Array(options));
    m
}

// ------------------------------------------------------------------ writing

pub use crate::output::{to_file, write_text};

/// Creates the output directory of a directory format (and its parents).
pub(crate) fn create_dir(dir: &Path) -> Result<(), Diagnostic> {
    std::fs::create_dir_all(dir).map_err(|e| {
        Diagnostic::new(
            Code::Io,
            format!(
                "cannot create the directory `{}`: {}",
                dir.display(),
                e.to_string().to_lowercase()
            ),
        )
        .path(dir.display().to_string())
        .help("give -o a directory that can be created or written")
    })
}

/// Writes one JSON line.
pub(crate) fn json_line(out: &mut dyn Write, value: &Value, to: &str) -> Result<(), Diagnostic> {
    let mut line = serde_json::to_vec(value)
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot write {to}: {e}")))?;
    line.push(b'\n');
    out.write_all(&line).map_err(|e| {
        Diagnostic::new(
            Code::Io,
            format!("cannot write {to}: {}", e.to_string().to_lowercase()),
        )
    })
}

/// Flushes `out`.
pub(crate) fn flush(out: &mut dyn Write, to: &str) -> Result<(), Diagnostic> {
    out.flush().map_err(|e| {
        Diagnostic::new(
            Code::Io,
            format!("cannot write {to}: {}", e.to_string().to_lowercase()),
        )
    })
}

/// The system prompt of a steer recorded in a results header, by id.
pub(crate) fn recorded_steer(
    results: &Path,
    header: &Value,
    id: &str,
) -> Result<Steer, Diagnostic> {
    let steers: Vec<Steer> = header
        .get("steers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|s| {
                    Some(Steer {
                        id: s.get("id")?.as_str()?.to_string(),
                        system: s.get("system")?.as_str()?.to_string(),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(s) = steers.iter().find(|s| s.id == id) {
        return Ok(s.clone());
    }
    let names: Vec<&str> = steers.iter().map(|s| s.id.as_str()).collect();
    let help = match crate::suggest::similar(id, names.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None if names.is_empty() => "the run was made without steers: leave out --steer".into(),
        None => format!("the run's steers are {}", names.join(", ")),
    };
    Err(Diagnostic::new(
        Code::UnknownReference,
        format!(
            "`{}` holds no run under the steer `{id}`",
            results.display()
        ),
    )
    .path(results.display().to_string())
    .help(help))
}

/// Checks that `presentation` shows scenarios as the run recorded in `header` did.
pub(crate) fn check_presentation(
    results: &Path,
    header: &Value,
    presentation: &Presentation,
) -> Result<(), Diagnostic> {
    let recorded = header.get("presentation").and_then(Value::as_str);
    let ours = presentation.fingerprint();
    if recorded.is_none_or(|r| r == ours) {
        return Ok(());
    }
    Err(Diagnostic::new(
        Code::InvalidSetting,
        format!(
            "the run in `{}` showed its scenarios another way (`{}`) than these settings would (`{ours}`)",
            results.display(),
            recorded.unwrap_or_default()
        ),
    )
    .path(results.display().to_string())
    .help("give the --prompt, --labels and --framework the run was made with"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name() {
        for f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Ok(f));
        }
        let e = Format::from_name("inspekt").unwrap_err();
        assert_eq!(e.message, "`inspekt` is not an export format");
        assert_eq!(e.help.as_deref(), Some("did you mean `inspect`?"));
        let e = Format::from_name("csv").unwrap_err();
        assert!(e.help.unwrap_or_default().starts_with("the formats are"));
    }
}
