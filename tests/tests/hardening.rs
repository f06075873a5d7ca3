//! Regression tests for the findings of a security review of the runtime,
//! through the real binary as root: each names the attack it pins down.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rootwrap_tests::{binaries, compile_ruleset, require_root, run, Scratch};

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
