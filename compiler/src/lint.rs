//! Warnings about rules that are legal but dangerous. A rule's `because
//! "..."` records that a reviewer accepted the risk, and silences them.

use std::collections::HashMap;

use rootwrap::matcher::{Host, OnThisHost};
use rootwrap::types::{file_name, Arg, Effect, Item, Pin, Rest, Rule, RunAs};

use crate::diag::Diagnostic;
use crate::policy::{LoweredRule, Policy, RuleSite};

mod chain_reach;
mod shadowed;
mod typos;

/// The lints, each with a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lint {
    CodeRunner,
    AnyArgs,
    AnyArg,
    DeadChain,
    RegexPath,
    AnyEnv,
    OtherUser,
    PinDefeated,
    EntryFollows,
    UnpinnedWritable,
    Shadowed,
    AsTypo,
    GluedItems,
    LogPath,
    ChainReach,
}

impl Lint {
    pub const ALL: [Lint; 15] = [
        Lint::CodeRunner,
        Lint::AnyArgs,
        Lint::AnyArg,
        Lint::DeadChain,
        Lint::RegexPath,
        Lint::AnyEnv,
        Lint::OtherUser,
        Lint::PinDefeated,
        Lint::EntryFollows,
        Lint::UnpinnedWritable,
        Lint::Shadowed,
        Lint::AsTypo,
        Lint::GluedItems,
        Lint::LogPath,
        Lint::ChainReach,
    ];

    /// The lint with this code.
    pub fn from_code(code: &str) -> Option<Lint> {
        Lint::ALL.into_iter().find(|lint| lint.code() == code)
    }

    /// Whether the lint is about a risk a reviewer may accept, so a plain
    /// `because "WHY"` silences it. The others are about rules that do not
    /// do what they say (dead, or likely typos): only naming them in
    /// `because LINT "WHY"` silences those.
    pub fn is_risk(self) -> bool {
        !matches!(
            self,
            Lint::Shadowed | Lint::AsTypo | Lint::GluedItems | Lint::LogPath | Lint::ChainReach
        )
    }

    /// The code shown as `warning[CODE]`.
    pub fn code(self) -> &'static str {
        match self {
            Lint::CodeRunner => "code-runner",
            Lint::AnyArgs => "any-args",
            Lint::AnyArg => "any-arg",
            Lint::DeadChain => "dead-chain",
            Lint::RegexPath => "regex-path",
            Lint::AnyEnv => "any-env",
            Lint::OtherUser => "other-user",
            Lint::PinDefeated => "pin-defeated",
            Lint::EntryFollows => "entry-follows",
            Lint::UnpinnedWritable => "unpinned-writable",
            Lint::Shadowed => "shadowed",
            Lint::AsTypo => "as-typo",
            Lint::GluedItems => "glued-items",
            Lint::LogPath => "log-path",
            Lint::ChainReach => "chain-reach",
        }
    }
}

/// Programs that run arbitrary code or commands given to them.
const CODE_RUNNERS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "fish",
    "busybox",
    "python",
    "python2",
    "python3",
    "perl",
    "ruby",
    "lua",
    "node",
    "php",
    "tclsh",
    "awk",
    "gawk",
    "mawk",
    "sudo",
    "su",
    "doas",
    "xargs",
    "nsenter",
    "chroot",
    "setsid",
    "nohup",
    "timeout",
    "watch",
    "expect",
    "script",
    "run-parts",
    "systemd-run",
    "ssh",
    "env",
    "nice",
    "ionice",
    "taskset",
    "chrt",
    "strace",
    "ltrace",
    "gdb",
    "valgrind",
    "unshare",
    "capsh",
    "setpriv",
    "runuser",
    "pkexec",
    "flock",
    "stdbuf",
    "numactl",
    "prlimit",
    "vim",
    "vi",
    "less",
    "more",
    "man",
    "wish",
    "git",
];

/// Programs that are root by themselves when their arguments are free.
const ROOT_WITH_FREE_ARGS: &[&str] = &[
    "chown",
    "chmod",
    "chgrp",
    "dd",
    "tee",
    "cp",
    "mv",
    "cat",
    "rm",
    "ln",
    "mount",
    "umount",
    "kill",
    "pkill",
    "killall",
    "tar",
    "rsync",
    "install",
    "truncate",
    "touch",
    "mkdir",
    "find",
    "sed",
    "ip",
    "iptables",
    "iptables-restore",
    "ip6tables-restore",
    "losetup",
    "dmsetup",
    "qemu-img",
    "modprobe",
    "insmod",
    "sysctl",
    "crontab",
    "passwd",
    "usermod",
    "useradd",
    "visudo",
    "systemctl",
];

pub fn lint(policy: &Policy) -> Vec<Diagnostic> {
    let mut warnings = Vec::new();
    // Rules by the argv[0] spellings that select them, so a rule is
    // compared only with earlier rules for the same command.
    let mut by_spelling: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut shadowing = shadowed::Shadowing::new(&policy.rules);
    for (index, LoweredRule { rule, site }) in policy.rules.iter().enumerate() {
        // Deny rules take no risk; disabled rules decide nothing: neither
        // is linted, nor shadows a later rule.
        if rule.effect != Effect::Allow {
            continue;
        }
        let spelled = rule.selectors();
        let mut earlier: Vec<usize> = spelled
            .iter()
            .filter_map(|s| by_spelling.get(s))
            .flatten()
            .copied()
            .collect();
        earlier.sort_unstable();
        earlier.dedup();
        let mut found = Vec::new();
        // The lints that look at the program judge each command of a rule
        // for several (`(A | B)`), as if it were alone.
        for alone in one_per_command(rule) {
            let mut each = Vec::new();
            lint_rule(&alone, site, &mut each);
            // An action's parameters reach no program: its steps act on
            // descriptors themselves.
            if !alone.command.as_str().starts_with('@') {
                lint_pins(&alone, site, &mut each);
                typos::lint_typos(&alone, site, &mut each);
            }
            for d in each {
                if !found.contains(&d) {
                    found.push(d);
                }
            }
        }
        lint_chain_env(rule, site, &policy.rules, &mut found);
        lint_other_user(rule, site, &earlier, &policy.rules, &mut found);
        shadowing.lint(index, &mut found);
        shadowing.add(index);
        warnings.extend(
            found
                .into_iter()
                .filter(|d| !d.code.is_some_and(|code| site.silences(code))),
        );
        for spelling in spelled {
            by_spelling.entry(spelling).or_default().push(index);
        }
    }
    chain_reach::lint(policy, &mut warnings);
    warnings
}

/// The rule once per command it may run, each copy with that command alone.
fn one_per_command(rule: &Rule) -> Vec<Rule> {
    rule.commands()
        .map(|command| Rule {
            command: command.clone(),
            also: Vec::new(),
            ..rule.clone()
        })
        .collect()
}

/// A later rule that a call could reach only by passing over an earlier
/// one with another target user. The runtime passes over a matching rule
/// whose executable is missing only to a rule with the same target user;
/// otherwise it refuses the call (exit 96), so the later rule never gets
/// those calls, which is easy to misread. `earlier`: the indexes of the
/// earlier rules for the same command, ascending.
fn lint_other_user(
    rule: &Rule,
    site: &RuleSite,
    earlier: &[usize],
    rules: &[LoweredRule],
    warnings: &mut Vec<Diagnostic>,
) {
    let Some(LoweredRule {
        rule: first,
        site: first_site,
    }) = earlier
        .iter()
        .map(|&index| &rules[index])
        .find(|other| other.rule.run_as != rule.run_as && may_overlap(&other.rule, rule))
    else {
        return;
    };
    let user = |run_as: &RunAs| match run_as {
        RunAs::Root => "root".to_string(),
        RunAs::User(name) => name.clone(),
    };
    let d = Diagnostic::warning(
        Lint::OtherUser,
        format!(
            "rule `{}` (as {}) follows rule `{}` (as {}) for the same command",
            rule.name,
            user(&rule.run_as),
            first.name,
            user(&first.run_as)
        ),
    )
    .at(
        site.span,
        format!(
            "a call both match goes to `{}`, and if its executable is missing the call is refused (exit 96), not passed to this rule",
            first.name
        ),
    )
    .note(
        Some(first_site.span),
        format!("`{}` is declared here", first.name),
    );
    warnings.push(d.help(
        "give both rules the same target user or distinct arguments, or say why with `because \"...\"`",
    ));
}

/// Whether some call could match both rules, as far as a cheap look can
/// tell: they set different variables, or differ in a literal argument at
/// the same position before anything variable, or take different fixed
/// numbers of arguments.
fn may_overlap(a: &Rule, b: &Rule) -> bool {
    fn names(rule: &Rule) -> Vec<&str> {
        let mut names: Vec<&str> = rule.env.iter().map(|v| v.name.as_str()).collect();
        names.sort_unstable();
        names
    }
    if names(a) != names(b) {
        return false;
    }
    for (x, y) in a.args.iter().zip(&b.args) {
        match (x, y) {
            (Item::One(Arg::Literal(x)), Item::One(Arg::Literal(y))) if x != y => return false,
            (Item::One(_), Item::One(_)) => {}
            _ => return true,
        }
    }
    let fixed = |rule: &Rule| {
        rule.rest == Rest::Exact && rule.args.iter().all(|item| matches!(item, Item::One(_)))
    };
    !(fixed(a) && fixed(b) && a.args.len() != b.args.len())
}

/// A chain whose rule sets a variable that a rule it could chain into sets
/// too: the runtime refuses a variable set twice, so that pair never
/// matches, which is surely not what the author meant.
fn lint_chain_env(
    rule: &Rule,
    site: &RuleSite,
    rules: &[LoweredRule],
    warnings: &mut Vec<Diagnostic>,
) {
    if rule.rest != Rest::Chain || rule.env.is_empty() {
        return;
    }
    for inner in rules.iter().map(|r| &r.rule) {
        if inner.rest == Rest::Chain || inner.run_as != rule.run_as {
            continue;
        }
        if let Some(shared) = inner
            .env
            .iter()
            .find(|v| rule.env.iter().any(|o| o.name == v.name))
        {
            warnings.push(
                Diagnostic::warning(
                    Lint::DeadChain,
                    format!(
                        "rule `{}` can never chain into rule `{}`: both set `{}`",
                        rule.name, inner.name, shared.name
                    ),
                )
                .at(site.span, "a variable may be set once per call")
                .help("set the variable in one of the two rules only"),
            );
        }
    }
}

fn lint_rule(rule: &Rule, site: &RuleSite, warnings: &mut Vec<Diagnostic>) {
    let program = file_name(rule.command.as_str());
    let interpreter = CODE_RUNNERS.contains(&program)
        || program.starts_with("python")
        || program.starts_with("perl")
        || program.starts_with("ruby");
    // A chain runs only what another rule allows: `nice -n 5 then allowed`.
    if interpreter && rule.rest != Rest::Chain {
        warnings.push(
            Diagnostic::warning(
                Lint::CodeRunner,
                format!("rule `{}` runs `{program}`, which can run any code it is given", rule.name),
            )
            .at(site.command_span, "runs arbitrary code as its target user")
            .help("allow the specific commands instead; if this is really intended, say why with `because \"...\"`"),
        );
    }
    if rule.rest == Rest::IpArgs {
        let span = site.rest.unwrap_or(site.span);
        warnings.push(
            Diagnostic::warning(Lint::AnyArgs, format!("rule `{}` allows any `ip` object and command", rule.name))
                .at(span, "can reconfigure every interface, address and route")
                .help("list the `ip` commands the service needs (e.g. `ip link set <ifname> up`), or say why with `because \"...\"`"),
        );
    }
    if rule.rest == Rest::Any {
        let (label, help) = if ROOT_WITH_FREE_ARGS.contains(&program) {
            (
                format!("`{program}` with free arguments is as good as root"),
                "list the allowed arguments with types and paths (e.g. `<path /var/lib/svc/**>`)",
            )
        } else {
            (
                "any further arguments are allowed".to_string(),
                "list the arguments, or say why they cannot be listed with `because \"...\"`",
            )
        };
        let span = site.rest.unwrap_or(site.span);
        warnings.push(
            Diagnostic::warning(
                Lint::AnyArgs,
                format!(
                    "rule `{}` allows any arguments after its pattern",
                    rule.name
                ),
            )
            .at(span, label)
            .help(help),
        );
    }
    for (var, span) in rule.env.iter().zip(&site.env_spans) {
        if broad_env_value(&var.value) {
            warnings.push(
                Diagnostic::warning(
                    Lint::AnyEnv,
                    format!("rule `{}` lets the caller set `{}` to nearly anything", rule.name, var.name),
                )
                .at(*span, "a file, a command or options of the caller's choosing")
                .help("give the values the command needs (a literal, `(a | b)`, `<int 1..9>`, a regex such as `re\"[a-z0-9-]+\"`), or say why with `because \"...\"`"),
            );
        }
    }
    let dangerous = ROOT_WITH_FREE_ARGS.contains(&program);
    for (item, span) in rule.args.iter().zip(&site.arg_spans) {
        if dangerous && accepts_anything(item) {
            warnings.push(
                Diagnostic::warning(
                    Lint::AnyArg,
                    format!("rule `{}` lets `{program}` take an unrestricted argument", rule.name),
                )
                .at(*span, "any value at all")
                .help("a path, owner, mode or device here is root: give its type or location, e.g. `<path /var/lib/svc/**>`"),
            );
        }
        let rootwrap::types::Item::One(arg) = item else {
            continue;
        };
        if let Some(source) = escaping_path_regex(arg) {
            warnings.push(
                Diagnostic::warning(
                    Lint::RegexPath,
                    format!("rule `{}`: regex `{source}` accepts paths that climb out with `..`", rule.name),
                )
                .at(*span, "e.g. it accepts a path containing `/../`")
                .help("use a path constraint such as `<path /dir/**>`: it resolves `..` and symlinks before checking"),
            );
        }
    }
}

/// Whether an item takes an argument without any restriction: `<any>`, or
/// a regex that matches everything (`.*`, `.+`, `(?s).*`).
fn accepts_anything(item: &rootwrap::types::Item) -> bool {
    use rootwrap::types::Item;
    let arg_free = |arg: &Arg| match arg {
        Arg::Any => true,
        Arg::Regex(regex) => matches!(
            regex.source.as_str(),
            ".*" | ".+" | "(?s).*" | "(?s).+" | "[^/]*"
        ),
        Arg::OneOf(alternatives) => alternatives.iter().any(|a| matches!(a, Arg::Any)),
        _ => false,
    };
    match item {
        Item::One(arg) => arg_free(arg),
        Item::Seq(items) | Item::Alt(items) | Item::AnyOrder(items) => {
            items.iter().any(accepts_anything)
        }
        Item::Optional(inner) => accepts_anything(inner),
    }
}

/// Values that only a broad pattern accepts: a path, a climb out of a
/// directory, words separated by a space, shell syntax, several lines.
const BROAD_PROBES: &[&str] = &["/tmp/x", "../x", "a b", "a;b", "$(id)", "a\nb"];

/// Whether an `env` value pattern leaves the caller a free hand: `<any>`,
/// `<operand>`, `<path>` (the program opens what it names later, without
/// rootwrap's checks), or a regex that accepts one of `BROAD_PROBES`.
fn broad_env_value(arg: &Arg) -> bool {
    match arg {
        Arg::Any | Arg::Operand | Arg::Path { .. } => true,
        Arg::OneOf(alternatives) => alternatives.iter().any(broad_env_value),
        Arg::Prefixed { value, .. } => broad_env_value(value),
        Arg::Regex(_) => BROAD_PROBES
            .iter()
            .any(|probe| matches_without_lookups(arg, probe)),
        _ => false,
    }
}

/// Whether `arg` accepts `value`, with nothing looked up on this host.
fn matches_without_lookups(arg: &Arg, value: &str) -> bool {
    let value = std::ffi::OsString::from(value);
    let no_lookup = |_: &[u8]| Ok(Vec::new().into());
    let ctx = rootwrap::matcher::Context::new(&[], &no_lookup, &rootwrap::matcher::AssumeInstalled);
    matches!(
        rootwrap::matcher::match_arg(arg, &value, &ctx),
        Ok(Ok(Some(_)))
    )
}

/// A regex that looks like a path and accepts `..` components.
fn escaping_path_regex(arg: &Arg) -> Option<&str> {
    let Arg::Regex(regex) = arg else {
        return None;
    };
    let source = regex.source.as_str();
    if !source.starts_with('/') {
        return None;
    }
    let prefix: String = source
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "/_-".contains(*c))
        .collect();
    let prefix = prefix.trim_end_matches(|c| c != '/');
    matches_without_lookups(arg, &format!("{prefix}../../../../etc/shadow")).then_some(source)
}

// ---- pinned paths

/// Programs that turn a path they are given back into text (`realpath`)
/// and use that: a `/proc/self/fd/N` argument is resolved again, by name.
/// `mount` and `umount` do so unless given `-c` (`--no-canonicalize`).
const CANONICALIZING: &[&str] = &["losetup", "kpartx", "mount", "umount"];

/// Programs that act on a directory entry without following a symbolic
/// link at its name (`cp`, `ln` and `mv` need `-T`; `cp` also
/// `--remove-destination`).
const ENTRY_SAFE: &[&str] = &["mkdir", "rm", "rmdir", "unlink"];

/// The `<path ...>` patterns of a rule: in its items, its prefixed values
/// and its variables.
fn path_patterns(rule: &Rule) -> Vec<(&[rootwrap::types::PathScope], Pin)> {
    fn in_arg<'a>(arg: &'a Arg, out: &mut Vec<(&'a [rootwrap::types::PathScope], Pin)>) {
        match arg {
            Arg::Path { scopes, pin } => out.push((scopes, *pin)),
            Arg::OneOf(alternatives) => alternatives.iter().for_each(|a| in_arg(a, out)),
            Arg::Prefixed { value, .. } => in_arg(value, out),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for_each_arg(&rule.args, &mut |arg| in_arg(arg, &mut out));
    for var in &rule.env {
        in_arg(&var.value, &mut out);
    }
    out
}

fn for_each_arg<'a>(items: &'a [Item], visit: &mut impl FnMut(&'a Arg)) {
    for item in items {
        match item {
            Item::One(arg) => visit(arg),
            Item::Seq(inner) | Item::Alt(inner) | Item::AnyOrder(inner) => {
                for_each_arg(inner, visit)
            }
            Item::Optional(inner) => for_each_arg(std::slice::from_ref(inner.as_ref()), visit),
        }
    }
}

/// Whether the rule requires one of these literal arguments somewhere.
fn has_literal(rule: &Rule, literals: &[&str]) -> bool {
    let mut found = false;
    for_each_arg(&rule.args, &mut |arg| {
        if let Arg::Literal(text) = arg {
            found |= literals.contains(&text.as_str());
        }
    });
    found
}

fn lint_pins(rule: &Rule, site: &RuleSite, warnings: &mut Vec<Diagnostic>) {
    let paths = path_patterns(rule);
    if paths.is_empty() {
        return;
    }
    let program = file_name(rule.command.as_str());
    let pinned = paths.iter().any(|(_, pin)| *pin != Pin::Unpinned);
    let no_canonicalize =
        matches!(program, "mount" | "umount") && has_literal(rule, &["-c", "--no-canonicalize"]);
    if pinned && CANONICALIZING.contains(&program) && !no_canonicalize {
        let help = if matches!(program, "mount" | "umount") {
            format!(
                "require `-c` (`--no-canonicalize`): `{program} -c ...` uses the path it is given"
            )
        } else {
            "use `<path-unpinned ...>`: the runtime then refuses calls where a directory on the way is not root's".to_string()
        };
        warnings.push(
            Diagnostic::warning(
                Lint::PinDefeated,
                format!("rule `{}`: `{program}` resolves `/proc/self/fd/N` back into a path and opens that by name", rule.name),
            )
            .at(site.command_span, "the pinned descriptor does not hold for this program")
            .help(help),
        );
    }
    let entry_safe = ENTRY_SAFE.contains(&program)
        || (matches!(program, "ln" | "mv") && has_literal(rule, &["-T", "--no-target-directory"]))
        || (program == "cp"
            && has_literal(rule, &["-T", "--no-target-directory"])
            && has_literal(rule, &["--remove-destination"]));
    let as_root = rule.run_as == RunAs::Root;
    if as_root && !entry_safe && paths.iter().any(|(_, pin)| *pin == Pin::Entry) {
        warnings.push(
            Diagnostic::warning(
                Lint::EntryFollows,
                format!("rule `{}`: `{program}` may follow a symbolic link the caller puts at a `<path-entry>` name", rule.name),
            )
            .at(site.span, "the directory is pinned, the name is looked up by the command")
            .help("use `<path ...>` (an existing object, pinned itself), or a program that acts on the name: mkdir, rm, rmdir, `ln -T`, `mv -T`, `cp -T --remove-destination`"),
        );
    }
    for why in unpinned_host_warnings(rule) {
        warnings.push(
            Diagnostic::warning(Lint::UnpinnedWritable, format!("rule `{}`: {why}", rule.name))
                .at(site.span, "on this host, every call through this rule would be refused")
                .help("use `<path ...>` or `<path-entry ...>`, or make the directories root's (or the rule's target user's) alone"),
        );
    }
}

/// On the host this runs on: the nearest directory above `path` (an
/// absolute path) that others may write to (mode `o+w`, sticky or not:
/// in `/tmp` anyone may create the name first, or a link in its place).
pub fn world_writable_above(path: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt as _;
    std::path::Path::new(path)
        .ancestors()
        .skip(1)
        .find(|dir| {
            std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0)
        })
        .map(|dir| dir.display().to_string())
}

/// On the host this runs on: the `<path-unpinned>` scopes of `rule` below a
/// directory someone other than root (or the rule's target user) can
/// change, where the runtime refuses every call. Shared with `explain`.
pub fn unpinned_host_warnings(rule: &Rule) -> Vec<String> {
    let owner = match &rule.run_as {
        RunAs::Root => 0,
        RunAs::User(name) => OnThisHost.user_uid(name).unwrap_or(0),
    };
    let mut warnings = Vec::new();
    for (scopes, pin) in path_patterns(rule) {
        if pin != Pin::Unpinned {
            continue;
        }
        for scope in scopes {
            // The directories from `/` down to the base itself.
            let below = std::path::Path::new(&scope.base).join("x");
            if let Err(why) = rootwrap::pin::unpinned_is_safe(&below, owner) {
                warnings.push(format!("`<path-unpinned {}>`: {why}", scope.base));
            }
        }
    }
    warnings
}
