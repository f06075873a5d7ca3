//! What one user can reach of a ruleset through sudo, for `list --user`:
//! read from `sudo -l -U USER` (sudo's own evaluation of its policy, with
//! every drop-in, alias and include), and from the ruleset's `daemon
//! users=` and `groups=`.
//!
//! An approximation, on the side of showing too much: negated entries
//! (`!CMD`) are ignored, and only the first two of the call's arguments
//! (the ruleset and the command) are held against sudo's pattern, so a
//! rule is listed when some call of its command passes sudo.

use std::path::Path;
use std::process::Command;

use rootwrap::types::{Options, Rule};

/// What a user may run of one ruleset.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reach {
    /// Every grant that reaches the ruleset, as sudo lists it (or the
    /// daemon option).
    pub grants: Vec<Grant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The entry as sudo printed it: `(root) NOPASSWD: /usr/bin/rootwrap /etc/x.rwc *`.
    pub entry: String,
    pub scope: Scope,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every rule.
    All,
    /// The rules whose command a call `rootwrap RULESET CMD ...` matching
    /// this pattern (sudo's, over the arguments joined by spaces) can name.
    Arguments(String),
}

impl Reach {
    /// The grants through which `rule` can be called; empty if none.
    pub fn grants_for(&self, ruleset: &str, rule: &Rule) -> Vec<&Grant> {
        self.grants
            .iter()
            .filter(|grant| match &grant.scope {
                Scope::All => true,
                Scope::Arguments(pattern) => rule.selectors().iter().any(|selector| {
                    let call = format!("{ruleset} {selector}");
                    glob_prefix(pattern.as_bytes(), call.as_bytes())
                }),
            })
            .collect()
    }
}

/// Asks sudo what `user` may run (needs root, as `sudo -l -U` does), and
/// adds the daemon's own grant.
pub fn reach(user: &str, ruleset: &Path, options: &Options) -> Result<Reach, String> {
    let output = Command::new("sudo")
        .args(["-n", "-l", "-U", user])
        .env("LC_ALL", "C")
        .output()
        .map_err(|e| format!("cannot run `sudo -l -U {user}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`sudo -l -U {user}` failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    let absolute = super::list::absolute(&ruleset.display().to_string());
    let mut reach = parse_sudo_list(&String::from_utf8_lossy(&output.stdout), &absolute);
    let groups = groups_of(user)?;
    reach.grants.extend(daemon_grant(user, &groups, options));
    Ok(reach)
}

/// The daemon's own grant: `daemon users=` naming the user, or `groups=`
/// naming one of its groups, let it connect to a socket-activated daemon.
fn daemon_grant(user: &str, groups: &[String], options: &Options) -> Option<Grant> {
    let daemon = &options.daemon;
    if daemon.users.iter().any(|u| u == user) {
        Some(Grant {
            entry: format!("daemon users={}", daemon.users.join(",")),
            scope: Scope::All,
        })
    } else if daemon.groups.iter().any(|g| groups.contains(g)) {
        Some(Grant {
            entry: format!("daemon groups={}", daemon.groups.join(",")),
            scope: Scope::All,
        })
    } else {
        None
    }
}

/// The user's groups' names, from the user database (`id -Gn`).
fn groups_of(user: &str) -> Result<Vec<String>, String> {
    let output = Command::new("id")
        .args(["-Gn", "--", user])
        .output()
        .map_err(|e| format!("cannot run `id -Gn {user}`: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "no user `{user}`: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(String::from)
        .collect())
}

/// The grants in `sudo -l` output that reach `ruleset` (its absolute path):
/// entries that run as root (`(root)`, `(ALL)`) and name `ALL`, or
/// `rootwrap` or `rootwrap-daemon` (by file name, or a pattern matching it)
/// with arguments that can start with the ruleset.
pub fn parse_sudo_list(text: &str, ruleset: &str) -> Reach {
    let mut reach = Reach::default();
    let mut listing = false;
    for line in text.lines() {
        if line.contains("may run the following commands") {
            listing = true;
            continue;
        }
        let entry = line.trim();
        if !listing || !entry.starts_with('(') {
            continue;
        }
        let Some((runas, rest)) = entry[1..].split_once(')') else {
            continue;
        };
        let users = runas.split(':').next().unwrap_or_default();
        if !users.split(',').any(|u| matches!(u.trim(), "root" | "ALL")) {
            continue;
        }
        // Tags (`NOPASSWD:`, `SETENV:` ...) come before the commands.
        let mut commands = rest.trim_start();
        while let Some((tag, after)) = commands.split_once(':') {
            if tag.is_empty() || !tag.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                break;
            }
            commands = after.trim_start();
        }
        for command in split_commands(commands) {
            if let Some(scope) = scope_of(&command, ruleset) {
                reach.grants.push(Grant {
                    entry: entry.to_string(),
                    scope,
                });
                break;
            }
        }
    }
    reach
}

/// A command list split at unescaped commas.
fn split_commands(list: &str) -> Vec<String> {
    let mut commands = vec![String::new()];
    let mut chars = list.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let (Some(next), Some(last)) = (chars.next(), commands.last_mut()) {
                    last.push('\\');
                    last.push(next);
                }
            }
            ',' => commands.push(String::new()),
            c => {
                if let Some(last) = commands.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    commands.into_iter().map(|c| c.trim().to_string()).collect()
}

/// What one sudo command grants of the ruleset, if anything.
fn scope_of(command: &str, ruleset: &str) -> Option<Scope> {
    if command == "ALL" {
        return Some(Scope::All);
    }
    if command.starts_with('!') {
        return None;
    }
    let (program, arguments) = match command.split_once(char::is_whitespace) {
        Some((program, arguments)) => (program, Some(arguments.trim())),
        None => (command, None),
    };
    let name = rootwrap::types::file_name(program);
    let is = |wanted: &str| glob(name.as_bytes(), wanted.as_bytes());
    let daemon = is("rootwrap-daemon");
    if !daemon && !is("rootwrap") {
        return None;
    }
    let Some(arguments) = arguments else {
        // No arguments in sudoers: any arguments.
        return Some(Scope::All);
    };
    if arguments == "\"\"" || !glob_prefix(arguments.as_bytes(), ruleset.as_bytes()) {
        return None;
    }
    // The daemon serves every rule of its ruleset.
    if daemon {
        return Some(Scope::All);
    }
    Some(Scope::Arguments(arguments.to_string()))
}

/// Whether `pattern` (sudo's wildcards: `*`, `?`, `[...]`, `\` escapes;
/// `*` matches spaces too) matches all of `text`.
pub fn glob(pattern: &[u8], text: &[u8]) -> bool {
    matches(pattern, text, false)
}

/// Whether `pattern` matches `text` followed by nothing or by a space and
/// more arguments: a call that starts with these words can pass.
pub fn glob_prefix(pattern: &[u8], text: &[u8]) -> bool {
    matches(pattern, text, true)
}

fn matches(pattern: &[u8], text: &[u8], prefix: bool) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some((b'*', rest)) => {
            (0..=text.len()).any(|skip| matches(rest, &text[skip..], prefix))
                || (prefix && text.is_empty())
        }
        Some(_) if text.is_empty() => {
            // The text ends here; more arguments may follow after a space.
            prefix && matches!(pattern.first(), Some(b' ' | b'?' | b'['))
        }
        Some((b'?', rest)) => matches(rest, &text[1..], prefix),
        Some((b'[', rest)) => match class(rest, text[0]) {
            Some((true, after)) => matches(after, &text[1..], prefix),
            Some((false, _)) => false,
            // No closing `]`: a literal `[`.
            None => text[0] == b'[' && matches(rest, &text[1..], prefix),
        },
        Some((b'\\', rest)) if !rest.is_empty() => {
            rest[0] == text[0] && matches(&rest[1..], &text[1..], prefix)
        }
        Some((&c, rest)) => c == text[0] && matches(rest, &text[1..], prefix),
    }
}

/// A bracket class after its `[`: whether `c` is in it, and the pattern
/// after its `]`.
fn class(pattern: &[u8], c: u8) -> Option<(bool, &[u8])> {
    let (negated, mut at) = match pattern.first() {
        Some(b'!' | b'^') => (true, 1),
        _ => (false, 0),
    };
    let mut found = false;
    let mut first = true;
    loop {
        let &here = pattern.get(at)?;
        if here == b']' && !first {
            return Some((found != negated, &pattern[at + 1..]));
        }
        first = false;
        if pattern.get(at + 1) == Some(&b'-') && pattern.get(at + 2).is_some_and(|&e| e != b']') {
            let end = pattern[at + 2];
            found |= (here..=end).contains(&c);
            at += 3;
        } else {
            found |= here == c;
            at += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "\
Matching Defaults entries for svc on host:
    env_reset, secure_path=/usr/sbin\\:/usr/bin

User svc may run the following commands on host:
    (root) NOPASSWD: /usr/bin/rootwrap /etc/svc/rootwrap.rwc *
    (nova) NOPASSWD: /usr/bin/rootwrap /etc/svc/rootwrap.rwc *
    (root) NOPASSWD: /usr/bin/rootwrap /etc/other.rwc *
    (root) NOPASSWD: /usr/bin/ls, /usr/bin/rootwrap /etc/svc/rootwrap.rwc ip *
    (ALL : ALL) SETENV: NOPASSWD: /usr/bin/rootwrap-daemon /etc/svc/rootwrap.rwc
";

    fn rule(command: &str) -> Rule {
        let mut rule = crate::review::diff::tests::rule("r", command);
        rule.name = command.into();
        rule
    }

    #[test]
    fn sudo_listings_are_read_for_this_ruleset_and_root_only() {
        let reach = parse_sudo_list(LISTING, "/etc/svc/rootwrap.rwc");
        let entries: Vec<&str> = reach.grants.iter().map(|g| g.entry.as_str()).collect();
        assert_eq!(
            entries,
            [
                "(root) NOPASSWD: /usr/bin/rootwrap /etc/svc/rootwrap.rwc *",
                "(root) NOPASSWD: /usr/bin/ls, /usr/bin/rootwrap /etc/svc/rootwrap.rwc ip *",
                "(ALL : ALL) SETENV: NOPASSWD: /usr/bin/rootwrap-daemon /etc/svc/rootwrap.rwc",
            ]
        );
        assert_eq!(
            reach.grants[0].scope,
            Scope::Arguments("/etc/svc/rootwrap.rwc *".into())
        );
        assert_eq!(reach.grants[2].scope, Scope::All);
        let only_ip = Reach {
            grants: vec![reach.grants[1].clone()],
        };
        let ruleset = "/etc/svc/rootwrap.rwc";
        assert_eq!(only_ip.grants_for(ruleset, &rule("ip")).len(), 1);
        assert_eq!(only_ip.grants_for(ruleset, &rule("/usr/sbin/ip")).len(), 1);
        assert!(only_ip.grants_for(ruleset, &rule("ipset")).is_empty());
        assert!(only_ip.grants_for(ruleset, &rule("kill")).is_empty());
        let none = parse_sudo_list("User nobody is not allowed to run sudo on host.\n", ruleset);
        assert!(none.grants.is_empty());
        let all = parse_sudo_list(
            "User root may run the following commands on host:\n    (ALL : ALL) ALL\n",
            ruleset,
        );
        assert_eq!(all.grants[0].scope, Scope::All);
    }

    #[test]
    fn the_daemon_grants_its_users_and_groups() {
        let mut options = Options::default();
        options.daemon.users = vec!["nova".into()];
        options.daemon.groups = vec!["ops".into()];
        let groups = |names: &[&str]| names.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let grant = |user, member_of: &[&str]| daemon_grant(user, &groups(member_of), &options);
        assert_eq!(grant("nova", &[]).unwrap().entry, "daemon users=nova");
        assert_eq!(
            grant("alice", &["wheel", "ops"]).unwrap().entry,
            "daemon groups=ops"
        );
        assert_eq!(grant("alice", &["wheel"]), None);
        assert_eq!(grant("novas", &["op"]), None);
    }

    #[test]
    fn sudo_wildcards() {
        assert!(glob(b"/etc/*.rwc *", b"/etc/a b.rwc x y"));
        assert!(glob(b"r[a-c]?", b"rbx"));
        assert!(!glob(b"r[!a-c]?", b"rbx"));
        assert!(glob(b"rootwrap*", b"rootwrap-daemon"));
        assert!(!glob(b"/etc/x.rwc ip", b"/etc/x.rwc ipset"));
        assert!(glob_prefix(b"/etc/x.rwc ip *", b"/etc/x.rwc ip"));
        assert!(glob_prefix(b"/etc/x.rwc *", b"/etc/x.rwc"));
        assert!(!glob_prefix(b"/etc/x.rwc ip *", b"/etc/x.rwc ipset"));
        assert!(!glob_prefix(b"/etc/x.rwcip *", b"/etc/x.rwc"));
    }
}
