//! One argument (or variable's value) against one pattern, paths included.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use crate::canonical::canonicalize;
use crate::format::RulesetError;
use crate::pin::PathRefusal;
use crate::process;
use crate::types::{Arg, PathDepth, PathScope, Pin, Rule};
use crate::values;

use super::{split, Context, Fault, Host, Invocation, Mismatch, OnThisHost, Origin, Passed, Stop};

/// A `deny` rule's variables: each must be set to a matching value;
/// others may be set too (a deny must not be evaded by adding one).
fn deny_env(
    rule: &Rule,
    call: &Invocation,
    ctx: &Context<'_>,
) -> Result<Vec<(String, Passed)>, Stop> {
    for var in &rule.env {
        let given = call
            .assignments
            .iter()
            .filter(|(n, _)| n.as_bytes() == var.name.as_bytes());
        let mut any = false;
        for (_, value) in given {
            any |= arg_matches(&var.value, value, ctx)?.is_some();
        }
        if !any {
            return Err(Mismatch::EnvMissing(var.name.clone()).into());
        }
    }
    Ok(Vec::new())
}

pub(super) fn match_env(
    rule: &Rule,
    call: &Invocation,
    ctx: &Context<'_>,
) -> Result<Vec<(String, Passed)>, Stop> {
    if rule.is_deny() {
        return deny_env(rule, call, ctx);
    }
    if rule.env.is_empty() {
        return if call.env_form {
            Err(Mismatch::EnvNotAllowed.into())
        } else {
            Ok(Vec::new())
        };
    }
    if !call.env_form {
        return Err(Mismatch::EnvRequired.into());
    }
    for (i, (name, _)) in call.assignments.iter().enumerate() {
        let name_str = name.to_string_lossy();
        if !rule
            .env
            .iter()
            .any(|v| v.name.as_bytes() == name.as_bytes())
        {
            return Err(Mismatch::EnvUnexpected(name_str.into_owned()).into());
        }
        if call.assignments.iter().take(i).any(|(n, _)| n == name) {
            return Err(Mismatch::EnvDuplicate(name_str.into_owned()).into());
        }
    }
    let mut env = Vec::with_capacity(rule.env.len());
    for var in &rule.env {
        let given = call
            .assignments
            .iter()
            .find(|(n, _)| n.as_bytes() == var.name.as_bytes());
        let Some((_, value)) = given else {
            return Err(Mismatch::EnvMissing(var.name.clone()).into());
        };
        match arg_matches(&var.value, value, ctx)? {
            Some(passed) => env.push((var.name.clone(), passed)),
            None => {
                return Err(Mismatch::EnvValue {
                    name: var.name.clone(),
                    pattern: var.value.to_string(),
                }
                .into())
            }
        }
    }
    Ok(env)
}

/// `Some(value to pass on)` when `arg` matches `pattern`; an inner `Err`
/// when it is refused with a reason, an outer one when it cannot be
/// decided.
pub fn match_arg(
    pattern: &Arg,
    arg: &OsStr,
    ctx: &Context<'_>,
) -> Result<Result<Option<Passed>, Mismatch>, Fault> {
    split(arg_matches(pattern, arg, ctx))
}

pub(super) fn arg_matches(
    pattern: &Arg,
    arg: &OsStr,
    ctx: &Context<'_>,
) -> Result<Option<Passed>, Stop> {
    let bytes = arg.as_bytes();
    let keep = || Some(Passed::plain(arg));
    Ok(match pattern {
        Arg::Literal(literal) => (literal.as_bytes() == bytes).then(keep).flatten(),
        Arg::Regex(regex) => {
            // Each search reads the whole argument (up to 128 KiB): the
            // call's budget of bytes searched bounds root's time.
            let left = ctx.scan_left.get().checked_sub(bytes.len());
            ctx.scan_left.set(left.ok_or(Fault::TooComplex)?);
            let matches = regex.dfa.matches_whole(bytes);
            matches
                .map_err(|e| Fault::Ruleset(RulesetError::Corrupt(e)))?
                .then(keep)
                .flatten()
        }
        Arg::OneOf(alternatives) => {
            for alternative in alternatives {
                if let Some(passed) = arg_matches(alternative, arg, ctx)? {
                    return Ok(Some(passed));
                }
            }
            None
        }
        Arg::Int { min, max } => values::int(bytes)
            .filter(|v| min <= v && v <= max)
            .and(keep()),
        Arg::Mode(allowed) => values::mode(bytes)
            .filter(|m| {
                if allowed.is_empty() {
                    m & !0o777 == 0
                } else {
                    allowed.contains(m)
                }
            })
            .and(keep()),
        Arg::Signal(allowed) => values::signal(bytes)
            .filter(|s| allowed.is_empty() || allowed.contains(s))
            .and(keep()),
        Arg::Uuid => values::is_uuid(bytes).then(keep).flatten(),
        Arg::Ipv4 => values::is_ipv4(bytes).then(keep).flatten(),
        Arg::Ipv6 => values::is_ipv6(bytes).then(keep).flatten(),
        Arg::Ip => (values::is_ipv4(bytes) || values::is_ipv6(bytes))
            .then(keep)
            .flatten(),
        Arg::Cidr => values::is_cidr(bytes).then(keep).flatten(),
        Arg::Mac => values::is_mac(bytes).then(keep).flatten(),
        Arg::IfName => values::is_ifname(bytes).then(keep).flatten(),
        Arg::User | Arg::Group => values::is_account_name(bytes).then(keep).flatten(),
        Arg::Path { scopes, pin } => match_path_arg(scopes, *pin, arg, ctx)?,
        Arg::Prefixed { prefix, value } => match bytes.strip_prefix(prefix.as_bytes()) {
            Some(rest) => arg_matches(value, OsStr::from_bytes(rest), ctx)?.map(|passed| {
                let mut whole = OsString::from(prefix);
                whole.push(&*passed.value);
                Passed {
                    value: whole.into(),
                    origin: passed.origin,
                }
            }),
            None => None,
        },
        Arg::Pid(pattern) => values::int(bytes)
            .filter(|&pid| pid > 0 && ctx.host.process(pid, pattern, ctx.exec_dirs).is_ok())
            .and(keep()),
        Arg::Operand => bytes
            .first()
            .is_some_and(|&b| b != b'-')
            .then(keep)
            .flatten(),
        Arg::Any => keep(),
        Arg::Owner => values::is_owner(bytes).then(keep).flatten(),
        Arg::Netns => values::is_netns(bytes).then(keep).flatten(),
        Arg::ModeBits { required, allowed } => values::mode(bytes)
            .filter(|m| m & required == *required && m & !allowed == 0)
            .and(keep()),
    })
}

/// Why the process `arg` names is not one of a `<pid>` pattern's targets
/// (checked again: only for the denial's reason).
pub(super) fn process_refusal(
    pattern: &Arg,
    arg: &OsStr,
    ctx: &Context<'_>,
) -> Option<process::NotTarget> {
    let Arg::Pid(pattern) = pattern else {
        return None;
    };
    let pid = values::int(arg.as_bytes()).filter(|&pid| pid > 0)?;
    ctx.host.process(pid, pattern, ctx.exec_dirs).err()
}

/// The longest path the kernel takes (`PATH_MAX`, with its NUL) and the
/// longest name (`NAME_MAX`): anything longer cannot name a file, and
/// resolving it would only cost root's time.
const PATH_MAX: usize = 4095;
const NAME_MAX: usize = 255;

fn too_long(arg: &OsStr) -> bool {
    let bytes = arg.as_bytes();
    bytes.len() > PATH_MAX
        || bytes
            .split(|&b| b == b'/')
            .any(|name| name.len() > NAME_MAX)
}

/// A `<path>` argument: checked on its canonical form, then, on this host,
/// pinned (or, for `<path-unpinned>`, checked for directories someone
/// else could change).
fn match_path_arg(
    scopes: &[PathScope],
    pin: Pin,
    arg: &OsStr,
    ctx: &Context<'_>,
) -> Result<Option<Passed>, Stop> {
    if arg.is_empty() || too_long(arg) {
        return Ok(None);
    }
    let Some(resolved) = ctx.paths.canonical(ctx.host, arg, pin) else {
        return Ok(None);
    };
    let Some(base) = scopes
        .iter()
        .find_map(|scope| within(ctx.host, scope, &resolved))
    else {
        return Ok(None);
    };
    let refused = |why: PathRefusal| Mismatch::Path {
        value: arg.to_string_lossy().into_owned(),
        reason: why.to_string(),
    };
    if pin == Pin::Unpinned {
        return Ok(Some(Passed {
            value: resolved.as_os_str().into(),
            origin: Origin::Unpinned(resolved),
        }));
    }
    match ctx.paths.pinned(ctx.host, &base, &resolved, pin) {
        None => Ok(Some(Passed::plain(resolved.into_os_string()))),
        Some(pinned) => {
            let pinned = pinned.map_err(refused)?;
            Ok(Some(Passed {
                value: pinned.passed.as_os_str().into(),
                origin: Origin::Pinned(pinned),
            }))
        }
    }
}

/// The canonical form of `arg` when it lies within one of `scopes`.
pub fn match_path(scopes: &[PathScope], arg: &OsStr) -> Option<PathBuf> {
    if arg.is_empty() || too_long(arg) {
        return None;
    }
    let resolved = canonicalize(Path::new(arg)).ok()?;
    scopes
        .iter()
        .any(|scope| within(&OnThisHost, scope, &resolved).is_some())
        .then_some(resolved)
}

/// The base of `scope` that `resolved` lies in, free of symbolic links:
/// as written, or as resolved through root's own links.
fn within(host: &dyn Host, scope: &PathScope, resolved: &Path) -> Option<PathBuf> {
    // Component-wise: `/var/lib/images` never admits `/var/lib/images2`.
    let inside = |base: &Path| {
        let Ok(below) = resolved.strip_prefix(base) else {
            return false;
        };
        let mut names = below.components();
        // `*` in the middle: any one name (`resolved` is canonical: no
        // `.` or `..`), else that very name.
        for wanted in &scope.middle {
            match (names.next(), wanted) {
                (Some(Component::Normal(_)), None) => {}
                (Some(Component::Normal(name)), Some(wanted)) if name == wanted.as_str() => {}
                _ => return false,
            }
        }
        let after = names.count();
        match scope.depth {
            PathDepth::Exactly => after == 0,
            PathDepth::Child => after == 1,
            PathDepth::Descendant => after >= 1,
        }
    };
    let written = Path::new(&scope.base);
    // The base as written (then, `resolved` being canonical, it holds no
    // symbolic link); or as resolved on this host, so that `/var/run/**`
    // holds where /var/run is a symlink to /run, but only through symlinks
    // the caller cannot have made or changed.
    if inside(written) {
        return Some(written.to_path_buf());
    }
    host.canonicalize_trusted(written)
        .filter(|base| base != written && inside(base))
}
