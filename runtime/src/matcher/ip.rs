//! `<ip-args...>`: the `ip` usages that run programs or read commands.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;

/// `<ip-args...>`: refuses what lets `ip` run programs or read commands.
pub(super) fn ip_args_allowed(args: &[OsString]) -> Result<(), String> {
    // iproute2 accepts any unambiguous prefix of an object, command or
    // option, and `--opt` for `-opt`.
    let is_abbreviation =
        |word: &[u8], full: &[u8], min: usize| word.len() >= min && full.starts_with(word);
    let words: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
    for (i, word) in words.iter().enumerate() {
        let option = word
            .strip_prefix(b"-")
            .filter(|w| w.starts_with(b"-"))
            .unwrap_or(word);
        if option.starts_with(b"-") {
            if is_abbreviation(option, b"-batch", 2) {
                return Err(format!(
                    "`{}`: ip reads commands from a file with -batch",
                    String::from_utf8_lossy(word)
                ));
            }
            if is_abbreviation(option, b"-force", 3) {
                return Err(format!(
                    "`{}`: -force is not allowed",
                    String::from_utf8_lossy(word)
                ));
            }
        }
        if let Some(next) = words.get(i + 1) {
            let runs = is_abbreviation(word, b"netns", 3) || is_abbreviation(word, b"vrf", 1);
            if runs && is_abbreviation(next, b"exec", 1) {
                return Err(format!(
                    "`{} {}` runs another program",
                    String::from_utf8_lossy(word),
                    String::from_utf8_lossy(next)
                ));
            }
        }
    }
    Ok(())
}
