//! `rootwrap-compile import-oslo`: oslo.rootwrap deployments (`rootwrap.conf`
//! and `.filters` files) to reviewable `.rwf` files.
//!
//! Files are read the way oslo.rootwrap reads them (see `config`), each
//! filter becomes one rule (see `translate`), and every difference from
//! oslo's decision is written next to the rule: stricter (refuses more),
//! different (same programs, other details) or refused (not imported).

pub mod config;
pub mod reason;
pub mod regex;
pub mod translate;

use std::collections::{BTreeMap, HashSet};
use std::fmt::Write as _;
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
    /// Other rootwrap.conf options, written as comments.
    pub other_options: Vec<(String, String)>,
    pub files: Vec<ImportedFile>,
    /// The implicit privsep-helper rule's name, when written.
    pub privsep_helper: Option<String>,
    pub privsep_file: String,
    /// Warnings about the inputs as a whole.
    pub warnings: Vec<String>,
}

/// A file read as input.
struct Input {
    display: String,
    path: Option<PathBuf>,
    text: String,
}

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

/// `rootwrap-compile import-oslo`: imports, writes the combined `.rwf` to
/// stdout or the files into `output`, prints the summary on stderr, and
/// returns the exit code (0 all imported, 2 some refused, 1 unusable input).
pub fn run(inputs: &[PathBuf], output: Option<&Path>, options: ImportOptions) -> u8 {
    let import = match import_paths(inputs, options) {
        Ok(import) => import,
        Err(error) => {
            for message in &error.messages {
                eprintln!("rootwrap-compile: {message}");
            }
            return 1;
        }
    };
    match output {
        None => {
            use std::io::Write as _;
            // A closed pipe (`import-oslo ... | head`) is not an error worth a panic.
            let _ = std::io::stdout()
                .lock()
                .write_all(import.combined().as_bytes());
        }
        Some(dir) => {
            if let Err(e) = fs::create_dir_all(dir) {
                eprintln!("rootwrap-compile: cannot create {}: {e}", dir.display());
                return 1;
            }
            for (name, text) in import.outputs() {
                let path = dir.join(&name);
                if let Err(e) = crate::compile::write_atomically(&path, text.as_bytes()) {
                    eprintln!("rootwrap-compile: cannot write {}: {e}", path.display());
                    return 1;
                }
            }
        }
    }
    eprint!("{}", import.summary());
    if let Some(dir) = output {
        eprintln!(
            "import-oslo: wrote {} file(s) to {}; compile them with `rootwrap-compile -o RULESET.rwc {}`",
            import.outputs().len(),
            dir.display(),
            dir.display()
        );
    }
    import.exit_code()
}

/// Filter files given as `(name, text)`, read from nowhere.
fn text_inputs(files: Vec<(String, String)>) -> Vec<Input> {
    files
        .into_iter()
        .map(|(display, text)| Input {
            display,
            path: None,
            text,
        })
        .collect()
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

fn config_errors(file: &str, errors: &[config::ConfigError]) -> ImportError {
    ImportError {
        messages: errors
            .iter()
            .map(|e| {
                format!(
                    "{file}:{}: {} (oslo.rootwrap cannot read this file: every call fails)",
                    e.line, e.message
                )
            })
            .collect(),
    }
}

#[derive(Debug, Default)]
struct Settings {
    conf: Option<String>,
    ruleset_name: Option<String>,
    filters_path: Vec<String>,
    /// `None`: not set, oslo uses $PATH (sudo's secure_path).
    exec_dirs: Option<Vec<String>>,
    logging: Logging,
    other: Vec<(String, String)>,
}

const FACILITIES: &[&str] = &[
    "auth",
    "authpriv",
    "console",
    "cron",
    "daemon",
    "ftp",
    "kern",
    "lpr",
    "mail",
    "news",
    "ntp",
    "security",
    "solaris-cron",
    "syslog",
    "user",
    "uucp",
    "local0",
    "local1",
    "local2",
    "local3",
    "local4",
    "local5",
    "local6",
    "local7",
];

/// rootwrap.conf's `[DEFAULT]`, checked as oslo's RootwrapConfig does.
fn read_conf(
    input: &Input,
    ini: &Ini,
    warnings: &mut Vec<String>,
) -> Result<Settings, ImportError> {
    let file = &input.display;
    let get = |name: &str| ini.default(name).map(|e| e.value.clone());
    let Some(filters_path) = get("filters_path") else {
        return Err(fail(format!(
            "{file}: no `filters_path` in [DEFAULT]: oslo.rootwrap refuses this configuration (exit 97)"
        )));
    };
    let bad = |name: &str, value: &str, why: &str| {
        fail(format!(
            "{file}: `{name} = {value}`: {why}; oslo.rootwrap refuses this configuration (exit 97)"
        ))
    };
    let mut logging = Logging::default();
    if let Some(value) = get("use_syslog") {
        let known = ["1", "yes", "true", "on", "0", "no", "false", "off"];
        if !known.contains(&value.to_lowercase().as_str()) {
            return Err(bad("use_syslog", &value, "not a boolean"));
        }
        logging.use_syslog = Some(value);
    }
    if let Some(value) = get("syslog_log_facility") {
        let attribute = value.starts_with("LOG_")
            && value[4..]
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !attribute && !FACILITIES.contains(&value.as_str()) {
            return Err(bad("syslog_log_facility", &value, "not a syslog facility"));
        }
        logging.facility = Some(value);
    }
    if let Some(value) = get("syslog_log_level") {
        let levels = [
            "DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL", "FATAL", "NOTSET",
        ];
        if !levels.contains(&value.to_uppercase().as_str()) {
            return Err(bad("syslog_log_level", &value, "not a logging level"));
        }
        logging.level = Some(value);
    }
    let mut other = Vec::new();
    for name in ["daemon_timeout", "rlimit_nofile"] {
        if let Some(value) = get(name) {
            let digits = py_strip(&value)
                .trim_start_matches(['+', '-'])
                .replace('_', "");
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad(name, &value, "not an integer"));
            }
            other.push((name.to_string(), value));
        }
    }
    // The ruleset is named after the service's configuration directory
    // (/etc/nova/rootwrap.conf: nova).
    let ruleset_name = input
        .path
        .as_ref()
        .and_then(|p| p.parent())
        .and_then(Path::file_name)
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| {
            input
                .path
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|n| n.to_string_lossy().into_owned())
        });
    let exec_dirs = get("exec_dirs").map(|value| {
        let mut dirs = Vec::new();
        for raw in value.split(',') {
            match normalize_dir(raw) {
                Some(dir) if dirs.contains(&dir) => {}
                Some(dir) => dirs.push(dir),
                None => warnings.push(format!(
                    "{file}: exec_dirs entry `{raw}` left out: oslo does not strip spaces and joins it with the command name as written, so it never finds a program there (a relative entry would be searched from the caller's directory)"
                )),
            }
        }
        dirs
    });
    let filters_path: Vec<String> = filters_path.split(',').map(str::to_string).collect();
    Ok(Settings {
        conf: Some(file.clone()),
        ruleset_name,
        filters_path,
        exec_dirs,
        logging,
        other,
    })
}

/// An exec dir as the rule language wants it (absolute, normalized), or
/// `None` if oslo could never find a program through it.
fn normalize_dir(raw: &str) -> Option<String> {
    if !raw.starts_with('/') {
        return None;
    }
    let mut parts = Vec::new();
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            other => parts.push(other),
        }
    }
    let dir = format!("/{}", parts.join("/"));
    let plain = dir
        .chars()
        .all(|c| !c.is_whitespace() && !"\"#".contains(c));
    plain.then_some(dir)
}

/// The filter files of one filters_path directory, as oslo lists them, but
/// sorted by name (oslo takes the directory's order, which varies).
fn filter_dir(dir: &str, warnings: &mut Vec<String>) -> Result<Vec<Input>, ImportError> {
    let path = Path::new(dir);
    if !path.is_dir() {
        warnings.push(format!(
            "filters_path entry `{dir}` is not a directory: skipped, as oslo skips it{}",
            if dir != dir.trim() {
                " (oslo does not strip the spaces around it)"
            } else {
                ""
            }
        ));
        return Ok(Vec::new());
    }
    let entries =
        fs::read_dir(path).map_err(|e| fail(format!("cannot read directory `{dir}`: {e}")))?;
    let mut names: Vec<std::ffi::OsString> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().starts_with('.'))
        .filter(|n| path.join(n).is_file())
        .collect();
    names.sort();
    let mut inputs = Vec::new();
    for name in names {
        let file = path.join(&name);
        let display = file.display().to_string();
        let text = fs::read_to_string(&file).map_err(|e| {
            fail(format!(
                "cannot read `{display}`: {e} (oslo.rootwrap fails on it too)"
            ))
        })?;
        inputs.push(Input {
            display,
            path: Some(file),
            text,
        });
    }
    Ok(inputs)
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
        other_options: settings.other,
        files,
        privsep_helper,
        privsep_file,
        warnings,
    })
}

// ------------------------------------------------------------- writing

/// Comment lines as written (the original filter lines).
fn comment_lines(out: &mut String, prefix: &str, text: &str) {
    for line in text.lines() {
        // A trailing backslash would read as a line continuation.
        let line = line.trim_end_matches('\\');
        let _ = writeln!(out, "{prefix}{line}");
    }
}

/// Prose as comment lines of at most about 80 columns: the first line
/// starts with `prefix`, the next ones are indented under it.
fn comment_wrapped(out: &mut String, prefix: &str, text: &str) {
    const WIDTH: usize = 80;
    let mut line = prefix.to_string();
    let mut words = 0;
    for word in text.split_whitespace() {
        if words > 0 && line.chars().count() + 1 + word.chars().count() > WIDTH {
            let _ = writeln!(out, "{}", line.trim_end_matches('\\'));
            line = "#  ".to_string();
            words = 0;
        }
        line.push(' ');
        line.push_str(word);
        words += 1;
    }
    let _ = writeln!(out, "{}", line.trim_end_matches('\\'));
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

    /// `00-ruleset.rwf`: the ruleset's options.
    pub fn ruleset_file(&self) -> String {
        let mut out = String::new();
        out.push_str("# Imported from oslo.rootwrap by `rootwrap-compile import-oslo`.\n");
        match &self.conf {
            Some(conf) => {
                let _ = writeln!(out, "# Configuration: {conf}");
            }
            None => out.push_str("# No rootwrap.conf was given.\n"),
        }
        let _ = writeln!(out, "ruleset {}", self.ruleset_name);
        out.push('\n');
        comment_wrapped(&mut out, "#", &self.exec_dirs_origin);
        if self.exec_dirs.is_empty() {
            out.push_str("# (no usable exec dir: rules for bare command names were refused)\n");
        } else {
            let _ = writeln!(out, "exec-dirs {}", self.exec_dirs.join(" "));
        }
        out.push('\n');
        out.push_str(&self.logging_options());
        if !self.other_options.is_empty() {
            out.push_str("\n# oslo options with no equivalent (the runtime needs no daemon and closes descriptors itself):\n");
            for (name, value) in &self.other_options {
                let _ = writeln!(out, "#   {name} = {value}");
            }
        }
        if self.privsep_helper.is_some() {
            out.push('\n');
            comment_wrapped(
                &mut out,
                "#",
                &format!(
                    "oslo's implicit privsep-helper rule is in {}: oslo tries it after every filter, and rules are tried in order.",
                    self.privsep_file
                ),
            );
        }
        out
    }

    /// oslo's syslog settings as `log` options, with the originals.
    fn logging_options(&self) -> String {
        let mut out = String::new();
        let logging = &self.logging;
        let written = [
            ("use_syslog", &logging.use_syslog),
            ("syslog_log_facility", &logging.facility),
            ("syslog_log_level", &logging.level),
        ];
        for (name, value) in written {
            if let Some(value) = value {
                let _ = writeln!(out, "# oslo: {name} = {value}");
            }
        }
        let on = logging
            .use_syslog
            .as_deref()
            .is_some_and(|v| matches!(v.to_lowercase().as_str(), "1" | "yes" | "true" | "on"));
        if !on {
            out.push_str(
                "# oslo logged nothing (use_syslog is off). To record every decision, add e.g.\n",
            );
            out.push_str(
                "# `log syslog facility=authpriv` (see the book's chapter on auditing).\n",
            );
            return out;
        }
        let facility = logging.facility.as_deref().unwrap_or("LOG_SYSLOG");
        let name = facility
            .strip_prefix("LOG_")
            .unwrap_or(facility)
            .to_lowercase();
        out.push_str("# oslo logged executions at INFO and refusals at ERROR, those at or above\n");
        out.push_str(
            "# syslog_log_level only (ERROR, the default, meant refusals only); rootwrap\n",
        );
        out.push_str("# records every decision.\n");
        if crate::lower::SYSLOG_FACILITIES
            .iter()
            .any(|(known, _)| *known == name)
        {
            let _ = writeln!(
                out,
                "log syslog facility={name} allowed-level=info denied-level=err"
            );
        } else {
            let _ = writeln!(
                out,
                "# the facility `{facility}` has no equivalent here: rootwrap's default is used\nlog syslog allowed-level=info denied-level=err"
            );
        }
        out.push_str("# oslo went on without syslog when /dev/log could not be used; `refuse`,\n");
        out.push_str("# the default, refuses calls that cannot be recorded instead.\n");
        out.push_str("on-log-failure continue\n");
        out
    }

    /// The `.rwf` text for one imported filter file.
    pub fn file_text(&self, file: &ImportedFile) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# Imported from the oslo.rootwrap filter file {} by `rootwrap-compile import-oslo`.",
            file.source
        );
        out.push_str("# Each rule keeps its filter's name and shows the filter above it, with\n");
        out.push_str("# where the rule refuses more than oslo (stricter), behaves otherwise\n");
        out.push_str("# (differs), or could not be imported (refused). Review before use.\n");
        for record in &file.filters {
            out.push('\n');
            self.write_record(&mut out, record);
        }
        out
    }

    fn write_record(&self, out: &mut String, record: &FilterRecord) {
        let location = format!("{}:{}", short_name(&record.file), record.line);
        match record.text.as_slice() {
            [one] => {
                let _ = writeln!(out, "# oslo ({location}): {}", one.trim());
            }
            lines => {
                let _ = writeln!(out, "# oslo ({location}):");
                for line in lines {
                    comment_lines(out, "#   ", line);
                }
            }
        }
        for warning in &record.warnings {
            comment_wrapped(out, "# warning:", warning);
        }
        match &record.outcome {
            Outcome::Imported(t) => {
                for note in &t.notes {
                    let kind = match note.kind {
                        Kind::Stricter => "stricter",
                        Kind::Differs => "differs",
                    };
                    comment_wrapped(out, &format!("# {kind} ({}):", note.category), &note.text);
                }
                if let Some(rule) = record.rule() {
                    let _ = writeln!(out, "{rule}");
                }
            }
            Outcome::Refused(refusal) => {
                comment_wrapped(
                    out,
                    &format!("# REFUSED ({}):", refusal.category),
                    &refusal.reason,
                );
                if let Some(suggestion) = &refusal.suggestion {
                    comment_wrapped(out, "#   suggestion:", suggestion);
                }
            }
        }
    }

    /// The implicit privsep-helper rule, if written.
    pub fn privsep_text(&self) -> Option<String> {
        let name = self.privsep_helper.as_ref()?;
        let mut out = String::new();
        out.push_str(
            "# oslo.rootwrap allows `privsep-helper` with any arguments, as root, in every\n",
        );
        out.push_str(
            "# deployment: it adds CommandFilter(\"privsep-helper\", \"root\") after all\n",
        );
        out.push_str("# filters. Services (os-brick, neutron, nova...) start their privileged\n");
        out.push_str("# daemons this way. It is written out so that it gets reviewed, and the\n");
        out.push_str(
            "# compiler's lint flags it; `import-oslo --no-privsep-helper` leaves it out.\n",
        );
        let _ = writeln!(out, "allow {name}: privsep-helper ...");
        Some(out)
    }

    /// The files `-o DIR` writes, in name order (the order they compile in).
    pub fn outputs(&self) -> Vec<(String, String)> {
        let mut outputs = vec![(RULESET_FILE.to_string(), self.ruleset_file())];
        for file in &self.files {
            outputs.push((file.output_name.clone(), self.file_text(file)));
        }
        if let Some(text) = self.privsep_text() {
            outputs.push((self.privsep_file.clone(), text));
        }
        outputs.sort_by(|a, b| a.0.cmp(&b.0));
        outputs
    }

    /// One `.rwf` with everything, in oslo's order (for stdout).
    pub fn combined(&self) -> String {
        let mut out = self.ruleset_file();
        for file in &self.files {
            out.push('\n');
            let _ = writeln!(
                out,
                "# ---------------------------------------- {}",
                file.output_name
            );
            out.push_str(&self.file_text(file));
        }
        if let Some(text) = self.privsep_text() {
            out.push('\n');
            let _ = writeln!(
                out,
                "# ---------------------------------------- {}",
                self.privsep_file
            );
            out.push_str(&text);
        }
        out
    }

    /// Counts per class: (imported, of which stricter, refused).
    pub fn counts_by_class(&self) -> BTreeMap<String, (usize, usize, usize)> {
        let mut counts: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
        for record in self.records() {
            let entry = counts.entry(record.class.clone()).or_default();
            if record.is_imported() {
                entry.0 += 1;
                if !record.stricter().is_empty() {
                    entry.1 += 1;
                }
            } else {
                entry.2 += 1;
            }
        }
        counts
    }

    /// The summary printed on stderr at the end.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let total = self.records().count();
        let imported = self.records().filter(|r| r.is_imported()).count();
        let stricter = self.records().filter(|r| !r.stricter().is_empty()).count();
        let refused = total - imported;
        let _ = writeln!(
            out,
            "import-oslo: read {}{} filter file(s); files in a directory are taken in name order (oslo: directory order)",
            if self.conf.is_some() { "1 rootwrap.conf and " } else { "" },
            self.files.len()
        );
        let _ = writeln!(
            out,
            "import-oslo: {total} filter(s): {imported} imported ({stricter} with a stricter meaning than oslo), {refused} refused"
        );
        let counts = self.counts_by_class();
        if !counts.is_empty() {
            let _ = writeln!(
                out,
                "  {:<24} {:>8} {:>8} {:>8}",
                "class", "imported", "stricter", "refused"
            );
            for (class, (i, s, r)) in &counts {
                let shown = if class.is_empty() { "(none)" } else { class };
                let _ = writeln!(out, "  {shown:<24} {i:>8} {s:>8} {r:>8}");
            }
        }
        let mut by_category: BTreeMap<&str, usize> = BTreeMap::new();
        for record in self.records() {
            for category in record.stricter() {
                *by_category.entry(category.name()).or_default() += 1;
            }
        }
        if !by_category.is_empty() {
            let list: Vec<String> = by_category
                .iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect();
            let _ = writeln!(out, "  stricter, by reason: {}", list.join(", "));
        }
        if refused > 0 {
            let _ = writeln!(out, "  refused:");
            for record in self.records() {
                if let Outcome::Refused(refusal) = &record.outcome {
                    let _ = writeln!(
                        out,
                        "    {}:{} {} ({}): {}: {}",
                        record.file,
                        record.line,
                        record.oslo_name,
                        if record.class.is_empty() {
                            "no class"
                        } else {
                            &record.class
                        },
                        refusal.category,
                        refusal.reason
                    );
                }
            }
        }
        let warnings: Vec<String> = self
            .warnings
            .iter()
            .cloned()
            .chain(self.records().flat_map(|r| {
                r.warnings
                    .iter()
                    .map(move |w| format!("{}:{} {}: {w}", r.file, r.line, r.oslo_name))
            }))
            .collect();
        if !warnings.is_empty() {
            let _ = writeln!(out, "  warnings:");
            for warning in warnings {
                let _ = writeln!(out, "    {}", warning.replace('\n', " "));
            }
        }
        match &self.privsep_helper {
            Some(name) => {
                let _ = writeln!(
                    out,
                    "  oslo's implicit privsep-helper rule is written out as `{name}` ({})",
                    self.privsep_file
                );
            }
            None => {
                let _ = writeln!(
                    out,
                    "  oslo's implicit privsep-helper rule is left out: calls to privsep-helper that oslo allowed are refused"
                );
            }
        }
        out
    }
}

fn short_name(display: &str) -> String {
    Path::new(display)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| display.to_string())
}
