//! Compiler diagnostics, tested whole: each `diagnostics/NAME.rwf` is put to
//! `rootwrap-compile check`, and what it prints on stderr must equal
//! `diagnostics/NAME.stderr`, byte for byte; the exit code is 1 when that
//! output holds an error, 0 otherwise. A directory `NAME.d` is a case of
//! several files, given together.
//!
//! `UPDATE_EXPECT=1 cargo test -p rootwrap-compile --test diagnostics`
//! writes the expected files from the current output instead (review the
//! diff before committing it). Paths are normalized: the check runs in the
//! cases' directory on the file's bare name, and the directory's absolute
//! path, should it show up, is written `$DIR`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diagnostics")
}

/// `rootwrap-compile check NAME.rwf`, run in the cases' directory: its exit
/// code and its stderr with the directory's path normalized.
fn check(dir: &Path, file: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rootwrap-compile"))
        .arg("check")
        .arg(file)
        .current_dir(dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let stderr = stderr.replace(&dir.display().to_string(), "$DIR");
    (output.status.code().unwrap_or(-1), stderr)
}

#[test]
fn every_case_prints_its_expected_diagnostics() {
    let dir = cases_dir();
    let update = std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1");
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    // `NAME.d/`: several files, compiled together in name order (a
    // packaged file and a site's).
    let cases: Vec<&str> = names
        .iter()
        .filter_map(|n| n.strip_suffix(".rwf").or_else(|| n.strip_suffix(".d")))
        .collect();
    assert!(cases.len() > 10, "too few cases in {}", dir.display());
    // An expected file without its case is a case lost in a rename.
    for name in &names {
        if let Some(stem) = name.strip_suffix(".stderr") {
            assert!(cases.contains(&stem), "{name} has no {stem}.rwf");
        }
    }
    let mut failures = Vec::new();
    for case in &cases {
        let input = match dir.join(format!("{case}.d")).is_dir() {
            true => format!("{case}.d"),
            false => format!("{case}.rwf"),
        };
        let (code, got) = check(&dir, &input);
        let expected_path = dir.join(format!("{case}.stderr"));
        if update {
            fs::write(&expected_path, &got).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path).unwrap_or_else(|e| {
            panic!(
                "{}: {e} (UPDATE_EXPECT=1 writes it)",
                expected_path.display()
            )
        });
        if got != expected {
            failures.push(format!(
                "{input}: the output differs from {case}.stderr\n--- expected\n{expected}--- got\n{got}"
            ));
        }
        let has_error = expected.lines().any(|l| l.starts_with("error"));
        if code != i32::from(has_error) {
            failures.push(format!(
                "{input}: exit code {code}, error lines: {has_error}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases fail (UPDATE_EXPECT=1 rewrites the expected files):\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
