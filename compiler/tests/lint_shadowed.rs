//! The `shadowed` lint is sound: whenever it says rule B never decides
//! because of rule A, every command line B allows, A allows too (checked
//! with the runtime's matcher, on generated rule pairs and every short
//! command line over a small vocabulary). And it is not empty: a share of
//! the generated pairs must be reported, or the check proves nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::OsString;

use proptest::prelude::*;
use rootwrap::format::Ruleset;
use rootwrap::matcher::{AssumeInstalled, Decision};
use rootwrap_compile::{compile_sources, Sources};

const HEAD: &str = "ruleset t\nexec-dirs /usr/bin /bin\n";

/// Items the generated rules are made of, chosen to overlap a lot.
const ITEMS: &[&str] = &[
    "-l",
    "-a",
    "x",
    "<int 1..5>",
    "<int 0..9>",
    "<int -3..3>",
    "<any>",
    "<operand>",
    "re\"[a-z]+\"",
    "(-l | -a)",
    "(-l | x)",
    "[-l]",
    "[-a x]",
    "(x 3 | -l)",
    "{ -l [-a] }",
];

/// The commands of the generated rules: one, or a group of several.
const COMMANDS: &[&str] = &["ls", "dir", "(ls | dir)", "(dir | ls)", "(ls | vdir)"];

/// The words of the command lines tried.
const WORDS: &[&str] = &["-l", "-a", "x", "3", "7", "abc", "12", "-x", "-2"];

fn rule_text(name: &str, items: &[usize], any_rest: bool) -> String {
    command_rule_text(name, 0, items, any_rest)
}

fn command_rule_text(name: &str, command: usize, items: &[usize], any_rest: bool) -> String {
    let mut text = format!("allow {name}: {}", COMMANDS[command]);
    for &i in items {
        text.push(' ');
        text.push_str(ITEMS[i]);
    }
    if any_rest {
        text.push_str(" ...");
    }
    text.push('\n');
    text
}

fn compiled(rules: &str) -> (Ruleset<Vec<u8>>, Vec<String>) {
    let mut sources = Sources::default();
    let compiled = compile_sources(
        vec![("t.rwf".into(), format!("{HEAD}{rules}"))],
        false,
        &mut sources,
    )
    .unwrap_or_else(|failed| panic!("{rules}: {:?}", failed.diagnostics));
    let shadowed = compiled
        .warnings
        .iter()
        .filter(|d| d.code.is_some_and(|c| c.code() == "shadowed"))
        .map(|d| d.message.clone())
        .collect();
    (Ruleset::from_bytes(&compiled.bytes).unwrap(), shadowed)
}

fn allows(ruleset: &Ruleset<Vec<u8>>, argv: &[OsString]) -> bool {
    matches!(
        ruleset.decide(argv, &AssumeInstalled).unwrap(),
        Decision::Allow(_)
    )
}

/// Every command line `ls W...` and `dir W...` with up to three words.
fn command_lines() -> Vec<Vec<OsString>> {
    let mut all = vec![vec![OsString::from("ls")], vec![OsString::from("dir")]];
    let mut last = all.clone();
    for _ in 0..3 {
        let mut next = Vec::new();
        for argv in &last {
            for word in WORDS {
                let mut longer = argv.clone();
                longer.push(OsString::from(word));
                next.push(longer);
            }
        }
        all.extend(next.iter().cloned());
        last = next;
    }
    all
}

fn items() -> impl Strategy<Value = (usize, Vec<usize>, bool)> {
    (
        0..COMMANDS.len(),
        proptest::collection::vec(0..ITEMS.len(), 0..3),
        any::<bool>(),
    )
}

/// Checks the property for one pair; whether the pair was reported.
fn check_pair(a: &str, b: &str) -> Result<bool, TestCaseError> {
    let (_, shadowed) = compiled(&format!("{a}{b}"));
    if shadowed.is_empty() {
        return Ok(false);
    }
    let (only_a, _) = compiled(a);
    let (only_b, _) = compiled(b);
    for argv in command_lines() {
        prop_assert!(
            !allows(&only_b, &argv) || allows(&only_a, &argv),
            "{a}{b}reported shadowed, but {argv:?} is allowed by b and not a"
        );
    }
    Ok(true)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 150, ..ProptestConfig::default() })]

    #[test]
    fn a_shadowed_rule_allows_nothing_the_earlier_one_does_not(
        (a_command, a_items, a_rest) in items(),
        (b_command, b_items, b_rest) in items(),
    ) {
        check_pair(
            &command_rule_text("a", a_command, &a_items, a_rest),
            &command_rule_text("b", b_command, &b_items, b_rest),
        )?;
    }
}

/// Every pair of single items, with and without `...`: the property holds,
/// and a good share of the pairs is reported (or it proves little).
#[test]
fn every_pair_of_single_items() {
    let mut reported = 0;
    for i in 0..ITEMS.len() {
        for j in 0..ITEMS.len() {
            for (a_rest, b_rest) in [(false, false), (true, false), (true, true), (false, true)] {
                let a = rule_text("a", &[i], a_rest);
                let b = rule_text("b", &[j], b_rest);
                reported += usize::from(check_pair(&a, &b).unwrap());
            }
        }
    }
    assert!(reported >= 60, "only {reported} pairs reported");
}

/// Rules for several commands (`(ls | dir)`): an earlier rule shadows a
/// later one only when it has every command of the later one.
#[test]
fn groups_of_commands() {
    let mut reported = Vec::new();
    for (a, a_command) in COMMANDS.iter().enumerate() {
        for (b, b_command) in COMMANDS.iter().enumerate() {
            let a_text = command_rule_text("a", a, &[2], false);
            let b_text = command_rule_text("b", b, &[2], false);
            if check_pair(&a_text, &b_text).unwrap() {
                reported.push((*a_command, *b_command));
            }
        }
    }
    for pair in [
        ("ls", "ls"),
        ("(ls | dir)", "ls"),
        ("(ls | dir)", "dir"),
        ("(ls | dir)", "(dir | ls)"),
    ] {
        assert!(reported.contains(&pair), "{pair:?} not reported");
    }
    for pair in [
        ("ls", "(ls | dir)"),
        ("(ls | vdir)", "(ls | dir)"),
        ("ls", "dir"),
    ] {
        assert!(!reported.contains(&pair), "{pair:?} reported");
    }
}
