#!/usr/bin/env bash
# Instruction counts of the core rows under callgrind: repeatable, unlike wall time on a
# shared machine. Each row runs with 0 and with N iterations; the difference divided by N
# is the per-operation count, and each herald row is divided by its limit row.
# Usage: benches/callgrind.sh [N]      (default N = 200)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
cargo build --release -q -p herald-benches --bin core_rows
bin="${CARGO_TARGET_DIR:-target}/release/core_rows"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() { # row iterations -> total instructions
  valgrind --tool=callgrind --callgrind-out-file="$tmp/out" "$bin" "$1" "$2" >/dev/null 2>"$tmp/err"
  grep -E '^summary:|^totals:' "$tmp/out" | head -1 | awk '{print $2}'
}
declare -A per
for row in $($bin --list); do
  base=$(count "$row" 0)
  total=$(count "$row" "$n")
  per[$row]=$(( (total - base) / n ))
done
echo "| row | instructions/op | limit instructions/op | ratio |"
echo "|---|---:|---:|---:|"
for row in $($bin --list); do
  case $row in herald_*)
    lim=${row/herald_/limit_}
    awk -v r="$row" -v h="${per[$row]}" -v l="${per[$lim]}" 'BEGIN { printf "| %s | %d | %d | %.3f |\n", r, h, l, h / l }'
  esac
done
