//! The executable a rule runs: opened once, checked on its descriptor, and
//! executed through that descriptor.
//!
//! An executable the caller could replace is root for the caller, so every
//! rule's executable must be root's alone: the file, and every directory
//! from `/` down to it (with symbolic links on the way resolved through
//! root's own links only), owned by root and not writable by group or
//! others. A rule that pins its executable (`COMMAND @sha256:HEX`) also
//! needs the file's SHA-256, read through the same descriptor, to match.
#![forbid(unsafe_code)]

use std::ffi::OsStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::canonical::canonicalize_trusted;
use crate::format::{hex, Sha256Digest};
use crate::owner::Exposure;
use crate::sys::{self, Resolution};

/// An executable as opened and checked.
#[derive(Debug)]
pub struct Binary {
    /// The file's path with symbolic links resolved: what was checked.
    pub real: PathBuf,
    /// A `#!` script: executed by its path, not through the descriptor
    /// (see [`crate::exec::exec`]).
    pub script: bool,
    /// The digest that was checked, for a rule that pins one.
    pub sha256: Option<Sha256Digest>,
    fd: OwnedFd,
}

impl Binary {
    /// The descriptor the checks were made on.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Why an executable that exists must not be run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The executable as the rule found it.
    pub executable: PathBuf,
    pub why: Why,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// A symbolic link on the way that root alone did not make (or too
    /// many of them).
    Link(String),
    /// The file or a directory above it is not root's alone.
    Untrusted { path: PathBuf, why: String },
    /// The pinned digest differs.
    Digest {
        pinned: Sha256Digest,
        found: Sha256Digest,
    },
    /// The `#!` line names an interpreter that fails a check.
    Interpreter { path: PathBuf, why: Box<Why> },
    /// The file system refused (it changed while being checked, ...).
    Io(String),
}

impl fmt::Display for Why {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Why::Link(e) => write!(
                f,
                "{e} on its path (only links root alone made are followed)"
            ),
            Why::Untrusted { path, why } => write!(f, "{} {why}", path.display()),
            Why::Digest { pinned, found } => write!(
                f,
                "its SHA-256 is {}, not the rule's pinned {}",
                hex(found),
                hex(pinned)
            ),
            Why::Interpreter { path, why } => {
                write!(f, "its interpreter {}: {why}", path.display())
            }
            Why::Io(e) => write!(f, "cannot be checked: {e}"),
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.executable.display(), self.why)
    }
}

/// The kernel's limit on nested interpreters (`#!` naming a script).
const MAX_INTERPRETERS: usize = 4;
/// The kernel reads this much of a file for its `#!` line.
const SHEBANG_MAX: usize = 256;

/// Opens and checks `executable` (absolute): see the module's comment.
pub fn open(executable: &Path, pinned: Option<&Sha256Digest>) -> Result<Binary, Refusal> {
    open_checked(executable, pinned, 0).map_err(|why| Refusal {
        executable: executable.to_path_buf(),
        why,
    })
}

fn open_checked(
    executable: &Path,
    pinned: Option<&Sha256Digest>,
    depth: usize,
) -> Result<Binary, Why> {
    let real = canonicalize_trusted(executable).map_err(|e| match e.kind() {
        io::ErrorKind::Other => Why::Link(e.to_string()),
        _ => Why::Io(e.to_string()),
    })?;
    let (fd, readable) = open_root_owned(&real)?;
    let file = File::from(fd);
    let mut script = false;
    if readable {
        let mut head = [0u8; SHEBANG_MAX];
        let read = read_at_most(&file, &mut head).map_err(|e| Why::Io(e.to_string()))?;
        let head = head.get(..read).unwrap_or_default();
        script = head.starts_with(b"#!");
        if script {
            check_interpreter(head, depth)?;
        }
    }
    let sha256 = match pinned {
        None => None,
        Some(pinned) => {
            if !readable {
                return Err(Why::Io(
                    "it is not readable, and its digest must be checked".into(),
                ));
            }
            let found = digest(&file).map_err(|e| Why::Io(e.to_string()))?;
            if found != *pinned {
                return Err(Why::Digest {
                    pinned: *pinned,
                    found,
                });
            }
            Some(found)
        }
    };
    Ok(Binary {
        real,
        script,
        sha256,
        fd: file.into(),
    })
}

/// Opens `real` (canonical) one component at a time from `/`, following no
/// symbolic link, and checks each directory and the file on its own
/// descriptor: what is checked is what was opened. The file is opened for
/// reading where this process may (for the `#!` line and the digest), else
/// with `O_PATH` (enough to execute it).
fn open_root_owned(real: &Path) -> Result<(OwnedFd, bool), Why> {
    let io = |e: io::Error| Why::Io(e.to_string());
    let root: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open("/")
        .map_err(io)?
        .into();
    let (root, meta) = metadata(root).map_err(io)?;
    check_owner(Path::new("/"), &meta, true)?;
    let names: Vec<&OsStr> = real
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(name) => Some(name),
            _ => None,
        })
        .collect();
    let Some((last, dirs)) = names.split_last() else {
        return Err(Why::Io("not a file".into()));
    };
    let mut current = root;
    let mut path = PathBuf::from("/");
    for name in dirs {
        path.push(name);
        let next = sys::open_beneath(
            current.as_fd(),
            Path::new(name),
            libc::O_PATH | libc::O_DIRECTORY,
            Resolution::Walk,
        )
        .map_err(io)?;
        let (next, meta) = metadata(next).map_err(io)?;
        check_owner(&path, &meta, true)?;
        current = next;
    }
    path.push(last);
    let last = Path::new(last);
    // Non-blocking and without a controlling terminal, as for the ruleset:
    // whatever lies there is refused below, never waited on or acquired.
    let read = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
    let (fd, readable) = match sys::open_beneath(current.as_fd(), last, read, Resolution::Walk) {
        Ok(fd) => (fd, true),
        Err(e) if e.raw_os_error() == Some(libc::EACCES) => (
            sys::open_beneath(current.as_fd(), last, libc::O_PATH, Resolution::Walk).map_err(io)?,
            false,
        ),
        Err(e) => return Err(io(e)),
    };
    let (fd, meta) = metadata(fd).map_err(io)?;
    check_owner(&path, &meta, false)?;
    Ok((fd, readable))
}

fn metadata(fd: OwnedFd) -> io::Result<(OwnedFd, std::fs::Metadata)> {
    let file = File::from(fd);
    let meta = file.metadata()?;
    Ok((file.into(), meta))
}

/// Root's alone: owned by uid 0, not writable by group or others; a
/// directory, or an executable regular file.
fn check_owner(path: &Path, meta: &std::fs::Metadata, dir: bool) -> Result<(), Why> {
    let why = if dir && !meta.is_dir() {
        Some("is not a directory".to_string())
    } else if !dir && !meta.is_file() {
        Some("is not a regular file".to_string())
    } else if !dir && meta.mode() & 0o111 == 0 {
        Some("is not executable".to_string())
    } else {
        crate::owner::exposure(meta, None).map(|exposure| match exposure {
            Exposure::Owner(_) => format!("{exposure}, not root"),
            Exposure::Writable(_) => exposure.to_string(),
        })
    };
    match why {
        Some(why) => Err(Why::Untrusted {
            path: path.to_path_buf(),
            why,
        }),
        None => Ok(()),
    }
}

/// The interpreter a `#!` line names must pass the same checks: the kernel
/// opens it by path, as root. A relative one would be found from the
/// caller's working directory.
fn check_interpreter(head: &[u8], depth: usize) -> Result<(), Why> {
    let line = head
        .get(2..)
        .unwrap_or_default()
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    let name: Vec<u8> = line
        .iter()
        .copied()
        .skip_while(|b| *b == b' ' || *b == b'\t')
        .take_while(|b| !matches!(b, b' ' | b'\t' | b'\r' | 0))
        .collect();
    let path = PathBuf::from(OsStr::from_bytes(&name));
    let refused = |why: Why| Why::Interpreter {
        path: path.clone(),
        why: Box::new(why),
    };
    if !path.is_absolute() {
        return Err(refused(Why::Io(
            "the `#!` line names no absolute path".into(),
        )));
    }
    if depth + 1 >= MAX_INTERPRETERS {
        return Err(refused(Why::Io("interpreters nest too deeply".into())));
    }
    open_checked(&path, None, depth + 1)
        .map(drop)
        .map_err(refused)
}

/// Reads from offset 0 until `buf` is full or the file ends.
fn read_at_most(file: &File, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while let Some(rest) = buf.get_mut(filled..).filter(|rest| !rest.is_empty()) {
        match file.read_at(rest, filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The SHA-256 of the whole file, read through its descriptor.
pub fn digest(file: &File) -> io::Result<Sha256Digest> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut offset = 0u64;
    loop {
        match file.read_at(&mut buf, offset) {
            Ok(0) => break,
            Ok(n) => {
                #[expect(
                    clippy::indexing_slicing,
                    reason = "read_at returns at most the buffer's length"
                )]
                hasher.update(&buf[..n]);
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(hasher.finalize().into())
}

/// The SHA-256 of the file at `path` (the compiler's `--pin-executables`).
pub fn digest_of(path: &Path) -> io::Result<Sha256Digest> {
    digest(&File::open(path)?)
}

/// A digest written as 64 hexadecimal digits (either case).
pub fn parse_hex(text: &str) -> Option<Sha256Digest> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let nibble = |b: u8| (b as char).to_digit(16);
    let mut digest = [0u8; 32];
    for (out, pair) in digest.iter_mut().zip(bytes.chunks_exact(2)) {
        let &[high, low] = pair else { return None };
        *out = (nibble(high)? * 16 + nibble(low)?) as u8;
    }
    Some(digest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    /// Root-owned files need root: skipped locally, never under CI.
    fn skipped() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs as root: these tests must not skip"
        );
        eprintln!("skipped: needs root (root-owned scratch files)");
    }

    /// A root-owned scratch directory below /usr/lib (root's alone on any
    /// sane system), or `None` when not root.
    struct Tree {
        root: PathBuf,
    }

    impl Tree {
        fn new(label: &str) -> Option<Tree> {
            let root = PathBuf::from(format!("/usr/lib/rw-binary-{label}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&root);
            std::fs::create_dir(&root).ok()?;
            if std::fs::metadata(&root).ok()?.uid() != 0 {
                let _ = std::fs::remove_dir_all(&root);
                return None;
            }
            std::fs::set_permissions(&root, PermissionsExt::from_mode(0o755)).ok()?;
            Some(Tree { root })
        }

        fn file(&self, name: &str, text: &str, mode: u32) -> PathBuf {
            let path = self.root.join(name);
            std::fs::write(&path, text).unwrap();
            std::fs::set_permissions(&path, PermissionsExt::from_mode(mode)).unwrap();
            path
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }

    fn why(result: Result<Binary, Refusal>) -> Why {
        result.expect_err("refused").why
    }

    #[test]
    fn a_root_owned_executable_is_opened() {
        let Some(tree) = Tree::new("ok") else {
            return skipped();
        };
        let tool = tree.file("tool", "\x7fELF...", 0o755);
        let binary = open(&tool, None).unwrap();
        assert_eq!(binary.real, tool);
        assert!(!binary.script);
        assert_eq!(binary.sha256, None);
    }

    #[test]
    fn writable_files_and_directories_are_refused() {
        let Some(tree) = Tree::new("writable") else {
            return skipped();
        };
        let tool = tree.file("tool", "x", 0o775);
        assert!(
            matches!(why(open(&tool, None)), Why::Untrusted { ref path, ref why } if *path == tool && why.contains("0775")),
        );
        std::fs::set_permissions(&tool, PermissionsExt::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&tree.root, PermissionsExt::from_mode(0o777)).unwrap();
        assert!(
            matches!(why(open(&tool, None)), Why::Untrusted { ref path, .. } if *path == tree.root),
        );
        std::fs::set_permissions(&tree.root, PermissionsExt::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&tool, Some(4242), None).unwrap();
        assert!(
            matches!(why(open(&tool, None)), Why::Untrusted { ref why, .. } if why.contains("uid 4242")),
        );
        std::os::unix::fs::chown(&tool, Some(0), None).unwrap();
        assert!(open(&tool, None).is_ok());
    }

    #[test]
    fn links_are_judged_by_the_file_they_reach() {
        let Some(tree) = Tree::new("links") else {
            return skipped();
        };
        let tool = tree.file("tool", "x", 0o755);
        symlink(&tool, tree.root.join("root-link")).unwrap();
        assert_eq!(open(&tree.root.join("root-link"), None).unwrap().real, tool);
        // A link someone else owns is refused, wherever it points.
        symlink(&tool, tree.root.join("their-link")).unwrap();
        std::os::unix::fs::lchown(tree.root.join("their-link"), Some(4242), None).unwrap();
        assert!(matches!(
            why(open(&tree.root.join("their-link"), None)),
            Why::Link(_)
        ));
        // A root link to a file in a directory others can write is refused.
        let open_dir = tree.root.join("open");
        std::fs::create_dir(&open_dir).unwrap();
        std::fs::set_permissions(&open_dir, PermissionsExt::from_mode(0o777)).unwrap();
        let planted = open_dir.join("tool");
        std::fs::write(&planted, "x").unwrap();
        std::fs::set_permissions(&planted, PermissionsExt::from_mode(0o755)).unwrap();
        symlink(&planted, tree.root.join("to-open")).unwrap();
        assert!(
            matches!(why(open(&tree.root.join("to-open"), None)), Why::Untrusted { ref path, .. } if *path == open_dir),
        );
        // Merged /usr: /bin is a link of root's on most systems.
        assert!(open(Path::new("/bin/sh"), None).is_ok());
    }

    #[test]
    fn a_pinned_digest_is_checked() {
        let Some(tree) = Tree::new("digest") else {
            return skipped();
        };
        let tool = tree.file("tool", "abc", 0o755);
        // SHA-256 of "abc".
        let right =
            parse_hex("BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD").unwrap();
        assert_eq!(open(&tool, Some(&right)).unwrap().sha256, Some(right));
        let mut wrong = right;
        wrong[0] ^= 1;
        assert_eq!(
            why(open(&tool, Some(&wrong))),
            Why::Digest {
                pinned: wrong,
                found: right
            }
        );
    }

    #[test]
    fn scripts_and_their_interpreters_are_checked() {
        let Some(tree) = Tree::new("script") else {
            return skipped();
        };
        let script = tree.file("s", "#!/bin/sh -e\nexit 0\n", 0o755);
        assert!(open(&script, None).unwrap().script);
        let relative = tree.file("r", "#! sh\n", 0o755);
        assert!(matches!(
            why(open(&relative, None)),
            Why::Interpreter { .. }
        ));
        // An interpreter in a directory others can write.
        let open_dir = tree.root.join("open");
        std::fs::create_dir(&open_dir).unwrap();
        std::fs::set_permissions(&open_dir, PermissionsExt::from_mode(0o777)).unwrap();
        let interpreter = open_dir.join("sh");
        std::fs::write(&interpreter, "x").unwrap();
        std::fs::set_permissions(&interpreter, PermissionsExt::from_mode(0o755)).unwrap();
        let script = tree.file("t", &format!("#!{}\n", interpreter.display()), 0o755);
        assert!(matches!(
            why(open(&script, None)),
            Why::Interpreter { ref path, .. } if *path == interpreter
        ));
    }

    #[test]
    fn digests_are_written_as_64_hex_digits() {
        assert!(parse_hex(&"0".repeat(64)).is_some());
        assert!(parse_hex(&"0".repeat(63)).is_none());
        assert!(parse_hex(&"g".repeat(64)).is_none());
        assert_eq!(hex(&parse_hex(&"aB".repeat(32)).unwrap()), "ab".repeat(32));
    }
}
