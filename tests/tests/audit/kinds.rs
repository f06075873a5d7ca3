//! (a) Every decision kind gives the documented JSON record.

use super::*;

/// The ruleset of the decision-kind tests: `log` lines are appended.
pub(super) fn kinds_source(dir: &Path, log: &str) -> String {
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
pub(super) fn write_junk(dir: &Path) -> PathBuf {
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
