//! oslo.rootwrap conformance: every row of section 4 of the reference spec
//! that concerns matching or execution, written as data in
//! `conformance/oslo.conf` (format at its top). Each row's rules are compiled
//! and its command lines decided by the runtime's `Ruleset::decide`, with
//! executables looked up on this host, exactly as `rootwrap` decides.
//! Failures name the spec row. Rows that run a command also go through the
//! real binary in tests/tests/conformance_runtime.rs.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

#[path = "conformance/support.rs"]
mod support;

use std::ffi::OsString;

use rootwrap::format::Ruleset;
use rootwrap::matcher::Decision;
use rootwrap_compile::{compile_sources, Sources};

use support::{compare, describe, show_argv, Expected, Fixture, Row};

/// Rows of the spec the data covers (all of section 4 but the loader and
/// configuration rows 1-18, the daemon rows 134-143 and row 77): deleting
/// an entry, or skipping one more, fails the test.
const COVERED_ROWS: usize = 114;
/// The rows left out, each with its reason in the data.
const SKIPPED_ROWS: &[u32] = &[
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 77, 134, 135, 136, 137, 138,
    139, 140, 141, 142, 143,
];

/// Compiles the row's rules and runs its cases; the failures, described.
fn run_row(row: &Row) -> Vec<String> {
    let source = row.source();
    let mut sources = Sources::default();
    let name = format!("oslo.conf row {}", row.number);
    let compiled = match compile_sources(vec![(name, source.clone())], false, &mut sources) {
        Ok(compiled) => compiled,
        Err(failed) => {
            let shown: Vec<String> = sources.render_all(&failed.diagnostics);
            return vec![format!(
                "the rules do not compile:\n{source}\n{}",
                shown.join("\n")
            )];
        }
    };
    let ruleset = Ruleset::from_bytes(&compiled.bytes).expect("a ruleset the compiler wrote");
    let exec_dirs = ruleset.options().exec_dirs.clone();
    let mut failures = Vec::new();
    for case in &row.cases {
        let decision = match ruleset.decide(&case.argv, &rootwrap::matcher::OnThisHost) {
            Ok(decision) => decision,
            Err(e) => {
                failures.push(format!(
                    "oslo.conf:{}: `{}`: the ruleset failed: {e}",
                    case.line,
                    show_argv(&case.argv)
                ));
                continue;
            }
        };
        if let Some(why) = compare(case, &decision, &exec_dirs) {
            failures.push(format!(
                "oslo.conf:{}: `{}`\n      expected: {}\n      {why}",
                case.line,
                show_argv(&case.argv),
                case.text
                    .split_once("=>")
                    .map_or("", |(_, expected)| expected.trim()),
            ));
        }
    }
    failures
}

/// The `id="..."` anchors of the differences chapter.
fn book_anchors() -> Vec<String> {
    let path = support::differences_path();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    text.split("id=\"")
        .skip(1)
        .filter_map(|rest| rest.split_once('"').map(|(id, _)| id.to_string()))
        .collect()
}

#[test]
fn oslo_conformance_rows() {
    let fixture = Fixture::new(&std::env::temp_dir());
    // Relative paths in the data (row 63) are the caller's: taken from the
    // working directory; no other test in this binary depends on it.
    std::env::set_current_dir(&fixture.root).unwrap();
    let data = fixture.load().unwrap_or_else(|e| panic!("{e}"));

    let anchors = book_anchors();
    let mut failures = Vec::new();
    let mut known_bugs = Vec::new();
    for row in data.covered() {
        for case in &row.cases {
            if case.expected == Expected::Deny(None) {
                failures.push(format!(
                    "oslo.conf:{}: a denial states its reason here: `=> deny: REASON`",
                    case.line
                ));
            }
        }
        for anchor in &row.differs {
            if !anchors.contains(anchor) {
                failures.push(format!(
                    "row {} (oslo.conf:{}): `differs: {anchor}`: book/src/differences.md has no id=\"{anchor}\"",
                    row.number, row.line
                ));
            }
        }
        let row_failures = run_row(row);
        match (&row.bug, row_failures.is_empty()) {
            (None, true) => {}
            (None, false) => failures.push(format!(
                "row {} (oslo.conf:{}), oslo: {}\n    {}",
                row.number,
                row.line,
                row.oslo.join(" / "),
                row_failures.join("\n    ")
            )),
            (Some(bug), false) => known_bugs.push(format!("row {}: {bug}", row.number)),
            (Some(_), true) => failures.push(format!(
                "row {} (oslo.conf:{}) passes: remove its `bug:` marker",
                row.number, row.line
            )),
        }
    }
    for bug in &known_bugs {
        support::say(&format!("known matcher bug (tolerated): {bug}"));
    }

    let covered = data.covered().count();
    let skipped: Vec<u32> = data.skipped().map(|r| r.number).collect();
    assert!(
        failures.is_empty(),
        "{} conformance row(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        covered, COVERED_ROWS,
        "the number of rows covered by oslo.conf changed"
    );
    assert_eq!(
        skipped, SKIPPED_ROWS,
        "the rows skipped by oslo.conf changed"
    );
}

/// Row 41 has no rule in oslo.conf because the importer writes none: an
/// oslo RegExpFilter without regexes never matches, and `import-oslo`
/// refuses it rather than write a rule that would match something. The
/// filter, imported and compiled, denies the row's command lines.
#[test]
fn row_41_a_regexp_filter_without_regexes_allows_nothing() {
    use rootwrap_compile::oslo::{import_texts, ImportOptions, Outcome};
    let import = import_texts(
        vec![(
            "row41.filters".into(),
            "[Filters]\nsleep: RegExpFilter, sleep, root\n".into(),
        )],
        ImportOptions::default(),
    )
    .unwrap();
    let record = import.records().find(|r| r.oslo_name == "sleep").unwrap();
    match &record.outcome {
        Outcome::Refused(refusal) => assert_eq!(
            refusal.category,
            rootwrap_compile::oslo::reason::Category::DeadFilter
        ),
        Outcome::Imported(_) => panic!("imported:\n{}", import.combined()),
    }
    let mut sources = Sources::default();
    let compiled = compile_sources(import.outputs(), false, &mut sources)
        .unwrap_or_else(|f| panic!("{}", sources.render_all(&f.diagnostics).join("\n")));
    let ruleset = Ruleset::from_bytes(&compiled.bytes).unwrap();
    for argv in [&["sleep"][..], &["sleep", "1"], &["/bin/sleep", "1"], &[]] {
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let decision = ruleset
            .decide(&argv, &rootwrap::matcher::OnThisHost)
            .unwrap();
        assert!(
            matches!(decision, Decision::Deny { .. }),
            "{}: {}",
            show_argv(&argv),
            describe(&decision)
        );
    }
}

#[test]
fn the_data_format_is_parsed_strictly() {
    let rows: String = (2..=support::SPEC_ROWS)
        .map(|n| format!("row {n}\n  skip: x\n"))
        .collect();
    let good = format!(
        "row 1\n  oslo: F\n  rwf: allow a: /bin/echo\n  case: echo => allow a : /bin/echo | env A=\"x y\" | as nobody\n{rows}"
    );
    let data = support::parse(&good).unwrap();
    let case = &data.rows[0].cases[0];
    assert_eq!(
        case.expected,
        Expected::Allow {
            rule: "a".into(),
            via: None,
            exec: Some(support::Exec {
                argv: vec!["/bin/echo".into()],
                env: vec![("A".into(), "x y".into())],
                user: "nobody".into(),
            }),
        }
    );
    let with_reason = good.replace(
        "=> allow a : /bin/echo | env A=\"x y\" | as nobody",
        "=> deny: rule `a`: argument 1 `x` is one too many",
    );
    assert_eq!(
        support::parse(&with_reason).unwrap().rows[0].cases[0].expected,
        Expected::Deny(Some("rule `a`: argument 1 `x` is one too many".into()))
    );
    for bad in [
        good.replace("row 1\n", "row 2\n"),
        with_reason.replace("=> deny: rule", "=> deny rule"),
        with_reason.replace(
            "=> deny: rule `a`: argument 1 `x` is one too many",
            "=> deny:",
        ),
        good.replace("case: echo =>", "case: echo"),
        good.replace("  oslo: F\n", ""),
        good.replace("  oslo: F\n", "  oslo: F\n  differs: x\n"),
        good.replace("  oslo: F\n", "  oslo: F\n  use: NOPE\n"),
        good.replace("=> allow a", "=> allow"),
        good.replace("  oslo: F\n", "  olso: F\n"),
        format!("{good}row 144\n  skip: x\n"),
    ] {
        assert!(support::parse(&bad).is_err(), "accepted:\n{bad}");
    }
}

/// The shipped filters, compiled as one ruleset as they are installed: no
/// warning, every policy test passing (`filters/common-commands.rwf` holds
/// the precise rules for the commands that are root with free arguments,
/// each with its abuses as `test deny` lines).
#[test]
fn shipped_filters_compile_without_warnings_and_pass_their_tests() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
    let mut sources = Sources::default();
    let compiled =
        rootwrap_compile::compile_paths(&[dir], true, &mut sources).unwrap_or_else(|failed| {
            let shown: Vec<String> = sources.render_all(&failed.diagnostics);
            panic!("filters/ does not compile cleanly:\n{}", shown.join("\n"))
        });
    assert!(compiled.warnings.is_empty());
    assert!(
        compiled.tests_run >= 150,
        "only {} policy tests",
        compiled.tests_run
    );
    // Shells and no-op programs stay denied: other checks rely on it.
    let ruleset = Ruleset::from_bytes(&compiled.bytes).unwrap();
    for argv in [
        &["true"][..],
        &["/bin/true"],
        &["/usr/bin/true"],
        &["sh", "-c", "id"],
        &["/bin/sh", "-c", "id"],
        &["cat", "/etc/shadow"],
    ] {
        let argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let decision = ruleset
            .decide(&argv, &rootwrap::matcher::AssumeInstalled)
            .unwrap();
        assert!(
            matches!(decision, Decision::Deny { .. }),
            "filters/ allows {}: {}",
            show_argv(&argv),
            describe(&decision)
        );
    }
}
