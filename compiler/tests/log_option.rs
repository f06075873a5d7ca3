//! The `log` and `on-log-failure` options: both targets at once, each set
//! once, and the failure policy, as the ruleset stores them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use rootwrap::format::Ruleset;
use rootwrap::types::{LogOptions, OnLogFailure};
use rootwrap_compile::{compile_sources, Sources};

const HEAD: &str = "ruleset t\nexec-dirs /usr/bin /bin\nallow true: true\n";

fn compile(options: &str) -> Result<LogOptions, String> {
    let text = format!("{HEAD}{options}\n");
    let mut sources = Sources::default();
    match compile_sources(vec![("t.rwf".into(), text)], false, &mut sources) {
        Ok(compiled) => Ok(Ruleset::from_bytes(&compiled.bytes)
            .unwrap()
            .options()
            .log
            .clone()),
        Err(failed) => Err(sources.render_all(&failed.diagnostics).join("\n")),
    }
}

#[test]
fn syslog_and_a_json_file_are_two_targets() {
    let both = compile("log syslog\nlog json /var/log/rootwrap/audit.jsonl").unwrap();
    assert!(both.syslog.is_some());
    assert_eq!(both.json.as_deref(), Some("/var/log/rootwrap/audit.jsonl"));
    let twice = compile("log json /var/log/a.jsonl\nlog json /var/log/b.jsonl").unwrap_err();
    assert!(twice.contains("log json"), "{twice}");
}

#[test]
fn on_log_failure_is_refuse_unless_continue_is_written() {
    assert_eq!(
        compile("log syslog").unwrap().on_failure,
        OnLogFailure::Refuse
    );
    assert_eq!(
        compile("log syslog\non-log-failure refuse")
            .unwrap()
            .on_failure,
        OnLogFailure::Refuse
    );
    assert_eq!(
        compile("log syslog\non-log-failure continue")
            .unwrap()
            .on_failure,
        OnLogFailure::Continue
    );
    let wrong = compile("log syslog\non-log-failure maybe").unwrap_err();
    assert!(
        wrong.contains("`on-log-failure` is `refuse` or `continue`"),
        "{wrong}"
    );
}
