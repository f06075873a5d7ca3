//! The matcher alone, against a fake host: no file system, no process.
use std::cell::Cell;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::canonical::Canonical;
use crate::pin::{PathRefusal, PinnedPath};
use crate::process;
use crate::process::Reason;
use crate::types::{Arg, Command, Item, PathDepth, PathScope, Pin, Rest, Rule, RunAs};
use crate::types::{Dfa, Disabled, Effect, PidPattern, Regex, Source};

use super::*;

/// Paths are canonical by lexical normalization, except that a component
/// named `escape` is a symbolic link to `/etc`; each component costs one
/// lookup; process 42 runs `/usr/bin/target`; only the listed
/// executables exist; paths under `/srv/refused` cannot be pinned.
#[derive(Default)]
struct Fake {
    executables: Vec<&'static str>,
    /// The bases paths were pinned beneath, in order.
    pinned_beneath: std::cell::RefCell<Vec<PathBuf>>,
}

impl Host for Fake {
    fn canonicalize(&self, path: &Path, budget: &Cell<usize>) -> Option<Canonical> {
        let mut out = PathBuf::from("/");
        for part in path.components() {
            budget.set(budget.get().checked_sub(1)?);
            match part {
                std::path::Component::ParentDir => {
                    out.pop();
                }
                std::path::Component::Normal(name) if name == "escape" => out = "/etc".into(),
                std::path::Component::Normal(name) => out.push(name),
                _ => {}
            }
        }
        Some(Canonical {
            path: out,
            holder: None,
        })
    }
    fn canonicalize_trusted(&self, path: &Path) -> Option<PathBuf> {
        Some(path.to_path_buf())
    }
    fn pin(
        &self,
        base: &Path,
        checked: &Path,
        _: Pin,
        _: Option<std::os::fd::OwnedFd>,
    ) -> Option<Result<PinnedPath, PathRefusal>> {
        self.pinned_beneath.borrow_mut().push(base.to_path_buf());
        checked
            .starts_with("/srv/refused")
            .then_some(Err(PathRefusal::Symlink))
    }
    fn unpinned_safe(&self, _: &Path, _: u32) -> Result<(), PathRefusal> {
        Ok(())
    }
    fn process(
        &self,
        pid: i64,
        pattern: &PidPattern,
        _: &[String],
    ) -> Result<(), process::NotTarget> {
        if pid == 42 && pattern.targets.iter().any(|t| t == "/usr/bin/target") {
            Ok(())
        } else {
            Err(process::NotTarget {
                pid,
                reason: Reason::NoProcess,
            })
        }
    }
    fn find_executable(&self, command: &Command, _: &[String]) -> Option<PathBuf> {
        let path = match command {
            Command::Path(path) => path.clone(),
            Command::Name(name) => format!("/bin/{name}"),
        };
        self.executables
            .contains(&path.as_str())
            .then(|| PathBuf::from(path))
    }
    fn check_binary(&self, _: &Path, _: Option<&[u8; 32]>) -> Option<Checked> {
        None
    }
    fn user_uid(&self, _: &str) -> Option<u32> {
        Some(1000)
    }
}

fn rule(id: u32, command: &str, args: Vec<Arg>, rest: Rest) -> Rule {
    Rule {
        id,
        name: format!("r{id}"),
        source: Source {
            file: "t.rwf".into(),
            line: id + 1,
        },
        command: if command.starts_with('/') {
            Command::Path(command.into())
        } else {
            Command::Name(command.into())
        },
        also: Vec::new(),
        sha256: None,
        run_as: RunAs::Root,
        env: Vec::new(),
        args: args.into_iter().map(Item::One).collect(),
        rest,
        via: Vec::new(),
        effect: crate::types::Effect::Allow,
    }
}

fn argv(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn all_present() -> Fake {
    Fake {
        executables: vec!["/bin/cat", "/bin/kill", "/bin/nice", "/bin/echo"],
        ..Fake::default()
    }
}

/// Decides `words` against `rules` (all of them, for every spelling).
fn decide_with(rules: &[Rule], host: &Fake, words: &[&str]) -> Result<Decision, Fault> {
    let lookup = |command: &[u8]| {
        Ok(rules
            .iter()
            .filter(|r| r.selectors().iter().any(|s| s.as_bytes() == command))
            .cloned()
            .collect())
    };
    let ctx = Context::new(&[], &lookup, host);
    decide(&argv(words), &ctx)
}

fn allowed_argv(decision: Result<Decision, Fault>) -> Vec<String> {
    match decision {
        Ok(Decision::Allow(allowed)) => allowed
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        other => panic!("not allowed: {other:?}"),
    }
}

fn path(base: &str) -> Arg {
    Arg::Path {
        scopes: vec![PathScope {
            base: base.into(),
            middle: Vec::new(),
            depth: PathDepth::Descendant,
        }],
        pin: Pin::Object,
    }
}

/// `(iptables-save | /sbin/ip6tables-save)`: the rule runs the command the
/// caller named, never another, and only those spellings select it.
#[test]
fn a_rule_for_several_commands_runs_the_one_named() {
    let mut save = rule(
        0,
        "iptables-save",
        vec![Arg::Literal("-c".into())],
        Rest::Exact,
    );
    save.also = vec![Command::Path("/sbin/ip6tables-save".into())];
    let rules = [save];
    let host = Fake {
        executables: vec!["/bin/iptables-save", "/sbin/ip6tables-save"],
        ..Fake::default()
    };
    for (words, runs) in [
        (["iptables-save", "-c"], "/bin/iptables-save"),
        (["ip6tables-save", "-c"], "/sbin/ip6tables-save"),
        (["/sbin/ip6tables-save", "-c"], "/sbin/ip6tables-save"),
    ] {
        assert_eq!(
            allowed_argv(decide_with(&rules, &host, &words)),
            [runs, "-c"]
        );
    }
    // The alternative named is missing: not found, not the other one.
    let only_v6 = Fake {
        executables: vec!["/sbin/ip6tables-save"],
        ..Fake::default()
    };
    assert!(matches!(
        decide_with(&rules, &only_v6, &["iptables-save", "-c"]),
        Ok(Decision::NotExecutable { .. })
    ));
    // Given the rule whatever the spelling, the matcher still refuses
    // every other one.
    let lookup = |_: &[u8]| Ok(rules.to_vec().into());
    let ctx = Context::new(&[], &lookup, &host);
    for other in [
        "/bin/iptables-save",
        "/usr/sbin/ip6tables-save",
        "arptables-save",
        "ip6tables",
    ] {
        let call = Invocation::parse(&argv(&[other, "-c"])).unwrap();
        assert!(
            matches!(
                match_rule(&rules[0], &call, &ctx),
                Ok(Err(Mismatch::Command))
            ),
            "{other}"
        );
    }
}

#[test]
fn paths_are_checked_and_passed_in_canonical_form() {
    let rules = [rule(0, "cat", vec![path("/srv")], Rest::Exact)];
    let host = all_present();
    assert_eq!(
        allowed_argv(decide_with(&rules, &host, &["cat", "/srv/a/../b"])),
        ["/bin/cat", "/srv/b"]
    );
    assert!(matches!(
        decide_with(&rules, &host, &["cat", "/srv/../etc/shadow"]),
        Ok(Decision::Deny { .. })
    ));
    match decide_with(&rules, &host, &["cat", "/srv/refused/x"]) {
        Ok(Decision::Deny { tried }) => {
            assert!(matches!(tried[0].1, Mismatch::Path { .. }), "{tried:?}")
        }
        other => panic!("{other:?}"),
    }
}

/// `/ha/*/k.conf`: `*` in the middle is one whole name, the path is
/// checked canonical and pinned beneath the fixed part, `/ha`, so that a
/// link put at the `*` is refused by the pin as well.
#[test]
fn a_wildcard_in_the_middle_of_a_scope_is_one_name() {
    let scope = PathScope {
        base: "/ha".into(),
        middle: vec![None, Some("k.conf".into())],
        depth: PathDepth::Exactly,
    };
    let conf = Arg::Path {
        scopes: vec![scope],
        pin: Pin::Object,
    };
    let rules = [rule(0, "cat", vec![conf], Rest::Exact)];
    let host = all_present();
    for (given, passed) in [
        ("/ha/r1/k.conf", "/ha/r1/k.conf"),
        ("/ha/../ha/r2/./k.conf", "/ha/r2/k.conf"),
    ] {
        assert_eq!(
            allowed_argv(decide_with(&rules, &host, &["cat", given])),
            ["/bin/cat", passed]
        );
    }
    assert_eq!(
        *host.pinned_beneath.borrow(),
        [PathBuf::from("/ha"), PathBuf::from("/ha")]
    );
    for refused in [
        "/ha/k.conf",
        "/ha/r1/x/k.conf",
        "/ha/r1/k.conf2",
        "/ha/r1",
        "/ha/r1/k.conf/x",
        // A link at the `*`: resolved first, to /etc/k.conf.
        "/ha/escape/k.conf",
        "/hax/r1/k.conf",
    ] {
        assert!(
            matches!(
                decide_with(&rules, &host, &["cat", refused]),
                Ok(Decision::Deny { .. })
            ),
            "{refused}"
        );
    }
}

/// One argument may be checked as an entry (a link there is the entry
/// itself) and as a path (the link is followed) in one call: the cache
/// of canonical forms must tell the two apart.
#[test]
fn an_argument_checked_as_entry_and_as_path_is_resolved_for_each() {
    let entry = Arg::Path {
        scopes: vec![PathScope {
            base: "/srv".into(),
            middle: Vec::new(),
            depth: PathDepth::Descendant,
        }],
        pin: Pin::Entry,
    };
    let rules = [rule(0, "cat", vec![entry, path("/srv")], Rest::Exact)];
    let host = all_present();
    assert!(matches!(
        decide_with(&rules, &host, &["cat", "/srv/escape", "/srv/escape"]),
        Ok(Decision::Deny { .. })
    ));
    assert_eq!(
        allowed_argv(decide_with(
            &rules,
            &host,
            &["cat", "/srv/escape", "/srv/b"]
        )),
        ["/bin/cat", "/srv/escape", "/srv/b"]
    );
}

#[test]
fn a_pid_must_name_a_target_process() {
    let pattern = Arg::Pid(PidPattern {
        targets: vec!["/usr/bin/target".into()],
        user: None,
    });
    let rules = [rule(0, "kill", vec![pattern], Rest::Exact)];
    let host = all_present();
    assert_eq!(
        allowed_argv(decide_with(&rules, &host, &["kill", "42"])),
        ["/bin/kill", "42"]
    );
    match decide_with(&rules, &host, &["kill", "43"]) {
        Ok(Decision::Deny { tried }) => assert!(
            matches!(&tried[0].1, Mismatch::Process { position: 1, why } if why.pid == 43),
            "{tried:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_missing_executable_passes_over_to_a_rule_of_the_same_user() {
    let any = || vec![Arg::Any];
    let mut other_user = rule(2, "/opt/cat", any(), Rest::Exact);
    other_user.run_as = RunAs::User("nobody".into());
    let rules = [
        rule(0, "/usr/local/bin/cat", any(), Rest::Exact),
        rule(1, "cat", any(), Rest::Exact),
    ];
    let host = all_present();
    assert_eq!(
        allowed_argv(decide_with(&rules, &host, &["cat", "x"])),
        ["/bin/cat", "x"]
    );
    let host = Fake::default();
    assert!(matches!(
        decide_with(&rules, &host, &["cat", "x"]),
        Ok(Decision::NotExecutable { rule }) if rule.id == 0
    ));
    // Another user's rule is never reached through a missing program.
    let rules = [rules[0].clone(), other_user];
    let host = Fake {
        executables: vec!["/opt/cat"],
        ..Fake::default()
    };
    assert!(matches!(
        decide_with(&rules, &host, &["cat", "x"]),
        Ok(Decision::NotExecutable { rule }) if rule.id == 0
    ));
}

#[test]
fn a_chain_runs_the_executable_of_the_rule_that_allows_it() {
    let rules = [
        rule(0, "nice", vec![Arg::Literal("-n5".into())], Rest::Chain),
        rule(1, "cat", vec![path("/srv")], Rest::Exact),
    ];
    let host = all_present();
    assert_eq!(
        allowed_argv(decide_with(
            &rules,
            &host,
            &["nice", "-n5", "cat", "/srv/x"]
        )),
        ["/bin/nice", "-n5", "/bin/cat", "/srv/x"]
    );
    match decide_with(&rules, &host, &["nice", "-n5", "cat", "/etc/x"]) {
        Ok(Decision::Deny { tried }) => {
            assert!(
                matches!(tried[0].1, Mismatch::ChainDenied { .. }),
                "{tried:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    // A lookup that fails is a damaged ruleset, not a denial.
    let lookup = |command: &[u8]| match command {
        b"nice" => Ok(vec![rules[0].clone()].into()),
        _ => Err(RulesetError::Corrupt("test".into())),
    };
    let ctx = Context::new(&[], &lookup, &host);
    assert!(matches!(
        decide(&argv(&["nice", "-n5", "cat", "/srv/x"]), &ctx),
        Err(Fault::Ruleset(RulesetError::Corrupt(_)))
    ));
}

/// `via CHAIN`: the rule allows a command line chained through a chain it
/// names, never one called directly, nor one chained through another.
#[test]
fn a_via_rule_is_reached_only_through_its_chains() {
    let mut cat = rule(2, "cat", vec![path("/srv")], Rest::Exact);
    cat.via = vec!["r0".into()];
    let rules = [
        rule(0, "nice", vec![Arg::Literal("-n5".into())], Rest::Chain),
        rule(1, "nice", vec![Arg::Literal("-n9".into())], Rest::Chain),
        cat,
    ];
    let host = all_present();
    assert_eq!(
        allowed_argv(decide_with(
            &rules,
            &host,
            &["nice", "-n5", "cat", "/srv/x"]
        )),
        ["/bin/nice", "-n5", "/bin/cat", "/srv/x"]
    );
    match decide_with(&rules, &host, &["cat", "/srv/x"]) {
        Ok(Decision::Deny { tried }) => assert_eq!(
            tried.iter().map(|(r, why)| (r.id, why)).collect::<Vec<_>>(),
            [(2, &Mismatch::ViaOnly(vec!["r0".into()]))]
        ),
        other => panic!("{other:?}"),
    }
    match decide_with(&rules, &host, &["nice", "-n9", "cat", "/srv/x"]) {
        Ok(Decision::Deny { tried }) => {
            let Some((_, Mismatch::ChainDenied { reason, tried })) =
                tried.iter().find(|(r, _)| r.id == 1)
            else {
                panic!("{tried:?}")
            };
            assert_eq!(
                reason,
                "rule `r2` allows only a command line chained through `r0`"
            );
            assert_eq!(tried.len(), 1);
        }
        other => panic!("{other:?}"),
    }
}

/// A denied chain keeps every rule tried for the chained command line,
/// with why: what `explain` lists, closest first.
#[test]
fn a_denied_chain_keeps_every_rule_tried() {
    let mut other_user = rule(3, "cat", vec![path("/srv")], Rest::Exact);
    other_user.run_as = RunAs::User("nobody".into());
    let rules = [
        rule(0, "nice", vec![Arg::Literal("-n5".into())], Rest::Chain),
        rule(1, "cat", vec![path("/srv")], Rest::Exact),
        rule(
            2,
            "cat",
            vec![Arg::Literal("-n".into()), path("/etc")],
            Rest::Exact,
        ),
        other_user,
    ];
    let host = all_present();
    match decide_with(&rules, &host, &["nice", "-n5", "cat", "-n", "/srv/x"]) {
        Ok(Decision::Deny { tried }) => {
            let Some((_, Mismatch::ChainDenied { tried, .. })) = tried.first() else {
                panic!("{tried:?}")
            };
            let reached: Vec<(u32, usize)> =
                tried.iter().map(|(r, why)| (r.id, why.reached())).collect();
            assert_eq!(reached, [(1, 1), (2, 2), (3, 0)], "{tried:?}");
            assert_eq!(tried[2].1, Mismatch::ChainUser);
        }
        other => panic!("{other:?}"),
    }
}

/// A name longer than `NAME_MAX` cannot name a file: the argument is no
/// match before anything is looked up, though the whole is far under
/// `PATH_MAX` (this host would resolve it).
#[test]
fn a_path_with_a_name_over_name_max_does_not_match() {
    let rules = [rule(0, "cat", vec![path("/srv")], Rest::Exact)];
    let host = all_present();
    let named = |len: usize| format!("/srv/{}", "a".repeat(len));
    assert_eq!(
        allowed_argv(decide_with(&rules, &host, &["cat", &named(255)])),
        ["/bin/cat", named(255).as_str()]
    );
    match decide_with(&rules, &host, &["cat", &named(256)]) {
        Ok(Decision::Deny { tried }) => assert!(
            matches!(&tried[0].1, Mismatch::Arg { position: 1, .. }),
            "{tried:?}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn path_lookups_are_bounded_per_call() {
    let rules = [rule(
        0,
        "cat",
        vec![path("/srv"), path("/srv")],
        Rest::Exact,
    )];
    let host = all_present();
    // Each argument costs its components; two of 1000 fit in the
    // budget, one of 1100 after one of 1000 does not.
    let long = |n: usize| format!("/srv{}", "/a".repeat(n - 2));
    let (a, b) = (long(1000), long(1100));
    assert!(matches!(
        decide_with(&rules, &host, &["cat", &a, &a]),
        Ok(Decision::Allow(_))
    ));
    assert!(matches!(
        decide_with(&rules, &host, &["cat", &a, &b]),
        Ok(Decision::Deny { .. })
    ));
}

#[test]
fn bytes_searched_by_regexes_are_bounded_per_call() {
    let dfa = regex_automata::dfa::dense::Builder::new()
        .configure(
            regex_automata::dfa::dense::Config::new()
                .start_kind(regex_automata::dfa::StartKind::Anchored),
        )
        .build("^(?:.*)$")
        .unwrap()
        .to_sparse()
        .unwrap()
        .to_bytes_little_endian();
    let regex = Arg::Regex(Regex {
        source: ".*".into(),
        dfa: Dfa::from_bytes(dfa).unwrap(),
    });
    let rules = [rule(0, "echo", vec![regex.clone(), regex], Rest::Exact)];
    let host = all_present();
    let half = "a".repeat(MAX_SCAN_BYTES / 2);
    assert!(matches!(
        decide_with(&rules, &host, &["echo", &half, &half]),
        Ok(Decision::Allow(_))
    ));
    let more = "a".repeat(MAX_SCAN_BYTES / 2 + 1);
    assert!(matches!(
        decide_with(&rules, &host, &["echo", &half, &more]),
        Err(Fault::TooComplex)
    ));
}

fn deny(id: u32, command: &str, args: Vec<Arg>, rest: Rest) -> Rule {
    Rule {
        effect: Effect::Deny { any_user: true },
        ..rule(id, command, args, rest)
    }
}

fn denied_by(decision: Result<Decision, Fault>) -> String {
    match decision {
        Ok(Decision::Deny { tried }) => match denying_rule(&tried) {
            Some(deny) => deny.name.clone(),
            None => panic!("denied by no deny rule: {tried:?}"),
        },
        other => panic!("not denied: {other:?}"),
    }
}

/// A deny wins over every allow, declared before or after it, for every
/// spelling of its command (a path's file name included), and whatever
/// variables the caller adds.
#[test]
fn a_deny_rule_wins_wherever_it_is_declared() {
    let host = all_present();
    let sda = || vec![Arg::Literal("/dev/sda".into())];
    let allow = rule(0, "/bin/cat", vec![], Rest::Any);
    for rules in [
        [allow.clone(), deny(1, "cat", sda(), Rest::Exact)],
        [
            deny(0, "cat", sda(), Rest::Exact),
            rule(1, "/bin/cat", vec![], Rest::Any),
        ],
    ] {
        for call in [&["cat", "/dev/sda"][..], &["/bin/cat", "/dev/sda"]] {
            let by = denied_by(decide_with(&rules, &host, call));
            assert!(by == "r0" || by == "r1", "{by}");
        }
        assert_eq!(
            allowed_argv(decide_with(&rules, &host, &["cat", "/dev/sdb"])),
            ["/bin/cat", "/dev/sdb"]
        );
    }
    let env_allow = Rule {
        env: vec![crate::types::EnvVar {
            name: "LC_ALL".into(),
            value: Arg::Literal("C".into()),
        }],
        ..rule(0, "cat", vec![], Rest::Any)
    };
    let rules = [env_allow, deny(1, "cat", sda(), Rest::Exact)];
    assert_eq!(
        denied_by(decide_with(
            &rules,
            &host,
            &["env", "LC_ALL=C", "cat", "/dev/sda"]
        )),
        "r1"
    );
    // `as USER`: only the calls an allowing rule runs as that user.
    let as_user = Rule {
        run_as: RunAs::User("svc".into()),
        effect: Effect::Deny { any_user: false },
        ..deny(1, "cat", sda(), Rest::Exact)
    };
    let rules = [rule(0, "cat", vec![], Rest::Any), as_user.clone()];
    assert!(matches!(
        decide_with(&rules, &host, &["cat", "/dev/sda"]),
        Ok(Decision::Allow(_))
    ));
    let svc = Rule {
        run_as: RunAs::User("svc".into()),
        ..rule(0, "cat", vec![], Rest::Any)
    };
    assert_eq!(
        denied_by(decide_with(&[svc, as_user], &host, &["cat", "/dev/sda"])),
        "r1"
    );
}

/// The chained command line is decided like a call of its own: a deny on
/// it denies the whole call, even when an earlier rule would allow it.
#[test]
fn a_deny_rule_on_a_chained_command_line_denies_the_call() {
    let host = all_present();
    let rules = [
        rule(0, "nice", vec![Arg::Literal("-n5".into())], Rest::Exact),
        rule(1, "nice", vec![Arg::Literal("-n5".into())], Rest::Chain),
        rule(2, "cat", vec![], Rest::Any),
        deny(3, "cat", vec![Arg::Literal("/dev/sda".into())], Rest::Exact),
    ];
    assert_eq!(
        allowed_argv(decide_with(&rules, &host, &["nice", "-n5", "cat", "x"])),
        ["/bin/nice", "-n5", "/bin/cat", "x"]
    );
    match decide_with(&rules, &host, &["nice", "-n5", "/bin/cat", "/dev/sda"]) {
        Ok(Decision::Deny { tried }) => {
            assert_eq!(tried[0].0.name, "r1");
            assert_eq!(denying_rule(&tried).map(|r| r.name.as_str()), Some("r3"));
        }
        other => panic!("{other:?}"),
    }
    let earlier_any = [
        rule(0, "nice", vec![], Rest::Any),
        rules[1].clone(),
        rules[2].clone(),
        rules[3].clone(),
    ];
    assert_eq!(
        denied_by(decide_with(
            &earlier_any,
            &host,
            &["nice", "-n5", "cat", "/dev/sda"]
        )),
        "r3"
    );
}

/// A disabled rule allows nothing; a call only it matches is denied and
/// names it, with the reason. A disabled deny denies nothing.
#[test]
fn a_disabled_rule_decides_nothing_and_is_named() {
    let host = all_present();
    let disabled = Disabled {
        was_deny: false,
        reason: "not on this site".into(),
        source: Source {
            file: "site.rwf".into(),
            line: 3,
        },
    };
    let off = Rule {
        effect: Effect::Disabled(Box::new(disabled.clone())),
        ..rule(0, "cat", vec![Arg::Literal("a".into())], Rest::Exact)
    };
    let rules = [
        off.clone(),
        rule(1, "cat", vec![Arg::Literal("b".into())], Rest::Exact),
    ];
    match decide_with(&rules, &host, &["cat", "a"]) {
        Ok(Decision::Deny { tried }) => {
            assert_eq!(disabled_match(&tried).map(|r| r.name.as_str()), Some("r0"));
            assert_eq!(tried[0].1, Mismatch::Disabled(disabled.clone()));
            assert!(tried[0].1.to_string().contains("not on this site"));
        }
        other => panic!("{other:?}"),
    }
    match decide_with(&rules, &host, &["cat", "c"]) {
        Ok(Decision::Deny { tried }) => assert!(disabled_match(&tried).is_none()),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        decide_with(&rules, &host, &["cat", "b"]),
        Ok(Decision::Allow(_))
    ));
    let off_deny = Rule {
        effect: Effect::Disabled(Box::new(Disabled {
            was_deny: true,
            ..disabled
        })),
        ..deny(0, "cat", vec![], Rest::Any)
    };
    let rules = [off_deny, rule(1, "cat", vec![], Rest::Any)];
    assert!(matches!(
        decide_with(&rules, &host, &["cat", "a"]),
        Ok(Decision::Allow(_))
    ));
}
