#!/usr/bin/env python3
"""Build the HELD-OUT answer-equivalence corpus for grpo-eval's math checker.

The development corpus (corpus.jsonl, made by make_corpus.py) was used while
the checker was written and tuned.  The pairs below were written by hand
afterwards, without reading the checker (include/grpo/eval/), so that they
measure how well it generalises.  None of them equals a (gold, pred) pair of
corpus.jsonl; the script checks that.

The format, the 19 categories, the meaning of `careful` and `convention`, and
the convention defaults are exactly those of make_corpus.py (see its
docstring and README.md):

  - a percent sign is a unit and is dropped (50\\% == 50, 50\\% != 0.5)
  - a degree sign is dropped (30^\\circ == 30; degrees != radians)
  - units are dropped, never converted (1 km != 1000 m; 5 cm == 5 m)
  - set_vs_tuple: a set and a tuple differ; a bare list in the right order is
    accepted as the tuple
  - domain: expressions that agree wherever both are defined are equal
  - a comma is never a decimal separator, a period always is

math-verify is called exactly as make_corpus.py calls it (the function is
imported from there).  Ids are the development prefixes with `ho-` in front.

    build/mv-venv/bin/python tests/eval/equivalence/make_heldout.py          # writes heldout.jsonl
    build/mv-venv/bin/python tests/eval/equivalence/make_heldout.py --check  # exit 1 if it differs

Options: --check (compare with the committed heldout.jsonl instead of
writing), --verbose (print what math-verify parsed for every pair).
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import make_corpus  # noqa: E402
from make_corpus import CONVENTIONS, CORPUS, DEGREE_SIGN, MINUS_SIGN, THIN_SPACE, F, T  # noqa: E402

HERE = Path(__file__).resolve().parent
HELDOUT = HERE / "heldout.jsonl"

NBSP = "\u00a0"

# ---------------------------------------------------------------------------
# The pairs.  Each category: (name, id prefix, [(gold, pred, careful, convention, why), ...])
# ---------------------------------------------------------------------------

INTEGER_SEPARATORS = [
    ("25000", "25,000", T, "", "Comma thousands separator."),
    ("4096", "4{,}096", T, "", "Braced-comma thousands separator."),
    ("3600", r"3\,600", T, "", "Thin-space thousands separator."),
    ("1,048,576", r"1\,048\,576", T, "", "Comma-grouped gold, thin-space-grouped pred."),
    ("-12500", "-12{,}500", T, "", "Negative number with a braced comma."),
    ("250000", "250 000", T, "", "Plain-space digit grouping."),
    ("65536", "65,536.00", T, "", "Separator plus zero cents-style decimals."),
    ("9{,}999", "9999", T, "", "Braced-comma gold, plain pred."),
    ("1234.56", "1,234.56", T, "", "Separator before a decimal part."),
    ("100000", "100" + NBSP + "000", T, "", "No-break space U+00A0 digit grouping."),
    ("25000", "2,500", F, "", "A zero is missing behind the separator."),
    ("4096", "40,96", F, "", "Bad grouping: 40,96 is not a way to write 4096."),
    ("3600", "3.600", F, "", "A period is a decimal point: 3.600 is 3.6."),
    ("1,048,576", "1,048,567", F, "", "Last two digits transposed."),
    ("250000", "25,0000", F, "", "Bad grouping (four digits after the comma)."),
    ("100000", "1,00,000", F, "", "Irregular (lakh-style) grouping; under the corpus rules bad grouping is not the number."),
    ("3.5", "3,5", F, "decimal_comma", "European decimal comma; under the default a comma is never a decimal point."),
]

DECIMAL = [
    ("0.25", "0.2500", T, "", "Trailing zeros."),
    ("-0.75", "-.75", T, "", "Negative decimal without a leading zero."),
    ("4.50", "4.5", T, "", "Gold with a trailing zero."),
    ("12", "12.000", T, "", "Integer with three zero decimals."),
    ("0.08", ".080", T, "", "No leading zero, one trailing zero."),
    ("-3", "-3.00", T, "", "Negative integer as a decimal."),
    ("6.4", r"\frac{32}{5}", T, "", "Exact fraction of the same value."),
    ("0.0625", r"\frac{1}{16}", T, "", "Exact fraction of a four-place decimal."),
    ("0.25", "0.025", F, "", "Off by a factor of ten."),
    ("4.5", "4.05", F, "", "Inserted zero changes the value."),
    ("-0.75", "-7.5", F, "", "Misplaced decimal point."),
    ("12.34", "12.43", F, "", "Transposed decimals."),
    ("0.08", "0.8", F, "", "Off by a factor of ten."),
    ("99.5", "99", F, "", "Fractional part dropped."),
]

FRACTION = [
    (r"-\frac{3}{4}", r"\frac{-3}{4}", T, "", "Sign moved into the numerator."),
    (r"-\frac{5}{3}", "-5/3", T, "", "Negative slash fraction."),
    (r"\frac{7}{8}", "0.875", T, "", "Exact decimal."),
    (r"\frac{1}{6}", r"\frac{\frac{1}{2}}{3}", T, "", "Nested fraction: one half divided by three."),
    (r"\frac{1}{6}", r"\frac{1/2}{3}", T, "", "Nested fraction with a slash in the numerator."),
    ("4", r"\frac{3}{\frac{3}{4}}", T, "", "Nested fraction: three divided by three quarters."),
    (r"\frac{9}{12}", "0.75", T, "", "Unreduced gold, exact decimal pred."),
    (r"-\frac{2}{5}", "-0.4", T, "", "Negative exact decimal."),
    (r"\frac{11}{4}", r"\dfrac{11}{4}", T, "", "\\dfrac is \\frac."),
    (r"\frac{-7}{3}", r"-\frac{7}{3}", T, "", "Sign moved out of the numerator."),
    (r"-\frac{9}{4}", r"\frac{9}{-4}", T, "", "Sign in the denominator."),
    (r"-\frac{3}{4}", r"\frac{3}{4}", F, "", "Sign dropped."),
    (r"-\frac{5}{3}", r"-\frac{3}{5}", F, "", "Reciprocal."),
    (r"\frac{1}{6}", r"\frac{\frac{1}{2}}{\frac{1}{3}}", F, "", "That nested fraction is 3/2."),
    (r"\frac{7}{8}", "0.87", F, "", "Truncated decimal."),
    (r"\frac{5}{9}", "0.56", F, "", "Rounded decimal of a repeating value."),
    (r"\frac{11}{4}", r"\frac{11}{5}", F, "", "Wrong denominator."),
    (r"-\frac{2}{5}", r"\frac{-2}{-5}", F, "", "Two minus signs cancel: that is +2/5."),
]

MIXED_NUMBER = [
    (r"-3\frac{1}{2}", "-3.5", T, "", "Decimal of a negative mixed number."),
    (r"-3\frac{1}{2}", r"-\frac{7}{2}", T, "", "The sign covers the whole mixed number."),
    (r"\frac{-11}{4}", r"-2\frac{3}{4}", T, "", "Negative mixed-number pred."),
    (r"4\frac{1}{5}", "4.2", T, "", "Decimal of the mixed number."),
    (r"\frac{17}{6}", r"2\frac{5}{6}", T, "", "Mixed-number pred."),
    (r"7\frac{1}{8}", r"\frac{57}{8}", T, "", "Improper fraction of the mixed number."),
    (r"1\frac{2}{3}", r"\frac53", T, "", "Brace-less improper fraction."),
    (r"-1\frac{1}{2}", r"-1 \tfrac{1}{2}", T, "", "Same negative mixed number with \\tfrac and a space."),
    (r"-3\frac{1}{2}", "-2.5", F, "", "Reading -3 + 1/2 is wrong."),
    (r"-3\frac{1}{2}", r"-\frac{3}{2}", F, "", "Reading -3 * 1/2 is wrong."),
    (r"4\frac{1}{5}", r"\frac{4}{5}", F, "", "4 * 1/5 misreading."),
    (r"\frac{17}{6}", r"2\frac{1}{6}", F, "", "Wrong fractional part."),
    (r"7\frac{1}{8}", "7.18", F, "", "Digits run together; 7 1/8 is 7.125."),
    (r"-2\frac{3}{4}", r"2\frac{3}{4}", F, "", "Sign dropped."),
    (r"1\frac{2}{3}", "1.67", F, "", "Rounded decimal."),
]

PERCENT = [
    (r"37.5\%", "37.5", T, "", "Percent sign dropped."),
    ("80", r"80\%", T, "", "Percent sign dropped on pred."),
    (r"8\%", r"8.0 \%", T, "", "Trailing zero and a space."),
    (r"66\frac{2}{3}\%", r"66\frac{2}{3}", T, "", "Mixed-number percent."),
    (r"125\%", r"125 \text{ percent}", T, "", "Word percent."),
    ("15", "15 %", T, "", "Bare percent sign after a space."),
    (r"37.5\%", "0.375", F, "percent", "Under the default 37.5% is 37.5, not 0.375."),
    (r"8\%", "0.08", F, "percent", "Under the default 8% is 8."),
    ("0.25", r"25\%", F, "percent", "Gold is a plain fraction; 25% read as 25 differs."),
    (r"40\%", r"\frac{2}{5}", F, "percent", "Under the default 40% is 40, not 2/5."),
    (r"66\frac{2}{3}\%", r"66.7\%", F, "", "Rounded, not exact."),
    ("80", r"8\%", F, "", "Dropped a zero."),
    (r"12\%", r"21\%", F, "", "Transposed digits."),
    (r"-5\%", r"5\%", F, "", "Sign error (a decrease, not an increase)."),
]

SCIENTIFIC = [
    (r"4.2\times10^{-5}", "0.000042", T, "", "Negative exponent written out."),
    (r"7\times10^{-3}", "7e-3", T, "", "e-notation with a negative exponent."),
    ("0.00036", r"3.6\times 10^{-4}", T, "", "Scientific-notation pred."),
    (r"9.1\times10^{-31}", r"9.1 \cdot 10^{-31}", T, "", "\\cdot instead of \\times."),
    ("25000000", r"2.5\times10^7", T, "", "Brace-less exponent."),
    (r"1.6\times10^{-19}", "1.6E-19", T, "", "Capital-E notation."),
    ("0.0005", r"5 \times 10^{-4}", T, "", "Scientific notation with spaces."),
    (r"3.2\times10^{-2}", r"32\times10^{-3}", T, "", "Non-normalised mantissa, same value."),
    (r"4.2\times10^{-5}", "0.00042", F, "", "Off by a factor of ten."),
    (r"7\times10^{-3}", r"7\times10^{3}", F, "", "Sign of the exponent."),
    ("0.00036", r"3.6\times10^{-3}", F, "", "Exponent off by one."),
    (r"9.1\times10^{-31}", r"9.1\times10^{31}", F, "", "Sign of the exponent."),
    ("25000000", "2.5e6", F, "", "Exponent off by one."),
]

REPEATING_DECIMAL = [
    (r"\frac{1}{13}", r"0.\overline{076923}", T, "", "Six-digit repetend of 1/13."),
    (r"\frac{2}{7}", r"0.\overline{285714}", T, "", "Six-digit repetend of 2/7."),
    (r"\frac{1}{37}", r"0.\overline{027}", T, "", "0.027027... is 27/999 = 1/37."),
    (r"\frac{7}{12}", r"0.58\overline{3}", T, "", "0.58333... is 7/12."),
    (r"\frac{1}{27}", r"0.\overline{037}", T, "", "0.037037... is 37/999 = 1/27."),
    (r"\frac{13}{99}", r"0.\overline{13}", T, "", "0.1313... is 13/99."),
    (r"\frac{5}{3}", r"1.\overline{6}", T, "", "Repeating decimal above one."),
    (r"\frac{3}{11}", r"0.\overline{27}", T, "", "0.2727... is 27/99 = 3/11."),
    (r"\frac{1}{17}", r"0.\overline{0588235294117647}", T, "", "Sixteen-digit repetend of 1/17."),
    (r"\frac{1}{13}", r"0.\overline{076932}", F, "", "Two digits of the repetend swapped."),
    (r"\frac{2}{7}", "0.285714", F, "", "One period without the overline is a terminating decimal."),
    (r"\frac{7}{12}", r"0.5\overline{83}", F, "", "0.58383... is 289/495."),
    (r"\frac{1}{37}", r"0.0\overline{27}", F, "", "0.02727... is 3/110."),
    (r"\frac{5}{3}", "1.667", F, "", "Rounded decimal."),
    (r"\frac{1}{19}", r"0.\overline{05263157894736842}", F, "", "Repetend of 1/19 with its last digit (1) missing."),
]

SQRT = [
    (r"\frac{\sqrt{6}}{3}", r"\frac{2}{\sqrt{6}}", T, "", "Unrationalised denominator: 2/sqrt6 = sqrt6/3."),
    (r"\frac{\sqrt{5}}{5}", r"\frac{1}{\sqrt{5}}", T, "", "Unrationalised denominator."),
    (r"3\sqrt{3}", r"\sqrt{27}", T, "", "Unsimplified radical."),
    (r"\sqrt{2}+\sqrt{8}", r"3\sqrt{2}", T, "", "Sum of radicals simplified: sqrt8 = 2sqrt2."),
    (r"2\sqrt{5}", r"\sqrt{5}+\sqrt{5}", T, "", "Sum of equal radicals."),
    (r"\sqrt{3}+\sqrt{12}", r"\sqrt{27}", T, "", "sqrt3 + 2sqrt3 = 3sqrt3 = sqrt27."),
    (r"\frac{3}{\sqrt{3}}", r"\sqrt{3}", T, "", "Unrationalised gold, simplified pred."),
    (r"6\sqrt{2}", r"\sqrt{72}", T, "", "Unsimplified radical."),
    (r"\sqrt{2}-1", r"\frac{1}{\sqrt{2}+1}", T, "", "Rationalising 1/(sqrt2+1) gives sqrt2-1."),
    (r"\frac{\sqrt{10}}{2}", r"\sqrt{\frac{5}{2}}", T, "", "Root of a fraction: sqrt(5/2) = sqrt10/2."),
    (r"\frac{3\sqrt{2}}{4}", r"\frac{3}{2\sqrt{2}}", T, "", "Unrationalised denominator."),
    (r"\sqrt{6}+\sqrt{2}", r"\sqrt{2}+\sqrt{6}", T, "", "Commuted sum of radicals."),
    (r"\frac{\sqrt{6}}{3}", r"\frac{\sqrt{6}}{2}", F, "", "Wrong denominator."),
    (r"\frac{\sqrt{5}}{5}", r"\sqrt{5}", F, "", "Denominator lost."),
    (r"\sqrt{2}+\sqrt{8}", r"\sqrt{10}", F, "", "Radicals do not add under one root."),
    (r"3\sqrt{3}", r"\sqrt{9}", F, "", "Coefficient moved inside without squaring."),
    (r"\sqrt{2}-1", r"\sqrt{2}+1", F, "", "Conjugate, not the value."),
    (r"6\sqrt{2}", "8.485", F, "", "Decimal approximation."),
    (r"\frac{\sqrt{10}}{2}", r"\sqrt{5}", F, "", "sqrt10/2 is sqrt(5/2), not sqrt5."),
    (r"\frac{3\sqrt{2}}{4}", r"\frac{3}{4\sqrt{2}}", F, "", "That is 3sqrt2/8."),
]

PI = [
    (r"\frac{5\pi}{6}", r"\frac{5}{6}\pi", T, "", "Coefficient form."),
    (r"\frac{7\pi}{4}", r"7\pi/4", T, "", "Slash division."),
    (r"\frac{2\pi}{3}", r"\frac{4\pi}{6}", T, "", "Unreduced multiple of pi."),
    (r"16\pi", r"\pi \cdot 4^2", T, "", "Area pi r^2 with r = 4."),
    (r"\frac{32\pi}{3}", r"\frac{4}{3}\pi \cdot 2^3", T, "", "Sphere volume with r = 2, unevaluated."),
    (r"\frac{\pi}{12}", r"\frac{1}{12}\pi", T, "", "Coefficient form."),
    (r"100\pi", r"100\pi \text{ square feet}", T, "", "Unit words dropped."),
    (r"\frac{3\pi}{2}", r"1.5\pi", T, "", "Decimal coefficient, exact."),
    (r"\frac{5\pi}{6}", r"\frac{6\pi}{5}", F, "", "Inverted coefficient."),
    (r"\frac{7\pi}{4}", r"\frac{7}{4\pi}", F, "", "Pi moved into the denominator."),
    (r"16\pi", r"8\pi", F, "", "Circumference instead of area."),
    (r"\frac{32\pi}{3}", "33.51", F, "", "Decimal approximation."),
    (r"\frac{2\pi}{3}", r"\frac{2}{3}", F, "", "Pi dropped."),
    (r"\frac{\pi}{12}", r"\frac{13\pi}{12}", F, "", "Differs by pi."),
]

EXPRESSION = [
    ("x^2-5x+6", "(x-2)(x-3)", T, "", "Factored quadratic."),
    ("2x^2+7x+3", "(2x+1)(x+3)", T, "", "Factored quadratic with a leading coefficient."),
    ("x^3-8", "(x-2)(x^2+2x+4)", T, "", "Difference of cubes factored."),
    ("4x^2-9", "(2x-3)(2x+3)", T, "", "Difference of squares factored."),
    ("a^2-b^2", "(a+b)(a-b)", T, "", "Difference of squares."),
    ("x^{-2}", r"\frac{1}{x^2}", T, "", "Negative exponent."),
    ("5", r"\log_2 32", T, "", "Unevaluated logarithm."),
    ("2", r"\ln e^2", T, "", "Natural log of e squared."),
    ("3", r"\log_{10} 1000", T, "", "Common logarithm."),
    (r"\log_2 8", "3", T, "", "Logarithm gold, evaluated pred."),
    ("2", r"\log_3 9", T, "", "Unevaluated logarithm."),
    ("720", "6!", T, "", "Unevaluated factorial."),
    ("56", r"\binom{8}{3}", T, "", "Unevaluated binomial coefficient."),
    (r"\binom{6}{2}", "15", T, "", "Binomial gold, evaluated pred."),
    ("42", r"\frac{7!}{5!}", T, "", "Ratio of factorials."),
    (r"\cos^2 x", r"1-\sin^2 x", T, "", "Pythagorean identity."),
    (r"\sec^2 x", r"1+\tan^2 x", T, "", "Pythagorean identity for secant."),
    (r"\sin x", r"\cos\left(\frac{\pi}{2}-x\right)", T, "", "Co-function identity."),
    (r"\frac{1}{2}", r"\sin\left(\frac{\pi}{6}\right)", T, "", "Exact value of sin(pi/6)."),
    ("x-2", r"\frac{x^2-4}{x+2}", T, "domain", "Equal wherever both are defined; differs only at x = -2."),
    ("x^2-5x+6", "(x+2)(x+3)", F, "", "That is x^2+5x+6."),
    ("2x^2+7x+3", "(2x+3)(x+1)", F, "", "That is 2x^2+5x+3."),
    ("x^3-8", "(x-2)^3", F, "", "Cube of a difference is not a difference of cubes."),
    ("4x^2-9", "(4x-3)(x+3)", F, "", "That is 4x^2+9x-9."),
    ("a^2-b^2", "(a-b)^2", F, "", "Missing cross term."),
    ("5", r"\log_{32} 2", F, "", "Base and argument swapped (that is 1/5)."),
    ("2", r"\ln 2", F, "", "ln 2 is not 2."),
    ("2", r"\log_2 2", F, "", "That is 1."),
    ("720", "7!", F, "", "That is 5040."),
    ("56", r"\binom{8}{2}", F, "", "That is 28."),
    ("56", "336", F, "", "Permutations 8P3 instead of combinations."),
    (r"\cos^2 x", r"1-\cos^2 x", F, "", "That is sin^2 x."),
    (r"\sec^2 x", r"1-\tan^2 x", F, "", "Wrong sign in the identity."),
    (r"\sin x", r"\cos x", F, "", "Different function."),
]

EQUATION = [
    ("x=-4", "-4", T, "", "Bare value."),
    ("7", "t=7", T, "", "Assignment to the unknown."),
    ("y=-3x+6", "3x+y=6", T, "", "Standard form of the same line."),
    ("y=-3x+6", "y=6-3x", T, "", "Commuted right-hand side."),
    (r"x=\frac{5}{2}", "x=2.5", T, "", "Decimal value."),
    ("(x-1)^2+(y+2)^2=9", "x^2-2x+y^2+4y-4=0", T, "", "Expanded circle equation."),
    (r"y=\frac{1}{2}x-3", "x-2y=6", T, "", "Standard form of the same line."),
    ("x=-4", "x=4", F, "", "Sign error."),
    ("7", "t=-7", F, "", "Sign error."),
    ("y=-3x+6", "y=3x+6", F, "", "Wrong slope sign."),
    (r"x=\frac{5}{2}", r"x=\frac{2}{5}", F, "", "Reciprocal."),
    ("(x-1)^2+(y+2)^2=9", "(x+1)^2+(y-2)^2=9", F, "", "Centre reflected through the origin."),
    (r"y=\frac{1}{2}x-3", "x-2y=-6", F, "", "That line has intercept +3."),
    ("4", r"x=4 \text{ or } x=-4", F, "", "Extra wrong solution."),
]

TUPLE = [
    (r"\left(\frac{1}{3}, -\frac{2}{3}\right)", r"\left(\frac{2}{6}, \frac{-2}{3}\right)", T, "", "Pair of fractions, equal components."),
    (r"(\frac{3}{2}, -\frac{1}{4})", "(1.5, -0.25)", T, "", "Exact decimal components."),
    ("(-1, 4, 2)", "(-1,4,2)", T, "", "Triple, spacing differs."),
    (r"\left(2, \frac{\pi}{3}\right)", r"(2, \pi/3)", T, "", "Polar coordinates, slash form."),
    ("(3, 0)", r"\left(3,\,0\right)", T, "", "Thin space after the comma."),
    ("(-2, 7)", "x=-2, y=7", T, "", "Coordinates as assignments in (x, y) order."),
    ("(3,-1)", "3, -1", T, "set_vs_tuple", "Bare list in the right order is accepted as the tuple by default."),
    (r"\left(\frac{1}{3}, -\frac{2}{3}\right)", r"\left(-\frac{2}{3}, \frac{1}{3}\right)", F, "", "Components swapped."),
    (r"(\frac{3}{2}, -\frac{1}{4})", r"(\frac{2}{3}, -\frac{1}{4})", F, "", "First component inverted."),
    ("(-1, 4, 2)", "(-1, 2, 4)", F, "", "Two components swapped."),
    (r"\left(2, \frac{\pi}{3}\right)", r"\left(2, \frac{2\pi}{3}\right)", F, "", "Wrong angle."),
    ("(3, 0)", "3", F, "", "Scalar, not a point."),
    ("(-2, 7)", "(-2, 7, 0)", F, "", "Extra component."),
    ("(4, 5)", r"\{4, 5\}", F, "set_vs_tuple", "A set is not an ordered pair."),
]

INTERVAL = [
    (r"(-\infty, -2) \cup (3, \infty)", r"(3,\infty)\cup(-\infty,-2)", T, "", "Union commutes."),
    (r"(-\infty, 0] \cup [4, \infty)", r"(-\infty,0]\cup[4,+\infty)", T, "", "Explicit plus infinity."),
    (r"[-1, \infty)", r"x \ge -1", T, "", "Inequality describing the same set."),
    (r"(-\infty, 5)", "x<5", T, "", "Inequality describing the same set."),
    (r"(-3, \frac{1}{2}]", r"(-3, 0.5]", T, "", "Equal endpoint as a decimal."),
    (r"(-\infty,-1)\cup(-1,2)\cup(2,\infty)", r"(-\infty,-1)\cup(-1,2)\cup(2,+\infty)", T, "", "Three pieces, explicit plus infinity."),
    ("[2, 6]", r"\left[ 2, 6 \right]", T, "", "\\left/\\right delimiters."),
    (r"(-\infty, -2) \cup (3, \infty)", "(-2, 3)", F, "", "The complement."),
    (r"(-\infty, 0] \cup [4, \infty)", r"(-\infty,0)\cup(4,\infty)", F, "", "Endpoints 0 and 4 dropped."),
    (r"[-1, \infty)", r"(-1,\infty)", F, "", "Endpoint -1 included in gold."),
    (r"(-\infty, 5)", r"(-\infty, 5]", F, "", "Endpoint 5 excluded in gold."),
    (r"(-3, \frac{1}{2}]", "(-3, 2]", F, "", "Reciprocal endpoint."),
    (r"(-\infty,-1)\cup(-1,2)\cup(2,\infty)", r"(-\infty,2)\cup(2,\infty)", F, "", "Includes -1."),
    ("[2, 6]", r"[2, 6] \cup \{8\}", F, "", "Extra point."),
]

SET = [
    (r"\{1+\sqrt{2}, 1-\sqrt{2}\}", r"\{1-\sqrt2, 1+\sqrt2\}", T, "", "Reordered irrational elements, brace-less roots."),
    (r"1 \pm \sqrt{3}", r"1+\sqrt{3}, 1-\sqrt{3}", T, "", "Plus-minus expanded."),
    (r"\frac{-1 \pm \sqrt{5}}{2}", r"\frac{-1+\sqrt{5}}{2}, \frac{-1-\sqrt{5}}{2}", T, "", "Plus-minus in a fraction expanded."),
    (r"\{-\pi, \pi\}", r"\{\pi, -\pi\}", T, "", "Reordered."),
    ("-4, 1", "1, -4", T, "", "Order of solutions is irrelevant."),
    (r"\{\frac{1}{2}, -3\}", r"\{-3, 0.5\}", T, "", "Reordered with an equal decimal."),
    (r"\{\sqrt{2}, \sqrt{3}\}", r"\{\sqrt{3}, \sqrt{2}\}", T, "", "Reordered irrational elements."),
    (r"\{1+\sqrt{2}, 1-\sqrt{2}\}", r"\{1+\sqrt{2}\}", F, "", "Missing the conjugate root."),
    (r"1 \pm \sqrt{3}", r"-1 \pm \sqrt{3}", F, "", "Wrong centre."),
    (r"\frac{-1 \pm \sqrt{5}}{2}", r"\frac{1 \pm \sqrt{5}}{2}", F, "", "Sign of the linear term."),
    (r"\{-\pi, \pi\}", r"\{-3.14, 3.14\}", F, "", "Decimal approximations."),
    ("-4, 1", "4, -1", F, "", "Both signs wrong."),
    (r"\{\sqrt{2}, \sqrt{3}\}", r"\{\sqrt{2}, \sqrt{3}, \sqrt{5}\}", F, "", "Extra element."),
    ("-4, 1", "(-4, 1)", F, "set_vs_tuple", "Parentheses make a pair or an interval, not a list of solutions."),
]

TEXT_UNITS = [
    (r"\$8.75", "8.75", T, "", "Dollar sign dropped."),
    (r"\$3.40", r"3.4 \text{ dollars}", T, "", "Currency word, trailing zero dropped."),
    ("42", r"\$42.00", T, "", "Whole dollars with zero cents."),
    (r"\$1{,}299.99", "1299.99", T, "", "Separator and cents."),
    ("15", r"15 \text{ miles per hour}", T, "", "Rate unit in words dropped."),
    ("15", r"15\text{ mph}", T, "", "Abbreviated rate unit dropped."),
    ("64", r"64 \text{ cubic inches}", T, "", "Volume unit dropped."),
    (r"7.5 \text{ hours}", "7.5", T, "", "Unit on gold dropped."),
    ("250", r"250\text{ mL}", T, "", "Unit dropped."),
    (r"\textbf{(D)}\ 18", r"\textbf{(D)}", T, "", "AMC-style gold with the choice's value; the letter is the answer."),
    (r"3 \text{ ft}", r"3 \text{ yd}", T, "units", "Units are dropped by default; strictly the unit is wrong."),
    (r"2 \text{ hours}", r"120 \text{ minutes}", F, "units", "No unit conversion by default."),
    (r"\$2.50", r"250 \text{ cents}", F, "units", "No unit conversion by default."),
    (r"1.5\text{ kg}", r"1500\text{ g}", F, "units", "No unit conversion by default."),
    (r"\$8.75", r"\$8.57", F, "", "Transposed cents."),
    (r"\$3.40", r"\$3.04", F, "", "Wrong cents."),
    (r"\$1{,}299.99", "1300", F, "", "Rounded to the dollar."),
    ("15", r"16 \text{ mph}", F, "", "Wrong number."),
    (r"\textbf{(D)}\ 18", r"\textbf{(B)}", F, "", "Wrong choice."),
]

DEGREES = [
    ("72", r"72^\circ", T, "", "Degree sign dropped."),
    (r"108^\circ", "108", T, "", "Degree gold, bare pred."),
    (r"67.5^\circ", r"67.5^{\circ}", T, "", "Braced degree superscript."),
    ("15", "15 degrees", T, "", "Plain word degrees."),
    (r"240^\circ", "240" + DEGREE_SIGN, T, "", "Unicode degree sign."),
    (r"\frac{2\pi}{3}", r"\frac{2\pi}{3} \text{ rad}", T, "", "Radian unit dropped."),
    ("72", r"108^\circ", F, "", "Supplement, wrong."),
    (r"108^\circ", r"18^\circ", F, "", "Dropped a digit."),
    (r"67.5^\circ", r"67^\circ", F, "", "Truncated."),
    (r"240^\circ", r"-120^\circ", F, "", "Coterminal angle is a different measure."),
    (r"120^\circ", r"\frac{2\pi}{3}", F, "degrees", "Degrees versus radians: false by default."),
    (r"\frac{5\pi}{6}", "150", F, "degrees", "Bare degree value for a radian gold."),
    ("45", r"\frac{\pi}{4}", F, "degrees", "Radian pred for a degree gold."),
    (r"\frac{\pi}{3}", r"60^{\circ}", F, "degrees", "Radians versus degrees."),
]

PLAIN_TEXT = [
    (r"\text{(D)}", "D", T, "", "Choice letter without parentheses."),
    ("B", r"\textbf{(B)}", T, "", "Bold choice letter."),
    (r"\text{Sunday}", "sunday", T, "", "Case differs."),
    (r"\text{no}", r"\text{No}", T, "", "Case differs."),
    (r"\text{decreasing}", "Decreasing", T, "", "Ordering word, case differs."),
    (r"\text{Carla}", r"\text{carla}", T, "", "Name, case differs."),
    (r"\text{third}", "Third", T, "", "Ordinal word, case differs."),
    (r"\text{Bob, Alice, Carol}", r"\text{Bob}, \text{Alice}, \text{Carol}", T, "", "Same ordering, each name in its own \\text."),
    (r"\text{(D)}", r"\text{(A)}", F, "", "Wrong choice."),
    (r"\text{Sunday}", r"\text{Saturday}", F, "", "Wrong day."),
    (r"\text{decreasing}", r"\text{increasing}", F, "", "Opposite ordering word."),
    (r"\text{third}", r"\text{second}", F, "", "Wrong ordinal."),
    (r"\text{Bob, Alice, Carol}", r"\text{Alice, Bob, Carol}", F, "", "The answer is an ordering; two names swapped."),
    ("B", "BD", F, "", "Extra choice."),
    (r"\text{yes}", r"\text{maybe}", F, "", "Hedged, not the answer."),
]

CLOSENESS = [
    ("0.625", r"\frac{5}{8}", T, "", "Exact fraction of the decimal."),
    ("0.4", "0.15+0.25", T, "", "Exact decimal sum."),
    ("3^{40}", "12157665459056928801", T, "", "Exact value of 3^40."),
    ("1.000001", "1.0000010", T, "", "Trailing zero on a close-to-one value."),
    (r"\frac{5}{7}", "0.714286", F, "", "Rounded repeating decimal."),
    (r"\sqrt{3}", "1.7320508", F, "", "Approximation of an irrational."),
    (r"\pi^2", "9.8696", F, "", "Approximation of pi squared."),
    ("e^2", "7.389056", F, "", "Approximation of e squared."),
    (r"\frac{1}{9}", "0.1111111", F, "", "Truncated repeating decimal."),
    ("2", "1.9999999", F, "", "Close but not equal (no overline)."),
    ("3^{40}", "12157665459056928800", F, "", "Last digit differs; floats cannot tell."),
    ("0.125", "0.1250001", F, "", "Differs in the seventh place."),
    (r"\ln 2", "0.693147", F, "", "Approximation of ln 2."),
    ("50", "49.99999", F, "", "Close but not equal."),
    (r"\frac{22}{7}", "3.142857", F, "", "Truncated repeating decimal of 22/7."),
]

NEGATIVE_AND_MISC = [
    ("-12", MINUS_SIGN + "12", T, "", "Unicode minus sign U+2212."),
    (r"-\frac{3}{8}", MINUS_SIGN + r"\frac{3}{8}", T, "", "Unicode minus before a fraction."),
    ("-7", "0-7", T, "", "Unevaluated subtraction."),
    ("12", "-(-12)", T, "", "Double negation."),
    (r"-\infty", r"- \infty", T, "", "Space after the minus sign."),
    (r"\emptyset", r"\{ \}", T, "", "Empty braces with a space."),
    ("-2i", r"-\sqrt{-4}", T, "", "Principal root of -4 is 2i."),
    (r"\text{none}", r"\text{None}", T, "", "Case differs."),
    ("-12", "12", F, "", "Sign dropped."),
    (r"-\frac{3}{8}", r"\frac{3}{8}", F, "", "Sign dropped."),
    (r"\emptyset", r"\{\varnothing\}", F, "", "A set containing the empty set is not empty."),
    (r"-\infty", "-1000000000", F, "", "A large negative number is not minus infinity."),
    ("-7", r"\mp 7", F, "", "Extra wrong value."),
    ("0", r"\emptyset", F, "", "The empty set is not zero."),
    ("-12", "-12-", F, "", "Ill-formed trailing minus."),
]

# the development corpus's categories and id prefixes, in its order, with this file's pairs
_PAIRS = {
    "integer_separators": INTEGER_SEPARATORS, "decimal": DECIMAL, "fraction": FRACTION,
    "mixed_number": MIXED_NUMBER, "percent": PERCENT, "scientific": SCIENTIFIC,
    "repeating_decimal": REPEATING_DECIMAL, "sqrt": SQRT, "pi": PI, "expression": EXPRESSION,
    "equation": EQUATION, "tuple": TUPLE, "interval": INTERVAL, "set": SET, "text_units": TEXT_UNITS,
    "degrees": DEGREES, "plain_text": PLAIN_TEXT, "closeness": CLOSENESS, "negative_and_misc": NEGATIVE_AND_MISC,
}
CATEGORIES = [(c, prefix, _PAIRS[c]) for c, prefix, _ in make_corpus.CATEGORIES]


def development_pairs():
    """(gold, pred) of every pair in the committed corpus.jsonl."""
    pairs = set()
    with CORPUS.open(encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            pairs.add((r["gold"], r["pred"]))
    return pairs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--check", action="store_true", help="compare with heldout.jsonl instead of writing it")
    ap.add_argument("--verbose", action="store_true", help="print math-verify's parses for every pair")
    args = ap.parse_args()

    records = make_corpus.build_records(make_corpus.make_verdict_fn(args.verbose), args.verbose,
                                        categories=CATEGORIES, id_prefix="ho-", exclude=development_pairs())
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.check:
        same = HELDOUT.exists() and HELDOUT.read_text(encoding="utf-8") == text
        print("heldout.jsonl is up to date" if same else "heldout.jsonl differs from a fresh run")
        if not same:
            sys.exit(1)
    else:
        HELDOUT.write_text(text, encoding="utf-8")
        print(f"wrote {len(records)} pairs to {HELDOUT}")
    from importlib.metadata import version
    print("math-verify " + version("math-verify") + ", latex2sympy2_extended " + version("latex2sympy2_extended")
          + ", sympy " + version("sympy") + ", antlr4-python3-runtime " + version("antlr4-python3-runtime"))
    nulls = [r["id"] for r in records if r["math_verify"] is None]
    if nulls:
        print("math-verify gave no verdict (null) for: " + ", ".join(nulls))
    plain = [r for r in records if not r["convention"]]
    fr = sum(r["careful"] and r["math_verify"] is False for r in plain)
    fa = sum((not r["careful"]) and r["math_verify"] is True for r in plain)
    print(f"non-convention pairs: {fr} false rejections, {fa} false acceptances")
    print()
    print(make_corpus.summary_table(records))


if __name__ == "__main__":
    main()
