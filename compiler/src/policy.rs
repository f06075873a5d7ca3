//! The lowered form of a policy: its options, its rules each with where it
//! was written, and the policy tests still to run. Lowering builds it, the
//! lints read it, and the ruleset is written from it.

use rootwrap::action::Action;
use rootwrap::types::{Options, Rule};

use crate::diag::{Span, Spanned};
use crate::lint::Lint;

/// A lowered policy: options, rules in declaration order, and the policy
/// tests still to run.
#[derive(Debug, Default)]
pub struct Policy {
    pub options: Options,
    pub rules: Vec<LoweredRule>,
    pub tests: Vec<PolicyTest>,
    /// Each action's steps, by its spelling `@NAME` (its parameters are
    /// the arguments of its rule among `rules`).
    pub actions: Vec<(String, Action)>,
}

impl Policy {
    /// The rules as the ruleset stores them, in declaration order.
    pub fn ruleset_rules(&self) -> Vec<Rule> {
        self.rules
            .iter()
            .map(|lowered| lowered.rule.clone())
            .collect()
    }
}

/// One rule and where it was written: every lowered rule has its site, so
/// no check that reports against the source can pass over a rule.
#[derive(Debug, Clone)]
pub struct LoweredRule {
    pub rule: Rule,
    pub site: RuleSite,
}

/// Where a rule is declared, and its `because`, if any. The default (every
/// span empty) stands for a rule read back from a compiled ruleset.
#[derive(Debug, Clone, Default)]
pub struct RuleSite {
    /// The rule's name.
    pub span: Span,
    pub because: Option<String>,
    /// `because LINT, ... "WHY"`: the lints the reason silences; empty with
    /// a plain `because "WHY"`, which silences every risk lint.
    pub because_lints: Vec<Lint>,
    /// Where the rule's rest (`...`, `then allowed`, `<ip-args...>`) is.
    pub rest: Option<Span>,
    pub command_span: Span,
    /// Spans of the rule's argument patterns, in order.
    pub arg_spans: Vec<Span>,
    /// Spans of the values of the rule's `env` variables, in order.
    pub env_spans: Vec<Span>,
    /// Spans of the names in its `via CHAIN, ...`, in order.
    pub via_spans: Vec<Span>,
    /// The comments written with it (above it, or after it on its line).
    pub comment: String,
}

impl RuleSite {
    /// Whether this rule's `because` silences `lint`.
    pub fn silences(&self, lint: Lint) -> bool {
        self.because.is_some()
            && if self.because_lints.is_empty() {
                lint.is_risk()
            } else {
                self.because_lints.contains(&lint)
            }
    }
}

/// A `test allow ...` or `test deny ...` line.
#[derive(Debug, Clone)]
pub struct PolicyTest {
    pub expect_allow: bool,
    pub rule: Option<Spanned<String>>,
    pub argv: Vec<String>,
    pub span: Span,
    /// The filter file it is written in. A test of one file that a `deny`
    /// or `disable` of another overrides is a note, not a failure: the
    /// site narrowed what a packaged file allows. `None` (test vectors):
    /// every failure counts.
    pub file: Option<String>,
}
