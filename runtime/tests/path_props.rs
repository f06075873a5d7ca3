//! Property tests for path constraints (`<path BASE/**>`, `BASE/*`, `BASE`):
//! for random paths built from `..`, `.`, empty components (`//`), names of
//! directories, files and symlinks of a scratch tree (inside → inside,
//! inside → outside, outside → inside, relative and absolute, dangling, a
//! loop), new names, non-UTF-8 bytes and trailing slashes, absolute or
//! relative to a working directory inside the tree, `match_path` admits a
//! path iff its canonical form lies within the scope, component by
//! component, and passes on exactly that canonical form. The canonical form
//! is computed here independently of runtime/src/canonical.rs: the kernel's
//! own `realpath` (`std::fs::canonicalize`) for every component that
//! exists, a recursive walk only through dangling symlinks, and lexical
//! steps below a component that does not exist.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

use rootwrap::matcher::match_path;
use rootwrap::types::{PathDepth, PathScope};

/// The scratch tree, removed when dropped (also when a property fails).
struct Tree {
    /// The tree's canonical root.
    top: PathBuf,
    /// `top/allowed`: the scope's base.
    allowed: PathBuf,
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::env::set_current_dir("/");
        let _ = fs::remove_dir_all(&self.top);
    }
}

fn bytes_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsString::from_vec(bytes.to_vec()))
}

/// ```text
/// top/
///   allowed/               the allowed directory
///     sub/deep/            directories
///     file                 a file
///     \xff/                a directory with a non-UTF-8 name
///     in_rel -> sub                       inside -> inside, relative
///     in_abs -> top/allowed/sub/deep      inside -> inside, absolute
///     out_rel -> ../outside               inside -> outside, relative
///     out_abs -> top/outside              inside -> outside, absolute
///     sib -> ../allowed2                  to the sibling sharing the prefix
///     up -> ..                            to top
///     file_link -> file
///     dangling -> missing_target          inside, dangling
///     dangling_out -> ../outside/missing  outside, dangling
///     loop -> loop, loop_a -> loop_b -> loop_a
///     \xfe -> ../outside                  a non-UTF-8 link name
///   allowed2/x/            the sibling whose name shares the prefix
///   outside/o/
///     to_in -> ../allowed/sub             outside -> inside, relative
///     to_in_abs -> top/allowed            outside -> inside, absolute
///     root_link -> /
/// ```
fn make_tree() -> Tree {
    let dir = std::env::temp_dir().join(format!("rw-path-props-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    let top = fs::canonicalize(&dir).unwrap();
    let allowed = top.join("allowed");
    let outside = top.join("outside");
    for sub in ["allowed/sub/deep", "allowed2/x", "outside/o"] {
        fs::create_dir_all(top.join(sub)).unwrap();
    }
    fs::create_dir(allowed.join(bytes_path(b"\xff"))).unwrap();
    fs::write(allowed.join("file"), "").unwrap();
    let links: &[(&Path, PathBuf, &[u8])] = &[
        (&allowed, "sub".into(), b"in_rel"),
        (&allowed, allowed.join("sub/deep"), b"in_abs"),
        (&allowed, "../outside".into(), b"out_rel"),
        (&allowed, outside.clone(), b"out_abs"),
        (&allowed, "../allowed2".into(), b"sib"),
        (&allowed, "..".into(), b"up"),
        (&allowed, "file".into(), b"file_link"),
        (&allowed, "missing_target".into(), b"dangling"),
        (&allowed, "../outside/missing".into(), b"dangling_out"),
        (&allowed, "loop".into(), b"loop"),
        (&allowed, "loop_b".into(), b"loop_a"),
        (&allowed, "loop_a".into(), b"loop_b"),
        (&allowed, "../outside".into(), b"\xfe"),
        (&outside, "../allowed/sub".into(), b"to_in"),
        (&outside, allowed.clone(), b"to_in_abs"),
        (&outside, "/".into(), b"root_link"),
    ];
    for (dir, target, name) in links {
        symlink(target, dir.join(bytes_path(name))).unwrap();
    }
    std::env::set_current_dir(allowed.join("sub")).unwrap();
    Tree { top, allowed }
}

/// Where a path resolves to, while walking it.
struct Walk {
    at: PathBuf,
    /// How many trailing components of `at` do not exist (taken lexically).
    missing: usize,
    links: u32,
}

/// Linux's limit on symlinks followed for one path.
const MAX_LINKS: u32 = 40;

impl Walk {
    fn step(&mut self, path: &Path) -> Result<(), ()> {
        for component in path.components() {
            match component {
                Component::RootDir => {
                    self.at = PathBuf::from("/");
                    self.missing = 0;
                }
                Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    // `at` has no symlinks: going up is going to the parent.
                    self.at.pop();
                    self.missing = self.missing.saturating_sub(1);
                }
                Component::Normal(name) => self.enter(name)?,
            }
        }
        Ok(())
    }

    fn enter(&mut self, name: &OsStr) -> Result<(), ()> {
        let candidate = self.at.join(name);
        if self.missing > 0 {
            self.at = candidate;
            self.missing += 1;
            return Ok(());
        }
        match fs::canonicalize(&candidate) {
            Ok(real) => {
                self.at = real;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound || e.raw_os_error() == Some(20) => {
                // ENOENT or ENOTDIR: a missing component, or a symlink
                // whose target is missing, which is walked in its turn.
                match fs::symlink_metadata(&candidate) {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        self.links += 1;
                        if self.links > MAX_LINKS {
                            return Err(());
                        }
                        let target = fs::read_link(&candidate).map_err(|_| ())?;
                        self.step(&target)
                    }
                    _ => {
                        self.at = candidate;
                        self.missing = 1;
                        Ok(())
                    }
                }
            }
            // A symlink loop (ELOOP) or anything else: no canonical form.
            Err(_) => Err(()),
        }
    }
}

/// The canonical form of `path`, or `None` when it has none (empty, a loop).
fn reference_canonical(path: &OsStr) -> Option<PathBuf> {
    if path.is_empty() {
        return None;
    }
    let path = Path::new(path);
    let start = if path.is_absolute() {
        PathBuf::from("/")
    } else {
        fs::canonicalize(std::env::current_dir().ok()?).ok()?
    };
    let mut walk = Walk {
        at: start,
        missing: 0,
        links: 0,
    };
    walk.step(path).ok()?;
    Some(walk.at)
}

/// Whether `depth` of `base` admits the canonical path `c`.
fn admits(base: &Path, depth: PathDepth, c: &Path) -> bool {
    match depth {
        PathDepth::Exactly => c == base,
        PathDepth::Child => c.parent() == Some(base),
        PathDepth::Descendant => c != base && c.starts_with(base),
    }
}

fn scope(base: &Path, depth: PathDepth) -> Vec<PathScope> {
    vec![PathScope {
        base: base.to_str().unwrap().to_string(),
        middle: Vec::new(),
        depth,
    }]
}

const COMPONENTS: &[&[u8]] = &[
    b"..",
    b"..",
    b".",
    b"",
    b"allowed",
    b"allowed",
    b"allowed2",
    b"outside",
    b"sub",
    b"deep",
    b"file",
    b"x",
    b"o",
    b"\xff",
    b"\xfe",
    b"n\xfd",
    b"in_rel",
    b"in_abs",
    b"out_rel",
    b"out_abs",
    b"sib",
    b"up",
    b"file_link",
    b"dangling",
    b"dangling_out",
    b"loop",
    b"loop_a",
    b"to_in",
    b"to_in_abs",
    b"root_link",
    b"new",
    b"missing_target",
];

/// A path: a start (the tree's top, the allowed dir, its sibling, `/`, or
/// relative to the working directory), components, maybe a trailing `/`.
fn paths(tree: &Tree) -> impl Strategy<Value = OsString> {
    let top = tree.top.as_os_str().as_bytes().to_vec();
    let starts: Vec<Vec<u8>> = vec![
        top.clone(),
        top.clone(),
        [top.as_slice(), b"/allowed"].concat(),
        [top.as_slice(), b"/allowed2"].concat(),
        [top.as_slice(), b"/outside"].concat(),
        b"".to_vec(),
        b"".to_vec(),
        b"/".to_vec(),
    ];
    (
        prop::sample::select(starts),
        prop::collection::vec(prop::sample::select(COMPONENTS), 0..8),
        any::<bool>(),
    )
        .prop_map(|(start, components, trailing)| {
            let mut bytes = start;
            for (i, component) in components.iter().enumerate() {
                if !(bytes.is_empty() && i == 0) && bytes.last() != Some(&b'/') {
                    bytes.push(b'/');
                }
                bytes.extend_from_slice(component);
            }
            if trailing && !bytes.is_empty() {
                bytes.push(b'/');
            }
            OsString::from_vec(bytes)
        })
}

fn show(path: &OsStr) -> String {
    format!("{:?}", path)
}

/// The property, for one path and one scope spelled `base`.
fn check(tree: &Tree, base: &Path, path: &OsStr) -> Result<(), TestCaseError> {
    let canonical = reference_canonical(path);
    let sibling = tree.top.join("allowed2");
    for depth in [PathDepth::Descendant, PathDepth::Child, PathDepth::Exactly] {
        let got = match_path(&scope(base, depth), path);
        let expected = canonical
            .clone()
            .filter(|c| admits(&tree.allowed, depth, c));
        prop_assert_eq!(
            &got,
            &expected,
            "{:?} of {} for {} (canonical form {:?})",
            depth,
            base.display(),
            show(path),
            canonical
        );
        if let Some(got) = &got {
            // Never a string-prefix escape into the sibling.
            prop_assert!(!got.starts_with(&sibling), "{}", show(path));
            prop_assert!(got.starts_with(&tree.allowed), "{}", show(path));
        }
    }
    Ok(())
}

/// `cases` random cases, or `PROPTEST_CASES` of them for a longer search.
fn runner(cases: u32) -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    })
}

#[test]
fn path_constraints_admit_exactly_the_canonical_paths_within() {
    let tree = make_tree();

    // The reference itself, on paths whose answers are known.
    let top = tree.top.clone();
    let allowed = tree.allowed.clone();
    let known: &[(PathBuf, Option<PathBuf>)] = &[
        (allowed.join("sub/deep"), Some(allowed.join("sub/deep"))),
        (allowed.join("in_rel/x"), Some(allowed.join("sub/x"))),
        (allowed.join("out_rel/o"), Some(top.join("outside/o"))),
        (
            top.join("outside/to_in/deep"),
            Some(allowed.join("sub/deep")),
        ),
        (
            allowed.join("dangling"),
            Some(allowed.join("missing_target")),
        ),
        (allowed.join("new/../sib/x"), Some(top.join("allowed2/x"))),
        (allowed.join("file/x/.."), Some(allowed.join("file"))),
        (allowed.join("loop/x"), None),
        (PathBuf::from("../out_abs"), Some(top.join("outside"))),
        (PathBuf::from(""), None),
        (PathBuf::from("."), Some(allowed.join("sub"))),
    ];
    for (path, expected) in known {
        assert_eq!(
            &reference_canonical(path.as_os_str()),
            expected,
            "{}",
            path.display()
        );
    }

    // Random paths against the allowed directory named canonically.
    let strategy = paths(&tree);
    runner(512)
        .run(&strategy, |path| check(&tree, &tree.allowed, &path))
        .unwrap();

    // Paths into and around the sibling that shares the prefix.
    let sibling_paths = (
        prop::sample::select(vec![
            "allowed2",
            "allowed2/x",
            "allowed2/..",
            "sib",
            "sib/x",
            "allowed/../allowed2",
        ]),
        prop::collection::vec(prop::sample::select(COMPONENTS), 0..4),
    )
        .prop_map({
            let top = tree.top.clone();
            move |(start, rest)| {
                let mut bytes = top.join("allowed").as_os_str().as_bytes().to_vec();
                bytes.extend_from_slice(b"/../");
                bytes.extend_from_slice(start.as_bytes());
                for component in rest {
                    bytes.push(b'/');
                    bytes.extend_from_slice(component);
                }
                OsString::from_vec(bytes)
            }
        });
    runner(256)
        .run(&sibling_paths, |path| check(&tree, &tree.allowed, &path))
        .unwrap();

    // The same answers when the scope's base is itself spelled through a
    // symlink (it is resolved on the host too).
    let via_link = tree.top.join("outside/to_in_abs");
    runner(128)
        .run(&strategy, |path| check(&tree, &via_link, &path))
        .unwrap();
}
