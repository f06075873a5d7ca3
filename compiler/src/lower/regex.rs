//! Regexes: compiled to the sparse DFAs the runtime matches with.

use regex_automata::dfa::{dense, StartKind};
use regex_automata::nfa::thompson;
use regex_automata::util::syntax;
use rootwrap::types::Dfa;

use rootwrap::types::{Arg, Regex};

use super::Lowering;
use crate::diag::{Diagnostic, Reported, Span, Spanned};

/// The largest serialized DFA one regex may compile to.
pub const MAX_DFA_BYTES: usize = 512 << 10;

impl Lowering<'_> {
    pub(super) fn regex(
        &mut self,
        source: &Spanned<String>,
        flags: Option<&Spanned<String>>,
    ) -> Result<Arg, Reported> {
        let mut unicode = false;
        if let Some(flags) = flags {
            for flag in flags.value.chars() {
                match flag {
                    'u' => unicode = true,
                    other => {
                        return Err(self.error(
                            Diagnostic::error(format!("unknown regex flag `{other}`"))
                                .at(flags.span, "here")
                                .help("the only flag is `u` (Unicode classes); use `(?i)` inside the pattern for case-insensitivity"),
                        ));
                    }
                }
            }
        }
        match compile_regex(&source.value, unicode) {
            Ok(dfa) => Ok(Arg::Regex(Regex {
                source: source.value.clone(),
                dfa,
            })),
            Err(RegexError::Invalid {
                at: Some((start, end)),
                why,
                ..
            }) => {
                // The body is the source verbatim: offsets carry over.
                let at = Span {
                    start: source.span.start + start,
                    end: source.span.start + end.max(start + 1),
                    ..source.span
                };
                Err(self.error(
                    Diagnostic::error(format!("invalid regex `{}`: {why}", source.value))
                        .at(at, "here"),
                ))
            }
            Err(why) => Err(self.error(
                Diagnostic::error(why.to_string()).at(source.span, "this regular expression"),
            )),
        }
    }
}

/// Why a regex cannot be compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegexError {
    /// It does not parse, or uses what a DFA cannot do; `at`: the byte
    /// range of the source that is wrong, when known.
    Invalid {
        source: String,
        why: String,
        at: Option<(usize, usize)>,
    },
    /// Its automaton exceeds a size limit: `bytes` when it was built and
    /// came out above [`MAX_DFA_BYTES`].
    TooBig {
        source: String,
        bytes: Option<usize>,
    },
    /// The built DFA cannot be turned into the sparse form the runtime reads.
    NotSparse { source: String, why: String },
}

impl std::fmt::Display for RegexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegexError::Invalid { source, why, .. } => {
                write!(f, "invalid regex `{source}`: {why}")
            }
            RegexError::TooBig {
                source,
                bytes: None,
            } => write!(
                f,
                "regex `{source}` is too big: its automaton exceeds the size limit"
            ),
            RegexError::TooBig {
                source,
                bytes: Some(bytes),
            } => write!(
                f,
                "regex `{source}` is too big: its automaton takes {bytes} bytes, the limit is {MAX_DFA_BYTES}"
            ),
            RegexError::NotSparse { source, why } => {
                write!(f, "regex `{source}` cannot be compiled: {why}")
            }
        }
    }
}

/// Compiles a regex to a serialized sparse DFA that accepts exactly the
/// strings the whole of which match.
#[cfg(not(fuzzing))]
pub fn compile_regex(source: &str, unicode: bool) -> Result<Dfa, RegexError> {
    build_regex(source, unicode)
}

/// In fuzz builds only (cargo-fuzz sets `--cfg fuzzing`), remembered: the
/// `filter_source` target compiles mutations of the same files, whose
/// regexes repeat, and building their automata was half of its time. The
/// result depends only on the arguments.
#[cfg(fuzzing)]
pub fn compile_regex(source: &str, unicode: bool) -> Result<Dfa, RegexError> {
    use std::cell::RefCell;
    use std::collections::HashMap;
    type Built = HashMap<(String, bool), Result<Dfa, RegexError>>;
    thread_local! {
        static BUILT: RefCell<Built> = RefCell::default();
    }
    let key = (source.to_string(), unicode);
    if let Some(found) = BUILT.with(|built| built.borrow().get(&key).cloned()) {
        return found;
    }
    let result = build_regex(source, unicode);
    BUILT.with(|built| {
        let mut built = built.borrow_mut();
        if built.len() >= 4096 {
            built.clear();
        }
        built.insert(key, result.clone());
    });
    result
}

fn build_regex(source: &str, unicode: bool) -> Result<Dfa, RegexError> {
    // Parsed alone first: text such as `a)|(b` must not escape the anchors
    // it is wrapped in below.
    syntax::parse_with(
        source,
        &syntax::Config::new().unicode(unicode).utf8(unicode),
    )
    .map_err(|e| {
        // The kind alone: the error's own rendering repeats the pattern and
        // prefixes "error:", which the diagnostic already does.
        let (why, span) = match &e {
            regex_syntax::Error::Parse(e) => (e.kind().to_string(), Some(*e.span())),
            regex_syntax::Error::Translate(e) => (e.kind().to_string(), Some(*e.span())),
            other => (last_line(&other.to_string()), None),
        };
        RegexError::Invalid {
            source: source.to_string(),
            why,
            at: span.map(|span| (span.start.offset, span.end.offset)),
        }
    })?;
    let pattern = format!("^(?:{source})$");
    let dfa = dense::Builder::new()
        .syntax(syntax::Config::new().unicode(unicode).utf8(unicode))
        .thompson(
            thompson::Config::new()
                .utf8(unicode)
                .nfa_size_limit(Some(MAX_DFA_BYTES * 4)),
        )
        .configure(
            dense::Config::new()
                .start_kind(StartKind::Anchored)
                .minimize(true)
                .dfa_size_limit(Some(MAX_DFA_BYTES * 8))
                .determinize_size_limit(Some(MAX_DFA_BYTES * 8)),
        )
        .build(&pattern)
        .map_err(|e| {
            let nfa_too_big = std::error::Error::source(&e)
                .and_then(|inner| inner.downcast_ref::<thompson::BuildError>())
                .is_some_and(|nfa| nfa.size_limit().is_some());
            if e.is_size_limit_exceeded() || nfa_too_big {
                return RegexError::TooBig {
                    source: source.to_string(),
                    bytes: None,
                };
            }
            let mut text = e.to_string();
            let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(&e);
            while let Some(inner) = cause {
                text = inner.to_string();
                cause = inner.source();
            }
            RegexError::Invalid {
                source: source.to_string(),
                why: last_line(&text),
                at: None,
            }
        })?;
    let sparse = dfa.to_sparse().map_err(|e| RegexError::NotSparse {
        source: source.to_string(),
        why: e.to_string(),
    })?;
    let bytes = sparse.to_bytes_little_endian();
    if bytes.len() > MAX_DFA_BYTES {
        return Err(RegexError::TooBig {
            source: source.to_string(),
            bytes: Some(bytes.len()),
        });
    }
    Dfa::from_bytes(bytes).map_err(|why| RegexError::NotSparse {
        source: source.to_string(),
        why,
    })
}

fn last_line(text: &str) -> String {
    text.lines().last().unwrap_or(text).trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_errors_by_kind() {
        let too_big = |source: &str| RegexError::TooBig {
            source: source.to_string(),
            bytes: None,
        };
        // The DFA of "an `a` twenty characters from the end" has 2^20 states.
        let dfa = "[ab]*a[ab]{20}";
        assert_eq!(compile_regex(dfa, false), Err(too_big(dfa)));
        // Unicode word characters, repeated: the NFA alone is over its limit.
        let nfa = r"\w{1000}";
        assert_eq!(compile_regex(nfa, true), Err(too_big(nfa)));
        assert!(matches!(
            compile_regex("a)|(b", false),
            Err(RegexError::Invalid { .. })
        ));
        assert!(compile_regex("[0-9]+", false).is_ok());
    }
}
