//! This process and its children: signals, resource limits, standard
//! descriptors, `execve`, forking and spawning (the daemon's `clone`),
//! waiting, pidfds.

use super::*;

/// The signals this process ignores once [`reset_signals`] has run: the
/// one disposition it changes from the default. `execve` resets a caught
/// signal by itself, never an ignored one, so a child resets these.
const IGNORED: [libc::c_int; 1] = [libc::SIGPIPE];

/// Ignores SIGPIPE in this process (std's start-up would have; the
/// binary skips it). `execve` below restores every default.
pub fn ignore_sigpipe() {
    for signal in IGNORED {
        // SAFETY: sets a signal disposition to a constant; no handler runs.
        unsafe { libc::signal(signal, libc::SIG_IGN) };
    }
}

/// Every signal at its default disposition and none blocked, whatever the
/// caller set: ignored and blocked signals survive sudo and `execve`.
pub fn reset_signals() {
    // SAFETY: sets dispositions to a constant and the mask to an empty set
    // built here; no handler runs. Real-time signals too; the C library
    // refuses the two it keeps for itself (32, 33), harmlessly.
    unsafe {
        for signal in 1..=libc::SIGRTMAX() {
            if signal != libc::SIGKILL && signal != libc::SIGSTOP {
                libc::signal(signal, libc::SIG_DFL);
            }
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
}

/// Signals held pending (every one that can be: all but SIGKILL and
/// SIGSTOP) until this is dropped, when those that arrived take effect.
/// An action holds them over its steps and their record: sudo relays the
/// caller's SIGTERM, SIGINT, SIGHUP and others, which would otherwise end
/// rootwrap after root's steps and before their record.
#[derive(Debug)]
pub struct HeldSignals(());

pub fn hold_signals() -> HeldSignals {
    // SAFETY: fills a set built here and blocks it; no handler runs. A
    // child forked meanwhile unblocks everything before its exec
    // (`execve` above).
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::sigprocmask(libc::SIG_BLOCK, &all, std::ptr::null_mut());
    }
    HeldSignals(())
}

impl Drop for HeldSignals {
    fn drop(&mut self) {
        // SAFETY: empties the mask with a set built here; a signal that
        // arrived meanwhile is delivered now, at its default disposition.
        unsafe {
            let mut none: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut none);
            libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
        }
    }
}

pub(super) const UNLIMITED: u64 = libc::RLIM_INFINITY;

/// The resource limits rootwrap and its command run with, (name, resource,
/// soft, hard): those the Linux kernel gives the first process. File size
/// comes first: the audit record is written under it. The book's
/// "Security model" chapter has this table; keep them in step.
pub fn limits() -> [(&'static str, libc::__rlimit_resource_t, u64, u64); 16] {
    let tasks = kernel_task_limit();
    [
        ("fsize", libc::RLIMIT_FSIZE, UNLIMITED, UNLIMITED),
        ("cpu", libc::RLIMIT_CPU, UNLIMITED, UNLIMITED),
        ("data", libc::RLIMIT_DATA, UNLIMITED, UNLIMITED),
        ("stack", libc::RLIMIT_STACK, 8 << 20, UNLIMITED),
        ("core", libc::RLIMIT_CORE, 0, UNLIMITED),
        ("rss", libc::RLIMIT_RSS, UNLIMITED, UNLIMITED),
        ("nproc", libc::RLIMIT_NPROC, tasks, tasks),
        ("nofile", libc::RLIMIT_NOFILE, 1024, 4096),
        ("memlock", libc::RLIMIT_MEMLOCK, 8 << 20, 8 << 20),
        ("as", libc::RLIMIT_AS, UNLIMITED, UNLIMITED),
        ("locks", libc::RLIMIT_LOCKS, UNLIMITED, UNLIMITED),
        ("sigpending", libc::RLIMIT_SIGPENDING, tasks, tasks),
        ("msgqueue", libc::RLIMIT_MSGQUEUE, 819_200, 819_200),
        ("nice", libc::RLIMIT_NICE, 0, 0),
        ("rtprio", libc::RLIMIT_RTPRIO, 0, 0),
        ("rttime", libc::RLIMIT_RTTIME, UNLIMITED, UNLIMITED),
    ]
}

/// The kernel's process and pending-signal limit for the first process:
/// half of `kernel.threads-max` (which it sizes from memory); unlimited if
/// that cannot be read.
pub(super) fn kernel_task_limit() -> u64 {
    std::fs::read("/proc/sys/kernel/threads-max")
        .ok()
        .and_then(|text| {
            let digits = text.strip_suffix(b"\n").unwrap_or(&text);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            std::str::from_utf8(digits).ok()?.parse::<u64>().ok()
        })
        .map_or(UNLIMITED, |threads| threads / 2)
}

/// Sets every resource limit to `limits()`, so none the caller chose (sudo
/// passes them on) applies to the audit record or the command. Raising a
/// hard limit needs CAP_SYS_RESOURCE, which root lacks in some containers:
/// there a hard limit that cannot be raised stays as it is if it allows the
/// soft value, and is an error otherwise. The first failure is returned
/// with the limit's name.
pub fn reset_limits() -> Result<(), (&'static str, io::Error)> {
    for (name, resource, soft, hard) in limits() {
        let wanted = libc::rlimit {
            rlim_cur: soft,
            rlim_max: hard,
        };
        // SAFETY: plain syscalls with valid pointers to locals.
        unsafe {
            if libc::setrlimit(resource, &wanted) == 0 {
                continue;
            }
            let error = io::Error::last_os_error();
            let mut current = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            let kept = error.raw_os_error() == Some(libc::EPERM)
                && libc::getrlimit(resource, &mut current) == 0
                && soft <= current.rlim_max
                && libc::setrlimit(
                    resource,
                    &libc::rlimit {
                        rlim_cur: soft,
                        rlim_max: current.rlim_max,
                    },
                ) == 0;
            if !kept {
                return Err((name, error));
            }
        }
    }
    Ok(())
}

/// Makes sure descriptors 0, 1 and 2 are open (on /dev/null if they were
/// closed), so that no file this process opens later, such as the audit
/// log, can become someone's stdout or stderr. std's start-up does this;
/// the `rootwrap` binary skips std's start-up (see its `main`).
pub fn ensure_std_fds() {
    for fd in 0..3 {
        // SAFETY: F_GETFD only queries the descriptor.
        let closed = unsafe { libc::fcntl(fd, libc::F_GETFD) } == -1
            && io::Error::last_os_error().raw_os_error() == Some(libc::EBADF);
        if closed {
            // SAFETY: a static C string; open returns the lowest free
            // descriptor, which is `fd`.
            unsafe { libc::open(c"/dev/null".as_ptr(), libc::O_RDWR) };
        }
    }
}

/// Marks every descriptor above 2 close-on-exec, so nothing the caller left
/// open reaches the command, while the audit log's own descriptors stay
/// usable until the exec succeeds. `close_range(2)` with
/// `CLOSE_RANGE_CLOEXEC` where the kernel has it (5.11+), else the
/// descriptors listed in /proc/self/fd, one `fcntl` each.
pub fn cloexec_inherited_fds() -> io::Result<()> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: only sets a flag on descriptors; none is closed here.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        return Ok(());
    }
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd > 2)
        .collect();
    for fd in fds {
        // SAFETY: as above; EBADF (the directory's own fd, already closed)
        // is harmless.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

/// What [`execve`] executes.
#[derive(Debug, Clone, Copy)]
pub enum Program<'a> {
    /// A path, resolved by the kernel at the exec.
    Path(&'a std::path::Path),
    /// The file this descriptor refers to: `execveat(fd, "", AT_EMPTY_PATH)`,
    /// the very file that was checked.
    Fd(std::os::fd::BorrowedFd<'a>),
}

/// Replaces this process with `program`, exactly: `execve(2)` or
/// `execveat(2)`, no PATH search and no fallback to `/bin/sh` for files the
/// kernel will not run (which `execvp` and std's `Command` would do).
/// Returns only on failure.
pub fn execve(
    program: Program<'_>,
    argv: &[std::ffi::OsString],
    env: &[(String, std::ffi::OsString)],
) -> io::Error {
    let prepared = match PreparedExec::new(program, argv, env) {
        Ok(prepared) => prepared,
        Err(e) => return e,
    };
    // Ignored signals and the signal mask survive execve: the command
    // starts with every signal at its default (SIGPIPE too) and none
    // blocked.
    reset_signals();
    prepared.exec();
    io::Error::last_os_error()
}

/// An `execve` with everything built beforehand: the C strings and the
/// pointer arrays the kernel reads. A child cloned by the daemon (a
/// threaded process) may only make async-signal-safe calls: it allocates
/// nothing and just calls [`PreparedExec::exec`].
pub struct PreparedExec<'a> {
    /// The path (empty for a descriptor).
    path: CString,
    fd: Option<std::os::fd::RawFd>,
    _program: std::marker::PhantomData<Program<'a>>,
    _args: Vec<CString>,
    _vars: Vec<CString>,
    arg_ptrs: Vec<*const libc::c_char>,
    var_ptrs: Vec<*const libc::c_char>,
}

impl<'a> PreparedExec<'a> {
    pub fn new(
        program: Program<'a>,
        argv: &[std::ffi::OsString],
        env: &[(String, std::ffi::OsString)],
    ) -> io::Result<PreparedExec<'a>> {
        use std::os::fd::AsRawFd;
        use std::os::unix::ffi::OsStrExt;
        let c_string = |bytes: &[u8]| {
            CString::new(bytes).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
        };
        let (path, fd) = match program {
            Program::Path(path) => (c_string(path.as_os_str().as_bytes())?, None),
            Program::Fd(fd) => (CString::default(), Some(fd.as_raw_fd())),
        };
        let args = argv
            .iter()
            .map(|a| c_string(a.as_bytes()))
            .collect::<io::Result<Vec<_>>>()?;
        let vars = env
            .iter()
            .map(|(name, value)| {
                let mut pair = name.as_bytes().to_vec();
                pair.push(b'=');
                pair.extend_from_slice(value.as_bytes());
                c_string(&pair)
            })
            .collect::<io::Result<Vec<_>>>()?;
        let mut arg_ptrs: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
        arg_ptrs.push(std::ptr::null());
        let mut var_ptrs: Vec<*const libc::c_char> = vars.iter().map(|v| v.as_ptr()).collect();
        var_ptrs.push(std::ptr::null());
        Ok(PreparedExec {
            path,
            fd,
            _program: std::marker::PhantomData,
            _args: args,
            _vars: vars,
            arg_ptrs,
            var_ptrs,
        })
    }

    /// Executes; returns only on failure (with `errno` set). Allocates
    /// nothing: safe between `fork` and `exec`.
    fn exec(&self) {
        match self.fd {
            // SAFETY: every pointer refers to a NUL-terminated string owned
            // by `self`, alive for the call; both arrays end with NULL.
            None => unsafe {
                libc::execve(
                    self.path.as_ptr(),
                    self.arg_ptrs.as_ptr(),
                    self.var_ptrs.as_ptr(),
                );
            },
            // SAFETY: as for execve; the descriptor is open (borrowed for
            // `self`'s lifetime) and the empty path with AT_EMPTY_PATH
            // names the descriptor's file itself. The raw syscall: the C
            // library's wrapper is recent.
            Some(fd) => unsafe {
                libc::syscall(
                    libc::SYS_execveat,
                    fd,
                    self.path.as_ptr(),
                    self.arg_ptrs.as_ptr(),
                    self.var_ptrs.as_ptr(),
                    libc::AT_EMPTY_PATH,
                );
            },
        }
    }
}

/// `pidfd_open(2)`: a descriptor for process `pid` that keeps naming it
/// even after it exits and its id is reused.
pub fn pidfd_open(pid: i32) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: no pointers; returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just returned, owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

/// `pidfd_send_signal(2)`: the signal reaches the process the descriptor
/// was opened for, or nobody.
pub fn pidfd_send_signal(pidfd: std::os::fd::BorrowedFd<'_>, signal: i32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor, no siginfo, no flags.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    check(rc as libc::c_int)
}

/// Runs `child` in a forked copy of this (single-threaded) process, which
/// exits with the status `child` returns if it returns at all; waits for
/// it and returns its wait status.
pub fn fork_and_wait(child: impl FnOnce() -> i32) -> io::Result<i32> {
    // SAFETY: rootwrap is single-threaded, so the child may run any code.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let status = child();
        // SAFETY: ends the child without running the parent's exit handlers
        // or flushing its buffers twice.
        unsafe { libc::_exit(status) };
    }
    let mut status = 0;
    loop {
        // SAFETY: a valid pointer to the status.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return Ok(status);
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Forks a child of the daemon, which is multi-threaded: the child leads
/// its own process group, takes `stdio` as descriptors 0-2, every signal
/// at its default and none blocked, runs `child` and exits with the status
/// it returns. The child is a copy, not the shared memory of [`spawn`]:
/// glibc's `fork` leaves its allocator, stdio and user database usable in
/// the child, and the caller's `child` must take no lock of the daemon's
/// own (another thread may hold it, for ever in the copy).
pub fn fork_child(
    stdio: [std::os::fd::BorrowedFd<'_>; 3],
    keep: &[std::os::fd::BorrowedFd<'_>],
    child: impl FnOnce() -> i32,
) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let stdio = stdio.map(|fd| fd.as_raw_fd());
    // Every descriptor from 3 up but `keep` is closed in the child (other
    // requests' pipes and clients' sockets, the listener): the gaps between
    // the kept ones, worked out here.
    let mut kept: Vec<u32> = keep
        .iter()
        .filter_map(|fd| u32::try_from(fd.as_raw_fd()).ok())
        .filter(|&fd| fd >= 3)
        .collect();
    kept.sort_unstable();
    kept.push(u32::MAX);
    // SAFETY: the child runs only `child` (whose contract is above) and
    // system calls on integers, then `_exit`.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: plain system calls on integers; `_exit` skips the
        // parent's exit handlers and buffers.
        unsafe {
            libc::setpgid(0, 0);
            for (target, &source) in stdio.iter().enumerate() {
                if libc::dup2(source, target as i32) < 0 {
                    libc::_exit(127);
                }
            }
            let mut first = 3u32;
            for &next in &kept {
                if next > first && libc::syscall(libc::SYS_close_range, first, next - 1, 0u32) != 0
                {
                    libc::_exit(127);
                }
                first = next.saturating_add(1);
            }
        }
        reset_signals();
        let status = child();
        // SAFETY: as above.
        unsafe { libc::_exit(status) };
    }
    Ok(pid as u32)
}

/// Takes `identity` for good (in a child [`fork_child`] started: the calls
/// change this process, which then has one thread): groups, gid, uid,
/// checked, and for a non-root uid no way back.
pub fn become_identity(identity: &Identity) -> io::Result<()> {
    let Identity::Become { uid, gid, groups } = identity else {
        return Ok(());
    };
    let (uid, gid) = (*uid, *gid);
    // SAFETY: plain syscalls; the group list is a valid array of its length.
    unsafe {
        if libc::setgroups(groups.len(), groups.as_ptr()) != 0
            || libc::setresgid(gid, gid, gid) != 0
            || libc::setresuid(uid, uid, uid) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    check_ids(uid, gid)?;
    // SAFETY: a plain syscall; success here would be the failure we test for.
    if uid != 0 && unsafe { libc::setuid(0) } == 0 {
        return Err(io::Error::other("root privileges could be regained"));
    }
    Ok(())
}

/// A wait status as an exit code: the code, or 128 + the signal.
pub fn exit_code_of(status: i32) -> i32 {
    if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else if libc::WIFSIGNALED(status) {
        128 + libc::WTERMSIG(status)
    } else {
        1
    }
}

// The daemon's system calls: peers, polling, signals, children.

/// Closes every descriptor from `first` up (the daemon, at start: nothing
/// its starter left open, such as a service's listening sockets, stays
/// reachable). `close_range(2)`, else each descriptor /proc/self/fd lists.
pub fn close_fds_from(first: u32) -> io::Result<()> {
    // SAFETY: closes descriptors this process owns and no Rust object
    // refers to yet (called first thing in the daemon's `main`).
    if unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0u32) } == 0 {
        return Ok(());
    }
    let fds: Vec<u32> = std::fs::read_dir("/proc/self/fd")?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd| fd >= first)
        .collect();
    for fd in fds {
        // SAFETY: as above; EBADF (the directory's own fd) is harmless.
        unsafe { libc::close(fd as i32) };
    }
    Ok(())
}

/// Who a daemon's child becomes before it executes: worked out before the
/// clone (user and group lookups are not async-signal-safe).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// Stay who the daemon is (an unprivileged daemon, as in unit tests,
    /// running a rule for its own user).
    Keep,
    /// uid and gid `uid`/`gid`, supplementary groups exactly `groups`,
    /// checked, and for a non-root uid, no way back.
    Become {
        uid: u32,
        gid: u32,
        groups: Vec<libc::gid_t>,
    },
}

/// What a child could not do, written to its report pipe as two
/// little-endian i32: the step (below), then `errno`.
pub const STEP_DESCRIPTORS: i32 = 1;

pub const STEP_IDENTITY: i32 = 2;

pub const STEP_EXEC: i32 = 3;

/// `STEP_REACH + i`: the target user does not reach pin `i` itself.
pub const STEP_REACH: i32 = 16;

/// A command's child process, set up and executed: its own process group,
/// `stdio` on descriptors 0-2, every other descriptor closed at exec but
/// `keep` (pinned paths), `identity` taken (and, for a user other than
/// root, each of `reach` checked with [`reaches`]), every signal at its default and
/// none blocked, then `exec`. The child is cloned as glibc's posix_spawn
/// clones it (`CLONE_VM | CLONE_VFORK`: no copy of the daemon's page
/// tables; this thread waits until the child has exec'd). Between the
/// clone and `exec` the child makes only async-signal-safe system calls and
/// allocates nothing (the daemon has other threads, whose locks a child
/// must never wait for, and it shares their memory). A failure
/// is written to `report` (close-on-exec: the parent reads end-of-file when
/// the exec succeeded) and the child exits with 127.
pub fn spawn(
    exec: &PreparedExec<'_>,
    stdio: [std::os::fd::BorrowedFd<'_>; 3],
    keep: &[std::os::fd::BorrowedFd<'_>],
    reach: &[(CString, (u64, u64))],
    identity: &Identity,
    report: std::os::fd::BorrowedFd<'_>,
) -> io::Result<u32> {
    use std::os::fd::AsRawFd;
    let stdio = stdio.map(|fd| fd.as_raw_fd());
    let keep_raw: Vec<i32> = keep.iter().map(|fd| fd.as_raw_fd()).collect();
    let report = report.as_raw_fd();
    let nofile = {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a valid out-pointer to a local.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
        i32::try_from(limit.rlim_cur).unwrap_or(4096)
    };
    let args = ChildArgs {
        exec,
        stdio,
        keep: &keep_raw,
        reach,
        identity,
        report,
        nofile,
    };
    // The child's stack, allocated before the clone (the child allocates
    // nothing).
    let mut stack = vec![0u8; CHILD_STACK];
    // SAFETY: one past the end of the buffer, rounded down to 16 bytes:
    // the top of a downward-growing stack within the allocation.
    let top = unsafe { stack.as_mut_ptr().add(CHILD_STACK) };
    let top = (top as usize & !15) as *mut libc::c_void;
    // Every signal blocked around the clone, as posix_spawn does: no
    // handler may run in the child while it shares this memory (the child
    // sets its own mask before exec).
    // SAFETY: plain data; sigfillset and pthread_sigmask fill and read
    // locals.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
    }
    // SAFETY: CLONE_VM | CLONE_VFORK, as glibc's posix_spawn: the child
    // runs `child_entry` on `stack` in this memory while this thread is
    // suspended until it execs or exits, so `args`, `stack` and what they
    // borrow outlive its use. The child makes only system calls on values
    // prepared here.
    let pid = unsafe {
        libc::clone(
            child_entry,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&args as *const ChildArgs<'_>).cast_mut().cast(),
        )
    };
    let error = io::Error::last_os_error();
    // SAFETY: restores the mask saved above.
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    drop(stack);
    if pid < 0 {
        return Err(error);
    }
    Ok(pid as u32)
}

/// The child's stack: its frames are a few hundred bytes.
pub(super) const CHILD_STACK: usize = 64 << 10;

/// What [`child_entry`] receives.
pub(super) struct ChildArgs<'a> {
    exec: &'a PreparedExec<'a>,
    stdio: [i32; 3],
    keep: &'a [i32],
    reach: &'a [(CString, (u64, u64))],
    identity: &'a Identity,
    report: i32,
    nofile: i32,
}

extern "C" fn child_entry(arg: *mut libc::c_void) -> libc::c_int {
    // SAFETY: `arg` is the `ChildArgs` that `spawn` passed, alive while the
    // parent is suspended (CLONE_VFORK).
    let args = unsafe { &*(arg as *const ChildArgs<'_>) };
    // SAFETY: this is the child `spawn` cloned.
    unsafe {
        child(
            args.exec,
            args.stdio,
            args.keep,
            args.reach,
            args.identity,
            args.report,
            args.nofile,
        )
    }
}

/// The child's side of [`spawn`]. Never returns.
///
/// # Safety
/// Only in a child just cloned: it takes over descriptors 0-2 and execs.
unsafe fn child(
    exec: &PreparedExec<'_>,
    stdio: [i32; 3],
    keep: &[i32],
    reach: &[(CString, (u64, u64))],
    identity: &Identity,
    report: i32,
    nofile: i32,
) -> ! {
    let fail = |step: i32| -> ! {
        let errno = io::Error::last_os_error().raw_os_error().unwrap_or(0);
        let mut message = [0u8; 8];
        message[..4].copy_from_slice(&step.to_le_bytes());
        message[4..].copy_from_slice(&errno.to_le_bytes());
        // SAFETY: write and _exit are async-signal-safe; the buffer is a
        // local of the length passed.
        unsafe {
            libc::write(report, message.as_ptr().cast(), message.len());
            libc::_exit(127)
        }
    };
    // SAFETY: every call below is an async-signal-safe system call on
    // integers, locals, or memory prepared before the clone.
    unsafe {
        libc::setpgid(0, 0);
        for (target, &source) in stdio.iter().enumerate() {
            // dup2 clears close-on-exec on the copy.
            if libc::dup2(source, target as i32) < 0 {
                fail(STEP_DESCRIPTORS);
            }
        }
        const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
        if libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) != 0 {
            for fd in 3..nofile {
                libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
            }
        }
        for &fd in keep {
            if libc::fcntl(fd, libc::F_SETFD, 0) != 0 {
                fail(STEP_DESCRIPTORS);
            }
        }
        if let Identity::Become { uid, gid, groups } = identity {
            let (uid, gid) = (*uid, *gid);
            // Raw system calls: the C library's wrappers apply a change to
            // every thread of the process, and in this child, which shares
            // the daemon's memory, they walk the daemon's thread list under
            // its lock and signal its threads (with this child's pid: in
            // vain). This child is one thread; the kernel changes its
            // credentials alone.
            if libc::syscall(libc::SYS_setgroups, groups.len(), groups.as_ptr()) != 0
                || libc::syscall(libc::SYS_setresgid, gid, gid, gid) != 0
                || libc::syscall(libc::SYS_setresuid, uid, uid, uid) != 0
            {
                fail(STEP_IDENTITY);
            }
            let (mut ruid, mut euid, mut suid) = (0, 0, 0);
            let (mut rgid, mut egid, mut sgid) = (0, 0, 0);
            let read = libc::getresuid(&mut ruid, &mut euid, &mut suid) == 0
                && libc::getresgid(&mut rgid, &mut egid, &mut sgid) == 0;
            if !read || [ruid, euid, suid] != [uid; 3] || [rgid, egid, sgid] != [gid; 3] {
                *libc::__errno_location() = libc::EPERM;
                fail(STEP_IDENTITY);
            }
            if uid != 0 && libc::syscall(libc::SYS_setuid, 0) == 0 {
                *libc::__errno_location() = libc::EPERM;
                fail(STEP_IDENTITY);
            }
            // Root opened the pins: the user must reach them by itself.
            for (index, (path, object)) in reach.iter().enumerate() {
                if let Err(e) = reaches(path, *object) {
                    *libc::__errno_location() = e.raw_os_error().unwrap_or(libc::EACCES);
                    fail(STEP_REACH.saturating_add(i32::try_from(index).unwrap_or(i32::MAX)));
                }
            }
        }
        // The daemon's dispositions are the defaults but for `IGNORED`
        // (`prepare_process`), and `execve` resets caught ones: one call
        // each instead of one per signal.
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        for signal in IGNORED {
            libc::sigaction(signal, &default, std::ptr::null_mut());
        }
        let mut none: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut none);
        libc::sigprocmask(libc::SIG_SETMASK, &none, std::ptr::null_mut());
    }
    exec.exec();
    fail(STEP_EXEC)
}

/// How a child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    Signaled(i32),
}

/// Waits for child `pid` to end and reaps it.
pub fn wait_child(pid: u32) -> io::Result<Ended> {
    let pid =
        libc::pid_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    loop {
        let mut status = 0;
        // SAFETY: a valid out-pointer; waits for this one child only.
        let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
        if rc == pid {
            return Ok(if libc::WIFSIGNALED(status) {
                Ended::Signaled(libc::WTERMSIG(status))
            } else {
                Ended::Exited(libc::WEXITSTATUS(status))
            });
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

/// Sends `signal` to process group `pgid` (a child [`spawn`] started
/// leads its own group).
pub fn kill_group(pgid: u32, signal: i32) {
    if let Ok(pgid) = libc::pid_t::try_from(pgid) {
        if pgid > 1 {
            // SAFETY: a plain syscall; a group that is gone is ESRCH.
            unsafe { libc::kill(-pgid, signal) };
        }
    }
}
