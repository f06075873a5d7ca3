//! The `rootwrap` command: `rootwrap RULESET CMD ARGS...`, argv taken
//! verbatim (no option parsing: nothing the caller writes is interpreted
//! before the ruleset decides).
#![forbid(unsafe_code)]

use std::convert::Infallible;
use std::ffi::OsString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::audit::{record_fallback, say, AuditLog, Caller, Event, LogError, Outcome};
use crate::exec::ExecError;
use crate::format::{Ruleset, RulesetError, MAX_RULESET_BYTES};
use crate::matcher::{
    denying_rule, disabled_match, Allowed, Decision, Fault, Invocation, Mismatch,
};
use crate::owner::Exposure;
use crate::types::Rule;

// Actions (`@NAME`) take this pipeline up to the decision.
#[path = "action/call.rs"]
pub(crate) mod action_call;

/// Refuses a ruleset path that is not absolute and canonical, before it is
/// opened. A sudoers line `rootwrap /etc/svc/R.rwc *` lets the caller pass
/// a first argument `/etc/svc/R.rwc /../other.rwc` (sudo's `*` matches
/// spaces and slashes too): such a path must never reach another file.
pub(crate) fn check_ruleset_path(path: &Path) -> Result<(), RulesetError> {
    let bytes = path.as_os_str().as_bytes();
    let why = if !bytes.starts_with(b"/") {
        "is not absolute"
    } else if bytes
        .iter()
        .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    {
        "holds whitespace or a control character"
    } else if bytes.windows(2).any(|w| w == b"//") {
        "repeats `/`"
    } else if bytes.len() > 1 && bytes.ends_with(b"/") {
        "ends with `/`"
    } else if bytes
        .split(|&b| b == b'/')
        .any(|part| part == b"." || part == b"..")
    {
        "has a `.` or `..` component"
    } else {
        return Ok(());
    };
    Err(RulesetError::PathNotCanonical(why))
}

/// What would make the runtime refuse a ruleset file with these metadata,
/// every violation (the runtime refuses on the first; `explain` reports
/// them all).
pub fn check_trust(meta: &std::fs::Metadata) -> Vec<RulesetError> {
    let mut violations = Vec::new();
    if !meta.is_file() {
        violations.push(RulesetError::NotRegularFile);
    }
    if let Some(Exposure::Owner(uid)) = crate::owner::foreign_owner(meta, None) {
        violations.push(RulesetError::NotOwnedByRoot { uid });
    }
    if let Some(Exposure::Writable(mode)) = crate::owner::writable_by_others(meta) {
        violations.push(RulesetError::WritableByOthers { mode });
    }
    if meta.is_file() && meta.len() > MAX_RULESET_BYTES {
        violations.push(RulesetError::TooLarge { size: meta.len() });
    }
    violations
}

/// Opens a ruleset the way the privileged runtime must: a regular file,
/// owned by root, writable by nobody else, within the size cap, with a valid
/// header and index.
pub fn open_trusted(path: &Path) -> Result<Ruleset<File>, RulesetError> {
    // Non-blocking and without a controlling terminal: a FIFO or a device
    // at the path must be refused below, not waited on or acquired.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(RulesetError::Open)?;
    let meta = file.metadata().map_err(RulesetError::Open)?;
    if let Some(first) = check_trust(&meta).into_iter().next() {
        return Err(first);
    }
    Ruleset::from_source_of_len(Box::new(file), meta.len())
}

/// Every way a call ends without its command running; each has one audit
/// outcome (and so one exit code) and one message. Shared with the daemon.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// A resource limit could not be set to its documented value.
    Limits(&'static str, std::io::Error),
    /// No ruleset, or no command after it.
    NoCommand,
    /// The ruleset path, file or contents.
    Ruleset(RulesetError),
    /// A declared log target cannot be opened (fail closed).
    LogUnavailable(LogError),
    /// A rule matched, but its executable is missing on this host.
    NotFound(Box<Rule>),
    /// No rule allows the command line: the message says why; the rule
    /// named is the `deny` rule that matched, or the disabled rule that
    /// alone matched.
    Denied(Vec<u8>, Option<Box<Rule>>),
    /// Allowed, but not run: the executable was refused, or switching
    /// user or `execve` failed.
    ExecFailed(ExecError),
    /// Allowed, but its record could not be written (fail closed; the
    /// audit log has already told its fallback).
    NotRecorded(LogError),
    /// An action ran and was recorded: the call ends with this status.
    Ended(i32),
}

impl Refusal {
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Refusal::Limits(..)
            | Refusal::Ruleset(_)
            | Refusal::LogUnavailable(_)
            | Refusal::NotRecorded(_) => Outcome::BadRuleset,
            Refusal::NoCommand => Outcome::BadInvocation,
            Refusal::NotFound(_) => Outcome::NotFound,
            Refusal::Denied(..) => Outcome::Denied,
            Refusal::ExecFailed(_) => Outcome::ExecFailed,
            Refusal::Ended(_) => Outcome::Allowed,
        }
    }

    /// The one line said on stderr and recorded as the reason; it may
    /// quote the caller's bytes.
    pub(crate) fn message(&self, ruleset_path: &Path) -> Vec<u8> {
        match self {
            Refusal::Limits(name, e) => format!(
                "cannot set the resource limit RLIMIT_{}: {e}",
                name.to_uppercase()
            )
            .into_bytes(),
            Refusal::NoCommand => b"No command specified".to_vec(),
            Refusal::Ruleset(e) => format!("{}: {e}", ruleset_path.display()).into_bytes(),
            Refusal::LogUnavailable(e) | Refusal::NotRecorded(e) => {
                format!("{e}; refusing the call (on-log-failure refuse)").into_bytes()
            }
            Refusal::NotFound(rule) => format!(
                "Executable not found: {} (filter match = {})",
                rule.command_text(),
                rule.name
            )
            .into_bytes(),
            Refusal::Denied(message, _) => message.clone(),
            Refusal::ExecFailed(e) => e.to_string().into_bytes(),
            Refusal::Ended(_) => Vec::new(),
        }
    }
}

/// One call, as far as it got: what a refusal's record says about it.
struct Call<'a> {
    argv: &'a [OsString],
    ruleset_path: &'a Path,
    /// The ruleset's name and digest, once its index verified.
    identity: Option<(String, String)>,
    /// The audit log, once opened; before that, refusals go to the
    /// fallback (authpriv.err).
    log: Option<AuditLog>,
    caller: Caller,
    /// The decision, once a rule allowed the call.
    allowed: Option<Box<Allowed>>,
}

/// Runs one call; returns the exit code when it does not exec.
pub fn main_with(mut args: impl Iterator<Item = OsString>) -> i32 {
    let limits = prepare_process();
    let _program = args.next();
    let ruleset_path = args.next();
    let argv: Vec<OsString> = args.collect();
    if argv.is_empty() && ruleset_path.as_deref() == Some(std::ffi::OsStr::new("--version")) {
        return print_version();
    }
    let mut call = Call {
        argv: &argv,
        ruleset_path: Path::new(ruleset_path.as_deref().unwrap_or_default()),
        identity: None,
        log: None,
        caller: Caller::default(),
        allowed: None,
    };
    let refusal = match call.run(limits, ruleset_path.is_some()) {
        Ok(never) => match never {},
        Err(Refusal::Ended(status)) => return status,
        Err(refusal) => refusal,
    };
    call.refuse(refusal)
}

/// `rootwrap --version`, as the only argument: no ruleset is read, nothing
/// is recorded. Packagers and operators check which format a ruleset must
/// have for this binary. Exit 0, or 1 when stdout cannot be written.
fn print_version() -> i32 {
    use std::io::Write as _;
    let line = format!(
        "rootwrap {} (reads ruleset format {})\n",
        env!("CARGO_PKG_VERSION"),
        crate::format::FORMAT_VERSION
    );
    match std::io::stdout().lock().write_all(line.as_bytes()) {
        Ok(()) => 0,
        Err(_) => 1,
    }
}

/// Before anything else: sudo passes on the caller's resource limits and
/// its ignored and blocked signals. A tiny file-size limit would kill
/// rootwrap in the middle of the audit record (or, with SIGXFSZ ignored,
/// fail it), and the command would run with them. Only root can raise
/// limits; unprivileged, rootwrap cannot run anything as anyone else.
pub(crate) fn prepare_process() -> Result<(), (&'static str, std::io::Error)> {
    let limits = if crate::sys::effective_uid() == 0 {
        crate::sys::reset_limits()
    } else {
        Ok(())
    };
    crate::sys::reset_signals();
    // A caller that closes our stderr pipe must not kill us before the
    // audit record is written (execve restores the default).
    crate::sys::ignore_sigpipe();
    crate::sys::ensure_std_fds();
    limits
}

impl Call<'_> {
    /// The privileged path, in order: limits → ruleset → log → caller →
    /// decide → check the executable → switch user → record → exec. Returns
    /// only how the call ended without running its command.
    fn run(
        &mut self,
        limits: Result<(), (&'static str, std::io::Error)>,
        has_ruleset: bool,
    ) -> Result<Infallible, Refusal> {
        limits.map_err(|(name, e)| Refusal::Limits(name, e))?;
        if !has_ruleset {
            return Err(Refusal::NoCommand);
        }
        check_ruleset_path(self.ruleset_path).map_err(Refusal::Ruleset)?;
        let ruleset = open_trusted(self.ruleset_path).map_err(Refusal::Ruleset)?;
        let options = ruleset.options().clone();
        self.identity = Some((options.name.clone(), ruleset.digest_hex()));
        let log = AuditLog::open(&options.log).map_err(Refusal::LogUnavailable)?;
        // Looked up now, before any switch to the target user; only when a
        // record will be written.
        if log.is_active() {
            self.caller = Caller::current();
        }
        self.log = Some(log);
        if crate::action::is_action(self.argv) {
            return Err(Refusal::Ended(self.action(&ruleset)?));
        }
        let allowed = decide(&ruleset, self.argv)?;
        // Its descriptor is closed at exec with every inherited one.
        drop(ruleset);
        let allowed = &**self.allowed.insert(allowed);
        // An executable the caller could replace: refused, nothing runs.
        if let Some(refusal) = allowed.refusal() {
            return Err(Refusal::ExecFailed(ExecError::Untrusted(refusal.clone())));
        }
        crate::exec::switch_user(&allowed.run_as).map_err(Refusal::ExecFailed)?;
        let (caller, identity) = (&self.caller, self.identity.clone());
        if let Some(log) = &mut self.log {
            record_allowed(log, caller, self.argv, allowed, identity)
                .map_err(Refusal::NotRecorded)?;
        }
        Err(Refusal::ExecFailed(crate::exec::exec(allowed)))
    }

    /// Records a refusal (to the log, or before the log exists to the
    /// fallback), then says it on stderr, which the caller controls and may
    /// have made unwritable: the record comes first.
    fn refuse(&mut self, refusal: Refusal) -> i32 {
        let message = refusal.message(self.ruleset_path);
        let outcome = refusal.outcome();
        if let Refusal::NotRecorded(_) = refusal {
            say(&message);
            return outcome.exit().into();
        }
        let log = match &mut self.log {
            Some(log) => Some((log, &self.caller)),
            None => None,
        };
        let logged = record_refusal(
            log,
            self.argv,
            self.identity.clone(),
            self.allowed.as_deref(),
            &refusal,
            message.clone(),
        );
        say(&message);
        if let Err(e) = logged {
            say(&e.to_string());
        }
        outcome.exit().into()
    }
}

/// The matching step of every call, the CLI's and the daemon's: `argv`
/// decided by `ruleset`, with every way it can fail as its refusal.
pub(crate) fn decide<R: crate::format::ReadAt + ?Sized>(
    ruleset: &Ruleset<R>,
    argv: &[OsString],
) -> Result<Box<Allowed>, Refusal> {
    if argv.is_empty() {
        return Err(Refusal::NoCommand);
    }
    let decision = match ruleset.decide(argv, &crate::matcher::OnThisHost) {
        Ok(decision) => decision,
        // More work than a call may cost: refused like a call no rule
        // allows.
        Err(Fault::TooComplex) => Decision::Deny { tried: Vec::new() },
        Err(Fault::Ruleset(e)) => return Err(Refusal::Ruleset(e)),
    };
    match decision {
        Decision::Allow(allowed) => Ok(allowed),
        Decision::NotExecutable { rule } => Err(Refusal::NotFound(rule)),
        Decision::Deny { tried } => {
            // A damaged ruleset must be reported as such, never as a
            // denial.
            ruleset.verify_all().map_err(Refusal::Ruleset)?;
            Err(denial(argv, &tried))
        }
    }
}

/// The refusal of a denied call: its message, and the rule it names.
pub(crate) fn denial(argv: &[OsString], tried: &[(Rule, Mismatch)]) -> Refusal {
    let named = denying_rule(tried).or_else(|| disabled_match(tried));
    Refusal::Denied(denial_message(argv, tried), named.cloned().map(Box::new))
}

/// Records a refusal (to `log`, with its caller, or before a log exists
/// to the fallback) with what is known of the call, `message` as its
/// reason. The caller says the message (stderr, or the daemon's reply)
/// after: the record comes first.
pub(crate) fn record_refusal(
    log: Option<(&mut AuditLog, &Caller)>,
    argv: &[OsString],
    identity: Option<(String, String)>,
    allowed: Option<&Allowed>,
    refusal: &Refusal,
    message: Vec<u8>,
) -> Result<(), LogError> {
    let details = Details::of(allowed);
    let mut event = details.event(refusal.outcome(), argv, allowed);
    match refusal {
        Refusal::NotFound(rule) | Refusal::Denied(_, Some(rule)) => event.rule = Some(rule),
        _ => {}
    }
    event.ruleset = identity;
    event.reason = Some(message);
    match log {
        Some((log, caller)) => log.record(caller, &event),
        None => {
            record_fallback(Caller::current, &event);
            Ok(())
        }
    }
}

/// What a record of an allowed call lists beside its fields: the rule's
/// variables (not the runtime's PATH) and the pinned paths.
struct Details {
    env: Vec<(String, OsString)>,
    paths: Vec<(OsString, OsString)>,
}

impl Details {
    fn of(allowed: Option<&Allowed>) -> Details {
        let Some(allowed) = allowed else {
            return Details {
                env: Vec::new(),
                paths: Vec::new(),
            };
        };
        Details {
            env: allowed
                .env
                .iter()
                .filter(|(name, _)| name != "PATH")
                .cloned()
                .collect(),
            paths: allowed
                .pinned
                .iter()
                .map(|p| (p.checked.clone().into_os_string(), p.passed.clone()))
                .collect(),
        }
    }

    /// The record of `outcome`, with what was decided if a rule allowed it.
    fn event<'a>(
        &'a self,
        outcome: Outcome,
        argv: &'a [OsString],
        allowed: Option<&'a Allowed>,
    ) -> Event<'a> {
        let mut event = Event::new(outcome, argv);
        if let Some(allowed) = allowed {
            event.rule = Some(&allowed.rule);
            event.chained = allowed.chained.as_ref();
            event.executable = Some(&allowed.executable);
            event.exec_argv = &allowed.argv;
            event.run_as = Some(allowed.run_as.user_name());
            event.env = &self.env;
            event.paths = &self.paths;
        }
        event
    }
}

/// The `allowed` record, written before `execve`.
pub(crate) fn record_allowed(
    log: &mut AuditLog,
    caller: &Caller,
    argv: &[OsString],
    allowed: &Allowed,
    identity: Option<(String, String)>,
) -> Result<(), LogError> {
    let details = Details::of(Some(allowed));
    let mut event = details.event(Outcome::Allowed, argv, Some(allowed));
    event.ruleset = identity;
    log.record(caller, &event)
}

/// The refusal line of a denial. A rule that matched but whose path cannot
/// be handed over safely says so: the operator has a directory to fix. A
/// rule that failed on the process an argument names says why: which file
/// the process runs is not visible to the caller.
fn denial_message(argv: &[OsString], tried: &[(Rule, Mismatch)]) -> Vec<u8> {
    let unsafe_path = tried
        .iter()
        .find(|(_, why)| matches!(why, Mismatch::Path { .. }));
    let process = tried
        .iter()
        .find(|(_, why)| matches!(why, Mismatch::Process { .. }))
        .map(|(rule, why)| format!("; rule `{}`: {why}", rule.name))
        .unwrap_or_default();
    let overridden = tried
        .iter()
        .find(|(_, why)| matches!(why, Mismatch::DeniedBy(_)));
    let disabled = tried
        .iter()
        .find(|(_, why)| matches!(why, Mismatch::Disabled(_)));
    let (head, tail) = match (overridden, unsafe_path, disabled) {
        (Some((_, why)), _, _) => ("Unauthorized command: ", format!(" ({why})")),
        (None, Some((rule, why)), _) => {
            ("Unsafe path: ", format!(" (rule `{}`: {why})", rule.name))
        }
        (None, None, Some((rule, why))) => (
            "Unauthorized command: ",
            format!(" (no filter matched; rule `{}`: {why})", rule.name),
        ),
        (None, None, None) => (
            "Unauthorized command: ",
            format!(" (no filter matched{process})"),
        ),
    };
    let mut message = head.as_bytes().to_vec();
    message.extend(Invocation::argv_bytes(argv));
    message.extend(tail.as_bytes());
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_absolute_canonical_ruleset_paths_are_opened() {
        for good in [
            "/etc/svc/r.rwc",
            "/r",
            "/etc/svc/.hidden.rwc",
            "/etc/a..b/r",
        ] {
            assert!(check_ruleset_path(Path::new(good)).is_ok(), "{good}");
        }
        for (bad, why) in [
            ("etc/svc/r.rwc", "is not absolute"),
            ("r.rwc", "is not absolute"),
            ("", "is not absolute"),
            (
                "/etc/svc/r.rwc /../x.rwc",
                "holds whitespace or a control character",
            ),
            ("/etc/svc/r.rwc ", "holds whitespace or a control character"),
            (
                "/etc/svc/r.rwc\t",
                "holds whitespace or a control character",
            ),
            (
                "/etc/svc/r.rwc\n",
                "holds whitespace or a control character",
            ),
            ("/etc//svc/r.rwc", "repeats `/`"),
            ("/etc/svc/", "ends with `/`"),
            ("/etc/svc/../x.rwc", "has a `.` or `..` component"),
            ("/etc/./svc/r.rwc", "has a `.` or `..` component"),
            ("/etc/svc/r.rwc/..", "has a `.` or `..` component"),
            ("/.", "has a `.` or `..` component"),
        ] {
            match check_ruleset_path(Path::new(bad)) {
                Err(RulesetError::PathNotCanonical(said)) => assert_eq!(said, why, "{bad:?}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
    }
}
