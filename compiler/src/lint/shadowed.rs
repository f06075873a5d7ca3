//! `shadowed`: a rule that can never decide, because an earlier rule for
//! the same command matches every call it matches.
//!
//! Sound, not complete: [`covers`] answers yes only when every call the
//! later rule matches provably matches the earlier one, and the earlier
//! one then decides (allows, or refuses for its executable) in its place.
//! Whatever it cannot compare cheaply counts as "not covered": a warning
//! is never wrong, but some shadowed rules go unreported (the book lists
//! which).

use std::collections::HashMap;

use rootwrap::types::{Arg, Item, Pin, Rest, Rule};

use super::{matches_without_lookups, path_patterns};
use crate::diag::Diagnostic;
use crate::lint::Lint;
use crate::policy::{LoweredRule, RuleSite};

/// The most argument sequences a later rule's groups are spelled out into;
/// beyond that it is not compared (a miss, never a false warning).
const MAX_SPELLED_OUT: usize = 256;

/// The most earlier rules one rule is compared with (the first ones that
/// could cover it, in declaration order): bounds the time on rulesets
/// with thousands of rules for one command.
const MAX_COMPARED: usize = 1024;

/// How many leading literal arguments index the earlier rules.
const KEY_LEN: usize = 2;

/// The most keys one way through an earlier rule is indexed under.
const MAX_KEYS: usize = 64;

/// The earlier rules, indexed so that a rule is compared only with those
/// that could cover it: an earlier rule's way through its items that
/// starts with literal arguments can only cover a call that starts with
/// the same ones.
pub(super) struct Shadowing<'a> {
    rules: &'a [LoweredRule],
    /// By command and the literal arguments a way through starts with (up
    /// to [`KEY_LEN`]): the earlier rules with such a way, ascending.
    index: HashMap<(&'a str, Vec<&'a str>), Vec<usize>>,
    /// By command: the earlier rules whose items are not spelled out
    /// (compared for equality only).
    unspelled: HashMap<&'a str, Vec<usize>>,
    /// Each earlier rule's exact spelling, once, by its index.
    exact: Vec<Option<Vec<Vec<&'a Arg>>>>,
}

impl<'a> Shadowing<'a> {
    pub(super) fn new(rules: &'a [LoweredRule]) -> Self {
        Shadowing {
            rules,
            index: HashMap::new(),
            unspelled: HashMap::new(),
            exact: Vec::new(),
        }
    }

    /// Makes rule `index` an earlier rule for the rules after it.
    pub(super) fn add(&mut self, index: usize) {
        let Some(lowered) = self.rules.get(index) else {
            return;
        };
        let rule = &lowered.rule;
        // The runtime passes over a match whose `<path-unpinned>` value
        // lies below a directory others can change: such a rule covers
        // nothing.
        if path_patterns(rule)
            .iter()
            .any(|(_, pin)| *pin == Pin::Unpinned)
        {
            return;
        }
        // Under each of its commands: a later rule is covered only by
        // earlier ones that have all of its commands (see [`covers`]), so
        // looking up its first finds them.
        let commands: Vec<&str> = rule.commands().map(|c| c.as_str()).collect();
        match spell_out(&rule.args, Spelling::Exact) {
            Some(sequences) => {
                let mut keys: Vec<Vec<&str>> = sequences.iter().flat_map(|s| keys(s)).collect();
                keys.sort();
                keys.dedup();
                for command in commands {
                    for key in &keys {
                        self.index
                            .entry((command, key.clone()))
                            .or_default()
                            .push(index);
                    }
                }
                if self.exact.len() <= index {
                    self.exact.resize(index + 1, None);
                }
                self.exact[index] = Some(sequences);
            }
            None => {
                for command in commands {
                    self.unspelled.entry(command).or_default().push(index);
                }
            }
        }
    }

    /// Warns when an earlier rule covers rule `index`.
    pub(super) fn lint(&self, index: usize, warnings: &mut Vec<Diagnostic>) {
        let Some(LoweredRule { rule, site }) = self.rules.get(index) else {
            return;
        };
        let command = rule.command.as_str();
        let later = spell_out(&rule.args, Spelling::Over);
        // Each list is ascending: its first entries are the earliest.
        let first_ones =
            |found: &Vec<usize>| found.iter().take(MAX_COMPARED).copied().collect::<Vec<_>>();
        let mut candidates: Vec<usize> = self
            .unspelled
            .get(command)
            .map(first_ones)
            .unwrap_or_default();
        match later.as_ref().and_then(|sequences| sequences.first()) {
            // Whatever covers the rule covers its first way through.
            Some(first) => {
                let key = key(first);
                for len in 0..=key.len() {
                    if let Some(found) = self.index.get(&(command, key[..len].to_vec())) {
                        candidates.extend(first_ones(found));
                    }
                }
            }
            // Not spelled out: compared for equality with every earlier rule.
            None => candidates.extend(
                self.index
                    .iter()
                    .filter(|((c, _), _)| *c == command)
                    .flat_map(|(_, found)| first_ones(found)),
            ),
        }
        candidates.sort_unstable();
        candidates.dedup();
        let first = candidates
            .into_iter()
            .take(MAX_COMPARED)
            .filter_map(|i| Some((i, self.rules.get(i)?)))
            .find(|(i, other)| {
                covers(
                    &other.rule,
                    rule,
                    self.exact.get(*i).and_then(Option::as_deref),
                    later.as_deref(),
                )
            });
        if let Some((_, first)) = first {
            warn(rule, site, first, warnings);
        }
    }
}

/// The literals an argument pattern accepts, when it accepts nothing else.
fn literals(arg: &Arg) -> Option<Vec<&str>> {
    match arg {
        Arg::Literal(text) => Some(vec![text.as_str()]),
        Arg::OneOf(alternatives) => alternatives
            .iter()
            .map(|a| match a {
                Arg::Literal(text) => Some(text.as_str()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// A later rule's key: the first literal of each leading argument that
/// accepts literals only, up to [`KEY_LEN`] (whatever covers the rule
/// covers that literal).
fn key<'a>(sequence: &[&'a Arg]) -> Vec<&'a str> {
    sequence
        .iter()
        .take(KEY_LEN)
        .map_while(|arg| literals(arg)?.first().copied())
        .collect()
}

/// An earlier rule's keys for one way through: every combination of the
/// literals its leading literal-only arguments accept, up to [`KEY_LEN`]
/// (a later rule's key is one of them when the way can cover it).
fn keys<'a>(sequence: &[&'a Arg]) -> Vec<Vec<&'a str>> {
    let mut keys = vec![Vec::new()];
    for arg in sequence.iter().take(KEY_LEN) {
        // Many alternatives: the shorter keys do (a later rule looks up
        // every prefix of its own key).
        let Some(texts) = literals(arg).filter(|t| keys.len() * t.len() <= MAX_KEYS) else {
            break;
        };
        keys = keys
            .iter()
            .flat_map(|key| {
                texts.iter().map(move |text| {
                    let mut longer = key.clone();
                    longer.push(*text);
                    longer
                })
            })
            .collect();
    }
    keys
}

fn warn(rule: &Rule, site: &RuleSite, first: &LoweredRule, warnings: &mut Vec<Diagnostic>) {
    let same =
        first.rule.env == rule.env && first.rule.args == rule.args && first.rule.rest == rule.rest;
    let message = if same {
        format!(
            "rule `{}` can never decide: it repeats rule `{}`",
            rule.name, first.rule.name
        )
    } else {
        format!(
            "rule `{}` can never decide: rule `{}`, earlier, matches every call it matches",
            rule.name, first.rule.name
        )
    };
    warnings.push(
        Diagnostic::warning(Lint::Shadowed, message)
            .at(site.span, "never reached: the first matching rule decides")
            .note(
                Some(first.site.span),
                format!("`{}` is declared here", first.rule.name),
            )
            .help(format!(
                "remove this rule, or move it before `{}` if it should decide with its own target user or options",
                first.rule.name
            )),
    );
}

/// Whether every call that `later` matches also matches `earlier`, and
/// `earlier` (which has no `<path-unpinned>`: see [`Shadowing::add`])
/// then decides it. `false` when in doubt. `earlier_spelled`,
/// `later_spelled`: their items spelled out, exactly and over.
fn covers(
    earlier: &Rule,
    later: &Rule,
    earlier_spelled: Option<&[Vec<&Arg>]>,
    later_spelled: Option<&[Vec<&Arg>]>,
) -> bool {
    // The same spelling selects both, and the same executable serves both:
    // if `earlier`'s is missing, so is `later`'s; for each of `later`'s
    // commands, `earlier` has that very command. The same target user,
    // because a chain's inner rule is looked up by it.
    if !later
        .commands()
        .all(|command| earlier.commands().any(|c| c == command))
        || earlier.sha256 != later.sha256
        || earlier.run_as != later.run_as
    {
        return false;
    }
    // The caller sets exactly the rule's variables, so both rules must
    // name the same ones.
    if earlier.env.len() != later.env.len()
        || !earlier.env.iter().all(|a| {
            later
                .env
                .iter()
                .any(|b| a.name == b.name && arg_covers(&a.value, &b.value))
        })
    {
        return false;
    }
    if earlier.args == later.args && earlier.rest == later.rest {
        return true;
    }
    // Both rules' items spelled out as sequences of single arguments. For
    // the later rule, spelling out may over-approximate what it matches;
    // for the earlier one it must not: the runtime's walk tries every way
    // through `( | )` and `[ ]`, so their spellings are exact, but an
    // any-order group is not spelled out there.
    let (Some(earlier_spelled), Some(later_spelled)) = (earlier_spelled, later_spelled) else {
        return false;
    };
    later_spelled.iter().all(|sequence| {
        earlier_spelled
            .iter()
            .any(|own| sequence_covers(own, earlier.rest, sequence, later.rest))
    })
}

/// How items are spelled out: exactly (or not at all), or possibly as
/// more sequences than they match.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Spelling {
    Exact,
    Over,
}
/// Whether a call matching `later` (arguments, then its rest) matches
/// `earlier` (single arguments, then its rest).
fn sequence_covers(earlier: &[&Arg], earlier_rest: Rest, later: &[&Arg], later_rest: Rest) -> bool {
    if later.len() < earlier.len() {
        return false;
    }
    if !earlier.iter().zip(later).all(|(a, b)| arg_covers(a, b)) {
        return false;
    }
    let remaining = later.len() - earlier.len();
    match earlier_rest {
        // `...` takes anything that follows, nothing included.
        Rest::Any => true,
        Rest::Exact => remaining == 0 && later_rest == Rest::Exact,
        // The same rest after the same arguments: `<ip-args...>` checks all
        // the arguments (the same call's), `then allowed` the same rules.
        Rest::Chain | Rest::IpArgs => remaining == 0 && later_rest == earlier_rest,
    }
}

/// Every sequence of single arguments the items can match, when there are
/// few enough.
fn spell_out<'a>(
    items: impl IntoIterator<Item = &'a Item>,
    how: Spelling,
) -> Option<Vec<Vec<&'a Arg>>> {
    let mut sequences: Vec<Vec<&Arg>> = vec![Vec::new()];
    for item in items {
        let endings = spell_item(item, how)?;
        let mut next = Vec::new();
        for start in &sequences {
            for ending in &endings {
                if next.len() >= MAX_SPELLED_OUT {
                    return None;
                }
                let mut sequence = start.clone();
                sequence.extend(ending.iter().copied());
                next.push(sequence);
            }
        }
        sequences = next;
    }
    Some(sequences)
}

fn spell_item(item: &Item, how: Spelling) -> Option<Vec<Vec<&Arg>>> {
    let mut all = Vec::new();
    match item {
        Item::One(arg) => all.push(vec![arg]),
        Item::Seq(items) => all = spell_out(items, how)?,
        Item::Alt(alternatives) => {
            for alternative in alternatives {
                all.extend(spell_item(alternative, how)?);
            }
        }
        Item::Optional(inner) => {
            all.push(Vec::new());
            all.extend(spell_item(inner, how)?);
        }
        // Every order of the members (an optional one spells out as
        // nothing too): few members only, 4! orders of 4.
        Item::AnyOrder(items) if how == Spelling::Over && items.len() <= 4 => {
            for order in permutations(items.len()) {
                all.extend(spell_out(order.iter().filter_map(|&i| items.get(i)), how)?);
                if all.len() > MAX_SPELLED_OUT {
                    return None;
                }
            }
        }
        Item::AnyOrder(_) => return None,
    }
    (all.len() <= MAX_SPELLED_OUT).then_some(all)
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 0 {
        return vec![Vec::new()];
    }
    let mut all = Vec::new();
    for shorter in permutations(n - 1) {
        for at in 0..=shorter.len() {
            let mut order = shorter.clone();
            order.insert(at, n - 1);
            all.push(order);
        }
    }
    all
}

/// Whether every argument `b` accepts, `a` accepts. `false` when in doubt.
fn arg_covers(a: &Arg, b: &Arg) -> bool {
    if a == b || matches!(a, Arg::Any) {
        return true;
    }
    if let Arg::OneOf(alternatives) = b {
        return alternatives.iter().all(|b| arg_covers(a, b));
    }
    if let Arg::OneOf(alternatives) = a {
        if alternatives.iter().any(|a| arg_covers(a, b)) {
            return true;
        }
    }
    match (a, b) {
        // Equal literals were found above.
        (Arg::Literal(_), _) => false,
        (_, Arg::Literal(value)) => offline(a) && matches_without_lookups(a, value),
        (
            Arg::Int { min, max },
            Arg::Int {
                min: b_min,
                max: b_max,
            },
        ) => min <= b_min && b_max <= max,
        (Arg::Ip, Arg::Ipv4 | Arg::Ipv6) => true,
        // These never start with `-` and are never empty.
        (Arg::Operand, Arg::Uuid | Arg::Ipv4 | Arg::Ipv6 | Arg::Ip | Arg::Cidr | Arg::Mac) => true,
        (Arg::Operand, Arg::Int { min, .. }) => *min >= 0,
        (
            Arg::Prefixed {
                prefix: a_prefix,
                value: a_value,
            },
            Arg::Prefixed {
                prefix: b_prefix,
                value: b_value,
            },
        ) => a_prefix == b_prefix && arg_covers(a_value, b_value),
        _ => false,
    }
}

/// Whether matching `arg` depends on the argument's text alone: no file
/// system, process or user database is consulted.
fn offline(arg: &Arg) -> bool {
    match arg {
        Arg::Path { .. } | Arg::Pid(_) => false,
        Arg::OneOf(alternatives) => alternatives.iter().all(offline),
        Arg::Prefixed { value, .. } => offline(value),
        _ => true,
    }
}
