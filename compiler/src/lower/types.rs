//! The argument types (`<int 1..10>`, `<path DIR/**>`, ...): one registry
//! entry each, with its name and how it is lowered. Adding a type is one
//! entry here (and its `Arg` in the runtime).

use rootwrap::types::{Arg, PathDepth, PathScope, PidPattern, Pin};
use rootwrap::values;

use super::{check_absolute_path, Lowering};
use crate::diag::{did_you_mean, Diagnostic, Reported, Span, Spanned};

/// A `<NAME ARGS... [as USER]>` pattern, as written.
#[derive(Clone, Copy)]
pub(super) struct Typed<'a> {
    pub name: &'a Spanned<String>,
    pub args: &'a [Spanned<String>],
    pub user: Option<&'a Spanned<String>>,
    pub span: Span,
}

pub(super) struct ArgType {
    pub name: &'static str,
    /// Whether `as USER` may follow (else it is refused before `lower`).
    pub takes_user: bool,
    pub lower: for<'a, 'b> fn(&mut Lowering<'a>, Typed<'b>) -> Result<Arg, Reported>,
}

/// Every type, in the order `known types:` lists them.
pub(super) const TYPES: &[ArgType] = &[
    ArgType {
        name: "int",
        takes_user: false,
        lower: |l, t| l.int(t),
    },
    ArgType {
        name: "mode",
        takes_user: false,
        lower: |l, t| l.mode(t),
    },
    ArgType {
        name: "signal",
        takes_user: false,
        lower: |l, t| l.signal(t),
    },
    ArgType {
        name: "uuid",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Uuid),
    },
    ArgType {
        name: "ipv4",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Ipv4),
    },
    ArgType {
        name: "ipv6",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Ipv6),
    },
    ArgType {
        name: "ip",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Ip),
    },
    ArgType {
        name: "cidr",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Cidr),
    },
    ArgType {
        name: "mac",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Mac),
    },
    ArgType {
        name: "ifname",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::IfName),
    },
    ArgType {
        name: "user",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::User),
    },
    ArgType {
        name: "group",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Group),
    },
    ArgType {
        name: "owner",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Owner),
    },
    ArgType {
        name: "path",
        takes_user: false,
        lower: |l, t| l.path(t, Pin::Object),
    },
    ArgType {
        name: "path-entry",
        takes_user: false,
        lower: |l, t| l.path(t, Pin::Entry),
    },
    ArgType {
        name: "path-unpinned",
        takes_user: false,
        lower: |l, t| l.path(t, Pin::Unpinned),
    },
    ArgType {
        name: "pid",
        takes_user: true,
        lower: |l, t| l.pid(t),
    },
    ArgType {
        name: "operand",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Operand),
    },
    ArgType {
        name: "any",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Any),
    },
    ArgType {
        name: "netns",
        takes_user: false,
        lower: |l, t| l.no_args(t, Arg::Netns),
    },
    ArgType {
        name: "ip-args...",
        takes_user: true,
        lower: |l, t| l.ip_args_not_last(t),
    },
];

pub(super) fn find(name: &str) -> Option<&'static ArgType> {
    TYPES.iter().find(|t| t.name == name)
}

/// `unknown type`, with the closest known name.
pub(super) fn unknown(name: &Spanned<String>) -> Diagnostic {
    let names: Vec<&str> = TYPES.iter().map(|t| t.name).collect();
    let d =
        Diagnostic::error(format!("unknown type `<{}>`", name.value)).at(name.span, "not a type");
    match did_you_mean(&name.value, &names) {
        Some(close) => d.help(format!("did you mean `<{close}>`?")),
        None => d.help(format!("known types: {}", names.join(", "))),
    }
}

impl Lowering<'_> {
    fn no_args(&mut self, t: Typed<'_>, arg: Arg) -> Result<Arg, Reported> {
        if let Some(extra) = t.args.first() {
            return Err(self.error(
                Diagnostic::error(format!("`<{}>` takes no arguments", t.name.value))
                    .at(extra.span, "unexpected"),
            ));
        }
        Ok(arg)
    }

    /// `<ip-args...>` anywhere but last (the rule takes it as its rest).
    fn ip_args_not_last(&mut self, t: Typed<'_>) -> Result<Arg, Reported> {
        Err(self.error(
            Diagnostic::error("`<ip-args...>` takes the remaining arguments, so it must come last")
                .at(t.span, "not last"),
        ))
    }

    fn mode(&mut self, t: Typed<'_>) -> Result<Arg, Reported> {
        let Typed { args, span, .. } = t;
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

    fn signal(&mut self, t: Typed<'_>) -> Result<Arg, Reported> {
        let args = t.args;
        let mut set = Vec::new();
        for arg in args {
            match values::signal(arg.value.as_bytes()) {
                Some(signal) => set.push(signal),
                None => {
                    return Err(self.error(
                        Diagnostic::error(format!("`{}` is not a signal", arg.value))
                            .at(arg.span, "unknown signal")
                            .help("write a number (9), a name (KILL) or a SIG-name (SIGKILL)"),
                    ));
                }
            }
        }
        Ok(Arg::Signal(set))
    }

    /// `<pid TARGET | ... [as USER]>`.
    fn pid(&mut self, t: Typed<'_>) -> Result<Arg, Reported> {
        let Typed {
            args, user, span, ..
        } = t;
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

    fn int(&mut self, t: Typed<'_>) -> Result<Arg, Reported> {
        let Typed { args, span, .. } = t;
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

    fn path(&mut self, t: Typed<'_>, pin: Pin) -> Result<Arg, Reported> {
        let Typed { args, span, .. } = t;
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
            // `*` may stand for a whole component in the middle; a glob
            // inside a name (`vg-*`) or `**` there may not.
            if let Some(glob) = base
                .split('/')
                .find(|name| name.contains('*') && *name != "*")
            {
                let (message, help) = if glob == "**" {
                    (
                        format!("`{text}`: `**` may only end a path"),
                        "use `*` for one directory in the middle, or `DIR/**` at the end for anything below DIR",
                    )
                } else {
                    (
                        format!("`{text}`: `{glob}`: `*` must be a whole component"),
                        "`*` stands for one whole name (`/var/lib/app/*/conf`): list the directories as scopes of their own (`<path /dev/vg-a/* | /dev/vg-b/*>`)",
                    )
                };
                return Err(self.error(Diagnostic::error(message).at(arg.span, "here").help(help)));
            }
            // Checked as a path, each `*` standing for a name.
            let named: Vec<&str> = base
                .split('/')
                .map(|name| if name == "*" { "x" } else { name })
                .collect();
            if let Err(why) = check_absolute_path(&named.join("/")) {
                return Err(self.error(
                    Diagnostic::error(format!("path `{text}` {why}")).at(arg.span, "here"),
                ));
            }
            // The fixed part, beneath which paths are pinned, and from the
            // first `*` on, the middle.
            let (fixed, middle) = base.split_at(base.find("/*").unwrap_or(base.len()));
            scopes.push(PathScope {
                base: if fixed.is_empty() { "/" } else { fixed }.to_string(),
                middle: middle
                    .split('/')
                    .filter(|name| !name.is_empty())
                    .map(|name| (name != "*").then(|| name.to_string()))
                    .collect(),
                depth,
            });
        }
        Ok(Arg::Path { scopes, pin })
    }
}
