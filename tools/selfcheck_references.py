"""Compute the known answers of the instruments' self-checks (`verify/selfcheck/known_answers.py`) by a route
independent of scipy: exact rational arithmetic and mpmath at 50 digits.

- KS: D of the known sample against chi2_3 from mpmath's regularized incomplete gamma, then the exact law
  of D_n by the Marsaglia-Tsang-Wang matrix (P(D_n < d) = n!/n^n (H^n)_kk), in mpmath.
- exact mean test: the sum against chi2_{n ell} by mpmath's incomplete gamma, p = min(1, 2 min(cdf, sf)).
- binomial one-sided: P(Binom(n, p0) >= k) summed in fractions; two-sided: scipy's minimum-likelihood rule
  (every outcome no more likely than the observed one, ties within a relative 1e-7), in fractions.
- slope: OLS slope and standard error in fractions (one square root in mpmath), the t quantile by
  bisection on mpmath's regularized incomplete beta.
- Mann-Whitney: U counted over all pairs, the exact null law by enumerating every split of the ranks.

Run `python tools/selfcheck_references.py` and paste its output over the REFERENCES block of
verify/selfcheck/known_answers.py; tests/verify/test_selfcheck.py checks that the two agree.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import mpmath

from verify.selfcheck.known_answers import SAMPLES

mpmath.mp.dps = 50
#: The line length of pyproject.toml's ruff settings: the printed block must keep within it.
LINE_LENGTH = 110


def chi2_cdf(x, k: int):
    x = mpmath.mpf(x)
    return mpmath.gammainc(mpmath.mpf(k) / 2, 0, x / 2, regularized=True) if x > 0 else mpmath.mpf(0)


def ks_sf(d, n: int):
    """P(D_n >= d) for the two-sided one-sample KS statistic (Marsaglia, Tsang and Wang 2003)."""
    d = mpmath.mpf(d)
    k = int(mpmath.floor(n * d)) + 1
    m = 2 * k - 1
    h = k - n * d
    H = mpmath.matrix(m, m)
    for i in range(m):
        for j in range(m):
            H[i, j] = 1 if i - j + 1 >= 0 else 0
    for i in range(m):
        H[i, 0] -= h ** (i + 1)
        H[m - 1, i] -= h ** (m - i)
    if 2 * h - 1 > 0:
        H[m - 1, 0] += (2 * h - 1) ** m
    for i in range(m):
        for j in range(m):
            if i - j + 1 > 0:
                H[i, j] /= mpmath.factorial(i - j + 1)
    below = mpmath.factorial(n) / mpmath.mpf(n) ** n * (H**n)[k - 1, k - 1]
    return 1 - below


def ks_reference():
    sample, ell = SAMPLES["ks"]["sample"], SAMPLES["ks"]["ell"]
    n = len(sample)
    F = [chi2_cdf(x, ell) for x in sorted(sample)]
    d = max(max(mpmath.mpf(i + 1) / n - f, f - mpmath.mpf(i) / n) for i, f in enumerate(F))
    return {"statistic": d, "p_value": ks_sf(d, n)}


def mean_reference():
    sample, ell = SAMPLES["mean"]["sample"], SAMPLES["mean"]["ell"]
    total = mpmath.fsum(mpmath.mpf(x) for x in sample)
    cdf = chi2_cdf(total, ell * len(sample))
    return {"p_value": min(mpmath.mpf(1), 2 * min(cdf, 1 - cdf))}


def pmf(j: int, n: int, p: Fraction) -> Fraction:
    return math.comb(n, j) * p**j * (1 - p) ** (n - j)


def binomial_upper_reference():
    s = SAMPLES["binomial_upper"]
    p0 = Fraction(s["p0"]).limit_denominator(10**6)
    tail = sum(pmf(j, s["n"], p0) for j in range(s["failures"], s["n"] + 1))
    return {"p_value": mpmath.mpf(tail.numerator) / tail.denominator}


def binomial_two_sided_reference():
    s = SAMPLES["binomial_two_sided"]
    n, p0 = s["n"], Fraction(s["p0"]).limit_denominator(10**6)
    observed = pmf(s["events"], n, p0)
    probabilities = [pmf(j, n, p0) for j in range(n + 1)]
    near = [q for q in probabilities if q != observed and abs(q / observed - 1) < Fraction(1, 10**6)]
    assert not near, "a near tie: the 1e-7 rule would decide; choose another sample"
    total = sum(q for q in probabilities if q <= observed)
    return {"p_value": mpmath.mpf(total.numerator) / total.denominator}


def t_quantile(q, df: int):
    """The q quantile of Student's t with df degrees of freedom (q > 1/2), by bisection on the CDF."""
    q = mpmath.mpf(q)

    def cdf(t):
        x = df / (df + t * t)
        return 1 - mpmath.betainc(mpmath.mpf(df) / 2, mpmath.mpf(1) / 2, 0, x, regularized=True) / 2

    low, high = mpmath.mpf(0), mpmath.mpf(1000)
    for _ in range(300):
        mid = (low + high) / 2
        low, high = (mid, high) if cdf(mid) < q else (low, mid)
    return (low + high) / 2


def slope_reference():
    s = SAMPLES["slope"]
    x = [Fraction(v) for v in s["x"]]
    y = [Fraction(v) for v in s["y"]]
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxx = sum((a - mx) ** 2 for a in x)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y, strict=True))
    slope = sxy / sxx
    intercept = my - slope * mx
    sse = sum((b - intercept - slope * a) ** 2 for a, b in zip(x, y, strict=True))
    var = sse / (n - 2) / sxx
    stderr = mpmath.sqrt(mpmath.mpf(var.numerator) / var.denominator)
    half = t_quantile(1 - mpmath.mpf(s["alpha"]) / 2, n - 2) * stderr
    return {
        "slope": mpmath.mpf(slope.numerator) / slope.denominator,
        "stderr": stderr,
        "half_width": half,
    }


def mann_whitney_reference():
    s = SAMPLES["mann_whitney"]
    a, b = s["a"], s["b"]
    u = sum((x > y) + (x == y) / 2 for x in a for y in b)
    pooled = sorted(a + b)
    assert len(set(pooled)) == len(pooled), "ties: the exact law needs distinct values"
    ranks = range(len(pooled))
    count = total = 0
    for chosen in itertools.combinations(ranks, len(a)):
        rest = [r for r in ranks if r not in chosen]
        total += 1
        count += sum(x > y for x in chosen for y in rest) >= u
    return {"statistic": mpmath.mpf(u), "p_value": mpmath.mpf(count) / total}


def main() -> None:
    refs = {
        "ks": ks_reference(),
        "mean": mean_reference(),
        "binomial_upper": binomial_upper_reference(),
        "binomial_two_sided": binomial_two_sided_reference(),
        "slope": slope_reference(),
        "mann_whitney": mann_whitney_reference(),
    }
    print("REFERENCES: dict[str, dict[str, str]] = {")
    for test, values in refs.items():
        pairs = [f'"{k}": "{mpmath.nstr(v, 30)}"' for k, v in values.items()]
        line = f'    "{test}": {{{", ".join(pairs)}}},'
        if len(line) <= LINE_LENGTH:
            print(line)
        else:
            # One value a line, as `ruff format` lays out the block in known_answers.py.
            print(f'    "{test}": {{')
            for pair in pairs:
                print(f"        {pair},")
            print("    },")
    print("}")


if __name__ == "__main__":
    main()
