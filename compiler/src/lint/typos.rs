//! Likely typos that compile: `as-typo` (`allow x: as nova: ls` runs the
//! assembler) and `glued-items` (`a.re"[0-9]+".b` is three arguments).

use rootwrap::types::{file_name, Arg, Item, Rule};

use crate::diag::{Diagnostic, Span};
use crate::lint::Lint;
use crate::policy::RuleSite;

pub(super) fn lint_typos(rule: &Rule, site: &RuleSite, warnings: &mut Vec<Diagnostic>) {
    lint_as(rule, site, warnings);
    lint_glued(rule, site, warnings);
}

/// `allow ls-as: as nova: ls /srv`: the target user written after the
/// colon makes `as` the command (the assembler) and `nova:` an argument.
fn lint_as(rule: &Rule, site: &RuleSite, warnings: &mut Vec<Diagnostic>) {
    let command = rule.command.as_str();
    // A user name and a colon: `nova:`, not `+%H:%M:`.
    let head = |word: &str| {
        word.strip_suffix(':').is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
        })
    };
    let colon_word = match rule.args.first() {
        Some(Item::One(Arg::Literal(word))) if head(word) => Some(word.as_str()),
        _ => None,
    };
    let (message, span) = if file_name(command) == "as" {
        (
            format!(
                "rule `{}` runs `{command}`, the assembler: a target user goes before the `:`",
                rule.name
            ),
            site.command_span,
        )
    } else if head(command) {
        (
            format!(
                "rule `{}`: its command `{command}` ends in `:`, like a rule's head",
                rule.name
            ),
            site.command_span,
        )
    } else if let Some(word) = colon_word {
        (
            format!(
                "rule `{}`: its first argument `{word}` ends in `:`, like a rule's head",
                rule.name
            ),
            site.arg_spans.first().copied().unwrap_or(site.span),
        )
    } else {
        return;
    };
    warnings.push(
        Diagnostic::warning(Lint::AsTypo, message)
            .at(span, "read as part of the command line")
            .help(format!(
                "to run a command as a user, write `allow {} as USER: COMMAND ...`; if this is meant, say so with `because as-typo \"...\"`",
                rule.name
            )),
    );
}

/// Items written with no space between them (`a.re"[0-9]+".b`): each is
/// its own argument, which is rarely what such a spelling means.
fn lint_glued(rule: &Rule, site: &RuleSite, warnings: &mut Vec<Diagnostic>) {
    let spans = &site.arg_spans;
    let mut start = 0;
    while start < spans.len() {
        let mut end = start + 1;
        while end < spans.len() && spans[end - 1].end == spans[end].start {
            end += 1;
        }
        if end - start > 1 {
            warnings.push(glued(rule, site, start, end));
        }
        start = end;
    }
}

fn glued(rule: &Rule, site: &RuleSite, start: usize, end: usize) -> Diagnostic {
    let span = Span {
        end: site.arg_spans[end - 1].end,
        ..site.arg_spans[start]
    };
    let one_regex: Option<String> = rule.args[start..end].iter().map(item_regex).collect();
    let help = match one_regex {
        Some(regex) => format!(
            "to match one argument, write one regex: `re\"{regex}\"`; to match {} arguments, separate the items with spaces",
            end - start
        ),
        None => "to match one argument, write it as one regex `re\"...\"`; to match several, separate the items with spaces".to_string(),
    };
    Diagnostic::warning(
        Lint::GluedItems,
        format!(
            "rule `{}`: {} items are written without spaces between them",
            rule.name,
            end - start
        ),
    )
    .at(
        span,
        format!("matches {} separate arguments, not one", end - start),
    )
    .help(help)
}

/// A regex (its source) for an item of single literals, regexes and small
/// integer ranges, if it is one.
fn item_regex(item: &Item) -> Option<String> {
    match item {
        Item::One(arg) => as_regex(arg),
        Item::Alt(alternatives) => {
            let each: Option<Vec<String>> = alternatives.iter().map(item_regex).collect();
            Some(format!("(?:{})", each?.join("|")))
        }
        _ => None,
    }
}

/// A regex (its source) for one literal, regex or small integer range,
/// optionally after a literal prefix.
fn as_regex(arg: &Arg) -> Option<String> {
    match arg {
        Arg::Int { min, max } if *min >= 0 && max - min < 10 => {
            let each: Vec<String> = (*min..=*max).map(|n| n.to_string()).collect();
            Some(format!("(?:{})", each.join("|")))
        }
        Arg::Literal(text) => Some(escape(text)),
        Arg::Regex(regex) if regex.source.contains('|') => Some(format!("(?:{})", regex.source)),
        Arg::Regex(regex) => Some(regex.source.clone()),
        Arg::Prefixed { prefix, value } => Some(format!("{}{}", escape(prefix), as_regex(value)?)),
        _ => None,
    }
}

/// `text` as a regex matching it literally (and written inside `re"..."`).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~\"".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
