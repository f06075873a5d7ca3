//! The walk through a rule's items: sequences, alternatives, optional and
//! any-order items, bounded in steps and depth.

use std::collections::BTreeMap;
use std::ffi::OsString;

use crate::process;
use crate::types::{Arg, Item};

use super::args::{arg_matches, process_refusal};
use super::{Context, Fault, Passed, Stop};

/// At most this many single-argument checks per rule: a bound on
/// backtracking through optional and any-order items.
const MAX_STEPS: u32 = crate::types::MAX_MATCH_STEPS;

/// Where a walk through a rule's items may end, with the arguments as they
/// are passed on. Ends are unique, earlier ways first.
type Outcomes = Vec<(usize, Vec<Passed>)>;

pub(super) struct Walker<'a, 'c> {
    pub(super) args: &'a [OsString],
    pub(super) ctx: &'a Context<'c>,
    pub(super) steps: u32,
    /// Nesting of items now being walked (bounded like decoding).
    pub(super) depth: usize,
    /// The furthest argument position a pattern was tried at, and it.
    pub(super) furthest: Option<(usize, String)>,
    /// Why that argument's process is not a `<pid>` target, if it is one.
    pub(super) process: Option<process::NotTarget>,
    /// What each pattern made of each argument already: any-order and
    /// optional items try the same pair many times, and a pattern may cost
    /// a scan of a 128 KiB argument. Keyed by the pattern's address.
    pub(super) tried: BTreeMap<(*const Arg, usize), Option<Passed>>,
}

fn push_unique(outcomes: &mut Outcomes, end: usize, outputs: Vec<Passed>) {
    if !outcomes.iter().any(|(e, _)| *e == end) {
        outcomes.push((end, outputs));
    }
}

impl Walker<'_, '_> {
    pub(super) fn seq(&mut self, items: &[Item], start: usize) -> Result<Outcomes, Stop> {
        let mut current: Outcomes = vec![(start, Vec::new())];
        for item in items {
            let mut next = Outcomes::new();
            for (position, outputs) in &current {
                for (end, more) in self.item(item, *position)? {
                    let mut combined = outputs.clone();
                    combined.extend(more);
                    push_unique(&mut next, end, combined);
                }
            }
            if next.is_empty() {
                return Ok(next);
            }
            current = next;
        }
        Ok(current)
    }

    fn item(&mut self, item: &Item, start: usize) -> Result<Outcomes, Stop> {
        if self.depth >= crate::types::MAX_NESTING * 2 {
            return Err(Fault::TooComplex.into());
        }
        self.depth += 1;
        let outcomes = self.item_inner(item, start);
        self.depth -= 1;
        outcomes
    }

    fn item_inner(&mut self, item: &Item, start: usize) -> Result<Outcomes, Stop> {
        match item {
            Item::One(pattern) => {
                self.steps += 1;
                if self.steps > MAX_STEPS {
                    return Err(Fault::TooComplex.into());
                }
                let key = (pattern as *const Arg, start);
                let passed = match (self.tried.get(&key), self.args.get(start)) {
                    (Some(known), _) => known.clone(),
                    (None, Some(arg)) => {
                        let passed = arg_matches(pattern, arg, self.ctx)?;
                        self.tried.insert(key, passed.clone());
                        passed
                    }
                    (None, None) => None,
                };
                match passed {
                    Some(value) => Ok(vec![(start + 1, vec![value])]),
                    None => {
                        if self.furthest.as_ref().is_none_or(|(p, _)| start > *p) {
                            self.furthest = Some((start, pattern.to_string()));
                            self.process = self
                                .args
                                .get(start)
                                .and_then(|arg| process_refusal(pattern, arg, self.ctx));
                        }
                        Ok(Vec::new())
                    }
                }
            }
            Item::Seq(items) => self.seq(items, start),
            Item::Alt(alternatives) => {
                let mut outcomes = Outcomes::new();
                for alternative in alternatives {
                    for (end, outputs) in self.item(alternative, start)? {
                        push_unique(&mut outcomes, end, outputs);
                    }
                }
                Ok(outcomes)
            }
            Item::Optional(inner) => {
                let mut outcomes = self.item(inner, start)?;
                push_unique(&mut outcomes, start, Vec::new());
                Ok(outcomes)
            }
            Item::AnyOrder(items) => self.any_order(items, start),
        }
    }

    /// Breadth-first over (items used, position): every order is tried, each
    /// state once.
    fn any_order(&mut self, items: &[Item], start: usize) -> Result<Outcomes, Stop> {
        // The compiler allows no more; a damaged ruleset might.
        if items.len() > crate::types::MAX_ANY_ORDER {
            return Err(Fault::TooComplex.into());
        }
        let required: u64 = items
            .iter()
            .enumerate()
            .filter(|(_, item)| !matches!(item, Item::Optional(_)))
            .fold(0, |mask, (i, _)| mask | (1 << i));
        let mut seen: Vec<(u64, usize)> = vec![(0, start)];
        let mut frontier: Vec<(u64, usize, Vec<Passed>)> = vec![(0, start, Vec::new())];
        let mut outcomes = Outcomes::new();
        while !frontier.is_empty() {
            let mut next = Vec::new();
            for (used, position, outputs) in frontier {
                if used & required == required {
                    push_unique(&mut outcomes, position, outputs.clone());
                }
                for (i, item) in items.iter().enumerate() {
                    if used & (1 << i) != 0 {
                        continue;
                    }
                    let inner = match item {
                        Item::Optional(inner) => inner.as_ref(),
                        other => other,
                    };
                    for (end, more) in self.item(inner, position)? {
                        let state = (used | (1 << i), end);
                        if end == position || seen.contains(&state) {
                            continue;
                        }
                        seen.push(state);
                        let mut combined = outputs.clone();
                        combined.extend(more);
                        next.push((state.0, end, combined));
                    }
                }
            }
            frontier = next;
        }
        // Prefer the ways that consume the most arguments.
        outcomes.sort_by_key(|outcome| std::cmp::Reverse(outcome.0));
        Ok(outcomes)
    }
}
