//! `<pid TARGET>` end to end, as deployed: the service user runs `sudo -n
//! rootwrap RULESET kill ...` for processes it did or did not start. The
//! process's executable is judged by file identity (device and inode), not
//! by the path it shows nor by the mount namespace it runs in.
//!
//! Needs root (users, sudoers, network namespaces); each test says it was
//! skipped otherwise.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rootwrap_tests::{require_root, run, tool, Ran, Scratch, SudoFixture, CALLER};

fn sleep_path() -> PathBuf {
    tool("sleep")
}

fn fixture() -> &'static SudoFixture {
    static FIXTURE: OnceLock<SudoFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let source = format!(
            "ruleset process\n\
             exec-dirs /usr/sbin /usr/bin /sbin /bin\n\
             allow kill-sleep: kill (-9 | -TERM) <pid {0}>\n\
             allow hup-sleep: kill -HUP <pid sleep>\n\
             allow usr1-root-sleep: kill -USR1 <pid {0} as root>\n",
            sleep_path().display()
        );
        SudoFixture::set_up_named("process", &source, &[])
    })
}

/// A process started for a test, killed (by its id) when dropped.
struct Running {
    child: Child,
    pid: u32,
}

impl Running {
    /// Runs `command`, whose first line on stdout must be the pid of the
    /// process to watch (a shell's `echo $$` before it execs), and waits
    /// until that process executes a file shown as `shown`.
    fn start(command: &mut Command, shown: &Path) -> Running {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let pid: u32 = line
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{command:?} printed no pid: {line:?}"));
        let running = Running { child, pid };
        running.wait_until_it_runs(shown);
        running
    }

    /// A process started directly (`ip netns exec` execs its command).
    fn direct(command: &mut Command, shown: &Path) -> Running {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let pid = child.id();
        let running = Running { child, pid };
        running.wait_until_it_runs(shown);
        running
    }

    fn wait_until_it_runs(&self, shown: &Path) {
        let started = Instant::now();
        loop {
            let exe = fs::read_link(format!("/proc/{}/exe", self.pid)).ok();
            if exe.as_deref() == Some(shown) {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "process {} never ran {} (it runs {exe:?})",
                self.pid,
                shown.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn alive(&self) -> bool {
        // A zombie has no executable any more.
        fs::read_link(format!("/proc/{}/exe", self.pid)).is_ok()
    }

    fn pid(&self) -> String {
        self.pid.to_string()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Once the child is reaped, its process (or the one it started and
        // waited for) is gone and the id may belong to another process.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = run(Command::new(tool("kill")).args(["-KILL", &self.pid.to_string()]));
            let _ = self.child.wait();
        }
    }
}

/// A network namespace made by root, deleted when dropped.
struct Netns(String);

impl Netns {
    fn add(label: &str) -> Netns {
        let name = format!("rw-{label}-{}", std::process::id());
        let added = run(Command::new(tool("ip")).args(["netns", "add", &name]));
        assert_eq!(added.code, 0, "ip netns add {name}: {}", added.stderr);
        Netns(name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run(Command::new(tool("ip")).args(["netns", "delete", &self.0]));
    }
}

/// A copy of `sleep` that belongs to the caller, in a directory of its own.
fn callers_copy_of_sleep(label: &str) -> (Scratch, PathBuf) {
    let dir = Scratch::new(label);
    let copy = dir.join("sleep");
    fs::copy(sleep_path(), &copy).unwrap();
    let uid: u32 = run(Command::new(tool("id")).args(["-u", CALLER]))
        .stdout_text()
        .trim()
        .parse()
        .unwrap();
    std::os::unix::fs::chown(&copy, Some(uid), None).unwrap();
    (dir, copy)
}

#[track_caller]
fn assert_refused_because(ran: &Ran, reason: &str) {
    assert_eq!(ran.code, 99, "stderr: {}", ran.stderr);
    assert!(ran.stderr.contains(reason), "stderr: {}", ran.stderr);
}

/// The spoof of issue 9: the caller's helper, in a user and mount namespace
/// of its own (`unshare -Urm`), bind-mounts the caller's own binary over
/// the target's path; a process in the host's namespaces then executes
/// `/proc/HELPER/root/TARGET`. Its `/proc/PID/exe` reads as the target and
/// its mount namespace and root are rootwrap's, yet it runs another file.
#[test]
fn a_binary_mounted_over_the_target_in_a_private_namespace_is_refused() {
    require_root!();
    let f = fixture();
    let sleep = sleep_path();
    let (_dir, copy) = callers_copy_of_sleep("rootwrap-e2e-spoof");
    let helper_script = format!(
        "echo $$; mount --bind {} {1} && exec {1} 300",
        copy.display(),
        sleep.display()
    );
    let helper = Running::start(
        f.as_caller()
            .arg(tool("unshare"))
            .args(["-Urm", "/bin/sh", "-c", &helper_script]),
        &sleep,
    );
    let impostor_script = format!(
        "echo $$; exec /proc/{}/root{} 300",
        helper.pid,
        sleep.display()
    );
    let impostor = Running::start(
        f.as_caller().args(["/bin/sh", "-c", &impostor_script]),
        &sleep,
    );
    // What made the old check pass: the path it shows, and the host's
    // mount namespace.
    assert_eq!(
        fs::read_link(format!("/proc/{}/ns/mnt", impostor.pid)).unwrap(),
        fs::read_link("/proc/self/ns/mnt").unwrap()
    );

    let ran = run(&mut f.sudo(&["kill", "-9", &impostor.pid()]));
    assert_refused_because(
        &ran,
        &format!(
            "process {} runs another file than {} (device ",
            impostor.pid,
            sleep.display()
        ),
    );
    assert!(impostor.alive(), "the impostor was killed");
}

/// A daemon started with `ip netns exec` runs in a mount namespace of its
/// own (ip makes one to mount the namespace's /sys), but executes the very
/// file: it matches, as in oslo.rootwrap.
#[test]
fn a_target_started_with_ip_netns_exec_matches() {
    require_root!();
    let f = fixture();
    let sleep = sleep_path();
    let netns = Netns::add("e2e-process");
    let daemon = Running::direct(
        Command::new(tool("ip"))
            .args(["netns", "exec", &netns.0])
            .arg(&sleep)
            .arg("300"),
        &sleep,
    );
    assert_ne!(
        fs::read_link(format!("/proc/{}/ns/mnt", daemon.pid)).unwrap(),
        fs::read_link("/proc/self/ns/mnt").unwrap(),
        "ip netns exec should have made a mount namespace"
    );
    let ran = run(&mut f.sudo(&["kill", "-TERM", &daemon.pid()]));
    assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);
    let mut daemon = daemon;
    let status = daemon.child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(15), "{status:?}");
}

/// A copy of the target elsewhere is another file: refused under the
/// target's path and under its bare name, and the denial says why.
#[test]
fn a_copy_of_the_target_is_refused_with_the_reason() {
    require_root!();
    let f = fixture();
    let (_dir, copy) = callers_copy_of_sleep("rootwrap-e2e-copy");
    let script = format!("echo $$; exec {} 300", copy.display());
    let copied = Running::start(f.as_caller().args(["/bin/sh", "-c", &script]), &copy);
    let ran = run(&mut f.sudo(&["kill", "-TERM", &copied.pid()]));
    assert_refused_because(
        &ran,
        &format!(
            "process {} runs another file than {} (device ",
            copied.pid,
            sleep_path().display()
        ),
    );
    let ran = run(&mut f.sudo(&["kill", "-HUP", &copied.pid()]));
    assert_refused_because(
        &ran,
        &format!(
            "process {} runs another file than sleep in the exec dirs (device ",
            copied.pid
        ),
    );
    assert!(copied.alive(), "the copy was signalled");
}

/// The target itself, started by the caller, matches a rule without a
/// user (the caller can run it); `as root` refuses it and admits root's.
#[test]
fn as_user_requires_the_processs_uids() {
    require_root!();
    let f = fixture();
    let sleep = sleep_path();
    let script = format!("echo $$; exec {} 300", sleep.display());
    let callers = Running::start(f.as_caller().args(["/bin/sh", "-c", &script]), &sleep);
    let ran = run(&mut f.sudo(&["kill", "-USR1", &callers.pid()]));
    let uid = run(Command::new(tool("id")).args(["-u", CALLER])).stdout_text();
    let uid = uid.trim();
    assert_refused_because(
        &ran,
        &format!(
            "process {} runs as uid {uid}/{uid}/{uid} (real/effective/saved), not as root (uid 0)",
            callers.pid
        ),
    );
    assert!(callers.alive());
    let ran = run(&mut f.sudo(&["kill", "-TERM", &callers.pid()]));
    assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);

    let roots = Running::start(Command::new("/bin/sh").args(["-c", &script]), &sleep);
    let ran = run(&mut f.sudo(&["kill", "-USR1", &roots.pid()]));
    assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);
    let mut roots = roots;
    let status = roots.child.wait().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(10), "{status:?}");
}
