//! Root's CPU time on the worst arguments we can construct: what
//! `Ruleset::decide` costs (on this host: paths resolved and pinned) for
//! command lines built to make matching expensive. Each case is allowed or
//! denied as noted; the time is what a hostile caller buys per call.
//!
//! - `any-order-paths`: `stat { [<path /usr/**>] x8 }` with 8 different
//!   arguments of ~4 KB that resolve into /usr (`/usr/bin/../bin/...`):
//!   every order of the group is tried; each argument is resolved at most
//!   once per call, until the call's budget of path lookups runs out.
//! - `any-order-regex`: `echo { [re".*"] x8 } end` with 8 arguments of
//!   128 KiB (the kernel's limit for one argument): each pattern would scan
//!   each argument once per call; the call's budget of bytes searched ends
//!   it.
//! - `path-too-long`: one 130 KB path argument: refused unread.
//! - `symlink-fan-out`: 8 arguments through a chain of 40 symbolic links
//!   whose targets are long: the per-call budget of path lookups ends it.
//!
//! Run: `cargo bench -p rootwrap-bench --bench hostile -- --warm-up-time 1 --measurement-time 3`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::OsString;
use std::hint::black_box;
use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use rootwrap::format::Ruleset;
use rootwrap::matcher::Decision;
use rootwrap_bench::compile_text;

const RULES: &str = r#"ruleset hostile
exec-dirs /usr/bin /bin
allow stat-paths: stat { [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] }
allow echo-any: echo { [re".*"] [re".*"] [re".*"] [re".*"] [re".*"] [re".*"] [re".*"] [re".*"] } end
"#;

fn os(words: Vec<String>) -> Vec<OsString> {
    words.into_iter().map(OsString::from).collect()
}

/// A scratch tree: `links/l0 -> l1 -> ... -> l39 -> /usr/bin`, each link's
/// target padded with `./` to about 4 KB of components.
fn symlink_chain() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rw-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pad = "x/../".repeat(800);
    for i in 0..40 {
        let target = if i == 39 {
            format!("{}{pad}usr/bin", "../".repeat(dir.components().count()))
        } else {
            format!("{pad}l{}", i + 1)
        };
        std::os::unix::fs::symlink(target, dir.join(format!("l{i}"))).unwrap();
    }
    dir
}

fn hostile(c: &mut Criterion) {
    let bytes = compile_text("hostile.rwf", RULES.to_string()).unwrap();
    let ruleset = Ruleset::from_bytes(&bytes).unwrap();
    let mut group = c.benchmark_group("hostile");

    // Eight different spellings, so that each must be resolved: together
    // more lookups than a call may make.
    let mut argv = vec!["stat".to_string()];
    argv.extend((0..8).map(|i| format!("/usr/bin{}{}", "/.".repeat(i), "/../bin".repeat(580))));
    let argv = os(argv);
    group.bench_function("any-order-paths", |b| {
        b.iter(|| ruleset.decide(black_box(&argv), &rootwrap::matcher::OnThisHost))
    });

    let big = "a".repeat(128 * 1024 - 1);
    let mut argv = vec!["echo".to_string()];
    argv.extend(std::iter::repeat_n(big, 8));
    argv.push("end".into());
    let argv = os(argv);
    group.bench_function("any-order-regex", |b| {
        b.iter(|| ruleset.decide(black_box(&argv), &rootwrap::matcher::OnThisHost))
    });

    let argv = os(vec![
        "stat".into(),
        format!("/usr/bin{}", "/../bin".repeat(18_500)),
    ]);
    assert!(matches!(
        ruleset
            .decide(&argv, &rootwrap::matcher::OnThisHost)
            .unwrap(),
        Decision::Deny { .. }
    ));
    group.bench_function("path-too-long", |b| {
        b.iter(|| ruleset.decide(black_box(&argv), &rootwrap::matcher::OnThisHost))
    });

    let chain = symlink_chain();
    let mut argv = vec!["stat".to_string()];
    argv.extend(std::iter::repeat_n(
        chain.join("l0").display().to_string(),
        8,
    ));
    let argv = os(argv);
    group.bench_function("symlink-fan-out", |b| {
        b.iter(|| ruleset.decide(black_box(&argv), &rootwrap::matcher::OnThisHost))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&chain);
}

criterion_group!(benches, hostile);
criterion_main!(benches);
