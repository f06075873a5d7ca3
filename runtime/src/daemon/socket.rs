//! Where the daemon listens. Started through sudo: a fresh directory
//! `RUN_DIR/ID/` (0700, owned by the invoking user) holding
//! `rootwrap.sock` (0600, the same owner), next to a lock file
//! `RUN_DIR/ID.lock` (root's) that the daemon holds for its whole life.
//! A directory whose lock nobody holds was left by a daemon killed with
//! SIGKILL: the next daemon to start removes it. Under systemd, the
//! socket it was handed (`LISTEN_FDS`/`LISTEN_PID`).
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use crate::sys;

/// Root-owned home of the daemons' socket directories.
pub const RUN_DIR: &str = "/run/rootwrap";
/// The socket's name in its directory.
pub const SOCKET_NAME: &str = "rootwrap.sock";

/// A daemon's socket directory: removed (with the socket and the lock
/// file) when dropped, which every exit path of the daemon does.
#[derive(Debug)]
pub struct SocketDir {
    pub dir: PathBuf,
    pub socket: PathBuf,
    lock_path: PathBuf,
    _lock: File,
}

impl Drop for SocketDir {
    fn drop(&mut self) {
        remove(&self.dir, &self.lock_path);
    }
}

/// Removes a socket directory and then its lock file. The directory is
/// the invoking user's, who may have filled it with a tree too deep to
/// remove: it is first taken back (root's, 0700), so that whatever stays
/// is nobody else's to write, and its lock file stays with it, for the
/// next start's sweep to try again.
fn remove(dir: &Path, lock_path: &Path) {
    let taken = std::os::unix::fs::lchown(dir, Some(0), Some(0))
        .and_then(|()| fs::set_permissions(dir, fs::Permissions::from_mode(0o700)));
    let removed = match taken.and_then(|()| fs::remove_dir_all(dir)) {
        Ok(()) => true,
        Err(e) => e.kind() == io::ErrorKind::NotFound,
    };
    if removed {
        let _ = fs::remove_file(lock_path);
    }
}

/// Creates a fresh socket directory for `owner` (uid, gid) under `run_dir`
/// and binds the listening socket in it.
pub fn create(run_dir: &Path, owner: (u32, u32)) -> io::Result<(SocketDir, UnixListener)> {
    ensure_run_dir(run_dir)?;
    // Sweeping and creating hold the run directory's lock: a daemon that
    // has created its lock file but not yet locked it is never swept.
    let guard = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(run_dir.join(".lock"))?;
    sys::lock(&guard)?;
    sweep(run_dir);
    let id = random_id()?;
    let dir = run_dir.join(&id);
    let lock_path = run_dir.join(format!("{id}.lock"));
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&lock_path)?;
    sys::lock(&lock)?;
    fs::DirBuilder::new().mode(0o700).create(&dir)?;
    let socket = dir.join(SOCKET_NAME);
    let created = SocketDir {
        dir,
        socket,
        lock_path,
        _lock: lock,
    };
    drop(guard);
    // Bound while the directory is still root's alone, then handed over:
    // nobody can reach a socket whose mode is not yet set.
    let listener = UnixListener::bind(&created.socket)?;
    fs::set_permissions(&created.socket, fs::Permissions::from_mode(0o600))?;
    std::os::unix::fs::chown(&created.socket, Some(owner.0), Some(owner.1))?;
    std::os::unix::fs::chown(&created.dir, Some(owner.0), Some(owner.1))?;
    Ok((created, listener))
}

/// The run directory: created if missing; it must be a real directory,
/// root's alone.
fn ensure_run_dir(run_dir: &Path) -> io::Result<()> {
    match fs::DirBuilder::new().mode(0o755).create(run_dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = fs::symlink_metadata(run_dir)?;
    if !meta.is_dir() || crate::owner::exposure(&meta, None).is_some() {
        return Err(io::Error::other(format!(
            "{} must be a directory owned by root and writable by nobody else",
            run_dir.display()
        )));
    }
    Ok(())
}

/// Removes what daemons killed with SIGKILL left: each `ID.lock` nobody
/// holds, and its directory.
fn sweep(run_dir: &Path) {
    let Ok(entries) = fs::read_dir(run_dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(id) = name.to_str().and_then(|n| n.strip_suffix(".lock")) else {
            continue;
        };
        if id.is_empty() {
            continue;
        }
        let Ok(lock) = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(entry.path())
        else {
            continue;
        };
        if sys::try_lock(&lock).unwrap_or(false) {
            remove(&run_dir.join(id), &entry.path());
        }
    }
}

fn random_id() -> io::Result<String> {
    let mut bytes = [0u8; 8];
    sys::random_bytes(&mut bytes)?;
    let mut id = String::with_capacity(16);
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    Ok(id)
}

/// Whether systemd started this process with sockets (`LISTEN_PID` is
/// this process).
pub fn systemd_activated() -> bool {
    std::env::var("LISTEN_PID").ok() == Some(std::process::id().to_string())
}

/// The socket systemd passed (socket activation): `LISTEN_FDS` must be
/// exactly 1 (descriptor 3), a listening Unix stream socket.
pub fn systemd_listener() -> io::Result<UnixListener> {
    if std::env::var("LISTEN_FDS").ok().as_deref() != Some("1") {
        return Err(io::Error::other(
            "LISTEN_FDS must be 1: the socket unit must declare exactly one socket",
        ));
    }
    const FIRST: RawFd = 3;
    let fd = sys::adopt_fd(FIRST)?;
    if !sys::is_unix_listener(fd.as_fd())? {
        return Err(io::Error::other(
            "descriptor 3 is not a listening Unix stream socket",
        ));
    }
    Ok(UnixListener::from(fd))
}
