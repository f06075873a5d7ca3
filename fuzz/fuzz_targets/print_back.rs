//! Every rule the compiler accepts prints back (`Rule::pattern_text`, the
//! text `explain`, error notes and the importer show) as a filter line that
//! compiles to the very same rule. A printer that drops a flag, forgets to
//! quote a keyword or renders a group the grammar reads otherwise shows here
//! as two different rules.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rootwrap::display::literal;
use rootwrap::format::Ruleset;
use rootwrap::types::{Options, Rule, Source};
use rootwrap_compile::{compile_sources, Sources};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut sources = Sources::default();
    let Ok(compiled) = compile_sources(
        vec![("fuzz.rwf".to_string(), text.to_string())],
        false,
        &mut sources,
    ) else {
        return;
    };
    let Ok(ruleset) = Ruleset::from_bytes(&compiled.bytes) else {
        panic!("the compiler wrote a ruleset its runtime refuses");
    };
    let Ok(rules) = ruleset.all_rules() else {
        panic!("the compiler wrote rules its runtime cannot read");
    };
    // An action's rule (`@NAME`) is declared by its `action` block, not by
    // a rule line: only rules print back as one line each.
    let rules: Vec<Rule> = rules.into_iter().filter(|r| !is_action(r)).collect();
    let printed = print_back(ruleset.options(), &rules);
    let mut again_sources = Sources::default();
    let again = match compile_sources(
        vec![("printed.rwf".to_string(), printed.clone())],
        false,
        &mut again_sources,
    ) {
        Ok(again) => again,
        Err(failed) => {
            let errors: Vec<String> = failed
                .diagnostics
                .iter()
                .map(|d| again_sources.render(d))
                .collect();
            panic!(
                "the printed rules do not compile:\n{printed}\n{}",
                errors.join("\n")
            );
        }
    };
    let Ok(reread) = Ruleset::from_bytes(&again.bytes).and_then(|r| r.all_rules()) else {
        panic!("the recompiled ruleset does not open");
    };

    assert_eq!(rules.len(), reread.len(), "{printed}");
    for (first, second) in rules.iter().zip(&reread) {
        assert_eq!(
            without_site(first),
            without_site(second),
            "printed as:\n{printed}"
        );
    }
});

/// The rules as a filter file of their own: the options rules depend on
/// (`exec-dirs`), then one `allow` or `deny` line per rule, in order (a
/// single file holds no `disable` of its own rules).
fn print_back(options: &Options, rules: &[Rule]) -> String {
    let mut out = format!("ruleset {}\n", literal(&options.name));
    if !options.exec_dirs.is_empty() {
        let dirs: Vec<String> = options.exec_dirs.iter().map(|d| literal(d)).collect();
        out.push_str(&format!("exec-dirs {}\n", dirs.join(" ")));
    }
    for rule in rules {
        let keyword = if rule.is_deny() { "deny" } else { "allow" };
        out.push_str(&format!(
            "{keyword} {}: {}\n",
            rule.head_text(),
            rule.pattern_text()
        ));
    }
    out
}

fn is_action(rule: &Rule) -> bool {
    rule.command.as_str().starts_with('@')
}

/// A rule apart from where it was written.
fn without_site(rule: &Rule) -> Rule {
    Rule {
        source: Source {
            file: String::new(),
            line: 0,
        },
        ..rule.clone()
    }
}
