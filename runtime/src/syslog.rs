//! rootwrap's own syslog client, instead of the C library's `syslog(3)`:
//! one RFC 3164 datagram per record to `/dev/log`, whose header nothing of
//! the caller's shapes, and whose delivery is checked (`syslog(3)` reports
//! no error at all).
//!
//! The datagram is `<PRI>rootwrap[PID]: MESSAGE`, which journald and
//! rsyslog read on `/dev/log`. It carries no timestamp: both stamp a
//! record with its time of arrival and ignore the sender's (rsyslog's
//! `SysSock.IgnoreTimestamp` is on by default), and dating it ourselves
//! meant reading and converting `/etc/localtime` on every call, a third of
//! a millisecond's wall time on a quiet machine.
#![forbid(unsafe_code)]

use std::io;
use std::os::unix::net::UnixDatagram;
use std::time::Duration;

/// Where the system logger listens.
pub const SOCKET: &str = "/dev/log";

/// How long a send may wait for room in the logger's queue before the
/// record counts as not written: a logger that stopped reading must not
/// hang every root call for ever.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

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

    /// Sends one record at `priority` (facility * 8 + level). `Ok` means the logger's socket queued the
    /// whole datagram; a logger that restarted since `connect` is
    /// reconnected to once, as `syslog(3)` does.
    pub fn send(&mut self, priority: i32, message: &str) -> io::Result<()> {
        let mut datagram = header(priority, std::process::id());
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

/// `<PRI>rootwrap[PID]: `: nothing in it comes from the caller.
pub fn header(priority: i32, pid: u32) -> String {
    format!("<{priority}>rootwrap[{pid}]: ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_is_the_priority_and_the_tag() {
        assert_eq!(header(86, 42), "<86>rootwrap[42]: ");
    }
}
