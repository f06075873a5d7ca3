//! Python `re` syntax to the rootwrap language's regex dialect (Rust's
//! regex-syntax), for the regexes of oslo's RegExpFilter and
//! ChainingRegExpFilter.
//!
//! oslo matches with `re.match(pattern + '$', arg)`. The translation must
//! never accept an argument that oslo refuses, so wherever the dialects
//! differ it picks the stricter side and says so:
//! - oslo's `$` also accepts a trailing newline; a rule's regex matches the
//!   whole argument, nothing more;
//! - `A|B$` leaves `A` anchored at the start only; the translation anchors
//!   every alternative;
//! - Python's `\d`, `\w`, `\s` are Unicode classes; the translation uses
//!   their ASCII part (inside a negated class, a Unicode superset, so the
//!   negation stays a subset);
//! - constructs the automaton cannot run (look-around, back-references,
//!   word boundaries) are refused, except the "directory, then no `..`"
//!   idiom, which becomes a path constraint.

use super::reason::Category;

mod emit;
mod idioms;
mod parse;

use emit::*;
use idioms::*;
use parse::*;

pub use parse::MAX_GROUP_NESTING;

/// What a Python regex argument becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// A plain string: the regex has no special characters.
    Literal(String),
    /// One of these plain strings.
    Literals(Vec<String>),
    /// A regex in the rule language's dialect (`re"..."`, `u` when it needs
    /// Unicode mode).
    Regex { source: String, unicode: bool },
    /// `<path DIR/**>`: the look-ahead idiom `DIR/(?!...\.\.).*`.
    PathUnder(String),
}

/// A way in which the translation is stricter than Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stricter {
    pub category: Category,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub translation: Translation,
    pub stricter: Vec<Stricter>,
}

/// Why a regex cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untranslatable {
    /// Python itself rejects it (`re.error`): oslo's filter never matches.
    PythonError(String),
    /// Groups nest deeper than `MAX_GROUP_NESTING`.
    TooDeep,
    /// The translation is one the compiler refuses (why, in its words).
    Uncompilable(String),
    /// Valid Python the rule language has no equivalent for.
    Unsupported {
        construct: String,
        suggestion: String,
    },
}

/// Translates one Python regex as oslo uses it: `re.match(pattern + '$', arg)`.
pub fn translate(pattern: &str) -> Result<Translated, Untranslatable> {
    let (alternatives, flags) = parse(pattern).map_err(|error| match error {
        ParseError::Python(error) => Untranslatable::PythonError(error),
        ParseError::TooDeep => Untranslatable::TooDeep,
    })?;
    let alternatives = strip_appended_end(alternatives);
    let mut stricter = Vec::new();
    let newline = Stricter {
        category: Category::RegexNewline,
        note: "the argument must match exactly; oslo's appended `$` also let it end with a newline"
            .into(),
    };

    if let Some(dir) = lookahead_path(&alternatives) {
        stricter.push(Stricter {
            category: Category::PathLookahead,
            note: format!(
                "`{pattern}` is the path constraint `<path {dir}/**>`: the path is resolved (`..`, symlinks) and must lie under {dir}, so escapes such as `{dir}/a/../../x`, which the regex let through, are refused; the resolved path is passed on"
            ),
        });
        return Ok(Translated {
            translation: Translation::PathUnder(dir),
            stricter,
        });
    }

    let top_level_alternation = alternatives.len() > 1;
    if top_level_alternation {
        let first = alternatives
            .first()
            .map(describe_branch)
            .unwrap_or_default();
        stricter.push(Stricter {
            category: Category::RegexAlternation,
            note: format!(
                "every alternative must match the whole argument; in oslo `|` was not grouped, so only the last alternative was anchored at the end (`{first}` followed by anything was accepted)"
            ),
        });
    }
    let whole = if top_level_alternation {
        Node::Alt(alternatives)
    } else {
        alternatives.into_iter().next().unwrap_or(Node::Empty)
    };

    let case_sensitive = !flags.ignore_case;
    if case_sensitive {
        if let Some(text) = literal_text(&whole) {
            stricter.push(newline);
            return Ok(Translated {
                translation: Translation::Literal(text),
                stricter,
            });
        }
        if let Some(texts) = literal_alternatives(&whole) {
            stricter.push(newline);
            return Ok(Translated {
                translation: Translation::Literals(texts),
                stricter,
            });
        }
    }

    let mut emitter = Emitter {
        out: String::new(),
        unicode: false,
        stricter: Vec::new(),
        unsupported: None,
    };
    if flags.ignore_case {
        emitter.out.push_str("(?i)");
        emitter.unicode = true;
    }
    if flags.multiline {
        emitter.out.push_str("(?m)");
    }
    if flags.dot_all {
        emitter.out.push_str("(?s)");
    }
    emitter.node(&whole);
    if let Some(construct) = emitter.unsupported {
        return Err(Untranslatable::Unsupported {
            suggestion: suggestion_for(&construct),
            construct,
        });
    }
    // Case-insensitive matching beyond ASCII folds by the Unicode tables of
    // the regex engine, which are newer than Python 3.11's and fold some
    // characters Python does not (and Python's ASCII flag is not carried
    // into scoped groups): refused rather than risk accepting more.
    let beyond_ascii =
        !emitter.out.is_ascii() || emitter.out.contains("\\x{") || emitter.out.contains("\\p");
    if emitter.unicode && has_flag(&emitter.out, 'i') && (beyond_ascii || has_flag(pattern, 'a')) {
        return Err(Untranslatable::Unsupported {
            construct: "case-insensitive matching with Unicode".into(),
            suggestion: "list the accepted spellings, e.g. `(name|Name|NAME)`".into(),
        });
    }
    // What the compiler would refuse (deep nesting in its own dialect, an
    // automaton over the size limit) is refused here, with the reason.
    if let Err(why) = crate::lower::compile_regex(&emitter.out, emitter.unicode) {
        return Err(Untranslatable::Uncompilable(why.to_string()));
    }
    stricter.push(newline);
    stricter.extend(emitter.stricter);
    Ok(Translated {
        translation: Translation::Regex {
            source: emitter.out,
            unicode: emitter.unicode,
        },
        stricter,
    })
}

/// Whether a regex turns `flag` on anywhere: a flag group `(?...f...)` or
/// `(?...f...:`.
fn has_flag(source: &str, flag: char) -> bool {
    source.match_indices("(?").any(|(at, _)| {
        source[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .any(|c| c == flag)
    })
}

fn describe_branch(node: &Node) -> String {
    literal_text(node).unwrap_or_else(|| "the first alternative".into())
}

fn suggestion_for(construct: &str) -> String {
    if construct.contains("look") {
        "for a path under a directory write `<path /dir/**>`; otherwise list the allowed values, or write a regex without look-around".into()
    } else if construct.contains("back-reference") {
        "write the allowed values out, or a regex without back-references".into()
    } else if construct.contains("boundary") {
        "anchor with the argument's start and end instead: a rule's regex always matches the whole argument".into()
    } else {
        "rewrite the regex without it".into()
    }
}

/// Whether a Python regex (as oslo uses it) is valid Python at all.
pub fn python_error(pattern: &str) -> Option<String> {
    match parse(pattern) {
        Err(ParseError::Python(error)) => Some(error),
        _ => None,
    }
}

/// The Rust-dialect regex for a translation, for checking what it matches.
pub fn as_regex(translation: &Translation) -> Option<(String, bool)> {
    match translation {
        Translation::Literal(text) => Some((escape_all(text), !text.is_ascii())),
        Translation::Literals(texts) => Some((
            texts
                .iter()
                .map(|t| escape_all(t))
                .collect::<Vec<_>>()
                .join("|"),
            texts.iter().any(|t| !t.is_ascii()),
        )),
        Translation::Regex { source, unicode } => Some((source.clone(), *unicode)),
        Translation::PathUnder(_) => None,
    }
}

fn escape_all(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        push_escaped(&mut out, c, false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(p: &str) -> (String, bool) {
        match translate(p) {
            Ok(Translated {
                translation: Translation::Regex { source, unicode },
                ..
            }) => (source, unicode),
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn literals() {
        assert_eq!(
            translate("--max-time").map(|t| t.translation),
            Ok(Translation::Literal("--max-time".into()))
        );
        assert_eq!(
            translate("os_brick\\.privileged").map(|t| t.translation),
            Ok(Translation::Literal("os_brick.privileged".into()))
        );
        assert_eq!(
            translate("(--getsize64|--flushbufs)").map(|t| t.translation),
            Ok(Translation::Literals(vec![
                "--getsize64".into(),
                "--flushbufs".into()
            ]))
        );
        let ungrouped = translate("a|b").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            ungrouped.translation,
            Translation::Literals(vec!["a".into(), "b".into()])
        );
        assert!(ungrouped
            .stricter
            .iter()
            .any(|s| s.category == Category::RegexAlternation));
        assert_eq!(
            translate("").map(|t| t.translation),
            Ok(Translation::Literal(String::new()))
        );
    }

    #[test]
    fn classes_and_escapes() {
        assert_eq!(regex("\\d+"), ("[0-9]+".into(), false));
        assert_eq!(regex("/dev/.*"), ("/dev/.*".into(), true));
        assert_eq!(regex("[^/\\0]+"), ("[^/\\x{0}]+".into(), true));
        assert_eq!(
            regex("\\S+"),
            ("[^\\t-\\r\\x1C-\\x20\\x80-\\x{10FFFF}]+".into(), true)
        );
        assert_eq!(regex("[^\\d]"), ("[^\\p{Nd}]".into(), true));
        assert_eq!(
            regex("http://[0-9a-z:./-\\[\\]\\%]+"),
            ("http://[0-9a-z:./-\\[\\]%]+".into(), false)
        );
        assert_eq!(regex("\\d{1"), ("[0-9]\\{1".into(), false));
        assert_eq!(regex("a{,3}"), ("a{0,3}".into(), false));
        assert_eq!(regex(".*M$"), (".*M$".into(), true));
        assert_eq!(
            regex("echo '((.|\\n)*)'"),
            ("echo '(?:(?:.|\\x{A})*)'".into(), true)
        );
    }

    #[test]
    fn python_errors() {
        for bad in ["[a", "(a", "a)", "*a", "a**", "\\q", "[z-a]", "x{3,1}"] {
            assert!(
                matches!(translate(bad), Err(Untranslatable::PythonError(_))),
                "{bad}"
            );
        }
        assert!(translate("3}").is_ok());
    }

    #[test]
    fn flag_groups_and_names_python_refuses_are_refused() {
        for pattern in [
            "(?-u:x)",
            "(?-:x)",
            "(?)x",
            "(?au)x.",
            "(?au:x).",
            "(?i-i:x)",
            "(?P<a>x)(?P<a>y)",
            "(?P<a\u{b2}>x)",
        ] {
            assert!(
                matches!(translate(pattern), Err(Untranslatable::PythonError(_))),
                "{pattern}: {:?}",
                translate(pattern)
            );
        }
        assert!(translate("(?P<ab_1>x)(?P<c>y)").is_ok());
        assert!(translate("(?i:x)(?-i:y)").is_ok());
    }

    #[test]
    fn unicode_case_folding_is_refused() {
        for pattern in [
            "(?i)\u{264}x",
            "(?ai)k",
            "(?a)(?i:s)x",
            "(?i)[\u{100}-\u{200}]",
        ] {
            assert!(
                matches!(translate(pattern), Err(Untranslatable::Unsupported { .. })),
                "{pattern}"
            );
        }
        // ASCII-only case-insensitivity folds the same in both engines.
        assert!(translate("(?i)abc").is_ok());
    }

    #[test]
    fn python_ascii_space_anchors_and_verbose_whitespace() {
        // Python's ASCII `\s` has no \x1C-\x1F; its `\S` excludes them in
        // Unicode mode.
        assert_eq!(regex("(?a)\\s").0, "[\\t-\\r ]");
        assert_eq!(regex("\\s").0, "[\\t-\\r ]");
        assert_eq!(regex("\\S").0, "[^\\t-\\r\\x1C-\\x20\\x80-\\x{10FFFF}]");
        // `\A` stays the start of the argument under `(?m)`.
        assert!(
            regex("(?m)a\\n\\Ab").0.contains("\\A"),
            "{:?}",
            regex("(?m)a\\n\\Ab")
        );
        // Verbose mode skips ASCII whitespace only: a no-break space stays.
        assert!(
            regex("(?x)a\u{a0}b.").0.contains('\u{a0}'),
            "{:?}",
            regex("(?x)a\u{a0}b.")
        );
    }

    #[test]
    fn lookahead() {
        assert_eq!(
            translate("/etc/(?!\\.\\.).*").map(|t| t.translation),
            Ok(Translation::PathUnder("/etc".into()))
        );
        assert_eq!(
            translate("/dev/(?!.*/\\.\\.).*").map(|t| t.translation),
            Ok(Translation::PathUnder("/dev".into()))
        );
        // A guard that excludes anything besides `..` is no path rule.
        for wider in [
            "/etc/(?!\\.\\.|shadow).*",
            "/etc/(?!.*(\\.\\.|passwd)).*",
            "/etc/(?!x\\.\\.).*",
        ] {
            assert!(
                !matches!(
                    translate(wider).map(|t| t.translation),
                    Ok(Translation::PathUnder(_))
                ),
                "{wider}"
            );
        }
        assert!(matches!(
            translate("chown root:root /etc/(?!.*/\\.\\.).*"),
            Err(Untranslatable::Unsupported { .. })
        ));
        assert!(matches!(
            translate("a(?=b)"),
            Err(Untranslatable::Unsupported { .. })
        ));
        assert!(matches!(
            translate("(a)\\1"),
            Err(Untranslatable::Unsupported { .. })
        ));
        for unsupported in ["(a)?(?(1)b|c)", "(?>ab)", "a\\bc", "\\N{DIGIT ONE}", "a*+"] {
            assert!(
                matches!(
                    translate(unsupported),
                    Err(Untranslatable::Unsupported { .. })
                ),
                "{unsupported}"
            );
        }
    }
}
