//! Step two: syntax trees to the ruleset's types, validating everything that
//! can be checked offline (names, paths, types, ranges, regexes).

use std::collections::HashMap;

use regex_automata::dfa::{dense, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;

use rootwrap::types::{
    Arg, Command, EnvVar, Item, LogOptions, OnLogFailure, Options, PathDepth, PathScope,
    PidPattern, Pin, Regex, Rest, Rule, RunAs, Source, SyslogTarget, MAX_ANY_ORDER,
    MAX_MATCH_STEPS,
};
use rootwrap::values;

use crate::diag::{did_you_mean, Diagnostic, Sources, Span, Spanned};
use crate::env::{self, Restriction};
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

/// A lowered policy: options, rules in declaration order, and the policy
/// tests still to run.
#[derive(Debug, Default)]
pub struct Policy {
    pub options: Options,
    pub rules: Vec<Rule>,
    /// Rule name to where it is declared (and its `because`, if any).
    pub rule_sites: HashMap<String, RuleSite>,
    pub tests: Vec<PolicyTest>,
}

#[derive(Debug, Clone)]
pub struct RuleSite {
    pub span: Span,
    pub because: Option<String>,
    /// Where the rule's rest (`...`, `then allowed`, `<ip-args...>`) is.
    pub rest: Option<Span>,
    pub command_span: Span,
    /// Spans of the rule's argument patterns, in order.
    pub arg_spans: Vec<Span>,
    /// Spans of the values of the rule's `env` variables, in order.
    pub env_spans: Vec<Span>,
}

#[derive(Debug, Clone)]
pub struct PolicyTest {
    pub expect_allow: bool,
    pub rule: Option<Spanned<String>>,
    pub argv: Vec<String>,
    pub span: Span,
}

struct Lowering<'a> {
    sources: &'a Sources,
    diagnostics: Vec<Diagnostic>,
    options: HashMap<String, OptionAst>,
}

/// Lowers the statements of every file, in order. Returns the policy and
/// every diagnostic found (errors and warnings).
pub fn lower(sources: &Sources, files: &[Vec<Statement>]) -> (Policy, Vec<Diagnostic>) {
    let mut lowering = Lowering {
        sources,
        diagnostics: Vec::new(),
        options: HashMap::new(),
    };
    let mut policy = Policy::default();
    for statements in files {
        for statement in statements {
            match statement {
                Statement::Option(option) => lowering.option(option),
                Statement::Rule(rule) => {
                    if let Some(lowered) = lowering.rule(rule, &policy, policy.rules.len() as u32) {
                        policy.rule_sites.insert(
                            lowered.name.clone(),
                            RuleSite {
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
                            },
                        );
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
            if !policy.rule_sites.contains_key(&name.value) {
                let known: Vec<&str> = policy.rule_sites.keys().map(String::as_str).collect();
                let mut d = Diagnostic::error(format!(
                    "the test names rule `{}`, which does not exist",
                    name.value
                ))
                .at(name.span, "no rule of this name");
                if let Some(close) = did_you_mean(&name.value, &known) {
                    d = d.help(format!("did you mean `{close}`?"));
                }
                lowering.diagnostics.push(d);
            }
        }
    }
    (policy, lowering.diagnostics)
}

impl Lowering<'_> {
    fn error(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
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

    fn finish_options(&mut self, rules: &[Rule]) -> Options {
        let mut options = Options::default();
        self.log_options(&mut options.log);
        match self.options.get("ruleset").cloned() {
            Some(option) => match option.values.as_slice() {
                [name] if is_identifier(&name.value) => options.name = name.value.clone(),
                _ => self.error(
                    Diagnostic::error("`ruleset` takes one name")
                        .at(option.span, "here")
                        .help(
                            "for example `ruleset nova-compute` (letters, digits, `-`, `_`, `.`)",
                        ),
                ),
            },
            None => self.error(
                Diagnostic::error("no `ruleset NAME` in any input file").help(
                    "add `ruleset NAME` to one file: the name identifies the ruleset in logs",
                ),
            ),
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
            if let Some(rule) = rules.iter().find(|r| matches!(r.command, Command::Name(_))) {
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
                Some("syslog") => log.syslog = self.syslog_target(&option),
                Some("json") => match option.values.as_slice() {
                    [_, path] if check_absolute_path(&path.value).is_ok() => log.json = Some(path.value.clone()),
                    _ => self.error(
                        Diagnostic::error("`log json` takes one absolute path")
                            .at(option.span, "here")
                            .help("e.g. `log json /var/log/rootwrap/audit.jsonl`"),
                    ),
                },
                _ => self.error(
                    Diagnostic::error("`log` takes a target: `syslog` or `json`")
                        .at(option.span, "here")
                        .help("`log syslog facility=authpriv allowed-level=info denied-level=warning` or `log json /var/log/rootwrap/audit.jsonl`"),
                ),
            }
        }
        if let Some(option) = self.options.get("on-log-failure").cloned() {
            match option.values.as_slice() {
                [v] if v.value == "refuse" => log.on_failure = OnLogFailure::Refuse,
                [v] if v.value == "continue" => log.on_failure = OnLogFailure::Continue,
                _ => self.error(
                    Diagnostic::error("`on-log-failure` is `refuse` or `continue`")
                        .at(option.span, "here")
                        .help("`refuse` (the default) refuses a call that cannot be logged; `continue` runs it and warns on stderr"),
                ),
            }
        }
    }

    fn syslog_target(&mut self, option: &OptionAst) -> Option<SyslogTarget> {
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
                    self.error(
                        Diagnostic::error(format!("unknown syslog setting `{key}`"))
                            .at(setting.span, "here")
                            .help(
                                "settings: facility=NAME, allowed-level=LEVEL, denied-level=LEVEL",
                            ),
                    );
                    return None;
                }
            };
            match found {
                Some(code) => *slot = code,
                None => {
                    let names: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
                    self.error(
                        Diagnostic::error(format!("`{value}` is not a syslog {key}"))
                            .at(setting.span, "here")
                            .help(format!("one of: {}", names.join(", "))),
                    );
                    return None;
                }
            }
        }
        // Lower numbers are more severe.
        if target.denied_level > target.allowed_level {
            self.error(
                Diagnostic::error("denials must be logged at least as severely as allowed calls")
                    .at(option.span, "denied-level is below allowed-level")
                    .help("e.g. allowed-level=info denied-level=warning"),
            );
            return None;
        }
        Some(target)
    }

    fn rule(&mut self, rule: &RuleAst, policy: &Policy, id: u32) -> Option<Rule> {
        let errors_before = self.error_count();
        let name = &rule.name;
        if let Some(first) = policy.rule_sites.get(&name.value) {
            self.error(
                Diagnostic::error(format!("rule `{}` is defined twice", name.value))
                    .at(name.span, "defined again here")
                    .note(Some(first.span), "first defined here")
                    .help("rule names identify rules in logs and tests: rename one of them"),
            );
        }
        let run_as = match &rule.run_as {
            None => RunAs::Root,
            Some(user) if user.value == "root" => RunAs::Root,
            Some(user) => {
                if !values::is_account_name(user.value.as_bytes()) {
                    self.error(
                        Diagnostic::error(format!("`{}` is not a valid user name", user.value))
                            .at(user.span, "here"),
                    );
                }
                RunAs::User(user.value.clone())
            }
        };
        let command = self.command(&rule.command);
        let sha256 = rule.sha256.as_ref().and_then(|digest| self.digest(digest));
        let mut env: Vec<EnvVar> = Vec::new();
        for (var, pattern) in &rule.env {
            if let Some(entry) = env::restriction(&var.value) {
                if entry.restriction == Restriction::Forbidden {
                    self.error(
                        Diagnostic::error(format!("a rule may not let the caller set `{}`", var.value))
                            .at(var.span, format!("`{}`: {}", entry.names.shown(), entry.why))
                            .help("allow the command without it (the book lists the forbidden variables under Environment variables)"),
                    );
                } else if !literal_values(pattern) {
                    self.error(
                        Diagnostic::error(format!("`{}` may only be set to literal values", var.value))
                            .at(pattern.span(), format!("`{}`: {}", entry.names.shown(), entry.why))
                            .help("spell out the values the command needs, e.g. `LC_ALL=C`, `LANG=(C | C.UTF-8)` or `TZ=UTC`"),
                    );
                }
            }
            if env.iter().any(|v| v.name == var.value) {
                self.error(
                    Diagnostic::error(format!("variable `{}` is listed twice", var.value))
                        .at(var.span, "again"),
                );
            }
            let value = match self.item(pattern) {
                Some(Item::One(arg)) => Some(arg),
                Some(_) => {
                    self.error(
                        Diagnostic::error(format!("the value of `{}` must be one pattern", var.value))
                            .at(pattern.span(), "more than one argument")
                            .help("write a single pattern or alternatives of single patterns: `NAME=(a | <int>)`"),
                    );
                    None
                }
                None => None,
            };
            if let Some(value) = value {
                env.push(EnvVar {
                    name: var.value.clone(),
                    value,
                });
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
                    self.error(no_user(name, user));
                }
                if rest != Rest::Exact {
                    self.error(
                        Diagnostic::error("`<ip-args...>` already takes every remaining argument")
                            .at(name.span, "here"),
                    );
                }
                rest = Rest::IpArgs;
                items = init;
            }
        }
        let args: Vec<Item> = items.iter().filter_map(|item| self.item(item)).collect();
        if args.len() != items.len() && self.error_count() == errors_before {
            self.error(Diagnostic::error("internal error: an item was dropped").at(rule.span, ""));
        }
        if self.error_count() > errors_before {
            return None;
        }
        let steps = crate::steps::bound(&args);
        if steps > u64::from(MAX_MATCH_STEPS) {
            self.error(
                Diagnostic::error(format!(
                    "rule `{}` can need {steps} matching steps; the runtime gives up after {MAX_MATCH_STEPS}",
                    name.value
                ))
                .at(rule.span, "too many ways through these items")
                .note(None, "the runtime would deny a call that needs more, legitimate or not; an any-order group of n optional items alone can need n \u{d7} 2^(n-1) steps")
                .help("make items of an any-order group required, split the group, or write separate rules"),
            );
            return None;
        }
        let (line, _) = self.sources.line_col(rule.span.file, rule.span.start);
        Some(Rule {
            id,
            name: name.value.clone(),
            source: Source {
                file: self.sources.name(rule.span.file).to_string(),
                line: line as u32,
            },
            command: command?,
            sha256,
            run_as,
            env,
            args,
            rest,
        })
    }

    fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }

    /// `@sha256:HEX`: 64 hexadecimal digits.
    fn digest(&mut self, digest: &Spanned<String>) -> Option<[u8; 32]> {
        let parsed = rootwrap::binary::parse_hex(&digest.value);
        if parsed.is_none() {
            self.error(
                Diagnostic::error(format!(
                    "`@sha256:{}` is not a SHA-256 digest",
                    digest.value
                ))
                .at(digest.span, "expected 64 hexadecimal digits")
                .help("`sha256sum FILE` prints it; or compile with `--pin-executables` on a host like the target"),
            );
        }
        parsed
    }

    fn command(&mut self, command: &Spanned<String>) -> Option<Command> {
        let text = &command.value;
        if text.contains("@sha256:") {
            self.error(
                Diagnostic::error(format!("command `{text}` holds `@sha256:`"))
                    .at(command.span, "here")
                    .help(
                        "separate the digest from the command with a space: `COMMAND @sha256:HEX`",
                    ),
            );
            return None;
        }
        if text == "env" {
            self.error(
                Diagnostic::error("`env` cannot be a rule's command")
                    .at(command.span, "here")
                    .help("to let the caller set variables, write `env NAME=PATTERN ... COMMAND ARGS...`"),
            );
            return None;
        }
        if text.starts_with('/') {
            if let Err(why) = check_absolute_path(text) {
                self.error(
                    Diagnostic::error(format!("command path `{text}` {why}"))
                        .at(command.span, "here"),
                );
                return None;
            }
            return Some(Command::Path(text.clone()));
        }
        if text.contains('/') {
            self.error(
                Diagnostic::error(format!("command `{text}` is a relative path"))
                    .at(command.span, "here")
                    .help("write a bare name (looked up in exec-dirs) or an absolute path"),
            );
            return None;
        }
        Some(Command::Name(text.clone()))
    }

    fn item(&mut self, item: &ItemAst) -> Option<Item> {
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
                    let lowered: Vec<Arg> =
                        singles.iter().filter_map(|p| self.pattern(p)).collect();
                    return (lowered.len() == singles.len())
                        .then_some(Item::One(Arg::OneOf(lowered)));
                }
                let mut lowered = Vec::new();
                for sequence in alternatives {
                    lowered.push(self.sequence(sequence)?);
                }
                match lowered.len() {
                    1 => lowered.pop(),
                    _ => Some(Item::Alt(lowered)),
                }
            }
            ItemAst::Optional(items, _) => {
                self.sequence(items).map(|i| Item::Optional(Box::new(i)))
            }
            ItemAst::AnyOrder(items, span) => {
                if items.len() > MAX_ANY_ORDER {
                    self.error(
                        Diagnostic::error(format!(
                            "an any-order group holds at most {MAX_ANY_ORDER} items"
                        ))
                        .at(*span, "too many items"),
                    );
                    return None;
                }
                let lowered: Vec<Item> = items.iter().filter_map(|i| self.item(i)).collect();
                (lowered.len() == items.len()).then_some(Item::AnyOrder(lowered))
            }
        }
    }

    /// Several items as one: the item itself when there is only one.
    fn sequence(&mut self, items: &[ItemAst]) -> Option<Item> {
        let lowered: Vec<Item> = items.iter().filter_map(|i| self.item(i)).collect();
        if lowered.len() != items.len() {
            return None;
        }
        match <[Item; 1]>::try_from(lowered) {
            Ok([one]) => Some(one),
            Err(many) => Some(Item::Seq(many)),
        }
    }

    fn pattern(&mut self, pattern: &Pattern) -> Option<Arg> {
        match pattern {
            Pattern::Literal(s) => Some(Arg::Literal(s.value.clone())),
            Pattern::Regex { source, flags } => self.regex(source, flags.as_ref()),
            Pattern::Typed { name, span, .. } if name.value == "ip-args..." => {
                self.error(
                    Diagnostic::error(
                        "`<ip-args...>` takes the remaining arguments, so it must come last",
                    )
                    .at(*span, "not last"),
                );
                None
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
                    self.error(no_user(name, user));
                    return None;
                }
                self.typed(name, args, *span)
            }
            Pattern::Prefixed {
                prefix,
                value,
                span,
            } => match self.item(value)? {
                Item::One(Arg::Literal(text)) => {
                    Some(Arg::Literal(format!("{}{text}", prefix.value)))
                }
                Item::One(value) => Some(Arg::Prefixed {
                    prefix: prefix.value.clone(),
                    value: Box::new(value),
                }),
                _ => {
                    self.error(
                        Diagnostic::error("a prefix glues to one argument's pattern")
                            .at(*span, "this value spans several arguments")
                            .help("write alternatives of single patterns after the prefix: `--size=(1 | 2)`"),
                    );
                    None
                }
            },
        }
    }

    fn regex(&mut self, source: &Spanned<String>, flags: Option<&Spanned<String>>) -> Option<Arg> {
        let mut unicode = false;
        if let Some(flags) = flags {
            for flag in flags.value.chars() {
                match flag {
                    'u' => unicode = true,
                    other => {
                        self.error(
                            Diagnostic::error(format!("unknown regex flag `{other}`"))
                                .at(flags.span, "here")
                                .help("the only flag is `u` (Unicode classes); use `(?i)` inside the pattern for case-insensitivity"),
                        );
                        return None;
                    }
                }
            }
        }
        match compile_regex(&source.value, unicode) {
            Ok(dfa) => Some(Arg::Regex(Regex {
                source: source.value.clone(),
                dfa,
            })),
            Err(why) => {
                self.error(Diagnostic::error(why).at(source.span, "this regular expression"));
                None
            }
        }
    }

    fn typed(
        &mut self,
        name: &Spanned<String>,
        args: &[Spanned<String>],
        span: Span,
    ) -> Option<Arg> {
        let no_args = |this: &mut Self, arg: Arg| -> Option<Arg> {
            if let Some(extra) = args.first() {
                this.error(
                    Diagnostic::error(format!("`<{}>` takes no arguments", name.value))
                        .at(extra.span, "unexpected"),
                );
                return None;
            }
            Some(arg)
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
                        self.error(
                            Diagnostic::error(format!(
                                "`{}` is not an octal mode or mode range",
                                arg.value
                            ))
                            .at(
                                arg.span,
                                "expected 3 or 4 octal digits, e.g. 0644, or a range 0600..0664",
                            ),
                        );
                        return None;
                    }
                }
                let mut alternatives: Vec<Arg> = Vec::new();
                for (low, high) in ranges {
                    if low & !high != 0 {
                        self.error(
                            Diagnostic::error(format!("the mode range {low:04o}..{high:04o} is empty"))
                                .at(span, "its lower end has bits its upper end lacks")
                                .help("a mode range gives the bits that must be set and the bits that may be: 0600..0664"),
                        );
                        return None;
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
                    Ok([one]) => Some(one),
                    Err(many) => Some(Arg::OneOf(many)),
                }
            }
            "signal" => {
                let mut set = Vec::new();
                for arg in args {
                    match values::signal(arg.value.as_bytes()) {
                        Some(signal) => set.push(signal),
                        None => {
                            self.error(
                                Diagnostic::error(format!("`{}` is not a signal", arg.value))
                                    .at(arg.span, "unknown signal")
                                    .help(
                                        "write a number (9), a name (KILL) or a SIG-name (SIGKILL)",
                                    ),
                            );
                            return None;
                        }
                    }
                }
                Some(Arg::Signal(set))
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
                self.error(d);
                None
            }
        }
    }

    /// `<pid TARGET | ... [as USER]>`.
    fn pid(
        &mut self,
        args: &[Spanned<String>],
        user: Option<&Spanned<String>>,
        span: Span,
    ) -> Option<Arg> {
        if args.is_empty() {
            self.error(
                Diagnostic::error("`<pid>` needs the executables the process may run")
                    .at(span, "here")
                    .help("e.g. `<pid /usr/sbin/dnsmasq>`, or a bare name found in exec-dirs: `<pid dnsmasq>`"),
            );
            return None;
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
                self.error(
                    Diagnostic::error(format!("executable `{}` {why}", target.value))
                        .at(target.span, "here"),
                );
                return None;
            }
        }
        if let Some(user) = user.filter(|u| !values::is_account_name(u.value.as_bytes())) {
            self.error(
                Diagnostic::error(format!("`{}` is not a valid user name", user.value))
                    .at(user.span, "here"),
            );
            return None;
        }
        Some(Arg::Pid(PidPattern {
            targets: args.iter().map(|a| a.value.clone()).collect(),
            user: user.map(|u| u.value.clone()),
        }))
    }

    fn int(&mut self, args: &[Spanned<String>], span: Span) -> Option<Arg> {
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
                        self.error(
                            Diagnostic::error("the range is empty: its start is above its end")
                                .at(range.span, "here"),
                        );
                        return None;
                    }
                    None => {
                        self.error(
                            Diagnostic::error(format!("`{}` is not an integer range", range.value))
                                .at(range.span, "here")
                                .help("write `<int MIN..MAX>`, `<int MIN..>` or `<int ..MAX>`, e.g. `<int 1..65535>`"),
                        );
                        return None;
                    }
                }
            }
            _ => {
                self.error(Diagnostic::error("`<int>` takes at most one range").at(span, "here"));
                return None;
            }
        };
        Some(Arg::Int { min, max })
    }

    fn path(&mut self, args: &[Spanned<String>], span: Span, pin: Pin) -> Option<Arg> {
        if args.is_empty() {
            self.error(
                Diagnostic::error(format!("`<{}>` needs at least one allowed location", pin.type_name()))
                    .at(span, "here")
                    .help("e.g. `<path /var/lib/nova/instances/**>` (any depth), `<path /dev/*>` (direct entries) or an exact path"),
            );
            return None;
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
                self.error(
                    Diagnostic::error(format!("`{text}`: `*` and `**` may only end a path"))
                        .at(arg.span, "here")
                        .help("use `DIR/*` for direct entries of DIR or `DIR/**` for anything below it"),
                );
                return None;
            }
            if let Err(why) = check_absolute_path(base) {
                self.error(Diagnostic::error(format!("path `{text}` {why}")).at(arg.span, "here"));
                return None;
            }
            scopes.push(PathScope {
                base: base.to_string(),
                depth,
            });
        }
        Some(Arg::Path { scopes, pin })
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

/// Compiles a regex to a serialized sparse DFA that accepts exactly the
/// strings the whole of which match.
#[cfg(not(fuzzing))]
pub fn compile_regex(source: &str, unicode: bool) -> Result<rootwrap::types::Dfa, String> {
    build_regex(source, unicode)
}

/// In fuzz builds only (cargo-fuzz sets `--cfg fuzzing`), remembered: the
/// `filter_source` target compiles mutations of the same files, whose
/// regexes repeat, and building their automata was half of its time. The
/// result depends only on the arguments.
#[cfg(fuzzing)]
pub fn compile_regex(source: &str, unicode: bool) -> Result<rootwrap::types::Dfa, String> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    type Built = HashMap<(String, bool), Result<rootwrap::types::Dfa, String>>;
    thread_local! {
        static BUILT: RefCell<Built> = RefCell::default();
    }
    let key = (source.to_string(), unicode);
    if let Some(found) = BUILT.with(|built| built.borrow().get(&key).cloned()) {
        return found;
    }
    let result = build_regex(source, unicode);
    BUILT.with(|built| {
        let mut built = built.borrow_mut();
        if built.len() >= 4096 {
            built.clear();
        }
        built.insert(key, result.clone());
    });
    result
}

fn build_regex(source: &str, unicode: bool) -> Result<rootwrap::types::Dfa, String> {
    // Parsed alone first: text such as `a)|(b` must not escape the anchors
    // it is wrapped in below.
    syntax::parse_with(
        source,
        &syntax::Config::new().unicode(unicode).utf8(unicode),
    )
    .map_err(|e| format!("invalid regex `{source}`: {}", last_line(&e.to_string())))?;
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
            let mut text = e.to_string();
            let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
            while let Some(inner) = cause {
                text = inner.to_string();
                cause = inner.source();
            }
            if text.contains("exceeded") || text.contains("limit") {
                format!("regex `{source}` is too big: its automaton exceeds the size limit")
            } else {
                format!("invalid regex `{source}`: {}", last_line(&text))
            }
        })?;
    let sparse = dfa
        .to_sparse()
        .map_err(|e| format!("regex `{source}` cannot be compiled: {e}"))?;
    let bytes = sparse.to_bytes_little_endian();
    if bytes.len() > MAX_DFA_BYTES {
        return Err(format!(
            "regex `{source}` is too big: its automaton takes {} bytes, the limit is {MAX_DFA_BYTES}",
            bytes.len()
        ));
    }
    rootwrap::types::Dfa::from_bytes(bytes)
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_string()
}
