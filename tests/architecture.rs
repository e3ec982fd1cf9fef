//! The module graph of `src/` is the one ARCHITECTURE.md writes down: every `crate::` path
//! of a module names a module its row of the "Dependencies" table allows, the table has no
//! cycle, and nothing outside the command-line tool prints.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The allowed dependencies, from ARCHITECTURE.md's table.
fn allowed() -> BTreeMap<String, BTreeSet<String>> {
    let text = std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let table = text
        .split("## Dependencies")
        .nth(1)
        .expect("a Dependencies section");
    let mut out = BTreeMap::new();
    for line in table.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let module = cells[1].trim_matches('`').to_string();
        let uses = cells[2]
            .split(',')
            .map(|u| u.trim().trim_matches('`').to_string())
            .filter(|u| !u.is_empty())
            .collect();
        out.insert(module, uses);
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a folder") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments and its `#[cfg(test)]` module.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).expect("a source file");
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string is rare in this code base, and only shortens the line.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file of `src/` belongs to (`None` for the crate root and the
/// command-line tool).
fn module_of(path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root().join("src")).ok()?;
    let first = rel.components().next()?.as_os_str().to_string_lossy();
    let name = first.trim_end_matches(".rs").to_string();
    (!matches!(name.as_str(), "lib" | "main" | "cli")).then_some(name)
}

/// Names the crate root re-exports, and the module each comes from.
fn root_reexport(name: &str) -> Option<&'static str> {
    Some(match name {
        "load_path" | "load_str" | "load_with" | "load_files" | "Loaded" => "load",
        "Framework" => "model",
        "Project" | "RunFolder" => "project",
        "Diagnostic" | "Code" | "Severity" => "diagnostic",
        "SourceMap" | "Span" | "FileId" => "source",
        "FsLoader" | "Loader" | "MemoryLoader" => "resolve",
        _ => return None,
    })
}

/// Every module `code` reaches through a `crate::` path.
fn uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            // `crate::{a, b}`: each name inside.
            if let Some(list) = rest.strip_prefix('{') {
                let list = &list[..list.find('}').unwrap_or(list.len())];
                for item in list.split(',') {
                    let item = item.trim().split("::").next().unwrap_or("").trim();
                    if !item.is_empty() {
                        out.insert(item.to_string());
                    }
                }
            }
            continue;
        }
        let module = root_reexport(&name).map_or(name, str::to_string);
        out.insert(module);
    }
    out
}

#[test]
fn modules_use_only_what_architecture_md_allows() {
    let allowed = allowed();
    assert!(
        allowed.len() > 15,
        "the table lists the modules: {allowed:?}"
    );
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    files.sort();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let Some(module) = module_of(file) else {
            continue;
        };
        let Some(may) = allowed.get(&module) else {
            wrong.push(format!("`{module}` is not in ARCHITECTURE.md's table"));
            continue;
        };
        for used in uses(&code(file)) {
            if used == module {
                continue;
            }
            seen.entry(module.clone()).or_default().insert(used.clone());
            if !may.contains(&used) {
                let rel = file.strip_prefix(root()).unwrap_or(file);
                wrong.push(format!(
                    "{} uses `{used}`, which `{module}` may not",
                    rel.display()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    // Every module of the table exists.
    for module in allowed.keys() {
        let file = root().join("src").join(format!("{module}.rs"));
        let dir = root().join("src").join(module);
        assert!(
            file.is_file() || dir.is_dir(),
            "`{module}` is listed but not in src/"
        );
    }
}

#[test]
fn the_allowed_graph_has_no_cycle() {
    let allowed = allowed();
    // Depth-first search, iteratively: white (unseen), grey (on the path), black (done).
    let mut state: BTreeMap<&str, u8> = BTreeMap::new();
    for start in allowed.keys() {
        if state.get(start.as_str()).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut stack: Vec<(&str, Vec<&str>)> = vec![(
            start.as_str(),
            allowed[start].iter().map(String::as_str).collect(),
        )];
        state.insert(start, 1);
        while let Some((node, next)) = stack.last_mut() {
            match next.pop() {
                Some(n) => match state.get(n).copied().unwrap_or(0) {
                    0 => {
                        state.insert(n, 1);
                        let deps = allowed
                            .get(n)
                            .map(|d| d.iter().map(String::as_str).collect())
                            .unwrap_or_default();
                        stack.push((n, deps));
                    }
                    1 => {
                        let path: Vec<&str> = stack.iter().map(|(m, _)| *m).collect();
                        panic!("a cycle: {} → {n}", path.join(" → "));
                    }
                    _ => {}
                },
                None => {
                    state.insert(node, 2);
                    stack.pop();
                }
            }
        }
    }
}

#[test]
fn only_the_command_line_tool_prints() {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut printing = Vec::new();
    for file in files.iter().filter(|f| module_of(f).is_some()) {
        let code = code(file);
        for call in [
            "println!",
            "eprintln!",
            "print!(",
            "eprint!(",
            "std::io::stdout()",
            "std::io::stderr()",
            "dbg!(",
        ] {
            if code.contains(call) {
                let rel = file.strip_prefix(root()).unwrap_or(file);
                printing.push(format!("{} has `{call}`", rel.display()));
            }
        }
    }
    assert!(printing.is_empty(), "{}", printing.join("\n"));
}
