//! The book's internal links: every link to a page of the book, or to a
//! heading in one, leads somewhere, and nothing the book or the README
//! links to lies outside the repository (a reader has only the
//! repository). Headings' anchors are made as mdBook makes them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Lines outside fenced code blocks, with inline code removed.
fn prose(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut lines = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            lines.push(without_code_spans(line));
        }
    }
    lines
}

/// `line` without its code spans: a run of backticks up to the next run
/// of the same length (``` `]` ``` holds single ones).
fn without_code_spans(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(open) = rest.find('`') {
        out.push_str(&rest[..open]);
        let run = rest[open..].len() - rest[open..].trim_start_matches('`').len();
        let after = &rest[open + run..];
        let fence = "`".repeat(run);
        let mut search = 0;
        let close = loop {
            match after[search..].find(&fence) {
                Some(at) => {
                    let at = search + at;
                    let len = after[at..].len() - after[at..].trim_start_matches('`').len();
                    if len == run {
                        break Some(at);
                    }
                    search = at + len;
                }
                None => break None,
            }
        };
        match close {
            Some(at) => rest = &after[at + run..],
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// mdBook's anchor for a heading: letters, digits, `_` and `-` kept
/// (lower case), white space to `-`, the rest dropped; repeats get `-1`,
/// `-2` ...
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        // Anchors written as HTML: `<a id="NAME"></a>`.
        let mut html = line;
        while let Some(at) = html.find("id=\"") {
            let after = &html[at + 4..];
            if let Some(end) = after.find('"') {
                out.insert(after[..end].to_string());
            }
            html = after;
        }
        let Some(title) = line.strip_prefix('#').map(|t| t.trim_start_matches('#')) else {
            continue;
        };
        if fenced || !title.starts_with(' ') {
            continue;
        }
        // Link text only: `[text](target)` -> `text`.
        let mut text = String::new();
        let mut rest = title.trim();
        while let Some(open) = rest.find('[') {
            text.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            match after
                .find("](")
                .and_then(|close| after[close..].find(')').map(|end| (close, close + end)))
            {
                Some((close, end)) => {
                    text.push_str(&after[..close]);
                    rest = &after[end + 1..];
                }
                None => {
                    text.push('[');
                    rest = after;
                }
            }
        }
        text.push_str(rest);
        let id: String = text
            .chars()
            .filter_map(|c| {
                if c.is_alphanumeric() || c == '_' || c == '-' {
                    Some(c.to_ascii_lowercase())
                } else if c.is_whitespace() {
                    Some('-')
                } else {
                    None
                }
            })
            .collect();
        let count = seen.entry(id.clone()).or_insert(0);
        out.insert(if *count == 0 {
            id.clone()
        } else {
            format!("{id}-{count}")
        });
        *count += 1;
    }
    out
}

/// The targets of `[text](target)` links in `markdown`'s prose.
fn links(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in prose(markdown) {
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let after = &rest[at + 2..];
            let Some(end) = after.find(')') else { break };
            out.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    out
}

fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_internal_link_of_the_book_and_readme_leads_somewhere_in_the_repository() {
    let repo = repository();
    let book = repo.join("book/src");
    let mut pages: Vec<PathBuf> = fs::read_dir(&book)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    pages.sort();
    assert!(pages.len() > 5, "no book pages in {}", book.display());
    pages.push(repo.join("README.md"));
    let mut broken = Vec::new();
    let mut checked = 0;
    for page in &pages {
        let text = fs::read_to_string(page).unwrap();
        for target in links(&text) {
            if target.contains("://") || target.starts_with("mailto:") {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target.as_str(), None),
            };
            let file = if path.is_empty() {
                page.clone()
            } else {
                normalize(&page.parent().unwrap().join(path))
            };
            checked += 1;
            let shown = format!(
                "{}: ({target})",
                page.strip_prefix(&repo).unwrap().display()
            );
            if !file.starts_with(&repo) {
                broken.push(format!("{shown}: outside the repository"));
                continue;
            }
            if !file.exists() {
                broken.push(format!("{shown}: no such file"));
                continue;
            }
            if let Some(anchor) = anchor {
                if file.extension().is_some_and(|e| e == "md")
                    && !anchors(&fs::read_to_string(&file).unwrap()).contains(anchor)
                {
                    broken.push(format!("{shown}: no heading with this anchor"));
                }
            }
        }
    }
    assert!(
        checked > 50,
        "only {checked} links found: is the parser right?"
    );
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn anchors_are_made_as_mdbook_makes_them() {
    let page = "# Fail closed, and `on-log-failure continue`\n## The [Lints](x.md) table\n## Repeat\n## Repeat\n```\n# not a heading\n```\n";
    let found = anchors(page);
    assert!(
        found.contains("fail-closed-and-on-log-failure-continue"),
        "{found:?}"
    );
    assert!(found.contains("the-lints-table"), "{found:?}");
    assert!(
        found.contains("repeat") && found.contains("repeat-1"),
        "{found:?}"
    );
    assert!(!found.contains("not-a-heading"), "{found:?}");
    assert!(anchors("<a id=\"kill-signals\"></a>\n").contains("kill-signals"));
    assert_eq!(
        without_code_spans("a ``` `]` x `(` ``` b `c` d [l](t)"),
        "a  b  d [l](t)"
    );
}
