//! Python regexes (the `re` dialect oslo uses) to a tree.

// ---------------------------------------------------------------- parsing

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
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
pub(super) struct Class {
    pub(super) negated: bool,
    pub(super) items: Vec<ClassItem>,
    /// Whether `\d`, `\w`, `\s` here are ASCII (the `a` flag in force
    /// where the class is written: global, or a scoped `(?a:...)`; a scoped
    /// `(?u:...)` turns it off again).
    pub(super) ascii: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ClassItem {
    Range(char, char),
    /// `\d` (false) or `\D` (true), and the other categories likewise.
    Digit(bool),
    Word(bool),
    Space(bool),
}

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Flags {
    pub(super) ignore_case: bool,
    pub(super) multiline: bool,
    pub(super) dot_all: bool,
    pub(super) verbose: bool,
    pub(super) ascii: bool,
}

pub(super) struct Parser {
    pub(super) chars: Vec<char>,
    pub(super) pos: usize,
    pub(super) flags: Flags,
    /// A valid-Python construct met where no node can carry it (in a class).
    pub(super) unsupported: Option<String>,
    /// Named groups so far: Python refuses a name given twice.
    pub(super) group_names: Vec<String>,
    /// Set when groups nest deeper than `MAX_GROUP_NESTING`.
    pub(super) too_deep: bool,
}

/// The deepest group nesting imported. Python's `re` fails with
/// RecursionError from about 490 nested groups (fewer the deeper oslo's own
/// call stack), and this parser recurses per group: far below both.
pub const MAX_GROUP_NESTING: usize = 100;

/// Why `parse` gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ParseError {
    /// Python rejects the pattern (`re.error`).
    Python(String),
    /// Groups nest deeper than `MAX_GROUP_NESTING`.
    TooDeep,
}

pub(super) type ParseResult<T> = Result<T, String>;

pub(super) const MAX_REPEAT: u32 = u32::MAX;

impl Parser {
    pub(super) fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    pub(super) fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    pub(super) fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    pub(super) fn error<T>(&self, message: impl Into<String>) -> ParseResult<T> {
        Err(format!("{} at position {}", message.into(), self.pos))
    }

    /// In verbose mode, whitespace and `#` comments outside classes vanish.
    pub(super) fn skip_verbose(&mut self) {
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

    pub(super) fn alternation(&mut self, depth: usize) -> ParseResult<Node> {
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

    pub(super) fn sequence(&mut self, depth: usize) -> ParseResult<Node> {
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
    pub(super) fn quantifier(&mut self) -> ParseResult<Option<(u32, Option<u32>)>> {
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

    pub(super) fn digits(&mut self) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(char::is_ascii_digit) {
            out.push(c);
            self.pos += 1;
        }
        out
    }

    pub(super) fn atom(&mut self, depth: usize) -> ParseResult<Node> {
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

    pub(super) fn group(&mut self, depth: usize) -> ParseResult<Node> {
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

    pub(super) fn group_body(&mut self, depth: usize) -> ParseResult<Node> {
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
    pub(super) fn inline_flags(&mut self, depth: usize) -> ParseResult<Node> {
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

    pub(super) fn apply_flags(&mut self, flags: &str, value: bool) {
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

    pub(super) fn escape(&mut self) -> ParseResult<Node> {
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
    pub(super) fn char_escape(&mut self, c: char) -> ParseResult<char> {
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

    pub(super) fn hex(&mut self, len: usize) -> ParseResult<char> {
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

    pub(super) fn octal(&self, digits: &[char]) -> ParseResult<char> {
        let text: String = digits.iter().collect();
        match u32::from_str_radix(&text, 8).ok().and_then(char::from_u32) {
            Some(c) if u32::from(c) <= 0o377 => Ok(c),
            _ => self.error(format!(
                "octal escape value \\{text} outside of range 0-0o377"
            )),
        }
    }

    pub(super) fn class(&mut self) -> ParseResult<Class> {
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
    pub(super) fn category(&self, item: ClassItem) -> Class {
        Class {
            negated: false,
            items: vec![item],
            ascii: self.flags.ascii,
        }
    }

    pub(super) fn class_escape(&mut self) -> ParseResult<ClassItem> {
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
pub(super) fn bad_flags(on: &str, off: &str) -> Option<&'static str> {
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
pub(super) fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c.is_alphabetic() || c.is_ascii_digit())
}

pub(super) fn quantifier_text(min: u32, max: Option<u32>) -> String {
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
pub(super) fn parse(pattern: &str) -> Result<(Vec<Node>, Flags), ParseError> {
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
