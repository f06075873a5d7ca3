//! Whether anyone but root (or one user a rule names) can change a file
//! or directory: by owning it, or through the group's or others' write
//! permission. One rule for rulesets, audit logs, executables and their
//! directories, the directories above an unpinned path, trusted symbolic
//! links, `<pid>` targets and the daemon's run directory: whoever can
//! change such an object can change what root reads, runs or records.
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

/// The group's and others' write bits.
const WRITABLE_BY_OTHERS: u32 = 0o022;

/// Why an object is not safe from other users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Owned by this uid, which is neither root nor the one allowed.
    Owner(u32),
    /// The group or others may write it: its permission bits.
    Writable(u32),
}

/// An owner other than root and `also`.
pub fn foreign_owner(meta: &Metadata, also: Option<u32>) -> Option<Exposure> {
    let uid = meta.uid();
    (uid != 0 && Some(uid) != also).then_some(Exposure::Owner(uid))
}

/// Write permission for the group or others.
pub fn writable_by_others(meta: &Metadata) -> Option<Exposure> {
    (meta.mode() & WRITABLE_BY_OTHERS != 0).then_some(Exposure::Writable(meta.mode() & 0o7777))
}

/// The first of the two: the owner, then the permission.
pub fn exposure(meta: &Metadata, also: Option<u32>) -> Option<Exposure> {
    foreign_owner(meta, also).or_else(|| writable_by_others(meta))
}

impl fmt::Display for Exposure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Exposure::Owner(uid) => write!(f, "is owned by uid {uid}"),
            Exposure::Writable(mode) => {
                write!(f, "is writable by group or others (mode {mode:04o})")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn the_owner_comes_first_then_the_group_and_others_write_bits() {
        let dir = std::env::temp_dir().join(format!("rw-owner-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("f");
        std::fs::write(&file, "").unwrap();
        let meta = |mode: u32| {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            std::fs::metadata(&file).unwrap()
        };
        let uid = meta(0o644).uid();
        let also = (uid != 0).then_some(uid);
        assert_eq!(exposure(&meta(0o644), also), None);
        assert_eq!(exposure(&meta(0o604), also), None);
        assert_eq!(
            exposure(&meta(0o664), also),
            Some(Exposure::Writable(0o664))
        );
        assert_eq!(
            exposure(&meta(0o646), also),
            Some(Exposure::Writable(0o646))
        );
        assert_eq!(
            exposure(&meta(0o646), Some(uid.wrapping_add(1))),
            if uid == 0 {
                Some(Exposure::Writable(0o646))
            } else {
                Some(Exposure::Owner(uid))
            }
        );
        assert_eq!(
            Exposure::Writable(0o2775).to_string(),
            "is writable by group or others (mode 2775)"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
