#!/usr/bin/env bash
# `make bench`: builds every benchmarks/bench_*.cpp, runs each with JSON output into BUILD/bench/
# (medians over repetitions), prints each fused path against the memory floor and the naive path
# measured in the same run, then runs the PyTorch comparison (benchmarks/compare_torch.py: the
# hot paths, then every preset against its peer's formula eager and under torch.compile) when a
# python with torch is found (BUILD/peers/venv first, else /usr/bin/python3), and
# benchmarks/torch_interop.cpp when libtorch is (grpo::torch against libtorch's own ops).
#   scripts/bench.sh [BUILD]     env: REPS (default 5), PYTHON, BENCH_FILTER, SKIP_TORCH=1,
#                                BENCHES="bench_stream bench_logprob" (default: every bench_*)
set -euo pipefail
BUILD=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-5}
OUT="$BUILD/bench"
mkdir -p "$OUT"

targets=()
if [[ -n ${BENCHES:-} ]]; then
  read -r -a targets <<<"$BENCHES"
else
  for src in "$ROOT"/benchmarks/bench_*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi
cmake -S "$ROOT" -B "$BUILD" -DGRPO_BUILD_BENCHMARKS=ON >/dev/null  # picks up new bench_*.cpp
cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"

# the floor first, so that every kernel can be compared with a bandwidth of this same run
ordered=()
for t in "${targets[@]}"; do [[ $t == bench_stream ]] && ordered+=("$t"); done
for t in "${targets[@]}"; do [[ $t == bench_stream ]] || ordered+=("$t"); done
for t in "${ordered[@]}"; do
  echo "== $t =="
  "$BUILD/benchmarks/$t" --benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true \
    --benchmark_filter="${BENCH_FILTER:-.}" \
    --benchmark_out="$OUT/$t.json" --benchmark_out_format=json
done

PY=${PYTHON:-}
if [[ -z $PY ]]; then
  # PyTorch from PyPI in a venv under build/ first (tests/peers/make_fixtures.sh makes one; Debian's
  # torch 1.13 uses a generic BLAS and has no working torch.compile)
  for p in "$BUILD/peers/venv/bin/python" /usr/bin/python3 python3; do
    if "$p" -c "import torch" 2>/dev/null; then PY=$p; break; fi
  done
fi
SUMMARY_PY=${PY:-python3}
"$SUMMARY_PY" - "$OUT" <<'PYEOF'
import glob, json, os, sys
out = sys.argv[1]
med = {}
for f in sorted(glob.glob(os.path.join(out, "bench_*.json"))):
    for b in json.load(open(f))["benchmarks"]:
        if b.get("aggregate_name") == "median":
            med[b["run_name"].split("/min_time")[0].split("/real_time")[0]] = b
read = next((b for k, b in med.items() if k.startswith("BM_stream_read")), None)
floor = read["bytes_per_second"] if read else None
print("\n== summary (medians of this run) ==")
if floor:
    print(f"memory floor: STREAM-like read {floor/1e9:.2f} GB/s")
for k, b in med.items():
    line = f"{k:58s} {b['real_time']:10.2f} {b['time_unit']}"
    if "bytes_per_second" in b and floor and not k.startswith("BM_stream"):
        line += f"  {b['bytes_per_second']/1e9:6.2f} GB/s = {floor / b['bytes_per_second']:.2f}x the read floor's time"
    if "FLOP/s" in b:
        line += f"  {b['FLOP/s']/1e9:6.1f} GFLOP/s"
    if "floor_ratio" in b:  # timed in pairs with its own floor (bench_logprob, bench_token_loss)
        line += f"  paired with its floor: {b['floor_ratio']:.2f}x"
    naive = k.replace("_fused", "_naive")
    if naive != k and naive in med:
        line += f"  naive/fused {med[naive]['real_time'] / b['real_time']:.1f}x"
    print(line)
PYEOF

# grpo/interop/torch.hpp against libtorch itself, when the component torch is configured
if cmake --build "$BUILD" --target help | grep -q 'torch_interop'; then
  cmake --build "$BUILD" -j "${JOBS:-$(nproc)}" --target torch_interop
  echo "== torch_interop =="
  "$BUILD/benchmarks/torch_interop" | tee "$OUT/torch_interop.txt"
fi

if [[ -n ${SKIP_TORCH:-} ]]; then exit 0; fi
if [[ -z $PY ]]; then
  echo "compare_torch.py skipped: no python with torch (apt-get install python3-torch)"
  exit 0
fi
"$PY" "$ROOT/benchmarks/compare_torch.py" --bin "$BUILD/benchmarks/bench_logprob" --out "$OUT/compare.json"
