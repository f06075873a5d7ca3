//! `rootwrap --version`: the one argument the runtime reads as an option,
//! and only alone; anything else is the verbatim argv it always was.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::process::Command;

use rootwrap_tests::{binaries, run};

fn expected() -> String {
    format!(
        "rootwrap {} (reads ruleset format {})\n",
        env!("CARGO_PKG_VERSION"),
        rootwrap::format::FORMAT_VERSION
    )
}

#[test]
fn version_alone_prints_the_version_and_the_ruleset_format() {
    let ran = run(Command::new(&binaries().rootwrap).arg("--version"));
    assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);
    assert_eq!(ran.stdout_text(), expected());
    assert_eq!(ran.stderr, "");
}

#[test]
fn version_with_anything_else_stays_verbatim_argv() {
    let rootwrap = &binaries().rootwrap;
    // `--version` as a ruleset path, followed by a command: a relative path,
    // refused before anything is opened (97).
    let ran = run(Command::new(rootwrap).args(["--version", "id"]));
    assert_eq!(ran.code, 97, "stderr: {}", ran.stderr);
    assert!(ran.stdout_text().is_empty(), "{}", ran.stdout_text());
    // `--version` as the command after a ruleset path: a command word, not
    // an option; the ruleset (missing here) is what fails.
    let ran = run(Command::new(rootwrap).args(["/nonexistent/rootwrap.rwc", "--version"]));
    assert_eq!(ran.code, 97, "stderr: {}", ran.stderr);
    assert!(ran.stdout_text().is_empty(), "{}", ran.stdout_text());
    // Other spellings are not the option.
    for spelling in ["-V", "--Version", "version", "--version="] {
        let ran = run(Command::new(rootwrap).arg(spelling));
        assert_ne!(ran.code, 0, "{spelling}: {}", ran.stdout_text());
        assert!(
            ran.stdout_text().is_empty(),
            "{spelling}: {}",
            ran.stdout_text()
        );
    }
}
