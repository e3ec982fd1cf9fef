//! Reading a file and the files it imports (`use`), with import cycles found.

use super::*;

impl Resolver<'_> {
    /// Reads, parses and registers the module at `path` and, recursively, its imports.
    pub(super) fn load(&mut self, path: &Path, via: Option<Span>) -> Option<ModuleId> {
        let key = self.loader.key(path);
        if let Some(&id) = self.by_key.get(&key) {
            if let Some(pos) = self.stack.iter().position(|(m, _)| *m == id) {
                self.import_cycle(pos, via);
            }
            return Some(id);
        }
        let display = path.to_string_lossy().into_owned();
        let bytes = match self.loader.read(path) {
            Ok(bytes) => bytes,
            Err(why) => {
                let d = match via {
                    Some(span) => Diagnostic::new(
                        Code::ImportMissing,
                        format!("cannot read imported file `{display}`: {why}"),
                    )
                    .label(span, "imported here")
                    .help("paths in `use` are relative to the importing file"),
                    None => Diagnostic::new(Code::Io, format!("cannot read `{display}`: {why}"))
                        .path(display.clone())
                        .help(if why.contains("directory") {
                            "pass the `.qd` files in it, e.g. `dir/*.qd`"
                        } else {
                            "check the path"
                        }),
                };
                self.diagnostics.push(d);
                return None;
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let at = e.utf8_error().valid_up_to();
                let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
                let file = self.sources.add(display.clone(), Some(path.into()), &valid);
                let offset = self.sources.get(file).text().len();
                self.diagnostics.push(
                    Diagnostic::new(
                        Code::NotUtf8,
                        format!("`{display}` is not UTF-8 text (invalid byte at offset {at})"),
                    )
                    .label(Span::new(file, offset..offset), "the invalid byte is here")
                    .help("save the file as UTF-8"),
                );
                return None;
            }
        };
        let file = self.sources.add(display, Some(path.into()), &text);
        // The source map holds its own copy: do not keep two while the file is parsed.
        drop(text);
        let text = self.sources.get(file).text();
        let (ast, entries, syntax_errors) = if self.keep_trees {
            let (ast, errors) = syntax::parse(file, text);
            let entries = (0..ast.items.len() as u32)
                .map(syntax::Entry::Item)
                .collect();
            (ast, entries, errors)
        } else {
            let (lean, errors) = syntax::parse_lean(file, text);
            (lean.file, lean.entries, errors)
        };
        let broken = !syntax_errors.is_empty();
        let unparsed = if broken {
            unparsed_words(self.sources.get(file).text(), &ast, &entries)
        } else {
            BTreeSet::new()
        };
        self.diagnostics.extend(syntax_errors);
        let id = ModuleId(self.framework.modules.len() as u32);
        let stem = path
            .file_stem()
            .map_or_else(|| "file".to_string(), |s| s.to_string_lossy().into_owned());
        self.framework.modules.push(Module {
            file,
            stem,
            header: None,
            levels: vec!["value".into()],
            imports: IndexMap::new(),
            // Room for every id at once (growing, the map would round its room up to its
            // table's, nearly twice as much).
            items: IndexMap::with_capacity(ids_room(&ast, &entries)),
            values: Vec::new(),
            top: Vec::new(),
            rules: Vec::new(),
            relations: Vec::new(),
            profiles: Vec::new(),
            mappings: Vec::new(),
            scenarios: Vec::new(),
            suites: Vec::new(),
            prompts: Vec::new(),
            steers: Vec::new(),
            judges: Vec::new(),
            questions: Vec::new(),
            stances: Vec::new(),
        });
        self.by_key.insert(key, id);
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let uses: Vec<ast::Use> = ast
            .items
            .iter()
            .filter_map(|i| match i {
                ast::Item::Use(u) => Some(u.clone()),
                _ => None,
            })
            .collect();
        self.asts.push(ModuleAst {
            entries,
            declared: Vec::new(),
            failed_imports: Vec::new(),
            file: ast,
            broken,
            unparsed,
        });
        self.stack.push((id, via));
        for u in uses {
            let target = normalize(&dir.join(&u.path.value));
            let Some(imported) = self.load(&target, Some(u.path.span)) else {
                self.asts[id.index()]
                    .failed_imports
                    .push(u.namespace.name.clone());
                continue;
            };
            let module = &mut self.framework.modules[id.index()];
            if let Some(&previous) = module.imports.get(&u.namespace.name) {
                if previous != imported {
                    self.diagnostics.push(
                        Diagnostic::new(
                            Code::DuplicateNamespace,
                            format!("namespace `{}` is imported twice", u.namespace.name),
                        )
                        .label(u.namespace.span, "imported again here")
                        .help("give each import its own namespace"),
                    );
                }
            } else {
                module.imports.insert(u.namespace.name.clone(), imported);
            }
        }
        self.stack.pop();
        Some(id)
    }

    pub(super) fn import_cycle(&mut self, from: usize, via: Option<Span>) {
        let chain: Vec<String> = self.stack[from..]
            .iter()
            .map(|(m, _)| {
                let file = self.framework.modules[m.index()].file;
                format!("`{}`", self.sources.get(file).name())
            })
            .chain(std::iter::once({
                let file = self.framework.modules[self.stack[from].0.index()].file;
                format!("`{}`", self.sources.get(file).name())
            }))
            .collect();
        let mut d = Diagnostic::new(
            Code::ImportCycle,
            format!("files import each other in a cycle: {}", chain.join(" → ")),
        );
        if let Some(span) = via {
            d = d.label(span, "this import closes the cycle");
        }
        for (_, span) in self.stack[from + 1..].iter() {
            if let Some(span) = span {
                d = d.label(*span, "imported here");
            }
        }
        self.diagnostics.push(d.help(
            "move what both files need into a third file that both import, or drop one `use`",
        ));
    }
}

/// At least how many ids the items declare: one per item, and one per nested value node.
fn ids_room(ast: &ast::File, entries: &[syntax::Entry]) -> usize {
    fn nested(node: &ast::Node) -> usize {
        node.entries
            .iter()
            .map(|e| match e {
                ast::NodeEntry::Child(child) => 1 + nested(child),
                _ => 0,
            })
            .sum()
    }
    let nodes: usize = ast
        .items
        .iter()
        .map(|i| match i {
            ast::Item::Node(node) => nested(node),
            _ => 0,
        })
        .sum();
    entries.len() + nodes
}

/// The words of a file with syntax errors that lie outside every item that parsed (and
/// every comment): the
/// names its broken items may have declared. A reference to a name not among them is
/// reported even in a broken file (its definition cannot be in a broken item).
fn unparsed_words(text: &str, ast: &ast::File, entries: &[syntax::Entry]) -> BTreeSet<String> {
    let mut plain = syntax::Plain::default();
    let mut spans: Vec<(usize, usize)> = ast
        .items
        .iter()
        .map(|i| i.span().range())
        .chain(ast.comments.iter().map(|c| c.span.range()))
        .map(|r| (r.start, r.end))
        .collect();
    for entry in entries {
        if let syntax::Entry::Plain(at) = *entry
            && syntax::read_plain(text, at as usize, &mut plain).is_some()
        {
            spans.push((plain.start, plain.end));
        }
    }
    spans.sort_unstable();
    let mut words = BTreeSet::new();
    let mut from = 0;
    for (start, end) in spans.into_iter().chain([(text.len(), text.len())]) {
        if start > from {
            for word in text[from..start]
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty())
            {
                words.insert(word.to_string());
            }
        }
        from = from.max(end);
    }
    words
}
