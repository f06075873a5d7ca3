//! The command line's safety and its messages: `-o` never replaces an
//! input, `import-oslo -o DIR` never writes over files it did not write,
//! `--source-root` makes the ruleset independent of the build directory,
//! a mistyped subcommand gets "did you mean", and diagnostics come as JSON
//! or in colour on a terminal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

#[path = "../../tests/src/prerequisite.rs"]
mod prerequisite;

const RULES: &str = "ruleset t\nexec-dirs /usr/bin /bin\nallow ls: ls -l\nallow ls-any: ls ...\n";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rw-cli-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rootwrap-compile"))
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn output_never_replaces_an_input() {
    let dir = scratch("output");
    fs::write(dir.join("t.rwf"), RULES).unwrap();
    fs::create_dir(dir.join("d")).unwrap();
    fs::write(dir.join("d/t.rwf"), RULES).unwrap();
    for (output, inputs) in [
        ("t.rwf", vec!["t.rwf"]),
        ("./t.rwf", vec!["t.rwf"]),
        // An input found in a directory.
        ("d/t.rwf", vec!["d"]),
    ] {
        let mut args = vec!["-o", output];
        args.extend(inputs);
        let out = run(&dir, &args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("would overwrite the input"),
            "{}",
            stderr(&out)
        );
    }
    assert_eq!(fs::read_to_string(dir.join("t.rwf")).unwrap(), RULES);
    assert_eq!(fs::read_to_string(dir.join("d/t.rwf")).unwrap(), RULES);
    let out = run(&dir, &["-o", "t.rwc", "t.rwf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Replacing an earlier ruleset is fine.
    let out = run(&dir, &["-o", "t.rwc", "t.rwf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn import_oslo_writes_only_where_it_may() {
    let dir = scratch("import");
    fs::write(
        dir.join("nova.filters"),
        "[Filters]\nkill: KillFilter, root, /bin/kill, -9\n",
    )
    .unwrap();
    let import = |args: &[&str]| {
        let mut all = vec!["import-oslo", "-o", "out"];
        all.extend(args);
        all.push("nova.filters");
        run(&dir, &all)
    };
    assert_eq!(import(&[]).status.code(), Some(0));
    let written = fs::read_to_string(dir.join("out/nova.rwf")).unwrap();
    // Again: the directory is not empty.
    let out = import(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is not empty"), "{}", stderr(&out));
    // With --force: replaces its own files, leaves others in place.
    fs::write(dir.join("out/local.rwf"), "# mine\n").unwrap();
    let out = import(&["--force"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("left in place"), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(dir.join("out/local.rwf")).unwrap(),
        "# mine\n"
    );
    // A file of an output's name that an import did not write stays.
    fs::write(dir.join("out/nova.rwf"), "# edited by hand\n").unwrap();
    let out = import(&["--force"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("was not written by import-oslo"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        fs::read_to_string(dir.join("out/nova.rwf")).unwrap(),
        "# edited by hand\n"
    );
    fs::write(dir.join("out/nova.rwf"), &written).unwrap();
    assert_eq!(import(&["--force"]).status.code(), Some(0));
}

#[test]
fn source_root_makes_the_ruleset_independent_of_the_build_directory() {
    let dir = scratch("root");
    for build in ["build-a", "build-b/tmp"] {
        fs::create_dir_all(dir.join(build).join("filters")).unwrap();
        fs::write(dir.join(build).join("filters/nova.rwf"), RULES).unwrap();
    }
    let compile = |build: &str, rooted: bool| {
        let input = format!("{build}/filters");
        let output = format!("{}.rwc", build.replace('/', "-"));
        let mut args = vec!["-o", &output, &input];
        if rooted {
            args.extend(["--source-root", build]);
        }
        let out = run(&dir, &args);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        fs::read(dir.join(&output)).unwrap()
    };
    // Without it, the build directory is recorded.
    assert_ne!(compile("build-a", false), compile("build-b/tmp", false));
    let a = compile("build-a", true);
    assert_eq!(a, compile("build-b/tmp", true));
    let ruleset = rootwrap::format::Ruleset::from_bytes(&a).unwrap();
    let rules = ruleset.rules_for(b"ls").unwrap();
    assert_eq!(rules[0].source.file, "filters/nova.rwf");
    // Diagnostics name the files the same way.
    assert!(stderr(&run(
        &dir,
        &["check", "build-a/filters", "--source-root", "build-a"]
    ))
    .contains("--> filters/nova.rwf:4:"));
    // An input outside the root is an error, not an absolute path recorded.
    let out = run(
        &dir,
        &["check", "build-a/filters", "--source-root", "build-b"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is not under the source root"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_mistyped_subcommand_gets_did_you_mean() {
    let dir = scratch("subcommand");
    for (word, expected) in [
        (
            "explian",
            "unknown subcommand `explian`: did you mean `explain`?",
        ),
        ("chek", "did you mean `check`?"),
        ("import-osl", "did you mean `import-oslo`?"),
        ("frobnicate", "`frobnicate` is neither a subcommand"),
    ] {
        let out = run(&dir, &[word, "x"]);
        assert_eq!(out.status.code(), Some(2), "{word}");
        assert!(stderr(&out).contains(expected), "{word}: {}", stderr(&out));
        assert!(!stderr(&out).contains("--output"), "{}", stderr(&out));
    }
    // A file of that name is an input, as before.
    fs::write(dir.join("chek"), RULES).unwrap();
    let out = run(&dir, &["check", "chek"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn message_format_json_prints_one_object_per_diagnostic() {
    let dir = scratch("json");
    fs::write(dir.join("t.rwf"), format!("{RULES}allow bad ls\n")).unwrap();
    let out = run(&dir, &["check", "--message-format", "json", "t.rwf"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout.clone()).unwrap();
    let objects: Vec<serde_json::Value> = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(objects.len(), 2, "{stdout}");
    let error = &objects[0];
    assert_eq!(error["severity"], "error");
    assert_eq!(error["message"], "expected `:` after the rule name `bad`");
    assert_eq!(error["file"], "t.rwf");
    assert_eq!(error["line"], 5);
    assert_eq!(error["column"], 11);
    assert_eq!(error["code"], serde_json::Value::Null);
    let warning = &objects[1];
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["code"], "any-args");
    assert_eq!(warning["line"], 4);
    assert!(warning["help"].as_str().unwrap().contains("because"));
    // The summary stays on stderr; no diagnostic text there.
    assert_eq!(
        stderr(&out),
        "rootwrap-compile: 1 error(s); no ruleset written\n"
    );
}

/// Colour only on a terminal (`script` gives the command one), and not
/// with `NO_COLOR` set.
#[test]
fn colour_on_a_terminal_unless_no_colour() {
    if Command::new("script").arg("--version").output().is_err() {
        prerequisite::missing("`script` (util-linux) gives the compiler a terminal");
        return;
    }
    let dir = scratch("colour");
    fs::write(dir.join("t.rwf"), RULES).unwrap();
    let compiler = env!("CARGO_BIN_EXE_rootwrap-compile");
    let on_terminal = |no_colour: Option<&str>| {
        let mut command = Command::new("script");
        command
            .args(["-qec", &format!("{compiler} check t.rwf"), "/dev/null"])
            .current_dir(&dir)
            .env_remove("NO_COLOR");
        if let Some(value) = no_colour {
            command.env("NO_COLOR", value);
        }
        String::from_utf8_lossy(&command.output().unwrap().stdout).into_owned()
    };
    let coloured = on_terminal(None);
    assert!(
        coloured.contains("\x1b[1;33mwarning[any-args]:\x1b[0m"),
        "{coloured:?}"
    );
    let plain = on_terminal(Some("1"));
    assert!(plain.contains("warning[any-args]:"), "{plain:?}");
    assert!(!plain.contains('\x1b'), "{plain:?}");
    // An empty NO_COLOR does not count (no-color.org).
    assert!(on_terminal(Some("")).contains('\x1b'));
    // Not a terminal: plain.
    assert!(!stderr(&run(&dir, &["check", "t.rwf"])).contains('\x1b'));
}

/// `explain` says when the runtime would refuse every call because an
/// audit log target cannot be opened, and with `on-log-failure continue`
/// that it would go on without it.
#[test]
fn explain_warns_when_the_audit_log_cannot_be_opened() {
    let dir = scratch("explain-log");
    let explain = |log: &str| {
        let source = format!("ruleset t\nexec-dirs /usr/bin /bin\n{log}\nallow ls: ls -l\n");
        fs::write(dir.join("t.rwf"), source).unwrap();
        let out = run(&dir, &["-o", "t.rwc", "t.rwf"]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let out = run(&dir, &["explain", "--json", "t.rwc", "--", "ls", "-l"]);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let missing = dir.join("missing/audit.jsonl");
    let warnings = explain(&format!("log json {}", missing.display()));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(&format!("cannot open the audit log {}", missing.display()))
            && warnings[0]
                .ends_with("the runtime would refuse every call (exit 97, on-log-failure refuse)"),
        "{warnings:?}"
    );
    let warnings = explain(&format!(
        "log json {}\non-log-failure continue",
        missing.display()
    ));
    assert!(
        warnings[0]
            .ends_with("the runtime would go on without this log target (on-log-failure continue)"),
        "{warnings:?}"
    );
    // A file the runtime would refuse: not root's (made so when root).
    let file = dir.join("audit.jsonl");
    fs::write(&file, "").unwrap();
    if rootwrap_is_root() {
        std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
    }
    let warnings = explain(&format!("log json {}", file.display()));
    assert!(warnings[0].contains("is owned by uid"), "{warnings:?}");
    // A file yet to be created in an existing directory: no warning.
    let fresh = dir.join("fresh.jsonl");
    assert_eq!(
        explain(&format!("log json {}", fresh.display())),
        Vec::<String>::new()
    );
    // Syslog: warned exactly when /dev/log takes no connection here.
    let reachable = std::os::unix::net::UnixDatagram::unbound()
        .and_then(|socket| socket.connect("/dev/log"))
        .is_ok();
    let warnings = explain("log syslog");
    assert_eq!(
        warnings
            .iter()
            .any(|w| w.starts_with("cannot reach syslog at /dev/log")),
        !reachable,
        "{warnings:?}"
    );
}

fn rootwrap_is_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// `--deny-warnings` fails on a warning, and a lint silenced by
/// `because LINT "WHY"` stays silent under it.
#[test]
fn deny_warnings_and_because_lint() {
    let dir = scratch("deny");
    let head = "ruleset t\nexec-dirs /usr/bin /bin\nallow ls-any: ls ... because \"read-only\"\n";
    fs::write(dir.join("warned.rwf"), format!("{head}allow ls-l: ls -l\n")).unwrap();
    fs::write(
        dir.join("silenced.rwf"),
        format!("{head}allow ls-l: ls -l because shadowed \"kept for the old agent\"\n"),
    )
    .unwrap();
    let out = run(&dir, &["check", "--deny-warnings", "warned.rwf"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning[shadowed]"),
        "{}",
        stderr(&out)
    );
    let out = run(&dir, &["check", "--deny-warnings", "silenced.rwf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Quoted, `because` is an argument like any other.
    fs::write(
        dir.join("quoted.rwf"),
        "ruleset t\nexec-dirs /usr/bin /bin\nallow echo: echo \"because\" x \"y\"\ntest allow echo: echo because x y\n",
    )
    .unwrap();
    let out = run(&dir, &["check", "quoted.rwf"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// `explain` names the deny rule that denies a call (directly, or on the
/// command line a `then allowed` rule chains to), and the disabled rule
/// that alone matches one, with the `disable`'s reason.
#[test]
fn explain_names_deny_rules_and_disabled_rules() {
    let dir = scratch("explain-overrides");
    let data = dir.join("data");
    fs::create_dir_all(&data).unwrap();
    for name in ["open", "secret"] {
        fs::write(data.join(name), "x").unwrap();
    }
    let data = data.display();
    fs::write(
        dir.join("packaged.rwf"),
        format!(
            "ruleset t\nexec-dirs /usr/bin /bin\nallow cat-data: cat <path {data}/*>\n\
             allow head-data: head <path {data}/*>\nallow nice: nice -n5 then allowed\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("site.rwf"),
        format!(
            "deny no-secret: cat <path {data}/secret>\n\
             disable head-data because \"not here\"\n"
        ),
    )
    .unwrap();
    let out = run(&dir, &["-o", "t.rwc", "packaged.rwf", "site.rwf"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let explain = |argv: &[&str]| {
        let mut args = vec!["explain", "--json", "t.rwc", "--"];
        args.extend(argv);
        let out = run(&dir, &args);
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (out.status.code(), json)
    };
    let secret = format!("{data}/secret");
    for argv in [
        vec!["cat", secret.as_str()],
        vec!["nice", "-n5", "cat", secret.as_str()],
    ] {
        let (code, json) = explain(&argv);
        assert_eq!(code, Some(99), "{json}");
        assert_eq!(json["decision"], "deny", "{json}");
        assert_eq!(json["rule"]["name"], "no-secret", "{json}");
        assert_eq!(json["rule"]["effect"], "deny", "{json}");
        assert_eq!(json["rule"]["file"], "site.rwf", "{json}");
        let message = json["message"].as_str().unwrap();
        assert!(
            message.starts_with("denied by deny rule `no-secret` (site.rwf:1)"),
            "{message}"
        );
    }
    let open = format!("{data}/open");
    let (code, json) = explain(&["head", open.as_str()]);
    assert_eq!(code, Some(99), "{json}");
    assert_eq!(json["rule"]["name"], "head-data", "{json}");
    assert_eq!(json["rule"]["effect"], "disabled", "{json}");
    let message = json["message"].as_str().unwrap();
    assert!(
        message.contains("is disabled (site.rwf:2): not here"),
        "{message}"
    );
    let (code, json) = explain(&["cat", open.as_str()]);
    assert_eq!(code, Some(0), "{json}");
    assert_eq!(json["rule"]["effect"], "allow", "{json}");
    let _ = fs::remove_dir_all(&dir);
}
