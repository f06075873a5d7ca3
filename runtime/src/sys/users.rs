//! Accounts and identities: the user database (NSS), becoming a user,
//! the process's ids, the host's name.

use super::*;

/// A user account as the system's user database (NSS) knows it.
#[derive(Debug, Clone)]
pub struct Account {
    pub name: CString,
    pub uid: u32,
    pub gid: u32,
}

/// A user database entry as the `getpw*_r` calls return it, with the
/// buffer its strings point into.
pub(super) struct PasswdEntry {
    entry: libc::passwd,
    _buffer: Vec<u8>,
}

/// Calls a reentrant `getpw*_r` function, growing its buffer on ERANGE.
/// `Ok(None)` when there is no such user.
pub(super) fn passwd_lookup(
    call: impl Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int,
) -> io::Result<Option<PasswdEntry>> {
    let mut buffer = vec![0u8; 4096];
    loop {
        // SAFETY: `passwd` is plain data; an all-zero value is valid.
        let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(
            &mut entry,
            buffer.as_mut_ptr().cast(),
            buffer.len(),
            &mut result,
        );
        if rc == libc::ERANGE && buffer.len() < (1 << 20) {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        if result.is_null() {
            return Ok(None);
        }
        return Ok(Some(PasswdEntry {
            entry,
            _buffer: buffer,
        }));
    }
}

/// Looks a user up by name with `getpwnam_r`; `Ok(None)` when unknown.
pub fn lookup_user(name: &str) -> io::Result<Option<Account>> {
    let cname = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: every pointer is valid for the call and the length is the
    // buffer's true size; the strings it fills in point into that buffer.
    let found = passwd_lookup(|entry, buf, len, result| unsafe {
        libc::getpwnam_r(cname.as_ptr(), entry, buf, len, result)
    })?;
    Ok(found.map(|found| Account {
        name: cname.clone(),
        uid: found.entry.pw_uid,
        gid: found.entry.pw_gid,
    }))
}

/// Becomes `account` for good: its supplementary groups (`initgroups`), its
/// gid and its uid (real, effective and saved), then checks that it took and,
/// for a non-root account, that root cannot be regained.
pub fn become_user(account: &Account) -> io::Result<()> {
    let (uid, gid) = (account.uid, account.gid);
    // SAFETY: plain syscalls on integer arguments and a valid C string.
    unsafe {
        if libc::initgroups(account.name.as_ptr(), gid) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setresgid(gid, gid, gid) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setresuid(uid, uid, uid) != 0 {
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

/// Becomes root for good: supplementary groups exactly `[0]`, gid and uid
/// 0 (real, effective and saved), checked.
pub fn become_root() -> io::Result<()> {
    let groups: [libc::gid_t; 1] = [0];
    // SAFETY: plain syscalls; the group list is a valid array of its length.
    unsafe {
        if libc::setgroups(1, groups.as_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::setresgid(0, 0, 0) != 0 || libc::setresuid(0, 0, 0) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    check_ids(0, 0)
}

/// Checks that real, effective and saved uid and gid are `uid` and `gid`.
pub(super) fn check_ids(uid: u32, gid: u32) -> io::Result<()> {
    let (mut ruid, mut euid, mut suid) = (0, 0, 0);
    let (mut rgid, mut egid, mut sgid) = (0, 0, 0);
    // SAFETY: the out-pointers are valid locals.
    let read = unsafe {
        libc::getresuid(&mut ruid, &mut euid, &mut suid) == 0
            && libc::getresgid(&mut rgid, &mut egid, &mut sgid) == 0
    };
    if !read || [ruid, euid, suid] != [uid; 3] || [rgid, egid, sgid] != [gid; 3] {
        return Err(io::Error::other(
            "the uid or gid did not change as requested",
        ));
    }
    Ok(())
}

/// The effective uid of this process.
pub fn effective_uid() -> u32 {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() }
}

/// The real gid of this process.
pub fn real_gid() -> u32 {
    // SAFETY: getgid cannot fail.
    unsafe { libc::getgid() }
}

/// The real uid of this process.
pub fn real_uid() -> u32 {
    // SAFETY: getuid cannot fail.
    unsafe { libc::getuid() }
}

/// This host's name (`gethostname`).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; the result is
    // NUL-terminated within it when the call succeeds (checked below).
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return String::new();
    }
    let name = buf.split(|&b| b == 0).next().unwrap_or_default();
    String::from_utf8_lossy(name).into_owned()
}

/// The name of user `uid` (`getpwuid_r`), when it has one.
pub fn user_name(uid: u32) -> Option<String> {
    // SAFETY: as in `lookup_user`.
    let found = passwd_lookup(|entry, buf, len, result| unsafe {
        libc::getpwuid_r(uid, entry, buf, len, result)
    })
    .ok()??;
    if found.entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points to a NUL-terminated string inside the entry's
    // buffer, which `found` keeps alive.
    let name = unsafe { std::ffi::CStr::from_ptr(found.entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// A group's id by name (`None`: no such group).
pub fn lookup_group(name: &str) -> io::Result<Option<u32>> {
    let name = CString::new(name).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut buffer = vec![0u8; 1024];
    loop {
        // SAFETY: plain data; all-zero is valid.
        let mut entry: libc::group = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: valid pointers to the entry, the buffer of the given
        // length and the result.
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                &mut entry,
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buffer.len() < 1 << 20 {
            buffer.resize(buffer.len() * 2, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        return Ok((!result.is_null()).then_some(entry.gr_gid));
    }
}

/// The supplementary groups of `user` as `initgroups` would set them
/// (`getgrouplist`, with the primary group), looked up before a child is started.
pub fn group_list(user: &Account) -> io::Result<Vec<libc::gid_t>> {
    let mut groups: Vec<libc::gid_t> = vec![0; 64];
    loop {
        let mut count = libc::c_int::try_from(groups.len()).unwrap_or(libc::c_int::MAX);
        // SAFETY: the buffer holds `count` gids; the call writes at most
        // that many and sets `count` to the true number.
        let rc = unsafe {
            libc::getgrouplist(
                user.name.as_ptr(),
                user.gid,
                groups.as_mut_ptr(),
                &mut count,
            )
        };
        let count = usize::try_from(count).unwrap_or(0);
        if rc >= 0 {
            groups.truncate(count);
            return Ok(groups);
        }
        if count <= groups.len() || count > 1 << 16 {
            return Err(io::Error::other("cannot list the user's groups"));
        }
        groups.resize(count, 0);
    }
}
