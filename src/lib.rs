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
pub mod formats;
pub mod graph;
pub mod import;
pub mod input;
pub mod language;
mod load;
#[cfg(feature = "lsp")]
pub mod lsp;
pub mod model;
pub mod output;
pub mod project;
pub mod render;
pub mod report;
mod resolve;
mod rng;
pub mod simulate;
pub mod source;
pub mod stats;
pub mod suggest;
pub mod syntax;
mod template;

/// Helpers that tests and power users reach for, outside the stable surface: they may
/// change between any two versions.
pub mod machinery {
    pub use crate::expand::RulePairs;
    pub use crate::report::math::{quantile, spearman, wilson};
}

pub use diagnostic::{Code, Diagnostic, Severity};
pub use eval::adapters::AdapterSpec;
pub use eval::{Adapter, AdapterError, Answer, Choice, Decision, Outcome, Request, Settings};
pub use expand::{Expansion, Options as ExpandOptions};
pub use load::{Loaded, load_files, load_path, load_str, load_with};
pub use model::Framework;
pub use project::{Project, RunFolder};
pub use report::{Options as ReportOptions, Report};
pub use resolve::{FsLoader, Loader, MemoryLoader};
pub use source::{FileId, SourceMap, Span};
