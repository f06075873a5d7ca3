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

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The files of one compilation, so spans can be shown.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<(String, String)>,
}

impl Sources {
    pub fn add(&mut self, name: String, text: String) -> usize {
        self.files.push((name, text));
        self.files.len() - 1
    }

    pub fn name(&self, file: usize) -> &str {
        self.files.get(file).map_or("<unknown>", |f| f.0.as_str())
    }

    pub fn text(&self, file: usize) -> &str {
        self.files.get(file).map_or("", |f| f.1.as_str())
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, file: usize, offset: usize) -> (usize, usize) {
        let text = self.text(file);
        let offset = offset.min(text.len());
        let before = &text[..floor_char_boundary(text, offset)];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    fn line_text(&self, file: usize, line: usize) -> &str {
        self.text(file).lines().nth(line - 1).unwrap_or("")
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
