//! Matching a caller's command line against rules. The very same code runs
//! as root in `rootwrap`, in the compiler's policy tests and in `explain`.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use regex_automata::dfa::{sparse, Automaton};
use regex_automata::{Anchored, Input};

use crate::canonical::canonicalize;
use crate::types::{Arg, Command, PathDepth, PathScope, Rest, Rule, RunAs};
use crate::values;

/// A caller's command line, split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// Written with leading `NAME=VALUE` assignments (optionally after `env`).
    pub env_form: bool,
    pub assignments: Vec<(OsString, OsString)>,
    /// The command as the caller wrote it: only a selector, never executed.
    pub command: OsString,
    pub args: Vec<OsString>,
}

impl Invocation {
    /// Splits argv. `None` when there is no command (empty, or only `env`
    /// and assignments).
    pub fn parse(argv: &[OsString]) -> Option<Invocation> {
        let first = argv.first()?;
        let env_form = first.as_bytes() == b"env" || assignment(first).is_some();
        if !env_form {
            return Some(Invocation {
                env_form,
                assignments: Vec::new(),
                command: first.clone(),
                args: argv[1..].to_vec(),
            });
        }
        let mut rest = argv;
        if first.as_bytes() == b"env" {
            rest = &argv[1..];
        }
        let mut assignments = Vec::new();
        while let Some((name, value)) = rest.first().and_then(|a| assignment(a)) {
            assignments.push((name, value));
            rest = &rest[1..];
        }
        let command = rest.first()?.clone();
        Some(Invocation {
            env_form,
            assignments,
            command,
            args: rest[1..].to_vec(),
        })
    }

    /// The full argv as written, for messages.
    pub fn display_argv(argv: &[OsString]) -> String {
        argv.iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `NAME=VALUE` with a shell-style variable name.
fn assignment(arg: &OsStr) -> Option<(OsString, OsString)> {
    let bytes = arg.as_bytes();
    let eq = bytes.iter().position(|&b| b == b'=')?;
    let name = &bytes[..eq];
    let valid = !name.is_empty()
        && !name[0].is_ascii_digit()
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| {
        (
            OsString::from_vec(name.to_vec()),
            OsString::from_vec(bytes[eq + 1..].to_vec()),
        )
    })
}

/// Why a rule did not match: shown by `explain` and policy tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mismatch {
    /// The caller's argv[0] is not a spelling of the rule's command.
    Command,
    /// The rule needs `env NAME=...` assignments and none were given.
    EnvRequired,
    /// Assignments were given but the rule allows none.
    EnvNotAllowed,
    EnvMissing(String),
    EnvUnexpected(String),
    EnvDuplicate(String),
    EnvValue {
        name: String,
        pattern: String,
    },
    Arity {
        expected: usize,
        at_least: bool,
        got: usize,
    },
    /// The argument at this position (1 = first after the command) failed.
    Arg {
        position: usize,
        pattern: String,
    },
    /// A DFA in the ruleset could not be loaded.
    BadAutomaton(String),
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Command => write!(f, "the command name differs"),
            Mismatch::EnvRequired => {
                write!(f, "the rule requires `env NAME=VALUE ...` assignments")
            }
            Mismatch::EnvNotAllowed => write!(f, "the rule allows no environment assignments"),
            Mismatch::EnvMissing(n) => {
                write!(f, "environment variable {n} is required but not given")
            }
            Mismatch::EnvUnexpected(n) => {
                write!(f, "environment variable {n} is not allowed by this rule")
            }
            Mismatch::EnvDuplicate(n) => write!(f, "environment variable {n} is given twice"),
            Mismatch::EnvValue { name, pattern } => {
                write!(f, "the value of {name} does not match {pattern}")
            }
            Mismatch::Arity {
                expected,
                at_least,
                got,
            } => {
                let bound = if *at_least { "at least " } else { "" };
                write!(
                    f,
                    "expected {bound}{expected} argument(s) after the command, got {got}"
                )
            }
            Mismatch::Arg { position, pattern } => {
                write!(f, "argument {position} does not match {pattern}")
            }
            Mismatch::BadAutomaton(e) => write!(f, "a regex automaton is unusable: {e}"),
        }
    }
}

/// What a matching rule will run, before its executable is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matched {
    /// Arguments after the command, as passed on (paths canonical).
    pub args: Vec<OsString>,
    /// Variables to set, in the rule's order (path values canonical).
    pub env: Vec<(String, OsString)>,
}

/// Whether `rule` allows `call`, and with what arguments.
pub fn match_rule(rule: &Rule, call: &Invocation) -> Result<Matched, Mismatch> {
    let command = call.command.as_bytes();
    let spelled = match &rule.command {
        Command::Name(name) => command == name.as_bytes(),
        Command::Path(path) => {
            command == path.as_bytes()
                || command
                    == Path::new(path)
                        .file_name()
                        .map_or(&[][..], |n| n.as_bytes())
        }
    };
    if !spelled {
        return Err(Mismatch::Command);
    }

    let env = match_env(rule, call)?;

    let expected = rule.args.len();
    let got = call.args.len();
    let arity_ok = match rule.rest {
        Rest::Exact => got == expected,
        Rest::Any => got >= expected,
    };
    if !arity_ok {
        return Err(Mismatch::Arity {
            expected,
            at_least: rule.rest == Rest::Any,
            got,
        });
    }
    let mut args = Vec::with_capacity(got);
    for (position, (pattern, arg)) in rule.args.iter().zip(&call.args).enumerate() {
        match match_arg(pattern, arg)? {
            Some(passed) => args.push(passed),
            None => {
                return Err(Mismatch::Arg {
                    position: position + 1,
                    pattern: pattern.to_string(),
                })
            }
        }
    }
    args.extend(call.args[expected..].iter().cloned());
    Ok(Matched { args, env })
}

fn match_env(rule: &Rule, call: &Invocation) -> Result<Vec<(String, OsString)>, Mismatch> {
    if rule.env.is_empty() {
        return if call.env_form {
            Err(Mismatch::EnvNotAllowed)
        } else {
            Ok(Vec::new())
        };
    }
    if !call.env_form {
        return Err(Mismatch::EnvRequired);
    }
    for (i, (name, _)) in call.assignments.iter().enumerate() {
        let name_str = name.to_string_lossy();
        if !rule
            .env
            .iter()
            .any(|v| v.name.as_bytes() == name.as_bytes())
        {
            return Err(Mismatch::EnvUnexpected(name_str.into_owned()));
        }
        if call.assignments[..i].iter().any(|(n, _)| n == name) {
            return Err(Mismatch::EnvDuplicate(name_str.into_owned()));
        }
    }
    let mut env = Vec::with_capacity(rule.env.len());
    for var in &rule.env {
        let given = call
            .assignments
            .iter()
            .find(|(n, _)| n.as_bytes() == var.name.as_bytes());
        let Some((_, value)) = given else {
            return Err(Mismatch::EnvMissing(var.name.clone()));
        };
        match match_arg(&var.value, value)? {
            Some(passed) => env.push((var.name.clone(), passed)),
            None => {
                return Err(Mismatch::EnvValue {
                    name: var.name.clone(),
                    pattern: var.value.to_string(),
                })
            }
        }
    }
    Ok(env)
}

/// `Some(value to pass on)` when `arg` matches `pattern`.
pub fn match_arg(pattern: &Arg, arg: &OsStr) -> Result<Option<OsString>, Mismatch> {
    let bytes = arg.as_bytes();
    let keep = || Some(arg.to_os_string());
    Ok(match pattern {
        Arg::Literal(literal) => (literal.as_bytes() == bytes).then(keep).flatten(),
        Arg::Regex(regex) => regex_matches(&regex.dfa, bytes)?.then(keep).flatten(),
        Arg::OneOf(alternatives) => {
            for alternative in alternatives {
                if let Some(passed) = match_arg(alternative, arg)? {
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
        Arg::Path(scopes) => match_path(scopes, arg).map(PathBuf::into_os_string),
    })
}

fn regex_matches(dfa_bytes: &[u8], haystack: &[u8]) -> Result<bool, Mismatch> {
    let (dfa, _) =
        sparse::DFA::from_bytes(dfa_bytes).map_err(|e| Mismatch::BadAutomaton(e.to_string()))?;
    let input = Input::new(haystack).anchored(Anchored::Yes);
    let found = dfa
        .try_search_fwd(&input)
        .map_err(|e| Mismatch::BadAutomaton(e.to_string()))?;
    // The pattern is compiled as `^(?:...)$`, so any match spans the input.
    Ok(found.is_some_and(|m| m.offset() == haystack.len()))
}

/// The canonical form of `arg` when it lies within one of `scopes`.
pub fn match_path(scopes: &[PathScope], arg: &OsStr) -> Option<PathBuf> {
    if arg.is_empty() {
        return None;
    }
    let resolved = canonicalize(Path::new(arg)).ok()?;
    scopes
        .iter()
        .any(|scope| within(scope, &resolved))
        .then_some(resolved)
}

fn within(scope: &PathScope, resolved: &Path) -> bool {
    // The scope's base is resolved on this host too, so `/var/run/**` still
    // holds where /var/run is a symlink to /run.
    let base = canonicalize(Path::new(&scope.base)).unwrap_or_else(|_| PathBuf::from(&scope.base));
    match scope.depth {
        PathDepth::Exactly => resolved == base,
        PathDepth::Child => resolved.parent() == Some(base.as_path()) && resolved != base,
        // Component-wise: `/var/lib/images` never admits `/var/lib/images2`.
        PathDepth::Descendant => resolved != base && resolved.starts_with(&base),
    }
}

/// The executable a rule runs on this host, or `None` when it is missing.
/// Bare names are looked up in the exec dirs only, never the caller's PATH.
pub fn resolve_executable(command: &Command, exec_dirs: &[String]) -> Option<PathBuf> {
    match command {
        Command::Path(path) => Some(PathBuf::from(path)).filter(|p| is_executable_file(p)),
        Command::Name(name) => exec_dirs
            .iter()
            .map(|dir| Path::new(dir).join(name))
            .find(|p| is_executable_file(p)),
    }
}

fn is_executable_file(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// What the runtime will execute for an allowed call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allowed {
    pub rule: Rule,
    pub executable: PathBuf,
    /// The full argv, argv[0] being the executable's path.
    pub argv: Vec<OsString>,
    /// The complete environment of the command.
    pub env: Vec<(String, OsString)>,
    pub run_as: RunAs,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow(Allowed),
    /// Rules matched, but none of their executables exists on this host.
    NotExecutable {
        rule: Rule,
    },
    /// No rule matched; each rule for the command with its reason.
    Deny {
        tried: Vec<(Rule, Mismatch)>,
    },
}

/// The decision for `argv`, given the rules its command selects (in
/// declaration order). First match whose executable exists wins; a matching
/// rule whose executable is missing is passed over, as in oslo.rootwrap.
pub fn decide(rules: &[Rule], argv: &[OsString], exec_dirs: &[String]) -> Decision {
    let Some(call) = Invocation::parse(argv) else {
        return Decision::Deny { tried: Vec::new() };
    };
    let mut first_missing: Option<&Rule> = None;
    let mut tried = Vec::new();
    for rule in rules {
        match match_rule(rule, &call) {
            Ok(matched) => match resolve_executable(&rule.command, exec_dirs) {
                Some(executable) => {
                    let mut argv = Vec::with_capacity(matched.args.len() + 1);
                    argv.push(executable.clone().into_os_string());
                    argv.extend(matched.args);
                    let mut env = matched.env;
                    env.push(("PATH".to_string(), OsString::from(exec_dirs.join(":"))));
                    return Decision::Allow(Allowed {
                        rule: rule.clone(),
                        executable,
                        argv,
                        env,
                        run_as: rule.run_as.clone(),
                    });
                }
                None => {
                    first_missing.get_or_insert(rule);
                }
            },
            Err(mismatch) => tried.push((rule.clone(), mismatch)),
        }
    }
    match first_missing {
        Some(rule) => Decision::NotExecutable { rule: rule.clone() },
        None => Decision::Deny { tried },
    }
}

/// The argv[0] spelling under which a call's rules are indexed.
pub fn selector(argv: &[OsString]) -> Option<OsString> {
    Invocation::parse(argv).map(|call| call.command)
}
