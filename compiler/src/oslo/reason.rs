//! Why the importer refuses a filter or imports it stricter than (or
//! differently from) oslo: one stable name per reason, shown in the
//! written comments and the summary, and matched on by tests.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Argv0Regex,
    Argv0Spelling,
    BadArity,
    BadCommand,
    BadUser,
    ChainPath,
    DeadFilter,
    EnvCommand,
    EnvForbidden,
    EnvName,
    EnvPinned,
    EnvValue,
    IpBatch,
    IpNetnsExec,
    IpVrfExec,
    KillCmdline,
    KillExec,
    KillPath,
    LegacyClass,
    NetnsName,
    NoExecDirs,
    NonsenseFilter,
    PathLookahead,
    PathPrefix,
    PathUnrepresentable,
    PidSyntax,
    RegexAlternation,
    RegexNewline,
    RegexTooDeep,
    RegexUncompilable,
    RegexUnsupported,
    Regex0Command,
    RelativeExec,
    UnicodeClass,
    UnknownClass,
}

impl Category {
    /// The stable name, e.g. `path-prefix`.
    pub fn name(self) -> &'static str {
        match self {
            Category::Argv0Regex => "argv0-regex",
            Category::Argv0Spelling => "argv0-spelling",
            Category::BadArity => "bad-arity",
            Category::BadCommand => "bad-command",
            Category::BadUser => "bad-user",
            Category::ChainPath => "chain-path",
            Category::DeadFilter => "dead-filter",
            Category::EnvCommand => "env-command",
            Category::EnvForbidden => "env-forbidden",
            Category::EnvName => "env-name",
            Category::EnvPinned => "env-pinned",
            Category::EnvValue => "env-value",
            Category::IpBatch => "ip-batch",
            Category::IpNetnsExec => "ip-netns-exec",
            Category::IpVrfExec => "ip-vrf-exec",
            Category::KillCmdline => "kill-cmdline",
            Category::KillExec => "kill-exec",
            Category::KillPath => "kill-path",
            Category::LegacyClass => "legacy-class",
            Category::NetnsName => "netns-name",
            Category::NoExecDirs => "no-exec-dirs",
            Category::NonsenseFilter => "nonsense-filter",
            Category::PathLookahead => "path-lookahead",
            Category::PathPrefix => "path-prefix",
            Category::PathUnrepresentable => "path-unrepresentable",
            Category::PidSyntax => "pid-syntax",
            Category::RegexAlternation => "regex-alternation",
            Category::RegexNewline => "regex-newline",
            Category::RegexTooDeep => "regex-too-deep",
            Category::RegexUncompilable => "regex-uncompilable",
            Category::RegexUnsupported => "regex-unsupported",
            Category::Regex0Command => "regex0-command",
            Category::RelativeExec => "relative-exec",
            Category::UnicodeClass => "unicode-class",
            Category::UnknownClass => "unknown-class",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
