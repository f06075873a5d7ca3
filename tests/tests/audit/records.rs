//! JSON records: parsing the file, and the record a call must give.

use super::*;

/// The top-level fields of a JSON record, in the order they are written.
pub(super) const JSON_KEYS: &[&str] = &[
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
    "rule_effect",
    "disabled",
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
pub(super) fn json_lines(path: &Path) -> Vec<(String, Map<String, Value>)> {
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
pub(super) fn top_level_keys(text: &str) -> Vec<String> {
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
pub(super) fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
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
pub(super) fn parse_time(time: &str) -> f64 {
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

pub(super) fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Reverses the runtime's escaping: `\\` is a backslash, `\xNN` the byte
/// NN, any other byte itself. Panics on anything else after a backslash.
pub(super) fn unescape(text: &str) -> Vec<u8> {
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
pub(super) fn json_bytes(value: &Value) -> Vec<u8> {
    unescape(
        value
            .as_str()
            .unwrap_or_else(|| panic!("not a string: {value}")),
    )
}

pub(super) fn json_argv(value: &Value) -> Vec<Vec<u8>> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {value}"))
        .iter()
        .map(json_bytes)
        .collect()
}

/// Who the calls of a test claim to be.
#[derive(Clone, Copy)]
pub(super) enum Caller {
    /// root, no SUDO_* variables.
    Root,
    /// `SUDO_USER`, `SUDO_UID`: rootwrap runs as root under sudo.
    Sudo(&'static str, u32),
}

impl Caller {
    pub(super) fn apply(self, command: &mut Command) -> &mut Command {
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
pub(super) struct Context<'a> {
    pub(super) cwd: &'a Path,
    pub(super) ruleset: Option<(&'a str, &'a str)>,
    pub(super) caller: Caller,
}

/// The record `ctx` documents for a call, with the fields every decision
/// has at their "nothing" values; the caller overrides the rest.
pub(super) fn expected_json(
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

pub(super) fn rule_json(name: &str, file: &Path, line: u32) -> Value {
    json!({"name": name, "file": file.to_str().unwrap(), "line": line})
}

/// Checks the record's time (taken between `before` and `after`), then
/// compares everything else field for field.
#[track_caller]
pub(super) fn assert_record(
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
pub(super) fn line_of(source: &str, name: &str) -> u32 {
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
pub(super) struct Log {
    pub(super) path: PathBuf,
    pub(super) seen: usize,
}

impl Log {
    pub(super) fn new(path: PathBuf) -> Log {
        Log { path, seen: 0 }
    }

    /// The records written since the last call.
    pub(super) fn new_records(&mut self) -> Vec<Map<String, Value>> {
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
