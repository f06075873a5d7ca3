//! One oslo filter (`name: Class, field, ...`) to the body of one `allow`
//! rule, or a refusal with its reason. The rule keeps oslo's meaning except
//! where oslo's is unsafe, and then it is stricter and says why.

use rootwrap::types::file_name;
use rootwrap::values;

use super::reason::Category;
use super::regex::{self, Translation, Untranslatable};
use crate::env::{self, Restriction};

/// How an imported rule relates to oslo's filter at one point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Refuses command lines oslo allowed.
    Stricter,
    /// Behaves differently without refusing more (same program, other
    /// spelling, environment details).
    Differs,
}

/// A remark attached to an imported rule, shown as a comment above it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub kind: Kind,
    /// A stable short name, e.g. `path-prefix` (used by the summary and
    /// the differential test).
    pub category: Category,
    pub text: String,
}

/// A filter that could not be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub category: Category,
    pub reason: String,
    /// What to write instead, when something obvious fits.
    pub suggestion: Option<String>,
}

/// A translated filter: `allow NAME[ as USER]: BODY`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub body: String,
    /// `None` for root.
    pub run_as: Option<String>,
    pub notes: Vec<Note>,
    /// Things the reviewer should know that change nothing.
    pub warnings: Vec<String>,
}

/// What the translator knows about the ruleset being written.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Whether bare command names can be looked up (exec dirs exist).
    pub have_exec_dirs: bool,
}

pub type Outcome = Result<Translated, Refusal>;

fn refuse(category: Category, reason: impl Into<String>) -> Refusal {
    Refusal {
        category,
        reason: reason.into(),
        suggestion: None,
    }
}

impl Refusal {
    fn suggest(mut self, suggestion: impl Into<String>) -> Self {
        self.suggestion = Some(suggestion.into());
        self
    }
}

fn stricter(category: Category, text: impl Into<String>) -> Note {
    Note {
        kind: Kind::Stricter,
        category,
        text: text.into(),
    }
}

fn differs(category: Category, text: impl Into<String>) -> Note {
    Note {
        kind: Kind::Differs,
        category,
        text: text.into(),
    }
}

/// The classes oslo.rootwrap 7.x knows.
pub const CLASSES: &[&str] = &[
    "CommandFilter",
    "RegExpFilter",
    "PathFilter",
    "KillFilter",
    "ReadFileFilter",
    "IpFilter",
    "EnvFilter",
    "ChainingFilter",
    "IpNetnsExecFilter",
    "ChainingRegExpFilter",
];

/// Translates one filter whose value was split into `fields` (class first).
pub fn translate(fields: &[String], context: Context) -> Outcome {
    let class = fields.first().map(String::as_str).unwrap_or("");
    let args = fields.get(1..).unwrap_or(&[]);
    let mut translated = match class {
        "CommandFilter" => command_filter(args, context),
        "RegExpFilter" => regexp_filter(args, context, false),
        "ChainingRegExpFilter" => regexp_filter(args, context, true),
        "PathFilter" => path_filter(args, context),
        "KillFilter" => kill_filter(args, context),
        "ReadFileFilter" => read_file_filter(args),
        "IpFilter" => ip_filter(args, context),
        "IpNetnsExecFilter" => ip_netns_exec_filter(args, context),
        "EnvFilter" => env_filter(args, context),
        "ChainingFilter" => Err(refuse(
            Category::DeadFilter,
            "a plain ChainingFilter never matches in oslo (it has no command to chain to)",
        )),
        "DnsmasqFilter" | "DeprecatedDnsmasqFilter" | "DnsmasqNetnsFilter"
        | "DnsmasqVersionFilter" => Err(legacy(class, args)),
        "" => Err(refuse(
            Category::UnknownClass,
            "the filter has no class; oslo skips it, so it grants nothing",
        )),
        other => Err(refuse(
            Category::UnknownClass,
            format!(
                "oslo.rootwrap does not know the class `{other}`: it skips the line with a warning in its log, so it grants nothing"
            ),
        )
        .suggest(format!("the classes are {}", CLASSES.join(", ")))),
    }?;
    for (i, field) in args.iter().enumerate() {
        if field.contains('#') {
            translated.warnings.push(format!(
                "field {} `{}` contains `#`: oslo does not strip inline comments, so the text after `#` is part of the field, and it is imported that way",
                i + 2,
                field.replace('\n', "\\n")
            ));
        }
    }
    Ok(translated)
}

// ------------------------------------------------------------- the parts

/// A command: a bare name (searched in the exec dirs) or a normalized
/// absolute path.
fn command(exec: &str, context: Context) -> Result<String, Refusal> {
    if exec.is_empty() {
        return Err(refuse(
            Category::BadCommand,
            "the executable is empty: oslo never finds it",
        ));
    }
    if !is_word(exec) {
        return Err(refuse(
            Category::BadCommand,
            format!(
                "the executable `{}` has characters a command cannot have (space, quotes, brackets, `#`...)",
                exec.replace('\n', "\\n")
            ),
        ));
    }
    if exec.starts_with('/') {
        if crate::lower::check_absolute_path(exec).is_err() {
            return Err(refuse(
                Category::BadCommand,
                format!("the executable `{exec}` is not a normalized absolute path"),
            )
            .suggest("write it without `//`, `.`, `..` or a trailing `/`"));
        }
        return Ok(exec.to_string());
    }
    if exec.contains('/') {
        return Err(refuse(
            Category::RelativeExec,
            format!(
                "the executable `{exec}` is a relative path: oslo looks for it under each exec dir, and a rule cannot say that"
            ),
        )
        .suggest("give its absolute path, or put its directory in exec-dirs and use the bare name"));
    }
    if !context.have_exec_dirs {
        return Err(refuse(
            Category::NoExecDirs,
            format!(
                "`{exec}` is a bare name and the configuration's exec_dirs has no usable directory: oslo never finds it (exit 96)"
            ),
        ));
    }
    Ok(exec.to_string())
}

fn run_as(user: &str) -> Result<Option<String>, Refusal> {
    if user == "root" {
        return Ok(None);
    }
    let grammar_ok = user
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && user
            .trim_end_matches('$')
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if grammar_ok && values::is_account_name(user.as_bytes()) {
        return Ok(Some(user.to_string()));
    }
    let mut refusal = refuse(
        Category::BadUser,
        format!(
            "the run-as user `{}` is not a user name: oslo matches the filter, then fails to switch to that user, so every call exits 1",
            user.replace('\n', "\\n")
        ),
    );
    if let Some((before, _)) = user.split_once('#') {
        let before = before.trim();
        refusal = refusal.suggest(format!(
            "oslo keeps inline `#` text as part of the value; if `{before}` was meant, move the comment to its own line"
        ));
    }
    Err(refusal)
}

/// A character a bare word in a filter file may hold.
fn word_char(c: char) -> bool {
    !(c.is_whitespace() || "\"()|<>[]{}\\".contains(c))
}

/// Whether `text` can be written bare (a literal or a command).
fn is_word(text: &str) -> bool {
    !text.is_empty()
        && text.chars().all(word_char)
        && !text.starts_with('#')
        && !text.starts_with("re\"")
        && text != "..."
}

/// `text` as a pattern that matches exactly it: bare when possible (the
/// runtime's printer, which explanations use too).
pub fn literal(text: &str) -> String {
    rootwrap::display::literal(text)
}

/// A value that may appear in `<TYPE ...>`: no space, `|` or `>`.
fn type_arg_ok(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || c == '|' || c == '>')
}

fn pattern(translation: &Translation) -> String {
    match translation {
        Translation::Literal(text) => literal(text),
        Translation::Literals(texts) => {
            let unique: Vec<String> = texts.iter().fold(Vec::new(), |mut seen, t| {
                if !seen.contains(t) {
                    seen.push(t.clone());
                }
                seen
            });
            if unique.len() == 1 {
                return literal(&unique[0]);
            }
            format!(
                "({})",
                unique
                    .iter()
                    .map(|t| literal(t))
                    .collect::<Vec<_>>()
                    .join(" | ")
            )
        }
        Translation::Regex { source, unicode } => {
            format!("re\"{source}\"{}", if *unicode { "u" } else { "" })
        }
        Translation::PathUnder(dir) => format!("<path {dir}/**>"),
    }
}

fn arity(class: &str, needs: &str) -> Refusal {
    refuse(
        Category::BadArity,
        format!(
            "a {class} needs {needs}: oslo.rootwrap fails to load this file (TypeError), so every call exits 1"
        ),
    )
}

/// Notes, each category once (the first text wins).
fn push_note(notes: &mut Vec<Note>, note: Note) {
    if !notes.iter().any(|n| n.category == note.category) {
        notes.push(note);
    }
}

fn argv0_note(exec: &str, only: &str) -> Option<Note> {
    exec.starts_with('/').then(|| {
        differs(
            Category::Argv0Spelling,
            format!(
                "the caller may also write the full path `{exec}` as the command (oslo accepted only `{only}`); the same program runs either way"
            ),
        )
    })
}

// ------------------------------------------------------------- classes

fn command_filter(args: &[String], context: Context) -> Outcome {
    let [exec, user, extra @ ..] = args else {
        return Err(arity("CommandFilter", "an executable and a user"));
    };
    if file_name(exec) == "env" {
        return Err(refuse(
            Category::EnvCommand,
            "a CommandFilter for `env` lets the caller run any command as the target user (`env sh -c ...`), and `env` cannot be a rule's command",
        )
        .suggest("allow the commands run through env directly, or with `env NAME=PATTERN COMMAND ...` for the variables they need"));
    }
    let command = command(exec, context)?;
    let run_as = run_as(user)?;
    let mut warnings = Vec::new();
    if !extra.is_empty() {
        warnings.push(format!(
            "oslo ignores a CommandFilter's fields after the user (`{}`): any arguments are allowed, as here; to restrict them, list them in the rule",
            extra.join(", ")
        ));
    }
    Ok(Translated {
        body: format!("{command} ..."),
        run_as,
        notes: Vec::new(),
        warnings,
    })
}

/// Finds where a regex field was cut at a comma inside `{m,n}`.
fn comma_split_warnings(regexes: &[String]) -> Vec<String> {
    let mut warnings = Vec::new();
    for pair in regexes.windows(2) {
        let (left, right) = (&pair[0], &pair[1]);
        let open = left
            .rfind('{')
            .is_some_and(|i| left[i + 1..].chars().all(|c| c.is_ascii_digit()));
        let close = right
            .find('}')
            .is_some_and(|i| right[..i].chars().all(|c| c.is_ascii_digit()));
        if open && close {
            warnings.push(format!(
                "the regexes `{left}` and `{right}` look like one regex cut at the comma of a `{{m,n}}` quantifier: oslo splits every field at commas, so it reads two regexes, each matching one argument, and `{{` and `}}` are literal characters there; imported as oslo reads it. To allow what was meant, write one regex with the quantifier (the rule language has no such split)"
            ));
        }
    }
    warnings
}

fn regexp_filter(args: &[String], context: Context, chaining: bool) -> Outcome {
    let class = if chaining {
        "ChainingRegExpFilter"
    } else {
        "RegExpFilter"
    };
    let [exec, user, regexes @ ..] = args else {
        return Err(arity(class, "an executable and a user"));
    };
    let Some((first, rest)) = regexes.split_first() else {
        return Err(if chaining {
            refuse(
                Category::DeadFilter,
                "a ChainingRegExpFilter without regexes chains any command while running its own executable; this cannot be what was meant",
            )
        } else {
            refuse(
                Category::DeadFilter,
                "a RegExpFilter without regexes never matches in oslo",
            )
        });
    };
    for (i, regex) in regexes.iter().enumerate() {
        if let Some(error) = regex::python_error(regex) {
            return Err(refuse(
                Category::DeadFilter,
                format!(
                    "regex {} `{regex}` is not valid Python ({error}): oslo never matches this filter",
                    i
                ),
            )
            .suggest("if a comma split the regex, note that oslo splits every field at commas: a filter regex cannot contain one"));
        }
    }
    let mut notes = Vec::new();
    let mut warnings = comma_split_warnings(regexes);

    let command = command(exec, context)?;
    let run_as = run_as(user)?;
    let name = file_name(exec);
    let selector = regex::translate(first).map_err(|why| untranslatable(0, first, why))?;
    match &selector.translation {
        Translation::Literal(text) if text == name => {}
        Translation::Literal(text) if text == exec => {
            notes.push(differs(
                Category::Argv0Spelling,
                format!(
                    "the caller may also write `{name}` as the command (oslo's regex 0 accepted only `{exec}`); the same program runs either way"
                ),
            ));
        }
        translation => {
            let accepts = |candidate: &str| accepts(translation, candidate);
            if accepts(name) {
                notes.push(stricter(
                    Category::Argv0Regex,
                    format!(
                        "oslo matched the command name with the regex `{first}`, which also accepted other names; only `{name}` is accepted here (oslo ran `{exec}` whatever the name)"
                    ),
                ));
            } else if exec.starts_with('/') && accepts(exec) {
                notes.push(stricter(
                    Category::Argv0Regex,
                    format!(
                        "oslo matched the command name with the regex `{first}`; only `{exec}` and `{name}` are accepted here"
                    ),
                ));
            } else {
                return Err(refuse(
                    Category::Regex0Command,
                    format!(
                        "oslo matches the first regex, `{first}`, against the command name (argv[0]), and it does not accept `{name}`, the name of the executable `{exec}` that would run"
                    ),
                )
                .suggest(format!(
                    "the first regex is the command name: write `{name}` there, then one regex per argument"
                )));
            }
        }
    }
    if let Some(note) = argv0_note(exec, first) {
        if !notes.iter().any(|n| n.category == Category::Argv0Spelling) {
            notes.push(note);
        }
    }
    let mut items = vec![command];
    for (i, regex) in rest.iter().enumerate() {
        let translated =
            regex::translate(regex).map_err(|why| untranslatable(i + 1, regex, why))?;
        for s in translated.stricter {
            push_note(
                &mut notes,
                stricter(s.category, format!("argument {}: {}", i + 1, s.note)),
            );
        }
        items.push(pattern(&translated.translation));
    }
    if rest.is_empty() && !chaining {
        warnings.push(
            "the filter has only the command's regex: it allows the command without arguments"
                .into(),
        );
    }
    if chaining {
        items.push("then allowed".into());
        push_note(&mut notes, chain_note());
    }
    Ok(Translated {
        body: items.join(" "),
        run_as,
        notes,
        warnings,
    })
}

fn chain_note() -> Note {
    stricter(
        Category::ChainPath,
        "the chained command runs with the executable of the rule that allows it; oslo checked only the basename of the caller's command and then ran the caller's spelling (`/tmp/evil/cat` passed as `cat`)",
    )
}

fn accepts(translation: &Translation, candidate: &str) -> bool {
    use rootwrap::types::Arg;
    let Some((source, unicode)) = regex::as_regex(translation) else {
        return false;
    };
    let Ok(dfa) = crate::lower::compile_regex(&source, unicode) else {
        return false;
    };
    let pattern = Arg::Regex(rootwrap::types::Regex { source, dfa });
    let lookup = |_: &[u8]| Ok(Vec::new().into());
    let context =
        rootwrap::matcher::Context::new(&[], &lookup, &rootwrap::matcher::AssumeInstalled);
    matches!(
        rootwrap::matcher::match_arg(&pattern, std::ffi::OsStr::new(candidate), &context),
        Ok(Ok(Some(_)))
    )
}

fn untranslatable(position: usize, regex: &str, why: Untranslatable) -> Refusal {
    match why {
        Untranslatable::PythonError(error) => refuse(
            Category::DeadFilter,
            format!("regex {position} `{regex}` is not valid Python ({error}): oslo never matches this filter"),
        ),
        Untranslatable::Uncompilable(why) => refuse(
            Category::RegexUncompilable,
            format!("regex {position}: the rule language cannot hold its translation ({why})"),
        )
        .suggest("write a simpler regex, or list the allowed values"),
        Untranslatable::TooDeep => refuse(
            Category::RegexTooDeep,
            format!(
                "regex {position} nests groups more than {} deep: Python's `re` fails with RecursionError from about 490 levels (fewer the deeper oslo's own call stack), and oslo then fails the call; refused rather than guess where Python stops",
                regex::MAX_GROUP_NESTING
            ),
        )
        .suggest("write the regex without the nesting: nested groups around one pattern mean the same as the pattern"),
        Untranslatable::Unsupported {
            construct,
            suggestion,
        } => refuse(
            Category::RegexUnsupported,
            format!(
                "regex {position} `{regex}` uses {construct}, which the rule language's regexes do not have"
            ),
        )
        .suggest(suggestion),
    }
}

fn path_filter(args: &[String], context: Context) -> Outcome {
    let [exec, user, constraints @ ..] = args else {
        return Err(arity("PathFilter", "an executable and a user"));
    };
    if constraints.is_empty() {
        return Err(refuse(
            Category::DeadFilter,
            "a PathFilter without constraints never matches in oslo (it needs at least one argument)",
        ));
    }
    let command = command(exec, context)?;
    let run_as = run_as(user)?;
    let mut items = vec![command];
    let mut notes = Vec::new();
    for constraint in constraints {
        if constraint == "pass" {
            items.push("<any>".into());
        } else if let Some(text) = path_constraint(constraint)? {
            items.push(text);
            push_note(
                &mut notes,
                stricter(
                    Category::PathPrefix,
                    format!(
                        "`<path ...>` holds per path component: oslo compared strings, so `{constraint}` also admitted `{}2/...` and `{}x`",
                        constraint.trim_end_matches('/'),
                        constraint.trim_end_matches('/')
                    ),
                ),
            );
        } else {
            items.push(literal(constraint));
        }
    }
    Ok(Translated {
        body: items.join(" "),
        run_as,
        notes,
        warnings: Vec::new(),
    })
}

/// oslo: `os.path.commonprefix([c, realpath(value)]) == c` for an absolute
/// `c`. `None` when `c` is not absolute (an exact string).
fn path_constraint(constraint: &str) -> Result<Option<String>, Refusal> {
    if !constraint.starts_with('/') {
        return Ok(None);
    }
    let unrepresentable = || {
        let mut refusal = refuse(
            Category::PathUnrepresentable,
            format!(
                "the PathFilter constraint `{constraint}` cannot be written as a path constraint"
            ),
        );
        if constraint.contains(['(', '*', '?', '\\']) {
            refusal.reason.push_str(
                ": it looks like a regex, but PathFilter takes directories, so oslo only admits paths that literally begin with this text",
            );
            if let Some(dir) = constraint.split(['(', '*', '?', '\\']).next() {
                let dir = dir.trim_end_matches('/');
                if !dir.is_empty() {
                    refusal = refusal.suggest(format!(
                        "if any path under {dir} was meant, write `<path {dir}/**>` in a rule"
                    ));
                }
            }
        }
        refusal
    };
    if constraint.contains('*') || !type_arg_ok(constraint) {
        return Err(unrepresentable());
    }
    if constraint == "/" {
        return Ok(Some("<path / | /**>".into()));
    }
    if crate::lower::check_absolute_path(constraint).is_ok() {
        return Ok(Some(format!("<path {constraint} | {constraint}/**>")));
    }
    // A trailing slash: the value's canonical form must continue past it.
    if let Some(dir) = constraint.strip_suffix('/') {
        if crate::lower::check_absolute_path(dir).is_ok() {
            return Ok(Some(format!("<path {dir}/**>")));
        }
    }
    Err(unrepresentable())
}

fn kill_filter(args: &[String], context: Context) -> Outcome {
    let [user, rest @ ..] = args else {
        return Err(arity("KillFilter", "a user"));
    };
    let Some((target, signals)) = rest.split_first() else {
        return Err(refuse(
            Category::BadArity,
            "a KillFilter without a target executable makes oslo fail (IndexError) on every `kill` call it is tried for",
        ));
    };
    if target.is_empty() || (!target.starts_with('/') && target.contains('/')) {
        return Err(refuse(
            Category::DeadFilter,
            format!("the kill target `{target}` never equals a process's executable in oslo"),
        ));
    }
    if target.starts_with('/') && crate::lower::check_absolute_path(target).is_err() {
        return Err(refuse(
            Category::DeadFilter,
            format!(
                "the kill target `{target}` is not a normalized path, and oslo compares it as a string with the process's executable, so it never matches"
            ),
        ));
    }
    if !type_arg_ok(target) {
        return Err(refuse(
            Category::BadCommand,
            format!("the kill target `{target}` cannot be written in a `<pid ...>`"),
        ));
    }
    let kill = command("kill", context)?;
    let run_as = run_as(user)?;
    let mut unique: Vec<&String> = Vec::new();
    for signal in signals {
        if !unique.contains(&signal) {
            unique.push(signal);
        }
    }
    let signal_item = match unique.as_slice() {
        [] => None,
        [one] => Some(literal(one)),
        many => Some(format!(
            "({})",
            many.iter()
                .map(|s| literal(s))
                .collect::<Vec<_>>()
                .join(" | ")
        )),
    };
    let mut notes = vec![
        stricter(
            Category::KillCmdline,
            "the process's executable comes from /proc/PID/exe only; oslo fell back to /proc/PID/cmdline, which the process itself controls, when the executable was renamed",
        ),
        stricter(
            Category::PidSyntax,
            "the pid must be plain decimal; oslo's int() also took `+12`, `1_2` and leading spaces",
        ),
        differs(
            Category::KillExec,
            "`kill` is looked up in the exec dirs; oslo always ran /bin/kill",
        ),
    ];
    if !target.starts_with('/') {
        notes.push(differs(
            Category::KillPath,
            format!(
                "a process counts as `{target}` when its executable lies directly in one of the exec dirs; oslo looked in rootwrap's own $PATH (sudo's secure_path)"
            ),
        ));
    }
    let mut items = vec![kill];
    items.extend(signal_item);
    items.push(format!("<pid {target}>"));
    let mut warnings = Vec::new();
    if is_interpreter(file_name(target)) {
        warnings.push(format!(
            "the kill target `{target}` is an interpreter: the executable of a process running a script is its interpreter, so this rule matches every process that runs a {} script, whatever the script, and no script by its own name; name the user the process runs as (`<pid {target} as USER>`)",
            file_name(target)
        ));
    }
    Ok(Translated {
        body: items.join(" "),
        run_as,
        notes,
        warnings,
    })
}

/// Programs whose processes, when they run a script, show the interpreter
/// as their executable: `python`, `python3.11`, `perl`, `sh`...
fn is_interpreter(name: &str) -> bool {
    const INTERPRETERS: &[&str] = &[
        "python", "perl", "ruby", "node", "nodejs", "php", "lua", "tclsh", "java", "sh", "bash",
        "dash", "ksh", "zsh", "awk",
    ];
    let family = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    INTERPRETERS.contains(&family)
}

/// What the importing host says about a KillFilter's target: `Some(warning)`
/// when no file of that name is installed where `<pid>` looks for it (so
/// the rule matches no process here), or when it is a script (whose
/// processes execute its interpreter, so the rule never matches them).
pub fn kill_target_on_this_host(target: &str, exec_dirs: &[String]) -> Option<String> {
    use std::io::Read as _;
    let candidates: Vec<std::path::PathBuf> = if target.starts_with('/') {
        vec![target.into()]
    } else {
        exec_dirs
            .iter()
            .map(|dir| std::path::Path::new(dir).join(target))
            .collect()
    };
    let installed = candidates.iter().find(|path| path.is_file());
    let Some(installed) = installed else {
        let looked = if target.starts_with('/') {
            String::new()
        } else {
            format!(" in the exec dirs ({})", exec_dirs.join(", "))
        };
        return Some(format!(
            "the kill target `{target}` is not installed on this host{looked}: here the rule matches no process (it compares the file a process executes with the installed target)"
        ));
    };
    let mut start = [0u8; 2];
    let script = std::fs::File::open(installed)
        .and_then(|mut file| file.read_exact(&mut start))
        .is_ok()
        && &start == b"#!";
    script.then(|| {
        format!(
            "the kill target `{target}` is a script on this host ({}): its processes execute its interpreter, so the rule never matches them (nor did oslo's); name the interpreter and the user the process runs as, or kill it through its service manager",
            installed.display()
        )
    })
}

fn read_file_filter(args: &[String]) -> Outcome {
    let [path, extra @ ..] = args else {
        return Err(arity("ReadFileFilter", "a file path"));
    };
    let mut warnings = Vec::new();
    if !extra.is_empty() {
        warnings.push(format!(
            "oslo ignores a ReadFileFilter's fields after the path (`{}`)",
            extra.join(", ")
        ));
    }
    let mut notes = Vec::new();
    notes.extend(argv0_note("/bin/cat", "cat"));
    Ok(Translated {
        body: format!("/bin/cat {}", literal(path)),
        run_as: None,
        notes,
        warnings,
    })
}

fn ip_filter(args: &[String], context: Context) -> Outcome {
    let [exec, user, extra @ ..] = args else {
        return Err(arity("IpFilter", "an executable and a user"));
    };
    if file_name(exec) != "ip" {
        return Err(refuse(
            Category::NonsenseFilter,
            format!(
                "an IpFilter matches `ip ...` whatever its executable, so this one would run `{exec}` with ip's arguments"
            ),
        )
        .suggest("use `ip` (or its path) as the IpFilter's executable"));
    }
    let command = command(exec, context)?;
    let run_as = run_as(user)?;
    let mut warnings = Vec::new();
    if !extra.is_empty() {
        warnings.push(format!(
            "oslo ignores an IpFilter's fields after the user (`{}`)",
            extra.join(", ")
        ));
    }
    let mut notes = vec![
        stricter(
            Category::IpBatch,
            "`-batch FILE`, `-b FILE` and `-force` are refused: ip would read commands from a file as root; oslo allowed them",
        ),
        stricter(
            Category::IpNetnsExec,
            "`netns exec` (and abbreviations) is refused anywhere on the line; oslo looked only at the first `netns` word",
        ),
        stricter(
            Category::IpVrfExec,
            "`vrf exec` (and abbreviations) is refused: it runs another program; oslo allowed it",
        ),
    ];
    notes.extend(argv0_note(exec, "ip"));
    Ok(Translated {
        body: format!("{command} <ip-args...>"),
        run_as,
        notes,
        warnings,
    })
}

fn ip_netns_exec_filter(args: &[String], context: Context) -> Outcome {
    let [exec, user, ..] = args else {
        return Err(arity("IpNetnsExecFilter", "an executable and a user"));
    };
    if user != "root" {
        return Err(refuse(
            Category::DeadFilter,
            format!(
                "an IpNetnsExecFilter only matches when its user is exactly `root` (here `{user}`)"
            ),
        ));
    }
    if file_name(exec) != "ip" {
        return Err(refuse(
            Category::NonsenseFilter,
            format!(
                "an IpNetnsExecFilter matches `ip netns exec ...` whatever its executable, so this one would run `{exec} netns exec ...`"
            ),
        )
        .suggest("use `IpNetnsExecFilter, ip, root`: the chained command then needs its own filter"));
    }
    let command = command(exec, context)?;
    let mut notes = vec![
        stricter(
            Category::NetnsName,
            "the namespace must be a valid name (no `/`, not `.` or `..`, printable ASCII); oslo took any word",
        ),
        chain_note(),
    ];
    notes.extend(argv0_note(exec, "ip"));
    Ok(Translated {
        body: format!("{command} (net | netn | netns) (e | ex | exe | exec) <netns> then allowed"),
        run_as: None,
        notes,
        warnings: Vec::new(),
    })
}

fn env_name_ok(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn env_filter(args: &[String], context: Context) -> Outcome {
    let [exec_field, user, filter_args @ ..] = args else {
        return Err(arity("EnvFilter", "an executable and a user"));
    };
    // oslo: the names of the leading `NAME=...` fields, as a set.
    let leading: Vec<&String> = filter_args.iter().take_while(|a| a.contains('=')).collect();
    let mut names: Vec<String> = Vec::new();
    for assignment in &leading {
        let name = assignment.split('=').next().unwrap_or("").to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut exec = exec_field.as_str();
    if exec_field.contains("env") && names.len() < filter_args.len() {
        exec = &filter_args[names.len()];
    }
    if names.is_empty() {
        return Err(refuse(
            Category::DeadFilter,
            "an EnvFilter without `NAME=` fields never matches in oslo",
        ));
    }
    if file_name(exec) == "env" || exec.contains('=') {
        return Err(refuse(
            Category::EnvCommand,
            format!("the EnvFilter's command is `{exec}`: it would let the caller run any command"),
        ));
    }
    // The values written for each name (oslo ignores them).
    let written_for = |name: &str| -> Vec<&str> {
        let mut values: Vec<&str> = Vec::new();
        for assignment in &leading {
            if let Some((n, v)) = assignment.split_once('=') {
                if n == name && !v.is_empty() && !values.contains(&v) {
                    values.push(v);
                }
            }
        }
        values
    };
    let mut notes = Vec::new();
    let mut pinned: Vec<&str> = Vec::new();
    for name in &names {
        match env::restriction(name) {
            Some(entry) if entry.restriction == Restriction::Forbidden => {
                return Err(refuse(
                    Category::EnvForbidden,
                    format!(
                        "oslo lets the caller set `{name}` to anything; a rule may not let the caller set it at all (`{}`: {})",
                        entry.names.shown(),
                        entry.why
                    ),
                )
                .suggest(format!(
                    "drop `{name}=` from the filter and allow the command without it"
                )));
            }
            Some(entry) => {
                let values = written_for(name);
                if values.is_empty() {
                    return Err(refuse(
                        Category::EnvForbidden,
                        format!(
                            "oslo lets the caller set `{name}` to anything; a rule may set it to literal values only (`{}`: {}), and the filter names none",
                            entry.names.shown(),
                            entry.why
                        ),
                    )
                    .suggest(format!(
                        "write the value the service passes in the filter, e.g. `{name}=C`, or drop `{name}=`"
                    )));
                }
                push_note(
                    &mut notes,
                    stricter(
                        Category::EnvPinned,
                        format!(
                            "`{name}` must be {}, the value written in the filter; oslo ignored the value and let the caller set any ({})",
                            values
                                .iter()
                                .map(|v| format!("`{v}`"))
                                .collect::<Vec<_>>()
                                .join(" or "),
                            entry.why
                        ),
                    ),
                );
                pinned.push(name.as_str());
            }
            None => {}
        }
        if !env_name_ok(name) {
            return Err(refuse(
                Category::EnvName,
                format!("`{name}` is not an environment variable name the runtime accepts"),
            ));
        }
    }
    let command = command(exec, context)?;
    let run_as = run_as(user)?;
    // oslo requires at least as many arguments as the filter has fields.
    let min_rest = filter_args.len().saturating_sub(names.len() + 1);
    let mut items = vec!["env".to_string()];
    for name in &names {
        let value = match written_for(name).as_slice() {
            _ if !pinned.contains(&name.as_str()) => "<any>".to_string(),
            [one] => literal(one),
            many => format!(
                "({})",
                many.iter()
                    .map(|v| literal(v))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
        };
        items.push(format!("{name}={value}"));
    }
    items.push(command);
    items.extend(std::iter::repeat_n("<any>".to_string(), min_rest));
    items.push("...".into());
    let mut warnings = Vec::new();
    let ignored: Vec<&str> = leading
        .iter()
        .filter(|a| {
            a.split_once('=')
                .is_some_and(|(n, v)| !v.is_empty() && !pinned.contains(&n))
        })
        .map(|a| a.as_str())
        .collect();
    if !ignored.is_empty() {
        warnings.push(format!(
            "oslo ignores the values written in an EnvFilter (`{}`): the caller may set any value, as here; to require one, write it in the rule (e.g. `NAME=value`)",
            ignored.join(", ")
        ));
    }
    if min_rest > 0 {
        warnings.push(format!(
            "oslo ignores the EnvFilter's fields after the command except to require that many arguments: {min_rest} argument(s) of any value, then anything"
        ));
    }
    notes.push(differs(
        Category::EnvValue,
        "`NAME=` with an empty value sets NAME to the empty string; oslo left it unset",
    ));
    Ok(Translated {
        body: items.join(" "),
        run_as,
        notes,
        warnings,
    })
}

fn legacy(class: &str, args: &[String]) -> Refusal {
    let exec = args.first().map(String::as_str).unwrap_or("dnsmasq");
    let (meant, suggestion) = match class {
        "DnsmasqFilter" => (
            "`env CONFIG_FILE=... NETWORK_ID=... dnsmasq ARGS...` (nova; quantum's variant used QUANTUM_RELAY_SOCKET_PATH and QUANTUM_NETWORK_ID)",
            format!("allow dnsmasq: env CONFIG_FILE=<path /etc/nova/**> NETWORK_ID=<any> {exec} ..."),
        ),
        "DeprecatedDnsmasqFilter" => (
            "`env FLAGFILE=... NETWORK_ID=... dnsmasq ARGS...`",
            format!("allow dnsmasq: env FLAGFILE=<path /etc/nova/**> NETWORK_ID=<any> {exec} ..."),
        ),
        "DnsmasqNetnsFilter" => (
            "`QUANTUM_RELAY_SOCKET_PATH=... QUANTUM_NETWORK_ID=... ip netns exec NS dnsmasq ARGS...`",
            "allow netns-exec: ip netns exec <netns> then allowed, plus a rule for dnsmasq".to_string(),
        ),
        _ => (
            "`dnsmasq --version`",
            format!("allow dnsmasq-version: {exec} --version"),
        ),
    };
    refuse(
        Category::LegacyClass,
        format!(
            "{class} comes from the rootwrap code of 2012-2013 (nova, quantum, oslo-incubator) and is gone: oslo.rootwrap skips the line as an unknown class, so it grants nothing today, and importing what it meant, {meant}, would grant more than the deployment has"
        ),
    )
    .suggest(format!("if the service still needs it, write e.g. `{suggestion}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(line: &str) -> Outcome {
        let fields: Vec<String> = line.split(',').map(|f| f.trim().to_string()).collect();
        translate(
            &fields,
            Context {
                have_exec_dirs: true,
            },
        )
    }

    fn body(line: &str) -> String {
        match t(line) {
            Ok(translated) => translated.body,
            Err(refusal) => panic!("{line}: {refusal:?}"),
        }
    }

    #[test]
    fn bodies() {
        assert_eq!(body("CommandFilter, kpartx, root"), "kpartx ...");
        assert_eq!(
            body("RegExpFilter, blockdev, root, blockdev, (--getsize64|--flushbufs), /dev/.*"),
            "blockdev (--getsize64 | --flushbufs) re\"/dev/.*\"u"
        );
        assert_eq!(
            body("PathFilter, /bin/chown, root, nova, /var/lib/images, pass"),
            "/bin/chown nova <path /var/lib/images | /var/lib/images/**> <any>"
        );
        assert_eq!(
            body("KillFilter, root, /usr/sbin/dnsmasq, -9, -HUP"),
            "kill (-9 | -HUP) <pid /usr/sbin/dnsmasq>"
        );
        assert_eq!(body("KillFilter, root, radvd"), "kill <pid radvd>");
        assert_eq!(
            body("ReadFileFilter, /etc/iscsi/initiatorname.iscsi"),
            "/bin/cat /etc/iscsi/initiatorname.iscsi"
        );
        assert_eq!(body("IpFilter, ip, root"), "ip <ip-args...>");
        assert_eq!(
            body("IpNetnsExecFilter, ip, root"),
            "ip (net | netn | netns) (e | ex | exe | exec) <netns> then allowed"
        );
        assert_eq!(
            body("EnvFilter, env, root, CONFIG_FILE=, NETWORK_ID=, dnsmasq"),
            "env CONFIG_FILE=<any> NETWORK_ID=<any> dnsmasq ..."
        );
        assert_eq!(
            body("EnvFilter, env, root, PROCESS_TAG=, haproxy, -f, .*"),
            "env PROCESS_TAG=<any> haproxy <any> <any> ..."
        );
        assert_eq!(
            body("EnvFilter, ebtables, root, EBTABLES_ATOMIC_FILE="),
            "env EBTABLES_ATOMIC_FILE=<any> ebtables ..."
        );
        assert_eq!(
            body("ChainingRegExpFilter, ionice, root, ionice, -c[0-3], -n[0-7]"),
            "ionice re\"-c[0-3]\" re\"-n[0-7]\" then allowed"
        );
        assert_eq!(
            body("RegExpFilter, privsep-helper, root, privsep-helper, --config-file, /etc/(?!\\.\\.).*"),
            "privsep-helper --config-file <path /etc/**>"
        );
    }

    #[test]
    fn refusals() {
        let category = |line: &str| t(line).err().map(|r| r.category);
        assert_eq!(
            category("EnvFilter, env, root, PATH=, python"),
            Some(Category::EnvForbidden)
        );
        assert_eq!(
            category("CommandFilter, env, root"),
            Some(Category::EnvCommand)
        );
        assert_eq!(
            category("DnsmasqFilter, /usr/sbin/dnsmasq, root"),
            Some(Category::LegacyClass)
        );
        assert_eq!(category("NoSuchFilter, x"), Some(Category::UnknownClass));
        assert_eq!(category("CommandFilter, /bin/x"), Some(Category::BadArity));
        assert_eq!(
            category("CommandFilter, /bin/x, root # c"),
            Some(Category::BadUser)
        );
        assert_eq!(
            category("IpNetnsExecFilter, ip, nova"),
            Some(Category::DeadFilter)
        );
        assert_eq!(
            category("IpNetnsExecFilter, ping, root"),
            Some(Category::NonsenseFilter)
        );
        assert_eq!(
            category("RegExpFilter, sleep, root"),
            Some(Category::DeadFilter)
        );
        assert_eq!(
            category("RegExpFilter, sleep, root, sleep, [0-9"),
            Some(Category::DeadFilter)
        );
        assert_eq!(
            category("RegExpFilter, chown, root, chown root:root /etc/x/(?!.*/\\.\\.).*"),
            Some(Category::RegexUnsupported)
        );
        assert_eq!(
            category("RegExpFilter, ls, root, cat, /x"),
            Some(Category::Regex0Command)
        );
        assert_eq!(
            category("CommandFilter, sbin/foo, root"),
            Some(Category::RelativeExec)
        );
        assert_eq!(
            category("PathFilter, privsep-helper, root, privsep-helper, /etc/(?!\\.\\.).*"),
            Some(Category::PathUnrepresentable)
        );
    }
}
