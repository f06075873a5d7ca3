//! `rootwrap-compile test RULESET VECTORS`: a deployment's own allow/deny
//! vectors, kept in its CI, checked against a ruleset. A vectors file holds
//! `test` lines as a filter file writes them (and comments), and they run
//! as the compiler runs a filter file's policy tests.

use std::path::Path;

use crate::diag::{did_you_mean, Diagnostic, Sources};
use crate::policy::PolicyTest;
use crate::policy_tests::run_tests;
use crate::syntax::{parse_file, Expect, Statement};

use super::load::Loaded;

/// How a run of vectors went.
pub struct Outcome {
    pub run: usize,
    /// Rendered failures (empty: all passed).
    pub failures: Vec<String>,
}

/// Reads the vectors file and runs it against `loaded`. An unreadable or
/// malformed vectors file is an error (rendered diagnostics).
pub fn check(loaded: &Loaded, path: &Path) -> Result<Outcome, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut sources = Sources::default();
    let id = sources.add(path.display().to_string(), text);
    let (statements, mut errors) = parse_file(id, sources.text(id));
    let mut tests = Vec::new();
    for statement in statements {
        let test = match statement {
            Statement::Test(test) => test,
            Statement::Rule(rule) => {
                errors.push(only_tests(rule.span));
                continue;
            }
            Statement::Option(option) => {
                errors.push(only_tests(option.span));
                continue;
            }
            Statement::Disable(disable) => {
                errors.push(only_tests(disable.span));
                continue;
            }
            Statement::Action(action) => {
                errors.push(only_tests(action.span));
                continue;
            }
        };
        let (expect_allow, rule) = match test.expect {
            Expect::Allow(rule) => (true, rule),
            Expect::Deny => (false, None),
        };
        if let Some(name) = &rule {
            if !loaded.rules.iter().any(|r| r.name == name.value) {
                let known: Vec<&str> = loaded.rules.iter().map(|r| r.name.as_str()).collect();
                let mut d = Diagnostic::error(format!(
                    "the test names rule `{}`, which the ruleset does not have",
                    name.value
                ))
                .at(name.span, "no rule of this name");
                if let Some(close) = did_you_mean(&name.value, &known) {
                    d = d.help(format!("did you mean `{close}`?"));
                }
                errors.push(d);
            }
        }
        tests.push(PolicyTest {
            expect_allow,
            rule,
            argv: test.argv.into_iter().map(|a| a.value).collect(),
            span: test.span,
            file: None,
        });
    }
    if !errors.is_empty() {
        let mut text = sources.render_all(&errors).join("\n");
        text.push_str(&format!(
            "\nrootwrap-compile: {} error(s) in {}; no vector was run",
            errors.len(),
            path.display()
        ));
        return Err(text);
    }
    let failures = run_tests(&loaded.ruleset, &tests);
    Ok(Outcome {
        run: tests.len(),
        failures: sources.render_all(&failures),
    })
}

fn only_tests(span: crate::diag::Span) -> Diagnostic {
    Diagnostic::error("a vectors file holds only `test` lines")
        .at(span, "not a test")
        .help("write `test allow [RULE]: CMD ARGS...` or `test deny: CMD ARGS...`; rules and options belong in the filter files")
}
