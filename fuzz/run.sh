#!/usr/bin/env bash
# Runs every cargo-fuzz target of herald for a bounded time, starting from the committed
# seeds (fuzz/seeds/<target>/, read-only) plus whatever earlier runs left in the
# git-ignored fuzz/corpus/<target>/. Any crash, timeout or out-of-memory fails the run.
#
# usage: fuzz/run.sh [seconds-per-target]        (default 30)
#   FUZZ_TARGETS="native_decode truncation"      run only these targets
#   FUZZ_ARGS="-jobs=2 -workers=2"               extra libFuzzer flags
#
# Toolchain: nightly with AddressSanitizer when `cargo +nightly` works, otherwise stable
# with `--sanitizer none`. No toolchain is ever downloaded.
set -euo pipefail

seconds="${1:-30}"
case "$seconds" in
  '' | *[!0-9]*) echo "usage: $0 [seconds-per-target]" >&2; exit 2 ;;
esac

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked
fi

if rustup toolchain list 2>/dev/null | grep -q '^nightly' && cargo +nightly --version >/dev/null 2>&1; then
  fuzz=(cargo +nightly fuzz)
  sanitizer=(--sanitizer address)
  echo "== $(cargo +nightly --version): AddressSanitizer"
else
  fuzz=(cargo fuzz)
  sanitizer=(--sanitizer none)
  echo "== $(cargo --version): no sanitizer (no nightly toolchain)"
fi

targets="${FUZZ_TARGETS:-$("${fuzz[@]}" list)}"
logs="target/run-logs"
mkdir -p "$logs"
echo "== building: $(echo $targets)"
build() {
  if [ -n "${FUZZ_TARGETS:-}" ]; then
    for target in $targets; do "${fuzz[@]}" build "${sanitizer[@]}" "$target" || return 1; done
  else
    "${fuzz[@]}" build "${sanitizer[@]}"
  fi
}
if ! build >"$logs/build.log" 2>&1; then
  tail -n 40 "$logs/build.log" >&2
  echo "== FUZZING FAILED: the targets do not build" >&2
  exit 1
fi
failed=()
for target in $targets; do
  seeds="seeds/$target"
  if [ ! -d "$seeds" ] || [ -z "$(ls -A "$seeds")" ]; then
    echo "== $target: seed folder $seeds is missing or empty" >&2
    failed+=("$target")
    continue
  fi
  mkdir -p "corpus/$target"
  echo "== $target: ${seconds}s from $(ls "$seeds" | wc -l) seeds"
  # shellcheck disable=SC2086 # FUZZ_ARGS holds several flags
  if ! "${fuzz[@]}" run "${sanitizer[@]}" "$target" "corpus/$target" "$seeds" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    ${FUZZ_ARGS:-} 2>"$logs/$target.log"; then
    grep -E 'ERROR|panicked|SUMMARY|Test unit written|^thread' "$logs/$target.log" >&2 || tail -n 30 "$logs/$target.log" >&2
    failed+=("$target")
  fi
  grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|#[0-9]+.*DONE' "$logs/$target.log" || true
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "== FUZZING FAILED: ${failed[*]} (inputs in fuzz/artifacts/<target>/, logs in fuzz/target/run-logs/)" >&2
  exit 1
fi
echo "== all targets ran ${seconds}s without a crash"
