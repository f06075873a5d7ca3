//! The audit log: one record per decision, to syslog (`/dev/log`, see
//! `syslog.rs`) and/or an append-only JSON-lines file, as the ruleset
//! declares. Every byte an argument contributes is escaped, so no argument
//! can forge or break a record; see the book's "Auditing" chapter for the
//! schema.
#![forbid(unsafe_code)]

mod records; // what a record says

mod rendering; // records as JSON and syslog lines, escaped

mod time; // RFC 3339 timestamps

pub use rendering::escape;

pub(crate) use records::{Caller, Event, Outcome};
pub(crate) use rendering::say;

use rendering::{fit_datagram, render_json, render_kv};
use time::rfc3339;

use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::owner::Exposure;
use crate::sys;
use crate::syslog::{self, Syslog};
use crate::types::{LogOptions, OnLogFailure, SyslogTarget};

/// Where a decision-less failure goes when no ruleset names a target:
/// syslog's authpriv facility, error priority, if a syslog daemon listens.
const FALLBACK_SYSLOG: SyslogTarget = SyslogTarget {
    facility: libc::LOG_AUTHPRIV,
    allowed_level: libc::LOG_ERR,
    denied_level: libc::LOG_ERR,
};

/// Why a log target cannot be written.
#[derive(Debug)]
pub(crate) enum LogError {
    Symlink(String),
    NotRootOwned(String, u32),
    WritableByOthers(String, u32),
    NotRegular(String),
    Open(String, io::Error),
    Write(String, io::Error),
    Syslog(io::Error),
}

impl std::fmt::Display for LogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LogError::Symlink(p) => write!(f, "the audit log {p} is a symbolic link"),
            LogError::NotRootOwned(p, uid) => {
                write!(f, "the audit log {p} is owned by uid {uid}, not by root")
            }
            LogError::WritableByOthers(p, mode) => write!(
                f,
                "the audit log {p} is writable by group or others (mode {:04o})",
                mode & 0o7777
            ),
            LogError::NotRegular(p) => write!(f, "the audit log {p} is not a regular file"),
            LogError::Open(p, e) => write!(f, "cannot open the audit log {p}: {e}"),
            LogError::Write(p, e) => write!(f, "cannot write the audit log {p}: {e}"),
            LogError::Syslog(e) => write!(f, "cannot reach syslog at {}: {e}", syslog::SOCKET),
        }
    }
}

impl std::error::Error for LogError {}

/// The opened targets of one ruleset.
#[derive(Debug)]
pub(crate) struct AuditLog {
    syslog: Option<(SyslogTarget, Syslog)>,
    json: Option<JsonFile>,
    pub on_failure: OnLogFailure,
    /// Targets dropped under `on-log-failure continue`: every record then
    /// goes to the fallback too, saying so.
    dropped: Vec<String>,
}

/// Whether a dropped target's warning stays off stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quiet {
    Yes,
    No,
}

impl AuditLog {
    /// Opens every declared target. With `on-log-failure continue`, a
    /// target that fails is dropped (and said so on stderr) instead.
    pub fn open(options: &LogOptions) -> Result<AuditLog, LogError> {
        let mut log = AuditLog {
            syslog: None,
            json: None,
            on_failure: options.on_failure,
            dropped: Vec::new(),
        };
        if let Some(target) = options.syslog {
            match Syslog::connect() {
                Ok(socket) => log.syslog = Some((target, socket)),
                // No logger at all (a container without `/dev/log`): under
                // `continue`, dropped without a word on the command's
                // stderr, which callers parse, on every call.
                Err(e) => log.failed_as(LogError::Syslog(e), Quiet::Yes)?,
            }
        }
        if let Some(path) = &options.json {
            match open_json(path) {
                Ok(file) => {
                    log.json = Some(JsonFile {
                        path: path.clone(),
                        file,
                        end: None,
                    })
                }
                Err(e) => log.failed_as(e, Quiet::No)?,
            }
        }
        Ok(log)
    }

    fn failed(&mut self, error: LogError) -> Result<(), LogError> {
        self.failed_as(error, Quiet::No)
    }

    /// A target failed: the call is refused, or under `continue` the
    /// target is dropped, its warning in the fallback record and, unless
    /// `quiet`, on stderr.
    fn failed_as(&mut self, error: LogError, quiet: Quiet) -> Result<(), LogError> {
        match self.on_failure {
            OnLogFailure::Refuse => Err(error),
            OnLogFailure::Continue => {
                let warning = format!(
                    "warning: {error}; continuing without it, as the ruleset says (on-log-failure continue)"
                );
                if quiet == Quiet::No {
                    say(&warning);
                }
                self.dropped.push(warning);
                Ok(())
            }
        }
    }

    /// Whether a record will be written anywhere (a caller lookup is only
    /// worth it then).
    pub fn is_active(&self) -> bool {
        self.syslog.is_some() || self.json.is_some() || !self.dropped.is_empty()
    }

    /// Writes one record to every target. The caller must have been looked
    /// up before any switch to the target user. A target that fails refuses
    /// the call (`Err`), or with `on-log-failure continue` is dropped; either
    /// way the record goes to the fallback too, with the failure in its
    /// `reason`.
    pub fn record(&mut self, caller: &Caller, event: &Event<'_>) -> Result<(), LogError> {
        let result = self.write(caller, event);
        if let Err(error) = &result {
            // The call is refused: that is what the fallback records.
            let mut refused = event.clone();
            if event.outcome == Outcome::Allowed {
                refused.outcome = Outcome::BadRuleset;
            }
            let message = if event.outcome == Outcome::Allowed {
                format!("{error}; refusing the call (on-log-failure refuse)")
            } else {
                error.to_string()
            };
            record_fallback(|| caller.clone(), &with_reason(refused, &message));
        } else if !self.dropped.is_empty() {
            record_fallback(
                || caller.clone(),
                &with_reason(event.clone(), &self.dropped.join("; ")),
            );
        }
        result
    }

    fn write(&mut self, caller: &Caller, event: &Event<'_>) -> Result<(), LogError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let secs = now.as_secs() as i64;
        let syslog_error = self.syslog.as_mut().and_then(|(target, socket)| {
            let level = if event.outcome == Outcome::Allowed {
                target.allowed_level
            } else {
                target.denied_level
            };
            let line = fit_datagram(render_kv(caller, event));
            socket.send(target.facility | level, &line).err()
        });
        if let Some(e) = syslog_error {
            self.syslog = None;
            self.failed(LogError::Syslog(e))?;
        }
        let json_error = self.json.as_mut().and_then(|json| {
            let time = rfc3339(secs, now.subsec_micros());
            let line = render_json(caller, event, time.as_str());
            append_record(json, line)
                .err()
                .map(|e| LogError::Write(json.path.clone(), e))
        });
        if let Some(error) = json_error {
            self.json = None;
            self.failed(error)?;
        }
        Ok(())
    }
}

/// `event` with `more` added to its reason (after `; ` if it has one).
fn with_reason<'a>(mut event: Event<'a>, more: &str) -> Event<'a> {
    let reason = event.reason.get_or_insert_with(Vec::new);
    if !reason.is_empty() {
        reason.extend_from_slice(b"; ");
    }
    reason.extend_from_slice(more.as_bytes());
    event
}

/// The JSON-lines target, opened.
#[derive(Debug)]
struct JsonFile {
    path: String,
    file: File,
    /// Where this process's last record ended: a guess at the file's
    /// length, which a long-lived writer (the daemon) is mostly right in.
    end: Option<u64>,
}

/// Appends `record` and a newline with one `write(2)`: with `O_APPEND`,
/// concurrent calls never interleave their records. A write that is
/// short is a failure (it says nothing of the file's size, which the
/// caller must not learn), and the next record then starts on a new line
/// rather than completing the torn one. The check and the write hold the
/// file's lock: a record another call is still writing is not torn.
fn append_record(json: &mut JsonFile, record: String) -> io::Result<()> {
    let JsonFile { file, end, .. } = json;
    sys::with_file_lock(file, || {
        let (len, torn) = match end.filter(|&end| ends_with_newline_at(file, end)) {
            Some(end) => (end, false),
            None => {
                let len = file.metadata()?.len();
                (len, ends_mid_line(file, len)?)
            }
        };
        *end = None;
        let mut line = record.into_bytes();
        if torn {
            line.insert(0, b'\n');
        }
        line.push(b'\n');
        match (&*file).write(&line) {
            Ok(n) if n == line.len() => {
                *end = Some(len + n as u64);
                Ok(())
            }
            Ok(_) => Err(io::Error::other("the record was written in part only")),
            Err(e) => Err(e),
        }
    })
}

/// Whether the file is `end` bytes long and its last byte is a newline:
/// one `pread` of the byte before `end` and the one after it (which must
/// not exist) instead of a `statx` and a `pread`.
fn ends_with_newline_at(file: &File, end: u64) -> bool {
    let mut around = [0u8; 2];
    end > 0 && matches!(file.read_at(&mut around, end - 1), Ok(1) if around[0] == b'\n')
}

/// Whether the file, `len` bytes long, does not end with a newline (a
/// torn record).
fn ends_mid_line(file: &File, len: u64) -> io::Result<bool> {
    if len == 0 {
        return Ok(false);
    }
    let mut last = [0u8];
    file.read_exact_at(&mut last, len - 1)?;
    Ok(last[0] != b'\n')
}

/// Best effort, for failures that happen before a ruleset names its
/// targets (an unreadable ruleset, no arguments) and for records a target
/// failed to take: syslog, if it listens.
pub(crate) fn record_fallback(caller: impl FnOnce() -> Caller, event: &Event<'_>) {
    if let Ok(mut socket) = Syslog::connect() {
        let line = fit_datagram(render_kv(&caller(), event));
        let _ = socket.send(
            FALLBACK_SYSLOG.facility | FALLBACK_SYSLOG.denied_level,
            &line,
        );
    }
}

fn open_json(path: &str) -> Result<File, LogError> {
    // Readable too: the last byte tells whether a record was torn.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        // Non-blocking: a FIFO planted at the path must be refused, not
        // waited on (it has no effect on a regular file).
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => LogError::Symlink(path.to_string()),
            _ => LogError::Open(path.to_string(), e),
        })?;
    let meta = file
        .metadata()
        .map_err(|e| LogError::Open(path.to_string(), e))?;
    check_json_file(path, &meta)?;
    Ok(file)
}

/// The checks of an opened (or found) audit log file.
fn check_json_file(path: &str, meta: &std::fs::Metadata) -> Result<(), LogError> {
    if !meta.is_file() {
        return Err(LogError::NotRegular(path.to_string()));
    }
    // Whoever may write it may forge or erase records.
    match crate::owner::exposure(meta, None) {
        Some(Exposure::Owner(uid)) => Err(LogError::NotRootOwned(path.to_string(), uid)),
        Some(Exposure::Writable(mode)) => Err(LogError::WritableByOthers(path.to_string(), mode)),
        None => Ok(()),
    }
}

/// Why the runtime, as root, would fail to open this host's audit log
/// targets, without opening or creating anything (for `explain`): the
/// JSON file's checks on what is there, or its missing directory; and
/// whether `/dev/log` takes a connection.
pub fn target_problems(options: &LogOptions) -> Vec<String> {
    let mut problems = Vec::new();
    if options.syslog.is_some() {
        if let Err(e) = Syslog::connect() {
            problems.push(LogError::Syslog(e).to_string());
        }
    }
    if let Some(path) = &options.json {
        let found = match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.file_type().is_symlink() => Err(LogError::Symlink(path.clone())),
            Ok(meta) => check_json_file(path, &meta),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Created when first needed, if its directory is there.
                match std::path::Path::new(path).parent().map(std::fs::metadata) {
                    Some(Err(e)) => Err(LogError::Open(path.clone(), e)),
                    _ => Ok(()),
                }
            }
            Err(e) => Err(LogError::Open(path.clone(), e)),
        };
        if let Err(e) = found {
            problems.push(e.to_string());
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A long-lived writer guesses where the file ends from its own last
    /// record; whatever others did to the file since, each record still
    /// starts on a line of its own and no blank line appears.
    #[test]
    fn records_start_on_a_fresh_line_whatever_others_wrote_since() {
        let path = std::env::temp_dir().join(format!("rw-audit-end-{}", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .append(true)
                .create(true)
                .open(&path)
                .unwrap()
        };
        let mut json = JsonFile {
            path: path.display().to_string(),
            file: open(),
            end: None,
        };
        let mut other = open();
        append_record(&mut json, "a".into()).unwrap();
        append_record(&mut json, "b".into()).unwrap();
        other.write_all(b"torn").unwrap();
        append_record(&mut json, "c".into()).unwrap();
        other.write_all(b"whole\n").unwrap();
        append_record(&mut json, "d".into()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "a\nb\ntorn\nc\nwhole\nd\n");
        // Cut short behind its back (a rotation by truncation), once empty
        // and once torn.
        other.set_len(0).unwrap();
        append_record(&mut json, "e".into()).unwrap();
        other.set_len(1).unwrap();
        other.write_all(b"f").unwrap();
        append_record(&mut json, "g".into()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(text, "ef\ng\n");
    }
}
