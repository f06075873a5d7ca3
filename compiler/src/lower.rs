//! Step two: syntax trees to the ruleset's types, validating everything that
//! can be checked offline (names, paths, types, ranges, regexes).

use std::collections::HashMap;

use regex_automata::dfa::{dense, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;

use rootwrap::types::{
    Arg, Command, EnvVar, Item, LogOptions, OnLogFailure, Options, PathDepth, PathScope,
    PidPattern, Pin, Regex, Rest, Rule, RunAs, Source, SyslogTarget, MAX_MATCH_STEPS,
};
use rootwrap::values;

use crate::diag::{all, did_you_mean, Diagnostic, Reported, Reporter, Sources, Span, Spanned};
use crate::env::{self, Restriction};
use crate::policy::{LoweredRule, Policy, PolicyTest, RuleSite};
use crate::syntax::{Expect, ItemAst, OptionAst, Pattern, RestAst, RuleAst, Statement, TestAst};

/// The largest serialized DFA one regex may compile to.
pub const MAX_DFA_BYTES: usize = 512 << 10;

const TYPES: &[&str] = &[
    "int",
    "mode",
    "signal",
    "uuid",
    "ipv4",
    "ipv6",
    "ip",
    "cidr",
    "mac",
    "ifname",
    "user",
    "group",
    "owner",
    "path",
    "path-entry",
    "path-unpinned",
    "pid",
    "operand",
    "any",
    "netns",
    "ip-args...",
];
/// The most items an any-order group `{ ... }` may hold.
const MAX_ANY_ORDER: usize = 16;
const OPTIONS: &[&str] = &["ruleset", "exec-dirs", "log", "on-log-failure"];
const FACILITIES: &[(&str, i32)] = &[
    ("auth", libc::LOG_AUTH),
    ("authpriv", libc::LOG_AUTHPRIV),
    ("cron", libc::LOG_CRON),
    ("daemon", libc::LOG_DAEMON),
    ("kern", libc::LOG_KERN),
    ("local0", libc::LOG_LOCAL0),
    ("local1", libc::LOG_LOCAL1),
    ("local2", libc::LOG_LOCAL2),
    ("local3", libc::LOG_LOCAL3),
    ("local4", libc::LOG_LOCAL4),
    ("local5", libc::LOG_LOCAL5),
    ("local6", libc::LOG_LOCAL6),
    ("local7", libc::LOG_LOCAL7),
    ("lpr", libc::LOG_LPR),
    ("mail", libc::LOG_MAIL),
    ("news", libc::LOG_NEWS),
    ("syslog", libc::LOG_SYSLOG),
    ("user", libc::LOG_USER),
    ("uucp", libc::LOG_UUCP),
];
const LEVELS: &[(&str, i32)] = &[
    ("emerg", libc::LOG_EMERG),
    ("alert", libc::LOG_ALERT),
    ("crit", libc::LOG_CRIT),
    ("err", libc::LOG_ERR),
    ("error", libc::LOG_ERR),
    ("warning", libc::LOG_WARNING),
    ("warn", libc::LOG_WARNING),
    ("notice", libc::LOG_NOTICE),
    ("info", libc::LOG_INFO),
    ("debug", libc::LOG_DEBUG),
];
/// `as USER` written on a type other than `<pid>`.
fn no_user(name: &Spanned<String>, user: &Spanned<String>) -> Diagnostic {
    Diagnostic::error(format!("`<{}>` takes no `as USER`", name.value))
        .at(user.span, "unexpected")
        .help("only `<pid ... as USER>` names a user: the one the process runs as")
}

struct Lowering<'a> {
    sources: &'a Sources,
    reporter: Reporter,
    options: HashMap<String, OptionAst>,
    /// Rule name to its index in the policy's rules.
    rule_names: HashMap<String, usize>,
}

/// Lowers the statements of every file, in order. Returns the policy and
/// every diagnostic found (errors and warnings).
pub fn lower(sources: &Sources, files: &[Vec<Statement>]) -> (Policy, Vec<Diagnostic>) {
    let mut lowering = Lowering {
        sources,
        reporter: Reporter::default(),
        options: HashMap::new(),
        rule_names: HashMap::new(),
    };
    let mut policy = Policy::default();
    for statements in files {
        for statement in statements {
            match statement {
                Statement::Option(option) => lowering.option(option),
                Statement::Rule(rule) => {
                    if let Ok(lowered) = lowering.rule(rule, &policy.rules) {
                        lowering
                            .rule_names
                            .insert(lowered.rule.name.clone(), policy.rules.len());
                        policy.rules.push(lowered);
                    }
                }
                Statement::Test(test) => policy.tests.push(lowering.test(test)),
            }
        }
    }
    policy.options = lowering.finish_options(&policy.rules);
    for test in &policy.tests {
        if let Some(name) = &test.rule {
            if !lowering.rule_names.contains_key(&name.value) {
                let known: Vec<&str> = policy.rules.iter().map(|r| r.rule.name.as_str()).collect();
                let mut d = Diagnostic::error(format!(
                    "the test names rule `{}`, which does not exist",
                    name.value
                ))
                .at(name.span, "no rule of this name");
                if let Some(close) = did_you_mean(&name.value, &known) {
                    d = d.help(format!("did you mean `{close}`?"));
                }
                lowering.error(d);
            }
        }
    }
    (policy, lowering.reporter.into_diagnostics())
}

impl Lowering<'_> {
    fn error(&mut self, diagnostic: Diagnostic) -> Reported {
        self.reporter.error(diagnostic)
    }

    fn option(&mut self, option: &OptionAst) {
        let name = option.name.value.as_str();
        if !OPTIONS.contains(&name) {
            let mut d = Diagnostic::error(format!("unknown option `{name}`"))
                .at(option.name.span, "not an option");
            let mut known: Vec<&str> = OPTIONS.to_vec();
            known.extend(["allow", "test"]);
            d = match did_you_mean(name, &known) {
                Some(close) => d.help(format!("did you mean `{close}`?")),
                None => d.help(format!("known options: {}", OPTIONS.join(", "))),
            };
            self.error(d);
            return;
        }
        // `log syslog ...` and `log json ...` are two targets, set once each.
        let key = match (name, option.values.first()) {
            ("log", Some(kind)) => format!("log {}", kind.value),
            _ => name.to_string(),
        };
        if let Some(first) = self.options.get(&key) {
            let same = first
                .values
                .iter()
                .map(|v| &v.value)
                .eq(option.values.iter().map(|v| &v.value));
            if !same {
                let d = Diagnostic::error(format!("`{name}` is set twice, with different values"))
                    .at(option.span, "set again here")
                    .note(Some(first.span), "first set here")
                    .help("a ruleset has one value per option: keep one of them");
                self.error(d);
            }
            return;
        }
        self.options.insert(key, option.clone());
    }

    fn finish_options(&mut self, rules: &[LoweredRule]) -> Options {
        let mut options = Options::default();
        self.log_options(&mut options.log);
        match self.options.get("ruleset").cloned() {
            Some(option) => match option.values.as_slice() {
                [name] if is_identifier(&name.value) => options.name = name.value.clone(),
                _ => {
                    self.error(
                    Diagnostic::error("`ruleset` takes one name")
                        .at(option.span, "here")
                        .help(
                            "for example `ruleset nova-compute` (letters, digits, `-`, `_`, `.`)",
                        ),
                );
                }
            },
            None => {
                self.error(
                    Diagnostic::error("no `ruleset NAME` in any input file").help(
                        "add `ruleset NAME` to one file: the name identifies the ruleset in logs",
                    ),
                );
            }
        }
        if let Some(option) = self.options.get("exec-dirs").cloned() {
            if option.values.is_empty() {
                self.error(
                    Diagnostic::error("`exec-dirs` needs at least one directory")
                        .at(option.span, "here"),
                );
            }
            for dir in &option.values {
                if dir.value.contains(':') {
                    self.error(
                        Diagnostic::error(format!("exec dir `{}` contains `:`", dir.value)).at(
                            dir.span,
                            "the exec dirs become the commands' PATH, where `:` separates entries",
                        ),
                    );
                } else if let Err(why) = check_absolute_path(&dir.value) {
                    self.error(
                        Diagnostic::error(format!("exec dir `{}` {why}", dir.value))
                            .at(dir.span, "not a normalized absolute path"),
                    );
                } else if options.exec_dirs.contains(&dir.value) {
                    self.error(
                        Diagnostic::error(format!("exec dir `{}` is listed twice", dir.value))
                            .at(dir.span, "again"),
                    );
                } else {
                    options.exec_dirs.push(dir.value.clone());
                }
            }
        } else {
            // Also the commands' PATH: an empty PATH would mean the caller's
            // current directory to the C library and shells.
            let mut d = Diagnostic::error("no `exec-dirs` in any input file");
            if let Some(rule) = rules
                .iter()
                .map(|r| &r.rule)
                .find(|r| matches!(r.command, Command::Name(_)))
            {
                d = d.note(
                    None,
                    format!(
                        "rule `{}` names its command `{}` without a path",
                        rule.name,
                        rule.command.as_str()
                    ),
                );
            }
            self.error(d.help(
                "add `exec-dirs /usr/sbin /usr/bin /sbin /bin`: the trusted directories where bare command names are found, and the PATH of every command",
            ));
        }
        options
    }

    fn log_options(&mut self, log: &mut LogOptions) {
        let mut targets: Vec<OptionAst> = self
            .options
            .iter()
            .filter(|(key, _)| key.as_str() == "log" || key.starts_with("log "))
            .map(|(_, option)| option.clone())
            .collect();
        targets.sort_by_key(|o| (o.span.file, o.span.start));
        for option in targets {
            match option.values.first().map(|v| v.value.as_str()) {
                Some("syslog") => log.syslog = self.syslog_target(&option).ok(),
                Some("json") => match option.values.as_slice() {
                    [_, path] if check_absolute_path(&path.value).is_ok() => {
                        log.json = Some(path.value.clone())
                    }
                    _ => {
                        self.error(
                            Diagnostic::error("`log json` takes one absolute path")
                                .at(option.span, "here")
                                .help("e.g. `log json /var/log/rootwrap/audit.jsonl`"),
                        );
                    }
                },
                _ => {
                    self.error(
                    Diagnostic::error("`log` takes a target: `syslog` or `json`")
                        .at(option.span, "here")
                        .help("`log syslog facility=authpriv allowed-level=info denied-level=warning` or `log json /var/log/rootwrap/audit.jsonl`"),
                );
                }
            }
        }
        if let Some(option) = self.options.get("on-log-failure").cloned() {
            match option.values.as_slice() {
                [v] if v.value == "refuse" => log.on_failure = OnLogFailure::Refuse,
                [v] if v.value == "continue" => log.on_failure = OnLogFailure::Continue,
                _ => {
                    self.error(
                    Diagnostic::error("`on-log-failure` is `refuse` or `continue`")
                        .at(option.span, "here")
                        .help("`refuse` (the default) refuses a call that cannot be logged; `continue` runs it and warns on stderr"),
                );
                }
            }
        }
    }

    fn syslog_target(&mut self, option: &OptionAst) -> Result<SyslogTarget, Reported> {
        let mut target = SyslogTarget {
            facility: libc::LOG_AUTHPRIV,
            allowed_level: libc::LOG_INFO,
            denied_level: libc::LOG_WARNING,
        };
        for setting in &option.values[1..] {
            let (key, value) = setting
                .value
                .split_once('=')
                .unwrap_or((setting.value.as_str(), ""));
            let table = if key == "facility" {
                FACILITIES
            } else {
                LEVELS
            };
            let found = table
                .iter()
                .find(|(name, _)| *name == value)
                .map(|(_, code)| *code);
            let slot = match key {
                "facility" => &mut target.facility,
                "allowed-level" => &mut target.allowed_level,
                "denied-level" => &mut target.denied_level,
                _ => {
                    return Err(self.error(
                        Diagnostic::error(format!("unknown syslog setting `{key}`"))
                            .at(setting.span, "here")
                            .help(
                                "settings: facility=NAME, allowed-level=LEVEL, denied-level=LEVEL",
                            ),
                    ));
                }
            };
            match found {
                Some(code) => *slot = code,
                None => {
                    let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
                    return Err(self.error(
                        Diagnostic::error(format!("`{value}` is not a syslog {key}"))
                            .at(setting.span, "here")
                            .help(format!("one of: {}", names.join(", "))),
                    ));
                }
            }
        }
        // Lower numbers are more severe.
        if target.denied_level > target.allowed_level {
            return Err(self.error(
                Diagnostic::error("denials must be logged at least as severely as allowed calls")
                    .at(option.span, "denied-level is below allowed-level")
                    .help("e.g. allowed-level=info denied-level=warning"),
            ));
        }
        Ok(target)
    }

    /// One rule with its site. Every error in it is reported before it is
    /// given up, so one pass shows them all.
    fn rule(&mut self, rule: &RuleAst, earlier: &[LoweredRule]) -> Result<LoweredRule, Reported> {
        let mut failed: Option<Reported> = None;
        let name = &rule.name;
        if let Some(&first) = self.rule_names.get(&name.value) {
            let first_span = earlier.get(first).map(|r| r.site.span);
            failed = Some(
                self.error(
                    Diagnostic::error(format!("rule `{}` is defined twice", name.value))
                        .at(name.span, "defined again here")
                        .note(first_span, "first defined here")
                        .help("rule names identify rules in logs and tests: rename one of them"),
                ),
            );
        }
        let run_as = match &rule.run_as {
            None => RunAs::Root,
            Some(user) if user.value == "root" => RunAs::Root,
            Some(user) => {
                if !values::is_account_name(user.value.as_bytes()) {
                    failed = Some(
                        self.error(
                            Diagnostic::error(format!("`{}` is not a valid user name", user.value))
                                .at(user.span, "here"),
                        ),
                    );
                }
                RunAs::User(user.value.clone())
            }
        };
        let command = self.command(&rule.command);
        let sha256 = rule
            .sha256
            .as_ref()
            .map(|digest| self.digest(digest))
            .transpose();
        let mut env: Vec<EnvVar> = Vec::new();
        for (var, pattern) in &rule.env {
            if let Some(entry) = env::restriction(&var.value) {
                if entry.restriction == Restriction::Forbidden {
                    failed = Some(self.error(
                        Diagnostic::error(format!("a rule may not let the caller set `{}`", var.value))
                            .at(var.span, format!("`{}`: {}", entry.names.shown(), entry.why))
                            .help("allow the command without it (the book lists the forbidden variables under Environment variables)"),
                    ));
                } else if !literal_values(pattern) {
                    failed = Some(self.error(
                        Diagnostic::error(format!("`{}` may only be set to literal values", var.value))
                            .at(pattern.span(), format!("`{}`: {}", entry.names.shown(), entry.why))
                            .help("spell out the values the command needs, e.g. `LC_ALL=C`, `LANG=(C | C.UTF-8)` or `TZ=UTC`"),
                    ));
                }
            }
            if env.iter().any(|v| v.name == var.value) {
                failed = Some(
                    self.error(
                        Diagnostic::error(format!("variable `{}` is listed twice", var.value))
                            .at(var.span, "again"),
                    ),
                );
            }
            match self.item(pattern) {
                Ok(Item::One(value)) => env.push(EnvVar {
                    name: var.value.clone(),
                    value,
                }),
                Ok(_) => {
                    failed = Some(self.error(
                        Diagnostic::error(format!("the value of `{}` must be one pattern", var.value))
                            .at(pattern.span(), "more than one argument")
                            .help("write a single pattern or alternatives of single patterns: `NAME=(a | <int>)`"),
                    ));
                }
                Err(reported) => failed = Some(reported),
            }
        }
        let mut items: &[ItemAst] = &rule.args;
        let mut rest = match rule.rest.as_ref().map(|r| r.value) {
            None => Rest::Exact,
            Some(RestAst::Any) => Rest::Any,
            Some(RestAst::Chain) => Rest::Chain,
        };
        if let Some((ItemAst::Single(Pattern::Typed { name, user, .. }), init)) = items.split_last()
        {
            if name.value == "ip-args..." {
                if let Some(user) = user {
                    failed = Some(self.error(no_user(name, user)));
                }
                if rest != Rest::Exact {
                    failed = Some(
                        self.error(
                            Diagnostic::error(
                                "`<ip-args...>` already takes every remaining argument",
                            )
                            .at(name.span, "here"),
                        ),
                    );
                }
                rest = Rest::IpArgs;
                items = init;
            }
        }
        let args = all(items.iter().map(|item| self.item(item)));
        let (command, sha256, args) = (command?, sha256?, args?);
        if let Some(reported) = failed {
            return Err(reported);
        }
        let steps = crate::steps::bound(&args);
        if steps > u64::from(MAX_MATCH_STEPS) {
            return Err(self.error(
                Diagnostic::error(format!(
                    "rule `{}` can need {steps} matching steps; the runtime gives up after {MAX_MATCH_STEPS}",
                    name.value
                ))
                .at(rule.span, "too many ways through these items")
                .note(None, "the runtime would deny a call that needs more, legitimate or not; an any-order group of n optional items alone can need n \u{d7} 2^(n-1) steps")
                .help("make items of an any-order group required, split the group, or write separate rules"),
            ));
        }
        let (line, _) = self.sources.line_col(rule.span.file, rule.span.start);
        let site = RuleSite {
            span: rule.name.span,
            because: rule.because.as_ref().map(|b| b.value.clone()),
            rest: rule
                .rest
                .as_ref()
                .map(|r| r.span)
                .or_else(|| rule.args.last().map(ItemAst::span)),
            command_span: rule.command.span,
            arg_spans: rule.args.iter().map(ItemAst::span).collect(),
            env_spans: rule.env.iter().map(|(_, value)| value.span()).collect(),
        };
        let rule = Rule {
            id: earlier.len() as u32,
            name: name.value.clone(),
            source: Source {
                file: self.sources.name(rule.span.file).to_string(),
                line: line as u32,
            },
            command,
            sha256,
            run_as,
            env,
            args,
            rest,
        };
        Ok(LoweredRule { rule, site })
    }

    /// `@sha256:HEX`: 64 hexadecimal digits.
    fn digest(&mut self, digest: &Spanned<String>) -> Result<[u8; 32], Reported> {
        rootwrap::binary::parse_hex(&digest.value).ok_or_else(|| {
            self.error(
                Diagnostic::error(format!(
                    "`@sha256:{}` is not a SHA-256 digest",
                    digest.value
                ))
                .at(digest.span, "expected 64 hexadecimal digits")
                .help("`sha256sum FILE` prints it; or compile with `--pin-executables` on a host like the target"),
            )
        })
    }

    fn command(&mut self, command: &Spanned<String>) -> Result<Command, Reported> {
        let text = &command.value;
        if text.contains("@sha256:") {
            return Err(self.error(
                Diagnostic::error(format!("command `{text}` holds `@sha256:`"))
                    .at(command.span, "here")
                    .help(
                        "separate the digest from the command with a space: `COMMAND @sha256:HEX`",
                    ),
            ));
        }
        if text == "env" {
            return Err(self.error(
                Diagnostic::error("`env` cannot be a rule's command")
                    .at(command.span, "here")
                    .help("to let the caller set variables, write `env NAME=PATTERN ... COMMAND ARGS...`"),
            ));
        }
        if text.starts_with('/') {
            if let Err(why) = check_absolute_path(text) {
                return Err(self.error(
                    Diagnostic::error(format!("command path `{text}` {why}"))
                        .at(command.span, "here"),
                ));
            }
            return Ok(Command::Path(text.clone()));
        }
        if text.contains('/') {
            return Err(self.error(
                Diagnostic::error(format!("command `{text}` is a relative path"))
                    .at(command.span, "here")
                    .help("write a bare name (looked up in exec-dirs) or an absolute path"),
            ));
        }
        Ok(Command::Name(text.clone()))
    }

    fn item(&mut self, item: &ItemAst) -> Result<Item, Reported> {
        match item {
            ItemAst::Single(pattern) => self.pattern(pattern).map(Item::One),
            ItemAst::Group(alternatives, _) => {
                let singles: Vec<&Pattern> = alternatives
                    .iter()
                    .filter_map(|seq| match seq.as_slice() {
                        [ItemAst::Single(p)] => Some(p),
                        _ => None,
                    })
                    .collect();
                if alternatives.len() > 1 && singles.len() == alternatives.len() {
                    // One argument, several patterns: the compact form.
                    let lowered = all(singles.iter().map(|p| self.pattern(p)))?;
                    return Ok(Item::One(Arg::OneOf(lowered)));
                }
                let mut lowered = Vec::new();
                for sequence in alternatives {
                    lowered.push(self.sequence(sequence)?);
                }
                match <[Item; 1]>::try_from(lowered) {
                    Ok([one]) => Ok(one),
                    Err(many) => Ok(Item::Alt(many)),
                }
            }
            ItemAst::Optional(items, _) => {
                self.sequence(items).map(|i| Item::Optional(Box::new(i)))
            }
            ItemAst::AnyOrder(items, span) => {
                if items.len() > MAX_ANY_ORDER {
                    return Err(self.error(
                        Diagnostic::error(format!(
                            "an any-order group holds at most {MAX_ANY_ORDER} items"
                        ))
                        .at(*span, "too many items"),
                    ));
                }
                Ok(Item::AnyOrder(all(items.iter().map(|i| self.item(i)))?))
            }
        }
    }

    /// Several items as one: the item itself when there is only one.
    fn sequence(&mut self, items: &[ItemAst]) -> Result<Item, Reported> {
        let lowered = all(items.iter().map(|i| self.item(i)))?;
        match <[Item; 1]>::try_from(lowered) {
            Ok([one]) => Ok(one),
            Err(many) => Ok(Item::Seq(many)),
        }
    }

    fn pattern(&mut self, pattern: &Pattern) -> Result<Arg, Reported> {
        match pattern {
            Pattern::Literal(s) => Ok(Arg::Literal(s.value.clone())),
            Pattern::Regex { source, flags } => self.regex(source, flags.as_ref()),
            Pattern::Typed { name, span, .. } if name.value == "ip-args..." => {
                Err(self.error(
                    Diagnostic::error(
                        "`<ip-args...>` takes the remaining arguments, so it must come last",
                    )
                    .at(*span, "not last"),
                ))
            }
            Pattern::Typed {
                name,
                args,
                user,
                span,
            } => {
                if name.value == "pid" {
                    return self.pid(args, user.as_ref(), *span);
                }
                if let Some(user) = user {
                    return Err(self.error(no_user(name, user)));
                }
                self.typed(name, args, *span)
            }
            Pattern::Prefixed {
                prefix,
                value,
                span,
            } => match self.item(value)? {
                Item::One(Arg::Literal(text)) => {
                    Ok(Arg::Literal(format!("{}{text}", prefix.value)))
                }
                Item::One(value) => Ok(Arg::Prefixed {
                    prefix: prefix.value.clone(),
                    value: Box::new(value),
                }),
                _ => {
                    Err(self.error(
                        Diagnostic::error("a prefix glues to one argument's pattern")
                            .at(*span, "this value spans several arguments")
                            .help("write alternatives of single patterns after the prefix: `--size=(1 | 2)`"),
                    ))
                }
            },
        }
    }

    fn regex(
        &mut self,
        source: &Spanned<String>,
        flags: Option<&Spanned<String>>,
    ) -> Result<Arg, Reported> {
        let mut unicode = false;
        if let Some(flags) = flags {
            for flag in flags.value.chars() {
                match flag {
                    'u' => unicode = true,
                    other => {
                        return Err(self.error(
                            Diagnostic::error(format!("unknown regex flag `{other}`"))
                                .at(flags.span, "here")
                                .help("the only flag is `u` (Unicode classes); use `(?i)` inside the pattern for case-insensitivity"),
                        ));
                    }
                }
            }
        }
        match compile_regex(&source.value, unicode) {
            Ok(dfa) => Ok(Arg::Regex(Regex {
                source: source.value.clone(),
                dfa,
            })),
            Err(why) => Err(self.error(
                Diagnostic::error(why.to_string()).at(source.span, "this regular expression"),
            )),
        }
    }

    fn typed(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<String>],
        span: Span,
    ) -> Result<Arg, Reported> {
        let no_args = |this: &mut Self, arg: Arg| -> Result<Arg, Reported> {
            if let Some(extra) = args.first() {
                return Err(this.error(
                    Diagnostic::error(format!("`<{}>` takes no arguments", name.value))
                        .at(extra.span, "unexpected"),
                ));
            }
            Ok(arg)
        };
        match name.value.as_str() {
            "int" => self.int(args, span),
            "mode" => {
                let mut set = Vec::new();
                let mut ranges = Vec::new();
                for arg in args {
                    let parsed = match arg.value.split_once("..") {
                        Some((low, high)) => values::mode(low.as_bytes())
                            .zip(values::mode(high.as_bytes()))
                            .map(|range| ranges.push(range)),
                        None => values::mode(arg.value.as_bytes()).map(|mode| set.push(mode)),
                    };
                    if parsed.is_none() {
                        return Err(self.error(
                            Diagnostic::error(format!(
                                "`{}` is not an octal mode or mode range",
                                arg.value
                            ))
                            .at(
                                arg.span,
                                "expected 3 or 4 octal digits, e.g. 0644, or a range 0600..0664",
                            ),
                        ));
                    }
                }
                let mut alternatives: Vec<Arg> = Vec::new();
                for (low, high) in ranges {
                    if low & !high != 0 {
                        return Err(self.error(
                            Diagnostic::error(format!("the mode range {low:04o}..{high:04o} is empty"))
                                .at(span, "its lower end has bits its upper end lacks")
                                .help("a mode range gives the bits that must be set and the bits that may be: 0600..0664"),
                        ));
                    }
                    alternatives.push(Arg::ModeBits {
                        required: low,
                        allowed: high,
                    });
                }
                if !set.is_empty() || alternatives.is_empty() {
                    alternatives.insert(0, Arg::Mode(set));
                }
                match <[Arg; 1]>::try_from(alternatives) {
                    Ok([one]) => Ok(one),
                    Err(many) => Ok(Arg::OneOf(many)),
                }
            }
            "signal" => {
                let mut set = Vec::new();
                for arg in args {
                    match values::signal(arg.value.as_bytes()) {
                        Some(signal) => set.push(signal),
                        None => {
                            return Err(self.error(
                                Diagnostic::error(format!("`{}` is not a signal", arg.value))
                                    .at(arg.span, "unknown signal")
                                    .help(
                                        "write a number (9), a name (KILL) or a SIG-name (SIGKILL)",
                                    ),
                            ));
                        }
                    }
                }
                Ok(Arg::Signal(set))
            }
            "uuid" => no_args(self, Arg::Uuid),
            "ipv4" => no_args(self, Arg::Ipv4),
            "ipv6" => no_args(self, Arg::Ipv6),
            "ip" => no_args(self, Arg::Ip),
            "cidr" => no_args(self, Arg::Cidr),
            "mac" => no_args(self, Arg::Mac),
            "ifname" => no_args(self, Arg::IfName),
            "user" => no_args(self, Arg::User),
            "group" => no_args(self, Arg::Group),
            "path" => self.path(args, span, Pin::Object),
            "path-entry" => self.path(args, span, Pin::Entry),
            "path-unpinned" => self.path(args, span, Pin::Unpinned),
            "owner" => no_args(self, Arg::Owner),
            "operand" => no_args(self, Arg::Operand),
            "any" => no_args(self, Arg::Any),
            "netns" => no_args(self, Arg::Netns),
            other => {
                let mut d = Diagnostic::error(format!("unknown type `<{other}>`"))
                    .at(name.span, "not a type");
                d = match did_you_mean(other, TYPES) {
                    Some(close) => d.help(format!("did you mean `<{close}>`?")),
                    None => d.help(format!("known types: {}", TYPES.join(", "))),
                };
                Err(self.error(d))
            }
        }
    }

    /// `<pid TARGET | ... [as USER]>`.
    fn pid(
        &mut self,
        args: &[Spanned<String>],
        user: Option<&Spanned<String>>,
        span: Span,
    ) -> Result<Arg, Reported> {
        if args.is_empty() {
            return Err(self.error(
                Diagnostic::error("`<pid>` needs the executables the process may run")
                    .at(span, "here")
                    .help("e.g. `<pid /usr/sbin/dnsmasq>`, or a bare name found in exec-dirs: `<pid dnsmasq>`"),
            ));
        }
        for target in args {
            let bad = if target.value.starts_with('/') {
                check_absolute_path(&target.value).err()
            } else if target.value.contains('/') {
                Some("is a relative path")
            } else {
                None
            };
            if let Some(why) = bad {
                return Err(self.error(
                    Diagnostic::error(format!("executable `{}` {why}", target.value))
                        .at(target.span, "here"),
                ));
            }
        }
        if let Some(user) = user.filter(|u| !values::is_account_name(u.value.as_bytes())) {
            return Err(self.error(
                Diagnostic::error(format!("`{}` is not a valid user name", user.value))
                    .at(user.span, "here"),
            ));
        }
        Ok(Arg::Pid(PidPattern {
            targets: args.iter().map(|a| a.value.clone()).collect(),
            user: user.map(|u| u.value.clone()),
        }))
    }

    fn int(&mut self, args: &[Spanned<String>], span: Span) -> Result<Arg, Reported> {
        let (min, max) = match args {
            [] => (i64::MIN, i64::MAX),
            [range] => {
                let parsed = range.value.split_once("..").and_then(|(lo, hi)| {
                    let lo = if lo.is_empty() {
                        Some(i64::MIN)
                    } else {
                        values::int(lo.as_bytes())
                    };
                    let hi = if hi.is_empty() {
                        Some(i64::MAX)
                    } else {
                        values::int(hi.as_bytes())
                    };
                    Some((lo?, hi?))
                });
                match parsed {
                    Some((lo, hi)) if lo <= hi => (lo, hi),
                    Some(_) => {
                        return Err(self.error(
                            Diagnostic::error("the range is empty: its start is above its end")
                                .at(range.span, "here"),
                        ));
                    }
                    None => {
                        return Err(self.error(
                            Diagnostic::error(format!("`{}` is not an integer range", range.value))
                                .at(range.span, "here")
                                .help("write `<int MIN..MAX>`, `<int MIN..>` or `<int ..MAX>`, e.g. `<int 1..65535>`"),
                        ));
                    }
                }
            }
            _ => {
                return Err(self
                    .error(Diagnostic::error("`<int>` takes at most one range").at(span, "here")));
            }
        };
        Ok(Arg::Int { min, max })
    }

    fn path(&mut self, args: &[Spanned<String>], span: Span, pin: Pin) -> Result<Arg, Reported> {
        if args.is_empty() {
            return Err(self.error(
                Diagnostic::error(format!("`<{}>` needs at least one allowed location", pin.type_name()))
                    .at(span, "here")
                    .help("e.g. `<path /var/lib/nova/instances/**>` (any depth), `<path /dev/*>` (direct entries) or an exact path"),
            ));
        }
        let mut scopes = Vec::new();
        for arg in args {
            let text = arg.value.as_str();
            let (base, depth) = if let Some(base) = text.strip_suffix("/**") {
                (base, PathDepth::Descendant)
            } else if let Some(base) = text.strip_suffix("/*") {
                (base, PathDepth::Child)
            } else {
                (text, PathDepth::Exactly)
            };
            let base = if base.is_empty() { "/" } else { base };
            if base.contains('*') {
                return Err(self.error(
                    Diagnostic::error(format!("`{text}`: `*` and `**` may only end a path"))
                        .at(arg.span, "here")
                        .help("use `DIR/*` for direct entries of DIR or `DIR/**` for anything below it"),
                ));
            }
            if let Err(why) = check_absolute_path(base) {
                return Err(self.error(
                    Diagnostic::error(format!("path `{text}` {why}")).at(arg.span, "here"),
                ));
            }
            scopes.push(PathScope {
                base: base.to_string(),
                depth,
            });
        }
        Ok(Arg::Path { scopes, pin })
    }

    fn test(&mut self, test: &TestAst) -> PolicyTest {
        let (expect_allow, rule) = match &test.expect {
            Expect::Allow(rule) => (true, rule.clone()),
            Expect::Deny => (false, None),
        };
        PolicyTest {
            expect_allow,
            rule,
            argv: test.argv.iter().map(|a| a.value.clone()).collect(),
            span: test.span,
        }
    }
}

/// Whether an `env` value is a literal or a group of literals.
fn literal_values(item: &ItemAst) -> bool {
    match item {
        ItemAst::Single(Pattern::Literal(_)) => true,
        ItemAst::Group(alternatives, _) => alternatives
            .iter()
            .all(|seq| matches!(seq.as_slice(), [ItemAst::Single(Pattern::Literal(_))])),
        _ => false,
    }
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// `Ok` for an absolute path with no empty, `.` or `..` components and no
/// trailing slash (except `/` itself); otherwise why not.
pub fn check_absolute_path(path: &str) -> Result<(), &'static str> {
    if !path.starts_with('/') {
        return Err("is not absolute");
    }
    if path == "/" {
        return Ok(());
    }
    if path.ends_with('/') {
        return Err("ends with `/`");
    }
    if path[1..]
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("is not normalized (it has `//`, `.` or `..`)");
    }
    Ok(())
}

/// Why a regex cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexError {
    /// It does not parse, or uses what a DFA cannot do.
    Invalid { source: String, why: String },
    /// Its automaton exceeds a size limit: `bytes` when it was built and
    /// came out above [`MAX_DFA_BYTES`].
    TooBig {
        source: String,
        bytes: Option<usize>,
    },
    /// The built DFA cannot be turned into the sparse form the runtime reads.
    NotSparse { source: String, why: String },
}

impl std::fmt::Display for RegexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegexError::Invalid { source, why } => write!(f, "invalid regex `{source}`: {why}"),
            RegexError::TooBig {
                source,
                bytes: None,
            } => write!(
                f,
                "regex `{source}` is too big: its automaton exceeds the size limit"
            ),
            RegexError::TooBig {
                source,
                bytes: Some(bytes),
            } => write!(
                f,
                "regex `{source}` is too big: its automaton takes {bytes} bytes, the limit is {MAX_DFA_BYTES}"
            ),
            RegexError::NotSparse { source, why } => {
                write!(f, "regex `{source}` cannot be compiled: {why}")
            }
        }
    }
}

/// Compiles a regex to a serialized sparse DFA that accepts exactly the
/// strings the whole of which match.
pub fn compile_regex(source: &str, unicode: bool) -> Result<Vec<u8>, RegexError> {
    // Parsed alone first: text such as `a)|(b` must not escape the anchors
    // it is wrapped in below.
    syntax::parse_with(
        source,
        &syntax::Config::new().unicode(unicode).utf8(unicode),
    )
    .map_err(|e| RegexError::Invalid {
        source: source.to_string(),
        why: last_line(&e.to_string()),
    })?;
    let pattern = format!("^(?:{source})$");
    let dfa = dense::Builder::new()
        .syntax(syntax::Config::new().unicode(unicode).utf8(unicode))
        .thompson(
            thompson::Config::new()
                .utf8(unicode)
                .nfa_size_limit(Some(MAX_DFA_BYTES * 4)),
        )
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                .minimize(true)
                .dfa_size_limit(Some(MAX_DFA_BYTES * 8))
                .determinize_size_limit(Some(MAX_DFA_BYTES * 8)),
        )
        .build(&pattern)
        .map_err(|e| {
            let nfa_too_big = std::error::Error::source(&e)
                .and_then(|inner| inner.downcast_ref::<thompson::BuildError>())
                .is_some_and(|nfa| nfa.size_limit().is_some());
            if e.is_size_limit_exceeded() || nfa_too_big {
                return RegexError::TooBig {
                    source: source.to_string(),
                    bytes: None,
                };
            }
            let mut text = e.to_string();
            let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
            while let Some(inner) = cause {
                text = inner.to_string();
                cause = inner.source();
            }
            RegexError::Invalid {
                source: source.to_string(),
                why: last_line(&text),
            }
        })?;
    let sparse = dfa.to_sparse().map_err(|e| RegexError::NotSparse {
        source: source.to_string(),
        why: e.to_string(),
    })?;
    let bytes = sparse.to_bytes_little_endian();
    if bytes.len() > MAX_DFA_BYTES {
        return Err(RegexError::TooBig {
            source: source.to_string(),
            bytes: Some(bytes.len()),
        });
    }
    Ok(bytes)
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_errors_by_kind() {
        let too_big = |source: &str| RegexError::TooBig {
            source: source.to_string(),
            bytes: None,
        };
        // The DFA of "an `a` twenty characters from the end" has 2^20 states.
        let dfa = "[ab]*a[ab]{20}";
        assert_eq!(compile_regex(dfa, false), Err(too_big(dfa)));
        // Unicode word characters, repeated: the NFA alone is over its limit.
        let nfa = r"\w{1000}";
        assert_eq!(compile_regex(nfa, true), Err(too_big(nfa)));
        assert!(matches!(
            compile_regex("a)|(b", false),
            Err(RegexError::Invalid { .. })
        ));
        assert!(compile_regex("[0-9]+", false).is_ok());
    }
}
