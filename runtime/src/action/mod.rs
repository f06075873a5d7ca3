//! Native actions: `rootwrap RULESET @NAME ARGS...` runs the steps of the
//! action NAME in this process, with its parameters matched exactly as a
//! rule's arguments (the action is stored as a rule for the command
//! `@NAME` plus its steps). File steps act through descriptors the
//! resolver of pinned paths opened beneath each parameter's scope
//! (`steps.rs`); a sequence stops at its first failing step, runs its undo
//! steps, and is recorded once.
#![forbid(unsafe_code)]

pub mod model;
pub mod steps;

use std::cell::Cell;
use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::canonical::Canonical;
use crate::exit::ExitCode;
use crate::matcher::{Allowed, Checked, Decision, Fault, Host, OnThisHost};
use crate::pin::{PathRefusal, PinnedPath};
use crate::types::{Arg, Command, Item, PidPattern, Pin, Rule, RunAs};

pub use model::{Action, Attrs, Content, Op, Piece, Step, Target, Text, WriteHow};
use steps::{NewAttrs, Place, Replace, StepError};

/// Whether argv names an action (`@NAME`) rather than a command.
pub fn is_action(argv: &[OsString]) -> bool {
    argv.first().is_some_and(|a| a.as_bytes().starts_with(b"@"))
}

/// This host, as an action's parameters see it: a path parameter is
/// pinned as an entry (its directory's descriptor and its last name),
/// whatever its type, since steps name the entry relative to its
/// directory; nothing is executed, so nothing is looked up.
pub struct ActionHost;

impl Host for ActionHost {
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<Canonical> {
        OnThisHost.canonicalize(path, budget)
    }
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf> {
        OnThisHost.canonicalize_trusted(path)
    }
    fn pin(
        &self,
        base: &Path,
        checked: &Path,
        _: Pin,
        holder: Option<OwnedFd>,
    ) -> Option<Result<PinnedPath, PathRefusal>> {
        OnThisHost.pin(base, checked, Pin::Entry, holder)
    }
    fn unpinned_safe(&self, checked: &Path, owner: u32) -> Result<(), PathRefusal> {
        OnThisHost.unpinned_safe(checked, owner)
    }
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        exec_dirs: &[String],
    ) -> Result<(), crate::process::NotTarget> {
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

/// The parameters' values as matched: the caller's text (a path as
/// checked, canonical), and for a pinned path its descriptor.
pub struct Bound {
    values: Vec<OsString>,
    pinned: Vec<Option<Arc<PinnedPath>>>,
    /// The `<pid>` pattern of each parameter that has one.
    pids: Vec<Option<PidPattern>>,
}

/// Per parameter, its `<pid …>` pattern if it has one (a `kill` step
/// checks the process again against it).
fn pid_patterns(rule: &Rule) -> Vec<Option<PidPattern>> {
    rule.args
        .iter()
        .map(|item| match item {
            Item::One(Arg::Pid(pattern)) => Some(pattern.clone()),
            _ => None,
        })
        .collect()
}

impl Bound {
    /// From an allowed call of the action's rule: one argument per
    /// parameter, after `@NAME`.
    pub fn new(allowed: &Allowed) -> Bound {
        let args = allowed.argv.get(1..).unwrap_or_default();
        let values = args.iter().map(|a| allowed.as_checked(a)).collect();
        let pinned = args
            .iter()
            .map(|a| allowed.pinned.iter().find(|p| p.passed == *a).cloned())
            .collect();
        let pids = pid_patterns(&allowed.rule);
        Bound {
            values,
            pinned,
            pids,
        }
    }

    /// Values as written, nothing pinned (explanations, policy tests).
    pub fn unpinned(values: Vec<OsString>, rule: &Rule) -> Bound {
        let pinned = values.iter().map(|_| None).collect();
        let pids = pid_patterns(rule);
        Bound {
            values,
            pinned,
            pids,
        }
    }

    fn value(&self, param: u16) -> &OsStr {
        self.values
            .get(usize::from(param))
            .map_or(OsStr::new(""), |v| v.as_os_str())
    }

    /// A text with each parameter replaced by its value.
    pub fn text(&self, text: &Text) -> OsString {
        let mut out = Vec::new();
        for piece in &text.0 {
            match piece {
                Piece::Param(i) => out.extend_from_slice(self.value(*i).as_bytes()),
                Piece::Literal(s) => out.extend_from_slice(s.as_bytes()),
            }
        }
        OsString::from_vec(out)
    }

    /// The path a target names, as checked (for messages and records).
    pub fn path(&self, target: &Target) -> PathBuf {
        let mut path = PathBuf::from(self.value(target.param));
        for name in &target.below {
            path.push(name);
        }
        path
    }
}

/// What one step is, with these arguments: `write /var/lib/x/f`.
pub fn describe(op: &Op, bound: &Bound) -> String {
    let shown = |s: &OsStr| crate::audit::escape(s.as_bytes());
    let path = |t: &Target| shown(bound.path(t).as_os_str());
    let text = |t: &Text| shown(&bound.text(t));
    match op {
        Op::Write {
            target,
            content,
            how,
            ..
        } => {
            let from = match content {
                Content::Stdin => "stdin".to_string(),
                Content::Text(t) => format!("\"{}\"", text(t)),
            };
            let how = match how {
                WriteHow::Create => "create",
                WriteHow::Replace => "replace",
                WriteHow::Append => "append",
            };
            format!("write {} from {from} {how}", path(target))
        }
        Op::Read { target, .. } => format!("read {}", path(target)),
        Op::Mkdir { target, .. } => format!("mkdir {}", path(target)),
        Op::Chmod { target, mode } => format!("chmod {} {}", text(mode), path(target)),
        Op::Chown { target, owner } => format!("chown {} {}", text(owner), path(target)),
        Op::Symlink { link, to } => format!("symlink {} to {}", path(link), text(to)),
        Op::Unlink { target } => format!("unlink {}", path(target)),
        Op::Rmdir { target } => format!("rmdir {}", path(target)),
        Op::Rename { from, to } => format!("rename {} to {}", path(from), path(to)),
        Op::Kill { pid, signal } => format!("kill {} {}", text(signal), shown(bound.value(*pid))),
        Op::Sysctl { key, value } => format!("sysctl {} {}", text(key), text(value)),
        Op::Run { argv } => {
            let words: Vec<String> = argv.iter().map(text).collect();
            format!("run {}", words.join(" "))
        }
    }
}

/// What a sequence can reach on this host besides its parameters.
pub struct Runner<'a> {
    pub exec_dirs: &'a [String],
    /// The action's target user: a `run` step's rule must have it too.
    pub run_as: &'a RunAs,
    /// The ruleset's decision for a `run` step's command line.
    pub decide: &'a dyn Fn(&[OsString]) -> Result<Decision, Fault>,
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn Write,
}

/// How a step failed: the status the call ends with, and why.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub status: i32,
    pub message: String,
}

impl From<StepError> for Failure {
    fn from(e: StepError) -> Failure {
        Failure {
            status: ExitCode::StepFailed.into(),
            message: e.to_string(),
        }
    }
}

fn refused(message: impl Into<String>) -> Failure {
    Failure {
        status: ExitCode::StepFailed.into(),
        message: message.into(),
    }
}

/// How a sequence ended: one entry per step run (undo steps included),
/// and the first failure.
// Serialized: the daemon's child for an action reports it to the daemon.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Ended {
    /// `(step, result)`: `3 mkdir /var/lib/x/d`, `ok` or `failed: WHY`.
    pub entries: Vec<(String, String)>,
    /// The failed step (its number from 1, its line) and how it failed.
    pub failed: Option<(usize, u32, Failure)>,
}

impl Ended {
    pub fn status(&self) -> i32 {
        self.failed.as_ref().map_or(0, |(_, _, f)| f.status)
    }
}

/// An allowed action's steps on this host, in order: its parameters bound
/// as `allowed` matched them, its `run` steps decided by `ruleset`. The
/// CLI and both of the daemon's paths run an action through here.
pub fn run_allowed<R: crate::format::ReadAt + ?Sized>(
    ruleset: &crate::format::Ruleset<R>,
    allowed: &Allowed,
    action: &Action,
    stdin: &mut dyn Read,
    stdout: &mut dyn Write,
) -> Ended {
    let bound = Bound::new(allowed);
    let decide = |argv: &[OsString]| ruleset.decide(argv, &OnThisHost);
    let mut runner = Runner {
        exec_dirs: &ruleset.options().exec_dirs,
        run_as: &allowed.run_as,
        decide: &decide,
        stdin,
        stdout,
    };
    run_sequence(action, &bound, &mut runner)
}

/// Runs the steps in order; at the first failure, stops and runs the undo
/// steps (each whatever the others do).
pub fn run_sequence(action: &Action, bound: &Bound, runner: &mut Runner<'_>) -> Ended {
    let mut ended = Ended::default();
    for (i, step) in action.steps.iter().enumerate() {
        let shown = format!("{} {}", i + 1, describe(&step.op, bound));
        match run_step(&step.op, bound, runner) {
            Ok(()) => ended.entries.push((shown, "ok".into())),
            Err(failure) => {
                ended
                    .entries
                    .push((shown, format!("failed: {}", failure.message)));
                ended.failed = Some((i + 1, step.line, failure));
                break;
            }
        }
    }
    if ended.failed.is_some() {
        for (i, step) in action.undo.iter().enumerate() {
            let shown = format!("undo {} {}", i + 1, describe(&step.op, bound));
            let result = match run_step(&step.op, bound, runner) {
                Ok(()) => "ok".to_string(),
                Err(failure) => format!("failed: {}", failure.message),
            };
            ended.entries.push((shown, result));
        }
    }
    ended
}

/// The entry a target names: its parameter's pinned directory and name,
/// then each literal name below it, opened (or created, for `mkdir` with
/// parents) one at a time beneath the previous one.
struct Resolved {
    /// The directory holding the entry, when it is not the parameter's.
    opened: Option<OwnedFd>,
    pinned: Arc<PinnedPath>,
    name: OsString,
}

impl Resolved {
    fn place(&self) -> Place<'_> {
        Place {
            dir: self.dir(),
            name: &self.name,
        }
    }

    fn dir(&self) -> BorrowedFd<'_> {
        self.opened
            .as_ref()
            .map_or_else(|| self.pinned.fd(), |fd| fd.as_fd())
    }
}

fn resolve(target: &Target, bound: &Bound, parents: Option<NewAttrs>) -> Result<Resolved, Failure> {
    let Some(pinned) = bound
        .pinned
        .get(usize::from(target.param))
        .and_then(Option::clone)
    else {
        return Err(refused("the parameter is not a pinned path"));
    };
    let Some(name) = pinned.checked.file_name().map(OsStr::to_os_string) else {
        return Err(refused("the path has no last name"));
    };
    let mut resolved = Resolved {
        opened: None,
        pinned,
        name,
    };
    for below in &target.below {
        let next = steps::subdir(resolved.dir(), &resolved.name, parents)?;
        resolved.opened = Some(next);
        resolved.name = OsString::from(below);
    }
    Ok(resolved)
}

fn attrs(attrs: &Attrs, bound: &Bound) -> Result<NewAttrs, Failure> {
    let mut new = NewAttrs::default();
    if let Some(mode) = &attrs.mode {
        new.mode = Some(steps::parse_mode(bound.text(mode).as_bytes())?);
    }
    if let Some(owner) = &attrs.owner {
        (new.uid, new.gid) = steps::parse_owner(bound.text(owner).as_bytes())?;
    }
    Ok(new)
}

fn run_step(op: &Op, bound: &Bound, runner: &mut Runner<'_>) -> Result<(), Failure> {
    match op {
        Op::Write {
            target,
            content,
            max,
            how,
            attrs: a,
        } => {
            let new = attrs(a, bound)?;
            let content = match content {
                Content::Stdin => {
                    let mut data = Vec::new();
                    runner
                        .stdin
                        .take(max + 1)
                        .read_to_end(&mut data)
                        .map_err(|e| refused(format!("cannot read standard input: {e}")))?;
                    data
                }
                Content::Text(text) => bound.text(text).into_vec(),
            };
            if content.len() as u64 > *max {
                return Err(refused(format!("the content is more than {max} bytes")));
            }
            let resolved = resolve(target, bound, None)?;
            let place = resolved.place();
            match how {
                WriteHow::Create => steps::write_new(&place, &content, new, Replace::No)?,
                WriteHow::Replace => steps::write_new(&place, &content, new, Replace::Yes)?,
                WriteHow::Append => steps::append(&place, &content)?,
            }
        }
        Op::Read { target, max } => {
            let resolved = resolve(target, bound, None)?;
            let content = steps::read(&resolved.place(), *max)?;
            runner
                .stdout
                .write_all(&content)
                .and_then(|()| runner.stdout.flush())
                .map_err(|e| refused(format!("cannot write standard output: {e}")))?;
        }
        Op::Mkdir {
            target,
            parents,
            attrs: a,
        } => {
            let new = attrs(a, bound)?;
            let resolved = resolve(target, bound, parents.then_some(new))?;
            steps::mkdir(&resolved.place(), new, *parents)?;
        }
        Op::Chmod { target, mode } => {
            let mode = steps::parse_mode(bound.text(mode).as_bytes())?;
            steps::chmod(&resolve(target, bound, None)?.place(), mode)?;
        }
        Op::Chown { target, owner } => {
            let (uid, gid) = steps::parse_owner(bound.text(owner).as_bytes())?;
            steps::chown(&resolve(target, bound, None)?.place(), uid, gid)?;
        }
        Op::Symlink { link, to } => {
            steps::symlink(&resolve(link, bound, None)?.place(), &bound.text(to))?;
        }
        Op::Unlink { target } => steps::unlink(&resolve(target, bound, None)?.place())?,
        Op::Rmdir { target } => steps::rmdir(&resolve(target, bound, None)?.place())?,
        Op::Rename { from, to } => {
            let (from, to) = (resolve(from, bound, None)?, resolve(to, bound, None)?);
            steps::rename(&from.place(), &to.place())?;
        }
        Op::Kill { pid, signal } => kill(*pid, signal, bound, runner.exec_dirs)?,
        Op::Sysctl { key, value } => {
            steps::sysctl(bound.text(key).as_bytes(), bound.text(value).as_bytes())?;
        }
        Op::Run { argv } => run(argv, bound, runner)?,
    }
    Ok(())
}

/// The signal goes through a process descriptor opened before the
/// process's identity is checked (again, as its `<pid>` parameter was):
/// if the process has exited and its id been reused meanwhile, the check
/// sees the new process, and the descriptor can reach no other.
fn kill(pid: u16, signal: &Text, bound: &Bound, exec_dirs: &[String]) -> Result<(), Failure> {
    let signal_text = bound.text(signal);
    let Some(signal) = crate::values::signal(signal_text.as_bytes()) else {
        return Err(refused(format!(
            "`{}` is not a signal",
            crate::audit::escape(signal_text.as_bytes())
        )));
    };
    let Some(pattern) = bound.pids.get(usize::from(pid)).and_then(Option::as_ref) else {
        return Err(refused("the parameter is not a `<pid>`"));
    };
    let value = bound.value(pid);
    let Some(number) = crate::values::int(value.as_bytes()).and_then(|n| i32::try_from(n).ok())
    else {
        return Err(refused("the process id is not a number"));
    };
    if number <= 0 {
        return Err(refused("the process id is not positive"));
    }
    let pidfd = crate::sys::pidfd_open(number)
        .map_err(|e| refused(format!("cannot open process {number}: {e}")))?;
    crate::process::check(i64::from(number), pattern, exec_dirs)
        .map_err(|why| refused(why.to_string()))?;
    crate::sys::pidfd_send_signal(pidfd.as_fd(), signal)
        .map_err(|e| refused(format!("cannot signal process {number}: {e}")))
}

/// The command line is decided by the ruleset exactly as if the caller had
/// asked for it, and must run as the action does; it runs in a child,
/// without a shell, and the sequence waits for it.
fn run(argv: &[Text], bound: &Bound, runner: &mut Runner<'_>) -> Result<(), Failure> {
    let argv: Vec<OsString> = argv.iter().map(|t| bound.text(t)).collect();
    let shown = crate::matcher::Invocation::display_argv(&argv);
    let allowed = match (runner.decide)(&argv) {
        Ok(Decision::Allow(allowed)) => allowed,
        Ok(Decision::NotExecutable { rule }) => {
            return Err(refused(format!(
                "`{shown}`: the executable of rule `{}` is missing",
                rule.name
            )))
        }
        Ok(Decision::Deny { .. }) => {
            return Err(refused(format!("`{shown}`: no rule allows it")));
        }
        Err(fault) => return Err(refused(format!("`{shown}`: {fault}"))),
    };
    if allowed.run_as != *runner.run_as {
        return Err(refused(format!(
            "`{shown}`: rule `{}` runs as {}, the action as {}",
            allowed.rule.name,
            allowed.run_as.user_name(),
            runner.run_as.user_name()
        )));
    }
    if let Some(refusal) = allowed.refusal() {
        return Err(refused(format!("refusing to execute {refusal}")));
    }
    let _ = runner.stdout.flush();
    let status = crate::sys::fork_and_wait(|| {
        let error = match crate::exec::switch_user(&allowed.run_as) {
            Ok(()) => crate::exec::exec(&allowed).to_string(),
            Err(e) => e.to_string(),
        };
        crate::audit::say(&error);
        ExitCode::ExecFailed.into()
    })
    .map_err(|e| refused(format!("cannot start `{shown}`: {e}")))?;
    match crate::sys::exit_code_of(status) {
        0 => Ok(()),
        code => Err(Failure {
            status: code,
            message: format!("`{shown}` exited with status {code}"),
        }),
    }
}

#[cfg(test)]
mod tests;
