//! `rootwrap RULESET CMD ARGS...`: see the book's "Running commands" chapter.

fn main() {
    std::process::exit(rootwrap::run::main_with(std::env::args_os()));
}
