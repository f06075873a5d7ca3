//! Each step kind on a scratch tree, with the hostile objects a caller can
//! put inside a scope: symbolic links out of it, hard links to files
//! outside, FIFOs, names that are not UTF-8.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::steps::{self, NewAttrs, Place, Replace, StepError};
use super::*;
use crate::pin::{pin, resolution};

/// `base/d/f` ("inside"), `base/out -> outside`, `outside/secret`.
struct Tree {
    root: PathBuf,
}

impl Tree {
    fn new(label: &str) -> Tree {
        let root = std::env::temp_dir().join(format!("rw-action-{label}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("base/d")).unwrap();
        std::fs::create_dir_all(root.join("outside")).unwrap();
        std::fs::write(root.join("base/d/f"), "inside").unwrap();
        std::fs::write(root.join("outside/secret"), "outside").unwrap();
        std::fs::set_permissions(
            root.join("outside/secret"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        symlink(root.join("outside/secret"), root.join("base/d/out")).unwrap();
        symlink(root.join("outside"), root.join("base/outdir")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        Tree { root }
    }

    fn base(&self) -> PathBuf {
        self.root.join("base")
    }

    /// The entry as an action's parameter is pinned: its directory opened
    /// beneath the base, and its name.
    fn entry(&self, relative: impl AsRef<Path>) -> Arc<PinnedPath> {
        let checked = self.base().join(relative);
        Arc::new(pin(&self.base(), &checked, Pin::Entry, resolution(), None).unwrap())
    }

    fn secret_untouched(&self) {
        let secret = self.root.join("outside/secret");
        assert_eq!(std::fs::read_to_string(&secret).unwrap(), "outside");
        let meta = std::fs::metadata(&secret).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o600);
        assert_eq!(meta.uid(), crate::sys::effective_uid());
    }

    fn fifo(&self, relative: &str) {
        let status = std::process::Command::new("mkfifo")
            .arg(self.base().join(relative))
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// No temporary file or directory left behind.
    fn no_leftovers(&self, dir: &str) {
        for entry in std::fs::read_dir(self.base().join(dir)).unwrap() {
            let name = entry.unwrap().file_name();
            assert!(
                !name.to_string_lossy().starts_with(".rootwrap-"),
                "left behind: {name:?}"
            );
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn place(pinned: &PinnedPath) -> Place<'_> {
    Place {
        dir: pinned.fd(),
        name: pinned.checked.file_name().unwrap(),
    }
}

fn refused(result: Result<impl std::fmt::Debug, StepError>, says: &str) {
    match result {
        Err(e) if e.to_string().contains(says) => {}
        other => panic!("expected a refusal saying {says:?}, got {other:?}"),
    }
}

#[test]
fn write_creates_a_new_file_with_its_mode_and_never_over_a_name() {
    let tree = Tree::new("write-create");
    let new = tree.entry("d/new");
    let attrs = NewAttrs {
        mode: Some(0o640),
        ..NewAttrs::default()
    };
    steps::write_new(&place(&new), b"hello", attrs, Replace::No).unwrap();
    let meta = std::fs::metadata(tree.base().join("d/new")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_eq!(std::fs::read(tree.base().join("d/new")).unwrap(), b"hello");
    // `create` never replaces anything: a file, or a link out of the tree.
    refused(
        steps::write_new(&place(&new), b"again", attrs, Replace::No),
        "File exists",
    );
    let link = tree.entry("d/out");
    refused(
        steps::write_new(&place(&link), b"pwned", attrs, Replace::No),
        "File exists",
    );
    assert_eq!(std::fs::read(tree.base().join("d/new")).unwrap(), b"hello");
    tree.secret_untouched();
    tree.no_leftovers("d");
}

#[test]
fn replace_puts_a_new_file_in_place_and_never_writes_through_a_link_or_a_second_name() {
    let tree = Tree::new("write-replace");
    // A symbolic link at the name: refused, neither followed nor replaced.
    let link = tree.entry("d/out");
    refused(
        steps::write_new(&place(&link), b"new", NewAttrs::default(), Replace::Yes),
        "symbolic link",
    );
    assert!(std::fs::symlink_metadata(tree.base().join("d/out"))
        .unwrap()
        .file_type()
        .is_symlink());
    tree.secret_untouched();
    // A hard link to a file outside: refused, nothing written.
    std::fs::hard_link(tree.root.join("outside/secret"), tree.base().join("d/hard")).unwrap();
    let hard = tree.entry("d/hard");
    refused(
        steps::write_new(&place(&hard), b"pwned", NewAttrs::default(), Replace::Yes),
        "hard links",
    );
    tree.secret_untouched();
    // An existing file keeps its mode.
    std::fs::set_permissions(tree.base().join("d/f"), PermissionsExt::from_mode(0o604)).unwrap();
    let f = tree.entry("d/f");
    steps::write_new(&place(&f), b"replaced", NewAttrs::default(), Replace::Yes).unwrap();
    let meta = std::fs::metadata(tree.base().join("d/f")).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o604);
    assert_eq!(std::fs::read(tree.base().join("d/f")).unwrap(), b"replaced");
    tree.no_leftovers("d");
}

#[test]
fn a_fifo_is_never_opened_where_a_file_is_expected() {
    let tree = Tree::new("fifo");
    tree.fifo("d/pipe");
    let pipe = tree.entry("d/pipe");
    // Each would block forever if it opened the FIFO.
    refused(steps::append(&place(&pipe), b"x"), "not a regular file");
    refused(steps::read(&place(&pipe), 100), "not a regular file");
    refused(
        steps::write_new(&place(&pipe), b"x", NewAttrs::default(), Replace::Yes),
        "not a regular file",
    );
    refused(steps::chmod(&place(&pipe), 0o666), "FIFO");
    refused(steps::chown(&place(&pipe), None, Some(0)), "FIFO");
}

#[test]
fn append_adds_to_one_regular_file_only() {
    let tree = Tree::new("append");
    let f = tree.entry("d/f");
    steps::append(&place(&f), b" more").unwrap();
    assert_eq!(
        std::fs::read(tree.base().join("d/f")).unwrap(),
        b"inside more"
    );
    refused(
        steps::append(&place(&tree.entry("d/out")), b"x"),
        "symbolic link",
    );
    std::fs::hard_link(tree.root.join("outside/secret"), tree.base().join("d/hard")).unwrap();
    refused(
        steps::append(&place(&tree.entry("d/hard")), b"x"),
        "hard links",
    );
    tree.secret_untouched();
}

#[test]
fn read_returns_at_most_max_bytes_of_a_regular_file() {
    let tree = Tree::new("read");
    let f = tree.entry("d/f");
    assert_eq!(steps::read(&place(&f), 6).unwrap(), b"inside");
    refused(steps::read(&place(&f), 5), "more than 5 bytes");
    refused(
        steps::read(&place(&tree.entry("d/out")), 100),
        "symbolic link",
    );
    std::fs::hard_link(tree.root.join("outside/secret"), tree.base().join("d/hard")).unwrap();
    refused(
        steps::read(&place(&tree.entry("d/hard")), 100),
        "hard links",
    );
    refused(
        steps::read(&place(&tree.entry("d")), 100),
        "not a regular file",
    );
}

#[test]
fn mkdir_sets_the_mode_before_the_name_appears_and_follows_no_link() {
    let tree = Tree::new("mkdir");
    let new = tree.entry("d/sub");
    let attrs = NewAttrs {
        mode: Some(0o750),
        ..NewAttrs::default()
    };
    steps::mkdir(&place(&new), attrs, false).unwrap();
    let meta = std::fs::metadata(tree.base().join("d/sub")).unwrap();
    assert!(meta.is_dir());
    assert_eq!(meta.mode() & 0o7777, 0o750);
    refused(steps::mkdir(&place(&new), attrs, false), "File exists");
    // `-p`: an existing directory is fine, a link to one is not.
    steps::mkdir(&place(&new), attrs, true).unwrap();
    refused(
        steps::mkdir(&place(&tree.entry("outdir")), attrs, true),
        "symbolic link",
    );
    refused(
        steps::mkdir(&place(&tree.entry("d/f")), attrs, true),
        "not a directory",
    );
    tree.no_leftovers("d");
}

#[test]
fn chmod_and_chown_act_on_the_object_only_when_it_is_safe() {
    let tree = Tree::new("chmod");
    let f = tree.entry("d/f");
    steps::chmod(&place(&f), 0o640).unwrap();
    assert_eq!(
        std::fs::metadata(tree.base().join("d/f")).unwrap().mode() & 0o7777,
        0o640
    );
    let uid = crate::sys::effective_uid();
    steps::chown(&place(&f), Some(uid), None).unwrap();
    // Through a link out of the tree: refused, the outside file unchanged.
    let link = tree.entry("d/out");
    refused(steps::chmod(&place(&link), 0o666), "symbolic link");
    refused(
        steps::chown(&place(&link), Some(uid), None),
        "symbolic link",
    );
    std::fs::hard_link(tree.root.join("outside/secret"), tree.base().join("d/hard")).unwrap();
    let hard = tree.entry("d/hard");
    refused(steps::chmod(&place(&hard), 0o666), "hard links");
    refused(steps::chown(&place(&hard), Some(uid), None), "hard links");
    tree.secret_untouched();
    // A directory is fine.
    steps::chmod(&place(&tree.entry("d")), 0o700).unwrap();
}

#[test]
fn symlink_unlink_rmdir_and_rename_act_on_names() {
    let tree = Tree::new("names");
    let link = tree.entry("d/link");
    steps::symlink(&place(&link), OsStr::new("f")).unwrap();
    assert_eq!(
        std::fs::read_link(tree.base().join("d/link")).unwrap(),
        Path::new("f")
    );
    refused(
        steps::symlink(&place(&link), OsStr::new("g")),
        "File exists",
    );
    // Unlinking a link removes the link, never what it names.
    steps::unlink(&place(&tree.entry("d/out"))).unwrap();
    tree.secret_untouched();
    refused(steps::unlink(&place(&tree.entry("d"))), "directory");
    refused(steps::rmdir(&place(&tree.entry("d"))), "not empty");
    // Rename never replaces.
    let from = tree.entry("d/f");
    let to = tree.entry("d/link");
    refused(steps::rename(&place(&from), &place(&to)), "File exists");
    let to = tree.entry("d/g");
    steps::rename(&place(&from), &place(&to)).unwrap();
    assert_eq!(std::fs::read(tree.base().join("d/g")).unwrap(), b"inside");
    std::fs::create_dir(tree.base().join("empty")).unwrap();
    steps::rmdir(&place(&tree.entry("empty"))).unwrap();
    assert!(!tree.base().join("empty").exists());
}

#[test]
fn names_need_not_be_utf8_but_are_never_dot_dot() {
    let tree = Tree::new("names-bytes");
    let name = OsStr::from_bytes(b"caf\xe9\xff");
    let new = tree.entry(Path::new("d").join(name));
    steps::write_new(&place(&new), b"x", NewAttrs::default(), Replace::No).unwrap();
    assert_eq!(
        std::fs::read(tree.base().join("d").join(name)).unwrap(),
        b"x"
    );
    let d = tree.entry("d");
    for bad in ["..", ".", "", "a/b"] {
        let at = Place {
            dir: d.fd(),
            name: OsStr::new(bad),
        };
        refused(
            steps::mkdir(&at, NewAttrs::default(), false),
            "Invalid argument",
        );
        refused(steps::unlink(&at), "Invalid argument");
    }
}

#[test]
fn sysctl_keys_are_names_below_proc_sys() {
    for bad in [
        "",
        "..",
        "kernel..hostname",
        "kernel/../../etc",
        "kernel.\0",
    ] {
        refused(steps::sysctl(bad.as_bytes(), b"1"), "is not a sysctl key");
    }
    refused(steps::sysctl(b"no.such.key", b"1"), "is not a sysctl key");
}

/// A bound of the tree's entries: parameter 0 is `d` (pinned), 1 a text.
fn bound(tree: &Tree, text: &str) -> Bound {
    let d = tree.entry("d");
    Bound {
        values: vec![d.checked.clone().into_os_string(), OsString::from(text)],
        pinned: vec![Some(d), None],
        pids: vec![None, None],
    }
}

fn target(below: &[&str]) -> Target {
    Target {
        param: 0,
        below: below.iter().map(|s| s.to_string()).collect(),
    }
}

fn step(op: Op) -> Step {
    Step { line: 1, op }
}

fn no_run(_: &[OsString]) -> Result<Decision, Fault> {
    Ok(Decision::Deny { tried: Vec::new() })
}

fn run(action: &Action, bound: &Bound, stdin: &[u8]) -> (Ended, Vec<u8>) {
    let mut input = stdin;
    let mut output = Vec::new();
    let ended = run_sequence(
        action,
        bound,
        &mut Runner {
            exec_dirs: &[],
            run_as: &RunAs::Root,
            decide: &no_run,
            stdin: &mut input,
            stdout: &mut output,
        },
    );
    (ended, output)
}

#[test]
fn a_sequence_stops_at_the_first_failure_and_runs_its_undo_steps() {
    let tree = Tree::new("sequence");
    let text = |s: &str| Text(vec![Piece::Literal(s.into())]);
    let action = Action {
        params: vec!["dir".into(), "value".into()],
        steps: vec![
            step(Op::Mkdir {
                target: target(&["a", "b"]),
                parents: true,
                attrs: Attrs::default(),
            }),
            step(Op::Write {
                target: target(&["a", "b", "v"]),
                content: Content::Text(Text(vec![Piece::Param(1)])),
                max: 5,
                how: WriteHow::Create,
                attrs: Attrs::default(),
            }),
            step(Op::Chmod {
                target: target(&["a"]),
                mode: text("0700"),
            }),
        ],
        undo: vec![
            step(Op::Rmdir {
                target: target(&["a", "b"]),
            }),
            step(Op::Rmdir {
                target: target(&["a"]),
            }),
        ],
    };
    let (ended, _) = run(&action, &bound(&tree, "12345"), b"");
    assert_eq!(ended.status(), 0, "{ended:?}");
    assert_eq!(ended.entries.len(), 3);
    assert_eq!(
        std::fs::read(tree.base().join("d/a/b/v")).unwrap(),
        b"12345"
    );
    std::fs::remove_dir_all(tree.base().join("d/a")).unwrap();

    // Too long for the write: the directories made before it are undone.
    let (ended, _) = run(&action, &bound(&tree, "123456"), b"");
    assert_eq!(ended.status(), i32::from(ExitCode::StepFailed));
    let (number, _, failure) = ended.failed.as_ref().unwrap();
    assert_eq!(*number, 2);
    assert!(failure.message.contains("more than 5 bytes"), "{failure:?}");
    let shown: Vec<&str> = ended
        .entries
        .iter()
        .map(|(s, r)| {
            assert!(!s.is_empty() && !r.is_empty());
            s.as_str()
        })
        .collect();
    assert!(shown[0].starts_with("1 mkdir ") && shown[1].starts_with("2 write "));
    assert!(shown[2].starts_with("undo 1 rmdir ") && shown[3].starts_with("undo 2 rmdir "));
    assert_eq!(ended.entries[2].1, "ok");
    assert!(!tree.base().join("d/a").exists());
}

#[test]
fn stdin_beyond_the_limit_is_refused_before_anything_is_written() {
    let tree = Tree::new("stdin");
    let action = Action {
        params: vec!["dir".into()],
        steps: vec![
            step(Op::Write {
                target: target(&["log"]),
                content: Content::Stdin,
                max: 4,
                how: WriteHow::Create,
                attrs: Attrs::default(),
            }),
            step(Op::Read {
                target: target(&["log"]),
                max: 4,
            }),
        ],
        undo: Vec::new(),
    };
    let (ended, _) = run(&action, &bound(&tree, ""), b"12345");
    assert!(ended.failed.is_some());
    assert!(!tree.base().join("d/log").exists());
    tree.no_leftovers("d");
    let (ended, out) = run(&action, &bound(&tree, ""), b"1234");
    assert_eq!(ended.status(), 0, "{ended:?}");
    assert_eq!(out, b"1234");
}

#[test]
fn kill_signals_only_a_process_that_runs_its_target() {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let id = child.id();
    let sleep = std::fs::read_link(format!("/proc/{id}/exe")).unwrap();
    let pattern = |target: &Path| PidPattern {
        targets: vec![target.display().to_string()],
        user: None,
    };
    let bound_for = |target: &Path| Bound {
        values: vec![OsString::from(id.to_string())],
        pinned: vec![None],
        pids: vec![Some(pattern(target))],
    };
    let action = Action {
        params: vec!["pid".into()],
        steps: vec![step(Op::Kill {
            pid: 0,
            signal: Text(vec![Piece::Literal("TERM".into())]),
        })],
        undo: Vec::new(),
    };
    let (ended, _) = run(&action, &bound_for(Path::new("/usr/bin/true")), b"");
    assert!(ended.failed.is_some(), "another program's process");
    assert!(child.try_wait().unwrap().is_none());
    let (ended, _) = run(&action, &bound_for(&sleep), b"");
    assert_eq!(ended.status(), 0, "{ended:?}");
    let status = child.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGTERM)
    );
}
