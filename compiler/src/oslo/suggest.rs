//! Where an imported filter runs a program that a native action replaces
//! (the worst of the historic filters: `tee`, `mkdir`, `chmod`, `chown`,
//! `ln`, `rm`, `cat`, `sysctl`, nearly always with free arguments), the
//! comment above its rule names the step to use instead.

use rootwrap::types::file_name;

/// The action step that does what `command` was allowed for.
pub fn step_for(command: &str) -> Option<&'static str> {
    Some(match file_name(command) {
        "tee" => "write f from stdin max 64KiB replace",
        "mkdir" => "mkdir d mode 0755",
        "chmod" => "chmod f MODE",
        "chown" => "chown f OWNER",
        "ln" => "symlink l to TEXT",
        "rm" => "unlink f",
        "cat" => "read f max 64KiB",
        "sysctl" => "sysctl KEY VALUE",
        _ => return None,
    })
}

/// The program an imported rule's body runs: its first word, after
/// `env NAME=VALUE ...`.
pub fn command_of(body: &str) -> Option<&str> {
    let mut words = body.split_whitespace();
    let first = words.next()?;
    if first != "env" {
        return Some(first);
    }
    words.find(|word| !word.contains('='))
}

/// The comment's text for a rule whose body runs one of these programs.
pub fn suggestion(body: &str) -> Option<String> {
    let command = command_of(body)?;
    let step = step_for(command)?;
    Some(format!(
        "`{}` could be a native action instead, with the step `{step}` on a typed parameter \
         (`action NAME (f: <path DIR/**>): ...`, called as `@NAME ARGS`): rootwrap does it \
         itself on a descriptor opened beneath the scope, without running `{}` (see Actions \
         in the book)",
        file_name(command),
        file_name(command)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replaced_programs_are_found_in_any_spelling() {
        assert_eq!(command_of("/usr/bin/tee -a ..."), Some("/usr/bin/tee"));
        assert_eq!(command_of("env LC_ALL=C A=b cat x"), Some("cat"));
        assert!(suggestion("/bin/chown ...")
            .unwrap()
            .contains("`chown f OWNER`"));
        assert!(suggestion("sysctl ...")
            .unwrap()
            .contains("`sysctl KEY VALUE`"));
        assert_eq!(suggestion("ip link ..."), None);
        assert_eq!(suggestion("tee2 x"), None);
    }
}
