//! Actions as deployed: `sudo rootwrap RULESET @NAME ARGS...` by the
//! unprivileged caller, with the hostile objects it can put in a scope it
//! may write to: symbolic links out of it, `..`, hard links to files
//! outside, FIFOs and devices where a file is expected, names that are not
//! UTF-8, more input than allowed, and a full file system. Nothing outside
//! the scope may change, and a failed write leaves nothing half-written.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};

use rootwrap_tests::{
    fixture_dir, require_root, run, run_with_stdin, set_mode, tool, Ran, SudoFixture, CALLER,
};

struct Fixture {
    fixture: SudoFixture,
    scope: PathBuf,
    outside: PathBuf,
}

fn base() -> PathBuf {
    fixture_dir().join("actions")
}

fn audit_log() -> PathBuf {
    base().join("audit.jsonl")
}

fn ruleset(scope: &Path) -> String {
    let log = audit_log();
    let (log, scope) = (log.display(), scope.display());
    format!(
        r#"ruleset actions
exec-dirs /usr/bin /bin
log json {log}

action put (f: <path-entry {scope}/**>):
    write f from stdin max 64 replace
action add (f: <path-entry {scope}/**>):
    write f from stdin max 64 create mode 0640 owner {CALLER}
action app (f: <path {scope}/**>):
    write f from stdin max 64 append
action cat (f: <path {scope}/**>):
    read f max 1KiB
action md (d: <path-entry {scope}/**>):
    mkdir d mode 0750 owner {CALLER}
action mdp (d: <path-entry {scope}/*>):
    mkdir d/"a"/"b" parents mode 0700
action mod (f: <path {scope}/**>):
    chmod f 0666
action own (f: <path {scope}/**>):
    chown f {CALLER}
action ln (l: <path-entry {scope}/**>):
    symlink l to "victim"
action rm (f: <path-entry {scope}/**>):
    unlink f
action rd (d: <path-entry {scope}/**>):
    rmdir d
action mv (a: <path-entry {scope}/**>, b: <path-entry {scope}/**>):
    rename a to b
action stop-sleep (p: <pid /usr/bin/sleep>):
    kill p TERM
action stop-any (p: <pid /usr/bin/sleep>, s: <signal>):
    kill p s
action swappiness (v: <int 0..100>):
    sysctl "vm.swappiness" v
action loose-key (k: re"[a-z_./]+", v: <int 0..100>):
    sysctl k v
action whoami-target () as rw-target:
    run id -un
action whoami-denied () as rw-target:
    run id -u
action whoami-root ():
    run id -un
allow id-target as rw-target: id -un
action two (d: <path-entry {scope}/*>):
    mkdir d
    write d/"f" from stdin max 8 create
  undo:
    rmdir d
allow nap: sleep 1
action slow (d: <path-entry {scope}/*>):
    mkdir d
    run sleep 1
"#
    )
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let base = base();
        let _ = fs::remove_dir_all(&base);
        let scope = base.join("scope");
        let fixture = SudoFixture::set_up_named("actions", &ruleset(&scope), &[]);
        fs::create_dir_all(&scope).unwrap();
        set_mode(&base, 0o755);
        let outside = base.join("outside");
        fs::create_dir(&outside).unwrap();
        set_mode(&outside, 0o700);
        Fixture {
            fixture,
            scope,
            outside,
        }
    })
}

/// The tests share one tree.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Fixture {
    /// `scope/` (the caller's, holding `f`), `outside/victim` (root's,
    /// 0600), and the caller's links out: `scope/out -> ../outside/victim`,
    /// `scope/outdir -> ../outside`.
    fn reset(&self) {
        let _ = run(Command::new(tool("umount")).arg(self.scope.join("full")));
        let _ = fs::remove_dir_all(&self.scope);
        fs::create_dir(&self.scope).unwrap();
        fs::write(self.scope.join("f"), "caller\n").unwrap();
        symlink("../outside/victim", self.scope.join("out")).unwrap();
        symlink("../outside", self.scope.join("outdir")).unwrap();
        let owned = run(Command::new(tool("chown"))
            .args(["-hR", &format!("{CALLER}:{CALLER}")])
            .arg(&self.scope));
        assert_eq!(owned.code, 0, "{}", owned.stderr);
        let victim = self.outside.join("victim");
        fs::write(&victim, "original\n").unwrap();
        set_mode(&victim, 0o600);
        std::os::unix::fs::chown(&victim, Some(0), Some(0)).unwrap();
    }

    fn path(&self, name: &str) -> String {
        self.scope.join(name).display().to_string()
    }

    fn call(&self, argv: &[&str], stdin: &[u8]) -> Ran {
        run_with_stdin(&mut self.fixture.sudo(argv), stdin)
    }

    /// `sh -c SCRIPT sh ROOTWRAP RULESET ARG` run by the caller: what the
    /// service user can do around its own sudo call (signal it, feed it).
    fn caller_script(&self, script: &str, arg: impl AsRef<OsStr>) -> Ran {
        run(self
            .fixture
            .as_caller()
            .args(["sh", "-c", script, "sh"])
            .arg(&self.fixture.rootwrap)
            .arg(&self.fixture.ruleset)
            .arg(arg)
            .stdin(Stdio::null()))
    }

    fn as_caller(&self, argv: &[&str]) {
        let done = run(self.fixture.as_caller().args(argv).stdin(Stdio::null()));
        assert_eq!(done.code, 0, "{argv:?}: {}", done.stderr);
    }

    /// Nothing outside the scope changed: the victim's owner, mode and
    /// content, and no new entry beside it.
    fn outside_untouched(&self) {
        let victim = self.outside.join("victim");
        let meta = fs::metadata(&victim).unwrap();
        assert_eq!(
            (meta.uid(), meta.gid(), meta.mode() & 0o7777),
            (0, 0, 0o600),
            "the file outside the scope changed owner or mode"
        );
        assert_eq!(fs::read_to_string(&victim).unwrap(), "original\n");
        assert_eq!(fs::read_dir(&self.outside).unwrap().count(), 1);
    }

    /// No temporary file or directory left behind in `dir`.
    fn no_leftovers(&self, dir: &Path) {
        for entry in fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name();
            assert!(
                !name.as_bytes().starts_with(b".rootwrap-"),
                "left behind in {}: {name:?}",
                dir.display()
            );
        }
    }

    fn last_record(&self) -> String {
        let log = fs::read_to_string(audit_log()).unwrap();
        log.lines().last().unwrap().to_string()
    }
}

fn refused(ran: &Ran, code: i32, says: &str) {
    assert_eq!(ran.code, code, "{}", ran.stderr);
    assert!(
        ran.stderr.contains(says),
        "expected {says:?} in: {}",
        ran.stderr
    );
}

#[test]
fn each_step_does_its_one_thing_for_the_caller() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    let ok = |ran: Ran| {
        assert_eq!(ran.code, 0, "{}", ran.stderr);
        ran
    };
    ok(fx.call(&["@put", &fx.path("f")], b"replaced\n"));
    assert_eq!(
        fs::read_to_string(fx.scope.join("f")).unwrap(),
        "replaced\n"
    );
    // The file kept its owner.
    assert_ne!(fs::metadata(fx.scope.join("f")).unwrap().uid(), 0);
    ok(fx.call(&["@app", &fx.path("f")], b"more\n"));
    let read = ok(fx.call(&["@cat", &fx.path("f")], b""));
    assert_eq!(read.stdout, b"replaced\nmore\n");
    ok(fx.call(&["@add", &fx.path("new")], b"new\n"));
    let meta = fs::metadata(fx.scope.join("new")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_ne!(meta.uid(), 0, "owner set at creation");
    ok(fx.call(&["@md", &fx.path("dir")], b""));
    let meta = fs::metadata(fx.scope.join("dir")).unwrap();
    assert_eq!((meta.is_dir(), meta.mode() & 0o7777), (true, 0o750));
    ok(fx.call(&["@mdp", &fx.path("p")], b""));
    assert!(fx.scope.join("p/a/b").is_dir());
    ok(fx.call(&["@mod", &fx.path("new")], b""));
    assert_eq!(
        fs::metadata(fx.scope.join("new")).unwrap().mode() & 0o7777,
        0o666
    );
    ok(fx.call(&["@ln", &fx.path("link")], b""));
    assert_eq!(
        fs::read_link(fx.scope.join("link")).unwrap(),
        Path::new("victim")
    );
    ok(fx.call(&["@mv", &fx.path("new"), &fx.path("moved")], b""));
    assert!(fx.scope.join("moved").is_file() && !fx.scope.join("new").exists());
    ok(fx.call(&["@rm", &fx.path("moved")], b""));
    ok(fx.call(&["@rd", &fx.path("dir")], b""));
    assert!(!fx.scope.join("dir").exists());
    let record = fx.last_record();
    assert!(
        record.contains(r#""decision":"allowed""#)
            && record.contains(&format!(
                r#""steps":[{{"step":"1 rmdir {}","result":"ok"}}]"#,
                fx.path("dir")
            )),
        "{record}"
    );
    fx.outside_untouched();
}

#[test]
fn links_out_of_the_scope_and_dot_dot_reach_nothing_outside() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    let through_dir = fx.path("outdir/victim");
    let dot_dot = format!("{}/../outside/victim", fx.scope.display());
    // The path resolves outside the scope: denied before any step.
    for argv in [
        vec!["@mod", &through_dir],
        vec!["@own", &through_dir],
        vec!["@app", &through_dir],
        vec!["@cat", &through_dir],
        vec!["@put", &through_dir],
        vec!["@rm", &through_dir],
        vec!["@mod", &dot_dot],
        vec!["@put", &dot_dot],
        vec!["@md", &format!("{}/../outside/new", fx.scope.display())],
    ] {
        let ran = fx.call(&argv, b"pwned\n");
        assert_eq!(ran.code, 99, "{argv:?}: {}", ran.stderr);
    }
    // A link at the name itself, to a file outside: `<path>` resolves it
    // (outside: denied); an entry is the link, which no step follows.
    let out = fx.path("out");
    for argv in [["@mod", &out], ["@own", &out], ["@cat", &out]] {
        let ran = fx.call(&argv, b"");
        assert_eq!(ran.code, 99, "{argv:?}: {}", ran.stderr);
    }
    refused(&fx.call(&["@put", &out], b"pwned\n"), 95, "symbolic link");
    refused(&fx.call(&["@add", &out], b"pwned\n"), 95, "File exists");
    refused(
        &fx.call(&["@md", &fx.path("outdir")], b""),
        95,
        "File exists",
    );
    refused(
        &fx.call(&["@mdp", &fx.path("outdir")], b""),
        95,
        "symbolic link",
    );
    // Removing the link removes the link.
    assert_eq!(fx.call(&["@rm", &out], b"").code, 0);
    fx.outside_untouched();
}

#[test]
fn hard_links_to_files_outside_are_never_changed_through() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    // A second name for root's file, inside the caller's scope (made by
    // root here: the kernel's protected_hardlinks stops the caller).
    fs::hard_link(fx.outside.join("victim"), fx.scope.join("hard")).unwrap();
    let hard = fx.path("hard");
    for (argv, input) in [
        (["@mod", &hard], &b""[..]),
        (["@own", &hard], b""),
        (["@app", &hard], b"pwned\n"),
        (["@cat", &hard], b""),
        (["@put", &hard], b"pwned\n"),
    ] {
        let ran = fx.call(&argv, input);
        refused(&ran, 95, "hard links");
        assert!(ran.stdout.is_empty(), "{argv:?} printed the file");
    }
    fx.outside_untouched();
}

#[test]
fn a_fifo_or_a_device_where_a_file_is_expected_is_refused_without_opening_it() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    fx.as_caller(&["mkfifo", &fx.path("pipe")]);
    // The caller cannot make devices; root's, in the caller's tree.
    let made = run(Command::new(tool("mknod"))
        .arg(fx.scope.join("null"))
        .args(["c", "1", "3"]));
    assert_eq!(made.code, 0, "{}", made.stderr);
    for name in ["pipe", "null"] {
        let path = fx.path(name);
        // Opening the FIFO would block each of these forever.
        refused(&fx.call(&["@app", &path], b"x"), 95, "not a regular file");
        refused(&fx.call(&["@cat", &path], b""), 95, "not a regular file");
        refused(&fx.call(&["@put", &path], b"x"), 95, "not a regular file");
        refused(
            &fx.call(&["@mod", &path], b""),
            95,
            "FIFO, socket or device",
        );
        refused(
            &fx.call(&["@own", &path], b""),
            95,
            "FIFO, socket or device",
        );
    }
    let meta = fs::metadata(fx.scope.join("null")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o644, "the device's mode changed");
}

#[test]
fn names_that_are_not_utf8_are_files_like_any_other() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    let name = OsStr::from_bytes(b"caf\xe9\n\x1b[2K");
    let path = fx.scope.join(name);
    let ran = run_with_stdin(
        &mut fx.fixture.sudo(&[OsStr::new("@add"), path.as_os_str()]),
        b"bytes\n",
    );
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(fs::read(&path).unwrap(), b"bytes\n");
    // The record escapes it.
    let record = fx.last_record();
    assert!(record.contains(r"caf\\xe9\\x0a\\x1b[2K"), "{record}");
}

#[test]
fn more_input_than_allowed_writes_nothing_and_undoes_the_sequence() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    let ran = fx.call(&["@put", &fx.path("f")], &[b'x'; 65]);
    refused(&ran, 95, "more than 64 bytes");
    assert_eq!(fs::read_to_string(fx.scope.join("f")).unwrap(), "caller\n");
    let ran = fx.call(&["@add", &fx.path("g")], &[b'x'; 65]);
    refused(&ran, 95, "more than 64 bytes");
    assert!(!fx.scope.join("g").exists());
    // In a sequence: step 2 fails, the directory of step 1 is removed, and
    // the one record says so.
    let ran = fx.call(&["@two", &fx.path("seq")], b"123456789");
    refused(&ran, 95, "step 2 (line");
    assert!(!fx.scope.join("seq").exists(), "not undone");
    let record = fx.last_record();
    assert!(
        record.contains(r#""decision":"step-failed","exit_code":95"#),
        "{record}"
    );
    assert!(
        record.contains(r#""result":"failed: the content is more than 8 bytes"}"#)
            && record.contains(&format!(
                r#"{{"step":"undo 1 rmdir {}","result":"ok"}}"#,
                fx.path("seq")
            )),
        "{record}"
    );
    fx.no_leftovers(&fx.scope);
}

#[test]
fn kill_signals_only_the_process_its_parameter_names() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    let mut sleep = Command::new("/usr/bin/sleep").arg("60").spawn().unwrap();
    let mut other = Command::new(tool("tail"))
        .args(["-f", "/dev/null"])
        .spawn()
        .unwrap();
    let pid = sleep.id().to_string();
    // Another program's process: refused by the parameter's check.
    let ran = fx.call(&["@stop-sleep", &other.id().to_string()], b"");
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    assert!(other.try_wait().unwrap().is_none());
    let ran = fx.call(&["@stop-any", &pid, "NOPE"], b"");
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    let ran = fx.call(&["@stop-sleep", &pid], b"");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    let status = sleep.wait().unwrap();
    // SIGTERM.
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(15)
    );
    // Gone: nothing to signal (the step fails, no other process is hit).
    let ran = fx.call(&["@stop-sleep", &pid], b"");
    assert_ne!(ran.code, 0);
    let _ = other.kill();
    let _ = other.wait();
}

#[test]
fn sysctl_writes_one_key_below_proc_sys() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    let file = Path::new("/proc/sys/vm/swappiness");
    let before = fs::read_to_string(file).unwrap();
    /// Puts the value back, whatever the test finds.
    struct Restore<'a>(&'a Path, String);
    impl Drop for Restore<'_> {
        fn drop(&mut self) {
            let _ = fs::write(self.0, self.1.trim());
        }
    }
    let _restore = Restore(file, before.clone());
    let value = if before.trim() == "17" { "18" } else { "17" };
    let ran = fx.call(&["@swappiness", value], b"");
    let now = fs::read_to_string(file).unwrap();
    fs::write(file, before.trim()).unwrap();
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(now.trim(), value);
    // A key pattern that admits `/` and `.` still names files below
    // /proc/sys only, without `..`.
    for key in [
        "vm..swappiness",
        "vm.swappiness/..",
        "..vm",
        "vm/../../etc/x",
        "no.such.key",
    ] {
        let ran = fx.call(&["@loose-key", key, "1"], b"");
        refused(&ran, 95, "is not a sysctl key");
    }
    assert_eq!(fs::read_to_string(file).unwrap().trim(), before.trim());
}

#[test]
fn run_steps_are_decided_by_the_ruleset_like_any_call() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    let ran = fx.call(&["@whoami-target"], b"");
    assert_eq!(ran.code, 0, "{}", ran.stderr);
    assert_eq!(ran.stdout_text(), "rw-target\n");
    // No rule allows `id -u`.
    refused(&fx.call(&["@whoami-denied"], b""), 95, "no rule allows it");
    // The rule runs as another user than the action.
    refused(
        &fx.call(&["@whoami-root"], b""),
        95,
        "runs as rw-target, the action as root",
    );
}

#[test]
fn a_full_file_system_leaves_the_old_content_and_no_half_written_file() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    let full = fx.scope.join("full");
    fs::create_dir(&full).unwrap();
    let mounted = run(Command::new(tool("mount"))
        .args(["-t", "tmpfs", "-o", "size=8k,mode=0755"])
        .arg("tmpfs")
        .arg(&full));
    assert_eq!(mounted.code, 0, "{}", mounted.stderr);
    let f = full.join("f");
    fs::write(&f, "old content\n").unwrap();
    // Fill the rest.
    let _ = fs::write(full.join("filler"), vec![b'x'; 64 << 10]);
    let ran = fx.call(&["@put", &f.display().to_string()], &[b'n'; 64]);
    let after = fs::read_to_string(&f);
    let listed: Vec<_> = fs::read_dir(&full)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let _ = run(Command::new(tool("umount")).arg(&full));
    refused(&ran, 95, "No space left on device");
    assert_eq!(after.unwrap(), "old content\n");
    assert_eq!(listed.len(), 2, "left behind: {listed:?}");
}

/// sudo relays the caller's SIGTERM (and SIGINT, SIGHUP, ...) to rootwrap.
/// An action's record tells its steps' results, so it is written after
/// them: a signal in between killed rootwrap with the directory made as
/// root and no record of it. Signals are now held over the sequence and
/// its record, then take effect.
#[test]
fn a_signal_relayed_by_sudo_mid_sequence_does_not_lose_the_record() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    let dir = fx.path("slow");
    let before = fs::read_to_string(audit_log())
        .unwrap_or_default()
        .lines()
        .count();
    let script = r#"sudo -n "$1" "$2" @slow "$3" & s=$!
i=0; while [ ! -d "$3" ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i + 1)); done
kill -TERM $s; wait $s; echo "status $?""#;
    let ran = fx.caller_script(script, &dir);
    assert!(Path::new(&dir).is_dir(), "{}", ran.stderr);
    // The signal still ends the call, once the record is written.
    assert_eq!(ran.stdout_text(), "status 143\n", "{}", ran.stderr);
    let log = fs::read_to_string(audit_log()).unwrap();
    let records: Vec<&str> = log.lines().skip(before).collect();
    assert_eq!(records.len(), 1, "{log}");
    let record: serde_json::Value = serde_json::from_str(records[0]).unwrap();
    assert_eq!(record["rule"]["name"], "slow", "{record}");
    assert_eq!(record["decision"], "allowed", "{record}");
    assert_eq!(
        record["steps"].as_array().map(Vec::len),
        Some(2),
        "{record}"
    );
}

/// Input is read before signals are held: a caller whose standard input
/// never ends can still stop its call, and nothing is written.
#[test]
fn a_call_waiting_for_input_still_stops_on_a_signal() {
    require_root!();
    let _one = exclusive();
    let fx = fixture();
    fx.reset();
    let script = r#"sleep 5 </dev/null 2>/dev/null | sudo -n "$1" "$2" @put "$3" & s=$!
sleep 0.5; kill -TERM $s; wait $s; echo "status $?""#;
    let ran = fx.caller_script(script, fx.path("f"));
    assert_eq!(ran.stdout_text(), "status 143\n", "{}", ran.stderr);
    assert_eq!(fs::read_to_string(fx.path("f")).unwrap(), "caller\n");
}
