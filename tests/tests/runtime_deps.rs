//! No parser runs as root: the runtime crate's normal dependency tree holds
//! reviewed crates only (an allow-list: no text parser and no
//! argument-parsing framework), and regex-automata comes with its search
//! features only (DFAs are built by the compiler).
//!
//! `cargo tree -p rootwrap` resolves features for the runtime alone, as
//! `cargo build -p rootwrap` does, so the compiler's features for the same
//! crates (regex-automata's `syntax`, `dfa-build`) do not show up here.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::Path;
use std::process::Command;

use rootwrap_tests::run;

/// Every crate the runtime's normal dependency tree may contain. A crate
/// not listed here fails the test: the runtime runs as root, so each of its
/// dependencies is reviewed (no text or command-line parser; small, and
/// maintained) before it is added to this list.
const ALLOWED: &[&str] = &[
    "rootwrap",
    // The ruleset file: bincode with serde.
    "bincode",
    "unty",
    "serde",
    "serde_core",
    "serde_bytes",
    // serde's derive macros: they run at build time, never as root.
    "serde_derive",
    "proc-macro2",
    "quote",
    "syn",
    "unicode-ident",
    // DFA search (the compiler builds the automata).
    "regex-automata",
    // Executable pins.
    "sha2",
    "digest",
    "block-buffer",
    "crypto-common",
    "generic-array",
    "typenum",
    "cfg-if",
    "cpufeatures",
    // System calls.
    "libc",
];

/// regex-automata features that build automata from patterns (and any
/// `unicode*` feature: Unicode tables are for building, too).
const FORBIDDEN_REGEX_FEATURES: &[&str] = &[
    "syntax",
    "dfa-build",
    "dfa-onepass",
    "hybrid",
    "meta",
    "nfa",
    "nfa-thompson",
    "nfa-backtrack",
    "nfa-pikevm",
];

/// `cargo tree -p rootwrap -e normal --prefix none` with `extra` options:
/// one line per crate.
fn cargo_tree(extra: &[&str]) -> Vec<String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let tree = run(Command::new(cargo)
        .args(["tree", "-p", "rootwrap", "-e", "normal", "--prefix", "none"])
        .args(extra)
        .arg("--manifest-path")
        .arg(manifest));
    assert_eq!(tree.code, 0, "cargo tree failed:\n{}", tree.stderr);
    tree.stdout_text().lines().map(str::to_string).collect()
}

/// The crate names in the runtime's normal dependency tree.
fn crate_names() -> Vec<String> {
    let mut names: Vec<String> = cargo_tree(&[])
        .iter()
        .filter_map(|line| line.split_whitespace().next().map(str::to_string))
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn the_runtime_depends_on_reviewed_crates_only() {
    let names = crate_names();
    // The expected dependencies are there: the listing was read correctly.
    for expected in ["rootwrap", "bincode", "regex-automata", "sha2", "serde"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
    let new: Vec<&String> = names
        .iter()
        .filter(|name| !ALLOWED.contains(&name.as_str()))
        .collect();
    assert!(
        new.is_empty(),
        "the runtime (which runs as root) has new dependencies {new:?}: review them \
         (no text or command-line parser may run as root) and add them to ALLOWED \
         in tests/tests/runtime_deps.rs"
    );
}

#[test]
fn regex_automata_comes_with_search_features_only() {
    let lines = cargo_tree(&["--format", "{p} [{f}]"]);
    let regex_automata: Vec<&String> = lines
        .iter()
        .filter(|line| line.starts_with("regex-automata "))
        .collect();
    assert!(!regex_automata.is_empty(), "no regex-automata in {lines:?}");
    for line in regex_automata {
        let features = line
            .rsplit_once('[')
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(features, _)| features)
            .unwrap_or_else(|| panic!("no feature list in {line:?}"));
        let features: Vec<&str> = features.split(',').filter(|f| !f.is_empty()).collect();
        assert!(features.contains(&"dfa-search"), "{line}");
        let building: Vec<&&str> = features
            .iter()
            .filter(|f| FORBIDDEN_REGEX_FEATURES.contains(f) || f.starts_with("unicode"))
            .collect();
        assert!(
            building.is_empty(),
            "regex-automata has pattern-building features {building:?} in the runtime: {line}"
        );
    }
}
