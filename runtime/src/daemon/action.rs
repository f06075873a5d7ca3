//! Native actions (`@NAME ARGS`) through the daemon: decided and recorded
//! exactly as `rootwrap RULESET @NAME ARGS` does (the CLI's
//! `decide_action`, `record_action`). Where the steps run:
//!
//! - an action as root whose steps run no command: in the connection's
//!   thread. The daemon is root already, and the steps act on descriptors
//!   pinned by this request and on nothing of the process's (no cwd, no
//!   umask: every mode is set explicitly), so no other thread can change
//!   what they reach; stdin is the request's, stdout goes out as frames.
//! - an action as another user, or with a `run` step: in a short-lived
//!   child (`sys::fork_child`) that becomes the user for good as the CLI's
//!   process does. Credentials are per thread in the kernel: a thread that
//!   became the user could be signalled (killing the daemon), reshaped
//!   (`prlimit`) or, where `fs.suid_dumpable` allows, traced by that user.
//!   A `run` step's command needs descriptors 0-2 of its own.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::time::Duration;

use crate::action::{run_allowed, Action, Ended, Op};
use crate::audit::Caller;
use crate::daemon::command;
use crate::daemon::protocol::{self, Kind, Request};
use crate::daemon::serve::{self, Loaded};
use crate::exec::{self, ExecError};
use crate::format::codec;
use crate::matcher::Allowed;
use crate::run::action_call::{decide_action, failure_message, record_action};
use crate::run::Refusal;
use crate::sys::{self, Identity};

/// One action request: decided, run, recorded (one record with its
/// steps), answered with the status the CLI would exit with.
pub(super) fn handle(
    loaded: &Loaded,
    caller: &Caller,
    argv: &[OsString],
    request: &Request,
    stream: &mut UnixStream,
) -> io::Result<()> {
    let (allowed, action) = match decide_action(&loaded.ruleset, argv) {
        Ok(decided) => decided,
        Err(refusal) => return serve::refused(loaded, caller, argv, None, refusal, stream),
    };
    let ran = exec::identity_for(&allowed.run_as).and_then(|identity| {
        if in_thread(&identity, &action) {
            Ok(run_here(loaded, &allowed, &action, &request.stdin, stream))
        } else {
            run_in_child(loaded, &allowed, &action, &identity, request, stream)
        }
    });
    let ran = match ran {
        Ok(ran) => ran,
        Err(e) => {
            let refusal = Refusal::ExecFailed(e);
            return serve::refused(loaded, caller, argv, Some(&allowed), refusal, stream);
        }
    };
    let failure = ran
        .failure
        .clone()
        .or_else(|| failure_message(&allowed, &ran.ended));
    let recorded = record_action(
        &mut loaded.log(),
        caller,
        argv,
        &allowed,
        &ran.ended,
        &failure,
        Some(loaded.identity.clone()),
    );
    if let Err(e) = recorded {
        // As the CLI: the steps ran, the call fails (the log has told its
        // fallback).
        let refusal = Refusal::NotRecorded(e);
        let code = refusal.outcome().exit().code().into();
        return serve::reply_exit(stream, code, &refusal.message(&loaded.path));
    }
    if ran.client_gone {
        return Err(io::Error::other(
            "the client stopped reading: connection closed",
        ));
    }
    let exit = protocol::Exit {
        status: ran.status.0,
        raw: ran.status.1,
        timed_out: ran.timed_out,
        message: protocol::fit_message(failure.unwrap_or_default().as_bytes()),
    };
    protocol::write_value(stream, Kind::Exit, &exit)
}

/// How an action's steps ended, wherever they ran.
struct Ran {
    ended: Ended,
    /// (status as the CLI exits, oslo's raw return code).
    status: (u32, i32),
    /// Why, when the child ended without reporting its steps.
    failure: Option<String>,
    timed_out: bool,
    client_gone: bool,
}

/// Whether the steps run in the daemon's own thread: the action's user is
/// the daemon's (root), and no step runs a command.
fn in_thread(identity: &Identity, action: &Action) -> bool {
    let same_user = match identity {
        Identity::Keep => true,
        Identity::Become { uid, gid, .. } => (*uid, *gid) == (0, 0) && sys::effective_uid() == 0,
    };
    let runs_command = action
        .steps
        .iter()
        .chain(&action.undo)
        .any(|step| matches!(step.op, Op::Run { .. }));
    same_user && !runs_command
}

fn run_here(
    loaded: &Loaded,
    allowed: &Allowed,
    action: &Action,
    stdin: &[u8],
    stream: &mut UnixStream,
) -> Ran {
    let mut stdin = stdin;
    let mut stdout = Frames {
        stream,
        gone: false,
    };
    let ended = run_allowed(&loaded.ruleset, allowed, action, &mut stdin, &mut stdout);
    let code = ended.status();
    Ran {
        status: (code as u32, code),
        client_gone: stdout.gone,
        ended,
        failure: None,
        timed_out: false,
    }
}

/// A step's standard output, as `Stdout` frames to the client.
struct Frames<'a> {
    stream: &'a mut UnixStream,
    /// A write failed: the connection is out of step.
    gone: bool,
}

impl Write for Frames<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let chunk = buf
            .get(..buf.len().min(protocol::MAX_CHUNK as usize))
            .unwrap_or_default();
        match protocol::write_frame(self.stream, Kind::Stdout, chunk) {
            Ok(()) => Ok(chunk.len()),
            Err(e) => {
                self.gone = true;
                Err(e)
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

/// What the child reports on its result pipe.
#[derive(serde::Serialize, serde::Deserialize)]
enum Report {
    Ended(Ended),
    /// It could not become the action's user: no step ran.
    NotSwitched(String),
}

/// The most a report may take (entries are bounded by the steps).
const MAX_REPORT: u64 = 16 << 20;

fn run_in_child(
    loaded: &Loaded,
    allowed: &Allowed,
    action: &Action,
    identity: &Identity,
    request: &Request,
    stream: &mut UnixStream,
) -> Result<Ran, ExecError> {
    let name = allowed.rule.name.clone();
    let failed = |e: io::Error| ExecError::Exec(format!("action `{name}`"), e);
    let pipes = || -> io::Result<_> { Ok((io::pipe()?, io::pipe()?, io::pipe()?, io::pipe()?)) };
    let ((in_read, in_write), (out_read, out_write), (err_read, err_write), (report, report_write)) =
        pipes().map_err(failed)?;
    let mut keep: Vec<_> = allowed.pinned.iter().map(|p| p.fd()).collect();
    keep.extend([loaded.ruleset.source().as_fd(), report_write.as_fd()]);
    let pid = sys::fork_child(
        [in_read.as_fd(), out_write.as_fd(), err_write.as_fd()],
        &keep,
        || child(loaded, allowed, action, identity, &report_write),
    )
    .map_err(failed)?;
    drop(keep);
    drop((in_read, out_write, err_write, report_write));
    let timeout = request.timeout_ms.map(Duration::from_millis);
    let (report, (timed_out, client_gone), ended) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut bytes = Vec::new();
            report.take(MAX_REPORT).read_to_end(&mut bytes).ok()?;
            codec::decode::<Report>(&bytes).ok()
        });
        let pumped = command::pump(
            pid,
            in_write,
            out_read,
            err_read,
            &request.stdin,
            timeout,
            stream,
        );
        let ended = command::reap(pid);
        (reader.join().ok().flatten(), pumped, ended)
    });
    let finished = command::Finished {
        ended,
        timed_out,
        client_gone,
    };
    match report {
        Some(Report::Ended(steps)) if !timed_out => {
            let code = steps.status();
            Ok(Ran {
                status: (code as u32, code),
                ended: steps,
                failure: None,
                timed_out,
                client_gone,
            })
        }
        Some(Report::NotSwitched(why)) => Err(ExecError::Switch(
            allowed.run_as.user_name().to_string(),
            io::Error::other(why),
        )),
        // Killed (the timeout, or a signal) before it reported: what it
        // did is unknown, and said so.
        report => {
            let why = if timed_out {
                "it timed out and was killed".to_string()
            } else {
                format!("its process ended with status {}", finished.status().0)
            };
            Ok(Ran {
                ended: match report {
                    Some(Report::Ended(steps)) => steps,
                    _ => Ended::default(),
                },
                status: finished.status(),
                failure: Some(format!(
                    "action `{}`: {why} before reporting its steps",
                    allowed.rule.name
                )),
                timed_out,
                client_gone,
            })
        }
    }
}

/// The child's side: become the action's user, run the steps with
/// descriptors 0-2 as stdin and stdout, report how they ended. It takes no
/// lock of the daemon's (the log, the connections): the parent records.
fn child(
    loaded: &Loaded,
    allowed: &Allowed,
    action: &Action,
    identity: &Identity,
    mut report: &io::PipeWriter,
) -> i32 {
    let ran = sys::become_identity(identity)
        .and_then(|()| exec::check_reach(allowed).map_err(|e| io::Error::other(e.to_string())))
        .and_then(|()| {
            let stdin = File::from(io::stdin().as_fd().try_clone_to_owned()?);
            let stdout = File::from(io::stdout().as_fd().try_clone_to_owned()?);
            Ok((stdin, stdout))
        })
        .map(|(mut stdin, mut stdout)| {
            run_allowed(&loaded.ruleset, allowed, action, &mut stdin, &mut stdout)
        });
    let report_value = match ran {
        Ok(ended) => Report::Ended(ended),
        Err(e) => Report::NotSwitched(e.to_string()),
    };
    match codec::encode(&report_value) {
        Ok(bytes) if report.write_all(&bytes).is_ok() => 0,
        _ => crate::exit::ExitCode::StepFailed.into(),
    }
}
