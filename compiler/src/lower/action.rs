//! Actions: `action NAME (PARAM: PATTERN, ...) [as USER]:` and its steps.
//! The parameters lower to the arguments of a rule for the command
//! `@NAME`, matched by the runtime's matcher like any rule's; the steps to
//! `rootwrap::action::Op`s that name parameters by position.

use rootwrap::action::model::{DEFAULT_MAX, MAX_CONTENT, MAX_STEPS};
use rootwrap::action::{Action, Attrs, Content, Op, Piece, Step, Target, Text, WriteHow};
use rootwrap::types::{Arg, Command, Item, Pin, Rest, Rule, Source};
use rootwrap::values;

use super::Lowering;
use crate::diag::{Diagnostic, Reported, Span};
use crate::policy::{LoweredRule, RuleSite};
use crate::syntax::{ActionAst, PieceAst, StepAst, TermAst};

/// The parameters of the action being lowered: names and patterns.
struct Params<'a> {
    names: Vec<&'a str>,
    args: Vec<Arg>,
}

impl Params<'_> {
    fn find(&self, name: &str) -> Option<u16> {
        self.names
            .iter()
            .position(|n| *n == name)
            .and_then(|i| u16::try_from(i).ok())
    }
}

impl Lowering<'_> {
    /// The action's rule (with its site) and its steps.
    pub(super) fn action(
        &mut self,
        ast: &ActionAst,
        earlier: &[LoweredRule],
    ) -> Result<(LoweredRule, Action), Reported> {
        let mut failed: Option<Reported> = None;
        let name = &ast.name;
        if let Some(&first) = self.rule_names.get(&name.value) {
            failed = Some(self.defined_twice(name, earlier.get(first)));
        }
        let run_as = self.run_as(ast.run_as.as_ref(), &mut failed);
        let mut params = Params {
            names: Vec::new(),
            args: Vec::new(),
        };
        for (param, pattern) in &ast.params {
            if params.find(&param.value).is_some() {
                failed = Some(
                    self.error(
                        Diagnostic::error(format!("parameter `{}` is declared twice", param.value))
                            .at(param.span, "again"),
                    ),
                );
            }
            match self.item(pattern) {
                Ok(Item::One(arg)) => {
                    if let Arg::Path {
                        pin: Pin::Unpinned, ..
                    } = arg
                    {
                        failed = Some(self.error(
                            Diagnostic::error("an action's path parameter is always pinned")
                                .at(pattern.span(), "`<path-unpinned>` here")
                                .help("write `<path ...>` for an existing object, `<path-entry ...>` for a name a step creates or removes"),
                        ));
                    }
                    params.names.push(&param.value);
                    params.args.push(arg);
                }
                Ok(_) => {
                    failed = Some(self.error(
                        Diagnostic::error(format!("parameter `{}` must be one argument", param.value))
                            .at(pattern.span(), "more than one argument")
                            .help("write a single pattern or alternatives of single patterns: `(a | <int>)`"),
                    ));
                    params.names.push(&param.value);
                    params.args.push(Arg::Any);
                }
                Err(reported) => {
                    failed = Some(reported);
                    params.names.push(&param.value);
                    params.args.push(Arg::Any);
                }
            }
        }
        if ast.steps.is_empty() {
            failed = Some(
                self.error(
                    Diagnostic::error(format!("action `{}` has no steps", name.value))
                        .at(name.span, "here")
                        .help("write its steps below it, indented: `    mkdir dir mode 0750`"),
                ),
            );
        }
        for (list, what) in [(&ast.steps, "steps"), (&ast.undo, "undo steps")] {
            if list.len() > MAX_STEPS {
                failed = Some(
                    self.error(
                        Diagnostic::error(format!("an action has at most {MAX_STEPS} {what}"))
                            .at(name.span, "here"),
                    ),
                );
            }
        }
        let mut stdin_used: Option<Span> = None;
        let mut steps = Vec::new();
        let mut undo = Vec::new();
        for (list, out) in [(&ast.steps, &mut steps), (&ast.undo, &mut undo)] {
            for step in list {
                match self.step(step, &params, &mut stdin_used) {
                    Ok(op) => {
                        let (line, _) = self.sources.line_col(step.span.file, step.span.start);
                        out.push(Step {
                            line: line as u32,
                            op,
                        });
                    }
                    Err(reported) => failed = Some(reported),
                }
            }
        }
        if let Some(reported) = failed {
            return Err(reported);
        }
        let (line, _) = self.sources.line_col(ast.span.file, ast.span.start);
        let rule = Rule {
            id: earlier.len() as u32,
            name: name.value.clone(),
            source: Source {
                file: self.sources.name(ast.span.file).to_string(),
                line: line as u32,
            },
            command: Command::Name(spelling(&name.value)),
            also: Vec::new(),
            sha256: None,
            run_as,
            env: Vec::new(),
            args: params.args.iter().cloned().map(Item::One).collect(),
            rest: Rest::Exact,
            via: Vec::new(),
            effect: rootwrap::types::Effect::Allow,
        };
        let site = RuleSite {
            span: name.span,
            because: None,
            because_lints: Vec::new(),
            rest: None,
            command_span: name.span,
            arg_spans: ast.params.iter().map(|(_, p)| p.span()).collect(),
            env_spans: Vec::new(),
            via_spans: Vec::new(),
            comment: String::new(),
        };
        let action = Action {
            params: params.names.iter().map(|n| n.to_string()).collect(),
            steps,
            undo,
        };
        Ok((LoweredRule { rule, site }, action))
    }

    fn step(
        &mut self,
        step: &StepAst,
        params: &Params<'_>,
        stdin_used: &mut Option<Span>,
    ) -> Result<Op, Reported> {
        let kind = step.kind.value.as_str();
        let terms = &step.terms;
        let mut words = Words { terms, at: 0, step };
        let op = match kind {
            "write" => {
                let word = words.next(self, "the file")?;
                let target = self.target(word, params)?;
                let mut content = None;
                let mut max = None;
                let mut how = None;
                let mut attrs = Attrs::default();
                while let Some(term) = words.peek() {
                    words.at += 1;
                    match keyword(term) {
                        Some("from") => {
                            let from = words.next(self, "`stdin` or a value")?;
                            content = Some(if keyword(from) == Some("stdin") {
                                if let Some(first) = stdin_used.replace(from.span) {
                                    return Err(self.error(
                                        Diagnostic::error("standard input is read by one step only")
                                            .at(from.span, "again")
                                            .note(Some(first), "read here first"),
                                    ));
                                }
                                Content::Stdin
                            } else {
                                Content::Text(self.text(from, params))
                            });
                        }
                        Some("max") => {
                            let word = words.next(self, "a size")?;
                            max = Some(self.size(word)?);
                        }
                        Some("create") => how = Some(WriteHow::Create),
                        Some("replace") => how = Some(WriteHow::Replace),
                        Some("append") => how = Some(WriteHow::Append),
                        Some("mode" | "owner") => self.attr(term, &mut words, params, &mut attrs)?,
                        _ => return Err(self.unexpected(term, "`from`, `max`, `create`, `replace`, `append`, `mode` or `owner`")),
                    }
                }
                let Some(content) = content else {
                    return Err(self.missing(step, "`from stdin` or `from VALUE`"));
                };
                let Some(how) = how else {
                    return Err(self.missing(step, "`create`, `replace` or `append`"));
                };
                if how == WriteHow::Append && attrs != Attrs::default() {
                    return Err(self.error(
                        Diagnostic::error("`append` keeps the file's mode and owner")
                            .at(step.span, "here")
                            .help("set them where the file is created"),
                    ));
                }
                Op::Write {
                    target,
                    content,
                    max: max.unwrap_or(DEFAULT_MAX),
                    how,
                    attrs,
                }
            }
            "read" => {
                let word = words.next(self, "the file")?;
                let target = self.target(word, params)?;
                let mut max = DEFAULT_MAX;
                while let Some(term) = words.peek() {
                    words.at += 1;
                    match keyword(term) {
                        Some("max") => {
                            let word = words.next(self, "a size")?;
                            max = self.size(word)?;
                        }
                        _ => return Err(self.unexpected(term, "`max SIZE`")),
                    }
                }
                Op::Read { target, max }
            }
            "mkdir" => {
                let word = words.next(self, "the directory")?;
                let target = self.target(word, params)?;
                let mut parents = false;
                let mut attrs = Attrs::default();
                while let Some(term) = words.peek() {
                    words.at += 1;
                    match keyword(term) {
                        Some("parents") => parents = true,
                        Some("mode" | "owner") => self.attr(term, &mut words, params, &mut attrs)?,
                        _ => return Err(self.unexpected(term, "`parents`, `mode` or `owner`")),
                    }
                }
                Op::Mkdir {
                    target,
                    parents,
                    attrs,
                }
            }
            "chmod" => {
                let word = words.next(self, "the path")?;
                let target = self.target(word, params)?;
                let word = words.next(self, "a mode")?;
                let mode = self.step_mode(word, params)?;
                words.end(self)?;
                Op::Chmod { target, mode }
            }
            "chown" => {
                let word = words.next(self, "the path")?;
                let target = self.target(word, params)?;
                let word = words.next(self, "an owner")?;
                let owner = self.step_owner(word, params)?;
                words.end(self)?;
                Op::Chown { target, owner }
            }
            "symlink" => {
                let word = words.next(self, "the link")?;
                let link = self.target(word, params)?;
                words.keyword(self, "to")?;
                let word = words.next(self, "the link's target text")?;
                let to = self.text(word, params);
                words.end(self)?;
                Op::Symlink { link, to }
            }
            "unlink" | "rmdir" => {
                let word = words.next(self, "the path")?;
                let target = self.target(word, params)?;
                words.end(self)?;
                if kind == "unlink" {
                    Op::Unlink { target }
                } else {
                    Op::Rmdir { target }
                }
            }
            "rename" => {
                let from_term = words.next(self, "the path")?;
                let from = self.target(from_term, params)?;
                words.keyword(self, "to")?;
                let to_term = words.next(self, "the new path")?;
                let to = self.target(to_term, params)?;
                words.end(self)?;
                let scopes = |t: &Target| match params.args.get(usize::from(t.param)) {
                    Some(Arg::Path { scopes, .. }) => Some(scopes.clone()),
                    _ => None,
                };
                if scopes(&from) != scopes(&to) {
                    return Err(self.error(
                        Diagnostic::error("`rename` stays within one tree")
                            .at(to_term.span, "a parameter with other scopes than the first")
                            .help("give both parameters the same path pattern"),
                    ));
                }
                Op::Rename { from, to }
            }
            "kill" => {
                let pid_term = words.next(self, "a `<pid ...>` parameter")?;
                let pid = match self.whole_param(pid_term, params) {
                    Some(i) if matches!(params.args.get(usize::from(i)), Some(Arg::Pid(_))) => i,
                    _ => {
                        return Err(self.error(
                            Diagnostic::error("`kill` signals the process a `<pid ...>` parameter names")
                                .at(pid_term.span, "not such a parameter")
                                .help("declare it as `pid: <pid /usr/sbin/dnsmasq>`"),
                        ))
                    }
                };
                let word = words.next(self, "a signal")?;
                let signal = self.text(word, params);
                words.end(self)?;
                if let Some(literal) = literal_of(&signal) {
                    if values::signal(literal.as_bytes()).is_none() {
                        return Err(self.error(
                            Diagnostic::error(format!("`{literal}` is not a signal"))
                                .at(step.span, "here"),
                        ));
                    }
                }
                Op::Kill { pid, signal }
            }
            "sysctl" => {
                let word = words.next(self, "a key such as `net.ipv4.ip_forward`")?;
                let key = self.text(word, params);
                let word = words.next(self, "a value")?;
                let value = self.text(word, params);
                words.end(self)?;
                Op::Sysctl { key, value }
            }
            "run" => {
                let command = words.next(self, "a command")?;
                let mut argv = vec![self.text(command, params)];
                if literal_of(&argv[0]).is_none() {
                    return Err(self.error(
                        Diagnostic::error("a `run` step's command is written out")
                            .at(command.span, "a parameter here")
                            .help("the arguments may come from parameters; the command may not"),
                    ));
                }
                while let Some(term) = words.peek() {
                    words.at += 1;
                    argv.push(self.text(term, params));
                }
                Op::Run { argv }
            }
            other => {
                return Err(self.error(
                    Diagnostic::error(format!("unknown step `{other}`"))
                        .at(step.kind.span, "here")
                        .help("steps: write, read, mkdir, chmod, chown, symlink, unlink, rmdir, rename, kill, sysctl, run"),
                ))
            }
        };
        Ok(op)
    }

    /// `mode TEXT` or `owner TEXT` after a step's target.
    fn attr(
        &mut self,
        term: &TermAst,
        words: &mut Words<'_>,
        params: &Params<'_>,
        attrs: &mut Attrs,
    ) -> Result<(), Reported> {
        if keyword(term) == Some("mode") {
            let word = words.next(self, "a mode")?;
            attrs.mode = Some(self.step_mode(word, params)?);
        } else {
            let word = words.next(self, "an owner")?;
            attrs.owner = Some(self.step_owner(word, params)?);
        }
        Ok(())
    }

    fn step_mode(&mut self, term: &TermAst, params: &Params<'_>) -> Result<Text, Reported> {
        let text = self.text(term, params);
        if let Some(literal) = literal_of(&text) {
            if values::mode(literal.as_bytes()).is_none() {
                return Err(self.error(
                    Diagnostic::error(format!("`{literal}` is not an octal mode"))
                        .at(term.span, "here")
                        .help("write 3 or 4 octal digits: `0640`"),
                ));
            }
        }
        Ok(text)
    }

    fn step_owner(&mut self, term: &TermAst, params: &Params<'_>) -> Result<Text, Reported> {
        let text = self.text(term, params);
        if let Some(literal) = literal_of(&text) {
            if !values::is_owner(literal.as_bytes()) {
                return Err(self.error(
                    Diagnostic::error(format!("`{literal}` is not an owner"))
                        .at(term.span, "here")
                        .help("write `USER`, `USER:GROUP` or `:GROUP`"),
                ));
            }
        }
        Ok(text)
    }

    /// `64KiB`, `1MiB`, `4096`.
    fn size(&mut self, term: &TermAst) -> Result<u64, Reported> {
        let text = match term.pieces.as_slice() {
            [PieceAst::Bare(s)] => s.as_str(),
            _ => "",
        };
        let (digits, unit) = text.split_at(
            text.find(|c: char| !c.is_ascii_digit())
                .unwrap_or(text.len()),
        );
        let factor = match unit {
            "" | "B" => Some(1),
            "KiB" => Some(1 << 10),
            "MiB" => Some(1 << 20),
            _ => None,
        };
        let size = factor
            .zip(digits.parse::<u64>().ok())
            .and_then(|(f, n)| n.checked_mul(f));
        match size {
            Some(size) if size <= MAX_CONTENT => Ok(size),
            _ => Err(self.error(
                Diagnostic::error(format!("`{text}` is not a size up to {MAX_CONTENT} bytes"))
                    .at(term.span, "here")
                    .help("write bytes, `KiB` or `MiB`: `64KiB`"),
            )),
        }
    }

    /// A parameter's name alone.
    fn whole_param(&self, term: &TermAst, params: &Params<'_>) -> Option<u16> {
        match term.pieces.as_slice() {
            [PieceAst::Bare(name)] => params.find(name),
            _ => None,
        }
    }

    /// Text from pieces: bare runs that name a parameter are its value.
    fn text(&self, term: &TermAst, params: &Params<'_>) -> Text {
        let mut pieces: Vec<Piece> = Vec::new();
        for piece in &term.pieces {
            let next = match piece {
                PieceAst::Bare(s) => match params.find(s) {
                    Some(i) => Piece::Param(i),
                    None => Piece::Literal(s.clone()),
                },
                PieceAst::Quoted(s) => Piece::Literal(s.clone()),
                PieceAst::Slash => Piece::Literal("/".into()),
            };
            match (pieces.last_mut(), next) {
                (Some(Piece::Literal(before)), Piece::Literal(more)) => before.push_str(&more),
                (_, next) => pieces.push(next),
            }
        }
        Text(pieces)
    }

    /// `PARAM` or `PARAM/NAME/"NAME"...`: a path parameter, then literal
    /// names below it.
    fn target(&mut self, term: &TermAst, params: &Params<'_>) -> Result<Target, Reported> {
        let bad = |this: &mut Self, label: &str| {
            Err(this.error(
                Diagnostic::error("a step's path is a path parameter, then names below it")
                    .at(term.span, label.to_string())
                    .help("write `dir` or `dir/\"name\"`, `dir` a `<path ...>` or `<path-entry ...>` parameter"),
            ))
        };
        let mut pieces = term.pieces.iter();
        let param = match pieces.next() {
            Some(PieceAst::Bare(name)) => params.find(name),
            _ => None,
        };
        let Some(param) = param else {
            return bad(self, "not a parameter");
        };
        if !matches!(params.args.get(usize::from(param)), Some(Arg::Path { .. })) {
            return bad(self, "not a path parameter");
        }
        let mut below: Vec<String> = Vec::new();
        let mut after_slash = false;
        for piece in pieces {
            match piece {
                PieceAst::Slash if after_slash => return bad(self, "an empty name"),
                PieceAst::Slash => {
                    after_slash = true;
                    below.push(String::new());
                }
                PieceAst::Bare(s) | PieceAst::Quoted(s) => {
                    if matches!(piece, PieceAst::Bare(_)) && params.find(s).is_some() {
                        return bad(self, "names below a path are literal: quote it");
                    }
                    let Some(last) = below.last_mut() else {
                        return bad(self, "a `/` must separate names");
                    };
                    last.push_str(s);
                    after_slash = false;
                }
            }
        }
        if after_slash {
            return bad(self, "ends with `/`");
        }
        if below
            .iter()
            .any(|n| n == "." || n == ".." || n.contains('/') || n.contains('\0'))
        {
            return bad(self, "`.` and `..` are not names");
        }
        Ok(Target { param, below })
    }

    fn unexpected(&mut self, term: &TermAst, expected: &str) -> Reported {
        self.error(Diagnostic::error(format!("expected {expected}")).at(term.span, "unexpected"))
    }

    fn missing(&mut self, step: &StepAst, what: &str) -> Reported {
        self.error(
            Diagnostic::error(format!("`{}` needs {what}", step.kind.value)).at(step.span, "here"),
        )
    }
}

/// A step's words, read left to right.
struct Words<'a> {
    terms: &'a [TermAst],
    at: usize,
    step: &'a StepAst,
}

impl<'a> Words<'a> {
    fn peek(&self) -> Option<&'a TermAst> {
        self.terms.get(self.at)
    }

    fn next(&mut self, lowering: &mut Lowering<'_>, what: &str) -> Result<&'a TermAst, Reported> {
        let term = self
            .peek()
            .ok_or_else(|| lowering.missing(self.step, what))?;
        self.at += 1;
        Ok(term)
    }

    fn keyword(&mut self, lowering: &mut Lowering<'_>, word: &str) -> Result<(), Reported> {
        let term = self.next(lowering, &format!("`{word}`"))?;
        if keyword(term) != Some(word) {
            return Err(lowering.unexpected(term, &format!("`{word}`")));
        }
        Ok(())
    }

    fn end(&self, lowering: &mut Lowering<'_>) -> Result<(), Reported> {
        match self.peek() {
            Some(term) => Err(lowering.unexpected(term, "the end of the step")),
            None => Ok(()),
        }
    }
}

fn keyword(term: &TermAst) -> Option<&str> {
    match term.pieces.as_slice() {
        [PieceAst::Bare(s)] => Some(s),
        _ => None,
    }
}

/// The text when no parameter is in it.
fn literal_of(text: &Text) -> Option<String> {
    match text.0.as_slice() {
        [] => Some(String::new()),
        [Piece::Literal(s)] => Some(s.clone()),
        _ => None,
    }
}

/// An action's spelling on the command line: `@NAME`.
pub fn spelling(name: &str) -> String {
    format!("@{name}")
}
