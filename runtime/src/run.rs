//! The `rootwrap` command: `rootwrap RULESET CMD ARGS...`, argv taken
//! verbatim (no option parsing: nothing the caller writes is interpreted
//! before the ruleset decides).

use std::ffi::OsString;
use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::exit;
use crate::format::{Ruleset, RulesetError, MAX_RULESET_BYTES};
use crate::matcher::{Decision, Invocation};

/// Opens a ruleset the way the privileged runtime must: a regular file,
/// owned by root, writable by nobody else, within the size cap, with a valid
/// header and index.
pub fn open_trusted(path: &Path) -> Result<Ruleset<File>, RulesetError> {
    let file = File::open(path).map_err(RulesetError::Open)?;
    let meta = file.metadata().map_err(RulesetError::Open)?;
    if !meta.is_file() {
        return Err(RulesetError::NotRegularFile);
    }
    if meta.uid() != 0 {
        return Err(RulesetError::NotOwnedByRoot { uid: meta.uid() });
    }
    if meta.mode() & 0o022 != 0 {
        return Err(RulesetError::WritableByOthers { mode: meta.mode() });
    }
    if meta.len() > MAX_RULESET_BYTES {
        return Err(RulesetError::TooLarge { size: meta.len() });
    }
    Ruleset::from_source(Box::new(file))
}

fn refuse(code: i32, message: std::fmt::Arguments<'_>) -> i32 {
    eprintln!("rootwrap: {message}");
    code
}

/// Runs one call; returns the exit code when it does not exec.
pub fn main_with(mut args: impl Iterator<Item = OsString>) -> i32 {
    let _program = args.next();
    let Some(ruleset_path) = args.next() else {
        return refuse(exit::NO_COMMAND, format_args!("No command specified"));
    };
    let argv: Vec<OsString> = args.collect();
    if argv.is_empty() {
        return refuse(exit::NO_COMMAND, format_args!("No command specified"));
    }
    let ruleset = match open_trusted(Path::new(&ruleset_path)) {
        Ok(ruleset) => ruleset,
        Err(e) => return bad_ruleset(&ruleset_path, e),
    };
    let decision = match ruleset.decide(&argv, true) {
        Ok(decision) => decision,
        Err(e) => return bad_ruleset(&ruleset_path, e),
    };
    match decision {
        Decision::Allow(allowed) => {
            // Its descriptor is about to be closed with every other one.
            drop(ruleset);
            let error = crate::exec::exec(&allowed);
            refuse(exit::EXEC_FAILED, format_args!("{error}"))
        }
        Decision::NotExecutable { rule } => refuse(
            exit::NOT_FOUND,
            format_args!(
                "Executable not found: {} (filter match = {})",
                rule.command.as_str(),
                rule.name
            ),
        ),
        Decision::Deny { .. } => {
            // A damaged ruleset must be reported as such, never as a denial.
            if let Err(e) = ruleset.verify_all() {
                return bad_ruleset(&ruleset_path, e);
            }
            refuse(
                exit::UNAUTHORIZED,
                format_args!(
                    "Unauthorized command: {} (no filter matched)",
                    Invocation::display_argv(&argv)
                ),
            )
        }
    }
}

fn bad_ruleset(path: &OsString, error: RulesetError) -> i32 {
    refuse(
        exit::BAD_RULESET,
        format_args!("{}: {error}", Path::new(path).display()),
    )
}
