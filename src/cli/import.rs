//! `quandary import FORMAT INPUT… -o DIR`

use std::path::{Path, PathBuf};

use clap::Subcommand;
use quandary::import::{self, Imported, daily_dilemmas};
use quandary::{Code, Diagnostic, SourceMap};

use super::DiagnosticArgs;

/// Arguments of `import`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub format: Format,
}

/// The data sets `import` reads.
#[derive(Subcommand, Debug)]
pub enum Format {
    /// Import the value sets of DailyDilemmas (Chiu, Jiang and Choi, ICLR 2025; CC BY 4.0)
    ///
    /// Writes one framework per theory of the label config (wvs.qd, mft.qd, emotion.qd,
    /// maslow.qd, virtue.qd: one value per label) and values.qd, which lists the data set's
    /// values and maps each onto its labels in those theories, then prints the path of each
    /// file written.
    ///
    /// Given the per-action dilemmas file too (dilemmas_with_detail_by_action.csv), it also
    /// writes dilemmas.qd (one verbatim scenario per dilemma and a suite over them), the
    /// suite expanded into dilemmas.suite.jsonl, and one results journal per model whose
    /// choices the file records (gpt4.results.jsonl, …), ready for `quandary report`.
    ///
    /// A row that cannot be read is reported with its line number and left out; the rest is
    /// still written, and the exit status is 1. A label the label config lacks is added to
    /// its theory with a warning, and so is a value the values file lacks to dilemmas.qd.
    /// With --strict nothing is written when a row is bad.
    #[command(name = "daily-dilemmas")]
    DailyDilemmas(DailyDilemmasArgs),
    /// Import steering principles (a CSV with the columns `principle` and `source`, such as
    /// DailyDilemmas' principle_openai.csv) as a constitution and one steer per principle
    Principles(PrinciplesArgs),
    /// Import value rules in the shape of the Chinese Values Corpus (JSON Lines with the keys
    /// `rule`, `level`, `core values` and `derived values`) as rules of a framework
    ///
    /// Writes DIR/STEM.qd (STEM: the input's name without its extension), which `use`s the
    /// framework by a path relative to DIR and holds one rule per row, r0001, r0002, … after
    /// the row's line number. A rule upholds the derived values its row names, and the core
    /// values it names without a derived value under them. Names match the framework's
    /// labels, ids, aliases and translations, ignoring case.
    ///
    /// A row that is not a JSON object, has no rule or names a value the framework lacks is
    /// reported with its line number and left out; the rest is still written, and the exit
    /// status is 1. A row naming a derived value under none of its core values, or a core
    /// value outside its levels, is imported with a warning (the values as named, the level
    /// from the core values). Each rule is written below a comment `# INPUT:LINE` naming its
    /// row. With --strict nothing is written when a row is bad.
    #[command(name = "cvc-rules")]
    CvcRules(CvcRulesArgs),
    /// Import a Moral Graph Elicitation export (values cards and votes on which card is wiser
    /// in a context) as a framework with a value per card and weighted `wiser` relations
    ///
    /// The inputs are JSON files: an object with a `values` list of cards and an `edges` (or
    /// `upgrades`) list of votes, or lists of cards and votes, or JSON Lines (`.jsonl`) of
    /// them; cards and votes may come in separate files. Writes DIR/NAME.qd: a value per
    /// card, and `wiser TO > FROM in "CONTEXT" weight N` for N `upgrade` votes from card FROM
    /// to card TO in that context, with the other answers counted in the note.
    ///
    /// A card or vote that cannot be read, or a vote naming a card no input holds, is
    /// reported with its line number and left out; the rest is still written, and the exit
    /// status is 1. A card given twice is a warning. With --strict nothing is written when
    /// an entry is bad.
    Mge(MgeArgs),
    /// Import GlobalOpinionQA (Durmus et al. 2023; Anthropic/llm_global_opinions): survey
    /// questions with the answers of each country
    ///
    /// Reads the data set's CSV (columns `question`, `options`, `selections`, `source`), its
    /// rows as JSON Lines or a JSON array, a page of the Hugging Face datasets-server
    /// (`{"rows": [{"row_idx": 0, "row": {…}}]}`), or records of one question and country
    /// each (the question as "Question: … Options: A. … Answer:"), told apart by their
    /// content, and writes NAME.qd: one question per row (NAME_0001, …) with a reference per country, and
    /// a suite asking each question as it is and, under a persona, as someone from each of
    /// its countries. Shares that do not sum to 1 are normalised with a warning. A row or a
    /// country that cannot be read is reported with its line number and left out.
    Goqa(GoqaArgs),
    /// Import NaVAB (national values alignment): a statement held in a country, its
    /// reversal and the question it answers, as stances
    ///
    /// Reads JSON arrays (the data set's files), JSON Lines or CSV, and writes NAME.qd: one
    /// stance per record (NAME_0001, …) and a suite asking each as a choice and as agree or
    /// disagree. A record that cannot be read is reported with its line number and left out.
    Navab(NavabArgs),
    /// Read the answers of a batch inference engine (OpenAI's Batch API, `vllm run-batch`)
    /// to a batch `quandary export --to openai-batch` wrote, into a results journal
    ///
    /// Reads the batch's output file (and, with --errors, its error file) and records every
    /// request of the suite as a run of `eval --adapter openai` with the same settings
    /// records it: in the suite's order, each answer read two ways (logprobs and text), the
    /// header naming the `openai` adapter, so `report`, `diff` and `merge` take the journal
    /// as a live run's. Give the settings the batch was exported with. A request without a
    /// line, or whose line is an error, a status other than 2xx or a body that is not a chat
    /// completion, is recorded as an error. A line that answers no request of the suite
    /// under these settings, or one already answered, is reported with its line number, and
    /// the exit status is 1.
    #[command(name = "openai-batch")]
    OpenAiBatch(Box<OpenAiBatchArgs>),
}

/// Arguments of `import openai-batch`.
#[derive(clap::Args, Debug)]
pub struct OpenAiBatchArgs {
    /// The batch's output file: the file of OpenAI's `output_file_id`, or the one `vllm
    /// run-batch -o` wrote
    #[arg(value_name = "OUTPUT.jsonl")]
    pub input: PathBuf,
    /// The suite the batch was exported from
    #[arg(long, value_name = "SUITE.jsonl")]
    pub suite: PathBuf,
    /// The batch's error file (OpenAI's `error_file_id`): the requests that failed
    #[arg(long, value_name = "ERRORS.jsonl")]
    pub errors: Option<PathBuf>,
    /// The results journal to write; one holding a run with the same settings is resumed:
    /// only the requests it does not hold yet are recorded
    #[arg(short, long, value_name = "RESULTS.jsonl")]
    pub output: PathBuf,
    /// Record again the requests whose latest answer in the journal is an error
    #[arg(long)]
    pub retry_errors: bool,
    /// The batch was exported with `--shard K/N`: record shard K's requests into a shard's
    /// journal, to be joined with the other shards' by `quandary merge`
    #[arg(long, value_name = "K/N", value_parser = super::expand::parse_shard)]
    pub shard: Option<quandary::expand::Shard>,
    /// The API the batch ran on, recorded in the journal's header as `eval --base-url` is
    /// (so that `eval --adapter openai --retry-errors` can ask the failed requests again
    /// there)
    #[arg(long, value_name = "URL", default_value = super::eval::DEFAULT_BASE_URL)]
    pub base_url: String,
    #[command(flatten)]
    pub requests: super::eval::RequestArgs,
    #[command(flatten)]
    pub chat: super::eval::ChatArgs,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// Where an import writes, and how it treats problems: shared by every import.
#[derive(clap::Args, Debug)]
pub struct ImportOutput {
    /// The directory to write into (created if missing; files of the same names are
    /// replaced)
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Stop at the first problem in the input and write nothing
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// Arguments of `import cvc-rules`.
#[derive(clap::Args, Debug)]
pub struct CvcRulesArgs {
    /// The rules, JSON Lines: one object a line with the keys `rule`, `level`, `core values`
    /// and `derived values`
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// The framework the rules' values belong to, with three levels (dimension, core,
    /// derived)
    #[arg(long, value_name = "FILE", default_value = "rules/cvc.qd")]
    pub framework: PathBuf,
    #[command(flatten)]
    pub out: ImportOutput,
}

/// Arguments of `import goqa`.
#[derive(clap::Args, Debug)]
pub struct GoqaArgs {
    /// The data set's CSV (global_opinions.csv), its rows as JSON Lines or a JSON array, a
    /// datasets-server page of rows, or records of one question and country each
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// The file is NAME.qd, its suite NAME and its questions NAME_0001, …
    #[arg(long, value_name = "ID", default_value = import::goqa::DEFAULT_NAME)]
    pub name: String,
    /// The suite's persona, a template over `population`
    #[arg(long, value_name = "TEXT", default_value = import::goqa::DEFAULT_PERSONA)]
    pub persona: String,
    #[command(flatten)]
    pub out: ImportOutput,
}

/// Arguments of `import mge`.
#[derive(clap::Args, Debug)]
pub struct MgeArgs {
    /// The export: a folder of JSON files, or its files in any order. Lists or JSON Lines of
    /// values cards, participants' cards, contexts, cases, links of contexts to cases, votes
    /// and edges, told apart by their rows; or an object with `values` and `edges` lists
    #[arg(required = true, value_name = "EXPORT")]
    pub inputs: Vec<PathBuf>,
    /// The framework's id and the file's name (NAME.qd); by default made from the first
    /// input's name
    #[arg(long, value_name = "ID")]
    pub name: Option<String>,
    #[command(flatten)]
    pub out: ImportOutput,
}

/// Arguments of `import navab`.
#[derive(clap::Args, Debug)]
pub struct NavabArgs {
    /// The input files: JSON arrays, JSON Lines or CSV
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    /// The file is NAME.qd, its suite NAME and its stances NAME_0001, …
    #[arg(long, value_name = "ID", default_value = import::navab::DEFAULT_NAME)]
    pub name: String,
    /// The country of every record that names none (the data set's files name none)
    #[arg(long, value_name = "NAME")]
    pub country: Option<String>,
    #[command(flatten)]
    pub out: ImportOutput,
}

/// Arguments of `import principles`.
#[derive(clap::Args, Debug)]
pub struct PrinciplesArgs {
    /// The principles CSV
    #[arg(value_name = "INPUT")]
    pub input: PathBuf,
    /// The id of the constitution (steers are ID_01, ID_02, …); the file is ID.qd
    #[arg(long, value_name = "ID")]
    pub name: String,
    /// The constitution's label
    #[arg(long, value_name = "TEXT")]
    pub label: Option<String>,
    #[command(flatten)]
    pub out: ImportOutput,
}

/// Arguments of `import daily-dilemmas`.
#[derive(clap::Args, Debug)]
pub struct DailyDilemmasArgs {
    /// The input files, recognised by their content: the values file (a CSV whose header
    /// has a `value` column and the columns WVS, MFT, Virtue, Emotion and Maslow),
    /// optionally the per-action dilemmas file (a CSV whose header has the columns idx,
    /// dilemma_situation, action_type and action), and optionally a label config (a `.json`
    /// file such as five_theories_label_config.json; the data set's own config is built in)
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub out: ImportOutput,
}

pub fn run(args: Args) -> bool {
    match args.format {
        Format::DailyDilemmas(args) => daily_dilemmas(args),
        Format::Principles(args) => principles(args),
        Format::CvcRules(args) => cvc_rules(args),
        Format::Mge(args) => mge(args),
        Format::Goqa(args) => goqa(args),
        Format::Navab(args) => navab(args),
        Format::OpenAiBatch(args) => openai_batch(*args),
    }
}

fn openai_batch(args: OpenAiBatchArgs) -> bool {
    let mut outputs = vec![args.input.clone()];
    outputs.extend(args.errors.iter().cloned());
    let result = args.chat.settings().and_then(|chat| {
        let header =
            quandary::formats::suite::read_header(quandary::formats::Input::Path(&args.suite))?;
        let (mut settings, _) = args.requests.settings(&header, false)?;
        settings.retry_errors = args.retry_errors;
        settings.shard = args.shard.map(|s| (s.index, s.of));
        super::eval::with_progress(&args.output, |progress| {
            import::openai_batch::import(
                &args.suite,
                &outputs,
                &args.output,
                &settings,
                &chat,
                &args.base_url,
                progress,
            )
        })
    });
    let imported = match result {
        Ok(i) => i,
        Err(d) => {
            args.diagnostics.report(&[d], &SourceMap::new());
            return false;
        }
    };
    batch_summary(
        &imported,
        &args.output,
        "read from the batch",
        &args.diagnostics,
    )
}

/// Reports what an import of a batch's answers recorded (the answers `read` so) on standard
/// error, its diagnostics first; `false` when they hold an error.
pub(super) fn batch_summary(
    imported: &import::openai_batch::Imported,
    output: &std::path::Path,
    read: &str,
    diagnostics: &DiagnosticArgs,
) -> bool {
    let failed = diagnostics.report(&imported.diagnostics, &SourceMap::new());
    let o = &imported.outcome;
    eprintln!(
        "{} requests: {} recorded ({} {read}, {} failed there, {} without an answer in \
         it), {} already in the journal; {} answered, {} unparsed, refused or failed; \
         results in {}",
        o.requests,
        o.asked,
        imported.read,
        imported.failed,
        imported.missing,
        o.resumed,
        o.answered,
        o.failed,
        output.display()
    );
    !failed
}

fn cvc_rules(args: CvcRulesArgs) -> bool {
    let sources = SourceMap::new();
    let bytes = match read_input(&args.input) {
        Ok(b) => b,
        Err(d) => {
            args.out.diagnostics.report(&[d], &sources);
            return false;
        }
    };
    let loaded = quandary::load_path(&args.framework);
    if loaded.has_errors() {
        args.out
            .diagnostics
            .report(&loaded.diagnostics, &loaded.sources);
        return false;
    }
    let imported = import::cvc_rules::import_rules(
        &bytes,
        &display(&args.input),
        &loaded.framework,
        &relative_path(&args.out.output, &args.framework),
        &import::Options {
            strict: args.out.strict,
        },
    );
    // Never write the rules over the framework they use.
    let framework = std::fs::canonicalize(&args.framework).ok();
    if let Some((name, _)) = imported.files.first() {
        let target = absolute(&args.out.output.join(name));
        if framework.is_some() && target == framework {
            let d = Diagnostic::new(
                Code::Io,
                format!(
                    "the rules would be written to `{}`, the framework they use",
                    display(&args.out.output.join(name))
                ),
            )
            .path(display(&args.framework))
            .help("write them into another directory with -o");
            args.out.diagnostics.report(&[d], &sources);
            return false;
        }
    }
    write_all(&args.out.output, imported, &args.out.diagnostics)
}

fn mge(args: MgeArgs) -> bool {
    let sources = SourceMap::new();
    let mut read = Vec::new();
    let mut problems = Vec::new();
    let mut total: u64 = 0;
    let mut paths = Vec::new();
    for input in &args.inputs {
        paths.extend(export_files(input, &mut problems));
    }
    for path in paths {
        match read_input(&path) {
            Ok(bytes) => {
                total = total.saturating_add(bytes.len() as u64);
                if total > quandary::input::MAX_DATA {
                    problems.push(
                        Diagnostic::new(
                            Code::Io,
                            format!(
                                "the export's files hold more than {} together",
                                quandary::input::size(quandary::input::MAX_DATA)
                            ),
                        )
                        .path(display(&path))
                        .help("import the export in parts"),
                    );
                    break;
                }
                read.push((display(&path), bytes));
            }
            Err(d) => problems.push(d),
        }
    }
    if !problems.is_empty() {
        args.out.diagnostics.report(&problems, &sources);
        return false;
    }
    let name = match &args.name {
        Some(name) => name.clone(),
        None => {
            let first = &args.inputs[0];
            let stem = first
                .file_stem()
                .map_or_else(|| display(first), |s| s.to_string_lossy().into_owned());
            import::ident(&stem)
        }
    };
    if import::ident(&name) != name {
        let d = Diagnostic::new(
            Code::InvalidSetting,
            format!("`{name}` is not an identifier"),
        )
        .help(format!(
            "use lowercase letters, digits and `_`, e.g. `{}`",
            import::ident(&name)
        ));
        args.out.diagnostics.report(&[d], &sources);
        return false;
    }
    let inputs: Vec<(&str, &[u8])> = read
        .iter()
        .map(|(name, bytes)| (name.as_str(), bytes.as_slice()))
        .collect();
    let imported = import::mge::import_graph(
        &inputs,
        &name,
        &import::Options {
            strict: args.out.strict,
        },
    );
    write_all(&args.out.output, imported, &args.out.diagnostics)
}

/// The files of an export given as `path`: the file itself, or a folder's `.json`,
/// `.jsonl` and `.ndjson` files (not hidden ones), sorted by name. A folder without any is a
/// problem.
fn export_files(path: &Path, problems: &mut Vec<Diagnostic>) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(e) => {
            problems.push(
                Diagnostic::new(
                    Code::Io,
                    format!("cannot read the folder `{}`: {e}", display(path)),
                )
                .path(display(path))
                .help("check the path and its permissions"),
            );
            return Vec::new();
        }
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            let json = p.extension().is_some_and(|e| {
                let e = e.to_string_lossy().to_lowercase();
                matches!(e.as_str(), "json" | "jsonl" | "ndjson")
            });
            json && p.is_file() && !name.is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        problems.push(
            Diagnostic::new(
                Code::Io,
                format!(
                    "the folder `{}` holds no `.json`, `.jsonl` or `.ndjson` file",
                    display(path)
                ),
            )
            .path(display(path))
            .help("give the folder the export was saved to, or its files"),
        );
    }
    files
}

/// The path of `target` as written in a file in the directory `dir`: relative to `dir`, with
/// `/` between components (the absolute path when there is no relative one).
fn relative_path(dir: &Path, target: &Path) -> String {
    let (Some(dir), Some(target)) = (absolute(dir), absolute(target)) else {
        return display(target).replace('\\', "/");
    };
    let common = dir
        .components()
        .zip(target.components())
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return display(&target);
    }
    let mut parts: Vec<String> = vec!["..".to_string(); dir.components().count() - common];
    parts.extend(
        target
            .components()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// `path` made absolute, through the real path of the longest part of it that exists, so
/// that symbolic links and `..` are resolved as the file system resolves them.
fn absolute(path: &Path) -> Option<PathBuf> {
    let path = std::path::absolute(path).ok()?;
    let mut missing = Vec::new();
    let mut existing = path.as_path();
    loop {
        if let Ok(real) = std::fs::canonicalize(existing) {
            let mut out = real;
            for part in missing.iter().rev() {
                match part {
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    std::path::Component::CurDir => {}
                    c => out.push(c.as_os_str()),
                }
            }
            return Some(out);
        }
        let mut components = existing.components();
        missing.push(components.next_back()?);
        existing = components.as_path();
    }
}

/// Says whether `name` is an identifier, reporting it when not.
fn valid_name(name: &str, diagnostics: &DiagnosticArgs) -> bool {
    let fixed = import::ident(name);
    if fixed == name {
        return true;
    }
    let d = Diagnostic::new(
        Code::InvalidSetting,
        format!("`{name}` is not an identifier"),
    )
    .help(format!(
        "use lowercase letters, digits and `_`, e.g. `{fixed}`"
    ));
    diagnostics.report(&[d], &SourceMap::new());
    false
}

fn goqa(args: GoqaArgs) -> bool {
    if !valid_name(&args.name, &args.out.diagnostics) {
        return false;
    }
    let bytes = match read_input(&args.input) {
        Ok(b) => b,
        Err(d) => {
            args.out.diagnostics.report(&[d], &SourceMap::new());
            return false;
        }
    };
    let settings = import::goqa::Settings {
        name: args.name.clone(),
        persona: args.persona.clone(),
    };
    let imported = import::goqa::import_goqa(
        &bytes,
        &display(&args.input),
        &settings,
        &import::Options {
            strict: args.out.strict,
        },
    );
    write_all(&args.out.output, imported, &args.out.diagnostics)
}

fn navab(args: NavabArgs) -> bool {
    if !valid_name(&args.name, &args.out.diagnostics) {
        return false;
    }
    let mut read = Vec::new();
    let mut problems = Vec::new();
    for path in &args.inputs {
        match read_input(path) {
            Ok(bytes) => read.push((display(path), bytes)),
            Err(d) => problems.push(d),
        }
    }
    if !problems.is_empty() {
        args.out.diagnostics.report(&problems, &SourceMap::new());
        return false;
    }
    let inputs: Vec<import::navab::Input<'_>> = read
        .iter()
        .map(|(name, bytes)| import::navab::Input {
            name: name.clone(),
            bytes,
        })
        .collect();
    let settings = import::navab::Settings {
        name: args.name.clone(),
        country: args.country.clone(),
    };
    let imported = import::navab::import_navab(
        &inputs,
        &settings,
        &import::Options {
            strict: args.out.strict,
        },
    );
    write_all(&args.out.output, imported, &args.out.diagnostics)
}

fn principles(args: PrinciplesArgs) -> bool {
    let sources = SourceMap::new();
    let bytes = match read_input(&args.input) {
        Ok(b) => b,
        Err(d) => {
            args.out.diagnostics.report(&[d], &sources);
            return false;
        }
    };
    if quandary::import::ident(&args.name) != args.name {
        let d = Diagnostic::new(
            Code::InvalidSetting,
            format!("`{}` is not an identifier", args.name),
        )
        .help(format!(
            "use lowercase letters, digits and `_`, e.g. `{}`",
            quandary::import::ident(&args.name)
        ));
        args.out.diagnostics.report(&[d], &sources);
        return false;
    }
    // The file name only, so the output does not depend on where the input lies.
    let name = args.input.file_name().map_or_else(
        || display(&args.input),
        |n| n.to_string_lossy().into_owned(),
    );
    let label = args
        .label
        .clone()
        .unwrap_or_else(|| args.name.replace('_', " "));
    let imported = import::principles::import_principles(
        &bytes,
        &name,
        &args.name,
        &label,
        &import::Options {
            strict: args.out.strict,
        },
    );
    write_all(&args.out.output, imported, &args.out.diagnostics)
}

fn daily_dilemmas(args: DailyDilemmasArgs) -> bool {
    let sources = SourceMap::new();
    let fail = |diagnostics: Vec<Diagnostic>| {
        args.out.diagnostics.report(&diagnostics, &sources);
        false
    };

    // Read every input, reporting all that cannot be read.
    let mut read = Vec::new();
    let mut problems = Vec::new();
    for path in &args.inputs {
        match read_input(path) {
            Ok(bytes) => read.push((path, bytes)),
            Err(d) => problems.push(d),
        }
    }
    if !problems.is_empty() {
        return fail(problems);
    }

    // The label config: the `.json` input, if any.
    let (configs, tables): (Vec<_>, Vec<_>) = read.into_iter().partition(|(path, _)| {
        path.extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    });
    let mut labels: Option<(String, String)> = None;
    for (path, bytes) in configs {
        let name = display(path);
        if let Some((first, _)) = &labels {
            return fail(vec![
                Diagnostic::new(
                    Code::Io,
                    format!("two label configs are given: `{first}` and `{name}`"),
                )
                .path(name)
                .help("pass one `.json` label config, or none to use the built-in one"),
            ]);
        }
        match String::from_utf8(bytes) {
            Ok(text) => labels = Some((name, text)),
            Err(_) => {
                return fail(vec![
                    Diagnostic::new(Code::NotUtf8, format!("`{name}` is not UTF-8 text"))
                        .path(name)
                        .help("save the file as UTF-8"),
                ]);
            }
        }
    }
    let theories = match daily_dilemmas::theories(labels.as_ref().map(|(_, t)| t.as_str())) {
        Ok(t) => t,
        Err(why) => {
            let name = labels
                .as_ref()
                .map_or("the built-in label config", |(n, _)| n);
            return fail(vec![import::file_error(name, why)]);
        }
    };

    // The values file: the CSV whose header names the value and theory columns; the
    // dilemmas file: the one with the columns of actions.
    let mut values: Option<(String, Vec<u8>)> = None;
    let mut dilemmas: Option<(String, Vec<u8>)> = None;
    for (path, bytes) in tables {
        let name = display(path);
        let header = csv_header(&bytes);
        if daily_dilemmas::dilemmas::is_dilemmas_header(&header) {
            if let Some((first, _)) = &dilemmas {
                return fail(vec![
                    Diagnostic::new(
                        Code::Io,
                        format!("two dilemmas files are given: `{first}` and `{name}`"),
                    )
                    .path(name)
                    .help("import one dilemmas file at a time"),
                ]);
            }
            dilemmas = Some((name, bytes));
            continue;
        }
        if daily_dilemmas::dilemmas::is_dilemma_level_header(&header) {
            let columns = quandary::suggest::code_list(daily_dilemmas::dilemmas::REQUIRED);
            return fail(vec![
                Diagnostic::new(
                    Code::Io,
                    format!(
                        "`{name}` holds the dilemmas without their actions (its header is `{}`): \
                         a scenario needs the two actions and the values each upholds",
                        header.join(",")
                    ),
                )
                .path(name)
                .help(format!(
                    "give the per-action file instead (`dilemmas_with_detail_by_action*.csv`, \
                     with the columns {columns}), or the values file alone for the frameworks"
                )),
            ]);
        }
        if !daily_dilemmas::is_values_header(&header, &theories) {
            let columns: Vec<&str> = std::iter::once(daily_dilemmas::VALUE_COLUMN)
                .chain(theories.iter().map(|t| t.key.as_str()))
                .collect();
            return fail(vec![
                Diagnostic::new(
                    Code::Io,
                    format!(
                        "`{name}` is not a DailyDilemmas values file: its header is `{}`",
                        header.join(",")
                    ),
                )
                .path(name)
                .help(format!(
                    "the values file is a CSV with the columns {} (in any order and case); \
                     the dilemmas file one with the columns `idx`, `dilemma_situation`, \
                     `action_type` and `action`; a label config is a `.json` file",
                    quandary::suggest::code_list(&columns)
                )),
            ]);
        }
        if let Some((first, _)) = &values {
            return fail(vec![
                Diagnostic::new(
                    Code::Io,
                    format!("two values files are given: `{first}` and `{name}`"),
                )
                .path(name)
                .help("import one values file at a time"),
            ]);
        }
        values = Some((name, bytes));
    }
    let Some((values_name, values_bytes)) = values else {
        return fail(vec![
            Diagnostic::new(Code::Io, "no values file among the inputs")
                .help("pass the data set's values.csv (the label config alone is not enough)"),
        ]);
    };

    let mut names = daily_dilemmas::Names {
        values: values_name,
        ..Default::default()
    };
    if let Some((name, _)) = &labels {
        names.labels = name.clone();
    }
    if let Some((name, _)) = &dilemmas {
        names.dilemmas = name.clone();
    }
    let imported = daily_dilemmas::import(
        &values_bytes,
        labels.as_ref().map(|(_, t)| t.as_str()),
        dilemmas.as_ref().map(|(_, b)| b.as_slice()),
        &names,
        &args.out.output,
        &import::Options {
            strict: args.out.strict,
        },
    );
    write_all(&args.out.output, imported, &args.out.diagnostics)
}

/// Writes the imported files into `dir`, all or none, then reports the diagnostics and
/// prints the path of each file written. Says whether the import succeeded.
fn write_all(dir: &Path, imported: Imported, diagnostics: &DiagnosticArgs) -> bool {
    let sources = SourceMap::new();
    let mut problems = imported.diagnostics;
    if imported.files.is_empty() {
        diagnostics.report(&problems, &sources);
        return false;
    }
    let written = match write_files(dir, &imported.files) {
        Ok(written) => written,
        Err(d) => {
            problems.push(d);
            diagnostics.report(&problems, &sources);
            return false;
        }
    };
    let failed = diagnostics.report(&problems, &sources);
    for line in &imported.summary {
        eprintln!("{line}");
    }
    let listing: String = written
        .iter()
        .map(|p| format!("{}\n", p.display()))
        .collect();
    super::print(&listing) && !failed
}

/// Writes every file (each as [`quandary::output`] writes one) and puts them in place only
/// once all are written, so a failure leaves no half-written file behind.
fn write_files(dir: &Path, files: &[(PathBuf, String)]) -> Result<Vec<PathBuf>, Diagnostic> {
    let create_dir = |dir: &Path| {
        std::fs::create_dir_all(dir).map_err(|e| {
            let name = display(dir);
            Diagnostic::new(
                Code::Io,
                format!(
                    "cannot create the directory `{name}`: {}",
                    e.to_string().to_lowercase()
                ),
            )
            .path(name)
        })
    };
    create_dir(dir)?;
    let mut outputs = Vec::with_capacity(files.len());
    for (relative, text) in files {
        let target = dir.join(relative);
        if let Some(parent) = target.parent() {
            create_dir(parent)?;
        }
        let mut output = quandary::output::Output::create(&target)?;
        quandary::output::write_text(output.writer(), text, &format!("`{}`", display(&target)))?;
        outputs.push(output);
    }
    outputs.into_iter().map(|o| o.commit()).collect()
}

/// Reads an input file, or says why it cannot be read.
fn read_input(path: &Path) -> Result<Vec<u8>, Diagnostic> {
    let name = display(path);
    let why = match quandary::input::read(path, quandary::input::MAX_DATA) {
        Ok(bytes) => return Ok(bytes),
        Err(why) => why,
    };
    Err(
        Diagnostic::new(Code::Io, format!("cannot read `{name}`: {why}"))
            .path(name)
            .help("check the path"),
    )
}

/// The first record of a CSV file, its fields decoded leniently.
fn csv_header(bytes: &[u8]) -> Vec<String> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    match reader.byte_records().next() {
        Some(Ok(record)) => record
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect(),
        _ => Vec::new(),
    }
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
