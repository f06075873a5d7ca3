//! The decision for a call: its rules in order, the executable found and
//! checked, and what the runtime will run.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::Arc;

use crate::binary::Refusal;
use crate::pin::PinnedPath;
use crate::types::{Effect, Rest, Rule, RunAs};

use super::rule::{check_binary, executable_for};
use super::{
    match_rule, rules_for_call, Checked, Context, Fault, Host, Invocation, Matched, Mismatch,
    Origin, Passed,
};

/// What the runtime will execute for an allowed call.
#[derive(Debug, Clone)]
pub struct Allowed {
    pub rule: Rule,
    /// For `then allowed`: the rule that allowed the chained command.
    pub chained: Option<Rule>,
    pub executable: PathBuf,
    /// The executable as opened and checked (`None` in policy tests): what
    /// the runtime executes, through its descriptor.
    pub binary: Option<Checked>,
    /// For `then allowed`: the chained rule's executable, checked.
    pub chained_binary: Option<Checked>,
    /// The full argv, argv[0] being the executable's path.
    pub argv: Vec<OsString>,
    /// The complete environment of the command.
    pub env: Vec<(String, OsString)>,
    pub run_as: RunAs,
    /// The pinned paths among the arguments and variables: their
    /// descriptors stay open across `execve`.
    pub pinned: Vec<Arc<PinnedPath>>,
}

impl Allowed {
    /// Why the runtime must not run this: the executable, or the chained
    /// rule's, failed its checks.
    pub fn refusal(&self) -> Option<&Refusal> {
        [&self.binary, &self.chained_binary]
            .into_iter()
            .find_map(|checked| checked.as_ref()?.as_ref().err())
    }

    /// The argv with each pinned path written as the path that was checked
    /// (what `explain` and the audit record show next to what is passed).
    pub fn argv_as_checked(&self) -> Vec<OsString> {
        self.argv.iter().map(|arg| self.as_checked(arg)).collect()
    }

    /// `value` (an argument or a variable's value), with a pinned path in
    /// it written as the path that was checked.
    pub fn as_checked(&self, value: &OsStr) -> OsString {
        let bytes = value.as_bytes();
        let found = self
            .pinned
            .iter()
            .find_map(|p| Some((p, bytes.strip_suffix(p.passed.as_bytes())?)));
        match found {
            // A prefixed value (`of=/proc/self/fd/5`) keeps its prefix.
            Some((p, prefix)) => {
                let mut shown = prefix.to_vec();
                shown.extend_from_slice(p.checked.as_os_str().as_bytes());
                OsString::from_vec(shown)
            }
            None => value.to_os_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Decision {
    Allow(Box<Allowed>),
    /// Rules matched, but none of their executables exists on this host.
    NotExecutable {
        rule: Box<Rule>,
    },
    /// No rule matched; each rule for the command with its reason.
    Deny {
        tried: Vec<(Rule, Mismatch)>,
    },
}

/// The decision for `argv`: the rules its command selects are tried in
/// declaration order; the first match whose executable exists wins; a
/// matching rule whose executable is missing is passed over, as in
/// oslo.rootwrap, but only to a rule with the same target user: a missing
/// program must not change who the command line runs as.
pub fn decide(argv: &[OsString], ctx: &Context<'_>) -> Result<Decision, Fault> {
    let Some(call) = Invocation::parse(argv) else {
        return Ok(Decision::Deny { tried: Vec::new() });
    };
    let rules = rules_for_call(ctx, &call.command)?;
    // Deny rules first, wherever written: an explicit deny wins. One with
    // `as USER` waits for the allowing rule's user.
    let mut user_denies = Vec::new();
    for rule in rules.iter() {
        if let Effect::Deny { any_user } = rule.effect {
            if match_rule(rule, &call, ctx)?.is_ok() {
                if any_user {
                    return Ok(denied_by(rule, rule));
                }
                user_denies.push(rule);
            }
        }
    }
    let mut first_missing: Option<&Rule> = None;
    let mut tried = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        if let Some(disabled) = rule.disabled() {
            // Tried all the same, to name it when it alone would match.
            let why = match match_rule(rule, &call, ctx)? {
                Ok(_) => Mismatch::Disabled(disabled.clone()),
                Err(why) => why,
            };
            tried.push((rule.clone(), why));
            continue;
        }
        // Reached only through a chain: never a command line of its own.
        if !rule.via.is_empty() {
            tried.push((rule.clone(), Mismatch::ViaOnly(rule.via.clone())));
            continue;
        }
        if rule.effect != Effect::Allow {
            continue;
        }
        match match_rule(rule, &call, ctx)? {
            Err(why @ Mismatch::DeniedBy(_)) => {
                return Ok(Decision::Deny {
                    tried: vec![(rule.clone(), why)],
                })
            }
            Ok(matched) => {
                if let Some(deny) = user_denies.iter().find(|d| d.run_as == rule.run_as) {
                    return Ok(denied_by(deny, deny));
                }
                // A later chain whose chained command line a deny matches
                // denies the call too.
                if let Some(denial) =
                    chain_denial(rules.get(i + 1..).unwrap_or_default(), &call, ctx)?
                {
                    return Ok(denial);
                }
                if first_missing.is_some_and(|missing| missing.run_as != rule.run_as) {
                    break;
                }
                let Some(executable) = executable_for(rule, &call, ctx) else {
                    first_missing.get_or_insert(rule);
                    continue;
                };
                if let Err(why) = unpinned_are_safe(rule, &matched, ctx.host) {
                    tried.push((rule.clone(), why));
                    continue;
                }
                let binary = check_binary(rule, &executable, ctx);
                let mut pinned: Vec<Arc<PinnedPath>> = Vec::new();
                let mut keep = |passed: Passed| {
                    if let Origin::Pinned(pin) = passed.origin {
                        if !pinned.iter().any(|p| Arc::ptr_eq(p, &pin)) {
                            pinned.push(pin);
                        }
                    }
                    passed.value.to_os_string()
                };
                let mut argv = Vec::with_capacity(matched.args.len() + 1);
                argv.push(executable.clone().into_os_string());
                argv.extend(matched.args.into_iter().map(&mut keep));
                let mut env = vec![("PATH".to_string(), OsString::from(ctx.exec_dirs.join(":")))];
                env.extend(
                    matched
                        .env
                        .into_iter()
                        .map(|(name, value)| (name, keep(value))),
                );
                return Ok(Decision::Allow(Box::new(Allowed {
                    rule: rule.clone(),
                    chained: matched.chained.map(|r| *r),
                    executable,
                    binary,
                    chained_binary: matched.chained_binary,
                    argv,
                    env,
                    run_as: rule.run_as.clone(),
                    pinned,
                })));
            }
            Err(mismatch) => tried.push((rule.clone(), mismatch)),
        }
    }
    Ok(match first_missing {
        Some(rule) => Decision::NotExecutable {
            rule: Box::new(rule.clone()),
        },
        None => Decision::Deny { tried },
    })
}

/// The denial of a call because `deny` matched, `rule` (the call's own
/// rule, or the chaining one) naming it.
fn denied_by(rule: &Rule, deny: &Rule) -> Decision {
    Decision::Deny {
        tried: vec![(rule.clone(), Mismatch::DeniedBy(Box::new(deny.clone())))],
    }
}

/// The denial, if any, that one of `rules` that chains finds on the
/// chained command line.
fn chain_denial(
    rules: &[Rule],
    call: &Invocation,
    ctx: &Context<'_>,
) -> Result<Option<Decision>, Fault> {
    for rule in rules {
        if rule.effect == Effect::Allow && rule.rest == Rest::Chain {
            if let Err(why @ Mismatch::DeniedBy(_)) = match_rule(rule, call, ctx)? {
                return Ok(Some(Decision::Deny {
                    tried: vec![(rule.clone(), why)],
                }));
            }
        }
    }
    Ok(None)
}

/// The `deny` rule a denial names, and the rule it was found through (the
/// same, or a rule that chains).
pub fn denying_rule(tried: &[(Rule, Mismatch)]) -> Option<&Rule> {
    tried.iter().find_map(|(_, why)| match why {
        Mismatch::DeniedBy(deny) => Some(deny.as_ref()),
        _ => None,
    })
}

/// The disabled rule that matched a denied call, if one did.
pub fn disabled_match(tried: &[(Rule, Mismatch)]) -> Option<&Rule> {
    tried.iter().find_map(|(rule, why)| match why {
        Mismatch::Disabled(_) => Some(rule),
        _ => None,
    })
}

/// `<path-unpinned>` values must lie below directories that only root, or
/// the rule's own target user, can change: anyone else could swap a
/// component between the check and the command's use (sudoedit's rule for
/// the files it edits). A target user gains nothing by racing itself.
fn unpinned_are_safe(rule: &Rule, matched: &Matched, host: &dyn Host) -> Result<(), Mismatch> {
    let values = matched
        .args
        .iter()
        .chain(matched.env.iter().map(|(_, value)| value));
    let mut target_uid = None;
    for passed in values {
        let Origin::Unpinned(path) = &passed.origin else {
            continue;
        };
        let uid = *target_uid.get_or_insert_with(|| match &rule.run_as {
            RunAs::Root => 0,
            RunAs::User(name) => host.user_uid(name).unwrap_or(0),
        });
        host.unpinned_safe(path, uid)
            .map_err(|why| Mismatch::Path {
                value: path.to_string_lossy().into_owned(),
                reason: why.to_string(),
            })?;
    }
    Ok(())
}

impl<R: crate::format::ReadAt + ?Sized> crate::format::Ruleset<R> {
    /// The decision for `argv` against this ruleset, on `host`.
    pub fn decide(&self, argv: &[OsString], host: &dyn Host) -> Result<Decision, Fault> {
        let lookup = |command: &[u8]| self.rules_for(command);
        let ctx = Context::new(&self.options().exec_dirs, &lookup, host);
        decide(argv, &ctx)
    }
}
