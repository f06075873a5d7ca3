//! `gen-rwf N > FILE.rwf`: the benchmarks' synthetic filter file of N rules
//! (see `rootwrap_bench::generate_rwf`). Used by `bench/cli.sh`.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let n = match (
        args.next()
            .map(|a| a.replace(['_', ','], "").parse::<usize>()),
        args.next(),
    ) {
        (Some(Ok(n)), None) if n > 0 => n,
        _ => {
            eprintln!("usage: gen-rwf N > FILE.rwf   (N > 0 rules)");
            return ExitCode::from(2);
        }
    };
    let text = rootwrap_bench::generate_rwf(n);
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gen-rwf: cannot write: {e}");
            ExitCode::FAILURE
        }
    }
}
