//! Path canonicalization that, unlike `std::fs::canonicalize`, accepts paths
//! whose tail does not exist yet (a file a command is about to create): the
//! existing part has its symlinks resolved, the rest is normalized lexically.
#![forbid(unsafe_code)]

use std::cell::Cell;
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io;
use std::path::{Component, Path, PathBuf};

/// Linux's own limit on symlinks followed while resolving one path.
const MAX_SYMLINKS: usize = 40;

/// The absolute, symlink-free form of `path`; relative paths are taken from
/// the current directory. Errors (a deleted cwd, a symlink loop, a component
/// that cannot be inspected) mean the path cannot be trusted.
pub fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    resolve(path, false, &Cell::new(usize::MAX))
}

/// Like [`canonicalize`], taking one from `budget` for each component it
/// looks at (symbolic links' targets included), and failing when none is
/// left: the runtime bounds the file-system work of one call.
pub fn canonicalize_within(path: &Path, budget: &Cell<usize>) -> io::Result<PathBuf> {
    resolve(path, false, budget)
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
        assert!(canonicalize(&dir.join("loop/x")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
