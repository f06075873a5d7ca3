//! (e) Concurrent calls never lose or interleave records.

use super::*;

#[test]
fn concurrent_calls_never_lose_or_interleave_records() {
    require_root!();
    const WORKERS: usize = 8;
    const CALLS: usize = 200;
    let dir = Scratch::new("audit-concurrent");
    let log_path = dir.join("audit.jsonl");
    let source = format!(
        "ruleset audit-concurrent\nexec-dirs /usr/bin /bin\nlog json {}\nallow any: true ... because \"audit tests: any arguments\"\n",
        log_path.display()
    );
    let ruleset = compile(dir.path(), "concurrent", &source);
    // Call n: `true call-n [64 KB of the letter for n, every 5th call]`.
    let argv_of = |n: usize| -> Vec<String> {
        let mut argv = vec!["true".to_string(), format!("call-{n}")];
        if n.checked_rem(5) == Some(0) {
            let letter = char::from(b'a' + (n % 26) as u8);
            argv.push(std::iter::repeat_n(letter, 64 * 1024).collect());
        }
        argv
    };
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = std::time::Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..WORKERS {
            scope.spawn(|| loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if n >= CALLS {
                    break;
                }
                let done = call(&mut rootwrap(dir.path(), &ruleset.rwc, &argv_of(n)));
                assert_eq!(done.code, 0, "call {n}: {}", done.stderr);
            });
        }
    });
    assert!(started.elapsed() < Duration::from_secs(60));

    // json_lines checks every line is one whole JSON object.
    let records = json_lines(&log_path);
    assert_eq!(records.len(), CALLS, "records lost or split");
    let mut seen = [false; CALLS];
    let mut pids = std::collections::BTreeSet::new();
    for (_, record) in &records {
        let argv: Vec<String> = record["argv"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        let n: usize = argv[1].strip_prefix("call-").unwrap().parse().unwrap();
        assert_eq!(argv, argv_of(n), "record of call {n} damaged");
        assert!(!seen[n], "call {n} recorded twice");
        seen[n] = true;
        assert!(pids.insert(record["pid"].as_u64().unwrap()));
    }
    assert!(seen.iter().all(|&s| s));
}
