//! The audit log, end to end: the real `rootwrap` binary, real rulesets
//! compiled by the real `rootwrap-compile`, real JSON-lines files and a real
//! syslog receiver (a Unix datagram socket that `/dev/log` points to inside a
//! private mount namespace, so the runtime's own syslog client delivers to
//! the test).
//!
//! - every decision kind gives exactly the documented record, field by
//!   field, in the documented order, in both forms;
//! - hostile arguments (newlines, quotes, backslashes, ANSI escapes, invalid
//!   UTF-8, spaces, 100 KB) give one well-formed line that unescapes back to
//!   the original bytes;
//! - the JSON file's security (created 0600 root, symlinks and foreign owners
//!   refused) and fail-closed behaviour, and `on-log-failure continue`;
//! - 200 concurrent calls give 200 whole, separate records.
//!
//! Needs root (rulesets must be root's; the syslog tests mount); each test
//! says it was skipped otherwise. The book's chapter "Auditing"
//! (book/src/auditing.md) documents what is checked here.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{symlink, MetadataExt};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rootwrap_tests::{binaries, require_root, run, set_mode, tool, Scratch, SudoFixture, CALLER};
use serde_json::{json, Map, Value};

mod calls;
mod concurrency;
mod hostile;
mod journald;
mod json_file;
mod kinds;
mod records;
mod sudo_syslog;
mod syslog;

use calls::*;
use kinds::{kinds_source, write_junk};
use records::*;
use syslog::*;
