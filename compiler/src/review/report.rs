//! `rootwrap-compile report RULESET [--against OLD] -o report.html`: one
//! self-contained HTML page for a security review: the rules grouped by
//! command with their lint findings and risk, the policy tests, and the
//! diff against an older ruleset. No external resource: the page's own
//! Content-Security-Policy forbids loading any.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rootwrap::types::{file_name, Arg, Effect, Item, Rest, Rule, RunAs};

use super::diff::Diff;
use super::load::{Finding, Loaded};

/// How much a rule needs a reviewer's attention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Risk {
    Low,
    Medium,
    High,
}

impl Risk {
    pub fn word(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
        }
    }
}

fn takes_any(item: &Item) -> bool {
    match item {
        Item::One(arg) => matches!(arg, Arg::Any),
        Item::Seq(items) | Item::Alt(items) | Item::AnyOrder(items) => items.iter().any(takes_any),
        Item::Optional(item) => takes_any(item),
    }
}

/// High: a lint finding, or root with open-ended arguments (`...`,
/// `<ip-args...>`, `then allowed`, `<any>`); medium: root otherwise; low:
/// another user, no finding.
pub fn risk(rule: &Rule, findings: &[Finding]) -> Risk {
    // A deny rule or a disabled one grants nothing.
    if rule.effect != Effect::Allow {
        return Risk::Low;
    }
    let open = rule.rest != Rest::Exact || rule.args.iter().any(takes_any);
    match (&rule.run_as, findings.is_empty(), open) {
        (_, false, _) | (RunAs::Root, _, true) => Risk::High,
        (RunAs::Root, true, false) => Risk::Medium,
        (RunAs::User(_), true, _) => Risk::Low,
    }
}

/// `s` with HTML's special characters escaped, for text and attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:70em;padding:0 1em;color:#222}
h1{margin-bottom:.2em}code,pre{font-family:ui-monospace,monospace;font-size:.92em}
pre{background:#f4f4f4;padding:.5em;white-space:pre-wrap;margin:.3em 0}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;vertical-align:top}
.rule{border-left:4px solid #999;padding:.2em .8em;margin:.6em 0}
.rule[data-risk=high]{border-color:#c0392b}.rule[data-risk=medium]{border-color:#e67e22}.rule[data-risk=low]{border-color:#27ae60}
.risk{font-weight:bold;text-transform:uppercase;font-size:.8em}
.grows{color:#c0392b;font-weight:bold}.muted{color:#666}
#filter{width:30em;padding:.3em}
";

/// Filters the rules by a search box, and says, in the page, that the
/// script ran and how many rules the page holds (what the browser test reads).
const SCRIPT: &str = "
(function () {
  var rules = document.querySelectorAll('article.rule');
  document.getElementById('rendered-count').textContent = String(rules.length);
  var box = document.getElementById('filter');
  box.addEventListener('input', function () {
    var needle = box.value.toLowerCase();
    rules.forEach(function (rule) {
      rule.hidden = needle !== '' && rule.textContent.toLowerCase().indexOf(needle) < 0;
    });
  });
  document.body.setAttribute('data-ready', 'yes');
})();
";

/// The page.
pub fn render(loaded: &Loaded, against: Option<(&Loaded, &Diff)>) -> String {
    let options = loaded.ruleset.options();
    let (findings, general) = loaded.findings();
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\n\
         <title>rootwrap ruleset {}: review</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(&options.name)
    );
    let _ = writeln!(
        out,
        "<h1>Ruleset <code>{}</code></h1>",
        escape(&options.name)
    );
    let _ = writeln!(
        out,
        "<p class=\"muted\">{} · sha256:<code id=\"digest\">{}</code> (the digest audit records show) · written by rootwrap-compile {}</p>",
        escape(&loaded.path),
        loaded.ruleset.digest_hex(),
        env!("CARGO_PKG_VERSION")
    );
    let high = loaded
        .rules
        .iter()
        .zip(&findings)
        .filter(|(r, f)| risk(r, f) == Risk::High)
        .count();
    let lint_count: usize = findings.iter().map(Vec::len).sum::<usize>() + general.len();
    let _ = writeln!(
        out,
        "<p><span id=\"rule-count\">{}</span> rules (<span id=\"rendered-count\">?</span> on this page), {high} of high risk, {lint_count} lint finding(s).</p>",
        loaded.rules.len()
    );
    out.push_str("<h2>Options</h2>\n<pre>");
    for (_, line) in super::option_lines(options) {
        let _ = writeln!(out, "{}", escape(&line));
    }
    out.push_str("</pre>\n");
    if let Some((old, diff)) = against {
        render_diff(&mut out, old, diff);
    }
    out.push_str("<h2>Rules by command</h2>\n<p><input id=\"filter\" type=\"search\" placeholder=\"Filter rules\" aria-label=\"Filter rules\"></p>\n");
    for finding in &general {
        let _ = writeln!(
            out,
            "<p>warning[{}]: {}</p>",
            escape(&finding.code),
            escape(&finding.message)
        );
    }
    let mut groups: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, rule) in loaded.rules.iter().enumerate() {
        // A rule for several commands is shown with each.
        let mut names: Vec<&str> = rule.commands().map(|c| file_name(c.as_str())).collect();
        names.dedup();
        for name in names {
            groups.entry(name).or_default().push(i);
        }
    }
    for (command, indexes) in groups {
        let _ = writeln!(
            out,
            "<section class=\"command\">\n<h3><code>{}</code> <span class=\"muted\">({} rule(s))</span></h3>",
            escape(command),
            indexes.len()
        );
        for i in indexes {
            let rule = &loaded.rules[i];
            let no_findings = Vec::new();
            let found = findings.get(i).unwrap_or(&no_findings);
            let level = risk(rule, found);
            let declaration = match loaded.action(rule) {
                Some(action) => super::action_lines(rule, action),
                None => {
                    let mut lines = vec![super::rule_line(rule)];
                    lines.extend(super::disable_line(rule));
                    lines
                }
            };
            let effect = match &rule.effect {
                Effect::Allow => format!(
                    "runs as <strong>{}</strong>",
                    escape(rule.run_as.user_name())
                ),
                Effect::Deny { any_user: true } => {
                    "<strong>deny rule</strong>: denies what it matches, whatever allows it".into()
                }
                Effect::Deny { any_user: false } => format!(
                    "<strong>deny rule</strong>: denies what it matches when a rule would run it as <strong>{}</strong>",
                    escape(rule.run_as.user_name())
                ),
                Effect::Disabled(d) => format!(
                    "<strong>disabled</strong> at {}:{}: {}",
                    escape(&d.source.file),
                    d.source.line,
                    escape(&d.reason)
                ),
            };
            let via = match rule.via.is_empty() {
                true => String::new(),
                false => format!(
                    " · reached only through <code>{}</code>",
                    escape(&rule.via.join(", "))
                ),
            };
            let _ = writeln!(
                out,
                "<article class=\"rule\" data-risk=\"{}\" id=\"rule-{}\">\n<p><span class=\"risk\">{} risk</span> · <strong>{}</strong> · {}:{} · {effect}{via}</p>\n<pre>{}</pre>",
                level.word(),
                escape(&rule.name),
                level.word(),
                escape(&rule.name),
                escape(&rule.source.file),
                rule.source.line,
                escape(&declaration.join("\n"))
            );
            if !found.is_empty() {
                out.push_str("<ul class=\"findings\">\n");
                for finding in found {
                    let _ = writeln!(
                        out,
                        "<li>warning[{}]: {}</li>",
                        escape(&finding.code),
                        escape(&finding.message)
                    );
                }
                out.push_str("</ul>\n");
            }
            out.push_str("</article>\n");
        }
        out.push_str("</section>\n");
    }
    render_tests(&mut out, loaded);
    let _ = write!(out, "<script>{SCRIPT}</script>\n</body>\n</html>\n");
    out
}

fn render_tests(out: &mut String, loaded: &Loaded) {
    out.push_str("<h2>Policy tests</h2>\n");
    let Some(tests) = loaded.tests() else {
        out.push_str("<p>A compiled ruleset does not hold its policy tests: give the filter files to list them here.</p>\n");
        return;
    };
    let _ = writeln!(
        out,
        "<p><span id=\"test-count\">{}</span> policy test(s), all passed (the ruleset compiled).</p>",
        tests.len()
    );
    if tests.is_empty() {
        return;
    }
    out.push_str("<table>\n<tr><th>expects</th><th>command line</th></tr>\n");
    for test in tests {
        let expects = match (test.expect_allow, &test.rule) {
            (true, Some(rule)) => format!("allow by {}", rule.value),
            (true, None) => "allow".into(),
            (false, _) => "deny".into(),
        };
        let argv: Vec<String> = test
            .argv
            .iter()
            .map(|a| rootwrap::display::literal(a))
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td></tr>",
            escape(&expects),
            escape(&argv.join(" "))
        );
    }
    out.push_str("</table>\n");
}

fn render_diff(out: &mut String, old: &Loaded, diff: &Diff) {
    let _ = writeln!(
        out,
        "<h2>Changes against <code>{}</code></h2>\n<p class=\"muted\">sha256:{}</p>",
        escape(&old.path),
        old.ruleset.digest_hex()
    );
    if diff.changes.is_empty() {
        out.push_str("<p id=\"diff-verdict\">No change in privileges.</p>\n");
        return;
    }
    let verdict = if diff.grows() {
        "<p id=\"diff-verdict\" class=\"grows\">Privileges grew: the changes marked below need sign-off.</p>"
    } else {
        "<p id=\"diff-verdict\">Privileges did not grow.</p>"
    };
    let _ = writeln!(out, "{verdict}\n<ul class=\"diff\">");
    for change in &diff.changes {
        let class = if change.grows { " class=\"grows\"" } else { "" };
        let _ = writeln!(
            out,
            "<li><span{class}>{}</span>: {}<pre>{}</pre></li>",
            escape(&change.kind),
            escape(&change.summary),
            escape(&change.details.join("\n"))
        );
    }
    out.push_str("</ul>\n");
}
