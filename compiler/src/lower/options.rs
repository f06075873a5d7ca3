//! The ruleset's options: `ruleset`, `exec-dirs`, `log`, `on-log-failure`,
//! `daemon`.

use rootwrap::types::{Command, DaemonOptions, LogOptions, OnLogFailure, Options, SyslogTarget};

use super::{check_absolute_path, is_identifier, Lowering};
use crate::diag::{did_you_mean, Diagnostic, Reported};
use crate::lint::Lint;
use crate::policy::LoweredRule;
use crate::syntax::OptionAst;

const OPTIONS: &[&str] = &["ruleset", "exec-dirs", "log", "on-log-failure", "daemon"];

/// The largest `daemon idle-timeout=` (a year, in seconds).
pub const MAX_IDLE_TIMEOUT: u32 = 31_536_000;
/// The syslog facilities `log syslog facility=NAME` takes, by name.
pub const SYSLOG_FACILITIES: &[(&str, i32)] = &[
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
/// The syslog levels `allowed-level=` and `denied-level=` take, by name.
pub const LEVELS: &[(&str, i32)] = &[
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

impl Lowering<'_> {
    pub(super) fn option(&mut self, option: &OptionAst) {
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

    pub(super) fn finish_options(&mut self, rules: &[LoweredRule]) -> Options {
        let mut options = Options::default();
        self.log_options(&mut options.log);
        self.daemon_options(&mut options.daemon);
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
            if let Some((rule, command)) = rules.iter().find_map(|r| {
                let bare = r.rule.commands().find(|c| matches!(c, Command::Name(_)))?;
                Some((&r.rule, bare))
            }) {
                d = d.note(
                    None,
                    format!(
                        "rule `{}` names its command `{}` without a path",
                        rule.name,
                        command.as_str()
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
                        if let Some(dir) = crate::lint::world_writable_above(&path.value) {
                            self.reporter.warning(
                                Diagnostic::warning(
                                    Lint::LogPath,
                                    format!("the audit log {} is below {dir}, which anyone may write to on this host", path.value),
                                )
                                .at(path.span, "anyone may create this name first, or a link in its place")
                                .help("keep the audit log in a directory only root can write, e.g. `/var/log/rootwrap/`"),
                            );
                        }
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
                SYSLOG_FACILITIES
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

    /// `daemon idle-timeout=SECONDS max-running=N max-waiting=N
    /// users=NAME,... groups=NAME,...`: each setting optional, the option
    /// set once.
    fn daemon_options(&mut self, daemon: &mut DaemonOptions) {
        let Some(option) = self.options.get("daemon").cloned() else {
            return;
        };
        const HELP: &str = "settings: idle-timeout=SECONDS (0: never), max-running=N, max-waiting=N, users=NAME[,NAME...], groups=NAME[,NAME...]";
        if option.values.is_empty() {
            self.error(
                Diagnostic::error("`daemon` takes settings")
                    .at(option.span, "here")
                    .help(HELP),
            );
            return;
        }
        let mut seen: Vec<String> = Vec::new();
        for setting in &option.values {
            let (key, value) = setting
                .value
                .split_once('=')
                .unwrap_or((setting.value.as_str(), ""));
            if seen.iter().any(|k| k == key) {
                self.error(
                    Diagnostic::error(format!("`{key}` is set twice"))
                        .at(setting.span, "again here"),
                );
                continue;
            }
            seen.push(key.to_string());
            let number = |low: u32, high: u32| -> Option<u32> {
                value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (low..=high).contains(n))
                    .filter(|_| value.bytes().all(|b| b.is_ascii_digit()))
            };
            let (bounds, slot) = match key {
                "idle-timeout" => ((0, MAX_IDLE_TIMEOUT), &mut daemon.idle_timeout_secs),
                "max-running" => ((1, 1024), &mut daemon.max_running),
                "max-waiting" => ((0, 4096), &mut daemon.max_waiting),
                "users" | "groups" => {
                    let names: Vec<&str> = value.split(',').collect();
                    if let Some(bad) = names
                        .iter()
                        .find(|n| !rootwrap::values::is_account_name(n.as_bytes()))
                    {
                        self.error(
                            Diagnostic::error(format!(
                                "`{bad}` is not a valid {} name",
                                &key[..key.len() - 1]
                            ))
                            .at(setting.span, "here")
                            .help(format!("`{key}=NAME[,NAME...]`, no spaces")),
                        );
                        continue;
                    }
                    let list = names.into_iter().map(str::to_string).collect();
                    if key == "users" {
                        daemon.users = list;
                    } else {
                        daemon.groups = list;
                    }
                    continue;
                }
                _ => {
                    self.error(
                        Diagnostic::error(format!("unknown daemon setting `{key}`"))
                            .at(setting.span, "here")
                            .help(HELP),
                    );
                    continue;
                }
            };
            match number(bounds.0, bounds.1) {
                Some(n) => *slot = n,
                None => {
                    self.error(
                        Diagnostic::error(format!(
                            "`{key}` takes a whole number from {} to {}",
                            bounds.0, bounds.1
                        ))
                        .at(setting.span, "here"),
                    );
                }
            }
        }
    }
}
