#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of tests/fuzz/targets.hpp with clang (AddressSanitizer
# + UndefinedBehaviorSanitizer) and runs each for SECONDS, two at a time, starting from the
# committed seed corpus and the regression inputs. A crash or property violation stops with the
# reproducer's path; copy it to tests/fuzz/regressions/<target>/ once fixed, so that
# test_fuzz_replay keeps it passing.
#   scripts/fuzz.sh [BUILD] [SECONDS]      env: FUZZ_TARGETS="answer json" (default: all)
set -euo pipefail
BUILD=${1:-build-fuzz}
SECONDS_EACH=${2:-30}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGETS=${FUZZ_TARGETS:-answer equivalence eval_records tokenizer checkpoint json objective}

cmake -S "$ROOT" -B "$BUILD" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DGRPO_BUILD_FUZZERS=ON -DGRPO_ENABLE_CUDA=OFF \
  -DGRPO_BUILD_EXAMPLES=OFF -DCMAKE_DISABLE_FIND_PACKAGE_Torch=ON >/dev/null
targets=()
for t in $TARGETS; do targets+=("fuzz_$t"); done
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"

run_one() {
  local t=$1 work="$BUILD/fuzz/$1"
  rm -rf "$work/artifacts"; mkdir -p "$work/corpus" "$work/artifacts"
  for d in "$ROOT/tests/fuzz/corpus/$t" "$ROOT/tests/fuzz/regressions/$t"; do
    [[ -d $d ]] && cp -n "$d"/* "$work/corpus/" 2>/dev/null || true
  done
  if "$BUILD/tests/fuzz/fuzz_$t" "$work/corpus" -max_total_time="$SECONDS_EACH" -timeout=10 \
      -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
      >"$work/log.txt" 2>&1; then
    echo "fuzz_$t: $(grep -E '^stat::number_of_executed_units' "$work/log.txt" | awk '{print $2}') runs in ${SECONDS_EACH}s, no failure"
  else
    echo "fuzz_$t: FAILED; reproducer(s): $(ls "$work/artifacts"/* 2>/dev/null | tr '\n' ' ')"
    tail -40 "$work/log.txt"
    return 1
  fi
}

status=0
pids=()
names=()
for t in $TARGETS; do
  run_one "$t" & pids+=($!); names+=("$t")
  if (( ${#pids[@]} == ${FUZZ_JOBS:-2} )); then
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    pids=()
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done
exit $status
