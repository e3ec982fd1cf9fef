//! `quandary import principles`: the committed steers in `rules/steers/` are the importer's
//! output for DailyDilemmas' principle files, and they check cleanly.

use std::path::Path;

use quandary::import::{Options, principles::import_principles};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_steers_are_the_importers_output() {
    for (file, name, label, count) in [
        (
            "principle_openai.csv",
            "openai_model_spec",
            "OpenAI Model Spec",
            16,
        ),
        (
            "principle_claude.csv",
            "claude_constitution",
            "Claude's constitution",
            59,
        ),
    ] {
        let csv = std::fs::read(root().join("tests/data/daily_dilemmas").join(file)).expect("data");
        let imported = import_principles(&csv, file, name, label, &Options::default());
        assert!(
            imported.diagnostics.is_empty(),
            "{:?}",
            imported.diagnostics
        );
        let (path, text) = &imported.files[0];
        let committed =
            std::fs::read_to_string(root().join("rules/steers").join(path)).expect("committed");
        assert_eq!(
            text,
            &committed,
            "{file}: rules/steers/{} differs",
            path.display()
        );

        let loaded = quandary::load_path(root().join("rules/steers").join(path));
        assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
        let f = &loaded.framework;
        // One constitution with every principle, and one steer per principle.
        assert_eq!(f.steers.len(), count + 1);
        assert_eq!(f.steers[0].principles.len(), count);
        assert!(
            f.steers[1..]
                .iter()
                .all(|s| s.principles.is_empty() && !s.system.is_empty())
        );
        assert!(
            f.steers[0]
                .system
                .starts_with("Choose the response that best follows these principles:\n1. ")
        );
    }
}
