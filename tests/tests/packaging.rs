//! Installing rootwrap as a system tool: `make install` into a scratch
//! DESTDIR and `make uninstall`, the Debian package installed on this
//! machine and purged, and rulesets compiled to the same bytes from two
//! build directories.
//!
//! `make install` builds in release mode (minutes): these tests run under
//! `CI=true` or with `ROOTWRAP_TEST_PACKAGING=1`, and say they were skipped
//! otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a test fails by panicking"
)]

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use rootwrap_tests::prerequisite::{in_ci, missing};
use rootwrap_tests::{binaries, is_root, require_root, run, tool, FileLock, Ran, Scratch};

/// What `make install` puts under PREFIX, besides one page per
/// rootwrap-compile subcommand (`share/man/man1/rootwrap-compile-SUB.1`).
const INSTALLED: &[&str] = &[
    "bin/rootwrap",
    "bin/rootwrap-client",
    "bin/rootwrap-compile",
    "bin/rootwrap-daemon",
    "lib/systemd/system/rootwrap-daemon@.service",
    "lib/systemd/system/rootwrap-daemon@.socket",
    "share/bash-completion/completions/rootwrap",
    "share/bash-completion/completions/rootwrap-client",
    "share/bash-completion/completions/rootwrap-compile",
    "share/bash-completion/completions/rootwrap-daemon",
    "share/doc/rootwrap/LICENSE",
    "share/doc/rootwrap/examples/logrotate",
    "share/doc/rootwrap/examples/rsyslog.conf",
    "share/doc/rootwrap/examples/sudoers",
    "share/doc/rootwrap/install-manifest",
    "share/fish/vendor_completions.d/rootwrap-compile.fish",
    "share/fish/vendor_completions.d/rootwrap.fish",
    "share/man/man1/rootwrap-client.1",
    "share/man/man1/rootwrap-compile.1",
    "share/man/man5/rootwrap.rwf.5",
    "share/man/man8/rootwrap-daemon.8",
    "share/man/man8/rootwrap.8",
    "share/zsh/site-functions/_rootwrap",
    "share/zsh/site-functions/_rootwrap-client",
    "share/zsh/site-functions/_rootwrap-compile",
    "share/zsh/site-functions/_rootwrap-daemon",
];

const SUBCOMMANDS: &[&str] = &[
    "check",
    "explain",
    "import-oslo",
    "list",
    "info",
    "diff",
    "test",
    "report",
];

fn packaging_tests_enabled() -> bool {
    if in_ci() || std::env::var_os("ROOTWRAP_TEST_PACKAGING").is_some_and(|v| v == "1") {
        return true;
    }
    missing("it builds rootwrap in release mode (minutes): set ROOTWRAP_TEST_PACKAGING=1");
    false
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

/// The target directory these tests were built in: `make` builds its
/// release binaries there too.
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.ancestors().nth(3).unwrap().to_path_buf()
}

/// `make GOAL ARGS...` in the repository. One at a time: each run
/// regenerates the pages in TARGET/release/share.
fn make(goal: &str, args: &[String]) -> Ran {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut make = Command::new(tool("make"));
    make.arg("-C")
        .arg(repository())
        .arg("--no-print-directory")
        .arg(goal)
        .arg(format!("TARGET_DIR={}", target_dir().display()))
        .args(args);
    if let Some(cargo) = std::env::var_os("CARGO") {
        make.arg(format!("CARGO={}", cargo.to_string_lossy()));
    }
    run(&mut make)
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .mode()
        & 0o7777
}

/// Every file and directory below `dir`, relative to it.
fn tree(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            found.insert(path.strip_prefix(dir).unwrap().to_path_buf());
            if path.is_dir() && !path.is_symlink() {
                pending.push(path);
            }
        }
    }
    found
}

/// The man page renders with `man -l`, and groff has no warning about it.
fn check_man_page(page: &Path) -> String {
    let rendered = run(Command::new(tool("man"))
        .arg("-l")
        .arg(page)
        // Wide, so that no line breaks or hyphenates a word looked for.
        .env("MANWIDTH", "400")
        .env("MANPAGER", "cat")
        .env("PAGER", "cat"));
    assert_eq!(
        rendered.code,
        0,
        "man -l {}: {}",
        page.display(),
        rendered.stderr
    );
    // Justified text has runs of spaces.
    let text = rendered
        .stdout_text()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(text.contains("NAME"), "{}:\n{text}", page.display());
    if page.extension().is_some_and(|e| e != "gz") {
        let checked = run(Command::new(tool("groff"))
            .args(["-man", "-ww", "-z"])
            .arg(page));
        assert_eq!(
            (checked.code, checked.stderr.as_str()),
            (0, ""),
            "groff on {}",
            page.display()
        );
    }
    text
}

/// The checks of an installed tree shared by `make install` and the
/// package: PREFIX as seen from here (`destdir_prefix`) and as installed.
fn check_installed(destdir_prefix: &Path, prefix: &str, man_suffix: &str) {
    for binary in [
        "rootwrap",
        "rootwrap-compile",
        "rootwrap-daemon",
        "rootwrap-client",
    ] {
        let path = destdir_prefix.join("bin").join(binary);
        assert_eq!(mode(&path), 0o755, "{}", path.display());
    }
    let rootwrap = destdir_prefix.join("bin/rootwrap");
    let version = run(Command::new(&rootwrap).arg("--version"));
    assert_eq!(version.code, 0, "{}", version.stderr);
    assert_eq!(
        version.stdout_text(),
        format!(
            "rootwrap {} (reads ruleset format {})\n",
            env!("CARGO_PKG_VERSION"),
            rootwrap::format::FORMAT_VERSION
        )
    );
    // The runtime is built on its own: no parser code in it (as .ci/run
    // checks of the debug build).
    let bytes = fs::read(&rootwrap).unwrap();
    for marker in ["regex_syntax", "pest::", "pest_meta"] {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "the installed runtime contains {marker}"
        );
    }

    let man = destdir_prefix.join("share/man");
    let rootwrap_page = check_man_page(&man.join(format!("man8/rootwrap.8{man_suffix}")));
    for section in ["EXIT STATUS", "--version", "RULESET", "SEE ALSO"] {
        assert!(
            rootwrap_page.contains(section),
            "rootwrap(8) lacks {section}"
        );
    }
    let compile_page = check_man_page(&man.join(format!("man1/rootwrap-compile.1{man_suffix}")));
    for sub in SUBCOMMANDS {
        assert!(compile_page.contains(&format!("rootwrap-compile-{sub}(1)")));
        let page = check_man_page(&man.join(format!("man1/rootwrap-compile-{sub}.1{man_suffix}")));
        assert!(page.contains(&format!("rootwrap-compile {sub}")), "{page}");
    }
    assert!(
        !compile_page.contains("rootwrap-compile-help"),
        "{compile_page}"
    );
    let language = check_man_page(&man.join(format!("man5/rootwrap.rwf.5{man_suffix}")));
    // The grammar, verbatim from grammar/rwf.pest.
    assert!(language.contains("GRAMMAR"), "{language}");
    assert!(language.contains("kw_allow"), "{language}");
    check_man_page(&man.join(format!("man8/rootwrap-daemon.8{man_suffix}")));
    check_man_page(&man.join(format!("man1/rootwrap-client.1{man_suffix}")));

    // Completions: bash loads them; zsh and fish files name their command.
    let bash = destdir_prefix.join("share/bash-completion/completions/rootwrap-compile");
    let loaded = run(Command::new(tool("bash"))
        .arg("-c")
        .arg(r#"source "$1" && complete -p rootwrap-compile"#)
        .arg("bash")
        .arg(&bash));
    assert_eq!(loaded.code, 0, "{}", loaded.stderr);
    assert!(loaded.stdout_text().contains("rootwrap-compile"));
    let zsh = fs::read_to_string(destdir_prefix.join("share/zsh/site-functions/_rootwrap-compile"))
        .unwrap();
    assert!(zsh.starts_with("#compdef rootwrap-compile"), "{zsh}");
    let fish = fs::read_to_string(
        destdir_prefix.join("share/fish/vendor_completions.d/rootwrap-compile.fish"),
    )
    .unwrap();
    assert!(fish.contains("complete -c rootwrap-compile"), "{fish}");

    // The sudoers example names the installed binary and is valid sudoers.
    let sudoers = destdir_prefix.join("share/doc/rootwrap/examples/sudoers");
    let text = fs::read_to_string(&sudoers).unwrap();
    assert!(
        text.contains(&format!(
            "NOPASSWD: {prefix}/bin/rootwrap /etc/svc/rootwrap.rwc *"
        )),
        "{text}"
    );
    let checked = run(Command::new(tool("visudo")).arg("-cf").arg(&sudoers));
    assert_eq!(
        checked.code,
        0,
        "visudo: {}{}",
        checked.stdout_text(),
        checked.stderr
    );
    let unit =
        fs::read_to_string(destdir_prefix.join("lib/systemd/system/rootwrap-daemon@.service"))
            .unwrap();
    assert!(
        unit.contains(&format!("ExecStart={prefix}/bin/rootwrap-daemon ")),
        "{unit}"
    );
}

#[test]
fn make_install_then_uninstall_leaves_nothing_behind() {
    if !packaging_tests_enabled() {
        return;
    }
    let scratch = Scratch::new("rootwrap-install");
    let destdir = scratch.join("dest");
    // Someone else's file in a directory install also uses: it stays, and
    // so does its directory.
    fs::create_dir_all(destdir.join("usr/local/bin")).unwrap();
    fs::write(destdir.join("usr/local/bin/other-tool"), "#!/bin/sh\n").unwrap();
    let before = tree(&destdir);
    let args = [
        "PREFIX=/usr/local".to_owned(),
        format!("DESTDIR={}", destdir.display()),
    ];

    let installed = make("install", &args);
    assert_eq!(installed.code, 0, "make install:\n{}", installed.stderr);
    let prefix_dir = destdir.join("usr/local");
    let mut expected: BTreeSet<PathBuf> = INSTALLED.iter().map(PathBuf::from).collect();
    for sub in SUBCOMMANDS {
        expected.insert(format!("share/man/man1/rootwrap-compile-{sub}.1").into());
    }
    expected.insert("bin/other-tool".into());
    let files: BTreeSet<PathBuf> = tree(&prefix_dir)
        .into_iter()
        .filter(|p| prefix_dir.join(p).is_file())
        .collect();
    assert_eq!(files, expected);
    for file in INSTALLED.iter().filter(|f| !f.starts_with("bin/")) {
        assert_eq!(mode(&prefix_dir.join(file)), 0o644, "{file}");
    }
    if is_root() {
        for file in INSTALLED {
            let meta = fs::metadata(prefix_dir.join(file)).unwrap();
            assert_eq!((meta.uid(), meta.gid()), (0, 0), "{file} is not root's");
        }
    }
    check_installed(&prefix_dir, "/usr/local", "");

    // Installing again over it changes nothing uninstall removes.
    let again = make("install", &args);
    assert_eq!(again.code, 0, "make install, again:\n{}", again.stderr);

    let uninstalled = make("uninstall", &args);
    assert_eq!(
        uninstalled.code, 0,
        "make uninstall:\n{}",
        uninstalled.stderr
    );
    assert_eq!(tree(&destdir), before, "left behind by make uninstall");

    // Nothing recorded: uninstall says so, and fails.
    let nothing = make("uninstall", &args);
    assert_ne!(nothing.code, 0);
    assert!(
        nothing.stderr.contains("nothing recorded to uninstall"),
        "{}",
        nothing.stderr
    );
}

/// Purges the package when dropped, so that a failed check leaves no
/// rootwrap binaries installed on the machine.
struct Purge;

impl Drop for Purge {
    fn drop(&mut self) {
        let _ = run(Command::new(tool("dpkg")).args(["--purge", "rootwrap"]));
    }
}

fn package_installed() -> bool {
    let status = run(Command::new(tool("dpkg-query")).args(["-W", "-f=${Status}", "rootwrap"]));
    status.code == 0
        && status.stdout_text().contains("installed")
        && !status.stdout_text().contains("not-installed")
}

#[test]
fn the_debian_package_installs_and_purges_cleanly() {
    require_root!();
    if !packaging_tests_enabled() {
        return;
    }
    // The package is machine-wide: one checkout at a time.
    let _lock = FileLock::acquire(Path::new("/run/lock/rootwrap-tests-deb.lock"));
    assert!(
        !package_installed(),
        "a rootwrap package is installed on this machine: this test would replace and purge it"
    );

    let out = Scratch::new("rootwrap-deb");
    let built = make("deb", &[]);
    assert_eq!(built.code, 0, "make deb:\n{}", built.stderr);
    let deb = PathBuf::from(built.stdout_text().lines().last().unwrap_or_default());
    assert!(
        deb.is_file(),
        "no package at {}:\n{}",
        deb.display(),
        built.stdout_text()
    );
    let copy = out.join(deb.file_name().unwrap());
    fs::copy(&deb, &copy).unwrap();

    // What the package holds, and which of its paths exist already.
    let contents = run(Command::new(tool("dpkg-deb")).arg("-c").arg(&copy));
    assert_eq!(contents.code, 0, "{}", contents.stderr);
    let paths: Vec<PathBuf> = contents
        .stdout_text()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .map(|p| PathBuf::from(p.trim_start_matches('.')))
        .filter(|p| p != Path::new("/"))
        .collect();
    let existed: BTreeSet<&PathBuf> = paths.iter().filter(|p| p.exists()).collect();
    for path in &existed {
        assert!(
            path.is_dir(),
            "{} exists already: installing the package would replace it",
            path.display()
        );
    }

    let purge = Purge;
    let installed = run(Command::new(tool("dpkg")).arg("-i").arg(&copy));
    assert_eq!(
        installed.code,
        0,
        "dpkg -i:\n{}{}",
        installed.stdout_text(),
        installed.stderr
    );
    let listed = run(Command::new(tool("dpkg")).args(["-L", "rootwrap"]));
    for file in INSTALLED
        .iter()
        .filter(|f| !f.ends_with("install-manifest"))
    {
        let file = if file.starts_with("share/man/") {
            format!("/usr/{file}.gz")
        } else {
            format!("/usr/{file}")
        };
        assert!(
            listed.stdout_text().lines().any(|l| l == file),
            "{file} not in the package"
        );
        let meta = fs::metadata(&file).unwrap_or_else(|e| panic!("{file}: {e}"));
        let want = if file.starts_with("/usr/bin/") {
            0o755
        } else {
            0o644
        };
        assert_eq!(
            (meta.mode() & 0o7777, meta.uid(), meta.gid()),
            (want, 0, 0),
            "{file}"
        );
    }
    assert!(Path::new("/usr/share/doc/rootwrap/copyright").is_file());
    check_installed(Path::new("/usr"), "/usr", ".gz");
    // Installed where man looks.
    let found = run(Command::new(tool("man")).args(["-w", "8", "rootwrap"]));
    assert_eq!(
        found.stdout_text().trim(),
        "/usr/share/man/man8/rootwrap.8.gz"
    );

    drop(purge);
    assert!(
        !package_installed(),
        "dpkg --purge left the package installed"
    );
    for path in &paths {
        if !existed.contains(path) {
            assert!(!path.exists(), "{} is left behind", path.display());
        }
    }
}

/// The same sources compile to the same bytes from two build directories
/// (and, as root, for two users), given as paths relative to the source
/// root: the ruleset records each rule's file as the compiler was given it.
#[test]
fn rulesets_are_reproducible_across_build_directories() {
    let scratch = Scratch::new("rootwrap-repro");
    let filters = repository().join("filters");
    let mut outputs = Vec::new();
    for (n, build) in ["one", "two/deeper"].into_iter().enumerate() {
        let source_root = scratch.join(build);
        fs::create_dir_all(source_root.join("rootwrap")).unwrap();
        for entry in fs::read_dir(&filters).unwrap() {
            let path = entry.unwrap().path();
            fs::copy(
                &path,
                source_root.join("rootwrap").join(path.file_name().unwrap()),
            )
            .unwrap();
        }
        let output = source_root.join("out.rwc");
        let mut compile = if n == 1 && is_root() {
            // The second build as another user.
            rootwrap_tests::set_mode(scratch.path(), 0o755);
            for dir in [scratch.join("two"), source_root.clone()] {
                std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
            }
            let mut c = Command::new(tool("runuser"));
            c.args(["-u", "nobody", "--"]).arg(&binaries().compile);
            c
        } else {
            Command::new(&binaries().compile)
        };
        let compiled = run(compile
            .current_dir(&source_root)
            .arg("-o")
            .arg(&output)
            .arg("rootwrap"));
        assert_eq!(compiled.code, 0, "{}", compiled.stderr);
        outputs.push(fs::read(&output).unwrap());
    }
    assert!(
        outputs[0] == outputs[1],
        "two build directories gave different rulesets"
    );
}

/// examples/packaging: a service's filter files and a plug-in's fragment,
/// recompiled into one ruleset by `rootwrap-update-ruleset`.
struct ServiceHost {
    scratch: Scratch,
    /// Holds `rootwrap/` and, with plug-ins, `rootwrap.d/`.
    source_root: PathBuf,
    output: PathBuf,
}

impl ServiceHost {
    fn new() -> ServiceHost {
        let scratch = Scratch::new("rootwrap-service");
        let source_root = scratch.join("usr/share/svc");
        fs::create_dir_all(source_root.join("rootwrap")).unwrap();
        fs::copy(
            example("service/usr/share/svc/rootwrap/10-svc.rwf"),
            source_root.join("rootwrap/10-svc.rwf"),
        )
        .unwrap();
        fs::create_dir_all(scratch.join("etc/svc")).unwrap();
        let output = scratch.join("etc/svc/rootwrap.rwc");
        ServiceHost {
            scratch,
            source_root,
            output,
        }
    }

    fn add_fragment(&self, name: &str, text: &str) {
        fs::create_dir_all(self.source_root.join("rootwrap.d")).unwrap();
        fs::write(self.source_root.join("rootwrap.d").join(name), text).unwrap();
    }

    fn update(&self) -> Ran {
        run(Command::new(example("rootwrap-update-ruleset"))
            .arg(&self.source_root)
            .arg(&self.output)
            .env("ROOTWRAP_COMPILE", &binaries().compile))
    }

    /// What the output directory holds besides the ruleset: nothing.
    fn leftovers(&self) -> Vec<PathBuf> {
        tree(&self.scratch.join("etc/svc"))
            .into_iter()
            .filter(|p| p != Path::new("rootwrap.rwc"))
            .collect()
    }

    fn explain(&self, argv: &[&str]) -> Ran {
        run(Command::new(&binaries().compile)
            .arg("explain")
            .arg(&self.output)
            .arg("--")
            .args(argv))
    }
}

fn example(path: &str) -> PathBuf {
    repository().join("examples/packaging").join(path)
}

#[test]
fn the_update_script_installs_the_combined_ruleset_root_owned_and_reproducible() {
    require_root!();
    let host = ServiceHost::new();
    let updated = host.update();
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    let meta = fs::metadata(&host.output).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o644, 0, 0)
    );
    // Without plug-ins: the same bytes as the service package's prebuilt
    // ruleset, compiled at package build time in its own tree.
    let build = Scratch::new("rootwrap-service-build");
    fs::create_dir_all(build.join("rootwrap")).unwrap();
    fs::copy(
        example("service/usr/share/svc/rootwrap/10-svc.rwf"),
        build.join("rootwrap/10-svc.rwf"),
    )
    .unwrap();
    let prebuilt = run(Command::new(&binaries().compile)
        .current_dir(build.path())
        .args(["--deny-warnings", "-o", "rootwrap.rwc", "rootwrap"]));
    assert_eq!(prebuilt.code, 0, "{}", prebuilt.stderr);
    assert!(fs::read(build.join("rootwrap.rwc")).unwrap() == fs::read(&host.output).unwrap());
    assert_eq!(host.explain(&["ip", "link", "set", "tap0", "up"]).code, 99);

    // A plug-in package drops its fragment in; the trigger recompiles.
    host.add_fragment(
        "50-svc-netplug.rwf",
        &fs::read_to_string(example(
            "plugin/usr/share/svc/rootwrap.d/50-svc-netplug.rwf",
        ))
        .unwrap(),
    );
    let updated = host.update();
    assert_eq!(updated.code, 0, "{}", updated.stderr);
    assert_eq!(host.explain(&["ip", "link", "set", "tap0", "up"]).code, 0);
    // The service's own rules are still there (denied here only because
    // /var/lib/svc does not exist), named by their path below the source root.
    let service_rule = host.explain(&["chown", "svc:svc", "/var/lib/svc/x"]);
    assert!(
        service_rule
            .stderr
            .contains("rule `chown-data` (rootwrap/10-svc.rwf:5)"),
        "{}",
        service_rule.stderr
    );
    let meta = fs::metadata(&host.output).unwrap();
    assert_eq!(
        (meta.mode() & 0o7777, meta.uid(), meta.gid()),
        (0o644, 0, 0)
    );
    assert_eq!(host.leftovers(), Vec::<PathBuf>::new());
}

#[test]
fn a_failed_update_keeps_the_old_ruleset_and_says_why() {
    require_root!();
    let host = ServiceHost::new();
    assert_eq!(host.update().code, 0);
    let before = fs::read(&host.output).unwrap();
    let inode = fs::metadata(&host.output).unwrap().ino();

    // A fragment whose own policy test fails.
    host.add_fragment(
        "60-broken.rwf",
        "ruleset svc\nexec-dirs /usr/sbin /usr/bin /sbin /bin\n\
         allow kill-any: kill <int 1..>\ntest deny: kill 1\n",
    );
    let failed = host.update();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(failed.stderr.contains("60-broken.rwf"), "{}", failed.stderr);
    assert!(
        failed.stderr.contains("kept the installed ruleset"),
        "{}",
        failed.stderr
    );
    assert!(
        fs::read(&host.output).unwrap() == before,
        "the ruleset changed"
    );
    assert_eq!(fs::metadata(&host.output).unwrap().ino(), inode);
    assert_eq!(host.leftovers(), Vec::<PathBuf>::new());

    // A warning is an error here: a fragment that only warns fails too.
    fs::remove_file(host.source_root.join("rootwrap.d/60-broken.rwf")).unwrap();
    host.add_fragment(
        "60-warns.rwf",
        "ruleset svc\nexec-dirs /usr/sbin /usr/bin /sbin /bin\nallow sh-any: sh ...\n",
    );
    let warned = host.update();
    assert_eq!(warned.code, 1, "{}", warned.stderr);
    assert!(
        fs::read(&host.output).unwrap() == before,
        "the ruleset changed"
    );
    assert_eq!(host.leftovers(), Vec::<PathBuf>::new());
}

#[test]
fn a_failed_first_update_installs_nothing() {
    require_root!();
    let host = ServiceHost::new();
    host.add_fragment("60-broken.rwf", "ruleset other\n");
    let failed = host.update();
    assert_eq!(failed.code, 1, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("no ruleset installed"),
        "{}",
        failed.stderr
    );
    assert!(!host.output.exists());
    assert_eq!(host.leftovers(), Vec::<PathBuf>::new());
}

/// dist/logrotate/rootwrap is a configuration logrotate accepts.
#[test]
fn the_logrotate_example_parses() {
    let Some(logrotate) = ["/usr/sbin/logrotate", "/sbin/logrotate"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
    else {
        return missing("logrotate is not installed (.ci/run installs it)");
    };
    let scratch = Scratch::new("rootwrap-logrotate");
    let config = scratch.join("rootwrap");
    fs::copy(repository().join("dist/logrotate/rootwrap"), &config).unwrap();
    rootwrap_tests::set_mode(&config, 0o644);
    let checked = run(Command::new(logrotate)
        .arg("--debug")
        .arg("--state")
        .arg(scratch.join("state"))
        .arg(&config));
    assert_eq!(
        checked.code,
        0,
        "{}{}",
        checked.stdout_text(),
        checked.stderr
    );
    assert!(!checked.stderr.contains("error"), "{}", checked.stderr);
}

/// A service switched to rootwrap whose configuration still names its oslo
/// `rootwrap.conf` gets told what to do with it.
#[test]
fn an_oslo_rootwrap_conf_as_the_ruleset_says_how_to_compile_it() {
    require_root!();
    let scratch = Scratch::new("rootwrap-oslo-conf");
    let conf = scratch.join("rootwrap.conf");
    fs::write(
        &conf,
        "# Configuration for nova-rootwrap\n\
         # This file should be owned by (and only-writeable by) the root user\n\n\
         [DEFAULT]\nfilters_path=/etc/nova/rootwrap.d,/usr/share/nova/rootwrap\n\
         exec_dirs=/sbin,/usr/sbin,/bin,/usr/bin\nuse_syslog=False\n",
    )
    .unwrap();
    rootwrap_tests::set_mode(&conf, 0o644);
    let ran = run(Command::new(&binaries().rootwrap)
        .arg(&conf)
        .args(["id", "-u"]));
    assert_eq!(ran.code, 97, "{}", ran.stderr);
    assert!(
        ran.stderr
            .contains("not a rootwrap ruleset but a text file")
            && ran.stderr.contains("rootwrap-compile import-oslo"),
        "{}",
        ran.stderr
    );
    assert!(ran.stdout.is_empty());
    // Binary garbage is still just not a ruleset.
    let mut garbage = vec![0u8; 128];
    garbage[0] = 0xff;
    fs::write(&conf, &garbage).unwrap();
    let ran = run(Command::new(&binaries().rootwrap)
        .arg(&conf)
        .args(["id", "-u"]));
    assert_eq!(ran.code, 97, "{}", ran.stderr);
    assert!(ran.stderr.contains("(bad magic bytes)"), "{}", ran.stderr);
}

/// Services that run `sudo nova-rootwrap CONFIG CMD...` themselves switch
/// over through a link named `nova-rootwrap`: rootwrap ignores argv[0].
#[test]
fn a_link_named_as_the_services_old_helper_works() {
    require_root!();
    let scratch = Scratch::new("rootwrap-link");
    let ruleset = rootwrap_tests::compile_ruleset(
        scratch.path(),
        "nova",
        "ruleset nova\nexec-dirs /usr/bin /bin\nallow id-u: id -u\n",
    );
    let link = scratch.join("nova-rootwrap");
    std::os::unix::fs::symlink(&binaries().rootwrap, &link).unwrap();
    let ran = run(Command::new(&link).arg(&ruleset).args(["id", "-u"]));
    assert_eq!(
        (ran.code, ran.stdout_text().as_str()),
        (0, "0\n"),
        "{}",
        ran.stderr
    );
    let denied = run(Command::new(&link).arg(&ruleset).args(["id", "-g"]));
    assert_eq!(denied.code, 99, "{}", denied.stderr);
}
