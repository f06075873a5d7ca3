//! The editor syntaxes (editors/vim, editors/textmate) and the book's
//! highlight.js definition (book/theme/rwf.js) know every word of the
//! language: the grammar's keywords (the `kw_*` rules of grammar/rwf.pest)
//! and the option, type and step names the compiler accepts (taken from its
//! own diagnostics, which list them). A word added to the language and not
//! to a highlighter fails here, so they cannot drift. The language
//! chapter's grammar summary is checked against the same lists.

// A test fails loudly: unwrapping is the point outside #[test] fns too.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::path::Path;

use rootwrap_compile::{compile_sources, Sources};

fn repo_file(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The literals of the grammar's `kw_NAME = @{ "LITERAL" ~ ... }` rules.
fn grammar_keywords() -> Vec<String> {
    let grammar = repo_file("grammar/rwf.pest");
    let keywords: Vec<String> = grammar
        .lines()
        .filter(|line| line.starts_with("kw_"))
        .map(|line| {
            let literal = line
                .split('"')
                .nth(1)
                .unwrap_or_else(|| panic!("no literal in the keyword rule `{line}`"));
            literal.to_string()
        })
        .collect();
    assert!(
        keywords.len() >= 10,
        "found only {keywords:?} in grammar/rwf.pest: has the kw_* rules' form changed?"
    );
    keywords
}

/// The names the compiler lists in the help that starts with `prefix`
/// (comma-separated), among the diagnostics it gives for `text`.
fn listed(text: &str, prefix: &str) -> Vec<String> {
    let mut sources = Sources::default();
    let failed = match compile_sources(vec![("t.rwf".into(), text.into())], false, &mut sources) {
        Ok(_) => panic!("compiled, but should not:\n{text}"),
        Err(failed) => failed,
    };
    let helps: Vec<&str> = failed
        .diagnostics
        .iter()
        .filter_map(|d| d.help.as_deref())
        .collect();
    let list = helps
        .iter()
        .find_map(|help| help.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no help starting `{prefix}` for\n{text}\ngot {helps:?}"));
    list.split(',').map(|w| w.trim().to_string()).collect()
}

// A name far from every known one, so the compiler lists them all instead
// of suggesting one.
const NONSENSE: &str = "qqqqqqqqqqqq";
const HEAD: &str = "ruleset t\nexec-dirs /bin\n";

fn option_names() -> Vec<String> {
    listed(&format!("{HEAD}{NONSENSE} x\n"), "known options: ")
}

fn type_names() -> Vec<String> {
    listed(
        &format!("{HEAD}allow a: /bin/a <{NONSENSE}>\n"),
        "known types: ",
    )
}

fn step_names() -> Vec<String> {
    let steps = listed(
        &format!("{HEAD}action a ():\n    {NONSENSE} x\n"),
        "steps: ",
    );
    // The help is text: each step it lists must be one the compiler knows.
    for step in &steps {
        let mut sources = Sources::default();
        let text = format!("{HEAD}action a ():\n    {step}\n");
        if let Err(failed) = compile_sources(vec![("t.rwf".into(), text)], false, &mut sources) {
            assert!(
                !failed
                    .diagnostics
                    .iter()
                    .any(|d| d.message.starts_with("unknown step")),
                "the compiler lists the step `{step}` but does not know it"
            );
        }
    }
    steps
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Whether `word` occurs in `text` as a whole name. Backslashes are removed
/// first, so that a regular expression's `ip-args\.\.\.` counts.
fn mentions(text: &str, word: &str) -> bool {
    let text = text.replace('\\', "");
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        !before.is_some_and(is_name_char) && !after.is_some_and(is_name_char)
    })
}

/// A kind of word, and where each highlighter lists it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Keyword,
    Option,
    Type,
    Step,
}

/// The places in editors/vim/syntax/rwf.vim that must name every word of
/// `kind`: the words of its `syn keyword GROUP` lines, and the pattern that
/// finds the lines options and steps start.
fn vim_places(kind: Kind) -> Vec<(String, String)> {
    let text = repo_file("editors/vim/syntax/rwf.vim");
    let (group, line_match) = match kind {
        Kind::Keyword => ("rwfKeyword", None),
        Kind::Option => ("rwfOption", Some("rwfOptionLine")),
        Kind::Type => ("rwfTypeName", None),
        Kind::Step => ("rwfStep", Some("rwfStepLine")),
    };
    let keywords: Vec<&str> = text
        .lines()
        .filter(|line| {
            line.split_whitespace()
                .take(3)
                .eq(["syn", "keyword", group])
        })
        .collect();
    let mut places = vec![(format!("`syn keyword {group}`"), keywords.join("\n"))];
    if let Some(name) = line_match {
        let line = text
            .lines()
            .find(|line| line.split_whitespace().take(3).eq(["syn", "match", name]))
            .unwrap_or_else(|| panic!("rwf.vim has no `syn match {name}`"));
        places.push((format!("`syn match {name}`"), line.to_string()));
    }
    places
}

/// The places in editors/textmate/rwf.tmLanguage.json: the patterns that
/// find options, steps and types, and the keywords' pattern.
fn textmate_places(kind: Kind) -> Vec<(String, String)> {
    let grammar: serde_json::Value =
        serde_json::from_str(&repo_file("editors/textmate/rwf.tmLanguage.json")).unwrap();
    let repository = &grammar["repository"];
    let (place, pattern) = match kind {
        Kind::Option => ("option-line begin", &repository["option-line"]["begin"]),
        Kind::Step => ("step-line begin", &repository["step-line"]["begin"]),
        Kind::Type => ("typed begin", &repository["typed"]["begin"]),
        Kind::Keyword => (
            "items' keyword.control.rwf match",
            repository["items"]["patterns"]
                .as_array()
                .and_then(|patterns| patterns.iter().find(|p| p["name"] == "keyword.control.rwf"))
                .map(|p| &p["match"])
                .expect("no keyword.control.rwf pattern in the TextMate grammar's items"),
        ),
    };
    let pattern = pattern
        .as_str()
        .unwrap_or_else(|| panic!("the TextMate grammar has no {place}"));
    vec![(place.to_string(), pattern.to_string())]
}

/// The places in book/theme/rwf.js: its `var NAME = [...]` word lists.
fn highlightjs_places(kind: Kind) -> Vec<(String, String)> {
    let text = repo_file("book/theme/rwf.js");
    let name = match kind {
        Kind::Keyword => "KEYWORDS",
        Kind::Option => "OPTIONS",
        Kind::Type => "TYPES",
        Kind::Step => "STEPS",
    };
    let head = format!("var {name} = [");
    let list = text
        .split_once(&head)
        .and_then(|(_, rest)| rest.split_once("];"))
        .map(|(list, _)| list.to_string())
        .unwrap_or_else(|| panic!("book/theme/rwf.js has no `{head}...];`"));
    vec![(format!("`var {name}`"), list)]
}

/// Where a highlighter lists the words of a kind: (what the place is, its
/// text).
type Places = fn(Kind) -> Vec<(String, String)>;

const HIGHLIGHTERS: &[(&str, Places)] = &[
    ("editors/vim/syntax/rwf.vim", vim_places),
    ("editors/textmate/rwf.tmLanguage.json", textmate_places),
    ("book/theme/rwf.js", highlightjs_places),
];

/// Each place of each highlighter that does not name every one of `words`,
/// and what it misses.
fn missing_from_highlighters(kind: Kind, words: &[String]) -> Vec<String> {
    let mut missing = Vec::new();
    for (file, places) in HIGHLIGHTERS {
        for (place, text) in places(kind) {
            let absent: Vec<&str> = words
                .iter()
                .filter(|w| !mentions(&text, w))
                .map(String::as_str)
                .collect();
            if !absent.is_empty() {
                missing.push(format!(
                    "{file}: {place} lacks the {kind:?} words {absent:?}"
                ));
            }
        }
    }
    missing
}

#[test]
fn highlighters_know_every_keyword_option_type_and_step() {
    let mut missing = Vec::new();
    missing.extend(missing_from_highlighters(
        Kind::Keyword,
        &grammar_keywords(),
    ));
    missing.extend(missing_from_highlighters(Kind::Option, &option_names()));
    missing.extend(missing_from_highlighters(Kind::Type, &type_names()));
    missing.extend(missing_from_highlighters(Kind::Step, &step_names()));
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_compilers_lists_are_read() {
    // The lists the test above checks are the compiler's, not empty ones.
    assert!(option_names().contains(&"exec-dirs".to_string()));
    assert!(type_names().contains(&"ip-args...".to_string()));
    assert!(step_names().contains(&"sysctl".to_string()));
}

#[test]
fn mentions_needs_the_whole_name() {
    assert!(mentions("'path', 'path-entry'", "path-entry"));
    assert!(!mentions("'path-entry'", "path"));
    assert!(!mentions("allowed", "allow"));
    assert!(mentions(r"(?:int|ip-args\.\.\.)", "ip-args..."));
}

/// The language chapter's grammar summary: the ```text block under
/// `## Grammar summary`, and the paragraph after it.
fn grammar_summary() -> String {
    let chapter = repo_file("book/src/language.md");
    let (_, summary) = chapter
        .split_once("\n## Grammar summary\n")
        .expect("book/src/language.md has no `## Grammar summary`");
    match summary.find("\n## ") {
        Some(end) => summary[..end].to_string(),
        None => summary.to_string(),
    }
}

#[test]
fn grammar_summary_has_the_grammars_keywords_and_the_compilers_steps() {
    let summary = grammar_summary();
    let keywords = grammar_keywords();
    for keyword in &keywords {
        assert!(
            summary.contains(&format!("\"{keyword}\"")),
            "the grammar summary in book/src/language.md never uses the keyword \"{keyword}\" \
             of grammar/rwf.pest"
        );
    }
    // The sentence naming the keywords names exactly the grammar's.
    let sentence = summary
        .split_once("The keywords ")
        .and_then(|(_, rest)| rest.split_once(" are keywords only"))
        .map(|(list, _)| list.to_string())
        .expect("the grammar summary no longer says `The keywords ... are keywords only`");
    let mut named: Vec<String> = sentence
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    let mut expected = keywords.clone();
    named.sort();
    expected.sort();
    assert_eq!(
        named, expected,
        "the keywords the grammar summary names are not grammar/rwf.pest's"
    );
    let steps_line = summary
        .lines()
        .find_map(|line| line.strip_prefix("STEP-NAME"))
        .expect("the grammar summary has no STEP-NAME line");
    let summary_steps: Vec<String> = steps_line
        .trim_start()
        .trim_start_matches('=')
        .split('|')
        .map(|s| s.trim().to_string())
        .collect();
    assert_eq!(
        summary_steps,
        step_names(),
        "the grammar summary's STEP-NAME is not the compiler's list of steps"
    );
}
