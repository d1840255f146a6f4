"""The rule every chi-square claim shares (R3, R7, real data, the violation studies): the Q of a sample
of independent networks against the chi-square law the theory predicts, by two tests at the claim's
per-test rate, Kolmogorov-Smirnov (shape) and the exact mean test (a sum of n chi2_k is chi2_{nk}; scale),
and the histogram drawn over the law's density."""

from __future__ import annotations

import numpy as np

from theory.chi_square import ChiSquareLaw
from verify.statistics import ChiSquareMeanResult, GofResult, ks_test, mean_test_chi_square

__all__ = ["draw_histogram", "law_verdicts", "TESTS_PER_LAW"]

#: The tests each (population, law) pair costs; claims declare multiples of it.
TESTS_PER_LAW = 2


def law_verdicts(
    Q: np.ndarray, law: ChiSquareLaw, alpha: float, name: str = "Q"
) -> tuple[GofResult, ChiSquareMeanResult]:
    """KS and exact-mean tests of the sample `Q` against `law`, each at `alpha`."""
    return ks_test(Q, law, alpha=alpha, name=law.name), mean_test_chi_square(Q, law, alpha=alpha, name=name)


def draw_histogram(ax, Q: np.ndarray, law: ChiSquareLaw, title: str, xlabel: str) -> None:
    """The sample's density histogram with the law's density on top."""
    ax.hist(Q, bins=40, density=True, alpha=0.6, label="measured Q")
    q = np.linspace(max(float(Q.min()), 1e-9), float(Q.max()), 400)
    ax.plot(q, law.pdf_array(q), "k-", lw=1.5, label=f"{law.name} density (theory)")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.legend(fontsize=7)
