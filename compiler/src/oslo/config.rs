//! A reader for oslo.rootwrap's INI files (`rootwrap.conf` and `.filters`)
//! that reproduces Python's `configparser.RawConfigParser(strict=False)`
//! exactly as oslo.rootwrap uses it, quirks included: the first `:` or `=`
//! ends the name, names are lower-cased, lines starting with `#` or `;` are
//! comments but inline `#` text is kept, deeper-indented lines continue the
//! value, a repeated name keeps its first position with the last value, and
//! `[DEFAULT]` entries come first in every section.

use std::fmt;

/// One `name: value` entry, as configparser keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Lower-cased, as `optionxform` leaves it.
    pub name: String,
    /// The name as written in the winning definition.
    pub written_name: String,
    /// Continuation lines joined with `\n`, trailing whitespace removed.
    pub value: String,
    /// 1-based line of the winning (last) definition.
    pub line: usize,
    /// The winning definition's physical lines, as written.
    pub text: Vec<String>,
    /// Lines of the earlier definitions it replaced (same lower-cased name).
    pub replaced: Vec<usize>,
    /// Definitions that were replaced, with their names as written.
    pub replaced_names: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub entries: Vec<Entry>,
}

/// A parsed file: `[DEFAULT]` and the other sections, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ini {
    pub defaults: Section,
    pub sections: Vec<Section>,
}

/// Why configparser refuses the file (oslo.rootwrap then exits 1 or 97).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Python's `str.isspace()`, which also counts the separators U+001C..U+001F.
pub fn py_is_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()` with no argument.
pub fn py_strip(s: &str) -> &str {
    s.trim_matches(py_is_space)
}

fn py_rstrip(s: &str) -> &str {
    s.trim_end_matches(py_is_space)
}

/// Where the current value goes: defaults or the section at this index.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Defaults,
    Section(usize),
}

struct Pending {
    target: Target,
    /// Index of the entry within its section.
    index: usize,
    /// Value lines, joined with `\n` at the end of the file.
    lines: Vec<String>,
}

/// Parses `text` as configparser does. Every malformed line is reported,
/// as configparser collects them before raising.
pub fn parse(text: &str) -> Result<Ini, Vec<ConfigError>> {
    // Python reads text files with universal newlines.
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let mut ini = Ini {
        defaults: Section {
            name: "DEFAULT".into(),
            entries: Vec::new(),
        },
        sections: Vec::new(),
    };
    let mut errors = Vec::new();
    let mut current: Option<Target> = None;
    let mut pending: Option<Pending> = None;
    let mut indent_level = 0usize;
    let mut values: Vec<(Target, usize, Vec<String>)> = Vec::new();

    for (index, line) in normalized.split_inclusive('\n').enumerate() {
        let lineno = index + 1;
        let stripped = py_strip(line);
        let is_comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if is_comment { "" } else { stripped };
        if value.is_empty() {
            // A blank line (not a comment) inside a value is kept as an
            // empty value line.
            if !is_comment {
                if let Some(p) = pending.as_mut() {
                    p.lines.push(String::new());
                }
            }
            continue;
        }
        let indent = line.chars().take_while(|c| py_is_space(*c)).count();
        if current.is_some() && pending.is_some() && indent > indent_level {
            if let Some(p) = pending.as_mut() {
                p.lines.push(value.to_string());
                if let Some(entry) = entry_mut(&mut ini, p.target, p.index) {
                    entry.text.push(line.trim_end_matches('\n').to_string());
                }
            }
            continue;
        }
        indent_level = indent;
        if let Some(header) = section_header(value) {
            if let Some(p) = pending.take() {
                values.push((p.target, p.index, p.lines));
            }
            current = Some(if header == "DEFAULT" {
                Target::Defaults
            } else if let Some(i) = ini.sections.iter().position(|s| s.name == header) {
                Target::Section(i)
            } else {
                ini.sections.push(Section {
                    name: header.to_string(),
                    entries: Vec::new(),
                });
                Target::Section(ini.sections.len() - 1)
            });
            continue;
        }
        let Some(target) = current else {
            return Err(vec![ConfigError {
                line: lineno,
                message: format!(
                    "no section header before this line: `{}`",
                    line.trim_end_matches('\n')
                ),
            }]);
        };
        let Some((raw_name, raw_value)) = split_option(value) else {
            errors.push(ConfigError {
                line: lineno,
                message: format!(
                    "not `name: value`, a section header or a comment: `{}`",
                    line.trim_end_matches('\n')
                ),
            });
            // configparser goes on with the next line and keeps no value.
            if let Some(p) = pending.take() {
                values.push((p.target, p.index, p.lines));
            }
            continue;
        };
        if raw_name.is_empty() {
            errors.push(ConfigError {
                line: lineno,
                message: "an entry without a name".into(),
            });
        }
        if let Some(p) = pending.take() {
            values.push((p.target, p.index, p.lines));
        }
        let name = raw_name.to_lowercase();
        let section = section_mut(&mut ini, target);
        let written = line.trim_end_matches('\n').to_string();
        let index = match section.entries.iter().position(|e| e.name == name) {
            Some(i) => {
                let entry = &mut section.entries[i];
                entry.replaced.push(entry.line);
                let earlier = std::mem::replace(&mut entry.written_name, raw_name.to_string());
                entry.replaced_names.push(earlier);
                entry.line = lineno;
                entry.text = vec![written];
                // The old value is discarded below when the new one is joined.
                values.retain(|(t, idx, _)| !(*t == target && *idx == i));
                i
            }
            None => {
                section.entries.push(Entry {
                    name,
                    written_name: raw_name.to_string(),
                    value: String::new(),
                    line: lineno,
                    text: vec![written],
                    replaced: Vec::new(),
                    replaced_names: Vec::new(),
                });
                section.entries.len() - 1
            }
        };
        pending = Some(Pending {
            target,
            index,
            lines: vec![py_strip(raw_value).to_string()],
        });
    }
    if let Some(p) = pending.take() {
        values.push((p.target, p.index, p.lines));
    }
    for (target, index, lines) in values {
        if let Some(entry) = entry_mut(&mut ini, target, index) {
            entry.value = py_rstrip(&lines.join("\n")).to_string();
        }
    }
    if errors.is_empty() {
        Ok(ini)
    } else {
        Err(errors)
    }
}

fn section_mut(ini: &mut Ini, target: Target) -> &mut Section {
    match target {
        Target::Defaults => &mut ini.defaults,
        Target::Section(i) => &mut ini.sections[i],
    }
}

fn entry_mut(ini: &mut Ini, target: Target, index: usize) -> Option<&mut Entry> {
    section_mut(ini, target).entries.get_mut(index)
}

/// `[NAME]` at the start of a (stripped) line: the text between the first
/// `[` and the last `]`, as configparser's greedy `\[(?P<header>.+)\]`.
fn section_header(value: &str) -> Option<&str> {
    let rest = value.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

/// configparser's `(?P<option>.*?)\s*(?P<vi>=|:)\s*(?P<value>.*)$`: the name
/// ends at the first `:` or `=`.
fn split_option(value: &str) -> Option<(&str, &str)> {
    // `.` does not match a newline; a stripped line has none.
    let at = value.find([':', '='])?;
    let name = py_rstrip(&value[..at]);
    Some((name, &value[at + 1..]))
}

impl Ini {
    /// The entries of `section` as `RawConfigParser.items(section)` lists
    /// them: `[DEFAULT]` entries first (with the section's value when both
    /// define a name), then the section's own. `None` if there is no such
    /// section (oslo.rootwrap crashes on that: `NoSectionError`).
    pub fn items(&self, section: &str) -> Option<Vec<&Entry>> {
        let own = self.sections.iter().find(|s| s.name == section)?;
        let mut items: Vec<&Entry> = Vec::new();
        for default in &self.defaults.entries {
            match own.entries.iter().find(|e| e.name == default.name) {
                Some(overriding) => items.push(overriding),
                None => items.push(default),
            }
        }
        for entry in &own.entries {
            if !self.defaults.entries.iter().any(|d| d.name == entry.name) {
                items.push(entry);
            }
        }
        Some(items)
    }

    /// `config.get("DEFAULT", name)`.
    pub fn default(&self, name: &str) -> Option<&Entry> {
        self.defaults.entries.iter().find(|e| e.name == name)
    }
}

/// oslo.rootwrap's `[s.strip() for s in value.split(',')]`.
pub fn split_fields(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|field| py_strip(field).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Vec<(String, String, usize)> {
        let ini = parse(text).unwrap_or_default();
        ini.items("Filters")
            .unwrap_or_default()
            .into_iter()
            .map(|e| (e.name.clone(), e.value.clone(), e.line))
            .collect()
    }

    #[test]
    fn delimiters_comments_and_case() {
        let got = items("# c\n[Filters]\n; c\nEcho = CommandFilter, echo, root\nls: a=b\n");
        assert_eq!(
            got,
            vec![
                ("echo".into(), "CommandFilter, echo, root".into(), 4),
                ("ls".into(), "a=b".into(), 5)
            ]
        );
    }

    #[test]
    fn last_duplicate_wins_at_first_position() {
        let got = items("[Filters]\na: one\nb: two\nA: three\n");
        assert_eq!(
            got,
            vec![
                ("a".into(), "three".into(), 4),
                ("b".into(), "two".into(), 3)
            ]
        );
    }

    #[test]
    fn defaults_come_first() {
        let got = items("[Filters]\nx: 1\ny: 2\n[DEFAULT]\ny: d\nz: 3\n");
        let names: Vec<_> = got.iter().map(|(n, v, _)| format!("{n}={v}")).collect();
        assert_eq!(names, ["y=2", "z=3", "x=1"]);
    }

    #[test]
    fn continuation_and_inline_hash() {
        let got = items("[Filters]\np: A, b,\n  c, d\n\n   e\nx: y # z\n");
        assert_eq!(got[0].1, "A, b,\nc, d\n\ne");
        assert_eq!(got[1].1, "y # z");
        assert_eq!(
            split_fields(&got[0].1),
            ["A", "b", "c", "d\n\ne"].map(String::from).to_vec()
        );
    }

    #[test]
    fn errors() {
        assert!(parse("x: y\n").is_err());
        assert!(parse("[Filters]\njunk\n").is_err());
        assert!(parse("[Filters]\n: v\n").is_err());
        assert_eq!(
            parse("[Other]\nx: y\n").map(|i| i.items("Filters").is_none()),
            Ok(true)
        );
    }
}
