//! The language, construct by construct: what parses, what it lowers to,
//! and the exact shape of each error and warning.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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

fn only_rule(text: &str) -> rootwrap::Rule {
    let compiled = compile(&format!("{HEAD}{text}")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(compiled.policy.rules.len(), 1);
    compiled.policy.rules[0].rule.clone()
}

/// The rule's items, each of which must be a single-argument pattern.
fn ones(rule: &rootwrap::Rule) -> Vec<Arg> {
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
                    depth: PathDepth::Exactly
                },
                PathScope {
                    base: "/x".into(),
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
fn syntax_errors_point_at_the_spot_and_every_bad_line_is_reported() {
    let text = format!(
        "{HEAD}allow ok: ls\nallow bad ls\nallow x: ls (a | b\nallow fine: ls -l\ntest maybe: ls\n"
    );
    let rendered = errors(&text);
    assert_eq!(rendered.matches("error: ").count(), 3, "{rendered}");
    assert!(
        rendered.contains("error: expected `as USER` or something else, found `l`")
            || rendered.contains("--> t.rwf:4:11"),
        "{rendered}"
    );
    assert!(rendered.contains("--> t.rwf:4:"), "{rendered}");
    assert!(rendered.contains("--> t.rwf:5:"), "{rendered}");
    assert!(rendered.contains("--> t.rwf:7:6"), "{rendered}");
    assert!(rendered.contains("7 | test maybe: ls"), "{rendered}");
    assert!(rendered.contains("  |      ^ here"), "{rendered}");
    assert!(rendered.contains("= help:"), "{rendered}");
}

#[test]
fn special_characters_suggest_quoting() {
    let rendered = errors(&format!("{HEAD}allow r: echo a|b\n"));
    assert!(rendered.contains("quote the argument"), "{rendered}");
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
    let rendered = errors(&format!("{HEAD}allow r: echo \"bad\\q\"\n"));
    assert!(
        rendered.contains("error: unknown escape `\\q`"),
        "{rendered}"
    );
    assert!(rendered.contains("known escapes"), "{rendered}");
}

fn assert_error(body: &str, message: &str, hint: &str) {
    let rendered = errors(&format!("{HEAD}{body}\n"));
    assert!(
        rendered.contains(message),
        "missing `{message}` in:\n{rendered}"
    );
    assert!(
        rendered.contains(hint),
        "missing hint `{hint}` in:\n{rendered}"
    );
    assert!(
        rendered.contains("--> t.rwf:") || !rendered.contains("-->"),
        "{rendered}"
    );
}

#[test]
fn validation_errors() {
    assert_error(
        "allow a: ls\nallow a: ls -l",
        "error: rule `a` is defined twice",
        "first defined here",
    );
    assert_error(
        "exec-dir /bin",
        "error: unknown option `exec-dir`",
        "did you mean `exec-dirs`?",
    );
    assert_error(
        "alow r: ls",
        "error: unknown option `alow`",
        "did you mean `allow`?",
    );
    assert_error(
        "allow r: ls <uuidd>",
        "error: unknown type `<uuidd>`",
        "did you mean `<uuid>`?",
    );
    assert_error(
        "allow r: ls <int 5..1>",
        "error: the range is empty",
        "here",
    );
    assert_error(
        "allow r: ls <int 1-5>",
        "error: `1-5` is not an integer range",
        "<int MIN..MAX>",
    );
    assert_error(
        "allow r: ls <int 1.. | 2..>",
        "error: `<int>` takes at most one range",
        "here",
    );
    assert_error(
        "allow r: ls <mode 999>",
        "error: `999` is not an octal mode",
        "octal digits",
    );
    assert_error(
        "allow r: ls <signal FOO>",
        "error: `FOO` is not a signal",
        "SIGKILL",
    );
    assert_error(
        "allow r: kill <int as root>",
        "error: `<int>` takes no `as USER`",
        "only `<pid ... as USER>`",
    );
    assert_error(
        "allow r: kill <pid as root>",
        "error: `<pid>` needs the executables the process may run",
        "here",
    );
    assert_error(
        "allow r: kill <pid sleep as ro:ot>",
        "error: `ro:ot` is not a valid user name",
        "here",
    );
    assert_error(
        "allow r: ls <uuid x>",
        "error: `<uuid>` takes no arguments",
        "unexpected",
    );
    assert_error(
        "allow r: ls <path>",
        "error: `<path>` needs at least one allowed location",
        "any depth",
    );
    assert_error(
        "allow r: ls <path var/lib>",
        "error: path `var/lib` is not absolute",
        "here",
    );
    assert_error(
        "allow r: ls <path /var/../etc/**>",
        "error: path `/var/../etc/**` is not normalized",
        "here",
    );
    assert_error(
        "allow r: ls <path /var/*/x>",
        "`*` and `**` may only end a path",
        "DIR/**",
    );
    assert_error(
        "allow r: bin/ls",
        "error: command `bin/ls` is a relative path",
        "absolute path",
    );
    assert_error(
        "allow r: /usr//bin/ls",
        "error: command path `/usr//bin/ls` is not normalized",
        "here",
    );
    assert_error(
        "allow r: env ls",
        "error: `env` cannot be a rule's command",
        "env NAME=PATTERN",
    );
    assert_error(
        "allow r: env PATH=/x ls",
        "error: a rule may not let the caller set `PATH`",
        "the runtime sets it",
    );
    assert_error(
        "allow r: env LD_FOO=x ls",
        "error: a rule may not let the caller set `LD_FOO`",
        "loader",
    );
    assert_error(
        "allow r: env A=x A=y ls",
        "error: variable `A` is listed twice",
        "again",
    );
    assert_error(
        "allow r: ls re\"(\"",
        "error: invalid regex `(`",
        "this regular expression",
    );
    assert_error(
        "allow r: ls re\"x\"i",
        "error: unknown regex flag `i`",
        "(?i)",
    );
    assert_error("allow r as -x: ls", "error:", "here");
    assert_error(
        "exec-dirs /sbin",
        "error: `exec-dirs` is set twice, with different values",
        "first set here",
    );
    assert_error(
        "exec-dirs /usr/bin /bin\nexec-dirs /usr/bin /bin\nallow r: ls\ntest allow rr: ls",
        "error: the test names rule `rr`, which does not exist",
        "did you mean `r`?",
    );
}

#[test]
fn more_validation_errors() {
    assert_error(
        "allow r: ls re\"[a-z]+)|(?:.*\"",
        "error: invalid regex `[a-z]+)|(?:.*`",
        "this regular expression",
    );
    assert_error(
        "allow r: env GCONV_PATH=/x ls",
        "error: a rule may not let the caller set `GCONV_PATH`",
        "the C library",
    );
    let rendered = errors("ruleset t\nexec-dirs /usr/bin /opt/tools:/tmp/evil\n");
    assert!(
        rendered.contains("error: exec dir `/opt/tools:/tmp/evil` contains `:`"),
        "{rendered}"
    );
    assert_error(
        "allow r: ls <mode 0700..0644>",
        "error: the mode range 0700..0644 is empty",
        "bits that must be set",
    );
    assert_error(
        "allow r: env A=(x y | z) ls",
        "error: the value of `A` must be one pattern",
        "alternatives of single patterns",
    );
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
fn oversized_regexes_are_refused_with_their_text() {
    let rendered = errors(&format!(
        "{HEAD}allow r: ls re\"[a-z]{{1,60}}x[a-z]{{200}}[0-9a-f]{{300}}(a|b|c|d)*[^x]{{250}}\"\n"
    ));
    assert!(rendered.contains("is too big"), "{rendered}");
    assert!(rendered.contains("[a-z]{1,60}"), "{rendered}");
}

#[test]
fn missing_options() {
    let rendered = errors("allow r: /bin/ls\n");
    assert!(
        rendered.contains("error: no `ruleset NAME` in any input file"),
        "{rendered}"
    );
    let rendered = errors("ruleset t\nallow r: ls\n");
    assert!(
        rendered.contains("error: no `exec-dirs` in any input file"),
        "{rendered}"
    );
    assert!(
        rendered.contains("rule `r` names its command `ls` without a path"),
        "{rendered}"
    );
    // Absolute commands need exec dirs too: they are the commands' PATH.
    assert!(errors("ruleset t\nallow r: /bin/ls\n").contains("no `exec-dirs`"));
}

#[test]
fn policy_tests_fail_the_compile_with_reasons() {
    let rendered = errors(&format!(
        "{HEAD}allow r: ls <path /var/lib/x/**>\ntest allow r: ls /etc/shadow\n"
    ));
    assert!(
        rendered.contains(
            "error: policy test failed: `ls /etc/shadow` must be allowed, but no rule allows it"
        ),
        "{rendered}"
    );
    assert!(
        rendered.contains(
            "rule `r` (t.rwf:3): argument 1 `/etc/shadow` does not match <path /var/lib/x/**>"
        ),
        "{rendered}"
    );

    let rendered = errors(&format!(
        "{HEAD}allow r: ls ...  because \"t\"\ntest deny: ls /etc/shadow\n"
    ));
    assert!(
        rendered.contains("must be denied, but rule `r` allows it"),
        "{rendered}"
    );

    let rendered = errors(&format!(
        "{HEAD}allow a: ls -l\nallow b: ls -l\ntest allow b: ls -l\n"
    ));
    assert!(
        rendered.contains("is allowed by rule `a`, not by `b`"),
        "{rendered}"
    );

    let ok = compile(&format!(
        "{HEAD}allow a: ls -l\ntest allow a: ls -l\ntest allow: ls -l\ntest deny: ls -la\n"
    ))
    .unwrap();
    assert_eq!(ok.tests_run, 3);
}

#[test]
fn pinned_path_lints() {
    // Programs that turn `/proc/self/fd/N` back into a path by name.
    let shown = warnings(&format!("{HEAD}allow r: losetup -f <path /srv/**>\n"));
    assert!(
        shown.contains("warning[pin-defeated]: rule `r`: `losetup` resolves"),
        "{shown}"
    );
    let shown = warnings(&format!("{HEAD}allow r: mount -t nfs x:/y <path /srv/*>\n"));
    assert!(shown.contains("warning[pin-defeated]"), "{shown}");
    assert!(shown.contains("require `-c`"), "{shown}");
    for quiet in [
        "mount -c -t nfs x:/y <path /srv/*>",
        "umount -l --no-canonicalize <path /srv/*>",
        "losetup -f <path-unpinned /srv/**>",
    ] {
        let shown = warnings(&format!("{HEAD}allow r: {quiet}\n"));
        assert!(shown.is_empty(), "{quiet}: {shown}");
    }
    // An entry whose name the program follows.
    for loud in [
        "chown nova <path-entry /srv/**>",
        "cp -- <path /srv/**> <path-entry /srv/**>",
        "cp -T -- <path /srv/**> <path-entry /srv/**>",
        "ln -s x <path-entry /srv/**>",
        "tee <path-entry /srv/**>",
    ] {
        let shown = warnings(&format!("{HEAD}allow r: {loud}\n"));
        assert!(shown.contains("warning[entry-follows]"), "{loud}: {shown}");
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
    // An unpinned scope under a directory others can write, on this host.
    let shown = warnings(&format!(
        "{HEAD}allow r: losetup -f <path-unpinned /tmp/**>\n"
    ));
    assert!(
        shown.contains("warning[unpinned-writable]") && shown.contains("/tmp"),
        "{shown}"
    );
    let shown = warnings(&format!(
        "{HEAD}allow r: losetup -f <path-unpinned /usr/lib/**>\n"
    ));
    assert!(shown.is_empty(), "{shown}");
}

#[test]
fn lints_warn_and_because_silences_them() {
    let shown = warnings(&format!("{HEAD}allow r: chown ...\n"));
    assert!(
        shown.contains("warning[any-args]: rule `r` allows any arguments"),
        "{shown}"
    );
    assert!(
        shown.contains("`chown` with free arguments is as good as root"),
        "{shown}"
    );
    let shown = warnings(&format!("{HEAD}allow r: chown <any> <any>\n"));
    assert!(
        shown.contains("warning[any-arg]: rule `r` lets `chown` take an unrestricted argument"),
        "{shown}"
    );
    let shown = warnings(&format!("{HEAD}allow r: chown nova re\".*\"\n"));
    assert!(shown.contains("warning[any-arg]"), "{shown}");
    let shown = warnings(&format!("{HEAD}allow r: echo <any>\n"));
    assert!(shown.is_empty(), "{shown}");
    let shown = warnings(&format!(
        "{HEAD}allow outer: env A=<int> nice -n <int 0..19> then allowed\nallow inner: env A=<int> printenv\n"
    ));
    assert!(
        shown.contains(
            "warning[dead-chain]: rule `outer` can never chain into rule `inner`: both set `A`"
        ),
        "{shown}"
    );
    let shown = warnings(&format!("{HEAD}allow r: bash -c x\n"));
    assert!(
        shown.contains("warning[code-runner]: rule `r` runs `bash`"),
        "{shown}"
    );
    let shown = warnings(&format!("{HEAD}allow r: cat re\"/var/log/.*\"\n"));
    assert!(shown.contains("warning[regex-path]"), "{shown}");
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
    assert!(rendered.contains("rule `a` is defined twice"), "{rendered}");
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
fn broad_env_values_warn_and_tight_ones_do_not() {
    for value in [
        "<any>",
        "<operand>",
        "<path /etc/svc/**>",
        "re\".*\"",
        "re\"[^ ]+\"",
        "re\"[a-z/]+\"",
        "(a | <any>)",
        "--x=<any>",
    ] {
        let shown = warnings(&format!("{HEAD}allow r: env A={value} ls\n"));
        assert!(
            shown.contains("warning[any-env]: rule `r` lets the caller set `A` to nearly anything"),
            "{value}: {shown}"
        );
    }
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
    use rootwrap::matcher::{match_rule, Context, Invocation, Mismatch};
    use rootwrap::types::MAX_MATCH_STEPS;
    use std::ffi::OsString;

    // The review's example: 12 optional items; the runtime denied the
    // legitimate `echo 1 2 3 4 5 6 end` with "needs too many steps".
    let twelve = format!(
        "{HEAD}allow echo: echo {{ {}}} end\n",
        "[<any>] ".repeat(12)
    );
    let rendered = errors(&twelve);
    assert!(
        rendered.contains(&format!(
            "error: rule `echo` can need 24589 matching steps; the runtime gives up after {MAX_MATCH_STEPS}"
        )),
        "{rendered}"
    );
    assert!(
        rendered.contains("make items of an any-order group required"),
        "{rendered}"
    );

    // Exactly at the limit: compiles, and the worst call is decided.
    let pairs = (MAX_MATCH_STEPS as usize - 11 * 1024 - 12) / 2;
    assert_eq!(2 * pairs + 11 * 1024 + 12, MAX_MATCH_STEPS as usize);
    let compiled = compile(&steps_rule(pairs, false)).unwrap_or_else(|e| panic!("{e}"));
    let mut argv: Vec<OsString> = vec!["echo".into(), "a".into(), "b".into()];
    argv.extend((1..=11).map(|i| OsString::from(i.to_string())));
    argv.push("end".into());
    let ruleset = rootwrap::format::Ruleset::from_bytes(&compiled.bytes).unwrap();
    assert!(matches!(
        ruleset.decide(&argv, false).unwrap(),
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
    let no_lookup = |_: &[u8]| Ok(Vec::new());
    let ctx = Context::new(&[], &no_lookup, false);
    let call = Invocation::parse(&argv).unwrap();
    assert_eq!(
        match_rule(&rule, &call, &ctx).err(),
        Some(Mismatch::TooComplex)
    );
}

#[test]
fn a_rule_after_one_with_another_target_user_warns() {
    let shown = warnings(&format!(
        "{HEAD}allow a as nobody: /opt/missing/id -u\nallow b: id -u\n"
    ));
    assert!(
        shown.contains(
            "warning[other-user]: rule `b` (as root) follows rule `a` (as nobody) for the same command"
        ),
        "{shown}"
    );
    assert!(
        shown.contains("refused (exit 96), not passed to this rule"),
        "{shown}"
    );
    assert!(shown.contains("`a` is declared here"), "{shown}");
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
    // Variable items may overlap: warned.
    let shown = warnings(&format!(
        "{HEAD}allow a as nobody: id [-u] <user>\nallow b: id -u root\n"
    ));
    assert!(shown.contains("warning[other-user]"), "{shown}");
}
