//! Encoding a ruleset: sections, buckets, index, then the sealed header.

use std::collections::BTreeMap;

use crate::action::Action;
use crate::types::{Options, Rule};

use super::codec;
use super::header::{sha256, Header, HEADER_LEN, MAX_RULESET_BYTES};
use super::payload::{
    bucket_of, Bucket, Index, Section, SectionRef, COMMANDS_PER_BUCKET, MAX_BUCKETS,
};

/// Encodes a ruleset, recording no compiler. Deterministic: the same
/// options and rules give the same bytes.
pub fn write_ruleset(options: &Options, rules: &[Rule]) -> Result<Vec<u8>, String> {
    write_ruleset_with_actions("", options, rules, &[])
}

/// As [`write_ruleset`], with actions: each is stored with the rules for
/// its spelling `@NAME` (its parameters' rule must be among `rules`).
/// `compiler` is the compiler's version, recorded for review (`info`,
/// `list`); empty: not recorded.
pub fn write_ruleset_with_actions(
    compiler: &str,
    options: &Options,
    rules: &[Rule],
    actions: &[(String, Action)],
) -> Result<Vec<u8>, String> {
    let mut by_command: BTreeMap<&str, Vec<Rule>> = BTreeMap::new();
    for rule in rules {
        for selector in rule.selectors() {
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
        let action = actions
            .iter()
            .find(|(name, _)| name == command)
            .map(|(_, action)| action.clone());
        let reference = place(&mut out, codec::encode(&Section { rules, action })?)?;
        #[expect(
            clippy::indexing_slicing,
            reason = "bucket_of is below its second argument, the vector's length"
        )]
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
        compiler: compiler.to_string(),
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
    #[expect(
        clippy::indexing_slicing,
        reason = "`out` starts with the header's HEADER_LEN bytes, zero until now"
    )]
    out[..HEADER_LEN].copy_from_slice(&Header::seal(payload_len, &index)?.to_bytes());
    Ok(out)
}
