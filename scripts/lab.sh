#!/usr/bin/env bash
# `make lab`: builds examples/06_estimator_lab and runs it. Every table (markdown in lab.md, one
# CSV each) and every plot (SVG) goes under BUILD/lab/; docs/lab.md shows them and says what they
# mean. The full run takes about a minute on one core; --quick about ten seconds.
#   scripts/lab.sh [BUILD] [lab options: --quick, --seed N, --only kl|advantage|aggregation]
#   env: JOBS (build parallelism, default nproc)
set -euo pipefail
BUILD=build
if [[ $# -gt 0 && $1 != --* ]]; then BUILD=$1; shift; fi
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT="$BUILD/lab"

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
else
  cmake -S "$ROOT" -B "$BUILD" >/dev/null  # picks up a new example
fi
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target 06_estimator_lab

mkdir -p "$OUT"
start=$(date +%s%N)
"$BUILD/examples/06_estimator_lab" --out "$OUT" "$@"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
printf 'estimator lab: %d.%01d s; tables and plots in %s/\n' $((ms / 1000)) $((ms % 1000 / 100)) "$OUT"
