//! The payload's structures (index, buckets, sections) and where a
//! command's section is placed.

use serde::{Deserialize, Serialize};

use crate::action::Action;
use crate::types::{Options, Rule};

use super::Sha256Digest;

/// The most buckets a command table is split into: keeps the index (read on
/// every call) small while buckets stay short.
pub(super) const MAX_BUCKETS: usize = 256;
pub(super) const COMMANDS_PER_BUCKET: usize = 8;

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
    /// The version of the compiler that wrote the ruleset; empty when the
    /// writer recorded none (tests, fuzzing).
    pub compiler: String,
    pub rule_count: u32,
    pub buckets: Vec<SectionRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Bucket {
    /// Sorted by command spelling.
    pub(super) commands: Vec<(String, SectionRef)>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Section {
    pub(super) rules: Vec<Rule>,
    /// For an action's spelling `@NAME`: its steps (its parameters are its
    /// rule's arguments, in `rules`).
    pub(super) action: Option<Action>,
}

/// FNV-1a: a fixed, dependency-free hash, so bucket placement is part of the
/// format and never changes with a library upgrade.
fn bucket_hash(command: &[u8]) -> u64 {
    command.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

pub(super) fn bucket_of(command: &[u8], buckets: usize) -> usize {
    (bucket_hash(command) % buckets.max(1) as u64) as usize
}
