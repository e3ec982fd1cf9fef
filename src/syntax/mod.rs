//! Text to syntax tree: the grammar lives in `grammar/quandary.pest`.

pub mod ast;
mod fast;
mod parser;
mod scan;

pub use parser::{ITEM_WORDS, RESERVED, parse};
pub use scan::MAX_DEPTH;
