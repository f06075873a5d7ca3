//! (d) The JSON file's security and fail-closed behaviour.

use super::*;

/// A ruleset logging to `log_path` whose one rule creates `marker`.
fn marker_ruleset(dir: &Path, name: &str, log_path: &Path, marker: &Path, extra: &str) -> Compiled {
    let source = format!(
        "ruleset audit-file\nexec-dirs /usr/bin /bin\nlog json {}\n{extra}allow mark: touch {}\n",
        log_path.display(),
        marker.display()
    );
    compile(dir, name, &source)
}

#[test]
fn the_json_log_is_created_0600_root_and_appended_to() {
    require_root!();
    let dir = Scratch::new("audit-create");
    let log_path = dir.join("audit.jsonl");
    let marker = dir.join("marker");
    let ruleset = marker_ruleset(dir.path(), "create", &log_path, &marker, "");
    let argv = ["touch", marker.to_str().unwrap()];
    // A permissive umask must not leak into the file's mode.
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", "umask 000 && exec \"$@\"", "sh"])
        .arg(&binaries().rootwrap)
        .arg(&ruleset.rwc)
        .args(argv)
        .current_dir(dir.path());
    let done = call(&mut command);
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(marker.exists());
    let meta = fs::symlink_metadata(&log_path).unwrap();
    assert!(meta.is_file());
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        (0, 0, 0o600)
    );
    // Appended, not truncated: an existing record stays.
    let done = call(&mut rootwrap(dir.path(), &ruleset.rwc, &argv));
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert_eq!(json_lines(&log_path).len(), 2);
}

#[test]
fn a_symlink_at_the_json_log_path_is_refused_and_nothing_runs() {
    require_root!();
    let dir = Scratch::new("audit-symlink");
    let log_path = dir.join("audit.jsonl");
    let elsewhere = dir.join("elsewhere");
    fs::write(&elsewhere, "").unwrap();
    set_mode(&elsewhere, 0o600);
    symlink(&elsewhere, &log_path).unwrap();
    // A dangling link too: it must not be created through.
    let dangling = dir.join("dangling.jsonl");
    symlink(dir.join("created-through-link"), &dangling).unwrap();
    let marker = dir.join("marker");
    for (name, path) in [("link", &log_path), ("dangling", &dangling)] {
        let ruleset = marker_ruleset(dir.path(), name, path, &marker, "");
        let done = call(&mut rootwrap(
            dir.path(),
            &ruleset.rwc,
            &["touch", marker.to_str().unwrap()],
        ));
        assert_eq!(done.code, 97, "{}", done.stderr);
        let message = format!(
            "rootwrap: the audit log {} is a symbolic link; refusing the call",
            path.display()
        );
        assert!(done.stderr.contains(&message), "{}", done.stderr);
    }
    assert!(!marker.exists(), "the command ran");
    assert_eq!(
        fs::read(&elsewhere).unwrap(),
        b"",
        "written through a symlink"
    );
    assert!(!dir.join("created-through-link").exists());
}

#[test]
fn a_json_log_not_owned_by_root_is_refused_and_nothing_runs() {
    require_root!();
    let dir = Scratch::new("audit-owner");
    let log_path = dir.join("audit.jsonl");
    fs::write(&log_path, "").unwrap();
    set_mode(&log_path, 0o600);
    std::os::unix::fs::chown(&log_path, Some(65534), Some(65534)).unwrap();
    let marker = dir.join("marker");
    let ruleset = marker_ruleset(dir.path(), "owner", &log_path, &marker, "");
    let done = call(&mut rootwrap(
        dir.path(),
        &ruleset.rwc,
        &["touch", marker.to_str().unwrap()],
    ));
    assert_eq!(done.code, 97, "{}", done.stderr);
    let message = format!(
        "rootwrap: the audit log {} is owned by uid 65534, not by root; refusing the call",
        log_path.display()
    );
    assert!(done.stderr.contains(&message), "{}", done.stderr);
    assert!(!marker.exists(), "the command ran");
    assert_eq!(fs::read(&log_path).unwrap(), b"");
}

#[test]
fn an_unwritable_json_log_fails_closed_unless_told_to_continue() {
    require_root!();
    let dir = Scratch::new("audit-unwritable");
    let marker = dir.join("marker");
    let missing = dir.join("no-such-dir/audit.jsonl");
    let a_directory = dir.path().to_path_buf();
    for path in [&missing, &a_directory] {
        let ruleset = marker_ruleset(dir.path(), "refuse", path, &marker, "");
        let done = call(&mut rootwrap(
            dir.path(),
            &ruleset.rwc,
            &["touch", marker.to_str().unwrap()],
        ));
        assert_eq!(done.code, 97, "{}", done.stderr);
        let message = format!("rootwrap: cannot open the audit log {}: ", path.display());
        assert!(
            done.stderr.contains(&message) && done.stderr.contains("refusing the call"),
            "{}",
            done.stderr
        );
        assert!(!marker.exists(), "the command ran");
    }

    // on-log-failure continue: runs, and stderr says why it was not logged.
    let ruleset = marker_ruleset(
        dir.path(),
        "continue",
        &missing,
        &marker,
        "on-log-failure continue\n",
    );
    let done = call(&mut rootwrap(
        dir.path(),
        &ruleset.rwc,
        &["touch", marker.to_str().unwrap()],
    ));
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(marker.exists(), "on-log-failure continue must run the call");
    let message = format!(
        "rootwrap: warning: cannot open the audit log {}: {}; continuing without it, as the ruleset says (on-log-failure continue)",
        missing.display(),
        io::Error::from_raw_os_error(2)
    );
    assert!(done.stderr.contains(&message), "{}", done.stderr);
}
