//! Lower bounds on the deliberate differences, by category.

use super::*;

/// A stricter category without its `(a later rule allows)` qualifier.
pub(super) fn base_category(category: &str) -> &str {
    category
        .strip_suffix(" (a later rule allows)")
        .unwrap_or(category)
}

/// Lower bounds on the deliberate differences (command lines oslo allows
/// and rootwrap refuses, by category): a change that makes rootwrap laxer,
/// closer to oslo, where it is stricter on purpose fails the test, as one
/// that makes it laxer than oslo does. Each row: category, floor over the
/// whole corpus and the synthetic file, floor over the synthetic file
/// alone (what runs without `../shared`). The floors sit a little below
/// the counts measured with oslo.rootwrap 7.10.0, so that a host's
/// programs and paths may move them slightly.
pub(super) const STRICTER_FLOORS: &[(&str, usize, usize)] = &[
    // measured (7.10.0, 63 corpus files + synthetic): whole / synthetic
    ("argv0-regex", 4, 4),                  // 4 / 4
    ("chain-path", 85, 11),                 // 91 / 12
    ("env-pinned", 130, 0),                 // 138 / 0
    ("ip-batch", 48, 3),                    // 51 / 3
    ("ip-netns-exec", 16, 1),               // 17 / 1
    ("ip-vrf-exec", 16, 1),                 // 17 / 1
    ("netns-name", 135, 8),                 // 142 / 8
    ("path-lookahead", 4, 1),               // 4 / 1
    ("path-prefix", 2, 1),                  // 2 / 1
    ("pid-syntax", 9, 2),                   // 10 / 2
    ("pinned-path", 55, 10),                // 65 / 13 (depends on the host's paths)
    ("refused:env-command", 27, 0),         // 29 / 0
    ("refused:env-forbidden", 12, 12),      // 12 / 12
    ("refused:nonsense-filter", 19, 0),     // 20 / 0
    ("refused:path-unrepresentable", 8, 0), // 9 / 0
    ("refused:regex-unsupported", 10, 6),   // 10 / 6
    ("regex-alternation", 2, 2),            // 2 / 2
    ("regex-newline", 350, 22),             // 365 / 22
    ("unicode-class", 22, 4),               // 24 / 4
];

/// Without the corpus, the synthetic file alone must still compare this
/// many command lines.
pub(super) const SYNTHETIC_MIN_COMPARED: usize = 350; // measured: 386

/// The categories of `floors` with fewer command lines in `counts` than
/// their floor, described.
pub(super) fn below_floors<'a>(
    counts: &BTreeMap<String, usize>,
    floors: impl Iterator<Item = (&'a str, usize)>,
) -> Vec<String> {
    floors
        .filter_map(|(category, floor)| {
            let n = counts.get(category).copied().unwrap_or(0);
            (n < floor)
                .then(|| format!("  {category}: {n} command lines, at least {floor} expected"))
        })
        .collect()
}

#[test]
pub(super) fn a_category_below_its_floor_is_reported() {
    let counts: BTreeMap<String, usize> = [("regex-newline".to_string(), 349)].into();
    assert_eq!(
        below_floors(&counts, [("regex-newline", 350)].into_iter()),
        ["  regex-newline: 349 command lines, at least 350 expected"]
    );
    assert!(below_floors(&counts, [("regex-newline", 349)].into_iter()).is_empty());
    // A category that vanished entirely is below its floor too.
    assert_eq!(
        below_floors(&counts, [("ip-batch", 1)].into_iter()).len(),
        1
    );
}
