//! (c) Hostile arguments give one well-formed, reversible line.

use super::*;

/// Arguments that would break or forge a naive record.
fn hostile_args() -> Vec<OsString> {
    let bytes: Vec<&[u8]> = vec![
        b"line1\nline2\r\n decision=\"allowed\"",
        b"{\"time\":\"forged\"}",
        b"say \"hi\" \\\" \\x41 \\\\ \\",
        b"\x1b[31mred\x1b[0m\x1b]0;title\x07",
        b"\xff\xfe\xc3( \xe2\x82",
        "caf\u{e9} \u{202e}txt.exe".as_bytes(),
        b"two  spaces ",
        b"",
        b" ",
        b"\t\x00-is-not-possible-but-\x7f",
    ];
    let mut args: Vec<OsString> = bytes
        .into_iter()
        .map(|b| OsString::from_vec(b.iter().copied().filter(|&c| c != 0).collect()))
        .collect();
    // 100 KB of every byte value but NUL (argv cannot hold NUL).
    let big: Vec<u8> = (0..100 * 1024).map(|i| (i % 255 + 1) as u8).collect();
    args.push(OsString::from_vec(big));
    args
}

fn as_bytes(args: &[OsString]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.as_bytes().to_vec()).collect()
}

#[test]
fn hostile_arguments_give_one_well_formed_reversible_json_line() {
    require_root!();
    let dir = Scratch::new("audit-hostile");
    let log_path = dir.join("audit.jsonl");
    let source = format!(
        "ruleset audit-hostile\nexec-dirs /usr/bin /bin\nlog json {}\nallow any: true ... because \"audit tests: any arguments\"\n",
        log_path.display()
    );
    let ruleset = compile(dir.path(), "hostile", &source);
    let args = hostile_args();
    let mut log = Log::new(log_path.clone());

    // Allowed (argv and exec_argv) and denied (argv only).
    for program in ["true", "false"] {
        let mut argv = vec![OsString::from(program)];
        argv.extend(args.iter().cloned());
        let done = call(&mut rootwrap(dir.path(), &ruleset.rwc, &argv));
        assert_eq!(
            done.code,
            if program == "true" { 0 } else { 99 },
            "{}",
            done.stderr
        );
        let records = log.new_records();
        assert_eq!(records.len(), 1);
        assert_eq!(json_argv(&records[0]["argv"]), as_bytes(&argv));
        if program == "true" {
            let mut exec_argv = vec![OsString::from(resolved("true"))];
            exec_argv.extend(args.iter().cloned());
            assert_eq!(json_argv(&records[0]["exec_argv"]), as_bytes(&exec_argv));
        }
    }
    // json_lines checked: one line per record, printable ASCII, one object.
    let lines = json_lines(&log_path);
    assert_eq!(lines.len(), 2);
    for ((text, record), decision) in lines.iter().zip(["allowed", "denied"]) {
        // No argument forged or displaced a field (json_lines also checked
        // that the keys are the documented ones, each once, in order).
        assert_eq!(record["decision"], json!(decision));
        parse_time(record["time"].as_str().unwrap());
        assert!(text.len() > 100 * 1024);
    }
}

#[test]
fn hostile_arguments_give_one_well_formed_reversible_syslog_line() {
    require_root!();
    let dir = Scratch::new("audit-hostile-syslog");
    let receiver = Receiver::bind(dir.path());
    let source = "ruleset audit-hostile\nexec-dirs /usr/bin /bin\nlog syslog\nallow any: true ... because \"audit tests: any arguments\"\n";
    let ruleset = compile(dir.path(), "hostile", source);
    // Without the 100 KB argument: it has its own call below.
    let mut args = hostile_args();
    args.pop();
    // An empty argument shows as nothing between its separators: keep
    // boundaries countable by not ending on one.
    args.push(OsString::from("last"));

    let mut argv = vec![OsString::from("true")];
    argv.extend(args.iter().cloned());
    let done = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &argv,
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    let datagrams = receiver.drain();
    assert_eq!(datagrams.len(), 1);
    let got = parse_datagram(&datagrams[0]);
    let field = |key: &str| -> &str {
        let found: Vec<&(String, String)> = got.pairs.iter().filter(|(k, _)| k == key).collect();
        assert_eq!(found.len(), 1, "{key} must appear once: {:?}", got.pairs);
        &found[0].1
    };
    assert_eq!(field("decision"), "allowed", "an argument forged a field");
    assert_eq!(kv_argv(field("argv")), as_bytes(&argv));
    let mut exec_argv = vec![OsString::from(resolved("true"))];
    exec_argv.extend(args.iter().cloned());
    assert_eq!(kv_argv(field("exec_argv")), as_bytes(&exec_argv));

    // A 100 KB argument: the syslog line is cut to its limit, ending in a
    // marker that says how much was cut (the JSON log keeps every byte), so
    // the record still arrives, as one datagram on one line.
    let big: String = (0..100_000)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let argv = ["true", big.as_str(), "end"];
    let done = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &argv,
    );
    assert_eq!(done.code, 0, "{}", done.stderr);
    let datagrams = receiver.drain();
    assert_eq!(
        datagrams.len(),
        1,
        "the record of a 100 KB argument was lost"
    );
    assert!(!datagrams[0].contains(&b'\n'));
    assert!(datagrams[0].len() < 8_300, "{} bytes", datagrams[0].len());
    let got = parse_datagram(&datagrams[0]);
    let value = |key: &str| {
        got.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(value("decision").as_deref(), Some("allowed"));
    let cut: usize = value("truncated")
        .expect("a truncation marker")
        .parse()
        .unwrap();
    assert!(cut > 190_000, "cut {cut} bytes");
    let argv_value = value("argv").unwrap();
    assert!(argv_value.starts_with(&format!("true {}", &big[..5_000])));
    assert!(argv_value.ends_with("..."));
}

/// A record too large for one syslog datagram (here: 100 KB of control
/// bytes, escaped four times larger, twice) must not vanish while the
/// command runs: either it reaches syslog or the call is refused.
#[test]
fn an_oversized_syslog_record_is_not_lost_silently() {
    require_root!();
    let dir = Scratch::new("audit-oversized");
    let receiver = Receiver::bind(dir.path());
    let marker = dir.join("marker");
    let source = format!(
        "ruleset audit-oversized\nexec-dirs /usr/bin /bin\nlog syslog\nallow mark: touch {} ... because \"audit tests\"\n",
        marker.display()
    );
    let ruleset = compile(dir.path(), "oversized", &source);
    let big = OsString::from_vec(vec![0x01; 100 * 1024]);
    let argv = [
        OsString::from("touch"),
        marker.clone().into_os_string(),
        big,
    ];
    let done = syslog_call(
        Some(&receiver),
        dir.path(),
        Caller::Root,
        &ruleset.rwc,
        &argv,
    );
    let datagrams = receiver.drain();
    assert!(
        datagrams.len() == 1 || (done.code == 97 && !marker.exists()),
        "exit {}, {} datagram(s), command ran: {}",
        done.code,
        datagrams.len(),
        marker.exists(),
    );
}
