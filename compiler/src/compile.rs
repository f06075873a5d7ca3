//! The whole compilation: inputs to a verified, tested ruleset.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use rootwrap::format::{hex, write_ruleset_with_actions, Ruleset};
use rootwrap::matcher::resolve_executable;

use crate::diag::{Diagnostic, Sources};
use crate::lower::lower;
use crate::policy::Policy;
use crate::{lint, policy_tests, syntax};

/// A successful compilation.
#[derive(Debug)]
pub struct Compiled {
    pub bytes: Vec<u8>,
    pub policy: Policy,
    pub digest: String,
    pub commands: usize,
    pub warnings: Vec<Diagnostic>,
    pub tests_run: usize,
    /// Allow tests of one file that a deny or disable of another overrides
    /// (reported as notes among `warnings`).
    pub tests_overridden: usize,
}

/// A failed one: every diagnostic (errors and warnings) found.
#[derive(Debug)]
pub struct Failed {
    pub diagnostics: Vec<Diagnostic>,
}

/// The `.rwf` files named by `inputs`: files as given, directories' `*.rwf`
/// entries (not recursive, hidden files skipped) in byte order of their names.
pub fn collect_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut files = Vec::new();
    for input in inputs {
        let meta = fs::metadata(input)
            .map_err(|e| Diagnostic::error(format!("cannot read `{}`: {e}", input.display())))?;
        if !meta.is_dir() {
            files.push(input.clone());
            continue;
        }
        let mut entries: Vec<PathBuf> = fs::read_dir(input)
            .map_err(|e| {
                Diagnostic::error(format!("cannot read directory `{}`: {e}", input.display()))
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| {
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                !name.starts_with('.') && name.ends_with(".rwf") && path.is_file()
            })
            .collect();
        if entries.is_empty() {
            return Err(Diagnostic::error(format!(
                "directory `{}` holds no .rwf files",
                input.display()
            )));
        }
        entries.sort();
        files.extend(entries);
    }
    if files.is_empty() {
        return Err(Diagnostic::error("no input files"));
    }
    Ok(files)
}

/// `file`'s path below `root`, both made absolute without resolving
/// symbolic links (the build tree may be a link farm).
fn relative_to(file: &Path, root: &Path) -> Result<String, Diagnostic> {
    let absolute = |path: &Path| {
        std::path::absolute(path).map_err(|e| {
            Diagnostic::error(format!("cannot make `{}` absolute: {e}", path.display()))
        })
    };
    let (file_abs, root_abs) = (absolute(file)?, absolute(root)?);
    // Lexically: `a/./b` and `a/b` are one path.
    let normal = |path: &Path| -> PathBuf { path.components().collect() };
    match normal(&file_abs).strip_prefix(normal(&root_abs)) {
        Ok(relative) => Ok(relative.display().to_string()),
        Err(_) => Err(Diagnostic::error(format!(
            "input `{}` is not under the source root `{}`",
            file.display(),
            root.display()
        ))
        .help("--source-root names the directory the recorded file names are relative to: give one that holds every input")),
    }
}

/// `-o OUTPUT` must not replace one of the inputs (`-o nova.rwf nova.rwf`
/// would lose the source): compared by device and inode, so other
/// spellings and links to an input count too.
pub fn check_output(output: &Path, inputs: &[PathBuf]) -> Result<(), Diagnostic> {
    use std::os::unix::fs::MetadataExt;
    let Ok(out) = fs::metadata(output) else {
        return Ok(());
    };
    let files = collect_inputs(inputs).unwrap_or_default();
    let same = |input: &&PathBuf| {
        fs::metadata(input).is_ok_and(|m| m.dev() == out.dev() && m.ino() == out.ino())
    };
    match files.iter().find(same) {
        Some(input) => Err(Diagnostic::error(format!(
            "`-o {}` would overwrite the input `{}`",
            output.display(),
            input.display()
        ))
        .help("write the ruleset to its own file, e.g. `-o nova.rwc`")),
        None => Ok(()),
    }
}

/// How to compile, beyond the inputs.
#[derive(Debug, Clone, Copy, Default)]
pub struct Settings {
    /// Warnings count as errors.
    pub deny_warnings: bool,
    /// `--pin-executables`: every rule without `@sha256:` gets the digest of
    /// its executable as found on this host, in the exec dirs; written
    /// digests must match this host's.
    pub pin_executables: bool,
}

/// Reads, parses, lowers, lints, encodes and tests. Warnings count as
/// errors when `deny_warnings` is set.
pub fn compile_paths(
    inputs: &[PathBuf],
    deny_warnings: bool,
    sources: &mut Sources,
) -> Result<Compiled, Failed> {
    let settings = Settings {
        deny_warnings,
        ..Settings::default()
    };
    compile_paths_with(inputs, settings, sources)
}

/// [`compile_paths`] with all the settings.
pub fn compile_paths_with(
    inputs: &[PathBuf],
    settings: Settings,
    sources: &mut Sources,
) -> Result<Compiled, Failed> {
    compile_paths_rooted(inputs, settings, None, sources)
}

/// [`compile_paths_with`], each file named relative to `source_root` when
/// given (`--source-root`): in diagnostics, and in the rules' sources the
/// ruleset records, so that where it was built does not change its bytes.
pub fn compile_paths_rooted(
    inputs: &[PathBuf],
    settings: Settings,
    source_root: Option<&Path>,
    sources: &mut Sources,
) -> Result<Compiled, Failed> {
    let failed = |d: Diagnostic| Failed {
        diagnostics: vec![d],
    };
    let files = collect_inputs(inputs).map_err(failed)?;
    let mut texts = Vec::new();
    for file in &files {
        let name = match source_root {
            Some(root) => relative_to(file, root).map_err(failed)?,
            None => file.display().to_string(),
        };
        match fs::read_to_string(file) {
            Ok(text) => texts.push((name, text)),
            Err(e) => {
                return Err(Failed {
                    diagnostics: vec![Diagnostic::error(format!(
                        "cannot read `{}`: {e}",
                        file.display()
                    ))],
                })
            }
        }
    }
    compile_sources_with(texts, settings, sources)
}

/// Compiles named texts, in the given order.
pub fn compile_sources(
    texts: Vec<(String, String)>,
    deny_warnings: bool,
    sources: &mut Sources,
) -> Result<Compiled, Failed> {
    let settings = Settings {
        deny_warnings,
        ..Settings::default()
    };
    compile_sources_with(texts, settings, sources)
}

/// [`compile_sources`] with all the settings.
pub fn compile_sources_with(
    texts: Vec<(String, String)>,
    settings: Settings,
    sources: &mut Sources,
) -> Result<Compiled, Failed> {
    let deny_warnings = settings.deny_warnings;
    let mut diagnostics = Vec::new();
    let mut parsed = Vec::new();
    let mut oslo_files = false;
    for (name, text) in texts {
        let id = sources.add(name, text);
        if let Some(oslo) = syntax::oslo_file(id, sources.text(id)) {
            diagnostics.push(oslo);
            oslo_files = true;
            continue;
        }
        let (statements, errors) = syntax::parse_file(id, sources.text(id));
        diagnostics.extend(errors);
        parsed.push(statements);
    }
    // Lowering errors (no `ruleset`, ...) would be noise next to an oslo
    // file: it is not a filter file at all.
    if oslo_files {
        return Err(Failed { diagnostics });
    }
    let (mut policy, lowering) = lower(sources, &parsed);
    diagnostics.extend(lowering);
    if settings.pin_executables {
        diagnostics.extend(pin_executables(&mut policy));
    }
    diagnostics.extend(lint::lint(&policy));
    let fails = |d: &Diagnostic| d.is_error() || (deny_warnings && d.is_warning());
    if diagnostics.iter().any(fails) {
        return Err(Failed { diagnostics });
    }
    let bytes = match write_ruleset_with_actions(
        env!("CARGO_PKG_VERSION"),
        &policy.options,
        &policy.ruleset_rules(),
        &policy.actions,
    ) {
        Ok(bytes) => bytes,
        Err(e) => {
            diagnostics.push(Diagnostic::error(e));
            return Err(Failed { diagnostics });
        }
    };
    // Read back through the runtime's own reader: what the tests see is what
    // the runtime will see.
    let ruleset = match Ruleset::from_bytes(&bytes) {
        Ok(ruleset) => ruleset,
        Err(e) => {
            diagnostics.push(Diagnostic::error(format!(
                "internal error: the new ruleset does not verify: {e}"
            )));
            return Err(Failed { diagnostics });
        }
    };
    if let Err(e) = ruleset.verify_all() {
        diagnostics.push(Diagnostic::error(format!(
            "internal error: the new ruleset does not verify: {e}"
        )));
        return Err(Failed { diagnostics });
    }
    let test_results = policy_tests::run_tests(&ruleset, &policy.tests);
    let tests_overridden = test_results.iter().filter(|d| !d.is_error()).count();
    diagnostics.extend(test_results);
    if diagnostics.iter().any(fails) {
        return Err(Failed { diagnostics });
    }
    let commands = ruleset.all_commands().map(|c| c.len()).unwrap_or(0);
    Ok(Compiled {
        digest: ruleset.digest_hex(),
        bytes,
        tests_run: policy.tests.len() - tests_overridden,
        tests_overridden,
        policy,
        commands,
        warnings: diagnostics,
    })
}

/// `--pin-executables`: each rule's executable as this host's exec dirs
/// resolve it, digested (a written digest must agree).
fn pin_executables(policy: &mut Policy) -> Vec<Diagnostic> {
    let mut diagnostics = Vec::new();
    for lowered in &mut policy.rules {
        let rule = &mut lowered.rule;
        let span = lowered.site.command_span;
        let at = |d: Diagnostic| d.at(span, "this command");
        if !rule.also.is_empty() {
            diagnostics.push(at(Diagnostic::error(format!(
                "cannot pin rule `{}`: one digest cannot pin its {} commands",
                rule.name,
                rule.also.len() + 1
            ))
            .help("write one rule per command to pin them")));
            continue;
        }
        let command = rule.command.as_str();
        let Some(path) = resolve_executable(&rule.command, &policy.options.exec_dirs) else {
            diagnostics.push(at(Diagnostic::error(format!(
                "cannot pin `{command}` (rule `{}`): no such executable on this host",
                rule.name
            ))
            .help("--pin-executables digests each rule's executable as this host's exec dirs resolve it: compile on a host with the commands installed")));
            continue;
        };
        let found = match rootwrap::binary::digest_of(&path) {
            Ok(found) => found,
            Err(e) => {
                diagnostics.push(at(Diagnostic::error(format!(
                    "cannot pin `{command}` (rule `{}`): cannot read {}: {e}",
                    rule.name,
                    path.display()
                ))));
                continue;
            }
        };
        match rule.sha256 {
            Some(written) if written != found => diagnostics.push(at(Diagnostic::error(format!(
                "rule `{}` pins `{command}` to sha256:{}, but {} on this host is sha256:{}",
                rule.name,
                hex(&written),
                path.display(),
                hex(&found)
            ))
            .help("the runtime would refuse this rule on a host like this one: update the digest, or remove it to have it filled in"))),
            _ => rule.sha256 = Some(found),
        }
    }
    diagnostics
}

/// Writes `bytes` to `path` atomically: a temporary file in the same
/// directory, synced, then renamed over `path`. Never a partial file.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    result
}
