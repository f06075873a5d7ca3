//! `rootwrap-compile info RULESET`: a short summary of a ruleset.

use std::fmt::Write as _;
use std::path::Path;

use rootwrap::format::{hex, DFA_FORMAT};

use super::load::Loaded;

/// The summary as text.
pub fn render(loaded: &Loaded) -> String {
    let mut out = String::new();
    let ruleset = &loaded.ruleset;
    let options = ruleset.options();
    let _ = writeln!(out, "ruleset      {}", options.name);
    let input = match loaded.source {
        Some(_) => "filter files, compiled in memory",
        None => "a compiled ruleset",
    };
    let _ = writeln!(out, "path         {} ({input})", loaded.path);
    let _ = writeln!(out, "digest       sha256:{}", ruleset.digest_hex());
    let _ = writeln!(
        out,
        "             the ruleset's identity, as audit records and `explain` show it;"
    );
    let _ = writeln!(
        out,
        "             not the file's sha256sum (it covers the header and the index, which cover every byte)"
    );
    if loaded.source.is_none() {
        if let Ok(file) = rootwrap::binary::digest_of(Path::new(&loaded.path)) {
            let _ = writeln!(out, "file sha256  {} (what sha256sum prints)", hex(&file));
        }
    }
    let _ = writeln!(
        out,
        "format       version {} (regex automata format {DFA_FORMAT:#010x})",
        loaded.format_version
    );
    let actions = loaded.actions.len();
    let commands = ruleset.all_commands().map(|c| c.len()).unwrap_or(0);
    let denies = loaded.rules.iter().filter(|r| r.is_deny()).count();
    let disabled = loaded
        .rules
        .iter()
        .filter(|r| r.disabled().is_some())
        .count();
    // Deny rules and disabled rules only where there are any.
    let mut overrides = String::new();
    if denies > 0 {
        overrides.push_str(&format!(", {denies} deny rule(s)"));
    }
    if disabled > 0 {
        overrides.push_str(&format!(", {disabled} disabled rule(s)"));
    }
    let _ = writeln!(
        out,
        "rules        {}: {} allow rule(s){overrides}, {actions} action(s); {commands} command spelling(s)",
        loaded.rules.len(),
        loaded.rules.len() - actions - denies - disabled
    );
    match loaded.tests() {
        Some(tests) => {
            let _ = writeln!(
                out,
                "tests        {} policy test(s), all passed",
                tests.len()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "tests        not recorded: a compiled ruleset does not hold its policy tests"
            );
        }
    }
    let compiler = match (ruleset.compiler(), &loaded.source) {
        (Some(version), Some(_)) => format!("rootwrap-compile {version} (this one, just now)"),
        (Some(version), None) => format!("rootwrap-compile {version}"),
        (None, _) => "not recorded".to_string(),
    };
    let _ = writeln!(out, "compiler     {compiler}");
    let _ = writeln!(out, "exec-dirs    {}", options.exec_dirs.join(" "));
    let targets = super::log_targets(options);
    let _ = writeln!(
        out,
        "log          {}",
        if targets.is_empty() {
            "none".to_string()
        } else {
            targets.join(", ")
        }
    );
    out
}
