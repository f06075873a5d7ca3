//! The environment variables a rule may not leave to the caller: one list,
//! used by the compiler (which refuses such rules) and by the oslo importer
//! (which refuses such filters, or pins their values).

/// What a rule may do with a listed variable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restriction {
    /// Never set by the caller, whatever the value.
    Forbidden,
    /// Only to literal values the rule spells out (`LC_ALL=C`,
    /// `LANG=(C | C.UTF-8)`): programs need them set, and any other value
    /// can name a file to load (a locale or time zone path).
    LiteralOnly,
}

/// How an entry names its variables. Names are compared without regard to
/// case: some programs read lowercase spellings (curl's `http_proxy`, zsh's
/// `path`), and a name that differs only in case is the same risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    Exactly(&'static str),
    /// Every name starting with this.
    Prefix(&'static str),
    /// Every name ending with this.
    Suffix(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub names: Names,
    pub restriction: Restriction,
    /// Who reads the variable and what it lets the caller do.
    pub why: &'static str,
}

const fn forbidden(names: Names, why: &'static str) -> Entry {
    Entry {
        names,
        restriction: Restriction::Forbidden,
        why,
    }
}

const RUNTIME: &str = "the runtime sets it to the exec dirs";
const LOADER: &str = "the dynamic loader loads code or changes how programs run";
const LIBC: &str = "the C library reads files or changes behaviour (it filters these only for setuid programs, and rootwrap runs through sudo)";
const SHELL: &str = "shells run code from it";
const INTERPRETER: &str = "an interpreter loads code or runs commands from it";
const CONFIG: &str = "a library reads its configuration, certificates or network settings from it";
const USER_FILES: &str =
    "programs read configuration files, and run code, from the directories it names";
const RUNS: &str = "programs run the command it names";
const LOCALE: &str =
    "a value other than a literal can name a locale, message catalogue or time zone file to load";

/// Every restricted variable or family, with why.
pub const RESTRICTED: &[Entry] = &[
    forbidden(Names::Exactly("PATH"), RUNTIME),
    forbidden(Names::Prefix("LD_"), LOADER),
    forbidden(Names::Exactly("GCONV_PATH"), LIBC),
    forbidden(Names::Exactly("GETCONF_DIR"), LIBC),
    forbidden(Names::Exactly("GLIBC_TUNABLES"), LIBC),
    forbidden(Names::Exactly("HOSTALIASES"), LIBC),
    forbidden(Names::Exactly("LOCALDOMAIN"), LIBC),
    forbidden(Names::Exactly("LOCPATH"), LIBC),
    forbidden(Names::Prefix("MALLOC_"), LIBC),
    forbidden(Names::Exactly("NIS_PATH"), LIBC),
    forbidden(Names::Exactly("NLSPATH"), LIBC),
    forbidden(Names::Exactly("RESOLV_HOST_CONF"), LIBC),
    forbidden(Names::Exactly("RES_OPTIONS"), LIBC),
    forbidden(Names::Exactly("TMPDIR"), LIBC),
    forbidden(Names::Exactly("TZDIR"), LIBC),
    forbidden(Names::Exactly("IFS"), SHELL),
    forbidden(Names::Exactly("BASH_ENV"), SHELL),
    forbidden(Names::Exactly("ENV"), SHELL),
    forbidden(Names::Exactly("SHELLOPTS"), SHELL),
    forbidden(Names::Exactly("BASHOPTS"), SHELL),
    forbidden(Names::Exactly("PS4"), SHELL),
    forbidden(Names::Exactly("PROMPT_COMMAND"), SHELL),
    forbidden(Names::Prefix("BASH_FUNC_"), SHELL),
    forbidden(Names::Prefix("PYTHON"), INTERPRETER),
    forbidden(Names::Prefix("PERL"), INTERPRETER),
    forbidden(Names::Prefix("RUBY"), INTERPRETER),
    forbidden(Names::Prefix("NODE_"), INTERPRETER),
    forbidden(Names::Exactly("JAVA_TOOL_OPTIONS"), INTERPRETER),
    forbidden(Names::Exactly("_JAVA_OPTIONS"), INTERPRETER),
    forbidden(Names::Exactly("JDK_JAVA_OPTIONS"), INTERPRETER),
    forbidden(Names::Prefix("LUA_"), INTERPRETER),
    forbidden(Names::Exactly("TCLLIBPATH"), INTERPRETER),
    forbidden(Names::Exactly("TCL_LIBRARY"), INTERPRETER),
    forbidden(Names::Prefix("GIO_"), INTERPRETER),
    forbidden(Names::Prefix("GIT_"), INTERPRETER),
    forbidden(Names::Prefix("OPENSSL_"), CONFIG),
    forbidden(Names::Prefix("SSL_CERT_"), CONFIG),
    forbidden(Names::Exactly("CURL_CA_BUNDLE"), CONFIG),
    forbidden(Names::Suffix("_PROXY"), CONFIG),
    forbidden(Names::Prefix("KRB5"), CONFIG),
    forbidden(Names::Exactly("HOME"), USER_FILES),
    forbidden(Names::Prefix("XDG_"), USER_FILES),
    forbidden(Names::Exactly("PAGER"), RUNS),
    forbidden(Names::Exactly("EDITOR"), RUNS),
    forbidden(Names::Exactly("VISUAL"), RUNS),
    Entry {
        names: Names::Exactly("LANG"),
        restriction: Restriction::LiteralOnly,
        why: LOCALE,
    },
    Entry {
        names: Names::Exactly("LANGUAGE"),
        restriction: Restriction::LiteralOnly,
        why: LOCALE,
    },
    Entry {
        names: Names::Prefix("LC_"),
        restriction: Restriction::LiteralOnly,
        why: LOCALE,
    },
    Entry {
        names: Names::Exactly("TZ"),
        restriction: Restriction::LiteralOnly,
        why: LOCALE,
    },
];

impl Names {
    pub fn covers(self, name: &str) -> bool {
        let upper = name.to_ascii_uppercase();
        match self {
            Names::Exactly(listed) => upper == listed,
            Names::Prefix(prefix) => upper.starts_with(prefix),
            Names::Suffix(suffix) => upper.ends_with(suffix),
        }
    }

    /// How the book and diagnostics show the entry: `LD_*`, `*_PROXY`.
    pub fn shown(self) -> String {
        match self {
            Names::Exactly(name) => name.to_string(),
            Names::Prefix(prefix) => format!("{prefix}*"),
            Names::Suffix(suffix) => format!("*{suffix}"),
        }
    }
}

/// The entry restricting `name`, if any (the first, and the list has no
/// overlaps).
pub fn restriction(name: &str) -> Option<&'static Entry> {
    RESTRICTED.iter().find(|entry| entry.names.covers(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_do_not_overlap_and_cover_their_examples() {
        let example = |names: Names| match names {
            Names::Exactly(name) => name.to_string(),
            Names::Prefix(prefix) => format!("{prefix}X"),
            Names::Suffix(suffix) => format!("X{suffix}"),
        };
        for (i, entry) in RESTRICTED.iter().enumerate() {
            let name = example(entry.names);
            let lower = name.to_ascii_lowercase();
            for spelling in [&name, &lower] {
                let found = restriction(spelling).map(|e| e.names);
                assert_eq!(found, Some(entry.names), "{spelling}: entry {i}");
            }
        }
        assert_eq!(restriction("LVM_SYSTEM_DIR"), None);
        assert_eq!(restriction("NETWORK_ID"), None);
    }
}
