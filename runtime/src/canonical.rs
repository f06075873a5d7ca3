//! Path canonicalization that, unlike `std::fs::canonicalize`, accepts paths
//! whose tail does not exist yet (a file a command is about to create): the
//! existing part has its symlinks resolved, the rest is normalized lexically.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::os::fd::OwnedFd;
use std::path::{Component, Path, PathBuf};

use crate::sys::Resolution;

/// Linux's own limit on symlinks followed while resolving one path.
const MAX_SYMLINKS: usize = 40;

/// The absolute, symlink-free form of `path`; relative paths are taken from
/// the current directory. Errors (a deleted cwd, a symlink loop, a component
/// that cannot be inspected) mean the path cannot be trusted.
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    resolve(path, false, &Cell::new(usize::MAX))
}

/// A canonical path and, when it was found in one step, the directory
/// holding its last name: opened `O_PATH` beneath `/` through no symbolic
/// link, it is where the path's pin starts instead of reopening it.
#[derive(Debug)]
pub struct Canonical {
    pub path: PathBuf,
    pub holder: Option<OwnedFd>,
}

/// Like [`canonicalize`], taking one from `budget` for each component it
/// looks at (symbolic links' targets included), and failing when none is
/// left: the runtime bounds the file-system work of one call.
pub fn canonicalize_within(path: &Path, budget: &Cell<usize>) -> io::Result<Canonical> {
    if let Some(found) = as_written(path, budget) {
        return Ok(found);
    }
    resolve(path, false, budget).map(|path| Canonical { path, holder: None })
}

/// `path` itself, when it is written in canonical form (absolute, no empty,
/// `.` or `..` name), its directory is reached from `/` without a symbolic
/// link and its last name is none (or missing, which the walk too takes as
/// written): an `openat2` and a `statx` instead of one lookup per component
/// (the daemon's requests are mostly such paths), and the directory comes
/// with it. Anything else, or a kernel without `openat2`, takes the walk.
fn as_written(path: &Path, budget: &Cell<usize>) -> Option<Canonical> {
    use std::os::fd::AsFd;
    use std::os::unix::ffi::OsStrExt;
    let names = path.as_os_str().as_bytes().strip_prefix(b"/")?;
    let mut count = 0;
    for name in names.split(|&b| b == b'/') {
        if matches!(name, b"" | b"." | b"..") {
            return None;
        }
        count += 1;
    }
    let left = budget.get().checked_sub(count)?;
    if crate::pin::resolution() != Resolution::Openat2 {
        return None;
    }
    let (dir, name) = (path.parent()?, path.file_name()?);
    let holder = crate::sys::open_dir_nofollow(dir, Resolution::Openat2).ok()?;
    match crate::sys::is_symlink_at(holder.as_fd(), name) {
        Ok(false) => {}
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {}
        Ok(true) | Err(_) => return None,
    }
    budget.set(left);
    Some(Canonical {
        path: path.to_path_buf(),
        holder: Some(holder),
    })
}

/// Like [`canonicalize`], but only through symlinks that only root can
/// have made or changed: each link owned by root, in a directory owned by
/// root and writable by nobody else. Any other link is an error. Used for
/// the directories a rule names, which the caller must not be able to
/// redirect (a service owning /var/lib/svc could otherwise point
/// /var/lib/svc/instances at /).
pub fn canonicalize_trusted(path: &Path) -> io::Result<PathBuf> {
    resolve(path, true, &Cell::new(usize::MAX))
}

fn resolve(path: &Path, trusted_links_only: bool, budget: &Cell<usize>) -> io::Result<PathBuf> {
    use std::os::unix::fs::MetadataExt;
    let mut pending: VecDeque<OsString> = VecDeque::new();
    let mut resolved = PathBuf::from("/");
    if path.is_relative() {
        push_components(&mut pending, &std::env::current_dir()?, false);
    }
    push_components(&mut pending, path, false);

    let mut symlinks = 0;
    while let Some(component) = pending.pop_front() {
        let Some(left) = budget.get().checked_sub(1) else {
            return Err(io::Error::other(
                "too many path components to resolve in one call",
            ));
        };
        budget.set(left);
        if component == ".." {
            resolved.pop();
            continue;
        }
        let candidate = resolved.join(&component);
        match std::fs::symlink_metadata(&candidate) {
            Ok(meta) if meta.file_type().is_symlink() => {
                if trusted_links_only {
                    let parent = std::fs::metadata(&resolved)?;
                    if meta.uid() != 0 || crate::owner::exposure(&parent, None).is_some() {
                        return Err(io::Error::other("a symlink that is not root's alone"));
                    }
                }
                symlinks += 1;
                if symlinks > MAX_SYMLINKS {
                    return Err(io::Error::other("too many levels of symbolic links"));
                }
                let target = std::fs::read_link(&candidate)?;
                if target.is_absolute() {
                    resolved = PathBuf::from("/");
                }
                push_components(&mut pending, &target, true);
            }
            Ok(_) => resolved = candidate,
            // Missing (or below a non-directory): taken lexically.
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    || e.raw_os_error() == Some(libc::ENOTDIR) =>
            {
                resolved = candidate;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(resolved)
}

/// Queues the normal and `..` components of `path`; `front` puts them
/// before what is already queued (a symlink's target replaces the link).
fn push_components(queue: &mut VecDeque<OsString>, path: &Path, front: bool) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(name) => Some(name.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect();
    if front {
        for part in parts.into_iter().rev() {
            queue.push_front(part);
        }
    } else {
        queue.extend(parts);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn resolves_dots_symlinks_and_missing_tails() {
        let dir = std::env::temp_dir().join(format!("rw-canon-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("a/b")).unwrap();
        symlink(dir.join("a/b"), dir.join("link")).unwrap();
        symlink("../..", dir.join("a/b/up")).unwrap();
        let base = std::fs::canonicalize(&dir).unwrap();

        assert_eq!(
            canonicalize(&dir.join("a/./b/../b")).unwrap(),
            base.join("a/b")
        );
        assert_eq!(
            canonicalize(&dir.join("link/new/file")).unwrap(),
            base.join("a/b/new/file")
        );
        assert_eq!(canonicalize(&dir.join("link/up")).unwrap(), base);
        assert_eq!(
            canonicalize(&dir.join("missing/../a")).unwrap(),
            base.join("a")
        );
        assert_eq!(
            canonicalize(Path::new("/../..")).unwrap(),
            PathBuf::from("/")
        );
        symlink(dir.join("loop"), dir.join("loop")).unwrap();
        assert!(canonicalize_within(&dir.join("loop"), &Cell::new(100)).is_err());
        assert!(canonicalize(&dir.join("loop/x")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// The one-step path must give what the walk gives: a link at the end
    /// or in the middle is resolved, never returned as written. It comes
    /// with the directory holding the last name; the walk with none.
    #[test]
    fn paths_as_written_are_canonical_only_without_links() {
        use std::os::unix::fs::MetadataExt;
        let dir = std::env::temp_dir().join(format!("rw-canon-fast-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("real/sub")).unwrap();
        std::fs::write(dir.join("real/sub/file"), b"").unwrap();
        symlink(dir.join("real"), dir.join("mid")).unwrap();
        symlink(dir.join("real/sub/file"), dir.join("real/sub/last")).unwrap();
        let base = std::fs::canonicalize(&dir).unwrap();
        let sub = std::fs::metadata(base.join("real/sub")).unwrap();
        let within = |path: &Path| {
            let budget = Cell::new(100);
            let found = canonicalize_within(path, &budget).unwrap();
            let holder = found.holder.map(|fd| {
                let meta = crate::sys::metadata(std::os::fd::AsFd::as_fd(&fd)).unwrap();
                (meta.dev(), meta.ino()) == (sub.dev(), sub.ino())
            });
            (found.path, holder, 100 - budget.get())
        };
        let plain = base.join("real/sub/file");
        let components = plain.components().count() - 1;
        assert_eq!(within(&plain), (plain.clone(), Some(true), components));
        for linked in ["real/sub/last", "mid/sub/file"] {
            let (found, holder, _) = within(&base.join(linked));
            assert_eq!((found, holder), (plain.clone(), None), "{linked}");
        }
        let missing = base.join("real/sub/new");
        assert_eq!(within(&missing), (missing.clone(), Some(true), components));
        // Too little budget for the components is an error either way.
        let short = Cell::new(components - 1);
        assert!(canonicalize_within(&plain, &short).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
