#!/usr/bin/env bash
# bench/action-cost.sh: a sequence of 3 root steps as one `@action` call,
# against the same 3 steps as three `rootwrap` calls and as three
# `oslo-rootwrap` calls, each without and with sudo in front, in one run.
#
#   bench/action-cost.sh      (as root)
#
# The steps: make a directory (it exists: fine, as `mkdir -p`), chmod a file
# in it, chown that file.
#   action  rootwrap R.rwc @prep DIR                       (one call, 3 steps)
#   three   rootwrap R.rwc mkdir -p -- DIR; rootwrap R.rwc chmod 0640 -- DIR/f;
#           rootwrap R.rwc chown root:root -- DIR/f        (3 calls)
#   oslo    the same 3 command lines through oslo-rootwrap (CommandFilter
#           mkdir, chmod, chown), when OSLO_ROOTWRAP names one (default: the
#           venv the differential test makes, target/tmp/oslo-rootwrap-*-venv)
# Every row runs under `run-seq` (bench/src/bin/run-seq.rs: the command
# lines one after the other, no shell), so one call and three pay the same
# launcher.
# The `sudo` rows run hyperfine as BENCH_USER (created if missing), each
# call as `sudo -n ...` through a sudoers drop-in removed at exit.
# ROUNDS rotated rounds of RUNS runs, median of the rounds'
# medians. Environment: ROUNDS (3), RUNS (100), WARMUP (10), NO_BUILD,
# OSLO_ROOTWRAP, BENCH_USER (rw-action-bench).
set -euo pipefail
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-100}
WARMUP=${WARMUP:-10}
BENCH_USER=${BENCH_USER:-rw-action-bench}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
[ "$(id -u)" -eq 0 ] || { echo "action-cost.sh: run as root" >&2; exit 1; }
command -v hyperfine >/dev/null && command -v jq >/dev/null ||
    { echo "action-cost.sh: needs hyperfine and jq" >&2; exit 1; }
if [ -z "${OSLO_ROOTWRAP:-}" ]; then
    OSLO_ROOTWRAP=$(ls -d "$repo"/target/tmp/oslo-rootwrap-*-venv/bin/oslo-rootwrap 2>/dev/null | head -1 || true)
fi
if [ -z "${NO_BUILD:-}" ]; then
    cargo build --release -p rootwrap-compile -p rootwrap -p rootwrap-bench --bin run-seq
fi
id "$BENCH_USER" >/dev/null 2>&1 || useradd --system --no-create-home "$BENCH_USER"

work=$(mktemp -d /var/lib/rootwrap-action-cost.XXXXXX)
sudoers=/etc/sudoers.d/rootwrap-action-cost
trap 'rm -rf "$work" "$sudoers"' EXIT
chmod 0755 "$work"
mkdir -p "$work/data/d" "$work/out"
echo x >"$work/data/d/f"
chown "$BENCH_USER" "$work/out"
dir="$work/data/d"
install -m 0755 target/release/rootwrap "$work/rootwrap"
install -m 0755 target/release/run-seq "$work/run-seq"
cat >"$work/r.rwf" <<RWF
ruleset bench
exec-dirs /usr/bin /bin
action prep (d: <path-entry $work/data/*>):
    mkdir d parents mode 0755
    chmod d/"f" 0640
    chown d/"f" root:root
allow mkdir: mkdir -p -- <path-entry $work/data/*>
allow chmod: chmod 0640 -- <path $work/data/**>
allow chown: chown root:root -- <path $work/data/**>
RWF
target/release/rootwrap-compile -o "$work/r.rwc" "$work/r.rwf" >/dev/null
chmod 0644 "$work/r.rwc"
echo "$BENCH_USER ALL = (root) NOPASSWD: $work/rootwrap $work/r.rwc *" >"$sudoers"
if [ -n "$OSLO_ROOTWRAP" ]; then
    mkdir -p "$work/oslo.d"
    printf '[Filters]\nmkdir: CommandFilter, mkdir, root\nchmod: CommandFilter, chmod, root\nchown: CommandFilter, chown, root\n' \
        >"$work/oslo.d/bench.filters"
    printf '[DEFAULT]\nfilters_path=%s/oslo.d\nexec_dirs=/usr/sbin,/usr/bin,/sbin,/bin\nuse_syslog=False\n' \
        "$work" >"$work/oslo.conf"
    echo "$BENCH_USER ALL = (root) NOPASSWD: $OSLO_ROOTWRAP $work/oslo.conf *" >>"$sudoers"
fi
chmod 0440 "$sudoers"

rw="$work/rootwrap $work/r.rwc"
seq="$work/run-seq"
three() { # PREFIX WRAPPER
    echo "$seq $1$2 mkdir -p -- $dir :: $1$2 chmod 0640 -- $dir/f :: $1$2 chown root:root -- $dir/f"
}
names=(action three)
cmds=("$seq $rw @prep $dir" "$(three "" "$rw")")
sudo_cmds=("$seq sudo -n $rw @prep $dir" "$(three "sudo -n " "$rw")")
if [ -n "$OSLO_ROOTWRAP" ]; then
    names+=(oslo)
    cmds+=("$(three "" "$OSLO_ROOTWRAP $work/oslo.conf")")
    sudo_cmds+=("$(three "sudo -n " "$OSLO_ROOTWRAP $work/oslo.conf")")
fi
for i in "${!cmds[@]}"; do
    ${cmds[$i]} >/dev/null || { echo "action-cost.sh: ${names[$i]} fails: ${cmds[$i]}" >&2; exit 1; }
    runuser -u "$BENCH_USER" -- ${sudo_cmds[$i]} >/dev/null ||
        { echo "action-cost.sh: sudo ${names[$i]} fails: ${sudo_cmds[$i]}" >&2; exit 1; }
done

declare -A medians
for round in $(seq 1 "$ROUNDS"); do
    plain=() sudo=()
    n=${#cmds[@]}
    for k in $(seq 0 $((n - 1))); do
        i=$(((k + round) % n))
        plain+=(-n "${names[$i]}" "${cmds[$i]}")
        sudo+=(-n "sudo-${names[$i]}" "${sudo_cmds[$i]}")
    done
    hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$work/out/plain$round.json" \
        "${plain[@]}" >/dev/null 2>&1
    runuser -u "$BENCH_USER" -- hyperfine -N -w "$WARMUP" -r "$RUNS" \
        --export-json "$work/out/sudo$round.json" "${sudo[@]}" >/dev/null 2>&1
    for name in "${names[@]}"; do
        for kind in plain sudo; do
            key=$name
            [ $kind = sudo ] && key=sudo-$name
            m=$(jq -r --arg n "$key" '.results[] | select(.command == $n) | .median' \
                "$work/out/$kind$round.json")
            medians[$key]+="$m "
        done
    done
done
median_of() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-14s %10s %10s\n' row median/ms x-action
for prefix in "" sudo-; do
    base=$(median_of "${medians[${prefix}action]}")
    for name in "${names[@]}"; do
        m=$(median_of "${medians[$prefix$name]}")
        awk -v n="$prefix$name" -v m="$m" -v b="$base" 'BEGIN { printf "%-14s %10.3f %10.2f\n", n, m * 1000, m / b }'
    done
done
