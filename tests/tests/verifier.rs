//! The runtime's ruleset verification, through the real `rootwrap` binary
//! run as root: every kind of untrusted or damaged ruleset is refused with
//! exit 97, one line saying which, and nothing run. Then the same damage
//! through the library, `Ruleset::from_bytes`, by error variant.
//!
//! Layout of a ruleset with one command (runtime/src/format/header.rs):
//! header (64 bytes) | the command's section | bucket 0 | index.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::os::unix::fs::chown;
use std::path::{Path, PathBuf};
use std::process::Command;

use rootwrap::format::{Header, Ruleset, RulesetError, HEADER_LEN, MAX_RULESET_BYTES};
use rootwrap_compile::{compile_sources, Sources};
use rootwrap_tests::{binaries, require_root, run, set_mode, Scratch};
use sha2::{Digest, Sha256};

/// A ruleset whose one rule touches `marker`: a refused call must leave it
/// absent.
fn ruleset_bytes(marker: &Path) -> Vec<u8> {
    let source = format!(
        "ruleset verifier\nexec-dirs /usr/bin /bin\nallow mark: touch re\".*/{}\"\n",
        marker.file_name().unwrap().to_str().unwrap()
    );
    let compiled = compile_sources(
        vec![("verifier.rwf".into(), source)],
        true,
        &mut Sources::default(),
    )
    .unwrap_or_else(|failed| panic!("{:?}", failed.diagnostics));
    compiled.bytes
}

fn header(bytes: &[u8]) -> Header {
    Header::parse(bytes[..HEADER_LEN].try_into().unwrap()).unwrap()
}

/// `bytes` with its header's fields changed by `edit`, the digest left as
/// it was.
fn with_header(mut bytes: Vec<u8>, edit: impl FnOnce(&mut Header)) -> Vec<u8> {
    let mut fields = header(&bytes);
    edit(&mut fields);
    bytes[..HEADER_LEN].copy_from_slice(&fields.to_bytes());
    bytes
}

fn index_len(bytes: &[u8]) -> usize {
    header(bytes).index_len as usize
}

/// Offsets of one byte in each part of the file.
fn index_byte(bytes: &[u8]) -> usize {
    bytes.len() - index_len(bytes) + 1
}
fn bucket_byte(bytes: &[u8]) -> usize {
    bytes.len() - index_len(bytes) - 1
}
const SECTION_BYTE: usize = HEADER_LEN + 1;
const RESERVED_BYTE: usize = Header::RESERVED.start + 1;
const DIGEST_BYTE: usize = Header::DIGEST.start + 8;

fn flip(mut bytes: Vec<u8>, at: usize) -> Vec<u8> {
    bytes[at] ^= 0x01;
    bytes
}

fn with_version(bytes: Vec<u8>, version: u32) -> Vec<u8> {
    with_header(bytes, |h| h.version = version)
}

fn with_dfa_format(bytes: Vec<u8>, format: u32) -> Vec<u8> {
    with_header(bytes, |h| h.dfa_format = format)
}

/// `bytes` with the header's digest computed again over the index.
fn resealed(bytes: Vec<u8>) -> Vec<u8> {
    let start = bytes.len() - index_len(&bytes);
    let digest = Header::digest_of(bytes[..HEADER_LEN].try_into().unwrap(), &bytes[start..]);
    with_header(bytes, |h| h.digest = digest)
}

/// A damaged index with a header digest that matches it: what a forger who
/// knows the format would write. Decoding must still fail cleanly.
fn forged_index(mut bytes: Vec<u8>) -> Vec<u8> {
    let start = bytes.len() - index_len(&bytes);
    bytes[start..].fill(0xff);
    resealed(bytes)
}

/// The rules for `touch` with their regex automaton damaged, and the hash
/// tree sealed over them again: what a faulty compiler would write. The
/// section's digest is replaced in the bucket, the bucket's in the index,
/// and the header's digest recomputed.
fn damaged_automaton(mut bytes: Vec<u8>) -> Vec<u8> {
    let sha = |part: &[u8]| -> [u8; 32] { Sha256::digest(part).into() };
    let index_start = bytes.len() - index_len(&bytes);
    // Header | section | bucket | index: the section ends where the bucket
    // naming its digest begins.
    let section_end = (HEADER_LEN + 1..index_start)
        .find(|&end| {
            let digest = sha(&bytes[HEADER_LEN..end]);
            bytes[end..index_start].windows(32).any(|w| w == digest)
        })
        .unwrap();
    let old_section = sha(&bytes[HEADER_LEN..section_end]);
    let old_bucket = sha(&bytes[section_end..index_start]);
    // A serialized DFA starts with its label; its format version follows
    // the padded label and an endianness check.
    let label = b"rust-regex-automata-dfa-sparse";
    let dfa = bytes[HEADER_LEN..section_end]
        .windows(label.len())
        .position(|w| w == label)
        .unwrap()
        + HEADER_LEN;
    bytes[dfa + 32 + 4] ^= 0xff;
    let replace =
        |bytes: &mut Vec<u8>, range: std::ops::Range<usize>, old: [u8; 32], new: [u8; 32]| {
            let at = bytes[range.clone()]
                .windows(32)
                .position(|w| w == old)
                .unwrap()
                + range.start;
            bytes[at..at + 32].copy_from_slice(&new);
        };
    let new_section = sha(&bytes[HEADER_LEN..section_end]);
    replace(
        &mut bytes,
        section_end..index_start,
        old_section,
        new_section,
    );
    let new_bucket = sha(&bytes[section_end..index_start]);
    let end = bytes.len();
    replace(&mut bytes, index_start..end, old_bucket, new_bucket);
    resealed(bytes)
}

/// Deterministic noise.
fn garbage(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// What a case does to the ruleset file before the call.
enum Damage {
    None,
    /// Replaces the file's bytes.
    Bytes(fn(Vec<u8>) -> Vec<u8>),
    Mode(u32),
    Owner(u32),
    Missing,
    Directory,
    /// A sparse file of this length.
    Length(u64),
}

/// Writes the (damaged) ruleset into a new directory, calls `rootwrap
/// RULESET touch MARKER` as root and returns the exit code, the reason given
/// (stderr without the `rootwrap: PATH: ` prefix) and whether the marker was
/// created.
fn call(damage: Damage) -> (i32, String, bool) {
    let scratch = Scratch::new("rootwrap-verifier");
    let marker = scratch.join("ran");
    let ruleset: PathBuf = scratch.join("ruleset.rwc");
    let bytes = ruleset_bytes(&marker);
    let mode = match damage {
        Damage::Mode(mode) => mode,
        _ => 0o644,
    };
    match damage {
        Damage::None => fs::write(&ruleset, &bytes).unwrap(),
        Damage::Bytes(damage) => fs::write(&ruleset, damage(bytes)).unwrap(),
        Damage::Mode(_) => fs::write(&ruleset, &bytes).unwrap(),
        Damage::Owner(uid) => {
            fs::write(&ruleset, &bytes).unwrap();
            chown(&ruleset, Some(uid), None).unwrap();
        }
        Damage::Missing => {}
        Damage::Directory => fs::create_dir(&ruleset).unwrap(),
        Damage::Length(len) => fs::File::create(&ruleset).unwrap().set_len(len).unwrap(),
    }
    if ruleset.is_file() {
        set_mode(&ruleset, mode);
    }
    let ran = run(Command::new(&binaries().rootwrap)
        .env_clear()
        .arg(&ruleset)
        .arg("touch")
        .arg(&marker));
    let prefix = format!("rootwrap: {}: ", ruleset.display());
    let reason = ran
        .stderr
        .strip_prefix(&prefix)
        .unwrap_or(&ran.stderr)
        .to_string();
    (ran.code, reason, marker.exists())
}

/// Calls with `damage` and checks the refusal: exit 97, one line, nothing
/// run, and a reason containing `says`. Returns the reason.
#[track_caller]
fn refused(damage: Damage, says: &str) -> String {
    let (code, reason, ran) = call(damage);
    assert_eq!(code, 97, "{reason}");
    assert!(!ran, "the command ran despite: {reason}");
    assert_eq!(reason.lines().count(), 1, "not one line: {reason:?}");
    assert!(
        reason.contains(says),
        "expected {says:?} in the reason: {reason}"
    );
    reason.trim_end().to_string()
}

#[test]
fn an_intact_ruleset_runs_the_command() {
    require_root!();
    let (code, reason, ran) = call(Damage::None);
    assert_eq!((code, ran), (0, true), "{reason}");
}

#[test]
fn missing() {
    require_root!();
    refused(Damage::Missing, "cannot open the ruleset");
}

#[test]
fn a_directory() {
    require_root!();
    refused(Damage::Directory, "not a regular file");
}

#[test]
fn not_owned_by_root() {
    require_root!();
    refused(Damage::Owner(65534), "owned by uid 65534, not by root");
}

#[test]
fn group_writable() {
    require_root!();
    refused(
        Damage::Mode(0o664),
        "writable by group or others (mode 0664)",
    );
}

#[test]
fn world_writable() {
    require_root!();
    refused(
        Damage::Mode(0o646),
        "writable by group or others (mode 0646)",
    );
}

#[test]
fn too_large() {
    require_root!();
    refused(
        Damage::Length(MAX_RULESET_BYTES + 1),
        "more than the 67108864-byte limit",
    );
}

#[test]
fn truncated() {
    require_root!();
    let reason = refused(
        Damage::Bytes(|bytes| bytes[..bytes.len() - 7].to_vec()),
        "truncated",
    );
    assert!(reason.contains("the file has"), "{reason}");
}

#[test]
fn truncated_within_the_header() {
    require_root!();
    refused(
        Damage::Bytes(|bytes| bytes[..40].to_vec()),
        "header says 64 bytes, the file has 40",
    );
}

#[test]
fn trailing_data() {
    require_root!();
    refused(
        Damage::Bytes(|mut bytes| {
            bytes.extend_from_slice(b"xyz");
            bytes
        }),
        "has trailing data",
    );
}

#[test]
fn a_flipped_byte_in_the_header() {
    require_root!();
    refused(
        Damage::Bytes(|bytes| flip(bytes, RESERVED_BYTE)),
        "the ruleset header is invalid",
    );
    refused(Damage::Bytes(|bytes| flip(bytes, 0)), "bad magic bytes");
    // The stored digest commits to the header and the index together: a
    // damaged digest and a damaged index cannot be told apart.
    refused(
        Damage::Bytes(|bytes| flip(bytes, DIGEST_BYTE)),
        "checksum mismatch in the header or the index",
    );
}

#[test]
fn a_flipped_byte_in_the_index() {
    require_root!();
    refused(
        Damage::Bytes(|bytes| {
            let at = index_byte(&bytes);
            flip(bytes, at)
        }),
        "checksum mismatch in the header or the index",
    );
}

#[test]
fn a_forged_index_with_a_matching_digest() {
    require_root!();
    refused(Damage::Bytes(forged_index), "corrupted: index:");
}

#[test]
fn a_flipped_byte_in_the_command_table() {
    require_root!();
    refused(
        Damage::Bytes(|bytes| {
            let at = bucket_byte(&bytes);
            flip(bytes, at)
        }),
        "checksum mismatch in command table bucket 0",
    );
}

#[test]
fn a_flipped_byte_in_a_section() {
    require_root!();
    refused(
        Damage::Bytes(|bytes| flip(bytes, SECTION_BYTE)),
        "checksum mismatch in the rules for `touch`",
    );
}

/// A sealed ruleset whose automaton is unusable is damage (97), not a
/// denial: each regex is validated when its section is decoded.
#[test]
fn a_damaged_automaton_under_a_valid_seal() {
    require_root!();
    refused(
        Damage::Bytes(damaged_automaton),
        "a regex automaton is unusable: unsupported version",
    );
}

#[test]
fn library_refuses_a_damaged_automaton_under_a_valid_seal() {
    let ruleset = from_bytes(&damaged_automaton(library_bytes())).unwrap();
    assert!(matches!(
        ruleset.rules_for(b"touch"),
        Err(RulesetError::Corrupt(_))
    ));
    assert!(matches!(
        ruleset.verify_all(),
        Err(RulesetError::Corrupt(_))
    ));
}

#[test]
fn a_wrong_format_version() {
    require_root!();
    refused(
        Damage::Bytes(|bytes| with_version(bytes, 1)),
        &format!(
            "format version 1; this rootwrap reads version {}",
            rootwrap::format::FORMAT_VERSION
        ),
    );
}

#[test]
fn a_wrong_dfa_format() {
    require_root!();
    refused(
        Damage::Bytes(|bytes| with_dfa_format(bytes, 0x0005_0001)),
        "regex automata have format 0x50001",
    );
}

#[test]
fn garbage_bytes() {
    require_root!();
    refused(Damage::Bytes(|_| garbage(4096)), "bad magic bytes");
}

/// Text given as the ruleset is named, with what to run instead.
#[test]
fn an_oslo_or_filter_file_instead_of_a_ruleset() {
    require_root!();
    refused(
        Damage::Bytes(|_| {
            b"# Configuration for nova-rootwrap\n\n[DEFAULT]\nfilters_path=/etc/nova/rootwrap.d\n".to_vec()
        }),
        "this is an oslo.rootwrap file (rootwrap.conf or .filters): use `rootwrap-compile import-oslo`",
    );
    refused(
        Damage::Bytes(|_| b"[Filters]\nkill: KillFilter, root, /bin/kill\n".to_vec()),
        "use `rootwrap-compile import-oslo`",
    );
    refused(
        Damage::Bytes(|_| b"ruleset t\nexec-dirs /bin\nallow ls: ls\n".to_vec()),
        "this is a filter file (.rwf): compile it",
    );
}

#[test]
fn an_empty_file() {
    require_root!();
    refused(Damage::Bytes(|_| Vec::new()), "");
}

/// Every kind of refusal the issue lists gets its own message.
#[test]
fn each_refusal_has_its_own_message() {
    require_root!();
    let cases: Vec<(&str, Damage)> = vec![
        ("missing", Damage::Missing),
        ("directory", Damage::Directory),
        ("not owned by root", Damage::Owner(65534)),
        ("group-writable", Damage::Mode(0o664)),
        ("world-writable", Damage::Mode(0o646)),
        ("too large", Damage::Length(MAX_RULESET_BYTES + 1)),
        (
            "truncated",
            Damage::Bytes(|bytes| bytes[..bytes.len() - 7].to_vec()),
        ),
        (
            "header byte",
            Damage::Bytes(|bytes| flip(bytes, RESERVED_BYTE)),
        ),
        (
            "index byte",
            Damage::Bytes(|bytes| {
                let at = index_byte(&bytes);
                flip(bytes, at)
            }),
        ),
        ("forged index", Damage::Bytes(forged_index)),
        (
            "command table byte",
            Damage::Bytes(|bytes| {
                let at = bucket_byte(&bytes);
                flip(bytes, at)
            }),
        ),
        (
            "section byte",
            Damage::Bytes(|bytes| flip(bytes, SECTION_BYTE)),
        ),
        (
            "wrong version",
            Damage::Bytes(|bytes| with_version(bytes, 1)),
        ),
        (
            "wrong DFA format",
            Damage::Bytes(|bytes| with_dfa_format(bytes, 0x0005_0001)),
        ),
        ("garbage", Damage::Bytes(|_| garbage(4096))),
    ];
    assert_distinct(cases);
}

/// An empty file is not garbage: it deserves its own message (typically a
/// failed copy or a full disk).
#[test]
fn an_empty_file_has_its_own_message() {
    require_root!();
    assert_distinct(vec![
        ("garbage", Damage::Bytes(|_| garbage(4096))),
        ("empty", Damage::Bytes(|_| Vec::new())),
    ]);
}

fn assert_distinct(cases: Vec<(&str, Damage)>) {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for (case, damage) in cases {
        let (code, reason, ran) = call(damage);
        assert_eq!((code, ran), (97, false), "{case}: {reason}");
        if let Some((other, _)) = seen.iter().find(|(_, r)| *r == reason) {
            panic!("{case} and {other} give the same message: {reason}");
        }
        seen.push((case, reason));
    }
}

// The library: the same damage, by error variant. No root needed.

fn library_bytes() -> Vec<u8> {
    ruleset_bytes(Path::new("/nonexistent/rootwrap-verifier-marker"))
}

fn from_bytes(bytes: &[u8]) -> Result<Ruleset<Vec<u8>>, RulesetError> {
    Ruleset::from_bytes(bytes)
}

#[test]
fn library_accepts_the_intact_ruleset() {
    let ruleset = from_bytes(&library_bytes()).unwrap();
    ruleset.verify_all().unwrap();
    assert_eq!(ruleset.rules_for(b"touch").unwrap().len(), 1);
    assert!(ruleset.rules_for(b"cat").unwrap().is_empty());
}

/// A file that holds the header and nothing else is cut short of the
/// size that header declares, not of the header's own.
#[test]
fn library_refuses_a_lone_header_by_the_size_it_declares() {
    let bytes = library_bytes();
    let len = bytes.len() as u64;
    assert!(matches!(
        from_bytes(&bytes[..HEADER_LEN]).unwrap_err(),
        RulesetError::Truncated { expected, actual }
            if expected == len && actual == HEADER_LEN as u64
    ));
}

#[test]
fn library_refuses_a_bad_header_by_variant() {
    let bytes = library_bytes();
    let len = bytes.len() as u64;
    let error = |bytes: &[u8]| from_bytes(bytes).unwrap_err();

    assert!(matches!(error(&garbage(4096)), RulesetError::BadMagic));
    assert!(matches!(
        error(&flip(bytes.clone(), 3)),
        RulesetError::BadMagic
    ));
    assert!(matches!(
        error(&bytes[..40]),
        RulesetError::Truncated {
            expected: 64,
            actual: 40
        }
    ));
    let short = &bytes[..bytes.len() - 7];
    assert!(matches!(
        error(short),
        RulesetError::Truncated { expected, actual } if expected == len && actual == len - 7
    ));
    let mut long = bytes.clone();
    long.push(0);
    assert!(matches!(
        error(&long),
        RulesetError::Truncated { expected, actual } if expected == len && actual == len + 1
    ));
    assert!(matches!(
        error(&with_version(bytes.clone(), 1)),
        RulesetError::UnknownVersion(1)
    ));
    assert!(matches!(
        error(&with_dfa_format(bytes.clone(), 7)),
        RulesetError::UnknownDfaFormat(7)
    ));
    assert!(matches!(
        error(&flip(bytes.clone(), RESERVED_BYTE)),
        RulesetError::BadHeader(_)
    ));
    let no_index = with_header(bytes.clone(), |h| h.index_len = 0);
    assert!(matches!(error(&no_index), RulesetError::BadHeader(_)));
    let huge_index = with_header(bytes.clone(), |h| h.index_len = u32::MAX);
    assert!(matches!(error(&huge_index), RulesetError::BadHeader(_)));
    assert!(matches!(
        error(&flip(bytes.clone(), DIGEST_BYTE)),
        RulesetError::DigestMismatch(_)
    ));
}

#[test]
fn library_refuses_a_damaged_index_by_variant() {
    let bytes = library_bytes();
    let at = index_byte(&bytes);
    assert!(matches!(
        from_bytes(&flip(bytes.clone(), at)).unwrap_err(),
        RulesetError::DigestMismatch(_)
    ));
    assert!(matches!(
        from_bytes(&forged_index(bytes)).unwrap_err(),
        RulesetError::Corrupt(_)
    ));
}

/// Buckets and sections are verified when read: opening succeeds (only the
/// header and the index are read), reading the damaged part fails.
#[test]
fn library_refuses_a_damaged_bucket_or_section_when_read() {
    let bytes = library_bytes();
    let at = bucket_byte(&bytes);
    for damaged in [flip(bytes.clone(), at), flip(bytes, SECTION_BYTE)] {
        let ruleset = from_bytes(&damaged).unwrap();
        assert!(matches!(
            ruleset.rules_for(b"touch").unwrap_err(),
            RulesetError::DigestMismatch(_)
        ));
        assert!(matches!(
            ruleset.verify_all().unwrap_err(),
            RulesetError::DigestMismatch(_)
        ));
    }
}
