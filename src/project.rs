//! The pipeline as a library type: a [`Project`] loads and checks its sources once, and from
//! it every phase runs — find a suite, profile, prompt or steer by name, expand, build an
//! adapter, evaluate, report — on files or on bytes in memory. The command-line tool is a
//! client of this module and nothing more; a [`RunFolder`] is what `quandary run` keeps.
//!
//! ```
//! use quandary::Project;
//! use quandary::eval::adapters::AdapterSpec;
//! use quandary::eval::Settings;
//! use quandary::expand::Options;
//!
//! let project = Project::load_str(
//!     "clinic.qd",
//!     r#"
//!     value care "Care"
//!     value loyalty "Loyalty"
//!     conflict care <> loyalty
//!     scenario visit "A visit" {
//!       pick a, b from conflicts()
//!       text "Choose {{ a.label }} or {{ b.label }}."
//!       action first { upholds a }
//!       action second { upholds b }
//!     }
//!     suite night { count 4 }
//!     profile carer { care 0.9  loyalty 0.2 }
//!     "#,
//! );
//! assert!(!project.has_errors(), "{:?}", project.diagnostics());
//! let suite = project.expand_to_vec(project.suite(None)?, &Options::default())?;
//! let adapter = project.adapter(&AdapterSpec::default())?;
//! let results = project.evaluate(&suite, adapter.adapter.as_ref(), &Settings::default())?;
//! let report = project.report(&suite, &results, None, &Default::default())?;
//! let care = report.values.iter().find(|v| v.value == "clinic.care").map(|v| v.selected);
//! assert_eq!(care, Some(4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::diagnostic::{Code, Diagnostic};
use crate::eval::adapters::{AdapterSpec, Built};
use crate::eval::present::Labels;
use crate::eval::{self, Adapter, Outcome, Presentation, Settings, Steer};
use crate::expand::{self, Expansion};
use crate::formats::Input;
use crate::load::{self, Loaded};
use crate::model::{Framework, SuiteId};
use crate::report::{self, Report};
use crate::resolve::Loader;
use crate::source::SourceMap;

/// Sources loaded and checked once, and every phase of the pipeline on them.
#[derive(Debug)]
pub struct Project {
    loaded: Loaded,
    /// How messages name the sources: the first file given.
    name: String,
}

impl Project {
    /// Loads, resolves and checks the file at `path` and what it imports.
    pub fn load(path: impl AsRef<Path>) -> Project {
        let path = path.as_ref();
        Project::from_loaded(load::load_path(path), path.display().to_string())
    }

    /// Loads source text that has no file on disk, named `name`.
    pub fn load_str(name: &str, text: &str) -> Project {
        Project::from_loaded(load::load_str(name, text), name.to_string())
    }

    /// Loads `paths` through `loader`.
    pub fn load_with<P: AsRef<Path>>(loader: &mut dyn Loader, paths: &[P]) -> Project {
        let name = paths
            .first()
            .map_or_else(String::new, |p| p.as_ref().display().to_string());
        Project::from_loaded(load::load_with(loader, paths), name)
    }

    /// A project of sources already loaded.
    pub fn from_loaded(loaded: Loaded, name: String) -> Project {
        Project { loaded, name }
    }

    /// The resolved model.
    pub fn framework(&self) -> &Framework {
        &self.loaded.framework
    }

    /// The files read.
    pub fn sources(&self) -> &SourceMap {
        &self.loaded.sources
    }

    /// Every error and warning of loading and checking.
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.loaded.diagnostics
    }

    /// Leaves out the diagnostics with `code` (a command that judges them itself).
    pub fn forget(&mut self, code: Code) {
        self.loaded.diagnostics.retain(|d| d.code != code);
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.loaded.has_errors()
    }

    /// How messages name the sources.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What was loaded.
    pub fn loaded(&self) -> &Loaded {
        &self.loaded
    }

    /// The suite named `name` among the first file's suites, or its first suite; a
    /// misspelt name gets a suggestion.
    pub fn suite(&self, name: Option<&str>) -> Result<SuiteId, Diagnostic> {
        let f = self.framework();
        let suites = &f.root_module().suites;
        let names: Vec<&str> = suites
            .iter()
            .map(|s| f.suites[s.index()].id.as_str())
            .collect();
        let found = match name {
            Some(name) => suites
                .iter()
                .zip(&names)
                .find(|(_, n)| **n == name)
                .map(|(s, _)| *s),
            None => suites.first().copied(),
        };
        found.ok_or_else(|| {
            let message = match name {
                Some(name) => format!("no suite `{name}` in `{}`", self.name),
                None => format!("`{}` declares no suite", self.name),
            };
            let help = match (name, names.is_empty()) {
                (_, true) => "declare one: `suite id \"label\" { seed 1  count 100 }`".to_string(),
                (Some(n), false) => match crate::suggest::similar(n, names.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the suites are {}", names.join(", ")),
                },
                (None, false) => String::new(),
            };
            Diagnostic::new(Code::InvalidSetting, message)
                .path(self.name.clone())
                .help(help)
        })
    }

    /// An expansion of `suite`.
    pub fn expansion(
        &self,
        suite: SuiteId,
        options: &expand::Options,
    ) -> Result<Expansion<'_>, Vec<Diagnostic>> {
        Expansion::new(self.framework(), self.sources(), suite, options)
    }

    /// `suite` expanded into a suite file's bytes, in memory.
    pub fn expand_to_vec(
        &self,
        suite: SuiteId,
        options: &expand::Options,
    ) -> Result<Vec<u8>, Diagnostic> {
        let expansion = self.expansion(suite, options).map_err(first)?;
        let mut out = Vec::new();
        expansion.run(&mut out, options, &mut |_, _| {})?;
        Ok(out)
    }

    /// How scenarios are shown: the prompt named `prompt`, or the framework's first prompt,
    /// or the default layout with `labels`.
    pub fn presentation(
        &self,
        prompt: Option<&str>,
        labels: Labels,
    ) -> Result<Presentation, Diagnostic> {
        presentation(Some(self.framework()), prompt, labels)
    }

    /// The steers and constitutions named (`all`: every one), in the order asked, each once.
    pub fn steers(&self, names: &[String]) -> Result<Vec<Steer>, Diagnostic> {
        steers(self.framework(), names)
    }

    /// The adapter `spec` names; `profile` takes its profile from this project.
    pub fn adapter(&self, spec: &AdapterSpec) -> Result<Built, Diagnostic> {
        spec.build(Some(self.framework()), &self.name)
    }

    /// Asks every scenario of a suite file's bytes (`suite`) under `settings`, in memory:
    /// the results journal's bytes.
    pub fn evaluate(
        &self,
        suite: &[u8],
        adapter: &dyn Adapter,
        settings: &Settings,
    ) -> Result<Vec<u8>, Diagnostic> {
        let (journal, _) = eval::run_in_memory(suite, adapter, settings)?;
        Ok(journal)
    }

    /// A report on results (`results`, a journal's bytes) answering `suite` (a suite file's
    /// bytes), with this project's framework, on the run under `steer`.
    pub fn report(
        &self,
        suite: &[u8],
        results: &[u8],
        steer: Option<&str>,
        options: &report::Options,
    ) -> Result<Report, Diagnostic> {
        report::report(
            &report::Sources {
                results: Input::Bytes("results", results),
                suite: Input::Bytes("suite", suite),
                framework: Some(self.framework()),
                steer,
                notes: &[],
            },
            options,
        )
    }
}

/// The first of `diagnostics` (an expansion's errors come as a list).
fn first(mut diagnostics: Vec<Diagnostic>) -> Diagnostic {
    if diagnostics.is_empty() {
        return Diagnostic::new(Code::Io, "the suite cannot be expanded");
    }
    diagnostics.swap_remove(0)
}

/// The presentation `prompt` names in `framework` (or its first prompt), else the default
/// layout with `labels`.
pub fn presentation(
    framework: Option<&Framework>,
    prompt: Option<&str>,
    labels: Labels,
) -> Result<Presentation, Diagnostic> {
    let plain = Presentation {
        labels,
        ..Presentation::default()
    };
    let Some(f) = framework else {
        return Ok(plain);
    };
    Ok(match prompt {
        Some(name) => match f.prompts.iter().find(|p| p.id == name) {
            Some(p) => Presentation::from_prompt(p),
            None => {
                let names: Vec<&str> = f.prompts.iter().map(|p| p.id.as_str()).collect();
                return Err(Diagnostic::new(
                    Code::UnknownReference,
                    format!("no prompt `{name}` in the suite's framework"),
                )
                .help(crate::suggest::help(
                    name,
                    &names,
                    "",
                    "declare one: `prompt id { system \"…\" }`",
                    "the prompts are ",
                )));
            }
        },
        None => f.prompts.first().map_or(plain, Presentation::from_prompt),
    })
}

/// The steers and constitutions `names` names in `framework` (`all`: every one), in the
/// order asked, each once.
pub fn steers(framework: &Framework, names: &[String]) -> Result<Vec<Steer>, Diagnostic> {
    let f = framework;
    let mut steers: Vec<Steer> = Vec::new();
    for name in names {
        let chosen: Vec<&crate::model::Steer> = if name == "all" {
            f.steers.iter().collect()
        } else {
            f.steers.iter().filter(|s| s.id == *name).collect()
        };
        if chosen.is_empty() {
            let names: Vec<&str> = f.steers.iter().map(|s| s.id.as_str()).collect();
            return Err(Diagnostic::new(
                Code::UnknownReference,
                format!("no steer or constitution `{name}` in the suite's framework"),
            )
            .help(crate::suggest::help(
                name,
                &names,
                "",
                "declare one: `steer id { system \"…\" }`",
                "`all`, or one of ",
            )));
        }
        for s in chosen {
            if !steers.iter().any(|x| x.id == s.id) {
                steers.push(Steer {
                    id: s.id.clone(),
                    system: s.system.clone(),
                });
            }
        }
    }
    Ok(steers)
}

/// The judge named `name` in `framework`, or, without a name, the one suite `suite` (an id)
/// names with its `judge` setting.
pub fn judge<'f>(
    framework: &'f Framework,
    name: Option<&str>,
    suite: Option<&str>,
) -> Result<&'f crate::model::Judge, Diagnostic> {
    let names: Vec<&str> = framework.judges.iter().map(|j| j.id.as_str()).collect();
    let wanted = match name {
        Some(n) => n.to_string(),
        None => {
            let named = framework
                .suites
                .iter()
                .find(|s| Some(s.id.as_str()) == suite)
                .and_then(|s| s.judge);
            match named {
                Some(id) => return Ok(&framework.judges[id.index()]),
                None => {
                    return Err(Diagnostic::new(
                        Code::UnknownReference,
                        match suite {
                            Some(s) => format!("suite `{s}` names no judge"),
                            None => "no judge is named".to_string(),
                        },
                    )
                    .help(if names.is_empty() {
                        "declare one: `judge id { verdict stance }`, and name it with --judge or \
                         the suite's `judge id`"
                            .to_string()
                    } else {
                        format!("name one with --judge: {}", names.join(", "))
                    }));
                }
            }
        }
    };
    framework
        .judges
        .iter()
        .find(|j| j.id == wanted)
        .ok_or_else(|| {
            Diagnostic::new(
                Code::UnknownReference,
                format!("no judge `{wanted}` in the suite's framework"),
            )
            .help(crate::suggest::help(
                &wanted,
                &names,
                "",
                "declare one: `judge id { verdict stance }`",
                "the judges are ",
            ))
        })
}

/// Where a judge pass over the results journal `results` writes by default: the judged
/// journal `RESULTS.JUDGE.jsonl` beside it.
pub fn judged_path(results: &Path, judge: &str) -> PathBuf {
    let stem = results
        .file_stem()
        .map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
    results.with_file_name(format!("{stem}.{judge}.jsonl"))
}

/// The judge suite beside the judged journal `judged`: `JUDGED.suite.jsonl`.
pub fn judge_suite_path(judged: &Path) -> PathBuf {
    let stem = judged
        .file_stem()
        .map_or_else(|| "judged".into(), |s| s.to_string_lossy().into_owned());
    judged.with_file_name(format!("{stem}.suite.jsonl"))
}

/// Writes the judge suite of `judge` for the answers of `results` (answers to `suite`) to
/// the file `out` (atomically: on an error no half-written file is left).
pub fn write_judge_suite(
    framework_files: &[String],
    judge: &crate::model::Judge,
    results: &Path,
    suite: &Path,
    out: &Path,
) -> Result<eval::judge::Written, Diagnostic> {
    crate::output::to_file(out, |w| {
        eval::judge::write_suite(
            judge,
            framework_files,
            Input::Path(results),
            Input::Path(suite),
            w,
        )
    })
}

/// `presentation` and `steers` (as [`presentation`] and [`steers`] give them, `prompt`
/// naming the prompt, or the framework's first) asked in `lang`: the prompt's and the
/// steers' translations in place of their texts, and quandary's own wording in the
/// language. A text without a translation into `lang` is an error (`Q0130`), never sent in
/// its original language.
pub fn in_language(
    framework: Option<&Framework>,
    prompt: Option<&str>,
    presentation: Presentation,
    steers: Vec<Steer>,
    lang: &str,
) -> Result<(Presentation, Vec<Steer>), Diagnostic> {
    let missing = |why: String| {
        Diagnostic::new(Code::MissingTranslation, why).help(format!(
            "`quandary check` lists what a suite with `languages {lang}` needs"
        ))
    };
    if lang.is_empty()
        || lang.len() > 35
        || !lang
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(Diagnostic::new(
            Code::InvalidSetting,
            format!("`{lang}` is not a language tag"),
        )
        .help("give a tag such as `zh`, `de` or `pt-BR`, as the suite's `text.TAG` names it"));
    }
    let chosen = framework.and_then(|f| match prompt {
        Some(name) => f.prompts.iter().find(|p| p.id == name),
        None => f.prompts.first(),
    });
    let presentation = presentation.in_language(chosen, lang).map_err(missing)?;
    let mut out = Vec::with_capacity(steers.len());
    for steer in steers {
        let translated = framework
            .and_then(|f| f.steers.iter().find(|s| s.id == steer.id))
            .and_then(|s| s.translations.get(lang));
        match translated {
            Some(system) => out.push(Steer {
                id: steer.id,
                system: system.clone(),
            }),
            None => {
                return Err(missing(format!(
                    "steer `{}` has no `system.{lang}`: add one to ask under it in `{lang}`",
                    steer.id
                )));
            }
        }
    }
    Ok((presentation, out))
}

/// The framework a suite was expanded from — `explicit`, or the first file its header
/// names — loaded, for profiles, prompts, steers, theory labels and the hierarchy. Returns
/// the file and the project.
pub fn suite_project(
    explicit: Option<&Path>,
    header: &Value,
) -> Result<(PathBuf, Project), Diagnostic> {
    let file = match explicit {
        Some(f) => f.to_path_buf(),
        None => header
            .get("files")
            .and_then(|f| f.get(0))
            .and_then(|f| f.as_str())
            .map(PathBuf::from)
            .ok_or_else(|| {
                Diagnostic::new(Code::Io, "the suite's header names no source file")
                    .help("give the framework with --framework FILE")
            })?,
    };
    if !file.is_file() {
        let what = if file.is_dir() {
            "is a directory"
        } else {
            "is not found"
        };
        let help = if explicit.is_some() {
            "check the path given with --framework"
        } else {
            "the suite's header names the files it was expanded from: run from the folder it \
             was expanded in, or give the framework with --framework FILE"
        };
        return Err(Diagnostic::new(
            Code::Io,
            format!("the framework `{}` {what}", file.display()),
        )
        .path(file.display().to_string())
        .help(help));
    }
    let project = Project::load(&file);
    if project.has_errors() {
        return Err(
            Diagnostic::new(Code::Io, format!("`{}` has errors", file.display()))
                .help(format!("run `quandary check {}`", file.display())),
        );
    }
    Ok((file, project))
}

/// A path recorded in a header, as written or, failing that, beside `near`.
pub fn recorded_path(recorded: &str, near: &Path) -> PathBuf {
    let as_written = PathBuf::from(recorded);
    if as_written.exists() || as_written.is_absolute() {
        return as_written;
    }
    match (near.parent(), as_written.file_name()) {
        (Some(dir), Some(name)) if dir.join(name).exists() => dir.join(name),
        _ => as_written,
    }
}

/// The suite the results file at `results` answers: the one its header names, as written
/// or beside the results (see [`recorded_path`]).
pub fn suite_of(results: &Path) -> Result<PathBuf, Diagnostic> {
    let header = crate::formats::results::read_header(Input::Path(results))?;
    header
        .get("suite_file")
        .and_then(Value::as_str)
        .map(|f| recorded_path(f, results))
        .ok_or_else(|| {
            crate::formats::io_error(
                &results.display().to_string(),
                "its header names no suite file",
            )
            .help("give the suite with --suite FILE")
        })
}

/// What a report on the results file at `results` reads besides it: the suite (`explicit`,
/// or the one its header names) and its framework (`framework`, or the suite's first file),
/// with a note instead of the framework when it cannot be loaded.
pub struct ReportInputs {
    /// The suite the results answer.
    pub suite: PathBuf,
    /// Its framework, loaded.
    pub project: Option<Project>,
    /// What the reader should know (a framework that could not be loaded).
    pub notes: Vec<String>,
}

impl ReportInputs {
    /// Finds the inputs of a report on `results`.
    pub fn find(
        results: &Path,
        suite: Option<&Path>,
        framework: Option<&Path>,
    ) -> Result<ReportInputs, Diagnostic> {
        let suite = match suite {
            Some(p) => p.to_path_buf(),
            None => suite_of(results)?,
        };
        let mut notes = Vec::new();
        // A suite that cannot be read is reported when the report reads it.
        let header = crate::formats::suite::read_header(Input::Path(&suite)).ok();
        let project = match header {
            None => None,
            Some(header) => match suite_project(framework, &header) {
                Ok((_, p)) => Some(p),
                // A suite that names no file (written by hand) simply has no framework.
                Err(_)
                    if framework.is_none()
                        && header.get("files").and_then(|f| f.get(0)).is_none() =>
                {
                    None
                }
                Err(d) => {
                    notes.push(format!(
                        "{}, so theory labels, the hierarchy and profiles are left out ({})",
                        d.message,
                        d.help.as_deref().unwrap_or("give --framework FILE")
                    ));
                    None
                }
            },
        };
        Ok(ReportInputs {
            suite,
            project,
            notes,
        })
    }

    /// The report's sources: `results` with these inputs, on the run under `steer`.
    pub fn sources<'a>(&'a self, results: &'a Path, steer: Option<&'a str>) -> report::Sources<'a> {
        report::Sources {
            results: Input::Path(results),
            suite: Input::Path(&self.suite),
            framework: self.project.as_ref().map(Project::framework),
            steer,
            notes: &self.notes,
        }
    }
}

/// How the journal whose header is `header` rendered its prompts, for the HTML report's
/// browser: the presentation whose fingerprint the header records — the default layout
/// (letters or `Action N`) or a prompt of `framework`, in the run's language and answer
/// mode — with the system prompt of `steer` as the header lists it. `None` when no
/// presentation matches (a prompt given in another file, say): the page then shows each
/// scenario and its options without the prompt.
pub fn prompter<'a>(
    header: &Value,
    framework: Option<&'a Framework>,
    steer: Option<&str>,
) -> Option<Box<report::browse::Prompter<'a>>> {
    use crate::model::AnswerMode;
    let recorded = header.get("presentation")?.as_str()?.to_string();
    let lang = header.get("lang").and_then(Value::as_str);
    let mut bases: Vec<(Presentation, Option<&crate::model::Prompt>)> =
        [Labels::Letters, Labels::Actions]
            .into_iter()
            .map(|labels| {
                (
                    Presentation {
                        labels,
                        ..Presentation::default()
                    },
                    None,
                )
            })
            .collect();
    if let Some(f) = framework {
        bases.extend(
            f.prompts
                .iter()
                .map(|p| (Presentation::from_prompt(p), Some(p))),
        );
    }
    let found = bases.into_iter().find_map(|(base, prompt)| {
        [AnswerMode::Choice, AnswerMode::Reasoning, AnswerMode::Free]
            .into_iter()
            .filter_map(|mode| {
                let p = Presentation {
                    mode,
                    ..base.clone()
                };
                match lang {
                    Some(l) => p.in_language(prompt, l).ok(),
                    None => Some(p),
                }
            })
            .find(|p| p.fingerprint() == recorded)
    })?;
    let system = steer.and_then(|id| {
        header
            .get("steers")?
            .as_array()?
            .iter()
            .find(|s| s.get("id").and_then(Value::as_str) == Some(id))?
            .get("system")?
            .as_str()
            .map(str::to_string)
    });
    Some(Box::new(
        move |line: &crate::formats::suite::ScenarioLine| {
            let options = found.options(line);
            let user = found.try_prompt(line, &options).ok()?;
            Some((found.system(system.as_deref()), user))
        },
    ))
}

/// The scenarios of the run `sources` names for the HTML report's browser, with the prompt
/// each was sent with where [`prompter`] can render it.
pub fn browse(sources: &report::Sources<'_>) -> Result<report::browse::Browse, Diagnostic> {
    let header = crate::formats::results::read_header(sources.results)?;
    let prompter = prompter(&header, sources.framework, sources.steer);
    report::browse::browse(sources, prompter.as_deref())
}

/// `report` (of the run `sources` names) as its HTML page, whose browser holds the run's
/// answered scenarios as [`browse`] reads them: the one call that renders the page.
pub fn html(report: &Report, sources: &report::Sources<'_>) -> Result<String, Diagnostic> {
    Ok(report.html(&browse(sources)?))
}

/// A run folder (`quandary run`): the suite expanded into `suite.jsonl`, its answers in
/// `results.jsonl`, the report beside them. Opening one for a suite expands it, unless the
/// folder holds that very suite already (a resumed run); a folder holding another suite's
/// results is refused.
#[derive(Debug, Clone)]
pub struct RunFolder {
    /// The folder.
    pub dir: PathBuf,
}

/// What opening a run folder did with the suite.
#[derive(Debug, Clone, PartialEq)]
pub enum Expanded {
    /// The folder held this suite already.
    Kept,
    /// The suite was expanded: this many scenarios.
    Written(u64),
}

impl RunFolder {
    /// The folder at `dir` (created if need be).
    pub fn create(dir: impl Into<PathBuf>) -> Result<RunFolder, Diagnostic> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| {
            Diagnostic::new(
                Code::Io,
                format!(
                    "cannot create the run folder `{}`: {}",
                    dir.display(),
                    crate::input::why(&e)
                ),
            )
            .path(dir.display().to_string())
            .help("give a writable run folder with -o DIR")
        })?;
        Ok(RunFolder { dir })
    }

    /// The suite file.
    pub fn suite(&self) -> PathBuf {
        self.dir.join("suite.jsonl")
    }

    /// The results journal.
    pub fn results(&self) -> PathBuf {
        self.dir.join("results.jsonl")
    }

    /// The report in `format` (`json`, `md`, `html`).
    pub fn report(&self, extension: &str) -> PathBuf {
        self.dir.join(format!("report.{extension}"))
    }

    /// The judge suite: the judge's message about each answer.
    pub fn judge_suite(&self) -> PathBuf {
        self.dir.join("judge.suite.jsonl")
    }

    /// The judged journal: the judge's verdicts.
    pub fn judged(&self) -> PathBuf {
        self.dir.join("judged.jsonl")
    }

    /// The report on the judge's verdicts in `format` (`json`, `md`, `html`).
    pub fn verdicts(&self, extension: &str) -> PathBuf {
        self.dir.join(format!("verdicts.{extension}"))
    }

    /// Puts `expansion` in the folder, unless it holds that very suite already; refuses a
    /// folder whose results answer another suite.
    pub fn expand(
        &self,
        expansion: &Expansion<'_>,
        options: &expand::Options,
    ) -> Result<Expanded, Diagnostic> {
        let suite = self.suite();
        let held = crate::formats::suite::read_header(Input::Path(&suite)).ok();
        if held.as_ref() == Some(&expansion.header(None)) {
            return Ok(Expanded::Kept);
        }
        if self.results().exists() {
            return Err(Diagnostic::new(
                Code::InvalidSetting,
                format!(
                    "`{}` holds the results of another suite (other sources, seed or count)",
                    self.dir.display()
                ),
            )
            .help("give another run folder with -o DIR, or remove this one"));
        }
        let summary =
            crate::output::to_file(&suite, |out| expansion.run(out, options, &mut |_, _| {}))?;
        Ok(Expanded::Written(summary.written))
    }

    /// Evaluates the folder's suite into its journal (resuming it).
    pub fn evaluate(
        &self,
        adapter: &dyn Adapter,
        settings: &Settings,
        progress: &mut dyn FnMut(eval::Event<'_>),
    ) -> Result<Outcome, Diagnostic> {
        eval::run(&self.suite(), &self.results(), adapter, settings, progress)
    }
}

/// What `quandary run` does, besides the folder: which suite, how to expand it, who answers
/// and how they are asked, and how to report.
#[derive(Clone, Debug, Default)]
pub struct RunSpec {
    /// The suite (`None`: the first of the project's file).
    pub suite: Option<String>,
    /// How to expand it.
    pub expand: expand::Options,
    /// Who answers. With the default `profile` and a framework without a profile, the
    /// seeded `random` baseline answers instead (and the outcome says so).
    pub adapter: AdapterSpec,
    /// Whether `adapter` was chosen (not left to its default).
    pub adapter_chosen: bool,
    /// The prompt that shows the scenarios (default: the framework's first).
    pub prompt: Option<String>,
    /// Option labels without a prompt.
    pub labels: Labels,
    /// How the model answers, instead of the prompt's `answer`.
    pub answer: Option<crate::model::AnswerMode>,
    /// Steers to repeat the run under.
    pub steers: Vec<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Ask again the requests whose answer is an error.
    pub retry_errors: bool,
    /// Stop once this many requests in a row fail with an error (0: never).
    pub max_errors: u64,
    /// How many times each scenario is asked (0 counts as 1).
    pub epochs: u32,
    /// The language to ask in (`--lang`), if any.
    pub lang: Option<String>,
    /// The judge that reads the answers (default: the one the suite names, when the
    /// answers are free-form).
    pub judge: Option<String>,
    /// Who judges (default: the adapter that answered, unless it is an agent: `profile`
    /// and `random` cannot read).
    pub judge_adapter: Option<AdapterSpec>,
    /// How the judge answers (default: `choice`).
    pub judge_answer: Option<crate::model::AnswerMode>,
    /// How the report resamples.
    pub report: report::Options,
}

/// What `quandary run` did.
pub struct RunOutcome {
    /// What became of the suite.
    pub expanded: Expanded,
    /// What the evaluation did.
    pub evaluated: Outcome,
    /// The report.
    pub report: Report,
    /// The adapter, with its cache's counters.
    pub adapter: Built,
    /// Set when the random baseline answered for want of a profile.
    pub baseline: bool,
    /// The judge pass, when a judge read the answers.
    pub judged: Option<JudgedOutcome>,
}

/// What the judge pass of `quandary run` did.
pub struct JudgedOutcome {
    /// The judge's id.
    pub judge: String,
    /// The judge suite written.
    pub written: eval::judge::Written,
    /// The judge's evaluation.
    pub evaluated: Outcome,
    /// The report on its verdicts.
    pub report: Report,
    /// The judge's adapter, with its cache's counters.
    pub adapter: Built,
}

impl Project {
    /// Expands a suite into `folder` (unless it holds it already), asks every scenario and
    /// reports, writing `report.json`, `report.md` and `report.html` there: the main job, on
    /// sources loaded once. `progress` is told what [`eval::run`] tells it.
    pub fn run(
        &self,
        folder: &RunFolder,
        spec: &RunSpec,
        progress: &mut dyn FnMut(eval::Event<'_>),
    ) -> Result<RunOutcome, Diagnostic> {
        self.run_with(self, folder, spec, progress)
    }

    /// As [`Project::run`], with the profiles, prompts and steers of `answering` (another
    /// framework) instead of this project's.
    pub fn run_with(
        &self,
        answering: &Project,
        folder: &RunFolder,
        spec: &RunSpec,
        progress: &mut dyn FnMut(eval::Event<'_>),
    ) -> Result<RunOutcome, Diagnostic> {
        let suite = self.suite(spec.suite.as_deref())?;
        let expansion = self.expansion(suite, &spec.expand).map_err(first)?;
        let expanded = folder.expand(&expansion, &spec.expand)?;
        let mut adapter = spec.adapter.clone();
        let baseline = !spec.adapter_chosen && answering.framework().profiles.is_empty();
        if baseline {
            adapter.name = "random".into();
        }
        let built = answering.adapter(&adapter)?;
        let mut presentation = answering.presentation(spec.prompt.as_deref(), spec.labels)?;
        if let Some(mode) = spec.answer {
            presentation.mode = mode;
        }
        let mut steers = answering.steers(&spec.steers)?;
        if let Some(lang) = &spec.lang {
            (presentation, steers) = in_language(
                Some(answering.framework()),
                spec.prompt.as_deref(),
                presentation,
                steers,
                lang,
            )?;
        }
        let settings = Settings {
            presentation,
            steers,
            concurrency: spec.concurrency.max(1),
            retry_errors: spec.retry_errors,
            epochs: spec.epochs.max(1),
            shard: None,
            max_errors: spec.max_errors,
            total_first: true,
        };
        let free = settings.presentation.mode == crate::model::AnswerMode::Free;
        let evaluated = folder.evaluate(built.adapter.as_ref(), &settings, progress)?;
        let (results, suite_file) = (folder.results(), folder.suite());
        let report =
            self.write_report(&results, &suite_file, &spec.report, &|e| folder.report(e))?;
        let suite_id = self.framework().suites[suite.index()].id.as_str();
        let named = self.framework().suites[suite.index()].judge.is_some();
        let judged = if spec.judge.is_some() || (free && named) {
            let judge = judge(self.framework(), spec.judge.as_deref(), Some(suite_id))?;
            Some(self.judge_run(folder, judge, spec, &adapter, progress)?)
        } else {
            None
        };
        Ok(RunOutcome {
            expanded,
            evaluated,
            report,
            adapter: built,
            baseline,
            judged,
        })
    }

    /// Reports on `results` (answers to `suite`), writing the report as JSON, Markdown and
    /// HTML to the paths `path` gives for each extension.
    fn write_report(
        &self,
        results: &Path,
        suite: &Path,
        options: &report::Options,
        path: &dyn Fn(&str) -> PathBuf,
    ) -> Result<Report, Diagnostic> {
        let sources = report::Sources {
            results: Input::Path(results),
            suite: Input::Path(suite),
            framework: Some(self.framework()),
            steer: None,
            notes: &[],
        };
        let report = report::report(&sources, options)?;
        let json = serde_json::to_string_pretty(&report)
            .map(|j| j + "\n")
            .map_err(|e| {
                Diagnostic::new(Code::Io, format!("cannot write the report as JSON: {e}"))
            })?;
        for (extension, text) in [
            ("json", json),
            ("md", report.markdown()),
            ("html", html(&report, &sources)?),
        ] {
            let path = path(extension);
            crate::output::to_file(&path, |w| {
                crate::output::write_text(w, &text, &path.display().to_string())
            })?;
        }
        Ok(report)
    }

    /// The judge pass of a run: `judge` reads the folder's answers into `judged.jsonl`, and
    /// the verdicts are reported.
    fn judge_run(
        &self,
        folder: &RunFolder,
        judge: &crate::model::Judge,
        spec: &RunSpec,
        subject: &AdapterSpec,
        progress: &mut dyn FnMut(eval::Event<'_>),
    ) -> Result<JudgedOutcome, Diagnostic> {
        let adapter = match &spec.judge_adapter {
            Some(a) => a.clone(),
            None if matches!(
                subject.kind(),
                "profile" | "random" | "replay" | "openai-logprob" | "reward"
            ) =>
            {
                return Err(Diagnostic::new(
                    Code::InvalidSetting,
                    format!(
                        "judge `{}` needs a model to read the answers, and `{}` answered",
                        judge.id, subject.name
                    ),
                )
                .help("name the judge's adapter: --judge-adapter openai (with --judge-model) or --judge-adapter command --judge-command PROGRAM"));
            }
            None => subject.clone(),
        };
        let header = crate::formats::suite::read_header(Input::Path(&folder.suite()))?;
        let files: Vec<String> = header
            .get("files")
            .and_then(Value::as_array)
            .map(|f| {
                f.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let written = write_judge_suite(
            &files,
            judge,
            &folder.results(),
            &folder.suite(),
            &folder.judge_suite(),
        )?;
        let built = self.adapter(&adapter)?;
        let mut presentation = Presentation::from_judge(judge);
        presentation.mode = spec.judge_answer.unwrap_or_default();
        let settings = Settings {
            presentation,
            steers: Vec::new(),
            concurrency: spec.concurrency.max(1),
            retry_errors: spec.retry_errors,
            epochs: 1,
            shard: None,
            max_errors: spec.max_errors,
            total_first: true,
        };
        progress(eval::Event::Pass(&format!("judge `{}`", judge.id)));
        let evaluated = eval::run(
            &folder.judge_suite(),
            &folder.judged(),
            built.adapter.as_ref(),
            &settings,
            progress,
        )?;
        let report = self.write_report(
            &folder.judged(),
            &folder.judge_suite(),
            &spec.report,
            &|e| folder.verdicts(e),
        )?;
        Ok(JudgedOutcome {
            judge: judge.id.clone(),
            written,
            evaluated,
            report,
            adapter: built,
        })
    }
}
