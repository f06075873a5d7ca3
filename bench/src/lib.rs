//! Synthetic rulesets for rootwrap's benchmarks.
//!
//! [`generate_rwf`] writes a filter file of exactly `n` rules spread over many
//! commands (about [`RULES_PER_COMMAND`] each), with the patterns real filters
//! use: literals, alternatives, anchored regexes, typed values (int ranges,
//! modes, signals, UUIDs, addresses, networks, MACs, interface, user and group
//! names), path constraints, `env` assignments, target users and a `...` tail.
//!
//! The measured command is [`MEASURED_COMMAND`] (`true`, found as `/usr/bin/true`
//! or `/bin/true` through the exec dirs). It has [`TRUE_RULES`] rules at every
//! size (fewer only when `n` is smaller), and the rule that allows the
//! measured calls, [`MATCHING_RULE`], is the last of them: every call first
//! tries, and fails, every other rule for `true`. Its rules are spread through
//! the file, the matching one being the very last rule.
//!
//! The same generator feeds the criterion benches (`benches/ruleset.rs`), the
//! `gen-rwf` binary and `bench/cli.sh`, so every number is measured on the
//! same kind of ruleset.

use std::ffi::OsString;
use std::fmt::Write as _;

/// The argv[0] of every measured call.
pub const MEASURED_COMMAND: &str = "true";
/// How many rules `true` has (when `n` allows).
pub const TRUE_RULES: usize = 5;
/// The rule that allows the measured calls: the last one for `true`.
pub const MATCHING_RULE: &str = "true-any";
/// Average number of rules per other command.
pub const RULES_PER_COMMAND: usize = 5;
/// The ruleset sizes of the benchmarks.
pub const SIZES: [usize; 3] = [10, 1_000, 10_000];

/// The whole-process call: `rootwrap R.rwc true`. Every other rule for
/// `true` fails on its arity.
pub fn measured_argv() -> Vec<OsString> {
    vec![OsString::from(MEASURED_COMMAND)]
}

/// A call with arguments: the earlier rules for `true` check a literal, a
/// mode, a regex, then fail on their last, typed, argument.
pub fn measured_argv_with_args() -> Vec<OsString> {
    ["true", "--mode", "0644", "tap0c5f7a2e-1b", "10.0.0.0/24"]
        .into_iter()
        .map(OsString::from)
        .collect()
}

/// Real program names; beyond these, numbered variants (`lvcreate-17`).
const PROGRAMS: &[&str] = &[
    "blockdev",
    "kpartx",
    "chown",
    "chmod",
    "ip",
    "tunctl",
    "iscsiadm",
    "lvcreate",
    "lvremove",
    "lvs",
    "vgs",
    "dmsetup",
    "losetup",
    "qemu-img",
    "mount",
    "umount",
    "cryptsetup",
    "multipath",
    "ovs-vsctl",
    "ovs-ofctl",
    "conntrack",
    "brctl",
    "dnsmasq",
    "radvd",
    "haproxy",
    "keepalived",
    "ebtables",
    "ipset",
    "tgtadm",
    "targetcli",
    "nvme",
    "rbd",
    "mkfs.ext4",
    "resize2fs",
    "e2fsck",
    "blkid",
    "sg_scan",
    "systool",
    "privsep-helper",
    "arping",
];

/// The command names of the other (non-measured) commands.
fn command_name(index: usize) -> String {
    let program = PROGRAMS[index % PROGRAMS.len()];
    let round = index / PROGRAMS.len();
    let name = if round == 0 {
        program.to_string()
    } else {
        format!("{program}-{round}")
    };
    // Every fifth command is written with its absolute path, as filters for
    // programs outside the exec dirs are.
    if index % 5 == 4 {
        format!("/opt/tools/sbin/{name}")
    } else {
        name
    }
}

/// One rule for an ordinary command; `k` varies the constants.
fn other_rule(out: &mut String, name: &str, command: &str, template: usize, k: usize) {
    let user = [
        "nova", "cinder", "neutron", "glance", "swift", "manila", "octavia",
    ][k % 7];
    let line = match template % 11 {
        0 => format!("allow {name}: {command} (--getsize64 | --flushbufs) <path /dev/*>"),
        1 => format!(
            "allow {name}: {command} link set re\"tap[0-9a-f]{{8}}-[0-9a-f]{{2}}\" (up | down)"
        ),
        2 => format!(
            "allow {name}: {command} <mode 0640 | 0644 | 0660> <path /var/lib/svc{k}/instances/**>"
        ),
        3 => format!("allow {name}: {command} --size <int 1..65535> re\"vol{k}-[0-9a-f]{{8}}\""),
        4 => format!("allow {name}: {command} addr add <cidr> dev <ifname>"),
        5 => format!("allow {name}: {command} --uuid <uuid> --mac <mac> --ip <ip>"),
        6 => format!("allow {name} as {user}: {command} -l <path /var/lib/{user}/svc{k}/*>"),
        7 => format!(
            "allow {name}: env CONFIG_FILE=<path /etc/svc{k}/*> NETWORK_ID=<int 0..4095> \
             {command} --conf-file <path /var/lib/svc{k}/dnsmasq/*> ... \
             because \"options differ between releases\""
        ),
        8 => format!(
            "allow {name}: {command} (-s | --signal) <signal 9 | TERM | HUP> <int 1..4194304>"
        ),
        9 => format!(
            "allow {name}: {command} -o <user> -g <group> -m <mode> <path /var/lib/svc{k}/**>"
        ),
        _ => format!(
            "allow {name}: {command} --name re\"[a-z][a-z0-9_-]{{0,31}}\" --port <int 1..65535> \
             --listen <ipv6> --gateway <ipv4>"
        ),
    };
    out.push_str(&line);
    out.push('\n');
}

/// The rules for `true`, the matching one last. With no arguments, each of
/// the others fails on its arity; with [`measured_argv_with_args`] they fail
/// on their last argument.
fn true_rules(count: usize) -> Vec<String> {
    let earlier = [
        "allow true-version: true --version".to_string(),
        "allow true-ipv4: true --mode <mode 0640 | 0644> re\"tap[0-9a-f]{8}-[0-9a-f]{2}\" <ipv4>"
            .to_string(),
        "allow true-vlan: true --mode <mode 0640 | 0644 | 0660> re\"tap[0-9a-f]{8}-[0-9a-f]{2}\" <int 0..4094>"
            .to_string(),
        "allow true-uuid: true --mode <mode> re\"tap[0-9a-f]{8}-[0-9a-f]{2}\" <uuid>".to_string(),
    ];
    let last = format!(
        "allow {MATCHING_RULE}: true ... because \"the benchmark's measured call: matches last\""
    );
    let mut rules: Vec<String> = earlier
        .into_iter()
        .take(count.saturating_sub(1).min(TRUE_RULES - 1))
        .collect();
    if count > 0 {
        rules.push(last);
    }
    rules
}

/// A filter file of exactly `n` rules (see the crate documentation).
pub fn generate_rwf(n: usize) -> String {
    let true_rules = true_rules(n.min(TRUE_RULES));
    let others = n - true_rules.len();
    let commands = others.div_ceil(RULES_PER_COMMAND).max(1);

    let mut out = String::with_capacity(n * 96 + 512);
    let _ = writeln!(
        out,
        "# Generated by rootwrap-bench (gen-rwf {n}): {n} rules, {} for `true`.",
        true_rules.len()
    );
    let _ = writeln!(out, "ruleset bench-{n}");
    out.push_str("exec-dirs /usr/sbin /usr/bin /sbin /bin\n\n");

    // Other commands' rules, grouped by command as a filter file would be,
    // with the rules for `true` spread through the file and the matching one
    // the very last.
    let mut emitted_true = 0;
    let spread = true_rules.len().saturating_sub(1);
    let mut emitted = 0;
    for command_index in 0..commands {
        let command = command_name(command_index);
        let label = command.rsplit('/').next().unwrap_or(&command).to_string();
        let first = command_index * others / commands;
        let end = (command_index + 1) * others / commands;
        if first < end {
            let _ = writeln!(out, "# {command}");
        }
        for rule in first..end {
            while emitted_true < spread && emitted * spread >= emitted_true * others.max(1) {
                out.push_str(&true_rules[emitted_true]);
                out.push('\n');
                emitted_true += 1;
            }
            let name = format!("{label}-r{rule}");
            other_rule(&mut out, &name, &command, rule, rule % 97);
            emitted += 1;
        }
    }
    for rule in &true_rules[emitted_true..] {
        out.push_str(rule);
        out.push('\n');
    }

    out.push_str("\n# Policy tests, run by the compiler with the runtime's matcher.\n");
    if !true_rules.is_empty() {
        let _ = writeln!(out, "test allow {MATCHING_RULE}: true");
        let _ = writeln!(
            out,
            "test allow {MATCHING_RULE}: true --mode 0644 tap0c5f7a2e-1b 10.0.0.0/24"
        );
    }
    out.push_str("test deny: no-such-command --version\n");
    out
}

/// Compiles [`generate_rwf`]`(n)` with the compiler's library, as
/// `rootwrap-compile` would: the ruleset's bytes.
pub fn compile_ruleset(n: usize) -> Result<Vec<u8>, String> {
    compile_text(&format!("bench-{n}.rwf"), generate_rwf(n))
}

/// Compiles one named filter text; every diagnostic on failure.
pub fn compile_text(name: &str, text: String) -> Result<Vec<u8>, String> {
    let mut sources = rootwrap_compile::Sources::default();
    match rootwrap_compile::compile_sources(vec![(name.to_string(), text)], false, &mut sources) {
        Ok(compiled) => Ok(compiled.bytes),
        Err(failed) => Err(sources.render_all(&failed.diagnostics).join("\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rootwrap::format::Ruleset;
    use rootwrap::matcher::Decision;

    #[test]
    fn generated_rulesets_have_n_rules_and_match_last() {
        for n in [1, 5, 10, 37, 1_000] {
            let bytes = compile_ruleset(n).unwrap();
            let ruleset = Ruleset::from_bytes(&bytes).unwrap();
            ruleset.verify_all().unwrap();
            assert_eq!(ruleset.rule_count() as usize, n);
            let rules = ruleset.rules_for(MEASURED_COMMAND.as_bytes()).unwrap();
            assert_eq!(rules.len(), n.min(TRUE_RULES));
            assert_eq!(rules.last().unwrap().name, MATCHING_RULE);
            for argv in [measured_argv(), measured_argv_with_args()] {
                match ruleset
                    .decide(&argv, &rootwrap::matcher::OnThisHost)
                    .unwrap()
                {
                    Decision::Allow(allowed) => assert_eq!(allowed.rule.name, MATCHING_RULE),
                    other => panic!("{n}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn generation_is_deterministic() {
        assert_eq!(generate_rwf(1_000), generate_rwf(1_000));
    }
}
