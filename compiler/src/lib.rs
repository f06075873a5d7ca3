//! `rootwrap-compile`: the offline half of rootwrap. Parses filter files
//! (`.rwf`), validates and lints them, runs their policy tests with the
//! runtime's own matcher, and writes a reproducible binary ruleset.

// In pipeline order (blank lines keep rustfmt from sorting them).
pub mod syntax; // text to syntax trees

pub mod lower; // syntax trees to the lowered policy, validated

pub mod policy; // the lowered policy: rules with their sites, options, tests

pub mod lint; // warnings about legal but risky rules

pub mod compile; // the whole pipeline, to ruleset bytes

pub mod policy_tests; // `test` lines, run with the runtime's matcher

pub mod explain; // the runtime's decision for a command line, and why

pub mod oslo; // oslo.rootwrap filters to .rwf files

pub mod review; // list, info, diff, test and report: a ruleset for its reviewers

// Shared by the steps above.
pub mod diag; // diagnostics and the sources they point into
pub mod env; // what rules may let callers set in the environment
pub mod steps; // the most matching steps a rule can take

pub use compile::{compile_paths, compile_sources, Compiled, Failed};
pub use diag::{Diagnostic, Sources};
