//! The requests: diagnostics, quick fixes, definitions, references, hover, completion,
//! outline, formatting, rename and semantic tokens.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types as lsp;
use lsp_types::request::{self as req, Request as _};
use serde_json::Value as Json;

use super::analysis::{Analysis, Occurrence, Symbol, Target, describe_item, key};
use super::text::{Lines, uri_to_path, word_at};
use super::{Failure, Server};
use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::model::{Endpoint, Framework, ItemId, ModuleId, ValueId};
use crate::source::{FileId, SourceMap};
use crate::syntax::{RESERVED, ast};

/// The semantic token types, in legend order.
const TOKEN_TYPES: &[lsp::SemanticTokenType] = &[
    lsp::SemanticTokenType::NAMESPACE,
    lsp::SemanticTokenType::ENUM_MEMBER,
    lsp::SemanticTokenType::FUNCTION,
    lsp::SemanticTokenType::CLASS,
    lsp::SemanticTokenType::PARAMETER,
    lsp::SemanticTokenType::COMMENT,
];

pub(super) fn initialize_result() -> Json {
    let capabilities = lsp::ServerCapabilities {
        text_document_sync: Some(lsp::TextDocumentSyncCapability::Kind(
            lsp::TextDocumentSyncKind::INCREMENTAL,
        )),
        hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
        definition_provider: Some(lsp::OneOf::Left(true)),
        references_provider: Some(lsp::OneOf::Left(true)),
        document_symbol_provider: Some(lsp::OneOf::Left(true)),
        document_formatting_provider: Some(lsp::OneOf::Left(true)),
        rename_provider: Some(lsp::OneOf::Right(lsp::RenameOptions {
            prepare_provider: Some(true),
            work_done_progress_options: Default::default(),
        })),
        code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
            lsp::CodeActionOptions {
                code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
                ..Default::default()
            },
        )),
        completion_provider: Some(lsp::CompletionOptions {
            trigger_characters: Some(vec![".".into(), "{".into(), " ".into()]),
            ..Default::default()
        }),
        semantic_tokens_provider: Some(
            lsp::SemanticTokensServerCapabilities::SemanticTokensOptions(
                lsp::SemanticTokensOptions {
                    legend: lsp::SemanticTokensLegend {
                        token_types: TOKEN_TYPES.to_vec(),
                        token_modifiers: vec![lsp::SemanticTokenModifier::DECLARATION],
                    },
                    full: Some(lsp::SemanticTokensFullOptions::Bool(true)),
                    range: None,
                    work_done_progress_options: Default::default(),
                },
            ),
        ),
        ..Default::default()
    };
    serde_json::json!({
        "capabilities": capabilities,
        "serverInfo": {"name": "quandary", "version": env!("CARGO_PKG_VERSION")},
    })
}

fn params<P: serde::de::DeserializeOwned>(params: Json) -> Result<P, Failure> {
    serde_json::from_value(params).map_err(|e| Failure::params(format!("invalid parameters: {e}")))
}

fn to_json(value: impl serde::Serialize) -> Result<Json, Failure> {
    serde_json::to_value(value).map_err(|e| Failure::failed(e.to_string()))
}

pub(super) fn handle(server: &mut Server, method: &str, p: Json) -> Result<Json, Failure> {
    match method {
        req::HoverRequest::METHOD => to_json(hover(server, params(p)?)),
        req::GotoDefinition::METHOD => to_json(definition(server, params(p)?)),
        req::References::METHOD => to_json(references(server, params(p)?)),
        req::Completion::METHOD => to_json(completion(server, params(p)?)),
        req::DocumentSymbolRequest::METHOD => to_json(symbols(server, params(p)?)),
        req::PrepareRenameRequest::METHOD => to_json(prepare_rename(server, params(p)?)),
        req::Rename::METHOD => to_json(rename(server, params(p)?)?),
        req::CodeActionRequest::METHOD => to_json(code_actions(server, params(p)?)),
        req::SemanticTokensFullRequest::METHOD => to_json(semantic_tokens(server, params(p)?)),
        _ => Err(Failure {
            code: lsp_server::ErrorCode::MethodNotFound,
            message: format!("unknown method `{method}`"),
        }),
    }
}

/// A file of an analysis with its line index.
struct FileLines<'a> {
    sources: &'a SourceMap,
    cache: HashMap<FileId, Lines<'a>>,
}

impl<'a> FileLines<'a> {
    fn new(sources: &'a SourceMap) -> Self {
        FileLines {
            sources,
            cache: HashMap::new(),
        }
    }

    fn get(&mut self, file: FileId) -> &Lines<'a> {
        let sources = self.sources;
        self.cache.entry(file).or_insert_with(|| {
            let f = sources.get(file);
            Lines::new(f.text(), f.had_bom())
        })
    }
}

/// The analysis that covers the document at `uri`: its own, else any that read it.
fn analysis_for(server: &Server, uri: &lsp::Uri) -> Option<(Arc<Analysis>, FileId)> {
    let k = key(&uri_to_path(uri));
    if let Some(a) = server.analyses.get(&k)
        && let Some(file) = a.file(&k)
    {
        return Some((Arc::clone(a), file));
    }
    let mut roots: Vec<&PathBuf> = server.analyses.keys().collect();
    roots.sort();
    roots.into_iter().find_map(|r| {
        let a = &server.analyses[r];
        a.file(&k).map(|f| (Arc::clone(a), f))
    })
}

/// The analysis, file and byte offset of a position.
fn locate(
    server: &Server,
    at: &lsp::TextDocumentPositionParams,
) -> Option<(Arc<Analysis>, FileId, usize)> {
    let (a, file) = analysis_for(server, &at.text_document.uri)?;
    let f = a.loaded.sources.get(file);
    let offset = Lines::new(f.text(), f.had_bom()).offset(at.position);
    Some((a, file, offset))
}

// ---------------------------------------------------------------------------------------
// Diagnostics and quick fixes

pub(super) fn diagnostics(a: &Analysis, server: &Server) -> Vec<lsp::Diagnostic> {
    let Some(file) = a.file(&a.root) else {
        return Vec::new();
    };
    let mut lines = FileLines::new(&a.loaded.sources);
    let mut out: Vec<lsp::Diagnostic> = a
        .diagnostics_of(Some(file))
        .map(|d| to_lsp(d, file, &mut lines, a, server))
        .collect();
    out.extend(imported_errors(a, file, &mut lines));
    out
}

/// The errors of imported files, one diagnostic on each `use` that leads to them: the
/// importer cannot be trusted while they stand.
fn imported_errors(a: &Analysis, file: FileId, lines: &mut FileLines) -> Vec<lsp::Diagnostic> {
    let f = a.framework();
    let Some(root) = a.modules[file.index()] else {
        return Vec::new();
    };
    let Some(tree) = a.trees.get(root.index()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for item in &tree.items {
        let ast::Item::Use(u) = item else {
            continue;
        };
        // The files reached through this import (the file itself even when it could not
        // be read or parsed into a module).
        let mut reached: Vec<ModuleId> = f
            .module(root)
            .imports
            .get(&u.namespace.name)
            .copied()
            .into_iter()
            .collect();
        let mut i = 0;
        while i < reached.len() {
            for &m in f.module(reached[i]).imports.values() {
                if m != root && !reached.contains(&m) {
                    reached.push(m);
                }
            }
            i += 1;
        }
        let dir = a
            .loaded
            .sources
            .get(file)
            .path()
            .and_then(Path::parent)
            .unwrap_or(Path::new(""));
        let target = key(&dir.join(&u.path.value));
        let mut files: Vec<FileId> = reached.iter().map(|m| f.module(*m).file).collect();
        files.extend(a.file(&target));
        let errors: Vec<&Diagnostic> = a
            .loaded
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .filter(|d| {
                d.primary_span()
                    .and_then(|s| s.file)
                    .is_some_and(|x| x != file && files.contains(&x))
            })
            .collect();
        let Some(first) = errors.first() else {
            continue;
        };
        let where_ = first
            .primary_span()
            .and_then(|s| s.file)
            .map(|x| {
                let source = a.loaded.sources.get(x);
                let (line, column) =
                    source.line_col(first.primary_span().map_or(0, |s| s.start as usize));
                format!("{}:{line}:{column}", shown(a, file, x))
            })
            .unwrap_or_default();
        let count = errors.len();
        out.push(lsp::Diagnostic {
            range: lines
                .get(file)
                .range(u.path.span.start as usize, u.path.span.end as usize),
            severity: Some(lsp::DiagnosticSeverity::ERROR),
            code: Some(lsp::NumberOrString::String(first.code.as_str().into())),
            source: Some("quandary".into()),
            message: format!(
                "the imported files have {count} error{}; the first, at {where_}: {}",
                if count == 1 { "" } else { "s" },
                first.message
            ),
            ..Default::default()
        });
    }
    out
}

fn to_lsp(
    d: &Diagnostic,
    file: FileId,
    lines: &mut FileLines,
    a: &Analysis,
    server: &Server,
) -> lsp::Diagnostic {
    let range = match d.primary_span() {
        Some(s) if s.file == Some(file) => lines.get(file).range(s.start as usize, s.end as usize),
        _ => lsp::Range::default(),
    };
    let mut message = d.message.clone();
    if let Some(first) = d.labels.first()
        && !first.message.is_empty()
    {
        let _ = write!(message, ": {}", first.message);
    }
    if let Some(help) = &d.help {
        let _ = write!(message, "\nhelp: {help}");
    }
    let related: Vec<lsp::DiagnosticRelatedInformation> = d
        .labels
        .iter()
        .skip(1)
        .filter_map(|l| {
            let f = l.span.file?;
            let uri = server.uri_of(&a.key_of(f))?;
            Some(lsp::DiagnosticRelatedInformation {
                location: lsp::Location::new(
                    uri,
                    lines
                        .get(f)
                        .range(l.span.start as usize, l.span.end as usize),
                ),
                message: if l.message.is_empty() {
                    "here".into()
                } else {
                    l.message.clone()
                },
            })
        })
        .collect();
    lsp::Diagnostic {
        range,
        severity: Some(match d.severity {
            Severity::Error => lsp::DiagnosticSeverity::ERROR,
            Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        }),
        code: Some(lsp::NumberOrString::String(d.code.as_str().into())),
        source: Some("quandary".into()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        ..Default::default()
    }
}

/// The replacement a help line proposes: `did you mean `x`?`.
fn suggestion(help: &str) -> Option<&str> {
    let rest = help.strip_prefix("did you mean `")?;
    let end = rest.find('`')?;
    Some(&rest[..end])
}

// `WorkspaceEdit::changes` is keyed by `Uri`, whose hash is that of its text.
#[allow(clippy::mutable_key_type)]
fn code_actions(server: &Server, p: lsp::CodeActionParams) -> Vec<lsp::CodeActionOrCommand> {
    let Some((a, file)) = analysis_for(server, &p.text_document.uri) else {
        return Vec::new();
    };
    let text = a.loaded.sources.get(file).text();
    let mut lines = FileLines::new(&a.loaded.sources);
    let mut actions = Vec::new();
    for d in a.diagnostics_of(Some(file)) {
        let Some(span) = d.primary_span() else {
            continue;
        };
        let Some(mut replacement) = d.help.as_deref().and_then(suggestion) else {
            continue;
        };
        let range = lines
            .get(file)
            .range(span.start as usize, span.end as usize);
        if range.end < p.range.start || p.range.end < range.start {
            continue;
        }
        // The label covers the id of `ns.id`: keep the namespace as written.
        if let Some((ns, id)) = replacement.split_once('.')
            && text[..span.start as usize].ends_with(&format!("{ns}."))
        {
            replacement = id;
        }
        let Some(original) = text.get(span.range()) else {
            continue;
        };
        if original == replacement {
            continue;
        }
        let edit = lsp::TextEdit::new(range, replacement.to_string());
        let mut changes = HashMap::new();
        changes.insert(p.text_document.uri.clone(), vec![edit]);
        let diagnostic = to_lsp(d, file, &mut lines, &a, server);
        actions.push(lsp::CodeActionOrCommand::CodeAction(lsp::CodeAction {
            title: format!("Replace `{original}` with `{replacement}`"),
            kind: Some(lsp::CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![diagnostic]),
            edit: Some(lsp::WorkspaceEdit::new(changes)),
            is_preferred: Some(true),
            ..Default::default()
        }));
    }
    actions
}

// ---------------------------------------------------------------------------------------
// Definitions and references

fn definition(
    server: &Server,
    p: lsp::GotoDefinitionParams,
) -> Option<lsp::GotoDefinitionResponse> {
    let (a, file, offset) = locate(server, &p.text_document_position_params)?;
    let o = *a.at(file, offset)?;
    let location = definition_of(server, &a, o.target)?;
    Some(lsp::GotoDefinitionResponse::Scalar(location))
}

fn definition_of(server: &Server, a: &Analysis, target: Target) -> Option<lsp::Location> {
    if let Target::Module(m) = target {
        let f = a.framework().modules.get(m.index())?.file;
        let uri = server.uri_of(&a.key_of(f))?;
        return Some(lsp::Location::new(uri, lsp::Range::default()));
    }
    let &(file, start, end) = a.defs.get(&target)?;
    let uri = server.uri_of(&a.key_of(file))?;
    let f = a.loaded.sources.get(file);
    let range = Lines::new(f.text(), f.had_bom()).range(start as usize, end as usize);
    Some(lsp::Location::new(uri, range))
}

/// Every place the symbol at a position is named, across the analyses of all open
/// documents: `(uri, range, whether it is the definition)`, deduplicated and sorted.
/// The most `.qd` files of the workspace looked at by a search for references.
const MAX_WORKSPACE_FILES: usize = 2_000;

/// The `.qd` files under the workspace folder (at most [`MAX_WORKSPACE_FILES`], hidden
/// folders, `target` and `node_modules` left out, in name order) that no analysis loaded
/// and whose text holds `name`: each analysed now, as if opened, to find the references it
/// makes. Files are read within the source limit; a file that cannot be read is passed over.
fn workspace_analyses(server: &Server, name: &str) -> Vec<Analysis> {
    let Some(root) = &server.workspace else {
        return Vec::new();
    };
    let loaded: std::collections::HashSet<&PathBuf> = server
        .analyses
        .values()
        .flat_map(|a| a.keys.iter())
        .collect();
    let mut files = Vec::new();
    let mut folders = vec![root.clone()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if !file_name.starts_with('.')
                    && file_name != "target"
                    && file_name != "node_modules"
                {
                    folders.push(entry.path());
                }
            } else if kind.is_file()
                && file_name.ends_with(".qd")
                && files.len() < MAX_WORKSPACE_FILES
            {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    let overlay: crate::lsp::analysis::Overlay = server
        .docs
        .iter()
        .map(|(k, d)| (k.clone(), Arc::clone(&d.text)))
        .collect();
    files
        .into_iter()
        .filter(|path| !loaded.contains(&key(path)))
        .filter(|path| {
            crate::input::read(path, crate::input::MAX_SOURCE)
                .is_ok_and(|bytes| bytes.windows(name.len()).any(|w| w == name.as_bytes()))
        })
        .map(|path| Analysis::new(key(&path), &path, 0, &overlay))
        .collect()
}

fn occurrences_of(server: &Server, symbol: &Symbol) -> Vec<(lsp::Uri, lsp::Range, bool)> {
    let mut found: BTreeMap<(PathBuf, u32, u32), (lsp::Uri, lsp::Range, bool)> = BTreeMap::new();
    let mut roots: Vec<&PathBuf> = server.analyses.keys().collect();
    roots.sort();
    let extra = match symbol {
        Symbol::Item { id, .. } if !id.is_empty() => workspace_analyses(server, id),
        _ => Vec::new(),
    };
    let analyses = roots
        .into_iter()
        .map(|root| (root, &*server.analyses[root]))
        .chain(extra.iter().map(|a| (&a.root, a)));
    for (root, a) in analyses {
        let Some(target) = a.target(symbol) else {
            continue;
        };
        let mut lines = FileLines::new(&a.loaded.sources);
        for o in a.occurrences.iter().filter(|o| o.target == target) {
            let k = a.key_of(o.file);
            // An open document's places come from its own analysis when it has one.
            if &k != root && server.analyses.contains_key(&k) {
                continue;
            }
            let Some(uri) = server.uri_of(&k) else {
                continue;
            };
            let range = lines.get(o.file).range(o.start as usize, o.end as usize);
            found
                .entry((k, o.start, o.end))
                .or_insert((uri, range, o.def));
        }
    }
    found.into_values().collect()
}

fn references(server: &Server, p: lsp::ReferenceParams) -> Option<Vec<lsp::Location>> {
    let (a, file, offset) = locate(server, &p.text_document_position)?;
    let o = *a.at(file, offset)?;
    let symbol = a.symbol(o.target)?;
    Some(
        occurrences_of(server, &symbol)
            .into_iter()
            .filter(|(_, _, def)| p.context.include_declaration || !def)
            .map(|(uri, range, _)| lsp::Location::new(uri, range))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------
// Rename

fn renamable(a: &Analysis, o: &Occurrence) -> bool {
    match o.target {
        Target::Item(_) | Target::Variable(..) => {
            // Only names the files own: not a `use` path.
            let text = a.loaded.sources.get(o.file).text();
            text.get(o.start as usize..o.end as usize)
                .is_some_and(is_identifier)
        }
        Target::Module(_) => false,
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn prepare_rename(
    server: &Server,
    p: lsp::TextDocumentPositionParams,
) -> Option<lsp::PrepareRenameResponse> {
    let (a, file, offset) = locate(server, &p)?;
    let o = a.at(file, offset)?;
    if !renamable(&a, o) {
        return None;
    }
    let f = a.loaded.sources.get(file);
    let range = Lines::new(f.text(), f.had_bom()).range(o.start as usize, o.end as usize);
    Some(lsp::PrepareRenameResponse::Range(range))
}

#[allow(clippy::mutable_key_type)] // As in `code_actions`.
fn rename(server: &Server, p: lsp::RenameParams) -> Result<Option<lsp::WorkspaceEdit>, Failure> {
    let Some((a, file, offset)) = locate(server, &p.text_document_position) else {
        return Ok(None);
    };
    let Some(o) = a.at(file, offset) else {
        return Ok(None);
    };
    if !renamable(&a, o) {
        return Err(Failure::failed(
            "only the id of an item or a variable can be renamed",
        ));
    }
    let name = p.new_name.trim();
    if !is_identifier(name) {
        return Err(Failure::params(format!(
            "`{name}` is not an identifier (ASCII letters, digits and `_`, not starting with a digit)"
        )));
    }
    if let Target::Item(item) = o.target {
        let (module, sort, _) = describe_item(a.framework(), item);
        if sort == "value" && RESERVED.contains(&name) {
            return Err(Failure::params(format!(
                "`{name}` is a reserved word: a value named so could not always be referenced"
            )));
        }
        if a.framework().module(module).items.contains_key(name) {
            return Err(Failure::params(format!(
                "`{name}` is already defined in that file"
            )));
        }
    }
    let Some(symbol) = a.symbol(o.target) else {
        return Ok(None);
    };
    let mut changes: HashMap<lsp::Uri, Vec<lsp::TextEdit>> = HashMap::new();
    for (uri, range, _) in occurrences_of(server, &symbol) {
        changes
            .entry(uri)
            .or_default()
            .push(lsp::TextEdit::new(range, name.to_string()));
    }
    Ok(Some(lsp::WorkspaceEdit::new(changes)))
}

// ---------------------------------------------------------------------------------------
// Hover

fn hover(server: &Server, p: lsp::HoverParams) -> Option<lsp::Hover> {
    let (a, file, offset) = locate(server, &p.text_document_position_params)?;
    let mut sections: Vec<String> = Vec::new();
    let mut range = None;
    let source = a.loaded.sources.get(file);
    let lines = Lines::new(source.text(), source.had_bom());
    for d in a.diagnostics_of(Some(file)) {
        let Some(span) = d.primary_span() else {
            continue;
        };
        if (span.start as usize) <= offset && offset <= span.end as usize {
            sections.push(explain(d));
            range = Some(lines.range(span.start as usize, span.end as usize));
        }
    }
    if let Some(o) = a.at(file, offset) {
        range = Some(lines.range(o.start as usize, o.end as usize));
        let text = describe(&a, o.target);
        if !text.is_empty() {
            sections.push(text);
        }
    }
    if sections.is_empty() {
        return None;
    }
    Some(lsp::Hover {
        contents: lsp::HoverContents::Markup(lsp::MarkupContent {
            kind: lsp::MarkupKind::Markdown,
            value: sections.join("\n\n---\n\n"),
        }),
        range,
    })
}

/// A diagnostic and what its code means.
fn explain(d: &Diagnostic) -> String {
    let code: Code = d.code;
    let mut s = format!(
        "**{}** ({}): {}\n\n{}",
        code.as_str(),
        code.severity(),
        code.summary(),
        d.message
    );
    if let Some(help) = &d.help {
        let _ = write!(s, "\n\nhelp: {help}");
    }
    s
}

/// The name of `file` as seen from `from`'s folder (the path as given when it is elsewhere).
fn shown(a: &Analysis, from: FileId, file: FileId) -> String {
    let target = a.loaded.sources.get(file);
    let dir = a.loaded.sources.get(from).path().and_then(Path::parent);
    match (dir, target.path()) {
        (Some(dir), Some(path)) => match path.strip_prefix(dir) {
            Ok(rel) => rel.to_string_lossy().into_owned(),
            Err(_) => target.name().to_string(),
        },
        _ => target.name().to_string(),
    }
}

fn describe(a: &Analysis, target: Target) -> String {
    let f = a.framework();
    match target {
        Target::Item(ItemId::Value(v)) => describe_value(f, v),
        Target::Item(item) => describe_other(f, item),
        Target::Module(m) => {
            let module = f.module(m);
            let root = a.file(&a.root).unwrap_or(module.file);
            let mut s = format!(
                "**{}** — file `{}`",
                module.display_id(),
                shown(a, root, module.file)
            );
            if let Some(h) = &module.header
                && let Some(label) = &h.label
            {
                let _ = write!(s, "\n\n{label}");
            }
            let _ = write!(
                s,
                "\n\n{} values, {} rules, {} scenarios, {} suites",
                module.values.len(),
                module.rules.len(),
                module.scenarios.len(),
                module.suites.len()
            );
            s
        }
        Target::Variable(file, start) => {
            let source = a.loaded.sources.get(file);
            let (line, _) = source.line_col(start as usize);
            let binding = source.line_text(line).trim();
            let name =
                word_at(source.text(), start as usize).map_or("", |(s, e)| &source.text()[s..e]);
            format!("variable `{name}`, bound by\n\n```quandary\n{binding}\n```")
        }
    }
}

fn describe_value(f: &Framework, id: ValueId) -> String {
    let v = f.value(id);
    let module = f.module(v.module);
    let level = module.levels.get(v.level).map_or("value", String::as_str);
    let mut s = format!(
        "**{}** `{}` — {level}",
        v.label.as_deref().unwrap_or(&v.id),
        f.qualified_value(id)
    );
    if let Some(d) = &v.describe {
        let _ = write!(s, "\n\n{d}");
    }
    if !v.translations.is_empty() {
        s.push_str("\n\n");
        let list: Vec<String> = v
            .translations
            .iter()
            .map(|(tag, t)| format!("{tag}: {t}"))
            .collect();
        s.push_str(&list.join(" · "));
    }
    let mut path: Vec<String> = f
        .ancestors(id)
        .map(|a| f.value_label(a).to_string())
        .collect();
    path.reverse();
    if !path.is_empty() {
        path.push(format!("**{}**", f.value_label(id)));
        let _ = write!(s, "\n\n{}", path.join(" › "));
    }
    if !v.children.is_empty() {
        let children: Vec<String> = v
            .children
            .iter()
            .map(|c| format!("`{}`", f.value(*c).id))
            .collect();
        let _ = write!(s, "\n\nbelow: {}", children.join(", "));
    }
    let relations: Vec<String> = f
        .relations
        .iter()
        .filter(|r| r.left == Endpoint::Value(id) || r.right == Endpoint::Value(id))
        .map(|r| {
            let name = |e: Endpoint| match e {
                Endpoint::Value(x) => f.value_name(x, v.module),
                Endpoint::Rule(x) => f.qualified_rule(x),
            };
            let mut line = format!(
                "- {} `{}` {} `{}`",
                r.kind.keyword(),
                name(r.left),
                r.kind.operator(),
                name(r.right)
            );
            if let Some(c) = &r.context {
                let _ = write!(line, " {} {c}", r.kind.context_word());
            }
            line
        })
        .collect();
    if !relations.is_empty() {
        let _ = write!(s, "\n\n**relations**\n{}", relations.join("\n"));
    }
    const SHOWN: usize = 10;
    let mut upheld = Vec::new();
    let mut violated = Vec::new();
    let (mut upheld_count, mut violated_count) = (0usize, 0usize);
    for (i, r) in f.rules.iter().enumerate() {
        let name = || {
            let q = f.qualified_rule(crate::model::RuleId::from_index(i));
            format!("- `{q}` {}", r.text)
        };
        if r.upholds.contains(&id) {
            upheld_count += 1;
            if upheld.len() < SHOWN {
                upheld.push(name());
            }
        }
        if r.violates.contains(&id) {
            violated_count += 1;
            if violated.len() < SHOWN {
                violated.push(name());
            }
        }
    }
    for (title, list, count) in [
        ("upheld by", upheld, upheld_count),
        ("violated by", violated, violated_count),
    ] {
        if count > 0 {
            let _ = write!(
                s,
                "\n\n**{title}** {count} rule{}\n{}",
                if count == 1 { "" } else { "s" },
                list.join("\n")
            );
            if count > list.len() {
                let _ = write!(s, "\n- … and {} more", count - list.len());
            }
        }
    }
    s
}

fn describe_other(f: &Framework, item: ItemId) -> String {
    let (module, sort, id) = describe_item(f, item);
    let mut s = format!("{sort} `{}.{id}`", f.module(module).display_id());
    let mut add = |label: Option<&str>, describe: Option<&str>| {
        if let Some(l) = label {
            s = format!("**{l}** {s}");
        }
        if let Some(d) = describe {
            let _ = write!(s, "\n\n{d}");
        }
    };
    match item {
        ItemId::Rule(r) => {
            let r = f.rule(r);
            add(None, Some(&r.text));
            let names = |vs: &[ValueId]| -> String {
                vs.iter()
                    .map(|v| format!("`{}`", f.value_name(*v, r.module)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if !r.upholds.is_empty() {
                let _ = write!(s, "\n\nupholds {}", names(&r.upholds));
            }
            if !r.violates.is_empty() {
                let _ = write!(s, "\n\nviolates {}", names(&r.violates));
            }
            if !r.contexts.is_empty() {
                let _ = write!(s, "\n\ncontext {}", r.contexts.join(", "));
            }
            if let Some(d) = &r.describe {
                let _ = write!(s, "\n\n{d}");
            }
        }
        ItemId::Profile(p) => {
            let p = &f.profiles[p.index()];
            add(p.label.as_deref(), p.describe.as_deref());
            let _ = write!(s, "\n\n{} weights", p.weights.len());
        }
        ItemId::Scenario(x) => {
            let x = &f.scenarios[x.index()];
            add(x.label.as_deref(), x.describe.as_deref());
            let vars: Vec<String> = x.variables().map(|v| format!("`{v}`")).collect();
            if !vars.is_empty() {
                let _ = write!(s, "\n\nvariables {}", vars.join(", "));
            }
            let actions: Vec<String> = x.actions.iter().map(|a| format!("`{}`", a.id)).collect();
            let _ = write!(s, "\n\nactions {}", actions.join(", "));
        }
        ItemId::Suite(x) => {
            let x = &f.suites[x.index()];
            add(x.label.as_deref(), x.describe.as_deref());
            let _ = write!(s, "\n\nseed {}, {} templates", x.seed, x.items.len());
        }
        ItemId::Prompt(x) => {
            let x = &f.prompts[x.index()];
            add(x.label.as_deref(), None);
        }
        ItemId::Steer(x) => {
            let x = &f.steers[x.index()];
            add(x.label.as_deref(), Some(&x.system));
        }
        ItemId::Judge(x) => {
            let x = &f.judges[x.index()];
            add(x.label.as_deref(), None);
            let _ = write!(s, "\n\nverdict {}", x.verdict.name());
        }
        ItemId::Question(x) => {
            let x = &f.questions[x.index()];
            add(None, Some(&x.text));
        }
        ItemId::Stance(x) => {
            let x = &f.stances[x.index()];
            add(None, Some(&x.statement));
        }
        ItemId::Value(_) => {}
    }
    s
}

// ---------------------------------------------------------------------------------------
// Completion

/// Keywords that may start a top-level item.
const ITEMS: &[&str] = crate::syntax::ITEM_WORDS;

/// The entries a block of each kind holds.
fn block_keywords(kind: &str) -> &'static [&'static str] {
    match kind {
        "framework" => &["source", "version", "license", "levels", "describe"],
        "rule" => &["upholds", "violates", "context", "describe"],
        "profile" => &["describe"],
        "scenario" => &[
            "topic", "slot", "pick", "text", "action", "describe", "verbatim", "show",
        ],
        "action" => &[
            "upholds",
            "violates",
            "either",
            "affects",
            "follows",
            "distractor",
            "describe",
        ],
        "suite" => &[
            "seed",
            "from",
            "count",
            "each",
            "balance",
            "twins",
            "require",
            "dedupe",
            "distractors",
            "order",
            "persona",
            "pass",
            "languages",
            "judge",
            "describe",
        ],
        "prompt" => &[
            "system",
            "user",
            "labels",
            "instruction",
            "answer",
            "describe",
        ],
        "steer" => &["system", "toward", "away", "source", "describe"],
        "constitution" => &["principle", "toward", "away", "source", "describe"],
        "judge" => &["system", "user", "instruction", "verdict", "describe"],
        "question" => &["option", "reference", "source", "describe"],
        "stance" => &["question", "statement", "reversed", "source", "describe"],
        "populations" => &["alias"],
        _ => &["describe", "kind", "alias"],
    }
}

/// The blocks open at `offset`, outermost first: each the first word of the line its `{`
/// is on. Strings and comments are skipped.
fn open_blocks(text: &str, offset: usize) -> Vec<String> {
    let bytes = text.as_bytes();
    let end = offset.min(bytes.len());
    let mut stack: Vec<String> = Vec::new();
    let mut line_start = 0;
    let mut i = 0;
    while i < end {
        match bytes[i] {
            b'\n' => line_start = i + 1,
            b'#' => {
                while i < end && bytes[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'"' => {
                let triple = bytes[i..].starts_with(b"\"\"\"");
                if triple {
                    i += 3;
                    while i < end && !bytes[i..].starts_with(b"\"\"\"") {
                        if bytes[i] == b'\n' {
                            line_start = i + 1;
                        }
                        i += 1;
                    }
                    i += 3;
                } else {
                    i += 1;
                    while i < end && bytes[i] != b'"' && bytes[i] != b'\n' {
                        if bytes[i] == b'\\' {
                            i += 1;
                        }
                        i += 1;
                    }
                    i += 1;
                }
                continue;
            }
            b'{' => {
                let word: String = text[line_start..i]
                    .trim_start()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                stack.push(word);
            }
            b'}' => {
                stack.pop();
            }
            _ => {}
        }
        i += 1;
    }
    stack
}

fn completion(server: &Server, p: lsp::CompletionParams) -> Option<lsp::CompletionResponse> {
    let at = &p.text_document_position;
    let k = key(&uri_to_path(&at.text_document.uri));
    let doc = server.docs.get(&k)?;
    let text: &str = &doc.text;
    let (body, bom) = match text.strip_prefix('\u{FEFF}') {
        Some(rest) => (rest, true),
        None => (text, false),
    };
    let offset = Lines::new(body, bom).offset(at.position);
    let analysis = analysis_for(server, &at.text_document.uri);
    let module = analysis
        .as_ref()
        .and_then(|(a, f)| a.modules[f.index()].map(|m| (Arc::clone(a), m)));
    let mut items: Vec<lsp::CompletionItem> = Vec::new();

    // Inside `{{ }}` or `{% %}`: the scenario's variables.
    let before = &body[..offset];
    let open = before.rfind("{{").max(before.rfind("{%"));
    let close = before.rfind("}}").max(before.rfind("%}"));
    if let Some(open) = open
        && close.is_none_or(|c| c < open)
    {
        for name in scenario_variables(body, offset) {
            items.push(item(&name, lsp::CompletionItemKind::VARIABLE, "variable"));
        }
        return Some(lsp::CompletionResponse::Array(items));
    }

    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line = &before[line_start..];
    // The word being typed, with a namespace: `ns.` completes that file's names.
    let typed: String = line
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let namespace = typed.rsplit_once('.').map(|(ns, _)| ns.to_string());
    let first_word: String = line
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let at_start = line.trim_start().len() == typed.len();
    // A list continued from the line before: `upholds a,` ⏎ `b`.
    let statement = if at_start {
        let previous = before[..line_start].trim_end();
        if previous.ends_with(',') {
            let from = previous.rfind('\n').map_or(0, |i| i + 1);
            previous[from..]
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        } else {
            String::new()
        }
    } else {
        first_word.clone()
    };
    let blocks = open_blocks(body, offset);
    let block = blocks.last().map(String::as_str).unwrap_or("");

    if statement.is_empty() {
        // A new entry: the keywords the enclosing block takes.
        if namespace.is_some() {
            return Some(lsp::CompletionResponse::Array(items));
        }
        let levels: Vec<String> = module.as_ref().map_or_else(
            || vec!["value".to_string()],
            |(a, m)| a.framework().module(*m).levels.clone(),
        );
        if blocks.is_empty() {
            for k in ITEMS {
                items.push(item(k, lsp::CompletionItemKind::KEYWORD, "item"));
            }
            if let Some(top) = levels.first() {
                items.push(item(top, lsp::CompletionItemKind::KEYWORD, "level"));
            }
        } else if let Some(i) = levels.iter().position(|l| l == block) {
            for k in block_keywords("node") {
                items.push(item(k, lsp::CompletionItemKind::KEYWORD, "entry"));
            }
            if let Some(next) = levels.get(i + 1) {
                items.push(item(next, lsp::CompletionItemKind::KEYWORD, "level"));
            }
        } else {
            for k in block_keywords(block) {
                items.push(item(k, lsp::CompletionItemKind::KEYWORD, "entry"));
            }
            if block == "profile"
                && let Some((a, m)) = &module
            {
                values(&mut items, a, *m, None);
            }
        }
        return Some(lsp::CompletionResponse::Array(items));
    }

    // A setting's word: `balance ` offers `pairs` and `diverse`, `kind ` in a value the
    // kinds; the words are those resolving accepts.
    let in_value = match &module {
        Some((a, m)) => a.framework().module(*m).levels.iter().any(|l| l == block),
        None => !blocks.is_empty() && block_keywords(block) == block_keywords("node"),
    };
    let words = crate::resolve::setting_words(if in_value { "value" } else { block }, &statement);
    if !words.is_empty() && namespace.is_none() && !at_start {
        for w in words {
            items.push(item(w, lsp::CompletionItemKind::ENUM_MEMBER, &statement));
        }
        return Some(lsp::CompletionResponse::Array(items));
    }

    let Some((a, m)) = module else {
        return Some(lsp::CompletionResponse::Array(items));
    };
    let f = a.framework();
    let target = match &namespace {
        Some(ns) => match f.module(m).imports.get(ns) {
            Some(&t) => t,
            None => return Some(lsp::CompletionResponse::Array(items)),
        },
        None => m,
    };
    let local = namespace.is_none();
    match statement.as_str() {
        "upholds" | "violates" | "either" | "toward" | "away" | "map" | "slot" => {
            if local && block == "action" {
                for v in scenario_variables(body, offset) {
                    items.push(item(&v, lsp::CompletionItemKind::VARIABLE, "variable"));
                }
                if statement == "upholds" || statement == "violates" {
                    items.push(item(
                        "indirectly",
                        lsp::CompletionItemKind::KEYWORD,
                        "keyword",
                    ));
                }
            }
            values(&mut items, &a, target, local.then_some(m));
        }
        "conflict" | "prefer" | "wiser" => {
            values(&mut items, &a, target, local.then_some(m));
            if statement != "wiser" {
                for &r in &f.module(target).rules {
                    items.push(item(
                        &f.rule(r).id,
                        lsp::CompletionItemKind::FUNCTION,
                        "rule",
                    ));
                }
            }
        }
        "pick" => {
            if line.contains("rule_conflicts(") {
                if local {
                    for ns in f.module(m).imports.keys() {
                        items.push(item(
                            &format!("{ns}.*"),
                            lsp::CompletionItemKind::MODULE,
                            "file",
                        ));
                    }
                }
            } else if line.contains('(') {
                values(&mut items, &a, target, local.then_some(m));
            } else if line.contains(" from") {
                for fun in ["conflicts", "rule_conflicts"] {
                    items.push(item(fun, lsp::CompletionItemKind::FUNCTION, "pair source"));
                }
            }
        }
        "from" if block == "suite" => {
            let module = f.module(target);
            for &s in &module.scenarios {
                items.push(item(
                    &f.scenarios[s.index()].id,
                    lsp::CompletionItemKind::CLASS,
                    "scenario",
                ));
            }
            for &q in &module.questions {
                items.push(item(
                    &f.questions[q.index()].id,
                    lsp::CompletionItemKind::CLASS,
                    "question",
                ));
            }
            for &s in &module.stances {
                items.push(item(
                    &f.stances[s.index()].id,
                    lsp::CompletionItemKind::CLASS,
                    "stance",
                ));
            }
            if local {
                namespaces(&mut items, &a, m);
            }
        }
        "judge" if block == "suite" => {
            for &j in &f.module(target).judges {
                items.push(item(
                    &f.judges[j.index()].id,
                    lsp::CompletionItemKind::CLASS,
                    "judge",
                ));
            }
        }
        "follows" => {
            for v in scenario_variables(body, offset) {
                items.push(item(&v, lsp::CompletionItemKind::VARIABLE, "variable"));
            }
        }
        _ => {}
    }
    Some(lsp::CompletionResponse::Array(items))
}

fn item(label: &str, kind: lsp::CompletionItemKind, detail: &str) -> lsp::CompletionItem {
    lsp::CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail.to_string()),
        ..Default::default()
    }
}

/// The values of `module` (and, from `local`, the namespaces it imports).
fn values(
    items: &mut Vec<lsp::CompletionItem>,
    a: &Analysis,
    module: ModuleId,
    local: Option<ModuleId>,
) {
    let f = a.framework();
    for &v in &f.module(module).values {
        let value = f.value(v);
        let mut i = item(
            &value.id,
            lsp::CompletionItemKind::ENUM_MEMBER,
            f.value_label(v),
        );
        i.detail = Some(format!(
            "{} ({})",
            f.value_label(v),
            f.module(module)
                .levels
                .get(value.level)
                .map_or("value", String::as_str)
        ));
        items.push(i);
    }
    if let Some(m) = local {
        namespaces(items, a, m);
    }
}

fn namespaces(items: &mut Vec<lsp::CompletionItem>, a: &Analysis, m: ModuleId) {
    for ns in a.framework().module(m).imports.keys() {
        items.push(item(ns, lsp::CompletionItemKind::MODULE, "namespace"));
    }
}

/// The slot and pick variables of the scenario around `offset`, read from the text as it
/// is now (the scenario may not parse while it is being written).
fn scenario_variables(text: &str, offset: usize) -> Vec<String> {
    let before = &text[..offset.min(text.len())];
    let start = before
        .match_indices("scenario ")
        .filter(|(i, _)| *i == 0 || before.as_bytes()[i - 1] == b'\n')
        .map(|(i, _)| i)
        .last();
    let Some(start) = start else {
        return Vec::new();
    };
    // To the next item at the start of a line.
    let rest = &text[start..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| rest[i..].starts_with(|c: char| c.is_ascii_alphabetic()))
        .map_or(text.len(), |i| start + i);
    let mut names = Vec::new();
    for line in text[start..end].lines() {
        let line = line.trim_start();
        let words = |s: &str| -> Vec<String> {
            s.split(',')
                .map(|w| w.trim().to_string())
                .filter(|w| is_identifier(w))
                .collect()
        };
        if let Some(rest) = line.strip_prefix("slot ") {
            names.extend(words(rest.split('=').next().unwrap_or("")));
        } else if let Some(rest) = line.strip_prefix("pick ") {
            names.extend(words(rest.split(" from").next().unwrap_or("")));
        }
    }
    names.dedup();
    names
}

// ---------------------------------------------------------------------------------------
// Outline

#[allow(deprecated)] // `DocumentSymbol::deprecated` must be given.
fn symbol(
    lines: &Lines,
    name: &str,
    detail: Option<String>,
    kind: lsp::SymbolKind,
    span: crate::source::Span,
    id: crate::source::Span,
    children: Vec<lsp::DocumentSymbol>,
) -> lsp::DocumentSymbol {
    lsp::DocumentSymbol {
        name: name.to_string(),
        detail,
        kind,
        tags: None,
        deprecated: None,
        range: lines.range(span.start as usize, span.end as usize),
        selection_range: lines.range(id.start as usize, id.end as usize),
        children: (!children.is_empty()).then_some(children),
    }
}

fn symbols(server: &Server, p: lsp::DocumentSymbolParams) -> Option<lsp::DocumentSymbolResponse> {
    let (a, file) = analysis_for(server, &p.text_document.uri)?;
    let m = a.modules[file.index()]?;
    let tree = a.trees.get(m.index())?;
    let source = a.loaded.sources.get(file);
    let lines = Lines::new(source.text(), source.had_bom());
    let label = |s: &Option<ast::Str>| s.as_ref().map(|s| s.value.clone());
    let mut out = Vec::new();
    for item in &tree.items {
        let s = match item {
            ast::Item::Node(n) => node_symbol(&lines, n),
            ast::Item::Scenario(x) => {
                let actions = x
                    .entries
                    .iter()
                    .filter_map(|e| match e {
                        ast::ScenarioEntry::Action(act) => Some(symbol(
                            &lines,
                            &act.id.name,
                            label(&act.label),
                            lsp::SymbolKind::METHOD,
                            act.span,
                            act.id.span,
                            Vec::new(),
                        )),
                        _ => None,
                    })
                    .collect();
                symbol(
                    &lines,
                    &x.id.name,
                    label(&x.label),
                    lsp::SymbolKind::CLASS,
                    x.span,
                    x.id.span,
                    actions,
                )
            }
            ast::Item::Suite(x) => symbol(
                &lines,
                &x.id.name,
                label(&x.label),
                lsp::SymbolKind::MODULE,
                x.span,
                x.id.span,
                Vec::new(),
            ),
            ast::Item::Rule(x) => symbol(
                &lines,
                &x.id.name,
                Some(x.text.value.clone()),
                lsp::SymbolKind::FUNCTION,
                x.span,
                x.id.span,
                Vec::new(),
            ),
            ast::Item::Profile(x) => symbol(
                &lines,
                &x.id.name,
                label(&x.label),
                lsp::SymbolKind::STRUCT,
                x.span,
                x.id.span,
                Vec::new(),
            ),
            ast::Item::Prompt(x)
            | ast::Item::Steer(x)
            | ast::Item::Constitution(x)
            | ast::Item::Judge(x) => symbol(
                &lines,
                &x.id.name,
                label(&x.label),
                lsp::SymbolKind::INTERFACE,
                x.span,
                x.id.span,
                Vec::new(),
            ),
            ast::Item::Question(x) => symbol(
                &lines,
                &x.id.name,
                Some(x.text.value.clone()),
                lsp::SymbolKind::EVENT,
                x.span,
                x.id.span,
                Vec::new(),
            ),
            ast::Item::Stance(x) => symbol(
                &lines,
                &x.id.name,
                Some(x.country.value.clone()),
                lsp::SymbolKind::EVENT,
                x.span,
                x.id.span,
                Vec::new(),
            ),
            ast::Item::Populations(x) => symbol(
                &lines,
                "populations",
                None,
                lsp::SymbolKind::NAMESPACE,
                x.span,
                x.span,
                x.entries
                    .iter()
                    .map(|e| {
                        let aliases: Vec<&str> =
                            e.aliases.iter().map(|a| a.value.as_str()).collect();
                        symbol(
                            &lines,
                            &e.name.value,
                            Some(aliases.join(", ")),
                            lsp::SymbolKind::STRING,
                            e.span,
                            e.name.span,
                            Vec::new(),
                        )
                    })
                    .collect(),
            ),
            ast::Item::Framework(x) => symbol(
                &lines,
                &x.id.name,
                label(&x.label),
                lsp::SymbolKind::PACKAGE,
                x.span,
                x.id.span,
                Vec::new(),
            ),
            _ => continue,
        };
        out.push(s);
    }
    Some(lsp::DocumentSymbolResponse::Nested(out))
}

fn node_symbol(lines: &Lines, n: &ast::Node) -> lsp::DocumentSymbol {
    let children = n
        .entries
        .iter()
        .filter_map(|e| match e {
            ast::NodeEntry::Child(c) => Some(node_symbol(lines, c)),
            _ => None,
        })
        .collect();
    let detail = match &n.label {
        Some(l) => format!("{} · {}", n.keyword.name, l.value),
        None => n.keyword.name.clone(),
    };
    symbol(
        lines,
        &n.id.name,
        Some(detail),
        lsp::SymbolKind::ENUM_MEMBER,
        n.span,
        n.id.span,
        children,
    )
}

// ---------------------------------------------------------------------------------------
// Formatting

/// What a formatting request will do, to run off the message loop.
pub(super) type Job = Box<dyn FnOnce() -> Result<Json, Failure> + Send>;

pub(super) fn formatting_job(server: &Server, p: Json) -> Result<Job, Failure> {
    let p: lsp::DocumentFormattingParams = params(p)?;
    let path = uri_to_path(&p.text_document.uri);
    let text: Arc<str> = match server.docs.get(&key(&path)) {
        Some(doc) => Arc::clone(&doc.text),
        None => {
            let bytes = crate::input::read(&path, crate::input::MAX_SOURCE).map_err(|why| {
                Failure::failed(format!("cannot read `{}`: {why}", path.display()))
            })?;
            match String::from_utf8(bytes) {
                Ok(t) => Arc::from(t),
                Err(e) => {
                    return Err(Failure::failed(format!(
                        "`{}` is not UTF-8 text (invalid byte at offset {})",
                        path.display(),
                        e.utf8_error().valid_up_to()
                    )));
                }
            }
        }
    };
    Ok(Box::new(move || {
        let mut sources = SourceMap::new();
        let file = sources.add(path.to_string_lossy(), Some(path.clone()), "");
        let formatted = crate::format::format_source(file, &text).map_err(|errors| {
            let first = errors
                .first()
                .map_or(String::new(), |d| format!(": {}", d.message));
            Failure::failed(format!("cannot format a file with syntax errors{first}"))
        })?;
        if formatted == *text {
            return to_json(Vec::<lsp::TextEdit>::new());
        }
        let end = Lines::new(&text, false).end();
        to_json(vec![lsp::TextEdit::new(
            lsp::Range::new(lsp::Position::new(0, 0), end),
            formatted,
        )])
    }))
}

// ---------------------------------------------------------------------------------------
// Semantic tokens

fn semantic_tokens(
    server: &Server,
    p: lsp::SemanticTokensParams,
) -> Option<lsp::SemanticTokensResult> {
    let (a, file) = analysis_for(server, &p.text_document.uri)?;
    let source = a.loaded.sources.get(file);
    let text = source.text();
    let lines = Lines::new(text, source.had_bom());
    // (start, end, type, modifiers)
    let mut raw: Vec<(usize, usize, u32, u32)> = Vec::new();
    let first = a.occurrences.partition_point(|o| o.file < file);
    for o in a.occurrences[first..].iter().take_while(|o| o.file == file) {
        let kind = match o.target {
            Target::Module(_) => 0,
            Target::Item(ItemId::Value(_)) => 1,
            Target::Item(ItemId::Rule(_)) => 2,
            Target::Item(_) => 3,
            Target::Variable(..) => 4,
        };
        raw.push((o.start as usize, o.end as usize, kind, u32::from(o.def)));
    }
    if let Some(m) = a.modules[file.index()]
        && let Some(tree) = a.trees.get(m.index())
    {
        for c in &tree.comments {
            raw.push((c.span.start as usize, c.span.end as usize, 5, 0));
        }
    }
    raw.sort_unstable();
    let mut data = Vec::with_capacity(raw.len());
    let (mut line, mut col) = (0u32, 0u32);
    let mut last_end = 0usize;
    for (start, end, kind, modifiers) in raw {
        if start < last_end || text.get(start..end).is_none_or(|t| t.contains('\n')) {
            continue;
        }
        let s = lines.position(start);
        let e = lines.position(end);
        let delta_line = s.line - line;
        let delta_start = if delta_line == 0 {
            s.character - col
        } else {
            s.character
        };
        data.push(lsp::SemanticToken {
            delta_line,
            delta_start,
            length: e.character - s.character,
            token_type: kind,
            token_modifiers_bitset: modifiers,
        });
        line = s.line;
        col = s.character;
        last_end = end;
    }
    Some(lsp::SemanticTokensResult::Tokens(lsp::SemanticTokens {
        result_id: None,
        data,
    }))
}
