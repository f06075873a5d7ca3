//! Actions in the language: declarations, steps, their lowering, the
//! errors they can have, and policy tests naming them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use rootwrap::action::{Action, Content, Op, Piece, Target, Text, WriteHow};
use rootwrap::format::Ruleset;
use rootwrap::types::{Arg, Command, Item, Pin, Rest, RunAs};
use rootwrap_compile::{compile_sources, Compiled, Sources};

const HEAD: &str = "ruleset t\nexec-dirs /usr/bin /bin\n";

fn compile(text: &str) -> Result<Compiled, String> {
    let mut sources = Sources::default();
    compile_sources(
        vec![("t.rwf".into(), format!("{HEAD}{text}"))],
        false,
        &mut sources,
    )
    .map_err(|failed| sources.render_all(&failed.diagnostics).join("\n"))
}

fn errors(text: &str) -> String {
    match compile(text) {
        Ok(_) => panic!("expected a compile error for:\n{text}"),
        Err(rendered) => rendered,
    }
}

fn only_action(text: &str) -> (rootwrap::types::Rule, Action) {
    let compiled = compile(text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compiled.policy.actions.len(), 1);
    let (spelling, action) = compiled.policy.actions[0].clone();
    let rule = compiled
        .policy
        .rules
        .iter()
        .find(|r| r.rule.command.as_str() == spelling)
        .unwrap()
        .rule
        .clone();
    (rule, action)
}

const PREPARE: &str = r#"
action prepare-disk (dir: <path-entry /var/lib/nova/instances/*>, size: <int 1..1024>) as nova:
    mkdir dir mode 0750 owner nova:nova
    write dir/"console.log" from stdin max 64KiB create mode 0640 owner nova:nova
    run qemu-img create -f qcow2 dir/"disk" size"G"
  undo:
    # comments and blank lines belong to the action

    rmdir dir
test allow prepare-disk: @prepare-disk /var/lib/nova/instances/abc 10
test deny: @prepare-disk /var/lib/nova/instances/abc 2000
test deny: @prepare-disk /var/lib/nova/instances/../abc 10
test deny: @prepare-disk /var/lib/nova/instances/abc
test deny: prepare-disk /var/lib/nova/instances/abc 10
"#;

#[test]
fn an_action_lowers_to_a_rule_for_its_spelling_and_its_steps() {
    let (rule, action) = only_action(PREPARE);
    assert_eq!(rule.name, "prepare-disk");
    assert_eq!(rule.command, Command::Name("@prepare-disk".into()));
    assert_eq!(rule.run_as, RunAs::User("nova".into()));
    assert_eq!(rule.rest, Rest::Exact);
    assert!(matches!(
        &rule.args[0],
        Item::One(Arg::Path {
            pin: Pin::Entry,
            ..
        })
    ));
    assert_eq!(rule.args[1], Item::One(Arg::Int { min: 1, max: 1024 }));
    assert_eq!(action.params, vec!["dir", "size"]);
    assert_eq!(action.steps.len(), 3);
    assert_eq!(action.undo.len(), 1);
    let Op::Write {
        target,
        content,
        max,
        how,
        attrs,
    } = &action.steps[1].op
    else {
        panic!("{:?}", action.steps[1]);
    };
    assert_eq!(
        *target,
        Target {
            param: 0,
            below: vec!["console.log".into()]
        }
    );
    assert_eq!(*content, Content::Stdin);
    assert_eq!((*max, *how), (64 << 10, WriteHow::Create));
    assert_eq!(attrs.mode, Some(Text(vec![Piece::Literal("0640".into())])));
    // Arguments are built from parameters, glued to literal text: the
    // parameter's value, never re-parsed.
    let Op::Run { argv } = &action.steps[2].op else {
        panic!()
    };
    assert_eq!(
        argv[4],
        Text(vec![Piece::Param(0), Piece::Literal("/disk".into())])
    );
    assert_eq!(
        argv[5],
        Text(vec![Piece::Param(1), Piece::Literal("G".into())])
    );
    assert_eq!(argv[1], Text(vec![Piece::Literal("create".into())]));
    assert_eq!(action.steps[0].line, 5);
}

#[test]
fn the_ruleset_stores_the_steps_with_the_rule_for_the_spelling() {
    let compiled = compile(PREPARE).unwrap();
    assert_eq!(compiled.tests_run, 5);
    let ruleset = Ruleset::from_bytes(&compiled.bytes).unwrap();
    let stored = ruleset.action(b"@prepare-disk").unwrap().unwrap();
    assert_eq!(*stored, compiled.policy.actions[0].1);
    assert_eq!(ruleset.rules_for(b"@prepare-disk").unwrap().len(), 1);
    assert!(ruleset.action(b"@other").unwrap().is_none());
    assert!(ruleset.action(b"prepare-disk").unwrap().is_none());
}

#[test]
fn policy_tests_decide_actions_with_the_matcher() {
    let failing = errors(
        r#"
action a (n: <int 1..3>):
    sysctl "vm.swappiness" n
test allow a: @a 4
"#,
    );
    assert!(
        failing.contains("policy test failed: `@a 4` must be allowed"),
        "{failing}"
    );
    assert!(failing.contains("argument 1"), "{failing}");
}

#[test]
fn every_step_kind_lowers() {
    let (_, action) = only_action(
        r#"
action all (d: <path /srv/x/*>, e: <path-entry /srv/x/*>, p: <pid /usr/sbin/dnsmasq>, v: re"[0-9]+", o: <owner>, m: <mode 0600..0644>):
    write e from v max 16 replace
    write d append from "x"
    read d max 1MiB
    mkdir e/"a"/"b" parents
    chmod d m
    chown d o
    symlink e to "target"
    unlink e
    rmdir e
    rename d to e
    kill p HUP
    sysctl net.ipv4.ip_forward v
    run true
"#,
    );
    let kinds: Vec<&str> = action.steps.iter().map(|s| s.op.kind()).collect();
    assert_eq!(
        kinds,
        [
            "write", "write", "read", "mkdir", "chmod", "chown", "symlink", "unlink", "rmdir",
            "rename", "kill", "sysctl", "run"
        ]
    );
    let Op::Mkdir {
        target, parents, ..
    } = &action.steps[3].op
    else {
        panic!()
    };
    assert!(*parents);
    assert_eq!(target.below, ["a", "b"]);
    let Op::Sysctl { key, .. } = &action.steps[11].op else {
        panic!()
    };
    assert_eq!(
        *key,
        Text(vec![Piece::Literal("net.ipv4.ip_forward".into())])
    );
}

#[test]
fn bad_actions_are_refused_with_a_reason() {
    for (text, says) in [
        ("action a ():\n", "has no steps"),
        ("action a (d: <path /x/*>):\n    dance d\n", "unknown step `dance`"),
        ("action a (d: <path /x/*>):\n    chmod d 999\n", "`999` is not an octal mode"),
        ("action a (d: <path /x/*>):\n    chown d a:b:c\n", "is not an owner"),
        ("action a (d: <int>):\n    unlink d\n", "not a path parameter"),
        ("action a (d: <path /x/*>):\n    unlink x\n", "not a parameter"),
        ("action a (d: <path /x/*>):\n    unlink d/\"..\"\n", "`.` and `..` are not names"),
        ("action a (d: <path /x/*>):\n    write d from stdin\n", "`create`, `replace` or `append`"),
        ("action a (d: <path /x/*>):\n    write d create\n", "`from stdin` or `from VALUE`"),
        ("action a (d: <path /x/*>):\n    write d from stdin create max 65MiB\n", "is not a size"),
        ("action a (d: <path /x/*>):\n    write d from stdin create\n    write d from stdin create\n", "standard input is read by one step only"),
        ("action a (d: <path /x/*>):\n    write d from \"x\" append mode 0600\n", "`append` keeps the file's mode"),
        ("action a (d: <path /x/*>, e: <path /y/*>):\n    rename d to e\n", "`rename` stays within one tree"),
        ("action a (d: <int>):\n    kill d HUP\n", "`<pid ...>` parameter"),
        ("action a (p: <pid /bin/x>):\n    kill p NOPE\n", "`NOPE` is not a signal"),
        ("action a (d: <path /x/*>):\n    run d\n", "a `run` step's command is written out"),
        ("action a (d: <path-unpinned /x/*>):\n    unlink d\n", "always pinned"),
        ("action a (d: <int>, d: <int>):\n    sysctl k d\n", "declared twice"),
        ("allow a: true\naction a (d: <int>):\n    sysctl k d\n", "is defined twice"),
        ("allow b: @a\n", "starts with `@`"),
        ("action a (d: <path /x/*>):\n    chmod d 0644 extra\n", "the end of the step"),
        ("action a as b (d: <int>):\n    sysctl k d\n", "an action is `action NAME (PARAM: PATTERN, ...) [as USER]:`"),
    ] {
        let rendered = errors(text);
        assert!(rendered.contains(says), "{text}\n---\n{rendered}");
    }
}

#[test]
fn an_unindented_line_ends_the_action() {
    let compiled = compile(
        "action a (d: <path /x/*>):\n    unlink d\nallow t: true\n  \ntest allow t: true\n",
    )
    .unwrap();
    assert_eq!(compiled.policy.actions[0].1.steps.len(), 1);
    assert_eq!(compiled.policy.rules.len(), 2);
    // Indented lines elsewhere are statements as before.
    compile("allow t: true\n  test allow t: true\n").unwrap();
}

#[test]
fn explain_shows_the_steps_with_these_arguments() {
    use rootwrap_compile::explain::{explain, render, ExplainDecision};
    let compiled = compile(
        r#"
action tune (n: <int 0..100>, f: <path-entry /tmp/*>):
    sysctl "vm."swappiness n
    write f from n create mode 0600
  undo:
    unlink f
"#,
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("rw-explain-action-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("t.rwc");
    std::fs::write(&path, &compiled.bytes).unwrap();
    let argv: Vec<std::ffi::OsString> = ["@tune", "60", "/tmp/x"].iter().map(Into::into).collect();
    let explained = explain(&path, &argv);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        explained.decision,
        ExplainDecision::Allow,
        "{}",
        explained.message
    );
    assert_eq!(
        explained.steps,
        [
            "1 sysctl vm.swappiness 60",
            "2 write /tmp/x from \"60\" create",
            "undo 1 unlink /tmp/x"
        ]
    );
    let text = render(&explained);
    assert!(
        text.contains("  step:     1 sysctl vm.swappiness 60\n"),
        "{text}"
    );
    assert!(text.contains("allowed: action `tune`"), "{text}");
}
