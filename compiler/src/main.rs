//! `rootwrap-compile`: see `rootwrap-compile --help` and the book.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use rootwrap_compile::compile::{check_output, compile_paths_rooted, write_atomically, Settings};
use rootwrap_compile::diag::{Format, Sources};
use rootwrap_compile::explain;
use rootwrap_compile::oslo::{self, ImportOptions};
use rootwrap_compile::review::{self, write_stdout};

#[derive(Parser)]
#[command(
    name = "rootwrap-compile",
    version,
    about = "Compile rootwrap filter files (.rwf) into a ruleset, and explain its decisions",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
// pub(crate): xtask/ includes this file to render the man pages and shell
// completions from these definitions.
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Where to write the ruleset (written atomically, never partially).
    #[arg(short = 'o', long = "output", value_name = "OUT.rwc", required = true)]
    output: Option<PathBuf>,
    /// Filter files, or directories whose *.rwf files are read in name order.
    #[arg(value_name = "INPUT", required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    check: CheckFlags,
}

#[derive(clap::Args)]
struct CheckFlags {
    /// Treat warnings as errors.
    #[arg(long = "deny-warnings")]
    deny_warnings: bool,
    /// Pin every rule's executable to its SHA-256 as found on this host in
    /// the exec dirs (`COMMAND @sha256:HEX`); digests already written must match.
    #[arg(long = "pin-executables")]
    pin_executables: bool,
    /// Record (and show) input files relative to this directory, so that
    /// the ruleset does not depend on where it was built.
    #[arg(long = "source-root", value_name = "DIR")]
    source_root: Option<PathBuf>,
    /// `human` (coloured on a terminal unless NO_COLOR is set), or `json`:
    /// one object per diagnostic on stdout.
    #[arg(long = "message-format", value_name = "FORMAT", default_value = "human",
          value_parser = ["human", "json"])]
    message_format: String,
}

impl CheckFlags {
    fn settings(&self) -> Settings {
        Settings {
            deny_warnings: self.deny_warnings,
            pin_executables: self.pin_executables,
        }
    }
}

#[derive(Subcommand)]
enum Sub {
    /// Check filter files (parse, validate, lint, run policy tests) without writing a ruleset.
    Check {
        #[arg(value_name = "INPUT", required = true)]
        inputs: Vec<PathBuf>,
        #[command(flatten)]
        check: CheckFlags,
    },
    /// Show what the runtime would decide for a command line, and why.
    /// Exit 0 allowed, 99 denied, 96 executable missing, 97 bad ruleset.
    Explain {
        /// Print one JSON object instead of text.
        #[arg(long)]
        json: bool,
        /// A compiled ruleset (any owner: reviewers need not be root).
        ruleset: PathBuf,
        /// The command line, after `--`.
        #[arg(last = true, value_name = "CMD ARGS")]
        argv: Vec<OsString>,
    },
    /// Import an oslo.rootwrap deployment (a rootwrap.conf, or .filters files) as .rwf files.
    /// Exit 0 all imported, 2 some filters refused (output still written), 1 unreadable input
    /// or an output directory it may not write.
    ImportOslo {
        /// Leave out oslo's implicit rule allowing `privsep-helper` with any arguments.
        #[arg(long = "no-privsep-helper")]
        no_privsep_helper: bool,
        /// Write one .rwf per filter file, and 00-ruleset.rwf, into this directory
        /// (created if missing) instead of one combined .rwf on stdout.
        #[arg(short = 'o', long = "output", value_name = "DIR")]
        output: Option<PathBuf>,
        /// Write into a non-empty output directory: files of the same names
        /// are replaced only if an import wrote them; nothing is deleted.
        #[arg(long)]
        force: bool,
        /// A rootwrap.conf, or oslo filter files.
        #[arg(value_name = "INPUT", required = true)]
        inputs: Vec<PathBuf>,
    },
    /// List a ruleset's rules and actions, as `sudo -l` lists commands.
    /// Exit 0 listed, 2 unreadable ruleset (or sudo cannot be asked).
    List {
        /// Only the rules USER can reach through sudo (as root: reads `sudo -l -U USER`).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        /// Print one JSON object (schema `rootwrap-list/1`) instead of text.
        #[arg(long)]
        json: bool,
        /// A compiled ruleset, or filter files (a .rwf file or a directory).
        ruleset: PathBuf,
    },
    /// Summarize a ruleset: name, digest, format, counts. Exit 0, 2 unreadable ruleset.
    Info {
        /// A compiled ruleset, or filter files.
        ruleset: PathBuf,
    },
    /// Compare the privileges of two rulesets, rule by rule.
    /// Exit 0 same or narrower, 1 privileges grew, 2 unreadable input.
    Diff {
        /// Print one JSON object (schema `rootwrap-diff/1`) instead of text.
        #[arg(long)]
        json: bool,
        /// The ruleset before (compiled, or filter files).
        old: PathBuf,
        /// The ruleset after.
        new: PathBuf,
    },
    /// Check allow/deny vectors (`test` lines) against a ruleset.
    /// Exit 0 all passed, 1 some failed, 2 unreadable input.
    Test {
        /// A compiled ruleset, or filter files.
        ruleset: PathBuf,
        /// A file of `test allow [RULE]: ...` and `test deny: ...` lines.
        vectors: PathBuf,
    },
    /// Write one self-contained HTML page for a security review.
    /// Exit 0 written, 2 unreadable input or unwritable output.
    Report {
        /// Include the changes against this older ruleset.
        #[arg(long, value_name = "OLD")]
        against: Option<PathBuf>,
        /// Where to write the page.
        #[arg(short = 'o', long = "output", value_name = "REPORT.html")]
        output: PathBuf,
        /// A compiled ruleset, or filter files.
        ruleset: PathBuf,
    },
}

fn main() -> ExitCode {
    if let Some(message) = unknown_subcommand() {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    match cli.command {
        Some(Sub::Explain {
            json,
            ruleset,
            argv,
        }) => {
            let explanation = explain::explain(&ruleset, &argv);
            if json {
                match serde_json::to_string_pretty(&explanation) {
                    Ok(text) => write_stdout(&format!("{text}\n")),
                    Err(e) => eprintln!("rootwrap-compile: {e}"),
                }
            } else if explanation.exit_code == rootwrap::exit::ExitCode::Allowed {
                write_stdout(&explain::render(&explanation));
            } else {
                eprint!("{}", explain::render(&explanation));
            }
            ExitCode::from(explanation.exit_code.code())
        }
        Some(Sub::Check { inputs, check }) => compile(&inputs, None, &check),
        Some(Sub::ImportOslo {
            no_privsep_helper,
            output,
            force,
            inputs,
        }) => ExitCode::from(import_oslo(
            &inputs,
            output.as_deref(),
            force,
            ImportOptions {
                privsep_helper: !no_privsep_helper,
            },
        )),
        Some(Sub::List {
            user,
            json,
            ruleset,
        }) => ExitCode::from(review::list_command(&ruleset, user.as_deref(), json)),
        Some(Sub::Info { ruleset }) => ExitCode::from(review::info_command(&ruleset)),
        Some(Sub::Diff { old, new, json }) => {
            ExitCode::from(review::diff_command(&old, &new, json))
        }
        Some(Sub::Test { ruleset, vectors }) => {
            ExitCode::from(review::test_command(&ruleset, &vectors))
        }
        Some(Sub::Report {
            against,
            output,
            ruleset,
        }) => ExitCode::from(review::report_command(
            &ruleset,
            against.as_deref(),
            &output,
        )),
        None => compile(&cli.inputs, cli.output.as_deref(), &cli.check),
    }
}

/// A first argument that is neither an option, a subcommand nor an
/// existing file, and has no `/` or `.` of a path: a mistyped subcommand,
/// which clap would take for an input and answer "--output required".
fn unknown_subcommand() -> Option<String> {
    use clap::CommandFactory as _;
    let first = std::env::args_os().nth(1)?.into_string().ok()?;
    if first.starts_with('-') || first.contains(['/', '.']) || Path::new(&first).exists() {
        return None;
    }
    let command = Cli::command();
    let names: Vec<&str> = command
        .get_subcommands()
        .map(|sub| sub.get_name())
        .filter(|name| *name != "help")
        .collect();
    if names.contains(&first.as_str()) || first == "help" {
        return None;
    }
    Some(match rootwrap_compile::diag::did_you_mean(&first, &names) {
        Some(close) => format!("unknown subcommand `{first}`: did you mean `{close}`?"),
        None => format!(
            "`{first}` is neither a subcommand ({}) nor a file: to compile, give `-o OUT.rwc INPUT...`",
            names.join(", ")
        ),
    })
}

/// `rootwrap-compile import-oslo`: imports, writes the combined `.rwf` to
/// stdout or the files into `output`, prints the summary on stderr, and
/// returns the exit code (0 all imported, 2 some refused, 1 unusable input
/// or an output directory it may not write).
fn import_oslo(
    inputs: &[PathBuf],
    output: Option<&Path>,
    force: bool,
    options: ImportOptions,
) -> u8 {
    let import = match oslo::import_paths(inputs, options) {
        Ok(import) => import,
        Err(error) => {
            for message in &error.messages {
                eprintln!("rootwrap-compile: {message}");
            }
            return 1;
        }
    };
    let todo = import.todo();
    let mut outputs = import.outputs();
    outputs.push((oslo::TODO_FILE.to_string(), oslo::Import::todo_file(&todo)));
    match output {
        None => {
            use std::io::Write as _;
            // A closed pipe (`import-oslo ... | head`) is not an error worth a panic.
            let _ = std::io::stdout()
                .lock()
                .write_all(import.combined().as_bytes());
        }
        Some(dir) => {
            let others = match oslo::check_output_dir(dir, &outputs, force) {
                Ok(others) => others,
                Err(why) => {
                    eprintln!("rootwrap-compile: {why}");
                    return 1;
                }
            };
            if !others.is_empty() {
                eprintln!(
                    "import-oslo: left in place, not written by this import (they are compiled with the directory): {}",
                    others.join(", ")
                );
            }
            if let Err(e) = std::fs::create_dir_all(dir) {
                eprintln!("rootwrap-compile: cannot create {}: {e}", dir.display());
                return 1;
            }
            for (name, text) in &outputs {
                let path = dir.join(name);
                if let Err(e) = write_atomically(&path, text.as_bytes()) {
                    eprintln!("rootwrap-compile: cannot write {}: {e}", path.display());
                    return 1;
                }
            }
        }
    }
    eprint!("{}", import.summary());
    eprint!("{todo}");
    if let Some(dir) = output {
        eprintln!(
            "import-oslo: wrote {} file(s) to {} (the to-do list as {}); compile them with `rootwrap-compile -o RULESET.rwc {}`",
            outputs.len(),
            dir.display(),
            oslo::TODO_FILE,
            dir.display()
        );
    }
    import.exit_code()
}

fn compile(inputs: &[PathBuf], output: Option<&Path>, flags: &CheckFlags) -> ExitCode {
    let settings = flags.settings();
    let deny_warnings = settings.deny_warnings;
    let format = Format::choose(flags.message_format == "json");
    // JSON goes to stdout, a line each, for CI annotations.
    let show = |sources: &Sources, d: &rootwrap_compile::Diagnostic| match format {
        Format::Json => write_stdout(&format!("{}\n", sources.render_as(d, format))),
        _ => eprintln!("{}", sources.render_as(d, format)),
    };
    let mut sources = Sources::default();
    if let Some(Err(d)) = output.map(|out| check_output(out, inputs)) {
        show(&sources, &d);
        eprintln!("rootwrap-compile: 1 error(s); no ruleset written");
        return ExitCode::from(1);
    }
    match compile_paths_rooted(inputs, settings, flags.source_root.as_deref(), &mut sources) {
        Err(failed) => {
            let errors = failed
                .diagnostics
                .iter()
                .filter(|d| d.is_error() || (deny_warnings && d.is_warning()))
                .count();
            for d in &failed.diagnostics {
                show(&sources, d);
            }
            eprintln!("rootwrap-compile: {errors} error(s); no ruleset written");
            ExitCode::from(1)
        }
        Ok(compiled) => {
            for d in &compiled.warnings {
                show(&sources, d);
            }
            let overridden = match compiled.tests_overridden {
                0 => String::new(),
                n => format!(" ({n} overridden by a deny or disable)"),
            };
            let summary = format!(
                "{} rules for {} command spellings, {} policy tests passed{overridden}, {} warning(s)",
                compiled.policy.rules.len(),
                compiled.commands,
                compiled.tests_run,
                compiled.warnings.iter().filter(|d| d.is_warning()).count()
            );
            match output {
                None => {
                    eprintln!("rootwrap-compile: ok: {summary}");
                    ExitCode::SUCCESS
                }
                Some(path) => match write_atomically(path, &compiled.bytes) {
                    Ok(()) => {
                        eprintln!(
                            "rootwrap-compile: wrote {} ({} bytes, sha256:{}): {summary}",
                            path.display(),
                            compiled.bytes.len(),
                            compiled.digest
                        );
                        ExitCode::SUCCESS
                    }
                    Err(e) => {
                        eprintln!("rootwrap-compile: cannot write {}: {e}", path.display());
                        ExitCode::from(1)
                    }
                },
            }
        }
    }
}
