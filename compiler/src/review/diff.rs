//! `rootwrap-compile diff OLD NEW`: what changed in the privileges a
//! ruleset grants, rule by rule, in words, judged on the lowered patterns
//! (not on their text) and on the side of caution: a change it cannot
//! classify is reported as "changed (cannot tell if wider)" and counts as
//! growth.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rootwrap::types::{
    Arg, Command, Effect, EnvVar, Item, PathDepth, PathScope, Rest, Rule, RunAs,
};

use serde::Serialize;

use super::load::Loaded;
use crate::explain::RulesetInfo;

/// How the calls a new pattern allows relate to those of the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rel {
    Same,
    /// A superset.
    Wider,
    /// A subset.
    Narrower,
    /// Wider in one part, narrower in another: some new calls, some lost.
    Mixed,
    /// Neither could be shown.
    Unknown,
}

impl Rel {
    /// Two independent parts of a pattern together.
    fn and(self, other: Rel) -> Rel {
        use Rel::*;
        match (self, other) {
            (Same, x) | (x, Same) => x,
            (Unknown, _) | (_, Unknown) => Unknown,
            (Wider, Wider) => Wider,
            (Narrower, Narrower) => Narrower,
            _ => Mixed,
        }
    }

    fn of(new_covers_old: bool, old_covers_new: bool) -> Rel {
        match (new_covers_old, old_covers_new) {
            (true, true) => Rel::Same,
            (true, false) => Rel::Wider,
            (false, true) => Rel::Narrower,
            (false, false) => Rel::Unknown,
        }
    }

    /// Whether the new pattern may allow a call the old one did not.
    pub fn grows(self) -> bool {
        matches!(self, Rel::Wider | Rel::Mixed | Rel::Unknown)
    }

    fn word(self) -> &'static str {
        match self {
            Rel::Same => "unchanged",
            Rel::Wider => "widened",
            Rel::Narrower => "narrowed",
            Rel::Mixed => "widened and narrowed",
            Rel::Unknown => "changed (cannot tell if wider)",
        }
    }
}

/// Whether every argument `small` matches, `big` matches too, as far as
/// can be shown from the patterns alone (false when unsure).
pub fn covers(big: &Arg, small: &Arg) -> bool {
    if big == small || *big == Arg::Any {
        return true;
    }
    match (big, small) {
        (_, Arg::OneOf(alternatives)) => alternatives.iter().all(|a| covers(big, a)),
        (Arg::OneOf(alternatives), _) => alternatives.iter().any(|a| covers(a, small)),
        (Arg::Operand, small) => never_an_option(small),
        (Arg::Regex(regex), Arg::Literal(s)) => regex.dfa.matches_whole(s.as_bytes()) == Ok(true),
        (Arg::Int { min, max }, Arg::Literal(s)) => s
            .parse::<i64>()
            .is_ok_and(|n| n.to_string() == *s && (*min..=*max).contains(&n)),
        (Arg::Int { min, max }, Arg::Int { min: a, max: b }) => min <= a && b <= max,
        (Arg::Mode(set), Arg::Mode(values)) => {
            (set.is_empty() && values.iter().all(|v| v & 0o7000 == 0) && !values.is_empty())
                || (!values.is_empty() && values.iter().all(|v| set.contains(v)))
        }
        (Arg::Signal(set), Arg::Signal(values)) => {
            set.is_empty() || (!values.is_empty() && values.iter().all(|v| set.contains(v)))
        }
        (Arg::Ip, Arg::Ipv4 | Arg::Ipv6) => true,
        (
            Arg::Path { scopes, pin },
            Arg::Path {
                scopes: small,
                pin: p,
            },
        ) => {
            pin == p
                && small
                    .iter()
                    .all(|s| scopes.iter().any(|b| scope_covers(b, s)))
        }
        (
            Arg::Prefixed { prefix, value },
            Arg::Prefixed {
                prefix: p,
                value: v,
            },
        ) => prefix == p && covers(value, v),
        (Arg::Prefixed { prefix, value }, Arg::Literal(s)) => s
            .strip_prefix(prefix.as_str())
            .is_some_and(|rest| covers(value, &Arg::Literal(rest.to_string()))),
        (Arg::Pid(big), Arg::Pid(small)) => {
            small.targets.iter().all(|t| big.targets.contains(t))
                && (big.user.is_none() || big.user == small.user)
        }
        _ => false,
    }
}

/// Patterns whose every match is non-empty and does not start with `-`.
fn never_an_option(arg: &Arg) -> bool {
    match arg {
        Arg::Literal(s) => !s.is_empty() && !s.starts_with('-'),
        Arg::Int { min, .. } => *min >= 0,
        Arg::OneOf(alternatives) => alternatives.iter().all(never_an_option),
        Arg::Uuid | Arg::Ipv4 | Arg::Ipv6 | Arg::Ip | Arg::Cidr | Arg::Mac | Arg::Operand => true,
        Arg::Mode(_) | Arg::ModeBits { .. } => true,
        _ => false,
    }
}

/// Whether every path `small` admits, `big` admits.
/// Component by component: a scope is names (or `*`, any one name), then
/// what its depth lets follow: nothing (`Exactly`), one name (`Child`) or
/// one or more (`Descendant`).
fn scope_covers(big: &PathScope, small: &PathScope) -> bool {
    let (b, s) = (big.components(), small.components());
    // `big`'s first names admit `small`'s: `*` any name, a name itself only.
    let leads = |len: usize| {
        s.len() >= len
            && b.iter()
                .zip(&s)
                .take(len)
                .all(|(b, s)| b.is_none() || b == s)
    };
    use PathDepth::*;
    match (big.depth, small.depth) {
        (Exactly, Exactly) | (Child, Child) => s.len() == b.len() && leads(b.len()),
        (Child, Exactly) => s.len() == b.len() + 1 && leads(b.len()),
        (Descendant, Exactly) => s.len() > b.len() && leads(b.len()),
        (Descendant, Child | Descendant) => leads(b.len()),
        (Exactly | Child, _) => false,
    }
}

fn arg_rel(old: &Arg, new: &Arg) -> Rel {
    if old == new {
        return Rel::Same;
    }
    Rel::of(covers(new, old), covers(old, new))
}

fn item_rel(old: &Item, new: &Item) -> Rel {
    if old == new {
        return Rel::Same;
    }
    match (old, new) {
        (Item::One(a), Item::One(b)) => arg_rel(a, b),
        (Item::Optional(a), Item::Optional(b)) => item_rel(a, b),
        (a, Item::Optional(b)) => match item_rel(a, b) {
            Rel::Same | Rel::Wider => Rel::Wider,
            _ => Rel::Unknown,
        },
        (Item::Optional(a), b) => match item_rel(a, b) {
            Rel::Same | Rel::Narrower => Rel::Narrower,
            _ => Rel::Unknown,
        },
        (Item::Seq(a), Item::Seq(b)) => items_rel(a, b),
        (Item::Alt(a), Item::Alt(b)) => Rel::of(
            a.iter().all(|x| b.contains(x)),
            b.iter().all(|x| a.contains(x)),
        ),
        (a, Item::Alt(b)) if b.contains(a) => Rel::Wider,
        (Item::Alt(a), b) if a.contains(b) => Rel::Narrower,
        (Item::AnyOrder(a), Item::AnyOrder(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .fold(Rel::Same, |r, (x, y)| r.and(item_rel(x, y))),
        _ => Rel::Unknown,
    }
}

/// Lists of items: position by position, or one list being the other with
/// optional items inserted.
fn items_rel(old: &[Item], new: &[Item]) -> Rel {
    if old.len() == new.len() {
        return old
            .iter()
            .zip(new)
            .fold(Rel::Same, |r, (a, b)| r.and(item_rel(a, b)));
    }
    let (long, short, rel) = if new.len() > old.len() {
        (new, old, Rel::Wider)
    } else {
        (old, new, Rel::Narrower)
    };
    let mut rest = short.iter().peekable();
    for item in long {
        if rest.peek() == Some(&item) {
            rest.next();
        } else if !matches!(item, Item::Optional(_)) {
            return Rel::Unknown;
        }
    }
    if rest.next().is_some() {
        return Rel::Unknown;
    }
    rel
}

/// `...` takes anything; `then allowed` needs a command after the items
/// (so it and nothing exclude each other); `<ip-args...>` checks all the
/// arguments, the items' too (so it may refuse what an exact rule allowed).
fn rest_rel(old: Rest, new: Rest) -> Rel {
    use Rest::*;
    match (old, new) {
        _ if old == new => Rel::Same,
        (Exact | Chain | IpArgs, Any) => Rel::Wider,
        (Any, Exact | Chain | IpArgs) => Rel::Narrower,
        (Exact, Chain) | (Chain, Exact) => Rel::Mixed,
        _ => Rel::Unknown,
    }
}

/// Each way one rule changed, in words, and how its calls relate.
pub fn compare(old: &Rule, new: &Rule) -> (Rel, Vec<String>) {
    let mut rel = Rel::Same;
    let mut words = Vec::new();
    let mut note = |r: Rel, text: String| {
        if r != Rel::Same {
            rel = rel.and(r);
            words.push(format!("{}: {text}", r.word()));
        }
    };
    // A rule for several commands (`(A | B)`) runs the one the caller
    // names: one more is a wider rule, one fewer a narrower one.
    let added: Vec<&Command> = new
        .commands()
        .filter(|c| !old.commands().any(|o| o == *c))
        .collect();
    let removed: Vec<&Command> = old
        .commands()
        .filter(|c| !new.commands().any(|n| n == *c))
        .collect();
    if added.len() == new.commands().count() {
        note(
            Rel::Unknown,
            format!(
                "runs `{}` now (was `{}`)",
                new.command_text(),
                old.command_text()
            ),
        );
    } else {
        for command in added {
            note(
                Rel::Wider,
                format!("may now also run `{}`", command.as_str()),
            );
        }
        for command in removed {
            note(
                Rel::Narrower,
                format!("no longer runs `{}`", command.as_str()),
            );
        }
    }
    match (&old.sha256, &new.sha256) {
        (Some(_), None) => note(Rel::Wider, "no longer pins its executable's digest".into()),
        (None, Some(_)) => note(Rel::Narrower, "now pins its executable's digest".into()),
        (Some(a), Some(b)) if a != b => note(Rel::Unknown, "pins another digest".into()),
        _ => {}
    }
    if old.run_as != new.run_as {
        let r = match (&old.run_as, &new.run_as) {
            (RunAs::User(_), RunAs::Root) => Rel::Wider,
            (RunAs::Root, RunAs::User(_)) => Rel::Narrower,
            _ => Rel::Unknown,
        };
        note(
            r,
            format!(
                "runs as {} now (was {})",
                new.run_as.user_name(),
                old.run_as.user_name()
            ),
        );
    }
    compare_via(&old.via, &new.via, &mut note);
    compare_env(&old.env, &new.env, &mut note);
    // `...` in place of trailing items: the items it replaces are matched
    // by it.
    let shortened =
        new.rest == Rest::Any && old.rest != Rest::Any && new.args.len() < old.args.len();
    let lengthened =
        old.rest == Rest::Any && new.rest != Rest::Any && old.args.len() < new.args.len();
    if shortened || lengthened {
        let n = old.args.len().min(new.args.len());
        let prefix = items_rel(&old.args[..n], &new.args[..n]);
        let (r, text) = match (shortened, prefix) {
            (true, Rel::Same | Rel::Wider) => (Rel::Wider, "`...` now takes any arguments"),
            (false, Rel::Same | Rel::Narrower) => (Rel::Narrower, "no `...` any more"),
            _ => (Rel::Unknown, "its arguments changed"),
        };
        note(
            r,
            format!(
                "{text}: `{}` now (was `{}`)",
                new.pattern_text(),
                old.pattern_text()
            ),
        );
        return (rel, words);
    }
    if old.args != new.args {
        if old.args.len() == new.args.len() {
            for (i, (a, b)) in old.args.iter().zip(&new.args).enumerate() {
                let r = item_rel(a, b);
                let text = match (paths_in_words(a), paths_in_words(b)) {
                    (Some(was), Some(now)) => {
                        format!("argument {} may be {now} now (was {was})", i + 1)
                    }
                    _ => format!("argument {} is `{b}` now (was `{a}`)", i + 1),
                };
                note(r, text);
            }
        } else {
            let shown = |items: &[Item]| {
                items
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            note(
                items_rel(&old.args, &new.args),
                format!(
                    "arguments `{}` now (were `{}`)",
                    shown(&new.args),
                    shown(&old.args)
                ),
            );
        }
    }
    if old.rest != new.rest {
        let shown = |rest: Rest| match rest {
            Rest::Exact => "nothing".to_string(),
            Rest::Any => "any further arguments (`...`)".to_string(),
            Rest::Chain => "a command line another rule allows (`then allowed`)".to_string(),
            Rest::IpArgs => "ip's arguments (`<ip-args...>`)".to_string(),
        };
        note(
            rest_rel(old.rest, new.rest),
            format!(
                "{} may follow the arguments now (was {})",
                shown(new.rest),
                shown(old.rest)
            ),
        );
    }
    (rel, words)
}

/// A `<path>` argument's scopes in words: "any path under `/var/lib`".
fn paths_in_words(item: &Item) -> Option<String> {
    let Item::One(Arg::Path { scopes, .. }) = item else {
        return None;
    };
    let words: Vec<String> = scopes
        .iter()
        .map(|scope| match scope.depth {
            _ if !scope.middle.is_empty() => format!("a path matching `{scope}`"),
            PathDepth::Exactly => format!("`{}`", scope.base),
            PathDepth::Child => format!("an entry of `{}`", scope.base),
            PathDepth::Descendant => format!("any path under `{}`", scope.base),
        })
        .collect();
    Some(words.join(" or "))
}

/// `via CHAIN, ...`: through fewer ways is narrower; none written at all
/// is widest (a direct call, or through any chain).
fn compare_via(old: &[String], new: &[String], note: &mut impl FnMut(Rel, String)) {
    let shown = |via: &[String]| match via {
        [] => "called directly or through any chain".to_string(),
        chains => {
            let names: Vec<String> = chains.iter().map(|c| format!("`{c}`")).collect();
            format!("reached only through {}", names.join(" or "))
        }
    };
    let within = |small: &[String], big: &[String]| small.iter().all(|c| big.contains(c));
    let r = match (old.is_empty(), new.is_empty()) {
        (true, true) => Rel::Same,
        (true, false) => Rel::Narrower,
        (false, true) => Rel::Wider,
        (false, false) => match (within(old, new), within(new, old)) {
            (true, true) => Rel::Same,
            (true, false) => Rel::Wider,
            (false, true) => Rel::Narrower,
            (false, false) => Rel::Mixed,
        },
    };
    note(r, format!("{} now (was {})", shown(new), shown(old)));
}

fn compare_env(old: &[EnvVar], new: &[EnvVar], note: &mut impl FnMut(Rel, String)) {
    let names = |vars: &[EnvVar]| vars.iter().map(|v| v.name.clone()).collect::<Vec<_>>();
    if names(old) != names(new) {
        note(
            Rel::Unknown,
            format!(
                "the caller sets {} now (was {})",
                listed(&names(new)),
                listed(&names(old))
            ),
        );
        return;
    }
    for (a, b) in old.iter().zip(new) {
        note(
            arg_rel(&a.value, &b.value),
            format!(
                "variable {} is `{}` now (was `{}`)",
                a.name, b.value, a.value
            ),
        );
    }
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "no variables".into()
    } else {
        names.join(", ")
    }
}

/// One entry of the diff.
#[derive(Debug, Clone)]
pub struct Change {
    /// `added`, `removed`, `renamed`, `reordered`, `option`, or a [`Rel`]'s word.
    pub kind: String,
    pub rule: Option<String>,
    /// What happened, in words; then detail lines.
    pub summary: String,
    pub details: Vec<String>,
    pub grows: bool,
}

/// The diff between two rulesets.
#[derive(Debug, Clone, Default)]
pub struct Diff {
    pub changes: Vec<Change>,
}

impl Diff {
    pub fn grows(&self) -> bool {
        self.changes.iter().any(|c| c.grows)
    }

    /// The changes counted by kind, as the verdict line gives them.
    pub fn counts(&self) -> Counts {
        let count = |kind: &str| self.changes.iter().filter(|c| c.kind == kind).count();
        Counts {
            added: count("added"),
            removed: count("removed"),
            widened: count(Rel::Wider.word()) + count(Rel::Mixed.word()),
            narrowed: count(Rel::Narrower.word()),
            unclassified: count(Rel::Unknown.word()) + count("reordered"),
            options: count("option"),
            growing: self.changes.iter().filter(|c| c.grows).count(),
        }
    }
}

/// How many changes of each kind: the verdict line, and `diff --json`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Counts {
    pub added: usize,
    pub removed: usize,
    /// Widened, or widened and narrowed.
    pub widened: usize,
    pub narrowed: usize,
    /// Changed in ways that cannot be classified, and reordered rules.
    pub unclassified: usize,
    pub options: usize,
    /// The changes that need sign-off (`grows`).
    pub growing: usize,
}

/// The `schema` of `diff --json` (see the book's "JSON schemas").
pub const SCHEMA: &str = "rootwrap-diff/1";

/// `diff --json`: the diff as one JSON object.
#[derive(Debug, Serialize)]
pub struct DiffDocument {
    /// `rootwrap-diff/1`.
    pub schema: &'static str,
    /// As in `explain --json` and `list --json`.
    pub old: RulesetInfo,
    pub new: RulesetInfo,
    pub changes: Vec<ChangeInfo>,
    pub counts: Counts,
    /// Whether privileges grew: exit status 1.
    pub grows: bool,
}

#[derive(Debug, Serialize)]
pub struct ChangeInfo {
    /// `added`, `removed`, `renamed`, `reordered`, `option`, `widened`,
    /// `narrowed`, `widened and narrowed` or `changed (cannot tell if
    /// wider)`.
    pub kind: String,
    /// The rule's name (in the new ruleset; the old one's when removed).
    pub rule: Option<String>,
    pub summary: String,
    pub details: Vec<String>,
    /// Whether this change needs sign-off.
    pub grows: bool,
}

/// The diff as `diff --json` prints it.
pub fn document(old: &Loaded, new: &Loaded, diff: &Diff) -> DiffDocument {
    DiffDocument {
        schema: SCHEMA,
        old: old.ruleset_info(),
        new: new.ruleset_info(),
        changes: diff
            .changes
            .iter()
            .map(|c| ChangeInfo {
                kind: c.kind.clone(),
                rule: c.rule.clone(),
                summary: c.summary.clone(),
                details: c.details.clone(),
                grows: c.grows,
            })
            .collect(),
        counts: diff.counts(),
        grows: diff.grows(),
    }
}

/// Everything a rule is but its name and where it was written.
fn same_privilege(a: &Rule, b: &Rule) -> bool {
    a.commands().count() == b.commands().count()
        && a.commands().all(|c| b.commands().any(|d| d == c))
        && a.sha256 == b.sha256
        && a.run_as == b.run_as
        && a.env == b.env
        && a.args == b.args
        && a.rest == b.rest
        && a.effect == b.effect
        && a.via == b.via
}

/// A change of what a rule does (`deny`, `disable`) between two rulesets,
/// if its effect differs: how the ruleset's privileges move, and in words.
fn effect_change(old: &Rule, new: &Rule) -> Option<(Rel, String)> {
    use Effect::{Allow, Deny, Disabled};
    let disabled_at = |rule: &Rule| match rule.disabled() {
        Some(d) => format!(
            "disabled ({}:{}): {}",
            d.source.file, d.source.line, d.reason
        ),
        None => String::new(),
    };
    Some(match (&old.effect, &new.effect) {
        (Allow, Allow) | (Deny { .. }, Deny { .. }) | (Disabled(_), Disabled(_)) => return None,
        (Allow, Disabled(_)) => (Rel::Narrower, format!("now {}", disabled_at(new))),
        (Disabled(d), Allow) if !d.was_deny => {
            (Rel::Wider, "enabled again: it allows again".into())
        }
        (Deny { .. }, Disabled(_)) => (
            Rel::Wider,
            format!("now {}: what it denied may be allowed", disabled_at(new)),
        ),
        (Disabled(d), Deny { .. }) if d.was_deny => {
            (Rel::Narrower, "enabled again: it denies again".into())
        }
        (Allow | Disabled(_), Deny { .. }) => (Rel::Narrower, "now a deny rule".into()),
        (Deny { .. } | Disabled(_), Allow) => (Rel::Wider, "now an allow rule".into()),
    })
}

/// How the calls a rule matching more or fewer calls moves privileges: a
/// deny that matches more narrows the ruleset.
fn as_effect(rel: Rel, rule: &Rule) -> Rel {
    match (rule.is_deny(), rel) {
        (true, Rel::Wider) => Rel::Narrower,
        (true, Rel::Narrower) => Rel::Wider,
        _ => rel,
    }
}

fn site(rule: &Rule) -> String {
    format!("{}:{}", rule.source.file, rule.source.line)
}

fn declaration(loaded: &Loaded, rule: &Rule) -> Vec<String> {
    match loaded.action(rule) {
        Some(action) => super::action_lines(rule, action),
        None => {
            let mut lines = vec![super::rule_line(rule)];
            lines.extend(super::disable_line(rule));
            lines
        }
    }
}

pub fn diff(old: &Loaded, new: &Loaded) -> Diff {
    let mut changes = Vec::new();
    diff_options(old, new, &mut changes);
    let find = |loaded: &Loaded, name: &str| loaded.rules.iter().find(|r| r.name == name).cloned();
    let removed: Vec<&Rule> = old
        .rules
        .iter()
        .filter(|r| find(new, &r.name).is_none())
        .collect();
    let added: Vec<&Rule> = new
        .rules
        .iter()
        .filter(|r| find(old, &r.name).is_none())
        .collect();
    let mut renamed_from: Vec<&str> = Vec::new();
    for rule in &added {
        let was = removed
            .iter()
            .find(|r| same_privilege(r, rule) && !renamed_from.contains(&r.name.as_str()));
        let was_steps = was.map(|r| declaration(old, r).get(1..).map(<[String]>::to_vec));
        let steps = declaration(new, rule).get(1..).map(<[String]>::to_vec);
        if rule.effect != Effect::Allow {
            changes.push(new_override(rule));
            continue;
        }
        match was {
            Some(was) if was_steps == Some(steps) => {
                renamed_from.push(&was.name);
                changes.push(Change {
                    kind: "renamed".into(),
                    rule: Some(rule.name.clone()),
                    summary: format!(
                        "rule `{}` is now named `{}` ({}), allowing the same",
                        was.name,
                        rule.name,
                        site(rule)
                    ),
                    details: Vec::new(),
                    grows: false,
                });
            }
            _ => {
                let kind = if loaded_is_action(new, rule) {
                    "action"
                } else {
                    "rule"
                };
                changes.push(Change {
                    kind: "added".into(),
                    rule: Some(rule.name.clone()),
                    summary: format!(
                        "new {kind} `{}` ({}) runs as {}",
                        rule.name,
                        site(rule),
                        rule.run_as.user_name()
                    ),
                    details: declaration(new, rule),
                    grows: true,
                });
            }
        }
    }
    for rule in removed {
        if renamed_from.contains(&rule.name.as_str()) {
            continue;
        }
        if rule.is_deny() {
            changes.push(Change {
                kind: Rel::Wider.word().into(),
                rule: Some(rule.name.clone()),
                summary: format!(
                    "deny rule `{}` ({}) is gone: what it denied may be allowed",
                    rule.name,
                    site(rule)
                ),
                details: declaration(old, rule),
                grows: true,
            });
            continue;
        }
        changes.push(Change {
            kind: "removed".into(),
            rule: Some(rule.name.clone()),
            summary: format!("rule `{}` ({}) is gone", rule.name, site(rule)),
            details: declaration(old, rule),
            grows: false,
        });
    }
    for new_rule in &new.rules {
        let Some(old_rule) = find(old, &new_rule.name) else {
            continue;
        };
        let (rel, mut words) = match (old_rule.disabled(), new_rule.disabled()) {
            // Neither decides anything: a change of its pattern is none.
            (Some(_), Some(_)) => (Rel::Same, Vec::new()),
            _ => compare(&old_rule, new_rule),
        };
        let mut rel = as_effect(rel, new_rule);
        if let Some((moved, said)) = effect_change(&old_rule, new_rule) {
            rel = moved;
            words = vec![format!("{}: {said}", moved.word())];
        }
        let old_steps = declaration(old, &old_rule);
        let new_steps = declaration(new, new_rule);
        if old_steps.get(1..) != new_steps.get(1..) && loaded_is_action(new, new_rule) {
            rel = rel.and(Rel::Unknown);
            words.push(format!("{}: its steps changed", Rel::Unknown.word()));
        }
        if rel == Rel::Same {
            continue;
        }
        let mut details = words;
        details.push(format!("was: {}", old_steps.join("\n     ")));
        details.push(format!("now: {}", new_steps.join("\n     ")));
        changes.push(Change {
            kind: rel.word().into(),
            rule: Some(new_rule.name.clone()),
            summary: format!(
                "rule `{}` ({}) is {}",
                new_rule.name,
                site(new_rule),
                rel.word()
            ),
            details,
            grows: rel.grows(),
        });
    }
    diff_order(old, new, &mut changes);
    hand_over(old, new, &mut changes);
    Diff { changes }
}

/// A new deny rule, or a new rule already disabled: neither allows anything.
fn new_override(rule: &Rule) -> Change {
    let (kind, summary) = match rule.disabled() {
        None => (
            Rel::Narrower.word(),
            format!(
                "new deny rule `{}` ({}) narrows `{}`: it denies what it matches, whatever allows it",
                rule.name,
                site(rule),
                rule.command.as_str()
            ),
        ),
        Some(d) => (
            "added",
            format!(
                "new rule `{}` ({}) is disabled ({}:{}): {}",
                rule.name,
                site(rule),
                d.source.file,
                d.source.line,
                d.reason
            ),
        ),
    };
    let mut details = vec![super::rule_line(rule)];
    details.extend(super::disable_line(rule));
    Change {
        kind: kind.into(),
        rule: Some(rule.name.clone()),
        summary,
        details,
        grows: false,
    }
}

/// First match wins: the calls a removed or narrowed rule no longer takes
/// fall to the next rule for the command that matches them, which may run
/// them as a more privileged user (root, or another user: cannot tell).
/// Whether the next rule does match is not worked out: any other rule for
/// the same command with such a user counts.
fn hand_over(old: &Loaded, new: &Loaded, changes: &mut [Change]) {
    for change in changes.iter_mut() {
        let gave_up = change.kind == "removed" || change.kind == Rel::Narrower.word();
        let Some(name) = change.rule.as_deref().filter(|_| gave_up) else {
            continue;
        };
        // A deny rule hands no calls over: it took none.
        let Some(rule) = old.rules.iter().find(|r| r.name == name && !r.is_deny()) else {
            continue;
        };
        let more_privileged = |other: &&Rule| match (&rule.run_as, &other.run_as) {
            (a, b) if a == b => false,
            (RunAs::Root, RunAs::User(_)) => false,
            _ => true,
        };
        let takers = new.rules.iter().filter(|other| {
            other.name != rule.name
                && other
                    .selectors()
                    .iter()
                    .any(|s| rule.spelled(s.as_bytes()).is_some())
        });
        for taker in takers.filter(more_privileged) {
            change.grows = true;
            change.details.push(format!(
                "{}: calls it matched may now go to rule `{}` ({}), which runs as {}: the first rule that matches decides",
                Rel::Unknown.word(),
                taker.name,
                site(taker),
                taker.run_as.user_name()
            ));
        }
    }
}

fn loaded_is_action(loaded: &Loaded, rule: &Rule) -> bool {
    loaded.action(rule).is_some()
}

/// First match wins: rules both rulesets have, for one command spelling,
/// in another order may decide a call differently (another target user).
fn diff_order(old: &Loaded, new: &Loaded, changes: &mut Vec<Change>) {
    let order = |loaded: &Loaded, other: &Loaded| {
        let mut by: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // Only allow rules: which comes first among them decides a call;
        // a deny wins wherever it is, a disabled rule decides nothing.
        let allows = |l: &Loaded, name: &str| {
            l.rules
                .iter()
                .any(|r| r.name == name && r.effect == Effect::Allow)
        };
        for rule in &loaded.rules {
            if !allows(loaded, &rule.name) || !allows(other, &rule.name) {
                continue;
            }
            for spelling in rule.selectors() {
                by.entry(spelling.to_string())
                    .or_default()
                    .push(rule.name.clone());
            }
        }
        by
    };
    let before = order(old, new);
    let after = order(new, old);
    for (spelling, names) in &after {
        if before.get(spelling).is_some_and(|was| was != names) {
            changes.push(Change {
                kind: "reordered".into(),
                rule: None,
                summary: format!(
                    "the rules for `{spelling}` are tried in another order: {} (was {}); the first that matches decides",
                    names.join(", "),
                    before.get(spelling).map(|n| n.join(", ")).unwrap_or_default()
                ),
                details: vec![format!("{}: another rule may now decide a call", Rel::Unknown.word())],
                grows: true,
            });
        }
    }
}

fn diff_options(old: &Loaded, new: &Loaded, changes: &mut Vec<Change>) {
    let (a, b) = (old.ruleset.options(), new.ruleset.options());
    let old_lines = super::option_lines(a);
    let new_lines = super::option_lines(b);
    let keys: Vec<&str> = new_lines
        .iter()
        .chain(&old_lines)
        .map(|(key, _)| *key)
        .collect();
    let mut seen = Vec::new();
    for key in keys {
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let line = |lines: &[(&str, String)]| {
            lines
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, l)| l.clone())
        };
        let (was, now) = (line(&old_lines), line(&new_lines));
        if was == now {
            continue;
        }
        // Where bare command names are found, and who may reach the daemon:
        // privileges. The rest (name, logging, limits) is reported only.
        let grows = match key {
            "exec-dirs" => true,
            "daemon" => {
                b.daemon.users.iter().any(|u| !a.daemon.users.contains(u))
                    || b.daemon.groups.iter().any(|g| !a.daemon.groups.contains(g))
            }
            _ => false,
        };
        let shown = |l: Option<String>| l.unwrap_or_else(|| "not set".into());
        let mut details = vec![
            format!("was: {}", shown(was)),
            format!("now: {}", shown(now)),
        ];
        if key == "on-log-failure" && b.log.on_failure == rootwrap::types::OnLogFailure::Continue {
            details.push(
                "the audit log fails open now: a call runs even when its record cannot be written"
                    .into(),
            );
        }
        if key == "exec-dirs" {
            details.push(format!(
                "{}: bare command names may find other programs",
                Rel::Unknown.word()
            ));
        }
        changes.push(Change {
            kind: "option".into(),
            rule: None,
            summary: format!("option `{key}` changed"),
            details,
            grows,
        });
    }
}

/// The diff as text, ending with the verdict.
pub fn render(old: &Loaded, new: &Loaded, diff: &Diff) -> String {
    let mut out = String::new();
    let shown = |l: &Loaded| {
        format!(
            "{} ({} sha256:{})",
            l.path,
            l.ruleset.options().name,
            l.ruleset.digest_hex()
        )
    };
    let _ = writeln!(out, "old: {}", shown(old));
    let _ = writeln!(out, "new: {}", shown(new));
    for change in &diff.changes {
        let mark = match change.kind.as_str() {
            "added" => '+',
            _ if change.grows => '!',
            "removed" => '-',
            _ => '~',
        };
        let _ = writeln!(out, "\n{mark} {}", change.summary);
        for detail in &change.details {
            let _ = writeln!(out, "    {detail}");
        }
    }
    let counts = diff.counts();
    let _ = writeln!(
        out,
        "\n{} added, {} removed, {} widened, {} narrowed, {} changed in ways that cannot be classified, {} option(s) changed",
        counts.added,
        counts.removed,
        counts.widened,
        counts.narrowed,
        counts.unclassified,
        counts.options
    );
    if diff.grows() {
        let _ = writeln!(
            out,
            "privileges grew: {} change(s) need sign-off",
            counts.growing
        );
    } else if diff.changes.is_empty() {
        let _ = writeln!(out, "no change in privileges");
    } else {
        let _ = writeln!(out, "privileges did not grow");
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rootwrap::types::{Command, Source};

    pub(crate) fn rule(name: &str, command: &str) -> Rule {
        Rule {
            id: 0,
            name: name.into(),
            source: Source {
                file: "t.rwf".into(),
                line: 1,
            },
            command: if command.starts_with('/') {
                Command::Path(command.into())
            } else {
                Command::Name(command.into())
            },
            also: Vec::new(),
            sha256: None,
            run_as: RunAs::Root,
            env: Vec::new(),
            args: Vec::new(),
            rest: Rest::Exact,
            via: Vec::new(),
            effect: rootwrap::types::Effect::Allow,
        }
    }

    fn path(base: &str, depth: PathDepth) -> PathScope {
        PathScope {
            base: base.into(),
            middle: Vec::new(),
            depth,
        }
    }

    /// `*` in the middle: a name turned into `*` widens; a `*` turned into
    /// a name narrows; a `*` never covers more or fewer components.
    #[test]
    fn path_scopes_with_a_wildcard_in_the_middle() {
        use PathDepth::*;
        let scope = |base: &str, middle: &[Option<&str>], depth| PathScope {
            base: base.into(),
            middle: middle.iter().map(|m| m.map(str::to_string)).collect(),
            depth,
        };
        let any_conf = scope("/ha", &[None, Some("k.conf")], Exactly);
        let one_conf = path("/ha/r1/k.conf", Exactly);
        assert!(scope_covers(&any_conf, &one_conf));
        assert!(!scope_covers(&one_conf, &any_conf));
        assert!(!scope_covers(&any_conf, &path("/ha/r1/x.conf", Exactly)));
        assert!(!scope_covers(&any_conf, &path("/ha/r1/d/k.conf", Exactly)));
        assert!(!scope_covers(&any_conf, &path("/ha/k.conf", Exactly)));
        // Against trailing `*` and `**`.
        assert!(scope_covers(&path("/ha", Descendant), &any_conf));
        assert!(!scope_covers(&path("/ha", Child), &any_conf));
        let any_child = scope("/ha", &[None], Child);
        assert!(scope_covers(&any_child, &any_conf));
        assert!(scope_covers(&any_child, &path("/ha/r1", Child)));
        assert!(!scope_covers(&path("/ha/r1", Child), &any_child));
        assert!(scope_covers(
            &scope("/ha", &[None], Descendant),
            &scope("/ha", &[None, Some("x")], Child)
        ));
        assert!(!scope_covers(
            &scope("/ha", &[None, Some("x")], Child),
            &scope("/ha", &[None], Descendant)
        ));
        let old = Item::One(Arg::Path {
            scopes: vec![one_conf],
            pin: rootwrap::types::Pin::Object,
        });
        let new = Item::One(Arg::Path {
            scopes: vec![any_conf],
            pin: rootwrap::types::Pin::Object,
        });
        let (Item::One(o), Item::One(n)) = (&old, &new) else {
            unreachable!()
        };
        assert_eq!(arg_rel(o, n), Rel::Wider);
        assert_eq!(
            paths_in_words(&new).unwrap(),
            "a path matching `/ha/*/k.conf`"
        );
    }

    #[test]
    fn path_scopes() {
        use PathDepth::*;
        let lib = path("/var/lib", Descendant);
        assert!(scope_covers(&lib, &path("/var/lib/nova", Child)));
        assert!(scope_covers(&lib, &path("/var/lib/nova/x", Exactly)));
        assert!(scope_covers(&lib, &path("/var/lib", Child)));
        assert!(!scope_covers(&lib, &path("/var/lib", Exactly)));
        assert!(!scope_covers(&lib, &path("/var/libx/a", Exactly)));
        assert!(!scope_covers(&path("/var/lib/nova", Child), &lib));
        assert!(scope_covers(&path("/srv", Child), &path("/srv/a", Exactly)));
        assert!(!scope_covers(
            &path("/srv", Child),
            &path("/srv/a/b", Exactly)
        ));
        assert!(scope_covers(&path("/", Child), &path("/srv", Exactly)));
    }

    #[test]
    fn rests_users_and_pins() {
        let lit = |s: &str| Item::One(Arg::Literal(s.into()));
        let mut old = rule("ls", "ls");
        old.args = vec![lit("-l"), lit("/srv")];
        // `...` in place of the last argument: wider; with the first
        // argument changed too: cannot tell.
        let mut new = old.clone();
        new.args = vec![lit("-l")];
        new.rest = Rest::Any;
        assert_eq!(compare(&old, &new).0, Rel::Wider);
        assert_eq!(compare(&new, &old).0, Rel::Narrower);
        new.args = vec![lit("-a")];
        assert_eq!(compare(&old, &new).0, Rel::Unknown);
        // `...` added after the same arguments: wider; `then allowed`
        // against `...`: narrower.
        let mut new = old.clone();
        new.rest = Rest::Any;
        assert_eq!(compare(&old, &new).0, Rel::Wider);
        let mut chain = old.clone();
        chain.rest = Rest::Chain;
        assert_eq!(compare(&new, &chain).0, Rel::Narrower);
        // Nothing against `then allowed`, which needs a command: each
        // allows what the other does not; `<ip-args...>` may refuse what
        // an exact rule allowed.
        assert_eq!(compare(&old, &chain).0, Rel::Mixed);
        let mut ip = old.clone();
        ip.rest = Rest::IpArgs;
        assert_eq!(compare(&old, &ip).0, Rel::Unknown);
        assert_eq!(compare(&ip, &new).0, Rel::Wider);
        // An optional item inserted: wider; a required one: cannot tell.
        let mut new = old.clone();
        new.args.insert(1, Item::Optional(Box::new(lit("-a"))));
        assert_eq!(compare(&old, &new).0, Rel::Wider);
        new.args[1] = lit("-a");
        assert_eq!(compare(&old, &new).0, Rel::Unknown);
        // The target user.
        let mut user = old.clone();
        user.run_as = RunAs::User("nova".into());
        assert_eq!(compare(&user, &old).0, Rel::Wider);
        assert_eq!(compare(&old, &user).0, Rel::Narrower);
        let mut other = old.clone();
        other.run_as = RunAs::User("glance".into());
        assert_eq!(compare(&user, &other).0, Rel::Unknown);
        // A digest pin removed, added, changed.
        let mut pinned = old.clone();
        pinned.sha256 = Some([1; 32]);
        assert_eq!(compare(&pinned, &old).0, Rel::Wider);
        assert_eq!(compare(&old, &pinned).0, Rel::Narrower);
        let mut repinned = old.clone();
        repinned.sha256 = Some([2; 32]);
        assert_eq!(compare(&pinned, &repinned).0, Rel::Unknown);
        // Another command: cannot tell; the same rule under another name
        // and line: the same.
        assert_eq!(compare(&old, &rule("ls", "/usr/bin/ls")).0, Rel::Unknown);
        let mut moved = old.clone();
        moved.name = "list".into();
        moved.source.line = 9;
        assert_eq!(compare(&old, &moved), (Rel::Same, Vec::new()));
    }

    /// `(A | B)`: an alternative added widens the rule, one dropped
    /// narrows it, their order does not matter.
    #[test]
    fn commands_of_a_rule() {
        let save = rule("save", "iptables-save");
        let mut both = save.clone();
        both.also = vec![Command::Name("ip6tables-save".into())];
        assert_eq!(
            compare(&save, &both),
            (
                Rel::Wider,
                vec!["widened: may now also run `ip6tables-save`".to_string()]
            )
        );
        assert_eq!(
            compare(&both, &save),
            (
                Rel::Narrower,
                vec!["narrowed: no longer runs `ip6tables-save`".to_string()]
            )
        );
        let mut swapped = rule("save", "ip6tables-save");
        swapped.also = vec![Command::Name("iptables-save".into())];
        assert_eq!(compare(&both, &swapped), (Rel::Same, Vec::new()));
        assert!(same_privilege(&both, &swapped));
        assert!(!same_privilege(&both, &save));
        // One kept, one replaced: each allows what the other does not.
        let mut other = save.clone();
        other.also = vec![Command::Name("arptables-save".into())];
        assert_eq!(compare(&both, &other).0, Rel::Mixed);
        // Nothing in common: another command.
        assert_eq!(
            compare(&both, &rule("save", "ebtables-save")).0,
            Rel::Unknown
        );
    }

    #[test]
    fn alternatives_and_literals() {
        let lit = |s: &str| Arg::Literal(s.into());
        let ab = Arg::OneOf(vec![lit("a"), lit("b")]);
        assert_eq!(arg_rel(&lit("a"), &ab), Rel::Wider);
        assert_eq!(arg_rel(&ab, &lit("a")), Rel::Narrower);
        assert_eq!(
            arg_rel(&ab, &Arg::OneOf(vec![lit("b"), lit("a")])),
            Rel::Same
        );
        assert_eq!(arg_rel(&lit("a"), &lit("c")), Rel::Unknown);
        assert_eq!(arg_rel(&lit("x"), &Arg::Operand), Rel::Wider);
        assert_eq!(arg_rel(&lit("-x"), &Arg::Operand), Rel::Unknown);
        assert_eq!(
            arg_rel(&Arg::Int { min: 1, max: 5 }, &Arg::Int { min: 0, max: 9 }),
            Rel::Wider
        );
        assert_eq!(
            arg_rel(&lit("07"), &Arg::Int { min: 0, max: 9 }),
            Rel::Unknown
        );
        assert_eq!(Rel::Wider.and(Rel::Narrower), Rel::Mixed);
        assert_eq!(Rel::Same.and(Rel::Narrower), Rel::Narrower);
        assert!(Rel::Unknown.grows() && Rel::Mixed.grows() && !Rel::Narrower.grows());
    }
}
