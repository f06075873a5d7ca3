//! The tree back out as a regex in the rule language's dialect.

use std::fmt::Write as _;

use super::parse::*;
use super::Stricter;
use crate::oslo::reason::Category;

pub(super) struct Emitter {
    pub(super) out: String,
    pub(super) unicode: bool,
    pub(super) stricter: Vec<Stricter>,
    pub(super) unsupported: Option<String>,
}

impl Emitter {
    pub(super) fn note(&mut self, category: Category, note: &str) {
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

    pub(super) fn node(&mut self, node: &Node) {
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

    pub(super) fn class(&mut self, class: &Class) {
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
    pub(super) fn category(
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
pub(super) fn push_escaped(out: &mut String, c: char, in_class: bool) {
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
