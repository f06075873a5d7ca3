//! Patterns printed back in filter-file syntax, for explanations and errors.
#![forbid(unsafe_code)]

use std::fmt;

use crate::types::{Arg, Item, PathDepth, PathScope, Rest, Rule, RunAs};
use crate::values::SIGNALS;

/// Words the grammar reads as keywords where an argument may stand
/// (`because "..."`, `then allowed`): a literal spelled so is quoted.
const KEYWORDS: &[&str] = &["because", "then", "allowed"];

/// Whether a literal can be written without quotes in a filter file: the
/// grammar would read it back as this very literal, not as a keyword, a
/// rest (`...`), a comment, a regex, a digest pin (`@sha256:`) or a group.
pub fn is_bare_word(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with("...")
        && !s.starts_with('#')
        && !s.starts_with('@')
        && !s.contains("re\"")
        && !KEYWORDS.contains(&s)
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"()|<>[]{}\\".contains(c))
}

/// `s` as a pattern that matches exactly it: bare when the grammar reads it
/// back so, quoted otherwise. The one literal printer of the runtime's
/// explanations and the importer's output.
pub fn literal(s: &str) -> String {
    if is_bare_word(s) {
        s.to_string()
    } else {
        quoted(s)
    }
}

/// `s` as a filter-file string literal.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn join<T>(items: &[T], f: impl Fn(&T) -> String) -> String {
    items.iter().map(f).collect::<Vec<_>>().join(" | ")
}

fn signal_name(number: i32) -> String {
    SIGNALS
        .iter()
        .find(|(_, n)| *n == number)
        .map_or_else(|| number.to_string(), |(name, _)| (*name).to_string())
}

impl fmt::Display for PathScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut text = self.base.trim_end_matches('/').to_string();
        for name in &self.middle {
            text.push('/');
            text.push_str(name.as_deref().unwrap_or("*"));
        }
        match self.depth {
            PathDepth::Exactly if text.is_empty() => write!(f, "/"),
            PathDepth::Exactly => write!(f, "{text}"),
            PathDepth::Child => write!(f, "{text}/*"),
            PathDepth::Descendant => write!(f, "{text}/**"),
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Literal(s) => write!(f, "{}", literal(s)),
            Arg::Regex(r) => write!(f, "re\"{}\"", r.source),
            Arg::OneOf(alternatives) => write!(f, "({})", join(alternatives, |a| a.to_string())),
            Arg::Int { min, max } => match (*min, *max) {
                (i64::MIN, i64::MAX) => write!(f, "<int>"),
                (i64::MIN, max) => write!(f, "<int ..{max}>"),
                (min, i64::MAX) => write!(f, "<int {min}..>"),
                (min, max) => write!(f, "<int {min}..{max}>"),
            },
            Arg::Mode(set) if set.is_empty() => write!(f, "<mode>"),
            Arg::Mode(set) => write!(f, "<mode {}>", join(set, |m| format!("{m:04o}"))),
            Arg::Signal(set) if set.is_empty() => write!(f, "<signal>"),
            Arg::Signal(set) => write!(f, "<signal {}>", join(set, |s| signal_name(*s))),
            Arg::Uuid => write!(f, "<uuid>"),
            Arg::Ipv4 => write!(f, "<ipv4>"),
            Arg::Ipv6 => write!(f, "<ipv6>"),
            Arg::Ip => write!(f, "<ip>"),
            Arg::Cidr => write!(f, "<cidr>"),
            Arg::Mac => write!(f, "<mac>"),
            Arg::IfName => write!(f, "<ifname>"),
            Arg::User => write!(f, "<user>"),
            Arg::Group => write!(f, "<group>"),
            Arg::Path { scopes, pin } => write!(
                f,
                "<{} {}>",
                pin.type_name(),
                join(scopes, |s| s.to_string())
            ),
            Arg::Prefixed { prefix, value } => write!(f, "{prefix}{value}"),
            Arg::Pid(pid) => {
                write!(f, "<pid {}", pid.targets.join(" | "))?;
                if let Some(user) = &pid.user {
                    write!(f, " as {user}")?;
                }
                write!(f, ">")
            }
            Arg::Operand => write!(f, "<operand>"),
            Arg::Any => write!(f, "<any>"),
            Arg::Owner => write!(f, "<owner>"),
            Arg::Netns => write!(f, "<netns>"),
            Arg::ModeBits { required, allowed } => {
                write!(f, "<mode {required:04o}..{allowed:04o}>")
            }
        }
    }
}

fn words(items: &[Item]) -> String {
    items
        .iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::One(arg) => write!(f, "{arg}"),
            Item::Seq(items) => write!(f, "({})", words(items)),
            Item::Alt(alternatives) => {
                let shown: Vec<String> = alternatives
                    .iter()
                    .map(|a| match a {
                        Item::Seq(items) => words(items),
                        other => other.to_string(),
                    })
                    .collect();
                write!(f, "({})", shown.join(" | "))
            }
            Item::Optional(inner) => match inner.as_ref() {
                Item::Seq(items) => write!(f, "[{}]", words(items)),
                other => write!(f, "[{other}]"),
            },
            Item::AnyOrder(items) => write!(f, "{{ {} }}", words(items)),
        }
    }
}

impl fmt::Display for Rest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rest::Exact => Ok(()),
            Rest::Any => write!(f, "..."),
            Rest::Chain => write!(f, "then allowed"),
            Rest::IpArgs => write!(f, "<ip-args...>"),
        }
    }
}

impl Rule {
    /// The rule's head in filter-file syntax, between `allow` (or `deny`)
    /// and the `:`: `NAME [via CHAIN, ...] [as USER]`.
    pub fn head_text(&self) -> String {
        let mut head = self.name.clone();
        if !self.via.is_empty() {
            head.push_str(" via ");
            head.push_str(&self.via.join(", "));
        }
        // `deny NAME as root:` holds only for calls run as root.
        let deny_as_root = matches!(self.effect, crate::types::Effect::Deny { any_user: false });
        match &self.run_as {
            RunAs::User(user) => {
                head.push_str(" as ");
                head.push_str(user);
            }
            RunAs::Root if deny_as_root => head.push_str(" as root"),
            RunAs::Root => {}
        }
        head
    }

    /// The rule's pattern in filter-file syntax, after the `:`.
    pub fn pattern_text(&self) -> String {
        let mut parts = Vec::new();
        if !self.env.is_empty() {
            parts.push("env".to_string());
            for var in &self.env {
                parts.push(format!("{}={}", var.name, var.value));
            }
        }
        parts.push(self.command_text());
        if let Some(digest) = &self.sha256 {
            parts.push(format!("@sha256:{}", crate::format::hex(digest)));
        }
        parts.extend(self.args.iter().map(|a| a.to_string()));
        if self.rest != Rest::Exact {
            parts.push(self.rest.to_string());
        }
        parts.join(" ")
    }
}
