//! The `daemon` option: its settings lower into the ruleset's
//! `DaemonOptions`, and every wrong setting is a clear error.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use rootwrap::format::Ruleset;
use rootwrap::types::DaemonOptions;
use rootwrap_compile::{compile_sources, Sources};

const HEAD: &str = "ruleset t\nexec-dirs /usr/bin /bin\nallow true: true\n";

fn compile(option: &str) -> Result<DaemonOptions, String> {
    let text = format!("{HEAD}{option}\n");
    let mut sources = Sources::default();
    match compile_sources(vec![("t.rwf".into(), text)], false, &mut sources) {
        Ok(compiled) => Ok(Ruleset::from_bytes(&compiled.bytes)
            .unwrap()
            .options()
            .daemon
            .clone()),
        Err(failed) => Err(sources.render_all(&failed.diagnostics).join("\n")),
    }
}

#[test]
fn settings_lower_into_the_ruleset() {
    assert_eq!(compile("").unwrap(), DaemonOptions::default());
    assert_eq!(DaemonOptions::default().idle_timeout_secs, 600);
    let set =
        compile("daemon idle-timeout=0 max-running=4 max-waiting=0 users=nova,neutron groups=nova")
            .unwrap();
    assert_eq!(
        set,
        DaemonOptions {
            idle_timeout_secs: 0,
            max_running: 4,
            max_waiting: 0,
            users: vec!["nova".into(), "neutron".into()],
            groups: vec!["nova".into()],
        }
    );
}

#[test]
fn wrong_settings_are_errors() {
    for (option, said) in [
        ("daemon", "`daemon` takes settings"),
        ("daemon idle=5", "unknown daemon setting `idle`"),
        (
            "daemon max-running=0",
            "`max-running` takes a whole number from 1 to 1024",
        ),
        (
            "daemon max-running=+4",
            "`max-running` takes a whole number",
        ),
        (
            "daemon max-waiting=5000",
            "`max-waiting` takes a whole number from 0 to 4096",
        ),
        (
            "daemon idle-timeout=ten",
            "`idle-timeout` takes a whole number",
        ),
        ("daemon users=nova,", "`` is not a valid user name"),
        ("daemon groups=a:b", "`a:b` is not a valid group name"),
        ("daemon users=a users=b", "`users` is set twice"),
    ] {
        let error = compile(option).expect_err(option);
        assert!(error.contains(said), "{option}: {error}");
    }
}
