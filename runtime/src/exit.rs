//! Exit codes, shared by the runtime and `rootwrap-compile explain`.
//! Compatible with oslo.rootwrap's where oslo defines one.
#![forbid(unsafe_code)]

/// How rootwrap itself ends a call. When the command runs, its own status
/// is the call's; these are rootwrap's, and each outcome of the audit log
/// has exactly one (`audit::Outcome::exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// The command ran and exited 0 (otherwise its own status passes through).
    Allowed,
    /// A rule matched, but its executable is missing.
    NotFound,
    /// The ruleset is missing, untrusted (owner, mode) or damaged, or the
    /// call could not be made safe to record (a log target, a limit).
    BadRuleset,
    /// No command was given.
    NoCommand,
    /// No rule allows this command line.
    Unauthorized,
    /// Allowed, but it could not be run: the executable was refused,
    /// switching to the target user or `execve` failed. Nothing was executed.
    ExecFailed,
    /// An action (`@NAME`) was allowed and a built-in step of it failed;
    /// the steps before it ran, its undo steps ran. (A failed `run` step
    /// ends the call with the command's own status.)
    StepFailed,
}

impl ExitCode {
    pub const ALL: [ExitCode; 7] = [
        ExitCode::Allowed,
        ExitCode::NotFound,
        ExitCode::BadRuleset,
        ExitCode::NoCommand,
        ExitCode::Unauthorized,
        ExitCode::ExecFailed,
        ExitCode::StepFailed,
    ];

    /// The process exit status.
    pub const fn code(self) -> u8 {
        match self {
            ExitCode::Allowed => 0,
            ExitCode::NotFound => 96,
            ExitCode::BadRuleset => 97,
            ExitCode::NoCommand => 98,
            ExitCode::Unauthorized => 99,
            ExitCode::ExecFailed => 126,
            ExitCode::StepFailed => 95,
        }
    }
}

impl From<ExitCode> for i32 {
    fn from(exit: ExitCode) -> i32 {
        i32::from(exit.code())
    }
}
