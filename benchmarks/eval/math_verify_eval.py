#!/usr/bin/env python3
"""pass@1 of a completions JSONL with Hugging Face math-verify, called as open-r1's accuracy reward
calls it (the same call as tests/eval/equivalence/make_corpus.py): the baseline grpo-eval's speed
is quoted against (benchmarks/eval/speed.sh).

    build/mv-venv/bin/python benchmarks/eval/math_verify_eval.py FILE [--limit N]

Prints records, seconds, records/s and pass@1 (the mean over problems of the fraction correct).
"""
import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "eval" / "equivalence"))
from make_corpus import make_verdict_fn  # noqa: E402  (parse gold and completion, then verify)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--limit", type=int, default=0, help="read only the first N records")
    args = ap.parse_args()
    verdict = make_verdict_fn(False)
    right, total = defaultdict(int), defaultdict(int)
    start = time.perf_counter()
    n = 0
    with open(args.file, encoding="utf-8") as f:
        for line in f:
            if args.limit and n >= args.limit:
                break
            rec = json.loads(line)
            # the whole completion, as open-r1's accuracy reward hands it to math-verify
            ok = bool(verdict(rec["answer"], None, completion=rec["completion"]))
            right[rec["id"]] += ok
            total[rec["id"]] += 1
            n += 1
    secs = time.perf_counter() - start
    pass1 = sum(right[k] / total[k] for k in total) / len(total)
    print(json.dumps({"tool": "math-verify", "records": n, "seconds": secs, "records_per_s": n / secs, "pass@1": pass1}))


if __name__ == "__main__":
    main()
