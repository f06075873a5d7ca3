//! `rootwrap-compile list RULESET [--user U] [--json]`: the `sudo -l` of
//! rootwrap: the ruleset's identity and options, then every rule and
//! action as it reads back in filter syntax, with where it was written.

use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use rootwrap::types::{OnLogFailure, Rule};

use super::load::Loaded;
use super::sudoers::Reach;
use crate::explain::{rule_info, RuleInfo, RulesetInfo};
use crate::lower::{SYSLOG_FACILITIES, SYSLOG_LEVELS};

/// The `schema` of `list --json` (see the book's "JSON schemas").
pub const SCHEMA: &str = "rootwrap-list/1";

#[derive(Debug, Serialize)]
pub struct Listing {
    /// `rootwrap-list/1`.
    pub schema: &'static str,
    /// As in `explain --json`.
    pub ruleset: RulesetInfo,
    pub format_version: u32,
    /// The compiler's version the ruleset records, or null.
    pub compiler: Option<String>,
    pub log: LogInfo,
    /// Every option as a filter-file line, defaults included.
    pub options: Vec<String>,
    /// With `--user`: whom the rules are filtered for, and through what.
    pub user: Option<UserInfo>,
    /// In declaration order; with `--user`, only those the user can reach.
    pub rules: Vec<ListedRule>,
}

#[derive(Debug, Serialize)]
pub struct LogInfo {
    pub syslog: Option<SyslogInfo>,
    pub json: Option<String>,
    /// `refuse` or `continue`.
    pub on_failure: &'static str,
}

#[derive(Debug, Serialize)]
pub struct SyslogInfo {
    pub facility: String,
    pub allowed_level: String,
    pub denied_level: String,
}

#[derive(Debug, Serialize)]
pub struct UserInfo {
    pub name: String,
    /// Each sudo entry (or daemon option) that reaches this ruleset.
    pub grants: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct ListedRule {
    /// `name`, `file`, `line`, `pattern`, `effect`: as `explain --json`'s
    /// rules.
    #[serde(flatten)]
    pub rule: RuleInfo,
    /// The target user.
    pub run_as: String,
    /// `rule`, `deny` or `action`.
    pub kind: &'static str,
    /// A disabled rule's `disable`: why, and where it is written.
    pub disabled: Option<DisabledInfo>,
    /// The declaration as a filter file writes it: `allow NAME [as USER]:
    /// PATTERN`, or an action's heading and its steps, one per line.
    pub declaration: Vec<String>,
    /// With `--user`: the grants this rule is reached through.
    pub grants: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct DisabledInfo {
    pub reason: String,
    pub file: String,
    pub line: u32,
}

fn declaration(loaded: &Loaded, rule: &Rule) -> (&'static str, Vec<String>) {
    match loaded.action(rule) {
        Some(action) => ("action", super::action_lines(rule, action)),
        None => {
            let kind = match super::keyword(rule) {
                "deny" => "deny",
                _ => "rule",
            };
            let mut lines = vec![super::rule_line(rule)];
            lines.extend(super::disable_line(rule));
            (kind, lines)
        }
    }
}

/// The listing of `loaded`, for `user` through `reach` when given.
pub fn listing(loaded: &Loaded, user: Option<(&str, &Reach)>) -> Listing {
    let options = loaded.ruleset.options();
    let mut rules = Vec::new();
    for rule in &loaded.rules {
        let grants: Vec<String> = match user {
            Some((_, reach)) => reach
                .grants_for(&absolute(&loaded.path), rule)
                .into_iter()
                .map(|g| g.entry.clone())
                .collect(),
            None => Vec::new(),
        };
        if user.is_some() && grants.is_empty() {
            continue;
        }
        let (kind, declaration) = declaration(loaded, rule);
        rules.push(ListedRule {
            rule: rule_info(rule),
            run_as: rule.run_as.user_name().to_string(),
            kind,
            disabled: rule.disabled().map(|d| DisabledInfo {
                reason: d.reason.clone(),
                file: d.source.file.clone(),
                line: d.source.line,
            }),
            declaration,
            grants,
        });
    }
    Listing {
        schema: SCHEMA,
        ruleset: loaded.ruleset_info(),
        format_version: loaded.format_version,
        compiler: loaded.ruleset.compiler().map(str::to_string),
        log: LogInfo {
            syslog: options.log.syslog.map(|s| SyslogInfo {
                facility: super::name_of(SYSLOG_FACILITIES, s.facility),
                allowed_level: super::name_of(SYSLOG_LEVELS, s.allowed_level),
                denied_level: super::name_of(SYSLOG_LEVELS, s.denied_level),
            }),
            json: options.log.json.clone(),
            on_failure: match options.log.on_failure {
                OnLogFailure::Refuse => "refuse",
                OnLogFailure::Continue => "continue",
            },
        },
        options: super::option_lines(options)
            .into_iter()
            .map(|(_, line)| line)
            .collect(),
        user: user.map(|(name, reach)| UserInfo {
            name: name.to_string(),
            grants: reach.grants.iter().map(|g| g.entry.clone()).collect(),
        }),
        rules,
    }
}

/// The ruleset's path as sudo sees it in a call: sudoers names absolute
/// paths, and sudo compares them as text (symbolic links unresolved).
pub fn absolute(path: &str) -> String {
    std::path::absolute(Path::new(path))
        .map_or_else(|_| path.to_string(), |p| p.display().to_string())
}

/// The listing as text.
pub fn render(listing: &Listing) -> String {
    let mut out = String::new();
    let ruleset = &listing.ruleset;
    let _ = writeln!(out, "ruleset {} ({})", ruleset.name, ruleset.path);
    let _ = writeln!(
        out,
        "  digest     sha256:{} (as the audit log shows it)",
        ruleset.sha256
    );
    let _ = writeln!(
        out,
        "  compiler   {}",
        listing.compiler.as_deref().map_or_else(
            || "not recorded".to_string(),
            |version| format!("rootwrap-compile {version}")
        )
    );
    let _ = writeln!(out, "  exec-dirs  {}", ruleset.exec_dirs.join(" "));
    let mut log = Vec::new();
    if let Some(syslog) = &listing.log.syslog {
        log.push(format!(
            "syslog facility={} allowed-level={} denied-level={}",
            syslog.facility, syslog.allowed_level, syslog.denied_level
        ));
    }
    if let Some(json) = &listing.log.json {
        log.push(format!("json {json}"));
    }
    if log.is_empty() {
        log.push("none".into());
    }
    let _ = writeln!(
        out,
        "  log        {} (on failure: {})",
        log.join(", "),
        listing.log.on_failure
    );
    if let Some(daemon) = listing.options.iter().find(|l| l.starts_with("daemon ")) {
        let _ = writeln!(out, "  daemon     {}", &daemon["daemon ".len()..]);
    }
    match &listing.user {
        None => {
            let _ = writeln!(out, "  rules      {}", ruleset.rules);
        }
        Some(user) => {
            let _ = writeln!(
                out,
                "  rules      {} of {} reachable by {}",
                listing.rules.len(),
                ruleset.rules,
                user.name
            );
            if user.grants.is_empty() {
                let _ = writeln!(
                    out,
                    "  through    nothing: {} cannot run rootwrap with this ruleset through sudo",
                    user.name
                );
            }
            for grant in &user.grants {
                let _ = writeln!(out, "  through    {grant}");
            }
        }
    }
    if !listing.rules.is_empty() {
        out.push('\n');
    }
    let width = listing
        .rules
        .iter()
        .map(|r| site(&r.rule).chars().count())
        .max()
        .unwrap_or(0);
    for rule in &listing.rules {
        let site = site(&rule.rule);
        for (i, line) in rule.declaration.iter().enumerate() {
            let first = if i == 0 { site.as_str() } else { "" };
            let _ = writeln!(out, "{first:width$}  {line}");
        }
    }
    out
}

fn site(rule: &RuleInfo) -> String {
    format!("{}:{}", rule.file, rule.line)
}
