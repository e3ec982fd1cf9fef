//! Text to syntax tree: the grammar lives in `grammar/quandary.pest`.

pub mod ast;
mod fast;
mod parser;
mod scan;

pub(crate) use fast::{Plain, PlainKind, read as read_plain};
pub(crate) use parser::{Entry, parse_lean};
pub use parser::{ITEM_WORDS, RESERVED, SET_FUNCTIONS, parse};
pub use scan::MAX_DEPTH;
