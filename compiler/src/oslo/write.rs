//! Writing: the imported filters as .rwf files, with their notes and
//! refusals as comments.

use std::fmt::Write as _;

use super::summary::short_name;
use super::*;
use crate::lower::MAX_IDLE_TIMEOUT;

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

/// The first line of the file with oslo's implicit `privsep-helper` rule.
const PRIVSEP_FIRST_LINE: &str =
    "# oslo.rootwrap allows `privsep-helper` with any arguments, as root, in every\n";

impl Import {
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
        out.push_str(&self.daemon_option());
        if !self.other_options.is_empty() {
            out.push_str(
                "\n# oslo options with no equivalent (the runtime closes descriptors itself):\n",
            );
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

    /// oslo's `daemon_timeout` as the daemon's `idle-timeout`: both are
    /// the seconds without a request after which the daemon exits.
    fn daemon_option(&self) -> String {
        let Some((written, seconds)) = &self.daemon_timeout else {
            return String::new();
        };
        let mut out = format!("\n# oslo: daemon_timeout = {written}\n");
        let seconds = if *seconds < 1 {
            // oslo's timer found the daemon idle at its first check, about
            // a second after the last request; 0 here would mean never.
            comment_wrapped(
                &mut out,
                "#",
                "oslo's daemon exited about a second after its last request with a timeout of 0 or less; `idle-timeout=0` would mean never, so it is 1.",
            );
            1
        } else if *seconds > i128::from(MAX_IDLE_TIMEOUT) {
            comment_wrapped(
                &mut out,
                "#",
                &format!("more than rootwrap's largest idle timeout: {MAX_IDLE_TIMEOUT} seconds (a year)."),
            );
            i128::from(MAX_IDLE_TIMEOUT)
        } else {
            *seconds
        };
        let _ = writeln!(out, "daemon idle-timeout={seconds}");
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
                if let Some(suggestion) = super::suggest::suggestion(&t.body) {
                    comment_wrapped(out, "# action:", &suggestion);
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
        out.push_str(PRIVSEP_FIRST_LINE);
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

    /// Whether `text`, a file found where an import would write, was
    /// written by an import (by the first line every output starts with):
    /// only those may be replaced, with `--force`.
    pub fn written_by_import(text: &str) -> bool {
        let first = text.split_inclusive('\n').next().unwrap_or("");
        first.starts_with("# Imported from ") && first.contains("by `rootwrap-compile import-oslo`")
            || first == PRIVSEP_FIRST_LINE
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
}

/// Whether `import-oslo -o DIR` may write `outputs` (names and texts) into
/// `dir`: a missing or empty directory, or with `force` one whose files of
/// those names an import wrote. It never deletes a file; the files that
/// are there and not among the outputs are returned, to be named (they
/// would be compiled with the imported ones).
pub fn check_output_dir(
    dir: &std::path::Path,
    outputs: &[(String, String)],
    force: bool,
) -> Result<Vec<String>, String> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", dir.display())),
    };
    let mut present: Vec<String> = entries
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    present.sort();
    if present.is_empty() {
        return Ok(present);
    }
    if !force {
        return Err(format!(
            "{} is not empty ({} entries): import-oslo writes into a new or empty directory; give --force to write there anyway (it replaces only files an earlier import wrote, and deletes nothing)",
            dir.display(),
            present.len()
        ));
    }
    for (name, _) in outputs {
        let path = dir.join(name);
        if !present.contains(name) {
            continue;
        }
        let ours = std::fs::read_to_string(&path)
            .map(|text| Import::written_by_import(&text))
            .unwrap_or(false);
        if !ours {
            return Err(format!(
                "{} was not written by import-oslo: it is left alone; move it away or write to another directory",
                path.display()
            ));
        }
    }
    present.retain(|name| !outputs.iter().any(|(output, _)| output == name));
    Ok(present)
}
