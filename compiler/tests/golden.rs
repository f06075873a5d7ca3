//! The matcher's golden corpus: each `golden/*.golden` file is a filter file
//! and a table of command lines with the expected decision, rule and
//! executed argv/env/user. Run through the compiler, the encoded ruleset and
//! the runtime's `decide`, exactly as `rootwrap` decides on this host.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use rootwrap::format::Ruleset;
use rootwrap::matcher::Decision;
use rootwrap_compile::syntax::unescape;
use rootwrap_compile::{compile_sources, Sources};

fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c == ' ' {
            chars.next();
            continue;
        }
        let mut word = String::new();
        if c == '"' {
            chars.next();
            let mut escaped = false;
            for c in chars.by_ref() {
                if c == '"' && !escaped {
                    break;
                }
                escaped = c == '\\' && !escaped;
                word.push(c);
            }
            out.push(unescape(&word).expect("valid escapes in golden file"));
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                word.push(c);
                chars.next();
            }
            out.push(word);
        }
    }
    out
}

/// A scratch tree for path cases (see golden/paths.golden).
fn make_tree() -> PathBuf {
    let base = std::env::temp_dir().join(format!("rw-golden-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    for dir in ["inside", "outside", "images", "images2", "mapper", "inst/a"] {
        std::fs::create_dir_all(base.join(dir)).unwrap();
    }
    // Paths are pinned: a `<path>` names an existing object.
    for file in ["inside/file", "inside/x", "images/a", "inst/a/b"] {
        std::fs::write(base.join(file), "").unwrap();
    }
    std::os::unix::fs::symlink("../outside", base.join("inside/up")).unwrap();
    std::os::unix::fs::symlink("file", base.join("inside/self")).unwrap();
    std::fs::canonicalize(base).unwrap()
}

fn run_golden(path: &Path, tmp: &Path, sleep_pid: u32) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("@TMP@", &tmp.display().to_string())
        .replace("@SLEEP_PID@", &sleep_pid.to_string())
        .replace("@SELF_PID@", &std::process::id().to_string());
    let (source, cases) = text
        .split_once("\n---\n")
        .expect("a `---` line separates source and cases");
    let mut sources = Sources::default();
    let compiled = match compile_sources(
        vec![(path.display().to_string(), source.to_string())],
        false,
        &mut sources,
    ) {
        Ok(compiled) => compiled,
        Err(failed) => {
            let shown: Vec<String> = sources.render_all(&failed.diagnostics);
            panic!("{} does not compile:\n{}", path.display(), shown.join("\n"));
        }
    };
    let ruleset = Ruleset::from_bytes(&compiled.bytes).unwrap();
    let exec_dirs = ruleset.options().exec_dirs.clone();
    let mut failures = Vec::new();
    for (number, line) in cases.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (argv_text, expected) = line.split_once("=>").expect("`=>` in every case");
        let argv: Vec<OsString> = words(argv_text).into_iter().map(OsString::from).collect();
        let got = match ruleset
            .decide(&argv, &rootwrap::matcher::OnThisHost)
            .unwrap()
        {
            Decision::Allow(allowed) => {
                let mut text = format!(
                    "allow {} : {}",
                    allowed.rule.name,
                    // Pinned paths as checked: the descriptor numbers
                    // are this process's.
                    allowed
                        .argv_as_checked()
                        .iter()
                        .map(|a| shown_word(&a.to_string_lossy()))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                let env: Vec<String> = allowed
                    .env
                    .iter()
                    .filter(|(name, _)| name != "PATH")
                    .map(|(name, value)| {
                        format!("{name}={}", allowed.as_checked(value).to_string_lossy())
                    })
                    .collect();
                let path = allowed
                    .env
                    .iter()
                    .find(|(name, _)| name == "PATH")
                    .map(|(_, v)| v.clone());
                assert_eq!(
                    path,
                    Some(OsString::from(exec_dirs.join(":"))),
                    "PATH is always the exec dirs"
                );
                if !env.is_empty() {
                    text.push_str(&format!(" | env {}", env.join(" ")));
                }
                if allowed.run_as.user_name() != "root" {
                    text.push_str(&format!(" | as {}", allowed.run_as.user_name()));
                }
                text
            }
            Decision::NotExecutable { rule } => format!("not-found {}", rule.name),
            Decision::Deny { .. } => "deny".to_string(),
        };
        let expected = normalize(expected);
        if normalize(&got) != expected {
            failures.push(format!(
                "{}:{}: `{}`\n    expected: {expected}\n    got:      {got}",
                path.display(),
                source.lines().count() + 2 + number,
                argv_text.trim()
            ));
        }
    }
    failures
}

fn shown_word(word: &str) -> String {
    if word.is_empty() || word.contains([' ', '"', '\\', '\n']) {
        rootwrap::display::quoted(word)
    } else {
        word.to_string()
    }
}

fn normalize(text: &str) -> String {
    words(text)
        .iter()
        .map(|w| shown_word(w))
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn golden_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "golden"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 4,
        "golden files missing in {}",
        dir.display()
    );
    let tmp = make_tree();
    let mut sleeper = std::process::Command::new("/usr/bin/sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let failures: Vec<String> = files
        .iter()
        .flat_map(|f| run_golden(f, &tmp, sleeper.id()))
        .collect();
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let _ = std::fs::remove_dir_all(&tmp);
    assert!(
        failures.is_empty(),
        "{} golden case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
