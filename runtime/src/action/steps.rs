//! The built-in file steps, each on descriptors: the directory that holds
//! the entry was opened beneath its scope by the resolver (`pin.rs`), and
//! every call here names one entry relative to it, never following a
//! symbolic link, or acts on a descriptor of the object itself.
#![forbid(unsafe_code)]

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::pin::resolution;
use crate::sys;

/// Why a step failed: one line for the caller and the audit record.
#[derive(Debug)]
pub enum StepError {
    Io(&'static str, io::Error),
    /// The object is not what the step may act on.
    Refused(String),
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StepError::Io(what, e) => write!(f, "{what}: {e}"),
            StepError::Refused(why) => f.write_str(why),
        }
    }
}

fn io(what: &'static str) -> impl FnOnce(io::Error) -> StepError {
    move |e| match e.raw_os_error() {
        Some(libc::ELOOP) => StepError::Refused(format!(
            "{what}: a symbolic link (steps follow none below the scope)"
        )),
        Some(libc::EXDEV) => StepError::Refused(format!("{what}: the path leaves its scope")),
        _ => StepError::Io(what, e),
    }
}

/// An entry: the directory that holds it (opened beneath the scope) and
/// its name there.
pub struct Place<'a> {
    pub dir: BorrowedFd<'a>,
    pub name: &'a OsStr,
}

/// Owner and mode for an object a step creates, resolved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NewAttrs {
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub mode: Option<u32>,
}

/// Mode of a created file or directory when the step names none: what
/// `tee` and `mkdir` give under the usual umask.
pub const DEFAULT_FILE_MODE: u32 = 0o644;
pub const DEFAULT_DIR_MODE: u32 = 0o755;

/// The object at `place`, opened with `O_PATH` and checked: a regular file
/// with one name, or a directory. A symbolic link, a FIFO, a socket, a
/// device, or a file with a second name (which may lie outside the scope)
/// is refused.
pub fn object(place: &Place<'_>) -> Result<(OwnedFd, std::fs::Metadata), StepError> {
    let fd = sys::open_beneath(place.dir, Path::new(place.name), libc::O_PATH, resolution())
        .map_err(io("cannot open it"))?;
    let meta = sys::metadata(fd.as_fd()).map_err(io("cannot read its status"))?;
    check_kind(&meta)?;
    Ok((fd, meta))
}

fn check_kind(meta: &std::fs::Metadata) -> Result<(), StepError> {
    let kind = meta.file_type();
    if kind.is_symlink() {
        return Err(StepError::Refused(
            "it is a symbolic link (steps follow none)".into(),
        ));
    }
    if !kind.is_file() && !kind.is_dir() {
        return Err(StepError::Refused(
            "it is not a regular file or a directory (a FIFO, socket or device)".into(),
        ));
    }
    if kind.is_file() && meta.nlink() > 1 {
        return Err(StepError::Refused(format!(
            "it is a file with {} hard links (another name may lie outside the scope)",
            meta.nlink()
        )));
    }
    Ok(())
}

/// The regular file at `place`, opened for I/O with `flags`: checked first
/// through an `O_PATH` descriptor, so that a FIFO or device is never
/// opened, and then the very same file (device and inode) opened.
fn regular(place: &Place<'_>, flags: i32) -> Result<(File, std::fs::Metadata), StepError> {
    let (_, meta) = object(place)?;
    if !meta.is_file() {
        return Err(StepError::Refused("it is not a regular file".into()));
    }
    let fd = sys::open_beneath(
        place.dir,
        Path::new(place.name),
        flags | libc::O_NONBLOCK | libc::O_NOCTTY,
        resolution(),
    )
    .map_err(io("cannot open it"))?;
    let file = File::from(fd);
    let now = file.metadata().map_err(io("cannot read its status"))?;
    if (now.dev(), now.ino()) != (meta.dev(), meta.ino()) {
        return Err(StepError::Refused(
            "it was replaced while it was being opened".into(),
        ));
    }
    Ok((file, now))
}

/// A name no one else uses, for a file or directory being built before it
/// is renamed into place.
fn temporary_name() -> OsString {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    OsString::from(format!(".rootwrap-{}-{n}.tmp", std::process::id()))
}

/// Owner first: a change of owner clears the setuid and setgid bits.
fn set_attrs(fd: BorrowedFd<'_>, attrs: NewAttrs, default_mode: u32) -> io::Result<()> {
    if attrs.uid.is_some() || attrs.gid.is_some() {
        sys::chown_fd(fd, attrs.uid, attrs.gid)?;
    }
    sys::chmod_fd(fd, attrs.mode.unwrap_or(default_mode))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// The name must not exist.
    No,
    /// Whatever has the name is replaced (a directory cannot be).
    Yes,
}

/// Writes `content` as the whole new file at `place`, atomically: a new
/// file in the same directory, its owner and mode set and its content
/// synced, then renamed over the name. On any failure (a full disk) the
/// new file is removed and the name is untouched.
pub fn write_new(
    place: &Place<'_>,
    content: &[u8],
    attrs: NewAttrs,
    replace: Replace,
) -> Result<(), StepError> {
    let mut attrs = attrs;
    if replace == Replace::Yes {
        // An existing file keeps its owner and mode unless the step names
        // them; its other names (if any) keep the old content.
        match object(place) {
            Ok((_, meta)) if meta.is_file() => {
                attrs.uid = attrs.uid.or(Some(meta.uid()));
                attrs.gid = attrs.gid.or(Some(meta.gid()));
                attrs.mode = attrs.mode.or(Some(meta.mode() & 0o7777));
            }
            Ok(_) => return Err(StepError::Refused("it is not a regular file".into())),
            Err(StepError::Io(_, e)) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let temp = temporary_name();
    let mut file = sys::create_at(place.dir, &temp, 0o600).map_err(io("cannot create it"))?;
    let built = (|| {
        set_attrs(file.as_fd(), attrs, DEFAULT_FILE_MODE)?;
        file.write_all(content)?;
        file.sync_all()
    })();
    let renamed = built.map_err(io("cannot write it")).and_then(|()| {
        sys::rename_at(
            place.dir,
            &temp,
            place.dir,
            place.name,
            replace == Replace::No,
        )
        .map_err(io("cannot put it in place"))
    });
    if renamed.is_err() {
        let _ = sys::unlink_at(place.dir, &temp, false);
    }
    renamed
}

/// Appends `content` to the regular file at `place`; on failure the file
/// is cut back to its length before.
pub fn append(place: &Place<'_>, content: &[u8]) -> Result<(), StepError> {
    let (mut file, meta) = regular(place, libc::O_WRONLY | libc::O_APPEND)?;
    let before = meta.len();
    let written = file.write_all(content).and_then(|()| file.sync_data());
    if let Err(e) = written {
        let _ = file.set_len(before);
        return Err(io("cannot write it")(e));
    }
    Ok(())
}

/// The content of the regular file at `place`, at most `max` bytes (a
/// larger file is refused, nothing read is returned).
pub fn read(place: &Place<'_>, max: u64) -> Result<Vec<u8>, StepError> {
    let (file, meta) = regular(place, libc::O_RDONLY)?;
    let too_large = || StepError::Refused(format!("it holds more than {max} bytes"));
    if meta.len() > max {
        return Err(too_large());
    }
    let mut content = Vec::with_capacity(meta.len() as usize);
    file.take(max + 1)
        .read_to_end(&mut content)
        .map_err(io("cannot read it"))?;
    if content.len() as u64 > max {
        return Err(too_large());
    }
    Ok(content)
}

/// Creates the directory at `place`, owner and mode set before it gets its
/// name (built under a temporary name, then renamed, never replacing).
/// With `existing_ok`, a directory already there is fine (`mkdir -p`).
pub fn mkdir(place: &Place<'_>, attrs: NewAttrs, existing_ok: bool) -> Result<(), StepError> {
    if existing_ok {
        match object(place) {
            Ok((_, meta)) if meta.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(StepError::Refused(
                    "it exists and is not a directory".into(),
                ))
            }
            Err(StepError::Io(_, e)) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    let temp = temporary_name();
    sys::mkdir_at(place.dir, &temp, 0o700).map_err(io("cannot create it"))?;
    let built = sys::open_beneath(
        place.dir,
        Path::new(&temp),
        libc::O_RDONLY | libc::O_DIRECTORY,
        resolution(),
    )
    .and_then(|fd| set_attrs(fd.as_fd(), attrs, DEFAULT_DIR_MODE))
    .map_err(io("cannot set its owner or mode"))
    .and_then(|()| {
        sys::rename_at(place.dir, &temp, place.dir, place.name, true)
            .map_err(io("cannot put it in place"))
    });
    if built.is_err() {
        let _ = sys::unlink_at(place.dir, &temp, true);
    }
    built
}

pub fn chmod(place: &Place<'_>, mode: u32) -> Result<(), StepError> {
    let (fd, _) = object(place)?;
    sys::chmod_fd(fd.as_fd(), mode).map_err(io("cannot change its mode"))
}

pub fn chown(place: &Place<'_>, uid: Option<u32>, gid: Option<u32>) -> Result<(), StepError> {
    let (fd, _) = object(place)?;
    sys::chown_fd(fd.as_fd(), uid, gid).map_err(io("cannot change its owner"))
}

pub fn symlink(place: &Place<'_>, to: &OsStr) -> Result<(), StepError> {
    sys::symlink_at(to, place.dir, place.name).map_err(io("cannot create the link"))
}

/// Removes the entry (a symbolic link itself, never what it points to).
pub fn unlink(place: &Place<'_>) -> Result<(), StepError> {
    sys::unlink_at(place.dir, place.name, false).map_err(io("cannot remove it"))
}

pub fn rmdir(place: &Place<'_>) -> Result<(), StepError> {
    sys::unlink_at(place.dir, place.name, true).map_err(io("cannot remove it"))
}

/// Never over an existing name.
pub fn rename(from: &Place<'_>, to: &Place<'_>) -> Result<(), StepError> {
    sys::rename_at(from.dir, from.name, to.dir, to.name, true).map_err(io("cannot rename it"))
}

/// The directory `name` below `dir`, opened (no symbolic link), created
/// first when `create` says how.
pub fn subdir(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    create: Option<NewAttrs>,
) -> Result<OwnedFd, StepError> {
    if let Some(attrs) = create {
        mkdir(&Place { dir, name }, attrs, true)?;
    }
    sys::open_beneath(
        dir,
        Path::new(name),
        libc::O_PATH | libc::O_DIRECTORY,
        resolution(),
    )
    .map_err(io("cannot open a directory on the way"))
}

/// Writes `value` to the /proc/sys file of `key` (`net.ipv4.ip_forward`;
/// a `/` in a name stands for a `.`, as for sysctl(8)), in one write.
pub fn sysctl(key: &[u8], value: &[u8]) -> Result<(), StepError> {
    let refused = || {
        StepError::Refused(format!(
            "`{}` is not a sysctl key",
            crate::audit::escape(key)
        ))
    };
    let mut relative = Vec::with_capacity(key.len());
    for (i, name) in key.split(|&b| b == b'.').enumerate() {
        let name: Vec<u8> = name
            .iter()
            .map(|&b| if b == b'/' { b'.' } else { b })
            .collect();
        if name.is_empty() || name == b"." || name == b".." || name.contains(&0) {
            return Err(refused());
        }
        if i > 0 {
            relative.push(b'/');
        }
        relative.extend_from_slice(&name);
    }
    let base = sys::open_dir_nofollow(Path::new("/proc/sys"), resolution())
        .map_err(io("cannot open /proc/sys"))?;
    let fd = sys::open_beneath(
        base.as_fd(),
        Path::new(OsStr::from_bytes(&relative)),
        libc::O_WRONLY,
        resolution(),
    )
    .map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => refused(),
        _ => io("cannot open it")(e),
    })?;
    let mut file = File::from(fd);
    if !file
        .metadata()
        .map_err(io("cannot read its status"))?
        .is_file()
    {
        return Err(refused());
    }
    file.write_all(value).map_err(io("cannot write it"))
}

/// A mode as written (`0640`), refused otherwise.
pub fn parse_mode(text: &[u8]) -> Result<u32, StepError> {
    crate::values::mode(text).ok_or_else(|| {
        StepError::Refused(format!(
            "`{}` is not an octal mode",
            crate::audit::escape(text)
        ))
    })
}

/// `USER`, `USER:GROUP` or `:GROUP`, each looked up on this host.
pub fn parse_owner(text: &[u8]) -> Result<(Option<u32>, Option<u32>), StepError> {
    let shown = || crate::audit::escape(text);
    if !crate::values::is_owner(text) {
        return Err(StepError::Refused(format!("`{}` is not an owner", shown())));
    }
    let text = String::from_utf8_lossy(text);
    let (user, group) = match text.split_once(':') {
        Some((user, group)) => (user, group),
        None => (&*text, ""),
    };
    // Root's ids are 0 on every Linux system: no user-database lookup (a
    // dozen system calls, files read) for the most common owner.
    let uid = match user {
        "" => None,
        "root" => Some(0),
        user => Some(
            sys::lookup_user(user)
                .map_err(io("cannot look the user up"))?
                .ok_or_else(|| StepError::Refused(format!("user `{user}` does not exist")))?
                .uid,
        ),
    };
    let gid = match group {
        "" => None,
        "root" => Some(0),
        group => Some(
            sys::lookup_group(group)
                .map_err(io("cannot look the group up"))?
                .ok_or_else(|| StepError::Refused(format!("group `{group}` does not exist")))?,
        ),
    };
    Ok((uid, gid))
}

/// The mode bits of a created object, for tests and explanations.
pub fn mode_of(meta: &std::fs::Metadata) -> u32 {
    meta.permissions().mode() & 0o7777
}
