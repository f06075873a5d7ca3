//! Arbitrary UTF-8 as filter files: the compiler must report diagnostics or
//! produce a ruleset, never panic; diagnostics must render; what it writes
//! must open and verify with the runtime's reader.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rootwrap::format::Ruleset;
use rootwrap_compile::{compile_sources, Sources};

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // A NUL splits the input into two files: several files, one ruleset.
    let files: Vec<(String, String)> = text
        .splitn(2, '\0')
        .enumerate()
        .map(|(i, part)| (format!("fuzz-{i}.rwf"), part.to_string()))
        .collect();
    let mut sources = Sources::default();
    match compile_sources(files, false, &mut sources) {
        Ok(compiled) => {
            for warning in &compiled.warnings {
                let _ = sources.render(warning);
            }
            let ruleset = match Ruleset::from_bytes(&compiled.bytes) {
                Ok(ruleset) => ruleset,
                Err(e) => panic!("the compiler wrote a ruleset its runtime refuses: {e}"),
            };
            if let Err(e) = ruleset.verify_all() {
                panic!("the compiler wrote a ruleset that does not verify: {e}");
            }
            common::exercise(&ruleset);
        }
        Err(failed) => {
            for diagnostic in &failed.diagnostics {
                let _ = sources.render(diagnostic);
            }
        }
    }
});
