//! A valid ruleset, damaged by the fuzz input, must be refused with a
//! `RulesetError` or decided on: never a panic.
//!
//! Input: one mode byte, then edits of 4 bytes each (op, position as 16 bits
//! scaled to the target's length, value). Bit 2 of the mode byte picks the
//! fixture (the shipped filter or the benchmarks' generated one) in modes 0
//! and 1, bit 3 lets mode 1 edit the header too. Modes (mode byte % 4):
//! 0. edit the compiled file's bytes (flip, set, insert, delete, truncate);
//! 1. edit only the header and the index, then recompute the header's digest,
//!    so the index decoder and the bounds checks run on damaged data;
//! 2. edit the bincode encoding of the rules of the shipped filter (decoded
//!    with the runtime's codec settings) and re-seal them with
//!    `write_ruleset`: a correctly hashed ruleset with damaged rules, as only
//!    a faulty compiler would write: the matcher must still not panic;
//! 3. the same with the benchmarks' generated ruleset.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rootwrap::format::{write_ruleset, Header, Ruleset, HEADER_LEN};
use rootwrap::types::{Options, Rule};

#[path = "common.rs"]
mod common;

struct Fixture {
    bytes: Vec<u8>,
    options: Options,
    rules: Vec<u8>,
}

fn fixture(name: &str, text: String) -> Fixture {
    let bytes = match rootwrap_bench::compile_text(name, text) {
        Ok(bytes) => bytes,
        Err(e) => panic!("set-up: {name} does not compile:\n{e}"),
    };
    let ruleset = match Ruleset::from_bytes(&bytes) {
        Ok(ruleset) => ruleset,
        Err(e) => panic!("set-up: {name}: {e}"),
    };
    let rules = match ruleset.all_rules() {
        Ok(rules) => rules,
        Err(e) => panic!("set-up: {name}: {e}"),
    };
    let rules = match bincode::serde::encode_to_vec(&rules, codec()) {
        Ok(encoded) => encoded,
        Err(e) => panic!("set-up: {name}: {e}"),
    };
    Fixture {
        options: ruleset.options().clone(),
        bytes,
        rules,
    }
}

fn fixtures() -> &'static [Fixture; 2] {
    static FIXTURES: OnceLock<[Fixture; 2]> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        [
            fixture(
                "compute-agent.rwf",
                include_str!("../../filters/compute-agent.rwf").to_string(),
            ),
            fixture("bench-30.rwf", rootwrap_bench::generate_rwf(30)),
        ]
    })
}

/// runtime/src/format/codec.rs's settings.
fn codec() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<{ 64 << 20 }>()
}

/// Applies the edits to `bytes[start..]`.
fn edit(bytes: &mut Vec<u8>, start: usize, edits: &[u8]) {
    for chunk in edits.chunks_exact(4).take(16) {
        let span = bytes.len().saturating_sub(start).max(1);
        let position = start + usize::from(u16::from_le_bytes([chunk[1], chunk[2]])) * span / 65536;
        let value = chunk[3];
        match chunk[0] % 6 {
            0 if position < bytes.len() => bytes[position] ^= 1 << (value % 8),
            1 if position < bytes.len() => bytes[position] = value,
            2 => bytes.insert(position.min(bytes.len()), value),
            3 if position < bytes.len() => {
                bytes.remove(position);
            }
            4 => bytes.truncate(position),
            5 if position < bytes.len() => {
                bytes[position] = bytes[position].wrapping_add(value);
            }
            _ => {}
        }
    }
}

fn open_and_exercise(bytes: &[u8]) {
    match Ruleset::from_bytes(bytes) {
        Ok(ruleset) => common::exercise(&ruleset),
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, edits)) = data.split_first() else {
        return;
    };
    let fixtures = fixtures();
    match mode % 4 {
        0 => {
            let fixture = &fixtures[usize::from(mode >> 2) & 1];
            let mut bytes = fixture.bytes.clone();
            edit(&mut bytes, 0, edits);
            open_and_exercise(&bytes);
        }
        1 => {
            let fixture = &fixtures[usize::from(mode >> 2) & 1];
            let bytes = fixture.bytes.clone();
            let Ok(fields) = Header::parse(&bytes[..HEADER_LEN].try_into().unwrap_or([0; HEADER_LEN])) else {
                panic!("set-up: the fixture's header does not parse");
            };
            let index_start = bytes.len() - fields.index_len as usize;
            // Header fields first (as 32 bytes), then the index.
            let edit_header = mode & 8 != 0;
            let (header_edits, index_edits) = if edit_header {
                edits.split_at(edits.len().min(8))
            } else {
                (&[][..], edits)
            };
            let mut header = bytes[Header::SEALED].to_vec();
            edit(&mut header, 0, header_edits);
            header.resize(Header::SEALED.end, 0);
            let mut index = bytes[index_start..].to_vec();
            edit(&mut index, 0, index_edits);
            let mut sealed = header.clone();
            sealed.extend_from_slice(&bytes[32..index_start]);
            // Keep the header's lengths consistent with the damaged index
            // unless the header edits changed them on purpose.
            if !edit_header {
                let fields = Header {
                    payload_len: (sealed.len() - HEADER_LEN + index.len()) as u64,
                    index_len: index.len() as u32,
                    ..fields
                };
                sealed[..HEADER_LEN].copy_from_slice(&fields.to_bytes());
            }
            let mut first = [0u8; HEADER_LEN];
            first.copy_from_slice(&sealed[..HEADER_LEN]);
            sealed[Header::DIGEST].copy_from_slice(&Header::digest_of(&first, &index));
            sealed.extend_from_slice(&index);
            open_and_exercise(&sealed);
        }
        _ => {
            let fixture = &fixtures[usize::from(mode % 4 == 3)];
            let mut encoded = fixture.rules.clone();
            edit(&mut encoded, 0, edits);
            let Ok((rules, _)) =
                bincode::serde::decode_from_slice::<Vec<Rule>, _>(&encoded, codec())
            else {
                return;
            };
            let Ok(bytes) = write_ruleset(&fixture.options, &rules) else {
                return;
            };
            let ruleset = match Ruleset::from_bytes(&bytes) {
                Ok(ruleset) => ruleset,
                Err(e) => panic!("write_ruleset wrote a ruleset from_bytes refuses: {e}"),
            };
            if let Err(e) = ruleset.verify_all() {
                panic!("write_ruleset wrote a ruleset that does not verify: {e}");
            }
            common::exercise(&ruleset);
        }
    }
});
