//! `rootwrap-compile report`'s page, opened in a real headless browser
//! (Debian's `chromium`, which .ci/run installs): it loads without a single
//! console message (no script error, no resource the page's
//! Content-Security-Policy had to block), its script runs, and the rule
//! count it shows is the ruleset's. A screenshot is kept in
//! `target/review-report/` for CI's logs.
//!
//! Skipped when chromium is missing, except under `CI=true`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use rootwrap_tests::{binaries, prerequisite, run, Ran, Scratch};

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Chromium, headless, on a local page: with `--dump-dom`, stdout is the
/// DOM once the page's scripts ran; with `--enable-logging=stderr`, every
/// console message is a `:CONSOLE` line on stderr.
fn browse(chromium: &Path, profile: &Path, page: &Path, mode: &[&str]) -> Ran {
    // `timeout` only keeps a hung browser from hanging the suite.
    run(Command::new("timeout")
        .arg("300")
        .arg(chromium)
        .args([
            "--headless",
            "--disable-gpu",
            // Root (CI) cannot use chromium's sandbox.
            "--no-sandbox",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(mode)
        .arg(format!("file://{}", page.display())))
}

fn console_messages(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// The number in `<span id="ID">N</span>` of a page.
fn number_in(page: &str, id: &str) -> usize {
    let start = format!("<span id=\"{id}\">");
    let at = page
        .find(&start)
        .unwrap_or_else(|| panic!("no #{id} in the page"))
        + start.len();
    page[at..]
        .split('<')
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("#{id}: {e}"))
}

#[test]
fn the_report_loads_cleanly_in_a_headless_browser() {
    let Some(chromium) = chromium() else {
        prerequisite::missing("chromium is not installed (apt-get install chromium)");
        return;
    };
    let scratch = Scratch::new("review-report");
    let filters = Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
    let compile = &binaries().compile;
    // The shipped filters, against one of their files alone: every kind
    // of rule, actions, findings, a diff that grew.
    let old = scratch.join("old.rwc");
    let built = run(Command::new(compile)
        .arg("-o")
        .arg(&old)
        .arg(filters.join("compute-agent.rwf")));
    assert_eq!(built.code, 0, "{}", built.stderr);
    let page_path = scratch.join("report.html");
    let made = run(Command::new(compile)
        .arg("report")
        .arg(&filters)
        .arg("--against")
        .arg(&old)
        .arg("-o")
        .arg(&page_path));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let listed = run(Command::new(compile).args(["list", "--json"]).arg(&filters));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    let listing: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    let rules = listing["ruleset"]["rules"].as_u64().unwrap() as usize;
    assert!(rules > 10, "{rules}");

    let profile = Scratch::new("review-report-profile");
    let shown = browse(&chromium, profile.path(), &page_path, &["--dump-dom"]);
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    let dom = shown.stdout_text();
    assert_eq!(
        console_messages(&shown.stderr),
        Vec::<&str>::new(),
        "the page logged to the console"
    );
    assert!(
        dom.contains("data-ready=\"yes\""),
        "the page's script did not finish:\n{dom}"
    );
    assert_eq!(number_in(&dom, "rule-count"), rules);
    assert_eq!(number_in(&dom, "rendered-count"), rules);
    assert_eq!(dom.matches("<article class=\"rule\"").count(), rules);
    assert!(dom.contains("id=\"diff-verdict\" class=\"grows\""));

    // The check above can fail: a page with a script error and a blocked
    // image is caught by it.
    let bad = scratch.join("bad.html");
    fs::write(
        &bad,
        "<!DOCTYPE html><html><head><meta http-equiv=\"Content-Security-Policy\" \
         content=\"default-src 'none'; script-src 'unsafe-inline'\"></head><body>\
         <img src=\"https://example.invalid/x.png\"><script>missing();</script></body></html>",
    )
    .unwrap();
    let caught = browse(&chromium, profile.path(), &bad, &["--dump-dom"]);
    let messages = console_messages(&caught.stderr);
    assert!(
        messages
            .iter()
            .any(|m| m.contains("Uncaught ReferenceError"))
            && messages
                .iter()
                .any(|m| m.contains("Content Security Policy")),
        "the console messages were not seen: {}",
        caught.stderr
    );

    // The screenshot, kept for CI's logs.
    let kept = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/review-report");
    fs::create_dir_all(&kept).unwrap();
    let screenshot = kept.join("report.png");
    let _ = fs::remove_file(&screenshot);
    let taken = browse(
        &chromium,
        profile.path(),
        &page_path,
        &[
            &format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2400",
            "--hide-scrollbars",
        ],
    );
    assert_eq!(taken.code, 0, "{}", taken.stderr);
    let png = fs::read(&screenshot).unwrap_or_else(|e| panic!("{}: {e}", screenshot.display()));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    fs::copy(&page_path, kept.join("report.html")).unwrap();
    eprintln!("screenshot of the review report: {}", screenshot.display());
}
