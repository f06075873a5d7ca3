//! `COMMAND @sha256:HEX` and `--pin-executables`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use rootwrap::format::hex;
use rootwrap_compile::compile::{compile_sources_with, Settings};
use rootwrap_compile::{Compiled, Sources};

const HEAD: &str = "ruleset t\nexec-dirs /usr/bin /bin\n";

fn compile(text: &str, pin_executables: bool) -> Result<Compiled, String> {
    let mut sources = Sources::default();
    let settings = Settings {
        deny_warnings: false,
        pin_executables,
    };
    compile_sources_with(
        vec![("t.rwf".into(), format!("{HEAD}{text}"))],
        settings,
        &mut sources,
    )
    .map_err(|failed| sources.render_all(&failed.diagnostics).join("\n"))
}

/// The host's `sh`, as the exec dirs find it, and its digest.
fn host_sh() -> String {
    let path = ["/usr/bin/sh", "/bin/sh"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .unwrap();
    hex(&rootwrap::binary::digest_of(std::path::Path::new(path)).unwrap())
}

#[test]
fn a_written_digest_is_stored_and_printed_back() {
    let digest = "AB".repeat(32);
    let compiled = compile(
        &format!("allow r: ls @sha256:{digest} -l\ntest allow r: ls -l\n"),
        false,
    )
    .unwrap();
    let rule = &compiled.policy.rules[0].rule;
    assert_eq!(rule.sha256, Some([0xab; 32]));
    assert_eq!(
        rule.pattern_text(),
        format!("ls @sha256:{} -l", "ab".repeat(32))
    );
    // Unpinned rules store none.
    let compiled = compile("allow r: ls -l\n", false).unwrap();
    assert_eq!(compiled.policy.rules[0].rule.sha256, None);
}

#[test]
fn bad_digests_are_errors() {
    let errors = compile("allow r: ls @sha256:abc\n", false).unwrap_err();
    assert!(
        errors.contains("error: `@sha256:abc` is not a SHA-256 digest"),
        "{errors}"
    );
    let glued = format!("allow r: ls@sha256:{}\n", "0".repeat(64));
    let errors = compile(&glued, false).unwrap_err();
    assert!(errors.contains("holds `@sha256:`"), "{errors}");
    // Quoted, it is an argument.
    let quoted = compile("allow r: ls \"@sha256:abc\"\n", false).unwrap();
    assert_eq!(quoted.policy.rules[0].rule.sha256, None);
}

#[test]
fn pin_executables_fills_in_the_hosts_digests() {
    let compiled = compile("allow r: sh -c true\n", true).unwrap();
    assert_eq!(
        compiled.policy.rules[0].rule.sha256.map(|d| hex(&d)),
        Some(host_sh())
    );
    // Without the option, nothing is pinned.
    let compiled = compile("allow r: sh -c true\n", false).unwrap();
    assert_eq!(compiled.policy.rules[0].rule.sha256, None);
}

#[test]
fn pin_executables_checks_written_digests_and_needs_every_executable() {
    let right = host_sh();
    assert!(compile(&format!("allow r: sh @sha256:{right} -c true\n"), true).is_ok());
    let wrong = "0".repeat(64);
    let errors = compile(&format!("allow r: sh @sha256:{wrong} -c true\n"), true).unwrap_err();
    assert!(
        errors.contains(&format!("rule `r` pins `sh` to sha256:{wrong}, but"))
            && errors.contains(&format!("on this host is sha256:{right}")),
        "{errors}"
    );
    // Without the option, the written digest is not compared with the host.
    assert!(compile(&format!("allow r: sh @sha256:{wrong} -c true\n"), false).is_ok());
    let errors = compile("allow r: rw-no-such-program-here\n", true).unwrap_err();
    assert!(
        errors.contains(
            "cannot pin `rw-no-such-program-here` (rule `r`): no such executable on this host"
        ),
        "{errors}"
    );
}
