//! One rule against one call: command, environment, items, the rest, and
//! `then allowed` chains.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::types::{Effect, Rest, Rule};

use super::args::match_env;
use super::ip::ip_args_allowed;
use super::walk::Walker;
use super::{
    rules_for_call, split, Checked, Context, Fault, Invocation, Matched, Mismatch, Passed, Stop,
};

/// Opens and checks a rule's executable, on this host only.
pub(super) fn check_binary(rule: &Rule, executable: &Path, ctx: &Context<'_>) -> Option<Checked> {
    ctx.host.check_binary(executable, rule.sha256.as_ref())
}

/// Whether `rule` allows `call`, and with what arguments; `Err` when the
/// call cannot be decided.
pub fn match_rule(
    rule: &Rule,
    call: &Invocation,
    ctx: &Context<'_>,
) -> Result<Result<Matched, Mismatch>, Fault> {
    split(rule_matches(rule, call, ctx))
}

fn rule_matches(rule: &Rule, call: &Invocation, ctx: &Context<'_>) -> Result<Matched, Stop> {
    let command = call.command.as_bytes();
    let spelled = if rule.is_deny() {
        rule.commands()
            .any(|alternative| crate::types::deny_covers(alternative, command))
    } else {
        rule.spelled(command).is_some()
    };
    if !spelled {
        return Err(Mismatch::Command.into());
    }
    let env = match_env(rule, call, ctx)?;

    let mut walker = Walker {
        args: &call.args,
        ctx,
        steps: 0,
        depth: 0,
        furthest: None,
        process: None,
        tried: BTreeMap::new(),
    };
    let outcomes = walker.seq(&rule.args, 0)?;
    let len = call.args.len();
    let mut last_error = None;
    for (end, outputs) in &outcomes {
        #[expect(
            clippy::indexing_slicing,
            reason = "a walk ends at most one past the last argument"
        )]
        let rest = &call.args[*end..];
        let mut args = outputs.clone();
        match rule.rest {
            Rest::Exact if *end == len => {}
            Rest::Exact => continue,
            Rest::Any => args.extend(rest.iter().cloned().map(Passed::plain)),
            // All of the caller's arguments, not only those after the
            // rule's items: `ip netns <ip-args...>` must refuse `netns exec`.
            Rest::IpArgs => match ip_args_allowed(&call.args) {
                Ok(()) => args.extend(rest.iter().cloned().map(Passed::plain)),
                Err(why) => {
                    last_error = Some(Mismatch::IpArgs(why));
                    continue;
                }
            },
            Rest::Chain => match chain(rule, rest, ctx) {
                // A variable set twice would reach the command twice, and
                // programs read the first: the chained rule's limit on it
                // would not hold.
                Ok(inner)
                    if inner
                        .env
                        .iter()
                        .any(|(name, _)| env.iter().any(|(n, _)| n == name)) =>
                {
                    last_error = Some(Mismatch::ChainDenied {
                        reason: "a variable is set both before and after the chain".into(),
                        tried: Vec::new(),
                    });
                    continue;
                }
                Ok(inner) => {
                    args.extend(inner.args);
                    let mut env = env.clone();
                    env.extend(inner.env);
                    return Ok(Matched {
                        args,
                        env,
                        chained: inner.chained,
                        chained_binary: inner.chained_binary,
                    });
                }
                // A deny on the chained command line denies the call,
                // however else its arguments could be split.
                Err(Stop::Mismatch(why @ Mismatch::DeniedBy(_))) => return Err(why.into()),
                Err(Stop::Mismatch(why)) => {
                    last_error = Some(why);
                    continue;
                }
                Err(fault) => return Err(fault),
            },
        }
        return Ok(Matched {
            args,
            env,
            chained: None,
            chained_binary: None,
        });
    }
    if let Some(error) = last_error {
        return Err(error.into());
    }
    // No way through: report the furthest argument any attempt reached.
    let longest = outcomes.iter().map(|(end, _)| *end).max();
    let why = match (walker.furthest, longest) {
        (Some((position, pattern)), longest) if longest.is_none_or(|l| position >= l) => {
            Err(match call.args.get(position) {
                Some(value) => match walker.process {
                    Some(why) => Mismatch::Process {
                        position: position + 1,
                        why,
                    },
                    None => Mismatch::Arg {
                        position: position + 1,
                        value: value.to_string_lossy().into_owned(),
                        pattern,
                    },
                },
                None => Mismatch::Missing {
                    position: position + 1,
                    pattern,
                },
            })
        }
        (_, Some(end)) if end < len => Err(Mismatch::Extra {
            position: end + 1,
            value: call
                .args
                .get(end)
                .map(|value| value.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }),
        _ => Err(Mismatch::Missing {
            position: len + 1,
            pattern: "more arguments".into(),
        }),
    };
    why.map_err(Stop::Mismatch)
}

/// The chained command line `rest` must be allowed by a non-chaining rule
/// with the same target user, and, if it names chains with `via`, one
/// naming `outer`; it runs with that rule's executable.
fn chain(outer: &Rule, rest: &[OsString], ctx: &Context<'_>) -> Result<Matched, Stop> {
    let Some(call) = Invocation::parse(rest) else {
        return Err(Mismatch::ChainEmpty.into());
    };
    let rules = rules_for_call(ctx, &call.command).map_err(Fault::Ruleset)?;
    // Decided as a call of its own: a deny for its user wins.
    // No rule that chains is matched here (chains do not nest): matching
    // one would recurse once per word of the command line.
    for rule in rules.iter().filter(|rule| rule.rest != Rest::Chain) {
        if let Effect::Deny { any_user } = rule.effect {
            if (any_user || rule.run_as == outer.run_as) && match_rule(rule, &call, ctx)?.is_ok() {
                return Err(Mismatch::DeniedBy(Box::new(rule.clone())).into());
            }
        }
    }
    let mut tried = Vec::new();
    for rule in rules.iter() {
        let why = if rule.rest == Rest::Chain {
            Mismatch::ChainNested
        } else if rule.is_deny() {
            // Checked above: a deny is no candidate to allow.
            continue;
        } else if let Some(disabled) = rule.disabled() {
            match match_rule(rule, &call, ctx)? {
                Ok(_) => Mismatch::Disabled(disabled.clone()),
                Err(why) => why,
            }
        } else if rule.run_as != outer.run_as {
            Mismatch::ChainUser
        } else if !rule.via.is_empty() && !rule.via.contains(&outer.name) {
            Mismatch::ViaOnly(rule.via.clone())
        } else {
            match match_rule(rule, &call, ctx)? {
                Ok(matched) => {
                    let Some(executable) = executable_for(rule, &call, ctx) else {
                        tried.push((rule.clone(), Mismatch::ChainMissing));
                        continue;
                    };
                    // Checked, but run by the chaining program by its path:
                    // only root can change it in between (its directories
                    // are root's).
                    let chained_binary = check_binary(rule, &executable, ctx);
                    let mut args = vec![Passed::plain(executable.into_os_string())];
                    args.extend(matched.args);
                    return Ok(Matched {
                        args,
                        env: matched.env,
                        chained: Some(Box::new(rule.clone())),
                        chained_binary,
                    });
                }
                Err(why) => why,
            }
        };
        tried.push((rule.clone(), why));
    }
    let reason = match tried.last() {
        None => format!("no rule for `{}`", call.command.to_string_lossy()),
        // These read as a sentence about the rule.
        Some((
            rule,
            why @ (Mismatch::ChainNested
            | Mismatch::ChainUser
            | Mismatch::ChainMissing
            | Mismatch::ViaOnly(_)),
        )) => format!("rule `{}` {why}", rule.name),
        Some((rule, why)) => format!("rule `{}`: {why}", rule.name),
    };
    Err(Mismatch::ChainDenied { reason, tried }.into())
}

/// What a matching rule runs for `call`: the executable of the alternative
/// the caller spelled (never another's) on this host, or, when executables
/// are not looked up (policy tests), that command as written.
pub(super) fn executable_for(rule: &Rule, call: &Invocation, ctx: &Context<'_>) -> Option<PathBuf> {
    let command = rule.spelled(call.command.as_bytes())?;
    ctx.host.find_executable(command, ctx.exec_dirs)
}
