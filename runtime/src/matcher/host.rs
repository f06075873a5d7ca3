//! What the matcher asks of the host (paths, processes, executables), and
//! the per-call cache of its answers.

use std::cell::{Cell, RefCell};
use std::ffi::{OsStr, OsString};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::binary;
use crate::canonical::{canonicalize_trusted, canonicalize_within, Canonical};
use crate::pin::{PathRefusal, PinnedPath};
use crate::process;
use crate::types::{Command, PidPattern, Pin};

use super::Checked;

/// Everything the matcher asks of the host it decides for: the matcher
/// itself reads no file and no process. [`OnThisHost`] is the host (the
/// runtime, `explain`); [`AssumeInstalled`] a host where every executable
/// exists as written (policy tests).
pub trait Host {
    /// The canonical form of `path`, each component looked up counted
    /// against `budget`; `None` if it cannot be resolved.
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<Canonical>;
    /// `path` resolved through symbolic links only root can have made.
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf>;
    /// The object (or entry) `checked` names below `base`, pinned through
    /// a descriptor, starting from `holder` (the directory holding its last
    /// name) when its canonical form came with one; `None` when paths are
    /// passed on as canonical text.
    fn pin(
        &self,
        base: &Path,
        checked: &Path,
        pin: Pin,
        holder: Option<OwnedFd>,
    ) -> Option<Result<PinnedPath, PathRefusal>>;
    /// Whether no one but root and `owner` can change a directory on the
    /// way to `checked` (`<path-unpinned>`).
    fn unpinned_safe(&self, checked: &Path, owner: u32) -> Result<(), PathRefusal>;
    /// Whether process `pid` executes one of `pattern`'s targets.
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        exec_dirs: &[String],
    ) -> Result<(), process::NotTarget>;
    /// The executable a rule's command names, `None` when it is missing.
    fn find_executable(&self, command: &Command, exec_dirs: &[String]) -> Option<PathBuf>;
    /// The executable opened and checked; `None` when nothing is opened.
    fn check_binary(&self, executable: &Path, sha256: Option<&[u8; 32]>) -> Option<Checked>;
    /// A user's uid (`None`: no such user).
    fn user_uid(&self, name: &str) -> Option<u32>;
}

/// This host, as the runtime sees it.
pub struct OnThisHost;

impl Host for OnThisHost {
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<Canonical> {
        canonicalize_within(path, budget).ok()
    }
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf> {
        canonicalize_trusted(path).ok()
    }
    fn pin(
        &self,
        base: &Path,
        checked: &Path,
        pin: Pin,
        holder: Option<OwnedFd>,
    ) -> Option<Result<PinnedPath, PathRefusal>> {
        Some(crate::pin::pin(
            base,
            checked,
            pin,
            crate::pin::resolution(),
            holder,
        ))
    }
    fn unpinned_safe(&self, checked: &Path, owner: u32) -> Result<(), PathRefusal> {
        crate::pin::unpinned_is_safe(checked, owner)
    }
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        exec_dirs: &[String],
    ) -> Result<(), process::NotTarget> {
        process::check(pid, pattern, exec_dirs)
    }
    fn find_executable(&self, command: &Command, exec_dirs: &[String]) -> Option<PathBuf> {
        resolve_executable(command, exec_dirs)
    }
    fn check_binary(&self, executable: &Path, sha256: Option<&[u8; 32]>) -> Option<Checked> {
        Some(binary::open(executable, sha256).map(Arc::new))
    }
    fn user_uid(&self, name: &str) -> Option<u32> {
        crate::sys::lookup_user(name)
            .ok()
            .flatten()
            .map(|account| account.uid)
    }
}

/// This host's paths and processes, with every executable present as
/// written and nothing opened: policy tests hold whatever the build host
/// has installed. Paths are passed on as their canonical text.
pub struct AssumeInstalled;

impl Host for AssumeInstalled {
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<Canonical> {
        // Nothing is pinned: no directory is kept open.
        let found = OnThisHost.canonicalize(path, budget)?;
        Some(Canonical {
            path: found.path,
            holder: None,
        })
    }
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf> {
        OnThisHost.canonicalize_trusted(path)
    }
    fn pin(
        &self,
        _: &Path,
        _: &Path,
        _: Pin,
        _: Option<OwnedFd>,
    ) -> Option<Result<PinnedPath, PathRefusal>> {
        None
    }
    fn unpinned_safe(&self, _: &Path, _: u32) -> Result<(), PathRefusal> {
        Ok(())
    }
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        exec_dirs: &[String],
    ) -> Result<(), process::NotTarget> {
        OnThisHost.process(pid, pattern, exec_dirs)
    }
    fn find_executable(&self, command: &Command, _: &[String]) -> Option<PathBuf> {
        Some(PathBuf::from(command.as_str()))
    }
    fn check_binary(&self, _: &Path, _: Option<&[u8; 32]>) -> Option<Checked> {
        None
    }
    fn user_uid(&self, name: &str) -> Option<u32> {
        OnThisHost.user_uid(name)
    }
}

/// Canonical forms and pinned descriptors already found during one call:
/// alternatives, optional and any-order items may try one argument many
/// times, and each try must not cost (or open) it again.
pub(super) struct PathCache {
    canonical: RefCell<Vec<(OsString, Pin, Option<PathBuf>)>>,
    /// The directories canonical forms' last names were found in, by
    /// canonical form: the first pin of that path takes its directory.
    holders: RefCell<Vec<(PathBuf, OwnedFd)>>,
    pinned: RefCell<Vec<PinnedEntry>>,
    /// Path components the call may still look up (symbolic links'
    /// targets included): a bound on root's file-system work per call,
    /// whatever the arguments.
    lookups_left: Cell<usize>,
}

/// Far above any legitimate call (a path has a dozen components), far
/// below what hostile arguments could ask for (a symbolic link may expand
/// to thousands, 40 times over).
const MAX_PATH_LOOKUPS: usize = 2048;

impl Default for PathCache {
    fn default() -> Self {
        PathCache {
            canonical: RefCell::default(),
            holders: RefCell::default(),
            pinned: RefCell::default(),
            lookups_left: Cell::new(MAX_PATH_LOOKUPS),
        }
    }
}

/// Directories kept open for pins during one call, at most: the daemon's
/// threads share its descriptor limit (1024), and a caller's arguments
/// must not use it up. Past this, a path's pin opens its directory again.
const MAX_HOLDERS: usize = 16;

/// A pinned path found during a call, by base, checked path and mode.
type PinnedEntry = (PathBuf, PathBuf, Pin, Arc<PinnedPath>);

impl PathCache {
    /// The canonical form of `arg`; for `<path-entry>`, of its directory,
    /// with its last name as written: the entry itself is checked, not
    /// what a symbolic link there points to.
    pub(super) fn canonical(&self, host: &dyn Host, arg: &OsStr, pin: Pin) -> Option<PathBuf> {
        let entry = pin == Pin::Entry;
        let cached = self
            .canonical
            .borrow()
            .iter()
            .find(|(a, p, _)| a == arg && (*p == Pin::Entry) == entry)
            .map(|(_, _, found)| found.clone());
        if let Some(found) = cached {
            return found;
        }
        let path = Path::new(arg);
        let found = if entry {
            // `..` as the last name is no entry of the directory before it.
            path.file_name().and_then(|name| {
                let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
                let dir = dir.unwrap_or(Path::new("."));
                let dir = host.canonicalize(dir, &self.lookups_left)?;
                Some(dir.path.join(name))
            })
        } else {
            host.canonicalize(path, &self.lookups_left).map(|found| {
                let mut holders = self.holders.borrow_mut();
                if let Some(holder) = found.holder.filter(|_| holders.len() < MAX_HOLDERS) {
                    holders.push((found.path.clone(), holder));
                }
                found.path
            })
        };
        self.canonical
            .borrow_mut()
            .push((arg.to_os_string(), pin, found.clone()));
        found
    }

    /// `None` when the host passes paths on as text.
    pub(super) fn pinned(
        &self,
        host: &dyn Host,
        base: &Path,
        checked: &Path,
        pin: Pin,
    ) -> Option<Result<Arc<PinnedPath>, PathRefusal>> {
        let cached = self
            .pinned
            .borrow()
            .iter()
            .find(|(b, c, p, _)| b == base && c == checked && *p == pin)
            .map(|(_, _, _, pinned)| Arc::clone(pinned));
        if let Some(pinned) = cached {
            return Some(Ok(pinned));
        }
        let holder = {
            let mut holders = self.holders.borrow_mut();
            let found = holders.iter().position(|(path, _)| path == checked);
            found.map(|at| holders.swap_remove(at).1)
        };
        let pinned = match host.pin(base, checked, pin, holder)? {
            Ok(pinned) => Arc::new(pinned),
            Err(why) => return Some(Err(why)),
        };
        self.pinned.borrow_mut().push((
            base.to_path_buf(),
            checked.to_path_buf(),
            pin,
            Arc::clone(&pinned),
        ));
        Some(Ok(pinned))
    }
}

/// The executable a rule runs on this host, or `None` when it is missing.
/// Bare names are looked up in the exec dirs only, never the caller's PATH.
pub fn resolve_executable(command: &Command, exec_dirs: &[String]) -> Option<PathBuf> {
    match command {
        Command::Path(path) => Some(PathBuf::from(path)).filter(|p| is_executable_file(p)),
        Command::Name(name) => exec_dirs
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| is_executable_file(p)),
    }
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// However many path arguments a call has, it keeps few directories
    /// open; each is still checked, and a pin without one opens its own.
    #[test]
    fn a_call_keeps_a_bounded_number_of_directories_open() {
        let dir = std::env::temp_dir().join(format!("rw-holders-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let dir = std::fs::canonicalize(&dir).unwrap();
        let cache = PathCache::default();
        let many = MAX_HOLDERS * 4;
        for i in 0..many {
            let arg = dir.join(format!("f{i}"));
            let found = cache.canonical(&OnThisHost, arg.as_os_str(), Pin::Object);
            assert_eq!(found.as_deref(), Some(arg.as_path()));
        }
        assert_eq!(cache.holders.borrow().len(), MAX_HOLDERS);
        // The last one kept no directory: its pin opens the base itself.
        std::fs::write(dir.join(format!("f{}", many - 1)), "x").unwrap();
        let last = dir.join(format!("f{}", many - 1));
        let pinned = cache.pinned(&OnThisHost, &dir, &last, Pin::Object);
        assert!(matches!(pinned, Some(Ok(_))), "{pinned:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
