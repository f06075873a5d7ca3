//! The oslo.rootwrap conformance data (`oslo.conf` beside this file): its
//! parser and the scratch fixture its placeholders name (a directory tree
//! with symlinks, running processes). Shared by compiler/tests/conformance.rs
//! (the matcher) and tests/tests/conformance_runtime.rs (the real binary),
//! which include this file as a module. The format is documented at the top
//! of `oslo.conf`.

#![allow(dead_code, reason = "each including test uses a part of this module")]

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

use rootwrap::matcher::{Decision, Mismatch};
use rootwrap::types::Rule;
use rootwrap_compile::syntax::unescape;

/// The exec dirs of a row that names none: oslo's sample `exec_dirs`.
pub const DEFAULT_EXEC_DIRS: &str = "/usr/sbin /usr/bin /sbin /bin";
/// The rows of section 4 of the spec.
pub const SPEC_ROWS: u32 = 143;

/// One word of a case or run line, and whether any of it was quoted (a
/// quoted `|`, `:` or `=>` is an argument, not syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Word {
    pub text: String,
    pub quoted: bool,
}

/// Splits on spaces; `"..."` (anywhere in a word) takes the filter
/// language's escapes.
pub fn words(text: &str) -> Result<Vec<Word>, String> {
    let mut out = Vec::new();
    let mut chars = text.trim().chars().peekable();
    loop {
        while chars.peek() == Some(&' ') || chars.peek() == Some(&'\t') {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(out);
        }
        let mut word = Word {
            text: String::new(),
            quoted: false,
        };
        while let Some(&c) = chars.peek() {
            if c == ' ' || c == '\t' {
                break;
            }
            chars.next();
            if c != '"' {
                word.text.push(c);
                continue;
            }
            word.quoted = true;
            let mut body = String::new();
            let mut escaped = false;
            let mut closed = false;
            for c in chars.by_ref() {
                if c == '"' && !escaped {
                    closed = true;
                    break;
                }
                escaped = c == '\\' && !escaped;
                body.push(c);
            }
            if !closed {
                return Err(format!("unclosed quote in `{text}`"));
            }
            let body = unescape(&body).map_err(|(_, why)| format!("{why} in `{text}`"))?;
            word.text.push_str(&body);
        }
        out.push(word);
    }
}

/// What `Ruleset::decide` must answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// Denied; with `deny: REASON`, for a reason that contains REASON (see
    /// [`deny_reason`]).
    Deny(Option<String>),
    NotFound(String),
    Allow {
        rule: String,
        via: Option<String>,
        exec: Option<Exec>,
    },
}

/// What an allowed call executes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exec {
    pub argv: Vec<String>,
    /// Variables besides PATH, in order.
    pub env: Vec<(String, String)>,
    pub user: String,
}

#[derive(Debug, Clone)]
pub struct Case {
    pub line: usize,
    pub text: String,
    pub argv: Vec<OsString>,
    pub expected: Expected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Through {
    /// `rootwrap RULESET ARGV`, run by root with an empty environment.
    Direct,
    /// `sudo -n rootwrap RULESET ARGV`, run by root.
    Sudo,
    /// Under `/bin/sh -c '"$@"; exit $?'`: the status a shell reports.
    Shell,
}

#[derive(Debug, Clone)]
pub struct Run {
    pub line: usize,
    pub text: String,
    pub argv: Vec<String>,
    pub stdin: Option<String>,
    pub exit: Option<i32>,
    pub signal: Option<i32>,
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub through: Through,
}

/// A `row N` (or, before sets are applied, a `set NAME`) entry.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub number: u32,
    pub line: usize,
    pub oslo: Vec<String>,
    pub rwf: Vec<String>,
    pub exec_dirs: Option<String>,
    pub uses: Option<String>,
    pub cases: Vec<Case>,
    pub runs: Vec<Run>,
    pub differs: Vec<String>,
    pub oslo_result: Option<String>,
    pub notes: Vec<String>,
    pub skip: Option<String>,
    pub bug: Option<String>,
}

impl Row {
    /// The complete filter file of the row.
    pub fn source(&self) -> String {
        let mut text = format!(
            "# oslo.conf row {}\nruleset conformance-row-{}\nexec-dirs {}\n",
            self.number,
            self.number,
            self.exec_dirs.as_deref().unwrap_or(DEFAULT_EXEC_DIRS)
        );
        for line in &self.rwf {
            text.push_str(line);
            text.push('\n');
        }
        text
    }
}

/// The parsed data: rows in number order.
#[derive(Debug)]
pub struct Conformance {
    pub rows: Vec<Row>,
}

impl Conformance {
    pub fn covered(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.skip.is_none())
    }

    pub fn skipped(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter().filter(|r| r.skip.is_some())
    }
}

/// Replaces each `@NAME@` placeholder.
pub fn substitute(text: &str, placeholders: &[(String, String)]) -> String {
    let mut text = text.to_string();
    for (name, value) in placeholders {
        text = text.replace(name.as_str(), value);
    }
    text
}

const KEYS: &[&str] = &[
    "oslo",
    "rwf",
    "exec-dirs",
    "use",
    "case",
    "run",
    "differs",
    "oslo-result",
    "note",
    "skip",
    "bug",
];

/// Parses the data (placeholders already substituted) and checks its shape:
/// every row of the spec exactly once, in order, sets defined before use.
pub fn parse(text: &str) -> Result<Conformance, String> {
    let mut sets: BTreeMap<String, Row> = BTreeMap::new();
    let mut rows: Vec<Row> = Vec::new();
    // The entry being read: a row, or a set by name.
    let mut current: Option<(Option<String>, Row)> = None;
    let finish = |entry: Option<(Option<String>, Row)>,
                  sets: &mut BTreeMap<String, Row>,
                  rows: &mut Vec<Row>|
     -> Result<(), String> {
        match entry {
            None => Ok(()),
            Some((Some(name), set)) => {
                if sets.insert(name.clone(), set).is_some() {
                    return Err(format!("set {name} is defined twice"));
                }
                Ok(())
            }
            Some((None, row)) => {
                rows.push(resolve(row, sets)?);
                Ok(())
            }
        }
    };
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = |why: String| format!("oslo.conf:{line}: {why}");
        if let Some(number) = trimmed.strip_prefix("row ") {
            finish(current.take(), &mut sets, &mut rows).map_err(at)?;
            let number: u32 = number
                .trim()
                .parse()
                .map_err(|_| at(format!("bad row number in `{trimmed}`")))?;
            current = Some((
                None,
                Row {
                    number,
                    line,
                    ..Row::default()
                },
            ));
            continue;
        }
        if let Some(name) = trimmed.strip_prefix("set ") {
            finish(current.take(), &mut sets, &mut rows).map_err(at)?;
            current = Some((
                Some(name.trim().to_string()),
                Row {
                    line,
                    ..Row::default()
                },
            ));
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            return Err(at(format!("expected `key: value`, found `{trimmed}`")));
        };
        let key = key.trim();
        let value = value.trim().to_string();
        if !KEYS.contains(&key) {
            return Err(at(format!("unknown key `{key}`")));
        }
        let Some((_, row)) = current.as_mut() else {
            return Err(at("a field before any `row` or `set`".into()));
        };
        match key {
            "oslo" => row.oslo.push(value),
            "rwf" => row.rwf.push(value),
            "exec-dirs" => row.exec_dirs = Some(value),
            "use" => row.uses = Some(value),
            "case" => row.cases.push(parse_case(line, &value).map_err(at)?),
            "run" => row.runs.push(parse_run(line, &value).map_err(at)?),
            "differs" => row
                .differs
                .extend(value.split_whitespace().map(str::to_string)),
            "oslo-result" => row.oslo_result = Some(value),
            "note" => row.notes.push(value),
            "skip" => row.skip = Some(value),
            "bug" => row.bug = Some(value),
            _ => unreachable!("checked against KEYS"),
        }
    }
    finish(current.take(), &mut sets, &mut rows)?;
    for (i, row) in rows.iter().enumerate() {
        let expected = i as u32 + 1;
        if row.number != expected {
            return Err(format!(
                "oslo.conf:{}: row {} where row {expected} was expected (every row of the spec, once, in order)",
                row.line, row.number
            ));
        }
    }
    if rows.len() as u32 != SPEC_ROWS {
        return Err(format!(
            "oslo.conf lists {} rows, the spec has {SPEC_ROWS}",
            rows.len()
        ));
    }
    Ok(Conformance { rows })
}

/// Applies a row's `use:` and checks that its fields fit together.
fn resolve(mut row: Row, sets: &BTreeMap<String, Row>) -> Result<Row, String> {
    let n = row.number;
    if let Some(skip) = &row.skip {
        let empty = row.oslo.is_empty()
            && row.rwf.is_empty()
            && row.cases.is_empty()
            && row.runs.is_empty()
            && row.differs.is_empty();
        if !empty || skip.is_empty() {
            return Err(format!(
                "row {n}: a skipped row has a reason and nothing else"
            ));
        }
        return Ok(row);
    }
    if let Some(name) = &row.uses {
        let set = sets
            .get(name)
            .ok_or_else(|| format!("row {n}: `use: {name}` names no set defined above"))?;
        let mut rwf = set.rwf.clone();
        rwf.append(&mut row.rwf);
        row.rwf = rwf;
        if row.exec_dirs.is_none() {
            row.exec_dirs.clone_from(&set.exec_dirs);
        }
    }
    if row.oslo.is_empty() {
        return Err(format!("row {n}: no `oslo:` filter"));
    }
    if row.cases.is_empty() {
        return Err(format!("row {n}: no `case:`"));
    }
    if row.differs.is_empty() != row.oslo_result.is_none() {
        return Err(format!(
            "row {n}: `differs:` and `oslo-result:` go together"
        ));
    }
    Ok(row)
}

/// One `ARGV => EXPECTED` line (of oslo.conf or a golden file).
pub fn parse_case(line: usize, text: &str) -> Result<Case, String> {
    let all = words(text)?;
    let split = all
        .iter()
        .position(|w| w.text == "=>" && !w.quoted)
        .ok_or_else(|| format!("no `=>` in case `{text}`"))?;
    let (argv_words, expected_words) = (&all[..split], &all[split + 1..]);
    let argv = parse_argv(argv_words);
    let expected = parse_expected(expected_words).map_err(|why| format!("{why} in `{text}`"))?;
    Ok(Case {
        line,
        text: text.to_string(),
        argv,
        expected,
    })
}

fn parse_argv(words: &[Word]) -> Vec<OsString> {
    match words {
        [only] if only.text == "[]" && !only.quoted => Vec::new(),
        _ => words.iter().map(|w| OsString::from(&w.text)).collect(),
    }
}

fn bare(word: Option<&Word>) -> Option<&str> {
    word.filter(|w| !w.quoted).map(|w| w.text.as_str())
}

fn parse_expected(words: &[Word]) -> Result<Expected, String> {
    match (bare(words.first()), words.len()) {
        (Some("deny"), 1) => return Ok(Expected::Deny(None)),
        (Some("deny:"), n) if n >= 2 => {
            let reason: Vec<&str> = words[1..].iter().map(|w| w.text.as_str()).collect();
            return Ok(Expected::Deny(Some(reason.join(" "))));
        }
        (Some("not-found"), 2) => return Ok(Expected::NotFound(words[1].text.clone())),
        (Some("allow"), n) if n >= 2 => {}
        _ => {
            return Err(
                "expected `deny`, `deny: REASON`, `not-found RULE` or `allow RULE ...`".into(),
            )
        }
    }
    let rule = words[1].text.clone();
    let mut rest = &words[2..];
    let mut via = None;
    if bare(rest.first()) == Some("via") {
        let leaf = rest.get(1).ok_or("`via` without a rule")?;
        via = Some(leaf.text.clone());
        rest = &rest[2..];
    }
    if rest.is_empty() {
        return Ok(Expected::Allow {
            rule,
            via,
            exec: None,
        });
    }
    if bare(rest.first()) != Some(":") {
        return Err(format!("unexpected `{}` after the rule", rest[0].text));
    }
    let mut parts = rest[1..].split(|w| w.text == "|" && !w.quoted);
    let argv: Vec<String> = parts
        .next()
        .unwrap_or_default()
        .iter()
        .map(|w| w.text.clone())
        .collect();
    if argv.is_empty() {
        return Err("an empty executed argv".into());
    }
    let mut exec = Exec {
        argv,
        env: Vec::new(),
        user: "root".into(),
    };
    for part in parts {
        match (bare(part.first()), part.len()) {
            (Some("env"), n) if n >= 2 => {
                for assignment in &part[1..] {
                    let (name, value) = assignment
                        .text
                        .split_once('=')
                        .ok_or_else(|| format!("`{}` is not NAME=VALUE", assignment.text))?;
                    exec.env.push((name.to_string(), value.to_string()));
                }
            }
            (Some("as"), 2) => exec.user = part[1].text.clone(),
            _ => return Err("expected `| env NAME=VALUE...` or `| as USER`".into()),
        }
    }
    Ok(Expected::Allow {
        rule,
        via,
        exec: Some(exec),
    })
}

fn parse_run(line: usize, text: &str) -> Result<Run, String> {
    let all = words(text)?;
    let split = all
        .iter()
        .position(|w| w.text == "=>" && !w.quoted)
        .ok_or_else(|| format!("no `=>` in run `{text}`"))?;
    let mut argv_words = &all[..split];
    let mut stdin = None;
    if let Some(here) = argv_words.iter().position(|w| w.text == "<<<" && !w.quoted) {
        if here + 2 != argv_words.len() {
            return Err(format!("`<<< STDIN` must end the command line in `{text}`"));
        }
        stdin = Some(argv_words[here + 1].text.clone());
        argv_words = &argv_words[..here];
    }
    let mut run = Run {
        line,
        text: text.to_string(),
        argv: argv_words.iter().map(|w| w.text.clone()).collect(),
        stdin,
        exit: None,
        signal: None,
        stdout: None,
        stderr: None,
        through: Through::Direct,
    };
    for word in &all[split + 1..] {
        let (key, value) = word
            .text
            .split_once('=')
            .ok_or_else(|| format!("`{}` is not key=value in `{text}`", word.text))?;
        let number = || {
            value
                .parse::<i32>()
                .map_err(|_| format!("`{value}` is not a number in `{text}`"))
        };
        match key {
            "exit" => run.exit = Some(number()?),
            "signal" => run.signal = Some(number()?),
            "stdout" => run.stdout = Some(value.to_string()),
            "stderr" => run.stderr = Some(value.to_string()),
            "through" => {
                run.through = match value {
                    "sudo" => Through::Sudo,
                    "shell" => Through::Shell,
                    other => return Err(format!("unknown `through={other}` in `{text}`")),
                }
            }
            other => return Err(format!("unknown outcome `{other}` in `{text}`")),
        }
    }
    if run.exit.is_some() == run.signal.is_some() {
        return Err(format!(
            "a run expects exactly one of exit= or signal= in `{text}`"
        ));
    }
    Ok(run)
}

/// A command line in the data's notation.
pub fn show_argv(argv: &[OsString]) -> String {
    if argv.is_empty() {
        return "[]".into();
    }
    argv.iter()
        .map(|a| shown(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The decision in the data file's notation, complete.
pub fn describe(decision: &Decision) -> String {
    match decision {
        Decision::Deny { tried } => format!("deny: {}", deny_reason(tried)),
        Decision::NotExecutable { rule } => format!("not-found {}", rule.name),
        Decision::Allow(allowed) => {
            let mut text = format!("allow {}", allowed.rule.name);
            if let Some(leaf) = &allowed.chained {
                text.push_str(&format!(" via {}", leaf.name));
            }
            text.push_str(" : ");
            text.push_str(&show_argv(&allowed.argv));
            let env: Vec<String> = allowed
                .env
                .iter()
                .filter(|(name, _)| name != "PATH")
                .map(|(name, value)| shown(&format!("{name}={}", value.to_string_lossy())))
                .collect();
            if !env.is_empty() {
                text.push_str(&format!(" | env {}", env.join(" ")));
            }
            if allowed.run_as.user_name() != "root" {
                text.push_str(&format!(" | as {}", allowed.run_as.user_name()));
            }
            text
        }
    }
}

/// `None` when the decision is the expected one, else why not.
pub fn compare(case: &Case, decision: &Decision, exec_dirs: &[String]) -> Option<String> {
    let got = describe(decision);
    let mismatch = |detail: &str| Some(format!("got {got}{detail}"));
    match (&case.expected, decision) {
        (Expected::Deny(None), Decision::Deny { .. }) => None,
        (Expected::Deny(Some(reason)), Decision::Deny { tried }) => {
            if deny_reason(tried).contains(reason.as_str()) {
                None
            } else {
                mismatch(" (denied for another reason)")
            }
        }
        (Expected::NotFound(rule), Decision::NotExecutable { rule: got_rule })
            if *rule == got_rule.name =>
        {
            None
        }
        (Expected::Allow { rule, via, exec }, Decision::Allow(allowed)) => {
            if allowed.rule.name != *rule {
                return mismatch("");
            }
            let leaf = allowed.chained.as_ref().map(|r| r.name.clone());
            if leaf != *via {
                return mismatch(" (a different chained rule)");
            }
            let path: Vec<&OsString> = allowed
                .env
                .iter()
                .filter(|(name, _)| name == "PATH")
                .map(|(_, value)| value)
                .collect();
            if path != [&OsString::from(exec_dirs.join(":"))] {
                return mismatch(" (PATH must be the exec dirs, once)");
            }
            let Some(exec) = exec else { return None };
            // Pinned paths compare as the paths that were checked.
            let argv: Vec<String> = allowed
                .argv_as_checked()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let env: Vec<(String, String)> = allowed
                .env
                .iter()
                .filter(|(name, _)| name != "PATH")
                .map(|(name, value)| {
                    let value = allowed.as_checked(value);
                    (name.clone(), value.to_string_lossy().into_owned())
                })
                .collect();
            if argv != exec.argv
                || env != exec.env
                || allowed.run_as.user_name() != exec.user
                || allowed.executable.as_os_str() != allowed.argv[0].as_os_str()
            {
                return mismatch("");
            }
            None
        }
        _ => mismatch(""),
    }
}

/// Why the matcher denied a call: each rule it tried, with its mismatch;
/// `no rule for the command` when no rule names the command (or the
/// command line is empty).
pub fn deny_reason(tried: &[(Rule, Mismatch)]) -> String {
    if tried.is_empty() {
        return "no rule for the command".into();
    }
    tried
        .iter()
        .map(|(rule, why)| format!("rule `{}`: {why}", rule.name))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The data file, read from the compiler crate's tests.
pub fn data_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("compiler/tests/conformance/oslo.conf")
}

/// The differences chapter, whose anchors `differs:` names.
pub fn differences_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("book/src/differences.md")
}

/// The scratch tree and processes that the placeholders name. Everything is
/// removed and killed when dropped.
#[derive(Debug)]
pub struct Fixture {
    pub root: PathBuf,
    pub placeholders: Vec<(String, String)>,
    children: Vec<Child>,
    /// Keeps the `cat` process waiting on its stdin.
    _cat_stdin: Option<ChildStdin>,
}

fn make_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", path.display()));
}

fn copy_sleep(to: &Path) {
    fs::copy("/usr/bin/sleep", to)
        .unwrap_or_else(|e| panic!("cannot copy sleep to {}: {e}", to.display()));
    fs::set_permissions(to, fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", to.display()));
}

fn spawn_quiet(program: &Path, args: &[&str]) -> Child {
    Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", program.display()))
}

/// `id -u nobody` and `id -g nobody`, from the host's user database.
fn nobody_ids() -> (String, String) {
    let id = |flag: &str| {
        let out = Command::new("/usr/bin/id")
            .args([flag, "nobody"])
            .output()
            .unwrap_or_else(|e| panic!("cannot run id: {e}"));
        assert!(out.status.success(), "the user `nobody` does not exist");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    (id("-u"), id("-g"))
}

impl Fixture {
    /// Builds the tree in a new directory of `parent` (mode 0755).
    pub fn new(parent: &Path) -> Fixture {
        let dir = parent.join(format!("rw-conformance-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("cannot chmod {}: {e}", dir.display()));
        let root = fs::canonicalize(&dir).expect("the scratch directory");
        let tmp = root.join("tmp");
        for sub in ["tmp/a", "images", "images2", "bin"] {
            fs::create_dir_all(root.join(sub)).expect("a scratch subdirectory");
        }
        fs::write(root.join("some_file"), "").expect("some_file");
        // Paths are pinned: a `<path>` names an existing object.
        for file in ["tmp/some", "images/x", "images/y"] {
            fs::write(root.join(file), "").expect("a scratch file");
        }
        fs::write(root.join("hello"), "hello\n").expect("hello");
        let link = |target: String, name: &str| {
            symlink(&target, tmp.join(name))
                .unwrap_or_else(|e| panic!("cannot link {name} -> {target}: {e}"));
        };
        let (r, t) = (root.display().to_string(), tmp.display().to_string());
        link(format!("{t}/a"), "link_a");
        link(format!("{t}/a/../a"), "link_a2");
        link(format!("{r}/some_file"), "link_out");
        link(format!("{t}/a/../../../etc"), "link_etc");
        let bin = root.join("bin");
        make_executable(&bin.join("dnsmasq"), "#!/bin/sh\nexit 0\n");
        make_executable(&bin.join("bar"), "#!/bin/sh\nexit 0\n");

        let mut children = Vec::new();
        let mut cat = Command::new("/usr/bin/cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("a running cat");
        let cat_stdin = cat.stdin.take();
        let cat_pid = cat.id();
        children.push(cat);
        let sleep = spawn_quiet(Path::new("/bin/sleep"), &["600"]);
        let sleep_pid = sleep.id();
        children.push(sleep);

        // A running program whose file was then replaced (an upgrade).
        let replaced_path = bin.join("commandddddd");
        copy_sleep(&replaced_path);
        let replaced = spawn_quiet(&replaced_path, &["600"]);
        let replaced_pid = replaced.id();
        children.push(replaced);
        fs::remove_file(&replaced_path).expect("remove the running copy");
        copy_sleep(&replaced_path);

        // Renamed to NAME;HASH and deleted, a new file installed as NAME.
        let renamed_path = bin.join("renamed");
        copy_sleep(&renamed_path);
        let renamed = spawn_quiet(&renamed_path, &["600"]);
        let renamed_pid = renamed.id();
        children.push(renamed);
        let aside = bin.join("renamed;90bfb2");
        fs::rename(&renamed_path, &aside).expect("rename the running copy");
        fs::remove_file(&aside).expect("remove the renamed copy");
        copy_sleep(&renamed_path);

        let (nobody_uid, nobody_gid) = nobody_ids();
        let placeholders = vec![
            ("@ROOT@".to_string(), r.clone()),
            ("@TMP@".to_string(), t.clone()),
            ("@CAT@".to_string(), cat_pid.to_string()),
            ("@SLEEP@".to_string(), sleep_pid.to_string()),
            ("@SELF@".to_string(), std::process::id().to_string()),
            ("@REPLACED@".to_string(), replaced_pid.to_string()),
            ("@RENAMED@".to_string(), renamed_pid.to_string()),
            ("@NOBODY_UID@".to_string(), nobody_uid),
            ("@NOBODY_GID@".to_string(), nobody_gid),
        ];
        let fixture = Fixture {
            root,
            placeholders,
            children,
            _cat_stdin: cat_stdin,
        };
        fixture.check_exe_links(replaced_pid, renamed_pid);
        fixture
    }

    /// The kernel shows what rows 76 and 78 need.
    fn check_exe_links(&self, replaced: u32, renamed: u32) {
        let exe = |pid: u32| {
            fs::read_link(format!("/proc/{pid}/exe"))
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        };
        let bin = self.root.join("bin");
        assert_eq!(
            exe(replaced),
            format!("{} (deleted)", bin.join("commandddddd").display())
        );
        assert_eq!(
            exe(renamed),
            format!("{} (deleted)", bin.join("renamed;90bfb2").display())
        );
    }

    /// Reads the data file with this fixture's placeholders.
    pub fn load(&self) -> Result<Conformance, String> {
        let path = data_path();
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        parse(&substitute(&text, &self.placeholders))
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        drop(self._cat_stdin.take());
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.root);
    }
}

/// An argv word as the data file would write it.
pub fn shown(word: &str) -> String {
    if word.is_empty() || word.contains([' ', '"', '\\', '\n', '\t', '|']) {
        rootwrap::display::quoted(word)
    } else {
        word.to_string()
    }
}

/// Prints a line past the test harness's capture.
pub fn say(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
