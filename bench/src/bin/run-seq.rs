//! `run-seq CMD ARGS... [:: CMD ARGS...]...`: runs each command line in
//! turn, without a shell, stopping at the first that fails (its status is
//! run-seq's). For timing several calls as one command without a shell's
//! cost (bench/action-cost.sh).

use std::process::{Command, ExitCode};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    for line in args.split(|a| a == "::") {
        let Some((program, rest)) = line.split_first() else {
            continue;
        };
        match Command::new(program).args(rest).status() {
            Ok(status) if status.success() => {}
            Ok(status) => {
                return ExitCode::from(u8::try_from(status.code().unwrap_or(1)).unwrap_or(1))
            }
            Err(e) => {
                eprintln!("run-seq: {program}: {e}");
                return ExitCode::from(127);
            }
        }
    }
    ExitCode::SUCCESS
}
