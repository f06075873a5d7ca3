//! oslo.rootwrap conformance through the real `rootwrap` binary: the rows of
//! compiler/tests/conformance/oslo.conf that have `run:` lines (commands
//! that really run: output, exit status, target user, a child killed by a
//! signal) are compiled into rulesets owned by root, mode 0644, in a
//! scratch directory under /var/lib, and run by the binary as root.
//!
//! Needs root (a ruleset must be owned by root, and `as nobody` needs the
//! right to switch users); skipped with a message otherwise. CI runs it as
//! root.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

#[path = "../../compiler/tests/conformance/support.rs"]
mod support;

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rootwrap_compile::{compile_sources, Sources};
use rootwrap_tests::{binaries, require_root};

use support::{shown, Fixture, Row, Run, Through};

/// How many `run:` lines the data holds: deleting one fails the test.
const RUNS: usize = 21;

const SUDO: &str = "/usr/bin/sudo";

/// How a run ended.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Compiles the row into `dir/row-N.rwc`, owned by root, mode 0644.
fn install_ruleset(dir: &Path, row: &Row) -> PathBuf {
    let mut sources = Sources::default();
    let compiled = compile_sources(
        vec![(format!("oslo.conf row {}", row.number), row.source())],
        false,
        &mut sources,
    )
    .unwrap_or_else(|failed| {
        let shown: Vec<String> = sources.render_all(&failed.diagnostics);
        panic!("row {} does not compile:\n{}", row.number, shown.join("\n"))
    });
    let path = dir.join(format!("row-{}.rwc", row.number));
    fs::write(&path, &compiled.bytes).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let meta = fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o644));
    path
}

fn execute(rootwrap: &Path, ruleset: &Path, cwd: &Path, run: &Run) -> Outcome {
    let mut command = match run.through {
        Through::Direct => Command::new(rootwrap),
        Through::Sudo => {
            let mut sudo = Command::new(SUDO);
            sudo.arg("-n").arg(rootwrap);
            sudo
        }
        Through::Shell => {
            let mut sh = Command::new("/bin/sh");
            sh.args(["-c", "\"$@\"; exit $?", "sh"]).arg(rootwrap);
            sh
        }
    };
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .current_dir(cwd)
        .arg(ruleset)
        .args(&run.argv)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = run.stdin.clone().unwrap_or_default();
    let output = std::thread::scope(|scope| {
        scope.spawn(move || {
            // A command that does not read its stdin closes the pipe.
            let _ = stdin.write_all(input.as_bytes());
        });
        child.wait_with_output()
    })
    .unwrap();
    Outcome {
        code: output.status.code(),
        signal: output.status.signal(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `None` when the outcome is the expected one, else why not.
fn check(run: &Run, got: &Outcome) -> Option<String> {
    let mut wrong = Vec::new();
    if run.exit.is_some() && got.code != run.exit {
        wrong.push(format!(
            "exit status {:?}, signal {:?}",
            got.code, got.signal
        ));
    }
    if run.signal.is_some() && got.signal != run.signal {
        wrong.push(format!(
            "not killed by signal {:?}: exit status {:?}, signal {:?}",
            run.signal, got.code, got.signal
        ));
    }
    if let Some(stdout) = &run.stdout {
        if got.stdout != *stdout {
            wrong.push(format!("stdout {}", shown(&got.stdout)));
        }
    }
    if let Some(stderr) = &run.stderr {
        if got.stderr != *stderr {
            wrong.push(format!("stderr {}", shown(&got.stderr)));
        }
    }
    (!wrong.is_empty()).then(|| format!("{} (stderr: {})", wrong.join("; "), got.stderr.trim()))
}

#[test]
fn oslo_conformance_rows_through_the_runtime() {
    require_root!();
    let rootwrap = binaries().rootwrap.clone();
    let fixture = Fixture::new(Path::new("/var/lib"));
    let data = fixture.load().unwrap_or_else(|e| panic!("{e}"));
    let rulesets = fixture.root.join("rulesets");
    fs::create_dir(&rulesets).unwrap();
    fs::set_permissions(&rulesets, fs::Permissions::from_mode(0o755)).unwrap();
    let have_sudo = Path::new(SUDO).is_file();

    let mut failures = Vec::new();
    let mut runs = 0;
    for row in data.covered().filter(|r| !r.runs.is_empty()) {
        let ruleset = install_ruleset(&rulesets, row);
        for run in &row.runs {
            runs += 1;
            if run.through == Through::Sudo && !have_sudo {
                support::say(&format!(
                    "row {}: `{}` skipped: {SUDO} is not installed (.ci/run installs it)",
                    row.number, run.text
                ));
                continue;
            }
            let got = execute(&rootwrap, &ruleset, &fixture.root, run);
            if let Some(why) = check(run, &got) {
                failures.push(format!(
                    "row {} (oslo.conf:{}): `{}`\n      got {why}",
                    row.number, run.line, run.text
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} conformance run(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        runs, RUNS,
        "the number of `run:` lines in oslo.conf changed"
    );
}
