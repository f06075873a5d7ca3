//! The review commands (`list`, `info`, `diff`, `test`, `report`): what a
//! ruleset allows, shown to the people who approve it. Each reads a
//! compiled ruleset or filter files through [`load`].

pub mod diff; // two rulesets, privilege by privilege
pub mod info; // a short summary
pub mod list; // every rule, as `sudo -l` lists a user's commands
pub mod load; // a compiled ruleset or filter files, read alike
pub mod report; // one self-contained HTML page for a review
pub mod sudoers; // what a user may run through sudo (`list --user`)
pub mod vectors; // allow/deny vectors checked against a ruleset

use rootwrap::action::model::{Attrs, Content, Op, Piece, Target, Text, WriteHow};
use rootwrap::action::Action;
use rootwrap::types::{Effect, OnLogFailure, Options, Rule, RunAs};

use crate::lower::{SYSLOG_FACILITIES, SYSLOG_LEVELS};

/// A rule as its declaration reads: `allow NAME [via CHAIN, ...] [as
/// USER]: PATTERN`.
pub fn rule_line(rule: &Rule) -> String {
    format!(
        "{} {}: {}",
        keyword(rule),
        rule.head_text(),
        rule.pattern_text()
    )
}

/// `allow` or `deny`, as the rule was written (disabled or not).
pub fn keyword(rule: &Rule) -> &'static str {
    match &rule.effect {
        Effect::Deny { .. } => "deny",
        Effect::Disabled(disabled) if disabled.was_deny => "deny",
        _ => "allow",
    }
}

/// A disabled rule's `disable` statement, with where it is written (in a
/// comment, so that the line compiles back).
pub fn disable_line(rule: &Rule) -> Option<String> {
    let disabled = rule.disabled()?;
    Some(format!(
        "disable {} because {}  # {}:{}",
        rule.name,
        rootwrap::display::quoted(&disabled.reason),
        disabled.source.file,
        disabled.source.line
    ))
}

fn run_as(rule: &Rule) -> String {
    let deny_as_root = match &rule.effect {
        Effect::Deny { any_user } => !any_user,
        _ => false,
    };
    match &rule.run_as {
        // `deny NAME as root:` holds only for calls run as root.
        RunAs::Root if deny_as_root => " as root".to_string(),
        RunAs::Root => String::new(),
        RunAs::User(user) => format!(" as {user}"),
    }
}

/// An action as its declaration reads (`action NAME (PARAM: PATTERN, ...)
/// [as USER]:`), then its steps, indented, with parameters by name.
pub fn action_lines(rule: &Rule, action: &Action) -> Vec<String> {
    let params: Vec<String> = action
        .params
        .iter()
        .zip(&rule.args)
        .map(|(name, pattern)| format!("{name}: {pattern}"))
        .collect();
    let mut lines = vec![format!(
        "action {} ({}){}:",
        rule.name,
        params.join(", "),
        run_as(rule)
    )];
    for step in &action.steps {
        lines.push(format!("    {}", step_line(&step.op, &action.params)));
    }
    if !action.undo.is_empty() {
        lines.push("    undo:".into());
        for step in &action.undo {
            lines.push(format!("        {}", step_line(&step.op, &action.params)));
        }
    }
    lines
}

/// A step as a filter file writes it, parameters by name; sizes in the
/// largest unit that is exact, and defaults written out.
pub fn step_line(op: &Op, params: &[String]) -> String {
    let param = |i: u16| {
        params
            .get(usize::from(i))
            .cloned()
            .unwrap_or_else(|| format!("#{i}"))
    };
    // A bare run that names a parameter stands for its value: a literal
    // spelled so is quoted.
    let literal = |s: &str| {
        if rootwrap::display::is_bare_word(s) && !params.iter().any(|p| p == s) && !s.contains('/')
        {
            s.to_string()
        } else {
            rootwrap::display::quoted(s)
        }
    };
    let text = |t: &Text| match t.0.as_slice() {
        [Piece::Literal(s)] => literal(s),
        pieces => pieces
            .iter()
            .map(|piece| match piece {
                Piece::Param(i) => param(*i),
                Piece::Literal(s) => rootwrap::display::quoted(s),
            })
            .collect(),
    };
    let target = |t: &Target| {
        let mut out = param(t.param);
        for name in &t.below {
            out.push('/');
            out.push_str(&rootwrap::display::quoted(name));
        }
        out
    };
    let size = |n: u64| match n {
        n if n != 0 && n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n != 0 && n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => n.to_string(),
    };
    let attrs = |a: &Attrs| {
        let mut out = String::new();
        if let Some(mode) = &a.mode {
            out.push_str(&format!(" mode {}", text(mode)));
        }
        if let Some(owner) = &a.owner {
            out.push_str(&format!(" owner {}", text(owner)));
        }
        out
    };
    match op {
        Op::Write {
            target: t,
            content,
            max,
            how,
            attrs: a,
        } => {
            let from = match content {
                Content::Stdin => "stdin".to_string(),
                Content::Text(t) => text(t),
            };
            let how = match how {
                WriteHow::Create => "create",
                WriteHow::Replace => "replace",
                WriteHow::Append => "append",
            };
            format!(
                "write {} from {from} max {} {how}{}",
                target(t),
                size(*max),
                attrs(a)
            )
        }
        Op::Read { target: t, max } => format!("read {} max {}", target(t), size(*max)),
        Op::Mkdir {
            target: t,
            parents,
            attrs: a,
        } => format!(
            "mkdir {}{}{}",
            target(t),
            if *parents { " parents" } else { "" },
            attrs(a)
        ),
        Op::Chmod { target: t, mode } => format!("chmod {} {}", target(t), text(mode)),
        Op::Chown { target: t, owner } => format!("chown {} {}", target(t), text(owner)),
        Op::Symlink { link, to } => format!("symlink {} to {}", target(link), text(to)),
        Op::Unlink { target: t } => format!("unlink {}", target(t)),
        Op::Rmdir { target: t } => format!("rmdir {}", target(t)),
        Op::Rename { from, to } => format!("rename {} to {}", target(from), target(to)),
        Op::Kill { pid, signal } => format!("kill {} {}", param(*pid), text(signal)),
        Op::Sysctl { key, value } => format!("sysctl {} {}", text(key), text(value)),
        Op::Run { argv } => {
            let words: Vec<String> = argv.iter().map(text).collect();
            format!("run {}", words.join(" "))
        }
    }
}

fn name_of(table: &[(&'static str, i32)], value: i32) -> String {
    table
        .iter()
        .find(|(_, v)| *v == value)
        .map_or_else(|| value.to_string(), |(name, _)| (*name).to_string())
}

/// The options as filter-file lines, each option on one line, in a fixed
/// order; an option at its default value is shown too, so that a reviewer
/// sees every setting and `diff` compares like with like.
pub fn option_lines(options: &Options) -> Vec<(&'static str, String)> {
    let mut lines = vec![
        ("ruleset", format!("ruleset {}", options.name)),
        (
            "exec-dirs",
            format!("exec-dirs {}", options.exec_dirs.join(" ")),
        ),
    ];
    if let Some(syslog) = &options.log.syslog {
        lines.push((
            "log syslog",
            format!(
                "log syslog facility={} allowed-level={} denied-level={}",
                name_of(SYSLOG_FACILITIES, syslog.facility),
                name_of(SYSLOG_LEVELS, syslog.allowed_level),
                name_of(SYSLOG_LEVELS, syslog.denied_level)
            ),
        ));
    }
    if let Some(json) = &options.log.json {
        lines.push(("log json", format!("log json {json}")));
    }
    let on_failure = match options.log.on_failure {
        OnLogFailure::Refuse => "refuse",
        OnLogFailure::Continue => "continue",
    };
    lines.push(("on-log-failure", format!("on-log-failure {on_failure}")));
    let daemon = &options.daemon;
    let mut line = format!(
        "daemon idle-timeout={} max-running={} max-waiting={}",
        daemon.idle_timeout_secs, daemon.max_running, daemon.max_waiting
    );
    if !daemon.users.is_empty() {
        line.push_str(&format!(" users={}", daemon.users.join(",")));
    }
    if !daemon.groups.is_empty() {
        line.push_str(&format!(" groups={}", daemon.groups.join(",")));
    }
    lines.push(("daemon", line));
    lines
}

/// The audit log's targets in words, for `list` and `info`.
pub fn log_targets(options: &Options) -> Vec<String> {
    let mut targets = Vec::new();
    if let Some(syslog) = &options.log.syslog {
        targets.push(format!(
            "syslog facility={}",
            name_of(SYSLOG_FACILITIES, syslog.facility)
        ));
    }
    if let Some(json) = &options.log.json {
        targets.push(format!("json {json}"));
    }
    targets
}

/// Exit status of the review commands: done (and, for `diff` and `test`,
/// no growth and every vector passed).
pub const EXIT_OK: u8 = 0;
/// `diff`: privileges grew; `test`: a vector failed.
pub const EXIT_NO: u8 = 1;
/// An input cannot be read, is not a ruleset, or does not compile; an
/// output cannot be written; `list --user` cannot ask sudo.
pub const EXIT_ERROR: u8 = 2;

/// Writes to stdout, ignoring a closed pipe (`list ... | head`): print!
/// would panic there.
pub fn write_stdout(text: &str) {
    use std::io::Write as _;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn loaded(path: &std::path::Path) -> Result<load::Loaded, u8> {
    load::load(path).map_err(|message| {
        if message.contains('\n') {
            eprintln!("{message}");
        } else {
            eprintln!("rootwrap-compile: {message}");
        }
        EXIT_ERROR
    })
}

/// `rootwrap-compile list`.
pub fn list_command(ruleset: &std::path::Path, user: Option<&str>, json: bool) -> u8 {
    let loaded = match loaded(ruleset) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let reach = match user {
        None => None,
        Some(user) => match sudoers::reach(user, ruleset, loaded.ruleset.options()) {
            Ok(reach) => Some((user, reach)),
            Err(message) => {
                eprintln!("rootwrap-compile: {message}");
                return EXIT_ERROR;
            }
        },
    };
    let listing = list::listing(&loaded, reach.as_ref().map(|(u, r)| (*u, r)));
    if json {
        match serde_json::to_string_pretty(&listing) {
            Ok(text) => write_stdout(&format!("{text}\n")),
            Err(e) => {
                eprintln!("rootwrap-compile: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        write_stdout(&list::render(&listing));
    }
    EXIT_OK
}

/// `rootwrap-compile info`.
pub fn info_command(ruleset: &std::path::Path) -> u8 {
    match loaded(ruleset) {
        Ok(loaded) => {
            write_stdout(&info::render(&loaded));
            EXIT_OK
        }
        Err(code) => code,
    }
}

/// `rootwrap-compile diff`.
pub fn diff_command(old: &std::path::Path, new: &std::path::Path, json: bool) -> u8 {
    let (old, new) = match (loaded(old), loaded(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(code), _) | (_, Err(code)) => return code,
    };
    let diff = diff::diff(&old, &new);
    if json {
        match serde_json::to_string_pretty(&diff::document(&old, &new, &diff)) {
            Ok(text) => write_stdout(&format!("{text}\n")),
            Err(e) => {
                eprintln!("rootwrap-compile: {e}");
                return EXIT_ERROR;
            }
        }
    } else {
        write_stdout(&diff::render(&old, &new, &diff));
    }
    if diff.grows() {
        EXIT_NO
    } else {
        EXIT_OK
    }
}

/// `rootwrap-compile test`.
pub fn test_command(ruleset: &std::path::Path, vectors: &std::path::Path) -> u8 {
    let loaded = match loaded(ruleset) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    match vectors::check(&loaded, vectors) {
        Err(message) => {
            eprintln!("{message}");
            EXIT_ERROR
        }
        Ok(outcome) => {
            for failure in &outcome.failures {
                eprintln!("{failure}");
            }
            let failed = outcome.failures.len();
            eprintln!(
                "rootwrap-compile: {} of {} vector(s) passed against {} (sha256:{})",
                outcome.run - failed,
                outcome.run,
                loaded.ruleset.options().name,
                loaded.ruleset.digest_hex()
            );
            if failed == 0 {
                EXIT_OK
            } else {
                EXIT_NO
            }
        }
    }
}

/// `rootwrap-compile report`.
pub fn report_command(
    ruleset: &std::path::Path,
    against: Option<&std::path::Path>,
    output: &std::path::Path,
) -> u8 {
    let same_file = |input: &std::path::Path| {
        matches!(
            (std::fs::canonicalize(input), std::fs::canonicalize(output)),
            (Ok(a), Ok(b)) if a == b
        )
    };
    if same_file(ruleset) || against.is_some_and(same_file) {
        eprintln!(
            "rootwrap-compile: {} is one of the inputs: refusing to overwrite it",
            output.display()
        );
        return EXIT_ERROR;
    }
    let loaded = match loaded(ruleset) {
        Ok(loaded) => loaded,
        Err(code) => return code,
    };
    let old = match against.map(self::loaded).transpose() {
        Ok(old) => old,
        Err(code) => return code,
    };
    let diff = old.as_ref().map(|old| diff::diff(old, &loaded));
    let page = report::render(&loaded, old.as_ref().zip(diff.as_ref()));
    match crate::compile::write_atomically(output, page.as_bytes()) {
        Ok(()) => {
            eprintln!(
                "rootwrap-compile: wrote {} ({} rules)",
                output.display(),
                loaded.rules.len()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("rootwrap-compile: cannot write {}: {e}", output.display());
            EXIT_ERROR
        }
    }
}
