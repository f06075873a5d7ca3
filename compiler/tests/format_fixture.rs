//! The ruleset encoding, pinned: the shipped filters compile to a ruleset
//! whose digest (which commits to every byte) is checked in here. A change
//! of this value is a change of the format that existing rulesets, the fuzz
//! seeds and the book describe (an edit of filters/ changes it too).

use rootwrap::format::Ruleset;
use rootwrap_compile::{compile_sources, Sources};

const FILTERS_DIGEST: &str = "b9a7920c9c24a8ab595aba9414230b1c7d87f27dbd817a048cf918cc129b9047";

#[test]
fn the_shipped_filters_compile_to_the_checked_in_digest() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../filters");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".rwf"))
        .collect();
    names.sort();
    // Named as in the repository, not as on this machine: the rules'
    // sources are part of the bytes.
    let texts: Vec<(String, String)> = names
        .iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("filters/{name}: {e}"));
            (format!("filters/{name}"), text)
        })
        .collect();
    let compiled = compile_sources(texts, true, &mut Sources::default())
        .unwrap_or_else(|failed| panic!("{:?}", failed.diagnostics));
    let ruleset = Ruleset::from_bytes(&compiled.bytes).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        ruleset.digest_hex() == FILTERS_DIGEST,
        "the encoding changed: bump the format version, recompile the fuzz seeds, \
         update the ruleset-format chapter (then set FILTERS_DIGEST to {})",
        ruleset.digest_hex()
    );
}
