//! `rootwrap RULESET CMD ARGS...`: see the book's "Running commands" chapter.
//!
//! The C entry point replaces std's `main` on purpose: std's start-up reads
//! and parses /proc/self/maps and installs signal stacks and handlers, about
//! a fifth of what a whole call costs. The part of it that matters here,
//! descriptors 0-2 being open, is done by `run::main_with`.
#![no_main]

/// Called by the C runtime. std reads the arguments itself (`args_os`).
// `no_mangle` is what the `unsafe_code` lint flags: it exports the symbol the
// C runtime calls. No unsafe code runs here.
#[expect(
    unsafe_code,
    reason = "no_mangle exports the C entry point; no unsafe code runs here"
)]
#[unsafe(no_mangle)]
pub extern "C" fn main(
    _argc: std::ffi::c_int,
    _argv: *const *const std::ffi::c_char,
) -> std::ffi::c_int {
    rootwrap::run::main_with(std::env::args_os())
}
