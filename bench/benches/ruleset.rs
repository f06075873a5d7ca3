//! Criterion benches of the runtime's in-process path, for rulesets of 10,
//! 1,000 and 10,000 rules made by `rootwrap_bench::generate_rwf` and compiled
//! with `rootwrap_compile::compile_sources`, stored in a temporary directory:
//!
//! - `open_verify_decode/N`: open the file, verify header and index
//!   (`Ruleset::from_source`), then read, verify and decode the bucket and
//!   section of `true` (`rules_for`);
//! - `decide/{true,true-args}/N`: `matcher::decide` on the rules of `true`
//!   (the matching rule is the last of them), already decoded: the context's
//!   lookup hands out a clone of them, whose cost `rules_clone/N` shows;
//! - `in_process/N`: what `rootwrap R.rwc true` does before `execve`: open
//!   (with the privileged path's owner and mode checks when the file is
//!   root's), verify, look up, decide (`Ruleset::decide`).
//!
//! Run: `cargo bench -p rootwrap-bench -- --warm-up-time 1 --measurement-time 3`.

// why: a bench-only binary; a failed set-up should stop it loudly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::OsString;
use std::fs::File;
use std::hint::black_box;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use rootwrap::format::{Rules, Ruleset, RulesetError};
use rootwrap::matcher::{decide, Context, Decision};
use rootwrap_bench::{
    compile_ruleset, measured_argv, measured_argv_with_args, MATCHING_RULE, MEASURED_COMMAND, SIZES,
};

struct Fixture {
    size: usize,
    path: PathBuf,
    rules: Rules,
    exec_dirs: Vec<String>,
    /// The file is root's and not writable by others: the bench can take
    /// the runtime's own `open_trusted` path.
    trusted: bool,
}

/// A directory removed when the bench ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fixtures(dir: &Path) -> Vec<Fixture> {
    SIZES
        .iter()
        .map(|&size| {
            let bytes = compile_ruleset(size).unwrap_or_else(|e| panic!("gen {size}: {e}"));
            let path = dir.join(format!("R{size}.rwc"));
            std::fs::write(&path, &bytes).unwrap();
            let meta = std::fs::metadata(&path).unwrap();
            let trusted = meta.uid() == 0 && meta.mode() & 0o022 == 0;
            let ruleset = Ruleset::from_source(Box::new(File::open(&path).unwrap())).unwrap();
            ruleset.verify_all().unwrap();
            let rules = ruleset.rules_for(MEASURED_COMMAND.as_bytes()).unwrap();
            let exec_dirs = ruleset.options().exec_dirs.clone();
            for argv in [measured_argv(), measured_argv_with_args()] {
                match decide_with(&rules, &argv, &exec_dirs) {
                    Decision::Allow(allowed) => assert_eq!(allowed.rule.name, MATCHING_RULE),
                    other => panic!("R{size}: the measured call is not allowed: {other:?}"),
                }
            }
            eprintln!(
                "R{size}: {} bytes, {} rules, {} for `true`; open path: {}",
                bytes.len(),
                ruleset.rule_count(),
                rules.len(),
                if trusted {
                    "run::open_trusted"
                } else {
                    "File::open + from_source (file not root's)"
                }
            );
            Fixture {
                size,
                path,
                rules,
                exec_dirs,
                trusted,
            }
        })
        .collect()
}

fn open(path: &Path, trusted: bool) -> Result<Ruleset<File>, RulesetError> {
    if trusted {
        rootwrap::run::open_trusted(path)
    } else {
        let file = File::open(path).map_err(RulesetError::Open)?;
        Ruleset::from_source(Box::new(file))
    }
}

/// The matcher alone: `rules` are the command's, already decoded.
fn decide_with(rules: &Rules, argv: &[OsString], exec_dirs: &[String]) -> Decision {
    // Shared, as a memoized ruleset hands them out.
    let lookup = |_: &[u8]| Ok(Rules::clone(rules));
    let ctx = Context::new(exec_dirs, &lookup, &rootwrap::matcher::OnThisHost);
    decide(argv, &ctx).unwrap()
}

/// `rootwrap R.rwc ARGV...` up to (not including) `execve`.
fn in_process(path: &Path, trusted: bool, argv: &[OsString]) -> bool {
    let Ok(ruleset) = open(path, trusted) else {
        return false;
    };
    matches!(
        ruleset.decide(argv, &rootwrap::matcher::OnThisHost),
        Ok(Decision::Allow(_))
    )
}

fn benches(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("rootwrap-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let dir = TempDir(dir);
    let fixtures = fixtures(&dir.0);

    let mut group = c.benchmark_group("open_verify_decode");
    for f in &fixtures {
        group.bench_with_input(BenchmarkId::from_parameter(f.size), f, |b, f| {
            b.iter(|| {
                let file = File::open(&f.path).unwrap();
                let ruleset = Ruleset::from_source(Box::new(file)).unwrap();
                black_box(ruleset.rules_for(black_box(MEASURED_COMMAND.as_bytes())))
            });
        });
    }
    group.finish();

    for (label, argv) in [
        ("decide/true", measured_argv()),
        ("decide/true-args", measured_argv_with_args()),
    ] {
        let mut group = c.benchmark_group(label);
        for f in &fixtures {
            group.bench_with_input(BenchmarkId::from_parameter(f.size), f, |b, f| {
                b.iter(|| {
                    black_box(decide_with(
                        black_box(&f.rules),
                        black_box(&argv),
                        black_box(&f.exec_dirs),
                    ))
                });
            });
        }
        group.finish();
    }

    let mut group = c.benchmark_group("rules_clone");
    for f in &fixtures {
        group.bench_with_input(BenchmarkId::from_parameter(f.size), f, |b, f| {
            b.iter(|| black_box(black_box(&f.rules).to_vec()));
        });
    }
    group.finish();

    let argv = measured_argv();
    let mut group = c.benchmark_group("in_process");
    for f in &fixtures {
        assert!(in_process(&f.path, f.trusted, &argv));
        group.bench_with_input(BenchmarkId::from_parameter(f.size), f, |b, f| {
            b.iter(|| black_box(in_process(&f.path, f.trusted, black_box(&argv))));
        });
    }
    group.finish();
}

criterion_group!(ruleset, benches);
criterion_main!(ruleset);
