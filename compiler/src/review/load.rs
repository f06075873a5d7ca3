//! A ruleset to review, from a compiled ruleset (`.rwc`) or from filter
//! files (a `.rwf` file or a directory of them, compiled in memory): the
//! review commands take either, and see the same rules.

use std::path::Path;

use rootwrap::action::Action;
use rootwrap::format::{Ruleset, MAGIC};
use rootwrap::types::Rule;

use crate::compile::{compile_paths_with, Settings};
use crate::diag::{Sources, Span};
use crate::lint;
use crate::policy::{LoweredRule, Policy, RuleSite};

/// A ruleset read for review.
pub struct Loaded {
    /// The path as given.
    pub path: String,
    pub ruleset: Ruleset<Vec<u8>>,
    /// The format version in the file's header.
    pub format_version: u32,
    /// Every rule (actions' rules too), in declaration order.
    pub rules: Vec<Rule>,
    /// Each action's steps, by its spelling `@NAME`.
    pub actions: Vec<(String, Action)>,
    /// Set when the input was filter files: what only they hold.
    pub source: Option<FromSource>,
}

/// What filter files hold and a compiled ruleset does not.
pub struct FromSource {
    /// The lowered policy: `because` reasons and the policy tests.
    pub policy: Policy,
    /// The compiler's warnings, rendered.
    pub warnings: Vec<String>,
}

/// One lint finding about a rule.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub code: String,
    pub message: String,
}

/// Whether the file at `path` is a compiled ruleset (by its magic bytes).
fn is_compiled(path: &Path) -> Result<bool, String> {
    use std::io::Read as _;
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_dir() {
        return Ok(false);
    }
    let mut head = Vec::with_capacity(MAGIC.len());
    std::fs::File::open(path)
        .and_then(|file| file.take(MAGIC.len() as u64).read_to_end(&mut head))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(head == MAGIC)
}

/// Reads and verifies a compiled ruleset, or compiles filter files (with
/// their policy tests; no output written). The error is the whole message,
/// compiler diagnostics included (then on several lines, the last one
/// starting `rootwrap-compile: `).
pub fn load(path: &Path) -> Result<Loaded, String> {
    let shown = path.display().to_string();
    let (bytes, source) = if is_compiled(path)? {
        let bytes = std::fs::read(path).map_err(|e| format!("{shown}: {e}"))?;
        (bytes, None)
    } else {
        let mut sources = Sources::default();
        match compile_paths_with(&[path.to_path_buf()], Settings::default(), &mut sources) {
            Ok(compiled) => {
                let warnings = sources.render_all(&compiled.warnings);
                let source = FromSource {
                    policy: compiled.policy,
                    warnings,
                };
                (compiled.bytes, Some(source))
            }
            Err(failed) => {
                let mut text = String::new();
                for d in &failed.diagnostics {
                    text.push_str(&sources.render(d));
                    text.push('\n');
                }
                let errors = failed.diagnostics.iter().filter(|d| d.is_error()).count();
                text.push_str(&format!(
                    "rootwrap-compile: {shown}: not a compiled ruleset, and it does not compile ({errors} error(s))"
                ));
                return Err(text);
            }
        }
    };
    let ruleset = Ruleset::from_bytes(&bytes)
        .and_then(|ruleset| ruleset.verify_all().map(|()| ruleset))
        .map_err(|e| format!("{shown}: {e}"))?;
    let rules = ruleset.all_rules().map_err(|e| format!("{shown}: {e}"))?;
    let mut actions = Vec::new();
    for rule in &rules {
        let spelling = rule.command.as_str();
        if !spelling.starts_with('@') {
            continue;
        }
        if let Some(action) = ruleset
            .action(spelling.as_bytes())
            .map_err(|e| format!("{shown}: {e}"))?
        {
            actions.push((spelling.to_string(), (*action).clone()));
        }
    }
    let mut version = [0u8; 4];
    version.copy_from_slice(bytes.get(8..12).unwrap_or(&[0; 4]));
    Ok(Loaded {
        path: shown,
        ruleset,
        format_version: u32::from_le_bytes(version),
        rules,
        actions,
        source,
    })
}

impl Loaded {
    /// The ruleset as the JSON documents show it (`list`, `diff`, and
    /// `explain` for a compiled ruleset).
    pub fn ruleset_info(&self) -> crate::explain::RulesetInfo {
        let options = self.ruleset.options();
        crate::explain::RulesetInfo {
            path: self.path.clone(),
            name: options.name.clone(),
            sha256: self.ruleset.digest_hex(),
            rules: self.ruleset.rule_count(),
            exec_dirs: options.exec_dirs.clone(),
        }
    }

    pub fn action(&self, rule: &Rule) -> Option<&Action> {
        self.actions
            .iter()
            .find(|(spelling, _)| spelling == rule.command.as_str())
            .map(|(_, action)| action)
    }

    /// The policy tests, when the input was filter files (a compiled
    /// ruleset does not hold them).
    pub fn tests(&self) -> Option<&[crate::policy::PolicyTest]> {
        self.source.as_ref().map(|s| s.policy.tests.as_slice())
    }

    /// The lints' findings for each rule (by position in `rules`), and
    /// those about no one rule. From filter files, a rule's `because`
    /// silences them as it does when compiling; a compiled ruleset does
    /// not record `because`, so every finding shows.
    #[expect(
        clippy::field_reassign_with_default,
        reason = "field by field, so that fields other passes add to RuleSite keep their defaults"
    )]
    pub fn findings(&self) -> (Vec<Vec<Finding>>, Vec<Finding>) {
        let because = |i: usize| {
            self.source
                .as_ref()
                .and_then(|s| s.policy.rules.get(i))
                .and_then(|lowered| lowered.site.because.clone())
        };
        // Every span of rule `i` is the empty span at offset `i`: each
        // finding's span says which rule it is about.
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| {
                let span = Span {
                    file: 0,
                    start: i,
                    end: i,
                };
                let mut site = RuleSite::default();
                site.span = span;
                site.because = because(i);
                site.rest = Some(span);
                site.command_span = span;
                site.arg_spans = vec![span; rule.args.len()];
                site.env_spans = vec![span; rule.env.len()];
                LoweredRule {
                    rule: rule.clone(),
                    site,
                }
            })
            .collect();
        let policy = Policy {
            options: self.ruleset.options().clone(),
            rules,
            actions: self.actions.clone(),
            ..Policy::default()
        };
        let mut per_rule = vec![Vec::new(); self.rules.len()];
        let mut general = Vec::new();
        // `glued-items` reads the spaces between items in the source: the
        // spans here are made up, one per rule, and would all touch.
        let from_spans = |d: &crate::diag::Diagnostic| d.code == Some(lint::Lint::GluedItems);
        for d in lint::lint(&policy).into_iter().filter(|d| !from_spans(d)) {
            let finding = Finding {
                code: d.code.map_or("error", |c| c.code()).to_string(),
                message: d.message.clone(),
            };
            match d.span.and_then(|(span, _)| per_rule.get_mut(span.start)) {
                Some(findings) => findings.push(finding),
                None => general.push(finding),
            }
        }
        (per_rule, general)
    }
}
