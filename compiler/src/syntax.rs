//! Step one: filter-file text to a syntax tree, with spans. Knows the shape
//! of the language (grammar/rwf.pest), not its meaning: option names, value
//! types and paths are checked when lowering.

use pest::iterators::Pair;
use pest::Parser as _;

use crate::diag::{Diagnostic, Span, Spanned};

mod hints;
pub use hints::oslo_file;

#[derive(pest_derive::Parser)]
#[grammar = "../../grammar/rwf.pest"]
struct RwfParser;

#[allow(
    clippy::large_enum_variant,
    reason = "one per line of a filter file, kept in a vector once: boxing rules would cost an allocation each and save nothing that matters"
)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    Rule(RuleAst),
    Test(TestAst),
    Option(OptionAst),
    Action(ActionAst),
    Disable(DisableAst),
}

/// `disable NAME because "WHY"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisableAst {
    pub name: Spanned<String>,
    pub reason: Spanned<String>,
    pub span: Span,
}

/// `action NAME (PARAM: PATTERN, ...) [as USER]:` and the steps indented
/// below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionAst {
    pub name: Spanned<String>,
    pub run_as: Option<Spanned<String>>,
    pub params: Vec<(Spanned<String>, ItemAst)>,
    pub steps: Vec<StepAst>,
    /// Where `undo:` is written, if it is.
    pub undo_span: Option<Span>,
    pub undo: Vec<StepAst>,
    pub span: Span,
}

/// `KIND TERM...` on an indented line below an action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepAst {
    pub kind: Spanned<String>,
    pub terms: Vec<TermAst>,
    pub span: Span,
}

/// One word of a step: pieces glued together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermAst {
    pub pieces: Vec<PieceAst>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PieceAst {
    /// Unquoted text between spaces, quotes and `/`: a parameter's name
    /// stands for its value.
    Bare(String),
    /// Always literal text.
    Quoted(String),
    Slash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleAst {
    /// `deny NAME ...` rather than `allow NAME ...`.
    pub deny: bool,
    pub name: Spanned<String>,
    /// `via CHAIN, ...`: the chaining rules it is reached through only.
    pub via: Vec<Spanned<String>>,
    pub run_as: Option<Spanned<String>>,
    pub env: Vec<(Spanned<String>, ItemAst)>,
    pub command: Spanned<String>,
    /// `(A | B ...)`: the alternatives after the first, `command`.
    pub also: Vec<Spanned<String>>,
    /// `@sha256:HEX` after the command: the digits as written.
    pub sha256: Option<Spanned<String>>,
    pub args: Vec<ItemAst>,
    /// `...` or `then allowed`, if written.
    pub rest: Option<Spanned<RestAst>>,
    pub because: Option<Spanned<String>>,
    /// `because LINT, ... "WHY"`: the lints the reason is about (none
    /// written: every risk lint).
    pub because_lints: Vec<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestAst {
    Any,
    Chain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemAst {
    Single(Pattern),
    /// `(A B | C)`: alternatives, each a sequence.
    Group(Vec<Vec<ItemAst>>, Span),
    /// `[A B]`
    Optional(Vec<ItemAst>, Span),
    /// `{ A [B] }`
    AnyOrder(Vec<ItemAst>, Span),
}

impl ItemAst {
    pub fn span(&self) -> Span {
        match self {
            ItemAst::Single(p) => p.span(),
            ItemAst::Group(_, span) | ItemAst::Optional(_, span) | ItemAst::AnyOrder(_, span) => {
                *span
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    Literal(Spanned<String>),
    Regex {
        source: Spanned<String>,
        flags: Option<Spanned<String>>,
    },
    Typed {
        name: Spanned<String>,
        args: Vec<Spanned<String>>,
        /// `as USER` (for `<pid>`).
        user: Option<Spanned<String>>,
        span: Span,
    },
    /// A literal prefix glued to a pattern: `if=<path /dev/*>`, or to
    /// alternatives of single patterns: `--size=(1 | 2)`.
    Prefixed {
        prefix: Spanned<String>,
        value: Box<ItemAst>,
        span: Span,
    },
}

impl Pattern {
    pub fn span(&self) -> Span {
        match self {
            Pattern::Literal(s) => s.span,
            Pattern::Regex { source, .. } => source.span,
            Pattern::Typed { span, .. } | Pattern::Prefixed { span, .. } => *span,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expect {
    /// Allowed, by this rule when named.
    Allow(Option<Spanned<String>>),
    Deny,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAst {
    pub expect: Expect,
    pub argv: Vec<Spanned<String>>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OptionAst {
    pub name: Spanned<String>,
    pub values: Vec<Spanned<String>>,
    pub span: Span,
}

/// Parses one file. Statements of good lines are returned even when other
/// lines have errors: each bad line gets its own diagnostic.
pub fn parse_file(file: usize, text: &str) -> (Vec<Statement>, Vec<Diagnostic>) {
    let mut statements = Vec::new();
    let mut diagnostics = Vec::new();
    // The parser and lowering recurse per bracket: a statement nesting too
    // deep is reported and blanked out (offsets kept), before it can exhaust
    // the stack; the rest of the file is parsed as usual.
    let mut blanked: Option<Vec<u8>> = None;
    while let Some(at) = too_deep(
        blanked
            .as_deref()
            .map_or(text, |b| std::str::from_utf8(b).unwrap_or("")),
    ) {
        let span = Span {
            file,
            start: at,
            end: at + 1,
        };
        diagnostics.push(
            Diagnostic::error(format!("brackets nest more than {MAX_BRACKET_DEPTH} deep"))
                .at(span, "too deep")
                .help("a rule this nested cannot be reviewed: split it into several rules"),
        );
        let bytes = blanked.get_or_insert_with(|| text.as_bytes().to_vec());
        let start = bytes[..at]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        let end = next_statement_start(std::str::from_utf8(bytes).unwrap_or(""), at);
        for byte in &mut bytes[start..end] {
            if *byte != b'\n' {
                *byte = b' ';
            }
        }
    }
    let blanked_text = blanked.as_deref().and_then(|b| std::str::from_utf8(b).ok());
    let text = blanked_text.unwrap_or(text);
    let mut pos = 0;
    // Below an action, indented lines are its steps; `undo:` switches to
    // its undo steps.
    let mut in_action = false;
    let mut in_undo = false;
    while pos < text.len() {
        let rest = &text[pos..];
        let indented = rest.starts_with([' ', '\t']);
        let step_line = in_action && indented && !blank_line(rest);
        let start = if step_line {
            Rule::step_line
        } else {
            Rule::line
        };
        match RwfParser::parse(start, rest) {
            Ok(mut pairs) => {
                let Some(line) = pairs.next() else { break };
                let consumed = line.as_span().end();
                for pair in line.into_inner().filter(|p| p.as_rule() != Rule::EOI) {
                    if step_line {
                        let Some(Statement::Action(action)) = statements.last_mut() else {
                            continue;
                        };
                        if pair.as_rule() == Rule::undo_head {
                            let span = span_of(file, pos, &pair);
                            if let Some(first) = action.undo_span {
                                diagnostics.push(
                                    Diagnostic::error("`undo:` is written twice")
                                        .at(span, "again")
                                        .note(Some(first), "first here"),
                                );
                            }
                            action.undo_span = Some(span);
                            in_undo = true;
                            continue;
                        }
                        match step_ast(file, pos, pair) {
                            Ok(step) if in_undo => action.undo.push(step),
                            Ok(step) => action.steps.push(step),
                            Err(d) => diagnostics.push(d),
                        }
                        continue;
                    }
                    match statement_ast(file, pos, pair) {
                        Ok(statement) => {
                            in_action = matches!(statement, Statement::Action(_));
                            in_undo = false;
                            statements.push(statement);
                        }
                        Err(d) => {
                            in_action = false;
                            diagnostics.push(d);
                        }
                    }
                }
                if consumed == 0 {
                    break;
                }
                pos += consumed;
            }
            Err(error) => {
                let at = pos + error_offset(&error);
                let end = next_statement_start(text, at);
                let hint = (!step_line)
                    .then(|| hints::explain(file, pos, &text[pos..end]))
                    .flatten();
                diagnostics.push(hint.unwrap_or_else(|| syntax_error(file, at, &error, rest)));
                pos = end;
            }
        }
    }
    (statements, diagnostics)
}

/// Whether the line at the start of `text` holds nothing but blanks and
/// a comment: it neither ends an action nor is one of its steps.
fn blank_line(text: &str) -> bool {
    let line = text.split('\n').next().unwrap_or("");
    let line = line.trim_start_matches([' ', '\t', '\r']);
    line.is_empty() || line.starts_with('#')
}

/// How deeply `(`, `[` and `{` may nest: well within the runtime's decoding
/// bound (`rootwrap::types::MAX_NESTING`, which counts about two levels per
/// bracket), and far beyond what a reviewable rule needs.
pub const MAX_BRACKET_DEPTH: usize = 12;
const _: () = assert!(2 * MAX_BRACKET_DEPTH < rootwrap::types::MAX_NESTING);

/// The offset of the first bracket nested deeper than allowed, outside
/// strings and comments.
fn too_deep(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut in_comment = false;
    let mut escaped = false;
    let mut previous = '\n';
    let mut last_visible = '\n';
    for (at, c) in text.char_indices() {
        if in_comment {
            in_comment = c != '\n';
        } else if in_string {
            in_string = escaped || c != '"';
            escaped = !escaped && c == '\\';
        } else {
            match c {
                '"' => in_string = true,
                '#' if previous.is_whitespace() => in_comment = true,
                '(' | '[' | '{' => {
                    depth += 1;
                    if depth > MAX_BRACKET_DEPTH {
                        return Some(at);
                    }
                }
                ')' | ']' | '}' => depth = depth.saturating_sub(1),
                // A statement ends at a line end, unless the line ends in `\`.
                '\n' if last_visible != '\\' => depth = 0,
                _ => {}
            }
        }
        if c == '\n' {
            in_comment = false;
            in_string = false;
        }
        if !c.is_whitespace() {
            last_visible = c;
        }
        previous = c;
    }
    None
}

fn error_offset(error: &pest::error::Error<Rule>) -> usize {
    match error.location {
        pest::error::InputLocation::Pos(p) => p,
        pest::error::InputLocation::Span((s, _)) => s,
    }
}

/// The start of the physical line after `at`, skipping continuation lines.
fn next_statement_start(text: &str, at: usize) -> usize {
    let mut pos = at;
    loop {
        match text[pos..].find('\n') {
            None => return text.len(),
            Some(i) => {
                let line_end = pos + i;
                let continued = text[..line_end]
                    .trim_end_matches([' ', '\t', '\r'])
                    .ends_with('\\');
                pos = line_end + 1;
                if !continued {
                    return pos;
                }
            }
        }
    }
}

fn describe(expected: &Rule) -> &'static str {
    match expected {
        Rule::kw_allow => "`allow`",
        Rule::kw_test => "`test`",
        Rule::kw_action => "`action`",
        Rule::action => "`action NAME (PARAM: PATTERN, ...) [as USER]:`",
        Rule::param | Rule::param_name => "a parameter `NAME: PATTERN`",
        Rule::param_literal => "a parameter's pattern",
        Rule::step | Rule::step_name => "a step such as `mkdir DIR`",
        Rule::term | Rule::bare | Rule::slash => "a step's word",
        Rule::undo_head | Rule::kw_undo => "`undo:`",
        Rule::kw_as => "`as USER`",
        Rule::kw_deny => "`deny`",
        Rule::kw_disable => "`disable`",
        Rule::disable => "`disable NAME because \"reason\"`",
        Rule::kw_env => "`env`",
        Rule::kw_because => "`because \"reason\"`",
        Rule::rule_name => "a rule name",
        Rule::run_as => "`as USER`",
        Rule::via | Rule::kw_via => "`via RULE`",
        Rule::account => "a user name",
        Rule::command | Rule::commands | Rule::command_alt => "a command",
        Rule::pin | Rule::pin_digest => "`@sha256:HEX`",
        Rule::arg | Rule::literal | Rule::word => "an argument pattern",
        Rule::group => "`(A | B)`",
        Rule::optional => "`[A]`",
        Rule::any_order => "`{ A B }`",
        Rule::prefixed | Rule::prefix => "a prefixed pattern such as `if=<path /dev/*>`",
        Rule::chain_rest | Rule::kw_then => "`then allowed`",
        Rule::any_rest => "`...`",
        Rule::typed => "a typed value such as `<int>`",
        Rule::type_name => "a type name",
        Rule::type_arg => "a type argument",
        Rule::type_as => "`as USER`",
        Rule::regex => "`re\"...\"`",
        Rule::string => "a quoted string",
        Rule::rest => "`...`",
        Rule::because => "`because \"reason\"`",
        Rule::because_lints | Rule::lint_name => "a lint's code such as `any-args`",
        Rule::test_allow | Rule::test_deny => "`allow` or `deny`",
        Rule::raw_word => "a command-line word",
        Rule::option_name => "an option name",
        Rule::env_var => "`NAME=PATTERN`",
        Rule::env_name => "a variable name",
        Rule::EOI => "end of line",
        _ => "something else",
    }
}

fn syntax_error(
    file: usize,
    at: usize,
    error: &pest::error::Error<Rule>,
    rest: &str,
) -> Diagnostic {
    use pest::error::ErrorVariant;
    let mut expected: Vec<&str> = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.iter().map(describe).collect(),
        ErrorVariant::CustomError { .. } => Vec::new(),
    };
    expected.retain(|e| *e != "something else");
    expected.sort_unstable();
    expected.dedup();
    let found = rest
        .get(error_offset(error)..)
        .and_then(|s| s.chars().next())
        .map_or("end of line".to_string(), |c| match c {
            '\n' | '\r' => "end of line".to_string(),
            c => format!("`{c}`"),
        });
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", expected.join(" or "))
    };
    let span = Span {
        file,
        start: at,
        end: at + 1,
    };
    let diagnostic = Diagnostic::error(message).at(span, "here");
    match found.as_str() {
        "`(`" | "`)`" | "`|`" | "`<`" | "`>`" | "`[`" | "`]`" | "`{`" | "`}`" => diagnostic.help(
            "to match these characters literally, quote the argument: \"a|b\"",
        ),
        "`\\`" => diagnostic.help("a `\\` continues a statement only at the end of a line; quote arguments that contain it"),
        _ if rest.trim_start().starts_with("action ") => diagnostic.help(
            "an action is `action NAME (PARAM: PATTERN, ...) [as USER]:`, its steps indented below it",
        ),
        _ => diagnostic.help(
            "statements are `allow|deny NAME: COMMAND ARGS...`, `disable NAME because \"WHY\"`, `test allow|deny: ARGV...` or an option such as `exec-dirs /usr/bin`",
        ),
    }
}

fn span_of(file: usize, base: usize, pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span {
        file,
        start: base + s.start(),
        end: base + s.end(),
    }
}

fn spanned(file: usize, base: usize, pair: &Pair<'_, Rule>) -> Spanned<String> {
    Spanned {
        value: pair.as_str().to_string(),
        span: span_of(file, base, pair),
    }
}

/// `(A | B ...)` at the command position: the first alternative and the
/// others. Each is one command: not empty, not itself a group; and a group
/// holds at least two.
fn command_alternatives(
    file: usize,
    base: usize,
    pair: Pair<'_, Rule>,
) -> Result<(Spanned<String>, Vec<Spanned<String>>), Diagnostic> {
    let group = span_of(file, base, &pair);
    let mut commands = Vec::new();
    for alternative in pair.into_inner() {
        let at = span_of(file, base, &alternative);
        match alternative.into_inner().next() {
            None => {
                return Err(Diagnostic::error("an alternative of the command is empty")
                    .at(
                        Span {
                            end: at.start + 1,
                            ..at
                        },
                        "a command is missing here",
                    )
                    .help("write each alternative as a command name or an absolute path: `(iptables-save | ip6tables-save)`"))
            }
            Some(inner) if inner.as_rule() == Rule::commands => {
                return Err(Diagnostic::error("alternatives of the command do not nest")
                    .at(at, "a group inside the group")
                    .help("list every command in one group: `(a | b | c)`"))
            }
            Some(inner) => commands.push(spanned(file, base, &inner)),
        }
    }
    let mut commands = commands.into_iter();
    let Some(first) = commands.next() else {
        return Err(Diagnostic::error("an alternative of the command is empty").at(group, "here"));
    };
    let also: Vec<_> = commands.collect();
    if also.is_empty() {
        return Err(
            Diagnostic::error(format!("a group of one command: `({})`", first.value))
                .at(group, "one alternative")
                .help(format!(
                    "write the command without parentheses: `{}`",
                    first.value
                )),
        );
    }
    Ok((first, also))
}

fn statement_ast(file: usize, base: usize, pair: Pair<'_, Rule>) -> Result<Statement, Diagnostic> {
    let span = span_of(file, base, &pair);
    match pair.as_rule() {
        Rule::rule => rule_ast(file, base, span, pair).map(Statement::Rule),
        Rule::test => test_ast(file, base, span, pair).map(Statement::Test),
        Rule::action => action_ast(file, base, span, pair).map(Statement::Action),
        Rule::disable => {
            let mut name = None;
            let mut reason = None;
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::rule_name => name = Some(spanned(file, base, &part)),
                    Rule::string => reason = Some(word_value(file, base, part)?),
                    _ => {}
                }
            }
            match (name, reason) {
                (Some(name), Some(reason)) => {
                    Ok(Statement::Disable(DisableAst { name, reason, span }))
                }
                _ => Err(Diagnostic::error("a `disable` without a name or a reason").at(span, "")),
            }
        }
        Rule::option => {
            let mut inner = pair.into_inner();
            let name = inner
                .next()
                .map(|p| spanned(file, base, &p))
                .ok_or_else(|| Diagnostic::error("an option without a name").at(span, ""))?;
            let values = inner
                .map(|p| word_value(file, base, p))
                .collect::<Result<_, _>>()?;
            Ok(Statement::Option(OptionAst { name, values, span }))
        }
        _ => Err(Diagnostic::error("unexpected statement").at(span, "")),
    }
}

fn rule_ast(
    file: usize,
    base: usize,
    span: Span,
    pair: Pair<'_, Rule>,
) -> Result<RuleAst, Diagnostic> {
    let mut rule = RuleAst {
        deny: false,
        name: Spanned {
            value: String::new(),
            span,
        },
        via: Vec::new(),
        run_as: None,
        env: Vec::new(),
        command: Spanned {
            value: String::new(),
            span,
        },
        also: Vec::new(),
        sha256: None,
        args: Vec::new(),
        rest: None,
        because: None,
        because_lints: Vec::new(),
        span,
    };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::kw_deny => rule.deny = true,
            Rule::rule_name => rule.name = spanned(file, base, &part),
            Rule::via => rule.via.extend(
                part.into_inner()
                    .filter(|p| p.as_rule() == Rule::rule_name)
                    .map(|name| spanned(file, base, &name)),
            ),
            Rule::run_as => {
                if let Some(account) = part.into_inner().find(|p| p.as_rule() == Rule::account) {
                    rule.run_as = Some(spanned(file, base, &account));
                }
            }
            Rule::env_clause => {
                for var in part.into_inner().filter(|p| p.as_rule() == Rule::env_var) {
                    let mut inner = var.into_inner();
                    let (Some(name), Some(value)) = (inner.next(), inner.next()) else {
                        continue;
                    };
                    rule.env
                        .push((spanned(file, base, &name), item_ast(file, base, value)?));
                }
            }
            Rule::command => rule.command = spanned(file, base, &part),
            Rule::commands => {
                let (first, also) = command_alternatives(file, base, part)?;
                rule.command = first;
                rule.also = also;
            }
            Rule::pin => {
                if let Some(digest) = part.into_inner().find(|p| p.as_rule() == Rule::pin_digest) {
                    rule.sha256 = Some(spanned(file, base, &digest));
                }
            }
            Rule::arg => {
                for inner in part.into_inner() {
                    rule.args.push(item_ast(file, base, inner)?);
                }
            }
            Rule::rest => {
                let span = span_of(file, base, &part);
                let kind = match part.into_inner().next().map(|p| p.as_rule()) {
                    Some(Rule::chain_rest) => RestAst::Chain,
                    _ => RestAst::Any,
                };
                rule.rest = Some(Spanned { value: kind, span });
            }
            Rule::because => {
                for inner in part.into_inner() {
                    match inner.as_rule() {
                        Rule::string => rule.because = Some(word_value(file, base, inner)?),
                        Rule::because_lints => rule
                            .because_lints
                            .extend(inner.into_inner().map(|name| spanned(file, base, &name))),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(rule)
}

fn action_ast(
    file: usize,
    base: usize,
    span: Span,
    pair: Pair<'_, Rule>,
) -> Result<ActionAst, Diagnostic> {
    let mut action = ActionAst {
        name: Spanned {
            value: String::new(),
            span,
        },
        run_as: None,
        params: Vec::new(),
        steps: Vec::new(),
        undo_span: None,
        undo: Vec::new(),
        span,
    };
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::rule_name => action.name = spanned(file, base, &part),
            Rule::run_as => {
                if let Some(account) = part.into_inner().find(|p| p.as_rule() == Rule::account) {
                    action.run_as = Some(spanned(file, base, &account));
                }
            }
            Rule::param => {
                let mut inner = part.into_inner();
                let (Some(name), Some(pattern)) = (inner.next(), inner.next()) else {
                    continue;
                };
                let item = if pattern.as_rule() == Rule::param_literal {
                    ItemAst::Single(Pattern::Literal(spanned(file, base, &pattern)))
                } else {
                    item_ast(file, base, pattern)?
                };
                action.params.push((spanned(file, base, &name), item));
            }
            _ => {}
        }
    }
    Ok(action)
}

fn step_ast(file: usize, base: usize, pair: Pair<'_, Rule>) -> Result<StepAst, Diagnostic> {
    let span = span_of(file, base, &pair);
    let mut inner = pair.into_inner();
    let kind = inner
        .next()
        .map(|p| spanned(file, base, &p))
        .ok_or_else(|| Diagnostic::error("a step without a kind").at(span, ""))?;
    let mut terms = Vec::new();
    for term in inner {
        let term_span = span_of(file, base, &term);
        let mut pieces = Vec::new();
        for piece in term.into_inner() {
            pieces.push(match piece.as_rule() {
                Rule::slash => PieceAst::Slash,
                Rule::string => PieceAst::Quoted(word_value(file, base, piece)?.value),
                _ => PieceAst::Bare(piece.as_str().to_string()),
            });
        }
        terms.push(TermAst {
            pieces,
            span: term_span,
        });
    }
    Ok(StepAst { kind, terms, span })
}

fn item_ast(file: usize, base: usize, pair: Pair<'_, Rule>) -> Result<ItemAst, Diagnostic> {
    let span = span_of(file, base, &pair);
    let items = |pair: Pair<'_, Rule>| -> Result<Vec<ItemAst>, Diagnostic> {
        pair.into_inner().map(|p| item_ast(file, base, p)).collect()
    };
    match pair.as_rule() {
        Rule::group => {
            let alternatives = pair.into_inner().map(&items).collect::<Result<_, _>>()?;
            Ok(ItemAst::Group(alternatives, span))
        }
        Rule::optional => Ok(ItemAst::Optional(items(pair)?, span)),
        Rule::any_order => Ok(ItemAst::AnyOrder(items(pair)?, span)),
        _ => Ok(ItemAst::Single(pattern_ast(file, base, pair)?)),
    }
}

fn pattern_ast(file: usize, base: usize, pair: Pair<'_, Rule>) -> Result<Pattern, Diagnostic> {
    let span = span_of(file, base, &pair);
    match pair.as_rule() {
        Rule::literal | Rule::string => Ok(Pattern::Literal(word_value(file, base, pair)?)),
        Rule::regex => {
            let mut source = None;
            let mut flags = None;
            for part in pair.into_inner() {
                match part.as_rule() {
                    Rule::regex_body => source = Some(spanned(file, base, &part)),
                    Rule::regex_flags => flags = Some(spanned(file, base, &part)),
                    _ => {}
                }
            }
            let source = source.unwrap_or(Spanned {
                value: String::new(),
                span,
            });
            Ok(Pattern::Regex { source, flags })
        }
        Rule::typed => {
            let mut inner = pair.into_inner();
            let name = inner
                .next()
                .map(|p| spanned(file, base, &p))
                .ok_or_else(|| Diagnostic::error("a typed value without a type").at(span, ""))?;
            let mut args = Vec::new();
            let mut user = None;
            for part in inner {
                if part.as_rule() == Rule::type_as {
                    user = part
                        .into_inner()
                        .find(|p| p.as_rule() == Rule::type_arg)
                        .map(|p| spanned(file, base, &p));
                } else {
                    args.push(spanned(file, base, &part));
                }
            }
            Ok(Pattern::Typed {
                name,
                args,
                user,
                span,
            })
        }
        Rule::prefixed => {
            let mut inner = pair.into_inner();
            let (Some(prefix), Some(value)) = (inner.next(), inner.next()) else {
                return Err(Diagnostic::error("a prefixed pattern without its parts").at(span, ""));
            };
            Ok(Pattern::Prefixed {
                prefix: spanned(file, base, &prefix),
                value: Box::new(item_ast(file, base, value)?),
                span,
            })
        }
        _ => Err(Diagnostic::error("unexpected pattern").at(span, "")),
    }
}

fn test_ast(
    file: usize,
    base: usize,
    span: Span,
    pair: Pair<'_, Rule>,
) -> Result<TestAst, Diagnostic> {
    let mut expect = Expect::Deny;
    let mut argv = Vec::new();
    for part in pair.into_inner() {
        match part.as_rule() {
            Rule::test_allow => {
                let name = part
                    .into_inner()
                    .find(|p| p.as_rule() == Rule::rule_name)
                    .map(|p| spanned(file, base, &p));
                expect = Expect::Allow(name);
            }
            Rule::test_deny => expect = Expect::Deny,
            Rule::string | Rule::raw_word => argv.push(word_value(file, base, part)?),
            _ => {}
        }
    }
    Ok(TestAst { expect, argv, span })
}

/// The value of a bare word or a quoted string (escapes resolved).
fn word_value(
    file: usize,
    base: usize,
    pair: Pair<'_, Rule>,
) -> Result<Spanned<String>, Diagnostic> {
    let span = span_of(file, base, &pair);
    if pair.as_rule() != Rule::string {
        return Ok(spanned(file, base, &pair));
    }
    let body = pair.into_inner().next().map_or("", |p| p.as_str());
    let value = unescape(body).map_err(|(offset, message)| {
        let at = span.start + 1 + offset;
        Diagnostic::error(message)
            .at(
                Span {
                    file,
                    start: at,
                    end: at + 2,
                },
                "in this string",
            )
            .help("known escapes: \\\\ \\\" \\n \\t \\r \\u{HEX}")
    })?;
    Ok(Spanned { value, span })
}

/// Resolves string escapes; on error, the byte offset and a message.
pub fn unescape(body: &str) -> Result<String, (usize, String)> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some((_, '\\')) => out.push('\\'),
            Some((_, '"')) => out.push('"'),
            Some((_, 'n')) => out.push('\n'),
            Some((_, 't')) => out.push('\t'),
            Some((_, 'r')) => out.push('\r'),
            Some((_, 'u')) => {
                let rest = &body[i + 2..];
                let close = rest.find('}').filter(|_| rest.starts_with('{'));
                let code = close
                    .and_then(|end| u32::from_str_radix(&rest[1..end], 16).ok())
                    .and_then(char::from_u32);
                match (code, close) {
                    (Some(ch), Some(end)) => {
                        out.push(ch);
                        for _ in 0..=end {
                            chars.next();
                        }
                    }
                    _ => return Err((i, "invalid \\u{...} escape".to_string())),
                }
            }
            Some((_, other)) => return Err((i, format!("unknown escape `\\{other}`"))),
            None => return Err((i, "a string cannot end with `\\`".to_string())),
        }
    }
    Ok(out)
}
