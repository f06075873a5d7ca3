//! `rootwrap-compile import-oslo`: oslo.rootwrap deployments (`rootwrap.conf`
//! and `.filters` files) to reviewable `.rwf` files.
//!
//! Files are read the way oslo.rootwrap reads them (see `config`), each
//! filter becomes one rule (see `translate`), and every difference from
//! oslo's decision is written next to the rule: stricter (refuses more),
//! different (same programs, other details) or refused (not imported).

pub mod config;
mod inputs;
pub mod reason;
pub mod regex;
mod suggest;
mod summary;
mod todo;
pub mod translate;
mod write;
pub use todo::TODO_FILE;
pub use write::check_output_dir;

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use config::{py_strip, split_fields, Ini};
use reason::Category;
use translate::{Kind, Refusal, Translated};

/// sudo's default `secure_path`, which is rootwrap's `$PATH` under sudo and
/// so oslo's exec dirs when rootwrap.conf sets none.
pub const DEFAULT_EXEC_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The file that holds the ruleset's options.
pub const RULESET_FILE: &str = "00-ruleset.rwf";

#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// Write oslo's implicit `privsep-helper` rule out explicitly.
    pub privsep_helper: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            privsep_helper: true,
        }
    }
}

/// Input that cannot be imported at all (exit 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub messages: Vec<String>,
}

impl std::fmt::Display for ImportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.messages.join("\n"))
    }
}

fn fail(message: impl Into<String>) -> ImportError {
    ImportError {
        messages: vec![message.into()],
    }
}

/// What became of one filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Imported(Translated),
    Refused(Refusal),
}

/// One filter as oslo loads it, and what the importer made of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRecord {
    /// The filter file, as named on the command line or found in a dir.
    pub file: String,
    pub line: usize,
    /// The filter's name as oslo knows it (lower-cased).
    pub oslo_name: String,
    /// Its class (first field), as written.
    pub class: String,
    /// The definition's lines as written.
    pub text: Vec<String>,
    /// The rule's name: unique in the ruleset.
    pub rule_name: String,
    pub outcome: Outcome,
    /// Warnings about this filter (duplicates, inline `#`, ...).
    pub warnings: Vec<String>,
}

impl FilterRecord {
    pub fn is_imported(&self) -> bool {
        matches!(self.outcome, Outcome::Imported(_))
    }

    /// The categories in which the rule refuses more than oslo.
    pub fn stricter(&self) -> Vec<Category> {
        match &self.outcome {
            Outcome::Imported(t) => t
                .notes
                .iter()
                .filter(|n| n.kind == Kind::Stricter)
                .map(|n| n.category)
                .collect(),
            Outcome::Refused(_) => Vec::new(),
        }
    }

    /// The rule's `allow` statement, if imported.
    pub fn rule(&self) -> Option<String> {
        match &self.outcome {
            Outcome::Imported(t) => Some(format!(
                "allow {}{}: {}",
                self.rule_name,
                t.run_as
                    .as_ref()
                    .map(|u| format!(" as {u}"))
                    .unwrap_or_default(),
                t.body
            )),
            Outcome::Refused(_) => None,
        }
    }
}

/// One filter file and its filters, in oslo's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedFile {
    pub source: String,
    /// The `.rwf` file written for it with `-o DIR`.
    pub output_name: String,
    pub filters: Vec<FilterRecord>,
}

/// The logging options of rootwrap.conf, as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logging {
    pub use_syslog: Option<String>,
    pub facility: Option<String>,
    pub level: Option<String>,
}

/// A whole import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    pub ruleset_name: String,
    pub exec_dirs: Vec<String>,
    /// Where the exec dirs come from, for the comment above them.
    pub exec_dirs_origin: String,
    pub conf: Option<String>,
    pub logging: Logging,
    /// oslo's `daemon_timeout` (as written, and its value): the daemon's
    /// `idle-timeout`.
    pub daemon_timeout: Option<(String, i128)>,
    /// Other rootwrap.conf options, written as comments.
    pub other_options: Vec<(String, String)>,
    pub files: Vec<ImportedFile>,
    /// The implicit privsep-helper rule's name, when written.
    pub privsep_helper: Option<String>,
    pub privsep_file: String,
    /// Warnings about the inputs as a whole.
    pub warnings: Vec<String>,
}

use inputs::{config_errors, filter_dir, read_conf, text_inputs, Input, Settings};

/// Imports files given on the command line: one rootwrap.conf (optional)
/// and any number of filter files.
pub fn import_paths(paths: &[PathBuf], options: ImportOptions) -> Result<Import, ImportError> {
    let mut conf: Option<(Input, Ini)> = None;
    let mut filter_inputs = Vec::new();
    for path in paths {
        let display = path.display().to_string();
        let text =
            fs::read_to_string(path).map_err(|e| fail(format!("cannot read `{display}`: {e}")))?;
        let input = Input {
            display: display.clone(),
            path: Some(path.clone()),
            text,
        };
        let parsed = config::parse(&input.text);
        let named_like_conf = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .is_some_and(|n| n.ends_with(".conf") || n.contains("rootwrap.conf"));
        let has_filters_path = parsed
            .as_ref()
            .is_ok_and(|ini| ini.default("filters_path").is_some());
        if has_filters_path || named_like_conf {
            let ini = parsed.map_err(|errors| config_errors(&display, &errors))?;
            if let Some((first, _)) = &conf {
                return Err(fail(format!(
                    "two configuration files: `{}` and `{display}` (give one rootwrap.conf)",
                    first.display
                )));
            }
            conf = Some((input, ini));
        } else {
            filter_inputs.push(input);
        }
    }
    let mut warnings = Vec::new();
    let mut settings = Settings::default();
    let mut inputs = Vec::new();
    if let Some((input, ini)) = &conf {
        settings = read_conf(input, ini, &mut warnings)?;
        for dir in &settings.filters_path {
            inputs.extend(filter_dir(dir, &mut warnings)?);
        }
    }
    inputs.extend(filter_inputs);
    if inputs.is_empty() && conf.is_none() {
        return Err(fail("no input files"));
    }
    import_inputs(inputs, settings, options, warnings)
}

/// Imports filter files given as text (no rootwrap.conf): `(name, text)`.
pub fn import_texts(
    files: Vec<(String, String)>,
    options: ImportOptions,
) -> Result<Import, ImportError> {
    let inputs = text_inputs(files);
    import_inputs(inputs, Settings::default(), options, Vec::new())
}

/// Imports a rootwrap.conf given as text, with filter files as text in
/// place of its filters_path directories.
pub fn import_conf_text(
    conf_name: &str,
    conf_text: &str,
    files: Vec<(String, String)>,
    options: ImportOptions,
) -> Result<Import, ImportError> {
    let ini = config::parse(conf_text).map_err(|errors| config_errors(conf_name, &errors))?;
    let mut warnings = Vec::new();
    let input = Input {
        display: conf_name.to_string(),
        path: Some(PathBuf::from(conf_name)),
        text: conf_text.to_string(),
    };
    let settings = read_conf(&input, &ini, &mut warnings)?;
    let inputs = text_inputs(files);
    import_inputs(inputs, settings, options, warnings)
}

/// A rule name from an oslo filter name: `[A-Za-z0-9][A-Za-z0-9_.-]*`.
pub fn sanitize_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = mapped.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
    if trimmed.is_empty() {
        "filter".into()
    } else {
        trimmed.to_string()
    }
}

fn unique_name(base: &str, taken: &mut HashSet<String>) -> String {
    let mut name = base.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// `STEM.rwf`, or `STEM_2.rwf`... when taken: `_` sorts after `.`, so a
/// later file with the same stem keeps coming after the first one (the
/// compiler reads a directory in name order, and rule order decides).
fn unique_file(stem: &str, taken: &mut HashSet<String>) -> String {
    let mut name = format!("{stem}.rwf");
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{stem}_{n}.rwf");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

fn stem_of(display: &str) -> String {
    let file = Path::new(display)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| display.to_string());
    let stem = file.strip_suffix(".filters").unwrap_or(&file).to_string();
    let stem = stem.trim_start_matches('.');
    if stem.is_empty() {
        "filters".into()
    } else {
        stem.replace('/', "_")
    }
}

fn import_inputs(
    inputs: Vec<Input>,
    settings: Settings,
    options: ImportOptions,
    mut warnings: Vec<String>,
) -> Result<Import, ImportError> {
    let (exec_dirs, exec_dirs_origin) = match &settings.exec_dirs {
        Some(dirs) => (
            dirs.clone(),
            format!(
                "exec_dirs of {}",
                settings.conf.as_deref().unwrap_or("rootwrap.conf")
            ),
        ),
        None => (
            DEFAULT_EXEC_DIRS.iter().map(|d| d.to_string()).collect(),
            match &settings.conf {
                Some(conf) => format!("{conf} sets no exec_dirs: oslo then searches rootwrap's $PATH, which sudo sets to its secure_path (the default below); review it"),
                None => "no rootwrap.conf given: oslo's default under sudo is sudo's secure_path (below); review it against the deployment's exec_dirs".into(),
            },
        ),
    };
    let context = translate::Context {
        have_exec_dirs: !exec_dirs.is_empty(),
    };
    let mut errors = Vec::new();
    let mut taken_names: HashSet<String> = HashSet::new();
    let mut taken_outputs: HashSet<String> = [RULESET_FILE.to_string()].into_iter().collect();
    let mut files = Vec::new();
    for input in &inputs {
        let ini = match config::parse(&input.text) {
            Ok(ini) => ini,
            Err(e) => {
                errors.extend(config_errors(&input.display, &e).messages);
                continue;
            }
        };
        let Some(items) = ini.items("Filters") else {
            errors.push(format!(
                "{}: no [Filters] section: oslo.rootwrap fails to start with this file in its filters_path (exit 1)",
                input.display
            ));
            continue;
        };
        let stem = stem_of(&input.display);
        let output_name = unique_file(&stem, &mut taken_outputs);
        let mut filters = Vec::new();
        for entry in items {
            let fields = split_fields(&entry.value);
            let class = fields.first().cloned().unwrap_or_default();
            let outcome = match translate::translate(&fields, context) {
                Ok(t) => Outcome::Imported(t),
                Err(r) => Outcome::Refused(r),
            };
            let mut filter_warnings = Vec::new();
            if !entry.replaced.is_empty() {
                let lines: Vec<String> = entry.replaced.iter().map(|l| l.to_string()).collect();
                filter_warnings.push(format!(
                    "`{}` is also defined at line(s) {} of this file: oslo keeps only this last definition, at the place of the first (no warning in oslo)",
                    entry.name,
                    lines.join(", ")
                ));
            }
            let mut spellings: Vec<&String> = Vec::new();
            for written in entry.replaced_names.iter().chain([&entry.written_name]) {
                if written != &entry.name && !spellings.contains(&written) {
                    spellings.push(written);
                }
            }
            for written in spellings {
                filter_warnings.push(format!(
                    "oslo lower-cases filter names: `{written}` is `{}`",
                    entry.name
                ));
            }
            let base = sanitize_name(&entry.name);
            if base != entry.name {
                filter_warnings.push(format!(
                    "the name `{}` is written `{base}` (rule names are letters, digits, `_`, `.`, `-`)",
                    entry.name
                ));
            }
            let rule_name = unique_name(&base, &mut taken_names);
            if rule_name != base {
                filter_warnings.push(format!(
                    "another filter is already named `{base}`: this rule is `{rule_name}` (oslo keeps both names alike; logs will say `{rule_name}`)"
                ));
            }
            if let Outcome::Imported(t) = &outcome {
                filter_warnings.extend(t.warnings.iter().cloned());
                if class == "KillFilter" {
                    let target = fields.get(2).map(String::as_str).unwrap_or_default();
                    filter_warnings.extend(translate::kill_target_on_this_host(target, &exec_dirs));
                }
            }
            filters.push(FilterRecord {
                file: input.display.clone(),
                line: entry.line,
                oslo_name: entry.name.clone(),
                class,
                text: entry.text.clone(),
                rule_name,
                outcome,
                warnings: filter_warnings,
            });
        }
        files.push(ImportedFile {
            source: input.display.clone(),
            output_name,
            filters,
        });
    }
    if !errors.is_empty() {
        return Err(ImportError { messages: errors });
    }
    // Without a usable exec dir oslo never finds privsep-helper either.
    let privsep_helper = (options.privsep_helper && context.have_exec_dirs)
        .then(|| unique_name("privsep-helper", &mut taken_names));
    // The implicit rule comes after every filter in oslo; compiling a
    // directory reads its files in name order, so its file sorts last.
    let mut privsep_file = "zz-privsep-helper.rwf".to_string();
    while files.iter().any(|f| f.output_name >= privsep_file) {
        privsep_file.insert(0, 'z');
    }
    let outputs_sorted: Vec<&String> = {
        let mut names: Vec<&String> = files.iter().map(|f| &f.output_name).collect();
        names.sort();
        names
    };
    let in_order: Vec<&String> = files.iter().map(|f| &f.output_name).collect();
    if outputs_sorted != in_order {
        warnings.push(
            "with -o DIR, the files compile in name order, which differs from the order oslo reads them here; rules are tried in order, so check rules of different files for the same command".into(),
        );
    }
    if settings.conf.is_some() && files.len() > 1 {
        warnings.push("filter files are read in name order within each filters_path directory; oslo reads a directory in the order the filesystem lists it, which is not defined".into());
    }
    let ruleset_name = settings
        .ruleset_name
        .or_else(|| files.first().map(|f| stem_of(&f.source)))
        .map(|n| sanitize_name(&n))
        .unwrap_or_else(|| "imported".into());
    Ok(Import {
        ruleset_name,
        exec_dirs,
        exec_dirs_origin,
        conf: settings.conf,
        logging: settings.logging,
        daemon_timeout: settings.daemon_timeout,
        other_options: settings.other,
        files,
        privsep_helper,
        privsep_file,
        warnings,
    })
}

impl Import {
    /// Every filter, in oslo's order.
    pub fn records(&self) -> impl Iterator<Item = &FilterRecord> {
        self.files.iter().flat_map(|f| f.filters.iter())
    }

    /// Whether something was refused (exit 2).
    pub fn refused_any(&self) -> bool {
        self.records().any(|r| !r.is_imported())
    }

    pub fn exit_code(&self) -> u8 {
        if self.refused_any() {
            2
        } else {
            0
        }
    }
}
