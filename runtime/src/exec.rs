//! Running an allowed command: become the target user, close inherited
//! descriptors, `execve` with a clean environment. No shell, no child.
#![forbid(unsafe_code)]

use std::fmt;
use std::io;

use crate::matcher::Allowed;
use crate::sys;
use crate::types::RunAs;

pub use crate::sys::Account;

#[derive(Debug)]
pub enum ExecError {
    UnknownUser(String),
    UserLookup(String, io::Error),
    /// Not running as root and asked to run as someone else.
    CannotSwitch {
        user: String,
        euid: u32,
    },
    Switch(String, io::Error),
    CloseFds(io::Error),
    /// The executable (or a chained rule's) is not root's alone, or not
    /// the file its rule pins.
    Untrusted(crate::binary::Refusal),
    Exec(String, io::Error),
    /// The target user cannot reach a pinned path itself (its descriptor
    /// was opened by root), or the path now names another object.
    Unreachable {
        user: String,
        path: std::path::PathBuf,
        error: io::Error,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExecError::UnknownUser(user) => write!(f, "the target user `{user}` does not exist on this host"),
            ExecError::UserLookup(user, e) => write!(f, "cannot look up the target user `{user}`: {e}"),
            ExecError::CannotSwitch { user, euid } => write!(
                f,
                "cannot run as `{user}`: rootwrap runs as uid {euid}, not root (run it through sudo)"
            ),
            ExecError::Switch(user, e) => write!(f, "cannot switch to the target user `{user}`: {e}"),
            ExecError::CloseFds(e) => write!(f, "cannot close inherited file descriptors: {e}"),
            ExecError::Untrusted(refusal) => write!(f, "refusing to execute {refusal}"),
            ExecError::Exec(path, e) => write!(f, "cannot execute {path}: {e}"),
            ExecError::Unreachable { user, path, error } if error.raw_os_error() == Some(libc::ESTALE) => write!(
                f,
                "{} now names another object than the one checked for `{user}`",
                path.display()
            ),
            ExecError::Unreachable { user, path, error } => write!(
                f,
                "the target user `{user}` cannot reach {} itself: {error}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for ExecError {}

/// Replaces this process with the allowed command, already running as its
/// target user (`switch_user`). Returns only on failure, before anything
/// was executed.
pub(crate) fn exec(allowed: &Allowed) -> ExecError {
    if let Err(e) = sys::cloexec_inherited_fds() {
        return ExecError::CloseFds(e);
    }
    if let Err(e) = check_reach(allowed) {
        return e;
    }
    // The descriptors of pinned paths are what the command's
    // `/proc/self/fd/N` arguments name: they alone stay open.
    for pinned in &allowed.pinned {
        if let Err(e) = sys::keep_across_exec(pinned.fd()) {
            return ExecError::CloseFds(e);
        }
    }
    let program = match program(allowed) {
        Ok(program) => program,
        Err(e) => return e,
    };
    let error = sys::execve(program, &allowed.argv, &allowed.env);
    ExecError::Exec(allowed.executable.display().to_string(), error)
}

/// After switching to a target user other than root: whether that user
/// reaches each pinned path by itself (see [`sys::reaches`]).
pub fn check_reach(allowed: &Allowed) -> Result<(), ExecError> {
    if sys::effective_uid() == 0 {
        return Ok(());
    }
    for pinned in &allowed.pinned {
        pinned
            .reach()
            .and_then(|(path, object)| sys::reaches(&path, object))
            .map_err(|error| unreachable(allowed, pinned, error))?;
    }
    Ok(())
}

/// [`ExecError::Unreachable`] for `pinned`, one of `allowed`'s pins.
pub fn unreachable(
    allowed: &Allowed,
    pinned: &crate::pin::PinnedPath,
    error: io::Error,
) -> ExecError {
    ExecError::Unreachable {
        user: allowed.run_as.user_name().to_string(),
        path: pinned.checked.clone(),
        error,
    }
}

/// What executes an allowed command: its checked descriptor, or for a
/// script its path.
pub fn program(allowed: &Allowed) -> Result<sys::Program<'_>, ExecError> {
    match &allowed.binary {
        // A script runs by its path: through its descriptor, the kernel
        // would hand the interpreter `/dev/fd/N` as the script's name
        // (`$0`), which must then stay open in the command. Its directories
        // are root's alone, so only root can change it in between.
        Some(Ok(binary)) if binary.script => Ok(sys::Program::Path(&allowed.executable)),
        Some(Ok(binary)) => Ok(sys::Program::Fd(binary.fd())),
        Some(Err(refusal)) => Err(ExecError::Untrusted(refusal.clone())),
        // Only policy tests look nothing up, and they never execute.
        None => Err(ExecError::Exec(
            allowed.executable.display().to_string(),
            std::io::Error::other("the executable was not checked"),
        )),
    }
}

/// Who a daemon's child becomes for `run_as`, worked out before the clone
/// (the child cannot look users up): the same decisions as
/// [`switch_user`], with `initgroups`'s group list.
pub fn identity_for(run_as: &RunAs) -> Result<sys::Identity, ExecError> {
    let user = run_as.user_name();
    let euid = sys::effective_uid();
    if euid == 0 && *run_as == RunAs::Root {
        return Ok(sys::Identity::Become {
            uid: 0,
            gid: 0,
            groups: vec![0],
        });
    }
    let account = target_account(run_as)?;
    if euid != 0 {
        return if account.uid == euid && sys::real_uid() == euid {
            Ok(sys::Identity::Keep)
        } else {
            Err(ExecError::CannotSwitch {
                user: user.to_string(),
                euid,
            })
        };
    }
    let groups = sys::group_list(&account).map_err(|e| ExecError::Switch(user.to_string(), e))?;
    Ok(sys::Identity::Become {
        uid: account.uid,
        gid: account.gid,
        groups,
    })
}

/// The target user's account on this host (what `explain` checks too).
pub fn target_account(run_as: &RunAs) -> Result<Account, ExecError> {
    let user = run_as.user_name();
    match sys::lookup_user(user) {
        Ok(Some(account)) => Ok(account),
        Ok(None) => Err(ExecError::UnknownUser(user.to_string())),
        Err(e) => Err(ExecError::UserLookup(user.to_string(), e)),
    }
}

/// Becomes the target user for good: groups, gid, uid, checked.
pub(crate) fn switch_user(run_as: &RunAs) -> Result<(), ExecError> {
    let user = run_as.user_name();
    let euid = sys::effective_uid();
    if euid == 0 && *run_as == RunAs::Root {
        // Root needs no user database: uid and gid 0 and the one group 0,
        // without NSS's files, sockets and modules (half the cost of a call).
        return sys::become_root().map_err(|e| ExecError::Switch(user.to_string(), e));
    }
    let account = target_account(run_as)?;
    if euid != 0 {
        // Unprivileged (tests, a misconfigured caller): nothing to drop, and
        // no way to become anyone else.
        return if account.uid == euid && sys::real_uid() == euid {
            Ok(())
        } else {
            Err(ExecError::CannotSwitch {
                user: user.to_string(),
                euid,
            })
        };
    }
    sys::become_user(&account).map_err(|e| ExecError::Switch(user.to_string(), e))
}
