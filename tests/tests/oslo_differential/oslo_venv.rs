//! The oslo.rootwrap side: a virtualenv from PyPI, and the host's programs.

use super::*;

pub(super) fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A virtualenv with oslo.rootwrap, reused across runs.
pub(super) fn venv() -> Result<PathBuf, String> {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("oslo-rootwrap-{OSLO_VERSION}-venv"));
    let python = dir.join("bin/python");
    let ready = |python: &Path| {
        Command::new(python)
            .args(["-c", "import oslo_rootwrap.wrapper"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if ready(&python) {
        return Ok(python);
    }
    run(Command::new("python3").arg("--version")).map_err(|e| format!("no python3: {e}"))?;
    run(Command::new("python3")
        .args(["-m", "venv", "--clear"])
        .arg(&dir))
    .map_err(|e| format!("cannot create a virtualenv (is python3-venv installed?): {e}"))?;
    run(Command::new(&python).args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        &format!("oslo.rootwrap=={OSLO_VERSION}"),
    ]))
    .map_err(|e| format!("cannot install oslo.rootwrap from PyPI (network?): {e}"))?;
    if ready(&python) {
        Ok(python)
    } else {
        Err("oslo.rootwrap does not import after installing it".into())
    }
}

/// A child process killed when dropped.
pub(super) struct Reaped(pub(super) Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(super) fn which(name: &str, dirs: &[String]) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| Path::new(d).join(name))
        .find(|p| fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}
