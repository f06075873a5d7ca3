//! What a native action is, as the ruleset stores it. Its parameters are
//! matched as the arguments of a rule for the command `@NAME` (stored with
//! the other rules); this is what it then does.
#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

/// The steps of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Action {
    /// The parameters' names, in order (explanations, messages).
    pub params: Vec<String>,
    /// Run in order; the first that fails stops the sequence.
    pub steps: Vec<Step>,
    /// Run in order after a step failed, each whatever the others do.
    pub undo: Vec<Step>,
}

/// One step and where it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub line: u32,
    pub op: Op,
}

/// A value built from parameters and literal text, glued together: never
/// parsed, never given to a shell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Text(pub Vec<Piece>);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Piece {
    /// The caller's argument for this parameter, as matched.
    Param(u16),
    Literal(String),
}

/// A file-system object: a path parameter's entry (its directory, opened
/// beneath the scope, and its last name), then literal names below it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub param: u16,
    /// Plain names: never empty, `.`, `..` or holding `/`.
    pub below: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// The caller's standard input.
    Stdin,
    Text(Text),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum WriteHow {
    /// A new file: fails if the name exists.
    Create,
    /// The file's whole content, atomically: a new file put in its place.
    Replace,
    /// Added at the end of an existing regular file.
    Append,
}

/// The mode and owner of an object a step creates (`mode 0640 owner a:b`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attrs {
    pub mode: Option<Text>,
    pub owner: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    Write {
        target: Target,
        content: Content,
        max: u64,
        how: WriteHow,
        attrs: Attrs,
    },
    /// The file's content to standard output.
    Read {
        target: Target,
        max: u64,
    },
    /// With `parents`, the names below the parameter that are missing are
    /// created too.
    Mkdir {
        target: Target,
        parents: bool,
        attrs: Attrs,
    },
    Chmod {
        target: Target,
        mode: Text,
    },
    Chown {
        target: Target,
        owner: Text,
    },
    /// A new symbolic link holding `to`.
    Symlink {
        link: Target,
        to: Text,
    },
    Unlink {
        target: Target,
    },
    Rmdir {
        target: Target,
    },
    /// Within one tree; never over an existing name.
    Rename {
        from: Target,
        to: Target,
    },
    /// A signal to the process a `<pid ...>` parameter names, checked
    /// again on the process descriptor the signal is sent through.
    Kill {
        pid: u16,
        signal: Text,
    },
    /// `KEY = VALUE` under /proc/sys, `.` separating names.
    Sysctl {
        key: Text,
        value: Text,
    },
    /// A command line another rule must allow, run to completion.
    Run {
        argv: Vec<Text>,
    },
}

impl Action {
    /// The most standard input its steps can read: the one `write ... from
    /// stdin` (the compiler allows one) takes up to its `max` and one byte
    /// more (to tell a longer input).
    pub fn stdin_wanted(&self) -> u64 {
        self.steps
            .iter()
            .chain(&self.undo)
            .filter_map(|step| match &step.op {
                Op::Write {
                    content: Content::Stdin,
                    max,
                    ..
                } => Some(max.saturating_add(1)),
                _ => None,
            })
            .fold(0, u64::saturating_add)
    }
}

impl Op {
    /// The step's keyword in a filter file.
    pub fn kind(&self) -> &'static str {
        match self {
            Op::Write { .. } => "write",
            Op::Read { .. } => "read",
            Op::Mkdir { .. } => "mkdir",
            Op::Chmod { .. } => "chmod",
            Op::Chown { .. } => "chown",
            Op::Symlink { .. } => "symlink",
            Op::Unlink { .. } => "unlink",
            Op::Rmdir { .. } => "rmdir",
            Op::Rename { .. } => "rename",
            Op::Kill { .. } => "kill",
            Op::Sysctl { .. } => "sysctl",
            Op::Run { .. } => "run",
        }
    }
}

/// The largest content a `write` or `read` step may move (the compiler
/// refuses a larger `max`).
pub const MAX_CONTENT: u64 = 64 << 20;
/// The content limit when a step names none.
pub const DEFAULT_MAX: u64 = 64 << 10;
/// The most steps (and undo steps) an action may have.
pub const MAX_STEPS: usize = 64;
