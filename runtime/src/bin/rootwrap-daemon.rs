//! `rootwrap-daemon RULESET`: see the book's "Daemon mode" chapter.
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(rootwrap::daemon::main_with(std::env::args_os()));
}
