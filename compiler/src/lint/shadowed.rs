//! `shadowed`: a rule that can never decide, because an earlier rule for
//! the same command matches every call it matches.
//!
//! Sound, not complete: [`covers`] answers yes only when every call the
//! later rule matches provably matches the earlier one, and the earlier
//! one then decides (allows, or refuses for its executable) in its place.
//! Whatever it cannot compare cheaply counts as "not covered": a warning
//! is never wrong, but some shadowed rules go unreported (the book lists
//! which).

use rootwrap::types::{Arg, Item, Pin, Rest, Rule};

use super::{matches_without_lookups, path_patterns};
use crate::diag::Diagnostic;
use crate::lint::Lint;
use crate::policy::{LoweredRule, RuleSite};

/// The most argument sequences a later rule's groups are spelled out into;
/// beyond that it is not compared (a miss, never a false warning).
const MAX_SPELLED_OUT: usize = 256;

/// Warns when a rule among `earlier` (indexes of earlier rules for the same
/// command, ascending) covers `rule`.
pub(super) fn lint_shadowed(
    rule: &Rule,
    site: &RuleSite,
    earlier: &[usize],
    rules: &[LoweredRule],
    warnings: &mut Vec<Diagnostic>,
) {
    let Some(first) = earlier
        .iter()
        .map(|&index| &rules[index])
        .find(|other| covers(&other.rule, rule))
    else {
        return;
    };
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
/// `earlier` then decides it. `false` when in doubt.
fn covers(earlier: &Rule, later: &Rule) -> bool {
    // The same spelling selects both, and the same executable serves both:
    // if `earlier`'s is missing, so is `later`'s. The same target user,
    // because a chain's inner rule is looked up by it.
    if earlier.command != later.command
        || earlier.sha256 != later.sha256
        || earlier.run_as != later.run_as
    {
        return false;
    }
    // The runtime passes over a match whose `<path-unpinned>` value lies
    // below a directory others can change.
    if path_patterns(earlier)
        .iter()
        .any(|(_, pin)| *pin == Pin::Unpinned)
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
    let (Some(earlier_spelled), Some(later_spelled)) = (
        spell_out(&earlier.args, Spelling::Exact),
        spell_out(&later.args, Spelling::Over),
    ) else {
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
