//! What a record says: the outcome, the call and its rule, the caller.

use std::ffi::OsString;
use std::path::Path;

use crate::exit::ExitCode;
use crate::sys;
use crate::types::Rule;

/// What was decided. The names are the `decision` field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// About to execute: written just before `execve`.
    Allowed,
    /// No rule allows the command line.
    Denied,
    /// A rule matched, but its executable is missing.
    NotFound,
    /// The ruleset is missing, untrusted or damaged, or a log target failed.
    BadRuleset,
    /// No command was given.
    BadInvocation,
    /// Allowed, but switching user or `execve` failed: nothing ran.
    ExecFailed,
    /// An action ran, and one of its steps failed.
    StepFailed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not-found",
            Outcome::BadRuleset => "bad-ruleset",
            Outcome::BadInvocation => "bad-invocation",
            Outcome::ExecFailed => "exec-failed",
            Outcome::StepFailed => "step-failed",
        }
    }

    /// The one exit code of each way a call ends.
    pub const fn exit(self) -> ExitCode {
        match self {
            Outcome::Allowed => ExitCode::Allowed,
            Outcome::Denied => ExitCode::Unauthorized,
            Outcome::NotFound => ExitCode::NotFound,
            Outcome::BadRuleset => ExitCode::BadRuleset,
            Outcome::BadInvocation => ExitCode::NoCommand,
            Outcome::ExecFailed => ExitCode::ExecFailed,
            Outcome::StepFailed => ExitCode::StepFailed,
        }
    }
}

/// One decision, with everything a record says about it.
#[derive(Debug, Clone)]
pub(crate) struct Event<'a> {
    pub outcome: Outcome,
    pub argv: &'a [OsString],
    pub rule: Option<&'a Rule>,
    pub chained: Option<&'a Rule>,
    pub executable: Option<&'a Path>,
    pub exec_argv: &'a [OsString],
    pub run_as: Option<&'a str>,
    /// The variables the rule set (the runtime's PATH is not listed).
    pub env: &'a [(String, OsString)],
    /// For each pinned `<path>` argument: the path rootwrap checked and
    /// the path the command received.
    pub paths: &'a [(OsString, OsString)],
    /// The ruleset's name and SHA-256, once its index verified.
    pub ruleset: Option<(String, String)>,
    /// The refusal's message, byte for byte (it may quote arguments).
    pub reason: Option<Vec<u8>>,
    /// For an action: each step run, with its result.
    pub steps: &'a [(String, String)],
}

impl<'a> Event<'a> {
    pub fn new(outcome: Outcome, argv: &'a [OsString]) -> Self {
        Event {
            outcome,
            argv,
            rule: None,
            chained: None,
            executable: None,
            exec_argv: &[],
            run_as: None,
            env: &[],
            paths: &[],
            ruleset: None,
            reason: None,
            steps: &[],
        }
    }
}

/// Who asked, from where.
#[derive(Debug, Clone, Default)]
pub(crate) struct Caller {
    /// From sudo's SUDO_USER, else the name of the real uid.
    pub user: String,
    /// From sudo's SUDO_UID, else the real uid.
    pub uid: u32,
    /// This process's real uid (0 under sudo): recorded when it differs
    /// from `uid`, so a SUDO_UID set by hand is visible as such.
    pub real_uid: u32,
    pub cwd: OsString,
    pub host: String,
    pub pid: u32,
    /// A daemon's peer, as the kernel identified it (`SO_PEERCRED`): the
    /// process that sent the request. `pid` is then the daemon's.
    pub peer: Option<crate::sys::PeerCred>,
}

impl Caller {
    pub fn current() -> Caller {
        let real_uid = sys::real_uid();
        let sudo_uid = std::env::var("SUDO_UID")
            .ok()
            .and_then(|v| v.parse::<u32>().ok());
        let sudo_user = std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty());
        let uid = sudo_uid.unwrap_or(real_uid);
        let user = match (sudo_user, sudo_uid) {
            (Some(user), _) => user,
            (None, _) => sys::user_name(uid).unwrap_or_default(),
        };
        Caller {
            user,
            uid,
            real_uid,
            cwd: std::env::current_dir()
                .map(|p| p.into_os_string())
                .unwrap_or_default(),
            host: sys::hostname(),
            pid: std::process::id(),
            peer: None,
        }
    }
}
