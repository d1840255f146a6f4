"""The instruments' known answers: fixed small samples, and what an independent computation says each
statistical test must report on them (exact rational arithmetic and mpmath at 50 digits, never scipy).

Made by `python tools/selfcheck_references.py` (its output is the REFERENCES block below); the test
tests/verify/test_selfcheck.py recomputes them and compares.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REFERENCES", "SAMPLES"]

#: The known samples, one per test. Every value is a float64, read exactly by the reference script.
SAMPLES: dict[str, dict[str, Any]] = {
    "ks": {"ell": 3, "sample": [0.9, 1.8, 2.6, 3.5, 4.4, 5.2, 6.9, 9.8]},
    "mean": {"ell": 4, "sample": [5.1, 7.3, 6.8, 9.2, 4.4, 8.6]},
    "binomial_upper": {"failures": 7, "n": 40, "p0": 0.05},
    "binomial_two_sided": {"events": 3, "n": 50, "p0": 0.2},
    "slope": {"x": [1, 2, 3, 4, 5, 6, 7, 8], "y": [2.3, 2.9, 4.1, 4.4, 5.6, 5.9, 7.4, 7.6], "alpha": 0.01},
    "mann_whitney": {"a": [1.9, 2.7, 3.4, 4.1, 5.6], "b": [0.8, 1.2, 2.2, 2.9, 3.1, 4.0]},
}

# fmt: off
REFERENCES: dict[str, dict[str, str]] = {
    "ks": {"statistic": "0.304237879194360967784539248085", "p_value": "0.37330397999525501442102528731"},
    "mean": {"p_value": "0.0300994067525118239432685671863"},
    "binomial_upper": {"p_value": "0.00339189757793598124423983132503"},
    "binomial_two_sided": {"p_value": "0.0119171355970179104744647716188"},
    "slope": {
        "slope": "0.788095238095238123786687299885",
        "stderr": "0.0431427870632599353783310466423",
        "half_width": "0.159948777676378090067980798883",
    },
    "mann_whitney": {"statistic": "22.0", "p_value": "0.123376623376623376623376623377"},
}
# fmt: on
