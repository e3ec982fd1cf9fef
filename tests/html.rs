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
        "id=\"pairs-table\"",
        "id=\"graph\"",
        "id=\"ranking-table\"",
        "id=\"scenarios\"",
    ] {
        assert!(dom.contains(id), "the DOM lacks {id}");
    }
    assert!(count(&dom, "<rect class=\"pos\"") + count(&dom, "<rect class=\"neg\"") > 20);
    assert!(count(&dom, "<circle class=\"node\"") > 10);
    assert!(count(&dom, "class=\"cell\" data-pair=") > 10);
    // The script filled the list with the scenarios behind daily_dilemmas.honesty: each
    // with its options, the choice marked, the raw answer and the prompt as sent.
    let list = dom
        .split("<div id=\"scenarios\">")
        .nth(1)
        .and_then(|t| t.split("</section>").next())
        .expect("the list of scenarios");
    assert!(
        count(list, "<article class=\"scenario\"") >= 2,
        "no scenarios: {list}"
    );
    assert!(list.contains("class=\"chosen\""), "no chosen option marked");
    assert!(list.contains("<pre class=\"raw\">"), "no raw answer");
    assert!(
        list.contains("<details class=\"prompt\">") && list.contains("Answer with"),
        "no prompt as sent: {list}"
    );
    assert!(dom.contains("Scenarios where daily_dilemmas.honesty was in conflict"));
    let checks = harness(&browser, &dir, &page);
    assert_eq!(checks["overlaps"], serde_json::json!([]), "labels overlap");

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
    for results in [
        "tests/report/six.results.jsonl",
        "tests/html/browse.results.jsonl",
    ] {
        for format in ["json", "html", "md", "table"] {
            let args = ["report", results, "--format", format];
            let a = quandary(&args, root);
            let b = quandary(&args, root);
            assert_eq!(a, b, "{results} {format}");
            assert!(!a.is_empty());
        }
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
    let checks = harness(&browser, &dir, &page);
    assert_eq!(checks["overlaps"], serde_json::json!([]), "labels overlap");
}

/// What the harness script does in the page, after the page's own script: pages forward,
/// filters, reads the list back, and measures every text label of every SVG.
const HARNESS: &str = r#"<script>
(function () {
  var out = {};
  function $(id) { return document.getElementById(id); }
  function heads() {
    return Array.prototype.map.call(document.querySelectorAll('#scenarios article h3'), function (h) { return h.textContent; });
  }
  function set(id, value) { var e = $(id); e.value = value; e.dispatchEvent(new Event(id === 'f-text' ? 'input' : 'change')); }
  out.first = heads(); out.first_info = $('page-info').textContent;
  $('next').click();
  out.second = heads(); out.second_info = $('page-info').textContent;
  out.raw = Array.prototype.map.call(document.querySelectorAll('#scenarios pre.raw'), function (p) { return p.textContent; });
  $('prev').click();
  out.raw_first = Array.prototype.map.call(document.querySelectorAll('#scenarios pre.raw'), function (p) { return p.textContent; });
  out.readings = Array.prototype.map.call(document.querySelectorAll('#scenarios .readings'), function (p) { return p.textContent; });
  out.options = Array.prototype.map.call(document.querySelectorAll('#scenarios ol.options li'), function (p) { return p.textContent; });
  set('f-template', 'hospital');
  out.template = heads(); out.template_info = $('page-info').textContent;
  set('f-template', '');
  set('f-agree', 'twins-differ');
  out.differ = heads();
  set('f-agree', '');
  set('f-choice', 'error');
  out.errors = heads();
  set('f-choice', '');
  set('f-value', 'h.care');
  out.care = Array.prototype.map.call(document.querySelectorAll('#scenarios ol.options'), function (p) { return p.textContent; });
  set('f-value', '');
  out.epoch_hidden = $('epoch-filter').hidden;
  set('f-epoch', '1');
  out.epoch = heads(); out.epoch_info = $('page-info').textContent;
  set('f-epoch', '');
  out.title = document.title;
  out.overlaps = [];
  Array.prototype.forEach.call(document.querySelectorAll('svg'), function (svg) {
    var boxes = [];
    Array.prototype.forEach.call(svg.querySelectorAll('text'), function (t) {
      var b = t.getBBox();
      if (!t.textContent.trim() || b.width === 0 || b.height === 0) return;
      var m = t.getCTM();
      var xs = [], ys = [];
      [[b.x, b.y], [b.x + b.width, b.y], [b.x, b.y + b.height], [b.x + b.width, b.y + b.height]].forEach(function (p) {
        xs.push(m.a * p[0] + m.c * p[1] + m.e); ys.push(m.b * p[0] + m.d * p[1] + m.f);
      });
      boxes.push({ name: t.textContent, x0: Math.min.apply(null, xs), x1: Math.max.apply(null, xs),
                   y0: Math.min.apply(null, ys), y1: Math.max.apply(null, ys) });
    });
    out.labels = (out.labels || 0) + boxes.length;
    for (var i = 0; i < boxes.length; i++) for (var j = i + 1; j < boxes.length; j++) {
      var a = boxes[i], c = boxes[j];
      if (a.x0 < c.x1 - 0.5 && c.x0 < a.x1 - 0.5 && a.y0 < c.y1 - 0.5 && c.y0 < a.y1 - 0.5)
        out.overlaps.push((svg.id || 'svg') + ': "' + a.name + '" overlaps "' + c.name + '"');
    }
  });
  var pre = document.createElement('pre'); pre.id = 'harness'; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();
</script>"#;

/// Runs [`HARNESS`] on a copy of `page` in Chromium: what it found.
fn harness(browser: &Path, dir: &Path, page: &Path) -> serde_json::Value {
    let html = std::fs::read_to_string(page).expect("the page");
    let copy = dir.join("harness.html");
    let with = html.replacen("</body></html>", &format!("{HARNESS}</body></html>"), 1);
    assert_ne!(with, html, "the page ends with </body></html>");
    std::fs::write(&copy, with).expect("the copy");
    let dom = String::from_utf8(browse(
        browser,
        &dir.join("profile-harness"),
        &format!("file://{}", copy.display()),
        &["--dump-dom"],
    ))
    .expect("UTF-8 DOM");
    let text = dom
        .split("<pre id=\"harness\">")
        .nth(1)
        .and_then(|t| t.split("</pre>").next())
        .unwrap_or_else(|| panic!("the harness did not run: {dom}"));
    let text = text
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&");
    serde_json::from_str(&text).expect("the harness's JSON")
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|s| s.as_str().expect("a string").to_string())
        .collect()
}

/// The browser of scenarios on a fixture journal of 46 scenarios (23 twin pairs over four
/// values, one error, one unparsed answer, probabilities and two readings on some, and a
/// scenario and an answer that try to close the script): paging, filters, raw answers,
/// twins, escaping, and no two labels overlapping.
#[test]
fn the_scenario_browser_pages_and_filters_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html_browser");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let page = dir.join("report.html");
    quandary(
        &[
            "report",
            "tests/html/browse.results.jsonl",
            "--format",
            "html",
            "-o",
            page.to_str().expect("UTF-8"),
        ],
        root,
    );
    let html = std::fs::read_to_string(&page).expect("the page");
    // Untrusted text never closes the script element that holds it.
    assert_eq!(
        count(&html, "</script>"),
        2,
        "only the page's own scripts end"
    );
    assert!(!html.contains("<img src=x"));
    assert!(
        html.contains("id=\"heatmap\""),
        "four values that all met: a heatmap"
    );

    let out = harness(&browser, &dir, &page);
    assert_eq!(
        out["title"], "quandary report: browse",
        "a script in the data ran"
    );
    let first = strings(&out["first"]);
    let second = strings(&out["second"]);
    assert_eq!(first.len(), 20);
    assert!(first[0].starts_with("#0 · market · s000"), "{first:?}");
    assert_eq!(out["first_info"], "scenarios 1–20 of 46");
    // Next shows scenarios 21 to 40: indexes 20 to 39.
    assert_eq!(second.len(), 20);
    assert!(second[0].starts_with("#20 · "), "{second:?}");
    assert!(second[19].starts_with("#39 · "), "{second:?}");
    assert_eq!(out["second_info"], "scenarios 21–40 of 46");
    // The raw answers are shown as text, the hostile one too.
    let raw = strings(&out["raw"]);
    assert!(
        raw.contains(&"Answer B because reason-21".to_string()),
        "{raw:?}"
    );
    let raw_first = strings(&out["raw_first"]);
    assert_eq!(raw_first[0], "</script><img src=x onerror=alert(1)> A");
    assert!(raw_first.contains(&"timeout after 30 s".to_string()));
    // Probabilities per option, readings and the twin.
    let options = strings(&out["options"]);
    assert!(options[0].contains("p = 0.800"), "{options:?}");
    let readings = strings(&out["readings"]);
    assert!(
        readings[0].contains("logprobs → keep, parse → other")
            && readings[0]
                .contains("its twin #1 (options swapped) chose other: a different action"),
        "{readings:?}"
    );
    // Filters narrow the list.
    let template = strings(&out["template"]);
    assert!(!template.is_empty() && template.iter().all(|h| h.contains(" · hospital · ")));
    assert_eq!(
        out["template_info"],
        "scenarios 1–20 of 22 (of 46 in this page)"
    );
    let differ = strings(&out["differ"]);
    // Every third pair flips (k = 0, 3, …, 21: 8 pairs), less the pair with an error.
    assert_eq!(differ.len(), 14, "{differ:?}");
    assert!(
        differ.iter().any(|h| h.starts_with("#0 · "))
            && differ.iter().any(|h| h.starts_with("#1 · "))
    );
    assert_eq!(strings(&out["errors"]), ["#7 · hospital · s007"]);
    let care = strings(&out["care"]);
    assert!(
        !care.is_empty() && care.iter().all(|o| o.contains("h.care")),
        "{care:?}"
    );
    assert_eq!(out["overlaps"], serde_json::json!([]), "labels overlap");
    assert!(
        out["labels"].as_u64().unwrap_or(0) > 10,
        "few labels measured"
    );
    // One epoch: no epoch filter, no epoch in the headings.
    assert_eq!(out["epoch_hidden"], true);
    assert!(first.iter().all(|h| !h.contains("epoch")), "{first:?}");
}

/// A run asked in two epochs: the browser lists each scenario's answer in each epoch, and
/// filters by epoch.
#[test]
fn the_browser_lists_every_epoch_and_filters_by_it_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("html_epochs");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let s = |p: PathBuf| p.to_str().expect("UTF-8").to_string();
    let (suite, results, page) = (
        s(dir.join("suite.jsonl")),
        s(dir.join("results.jsonl")),
        dir.join("report.html"),
    );
    quandary(
        &[
            "expand",
            "scenarios/everyday.qd",
            "--count",
            "8",
            "-o",
            &suite,
        ],
        root,
    );
    quandary(
        &[
            "eval",
            &suite,
            "--adapter",
            "random",
            "--epochs",
            "3",
            "-o",
            &results,
        ],
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
    let out = harness(&browser, &dir, &page);
    let first = strings(&out["first"]);
    // 16 scenarios in 3 epochs: 48 answers, each scenario's epochs in turn.
    assert_eq!(out["first_info"], "scenarios 1–20 of 48");
    assert!(
        first[0].starts_with("#0 · ") && first[0].ends_with(" · epoch 0"),
        "{first:?}"
    );
    assert!(
        first[1].starts_with("#0 · ") && first[1].ends_with(" · epoch 1"),
        "{first:?}"
    );
    assert!(
        first[2].starts_with("#0 · ") && first[2].ends_with(" · epoch 2"),
        "{first:?}"
    );
    assert!(
        first[3].starts_with("#1 · ") && first[3].ends_with(" · epoch 0"),
        "{first:?}"
    );
    assert_eq!(out["epoch_hidden"], false);
    let epoch = strings(&out["epoch"]);
    assert_eq!(
        out["epoch_info"],
        "scenarios 1–16 of 16 (of 48 in this page)"
    );
    assert!(epoch.iter().all(|h| h.ends_with(" · epoch 1")), "{epoch:?}");
    // Twins are paired within an epoch: each reading names its twin's index.
    let readings = strings(&out["readings"]);
    assert!(
        readings.iter().all(|r| r.contains("its twin #")),
        "{readings:?}"
    );
}

/// Past its bound the page lists a sample of 5,000 answers that covers every template and
/// pair of values, says how many it left out and how to see them, and stays small.
#[test]
fn a_large_run_is_bounded_and_says_what_it_left_out() {
    let (_, page) = page_of(
        "html_bounded",
        &["scenarios/everyday.qd", "--count", "2510"],
    );
    let html = std::fs::read_to_string(&page).expect("the page");
    let note = html
        .split("<p id=\"bound-note\" class=\"notes\">")
        .nth(1)
        .and_then(|t| t.split("</p>").next())
        .expect("a note on the bound");
    assert!(
        note.starts_with("This page holds 5000 of the 5020 answers"),
        "{note}"
    );
    assert!(
        note.contains("holds the first ")
            && note.contains(" behind every value, pair of values and template"),
        "{note}"
    );
    assert!(
        note.contains("The other 20 are counted in every figure"),
        "{note}"
    );
    assert!(note.contains("quandary explain FILE ID"), "{note}");
    let data = html
        .split("<script type=\"application/json\" id=\"report-data\">")
        .nth(1)
        .and_then(|t| t.split("</script>").next())
        .expect("the data");
    let data: serde_json::Value = serde_json::from_str(data).expect("JSON");
    assert_eq!(data["scenarios"].as_array().map(Vec::len), Some(5000));
    assert_eq!(data["left_out"], 20);
    assert_eq!(data["answered"], 5020);
    // Every template and every pair of values the run met has answers in the page.
    let strings = strings(&data["strings"]);
    let kept =
        |f: &dyn Fn(&serde_json::Value) -> Vec<String>| -> std::collections::BTreeSet<String> {
            data["scenarios"]
                .as_array()
                .expect("scenarios")
                .iter()
                .flat_map(f)
                .collect()
        };
    let name =
        |v: &serde_json::Value| strings[v.as_u64().expect("a string's number") as usize].clone();
    let pairs = kept(&|s| {
        s["pr"]
            .as_array()
            .expect("pairs")
            .iter()
            .map(|p| format!("{}|{}", name(&p[0]), name(&p[1])))
            .collect()
    });
    let cells = data["cells"].as_object().expect("cells");
    let met: std::collections::BTreeSet<String> =
        cells.keys().filter(|k| k.contains('|')).cloned().collect();
    assert!(!met.is_empty());
    assert_eq!(pairs, met, "a pair of values without an answer in the page");
    let templates = kept(&|s| vec![name(&s["t"])]);
    let suite = std::fs::read_to_string(page.with_file_name("suite.jsonl")).expect("the suite");
    let all: std::collections::BTreeSet<String> = suite
        .lines()
        .skip(1)
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a scenario");
            v["template"].as_str().expect("a template").to_string()
        })
        .collect();
    assert_eq!(templates, all, "a template without an answer in the page");
    assert!(html.len() < 9 << 20, "{} bytes", html.len());
}

/// The page of `quandary drift` in a browser: one chart per value, drawn.
#[test]
fn the_drift_page_renders_in_chromium() {
    let Some(browser) = chromium() else {
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = cli::scratch("html_drift");
    let page = dir.join("drift.html");
    quandary(
        &[
            "drift",
            "tests/drift/step1.results.jsonl",
            "tests/drift/step2.results.jsonl",
            "tests/drift/step3.results.jsonl",
            "--format",
            "html",
            "-o",
            page.to_str().expect("UTF-8"),
        ],
        root,
    );
    let url = format!("file://{}", page.display());
    let dom = String::from_utf8(browse(
        &browser,
        &dir.join("profile"),
        &url,
        &["--dump-dom"],
    ))
    .expect("UTF-8 DOM");
    assert_eq!(count(&dom, "<figure id=\"chart-"), 4);
    assert_eq!(count(&dom, "<circle class=\"pt\""), 12);
    assert!(dom.contains("id=\"table\""));
}
