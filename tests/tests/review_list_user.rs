//! `rootwrap-compile list --user USER`: what a user can reach of a ruleset
//! through sudo, as sudo itself says (`sudo -l -U USER`), with the real
//! sudoers lines the fixture installs. Needs root (`sudo -l -U` does).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use rootwrap_tests::{binaries, fixture_name, require_root, run, tool, SudoFixture};

fn ruleset() -> &'static str {
    "ruleset review-list
exec-dirs /usr/sbin /usr/bin /sbin /bin
daemon groups=rw-extra

allow id-user: id -u
allow id-name as nobody: id -un
allow ls-root: ls /
"
}

/// A sudoers drop-in of this test's own, checked by visudo before it is
/// put in place (a broken one would break sudo), removed when dropped.
struct DropIn(PathBuf);

impl DropIn {
    fn install(name: &str, text: &str) -> DropIn {
        let path = Path::new("/etc/sudoers.d").join(format!("{}-{name}", fixture_name()));
        // A leading dot: sudo ignores it while it is checked.
        let staged = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        fs::write(&staged, text).unwrap();
        fs::set_permissions(&staged, fs::Permissions::from_mode(0o440)).unwrap();
        let checked = run(Command::new(tool("visudo")).arg("-cf").arg(&staged));
        if checked.code != 0 {
            let _ = fs::remove_file(&staged);
            panic!("visudo rejects {text:?}: {}", checked.stderr);
        }
        fs::rename(&staged, &path).unwrap();
        DropIn(path)
    }
}

impl Drop for DropIn {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

fn list(user: &str, ruleset: &Path) -> serde_json::Value {
    let listed = run(Command::new(&binaries().compile)
        .args(["list", "--json", "--user", user])
        .arg(ruleset));
    assert_eq!(listed.code, 0, "{}", listed.stderr);
    serde_json::from_slice(&listed.stdout).unwrap()
}

fn names(listing: &serde_json::Value) -> Vec<&str> {
    listing["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

#[test]
fn list_user_shows_what_sudo_lets_the_user_reach() {
    require_root!();
    let f = SudoFixture::set_up_named("review-list", ruleset(), &[]);
    let ruleset = f.ruleset.display().to_string();

    // The caller's line, `rootwrap RULESET *`: every rule.
    let caller = list("rw-caller", &f.ruleset);
    assert_eq!(names(&caller), ["id-user", "id-name", "ls-root"]);
    let line = format!("(root) NOPASSWD: {} {ruleset} *", f.rootwrap.display());
    assert_eq!(caller["user"]["grants"], serde_json::json!([line]));
    assert_eq!(caller["rules"][0]["grants"], serde_json::json!([line]));

    // A line that allows only `id`: the `id` rules, not `ls`.
    let _id_only = DropIn::install(
        "review-list-id",
        &format!(
            "nobody ALL = (root) NOPASSWD: {} {ruleset} id *\n",
            f.rootwrap.display()
        ),
    );
    let nobody = list("nobody", &f.ruleset);
    assert_eq!(names(&nobody), ["id-user", "id-name"]);
    let id_line = format!("(root) NOPASSWD: {} {ruleset} id *", f.rootwrap.display());
    assert_eq!(nobody["rules"][1]["grants"], serde_json::json!([id_line]));

    // No sudo line at all, but a group the daemon's `groups=` names: every
    // rule, through the daemon's socket.
    let target = list("rw-target", &f.ruleset);
    assert_eq!(names(&target).len(), 3);
    assert_eq!(
        target["user"]["grants"],
        serde_json::json!(["daemon groups=rw-extra"])
    );

    // A user sudo lets run nothing: nothing, said in words.
    let shown = run(Command::new(&binaries().compile)
        .args(["list", "--user", "daemon"])
        .arg(&f.ruleset));
    assert_eq!(shown.code, 0, "{}", shown.stderr);
    assert!(
        shown.stdout_text().contains(
            "rules      0 of 3 reachable by daemon\n  through    nothing: daemon cannot run rootwrap with this ruleset through sudo\n"
        ),
        "{}",
        shown.stdout_text()
    );
    // An unknown user is an error (exit 2), not an empty list.
    let unknown = run(Command::new(&binaries().compile)
        .args(["list", "--user", "rw-no-such-user"])
        .arg(&f.ruleset));
    assert_eq!(unknown.code, 2, "{}", unknown.stdout_text());
}
