//! Compiling rulesets and calling the real binary.

use super::*;

/// A compiled ruleset and the digest `rootwrap-compile` printed for it.
pub(super) struct Compiled {
    pub(super) rwc: PathBuf,
    pub(super) rwf: PathBuf,
    pub(super) sha256: String,
}

/// Compiles `source` into `dir/NAME.rwc` (root's, mode 0644) with the real
/// compiler, and takes the SHA-256 from what it prints:
/// `wrote PATH (N bytes, sha256:HEX): ...`.
pub(super) fn compile(dir: &Path, name: &str, source: &str) -> Compiled {
    let rwf = dir.join(format!("{name}.rwf"));
    let rwc = dir.join(format!("{name}.rwc"));
    fs::write(&rwf, source).unwrap();
    let compiled = run(Command::new(&binaries().compile)
        .arg("-o")
        .arg(&rwc)
        .arg(&rwf));
    assert_eq!(compiled.code, 0, "rootwrap-compile: {}", compiled.stderr);
    let sha256 = compiled
        .stderr
        .split("sha256:")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("no sha256 in {:?}", compiled.stderr))
        .to_string();
    assert_eq!(sha256.len(), 64, "{sha256}");
    set_mode(&rwc, 0o644);
    Compiled { rwc, rwf, sha256 }
}

/// Where `name` is found first in the exec dirs `/usr/bin /bin`.
pub(super) fn resolved(name: &str) -> String {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|dir| format!("{dir}/{name}"))
        .find(|path| Path::new(path).is_file())
        .unwrap_or_else(|| panic!("{name} is not in /usr/bin or /bin"))
}

/// A finished call of the runtime, with its process id (the `pid` of its
/// records: rootwrap replaces itself with the command).
#[derive(Debug)]
pub(super) struct Call {
    pub(super) code: i32,
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: String,
    pub(super) pid: u32,
}

pub(super) fn call(command: &mut Command) -> Call {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let pid = child.id();
    let output = child.wait_with_output().unwrap();
    Call {
        code: output.status.code().unwrap_or(-1),
        stdout: output.stdout,
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        pid,
    }
}

/// `rootwrap RULESET ARGV...` run directly (as root), in `cwd`, with a
/// small fixed environment: add SUDO_* with `.env()`.
pub(super) fn rootwrap<S: AsRef<OsStr>>(cwd: &Path, ruleset: &Path, argv: &[S]) -> Command {
    let mut command = Command::new(&binaries().rootwrap);
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("LC_ALL", "C")
        .current_dir(cwd)
        .arg(ruleset)
        .args(argv);
    command
}

pub(super) fn hostname() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim_end()
        .to_string()
}

pub(super) const VERSION: &str = env!("CARGO_PKG_VERSION");
