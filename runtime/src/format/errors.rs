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
    /// Text where the ruleset should be: which kind, by its first bytes.
    NotCompiled(TextKind),
    UnknownVersion(u32),
    UnknownDfaFormat(u32),
    BadHeader(&'static str),
    DigestMismatch(String),
    Corrupt(String),
    Read(io::Error),
}

/// Text given where a compiled ruleset belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    /// An INI file: oslo.rootwrap's rootwrap.conf or a `.filters` file.
    Oslo,
    /// A filter file (`.rwf`) not yet compiled.
    Filter,
    /// Other text: in its first bytes, no line says which (an oslo
    /// `rootwrap.conf` opens with comment lines longer than those bytes).
    Text,
}

impl TextKind {
    /// What the first bytes of a file that is not a ruleset look like: the
    /// first line that is not blank or a comment. A cheap look at bytes
    /// already read, never a parse.
    pub fn of(prefix: &[u8]) -> Option<TextKind> {
        let line = prefix
            .split(|&b| b == b'\n')
            .map(|line| line.trim_ascii())
            .find(|line| !line.is_empty() && !line.starts_with(b"#") && !line.starts_with(b";"));
        let word = line.and_then(|line| line.split(|b| b.is_ascii_whitespace()).next());
        let filter_words: [&[u8]; 6] = [
            b"ruleset",
            b"exec-dirs",
            b"allow",
            b"log",
            b"action",
            b"test",
        ];
        match (line, word) {
            (Some(line), _) if line.starts_with(b"[") => Some(TextKind::Oslo),
            (_, Some(word)) if filter_words.contains(&word) => Some(TextKind::Filter),
            _ => prefix
                .iter()
                .all(|b| b.is_ascii_graphic() || matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .then_some(TextKind::Text),
        }
    }
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
            NotCompiled(TextKind::Oslo) => write!(
                f,
                "not a rootwrap ruleset: this is an oslo.rootwrap file (rootwrap.conf or .filters): use `rootwrap-compile import-oslo`, then compile the result"
            ),
            NotCompiled(TextKind::Filter) => write!(
                f,
                "not a rootwrap ruleset: this is a filter file (.rwf): compile it with `rootwrap-compile -o RULESET.rwc FILE`"
            ),
            NotCompiled(TextKind::Text) => write!(
                f,
                "not a rootwrap ruleset but a text file: an oslo.rootwrap rootwrap.conf? use `rootwrap-compile import-oslo`, then compile the result; a filter file (.rwf)? compile it with `rootwrap-compile -o RULESET.rwc FILE`"
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
