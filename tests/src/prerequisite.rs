//! A test whose prerequisite is missing (root, `../shared`, python3): a
//! skip, said on stderr, on a developer's machine; a failure under
//! `CI=true`, where everything is provided and a skip would hide a test
//! that never ran.
//!
//! Shared by path with the compiler's tests (`#[path]`), which cannot
//! depend on this crate.

use std::io::Write as _;

/// Whether this is a CI run (`CI=true`).
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Fails the current test under `CI=true`; otherwise prints that it was
/// skipped, past the test harness's output capture (which would hide it for
/// a passing test), and returns so that the caller can return.
pub fn missing(why: &str) {
    let current = std::thread::current();
    let test = current.name().unwrap_or("test");
    #[allow(clippy::panic, reason = "failing the test is the point")]
    if in_ci() {
        panic!("{test} cannot run under CI=true: {why}");
    }
    let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
}
