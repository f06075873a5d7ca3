//! The review commands (`list`, `info`, `diff`, `test`, `report`), tested
//! on whole outputs: each case runs `rootwrap-compile` in a copy of
//! `review/` (the filter files, the vectors, and the files compiled from
//! them) and what it prints and exits with must equal `review/NAME.out`.
//!
//! `UPDATE_EXPECT=1 cargo test -p rootwrap-compile --test review` writes
//! the expected files from the current output instead (review the diff
//! before committing it).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/review")
}

/// A copy of `review/` with `old.rwc`, `new.rwc`, `packaged.rwc` and
/// `overrides.rwc` (`packaged.rwf` with `site.rwf`) compiled in it (by
/// relative names, so that outputs name no directory of this machine).
fn work_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("rootwrap-review-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        for entry in fs::read_dir(cases_dir()).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        for name in ["old", "new", "packaged", "chain"] {
            let (code, _, stderr) = run(
                &dir,
                &["-o", &format!("{name}.rwc"), &format!("{name}.rwf")],
            );
            assert_eq!(code, 0, "{stderr}");
        }
        // A packaged file narrowed by a site's file (`deny`, `disable`).
        let (code, _, stderr) = run(&dir, &["-o", "overrides.rwc", "packaged.rwf", "site.rwf"]);
        assert_eq!(code, 0, "{stderr}");
        dir
    })
}

fn run(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_rootwrap-compile"))
        .args(args)
        .current_dir(dir)
        .env_remove("CI")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// Runs `args` in the work directory and compares everything it printed,
/// and its exit code, with `review/NAME.out`.
fn case(name: &str, args: &[&str], code: i32) -> String {
    let dir = work_dir();
    let (got, stdout, stderr) = run(dir, args);
    // `explain` warns when the runtime would refuse the file as not root's
    // (a run as another user than root): not what these cases are about.
    let trusted = |text: String| -> String {
        text.lines()
            .filter(|line| !line.starts_with("  warning:  the runtime would refuse this file"))
            .map(|line| format!("{line}\n"))
            .collect()
    };
    let (stdout, stderr) = (trusted(stdout), trusted(stderr));
    let text = format!(
        "$ rootwrap-compile {}\nexit {got}\n--- stdout\n{stdout}--- stderr\n{stderr}",
        args.join(" ")
    )
    .replace(&dir.display().to_string(), "$DIR");
    let expected_path = cases_dir().join(format!("{name}.out"));
    if std::env::var_os("UPDATE_EXPECT").is_some_and(|v| v == "1") {
        fs::write(&expected_path, &text).unwrap();
    } else {
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
        assert!(
            text == expected,
            "{name}: the output differs from {}:\n{text}",
            expected_path.display()
        );
    }
    assert_eq!(got, code, "{name}: {text}");
    stdout
}

#[test]
fn list_shows_every_rule_as_it_reads_back() {
    case("list-source", &["list", "new.rwf"], 0);
    case("list-compiled", &["list", "old.rwc"], 0);
    case("list-actions", &["list", "actions.rwf"], 0);
    // `via CHAIN, ...` reads back as written.
    case("list-via", &["list", "via-new.rwf"], 0);
}

#[test]
fn list_declarations_compile_back_to_the_same_rules() {
    let dir = work_dir();
    for input in ["new.rwf", "actions.rwf", "via-new.rwf"] {
        let (code, stdout, stderr) = run(dir, &["list", "--json", input]);
        assert_eq!(code, 0, "{stderr}");
        let listing: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        let mut text = String::new();
        for line in listing["options"].as_array().unwrap() {
            text.push_str(line.as_str().unwrap());
            text.push('\n');
        }
        for rule in listing["rules"].as_array().unwrap() {
            for line in rule["declaration"].as_array().unwrap() {
                text.push_str(line.as_str().unwrap());
                text.push('\n');
            }
        }
        let again = dir.join(format!("again-{input}"));
        fs::write(&again, &text).unwrap();
        let (code, second, stderr) = run(dir, &["list", "--json", again.to_str().unwrap()]);
        assert_eq!(code, 0, "{input}: {stderr}\n{text}");
        let second: serde_json::Value = serde_json::from_str(&second).unwrap();
        let patterns = |v: &serde_json::Value| -> Vec<(String, String, Vec<serde_json::Value>)> {
            v["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["pattern"].as_str().unwrap().to_string(),
                        r["run_as"].as_str().unwrap().to_string(),
                        r["declaration"].as_array().unwrap().clone(),
                    )
                })
                .collect()
        };
        assert_eq!(patterns(&listing), patterns(&second), "{input}");
        assert_eq!(listing["options"], second["options"], "{input}");
    }
}

#[test]
fn list_json_is_the_documented_schema() {
    let stdout = case("list-json", &["list", "--json", "new.rwf"], 0);
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value["schema"], "rootwrap-list/1");
    let mut fields = Vec::new();
    collect_fields(&value, "", &mut fields);
    fields.sort();
    fields.dedup();
    // `user` and its fields with --user (tests/tests/review_list_user.rs).
    fields.extend([
        "user.name".into(),
        "user.grants".into(),
        "log.syslog.facility".into(),
        "log.syslog.allowed_level".into(),
        "log.syslog.denied_level".into(),
    ]);
    fields.sort();
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/reviewing.md");
    let book = fs::read_to_string(&book).unwrap();
    let section = book
        .split("<!-- list-json-schema -->")
        .nth(1)
        .expect("the book's list --json table, between <!-- list-json-schema --> markers");
    let mut documented: Vec<String> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split('`').next())
        .map(String::from)
        .collect();
    documented.sort();
    assert_eq!(
        fields, documented,
        "book/src/reviewing.md's table and the JSON differ"
    );
}

/// A chained `ip` call no rule for the chained command allows.
const DENIED_CHAIN: [&str; 10] = [
    "ip", "netns", "exec", "qr-1", "ip", "link", "set", "eth0", "mtu", "100000",
];

/// A denied chained command line: the chaining rule whose own arguments
/// match, then every rule for the chained command, closest first, as many
/// as a policy test failure lists and "and N more"; a `via` rule called
/// directly says through which chain it is reached.
#[test]
fn explain_of_a_denied_chain_lists_the_closest_rules() {
    case(
        "explain-chain-denied",
        &[&["explain", "chain.rwc", "--"][..], &DENIED_CHAIN].concat(),
        99,
    );
    case(
        "explain-via-direct",
        &[
            "explain",
            "chain.rwc",
            "--",
            "ip",
            "link",
            "set",
            "eth0",
            "up",
        ],
        99,
    );
    let stdout = case(
        "explain-chain-denied-json",
        &[&["explain", "--json", "chain.rwc", "--"][..], &DENIED_CHAIN].concat(),
        99,
    );
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let chained = value["candidates"][0]["chained"].as_array().unwrap();
    // All of them in JSON, the text shows 8.
    assert_eq!(chained.len(), 11);
    assert_eq!(chained[0]["rule"]["name"], "link-mtu");
}

/// `diff --json`: every field the book documents, and the text diff's
/// exit status.
#[test]
fn diff_json_is_the_documented_schema() {
    let stdout = case("diff-json", &["diff", "--json", "old.rwf", "new.rwf"], 1);
    let value: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(value["schema"], "rootwrap-diff/1");
    assert_eq!(value["grows"], true);
    let (code, narrower, _) = run(work_dir(), &["diff", "--json", "old.rwf", "narrower.rwf"]);
    assert_eq!(code, 0);
    let narrower: serde_json::Value = serde_json::from_str(&narrower).unwrap();
    assert_eq!(narrower["grows"], false);
    let (code, _, _) = run(work_dir(), &["diff", "--json", "old.rwf", "vectors.rwt"]);
    assert_eq!(code, 2);
    assert_documented(&value, "diff-json-schema", &[]);
}

/// The fields of `value` equal the book's table between `<!-- MARKER -->`
/// markers in reviewing.md, with `absent` (fields this value lacks).
fn assert_documented(value: &serde_json::Value, marker: &str, absent: &[&str]) {
    let mut fields = Vec::new();
    collect_fields(value, "", &mut fields);
    fields.extend(absent.iter().map(|f| f.to_string()));
    fields.sort();
    fields.dedup();
    let book = Path::new(env!("CARGO_MANIFEST_DIR")).join("../book/src/reviewing.md");
    let book = fs::read_to_string(&book).unwrap();
    let section = book
        .split(&format!("<!-- {marker} -->"))
        .nth(1)
        .unwrap_or_else(|| panic!("the book's table between <!-- {marker} --> markers"));
    let mut documented: Vec<String> = section
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .filter_map(|line| line.split('`').next())
        .map(String::from)
        .collect();
    documented.sort();
    assert_eq!(
        fields, documented,
        "book/src/reviewing.md's {marker} table and the JSON differ"
    );
}

/// The `<article>` of one rule in a report.
fn article<'a>(page: &'a str, rule: &str) -> &'a str {
    let at = page
        .find(&format!("id=\"rule-{rule}\""))
        .unwrap_or_else(|| panic!("no rule {rule} in the page"));
    let start = page[..at].rfind("<article").unwrap();
    let end = at + page[at..].find("</article>").unwrap();
    &page[start..end]
}

/// `explain --json` and `list --json` share one style: a versioned
/// `schema`, and the same ruleset and rule objects.
#[test]
fn explain_and_list_share_one_schema_style() {
    let dir = work_dir();
    let (_, listed, _) = run(dir, &["list", "--json", "old.rwc"]);
    let (code, explained, stderr) = run(
        dir,
        &["explain", "--json", "old.rwc", "--", "kill", "-HUP", "1"],
    );
    assert_eq!(code, 0, "{stderr}");
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    let explained: serde_json::Value = serde_json::from_str(&explained).unwrap();
    assert_eq!(explained["schema"], "rootwrap-explain/1");
    assert_eq!(listed["ruleset"], explained["ruleset"]);
    let rule = &explained["rule"];
    let same = listed["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == rule["name"])
        .unwrap();
    for (key, value) in rule.as_object().unwrap() {
        assert_eq!(&same[key], value, "{key}");
    }
}

/// Every field's path: `rules[].name`.
fn collect_fields(value: &serde_json::Value, at: &str, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, value) in map {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                out.push(path.clone());
                collect_fields(value, &path, out);
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                collect_fields(item, &format!("{at}[]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn info_summarizes_and_says_what_a_compiled_ruleset_does_not_record() {
    case("info-source", &["info", "new.rwf"], 0);
    case("info-compiled", &["info", "new.rwc"], 0);
    case("info-missing", &["info", "missing.rwc"], 2);
}

#[test]
fn diff_reports_growth_in_words_and_in_its_exit_code() {
    case("diff-grew", &["diff", "old.rwf", "new.rwf"], 1);
    case("diff-narrower", &["diff", "old.rwf", "narrower.rwf"], 0);
    // A compiled ruleset against its own source: nothing changed.
    case("diff-same", &["diff", "old.rwc", "old.rwf"], 0);
    // A rule removed, whose calls a rule for the same command as root may
    // now take (narrower.rwf narrows a root rule before one as photos: no
    // growth).
    case("diff-handover", &["diff", "old.rwf", "handover.rwf"], 1);
    // Options: where commands are found and who may reach the daemon grow
    // privileges; the name, logging and limits do not.
    case("diff-options", &["diff", "old.rwf", "options.rwf"], 1);
    case(
        "diff-options-quiet",
        &["diff", "old.rwf", "options-quiet.rwf"],
        0,
    );
    case("diff-bad-input", &["diff", "old.rwf", "vectors.rwt"], 2);
    // `via` added narrows, removed widens, swapped does both.
    case("diff-via", &["diff", "via-old.rwf", "via-new.rwf"], 1);
}

#[test]
fn vectors_are_checked_against_a_ruleset() {
    case("test-pass", &["test", "old.rwc", "vectors.rwt"], 0);
    case("test-fail", &["test", "new.rwf", "vectors-failing.rwt"], 1);
    case("test-bad", &["test", "old.rwc", "vectors-bad.rwt"], 2);
}

/// A `via` rule's article says which chains reach it, and its declaration
/// reads back with `via`.
#[test]
fn the_report_shows_via() {
    let dir = work_dir();
    let (code, _, stderr) = run(dir, &["report", "via-new.rwf", "-o", "via.html"]);
    assert_eq!(code, 0, "{stderr}");
    let page = fs::read_to_string(dir.join("via.html")).unwrap();
    let link = article(&page, "link-up");
    assert!(
        link.contains(" · reached only through <code>in-router</code>"),
        "{link}"
    );
    assert!(
        link.contains("allow link-up via in-router: ip link set &lt;ifname&gt; up"),
        "{link}"
    );
    assert!(!article(&page, "addr-show").contains("reached only through"));
}

#[test]
fn the_report_is_one_self_contained_page() {
    let dir = work_dir();
    let (code, _, stderr) = run(
        dir,
        &[
            "report",
            "new.rwf",
            "--against",
            "old.rwc",
            "-o",
            "report.html",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stderr, "rootwrap-compile: wrote report.html (12 rules)\n");
    let page = fs::read_to_string(dir.join("report.html")).unwrap();
    // Nothing loaded from elsewhere: no URL, no linked file.
    for outside in ["http:", "https:", "src=", "<link", "url(", "@import"] {
        assert!(!page.contains(outside), "the page holds {outside}");
    }
    assert!(page.contains("<span id=\"rule-count\">12</span>"));
    assert_eq!(page.matches("<article class=\"rule\"").count(), 12);
    // Each rule with its findings and risk.
    let list_dir = article(&page, "list-dir");
    assert!(list_dir.contains("data-risk=\"high\""), "{list_dir}");
    assert!(
        list_dir.contains("warning[any-args]: rule `list-dir` allows any arguments"),
        "{list_dir}"
    );
    let usage = article(&page, "usage");
    assert!(
        usage.contains("data-risk=\"low\"") && !usage.contains("warning["),
        "{usage}"
    );
    assert!(article(&page, "restart").contains("data-risk=\"medium\""));
    assert!(page.contains("<span id=\"test-count\">1</span>"));
    assert!(page.contains("id=\"diff-verdict\" class=\"grows\""));
    assert!(page.contains("new rule `kill-dnsmasq`"));
    // Text from the ruleset is escaped.
    assert!(page.contains("&lt;path /var/lib/**&gt;"));
    // `because` silences a finding in filter files; a compiled ruleset
    // does not record it, so there the finding shows.
    let (code, _, stderr) = run(dir, &["-o", "actions.rwc", "actions.rwf"]);
    assert_eq!(code, 0, "{stderr}");
    for (input, silenced) in [("actions.rwf", true), ("actions.rwc", false)] {
        let (code, _, stderr) = run(dir, &["report", input, "-o", "actions.html"]);
        assert_eq!(code, 0, "{stderr}");
        let page = fs::read_to_string(dir.join("actions.html")).unwrap();
        let rule = article(&page, "qemu-img-create");
        assert_eq!(!rule.contains("warning["), silenced, "{input}: {rule}");
    }
    // It never overwrites an input.
    let (code, _, stderr) = run(dir, &["report", "new.rwf", "-o", "new.rwf"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("new.rwf is one of the inputs"), "{stderr}");
    assert!(fs::read_to_string(dir.join("new.rwf"))
        .unwrap()
        .starts_with("# The photos"));
}

/// Deny rules and disabled rules are listed as such; a new deny or a new
/// `disable` narrows the ruleset, their removal widens it.
#[test]
fn overrides_are_listed_and_diffed() {
    case("list-overrides", &["list", "overrides.rwc"], 0);
    case("info-overrides", &["info", "overrides.rwc"], 0);
    case(
        "list-overrides-json",
        &["list", "--json", "overrides.rwc"],
        0,
    );
    case(
        "diff-overrides",
        &["diff", "packaged.rwc", "overrides.rwc"],
        0,
    );
    case(
        "diff-overrides-gone",
        &["diff", "overrides.rwc", "packaged.rwc"],
        1,
    );
    let dir = work_dir();
    let (code, _, stderr) = run(
        dir,
        &[
            "report",
            "overrides.rwc",
            "--against",
            "packaged.rwc",
            "-o",
            "overrides.html",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    let page = fs::read_to_string(dir.join("overrides.html")).unwrap();
    let deny = article(&page, "no-sda");
    assert!(deny.contains("data-risk=\"low\""), "{deny}");
    assert!(deny.contains("<strong>deny rule</strong>"), "{deny}");
    assert!(deny.contains("deny no-sda: dd"), "{deny}");
    let disabled = article(&page, "cat-logs");
    assert!(
        disabled
            .contains("<strong>disabled</strong> at site.rwf:3: logs are shipped off-host here"),
        "{disabled}"
    );
    assert!(
        page.contains("new deny rule `no-sda`"),
        "the diff is in the page"
    );
}
