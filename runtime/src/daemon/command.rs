//! Running one allowed command for the daemon: everything prepared before
//! the child starts (C strings, descriptors, the target user's ids and
//! groups), then `sys::spawn`, the command's stdin fed and its output
//! streamed to the client as it comes, and the child always reaped.
#![forbid(unsafe_code)]

use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use crate::daemon::protocol::{self, Kind};
use crate::daemon::serve;
use crate::exec::{self, ExecError};
use crate::matcher::Allowed;
use crate::sys::{self, Ended};

/// How a command that started ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finished {
    pub ended: Ended,
    pub timed_out: bool,
    /// A write to the client failed (it stopped reading, or left): the
    /// connection is out of step and must be closed.
    pub client_gone: bool,
}

impl Finished {
    /// (status as the CLI exits, oslo's raw return code).
    pub fn status(&self) -> (u32, i32) {
        match self.ended {
            Ended::Exited(code) => (code as u32, code),
            Ended::Signaled(signal) => (128 + signal as u32, -signal),
        }
    }
}

/// Runs `allowed` with `stdin`, writing its output to `client` as
/// `Stdout`/`Stderr` frames. `Err`: nothing was executed. A client that
/// stops reading loses the rest of the output; the command still runs to
/// its end (a root command cut off half-way could leave things half done).
pub fn run(
    allowed: &Allowed,
    stdin: &[u8],
    timeout: Option<Duration>,
    client: &mut UnixStream,
) -> Result<Finished, ExecError> {
    let identity = exec::identity_for(&allowed.run_as)?;
    let program = exec::program(allowed)?;
    let prepared = sys::PreparedExec::new(program, &allowed.argv, &allowed.env)
        .map_err(|e| ExecError::Exec(allowed.executable.display().to_string(), e))?;
    let pipes = || -> io::Result<_> { Ok((io::pipe()?, io::pipe()?, io::pipe()?, io::pipe()?)) };
    let (
        (in_read, in_write),
        (out_read, out_write),
        (err_read, err_write),
        (report_read, report_write),
    ) = pipes().map_err(ExecError::CloseFds)?;
    let keep: Vec<BorrowedFd<'_>> = allowed.pinned.iter().map(|p| p.fd()).collect();
    // A user other than root must reach the pins by itself: worked out
    // here, checked by the child once it is that user.
    let reach = match identity {
        sys::Identity::Become { uid, .. } if uid != 0 => allowed
            .pinned
            .iter()
            .map(|pinned| {
                pinned
                    .reach()
                    .map_err(|e| exec::unreachable(allowed, pinned, e))
            })
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let pid = sys::spawn(
        &prepared,
        [in_read.as_fd(), out_write.as_fd(), err_write.as_fd()],
        &keep,
        &reach,
        &identity,
        report_write.as_fd(),
    )
    .map_err(|e| ExecError::Exec(allowed.executable.display().to_string(), e))?;
    // The child's ends: closed here, so that the command's exit is
    // end-of-file on its output.
    drop((in_read, out_write, err_write, report_write));
    if let Some(error) = child_failed(report_read, allowed) {
        // The child exited before exec: reaped, nothing ran.
        let _ = sys::wait_child(pid);
        return Err(error);
    }
    let (timed_out, client_gone) = pump(pid, in_write, out_read, err_read, stdin, timeout, client);
    let ended = reap(pid);
    Ok(Finished {
        ended,
        timed_out,
        client_gone,
    })
}

/// Waits for the child, retrying until it is reaped: a child is never
/// left a zombie.
pub(super) fn reap(pid: u32) -> Ended {
    loop {
        match sys::wait_child(pid) {
            Ok(ended) => return ended,
            // ECHILD: someone else reaped it (nothing in the daemon does).
            Err(e) if e.raw_os_error() == Some(libc::ECHILD) => return Ended::Exited(127),
            Err(_) => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

/// What the child wrote to its report pipe before exiting: nothing when the
/// exec succeeded (the pipe closes at exec).
fn child_failed(mut report: io::PipeReader, allowed: &Allowed) -> Option<ExecError> {
    let mut message = [0u8; 8];
    let mut filled = 0;
    while let Some(rest) = message.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match report.read(rest) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    if filled < message.len() {
        return None;
    }
    let step = i32::from_le_bytes([message[0], message[1], message[2], message[3]]);
    let errno = i32::from_le_bytes([message[4], message[5], message[6], message[7]]);
    let error = io::Error::from_raw_os_error(errno);
    let user = allowed.run_as.user_name().to_string();
    // Below STEP_REACH the difference is negative: no pin.
    let pin = usize::try_from(step.saturating_sub(sys::STEP_REACH))
        .ok()
        .and_then(|index| allowed.pinned.get(index));
    Some(match (step, pin) {
        (_, Some(pinned)) => exec::unreachable(allowed, pinned, error),
        (sys::STEP_DESCRIPTORS, _) => ExecError::CloseFds(error),
        (sys::STEP_IDENTITY, _) => ExecError::Switch(user, error),
        _ => ExecError::Exec(allowed.executable.display().to_string(), error),
    })
}

/// Feeds stdin and streams stdout and stderr until both end and the
/// command has exited, or until the timeout, when the command's process
/// group is killed. Returns whether it timed out, and whether the client
/// stopped taking output.
pub(super) fn pump(
    pid: u32,
    stdin_pipe: io::PipeWriter,
    stdout_pipe: io::PipeReader,
    stderr_pipe: io::PipeReader,
    input: &[u8],
    timeout: Option<Duration>,
    client: &mut UnixStream,
) -> (bool, bool) {
    let deadline = timeout.map(|t| Instant::now() + t);
    let streamed = stream(
        pid,
        stdin_pipe,
        stdout_pipe,
        stderr_pipe,
        input,
        deadline,
        client,
    );
    let Some(deadline) = deadline else {
        return streamed;
    };
    // A write to a client that does not read waits at most until the
    // deadline: the usual wait again for what follows.
    let _ = client.set_write_timeout(Some(serve::CLIENT_WRITE_TIMEOUT));
    match streamed {
        (false, client_gone) if !exits_before(pid, deadline) => {
            // A command that closed its output is still held to its time.
            sys::kill_group(pid, libc::SIGKILL);
            (true, client_gone)
        }
        streamed => streamed,
    }
}

/// Whether the child `pid` (not yet reaped) exits before `deadline`.
fn exits_before(pid: u32, deadline: Instant) -> bool {
    let Ok(pidfd) = i32::try_from(pid)
        .map_err(io::Error::other)
        .and_then(sys::pidfd_open)
    else {
        // Cannot watch it: `reap` waits, as without a timeout.
        return true;
    };
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let wait = i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX);
        let mut fds = [poll_entry(pidfd.as_fd(), libc::POLLIN, true)];
        match sys::poll(&mut fds, wait) {
            Ok(_) if fds[0].revents != 0 => return true,
            Ok(_) if left.is_zero() => return false,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return true,
        }
    }
}

/// [`pump`]'s streaming, until the output ends or the deadline passes.
fn stream(
    pid: u32,
    stdin_pipe: io::PipeWriter,
    mut stdout_pipe: io::PipeReader,
    mut stderr_pipe: io::PipeReader,
    input: &[u8],
    deadline: Option<Instant>,
    client: &mut UnixStream,
) -> (bool, bool) {
    let mut stdin_pipe = Some(stdin_pipe).filter(|_| !input.is_empty());
    let mut written = 0;
    let mut open = [true, true];
    let mut client_gone = false;
    let mut buf = vec![0u8; protocol::MAX_CHUNK as usize];
    for fd in [stdout_pipe.as_fd(), stderr_pipe.as_fd()] {
        let _ = sys::set_nonblocking(fd, true);
    }
    if let Some(pipe) = &stdin_pipe {
        let _ = sys::set_nonblocking(pipe.as_fd(), true);
    }
    while open[0] || open[1] {
        let wait = match deadline {
            None => -1,
            Some(deadline) => {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    sys::kill_group(pid, libc::SIGKILL);
                    return (true, client_gone);
                }
                i32::try_from(left.as_millis().saturating_add(1)).unwrap_or(i32::MAX)
            }
        };
        let mut fds = [
            poll_entry(stdout_pipe.as_fd(), libc::POLLIN, open[0]),
            poll_entry(stderr_pipe.as_fd(), libc::POLLIN, open[1]),
            match &stdin_pipe {
                Some(pipe) => poll_entry(pipe.as_fd(), libc::POLLOUT, true),
                None => poll_entry(stdout_pipe.as_fd(), 0, false),
            },
        ];
        if sys::poll(&mut fds, wait).is_err() {
            // Cannot wait for output: stop the command rather than spin.
            sys::kill_group(pid, libc::SIGKILL);
            return (false, client_gone);
        }
        if fds[2].revents != 0 {
            if let Some(pipe) = &mut stdin_pipe {
                match pipe.write(input.get(written..).unwrap_or_default()) {
                    Ok(n) => written += n,
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    // EPIPE: the command does not read its stdin.
                    Err(_) => written = input.len(),
                }
                if written >= input.len() {
                    stdin_pipe = None;
                }
            }
        }
        let [stdout_open, stderr_open] = &mut open;
        let streams = [
            (Kind::Stdout, &mut stdout_pipe, stdout_open, fds[0].revents),
            (Kind::Stderr, &mut stderr_pipe, stderr_open, fds[1].revents),
        ];
        for (kind, pipe, open, revents) in streams {
            if !*open || revents == 0 {
                continue;
            }
            match pipe.read(&mut buf) {
                Ok(0) => *open = false,
                Ok(n) => {
                    let chunk = buf.get(..n).unwrap_or_default();
                    if let Some(deadline) = deadline {
                        let left = deadline.saturating_duration_since(Instant::now());
                        let _ = client.set_write_timeout(Some(left.max(Duration::from_millis(1))));
                    }
                    if !client_gone && protocol::write_frame(client, kind, chunk).is_err() {
                        client_gone = true;
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
                    ) => {}
                Err(_) => *open = false,
            }
        }
    }
    (false, client_gone)
}

fn poll_entry(fd: BorrowedFd<'_>, events: libc::c_short, active: bool) -> libc::pollfd {
    libc::pollfd {
        fd: if active { fd.as_raw_fd() } else { -1 },
        events,
        revents: 0,
    }
}
