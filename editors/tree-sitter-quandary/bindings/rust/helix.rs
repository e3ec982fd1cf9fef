//! The grammar in Helix's highlighter (tree-house). A test binary of its own: tree-house links
//! its own copy of the tree-sitter runtime, which the `tree-sitter` crate of the other tests
//! would duplicate.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

include!("support.rs");

/// Helix loads the parser as a shared library (as `hx --grammar build` makes it) and compiles
/// highlights.scm, injections.scm and locals.scm into its own queries with tree-house, its
/// highlighter, which refuses a predicate or a node it does not know.
#[test]
fn helix_loads_the_parser_and_compiles_the_queries() {
    let Some(cc) = on_path("cc") else {
        assert!(
            !tools_required(),
            "cc is missing, and QUANDARY_REQUIRE_TOOLS is set"
        );
        let _ = writeln!(
            std::io::stderr().lock(),
            "SKIPPED helix_loads_the_parser_and_compiles_the_queries: no cc on the PATH"
        );
        return;
    };
    let dir = scratch_dir("helix");
    let library = dir.join("quandary.so");
    build_shared_parser(&cc, &library);
    // SAFETY: the library is the grammar just built from src/, which exports tree_sitter_quandary.
    let grammar = unsafe { tree_house::tree_sitter::Grammar::new("quandary", &library) };
    let _ = fs::remove_dir_all(&dir);
    let grammar = grammar.unwrap();
    assert_eq!(grammar.abi_version(), 14);
    let config = tree_house::LanguageConfig::new(
        grammar,
        tree_sitter_quandary::HIGHLIGHTS_QUERY,
        tree_sitter_quandary::INJECTIONS_QUERY,
        tree_sitter_quandary::LOCALS_QUERY,
    );
    if let Err(e) = config {
        panic!("Helix refuses the queries: {e:?}");
    }
}
