//! `quandary fmt [--check | --write] FILE…`

use quandary::input;
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
                let written = quandary::output::to_file(path, |w| {
                    quandary::output::write_text(w, &formatted, &format!("`{display}`"))
                });
                if let Err(d) = written {
                    diagnostics.push(d.help("check that the file and its directory are writable"));
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
        input::read_all(std::io::stdin().lock(), input::MAX_SOURCE).map_err(|e| input::why(&e))
    } else {
        input::read(path, input::MAX_SOURCE)
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
