#!/usr/bin/env python3
"""A synthetic JSONL of model completions for timing grpo-eval against math-verify.

    python3 benchmarks/eval/make_completions.py --records 1000000 --out build/bench/completions.jsonl

One completion a line, 16 samples per problem (ids grouped, in order), gold answers in the forms
MATH references use (integers, fractions, radicals, pi multiples, tuples, intervals, decimals),
completions of a few hundred characters of reasoning ending in \\boxed{...}: the right answer in
another written form (about half), a near miss, or no box at all; each record says in "right"
which it is, so a tool's pass@1 can be checked. Seeded: the same file every run.
"""
import argparse
import json
import random

GOLDS = [
    ("\\frac{3}{4}", ["0.75", "\\dfrac34", "3/4", "\\frac{6}{8}"], ["0.7", "\\frac{4}{3}"]),
    ("8000", ["8,000", "8\\,000", "8000.0"], ["800", "8001"]),
    ("2\\sqrt{2}", ["\\sqrt{8}", "2 \\sqrt 2"], ["2.828", "\\sqrt{2}"]),
    ("\\frac{\\pi}{3}", ["\\pi/3", "\\frac{1}{3}\\pi"], ["1.047", "\\frac{\\pi}{6}"]),
    ("(1, -2)", ["(1,-2)", "\\left(1, -2\\right)"], ["(-2, 1)", "(1, 2)"]),
    ("[0, 5)", ["[0,5)"], ["[0, 5]", "(0, 5)"]),
    ("12.5", ["12.50", "\\frac{25}{2}", "12\\frac{1}{2}"], ["12", "125"]),
    ("x^2+2x+1", ["(x+1)^2", "1+2x+x^2"], ["x^2+1", "(x-1)^2"]),
    ("-\\frac{5}{2}", ["-2.5", "\\frac{-5}{2}"], ["\\frac52", "-2"]),
    ("42", ["42", "x = 42", "42.0"], ["24", "41"]),
]
WORDS = ("so we compute the sum of the terms and simplify the expression step by step then check "
         "the boundary cases carefully using the identity above which gives the value").split()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=16)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8") as f:
        for i in range(args.records):
            problem = i // args.samples
            gold, right, wrong = GOLDS[problem % len(GOLDS)]
            reasoning = " ".join(rng.choice(WORDS) for _ in range(rng.randint(30, 80)))
            r = rng.random()
            if r < 0.5:
                tail = "\\boxed{" + rng.choice(right) + "}"
            elif r < 0.9:
                tail = "\\boxed{" + rng.choice(wrong) + "}"
            else:
                tail = "I am not sure."
            rec = {"id": f"p{problem}", "answer": gold, "completion": "<think>" + reasoning + "</think> " + tail,
                   "right": r < 0.5}  # the truth, for checking what each tool reports
            f.write(json.dumps(rec) + "\n")


if __name__ == "__main__":
    main()
