#!/usr/bin/env python3
"""Build the answer-equivalence corpus for grpo-eval's math checker.

Every pair below is written by hand: (gold, pred, careful, convention, why).

  gold        the reference answer as MATH / AIME / GSM8K write it (LaTeX, no `$`)
  pred        the model's final answer as it appears inside \\boxed{...}
  careful     the verdict of a careful mathematician: is pred a correct
              statement of the gold answer?
  convention  "" when that verdict is unambiguous; otherwise the convention it
              depends on ("percent", "degrees", "units", "set_vs_tuple",
              "decimal_comma", "domain").  For such pairs `careful` is the
              verdict under the corpus defaults:
                - a percent sign is a unit and is dropped (50\\% == 50, 50\\% != 0.5)
                - a degree sign is dropped (30^\\circ == 30; degrees != radians)
                - units (\\text{...} or words after a number) are dropped, never
                  converted (1 km != 1000 m; 5 cm == 5 m)
                - a comma is never a decimal separator, a period always is
  why         one short sentence

The script then asks Hugging Face's math-verify for its verdict on each pair,
called the way open-r1's `accuracy_reward` calls it (see `math_verify_verdict`),
and writes corpus.jsonl next to this file, one JSON object per line, in the
order the pairs appear here.  It is not run by CI; corpus.jsonl is committed.

    python3 -m venv build/mv-venv
    build/mv-venv/bin/pip install 'math-verify==0.9.0' 'latex2sympy2_extended==1.11.0' \
        'sympy==1.14.0' 'antlr4-python3-runtime==4.13.2'
    build/mv-venv/bin/python tests/eval/equivalence/make_corpus.py

Options: --check (compare with the committed corpus.jsonl instead of writing),
--verbose (print what math-verify parsed for every pair).
"""

import argparse
import json
import logging
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus.jsonl"

T, F = True, False

# Unicode characters used below, spelled out so the source stays readable.
THIN_SPACE = "\u2009"
MINUS_SIGN = "\u2212"
DEGREE_SIGN = "\u00b0"

# ---------------------------------------------------------------------------
# The pairs.  Each category: (name, id prefix, [(gold, pred, careful, convention, why), ...])
# ---------------------------------------------------------------------------

INTEGER_SEPARATORS = [
    ("8000", "8,000", T, "", "Comma thousands separator."),
    ("8000", "8{,}000", T, "", "LaTeX braced comma is a thousands separator."),
    ("8000", r"8\,000", T, "", "Thin-space thousands separator."),
    ("8000", "8 000", T, "", "Plain-space digit grouping (SI style)."),
    ("8000", "8" + THIN_SPACE + "000", T, "", "Unicode thin space U+2009 digit grouping."),
    ("8000", r"8\ 000", T, "", "Control-space digit grouping."),
    ("8000", "8~000", T, "", "Non-breaking-space digit grouping."),
    ("8000", r"8\;000", T, "", "Thick-space digit grouping."),
    ("1000000", "1,000,000", T, "", "Two comma separators."),
    ("1000000", "1{,}000{,}000", T, "", "Two braced-comma separators."),
    ("1000000", r"1\,000\,000", T, "", "Two thin-space separators."),
    ("1,000,000", "1000000", T, "", "Gold written with separators, pred plain."),
    ("8{,}000", "8000", T, "", "Gold with braced comma, pred plain."),
    (r"8\,000", "8,000", T, "", "Different separators on both sides, same integer."),
    ("12345", "12,345", T, "", "Comma separator on a five-digit number."),
    ("1234567", "1 234 567", T, "", "Space grouping on seven digits."),
    ("1234567", "1,234,567", T, "", "Comma grouping on seven digits."),
    ("1000", "1,000", T, "", "Single comma separator."),
    ("10000", "10,000", T, "", "Comma separator with two leading digits."),
    ("2{,}016", "2016", T, "", "Year-like number with braced comma in gold."),
    ("-8000", "-8,000", T, "", "Negative number with a separator."),
    ("8000.5", "8,000.5", T, "", "Separator plus a decimal part."),
    ("8000", "8,000.0", T, "", "Separator plus a zero decimal part."),
    ("8", "8.000", T, "", "A period is a decimal point: 8.000 is 8."),
    ("800", "8,00", F, "", "Bad grouping: 8,00 is not 800."),
    ("8000", "8.000", F, "", "In these datasets a period is a decimal point, so 8.000 is 8, not 8000."),
    ("8000", "8001", F, "", "Off by one."),
    ("8000", "8,001", F, "", "Off by one with a separator."),
    ("8000", "80,00", F, "", "Bad grouping: 80,00 is not a way to write 8000."),
    ("8000", "800", F, "", "Dropped a zero."),
    ("80000", "8,000", F, "", "Separator hides a missing zero."),
    ("12345", "1,2345", F, "", "Bad grouping (four digits after the comma)."),
    ("1234567", "1,234,576", F, "", "Transposed digits."),
    ("1000", "1,0000", F, "", "Bad grouping: 1,0000 is not 1000."),
    ("10000", "100,00", F, "", "Bad grouping: 100,00 is not 10000."),
    ("2016", "20,16", F, "", "Bad grouping: 20,16 is not 2016."),
    ("123", "1,23", F, "", "Bad grouping: 1,23 is not 123."),
    ("2.5", "2,5", F, "decimal_comma", "A European decimal comma; under the default a comma is never a decimal point."),
    ("1000000", "1,000,00", F, "", "Grouped digits of 100000, not 1000000."),
    ("1,000", "1000000", F, "", "Gold is one thousand."),
]

DECIMAL = [
    ("29", "29.00", T, "", "Trailing zeros after the decimal point."),
    ("29.00", "29", T, "", "Gold with trailing zeros, pred integer."),
    (".5", "0.50", T, "", "Leading zero and trailing zero."),
    ("0.5", ".5", T, "", "Missing leading zero."),
    ("0", "-0.0", T, "", "Negative zero is zero."),
    ("0", "0.0", T, "", "Zero with a decimal point."),
    ("3", "+3", T, "", "Explicit plus sign."),
    ("3", "3.", T, "", "Trailing decimal point."),
    ("1.5", "1.50", T, "", "Trailing zero."),
    ("0.125", ".125", T, "", "Missing leading zero."),
    ("10", "10.0", T, "", "Integer written as a decimal."),
    ("7", "007", T, "", "Leading zeros do not change an integer's value."),
    ("1.23", "1.230000", T, "", "Many trailing zeros."),
    ("0.1", "0.10", T, "", "Trailing zero."),
    ("12.5", "12.50", T, "", "Trailing zero."),
    ("0.5", "+.5", T, "", "Plus sign and missing leading zero."),
    ("-2.5", "-2.50", T, "", "Negative decimal with trailing zero."),
    ("2.5", r"\frac{5}{2}", T, "", "Decimal gold, exact fraction pred of the same value."),
    ("0.04", "0.040", T, "", "Small decimal with trailing zero."),
    ("100", "100.00", T, "", "Integer with two zero decimals."),
    ("29", "29.01", F, "", "Differs in the hundredths."),
    ("29", "2.9", F, "", "Misplaced decimal point."),
    ("0.5", "0.05", F, "", "Off by a factor of ten."),
    ("0.5", "5", F, "", "Off by a factor of ten."),
    ("-0.5", "0.5", F, "", "Sign error."),
    ("3.14159", "3.1416", F, "", "Gold is an exact decimal; the rounded value is a different number."),
    ("1.05", "1.5", F, "", "Dropped zero changes the value."),
    ("3.0", "3.01", F, "", "Differs in the hundredths."),
    ("0.001", "0.01", F, "", "Off by a factor of ten."),
    ("1000", "1000.001", F, "", "Tiny extra decimal part is still a different number."),
    ("1.23", "1.2300001", F, "", "Differs in the seventh decimal place."),
    ("5", "5.5", F, "", "Extra half."),
    ("2.25", "2.52", F, "", "Transposed decimals."),
    ("0.75", "7.5", F, "", "Misplaced decimal point."),
    ("4.0", "-4.0", F, "", "Sign error."),
]

FRACTION = [
    (r"\frac{1}{2}", "0.5", T, "", "Exact decimal of one half."),
    (r"\frac{1}{2}", r"\dfrac{1}{2}", T, "", "\\dfrac is \\frac in display style."),
    (r"\frac{1}{2}", r"\tfrac{1}{2}", T, "", "\\tfrac is \\frac in text style."),
    (r"\frac{1}{2}", r"\frac12", T, "", "Brace-less single-digit arguments."),
    (r"\frac12", r"\frac{1}{2}", T, "", "Brace-less gold."),
    (r"\frac{3}{4}", "0.75", T, "", "Exact decimal of three quarters."),
    (r"\frac{1}{2}", "1/2", T, "", "Slash fraction."),
    (r"\frac{1}{2}", "1 / 2", T, "", "Slash fraction with spaces."),
    (r"\frac{1}{2}", r"\frac{2}{4}", T, "", "Unreduced fraction of equal value."),
    (r"\frac{6}{8}", r"\frac{3}{4}", T, "", "Unreduced gold, reduced pred."),
    (r"-\frac{1}{2}", r"\frac{-1}{2}", T, "", "Sign in the numerator."),
    (r"-\frac{1}{2}", r"\frac{1}{-2}", T, "", "Sign in the denominator."),
    (r"-\frac{1}{2}", "-0.5", T, "", "Negative exact decimal."),
    (r"\frac{1}{2}", r"\frac{-1}{-2}", T, "", "Two negatives cancel."),
    (r"\frac{10}{3}", r"3\frac{1}{3}", T, "", "Mixed number of the same value."),
    (r"\frac{3}{4}", "3/4", T, "", "Slash fraction."),
    (r"\frac{3}{4}", "0.750", T, "", "Exact decimal with trailing zero."),
    (r"\frac{5}{8}", "0.625", T, "", "Exact decimal."),
    (r"\frac{1}{8}", "0.125", T, "", "Exact decimal."),
    (r"\frac{7}{2}", "3.5", T, "", "Exact decimal."),
    (r"\frac{7}{2}", "7/2", T, "", "Slash fraction."),
    (r"\frac{3}{2}", "1.5", T, "", "Exact decimal."),
    (r"\frac{1}{2}", r"{1 \over 2}", T, "", "TeX \\over primitive."),
    (r"\frac{2}{3}", r"0.\overline{6}", T, "", "Repeating decimal of the same value."),
    (r"\frac{14}{4}", r"\frac{7}{2}", T, "", "Unreduced gold."),
    (r"\frac{1}{3}", "0.333", F, "", "A rounded decimal is not the exact value."),
    (r"\frac{1}{3}", "0.3333333", F, "", "Closer, but still only an approximation."),
    ("1/3", "0.3333333", F, "", "Slash-written gold; the approximation is still wrong."),
    (r"\frac{1}{2}", r"\frac{1}{3}", F, "", "Different fraction."),
    (r"\frac{1}{2}", "2", F, "", "Reciprocal."),
    (r"\frac{3}{4}", r"\frac{4}{3}", F, "", "Reciprocal."),
    (r"\frac{1}{8}", "0.12", F, "", "Truncated decimal."),
    (r"\frac{7}{2}", "2/7", F, "", "Reciprocal in slash form."),
    (r"\frac{1}{2}", r"-\frac{1}{2}", F, "", "Sign error."),
    (r"\frac{2}{3}", "0.67", F, "", "Rounded decimal."),
    (r"\frac{22}{7}", r"\pi", F, "", "22/7 is rational, pi is not."),
    (r"\frac{100}{3}", "33.33", F, "", "Rounded decimal."),
    (r"\frac{3}{5}", r"\frac{5}{3}", F, "", "Numerator and denominator swapped."),
    (r"\frac{3}{5}", r"\frac{3}{7}", F, "", "Wrong denominator."),
    (r"\frac{1}{4}", r"\frac{1}{4}x", F, "", "Extra variable factor."),
    (r"\frac{9}{10}", "0.09", F, "", "Misplaced decimal point."),
    (r"\frac{12}{5}", "2.5", F, "", "12/5 is 2.4."),
    (r"\frac{2}{3}", r"\frac{2}{3} + \frac{1}{3}", F, "", "Extra term changes the value."),
]

MIXED_NUMBER = [
    (r"2\frac{1}{2}", r"\frac{5}{2}", T, "", "Mixed number means 2 + 1/2."),
    (r"\frac{5}{2}", r"2\frac{1}{2}", T, "", "Mixed number pred for an improper-fraction gold."),
    (r"\frac{5}{2}", r"2 \frac{1}{2}", T, "", "Mixed number with a space."),
    (r"\frac{5}{2}", r"2\ \frac12", T, "", "Mixed number with a control space and brace-less fraction."),
    (r"\frac{5}{2}", r"2\frac12", T, "", "Brace-less mixed number."),
    (r"2\frac{1}{2}", "2.5", T, "", "Decimal of the mixed number."),
    (r"-1\frac{1}{4}", r"-\frac54", T, "", "Negative mixed number is -(1 + 1/4)."),
    (r"-1\frac{1}{4}", "-1.25", T, "", "Decimal of the negative mixed number."),
    (r"3\frac{3}{4}", "3.75", T, "", "Decimal of the mixed number."),
    (r"3\frac{3}{4}", r"\frac{15}{4}", T, "", "Improper fraction of the mixed number."),
    (r"\frac{4}{3}", r"1\frac{1}{3}", T, "", "Mixed number pred."),
    (r"10\frac{1}{2}", "10.5", T, "", "Two-digit whole part."),
    (r"\frac{14}{3}", r"4\frac{2}{3}", T, "", "Mixed number pred."),
    (r"2\frac{1}{2}", r"2+\frac{1}{2}", T, "", "Explicit sum is what a mixed number means."),
    (r"\frac{21}{4}", r"5\frac{1}{4}", T, "", "Mixed number pred."),
    (r"\frac{7}{3}", r"2\tfrac{1}{3}", T, "", "Mixed number with \\tfrac."),
    (r"\frac{7}{3}", r"2\dfrac13", T, "", "Mixed number with brace-less \\dfrac."),
    (r"1\frac{3}{8}", "1.375", T, "", "Decimal of the mixed number."),
    (r"-2\frac{1}{2}", "-2.5", T, "", "Negative mixed number."),
    (r"\frac{25}{4}", "6 1/4", T, "", "Plain-text mixed number, whole part then fraction."),
    (r"2\frac{1}{2}", "1", F, "", "Reading the mixed number as 2 * 1/2 is wrong."),
    (r"2\frac{1}{2}", r"\frac{3}{2}", F, "", "Wrong value."),
    (r"-1\frac{1}{4}", r"-\frac{3}{4}", F, "", "Reading -1 + 1/4 is wrong; the sign covers the whole mixed number."),
    (r"-1\frac{1}{4}", "-0.75", F, "", "Same misreading in decimal form."),
    (r"3\frac{3}{4}", r"\frac{9}{4}", F, "", "3 * 3/4 misreading."),
    (r"1\frac{1}{3}", "1.33", F, "", "Rounded decimal."),
    (r"1\frac{1}{3}", r"\frac{1}{3}", F, "", "1 * 1/3 misreading."),
    (r"10\frac{1}{2}", "5", F, "", "10 * 1/2 misreading."),
    (r"4\frac{2}{3}", r"\frac{8}{3}", F, "", "4 * 2/3 misreading."),
    (r"5\frac{1}{4}", r"\frac{5}{4}", F, "", "5 * 1/4 misreading."),
    (r"2\frac{1}{2}", r"2\frac{1}{3}", F, "", "Different fractional part."),
    (r"2\frac{1}{2}", r"3\frac{1}{2}", F, "", "Different whole part."),
    (r"1\frac{1}{2}", r"\frac{1}{2}", F, "", "Whole part dropped."),
    (r"-2\frac{1}{2}", "-1.5", F, "", "-2 + 1/2 misreading."),
    (r"2\frac{1}{2}", r"2\cdot\frac{1}{2}", F, "", "An explicit product is 1, not a mixed number."),
    (r"\frac{5}{2}", r"2\frac{1}{4}", F, "", "Wrong fractional part."),
]

PERCENT = [
    ("50", r"50\%", T, "", "Percent sign dropped; gold is the number of percent."),
    ("50", "50%", T, "", "Plain percent sign dropped."),
    (r"50\%", "50", T, "", "Gold with percent sign, bare number pred."),
    (r"12.5\%", "12.5", T, "", "Decimal percent, sign dropped."),
    ("12.5", r"12.5\%", T, "", "Decimal percent pred."),
    (r"25\%", r"25 \%", T, "", "Space before the percent sign."),
    (r"45\%", r"45\,\%", T, "", "Thin space before the percent sign."),
    ("25", r"25\text{ percent}", T, "", "Word percent dropped as a unit."),
    ("25", "25 percent", T, "", "Plain word percent."),
    (r"33\frac{1}{3}\%", r"33\frac13", T, "", "Mixed-number percent."),
    (r"20\%", r"20.0\%", T, "", "Trailing zero."),
    (r"150\%", "150", T, "", "Percent over one hundred."),
    (r"0.5\%", "0.5", T, "", "Fractional percent, sign dropped."),
    (r"-10\%", "-10", T, "", "Negative percent."),
    ("75", r"75.0\%", T, "", "Trailing zero and percent sign."),
    (r"50\%", "0.5", F, "percent", "Under the default 50% is 50, not 0.5; a fraction-of-one reading would accept it."),
    ("0.5", r"50\%", F, "percent", "Gold is a plain fraction; 50% read as 50 differs."),
    (r"\frac12", r"50\%", F, "percent", "Gold is a plain fraction; 50% read as 50 differs."),
    (r"50\%", r"\frac{1}{2}", F, "percent", "Under the default 50% is 50, not one half."),
    (r"20\%", r"\frac{1}{5}", F, "percent", "Under the default 20% is 20, not 1/5."),
    (r"20\%", "0.2", F, "percent", "Under the default 20% is 20, not 0.2."),
    ("0.2", r"20\%", F, "percent", "Gold 0.2; pred 20% read as 20 differs."),
    (r"100\%", "1", F, "percent", "Under the default 100% is 100, not 1."),
    (r"150\%", "1.5", F, "percent", "Under the default 150% is 150."),
    (r"0.5\%", "0.005", F, "percent", "Under the default 0.5% is 0.5."),
    (r"75\%", r"\frac{3}{4}", F, "percent", "Under the default 75% is 75."),
    ("50", r"51\%", F, "", "Wrong number of percent under any reading."),
    ("50", r"5\%", F, "", "Wrong number of percent."),
    (r"50\%", "5", F, "", "Dropped a zero."),
    (r"33\frac{1}{3}", r"33.33\%", F, "", "Rounded, not exact."),
    (r"10\%", r"-10\%", F, "", "Sign error."),
    (r"7.5\%", r"75\%", F, "", "Misplaced decimal point."),
    ("20", "0.2", F, "", "Gold has no percent sign; 0.2 is simply a different number."),
    (r"40\%", r"60\%", F, "", "Complementary percentage, wrong."),
]

SCIENTIFIC = [
    ("1500", "1.5e3", T, "", "Computer e-notation for 1.5 * 10^3."),
    ("1500", r"1.5\times10^3", T, "", "LaTeX scientific notation."),
    ("1500", r"1.5 \times 10^{3}", T, "", "Scientific notation with braces and spaces."),
    ("1500", r"1.5\cdot 10^3", T, "", "Scientific notation with \\cdot."),
    ("1500", r"15 \times 10^{2}", T, "", "Non-normalised mantissa, same value."),
    (r"6.02\times10^{23}", r"6.02 \cdot 10^{23}", T, "", "\\times versus \\cdot."),
    (r"6.02\times10^{23}", "602000000000000000000000", T, "", "Written out in full."),
    (r"6.02\times10^{23}", "6.02E23", T, "", "Capital-E notation."),
    ("0.0015", "1.5E-3", T, "", "Capital-E notation with negative exponent."),
    ("0.0015", r"1.5\times 10^{-3}", T, "", "Negative exponent."),
    (r"3\times10^8", "300000000", T, "", "Written out in full."),
    (r"3\times10^8", "3e8", T, "", "e-notation without a decimal point."),
    (r"2.5\times10^{-4}", "0.00025", T, "", "Negative exponent written out."),
    (r"1.0 \times 10^{6}", "1000000", T, "", "Mantissa 1.0."),
    ("10^6", "1,000,000", T, "", "Power of ten versus separated integer."),
    (r"1.23\times10^{5}", "123000", T, "", "Written out in full."),
    ("10^{-9}", "1e-9", T, "", "e-notation with a negative exponent."),
    (r"4.0\times 10^{2}", "400", T, "", "Small exponent."),
    (r"6.02\times10^{23}", r"6.02\times10^{22}", F, "", "Exponent off by one."),
    ("1500", "1.5e4", F, "", "Exponent off by one."),
    ("1500", r"1.5\times10^{-3}", F, "", "Wrong sign of the exponent."),
    ("0.0015", r"1.5\times10^{3}", F, "", "Wrong sign of the exponent."),
    (r"3\times10^8", r"3\times10^9", F, "", "Exponent off by one."),
    (r"3\times 10^8", "30000000", F, "", "One zero short."),
    (r"2.5\times10^{-4}", "0.0025", F, "", "Off by a factor of ten."),
    ("10^{6}", "10^{5}", F, "", "Exponent off by one."),
    (r"1.23\times10^{5}", "12300", F, "", "One zero short."),
    ("10^{-9}", "0.00000001", F, "", "Off by a factor of ten."),
    (r"4\times10^2", r"4\times10^{-2}", F, "", "Wrong sign of the exponent."),
    (r"5 \times 10^{3}", r"5 \times 10^{3} + 1", F, "", "Extra term."),
    (r"3\times10^8", r"2.998\times10^8", F, "", "A different number (a more precise constant is still not the gold)."),
    (r"1.5\times10^3", r"1.5\times3^{10}", F, "", "Base and exponent swapped."),
]

REPEATING_DECIMAL = [
    (r"\frac13", r"0.\overline{3}", T, "", "Repeating 3 is exactly one third."),
    (r"\frac16", r"0.1\overline{6}", T, "", "0.1666... is one sixth."),
    (r"\frac17", r"0.\overline{142857}", T, "", "Six-digit repetend of one seventh."),
    ("2", r"1.\overline{9}", T, "", "1.999... equals 2 exactly."),
    ("1", r"0.\overline{9}", T, "", "0.999... equals 1 exactly."),
    (r"0.\overline{3}", r"\frac{1}{3}", T, "", "Repeating-decimal gold, fraction pred."),
    (r"\frac{2}{3}", r"0.6\overline{6}", T, "", "Repetend started one place late, same value."),
    (r"\frac{2}{3}", r"0.\overline{66}", T, "", "Repetend written twice, same value."),
    (r"\frac{1}{9}", r"0.\overline{1}", T, "", "Repeating 1 is one ninth."),
    (r"\frac{1}{11}", r"0.\overline{09}", T, "", "Two-digit repetend."),
    (r"\frac{5}{6}", r"0.8\overline{3}", T, "", "0.8333... is five sixths."),
    (r"\frac{4}{33}", r"0.\overline{12}", T, "", "0.1212... is 12/99 = 4/33."),
    (r"\frac{1}{7}", r"0.1\overline{428571}", T, "", "Shifted repetend, same value."),
    (r"\frac{3}{7}", r"0.\overline{428571}", T, "", "Repetend of three sevenths."),
    (r"\frac{25}{99}", r"0.\overline{25}", T, "", "0.2525... is 25/99."),
    (r"\frac{41}{333}", r"0.\overline{123}", T, "", "0.123123... is 123/999 = 41/333."),
    (r"\frac{10}{3}", r"3.\overline{3}", T, "", "Repeating decimal above one."),
    (r"0.\overline{3}", r"0.\overline{33}", T, "", "Same repeating decimal, longer repetend."),
    (r"\frac{1}{3}", r"0.\dot{3}", T, "", "Dot notation for a repetend."),
    (r"\frac{1}{3}", r"0.333\ldots", T, "", "An ellipsis marks the 3s as repeating forever."),
    (r"0.3", r"0.\overline{3}", F, "", "Gold is the terminating decimal 3/10."),
    (r"\frac13", "0.3", F, "", "Terminating decimal is not one third."),
    (r"0.\overline{3}", "0.333", F, "", "Truncation of a repeating decimal."),
    (r"\frac{1}{11}", r"0.\overline{90}", F, "", "0.9090... is 10/11."),
    (r"\frac{1}{11}", r"0.0\overline{9}", F, "", "0.0999... is 1/10."),
    (r"\frac{1}{6}", r"0.\overline{16}", F, "", "0.1616... is 16/99."),
    (r"\frac{1}{6}", "0.16", F, "", "Truncated decimal."),
    (r"\frac{5}{6}", r"0.\overline{83}", F, "", "0.8383... is 83/99."),
    (r"\frac{4}{33}", r"0.1\overline{2}", F, "", "0.1222... is 11/90."),
    (r"\frac{1}{7}", "0.142857", F, "", "One period without the overline is a terminating decimal."),
    (r"\frac{25}{99}", "0.25", F, "", "Terminating decimal is 1/4."),
    ("2", "1.9", F, "", "1.9 without the overline is not 2."),
    (r"\frac{2}{3}", r"0.\overline{3}", F, "", "That is one third."),
]

SQRT = [
    (r"\sqrt{2}", r"\sqrt2", T, "", "Brace-less argument."),
    (r"2\sqrt{2}", r"\sqrt{8}", T, "", "Unsimplified radical of equal value."),
    (r"\frac{\sqrt{3}}{2}", r"\frac{\sqrt3}{2}", T, "", "Brace-less inner root."),
    (r"\frac{\sqrt{3}}{2}", r"\sqrt{3}/2", T, "", "Slash division."),
    (r"\frac{\sqrt{3}}{2}", r"\frac{1}{2}\sqrt{3}", T, "", "Coefficient written first."),
    (r"\sqrt{3}/2", r"\frac{1}{2}\sqrt{3}", T, "", "Slash gold, coefficient pred."),
    (r"\sqrt[3]{27}", "3", T, "", "Cube root of 27."),
    ("3", r"\sqrt[3]{27}", T, "", "Unevaluated cube root as pred."),
    (r"\frac{1}{\sqrt2}", r"\frac{\sqrt2}{2}", T, "", "Rationalised denominator."),
    (r"\frac{\sqrt{2}}{2}", r"\sqrt{2}/2", T, "", "Slash division."),
    (r"\sqrt{2}", r"2^{1/2}", T, "", "Fractional exponent."),
    (r"\sqrt{2}", r"2^{\frac12}", T, "", "Fractional exponent with \\frac."),
    (r"3\sqrt{2}", r"\sqrt{18}", T, "", "Unsimplified radical."),
    (r"\sqrt{12}", r"2\sqrt3", T, "", "Simplified radical pred."),
    (r"\sqrt[3]{2}", r"2^{1/3}", T, "", "Cube root as exponent."),
    (r"\sqrt[4]{16}", "2", T, "", "Fourth root."),
    (r"1+\sqrt{5}", r"\sqrt5+1", T, "", "Commuted sum."),
    (r"\frac{1+\sqrt{5}}{2}", r"\frac{1}{2}+\frac{\sqrt5}{2}", T, "", "Split fraction."),
    (r"\sqrt{6}", r"\sqrt{2}\sqrt{3}", T, "", "Product of roots of positives."),
    (r"5\sqrt{2}", r"\sqrt{50}", T, "", "Unsimplified radical."),
    (r"\frac{2\sqrt{3}}{3}", r"\frac{2}{\sqrt{3}}", T, "", "Unrationalised denominator."),
    (r"4\sqrt{3}", r"\sqrt{48}", T, "", "Unsimplified radical."),
    ("4", r"\sqrt{16}", T, "", "Principal square root."),
    (r"\sqrt{2}", "1.414", F, "", "Decimal approximation of an irrational."),
    (r"\sqrt{3}", "3", F, "", "Root dropped."),
    (r"\sqrt{2}", r"-\sqrt{2}", F, "", "Sign error."),
    (r"\sqrt{2}", r"\sqrt{3}", F, "", "Different radicand."),
    (r"2\sqrt{2}", r"2\sqrt{3}", F, "", "Different radicand."),
    (r"3\sqrt{2}", r"\sqrt{6}", F, "", "Coefficient moved inside without squaring."),
    (r"\sqrt{12}", r"4\sqrt{3}", F, "", "Wrong simplification."),
    (r"\sqrt{12}", r"3\sqrt2", F, "", "Wrong simplification."),
    (r"\frac{\sqrt{3}}{2}", "0.866", F, "", "Decimal approximation."),
    (r"\frac{\sqrt{3}}{2}", r"\frac{\sqrt{2}}{2}", F, "", "Different radicand."),
    (r"\frac{\sqrt{3}}{2}", r"\frac{3}{2}", F, "", "Root dropped."),
    (r"\sqrt[3]{2}", r"\sqrt{2}", F, "", "Square root instead of cube root."),
    (r"\sqrt[3]{27}", "9", F, "", "Square of the root, not the root."),
    (r"\frac{1+\sqrt{5}}{2}", "1.618", F, "", "Decimal approximation of the golden ratio."),
    (r"\frac{1+\sqrt{5}}{2}", r"\frac{1-\sqrt{5}}{2}", F, "", "The other root."),
    (r"\sqrt{5}", r"\sqrt{2}+\sqrt{3}", F, "", "Roots do not add that way."),
    (r"5\sqrt{2}", r"25\sqrt{2}", F, "", "Wrong coefficient."),
    ("4", r"\pm 4", F, "", "Extra wrong value: the principal root is only 4."),
    ("3", "-3", F, "", "Negative root is not the principal root."),
    (r"\sqrt{2}", r"\sqrt{2}^2", F, "", "Squared, which is 2."),
]

PI = [
    (r"2\pi", r"2 \pi", T, "", "Space between coefficient and pi."),
    (r"2\pi", r"\pi \cdot 2", T, "", "Commuted product."),
    (r"\frac{\pi}{2}", r"\pi/2", T, "", "Slash division."),
    (r"\frac{\pi}{2}", r"\frac12\pi", T, "", "Coefficient form."),
    (r"\frac{3\pi}{4}", r"3\pi/4", T, "", "Slash division."),
    (r"3\pi/4", r"\frac{3\pi}{4}", T, "", "Slash gold, fraction pred."),
    (r"\frac{3\pi}{4}", r"\frac{3}{4}\pi", T, "", "Coefficient form."),
    (r"25\pi", r"\pi \cdot 5^2", T, "", "Area pi r^2 with r = 5, unevaluated."),
    (r"25\pi", r"\pi(5)^2", T, "", "Area with parenthesised radius."),
    (r"9\pi", r"\pi \cdot 3^{2}", T, "", "Area pi r^2 with r = 3."),
    (r"4\pi", r"4 \cdot \pi", T, "", "Explicit \\cdot."),
    (r"4\pi", r"4\times\pi", T, "", "Explicit \\times."),
    (r"\frac{4}{3}\pi", r"\frac{4\pi}{3}", T, "", "Pi in the numerator."),
    (r"\frac{\pi}{6}", r"\frac{1}{6}\pi", T, "", "Coefficient form."),
    (r"\pi^2", r"\pi\cdot\pi", T, "", "Square written as a product."),
    (r"\pi + 1", r"1+\pi", T, "", "Commuted sum."),
    (r"\frac{\pi}{3}", r"\pi/3", T, "", "Slash division."),
    (r"36\pi", r"36\pi \text{ cm}^2", T, "", "Unit dropped."),
    (r"2\pi", "6.283", F, "", "Decimal approximation."),
    (r"\pi", "3.14159", F, "", "Decimal approximation."),
    (r"\frac{3\pi}{4}", r"\frac{4\pi}{3}", F, "", "Inverted fraction."),
    (r"25\pi", "25", F, "", "Pi dropped."),
    (r"25\pi", "78.54", F, "", "Decimal approximation."),
    (r"25\pi", r"5\pi", F, "", "Forgot to square the radius."),
    (r"25\pi", r"10\pi", F, "", "Circumference instead of area."),
    (r"9\pi", r"6\pi", F, "", "Circumference instead of area."),
    (r"\frac{4}{3}\pi", r"\frac{4}{3\pi}", F, "", "Pi moved into the denominator."),
    (r"\frac{\pi}{6}", r"\frac{6}{\pi}", F, "", "Reciprocal."),
    (r"\pi^2", r"2\pi", F, "", "Square confused with doubling."),
    (r"2\pi", r"\pi", F, "", "Missing factor two."),
    (r"\pi", r"-\pi", F, "", "Sign error."),
    (r"2\pi", r"2\cdot 3.14", F, "", "Approximate pi substituted."),
    (r"\pi", r"\frac{22}{7}", F, "", "Rational approximation of pi."),
    (r"\frac{\pi}{4}", "0.785", F, "", "Decimal approximation."),
    (r"\frac{\pi}{2}", r"\frac{\pi}{2}+2\pi", F, "", "A different number (coterminal angle is not equal)."),
    (r"\pi", r"\pi^{2}", F, "", "Squared."),
]

EXPRESSION = [
    ("x^2+2x+1", "(x+1)^2", T, "", "Perfect square, same polynomial."),
    ("(x+1)^2", "x^2+2x+1", T, "", "Expanded form of the gold."),
    ("2x", "x+x", T, "", "Same polynomial."),
    (r"\frac{x}{2}", "0.5x", T, "", "Decimal coefficient."),
    (r"\frac{x}{2}", "x/2", T, "", "Slash division."),
    (r"\frac{x}{2}", r"\frac{1}{2}x", T, "", "Coefficient form."),
    ("a+b", "b+a", T, "", "Commuted sum."),
    ("x^2-1", "(x-1)(x+1)", T, "", "Difference of squares factored."),
    (r"\frac{1}{x+1}", "(x+1)^{-1}", T, "", "Negative exponent."),
    ("e^{x}", r"\exp(x)", T, "", "exp notation."),
    ("1", r"\sin^2 x + \cos^2 x", T, "", "Pythagorean identity."),
    (r"\sin^2 x + \cos^2 x", "1", T, "", "Identity gold, simplified pred."),
    ("1024", "2^{10}", T, "", "Unevaluated power."),
    ("2^{10}", "1024", T, "", "Evaluated power."),
    ("10", r"\binom{5}{2}", T, "", "Unevaluated binomial coefficient."),
    (r"\binom{5}{2}", r"\binom{5}{3}", T, "", "Symmetric binomial coefficient, both 10."),
    ("120", "5!", T, "", "Unevaluated factorial."),
    ("24", "4!", T, "", "Unevaluated factorial."),
    ("1", "0!", T, "", "Zero factorial is one."),
    ("81", "3^4", T, "", "Unevaluated power."),
    ("120", r"\binom{10}{3}", T, "", "Unevaluated binomial coefficient."),
    (r"\frac12", "2^{-1}", T, "", "Negative exponent."),
    ("0.01", "10^{-2}", T, "", "Negative power of ten."),
    ("3x+2", "2+3x", T, "", "Commuted sum."),
    ("x(x+1)", "x^2+x", T, "", "Distributed product."),
    ("x^3", r"x\cdot x\cdot x", T, "", "Power as product."),
    ("e^{2x}", "(e^x)^2", T, "", "Power of a power."),
    ("e^{x+1}", r"e\cdot e^x", T, "", "Product of exponentials."),
    ("3", r"\log_2 8", T, "", "Unevaluated logarithm."),
    ("1", r"\ln e", T, "", "Natural log of e."),
    ("(a+b)^2", "a^2+2ab+b^2", T, "", "Binomial expansion."),
    ("ab", "ba", T, "", "Commuted product."),
    ("2x+3y", "3y+2x", T, "", "Commuted sum of two variables."),
    ("x^{2}y", "yx^2", T, "", "Commuted product."),
    (r"\sin(2x)", r"2\sin x\cos x", T, "", "Double-angle identity."),
    (r"\cos 2x", r"\cos^2 x - \sin^2 x", T, "", "Double-angle identity."),
    (r"\tan x", r"\frac{\sin x}{\cos x}", T, "", "Definition of tangent."),
    ("|x|", r"\sqrt{x^2}", T, "", "Square root of a square is the absolute value."),
    ("(xy)^2", "x^2 y^2", T, "", "Power of a product."),
    (r"\frac{x+1}{2}", r"\frac{x}{2}+\frac{1}{2}", T, "", "Split fraction."),
    ("-1", "i^2", T, "", "Imaginary unit squared."),
    ("2i", "(1+i)^2", T, "", "Complex square."),
    ("3+4i", "4i+3", T, "", "Commuted complex number."),
    ("5", "|3+4i|", T, "", "Modulus of 3+4i."),
    ("x+1", r"\frac{x^2-1}{x-1}", T, "domain", "Equal wherever both are defined; differs only at the removed point x = 1."),
    ("x^2+1", "(x+1)^2", F, "", "Missing middle term 2x."),
    ("2x", "x^2", F, "", "Doubling is not squaring."),
    (r"\frac{x}{2}", r"\frac{2}{x}", F, "", "Reciprocal."),
    ("x^2+2x+1", "x^2+2x+2", F, "", "Constant term off by one."),
    ("(x-1)(x+1)", "(x-1)^2", F, "", "Wrong factor."),
    ("3x+2", "3(x+2)", F, "", "Misplaced parenthesis."),
    ("x^3", "3x", F, "", "Power confused with multiple."),
    ("e^x", "e^{-x}", F, "", "Sign of the exponent."),
    ("3", r"\log_8 2", F, "", "Base and argument swapped (that is 1/3)."),
    ("2^{10}", "2^{11}", F, "", "Exponent off by one."),
    ("2^{10}", "20", F, "", "Power confused with product."),
    (r"\binom{5}{2}", "20", F, "", "Permutations instead of combinations."),
    ("5!", "5", F, "", "Factorial dropped."),
    ("5!", "24", F, "", "That is 4!."),
    (r"\frac{1}{x+1}", r"\frac{1}{x}+1", F, "", "Precedence error."),
    ("(a+b)^2", "a^2+b^2", F, "", "Missing cross term."),
    ("a-b", "b-a", F, "", "Subtraction does not commute."),
    (r"\frac{a}{b}", r"\frac{b}{a}", F, "", "Reciprocal."),
    ("2x+3y", "2y+3x", F, "", "Coefficients swapped between variables."),
    (r"\sin(2x)", r"2\sin x", F, "", "Not the double-angle formula."),
    ("|x|", "x", F, "", "Wrong for negative x."),
    ("x+1", "y+1", F, "", "Different variable."),
    ("3^4", "4^3", F, "", "81 versus 64."),
    (r"\binom{10}{3}", "720", F, "", "Permutations instead of combinations."),
    ("1+i", "1-i", F, "", "Complex conjugate."),
    (r"\frac{x+1}{2}", r"\frac{x}{2}+1", F, "", "Constant not halved."),
    ("x^2y", "xy^2", F, "", "Exponent on the wrong variable."),
    (r"\cos 2x", r"2\cos x", F, "", "Not the double-angle formula."),
]

EQUATION = [
    ("3", "x=3", T, "", "Assignment to the unknown; value 3."),
    ("x=3", "3", T, "", "Bare value for an assignment gold."),
    ("x=3", "x = 3", T, "", "Spaces around the equals sign."),
    ("x=3", "3=x", T, "", "Sides swapped."),
    ("2x+1", "y = 2x+1", T, "", "Named function value."),
    ("y=2x+1", "2x+1", T, "", "Right-hand side only."),
    ("y=2x+1", "y-1=2x", T, "", "Equivalent equation of the same line."),
    ("y=2x+1", "2y=4x+2", T, "", "Equation scaled by two."),
    ("y=2x+1", "2x-y+1=0", T, "", "Standard form of the same line."),
    ("5", "x = 5", T, "", "Assignment to the unknown."),
    ("5", "n=5", T, "", "Assignment with a different letter; the value is what is asked."),
    ("-2", "x=-2", T, "", "Negative value."),
    ("k=4", "4", T, "", "Bare value."),
    ("k=4", r"k=\frac{8}{2}", T, "", "Unsimplified value."),
    (r"x=\frac12", "x=0.5", T, "", "Decimal value."),
    ("x^2+y^2=25", "y^2+x^2=25", T, "", "Commuted left side."),
    ("x^2+y^2=25", "x^2+y^2-25=0", T, "", "Moved to one side."),
    ("6", "a+b=6", T, "", "States the asked quantity and its value."),
    ("y=3x", "y=3x+0", T, "", "Zero intercept written out."),
    ("x=3", "-3", F, "", "Sign error."),
    ("x=3", "x=-3", F, "", "Sign error."),
    ("y=2x+1", "y=2x-1", F, "", "Wrong intercept."),
    ("y=2x+1", "y=x+1", F, "", "Wrong slope."),
    ("y=2x+1", "x=2y+1", F, "", "Variables swapped: a different line."),
    ("x=3", "y=3", F, "", "A different line/variable."),
    ("5", "x=6", F, "", "Wrong value."),
    ("-2", "x = 2", F, "", "Sign error."),
    (r"x=\frac12", "x=2", F, "", "Reciprocal."),
    ("x^2+y^2=25", "x^2+y^2=5", F, "", "Radius instead of radius squared."),
    ("2", r"x=2 \text{ or } x=3", F, "", "Extra wrong solution."),
    ("x=3", r"x \neq 3", F, "", "Negation of the gold."),
    ("x=3", "x>3", F, "", "Inequality, not the value."),
    ("k=4", "k=-4", F, "", "Sign error."),
    ("y=3x", "y=-3x", F, "", "Wrong slope sign."),
]

TUPLE = [
    ("(1,2)", "(1, 2)", T, "", "Spaces after the comma."),
    ("(1,2)", r"\left(1, 2\right)", T, "", "\\left/\\right delimiters."),
    (r"(\frac12, 3)", "(0.5, 3)", T, "", "Equal components."),
    ("(0.5,3)", r"(\frac{1}{2},3)", T, "", "Equal components, fraction pred."),
    ("(3,-4)", "(3, -4)", T, "", "Negative component."),
    ("(2,3,6)", "(2, 3, 6)", T, "", "Triple."),
    ("(0,0)", "(0, 0)", T, "", "Origin."),
    (r"(\sqrt2, \pi)", r"(2^{1/2}, \pi)", T, "", "Equal irrational components."),
    (r"(\frac13,\frac23)", r"(\frac{2}{6}, \frac{4}{6})", T, "", "Unreduced components."),
    ("(2,5)", r"\left( 2 , 5 \right)", T, "", "Delimiters and spaces."),
    ("(2,5)", "(a,b)=(2,5)", T, "", "Named pair."),
    ("(2,5)", "x=2, y=5", T, "", "Coordinates as assignments in (x, y) order."),
    ("(1,2,3)", "(1, 2, 3)", T, "", "Triple with spaces."),
    ("(4,-2)", "(4,-2.0)", T, "", "Decimal component."),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix}1\\2\end{pmatrix}", T, "", "Column vector, spacing differs."),
    (r"\begin{pmatrix} 1 \\ -2 \end{pmatrix}", r"\begin{pmatrix} \frac{2}{2} \\ -2 \end{pmatrix}", T, "", "Column vector with unreduced entry."),
    ("(1,2)", "1, 2", T, "set_vs_tuple", "Bare list in the same order; accepted as the pair by default, though the brackets are missing."),
    ("(1,2)", "(2,1)", F, "", "Order matters in a tuple."),
    ("(1,2)", "(1,2,3)", F, "", "Extra component."),
    ("(1,2)", "(1)", F, "", "Missing component."),
    ("(3,-4)", "(-4,3)", F, "", "Components swapped."),
    ("(3,-4)", "(3,4)", F, "", "Sign error."),
    ("(2,3,6)", "(6,3,2)", F, "", "Order reversed."),
    ("(0,0)", "0", F, "", "Scalar, not a point."),
    (r"(\frac13,\frac23)", "(0.33, 0.67)", F, "", "Rounded components."),
    ("(1,2)", "(1,2),(2,1)", F, "", "Extra wrong tuple."),
    ("(1,2,3)", "(1,3,2)", F, "", "Two components swapped."),
    ("(4,-2)", "(4,2)", F, "", "Sign error."),
    ("(2,5)", "(5,2)", F, "", "Components swapped."),
    ("(2,5)", "x=5, y=2", F, "", "Coordinates swapped."),
    (r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}", r"\begin{pmatrix} 2 \\ 1 \end{pmatrix}", F, "", "Vector entries swapped."),
    ("(1,2)", r"\{1,2\}", F, "set_vs_tuple", "A set is not an ordered pair; a lenient reading would accept it."),
    ("(1,-1)", "(-1,1)", F, "", "Components swapped."),
]

INTERVAL = [
    ("[1, 2)", "[1,2)", T, "", "Spacing differs."),
    (r"(-\infty, 3]", r"(-\infty,3]", T, "", "Spacing differs."),
    (r"[0,\frac12]", "[0, 0.5]", T, "", "Equal endpoints."),
    (r"(1,2)\cup(3,4)", r"(3,4)\cup(1,2)", T, "", "Union commutes."),
    (r"(1,2)\cup(3,4)", r"(1,2) \cup (3,4)", T, "", "Spacing around \\cup."),
    (r"(-\infty,\infty)", r"\mathbb{R}", T, "", "The whole real line."),
    (r"(-\infty, \infty)", r"(-\infty,+\infty)", T, "", "Explicit plus infinity."),
    (r"[0,\infty)", r"[0, \infty)", T, "", "Spacing differs."),
    (r"(3,\infty)", "x>3", T, "", "Inequality describing the same set."),
    ("[-2, 5]", r"-2 \le x \le 5", T, "", "Double inequality describing the same set."),
    ("[1,3]", r"\left[1,3\right]", T, "", "\\left/\\right delimiters."),
    ("(-1,1)", "(-1, 1)", T, "", "Spacing differs."),
    ("(-1,1)", "|x|<1", T, "", "Absolute-value inequality describing the same set."),
    (r"[0,2\pi)", r"[0, 2\pi)", T, "", "Spacing differs."),
    (r"(-\infty,1)\cup(1,\infty)", r"\mathbb{R}\setminus\{1\}", T, "", "Reals without one point."),
    (r"(-\infty,1)\cup(1,\infty)", r"x \neq 1", T, "", "Inequation describing the same set."),
    (r"[\frac{1}{2}, 2]", "[0.5, 2]", T, "", "Equal endpoints."),
    (r"(-\infty, -1] \cup [1, \infty)", r"(-\infty,-1]\cup[1,\infty)", T, "", "Spacing differs."),
    ("[1,2)", "[1,2]", F, "", "Right endpoint open in gold."),
    ("(1,2)", "[1,2]", F, "", "Open versus closed."),
    ("(1,2]", "[1,2)", F, "", "Endpoints' brackets swapped."),
    (r"(-\infty,3]", r"(-\infty,3)", F, "", "Endpoint 3 included in gold."),
    (r"(-\infty, 3]", r"(-\infty, -3]", F, "", "Sign of the endpoint."),
    (r"[0,\infty)", r"(0,\infty)", F, "", "Zero included in gold."),
    (r"(3,\infty)", r"x\geq 3", F, "", "Includes 3."),
    ("[-2,5]", "-2<x<5", F, "", "Endpoints excluded."),
    (r"(1,2)\cup(3,4)", "(1,4)", F, "", "Gap [2,3] filled in."),
    (r"(1,2)\cup(3,4)", r"(1,2)\cup[3,4)", F, "", "Includes 3."),
    (r"(1,2)\cup(3,4)", "(1,2)", F, "", "Missing a piece."),
    (r"(2,5]", r"(2,5]\cup\{7\}", F, "", "Extra point."),
    (r"[0,2\pi)", "[0,6.28)", F, "", "Approximate endpoint."),
    (r"(-\infty,1)\cup(1,\infty)", r"(-\infty,\infty)", F, "", "Includes 1."),
    ("[-3,3]", "[3,-3]", F, "", "Reversed endpoints: an empty or ill-formed interval."),
    ("[1,3]", "[1,4]", F, "", "Wrong endpoint."),
    ("(-1,1)", "(-1,0)", F, "", "Wrong endpoint."),
]

SET = [
    (r"\{1, 2\}", r"\{2, 1\}", T, "", "Sets ignore order."),
    ("1, 2", "2, 1", T, "", "A list of all solutions ignores order."),
    ("1, 2", "1,2", T, "", "Spacing differs."),
    ("1, 2", r"\{1,2\}", T, "", "Solution list written as a set."),
    (r"\{1,2\}", "1, 2", T, "", "Set gold, bare list pred."),
    (r"\{3\}", "3", T, "", "Singleton solution set."),
    ("-2, 3", "3, -2", T, "", "Order of solutions is irrelevant."),
    ("-2,3", r"x=-2 \text{ or } x=3", T, "", "Solutions stated as a disjunction."),
    ("-2,3", "x=3, x=-2", T, "", "Solutions as assignments, reordered."),
    (r"\pm 3", "3, -3", T, "", "Plus-minus expanded."),
    ("3, -3", r"\pm 3", T, "", "Plus-minus pred."),
    (r"\pm\sqrt{2}", r"\sqrt2, -\sqrt2", T, "", "Plus-minus expanded."),
    ("1, 2, 3", "3, 2, 1", T, "", "Reordered solution list."),
    (r"\{\frac12, 2\}", r"\{2, 0.5\}", T, "", "Equal elements, reordered."),
    (r"\{1, 2\}", r"\{1, 1, 2\}", T, "", "A repeated element does not change a set."),
    (r"\{-1, 0, 1\}", r"\{0, 1, -1\}", T, "", "Reordered."),
    (r"\{2,4,6\}", r"\{2, 4, 6\}", T, "", "Spacing differs."),
    ("0, 1", r"0 \text{ and } 1", T, "", "List joined by a word."),
    (r"1, -\frac{1}{2}", r"-0.5, 1", T, "", "Reordered with an equal decimal."),
    (r"\{1,2\}", r"\{1,3\}", F, "", "Wrong element."),
    (r"\{1,2\}", r"\{1\}", F, "", "Missing element."),
    (r"\{1,2\}", r"\{1,2,3\}", F, "", "Extra element."),
    ("-2, 3", "-3, 2", F, "", "Both signs wrong."),
    ("-2,3", "3", F, "", "Missing a solution."),
    (r"\pm 3", "3", F, "", "Missing the negative solution."),
    ("1,2,3", "1,2", F, "", "Missing a solution."),
    ("1,2,3", "1,2,3,4", F, "", "Extra solution."),
    (r"\{-1, 0, 1\}", r"\{0,1\}", F, "", "Missing element."),
    (r"\{2,4,6\}", r"\{2,4,8\}", F, "", "Wrong element."),
    (r"\{1, 2\}", "(1, 2)", F, "set_vs_tuple", "An ordered pair (or open interval) is not the set; a lenient reading would accept it."),
    ("2, 3", "(2, 3)", F, "set_vs_tuple", "Parentheses make a pair or an interval, not a list of solutions."),
    (r"\{3\}", r"\{3, -3\}", F, "", "Extra wrong solution."),
    ("1, 2", "12", F, "", "Digits run together: a different number."),
    (r"\pm\sqrt{2}", r"\sqrt{2}", F, "", "Missing the negative solution."),
]

TEXT_UNITS = [
    ("5", r"5 \text{ cm}", T, "", "Unit dropped."),
    ("5", r"\text{5 cm}", T, "", "Number and unit inside \\text."),
    ("5", r"5\mbox{ cm}", T, "", "Unit in \\mbox."),
    ("5", r"\$5", T, "", "Dollar sign dropped."),
    (r"\$5", "5", T, "", "Dollar-sign gold, bare pred."),
    ("5", r"5 \text{ dollars}", T, "", "Currency word dropped."),
    (r"\text{(B)}", "B", T, "", "Multiple-choice letter."),
    (r"\textbf{(C)}", "C", T, "", "Bold multiple-choice letter."),
    (r"\textbf{(C)}", "(C)", T, "", "Letter with parentheses."),
    (r"\textbf{(C) }12", "C", T, "", "AMC-style gold with the choice's value; the letter is the answer."),
    ("(B)", r"\text{B}", T, "", "Letter in \\text."),
    (r"5\text{ cm}", "5", T, "", "Unit on gold dropped."),
    (r"\$12.50", "12.5", T, "", "Currency with trailing zero."),
    (r"\$12.50", r"12.50 \text{ dollars}", T, "", "Currency word."),
    (r"\$1,250", "1250", T, "", "Currency with a thousands separator."),
    (r"\$1{,}250", r"\$1250", T, "", "Braced comma separator in gold."),
    ("18", r"18 \text{ square units}", T, "", "Area unit words dropped."),
    ("18", r"18\text{ units}^2", T, "", "Unit with exponent dropped."),
    ("12", r"12\ \text{inches}", T, "", "Unit after control space."),
    ("12", "12 inches", T, "", "Plain-word unit dropped."),
    ("3", r"3\text{ apples}", T, "", "Counting noun dropped."),
    ("7", r"\text{7}", T, "", "Number inside \\text."),
    ("7", r"\textbf{7}", T, "", "Bold number."),
    ("7", r"\mathbf{7}", T, "", "Math bold number."),
    ("7", r"\mathrm{7}", T, "", "Roman number."),
    ("9.8", r"9.8 \text{ m/s}^2", T, "", "Compound unit dropped."),
    (r"9.8\,\mathrm{m/s^2}", "9.8", T, "", "Gold with \\mathrm unit."),
    ("4", r"4\text{ ft}", T, "", "Unit dropped."),
    (r"5 \text{ cm}", r"5 \text{ m}", T, "units", "Units are dropped by default, so the numbers match; strictly the unit is wrong."),
    (r"5 \text{ cm}^2", r"5 \text{ cm}", T, "units", "Units are dropped by default; strictly the dimension is wrong."),
    (r"\$5", r"5\text{ cents}", T, "units", "Units are dropped by default; strictly the currency unit is wrong."),
    (r"1\text{ km}", r"1000\text{ m}", F, "units", "No unit conversion by default; 1 and 1000 differ."),
    (r"1000\text{ m}", r"1 \text{ km}", F, "units", "No unit conversion by default."),
    (r"60 \text{ minutes}", r"1 \text{ hour}", F, "units", "No unit conversion by default."),
    (r"100\text{ cm}", r"1\text{ m}", F, "units", "No unit conversion by default."),
    (r"4\text{ ft}", r"48\text{ in}", F, "units", "No unit conversion by default."),
    (r"\$5", r"500 \text{ cents}", F, "units", "No unit conversion by default."),
    ("5", r"6 \text{ cm}", F, "", "Wrong number."),
    (r"\$12.50", r"\$12.05", F, "", "Wrong amount."),
    ("12", "13 inches", F, "", "Wrong number."),
    (r"\text{(D)}", r"\text{(E)}", F, "", "Wrong choice."),
    (r"\textbf{(C)}", r"\textbf{(D)}", F, "", "Wrong choice."),
    ("18", r"18 \text{ cm}^2 + 2", F, "", "Extra term."),
    (r"5\text{ cm}", r"50\text{ mm}", F, "units", "No unit conversion by default."),
    ("3", r"\text{3 or 4}", F, "", "Hedged answer with a wrong value."),
    ("12", r"\text{12 and 13 inches}", F, "", "Extra wrong value."),
]

DEGREES = [
    ("30", r"30^\circ", T, "", "Degree sign dropped."),
    ("30", r"30^{\circ}", T, "", "Braced degree superscript."),
    ("30", "30" + DEGREE_SIGN, T, "", "Unicode degree sign U+00B0."),
    ("30", r"30 \text{ degrees}", T, "", "Word degrees."),
    (r"30^\circ", "30", T, "", "Degree gold, bare pred."),
    ("45", r"45^\circ", T, "", "Degree sign dropped."),
    (r"45^\circ", r"45\,^\circ", T, "", "Thin space before the degree sign."),
    (r"45^\circ", r"45 ^{\circ}", T, "", "Space before the superscript."),
    (r"60^\circ", r"60\degree", T, "", "gensymb \\degree."),
    (r"36^\circ", r"36.0^\circ", T, "", "Trailing zero."),
    (r"22.5^\circ", "22.5", T, "", "Decimal degrees."),
    (r"150^\circ", "150", T, "", "Obtuse angle."),
    ("90", "90" + DEGREE_SIGN, T, "", "Unicode degree sign."),
    (r"\frac{\pi}{4}", r"\frac{\pi}{4}\text{ radians}", T, "", "Word radians dropped."),
    (r"120^\circ", r"120 \text{ degrees}", T, "", "Word degrees."),
    (r"22.5^\circ", r"22^\circ 30'", T, "degrees", "22 degrees 30 arcminutes is 22.5 degrees; needs degree-minute reading."),
    (r"30^\circ", "60", F, "", "Complement, wrong."),
    (r"45^\circ", r"135^\circ", F, "", "Supplement, wrong."),
    (r"45^\circ", r"-45^\circ", F, "", "Sign error."),
    (r"150^\circ", r"30^\circ", F, "", "Reference angle, wrong."),
    (r"30^\circ", "0.5236", F, "", "Approximate radian value: wrong under any convention."),
    ("1", r"57.3^\circ", F, "", "Approximate conversion."),
    ("30", r"3^\circ", F, "", "Dropped a zero."),
    (r"30^\circ", r"\frac{\pi}{6}", F, "degrees", "Degrees versus radians: false by default, equal as angles."),
    (r"\frac{\pi}{6}", r"30^\circ", F, "degrees", "Radians versus degrees: false by default."),
    (r"\frac{\pi}{6}", "30", F, "degrees", "Bare degree value for a radian gold."),
    (r"90^\circ", r"\frac{\pi}{2}", F, "degrees", "Degrees versus radians."),
    (r"180^\circ", r"\pi", F, "degrees", "Degrees versus radians."),
    ("360", r"2\pi", F, "degrees", "Degrees versus radians."),
    (r"\frac{\pi}{4}", "45", F, "degrees", "Bare degree value for a radian gold."),
    (r"\frac{\pi}{2}", "90^\\circ", F, "degrees", "Degrees versus radians."),
    (r"60^\circ", r"60 \text{ radians}", T, "units", "Units are dropped by default so 60 = 60; strictly 60 radians is not 60 degrees."),
]

PLAIN_TEXT = [
    (r"\text{Yes}", "yes", T, "", "Case-insensitive word."),
    ("yes", r"\text{Yes}", T, "", "Word in \\text."),
    ("Yes", "yes", T, "", "Case differs."),
    (r"\text{East}", "east", T, "", "Direction word, case differs."),
    ("east", "East", T, "", "Capitalised."),
    ("A", "(A)", T, "", "Choice letter with parentheses."),
    (r"\text{A}", "A", T, "", "Letter in \\text."),
    ("A", r"\text{A}", T, "", "Letter in \\text on pred."),
    (r"\text{odd}", "odd", T, "", "Word without \\text."),
    ("odd", r"\text{odd}", T, "", "Word in \\text."),
    (r"\text{even}", "even", T, "", "Word without \\text."),
    (r"\text{neither}", "neither", T, "", "Word without \\text."),
    (r"\text{Monday}", "monday", T, "", "Case differs."),
    (r"\text{Devon}", "Devon", T, "", "Proper name."),
    (r"\text{No}", "NO", T, "", "Upper case."),
    (r"\text{True}", "true", T, "", "Case differs."),
    (r"\text{Alice}", "alice", T, "", "Case differs."),
    (r"\text{(C)}", r"\mathrm{(C)}", T, "", "Roman letter."),
    ("E", r"\textbf{(E)}", T, "", "Bold choice."),
    (r"\text{triangle}", "triangle", T, "", "Word without \\text."),
    ("3", r"\text{three}", T, "", "Number word."),
    ("yes", "no", F, "", "Opposite answer."),
    ("A", "B", F, "", "Wrong choice."),
    (r"\text{even}", r"\text{odd}", F, "", "Wrong parity."),
    (r"\text{neither}", r"\text{odd}", F, "", "Wrong classification."),
    (r"\text{Monday}", "Tuesday", F, "", "Wrong day."),
    (r"\text{(A)}", r"\text{(B)}", F, "", "Wrong choice."),
    (r"\text{No}", "Yes", F, "", "Opposite answer."),
    (r"\text{east}", r"\text{west}", F, "", "Opposite direction."),
    (r"\text{True}", "false", F, "", "Opposite truth value."),
    (r"\text{Alice}", r"\text{Bob}", F, "", "Wrong name."),
    ("3", r"\text{four}", F, "", "Wrong number word."),
    (r"\text{A}", r"\text{AB}", F, "", "Extra choice."),
    (r"\text{yes}", r"\text{yes and no}", F, "", "Hedged answer."),
    (r"\text{triangle}", r"\text{square}", F, "", "Wrong shape."),
    (r"\text{odd}", r"\text{even}", F, "", "Wrong parity."),
]

CLOSENESS = [
    (r"\frac13", "0.333", F, "", "Rounded value of a repeating decimal."),
    (r"\pi", "3.14", F, "", "Approximation of an irrational."),
    ("0.3", "0.1+0.2", T, "", "Exact decimal arithmetic gives 0.3."),
    ("1", "1.0000001", F, "", "Differs by 1e-7."),
    ("0", "1e-12", F, "", "Tiny but nonzero."),
    ("123456789012345678901234567890", "123456789012345678901234567890", T, "", "Identical 30-digit integer."),
    ("123456789012345678901234567890", "123456789012345678901234567891", F, "", "Last digit differs; floats cannot tell."),
    ("0.3", "0.30000000000000004", F, "", "A float artifact is a different decimal."),
    ("0.1", "0.1000001", F, "", "Differs in the seventh place."),
    ("1000000", "1000001", F, "", "Off by one at a large magnitude."),
    ("1000000", "999999.9999", F, "", "Close but not equal."),
    (r"\sqrt{2}", "1.41421356", F, "", "Approximation of an irrational."),
    ("e", "2.71828", F, "", "Approximation of Euler's number."),
    (r"\frac{2}{3}", "0.6666667", F, "", "Rounded repeating decimal."),
    (r"\frac{2}{3}", "0.667", F, "", "Rounded repeating decimal."),
    ("0.5", "0.49999999", F, "", "Close but not equal (no overline)."),
    ("2^{64}", "18446744073709551616", T, "", "Exact value of 2^64."),
    ("2^{64}", "18446744073709551615", F, "", "2^64 - 1."),
    ("10^{20}", "100000000000000000000", T, "", "Exact value of 10^20."),
    ("10^{20}", "100000000000000000001", F, "", "Off by one at 1e20."),
    ("1.5", "1.50000", T, "", "Trailing zeros."),
    ("10^{-12}", "0.000000000001", T, "", "Exact small value written out."),
    ("10^{-12}", "1e-13", F, "", "Off by a factor of ten at a tiny magnitude."),
    ("0.000001", "0", F, "", "Tiny gold, zero pred."),
    ("0.000001", "0.000002", F, "", "Off by a factor of two at a tiny magnitude."),
    ("1.23456789", "1.23456789", T, "", "Identical long decimal."),
    ("1.23456789", "1.2345679", F, "", "Rounded long decimal."),
    ("12345678901234567890", r"1.234567890123456789\times10^{19}", T, "", "Exact scientific form of a 20-digit integer."),
    ("12345678901234567890", r"1.23456789\times10^{19}", F, "", "Truncated mantissa."),
    (r"\frac{1}{7}", "0.142857142857", F, "", "Truncated repeating decimal."),
    ("100", "99.99999999", F, "", "Close but not equal."),
    ("3.14", r"\pi", F, "", "Gold is the decimal 3.14; pi is a different number."),
    ("4", "3.9999999999999996", F, "", "Float artifact."),
    ("7", "7.000000000001", F, "", "Differs by 1e-12."),
    ("0.001", "0.0010", T, "", "Trailing zero."),
    ("987654321987654321", "987654321987654320", F, "", "Last digit differs at 1e17."),
    ("0.7", "0.2+0.5", T, "", "Exact decimal sum."),
    ("1", r"\frac{999999}{1000000}", F, "", "Close rational, not equal."),
]

NEGATIVE_AND_MISC = [
    ("-5", MINUS_SIGN + "5", T, "", "Unicode minus sign U+2212."),
    ("-5", "- 5", T, "", "Space after the minus sign."),
    ("-5", "-(5)", T, "", "Negated parenthesised number."),
    ("-5", r"\left( -5 \right)", T, "", "Parenthesised negative."),
    ("-5", "(-5)", T, "", "Parenthesised negative."),
    ("-5", "{-5}", T, "", "Braced negative."),
    ("-5", "-5.0", T, "", "Decimal form."),
    ("-5", r"-\,5", T, "", "Thin space after the minus sign."),
    ("5", "-(-5)", T, "", "Explicit double negation with parentheses."),
    (r"-\frac{1}{2}", MINUS_SIGN + r"\frac{1}{2}", T, "", "Unicode minus before a fraction."),
    ("-3", r"-\left(3\right)", T, "", "Negated parenthesised number."),
    ("-1", r"\text{-1}", T, "", "Negative number in \\text."),
    ("0", "-0", T, "", "Negative zero."),
    (r"\infty", r"\infty", T, "", "Identical."),
    (r"\infty", r"+\infty", T, "", "Explicit plus."),
    (r"-\infty", r"-\infty", T, "", "Identical."),
    (r"\infty", r"\text{infinity}", T, "", "Word for infinity."),
    (r"\emptyset", r"\varnothing", T, "", "Two symbols for the empty set."),
    (r"\emptyset", r"\{\}", T, "", "Empty braces."),
    (r"\varnothing", r"\emptyset", T, "", "Two symbols for the empty set."),
    (r"\emptyset", r"\text{no solution}", T, "", "Empty solution set stated in words."),
    ("i", r"\sqrt{-1}", T, "", "Principal root of -1."),
    (r"\text{DNE}", r"\text{does not exist}", T, "", "Abbreviation spelled out."),
    ("-5", "--5", F, "", "Ill-formed double minus; whatever it means it is not -5."),
    ("0", "", F, "", "Empty answer."),
    ("0", " ", F, "", "Whitespace-only answer."),
    ("-5", "5", F, "", "Sign dropped."),
    ("-5", "+5", F, "", "Wrong sign."),
    (r"\infty", r"-\infty", F, "", "Opposite infinity."),
    (r"\infty", "1000000", F, "", "A large number is not infinity."),
    (r"\emptyset", "0", F, "", "Zero is not the empty set."),
    (r"\emptyset", r"\{0\}", F, "", "The set containing zero is not empty."),
    (r"\emptyset", r"\{\emptyset\}", F, "", "A set containing the empty set is not empty."),
    ("0", r"\text{none}", F, "", "The number zero is not 'none'."),
    ("-3", "3-", F, "", "Ill-formed trailing minus."),
    ("-5", r"\pm 5", F, "", "Extra wrong value."),
    (r"-\infty", r"\infty", F, "", "Opposite infinity."),
    ("-1", "1", F, "", "Sign dropped."),
]

CATEGORIES = [
    ("integer_separators", "sep", INTEGER_SEPARATORS),
    ("decimal", "dec", DECIMAL),
    ("fraction", "frac", FRACTION),
    ("mixed_number", "mixed", MIXED_NUMBER),
    ("percent", "pct", PERCENT),
    ("scientific", "sci", SCIENTIFIC),
    ("repeating_decimal", "rep", REPEATING_DECIMAL),
    ("sqrt", "sqrt", SQRT),
    ("pi", "pi", PI),
    ("expression", "expr", EXPRESSION),
    ("equation", "eq", EQUATION),
    ("tuple", "tuple", TUPLE),
    ("interval", "intv", INTERVAL),
    ("set", "set", SET),
    ("text_units", "unit", TEXT_UNITS),
    ("degrees", "deg", DEGREES),
    ("plain_text", "text", PLAIN_TEXT),
    ("closeness", "close", CLOSENESS),
    ("negative_and_misc", "neg", NEGATIVE_AND_MISC),
]

CONVENTIONS = {"", "percent", "degrees", "units", "set_vs_tuple", "ordering", "decimal_comma", "domain"}


# ---------------------------------------------------------------------------
# math-verify, called as open-r1's accuracy_reward calls it
# ---------------------------------------------------------------------------

class _TimeoutCounter(logging.Handler):
    """Counts math-verify's 'Timeout during ...' warnings (it swallows the exception)."""

    def __init__(self):
        super().__init__(level=logging.WARNING)
        self.count = 0

    def emit(self, record):
        if "Timeout" in record.getMessage():
            self.count += 1


def make_verdict_fn(verbose=False):
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    # latex2sympy2_extended warns that equations=True is deprecated on every
    # call; open-r1 passes it, so we keep it and silence the warning.
    logging.getLogger("latex2sympy2_extended").setLevel(logging.ERROR)
    counter = _TimeoutCounter()
    logging.getLogger("math_verify").addHandler(counter)

    answer_config = [
        LatexExtractionConfig(
            normalization_config=NormalizationConfig(
                nits=False,
                malformed_operators=False,
                basic_latex=True,
                equations=True,
                boxed="all",
                units=True,
            ),
            boxed_match_priority=0,
            try_extract_without_anchor=False,
        )
    ]

    def math_verify_verdict(gold, pred, completion=None):
        """True/False as open-r1 would reward it; None where open-r1 gets None
        (gold unparseable, or verify raised) or math-verify timed out. `completion`,
        when given, is a whole model output to extract from instead of a boxed `pred`."""
        # open-r1's `solution` is a dataset solution that ends in \boxed{answer}.
        solution = "\\boxed{" + gold + "}"
        if completion is None:
            completion = "The answer is \\boxed{" + pred + "}"
        before = counter.count
        # parse() and verify() keep their built-in 5 s timeouts (parsing_timeout, timeout_seconds).
        gold_parsed = parse(solution, extraction_mode="first_match")
        answer_parsed = parse(completion, extraction_config=answer_config, extraction_mode="first_match")
        verdict = None
        if len(gold_parsed) != 0:
            try:
                verdict = bool(verify(gold_parsed, answer_parsed))
            except Exception as e:  # open-r1 maps this to reward None
                print(f"verify raised {type(e).__name__}: gold={gold!r} pred={pred!r}", file=sys.stderr)
                verdict = None
        if counter.count != before:
            verdict = None
        if verbose:
            print(f"  gold {gold!r} -> {gold_parsed!r}\n  pred {pred!r} -> {answer_parsed!r}\n  => {verdict}")
        return verdict

    return math_verify_verdict


# ---------------------------------------------------------------------------

def build_records(verdict_fn, verbose=False, categories=None, id_prefix="", exclude=frozenset()):
    """The records of `categories` (default: this file's), ids `id_prefix + prefix-NNN`; a pair
    in `exclude` (e.g. the development corpus, for a held-out set) is an error."""
    records = []
    seen = set()
    for category, prefix, pairs in categories or CATEGORIES:
        for i, pair in enumerate(pairs, 1):
            gold, pred, careful, convention, why = pair
            assert convention in CONVENTIONS, (category, i, convention)
            assert isinstance(careful, bool) and why, (category, i)
            key = (gold, pred)
            assert key not in seen, f"duplicate pair {key!r}"
            assert key not in exclude, f"pair {key!r} is already in corpus.jsonl"
            seen.add(key)
            rid = f"{id_prefix}{prefix}-{i:03d}"
            if verbose:
                print(rid)
            records.append({
                "id": rid,
                "category": category,
                "gold": gold,
                "pred": pred,
                "careful": careful,
                "convention": convention,
                "math_verify": verdict_fn(gold, pred),
                "why": why,
            })
    return records


def summary_table(records):
    lines = [
        "| category | pairs | careful=false | convention | math-verify agrees (non-convention) | math-verify agrees (all) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]

    def row(name, rs):
        plain = [r for r in rs if not r["convention"]]
        agree_plain = sum(r["math_verify"] == r["careful"] for r in plain)
        agree_all = sum(r["math_verify"] == r["careful"] for r in rs)
        false = sum(not r["careful"] for r in rs)
        conv = len(rs) - len(plain)
        return (f"| {name} | {len(rs)} | {false} | {conv} | "
                f"{agree_plain}/{len(plain)} ({100.0 * agree_plain / max(len(plain), 1):.0f}%) | "
                f"{agree_all}/{len(rs)} ({100.0 * agree_all / len(rs):.0f}%) |")

    for category, _, _ in CATEGORIES:
        lines.append(row(category, [r for r in records if r["category"] == category]))
    lines.append(row("**total**", records))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with corpus.jsonl instead of writing it")
    ap.add_argument("--verbose", action="store_true", help="print math-verify's parses for every pair")
    args = ap.parse_args()

    records = build_records(make_verdict_fn(args.verbose), args.verbose)
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.check:
        same = CORPUS.read_text(encoding="utf-8") == text
        print("corpus.jsonl is up to date" if same else "corpus.jsonl differs from a fresh run")
        if not same:
            sys.exit(1)
    else:
        CORPUS.write_text(text, encoding="utf-8")
        print(f"wrote {len(records)} pairs to {CORPUS}")
    from importlib.metadata import version
    print("math-verify " + version("math-verify") + ", latex2sympy2_extended " + version("latex2sympy2_extended")
          + ", sympy " + version("sympy") + ", antlr4-python3-runtime " + version("antlr4-python3-runtime"))
    nulls = [r["id"] for r in records if r["math_verify"] is None]
    if nulls:
        print("math-verify gave no verdict (null) for: " + ", ".join(nulls))
    print()
    print(summary_table(records))


if __name__ == "__main__":
    main()
