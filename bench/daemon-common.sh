# bench/daemon-common.sh: sourced by daemon.sh and privsep.sh, which measure
# the same daemon on the same ruleset.

# Release binaries as they ship: the runtime once more on its own, since
# building it with the compiler unifies regex-automata's features into it.
build_release() {
    echo "== building release binaries"
    cargo build --release -p rootwrap -p rootwrap-compile -p rootwrap-bench
    cargo build --release -p rootwrap
}

# Sets `work`: a fresh root-owned directory under /var/lib (NAME in its
# name), removed at exit, holding `files/target` (root's) and `bench.rwc`:
# `allow true: true` and `@chown-action FILE` (one `chown` step), with a
# JSON audit log `audit.jsonl`.
bench_workdir() {
    work=$(mktemp -d "/var/lib/rootwrap-bench-$1.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    chmod 0755 "$work"
    mkdir -m 0755 "$work/files"
    : >"$work/files/target"
    cat >"$work/bench.rwf" <<RWF
ruleset bench
exec-dirs /bin /usr/bin
log json $work/audit.jsonl
allow true: true
action chown-action (f: <path $work/files/*>):
    chown f root:root
RWF
    target/release/rootwrap-compile -o "$work/bench.rwc" "$work/bench.rwf" >/dev/null
    chmod 0644 "$work/bench.rwc"
}
