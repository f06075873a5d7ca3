//! `rootwrap-daemon` end to end: started by `rw-caller` through real sudo
//! with the sudoers line a service gets, used through `rootwrap-client` as
//! real users. Needs root (skips locally, never under CI).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use rootwrap_tests::{
    fixture_dir, require_root, run, run_with_stdin, tool, DaemonInstall, Scratch, SudoFixture,
    CALLER, TARGET,
};

fn audit_log(name: &str) -> PathBuf {
    fixture_dir().join(format!("{name}-audit.jsonl"))
}

fn source(name: &str, extra: &str) -> String {
    format!(
        "ruleset {name}\n\
         exec-dirs /bin /usr/bin\n\
         log json {}\n\
         allow echo: echo ... because \"tests\"\n\
         allow cat: cat\n\
         allow sh: sh -c ... because \"tests: commands that wait for the test\"\n\
         allow id as rw-target: id ... because \"tests: the target user's ids\"\n\
         {extra}",
        audit_log(name).display()
    )
}

fn set_up() -> (SudoFixture, DaemonInstall) {
    let fixture = SudoFixture::set_up_named("daemon", &source("daemon", ""), &[]);
    let install = fixture.install_daemon();
    (fixture, install)
}

/// A daemon started by `rw-caller` through sudo; stopped (SIGTERM) and
/// reaped when dropped.
struct Daemon {
    sudo: Child,
    socket: PathBuf,
    pid: u32,
    client: PathBuf,
    _stdout: BufReader<ChildStdout>,
}

impl Daemon {
    /// A handle on a daemon `systemd-socket-activate` started: no sudo and
    /// no stdout of its own (stand-ins), its pid the activator's (it execs
    /// the daemon).
    fn activated(activator: &Child, socket: &Path, install: &DaemonInstall) -> Daemon {
        Daemon {
            sudo: Command::new("true").spawn().unwrap(),
            socket: socket.to_path_buf(),
            pid: activator.id(),
            client: install.client.clone(),
            _stdout: BufReader::new(
                Command::new("true")
                    .stdout(Stdio::piped())
                    .spawn()
                    .unwrap()
                    .stdout
                    .take()
                    .unwrap(),
            ),
        }
    }

    fn start(fixture: &SudoFixture, install: &DaemonInstall) -> Daemon {
        let mut sudo = fixture
            .as_caller()
            .arg(tool("sudo"))
            .arg("-n")
            .arg(&install.daemon)
            .arg(&fixture.ruleset)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(sudo.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert!(line.ends_with('\n'), "no socket path printed: {line:?}");
        let socket = PathBuf::from(line.trim_end());
        let pid = daemon_pid(sudo.id(), &install.daemon);
        Daemon {
            sudo,
            socket,
            pid,
            client: install.client.clone(),
            _stdout: stdout,
        }
    }

    /// `rootwrap-client SOCKET ARGV...` as `user`.
    fn client_as(&self, user: &str, argv: &[&str], stdin: &[u8]) -> rootwrap_tests::Ran {
        let mut command = Command::new(tool("runuser"));
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .args(["-u", user, "--"])
            .arg(&self.client)
            .arg(&self.socket)
            .args(argv);
        run_with_stdin(&mut command, stdin)
    }

    fn client(&self, argv: &[&str]) -> rootwrap_tests::Ran {
        self.client_as(CALLER, argv, b"")
    }

    fn signal(&self, signal: &str) {
        let sent = run(Command::new(tool("kill"))
            .arg(format!("-{signal}"))
            .arg(self.pid.to_string()));
        assert_eq!(sent.code, 0, "kill -{signal}: {}", sent.stderr);
    }

    fn alive(&self) -> bool {
        alive(self.pid)
    }

    /// Waits (up to a minute: a stuck daemon fails the test, a slow machine
    /// does not) for the daemon to exit; returns sudo's exit status.
    fn wait_exit(&mut self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Some(status) = self.sudo.try_wait().unwrap() {
                return status.code().unwrap_or(-1);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("the daemon (pid {}) did not exit", self.pid);
    }

    fn fd_count(&self) -> usize {
        fs::read_dir(format!("/proc/{}/fd", self.pid))
            .unwrap()
            .count()
    }
}

impl Drop for Daemon {
    /// Cleanup only (a test that stops the daemon gracefully does so
    /// itself): its commands' process groups and the daemon are killed, so
    /// that a failed test never hangs on a command still waiting.
    fn drop(&mut self) {
        for (pid, ppid, _) in processes() {
            if ppid == self.pid {
                let _ = Command::new(tool("kill"))
                    .args(["-KILL", "--", &format!("-{pid}")])
                    .status();
            }
        }
        if alive(self.pid) {
            let _ = Command::new(tool("kill"))
                .args(["-KILL", &self.pid.to_string()])
                .status();
        }
        drop(self.sudo.stdin.take());
        let _ = self.sudo.wait();
    }
}

fn alive(pid: u32) -> bool {
    // A zombie is not alive: its parent (sudo) has not reaped it yet.
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// (pid, parent pid, state) of every process.
fn processes() -> Vec<(u32, u32, char)> {
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split(' ');
        let state = fields.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = fields.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        found.push((pid, ppid, state));
    }
    found
}

/// The daemon below process `root` (runuser, then sudo, then it).
fn daemon_pid(root: u32, daemon: &Path) -> u32 {
    let mut frontier = vec![root];
    let all = processes();
    while let Some(pid) = frontier.pop() {
        for &(child, ppid, _) in &all {
            if ppid != pid {
                continue;
            }
            let cmdline = fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            if cmdline.split(|&b| b == 0).next() == Some(daemon.as_os_str().as_encoded_bytes()) {
                return child;
            }
            frontier.push(child);
        }
    }
    panic!("no {} below pid {root}", daemon.display());
}

fn zombies_of(pid: u32) -> usize {
    processes()
        .iter()
        .filter(|&&(_, ppid, state)| ppid == pid && state == 'Z')
        .count()
}

/// The records of the audit log whose argv holds `marker`.
fn records(name: &str, marker: &str) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(audit_log(name)).unwrap_or_default();
    text.lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| {
            record["argv"]
                .as_array()
                .is_some_and(|argv| argv.iter().any(|a| a.as_str() == Some(marker)))
                || record["reason"]
                    .as_str()
                    .is_some_and(|reason| reason.contains(marker))
        })
        .collect()
}

fn uid_of(user: &str) -> u64 {
    let id = run(Command::new(tool("id")).args(["-u", user]));
    id.stdout_text().trim().parse().unwrap()
}

fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{label}-{}-{nanos}", std::process::id())
}

#[test]
fn the_daemon_runs_what_the_cli_would_and_refuses_the_rest() {
    require_root!();
    let (fixture, install) = set_up();
    let daemon = Daemon::start(&fixture, &install);

    // Its directory is the caller's alone, its socket too.
    let dir = fs::metadata(daemon.socket.parent().unwrap()).unwrap();
    assert_eq!(
        (dir.uid() as u64, dir.mode() & 0o7777),
        (uid_of(CALLER), 0o700)
    );
    let socket = fs::symlink_metadata(&daemon.socket).unwrap();
    assert_eq!(
        (socket.uid() as u64, socket.mode() & 0o7777),
        (uid_of(CALLER), 0o600)
    );

    let marker = unique("allowed");
    let echoed = daemon.client(&["echo", "hello", &marker]);
    assert_eq!((echoed.code, echoed.stderr.as_str()), (0, ""));
    assert_eq!(echoed.stdout_text(), format!("hello {marker}\n"));

    let piped = daemon.client_as(CALLER, &["cat"], b"line one\nline two");
    assert_eq!(
        (piped.code, piped.stdout_text().as_str()),
        (0, "line one\nline two")
    );

    // A denial: the CLI's status and line, and nothing ran.
    let denied_marker = unique("denied");
    let denied = daemon.client(&["ls", &denied_marker]);
    let cli = run(&mut fixture.sudo(&["ls", &denied_marker]));
    assert_eq!(denied.code, 99);
    assert_eq!((denied.code, &denied.stderr), (cli.code, &cli.stderr));
    assert!(denied.stdout.is_empty());

    // A signal death: 128 + N, as the CLI reports it.
    let killed = daemon.client(&["sh", "-c", "kill -9 $$"]);
    assert_eq!(killed.code, 137);

    // A rule's target user: its uid, gid and groups, as the CLI gives them.
    let uid = daemon.client(&["id", "-u"]);
    assert_eq!(
        uid.stdout_text().trim().parse::<u64>().unwrap(),
        uid_of(TARGET)
    );
    let groups = daemon.client(&["id", "-G"]);
    assert_eq!(
        rootwrap_tests::parse_ids(&groups.stdout_text()),
        rootwrap_tests::groups_of(TARGET)
    );
    let cli_groups = run(&mut fixture.sudo(&["id", "-G"]));
    assert_eq!(groups.stdout, cli_groups.stdout);

    // The command starts with every signal at its default and none
    // blocked, although the daemon ignores SIGPIPE and blocks the signals
    // it reads (all but 32 and 33, which the C library keeps).
    let status = daemon.client(&["sh", "-c", "exec cat /proc/self/status"]);
    for field in ["SigIgn:", "SigBlk:"] {
        let mask = status
            .stdout_text()
            .lines()
            .find_map(|line| line.strip_prefix(field))
            .map(|mask| u64::from_str_radix(mask.trim(), 16).unwrap())
            .unwrap();
        assert_eq!(mask & !0x1_8000_0000, 0, "{field} {mask:x}");
    }

    // Stderr and status of the command itself pass through.
    let failing = daemon.client(&["sh", "-c", "echo oops >&2; exit 3"]);
    assert_eq!((failing.code, failing.stderr.as_str()), (3, "oops\n"));

    // The records name the peer: its uid and pid, and the daemon as pid.
    let allowed = records("daemon", &marker);
    assert_eq!(allowed.len(), 1, "{allowed:?}");
    let record = &allowed[0];
    assert_eq!(record["decision"], "allowed");
    assert_eq!(record["uid"].as_u64(), Some(uid_of(CALLER)));
    assert_eq!(record["peer_uid"].as_u64(), Some(uid_of(CALLER)));
    assert_eq!(record["user"], CALLER);
    assert_eq!(record["pid"].as_u64(), Some(u64::from(daemon.pid)));
    assert!(record["peer_pid"].as_u64().is_some_and(|pid| pid > 0));
    let refused = records("daemon", &denied_marker);
    // One from the daemon, one from the CLI (no peer).
    assert_eq!(refused.len(), 2, "{refused:?}");
    assert_eq!(
        refused
            .iter()
            .filter(|r| r["peer_uid"].as_u64() == Some(uid_of(CALLER)))
            .count(),
        1
    );
    assert!(refused.iter().all(|r| r["decision"] == "denied"));
}

#[test]
fn extra_arguments_to_the_daemon_are_refused() {
    require_root!();
    let (fixture, install) = set_up();
    // sudo lets none through the fixture's line; a line ending in `*`
    // would: the daemon refuses them itself, before it creates anything.
    let ran = run(Command::new(&install.daemon)
        .env_clear()
        .arg(&fixture.ruleset)
        .arg("--idle=0"));
    assert_eq!(ran.code, 98, "{}", ran.stderr);
    assert!(ran.stdout.is_empty());
    assert!(
        ran.stderr.contains("exactly one argument"),
        "{}",
        ran.stderr
    );
}

#[test]
fn another_user_is_refused_by_its_peer_credentials() {
    require_root!();
    let (fixture, install) = set_up();
    let daemon = Daemon::start(&fixture, &install);
    // Even with the directory and the socket opened to everyone (a mistake
    // the file modes would otherwise not survive), the kernel's word on
    // who connected decides.
    fs::set_permissions(
        daemon.socket.parent().unwrap(),
        fs::Permissions::from_mode(0o711),
    )
    .unwrap();
    fs::set_permissions(&daemon.socket, fs::Permissions::from_mode(0o666)).unwrap();
    let marker = unique("intruder");
    let intruder = daemon.client_as(TARGET, &["echo", &marker], b"");
    assert_eq!(intruder.code, 125, "{}", intruder.stderr);
    assert!(
        intruder.stderr.contains("NotAllowed") && intruder.stdout.is_empty(),
        "{}",
        intruder.stderr
    );
    // Root is no exception: the daemon serves the user who started it.
    let root = run(Command::new(&install.client)
        .arg(&daemon.socket)
        .args(["echo", &marker]));
    assert_eq!(root.code, 125, "{}", root.stderr);
    let log = fs::read_to_string(audit_log("daemon")).unwrap();
    let target_uid = uid_of(TARGET);
    assert!(
        log.lines()
            .any(|line| line.contains(&format!("connection refused: peer uid {target_uid} "))),
        "no record of the refused peer"
    );
    assert!(records("daemon", &marker).is_empty());
    // The owner still gets served.
    assert_eq!(daemon.client(&["echo", "ok"]).code, 0);
}

#[test]
fn the_daemon_exits_when_the_process_that_started_it_goes() {
    require_root!();
    let (fixture, install) = set_up();
    let mut daemon = Daemon::start(&fixture, &install);
    let dir = daemon.socket.parent().unwrap().to_path_buf();
    assert!(dir.is_dir());
    drop(daemon.sudo.stdin.take());
    assert_eq!(daemon.wait_exit(), 0);
    assert!(!daemon.alive());
    assert!(!dir.exists(), "{} is left behind", dir.display());
}

/// Found attacking the daemon: the caller filled its socket directory with
/// a tree too deep to remove; the directory outlived the daemon, still the
/// caller's to write, and its lock file was gone, so no later start
/// would try again.
#[test]
fn a_socket_directory_that_cannot_be_removed_is_taken_back() {
    require_root!();
    let (fixture, install) = set_up();
    let mut daemon = Daemon::start(&fixture, &install);
    let dir = daemon.socket.parent().unwrap().to_path_buf();
    let deep = format!(
        "import os
os.chdir({:?})
for _ in range(1100):
    os.mkdir('d')
    os.chdir('d')
",
        dir.display().to_string()
    );
    let made = run(fixture
        .as_caller()
        .arg(tool("python3"))
        .arg("-c")
        .arg(&deep));
    assert_eq!(made.code, 0, "{}", made.stderr);
    drop(daemon.sudo.stdin.take());
    assert_eq!(daemon.wait_exit(), 0);
    let lock = dir.with_extension("lock");
    if dir.exists() {
        let meta = fs::symlink_metadata(&dir).unwrap();
        assert_eq!((meta.uid(), meta.mode() & 0o7777), (0, 0o700));
        assert!(lock.exists(), "{} is left without its lock", dir.display());
        let touched = run(fixture.as_caller().arg(tool("touch")).arg(dir.join("more")));
        assert_ne!(
            touched.code,
            0,
            "the caller still writes in {}",
            dir.display()
        );
        // Not left for the suite's other tests to trip over.
        let removed = run(Command::new(tool("rm")).arg("-rf").arg(&dir).arg(&lock));
        assert_eq!(removed.code, 0, "{}", removed.stderr);
    } else {
        assert!(!lock.exists());
    }
}

#[test]
fn sigterm_lets_the_command_in_flight_finish_then_exits() {
    require_root!();
    let (fixture, install) = set_up();
    let mut daemon = Daemon::start(&fixture, &install);
    let scratch = Scratch::new("rwd-fifo");
    let fifo = scratch.join("fifo");
    let made = run(Command::new(tool("mkfifo")).arg(&fifo));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let script = format!(
        "echo started; read line < {}; echo \"got $line\"",
        fifo.display()
    );
    let mut client = Command::new(tool("runuser"))
        .env_clear()
        .args(["-u", CALLER, "--"])
        .arg(&install.client)
        .arg(&daemon.socket)
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(client.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "started\n");
    // The command is running (blocked on the FIFO): stop the daemon.
    daemon.signal("TERM");
    // It is still there for the command in flight...
    fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "got go\n");
    assert_eq!(client.wait().unwrap().code(), Some(0));
    // ...then it exits, its directory gone.
    assert_eq!(daemon.wait_exit(), 0);
    assert!(!daemon.socket.parent().unwrap().exists());
}

/// Found attacking the daemon: sudo relays the caller's SIGUSR1, SIGQUIT
/// and others, whose default ended the daemon at once, between an
/// action's steps or before their record. They stop it as SIGTERM does.
#[test]
fn signals_the_caller_sends_through_sudo_stop_the_daemon_cleanly() {
    require_root!();
    let (fixture, install) = set_up();
    for signal in ["USR1", "USR2", "QUIT", "ALRM"] {
        let mut daemon = Daemon::start(&fixture, &install);
        let (_, sudo, _) = processes()
            .into_iter()
            .find(|(pid, _, _)| *pid == daemon.pid)
            .unwrap();
        let sent = run(Command::new(tool("runuser"))
            .args(["-u", CALLER, "--"])
            .arg(tool("kill"))
            .arg(format!("-{signal}"))
            .arg(sudo.to_string()));
        assert_eq!(sent.code, 0, "kill -{signal} as {CALLER}: {}", sent.stderr);
        assert_eq!(daemon.wait_exit(), 0, "SIG{signal}");
        let dir = daemon.socket.parent().unwrap();
        assert!(!dir.exists(), "SIG{signal} left {} behind", dir.display());
    }
}

#[test]
fn a_daemon_killed_with_sigkill_does_not_block_the_next() {
    require_root!();
    let (fixture, install) = set_up();
    let mut first = Daemon::start(&fixture, &install);
    let stale = first.socket.parent().unwrap().to_path_buf();
    first.signal("KILL");
    first.wait_exit();
    // SIGKILL left the directory behind (another test's daemon starting
    // now may already sweep it: not checked here).
    let second = Daemon::start(&fixture, &install);
    assert_ne!(second.socket, first.socket);
    assert_eq!(second.client(&["echo", "again"]).stdout_text(), "again\n");
    // The next start removed what the killed one left.
    assert!(!stale.exists(), "{} was not swept", stale.display());
}

#[test]
fn many_requests_leak_no_descriptor_and_no_zombie() {
    require_root!();
    let (fixture, install) = set_up();
    let daemon = Daemon::start(&fixture, &install);
    // Before any connection: what the daemon holds for its life.
    let before = daemon.fd_count();
    // Allowed, denied, with stdin, killed by a signal, failing: 300 calls
    // from one shell as the caller.
    let client = format!("{} {}", install.client.display(), daemon.socket.display());
    let script = format!(
        "for i in $(seq 60); do \
           {client} echo $i >/dev/null; \
           {client} ls $i 2>/dev/null; \
           echo $i | {client} cat >/dev/null; \
           {client} sh -c 'kill -9 $$'; \
           {client} sh -c 'exit 3'; \
         done; echo done"
    );
    let ran = run(fixture.as_caller().args(["sh", "-c", &script]));
    assert_eq!(ran.stdout_text(), "done\n", "{}", ran.stderr);
    // Each connection's thread closes its socket once it has seen the
    // client go: wait for the last one (a leak never gets there).
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.fd_count() != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(daemon.fd_count(), before);
    assert_eq!(zombies_of(daemon.pid), 0);
}

#[test]
fn sighup_reloads_a_good_ruleset_and_keeps_the_old_one_on_a_bad_one() {
    require_root!();
    let name = "daemon-reload";
    let fixture = SudoFixture::set_up_named(name, &source(name, ""), &[]);
    let install = fixture.install_daemon();
    let daemon = Daemon::start(&fixture, &install);
    assert_eq!(daemon.client(&["true"]).code, 99);

    // A good ruleset: `true` becomes allowed once the daemon has reloaded.
    let staging = Scratch::new_in(&fixture_dir(), ".reload");
    let good =
        rootwrap_tests::compile_ruleset(staging.path(), name, &source(name, "allow true: true\n"));
    fs::rename(&good, &fixture.ruleset).unwrap();
    daemon.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.client(&["true"]).code != 0 {
        assert!(Instant::now() < deadline, "the daemon did not reload");
        std::thread::sleep(Duration::from_millis(50));
    }

    // A bad one (writable by others): refused, said in the log, and the
    // ruleset in use stays.
    let bad = rootwrap_tests::compile_ruleset(staging.path(), name, &source(name, ""));
    fs::set_permissions(&bad, fs::Permissions::from_mode(0o666)).unwrap();
    fs::rename(&bad, &fixture.ruleset).unwrap();
    let refusals = || -> Vec<String> {
        let log = fs::read_to_string(audit_log(name)).unwrap_or_default();
        log.lines()
            .filter(|line| line.contains("reload refused"))
            .map(str::to_string)
            .collect()
    };
    let earlier = refusals().len();
    daemon.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(30);
    let refused = loop {
        if let Some(line) = refusals().get(earlier) {
            break line.clone();
        }
        assert!(Instant::now() < deadline, "no record of the refused reload");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(refused.contains("writable by group or others"), "{refused}");
    assert!(
        refused.contains("\"decision\":\"bad-ruleset\""),
        "{refused}"
    );
    assert_eq!(daemon.client(&["true"]).code, 0);
    assert!(daemon.alive());
}

#[test]
fn the_daemon_exits_after_its_idle_time() {
    require_root!();
    let name = "daemon-idle";
    let fixture = SudoFixture::set_up_named(name, &source(name, "daemon idle-timeout=1\n"), &[]);
    let install = fixture.install_daemon();
    let mut daemon = Daemon::start(&fixture, &install);
    assert_eq!(daemon.client(&["echo", "once"]).code, 0);
    // Its starter is still there (stdin open): only the idle time ends it.
    assert!(daemon.sudo.stdin.is_some());
    assert_eq!(daemon.wait_exit(), 0);
    assert!(!daemon.socket.parent().unwrap().exists());
}

/// The Python client package and what it needs: run as the caller with the
/// system python3, standard library only.
fn python(fixture: &SudoFixture, install: &DaemonInstall) -> Command {
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python");
    let daemon_cmd = format!(
        "[\"{}\", \"-n\", \"{}\", \"{}\"]",
        tool("sudo").display(),
        install.daemon.display(),
        fixture.ruleset.display()
    );
    let mut command = fixture.as_caller();
    command
        .env("PYTHONPATH", &package)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("ROOTWRAP_DAEMON_CMD", daemon_cmd)
        .current_dir(&package)
        .arg(tool("python3"));
    command
}

#[test]
fn the_python_client_is_a_drop_in_for_oslos() {
    require_root!();
    let (fixture, install) = set_up();
    let ran = run(python(&fixture, &install).args([
        "-m",
        "unittest",
        "discover",
        "-s",
        "tests",
        "-p",
        "test_*.py",
        "-v",
    ]));
    assert_eq!(ran.code, 0, "{}{}", ran.stdout_text(), ran.stderr);
    assert!(ran.stderr.contains("Ran 12 tests"), "{}", ran.stderr);
}

#[test]
fn the_python_client_restarts_a_daemon_killed_under_it() {
    require_root!();
    let (fixture, install) = set_up();
    let mut script = python(&fixture, &install)
        .arg("tests/restart.py")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(script.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let (result, sudo) = line.trim_end().rsplit_once(' ').unwrap();
    assert_eq!(result, "(0, 'first\\n', '')");
    let first = daemon_pid(sudo.parse().unwrap(), &install.daemon);
    let killed = run(Command::new(tool("kill")).args(["-KILL", &first.to_string()]));
    assert_eq!(killed.code, 0);
    let deadline = Instant::now() + Duration::from_secs(60);
    while alive(first) {
        assert!(Instant::now() < deadline, "the daemon outlived SIGKILL");
        std::thread::sleep(Duration::from_millis(20));
    }
    script.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    let (result, second_sudo) = rest.trim_end().rsplit_once(' ').unwrap();
    assert_eq!(result, "(0, 'second\\n', '')");
    assert_ne!(second_sudo, sudo, "no new daemon was started");
    assert_eq!(script.wait().unwrap().code(), Some(0));
}

/// Under socket activation the ruleset names who may connect: `users=`
/// by uid, `groups=` by the user database's membership (rw-target is in
/// rw-extra as a supplementary group, which SO_PEERCRED alone does not
/// show).
#[test]
fn socket_activation_serves_whom_the_ruleset_names() {
    require_root!();
    for (name, setting, allowed, refused) in [
        ("daemon-sd-users", "daemon users=rw-caller", CALLER, TARGET),
        ("daemon-sd-groups", "daemon groups=rw-extra", TARGET, CALLER),
    ] {
        let fixture = SudoFixture::set_up_named(name, &source(name, &format!("{setting}\n")), &[]);
        let install = fixture.install_daemon();
        let scratch = Scratch::new("rwd-activate");
        let socket = scratch.join("rootwrap.sock");
        // This first connection, root's, starts the daemon, which refuses it.
        let mut activator = socket_activated(&install.daemon, &fixture.ruleset, &socket);
        // What a socket unit's SocketMode= would do.
        fs::set_permissions(&socket, fs::Permissions::from_mode(0o666)).unwrap();
        let daemon = Daemon::activated(&activator, &socket, &install);
        let marker = unique("activated");
        let served = daemon.client_as(allowed, &["echo", &marker], b"");
        assert_eq!(
            (served.code, served.stdout_text()),
            (0, format!("{marker}\n")),
            "{name}: {}",
            served.stderr
        );
        let record = &records(name, &marker)[0];
        assert_eq!(record["peer_uid"].as_u64(), Some(uid_of(allowed)));
        let other = daemon.client_as(refused, &["echo", &marker], b"");
        assert_eq!(other.code, 125, "{name}: {}", other.stderr);
        assert!(other.stderr.contains("NotAllowed"), "{}", other.stderr);
        daemon.signal("TERM");
        let status = activator.wait().unwrap();
        let mut stderr = String::new();
        activator
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        assert_eq!(status.code(), Some(0), "{name}: {stderr}");
    }
}

/// A ruleset that names nobody cannot be socket-activated: the daemon
/// says so and exits 97 rather than serve no one (or everyone).
#[test]
fn socket_activation_without_allowed_users_is_refused() {
    require_root!();
    let (fixture, install) = set_up();
    let scratch = Scratch::new("rwd-activate-none");
    let socket = scratch.join("rootwrap.sock");
    // The first connection starts the daemon, which refuses to serve.
    let activator = socket_activated(&install.daemon, &fixture.ruleset, &socket);
    let output = activator.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(97), "{stderr}");
    assert!(stderr.contains("nobody may connect"), "{stderr}");
}

/// The unit files in dist/systemd pass `systemd-analyze verify`, with
/// their paths pointed at the installed daemon and a real ruleset.
#[test]
fn the_systemd_units_verify() {
    require_root!();
    let (fixture, install) = set_up();
    let units = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dist/systemd");
    let scratch = Scratch::new("rwd-units");
    for (template, instance) in [
        ("rootwrap-daemon@.socket", "rootwrap-daemon@daemon.socket"),
        ("rootwrap-daemon@.service", "rootwrap-daemon@daemon.service"),
    ] {
        let text = fs::read_to_string(units.join(template)).unwrap();
        assert!(text.contains("/usr/bin/rootwrap-daemon") || template.ends_with(".socket"));
        let text = text
            .replace(
                "/usr/bin/rootwrap-daemon",
                &install.daemon.display().to_string(),
            )
            .replace(
                "/etc/%i/rootwrap.rwc",
                &fixture.ruleset.display().to_string(),
            );
        fs::write(scratch.join(instance), text).unwrap();
    }
    let verified = run(Command::new(tool("systemd-analyze"))
        .arg("verify")
        .arg(scratch.join("rootwrap-daemon@daemon.socket"))
        .arg(scratch.join("rootwrap-daemon@daemon.service")));
    assert_eq!(
        verified.code,
        0,
        "{}{}",
        verified.stdout_text(),
        verified.stderr
    );
    assert_eq!(verified.stderr, "");
}

/// 16 clients (threads of one Python client, each call on a connection of
/// its own) send 10,000 requests: allowed, denied, 256 KiB of stdin, 256
/// KiB of stdout. Every reply matches its request (checked by the script),
/// every request has exactly one audit record with its decision, and the
/// daemon ends with the descriptors it started with and no zombie.
#[test]
fn load_sixteen_clients_ten_thousand_requests() {
    require_root!();
    let name = "daemon-load";
    let fixture = SudoFixture::set_up_named(
        name,
        &source(name, "daemon max-running=8 max-waiting=64 idle-timeout=0\n"),
        &[],
    );
    let install = fixture.install_daemon();
    // The script starts its own daemon through the client; this one is
    // the one measured: the script is pointed at it below.
    let daemon = Daemon::start(&fixture, &install);
    let before = daemon.fd_count();
    assert_eq!(daemon.client(&["echo", "warm"]).code, 0);
    let log_before = fs::read_to_string(audit_log(name))
        .unwrap_or_default()
        .lines()
        .count();
    // The client reaches the running daemon through a starter that prints
    // its socket and waits: `cat` keeps stdin open as sudo would.
    let mut script = python(&fixture, &install);
    let attach = format!(
        "[\"/bin/sh\", \"-c\", \"echo {}; exec cat >/dev/null\"]",
        daemon.socket.display()
    );
    script
        .env("ROOTWRAP_DAEMON_CMD", attach)
        .args(["tests/load.py", "16", "10000"]);
    let ran = run(&mut script);
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let requests: Vec<(String, String)> = ran
        .stdout_text()
        .lines()
        .map(|line| {
            let (marker, decision) = line.split_once(' ').unwrap();
            (marker.to_string(), decision.to_string())
        })
        .collect();
    assert_eq!(requests.len(), 10_000);

    let log = fs::read_to_string(audit_log(name)).unwrap();
    let new: Vec<serde_json::Value> = log
        .lines()
        .skip(log_before)
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let mut by_marker = std::collections::HashMap::new();
    for record in &new {
        let argv = record["argv"].as_array().unwrap();
        let marker = argv
            .iter()
            .filter_map(|a| a.as_str())
            .find_map(|a| a.rsplit(' ').next().filter(|w| w.starts_with("load-")))
            .map(str::to_string);
        if let Some(marker) = marker {
            *by_marker
                .entry((marker, record["decision"].as_str().unwrap().to_string()))
                .or_insert(0) += 1;
        }
    }
    // `cat` requests carry their marker in stdin, not argv: one record
    // each all the same (their count is checked below).
    let cats = new
        .iter()
        .filter(|r| r["argv"] == serde_json::json!(["cat"]))
        .count();
    let mut with_marker = 0;
    for (marker, decision) in &requests {
        if let Some(count) = by_marker.get(&(marker.clone(), decision.clone())) {
            assert_eq!(*count, 1, "{marker}: {count} records");
            with_marker += 1;
        }
    }
    assert_eq!(with_marker + cats, 10_000);
    assert_eq!(new.len(), 10_000, "one record per request, no more");

    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.fd_count() != before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(daemon.fd_count(), before);
    assert_eq!(zombies_of(daemon.pid), 0);
}

/// The Python package installs with pip (into a venv of the system
/// python3; pip fetches setuptools from PyPI for the build) and imports.
#[test]
fn the_python_client_installs_with_pip() {
    require_root!();
    let package = Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/python");
    let scratch = Scratch::new("rwd-pip");
    let venv = scratch.join("venv");
    let made = run(Command::new(tool("python3"))
        .args(["-m", "venv"])
        .arg(&venv));
    assert_eq!(made.code, 0, "{}", made.stderr);
    let installed = run(Command::new(venv.join("bin/pip"))
        .args(["install", "--quiet"])
        .arg(&package));
    assert_eq!(installed.code, 0, "{}", installed.stderr);
    let imported = run(Command::new(venv.join("bin/python"))
        .current_dir(scratch.path())
        .args([
            "-c",
            "import rootwrap_client; print(rootwrap_client.__file__); print(rootwrap_client.Client.execute.__name__)",
        ]));
    assert_eq!(imported.code, 0, "{}", imported.stderr);
    let text = imported.stdout_text();
    assert!(
        text.contains("site-packages/rootwrap_client/__init__.py"),
        "{text}"
    );
    assert!(text.ends_with("execute\n"), "{text}");
}

/// Starts `sh -c SCRIPT` through `rootwrap-client` as the caller, output
/// piped.
fn spawn_client(install: &DaemonInstall, socket: &Path, argv: &[&str]) -> Child {
    Command::new(tool("runuser"))
        .env_clear()
        .args(["-u", CALLER, "--"])
        .arg(&install.client)
        .arg(socket)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// With `max-running=1`, a command that holds the only slot until the test
/// writes to a FIFO, and touches `done` as it ends. Returns it and its
/// stdout, once it runs.
fn hold_the_slot(
    install: &DaemonInstall,
    daemon: &Daemon,
    scratch: &Scratch,
) -> (Child, BufReader<ChildStdout>) {
    let fifo = scratch.join("fifo");
    assert_eq!(run(Command::new(tool("mkfifo")).arg(&fifo)).code, 0);
    let script = format!(
        "echo running; read line < {}; echo \"$line\"; touch {}",
        fifo.display(),
        scratch.join("done").display()
    );
    let mut holder = spawn_client(install, &daemon.socket, &["sh", "-c", &script]);
    let mut out = BufReader::new(holder.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "running\n");
    (holder, out)
}

fn release(scratch: &Scratch, mut holder: Child, mut out: BufReader<ChildStdout>) {
    fs::OpenOptions::new()
        .write(true)
        .open(scratch.join("fifo"))
        .unwrap()
        .write_all(b"go\n")
        .unwrap();
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "go\n");
    assert_eq!(holder.wait().unwrap().code(), Some(0));
}

/// Past `max-waiting`, a request is refused with `Busy` (here 0: no
/// request may wait while the only slot is taken).
#[test]
fn a_request_past_the_waiting_limit_is_refused() {
    require_root!();
    let name = "daemon-busy";
    let fixture = SudoFixture::set_up_named(
        name,
        &source(name, "daemon max-running=1 max-waiting=0\n"),
        &[],
    );
    let install = fixture.install_daemon();
    let daemon = Daemon::start(&fixture, &install);
    let scratch = Scratch::new("rwd-busy");
    let (holder, out) = hold_the_slot(&install, &daemon, &scratch);
    let marker = unique("refused");
    let refused = daemon.client(&["echo", &marker]);
    assert_eq!(refused.code, 125, "{}", refused.stderr);
    assert!(refused.stderr.contains("Busy"), "{}", refused.stderr);
    assert!(records(name, &marker).is_empty(), "a refused request ran");
    release(&scratch, holder, out);
    assert_eq!(daemon.client(&["echo", "again"]).code, 0);
}

/// Within `max-waiting`, a request waits for a slot: it runs only after
/// the command holding it has ended (it sees the file that one touched).
#[test]
fn a_request_within_the_waiting_limit_waits_for_a_slot() {
    require_root!();
    let name = "daemon-wait";
    let fixture = SudoFixture::set_up_named(
        name,
        &source(name, "daemon max-running=1 max-waiting=4\n"),
        &[],
    );
    let install = fixture.install_daemon();
    let daemon = Daemon::start(&fixture, &install);
    let scratch = Scratch::new("rwd-wait");
    let (holder, out) = hold_the_slot(&install, &daemon, &scratch);
    let connected = daemon.fd_count();
    let check = format!("test -e {} && echo after", scratch.join("done").display());
    let waiting = spawn_client(&install, &daemon.socket, &["sh", "-c", &check]);
    // Its connection is open (a socket and the daemon's copy of it): its
    // request is in before the holder ends.
    let deadline = Instant::now() + Duration::from_secs(30);
    while daemon.fd_count() < connected + 2 {
        assert!(
            Instant::now() < deadline,
            "the waiting client never connected"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(100));
    release(&scratch, holder, out);
    let waited = waiting.wait_with_output().unwrap();
    assert_eq!(
        waited.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&waited.stdout), "after\n");
}

/// `systemd-socket-activate -l SOCKET DAEMON RULESET`, once it listens (the
/// socket may exist a moment before): the connection that saw it listen
/// has started the daemon.
fn socket_activated(daemon: &Path, ruleset: &Path, socket: &Path) -> std::process::Child {
    let activator = Command::new(tool("systemd-socket-activate"))
        .arg("-l")
        .arg(socket)
        .arg(daemon)
        .arg(ruleset)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::os::unix::net::UnixStream::connect(socket).is_err() {
        assert!(
            Instant::now() < deadline,
            "nothing listens at {}",
            socket.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    activator
}

/// A scope of files for the action tests: `scope/` (root's, 0755) with
/// `t/` (the target user's), and `outside/victim` (root's, 0600).
fn action_scope() -> (PathBuf, PathBuf) {
    let base = fixture_dir().join("daemon-actions-tree");
    let _ = fs::remove_dir_all(&base);
    let (scope, outside) = (base.join("scope"), base.join("outside"));
    fs::create_dir_all(scope.join("t")).unwrap();
    fs::create_dir_all(&outside).unwrap();
    for dir in [&base, &scope, &scope.join("t")] {
        rootwrap_tests::set_mode(dir, 0o755);
    }
    rootwrap_tests::set_mode(&outside, 0o700);
    let owned = run(Command::new(tool("chown"))
        .arg(format!("{TARGET}:{TARGET}"))
        .arg(scope.join("t")));
    assert_eq!(owned.code, 0, "{}", owned.stderr);
    fs::write(outside.join("victim"), "original\n").unwrap();
    rootwrap_tests::set_mode(&outside.join("victim"), 0o600);
    (scope, outside)
}

#[test]
fn actions_run_through_the_daemon_as_through_the_cli() {
    require_root!();
    let (scope, outside) = action_scope();
    let s = scope.display();
    let actions = format!(
        "action own (f: <path {s}/**>):\n    chown f {CALLER}\n\
         action show (f: <path {s}/**>):\n    read f max 1KiB\n\
         action put (f: <path-entry {s}/**>):\n    write f from stdin max 64 replace\n\
         action two (d: <path-entry {s}/*>):\n    mkdir d\n    write d/\"f\" from stdin max 8 create\n  undo:\n    rmdir d\n\
         action put-target (f: <path-entry {s}/t/*>) as {TARGET}:\n    write f from stdin max 64 create\n\
         action whoami-target () as {TARGET}:\n    run id -un\n\
         action say-root ():\n    run echo from-root\n\
         action nap () as {TARGET}:\n    run sleep 30\n\
         allow sleep-target as {TARGET}: sleep 30\n\
         allow id-target as {TARGET}: id -un\n"
    );
    let fixture =
        SudoFixture::set_up_named("daemon-actions", &source("daemon-actions", &actions), &[]);
    let install = fixture.install_daemon();
    let daemon = Daemon::start(&fixture, &install);
    let path = |name: &str| scope.join(name).display().to_string();

    // Allowed: the step runs (root's file becomes the caller's), with the
    // CLI's status, and its output comes back.
    let marker = unique("own");
    fs::write(scope.join(&marker), "mine\n").unwrap();
    let owned = daemon.client(&["@own", &path(&marker)]);
    assert_eq!((owned.code, owned.stderr.as_str()), (0, ""));
    let meta = fs::metadata(scope.join(&marker)).unwrap();
    assert_eq!(u64::from(meta.uid()), uid_of(CALLER));
    let read = daemon.client(&["@show", &path(&marker)]);
    assert_eq!((read.code, read.stdout_text().as_str()), (0, "mine\n"));
    let own_records: Vec<_> = records("daemon-actions", &path(&marker))
        .into_iter()
        .filter(|r| r["argv"][0] == "@own")
        .collect();
    assert_eq!(own_records.len(), 1, "{own_records:?}");
    let record = &own_records[0];
    assert_eq!(record["decision"], "allowed");
    assert_eq!(
        record["steps"],
        serde_json::json!([{"step": format!("1 chown {CALLER} {}", path(&marker)), "result": "ok"}])
    );
    assert_eq!(record["peer_uid"].as_u64(), Some(uid_of(CALLER)));
    assert_eq!(record["pid"].as_u64(), Some(u64::from(daemon.pid)));
    assert!(record["peer_pid"].as_u64().is_some_and(|pid| pid > 0));

    // Denied arguments: the CLI's status and line; nothing changed.
    let denied = daemon.client(&["@own", "/etc/passwd"]);
    let cli = run(&mut fixture.sudo(&["@own", "/etc/passwd"]));
    assert_eq!(denied.code, 99);
    assert_eq!((denied.code, &denied.stderr), (cli.code, &cli.stderr));
    assert_eq!(fs::metadata("/etc/passwd").unwrap().uid(), 0);

    // A failing step: the undo steps run, status 95, one record with all.
    let dir = unique("two");
    let failed = daemon.client_as(CALLER, &["@two", &path(&dir)], b"too long!");
    assert_eq!(failed.code, 95, "{}", failed.stderr);
    assert!(failed.stderr.contains("step 2"), "{}", failed.stderr);
    assert!(!scope.join(&dir).exists(), "the undo step did not run");
    let two = records("daemon-actions", &path(&dir));
    assert_eq!(two.len(), 1, "{two:?}");
    assert_eq!(two[0]["decision"], "step-failed");
    assert_eq!(
        two[0]["steps"][2],
        serde_json::json!({"step": format!("undo 1 rmdir {}", path(&dir)), "result": "ok"})
    );

    // As another user: the file is created by that user, as by the CLI.
    let made = unique("target");
    let created = daemon.client_as(
        CALLER,
        &["@put-target", &path(&format!("t/{made}"))],
        b"hi\n",
    );
    assert_eq!((created.code, created.stderr.as_str()), (0, ""));
    let meta = fs::metadata(scope.join("t").join(&made)).unwrap();
    assert_eq!(u64::from(meta.uid()), uid_of(TARGET));
    assert_eq!(
        fs::read_to_string(scope.join("t").join(&made)).unwrap(),
        "hi\n"
    );
    let whoami = daemon.client(&["@whoami-target"]);
    assert_eq!(
        (whoami.code, whoami.stdout_text().as_str()),
        (0, format!("{TARGET}\n").as_str()),
        "{}",
        whoami.stderr
    );
    // A `run` step's output is the client's, as root too.
    let said = daemon.client(&["@say-root"]);
    assert_eq!(
        (said.code, said.stdout_text().as_str()),
        (0, "from-root\n"),
        "{}",
        said.stderr
    );
    // Not as root: a file the user may not write is refused.
    let root_only = unique("rootonly");
    fs::write(scope.join("t").join(&root_only), "").unwrap();
    rootwrap_tests::set_mode(&scope.join("t").join(&root_only), 0o644);
    let refused = daemon.client_as(
        CALLER,
        &["@put-target", &path(&format!("t/{root_only}"))],
        b"x\n",
    );
    assert_eq!(refused.code, 95, "{}", refused.stderr);

    // Hostile: a link out of the scope is denied (`<path>` resolves it)
    // or, as the entry itself, never followed.
    let link = unique("link");
    std::os::unix::fs::symlink("../outside/victim", scope.join(&link)).unwrap();
    let through = daemon.client(&["@own", &path(&link)]);
    assert_eq!(through.code, 99, "{}", through.stderr);
    let replaced = daemon.client_as(CALLER, &["@put", &path(&link)], b"pwned\n");
    assert_eq!(replaced.code, 95, "{}", replaced.stderr);
    assert!(
        replaced.stderr.contains("symbolic link"),
        "{}",
        replaced.stderr
    );
    let victim = fs::metadata(outside.join("victim")).unwrap();
    assert_eq!((victim.uid(), victim.mode() & 0o7777), (0, 0o600));
    assert_eq!(
        fs::read_to_string(outside.join("victim")).unwrap(),
        "original\n"
    );

    // The request's timeout kills the action's child and its command;
    // the record says so.
    let script = format!(
        "from rootwrap_client.client import connect_and_run\n\
         e, out, err = connect_and_run({:?}, ['@nap'], b'', 300)\n\
         print(e.status, e.raw, e.timed_out)\n",
        daemon.socket.display().to_string()
    );
    let napped = run(python(&fixture, &install).arg("-c").arg(&script));
    assert_eq!(napped.stdout_text(), "137 -9 True\n", "{}", napped.stderr);
    // This daemon's: the log keeps earlier runs' records.
    let nap: Vec<_> = records("daemon-actions", "@nap")
        .into_iter()
        .filter(|record| record["pid"] == daemon.pid)
        .collect();
    assert_eq!(nap.len(), 1, "{nap:?}");
    assert_eq!(nap[0]["decision"], "step-failed");
    assert!(
        nap[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("timed out")),
        "{nap:?}"
    );

    // No child left behind, no descriptor kept.
    assert_eq!(zombies_of(daemon.pid), 0);
    assert!(
        !processes().iter().any(|&(_, ppid, _)| ppid == daemon.pid),
        "a child of the daemon outlived its action"
    );
}

/// A socket-activated daemon serves several users, and idle connections
/// cost nothing to hold: one user holding every connection locked the
/// others out. One uid may hold three quarters of them.
/// Found attacking the daemon (and the CLI alike): a command or an action
/// run `as` another user got root's descriptor of a pinned path, and read
/// through it what that user could not reach itself (a file in a
/// directory only root may search).
#[test]
fn a_target_user_gets_no_pinned_path_it_could_not_reach_itself() {
    require_root!();
    let base = fixture_dir().join("reach-tree");
    let _ = fs::remove_dir_all(&base);
    let (open, closed) = (base.join("open"), base.join("closed"));
    fs::create_dir_all(&open).unwrap();
    fs::create_dir_all(&closed).unwrap();
    rootwrap_tests::set_mode(&base, 0o755);
    rootwrap_tests::set_mode(&open, 0o755);
    rootwrap_tests::set_mode(&closed, 0o700);
    for dir in [&open, &closed] {
        fs::write(dir.join("pub.txt"), "readable by all\n").unwrap();
        rootwrap_tests::set_mode(&dir.join("pub.txt"), 0o644);
    }
    let b = base.display();
    let extra = format!(
        "allow cat-target as {TARGET}: cat <path {b}/*/pub.txt>\n\
         action show-target (f: <path {b}/*/pub.txt>) as {TARGET}:\n    read f max 1KiB\n"
    );
    let fixture = SudoFixture::set_up_named("reach", &source("reach", &extra), &[]);
    let install = fixture.install_daemon();
    let daemon = Daemon::start(&fixture, &install);
    let (open_file, closed_file) = (open.join("pub.txt"), closed.join("pub.txt"));
    for verb in ["cat-target", "@show-target"] {
        let argv = |file: &Path| {
            let mut argv = vec![if verb == "cat-target" { "cat" } else { verb }.to_string()];
            argv.push(file.display().to_string());
            argv
        };
        let cli = |file: &Path| run(&mut fixture.sudo(&argv(file)));
        let through_daemon = |file: &Path| {
            let argv = argv(file);
            daemon.client(&argv.iter().map(String::as_str).collect::<Vec<_>>())
        };
        for (how, ran) in [
            ("cli", cli(&open_file)),
            ("daemon", through_daemon(&open_file)),
        ] {
            assert_eq!(ran.code, 0, "{verb} via {how}: {}", ran.stderr);
            assert_eq!(ran.stdout_text(), "readable by all\n", "{verb} via {how}");
        }
        for (how, ran) in [
            ("cli", cli(&closed_file)),
            ("daemon", through_daemon(&closed_file)),
        ] {
            assert_eq!(
                ran.stdout_text(),
                "",
                "{verb} via {how} read through root's pin"
            );
            assert_ne!(ran.code, 0, "{verb} via {how}");
            // A command is refused before it starts; an action's step,
            // which looks the name up in the pinned directory as the user,
            // is refused by the kernel.
            let refused = format!("the target user `{TARGET}` cannot reach");
            assert!(
                ran.stderr.contains(&refused) || ran.stderr.contains("Permission denied"),
                "{verb} via {how}: {}",
                ran.stderr
            );
        }
    }
}

#[test]
fn one_user_cannot_take_every_connection_of_a_shared_daemon() {
    require_root!();
    let name = "daemon-sd-share";
    let fixture = SudoFixture::set_up_named(
        name,
        &source(name, &format!("daemon users={CALLER},{TARGET}\n")),
        &[],
    );
    let install = fixture.install_daemon();
    let scratch = Scratch::new("rwd-share");
    let socket = scratch.join("rootwrap.sock");
    let mut activator = socket_activated(&install.daemon, &fixture.ruleset, &socket);
    fs::set_permissions(&socket, fs::Permissions::from_mode(0o666)).unwrap();
    // 256 connections at once (the daemon's limit): the first 192 are
    // held, the rest refused with a `Busy` frame as they connect.
    let holder_script = r#"
import select, socket, sys, time
held = []
for _ in range(256):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(sys.argv[1])
    held.append(s)
time.sleep(1)
ready, _, _ = select.select(held, [], [], 0)
print(len(held) - len(ready), len(ready), flush=True)
sys.stdin.read()
"#;
    let mut holder = Command::new(tool("runuser"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .args(["-u", CALLER, "--", "python3", "-c", holder_script])
        .arg(&socket)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line, "192 64\n");
    let daemon = Daemon::activated(&activator, &socket, &install);
    let marker = unique("share");
    let other = daemon.client_as(TARGET, &["echo", &marker], b"");
    assert_eq!(
        (other.code, other.stdout_text()),
        (0, format!("{marker}\n")),
        "{}",
        other.stderr
    );
    let more = daemon.client_as(CALLER, &["echo", &marker], b"");
    assert!(
        more.stderr.contains("too many connections from uid"),
        "{}",
        more.stderr
    );
    drop(holder.stdin.take());
    holder.wait().unwrap();
    daemon.signal("TERM");
    assert_eq!(activator.wait().unwrap().code(), Some(0));
}
