//! Python `re` syntax to the rootwrap language's regex dialect (Rust's
//! regex-syntax), for the regexes of oslo's RegExpFilter and
//! ChainingRegExpFilter.
//!
//! oslo matches with `re.match(pattern + '$', arg)`. The translation must
//! never accept an argument that oslo refuses, so wherever the dialects
//! differ it picks the stricter side and says so:
//! - oslo's `$` also accepts a trailing newline; a rule's regex matches the
//!   whole argument, nothing more;
//! - `A|B$` leaves `A` anchored at the start only; the translation anchors
//!   every alternative;
//! - Python's `\d`, `\w`, `\s` are Unicode classes; the translation uses
//!   their ASCII part (inside a negated class, a Unicode superset, so the
//!   negation stays a subset);
//! - constructs the automaton cannot run (look-around, back-references,
//!   word boundaries) are refused, except the "directory, then no `..`"
//!   idiom, which becomes a path constraint.

use std::fmt::Write as _;

use super::reason::Category;

/// What a Python regex argument becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Translation {
    /// A plain string: the regex has no special characters.
    Literal(String),
    /// One of these plain strings.
    Literals(Vec<String>),
    /// A regex in the rule language's dialect (`re"..."`, `u` when it needs
    /// Unicode mode).
    Regex { source: String, unicode: bool },
    /// `<path DIR/**>`: the look-ahead idiom `DIR/(?!...\.\.).*`.
    PathUnder(String),
}

/// A way in which the translation is stricter than Python.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stricter {
    pub category: Category,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translated {
    pub translation: Translation,
    pub stricter: Vec<Stricter>,
}

/// Why a regex cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untranslatable {
    /// Python itself rejects it (`re.error`): oslo's filter never matches.
    PythonError(String),
    /// Groups nest deeper than `MAX_GROUP_NESTING`.
    TooDeep,
    /// The translation is one the compiler refuses (why, in its words).
    Uncompilable(String),
    /// Valid Python the rule language has no equivalent for.
    Unsupported {
        construct: String,
        suggestion: String,
    },
}

// ---------------------------------------------------------------- parsing

#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Empty,
    Char(char),
    /// `.`
    Any,
    Class(Class),
    /// `^`: start, or after a newline under `(?m)`.
    Start,
    /// `\A`: start of the argument only.
    StartOnly,
    /// `$`: end, or before a final newline.
    End,
    /// `\Z`: end only.
    EndOnly,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Group(Box<Node>),
    /// Scoped flags `(?i:...)`.
    Flagged(String, Box<Node>),
    Repeat {
        node: Box<Node>,
        min: u32,
        max: Option<u32>,
        lazy: bool,
    },
    Look {
        ahead: bool,
        negated: bool,
        node: Box<Node>,
    },
    Unsupported(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Class {
    negated: bool,
    items: Vec<ClassItem>,
    /// Whether `\d`, `\w`, `\s` here are ASCII (the `a` flag in force
    /// where the class is written: global, or a scoped `(?a:...)`; a scoped
    /// `(?u:...)` turns it off again).
    ascii: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClassItem {
    Range(char, char),
    /// `\d` (false) or `\D` (true), and the other categories likewise.
    Digit(bool),
    Word(bool),
    Space(bool),
}

#[derive(Debug, Clone, Copy, Default)]
struct Flags {
    ignore_case: bool,
    multiline: bool,
    dot_all: bool,
    verbose: bool,
    ascii: bool,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    flags: Flags,
    /// A valid-Python construct met where no node can carry it (in a class).
    unsupported: Option<String>,
    /// Named groups so far: Python refuses a name given twice.
    group_names: Vec<String>,
    /// Set when groups nest deeper than `MAX_GROUP_NESTING`.
    too_deep: bool,
}

/// The deepest group nesting imported. Python's `re` fails with
/// RecursionError from about 490 nested groups (fewer the deeper oslo's own
/// call stack), and this parser recurses per group: far below both.
pub const MAX_GROUP_NESTING: usize = 100;

/// Why `parse` gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum ParseError {
    /// Python rejects the pattern (`re.error`).
    Python(String),
    /// Groups nest deeper than `MAX_GROUP_NESTING`.
    TooDeep,
}

type ParseResult<T> = Result<T, String>;

const MAX_REPEAT: u32 = u32::MAX;

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn error<T>(&self, message: impl Into<String>) -> ParseResult<T> {
        Err(format!("{} at position {}", message.into(), self.pos))
    }

    /// In verbose mode, whitespace and `#` comments outside classes vanish.
    fn skip_verbose(&mut self) {
        if !self.flags.verbose {
            return;
        }
        while let Some(c) = self.peek() {
            // Python's verbose mode skips ASCII whitespace only.
            if matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
                self.pos += 1;
            } else if c == '#' {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn alternation(&mut self, depth: usize) -> ParseResult<Node> {
        let mut branches = vec![self.sequence(depth)?];
        while self.eat('|') {
            branches.push(self.sequence(depth)?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn sequence(&mut self, depth: usize) -> ParseResult<Node> {
        let mut items: Vec<Node> = Vec::new();
        loop {
            self.skip_verbose();
            let Some(c) = self.peek() else { break };
            if c == '|' || (c == ')' && depth > 0) {
                break;
            }
            if c == ')' {
                return self.error("unbalanced parenthesis");
            }
            if let Some(quantifier) = self.quantifier()? {
                let Some(last) = items.pop() else {
                    return self.error("nothing to repeat");
                };
                if matches!(last, Node::Repeat { .. }) {
                    return self.error("multiple repeat");
                }
                if matches!(
                    last,
                    Node::Start | Node::StartOnly | Node::End | Node::EndOnly | Node::Empty
                ) {
                    return self.error("nothing to repeat");
                }
                let (min, max) = quantifier;
                let lazy = self.eat('?');
                if self.peek() == Some('+') {
                    // Python 3.11's possessive quantifiers: no backtracking,
                    // a different language.
                    self.pos += 1;
                    items.push(Node::Unsupported(format!(
                        "the possessive quantifier `{}+`",
                        quantifier_text(min, max)
                    )));
                    continue;
                }
                items.push(Node::Repeat {
                    node: Box::new(last),
                    min,
                    max,
                    lazy,
                });
                continue;
            }
            items.push(self.atom(depth)?);
        }
        Ok(match items.len() {
            0 => Node::Empty,
            1 => items.pop().unwrap_or(Node::Empty),
            _ => Node::Concat(items),
        })
    }

    /// `*`, `+`, `?` or a well-formed `{m,n}`; a `{` that is not one is a
    /// literal in Python.
    fn quantifier(&mut self) -> ParseResult<Option<(u32, Option<u32>)>> {
        match self.peek() {
            Some('*') => {
                self.pos += 1;
                Ok(Some((0, None)))
            }
            Some('+') => {
                self.pos += 1;
                Ok(Some((1, None)))
            }
            Some('?') => {
                self.pos += 1;
                Ok(Some((0, Some(1))))
            }
            Some('{') => {
                if self.peek_at(1) == Some('}') {
                    return Ok(None);
                }
                let start = self.pos;
                self.pos += 1;
                let lo = self.digits();
                let hi = if self.eat(',') {
                    self.digits()
                } else {
                    lo.clone()
                };
                if !self.eat('}') {
                    self.pos = start;
                    return Ok(None);
                }
                let parse = |s: &str| -> ParseResult<Option<u32>> {
                    if s.is_empty() {
                        return Ok(None);
                    }
                    match s.parse::<u64>() {
                        Ok(n) if n < u64::from(MAX_REPEAT) => Ok(Some(n as u32)),
                        _ => Err("the repetition number is too large".to_string()),
                    }
                };
                let min = parse(&lo)?.unwrap_or(0);
                let max = parse(&hi)?;
                if let Some(max) = max {
                    if max < min {
                        return self.error("min repeat greater than max repeat");
                    }
                }
                Ok(Some((min, max)))
            }
            _ => Ok(None),
        }
    }

    fn digits(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    fn atom(&mut self, depth: usize) -> ParseResult<Node> {
        let Some(c) = self.peek() else {
            return self.error("unexpected end of pattern");
        };
        self.pos += 1;
        match c {
            '.' => Ok(Node::Any),
            '^' => Ok(Node::Start),
            '$' => Ok(Node::End),
            '[' => self.class().map(Node::Class),
            '(' => self.group(depth),
            '\\' => self.escape(),
            other => Ok(Node::Char(other)),
        }
    }

    fn group(&mut self, depth: usize) -> ParseResult<Node> {
        if self.eat('?') {
            let Some(kind) = self.peek() else {
                return self.error("unexpected end of pattern");
            };
            self.pos += 1;
            match kind {
                ':' => return self.group_body(depth).map(|n| Node::Group(Box::new(n))),
                'P' => {
                    if self.eat('<') {
                        let mut name = String::new();
                        while let Some(c) = self.peek() {
                            self.pos += 1;
                            if c == '>' {
                                break;
                            }
                            name.push(c);
                        }
                        if name.is_empty() || !is_identifier(&name) {
                            return self.error(format!("bad character in group name `{name}`"));
                        }
                        if self.group_names.contains(&name) {
                            return self.error(format!("redefinition of group name `{name}`"));
                        }
                        self.group_names.push(name);
                        return self.group_body(depth).map(|n| Node::Group(Box::new(n)));
                    }
                    if self.eat('=') {
                        while let Some(c) = self.peek() {
                            self.pos += 1;
                            if c == ')' {
                                break;
                            }
                        }
                        return Ok(Node::Unsupported("a back-reference `(?P=name)`".into()));
                    }
                    return self.error("unknown extension ?P");
                }
                '#' => {
                    while let Some(c) = self.peek() {
                        self.pos += 1;
                        if c == ')' {
                            return Ok(Node::Empty);
                        }
                    }
                    return self.error("missing ), unterminated comment");
                }
                '=' | '!' => {
                    let negated = kind == '!';
                    let node = self.group_body(depth)?;
                    return Ok(Node::Look {
                        ahead: true,
                        negated,
                        node: Box::new(node),
                    });
                }
                '<' => {
                    let negated = match self.peek() {
                        Some('=') => false,
                        Some('!') => true,
                        _ => return self.error("unknown extension ?<"),
                    };
                    self.pos += 1;
                    let node = self.group_body(depth)?;
                    return Ok(Node::Look {
                        ahead: false,
                        negated,
                        node: Box::new(node),
                    });
                }
                '(' => {
                    // A conditional group `(?(1)a|b)`: skipped to its end
                    // (two parentheses are open: the group's and the
                    // condition's).
                    let mut level = 2;
                    while level > 0 {
                        let Some(c) = self.peek() else {
                            return self.error("missing ), unterminated subpattern");
                        };
                        self.pos += 1;
                        match c {
                            '\\' => self.pos += 1,
                            '(' => level += 1,
                            ')' => level -= 1,
                            _ => {}
                        }
                    }
                    return Ok(Node::Unsupported(
                        "a conditional group `(?(...)...)`".into(),
                    ));
                }
                '>' => {
                    self.group_body(depth)?;
                    return Ok(Node::Unsupported("an atomic group `(?>...)`".into()));
                }
                _ => {
                    self.pos -= 1;
                    return self.inline_flags(depth);
                }
            }
        }
        self.group_body(depth).map(|n| Node::Group(Box::new(n)))
    }

    fn group_body(&mut self, depth: usize) -> ParseResult<Node> {
        if depth >= MAX_GROUP_NESTING {
            self.too_deep = true;
            return self.error("groups nested too deeply");
        }
        let node = self.alternation(depth + 1)?;
        if !self.eat(')') {
            return self.error("missing ), unterminated subpattern");
        }
        Ok(node)
    }

    /// `(?aiLmsux)` (global, only at the very start in Python 3.11) or
    /// `(?ims-ims:...)` (scoped).
    fn inline_flags(&mut self, depth: usize) -> ParseResult<Node> {
        let at_start = self.pos == 2;
        let mut on = String::new();
        let mut off = String::new();
        let mut negative = false;
        loop {
            let Some(c) = self.peek() else {
                return self.error("missing -, : or )");
            };
            self.pos += 1;
            match c {
                'a' | 'i' | 'L' | 'm' | 's' | 'u' | 'x' => {
                    if negative {
                        off.push(c);
                    } else {
                        on.push(c);
                    }
                }
                '-' if !negative => negative = true,
                ')' if !negative => {
                    if on.is_empty() {
                        return self.error("missing flag");
                    }
                    if let Some(problem) = bad_flags(&on, &off) {
                        return self.error(problem);
                    }
                    if !at_start {
                        return self.error("global flags not at the start of the expression");
                    }
                    if on.contains('L') {
                        return Ok(Node::Unsupported("the locale flag `(?L)`".into()));
                    }
                    self.apply_flags(&on, true);
                    return Ok(Node::Empty);
                }
                ':' => {
                    if negative && off.is_empty() {
                        return self.error("missing flag");
                    }
                    if let Some(problem) = bad_flags(&on, &off) {
                        return self.error(problem);
                    }
                    if on.contains('L') || off.contains('L') {
                        return Ok(Node::Unsupported("the locale flag `L`".into()));
                    }
                    let saved = self.flags;
                    self.apply_flags(&on, true);
                    self.apply_flags(&off, false);
                    let body = self.group_body(depth);
                    self.flags = saved;
                    // i, m and s mean the same in both dialects; a, u and x
                    // were applied while parsing.
                    let keep = |set: &str| {
                        set.chars()
                            .filter(|f| "ims".contains(*f))
                            .collect::<String>()
                    };
                    let (on, off) = (keep(&on), keep(&off));
                    let flags = if off.is_empty() {
                        on
                    } else {
                        format!("{on}-{off}")
                    };
                    return Ok(Node::Flagged(flags, Box::new(body?)));
                }
                _ => return self.error("unknown flag"),
            }
        }
    }

    fn apply_flags(&mut self, flags: &str, value: bool) {
        for f in flags.chars() {
            match f {
                'i' => self.flags.ignore_case = value,
                'm' => self.flags.multiline = value,
                's' => self.flags.dot_all = value,
                'x' => self.flags.verbose = value,
                'a' => self.flags.ascii = value,
                // Only ever turned on (`bad_flags` refuses `-u`): Unicode
                // classes in its scope, even under a global `(?a)`.
                'u' => self.flags.ascii = !value,
                _ => {}
            }
        }
    }

    fn escape(&mut self) -> ParseResult<Node> {
        let Some(c) = self.peek() else {
            return self.error("bad escape (end of pattern)");
        };
        self.pos += 1;
        Ok(match c {
            'A' => Node::StartOnly,
            'Z' => Node::EndOnly,
            'b' => Node::Unsupported("the word boundary `\\b`".into()),
            'B' => Node::Unsupported("the non-boundary `\\B`".into()),
            'N' => {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '}' {
                        break;
                    }
                }
                Node::Unsupported("a named character `\\N{...}`".into())
            }
            'd' => Node::Class(self.category(ClassItem::Digit(false))),
            'D' => Node::Class(self.category(ClassItem::Digit(true))),
            'w' => Node::Class(self.category(ClassItem::Word(false))),
            'W' => Node::Class(self.category(ClassItem::Word(true))),
            's' => Node::Class(self.category(ClassItem::Space(false))),
            'S' => Node::Class(self.category(ClassItem::Space(true))),
            '1'..='9' => {
                // `\12` is group 12 unless it starts a 3-digit octal escape.
                let second = self.peek().filter(char::is_ascii_digit);
                if let (Some(s), Some(t)) = (second, self.peek_at(1)) {
                    if c <= '7' && ('0'..='7').contains(&s) && ('0'..='7').contains(&t) {
                        self.pos += 2;
                        return self.octal(&[c, s, t]).map(Node::Char);
                    }
                }
                if second.is_some() {
                    self.pos += 1;
                }
                Node::Unsupported(format!("a back-reference `\\{c}`"))
            }
            _ => Node::Char(self.char_escape(c)?),
        })
    }

    /// Escapes that stand for one character, in or out of a class.
    fn char_escape(&mut self, c: char) -> ParseResult<char> {
        match c {
            'a' => Ok('\u{7}'),
            'f' => Ok('\u{c}'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            't' => Ok('\t'),
            'v' => Ok('\u{b}'),
            'x' => self.hex(2),
            'u' => self.hex(4),
            'U' => self.hex(8),
            '0' => {
                let mut digits = vec!['0'];
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            digits.push(d);
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                self.octal(&digits)
            }
            'N' => {
                while let Some(c) = self.peek() {
                    self.pos += 1;
                    if c == '}' {
                        break;
                    }
                }
                self.unsupported
                    .get_or_insert_with(|| "a named character `\\N{...}`".into());
                Ok('N')
            }
            c if c.is_ascii_alphanumeric() => self.error(format!("bad escape \\{c}")),
            other => Ok(other),
        }
    }

    fn hex(&mut self, len: usize) -> ParseResult<char> {
        let mut text = String::new();
        for _ in 0..len {
            match self.peek().filter(char::is_ascii_hexdigit) {
                Some(d) => {
                    text.push(d);
                    self.pos += 1;
                }
                None => return self.error("incomplete hexadecimal escape"),
            }
        }
        u32::from_str_radix(&text, 16)
            .ok()
            .and_then(char::from_u32)
            .map_or_else(|| self.error("bad escape (not a character)"), Ok)
    }

    fn octal(&self, digits: &[char]) -> ParseResult<char> {
        let text: String = digits.iter().collect();
        match u32::from_str_radix(&text, 8).ok().and_then(char::from_u32) {
            Some(c) if u32::from(c) <= 0o377 => Ok(c),
            _ => self.error(format!(
                "octal escape value \\{text} outside of range 0-0o377"
            )),
        }
    }

    fn class(&mut self) -> ParseResult<Class> {
        let negated = self.eat('^');
        let mut items: Vec<ClassItem> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.error("unterminated character set");
            };
            self.pos += 1;
            if c == ']' && !items.is_empty() {
                break;
            }
            let first = if c == '\\' {
                self.class_escape()?
            } else {
                ClassItem::Range(c, c)
            };
            if self.peek() == Some('-') {
                self.pos += 1;
                let Some(next) = self.peek() else {
                    return self.error("unterminated character set");
                };
                self.pos += 1;
                if next == ']' {
                    items.push(first);
                    items.push(ClassItem::Range('-', '-'));
                    break;
                }
                let last = if next == '\\' {
                    self.class_escape()?
                } else {
                    ClassItem::Range(next, next)
                };
                match (first, last) {
                    (ClassItem::Range(lo, lo2), ClassItem::Range(hi, hi2))
                        if lo == lo2 && hi == hi2 =>
                    {
                        if hi < lo {
                            return self.error(format!("bad character range {lo}-{hi}"));
                        }
                        items.push(ClassItem::Range(lo, hi));
                    }
                    _ => return self.error("bad character range"),
                }
            } else {
                items.push(first);
            }
        }
        Ok(Class {
            negated,
            items,
            ascii: self.flags.ascii,
        })
    }

    /// `\d` and the like outside a class.
    fn category(&self, item: ClassItem) -> Class {
        Class {
            negated: false,
            items: vec![item],
            ascii: self.flags.ascii,
        }
    }

    fn class_escape(&mut self) -> ParseResult<ClassItem> {
        let Some(c) = self.peek() else {
            return self.error("unterminated character set");
        };
        self.pos += 1;
        Ok(match c {
            'd' => ClassItem::Digit(false),
            'D' => ClassItem::Digit(true),
            'w' => ClassItem::Word(false),
            'W' => ClassItem::Word(true),
            's' => ClassItem::Space(false),
            'S' => ClassItem::Space(true),
            'b' => ClassItem::Range('\u{8}', '\u{8}'),
            '0'..='7' => {
                // In a class, digits are octal escapes of one to three digits.
                let mut digits = vec![c];
                for _ in 0..2 {
                    match self.peek() {
                        Some(d @ '0'..='7') => {
                            digits.push(d);
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                let ch = self.octal(&digits)?;
                ClassItem::Range(ch, ch)
            }
            '8' | '9' => return self.error(format!("bad escape \\{c}")),
            _ => {
                let ch = self.char_escape(c)?;
                ClassItem::Range(ch, ch)
            }
        })
    }
}

/// Python 3.11's checks of inline flags (`sre_parse._parse_flags`).
fn bad_flags(on: &str, off: &str) -> Option<&'static str> {
    let exclusive = |set: &str| set.chars().filter(|c| "auL".contains(*c)).count();
    if off.chars().any(|c| "auL".contains(c)) {
        Some("bad inline flags: cannot turn off flags 'a', 'u' and 'L'")
    } else if exclusive(on) > 1 {
        Some("bad inline flags: flags 'a', 'u' and 'L' are incompatible")
    } else if on.chars().any(|c| off.contains(c)) {
        Some("bad inline flags: flag turned on and off")
    } else {
        None
    }
}

/// Python's `str.isidentifier`, narrowed: digits after the first character
/// are ASCII only (`²` is numeric but no identifier character). Narrower
/// only refuses more names, and a refused regex is a filter that is not
/// imported.
fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphabetic() || c.is_ascii_digit())
}

fn quantifier_text(min: u32, max: Option<u32>) -> String {
    match (min, max) {
        (0, None) => "*".into(),
        (1, None) => "+".into(),
        (0, Some(1)) => "?".into(),
        (m, None) => format!("{{{m},}}"),
        (m, Some(n)) if m == n => format!("{{{m}}}"),
        (m, Some(n)) => format!("{{{m},{n}}}"),
    }
}

/// Parses `pattern + '$'` as Python's `re` does, returning the top-level
/// alternatives and the global flags.
fn parse(pattern: &str) -> Result<(Vec<Node>, Flags), ParseError> {
    let text = format!("{pattern}$");
    let mut parser = Parser {
        chars: text.chars().collect(),
        pos: 0,
        flags: Flags::default(),
        unsupported: None,
        group_names: Vec::new(),
        too_deep: false,
    };
    // Global flags apply to the whole pattern wherever they are scanned; in
    // Python 3.11 they must come first, which inline_flags checks.
    let node = match parser.alternation(0) {
        Ok(node) => node,
        Err(_) if parser.too_deep => return Err(ParseError::TooDeep),
        Err(error) => return Err(ParseError::Python(error)),
    };
    if parser.pos < parser.chars.len() {
        return parser
            .error("unbalanced parenthesis")
            .map_err(ParseError::Python);
    }
    if let Some(construct) = parser.unsupported {
        return Ok((vec![Node::Unsupported(construct)], parser.flags));
    }
    let alternatives = match node {
        Node::Alt(branches) => branches,
        other => vec![other],
    };
    Ok((alternatives, parser.flags))
}

// ---------------------------------------------------------------- emitting

struct Emitter {
    out: String,
    unicode: bool,
    stricter: Vec<Stricter>,
    unsupported: Option<String>,
}

impl Emitter {
    fn note(&mut self, category: Category, note: &str) {
        if !self
            .stricter
            .iter()
            .any(|s| s.category == category && s.note == note)
        {
            self.stricter.push(Stricter {
                category,
                note: note.to_string(),
            });
        }
    }

    fn node(&mut self, node: &Node) {
        match node {
            Node::Empty => {}
            Node::Char(c) => {
                if !c.is_ascii() {
                    self.unicode = true;
                }
                push_escaped(&mut self.out, *c, false);
            }
            Node::Any => {
                // One character, as in Python, not one byte.
                self.unicode = true;
                self.out.push('.');
            }
            Node::Class(class) => self.class(class),
            Node::Start => self.out.push('^'),
            Node::StartOnly => self.out.push_str("\\A"),
            Node::End => {
                self.note(
                    Category::RegexNewline,
                    "`$` inside the regex matches only at the very end; Python's also matched before a final newline",
                );
                self.out.push('$');
            }
            Node::EndOnly => self.out.push_str("\\z"),
            Node::Concat(items) => {
                for item in items {
                    self.node(item);
                }
            }
            Node::Alt(branches) => {
                for (i, branch) in branches.iter().enumerate() {
                    if i > 0 {
                        self.out.push('|');
                    }
                    self.node(branch);
                }
            }
            Node::Group(inner) => {
                self.out.push_str("(?:");
                self.node(inner);
                self.out.push(')');
            }
            Node::Flagged(flags, inner) => {
                if flags.contains('i') {
                    self.unicode = true;
                }
                let _ = write!(self.out, "(?{flags}:");
                self.node(inner);
                self.out.push(')');
            }
            Node::Repeat {
                node,
                min,
                max,
                lazy,
            } => {
                let atomic = matches!(
                    **node,
                    Node::Char(_) | Node::Any | Node::Class(_) | Node::Group(_)
                );
                if atomic {
                    self.node(node);
                } else {
                    self.out.push_str("(?:");
                    self.node(node);
                    self.out.push(')');
                }
                self.out.push_str(&quantifier_text(*min, *max));
                if *lazy {
                    self.out.push('?');
                }
            }
            Node::Look { ahead, negated, .. } => {
                let what = match (ahead, negated) {
                    (true, false) => "the look-ahead `(?=...)`",
                    (true, true) => "the negative look-ahead `(?!...)`",
                    (false, false) => "the look-behind `(?<=...)`",
                    (false, true) => "the negative look-behind `(?<!...)`",
                };
                self.unsupported.get_or_insert_with(|| what.to_string());
            }
            Node::Unsupported(what) => {
                self.unsupported.get_or_insert_with(|| what.clone());
            }
        }
    }

    fn class(&mut self, class: &Class) {
        let mut parts: Vec<String> = Vec::new();
        for item in &class.items {
            match *item {
                ClassItem::Range(lo, hi) => {
                    if !lo.is_ascii() || !hi.is_ascii() {
                        self.unicode = true;
                    }
                    let mut text = String::new();
                    push_escaped(&mut text, lo, true);
                    if hi != lo {
                        text.push('-');
                        push_escaped(&mut text, hi, true);
                    }
                    parts.push(text);
                }
                ClassItem::Digit(negated)
                | ClassItem::Word(negated)
                | ClassItem::Space(negated) => {
                    parts.push(self.category(*item, negated, class.negated, class.ascii));
                }
            }
        }
        if class.negated {
            self.unicode = true;
        }
        match parts.as_slice() {
            [only] if !class.negated && only.starts_with('[') => self.out.push_str(only),
            _ => {
                let _ = write!(
                    self.out,
                    "[{}{}]",
                    if class.negated { "^" } else { "" },
                    parts.concat()
                );
            }
        }
    }

    /// `\d`, `\w`, `\s` and their negations. In a positive class the text
    /// must match a subset of Python's set; in a negated class, a superset
    /// (it is excluded).
    fn category(
        &mut self,
        item: ClassItem,
        negated: bool,
        in_negated_class: bool,
        ascii_flag: bool,
    ) -> String {
        // `ascii`: the ASCII part of Python's set that every mode has (a
        // subset); `ascii_superset`: every ASCII character any mode counts.
        // Python's `\s` is `[ \t\n\r\f\v]` with the ASCII flag and also
        // has \x1C-\x1F without it.
        let (letter, ascii, ascii_superset, unicode_superset) = match item {
            ClassItem::Digit(_) => ('d', "0-9", "0-9", "\\p{Nd}"),
            ClassItem::Word(_) => ('w', "0-9A-Za-z_", "0-9A-Za-z_", "\\w\\p{N}"),
            _ => ('s', "\\t-\\r ", "\\t-\\r\\x1C-\\x20", "\\s\\x1C-\\x1F"),
        };
        let text = match (negated, in_negated_class) {
            (false, false) => format!("[{ascii}]"),
            (false, true) if ascii_flag => ascii.to_string(),
            (false, true) => {
                self.unicode = true;
                unicode_superset.to_string()
            }
            // ASCII characters outside the class: Python's set also has
            // every other non-ASCII character, which is left out.
            (true, false) => {
                self.unicode = true;
                format!("[^{ascii_superset}\\x80-\\x{{10FFFF}}]")
            }
            (true, true) => {
                self.unicode = true;
                format!("[^{ascii}]")
            }
        };
        if !ascii_flag {
            let shown = if negated {
                letter.to_ascii_uppercase()
            } else {
                letter
            };
            self.note(
                Category::UnicodeClass,
                &format!(
                    "`\\{shown}` stands for ASCII characters only; Python's also took those of other scripts (e.g. `\\d` took `\u{663}`)"
                ),
            );
        }
        text
    }
}

/// Writes `c` so that regex-syntax reads it as that literal character.
fn push_escaped(out: &mut String, c: char, in_class: bool) {
    let special_outside = "\\.+*?()|[]{}^$";
    let special_inside = "\\[]^-&~ ";
    let special = if in_class {
        special_inside
    } else {
        special_outside
    };
    if c == '"' {
        out.push_str("\\x22");
    } else if c.is_control() || c == '\u{7f}' {
        let _ = write!(out, "\\x{{{:X}}}", u32::from(c));
    } else if special.contains(c) {
        out.push('\\');
        out.push(c);
    } else {
        out.push(c);
    }
}

/// The characters of a node if it only ever matches that one string.
fn literal_text(node: &Node) -> Option<String> {
    match node {
        Node::Empty => Some(String::new()),
        Node::Char(c) => Some(c.to_string()),
        Node::Concat(items) => {
            let mut out = String::new();
            for item in items {
                out.push_str(&literal_text(item)?);
            }
            Some(out)
        }
        Node::Group(inner) => literal_text(inner),
        _ => None,
    }
}

/// The strings of an alternation of plain strings (`(a|b)` or `a|b`).
fn literal_alternatives(node: &Node) -> Option<Vec<String>> {
    match node {
        Node::Alt(branches) => branches.iter().map(literal_text).collect(),
        Node::Group(inner) => literal_alternatives(inner),
        _ => None,
    }
}

/// Removes the `$` oslo appended (the last node of the last alternative).
fn strip_appended_end(mut alternatives: Vec<Node>) -> Vec<Node> {
    if let Some(last) = alternatives.last_mut() {
        match last {
            Node::End => *last = Node::Empty,
            Node::Concat(items) => {
                if items.last() == Some(&Node::End) {
                    items.pop();
                }
                if items.len() == 1 {
                    let only = items.pop().unwrap_or(Node::Empty);
                    *last = only;
                } else if items.is_empty() {
                    *last = Node::Empty;
                }
            }
            _ => {}
        }
    }
    alternatives
}

/// `DIR/(?!<anything with \.\.>).*`, the corpus's way of saying "a path
/// under DIR": returns DIR.
fn lookahead_path(alternatives: &[Node]) -> Option<String> {
    let [Node::Concat(items)] = alternatives else {
        return None;
    };
    let look = items.iter().position(|n| matches!(n, Node::Look { .. }))?;
    let (prefix, rest) = items.split_at(look);
    let Node::Look {
        ahead: true,
        negated: true,
        node,
    } = &rest[0]
    else {
        return None;
    };
    let guards_dotdot = is_dotdot_guard(node);
    let tail_is_anything = matches!(
        rest.get(1..),
        Some([Node::Repeat { node, min: 0 | 1, max: None, .. }]) if **node == Node::Any
    );
    let dir = literal_text(&Node::Concat(prefix.to_vec()))?;
    let dir = dir.strip_suffix('/')?;
    let normalized = dir.starts_with('/')
        && !dir.is_empty()
        && dir[1..]
            .split('/')
            .all(|c| !c.is_empty() && c != "." && c != "..");
    let plain = dir
        .chars()
        .all(|c| !c.is_whitespace() && !"|<>*\"".contains(c));
    (guards_dotdot && tail_is_anything && normalized && plain).then(|| dir.to_string())
}

/// Whether a lookahead body is exactly one of the two `..` guards the
/// corpus uses, `\.\.` and `.*/\.\.`: only then does the path constraint
/// mean the same thing. A body that excludes anything else (`\.\.|shadow`)
/// cannot become a path rule.
fn is_dotdot_guard(node: &Node) -> bool {
    let any_run =
        |n: &Node| matches!(n, Node::Repeat { node, min: 0, max: None, .. } if **node == Node::Any);
    match node {
        Node::Group(inner) => is_dotdot_guard(inner),
        Node::Concat(items) => match items.as_slice() {
            [Node::Char('.'), Node::Char('.')] => true,
            [run, Node::Char('/'), Node::Char('.'), Node::Char('.')] => any_run(run),
            _ => false,
        },
        _ => false,
    }
}

/// Translates one Python regex as oslo uses it: `re.match(pattern + '$', arg)`.
pub fn translate(pattern: &str) -> Result<Translated, Untranslatable> {
    let (alternatives, flags) = parse(pattern).map_err(|error| match error {
        ParseError::Python(error) => Untranslatable::PythonError(error),
        ParseError::TooDeep => Untranslatable::TooDeep,
    })?;
    let alternatives = strip_appended_end(alternatives);
    let mut stricter = Vec::new();
    let newline = Stricter {
        category: Category::RegexNewline,
        note: "the argument must match exactly; oslo's appended `$` also let it end with a newline"
            .into(),
    };

    if let Some(dir) = lookahead_path(&alternatives) {
        stricter.push(Stricter {
            category: Category::PathLookahead,
            note: format!(
                "`{pattern}` is the path constraint `<path {dir}/**>`: the path is resolved (`..`, symlinks) and must lie under {dir}, so escapes such as `{dir}/a/../../x`, which the regex let through, are refused; the resolved path is passed on"
            ),
        });
        return Ok(Translated {
            translation: Translation::PathUnder(dir),
            stricter,
        });
    }

    let top_level_alternation = alternatives.len() > 1;
    if top_level_alternation {
        let first = alternatives
            .first()
            .map(describe_branch)
            .unwrap_or_default();
        stricter.push(Stricter {
            category: Category::RegexAlternation,
            note: format!(
                "every alternative must match the whole argument; in oslo `|` was not grouped, so only the last alternative was anchored at the end (`{first}` followed by anything was accepted)"
            ),
        });
    }
    let whole = if top_level_alternation {
        Node::Alt(alternatives)
    } else {
        alternatives.into_iter().next().unwrap_or(Node::Empty)
    };

    let case_sensitive = !flags.ignore_case;
    if case_sensitive {
        if let Some(text) = literal_text(&whole) {
            stricter.push(newline);
            return Ok(Translated {
                translation: Translation::Literal(text),
                stricter,
            });
        }
        if let Some(texts) = literal_alternatives(&whole) {
            stricter.push(newline);
            return Ok(Translated {
                translation: Translation::Literals(texts),
                stricter,
            });
        }
    }

    let mut emitter = Emitter {
        out: String::new(),
        unicode: false,
        stricter: Vec::new(),
        unsupported: None,
    };
    if flags.ignore_case {
        emitter.out.push_str("(?i)");
        emitter.unicode = true;
    }
    if flags.multiline {
        emitter.out.push_str("(?m)");
    }
    if flags.dot_all {
        emitter.out.push_str("(?s)");
    }
    emitter.node(&whole);
    if let Some(construct) = emitter.unsupported {
        return Err(Untranslatable::Unsupported {
            suggestion: suggestion_for(&construct),
            construct,
        });
    }
    // Case-insensitive matching beyond ASCII folds by the Unicode tables of
    // the regex engine, which are newer than Python 3.11's and fold some
    // characters Python does not (and Python's ASCII flag is not carried
    // into scoped groups): refused rather than risk accepting more.
    let beyond_ascii =
        !emitter.out.is_ascii() || emitter.out.contains("\\x{") || emitter.out.contains("\\p");
    if emitter.unicode && has_flag(&emitter.out, 'i') && (beyond_ascii || has_flag(pattern, 'a')) {
        return Err(Untranslatable::Unsupported {
            construct: "case-insensitive matching with Unicode".into(),
            suggestion: "list the accepted spellings, e.g. `(name|Name|NAME)`".into(),
        });
    }
    // What the compiler would refuse (deep nesting in its own dialect, an
    // automaton over the size limit) is refused here, with the reason.
    if let Err(why) = crate::lower::compile_regex(&emitter.out, emitter.unicode) {
        return Err(Untranslatable::Uncompilable(why.to_string()));
    }
    stricter.push(newline);
    stricter.extend(emitter.stricter);
    Ok(Translated {
        translation: Translation::Regex {
            source: emitter.out,
            unicode: emitter.unicode,
        },
        stricter,
    })
}

/// Whether a regex turns `flag` on anywhere: a flag group `(?...f...)` or
/// `(?...f...:`.
fn has_flag(source: &str, flag: char) -> bool {
    source.match_indices("(?").any(|(at, _)| {
        source[at + 2..]
            .chars()
            .take_while(|c| c.is_ascii_alphabetic())
            .any(|c| c == flag)
    })
}

fn describe_branch(node: &Node) -> String {
    literal_text(node).unwrap_or_else(|| "the first alternative".into())
}

fn suggestion_for(construct: &str) -> String {
    if construct.contains("look") {
        "for a path under a directory write `<path /dir/**>`; otherwise list the allowed values, or write a regex without look-around".into()
    } else if construct.contains("back-reference") {
        "write the allowed values out, or a regex without back-references".into()
    } else if construct.contains("boundary") {
        "anchor with the argument's start and end instead: a rule's regex always matches the whole argument".into()
    } else {
        "rewrite the regex without it".into()
    }
}

/// Whether a Python regex (as oslo uses it) is valid Python at all.
pub fn python_error(pattern: &str) -> Option<String> {
    match parse(pattern) {
        Err(ParseError::Python(error)) => Some(error),
        _ => None,
    }
}

/// The Rust-dialect regex for a translation, for checking what it matches.
pub fn as_regex(translation: &Translation) -> Option<(String, bool)> {
    match translation {
        Translation::Literal(text) => Some((escape_all(text), !text.is_ascii())),
        Translation::Literals(texts) => Some((
            texts
                .iter()
                .map(|t| escape_all(t))
                .collect::<Vec<_>>()
                .join("|"),
            texts.iter().any(|t| !t.is_ascii()),
        )),
        Translation::Regex { source, unicode } => Some((source.clone(), *unicode)),
        Translation::PathUnder(_) => None,
    }
}

fn escape_all(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        push_escaped(&mut out, c, false);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regex(p: &str) -> (String, bool) {
        match translate(p) {
            Ok(Translated {
                translation: Translation::Regex { source, unicode },
                ..
            }) => (source, unicode),
            other => panic!("{p}: {other:?}"),
        }
    }

    #[test]
    fn literals() {
        assert_eq!(
            translate("--max-time").map(|t| t.translation),
            Ok(Translation::Literal("--max-time".into()))
        );
        assert_eq!(
            translate("os_brick\\.privileged").map(|t| t.translation),
            Ok(Translation::Literal("os_brick.privileged".into()))
        );
        assert_eq!(
            translate("(--getsize64|--flushbufs)").map(|t| t.translation),
            Ok(Translation::Literals(vec![
                "--getsize64".into(),
                "--flushbufs".into()
            ]))
        );
        let ungrouped = translate("a|b").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            ungrouped.translation,
            Translation::Literals(vec!["a".into(), "b".into()])
        );
        assert!(ungrouped
            .stricter
            .iter()
            .any(|s| s.category == Category::RegexAlternation));
        assert_eq!(
            translate("").map(|t| t.translation),
            Ok(Translation::Literal(String::new()))
        );
    }

    #[test]
    fn classes_and_escapes() {
        assert_eq!(regex("\\d+"), ("[0-9]+".into(), false));
        assert_eq!(regex("/dev/.*"), ("/dev/.*".into(), true));
        assert_eq!(regex("[^/\\0]+"), ("[^/\\x{0}]+".into(), true));
        assert_eq!(
            regex("\\S+"),
            ("[^\\t-\\r\\x1C-\\x20\\x80-\\x{10FFFF}]+".into(), true)
        );
        assert_eq!(regex("[^\\d]"), ("[^\\p{Nd}]".into(), true));
        assert_eq!(
            regex("http://[0-9a-z:./-\\[\\]\\%]+"),
            ("http://[0-9a-z:./-\\[\\]%]+".into(), false)
        );
        assert_eq!(regex("\\d{1"), ("[0-9]\\{1".into(), false));
        assert_eq!(regex("a{,3}"), ("a{0,3}".into(), false));
        assert_eq!(regex(".*M$"), (".*M$".into(), true));
        assert_eq!(
            regex("echo '((.|\\n)*)'"),
            ("echo '(?:(?:.|\\x{A})*)'".into(), true)
        );
    }

    #[test]
    fn python_errors() {
        for bad in ["[a", "(a", "a)", "*a", "a**", "\\q", "[z-a]", "x{3,1}"] {
            assert!(
                matches!(translate(bad), Err(Untranslatable::PythonError(_))),
                "{bad}"
            );
        }
        assert!(translate("3}").is_ok());
    }

    #[test]
    fn flag_groups_and_names_python_refuses_are_refused() {
        for pattern in [
            "(?-u:x)",
            "(?-:x)",
            "(?)x",
            "(?au)x.",
            "(?au:x).",
            "(?i-i:x)",
            "(?P<a>x)(?P<a>y)",
            "(?P<a\u{b2}>x)",
        ] {
            assert!(
                matches!(translate(pattern), Err(Untranslatable::PythonError(_))),
                "{pattern}: {:?}",
                translate(pattern)
            );
        }
        assert!(translate("(?P<ab_1>x)(?P<c>y)").is_ok());
        assert!(translate("(?i:x)(?-i:y)").is_ok());
    }

    #[test]
    fn unicode_case_folding_is_refused() {
        for pattern in [
            "(?i)\u{264}x",
            "(?ai)k",
            "(?a)(?i:s)x",
            "(?i)[\u{100}-\u{200}]",
        ] {
            assert!(
                matches!(translate(pattern), Err(Untranslatable::Unsupported { .. })),
                "{pattern}"
            );
        }
        // ASCII-only case-insensitivity folds the same in both engines.
        assert!(translate("(?i)abc").is_ok());
    }

    #[test]
    fn python_ascii_space_anchors_and_verbose_whitespace() {
        // Python's ASCII `\s` has no \x1C-\x1F; its `\S` excludes them in
        // Unicode mode.
        assert_eq!(regex("(?a)\\s").0, "[\\t-\\r ]");
        assert_eq!(regex("\\s").0, "[\\t-\\r ]");
        assert_eq!(regex("\\S").0, "[^\\t-\\r\\x1C-\\x20\\x80-\\x{10FFFF}]");
        // `\A` stays the start of the argument under `(?m)`.
        assert!(
            regex("(?m)a\\n\\Ab").0.contains("\\A"),
            "{:?}",
            regex("(?m)a\\n\\Ab")
        );
        // Verbose mode skips ASCII whitespace only: a no-break space stays.
        assert!(
            regex("(?x)a\u{a0}b.").0.contains('\u{a0}'),
            "{:?}",
            regex("(?x)a\u{a0}b.")
        );
    }

    #[test]
    fn lookahead() {
        assert_eq!(
            translate("/etc/(?!\\.\\.).*").map(|t| t.translation),
            Ok(Translation::PathUnder("/etc".into()))
        );
        assert_eq!(
            translate("/dev/(?!.*/\\.\\.).*").map(|t| t.translation),
            Ok(Translation::PathUnder("/dev".into()))
        );
        // A guard that excludes anything besides `..` is no path rule.
        for wider in [
            "/etc/(?!\\.\\.|shadow).*",
            "/etc/(?!.*(\\.\\.|passwd)).*",
            "/etc/(?!x\\.\\.).*",
        ] {
            assert!(
                !matches!(
                    translate(wider).map(|t| t.translation),
                    Ok(Translation::PathUnder(_))
                ),
                "{wider}"
            );
        }
        assert!(matches!(
            translate("chown root:root /etc/(?!.*/\\.\\.).*"),
            Err(Untranslatable::Unsupported { .. })
        ));
        assert!(matches!(
            translate("a(?=b)"),
            Err(Untranslatable::Unsupported { .. })
        ));
        assert!(matches!(
            translate("(a)\\1"),
            Err(Untranslatable::Unsupported { .. })
        ));
        for unsupported in ["(a)?(?(1)b|c)", "(?>ab)", "a\\bc", "\\N{DIGIT ONE}", "a*+"] {
            assert!(
                matches!(
                    translate(unsupported),
                    Err(Untranslatable::Unsupported { .. })
                ),
                "{unsupported}"
            );
        }
    }
}
