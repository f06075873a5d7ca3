//! The ruleset's data model: what `rootwrap-compile` writes and `rootwrap` reads.
//!
//! Everything here is plain data. Text (regex syntax, filter files) never
//! reaches the runtime: regexes arrive as serialized DFAs.
#![forbid(unsafe_code)]

use std::fmt;

use regex_automata::dfa::{sparse, Automaton};
use regex_automata::{Anchored, Input};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Ruleset-wide settings, declared by the ruleset's options.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// The ruleset's name (`ruleset NAME`), shown in logs and explanations.
    pub name: String,
    /// Trusted directories, searched in order for bare command names; also
    /// the `PATH` of every command the runtime executes.
    pub exec_dirs: Vec<String>,
    /// Where every decision is recorded.
    pub log: LogOptions,
    /// How `rootwrap-daemon` serves this ruleset (`daemon ...`).
    pub daemon: DaemonOptions,
}

/// `daemon idle-timeout=S max-running=N max-waiting=N users=A,B groups=G`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonOptions {
    /// Seconds without a request after which the daemon exits; 0: never.
    pub idle_timeout_secs: u32,
    /// Commands running at once; more wait.
    pub max_running: u32,
    /// Requests waiting for a slot; more are refused.
    pub max_waiting: u32,
    /// Who may connect to a socket-activated daemon (started through sudo,
    /// only the invoking user may): user names, and groups whose members
    /// (in the user database) may. Resolved by libc when the daemon starts.
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

impl Default for DaemonOptions {
    fn default() -> DaemonOptions {
        DaemonOptions {
            idle_timeout_secs: 600,
            max_running: 16,
            max_waiting: 64,
            users: Vec::new(),
            groups: Vec::new(),
        }
    }
}

/// The audit log's targets (`log syslog ...`, `log json PATH`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogOptions {
    pub syslog: Option<SyslogTarget>,
    /// An append-only JSON-lines file.
    pub json: Option<String>,
    /// What to do when a declared target cannot be written.
    pub on_failure: OnLogFailure,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyslogTarget {
    /// A syslog(3) facility code (`LOG_AUTHPRIV` ...).
    pub facility: i32,
    /// The priority of records of allowed calls.
    pub allowed_level: i32,
    /// The priority of every other record (denials, failures).
    pub denied_level: i32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnLogFailure {
    /// Refuse the call before anything runs (fail closed).
    #[default]
    Refuse,
    /// Run it anyway, saying so on stderr.
    Continue,
}

/// One `allow` or `deny` rule, lowered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    /// Position in declaration order over the whole ruleset (0-based).
    pub id: u32,
    pub name: String,
    pub source: Source,
    pub command: Command,
    /// `(A | B ...)` at the command position: the alternatives after the
    /// first (`command`); empty for one command. A caller may spell any of
    /// them, and the one spelled is executed (see [`Rule::spelled`]).
    pub also: Vec<Command>,
    /// `COMMAND @sha256:HEX`: the SHA-256 the executable must have on the
    /// host (checked, like its owner and mode, on the descriptor executed).
    #[serde(with = "serde_bytes")]
    pub sha256: Option<[u8; 32]>,
    pub run_as: RunAs,
    /// Variables the caller must set with a leading `env NAME=VALUE ...`.
    pub env: Vec<EnvVar>,
    /// The arguments after the command, in order.
    pub args: Vec<Item>,
    /// What may follow them.
    pub rest: Rest,
    /// `via CHAIN, ...`: the names of the `then allowed` rules through
    /// which alone this rule allows a command line. Empty: a command line
    /// called directly, or chained through any rule.
    pub via: Vec<String>,
    /// What a match does: allow, deny, or nothing (disabled).
    pub effect: Effect,
}

/// What a rule does with the command lines it matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Effect {
    /// `allow`: the first allowing rule decides how the call runs.
    Allow,
    /// `deny`: the call is denied, whatever allows it, wherever this rule
    /// is written. With `as USER` (`any_user` false), only when the rule
    /// that allows the call runs it as `run_as`.
    Deny { any_user: bool },
    /// A rule turned off by `disable NAME because "WHY"`: it decides
    /// nothing, and is kept to be named when it alone would have matched.
    /// Boxed: most rules are not disabled, and every rule is moved often.
    Disabled(Box<Disabled>),
}

/// Why and where a rule was disabled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disabled {
    /// The `deny` rule's effect when it was one (a disabled deny denies
    /// nothing either).
    pub was_deny: bool,
    pub reason: String,
    /// The `disable` statement.
    pub source: Source,
}

impl Rule {
    /// A `deny` rule (not disabled).
    pub fn is_deny(&self) -> bool {
        matches!(self.effect, Effect::Deny { .. })
    }

    pub fn disabled(&self) -> Option<&Disabled> {
        match &self.effect {
            Effect::Disabled(disabled) => Some(disabled),
            _ => None,
        }
    }
}

impl Rule {
    /// The rule's commands: `command`, then the other alternatives.
    pub fn commands(&self) -> impl Iterator<Item = &Command> {
        std::iter::once(&self.command).chain(&self.also)
    }

    /// The argv[0] spellings a caller may use for this rule: those of every
    /// alternative. The ruleset index files the rule under each of them.
    pub fn selectors(&self) -> Vec<&str> {
        self.commands().flat_map(Command::selectors).collect()
    }

    /// The alternative a caller's argv[0] spells, if any: the one the call
    /// executes (the compiler refuses alternatives that share a spelling).
    pub fn spelled(&self, argv0: &[u8]) -> Option<&Command> {
        self.commands().find(|command| command.is_spelled(argv0))
    }

    /// The command as written: `NAME`, or `(A | B ...)` for alternatives.
    pub fn command_text(&self) -> String {
        if self.also.is_empty() {
            return self.command.as_str().to_string();
        }
        let alternatives: Vec<&str> = self.commands().map(Command::as_str).collect();
        format!("({})", alternatives.join(" | "))
    }
}

/// Where a rule was written: shown in logs and explanations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub file: String,
    pub line: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// A bare name, looked up in the ruleset's exec dirs. The caller must
    /// write exactly this name.
    Name(String),
    /// An absolute path. The caller may write the path or its file name.
    Path(String),
}

impl Command {
    /// The text written in the rule.
    pub fn as_str(&self) -> &str {
        match self {
            Command::Name(s) | Command::Path(s) => s,
        }
    }

    /// The argv[0] spellings a caller may use for this command. The ruleset
    /// index files a rule under each of them.
    pub fn selectors(&self) -> Vec<&str> {
        match self {
            Command::Name(name) => vec![name],
            Command::Path(path) => vec![file_name(path), path],
        }
    }

    /// Whether a caller's argv[0] is one of [`Command::selectors`]: the
    /// matcher accepts exactly the spellings the index files the rule under.
    pub fn is_spelled(&self, argv0: &[u8]) -> bool {
        self.selectors().iter().any(|s| s.as_bytes() == argv0)
    }
}

/// The file name of a command as written in a rule or a filter (the part
/// after the last `/`): the one definition the index, the matcher, the
/// lints and the importer share.
pub fn file_name(command: &str) -> &str {
    command.rsplit('/').next().unwrap_or(command)
}

/// [`file_name`] of a caller's argv[0], which may not be UTF-8.
pub fn file_name_bytes(command: &[u8]) -> &[u8] {
    command.rsplit(|&b| b == b'/').next().unwrap_or(command)
}

/// Whether a `deny` rule for `command` holds for the caller's `argv0`:
/// any spelling with the same file name.
pub fn deny_covers(command: &Command, argv0: &[u8]) -> bool {
    file_name_bytes(argv0) == file_name(command.as_str()).as_bytes()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RunAs {
    Root,
    /// A user name, resolved with the system's user database at run time.
    User(String),
}

impl RunAs {
    pub fn user_name(&self) -> &str {
        match self {
            RunAs::Root => "root",
            RunAs::User(name) => name,
        }
    }
}

/// An environment variable a rule lets the caller set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvVar {
    pub name: String,
    pub value: Arg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Rest {
    /// No arguments beyond the positional ones.
    Exact,
    /// Any further arguments (`...` in a filter file).
    Any,
    /// The remaining arguments are a command line that another rule, with
    /// the same target user, must allow (`then allowed`): `ip netns exec NS
    /// CMD...`, `nice -n N CMD...`. Its executable is the one that rule
    /// resolves, never the caller's spelling. Chains do not nest.
    Chain,
    /// Arguments to `ip` (`<ip-args...>`): any object and command except
    /// those that run other programs or read commands from a file:
    /// `netns exec`, `vrf exec` (and their abbreviations), `-batch`, `-force`.
    IpArgs,
}

/// A piece of a rule's argument pattern, matching zero or more arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Item {
    /// Exactly one argument.
    One(Arg),
    /// These items, one after the other (`(A B)`).
    Seq(#[serde(deserialize_with = "nested::vec")] Vec<Item>),
    /// One of these alternatives (`(A B | C)`), tried in order.
    Alt(#[serde(deserialize_with = "nested::vec")] Vec<Item>),
    /// The item, or nothing (`[A]`).
    Optional(#[serde(deserialize_with = "nested::boxed")] Box<Item>),
    /// These items in any order, each at most once; all but the optional
    /// ones must appear (`{ A [B] C }`).
    AnyOrder(#[serde(deserialize_with = "nested::vec")] Vec<Item>),
}

/// A pattern for exactly one argument.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arg {
    /// This exact string.
    Literal(String),
    /// A regular expression that must match the whole argument.
    Regex(Regex),
    /// Any one of these patterns (the first that matches decides how the
    /// argument is passed on).
    OneOf(#[serde(deserialize_with = "nested::vec")] Vec<Arg>),
    /// A decimal integer (`-?(0|[1-9][0-9]*)`) within an inclusive range.
    Int {
        min: i64,
        max: i64,
    },
    /// An octal file mode of 3 or 4 digits. Empty: any mode without the
    /// setuid, setgid and sticky bits; otherwise one of these values.
    Mode(Vec<u32>),
    /// A signal by number, name or SIG-name. Empty: any signal; otherwise
    /// one of these numbers.
    Signal(Vec<i32>),
    Uuid,
    Ipv4,
    Ipv6,
    /// IPv4 or IPv6.
    Ip,
    /// An IPv4 or IPv6 network in address/prefix-length form.
    Cidr,
    /// A MAC address: six pairs of hex digits separated by `:`.
    Mac,
    /// A network interface name as Linux accepts it.
    IfName,
    /// A user name (portable syntax; the name need not exist).
    User,
    /// A group name (portable syntax; the name need not exist).
    Group,
    /// A path that, once made absolute and with symlinks resolved, lies
    /// within one of these scopes. How the command receives it: `pin`.
    Path {
        #[serde(deserialize_with = "nested::vec")]
        scopes: Vec<PathScope>,
        pin: Pin,
    },
    /// This literal prefix, then a value matching the pattern (`if=<path
    /// /dev/*>`, `-<signal HUP>`, `--size=<int 1..>`).
    Prefixed {
        prefix: String,
        #[serde(deserialize_with = "nested::boxed")]
        value: Box<Arg>,
    },
    /// The id of a running process that executes one of the pattern's
    /// targets (`<pid TARGET | ... [as USER]>`).
    Pid(PidPattern),
    /// Any argument that does not start with `-` (so a command cannot take
    /// it for an option), and is not empty.
    Operand,
    /// Any single argument at all.
    Any,
    /// `user`, `user:group` or `:group` with portable names (chown's OWNER).
    Owner,
    /// A network namespace name: as an interface name, but up to 255 bytes.
    Netns,
    /// An octal file mode (3 or 4 digits) with every bit of `required` set
    /// and no bit outside `allowed` (`<mode 0600..0664>`): a range of
    /// permissions, not of numbers (0700 is not between 0600 and 0664).
    ModeBits {
        required: u32,
        allowed: u32,
    },
}

/// `<pid ...>`: which processes an argument may name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidPattern {
    /// The executables: absolute paths, or bare names found in the exec
    /// dirs. A process matches when it executes the very file (device and
    /// inode) a target names on the host.
    pub targets: Vec<String>,
    /// `as USER`: the process's real, effective and saved uid must be this
    /// user's, resolved on the host when rootwrap decides.
    pub user: Option<String>,
}

/// A regular expression, compiled to a DFA by the compiler.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Regex {
    /// The expression as written, for explanations only: never parsed here.
    pub source: String,
    /// A regex-automata sparse DFA, anchored at the start, with the pattern
    /// wrapped as `^(?:source)$`.
    pub dfa: Dfa,
}

/// A sparse DFA, serialized little-endian in the ruleset. Validated once,
/// when it is built or decoded: an unusable automaton makes its section
/// fail to decode (damage, exit 97), never a rule that does not match; and
/// searches use it as validated, without deserializing it again.
#[derive(Clone)]
pub struct Dfa {
    /// The bytes as written: what is encoded, compared and hashed.
    bytes: Vec<u8>,
    /// Boxed: the automaton's tables take 800 bytes inline.
    dfa: Box<sparse::DFA<Vec<u8>>>,
}

impl Dfa {
    /// Validates serialized DFA bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Dfa, String> {
        let dfa = sparse::DFA::from_bytes(&bytes)
            .map_err(|e| format!("a regex automaton is unusable: {e}"))?
            .0
            .to_owned();
        Ok(Dfa {
            bytes,
            dfa: Box::new(dfa),
        })
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the automaton matches all of `haystack`. An error only if a
    /// search gives up, which an automaton built by the compiler (no quit
    /// bytes, no heuristics) never does.
    pub fn matches_whole(&self, haystack: &[u8]) -> Result<bool, String> {
        let input = Input::new(haystack).anchored(Anchored::Yes);
        let found = self
            .dfa
            .try_search_fwd(&input)
            .map_err(|e| format!("a regex automaton failed: {e}"))?;
        // The pattern is compiled as `^(?:...)$`, so any match spans the input.
        Ok(found.is_some_and(|m| m.offset() == haystack.len()))
    }
}

impl PartialEq for Dfa {
    fn eq(&self, other: &Dfa) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Dfa {}

impl fmt::Debug for Dfa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dfa({} bytes)", self.bytes.len())
    }
}

impl Serialize for Dfa {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(&self.bytes)
    }
}

impl<'de> Deserialize<'de> for Dfa {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Dfa, D::Error> {
        let bytes = serde_bytes::ByteBuf::deserialize(deserializer)?.into_vec();
        Dfa::from_bytes(bytes).map_err(D::Error::custom)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathScope {
    /// An absolute, normalized directory or file path: the scope's fixed
    /// part, up to its first `*`. Paths are pinned beneath it.
    pub base: String,
    /// From a `*` in the middle on (`/a/*/b/*`: `[None, Some("b")]`), the
    /// components after `base`, one name each: `None` (`*`) any one name,
    /// `Some` that very name. `depth` applies after them.
    pub middle: Vec<Option<String>>,
    pub depth: PathDepth,
}

impl PathScope {
    /// Each component a path in the scope starts with, `/` excluded:
    /// `base`'s names, then `middle`'s (`None`: any name). `depth` says
    /// what may follow them.
    pub fn components(&self) -> Vec<Option<&str>> {
        let names = self.base.split('/').filter(|name| !name.is_empty());
        names
            .map(Some)
            .chain(self.middle.iter().map(Option::as_deref))
            .collect()
    }
}

/// How a `<path>` argument reaches the command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Pin {
    /// `<path ...>`: an existing object, through a descriptor the runtime
    /// opened beneath the scope without following symbolic links:
    /// `/proc/self/fd/N` (a directory: `/proc/self/fd/N/`).
    Object,
    /// `<path-entry ...>`: a directory entry, existing or not: the parent
    /// directory's descriptor and the name, `/proc/self/fd/N/NAME`, for
    /// programs that create or remove names (`mkdir`, `rm`, `rmdir`,
    /// `ln -T`, `mv -T`, `cp -T --remove-destination`). The command looks
    /// the name up itself.
    Entry,
    /// `<path-unpinned ...>`: the canonical path as text, refused at call
    /// time when a directory on the way is not root's alone.
    Unpinned,
}

impl Pin {
    pub const ALL: [Pin; 3] = [Pin::Object, Pin::Entry, Pin::Unpinned];

    /// The type's name in a filter file.
    pub const fn type_name(self) -> &'static str {
        match self {
            Pin::Object => "path",
            Pin::Entry => "path-entry",
            Pin::Unpinned => "path-unpinned",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PathDepth {
    /// The path is `base` itself.
    Exactly,
    /// A direct entry of `base` (`base/*`).
    Child,
    /// Anything below `base`, at any depth (`base/**`).
    Descendant,
}

/// Decoding of the recursive types with a depth bound: the compiler never
/// nests patterns deeper than `MAX_NESTING`, and a ruleset that does is
/// refused as corrupt instead of overflowing the stack.
mod nested {
    use std::cell::Cell;

    use serde::de::Error;
    use serde::{Deserialize, Deserializer};

    use super::MAX_NESTING;

    thread_local! {
        static DEPTH: Cell<usize> = const { Cell::new(0) };
    }

    fn within<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<T, D::Error> {
        let depth = DEPTH.with(|d| d.get()) + 1;
        if depth > MAX_NESTING {
            return Err(D::Error::custom("patterns nested too deeply"));
        }
        DEPTH.with(|d| d.set(depth));
        let value = T::deserialize(deserializer);
        DEPTH.with(|d| d.set(depth - 1));
        value
    }

    pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Vec<T>, D::Error> {
        within(deserializer)
    }

    pub fn boxed<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        deserializer: D,
    ) -> Result<Box<T>, D::Error> {
        within(deserializer)
    }
}

/// How deeply groups, optional and any-order items and prefixed or
/// alternative patterns may nest (the compiler refuses deeper ones).
pub const MAX_NESTING: usize = 32;

/// The most items an any-order group `{ ... }` may hold (the compiler
/// refuses more): the matcher tracks the items used in a 64-bit mask.
pub const MAX_ANY_ORDER: usize = 16;
const _: () = assert!(MAX_ANY_ORDER <= u64::BITS as usize);

/// At most this many single-argument checks per rule and call: a bound on
/// backtracking through optional and any-order items. The compiler refuses
/// a rule whose worst case exceeds it, so it never decides a call.
pub const MAX_MATCH_STEPS: u32 = 20_000;

#[cfg(test)]
mod tests {
    use super::*;

    /// The index files a rule under its selectors, and the matcher accepts
    /// exactly those spellings: one definition, no coincidence.
    #[test]
    fn a_command_is_spelled_exactly_as_it_is_indexed() {
        let path = Command::Path("/usr/bin/id".into());
        assert_eq!(path.selectors(), vec!["id", "/usr/bin/id"]);
        for spelling in path.selectors() {
            assert!(path.is_spelled(spelling.as_bytes()));
        }
        for other in ["bin/id", "./id", "/bin/id", "id ", "", "/usr/bin/id/"] {
            assert!(!path.is_spelled(other.as_bytes()), "{other:?}");
        }
        let name = Command::Name("id".into());
        assert_eq!(name.selectors(), vec!["id"]);
        assert!(name.is_spelled(b"id") && !name.is_spelled(b"/usr/bin/id"));
        assert_eq!(file_name("/a/b/c"), "c");
        assert_eq!(file_name("c"), "c");
    }
}
