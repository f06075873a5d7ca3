//! The compiled matcher against a reference interpreter of the source rules.
//!
//! The fuzz input chooses a few rules in a subset of the filter language
//! (literals, `<int>` with or without bounds, `<mode>`, `<operand>`, `<any>`,
//! groups of alternatives, optional and any-order items, `...`) and a few
//! command lines. The rules are written out as a filter file, compiled by the
//! compiler and decided on by the runtime's matcher in policy-test mode (no
//! host lookups); `reference` below decides on the same rules by a direct
//! backtracking search over the language's definitions (book: "Argument
//! patterns"). Both must agree on every rule (matches or not) and on the
//! decision: which rule allows, and the argv passed on. Nothing in the
//! subset depends on the host (no paths, no `<pid>`).
#![no_main]

use std::ffi::{OsStr, OsString};

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use rootwrap::format::Ruleset;
use rootwrap::matcher::{match_rule, AssumeInstalled, Context, Decision, Fault, Invocation};
use rootwrap_compile::diag::Severity;
use rootwrap_compile::{compile_sources, Sources};

/// The source rules, as the interpreter reads them and the compiler gets them.
mod source {
    use std::fmt::{self, Write as _};

    /// A pattern for exactly one argument.
    #[derive(Debug)]
    pub enum Pattern {
        Literal(String),
        /// `<int>`, `<int MIN..>`, `<int ..MAX>`, `<int MIN..MAX>`.
        Int(Option<i64>, Option<i64>),
        /// `<mode>`: 3 or 4 octal digits, at most 0777.
        Mode,
        /// `<operand>`: not empty, not starting with `-`.
        Operand,
        /// `<any>`: any one argument.
        Any,
    }

    #[derive(Debug)]
    pub enum Item {
        One(Pattern),
        /// `(A B | C)`: one of these sequences.
        Group(Vec<Vec<Item>>),
        /// `[A B]`: the sequence, or nothing.
        Optional(Vec<Item>),
        /// `{ A [B] }`: each item at most once, in any order, each use
        /// matching at least one argument; all but `Optional` ones required.
        AnyOrder(Vec<Item>),
    }

    #[derive(Debug)]
    pub struct Rule {
        pub name: String,
        pub command: &'static str,
        pub items: Vec<Item>,
        /// Ends in `...`.
        pub any_rest: bool,
    }

    fn word(f: &mut String, w: &str) -> fmt::Result {
        let bare = !w.is_empty()
            && w != "..."
            && w.chars()
                .all(|c| c.is_ascii_alphanumeric() || "=:/._,+-".contains(c));
        if bare {
            write!(f, "{w}")
        } else {
            f.push('"');
            for c in w.chars() {
                match c {
                    '"' | '\\' => write!(f, "\\{c}")?,
                    '\n' => f.push_str("\\n"),
                    '\t' => f.push_str("\\t"),
                    '\r' => f.push_str("\\r"),
                    c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
                    c => f.push(c),
                }
            }
            f.push('"');
            Ok(())
        }
    }

    fn items(f: &mut String, items: &[Item]) -> fmt::Result {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                f.push(' ');
            }
            match item {
                Item::One(Pattern::Literal(w)) => word(f, w)?,
                Item::One(Pattern::Int(min, max)) => match (min, max) {
                    (None, None) => f.push_str("<int>"),
                    (Some(min), None) => write!(f, "<int {min}..>")?,
                    (None, Some(max)) => write!(f, "<int ..{max}>")?,
                    (Some(min), Some(max)) => write!(f, "<int {min}..{max}>")?,
                },
                Item::One(Pattern::Mode) => f.push_str("<mode>"),
                Item::One(Pattern::Operand) => f.push_str("<operand>"),
                Item::One(Pattern::Any) => f.push_str("<any>"),
                Item::Group(alternatives) => {
                    f.push('(');
                    for (j, sequence) in alternatives.iter().enumerate() {
                        if j > 0 {
                            f.push_str(" | ");
                        }
                        self::items(f, sequence)?;
                    }
                    f.push(')');
                }
                Item::Optional(sequence) => {
                    f.push('[');
                    self::items(f, sequence)?;
                    f.push(']');
                }
                Item::AnyOrder(members) => {
                    f.push_str("{ ");
                    self::items(f, members)?;
                    f.push_str(" }");
                }
            }
        }
        Ok(())
    }

    /// The filter file.
    pub fn render(rules: &[Rule]) -> Result<String, fmt::Error> {
        let mut f = String::from("ruleset differential\nexec-dirs /bin\n");
        for rule in rules {
            write!(f, "allow {}: {} ", rule.name, rule.command)?;
            items(&mut f, &rule.items)?;
            if rule.any_rest {
                f.push_str(" ...");
            }
            f.push('\n');
        }
        Ok(f)
    }
}

/// The reference: the language's definitions, searched exhaustively.
mod reference {
    use super::source::{Item, Pattern, Rule};

    /// A decimal integer written canonically: `-?(0|[1-9][0-9]*)`, in i64.
    fn int(arg: &str) -> Option<i64> {
        let digits = arg.strip_prefix('-').unwrap_or(arg);
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && arg != "-0";
        if canonical {
            arg.parse().ok()
        } else {
            None
        }
    }

    fn matches(pattern: &Pattern, arg: &str) -> bool {
        match pattern {
            Pattern::Literal(w) => arg == w,
            Pattern::Int(min, max) => int(arg)
                .is_some_and(|v| min.is_none_or(|min| min <= v) && max.is_none_or(|max| v <= max)),
            Pattern::Mode => {
                (3..=4).contains(&arg.len())
                    && arg.bytes().all(|b| (b'0'..=b'7').contains(&b))
                    && u32::from_str_radix(arg, 8).is_ok_and(|m| m <= 0o777)
            }
            Pattern::Operand => !arg.is_empty() && !arg.starts_with('-'),
            Pattern::Any => true,
        }
    }

    /// Whether `items` match a prefix of `args` after which `then` accepts
    /// the arguments left.
    fn sequence(items: &[Item], args: &[&str], then: &mut dyn FnMut(&[&str]) -> bool) -> bool {
        match items.split_first() {
            None => then(args),
            Some((first, rest)) => item(first, args, &mut |left| sequence(rest, left, then)),
        }
    }

    fn item(item: &Item, args: &[&str], then: &mut dyn FnMut(&[&str]) -> bool) -> bool {
        match item {
            Item::One(pattern) => match args.split_first() {
                Some((arg, left)) if matches(pattern, arg) => then(left),
                _ => false,
            },
            Item::Group(alternatives) => alternatives.iter().any(|s| sequence(s, args, then)),
            Item::Optional(items) => sequence(items, args, then) || then(args),
            Item::AnyOrder(members) => any_order(members, 0, args, then),
        }
    }

    /// `used`: a bit per member already matched.
    fn any_order(
        members: &[Item],
        used: u32,
        args: &[&str],
        then: &mut dyn FnMut(&[&str]) -> bool,
    ) -> bool {
        let done = members
            .iter()
            .enumerate()
            .all(|(i, m)| used & (1 << i) != 0 || matches!(m, Item::Optional(_)));
        if done && then(args) {
            return true;
        }
        members.iter().enumerate().any(|(i, member)| {
            if used & (1 << i) != 0 {
                return false;
            }
            // `[B]` in an any-order group: B, which may be left out.
            let one = |then: &mut dyn FnMut(&[&str]) -> bool| match member {
                Item::Optional(items) => sequence(items, args, then),
                other => item(other, args, then),
            };
            one(&mut |left| {
                left.len() < args.len() && any_order(members, used | (1 << i), left, then)
            })
        })
    }

    pub fn allows(rule: &Rule, command: &str, args: &[&str]) -> bool {
        let named = command == rule.command
            || (rule.command.starts_with('/') && rule.command.rsplit('/').next() == Some(command));
        named
            && sequence(&rule.items, args, &mut |left| {
                rule.any_rest || left.is_empty()
            })
    }
}

use source::{Item, Pattern, Rule};

const COMMANDS: &[&str] = &["c0", "c1", "/bin/c2"];
/// Callers' spellings: the rules' commands, and ones no rule has.
const CALLED: &[&str] = &["c0", "c1", "/bin/c2", "c2", "/bin/c0", "c3"];
const WORDS: &[&str] = &[
    "a", "b", "-v", "--x", "0", "7", "-1", "12", "0644", "4755", "777", "0777", "x=1", "", "a b",
    "...", "#c", "é", "-", "--", "\"",
];
/// Arguments beyond the words: integers and near-integers, modes.
const VALUES: &[&str] = &[
    "-0",
    "+1",
    "007",
    "00",
    "1 ",
    "9223372036854775807",
    "9223372036854775808",
    "-9223372036854775808",
    "0640",
    "01777",
    "0008",
    "64",
    "3",
    "-5",
];

fn pattern(u: &mut Unstructured) -> Result<Pattern> {
    let bound = |u: &mut Unstructured| -> Result<Option<i64>> {
        Ok(if u.arbitrary()? {
            Some(u.int_in_range(-3..=20)?)
        } else {
            None
        })
    };
    Ok(match u.int_in_range(0..=9)? {
        0..=4 => Pattern::Literal((*u.choose(WORDS)?).to_string()),
        5 | 6 => {
            let (a, b) = (bound(u)?, bound(u)?);
            match (a, b) {
                (Some(a), Some(b)) if a > b => Pattern::Int(Some(b), Some(a)),
                _ => Pattern::Int(a, b),
            }
        }
        7 => Pattern::Mode,
        8 => Pattern::Operand,
        _ => Pattern::Any,
    })
}

/// Items, with `budget` nodes left in all and `depth` brackets around.
fn items(u: &mut Unstructured, budget: &mut u32, depth: u32, max: u32) -> Result<Vec<Item>> {
    let count = u.int_in_range(1..=max)?;
    let mut out = Vec::new();
    for _ in 0..count {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        let kind = if depth >= 3 {
            0
        } else {
            u.int_in_range(0..=6)?
        };
        out.push(match kind {
            0..=2 => Item::One(pattern(u)?),
            3 => {
                let n = u.int_in_range(1..=3)?;
                let mut alternatives = Vec::new();
                for _ in 0..n {
                    alternatives.push(items(u, budget, depth + 1, 2)?);
                }
                Item::Group(alternatives)
            }
            4 => Item::Optional(items(u, budget, depth + 1, 2)?),
            _ => {
                let n = u.int_in_range(1..=4)?;
                let mut members = Vec::new();
                for _ in 0..n {
                    // Any item, or `[...]`. An item that can match nothing
                    // (`(a | [b])`) only counts as used when it matched
                    // something.
                    let member = if u.ratio(1, 3)? {
                        Item::Optional(items(u, budget, depth + 1, 2)?)
                    } else {
                        items(u, budget, depth + 1, 1)?.remove(0)
                    };
                    members.push(member);
                }
                Item::AnyOrder(members)
            }
        });
    }
    if out.is_empty() {
        out.push(Item::One(pattern(u)?));
    }
    Ok(out)
}

fn argument(u: &mut Unstructured) -> Result<String> {
    Ok(match u.int_in_range(0..=9)? {
        0..=5 => (*u.choose(WORDS)?).to_string(),
        6..=8 => (*u.choose(VALUES)?).to_string(),
        _ => {
            let s: String = u.arbitrary()?;
            s.chars().filter(|&c| c != '\0').take(8).collect()
        }
    })
}

fn generate(u: &mut Unstructured) -> Result<(Vec<Rule>, Vec<Vec<String>>)> {
    let mut rules = Vec::new();
    for i in 0..u.int_in_range(1..=4)? {
        let mut budget = 12;
        rules.push(Rule {
            name: format!("r{i}"),
            command: u.choose(COMMANDS)?,
            items: items(u, &mut budget, 0, 4)?,
            any_rest: u.ratio(1, 4)?,
        });
    }
    let mut argvs = Vec::new();
    for _ in 0..u.int_in_range(1..=8)? {
        let mut argv = vec![(*u.choose(CALLED)?).to_string()];
        for _ in 0..u.int_in_range(0..=7)? {
            argv.push(argument(u)?);
        }
        argvs.push(argv);
    }
    Ok((rules, argvs))
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok((rules, argvs)) = generate(&mut u) else {
        return;
    };
    let Ok(text) = source::render(&rules) else {
        return;
    };
    let mut sources = Sources::default();
    let compiled = match compile_sources(
        vec![("differential.rwf".into(), text.clone())],
        false,
        &mut sources,
    ) {
        Ok(compiled) => compiled,
        // The compiler refuses a rule that could reach the matcher's step
        // limit (so that the limit never decides a call): nothing to compare.
        Err(failed)
            if failed
                .diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .all(|d| d.message.contains("matching steps")) =>
        {
            return;
        }
        Err(failed) => {
            let shown: Vec<String> = failed
                .diagnostics
                .iter()
                .map(|d| sources.render(d))
                .collect();
            panic!("the subset must compile:\n{text}\n{}", shown.join("\n"));
        }
    };
    let ruleset = match Ruleset::from_bytes(&compiled.bytes) {
        Ok(ruleset) => ruleset,
        Err(e) => panic!("{e}"),
    };
    let compiled_rules = match ruleset.all_rules() {
        Ok(compiled_rules) => compiled_rules,
        Err(e) => panic!("{e}"),
    };
    assert_eq!(compiled_rules.len(), rules.len(), "{text}");
    let lookup = |command: &[u8]| ruleset.rules_for(command);
    let exec_dirs = vec!["/bin".to_string()];
    let ctx = Context::new(&exec_dirs, &lookup, &AssumeInstalled);

    for argv in &argvs {
        let os_argv: Vec<OsString> = argv.iter().map(OsString::from).collect();
        let args: Vec<&str> = argv[1..].iter().map(String::as_str).collect();
        let Some(call) = Invocation::parse(&os_argv) else {
            panic!("no command in {argv:?}");
        };
        // Rule by rule.
        let mut too_complex = false;
        for (rule, lowered) in rules.iter().zip(&compiled_rules) {
            assert_eq!(rule.name, lowered.name);
            let expected = reference::allows(rule, &argv[0], &args);
            match match_rule(lowered, &call, &ctx) {
                Ok(Ok(matched)) => {
                    assert!(expected, "the matcher allows what the reference denies: rule {} {argv:?}\n{text}lowered: {lowered:?}", rule.name);
                    let passed: Vec<&OsStr> = matched.args.iter().map(|p| &*p.value).collect();
                    let given: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
                    assert_eq!(passed, given, "{argv:?}\n{text}");
                    assert!(matched.env.is_empty() && matched.chained.is_none());
                }
                Err(Fault::TooComplex) => too_complex = true,
                Err(Fault::Ruleset(e)) => panic!("the ruleset failed: {e}\n{text}"),
                Ok(Err(why)) => assert!(
                    !expected,
                    "the matcher denies ({why}) what the reference allows: rule {} {argv:?}\n{text}",
                    rule.name
                ),
            }
        }
        if too_complex {
            // The matcher gave up on a rule (its documented step bound):
            // nothing to compare the decision with.
            continue;
        }
        // The decision: the first rule in declaration order.
        let first = rules.iter().find(|r| reference::allows(r, &argv[0], &args));
        match ruleset.decide(&os_argv, &AssumeInstalled) {
            Ok(Decision::Allow(allowed)) => {
                let Some(first) = first else {
                    panic!(
                        "decide allows {argv:?} by {}, the reference denies\n{text}",
                        allowed.rule.name
                    );
                };
                assert_eq!(allowed.rule.name, first.name, "{argv:?}\n{text}");
                let mut expected_argv = vec![OsString::from(first.command)];
                expected_argv.extend(args.iter().map(OsString::from));
                assert_eq!(allowed.argv, expected_argv, "{text}");
                assert_eq!(
                    allowed.env,
                    vec![("PATH".to_string(), OsString::from("/bin"))]
                );
            }
            Ok(Decision::Deny { .. }) => {
                assert!(
                    first.is_none(),
                    "decide denies {argv:?}, the reference allows by {:?}\n{text}",
                    first.map(|r| &r.name)
                );
            }
            other => panic!("policy-test mode decided {other:?}"),
        }
    }
});
