//! An action call on the privileged path (`run.rs` up to the decision):
//! the action's rule decides on the arguments, the process becomes the
//! action's user, the steps run, and one record tells the whole sequence.
//! The daemon shares the decision and the record (`decide_action`,
//! `record_action`).
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;

use super::{denial, Call, Details, Refusal};
use crate::action::{run_allowed, Action, ActionHost, Ended};
use crate::audit::{say, AuditLog, Caller, LogError, Outcome};
use crate::format::{ReadAt, Ruleset};
use crate::matcher::{Allowed, Context, Decision, Fault};

impl Call<'_> {
    /// Returns the status the call ends with, once the sequence is
    /// recorded; a refusal when it did not start.
    pub(super) fn action(&mut self, ruleset: &Ruleset<File>) -> Result<i32, Refusal> {
        let (allowed, action) = decide_action(ruleset, self.argv)?;
        let allowed = &**self.allowed.insert(allowed);
        // Read while signals still work: a caller that never closes its
        // input can stop the call, which it could not once they are held.
        let mut stdin = Prefetched::from_stdin(action.stdin_wanted());
        // Until the record is written: see `HeldSignals`.
        let held = crate::sys::hold_signals();
        crate::exec::switch_user(&allowed.run_as).map_err(Refusal::ExecFailed)?;
        crate::exec::check_reach(allowed).map_err(Refusal::ExecFailed)?;
        let ended = run_allowed(
            ruleset,
            allowed,
            &action,
            &mut stdin,
            &mut std::io::stdout().lock(),
        );
        let failure = failure_message(allowed, &ended);
        if let Some(log) = &mut self.log {
            record_action(
                log,
                &self.caller,
                self.argv,
                allowed,
                &ended,
                &failure,
                self.identity.clone(),
            )
            .map_err(Refusal::NotRecorded)?;
        }
        if let Some(message) = &failure {
            say(message);
        }
        let _ = std::io::Write::flush(&mut std::io::stdout());
        drop(held);
        Ok(ended.status())
    }
}

/// Standard input as far as the steps can want it, read up front: the
/// steps then read it from here as they would have from the stream, and a
/// read error reaches the step that meets it.
struct Prefetched {
    data: std::io::Cursor<Vec<u8>>,
    error: Option<std::io::Error>,
}

impl Prefetched {
    fn from_stdin(wanted: u64) -> Prefetched {
        let mut data = Vec::new();
        let error = std::io::stdin()
            .lock()
            .take(wanted)
            .read_to_end(&mut data)
            .err();
        Prefetched {
            data: std::io::Cursor::new(data),
            error,
        }
    }
}

impl Read for Prefetched {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.data.read(buf)? {
            0 if !buf.is_empty() => self.error.take().map_or(Ok(0), Err),
            n => Ok(n),
        }
    }
}

/// The decision on an action call: its allowed call and its steps, or the
/// refusal (a denial, a damaged ruleset) as for a command.
pub(crate) fn decide_action<R: ReadAt + ?Sized>(
    ruleset: &Ruleset<R>,
    argv: &[OsString],
) -> Result<(Box<Allowed>, Arc<Action>), Refusal> {
    let Some(spelling) = argv.first().map(|name| name.as_bytes()) else {
        return Err(Refusal::NoCommand);
    };
    // One read of the section for both: its rules decide, its action runs.
    let (rules, action) = ruleset
        .rules_and_action(spelling)
        .map_err(Refusal::Ruleset)?;
    let lookup = |command: &[u8]| {
        if command == spelling {
            Ok(rules.clone())
        } else {
            ruleset.rules_for(command)
        }
    };
    let context = Context::new(&ruleset.options().exec_dirs, &lookup, &ActionHost);
    let decision = match crate::matcher::decide(argv, &context) {
        Ok(decision) => decision,
        Err(Fault::TooComplex) => Decision::Deny { tried: Vec::new() },
        Err(Fault::Ruleset(e)) => return Err(Refusal::Ruleset(e)),
    };
    match (decision, action) {
        (Decision::Allow(allowed), Some(action)) => Ok((allowed, action)),
        (Decision::Deny { tried }, _) => {
            ruleset.verify_all().map_err(Refusal::Ruleset)?;
            Err(denial(argv, &tried))
        }
        // A rule for `@NAME` without its steps: nothing to run.
        _ => {
            ruleset.verify_all().map_err(Refusal::Ruleset)?;
            Err(denial(argv, &[]))
        }
    }
}

/// The line said (and recorded as the reason) when a step failed.
pub(crate) fn failure_message(allowed: &Allowed, ended: &Ended) -> Option<String> {
    ended.failed.as_ref().map(|(number, line, failure)| {
        let step = ended
            .entries
            .get(number - 1)
            .map_or("", |(step, _)| step.as_str());
        let step = step.split_once(' ').map_or(step, |(_, rest)| rest);
        format!(
            "action `{}`: step {number} (line {line}) `{step}` failed: {}",
            allowed.rule.name, failure.message
        )
    })
}

/// The one record of an action call: its steps and their results, the
/// failure (if any) as its reason.
pub(crate) fn record_action(
    log: &mut AuditLog,
    caller: &Caller,
    argv: &[OsString],
    allowed: &Allowed,
    ended: &Ended,
    failure: &Option<String>,
    identity: Option<(String, String)>,
) -> Result<(), LogError> {
    let details = Details::of(Some(allowed));
    let outcome = match failure {
        Some(_) => Outcome::StepFailed,
        None => Outcome::Allowed,
    };
    let mut event = details.event(outcome, argv, Some(allowed));
    event.executable = None;
    event.exec_argv = &[];
    event.steps = &ended.entries;
    event.ruleset = identity;
    event.reason = failure.as_ref().map(|m| m.as_bytes().to_vec());
    log.record(caller, &event)
}
