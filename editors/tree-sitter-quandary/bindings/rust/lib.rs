//! The quandary language (`.qd`) for the [tree-sitter] parsing library, with the queries
//! editors use to highlight it.
//!
//! ```
//! let mut parser = tree_sitter::Parser::new();
//! parser.set_language(&tree_sitter_quandary::LANGUAGE.into()).unwrap();
//! let tree = parser.parse("value care \"Care\"\n", None).unwrap();
//! assert!(!tree.root_node().has_error());
//! ```
//!
//! [tree-sitter]: https://tree-sitter.github.io/

use tree_sitter_language::LanguageFn;

unsafe extern "C" {
    fn tree_sitter_quandary() -> *const ();
}

/// The tree-sitter [`LanguageFn`] of the grammar.
pub const LANGUAGE: LanguageFn = unsafe { LanguageFn::from_raw(tree_sitter_quandary) };

/// The grammar's `node-types.json`.
pub const NODE_TYPES: &str = include_str!("../../src/node-types.json");

/// The highlighting query (capture names are Helix's scopes).
pub const HIGHLIGHTS_QUERY: &str = include_str!("../../queries/highlights.scm");

/// The injection query: Jinja inside template strings.
pub const INJECTIONS_QUERY: &str = include_str!("../../queries/injections.scm");

/// The locals query: the variables a scenario binds.
pub const LOCALS_QUERY: &str = include_str!("../../queries/locals.scm");

/// The folds query: blocks and strings.
pub const FOLDS_QUERY: &str = include_str!("../../queries/folds.scm");

#[cfg(test)]
mod tests;
