//! Syntax errors said as what went wrong, where the parser's "expected X,
//! found Y" would mislead: an unterminated string (at its opening quote),
//! an unclosed bracket (at the opener), a missing `:`, a named deny test,
//! and an oslo.rootwrap file given to the compiler.

use crate::diag::{Diagnostic, Span};

/// A diagnostic for the statement `text` (from the start of its line to the
/// end of its logical line, at byte `base` of the file) that failed to
/// parse, when one of the known mistakes explains it.
pub(super) fn explain(file: usize, base: usize, text: &str) -> Option<Diagnostic> {
    let at = |offset: usize, len: usize| Span {
        file,
        start: base + offset,
        end: base + offset + len,
    };
    let head = text.trim_start_matches([' ', '\t']);
    let indent = text.len() - head.len();
    let keyword = head.split([' ', '\t', ':']).next().unwrap_or("");
    match keyword {
        "allow" | "deny" => {
            if let Some(d) = missing_colon(text, keyword, indent + keyword.len(), at) {
                return Some(d);
            }
        }
        "test" => {
            if let Some(d) = test_head(text, indent + "test".len(), at) {
                return Some(d);
            }
        }
        _ => {}
    }
    // In rules and actions a `"` always opens a string and brackets always
    // group; elsewhere (options, test command lines) words are raw and only
    // a word's first `"` opens a string.
    let patterns = matches!(keyword, "allow" | "deny" | "action");
    unbalanced(text, patterns, at)
}

/// `allow NAME [via CHAIN, ...] [as USER]` (or `deny NAME [as USER]`) not
/// followed by `:`.
fn missing_colon(
    text: &str,
    keyword: &str,
    mut pos: usize,
    at: impl Fn(usize, usize) -> Span,
) -> Option<Diagnostic> {
    let name_char = |c: char| c.is_ascii_alphanumeric() || "-_.".contains(c);
    pos = skip_blanks(text, pos);
    let name_end = pos
        + text[pos..]
            .find(|c: char| !name_char(c))
            .unwrap_or(text.len() - pos);
    if name_end == pos {
        return None;
    }
    let name = &text[pos..name_end];
    pos = skip_blanks(text, name_end);
    let mut after = format!("the rule name `{name}`");
    if text[pos..].starts_with("via") && !text[pos + 3..].starts_with(name_char) {
        let via = pos;
        pos = skip_blanks(text, pos + 3);
        let mut chains = Vec::new();
        loop {
            let end = pos
                + text[pos..]
                    .find(|c: char| !name_char(c))
                    .unwrap_or(text.len() - pos);
            if end == pos {
                break;
            }
            chains.push(&text[pos..end]);
            pos = skip_blanks(text, end);
            match text[pos..].strip_prefix(',') {
                Some(_) => pos = skip_blanks(text, pos + 1),
                None => break,
            }
        }
        if chains.is_empty() {
            return Some(
                Diagnostic::error("expected the name of a chaining rule after `via`")
                    .at(at(via, 3), "`via` names no rule")
                    .help("write `allow NAME via CHAIN: ...`, CHAIN a rule that ends in `then allowed`; or remove `via`"),
            );
        }
        after = format!("`via {}`", chains.join(", "));
    }
    if text[pos..].starts_with("as") && text[pos + 2..].starts_with([' ', '\t']) {
        let user = skip_blanks(text, pos + 2);
        let user_end = user
            + text[user..]
                .find(|c: char| !(name_char(c) || c == '$'))
                .unwrap_or(text.len() - user);
        if user_end == user {
            return None;
        }
        after = format!("`as {}`", &text[user..user_end]);
        pos = skip_blanks(text, user_end);
    }
    if text[pos..].starts_with(':') {
        return None;
    }
    let found = text[pos..]
        .chars()
        .next()
        .filter(|c| *c != '\n' && *c != '\r');
    Some(
        Diagnostic::error(format!("expected `:` after {after}"))
            .at(at(pos, found.map_or(1, char::len_utf8)), "`:` missing here")
            .help(format!(
                "a rule is `{keyword} NAME{} [as USER]: COMMAND ARGS...`",
                if keyword == "allow" {
                    " [via CHAIN, ...]"
                } else {
                    ""
                }
            )),
    )
}

/// `test deny NAME: ...` (deny tests name no rule), or a test without `:`.
fn test_head(text: &str, pos: usize, at: impl Fn(usize, usize) -> Span) -> Option<Diagnostic> {
    let pos = skip_blanks(text, pos);
    let rest = &text[pos..];
    let keyword = |word: &str| {
        rest.starts_with(word)
            && !rest[word.len()..]
                .starts_with(|c: char| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    if keyword("allow") {
        // `test allow [NAME]:`
        let mut colon = skip_blanks(text, pos + "allow".len());
        let name_end = colon
            + text[colon..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c)))
                .unwrap_or(text.len() - colon);
        let mut after = "`test allow`".to_string();
        if name_end > colon {
            after = format!("`test allow {}`", &text[colon..name_end]);
            colon = skip_blanks(text, name_end);
        }
        if text[colon..].starts_with(':') {
            return None;
        }
        return Some(
            Diagnostic::error(format!("expected `:` after {after}"))
                .at(at(colon, 1), "`:` missing here")
                .help("an allow test is `test allow [RULE]: COMMAND ARGS...`"),
        );
    }
    if !keyword("deny") {
        return None;
    }
    let name_start = skip_blanks(text, pos + 4);
    if text[name_start..].starts_with(':') {
        return None;
    }
    let line_end = text[name_start..]
        .find('\n')
        .map_or(text.len(), |i| name_start + i);
    let Some(colon) = text[name_start..line_end].find(':') else {
        return Some(
            Diagnostic::error("expected `:` after `test deny`")
                .at(at(name_start, 1), "`:` missing here")
                .help("a deny test is `test deny: COMMAND ARGS...`"),
        );
    };
    let name = text[name_start..name_start + colon].trim_end();
    Some(
        Diagnostic::error("a deny test takes no rule name")
            .at(at(name_start, name.len().max(1)), "remove this name")
            .note(
                None,
                "a deny test checks that no rule at all allows the command line",
            )
            .help("write `test deny: COMMAND ARGS...`"),
    )
}

/// An unterminated string (at its opening quote), an unclosed bracket (at
/// the opener), or a closing bracket that closes another kind.
fn unbalanced(text: &str, patterns: bool, at: impl Fn(usize, usize) -> Span) -> Option<Diagnostic> {
    let mut open: Vec<(char, usize)> = Vec::new();
    let mut string: Option<usize> = None;
    let mut escaped = false;
    let mut previous = ' ';
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if let Some(start) = string {
            if c == '\n' || c == '\r' {
                return Some(unterminated(at(start, 1)));
            }
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                string = None;
            }
            previous = c;
            continue;
        }
        let word_start = previous.is_whitespace() || (patterns && "([{|<".contains(previous));
        match c {
            '#' if previous.is_whitespace() || i == 0 => {
                // A comment runs to the end of the line.
                while chars.peek().is_some_and(|(_, c)| *c != '\n') {
                    chars.next();
                }
            }
            '"' if patterns || word_start => string = Some(i),
            '(' | '[' | '{' | '<' if patterns => open.push((c, i)),
            ')' | ']' | '}' | '>' if patterns => match open.pop() {
                Some((opener, _)) if closer(opener) == c => {}
                Some((opener, start)) => {
                    return Some(
                        Diagnostic::error(format!("`{c}` does not close `{opener}`"))
                            .at(at(i, 1), format!("expected `{}`", closer(opener)))
                            .note(Some(at(start, 1)), format!("`{opener}` opened here")),
                    )
                }
                None => {
                    return Some(
                        Diagnostic::error(format!("`{c}` closes nothing"))
                            .at(at(i, 1), "no bracket open here")
                            .help("to match the character literally, quote the argument: \"a)\""),
                    )
                }
            },
            _ => {}
        }
        previous = c;
    }
    if let Some(start) = string {
        return Some(unterminated(at(start, 1)));
    }
    let (opener, start) = open.pop()?;
    Some(
        Diagnostic::error(format!("unclosed `{opener}`"))
            .at(at(start, 1), format!("never closed with `{}`", closer(opener)))
            .help(format!(
                "close it with `{}` in the same statement (a line ending in `\\` continues it), or quote the argument to match `{opener}` literally",
                closer(opener)
            )),
    )
}

fn unterminated(span: Span) -> Diagnostic {
    Diagnostic::error("unterminated string")
        .at(span, "this string is not closed on its line")
        .help("end the string with `\"` on the same line; write a `\"` inside it as `\\\"`")
}

fn closer(opener: char) -> char {
    match opener {
        '(' => ')',
        '[' => ']',
        '{' => '}',
        _ => '>',
    }
}

fn skip_blanks(text: &str, pos: usize) -> usize {
    pos + text[pos..]
        .find(|c: char| c != ' ' && c != '\t')
        .unwrap_or(text.len() - pos)
}

/// An oslo.rootwrap file (a `.filters` file or a `rootwrap.conf`) given to
/// the compiler: its first line that is not blank or a comment is an INI
/// section header such as `[Filters]`, which is never a statement of the
/// filter language.
pub fn oslo_file(file: usize, text: &str) -> Option<Diagnostic> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            offset += line.len();
            continue;
        }
        if !(trimmed.starts_with('[') && trimmed.ends_with(']')) {
            return None;
        }
        let start = offset + (line.len() - line.trim_start().len());
        let kind = if trimmed.eq_ignore_ascii_case("[filters]") {
            "an oslo.rootwrap filter file"
        } else {
            "an oslo.rootwrap file (INI), not a filter file (.rwf)"
        };
        return Some(
            Diagnostic::error(format!("this is {kind}: use `rootwrap-compile import-oslo`"))
                .at(
                    Span {
                        file,
                        start,
                        end: start + trimmed.len(),
                    },
                    "an INI section header",
                )
                .help("`rootwrap-compile import-oslo -o DIR FILE...` (or a rootwrap.conf) writes .rwf files to review and compile"),
        );
    }
    None
}
