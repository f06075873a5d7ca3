//! rootwrap's own syslog client, instead of the C library's `syslog(3)`:
//! one RFC 3164 datagram per record to `/dev/log`, whose header nothing of
//! the caller's shapes, and whose delivery is checked (`syslog(3)` reports
//! no error at all).
//!
//! The datagram is `<PRI>Mmm dd hh:mm:ss rootwrap[PID]: MESSAGE`, as
//! journald and rsyslog expect on `/dev/log`: the time is the host's local
//! time (its own zone, never the caller's `TZ`, see `run::main_with`), the
//! pid is this process's.
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Where the system logger listens.
pub const SOCKET: &str = "/dev/log";

/// How long a send may wait for room in the logger's queue before the
/// record counts as not written: a logger that stopped reading must not
/// hang every root call for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A connection to the system logger, made while still root (a target
/// user may not be allowed to connect later).
#[derive(Debug)]
pub struct Syslog {
    socket: UnixDatagram,
}

impl Syslog {
    /// Connects to `/dev/log`: fails when nothing listens there.
    pub fn connect() -> io::Result<Syslog> {
        let socket = UnixDatagram::unbound()?;
        socket.connect(SOCKET)?;
        socket.set_write_timeout(Some(SEND_TIMEOUT))?;
        Ok(Syslog { socket })
    }

    /// Sends one record at `priority` (facility * 8 + level), stamped
    /// `secs` (since the epoch). `Ok` means the logger's socket queued the
    /// whole datagram; a logger that restarted since `connect` is
    /// reconnected to once, as `syslog(3)` does.
    pub fn send(&mut self, priority: i32, secs: i64, message: &str) -> io::Result<()> {
        let mut datagram = header(priority, secs, std::process::id());
        datagram.push_str(message);
        let bytes = datagram.as_bytes();
        let sent = match self.socket.send(bytes) {
            Err(e) if matches!(e.raw_os_error(), Some(libc::ECONNREFUSED | libc::ENOTCONN)) => {
                *self = Syslog::connect()?;
                self.socket.send(bytes)?
            }
            other => other?,
        };
        if sent != bytes.len() {
            return Err(io::Error::other("the datagram was cut"));
        }
        Ok(())
    }
}

/// `<PRI>Mmm dd hh:mm:ss rootwrap[PID]: ` (the day padded with a space, as
/// RFC 3164 has it); without the time if it cannot be converted (the
/// logger then stamps the record itself).
pub fn header(priority: i32, secs: i64, pid: u32) -> String {
    let mut out = format!("<{priority}>");
    if let Some((month, day, hour, minute, second)) = crate::sys::local_time(secs) {
        if let Some(name) = (month as usize).checked_sub(1).and_then(|m| MONTHS.get(m)) {
            let _ = write!(out, "{name} {day:>2} {hour:02}:{minute:02}:{second:02} ");
        }
    }
    let _ = write!(out, "rootwrap[{pid}]: ");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_rfc_3164() {
        // The test process's zone may be anything: only the shape is fixed.
        let header = header(86, 1_795_710_277, 42);
        let (pri, rest) = header.split_at(4);
        assert_eq!(pri, "<86>");
        assert!(MONTHS.contains(&&rest[..3]), "{header}");
        let time = &rest[4..15];
        assert!(
            time.chars().enumerate().all(|(i, c)| match i {
                0 => c == ' ' || c.is_ascii_digit(),
                2 | 5 | 8 => c == if i == 2 { ' ' } else { ':' },
                _ => c.is_ascii_digit(),
            }),
            "{header}"
        );
        assert_eq!(&rest[15..], " rootwrap[42]: ");
    }
}
