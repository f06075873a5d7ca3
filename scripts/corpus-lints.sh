#!/usr/bin/env bash
# The lint findings over the real oslo.rootwrap corpus
# (../shared/corpus/oslo-filters): each directory of .filters files (one
# project's rootwrap.d at one version) is imported with `import-oslo` and
# checked as one ruleset; prints a Markdown table of warnings per lint.
#
#   scripts/corpus-lints.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
corpus=${1:-../shared/corpus/oslo-filters}
cargo build --quiet -p rootwrap-compile
bin=${CARGO_TARGET_DIR:-target}/debug/rootwrap-compile
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

lints=(any-args shadowed any-env code-runner regex-path any-arg other-user dead-chain
  pin-defeated entry-follows unpinned-writable as-typo glued-items log-path chain-reach)
printf '| deployment | rules |'; printf ' %s |' "${lints[@]}"; echo
printf '| --- | --- |'; printf ' --- |%.0s' "${lints[@]}"; echo
declare -A total
rules_total=0
while IFS= read -r dir; do
  out="$work/$(echo "$dir" | tr / _)"
  mapfile -t filters < <(find "$dir" -maxdepth 1 -name '*.filters' | sort)
  # Exit 2 (some filters refused) still writes the files.
  "$bin" import-oslo -o "$out" "${filters[@]}" 2>/dev/null || [ $? -eq 2 ]
  json=$("$bin" check --message-format json "$out" 2>"$work/summary" || true)
  rules=$(grep -o 'ok: [0-9]* rules' "$work/summary" | grep -o '[0-9]*')
  rules_total=$((rules_total + rules))
  printf '| %s | %s |' "${dir#"$corpus"/}" "$rules"
  for lint in "${lints[@]}"; do
    n=$(grep -c "\"code\":\"$lint\"" <<<"$json" || true)
    total[$lint]=$(( ${total[$lint]:-0} + n ))
    printf ' %s |' "$n"
  done
  echo
done < <(find "$corpus" -name '*.filters' -printf '%h\n' | sort -u)
printf '| **all** | %s |' "$rules_total"
for lint in "${lints[@]}"; do printf ' %s |' "${total[$lint]}"; done
echo
