//! Every filter example in the book compiles: each ```` ```rwf ```` block in
//! book/src/*.md is a complete filter file that must compile (its policy
//! tests included), and each ```` ```rwf,compile_fail ```` block must not.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

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
}

/// The fenced blocks of one markdown file whose info string is `rwf` or
/// `rwf,compile_fail`. Other blocks are skipped; an unknown `rwf,...`
/// attribute is an error, so a typo cannot silently skip an example.
fn blocks_in(file: &Path, markdown: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut open: Option<(usize, String, Option<Expect>, Vec<&str>)> = None;
    for (index, line) in markdown.lines().enumerate() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                let Some(info) = fence(trimmed) else { continue };
                let (ticks, info) = info;
                let expect = match info {
                    "rwf" => Some(Expect::Compiles),
                    "rwf,compile_fail" => Some(Expect::Fails),
                    other if other.starts_with("rwf") => panic!(
                        "{}:{}: unknown filter block kind `{other}` (use `rwf` or `rwf,compile_fail`)",
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
                if let Some(expect) = *expect {
                    let mut text = body.join("\n");
                    text.push('\n');
                    blocks.push(Block {
                        file: file.to_path_buf(),
                        line: *start,
                        expect,
                        text,
                    });
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
        let result = compile_sources(
            vec![(name.clone(), block.text.clone())],
            false,
            &mut sources,
        );
        match (block.expect, result) {
            (Expect::Compiles, Ok(_)) | (Expect::Fails, Err(_)) => {}
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
}
