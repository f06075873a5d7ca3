//! The fixed-size header: magic, versions, lengths and the digest that
//! seals the file.

use sha2::{Digest, Sha256};

use super::errors::TextKind;
use super::RulesetError;

pub const MAGIC: [u8; 8] = *b"RWRULES\0";
pub const FORMAT_VERSION: u32 = 5;
/// regex-automata 0.4's sparse DFA serialization, little-endian. Changes
/// whenever the pinned regex-automata version's format could.
pub const DFA_FORMAT: u32 = 0x0004_0001;
pub const HEADER_LEN: usize = 64;
/// The largest ruleset either side accepts.
pub const MAX_RULESET_BYTES: u64 = 64 << 20;

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
            return Err(
                TextKind::of(bytes).map_or(RulesetError::BadMagic, RulesetError::NotCompiled)
            );
        }
        #[expect(
            clippy::indexing_slicing,
            reason = "called with the fixed offsets of 4-byte fields within the header"
        )]
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

pub(super) fn sha256(parts: &[&[u8]]) -> Sha256Digest {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}
