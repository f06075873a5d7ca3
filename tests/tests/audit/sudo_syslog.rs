//! (f) Syslog through sudo: what the caller must not shape.

use super::*;

/// `sudo -n rootwrap RULESET ARGV...` run by the service, with `TZ` set
/// (sudo keeps it), in a namespace whose /dev/log is `receiver`; with
/// rootwrap's datagrams. sudo and PAM log there too, more than the
/// socket's queue holds: it is drained while the call runs.
fn sudo_syslog_call<S: AsRef<OsStr>>(
    receiver: &Receiver,
    f: &SudoFixture,
    tz: &str,
    argv: &[S],
) -> (i32, String, Vec<Vec<u8>>) {
    let mut command = namespaced(Some(&receiver.path));
    command
        .current_dir("/")
        .arg(tool("runuser"))
        .args(["-u", CALLER, "--"])
        .arg(tool("env"))
        .arg(format!("TZ={tz}"))
        .arg(tool("sudo"))
        .arg("-n")
        .arg(&f.rootwrap)
        .arg(&f.ruleset)
        .args(argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        io::Read::read_to_string(&mut stderr, &mut text).unwrap();
        text
    });
    let mut datagrams = Vec::new();
    let status = loop {
        datagrams.extend(receiver.drain());
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    datagrams.extend(receiver.drain());
    let ours = datagrams
        .into_iter()
        .filter(|d| d.windows(9).any(|w| w == b"rootwrap["))
        .collect();
    (status.code().unwrap_or(-1), reader.join().unwrap(), ours)
}

/// sudo keeps the caller's TZ, and syslog(3) dated headers by it, up to a
/// day off; and a 10 KB argument pushed the rule, exec, run-as and the
/// ruleset's digest past the 8000-byte cut. Now the header is the priority
/// and the tag alone (the logger dates the record), whatever the caller's
/// TZ, and those fields come before anything the caller wrote.
#[test]
fn the_caller_shapes_neither_the_syslog_header_nor_which_fields_survive_a_cut() {
    require_root!();
    let dir = Scratch::new_in(Path::new("/var/lib"), "rw-audit-syslog-sudo");
    let receiver = Receiver::bind(dir.path());
    let f = SudoFixture::set_up_named(
        "syslog-sudo",
        "ruleset syslog-sudo\nexec-dirs /usr/bin /bin\nlog syslog\nallow c: cat ...\n",
        &[],
    );
    let digest = {
        let explained = run(Command::new(&binaries().compile)
            .args(["explain", "--json"])
            .arg(&f.ruleset)
            .args(["--", "true"]));
        let value: Value = serde_json::from_slice(&explained.stdout).unwrap();
        value["ruleset"]["sha256"].as_str().unwrap().to_string()
    };
    for tz in ["XXX-14", "XXX+12", "UTC"] {
        let (code, stderr, datagrams) =
            sudo_syslog_call(&receiver, &f, tz, &["cat", "/nonexistent"]);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(datagrams.len(), 1, "{stderr}");
        // `<PRI>rootwrap[PID]: ` and the message: nothing else in front.
        let got = parse_datagram(&datagrams[0]);
        assert_eq!(
            got.pairs.first().map(|(k, _)| k.as_str()),
            Some("decision"),
            "TZ={tz}"
        );
    }

    let long = format!("/{}etc/hostname", "./".repeat(5000));
    let (code, stderr, datagrams) = sudo_syslog_call(&receiver, &f, "UTC", &["cat", &long]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(datagrams.len(), 1);
    let got = parse_datagram(&datagrams[0]);
    let value = |key: &str| {
        got.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    assert!(value("truncated").is_some(), "{:?}", got.pairs);
    assert_eq!(value("decision"), Some("allowed"));
    assert_eq!(value("rule"), Some("c"));
    assert_eq!(value("exec"), Some(resolved("cat").as_str()));
    assert_eq!(value("run_as"), Some("root"));
    assert_eq!(value("ruleset"), Some("syslog-sudo"));
    assert_eq!(value("ruleset_sha256"), Some(digest.as_str()));
    assert_eq!(value("version"), Some(VERSION));
}

/// A record the logger does not take (its queue stays full) is a failed
/// write: `syslog(3)` waited for ever, or would have dropped it silently.
/// The call is refused and nothing runs.
#[test]
fn a_syslog_record_that_is_not_delivered_refuses_the_call() {
    require_root!();
    let dir = Scratch::new("audit-syslog-full");
    let receiver = Receiver::bind(dir.path());
    // Fill the receiver's queue, which nobody drains.
    let filler = UnixDatagram::unbound().unwrap();
    filler.set_nonblocking(true).unwrap();
    let mut queued = 0;
    while filler.send_to(b"<13>filler", &receiver.path).is_ok() {
        queued += 1;
        assert!(queued < 100_000, "the queue never filled");
    }
    let marker = dir.join("marker");
    let source = format!(
        "ruleset audit-full\nexec-dirs /usr/bin /bin\nlog syslog\nallow mark: touch {}\n",
        marker.display()
    );
    let ruleset = compile(dir.path(), "full", &source);
    let mut command = namespaced(Some(&receiver.path));
    command
        .current_dir(dir.path())
        .arg(&binaries().rootwrap)
        .arg(&ruleset.rwc)
        .args(["touch", marker.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    // Before, rootwrap blocked in syslog(3) for ever: give up after a
    // minute rather than hang the suite.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("rootwrap blocked on a full syslog queue");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(97), "{stderr}");
    assert!(!marker.exists(), "the command ran unrecorded");
    assert!(
        stderr.starts_with("rootwrap: cannot reach syslog at /dev/log: ")
            && stderr.ends_with("; refusing the call (on-log-failure refuse)\n"),
        "{stderr}"
    );
    drop(receiver);
}
