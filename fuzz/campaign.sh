#!/usr/bin/env bash
# The long fuzzing campaign: every target for a fixed number of executions (default 10
# million), one after another on one core, growing the git-ignored fuzz/corpus/<target>/
# from the committed seeds. Prints one markdown row per target — executions, execs/s,
# edge coverage (libFuzzer's `cov`), features (`ft`) and corpus size — the README's table.
#
# usage: fuzz/campaign.sh [runs-per-target]      (default 10000000)
#   FUZZ_TARGETS="native_decode truncation"      run only these targets
#   SANITIZER=address                            (default none: the fastest build, stable)
set -euo pipefail
runs="${1:-10000000}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
sanitizer="${SANITIZER:-none}"
fuzz=(cargo fuzz)
[ "$sanitizer" = none ] || fuzz=(cargo +nightly fuzz)
"${fuzz[@]}" build --sanitizer "$sanitizer" >/dev/null 2>&1 || "${fuzz[@]}" build --sanitizer "$sanitizer"
targets="${FUZZ_TARGETS:-$("${fuzz[@]}" list)}"
logs="target/campaign-logs"
mkdir -p "$logs"
bin="target/$(rustc -vV | sed -n 's/^host: //p')/release"
echo "| target | executions | execs/s | edges (cov) | features (ft) | corpus | time |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for target in $targets; do
  mkdir -p "corpus/$target"
  t0=$(date +%s)
  if ! "$bin/$target" "corpus/$target" "seeds/$target" -runs="$runs" -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
    >"$logs/$target.log" 2>&1; then
    echo "| $target | CRASHED: see fuzz/$logs/$target.log and fuzz/artifacts/$target/ | | | | | |"
    continue
  fi
  secs=$(( $(date +%s) - t0 ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$target.log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$logs/$target.log")
  last=$(grep -E '^#[0-9]+' "$logs/$target.log" | grep -E 'cov: ' | tail -n 1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(ls "corpus/$target" | wc -l)
  echo "| $target | $execs | $rate | $cov | $ft | $corp | ${secs}s |"
done
