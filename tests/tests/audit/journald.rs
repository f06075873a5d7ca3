//! (c) Syslog to a real journald: `systemd-journald` started on its own in
//! a private mount namespace (its own /run and /var/log), /dev/log pointing
//! at its socket, as on a systemd host.

use super::*;

/// Starts journald, makes `rootwrap RULESET true` and `rootwrap RULESET
/// false` calls, and returns their exit codes and what `journalctl -o json`
/// then holds under the `rootwrap` identifier.
const SCRIPT: &str = r#"
set -eu
rootwrap=$1 ruleset=$2
mount --make-rprivate /
mount -t tmpfs rootwrap-journald /run
mount -t tmpfs rootwrap-journald /var/log
mkdir -p /run/systemd/journal /run/log/journal
/lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
journald=$!
trap 'kill $journald' EXIT
i=0
until [ -S /run/systemd/journal/dev-log ]; do
    i=$((i + 1)); [ $i -lt 200 ] || { echo "journald did not start" >&2; exit 1; }
    sleep 0.05
done
mount -t tmpfs -o mode=0755 rootwrap-journald /dev
mknod -m 0666 /dev/null c 1 3
ln -s /run/systemd/journal/dev-log /dev/log
set +e
"$rootwrap" "$ruleset" true; echo "allowed $?" >&2
"$rootwrap" "$ruleset" false; echo "denied $?" >&2
set -e
i=0
until [ "$(journalctl -D /run/log/journal -t rootwrap -o json --no-pager | wc -l)" -ge 2 ]; do
    i=$((i + 1)); [ $i -lt 200 ] || break
    sleep 0.05
done
journalctl -D /run/log/journal -t rootwrap -o json --no-pager
"#;

/// journald reads the datagram as rootwrap means it: its identifier and
/// pid from the tag, its priority and facility from `<PRI>`, the message
/// whole, and no sender's timestamp (it dates the record itself).
#[test]
fn journald_files_each_record_under_rootwrap_with_its_pid_and_priority() {
    require_root!();
    let journald = Path::new("/lib/systemd/systemd-journald");
    if !journald.is_file() {
        rootwrap_tests::prerequisite::missing(
            "systemd-journald is not installed (Debian's `systemd` package)",
        );
        return;
    }
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-audit-journald");
    let ruleset = rootwrap_tests::compile_ruleset(
        dir.path(),
        "journald",
        "ruleset journald\nexec-dirs /usr/bin /bin\nlog syslog\nallow t: true\n",
    );
    let done = run(Command::new(tool("unshare"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .args(["-m", "/bin/sh", "-c", SCRIPT, "sh"])
        .arg(&binaries().rootwrap)
        .arg(&ruleset));
    assert_eq!(done.code, 0, "{}", done.stderr);
    assert!(done.stderr.contains("allowed 0"), "{}", done.stderr);
    assert!(done.stderr.contains("denied 99"), "{}", done.stderr);

    let entries: Vec<Value> = done
        .stdout_text()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(entries.len(), 2, "{}", done.stdout_text());
    for (entry, (decision, priority)) in entries.iter().zip([("allowed", "6"), ("denied", "4")]) {
        let field = |name: &str| entry[name].as_str().unwrap_or_default().to_string();
        assert_eq!(field("SYSLOG_IDENTIFIER"), "rootwrap", "{entry}");
        assert_eq!(field("SYSLOG_PID"), field("_PID"), "{entry}");
        assert_eq!(field("SYSLOG_FACILITY"), "10", "{entry}");
        assert_eq!(field("PRIORITY"), priority, "{entry}");
        assert!(entry.get("SYSLOG_TIMESTAMP").is_none(), "{entry}");
        let pairs = parse_kv(&field("MESSAGE"));
        assert_eq!(
            pairs.first(),
            Some(&("decision".to_string(), decision.to_string())),
            "{entry}"
        );
        assert!(
            pairs.iter().any(|(k, v)| k == "ruleset" && v == "journald"),
            "{entry}"
        );
    }
}
