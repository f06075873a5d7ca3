//! End to end through real sudo as the service user: a rule written `via
//! CHAIN` allows its command line through that chain only. On the host, or
//! through another chaining rule, the very same command line is refused.
//!
//! Needs root (users, sudoers drop-in); skipped otherwise, never under
//! `CI=true`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::sync::OnceLock;

use rootwrap_tests::{assert_unauthorized, require_root, run, SudoFixture};

fn ruleset_source() -> String {
    let mut dirs = vec![rootwrap_tests::exec_dir().display().to_string()];
    dirs.extend(["/usr/sbin", "/usr/bin", "/sbin", "/bin"].map(String::from));
    format!(
        r#"# The ruleset of tests/tests/e2e_via.rs.
ruleset via
exec-dirs {}

allow in-nice: nice -n 5 then allowed
allow in-other-nice: nice -n 7 then allowed
allow uid-in-nice via in-nice: id -u
allow gid: id -g

test allow in-nice: nice -n 5 id -u
"#,
        dirs.join(" ")
    )
}

fn fixture() -> &'static SudoFixture {
    static FIXTURE: OnceLock<SudoFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| SudoFixture::set_up_named("via", &ruleset_source(), &[]))
}

#[test]
fn a_via_rule_runs_through_its_chain_only() {
    require_root!();
    let fixture = fixture();
    // Through its chain: `id -u` runs as root, under nice.
    let through = run(&mut fixture.sudo(&["nice", "-n", "5", "id", "-u"]));
    assert_eq!(
        (through.code, through.stdout_text().as_str()),
        (0, "0\n"),
        "stderr: {}",
        through.stderr
    );
    // The same command line on the host: refused.
    assert_unauthorized(&run(&mut fixture.sudo(&["id", "-u"])));
    // Through another chaining rule: refused.
    assert_unauthorized(&run(&mut fixture.sudo(&["nice", "-n", "7", "id", "-u"])));
    // A rule without `via` is reached both ways.
    for argv in [&["id", "-g"][..], &["nice", "-n", "7", "id", "-g"]] {
        let ran = run(&mut fixture.sudo(argv));
        assert_eq!(
            (ran.code, ran.stdout_text().as_str()),
            (0, "0\n"),
            "{argv:?}: {}",
            ran.stderr
        );
    }
}
