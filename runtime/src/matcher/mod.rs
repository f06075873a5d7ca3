//! Matching a caller's command line against rules. The very same code runs
//! as root in `rootwrap`, in the compiler's policy tests and in `explain`.
#![forbid(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use crate::binary::{self, Binary, Refusal};
use crate::canonical::{canonicalize, canonicalize_trusted, canonicalize_within};
use crate::format::RulesetError;
use crate::pin::{PathRefusal, PinnedPath};
use crate::process;
use crate::types::{Arg, Command, Item, PathDepth, PathScope, PidPattern, Pin, Rest, Rule, RunAs};
use crate::values;

/// A caller's command line, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Written with leading `NAME=VALUE` assignments (optionally after `env`).
    pub env_form: bool,
    pub assignments: Vec<(OsString, OsString)>,
    /// The command as the caller wrote it: only a selector, never executed.
    pub command: OsString,
    pub args: Vec<OsString>,
}

impl Invocation {
    /// Splits argv. `None` when there is no command (empty, or only `env`
    /// and assignments).
    pub fn parse(argv: &[OsString]) -> Option<Invocation> {
        let first = argv.first()?;
        let env_form = first.as_bytes() == b"env" || assignment(first).is_some();
        if !env_form {
            return Some(Invocation {
                env_form,
                assignments: Vec::new(),
                command: first.clone(),
                args: argv[1..].to_vec(),
            });
        }
        let mut rest = argv;
        if first.as_bytes() == b"env" {
            rest = &argv[1..];
        }
        let mut assignments = Vec::new();
        while let Some((name, value)) = rest.first().and_then(|a| assignment(a)) {
            assignments.push((name, value));
            rest = &rest[1..];
        }
        let command = rest.first()?.clone();
        Some(Invocation {
            env_form,
            assignments,
            command,
            args: rest[1..].to_vec(),
        })
    }

    /// The full argv as written, for messages: escaped like an audit
    /// record, so one line of printable ASCII.
    pub fn display_argv(argv: &[OsString]) -> String {
        crate::audit::escape(&Invocation::argv_bytes(argv))
    }

    /// The full argv as written, joined by spaces, byte for byte.
    pub fn argv_bytes(argv: &[OsString]) -> Vec<u8> {
        argv.iter()
            .map(|a| a.as_bytes())
            .collect::<Vec<_>>()
            .join(&b' ')
    }
}

/// `NAME=VALUE` with a shell-style variable name.
fn assignment(arg: &OsStr) -> Option<(OsString, OsString)> {
    let bytes = arg.as_bytes();
    let eq = bytes.iter().position(|&b| b == b'=')?;
    let name = &bytes[..eq];
    let valid = !name.is_empty()
        && !name[0].is_ascii_digit()
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| {
        (
            OsString::from_vec(name.to_vec()),
            OsString::from_vec(bytes[eq + 1..].to_vec()),
        )
    })
}

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
    /// `then allowed`: no rule allows the chained command line.
    ChainDenied(String),
    /// `<ip-args...>`: a forbidden `ip` usage.
    IpArgs(String),
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
            Mismatch::ChainDenied(why) => write!(f, "the chained command is not allowed: {why}"),
            Mismatch::IpArgs(why) => write!(f, "{why}"),
            Mismatch::Path { value, reason } => write!(f, "path `{value}`: {reason}"),
        }
    }
}

/// The rules a command spelling selects.
pub type Lookup<'a> = dyn Fn(&[u8]) -> Result<Vec<Rule>, RulesetError> + 'a;

/// Everything the matcher asks of the host it decides for: the matcher
/// itself reads no file and no process. [`OnThisHost`] is the host (the
/// runtime, `explain`); [`AssumeInstalled`] a host where every executable
/// exists as written (policy tests).
pub trait Host {
    /// The canonical form of `path`, each component looked up counted
    /// against `budget`; `None` if it cannot be resolved.
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<PathBuf>;
    /// `path` resolved through symbolic links only root can have made.
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf>;
    /// The object (or entry) `checked` names below `base`, pinned through
    /// a descriptor; `None` when paths are passed on as canonical text.
    fn pin(&self, base: &Path, checked: &Path, pin: Pin)
        -> Option<Result<PinnedPath, PathRefusal>>;
    /// Whether no one but root and `owner` can change a directory on the
    /// way to `checked` (`<path-unpinned>`).
    fn unpinned_safe(&self, checked: &Path, owner: u32) -> Result<(), PathRefusal>;
    /// Whether process `pid` executes one of `pattern`'s targets.
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        exec_dirs: &[String],
    ) -> Result<(), process::NotTarget>;
    /// The executable a rule's command names, `None` when it is missing.
    fn find_executable(&self, command: &Command, exec_dirs: &[String]) -> Option<PathBuf>;
    /// The executable opened and checked; `None` when nothing is opened.
    fn check_binary(&self, executable: &Path, sha256: Option<&[u8; 32]>) -> Option<Checked>;
    /// A user's uid (`None`: no such user).
    fn user_uid(&self, name: &str) -> Option<u32>;
}

/// This host, as the runtime sees it.
pub struct OnThisHost;

impl Host for OnThisHost {
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<PathBuf> {
        canonicalize_within(path, budget).ok()
    }
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf> {
        canonicalize_trusted(path).ok()
    }
    fn pin(
        &self,
        base: &Path,
        checked: &Path,
        pin: Pin,
    ) -> Option<Result<PinnedPath, PathRefusal>> {
        Some(crate::pin::pin(
            base,
            checked,
            pin,
            crate::pin::resolution(),
        ))
    }
    fn unpinned_safe(&self, checked: &Path, owner: u32) -> Result<(), PathRefusal> {
        crate::pin::unpinned_is_safe(checked, owner)
    }
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        exec_dirs: &[String],
    ) -> Result<(), process::NotTarget> {
        process::check(pid, pattern, exec_dirs)
    }
    fn find_executable(&self, command: &Command, exec_dirs: &[String]) -> Option<PathBuf> {
        resolve_executable(command, exec_dirs)
    }
    fn check_binary(&self, executable: &Path, sha256: Option<&[u8; 32]>) -> Option<Checked> {
        Some(binary::open(executable, sha256).map(Arc::new))
    }
    fn user_uid(&self, name: &str) -> Option<u32> {
        crate::sys::lookup_user(name)
            .ok()
            .flatten()
            .map(|account| account.uid)
    }
}

/// This host's paths and processes, with every executable present as
/// written and nothing opened: policy tests hold whatever the build host
/// has installed. Paths are passed on as their canonical text.
pub struct AssumeInstalled;

impl Host for AssumeInstalled {
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<PathBuf> {
        OnThisHost.canonicalize(path, budget)
    }
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf> {
        OnThisHost.canonicalize_trusted(path)
    }
    fn pin(&self, _: &Path, _: &Path, _: Pin) -> Option<Result<PinnedPath, PathRefusal>> {
        None
    }
    fn unpinned_safe(&self, _: &Path, _: u32) -> Result<(), PathRefusal> {
        Ok(())
    }
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        exec_dirs: &[String],
    ) -> Result<(), process::NotTarget> {
        OnThisHost.process(pid, pattern, exec_dirs)
    }
    fn find_executable(&self, command: &Command, _: &[String]) -> Option<PathBuf> {
        Some(PathBuf::from(command.as_str()))
    }
    fn check_binary(&self, _: &Path, _: Option<&[u8; 32]>) -> Option<Checked> {
        None
    }
    fn user_uid(&self, name: &str) -> Option<u32> {
        OnThisHost.user_uid(name)
    }
}

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

/// Canonical forms and pinned descriptors already found during one call:
/// alternatives, optional and any-order items may try one argument many
/// times, and each try must not cost (or open) it again.
struct PathCache {
    canonical: RefCell<Vec<(OsString, Pin, Option<PathBuf>)>>,
    pinned: RefCell<Vec<PinnedEntry>>,
    /// Path components the call may still look up (symbolic links'
    /// targets included): a bound on root's file-system work per call,
    /// whatever the arguments.
    lookups_left: Cell<usize>,
}

/// Far above any legitimate call (a path has a dozen components), far
/// below what hostile arguments could ask for (a symbolic link may expand
/// to thousands, 40 times over).
const MAX_PATH_LOOKUPS: usize = 2048;

impl Default for PathCache {
    fn default() -> Self {
        PathCache {
            canonical: RefCell::default(),
            pinned: RefCell::default(),
            lookups_left: Cell::new(MAX_PATH_LOOKUPS),
        }
    }
}

/// A pinned path found during a call, by base, checked path and mode.
type PinnedEntry = (PathBuf, PathBuf, Pin, Arc<PinnedPath>);

impl PathCache {
    /// The canonical form of `arg`; for `<path-entry>`, of its directory,
    /// with its last name as written: the entry itself is checked, not
    /// what a symbolic link there points to.
    fn canonical(&self, host: &dyn Host, arg: &OsStr, pin: Pin) -> Option<PathBuf> {
        let entry = pin == Pin::Entry;
        let cached = self
            .canonical
            .borrow()
            .iter()
            .find(|(a, p, _)| a == arg && (*p == Pin::Entry) == entry)
            .map(|(_, _, found)| found.clone());
        if let Some(found) = cached {
            return found;
        }
        let path = Path::new(arg);
        let found = if entry {
            // `..` as the last name is no entry of the directory before it.
            path.file_name().and_then(|name| {
                let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
                let dir = dir.unwrap_or(Path::new("."));
                let dir = host.canonicalize(dir, &self.lookups_left)?;
                Some(dir.join(name))
            })
        } else {
            host.canonicalize(path, &self.lookups_left)
        };
        self.canonical
            .borrow_mut()
            .push((arg.to_os_string(), pin, found.clone()));
        found
    }

    /// `None` when the host passes paths on as text.
    fn pinned(
        &self,
        host: &dyn Host,
        base: &Path,
        checked: &Path,
        pin: Pin,
    ) -> Option<Result<Arc<PinnedPath>, PathRefusal>> {
        let cached = self
            .pinned
            .borrow()
            .iter()
            .find(|(b, c, p, _)| b == base && c == checked && *p == pin)
            .map(|(_, _, _, pinned)| Arc::clone(pinned));
        if let Some(pinned) = cached {
            return Some(Ok(pinned));
        }
        let pinned = match host.pin(base, checked, pin)? {
            Ok(pinned) => Arc::new(pinned),
            Err(why) => return Some(Err(why)),
        };
        self.pinned.borrow_mut().push((
            base.to_path_buf(),
            checked.to_path_buf(),
            pin,
            Arc::clone(&pinned),
        ));
        Some(Ok(pinned))
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Opens and checks a rule's executable, on this host only.
fn check_binary(rule: &Rule, executable: &Path, ctx: &Context<'_>) -> Option<Checked> {
    ctx.host.check_binary(executable, rule.sha256.as_ref())
}

/// At most this many single-argument checks per rule: a bound on
/// backtracking through optional and any-order items.
const MAX_STEPS: u32 = crate::types::MAX_MATCH_STEPS;

/// Whether `rule` allows `call`, and with what arguments; `Err` when the
/// call cannot be decided.
pub fn match_rule(
    rule: &Rule,
    call: &Invocation,
    ctx: &Context<'_>,
) -> Result<Result<Matched, Mismatch>, Fault> {
    split(rule_matches(rule, call, ctx))
}

fn rule_matches(rule: &Rule, call: &Invocation, ctx: &Context<'_>) -> Result<Matched, Stop> {
    let command = call.command.as_bytes();
    if !rule.command.is_spelled(command) {
        return Err(Mismatch::Command.into());
    }
    let env = match_env(rule, call, ctx)?;

    let mut walker = Walker {
        args: &call.args,
        ctx,
        steps: 0,
        depth: 0,
        furthest: None,
        process: None,
        tried: BTreeMap::new(),
    };
    let outcomes = walker.seq(&rule.args, 0)?;
    let len = call.args.len();
    let mut last_error = None;
    for (end, outputs) in &outcomes {
        let rest = &call.args[*end..];
        let mut args = outputs.clone();
        match rule.rest {
            Rest::Exact if *end == len => {}
            Rest::Exact => continue,
            Rest::Any => args.extend(rest.iter().cloned().map(Passed::plain)),
            // All of the caller's arguments, not only those after the
            // rule's items: `ip netns <ip-args...>` must refuse `netns exec`.
            Rest::IpArgs => match ip_args_allowed(&call.args) {
                Ok(()) => args.extend(rest.iter().cloned().map(Passed::plain)),
                Err(why) => {
                    last_error = Some(Mismatch::IpArgs(why));
                    continue;
                }
            },
            Rest::Chain => match chain(rule, rest, ctx) {
                // A variable set twice would reach the command twice, and
                // programs read the first: the chained rule's limit on it
                // would not hold.
                Ok(inner)
                    if inner
                        .env
                        .iter()
                        .any(|(name, _)| env.iter().any(|(n, _)| n == name)) =>
                {
                    last_error = Some(Mismatch::ChainDenied(
                        "a variable is set both before and after the chain".into(),
                    ));
                    continue;
                }
                Ok(inner) => {
                    args.extend(inner.args);
                    let mut env = env.clone();
                    env.extend(inner.env);
                    return Ok(Matched {
                        args,
                        env,
                        chained: inner.chained,
                        chained_binary: inner.chained_binary,
                    });
                }
                Err(Stop::Mismatch(why)) => {
                    last_error = Some(why);
                    continue;
                }
                Err(fault) => return Err(fault),
            },
        }
        return Ok(Matched {
            args,
            env,
            chained: None,
            chained_binary: None,
        });
    }
    if let Some(error) = last_error {
        return Err(error.into());
    }
    // No way through: report the furthest argument any attempt reached.
    let longest = outcomes.iter().map(|(end, _)| *end).max();
    let why = match (walker.furthest, longest) {
        (Some((position, pattern)), longest) if longest.is_none_or(|l| position >= l) => {
            Err(match call.args.get(position) {
                Some(value) => match walker.process {
                    Some(why) => Mismatch::Process {
                        position: position + 1,
                        why,
                    },
                    None => Mismatch::Arg {
                        position: position + 1,
                        value: value.to_string_lossy().into_owned(),
                        pattern,
                    },
                },
                None => Mismatch::Missing {
                    position: position + 1,
                    pattern,
                },
            })
        }
        (_, Some(end)) if end < len => Err(Mismatch::Extra {
            position: end + 1,
            value: call.args[end].to_string_lossy().into_owned(),
        }),
        _ => Err(Mismatch::Missing {
            position: len + 1,
            pattern: "more arguments".into(),
        }),
    };
    why.map_err(Stop::Mismatch)
}

/// The chained command line `rest` must be allowed by a non-chaining rule
/// with the same target user; it runs with that rule's executable.
fn chain(outer: &Rule, rest: &[OsString], ctx: &Context<'_>) -> Result<Matched, Stop> {
    let Some(call) = Invocation::parse(rest) else {
        return Err(Mismatch::ChainEmpty.into());
    };
    let rules = (ctx.lookup)(call.command.as_bytes()).map_err(Fault::Ruleset)?;
    let mut reason = format!("no rule for `{}`", call.command.to_string_lossy());
    for rule in &rules {
        if rule.rest == Rest::Chain {
            reason = format!("rule `{}` chains too (chains do not nest)", rule.name);
            continue;
        }
        if rule.run_as != outer.run_as {
            reason = format!("rule `{}` runs as another user", rule.name);
            continue;
        }
        match match_rule(rule, &call, ctx)? {
            Ok(matched) => {
                let Some(executable) = executable_for(rule, ctx) else {
                    reason = format!("rule `{}` matches but its executable is missing", rule.name);
                    continue;
                };
                // Checked, but run by the chaining program by its path: only
                // root can change it in between (its directories are root's).
                let chained_binary = check_binary(rule, &executable, ctx);
                let mut args = vec![Passed::plain(executable.into_os_string())];
                args.extend(matched.args);
                return Ok(Matched {
                    args,
                    env: matched.env,
                    chained: Some(Box::new(rule.clone())),
                    chained_binary,
                });
            }
            Err(why) => reason = format!("rule `{}`: {why}", rule.name),
        }
    }
    Err(Mismatch::ChainDenied(reason).into())
}

/// Where a walk through a rule's items may end, with the arguments as they
/// are passed on. Ends are unique, earlier ways first.
type Outcomes = Vec<(usize, Vec<Passed>)>;

struct Walker<'a, 'c> {
    args: &'a [OsString],
    ctx: &'a Context<'c>,
    steps: u32,
    /// Nesting of items now being walked (bounded like decoding).
    depth: usize,
    /// The furthest argument position a pattern was tried at, and it.
    furthest: Option<(usize, String)>,
    /// Why that argument's process is not a `<pid>` target, if it is one.
    process: Option<process::NotTarget>,
    /// What each pattern made of each argument already: any-order and
    /// optional items try the same pair many times, and a pattern may cost
    /// a scan of a 128 KiB argument. Keyed by the pattern's address.
    tried: BTreeMap<(*const Arg, usize), Option<Passed>>,
}

fn push_unique(outcomes: &mut Outcomes, end: usize, outputs: Vec<Passed>) {
    if !outcomes.iter().any(|(e, _)| *e == end) {
        outcomes.push((end, outputs));
    }
}

impl Walker<'_, '_> {
    fn seq(&mut self, items: &[Item], start: usize) -> Result<Outcomes, Stop> {
        let mut current: Outcomes = vec![(start, Vec::new())];
        for item in items {
            let mut next = Outcomes::new();
            for (position, outputs) in &current {
                for (end, more) in self.item(item, *position)? {
                    let mut combined = outputs.clone();
                    combined.extend(more);
                    push_unique(&mut next, end, combined);
                }
            }
            if next.is_empty() {
                return Ok(next);
            }
            current = next;
        }
        Ok(current)
    }

    fn item(&mut self, item: &Item, start: usize) -> Result<Outcomes, Stop> {
        if self.depth >= crate::types::MAX_NESTING * 2 {
            return Err(Fault::TooComplex.into());
        }
        self.depth += 1;
        let outcomes = self.item_inner(item, start);
        self.depth -= 1;
        outcomes
    }

    fn item_inner(&mut self, item: &Item, start: usize) -> Result<Outcomes, Stop> {
        match item {
            Item::One(pattern) => {
                self.steps += 1;
                if self.steps > MAX_STEPS {
                    return Err(Fault::TooComplex.into());
                }
                let key = (pattern as *const Arg, start);
                let passed = match (self.tried.get(&key), self.args.get(start)) {
                    (Some(known), _) => known.clone(),
                    (None, Some(arg)) => {
                        let passed = arg_matches(pattern, arg, self.ctx)?;
                        self.tried.insert(key, passed.clone());
                        passed
                    }
                    (None, None) => None,
                };
                match passed {
                    Some(value) => Ok(vec![(start + 1, vec![value])]),
                    None => {
                        if self.furthest.as_ref().is_none_or(|(p, _)| start > *p) {
                            self.furthest = Some((start, pattern.to_string()));
                            self.process = self
                                .args
                                .get(start)
                                .and_then(|arg| process_refusal(pattern, arg, self.ctx));
                        }
                        Ok(Vec::new())
                    }
                }
            }
            Item::Seq(items) => self.seq(items, start),
            Item::Alt(alternatives) => {
                let mut outcomes = Outcomes::new();
                for alternative in alternatives {
                    for (end, outputs) in self.item(alternative, start)? {
                        push_unique(&mut outcomes, end, outputs);
                    }
                }
                Ok(outcomes)
            }
            Item::Optional(inner) => {
                let mut outcomes = self.item(inner, start)?;
                push_unique(&mut outcomes, start, Vec::new());
                Ok(outcomes)
            }
            Item::AnyOrder(items) => self.any_order(items, start),
        }
    }

    /// Breadth-first over (items used, position): every order is tried, each
    /// state once.
    fn any_order(&mut self, items: &[Item], start: usize) -> Result<Outcomes, Stop> {
        // The compiler allows no more; a damaged ruleset might.
        if items.len() > crate::types::MAX_ANY_ORDER {
            return Err(Fault::TooComplex.into());
        }
        let required: u64 = items
            .iter()
            .enumerate()
            .filter(|(_, item)| !matches!(item, Item::Optional(_)))
            .fold(0, |mask, (i, _)| mask | (1 << i));
        let mut seen: Vec<(u64, usize)> = vec![(0, start)];
        let mut frontier: Vec<(u64, usize, Vec<Passed>)> = vec![(0, start, Vec::new())];
        let mut outcomes = Outcomes::new();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for (used, position, outputs) in frontier {
                if used & required == required {
                    push_unique(&mut outcomes, position, outputs.clone());
                }
                for (i, item) in items.iter().enumerate() {
                    if used & (1 << i) != 0 {
                        continue;
                    }
                    let inner = match item {
                        Item::Optional(inner) => inner.as_ref(),
                        other => other,
                    };
                    for (end, more) in self.item(inner, position)? {
                        let state = (used | (1 << i), end);
                        if end == position || seen.contains(&state) {
                            continue;
                        }
                        seen.push(state);
                        let mut combined = outputs.clone();
                        combined.extend(more);
                        next.push((state.0, end, combined));
                    }
                }
            }
            frontier = next;
        }
        // Prefer the ways that consume the most arguments.
        outcomes.sort_by_key(|outcome| std::cmp::Reverse(outcome.0));
        Ok(outcomes)
    }
}

/// `<ip-args...>`: refuses what lets `ip` run programs or read commands.
fn ip_args_allowed(args: &[OsString]) -> Result<(), String> {
    // iproute2 accepts any unambiguous prefix of an object, command or
    // option, and `--opt` for `-opt`.
    let is_abbreviation =
        |word: &[u8], full: &[u8], min: usize| word.len() >= min && full.starts_with(word);
    let words: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    for (i, word) in words.iter().enumerate() {
        let option = word
            .strip_prefix(b"-")
            .filter(|w| w.starts_with(b"-"))
            .unwrap_or(word);
        if option.starts_with(b"-") {
            if is_abbreviation(option, b"-batch", 2) {
                return Err(format!(
                    "`{}`: ip reads commands from a file with -batch",
                    String::from_utf8_lossy(word)
                ));
            }
            if is_abbreviation(option, b"-force", 3) {
                return Err(format!(
                    "`{}`: -force is not allowed",
                    String::from_utf8_lossy(word)
                ));
            }
        }
        if let Some(next) = words.get(i + 1) {
            let runs = is_abbreviation(word, b"netns", 3) || is_abbreviation(word, b"vrf", 1);
            if runs && is_abbreviation(next, b"exec", 1) {
                return Err(format!(
                    "`{} {}` runs another program",
                    String::from_utf8_lossy(word),
                    String::from_utf8_lossy(next)
                ));
            }
        }
    }
    Ok(())
}

fn match_env(
    rule: &Rule,
    call: &Invocation,
    ctx: &Context<'_>,
) -> Result<Vec<(String, Passed)>, Stop> {
    if rule.env.is_empty() {
        return if call.env_form {
            Err(Mismatch::EnvNotAllowed.into())
        } else {
            Ok(Vec::new())
        };
    }
    if !call.env_form {
        return Err(Mismatch::EnvRequired.into());
    }
    for (i, (name, _)) in call.assignments.iter().enumerate() {
        let name_str = name.to_string_lossy();
        if !rule
            .env
            .iter()
            .any(|v| v.name.as_bytes() == name.as_bytes())
        {
            return Err(Mismatch::EnvUnexpected(name_str.into_owned()).into());
        }
        if call.assignments[..i].iter().any(|(n, _)| n == name) {
            return Err(Mismatch::EnvDuplicate(name_str.into_owned()).into());
        }
    }
    let mut env = Vec::with_capacity(rule.env.len());
    for var in &rule.env {
        let given = call
            .assignments
            .iter()
            .find(|(n, _)| n.as_bytes() == var.name.as_bytes());
        let Some((_, value)) = given else {
            return Err(Mismatch::EnvMissing(var.name.clone()).into());
        };
        match arg_matches(&var.value, value, ctx)? {
            Some(passed) => env.push((var.name.clone(), passed)),
            None => {
                return Err(Mismatch::EnvValue {
                    name: var.name.clone(),
                    pattern: var.value.to_string(),
                }
                .into())
            }
        }
    }
    Ok(env)
}

/// `Some(value to pass on)` when `arg` matches `pattern`; an inner `Err`
/// when it is refused with a reason, an outer one when it cannot be
/// decided.
pub fn match_arg(
    pattern: &Arg,
    arg: &OsStr,
    ctx: &Context<'_>,
) -> Result<Result<Option<Passed>, Mismatch>, Fault> {
    split(arg_matches(pattern, arg, ctx))
}

fn arg_matches(pattern: &Arg, arg: &OsStr, ctx: &Context<'_>) -> Result<Option<Passed>, Stop> {
    let bytes = arg.as_bytes();
    let keep = || Some(Passed::plain(arg));
    Ok(match pattern {
        Arg::Literal(literal) => (literal.as_bytes() == bytes).then(keep).flatten(),
        Arg::Regex(regex) => {
            // Each search reads the whole argument (up to 128 KiB): the
            // call's budget of bytes searched bounds root's time.
            let left = ctx.scan_left.get().checked_sub(bytes.len());
            ctx.scan_left.set(left.ok_or(Fault::TooComplex)?);
            let matches = regex.dfa.matches_whole(bytes);
            matches
                .map_err(|e| Fault::Ruleset(RulesetError::Corrupt(e)))?
                .then(keep)
                .flatten()
        }
        Arg::OneOf(alternatives) => {
            for alternative in alternatives {
                if let Some(passed) = arg_matches(alternative, arg, ctx)? {
                    return Ok(Some(passed));
                }
            }
            None
        }
        Arg::Int { min, max } => values::int(bytes)
            .filter(|v| min <= v && v <= max)
            .and(keep()),
        Arg::Mode(allowed) => values::mode(bytes)
            .filter(|m| {
                if allowed.is_empty() {
                    m & !0o777 == 0
                } else {
                    allowed.contains(m)
                }
            })
            .and(keep()),
        Arg::Signal(allowed) => values::signal(bytes)
            .filter(|s| allowed.is_empty() || allowed.contains(s))
            .and(keep()),
        Arg::Uuid => values::is_uuid(bytes).then(keep).flatten(),
        Arg::Ipv4 => values::is_ipv4(bytes).then(keep).flatten(),
        Arg::Ipv6 => values::is_ipv6(bytes).then(keep).flatten(),
        Arg::Ip => (values::is_ipv4(bytes) || values::is_ipv6(bytes))
            .then(keep)
            .flatten(),
        Arg::Cidr => values::is_cidr(bytes).then(keep).flatten(),
        Arg::Mac => values::is_mac(bytes).then(keep).flatten(),
        Arg::IfName => values::is_ifname(bytes).then(keep).flatten(),
        Arg::User | Arg::Group => values::is_account_name(bytes).then(keep).flatten(),
        Arg::Path { scopes, pin } => match_path_arg(scopes, *pin, arg, ctx)?,
        Arg::Prefixed { prefix, value } => match bytes.strip_prefix(prefix.as_bytes()) {
            Some(rest) => arg_matches(value, OsStr::from_bytes(rest), ctx)?.map(|passed| {
                let mut whole = OsString::from(prefix);
                whole.push(&*passed.value);
                Passed {
                    value: whole.into(),
                    origin: passed.origin,
                }
            }),
            None => None,
        },
        Arg::Pid(pattern) => values::int(bytes)
            .filter(|&pid| pid > 0 && ctx.host.process(pid, pattern, ctx.exec_dirs).is_ok())
            .and(keep()),
        Arg::Operand => (!bytes.is_empty() && bytes[0] != b'-').then(keep).flatten(),
        Arg::Any => keep(),
        Arg::Owner => values::is_owner(bytes).then(keep).flatten(),
        Arg::Netns => values::is_netns(bytes).then(keep).flatten(),
        Arg::ModeBits { required, allowed } => values::mode(bytes)
            .filter(|m| m & required == *required && m & !allowed == 0)
            .and(keep()),
    })
}

/// Why the process `arg` names is not one of a `<pid>` pattern's targets
/// (checked again: only for the denial's reason).
fn process_refusal(pattern: &Arg, arg: &OsStr, ctx: &Context<'_>) -> Option<process::NotTarget> {
    let Arg::Pid(pattern) = pattern else {
        return None;
    };
    let pid = values::int(arg.as_bytes()).filter(|&pid| pid > 0)?;
    ctx.host.process(pid, pattern, ctx.exec_dirs).err()
}

/// The longest path the kernel takes (`PATH_MAX`, with its NUL) and the
/// longest name (`NAME_MAX`): anything longer cannot name a file, and
/// resolving it would only cost root's time.
const PATH_MAX: usize = 4095;
const NAME_MAX: usize = 255;

fn too_long(arg: &OsStr) -> bool {
    let bytes = arg.as_bytes();
    bytes.len() > PATH_MAX
        || bytes
            .split(|&b| b == b'/')
            .any(|name| name.len() > NAME_MAX)
}

/// A `<path>` argument: checked on its canonical form, then, on this host,
/// pinned (or, for `<path-unpinned>`, checked for directories someone
/// else could change).
fn match_path_arg(
    scopes: &[PathScope],
    pin: Pin,
    arg: &OsStr,
    ctx: &Context<'_>,
) -> Result<Option<Passed>, Stop> {
    if arg.is_empty() || too_long(arg) {
        return Ok(None);
    }
    let Some(resolved) = ctx.paths.canonical(ctx.host, arg, pin) else {
        return Ok(None);
    };
    let Some(base) = scopes
        .iter()
        .find_map(|scope| within(ctx.host, scope, &resolved))
    else {
        return Ok(None);
    };
    let refused = |why: PathRefusal| Mismatch::Path {
        value: arg.to_string_lossy().into_owned(),
        reason: why.to_string(),
    };
    if pin == Pin::Unpinned {
        return Ok(Some(Passed {
            value: resolved.as_os_str().into(),
            origin: Origin::Unpinned(resolved),
        }));
    }
    match ctx.paths.pinned(ctx.host, &base, &resolved, pin) {
        None => Ok(Some(Passed::plain(resolved.into_os_string()))),
        Some(pinned) => {
            let pinned = pinned.map_err(refused)?;
            Ok(Some(Passed {
                value: pinned.passed.as_os_str().into(),
                origin: Origin::Pinned(pinned),
            }))
        }
    }
}

/// The canonical form of `arg` when it lies within one of `scopes`.
pub fn match_path(scopes: &[PathScope], arg: &OsStr) -> Option<PathBuf> {
    if arg.is_empty() || too_long(arg) {
        return None;
    }
    let resolved = canonicalize(Path::new(arg)).ok()?;
    scopes
        .iter()
        .any(|scope| within(&OnThisHost, scope, &resolved).is_some())
        .then_some(resolved)
}

/// The base of `scope` that `resolved` lies in, free of symbolic links:
/// as written, or as resolved through root's own links.
fn within(host: &dyn Host, scope: &PathScope, resolved: &Path) -> Option<PathBuf> {
    let inside = |base: &Path| match scope.depth {
        PathDepth::Exactly => resolved == base,
        PathDepth::Child => resolved.parent() == Some(base) && resolved != base,
        // Component-wise: `/var/lib/images` never admits `/var/lib/images2`.
        PathDepth::Descendant => resolved != base && resolved.starts_with(base),
    };
    let written = Path::new(&scope.base);
    // The base as written (then, `resolved` being canonical, it holds no
    // symbolic link); or as resolved on this host, so that `/var/run/**`
    // holds where /var/run is a symlink to /run, but only through symlinks
    // the caller cannot have made or changed.
    if inside(written) {
        return Some(written.to_path_buf());
    }
    host.canonicalize_trusted(written)
        .filter(|base| base != written && inside(base))
}

/// What a matching rule runs: its executable on this host, or, when
/// executables are not looked up (policy tests), the command as written.
fn executable_for(rule: &Rule, ctx: &Context<'_>) -> Option<PathBuf> {
    ctx.host.find_executable(&rule.command, ctx.exec_dirs)
}

/// The executable a rule runs on this host, or `None` when it is missing.
/// Bare names are looked up in the exec dirs only, never the caller's PATH.
pub fn resolve_executable(command: &Command, exec_dirs: &[String]) -> Option<PathBuf> {
    match command {
        Command::Path(path) => Some(PathBuf::from(path)).filter(|p| is_executable_file(p)),
        Command::Name(name) => exec_dirs
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| is_executable_file(p)),
    }
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What the runtime will execute for an allowed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub rule: Rule,
    /// For `then allowed`: the rule that allowed the chained command.
    pub chained: Option<Rule>,
    pub executable: PathBuf,
    /// The executable as opened and checked (`None` in policy tests): what
    /// the runtime executes, through its descriptor.
    pub binary: Option<Checked>,
    /// For `then allowed`: the chained rule's executable, checked.
    pub chained_binary: Option<Checked>,
    /// The full argv, argv[0] being the executable's path.
    pub argv: Vec<OsString>,
    /// The complete environment of the command.
    pub env: Vec<(String, OsString)>,
    pub run_as: RunAs,
    /// The pinned paths among the arguments and variables: their
    /// descriptors stay open across `execve`.
    pub pinned: Vec<Arc<PinnedPath>>,
}

impl Allowed {
    /// Why the runtime must not run this: the executable, or the chained
    /// rule's, failed its checks.
    pub fn refusal(&self) -> Option<&Refusal> {
        [&self.binary, &self.chained_binary]
            .into_iter()
            .find_map(|checked| checked.as_ref()?.as_ref().err())
    }

    /// The argv with each pinned path written as the path that was checked
    /// (what `explain` and the audit record show next to what is passed).
    pub fn argv_as_checked(&self) -> Vec<OsString> {
        self.argv.iter().map(|arg| self.as_checked(arg)).collect()
    }

    /// `value` (an argument or a variable's value), with a pinned path in
    /// it written as the path that was checked.
    pub fn as_checked(&self, value: &OsStr) -> OsString {
        let bytes = value.as_bytes();
        let found = self
            .pinned
            .iter()
            .find(|p| bytes.ends_with(p.passed.as_bytes()));
        match found {
            // A prefixed value (`of=/proc/self/fd/5`) keeps its prefix.
            Some(p) => {
                let mut shown = bytes[..bytes.len() - p.passed.len()].to_vec();
                shown.extend_from_slice(p.checked.as_os_str().as_bytes());
                OsString::from_vec(shown)
            }
            None => value.to_os_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(Box<Allowed>),
    /// Rules matched, but none of their executables exists on this host.
    NotExecutable {
        rule: Rule,
    },
    /// No rule matched; each rule for the command with its reason.
    Deny {
        tried: Vec<(Rule, Mismatch)>,
    },
}

/// The decision for `argv`: the rules its command selects are tried in
/// declaration order; the first match whose executable exists wins; a
/// matching rule whose executable is missing is passed over, as in
/// oslo.rootwrap, but only to a rule with the same target user: a missing
/// program must not change who the command line runs as.
pub fn decide(argv: &[OsString], ctx: &Context<'_>) -> Result<Decision, Fault> {
    let Some(call) = Invocation::parse(argv) else {
        return Ok(Decision::Deny { tried: Vec::new() });
    };
    let rules = (ctx.lookup)(call.command.as_bytes())?;
    let mut first_missing: Option<&Rule> = None;
    let mut tried = Vec::new();
    for rule in &rules {
        match match_rule(rule, &call, ctx)? {
            Ok(matched) => {
                if first_missing.is_some_and(|missing| missing.run_as != rule.run_as) {
                    break;
                }
                let Some(executable) = executable_for(rule, ctx) else {
                    first_missing.get_or_insert(rule);
                    continue;
                };
                if let Err(why) = unpinned_are_safe(rule, &matched, ctx.host) {
                    tried.push((rule.clone(), why));
                    continue;
                }
                let binary = check_binary(rule, &executable, ctx);
                let mut pinned: Vec<Arc<PinnedPath>> = Vec::new();
                let mut keep = |passed: Passed| {
                    if let Origin::Pinned(pin) = passed.origin {
                        if !pinned.iter().any(|p| Arc::ptr_eq(p, &pin)) {
                            pinned.push(pin);
                        }
                    }
                    passed.value.to_os_string()
                };
                let mut argv = Vec::with_capacity(matched.args.len() + 1);
                argv.push(executable.clone().into_os_string());
                argv.extend(matched.args.into_iter().map(&mut keep));
                let mut env = vec![("PATH".to_string(), OsString::from(ctx.exec_dirs.join(":")))];
                env.extend(
                    matched
                        .env
                        .into_iter()
                        .map(|(name, value)| (name, keep(value))),
                );
                return Ok(Decision::Allow(Box::new(Allowed {
                    rule: rule.clone(),
                    chained: matched.chained.map(|r| *r),
                    executable,
                    binary,
                    chained_binary: matched.chained_binary,
                    argv,
                    env,
                    run_as: rule.run_as.clone(),
                    pinned,
                })));
            }
            Err(mismatch) => tried.push((rule.clone(), mismatch)),
        }
    }
    Ok(match first_missing {
        Some(rule) => Decision::NotExecutable { rule: rule.clone() },
        None => Decision::Deny { tried },
    })
}

/// `<path-unpinned>` values must lie below directories that only root, or
/// the rule's own target user, can change: anyone else could swap a
/// component between the check and the command's use (sudoedit's rule for
/// the files it edits). A target user gains nothing by racing itself.
fn unpinned_are_safe(rule: &Rule, matched: &Matched, host: &dyn Host) -> Result<(), Mismatch> {
    let values = matched
        .args
        .iter()
        .chain(matched.env.iter().map(|(_, value)| value));
    let mut target_uid = None;
    for passed in values {
        let Origin::Unpinned(path) = &passed.origin else {
            continue;
        };
        let uid = *target_uid.get_or_insert_with(|| match &rule.run_as {
            RunAs::Root => 0,
            RunAs::User(name) => host.user_uid(name).unwrap_or(0),
        });
        host.unpinned_safe(path, uid)
            .map_err(|why| Mismatch::Path {
                value: path.to_string_lossy().into_owned(),
                reason: why.to_string(),
            })?;
    }
    Ok(())
}

/// The argv[0] spelling under which a call's rules are indexed.
pub fn selector(argv: &[OsString]) -> Option<OsString> {
    Invocation::parse(argv).map(|call| call.command)
}

impl<R: crate::format::ReadAt + ?Sized> crate::format::Ruleset<R> {
    /// The decision for `argv` against this ruleset, on `host`.
    pub fn decide(&self, argv: &[OsString], host: &dyn Host) -> Result<Decision, Fault> {
        let lookup = |command: &[u8]| self.rules_for(command);
        let ctx = Context::new(&self.options().exec_dirs, &lookup, host);
        decide(argv, &ctx)
    }
}

#[cfg(test)]
mod tests {
    //! The matcher alone, against a fake host: no file system, no process.
    use super::*;
    use crate::process::Reason;
    use crate::types::{Dfa, PidPattern, Regex, Source};

    /// Paths are canonical by lexical normalization, each component costs
    /// one lookup; process 42 runs `/usr/bin/target`; only the listed
    /// executables exist; paths under `/srv/refused` cannot be pinned.
    struct Fake {
        executables: Vec<&'static str>,
    }

    impl Host for Fake {
        fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<PathBuf> {
            let mut out = PathBuf::from("/");
            for part in path.components() {
                budget.set(budget.get().checked_sub(1)?);
                match part {
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    std::path::Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            Some(out)
        }
        fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf> {
            Some(path.to_path_buf())
        }
        fn pin(&self, _: &Path, checked: &Path, _: Pin) -> Option<Result<PinnedPath, PathRefusal>> {
            checked
                .starts_with("/srv/refused")
                .then_some(Err(PathRefusal::Symlink))
        }
        fn unpinned_safe(&self, _: &Path, _: u32) -> Result<(), PathRefusal> {
            Ok(())
        }
        fn process(
            &self,
            pid: i64,
            pattern: &PidPattern,
            _: &[String],
        ) -> Result<(), process::NotTarget> {
            if pid == 42 && pattern.targets.iter().any(|t| t == "/usr/bin/target") {
                Ok(())
            } else {
                Err(process::NotTarget {
                    pid,
                    reason: Reason::NoProcess,
                })
            }
        }
        fn find_executable(&self, command: &Command, _: &[String]) -> Option<PathBuf> {
            let path = match command {
                Command::Path(path) => path.clone(),
                Command::Name(name) => format!("/bin/{name}"),
            };
            self.executables
                .contains(&path.as_str())
                .then(|| PathBuf::from(path))
        }
        fn check_binary(&self, _: &Path, _: Option<&[u8; 32]>) -> Option<Checked> {
            None
        }
        fn user_uid(&self, _: &str) -> Option<u32> {
            Some(1000)
        }
    }

    fn rule(id: u32, command: &str, args: Vec<Arg>, rest: Rest) -> Rule {
        Rule {
            id,
            name: format!("r{id}"),
            source: Source {
                file: "t.rwf".into(),
                line: id + 1,
            },
            command: if command.starts_with('/') {
                Command::Path(command.into())
            } else {
                Command::Name(command.into())
            },
            sha256: None,
            run_as: RunAs::Root,
            env: Vec::new(),
            args: args.into_iter().map(Item::One).collect(),
            rest,
        }
    }

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn all_present() -> Fake {
        Fake {
            executables: vec!["/bin/cat", "/bin/kill", "/bin/nice", "/bin/echo"],
        }
    }

    /// Decides `words` against `rules` (all of them, for every spelling).
    fn decide_with(rules: &[Rule], host: &Fake, words: &[&str]) -> Result<Decision, Fault> {
        let lookup = |command: &[u8]| {
            Ok(rules
                .iter()
                .filter(|r| {
                    r.command
                        .selectors()
                        .iter()
                        .any(|s| s.as_bytes() == command)
                })
                .cloned()
                .collect())
        };
        let ctx = Context::new(&[], &lookup, host);
        decide(&argv(words), &ctx)
    }

    fn allowed_argv(decision: Result<Decision, Fault>) -> Vec<String> {
        match decision {
            Ok(Decision::Allow(allowed)) => allowed
                .argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            other => panic!("not allowed: {other:?}"),
        }
    }

    fn path(base: &str) -> Arg {
        Arg::Path {
            scopes: vec![PathScope {
                base: base.into(),
                depth: PathDepth::Descendant,
            }],
            pin: Pin::Object,
        }
    }

    #[test]
    fn paths_are_checked_and_passed_in_canonical_form() {
        let rules = [rule(0, "cat", vec![path("/srv")], Rest::Exact)];
        let host = all_present();
        assert_eq!(
            allowed_argv(decide_with(&rules, &host, &["cat", "/srv/a/../b"])),
            ["/bin/cat", "/srv/b"]
        );
        assert!(matches!(
            decide_with(&rules, &host, &["cat", "/srv/../etc/shadow"]),
            Ok(Decision::Deny { .. })
        ));
        match decide_with(&rules, &host, &["cat", "/srv/refused/x"]) {
            Ok(Decision::Deny { tried }) => {
                assert!(matches!(tried[0].1, Mismatch::Path { .. }), "{tried:?}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pid_must_name_a_target_process() {
        let pattern = Arg::Pid(PidPattern {
            targets: vec!["/usr/bin/target".into()],
            user: None,
        });
        let rules = [rule(0, "kill", vec![pattern], Rest::Exact)];
        let host = all_present();
        assert_eq!(
            allowed_argv(decide_with(&rules, &host, &["kill", "42"])),
            ["/bin/kill", "42"]
        );
        match decide_with(&rules, &host, &["kill", "43"]) {
            Ok(Decision::Deny { tried }) => assert!(
                matches!(&tried[0].1, Mismatch::Process { position: 1, why } if why.pid == 43),
                "{tried:?}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_missing_executable_passes_over_to_a_rule_of_the_same_user() {
        let any = || vec![Arg::Any];
        let mut other_user = rule(2, "/opt/cat", any(), Rest::Exact);
        other_user.run_as = RunAs::User("nobody".into());
        let rules = [
            rule(0, "/usr/local/bin/cat", any(), Rest::Exact),
            rule(1, "cat", any(), Rest::Exact),
        ];
        let host = all_present();
        assert_eq!(
            allowed_argv(decide_with(&rules, &host, &["cat", "x"])),
            ["/bin/cat", "x"]
        );
        let host = Fake {
            executables: Vec::new(),
        };
        assert!(matches!(
            decide_with(&rules, &host, &["cat", "x"]),
            Ok(Decision::NotExecutable { rule }) if rule.id == 0
        ));
        // Another user's rule is never reached through a missing program.
        let rules = [rules[0].clone(), other_user];
        let host = Fake {
            executables: vec!["/opt/cat"],
        };
        assert!(matches!(
            decide_with(&rules, &host, &["cat", "x"]),
            Ok(Decision::NotExecutable { rule }) if rule.id == 0
        ));
    }

    #[test]
    fn a_chain_runs_the_executable_of_the_rule_that_allows_it() {
        let rules = [
            rule(0, "nice", vec![Arg::Literal("-n5".into())], Rest::Chain),
            rule(1, "cat", vec![path("/srv")], Rest::Exact),
        ];
        let host = all_present();
        assert_eq!(
            allowed_argv(decide_with(
                &rules,
                &host,
                &["nice", "-n5", "cat", "/srv/x"]
            )),
            ["/bin/nice", "-n5", "/bin/cat", "/srv/x"]
        );
        match decide_with(&rules, &host, &["nice", "-n5", "cat", "/etc/x"]) {
            Ok(Decision::Deny { tried }) => {
                assert!(matches!(tried[0].1, Mismatch::ChainDenied(_)), "{tried:?}")
            }
            other => panic!("{other:?}"),
        }
        // A lookup that fails is a damaged ruleset, not a denial.
        let lookup = |command: &[u8]| match command {
            b"nice" => Ok(vec![rules[0].clone()]),
            _ => Err(RulesetError::Corrupt("test".into())),
        };
        let ctx = Context::new(&[], &lookup, &host);
        assert!(matches!(
            decide(&argv(&["nice", "-n5", "cat", "/srv/x"]), &ctx),
            Err(Fault::Ruleset(RulesetError::Corrupt(_)))
        ));
    }

    #[test]
    fn path_lookups_are_bounded_per_call() {
        let rules = [rule(
            0,
            "cat",
            vec![path("/srv"), path("/srv")],
            Rest::Exact,
        )];
        let host = all_present();
        // Each argument costs its components; two of 1000 fit in the
        // budget, one of 1100 after one of 1000 does not.
        let long = |n: usize| format!("/srv{}", "/a".repeat(n - 2));
        let (a, b) = (long(1000), long(1100));
        assert!(matches!(
            decide_with(&rules, &host, &["cat", &a, &a]),
            Ok(Decision::Allow(_))
        ));
        assert!(matches!(
            decide_with(&rules, &host, &["cat", &a, &b]),
            Ok(Decision::Deny { .. })
        ));
    }

    #[test]
    fn bytes_searched_by_regexes_are_bounded_per_call() {
        let dfa = regex_automata::dfa::dense::Builder::new()
            .configure(
                regex_automata::dfa::dense::Config::new()
                    .start_kind(regex_automata::dfa::StartKind::Anchored),
            )
            .build("^(?:.*)$")
            .unwrap()
            .to_sparse()
            .unwrap()
            .to_bytes_little_endian();
        let regex = Arg::Regex(Regex {
            source: ".*".into(),
            dfa: Dfa::from_bytes(dfa).unwrap(),
        });
        let rules = [rule(0, "echo", vec![regex.clone(), regex], Rest::Exact)];
        let host = all_present();
        let half = "a".repeat(MAX_SCAN_BYTES / 2);
        assert!(matches!(
            decide_with(&rules, &host, &["echo", &half, &half]),
            Ok(Decision::Allow(_))
        ));
        let more = "a".repeat(MAX_SCAN_BYTES / 2 + 1);
        assert!(matches!(
            decide_with(&rules, &host, &["echo", &half, &more]),
            Err(Fault::TooComplex)
        ));
    }
}
