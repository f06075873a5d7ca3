//! `<pid TARGET ...>`: whether a running process is one of a rule's target
//! programs.
//!
//! The process's executable is judged by file identity: the device and
//! inode that `stat` reports through the magic link `/proc/PID/exe` (the
//! very file the process runs, whichever mount namespace or root it was
//! reached through) against those of each target as rootwrap sees it in its
//! own namespace. No path text the process could influence decides, except
//! for an executable deleted since the process started (an upgrade), which
//! is judged by the path the kernel shows and by who owns the file.
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::Metadata;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::canonical::canonicalize;
use crate::types::PidPattern;

/// Why a process is not one of a `<pid>` pattern's targets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotTarget {
    pub pid: i64,
    pub reason: Reason,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// No process has this id.
    NoProcess,
    /// The process has no executable: a kernel thread, or a zombie.
    NoExecutable,
    /// Its executable cannot be inspected (`explain` run by an ordinary
    /// user on another user's process, say).
    Unreadable(String),
    /// It runs another file than every target (the file it runs).
    OtherFile { targets: String, file: FileId },
    /// Its executable was deleted since it started, and the deleted file is
    /// not one that only root can have made.
    DeletedUntrusted { shown: String, file: FileId },
    /// None of the targets exists on this host.
    NoTarget(String),
    /// It runs a target, but not as the user the pattern names.
    Owner {
        user: String,
        uid: u32,
        /// Real, effective and saved uid of the process.
        process: [u32; 3],
    },
    /// The pattern's user does not exist on this host.
    UnknownUser(String),
}

/// A file's identity: device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "device {}:{} inode {}",
            libc::major(self.dev),
            libc::minor(self.dev),
            self.ino
        )
    }
}

impl fmt::Display for NotTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.pid;
        match &self.reason {
            Reason::NoProcess => write!(f, "no process {pid} is running"),
            Reason::NoExecutable => {
                write!(f, "process {pid} has no executable (a kernel thread?)")
            }
            Reason::Unreadable(e) => {
                write!(f, "the executable of process {pid} cannot be inspected: {e}")
            }
            Reason::OtherFile { targets, file } => {
                write!(f, "process {pid} runs another file than {targets} ({file})")
            }
            Reason::DeletedUntrusted { shown, file } => write!(
                f,
                "process {pid} runs a deleted file shown as {shown} ({file}) that is not root's alone"
            ),
            Reason::NoTarget(targets) => {
                write!(f, "{targets} is not installed on this host")
            }
            Reason::Owner { user, uid, process } => write!(
                f,
                "process {pid} runs as uid {}/{}/{} (real/effective/saved), not as {user} (uid {uid})",
                process[0], process[1], process[2]
            ),
            Reason::UnknownUser(user) => write!(f, "user {user} does not exist on this host"),
        }
    }
}

/// Whether process `pid` runs one of `pattern`'s targets (and as its user,
/// when it names one). Bare target names are looked up in `exec_dirs`.
pub fn check(pid: i64, pattern: &PidPattern, exec_dirs: &[String]) -> Result<(), NotTarget> {
    let refuse = |reason| Err(NotTarget { pid, reason });
    let exe_path = format!("/proc/{pid}/exe");
    // stat follows the magic link to the file the process executes.
    let exe = match std::fs::metadata(&exe_path) {
        Ok(meta) => meta,
        Err(e) => return refuse(missing_exe(pid, &e)),
    };
    let file = FileId::of(&exe);
    let candidates = candidates(pattern, exec_dirs);
    let installed: Vec<FileId> = candidates
        .iter()
        .filter_map(|path| std::fs::metadata(path).ok())
        .filter(Metadata::is_file)
        .map(|meta| FileId::of(&meta))
        .collect();
    if !installed.contains(&file) {
        match deleted_target(&exe_path, &exe, pattern, exec_dirs) {
            Some(Ok(())) => {}
            Some(Err(shown)) => return refuse(Reason::DeletedUntrusted { shown, file }),
            None if installed.is_empty() => return refuse(Reason::NoTarget(describe(pattern))),
            None => {
                return refuse(Reason::OtherFile {
                    targets: describe(pattern),
                    file,
                })
            }
        }
    }
    match &pattern.user {
        Some(user) => check_owner(pid, user).map_err(|reason| NotTarget { pid, reason }),
        None => Ok(()),
    }
}

/// Why `/proc/PID/exe` could not be followed.
fn missing_exe(pid: i64, error: &io::Error) -> Reason {
    if error.kind() == io::ErrorKind::NotFound {
        if Path::new(&format!("/proc/{pid}")).exists() {
            Reason::NoExecutable
        } else {
            Reason::NoProcess
        }
    } else {
        Reason::Unreadable(error.to_string())
    }
}

/// The files a pattern's targets name on this host: an absolute target
/// itself, a bare name in each exec dir.
fn candidates(pattern: &PidPattern, exec_dirs: &[String]) -> Vec<PathBuf> {
    let mut paths = Vec::new();
    for target in &pattern.targets {
        if target.starts_with('/') {
            paths.push(PathBuf::from(target));
        } else {
            paths.extend(exec_dirs.iter().map(|dir| Path::new(dir).join(target)));
        }
    }
    paths
}

/// The targets as a phrase: `/usr/sbin/dnsmasq or haproxy in the exec dirs`.
fn describe(pattern: &PidPattern) -> String {
    pattern
        .targets
        .iter()
        .map(|t| {
            if t.starts_with('/') {
                t.clone()
            } else {
                format!("{t} in the exec dirs")
            }
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

/// For an executable deleted since the process started (the kernel shows
/// `PATH (deleted)` and the file has no links left): `Some(Ok)` when PATH
/// is a target's and the file is one only root can have made (owned by
/// root, writable by nobody else), `Some(Err(PATH))` when PATH is a
/// target's but the file is not root's alone, `None` otherwise. The path
/// text is what the process's own mount namespace showed, so it decides
/// only together with the file's owner: a caller can show any path for a
/// file of its own, not make a root-owned file.
fn deleted_target(
    exe_path: &str,
    exe: &Metadata,
    pattern: &PidPattern,
    exec_dirs: &[String],
) -> Option<Result<(), String>> {
    if exe.nlink() != 0 {
        return None;
    }
    let mut text = std::fs::read_link(exe_path)
        .ok()?
        .into_os_string()
        .into_vec();
    // readlink can return `path\0junk` for a replaced binary.
    if let Some(nul) = text.iter().position(|&b| b == 0) {
        text.truncate(nul);
    }
    let stripped = text.strip_suffix(b" (deleted)")?.to_vec();
    let shown = PathBuf::from(std::ffi::OsString::from_vec(stripped));
    let named = pattern.targets.iter().any(|target| {
        if target.starts_with('/') {
            let target = Path::new(target);
            shown == target || canonicalize(target).is_ok_and(|t| t == shown)
        } else {
            shown
                .file_name()
                .is_some_and(|n| n.as_bytes() == target.as_bytes())
                && exec_dirs.iter().any(|dir| {
                    let dir = Path::new(dir);
                    shown.parent() == Some(dir)
                        || canonicalize(dir).is_ok_and(|d| shown.parent() == Some(d.as_path()))
                })
        }
    });
    if !named {
        return None;
    }
    if crate::owner::exposure(exe, None).is_none() {
        Some(Ok(()))
    } else {
        Some(Err(shown.display().to_string()))
    }
}

/// The process must run as `user`: real, effective and saved uid.
fn check_owner(pid: i64, user: &str) -> Result<(), Reason> {
    let uid = if user == "root" {
        0
    } else {
        match crate::sys::lookup_user(user) {
            Ok(Some(account)) => account.uid,
            Ok(None) => return Err(Reason::UnknownUser(user.to_string())),
            Err(e) => return Err(Reason::Unreadable(format!("user {user}: {e}"))),
        }
    };
    let status = std::fs::read(format!("/proc/{pid}/status")).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Reason::NoProcess
        } else {
            Reason::Unreadable(e.to_string())
        }
    })?;
    let process = uids(&status).ok_or_else(|| Reason::Unreadable("no Uid line".into()))?;
    if process == [uid; 3] {
        Ok(())
    } else {
        Err(Reason::Owner {
            user: user.to_string(),
            uid,
            process,
        })
    }
}

/// Real, effective and saved uid from `/proc/PID/status`
/// (`Uid:\tREAL\tEFFECTIVE\tSAVED\tFS`).
fn uids(status: &[u8]) -> Option<[u32; 3]> {
    let line = status
        .split(|&b| b == b'\n')
        .find_map(|line| line.strip_prefix(b"Uid:"))?;
    let mut ids = line
        .split(|b| b.is_ascii_whitespace())
        .filter(|field| !field.is_empty())
        .map(|field| std::str::from_utf8(field).ok()?.parse::<u32>().ok());
    Some([ids.next()??, ids.next()??, ids.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(targets: &[&str], user: Option<&str>) -> PidPattern {
        PidPattern {
            targets: targets.iter().map(|t| t.to_string()).collect(),
            user: user.map(str::to_string),
        }
    }

    /// This test process: its executable, and a copy of it elsewhere.
    #[test]
    fn identity_decides_not_the_name() {
        let me = std::process::id() as i64;
        let exe = std::env::current_exe().unwrap();
        let dirs = [exe.parent().unwrap().display().to_string()];
        let name = exe.file_name().unwrap().to_str().unwrap().to_string();
        let exe_text = exe.display().to_string();
        assert_eq!(check(me, &pattern(&[&exe_text], None), &[]), Ok(()));
        assert_eq!(check(me, &pattern(&[&name], None), &dirs), Ok(()));

        let dir = std::env::temp_dir().join(format!("rw-process-{me}"));
        std::fs::create_dir_all(&dir).unwrap();
        let copy = dir.join(&name);
        std::fs::copy(&exe, &copy).unwrap();
        let copy_text = copy.display().to_string();
        let refused = check(me, &pattern(&[&copy_text], None), &[]).unwrap_err();
        assert!(
            matches!(refused.reason, Reason::OtherFile { .. }),
            "{refused}"
        );
        assert!(
            refused.to_string().starts_with(&format!(
                "process {me} runs another file than {copy_text} (device "
            )),
            "{refused}"
        );
        let in_dirs = [dir.display().to_string()];
        assert!(check(me, &pattern(&[&name], None), &in_dirs).is_err());
        std::fs::remove_dir_all(&dir).unwrap();

        let missing = check(me, &pattern(&["/nonexistent/x"], None), &[]).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "/nonexistent/x is not installed on this host"
        );
    }

    #[test]
    fn the_owner_is_real_effective_and_saved_uid() {
        let me = std::process::id() as i64;
        let exe = std::env::current_exe().unwrap().display().to_string();
        let uid = crate::sys::real_uid();
        let name = crate::sys::user_name(uid).unwrap();
        assert_eq!(check(me, &pattern(&[&exe], Some(&name)), &[]), Ok(()));
        let other = if uid == 0 { "nobody" } else { "root" };
        let refused = check(me, &pattern(&[&exe], Some(other)), &[]).unwrap_err();
        assert!(matches!(refused.reason, Reason::Owner { .. }), "{refused}");
        let unknown = check(me, &pattern(&[&exe], Some("no-such-user-rw")), &[]).unwrap_err();
        assert_eq!(
            unknown.reason,
            Reason::UnknownUser("no-such-user-rw".into())
        );
    }

    #[test]
    fn uids_come_from_the_uid_line() {
        let status = b"Name:\tx\nUmask:\t0022\nUid:\t1000\t0\t0\t0\nGid:\t1\t1\t1\t1\n";
        assert_eq!(uids(status), Some([1000, 0, 0]));
        assert_eq!(uids(b"Name:\tx\n"), None);
        assert_eq!(uids(b"Uid:\t1\t2\n"), None);
    }

    #[test]
    fn absent_processes_say_so() {
        // Beyond the kernel's largest pid (2^22).
        let gone = check(1 << 23, &pattern(&["/bin/sh"], None), &[]).unwrap_err();
        assert_eq!(gone.reason, Reason::NoProcess);
        assert_eq!(
            gone.to_string(),
            format!("no process {} is running", 1 << 23)
        );
    }
}
