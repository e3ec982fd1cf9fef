//! Importers: data from the research literature turned into source files.
