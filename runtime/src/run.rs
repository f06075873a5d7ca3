//! The `rootwrap` command: `rootwrap RULESET CMD ARGS...`, argv taken
//! verbatim (no option parsing: nothing the caller writes is interpreted
//! before the ruleset decides).

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

use crate::audit::{escape, record_fallback, AuditLog, Caller, Event, Outcome};
use crate::exit;
use crate::format::{Ruleset, RulesetError, MAX_RULESET_BYTES};
use crate::matcher::{Decision, Fault, Invocation, Mismatch};

/// Refuses a ruleset path that is not absolute and canonical, before it is
/// opened. A sudoers line `rootwrap /etc/svc/R.rwc *` lets the caller pass
/// a first argument `/etc/svc/R.rwc /../other.rwc` (sudo's `*` matches
/// spaces and slashes too): such a path must never reach another file.
pub fn check_ruleset_path(path: &Path) -> Result<(), RulesetError> {
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
    if !meta.is_file() {
        return Err(RulesetError::NotRegularFile);
    }
    if meta.uid() != 0 {
        return Err(RulesetError::NotOwnedByRoot { uid: meta.uid() });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(RulesetError::WritableByOthers { mode: meta.mode() });
    }
    if meta.len() > MAX_RULESET_BYTES {
        return Err(RulesetError::TooLarge { size: meta.len() });
    }
    Ruleset::from_source_of_len(Box::new(file), meta.len())
}

/// Runs one call; returns the exit code when it does not exec.
pub fn main_with(mut args: impl Iterator<Item = OsString>) -> i32 {
    // Before anything else: sudo passes on the caller's resource limits and
    // its ignored and blocked signals. A tiny file-size limit would kill
    // rootwrap in the middle of the audit record (or, with SIGXFSZ ignored,
    // fail it), and the command would run with them. Only root can raise
    // limits; unprivileged, rootwrap cannot run anything as anyone else.
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
    // sudo keeps the caller's TZ: it must not date syslog headers (and
    // nothing of rootwrap's reads it otherwise; the command gets a clean
    // environment).
    std::env::remove_var("TZ");
    let _program = args.next();
    let ruleset_path = args.next();
    let argv: Vec<OsString> = args.collect();
    if let Err((name, e)) = limits {
        let message = format!(
            "cannot set the resource limit RLIMIT_{}: {e}",
            name.to_uppercase()
        );
        let mut event = Event::new(Outcome::BadRuleset, exit::BAD_RULESET, &argv);
        event.reason = Some(message.clone().into_bytes());
        record_fallback(Caller::current, &event);
        say(&message);
        return exit::BAD_RULESET;
    }
    let Some(ruleset_path) = ruleset_path else {
        let mut event = Event::new(Outcome::BadInvocation, exit::NO_COMMAND, &argv);
        event.reason = Some(b"No command specified".to_vec());
        record_fallback(Caller::current, &event);
        say("No command specified");
        return exit::NO_COMMAND;
    };
    let shown_path = Path::new(&ruleset_path).display().to_string();

    let opened = check_ruleset_path(Path::new(&ruleset_path))
        .and_then(|()| open_trusted(Path::new(&ruleset_path)));
    let ruleset = match opened {
        Ok(ruleset) => ruleset,
        Err(e) => {
            let message = format!("{shown_path}: {e}");
            let mut event = Event::new(Outcome::BadRuleset, exit::BAD_RULESET, &argv);
            event.reason = Some(message.clone().into_bytes());
            record_fallback(Caller::current, &event);
            say(&message);
            return exit::BAD_RULESET;
        }
    };
    let options = ruleset.options().clone();
    let identity = Some((options.name.clone(), ruleset.digest_hex()));
    let mut log = match AuditLog::open(&options.log) {
        Ok(log) => log,
        Err(e) => {
            // Fail closed: a call that cannot be audited does not run.
            let message = format!("{e}; refusing the call (on-log-failure refuse)");
            let mut event = Event::new(Outcome::BadRuleset, exit::BAD_RULESET, &argv);
            event.ruleset = identity.clone();
            event.reason = Some(message.clone().into_bytes());
            record_fallback(Caller::current, &event);
            say(&message);
            return exit::BAD_RULESET;
        }
    };
    // Looked up now, before any switch to the target user; only when a
    // record will be written.
    let caller = if log.is_active() {
        Caller::current()
    } else {
        Caller::default()
    };
    // Records a failure that ends the call: to the log first, then on
    // stderr (which the caller controls and may have made unwritable). The
    // message may hold the caller's bytes: the record keeps them exactly,
    // and stderr gets them escaped like the record.
    let finish = |log: &mut AuditLog, mut event: Event<'_>, message: Vec<u8>| -> i32 {
        event.ruleset = identity.clone();
        let code = event.exit_code;
        event.reason = Some(message.clone());
        let logged = log.record(&caller, &event);
        say(&message);
        if let Err(e) = logged {
            say(&e.to_string());
        }
        code
    };

    if argv.is_empty() {
        let event = Event::new(Outcome::BadInvocation, exit::NO_COMMAND, &argv);
        return finish(&mut log, event, b"No command specified".to_vec());
    }
    let decision = match ruleset.decide(&argv, &crate::matcher::OnThisHost) {
        Ok(decision) => decision,
        // More work than a call may cost: refused like a call no rule allows.
        Err(Fault::TooComplex) => Decision::Deny { tried: Vec::new() },
        Err(Fault::Ruleset(e)) => {
            let event = Event::new(Outcome::BadRuleset, exit::BAD_RULESET, &argv);
            return finish(&mut log, event, format!("{shown_path}: {e}").into());
        }
    };
    match decision {
        Decision::Allow(allowed) => {
            // Its descriptor is closed at exec with every inherited one.
            drop(ruleset);
            let rule_env: Vec<(String, OsString)> = allowed
                .env
                .iter()
                .filter(|(name, _)| name != "PATH")
                .cloned()
                .collect();
            let paths: Vec<(OsString, OsString)> = allowed
                .pinned
                .iter()
                .map(|p| (p.checked.clone().into_os_string(), p.passed.clone()))
                .collect();
            let mut event = Event::new(Outcome::Allowed, exit::ALLOWED, &argv);
            event.paths = &paths;
            event.rule = Some(&allowed.rule);
            event.chained = allowed.chained.as_ref();
            event.executable = Some(&allowed.executable);
            event.exec_argv = &allowed.argv;
            event.run_as = Some(allowed.run_as.user_name());
            event.env = &rule_env;
            event.ruleset = identity.clone();
            // An executable the caller could replace: refused, nothing runs.
            if let Some(refusal) = allowed.refusal() {
                event.outcome = Outcome::ExecFailed;
                event.exit_code = exit::EXEC_FAILED;
                let e = crate::exec::ExecError::Untrusted(refusal.clone());
                return finish(&mut log, event, e.to_string().into());
            }
            if let Err(e) = crate::exec::switch_user(&allowed.run_as) {
                event.outcome = Outcome::ExecFailed;
                event.exit_code = exit::EXEC_FAILED;
                return finish(&mut log, event, e.to_string().into());
            }
            if let Err(e) = log.record(&caller, &event) {
                event.outcome = Outcome::BadRuleset;
                event.exit_code = exit::BAD_RULESET;
                say(&format!("{e}; refusing the call (on-log-failure refuse)"));
                return exit::BAD_RULESET;
            }
            let error = crate::exec::exec(&allowed);
            event.outcome = Outcome::ExecFailed;
            event.exit_code = exit::EXEC_FAILED;
            finish(&mut log, event, error.to_string().into())
        }
        Decision::NotExecutable { rule } => {
            let mut event = Event::new(Outcome::NotFound, exit::NOT_FOUND, &argv);
            event.rule = Some(&rule);
            let message = format!(
                "Executable not found: {} (filter match = {})",
                rule.command.as_str(),
                rule.name
            );
            finish(&mut log, event, message.into())
        }
        Decision::Deny { tried } => {
            // A damaged ruleset must be reported as such, never as a denial.
            if let Err(e) = ruleset.verify_all() {
                let event = Event::new(Outcome::BadRuleset, exit::BAD_RULESET, &argv);
                return finish(&mut log, event, format!("{shown_path}: {e}").into());
            }
            let event = Event::new(Outcome::Denied, exit::UNAUTHORIZED, &argv);
            // A rule that matched but whose path cannot be handed over
            // safely says so: the operator has a directory to fix. A rule
            // that failed on the process an argument names says why: which
            // file the process runs is not visible to the caller.
            let unsafe_path = tried
                .iter()
                .find(|(_, why)| matches!(why, Mismatch::Path { .. }));
            let process = tried
                .iter()
                .find(|(_, why)| matches!(why, Mismatch::Process { .. }))
                .map(|(rule, why)| format!("; rule `{}`: {why}", rule.name))
                .unwrap_or_default();
            let (head, tail) = match unsafe_path {
                Some((rule, why)) => ("Unsafe path: ", format!(" (rule `{}`: {why})", rule.name)),
                None => (
                    "Unauthorized command: ",
                    format!(" (no filter matched{process})"),
                ),
            };
            let mut message = head.as_bytes().to_vec();
            message.extend(Invocation::argv_bytes(&argv));
            message.extend(tail.as_bytes());
            finish(&mut log, event, message)
        }
    }
}

/// One line on stderr, prefixed `rootwrap: `, the message escaped like an
/// audit record (services forward rootwrap's stderr into their logs: an
/// argument must not start a line there, nor reach a terminal raw). A
/// failed write is ignored (stderr belongs to the caller: it may be closed
/// or full).
pub fn say(message: &(impl AsRef<[u8]> + ?Sized)) {
    use std::io::Write as _;
    let line = format!("rootwrap: {}\n", escape(message.as_ref()));
    let _ = std::io::stderr().write_all(line.as_bytes());
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
