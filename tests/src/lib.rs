//! Support for rootwrap's end-to-end tests: the real binaries (built on
//! demand), a root check, scratch directories, a cross-process lock, and the
//! sudo fixture: real users, a real sudoers drop-in and a root-owned ruleset.
//!
//! The set-up changes the system it runs on (users, `/etc/sudoers.d`), so it
//! is idempotent and safe to run from several test processes at once:
//! `scripts/e2e-cleanup.sh` undoes it.

// Test support: a set-up that cannot be done fails the test that needed it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::OsStr;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

/// The service user: calls `sudo rootwrap RULESET ...` and nothing else.
pub const CALLER: &str = "rw-caller";
/// A target user for `allow NAME as rw-target:` rules.
pub const TARGET: &str = "rw-target";
/// A supplementary group of [`TARGET`], to check that `initgroups` took.
pub const TARGET_GROUP: &str = "rw-extra";
/// The name of this checkout's system-wide fixture: `rootwrap-tests`, or
/// `rootwrap-tests-INSTANCE` with `ROOTWRAP_E2E_INSTANCE=INSTANCE`, so that
/// several checkouts on one machine can run their suites at once.
pub fn fixture_name() -> String {
    match std::env::var("ROOTWRAP_E2E_INSTANCE") {
        Ok(instance) if !instance.is_empty() => format!("rootwrap-tests-{instance}"),
        _ => "rootwrap-tests".to_string(),
    }
}

/// Root-owned home of the installed runtime, the rulesets and helper scripts.
pub fn fixture_dir() -> PathBuf {
    Path::new("/var/lib").join(fixture_name())
}

/// The trusted exec dir of the installed test rulesets, for helper scripts.
pub fn exec_dir() -> PathBuf {
    fixture_dir().join("bin")
}

/// The sudoers drop-in that lets [`CALLER`] run the installed runtime with
/// the ruleset `name`.
fn sudoers_drop_in(name: &str) -> PathBuf {
    Path::new("/etc/sudoers.d").join(format!("{}-{name}", fixture_name()))
}

/// The workspace's real binaries.
#[derive(Debug)]
pub struct Binaries {
    pub rootwrap: PathBuf,
    pub compile: PathBuf,
    pub daemon: PathBuf,
    pub client: PathBuf,
}

/// The binaries of the profile these tests were built with, built first if
/// needed: `cargo test -p rootwrap-tests` alone does not build other
/// packages' binaries, and a stale binary would test old code.
pub fn binaries() -> &'static Binaries {
    static BINARIES: OnceLock<Binaries> = OnceLock::new();
    BINARIES.get_or_init(build_binaries)
}

fn build_binaries() -> Binaries {
    // This test executable is TARGET_DIR/PROFILE/deps/NAME-HASH.
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test executable lies in TARGET/PROFILE/deps")
        .to_path_buf();
    let target_dir = profile_dir.parent().expect("TARGET/PROFILE has a parent");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build
        .args([
            "build",
            "--quiet",
            "-p",
            "rootwrap",
            "-p",
            "rootwrap-compile",
        ])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    match profile_dir.file_name().and_then(OsStr::to_str) {
        Some("debug") => {}
        Some("release") => {
            build.arg("--release");
        }
        Some(other) => {
            build.args(["--profile", other]);
        }
        None => panic!("no profile directory in {}", exe.display()),
    }
    let built = run(&mut build);
    assert_eq!(
        built.code, 0,
        "building the binaries failed:\n{}",
        built.stderr
    );
    let binaries = Binaries {
        rootwrap: profile_dir.join("rootwrap"),
        compile: profile_dir.join("rootwrap-compile"),
        daemon: profile_dir.join("rootwrap-daemon"),
        client: profile_dir.join("rootwrap-client"),
    };
    for binary in [
        &binaries.rootwrap,
        &binaries.compile,
        &binaries.daemon,
        &binaries.client,
    ] {
        assert!(binary.is_file(), "{} was not built", binary.display());
    }
    binaries
}

/// Whether this process runs with effective uid 0.
pub fn is_root() -> bool {
    let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        == Some("0")
}

pub mod prerequisite;

/// Returns from the calling test unless it runs as root: these tests create
/// users and run rulesets that must be owned by root. A skip, said on
/// stderr, on a developer's machine; a failure under `CI=true` (CI runs the
/// suite as root).
#[macro_export]
macro_rules! require_root {
    () => {
        if !$crate::is_root() {
            $crate::prerequisite::missing("it needs root (CI runs the suite as root)");
            return;
        }
    };
}

/// A finished process.
#[derive(Debug)]
pub struct Ran {
    /// The exit status, or 128 + the signal that ended it.
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Ran {
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// A call the runtime refused as unauthorized: exit 99, oslo's message,
/// and nothing run.
#[track_caller]
pub fn assert_unauthorized(ran: &Ran) {
    assert_eq!(ran.code, 99, "stderr: {}", ran.stderr);
    assert!(
        ran.stderr.contains("Unauthorized command"),
        "stderr: {}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty(), "stdout: {}", ran.stdout_text());
}

/// Runs `command` to completion with empty stdin, capturing its output.
pub fn run(command: &mut Command) -> Ran {
    run_with_stdin(command, &[])
}

/// Runs `command` to completion with `input` on its stdin.
pub fn run_with_stdin(command: &mut Command, input: &[u8]) -> Ran {
    use std::os::unix::process::ExitStatusExt;
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let stdin = child.stdin.take().expect("piped stdin");
    let output = std::thread::scope(|scope| {
        // Fed from a thread: the child may fill its stdout before it has
        // read all of its stdin.
        scope.spawn(move || feed(stdin, input));
        child.wait_with_output()
    })
    .unwrap_or_else(|e| panic!("cannot wait for {command:?}: {e}"));
    let code = match (output.status.code(), output.status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => panic!("{command:?} ended without status"),
    };
    Ran {
        code,
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn feed(mut stdin: ChildStdin, input: &[u8]) {
    // A child that exits without reading everything closes the pipe: that is
    // its business, the test checks what it printed.
    let _ = stdin.write_all(input);
}

/// A uniquely named directory, mode 0755, removed with its contents when
/// dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    /// A new directory in `parent`, named after `label`.
    pub fn new_in(parent: &Path, label: &str) -> Scratch {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        loop {
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!("{label}-{}-{n}", std::process::id()));
            match fs::create_dir(&path) {
                Ok(()) => {
                    set_mode(&path, 0o755);
                    return Scratch { path };
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => panic!("cannot create {}: {e}", path.display()),
            }
        }
    }

    /// A new directory in the system's temporary directory.
    pub fn new(label: &str) -> Scratch {
        Scratch::new_in(&std::env::temp_dir(), label)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.path);
    }
}

pub fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("cannot chmod {mode:o} {}: {e}", path.display()));
}

/// Compiles `source` with the real `rootwrap-compile` into `dir/NAME.rwc`
/// (mode 0644), keeping the source next to it as `dir/NAME.rwf`.
pub fn compile_ruleset(dir: &Path, name: &str, source: &str) -> PathBuf {
    compile_ruleset_files(dir, name, &[(&format!("{name}.rwf"), source)])
}

/// As [`compile_ruleset`], from several files (FILE NAME, source), given
/// to the compiler in this order (a packaged file, then a site's), from
/// `dir`, so that the rules record their bare file names.
pub fn compile_ruleset_files(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let output = dir.join(format!("{name}.rwc"));
    let mut command = Command::new(&binaries().compile);
    command.current_dir(dir).arg("-o").arg(&output);
    for (file, source) in files {
        let input = dir.join(file);
        fs::write(&input, source)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", input.display()));
        command.arg(file);
    }
    let compiled = run(&mut command);
    assert_eq!(
        compiled.code,
        0,
        "rootwrap-compile failed on {} in {}:\n{}",
        files
            .iter()
            .map(|(file, _)| *file)
            .collect::<Vec<_>>()
            .join(" "),
        dir.display(),
        compiled.stderr
    );
    set_mode(&output, 0o644);
    output
}

/// An exclusive lock on a file, shared with other processes, held until
/// dropped. Taken by `flock(1)` in a child process that holds it while its
/// stdin stays open.
#[derive(Debug)]
pub struct FileLock {
    holder: Child,
}

impl FileLock {
    pub fn acquire(path: &Path) -> FileLock {
        let mut holder = Command::new(tool("flock"))
            .arg(path)
            .args(["-c", "echo locked && exec cat >/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run flock {}: {e}", path.display()));
        let mut line = String::new();
        let stdout = holder.stdout.take().expect("piped stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("flock {}: {e}", path.display()));
        assert_eq!(line.trim(), "locked", "flock {} failed", path.display());
        FileLock { holder }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        drop(self.holder.stdin.take());
        let _ = self.holder.wait();
    }
}

/// A system tool by name, from the usual directories whatever this
/// process's PATH (which may lack the sbin directories).
pub fn tool(name: &str) -> PathBuf {
    ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        .iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
        .unwrap_or_else(|| {
            panic!("`{name}` is not installed (.ci/run installs what the tests need)")
        })
}

/// Whether `getent DATABASE KEY` finds an entry.
fn getent(database: &str, key: &str) -> Option<String> {
    let found = run(Command::new(tool("getent")).args([database, key]));
    (found.code == 0).then(|| found.stdout_text())
}

/// A system-wide installation for running the runtime through sudo.
#[derive(Debug)]
pub struct SudoFixture {
    /// The runtime, installed root-owned (sudo runs it as root).
    pub rootwrap: PathBuf,
    /// The compiled ruleset the sudoers line names.
    pub ruleset: PathBuf,
    /// A trusted exec dir holding the helper scripts.
    pub exec_dir: PathBuf,
}

impl SudoFixture {
    /// Sets up users, the installed runtime, helper scripts (name, text) in
    /// the exec dir, the ruleset `e2e` compiled from `source` and its sudoers
    /// drop-in. Idempotent; serialized between processes by a lock file;
    /// files are replaced atomically and only when their content changes,
    /// so tests running elsewhere are not disturbed.
    pub fn set_up(source: &str, scripts: &[(&str, &str)]) -> SudoFixture {
        SudoFixture::set_up_named("e2e", source, scripts)
    }

    /// As [`SudoFixture::set_up`], for a ruleset of its own, `NAME.rwc`,
    /// with a sudoers line of its own: test files with different rulesets
    /// do not disturb each other.
    pub fn set_up_named(name: &str, source: &str, scripts: &[(&str, &str)]) -> SudoFixture {
        SudoFixture::set_up_files(name, &[(&format!("{name}.rwf"), source)], scripts)
    }

    /// As [`SudoFixture::set_up_named`], the ruleset compiled from several
    /// files (FILE NAME, source), in this order.
    pub fn set_up_files(
        name: &str,
        files: &[(&str, &str)],
        scripts: &[(&str, &str)],
    ) -> SudoFixture {
        let dir = &fixture_dir();
        // sudo lets the caller run what lies here as root: only root may
        // write to it.
        ensure_root_dir(dir);
        let _lock = FileLock::acquire(&dir.join(".lock"));

        ensure_group(TARGET_GROUP);
        ensure_user(CALLER, &[]);
        ensure_user(TARGET, &[TARGET_GROUP]);

        let fixture = SudoFixture {
            rootwrap: dir.join("rootwrap"),
            ruleset: dir.join(format!("{name}.rwc")),
            exec_dir: exec_dir(),
        };
        let runtime = fs::read(&binaries().rootwrap).expect("the rootwrap binary");
        install(&fixture.rootwrap, &runtime, 0o755);
        ensure_root_dir(&fixture.exec_dir);
        for (name, text) in scripts {
            install(&fixture.exec_dir.join(name), text.as_bytes(), 0o755);
        }
        let staging = Scratch::new_in(dir, ".compile");
        let compiled = compile_ruleset_files(staging.path(), name, files);
        let bytes = fs::read(&compiled).expect("the compiled ruleset");
        install(&fixture.ruleset, &bytes, 0o644);

        install_sudoers(&fixture, name);
        fixture
    }

    /// `rootwrap RULESET ARGV...` run by [`CALLER`] through `sudo -n`
    /// (never prompts: a refusal by sudo fails at once).
    pub fn sudo<S: AsRef<OsStr>>(&self, argv: &[S]) -> Command {
        self.sudo_with(&[], argv)
    }

    /// As [`SudoFixture::sudo`], with options for sudo itself (e.g. `-E`).
    pub fn sudo_with<S: AsRef<OsStr>>(&self, sudo_options: &[&str], argv: &[S]) -> Command {
        let mut command = self.as_caller();
        command
            .arg(tool("sudo"))
            .arg("-n")
            .args(sudo_options)
            .arg(&self.rootwrap)
            .arg(&self.ruleset)
            .args(argv);
        command
    }

    /// A command run as [`CALLER`] (by `runuser`, as root), with a small
    /// fixed environment: add to it with `.env()`, then `.arg()` the program.
    pub fn as_caller(&self) -> Command {
        let mut command = Command::new(tool("runuser"));
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("LC_ALL", "C")
            .args(["-u", CALLER, "--"]);
        command
    }

    /// `rootwrap RULESET ARGV...` run directly by this (root) process, with
    /// an empty environment: add to it with `.env()`.
    pub fn direct<S: AsRef<OsStr>>(&self, argv: &[S]) -> Command {
        let mut command = Command::new(&self.rootwrap);
        command.env_clear().arg(&self.ruleset).args(argv);
        command
    }
}

/// `rootwrap-daemon` and `rootwrap-client`, installed next to the runtime,
/// with the sudoers line a service gets for the daemon
/// (`rootwrap-daemon RULESET`).
#[derive(Debug)]
pub struct DaemonInstall {
    pub daemon: PathBuf,
    pub client: PathBuf,
}

impl SudoFixture {
    /// Installs the daemon and the client, and lets [`CALLER`] start the
    /// daemon with this fixture's ruleset through sudo.
    pub fn install_daemon(&self) -> DaemonInstall {
        let dir = &fixture_dir();
        let _lock = FileLock::acquire(&dir.join(".lock"));
        let installed = DaemonInstall {
            daemon: dir.join("rootwrap-daemon"),
            client: dir.join("rootwrap-client"),
        };
        let daemon = fs::read(&binaries().daemon).expect("the rootwrap-daemon binary");
        install(&installed.daemon, &daemon, 0o755);
        let client = fs::read(&binaries().client).expect("the rootwrap-client binary");
        install(&installed.client, &client, 0o755);
        let name = self
            .ruleset
            .file_stem()
            .expect("NAME.rwc")
            .to_string_lossy();
        // As oslo's deployments write it: the daemon with its ruleset (and
        // so no other argument).
        let text = format!(
            "# Written by rootwrap's end-to-end tests (tests/src/lib.rs).\n\
             {CALLER} ALL = (root) NOPASSWD: {} {}\n",
            installed.daemon.display(),
            self.ruleset.display()
        );
        install_checked(
            &sudoers_drop_in(&format!("{name}-daemon")),
            text.as_bytes(),
            0o440,
            visudo_check,
        );
        installed
    }
}

/// Creates `dir` (mode 0755) unless it exists, and checks that it is a
/// directory only root can write to.
fn ensure_root_dir(dir: &Path) {
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => panic!("cannot create {}: {e}", dir.display()),
    }
    set_mode(dir, 0o755);
    let meta = fs::metadata(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    assert!(
        meta.is_dir() && meta.uid() == 0,
        "{} must be a directory owned by root",
        dir.display()
    );
}

/// Writes `bytes` to `path` with `mode`, atomically (a temporary file in the
/// same directory, renamed over it), unless it already holds exactly that.
fn install(path: &Path, bytes: &[u8], mode: u32) {
    install_checked(path, bytes, mode, |_| {});
}

fn install_checked(path: &Path, bytes: &[u8], mode: u32, check: impl FnOnce(&Path)) {
    let current = fs::metadata(path).ok().map(|m| m.mode() & 0o7777);
    if current == Some(mode) && fs::read(path).ok().as_deref() == Some(bytes) {
        return;
    }
    let name = path.file_name().expect("a file name").to_string_lossy();
    // A leading dot: sudo ignores such files in /etc/sudoers.d.
    let temporary = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&temporary, bytes)
        .unwrap_or_else(|e| panic!("cannot write {}: {e}", temporary.display()));
    set_mode(&temporary, mode);
    check(&temporary);
    fs::rename(&temporary, path)
        .unwrap_or_else(|e| panic!("cannot install {}: {e}", path.display()));
}

fn ensure_group(group: &str) {
    if getent("group", group).is_none() {
        let added = run(Command::new(tool("groupadd")).arg(group));
        // 9: it exists (created meanwhile by someone else).
        assert!(
            added.code == 0 || added.code == 9,
            "groupadd {group}: {}",
            added.stderr
        );
    }
}

fn ensure_user(user: &str, groups: &[&str]) {
    if getent("passwd", user).is_none() {
        let mut add = Command::new(tool("useradd"));
        add.args(["--no-create-home", "--home-dir", "/nonexistent", "--shell"])
            .arg(nologin());
        if getent("group", user).is_some() {
            add.args(["--gid", user]);
        } else {
            add.arg("--user-group");
        }
        if !groups.is_empty() {
            add.arg("--groups").arg(groups.join(","));
        }
        let added = run(add.arg(user));
        assert!(
            added.code == 0 || added.code == 9,
            "useradd {user}: {}",
            added.stderr
        );
    }
    let member_of = run(Command::new(tool("id")).args(["-nG", user])).stdout_text();
    for group in groups {
        if !member_of.split_whitespace().any(|g| g == *group) {
            let modified = run(Command::new(tool("usermod")).args(["-a", "-G", group, user]));
            assert_eq!(
                modified.code, 0,
                "usermod -a -G {group} {user}: {}",
                modified.stderr
            );
        }
    }
}

fn nologin() -> PathBuf {
    ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false"]
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from("/bin/false"))
}

fn install_sudoers(fixture: &SudoFixture, name: &str) {
    let text = format!(
        "# Written by rootwrap's end-to-end tests (tests/src/lib.rs); removed by\n\
         # scripts/e2e-cleanup.sh (which .ci/run calls at its end). The line a\n\
         # real service gets.\n\
         {CALLER} ALL = (root) NOPASSWD: {} {} *\n",
        fixture.rootwrap.display(),
        fixture.ruleset.display()
    );
    install_checked(&sudoers_drop_in(name), text.as_bytes(), 0o440, visudo_check);
}

fn visudo_check(file: &Path) {
    let checked = run(Command::new(tool("visudo")).arg("-cf").arg(file));
    if checked.code != 0 {
        let _ = fs::remove_file(file);
        panic!(
            "visudo rejects the sudoers drop-in:\n{}{}",
            checked.stderr,
            String::from_utf8_lossy(&checked.stdout)
        );
    }
}

/// The gids `id -G USER` lists for a user, from the user database.
pub fn groups_of(user: &str) -> Vec<u32> {
    let listed = run(Command::new(tool("id")).args(["-G", user]));
    assert_eq!(listed.code, 0, "id -G {user}: {}", listed.stderr);
    parse_ids(&listed.stdout_text())
}

/// Whitespace-separated numeric ids, sorted.
pub fn parse_ids(text: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = text
        .split_whitespace()
        .map(|id| id.parse().unwrap_or_else(|_| panic!("not an id: {id:?}")))
        .collect();
    ids.sort_unstable();
    ids
}
