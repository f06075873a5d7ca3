//! Why a ruleset was refused: one line for the operator each.

use std::fmt;
use std::io;

use super::header::{DFA_FORMAT, FORMAT_VERSION, MAX_RULESET_BYTES};

/// Why a ruleset was refused. Each variant is one line for the operator.
#[derive(Debug)]
pub enum RulesetError {
    /// The path as given is not absolute and canonical (why).
    PathNotCanonical(&'static str),
    Open(io::Error),
    Empty,
    NotRegularFile,
    NotOwnedByRoot {
        uid: u32,
    },
    WritableByOthers {
        mode: u32,
    },
    TooLarge {
        size: u64,
    },
    Truncated {
        expected: u64,
        actual: u64,
    },
    BadMagic,
    /// Not a ruleset but text: most likely the oslo.rootwrap `rootwrap.conf`
    /// a service's configuration still names, or an uncompiled `.rwf`.
    Text,
    UnknownVersion(u32),
    UnknownDfaFormat(u32),
    BadHeader(&'static str),
    DigestMismatch(String),
    Corrupt(String),
    Read(io::Error),
}

impl fmt::Display for RulesetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RulesetError::*;
        match self {
            PathNotCanonical(why) => write!(
                f,
                "the ruleset path {why}: give it absolute and canonical, as the sudoers line names it"
            ),
            Open(e) => write!(f, "cannot open the ruleset: {e}"),
            Empty => write!(f, "the ruleset is empty (0 bytes)"),
            NotRegularFile => write!(f, "the ruleset is not a regular file"),
            NotOwnedByRoot { uid } => {
                write!(f, "the ruleset is owned by uid {uid}, not by root")
            }
            WritableByOthers { mode } => write!(
                f,
                "the ruleset is writable by group or others (mode {:04o})",
                mode & 0o7777
            ),
            TooLarge { size } => write!(
                f,
                "the ruleset is {size} bytes, more than the {MAX_RULESET_BYTES}-byte limit"
            ),
            Truncated { expected, actual } => write!(
                f,
                "the ruleset is truncated or has trailing data: its header says {expected} bytes, the file has {actual}"
            ),
            BadMagic => write!(f, "not a rootwrap ruleset (bad magic bytes)"),
            Text => write!(
                f,
                "not a rootwrap ruleset but a text file: an oslo.rootwrap rootwrap.conf? \
                 compile it with `rootwrap-compile import-oslo` (the book's migration chapter); \
                 a filter file (.rwf) with `rootwrap-compile -o RULESET.rwc`"
            ),
            UnknownVersion(v) => write!(
                f,
                "the ruleset has format version {v}; this rootwrap reads version {FORMAT_VERSION}: recompile it"
            ),
            UnknownDfaFormat(v) => write!(
                f,
                "the ruleset's regex automata have format {v:#x}; this rootwrap reads {DFA_FORMAT:#x}: recompile it"
            ),
            BadHeader(what) => write!(f, "the ruleset header is invalid: {what}"),
            DigestMismatch(what) => {
                write!(f, "the ruleset is corrupted: checksum mismatch in {what}")
            }
            Corrupt(what) => write!(f, "the ruleset is corrupted: {what}"),
            Read(e) => write!(f, "cannot read the ruleset: {e}"),
        }
    }
}

impl std::error::Error for RulesetError {}
