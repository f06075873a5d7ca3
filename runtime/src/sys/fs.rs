//! Files by descriptor: opening beneath a directory without following
//! links, the `*at` calls of native actions, locks.

use super::*;

/// Holds an exclusive `flock(2)` on `file` while `write` runs: records of
/// concurrent calls then never see each other half-written.
pub fn with_file_lock<T>(
    file: &std::fs::File,
    write: impl FnOnce() -> io::Result<T>,
) -> io::Result<T> {
    use std::os::unix::io::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: plain syscalls on a descriptor `file` keeps open.
    if unsafe { libc::flock(fd, libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let result = write();
    // SAFETY: as above; closing the file would release it too.
    unsafe { libc::flock(fd, libc::LOCK_UN) };
    result
}

/// How [`open_beneath`] resolves a path below a directory descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// `openat2(2)` with `RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
    /// RESOLVE_NO_MAGICLINKS` (Linux 5.6+): the kernel refuses `..`
    /// escapes and every symbolic link on the way.
    Openat2,
    /// One `openat(2)` with `O_NOFOLLOW` per component, each result checked
    /// with `fstat`, for kernels without `openat2`.
    Walk,
}

/// Opens `relative` below the directory `dir` without following a symbolic
/// link anywhere on the way (a trailing one is opened as the link itself
/// with `O_PATH`) and without leaving `dir`. `flags` are `open(2)` flags;
/// `O_CLOEXEC` and `O_NOFOLLOW` are always added. An empty `relative`
/// reopens `dir` itself.
pub fn open_beneath(
    dir: std::os::fd::BorrowedFd<'_>,
    relative: &std::path::Path,
    flags: i32,
    how: Resolution,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let flags = flags | libc::O_CLOEXEC | libc::O_NOFOLLOW;
    match how {
        Resolution::Openat2 => {
            let bytes = relative.as_os_str().as_bytes();
            let path = CString::new(if bytes.is_empty() { b"." } else { bytes })
                .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
            openat2(dir, &path, flags)
        }
        Resolution::Walk => {
            use std::os::fd::AsFd;
            let components: Vec<&[u8]> = bytes_components(relative.as_os_str().as_bytes());
            let Some((last, parents)) = components.split_last() else {
                return openat(dir, c".", flags);
            };
            let mut current: Option<std::os::fd::OwnedFd> = None;
            for component in parents {
                let at = current.as_ref().map_or(dir, |fd| fd.as_fd());
                let name = component_cstring(component)?;
                let next = openat(
                    at,
                    &name,
                    libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW,
                )?;
                current = Some(next);
            }
            let at = current.as_ref().map_or(dir, |fd| fd.as_fd());
            openat(at, &component_cstring(last)?, flags)
        }
    }
}

/// The names of `path`, which must be relative and free of `.` and `..`
/// (checked by the caller's canonical form; refused here all the same).
pub(super) fn bytes_components(path: &[u8]) -> Vec<&[u8]> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty())
        .collect()
}

pub(super) fn component_cstring(component: &[u8]) -> io::Result<CString> {
    if component == b"." || component == b".." {
        // The walk must not leave the directory it started from.
        return Err(io::Error::from_raw_os_error(libc::EXDEV));
    }
    CString::new(component).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

pub(super) fn openat2(
    dir: std::os::fd::BorrowedFd<'_>,
    path: &std::ffi::CStr,
    flags: i32,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: `open_how` is plain data; all-zero is valid and the fields
    // the kernel reads are set below.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = flags as u64;
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
    // SAFETY: the path is a valid C string, `how` a valid struct of the
    // size passed; the kernel returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just returned, owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
}

pub(super) fn openat(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::CStr,
    flags: i32,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: a valid C string and descriptor; returns a new descriptor or -1.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just returned, owned by nobody else.
    Ok(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}

/// Opens an absolute path that must hold no symbolic link at all, with
/// `O_PATH | O_DIRECTORY`: the base of a path scope (already resolved
/// through root's own links only).
pub fn open_dir_nofollow(
    path: &std::path::Path,
    how: Resolution,
) -> io::Result<std::os::fd::OwnedFd> {
    open_absolute_nofollow(path, libc::O_PATH | libc::O_DIRECTORY, how)
}

/// Opens an absolute path, beneath `/`, following no symbolic link on the
/// way (see [`open_beneath`]).
pub fn open_absolute_nofollow(
    path: &std::path::Path,
    flags: i32,
    how: Resolution,
) -> io::Result<std::os::fd::OwnedFd> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let relative = std::path::Path::new(std::ffi::OsStr::from_bytes(
        bytes.strip_prefix(b"/").unwrap_or(bytes),
    ));
    open_beneath(root_dir()?, relative, flags, how)
}

/// The status of the object `fd` refers to, without duplicating the
/// descriptor to make a `File` of it (a `dup` and a `close` per check).
pub fn metadata(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<std::fs::Metadata> {
    use std::os::fd::{AsRawFd, FromRawFd};
    // SAFETY: the `File` only borrows `fd` for this call: `ManuallyDrop`
    // never closes it, and it does not outlive the borrow.
    let file = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(fd.as_raw_fd()) });
    file.metadata()
}

/// Whether `name` in the directory `dir` is a symbolic link (not
/// followed); `ENOENT` when the directory holds no such name.
pub fn is_symlink_at(dir: std::os::fd::BorrowedFd<'_>, name: &std::ffi::OsStr) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let name =
        CString::new(name.as_bytes()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `stat` is plain data, all-zero valid; the kernel fills it.
    let mut status: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: a valid descriptor, C string and `stat` to write to.
    let found = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut status,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if found != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(status.st_mode & libc::S_IFMT == libc::S_IFLNK)
}

/// `/`, opened once per process (`O_PATH`, close-on-exec): every path a
/// call checks is resolved beneath it, and reopening it per path was a
/// system call (and a close) each time, in the daemon per request.
fn root_dir() -> io::Result<std::os::fd::BorrowedFd<'static>> {
    use std::os::fd::{AsFd, OwnedFd};
    use std::os::unix::fs::OpenOptionsExt;
    use std::sync::OnceLock;
    static ROOT: OnceLock<OwnedFd> = OnceLock::new();
    if let Some(root) = ROOT.get() {
        return Ok(root.as_fd());
    }
    let opened: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open("/")?
        .into();
    // A thread that lost the race drops its own descriptor.
    Ok(ROOT.get_or_init(|| opened).as_fd())
}

/// Whether this process, with its credentials now, reaches `path` (no
/// symbolic link at its end) and finds there the object `(dev, ino)`. A
/// pin is opened by root: a command or steps run as another user must not
/// get through it to what that user could not reach itself. Only system
/// calls, nothing allocated: safe in the daemon's cloned child.
pub fn reaches(path: &std::ffi::CStr, object: (u64, u64)) -> io::Result<()> {
    // SAFETY: a NUL-terminated path; a local stat buffer; the descriptor
    // opened here is closed here.
    unsafe {
        let fd = libc::open(
            path.as_ptr(),
            libc::O_PATH | libc::O_CLOEXEC | libc::O_NOFOLLOW,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let mut stat: libc::stat = std::mem::zeroed();
        let statted = libc::fstat(fd, &mut stat);
        let error = io::Error::last_os_error();
        libc::close(fd);
        if statted != 0 {
            return Err(error);
        }
        if (stat.st_dev, stat.st_ino) != object {
            return Err(io::Error::from_raw_os_error(libc::ESTALE));
        }
    }
    Ok(())
}

/// Clears close-on-exec on `fd`: a pinned path's descriptor must reach the
/// command (`/proc/self/fd/N`), while every other one is closed at exec.
pub fn keep_across_exec(fd: std::os::fd::BorrowedFd<'_>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: F_SETFD on a descriptor the caller owns; only its flag changes.
    if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

// Native actions (`action/`): each step is one call on a descriptor the
// resolver opened, or on a single name relative to one.

/// One directory entry's name as a C string: never `.`, `..`, empty or
/// holding a `/` (the caller resolved everything else through descriptors).
pub(super) fn entry_name(name: &std::ffi::OsStr) -> io::Result<CString> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes == b"." || bytes == b".." || bytes.contains(&b'/') {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    CString::new(bytes).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))
}

pub(super) fn check(rc: libc::c_int) -> io::Result<()> {
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `mkdirat(2)`: a new directory `name` in `dir`.
pub fn mkdir_at(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    mode: u32,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let name = entry_name(name)?;
    // SAFETY: a valid descriptor and C string.
    check(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode) })
}

/// `unlinkat(2)`: removes the entry `name` of `dir` (a directory with
/// `directory`), never following a symbolic link.
pub fn unlink_at(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    directory: bool,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let name = entry_name(name)?;
    let flags = if directory { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: a valid descriptor and C string.
    check(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) })
}

/// `renameat2(2)`; with `no_replace`, fails if `to` exists.
pub fn rename_at(
    from_dir: std::os::fd::BorrowedFd<'_>,
    from: &std::ffi::OsStr,
    to_dir: std::os::fd::BorrowedFd<'_>,
    to: &std::ffi::OsStr,
    no_replace: bool,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let (from, to) = (entry_name(from)?, entry_name(to)?);
    let flags = if no_replace {
        libc::RENAME_NOREPLACE
    } else {
        0
    };
    // SAFETY: valid descriptors and C strings.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            flags,
        )
    };
    check(rc as libc::c_int)
}

/// `symlinkat(2)`: a symbolic link `name` in `dir` holding `target`.
pub fn symlink_at(
    target: &std::ffi::OsStr,
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::OsStr,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    use std::os::unix::ffi::OsStrExt;
    let name = entry_name(name)?;
    let target = CString::new(target.as_bytes())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid descriptor and C strings.
    check(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) })
}

/// Creates the new file `name` in `dir` for writing, failing if any entry
/// (a symbolic link included) has that name.
pub fn create_at(
    dir: std::os::fd::BorrowedFd<'_>,
    name: &std::ffi::OsStr,
    mode: u32,
) -> io::Result<std::fs::File> {
    let name = entry_name(name)?;
    use std::os::fd::{AsRawFd, FromRawFd};
    let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: a valid descriptor and C string; returns a new descriptor or -1.
    let fd = unsafe { libc::openat(dir.as_raw_fd(), name.as_ptr(), flags, mode) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a descriptor the kernel just returned, owned by nobody else.
    Ok(std::fs::File::from(unsafe {
        std::os::fd::OwnedFd::from_raw_fd(fd)
    }))
}

/// `fchownat(fd, "", AT_EMPTY_PATH)`: the object `fd` names (an `O_PATH`
/// descriptor too); `None` leaves that id as it is.
pub fn chown_fd(
    fd: std::os::fd::BorrowedFd<'_>,
    uid: Option<u32>,
    gid: Option<u32>,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor and an empty C string.
    check(unsafe {
        libc::fchownat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            uid.unwrap_or(u32::MAX),
            gid.unwrap_or(u32::MAX),
            libc::AT_EMPTY_PATH,
        )
    })
}

/// The mode of the object `fd` names (an `O_PATH` descriptor too):
/// `fchmodat2(fd, "", AT_EMPTY_PATH)` (Linux 6.6+), else `chmod` of
/// `/proc/self/fd/N`, which reaches that very inode whatever its names
/// (callers refuse symbolic links first).
pub fn chmod_fd(fd: std::os::fd::BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid descriptor and an empty C string.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            fd.as_raw_fd(),
            c"".as_ptr(),
            mode,
            libc::AT_EMPTY_PATH,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let error = io::Error::last_os_error();
    // Only a kernel without the call falls back: fchmodat2 refuses a
    // symbolic link (EOPNOTSUPP), which chmod through /proc would follow.
    if error.raw_os_error() != Some(libc::ENOSYS) {
        return Err(error);
    }
    let path = CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid C string.
    check(unsafe { libc::chmod(path.as_ptr(), mode) })
}

/// Tries to take an exclusive `flock(2)` without waiting: `Ok(false)` when
/// another open file description holds it.
pub fn try_lock(file: &std::fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on a descriptor `file` keeps open.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.kind() == io::ErrorKind::WouldBlock {
        return Ok(false);
    }
    Err(error)
}

/// Takes an exclusive `flock(2)`, waiting for it; released when `file`
/// closes.
pub fn lock(file: &std::fs::File) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    // SAFETY: as above.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
