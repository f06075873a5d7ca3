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

mod header; // the fixed-size header and the digest that seals the file

mod payload; // index, buckets and sections, and bucket placement

pub(crate) mod codec; // the one module that names bincode: payloads and daemon frames

mod writer; // options and rules to ruleset bytes

mod reader; // verified, lazy reading

mod errors; // why a ruleset was refused

pub use errors::RulesetError;
pub use header::{
    Header, Sha256Digest, DFA_FORMAT, FORMAT_VERSION, HEADER_LEN, MAGIC, MAX_RULESET_BYTES,
};
pub use payload::{Index, SectionRef};
pub use reader::{ReadAt, Rules, Ruleset};
pub use writer::{write_ruleset, write_ruleset_with_actions};

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
