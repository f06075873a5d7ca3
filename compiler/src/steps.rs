//! The most matching steps a rule can take, whatever the call: the
//! runtime's matcher (`Walker` in runtime/src/matcher/walk.rs) counts one step
//! per single-argument check and gives up after
//! `rootwrap::types::MAX_MATCH_STEPS`, so a rule that could reach that limit
//! is refused when it is compiled, and the limit never decides a call.
//!
//! The walker keeps, after each item, one way per end position; an
//! any-order group visits each (items used, position) state once. Positions
//! are bounded by how many arguments the items can consume, so the count
//! below holds for any number of arguments.

use rootwrap::types::Item;

/// Steps for one walk of an item from one position, and the fewest and
/// most arguments a walk through it consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cost {
    steps: u64,
    min: u64,
    max: u64,
}

/// The most steps a walk through `items` (a rule's arguments) can take.
pub fn bound(items: &[Item]) -> u64 {
    sequence(items).steps
}

fn sequence(items: &[Item]) -> Cost {
    let mut total = Cost {
        steps: 0,
        min: 0,
        max: 0,
    };
    for item in items {
        let cost = item_cost(item);
        // Ways so far end at distinct positions, at most one per argument
        // count between the fewest and the most consumed.
        let positions = total.max - total.min + 1;
        total.steps = total
            .steps
            .saturating_add(positions.saturating_mul(cost.steps));
        total.min = total.min.saturating_add(cost.min);
        total.max = total.max.saturating_add(cost.max);
    }
    total
}

fn item_cost(item: &Item) -> Cost {
    match item {
        Item::One(_) => Cost {
            steps: 1,
            min: 1,
            max: 1,
        },
        Item::Seq(items) => sequence(items),
        Item::Alt(alternatives) => {
            let costs: Vec<Cost> = alternatives.iter().map(item_cost).collect();
            Cost {
                steps: costs.iter().fold(0, |sum, c| sum.saturating_add(c.steps)),
                min: costs.iter().map(|c| c.min).min().unwrap_or(0),
                max: costs.iter().map(|c| c.max).max().unwrap_or(0),
            }
        }
        Item::Optional(inner) => Cost {
            min: 0,
            ..item_cost(inner)
        },
        Item::AnyOrder(items) => any_order(items),
    }
}

/// Every (items used, position) state is expanded once, trying each unused
/// item. A used item consumed at least one argument (the walker drops ways
/// that consume none), so for a set of used items the positions lie
/// between the sums of their fewest (at least 1) and most arguments.
fn any_order(items: &[Item]) -> Cost {
    let parts: Vec<(Cost, bool)> = items
        .iter()
        .map(|item| match item {
            Item::Optional(inner) => (item_cost(inner), false),
            other => (item_cost(other), true),
        })
        .collect();
    let n = parts.len();
    // The compiler allows 16 items; past 63 the runtime refuses anyway.
    if n >= 64 {
        return Cost {
            steps: u64::MAX,
            min: 0,
            max: 0,
        };
    }
    let mut steps: u64 = 0;
    for used in 0..(1u64 << n) {
        let (mut low, mut high, mut untried) = (0u64, 0u64, 0u64);
        let mut reachable = true;
        for (i, (cost, _)) in parts.iter().enumerate() {
            if used & (1 << i) != 0 {
                reachable &= cost.max >= 1;
                low = low.saturating_add(cost.min.max(1));
                high = high.saturating_add(cost.max);
            } else {
                untried = untried.saturating_add(cost.steps);
            }
        }
        if reachable {
            let positions = high.saturating_sub(low) + 1;
            steps = steps.saturating_add(positions.saturating_mul(untried));
        }
    }
    Cost {
        steps,
        min: parts
            .iter()
            .filter(|(_, required)| *required)
            .fold(0, |sum, (cost, _)| sum.saturating_add(cost.min.max(1))),
        max: parts
            .iter()
            .fold(0, |sum, (cost, _)| sum.saturating_add(cost.max)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rootwrap::types::Arg;

    fn one() -> Item {
        Item::One(Arg::Any)
    }

    fn optional(item: Item) -> Item {
        Item::Optional(Box::new(item))
    }

    #[test]
    fn counts() {
        assert_eq!(bound(&[one(), one(), one()]), 3);
        // Two ways after `[x]`, so the next item is tried twice.
        assert_eq!(bound(&[optional(one()), one()]), 3);
        assert_eq!(
            bound(&[Item::Alt(vec![one(), Item::Seq(vec![one(), one()])])]),
            3
        );
        // n optional single items in any order: n * 2^(n-1).
        let group = |n: usize| Item::AnyOrder((0..n).map(|_| optional(one())).collect());
        assert_eq!(bound(&[group(1)]), 1);
        assert_eq!(bound(&[group(11)]), 11 * 1024);
        assert_eq!(bound(&[group(12), one()]), 12 * 2048 + 13);
        // Required items: every subset is still a state on the way.
        let required = Item::AnyOrder((0..3).map(|_| one()).collect());
        assert_eq!(bound(&[required, one()]), 3 * 4 + 1);
    }
}
