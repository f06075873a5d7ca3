//! Policy tests written in filter files (`test allow ...`, `test deny ...`),
//! run against the encoded ruleset with the runtime's own index and matcher.

use std::ffi::OsString;

use rootwrap::format::Ruleset;
use rootwrap::matcher::{Decision, Invocation};

use crate::diag::Diagnostic;
use crate::policy::PolicyTest;

/// The most rules a failed allow test (or a denied chain in `explain`)
/// lists; it counts the others.
pub(crate) const SHOWN_TRIED: usize = 8;

/// The line that counts the rules tried beyond [`SHOWN_TRIED`].
pub(crate) fn more_tried(more: usize) -> String {
    format!("and {more} more rules for this command, none of which matches")
}

pub fn run_tests(ruleset: &Ruleset<Vec<u8>>, tests: &[PolicyTest]) -> Vec<Diagnostic> {
    let mut failures = Vec::new();
    for test in tests {
        let argv: Vec<OsString> = test.argv.iter().map(OsString::from).collect();
        let shown = Invocation::display_argv(&argv);
        // Executables are not looked up: a test holds for a host where every
        // executable exists, whatever the build host has installed.
        let decision = match ruleset.decide(&argv, &rootwrap::matcher::AssumeInstalled) {
            Ok(Decision::Allow(allowed)) => Ok(allowed.rule),
            Ok(Decision::NotExecutable { rule }) => Ok(rule),
            Ok(Decision::Deny { tried }) => Err(tried),
            Err(e) => {
                failures.push(
                    Diagnostic::error(format!("cannot run the policy test: {e}")).at(test.span, ""),
                );
                continue;
            }
        };
        match (decision, test.expect_allow, &test.rule) {
            (Ok(rule), true, Some(expected)) if rule.name != expected.value => failures.push(
                Diagnostic::error(format!(
                    "policy test failed: `{shown}` is allowed by rule `{}`, not by `{}`",
                    rule.name, expected.value
                ))
                .at(test.span, "this test")
                .note(
                    None,
                    format!(
                        "`{}` ({}:{}) comes first in declaration order",
                        rule.name, rule.source.file, rule.source.line
                    ),
                ),
            ),
            (Ok(_), true, _) => {}
            (Ok(rule), false, _) => failures.push(
                Diagnostic::error(format!(
                    "policy test failed: `{shown}` must be denied, but rule `{}` allows it",
                    rule.name
                ))
                .at(test.span, "this test")
                .note(
                    None,
                    format!(
                        "allowed by `{}` at {}:{}: {}",
                        rule.name,
                        rule.source.file,
                        rule.source.line,
                        rule.pattern_text()
                    ),
                ),
            ),
            (Err(_), false, _) => {}
            (Err(tried), true, _) => {
                let mut d = Diagnostic::error(format!(
                    "policy test failed: `{shown}` must be allowed, but no rule allows it"
                ))
                .at(test.span, "this test");
                if tried.is_empty() {
                    d = d.note(None, "no rule names this command");
                }
                for (rule, why) in tried.iter().take(SHOWN_TRIED) {
                    d = d.note(
                        None,
                        format!(
                            "rule `{}` ({}:{}): {why}",
                            rule.name, rule.source.file, rule.source.line
                        ),
                    );
                }
                if tried.len() > SHOWN_TRIED {
                    d = d.note(None, more_tried(tried.len() - SHOWN_TRIED));
                }
                failures.push(d);
            }
        }
    }
    failures
}
