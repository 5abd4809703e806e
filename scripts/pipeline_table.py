#!/usr/bin/env python3
"""The tables of docs/pipeline.md from the summary.json files of examples/05_r1_pipeline runs
(one per seed): each figure is the mean over the runs with its range [min, max]."""
import json
import sys


def cell(values, digits=3):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    mean = sum(values) / len(values)
    if len(values) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{min(values):.{digits}f}, {max(values):.{digits}f}]"


def main(paths):
    runs = [json.load(open(p)) for p in paths]
    seeds = ", ".join(str(int(r["seed"])) for r in runs)
    print(f"\nseeds {seeds}: mean [min, max]\n")
    cols = [("pass1", "pass@1"), ("pass1_any_format", "pass@1 any format"), ("cons_at_k", "cons@8"),
            ("format", "format"), ("language", "language"), ("readable", "readable"), ("length", "length")]
    print("| stage | " + " | ".join(c[1] for c in cols) + " | student GFLOPs |")
    print("|---|" + "---|" * (len(cols) + 1))
    for i, stage in enumerate(runs[0]["stages"]):
        row = [stage["name"]]
        for key, _ in cols:
            row.append(cell([r["stages"][i][key] for r in runs], 1 if key == "length" else 3))
        row.append(cell([r["stages"][i]["gflops"] for r in runs], 1))
        print("| " + " | ".join(row) + " |")
    ks = runs[0]["pass_at_k"]["k"]
    print(f"\npass@k (64 problems, 64 samples each)\n")
    print("| model | " + " | ".join(f"k={k}" for k in ks) + " |")
    print("|---|" + "---|" * len(ks))
    for name in [n for n in runs[0]["pass_at_k"] if n != "k"]:
        print(f"| {name} | " + " | ".join(cell([r["pass_at_k"][name][j] for r in runs]) for j in range(len(ks))) + " |")
    print("\nrejection sampling from the reasoning-RL checkpoint (sums over the seeds)\n")
    keys = ["sampled", "kept", "duplicate", "incorrect", "language", "format", "truncated", "length", "quota"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    print("| " + " | ".join(str(int(sum(r["rejection_" + k] for r in runs))) for k in keys) + " |")
    print("\ncompute")
    for key in ["teacher_params", "student_params", "teacher_gflops", "student_pretrain_gflops", "student_budget_steps",
                "kd_teacher_gflops", "sft_set_reasoning", "sft_set_total", "distill_traces", "seconds"]:
        print(f"- {key}: {cell([r[key] for r in runs], 1)}")


if __name__ == "__main__":
    main(sys.argv[1:])
