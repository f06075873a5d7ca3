//! `import-oslo`: every filter class and loader quirk, from small inline
//! `.filters` texts to the rules written and the decisions they take; the
//! command line (files, exit codes); and the whole corpus of real filter
//! files (`../shared/corpus/oslo-filters`), which must import and compile.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use rootwrap::format::Ruleset;
use rootwrap::Decision;
use rootwrap_compile::oslo::reason::Category;
use rootwrap_compile::oslo::{
    import_conf_text, import_paths, import_texts, Import, ImportOptions, Outcome,
};
use rootwrap_compile::{compile_sources, Sources};

#[path = "../../tests/src/prerequisite.rs"]
mod prerequisite;

fn import(text: &str) -> Import {
    import_texts(
        vec![("t.filters".into(), format!("[Filters]\n{text}"))],
        ImportOptions::default(),
    )
    .unwrap()
}

fn compile(import: &Import) -> Ruleset<Vec<u8>> {
    let mut sources = Sources::default();
    let compiled = compile_sources(import.outputs(), false, &mut sources).unwrap_or_else(|f| {
        let text: Vec<String> = sources.render_all(&f.diagnostics);
        panic!(
            "does not compile:\n{}\n{}",
            text.join("\n"),
            import.combined()
        )
    });
    Ruleset::from_bytes(&compiled.bytes).unwrap()
}

/// The rule that allows `argv` (executables assumed present), and the argv
/// it runs.
fn decide(ruleset: &Ruleset<Vec<u8>>, argv: &[&str]) -> Option<(String, Vec<String>)> {
    let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
    match ruleset
        .decide(&argv, &rootwrap::matcher::AssumeInstalled)
        .unwrap()
    {
        Decision::Allow(allowed) => Some((
            allowed.rule.name.clone(),
            allowed
                .argv
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
        )),
        _ => None,
    }
}

fn allowed_by(ruleset: &Ruleset<Vec<u8>>, argv: &[&str]) -> Option<String> {
    decide(ruleset, argv).map(|(name, _)| name)
}

/// The combined output with wrapped comments joined back into one line.
fn flat(import: &Import) -> String {
    import.combined().replace("\n#   ", " ")
}

/// The `allow` line of the filter named `name`.
fn rule(import: &Import, name: &str) -> String {
    import
        .records()
        .find(|r| r.oslo_name == name)
        .and_then(|r| r.rule())
        .unwrap_or_else(|| panic!("no rule for `{name}`:\n{}", import.combined()))
}

fn refusal(import: &Import, name: &str) -> (Category, String) {
    match import
        .records()
        .find(|r| r.oslo_name == name)
        .map(|r| &r.outcome)
    {
        Some(Outcome::Refused(r)) => (r.category, r.reason.clone()),
        _ => panic!("`{name}` was not refused:\n{}", import.combined()),
    }
}

fn stricter(import: &Import, name: &str) -> Vec<Category> {
    import
        .records()
        .find(|r| r.oslo_name == name)
        .map(|r| r.stricter())
        .unwrap_or_default()
}

// ------------------------------------------------------------- classes

#[test]
fn command_filter() {
    let i = import(
        "kpartx: CommandFilter, kpartx, root\n\
         echo_abs: CommandFilter, /bin/echo, root\n\
         sleep: CommandFilter, sleep, nobody, 10\n",
    );
    assert_eq!(rule(&i, "kpartx"), "allow kpartx: kpartx ...");
    assert_eq!(rule(&i, "echo_abs"), "allow echo_abs: /bin/echo ...");
    assert_eq!(rule(&i, "sleep"), "allow sleep as nobody: sleep ...");
    assert!(i
        .combined()
        .contains("oslo ignores a CommandFilter's fields after the user (`10`)"));
    let r = compile(&i);
    assert_eq!(
        allowed_by(&r, &["kpartx", "-a", "x"]).as_deref(),
        Some("kpartx")
    );
    // A bare name is matched as written; an absolute path by either spelling.
    assert_eq!(allowed_by(&r, &["/sbin/kpartx"]), None);
    assert_eq!(allowed_by(&r, &["echo", "hi"]).as_deref(), Some("echo_abs"));
    assert_eq!(
        allowed_by(&r, &["/bin/echo", "hi"]).as_deref(),
        Some("echo_abs")
    );
    assert_eq!(allowed_by(&r, &["/usr/bin/echo", "hi"]), None);
    assert_eq!(allowed_by(&r, &["/home/bob/bin/echo"]), None);
}

#[test]
fn regexp_filter() {
    let i = import(
        "blockdev: RegExpFilter, blockdev, root, blockdev, --getsize64|--flushbufs, /dev/.*\n\
         sleep: RegExpFilter, sleep, root, sleep, \\d+\n\
         tunctl: RegExpFilter, /usr/sbin/tunctl, root, tunctl, -b, -t, .*\n\
         tail: RegExpFilter, tail, root, t.il, -n, [0-9]+\n\
         weird: RegExpFilter, ls, root, cat, /x\n",
    );
    assert_eq!(
        rule(&i, "blockdev"),
        "allow blockdev: blockdev (--getsize64 | --flushbufs) re\"/dev/.*\"u"
    );
    assert_eq!(rule(&i, "sleep"), "allow sleep: sleep re\"[0-9]+\"");
    assert_eq!(
        rule(&i, "tunctl"),
        "allow tunctl: /usr/sbin/tunctl -b -t re\".*\"u"
    );
    assert!(stricter(&i, "blockdev").contains(&Category::RegexAlternation));
    assert!(stricter(&i, "sleep").contains(&Category::UnicodeClass));
    assert!(stricter(&i, "sleep").contains(&Category::RegexNewline));
    assert!(stricter(&i, "tail").contains(&Category::Argv0Regex));
    assert_eq!(refusal(&i, "weird").0, Category::Regex0Command);
    let text = flat(&i);
    assert!(text.contains("# oslo (t.filters:2): blockdev: RegExpFilter"));
    assert!(text.contains("# stricter (regex-alternation):"));
    assert!(text.contains(
        "# differs (argv0-spelling): the caller may also write the full path `/usr/sbin/tunctl`"
    ));

    let r = compile(&i);
    assert!(allowed_by(&r, &["blockdev", "--getsize64", "/dev/sda"]).is_some());
    // oslo: `--getsize64|--flushbufs$` accepted `--getsize64XYZ`.
    assert_eq!(
        allowed_by(&r, &["blockdev", "--getsize64XYZ", "/dev/sda"]),
        None
    );
    // oslo: `$` accepted a trailing newline; Python's `\d` took `٣`.
    assert!(allowed_by(&r, &["sleep", "10"]).is_some());
    assert_eq!(allowed_by(&r, &["sleep", "10\n"]), None);
    assert_eq!(allowed_by(&r, &["sleep", "\u{663}"]), None);
    // Exact arity, as in oslo.
    assert_eq!(allowed_by(&r, &["sleep", "1", "2"]), None);
    // oslo ran /usr/bin/tail for any argv[0] matching `t.il`.
    assert!(allowed_by(&r, &["tail", "-n", "5"]).is_some());
    assert_eq!(allowed_by(&r, &["txil", "-n", "5"]), None);
}

#[test]
fn scoped_unicode_flag_under_global_ascii_keeps_pythons_classes() {
    // Python 3.11: a scoped `(?u:...)` inside a pattern with a global `(?a)`
    // has Unicode classes again, so `[^\d]` there excludes every digit.
    let i = import(
        "digit: RegExpFilter, echo, root, echo, (?a)x(?u:[^\\d])\n\
         word: RegExpFilter, echo, root, echo, (?a)(?u:[^\\w])\n\
         scoped_ascii: RegExpFilter, echo, root, echo, (?a:[^\\d])\n",
    );
    let r = compile(&i);
    // Expected decisions from `re.match(pattern + '$', arg)` in Python 3.11.
    for (filter, arg, python) in [
        ("digit", "xa", true),
        ("digit", "x5", false),
        ("digit", "x\u{663}", false),
        ("word", " ", true),
        ("word", "\u{663}", false),
        ("word", "\u{e9}", false),
        ("word", "a", false),
        ("scoped_ascii", "a", true),
        ("scoped_ascii", "5", false),
    ] {
        let allowed = allowed_by(&r, &["echo", arg]).as_deref() == Some(filter);
        assert!(
            !allowed || python,
            "{filter}: `{arg}` is allowed, Python refuses it"
        );
        if filter != "scoped_ascii" {
            assert_eq!(allowed, python, "{filter}: `{arg}`");
        }
    }
}

#[test]
fn regexes_nested_too_deeply_are_refused_without_crashing() {
    let nested =
        |depth: usize, inner: &str| format!("{}{inner}{}", "(".repeat(depth), ")".repeat(depth));
    // Python's re fails with RecursionError at 495 nested groups (3.11,
    // measured), so oslo never matched; 20,000 once overflowed our stack.
    let wide = format!("{}[ab]{}", "(?:".repeat(90), "|x)*".repeat(90));
    let i = import(&format!(
        "ok: RegExpFilter, sleep, root, sleep, {}\n\
         deep: RegExpFilter, sleep, root, sleep, {}\n\
         python_fails: RegExpFilter, sleep, root, sleep, {}\n\
         huge: RegExpFilter, sleep, root, sleep, {}\n\
         wide: RegExpFilter, sleep, root, sleep, {}\n",
        nested(100, "1"),
        nested(101, "1"),
        nested(495, "1"),
        nested(20_000, "1"),
        wide,
    ));
    assert_eq!(rule(&i, "ok"), "allow ok: sleep 1");
    for name in ["deep", "python_fails", "huge"] {
        let (category, reason) = refusal(&i, name);
        assert_eq!(category, Category::RegexTooDeep, "{name}");
        assert!(reason.contains("RecursionError"), "{reason}");
    }
    // Within the bound, but deeper than the compiler's own regexes allow.
    assert_eq!(refusal(&i, "wide").0, Category::RegexUncompilable);
    compile(&i);
}

#[test]
fn regexes_split_at_commas_keep_oslos_reading() {
    let i = import("head: RegExpFilter, head, root, head, -n, \\d{1,3}, /etc/hostname\n");
    assert_eq!(
        rule(&i, "head"),
        "allow head: head -n re\"[0-9]\\{1\" \"3}\" /etc/hostname"
    );
    assert!(i
        .combined()
        .contains("look like one regex cut at the comma"));
    let r = compile(&i);
    // What oslo allows: a digit and a literal `{1`, then a literal `3}`.
    assert!(allowed_by(&r, &["head", "-n", "5{1", "3}", "/etc/hostname"]).is_some());
    assert_eq!(allowed_by(&r, &["head", "-n", "12", "/etc/hostname"]), None);
    // A split inside a class or a group is invalid Python: oslo never matches.
    let i = import("x: RegExpFilter, ls, root, ls, [a,b]\n");
    assert_eq!(refusal(&i, "x").0, Category::DeadFilter);
}

#[test]
fn lookahead_becomes_a_path_or_is_refused() {
    let i = import(
        "privsep: RegExpFilter, privsep-helper, root, privsep-helper, --config-file, /etc/(?!\\.\\.).*\n\
         disk_chown: RegExpFilter, chown, root, chown, \\d+, /dev/(?!.*/\\.\\.).*\n\
         odd: RegExpFilter, ls, root, ls, a(?=b)b\n",
    );
    assert_eq!(
        rule(&i, "privsep"),
        "allow privsep: privsep-helper --config-file <path /etc/**>"
    );
    assert_eq!(
        rule(&i, "disk_chown"),
        "allow disk_chown: chown re\"[0-9]+\" <path /dev/**>"
    );
    assert!(stricter(&i, "privsep").contains(&Category::PathLookahead));
    let (category, reason) = refusal(&i, "odd");
    assert_eq!(category, Category::RegexUnsupported);
    assert!(reason.contains("look-ahead"), "{reason}");
    assert!(i.combined().contains("#   suggestion:"));
    let r = compile(&i);
    assert!(allowed_by(
        &r,
        &["privsep-helper", "--config-file", "/etc/nova/nova.conf"]
    )
    .is_some());
    // The regex let `/etc/a/../../x` through; the path constraint does not.
    assert_eq!(
        allowed_by(
            &r,
            &["privsep-helper", "--config-file", "/etc/a/../../root/x"]
        )
        .as_deref(),
        Some("privsep-helper")
    );
    assert_eq!(
        allowed_by(&r, &["chown", "0", "/dev/x/../../etc/shadow"]),
        None
    );
}

#[test]
fn path_filter() {
    let i = import(
        "chown: PathFilter, /bin/chown, root, nova, /var/lib/images, pass\n\
         chgrp: PathFilter, chgrp, root, pass, /var/tmp/\n\
         mkdir: PathFilter, mkdir, root, -p, /\n\
         none: PathFilter, ls, root\n\
         regexy: PathFilter, cat, root, /etc/(?!\\.\\.).*\n",
    );
    assert_eq!(
        rule(&i, "chown"),
        "allow chown: /bin/chown nova <path /var/lib/images | /var/lib/images/**> <any>"
    );
    assert_eq!(
        rule(&i, "chgrp"),
        "allow chgrp: chgrp <any> <path /var/tmp/**>"
    );
    assert_eq!(rule(&i, "mkdir"), "allow mkdir: mkdir -p <path / | /**>");
    assert!(stricter(&i, "chown").contains(&Category::PathPrefix));
    assert_eq!(refusal(&i, "none").0, Category::DeadFilter);
    let (category, reason) = refusal(&i, "regexy");
    assert_eq!(category, Category::PathUnrepresentable);
    assert!(reason.contains("looks like a regex"), "{reason}");
    let r = compile(&i);
    let (_, argv) = decide(&r, &["chown", "nova", "/var/lib/images/a/../b", "x"]).unwrap();
    assert_eq!(argv, ["/bin/chown", "nova", "/var/lib/images/b", "x"]);
    // oslo's string prefix admitted the sibling directory.
    assert_eq!(
        allowed_by(&r, &["chown", "nova", "/var/lib/images2/x", "x"]),
        None
    );
    assert_eq!(
        allowed_by(&r, &["chown", "quantum", "/var/lib/images/x", "x"]),
        None
    );
    assert_eq!(allowed_by(&r, &["chgrp", "g", "/var/tmp"]), None);
    assert!(allowed_by(&r, &["chgrp", "g", "/var/tmp/x"]).is_some());
}

/// A `sleep` process that dies with the test.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn kill_filter() {
    let i = import(
        "kill_dnsmasq: KillFilter, root, /usr/sbin/dnsmasq, -9, -HUP, -9\n\
         kill_sleep: KillFilter, root, sleep\n\
         kill_nobody: KillFilter, nobody, /bin/true, -TERM\n\
         kill_none: KillFilter, root\n",
    );
    assert_eq!(
        rule(&i, "kill_dnsmasq"),
        "allow kill_dnsmasq: kill (-9 | -HUP) <pid /usr/sbin/dnsmasq>"
    );
    assert_eq!(rule(&i, "kill_sleep"), "allow kill_sleep: kill <pid sleep>");
    assert_eq!(
        rule(&i, "kill_nobody"),
        "allow kill_nobody as nobody: kill -TERM <pid /bin/true>"
    );
    assert_eq!(refusal(&i, "kill_none").0, Category::BadArity);
    let categories = stricter(&i, "kill_dnsmasq");
    assert!(
        categories.contains(&Category::KillCmdline) && categories.contains(&Category::PidSyntax)
    );
    let r = compile(&i);
    let Some(sleep) = ["/usr/bin/sleep", "/bin/sleep"]
        .iter()
        .find(|p| Path::new(p).exists())
    else {
        println!("no sleep binary: kill decisions skipped");
        return;
    };
    let sleeper = Sleeper(Command::new(sleep).arg("60").spawn().unwrap());
    let pid = sleeper.0.id().to_string();
    assert_eq!(
        allowed_by(&r, &["kill", &pid]).as_deref(),
        Some("kill_sleep")
    );
    // Signals are the strings listed; a filter without any takes none.
    assert_eq!(allowed_by(&r, &["kill", "-9", &pid]), None);
    assert_eq!(allowed_by(&r, &["kill", &format!("+{pid}")]), None);
    assert_eq!(allowed_by(&r, &["/bin/kill", &pid]), None);
    assert_eq!(allowed_by(&r, &["kill", "999999999"]), None);
}

/// Kill rules that cannot match as intended are flagged: a target missing
/// on the importing host, a script (its processes execute the
/// interpreter), an interpreter (it matches every script it runs).
#[test]
fn kill_targets_that_cannot_match_are_warned_about() {
    let dir = std::env::temp_dir().join(format!("rw-import-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("rw-state-change");
    std::fs::write(&script, "#!/usr/bin/python3\n").unwrap();
    let i = import(&format!(
        "kill_missing: KillFilter, root, /nonexistent/rw-daemon, -9\n\
         kill_missing_name: KillFilter, root, rw-no-such-daemon, -9\n\
         kill_script: KillFilter, root, {}, -9\n\
         kill_py: KillFilter, root, python3.6, -15\n\
         kill_sh: KillFilter, root, /bin/sh, -15\n\
         kill_true: KillFilter, root, /bin/true, -15\n",
        script.display()
    ));
    std::fs::remove_dir_all(&dir).unwrap();
    let warnings = |name: &str| -> Vec<String> {
        i.records()
            .find(|r| r.oslo_name == name)
            .map(|r| r.warnings.clone())
            .unwrap()
    };
    let has = |name: &str, text: &str| {
        assert!(
            warnings(name).iter().any(|w| w.contains(text)),
            "{name}: {:?}",
            warnings(name)
        )
    };
    has(
        "kill_missing",
        "the kill target `/nonexistent/rw-daemon` is not installed on this host: here the rule matches no process",
    );
    has(
        "kill_missing_name",
        "the kill target `rw-no-such-daemon` is not installed on this host in the exec dirs (",
    );
    has("kill_script", "is a script on this host");
    has("kill_py", "the kill target `python3.6` is an interpreter");
    has("kill_sh", "the kill target `/bin/sh` is an interpreter");
    assert_eq!(warnings("kill_true"), Vec::<String>::new());
    // The warnings are comments of the imported file.
    assert!(flat(&i).contains("is an interpreter"), "{}", i.combined());
}

#[test]
fn read_file_ip_and_netns_filters() {
    let i = import(
        "read_initiator: ReadFileFilter, /etc/iscsi/initiatorname.iscsi\n\
         ip: IpFilter, ip, root\n\
         ip_usr: IpFilter, /usr/sbin/ip, root\n\
         ip_exec: IpNetnsExecFilter, ip, root\n\
         ip_exec_user: IpNetnsExecFilter, ip, nova\n\
         ping_exec: IpNetnsExecFilter, ping, root\n\
         cat: CommandFilter, cat, root\n",
    );
    assert_eq!(
        rule(&i, "read_initiator"),
        "allow read_initiator: /bin/cat /etc/iscsi/initiatorname.iscsi"
    );
    assert_eq!(rule(&i, "ip"), "allow ip: ip <ip-args...>");
    assert_eq!(
        rule(&i, "ip_usr"),
        "allow ip_usr: /usr/sbin/ip <ip-args...>"
    );
    assert_eq!(
        rule(&i, "ip_exec"),
        "allow ip_exec: ip (net | netn | netns) (e | ex | exe | exec) <netns> then allowed"
    );
    assert_eq!(refusal(&i, "ip_exec_user").0, Category::DeadFilter);
    assert_eq!(refusal(&i, "ping_exec").0, Category::NonsenseFilter);
    for category in [
        Category::IpBatch,
        Category::IpNetnsExec,
        Category::IpVrfExec,
    ] {
        assert!(stricter(&i, "ip").contains(&category));
    }
    assert!(stricter(&i, "ip_exec").contains(&Category::NetnsName));
    assert!(stricter(&i, "ip_exec").contains(&Category::ChainPath));
    let r = compile(&i);
    assert!(allowed_by(&r, &["cat", "/etc/iscsi/initiatorname.iscsi"]).is_some());
    assert_eq!(
        allowed_by(
            &r,
            &["cat", "/etc/iscsi/initiatorname.iscsi", "/etc/shadow"]
        )
        .as_deref(),
        Some("cat")
    );
    assert_eq!(
        allowed_by(&r, &["ip", "link", "show"]).as_deref(),
        Some("ip")
    );
    assert_eq!(allowed_by(&r, &["ip"]).as_deref(), Some("ip"));
    for bad in [
        &["ip", "-batch", "/tmp/x"][..],
        &["ip", "-force", "link"],
        &["ip", "vrf", "exec", "blue", "sh"],
        &["ip", "netns", "add", "x", "netns", "exec", "y", "sh"],
    ] {
        assert_eq!(allowed_by(&r, bad), None, "{bad:?}");
    }
    let (name, argv) = decide(&r, &["ip", "netns", "exec", "qrouter-1", "cat", "/x"]).unwrap();
    assert_eq!(name, "ip_exec");
    assert_eq!(argv, ["ip", "netns", "exec", "qrouter-1", "cat", "/x"]);
    assert_eq!(
        allowed_by(&r, &["ip", "net", "e", "ns", "/tmp/evil/cat"]),
        None
    );
    assert_eq!(allowed_by(&r, &["ip", "netns", "exec", "a/b", "cat"]), None);
}

#[test]
fn env_filter() {
    let i = import(
        "dnsmasq: EnvFilter, env, root, CONFIG_FILE=, NETWORK_ID=, dnsmasq\n\
         haproxy_env: EnvFilter, env, root, PROCESS_TAG=, haproxy, -f, .*\n\
         ebtables: EnvFilter, ebtables, root, EBTABLES_ATOMIC_FILE=\n\
         vgs: EnvFilter, env, root, LC_ALL=C, vgs\n\
         tagged: EnvFilter, env, root, PROCESS_TAG=t1, keepalived\n\
         spawn: EnvFilter, env, root, PATH=, python\n\
         libs: EnvFilter, env, root, LANG=, LD_LIBRARY_PATH=, /usr/stonavm/auman\n\
         any: CommandFilter, env, root\n\
         nothing: EnvFilter, env, root, sleep\n",
    );
    assert_eq!(
        rule(&i, "dnsmasq"),
        "allow dnsmasq: env CONFIG_FILE=<any> NETWORK_ID=<any> dnsmasq ..."
    );
    assert_eq!(
        rule(&i, "haproxy_env"),
        "allow haproxy_env: env PROCESS_TAG=<any> haproxy <any> <any> ..."
    );
    assert_eq!(
        rule(&i, "ebtables"),
        "allow ebtables: env EBTABLES_ATOMIC_FILE=<any> ebtables ..."
    );
    assert_eq!(rule(&i, "vgs"), "allow vgs: env LC_ALL=C vgs ...");
    assert_eq!(stricter(&i, "vgs"), [Category::EnvPinned]);
    assert_eq!(
        rule(&i, "tagged"),
        "allow tagged: env PROCESS_TAG=<any> keepalived ..."
    );
    assert!(i
        .combined()
        .contains("oslo ignores the values written in an EnvFilter (`PROCESS_TAG=t1`)"));
    assert_eq!(refusal(&i, "spawn").0, Category::EnvForbidden);
    assert_eq!(refusal(&i, "libs").0, Category::EnvForbidden);
    assert_eq!(refusal(&i, "any").0, Category::EnvCommand);
    assert_eq!(refusal(&i, "nothing").0, Category::DeadFilter);
    let r = compile(&i);
    for argv in [
        &["env", "CONFIG_FILE=a", "NETWORK_ID=1", "dnsmasq", "--x"][..],
        &["NETWORK_ID=1", "CONFIG_FILE=a", "dnsmasq"],
    ] {
        assert_eq!(allowed_by(&r, argv).as_deref(), Some("dnsmasq"), "{argv:?}");
    }
    for argv in [
        &["env", "CONFIG_FILE=a", "dnsmasq"][..],
        &[
            "env",
            "CONFIG_FILE=a",
            "CONFIG_FILE=b",
            "NETWORK_ID=1",
            "dnsmasq",
        ],
        &["env", "CONFIG_FILE=a", "NETWORK_ID=1", "X=1", "dnsmasq"],
        &["dnsmasq"],
        &["env", "PROCESS_TAG=t", "haproxy", "-f"],
    ] {
        assert_eq!(allowed_by(&r, argv), None, "{argv:?}");
    }
    assert!(allowed_by(&r, &["env", "PROCESS_TAG=t", "haproxy", "-f", "x", "y"]).is_some());
    assert_eq!(allowed_by(&r, &["env", "sh", "-c", "id"]), None);
}

#[test]
fn chaining_and_legacy_and_unknown_classes() {
    let i = import(
        "nice: ChainingRegExpFilter, nice, root, nice, -?\\d+\n\
         cat: CommandFilter, cat, root\n\
         dead: ChainingFilter, nice, root\n\
         dnsmasq: DnsmasqFilter, /usr/sbin/dnsmasq, root\n\
         dnsmasq_deprecated: DeprecatedDnsmasqFilter, /usr/sbin/dnsmasq, root\n\
         ip_exec_dnsmasq: DnsmasqNetnsFilter, /sbin/ip, root\n\
         dnsmasq_ver: DnsmasqVersionFilter, /sbin/dnsmasq, root\n\
         what: NoSuchFilter, x, root\n",
    );
    assert_eq!(
        rule(&i, "nice"),
        "allow nice: nice re\"-?[0-9]+\" then allowed"
    );
    assert_eq!(refusal(&i, "dead").0, Category::DeadFilter);
    for legacy in [
        "dnsmasq",
        "dnsmasq_deprecated",
        "ip_exec_dnsmasq",
        "dnsmasq_ver",
    ] {
        let (category, reason) = refusal(&i, legacy);
        assert_eq!(category, Category::LegacyClass);
        assert!(reason.contains("grants nothing today"), "{reason}");
    }
    assert_eq!(refusal(&i, "what").0, Category::UnknownClass);
    assert_eq!(i.exit_code(), 2);
    let r = compile(&i);
    let (name, argv) = decide(&r, &["nice", "5", "cat", "/a"]).unwrap();
    assert_eq!(
        (name.as_str(), argv),
        (
            "nice",
            vec!["nice".to_string(), "5".into(), "cat".into(), "/a".into()]
        )
    );
    assert_eq!(
        allowed_by(&r, &["nice", "5", "/tmp/evil/cat", "/etc/shadow"]),
        None
    );
    assert_eq!(allowed_by(&r, &["nice", "5"]), None);
    assert_eq!(allowed_by(&r, &["nice", "--5", "cat"]), None);
}

// ------------------------------------------------------------- loader quirks

#[test]
fn loader_quirks() {
    let text = "# comment\n\
        ; another\n\
        [Filters]\n\
        Echo = CommandFilter, echo, root\n\
        ls: CommandFilter, ls, root\n\
        echo: RegExpFilter, echo, root, echo, hi\n\
        privsep: PathFilter, privsep-helper, root,\n \
         --config-file, /etc,\n \
         --privsep_sock_path, /\n\
        x: CommandFilter, /bin/echo, root   # a comment\n\
        y: CommandFilter, /bin/true, root, # any arguments\n\
        weird name!: CommandFilter, cat, root\n\
        [DEFAULT]\n\
        sneaky: CommandFilter, /bin/true, root\n";
    let i = import_texts(
        vec![("q.filters".into(), text.into())],
        ImportOptions::default(),
    )
    .unwrap();
    let names: Vec<&str> = i.records().map(|r| r.rule_name.as_str()).collect();
    // [DEFAULT] first; `Echo` lower-cased and replaced by the last `echo`,
    // at the first one's place.
    assert_eq!(
        names,
        ["sneaky", "echo", "ls", "privsep", "x", "y", "weird_name_"]
    );
    assert_eq!(rule(&i, "echo"), "allow echo: echo hi");
    let combined = flat(&i);
    assert!(
        combined.contains("is also defined at line(s) 4 of this file"),
        "{combined}"
    );
    assert!(combined.contains("oslo lower-cases filter names: `Echo` is `echo`"));
    // Continuation lines join the value.
    assert_eq!(
        rule(&i, "privsep"),
        "allow privsep: privsep-helper --config-file <path /etc | /etc/**> --privsep_sock_path <path / | /**>"
    );
    assert!(i.combined().contains("#    --config-file, /etc,"));
    // Inline `#`: part of the run-as user (refused), or an ignored field.
    assert_eq!(refusal(&i, "x").0, Category::BadUser);
    assert_eq!(rule(&i, "y"), "allow y: /bin/true ...");
    assert!(combined.contains("contains `#`: oslo does not strip inline comments"));
    assert!(combined.contains("the name `weird name!` is written `weird_name_`"));
    compile(&i);
}

#[test]
fn names_are_unique_across_files_and_privsep_helper_comes_last() {
    let i = import_texts(
        vec![
            (
                "a.filters".into(),
                "[Filters]\nprivsep-helper: CommandFilter, cat, root\n".into(),
            ),
            (
                "b.filters".into(),
                "[Filters]\nprivsep-helper: CommandFilter, ls, root\n".into(),
            ),
        ],
        ImportOptions::default(),
    )
    .unwrap();
    let names: Vec<&str> = i.records().map(|r| r.rule_name.as_str()).collect();
    assert_eq!(names, ["privsep-helper", "privsep-helper-2"]);
    assert_eq!(i.privsep_helper.as_deref(), Some("privsep-helper-3"));
    let outputs: Vec<String> = i.outputs().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        outputs,
        ["00-ruleset.rwf", "a.rwf", "b.rwf", "zz-privsep-helper.rwf"]
    );
    let r = compile(&i);
    assert_eq!(
        allowed_by(&r, &["privsep-helper", "--x"]).as_deref(),
        Some("privsep-helper-3")
    );

    let without = import_texts(
        vec![(
            "zz-z.filters".into(),
            "[Filters]\nls: CommandFilter, ls, root\n".into(),
        )],
        ImportOptions {
            privsep_helper: false,
        },
    )
    .unwrap();
    assert!(without.privsep_text().is_none());
    assert!(without
        .summary()
        .contains("implicit privsep-helper rule is left out"));
    let r = compile(&without);
    assert_eq!(allowed_by(&r, &["privsep-helper"]), None);
    // Output files are unique, and the privsep file sorts after the others.
    let same = import_texts(
        vec![
            (
                "d1/x.filters".into(),
                "[Filters]\nls: CommandFilter, ls, root\n".into(),
            ),
            (
                "d2/x.filters".into(),
                "[Filters]\ncat: CommandFilter, cat, root\n".into(),
            ),
            (
                "00-ruleset.filters".into(),
                "[Filters]\nid: CommandFilter, id, root\n".into(),
            ),
        ],
        ImportOptions::default(),
    )
    .unwrap();
    let outputs: Vec<String> = same.outputs().into_iter().map(|(n, _)| n).collect();
    assert_eq!(
        outputs,
        [
            "00-ruleset.rwf",
            "00-ruleset_2.rwf",
            "x.rwf",
            "x_2.rwf",
            "zz-privsep-helper.rwf"
        ]
    );
    let late = import_texts(
        vec![(
            "zzz.filters".into(),
            "[Filters]\nls: CommandFilter, ls, root\n".into(),
        )],
        ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(late.privsep_file, "zzzz-privsep-helper.rwf");
}

/// oslo's `daemon_timeout` (seconds without a request before its daemon
/// exits) is the daemon's `idle-timeout`, within the ruleset's bounds.
#[test]
fn daemon_timeout_becomes_the_daemons_idle_timeout() {
    for (written, option) in [
        ("600", "daemon idle-timeout=600\n"),
        (" +1_0 ", "daemon idle-timeout=10\n"),
        // oslo's daemon exited at its first check, about a second after.
        ("0", "daemon idle-timeout=1\n"),
        ("-5", "daemon idle-timeout=1\n"),
        ("99999999999999999999999", "daemon idle-timeout=31536000\n"),
    ] {
        let conf = format!("[DEFAULT]\nfilters_path=/etc/svc/rootwrap.d\ndaemon_timeout={written}\nrlimit_nofile=512\n");
        let i = import_conf_text(
            "/etc/svc/rootwrap.conf",
            &conf,
            vec![(
                "a.filters".into(),
                "[Filters]\nls: CommandFilter, ls, root\n".into(),
            )],
            ImportOptions::default(),
        )
        .unwrap();
        let head = i.ruleset_file();
        assert!(head.contains(option), "{written:?}: {head}");
        assert!(!head.contains("#   daemon_timeout"), "{head}");
        // What has no equivalent stays a comment.
        assert!(head.contains("#   rlimit_nofile = 512"), "{head}");
        compile(&i);
    }
    // Not set: nothing written (oslo's default, 600, is rootwrap's).
    let i = import_conf_text(
        "/etc/svc/rootwrap.conf",
        "[DEFAULT]\nfilters_path=/etc/svc/rootwrap.d\n",
        vec![(
            "a.filters".into(),
            "[Filters]\nls: CommandFilter, ls, root\n".into(),
        )],
        ImportOptions::default(),
    )
    .unwrap();
    assert!(!i.ruleset_file().contains("idle-timeout"));
}

#[test]
fn rootwrap_conf() {
    let conf = "[DEFAULT]\n\
        filters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap\n\
        exec_dirs=/sbin,/usr/sbin/, /bin,/usr/bin,/usr/bin\n\
        use_syslog=True\n\
        syslog_log_facility=LOG_LOCAL0\n\
        syslog_log_level=ERROR\n\
        daemon_timeout=600\n";
    let i = import_conf_text(
        "/etc/nova/rootwrap.conf",
        conf,
        vec![(
            "compute.filters".into(),
            "[Filters]\nls: CommandFilter, ls, root\n".into(),
        )],
        ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(i.ruleset_name, "nova");
    // Not stripped by oslo: ` /bin` is never found; duplicates dropped.
    assert_eq!(i.exec_dirs, ["/sbin", "/usr/sbin", "/usr/bin"]);
    assert!(i.warnings.iter().any(|w| w.contains("` /bin` left out")));
    let head = i.ruleset_file();
    assert!(head.contains("ruleset nova\n"));
    assert!(head.contains("exec-dirs /sbin /usr/sbin /usr/bin\n"));
    assert!(head.contains("log syslog facility=local0 allowed-level=info denied-level=err\n"));
    assert!(head.contains("on-log-failure continue\n"));
    assert!(head.contains("# oslo: daemon_timeout = 600\ndaemon idle-timeout=600\n"));
    compile(&i);

    for (bad, why) in [
        ("[DEFAULT]\nexec_dirs=/bin\n", "no `filters_path`"),
        (
            "[DEFAULT]\nfilters_path=/x\nuse_syslog=oui\n",
            "not a boolean",
        ),
        (
            "[DEFAULT]\nfilters_path=/x\nsyslog_log_facility=user0\n",
            "not a syslog facility",
        ),
        (
            "[DEFAULT]\nfilters_path=/x\nsyslog_log_level=bar\n",
            "not a logging level",
        ),
    ] {
        let error =
            import_conf_text("r.conf", bad, Vec::new(), ImportOptions::default()).unwrap_err();
        assert!(error.to_string().contains(why), "{error}");
    }
    // Without exec_dirs, oslo searches $PATH: sudo's secure_path.
    let i = import_conf_text(
        "/etc/svc/rootwrap.conf",
        "[DEFAULT]\nfilters_path=/x\n",
        Vec::new(),
        ImportOptions::default(),
    )
    .unwrap();
    assert_eq!(i.exec_dirs, rootwrap_compile::oslo::DEFAULT_EXEC_DIRS);
    assert!(i.ruleset_file().contains("oslo logged nothing"));
}

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("import-oslo-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn filters_path_directories_are_read_like_oslo() {
    let dir = scratch("dirs");
    let d1 = dir.join("d1");
    let d2 = dir.join("d2");
    fs::create_dir_all(d1.join("sub")).unwrap();
    fs::create_dir_all(&d2).unwrap();
    fs::write(
        d1.join("b.filters"),
        "[Filters]\nb: CommandFilter, ls, root\n",
    )
    .unwrap();
    fs::write(d1.join("a.txt"), "[Filters]\na: CommandFilter, cat, root\n").unwrap();
    fs::write(
        d1.join(".hidden.filters"),
        "[Filters]\nh: CommandFilter, sh, root\n",
    )
    .unwrap();
    fs::write(
        d1.join("sub/c.filters"),
        "[Filters]\nc: CommandFilter, sh, root\n",
    )
    .unwrap();
    fs::write(
        d2.join("0.filters"),
        "[Filters]\nz: CommandFilter, id, root\n",
    )
    .unwrap();
    let conf = dir.join("rootwrap.conf");
    fs::write(
        &conf,
        format!(
            "[DEFAULT]\nfilters_path={}, {},/nonexistent,{}\nexec_dirs=/usr/bin,/bin\n",
            d1.display(),
            d2.display(),
            d2.display()
        ),
    )
    .unwrap();
    let i = import_paths(&[conf], ImportOptions::default()).unwrap();
    let names: Vec<&str> = i.records().map(|r| r.oslo_name.as_str()).collect();
    // Directories in configured order (` d2` with its space is skipped),
    // files by name, any suffix, no hidden files or subdirectories.
    assert_eq!(names, ["a", "b", "z"]);
    assert_eq!(
        i.ruleset_name,
        dir.file_name().unwrap().to_string_lossy().replace(
            |c: char| !c.is_ascii_alphanumeric() && !"_.-".contains(c),
            "_"
        )
    );
    assert!(i.warnings.iter().any(|w| w.contains("not a directory")));
    compile(&i);
    fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------- the command

fn cli(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rootwrap-compile"))
        .args(args)
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn command_line_outputs_and_exit_codes() {
    let dir = scratch("cli");
    let good = dir.join("good.filters");
    fs::write(
        &good,
        "[Filters]\nls: CommandFilter, ls, root\ntrue: CommandFilter, true, root\n",
    )
    .unwrap();
    let mixed = dir.join("mixed.filters");
    fs::write(
        &mixed,
        "[Filters]\nx: DnsmasqFilter, /usr/sbin/dnsmasq, root\ncat: CommandFilter, cat, root\n",
    )
    .unwrap();
    let broken = dir.join("broken.filters");
    fs::write(&broken, "ls: CommandFilter, ls, root\n").unwrap();
    let no_section = dir.join("nosection.filters");
    fs::write(&no_section, "[Other]\nls: CommandFilter, ls, root\n").unwrap();

    let (code, stdout, stderr) = cli(&["import-oslo", good.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("ruleset good\n"));
    assert!(stdout.contains("allow true: true ..."));
    assert!(stdout.contains("allow privsep-helper: privsep-helper ..."));
    assert!(stderr.contains("2 filter(s): 2 imported"), "{stderr}");

    let out = dir.join("out");
    let (code, _, stderr) = cli(&[
        "import-oslo",
        "--no-privsep-helper",
        "-o",
        out.to_str().unwrap(),
        good.to_str().unwrap(),
        mixed.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("x (DnsmasqFilter): legacy-class"),
        "{stderr}"
    );
    let mut written: Vec<String> = fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    written.sort();
    assert_eq!(
        written,
        ["00-ruleset.rwf", "REVIEW-TODO.txt", "good.rwf", "mixed.rwf"]
    );
    let rwc = dir.join("r.rwc");
    let (code, _, stderr) = cli(&["-o", rwc.to_str().unwrap(), out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let ruleset = Ruleset::from_bytes(&fs::read(&rwc).unwrap()).unwrap();
    assert_eq!(allowed_by(&ruleset, &["true"]).as_deref(), Some("true"));
    assert_eq!(
        ruleset.options().exec_dirs,
        rootwrap_compile::oslo::DEFAULT_EXEC_DIRS
    );

    for bad in [&broken, &no_section, &dir.join("missing.filters")] {
        let (code, _, stderr) = cli(&["import-oslo", bad.to_str().unwrap()]);
        assert_eq!(code, 1, "{}: {stderr}", bad.display());
    }
    fs::remove_dir_all(&dir).unwrap();
}

/// The review to-do list after an import, whole: printed at the end of
/// the summary and written next to the output. A small deployment with a
/// finding of each common kind, a renamed exact repeat (listed once, as
/// renamed), a refused filter, and a near miss (`tee_conf`: a regex path
/// that cannot climb out). `UPDATE_EXPECT=1` rewrites `oslo-todo/todo.out`.
#[test]
fn the_review_todo_list_is_whole() {
    let cases = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oslo-todo");
    let dir = scratch("todo");
    let out = dir.join("out");
    let args = [
        "import-oslo",
        "--no-privsep-helper",
        "-o",
        out.to_str().unwrap(),
        "compute.filters",
        "network.filters",
    ];
    let output = Command::new(env!("CARGO_BIN_EXE_rootwrap-compile"))
        .args(args)
        .current_dir(&cases)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    let written = fs::read_to_string(out.join("REVIEW-TODO.txt")).unwrap();
    let text = format!(
        "$ rootwrap-compile {}\nexit {}\n--- stderr\n{stderr}--- REVIEW-TODO.txt\n{written}",
        args.join(" "),
        output.status.code().unwrap_or(-1)
    )
    .replace(&dir.display().to_string(), "$DIR");
    let expected_path = cases.join("todo.out");
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        fs::write(&expected_path, &text).unwrap();
    } else {
        let expected = fs::read_to_string(&expected_path).unwrap();
        assert!(
            text == expected,
            "differs from {}:\n{text}",
            expected_path.display()
        );
    }
    // The file is the printed list, marked as an import's: `--force` may
    // replace it.
    assert!(Import::written_by_import(&written));
    assert!(stderr.contains(written.split_once('\n').unwrap().1));
    let (code, _, stderr) = cli(&[
        "import-oslo",
        "--force",
        "--no-privsep-helper",
        "-o",
        out.to_str().unwrap(),
        cases.join("network.filters").to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    fs::remove_dir_all(&dir).unwrap();
}

// ------------------------------------------------------------- the corpus

/// The to-do list of each corpus file: every lint finding is tied to the
/// filter it came from (`FILE:LINE`), never left unplaced, and the count in
/// its first line is the sum of its groups'. Prints the findings per lint
/// over the corpus.
#[test]
fn every_corpus_finding_is_on_the_review_todo_list() {
    let Some(corpus) = corpus() else {
        return prerequisite::missing("no corpus at ../shared/corpus/oslo-filters");
    };
    let files = corpus_files(&corpus);
    let mut totals: std::collections::BTreeMap<String, usize> = Default::default();
    for path in &files {
        let import = import_paths(std::slice::from_ref(path), ImportOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let todo = import.todo();
        let mut lines = todo.lines();
        let head = lines.next().unwrap();
        let decisions: usize = head
            .strip_prefix("import-oslo: review to-do: ")
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{}: {head}", path.display()));
        let mut group = String::new();
        let mut sum = 0;
        for line in lines {
            if let Some(entry) = line.strip_prefix("    ") {
                assert!(
                    !entry.starts_with("00-ruleset.rwf") || group == "log-path",
                    "{}: a finding not tied to its filter: {line}",
                    path.display()
                );
                continue;
            }
            let Some((code, rest)) = line.trim_start().split_once(" (") else {
                continue;
            };
            let Some(n) = rest
                .split_once("):")
                .and_then(|(n, _)| n.parse::<usize>().ok())
            else {
                continue;
            };
            group = code.to_string();
            sum += n;
            *totals.entry(group.clone()).or_default() += n;
        }
        assert_eq!(decisions, sum, "{}:\n{todo}", path.display());
        assert!(
            !todo.contains("do not compile"),
            "{}:\n{todo}",
            path.display()
        );
    }
    println!(
        "corpus review to-do, per file and summed over the {} files: {totals:?}",
        files.len()
    );
}

fn corpus() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpus/oslo-filters");
    dir.is_dir().then_some(dir)
}

/// Every filter file of the corpus, sorted (its manifest left out).
fn corpus_files(corpus: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![corpus.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "MANIFEST.md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

#[test]
fn every_corpus_file_imports_and_compiles() {
    let Some(corpus) = corpus() else {
        return prerequisite::missing("no corpus at ../shared/corpus/oslo-filters");
    };
    let files = corpus_files(&corpus);
    let mut totals: std::collections::BTreeMap<String, (usize, usize, usize)> = Default::default();
    let mut refusals: std::collections::BTreeMap<&'static str, usize> = Default::default();
    let (mut confs, mut with_refusals, mut filters) = (0, 0, 0);
    for path in &files {
        let import = import_paths(std::slice::from_ref(path), ImportOptions::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if import.conf.is_some() {
            confs += 1;
        }
        if import.exit_code() == 2 {
            with_refusals += 1;
        }
        compile(&import);
        for (class, (i, s, r)) in import.counts_by_class() {
            let total = totals.entry(class).or_default();
            total.0 += i;
            total.1 += s;
            total.2 += r;
        }
        for record in import.records() {
            filters += 1;
            if let Outcome::Refused(refusal) = &record.outcome {
                *refusals.entry(refusal.category.name()).or_default() += 1;
            }
        }
    }
    println!(
        "corpus: {} files ({confs} rootwrap.conf), all import and compile, {with_refusals} with refused filters; {filters} filters (as oslo loads them: last duplicate wins)",
        files.len()
    );
    println!(
        "  {:<24} {:>8} {:>8} {:>8}",
        "class", "imported", "stricter", "refused"
    );
    for (class, (i, s, r)) in &totals {
        println!("  {class:<24} {i:>8} {s:>8} {r:>8}");
    }
    println!("  refused, by reason: {refusals:?}");
    assert_eq!(files.len(), 74, "the corpus has 74 files (MANIFEST.md)");
    assert_eq!(confs, 11);
}

#[test]
fn programs_an_action_replaces_get_the_step_in_a_comment() {
    let imported = import(
        "tee: CommandFilter, tee, root\n\
         chown: CommandFilter, /bin/chown, root\n\
         sysctl: CommandFilter, /sbin/sysctl, root\n\
         read_passwd: RegExpFilter, cat, root, cat, /etc/x\n\
         ip: IpFilter, ip, root\n",
    );
    let text = flat(&imported);
    for step in [
        "`write f from stdin max 64KiB replace`",
        "`chown f OWNER`",
        "`sysctl KEY VALUE`",
        "`read f max 64KiB`",
    ] {
        assert!(text.contains(step), "{step} in:\n{text}");
    }
    assert_eq!(text.matches("# action:").count(), 4, "{text}");
    // Comments only: the rules are those of before, and compile.
    compile(&imported);
}
