//! One filter file, imported and compiled: the rootwrap side.

use super::*;

/// One filter file: the import, the compiled ruleset and its rules.
pub(super) struct Subject {
    pub(super) import: Import,
    pub(super) ruleset: Ruleset<Vec<u8>>,
    /// The compiled bytes, for `rootwrap-compile explain`.
    pub(super) bytes: Vec<u8>,
    pub(super) rules: Vec<Rule>,
}

impl Subject {
    pub(super) fn record(&self, name: &str) -> Option<&FilterRecord> {
        self.import.records().find(|r| r.oslo_name == name)
    }

    /// The rule name oslo's filter `index` became.
    pub(super) fn expected_rule(&self, filters: &[Value], index: usize) -> Option<String> {
        let filter = &filters[index];
        if filter["builtin"].as_bool() == Some(true) {
            return self.import.privsep_helper.clone();
        }
        let record = self.record(filter["name"].as_str()?)?;
        record.is_imported().then(|| record.rule_name.clone())
    }

    pub(super) fn rule(&self, name: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.name == name)
    }

    /// Why rule `name` refuses `argv` (or `None` if it accepts it).
    pub(super) fn why_refused(&self, name: &str, argv: &[OsString]) -> Option<Mismatch> {
        let rule = self.rule(name)?;
        let call = Invocation::parse(argv)?;
        let lookup = |command: &[u8]| self.ruleset.rules_for(command);
        let context = Context::new(
            &self.ruleset.options().exec_dirs,
            &lookup,
            &rootwrap::matcher::OnThisHost,
        );
        match_rule(rule, &call, &context).ok()?.err()
    }
}

pub(super) fn import_with(conf: &str, path: &Path) -> Subject {
    let text = fs::read_to_string(path).unwrap();
    let import = oslo::import_conf_text(
        "differential/rootwrap.conf",
        conf,
        vec![(path.display().to_string(), text)],
        ImportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut sources = Sources::default();
    let compiled = compile_sources(import.outputs(), false, &mut sources).unwrap_or_else(|f| {
        let text: Vec<String> = sources.render_all(&f.diagnostics);
        panic!("{} does not compile:\n{}", path.display(), text.join("\n"))
    });
    let ruleset = Ruleset::from_bytes(&compiled.bytes).unwrap();
    let bytes = compiled.bytes.clone();
    Subject {
        import,
        ruleset,
        bytes,
        rules: compiled.policy.ruleset_rules(),
    }
}
