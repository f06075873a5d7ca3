//! `daemon-latency DAEMON RULESET N [STARTS]`: per-call latency of `true`
//! (and of a denied `ls`) through `rootwrap-daemon` with the Rust client,
//! the daemon's start-up time (none when STARTS is 0) and its peak RSS.
//! With `DAEMON_LATENCY_ACTION=FILE`, also the action `@chown-action FILE`
//! (the ruleset must define it). Run as root: the daemon is started
//! directly (not through sudo), so root is its invoking user. Used by
//! bench/daemon.sh and bench/privsep.sh.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Instant;

use rootwrap::daemon::client::Client;

fn start(daemon: &Path, ruleset: &Path) -> Result<(Child, PathBuf), String> {
    let mut child = Command::new(daemon)
        .arg(ruleset)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", daemon.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if !line.ends_with('\n') {
        return Err(format!("the daemon printed no socket path: {line:?}"));
    }
    Ok((child, PathBuf::from(line.trim_end())))
}

fn stop(mut child: Child) {
    drop(child.stdin.take());
    let _ = child.wait();
}

/// (median, p99, mean) in milliseconds.
fn stats(mut ns: Vec<u128>) -> (f64, f64, f64) {
    ns.sort_unstable();
    let ms = |v: u128| v as f64 / 1e6;
    let pct = |p: f64| {
        let k = (ns.len() - 1) as f64 * p;
        let (lo, hi) = (k.floor() as usize, k.ceil() as usize);
        ms(ns[lo]) + (ms(ns[hi]) - ms(ns[lo])) * (k - lo as f64)
    };
    let mean = ns.iter().map(|&v| ms(v)).sum::<f64>() / ns.len() as f64;
    (pct(0.5), pct(0.99), mean)
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn call(client: &mut Client, argv: &[OsString], want: u32) -> Result<(), String> {
    let out = client.execute(argv, b"").map_err(|e| e.to_string())?;
    if out.exit.status != want {
        return Err(format!("{argv:?} -> {:?}", out.exit));
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (daemon, ruleset, n, starts) = match args.as_slice() {
        [d, r, n] => (d, r, n, "10"),
        [d, r, n, s] => (d, r, n, s.as_str()),
        _ => return Err("usage: daemon-latency DAEMON RULESET N [STARTS]".into()),
    };
    let n: usize = n.parse().map_err(|_| "N: a number")?;
    let starts: usize = starts.parse().map_err(|_| "STARTS: a number")?;
    let (daemon, ruleset) = (Path::new(daemon), Path::new(ruleset));
    let allowed = [OsString::from("true")];
    let denied = [OsString::from("ls"), OsString::from("denied")];

    let (mut to_socket, mut to_result) = (Vec::new(), Vec::new());
    for _ in 0..starts {
        let t0 = Instant::now();
        let (child, socket) = start(daemon, ruleset)?;
        let t1 = Instant::now();
        let mut client = Client::connect(&socket).map_err(|e| e.to_string())?;
        call(&mut client, &allowed, 0)?;
        let t2 = Instant::now();
        to_socket.push((t1 - t0).as_nanos());
        to_result.push((t2 - t0).as_nanos());
        drop(client);
        stop(child);
    }

    let (child, socket) = start(daemon, ruleset)?;
    let mut client = Client::connect(&socket).map_err(|e| e.to_string())?;
    let rss_idle = peak_rss_kib(child.id());
    for _ in 0..50 {
        call(&mut client, &allowed, 0)?;
    }
    println!("| measure | n | median ms | p99 ms | mean ms |");
    println!("|---|---:|---:|---:|---:|");
    let startups = [
        ("start-up: socket printed", &to_socket),
        ("start-up: first `true` done", &to_result),
    ];
    for (label, samples) in startups.into_iter().filter(|_| starts > 0) {
        let (median, p99, mean) = stats(samples.clone());
        println!(
            "| {label} | {} | {median:.3} | {p99:.3} | {mean:.3} |",
            samples.len()
        );
    }
    let mut measured = vec![
        ("`true` (allowed)", allowed.to_vec(), 0),
        ("`ls denied` (denied)", denied.to_vec(), 99),
    ];
    if let Some(file) = std::env::var_os("DAEMON_LATENCY_ACTION") {
        let action = vec![OsString::from("@chown-action"), file];
        call(&mut client, &action, 0)?;
        measured.push(("`@chown-action FILE` (one chown step)", action, 0));
    }
    for (label, argv, want) in &measured {
        let (argv, want) = (&argv[..], *want);
        let mut samples = Vec::with_capacity(n);
        for _ in 0..n {
            let t0 = Instant::now();
            call(&mut client, argv, want)?;
            samples.push(t0.elapsed().as_nanos());
        }
        let (median, p99, mean) = stats(samples);
        println!("| {label}, Rust client | {n} | {median:.3} | {p99:.3} | {mean:.3} |");
    }
    // The floor of any daemon that forks: fork, exec and reap `/bin/true`
    // from this small process.
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let t0 = Instant::now();
        let status = Command::new("/bin/true")
            .status()
            .map_err(|e| e.to_string())?;
        samples.push(t0.elapsed().as_nanos());
        if !status.success() {
            return Err("/bin/true failed".into());
        }
    }
    let (median, p99, mean) = stats(samples);
    println!("| floor: fork, exec, wait `/bin/true` (std::process) | {n} | {median:.3} | {p99:.3} | {mean:.3} |");
    println!(
        "| daemon peak RSS (VmHWM) | | {} KiB after start, {} KiB after the calls | | |",
        rss_idle.map_or("?".into(), |k| k.to_string()),
        peak_rss_kib(child.id()).map_or("?".into(), |k| k.to_string())
    );
    drop(client);
    stop(child);
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("daemon-latency: {e}");
            ExitCode::FAILURE
        }
    }
}
