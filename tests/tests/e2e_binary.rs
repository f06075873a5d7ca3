//! Executables as deployed: a rule's executable must be root's alone (the
//! file and every directory above it), a pinned rule's must have its
//! digest, and what was checked is what runs. Through real sudo, as the
//! service user.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use rootwrap::matcher::{Host, OnThisHost};
use sha2::{Digest, Sha256};

use rootwrap_tests::{
    binaries, fixture_dir, require_root, run, set_mode, Ran, SudoFixture, CALLER,
};

/// Says it ran, and leaves a mark where only root can write.
fn planted_script(marker: &Path) -> String {
    format!("#!/bin/sh\necho planted ran\ntouch {}\n", marker.display())
}

const PINNED: &str = "#!/bin/sh\necho \"pinned ran as $0\"\n";
const SWAP_V1: &str = "#!/bin/sh\necho v1\n";
const SWAP_V2: &str = "#!/bin/sh\necho v2\n";

fn sha256_hex(bytes: &[u8]) -> String {
    rootwrap::format::hex(&Sha256::digest(bytes))
}

struct Binaries {
    fixture: SudoFixture,
    /// The caller's own directory, listed first in the exec dirs.
    caller_dir: PathBuf,
    /// Root's directory, but writable by everyone.
    open_dir: PathBuf,
    /// What a planted executable leaves when it runs.
    marker: PathBuf,
    /// A FIFO, root's, 0755: the interpreter `rw-fifo-script` names.
    fifo: PathBuf,
}

fn setup() -> &'static Binaries {
    static SETUP: OnceLock<Binaries> = OnceLock::new();
    SETUP.get_or_init(|| {
        let base = fixture_dir().join("binary");
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        set_mode(&base, 0o755);
        let marker = base.join("marker");
        let caller_dir = base.join("caller");
        let open_dir = base.join("open");
        for dir in [&caller_dir, &open_dir] {
            fs::create_dir(dir).unwrap();
            // The planted program itself is root's, 0755: only its
            // directory is not root's alone.
            let planted = dir.join("rw-planted");
            fs::write(&planted, planted_script(&marker)).unwrap();
            set_mode(&planted, 0o755);
        }
        set_mode(&caller_dir, 0o755);
        let uid = OnThisHost.user_uid(CALLER).unwrap();
        std::os::unix::fs::chown(&caller_dir, Some(uid), None).unwrap();
        set_mode(&open_dir, 0o777);
        let fifo = base.join("rw-fifo");
        let made = run(Command::new("mkfifo").arg("-m").arg("0755").arg(&fifo));
        assert_eq!(made.code, 0, "{}", made.stderr);

        let cat = fs::read("/usr/bin/cat").unwrap();
        let exec_dir = rootwrap_tests::exec_dir();
        let source = format!(
            r#"ruleset binary
exec-dirs {caller} {exec_dir} /usr/sbin /usr/bin /sbin /bin

allow planted: rw-planted
allow planted-open: {open}/rw-planted
allow pinned-right: rw-pinned @sha256:{right}
allow pinned-wrong: rw-pinned @sha256:{wrong} wrong
allow swap-pinned: rw-swap @sha256:{swap}
allow swap-unpinned: rw-swap unpinned
allow comm: cat @sha256:{cat} /proc/self/comm
allow merged-usr: /bin/cat @sha256:{cat} /proc/self/comm
allow fifo-interpreter: rw-fifo-script
"#,
            caller = caller_dir.display(),
            exec_dir = exec_dir.display(),
            open = open_dir.display(),
            right = sha256_hex(PINNED.as_bytes()),
            wrong = sha256_hex(b"another program"),
            swap = sha256_hex(SWAP_V1.as_bytes()),
            cat = sha256_hex(&cat),
        );
        let fixture = SudoFixture::set_up_named(
            "binary",
            &source,
            &[
                ("rw-pinned", PINNED),
                ("rw-swap", SWAP_V1),
                ("rw-fifo-script", &format!("#!{}\n", fifo.display())),
            ],
        );
        Binaries {
            fixture,
            caller_dir,
            open_dir,
            marker,
            fifo,
        }
    })
}

#[track_caller]
fn assert_refused(ran: &Ran, says: &[&str]) {
    assert_eq!(ran.code, 126, "{ran:?}");
    assert!(ran.stdout.is_empty(), "it ran: {ran:?}");
    assert!(ran.stderr.contains("refusing to execute"), "{ran:?}");
    for said in says {
        assert!(ran.stderr.contains(said), "{said:?} in {ran:?}");
    }
}

#[track_caller]
fn assert_ran(ran: &Ran, stdout: &str) {
    assert_eq!(
        (ran.code, ran.stdout_text().as_str()),
        (0, stdout),
        "{ran:?}"
    );
}

#[test]
fn an_executable_the_caller_could_replace_is_refused() {
    require_root!();
    let s = setup();
    let _ = fs::remove_file(&s.marker);
    // Found by name in an exec dir the caller owns.
    let ran = run(&mut s.fixture.sudo(&["rw-planted"]));
    let owner = format!("{} is owned by uid", s.caller_dir.display());
    assert_refused(&ran, &[&owner]);
    // Named by path, in a directory of root's that anyone can write.
    let planted = s.open_dir.join("rw-planted");
    let ran = run(&mut s.fixture.sudo(&[planted.as_os_str()]));
    let open = format!(
        "{} is writable by group or others (mode 0777)",
        s.open_dir.display()
    );
    assert_refused(&ran, &[&open]);
    assert!(!s.marker.exists(), "a planted program ran");
}

#[test]
fn a_pinned_rule_runs_only_the_file_it_pins() {
    require_root!();
    let s = setup();
    // A script runs by its path: `$0` is the path, as without pinning.
    let script = s.fixture.exec_dir.join("rw-pinned");
    assert_ran(
        &run(&mut s.fixture.sudo(&["rw-pinned"])),
        &format!("pinned ran as {}\n", script.display()),
    );
    // The same file, under a rule that pins another digest.
    let ran = run(&mut s.fixture.sudo(&["rw-pinned", "wrong"]));
    assert_refused(
        &ran,
        &[
            &format!("its SHA-256 is {}", sha256_hex(PINNED.as_bytes())),
            &format!("not the rule's pinned {}", sha256_hex(b"another program")),
        ],
    );
}

#[test]
fn binaries_run_through_their_descriptor_and_keep_their_name() {
    require_root!();
    let s = setup();
    // Executed with execveat(fd, "", AT_EMPTY_PATH): the process is still
    // named after the file (what `ps -e`, `pgrep` and `killall` match).
    assert_ran(
        &run(&mut s.fixture.sudo(&["cat", "/proc/self/comm"])),
        "cat\n",
    );
    // Reached through merged /usr's /bin -> usr/bin, a link of root's.
    assert_ran(
        &run(&mut s.fixture.sudo(&["/bin/cat", "/proc/self/comm"])),
        "cat\n",
    );
}

#[test]
fn swapping_a_pinned_executable_after_compiling_is_caught() {
    require_root!();
    let s = setup();
    let path = s.fixture.exec_dir.join("rw-swap");
    let install = |text: &str| {
        // As a package upgrade does: a new file renamed over the old one.
        let new = s.fixture.exec_dir.join(".rw-swap.new");
        fs::write(&new, text).unwrap();
        set_mode(&new, 0o755);
        fs::rename(&new, &path).unwrap();
    };
    install(SWAP_V1);
    assert_ran(&run(&mut s.fixture.sudo(&["rw-swap"])), "v1\n");
    install(SWAP_V2);
    let ran = run(&mut s.fixture.sudo(&["rw-swap"]));
    install(SWAP_V1);
    assert_refused(
        &ran,
        &[&format!(
            "its SHA-256 is {}",
            sha256_hex(SWAP_V2.as_bytes())
        )],
    );
    // A rule that pins nothing runs whatever root installed.
    install(SWAP_V2);
    let unpinned = run(&mut s.fixture.sudo(&["rw-swap", "unpinned"]));
    install(SWAP_V1);
    assert_ran(&unpinned, "v2\n");
}

#[test]
fn explain_shows_the_checks() {
    require_root!();
    let s = setup();
    let explain = |argv: &[&str]| {
        let mut command = Command::new(&binaries().compile);
        command
            .arg("explain")
            .arg(&s.fixture.ruleset)
            .arg("--")
            .args(argv);
        run(&mut command)
    };
    let right = explain(&["rw-pinned"]);
    assert_eq!(right.code, 0, "{right:?}");
    let shown = right.stdout_text();
    let digest = sha256_hex(PINNED.as_bytes());
    assert!(
        shown.contains(&format!("pinned:   sha256:{digest} matches")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "checked:  {} (root's alone, with every directory above it, a script)",
            s.fixture.exec_dir.join("rw-pinned").display()
        )),
        "{shown}"
    );
    let wrong = explain(&["rw-pinned", "wrong"]);
    assert_eq!(wrong.code, 126, "{wrong:?}");
    assert!(
        wrong.stderr.contains("refused:  ") && wrong.stderr.contains("not the rule's pinned"),
        "{wrong:?}"
    );
    let planted = explain(&["rw-planted"]);
    assert_eq!(planted.code, 126, "{planted:?}");
    assert!(planted.stderr.contains("is owned by uid"), "{planted:?}");
}

/// An interpreter that is a FIFO is refused at once, never waited on: the
/// open that reads a `#!` line must not block until someone writes.
#[test]
fn a_fifo_as_interpreter_is_refused_without_blocking() {
    require_root!();
    let s = setup();
    let mut child = s
        .fixture
        .sudo(&["rw-fifo-script"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(10) {
            // A writer releases the open that blocked.
            let _ = fs::OpenOptions::new().read(true).write(true).open(&s.fifo);
            let _ = child.kill();
            let _ = child.wait();
            panic!("rootwrap blocked on a FIFO as interpreter");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let ran = Ran {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    let fifo = s.fifo.display();
    assert_refused(
        &ran,
        &[&format!(
            "its interpreter {fifo}: {fifo} is not a regular file"
        )],
    );
}
