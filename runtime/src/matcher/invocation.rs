//! A caller's command line split into assignments, command and arguments.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

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
        let (first, after_first) = argv.split_first()?;
        let env_form = first.as_bytes() == b"env" || assignment(first).is_some();
        if !env_form {
            return Some(Invocation {
                env_form,
                assignments: Vec::new(),
                command: first.clone(),
                args: after_first.to_vec(),
            });
        }
        let mut rest = argv;
        if first.as_bytes() == b"env" {
            rest = after_first;
        }
        let mut assignments = Vec::new();
        while let Some((assigned, after)) = rest.split_first() {
            let Some((name, value)) = assignment(assigned) else {
                break;
            };
            assignments.push((name, value));
            rest = after;
        }
        let (command, args) = rest.split_first()?;
        Some(Invocation {
            env_form,
            assignments,
            command: command.clone(),
            args: args.to_vec(),
        })
    }

    /// The full argv as written, for messages: escaped like an audit
    /// record, so one line of printable ASCII.
    pub fn display_argv(argv: &[OsString]) -> String {
        crate::audit::escape(&Invocation::argv_bytes(argv))
    }

    /// The full argv as written, joined by spaces, byte for byte.
    pub fn argv_bytes(argv: &[OsString]) -> Vec<u8> {
        argv.iter()
            .map(|a| a.as_bytes())
            .collect::<Vec<_>>()
            .join(&b' ')
    }
}

/// `NAME=VALUE` with a shell-style variable name.
fn assignment(arg: &OsStr) -> Option<(OsString, OsString)> {
    let bytes = arg.as_bytes();
    let eq = bytes.iter().position(|&b| b == b'=')?;
    let (name, value) = (bytes.get(..eq)?, bytes.get(eq + 1..)?);
    let valid = name.first().is_some_and(|b| !b.is_ascii_digit())
        && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| {
        (
            OsString::from_vec(name.to_vec()),
            OsString::from_vec(value.to_vec()),
        )
    })
}

/// The argv[0] spelling under which a call's rules are indexed.
pub fn selector(argv: &[OsString]) -> Option<OsString> {
    Invocation::parse(argv).map(|call| call.command)
}
