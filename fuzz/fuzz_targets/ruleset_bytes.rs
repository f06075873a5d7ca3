//! Arbitrary bytes as a ruleset: opening, verifying, looking up and deciding
//! must return a value or a `RulesetError`, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rootwrap::format::Ruleset;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    match Ruleset::from_bytes(data) {
        Ok(ruleset) => common::exercise(&ruleset),
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
