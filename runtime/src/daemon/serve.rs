//! The daemon's server: one thread per connection, each request through
//! the CLI's own pipeline (`run::decide`, the same audit records) and
//! `command::run`; a bounded number of commands at once; the main thread
//! watches the listener, the signals, stdin and the idle clock.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::net::Shutdown;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::audit::{AuditLog, Caller, Event, Outcome};
use crate::daemon::command;
use crate::daemon::protocol::{self, Kind, Refused, Request};
use crate::exec::ExecError;
use crate::format::Ruleset;
use crate::run::{self, Refusal};
use crate::sys::{self, PeerCred};

/// The daemon's limits and lifetime.
#[derive(Debug, Clone)]
pub struct Config {
    /// Exit after this long without a request (`None`: never).
    pub idle: Option<Duration>,
    /// Commands running at once; more wait for a slot.
    pub max_running: usize,
    /// Requests waiting for a slot; more are refused (`Busy`).
    pub max_waiting: usize,
    /// Open connections; more are refused (`Busy`) as they connect.
    pub max_connections: usize,
    /// Exit when stdin reaches end-of-file (the process that started the
    /// daemon through sudo is gone).
    pub watch_stdin: bool,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            idle: Some(Duration::from_secs(600)),
            max_running: 16,
            max_waiting: 64,
            max_connections: 256,
            watch_stdin: true,
        }
    }
}

/// Who may connect: peers whose uid is listed, or whose user is a member
/// of a listed group: its gid as `SO_PEERCRED` gives it, or a group the
/// user database lists for the peer's user (`SO_PEERCRED` does not carry
/// supplementary groups).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Access {
    pub uids: Vec<u32>,
    pub gids: Vec<u32>,
}

impl Access {
    /// The users and groups a ruleset names, resolved on this host. A
    /// name that does not resolve is an error: a typo must not leave the
    /// daemon open to nobody, silently.
    pub fn resolve(users: &[String], groups: &[String]) -> Result<Access, String> {
        let mut access = Access::default();
        for user in users {
            match sys::lookup_user(user) {
                Ok(Some(account)) => access.uids.push(account.uid),
                Ok(None) => {
                    return Err(format!("the ruleset's daemon user `{user}` does not exist"))
                }
                Err(e) => return Err(format!("cannot look up the daemon user `{user}`: {e}")),
            }
        }
        for group in groups {
            match sys::lookup_group(group) {
                Ok(Some(gid)) => access.gids.push(gid),
                Ok(None) => {
                    return Err(format!(
                        "the ruleset's daemon group `{group}` does not exist"
                    ))
                }
                Err(e) => return Err(format!("cannot look up the daemon group `{group}`: {e}")),
            }
        }
        Ok(access)
    }

    pub fn allows(&self, peer: &PeerCred) -> bool {
        if self.uids.contains(&peer.uid) || self.gids.contains(&peer.gid) {
            return true;
        }
        if self.gids.is_empty() {
            return false;
        }
        let account = sys::user_name(peer.uid).and_then(|name| sys::lookup_user(&name).ok()?);
        let groups = account.and_then(|account| sys::group_list(&account).ok());
        groups.is_some_and(|groups| groups.iter().any(|gid| self.gids.contains(gid)))
    }
}

/// A ruleset as loaded, with its log: what a request runs under from start
/// to end, even if a reload replaces it meanwhile.
pub struct Loaded {
    pub path: PathBuf,
    pub ruleset: Ruleset<File>,
    pub log: Mutex<AuditLog>,
    pub identity: (String, String),
}

impl Loaded {
    /// Opens and verifies the ruleset at `path` exactly as `rootwrap` does,
    /// and opens its log targets.
    pub(crate) fn load(path: &Path) -> Result<Loaded, Refusal> {
        run::check_ruleset_path(path).map_err(Refusal::Ruleset)?;
        let ruleset = run::open_trusted(path)
            .map_err(Refusal::Ruleset)?
            .memoized();
        let log = AuditLog::open(&ruleset.options().log).map_err(Refusal::LogUnavailable)?;
        let identity = (ruleset.options().name.clone(), ruleset.digest_hex());
        Ok(Loaded {
            path: path.to_path_buf(),
            ruleset,
            log: Mutex::new(log),
            identity,
        })
    }

    pub(super) fn log(&self) -> MutexGuard<'_, AuditLog> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A record about the daemon itself (a refused peer, a bad frame, a
    /// reload): decision `outcome`, no command line, `reason`.
    pub fn note(&self, caller: &Caller, outcome: Outcome, reason: &str) {
        let mut event = Event::new(outcome, &[]);
        event.ruleset = Some(self.identity.clone());
        event.reason = Some(reason.as_bytes().to_vec());
        let _ = self.log().record(caller, &event);
    }
}

/// Slots for running commands, with a bounded queue.
struct Slots {
    state: Mutex<(usize, usize)>,
    freed: Condvar,
    max_running: usize,
    max_waiting: usize,
}

struct Slot<'a>(&'a Slots);

impl Slots {
    fn lock(&self) -> MutexGuard<'_, (usize, usize)> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A slot, after waiting for one if all are taken; `None` when the
    /// queue is full.
    fn acquire(&self) -> Option<Slot<'_>> {
        let mut state = self.lock();
        if state.0 >= self.max_running {
            if state.1 >= self.max_waiting {
                return None;
            }
            state.1 += 1;
            while state.0 >= self.max_running {
                state = self.freed.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            state.1 -= 1;
        }
        state.0 += 1;
        Some(Slot(self))
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.0 -= 1;
        // A waiter counts itself under the lock before it waits: with none,
        // the wake-up would be a system call per request for nobody.
        if state.1 > 0 {
            self.0.freed.notify_one();
        }
    }
}

/// What every connection thread shares with the main loop.
struct Shared {
    ruleset_path: PathBuf,
    current: Mutex<Arc<Loaded>>,
    access: Access,
    slots: Slots,
    /// Requests in progress, and when the last one started or ended.
    activity: Mutex<(usize, Instant)>,
    /// Open connections, by peer uid (clones, to shut them down on exit).
    connections: Mutex<BTreeMap<u64, (u32, UnixStream)>>,
    stopping: AtomicBool,
    /// The daemon as a caller: for records about the daemon itself.
    daemon: Caller,
}

impl Shared {
    fn current(&self) -> Arc<Loaded> {
        self.current
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn activity(&self) -> MutexGuard<'_, (usize, Instant)> {
        self.activity.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn connections(&self) -> MutexGuard<'_, BTreeMap<u64, (u32, UnixStream)>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads the ruleset again (SIGHUP). A ruleset that fails any check
    /// is not used: the old one stays, and a record says why.
    fn reload(&self) {
        let old = self.current();
        match Loaded::load(&self.ruleset_path) {
            Ok(loaded) => {
                *self.current.lock().unwrap_or_else(|e| e.into_inner()) = Arc::new(loaded);
            }
            Err(refusal) => {
                let reason = format!(
                    "daemon: reload refused, keeping ruleset sha256 {}: {}",
                    old.identity.1,
                    String::from_utf8_lossy(&refusal.message(&self.ruleset_path))
                );
                old.note(&self.daemon, refusal.outcome(), &reason);
                crate::audit::record_fallback(
                    || self.daemon.clone(),
                    &Event {
                        reason: Some(reason.into_bytes()),
                        ..Event::new(refusal.outcome(), &[])
                    },
                );
            }
        }
    }
}

/// Why the daemon stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    Signal(i32),
    StdinClosed,
    Idle,
}

/// Serves `listener` until a stop condition; then stops accepting, lets
/// every command in progress finish and its reply go out, and returns.
pub fn serve(
    listener: UnixListener,
    loaded: Loaded,
    ruleset_path: &Path,
    access: Access,
    config: &Config,
    signals: BorrowedFd<'_>,
) -> io::Result<Stopped> {
    let shared = Arc::new(Shared {
        ruleset_path: ruleset_path.to_path_buf(),
        current: Mutex::new(Arc::new(loaded)),
        access,
        slots: Slots {
            state: Mutex::new((0, 0)),
            freed: Condvar::new(),
            max_running: config.max_running.max(1),
            max_waiting: config.max_waiting,
        },
        activity: Mutex::new((0, Instant::now())),
        connections: Mutex::new(BTreeMap::new()),
        stopping: AtomicBool::new(false),
        daemon: Caller::current(),
    });
    listener.set_nonblocking(true)?;
    let stdin = io::stdin();
    let mut threads: Vec<JoinHandle<()>> = Vec::new();
    let mut next_id = 0u64;
    let stopped = loop {
        let wait = idle_wait(&shared, config);
        if wait == Some(0) {
            break Stopped::Idle;
        }
        let mut fds = [
            pollin(listener.as_fd(), true),
            pollin(signals, true),
            pollin(stdin.as_fd(), config.watch_stdin),
        ];
        let timeout = wait.map_or(-1, |ms| i32::try_from(ms).unwrap_or(i32::MAX));
        sys::poll(&mut fds, timeout)?;
        if fds[1].revents != 0 {
            let mut stop = None;
            while let Some(signal) = sys::read_signal(signals)? {
                if signal == libc::SIGHUP {
                    shared.reload();
                } else {
                    stop = Some(signal);
                }
            }
            if let Some(signal) = stop {
                break Stopped::Signal(signal);
            }
        }
        if fds[2].revents != 0 && stdin_closed(&stdin) {
            break Stopped::StdinClosed;
        }
        if fds[0].revents != 0 {
            threads.retain(|t| !t.is_finished());
            while let Ok((stream, _)) = listener.accept() {
                next_id += 1;
                if let Some(thread) = accept(&shared, config, stream, next_id) {
                    threads.push(thread);
                }
            }
        }
    };
    // Stop: no new connection; every open one reads end-of-file once its
    // request in progress (if any) has been answered.
    drop(listener);
    shared.stopping.store(true, Ordering::SeqCst);
    for (_, stream) in shared.connections().values() {
        let _ = stream.shutdown(Shutdown::Read);
    }
    for thread in threads {
        let _ = thread.join();
    }
    Ok(stopped)
}

/// Milliseconds until the idle timeout, `Some(0)` when it has passed,
/// `None` when there is none (or a request is in progress).
fn idle_wait(shared: &Shared, config: &Config) -> Option<u128> {
    let idle = config.idle?;
    let (running, since) = *shared.activity();
    if running > 0 {
        // Woken by the listener or a signal; re-armed when it ends: the
        // poll below wakes at least every second while requests run.
        return Some(1000);
    }
    let left = idle.saturating_sub(since.elapsed());
    Some(if left.is_zero() {
        0
    } else {
        left.as_millis() + 1
    })
}

fn pollin(fd: BorrowedFd<'_>, active: bool) -> libc::pollfd {
    libc::pollfd {
        fd: if active { fd.as_raw_fd() } else { -1 },
        events: libc::POLLIN,
        revents: 0,
    }
}

/// Whether stdin has reached end-of-file (or failed); anything written to
/// it is read and ignored.
fn stdin_closed(stdin: &io::Stdin) -> bool {
    let mut buf = [0u8; 512];
    match stdin.lock().read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != io::ErrorKind::Interrupted,
    }
}

/// Authenticates a new connection and starts its thread; refuses it when
/// the peer may not connect or there are too many connections.
fn accept(
    shared: &Arc<Shared>,
    config: &Config,
    stream: UnixStream,
    id: u64,
) -> Option<JoinHandle<()>> {
    // Refusals below are written from the main loop: without waiting (a
    // small frame fits the socket's buffer; a peer that fills it loses it).
    let _ = stream.set_nonblocking(true);
    let peer = match sys::peer_credentials(stream.as_fd()) {
        Ok(peer) => peer,
        Err(_) => return None,
    };
    if !shared.access.allows(&peer) {
        let reason = format!(
            "daemon: connection refused: peer uid {} gid {} pid {} may not use this daemon",
            peer.uid, peer.gid, peer.pid
        );
        shared
            .current()
            .note(&peer_caller(&shared.daemon, peer), Outcome::Denied, &reason);
        refuse(stream, Refused::NotAllowed, &reason);
        return None;
    }
    let mut connections = shared.connections();
    if connections.len() >= config.max_connections {
        drop(connections);
        refuse(stream, Refused::Busy, "daemon: too many connections");
        return None;
    }
    // A socket-activated daemon serves several users: none of them may
    // take every connection and lock the others out.
    let held = connections
        .values()
        .filter(|(uid, _)| *uid == peer.uid)
        .count();
    if held >= per_user_limit(config.max_connections) {
        drop(connections);
        let reason = format!("daemon: too many connections from uid {}", peer.uid);
        refuse(stream, Refused::Busy, &reason);
        return None;
    }
    let _ = stream.set_nonblocking(false);
    // A client that stops reading its output for this long is gone: the
    // command runs on, its output dropped (and a stopping daemon does not
    // wait for it for ever).
    let _ = stream.set_write_timeout(Some(CLIENT_WRITE_TIMEOUT));
    let clone = stream.try_clone().ok()?;
    connections.insert(id, (peer.uid, clone));
    drop(connections);
    let shared = Arc::clone(shared);
    let spawned = std::thread::Builder::new()
        .name(format!("conn-{id}"))
        .spawn(move || {
            connection(&shared, stream, peer);
            shared.connections().remove(&id);
        });
    spawned.ok()
}

/// The connections one uid may hold: three quarters of them, so that
/// other users always find a quarter free.
fn per_user_limit(max_connections: usize) -> usize {
    (max_connections - max_connections / 4).max(1)
}

/// How long a write to a client may wait for it to read.
pub(super) const CLIENT_WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// Sends an `Error` frame and closes the connection.
fn refuse(mut stream: UnixStream, refused: Refused, reason: &str) {
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let error = protocol::Error {
        refused,
        message: protocol::fit_message(reason.as_bytes()),
    };
    let _ = protocol::write_value(&mut stream, Kind::Error, &error);
}

/// The caller of a peer's requests, as the audit record names it.
fn peer_caller(daemon: &Caller, peer: PeerCred) -> Caller {
    Caller {
        user: sys::user_name(peer.uid).unwrap_or_default(),
        uid: peer.uid,
        real_uid: peer.uid,
        cwd: daemon.cwd.clone(),
        host: daemon.host.clone(),
        pid: daemon.pid,
        peer: Some(peer),
    }
}

/// One connection: requests, one at a time, until end-of-file or a bad
/// frame.
fn connection(shared: &Shared, stream: UnixStream, peer: PeerCred) {
    let caller = peer_caller(&shared.daemon, peer);
    // Replies are written to the stream itself, never through the buffer.
    let mut frames = BufReader::with_capacity(protocol::READ_AHEAD, stream);
    let bad_frame = |frames: BufReader<UnixStream>, e: protocol::FrameError| {
        let reason = format!("daemon: bad frame from peer pid {}: {e}", peer.pid);
        shared
            .current()
            .note(&caller, Outcome::BadInvocation, &reason);
        refuse(frames.into_inner(), Refused::BadFrame, &reason);
    };
    loop {
        let frame = match protocol::read_frame(&mut frames, &[Kind::Request]) {
            Ok(None) => return,
            Ok(Some(frame)) => frame,
            Err(protocol::FrameError::Io(_)) if shared.stopping.load(Ordering::SeqCst) => return,
            Err(e) => return bad_frame(frames, e),
        };
        if shared.stopping.load(Ordering::SeqCst) {
            refuse(
                frames.into_inner(),
                Refused::ShuttingDown,
                "daemon: shutting down",
            );
            return;
        }
        let Some(slot) = shared.slots.acquire() else {
            refuse(
                frames.into_inner(),
                Refused::Busy,
                "daemon: too many requests waiting",
            );
            return;
        };
        // Decoded only with a slot: a waiting request holds its bytes, not
        // the larger vectors of arguments they decode to.
        let decoded = frame.request();
        drop(frame);
        let mut request = match decoded {
            Ok(request) => request,
            Err(e) => {
                drop(slot);
                return bad_frame(frames, e);
            }
        };
        begin(shared);
        let loaded = shared.current();
        let replied = handle(&loaded, &caller, &mut request, frames.get_mut());
        drop(slot);
        end(shared);
        if replied.is_err() {
            return;
        }
    }
}

fn begin(shared: &Shared) {
    let mut activity = shared.activity();
    activity.0 += 1;
    activity.1 = Instant::now();
}

fn end(shared: &Shared) {
    let mut activity = shared.activity();
    activity.0 -= 1;
    activity.1 = Instant::now();
}

/// One request: decided, recorded and run exactly as `rootwrap` would;
/// the reply streamed to `stream`. An action (`@NAME`): `action.rs`.
fn handle(
    loaded: &Loaded,
    caller: &Caller,
    request: &mut Request,
    stream: &mut UnixStream,
) -> io::Result<()> {
    // Taken, not copied: the request's argv is used only as this one.
    let argv: Vec<OsString> = std::mem::take(&mut request.argv)
        .into_iter()
        .map(|arg| OsString::from_vec(arg.into_vec()))
        .collect();
    if crate::action::is_action(&argv) {
        return super::action::handle(loaded, caller, &argv, request, stream);
    }
    let timeout = request.timeout_ms.map(Duration::from_millis);
    let allowed = match run::decide(&loaded.ruleset, &argv) {
        Ok(allowed) => allowed,
        Err(refusal) => return refused(loaded, caller, &argv, None, refusal, stream),
    };
    // An executable the caller could replace: refused, nothing runs.
    if let Some(why) = allowed.refusal() {
        let refusal = Refusal::ExecFailed(ExecError::Untrusted(why.clone()));
        return refused(loaded, caller, &argv, Some(&allowed), refusal, stream);
    }
    let recorded = run::record_allowed(
        &mut loaded.log(),
        caller,
        &argv,
        &allowed,
        Some(loaded.identity.clone()),
    );
    if let Err(e) = recorded {
        // As the CLI: the log has recorded the failure in its fallback.
        let refusal = Refusal::NotRecorded(e);
        return reply_exit(
            stream,
            refusal.outcome().exit().code().into(),
            &refusal_text(loaded, &refusal),
        );
    }
    match command::run(&allowed, &request.stdin, timeout, stream) {
        Ok(finished) if finished.client_gone => Err(io::Error::other(
            "the client stopped reading: connection closed",
        )),
        Ok(finished) => {
            let (status, raw) = finished.status();
            let exit = protocol::Exit {
                status,
                raw,
                timed_out: finished.timed_out,
                message: Vec::new(),
            };
            protocol::write_value(stream, Kind::Exit, &exit)
        }
        Err(e) => refused(
            loaded,
            caller,
            &argv,
            Some(&allowed),
            Refusal::ExecFailed(e),
            stream,
        ),
    }
}

fn refusal_text(loaded: &Loaded, refusal: &Refusal) -> Vec<u8> {
    refusal.message(&loaded.path)
}

/// Records a refusal as the CLI does and replies with its exit code and
/// message.
pub(super) fn refused(
    loaded: &Loaded,
    caller: &Caller,
    argv: &[OsString],
    allowed: Option<&crate::matcher::Allowed>,
    refusal: Refusal,
    stream: &mut UnixStream,
) -> io::Result<()> {
    let message = refusal_text(loaded, &refusal);
    let _ = run::record_refusal(
        Some((&mut loaded.log(), caller)),
        argv,
        Some(loaded.identity.clone()),
        allowed,
        &refusal,
        message.clone(),
    );
    reply_exit(stream, refusal.outcome().exit().code().into(), &message)
}

pub(super) fn reply_exit(stream: &mut UnixStream, code: u32, message: &[u8]) -> io::Result<()> {
    let exit = protocol::Exit {
        status: code,
        raw: code as i32,
        timed_out: false,
        message: protocol::fit_message(message),
    };
    protocol::write_value(stream, Kind::Exit, &exit)
}
