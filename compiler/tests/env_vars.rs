//! Restricted environment variables: the compiler and the oslo importer
//! share one list, so whatever the importer writes compiles, and every
//! listed name is refused by both.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use proptest::prelude::*;
use rootwrap_compile::oslo::reason::Category;
use rootwrap_compile::oslo::{import_texts, Import, ImportOptions, Outcome};
use rootwrap_compile::{compile_sources, Sources};

const HEAD: &str = "ruleset t\nexec-dirs /usr/bin /bin\n";

/// Names a rule may not let the caller set, whatever the value: one or
/// more for every entry of the list, written out here so that dropping an
/// entry fails this test.
const FORBIDDEN: &[&str] = &[
    "PATH",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "LD_AUDIT",
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_TRACE",
    "MALLOC_ARENA_MAX",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TMPDIR",
    "TZDIR",
    "IFS",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "BASH_FUNC_x",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PYTHONUSERBASE",
    "PYTHONPYCACHEPREFIX",
    "PYTHONWARNINGS",
    "PERL5LIB",
    "PERL5OPT",
    "PERLLIB",
    "PERLIO_DEBUG",
    "RUBYLIB",
    "RUBYOPT",
    "NODE_OPTIONS",
    "NODE_PATH",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "LUA_INIT",
    "LUA_PATH",
    "TCLLIBPATH",
    "TCL_LIBRARY",
    "GIO_MODULE_DIR",
    "GIO_EXTRA_MODULES",
    "GIT_EXEC_PATH",
    "GIT_SSH_COMMAND",
    "OPENSSL_CONF",
    "OPENSSL_ENGINES",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "CURL_CA_BUNDLE",
    "https_proxy",
    "HTTP_PROXY",
    "ALL_PROXY",
    "KRB5_CONFIG",
    "KRB5CCNAME",
    "HOME",
    "XDG_CONFIG_HOME",
    "XDG_DATA_DIRS",
    "PAGER",
    "EDITOR",
    "VISUAL",
    "ld_preload",
];

/// Names a rule may set to literal values only.
const LITERAL_ONLY: &[&str] = &["LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES", "TZ"];

fn compile(text: &str) -> Result<Vec<String>, String> {
    let mut sources = Sources::default();
    match compile_sources(vec![("t.rwf".into(), text.into())], false, &mut sources) {
        Ok(compiled) => Ok(sources.render_all(&compiled.warnings)),
        Err(failed) => Err(sources.render_all(&failed.diagnostics).join("\n")),
    }
}

fn import(filters: &str) -> Import {
    import_texts(
        vec![("t.filters".into(), format!("[Filters]\n{filters}"))],
        ImportOptions::default(),
    )
    .unwrap()
}

fn outcome<'a>(import: &'a Import, name: &str) -> &'a Outcome {
    &import
        .records()
        .find(|r| r.oslo_name == name)
        .unwrap_or_else(|| panic!("no record `{name}`"))
        .outcome
}

/// The names above walk the whole list: every entry of the compiler's
/// list has one (an entry added there without a name here fails), and every
/// name here is restricted as this file says.
#[test]
fn the_names_here_cover_every_entry_of_the_list() {
    use rootwrap_compile::env::{restriction, Restriction, RESTRICTED};
    for entry in RESTRICTED {
        let names = match entry.restriction {
            Restriction::Forbidden => FORBIDDEN,
            Restriction::LiteralOnly => LITERAL_ONLY,
        };
        assert!(
            names.iter().any(|name| entry.names.covers(name)),
            "no name in env_vars.rs for {} ({:?})",
            entry.names.shown(),
            entry.restriction
        );
    }
    for name in FORBIDDEN {
        assert_eq!(
            restriction(name).map(|e| e.restriction),
            Some(Restriction::Forbidden),
            "{name}"
        );
    }
    for name in LITERAL_ONLY {
        assert_eq!(
            restriction(name).map(|e| e.restriction),
            Some(Restriction::LiteralOnly),
            "{name}"
        );
    }
}

#[test]
fn every_forbidden_name_is_refused_by_the_compiler_and_the_importer() {
    let swapped = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect()
    };
    let mut filters = String::new();
    for (i, name) in FORBIDDEN.iter().enumerate() {
        // oslo's filter names ignore case: each spelling gets its own.
        for (j, spelling) in [name.to_string(), swapped(name)].into_iter().enumerate() {
            for value in ["x", "<any>"] {
                let rendered = compile(&format!("{HEAD}allow r: env {spelling}={value} ls\n"))
                    .expect_err(&format!("{spelling}={value} compiles"));
                assert!(
                    rendered.contains(&format!(
                        "error: a rule may not let the caller set `{spelling}`"
                    )),
                    "{rendered}"
                );
            }
            filters.push_str(&format!(
                "f{i}_{j}: EnvFilter, env, root, {spelling}=, ls\n"
            ));
            filters.push_str(&format!(
                "v{i}_{j}: EnvFilter, env, root, {spelling}=C, ls\n"
            ));
        }
    }
    let imported = import(&filters);
    for record in imported.records() {
        match &record.outcome {
            Outcome::Refused(refusal) => {
                assert_eq!(
                    refusal.category,
                    Category::EnvForbidden,
                    "{}",
                    record.oslo_name
                );
                assert!(
                    refusal
                        .reason
                        .contains("may not let the caller set it at all"),
                    "{}: {}",
                    record.oslo_name,
                    refusal.reason
                );
            }
            Outcome::Imported(_) => panic!("{} was imported", record.oslo_name),
        }
    }
    assert_eq!(imported.records().count(), FORBIDDEN.len() * 4);
}

#[test]
fn locale_and_time_zone_take_literal_values_only() {
    for name in LITERAL_ONLY {
        let lower = name.to_ascii_lowercase();
        for spelling in [*name, lower.as_str()] {
            for value in [
                "<any>",
                "re\".*\"",
                "re\"C|POSIX\"",
                "<path /usr/share/**>",
                "(C | <any>)",
            ] {
                let rendered = compile(&format!("{HEAD}allow r: env {spelling}={value} ls\n"))
                    .expect_err(&format!("{spelling}={value} compiles"));
                assert!(
                    rendered.contains(&format!(
                        "error: `{spelling}` may only be set to literal values"
                    )),
                    "{rendered}"
                );
            }
            for value in ["C", "(C | C.UTF-8)", "\"C\""] {
                let warnings = compile(&format!("{HEAD}allow r: env {spelling}={value} ls\n"))
                    .unwrap_or_else(|e| panic!("{spelling}={value}: {e}"));
                assert!(warnings.is_empty(), "{warnings:?}");
            }
        }
        let imported = import(&format!(
            "empty: EnvFilter, env, root, {name}=, ls\n\
             pinned: EnvFilter, env, root, {name}=C, A=, ls\n\
             two: EnvFilter, ls, root, {name}=C, {name}=POSIX\n"
        ));
        let Outcome::Refused(refusal) = outcome(&imported, "empty") else {
            panic!("{name}= imported");
        };
        assert_eq!(refusal.category, Category::EnvForbidden);
        assert!(
            refusal.reason.contains("literal values only"),
            "{refusal:?}"
        );
        let rule = |filter: &str| {
            imported
                .records()
                .find(|r| r.oslo_name == filter)
                .and_then(|r| r.rule())
                .unwrap()
        };
        assert_eq!(
            rule("pinned"),
            format!("allow pinned: env {name}=C A=<any> ls ...")
        );
        assert_eq!(
            rule("two"),
            format!("allow two: env {name}=(C | POSIX) ls ...")
        );
        let Outcome::Imported(translated) = outcome(&imported, "pinned") else {
            unreachable!()
        };
        assert!(translated
            .notes
            .iter()
            .any(|n| n.category == Category::EnvPinned));
        compile(
            &imported
                .outputs()
                .into_iter()
                .map(|(_, t)| t)
                .collect::<Vec<_>>()
                .join("\n"),
        )
        .unwrap();
    }
}

/// Names from the list, in any case, and names of any shape.
fn env_name() -> impl Strategy<Value = String> {
    let listed: Vec<&'static str> = FORBIDDEN.iter().chain(LITERAL_ONLY).copied().collect();
    prop_oneof![
        (proptest::sample::select(listed), any::<bool>()).prop_map(|(name, lower)| {
            if lower {
                name.to_ascii_lowercase()
            } else {
                name.to_string()
            }
        }),
        "[A-Za-z_][A-Za-z0-9_]{0,8}",
        "(LC_|LD_|XDG_|lc_|ld_|PYTHON|GIT_|)[A-Za-z0-9_]{0,6}(_proxy|_PROXY|)",
        "[A-Za-z0-9_.-]{1,6}",
    ]
}

fn env_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("C".to_string()),
        "[A-Za-z0-9_. /:|()<>\"\\\\-]{0,8}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Whatever `import-oslo` writes for an EnvFilter, the compiler accepts.
    #[test]
    fn what_the_importer_writes_compiles(
        assignments in proptest::collection::vec((env_name(), env_value()), 1..4),
        command in prop_oneof![Just("ls"), Just("/usr/bin/date"), Just("dnsmasq")],
        leading_env in any::<bool>(),
        extra in 0usize..3,
    ) {
        let mut fields = vec![
            if leading_env { "env".to_string() } else { command.to_string() },
            "root".to_string(),
        ];
        fields.extend(assignments.iter().map(|(n, v)| format!("{n}={v}")));
        if leading_env {
            fields.push(command.to_string());
        }
        fields.extend((0..extra).map(|i| format!("a{i}")));
        let imported = import(&format!("f: EnvFilter, {}\n", fields.join(", ")));
        let texts = imported.outputs();
        let mut sources = Sources::default();
        let compiled = compile_sources(texts, false, &mut sources);
        prop_assert!(
            compiled.is_ok(),
            "{}\n{}",
            imported.combined(),
            compiled
                .err()
                .map(|f| sources.render_all(&f.diagnostics).join("\n"))
                .unwrap_or_default()
        );
    }
}
