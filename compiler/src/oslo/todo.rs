//! The review to-do list printed (and written with `-o DIR`) after an
//! import: per lint, the imported rules that need a human decision, the
//! widest first; then the filters renamed for a clashing name and those
//! refused. The lints are the compiler's own, run on the imported rules.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rootwrap::types::RunAs;

use super::*;
use crate::diag::Sources;
use crate::lint::Lint;

/// The file `-o DIR` writes the list to (not compiled: not `.rwf`).
pub const TODO_FILE: &str = "REVIEW-TODO.txt";

/// The lints from the widest privileges to the narrowest doubts: the
/// order of the list.
const ORDER: [Lint; 15] = [
    Lint::CodeRunner,
    Lint::AnyArgs,
    Lint::AnyArg,
    Lint::RegexPath,
    Lint::AnyEnv,
    Lint::PinDefeated,
    Lint::EntryFollows,
    Lint::UnpinnedWritable,
    Lint::OtherUser,
    Lint::ChainReach,
    Lint::DeadChain,
    Lint::Shadowed,
    Lint::AsTypo,
    Lint::GluedItems,
    Lint::LogPath,
];

/// What a reviewer decides for a rule with this finding.
fn what_to_check(lint: Lint) -> &'static str {
    match lint {
        Lint::CodeRunner => "it runs a program that runs any code it is given: allow the specific commands instead",
        Lint::AnyArgs => "it allows any further arguments: list those the service passes",
        Lint::AnyArg => "an argument takes anything, for a program that is root with free arguments: narrow it",
        Lint::RegexPath => "a regex for a path can climb out of its directory with `..`: write a `<path ...>` scope",
        Lint::AnyEnv => "the caller sets a variable to nearly anything: give the values the program needs",
        Lint::PinDefeated => "the program reopens a pinned path by name: check that the path cannot be swapped",
        Lint::EntryFollows => "the program may follow a symbolic link at a path entry: require `-T` or use `<path>`",
        Lint::UnpinnedWritable => "a directory above an unpinned path is not root's alone on this host",
        Lint::OtherUser => "another rule for the command runs as another user first: check who a call runs as",
        Lint::ChainReach => "it looks meant for a chain but is allowed on the host too: add `via CHAIN`",
        Lint::DeadChain => "the chain can never match the rule it chains into: set the variable in one rule only",
        Lint::Shadowed => "an earlier rule takes every call it matches: remove one of them",
        Lint::AsTypo => "`as` or a word ending in `:` where a target user was likely meant",
        Lint::GluedItems => "items glued together are separate arguments: write one regex",
        Lint::LogPath => "the audit log's file lies below a directory others may write to",
    }
}

/// One entry: where the filter was written, and what was found.
struct Entry {
    root: bool,
    site: String,
    text: String,
}

impl Import {
    /// The review to-do list, or a line saying there is nothing to decide.
    pub fn todo(&self) -> String {
        let records: BTreeMap<&str, &FilterRecord> = self
            .records()
            .map(|record| (record.rule_name.as_str(), record))
            .collect();
        let renamed: Vec<&FilterRecord> = self
            .records()
            .filter(|r| r.rule_name != sanitize_name(&r.oslo_name))
            .collect();
        let refused: Vec<&FilterRecord> = self.records().filter(|r| !r.is_imported()).collect();
        let mut groups: BTreeMap<usize, (Lint, Vec<Entry>)> = BTreeMap::new();
        // A rule that never decides is listed once, as shadowed (or, when
        // renamed, as renamed): its other findings are moot.
        let mut never_decides: BTreeMap<String, String> = BTreeMap::new();
        let mut sources = Sources::default();
        let compiled = crate::compile_sources(
            vec![("import.rwf".to_string(), self.combined())],
            false,
            &mut sources,
        );
        let mut failed = None;
        match &compiled {
            Ok(compiled) => {
                // Rules by the line of the combined text they are on.
                let by_line: BTreeMap<u32, &rootwrap::types::Rule> = compiled
                    .policy
                    .rules
                    .iter()
                    .map(|lowered| (lowered.rule.source.line, &lowered.rule))
                    .collect();
                let findings: Vec<(Lint, Option<&&rootwrap::types::Rule>, &str)> = compiled
                    .warnings
                    .iter()
                    .filter_map(|warning| {
                        let line = warning
                            .span
                            .as_ref()
                            .map(|(span, _)| sources.line_col(span.file, span.start).0);
                        let rule = line.and_then(|l| by_line.get(&(l as u32)));
                        Some((warning.code?, rule, warning.message.as_str()))
                    })
                    .collect();
                for (lint, rule, message) in &findings {
                    if let (Lint::Shadowed, Some(rule)) = (lint, rule) {
                        never_decides.insert(rule.name.clone(), message.to_string());
                    }
                }
                for (lint, rule, message) in findings {
                    if let Some(rule) = rule {
                        let moot = never_decides.contains_key(&rule.name) && lint != Lint::Shadowed;
                        let as_renamed = lint == Lint::Shadowed
                            && renamed.iter().any(|r| r.rule_name == rule.name);
                        if moot || as_renamed {
                            continue;
                        }
                    }
                    let record = rule.and_then(|r| records.get(r.name.as_str()));
                    let entry = match (rule, record) {
                        (Some(rule), Some(record)) => Entry {
                            root: rule.run_as == RunAs::Root,
                            site: format!("{}:{}", record.file, record.line),
                            text: format!(
                                "rule `{}` (as {}): {message}",
                                rule.name,
                                rule.run_as.user_name(),
                            ),
                        },
                        (Some(rule), None) => Entry {
                            root: rule.run_as == RunAs::Root,
                            site: self.privsep_file.clone(),
                            text: format!("rule `{}`: {message}", rule.name),
                        },
                        _ => Entry {
                            root: true,
                            site: RULESET_FILE.to_string(),
                            text: message.to_string(),
                        },
                    };
                    let rank = ORDER.iter().position(|l| *l == lint).unwrap_or(ORDER.len());
                    groups
                        .entry(rank)
                        .or_insert_with(|| (lint, Vec::new()))
                        .1
                        .push(entry);
                }
            }
            Err(f) => failed = Some(f.diagnostics.iter().filter(|d| d.is_error()).count()),
        }
        let decisions =
            groups.values().map(|(_, e)| e.len()).sum::<usize>() + renamed.len() + refused.len();

        let mut out = String::new();
        let _ = writeln!(
            out,
            "import-oslo: review to-do: {decisions} decision(s), the widest privileges first"
        );
        if let Some(errors) = failed {
            let _ = writeln!(
                out,
                "  the imported rules do not compile ({errors} error(s)): `rootwrap-compile check` on them says why; no lint ran"
            );
        }
        for (lint, mut entries) in groups.into_values() {
            // Root's first: the widest.
            entries.sort_by_key(|e| !e.root);
            let _ = writeln!(
                out,
                "  {} ({}): {}",
                lint.code(),
                entries.len(),
                what_to_check(lint)
            );
            for entry in entries {
                let _ = writeln!(out, "    {} {}", entry.site, entry.text);
            }
        }
        if !renamed.is_empty() {
            let _ = writeln!(
                out,
                "  renamed ({}): another filter has the same name; both are kept: check that the service needs both",
                renamed.len()
            );
            for record in renamed {
                let repeat = never_decides
                    .get(&record.rule_name)
                    .map(|why| format!(": {why}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "    {}:{} filter `{}` is rule `{}`{repeat}",
                    record.file, record.line, record.oslo_name, record.rule_name
                );
            }
        }
        if !refused.is_empty() {
            let _ = writeln!(
                out,
                "  refused ({}): not imported, so calls oslo allowed are denied: decide whether the service needs them",
                refused.len()
            );
            for record in refused {
                if let Outcome::Refused(refusal) = &record.outcome {
                    let _ = writeln!(
                        out,
                        "    {}:{} filter `{}`: {}: {}",
                        record.file,
                        record.line,
                        record.oslo_name,
                        refusal.category,
                        refusal.reason
                    );
                }
            }
        }
        if decisions == 0 && failed.is_none() {
            let _ = writeln!(
                out,
                "  nothing: no lint finding, no renamed or refused filter"
            );
        }
        out
    }

    /// The to-do list as `-o DIR` writes it: a first line that marks it as
    /// an import's (so `--force` may replace it), then the list.
    pub fn todo_file(todo: &str) -> String {
        format!("# Imported from oslo.rootwrap by `rootwrap-compile import-oslo`: the review to-do list.\n{todo}")
    }
}
