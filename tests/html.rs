//! The HTML report in a real browser: headless Chromium loads the page from disk, runs its
//! script, and the test reads the resulting DOM and a screenshot.
//!
//! Chromium is Debian's `chromium` package (`scripts/test` installs it and sets
//! `QUANDARY_REQUIRE_TOOLS=1`, so CI cannot skip this test); `QUANDARY_CHROMIUM` names
//! another binary. Without a browser the test is skipped and says so.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "support/cli.rs"]
mod cli;
#[path = "support/tools.rs"]
mod tools;

/// Runs the binary in `dir`; it must succeed. Its standard output.
fn quandary(args: &[&str], dir: &Path) -> String {
    cli::ok(dir, args)
}

/// The browser to test with; `None` (the test skipped, see `support/tools.rs`) when there
/// is none.
fn chromium() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("QUANDARY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let found = ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    if found.is_none() {
        tools::skip(
            "the HTML report in a browser",
            "no Chromium found (apt-get install chromium)",
        );
    }
    found
}

/// Runs Chromium headless on `url` with extra arguments; its standard output.
fn browse(browser: &Path, profile: &Path, url: &str, extra: &[&str]) -> Vec<u8> {
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=1200,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .output()
        .expect("chromium starts");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Expands `expand` (a file and its flags) into a fresh folder `name`, answers it with the
/// random baseline and writes the HTML report: the folder and the page.
fn page_of(name: &str, expand: &[&str]) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let s = |p: PathBuf| p.to_str().expect("UTF-8").to_string();
    let suite = s(dir.join("suite.jsonl"));
    let results = s(dir.join("results.jsonl"));
    let page = dir.join("report.html");
    let mut args = vec!["expand"];
    args.extend_from_slice(expand);
    args.extend(["-o", &suite]);
    quandary(&args, root);
    quandary(
        &["eval", &suite, "--adapter", "random", "-o", &results],
        root,
    );
    quandary(
        &[
            "report",
            &results,
            "--format",
            "html",
            "-o",
            &s(page.clone()),
        ],
        root,
    );
    (dir, page)
}

#[test]
fn the_html_report_renders_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let (dir, page) = page_of("html_report", &["scenarios/everyday.qd", "--count", "300"]);
    let html = std::fs::read_to_string(&page).expect("the page");
    // Self-contained: nothing is fetched.
    for remote in ["http://", "https://", "src=\""] {
        assert!(!html.contains(remote), "the page refers to `{remote}`");
    }

    // The DOM after the script ran, opened on one value's scenarios.
    let profile = dir.join("profile");
    let url = format!(
        "file://{}#value=values%3Adaily_dilemmas.honesty",
        page.display()
    );
    let dom =
        String::from_utf8(browse(&browser, &profile, &url, &["--dump-dom"])).expect("UTF-8 DOM");
    for id in [
        "id=\"summary\"",
        "id=\"chart-values\"",
        "id=\"chart-labels-mft\"",
        "id=\"heatmap\"",
        "id=\"graph\"",
        "id=\"ranking-table\"",
        "id=\"scenarios\"",
    ] {
        assert!(dom.contains(id), "the DOM lacks {id}");
    }
    assert!(count(&dom, "<rect class=\"pos\"") + count(&dom, "<rect class=\"neg\"") > 20);
    assert!(count(&dom, "<circle class=\"node\"") > 10);
    assert!(count(&dom, "class=\"cell\" data-pair=") > 10);
    // The script filled the table of scenarios behind daily_dilemmas.honesty.
    let table = dom
        .split("<table id=\"scenarios\">")
        .nth(1)
        .and_then(|t| t.split("</table>").next())
        .expect("the scenarios table");
    assert!(count(table, "<tr>") >= 2, "no scenario rows: {table}");
    assert!(
        table.contains("class=\"chosen\""),
        "no chosen option marked"
    );
    assert!(dom.contains("Scenarios where daily_dilemmas.honesty was in conflict"));

    // A screenshot that is not blank: many distinct colours, and the chart colours.
    let shot = dir.join("shot.png");
    browse(
        &browser,
        &profile,
        &format!("file://{}", page.display()),
        &[&format!("--screenshot={}", shot.display())],
    );
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&shot).expect("a screenshot"),
    ));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let channels = info.color_type.samples();
    let mut colours = std::collections::BTreeSet::new();
    let mut blue = 0usize;
    for px in pixels[..info.buffer_size()].chunks(channels) {
        colours.insert((px[0], px[1], px[2]));
        blue += usize::from(px[0] == 0x24 && px[1] == 0x71 && px[2] == 0xa3);
    }
    assert!(
        info.width >= 1000 && info.height >= 2000,
        "{}x{}",
        info.width,
        info.height
    );
    assert!(colours.len() > 50, "only {} colours: blank?", colours.len());
    assert!(blue > 500, "only {blue} pixels of the bars' blue");
}

/// The same results and seed give the same bytes, in every format.
#[test]
fn reports_are_byte_identical_across_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for format in ["json", "html", "md", "table"] {
        let a = quandary(
            &[
                "report",
                "tests/report/six.results.jsonl",
                "--format",
                format,
            ],
            root,
        );
        let b = quandary(
            &[
                "report",
                "tests/report/six.results.jsonl",
                "--format",
                format,
            ],
            root,
        );
        assert_eq!(a, b, "{format}");
        assert!(!a.is_empty());
    }
}

/// Survey questions and stances in the page: the similarity chart and the stance table.
#[test]
fn the_survey_part_renders_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let (dir, page) = page_of("html_survey", &["tests/expand/survey.qd"]);
    let url = format!("file://{}", page.display());
    let dom = String::from_utf8(browse(
        &browser,
        &dir.join("profile"),
        &url,
        &["--dump-dom"],
    ))
    .expect("UTF-8 DOM");
    for id in [
        "id=\"chart-survey\"",
        "id=\"survey-table\"",
        "id=\"stance-table\"",
    ] {
        assert!(dom.contains(id), "the DOM lacks {id}");
    }
    // One plain bar per population with a reference: France, Japan and Korea.
    assert_eq!(count(&dom, "<rect class=\"pos\""), 3);
    assert!(
        !dom.contains("id=\"chart-values\""),
        "no dilemmas, no value chart"
    );
}
