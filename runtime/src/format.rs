//! The ruleset file: layout, writing, verification and lazy reading.
//!
//! ```text
//! header (64 bytes)
//!   0..8    magic "RWRULES\0"
//!   8..12   format version (u32 LE)
//!   12..16  DFA format (u32 LE): which regex-automata serialization the DFAs use
//!   16..24  payload length (u64 LE): every byte after the header
//!   24..28  index length (u32 LE)
//!   28..32  reserved, zero
//!   32..64  ruleset digest: SHA-256 of header[0..32] followed by the index
//! payload
//!   sections   one per command spelling: the rules for it, in declaration order
//!   buckets    the command table, split by hash of the command; each entry
//!              names a section with its offset, length and SHA-256
//!   index      ruleset options and the offset, length and SHA-256 of each bucket
//! ```
//!
//! The digest covers the index, the index covers every bucket and the buckets
//! cover every section: one SHA-256 commits to every byte (a hash tree), and it
//! is the ruleset's identity in logs. A call reads and verifies the header, the
//! index, one bucket and one section, so its cost does not grow with the
//! ruleset. Before a call is refused, the whole file is verified
//! ([`Ruleset::verify_all`]) so that damage is reported as damage (exit 97),
//! never as a policy decision.
#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fmt;
use std::io;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::codec;
use crate::types::{Options, Rule};

pub const MAGIC: [u8; 8] = *b"RWRULES\0";
pub const FORMAT_VERSION: u32 = 4;
/// regex-automata 0.4's sparse DFA serialization, little-endian. Changes
/// whenever the pinned regex-automata version's format could.
pub const DFA_FORMAT: u32 = 0x0004_0001;
pub const HEADER_LEN: usize = 64;
/// The largest ruleset either side accepts.
pub const MAX_RULESET_BYTES: u64 = 64 << 20;
/// The most buckets a command table is split into: keeps the index (read on
/// every call) small while buckets stay short.
const MAX_BUCKETS: usize = 256;
const COMMANDS_PER_BUCKET: usize = 8;

pub type Sha256Digest = [u8; 32];

/// The fixed-size header: the one place its layout is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub version: u32,
    pub dfa_format: u32,
    /// Every byte after the header.
    pub payload_len: u64,
    /// The index is the payload's last `index_len` bytes.
    pub index_len: u32,
    /// SHA-256 of the header's first 32 bytes followed by the index.
    pub digest: Sha256Digest,
}

impl Header {
    /// The bytes the digest covers, with the index.
    pub const SEALED: std::ops::Range<usize> = 0..32;
    pub const RESERVED: std::ops::Range<usize> = 28..32;
    pub const DIGEST: std::ops::Range<usize> = 32..64;

    /// A header of this build's format for a payload, its digest computed.
    pub fn seal(payload_len: u64, index: &[u8]) -> Result<Header, String> {
        let mut header = Header {
            version: FORMAT_VERSION,
            dfa_format: DFA_FORMAT,
            payload_len,
            index_len: u32::try_from(index.len()).map_err(|_| "the index exceeds 4 GiB")?,
            digest: [0; 32],
        };
        header.digest = Header::digest_of(&header.to_bytes(), index);
        Ok(header)
    }

    /// The digest a header (as bytes, digest field ignored) and an index
    /// must carry.
    pub fn digest_of(header: &[u8; HEADER_LEN], index: &[u8]) -> Sha256Digest {
        sha256(&[&header[Header::SEALED], index])
    }

    pub fn to_bytes(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        out[0..8].copy_from_slice(&MAGIC);
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        out[12..16].copy_from_slice(&self.dfa_format.to_le_bytes());
        out[16..24].copy_from_slice(&self.payload_len.to_le_bytes());
        out[24..28].copy_from_slice(&self.index_len.to_le_bytes());
        out[Header::DIGEST].copy_from_slice(&self.digest);
        out
    }

    /// Reads the fields, refusing what no ruleset of this build has: other
    /// magic bytes, version or DFA format, reserved bytes set. The lengths
    /// and the digest are the reader's to check against the file.
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Result<Header, RulesetError> {
        if bytes[0..8] != MAGIC {
            return Err(RulesetError::BadMagic);
        }
        let u32_at = |at: usize| {
            u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let version = u32_at(8);
        if version != FORMAT_VERSION {
            return Err(RulesetError::UnknownVersion(version));
        }
        let dfa_format = u32_at(12);
        if dfa_format != DFA_FORMAT {
            return Err(RulesetError::UnknownDfaFormat(dfa_format));
        }
        if bytes[Header::RESERVED].iter().any(|&b| b != 0) {
            return Err(RulesetError::BadHeader("reserved bytes are not zero"));
        }
        let mut payload_len = [0u8; 8];
        payload_len.copy_from_slice(&bytes[16..24]);
        let mut digest = [0u8; 32];
        digest.copy_from_slice(&bytes[Header::DIGEST]);
        Ok(Header {
            version,
            dfa_format,
            payload_len: u64::from_le_bytes(payload_len),
            index_len: u32_at(24),
            digest,
        })
    }
}

/// Where a bucket or section lies in the file, and what it must hash to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionRef {
    pub offset: u64,
    pub len: u32,
    #[serde(with = "digest_bytes")]
    pub sha256: Sha256Digest,
}

/// A digest as one byte string: serde's default for `[u8; 32]` is a tuple
/// of 32 elements, decoded one by one, which made the index of a large
/// ruleset (256 of them) cost tens of microseconds per call.
mod digest_bytes {
    use serde::de::{Error, Visitor};
    use serde::{Deserializer, Serializer};

    use super::Sha256Digest;

    pub fn serialize<S: Serializer>(
        digest: &Sha256Digest,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(digest)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Sha256Digest, D::Error> {
        struct DigestVisitor;
        impl Visitor<'_> for DigestVisitor {
            type Value = Sha256Digest;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("32 bytes")
            }
            fn visit_bytes<E: Error>(self, bytes: &[u8]) -> Result<Sha256Digest, E> {
                bytes
                    .try_into()
                    .map_err(|_| E::invalid_length(bytes.len(), &self))
            }
        }
        deserializer.deserialize_bytes(DigestVisitor)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub options: Options,
    pub rule_count: u32,
    pub buckets: Vec<SectionRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Bucket {
    /// Sorted by command spelling.
    commands: Vec<(String, SectionRef)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Section {
    rules: Vec<Rule>,
}

/// Why a ruleset was refused. Each variant is one line for the operator.
#[derive(Debug)]
pub enum RulesetError {
    /// The path as given is not absolute and canonical (why).
    PathNotCanonical(&'static str),
    Open(io::Error),
    Empty,
    NotRegularFile,
    NotOwnedByRoot {
        uid: u32,
    },
    WritableByOthers {
        mode: u32,
    },
    TooLarge {
        size: u64,
    },
    Truncated {
        expected: u64,
        actual: u64,
    },
    BadMagic,
    UnknownVersion(u32),
    UnknownDfaFormat(u32),
    BadHeader(&'static str),
    DigestMismatch(String),
    Corrupt(String),
    Read(io::Error),
}

impl fmt::Display for RulesetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use RulesetError::*;
        match self {
            PathNotCanonical(why) => write!(
                f,
                "the ruleset path {why}: give it absolute and canonical, as the sudoers line names it"
            ),
            Open(e) => write!(f, "cannot open the ruleset: {e}"),
            Empty => write!(f, "the ruleset is empty (0 bytes)"),
            NotRegularFile => write!(f, "the ruleset is not a regular file"),
            NotOwnedByRoot { uid } => {
                write!(f, "the ruleset is owned by uid {uid}, not by root")
            }
            WritableByOthers { mode } => write!(
                f,
                "the ruleset is writable by group or others (mode {:04o})",
                mode & 0o7777
            ),
            TooLarge { size } => write!(
                f,
                "the ruleset is {size} bytes, more than the {MAX_RULESET_BYTES}-byte limit"
            ),
            Truncated { expected, actual } => write!(
                f,
                "the ruleset is truncated or has trailing data: its header says {expected} bytes, the file has {actual}"
            ),
            BadMagic => write!(f, "not a rootwrap ruleset (bad magic bytes)"),
            UnknownVersion(v) => write!(
                f,
                "the ruleset has format version {v}; this rootwrap reads version {FORMAT_VERSION}: recompile it"
            ),
            UnknownDfaFormat(v) => write!(
                f,
                "the ruleset's regex automata have format {v:#x}; this rootwrap reads {DFA_FORMAT:#x}: recompile it"
            ),
            BadHeader(what) => write!(f, "the ruleset header is invalid: {what}"),
            DigestMismatch(what) => {
                write!(f, "the ruleset is corrupted: checksum mismatch in {what}")
            }
            Corrupt(what) => write!(f, "the ruleset is corrupted: {what}"),
            Read(e) => write!(f, "cannot read the ruleset: {e}"),
        }
    }
}

impl std::error::Error for RulesetError {}

/// Random access to the ruleset's bytes: a file on the privileged path, a
/// buffer in tests, fuzzing and the compiler.
pub trait ReadAt {
    fn size(&self) -> io::Result<u64>;
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()>;
}

impl ReadAt for std::fs::File {
    fn size(&self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(self, buf, offset)
    }
}

impl ReadAt for [u8] {
    fn size(&self) -> io::Result<u64> {
        Ok(self.len() as u64)
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| io::ErrorKind::UnexpectedEof)?;
        let end = start
            .checked_add(buf.len())
            .filter(|&end| end <= self.len())
            .ok_or(io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(&self[start..end]);
        Ok(())
    }
}

impl ReadAt for Vec<u8> {
    fn size(&self) -> io::Result<u64> {
        self.as_slice().size()
    }
    fn read_exact_at(&self, buf: &mut [u8], offset: u64) -> io::Result<()> {
        self.as_slice().read_exact_at(buf, offset)
    }
}

/// FNV-1a: a fixed, dependency-free hash, so bucket placement is part of the
/// format and never changes with a library upgrade.
fn bucket_hash(command: &[u8]) -> u64 {
    command.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

fn bucket_of(command: &[u8], buckets: usize) -> usize {
    (bucket_hash(command) % buckets.max(1) as u64) as usize
}

fn sha256(parts: &[&[u8]]) -> Sha256Digest {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Encodes a ruleset. Deterministic: the same options and rules give the
/// same bytes.
pub fn write_ruleset(options: &Options, rules: &[Rule]) -> Result<Vec<u8>, String> {
    let mut by_command: BTreeMap<&str, Vec<Rule>> = BTreeMap::new();
    for rule in rules {
        for selector in rule.command.selectors() {
            by_command.entry(selector).or_default().push(rule.clone());
        }
    }
    for section in by_command.values_mut() {
        section.sort_by_key(|rule| rule.id);
    }

    let mut out = vec![0u8; HEADER_LEN];
    let place = |out: &mut Vec<u8>, bytes: Vec<u8>| -> Result<SectionRef, String> {
        let reference = SectionRef {
            offset: out.len() as u64,
            len: u32::try_from(bytes.len()).map_err(|_| "a section exceeds 4 GiB".to_string())?,
            sha256: sha256(&[&bytes]),
        };
        out.extend_from_slice(&bytes);
        Ok(reference)
    };

    let bucket_count = by_command
        .len()
        .div_ceil(COMMANDS_PER_BUCKET)
        .next_power_of_two()
        .clamp(1, MAX_BUCKETS);
    let mut buckets = vec![
        Bucket {
            commands: Vec::new()
        };
        bucket_count
    ];
    for (command, rules) in by_command {
        let reference = place(&mut out, codec::encode(&Section { rules })?)?;
        buckets[bucket_of(command.as_bytes(), bucket_count)]
            .commands
            .push((command.to_string(), reference));
    }
    let mut bucket_refs = Vec::with_capacity(bucket_count);
    for bucket in &buckets {
        bucket_refs.push(place(&mut out, codec::encode(bucket)?)?);
    }
    let index = codec::encode(&Index {
        options: options.clone(),
        rule_count: u32::try_from(rules.len()).map_err(|_| "too many rules".to_string())?,
        buckets: bucket_refs,
    })?;
    out.extend_from_slice(&index);

    let payload_len = (out.len() - HEADER_LEN) as u64;
    if out.len() as u64 > MAX_RULESET_BYTES {
        return Err(format!(
            "the ruleset would be {} bytes, more than the {MAX_RULESET_BYTES}-byte limit",
            out.len()
        ));
    }
    out[..HEADER_LEN].copy_from_slice(&Header::seal(payload_len, &index)?.to_bytes());
    Ok(out)
}

/// An opened, header- and index-verified ruleset. Buckets and sections are
/// read and verified on demand.
pub struct Ruleset<R: ReadAt + ?Sized> {
    source: Box<R>,
    digest: Sha256Digest,
    index: Index,
    index_offset: u64,
    file_len: u64,
}

impl<R: ReadAt + ?Sized> fmt::Debug for Ruleset<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ruleset")
            .field("digest", &hex(&self.digest))
            .field("index", &self.index)
            .finish()
    }
}

impl<R: ReadAt + ?Sized> Ruleset<R> {
    /// Verifies the header and the index of a ruleset.
    pub fn from_source(source: Box<R>) -> Result<Self, RulesetError> {
        let file_len = source.size().map_err(RulesetError::Read)?;
        Self::from_source_of_len(source, file_len)
    }

    /// As `from_source`, for a caller that already knows the length (the
    /// runtime has just `fstat`ed the file).
    pub fn from_source_of_len(source: Box<R>, file_len: u64) -> Result<Self, RulesetError> {
        if file_len > MAX_RULESET_BYTES {
            return Err(RulesetError::TooLarge { size: file_len });
        }
        if file_len == 0 {
            return Err(RulesetError::Empty);
        }
        if file_len < HEADER_LEN as u64 {
            if file_len < MAGIC.len() as u64 || !starts_with_magic(&*source)? {
                return Err(RulesetError::BadMagic);
            }
            return Err(RulesetError::Truncated {
                expected: HEADER_LEN as u64,
                actual: file_len,
            });
        }
        let mut header = [0u8; HEADER_LEN];
        source
            .read_exact_at(&mut header, 0)
            .map_err(RulesetError::Read)?;
        let parsed = Header::parse(&header)?;
        let payload_len = parsed.payload_len;
        let expected = payload_len.saturating_add(HEADER_LEN as u64);
        if expected != file_len {
            return Err(RulesetError::Truncated {
                expected,
                actual: file_len,
            });
        }
        let index_len = u64::from(parsed.index_len);
        if index_len == 0 || index_len > payload_len {
            return Err(RulesetError::BadHeader("index length out of range"));
        }
        let index_offset = file_len - index_len;
        let index_bytes = read_range(&*source, index_offset, index_len)?;
        let digest = Header::digest_of(&header, &index_bytes);
        if digest != parsed.digest {
            return Err(RulesetError::DigestMismatch(
                "the header or the index".into(),
            ));
        }
        let index: Index = codec::decode(&index_bytes)
            .map_err(|e| RulesetError::Corrupt(format!("index: {e}")))?;
        if index.buckets.is_empty() {
            return Err(RulesetError::Corrupt("index has no buckets".into()));
        }
        let ruleset = Ruleset {
            source,
            digest,
            index,
            index_offset,
            file_len,
        };
        for bucket in &ruleset.index.buckets {
            ruleset.check_bounds(bucket, "a bucket")?;
        }
        Ok(ruleset)
    }

    /// The ruleset's identity: SHA-256 over its header and index, which
    /// commit to every other byte.
    pub fn digest(&self) -> &Sha256Digest {
        &self.digest
    }

    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }

    pub fn options(&self) -> &Options {
        &self.index.options
    }

    pub fn rule_count(&self) -> u32 {
        self.index.rule_count
    }

    /// The rules a caller's argv[0] selects, in declaration order; empty
    /// when no rule names that command.
    pub fn rules_for(&self, command: &[u8]) -> Result<Vec<Rule>, RulesetError> {
        let which = bucket_of(command, self.index.buckets.len());
        let bucket = self.read_bucket(which)?;
        let found = bucket
            .commands
            .binary_search_by(|(name, _)| name.as_bytes().cmp(command));
        match found {
            Ok(position) => {
                let (name, reference) = &bucket.commands[position];
                Ok(self.read_section(name, reference)?.rules)
            }
            Err(_) => Ok(Vec::new()),
        }
    }

    /// Every command spelling in the ruleset with its rules, sorted by
    /// spelling. Verifies everything it reads.
    pub fn all_commands(&self) -> Result<Vec<(String, Vec<Rule>)>, RulesetError> {
        let mut all = Vec::new();
        for which in 0..self.index.buckets.len() {
            for (name, reference) in self.read_bucket(which)?.commands {
                let rules = self.read_section(&name, &reference)?.rules;
                all.push((name, rules));
            }
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(all)
    }

    /// Every rule once, in declaration order.
    pub fn all_rules(&self) -> Result<Vec<Rule>, RulesetError> {
        let mut rules: BTreeMap<u32, Rule> = BTreeMap::new();
        for (_, section) in self.all_commands()? {
            for rule in section {
                rules.entry(rule.id).or_insert(rule);
            }
        }
        Ok(rules.into_values().collect())
    }

    /// Verifies every byte: each bucket and section against its digest, and
    /// that together with the index they tile the payload exactly.
    pub fn verify_all(&self) -> Result<(), RulesetError> {
        let mut ranges: Vec<(u64, u64)> = vec![(self.index_offset, self.file_len)];
        for (which, bucket_ref) in self.index.buckets.iter().enumerate() {
            ranges.push((
                bucket_ref.offset,
                bucket_ref.offset + u64::from(bucket_ref.len),
            ));
            for (name, reference) in self.read_bucket(which)?.commands {
                self.read_section(&name, &reference)?;
                ranges.push((
                    reference.offset,
                    reference.offset + u64::from(reference.len),
                ));
            }
        }
        ranges.sort_unstable();
        ranges.dedup();
        let mut next = HEADER_LEN as u64;
        for (start, end) in ranges {
            if start != next {
                return Err(RulesetError::Corrupt(format!(
                    "unaccounted bytes at offset {next}"
                )));
            }
            next = end;
        }
        if next != self.file_len {
            return Err(RulesetError::Corrupt(format!(
                "unaccounted bytes at offset {next}"
            )));
        }
        Ok(())
    }

    fn check_bounds(&self, reference: &SectionRef, what: &str) -> Result<(), RulesetError> {
        let end = reference.offset.checked_add(u64::from(reference.len));
        match end {
            Some(end) if reference.offset >= HEADER_LEN as u64 && end <= self.index_offset => {
                Ok(())
            }
            _ => Err(RulesetError::Corrupt(format!(
                "{what} lies outside the payload"
            ))),
        }
    }

    fn read_verified(&self, reference: &SectionRef, what: &str) -> Result<Vec<u8>, RulesetError> {
        self.check_bounds(reference, what)?;
        let bytes = read_range(&*self.source, reference.offset, u64::from(reference.len))?;
        if sha256(&[&bytes]) != reference.sha256 {
            return Err(RulesetError::DigestMismatch(what.to_string()));
        }
        Ok(bytes)
    }

    fn read_bucket(&self, which: usize) -> Result<Bucket, RulesetError> {
        let what = format!("command table bucket {which}");
        let reference = self.index.buckets[which];
        let bytes = self.read_verified(&reference, &what)?;
        let bucket: Bucket =
            codec::decode(&bytes).map_err(|e| RulesetError::Corrupt(format!("{what}: {e}")))?;
        let sorted = bucket.commands.windows(2).all(|w| w[0].0 < w[1].0);
        let placed = bucket
            .commands
            .iter()
            .all(|(name, _)| bucket_of(name.as_bytes(), self.index.buckets.len()) == which);
        if !sorted || !placed {
            return Err(RulesetError::Corrupt(format!("{what} is out of order")));
        }
        Ok(bucket)
    }

    fn read_section(&self, command: &str, reference: &SectionRef) -> Result<Section, RulesetError> {
        let what = format!("the rules for `{command}`");
        let bytes = self.read_verified(reference, &what)?;
        codec::decode(&bytes).map_err(|e| RulesetError::Corrupt(format!("{what}: {e}")))
    }
}

impl Ruleset<[u8]> {
    /// Reads a ruleset held in memory (compiler, tests, fuzzing).
    pub fn from_bytes(bytes: &[u8]) -> Result<Ruleset<Vec<u8>>, RulesetError> {
        Ruleset::from_source(Box::new(bytes.to_vec()))
    }
}

fn starts_with_magic<R: ReadAt + ?Sized>(source: &R) -> Result<bool, RulesetError> {
    let mut magic = [0u8; 8];
    source
        .read_exact_at(&mut magic, 0)
        .map_err(RulesetError::Read)?;
    Ok(magic == MAGIC)
}

fn read_range<R: ReadAt + ?Sized>(
    source: &R,
    offset: u64,
    len: u64,
) -> Result<Vec<u8>, RulesetError> {
    let len = usize::try_from(len).map_err(|_| RulesetError::Corrupt("length overflow".into()))?;
    let mut buf = vec![0u8; len];
    source
        .read_exact_at(&mut buf, offset)
        .map_err(RulesetError::Read)?;
    Ok(buf)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{Command, Rest, RunAs, Source};

    fn rule(id: u32, command: &str) -> Rule {
        let command = if command.starts_with('/') {
            Command::Path(command.into())
        } else {
            Command::Name(command.into())
        };
        Rule {
            id,
            name: format!("r{id}"),
            source: Source {
                file: "t.rwf".into(),
                line: id + 1,
            },
            command,
            sha256: None,
            run_as: RunAs::Root,
            env: Vec::new(),
            args: Vec::new(),
            rest: Rest::Exact,
        }
    }

    fn options() -> Options {
        Options {
            name: "t".into(),
            exec_dirs: vec!["/bin".into()],
            ..Options::default()
        }
    }

    #[test]
    fn every_command_is_found_in_its_bucket() {
        let mut rules: Vec<Rule> = (0..500)
            .map(|i| rule(i, &format!("cmd{}", i % 300)))
            .collect();
        rules.push(rule(500, "/usr/bin/cmd7"));
        let bytes = write_ruleset(&options(), &rules).unwrap();
        let ruleset = Ruleset::from_bytes(&bytes).unwrap();
        assert!(ruleset.index.buckets.len() > 1);
        ruleset.verify_all().unwrap();
        for i in 0..300 {
            let found = ruleset.rules_for(format!("cmd{i}").as_bytes()).unwrap();
            let ids: Vec<u32> = found.iter().map(|r| r.id).collect();
            let mut expected: Vec<u32> = (0..500).filter(|id| id % 300 == i).collect();
            if i == 7 {
                expected.push(500);
            }
            assert_eq!(ids, expected, "cmd{i}");
        }
        assert_eq!(ruleset.rules_for(b"/usr/bin/cmd7").unwrap().len(), 1);
        assert!(ruleset.rules_for(b"missing").unwrap().is_empty());
        assert_eq!(ruleset.all_rules().unwrap(), rules);
        assert_eq!(ruleset.rule_count(), 501);
    }

    #[test]
    fn damage_is_detected_where_it_is() {
        let rules: Vec<Rule> = (0..40).map(|i| rule(i, &format!("cmd{i}"))).collect();
        let bytes = write_ruleset(&options(), &rules).unwrap();
        let ruleset = Ruleset::from_bytes(&bytes).unwrap();
        let index_offset = ruleset.index_offset as usize;

        let flip = |at: usize| {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x40;
            damaged
        };
        assert!(matches!(
            Ruleset::from_bytes(&flip(0)),
            Err(RulesetError::BadMagic)
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(8)),
            Err(RulesetError::UnknownVersion(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(12)),
            Err(RulesetError::UnknownDfaFormat(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(16)),
            Err(RulesetError::Truncated { .. })
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(40)),
            Err(RulesetError::DigestMismatch(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&flip(index_offset + 3)),
            Err(RulesetError::DigestMismatch(_))
        ));
        assert!(matches!(
            Ruleset::from_bytes(&bytes[..bytes.len() - 1]),
            Err(RulesetError::Truncated { .. })
        ));
        assert!(matches!(
            Ruleset::from_bytes(&bytes[..10]),
            Err(RulesetError::Truncated { .. })
        ));
        assert!(matches!(
            Ruleset::from_bytes(b"garbage"),
            Err(RulesetError::BadMagic)
        ));
        assert!(matches!(Ruleset::from_bytes(b""), Err(RulesetError::Empty)));

        // A damaged section passes the cheap open, is caught when its command
        // is looked up, and by the full verification that precedes a denial.
        let damaged = flip(HEADER_LEN + 2);
        let opened = Ruleset::from_bytes(&damaged).unwrap();
        assert!(matches!(
            opened.verify_all(),
            Err(RulesetError::DigestMismatch(_))
        ));
        let hit = (0..40).any(|i| opened.rules_for(format!("cmd{i}").as_bytes()).is_err());
        assert!(hit, "some command's section must fail its digest");
    }

    #[test]
    fn encoding_is_deterministic() {
        let rules: Vec<Rule> = (0..100).map(|i| rule(i, &format!("c{}", i % 17))).collect();
        assert_eq!(
            write_ruleset(&options(), &rules),
            write_ruleset(&options(), &rules)
        );
    }

    #[test]
    fn nesting_beyond_the_bound_is_corrupt_not_a_stack_overflow() {
        use crate::types::{Arg, Item, MAX_NESTING};
        let nest = |depth: usize| {
            let mut item = Item::One(Arg::Literal("x".into()));
            for _ in 0..depth {
                item = Item::Optional(Box::new(item));
            }
            let mut r = rule(0, "deep");
            r.args = vec![item];
            write_ruleset(&options(), &[r]).unwrap()
        };
        let fine = Ruleset::from_bytes(&nest(MAX_NESTING)).unwrap();
        assert_eq!(fine.rules_for(b"deep").unwrap().len(), 1);
        // Encoding, cloning and dropping recurse too: 1000 levels is what a
        // test thread can build, and far past the bound.
        for depth in [MAX_NESTING + 1, 1000] {
            let deep = Ruleset::from_bytes(&nest(depth)).unwrap();
            assert!(matches!(
                deep.rules_for(b"deep"),
                Err(RulesetError::Corrupt(_))
            ));
            assert!(matches!(deep.verify_all(), Err(RulesetError::Corrupt(_))));
        }
    }
}
