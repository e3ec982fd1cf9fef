//! Loading: reading source files through a [`Loader`], resolving them into a
//! [`Framework`], then checking it — the two steps every command and embedder starts with.

use std::path::{Path, PathBuf};

use crate::check;
use crate::diagnostic::{self, Diagnostic};
use crate::model::Framework;
use crate::resolve::{self, FsLoader, Loader};
use crate::source::SourceMap;

/// The result of loading: the model, every diagnostic, and the sources they point into.
#[derive(Debug)]
pub struct Loaded {
    /// The resolved model (as complete as the errors allow).
    pub framework: Framework,
    /// Every error and warning, sorted by file and position.
    pub diagnostics: Vec<Diagnostic>,
    /// The files read.
    pub sources: SourceMap,
}

impl Loaded {
    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Whether any diagnostic is a warning.
    pub fn has_warnings(&self) -> bool {
        self.diagnostics.iter().any(|d| !d.is_error())
    }
}

/// Loads, resolves and checks the file at `path` and everything it imports.
pub fn load_path(path: impl AsRef<Path>) -> Loaded {
    load_files(&[path.as_ref()])
}

/// Loads, resolves and checks several files (each with its imports) into one model.
pub fn load_files<P: AsRef<Path>>(paths: &[P]) -> Loaded {
    load_with(&mut FsLoader, paths)
}

/// Loads source text that has no file on disk; its `use` paths are read from disk,
/// relative to the current directory.
pub fn load_str(name: &str, text: &str) -> Loaded {
    let mut loader = StrLoader {
        name: PathBuf::from(name),
        text: text.to_string(),
    };
    load_with(&mut loader, &[name])
}

struct StrLoader {
    name: PathBuf,
    text: String,
}

impl Loader for StrLoader {
    fn read(&mut self, path: &Path) -> Result<Vec<u8>, String> {
        if path == self.name {
            Ok(self.text.clone().into_bytes())
        } else {
            FsLoader.read(path)
        }
    }
    fn key(&self, path: &Path) -> PathBuf {
        if path == self.name {
            path.to_path_buf()
        } else {
            FsLoader.key(path)
        }
    }
}

/// Loads, resolves and checks `paths` with a caller-provided [`Loader`].
pub fn load_with<P: AsRef<Path>>(loader: &mut dyn Loader, paths: &[P]) -> Loaded {
    finish(resolve::resolve_model(loader, paths))
}

/// Checks what resolving gave and sorts and deduplicates every diagnostic: the second half
/// of [`load_with`], for callers that keep the syntax trees.
pub(crate) fn finish(resolved: resolve::Resolved) -> Loaded {
    let mut diagnostics = resolved.diagnostics;
    diagnostics.extend(check::check(
        &resolved.framework,
        &resolved.sources,
        &resolved.broken,
    ));
    diagnostic::sort(&mut diagnostics);
    // Spans compare equal to every span, so compare their positions explicitly: a
    // diagnostic reported twice for one place is shown once.
    diagnostics.dedup_by(|a, b| {
        a == b
            && a.labels.len() == b.labels.len()
            && a.labels.iter().zip(&b.labels).all(|(x, y)| {
                (x.span.file, x.span.start, x.span.end) == (y.span.file, y.span.start, y.span.end)
            })
    });
    Loaded {
        framework: resolved.framework,
        diagnostics,
        sources: resolved.sources,
    }
}
