//! Policy tests written in filter files (`test allow ...`, `test deny ...`),
//! run against the encoded ruleset with the runtime's own index and matcher.

use std::ffi::OsString;

use rootwrap::format::Ruleset;
use rootwrap::matcher::{
    decide, denying_rule, disabled_match, AssumeInstalled, Context, Decision, Invocation, Mismatch,
};
use rootwrap::types::{Effect, Rule};

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
            Ok(Decision::NotExecutable { rule }) => Ok(*rule),
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
                if let Some(note) = overridden(ruleset, test, &argv, &tried) {
                    failures.push(note);
                    continue;
                }
                if let Some(deny) = denying_rule(&tried) {
                    failures.push(
                        Diagnostic::error(format!(
                            "policy test failed: `{shown}` must be allowed, but deny rule `{}` denies it",
                            deny.name
                        ))
                        .at(test.span, "this test")
                        .note(
                            None,
                            format!(
                                "`{}` at {}:{}: {}",
                                deny.name,
                                deny.source.file,
                                deny.source.line,
                                deny.pattern_text()
                            ),
                        ),
                    );
                    continue;
                }
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

/// A note for an allow test that a `deny` or `disable` written in another
/// file overrides: the ruleset without overrides would pass it. `None`
/// when the test fails for another reason, or sits in the overriding file
/// (there, the test and the override contradict each other: an error).
fn overridden(
    ruleset: &Ruleset<Vec<u8>>,
    test: &PolicyTest,
    argv: &[OsString],
    tried: &[(Rule, Mismatch)],
) -> Option<Diagnostic> {
    let (what, at) = match (denying_rule(tried), disabled_match(tried)) {
        (Some(deny), _) => (
            format!(
                "deny rule `{}` ({}:{})",
                deny.name, deny.source.file, deny.source.line
            ),
            deny.source.file.as_str(),
        ),
        (None, Some(rule)) => {
            let disabled = rule.disabled()?;
            (
                format!(
                    "the disabling of rule `{}` ({}:{}: {})",
                    rule.name, disabled.source.file, disabled.source.line, disabled.reason
                ),
                disabled.source.file.as_str(),
            )
        }
        (None, None) => return None,
    };
    if test.file.as_deref().is_none_or(|file| file == at) {
        return None;
    }
    // The same call, every deny and disable left out.
    let lookup = |command: &[u8]| {
        Ok(ruleset
            .rules_for(command)?
            .iter()
            .cloned()
            .filter_map(|mut rule| {
                match &rule.effect {
                    Effect::Allow => {}
                    Effect::Deny { .. } => return None,
                    Effect::Disabled(disabled) if disabled.was_deny => return None,
                    Effect::Disabled(_) => rule.effect = Effect::Allow,
                }
                Some(rule)
            })
            .collect())
    };
    let ctx = Context::new(&ruleset.options().exec_dirs, &lookup, &AssumeInstalled);
    let rule = match decide(argv, &ctx).ok()? {
        Decision::Allow(allowed) => allowed.rule,
        Decision::NotExecutable { rule } => *rule,
        Decision::Deny { .. } => return None,
    };
    if test
        .rule
        .as_ref()
        .is_some_and(|name| name.value != rule.name)
    {
        return None;
    }
    Some(
        Diagnostic::note_only(format!(
            "policy test `{}` no longer holds: overridden by {what}",
            Invocation::display_argv(argv)
        ))
        .at(test.span, "this test")
        .note(
            None,
            format!(
                "without it, rule `{}` ({}:{}) allows the call",
                rule.name, rule.source.file, rule.source.line
            ),
        ),
    )
}
