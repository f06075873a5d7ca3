//! The one module allowed to use `unsafe`: thin wrappers over the user- and
//! descriptor-related syscalls that std does not offer. Each wrapper checks
//! its result and turns it into an `io::Result`. One file per kind of
//! system resource; callers see one flat `sys::` namespace.
#![expect(
    unsafe_code,
    reason = "the one module for the syscalls std does not offer"
)]

use std::ffi::CString;
use std::io;

mod daemon;
mod fs;
mod process;
mod users;

pub use daemon::*;
pub use fs::*;
pub use process::*;
pub use users::*;
