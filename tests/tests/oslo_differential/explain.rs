//! The same decisions through `rootwrap-compile explain --json`.

use super::*;

/// A decision reduced to what the comparison with oslo looks at: decision,
/// rule name, executed argv, user.
pub(super) type Reduced = (String, Option<String>, Option<Vec<String>>, Option<String>);

/// What `rootwrap-compile explain --json` reports, reduced to what the
/// comparison with oslo looks at.
pub(super) fn explained(json: &Value) -> Reduced {
    (
        json["decision"].as_str().unwrap_or("").to_string(),
        json["rule"]["name"].as_str().map(str::to_string),
        json["exec"]["checked_argv"]
            .as_array()
            .map(|_| strings(&json["exec"]["checked_argv"])),
        json["exec"]["user"].as_str().map(str::to_string),
    )
}

/// The library's decision in the same shape.
pub(super) fn decided(ruleset: &Ruleset<Vec<u8>>, argv: &[String]) -> Reduced {
    match ruleset.decide(&os(argv), &rootwrap::matcher::OnThisHost) {
        Ok(Decision::Allow(a)) => (
            "allow".into(),
            Some(a.rule.name.clone()),
            Some(
                a.argv_as_checked()
                    .iter()
                    .map(|x| x.to_string_lossy().into_owned())
                    .collect(),
            ),
            Some(a.run_as.user_name().to_string()),
        ),
        Ok(Decision::NotExecutable { rule }) => ("not-found".into(), Some(rule.name), None, None),
        Ok(Decision::Deny { .. }) => ("deny".into(), None, None, None),
        Err(_) => ("bad-ruleset".into(), None, None, None),
    }
}

/// Every command line compared is also put to the real
/// `rootwrap-compile explain --json` on the compiled ruleset file: it must
/// report what the library decided (the comparison above uses the library
/// to stay fast). Runs on a few threads.
pub(super) fn cross_check_explain(jobs: &[(PathBuf, Vec<String>, Reduced)]) {
    let compile = &rootwrap_tests::binaries().compile;
    let chunk = jobs.len().div_ceil(4).max(1);
    let failures: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for (ruleset, argv, expected) in part {
                        let output = Command::new(compile)
                            .args(["explain", "--json"])
                            .arg(ruleset)
                            .arg("--")
                            .args(argv)
                            .output()
                            .unwrap();
                        let json: Value =
                            serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
                        let got = explained(&json);
                        if &got != expected {
                            failures
                                .push(format!("{argv:?}: explain {got:?}, library {expected:?}"));
                        }
                    }
                    failures
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    println!(
        "explain --json cross-check: {} command lines, {} disagreements",
        jobs.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "explain --json disagrees with the library:\n{}",
        failures
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
