//! Compiles the generated parser (src/parser.c) and the string scanner (src/scanner.c) into
//! the crate.

fn main() {
    let src_dir = std::path::Path::new("src");
    let files = [src_dir.join("parser.c"), src_dir.join("scanner.c")];
    cc::Build::new()
        .std("c11")
        .include(src_dir)
        .files(&files)
        .warnings(false)
        .compile("tree-sitter-quandary");
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
}
