#!/usr/bin/env bash
# `make pipeline`: builds examples/05_r1_pipeline and runs it for seeds 1-3 one after another
# (each writes BUILD/pipeline/seedN/{summary.json, per-stage CSV and SVG}), then prints the
# tables of docs/pipeline.md: mean and range over the seeds (scripts/pipeline_table.py).
#   scripts/pipeline.sh [BUILD] [SEEDS...]     e.g. scripts/pipeline.sh build 1 2 3 4 5
#   env: JOBS (build parallelism, default nproc)
set -euo pipefail
BUILD=build
if [[ $# -gt 0 && ! $1 =~ ^[0-9]+$ ]]; then BUILD=$1; shift; fi
SEEDS=("$@")
[[ ${#SEEDS[@]} -gt 0 ]] || SEEDS=(1 2 3)
ROOT=$(cd "$(dirname "$0")/.." && pwd)

if [[ ! -f $BUILD/CMakeCache.txt ]]; then
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
else
  cmake -S "$ROOT" -B "$BUILD" >/dev/null
fi
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target 05_r1_pipeline

summaries=()
for s in "${SEEDS[@]}"; do
  out="$BUILD/pipeline/seed$s"
  mkdir -p "$out"
  start=$(date +%s%N)
  "$BUILD/examples/05_r1_pipeline" --seed "$s" --out "$out" > "$out/stdout.txt" 2> "$out/stderr.txt"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  printf 'seed %s: %d.%01d s wall\n' "$s" $((ms / 1000)) $((ms % 1000 / 100))
  summaries+=("$out/summary.json")
done
python3 "$ROOT/scripts/pipeline_table.py" "${summaries[@]}"
