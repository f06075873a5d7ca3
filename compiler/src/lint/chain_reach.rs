//! `chain-reach`: a rule evidently written to be reached through a chain
//! (`ip netns exec <netns> then allowed`) that is allowed on the host too,
//! because it does not say `via CHAIN`.

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;

use rootwrap::matcher::{decide, AssumeInstalled, Context, Decision};
use rootwrap::types::{Rest, Rule};

use crate::diag::Diagnostic;
use crate::lint::Lint;
use crate::policy::{LoweredRule, Policy};

/// Words of a comment that say a rule runs inside a chain. Not the
/// chaining command itself (`netns exec`: a comment may say it is refused,
/// as the importer's do), nor "in a namespace" (a section's comment above
/// several rules says where some of them run).
const COMMENT_HINTS: &[&str] = &["chained", "through the chain", "via the chain"];

/// Words of a rule's name (split at `-`, `_`, `.`) that say so.
const NAME_HINTS: &[&str] = &["chained", "inside"];

/// How the policy's own allow tests reach each rule: the chaining rules
/// its command lines were allowed through, and whether it was ever allowed
/// called directly.
#[derive(Default)]
struct Tested {
    through: BTreeMap<String, BTreeSet<String>>,
    direct: BTreeSet<String>,
}

fn tested(policy: &Policy) -> Tested {
    let rules = policy.ruleset_rules();
    let lookup = |command: &[u8]| {
        Ok(rules
            .iter()
            .filter(|r| r.command.is_spelled(command))
            .cloned()
            .collect())
    };
    let ctx = Context::new(&policy.options.exec_dirs, &lookup, &AssumeInstalled);
    let mut tested = Tested::default();
    for test in policy.tests.iter().filter(|t| t.expect_allow) {
        let argv: Vec<OsString> = test.argv.iter().map(OsString::from).collect();
        let Ok(Decision::Allow(allowed)) = decide(&argv, &ctx) else {
            continue;
        };
        match allowed.chained {
            Some(inner) => {
                tested
                    .through
                    .entry(inner.name)
                    .or_default()
                    .insert(allowed.rule.name);
            }
            None => {
                tested.direct.insert(allowed.rule.name);
            }
        }
    }
    tested
}

/// Whether `text` names `chain` as a word of its own (`link-up-in-router`
/// names `in-router`; `bin-router` does not).
fn mentions(text: &str, chain: &str) -> bool {
    text.match_indices(chain).any(|(at, _)| {
        let word = |c: char| c.is_ascii_alphanumeric();
        !text[..at].ends_with(word) && !text[at + chain.len()..].starts_with(word)
    })
}

pub(super) fn lint(policy: &Policy, warnings: &mut Vec<Diagnostic>) {
    let chains: Vec<&LoweredRule> = policy
        .rules
        .iter()
        .filter(|r| r.rule.rest == Rest::Chain)
        .collect();
    if chains.is_empty() {
        return;
    }
    let tested = tested(policy);
    for LoweredRule { rule, site } in &policy.rules {
        if !rule.via.is_empty()
            || rule.rest == Rest::Chain
            || rule.command.as_str().starts_with('@')
            || site.silences(Lint::ChainReach)
        {
            continue;
        }
        // The chains that could reach it: same target user.
        let reaching: Vec<&Rule> = chains
            .iter()
            .map(|c| &c.rule)
            .filter(|c| c.run_as == rule.run_as)
            .collect();
        let Some(evidence) = evidence(rule, &site.comment, &reaching, &tested) else {
            continue;
        };
        let (why, suggested) = evidence;
        let via = suggested.join(", ");
        warnings.push(
            Diagnostic::warning(
                Lint::ChainReach,
                format!(
                    "rule `{}` looks meant to be reached through `{}`, but it allows the same command line on the host",
                    rule.name,
                    suggested.join("` or `")
                ),
            )
            .at(site.span, "reached directly too")
            .note(None, why)
            .help(format!(
                "write `allow {} via {via}{}: ...` so that only the chain reaches it; if it must run on the host too, say why with `because chain-reach \"...\"`",
                rule.name,
                match &rule.run_as {
                    rootwrap::types::RunAs::Root => String::new(),
                    rootwrap::types::RunAs::User(user) => format!(" as {user}"),
                }
            )),
        );
    }
}

/// Why `rule` looks meant for chaining, and the chains to name in `via`.
fn evidence(
    rule: &Rule,
    comment: &str,
    reaching: &[&Rule],
    tested: &Tested,
) -> Option<(String, Vec<String>)> {
    let names = |chains: &[&Rule]| chains.iter().map(|c| c.name.clone()).collect::<Vec<_>>();
    if let Some(through) = tested.through.get(&rule.name) {
        if !tested.direct.contains(&rule.name) {
            let through: Vec<String> = through.iter().cloned().collect();
            return Some((
                format!(
                    "the policy tests allow it only as the command line chained through `{}`",
                    through.join("`, `")
                ),
                through,
            ));
        }
        return None;
    }
    if reaching.is_empty() {
        return None;
    }
    let named: Vec<&Rule> = reaching
        .iter()
        .copied()
        .filter(|c| c.name.len() >= 3 && mentions(&rule.name, &c.name))
        .collect();
    if !named.is_empty() {
        return Some((
            format!("its name mentions the chaining rule `{}`", named[0].name),
            names(&named),
        ));
    }
    let lower = comment.to_lowercase();
    let commented: Vec<&Rule> = reaching
        .iter()
        .copied()
        .filter(|c| c.name.len() >= 3 && mentions(&lower, &c.name.to_lowercase()))
        .collect();
    if !commented.is_empty() {
        return Some((
            format!(
                "its comment mentions the chaining rule `{}`",
                commented[0].name
            ),
            names(&commented),
        ));
    }
    if let Some(hint) = COMMENT_HINTS.iter().find(|h| lower.contains(*h)) {
        return Some((format!("its comment says `{hint}`"), names(reaching)));
    }
    let words: Vec<&str> = rule.name.split(['-', '_', '.']).collect();
    let in_ns = words
        .windows(2)
        .any(|w| w[0] == "in" && ["ns", "netns", "namespace", "router"].contains(&w[1]));
    if in_ns || words.iter().any(|w| NAME_HINTS.contains(w)) {
        return Some((
            "its name says it runs inside a chain".to_string(),
            names(reaching),
        ));
    }
    None
}
