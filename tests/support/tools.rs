//! Tests that need a tool beyond Rust — Graphviz, Chromium, the small model behind llama.cpp,
//! Inspect — run when it is at hand. Without it a test says on the terminal that it was
//! skipped (past the test harness's capture of output, so it is seen), unless
//! `QUANDARY_REQUIRE_TOOLS=1` (set by `scripts/test`), when a missing tool fails the test.
#![allow(dead_code)]

use std::io::Write;

/// Whether every tool must be there.
pub fn required() -> bool {
    std::env::var_os("QUANDARY_REQUIRE_TOOLS").is_some_and(|v| !v.is_empty() && v != "0")
}

/// Says that `test` is skipped because `why`, or fails it when tools are required.
pub fn skip(test: &str, why: &str) {
    assert!(
        !required(),
        "{test}: {why}, and QUANDARY_REQUIRE_TOOLS is set (`scripts/test` installs every tool)"
    );
    let _ = writeln!(
        std::io::stderr().lock(),
        "SKIPPED {test}: {why} (`bash scripts/test` installs what the tests need)"
    );
}

/// A program found on the `PATH`.
pub fn on_path(program: &str) -> Option<std::path::PathBuf> {
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
