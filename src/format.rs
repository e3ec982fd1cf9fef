//! The canonical layout of source files.
