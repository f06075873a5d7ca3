//! The audit log, end to end: the real `rootwrap` binary, real rulesets
//! compiled by the real `rootwrap-compile`, real JSON-lines files and a real
//! syslog receiver (a Unix datagram socket that `/dev/log` points to inside a
//! private mount namespace, so the runtime's own syslog client delivers to
//! the test).
//!
//! - every decision kind gives exactly the documented record, field by
//!   field, in the documented order, in both forms;
//! - hostile arguments (newlines, quotes, backslashes, ANSI escapes, invalid
//!   UTF-8, spaces, 100 KB) give one well-formed line that unescapes back to
//!   the original bytes;
//! - the JSON file's security (created 0600 root, symlinks and foreign owners
//!   refused) and fail-closed behaviour, and `on-log-failure continue`;
//! - 200 concurrent calls give 200 whole, separate records.
//!
//! Needs root (rulesets must be root's; the syslog tests mount); each test
//! says it was skipped otherwise. The book's chapter "Auditing"
//! (book/src/auditing.md) documents what is checked here.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, MetadataExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rootwrap_tests::{binaries, require_root, run, set_mode, tool, Scratch, SudoFixture, CALLER};
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------
// Rulesets and calls

/// A compiled ruleset and the digest `rootwrap-compile` printed for it.
struct Compiled {
    rwc: PathBuf,
    rwf: PathBuf,
    sha256: String,
}

/// Compiles `source` into `dir/NAME.rwc` (root's, mode 0644) with the real
/// compiler, and takes the SHA-256 from what it prints:
/// `wrote PATH (N bytes, sha256:HEX): ...`.
fn compile(dir: &Path, name: &str, source: &str) -> Compiled {
    let rwf = dir.join(format!("{name}.rwf"));
    let rwc = dir.join(format!("{name}.rwc"));
    fs::write(&rwf, source).unwrap();
    let compiled = run(Command::new(&binaries().compile)
        .arg("-o")
        .arg(&rwc)
        .arg(&rwf));
    assert_eq!(compiled.code, 0, "rootwrap-compile: {}", compiled.stderr);
    let sha256 = compiled
        .stderr
        .split("sha256:")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no sha256 in {:?}", compiled.stderr))
        .to_string();
    assert_eq!(sha256.len(), 64, "{sha256}");
    set_mode(&rwc, 0o644);
    Compiled { rwc, rwf, sha256 }
}

/// Where `name` is found first in the exec dirs `/usr/bin /bin`.
fn resolved(name: &str) -> String {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|path| Path::new(path).is_file())
        .unwrap_or_else(|| panic!("{name} is not in /usr/bin or /bin"))
}

/// A finished call of the runtime, with its process id (the `pid` of its
/// records: rootwrap replaces itself with the command).
#[derive(Debug)]
struct Call {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    pid: u32,
}

fn call(command: &mut Command) -> Call {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    Call {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        pid,
    }
}

/// `rootwrap RULESET ARGV...` run directly (as root), in `cwd`, with a
/// small fixed environment: add SUDO_* with `.env()`.
fn rootwrap<S: AsRef<OsStr>>(cwd: &Path, ruleset: &Path, argv: &[S]) -> Command {
    let mut command = Command::new(&binaries().rootwrap);
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C")
        .current_dir(cwd)
        .arg(ruleset)
        .args(argv);
    command
}

fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim_end()
        .to_string()
}

const VERSION: &str = env!("CARGO_PKG_VERSION");

// ---------------------------------------------------------------------------
// JSON records

/// The top-level fields of a JSON record, in the order they are written.
const JSON_KEYS: &[&str] = &[
    "time",
    "host",
    "decision",
    "exit_code",
    "user",
    "uid",
    "real_uid",
    "pid",
    "rule",
    "chained_rule",
    "exec",
    "run_as",
    "ruleset",
    "ruleset_sha256",
    "version",
    "cwd",
    "argv",
    "exec_argv",
    "paths",
    "env",
    "reason",
];

/// The lines of a JSON-lines file: each one ends with `\n`, is printable
/// ASCII only (every other byte is escaped) and parses as one JSON object
/// whose keys come in the documented order.
fn json_lines(path: &Path) -> Vec<(String, Map<String, Value>)> {
    let bytes = fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if bytes.is_empty() {
        return Vec::new();
    }
    assert_eq!(bytes.last(), Some(&b'\n'), "the last record is incomplete");
    bytes[..bytes.len() - 1]
        .split(|&b| b == b'\n')
        .map(|line| {
            assert!(
                line.iter().all(|b| (0x20..=0x7e).contains(b)),
                "a record holds a byte outside printable ASCII: {}",
                String::from_utf8_lossy(line)
            );
            let text = String::from_utf8(line.to_vec()).unwrap();
            let value: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("not one JSON object ({e}): {text}"));
            let Value::Object(object) = value else {
                panic!("not an object: {text}")
            };
            let keys = top_level_keys(&text);
            let mut expected: Vec<&str> = JSON_KEYS.to_vec();
            expected.retain(|key| keys.iter().any(|k| k == key));
            assert_eq!(keys, expected, "keys out of the documented order: {text}");
            assert_eq!(keys.len(), object.len(), "a key twice: {text}");
            (text, object)
        })
        .collect()
}

/// The keys of the outermost object of a JSON text, in order.
fn top_level_keys(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let (mut depth, mut i, mut keys) = (0usize, 0usize, Vec::new());
    let mut expect_key = false;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let start = i + 1;
                i += 1;
                while bytes[i] != b'"' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                if depth == 1 && expect_key {
                    keys.push(text[start..i].to_string());
                    expect_key = false;
                }
            }
            b'{' | b'[' => {
                depth += 1;
                expect_key = depth == 1;
            }
            b'}' | b']' => depth -= 1,
            b',' => expect_key = depth == 1,
            _ => {}
        }
        i += 1;
    }
    keys
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Checks `YYYY-MM-DDTHH:MM:SS.ffffffZ` (RFC 3339, UTC, microseconds) and
/// returns it as seconds since the epoch.
fn parse_time(time: &str) -> f64 {
    let b = time.as_bytes();
    assert_eq!(
        b.len(),
        27,
        "time {time:?} is not YYYY-MM-DDTHH:MM:SS.ffffffZ"
    );
    for (at, c) in [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')] {
        assert_eq!(b[at], c, "time {time:?}");
    }
    assert_eq!((b[19], b[26]), (b'.', b'Z'), "time {time:?}");
    let num = |from: usize, to: usize| -> i64 {
        assert!(b[from..to].iter().all(u8::is_ascii_digit), "time {time:?}");
        time[from..to].parse().unwrap()
    };
    let (month, day) = (num(5, 7), num(8, 10));
    let (hour, minute, second) = (num(11, 13), num(14, 16), num(17, 19));
    assert!(
        (1..=12).contains(&month) && (1..=31).contains(&day),
        "{time}"
    );
    assert!(hour < 24 && minute < 60 && second < 61, "{time}");
    let days = days_from_civil(num(0, 4), month, day);
    (days * 86_400 + hour * 3600 + minute * 60 + second) as f64 + num(20, 26) as f64 / 1e6
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Reverses the runtime's escaping: `\\` is a backslash, `\xNN` the byte
/// NN, any other byte itself. Panics on anything else after a backslash.
fn unescape(text: &str) -> Vec<u8> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        match b.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hex = &text[i + 2..i + 4];
                out.push(u8::from_str_radix(hex, 16).unwrap_or_else(|_| panic!("bad \\x{hex}")));
                i += 4;
            }
            other => panic!("unknown escape \\{other:?} in {text:?}"),
        }
    }
    out
}

/// A JSON string field, unescaped back to bytes.
fn json_bytes(value: &Value) -> Vec<u8> {
    unescape(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {value}")),
    )
}

fn json_argv(value: &Value) -> Vec<Vec<u8>> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(json_bytes)
        .collect()
}

/// Who the calls of a test claim to be.
#[derive(Clone, Copy)]
enum Caller {
    /// root, no SUDO_* variables.
    Root,
    /// `SUDO_USER`, `SUDO_UID`: rootwrap runs as root under sudo.
    Sudo(&'static str, u32),
}

impl Caller {
    fn apply(self, command: &mut Command) -> &mut Command {
        match self {
            Caller::Root => command,
            Caller::Sudo(user, uid) => command
                .env("SUDO_USER", user)
                .env("SUDO_UID", uid.to_string())
                .env("SUDO_GID", uid.to_string()),
        }
    }
}

/// What every record of a call says, before the decision's own fields.
struct Context<'a> {
    cwd: &'a Path,
    ruleset: Option<(&'a str, &'a str)>,
    caller: Caller,
}

/// The record `ctx` documents for a call, with the fields every decision
/// has at their "nothing" values; the caller overrides the rest.
fn expected_json(
    ctx: &Context<'_>,
    decision: &str,
    code: i32,
    pid: u32,
    argv: &[&str],
) -> Map<String, Value> {
    let (user, uid, real_uid) = match ctx.caller {
        Caller::Root => ("root", 0, None),
        Caller::Sudo(user, uid) => (user, uid, Some(0)),
    };
    let mut m = Map::new();
    m.insert("host".into(), json!(hostname()));
    m.insert("decision".into(), json!(decision));
    m.insert("exit_code".into(), json!(code));
    m.insert("user".into(), json!(user));
    m.insert("uid".into(), json!(uid));
    if let Some(real_uid) = real_uid {
        m.insert("real_uid".into(), json!(real_uid));
    }
    m.insert("pid".into(), json!(pid));
    m.insert("cwd".into(), json!(ctx.cwd.to_str().unwrap()));
    m.insert("argv".into(), json!(argv));
    m.insert("rule".into(), Value::Null);
    m.insert("chained_rule".into(), Value::Null);
    m.insert("exec".into(), Value::Null);
    m.insert("exec_argv".into(), json!([]));
    m.insert("run_as".into(), Value::Null);
    m.insert("env".into(), json!({}));
    match ctx.ruleset {
        Some((name, sha)) => {
            m.insert("ruleset".into(), json!(name));
            m.insert("ruleset_sha256".into(), json!(sha));
        }
        None => {
            m.insert("ruleset".into(), Value::Null);
            m.insert("ruleset_sha256".into(), Value::Null);
        }
    }
    m.insert("reason".into(), Value::Null);
    m.insert("version".into(), json!(VERSION));
    m
}

fn rule_json(name: &str, file: &Path, line: u32) -> Value {
    json!({"name": name, "file": file.to_str().unwrap(), "line": line})
}

/// Checks the record's time (taken between `before` and `after`), then
/// compares everything else field for field.
#[track_caller]
fn assert_record(
    actual: &Map<String, Value>,
    expected: &Map<String, Value>,
    before: f64,
    after: f64,
) {
    let mut actual = actual.clone();
    let time = actual.remove("time").expect("a time field");
    let time = parse_time(time.as_str().expect("time is a string"));
    assert!(
        time >= before - 0.001 && time <= after + 0.001,
        "record time {time} is outside the call ({before} .. {after})"
    );
    assert_eq!(
        Value::Object(actual),
        Value::Object(expected.clone()),
        "left: the record written, right: the documented one"
    );
}

/// The line number of the rule `name` in a filter file's source.
fn line_of(source: &str, name: &str) -> u32 {
    let prefix = format!("allow {name}");
    let index = source
        .lines()
        .position(|line| {
            line.starts_with(&prefix)
                && matches!(line.as_bytes().get(prefix.len()), Some(b':' | b' '))
        })
        .unwrap_or_else(|| panic!("no rule {name}"));
    index as u32 + 1
}

/// A log file and the number of its records already checked.
struct Log {
    path: PathBuf,
    seen: usize,
}

impl Log {
    fn new(path: PathBuf) -> Log {
        Log { path, seen: 0 }
    }

    /// The records written since the last call.
    fn new_records(&mut self) -> Vec<Map<String, Value>> {
        let all = if self.path.exists() {
            json_lines(&self.path)
        } else {
            Vec::new()
        };
        let fresh = all[self.seen..].iter().map(|(_, r)| r.clone()).collect();
        self.seen = all.len();
        fresh
    }
}

// ---------------------------------------------------------------------------
// (a) every decision kind, JSON

/// The ruleset of the decision-kind tests: `log` lines are appended.
fn kinds_source(dir: &Path, log: &str) -> String {
    format!(
        r#"# tests/tests/audit.rs: one rule per decision kind
ruleset audit-kinds
exec-dirs /usr/bin /bin
{log}

allow true: true
allow greet: env GREETING=re"[a-z]+" MODE=fast printenv GREETING
allow nice: nice -n <int 0..19> then allowed
allow missing: /nonexistent/rootwrap-audit/tool
allow ghost as rw-audit-no-such-user: id -g
allow junk: {junk}

test allow nice: nice -n 5 true
test deny: cat /etc/shadow
"#,
        junk = dir.join("junk").display()
    )
}

/// Not an executable format: `execve` fails with ENOEXEC.
fn write_junk(dir: &Path) -> PathBuf {
    let junk = dir.join("junk");
    fs::write(&junk, b"\x7fjunk, not ELF and no #! line\n").unwrap();
    set_mode(&junk, 0o755);
    junk
}

#[test]
fn every_decision_kind_gives_the_documented_json_record() {
    require_root!();
    // Root's alone: the junk executable must pass the runtime's checks
    // and fail at the exec itself.
    let dir = Scratch::new_in(Path::new("/var/lib"), "audit-kinds");
    let junk = write_junk(dir.path());
    let log_path = dir.join("audit.jsonl");
    let source = kinds_source(dir.path(), &format!("log json {}", log_path.display()));
    let ruleset = compile(dir.path(), "kinds", &source);
    let rwf = ruleset.rwf.clone();
    let line = |name: &str| line_of(&source, name);

    // The digest is the one explain --json shows.
    let explained = run(Command::new(&binaries().compile)
        .args(["explain", "--json"])
        .arg(&ruleset.rwc)
        .args(["--", "true"]));
    let explained: Value = serde_json::from_slice(&explained.stdout).unwrap();
    assert_eq!(explained["ruleset"]["sha256"], json!(ruleset.sha256));

    let mut log = Log::new(log_path.clone());
    let cwd = dir.path();
    let sha = ruleset.sha256.as_str();
    let under_sudo = Context {
        cwd,
        ruleset: Some(("audit-kinds", sha)),
        caller: Caller::Sudo("alice", 4242),
    };
    let as_root = Context {
        caller: Caller::Root,
        ..under_sudo
    };

    // Runs one call and returns it with its new records and its time span.
    let mut go = |ctx: &Context<'_>, argv: &[&str]| {
        let before = now();
        let done = call(ctx.caller.apply(&mut rootwrap(cwd, &ruleset.rwc, argv)));
        let after = now();
        (done, log.new_records(), before, after)
    };

    // allowed, under sudo: user and uid from SUDO_*, real_uid 0.
    let (done, records, t0, t1) = go(&under_sudo, &["true"]);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(records.len(), 1);
    let mut want = expected_json(&under_sudo, "allowed", 0, done.pid, &["true"]);
    want["rule"] = rule_json("true", &rwf, line("true"));
    want["exec"] = json!(resolved("true"));
    want["exec_argv"] = json!([resolved("true")]);
    want["run_as"] = json!("root");
    assert_record(&records[0], &want, t0, t1);
    let meta = fs::metadata(&log_path).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o600));

    // allowed, as root without sudo: no real_uid; the rule's variables in
    // env, in the rule's order, and never PATH.
    let argv = ["env", "GREETING=hello", "MODE=fast", "printenv", "GREETING"];
    let (done, records, t0, t1) = go(&as_root, &argv);
    assert_eq!((done.code, done.stdout.as_slice()), (0, &b"hello\n"[..]));
    assert_eq!(records.len(), 1);
    let mut want = expected_json(&as_root, "allowed", 0, done.pid, &argv);
    want["rule"] = rule_json("greet", &rwf, line("greet"));
    want["exec"] = json!(resolved("printenv"));
    want["exec_argv"] = json!([resolved("printenv"), "GREETING"]);
    want["run_as"] = json!("root");
    want["env"] = json!({"GREETING": "hello", "MODE": "fast"});
    assert_record(&records[0], &want, t0, t1);
    let keys: Vec<&String> = records[0]["env"].as_object().unwrap().keys().collect();
    assert!(!keys.iter().any(|k| *k == "PATH"));

    // allowed through a chain: rule and chained_rule; the chained command's
    // executable is the one its rule resolves.
    let argv = ["nice", "-n", "5", "true"];
    let (done, records, t0, t1) = go(&under_sudo, &argv);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let mut want = expected_json(&under_sudo, "allowed", 0, done.pid, &argv);
    want["rule"] = rule_json("nice", &rwf, line("nice"));
    want["chained_rule"] = rule_json("true", &rwf, line("true"));
    want["exec"] = json!(resolved("nice"));
    want["exec_argv"] = json!([resolved("nice"), "-n", "5", resolved("true")]);
    want["run_as"] = json!("root");
    assert_eq!(records.len(), 1);
    assert_record(&records[0], &want, t0, t1);

    // denied
    let argv = ["cat", "/etc/shadow"];
    let (done, records, t0, t1) = go(&under_sudo, &argv);
    assert_eq!((done.code, done.stdout.len()), (99, 0), "{}", done.stderr);
    let mut want = expected_json(&under_sudo, "denied", 99, done.pid, &argv);
    want["reason"] = json!("Unauthorized command: cat /etc/shadow (no filter matched)");
    assert_eq!(records.len(), 1);
    assert_record(&records[0], &want, t0, t1);

    // not-found: the rule, but no exec, exec_argv or run_as.
    let argv = ["/nonexistent/rootwrap-audit/tool"];
    let (done, records, t0, t1) = go(&under_sudo, &argv);
    assert_eq!(done.code, 96, "{}", done.stderr);
    let mut want = expected_json(&under_sudo, "not-found", 96, done.pid, &argv);
    want["rule"] = rule_json("missing", &rwf, line("missing"));
    want["reason"] =
        json!("Executable not found: /nonexistent/rootwrap-audit/tool (filter match = missing)");
    assert_eq!(records.len(), 1);
    assert_record(&records[0], &want, t0, t1);

    // bad-invocation: a ruleset but no command; argv is empty.
    let (done, records, t0, t1) = go(&under_sudo, &[]);
    assert_eq!(done.code, 98, "{}", done.stderr);
    let mut want = expected_json(&under_sudo, "bad-invocation", 98, done.pid, &[]);
    want["reason"] = json!("No command specified");
    assert_eq!(records.len(), 1);
    assert_record(&records[0], &want, t0, t1);

    // exec-failed: the target user does not exist. Nothing ran, so there is
    // no `allowed` record: only this one.
    let argv = ["id", "-g"];
    let (done, records, t0, t1) = go(&under_sudo, &argv);
    assert_eq!((done.code, done.stdout.len()), (126, 0), "{}", done.stderr);
    let mut want = expected_json(&under_sudo, "exec-failed", 126, done.pid, &argv);
    want["rule"] = rule_json("ghost", &rwf, line("ghost"));
    want["exec"] = json!(resolved("id"));
    want["exec_argv"] = json!([resolved("id"), "-g"]);
    want["run_as"] = json!("rw-audit-no-such-user");
    want["reason"] = json!("the target user `rw-audit-no-such-user` does not exist on this host");
    assert_eq!(records.len(), 1);
    assert_record(&records[0], &want, t0, t1);

    // exec-failed: execve refuses the file. The `allowed` record was written
    // just before execve; the failure adds a second record, same call.
    let junk_path = junk.to_str().unwrap();
    let (done, records, t0, t1) = go(&under_sudo, &[junk_path]);
    assert_eq!(done.code, 126, "{}", done.stderr);
    let mut want = expected_json(&under_sudo, "allowed", 0, done.pid, &[junk_path]);
    want["rule"] = rule_json("junk", &rwf, line("junk"));
    want["exec"] = json!(junk_path);
    want["exec_argv"] = json!([junk_path]);
    want["run_as"] = json!("root");
    assert_eq!(records.len(), 2, "{records:?}");
    assert_record(&records[0], &want, t0, t1);
    want["decision"] = json!("exec-failed");
    want["exit_code"] = json!(126);
    let enoexec = io::Error::from_raw_os_error(8); // ENOEXEC
    want["reason"] = json!(format!("cannot execute {junk_path}: {enoexec}"));
    assert_record(&records[1], &want, t0, t1);
    assert!(done.stderr.contains("Exec format error"), "{}", done.stderr);
}

/// A ruleset whose one command's section is damaged (the header and index
/// still verify): every call is `bad-ruleset`, recorded in its own log,
/// with its digest; nothing runs.
#[test]
fn a_damaged_section_is_recorded_as_bad_ruleset() {
    require_root!();
    let dir = Scratch::new("audit-damaged");
    let log_path = dir.join("audit.jsonl");
    let marker = dir.join("marker");
    let source = format!(
        "ruleset audit-damaged\nexec-dirs /usr/bin /bin\nlog json {}\nallow mark: touch {}\n",
        log_path.display(),
        marker.display()
    );
    let ruleset = compile(dir.path(), "damaged", &source);
    // header (64 bytes) | the one section | bucket | index
    let mut bytes = fs::read(&ruleset.rwc).unwrap();
    bytes[rootwrap::format::HEADER_LEN + 1] ^= 0x01;
    fs::write(&ruleset.rwc, &bytes).unwrap();
    set_mode(&ruleset.rwc, 0o644);

    let ctx = Context {
        cwd: dir.path(),
        ruleset: Some(("audit-damaged", &ruleset.sha256)),
        caller: Caller::Sudo("alice", 4242),
    };
    let mut log = Log::new(log_path);
    let shown = ruleset.rwc.to_str().unwrap();
    // The denied path verifies the whole file before it refuses; the
    // matching path reads the damaged section itself.
    for argv in [
        vec!["cat", "/etc/shadow"],
        vec!["touch", marker.to_str().unwrap()],
    ] {
        let before = now();
        let done = call(
            ctx.caller
                .apply(&mut rootwrap(dir.path(), &ruleset.rwc, &argv)),
        );
        let after = now();
        assert_eq!(done.code, 97, "{}", done.stderr);
        let records = log.new_records();
        assert_eq!(records.len(), 1, "{records:?}");
        let reason = records[0]["reason"].as_str().unwrap().to_string();
        assert!(
            reason.starts_with(&format!(
                "{shown}: the ruleset is corrupted: checksum mismatch"
            )),
            "{reason}"
        );
        assert!(done.stderr.contains(&reason), "{}", done.stderr);
        let mut want = expected_json(&ctx, "bad-ruleset", 97, done.pid, &argv);
        want["reason"] = json!(reason);
        assert_record(&records[0], &want, before, after);
    }
    assert!(!marker.exists(), "a damaged ruleset ran a command");
}

/// A run-as rule's records still name the caller: the invoking user, and
/// the process's real uid (0 under sudo), not the target user the runtime
/// has switched to by the time it writes the `allowed` record.
#[test]
fn records_of_run_as_rules_name_the_caller_not_the_target() {
    require_root!();
    let dir = Scratch::new("audit-runas");
    let log_path = dir.join("audit.jsonl");
    let source = format!(
        "ruleset audit-runas\nexec-dirs /usr/bin /bin\nlog json {}\nallow id-nobody as nobody: id -u\n",
        log_path.display()
    );
    let ruleset = compile(dir.path(), "runas", &source);
    let mut log = Log::new(log_path);
    for caller in [Caller::Sudo("alice", 4242), Caller::Root] {
        let done = call(caller.apply(&mut rootwrap(dir.path(), &ruleset.rwc, &["id", "-u"])));
        assert_eq!(done.code, 0, "{}", done.stderr);
        let records = log.new_records();
        assert_eq!(records.len(), 1);
        let (user, uid, real_uid) = match caller {
            Caller::Sudo(user, uid) => (user, uid, Some(0)),
            Caller::Root => ("root", 0, None),
        };
        assert_eq!(records[0]["run_as"], json!("nobody"));
        assert_eq!(records[0]["user"], json!(user), "{:?}", records[0]);
        assert_eq!(records[0]["uid"], json!(uid), "{:?}", records[0]);
        assert_eq!(
            records[0].get("real_uid"),
            real_uid.map(|u| json!(u)).as_ref()
        );
    }
}

// ---------------------------------------------------------------------------
// (b) syslog, to /dev/log in a private mount namespace

/// A syslog daemon's socket, as far as rootwrap can tell.
struct Receiver {
    socket: UnixDatagram,
    path: PathBuf,
}

impl Receiver {
    fn bind(dir: &Path) -> Receiver {
        let path = dir.join("log.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        // /dev/log is writable by everyone: a record written after the
        // switch to a rule's target user must reach it too.
        set_mode(&path, 0o666);
        socket.set_nonblocking(true).unwrap();
        Receiver { socket, path }
    }

    /// Every datagram sent so far (the senders have exited: a send to a
    /// Unix datagram socket is queued before it returns).
    fn drain(&self) -> Vec<Vec<u8>> {
        let mut buf = vec![0u8; 4 << 20];
        let mut out = Vec::new();
        loop {
            match self.socket.recv(&mut buf) {
                Ok(n) => out.push(buf[..n].to_vec()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return out,
                Err(e) => panic!("recv: {e}"),
            }
        }
    }
}

/// Runs `PROGRAM ARGS...` (appended with `.arg`) in a new mount namespace
/// whose /dev is a tmpfs holding only `null` (sudo needs it) and /dev/log,
/// a symlink to `socket` (none if `None`). Nothing outside the namespace
/// changes.
fn namespaced(socket: Option<&Path>) -> Command {
    const SCRIPT: &str = r#"mount --make-rprivate / && mount -t tmpfs rootwrap-audit /dev && mknod -m 0666 /dev/null c 1 3 && { [ -z "$1" ] || ln -s "$1" /dev/log; } && shift && exec "$@""#;
    let mut command = Command::new(tool("unshare"));
    command
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LC_ALL", "C")
        .args(["-m", "/bin/sh", "-c", SCRIPT, "sh"])
        .arg(socket.map_or(OsStr::new(""), Path::as_os_str));
    command
}

/// A call of `rootwrap RULESET ARGV...` in such a namespace.
fn syslog_call<S: AsRef<OsStr>>(
    receiver: Option<&Receiver>,
    cwd: &Path,
    caller: Caller,
    ruleset: &Path,
    argv: &[S],
) -> Call {
    let mut command = namespaced(receiver.map(|r| r.path.as_path()));
    command
        .current_dir(cwd)
        .arg(&binaries().rootwrap)
        .arg(ruleset)
        .args(argv);
    let done = call(caller.apply(&mut command));
    assert!(
        !done.stderr.contains("unshare:") && !done.stderr.contains("mount:"),
        "a private mount namespace is needed for the syslog tests (root with CAP_SYS_ADMIN): {}",
        done.stderr
    );
    done
}

/// One datagram as rootwrap sends it: `<PRI>Mmm dd hh:mm:ss
/// rootwrap[PID]: MESSAGE`, no newline anywhere.
#[derive(Debug)]
struct Datagram {
    priority: u32,
    pid: u32,
    pairs: Vec<(String, String)>,
}

fn parse_datagram(bytes: &[u8]) -> Datagram {
    assert!(
        bytes.iter().all(|b| (0x20..=0x7e).contains(b)),
        "a syslog record holds a byte outside printable ASCII (a newline?): {}",
        String::from_utf8_lossy(bytes)
    );
    let text = std::str::from_utf8(bytes).unwrap();
    let rest = text.strip_prefix('<').expect("<PRI>");
    let (priority, rest) = rest.split_once('>').expect("<PRI>");
    // "Nov 26 20:49:39 " then the tag.
    assert_eq!(rest.as_bytes()[15], b' ', "timestamp in {text}");
    let rest = rest[16..]
        .strip_prefix("rootwrap[")
        .expect("the rootwrap[PID] tag");
    let (pid, message) = rest.split_once("]: ").expect("the rootwrap[PID] tag");
    Datagram {
        priority: priority.parse().unwrap(),
        pid: pid.parse().unwrap(),
        pairs: parse_kv(message),
    }
}

/// `key="value" key="value"`: single spaces between pairs, and no `"`
/// inside a value (it is written `\x22`).
fn parse_kv(message: &str) -> Vec<(String, String)> {
    let mut pairs = Vec::new();
    let mut rest = message;
    while !rest.is_empty() {
        let (key, after) = rest
            .split_once("=\"")
            .unwrap_or_else(|| panic!("not key=\"value\": {rest}"));
        assert!(
            !key.is_empty() && !key.contains([' ', '"']),
            "bad key {key:?} in {message}"
        );
        let (value, after) = after
            .split_once('"')
            .unwrap_or_else(|| panic!("unterminated value in {message}"));
        pairs.push((key.to_string(), value.to_string()));
        rest = match after.strip_prefix(' ') {
            Some(next) => {
                assert!(!next.is_empty(), "trailing space in {message}");
                next
            }
            None if after.is_empty() => after,
            None => panic!("no space after a pair in {message}"),
        };
    }
    pairs
}

/// An argv value of the syslog form: items joined by single spaces (a
/// space inside an item is `\x20`), each unescaped.
fn kv_argv(value: &str) -> Vec<Vec<u8>> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(' ').map(unescape).collect()
}

/// The pairs a syslog record documents, in order.
struct KvExpect<'a> {
    decision: &'a str,
    code: i32,
    caller: Caller,
    cwd: &'a Path,
    argv: &'a [&'a str],
    /// name, "file:line"
    rule: Option<(&'a str, String)>,
    chained_rule: Option<&'a str>,
    exec: Option<(String, Vec<String>)>,
    run_as: Option<&'a str>,
    env: &'a [(&'a str, &'a str)],
    ruleset: Option<(&'a str, &'a str)>,
    reason: Option<&'a str>,
}

impl<'a> KvExpect<'a> {
    fn new(decision: &'a str, code: i32, ctx: &Context<'a>, argv: &'a [&'a str]) -> Self {
        KvExpect {
            decision,
            code,
            caller: ctx.caller,
            cwd: ctx.cwd,
            argv,
            rule: None,
            chained_rule: None,
            exec: None,
            run_as: None,
            env: &[],
            ruleset: ctx.ruleset,
            reason: None,
        }
    }

    fn pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut put = |k: &str, v: &str| out.push((k.to_string(), v.to_string()));
        put("decision", self.decision);
        put("exit_code", &self.code.to_string());
        match self.caller {
            Caller::Root => {
                put("user", "root");
                put("uid", "0");
            }
            Caller::Sudo(user, uid) => {
                put("user", user);
                put("uid", &uid.to_string());
                put("real_uid", "0");
            }
        }
        put("host", &hostname());
        if let Some((name, source)) = &self.rule {
            put("rule", name);
            put("rule_source", source);
        }
        if let Some(name) = self.chained_rule {
            put("chained_rule", name);
        }
        if let Some((exec, _)) = &self.exec {
            put("exec", exec);
        }
        if let Some(user) = self.run_as {
            put("run_as", user);
        }
        if let Some((name, sha)) = self.ruleset {
            put("ruleset", name);
            put("ruleset_sha256", sha);
        }
        put("version", VERSION);
        put("cwd", self.cwd.to_str().unwrap());
        put("argv", &self.argv.join(" "));
        if let Some((_, argv)) = &self.exec {
            put("exec_argv", &argv.join(" "));
        }
        for (name, value) in self.env {
            put(&format!("env.{name}"), value);
        }
        if let Some(reason) = self.reason {
            put("reason", reason);
        }
        out
    }
}

const AUTHPRIV: u32 = 10;
const LOCAL3: u32 = 19;
const ERR: u32 = 3;
const WARNING: u32 = 4;
const NOTICE: u32 = 5;
const INFO: u32 = 6;

/// Exactly one datagram per call, at `priority`, saying `want`.
#[track_caller]
fn assert_one_datagram(receiver: &Receiver, priority: u32, want: &KvExpect<'_>) -> Datagram {
    let datagrams = receiver.drain();
    assert_eq!(datagrams.len(), 1, "{datagrams:?}");
    let got = parse_datagram(&datagrams[0]);
    assert_eq!(got.priority, priority, "priority of {got:?}");
    assert_eq!(got.pairs, want.pairs(), "left: sent, right: documented");
    got
}

#[test]
fn every_decision_kind_gives_the_documented_syslog_record() {
    require_root!();
    // Root's alone: the junk executable must pass the runtime's checks
    // and fail at the exec itself.
    let dir = Scratch::new_in(Path::new("/var/lib"), "audit-syslog");
    let receiver = Receiver::bind(dir.path());
    let junk = write_junk(dir.path());
    let json_path = dir.join("audit.jsonl");
    let log = format!(
        "log syslog facility=local3 allowed-level=notice denied-level=err\nlog json {}",
        json_path.display()
    );
    let source = kinds_source(dir.path(), &log);
    let ruleset = compile(dir.path(), "kinds", &source);
    let rwf = ruleset.rwf.display().to_string();
    let src = |name: &'static str| Some((name, format!("{rwf}:{}", line_of(&source, name))));
    let cwd = dir.path();
    let ctx = Context {
        cwd,
        ruleset: Some(("audit-kinds", &ruleset.sha256)),
        caller: Caller::Sudo("alice", 4242),
    };
    let allowed = LOCAL3 * 8 + NOTICE;
    let other = LOCAL3 * 8 + ERR;
    let mut json = Log::new(json_path);
    let go = |argv: &[&str]| syslog_call(Some(&receiver), cwd, ctx.caller, &ruleset.rwc, argv);

    // allowed, with the rule's variables as env.NAME pairs.
    let argv = ["env", "GREETING=hello", "MODE=fast", "printenv", "GREETING"];
    let done = go(&argv);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let mut want = KvExpect::new("allowed", 0, &ctx, &argv);
    want.rule = src("greet");
    want.exec = Some((
        resolved("printenv"),
        vec![resolved("printenv"), "GREETING".into()],
    ));
    want.run_as = Some("root");
    want.env = &[("GREETING", "hello"), ("MODE", "fast")];
    let got = assert_one_datagram(&receiver, allowed, &want);
    // Both targets: the JSON file has the same call's record.
    let records = json.new_records();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["pid"], json!(got.pid));
    assert_eq!(records[0]["decision"], json!("allowed"));

    // allowed through a chain
    let argv = ["nice", "-n", "5", "true"];
    let done = go(&argv);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let mut want = KvExpect::new("allowed", 0, &ctx, &argv);
    want.rule = src("nice");
    want.chained_rule = Some("true");
    want.exec = Some((
        resolved("nice"),
        vec![resolved("nice"), "-n".into(), "5".into(), resolved("true")],
    ));
    want.run_as = Some("root");
    assert_one_datagram(&receiver, allowed, &want);

    // denied, not-found, bad-invocation: at the denied level.
    let argv = ["cat", "/etc/shadow"];
    assert_eq!(go(&argv).code, 99);
    let mut want = KvExpect::new("denied", 99, &ctx, &argv);
    want.reason = Some("Unauthorized command: cat /etc/shadow (no filter matched)");
    assert_one_datagram(&receiver, other, &want);

    let argv = ["tool"];
    assert_eq!(go(&argv).code, 96);
    let mut want = KvExpect::new("not-found", 96, &ctx, &argv);
    want.rule = src("missing");
    want.reason =
        Some("Executable not found: /nonexistent/rootwrap-audit/tool (filter match = missing)");
    assert_one_datagram(&receiver, other, &want);

    assert_eq!(go(&[]).code, 98);
    let mut want = KvExpect::new("bad-invocation", 98, &ctx, &[]);
    want.reason = Some("No command specified");
    assert_one_datagram(&receiver, other, &want);

    // exec-failed (unknown target user): one record.
    let argv = ["id", "-g"];
    assert_eq!(go(&argv).code, 126);
    let mut want = KvExpect::new("exec-failed", 126, &ctx, &argv);
    want.rule = src("ghost");
    want.exec = Some((resolved("id"), vec![resolved("id"), "-g".into()]));
    want.run_as = Some("rw-audit-no-such-user");
    want.reason = Some("the target user `rw-audit-no-such-user` does not exist on this host");
    assert_one_datagram(&receiver, other, &want);

    // exec-failed (execve refuses): allowed at the allowed level, then
    // exec-failed at the denied level, from the same process.
    let junk_path = junk.to_str().unwrap();
    let argv = [junk_path];
    assert_eq!(go(&argv).code, 126);
    let datagrams = receiver.drain();
    assert_eq!(datagrams.len(), 2, "{datagrams:?}");
    let (first, second) = (parse_datagram(&datagrams[0]), parse_datagram(&datagrams[1]));
    let mut want = KvExpect::new("allowed", 0, &ctx, &argv);
    want.rule = src("junk");
    want.exec = Some((junk_path.to_string(), vec![junk_path.to_string()]));
    want.run_as = Some("root");
    assert_eq!((first.priority, &first.pairs), (allowed, &want.pairs()));
    let reason = format!(
        "cannot execute {junk_path}: {}",
        io::Error::from_raw_os_error(8)
    );
    want.decision = "exec-failed";
    want.code = 126;
    want.reason = Some(&reason);
    assert_eq!((second.priority, &second.pairs), (other, &want.pairs()));
    assert_eq!(first.pid, second.pid);
    assert_eq!(json.new_records().len(), 7);
}

#[test]
fn syslog_defaults_are_authpriv_info_and_warning() {
    require_root!();
    let dir = Scratch::new("audit-syslog-defaults");
    let receiver = Receiver::bind(dir.path());
    let source = "ruleset audit-defaults\nexec-dirs /usr/bin /bin\nlog syslog\nallow true: true\n";
    let ruleset = compile(dir.path(), "defaults", source);
    let ctx = Context {
        cwd: dir.path(),
        ruleset: Some(("audit-defaults", &ruleset.sha256)),
        caller: Caller::Root,
    };
    let rc = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &["true"],
    );
    assert_eq!(rc.code, 0, "{}", rc.stderr);
    let mut want = KvExpect::new("allowed", 0, &ctx, &["true"]);
    want.rule = Some(("true", format!("{}:4", ruleset.rwf.display())));
    want.exec = Some((resolved("true"), vec![resolved("true")]));
    want.run_as = Some("root");
    assert_one_datagram(&receiver, AUTHPRIV * 8 + INFO, &want);

    let rc = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &["false"],
    );
    assert_eq!(rc.code, 99, "{}", rc.stderr);
    let mut want = KvExpect::new("denied", 99, &ctx, &["false"]);
    want.reason = Some("Unauthorized command: false (no filter matched)");
    assert_one_datagram(&receiver, AUTHPRIV * 8 + WARNING, &want);
}

/// Failures before a ruleset names its targets go to syslog's authpriv
/// facility at err (the fallback), if a syslog daemon listens; so does the
/// refusal of a call whose declared log target cannot be written.
#[test]
fn failures_without_targets_go_to_the_fallback_authpriv_err() {
    require_root!();
    let dir = Scratch::new("audit-fallback");
    let receiver = Receiver::bind(dir.path());
    let cwd = dir.path();
    let fallback = AUTHPRIV * 8 + ERR;
    let no_ruleset = Context {
        cwd,
        ruleset: None,
        caller: Caller::Sudo("alice", 4242),
    };

    // No arguments at all: bad-invocation.
    let mut command = namespaced(Some(&receiver.path));
    command.current_dir(cwd).arg(&binaries().rootwrap);
    let done = call(Caller::Sudo("alice", 4242).apply(&mut command));
    assert_eq!(done.code, 98, "{}", done.stderr);
    let mut want = KvExpect::new("bad-invocation", 98, &no_ruleset, &[]);
    want.reason = Some("No command specified");
    assert_one_datagram(&receiver, fallback, &want);

    // An untrusted ruleset (not root's): bad-ruleset, no ruleset fields.
    let source = "ruleset audit-fallback\nexec-dirs /usr/bin /bin\nlog syslog facility=local3\nallow true: true\n";
    let ruleset = compile(dir.path(), "fallback", source);
    std::os::unix::fs::chown(&ruleset.rwc, Some(65534), None).unwrap();
    let shown = ruleset.rwc.display().to_string();
    let done = syslog_call(
        Some(&receiver),
        cwd,
        no_ruleset.caller,
        &ruleset.rwc,
        &["true"],
    );
    assert_eq!(done.code, 97, "{}", done.stderr);
    let reason = format!("{shown}: the ruleset is owned by uid 65534, not by root");
    let mut want = KvExpect::new("bad-ruleset", 97, &no_ruleset, &["true"]);
    want.reason = Some(&reason);
    assert_one_datagram(&receiver, fallback, &want);

    // A declared JSON log that cannot be opened: refused (fail closed),
    // recorded through the fallback with the ruleset's identity, even
    // though the ruleset also declares syslog at local3.
    let marker = dir.join("marker");
    let source = format!(
        "ruleset audit-fallback\nexec-dirs /usr/bin /bin\nlog syslog facility=local3\nlog json {}/missing-dir/audit.jsonl\nallow mark: touch {}\n",
        dir.path().display(),
        marker.display()
    );
    let ruleset = compile(dir.path(), "unwritable", &source);
    let argv = ["touch", marker.to_str().unwrap()];
    let done = syslog_call(Some(&receiver), cwd, no_ruleset.caller, &ruleset.rwc, &argv);
    assert_eq!(done.code, 97, "{}", done.stderr);
    assert!(!marker.exists(), "an unauditable call ran");
    let reason = format!(
        "cannot open the audit log {}/missing-dir/audit.jsonl: {}; refusing the call (on-log-failure refuse)",
        dir.path().display(),
        io::Error::from_raw_os_error(2)
    );
    assert!(done.stderr.contains(&reason), "{}", done.stderr);
    let ctx = Context {
        ruleset: Some(("audit-fallback", &ruleset.sha256)),
        ..no_ruleset
    };
    let mut want = KvExpect::new("bad-ruleset", 97, &ctx, &argv);
    want.reason = Some(&reason);
    assert_one_datagram(&receiver, fallback, &want);
}

/// A declared syslog target that nobody listens on: refused before
/// anything runs, unless the ruleset says `on-log-failure continue`.
#[test]
fn an_unreachable_syslog_fails_closed_unless_told_to_continue() {
    require_root!();
    let dir = Scratch::new("audit-nosyslog");
    let marker = dir.join("marker");
    for (name, option) in [("refuse", ""), ("continue", "on-log-failure continue\n")] {
        let source = format!(
            "ruleset audit-nosyslog\nexec-dirs /usr/bin /bin\nlog syslog\n{option}allow mark: touch {}\n",
            marker.display()
        );
        let ruleset = compile(dir.path(), name, &source);
        let argv = ["touch", marker.to_str().unwrap()];
        let done = syslog_call(None, dir.path(), Caller::Root, &ruleset.rwc, &argv);
        if name == "refuse" {
            assert_eq!(done.code, 97, "{}", done.stderr);
            assert!(!marker.exists(), "an unauditable call ran");
            assert!(
                done.stderr.contains("cannot reach syslog at /dev/log")
                    && done.stderr.contains("refusing the call"),
                "{}",
                done.stderr
            );
        } else {
            assert_eq!(done.code, 0, "{}", done.stderr);
            assert!(marker.exists(), "on-log-failure continue must run the call");
            assert!(
                done.stderr.contains("cannot reach syslog at /dev/log")
                    && done.stderr.contains("on-log-failure continue"),
                "stderr must say why: {}",
                done.stderr
            );
        }
    }
}

// ---------------------------------------------------------------------------
// (c) hostile arguments

/// Arguments that would break or forge a naive record.
fn hostile_args() -> Vec<OsString> {
    let bytes: Vec<&[u8]> = vec![
        b"line1\nline2\r\n decision=\"allowed\"",
        b"{\"time\":\"forged\"}",
        b"say \"hi\" \\\" \\x41 \\\\ \\",
        b"\x1b[31mred\x1b[0m\x1b]0;title\x07",
        b"\xff\xfe\xc3( \xe2\x82",
        "caf\u{e9} \u{202e}txt.exe".as_bytes(),
        b"two  spaces ",
        b"",
        b" ",
        b"\t\x00-is-not-possible-but-\x7f",
    ];
    let mut args: Vec<OsString> = bytes
        .into_iter()
        .map(|b| OsString::from_vec(b.iter().copied().filter(|&c| c != 0).collect()))
        .collect();
    // 100 KB of every byte value but NUL (argv cannot hold NUL).
    let big: Vec<u8> = (0..100 * 1024).map(|i| (i % 255 + 1) as u8).collect();
    args.push(OsString::from_vec(big));
    args
}

fn as_bytes(args: &[OsString]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

#[test]
fn hostile_arguments_give_one_well_formed_reversible_json_line() {
    require_root!();
    let dir = Scratch::new("audit-hostile");
    let log_path = dir.join("audit.jsonl");
    let source = format!(
        "ruleset audit-hostile\nexec-dirs /usr/bin /bin\nlog json {}\nallow any: true ... because \"audit tests: any arguments\"\n",
        log_path.display()
    );
    let ruleset = compile(dir.path(), "hostile", &source);
    let args = hostile_args();
    let mut log = Log::new(log_path.clone());

    // Allowed (argv and exec_argv) and denied (argv only).
    for program in ["true", "false"] {
        let mut argv = vec![OsString::from(program)];
        argv.extend(args.iter().cloned());
        let done = call(&mut rootwrap(dir.path(), &ruleset.rwc, &argv));
        assert_eq!(
            done.code,
            if program == "true" { 0 } else { 99 },
            "{}",
            done.stderr
        );
        let records = log.new_records();
        assert_eq!(records.len(), 1);
        assert_eq!(json_argv(&records[0]["argv"]), as_bytes(&argv));
        if program == "true" {
            let mut exec_argv = vec![OsString::from(resolved("true"))];
            exec_argv.extend(args.iter().cloned());
            assert_eq!(json_argv(&records[0]["exec_argv"]), as_bytes(&exec_argv));
        }
    }
    // json_lines checked: one line per record, printable ASCII, one object.
    let lines = json_lines(&log_path);
    assert_eq!(lines.len(), 2);
    for ((text, record), decision) in lines.iter().zip(["allowed", "denied"]) {
        // No argument forged or displaced a field (json_lines also checked
        // that the keys are the documented ones, each once, in order).
        assert_eq!(record["decision"], json!(decision));
        parse_time(record["time"].as_str().unwrap());
        assert!(text.len() > 100 * 1024);
    }
}

#[test]
fn hostile_arguments_give_one_well_formed_reversible_syslog_line() {
    require_root!();
    let dir = Scratch::new("audit-hostile-syslog");
    let receiver = Receiver::bind(dir.path());
    let source = "ruleset audit-hostile\nexec-dirs /usr/bin /bin\nlog syslog\nallow any: true ... because \"audit tests: any arguments\"\n";
    let ruleset = compile(dir.path(), "hostile", source);
    // Without the 100 KB argument: it has its own call below.
    let mut args = hostile_args();
    args.pop();
    // An empty argument shows as nothing between its separators: keep
    // boundaries countable by not ending on one.
    args.push(OsString::from("last"));

    let mut argv = vec![OsString::from("true")];
    argv.extend(args.iter().cloned());
    let done = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &argv,
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    let datagrams = receiver.drain();
    assert_eq!(datagrams.len(), 1);
    let got = parse_datagram(&datagrams[0]);
    let field = |key: &str| -> &str {
        let found: Vec<&(String, String)> = got.pairs.iter().filter(|(k, _)| k == key).collect();
        assert_eq!(found.len(), 1, "{key} must appear once: {:?}", got.pairs);
        &found[0].1
    };
    assert_eq!(field("decision"), "allowed", "an argument forged a field");
    assert_eq!(kv_argv(field("argv")), as_bytes(&argv));
    let mut exec_argv = vec![OsString::from(resolved("true"))];
    exec_argv.extend(args.iter().cloned());
    assert_eq!(kv_argv(field("exec_argv")), as_bytes(&exec_argv));

    // A 100 KB argument: the syslog line is cut to its limit, ending in a
    // marker that says how much was cut (the JSON log keeps every byte), so
    // the record still arrives, as one datagram on one line.
    let big: String = (0..100_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let argv = ["true", big.as_str(), "end"];
    let done = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &argv,
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    let datagrams = receiver.drain();
    assert_eq!(
        datagrams.len(),
        1,
        "the record of a 100 KB argument was lost"
    );
    assert!(!datagrams[0].contains(&b'\n'));
    assert!(datagrams[0].len() < 8_300, "{} bytes", datagrams[0].len());
    let got = parse_datagram(&datagrams[0]);
    let value = |key: &str| {
        got.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("decision").as_deref(), Some("allowed"));
    let cut: usize = value("truncated")
        .expect("a truncation marker")
        .parse()
        .unwrap();
    assert!(cut > 190_000, "cut {cut} bytes");
    let argv_value = value("argv").unwrap();
    assert!(argv_value.starts_with(&format!("true {}", &big[..5_000])));
    assert!(argv_value.ends_with("..."));
}

/// A record too large for one syslog datagram (here: 100 KB of control
/// bytes, escaped four times larger, twice) must not vanish while the
/// command runs: either it reaches syslog or the call is refused.
#[test]
fn an_oversized_syslog_record_is_not_lost_silently() {
    require_root!();
    let dir = Scratch::new("audit-oversized");
    let receiver = Receiver::bind(dir.path());
    let marker = dir.join("marker");
    let source = format!(
        "ruleset audit-oversized\nexec-dirs /usr/bin /bin\nlog syslog\nallow mark: touch {} ... because \"audit tests\"\n",
        marker.display()
    );
    let ruleset = compile(dir.path(), "oversized", &source);
    let big = OsString::from_vec(vec![0x01; 100 * 1024]);
    let argv = [
        OsString::from("touch"),
        marker.clone().into_os_string(),
        big,
    ];
    let done = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &argv,
    );
    let datagrams = receiver.drain();
    assert!(
        datagrams.len() == 1 || (done.code == 97 && !marker.exists()),
        "exit {}, {} datagram(s), command ran: {}",
        done.code,
        datagrams.len(),
        marker.exists(),
    );
}

// ---------------------------------------------------------------------------
// (d) the JSON file's security

/// A ruleset logging to `log_path` whose one rule creates `marker`.
fn marker_ruleset(dir: &Path, name: &str, log_path: &Path, marker: &Path, extra: &str) -> Compiled {
    let source = format!(
        "ruleset audit-file\nexec-dirs /usr/bin /bin\nlog json {}\n{extra}allow mark: touch {}\n",
        log_path.display(),
        marker.display()
    );
    compile(dir, name, &source)
}

#[test]
fn the_json_log_is_created_0600_root_and_appended_to() {
    require_root!();
    let dir = Scratch::new("audit-create");
    let log_path = dir.join("audit.jsonl");
    let marker = dir.join("marker");
    let ruleset = marker_ruleset(dir.path(), "create", &log_path, &marker, "");
    let argv = ["touch", marker.to_str().unwrap()];
    // A permissive umask must not leak into the file's mode.
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", "umask 000 && exec \"$@\"", "sh"])
        .arg(&binaries().rootwrap)
        .arg(&ruleset.rwc)
        .args(argv)
        .current_dir(dir.path());
    let done = call(&mut command);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(marker.exists());
    let meta = fs::symlink_metadata(&log_path).unwrap();
    assert!(meta.is_file());
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o600)
    );
    // Appended, not truncated: an existing record stays.
    let done = call(&mut rootwrap(dir.path(), &ruleset.rwc, &argv));
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(json_lines(&log_path).len(), 2);
}

#[test]
fn a_symlink_at_the_json_log_path_is_refused_and_nothing_runs() {
    require_root!();
    let dir = Scratch::new("audit-symlink");
    let log_path = dir.join("audit.jsonl");
    let elsewhere = dir.join("elsewhere");
    fs::write(&elsewhere, "").unwrap();
    set_mode(&elsewhere, 0o600);
    symlink(&elsewhere, &log_path).unwrap();
    // A dangling link too: it must not be created through.
    let dangling = dir.join("dangling.jsonl");
    symlink(dir.join("created-through-link"), &dangling).unwrap();
    let marker = dir.join("marker");
    for (name, path) in [("link", &log_path), ("dangling", &dangling)] {
        let ruleset = marker_ruleset(dir.path(), name, path, &marker, "");
        let done = call(&mut rootwrap(
            dir.path(),
            &ruleset.rwc,
            &["touch", marker.to_str().unwrap()],
        ));
        assert_eq!(done.code, 97, "{}", done.stderr);
        let message = format!(
            "rootwrap: the audit log {} is a symbolic link; refusing the call",
            path.display()
        );
        assert!(done.stderr.contains(&message), "{}", done.stderr);
    }
    assert!(!marker.exists(), "the command ran");
    assert_eq!(
        fs::read(&elsewhere).unwrap(),
        b"",
        "written through a symlink"
    );
    assert!(!dir.join("created-through-link").exists());
}

#[test]
fn a_json_log_not_owned_by_root_is_refused_and_nothing_runs() {
    require_root!();
    let dir = Scratch::new("audit-owner");
    let log_path = dir.join("audit.jsonl");
    fs::write(&log_path, "").unwrap();
    set_mode(&log_path, 0o600);
    std::os::unix::fs::chown(&log_path, Some(65534), Some(65534)).unwrap();
    let marker = dir.join("marker");
    let ruleset = marker_ruleset(dir.path(), "owner", &log_path, &marker, "");
    let done = call(&mut rootwrap(
        dir.path(),
        &ruleset.rwc,
        &["touch", marker.to_str().unwrap()],
    ));
    assert_eq!(done.code, 97, "{}", done.stderr);
    let message = format!(
        "rootwrap: the audit log {} is owned by uid 65534, not by root; refusing the call",
        log_path.display()
    );
    assert!(done.stderr.contains(&message), "{}", done.stderr);
    assert!(!marker.exists(), "the command ran");
    assert_eq!(fs::read(&log_path).unwrap(), b"");
}

#[test]
fn an_unwritable_json_log_fails_closed_unless_told_to_continue() {
    require_root!();
    let dir = Scratch::new("audit-unwritable");
    let marker = dir.join("marker");
    let missing = dir.join("no-such-dir/audit.jsonl");
    let a_directory = dir.path().to_path_buf();
    for path in [&missing, &a_directory] {
        let ruleset = marker_ruleset(dir.path(), "refuse", path, &marker, "");
        let done = call(&mut rootwrap(
            dir.path(),
            &ruleset.rwc,
            &["touch", marker.to_str().unwrap()],
        ));
        assert_eq!(done.code, 97, "{}", done.stderr);
        let message = format!("rootwrap: cannot open the audit log {}: ", path.display());
        assert!(
            done.stderr.contains(&message) && done.stderr.contains("refusing the call"),
            "{}",
            done.stderr
        );
        assert!(!marker.exists(), "the command ran");
    }

    // on-log-failure continue: runs, and stderr says why it was not logged.
    let ruleset = marker_ruleset(
        dir.path(),
        "continue",
        &missing,
        &marker,
        "on-log-failure continue\n",
    );
    let done = call(&mut rootwrap(
        dir.path(),
        &ruleset.rwc,
        &["touch", marker.to_str().unwrap()],
    ));
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(marker.exists(), "on-log-failure continue must run the call");
    let message = format!(
        "rootwrap: warning: cannot open the audit log {}: {}; continuing without it, as the ruleset says (on-log-failure continue)",
        missing.display(),
        io::Error::from_raw_os_error(2)
    );
    assert!(done.stderr.contains(&message), "{}", done.stderr);
}

// ---------------------------------------------------------------------------
// (e) concurrency

#[test]
fn concurrent_calls_never_lose_or_interleave_records() {
    require_root!();
    const WORKERS: usize = 8;
    const CALLS: usize = 200;
    let dir = Scratch::new("audit-concurrent");
    let log_path = dir.join("audit.jsonl");
    let source = format!(
        "ruleset audit-concurrent\nexec-dirs /usr/bin /bin\nlog json {}\nallow any: true ... because \"audit tests: any arguments\"\n",
        log_path.display()
    );
    let ruleset = compile(dir.path(), "concurrent", &source);
    // Call n: `true call-n [64 KB of the letter for n, every 5th call]`.
    let argv_of = |n: usize| -> Vec<String> {
        let mut argv = vec!["true".to_string(), format!("call-{n}")];
        if n.checked_rem(5) == Some(0) {
            let letter = char::from(b'a' + (n % 26) as u8);
            argv.push(std::iter::repeat_n(letter, 64 * 1024).collect());
        }
        argv
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= CALLS {
                    break;
                }
                let done = call(&mut rootwrap(dir.path(), &ruleset.rwc, &argv_of(n)));
                assert_eq!(done.code, 0, "call {n}: {}", done.stderr);
            });
        }
    });
    assert!(started.elapsed() < Duration::from_secs(60));

    // json_lines checks every line is one whole JSON object.
    let records = json_lines(&log_path);
    assert_eq!(records.len(), CALLS, "records lost or split");
    let mut seen = [false; CALLS];
    let mut pids = std::collections::BTreeSet::new();
    for (_, record) in &records {
        let argv: Vec<String> = record["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let n: usize = argv[1].strip_prefix("call-").unwrap().parse().unwrap();
        assert_eq!(argv, argv_of(n), "record of call {n} damaged");
        assert!(!seen[n], "call {n} recorded twice");
        seen[n] = true;
        assert!(pids.insert(record["pid"].as_u64().unwrap()));
    }
    assert!(seen.iter().all(|&s| s));
}

// ---------------------------------------------------------------------------
// (f) syslog through sudo: what the caller must not shape

/// `sudo -n rootwrap RULESET ARGV...` run by the service, with `TZ` set
/// (sudo keeps it), in a namespace whose /dev/log is `receiver`; with
/// rootwrap's datagrams. sudo and PAM log there too, more than the
/// socket's queue holds: it is drained while the call runs.
fn sudo_syslog_call<S: AsRef<OsStr>>(
    receiver: &Receiver,
    f: &SudoFixture,
    tz: &str,
    argv: &[S],
) -> (i32, String, Vec<Vec<u8>>) {
    let mut command = namespaced(Some(&receiver.path));
    command
        .current_dir("/")
        .arg(tool("runuser"))
        .args(["-u", CALLER, "--"])
        .arg(tool("env"))
        .arg(format!("TZ={tz}"))
        .arg(tool("sudo"))
        .arg("-n")
        .arg(&f.rootwrap)
        .arg(&f.ruleset)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    let mut datagrams = Vec::new();
    let status = loop {
        datagrams.extend(receiver.drain());
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    datagrams.extend(receiver.drain());
    let ours = datagrams
        .into_iter()
        .filter(|d| d.windows(9).any(|w| w == b"rootwrap["))
        .collect();
    (status.code().unwrap_or(-1), reader.join().unwrap(), ours)
}

/// Seconds into the day of `Mmm dd hh:mm:ss`.
fn seconds_of_day(stamp: &str) -> u32 {
    let time = &stamp[7..15];
    let part = |i: usize| time[i..i + 2].parse::<u32>().unwrap();
    part(0) * 3600 + part(3) * 60 + part(6)
}

/// The host's local time now, as syslog headers write it (`date` with no
/// TZ: the host's own zone).
fn host_local_time() -> String {
    let date = run(Command::new(tool("date"))
        .env_clear()
        .arg("+%b %e %H:%M:%S"));
    date.stdout_text().trim_end().to_string()
}

/// sudo keeps the caller's TZ, and syslog(3) dated headers by it, up to a
/// day off; and a 10 KB argument pushed the rule, exec, run-as and the
/// ruleset's digest past the 8000-byte cut. Now the header is the host's
/// local time, and those fields come before anything the caller wrote.
#[test]
fn the_caller_shapes_neither_the_syslog_header_nor_which_fields_survive_a_cut() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-audit-syslog-sudo");
    let receiver = Receiver::bind(dir.path());
    let f = SudoFixture::set_up_named(
        "syslog-sudo",
        "ruleset syslog-sudo\nexec-dirs /usr/bin /bin\nlog syslog\nallow c: cat ...\n",
        &[],
    );
    let digest = {
        let explained = run(Command::new(&binaries().compile)
            .args(["explain", "--json"])
            .arg(&f.ruleset)
            .args(["--", "true"]));
        let value: Value = serde_json::from_slice(&explained.stdout).unwrap();
        value["ruleset"]["sha256"].as_str().unwrap().to_string()
    };
    for tz in ["XXX-14", "XXX+12", "UTC"] {
        let before = host_local_time();
        let (code, stderr, datagrams) =
            sudo_syslog_call(&receiver, &f, tz, &["cat", "/nonexistent"]);
        let after = host_local_time();
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(datagrams.len(), 1, "{stderr}");
        let text = String::from_utf8(datagrams[0].clone()).unwrap();
        let stamp = &text[text.find('>').unwrap() + 1..][..15];
        let (from, to, at) = (
            seconds_of_day(&before),
            seconds_of_day(&after),
            seconds_of_day(stamp),
        );
        // Across midnight the check would need the date: not worth it.
        if from <= to {
            assert!(
                (from..=to).contains(&at),
                "TZ={tz}: header {stamp:?}, host time {before:?} .. {after:?}"
            );
        }
    }

    let long = format!("/{}etc/hostname", "./".repeat(5000));
    let (code, stderr, datagrams) = sudo_syslog_call(&receiver, &f, "UTC", &["cat", &long]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(datagrams.len(), 1);
    let got = parse_datagram(&datagrams[0]);
    let value = |key: &str| {
        got.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert!(value("truncated").is_some(), "{:?}", got.pairs);
    assert_eq!(value("decision"), Some("allowed"));
    assert_eq!(value("rule"), Some("c"));
    assert_eq!(value("exec"), Some(resolved("cat").as_str()));
    assert_eq!(value("run_as"), Some("root"));
    assert_eq!(value("ruleset"), Some("syslog-sudo"));
    assert_eq!(value("ruleset_sha256"), Some(digest.as_str()));
    assert_eq!(value("version"), Some(VERSION));
}

/// A record the logger does not take (its queue stays full) is a failed
/// write: `syslog(3)` waited for ever, or would have dropped it silently.
/// The call is refused and nothing runs.
#[test]
fn a_syslog_record_that_is_not_delivered_refuses_the_call() {
    require_root!();
    let dir = Scratch::new("audit-syslog-full");
    let receiver = Receiver::bind(dir.path());
    // Fill the receiver's queue, which nobody drains.
    let filler = UnixDatagram::unbound().unwrap();
    filler.set_nonblocking(true).unwrap();
    let mut queued = 0;
    while filler.send_to(b"<13>filler", &receiver.path).is_ok() {
        queued += 1;
        assert!(queued < 100_000, "the queue never filled");
    }
    let marker = dir.join("marker");
    let source = format!(
        "ruleset audit-full\nexec-dirs /usr/bin /bin\nlog syslog\nallow mark: touch {}\n",
        marker.display()
    );
    let ruleset = compile(dir.path(), "full", &source);
    let mut command = namespaced(Some(&receiver.path));
    command
        .current_dir(dir.path())
        .arg(&binaries().rootwrap)
        .arg(&ruleset.rwc)
        .args(["touch", marker.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    // Before, rootwrap blocked in syslog(3) for ever: give up after a
    // minute rather than hang the suite.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("rootwrap blocked on a full syslog queue");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(97), "{stderr}");
    assert!(!marker.exists(), "the command ran unrecorded");
    assert!(
        stderr.starts_with("rootwrap: cannot reach syslog at /dev/log: ")
            && stderr.ends_with("; refusing the call (on-log-failure refuse)\n"),
        "{stderr}"
    );
    drop(receiver);
}
