//! `rootwrap-compile explain`: the runtime's decision for a command line,
//! with its reasons, for reviewers and packagers (who need not be root).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use serde::Serialize;

use rootwrap::audit::escape;
use rootwrap::exit::ExitCode;
use rootwrap::format::{Ruleset, RulesetError};
use rootwrap::matcher::{denying_rule, disabled_match, selector, Decision, Invocation, Mismatch};
use rootwrap::types::{Effect, OnLogFailure, Rule};

use crate::diag::did_you_mean;
use crate::policy_tests::{more_tried, SHOWN_TRIED};

/// What the runtime would do with the call; serialized as `allow`, `deny`,
/// `not-found`, `bad-ruleset` or `exec-failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExplainDecision {
    Allow,
    Deny,
    /// A rule allows it, but its executable is missing.
    NotFound,
    BadRuleset,
    /// A rule allows it, but its executable fails the runtime's checks.
    ExecFailed,
}

/// The `schema` of `explain --json` (see the book's "JSON schemas").
pub const SCHEMA: &str = "rootwrap-explain/1";

#[derive(Debug, Serialize)]
pub struct Explanation {
    /// `rootwrap-explain/1`: which document this is, and its version.
    pub schema: &'static str,
    pub decision: ExplainDecision,
    /// The exit code the runtime would give before running anything (0 when
    /// allowed: the command's own status follows).
    #[serde(serialize_with = "exit_status")]
    pub exit_code: ExitCode,
    pub argv: Vec<String>,
    pub ruleset: Option<RulesetInfo>,
    /// The rule that decided (allow, not-found).
    pub rule: Option<RuleInfo>,
    /// For a chain (`then allowed`): the rule that allowed the chained command.
    pub chained_rule: Option<RuleInfo>,
    /// What would run (allow).
    pub exec: Option<ExecInfo>,
    /// For an action (`@NAME`): the steps it would take with these
    /// arguments, in order (undo steps as `undo N ...`), and its user.
    pub steps: Vec<String>,
    pub action_user: Option<String>,
    /// Why each rule for this command did not match (deny).
    pub candidates: Vec<Candidate>,
    /// A one-line reason, as printed: escaped like the runtime's audit
    /// records and stderr lines (one line of printable ASCII, whatever
    /// the arguments hold).
    pub message: String,
    /// Things the runtime would notice about the ruleset file itself.
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RulesetInfo {
    pub path: String,
    pub name: String,
    pub sha256: String,
    pub rules: u32,
    pub exec_dirs: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct RuleInfo {
    pub name: String,
    pub file: String,
    pub line: u32,
    pub pattern: String,
    /// `allow`, `deny` or `disabled`.
    pub effect: &'static str,
    /// How its declaration starts (`allow` or `deny`, disabled or not).
    #[serde(skip)]
    pub keyword: &'static str,
    /// `via CHAIN, ...`: the chaining rules it is reached through only.
    pub via: Vec<String>,
}

impl RuleInfo {
    /// `NAME [via CHAIN, ...]`, as the declaration reads.
    fn head(&self) -> String {
        match self.via.is_empty() {
            true => self.name.clone(),
            false => format!("{} via {}", self.name, self.via.join(", ")),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ExecInfo {
    pub path: String,
    /// The argv as the command receives it: pinned paths as
    /// `/proc/self/fd/N...` (the descriptor numbers are explain's own; the
    /// runtime's may differ).
    pub argv: Vec<String>,
    /// The same argv with each pinned path as the path that was checked.
    pub checked_argv: Vec<String>,
    pub user: String,
    pub env: Vec<(String, String)>,
    /// Each pinned `<path>` argument: what was checked, what is passed.
    pub paths: Vec<PinnedInfo>,
    /// The executable as the runtime checks it.
    pub binary: BinaryInfo,
    /// For a chain: the chained rule's executable, checked.
    pub chained_binary: Option<BinaryInfo>,
}

#[derive(Debug, Serialize)]
pub struct BinaryInfo {
    /// The file, symbolic links resolved.
    pub real: Option<String>,
    /// The rule's `@sha256:` digest, when it pins one (checked: it matched,
    /// unless `refused` says otherwise).
    pub pinned: Option<String>,
    /// A `#!` script (executed by path, not through the descriptor).
    pub script: bool,
    /// Why the runtime would refuse to execute it.
    pub refused: Option<String>,
}

fn binary_info(rule: &Rule, checked: Option<&rootwrap::matcher::Checked>) -> BinaryInfo {
    let (real, script, refused) = match checked {
        Some(Ok(binary)) => (Some(binary.real.display().to_string()), binary.script, None),
        Some(Err(refusal)) => (None, false, Some(refusal.to_string())),
        None => (None, false, None),
    };
    BinaryInfo {
        real,
        pinned: rule.sha256.as_ref().map(|d| rootwrap::format::hex(d)),
        script,
        refused,
    }
}

#[derive(Debug, Serialize)]
pub struct PinnedInfo {
    pub checked: String,
    pub passed: String,
}

#[derive(Debug, Serialize)]
pub struct Candidate {
    pub rule: RuleInfo,
    pub reason: String,
    /// For a chaining rule whose own arguments match: every rule for the
    /// chained command line, closest first (the furthest argument
    /// reached), with why it does not allow it.
    pub chained: Vec<Candidate>,
}

/// `tried` as candidates; a chaining rule's chained rules closest first.
fn candidates(tried: Vec<(Rule, Mismatch)>) -> Vec<Candidate> {
    tried
        .into_iter()
        .map(|(rule, why)| {
            let (reason, chained) = match why {
                Mismatch::ChainDenied { mut tried, .. } if !tried.is_empty() => {
                    tried.sort_by_key(|(_, why)| std::cmp::Reverse(why.reached()));
                    (
                        "its own arguments match, but no rule allows the chained command line"
                            .to_string(),
                        candidates(tried),
                    )
                }
                why => (why.to_string(), Vec::new()),
            };
            Candidate {
                rule: rule_info(&rule),
                // It may quote an argument: one escaped line too.
                reason: message(reason),
                chained,
            }
        })
        .collect()
}

/// A rule as the JSON documents show it (`explain`, `list`).
pub fn rule_info(rule: &Rule) -> RuleInfo {
    RuleInfo {
        name: rule.name.clone(),
        file: rule.source.file.clone(),
        line: rule.source.line,
        pattern: rule.pattern_text(),
        effect: match rule.effect {
            Effect::Allow => "allow",
            Effect::Deny { .. } => "deny",
            Effect::Disabled(_) => "disabled",
        },
        keyword: crate::review::keyword(rule),
        via: rule.via.clone(),
    }
}

/// A message as `explain` shows it: escaped exactly like the runtime's.
fn message(text: impl AsRef<[u8]>) -> String {
    escape(text.as_ref())
}

/// Exit codes are numbers in the JSON, as the process sees them.
fn exit_status<S: serde::Serializer>(exit: &ExitCode, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_u8(exit.code())
}

fn lossy(args: &[OsString]) -> Vec<String> {
    args.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// What the runtime would notice about the file before reading it: its
/// own trust checks (`check_trust`), every violation.
fn trust_warnings(path: &Path) -> Vec<String> {
    let Ok(meta) = std::fs::metadata(path) else {
        return Vec::new();
    };
    rootwrap::run::check_trust(&meta)
        .into_iter()
        .map(|e| {
            format!(
                "the runtime would refuse this file (exit {}): {e}",
                ExitCode::BadRuleset.code()
            )
        })
        .collect()
}

pub fn explain(path: &Path, argv: &[OsString]) -> Explanation {
    let mut explanation = Explanation {
        schema: SCHEMA,
        decision: ExplainDecision::BadRuleset,
        exit_code: ExitCode::BadRuleset,
        argv: lossy(argv),
        ruleset: None,
        rule: None,
        chained_rule: None,
        exec: None,
        steps: Vec::new(),
        action_user: None,
        candidates: Vec::new(),
        message: String::new(),
        warnings: trust_warnings(path),
    };
    let loaded = std::fs::read(path)
        .map_err(RulesetError::Open)
        .and_then(|bytes| Ruleset::from_bytes(&bytes))
        .and_then(|ruleset| ruleset.verify_all().map(|()| ruleset));
    let ruleset = match loaded {
        Ok(ruleset) => ruleset,
        Err(e) => {
            explanation.message = message(format!("{}: {e}", path.display()));
            return explanation;
        }
    };
    let options = ruleset.options().clone();
    explanation.ruleset = Some(RulesetInfo {
        path: path.display().to_string(),
        name: options.name.clone(),
        sha256: ruleset.digest_hex(),
        rules: ruleset.rule_count(),
        exec_dirs: options.exec_dirs.clone(),
    });
    for problem in rootwrap::audit::target_problems(&options.log) {
        explanation.warnings.push(match options.log.on_failure {
            OnLogFailure::Refuse => format!(
                "{problem}: the runtime would refuse every call (exit {}, on-log-failure refuse)",
                ExitCode::BadRuleset.code()
            ),
            OnLogFailure::Continue => format!(
                "{problem}: the runtime would go on without this log target (on-log-failure continue)"
            ),
        });
    }
    if argv.is_empty() {
        explanation.decision = ExplainDecision::Deny;
        explanation.exit_code = ExitCode::NoCommand;
        explanation.message = message("No command specified");
        return explanation;
    }
    let command = selector(argv);
    // An action's parameters are pinned as its steps use them.
    let action = rootwrap::action::is_action(argv)
        .then(|| ruleset.action(argv[0].as_bytes()).ok().flatten())
        .flatten();
    let host: &dyn rootwrap::matcher::Host = match action {
        Some(_) => &rootwrap::action::ActionHost,
        None => &rootwrap::matcher::OnThisHost,
    };
    let decision = match ruleset.decide(argv, host) {
        Ok(decision) => decision,
        Err(e) => {
            explanation.message = message(e.to_string());
            return explanation;
        }
    };
    match decision {
        Decision::Allow(allowed) => {
            explanation.decision = ExplainDecision::Allow;
            explanation.exit_code = ExitCode::Allowed;
            explanation.message = message(format!(
                "allowed by rule `{}` ({}:{})",
                allowed.rule.name, allowed.rule.source.file, allowed.rule.source.line
            ));
            explanation.rule = Some(rule_info(&allowed.rule));
            if let Some(action) = &action {
                explanation.message = message(format!(
                    "allowed: action `{}` ({}:{})",
                    allowed.rule.name, allowed.rule.source.file, allowed.rule.source.line
                ));
                let bound = rootwrap::action::Bound::new(&allowed);
                let describe = |step: &rootwrap::action::Step| {
                    message(rootwrap::action::describe(&step.op, &bound))
                };
                for (i, step) in action.steps.iter().enumerate() {
                    explanation
                        .steps
                        .push(format!("{} {}", i + 1, describe(step)));
                }
                for (i, step) in action.undo.iter().enumerate() {
                    explanation
                        .steps
                        .push(format!("undo {} {}", i + 1, describe(step)));
                }
                explanation.action_user = Some(allowed.run_as.user_name().to_string());
                if let Err(e) = rootwrap::exec::target_account(&allowed.run_as) {
                    explanation.warnings.push(format!(
                        "{e}: the runtime would refuse to run it (exit {})",
                        ExitCode::ExecFailed.code()
                    ));
                }
                return explanation;
            }
            explanation.chained_rule = allowed.chained.as_ref().map(rule_info);
            explanation
                .warnings
                .extend(crate::lint::unpinned_host_warnings(&allowed.rule));
            if let Some(refusal) = allowed.refusal() {
                explanation.decision = ExplainDecision::ExecFailed;
                explanation.exit_code = ExitCode::ExecFailed;
                explanation.message = format!(
                    "{}, but the runtime would refuse to execute it (exit {}): {refusal}",
                    explanation.message,
                    ExitCode::ExecFailed.code()
                );
            }
            if let Err(e) = rootwrap::exec::target_account(&allowed.run_as) {
                explanation.warnings.push(format!(
                    "{e}: the runtime would refuse to run it (exit {})",
                    ExitCode::ExecFailed.code()
                ));
            }
            explanation.exec = Some(ExecInfo {
                path: allowed.executable.display().to_string(),
                argv: lossy(&allowed.argv),
                checked_argv: lossy(&allowed.argv_as_checked()),
                user: allowed.run_as.user_name().to_string(),
                env: allowed
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_string_lossy().into_owned()))
                    .collect(),
                paths: allowed
                    .pinned
                    .iter()
                    .map(|p| PinnedInfo {
                        checked: p.checked.to_string_lossy().into_owned(),
                        passed: p.passed.to_string_lossy().into_owned(),
                    })
                    .collect(),
                binary: binary_info(&allowed.rule, allowed.binary.as_ref()),
                chained_binary: allowed
                    .chained
                    .as_ref()
                    .map(|rule| binary_info(rule, allowed.chained_binary.as_ref())),
            });
        }
        Decision::NotExecutable { rule } => {
            // Of a rule for several commands, the one the caller named.
            let missing = command
                .as_ref()
                .and_then(|c| rule.spelled(c.as_bytes()))
                .map_or_else(|| rule.command_text(), |c| c.as_str().to_string());
            explanation.decision = ExplainDecision::NotFound;
            explanation.exit_code = ExitCode::NotFound;
            explanation.message = message(format!(
                "rule `{}` ({}:{}) matches, but its executable `{}` is not on this host (exec dirs: {})",
                rule.name,
                rule.source.file,
                rule.source.line,
                missing,
                options.exec_dirs.join(" ")
            ));
            explanation.rule = Some(rule_info(&rule));
        }
        Decision::Deny { tried } => {
            explanation.decision = ExplainDecision::Deny;
            explanation.exit_code = ExitCode::Unauthorized;
            let mut text = Vec::new();
            match &command {
                None => text.extend(b"denied: the command line has no command"),
                Some(command) if tried.is_empty() => {
                    text.extend(b"denied: no rule for command `");
                    text.extend(command.as_bytes());
                    text.push(b'`');
                    if let Ok(all) = ruleset.all_commands() {
                        let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
                        if let Some(close) = did_you_mean(&command.to_string_lossy(), &names) {
                            text.extend(format!(" (did you mean `{close}`?)").as_bytes());
                        }
                    }
                }
                Some(_) => {
                    text.extend(b"denied: no rule allows `");
                    text.extend(Invocation::argv_bytes(argv));
                    text.push(b'`');
                }
            }
            // A deny rule decided, or the only match is disabled: say which.
            if let Some(deny) = denying_rule(&tried) {
                text = format!(
                    "denied by deny rule `{}` ({}:{}): it matches `",
                    deny.name, deny.source.file, deny.source.line
                )
                .into_bytes();
                if let Some((through, _)) = tried.first().filter(|(r, _)| r.name != deny.name) {
                    text = format!(
                        "denied by deny rule `{}` ({}:{}): it matches the command line that rule `{}` chains to in `",
                        deny.name, deny.source.file, deny.source.line, through.name
                    )
                    .into_bytes();
                }
                text.extend(Invocation::argv_bytes(argv));
                text.push(b'`');
                explanation.rule = Some(rule_info(deny));
            } else if let Some(rule) = disabled_match(&tried) {
                if let Some(disabled) = rule.disabled() {
                    text.extend(
                        format!(
                            "; rule `{}` ({}:{}) matches, but is disabled ({}:{}): {}",
                            rule.name,
                            rule.source.file,
                            rule.source.line,
                            disabled.source.file,
                            disabled.source.line,
                            disabled.reason
                        )
                        .as_bytes(),
                    );
                }
                explanation.rule = Some(rule_info(rule));
            }
            explanation.message = message(text);
            for (rule, _) in &tried {
                explanation
                    .warnings
                    .extend(crate::lint::unpinned_host_warnings(rule));
            }
            explanation.candidates = candidates(tried);
        }
    }
    explanation
}

fn render_binary(out: &mut String, binary: &BinaryInfo) {
    if let Some(why) = &binary.refused {
        let _ = writeln!(out, "  refused:  {why}");
        return;
    }
    let Some(real) = &binary.real else {
        return;
    };
    let script = if binary.script { ", a script" } else { "" };
    let _ = writeln!(
        out,
        "  checked:  {real} (root's alone, with every directory above it{script})"
    );
    if let Some(digest) = &binary.pinned {
        let _ = writeln!(out, "  pinned:   sha256:{digest} matches");
    }
}

/// Each candidate and why it did not match, indented by `indent`; a
/// chaining rule's chained candidates below it, as many as a policy test
/// failure lists.
fn render_candidates(out: &mut String, candidates: &[Candidate], indent: &str) {
    for candidate in candidates {
        let rule = &candidate.rule;
        let _ = writeln!(
            out,
            "{indent}rule `{}` ({}:{}): {}",
            rule.name, rule.file, rule.line, candidate.reason
        );
        let _ = writeln!(
            out,
            "{indent}    {} {}: {}",
            rule.keyword,
            rule.head(),
            rule.pattern
        );
        if candidate.chained.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "{indent}    the chained command line, closest rules first:"
        );
        let shown = &candidate.chained[..candidate.chained.len().min(SHOWN_TRIED)];
        render_candidates(out, shown, &format!("{indent}      "));
        if candidate.chained.len() > SHOWN_TRIED {
            let _ = writeln!(
                out,
                "{indent}      {}",
                more_tried(candidate.chained.len() - SHOWN_TRIED)
            );
        }
    }
}

/// The explanation as text for a terminal.
pub fn render(e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", e.message);
    if let Some(exec) = &e.exec {
        let argv: Vec<String> = exec.argv.iter().map(message).collect();
        let _ = writeln!(out, "  runs:     {}", argv.join(" "));
        for path in &exec.paths {
            let _ = writeln!(
                out,
                "  pinned:   {} is passed as {} (a descriptor opened beneath the scope)",
                message(&path.checked),
                message(&path.passed)
            );
        }
        for binary in std::iter::once(&exec.binary).chain(&exec.chained_binary) {
            render_binary(&mut out, binary);
        }
        let _ = writeln!(out, "  as user:  {}", exec.user);
        for (k, v) in &exec.env {
            let _ = writeln!(out, "  env:      {k}={}", message(v));
        }
    }
    for step in &e.steps {
        let _ = writeln!(out, "  step:     {step}");
    }
    if let Some(user) = &e.action_user {
        let _ = writeln!(out, "  as user:  {user}");
    }
    if let Some(rule) = &e.rule {
        let _ = writeln!(
            out,
            "  rule:     {} {}: {}",
            rule.keyword,
            rule.head(),
            rule.pattern
        );
    }
    if let Some(rule) = &e.chained_rule {
        let _ = writeln!(
            out,
            "  chained:  allow {}: {} ({}:{})",
            rule.head(),
            rule.pattern,
            rule.file,
            rule.line
        );
    }
    render_candidates(&mut out, &e.candidates, "  ");
    if let Some(ruleset) = &e.ruleset {
        let _ = writeln!(
            out,
            "  ruleset:  {} sha256:{}",
            ruleset.name, ruleset.sha256
        );
    }
    for warning in &e.warnings {
        let _ = writeln!(out, "  warning:  {warning}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::ExplainDecision;

    /// `--json` prints the names the book documents.
    #[test]
    fn decisions_serialize_as_documented() {
        let names: Vec<String> = [
            ExplainDecision::Allow,
            ExplainDecision::Deny,
            ExplainDecision::NotFound,
            ExplainDecision::BadRuleset,
            ExplainDecision::ExecFailed,
        ]
        .iter()
        .map(|d| serde_json::to_string(d).unwrap_or_default())
        .collect();
        assert_eq!(
            names,
            [
                "\"allow\"",
                "\"deny\"",
                "\"not-found\"",
                "\"bad-ruleset\"",
                "\"exec-failed\""
            ]
        );
    }
}
