//! Records as text: JSON lines, syslog key=value lines cut to one
//! datagram, and the escaping that keeps both on one line.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt;

use crate::types::{Effect, Rule};

use super::{Caller, Event};

/// The longest syslog message sent: one datagram, which the socket refuses
/// beyond about 208 KiB by default on Linux (a failed write), and many
/// relays keep 8 KiB. The JSON log keeps the whole record.
const MAX_SYSLOG_MESSAGE: usize = 8000;

/// A syslog line cut to `MAX_SYSLOG_MESSAGE` bytes, ending in a marker that
/// says how much was cut, so a long argument cannot make a record vanish.
pub(super) fn fit_datagram(mut line: String) -> String {
    let full = line.len();
    if full <= MAX_SYSLOG_MESSAGE {
        return line;
    }
    // The line is ASCII (everything else is escaped), so any byte index is a
    // character boundary; and `"` only delimits values.
    line.truncate(MAX_SYSLOG_MESSAGE);
    // Never end inside an escape (`\\` or `\xNN`): it would read as
    // something else.
    let bytes = line.as_bytes();
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        if byte == b'\\' {
            let escape = if bytes.get(i + 1) == Some(&b'\\') {
                2
            } else {
                4
            };
            if i + escape > bytes.len() {
                line.truncate(i);
                break;
            }
            i += escape;
        } else {
            i += 1;
        }
    }
    let inside_value = line.matches('"').count() % 2 == 1;
    if !inside_value {
        // Between fields or inside a key: keep the last whole field.
        let end = line.rfind('"').map_or(0, |i| i + 1);
        line.truncate(end);
    }
    let cut = full - line.len();
    if inside_value {
        line.push_str("...\"");
    }
    let _ = write!(line, " truncated=\"{cut}\"");
    line
}

/// Printable ASCII stays as it is, except `\`, which doubles; every other
/// byte (controls, ANSI escapes, non-ASCII, invalid UTF-8) becomes `\xNN`.
/// The result is one line and reversible byte for byte.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// `s` as a JSON string literal (after `escape`, only `"` and `\` remain
/// special).
fn json_string(out: &mut String, bytes: &[u8]) {
    out.push('"');
    // `escape`'s output, JSON-escaped, written in one pass (no string per
    // value: a record has dozens), printable runs copied whole.
    let plain = |b: &u8| matches!(b, 0x20..=0x7e) && !matches!(b, b'\\' | b'"');
    let mut rest = bytes;
    while !rest.is_empty() {
        let run = rest.iter().take_while(|b| plain(b)).count();
        let (text, after) = rest.split_at(run);
        // Printable ASCII: always UTF-8.
        out.push_str(std::str::from_utf8(text).unwrap_or_default());
        let Some((&b, after)) = after.split_first() else {
            break;
        };
        match b {
            b'\\' => out.push_str("\\\\\\\\"),
            b'"' => out.push_str("\\\""),
            _ => {
                let _ = write!(out, "\\\\x{b:02x}");
            }
        }
        rest = after;
    }
    out.push('"');
}

fn json_field(out: &mut String, key: &str, bytes: &[u8]) {
    json_key(out, key);
    json_string(out, bytes);
}

/// `,"KEY":`
fn json_key(out: &mut String, key: &str) {
    out.push_str(",\"");
    out.push_str(key);
    out.push_str("\":");
}

fn json_list(out: &mut String, key: &str, items: &[OsString]) {
    json_key(out, key);
    out.push('[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, item.as_bytes());
    }
    out.push(']');
}

fn json_rule(out: &mut String, key: &str, rule: Option<&Rule>) {
    let _ = write!(out, ",\"{key}\":");
    match rule {
        None => out.push_str("null"),
        Some(rule) => {
            out.push_str("{\"name\":");
            json_string(out, rule.name.as_bytes());
            out.push_str(",\"file\":");
            json_string(out, rule.source.file.as_bytes());
            let _ = write!(out, ",\"line\":{}}}", rule.source.line);
        }
    }
}

/// A denial's rule that is not an `allow`: `rule_effect` says what it is;
/// a disabled rule's `disabled` says why and where.
fn json_effect(out: &mut String, rule: &Rule) {
    match &rule.effect {
        Effect::Allow => {}
        Effect::Deny { .. } => json_field(out, "rule_effect", b"deny"),
        Effect::Disabled(disabled) => {
            json_field(out, "rule_effect", b"disabled");
            out.push_str(",\"disabled\":{\"reason\":");
            json_string(out, disabled.reason.as_bytes());
            out.push_str(",\"file\":");
            json_string(out, disabled.source.file.as_bytes());
            let _ = write!(out, ",\"line\":{}}}", disabled.source.line);
        }
    }
}

/// The JSON-lines form: one object, fields in a fixed order: first those
/// no caller can lengthen or shape, then those it can (see `render_kv`).
pub(super) fn render_json(caller: &Caller, event: &Event<'_>, time: &str) -> String {
    // Room for a record with its newline: an action's is some 800 bytes.
    let mut out = String::with_capacity(1024);
    out.push_str("{\"time\":");
    json_string(&mut out, time.as_bytes());
    json_field(&mut out, "host", caller.host.as_bytes());
    json_field(&mut out, "decision", event.outcome.as_str().as_bytes());
    let _ = write!(out, ",\"exit_code\":{}", event.outcome.exit().code());
    json_field(&mut out, "user", caller.user.as_bytes());
    let _ = write!(out, ",\"uid\":{}", caller.uid);
    if caller.real_uid != caller.uid {
        let _ = write!(out, ",\"real_uid\":{}", caller.real_uid);
    }
    let _ = write!(out, ",\"pid\":{}", caller.pid);
    if let Some(peer) = caller.peer {
        let _ = write!(
            out,
            ",\"peer_uid\":{},\"peer_gid\":{},\"peer_pid\":{}",
            peer.uid, peer.gid, peer.pid
        );
    }
    json_rule(&mut out, "rule", event.rule);
    json_rule(&mut out, "chained_rule", event.chained);
    if let Some(rule) = event.rule {
        json_effect(&mut out, rule);
    }
    match event.executable {
        Some(path) => json_field(&mut out, "exec", path.as_os_str().as_bytes()),
        None => out.push_str(",\"exec\":null"),
    }
    match event.run_as {
        Some(user) => json_field(&mut out, "run_as", user.as_bytes()),
        None => out.push_str(",\"run_as\":null"),
    }
    match &event.ruleset {
        Some((name, sha)) => {
            json_field(&mut out, "ruleset", name.as_bytes());
            json_field(&mut out, "ruleset_sha256", sha.as_bytes());
        }
        None => out.push_str(",\"ruleset\":null,\"ruleset_sha256\":null"),
    }
    json_field(&mut out, "version", env!("CARGO_PKG_VERSION").as_bytes());
    json_field(&mut out, "cwd", caller.cwd.as_bytes());
    json_list(&mut out, "argv", event.argv);
    json_list(&mut out, "exec_argv", event.exec_argv);
    if !event.paths.is_empty() {
        out.push_str(",\"paths\":[");
        for (i, (checked, passed)) in event.paths.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"checked\":");
            json_string(&mut out, checked.as_bytes());
            out.push_str(",\"passed\":");
            json_string(&mut out, passed.as_bytes());
            out.push('}');
        }
        out.push(']');
    }
    out.push_str(",\"env\":{");
    for (i, (name, value)) in event.env.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(&mut out, name.as_bytes());
        out.push(':');
        json_string(&mut out, value.as_bytes());
    }
    out.push('}');
    if !event.steps.is_empty() {
        out.push_str(",\"steps\":[");
        for (i, (step, result)) in event.steps.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str("{\"step\":");
            json_string(&mut out, step.as_bytes());
            out.push_str(",\"result\":");
            json_string(&mut out, result.as_bytes());
            out.push('}');
        }
        out.push(']');
    }
    match &event.reason {
        Some(reason) => json_field(&mut out, "reason", reason),
        None => out.push_str(",\"reason\":null"),
    }
    out.push('}');
    out
}

/// `key="value"`, with `"` escaped too. Lists (argv) are their escaped
/// items joined by spaces; a space inside an item is `\x20`, so item
/// boundaries stay visible.
fn kv(out: &mut String, key: &str, value: &str) {
    if !out.is_empty() {
        out.push(' ');
    }
    let _ = write!(out, "{key}=\"{}\"", value.replace('"', "\\x22"));
}

fn kv_list(items: &[OsString]) -> String {
    items
        .iter()
        .map(|item| escape(item.as_bytes()).replace(' ', "\\x20"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The syslog form: one line of `key="value"` pairs in a fixed order.
/// The fields no caller can lengthen come first, so that a cut
/// (`fit_datagram`) only ever shortens what the caller wrote: the working
/// directory, the command lines, paths, variables and the reason.
pub(super) fn render_kv(caller: &Caller, event: &Event<'_>) -> String {
    let mut out = String::with_capacity(512);
    kv(&mut out, "decision", event.outcome.as_str());
    kv(
        &mut out,
        "exit_code",
        &event.outcome.exit().code().to_string(),
    );
    kv(&mut out, "user", &escape(caller.user.as_bytes()));
    kv(&mut out, "uid", &caller.uid.to_string());
    if caller.real_uid != caller.uid {
        kv(&mut out, "real_uid", &caller.real_uid.to_string());
    }
    kv(&mut out, "host", &escape(caller.host.as_bytes()));
    if let Some(peer) = caller.peer {
        kv(&mut out, "peer_uid", &peer.uid.to_string());
        kv(&mut out, "peer_gid", &peer.gid.to_string());
        kv(&mut out, "peer_pid", &peer.pid.to_string());
    }
    if let Some(rule) = event.rule {
        kv(&mut out, "rule", &escape(rule.name.as_bytes()));
        kv(
            &mut out,
            "rule_source",
            &escape(format!("{}:{}", rule.source.file, rule.source.line).as_bytes()),
        );
    }
    if let Some(rule) = event.chained {
        kv(&mut out, "chained_rule", &escape(rule.name.as_bytes()));
    }
    match event.rule.map(|rule| &rule.effect) {
        Some(Effect::Deny { .. }) => kv(&mut out, "rule_effect", "deny"),
        Some(Effect::Disabled(disabled)) => {
            kv(&mut out, "rule_effect", "disabled");
            kv(
                &mut out,
                "disabled_reason",
                &escape(disabled.reason.as_bytes()),
            );
            kv(
                &mut out,
                "disabled_source",
                &escape(format!("{}:{}", disabled.source.file, disabled.source.line).as_bytes()),
            );
        }
        _ => {}
    }
    if let Some(path) = event.executable {
        kv(&mut out, "exec", &escape(path.as_os_str().as_bytes()));
    }
    if let Some(user) = event.run_as {
        kv(&mut out, "run_as", &escape(user.as_bytes()));
    }
    if let Some((name, sha)) = &event.ruleset {
        kv(&mut out, "ruleset", &escape(name.as_bytes()));
        kv(&mut out, "ruleset_sha256", sha);
    }
    kv(&mut out, "version", env!("CARGO_PKG_VERSION"));
    kv(&mut out, "cwd", &escape(caller.cwd.as_bytes()));
    kv(&mut out, "argv", &kv_list(event.argv));
    if event.executable.is_some() {
        kv(&mut out, "exec_argv", &kv_list(event.exec_argv));
    }
    if !event.paths.is_empty() {
        let flat: Vec<OsString> = event
            .paths
            .iter()
            .flat_map(|(checked, passed)| [checked.clone(), passed.clone()])
            .collect();
        kv(&mut out, "paths", &kv_list(&flat));
    }
    for (name, value) in event.env {
        kv(&mut out, &format!("env.{name}"), &escape(value.as_bytes()));
    }
    for (i, (step, result)) in event.steps.iter().enumerate() {
        kv(
            &mut out,
            &format!("step.{}", i + 1),
            &escape(format!("{step}: {result}").as_bytes()),
        );
    }
    if let Some(reason) = &event.reason {
        kv(&mut out, "reason", &escape(reason));
    }
    out
}

/// One line on stderr, prefixed `rootwrap: `, the message escaped like an
/// audit record (services forward rootwrap's stderr into their logs: an
/// argument must not start a line there, nor reach a terminal raw). A
/// failed write is ignored (stderr belongs to the caller: it may be closed
/// or full).
pub(crate) fn say(message: &(impl AsRef<[u8]> + ?Sized)) {
    use std::io::Write as _;
    let line = format!("rootwrap: {}\n", escape(message.as_ref()));
    let _ = std::io::stderr().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    use crate::audit::{Caller, Event, Outcome};

    #[test]
    fn escaping_keeps_records_on_one_line_and_reversible() {
        assert_eq!(escape(b"a b"), "a b");
        assert_eq!(escape(b"x\ny\"z\\"), "x\\x0ay\"z\\\\");
        assert_eq!(escape(b"\x1b[31m\xff\xc3\xa9"), "\\x1b[31m\\xff\\xc3\\xa9");
        assert_eq!(
            kv_list(&[OsString::from("a b"), OsString::from("c")]),
            "a\\x20b c"
        );
    }

    proptest::proptest! {
        /// The one-pass JSON string is `escape`'s text with JSON's own
        /// quoting of `\\` and `"`: what the record always held.
        #[test]
        fn json_strings_are_escaped_text_quoted_for_json(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..48)
        ) {
            let mut fast = String::new();
            json_string(&mut fast, &bytes);
            let quoted = escape(&bytes).replace('\\', "\\\\").replace('"', "\\\"");
            proptest::prop_assert_eq!(fast, format!("\"{quoted}\""));
        }
    }

    #[test]
    fn pinned_paths_are_listed_after_the_command_lines_and_escaped() {
        let argv = [OsString::from("chown"), OsString::from("x")];
        let paths = [
            (
                OsString::from("/var/lib/a b"),
                OsString::from("/proc/self/fd/5"),
            ),
            (
                OsString::from("/v/\n\u{1b}"),
                OsString::from("/proc/self/fd/6"),
            ),
        ];
        let mut event = Event::new(Outcome::Allowed, &argv);
        event.paths = &paths;
        let caller = Caller::default();
        let json = render_json(&caller, &event, "t");
        assert!(
            json.contains(
                r#""argv":["chown","x"],"exec_argv":[],"paths":[{"checked":"/var/lib/a b","passed":"/proc/self/fd/5"},{"checked":"/v/\\x0a\\x1b","passed":"/proc/self/fd/6"}],"env":{}"#
            ),
            "{json}"
        );
        let kv = render_kv(&caller, &event);
        assert!(
            kv.contains(r#" argv="chown x" paths="/var/lib/a\x20b /proc/self/fd/5 /v/\x0a\x1b /proc/self/fd/6""#),
            "{kv}"
        );
        // None: no field at all.
        event.paths = &[];
        assert!(!render_json(&caller, &event, "t").contains("paths"));
        assert!(!render_kv(&caller, &event).contains("paths"));
    }

    #[test]
    fn long_syslog_lines_are_cut_with_a_marker() {
        let short = "decision=\"denied\" argv=\"x\"".to_string();
        assert_eq!(fit_datagram(short.clone()), short);
        let long = format!(
            "decision=\"denied\" argv=\"{}\" version=\"1\"",
            "a".repeat(3 * MAX_SYSLOG_MESSAGE)
        );
        let cut = fit_datagram(long.clone());
        assert!(cut.len() < MAX_SYSLOG_MESSAGE + 40);
        let marker = format!("...\" truncated=\"{}\"", long.len() - MAX_SYSLOG_MESSAGE);
        assert!(cut.ends_with(&marker), "{}", &cut[cut.len() - 60..]);
        assert_eq!(cut.matches('"').count() % 2, 0);
        // A cut inside an escape drops the partial escape.
        let escaped = format!("argv=\"{}\"", "\\x01".repeat(3000));
        let cut = fit_datagram(escaped);
        let value = cut.split('"').nth(1).unwrap().trim_end_matches("...");
        assert!(
            value.len().is_multiple_of(4) && value.split("\\x01").all(str::is_empty),
            "{}",
            &value[value.len() - 20..]
        );
        // A cut just after a closing quote, or inside a key, keeps the
        // last whole field and never leaves a quote open.
        for pad in 0..40 {
            let line = format!(
                "decision=\"denied\" argv=\"{}\" reason=\"{}\"",
                "a".repeat(MAX_SYSLOG_MESSAGE - 30 - pad),
                "b".repeat(100)
            );
            let cut = fit_datagram(line.clone());
            assert_eq!(
                cut.matches('"').count() % 2,
                0,
                "{}",
                &cut[cut.len() - 80..]
            );
            let (kept, marker) = cut.rsplit_once(" truncated=").unwrap();
            let removed: usize = marker.trim_matches('"').parse().unwrap();
            assert_eq!(kept.trim_end_matches("...\"").len() + removed, line.len());
            assert!(line.starts_with(kept.trim_end_matches("...\"")));
        }
    }

    #[test]
    fn the_record_lists_each_step_with_its_result() {
        let argv = [OsString::from("@a"), OsString::from("/x/\n")];
        let steps = [
            ("1 mkdir /x/\n".to_string(), "ok".to_string()),
            (
                "2 write /x/f from stdin create".to_string(),
                "failed: \"full\"".to_string(),
            ),
        ];
        let mut event = Event::new(Outcome::StepFailed, &argv);
        event.steps = &steps;
        let caller = Caller::default();
        let json = render_json(&caller, &event, "t");
        assert!(
            json.contains(r#""decision":"step-failed","exit_code":95"#)
                && json.contains(r#""steps":[{"step":"1 mkdir /x/\\x0a","result":"ok"},{"step":"2 write /x/f from stdin create","result":"failed: \"full\""}]"#),
            "{json}"
        );
        let kv = render_kv(&caller, &event);
        assert!(
            kv.contains(r#"step.1="1 mkdir /x/\x0a: ok" step.2="2 write /x/f from stdin create: failed: \x22full\x22""#),
            "{kv}"
        );
        event.steps = &[];
        assert!(!render_json(&caller, &event, "t").contains("steps"));
    }

    /// A denial's deny rule or disabled rule: `rule_effect`, and the
    /// `disable`'s reason and place, in both forms; nothing for an allow.
    #[test]
    fn a_denial_names_its_deny_or_disabled_rule() {
        use crate::types::{Command, Disabled, Rest, RunAs, Source};
        let argv = [OsString::from("cat"), OsString::from("/s")];
        let rule = |effect| Rule {
            id: 0,
            name: "r".into(),
            source: Source {
                file: "p.rwf".into(),
                line: 4,
            },
            command: Command::Name("cat".into()),
            also: Vec::new(),
            via: Vec::new(),
            sha256: None,
            run_as: RunAs::Root,
            env: Vec::new(),
            args: Vec::new(),
            rest: Rest::Any,
            effect,
        };
        let caller = Caller::default();
        let deny = rule(Effect::Deny { any_user: true });
        let mut event = Event::new(Outcome::Denied, &argv);
        event.rule = Some(&deny);
        let json = render_json(&caller, &event, "t");
        assert!(
            json.contains(r#""rule":{"name":"r","file":"p.rwf","line":4},"chained_rule":null,"rule_effect":"deny","exec":null"#),
            "{json}"
        );
        assert!(render_kv(&caller, &event).contains(r#" rule_effect="deny""#));
        let off = rule(Effect::Disabled(Box::new(Disabled {
            was_deny: false,
            reason: "not \"here\"".into(),
            source: Source {
                file: "s.rwf".into(),
                line: 2,
            },
        })));
        event.rule = Some(&off);
        let json = render_json(&caller, &event, "t");
        assert!(
            json.contains(r#""rule_effect":"disabled","disabled":{"reason":"not \"here\"","file":"s.rwf","line":2},"exec":null"#),
            "{json}"
        );
        let kv = render_kv(&caller, &event);
        assert!(
            kv.contains(r#" rule_effect="disabled" disabled_reason="not \x22here\x22" disabled_source="s.rwf:2""#),
            "{kv}"
        );
        let allow = rule(Effect::Allow);
        event.rule = Some(&allow);
        assert!(!render_json(&caller, &event, "t").contains("effect"));
        assert!(!render_kv(&caller, &event).contains("effect"));
    }
}
