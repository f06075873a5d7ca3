//! Matching a caller's command line against rules. The very same code runs
//! as root in `rootwrap`, in the compiler's policy tests and in `explain`.
#![forbid(unsafe_code)]

mod invocation; // argv to command, assignments and arguments

mod decide; // the rules a call selects, in order, to a decision

mod rule; // one rule against one call, chains included

mod walk; // the rule's items, with backtracking bounds

mod args; // one argument against one pattern

mod ip; // `<ip-args...>` refusals

mod host; // everything asked of the host, cached per call

#[cfg(test)]
mod tests;

pub use args::{match_arg, match_path};
pub use decide::{decide, denying_rule, disabled_match, Allowed, Decision};
pub use host::{resolve_executable, AssumeInstalled, Host, OnThisHost};
pub use invocation::{selector, Invocation};
pub use rule::match_rule;

use std::cell::Cell;
use std::ffi::OsStr;
use std::fmt;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use host::PathCache;

use crate::binary::{Binary, Refusal};
use crate::format::{Rules, RulesetError};
use crate::pin::PinnedPath;
use crate::process;
use crate::types::{Disabled, Rule};

/// Why a rule did not match: shown by `explain` and policy tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The caller's argv[0] is not a spelling of the rule's command.
    Command,
    /// The rule needs `env NAME=VALUE ...` assignments and none were given.
    EnvRequired,
    /// Assignments were given but the rule allows none.
    EnvNotAllowed,
    EnvMissing(String),
    EnvUnexpected(String),
    EnvDuplicate(String),
    EnvValue {
        name: String,
        pattern: String,
    },
    /// The argument at this position (1 = first after the command) failed.
    Arg {
        position: usize,
        value: String,
        pattern: String,
    },
    /// The command line ended where this pattern needed an argument.
    Missing {
        position: usize,
        pattern: String,
    },
    /// The argument at this position names a process that is not one of
    /// a `<pid>` pattern's targets.
    Process {
        position: usize,
        why: process::NotTarget,
    },
    /// Arguments from this position on are not allowed.
    Extra {
        position: usize,
        value: String,
    },
    /// `then allowed`: nothing follows to run.
    ChainEmpty,
    /// `then allowed`: no rule allows the chained command line. `reason`
    /// is the last rule's; `tried` holds every rule for the chained
    /// command, with why it did not allow it.
    ChainDenied {
        reason: String,
        tried: Vec<(Rule, Mismatch)>,
    },
    /// `via CHAIN, ...`: the rule allows only command lines chained through
    /// these rules.
    ViaOnly(Vec<String>),
    /// A chained command line's rule chains too: chains do not nest.
    ChainNested,
    /// A chained command line's rule runs as another user than the chain's.
    ChainUser,
    /// A chained command line's rule matches, but its executable is missing.
    ChainMissing,
    /// `<ip-args...>`: a forbidden `ip` usage.
    IpArgs(String),
    /// A `deny` rule matches the call (for a chain, the chained command
    /// line): the call is denied whatever allows it.
    DeniedBy(Box<Rule>),
    /// The rule matches, but a `disable` turned it off.
    Disabled(Disabled),
    /// A path within the scope that cannot be handed to the command
    /// (a symbolic link below the base, a directory someone else can
    /// change for `<path-unpinned>`, ...).
    Path {
        value: String,
        reason: String,
    },
}

/// Why a call cannot be decided: never a denial by a rule, which
/// [`Mismatch`] is.
#[derive(Debug)]
pub enum Fault {
    /// The call needs more work than its budgets allow (steps through a
    /// rule, path lookups, bytes searched by regexes): refused.
    TooComplex,
    /// The ruleset is damaged (exit 97).
    Ruleset(RulesetError),
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TooComplex => write!(f, "the call needs too many steps to decide"),
            Fault::Ruleset(e) => write!(f, "{e}"),
        }
    }
}

impl From<RulesetError> for Fault {
    fn from(e: RulesetError) -> Fault {
        Fault::Ruleset(e)
    }
}

/// Why matching a rule stopped: inside the matcher only; its callers get a
/// [`Mismatch`] and a [`Fault`] apart.
enum Stop {
    Mismatch(Mismatch),
    Fault(Fault),
}

impl From<Mismatch> for Stop {
    fn from(why: Mismatch) -> Stop {
        Stop::Mismatch(why)
    }
}

impl From<Fault> for Stop {
    fn from(fault: Fault) -> Stop {
        Stop::Fault(fault)
    }
}

/// Splits a result into "does not match" within "cannot decide".
fn split<T>(result: Result<T, Stop>) -> Result<Result<T, Mismatch>, Fault> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(Stop::Mismatch(why)) => Ok(Err(why)),
        Err(Stop::Fault(fault)) => Err(fault),
    }
}

impl Mismatch {
    /// How far matching got: the argument position it failed at (0 for a
    /// rule that fails before its arguments). Closer candidates first.
    pub fn reached(&self) -> usize {
        match self {
            Mismatch::Arg { position, .. }
            | Mismatch::Missing { position, .. }
            | Mismatch::Process { position, .. }
            | Mismatch::Extra { position, .. } => *position,
            Mismatch::ChainMissing => usize::MAX,
            _ => 0,
        }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Command => write!(f, "the command name differs"),
            Mismatch::EnvRequired => {
                write!(f, "the rule requires `env NAME=VALUE ...` assignments")
            }
            Mismatch::EnvNotAllowed => write!(f, "the rule allows no environment assignments"),
            Mismatch::EnvMissing(n) => {
                write!(f, "environment variable {n} is required but not given")
            }
            Mismatch::EnvUnexpected(n) => {
                write!(f, "environment variable {n} is not allowed by this rule")
            }
            Mismatch::EnvDuplicate(n) => write!(f, "environment variable {n} is given twice"),
            Mismatch::EnvValue { name, pattern } => {
                write!(f, "the value of {name} does not match {pattern}")
            }
            Mismatch::Arg {
                position,
                value,
                pattern,
            } => {
                write!(f, "argument {position} `{value}` does not match {pattern}")
            }
            Mismatch::Missing { position, pattern } => {
                write!(f, "argument {position} is missing: expected {pattern}")
            }
            Mismatch::Process { position, why } => write!(f, "argument {position}: {why}"),
            Mismatch::Extra { position, value } => {
                write!(f, "argument {position} `{value}` is one too many")
            }
            Mismatch::ChainEmpty => write!(f, "no command follows to run"),
            Mismatch::ChainDenied { reason, .. } => {
                write!(f, "the chained command is not allowed: {reason}")
            }
            Mismatch::ViaOnly(chains) => {
                let names: Vec<String> = chains.iter().map(|c| format!("`{c}`")).collect();
                write!(
                    f,
                    "allows only a command line chained through {}",
                    names.join(" or ")
                )
            }
            Mismatch::ChainNested => write!(f, "chains too (chains do not nest)"),
            Mismatch::ChainUser => write!(f, "runs as another user"),
            Mismatch::ChainMissing => write!(f, "matches but its executable is missing"),
            Mismatch::IpArgs(why) => write!(f, "{why}"),
            Mismatch::Path { value, reason } => write!(f, "path `{value}`: {reason}"),
            Mismatch::DeniedBy(rule) => write!(
                f,
                "denied by rule `{}` ({}:{})",
                rule.name, rule.source.file, rule.source.line
            ),
            Mismatch::Disabled(disabled) => write!(
                f,
                "it matches, but is disabled ({}:{}): {}",
                disabled.source.file, disabled.source.line, disabled.reason
            ),
        }
    }
}

/// The rules that decide a call to `command`: those its spelling selects
/// and, for a path, the `deny` rules of its file name (a deny holds for
/// every spelling of its command: `deny x: dd ...` covers `/bin/dd`).
fn rules_for_call(ctx: &Context<'_>, command: &OsStr) -> Result<Rules, RulesetError> {
    let spelled = command.as_encoded_bytes();
    let rules = (ctx.lookup)(spelled)?;
    let name = crate::types::file_name_bytes(spelled);
    if name == spelled {
        return Ok(rules);
    }
    let denies: Vec<Rule> = (ctx.lookup)(name)?
        .iter()
        .filter(|rule| rule.is_deny() && !rules.iter().any(|r| r.id == rule.id))
        .cloned()
        .collect();
    if denies.is_empty() {
        return Ok(rules);
    }
    Ok(rules.iter().cloned().chain(denies).collect())
}

/// The rules a command spelling selects.
pub type Lookup<'a> = dyn Fn(&[u8]) -> Result<Rules, RulesetError> + 'a;

/// Where matching runs: the host's view and the rest of the ruleset.
pub struct Context<'a> {
    pub exec_dirs: &'a [String],
    /// The rules for a command spelling (for chained command lines).
    pub lookup: &'a Lookup<'a>,
    pub host: &'a dyn Host,
    /// Paths resolved during this call: each argument once.
    paths: PathCache,
    /// Bytes regexes may still search during this call.
    scan_left: Cell<usize>,
}

/// Bytes of arguments that regexes may search in one call: far above a
/// legitimate call, and a few milliseconds of a sparse DFA's time (about
/// 5 ns a byte here) for hostile ones.
const MAX_SCAN_BYTES: usize = 1 << 20;

impl<'a> Context<'a> {
    pub fn new(exec_dirs: &'a [String], lookup: &'a Lookup<'a>, host: &'a dyn Host) -> Context<'a> {
        Context {
            exec_dirs,
            lookup,
            host,
            paths: PathCache::default(),
            scan_left: Cell::new(MAX_SCAN_BYTES),
        }
    }
}

/// One argument as it is passed on, and where its value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passed {
    /// Shared: the walk through a rule's items copies its outputs often.
    pub value: Rc<OsStr>,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The caller's text (or its canonical form, in policy tests).
    Text,
    /// A pinned path: the value names this descriptor.
    Pinned(Arc<PinnedPath>),
    /// `<path-unpinned>`: this canonical path, whose directories are
    /// checked once the rule, and so its target user, is known.
    Unpinned(PathBuf),
}

impl Passed {
    fn plain(value: impl Into<Rc<OsStr>>) -> Passed {
        Passed {
            value: value.into(),
            origin: Origin::Text,
        }
    }
}

/// What a matching rule will run, before its executable is looked up.
#[derive(Debug, Clone)]
pub struct Matched {
    /// Arguments after the command, as passed on (paths pinned or
    /// canonical; for a chain, the chained command's executable and
    /// arguments included).
    pub args: Vec<Passed>,
    /// Variables to set, in the rule's order (path values as arguments; a
    /// chained rule's variables follow).
    pub env: Vec<(String, Passed)>,
    /// For `then allowed`: the rule that allowed the chained command.
    pub chained: Option<Box<Rule>>,
    /// That rule's executable as checked on this host (not looked up in
    /// policy tests).
    pub chained_binary: Option<Checked>,
}

/// An executable as opened and checked on this host, or why it must not run.
pub type Checked = Result<Arc<Binary>, Refusal>;
