//! Recognizers for typed argument values. Each is strict: one canonical
//! spelling where tools would disagree (no leading zeros in numbers or IPv4
//! octets, which some tools read as octal).
#![forbid(unsafe_code)]

use std::net::{Ipv4Addr, Ipv6Addr};

/// A decimal integer: `-?(0|[1-9][0-9]*)`.
pub fn int(s: &[u8]) -> Option<i64> {
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    let canonical = match digits {
        [] => false,
        [b'0'] => s.len() == 1,
        [first, ..] => *first != b'0' && digits.iter().all(u8::is_ascii_digit),
    };
    if !canonical {
        return None;
    }
    std::str::from_utf8(s).ok()?.parse().ok()
}

/// An octal file mode of 3 or 4 digits.
pub fn mode(s: &[u8]) -> Option<u32> {
    if !(3..=4).contains(&s.len()) || !s.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    Some(s.iter().fold(0, |m, b| m * 8 + u32::from(b - b'0')))
}

/// Signal names and numbers as Linux defines them.
pub const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// A signal as a number (`9`), a name (`KILL`) or a SIG-name (`SIGKILL`).
pub fn signal(s: &[u8]) -> Option<i32> {
    if let Some(n) = int(s) {
        return SIGNALS
            .iter()
            .find(|(_, v)| i64::from(*v) == n)
            .map(|(_, v)| *v);
    }
    let name = s.strip_prefix(b"SIG").unwrap_or(s);
    SIGNALS
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|(_, v)| *v)
}

fn is_hex(s: &[u8]) -> bool {
    s.iter().all(u8::is_ascii_hexdigit)
}

/// `8-4-4-4-12` hex digits, either case.
pub fn is_uuid(s: &[u8]) -> bool {
    let groups: Vec<&[u8]> = s.split(|&b| b == b'-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && is_hex(g))
}

pub fn is_ipv4(s: &[u8]) -> bool {
    std::str::from_utf8(s).is_ok_and(|t| t.parse::<Ipv4Addr>().is_ok())
}

pub fn is_ipv6(s: &[u8]) -> bool {
    std::str::from_utf8(s).is_ok_and(|t| t.parse::<Ipv6Addr>().is_ok())
}

/// `address/prefix-length`, the length within the address family's width.
pub fn is_cidr(s: &[u8]) -> bool {
    let mut parts = s.splitn(2, |&b| b == b'/');
    let (Some(addr), Some(len)) = (parts.next(), parts.next()) else {
        return false;
    };
    let max = if is_ipv4(addr) {
        32
    } else if is_ipv6(addr) {
        128
    } else {
        return false;
    };
    int(len).is_some_and(|n| (0..=max).contains(&n))
}

/// Six pairs of hex digits separated by `:`.
pub fn is_mac(s: &[u8]) -> bool {
    let groups: Vec<&[u8]> = s.split(|&b| b == b':').collect();
    groups.len() == 6 && groups.iter().all(|g| g.len() == 2 && is_hex(g))
}

/// What the Linux kernel accepts as an interface name (`dev_valid_name`),
/// further limited to printable ASCII and no leading `-`.
pub fn is_ifname(s: &[u8]) -> bool {
    (1..16).contains(&s.len())
        && s != b"."
        && s != b".."
        && s.first() != Some(&b'-')
        && s.iter()
            .all(|&b| b.is_ascii_graphic() && b != b'/' && b != b':')
}

/// A portable user or group name: letters, digits, `_`, `.`, `-`, not
/// starting with `-`, at most 32 bytes, optionally ending in `$`.
pub fn is_account_name(s: &[u8]) -> bool {
    let body = s.strip_suffix(b"$").unwrap_or(s);
    (1..=32).contains(&s.len())
        && body.first().is_some_and(|&b| b != b'-')
        && body
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// chown's OWNER: `user`, `user:`, `user:group` or `:group`.
pub fn is_owner(s: &[u8]) -> bool {
    let mut parts = s.splitn(2, |&b| b == b':');
    match (parts.next(), parts.next()) {
        (Some(user), Some(group)) => {
            (user.is_empty() || is_account_name(user))
                && (group.is_empty() || is_account_name(group))
                && !(user.is_empty() && group.is_empty())
        }
        // No `:`.
        _ => is_account_name(s),
    }
}

/// A network namespace name (a file name under /run/netns): printable
/// ASCII without `/`, not `.` or `..`, not starting with `-`, 1 to 255 bytes.
pub fn is_netns(s: &[u8]) -> bool {
    (1..=255).contains(&s.len())
        && s != b"."
        && s != b".."
        && s.first() != Some(&b'-')
        && s.iter().all(|&b| b.is_ascii_graphic() && b != b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_canonical_decimal() {
        assert_eq!(int(b"0"), Some(0));
        assert_eq!(int(b"-12"), Some(-12));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"012",
            b"+1",
            b" 1",
            b"1_0",
            b"1a",
            b"99999999999999999999",
        ] {
            assert_eq!(int(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn modes_and_signals() {
        assert_eq!(mode(b"644"), Some(0o644));
        assert_eq!(mode(b"4755"), Some(0o4755));
        assert_eq!(mode(b"64"), None);
        assert_eq!(mode(b"0648"), None);
        assert_eq!(signal(b"9"), Some(9));
        assert_eq!(signal(b"KILL"), Some(9));
        assert_eq!(signal(b"SIGHUP"), Some(1));
        assert_eq!(signal(b"-9"), None);
        assert_eq!(signal(b"kill"), None);
        assert_eq!(signal(b"0"), None);
    }

    #[test]
    fn network_values() {
        assert!(is_ipv4(b"10.0.0.1"));
        assert!(!is_ipv4(b"010.0.0.1"));
        assert!(is_ipv6(b"fe80::1"));
        assert!(is_cidr(b"10.0.0.0/8"));
        assert!(is_cidr(b"2001:db8::/32"));
        assert!(!is_cidr(b"10.0.0.0/33"));
        assert!(!is_cidr(b"10.0.0.0/08"));
        assert!(is_mac(b"fa:16:3e:00:aa:BB"));
        assert!(!is_mac(b"fa:16:3e:00:aa"));
        assert!(is_ifname(b"tap1234abcd-12"));
        assert!(!is_ifname(b"averylonginterface0"));
        assert!(!is_ifname(b"a/b"));
        assert!(!is_ifname(b"-x"));
        assert!(is_uuid(b"123e4567-e89b-12d3-a456-426614174000"));
        assert!(!is_uuid(b"123e4567e89b12d3a456426614174000"));
        assert!(is_account_name(b"nova"));
        assert!(is_account_name(b"host$"));
        assert!(!is_account_name(b"-rf"));
        assert!(!is_account_name(b"a b"));
        assert!(
            is_owner(b"nova") && is_owner(b"nova:") && is_owner(b"nova:kvm") && is_owner(b":kvm")
        );
        assert!(!is_owner(b":") && !is_owner(b"-R") && !is_owner(b"a:b:c"));
        assert!(is_netns(b"qrouter-0c5f7a2e-1b7e-4a43-9e1c-2d2b8f5a9d11"));
        assert!(!is_netns(b"../x") && !is_netns(b"-n") && !is_netns(b".."));
    }
}
