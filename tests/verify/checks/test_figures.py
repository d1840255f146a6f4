"""R9's figure sets: the sandwich certified <= r_perp <= attacks holds with each point's rounding allowance
where R8's decay makes the network nearly flat along n (quick profile, seed 1036: r_perp ~ 1e12, where the
fixed allowance alone raised), and a wrong radius still raises."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from numerics.attacks import SandwichViolation
from tests.verify.deciding import measure
from verify import claim
from verify.checks.helpers.figure_verdicts import sandwich_verdict, tightest_ratio

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def seed_1036():
    return measure(claim.get("R9.figure2").needs("quick"), seed=1036)


def test_the_sandwich_holds_where_the_weight_decay_network_is_flat_along_n(seed_1036):
    pops = dict(seed_1036)
    verdict = sandwich_verdict(pops)
    assert verdict.passed
    decayed = next(pop.normal for key, pop in pops.items() if "weight_decay" in str(key))
    assert np.nanmax(decayed.radius[np.isfinite(decayed.radius)]) > 1e11
    assert max(float(np.max(c)) for c in decayed.condition.values()) > 1e-6  # the allowance was needed
    flipped = np.isfinite(decayed.gradient_flip)  # points with no flip have inf on both sides
    gap = decayed.radius[flipped] / decayed.gradient_flip[flipped]
    assert np.max(gap) > 1 + 1e-9  # as in the calibration's failing run


def test_a_wrong_radius_still_breaks_the_sandwich(seed_1036):
    for field in ("attack", "gradient_flip"):
        pops = {}
        for key, pop in seed_1036.items():
            normal = dataclasses.replace(pop.normal, **{field: getattr(pop.normal, field) * 0.99})
            pops[key] = dataclasses.replace(pop, normal=normal)
        with pytest.raises(SandwichViolation):
            sandwich_verdict(pops)


def test_the_tightest_ratio_skips_points_on_the_boundary_and_without_a_flip():
    # Standard calibration seed 1002: a training point on the decision boundary has certified = r_perp = 0.
    certified = np.array([[0.0, 0.5, 0.2]])
    radius = np.array([[0.0, 1.0, np.inf]])
    with np.errstate(all="raise"):  # no 0/0 is computed
        assert tightest_ratio(certified, radius) == 0.5
    assert tightest_ratio(np.zeros((1, 2)), np.array([[0.0, np.inf]])) is None
