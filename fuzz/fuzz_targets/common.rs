//! What every target does with a ruleset that opened: every read path and a
//! decision for a handful of command lines. Nothing here may panic.

use std::ffi::OsString;

use rootwrap::format::{ReadAt, Ruleset};
use rootwrap::matcher::Decision;

/// Commands whose rules are looked up directly.
pub const COMMANDS: &[&[u8]] = &[
    b"true",
    b"kpartx",
    b"ip",
    b"chown",
    b"/usr/bin/true",
    b"",
    b"no-such-command",
];

/// Command lines decided against every ruleset: the benchmarks' calls, the
/// shipped filter's commands (allowed and denied), env and chained forms.
pub fn argvs() -> Vec<Vec<OsString>> {
    let lines: &[&[&str]] = &[
        &["true"],
        &["true", "--mode", "0644", "tap0c5f7a2e-1b", "10.0.0.0/24"],
        &["kpartx", "-a", "/var/lib/nova/instances/0c5f7a2e/disk"],
        &[
            "kpartx",
            "-a",
            "/var/lib/nova/instances/../../../etc/shadow",
        ],
        &["blockdev", "--getsize64", "/dev/sda"],
        &["chown", "nova:nova", "/var/lib/nova/instances/abc/disk"],
        &["chmod", "4755", "/var/lib/nova/instances/abc/disk"],
        &["tunctl", "-b", "-t", "tap0c5f7a2e-1b"],
        &["ip", "link", "set", "tap0c5f7a2e-1b", "mtu", "1450"],
        &[
            "ip",
            "netns",
            "exec",
            "qrouter-1",
            "ip",
            "link",
            "set",
            "tap0c5f7a2e-1b",
            "up",
        ],
        &["nice", "-n", "10", "true"],
        &[
            "env",
            "CONFIG_FILE=/etc/svc1/x",
            "NETWORK_ID=7",
            "dnsmasq",
            "--conf-file",
            "/x",
        ],
        &["A=1", "true"],
        &["env"],
        &["ls", "-l", "/var/lib/nova/instances/abc"],
        &["kill", "-9", "1"],
        &["/usr/bin/true"],
    ];
    lines
        .iter()
        .map(|line| line.iter().map(OsString::from).collect())
        .collect()
}

pub fn exercise<R: ReadAt + ?Sized>(ruleset: &Ruleset<R>) {
    let _ = ruleset.digest_hex();
    let _ = format!("{ruleset:?}");
    for command in COMMANDS {
        if let Err(e) = ruleset.rules_for(command) {
            let _ = e.to_string();
        }
    }
    match ruleset.all_rules() {
        Ok(rules) => {
            for rule in &rules {
                let _ = format!("{rule:?}");
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Err(e) = ruleset.verify_all() {
        let _ = e.to_string();
    }
    for argv in argvs() {
        let hosts: [&dyn rootwrap::matcher::Host; 2] =
            [&rootwrap::matcher::OnThisHost, &rootwrap::matcher::AssumeInstalled];
        for host in hosts {
            match ruleset.decide(&argv, host) {
                Ok(Decision::Deny { tried }) => {
                    for (_, why) in &tried {
                        let _ = why.to_string();
                    }
                }
                Ok(other) => {
                    let _ = format!("{other:?}");
                }
                Err(e) => {
                    let _ = e.to_string();
                }
            }
        }
    }
}
