//! The audit log: one record per decision, to syslog (`/dev/log`, see
//! `syslog.rs`) and/or an append-only JSON-lines file, as the ruleset
//! declares. Every byte an argument contributes is escaped, so no argument
//! can forge or break a record; see the book's "Auditing" chapter for the
//! schema.
#![forbid(unsafe_code)]

use std::ffi::OsString;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::exit::ExitCode;
use crate::sys;
use crate::syslog::{self, Syslog};
use crate::types::{LogOptions, OnLogFailure, Rule, SyslogTarget};

/// Where a decision-less failure goes when no ruleset names a target:
/// syslog's authpriv facility, error priority, if a syslog daemon listens.
const FALLBACK_SYSLOG: SyslogTarget = SyslogTarget {
    facility: libc::LOG_AUTHPRIV,
    allowed_level: libc::LOG_ERR,
    denied_level: libc::LOG_ERR,
};

/// What was decided. The names are the `decision` field of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// About to execute: written just before `execve`.
    Allowed,
    /// No rule allows the command line.
    Denied,
    /// A rule matched, but its executable is missing.
    NotFound,
    /// The ruleset is missing, untrusted or damaged, or a log target failed.
    BadRuleset,
    /// No command was given.
    BadInvocation,
    /// Allowed, but switching user or `execve` failed: nothing ran.
    ExecFailed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allowed => "allowed",
            Outcome::Denied => "denied",
            Outcome::NotFound => "not-found",
            Outcome::BadRuleset => "bad-ruleset",
            Outcome::BadInvocation => "bad-invocation",
            Outcome::ExecFailed => "exec-failed",
        }
    }

    /// The one exit code of each way a call ends.
    pub const fn exit(self) -> ExitCode {
        match self {
            Outcome::Allowed => ExitCode::Allowed,
            Outcome::Denied => ExitCode::Unauthorized,
            Outcome::NotFound => ExitCode::NotFound,
            Outcome::BadRuleset => ExitCode::BadRuleset,
            Outcome::BadInvocation => ExitCode::NoCommand,
            Outcome::ExecFailed => ExitCode::ExecFailed,
        }
    }
}

/// One decision, with everything a record says about it.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub outcome: Outcome,
    pub argv: &'a [OsString],
    pub rule: Option<&'a Rule>,
    pub chained: Option<&'a Rule>,
    pub executable: Option<&'a Path>,
    pub exec_argv: &'a [OsString],
    pub run_as: Option<&'a str>,
    /// The variables the rule set (the runtime's PATH is not listed).
    pub env: &'a [(String, OsString)],
    /// For each pinned `<path>` argument: the path rootwrap checked and
    /// the path the command received.
    pub paths: &'a [(OsString, OsString)],
    /// The ruleset's name and SHA-256, once its index verified.
    pub ruleset: Option<(String, String)>,
    /// The refusal's message, byte for byte (it may quote arguments).
    pub reason: Option<Vec<u8>>,
}

impl<'a> Event<'a> {
    pub fn new(outcome: Outcome, argv: &'a [OsString]) -> Self {
        Event {
            outcome,
            argv,
            rule: None,
            chained: None,
            executable: None,
            exec_argv: &[],
            run_as: None,
            env: &[],
            paths: &[],
            ruleset: None,
            reason: None,
        }
    }
}

/// Who asked, from where.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// From sudo's SUDO_USER, else the name of the real uid.
    pub user: String,
    /// From sudo's SUDO_UID, else the real uid.
    pub uid: u32,
    /// This process's real uid (0 under sudo): recorded when it differs
    /// from `uid`, so a SUDO_UID set by hand is visible as such.
    pub real_uid: u32,
    pub cwd: OsString,
    pub host: String,
    pub pid: u32,
    /// A daemon's peer, as the kernel identified it (`SO_PEERCRED`): the
    /// process that sent the request. `pid` is then the daemon's.
    pub peer: Option<crate::sys::PeerCred>,
}

impl Caller {
    pub fn current() -> Caller {
        let real_uid = sys::real_uid();
        let sudo_uid = std::env::var("SUDO_UID")
            .ok()
            .and_then(|v| v.parse::<u32>().ok());
        let sudo_user = std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty());
        let uid = sudo_uid.unwrap_or(real_uid);
        let user = match (sudo_user, sudo_uid) {
            (Some(user), _) => user,
            (None, _) => sys::user_name(uid).unwrap_or_default(),
        };
        Caller {
            user,
            uid,
            real_uid,
            cwd: std::env::current_dir()
                .map(|p| p.into_os_string())
                .unwrap_or_default(),
            host: sys::hostname(),
            pid: std::process::id(),
            peer: None,
        }
    }
}

/// Why a log target cannot be written.
#[derive(Debug)]
pub enum LogError {
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
pub struct AuditLog {
    syslog: Option<(SyslogTarget, Syslog)>,
    json: Option<(String, File)>,
    pub on_failure: OnLogFailure,
    /// Targets dropped under `on-log-failure continue`: every record then
    /// goes to the fallback too, saying so.
    dropped: Vec<String>,
}

impl AuditLog {
    /// No target: records go nowhere (a ruleset without `log` options).
    pub fn none() -> AuditLog {
        AuditLog {
            syslog: None,
            json: None,
            on_failure: OnLogFailure::Refuse,
            dropped: Vec::new(),
        }
    }

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
                Err(e) => log.failed(LogError::Syslog(e))?,
            }
        }
        if let Some(path) = &options.json {
            match open_json(path) {
                Ok(file) => log.json = Some((path.clone(), file)),
                Err(e) => log.failed(e)?,
            }
        }
        Ok(log)
    }

    fn failed(&mut self, error: LogError) -> Result<(), LogError> {
        match self.on_failure {
            OnLogFailure::Refuse => Err(error),
            OnLogFailure::Continue => {
                let warning = format!(
                    "warning: {error}; continuing without it, as the ruleset says (on-log-failure continue)"
                );
                say(&warning);
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
            socket.send(target.facility | level, secs, &line).err()
        });
        if let Some(e) = syslog_error {
            self.syslog = None;
            self.failed(LogError::Syslog(e))?;
        }
        let json_error = self.json.as_mut().and_then(|(path, file)| {
            let time = rfc3339(secs, now.subsec_micros());
            let line = render_json(caller, event, &time);
            append_record(file, &line)
                .err()
                .map(|e| LogError::Write(path.clone(), e))
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

/// Appends `record` and a newline with one `write(2)`: with `O_APPEND`,
/// concurrent calls never interleave their records. A write that is
/// short is a failure (it says nothing of the file's size, which the
/// caller must not learn), and the next record then starts on a new line
/// rather than completing the torn one. The check and the write hold the
/// file's lock: a record another call is still writing is not torn.
fn append_record(file: &mut File, record: &str) -> io::Result<()> {
    sys::with_file_lock(file, || {
        let mut line = Vec::with_capacity(record.len() + 2);
        if ends_mid_line(file)? {
            line.push(b'\n');
        }
        line.extend_from_slice(record.as_bytes());
        line.push(b'\n');
        match (&*file).write(&line) {
            Ok(n) if n == line.len() => Ok(()),
            Ok(_) => Err(io::Error::other("the record was written in part only")),
            Err(e) => Err(e),
        }
    })
}

/// Whether the file's last byte is not a newline (a torn record).
fn ends_mid_line(file: &File) -> io::Result<bool> {
    let len = file.metadata()?.len();
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
pub fn record_fallback(caller: impl FnOnce() -> Caller, event: &Event<'_>) {
    if let Ok(mut socket) = Syslog::connect() {
        let line = fit_datagram(render_kv(&caller(), event));
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let _ = socket.send(
            FALLBACK_SYSLOG.facility | FALLBACK_SYSLOG.denied_level,
            secs,
            &line,
        );
    }
}

/// The longest syslog message sent: one datagram, which the socket refuses
/// beyond about 208 KiB by default on Linux (a failed write), and many
/// relays keep 8 KiB. The JSON log keeps the whole record.
const MAX_SYSLOG_MESSAGE: usize = 8000;

/// A syslog line cut to `MAX_SYSLOG_MESSAGE` bytes, ending in a marker that
/// says how much was cut, so a long argument cannot make a record vanish.
fn fit_datagram(mut line: String) -> String {
    let full = line.len();
    if full <= MAX_SYSLOG_MESSAGE {
        return line;
    }
    // The line is ASCII (everything else is escaped), so any byte index is a
    // character boundary; and `"` only delimits values.
    line.truncate(MAX_SYSLOG_MESSAGE);
    // Never end inside an escape (`\\` or `\xNN`): it would read as
    // something else.
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            let escape = if bytes.get(i + 1) == Some(&b'\\') {
                2
            } else {
                4
            };
            if i + escape > bytes.len() {
                line.truncate(i);
                break;
            }
            i += escape;
        } else {
            i += 1;
        }
    }
    let inside_value = line.matches('"').count() % 2 == 1;
    if !inside_value {
        // Between fields or inside a key: keep the last whole field.
        let end = line.rfind('"').map_or(0, |i| i + 1);
        line.truncate(end);
    }
    let cut = full - line.len();
    if inside_value {
        line.push_str("...\"");
    }
    let _ = write!(line, " truncated=\"{cut}\"");
    line
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
    if !meta.is_file() {
        return Err(LogError::NotRegular(path.to_string()));
    }
    if meta.uid() != 0 {
        return Err(LogError::NotRootOwned(path.to_string(), meta.uid()));
    }
    // Whoever may write it may forge or erase records.
    if meta.mode() & 0o022 != 0 {
        return Err(LogError::WritableByOthers(path.to_string(), meta.mode()));
    }
    Ok(file)
}

/// Printable ASCII stays as it is, except `\`, which doubles; every other
/// byte (controls, ANSI escapes, non-ASCII, invalid UTF-8) becomes `\xNN`.
/// The result is one line and reversible byte for byte.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// `s` as a JSON string literal (after `escape`, only `"` and `\` remain
/// special).
fn json_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    for c in escape(bytes).chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn json_field(out: &mut String, key: &str, bytes: &[u8]) {
    let _ = write!(out, ",\"{key}\":");
    json_string(out, bytes);
}

fn json_list(out: &mut String, key: &str, items: &[OsString]) {
    let _ = write!(out, ",\"{key}\":[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, item.as_bytes());
    }
    out.push(']');
}

fn json_rule(out: &mut String, key: &str, rule: Option<&Rule>) {
    let _ = write!(out, ",\"{key}\":");
    match rule {
        None => out.push_str("null"),
        Some(rule) => {
            out.push_str("{\"name\":");
            json_string(out, rule.name.as_bytes());
            out.push_str(",\"file\":");
            json_string(out, rule.source.file.as_bytes());
            let _ = write!(out, ",\"line\":{}}}", rule.source.line);
        }
    }
}

/// The JSON-lines form: one object, fields in a fixed order: first those
/// no caller can lengthen or shape, then those it can (see `render_kv`).
pub fn render_json(caller: &Caller, event: &Event<'_>, time: &str) -> String {
    let mut out = String::with_capacity(512);
    out.push_str("{\"time\":");
    json_string(&mut out, time.as_bytes());
    json_field(&mut out, "host", caller.host.as_bytes());
    json_field(&mut out, "decision", event.outcome.as_str().as_bytes());
    let _ = write!(out, ",\"exit_code\":{}", event.outcome.exit().code());
    json_field(&mut out, "user", caller.user.as_bytes());
    let _ = write!(out, ",\"uid\":{}", caller.uid);
    if caller.real_uid != caller.uid {
        let _ = write!(out, ",\"real_uid\":{}", caller.real_uid);
    }
    let _ = write!(out, ",\"pid\":{}", caller.pid);
    if let Some(peer) = caller.peer {
        let _ = write!(
            out,
            ",\"peer_uid\":{},\"peer_gid\":{},\"peer_pid\":{}",
            peer.uid, peer.gid, peer.pid
        );
    }
    json_rule(&mut out, "rule", event.rule);
    json_rule(&mut out, "chained_rule", event.chained);
    match event.executable {
        Some(path) => json_field(&mut out, "exec", path.as_os_str().as_bytes()),
        None => out.push_str(",\"exec\":null"),
    }
    match event.run_as {
        Some(user) => json_field(&mut out, "run_as", user.as_bytes()),
        None => out.push_str(",\"run_as\":null"),
    }
    match &event.ruleset {
        Some((name, sha)) => {
            json_field(&mut out, "ruleset", name.as_bytes());
            json_field(&mut out, "ruleset_sha256", sha.as_bytes());
        }
        None => out.push_str(",\"ruleset\":null,\"ruleset_sha256\":null"),
    }
    json_field(&mut out, "version", env!("CARGO_PKG_VERSION").as_bytes());
    json_field(&mut out, "cwd", caller.cwd.as_bytes());
    json_list(&mut out, "argv", event.argv);
    json_list(&mut out, "exec_argv", event.exec_argv);
    if !event.paths.is_empty() {
        out.push_str(",\"paths\":[");
        for (i, (checked, passed)) in event.paths.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"checked\":");
            json_string(&mut out, checked.as_bytes());
            out.push_str(",\"passed\":");
            json_string(&mut out, passed.as_bytes());
            out.push('}');
        }
        out.push(']');
    }
    out.push_str(",\"env\":{");
    for (i, (name, value)) in event.env.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, name.as_bytes());
        out.push(':');
        json_string(&mut out, value.as_bytes());
    }
    out.push('}');
    match &event.reason {
        Some(reason) => json_field(&mut out, "reason", reason),
        None => out.push_str(",\"reason\":null"),
    }
    out.push('}');
    out
}

/// `key="value"`, with `"` escaped too. Lists (argv) are their escaped
/// items joined by spaces; a space inside an item is `\x20`, so item
/// boundaries stay visible.
fn kv(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    let _ = write!(out, "{key}=\"{}\"", value.replace('"', "\\x22"));
}

fn kv_list(items: &[OsString]) -> String {
    items
        .iter()
        .map(|item| escape(item.as_bytes()).replace(' ', "\\x20"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The syslog form: one line of `key="value"` pairs in a fixed order.
/// The fields no caller can lengthen come first, so that a cut
/// (`fit_datagram`) only ever shortens what the caller wrote: the working
/// directory, the command lines, paths, variables and the reason.
pub fn render_kv(caller: &Caller, event: &Event<'_>) -> String {
    let mut out = String::with_capacity(512);
    kv(&mut out, "decision", event.outcome.as_str());
    kv(
        &mut out,
        "exit_code",
        &event.outcome.exit().code().to_string(),
    );
    kv(&mut out, "user", &escape(caller.user.as_bytes()));
    kv(&mut out, "uid", &caller.uid.to_string());
    if caller.real_uid != caller.uid {
        kv(&mut out, "real_uid", &caller.real_uid.to_string());
    }
    kv(&mut out, "host", &escape(caller.host.as_bytes()));
    if let Some(peer) = caller.peer {
        kv(&mut out, "peer_uid", &peer.uid.to_string());
        kv(&mut out, "peer_gid", &peer.gid.to_string());
        kv(&mut out, "peer_pid", &peer.pid.to_string());
    }
    if let Some(rule) = event.rule {
        kv(&mut out, "rule", &escape(rule.name.as_bytes()));
        kv(
            &mut out,
            "rule_source",
            &escape(format!("{}:{}", rule.source.file, rule.source.line).as_bytes()),
        );
    }
    if let Some(rule) = event.chained {
        kv(&mut out, "chained_rule", &escape(rule.name.as_bytes()));
    }
    if let Some(path) = event.executable {
        kv(&mut out, "exec", &escape(path.as_os_str().as_bytes()));
    }
    if let Some(user) = event.run_as {
        kv(&mut out, "run_as", &escape(user.as_bytes()));
    }
    if let Some((name, sha)) = &event.ruleset {
        kv(&mut out, "ruleset", &escape(name.as_bytes()));
        kv(&mut out, "ruleset_sha256", sha);
    }
    kv(&mut out, "version", env!("CARGO_PKG_VERSION"));
    kv(&mut out, "cwd", &escape(caller.cwd.as_bytes()));
    kv(&mut out, "argv", &kv_list(event.argv));
    if event.executable.is_some() {
        kv(&mut out, "exec_argv", &kv_list(event.exec_argv));
    }
    if !event.paths.is_empty() {
        let flat: Vec<OsString> = event
            .paths
            .iter()
            .flat_map(|(checked, passed)| [checked.clone(), passed.clone()])
            .collect();
        kv(&mut out, "paths", &kv_list(&flat));
    }
    for (name, value) in event.env {
        kv(&mut out, &format!("env.{name}"), &escape(value.as_bytes()));
    }
    if let Some(reason) = &event.reason {
        kv(&mut out, "reason", &escape(reason));
    }
    out
}

/// Days since 1970-01-01 to a proleptic Gregorian date (the usual
/// era-of-400-years arithmetic).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn rfc3339(secs: i64, micros: u32) -> String {
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// One line on stderr, prefixed `rootwrap: `, the message escaped like an
/// audit record (services forward rootwrap's stderr into their logs: an
/// argument must not start a line there, nor reach a terminal raw). A
/// failed write is ignored (stderr belongs to the caller: it may be closed
/// or full).
pub fn say(message: &(impl AsRef<[u8]> + ?Sized)) {
    use std::io::Write as _;
    let line = format!("rootwrap: {}\n", escape(message.as_ref()));
    let _ = std::io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_rfc3339_utc() {
        assert_eq!(rfc3339(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(rfc3339(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(
            rfc3339(1_795_710_277, 123_456),
            "2026-11-26T16:24:37.123456Z"
        );
    }

    #[test]
    fn escaping_keeps_records_on_one_line_and_reversible() {
        assert_eq!(escape(b"a b"), "a b");
        assert_eq!(escape(b"x\ny\"z\\"), "x\\x0ay\"z\\\\");
        assert_eq!(escape(b"\x1b[31m\xff\xc3\xa9"), "\\x1b[31m\\xff\\xc3\\xa9");
        assert_eq!(
            kv_list(&[OsString::from("a b"), OsString::from("c")]),
            "a\\x20b c"
        );
    }

    #[test]
    fn pinned_paths_are_listed_after_the_command_lines_and_escaped() {
        let argv = [OsString::from("chown"), OsString::from("x")];
        let paths = [
            (
                OsString::from("/var/lib/a b"),
                OsString::from("/proc/self/fd/5"),
            ),
            (
                OsString::from("/v/\n\u{1b}"),
                OsString::from("/proc/self/fd/6"),
            ),
        ];
        let mut event = Event::new(Outcome::Allowed, &argv);
        event.paths = &paths;
        let caller = Caller::default();
        let json = render_json(&caller, &event, "t");
        assert!(
            json.contains(
                r#""argv":["chown","x"],"exec_argv":[],"paths":[{"checked":"/var/lib/a b","passed":"/proc/self/fd/5"},{"checked":"/v/\\x0a\\x1b","passed":"/proc/self/fd/6"}],"env":{}"#
            ),
            "{json}"
        );
        let kv = render_kv(&caller, &event);
        assert!(
            kv.contains(r#" argv="chown x" paths="/var/lib/a\x20b /proc/self/fd/5 /v/\x0a\x1b /proc/self/fd/6""#),
            "{kv}"
        );
        // None: no field at all.
        event.paths = &[];
        assert!(!render_json(&caller, &event, "t").contains("paths"));
        assert!(!render_kv(&caller, &event).contains("paths"));
    }

    #[test]
    fn long_syslog_lines_are_cut_with_a_marker() {
        let short = "decision=\"denied\" argv=\"x\"".to_string();
        assert_eq!(fit_datagram(short.clone()), short);
        let long = format!(
            "decision=\"denied\" argv=\"{}\" version=\"1\"",
            "a".repeat(3 * MAX_SYSLOG_MESSAGE)
        );
        let cut = fit_datagram(long.clone());
        assert!(cut.len() < MAX_SYSLOG_MESSAGE + 40);
        let marker = format!("...\" truncated=\"{}\"", long.len() - MAX_SYSLOG_MESSAGE);
        assert!(cut.ends_with(&marker), "{}", &cut[cut.len() - 60..]);
        assert_eq!(cut.matches('"').count() % 2, 0);
        // A cut inside an escape drops the partial escape.
        let escaped = format!("argv=\"{}\"", "\\x01".repeat(3000));
        let cut = fit_datagram(escaped);
        let value = cut.split('"').nth(1).unwrap().trim_end_matches("...");
        assert!(
            value.len().is_multiple_of(4) && value.split("\\x01").all(str::is_empty),
            "{}",
            &value[value.len() - 20..]
        );
        // A cut just after a closing quote, or inside a key, keeps the
        // last whole field and never leaves a quote open.
        for pad in 0..40 {
            let line = format!(
                "decision=\"denied\" argv=\"{}\" reason=\"{}\"",
                "a".repeat(MAX_SYSLOG_MESSAGE - 30 - pad),
                "b".repeat(100)
            );
            let cut = fit_datagram(line.clone());
            assert_eq!(
                cut.matches('"').count() % 2,
                0,
                "{}",
                &cut[cut.len() - 80..]
            );
            let (kept, marker) = cut.rsplit_once(" truncated=").unwrap();
            let removed: usize = marker.trim_matches('"').parse().unwrap();
            assert_eq!(kept.trim_end_matches("...\"").len() + removed, line.len());
            assert!(line.starts_with(kept.trim_end_matches("...\"")));
        }
    }
}
