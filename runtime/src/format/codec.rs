//! The payload codec. The only module that names bincode, so the encoding can
//! be replaced without touching anything else (bump `FORMAT_VERSION` then).

use serde::{de::DeserializeOwned, Serialize};

/// Upper bound on what one decode may allocate: a corrupted length prefix
/// must fail, not exhaust memory. Equal to the ruleset size cap.
const DECODE_LIMIT: usize = super::header::MAX_RULESET_BYTES as usize;

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<DECODE_LIMIT>()
}

pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
    bincode::serde::encode_to_vec(value, config()).map_err(|e| e.to_string())
}

/// Decodes `bytes` as exactly one `T`: trailing bytes are an error.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|e| e.to_string())?;
    if used != bytes.len() {
        return Err(format!("{} trailing bytes", bytes.len() - used));
    }
    Ok(value)
}
