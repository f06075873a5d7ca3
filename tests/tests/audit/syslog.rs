//! (b) Syslog, to /dev/log in a private mount namespace.

use super::*;

/// A syslog daemon's socket, as far as rootwrap can tell.
pub(super) struct Receiver {
    pub(super) socket: UnixDatagram,
    pub(super) path: PathBuf,
}

impl Receiver {
    pub(super) fn bind(dir: &Path) -> Receiver {
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
    pub(super) fn drain(&self) -> Vec<Vec<u8>> {
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
pub(super) fn namespaced(socket: Option<&Path>) -> Command {
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
pub(super) fn syslog_call<S: AsRef<OsStr>>(
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

/// One datagram as rootwrap sends it: `<PRI>rootwrap[PID]: MESSAGE`, no
/// timestamp, no newline anywhere.
#[derive(Debug)]
pub(super) struct Datagram {
    pub(super) priority: u32,
    pub(super) pid: u32,
    pub(super) pairs: Vec<(String, String)>,
}

pub(super) fn parse_datagram(bytes: &[u8]) -> Datagram {
    assert!(
        bytes.iter().all(|b| (0x20..=0x7e).contains(b)),
        "a syslog record holds a byte outside printable ASCII (a newline?): {}",
        String::from_utf8_lossy(bytes)
    );
    let text = std::str::from_utf8(bytes).unwrap();
    let rest = text.strip_prefix('<').expect("<PRI>");
    let (priority, rest) = rest.split_once('>').expect("<PRI>");
    let rest = rest
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
pub(super) fn parse_kv(message: &str) -> Vec<(String, String)> {
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
pub(super) fn kv_argv(value: &str) -> Vec<Vec<u8>> {
    if value.is_empty() {
        return Vec::new();
    }
    value.split(' ').map(unescape).collect()
}

/// The pairs a syslog record documents, in order.
pub(super) struct KvExpect<'a> {
    pub(super) decision: &'a str,
    pub(super) code: i32,
    pub(super) caller: Caller,
    pub(super) cwd: &'a Path,
    pub(super) argv: &'a [&'a str],
    /// name, "file:line"
    pub(super) rule: Option<(&'a str, String)>,
    pub(super) chained_rule: Option<&'a str>,
    pub(super) exec: Option<(String, Vec<String>)>,
    pub(super) run_as: Option<&'a str>,
    pub(super) env: &'a [(&'a str, &'a str)],
    pub(super) ruleset: Option<(&'a str, &'a str)>,
    pub(super) reason: Option<&'a str>,
}

impl<'a> KvExpect<'a> {
    pub(super) fn new(
        decision: &'a str,
        code: i32,
        ctx: &Context<'a>,
        argv: &'a [&'a str],
    ) -> Self {
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

    pub(super) fn pairs(&self) -> Vec<(String, String)> {
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

pub(super) const AUTHPRIV: u32 = 10;
pub(super) const LOCAL3: u32 = 19;
pub(super) const ERR: u32 = 3;
pub(super) const WARNING: u32 = 4;
pub(super) const NOTICE: u32 = 5;
pub(super) const INFO: u32 = 6;

/// Exactly one datagram per call, at `priority`, saying `want`.
#[track_caller]
pub(super) fn assert_one_datagram(
    receiver: &Receiver,
    priority: u32,
    want: &KvExpect<'_>,
) -> Datagram {
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

/// A JSON log on a full file system: the record of a call cannot be
/// written. The fallback records an allowed call as refused, `bad-ruleset`
/// (exit 97), and a denied one as `denied`, each with the failure in its
/// reason.
#[test]
fn a_record_the_json_log_cannot_take_goes_to_the_fallback_as_what_happened() {
    require_root!();
    let dir = Scratch::new("audit-full");
    let receiver = Receiver::bind(dir.path());
    let full = dir.join("full");
    fs::create_dir(&full).unwrap();
    let log = full.join("audit.jsonl");
    let marker = dir.join("marker");
    let source = format!(
        "ruleset audit-full\nexec-dirs /usr/bin /bin\nlog json {}\nallow mark: touch {}\n",
        log.display(),
        marker.display()
    );
    let ruleset = compile(dir.path(), "full", &source);
    // In the namespace: a one-page tmpfs at `full`, filled up.
    const FILL: &str = r#"mount -t tmpfs -o size=4k rootwrap-full "$1" || exit 70; yes >"$1/filler" 2>/dev/null; shift; exec "$@""#;
    let call_on_full = |argv: &[&str]| {
        let mut command = namespaced(Some(&receiver.path));
        command
            .current_dir(dir.path())
            .args(["/bin/sh", "-c", FILL, "sh"])
            .arg(&full)
            .arg(&binaries().rootwrap)
            .arg(&ruleset.rwc)
            .args(argv);
        call(Caller::Root.apply(&mut command))
    };
    let failure = format!(
        "cannot write the audit log {}: {}",
        log.display(),
        io::Error::from_raw_os_error(28)
    );
    let fallback = |code: i32, decision: &str, reason: &str| {
        let datagrams = receiver.drain();
        assert_eq!(datagrams.len(), 1, "{datagrams:?}");
        let got = parse_datagram(&datagrams[0]);
        assert_eq!(got.priority, AUTHPRIV * 8 + ERR, "{got:?}");
        let field = |key: &str| {
            got.pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(field("decision").as_deref(), Some(decision), "{got:?}");
        assert_eq!(field("exit_code"), Some(code.to_string()), "{got:?}");
        assert_eq!(field("reason").as_deref(), Some(reason), "{got:?}");
    };

    let allowed = call_on_full(&["touch", marker.to_str().unwrap()]);
    assert_eq!(allowed.code, 97, "{}", allowed.stderr);
    assert!(!marker.exists(), "an unauditable call ran");
    let refused = format!("{failure}; refusing the call (on-log-failure refuse)");
    assert!(allowed.stderr.contains(&refused), "{}", allowed.stderr);
    fallback(97, "bad-ruleset", &refused);

    let denied = call_on_full(&["false"]);
    assert_eq!(denied.code, 99, "{}", denied.stderr);
    fallback(
        99,
        "denied",
        &format!("Unauthorized command: false (no filter matched); {failure}"),
    );
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
            // A container without /dev/log: the command's stderr, which
            // callers parse, carries nothing of rootwrap's on every call.
            assert_eq!(done.stderr, "", "{}", done.stderr);
        }
    }
}
