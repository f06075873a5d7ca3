//! Regression tests for the findings of a security review of the runtime,
//! through the real binary as root: each names the attack it pins down.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rootwrap_tests::{
    binaries, compile_ruleset, require_root, run, tool, Ran, Scratch, SudoFixture,
};

fn rootwrap(ruleset: &Path, argv: &[&str]) -> Command {
    let mut command = Command::new(&binaries().rootwrap);
    command.arg(ruleset).args(argv);
    command
}

/// Runs `command` and asserts it exits 97 within 5 s (killing it if not).
fn assert_refused_without_blocking(mut command: Command, what: &str) {
    let started = Instant::now();
    let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert_eq!(status.code(), Some(97));
            return;
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("rootwrap blocked on {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A scope's directory is resolved only through symlinks root alone can
/// have made: a service that owns the parent directory cannot point the
/// scope at `/`.
#[test]
fn a_scope_cannot_be_redirected_by_a_symlink_the_caller_owns() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-scope");
    let service = dir.join("svc");
    fs::create_dir(&service).unwrap();
    let victim = dir.join("victim");
    fs::write(&victim, "secret").unwrap();
    rootwrap_tests::set_mode(&victim, 0o600);
    let ruleset = compile_ruleset(
        dir.path(),
        "scope",
        &format!(
            "ruleset scope\nexec-dirs /usr/bin /bin\nallow own: chown nobody <path {0}/instances/**>\nallow state: chmod 0644 <path {0}/state>\nallow trusted: chown nobody <path {1}/link/**>\n",
            service.display(),
            dir.path().display()
        ),
    );
    // The service (uid 65534 here) owns its directory and plants links.
    std::os::unix::fs::chown(&service, Some(65534), Some(65534)).unwrap();
    symlink("/", service.join("instances")).unwrap();
    std::os::unix::fs::lchown(service.join("instances"), Some(65534), Some(65534)).unwrap();
    symlink(&victim, service.join("state")).unwrap();
    std::os::unix::fs::lchown(service.join("state"), Some(65534), Some(65534)).unwrap();

    let through_link = format!("{}/instances{}", service.display(), victim.display());
    let ran = run(&mut rootwrap(&ruleset, &["chown", "nobody", &through_link]));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    let ran = run(&mut rootwrap(
        &ruleset,
        &[
            "chmod",
            "0644",
            &service.join("state").display().to_string(),
        ],
    ));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    let ran = run(&mut rootwrap(
        &ruleset,
        &["chmod", "0644", &victim.display().to_string()],
    ));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    let meta = fs::metadata(&victim).unwrap();
    assert_eq!(
        (meta.uid(), meta.mode() & 0o777),
        (0, 0o600),
        "the victim changed"
    );

    // A link root made, in a directory only root can write, still counts.
    let real = dir.join("real");
    fs::create_dir(&real).unwrap();
    fs::write(real.join("file"), "").unwrap();
    symlink(&real, dir.join("link")).unwrap();
    let ran = run(&mut rootwrap(
        &ruleset,
        &["chown", "nobody", &real.join("file").display().to_string()],
    ));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fs::metadata(real.join("file")).unwrap().uid(), 65534);
}

/// `<ip-args...>` checks all of the caller's arguments, also those the
/// rule's own items matched.
#[test]
fn ip_args_refuse_namespace_exec_even_when_the_rule_names_netns() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-ip");
    let ruleset = compile_ruleset(
        dir.path(),
        "ip",
        "ruleset ip\nexec-dirs /usr/sbin /usr/bin /sbin /bin\nallow ipn: ip (netns | vrf | link) <ip-args...> because \"test\"\n",
    );
    for argv in [
        &["ip", "netns", "exec", "x", "id"][..],
        &["ip", "vrf", "exec", "x", "id"],
        &["ip", "netns", "e", "x", "id"],
        &["ip", "link", "-batch", "/tmp/x"],
    ] {
        let ran = run(&mut rootwrap(&ruleset, argv));
        assert_eq!(ran.code, 99, "{argv:?}: {}", ran.stderr);
        assert!(ran.stdout.is_empty(), "{argv:?} ran something");
    }
}

/// A caller who makes stderr unwritable (full, or a closed pipe) cannot
/// suppress the audit record of a refusal, nor change its exit code.
#[test]
fn an_unwritable_stderr_does_not_lose_the_record() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-stderr");
    let log = dir.join("audit.jsonl");
    let ruleset = compile_ruleset(
        dir.path(),
        "stderr",
        &format!(
            "ruleset stderr\nexec-dirs /usr/bin /bin\nlog json {}\nallow t: true\n",
            log.display()
        ),
    );
    let full = fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let status = rootwrap(&ruleset, &["cat", "/etc/shadow"])
        .stdout(Stdio::null())
        .stderr(full)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(99));
    // A pipe whose reader is gone.
    let mut child = rootwrap(&ruleset, &["cat", "/etc/hostname"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    assert_eq!(child.wait().unwrap().code(), Some(99));
    let records = fs::read_to_string(&log).unwrap();
    assert_eq!(records.lines().count(), 2, "{records}");
    assert!(
        records
            .lines()
            .all(|l| l.contains("\"decision\":\"denied\"")),
        "{records}"
    );
}

/// A caller who starts rootwrap with descriptors 0, 1 and 2 closed (root
/// can, sudo reopens them) must not get the log opened as one of them:
/// rootwrap's own messages would then land in the audit log, a line the
/// caller's argument shapes into a forged record.
#[test]
fn closed_standard_descriptors_do_not_become_the_audit_log() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-stdfds");
    let log = dir.join("audit.jsonl");
    let ruleset = compile_ruleset(
        dir.path(),
        "stdfds",
        &format!(
            "ruleset stdfds\nexec-dirs /usr/bin /bin\nlog json {}\nallow t: true\n",
            log.display()
        ),
    );
    let forged = r#"{"decision":"allowed","command":"/bin/sh"}"#;
    for closed in ["<&- >&- 2>&-", ">&- 2>&-", "2>&-"] {
        let status = Command::new(tool("sh"))
            .args(["-c", &format!("exec \"$@\" {closed}"), "sh"])
            .arg(&binaries().rootwrap)
            .arg(&ruleset)
            .args(["cat", forged])
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(99), "with {closed}");
    }
    let records = records(&log);
    assert_eq!(records.len(), 3, "{records:?}");
    for record in &records {
        assert_eq!(record["decision"], "denied", "{records:?}");
    }
}

/// A FIFO at the ruleset's path is refused at once (97), not waited on.
#[test]
fn a_fifo_as_ruleset_is_refused_without_blocking() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-fifo");
    let fifo = dir.join("ruleset.rwc");
    let made = run(Command::new("mkfifo").arg(&fifo));
    assert_eq!(made.code, 0, "{}", made.stderr);
    assert_refused_without_blocking(rootwrap(&fifo, &["true"]), "a FIFO");
}

/// Signals the caller ignored or blocked do not stay ignored or blocked in
/// the command.
#[test]
fn the_command_starts_with_default_signals() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-signals");
    let ruleset = compile_ruleset(
        dir.path(),
        "signals",
        "ruleset signals\nexec-dirs /usr/bin /bin\nallow status: cat /proc/self/status\n",
    );
    // Python can ignore real-time signals too (the shell's trap cannot name
    // them portably): SIGRTMIN+5 and SIGRTMAX.
    let script = format!(
        "trap '' INT TERM HUP; exec python3 -c 'import os, signal, sys; [signal.signal(s, signal.SIG_IGN) for s in (signal.SIGRTMIN + 5, signal.SIGRTMAX)]; os.execv(sys.argv[1], sys.argv[1:])' {} {} cat /proc/self/status",
        binaries().rootwrap.display(),
        ruleset.display()
    );
    let ran = run(Command::new("/bin/sh").args(["-c", &script]));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let status = ran.stdout_text();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
            .unwrap_or_default()
            .to_string()
    };
    // Every signal but 32 and 33, which belong to the C library: it refuses
    // to change them (and this test's own environment may ignore them).
    let standard = |name: &str| u64::from_str_radix(&field(name), 16).unwrap() & !0x1_8000_0000;
    assert_eq!(standard("SigIgn:"), 0, "{status}");
    assert_eq!(standard("SigBlk:"), 0, "{status}");
}

/// A process in its own mount namespace, running a file that sits at the
/// target's path there, does not run the target: `<pid>` compares the file
/// itself (device and inode), not the path it shows.
#[test]
fn a_pid_in_another_mount_namespace_is_not_the_target() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-pid");
    let fake = dir.join("fake");
    fs::create_dir(&fake).unwrap();
    let ruleset = compile_ruleset(
        dir.path(),
        "pid",
        &format!(
            "ruleset pid\nexec-dirs /usr/bin /bin\nallow k: kill -0 <pid {}/daemon>\n",
            fake.display()
        ),
    );
    // In a private mount namespace, a tmpfs over the directory holds a copy
    // of `sleep` named like the target, which then runs.
    let script = format!(
        "mount --make-rprivate / && mount -t tmpfs t {0} && cp /usr/bin/sleep {0}/daemon && exec {0}/daemon 30",
        fake.display()
    );
    let mut impostor = Command::new("unshare")
        .args(["-m", "/bin/sh", "-c", &script])
        .spawn()
        .unwrap();
    let pid = impostor.id().to_string();
    let mut shown = String::new();
    for _ in 0..100 {
        shown = fs::read_link(format!("/proc/{pid}/exe"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if shown.ends_with("/daemon") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        shown.ends_with("/daemon"),
        "the impostor did not start: {shown}"
    );
    let ran = run(&mut rootwrap(&ruleset, &["kill", "-0", &pid]));
    let _ = impostor.kill();
    let _ = impostor.wait();
    assert_eq!(ran.code, 99, "{}", ran.stderr);
}

/// A FIFO planted at the audit log's path is refused at once (97), not
/// waited on: whoever can write the log's directory must not be able to
/// block every call.
#[test]
fn a_fifo_as_audit_log_is_refused_without_blocking() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-logfifo");
    let log = dir.join("audit.jsonl");
    let made = run(Command::new("mkfifo").arg(&log));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let ruleset = compile_ruleset(
        dir.path(),
        "logfifo",
        &format!(
            "ruleset logfifo\nexec-dirs /usr/bin /bin\nlog json {}\nallow t: true\n",
            log.display()
        ),
    );
    assert_refused_without_blocking(rootwrap(&ruleset, &["true"]), "a FIFO audit log");
}

/// An executable replaced since the process started (an upgrade) still
/// counts as the target while the deleted file is one only root can have
/// made; a deleted file of anyone else's, shown under the target's path,
/// does not.
#[test]
fn a_deleted_target_counts_only_while_root_alone_owns_it() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-deleted");
    let daemon = dir.join("daemon");
    fs::copy("/usr/bin/sleep", &daemon).unwrap();
    let ruleset = compile_ruleset(
        dir.path(),
        "deleted",
        &format!(
            "ruleset deleted\nexec-dirs /usr/bin /bin\nallow k: kill -0 <pid {}>\n",
            daemon.display()
        ),
    );
    let mut process = Command::new(&daemon).arg("300").spawn().unwrap();
    let pid = process.id().to_string();
    // The upgrade: a new file renamed over the old one.
    let new = dir.join("daemon.new");
    fs::copy("/usr/bin/sleep", &new).unwrap();
    fs::rename(&new, &daemon).unwrap();
    let shown = fs::read_link(format!("/proc/{pid}/exe")).unwrap();
    assert!(
        shown.to_string_lossy().ends_with("/daemon (deleted)"),
        "{shown:?}"
    );
    let upgraded = run(&mut rootwrap(&ruleset, &["kill", "-0", &pid]));
    // The deleted file, given to another user (through the magic link).
    std::os::unix::fs::chown(format!("/proc/{pid}/exe"), Some(65534), None).unwrap();
    let foreign = run(&mut rootwrap(&ruleset, &["kill", "-0", &pid]));
    let _ = process.kill();
    let _ = process.wait();
    assert_eq!(upgraded.code, 0, "{}", upgraded.stderr);
    assert_eq!(foreign.code, 99, "{}", foreign.stderr);
    assert!(
        foreign.stderr.contains(&format!(
            "process {pid} runs a deleted file shown as {} (device ",
            daemon.display()
        )),
        "{}",
        foreign.stderr
    );
}

/// A deleted target named bare counts only in an exec dir: one the
/// ruleset reaches through a symbolic link holds it (the kernel shows the
/// resolved path), another exec dir does not.
#[test]
fn a_deleted_bare_target_counts_only_in_an_exec_dir() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-deleted-bare");
    let (real, other) = (dir.join("real"), dir.join("other"));
    fs::create_dir(&real).unwrap();
    fs::create_dir(&other).unwrap();
    symlink(&real, dir.join("link")).unwrap();
    let daemon = real.join("daemon");
    fs::copy("/usr/bin/sleep", &daemon).unwrap();
    let ruleset = |name: &str, exec_dir: &Path| {
        let source = format!(
            "ruleset {name}\nexec-dirs {}\nallow k: /usr/bin/kill -0 <pid daemon>\n",
            exec_dir.display()
        );
        compile_ruleset(dir.path(), name, &source)
    };
    let (linked, elsewhere) = (
        ruleset("linked", &dir.join("link")),
        ruleset("elsewhere", &other),
    );
    let mut process = Command::new(&daemon).arg("300").spawn().unwrap();
    let pid = process.id().to_string();
    fs::remove_file(&daemon).unwrap();
    let argv = ["/usr/bin/kill", "-0", &pid];
    let through_link = run(&mut rootwrap(&linked, &argv));
    let not_in_exec_dirs = run(&mut rootwrap(&elsewhere, &argv));
    let _ = process.kill();
    let _ = process.wait();
    assert_eq!(through_link.code, 0, "{}", through_link.stderr);
    assert_eq!(not_in_exec_dirs.code, 99, "{}", not_in_exec_dirs.stderr);
    assert!(
        not_in_exec_dirs
            .stderr
            .contains("daemon in the exec dirs is not installed on this host"),
        "{}",
        not_in_exec_dirs.stderr
    );
}

// ---------------------------------------------------------------------------
// Through sudo, as the service: what the caller's process state must not do
// to the audit log or the command (resource limits, signal dispositions).

/// A ruleset of its own for one test, logging to `log` (with `extra`
/// options), whose rules are `rules`, and its sudo fixture.
fn logged_fixture(name: &str, log: &Path, extra: &str, rules: &str) -> SudoFixture {
    SudoFixture::set_up_named(
        name,
        &format!(
            "ruleset {name}\nexec-dirs /usr/bin /bin\nlog json {}\n{extra}{rules}",
            log.display()
        ),
        &[],
    )
}

/// How a scenario's calls are made.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    /// As the service, through sudo, after `ulimit` set soft and hard
    /// limits (sudo itself resets soft limits it can raise again).
    Sudo,
    /// By root directly, after `ulimit -S` lowered soft limits only: root
    /// can always raise them again, with or without CAP_SYS_RESOURCE.
    Direct,
}

/// `rootwrap RULESET ARGV...` from a shell that first runs `trap` (when
/// not empty) and sets each (option, value) limit: `ulimit -f 1`.
fn call_after<S: AsRef<OsStr>>(
    f: &SudoFixture,
    via: Via,
    trap: &str,
    limits: &[(&str, u64)],
    argv: &[S],
) -> Command {
    let mut setup = String::new();
    if !trap.is_empty() {
        setup = format!("trap '' {trap}; ");
    }
    for (option, value) in limits {
        let scope = if via == Via::Direct { "-S " } else { "" };
        setup += &format!("ulimit {scope}-{option} {value}; ");
    }
    setup += "exec \"$@\"";
    let mut command = match via {
        Via::Sudo => f.as_caller(),
        Via::Direct => Command::new(tool("env")),
    };
    command.args(["/bin/sh", "-c", &setup, "sh"]);
    if via == Via::Sudo {
        command.arg(tool("sudo")).arg("-n");
    }
    command.arg(&f.rootwrap).arg(&f.ruleset).args(argv);
    command
}

/// Whether root may raise hard limits here (CAP_SYS_RESOURCE in this
/// process's bounding set, which sudo's root gets): some containers drop
/// it.
fn can_raise_hard_limits() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let bounding = status
        .lines()
        .find_map(|l| l.strip_prefix("CapBnd:"))
        .unwrap()
        .trim();
    u64::from_str_radix(bounding, 16).unwrap() & (1 << 24) != 0
}

/// Where root cannot raise the hard limit the caller lowered (`resource`,
/// e.g. "FSIZE"), the call must have been refused before anything was
/// decided, with the same answer for every command line: then returns
/// true. Otherwise the limits were reset and the call went on: false.
#[track_caller]
fn refused_for_its_limits(via: Via, ran: &Ran, resource: &str) -> bool {
    if via == Via::Direct || can_raise_hard_limits() {
        return false;
    }
    let message = format!(
        "rootwrap: cannot set the resource limit RLIMIT_{resource}: Operation not permitted (os error 1)\n"
    );
    assert_eq!((ran.code, ran.stderr.as_str()), (97, message.as_str()));
    true
}

/// The records of a JSON log, each line parsed (a line that is not one
/// JSON object fails the test).
fn records(log: &Path) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(log).unwrap_or_default();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "a torn last record: {text}"
    );
    text.lines()
        .map(|line| {
            serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON record ({e}): {line}"))
        })
        .collect()
}

/// A long argument: its record is larger than the 512-byte block of the
/// shell's `ulimit -f 1`.
fn long_arg() -> String {
    "x".repeat(2000)
}

/// `ulimit -f 1` (512 bytes) used to kill rootwrap with SIGXFSZ in the
/// middle of the record of a denial: no record, and a dead process.
#[test]
fn a_file_size_limit_does_not_kill_the_record_of_a_denial() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-fsize");
    let log = dir.join("audit.jsonl");
    let f = logged_fixture("fsize", &log, "", "allow t: true\n");
    let arg = long_arg();
    for via in [Via::Direct, Via::Sudo] {
        let _ = fs::remove_file(&log);
        let ran = run(&mut call_after(&f, via, "", &[("f", 1)], &["cat", &arg]));
        if refused_for_its_limits(via, &ran, "FSIZE") {
            continue;
        }
        assert_eq!(ran.code, 99, "{via:?}: {}", ran.stderr);
        let records = records(&log);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["decision"], "denied");
        assert_eq!(records[0]["argv"][1], arg.as_str());
    }
}

/// With SIGXFSZ ignored the record write used to fail instead: denials went
/// unrecorded, and exit 97 "refusing the call" told the caller which
/// commands are allowed. Now every call is recorded and exits as usual
/// (or, where the limit cannot be raised, every call is refused alike).
#[test]
fn an_ignored_sigxfsz_neither_hides_calls_nor_tells_allowed_from_denied() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-xfsz");
    let log = dir.join("audit.jsonl");
    let f = logged_fixture("xfsz", &log, "", "allow t: true ...\n");
    let arg = long_arg();
    for via in [Via::Direct, Via::Sudo] {
        let _ = fs::remove_file(&log);
        let call = |argv: &[&str]| run(&mut call_after(&f, via, "XFSZ", &[("f", 1)], argv));
        let denied = call(&["false", &arg]);
        let allowed = call(&["true", &arg]);
        if refused_for_its_limits(via, &denied, "FSIZE") {
            assert!(refused_for_its_limits(via, &allowed, "FSIZE"));
            continue;
        }
        assert_eq!(denied.code, 99, "{}", denied.stderr);
        assert_eq!(denied.stderr.lines().count(), 1, "{}", denied.stderr);
        assert_eq!(allowed.code, 0, "{}", allowed.stderr);
        assert_eq!(allowed.stderr, "");
        let decisions: Vec<_> = records(&log)
            .iter()
            .map(|r| r["decision"].clone())
            .collect();
        assert_eq!(decisions, ["denied", "allowed"]);
    }
}

/// A limit just above the log's size used to tear a record (the next one
/// then joined the fragment on one line) and the message gave away the
/// log's size ("short write: N of M bytes").
#[test]
fn a_limit_just_above_the_log_size_tears_nothing_and_leaks_nothing() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-tear");
    let log = dir.join("audit.jsonl");
    let f = logged_fixture("tear", &log, "", "allow t: true\n");
    let arg = long_arg();
    for via in [Via::Direct, Via::Sudo] {
        let _ = fs::remove_file(&log);
        for _ in 0..3 {
            assert_eq!(run(&mut f.sudo(&["false", "warm-up"])).code, 99);
        }
        let size = fs::metadata(&log).unwrap().len();
        // The next 512-byte block boundary: the record (over 2000 bytes)
        // would cross it.
        let blocks = size / 512 + 1;
        for _ in 0..2 {
            let ran = run(&mut call_after(
                &f,
                via,
                "XFSZ",
                &[("f", blocks)],
                &["false", &arg],
            ));
            if refused_for_its_limits(via, &ran, "FSIZE") {
                continue;
            }
            assert_eq!(ran.code, 99, "{}", ran.stderr);
            let expected =
                format!("rootwrap: Unauthorized command: false {arg} (no filter matched)\n");
            assert_eq!(ran.stderr, expected, "the size of the log: {size}");
        }
        // `records` checks that every line is one whole JSON object.
        let written = records(&log).len();
        assert!(
            written == 5 || (written == 3 && via == Via::Sudo),
            "{written}"
        );
    }
}

/// A torn record (a disk that filled up in the middle of one) must not
/// swallow the next: a record always starts on a fresh line.
#[test]
fn a_record_after_a_torn_one_starts_on_a_fresh_line() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-fresh");
    let log = dir.join("audit.jsonl");
    fs::write(&log, "{\"time\":\"2026-").unwrap();
    rootwrap_tests::set_mode(&log, 0o600);
    let f = logged_fixture("fresh", &log, "", "allow t: true\n");
    let ran = run(&mut f.sudo(&["false"]));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    let text = fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert_eq!(lines[0], "{\"time\":\"2026-");
    let record: serde_json::Value = serde_json::from_str(lines[1]).unwrap();
    assert_eq!(record["decision"], "denied");
}

/// With `on-log-failure continue`, a failed write let allowed commands run
/// as root unrecorded: the caller's limit no longer fails the write.
#[test]
fn a_file_size_limit_does_not_let_commands_run_unrecorded_under_continue() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-continue");
    let log = dir.join("audit.jsonl");
    let marker = dir.join("marker");
    let f = logged_fixture(
        "fsize-continue",
        &log,
        "on-log-failure continue\n",
        &format!("allow mark: touch {} ...\n", marker.display()),
    );
    let marker_arg = marker.display().to_string();
    // A long spelling of a second file: a record over the limit.
    let second = format!("{}/{}second", dir.path().display(), "./".repeat(1000));
    for via in [Via::Direct, Via::Sudo] {
        let _ = fs::remove_file(&log);
        let _ = fs::remove_file(&marker);
        let ran = run(&mut call_after(
            &f,
            via,
            "XFSZ",
            &[("f", 1)],
            &["touch", &marker_arg, &second],
        ));
        if refused_for_its_limits(via, &ran, "FSIZE") {
            assert!(!marker.exists(), "the command ran");
            continue;
        }
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        assert!(marker.exists());
        assert_eq!(ran.stderr, "");
        let records = records(&log);
        assert_eq!(records.len(), 1);
        assert_eq!(records[0]["decision"], "allowed");
    }
}

/// The limit of `name` in /proc/PID/limits text: (soft, hard).
fn limit_of(limits: &str, name: &str) -> (String, String) {
    let line = limits
        .lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no {name} in {limits}"));
    let fields: Vec<&str> = line[name.len()..].split_whitespace().collect();
    (fields[0].to_string(), fields[1].to_string())
}

/// The command used to run with the caller's 1-block file-size limit and
/// its stack limit: it now gets the documented table.
#[test]
fn the_command_runs_with_the_documented_limits_not_the_callers() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-limits");
    let log = dir.join("audit.jsonl");
    let f = logged_fixture("limits", &log, "", "allow l: cat /proc/self/limits\n");
    for (via, limits, refused_for) in [
        (Via::Direct, &[("f", 1), ("s", 1024), ("n", 64)][..], ""),
        (Via::Sudo, &[("f", 1)][..], "FSIZE"),
        (Via::Sudo, &[("s", 1024)][..], "STACK"),
    ] {
        let ran = run(&mut call_after(
            &f,
            via,
            "",
            limits,
            &["cat", "/proc/self/limits"],
        ));
        if refused_for_its_limits(via, &ran, refused_for) {
            continue;
        }
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        let limits = ran.stdout_text();
        let unlimited = ("unlimited".to_string(), "unlimited".to_string());
        assert_eq!(limit_of(&limits, "Max file size"), unlimited, "{limits}");
        assert_eq!(
            limit_of(&limits, "Max stack size"),
            ("8388608".to_string(), "unlimited".to_string())
        );
        assert_eq!(
            limit_of(&limits, "Max open files"),
            ("1024".to_string(), "4096".to_string())
        );
        assert_eq!(limit_of(&limits, "Max cpu time"), unlimited);
        assert_eq!(limit_of(&limits, "Max address space"), unlimited);
    }
}

/// A JSON log that group or others may write could be forged or emptied
/// by them: refused like a symlink, and nothing runs.
#[test]
fn a_json_log_writable_by_others_is_refused() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-logmode");
    let log = dir.join("audit.jsonl");
    let marker = dir.join("marker");
    let marker_arg = marker.display().to_string();
    let f = logged_fixture(
        "log-mode",
        &log,
        "",
        &format!("allow mark: touch {marker_arg}\n"),
    );
    for mode in [0o620, 0o602, 0o666] {
        fs::write(&log, "").unwrap();
        rootwrap_tests::set_mode(&log, mode);
        let ran = run(&mut f.sudo(&["touch", &marker_arg]));
        assert_eq!(ran.code, 97, "{}", ran.stderr);
        let message = format!(
            "rootwrap: the audit log {} is writable by group or others (mode {mode:04o}); refusing the call (on-log-failure refuse)\n",
            log.display()
        );
        assert_eq!(ran.stderr, message);
        assert!(!marker.exists(), "the command ran");
        assert_eq!(fs::read(&log).unwrap(), b"");
    }
}

/// Services forward rootwrap's stderr into their logs: an argument holding
/// a newline, an ANSI escape or invalid UTF-8 must not start a second line
/// there nor reach a terminal raw. The refusal line, `explain`'s message
/// and the record's `reason` are escaped alike, and the reason is exact
/// (invalid UTF-8 used to reach it as U+FFFD).
#[test]
fn refusal_messages_are_one_escaped_line_and_the_reason_is_exact() {
    use std::ffi::OsString;
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-hardening-escape");
    let log = dir.join("audit.jsonl");
    let f = logged_fixture("escape", &log, "", "allow t: cat /etc/hostname\n");
    let argv: Vec<OsString> = vec![
        "cat".into(),
        "x\nrootwrap: forged".into(),
        "\x1b[2K\x1b[31mred".into(),
        OsString::from_vec(b"\xff\xfe\\".to_vec()),
    ];
    let escaped = r"cat x\x0arootwrap: forged \x1b[2K\x1b[31mred \xff\xfe\\";
    let ran = run(&mut f.sudo(&argv));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    assert_eq!(
        ran.stderr,
        format!("rootwrap: Unauthorized command: {escaped} (no filter matched)\n")
    );
    let records = records(&log);
    let reason = records[0]["reason"].as_str().unwrap();
    assert_eq!(
        reason,
        format!("Unauthorized command: {escaped} (no filter matched)")
    );
    // The same bytes as the caller's, once unescaped.
    let mut exact = b"Unauthorized command: ".to_vec();
    exact.extend(
        argv.iter()
            .map(|a| a.as_bytes())
            .collect::<Vec<_>>()
            .join(&b' '),
    );
    exact.extend(b" (no filter matched)");
    assert!(!reason.contains('\u{fffd}'));
    assert_eq!(escape_like_a_record(&exact), reason);

    let explained = run(Command::new(&binaries().compile)
        .arg("explain")
        .arg(&f.ruleset)
        .arg("--")
        .args(&argv));
    assert_eq!(explained.code, 99, "{}", explained.stderr);
    let first = explained.stdout_text() + &explained.stderr;
    let message = first.lines().next().unwrap();
    assert_eq!(message, format!("denied: no rule allows `{escaped}`"));
    assert!(!first.contains('\x1b') && !first.contains("\nrootwrap: forged"));
}

/// The audit log's escaping, written out again here: printable ASCII but
/// `\` as itself, `\` doubled, every other byte `\xNN`.
fn escape_like_a_record(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|&b| match b {
            b'\\' => "\\\\".to_string(),
            0x20..=0x7e => char::from(b).to_string(),
            _ => format!("\\x{b:02x}"),
        })
        .collect()
}
