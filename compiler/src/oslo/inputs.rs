//! Input discovery: rootwrap.conf read as oslo reads it, its filters_path
//! directories listed, filter files given by name or as text.

use std::fs;
use std::path::{Path, PathBuf};

use super::config::{self, Ini};
use super::*;

/// A file read as input.
pub(super) struct Input {
    pub(super) display: String,
    pub(super) path: Option<PathBuf>,
    pub(super) text: String,
}

/// Filter files given as `(name, text)`, read from nowhere.
pub(super) fn text_inputs(files: Vec<(String, String)>) -> Vec<Input> {
    files
        .into_iter()
        .map(|(display, text)| Input {
            display,
            path: None,
            text,
        })
        .collect()
}

pub(super) fn config_errors(file: &str, errors: &[config::ConfigError]) -> ImportError {
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
pub(super) struct Settings {
    pub(super) conf: Option<String>,
    pub(super) ruleset_name: Option<String>,
    pub(super) filters_path: Vec<String>,
    /// `None`: not set, oslo uses $PATH (sudo's secure_path).
    pub(super) exec_dirs: Option<Vec<String>>,
    pub(super) logging: Logging,
    /// `daemon_timeout` as written and its value.
    pub(super) daemon_timeout: Option<(String, i128)>,
    pub(super) other: Vec<(String, String)>,
}

pub(super) const FACILITIES: &[&str] = &[
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
pub(super) fn read_conf(
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
    let mut daemon_timeout = None;
    for name in ["daemon_timeout", "rlimit_nofile"] {
        if let Some(value) = get(name) {
            let stripped = py_strip(&value);
            let digits = stripped.trim_start_matches(['+', '-']).replace('_', "");
            if digits.is_empty() || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(bad(name, &value, "not an integer"));
            }
            if name == "daemon_timeout" {
                // Python's int(): past i128 is past any limit anyway.
                let magnitude = digits.parse::<i128>().unwrap_or(i128::MAX);
                let number = if stripped.starts_with('-') {
                    -magnitude
                } else {
                    magnitude
                };
                daemon_timeout = Some((value, number));
            } else {
                other.push((name.to_string(), value));
            }
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
        daemon_timeout,
        other,
    })
}

/// An exec dir as the rule language wants it (absolute, normalized), or
/// `None` if oslo could never find a program through it.
pub(super) fn normalize_dir(raw: &str) -> Option<String> {
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
pub(super) fn filter_dir(dir: &str, warnings: &mut Vec<String>) -> Result<Vec<Input>, ImportError> {
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
