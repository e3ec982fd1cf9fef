//! `quandary fmt [--check | --write] FILE…`

use std::io::Read as _;
use std::path::{Path, PathBuf};

use quandary::{Code, Diagnostic, SourceMap, Span};

use super::DiagnosticArgs;

/// Arguments of `fmt`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Source files to format; `-` reads standard input
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Change nothing: print a diff for each file that is not in the canonical layout, and
    /// exit with status 1 if there is any
    #[arg(long, conflicts_with = "write")]
    pub check: bool,
    /// Rewrite the files in place (files already in the canonical layout are not touched;
    /// standard input is printed)
    #[arg(long)]
    pub write: bool,
    #[command(flatten)]
    pub diagnostics: DiagnosticArgs,
}

/// What `-` stands for in diagnostics and diffs.
const STDIN_NAME: &str = "<stdin>";

pub fn run(args: Args) -> bool {
    let mut sources = SourceMap::new();
    let mut diagnostics = Vec::new();
    let mut ok = true;
    for path in &args.files {
        let stdin = path.as_os_str() == "-";
        let display = if stdin {
            STDIN_NAME.to_string()
        } else {
            path.to_string_lossy().into_owned()
        };
        let text = match read(path, stdin, &display, &mut sources) {
            Ok(text) => text,
            Err(d) => {
                diagnostics.push(d);
                continue;
            }
        };
        let file = sources.add(display.clone(), (!stdin).then(|| path.clone()), &text);
        let formatted = match quandary::format::format_source(file, &text) {
            Ok(formatted) => formatted,
            Err(errors) => {
                diagnostics.extend(errors);
                continue;
            }
        };
        if args.check {
            if formatted != text {
                ok = false;
                let diff = similar::TextDiff::from_lines(&text, &formatted)
                    .unified_diff()
                    .header(&display, &display)
                    .to_string();
                if !super::print(&diff) {
                    return false;
                }
            }
        } else if args.write && !stdin {
            if formatted != text {
                if let Err(why) = write_atomically(path, &formatted) {
                    diagnostics.push(
                        Diagnostic::new(Code::Io, format!("cannot write `{display}`: {why}"))
                            .path(display)
                            .help("check that the file and its directory are writable"),
                    );
                }
            }
        } else if !super::print(&formatted) {
            return false;
        }
    }
    let failed = args.diagnostics.report(&diagnostics, &sources);
    ok && !failed
}

/// Reads a file (or standard input) as UTF-8 text, or says why it cannot.
fn read(
    path: &Path,
    stdin: bool,
    display: &str,
    sources: &mut SourceMap,
) -> Result<String, Diagnostic> {
    let bytes = if stdin {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map(|_| bytes)
            .map_err(|e| e.to_string().to_lowercase())
    } else if path.is_dir() {
        Err("it is a directory".to_string())
    } else {
        std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".to_string(),
            std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
            _ => e.to_string().to_lowercase(),
        })
    };
    let bytes = bytes.map_err(|why| {
        Diagnostic::new(Code::Io, format!("cannot read `{display}`: {why}"))
            .path(display)
            .help(if why.contains("directory") {
                "pass the `.qd` files in it, e.g. `dir/*.qd`"
            } else {
                "check the path"
            })
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let valid = String::from_utf8_lossy(&e.as_bytes()[..at]).into_owned();
        let file = sources.add(display, (!stdin).then(|| path.to_path_buf()), &valid);
        let offset = sources.get(file).text().len();
        Diagnostic::new(
            Code::NotUtf8,
            format!("`{display}` is not UTF-8 text (invalid byte at offset {at})"),
        )
        .label(Span::new(file, offset..offset), "the invalid byte is here")
        .help("save the file as UTF-8")
    })
}

/// Replaces the contents of `path` with `text`: writes a temporary file next to it, then
/// renames it over the original, so that the file is never left half-written. The file
/// keeps its permissions.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    // Through a symbolic link, rewrite the file it points to and keep the link.
    let path = &std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(".{name}.{}.fmt.tmp", std::process::id()));
    let result = (|| {
        std::fs::write(&temp, text)?;
        if let Ok(metadata) = std::fs::metadata(path) {
            std::fs::set_permissions(&temp, metadata.permissions())?;
        }
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}
