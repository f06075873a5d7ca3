//! rootwrap's privileged side, and the ruleset format it owns.
//!
//! The compiler builds rulesets with [`format::write_ruleset`] and runs policy
//! tests and explanations through [`matcher::decide`], the same code that
//! decides as root. Nothing in this crate parses text: regexes arrive as
//! serialized DFAs, user names are resolved by libc.

// Every index into a slice in the privileged path either cannot fail or
// says why it cannot (`#[expect(clippy::indexing_slicing, reason)]`).
#![warn(clippy::indexing_slicing)]

// In pipeline order (blank lines keep rustfmt from sorting them).
pub mod run; // `rootwrap RULESET CMD ARGS...`: the privileged path, end to end

pub mod daemon; // `rootwrap-daemon`: the same path for requests over a socket

pub mod format; // the ruleset file: header, writer, verified lazy reader

pub mod types; // what a ruleset holds: rules, patterns, options

pub mod matcher; // a command line against the rules, to a decision

pub mod action; // `@NAME`: native steps on pinned descriptors, in sequence

pub mod values; // recognizers for typed argument values

pub mod canonical; // path canonicalization that accepts a missing tail

pub mod pin; // `<path>` arguments pinned through descriptors

pub mod process; // `<pid>`: what a running process executes

pub mod binary; // the executable, opened and checked on its descriptor

pub(crate) mod owner; // who but root can change a file: one rule for every check

pub mod exec; // becoming the target user, then `execve`

pub mod audit; // one record per decision, to a JSON-lines file and syslog

pub(crate) mod syslog; // rootwrap's own `/dev/log` client

pub(crate) mod sys; // the one unsafe module: thin libc wrappers

// Shared by the steps above and by the compiler.
pub mod display; // patterns printed back in filter-file syntax
pub mod exit; // exit codes, one per way a call ends

pub use format::{Ruleset, RulesetError};
pub use matcher::{decide, Allowed, Decision, Fault, Invocation, Mismatch};
