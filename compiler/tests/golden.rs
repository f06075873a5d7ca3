//! The matcher's golden corpus: each `golden/*.golden` file is a filter file
//! and a table of command lines with the expected decision, rule and
//! executed argv/env/user, in the notation of the oslo conformance table
//! (parsed and compared by the same code, conformance/support.rs). Run through the compiler, the encoded ruleset and
//! the runtime's `decide`, exactly as `rootwrap` decides on this host.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use rootwrap::format::Ruleset;
use rootwrap_compile::{compile_sources, Sources};

// The case notation (`ARGV => EXPECTED`) and its comparison with a
// decision are the conformance table's.
#[path = "conformance/support.rs"]
mod support;

/// A scratch tree for path cases (see golden/paths.golden).
fn make_tree() -> PathBuf {
    let base = std::env::temp_dir().join(format!("rw-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for dir in ["inside", "outside", "images", "images2", "mapper", "inst/a"] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
    }
    // Paths are pinned: a `<path>` names an existing object.
    for file in ["inside/file", "inside/x", "images/a", "inst/a/b"] {
        std::fs::write(base.join(file), "").unwrap();
    }
    std::os::unix::fs::symlink("../outside", base.join("inside/up")).unwrap();
    std::os::unix::fs::symlink("file", base.join("inside/self")).unwrap();
    std::fs::canonicalize(base).unwrap()
}

fn run_golden(path: &Path, tmp: &Path, sleep_pid: u32) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("@TMP@", &tmp.display().to_string())
        .replace("@SLEEP_PID@", &sleep_pid.to_string())
        .replace("@SELF_PID@", &std::process::id().to_string());
    let (source, cases) = text
        .split_once("\n---\n")
        .expect("a `---` line separates source and cases");
    let mut sources = Sources::default();
    let compiled = match compile_sources(
        vec![(path.display().to_string(), source.to_string())],
        false,
        &mut sources,
    ) {
        Ok(compiled) => compiled,
        Err(failed) => {
            let shown: Vec<String> = sources.render_all(&failed.diagnostics);
            panic!("{} does not compile:\n{}", path.display(), shown.join("\n"));
        }
    };
    let ruleset = Ruleset::from_bytes(&compiled.bytes).unwrap();
    let exec_dirs = ruleset.options().exec_dirs.clone();
    let mut failures = Vec::new();
    // Cases are numbered by their line in the file.
    let first_case_line = source.lines().count() + 2;
    for (number, line) in cases.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line_number = first_case_line + number;
        let case = support::parse_case(line_number, line)
            .unwrap_or_else(|e| panic!("{}:{line_number}: {e}", path.display()));
        let decision = ruleset
            .decide(&case.argv, &rootwrap::matcher::OnThisHost)
            .unwrap();
        if let Some(why) = support::compare(&case, &decision, &exec_dirs) {
            failures.push(format!(
                "{}:{line_number}: `{}`\n    expected: {}\n    {why}",
                path.display(),
                support::show_argv(&case.argv),
                line.split_once("=>").map_or("", |(_, e)| e.trim())
            ));
        }
    }
    failures
}

#[test]
fn golden_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "golden files missing in {}",
        dir.display()
    );
    let tmp = make_tree();
    let mut sleeper = std::process::Command::new("/usr/bin/sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let failures: Vec<String> = files
        .iter()
        .flat_map(|f| run_golden(f, &tmp, sleeper.id()))
        .collect();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        failures.is_empty(),
        "{} golden case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
