#!/usr/bin/env bash
# bench/audit-cost.sh: what the audit log adds to a call. Whole-process wall
# time of `rootwrap R.rwc true` with the same one-rule ruleset compiled four
# ways, measured in the same run:
#
#   none         no `log` option
#   json         log json WORK/log/audit.jsonl
#   syslog       log syslog            (authpriv, info / warning)
#   json+syslog  both
#
#   bench/audit-cost.sh          (as root: the runtime refuses rulesets that
#                                 are not root's, and mounting needs root)
#
# Environment: ROUNDS (5), RUNS per command per round (300), WARMUP (50),
# OUT (target/rootwrap-bench-audit: the hyperfine JSON files), PIN (1),
# RECEIVER (python, or journald: the real systemd-journald, started in the
# namespace with its own /run and /var/log, rate limit off).
#
# Method: release binaries (`cargo build --release -p rootwrap -p
# rootwrap-compile`, then the runtime once more on its own, as it ships),
# copied to a fresh root-owned directory under /var/lib with the rulesets
# (mode 0644). rootwrap's syslog client writes to /dev/log: a small Python
# receiver binds a Unix datagram socket there and drains it (as journald or
# rsyslog would,
# minus their processing), and every row runs inside the same private mount
# namespace (`unshare -m`, /dev a tmpfs with null/zero/random/urandom and
# /dev/log -> the receiver's socket), so the four rows see the same system.
# Nothing outside the namespace changes. hyperfine runs without a shell
# (-N), with warm-up, ROUNDS times over the four commands in a rotated order
# each round (interleaved, so drift hits every row alike); the figure per row
# is the median of its per-round medians. Ratios are against `none`; the
# targets: syslog adds under 3% (ratio < 1.03), the JSON file and both
# together under 10% (ratio < 1.10). At the end the
# script checks that every call was really logged: the JSON file's line
# count and the receiver's datagram count.
set -euo pipefail

ROUNDS=${ROUNDS:-5}
RUNS=${RUNS:-300}
RECEIVER=${RECEIVER:-python}
WARMUP=${WARMUP:-50}

repo=$(cd "$(dirname "$0")/.." && pwd)
OUT=${OUT:-$repo/target/rootwrap-bench-audit}
names=(none json syslog json+syslog)

die() { echo "audit-cost.sh: $*" >&2; exit 1; }

# --- inside the mount namespace: /dev/log, then the measurements ----------
if [ "${1:-}" = "--inside" ]; then
    work=$2
    mount --make-rprivate /
    log_socket=$work/log.sock
    if [ "$RECEIVER" = journald ]; then
        mount -t tmpfs rootwrap-bench /run
        mount -t tmpfs rootwrap-bench /var/log
        mkdir -p /run/systemd/journald.conf.d /run/log/journal
        printf '[Journal]\nStorage=volatile\nRateLimitIntervalSec=0\n' \
            >/run/systemd/journald.conf.d/bench.conf
        ${RECEIVER_CPU:+taskset -c "$RECEIVER_CPU"} /lib/systemd/systemd-journald </dev/null >/dev/null 2>&1 &
        journald=$!
        for _ in $(seq 1 100); do [ -S /run/systemd/journal/dev-log ] && break; sleep 0.05; done
        [ -S /run/systemd/journal/dev-log ] || die "journald did not start"
        log_socket=/run/systemd/journal/dev-log
    fi
    mount -t tmpfs -o mode=0755 rootwrap-bench /dev
    mknod -m 0666 /dev/null c 1 3
    mknod -m 0666 /dev/zero c 1 5
    mknod -m 0666 /dev/random c 1 8
    mknod -m 0666 /dev/urandom c 1 9
    ln -s "$log_socket" /dev/log
    ln -s /proc/self/fd /dev/fd
    rootwrap="$work/rootwrap"
    cmds=()
    for name in "${names[@]}"; do
        file=${name/+/-}
        "$rootwrap" "$work/$file.rwc" true || die "rootwrap $file.rwc true failed"
        cmds+=("$rootwrap $work/$file.rwc true")
    done
    # In production every call comes through sudo, which sets these: the
    # runtime then takes the caller from them and needs no user-database
    # lookup (without them, each record costs an NSS lookup of the uid).
    export SUDO_USER=${SUDO_USER:-audit-bench} SUDO_UID=${SUDO_UID:-4242}
    echo "== hyperfine: $ROUNDS rounds x $RUNS runs (warm-up $WARMUP), -N, one mount namespace, SUDO_USER=$SUDO_USER SUDO_UID=$SUDO_UID"
    for round in $(seq 1 "$ROUNDS"); do
        args=()
        for i in "${!names[@]}"; do
            j=$(( (i + round - 1) % ${#names[@]} ))
            args+=(-n "${names[$j]}" "${cmds[$j]}")
        done
        hyperfine -N --style basic --warmup "$WARMUP" --runs "$RUNS" \
            --export-json "$OUT/round-$round.json" "${args[@]}" >"$OUT/round-$round.txt" 2>&1
        echo "  round $round: $(jq -r '[.results[] | "\(.command) \(.median * 1000 | . * 1000 | round / 1000)"] | join(", ")' "$OUT/round-$round.json") (ms)"
    done
    if [ "$RECEIVER" = journald ]; then
        journalctl -D /run/log/journal -t rootwrap -q -o cat --no-pager | wc -l >"$work/received"
        kill "$journald"
    fi
    exit 0
fi

# --- outside: build, set up, receive, report -----------------------------
cd "$repo"
[ "$(id -u)" -eq 0 ] || die "run as root (e.g. sudo -E bench/audit-cost.sh): rulesets must be root's, and the syslog rows need a mount namespace"
case $RECEIVER in
    python) ;;
    journald) [ -x /lib/systemd/systemd-journald ] || die "RECEIVER=journald needs /lib/systemd/systemd-journald (apt-get install systemd)" ;;
    *) die "RECEIVER is python or journald, not $RECEIVER" ;;
esac
for tool in hyperfine jq python3 unshare mount mknod taskset nproc; do
    command -v "$tool" >/dev/null || die "needs $tool (apt-get install hyperfine jq python3 util-linux coreutils)"
done

echo "== building release binaries"
cargo build --release -p rootwrap -p rootwrap-compile
# The runtime once more on its own, as it ships: building it together with
# the compiler unifies regex-automata's features into it.
cargo build --release -p rootwrap

work=$(mktemp -d /var/lib/rootwrap-bench-audit.XXXXXX)
receiver_pid=
cleanup() {
    [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null && wait "$receiver_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
chmod 0755 "$work"
mkdir -p "$work/log" "$OUT"
rm -f "$OUT"/round-*.json "$OUT"/round-*.txt
# Private copies: target/ is shared, and a rebuild during the run must not
# change what is measured.
install -m 0755 target/release/rootwrap "$work/rootwrap"

echo "== rulesets in $work"
for name in "${names[@]}"; do
    file=${name/+/-}
    log=
    case $name in
        json) log="log json $work/log/audit.jsonl" ;;
        syslog) log="log syslog" ;;
        json+syslog) log=$'log json '"$work/log/audit.jsonl"$'\nlog syslog' ;;
    esac
    printf 'ruleset audit-cost\nexec-dirs /usr/bin /bin\n%s\nallow true: true\n' "$log" >"$work/$file.rwf"
    target/release/rootwrap-compile -o "$work/$file.rwc.tmp" "$work/$file.rwf" 2>&1 | sed 's/^/  /'
    install -o root -g root -m 0644 "$work/$file.rwc.tmp" "$work/$file.rwc"
    rm -f "$work/$file.rwc.tmp"
done

echo "== syslog receiver on $work/log.sock"
cat >"$work/receiver.py" <<'EOF'
import os, signal, socket, sys
path, count_file = sys.argv[1], sys.argv[2]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
os.chmod(path, 0o666)
count = 0
def stop(*_):
    with open(count_file, "w") as f:
        f.write(f"{count}\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
open(count_file + ".ready", "w").close()
# One preallocated buffer: the receiver must cost as little as a syslog
# daemon's socket read, or its wake-ups show up in the calls' wall time.
buffer = bytearray(1 << 20)
while True:
    sock.recv_into(buffer)
    count += 1
EOF
PIN=${PIN:-1}
[ "$(nproc)" -ge 2 ] || PIN=0
receiver_cpu=() calls_cpu=()
if [ "$PIN" = 1 ]; then
    receiver_cpu=(taskset -c 1) calls_cpu=(taskset -c 0)
fi
echo "== RECEIVER=$RECEIVER PIN=$PIN${receiver_cpu:+ (receiver on CPU 1, calls on CPU 0)}"
if [ "$RECEIVER" = python ]; then
    "${receiver_cpu[@]}" python3 "$work/receiver.py" "$work/log.sock" "$work/received" &
    receiver_pid=$!
    for _ in $(seq 1 100); do [ -e "$work/received.ready" ] && break; sleep 0.05; done
    [ -e "$work/received.ready" ] || die "the syslog receiver did not start"
fi

OUT=$OUT ROUNDS=$ROUNDS RUNS=$RUNS WARMUP=$WARMUP RECEIVER=$RECEIVER \
    RECEIVER_CPU=${receiver_cpu:+1} "${calls_cpu[@]}" unshare -m "$0" --inside "$work"

if [ -n "$receiver_pid" ]; then
    kill "$receiver_pid"
    wait "$receiver_pid" || true
    receiver_pid=
fi

# The median of a command's per-round medians, in ms.
median_of() {
    jq -s --arg name "$1" '
        [.[].results[] | select(.command == $name) | .median] | sort
        | if length % 2 == 1 then .[length / 2 | floor]
          else (.[length / 2 - 1] + .[length / 2]) / 2 end
        | . * 1000' "$OUT"/round-*.json
}
declare -A med
for name in "${names[@]}"; do med[$name]=$(median_of "$name"); done
ratio() { jq -n --argjson a "$1" --argjson b "$2" '$a / $b * 1000 | round / 1000'; }
verdict() { jq -n -r --argjson v "$1" --argjson t "$2" 'if $v < $t then "ok" else "MISSED" end'; }

echo
echo "== wall time of \`rootwrap R.rwc true\`, median of $ROUNDS per-round medians"
for name in "${names[@]}"; do
    printf '  %-12s %8.3f ms\n' "$name" "${med[$name]}"
done
echo "== ratios to none (targets: syslog < 1.03, json and json+syslog < 1.10)"
for name in json syslog json+syslog; do
    target=1.10
    [ "$name" = syslog ] && target=1.03
    r=$(ratio "${med[$name]}" "${med[none]}")
    printf '  %-12s %6.3f  (%+.3f ms: %s)\n' "$name" "$r" \
        "$(jq -n --argjson a "${med[$name]}" --argjson b "${med[none]}" '$a - $b')" "$(verdict "$r" "$target")"
done

# Every call of a logging row wrote its record: (warm-up + runs) per round,
# plus the one check call per ruleset.
calls=$(( ROUNDS * (WARMUP + RUNS) + 1 ))
lines=$(wc -l <"$work/log/audit.jsonl")
received=$(cat "$work/received")
echo "== records: JSON file $lines lines, syslog receiver $received datagrams (expected $((2 * calls)) each)"
[ "$lines" -eq $((2 * calls)) ] || die "JSON records missing: $lines, expected $((2 * calls))"
[ "$received" -eq $((2 * calls)) ] || die "syslog records missing: $received, expected $((2 * calls))"
jq -e . <"$work/log/audit.jsonl" >/dev/null || die "a JSON record does not parse"
echo "(hyperfine JSON: $OUT/round-*.json)"
