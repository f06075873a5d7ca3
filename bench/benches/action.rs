//! The in-process cost of one native file step: what `rootwrap R.rwc
//! @NAME ARGS` does between opening the ruleset and writing its record,
//! for an action of one step:
//!
//! - `decide/chmod`: the action's parameters decided (`Ruleset::decide`
//!   on the action host: the path canonicalized, checked, its directory
//!   opened beneath the scope) and its steps read (`Ruleset::action`);
//! - `decide_and_act/chmod`: the same, then the step (`chmod f 0644`: the
//!   entry opened `O_PATH` beneath the directory, checked, `fchmodat2`);
//! - `decide_and_act/write`: the same with `write f from "x" replace` (a
//!   new file, its owner and mode set, synced, renamed over the name).
//!
//! The ruleset is memoized, as the daemon holds it: its sections are
//! decoded once, not per call.
//!
//! Target: under 50 µs for decide plus act (issue 11).
//!
//! Run: `cargo bench -p rootwrap-bench --bench action -- --warm-up-time 1 --measurement-time 3`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a benchmark fails by panicking"
)]

use std::ffi::OsString;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use rootwrap::action::{run_sequence, ActionHost, Bound, Runner};
use rootwrap::format::Ruleset;
use rootwrap::matcher::{Decision, Fault};
use rootwrap::types::RunAs;
use rootwrap_bench::compile_text;

fn bench(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("rw-bench-action-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data/d")).unwrap();
    std::fs::write(dir.join("data/d/f"), "x").unwrap();
    let dir = std::fs::canonicalize(&dir).unwrap();
    let scope = dir.join("data").display().to_string();
    let text = format!(
        r#"ruleset bench
exec-dirs /usr/bin /bin
action mode (f: <path {scope}/**>):
    chmod f 0644
action put (f: <path-entry {scope}/**>):
    write f from "x" max 16 replace
"#
    );
    let bytes = compile_text("action.rwf", text).unwrap();
    let ruleset = Ruleset::from_bytes(&bytes).unwrap().memoized();
    let file = dir.join("data/d/f").into_os_string();
    let argv = |name: &str| vec![OsString::from(name), file.clone()];
    let no_run =
        |_: &[OsString]| -> Result<Decision, Fault> { Ok(Decision::Deny { tried: Vec::new() }) };
    let once = |argv: &[OsString], act: bool| {
        let Ok(Decision::Allow(allowed)) = ruleset.decide(argv, &ActionHost) else {
            panic!("not allowed: {argv:?}");
        };
        let action = ruleset.action(argv[0].as_encoded_bytes()).unwrap().unwrap();
        if act {
            let bound = Bound::new(&allowed);
            let (mut input, mut output) = (&b""[..], Vec::new());
            let ended = run_sequence(
                &action,
                &bound,
                &mut Runner {
                    exec_dirs: &[],
                    run_as: &RunAs::Root,
                    decide: &no_run,
                    stdin: &mut input,
                    stdout: &mut output,
                },
            );
            assert_eq!(ended.status(), 0, "{ended:?}");
        }
        black_box(action);
    };
    let chmod = argv("@mode");
    let put = argv("@put");
    c.bench_function("decide/chmod", |b| b.iter(|| once(&chmod, false)));
    c.bench_function("decide_and_act/chmod", |b| b.iter(|| once(&chmod, true)));
    c.bench_function("decide_and_act/write", |b| b.iter(|| once(&put, true)));
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
