//! The language, construct by construct: what parses and what it lowers
//! to. Errors and warnings are tested whole in diagnostics.rs (cases in
//! `diagnostics/`); the few left here are generated or span several files.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use rootwrap::types::{Arg, Command, Item, PathDepth, PathScope, PidPattern, Pin, Rest, RunAs};
use rootwrap_compile::syntax::{parse_file, Expect, ItemAst, Pattern, Statement};
use rootwrap_compile::{compile_sources, Compiled, Sources};

const HEAD: &str = "ruleset t\nexec-dirs /usr/bin /bin\n";

fn compile(text: &str) -> Result<Compiled, String> {
    compile_files(&[("t.rwf", text)])
}

fn compile_files(files: &[(&str, &str)]) -> Result<Compiled, String> {
    let mut sources = Sources::default();
    let texts = files
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    compile_sources(texts, false, &mut sources)
        .map_err(|failed| sources.render_all(&failed.diagnostics).join("\n"))
}

/// The rendered diagnostics of a compile that must fail.
fn errors(text: &str) -> String {
    match compile(text) {
        Ok(_) => panic!("expected a compile error for:\n{text}"),
        Err(rendered) => rendered,
    }
}

fn warnings(text: &str) -> String {
    let mut sources = Sources::default();
    let compiled = compile_sources(vec![("t.rwf".into(), text.into())], false, &mut sources)
        .unwrap_or_else(|f| panic!("{:?}", f.diagnostics));
    sources.render_all(&compiled.warnings).join("\n")
}

fn only_rule(text: &str) -> rootwrap::types::Rule {
    let compiled = compile(&format!("{HEAD}{text}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compiled.policy.rules.len(), 1);
    compiled.policy.rules[0].rule.clone()
}

/// The rule's items, each of which must be a single-argument pattern.
fn ones(rule: &rootwrap::types::Rule) -> Vec<Arg> {
    rule.args
        .iter()
        .map(|item| match item {
            Item::One(arg) => arg.clone(),
            other => panic!("expected single-argument items, got {other:?}"),
        })
        .collect()
}

#[test]
fn every_construct_parses() {
    let text = r#"ruleset demo   # trailing comment
exec-dirs /usr/bin \
          /bin
  # an indented comment line

allow r1 as nova: env A=<uuid> B=re"[a-z]+" C="x y" cmd lit "quoted \"s\"" re"a|b"u (x | <int 1..2> | re"y") <path /a/** | /b/*> ... because "why"
test allow r1: env A=1 cmd lit x y z
test allow: cmd "a b"
test deny: cmd (x) <y> #comment
"#;
    let (statements, diagnostics) = parse_file(0, text);
    assert!(diagnostics.is_empty(), "{diagnostics:?}");
    assert_eq!(statements.len(), 6, "{statements:#?}");
    let Statement::Option(exec_dirs) = &statements[1] else {
        panic!()
    };
    assert_eq!(
        exec_dirs
            .values
            .iter()
            .map(|v| v.value.as_str())
            .collect::<Vec<_>>(),
        ["/usr/bin", "/bin"]
    );
    let Statement::Rule(rule) = &statements[2] else {
        panic!()
    };
    assert_eq!(rule.name.value, "r1");
    assert_eq!(rule.run_as.as_ref().map(|u| u.value.as_str()), Some("nova"));
    assert_eq!(rule.env.len(), 3);
    assert!(matches!(&rule.env[2].1, ItemAst::Single(Pattern::Literal(s)) if s.value == "x y"));
    assert_eq!(rule.command.value, "cmd");
    assert_eq!(rule.args.len(), 5);
    assert!(
        matches!(&rule.args[1], ItemAst::Single(Pattern::Literal(s)) if s.value == "quoted \"s\"")
    );
    assert!(
        matches!(&rule.args[2], ItemAst::Single(Pattern::Regex { source, flags: Some(f) }) if source.value == "a|b" && f.value == "u")
    );
    assert!(matches!(&rule.args[3], ItemAst::Group(alts, _) if alts.len() == 3));
    assert!(
        matches!(&rule.args[4], ItemAst::Single(Pattern::Typed { name, args, .. }) if name.value == "path" && args.len() == 2)
    );
    assert!(rule.rest.is_some());
    assert_eq!(rule.because.as_ref().map(|b| b.value.as_str()), Some("why"));
    let Statement::Test(test) = &statements[3] else {
        panic!()
    };
    assert!(matches!(&test.expect, Expect::Allow(Some(n)) if n.value == "r1"));
    assert_eq!(test.argv.len(), 7, "{:?}", test.argv);
    let Statement::Test(test) = &statements[5] else {
        panic!()
    };
    assert_eq!(test.expect, Expect::Deny);
    assert_eq!(
        test.argv
            .iter()
            .map(|a| a.value.as_str())
            .collect::<Vec<_>>(),
        ["cmd", "(x)", "<y>"]
    );
}

#[test]
fn rules_lower_to_the_ruleset_types() {
    let rule = only_rule("allow r: /sbin/blockdev (--getsize64 | --flushbufs) <path /dev/*>");
    assert_eq!(rule.command, Command::Path("/sbin/blockdev".into()));
    assert_eq!(rule.run_as, RunAs::Root);
    assert_eq!(rule.rest, Rest::Exact);
    assert_eq!(
        ones(&rule),
        vec![
            Arg::OneOf(vec![
                Arg::Literal("--getsize64".into()),
                Arg::Literal("--flushbufs".into())
            ]),
            Arg::Path {
                scopes: vec![PathScope {
                    base: "/dev".into(),
                    middle: Vec::new(),
                    depth: PathDepth::Child
                }],
                pin: Pin::Object
            },
        ]
    );
    assert_eq!(rule.source.line, 3);

    let rule = only_rule("allow r as nobody: ls <int 1..> <int ..-1> <mode 0644 | 755> <signal HUP | 9> <path / | /x/**>");
    assert_eq!(rule.run_as, RunAs::User("nobody".into()));
    assert_eq!(rule.command, Command::Name("ls".into()));
    assert_eq!(
        ones(&rule)[0],
        Arg::Int {
            min: 1,
            max: i64::MAX
        }
    );
    assert_eq!(
        ones(&rule)[1],
        Arg::Int {
            min: i64::MIN,
            max: -1
        }
    );
    assert_eq!(ones(&rule)[2], Arg::Mode(vec![0o644, 0o755]));
    assert_eq!(ones(&rule)[3], Arg::Signal(vec![1, 9]));
    assert_eq!(
        ones(&rule)[4],
        Arg::Path {
            scopes: vec![
                PathScope {
                    base: "/".into(),
                    middle: Vec::new(),
                    depth: PathDepth::Exactly
                },
                PathScope {
                    base: "/x".into(),
                    middle: Vec::new(),
                    depth: PathDepth::Descendant
                },
            ],
            pin: Pin::Object
        }
    );
    let rule = only_rule("allow r: rm <path-entry /x/*> <path-unpinned /dev/*>");
    assert!(matches!(
        ones(&rule)[0],
        Arg::Path {
            pin: Pin::Entry,
            ..
        }
    ));
    assert!(matches!(
        ones(&rule)[1],
        Arg::Path {
            pin: Pin::Unpinned,
            ..
        }
    ));
    assert_eq!(
        rule.pattern_text(),
        "rm <path-entry /x/*> <path-unpinned /dev/*>"
    );
    // `as root` is the default spelled out.
    assert_eq!(only_rule("allow r as root: ls").run_as, RunAs::Root);

    let rule = only_rule("allow r: kill <pid /usr/sbin/dnsmasq | haproxy as nobody> <pid as>");
    assert_eq!(
        ones(&rule),
        vec![
            Arg::Pid(PidPattern {
                targets: vec!["/usr/sbin/dnsmasq".into(), "haproxy".into()],
                user: Some("nobody".into()),
            }),
            // A target named `as` stays a target.
            Arg::Pid(PidPattern {
                targets: vec!["as".into()],
                user: None,
            }),
        ]
    );
    assert_eq!(
        rule.pattern_text(),
        "kill <pid /usr/sbin/dnsmasq | haproxy as nobody> <pid as>"
    );
}

#[test]
fn patterns_print_back_in_filter_syntax() {
    let rule = only_rule(
        r#"allow r: env A=<uuid> ls "a b" re"x+" (y | <int 1..3>) <mode> <path /a/**> ... because "t""#,
    );
    assert_eq!(
        rule.pattern_text(),
        r#"env A=<uuid> ls "a b" re"x+" (y | <int 1..3>) <mode> <path /a/**> ..."#
    );
}

#[test]
fn string_escapes() {
    let rule = only_rule(r#"allow r: echo "tab\there" "nl\n" "uni\u{e9}" "back\\slash""#);
    assert_eq!(
        ones(&rule),
        ["tab\there", "nl\n", "unié", "back\\slash"]
            .map(|s| Arg::Literal(s.into()))
            .to_vec()
    );
}

#[test]
fn an_env_value_of_alternatives_lowers_to_one_of() {
    let rule = only_rule("allow r: env A=(x | <int>) ls");
    assert_eq!(
        rule.env[0].value,
        Arg::OneOf(vec![
            Arg::Literal("x".into()),
            Arg::Int {
                min: i64::MIN,
                max: i64::MAX
            }
        ])
    );
}

#[test]
fn passing_policy_tests_are_counted() {
    let ok = compile(&format!(
        "{HEAD}allow a: ls -l\ntest allow a: ls -l\ntest allow: ls -l\ntest deny: ls -la\n"
    ))
    .unwrap();
    assert_eq!(ok.tests_run, 3);
}

#[test]
fn pinned_path_lints_stay_quiet_where_the_pin_holds() {
    // The warnings themselves are cases in diagnostics/ (`lint-*.rwf`);
    // here, calls that must not warn.
    for quiet in [
        "mount -c -t nfs x:/y <path /srv/*>",
        "umount -l --no-canonicalize <path /srv/*>",
        "losetup -f <path-unpinned /srv/**>",
    ] {
        let shown = warnings(&format!("{HEAD}allow r: {quiet}\n"));
        assert!(shown.is_empty(), "{quiet}: {shown}");
    }
    for quiet in [
        "mkdir -p -- <path-entry /srv/**>",
        "rm -- <path-entry /srv/**>",
        "ln -s -T x <path-entry /srv/**>",
        "cp -T --remove-destination -- <path /srv/**> <path-entry /srv/**>",
        "chown nova <path /srv/**>",
    ] {
        let shown = warnings(&format!("{HEAD}allow r: {quiet}\n"));
        assert!(shown.is_empty(), "{quiet}: {shown}");
    }
    // As the service user, a link it plants gains it nothing.
    let shown = warnings(&format!(
        "{HEAD}allow r as nobody: tee <path-entry /srv/**>\n"
    ));
    assert!(shown.is_empty(), "{shown}");
    // An unpinned scope under a directory only root can write.
    let shown = warnings(&format!(
        "{HEAD}allow r: losetup -f <path-unpinned /usr/lib/**>\n"
    ));
    assert!(shown.is_empty(), "{shown}");
}

#[test]
fn lints_stay_quiet_on_safe_rules_and_because_silences_them() {
    // The warnings themselves are cases in diagnostics/ (`lint-*.rwf`).
    let shown = warnings(&format!("{HEAD}allow r: echo <any>\n"));
    assert!(shown.is_empty(), "{shown}");
    let shown = warnings(&format!("{HEAD}allow r: cat re\"/var/log/[a-z]+\"\n"));
    assert!(shown.is_empty(), "{shown}");
    let shown = warnings(&format!(
        "{HEAD}allow r: bash ... because \"reviewed: runs our fixed script\"\n"
    ));
    assert!(shown.is_empty(), "{shown}");

    let mut sources = Sources::default();
    let denied = compile_sources(
        vec![("t.rwf".into(), format!("{HEAD}allow r: ls ...\n"))],
        true,
        &mut sources,
    );
    assert!(
        denied.is_err(),
        "--deny-warnings turns warnings into a failed compile"
    );
}

#[test]
fn several_files_make_one_ruleset() {
    let compiled = compile_files(&[
        (
            "main.rwf",
            "ruleset multi\nexec-dirs /usr/bin /bin\nallow a: ls\n",
        ),
        (
            "plugin.rwf",
            "exec-dirs /usr/bin /bin\nallow b: cat <path /var/log/**>\ntest allow a: ls\n",
        ),
    ])
    .unwrap();
    let names: Vec<&str> = compiled
        .policy
        .rules
        .iter()
        .map(|r| r.rule.name.as_str())
        .collect();
    assert_eq!(names, ["a", "b"]);
    assert_eq!(compiled.policy.rules[1].rule.source.file, "plugin.rwf");
    assert_eq!(compiled.policy.rules[1].rule.id, 1);

    let rendered = compile_files(&[
        ("one.rwf", "ruleset m\nallow a: /bin/ls\n"),
        ("two.rwf", "allow a: /bin/cat\n"),
    ])
    .unwrap_err();
    assert!(
        rendered.contains("`a` is defined in two files: one.rwf:2 and two.rwf:1"),
        "{rendered}"
    );
    assert!(rendered.contains("--> two.rwf:1:7"), "{rendered}");
    assert!(rendered.contains("--> one.rwf:2:7"), "{rendered}");
}

#[test]
fn compiling_is_reproducible() {
    let text = format!("{HEAD}allow a: ls <path /x/**>\nallow b: echo re\"[0-9]+\" <uuid>\nallow c as nobody: /bin/cat /etc/motd\n");
    let first = compile(&text).unwrap();
    let second = compile(&text).unwrap();
    assert_eq!(first.bytes, second.bytes);
    assert_eq!(first.digest, second.digest);
    // A one-character change changes the identity.
    let changed = compile(&text.replace("[0-9]+", "[0-9]*")).unwrap();
    assert_ne!(first.digest, changed.digest);
}

#[test]
fn deep_nesting_is_refused_before_it_can_exhaust_the_stack() {
    for (open, close) in [("[", "]"), ("(", ")"), ("{", "}")] {
        let deep = format!(
            "{HEAD}allow r: true {}x{}\n",
            open.repeat(5000),
            close.repeat(5000)
        );
        let rendered = errors(&deep);
        assert!(
            rendered.contains("error: brackets nest more than 12 deep"),
            "{rendered}"
        );
    }
    // Twelve levels are fine, and brackets in strings and comments do not count.
    let ok = format!(
        "{HEAD}allow r: true {}x{} \"((((((((((((((\" # [[[[[[[[[[[[[[[[\n",
        "[".repeat(12),
        "]".repeat(12)
    );
    assert!(compile(&ok).is_ok());
}

#[test]
fn tight_env_values_do_not_warn() {
    // The warnings are cases in diagnostics/ (`lint-any-env-*.rwf`).
    for value in [
        "x",
        "\"a b\"",
        "(fast | safe | <int 1..9>)",
        "re\"[a-z0-9-]+\"",
        "<uuid>",
        "--x=<int>",
    ] {
        let shown = warnings(&format!("{HEAD}allow r: env A={value} ls\n"));
        assert!(shown.is_empty(), "{value}: {shown}");
    }
    let shown = warnings(&format!(
        "{HEAD}allow r: env LC_ALL=(C | C.UTF-8) A=<int> ls\n"
    ));
    assert!(shown.is_empty(), "{shown}");
    let shown = warnings(&format!(
        "{HEAD}allow r: env A=<any> ls because \"A is a free-form tag\"\n"
    ));
    assert!(shown.is_empty(), "{shown}");
}

#[test]
fn every_lint_is_in_the_books_table() {
    let book = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../book/src/language.md"
    ))
    .unwrap();
    for lint in rootwrap_compile::lint::Lint::ALL {
        let row = format!("\n| `{}` |", lint.code());
        assert!(
            book.contains(&row),
            "no row for `{}` in language.md's lint table",
            lint.code()
        );
    }
}

/// `echo [p] (<any> <any> | ...) { [<any>] x11 } end`: the group of
/// `pairs` alternatives takes two steps each (all match, and end at one
/// position), the optional `p` one, the any-order group 11 * 2^10, and
/// `end` is tried at each of the group's 12 end positions.
fn steps_rule(pairs: usize, p: bool) -> String {
    format!(
        "{HEAD}allow echo: echo {}({}) {{ {}}} end\n",
        if p { "p " } else { "" },
        vec!["<any> <any>"; pairs].join(" | "),
        "[<any>] ".repeat(11)
    )
}

#[test]
fn rules_that_can_reach_the_runtimes_step_limit_are_refused() {
    use rootwrap::matcher::{match_rule, Context, Invocation};
    use rootwrap::types::MAX_MATCH_STEPS;
    use std::ffi::OsString;

    // The review's example, 12 optional items, is diagnostics/step-limit.rwf.
    // Exactly at the limit: compiles, and the worst call is decided.
    let pairs = (MAX_MATCH_STEPS as usize - 11 * 1024 - 12) / 2;
    assert_eq!(2 * pairs + 11 * 1024 + 12, MAX_MATCH_STEPS as usize);
    let compiled = compile(&steps_rule(pairs, false)).unwrap_or_else(|e| panic!("{e}"));
    let mut argv: Vec<OsString> = vec!["echo".into(), "a".into(), "b".into()];
    argv.extend((1..=11).map(|i| OsString::from(i.to_string())));
    argv.push("end".into());
    let ruleset = rootwrap::format::Ruleset::from_bytes(&compiled.bytes).unwrap();
    assert!(matches!(
        ruleset
            .decide(&argv, &rootwrap::matcher::AssumeInstalled)
            .unwrap(),
        rootwrap::Decision::Allow(_)
    ));

    // One step more: refused by the compiler, and the runtime would indeed
    // give up on that call (so the bound is exact here, not loose).
    let rendered = errors(&steps_rule(pairs, true));
    assert!(
        rendered.contains(&format!("can need {} matching steps", MAX_MATCH_STEPS + 1)),
        "{rendered}"
    );
    let mut rule = compiled.policy.rules[0].rule.clone();
    rule.args.insert(0, Item::One(Arg::Literal("p".into())));
    argv.insert(1, "p".into());
    let no_lookup = |_: &[u8]| Ok(Vec::new().into());
    let ctx = Context::new(&[], &no_lookup, &rootwrap::matcher::AssumeInstalled);
    let call = Invocation::parse(&argv).unwrap();
    assert!(matches!(
        match_rule(&rule, &call, &ctx),
        Err(rootwrap::Fault::TooComplex)
    ));
}

#[test]
fn a_rule_after_one_with_another_target_user_is_quiet_when_no_call_reaches_both() {
    // The warnings are diagnostics/lint-other-user*.rwf.
    for quiet in [
        // Same target user: the runtime passes over to it.
        "allow a as nobody: /opt/missing/id -u\nallow b as nobody: id -u\n",
        // No call matches both.
        "allow a as nobody: id -u\nallow b: id -g\n",
        "allow a as nobody: id -u\nallow b: id -u -n\n",
        "allow a as nobody: env A=1 id -u\nallow b: id -u\n",
        // Other commands.
        "allow a as nobody: /opt/x/id -u\nallow b: /opt/y/ls -u\n",
        "allow a as nobody: id -u\nallow b: id -u because \"root when nobody cannot\"\n",
    ] {
        let shown = warnings(&format!("{HEAD}{quiet}"));
        assert!(shown.is_empty(), "{quiet}: {shown}");
    }
}

/// A rule printed back (`explain`, error notes, the importer's output)
/// parses to the same rule: every literal the grammar would read as
/// something else (a keyword, `...`, a comment, a pin) is quoted.
#[test]
fn literals_print_back_as_themselves() {
    let rule = only_rule(r##"allow x: echo "because" "..." "then" "allowed" "@sha256:ab" "#x""##);
    assert_eq!(
        rule.pattern_text(),
        r##"echo "because" "..." "then" "allowed" "@sha256:ab" "#x""##
    );
    use proptest::prelude::*;
    let word = prop_oneof![
        Just("because".to_string()),
        Just("then".to_string()),
        Just("allowed".to_string()),
        Just("...".to_string()),
        Just("as".to_string()),
        "[a-z.@#\"\\\\ |()<>{}\\[\\]=:/*-]{1,8}",
        "[\\u{1}-\\u{7f}é]{1,6}",
    ];
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 256,
        ..ProptestConfig::default()
    });
    runner
        .run(&proptest::collection::vec(word, 1..5), |words| {
            let printed: Vec<String> = words
                .iter()
                .map(|w| rootwrap::display::literal(w))
                .collect();
            let text = format!("{HEAD}allow x: echo {}\n", printed.join(" "));
            let first = compile(&text).map_err(|e| TestCaseError::fail(format!("{text}{e}")))?;
            let rule = &first.policy.rules[0].rule;
            let expected: Vec<Item> = words
                .iter()
                .map(|w| Item::One(Arg::Literal(w.clone())))
                .collect();
            prop_assert_eq!(&rule.args, &expected, "{}", text);
            prop_assert_eq!(rule.rest, Rest::Exact);
            let again = format!("{HEAD}allow x: {}\n", rule.pattern_text());
            let second = compile(&again).map_err(|e| TestCaseError::fail(format!("{again}{e}")))?;
            prop_assert_eq!(&second.policy.rules[0].rule.args, &rule.args);
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e}"));
}

/// `(A | B)` at the command position: one rule, filed under every
/// alternative's spellings, printed back with its alternatives.
#[test]
fn a_rule_may_name_several_commands() {
    let text = "allow save: (iptables-save | /sbin/ip6tables-save) [-t (nat | filter)]\n\
                test allow save: iptables-save -t nat\n\
                test allow save: ip6tables-save\n\
                test allow save: /sbin/ip6tables-save -t filter\n\
                test deny: /usr/bin/iptables-save\n\
                test deny: iptables-restore\n";
    let compiled = compile(&format!("{HEAD}{text}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compiled.policy.rules.len(), 1);
    let rule = &compiled.policy.rules[0].rule;
    assert_eq!(rule.command, Command::Name("iptables-save".into()));
    assert_eq!(rule.also, [Command::Path("/sbin/ip6tables-save".into())]);
    assert_eq!(
        rule.selectors(),
        ["iptables-save", "ip6tables-save", "/sbin/ip6tables-save"]
    );
    let printed = rule.pattern_text();
    assert_eq!(
        printed,
        "(iptables-save | /sbin/ip6tables-save) [-t (nat | filter)]"
    );
    let again = only_rule(&format!("allow save: {printed}"));
    assert_eq!(
        (&again.command, &again.also, &again.args),
        (&rule.command, &rule.also, &rule.args)
    );
    // The compiled ruleset files the one rule under each spelling.
    let ruleset = rootwrap::format::Ruleset::from_bytes(&compiled.bytes).unwrap();
    for spelling in ["iptables-save", "ip6tables-save", "/sbin/ip6tables-save"] {
        let found = ruleset.rules_for(spelling.as_bytes()).unwrap();
        assert_eq!(found.len(), 1, "{spelling}");
        assert_eq!(found[0].name, "save");
    }
}

/// `*` in the middle of a path scope: one whole name, in every path type
/// and in an action's parameters; printed back as written.
#[test]
fn a_path_scope_may_have_a_wildcard_in_the_middle() {
    let text = "allow conf: cat <path /var/lib/neutron/ha_confs/*/keepalived.conf> \
                <path-entry /srv/*/x/*/*> <path-unpinned /a/*/b/**>\n\
                action drop (conf: <path-entry /var/lib/neutron/ha_confs/*/keepalived.conf>):\n    unlink conf\n\
                test allow conf: cat /var/lib/neutron/ha_confs/r1/keepalived.conf /srv/s/x/y/z /a/c/b/d/e\n\
                test deny: cat /var/lib/neutron/ha_confs/keepalived.conf /srv/s/x/y/z /a/c/b/d/e\n\
                test deny: cat /var/lib/neutron/ha_confs/r1/r2/keepalived.conf /srv/s/x/y/z /a/c/b/d/e\n\
                test deny: cat /var/lib/neutron/ha_confs/r1/keepalived.conf /srv/s/y/y/z /a/c/b/d/e\n\
                test deny: cat /var/lib/neutron/ha_confs/r1/keepalived.conf /srv/s/x/y/z /a/c/b\n";
    let compiled = compile(&format!("{HEAD}{text}")).unwrap_or_else(|e| panic!("{e}"));
    let rule = &compiled.policy.rules[0].rule;
    let scopes: Vec<PathScope> = ones(rule)
        .into_iter()
        .map(|arg| match arg {
            Arg::Path { mut scopes, .. } => scopes.remove(0),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        scopes[0],
        PathScope {
            base: "/var/lib/neutron/ha_confs".into(),
            middle: vec![None, Some("keepalived.conf".into())],
            depth: PathDepth::Exactly
        }
    );
    assert_eq!(
        scopes[1],
        PathScope {
            base: "/srv".into(),
            middle: vec![None, Some("x".into()), None],
            depth: PathDepth::Child
        }
    );
    assert_eq!(
        scopes[2],
        PathScope {
            base: "/a".into(),
            middle: vec![None, Some("b".into())],
            depth: PathDepth::Descendant
        }
    );
    let printed = rule.pattern_text();
    assert_eq!(
        printed,
        "cat <path /var/lib/neutron/ha_confs/*/keepalived.conf> <path-entry /srv/*/x/*/*> <path-unpinned /a/*/b/**>"
    );
    let again = only_rule(&format!("allow conf: {printed}"));
    assert_eq!(again.args, rule.args);
    // The action's parameter, as its rule holds it.
    let action = &compiled.policy.rules[1].rule;
    assert_eq!(
        action.pattern_text(),
        "@drop <path-entry /var/lib/neutron/ha_confs/*/keepalived.conf>"
    );
    // The root as the fixed part.
    let root = only_rule("allow r: ls <path /*/x>");
    assert_eq!(
        ones(&root)[0],
        Arg::Path {
            scopes: vec![PathScope {
                base: "/".into(),
                middle: vec![None, Some("x".into())],
                depth: PathDepth::Exactly
            }],
            pin: Pin::Object
        }
    );
    assert_eq!(root.pattern_text(), "ls <path /*/x>");
}

/// `via CHAIN, ...` lowers to the names, in order, and prints back (with
/// `as USER`) as a head that compiles to the same rule.
#[test]
fn via_lowers_and_prints_back() {
    let text = format!(
        "{HEAD}allow in-a as nova: nice -n 5 then allowed\nallow in-b as nova: nice -n 7 then allowed\nallow r via in-a, in-b as nova: ls /srv\n"
    );
    let compiled = compile(&text).unwrap_or_else(|e| panic!("{e}"));
    let rule = &compiled.policy.rules[2].rule;
    assert_eq!(rule.via, ["in-a", "in-b"]);
    assert_eq!(rule.head_text(), "r via in-a, in-b as nova");
    let again = format!(
        "{HEAD}allow in-a as nova: nice -n 5 then allowed\nallow in-b as nova: nice -n 7 then allowed\nallow {}: {}\n",
        rule.head_text(),
        rule.pattern_text()
    );
    let second = compile(&again).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&second.policy.rules[2].rule, rule);
    // A rule defined after the rule that names it is found too.
    let later = format!("{HEAD}allow r via c: ls\nallow c: nice then allowed\n");
    assert_eq!(
        compile(&later)
            .unwrap_or_else(|e| panic!("{e}"))
            .policy
            .rules[0]
            .rule
            .via,
        ["c"]
    );
}
