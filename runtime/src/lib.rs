//! rootwrap's privileged side, and the ruleset format it owns.
//!
//! The compiler builds rulesets with [`format::write_ruleset`] and runs policy
//! tests and explanations through [`matcher::decide`], the same code that
//! decides as root. Nothing in this crate parses text: regexes arrive as
//! serialized DFAs, user names are resolved by libc.

pub mod audit;
pub mod binary;
pub mod canonical;
mod codec;
pub mod daemon;
pub mod display;
pub mod exec;
pub mod exit;
pub mod format;
pub mod matcher;
pub mod pin;
pub mod process;
pub mod run;
pub mod sys;
pub mod syslog;
pub mod types;
pub mod values;

pub use format::{Ruleset, RulesetError};
pub use matcher::{decide, Allowed, Decision, Fault, Invocation, Mismatch};
pub use types::*;
