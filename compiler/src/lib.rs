//! `rootwrap-compile`: the offline half of rootwrap. Parses filter files
//! (`.rwf`), validates and lints them, runs their policy tests with the
//! runtime's own matcher, and writes a reproducible binary ruleset.

pub mod compile;
pub mod diag;
pub mod env;
pub mod explain;
pub mod lint;
pub mod lower;
pub mod oslo;
pub mod policy;
pub mod policy_tests;
pub mod steps;
pub mod syntax;

pub use compile::{compile_paths, compile_sources, Compiled, Failed};
pub use diag::{Diagnostic, Sources};
