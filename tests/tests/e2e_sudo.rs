//! End to end, as deployed: a service user runs `sudo -n rootwrap RULESET
//! CMD...` under a real sudoers line, and the command really runs (or
//! really does not) as root or as a rule's target user. Nothing is mocked.
//!
//! Needs root (to create the users and the sudoers drop-in); each test says
//! it was skipped otherwise. See tests/src/lib.rs for the set-up.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::process::Command;
use std::sync::OnceLock;

use rootwrap_tests::{
    assert_unauthorized, groups_of, parse_ids, require_root, run, run_with_stdin, set_mode, tool,
    Ran, Scratch, SudoFixture, TARGET, TARGET_GROUP,
};

/// The ruleset's exec dirs: the fixture's, then the system's.
fn exec_dirs() -> Vec<String> {
    let system = ["/usr/sbin", "/usr/bin", "/sbin", "/bin"];
    let mut dirs = vec![rootwrap_tests::exec_dir().display().to_string()];
    dirs.extend(system.map(String::from));
    dirs
}

/// The ruleset every test here runs under.
fn ruleset_source() -> String {
    let exec_dirs = exec_dirs().join(" ");
    format!(
        r#"# The ruleset of tests/tests/e2e_sudo.rs.
ruleset e2e
exec-dirs {exec_dirs}

allow id-root: id (-u | -g | -G)
# Spelled as a path: `/usr/bin/id` selects only this rule, while plain `id`
# finds id-root first (first match in declaration order wins).
allow id-target as {TARGET}: /usr/bin/id (-u | -g | -G | -ru | -rg)
allow show-env: /usr/bin/env because "test"
allow exit-with: rw-exit-with <int 0..255>
allow false: false
allow cat: cat
allow list-fds: ls /proc/self/fd
# One rule for two programs: each call runs the one it names.
allow say: (rw-say-v4 | rw-say-v6) <int 0..9>

test allow id-root: id -u
test allow id-target: /usr/bin/id -G
test deny: id -un
test deny: touch /tmp/marker
test deny: sh -c id
"#
    )
}

/// Exits with its argument, after saying so on stderr: checks that exit
/// status and stderr pass through.
const EXIT_WITH: &str = "#!/bin/sh\necho \"exit-with $1\" >&2\nexit \"$1\"\n";

/// Say which program ran: the two commands of the rule `say`.
const SAY_V4: &str = "#!/bin/sh\necho \"v4 $1\"\n";
const SAY_V6: &str = "#!/bin/sh\necho \"v6 $1\"\n";

fn fixture() -> &'static SudoFixture {
    static FIXTURE: OnceLock<SudoFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        SudoFixture::set_up(
            &ruleset_source(),
            &[
                ("rw-exit-with", EXIT_WITH),
                ("rw-say-v4", SAY_V4),
                ("rw-say-v6", SAY_V6),
            ],
        )
    })
}

#[track_caller]
fn assert_ran(ran: &Ran, code: i32, stdout: &str) {
    assert_eq!(
        (ran.code, ran.stdout_text().as_str()),
        (code, stdout),
        "stderr: {}",
        ran.stderr
    );
}

#[test]
fn an_allowed_command_runs_as_root() {
    require_root!();
    let f = fixture();
    assert_ran(&run(&mut f.sudo(&["id", "-u"])), 0, "0\n");
    assert_ran(&run(&mut f.sudo(&["id", "-g"])), 0, "0\n");
    // Without sudo, the caller gets a refusal to switch users, not root.
    let unprivileged = run(f
        .as_caller()
        .arg(&f.rootwrap)
        .arg(&f.ruleset)
        .args(["id", "-u"]));
    assert_ne!(unprivileged.code, 0, "{unprivileged:?}");
    assert!(unprivileged.stdout.is_empty(), "{unprivileged:?}");
}

/// A rule for several commands runs the one the caller names, never
/// another, and no other spelling selects it.
#[test]
fn a_rule_for_several_commands_runs_the_one_named() {
    require_root!();
    let f = fixture();
    assert_ran(&run(&mut f.sudo(&["rw-say-v4", "1"])), 0, "v4 1\n");
    assert_ran(&run(&mut f.sudo(&["rw-say-v6", "2"])), 0, "v6 2\n");
    assert_unauthorized(&run(&mut f.sudo(&["rw-say-v5", "1"])));
    let by_path = f.exec_dir.join("rw-say-v6").display().to_string();
    assert_unauthorized(&run(&mut f.sudo(&[by_path.as_str(), "1"])));
}

#[test]
fn a_rule_with_a_target_user_runs_as_that_user_with_its_groups() {
    require_root!();
    let f = fixture();
    let id = |flags: &str| run(Command::new(tool("id")).args([flags, TARGET])).stdout_text();
    let (uid, gid) = (id("-u"), id("-g"));
    assert_ne!(uid, "0\n");
    assert_ran(&run(&mut f.sudo(&["/usr/bin/id", "-u"])), 0, &uid);
    assert_ran(&run(&mut f.sudo(&["/usr/bin/id", "-ru"])), 0, &uid);
    assert_ran(&run(&mut f.sudo(&["/usr/bin/id", "-g"])), 0, &gid);
    assert_ran(&run(&mut f.sudo(&["/usr/bin/id", "-rg"])), 0, &gid);

    let groups = run(&mut f.sudo(&["/usr/bin/id", "-G"]));
    assert_eq!(groups.code, 0, "stderr: {}", groups.stderr);
    let expected = groups_of(TARGET);
    assert_eq!(parse_ids(&groups.stdout_text()), expected);
    let extra = gid_of_group(TARGET_GROUP);
    assert!(
        expected.contains(&extra),
        "{TARGET} is not in {TARGET_GROUP} ({extra}): {expected:?}"
    );
}

fn gid_of_group(group: &str) -> u32 {
    let entry = run(Command::new(tool("getent")).args(["group", group])).stdout_text();
    entry.split(':').nth(2).unwrap().trim().parse().unwrap()
}

#[test]
fn a_denied_command_exits_99_and_runs_nothing() {
    require_root!();
    let f = fixture();
    let scratch = Scratch::new("rootwrap-e2e-denied");
    let marker = scratch.join("marker");
    let marker_arg = marker.to_str().unwrap();
    // No rule for touch; no rule for a shell; a rule for id, not with -un.
    assert_unauthorized(&run(&mut f.sudo(&["touch", marker_arg])));
    let script = format!("touch {marker_arg}");
    assert_unauthorized(&run(&mut f.sudo(&["sh", "-c", &script])));
    assert_unauthorized(&run(&mut f.sudo(&["/bin/sh", "-c", &script])));
    assert_unauthorized(&run(&mut f.sudo(&["id", "-un"])));
    // Same as root, without sudo.
    assert_unauthorized(&run(&mut f.direct(&["touch", marker_arg])));
    assert!(!marker.exists(), "a denied command ran");
    // The control: touch works, so its denial is what kept the marker away.
    assert_eq!(run(Command::new(tool("touch")).arg(&marker)).code, 0);
    assert!(marker.exists());
}

#[test]
fn no_command_exits_98() {
    require_root!();
    let f = fixture();
    let none: [&str; 0] = [];
    let ran = run(&mut f.direct(&none));
    assert_eq!(ran.code, 98, "stderr: {}", ran.stderr);
    assert!(
        ran.stderr.contains("No command specified"),
        "{}",
        ran.stderr
    );
    let no_ruleset = run(Command::new(&f.rootwrap).env_clear());
    assert_eq!(no_ruleset.code, 98, "stderr: {}", no_ruleset.stderr);
    // The service user's sudoers line needs at least a command (`*`), so
    // sudo refuses this call itself; unprivileged, the runtime says 98.
    let unprivileged = run(f.as_caller().arg(&f.rootwrap).arg(&f.ruleset));
    assert_eq!(unprivileged.code, 98, "stderr: {}", unprivileged.stderr);
}

#[test]
fn the_callers_environment_never_reaches_the_command() {
    require_root!();
    let f = fixture();
    // The command's whole environment: PATH, set to the exec dirs.
    let only_path = format!("PATH={}\n", exec_dirs().join(":"));

    // A caller's PATH that would run its own `id` and `env` if it were used.
    let evil = Scratch::new("rootwrap-e2e-evil-path");
    for name in ["id", "env"] {
        fs::write(evil.join(name), "#!/bin/sh\necho hijacked\n").unwrap();
        set_mode(&evil.join(name), 0o755);
    }
    let hostile: Vec<(&str, String)> = vec![
        ("LD_PRELOAD", "/nonexistent/librootwrap-e2e-probe.so".into()),
        ("LD_LIBRARY_PATH", evil.path().display().to_string()),
        ("PATH", format!("{}:/usr/bin:/bin", evil.path().display())),
        ("RW_E2E_PROBE", "leaked".into()),
        ("HOME", "/nonexistent".into()),
    ];

    // Straight into rootwrap (as root): the runtime receives exactly these.
    let mut direct = f.direct(&["/usr/bin/env"]);
    direct.envs(hostile.iter().map(|(k, v)| (k, v)));
    assert_ran(&run(&mut direct), 0, &only_path);
    let mut direct_id = f.direct(&["id", "-u"]);
    direct_id.envs(hostile.iter().map(|(k, v)| (k, v)));
    assert_ran(&run(&mut direct_id), 0, "0\n");

    // Through sudo, with the production line (no SETENV): the caller's
    // environment is there when it calls, and sudo refuses to keep it (-E)
    // or to take assignments; what reaches the command is PATH alone.
    let mut plain = f.sudo(&["/usr/bin/env"]);
    plain.envs(hostile.iter().map(|(k, v)| (k, v)));
    assert_ran(&run(&mut plain), 0, &only_path);
    let mut preserved = f.sudo_with(&["-E"], &["/usr/bin/env"]);
    preserved.envs(hostile.iter().map(|(k, v)| (k, v)));
    let refused = run(&mut preserved);
    assert!(
        refused.code != 0 && refused.stdout.is_empty(),
        "sudo -E must be refused without SETENV: {refused:?}"
    );
    let assignments: Vec<String> = hostile.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut assigned = f.as_caller();
    assigned
        .arg(tool("sudo"))
        .arg("-n")
        .args(&assignments)
        .arg(&f.rootwrap)
        .arg(&f.ruleset)
        .arg("/usr/bin/env");
    let refused = run(&mut assigned);
    assert!(
        refused.code != 0 && refused.stdout.is_empty(),
        "sudo VAR=value must be refused without SETENV: {refused:?}"
    );

    // Nor through the command line: `env VAR=value CMD` needs a rule that
    // allows that variable.
    let smuggled = ["env", "LD_PRELOAD=/nonexistent/x.so", "/usr/bin/env"];
    assert_unauthorized(&run(&mut f.sudo(&smuggled)));
    let smuggled = ["RW_E2E_PROBE=leaked", "/usr/bin/env"];
    assert_unauthorized(&run(&mut f.sudo(&smuggled)));
}

#[test]
fn the_commands_exit_status_and_stderr_pass_through() {
    require_root!();
    let f = fixture();
    let ran = run(&mut f.sudo(&["false"]));
    assert_ran(&ran, 1, "");
    for status in ["0", "7", "42", "255"] {
        let ran = run(&mut f.sudo(&["rw-exit-with", status]));
        assert_ran(&ran, status.parse().unwrap(), "");
        // A line, not all of stderr: sudo may warn there too (e.g. about an
        // unresolvable host name).
        let said = format!("exit-with {status}");
        assert!(
            ran.stderr.lines().any(|line| line == said),
            "{}",
            ran.stderr
        );
    }
    // Out of the rule's range: refused, not run.
    assert_unauthorized(&run(&mut f.sudo(&["rw-exit-with", "256"])));
}

#[test]
fn stdin_and_stdout_pass_through() {
    require_root!();
    let f = fixture();
    // Every byte value, and more than a pipe buffer holds.
    let input: Vec<u8> = (0..=255u8).cycle().take(1 << 20).collect();
    let ran = run_with_stdin(&mut f.sudo(&["cat"]), &input);
    assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);
    assert!(ran.stdout == input, "cat's output differs from its input");
}

/// `ls /proc/self/fd` lists ls's own descriptors: 0, 1 and 2, and 3, the
/// directory it opened to list them (the lowest free number). A descriptor
/// inherited from the caller would show up as well.
#[test]
fn descriptors_above_2_are_closed() {
    require_root!();
    let f = fixture();
    // The shell opens descriptor 5 (without close-on-exec) and execs the
    // rest of its arguments, which inherit it.
    let with_fd_5 = |command: &mut Command| {
        command.args(["-c", r#"exec 5</dev/null; exec "$@""#, "sh"]);
    };
    let listed = |ran: &Ran| {
        assert_eq!(ran.code, 0, "stderr: {}", ran.stderr);
        parse_ids(&ran.stdout_text())
    };

    // The control: without rootwrap, ls sees descriptor 5.
    let mut control = Command::new(tool("sh"));
    with_fd_5(&mut control);
    control.arg(tool("ls")).arg("/proc/self/fd");
    assert!(listed(&run(&mut control)).contains(&5));

    // rootwrap run directly with descriptor 5 open.
    let mut direct = Command::new(tool("sh"));
    with_fd_5(&mut direct);
    direct
        .env_clear()
        .arg(&f.rootwrap)
        .arg(&f.ruleset)
        .args(["ls", "/proc/self/fd"]);
    assert_eq!(listed(&run(&mut direct)), [0, 1, 2, 3]);

    // The caller opens it before sudo (sudo closes it too, by default).
    let mut sudo = f.as_caller();
    sudo.arg(tool("sh"));
    with_fd_5(&mut sudo);
    sudo.arg(tool("sudo"))
        .arg("-n")
        .arg(&f.rootwrap)
        .arg(&f.ruleset)
        .args(["ls", "/proc/self/fd"]);
    assert_eq!(listed(&run(&mut sudo)), [0, 1, 2, 3]);
}

/// Sudo's `*` in the production line matches spaces and slashes too, so the
/// caller can pass `RULESET /../OTHER.rwc` as the ruleset path; where a
/// directory `RULESET ` exists, that path would reach another ruleset. Only
/// an absolute, canonical path is opened; anything else exits 97 first.
#[test]
fn a_ruleset_path_that_is_not_canonical_is_refused() {
    require_root!();
    let f = fixture();
    let other = SudoFixture::set_up_named(
        "e2e-other",
        "ruleset e2e-other\nexec-dirs /usr/bin /bin\nallow whoami: whoami\n",
        &[],
    );
    // The directory the detour needs; only root can make it (the test
    // plays a careless root).
    let detour = std::path::PathBuf::from(format!("{} ", f.ruleset.display()));
    let _ = fs::create_dir(&detour);
    struct Remove(std::path::PathBuf);
    impl Drop for Remove {
        fn drop(&mut self) {
            let _ = fs::remove_dir(&self.0);
        }
    }
    let _remove = Remove(detour);
    let other_name = other.ruleset.file_name().unwrap().to_str().unwrap();
    let sneaky = format!("{} /../{other_name}", f.ruleset.display());
    let mut call = f.as_caller();
    call.arg(tool("sudo"))
        .arg("-n")
        .arg(&f.rootwrap)
        .arg(&sneaky)
        .arg("whoami");
    let ran = run(&mut call);
    assert_eq!(
        (ran.code, ran.stdout_text().as_str()),
        (97, ""),
        "stderr: {}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains(&format!(
            "rootwrap: {sneaky}: the ruleset path holds whitespace or a control character"
        )),
        "{}",
        ran.stderr
    );

    // As root, without sudo: relative, dotted and doubled-slash forms.
    let dir = f.ruleset.parent().unwrap().display().to_string();
    let name = f.ruleset.file_name().unwrap().to_str().unwrap();
    for (path, why) in [
        (name.to_string(), "is not absolute"),
        (format!("{dir}/./{name}"), "has a `.` or `..` component"),
        (
            format!(
                "{dir}/../{}/{name}",
                f.ruleset
                    .parent()
                    .unwrap()
                    .file_name()
                    .unwrap()
                    .to_str()
                    .unwrap()
            ),
            "has a `.` or `..` component",
        ),
        (format!("{dir}//{name}"), "repeats `/`"),
    ] {
        let ran = run(Command::new(&f.rootwrap)
            .env_clear()
            .current_dir(&dir)
            .arg(&path)
            .args(["id", "-u"]));
        assert_eq!(ran.code, 97, "{path}: {}", ran.stderr);
        assert!(
            ran.stderr
                .contains(&format!("{path}: the ruleset path {why}")),
            "{path}: {}",
            ran.stderr
        );
        assert!(ran.stdout.is_empty(), "{path} ran something");
    }
}
