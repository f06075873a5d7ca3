//! The check-then-use race on paths, attacked as deployed.
//!
//! The service user owns a directory inside a rule's scope and swaps a
//! directory in it for a symbolic link to a root-only directory outside the
//! scope, and back, as fast as it can (`renameat2(RENAME_EXCHANGE)`).
//! Meanwhile `chown`, `chmod` and `cp` rules run thousands of times, through
//! real sudo and directly. Nothing outside the scope may change.
//!
//! The same harness shows that it can fail: a check-then-use of the path
//! text (what rootwrap did before paths were pinned) changes the root-only
//! file within a few tries; and an unpinned rule under this writable scope
//! is refused by the runtime on every call.
//!
//! `RACE_CALLS` sets the number of calls per rule (default 1000, one in ten
//! of them through sudo); the closing lines print what ran.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use rootwrap_tests::{fixture_dir, require_root, run, set_mode, tool, SudoFixture, CALLER};

/// Swaps `d` and `dlink` in the current directory until killed, and says
/// how often when it is (SIGTERM).
const SWAPPER: &str = r#"
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
renameat2 = libc.renameat2
AT_FDCWD, RENAME_EXCHANGE = -100, 2
swaps = 0
def done(*_):
    print(swaps, flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
os.chdir(sys.argv[1])
print("started", flush=True)
while True:
    renameat2(AT_FDCWD, b"d", AT_FDCWD, b"dlink", RENAME_EXCHANGE)
    swaps += 1
"#;

struct Race {
    fixture: SudoFixture,
    /// The caller's directory, inside every rule's scope.
    scope: PathBuf,
    /// Root's directory outside the scope, holding `victim`.
    outside: PathBuf,
}

fn scope_dir() -> PathBuf {
    fixture_dir().join("race/scope")
}

fn audit_log() -> PathBuf {
    fixture_dir().join("race/audit.jsonl")
}

fn ruleset(scope: &Path) -> String {
    let log = audit_log();
    let log = log.display();
    let scope = scope.display();
    format!(
        r#"ruleset race
exec-dirs /usr/sbin /usr/bin /sbin /bin
log json {log}

allow race-chown: chown {CALLER} <path {scope}/**>
allow race-chmod: chmod 0666 <path {scope}/**>
allow race-cp: cp -T --remove-destination -- <path {scope}/**> <path-entry {scope}/**>
# `*` in the middle: pinned beneath the scope, so the `*` directory is
# opened without following a link the caller swaps in.
allow race-chmod-mid: chmod 0640 <path {scope}/*/victim>
# The same operation, opted out of pinning: refused at call time, since the
# caller owns the scope.
allow race-chown-unpinned: chown root:{CALLER} <path-unpinned {scope}/**>

# Native actions on the same scope: each step acts on descriptors.
action race-act-write (f: <path-entry {scope}/**>):
    write f from "pwned" max 64 replace
action race-act-chown (f: <path {scope}/**>):
    chown f {CALLER}
action race-act-chmod (f: <path {scope}/**>):
    chmod f 0666
action race-act-mkdir (d: <path-entry {scope}/**>):
    mkdir d mode 0777
action race-act-unlink (f: <path-entry {scope}/**>):
    unlink f
"#
    )
}

/// The tree, made anew: `scope/d/victim` (the caller's), `scope/src`,
/// `scope/dlink -> ../outside`, `outside/victim` (root's, 0600).
fn race() -> &'static Race {
    static RACE: OnceLock<Race> = OnceLock::new();
    RACE.get_or_init(|| {
        let scope = scope_dir();
        let race_dir = scope.parent().unwrap().to_path_buf();
        let _ = fs::remove_dir_all(&race_dir);
        let fixture = SudoFixture::set_up_named("race", &ruleset(&scope), &[]);
        fs::create_dir_all(&scope).unwrap();
        set_mode(&race_dir, 0o755);
        let outside = race_dir.join("outside");
        fs::create_dir(&outside).unwrap();
        set_mode(&outside, 0o700);
        Race {
            fixture,
            scope,
            outside,
        }
    })
}

impl Race {
    /// Resets the tree to its starting state, owned as described.
    fn reset(&self) {
        let _ = fs::remove_dir_all(&self.scope);
        fs::create_dir(&self.scope).unwrap();
        fs::create_dir(self.scope.join("d")).unwrap();
        fs::write(self.scope.join("d/victim"), "caller\n").unwrap();
        fs::write(self.scope.join("src"), "pwned\n").unwrap();
        symlink("../outside", self.scope.join("dlink")).unwrap();
        let owned = run(Command::new(tool("chown"))
            .args(["-hR", &format!("{CALLER}:{CALLER}")])
            .arg(&self.scope));
        assert_eq!(owned.code, 0, "{}", owned.stderr);
        let victim = self.outside.join("victim");
        fs::write(&victim, "original\n").unwrap();
        set_mode(&victim, 0o600);
        std::os::unix::fs::chown(&victim, Some(0), Some(0)).unwrap();
    }

    /// `outside/victim` as it is now: owner, group, mode, content.
    fn victim(&self) -> (u32, u32, u32, String) {
        let victim = self.outside.join("victim");
        let meta = fs::metadata(&victim).unwrap();
        let entries = fs::read_dir(&self.outside).unwrap().count();
        assert_eq!(entries, 1, "something new appeared outside the scope");
        (
            meta.uid(),
            meta.gid(),
            meta.mode() & 0o7777,
            fs::read_to_string(&victim).unwrap(),
        )
    }

    fn untouched(&self) -> (u32, u32, u32, String) {
        (0, 0, 0o600, "original\n".into())
    }

    /// Starts the swap loop as the caller.
    fn swapper(&self) -> Swapper {
        let mut child = self
            .fixture
            .as_caller()
            .arg(tool("python3"))
            .args(["-c", SWAPPER])
            .arg(&self.scope)
            .stdout(Stdio::piped())
            // runuser's own words when the loop is stopped.
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        use std::io::BufRead;
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        out.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "started");
        Swapper { child, out }
    }
}

struct Swapper {
    child: Child,
    out: std::io::BufReader<std::process::ChildStdout>,
}

impl Swapper {
    /// Stops it; how many swaps it made.
    fn stop(mut self) -> u64 {
        // runuser passes SIGTERM on to the swapper, which reports.
        let killed = run(Command::new(tool("kill"))
            .arg("-TERM")
            .arg(self.child.id().to_string()));
        assert_eq!(killed.code, 0, "{}", killed.stderr);
        let mut line = String::new();
        use std::io::BufRead;
        let _ = self.out.read_line(&mut line);
        let _ = self.child.wait();
        line.trim().parse().unwrap_or(0)
    }
}

impl Drop for Swapper {
    /// A test that fails before `stop` must not leave the loop running as
    /// the caller (it would outlive the run, and keep the user in use).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ =
                run(Command::new(tool("pkill")).args(["-TERM", "-u", CALLER, "-f", "renameat2"]));
            let _ = self.child.wait();
        }
    }
}

/// The tests share one tree and one swap loop at a time.
fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn calls_per_rule() -> usize {
    std::env::var("RACE_CALLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1000)
}

#[test]
fn pinned_paths_hold_against_a_directory_swap_loop() {
    require_root!();
    let _one_at_a_time = exclusive();
    let race = race();
    race.reset();
    let scope = race.scope.display().to_string();
    let victim = format!("{scope}/d/victim");
    let src = format!("{scope}/src");
    let lines: [Vec<&str>; 4] = [
        vec!["chown", CALLER, &victim],
        vec!["chmod", "0666", &victim],
        vec!["cp", "-T", "--remove-destination", "--", &src, &victim],
        vec!["chmod", "0640", &victim],
    ];
    let swapper = race.swapper();
    let mut ran = [[0usize; 2]; 4];
    for round in 0..calls_per_rule() {
        for (i, argv) in lines.iter().enumerate() {
            let mut command = if round % 10 == 0 {
                race.fixture.sudo(argv)
            } else {
                race.fixture.direct(argv)
            };
            let result = run(command.stdin(Stdio::null()));
            ran[i][usize::from(result.code != 0)] += 1;
        }
    }
    let swaps = swapper.stop();
    let after = race.victim();
    eprintln!(
        "path race: {swaps} swaps; chown allowed {} refused {}, chmod {} / {}, cp {} / {}, chmod under `*` {} / {}",
        ran[0][0], ran[0][1], ran[1][0], ran[1][1], ran[2][0], ran[2][1], ran[3][0], ran[3][1]
    );
    assert_eq!(after, race.untouched(), "a file outside the scope changed");
    assert!(swaps > 1000, "the swap loop hardly ran ({swaps} swaps)");
    for (i, [allowed, _]) in ran.iter().enumerate() {
        assert!(*allowed > 0, "rule {i} never ran: the test proves nothing");
    }
}

#[test]
fn actions_hold_against_a_directory_swap_loop() {
    require_root!();
    let _one_at_a_time = exclusive();
    let race = race();
    race.reset();
    let scope = race.scope.display().to_string();
    let victim = format!("{scope}/d/victim");
    let swapper = race.swapper();
    let names = ["write", "chown", "chmod", "mkdir", "unlink"];
    let mut ran = [[0usize; 2]; 5];
    for round in 0..calls_per_rule() {
        let new_dir = format!("{scope}/d/new-{round}");
        let lines: [[&str; 2]; 5] = [
            ["@race-act-write", &victim],
            ["@race-act-chown", &victim],
            ["@race-act-chmod", &victim],
            ["@race-act-mkdir", &new_dir],
            ["@race-act-unlink", &victim],
        ];
        for (i, argv) in lines.iter().enumerate() {
            let mut command = if round % 10 == 0 {
                race.fixture.sudo(argv)
            } else {
                race.fixture.direct(argv)
            };
            let result = run(command.stdin(Stdio::null()));
            assert!(
                [0, 95, 99].contains(&result.code),
                "{argv:?}: {}",
                result.stderr
            );
            ran[i][usize::from(result.code != 0)] += 1;
        }
    }
    let swaps = swapper.stop();
    let after = race.victim();
    let counts: Vec<String> = names
        .iter()
        .zip(ran)
        .map(|(name, [ok, failed])| format!("{name} {ok} ok / {failed} refused or failed"))
        .collect();
    eprintln!("action race: {swaps} swaps; {}", counts.join(", "));
    assert_eq!(after, race.untouched(), "a file outside the scope changed");
    assert!(swaps > 1000, "the swap loop hardly ran ({swaps} swaps)");
    for (name, [allowed, _]) in names.iter().zip(ran) {
        assert!(
            allowed > 0,
            "{name} never succeeded: the test proves nothing"
        );
    }
}

#[test]
fn symbolic_links_the_caller_plants_are_not_followed() {
    require_root!();
    let _one_at_a_time = exclusive();
    let race = race();
    race.reset();
    let scope = race.scope.display().to_string();
    let victim = format!("{scope}/d/victim");
    let src = format!("{scope}/src");
    let as_caller = |argv: &[&str]| {
        let done = run(race.fixture.as_caller().args(argv));
        assert_eq!(done.code, 0, "{argv:?}: {}", done.stderr);
    };
    for target in ["../../outside/victim", "../../outside"] {
        // The caller's own link, where the rule expects its file.
        as_caller(&["rm", "-f", &victim]);
        as_caller(&["ln", "-s", target, &victim]);
        for argv in [
            vec!["chown", CALLER, &victim],
            vec!["chmod", "0666", &victim],
        ] {
            let refused = run(race.fixture.sudo(&argv).stdin(Stdio::null()));
            assert_eq!(
                refused.code, 99,
                "{argv:?} through {target}: {}",
                refused.stderr
            );
        }
        // `cp -T --remove-destination` into an entry replaces the link
        // itself (with `-T`, a link to a directory is not a directory).
        let cp = ["cp", "-T", "--remove-destination", "--", &src, &victim];
        let copied = run(race.fixture.sudo(&cp).stdin(Stdio::null()));
        assert_eq!(copied.code, 0, "{}", copied.stderr);
        // The record shows what was checked and what the command got.
        let log = fs::read_to_string(audit_log()).unwrap();
        let record = log.lines().last().unwrap();
        for checked in [&src, &victim] {
            let pair = format!(r#"{{"checked":"{checked}","passed":"/proc/self/fd/"#);
            assert!(record.contains(&pair), "{pair} in {record}");
        }
        let meta = fs::symlink_metadata(&victim).unwrap();
        assert!(meta.is_file(), "the link was not replaced");
        assert_eq!(fs::read_to_string(&victim).unwrap(), "pwned\n");
        assert_eq!(race.victim(), race.untouched(), "through {target}");
    }
}

/// `<path SCOPE/*/victim>`: the caller puts a link to a root-only
/// directory at the `*` (as `ha_confs/x -> /etc`); the call is refused,
/// while the same call on a real directory there runs.
#[test]
fn a_link_the_caller_plants_at_a_wildcard_is_not_followed() {
    require_root!();
    let _one_at_a_time = exclusive();
    let race = race();
    race.reset();
    let scope = race.scope.display().to_string();
    let planted =
        run(race
            .fixture
            .as_caller()
            .args(["ln", "-s", "../outside", &format!("{scope}/x")]));
    assert_eq!(planted.code, 0, "{}", planted.stderr);
    let through = format!("{scope}/x/victim");
    let refused = run(race
        .fixture
        .sudo(&["chmod", "0640", &through])
        .stdin(Stdio::null()));
    assert_eq!(refused.code, 99, "{}", refused.stderr);
    assert_eq!(race.victim(), race.untouched());
    let own = format!("{scope}/d/victim");
    let allowed = run(race
        .fixture
        .sudo(&["chmod", "0640", &own])
        .stdin(Stdio::null()));
    assert_eq!(allowed.code, 0, "{}", allowed.stderr);
    let mode = fs::metadata(&own).unwrap().mode() & 0o7777;
    assert_eq!(mode, 0o640);
    // The `*` is one name: not the scope itself, not two levels.
    for argv in [
        ["chmod", "0640", &format!("{scope}/victim")],
        ["chmod", "0640", &format!("{scope}/d/d/victim")],
    ] {
        let denied = run(race.fixture.sudo(&argv).stdin(Stdio::null()));
        assert_eq!(denied.code, 99, "{argv:?}: {}", denied.stderr);
    }
    assert_eq!(race.victim(), race.untouched());
}

#[test]
fn the_harness_catches_a_check_then_use_of_the_path_text() {
    require_root!();
    let _one_at_a_time = exclusive();
    let race = race();
    race.reset();
    let scope = race.scope.clone();
    let victim = scope.join("d/victim");
    let swapper = race.swapper();
    // What an unpinned check does: resolve the text, check it lies in the
    // scope, hand the text to the command, which resolves it again.
    let mut tries = 0;
    let mut changed = false;
    while tries < 5000 && !changed {
        tries += 1;
        let Ok(resolved) = fs::canonicalize(&victim) else {
            continue;
        };
        if !resolved.starts_with(&scope) {
            continue;
        }
        run(Command::new(tool("chown"))
            .arg(CALLER)
            .arg(&resolved)
            .stdin(Stdio::null()));
        changed = race.victim() != race.untouched();
    }
    swapper.stop();
    eprintln!("check-then-use of the text: the outside file changed after {tries} tries");
    assert!(
        changed,
        "the swap loop never won against a check-then-use in {tries} tries"
    );
}

#[test]
fn an_unpinned_rule_under_a_writable_scope_is_refused() {
    require_root!();
    let _one_at_a_time = exclusive();
    let race = race();
    race.reset();
    let victim = format!("{}/d/victim", race.scope.display());
    let argv = ["chown", &format!("root:{CALLER}"), &victim];
    let swapper = race.swapper();
    let mut refusals = 0;
    for round in 0..calls_per_rule() / 2 {
        let mut command = if round % 10 == 0 {
            race.fixture.sudo(&argv)
        } else {
            race.fixture.direct(&argv)
        };
        let result = run(command.stdin(Stdio::null()));
        assert_eq!(result.code, 99, "{}", result.stderr);
        if result.stderr.contains("Unsafe path") {
            assert!(
                result.stderr.contains("is owned by uid"),
                "the refusal names the directory: {}",
                result.stderr
            );
            refusals += 1;
        }
    }
    swapper.stop();
    assert_eq!(race.victim(), race.untouched());
    // Calls made while `d` was the link are denied as outside the scope;
    // the others are refused for the writable directory.
    assert!(refusals > 0, "no call was refused as unsafe");
    // Without the swap loop, every call is refused as unsafe.
    race.reset();
    let result = run(race.fixture.sudo(&argv).stdin(Stdio::null()));
    assert_eq!(result.code, 99, "{}", result.stderr);
    assert!(
        result.stderr.contains("Unsafe path") && result.stderr.contains("race-chown-unpinned"),
        "{}",
        result.stderr
    );
    let meta = fs::metadata(race.scope.join("d/victim")).unwrap();
    assert_ne!(meta.uid(), 0, "the refused chown ran");
}
