//! Counts that summarise a framework.
