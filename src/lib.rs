//! quandary: a language and toolchain for value frameworks.
//!
//! Researchers write a value framework as text: a hierarchy of values, the conflicts and
//! priorities between them, normative rules and value profiles. This crate parses and
//! resolves such files into a [`Framework`], returning every error and warning as data
//! ([`Diagnostic`]).
//!
//! ```
//! let loaded = quandary::load_str(
//!     "example.qd",
//!     r#"
//!     value care "Care"
//!     value loyalty "Loyalty"
//!     conflict care <> loyalty
//!     "#,
//! );
//! assert!(!loaded.has_errors());
//! let framework = &loaded.framework;
//! let root = framework.root_module();
//! assert_eq!(root.values.len(), 2);
//! ```
#![deny(missing_docs)]

mod check;
pub mod diagnostic;
pub mod eval;
pub mod expand;
pub mod export;
pub mod format;
pub mod graph;
pub mod import;
pub mod input;
pub mod model;
pub mod output;
pub mod render;
pub mod report;
mod resolve;
pub mod source;
pub mod stats;
pub mod suggest;
pub mod syntax;

pub use diagnostic::{Code, Diagnostic, Severity};
pub use model::Framework;
pub use resolve::{
    FsLoader, Loaded, Loader, MemoryLoader, load_files, load_path, load_str, load_with,
};
pub use source::{FileId, SourceMap, Span};
