//! `rootwrap-daemon`: one resident root process that runs each request
//! through the CLI's pipeline (the same matcher, execution and audit
//! record), for clients that authenticate by their uid (`SO_PEERCRED`).
//! See the book's "Daemon mode" chapter.
#![forbid(unsafe_code)]

mod action;
pub mod client;
mod command;
pub mod protocol;
mod serve;
pub mod socket;

use std::ffi::OsString;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use crate::audit::say;
use crate::exit::ExitCode;
use crate::run::Refusal;
use crate::sys;

/// The daemon could not set up its socket or its signals.
pub const SETUP_FAILED: i32 = 1;

/// The signals the daemon takes from its signal descriptor: SIGHUP reloads,
/// any other stops it as SIGTERM does. Every asynchronous signal whose
/// default would end it at once, between an action's steps or before a
/// record: sudo relays the caller's SIGUSR1, SIGQUIT, SIGALRM and others.
const STOP_OR_RELOAD: [libc::c_int; 14] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGALRM,
    libc::SIGVTALRM,
    libc::SIGPROF,
    libc::SIGIO,
    libc::SIGPWR,
    libc::SIGSTKFLT,
    libc::SIGXCPU,
    libc::SIGXFSZ,
];

/// `rootwrap-daemon RULESET`: returns the exit status.
pub fn main_with(mut args: impl Iterator<Item = OsString>) -> i32 {
    // Before anything is opened: systemd's socket is descriptor 3.
    let activated = socket::systemd_activated();
    let first_free = if activated { 4 } else { 3 };
    if let Err(e) = sys::close_fds_from(first_free) {
        say(&format!("cannot close inherited descriptors: {e}"));
        return SETUP_FAILED;
    }
    let limits = crate::run::prepare_process();
    let _program = args.next();
    let (Some(path), None) = (args.next(), args.next()) else {
        // As oslo: extra arguments (a sudoers line without `""` lets the
        // caller add some) are refused, never interpreted.
        say("usage: rootwrap-daemon RULESET (exactly one argument)");
        return ExitCode::NoCommand.into();
    };
    let path = PathBuf::from(path);
    if let Err((name, e)) = limits {
        say(&Refusal::Limits(name, e).message(&path));
        return ExitCode::BadRuleset.into();
    }
    let loaded = match serve::Loaded::load(&path) {
        Ok(loaded) => loaded,
        Err(refusal) => {
            say(&refusal.message(&path));
            return refusal.outcome().exit().into();
        }
    };
    let signals = match sys::signal_fd(&STOP_OR_RELOAD) {
        Ok(fd) => fd,
        Err(e) => {
            say(&format!("cannot watch signals: {e}"));
            return SETUP_FAILED;
        }
    };
    let settings = &loaded.ruleset.options().daemon;
    let mut config = serve::Config {
        idle: (settings.idle_timeout_secs > 0)
            .then(|| std::time::Duration::from_secs(settings.idle_timeout_secs.into())),
        max_running: settings.max_running.max(1) as usize,
        max_waiting: settings.max_waiting as usize,
        ..serve::Config::default()
    };
    let served = if activated {
        let listener = match socket::systemd_listener() {
            Ok(listener) => listener,
            Err(e) => {
                say(&format!("socket activation: {e}"));
                return SETUP_FAILED;
            }
        };
        config.watch_stdin = false;
        let access = match serve::Access::resolve(&settings.users, &settings.groups) {
            Ok(access) if access.uids.is_empty() && access.gids.is_empty() => {
                say(&format!(
                    "{}: socket activation needs `daemon users=...` or `groups=...` in the ruleset: nobody may connect",
                    path.display()
                ));
                return ExitCode::BadRuleset.into();
            }
            Ok(access) => access,
            Err(e) => {
                say(&format!("{}: {e}", path.display()));
                return ExitCode::BadRuleset.into();
            }
        };
        serve::serve(listener, loaded, &path, access, &config, signals.as_fd())
    } else {
        let owner = invoking_user();
        let (dir, listener) = match socket::create(Path::new(socket::RUN_DIR), owner) {
            Ok(created) => created,
            Err(e) => {
                say(&format!(
                    "cannot create the socket under {}: {e}",
                    socket::RUN_DIR
                ));
                return SETUP_FAILED;
            }
        };
        let mut stdout = std::io::stdout().lock();
        let printed = stdout
            .write_all(dir.socket.as_os_str().as_encoded_bytes())
            .and_then(|()| stdout.write_all(b"\n"))
            .and_then(|()| stdout.flush());
        drop(stdout);
        if printed.is_err() {
            return SETUP_FAILED;
        }
        let access = serve::Access {
            uids: vec![owner.0],
            gids: Vec::new(),
        };
        let served = serve::serve(listener, loaded, &path, access, &config, signals.as_fd());
        drop(dir);
        served
    };
    match served {
        Ok(_) => 0,
        Err(e) => {
            say(&format!("daemon stopped: {e}"));
            SETUP_FAILED
        }
    }
}

/// The user who ran `sudo rootwrap-daemon` (sudo's `SUDO_UID` and
/// `SUDO_GID`), else this process's real ids.
fn invoking_user() -> (u32, u32) {
    let var = |name: &str| std::env::var(name).ok()?.parse::<u32>().ok();
    match (var("SUDO_UID"), var("SUDO_GID")) {
        (Some(uid), Some(gid)) => (uid, gid),
        _ => (sys::real_uid(), sys::real_gid()),
    }
}
