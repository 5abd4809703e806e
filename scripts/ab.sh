#!/usr/bin/env bash
# A/B timing of two versions of the library on the hot paths, in one program: the token loss
# (TRL's grpo, serial and parallel, default (validated) and unchecked, 512×1024 and 4096×128) and
# the bf16 log-softmax forward.
#   scripts/ab.sh REV_A [REV_B] [REPS]    REV_B defaults to the working tree ("."), REPS to 400
# Each version's include/ is compiled into its own object with the namespace renamed
# (-Dgrpo=grpo_va / grpo_vb, benchmarks/ab/variant.cpp), and benchmarks/ab/main.cpp calls a and
# b alternately on the same inputs: it prints the median of the per-call ratios b/a with its
# quartiles, and the largest difference between the two versions' outputs (absolute times are
# slower than the benchmarks': the two copies share caches and predictors). Needs g++, OpenMP
# and Eigen (/usr/include/eigen3, or EIGEN=...).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
REV_A=${1:?usage: scripts/ab.sh REV_A [REV_B] [REPS]}
REV_B=${2:-.}
REPS=${3:-400}
EIGEN=${EIGEN:-/usr/include/eigen3}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

headers() {  # headers REV DIR: include/ of a revision, or of the working tree for "."
  mkdir -p "$2"
  if [[ $1 == . ]]; then cp -r "$ROOT/include" "$2/"; else git -C "$ROOT" archive "$1" include | tar -x -C "$2"; fi
}
headers "$REV_A" "$WORK/a"
headers "$REV_B" "$WORK/b"
FLAGS=(-O3 -std=c++20 -fopenmp -I"$EIGEN")
g++ "${FLAGS[@]}" -Dgrpo=grpo_va -DVARIANT=a -I"$WORK/a/include" -c "$ROOT/benchmarks/ab/variant.cpp" -o "$WORK/a.o" &
g++ "${FLAGS[@]}" -Dgrpo=grpo_vb -DVARIANT=b -I"$WORK/b/include" -c "$ROOT/benchmarks/ab/variant.cpp" -o "$WORK/b.o"
wait
g++ "${FLAGS[@]}" "$ROOT/benchmarks/ab/main.cpp" "$WORK/a.o" "$WORK/b.o" -o "$WORK/ab"
echo "a = $REV_A, b = $REV_B, $REPS calls each (log-softmax: a tenth)"
"$WORK/ab" "$REPS"
