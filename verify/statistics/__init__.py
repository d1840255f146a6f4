"""Statistical checks with a stated false-fail rate, for comparing measured laws with the derived ones.

Every check takes a false-fail rate ``alpha``: the probability that it fails although the prediction is
exactly right (for the ordering checks, the probability that it confirms an ordering that is not there).
Each result also says what the samples could have caught (``detectable``), so a verdict reads like
"with false-fail rate 1e-03 split over 12 checks, 400 networks detect a change of 0.15 in the
sup-distance between CDFs" (the style of TensorFlow Probability's statistical testing module).

Bounds that hold for every sample size are used wherever they exist: the exact Kolmogorov-Smirnov law
(``scipy.stats.kstwo``), the Dvoretzky-Kiefer-Wolfowitz-Massart band, exact binomial tails, the exact
chi-square law of a sum of chi-square variables (the suite's ``Q`` of R3 is chi2_ell, derived), and the
t law of an OLS slope under Gaussian errors. The only large-sample approximation is the Mann-Whitney
test on big or tied samples; its docstring says so.

All functions are pure; each returns a frozen dataclass carrying every number its verdict was decided
on, with ``passed`` (or ``confirms_ordering``), a ``rule`` (the one comparison that decides it, so a
reader can re-decide the verdict from the JSON alone), a one-line ``summary()`` and a JSON-ready
``as_dict()``. Tests come as TFP-style families: the test itself, the smallest discrepancy it detects at a
sample size (``*_detectable``), the samples needed for a discrepancy (``samples_for_*``) and, for a
concrete wrong prediction, the power (``*_power``).

One module per family: `_base` (the rule, the verdict protocol, the false-fail split), `goodness_of_fit` (KS,
DKW), `binomial` (the one-sided rate), `two_sided_binomial` (the two-sided rate), `slopes` (OLS and weighted
exponents), `orderings` (Mann-Whitney, sign test), `chi_square_mean` (the exact mean test); everything is
re-exported here.
"""

from __future__ import annotations

from verify.statistics._base import (  # noqa: F401
    DETECTION_POWER,
    MANN_WHITNEY_EXACT_PAIRS,
    Rule,
    Verdict,
    VerdictFields,
    jsonable,
    split_rate,
    validate_inputs,
)
from verify.statistics.binomial import BinomialResult, binomial_upper_power, binomial_upper_test  # noqa: F401
from verify.statistics.chi_square_mean import (  # noqa: F401
    ChiSquareMeanResult,
    chi_square_mean_power,
    mean_test_chi_square,
    samples_for_chi_square_mean,
)
from verify.statistics.goodness_of_fit import (  # noqa: F401
    GofResult,
    dkw_band_test,
    dkw_epsilon,
    ks_critical_value,
    ks_detectable,
    ks_power_lower_bound,
    ks_test,
    samples_for_ks,
)
from verify.statistics.orderings import (  # noqa: F401
    OrderingResult,
    mann_whitney_detectable,
    mann_whitney_greater,
    sign_test_paired,
)
from verify.statistics.slopes import (  # noqa: F401
    SlopeResult,
    WeightedSlopeResult,
    slope_power,
    slope_test,
    weighted_slope_power,
    weighted_slope_test,
)
from verify.statistics.two_sided_binomial import (  # noqa: F401
    TwoSidedBinomialResult,
    binomial_two_sided_detectable,
    binomial_two_sided_power,
    binomial_two_sided_test,
    samples_for_binomial_two_sided,
    two_sided_rejections,
)

__all__ = [
    "binomial_two_sided_detectable",
    "binomial_two_sided_power",
    "binomial_two_sided_test",
    "binomial_upper_power",
    "binomial_upper_test",
    "BinomialResult",
    "chi_square_mean_power",
    "ChiSquareMeanResult",
    "DETECTION_POWER",
    "dkw_band_test",
    "dkw_epsilon",
    "GofResult",
    "jsonable",
    "ks_critical_value",
    "ks_detectable",
    "ks_power_lower_bound",
    "ks_test",
    "mann_whitney_detectable",
    "MANN_WHITNEY_EXACT_PAIRS",
    "mann_whitney_greater",
    "mean_test_chi_square",
    "OrderingResult",
    "Rule",
    "samples_for_binomial_two_sided",
    "samples_for_chi_square_mean",
    "samples_for_ks",
    "sign_test_paired",
    "slope_power",
    "slope_test",
    "SlopeResult",
    "split_rate",
    "two_sided_rejections",
    "TwoSidedBinomialResult",
    "validate_inputs",
    "Verdict",
    "VerdictFields",
    "weighted_slope_power",
    "weighted_slope_test",
    "WeightedSlopeResult",
]
