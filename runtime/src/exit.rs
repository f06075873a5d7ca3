//! Exit codes, shared by the runtime and `rootwrap-compile explain`.
//! Compatible with oslo.rootwrap's where oslo defines one.

/// The command ran and exited 0 (otherwise its own status passes through).
pub const ALLOWED: i32 = 0;
/// A rule matched, but its executable is missing on this host.
pub const NOT_FOUND: i32 = 96;
/// The ruleset is missing, untrusted (owner, mode) or damaged.
pub const BAD_RULESET: i32 = 97;
/// No command was given.
pub const NO_COMMAND: i32 = 98;
/// No rule allows this command line.
pub const UNAUTHORIZED: i32 = 99;
/// Allowed, but it could not be run: its executable is not root's alone or
/// not the file the rule pins, or switching to the target user or the exec
/// failed. Nothing was executed.
pub const EXEC_FAILED: i32 = 126;
