#!/usr/bin/env bash
# grpo-eval's speed on a 1M-completion file, and against math-verify on the same records.
#   benchmarks/eval/speed.sh [BUILD] [PREFIX]     (needs build/mv-venv: tests/eval/equivalence/README.md)
# 1. grpo-eval over the whole file (1,000,000 records, 16 samples a problem): records/s;
# 2. grpo-eval and math-verify (open-r1's call) over the first PREFIX records (default 10000),
#    alternating, twice each: records/s of both and their ratio, and the pass@1 each reports
#    next to the true one (the generator marks every record right or wrong).
# Writes build/bench/eval_speed.json.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${1:-$ROOT/build}
PREFIX=${2:-10000}
PY=${MV_PYTHON:-$ROOT/build/mv-venv/bin/python}
OUT=$BUILD/bench
mkdir -p "$OUT"
FILE=$OUT/completions_1m.jsonl
[[ -f $FILE ]] || python3 "$ROOT/benchmarks/eval/make_completions.py" --records 1000000 --out "$FILE"
head -n "$PREFIX" "$FILE" > "$OUT/completions_prefix.jsonl"
EVAL=$BUILD/tools/grpo-eval

run_grpo() {  # file -> "seconds pass@1"
  local t0 t1 p
  t0=$(date +%s.%N)
  p=$("$EVAL" --no-progress --bootstrap 0 --json "$OUT/eval_speed_summary.json" "$1" | awk '$1 == "pass@1" {print $2}')
  t1=$(date +%s.%N)
  echo "$(echo "$t1 - $t0" | bc -l) $p"
}

full=$(run_grpo "$FILE")
g=(); m=(); gp=""; mp=""
for round in 1 2; do
  r=$(run_grpo "$OUT/completions_prefix.jsonl"); g+=("${r% *}"); gp=${r#* }
  r=$("$PY" "$ROOT/benchmarks/eval/math_verify_eval.py" "$OUT/completions_prefix.jsonl")
  m+=("$(echo "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["seconds"])')")
  mp=$(echo "$r" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pass@1"])')
done
python3 - "$full" "$PREFIX" "$gp" "$mp" "${g[@]}" -- "${m[@]}" > "$OUT/eval_speed.json" 3<"$OUT/completions_prefix.jsonl" <<'PY'
import collections, json, os, statistics, sys
right, total = collections.Counter(), collections.Counter()
for line in os.fdopen(3):  # the truth the generator wrote
    r = json.loads(line)
    right[r["id"]] += r["right"]
    total[r["id"]] += 1
truth = sum(right[k] / total[k] for k in total) / len(total)
full_s, prefix, gp, mp = sys.argv[1].split()[0], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rest = sys.argv[5:]
cut = rest.index("--")
g, m = [float(x) for x in rest[:cut]], [float(x) for x in rest[cut + 1:]]
gm, mm = statistics.median(g), statistics.median(m)
print(json.dumps({
    "full_file": {"records": 1000000, "seconds": float(full_s), "records_per_s": 1e6 / float(full_s)},
    "prefix": {"records": prefix, "grpo_eval_seconds": g, "math_verify_seconds": m,
               "grpo_eval_records_per_s": prefix / gm, "math_verify_records_per_s": prefix / mm,
               "ratio": mm / gm, "true_pass1": truth, "grpo_eval_pass1": gp, "math_verify_pass1": mp}}, indent=1))
PY
cat "$OUT/eval_speed.json"
