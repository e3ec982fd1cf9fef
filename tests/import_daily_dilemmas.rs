//! The DailyDilemmas importer against the data set's own files, and `quandary import
//! daily-dilemmas` through the built binary.

use std::collections::HashSet;
use std::path::Path;
use std::process::Output;

use quandary::import::daily_dilemmas::{self, Names};
use quandary::import::{Imported, Options};

#[path = "support/cli.rs"]
mod cli;

use cli::{TempDir, files_in, root, stderr, stdout};

/// Runs the binary in the crate's folder.
fn quandary(args: &[&str]) -> Output {
    cli::quandary(&root(), args)
}

const DATA: &str = "tests/data/daily_dilemmas";
const RULES: &str = "rules/daily_dilemmas";
/// The CSV column of each theory of the label config, in config order.
const COLUMNS: [(&str, &str); 5] = [
    ("wvs", "WVS"),
    ("mft", "MFT"),
    ("emotion", "Emotion"),
    ("maslow", "Maslow"),
    ("virtue", "Virtue"),
];

fn read(path: impl AsRef<Path>) -> Vec<u8> {
    let path = root().join(path);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn import_data(labels: Option<&str>) -> Imported {
    daily_dilemmas::import_values(
        read(format!("{DATA}/values.csv")),
        labels,
        &Names::default(),
        &Options::default(),
    )
}

/// The one cell of the data set whose label is not in its theory's label set.
fn assert_only_the_known_stray_label(imported: &Imported) {
    let messages: Vec<&str> = imported
        .diagnostics
        .iter()
        .map(|d| d.message.as_str())
        .collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].starts_with("values.csv line 177: \"aggressiveness\" is not a label of"),
        "{messages:?}"
    );
    // It is a warning: the label is added to its theory so the mapping is kept.
    assert_eq!(
        imported.diagnostics[0].code,
        quandary::Code::ImportExtraLabel
    );
    assert!(!imported.has_errors());
}

#[test]
fn committed_files_are_the_importers_output() {
    let labels =
        String::from_utf8(read(format!("{DATA}/five_theories_label_config.json"))).expect("UTF-8");
    for imported in [import_data(None), import_data(Some(&labels))] {
        assert_only_the_known_stray_label(&imported);
        let names: Vec<String> = imported
            .files
            .iter()
            .map(|(p, _)| p.display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "wvs.qd",
                "mft.qd",
                "emotion.qd",
                "maslow.qd",
                "virtue.qd",
                "values.qd"
            ]
        );
        for (path, text) in &imported.files {
            let committed = String::from_utf8(read(Path::new(RULES).join(path))).unwrap();
            assert!(
                committed == *text,
                "{RULES}/{} is not what the importer writes: regenerate it with \
                 `cargo run -- import daily-dilemmas {DATA}/values.csv -o {RULES}`",
                path.display()
            );
        }
    }
    // And nothing else lives in the directory.
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join(RULES))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        on_disk,
        [
            "emotion.qd",
            "maslow.qd",
            "mft.qd",
            "values.qd",
            "virtue.qd",
            "wvs.qd"
        ]
    );
}

/// The label sets of the config, read independently of the importer.
fn config_labels() -> Vec<(String, Vec<String>)> {
    let json: serde_json::Value =
        serde_json::from_slice(&read(format!("{DATA}/five_theories_label_config.json"))).unwrap();
    COLUMNS
        .iter()
        .map(|(key, _)| {
            let labels = json[key]["labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l.as_str().unwrap().to_string())
                .collect();
            (key.to_string(), labels)
        })
        .collect()
}

/// Per theory: the non-empty cells of its column, and those whose label is in its set.
fn csv_counts() -> Vec<(usize, usize)> {
    let labels = config_labels();
    let bytes = read(format!("{DATA}/values.csv"));
    let mut reader = csv::Reader::from_reader(&bytes[..]);
    let header = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 301);
    COLUMNS
        .iter()
        .zip(&labels)
        .map(|((_, column), (_, set))| {
            let i = header.iter().position(|h| h == *column).unwrap();
            let cells: Vec<&str> = rows
                .iter()
                .map(|r| &r[i])
                .filter(|c| !c.is_empty())
                .collect();
            let known = cells
                .iter()
                .filter(|c| set.iter().any(|l| l.eq_ignore_ascii_case(c)))
                .count();
            (cells.len(), known)
        })
        .collect()
}

#[test]
fn values_load_cleanly_with_every_mapping() {
    let loaded = quandary::load_path(root().join(RULES).join("values.qd"));
    assert!(
        loaded.diagnostics.is_empty(),
        "{:?}",
        loaded
            .diagnostics
            .iter()
            .map(|d| &d.message)
            .collect::<Vec<_>>()
    );
    let f = &loaded.framework;
    let module = f.root_module();
    assert_eq!(module.values.len(), 301);
    assert_eq!(
        module.header.as_ref().unwrap().license.as_deref(),
        Some("CC BY 4.0")
    );

    let counts = csv_counts();
    // The non-empty cells of each column, and the one stray label (Emotion, line 177).
    let cells: Vec<usize> = counts.iter().map(|c| c.0).collect();
    assert_eq!(cells, [225, 217, 198, 268, 49]);
    let known: Vec<usize> = counts.iter().map(|c| c.1).collect();
    assert_eq!(known, [225, 217, 197, 268, 49]);

    for (((key, labels), (_, known)), (_, column)) in
        config_labels().iter().zip(&counts).zip(&COLUMNS)
    {
        let theory = module.imports[key.as_str()];
        // Values mapped into the theory: as many as the column has non-empty cells (the stray
        // label is added to its theory, so nothing the data set says is lost).
        let mapped: HashSet<_> = module
            .mappings
            .iter()
            .map(|&i| &f.mappings[i])
            .filter(|m| m.targets.iter().any(|&t| f.value(t).module == theory))
            .map(|m| m.value)
            .collect();
        let cells = counts
            .iter()
            .zip(&COLUMNS)
            .find(|(_, (_, c))| c == column)
            .map(|(c, _)| c.0);
        assert_eq!(
            Some(mapped.len()),
            cells,
            "values mapped into `{key}` ({column})"
        );
        let _ = known;
        // Every label of the theory is a value of its framework, in config order, followed
        // by the labels the data uses that the config lacks (only `aggressiveness`).
        let values: Vec<&str> = f
            .module(theory)
            .values
            .iter()
            .map(|&v| f.value(v).label.as_deref().unwrap())
            .collect();
        let mut expected: Vec<&str> = labels.iter().map(String::as_str).collect();
        if key == "emotion" {
            expected.push("aggressiveness");
        }
        assert_eq!(values, expected);
        assert_eq!(
            f.module(theory).header.as_ref().unwrap().id,
            key.as_str(),
            "framework id of `{key}`"
        );
    }
}

// ------------------------------------------------------------------------- the command

#[test]
fn cli_writes_the_committed_files() {
    let tmp = TempDir::new("data");
    let out_dir = tmp.path("out/nested");
    let out_str = out_dir.to_str().unwrap();
    for inputs in [
        vec![format!("{DATA}/values.csv")],
        vec![
            format!("{DATA}/five_theories_label_config.json"),
            format!("{DATA}/values.csv"),
        ],
    ] {
        let mut args = vec!["import", "daily-dilemmas"];
        args.extend(inputs.iter().map(String::as_str));
        args.extend(["-o", out_str, "--error-format", "plain"]);
        let out = quandary(&args);
        // The data set's one stray label is a warning (exit 0); everything is written.
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("values.csv line 177"),
            "{}",
            stderr(&out)
        );
        let listed: Vec<String> = stdout(&out).lines().map(str::to_string).collect();
        assert_eq!(listed.len(), 6, "{listed:?}");
        for line in &listed {
            let written = Path::new(line);
            let name = written.file_name().unwrap();
            assert_eq!(
                std::fs::read(written).unwrap(),
                read(Path::new(RULES).join(name)),
                "{line}"
            );
        }
        assert_eq!(files_in(&out_dir).len(), 6, "no temporary files left");
    }
}

/// A values file with a stray label (line 3), a short row (line 4) and a byte that is not
/// UTF-8 (line 5) between good rows.
const MALFORMED: &[u8] = b",value,WVS,MFT,Virtue,Emotion,Maslow\n\
0,trust,Survival,Loyalty,,trust,love and belonging\n\
1,honour,,Honour,,,\n\
2,short,Survival\n\
3,caf\xe9,,,,,safety\n\
4,courage,,,Courage,,self-esteem\n";

#[test]
fn cli_reports_bad_rows_and_imports_the_rest() {
    let tmp = TempDir::new("malformed");
    let csv = tmp.path("values.csv");
    std::fs::write(&csv, MALFORMED).unwrap();
    let out_dir = tmp.path("out");
    let args = [
        "import",
        "daily-dilemmas",
        csv.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
        "--error-format",
        "plain",
    ];
    let out = quandary(&args);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("values.csv line 3: \"Honour\" is not a label of `mft`"),
        "{err}"
    );
    assert!(
        err.contains("values.csv line 4: 3 fields where the header has 7"),
        "{err}"
    );
    assert!(
        err.contains("values.csv line 5: the `value` field is not UTF-8"),
        "{err}"
    );
    assert!(err.contains("2 errors, 1 warning"), "{err}");
    let values = std::fs::read_to_string(out_dir.join("values.qd")).unwrap();
    assert!(
        values.contains(
            "value trust \"trust\"\nvalue honour \"honour\"\nvalue courage \"courage\"\n"
        ),
        "{values}"
    );
    assert!(values.contains(
        "map trust => wvs.survival, mft.loyalty, emotion.trust, maslow.love_and_belonging\n\
         map honour => mft.honour\n\
         map courage => maslow.self_esteem, virtue.courage\n"
    ));
    assert!(!values.contains("short"));
    assert_eq!(files_in(&out_dir).len(), 6);

    // The written files check cleanly.
    let loaded = quandary::load_path(out_dir.join("values.qd"));
    assert!(loaded.diagnostics.is_empty());

    // With --strict: up to the first error (line 4; the warning on line 3 does not stop
    // it), and nothing written.
    let strict_dir = tmp.path("strict");
    let mut strict = args.to_vec();
    strict[4] = strict_dir.to_str().unwrap();
    strict.push("--strict");
    let out = quandary(&strict);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("values.csv line 4"), "{err}");
    assert!(!err.contains("line 5"), "{err}");
    assert!(stdout(&out).is_empty());
    assert!(files_in(&strict_dir).is_empty());
}

#[test]
fn cli_rejects_unrecognised_and_missing_inputs() {
    let tmp = TempDir::new("inputs");
    let dilemmas = tmp.path("dilemma.csv");
    std::fs::write(
        &dilemmas,
        ",idx,basic_situation,dilemma_situation\n0,0,a,b\n",
    )
    .unwrap();
    let out_dir = tmp.path("out");
    let out_str = out_dir.to_str().unwrap();

    let out = quandary(&[
        "import",
        "daily-dilemmas",
        dilemmas.to_str().unwrap(),
        "-o",
        out_str,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    // The data set's dilemma-level file is named for what it lacks, and the file to give.
    assert!(
        err.contains("holds the dilemmas without their actions"),
        "{err}"
    );
    assert!(
        err.contains(",idx,basic_situation,dilemma_situation"),
        "{err}"
    );
    assert!(err.contains("dilemmas_with_detail_by_action"), "{err}");

    // Any other table is not one of the data set's.
    let other = tmp.path("other.csv");
    std::fs::write(&other, "name,score\na,1\n").unwrap();
    let out = quandary(&[
        "import",
        "daily-dilemmas",
        other.to_str().unwrap(),
        "-o",
        out_str,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("is not a DailyDilemmas values file"), "{err}");
    assert!(err.contains("its header is `name,score`"), "{err}");

    let missing = tmp.path("missing.csv");
    let out = quandary(&[
        "import",
        "daily-dilemmas",
        missing.to_str().unwrap(),
        "-o",
        out_str,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));

    let out = quandary(&[
        "import",
        "daily-dilemmas",
        &format!("{DATA}/five_theories_label_config.json"),
        "-o",
        out_str,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("no values file"), "{}", stderr(&out));

    let bad_json = tmp.path("labels.json");
    std::fs::write(&bad_json, "{\"wvs\": ").unwrap();
    let out = quandary(&[
        "import",
        "daily-dilemmas",
        bad_json.to_str().unwrap(),
        &format!("{DATA}/values.csv"),
        "-o",
        out_str,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("labels.json: is not valid JSON"),
        "{}",
        stderr(&out)
    );

    assert!(files_in(&out_dir).is_empty(), "nothing is written");

    // No output directory: a usage error.
    let out = quandary(&["import", "daily-dilemmas", &format!("{DATA}/values.csv")]);
    assert_eq!(out.status.code(), Some(2));
}
