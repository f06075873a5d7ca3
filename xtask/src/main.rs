//! `rootwrap-xtask share DIR`: writes the man pages and shell completions
//! `make install` installs, as the tree they take under `PREFIX/share`:
//!
//! - `man/man1`, `man/man5`, `man/man8`: rootwrap(8), rootwrap-daemon(8),
//!   rootwrap-client(1), rootwrap-compile(1) and one page per subcommand
//!   (rootwrap-compile-check(1), ...), rootwrap.rwf(5);
//! - `bash-completion/completions/NAME`, `zsh/site-functions/_NAME`,
//!   `fish/vendor_completions.d/NAME.fish` for each binary.
//!
//! rootwrap-compile's pages come from its own clap definitions (its
//! main.rs, included below). The runtime's binaries take their arguments
//! verbatim and have no parser: their clap commands here only describe
//! them. Output depends on nothing but the sources (no dates), so two
//! builds write the same bytes.

use std::error::Error;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command, CommandFactory as _, ValueHint};
use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

use rootwrap::exit::ExitCode as Exit;

/// rootwrap-compile's command line, from the file that defines it, so that
/// the pages cannot drift from `--help`. Only `Cli` is used here.
#[path = "../../compiler/src/main.rs"]
#[allow(dead_code, reason = "the binary's main and helpers are unused here")]
mod compile_cli;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const SOURCE: &str = concat!("rootwrap ", env!("CARGO_PKG_VERSION"));
const GRAMMAR: &str = include_str!("../../grammar/rwf.pest");

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, dir] = args.as_slice() else {
        eprintln!("usage: rootwrap-xtask share DIR");
        return ExitCode::from(2);
    };
    if command != "share" {
        eprintln!("rootwrap-xtask: unknown command {command:?} (usage: rootwrap-xtask share DIR)");
        return ExitCode::from(2);
    }
    match share(Path::new(dir)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rootwrap-xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn share(dir: &Path) -> Result<()> {
    // `help` is a subcommand of the parser, not a page.
    let compile = compile_cli::Cli::command().disable_help_subcommand(true);
    let commands = [
        (rootwrap(), "8"),
        (compile.clone(), "1"),
        (daemon(), "8"),
        (client(), "1"),
    ];
    for (command, section) in &commands {
        let name = command.get_name();
        write_page(dir, command.clone(), section, &extra_sections(name, name))?;
    }
    // One page per subcommand: rootwrap-compile-check(1), ...
    let mut built = compile.clone();
    built.build();
    for sub in built.get_subcommands() {
        let name = format!("{}-{}", built.get_name(), sub.get_name());
        let bin_name = format!("{} {}", built.get_name(), sub.get_name());
        // Without clap's `string` feature a name is `&'static str`; this
        // process ends right after.
        let name: &'static str = Box::leak(name.into_boxed_str());
        let page = sub.clone().name(name).bin_name(bin_name);
        write_page(
            dir,
            page,
            "1",
            &extra_sections(name, "rootwrap-compile-SUB"),
        )?;
    }
    write(
        &dir.join("man/man5/rootwrap.rwf.5"),
        language_page().as_bytes(),
    )?;
    for (command, _) in commands {
        // Completions do offer `help`.
        let mut command = command.disable_help_subcommand(false);
        let name = command.get_name().to_owned();
        for (shell, path) in [
            (Shell::Bash, format!("bash-completion/completions/{name}")),
            (Shell::Zsh, format!("zsh/site-functions/_{name}")),
            (
                Shell::Fish,
                format!("fish/vendor_completions.d/{name}.fish"),
            ),
        ] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, &name, &mut script);
            // fish has nothing to say about positional arguments alone.
            if !script.is_empty() {
                write(&dir.join(path), &script)?;
            }
        }
    }
    Ok(())
}

/// Renders one page: clap_mangen's sections, then `extra` before VERSION.
fn write_page(dir: &Path, command: Command, section: &str, extra: &Roff) -> Result<()> {
    let name = command.get_name().to_owned();
    let man = Man::new(command)
        .section(section)
        .source(SOURCE)
        .manual("rootwrap");
    let mut page = Vec::new();
    man.render(&mut page)?;
    let page = String::from_utf8(page)?;
    let extra = extra.to_roff();
    let page = match page.find("\n.SH VERSION") {
        Some(at) => format!("{}\n{extra}{}", &page[..at], &page[at + 1..]),
        None => format!("{page}{extra}"),
    };
    let path: PathBuf = dir.join(format!("man/man{section}/{name}.{section}"));
    write(&path, page.as_bytes())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)?;
    }
    let mut file = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    file.write_all(bytes)?;
    Ok(())
}

/// `rootwrap RULESET CMD ARGS...` and `rootwrap --version`, described (the
/// runtime reads its arguments verbatim).
fn rootwrap() -> Command {
    Command::new("rootwrap")
        .version(VERSION)
        .disable_version_flag(true)
        .disable_help_flag(true)
        .about("run one command as root if a compiled ruleset allows it")
        .long_about(
            "A service runs `sudo rootwrap RULESET CMD ARGS...`. rootwrap checks that the \
             ruleset is root's and intact, matches the command line against its rules, \
             writes an audit record and executes the command as the rule's target user \
             with a clean environment, or refuses the call with an exit status and one \
             line on stderr. Its arguments are taken verbatim: there are no options, \
             except --version as the only argument. Rulesets are compiled ahead of time \
             by rootwrap-compile(1) from filter files, rootwrap.rwf(5); no parser runs \
             in rootwrap.",
        )
        .arg(
            Arg::new("version")
                .long("version")
                .action(ArgAction::SetTrue)
                .exclusive(true)
                .help("Print the version and the ruleset format this binary reads, then exit (only as the sole argument)"),
        )
        .arg(
            Arg::new("RULESET")
                .required(true)
                .value_hint(ValueHint::FilePath)
                .help("The compiled ruleset (.rwc): an absolute, canonical path, root-owned and not writable by group or others"),
        )
        .arg(
            Arg::new("CMD")
                .value_name("CMD [ARGS]...")
                .required(true)
                .num_args(1..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .value_hint(ValueHint::CommandWithArguments)
                .help("The command line to run, as the service wrote it"),
        )
}

/// `rootwrap-daemon RULESET`, described.
fn daemon() -> Command {
    Command::new("rootwrap-daemon")
        .version(VERSION)
        .disable_version_flag(true)
        .disable_help_flag(true)
        .about("serve rootwrap calls for one service over a Unix socket")
        .long_about(
            "Started once through sudo or by systemd socket activation, rootwrap-daemon \
             loads and verifies the ruleset, prints the path of its socket and serves each \
             request exactly as rootwrap(8) would decide, check, record and run it. It \
             takes exactly one argument; anything more is refused with exit 98.",
        )
        .arg(
            Arg::new("RULESET")
                .required(true)
                .value_hint(ValueHint::FilePath)
                .help("The compiled ruleset (.rwc), as for rootwrap(8); it must declare the users it serves (`daemon users=...`)"),
        )
}

/// `rootwrap-client SOCKET CMD ARGS...`, described.
fn client() -> Command {
    Command::new("rootwrap-client")
        .version(VERSION)
        .disable_version_flag(true)
        .disable_help_flag(true)
        .about("run one command through a rootwrap-daemon")
        .long_about(
            "Sends one command line, and stdin when it is not a terminal, to the \
             rootwrap-daemon(8) listening on SOCKET, and passes the command's stdout, \
             stderr and exit status through.",
        )
        .arg(
            Arg::new("SOCKET")
                .required(true)
                .value_hint(ValueHint::FilePath)
                .help("The daemon's socket"),
        )
        .arg(
            Arg::new("CMD")
                .required(true)
                .num_args(1..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .value_name("CMD [ARGS]...")
                .value_hint(ValueHint::CommandWithArguments)
                .help("The command line to run"),
        )
}

/// What each exit status of rootwrap means (the book's table has the
/// messages). A match, so that a new status cannot be left out.
fn meaning(exit: Exit) -> &'static str {
    match exit {
        Exit::Allowed => "the command ran and exited 0, or an action ran all its steps; when the command runs, its own exit status is rootwrap's",
        Exit::StepFailed => "an action was allowed and one of its built-in steps failed (its undo steps ran)",
        Exit::NotFound => "a rule matched, but its executable does not exist on this host",
        Exit::BadRuleset => "the ruleset cannot be opened, is not trusted or is damaged, or a declared audit log cannot be written and the ruleset says on-log-failure refuse",
        Exit::NoCommand => "no ruleset argument, or no command after it",
        Exit::Unauthorized => "no rule allows this command line, or an unpinned path argument lies below a directory others can change",
        Exit::ExecFailed => "allowed, but the executable was refused or could not be run; nothing was executed",
    }
}

/// EXIT STATUS, FILES and SEE ALSO of the page `name`, by what it
/// documents (`kind`: a binary, or `rootwrap-compile-SUB`).
fn extra_sections(name: &str, kind: &str) -> Roff {
    let mut roff = Roff::new();
    match kind {
        "rootwrap" => {
            roff.control("SH", ["EXIT STATUS"]);
            let mut exits = Exit::ALL;
            exits.sort_by_key(|exit| exit.code());
            for exit in exits {
                roff.control("TP", []);
                roff.text([bold(exit.code().to_string())]);
                roff.text([roman(meaning(exit))]);
            }
            roff.control("TP", []);
            roff.text([bold("0 (--version)")]);
            roff.text([roman(
                "the version was printed; 1 if stdout could not be written",
            )]);
        }
        "rootwrap-daemon" => {
            roff.control("SH", ["EXIT STATUS"]);
            roff.text([roman(
                "0 after SIGTERM, SIGINT or SIGHUP; 97 and 98 as for rootwrap(8) \
                 (ruleset, arguments); 1 if the daemon could not set itself up.",
            )]);
            roff.control("SH", ["FILES"]);
            roff.text([roman(
                "/run/rootwrap/ID/rootwrap.sock, unless started by systemd socket activation; \
                 the units rootwrap-daemon@.socket and rootwrap-daemon@.service.",
            )]);
        }
        "rootwrap-client" => {
            roff.control("SH", ["EXIT STATUS"]);
            roff.text([roman(
                "The command's own, or rootwrap's as rootwrap(8) says; \
                 125 if the daemon did not answer; 98 without SOCKET.",
            )]);
        }
        _ => {}
    }
    roff.control("SH", ["SEE ALSO"]);
    let pages = [
        "rootwrap(8)",
        "rootwrap-compile(1)",
        "rootwrap.rwf(5)",
        "rootwrap-daemon(8)",
        "rootwrap-client(1)",
        "sudoers(5)",
    ];
    let others: Vec<&str> = pages
        .into_iter()
        .filter(|page| !page.starts_with(&format!("{name}(")))
        .collect();
    roff.text([roman(format!(
        "{}. The rootwrap book (book/ in the sources) is the complete reference.",
        others.join(", ")
    ))]);
    roff
}

/// rootwrap.rwf(5): the statements in brief and the grammar itself.
fn language_page() -> String {
    let mut roff = Roff::new();
    roff.control("TH", ["ROOTWRAP.RWF", "5", "", SOURCE, "rootwrap"]);
    roff.control("SH", ["NAME"]);
    roff.text([roman("rootwrap.rwf - rootwrap filter files")]);
    roff.control("SH", ["DESCRIPTION"]);
    roff.text([roman(
        "A filter file lists the command lines a service may run as root through \
         rootwrap(8), and tests that say which command lines must be allowed and \
         which denied. rootwrap-compile(1) checks filter files and compiles them into \
         the ruleset rootwrap reads. One statement per line; a line ending in a \
         backslash continues on the next; # starts a comment.",
    )]);
    roff.control("SH", ["STATEMENTS"]);
    for (statement, what) in [
        ("ruleset NAME", "names the ruleset (audit records carry it)"),
        ("exec-dirs DIR...", "where command names are looked up, in order"),
        ("log syslog [SETTING...] | log json PATH", "an audit log target"),
        ("on-log-failure refuse|continue", "what a call does when a log target fails"),
        (
            "allow NAME [as USER]: [env VAR=PATTERN...] COMMAND [@sha256:HEX] ITEM... [because \"WHY\"]",
            "a rule: the command and the arguments it allows, with typed patterns such as <path GLOB>, <int MIN..MAX>, <owner>, <pid EXECUTABLE>",
        ),
        (
            "action NAME (PARAM: PATTERN, ...) [as USER]:",
            "an action: the indented lines below it are steps rootwrap runs itself, in order; callers run it as @NAME ARGS...",
        ),
        ("test allow NAME: CMD ARGS... | test deny: CMD ARGS...", "a policy test, run by the compiler"),
    ] {
        roff.control("TP", []);
        roff.text([bold(statement)]);
        roff.text([roman(what)]);
    }
    roff.control("PP", []);
    roff.text([roman(
        "The rootwrap book's chapter \"The filter language\" is the complete reference, \
         with every construct and every error.",
    )]);
    roff.control("SH", ["GRAMMAR"]);
    roff.text([roman(
        "The pest grammar the compiler parses with (grammar/rwf.pest):",
    )]);
    roff.control("nf", []);
    for line in GRAMMAR.lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
    roff.control("SH", ["FILES"]);
    roff.text([
        italic("/usr/share/SERVICE/rootwrap/*.rwf"),
        roman(": filter files a service package ships; "),
        italic("/etc/SERVICE/rootwrap.rwc"),
        roman(": the compiled ruleset, root-owned, mode 0644."),
    ]);
    roff.control("SH", ["SEE ALSO"]);
    roff.text([roman("rootwrap(8), rootwrap-compile(1)")]);
    roff.render()
}
