//! `rootwrap-client SOCKET CMD ARGS...`: runs one command through a
//! `rootwrap-daemon`, with the command's stdout, stderr and exit status
//! passed through (see the book's "Daemon mode" chapter).
#![forbid(unsafe_code)]

fn main() {
    std::process::exit(rootwrap::daemon::client::main_with(std::env::args_os()));
}
