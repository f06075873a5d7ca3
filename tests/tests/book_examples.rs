//! Every filter example in the book compiles: each ```` ```rwf ```` block in
//! book/src/*.md is a complete filter file that must compile (its policy
//! tests included), and each ```` ```rwf,compile_fail ```` block must not,
//! for the reasons the book gives: the ```` ```text ```` (or ```` ```console
//! ````) block right after it shows the compiler's `error:` (and
//! `warning[...]`) lines; each of them must be one the compiler prints for
//! the block (`...` in a shown line stands for any text), and every error
//! the compiler prints must be shown. An ```` ```rwf,site ```` block
//! (or ```` ```rwf,site,compile_fail ````) is a site's file: it is
//! compiled after the last ```` ```rwf ```` block before it, as a second
//! file.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::{Path, PathBuf};

use rootwrap_compile::{compile_sources, Sources};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Compiles,
    Fails,
}

#[derive(Debug)]
struct Block {
    file: PathBuf,
    /// 1-based line of the opening fence.
    line: usize,
    expect: Expect,
    text: String,
    /// For a `compile_fail` block: the `error`/`warning[` lines of the
    /// ```` ```text ```` block that follows it.
    shown: Vec<String>,
    /// For an `rwf,site` block: the last plain ```` ```rwf ```` block
    /// before it, compiled first as another file (a packaged file, and a
    /// site's file that overrides it).
    packaged: Option<String>,
}

/// The fenced blocks of one markdown file whose info string is `rwf` or
/// `rwf,compile_fail`. Other blocks are skipped; an unknown `rwf,...`
/// attribute is an error, so a typo cannot silently skip an example.
fn blocks_in(file: &Path, markdown: &str) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::new();
    let mut open: Option<(usize, String, Option<Expect>, Vec<&str>)> = None;
    // A compile_fail block just closed, whose output block may follow.
    let mut awaiting_output = false;
    // The open fence is the output block of the last compile_fail block.
    let mut in_output = false;
    let mut site = false;
    let mut last_packaged: Option<String> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                let Some(info) = fence(trimmed) else {
                    if !trimmed.is_empty() {
                        awaiting_output = false;
                    }
                    continue;
                };
                let (ticks, info) = info;
                in_output = awaiting_output && (info == "text" || info == "console");
                awaiting_output = false;
                site = info.starts_with("rwf,site");
                let expect = match info {
                    "rwf" | "rwf,site" => Some(Expect::Compiles),
                    "rwf,compile_fail" | "rwf,site,compile_fail" => Some(Expect::Fails),
                    other if other.starts_with("rwf") => panic!(
                        "{}:{}: unknown filter block kind `{other}` (use `rwf`, `rwf,compile_fail`, `rwf,site` or `rwf,site,compile_fail`)",
                        file.display(),
                        index + 1
                    ),
                    _ => None,
                };
                open = Some((index + 1, ticks, expect, Vec::new()));
            }
            Some((start, ticks, expect, body)) => {
                let closes = trimmed.starts_with(ticks.as_str())
                    && trimmed.trim_start_matches('`').trim().is_empty();
                if !closes {
                    body.push(line);
                    continue;
                }
                if in_output {
                    if let Some(last) = blocks.last_mut() {
                        last.shown = body
                            .iter()
                            .map(|l| l.trim())
                            .filter(|l| l.starts_with("error") || l.starts_with("warning["))
                            .map(str::to_string)
                            .collect();
                    }
                    in_output = false;
                }
                if let Some(expect) = *expect {
                    let mut text = body.join("\n");
                    text.push('\n');
                    let packaged = match site {
                        true => Some(last_packaged.clone().unwrap_or_else(|| {
                            panic!(
                                "{}:{start}: an rwf,site block needs an rwf block before it",
                                file.display()
                            )
                        })),
                        false => None,
                    };
                    if !site && expect == Expect::Compiles {
                        last_packaged = Some(text.clone());
                    }
                    blocks.push(Block {
                        file: file.to_path_buf(),
                        line: *start,
                        expect,
                        text,
                        shown: Vec::new(),
                        packaged,
                    });
                    awaiting_output = expect == Expect::Fails;
                }
                open = None;
            }
        }
    }
    if let Some((start, _, Some(_), _)) = open {
        panic!("{}:{start}: unclosed filter block", file.display());
    }
    blocks
}

/// Whether `line` is `shown`, where `...` in `shown` stands for any text.
fn matches_shown(shown: &str, line: &str) -> bool {
    let mut parts = shown.split("...");
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = line.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// For an opening code fence, its backticks and its info string.
fn fence(line: &str) -> Option<(String, &str)> {
    let ticks = line.len() - line.trim_start_matches('`').len();
    if ticks < 3 {
        return None;
    }
    Some(("`".repeat(ticks), line[ticks..].trim()))
}

fn book_blocks() -> Vec<Block> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    let mut blocks = Vec::new();
    for file in files {
        let markdown = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        blocks.extend(blocks_in(&file, &markdown));
    }
    blocks
}

#[test]
fn every_filter_example_in_the_book_compiles_or_fails_as_marked() {
    let blocks = book_blocks();
    assert!(
        blocks.len() >= 10,
        "found only {} filter blocks in book/src/*.md",
        blocks.len()
    );
    let mut failures = Vec::new();
    for block in &blocks {
        let file_name = block
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let name = format!("{file_name}:{}", block.line);
        let mut sources = Sources::default();
        let mut texts = vec![(name.clone(), block.text.clone())];
        if let Some(packaged) = &block.packaged {
            texts.insert(0, (format!("{name}.packaged"), packaged.clone()));
        }
        let result = compile_sources(texts, false, &mut sources);
        match (block.expect, result) {
            (Expect::Compiles, Ok(_)) => {}
            (Expect::Fails, Err(failed)) => {
                let rendered: Vec<String> = sources.render_all(&failed.diagnostics);
                let lines: Vec<&str> = rendered.iter().flat_map(|r| r.lines()).collect();
                if block.shown.is_empty() {
                    failures.push(format!(
                        "book/src/{name}: this ```rwf,compile_fail block has no ```text block \
                         right after it showing its `error:` lines; the compiler says:\n{}",
                        rendered.join("\n")
                    ));
                }
                for shown in &block.shown {
                    if !lines.iter().any(|line| matches_shown(shown, line)) {
                        failures.push(format!(
                            "book/src/{name}: the book shows `{shown}`, but the compiler says:\n{}",
                            rendered.join("\n")
                        ));
                    }
                }
                for line in lines.iter().filter(|l| l.starts_with("error")) {
                    if !block.shown.iter().any(|shown| matches_shown(shown, line)) {
                        failures.push(format!(
                            "book/src/{name}: the compiler says `{line}`, which the book does not show"
                        ));
                    }
                }
            }
            (Expect::Compiles, Err(failed)) => {
                let rendered: Vec<String> = sources.render_all(&failed.diagnostics);
                failures.push(format!(
                    "book/src/{name}: this ```rwf block must compile, but:\n{}",
                    rendered.join("\n")
                ));
            }
            (Expect::Fails, Ok(_)) => failures.push(format!(
                "book/src/{name}: this ```rwf,compile_fail block compiled without error"
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} book examples are wrong:\n\n{}",
        failures.len(),
        blocks.len(),
        failures.join("\n\n")
    );
}

#[test]
fn the_book_has_failing_examples_too() {
    let failing = book_blocks()
        .iter()
        .filter(|b| b.expect == Expect::Fails)
        .count();
    assert!(failing >= 1, "no ```rwf,compile_fail block in the book");
}

#[test]
fn block_extraction() {
    let markdown = "text\n```rwf\nruleset a\n```\n\n````md\n```rwf\nnot a block\n```\n````\n```rwf,compile_fail\nbroken\n```\n```text\nx\n```\n";
    let blocks = blocks_in(Path::new("t.md"), markdown);
    assert_eq!(blocks.len(), 2);
    assert_eq!((blocks[0].line, blocks[0].expect), (2, Expect::Compiles));
    assert_eq!(blocks[0].text, "ruleset a\n");
    assert_eq!((blocks[1].line, blocks[1].expect), (11, Expect::Fails));
    assert_eq!(blocks[1].text, "broken\n");
    assert!(blocks[0].shown.is_empty());
    // The output block right after a compile_fail block (blank lines
    // between are fine); any other text in between detaches it.
    let markdown = "```rwf,compile_fail\nbroken\n```\n\n```text\nerror: bad\n  --> x\nwarning[w]: w\n```\n```rwf,compile_fail\nb\n```\nprose\n```text\nerror: other\n```\n";
    let blocks = blocks_in(Path::new("t.md"), markdown);
    assert_eq!(blocks[0].shown, ["error: bad", "warning[w]: w"]);
    assert!(blocks[1].shown.is_empty());
}

#[test]
fn shown_lines_match_with_ellipses() {
    assert!(matches_shown("error: a", "error: a"));
    assert!(!matches_shown("error: a", "error: ab"));
    assert!(!matches_shown("error: b", "error: a"));
    assert!(matches_shown("error: `x...` holds", "error: `x123` holds"));
    assert!(matches_shown("error: a...", "error: a and more"));
    assert!(!matches_shown("error: a...c...e", "error: a e c"));
    assert!(matches_shown("error: a...c...e", "error: abcde"));
}
