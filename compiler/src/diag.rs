//! Diagnostics rendered like a modern compiler's: severity and message, the
//! file, line and column, the source line with a caret, then notes and help.

use std::fmt::Write as _;

use crate::lint::Lint;

/// A byte range in one source file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub file: usize,
    pub start: usize,
    pub end: usize,
}

/// A value with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
    /// Worth knowing, never a failure (not even with `--deny-warnings`).
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub message: String,
    /// Where, and a short label under the caret.
    pub span: Option<(Span, String)>,
    /// Other places worth showing (e.g. the first definition of a name).
    pub notes: Vec<(Option<Span>, String)>,
    pub help: Option<String>,
    /// Which lint a warning comes from; its code (e.g. `any-args`) is
    /// stable, so it can be named in `because` discussions and CI greps.
    pub code: Option<Lint>,
}

impl Diagnostic {
    pub fn error(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span: None,
            notes: Vec::new(),
            help: None,
            code: None,
        }
    }

    pub fn warning(code: Lint, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            code: Some(code),
            ..Diagnostic::error(message)
        }
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some((span, label.into()));
        self
    }

    pub fn note(mut self, span: Option<Span>, text: impl Into<String>) -> Self {
        self.notes.push((span, text.into()));
        self
    }

    pub fn help(mut self, text: impl Into<String>) -> Self {
        self.help = Some(text.into());
        self
    }

    /// A note: said, never a failure.
    pub fn note_only(message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(message)
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn is_warning(&self) -> bool {
        self.severity == Severity::Warning
    }
}

/// Proof that an error was reported: only [`Reporter::error`] makes one, so
/// a step that gives up with `Err(Reported)` has always said why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported(());

/// Where a compilation step records its diagnostics.
#[derive(Debug, Default)]
pub struct Reporter {
    diagnostics: Vec<Diagnostic>,
}

impl Reporter {
    /// Records an error, and hands back the proof that it was recorded.
    pub fn error(&mut self, diagnostic: Diagnostic) -> Reported {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            ..diagnostic
        });
        Reported(())
    }

    /// Records a warning (a lint's, found while lowering).
    pub fn warning(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }

    pub fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }
}

/// Every result, or the first error once all of them have been produced (so
/// each one's diagnostics are reported, not only the first's).
pub fn all<T>(results: impl IntoIterator<Item = Result<T, Reported>>) -> Result<Vec<T>, Reported> {
    let results: Vec<Result<T, Reported>> = results.into_iter().collect();
    results.into_iter().collect()
}

/// The files of one compilation, so spans can be shown.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

#[derive(Debug, Clone)]
struct SourceFile {
    name: String,
    text: String,
    /// Byte offset of each line's start, ascending: every span's line is
    /// one binary search away, so a file's rules cost linear time.
    line_starts: Vec<usize>,
}

impl Sources {
    pub fn add(&mut self, name: String, text: String) -> usize {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        self.files.push(SourceFile {
            name,
            text,
            line_starts,
        });
        self.files.len() - 1
    }

    pub fn name(&self, file: usize) -> &str {
        self.files
            .get(file)
            .map_or("<unknown>", |f| f.name.as_str())
    }

    pub fn text(&self, file: usize) -> &str {
        self.files.get(file).map_or("", |f| f.text.as_str())
    }

    /// The byte offsets where `line` (1-based) starts and ends, without its
    /// line break.
    fn line_range(&self, file: usize, line: usize) -> (usize, usize) {
        let Some(f) = self.files.get(file) else {
            return (0, 0);
        };
        let start = f
            .line_starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(f.text.len());
        let end = f
            .line_starts
            .get(line)
            .map_or(f.text.len(), |next| next - 1);
        (start, end.max(start))
    }

    /// 1-based line and column (in characters) of a byte offset.
    /// The comments that go with the statement at `span`: the `#` lines
    /// right above it and a `#` comment after it on its last line, without
    /// their `#`, one per line.
    pub fn comments_at(&self, span: Span) -> String {
        let text = self.text(span.file);
        let (line, _) = self.line_col(span.file, span.start);
        let mut above = Vec::new();
        for before in (1..line).rev() {
            let (start, end) = self.line_range(span.file, before);
            let Some(comment) = text
                .get(start..end)
                .and_then(|l| l.trim_start().strip_prefix('#'))
            else {
                break;
            };
            above.push(comment.trim());
        }
        above.reverse();
        let (last, _) = self.line_col(span.file, span.end.saturating_sub(1).max(span.start));
        let (_, end) = self.line_range(span.file, last);
        let after = text
            .get(span.end.min(end)..end)
            .and_then(|rest| rest.split_once('#'))
            .map(|(_, comment)| comment.trim());
        above.extend(after);
        above.join("\n")
    }

    pub fn line_col(&self, file: usize, offset: usize) -> (usize, usize) {
        let Some(f) = self.files.get(file) else {
            return (1, 1);
        };
        let offset = floor_char_boundary(&f.text, offset.min(f.text.len()));
        let line = f.line_starts.partition_point(|&start| start <= offset);
        let line_start = f.line_starts.get(line - 1).copied().unwrap_or(0);
        (line, f.text[line_start..offset].chars().count() + 1)
    }

    fn line_text(&self, file: usize, line: usize) -> &str {
        let (start, end) = self.line_range(file, line);
        let text = &self.text(file)[start..end];
        // `str::lines` drops the `\r` of a `\r\n` line break.
        if end < self.text(file).len() {
            text.strip_suffix('\r').unwrap_or(text)
        } else {
            text
        }
    }

    /// Each diagnostic rendered, in order.
    pub fn render_all(&self, diagnostics: &[Diagnostic]) -> Vec<String> {
        diagnostics.iter().map(|d| self.render(d)).collect()
    }

    pub fn render(&self, d: &Diagnostic) -> String {
        let mut out = String::new();
        let severity = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        };
        match d.code {
            Some(code) => {
                let _ = writeln!(out, "{severity}[{}]: {}", code.code(), d.message);
            }
            None => {
                let _ = writeln!(out, "{severity}: {}", d.message);
            }
        }
        // `= note:` lines line up with the snippet's `|` gutter.
        let mut pad = " ".to_string();
        if let Some((span, label)) = &d.span {
            self.render_snippet(&mut out, *span, label, '^');
            let (line, _) = self.line_col(span.file, span.start);
            pad = " ".repeat(line.to_string().len());
        }
        for (span, text) in &d.notes {
            match span {
                Some(span) => {
                    let _ = writeln!(out, "note: {text}");
                    self.render_snippet(&mut out, *span, "", '-');
                }
                None => {
                    let _ = writeln!(out, "{pad} = note: {text}");
                }
            }
        }
        if let Some(help) = &d.help {
            let _ = writeln!(out, "{pad} = help: {help}");
        }
        out
    }

    fn render_snippet(&self, out: &mut String, span: Span, label: &str, mark: char) {
        let (line, col) = self.line_col(span.file, span.start);
        let (end_line, end_col) = self.line_col(span.file, span.end);
        let source = self.line_text(span.file, line);
        let width = if end_line == line && end_col > col {
            end_col - col
        } else {
            1
        };
        let gutter = line.to_string().len();
        let pad = " ".repeat(gutter);
        let _ = writeln!(out, "{pad}--> {}:{line}:{col}", self.name(span.file));
        let _ = writeln!(out, "{pad} |");
        let _ = writeln!(out, "{line} | {source}");
        let prefix: String = source
            .chars()
            .take(col - 1)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let marks = mark.to_string().repeat(width);
        let _ = writeln!(out, "{pad} | {prefix}{marks} {label}");
    }
}

/// How diagnostics are printed: `--message-format`, and colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// As text, plain.
    #[default]
    Human,
    /// As text, coloured with ANSI escapes (stderr is a terminal and
    /// `NO_COLOR` is not set).
    Colour,
    /// One JSON object per line, for CI annotations.
    Json,
}

impl Format {
    /// `--message-format json`, or text coloured when stderr is a terminal
    /// and `NO_COLOR` is unset or empty (<https://no-color.org>).
    pub fn choose(json: bool) -> Format {
        use std::io::IsTerminal as _;
        let no_colour = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if json {
            Format::Json
        } else if !no_colour && std::io::stderr().is_terminal() {
            Format::Colour
        } else {
            Format::Human
        }
    }
}

impl Sources {
    /// A diagnostic as `format` prints it (without a final line break for
    /// JSON).
    pub fn render_as(&self, d: &Diagnostic, format: Format) -> String {
        match format {
            Format::Human => self.render(d),
            Format::Colour => paint(&self.render(d), d.severity),
            Format::Json => self.to_json(d).to_string(),
        }
    }

    /// A diagnostic as one JSON object: `severity`, `code` (a lint's, or
    /// null), `message`, `file`, `line`, `column`, `end_line`,
    /// `end_column` (null without a location), `label`, `notes` (each with
    /// `message` and, if it has one, a location), `help` and `rendered`
    /// (the text form).
    pub fn to_json(&self, d: &Diagnostic) -> serde_json::Value {
        use serde_json::json;
        let location = |span: &Span| {
            let (line, column) = self.line_col(span.file, span.start);
            let (end_line, end_column) = self.line_col(span.file, span.end.max(span.start + 1));
            json!({
                "file": self.name(span.file),
                "line": line,
                "column": column,
                "end_line": end_line,
                "end_column": end_column,
            })
        };
        let mut object = json!({
            "severity": match d.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Note => "note",
            },
            "code": d.code.map(|c| c.code()),
            "message": d.message,
            "file": null,
            "line": null,
            "column": null,
            "end_line": null,
            "end_column": null,
            "label": d.span.as_ref().map(|(_, label)| label),
            "notes": d.notes.iter().map(|(span, text)| {
                let mut note = span.as_ref().map_or_else(|| json!({}), location);
                note["message"] = json!(text);
                note
            }).collect::<Vec<_>>(),
            "help": d.help,
            "rendered": self.render(d),
        });
        if let Some((span, _)) = &d.span {
            let at = location(span);
            for key in ["file", "line", "column", "end_line", "end_column"] {
                object[key] = at[key].clone();
            }
        }
        object
    }
}

/// Text rendered by [`Sources::render`], with ANSI colours: the severity
/// (red errors, yellow warnings) and the marks under the source in bold
/// colour, locations and gutters in blue, notes and help in bold.
fn paint(text: &str, severity: Severity) -> String {
    const RESET: &str = "\x1b[0m";
    const BOLD: &str = "\x1b[1m";
    const BLUE: &str = "\x1b[1;34m";
    let main = match severity {
        Severity::Error => "\x1b[1;31m",
        Severity::Warning => "\x1b[1;33m",
        Severity::Note => "\x1b[1;36m",
    };
    let mut out = String::with_capacity(text.len() * 2);
    for line in text.split_inclusive('\n') {
        let (body, end) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        if let Some(rest) = body.strip_prefix("note:") {
            out.push_str(&format!("{BOLD}note:{RESET}{rest}{end}"));
        } else if body.starts_with("error") || body.starts_with("warning") {
            let (head, message) = body.split_once(": ").unwrap_or((body, ""));
            out.push_str(&format!("{main}{head}:{RESET} {BOLD}{message}{RESET}{end}"));
        } else if let Some((gutter, rest)) = body.split_once('|') {
            if gutter.trim().is_empty() && rest.trim_start().starts_with(['^', '-']) {
                // The marks line: `^^^ label` (or `--- ` under a note).
                let colour = if rest.contains('^') { main } else { BLUE };
                out.push_str(&format!("{BLUE}{gutter}|{RESET}{colour}{rest}{RESET}{end}"));
            } else {
                out.push_str(&format!("{BLUE}{gutter}|{RESET}{rest}{end}"));
            }
        } else if let Some((pad, rest)) = body.split_once("= ") {
            let (kind, text) = rest.split_once(':').unwrap_or((rest, ""));
            out.push_str(&format!(
                "{pad}{BLUE}={RESET} {BOLD}{kind}:{RESET}{text}{end}"
            ));
        } else if let Some((pad, rest)) = body.split_once("--> ") {
            out.push_str(&format!("{pad}{BLUE}-->{RESET} {rest}{end}"));
        } else {
            out.push_str(line);
        }
    }
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The known word closest to `word`, when it is close enough to be a typo.
pub fn did_you_mean<'a>(word: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (edit_distance(word, k), *k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb))
                .min(row[j] + 1)
                .min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Colour adds escapes and nothing else: without them, the text is
    /// the plain rendering.
    #[test]
    fn colour_only_adds_escapes() {
        let mut sources = Sources::default();
        let file = sources.add("f.rwf".into(), "allow a: ls ...\n".into());
        let span = Span {
            file,
            start: 12,
            end: 15,
        };
        for d in [
            Diagnostic::warning(Lint::AnyArgs, "any")
                .at(span, "here")
                .note(Some(span), "again")
                .note(None, "why")
                .help("do this"),
            Diagnostic::error("bad").at(span, "here"),
        ] {
            let plain = sources.render_as(&d, Format::Human);
            let coloured = sources.render_as(&d, Format::Colour);
            assert!(coloured.contains("\x1b["), "{coloured:?}");
            let mut stripped = String::new();
            let mut rest = coloured.as_str();
            while let Some(at) = rest.find('\x1b') {
                stripped.push_str(&rest[..at]);
                let end = rest[at..].find('m').map_or(rest.len(), |m| at + m + 1);
                rest = &rest[end..];
            }
            stripped.push_str(rest);
            assert_eq!(stripped, plain);
        }
    }

    /// The line index agrees with counting from the start of the file.
    #[test]
    fn line_col_from_the_index() {
        let text = "ab\r\nçd\n\nlast é";
        let mut sources = Sources::default();
        let file = sources.add("f".to_string(), text.to_string());
        for offset in 0..=text.len() + 2 {
            let clamped = floor_char_boundary(text, offset.min(text.len()));
            let before = &text[..clamped];
            let line = before.matches('\n').count() + 1;
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let col = before[start..].chars().count() + 1;
            assert_eq!(
                sources.line_col(file, offset),
                (line, col),
                "offset {offset}"
            );
        }
        let lines: Vec<&str> = text.lines().collect();
        for (i, expected) in lines.iter().enumerate() {
            assert_eq!(sources.line_text(file, i + 1), *expected);
        }
        assert_eq!(sources.line_col(7, 3), (1, 1));
    }
}
