//! Reproducers for unbounded recursion on deeply nested argument patterns
//! (found while fuzzing; see fuzz/README.md):
//!
//! ```text
//! cargo run --release -p rootwrap-bench --example deep_nesting -- DEPTH DIR
//! ```
//!
//! writes `DIR/deep.rwf`, a filter whose rule nests `[...]` DEPTH levels deep
//! (`rootwrap-compile` overflows its stack from about 5,000 levels), and
//! `DIR/deep.rwc`, a correctly sealed ruleset written with
//! `format::write_ruleset` whose rule for `true` nests `Item::Optional`
//! DEPTH levels deep (`rootwrap DIR/deep.rwc true x` overflows its stack in
//! the matcher from about 50,000 levels, and in the decoder, even for a
//! command the ruleset does not name, from about 200,000). A ruleset or a
//! filter must get a clear error, never an abort.

// why: a developer's reproducer, not shipped; a failed set-up should stop it.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::PathBuf;

use rootwrap::format::write_ruleset;
use rootwrap::types::{Arg, Item};

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(depth), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: deep_nesting DEPTH DIR");
        std::process::exit(2);
    };
    let depth: usize = depth.parse().expect("DEPTH is a number");
    let dir = PathBuf::from(dir);

    let source = format!(
        "ruleset deep\nexec-dirs /usr/bin /bin\nallow deep: true {}x{}\n",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    std::fs::write(dir.join("deep.rwf"), source).unwrap();

    // A small valid ruleset, its one rule's pattern then replaced.
    let bytes = rootwrap_bench::compile_text(
        "deep.rwf",
        "ruleset deep\nexec-dirs /usr/bin /bin\nallow deep: true x\n".to_string(),
    )
    .unwrap();
    let ruleset = rootwrap::format::Ruleset::from_bytes(&bytes).unwrap();
    let options = ruleset.options().clone();
    let mut rules = ruleset.all_rules().unwrap();
    let mut item = Item::One(Arg::Literal("x".into()));
    for _ in 0..depth {
        item = Item::Optional(Box::new(item));
    }
    rules[0].args = vec![item];
    let sealed = write_ruleset(&options, &rules).unwrap();
    std::fs::write(dir.join("deep.rwc"), &sealed).unwrap();
    eprintln!(
        "wrote {0}/deep.rwf and {0}/deep.rwc ({1} bytes), nesting depth {depth}",
        dir.display(),
        sealed.len()
    );
    // Dropping a deeply nested Box chain recurses too.
    std::mem::forget(rules);
}
