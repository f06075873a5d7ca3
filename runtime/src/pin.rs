//! Pinned paths: what is checked is what the command gets.
//!
//! A `<path>` argument is checked on its canonical text, and then opened
//! through descriptors, beneath the scope's base, without following any
//! symbolic link (`openat2` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS`, or one `openat(O_NOFOLLOW)` per component where
//! the kernel lacks it). The command receives `/proc/self/fd/N[/NAME]`, a
//! descriptor kept open across `execve`, so a caller who can write inside
//! the scope cannot swap a directory for a symbolic link between the check
//! and the command's own system calls. Native actions build on the same
//! resolver.
#![forbid(unsafe_code)]

use std::ffi::{CString, OsStr, OsString};
use std::fmt;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::sys::{self, Resolution};
use crate::types::Pin;

/// A path argument as checked and as passed on, with the descriptor that
/// must stay open until the command starts.
#[derive(Debug)]
pub struct PinnedPath {
    /// The canonical path that was checked against the scope.
    pub checked: PathBuf,
    /// What the command receives: `/proc/self/fd/N`, `/proc/self/fd/N/`
    /// (a directory) or `/proc/self/fd/N/NAME`.
    pub passed: OsString,
    fd: OwnedFd,
    /// `fd` is the directory of `checked`'s last name (`<path-entry>`),
    /// not `checked` itself.
    entry: bool,
}

impl PinnedPath {
    /// The descriptor the passed path names.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// What a target user other than root must reach by itself (the
    /// descriptor was opened by root, through directories that user may
    /// not search): the path naming what the descriptor is (`checked`, or
    /// an entry's directory), and that object's device and inode, for
    /// [`sys::reaches`].
    pub fn reach(&self) -> io::Result<(CString, (u64, u64))> {
        let meta = sys::metadata(self.fd.as_fd())?;
        let path = match self.checked.parent() {
            Some(dir) if self.entry => dir,
            _ => &self.checked,
        };
        let path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        Ok((path, (meta.dev(), meta.ino())))
    }
}

impl PartialEq for PinnedPath {
    fn eq(&self, other: &Self) -> bool {
        self.checked == other.checked && self.passed == other.passed
    }
}

impl Eq for PinnedPath {}

/// Why a path that lies within a scope cannot be handed to the command.
#[derive(Debug)]
pub enum PathRefusal {
    /// A symbolic link below the scope's base, or at its end.
    Symlink,
    /// A regular file with more than one name: one may lie outside the scope.
    HardLinks(u64),
    /// `<path>` names an existing object, and this one does not exist.
    Missing,
    /// A directory on the way does not exist: only the last name of a
    /// `<path-entry>` may be missing.
    MissingDirectory(PathBuf),
    /// A directory on the way is someone else's (`<path-unpinned>`).
    Unsafe { dir: PathBuf, why: String },
    /// The file system refused (a component is not a directory, ...).
    Io(io::Error),
}

impl fmt::Display for PathRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathRefusal::Symlink => write!(
                f,
                "a symbolic link below the scope's base (pinned paths follow none)"
            ),
            PathRefusal::HardLinks(n) => write!(
                f,
                "a file with {n} hard links (another name may lie outside the scope)"
            ),
            PathRefusal::Missing => write!(
                f,
                "does not exist (`<path>` names an existing object; a rule for a command that creates it uses `<path-entry ...>`)"
            ),
            PathRefusal::MissingDirectory(dir) => write!(
                f,
                "{} does not exist (only the last name of a `<path-entry>` may be missing)",
                dir.display()
            ),
            PathRefusal::Unsafe { dir, why } => write!(
                f,
                "{} {why}: an unpinned path below it could be swapped before the command uses it",
                dir.display()
            ),
            PathRefusal::Io(e) => write!(f, "cannot be opened beneath its scope: {e}"),
        }
    }
}

impl From<io::Error> for PathRefusal {
    fn from(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::ELOOP) => PathRefusal::Symlink,
            _ => PathRefusal::Io(e),
        }
    }
}

/// The strategy this kernel supports, found out once per process.
pub fn resolution() -> Resolution {
    use std::sync::OnceLock;
    static FOUND: OnceLock<Resolution> = OnceLock::new();
    *FOUND.get_or_init(|| {
        let probe = sys::open_dir_nofollow(Path::new("/"), Resolution::Openat2);
        match probe {
            Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => Resolution::Walk,
            _ => Resolution::Openat2,
        }
    })
}

/// Opens `checked`, a canonical path that lies in or below `base` (itself
/// canonical: no symbolic link on the way), as `pin` asks. `holder` is the
/// directory holding `checked`'s last name when the canonical check opened
/// it (beneath `/`, through no symbolic link): the pin starts there.
/// Otherwise `base` is opened from `/` and the rest beneath it, following
/// no symbolic link.
pub fn pin(
    base: &Path,
    checked: &Path,
    pin: Pin,
    how: Resolution,
    holder: Option<OwnedFd>,
) -> Result<PinnedPath, PathRefusal> {
    if let Some(dir) = holder {
        let name = checked
            .file_name()
            .ok_or(PathRefusal::Io(io::Error::from_raw_os_error(libc::EINVAL)))?;
        return match pin {
            Pin::Object => object(dir.as_fd(), Path::new(name), checked, how),
            Pin::Entry | Pin::Unpinned => Ok(entry_in(dir, name, checked)),
        };
    }
    // The anchor is a directory every later step stays beneath: the base,
    // or, for a scope that is one exact path, its parent.
    let anchor = if checked == base {
        base.parent().unwrap_or(base)
    } else {
        base
    };
    let rest = checked
        .strip_prefix(anchor)
        .map_err(|_| PathRefusal::Io(io::Error::from_raw_os_error(libc::EXDEV)))?;
    let anchor_fd = sys::open_dir_nofollow(anchor, how).map_err(missing_dir(anchor))?;
    match pin {
        Pin::Object => object(anchor_fd.as_fd(), rest, checked, how),
        // Whether the last name exists is the command's (or step's)
        // business: only its directory is opened.
        Pin::Entry | Pin::Unpinned => entry(anchor_fd, anchor, rest, checked, how),
    }
}

/// The existing object at `rest` below `dir`, passed as its descriptor.
fn object(
    dir: BorrowedFd<'_>,
    rest: &Path,
    checked: &Path,
    how: Resolution,
) -> Result<PinnedPath, PathRefusal> {
    let fd = match sys::open_beneath(dir, rest, libc::O_PATH, how) {
        Ok(fd) => fd,
        // The command would look the last name up itself, and follow a
        // symbolic link the caller plants there (`chown` does).
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Err(PathRefusal::Missing),
        Err(e) => return Err(e.into()),
    };
    let meta = sys::metadata(fd.as_fd())?;
    if meta.file_type().is_symlink() {
        return Err(PathRefusal::Symlink);
    }
    if meta.is_file() && meta.nlink() > 1 {
        return Err(PathRefusal::HardLinks(meta.nlink()));
    }
    let mut passed = fd_path(fd.as_fd());
    if meta.is_dir() {
        // `ls -l DIR` and others show a symbolic link itself unless the
        // name ends with `/`.
        passed.push(b'/');
    }
    Ok(PinnedPath {
        checked: checked.to_path_buf(),
        passed: OsString::from_vec(passed),
        fd,
        entry: false,
    })
}

/// The directory that holds the last name of `rest` (below the anchor),
/// and that name: `/proc/self/fd/N/NAME`. Only the last name may be
/// missing: the command creates at most that one entry in a directory
/// that was checked, never a chain of directories the caller could race.
fn entry(
    anchor_fd: OwnedFd,
    anchor: &Path,
    rest: &Path,
    checked: &Path,
    how: Resolution,
) -> Result<PinnedPath, PathRefusal> {
    let (Some(dir), Some(name)) = (rest.parent(), rest.file_name()) else {
        return Err(PathRefusal::Io(io::Error::from_raw_os_error(libc::EINVAL)));
    };
    let fd = if dir.as_os_str().is_empty() {
        anchor_fd
    } else {
        sys::open_beneath(
            anchor_fd.as_fd(),
            dir,
            libc::O_PATH | libc::O_DIRECTORY,
            how,
        )
        .map_err(missing_dir(&anchor.join(dir)))?
    };
    Ok(entry_in(fd, name, checked))
}

/// The entry `name` of the directory `dir`.
fn entry_in(dir: OwnedFd, name: &OsStr, checked: &Path) -> PinnedPath {
    let mut passed = fd_path(dir.as_fd());
    passed.push(b'/');
    passed.extend_from_slice(name.as_encoded_bytes());
    PinnedPath {
        checked: checked.to_path_buf(),
        passed: OsString::from_vec(passed),
        fd: dir,
        entry: true,
    }
}

/// A directory that must exist does not: say which.
fn missing_dir(dir: &Path) -> impl FnOnce(io::Error) -> PathRefusal + '_ {
    move |e| match e.raw_os_error() {
        Some(libc::ENOENT) => PathRefusal::MissingDirectory(dir.to_path_buf()),
        _ => e.into(),
    }
}

fn fd_path(fd: BorrowedFd<'_>) -> Vec<u8> {
    format!("/proc/self/fd/{}", fd.as_raw_fd()).into_bytes()
}

/// For `<path-unpinned>`: every existing directory from `/` down to the
/// parent of `checked` must be owned by root (or by `owner`, the rule's
/// target user) and not writable by group or others, as sudoedit requires
/// of the directories it edits in. Otherwise someone else could swap a
/// component after the check.
pub fn unpinned_is_safe(checked: &Path, owner: u32) -> Result<(), PathRefusal> {
    let mut dirs: Vec<&Path> = checked.ancestors().skip(1).collect();
    dirs.reverse();
    for dir in dirs {
        let meta = match std::fs::symlink_metadata(dir) {
            Ok(meta) => meta,
            // The rest is yet to be created, below the last one checked.
            Err(e) if e.kind() == io::ErrorKind::NotFound => break,
            Err(e) => return Err(PathRefusal::Io(e)),
        };
        let why = if !meta.is_dir() {
            Some("is not a directory".to_string())
        } else {
            crate::owner::exposure(&meta, Some(owner)).map(|e| e.to_string())
        };
        if let Some(why) = why {
            return Err(PathRefusal::Unsafe {
                dir: dir.to_path_buf(),
                why,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A scratch tree: `base/d/f`, `base/link -> outside`, `outside/secret`.
    struct Tree {
        root: PathBuf,
    }

    impl Tree {
        fn new(label: &str) -> Tree {
            let root = std::env::temp_dir().join(format!("rw-pin-{label}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir_all(root.join("base/d")).unwrap();
            std::fs::create_dir_all(root.join("outside")).unwrap();
            std::fs::write(root.join("base/d/f"), "inside").unwrap();
            std::fs::write(root.join("outside/secret"), "outside").unwrap();
            symlink(root.join("outside"), root.join("base/link")).unwrap();
            let root = std::fs::canonicalize(&root).unwrap();
            Tree { root }
        }

        fn base(&self) -> PathBuf {
            self.root.join("base")
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    const BOTH: [Resolution; 2] = [Resolution::Openat2, Resolution::Walk];

    fn read_through(pinned: &PinnedPath) -> String {
        std::fs::read_to_string(Path::new(&pinned.passed)).unwrap()
    }

    #[test]
    fn an_existing_file_is_passed_as_its_descriptor() {
        let tree = Tree::new("object");
        for how in BOTH {
            let checked = tree.base().join("d/f");
            let pinned = pin(&tree.base(), &checked, Pin::Object, how, None).unwrap();
            assert!(pinned
                .passed
                .to_string_lossy()
                .starts_with("/proc/self/fd/"));
            assert_eq!(pinned.checked, checked);
            // Renaming the directory away does not change what is reached.
            std::fs::rename(tree.base().join("d"), tree.base().join("moved")).unwrap();
            assert_eq!(read_through(&pinned), "inside");
            std::fs::rename(tree.base().join("moved"), tree.base().join("d")).unwrap();
        }
    }

    #[test]
    fn a_directory_is_passed_with_a_trailing_slash() {
        let tree = Tree::new("dir");
        for how in BOTH {
            let pinned = pin(&tree.base(), &tree.base().join("d"), Pin::Object, how, None).unwrap();
            assert!(pinned.passed.to_string_lossy().ends_with('/'));
            let listed: Vec<_> = std::fs::read_dir(Path::new(&pinned.passed))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(listed, vec![OsString::from("f")]);
        }
    }

    #[test]
    fn symbolic_links_below_the_base_are_refused() {
        let tree = Tree::new("symlink");
        for how in BOTH {
            // Through the link, as if the caller had swapped it in after
            // the textual check.
            for checked in ["link/secret", "link"] {
                let refused = pin(
                    &tree.base(),
                    &tree.base().join(checked),
                    Pin::Object,
                    how,
                    None,
                );
                assert!(
                    matches!(refused, Err(PathRefusal::Symlink) | Err(PathRefusal::Io(_))),
                    "{checked} with {how:?}: {refused:?}"
                );
            }
            let refused = pin(
                &tree.base(),
                &tree.base().join("link/new"),
                Pin::Object,
                how,
                None,
            );
            assert!(refused.is_err(), "a name below a link: {refused:?}");
        }
    }

    #[test]
    fn a_missing_object_is_refused() {
        let tree = Tree::new("missing-object");
        for how in BOTH {
            let refused = pin(
                &tree.base(),
                &tree.base().join("d/new"),
                Pin::Object,
                how,
                None,
            );
            assert!(matches!(refused, Err(PathRefusal::Missing)), "{refused:?}");
        }
    }

    #[test]
    fn a_missing_name_is_passed_below_its_directory() {
        let tree = Tree::new("missing");
        for how in BOTH {
            let checked = tree.base().join("d/new");
            let pinned = pin(&tree.base(), &checked, Pin::Entry, how, None).unwrap();
            let passed = pinned.passed.to_string_lossy().into_owned();
            assert!(passed.ends_with("/new"), "{passed}");
            // Created where it was checked, whatever was renamed meanwhile.
            std::fs::rename(tree.base().join("d"), tree.base().join("moved")).unwrap();
            std::fs::create_dir(&passed).unwrap();
            assert!(tree.base().join("moved/new").is_dir());
            std::fs::remove_dir(tree.base().join("moved/new")).unwrap();
            std::fs::rename(tree.base().join("moved"), tree.base().join("d")).unwrap();
        }
    }

    #[test]
    fn only_the_last_name_may_be_missing() {
        let tree = Tree::new("deeper");
        for how in BOTH {
            {
                let checked = tree.base().join("d/new/deeper");
                let refused = pin(&tree.base(), &checked, Pin::Entry, how, None);
                assert!(
                    matches!(&refused, Err(PathRefusal::MissingDirectory(dir)) if dir.ends_with("d/new")),
                    "{refused:?}"
                );
            }
            // Nor may the scope's own directory.
            let missing_base = tree.root.join("nonexistent");
            let refused = pin(
                &missing_base,
                &missing_base.join("x"),
                Pin::Entry,
                how,
                None,
            );
            assert!(
                matches!(refused, Err(PathRefusal::MissingDirectory(_))),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn an_entry_is_its_directory_and_name() {
        let tree = Tree::new("entry");
        for how in BOTH {
            let pinned = pin(
                &tree.base(),
                &tree.base().join("d/f"),
                Pin::Entry,
                how,
                None,
            )
            .unwrap();
            let passed = pinned.passed.to_string_lossy().into_owned();
            assert!(passed.ends_with("/f") && passed.starts_with("/proc/self/fd/"));
            assert_eq!(std::fs::read_to_string(&passed).unwrap(), "inside");
            // A link at the end is the entry itself: `rm` removes the link.
            let link = pin(
                &tree.base(),
                &tree.base().join("link"),
                Pin::Entry,
                how,
                None,
            )
            .unwrap();
            assert!(link.passed.to_string_lossy().ends_with("/link"));
        }
    }

    #[test]
    fn an_exact_scope_is_opened_from_its_parent() {
        let tree = Tree::new("exact");
        let file = tree.base().join("d/f");
        for how in BOTH {
            let pinned = pin(&file, &file, Pin::Object, how, None).unwrap();
            assert_eq!(read_through(&pinned), "inside");
        }
    }

    /// The directory the canonical check opened is the one pinned, even if
    /// the caller renames it away before the pin.
    #[test]
    fn a_pin_starts_from_the_directory_the_check_opened() {
        let tree = Tree::new("holder");
        let checked = tree.base().join("d/f");
        let opened =
            || sys::open_dir_nofollow(&tree.base().join("d"), Resolution::Openat2).unwrap();
        let (for_entry, for_object) = (opened(), opened());
        std::fs::rename(tree.base().join("d"), tree.base().join("moved")).unwrap();
        for (pin_as, holder) in [(Pin::Entry, for_entry), (Pin::Object, for_object)] {
            let pinned = pin(
                &tree.base(),
                &checked,
                pin_as,
                Resolution::Openat2,
                Some(holder),
            );
            assert_eq!(read_through(&pinned.unwrap()), "inside", "{pin_as:?}");
        }
        let holder = sys::open_dir_nofollow(&tree.base(), Resolution::Openat2).unwrap();
        let link = tree.base().join("link");
        let refused = pin(
            &tree.base(),
            &link,
            Pin::Object,
            Resolution::Openat2,
            Some(holder),
        );
        assert!(matches!(refused, Err(PathRefusal::Symlink)), "{refused:?}");
    }

    #[test]
    fn hard_linked_files_are_refused() {
        let tree = Tree::new("hardlink");
        std::fs::hard_link(tree.root.join("outside/secret"), tree.base().join("d/g")).unwrap();
        for how in BOTH {
            let refused = pin(
                &tree.base(),
                &tree.base().join("d/g"),
                Pin::Object,
                how,
                None,
            );
            assert!(
                matches!(refused, Err(PathRefusal::HardLinks(2))),
                "{refused:?}"
            );
        }
    }

    #[test]
    fn unpinned_paths_need_directories_only_root_can_change() {
        let tree = Tree::new("unpinned");
        // Root's own tree: /usr/bin is root's alone on any sane system.
        assert!(unpinned_is_safe(Path::new("/usr/bin/env"), 0).is_ok());
        std::fs::set_permissions(
            tree.base().join("d"),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .unwrap();
        let refused = unpinned_is_safe(&tree.base().join("d/f"), 0);
        // The temporary directory is writable by others (or the scratch
        // directory itself is): either way the path is refused.
        assert!(
            matches!(refused, Err(PathRefusal::Unsafe { .. })),
            "{refused:?}"
        );
        // A directory owned by the target user is safe for its rules; one
        // owned by anyone else is not. (Needs root to chown.)
        let owned = Path::new("/usr/lib/rw-pin-unpinned-owned");
        let _ = std::fs::remove_dir_all(owned);
        if std::fs::create_dir(owned).is_ok() {
            std::os::unix::fs::chown(owned, Some(4242), None).unwrap();
            let inside = owned.join("f");
            let for_owner = unpinned_is_safe(&inside, 4242);
            let for_root = unpinned_is_safe(&inside, 0);
            std::fs::remove_dir(owned).unwrap();
            assert!(for_owner.is_ok(), "{for_owner:?}");
            assert!(
                matches!(for_root, Err(PathRefusal::Unsafe { .. })),
                "{for_root:?}"
            );
        }
    }
}
