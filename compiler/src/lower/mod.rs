//! Step two: syntax trees to the lowered policy (rules with their sites,
//! options, policy tests), validating everything that can be checked
//! offline (names, paths, types, ranges, regexes).
//!
//! `options.rs` lowers the ruleset's options, `types.rs` holds the
//! argument types (one registry entry each), `regex.rs` compiles regexes.

mod action;
mod options;
mod regex;
mod types;

use std::collections::HashMap;

use rootwrap::types::{
    Arg, Command, Disabled, Effect, EnvVar, Item, Rest, Rule, RunAs, Source, MAX_MATCH_STEPS,
};
use rootwrap::values;

use crate::diag::{all, did_you_mean, Diagnostic, Reported, Reporter, Sources, Span, Spanned};
use crate::env::{self, Restriction};
use crate::lint::Lint;
use crate::policy::{LoweredRule, Policy, PolicyTest, RuleSite};
use crate::syntax::{
    DisableAst, Expect, ItemAst, OptionAst, Pattern, RestAst, RuleAst, Statement, TestAst,
};

pub use options::{LEVELS as SYSLOG_LEVELS, MAX_IDLE_TIMEOUT, SYSLOG_FACILITIES};
pub use regex::{compile_regex, RegexError, MAX_DFA_BYTES};

/// The most items an any-order group `{ ... }` may hold.
const MAX_ANY_ORDER: usize = 16;
/// `as USER` written on a type other than `<pid>`.
fn no_user(name: &Spanned<String>, user: &Spanned<String>) -> Diagnostic {
    Diagnostic::error(format!("`<{}>` takes no `as USER`", name.value))
        .at(user.span, "unexpected")
        .help("only `<pid ... as USER>` names a user: the one the process runs as")
}

impl Lowering<'_> {
    /// The lints named in `because LINT, ... "WHY"`, each known.
    fn because_lints(&mut self, names: &[Spanned<String>]) -> Result<Vec<Lint>, Reported> {
        let mut lints = Vec::new();
        for name in names {
            match Lint::from_code(&name.value) {
                Some(lint) => lints.push(lint),
                None => {
                    let codes: Vec<&str> = Lint::ALL.iter().map(|l| l.code()).collect();
                    let help = match did_you_mean(&name.value, &codes) {
                        Some(close) => format!("did you mean `{close}`?"),
                        None => format!("the lints are: {}", codes.join(", ")),
                    };
                    return Err(self.error(
                        Diagnostic::error(format!("no lint is called `{}`", name.value))
                            .at(name.span, "not a lint")
                            .help(help),
                    ));
                }
            }
        }
        Ok(lints)
    }
}

struct Lowering<'a> {
    sources: &'a Sources,
    reporter: Reporter,
    options: HashMap<String, OptionAst>,
    /// Rule name to its index in the policy's rules.
    rule_names: HashMap<String, usize>,
}

/// Lowers the statements of every file, in order. Returns the policy and
/// every diagnostic found (errors and warnings).
pub fn lower(sources: &Sources, files: &[Vec<Statement>]) -> (Policy, Vec<Diagnostic>) {
    let mut lowering = Lowering {
        sources,
        reporter: Reporter::default(),
        options: HashMap::new(),
        rule_names: HashMap::new(),
    };
    let mut policy = Policy::default();
    let mut disables = Vec::new();
    for statements in files {
        for statement in statements {
            match statement {
                Statement::Option(option) => lowering.option(option),
                Statement::Rule(rule) => {
                    if let Ok(lowered) = lowering.rule(rule, &policy.rules) {
                        lowering
                            .rule_names
                            .insert(lowered.rule.name.clone(), policy.rules.len());
                        policy.rules.push(lowered);
                    }
                }
                Statement::Test(test) => policy.tests.push(lowering.test(test)),
                Statement::Disable(disable) => disables.push(disable),
                Statement::Action(ast) => {
                    if let Ok((lowered, action)) = lowering.action(ast, &policy.rules) {
                        lowering
                            .rule_names
                            .insert(lowered.rule.name.clone(), policy.rules.len());
                        policy
                            .actions
                            .push((action::spelling(&lowered.rule.name), action));
                        policy.rules.push(lowered);
                    }
                }
            }
        }
    }
    let mut disabled = HashMap::new();
    for disable in disables {
        lowering.disable(disable, &mut policy.rules, &mut disabled);
    }
    policy.options = lowering.finish_options(&policy.rules);
    lowering.check_via(&policy.rules);
    for test in &policy.tests {
        if let Some(name) = &test.rule {
            if !lowering.rule_names.contains_key(&name.value) {
                let known: Vec<&str> = policy.rules.iter().map(|r| r.rule.name.as_str()).collect();
                let mut d = Diagnostic::error(format!(
                    "the test names rule `{}`, which does not exist",
                    name.value
                ))
                .at(name.span, "no rule of this name");
                if let Some(close) = did_you_mean(&name.value, &known) {
                    d = d.help(format!("did you mean `{close}`?"));
                }
                lowering.error(d);
            }
        }
    }
    (policy, lowering.reporter.into_diagnostics())
}

impl Lowering<'_> {
    /// `via CHAIN, ...` names rules that exist, end in `then allowed` and
    /// run as the same user: a rule reached through anything else could
    /// never allow a call.
    fn check_via(&mut self, rules: &[LoweredRule]) {
        for lowered in rules {
            let rule = &lowered.rule;
            if !rule.via.is_empty() && rule.rest == Rest::Chain {
                self.error(
                    Diagnostic::error(format!(
                        "rule `{}` is reached through a chain and chains itself",
                        rule.name
                    ))
                    .at(lowered.site.rest.unwrap_or(lowered.site.span), "`then allowed`")
                    .note(None, "chains do not nest: the runtime never lets a chained command line chain again")
                    .help("remove `via ...`, or end the rule without `then allowed`"),
                );
                continue;
            }
            for (chain, span) in rule.via.iter().zip(&lowered.site.via_spans) {
                let target = self.rule_names.get(chain).and_then(|&i| rules.get(i));
                let Some(target) = target else {
                    let known: Vec<&str> = rules
                        .iter()
                        .filter(|r| r.rule.rest == Rest::Chain)
                        .map(|r| r.rule.name.as_str())
                        .collect();
                    let mut d = Diagnostic::error(format!(
                        "rule `{}` is reached via `{chain}`, which does not exist",
                        rule.name
                    ))
                    .at(*span, "no rule of this name");
                    d = match did_you_mean(chain, &known) {
                        Some(close) => d.help(format!("did you mean `{close}`?")),
                        None if known.is_empty() => d.help(
                            "`via` names a rule that ends in `then allowed`; this ruleset has none",
                        ),
                        None => d.help(format!(
                            "the rules that end in `then allowed`: {}",
                            known.join(", ")
                        )),
                    };
                    self.error(d);
                    continue;
                };
                if target.rule.rest != Rest::Chain {
                    self.error(
                        Diagnostic::error(format!(
                            "rule `{}` is reached via `{chain}`, which does not end in `then allowed`",
                            rule.name
                        ))
                        .at(*span, "not a chaining rule")
                        .note(Some(target.site.span), format!("`{chain}` is defined here"))
                        .help("`via` names the rules that run this one's command lines: `ip netns exec <netns> then allowed`, `nice ... then allowed`"),
                    );
                } else if target.rule.run_as != rule.run_as {
                    self.error(
                        Diagnostic::error(format!(
                            "rule `{}` runs as {}, but `{chain}`, which it is reached via, runs as {}",
                            rule.name,
                            rule.run_as.user_name(),
                            target.rule.run_as.user_name()
                        ))
                        .at(*span, "never reached through this chain")
                        .note(Some(target.site.span), "a chained command line runs as the chaining rule's user, so only rules with that user allow it")
                        .help("give both rules the same `as USER`"),
                    );
                }
            }
        }
    }

    fn error(&mut self, diagnostic: Diagnostic) -> Reported {
        self.reporter.error(diagnostic)
    }

    /// `as USER` of a rule or an action: root when absent; an invalid
    /// name is reported (into `failed`) and kept, so lowering goes on.
    fn run_as(&mut self, user: Option<&Spanned<String>>, failed: &mut Option<Reported>) -> RunAs {
        match user {
            None => RunAs::Root,
            Some(user) if user.value == "root" => RunAs::Root,
            Some(user) => {
                if !values::is_account_name(user.value.as_bytes()) {
                    *failed = Some(
                        self.error(
                            Diagnostic::error(format!("`{}` is not a valid user name", user.value))
                                .at(user.span, "here"),
                        ),
                    );
                }
                RunAs::User(user.value.clone())
            }
        }
    }

    /// One rule with its site. Every error in it is reported before it is
    /// given up, so one pass shows them all.
    fn rule(&mut self, rule: &RuleAst, earlier: &[LoweredRule]) -> Result<LoweredRule, Reported> {
        let mut failed: Option<Reported> = None;
        let name = &rule.name;
        if let Some(&first) = self.rule_names.get(&name.value) {
            failed = Some(self.defined_twice(name, earlier.get(first)));
        }
        if rule.deny {
            failed = self.deny_limits(rule).or(failed);
        }
        let run_as = self.run_as(rule.run_as.as_ref(), &mut failed);
        let command = self.command(&rule.command);
        let also = self.alternatives(rule, command.as_ref().ok());
        let sha256 = rule
            .sha256
            .as_ref()
            .map(|digest| self.digest(digest))
            .transpose();
        let mut env: Vec<EnvVar> = Vec::new();
        for (var, pattern) in &rule.env {
            if let Some(entry) = env::restriction(&var.value) {
                if entry.restriction == Restriction::Forbidden {
                    failed = Some(self.error(
                        Diagnostic::error(format!("a rule may not let the caller set `{}`", var.value))
                            .at(var.span, format!("`{}`: {}", entry.names.shown(), entry.why))
                            .help("allow the command without it (the book lists the forbidden variables under Environment variables)"),
                    ));
                } else if !literal_values(pattern) {
                    failed = Some(self.error(
                        Diagnostic::error(format!("`{}` may only be set to literal values", var.value))
                            .at(pattern.span(), format!("`{}`: {}", entry.names.shown(), entry.why))
                            .help("spell out the values the command needs, e.g. `LC_ALL=C`, `LANG=(C | C.UTF-8)` or `TZ=UTC`"),
                    ));
                }
            }
            if env.iter().any(|v| v.name == var.value) {
                failed = Some(
                    self.error(
                        Diagnostic::error(format!("variable `{}` is listed twice", var.value))
                            .at(var.span, "again"),
                    ),
                );
            }
            match self.item(pattern) {
                Ok(Item::One(value)) => env.push(EnvVar {
                    name: var.value.clone(),
                    value,
                }),
                Ok(_) => {
                    failed = Some(self.error(
                        Diagnostic::error(format!("the value of `{}` must be one pattern", var.value))
                            .at(pattern.span(), "more than one argument")
                            .help("write a single pattern or alternatives of single patterns: `NAME=(a | <int>)`"),
                    ));
                }
                Err(reported) => failed = Some(reported),
            }
        }
        let mut items: &[ItemAst] = &rule.args;
        let mut rest = match rule.rest.as_ref().map(|r| r.value) {
            None => Rest::Exact,
            Some(RestAst::Any) => Rest::Any,
            Some(RestAst::Chain) => Rest::Chain,
        };
        if let Some((ItemAst::Single(Pattern::Typed { name, user, .. }), init)) = items.split_last()
        {
            if name.value == "ip-args..." {
                if let Some(user) = user {
                    failed = Some(self.error(no_user(name, user)));
                }
                if rest != Rest::Exact {
                    failed = Some(
                        self.error(
                            Diagnostic::error(
                                "`<ip-args...>` already takes every remaining argument",
                            )
                            .at(name.span, "here"),
                        ),
                    );
                }
                rest = Rest::IpArgs;
                items = init;
            }
        }
        let args = all(items.iter().map(|item| self.item(item)));
        let (command, also, sha256, args) = (command?, also?, sha256?, args?);
        if let Some(reported) = failed {
            return Err(reported);
        }
        let steps = crate::steps::bound(&args);
        if steps > u64::from(MAX_MATCH_STEPS) {
            return Err(self.error(
                Diagnostic::error(format!(
                    "rule `{}` can need {steps} matching steps; the runtime gives up after {MAX_MATCH_STEPS}",
                    name.value
                ))
                .at(rule.span, "too many ways through these items")
                .note(None, "the runtime would deny a call that needs more, legitimate or not; an any-order group of n optional items alone can need n \u{d7} 2^(n-1) steps")
                .help("make items of an any-order group required, split the group, or write separate rules"),
            ));
        }
        let because_lints = self.because_lints(&rule.because_lints)?;
        let (line, _) = self.sources.line_col(rule.span.file, rule.span.start);
        let site = RuleSite {
            span: rule.name.span,
            because: rule.because.as_ref().map(|b| b.value.clone()),
            because_lints,
            rest: rule
                .rest
                .as_ref()
                .map(|r| r.span)
                .or_else(|| rule.args.last().map(ItemAst::span)),
            // A group of commands: all of it, as a lint may be about any.
            command_span: Span {
                end: rule
                    .also
                    .last()
                    .map_or(rule.command.span.end, |c| c.span.end),
                ..rule.command.span
            },
            arg_spans: rule.args.iter().map(ItemAst::span).collect(),
            env_spans: rule.env.iter().map(|(_, value)| value.span()).collect(),
            via_spans: rule.via.iter().map(|chain| chain.span).collect(),
            comment: self.sources.comments_at(rule.span),
        };
        let via = rule.via.iter().map(|chain| chain.value.clone()).collect();
        let rule = Rule {
            id: earlier.len() as u32,
            name: name.value.clone(),
            source: Source {
                file: self.sources.name(rule.span.file).to_string(),
                line: line as u32,
            },
            command,
            also,
            sha256,
            run_as,
            env,
            args,
            rest,
            via,
            effect: if rule.deny {
                Effect::Deny {
                    any_user: rule.run_as.is_none(),
                }
            } else {
                Effect::Allow
            },
        };
        Ok(LoweredRule { rule, site })
    }

    /// A name defined again: in one file, a slip; across files (a
    /// packaged file and a site's, two packages' drop-ins), a clash the
    /// site resolves without editing either file.
    fn defined_twice(&mut self, name: &Spanned<String>, first: Option<&LoweredRule>) -> Reported {
        let first_span = first.map(|r| r.site.span);
        let here = self.sources.name(name.span.file).to_string();
        let other_file = first
            .map(|r| r.rule.source.clone())
            .filter(|source| source.file != here);
        let d = match other_file {
            None => Diagnostic::error(format!("`{}` is defined twice", name.value))
                .at(name.span, "defined again here")
                .note(first_span, "first defined here")
                .help("rules and actions share one set of names (they identify them in logs and tests): rename one of them"),
            Some(source) => {
                let (line, _) = self.sources.line_col(name.span.file, name.span.start);
                Diagnostic::error(format!(
                    "`{}` is defined in two files: {}:{} and {here}:{line}",
                    name.value, source.file, source.line
                ))
                .at(name.span, "defined again here")
                .note(first_span, format!("first defined here, in {}", source.file))
                .help(format!(
                    "rules and actions share one set of names across all input files: rename one of them; \
                     or, when {} is not yours to edit, write `disable {} because \"...\"` in a file of \
                     your own and define your rule there under another name",
                    source.file, name.value
                ))
            }
        };
        self.error(d)
    }

    /// What a `deny` rule cannot say: it only names command lines, so it
    /// has no executable to pin, no chained command line to allow, and no
    /// risk to accept with `because`.
    fn deny_limits(&mut self, rule: &RuleAst) -> Option<Reported> {
        let mut failed = None;
        if let Some(digest) = &rule.sha256 {
            failed = Some(self.error(
                Diagnostic::error("a deny rule pins no executable")
                    .at(digest.span, "`@sha256:` here")
                    .help("a deny rule matches command lines, whatever executable they would run: remove the digest"),
            ));
        }
        if let Some(rest) = rule.rest.as_ref().filter(|r| r.value == RestAst::Chain) {
            failed = Some(self.error(
                Diagnostic::error("a deny rule cannot end in `then allowed`")
                    .at(rest.span, "here")
                    .help("deny the chained command line itself: a deny applies to it through every rule that chains (`... then allowed`)"),
            ));
        }
        if let Some(first) = rule.via.first() {
            failed = Some(self.error(
                Diagnostic::error("a deny rule takes no `via`")
                    .at(first.span, "here")
                    .help("a deny applies to a command line however it is reached, directly or through every rule that chains: remove `via ...`"),
            ));
        }
        if let Some(because) = &rule.because {
            failed = Some(self.error(
                Diagnostic::error("a deny rule takes no `because`")
                    .at(because.span, "here")
                    .help("`because` accepts a risk an allow rule takes; a deny takes none: say why in a comment above it"),
            ));
        }
        failed
    }

    /// `disable NAME because "WHY"`, once every file is lowered: the rule
    /// stays in the ruleset, decides nothing, and is named where it alone
    /// would have matched.
    fn disable(
        &mut self,
        ast: &DisableAst,
        rules: &mut [LoweredRule],
        done: &mut HashMap<String, Span>,
    ) {
        let name = &ast.name;
        let Some(&index) = self.rule_names.get(&name.value) else {
            let known: Vec<&str> = rules
                .iter()
                .filter(|r| !r.rule.command.as_str().starts_with('@'))
                .map(|r| r.rule.name.as_str())
                .collect();
            let mut d = Diagnostic::error(format!("no rule is called `{}`", name.value))
                .at(name.span, "disabled here");
            if let Some(close) = did_you_mean(&name.value, &known) {
                d = d.help(format!("did you mean `{close}`?"));
            }
            self.error(d);
            return;
        };
        let Some(lowered) = rules.get_mut(index) else {
            return;
        };
        let here = self.sources.name(ast.span.file).to_string();
        if lowered.rule.command.as_str().starts_with('@') {
            self.error(
                Diagnostic::error(format!("`{}` is an action, not a rule", name.value))
                    .at(name.span, "disabled here")
                    .note(Some(lowered.site.span), "the action")
                    .help("`disable` turns off `allow` and `deny` rules"),
            );
            return;
        }
        if lowered.rule.source.file == here {
            self.error(
                Diagnostic::error(format!("rule `{}` is disabled in its own file", name.value))
                    .at(name.span, "disabled here")
                    .note(Some(lowered.site.span), "the rule")
                    .help("`disable` is for rules in files you do not edit: in this one, delete the rule"),
            );
            return;
        }
        if let Some(first) = done.get(&name.value) {
            self.error(
                Diagnostic::error(format!("rule `{}` is disabled twice", name.value))
                    .at(name.span, "again")
                    .note(Some(*first), "first disabled here"),
            );
            return;
        }
        if ast.reason.value.trim().is_empty() {
            self.error(
                Diagnostic::error("`disable` needs a reason")
                    .at(ast.reason.span, "empty")
                    .help("say why this site turns the rule off: it is shown in `list`, `explain` and the audit record"),
            );
            return;
        }
        done.insert(name.value.clone(), name.span);
        let (line, _) = self.sources.line_col(ast.span.file, ast.span.start);
        lowered.rule.effect = Effect::Disabled(Box::new(Disabled {
            was_deny: lowered.rule.is_deny(),
            reason: ast.reason.value.clone(),
            source: Source {
                file: here,
                line: line as u32,
            },
        }));
    }

    /// `(A | B ...)`: the alternatives after the first, each a command of
    /// its own; no two may share a spelling (the caller's spelling decides
    /// which one runs), and one digest cannot pin several executables.
    fn alternatives(
        &mut self,
        rule: &RuleAst,
        first: Option<&Command>,
    ) -> Result<Vec<Command>, Reported> {
        if rule.also.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(digest) = &rule.sha256 {
            return Err(self.error(
                Diagnostic::error("one `@sha256:` cannot pin several commands")
                    .at(digest.span, "after a group of commands")
                    .help("write one rule per command, each with its own digest"),
            ));
        }
        let mut failed = None;
        let mut seen: Vec<(&Spanned<String>, Command)> = Vec::new();
        seen.extend(first.map(|command| (&rule.command, command.clone())));
        for alternative in &rule.also {
            let command = match self.command(alternative) {
                Ok(command) => command,
                Err(reported) => {
                    failed = Some(reported);
                    continue;
                }
            };
            let clash = seen.iter().find_map(|(earlier, other)| {
                let shared = command
                    .selectors()
                    .into_iter()
                    .find(|s| other.selectors().contains(s))?;
                Some((*earlier, shared.to_string()))
            });
            if let Some((earlier, shared)) = clash {
                let message = if earlier.value == alternative.value {
                    format!("command `{}` is listed twice", alternative.value)
                } else {
                    format!(
                        "commands `{}` and `{}` are both called `{shared}`",
                        earlier.value, alternative.value
                    )
                };
                failed = Some(
                    self.error(
                        Diagnostic::error(message)
                            .at(alternative.span, "again")
                            .note(Some(earlier.span), "first here")
                            .help(
                                "a caller's spelling must name one alternative: keep one of them",
                            ),
                    ),
                );
                continue;
            }
            seen.push((alternative, command));
        }
        match failed {
            Some(reported) => Err(reported),
            None => Ok(seen
                .into_iter()
                .skip(usize::from(first.is_some()))
                .map(|(_, c)| c)
                .collect()),
        }
    }

    /// `@sha256:HEX`: 64 hexadecimal digits.
    fn digest(&mut self, digest: &Spanned<String>) -> Result<[u8; 32], Reported> {
        rootwrap::binary::parse_hex(&digest.value).ok_or_else(|| {
            self.error(
                Diagnostic::error(format!(
                    "`@sha256:{}` is not a SHA-256 digest",
                    digest.value
                ))
                .at(digest.span, "expected 64 hexadecimal digits")
                .help("`sha256sum FILE` prints it; or compile with `--pin-executables` on a host like the target"),
            )
        })
    }

    fn command(&mut self, command: &Spanned<String>) -> Result<Command, Reported> {
        let text = &command.value;
        if text.contains("@sha256:") {
            return Err(self.error(
                Diagnostic::error(format!("command `{text}` holds `@sha256:`"))
                    .at(command.span, "here")
                    .help(
                        "separate the digest from the command with a space: `COMMAND @sha256:HEX`",
                    ),
            ));
        }
        if text.starts_with('@') {
            return Err(self.error(
                Diagnostic::error(format!("command `{text}` starts with `@`"))
                    .at(command.span, "here")
                    .help("`@NAME` calls the action NAME: declare it with `action NAME (...):`"),
            ));
        }
        if text == "env" {
            return Err(self.error(
                Diagnostic::error("`env` cannot be a rule's command")
                    .at(command.span, "here")
                    .help("to let the caller set variables, write `env NAME=PATTERN ... COMMAND ARGS...`"),
            ));
        }
        if text.starts_with('/') {
            if let Err(why) = check_absolute_path(text) {
                return Err(self.error(
                    Diagnostic::error(format!("command path `{text}` {why}"))
                        .at(command.span, "here"),
                ));
            }
            return Ok(Command::Path(text.clone()));
        }
        if text.contains('/') {
            return Err(self.error(
                Diagnostic::error(format!("command `{text}` is a relative path"))
                    .at(command.span, "here")
                    .help("write a bare name (looked up in exec-dirs) or an absolute path"),
            ));
        }
        Ok(Command::Name(text.clone()))
    }

    fn item(&mut self, item: &ItemAst) -> Result<Item, Reported> {
        match item {
            ItemAst::Single(pattern) => self.pattern(pattern).map(Item::One),
            ItemAst::Group(alternatives, _) => {
                let singles: Vec<&Pattern> = alternatives
                    .iter()
                    .filter_map(|seq| match seq.as_slice() {
                        [ItemAst::Single(p)] => Some(p),
                        _ => None,
                    })
                    .collect();
                if alternatives.len() > 1 && singles.len() == alternatives.len() {
                    // One argument, several patterns: the compact form.
                    let lowered = all(singles.iter().map(|p| self.pattern(p)))?;
                    return Ok(Item::One(Arg::OneOf(lowered)));
                }
                let mut lowered = Vec::new();
                for sequence in alternatives {
                    lowered.push(self.sequence(sequence)?);
                }
                match <[Item; 1]>::try_from(lowered) {
                    Ok([one]) => Ok(one),
                    Err(many) => Ok(Item::Alt(many)),
                }
            }
            ItemAst::Optional(items, _) => {
                self.sequence(items).map(|i| Item::Optional(Box::new(i)))
            }
            ItemAst::AnyOrder(items, span) => {
                if items.len() > MAX_ANY_ORDER {
                    return Err(self.error(
                        Diagnostic::error(format!(
                            "an any-order group holds at most {MAX_ANY_ORDER} items"
                        ))
                        .at(*span, "too many items"),
                    ));
                }
                let members = all(items.iter().map(|member| {
                    let lowered = self.item(member)?;
                    // Brackets, as written, make a member one that may be
                    // left out. `([-v])` lowers to `[-v]`: kept in a
                    // sequence, it stays a member that must appear.
                    Ok(match (member, lowered) {
                        (ItemAst::Optional(..), lowered) => lowered,
                        (_, optional @ Item::Optional(_)) => Item::Seq(vec![optional]),
                        (_, lowered) => lowered,
                    })
                }))?;
                Ok(Item::AnyOrder(members))
            }
        }
    }

    /// Several items as one: the item itself when there is only one.
    fn sequence(&mut self, items: &[ItemAst]) -> Result<Item, Reported> {
        let lowered = all(items.iter().map(|i| self.item(i)))?;
        match <[Item; 1]>::try_from(lowered) {
            Ok([one]) => Ok(one),
            Err(many) => Ok(Item::Seq(many)),
        }
    }

    fn pattern(&mut self, pattern: &Pattern) -> Result<Arg, Reported> {
        match pattern {
            Pattern::Literal(s) => Ok(Arg::Literal(s.value.clone())),
            Pattern::Regex { source, flags } => self.regex(source, flags.as_ref()),
            Pattern::Typed {
                name,
                args,
                user,
                span,
            } => {
                let entry = types::find(&name.value);
                if let Some(user) = user.as_ref().filter(|_| !entry.is_some_and(|e| e.takes_user)) {
                    return Err(self.error(no_user(name, user)));
                }
                let Some(entry) = entry else {
                    return Err(self.error(types::unknown(name)));
                };
                (entry.lower)(
                    self,
                    types::Typed {
                        name,
                        args,
                        user: user.as_ref(),
                        span: *span,
                    },
                )
            }
            Pattern::Prefixed {
                prefix,
                value,
                span,
            } => match self.item(value)? {
                Item::One(Arg::Literal(text)) => {
                    Ok(Arg::Literal(format!("{}{text}", prefix.value)))
                }
                Item::One(value) => Ok(Arg::Prefixed {
                    prefix: prefix.value.clone(),
                    value: Box::new(value),
                }),
                _ => {
                    Err(self.error(
                        Diagnostic::error("a prefix glues to one argument's pattern")
                            .at(*span, "this value spans several arguments")
                            .help("write alternatives of single patterns after the prefix: `--size=(1 | 2)`"),
                    ))
                }
            },
        }
    }

    fn test(&mut self, test: &TestAst) -> PolicyTest {
        let (expect_allow, rule) = match &test.expect {
            Expect::Allow(rule) => (true, rule.clone()),
            Expect::Deny => (false, None),
        };
        PolicyTest {
            expect_allow,
            rule,
            argv: test.argv.iter().map(|a| a.value.clone()).collect(),
            span: test.span,
            file: Some(self.sources.name(test.span.file).to_string()),
        }
    }
}

/// Whether an `env` value is a literal or a group of literals.
fn literal_values(item: &ItemAst) -> bool {
    match item {
        ItemAst::Single(Pattern::Literal(_)) => true,
        ItemAst::Group(alternatives, _) => alternatives
            .iter()
            .all(|seq| matches!(seq.as_slice(), [ItemAst::Single(Pattern::Literal(_))])),
        _ => false,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `Ok` for an absolute path with no empty, `.` or `..` components and no
/// trailing slash (except `/` itself); otherwise why not.
pub fn check_absolute_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("is not absolute");
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("ends with `/`");
    }
    if path[1..]
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("is not normalized (it has `//`, `.` or `..`)");
    }
    Ok(())
}
