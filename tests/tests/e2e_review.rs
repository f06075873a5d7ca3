//! Findings of the adversarial review (a caller with the service's own
//! account, allowed `sudo rootwrap RULESET *`), each reproduced through real
//! sudo as the unprivileged user: what it got before, refused now.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::process::Stdio;
use std::sync::OnceLock;

use rootwrap_tests::{require_root, run, SudoFixture};

fn ruleset() -> String {
    r#"ruleset review
exec-dirs /usr/sbin /usr/bin /sbin /bin

# A rule whose program is missing on this host, for a target user, before
# one for root: passing over it must not turn the call into root's.
allow id-as-nobody as nobody: /opt/rootwrap-review-missing/id -u
allow id-as-root: id -u

# Long paths: root's time is bounded.
allow stat-paths: stat { [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] [<path /usr/**>] }
"#
    .to_string()
}

fn fixture() -> &'static SudoFixture {
    static FIXTURE: OnceLock<SudoFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| SudoFixture::set_up_named("review", &ruleset(), &[]))
}

#[test]
fn passing_over_a_missing_program_does_not_change_the_target_user() {
    require_root!();
    let f = fixture();
    let ran = run(f.sudo(&["id", "-u"]).stdin(Stdio::null()));
    // Before: `0` from the second rule, as root.
    assert_eq!(
        ran.code,
        96,
        "stdout {:?}, stderr {}",
        ran.stdout_text(),
        ran.stderr
    );
    assert!(ran.stdout.is_empty());
    assert!(
        ran.stderr.contains(
            "Executable not found: /opt/rootwrap-review-missing/id (filter match = id-as-nobody)"
        ),
        "{}",
        ran.stderr
    );
}

#[test]
fn overlong_paths_are_refused_without_resolving_them() {
    require_root!();
    let f = fixture();
    // Over PATH_MAX, though it resolves to /usr/bin: the kernel would refuse
    // it, so rootwrap does not spend root's time resolving it (before: each
    // of the 700 components was looked up, and the call ran).
    let long = format!("/usr/bin{}", "/../bin".repeat(700));
    assert!(long.len() > 4096);
    let ran = run(f.sudo(&["stat", &long]).stdin(Stdio::null()));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    // A name over NAME_MAX, the same.
    let name = format!("/usr/bin/{}/../env", "b".repeat(256));
    let ran = run(f.sudo(&["stat", &name]).stdin(Stdio::null()));
    assert_eq!(ran.code, 99, "{}", ran.stderr);
    // Within the limits, the same path runs.
    let short = format!("/usr/bin{}", "/../bin".repeat(100));
    let ran = run(f.sudo(&["stat", &short]).stdin(Stdio::null()));
    assert_eq!(ran.code, 0, "{}", ran.stderr);
}
