//! One command line on both sides, and where they part.

use super::*;

/// The path as the runtime resolves it (symlinks, `..`, a missing tail
/// taken lexically), like oslo's `os.path.realpath`.
pub(super) fn realpath(path: &str) -> String {
    rootwrap::canonical::canonicalize(Path::new(path))
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| path.to_string())
}

pub(super) fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// Where the two sides part.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Verdict {
    Agree,
    /// Both allow with the same rule and user; the argv differs in a
    /// documented way.
    ArgvDiffers(String),
    /// We refuse what oslo allowed (or pick a later rule), for this reason.
    Stricter(String),
    /// We accept another spelling of the same command, and run the same argv.
    SameProgram(String),
    Unexplained(String),
}

pub(super) struct Case<'a> {
    pub(super) subject: &'a Subject,
    pub(super) filters: &'a [Value],
    pub(super) case: &'a Value,
    pub(super) argv: Vec<String>,
}

pub(super) fn os(argv: &[String]) -> Vec<OsString> {
    argv.iter().map(OsString::from).collect()
}

pub(super) fn canonical_decimal(value: &str) -> bool {
    rootwrap::values::int(value.as_bytes()).is_some()
}

impl Case<'_> {
    pub(super) fn verdict(&self) -> Verdict {
        let decided = self
            .subject
            .ruleset
            .decide(&os(&self.argv), &rootwrap::matcher::OnThisHost);
        let ours = match decided {
            Ok(d) => d,
            Err(e) => return Verdict::Unexplained(format!("ruleset error: {e}")),
        };
        let oslo = self.case["decision"].as_str().unwrap_or("");
        match (oslo, &ours) {
            ("allow", Decision::Allow(allowed)) => self.both_allow(allowed),
            ("allow", _) => {
                let index = self.case["filter"].as_u64().unwrap_or(0) as usize;
                match self.why_stricter(index, &self.argv, self.case) {
                    Some(category) => Verdict::Stricter(category),
                    None => Verdict::Unexplained(format!(
                        "oslo allows by `{}`, we refuse: {}",
                        self.filters[index]["name"],
                        self.mismatch_text(index, &self.argv)
                    )),
                }
            }
            (_, Decision::Allow(allowed)) => self.we_allow_more(allowed),
            _ => Verdict::Agree,
        }
    }

    pub(super) fn mismatch_text(&self, index: usize, argv: &[String]) -> String {
        match self.subject.expected_rule(self.filters, index) {
            Some(name) => match self.subject.why_refused(&name, &os(argv)) {
                Some(m) => format!("rule `{name}`: {m}"),
                None => format!("rule `{name}` matches (its executable is missing?)"),
            },
            None => "the filter was not imported".into(),
        }
    }

    pub(super) fn both_allow(&self, allowed: &rootwrap::Allowed) -> Verdict {
        let index = self.case["filter"].as_u64().unwrap_or(0) as usize;
        let expected = self.subject.expected_rule(self.filters, index);
        if expected.as_deref() != Some(allowed.rule.name.as_str()) {
            // oslo's first match is refused by us; a later rule allowed.
            return match self.why_stricter(index, &self.argv, self.case) {
                Some(category) => Verdict::Stricter(format!("{category} (a later rule allows)")),
                None => Verdict::Unexplained(format!(
                    "oslo allows by `{}`, we by `{}`",
                    self.filters[index]["name"], allowed.rule.name
                )),
            };
        }
        if self.case["run_as"].as_str() != Some(allowed.run_as.user_name()) {
            return Verdict::Unexplained(format!(
                "user: oslo {}, ours {}",
                self.case["run_as"],
                allowed.run_as.user_name()
            ));
        }
        let theirs = strings(&self.case["command"]);
        // Pinned paths compare as the paths rootwrap checked.
        let ours: Vec<String> = allowed
            .argv_as_checked()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        match compare_argv(
            &theirs,
            &ours,
            self.case["chain_at"].as_u64().map(|n| n as usize),
        ) {
            Ok(None) => Verdict::Agree,
            Ok(Some(category)) => Verdict::ArgvDiffers(category),
            Err(why) => Verdict::Unexplained(why),
        }
    }

    /// oslo refused (or failed), we allow: only the other spelling of the
    /// same command is tolerated, and only if it runs the very same argv.
    pub(super) fn we_allow_more(&self, allowed: &rootwrap::Allowed) -> Verdict {
        let rule_has_note = self.subject.import.records().any(|r| {
            r.rule_name == allowed.rule.name
                && matches!(&r.outcome, Outcome::Imported(t) if t.notes.iter().any(|n| n.category == Category::Argv0Spelling))
        });
        let alt = &self.case["alt"];
        if rule_has_note && alt["decision"].as_str() == Some("allow") {
            // oslo may pick another filter for the other spelling (`ip`
            // before `ip_usr`): what counts is what runs, and as whom.
            let same_user = alt["run_as"].as_str() == Some(allowed.run_as.user_name());
            let ours: Vec<String> = allowed
                .argv_as_checked()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let theirs = strings(&alt["command"]);
            let same_argv = matches!(compare_argv(&theirs, &ours, None), Ok(None));
            if same_user && same_argv {
                return Verdict::SameProgram("argv0-spelling".into());
            }
        }
        Verdict::Unexplained(format!(
            "oslo says {}, we allow by `{}` running {:?}",
            self.case["decision"], allowed.rule.name, allowed.argv
        ))
    }

    /// Why our translation of oslo's filter `index` refuses `argv`, as one
    /// of the categories the importer wrote down for that filter.
    pub(super) fn why_stricter(
        &self,
        index: usize,
        argv: &[String],
        case: &Value,
    ) -> Option<String> {
        let filter = &self.filters[index];
        if filter["builtin"].as_bool() == Some(true) {
            return self
                .subject
                .import
                .privsep_helper
                .is_none()
                .then(|| "privsep-helper".into());
        }
        let record = self.subject.record(filter["name"].as_str()?)?;
        let translated = match &record.outcome {
            Outcome::Refused(refusal) => return Some(format!("refused:{}", refusal.category)),
            Outcome::Imported(t) => t,
        };
        let has = |category: Category| {
            translated
                .notes
                .iter()
                .any(|n| n.category == category && n.kind == oslo::translate::Kind::Stricter)
        };
        let mismatch = self.subject.why_refused(&record.rule_name, &os(argv))?;
        let pick =
            |candidates: &[Category]| candidates.iter().find(|c| has(**c)).map(|c| c.to_string());
        match &mismatch {
            Mismatch::Arg { value, pattern, .. } => {
                if value.contains('\n') {
                    if let Some(c) = pick(&[Category::RegexNewline]) {
                        return Some(c);
                    }
                }
                if !value.is_ascii() {
                    if let Some(c) = pick(&[Category::UnicodeClass]) {
                        return Some(c);
                    }
                }
                if pattern.starts_with("<path") || pattern.contains("/**") {
                    return pick(&[Category::PathLookahead, Category::PathPrefix]);
                }
                if pattern.starts_with("<netns") {
                    return pick(&[Category::NetnsName]);
                }
                if pattern.starts_with("<pid") {
                    return if canonical_decimal(value) {
                        None
                    } else {
                        pick(&[Category::PidSyntax])
                    };
                }
                pick(&[Category::RegexAlternation])
            }
            Mismatch::IpArgs(why) => {
                if why.contains("batch") || why.contains("force") {
                    pick(&[Category::IpBatch])
                } else if why.contains("vrf") {
                    pick(&[Category::IpVrfExec])
                } else {
                    pick(&[Category::IpNetnsExec])
                }
            }
            Mismatch::ChainDenied { .. } | Mismatch::ChainEmpty => {
                let at = case["chain_at"].as_u64()? as usize;
                let chained = argv.get(at)?;
                if chained.contains('/') {
                    return pick(&[Category::ChainPath]);
                }
                // The chained command line itself: why our leaf refuses it.
                let leaf = case["leaf"].as_u64()? as usize;
                let leaf_argv = &argv[at..];
                self.why_stricter(leaf, leaf_argv, &Value::Null)
                    .map(|c| format!("chain:{c}"))
            }
            Mismatch::Command => pick(&[Category::Argv0Regex]),
            // The runtime's, not the translation's: a path within the
            // scope that cannot be pinned (it does not exist, or a symbolic
            // link lies below the scope's base).
            Mismatch::Path { .. } => Some("pinned-path".into()),
            Mismatch::EnvValue { .. } => pick(&[Category::EnvPinned]),
            _ => None,
        }
    }
}

/// `None` when equal (the executable compared by its real path), the
/// documented difference otherwise.
pub(super) fn compare_argv(
    theirs: &[String],
    ours: &[String],
    chain_at: Option<usize>,
) -> Result<Option<String>, String> {
    if theirs.is_empty() || ours.is_empty() || realpath(&theirs[0]) != realpath(&ours[0]) {
        return Err(format!("executable: oslo {theirs:?}, ours {ours:?}"));
    }
    if theirs[1..] == ours[1..] {
        return Ok(None);
    }
    if let Some(at) = chain_at {
        // We run the chained command with the executable of the rule that
        // allows it; oslo ran the caller's spelling. A leading `env A=1`
        // becomes the command's environment.
        let (t, o) = (&theirs[..at.min(theirs.len())], &ours[..at.min(ours.len())]);
        if t[1..] == o[1..] {
            let t_rest = &theirs[at..];
            let o_rest = &ours[at..];
            let t_cmd: Vec<&String> = t_rest
                .iter()
                .skip_while(|a| a.as_str() == "env")
                .skip_while(|a| a.contains('='))
                .collect();
            let name = |p: &str| p.rsplit('/').next().unwrap_or(p).to_string();
            if !o_rest.is_empty()
                && !t_cmd.is_empty()
                && name(&o_rest[0]) == name(t_cmd[0])
                && o_rest[1..].iter().collect::<Vec<_>>() == t_cmd[1..]
            {
                return Ok(Some("chain-exec".into()));
            }
        }
    }
    if theirs.len() == ours.len()
        && theirs[1..]
            .iter()
            .zip(&ours[1..])
            .all(|(t, o)| t == o || realpath(t) == *o)
    {
        return Ok(Some("path-canonical".into()));
    }
    Err(format!("argv: oslo {theirs:?}, ours {ours:?}"))
}
