//! Site overrides end to end, as deployed: a packaged filter file allows,
//! a site's file compiled after it narrows that with a `deny` rule and a
//! `disable`, and the service user's calls through real sudo are denied
//! (exit 99, nothing run) with audit records that name the deny rule, or
//! the disabled rule and the reason.
//!
//! Needs root (to create the users and the sudoers drop-in); each test says
//! it was skipped otherwise.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use rootwrap_tests::{fixture_dir, require_root, run, Ran, SudoFixture};

fn base() -> PathBuf {
    fixture_dir().join("overrides")
}

fn data() -> PathBuf {
    base().join("data")
}

fn audit_log() -> PathBuf {
    base().join("audit.jsonl")
}

fn packaged() -> String {
    format!(
        r#"ruleset overrides
exec-dirs /usr/bin /bin
log json {log}

allow cat-data: cat <path {data}/*>
allow head-data: head -c2 <path {data}/*>
allow nice: nice -n5 then allowed
test allow cat-data: cat {data}/secret
"#,
        log = audit_log().display(),
        data = data().display()
    )
}

fn site() -> String {
    format!(
        r#"# Not the secret, whatever the package allows.
deny no-secret: cat <path {data}/secret>
disable head-data because "not needed on this host"
test deny: cat {data}/secret
"#,
        data = data().display()
    )
}

fn fixture() -> &'static SudoFixture {
    static FIXTURE: OnceLock<SudoFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let _ = fs::remove_dir_all(base());
        fs::create_dir_all(data()).unwrap();
        fs::write(data().join("open"), "open\n").unwrap();
        fs::write(data().join("secret"), "secret\n").unwrap();
        SudoFixture::set_up_files(
            "overrides",
            &[("packaged.rwf", &packaged()), ("site.rwf", &site())],
            &[],
        )
    })
}

/// The tests read the one audit log's last record.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn call(argv: &[&str]) -> (Ran, serde_json::Value) {
    let ran = run(&mut fixture().sudo(argv));
    let log = fs::read_to_string(audit_log()).unwrap();
    let record = serde_json::from_str(log.lines().last().unwrap()).unwrap();
    (ran, record)
}

#[track_caller]
fn assert_denied(ran: &Ran, record: &serde_json::Value, says: &str) {
    assert_eq!(ran.code, 99, "stderr: {}", ran.stderr);
    assert!(ran.stdout.is_empty(), "it ran: {}", ran.stdout_text());
    assert!(
        ran.stderr.contains(says),
        "expected {says:?} in: {}",
        ran.stderr
    );
    assert_eq!(record["decision"], "denied", "{record}");
    assert_eq!(record["exit_code"], 99, "{record}");
    assert_eq!(record["user"], rootwrap_tests::CALLER, "{record}");
    assert_eq!(record["exec"], serde_json::Value::Null, "{record}");
}

/// The packaged allow still runs what the site did not deny; the site's
/// deny wins over it, directly and through a chain, and is named.
#[test]
fn a_site_deny_narrows_a_packaged_allow() {
    require_root!();
    let _one = exclusive();
    let open = data().join("open").display().to_string();
    let secret = data().join("secret").display().to_string();

    let (ran, record) = call(&["cat", &open]);
    assert_eq!(
        (ran.code, ran.stdout_text().as_str()),
        (0, "open\n"),
        "{}",
        ran.stderr
    );
    assert_eq!(record["decision"], "allowed", "{record}");
    assert_eq!(record["rule"]["name"], "cat-data", "{record}");
    assert!(record.get("rule_effect").is_none(), "{record}");

    for argv in [
        vec!["cat", secret.as_str()],
        vec!["nice", "-n5", "cat", secret.as_str()],
    ] {
        let (ran, record) = call(&argv);
        assert_denied(&ran, &record, "(denied by rule `no-secret` (site.rwf:2))");
        assert_eq!(
            record["rule"],
            serde_json::json!({"name": "no-secret", "file": "site.rwf", "line": 2}),
            "{record}"
        );
        assert_eq!(record["rule_effect"], "deny", "{record}");
    }
    let (ran, _) = call(&["nice", "-n5", "cat", &open]);
    assert_eq!(
        (ran.code, ran.stdout_text().as_str()),
        (0, "open\n"),
        "{}",
        ran.stderr
    );
}

/// A disabled rule runs nothing; the denial names it, where it was
/// disabled and why.
#[test]
fn a_disabled_rule_runs_nothing_and_is_named() {
    require_root!();
    let _one = exclusive();
    let open = data().join("open").display().to_string();
    let (ran, record) = call(&["head", "-c2", &open]);
    assert_denied(
        &ran,
        &record,
        "rule `head-data`: it matches, but is disabled (site.rwf:3): not needed on this host",
    );
    assert_eq!(
        record["rule"],
        serde_json::json!({"name": "head-data", "file": "packaged.rwf", "line": 6}),
        "{record}"
    );
    assert_eq!(record["rule_effect"], "disabled", "{record}");
    assert_eq!(
        record["disabled"],
        serde_json::json!({"reason": "not needed on this host", "file": "site.rwf", "line": 3}),
        "{record}"
    );
}
