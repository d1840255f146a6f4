"""One claim, one judge: the report's rule and a sweep cell / `verify at` decide a population alike; a wrong
theory fails the per-cell claims through `verify at`; an internal error in a cell is an `error` row and
exit 3, never a fail."""

from __future__ import annotations

import json

import pytest
import sympy as sp

from numerics.attacks import SandwichViolation
from tests.verify.listing import listed
from theory import results as R
from theory.parameters import ParameterError
from theory.symbols import T, ell
from verify import cli
from verify.checks.r6_exact import EXACT_CELL
from verify.claim import RuleContext, all_claims, get
from verify.commands.list import per_cell
from verify.experiments import run
from verify.per_cell import cell_claims, decide_cell, evaluate, select, why_not
from verify.report import format_rule
from verify.sweep.cells import Cell
from verify.sweep.spec import defaults

POINT = defaults() | {"d": 14, "ell": 8, "m": 16, "n": 20, "runs": 120, "steps": 60, "seed": 3}


def _verdicts(verdicts):
    return [(v.summary(), format_rule(v.rule), v.passed) for v in verdicts]


@pytest.fixture(scope="module")
def population():
    claims = select(None, [POINT])
    cell = Cell(0, tuple(POINT.items()), claims, tuple((c, 1e-4) for c in claims))
    return claims, run(cell.request(), POINT["seed"], "cpu")


def test_the_report_rule_and_a_cell_give_identical_verdicts(population, tmp_path):
    claims, pop = population
    assert {"R1.invariance", "R4.lower_bound", "R5.flip", "R6.sandwich"} <= set(claims)
    for claim_id in claims:
        claim = get(claim_id)
        rate = 1e-4 if claim.cell.tests else None
        ctx = RuleContext("quick", rate, tmp_path, reference_alpha=1e-4)
        report = claim.rule(ctx, {"this cell": pop})
        _, cell = decide_cell(claim, pop, rate)
        assert _verdicts(report.verdicts) == _verdicts(cell.verdicts), claim_id
        row = evaluate(claim_id, pop, rate, POINT)
        assert row["rule"] == format_rule(report.decisive.rule), claim_id
        assert row["verdict"] == ("pass" if report.passed else "fail"), claim_id


def test_r8_shrinkage_on_a_decay_cell_is_the_report_rule(tmp_path):
    """R8's report rule and a cell with weight decay judge by the same `decide_shrinkage`: the report's
    verdicts are that function's on the decay curve's record, and a one-segment curve and a population
    drawn from the same seed (same data, initialization and GD) give the same record up to rounding and
    the same rules, all passing. R8 is not decided without weight decay, nor for momentum or flow."""
    from verify.checks import r8_weight_decay as r8
    from verify.experiments.decay_curve import DecayCurveSpec, decay_curve
    from verify.experiments.population import PopulationSpec, population

    size = dict(runs=6, d=12, ell=7, m=8, n=15)
    curve = decay_curve(DecayCurveSpec(segments=1, steps=40, lr=0.1, weight_decay=0.01, **size), 11, "cpu")
    claim = get("R8.shrinkage")
    report = claim.rule(RuleContext("quick", None, tmp_path), {"curve": curve})
    reference = r8.decide_shrinkage({"": r8.measure_curve_shrinkage(curve)})
    assert _verdicts(report.verdicts) == _verdicts(reference) and report.passed
    spec = PopulationSpec.of(
        **size, lr=0.1, weight_decay=0.01, steps=40, optimizer="gd", measure=("weights", "shrinkage")
    )
    pop = population(spec, 11, "cpu")
    record, cell = decide_cell(claim, pop, None)
    on_curve = r8.measure_curve_shrinkage(curve)
    assert (record.T, record.c_T) == (on_curve.T, on_curve.c_T)
    assert (record.g == on_curve.g).all() and (record.lipschitz == on_curve.lipschitz).all()
    assert abs(record.ratio - on_curve.ratio) <= record.budget * on_curve.ratio
    assert cell.passed and [v.rule.quantity.replace("this cell: ", "") for v in cell.verdicts] == [
        v.rule.quantity for v in reference
    ]
    point = defaults() | {"weight_decay": 0.0}
    assert "weight_decay=0" in claim.cell.scope(point)
    assert "gd or sgd" in claim.cell.scope(point | {"weight_decay": 0.01, "optimizer": "flow"})
    assert claim.cell.scope(point | {"weight_decay": 0.01, "optimizer": "sgd"}) is None


#: The column of `verify list` that says whether a claim is decided per cell.
PER_CELL = "per cell (sweep, at)"
SMALL_POINT = defaults() | {"d": 12, "ell": 8, "m": 8, "n": 20, "runs": 12, "steps": 60, "seed": 1}


def test_r6_exact_on_a_small_cell_is_the_report_rule(tmp_path):
    """R6.exact is decided per cell where SCIP can solve the cell, by name only (it is not a default)."""
    pytest.importorskip("pyscipopt")
    assert "R6.exact" not in select(None, [SMALL_POINT]) and "R6.exact" not in select(["R6"], [SMALL_POINT])
    claims = select(["R6.exact"], [SMALL_POINT])
    cell = Cell(0, tuple(SMALL_POINT.items()), claims, (("R6.exact", None),))
    pop = run(cell.request(), SMALL_POINT["seed"], "cpu")
    claim = get("R6.exact")
    report = claim.rule(RuleContext("quick", None, tmp_path), {"this cell": pop})
    _, decided = decide_cell(claim, pop, None)
    assert _verdicts(report.verdicts) == _verdicts(decided.verdicts) and report.passed
    with pytest.raises(ParameterError, match="R6.exact does not apply: m=16"):
        select(["R6.exact"], [SMALL_POINT | {"m": 16}])


def test_list_says_per_claim_whether_it_is_decided_per_cell(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    assert "per cell" in out and max(len(line) for line in out.splitlines()) <= 110
    rows = listed(out)
    for claim in all_claims():
        line = rows[claim.id][PER_CELL]
        assert ("yes" in line) == (claim.cell is not None) or why_not(claim) in line
    assert {"R1.invariance", "R1.weight_decay", "R3.chi_square_fixed", "R4.lower_bound", "R5.flip",
            "R6.identity", "R6.sandwich", "R6.exact", "R7.chi_square",
            "R8.shrinkage"} <= set(cell_claims())  # fmt: skip


def _at(capsys, claim_id: str, *point: str) -> dict:
    status = cli.main(["at", *point, "--claims", claim_id, "--format", "json", "--jobs", "1"])
    obj = json.loads(capsys.readouterr().out)
    assert status == (0 if obj["claims"][claim_id]["verdict"] == "pass" else 1)
    return obj["claims"][claim_id]


SMALL = ("--runs", "300", "--steps", "60", "--n", "20", "--m", "16")
#: (wrong theory, claim, cell): the wrong-theory cases of tests/verify/checks/test_wrong_theory.py that
#: apply to one population, each on one cell large enough to see it.
WRONG = [
    (lambda: R.replaced("R3", degrees_of_freedom=ell + 1), "R3.chi_square_trained",
     ("--d", "6", "--ell", "3", *SMALL)),
    (lambda: R.replaced("R4", orth_grad_lower_bound=R.get("R4").expressions["orth_grad_lower_bound"]
                        * sp.sqrt(sp.Rational(2, 3))), "R4.lower_bound", ("--d", "10", "--ell", "4", *SMALL)),
    (lambda: R.replaced("R5", flip_distance_bound=R.get("R5").expressions["flip_distance_bound"]
                        * sp.sqrt(sp.Rational(3, 2))), "R5.flip", ("--d", "10", "--ell", "4", *SMALL)),
    (lambda: R.replaced(transform=lambda e: e.subs(T, T + 1)), "R1.weight_decay",
     ("--d", "10", "--ell", "4", "--weight-decay", "0.01", "--runs", "8", "--steps", "40", "--m", "8")),
    (lambda: R.replaced(transform=lambda e: e.subs(T, T + 1)), "R8.shrinkage",
     ("--d", "10", "--ell", "4", "--weight-decay", "0.01", "--runs", "8", "--steps", "40", "--m", "8")),
]  # fmt: skip


@pytest.mark.parametrize(("wrong", "claim_id", "point"), WRONG, ids=[w[1] for w in WRONG])
def test_a_wrong_theory_fails_the_claim_through_verify_at(capsys, wrong, claim_id, point):
    assert _at(capsys, claim_id, *point)["verdict"] == "pass"
    with wrong():
        assert _at(capsys, claim_id, *point)["verdict"] == "fail"


def test_an_internal_error_in_a_cell_is_an_error_row_and_exit_3(tmp_path, monkeypatch, capsys):
    import verify.checks.r6_sandwich as sandwich

    def broken(radii):
        raise SandwichViolation("tight certificate 1.5 above a verified flip 1.0")

    monkeypatch.setattr(sandwich, "worst_ratios", broken)
    spec = tmp_path / "one.toml"
    spec.write_text(
        "[fixed]\nd = 12\nell = 6\nm = 8\nn = 20\nruns = 20\nsteps = 30\n[sweep]\nclaims = ['R6', 'R4']\n"
    )
    out = tmp_path / "out"
    assert cli.main(["sweep", str(spec), "--out", str(out), "--jobs", "1"]) == 3
    rows = {r["claim"]: r for r in json.loads((out / "table.json").read_text())}
    assert rows["R6.sandwich"]["verdict"] == "error"
    assert (
        "SandwichViolation" in rows["R6.sandwich"]["error"]
        and "above a verified flip" in rows["R6.sandwich"]["error"]
    )
    assert rows["R4.lower_bound"]["verdict"] in ("pass", "fail")  # the other claims of the cell still ran
    # through `verify at` the same error is exit 3
    assert cli.main(["at", "--d", "12", "--ell", "6", "--m", "8", "--runs", "20", "--steps", "30",
                     "--claims", "R6.sandwich", "--jobs", "1"]) == 3  # fmt: skip


def test_a_cell_rule_must_make_exactly_its_declared_tests_at_its_rate():
    """The harness's check holds per cell too: a rule that makes other tests than it declares, or runs one
    above its share, is an internal error (an AssertionError: an `error` row, exit 3), never a verdict."""
    from dataclasses import replace

    from verify.claim import Claim
    from verify.per_cell import Headline, PerCell
    from verify.statistics import ks_test
    from verify.tolerance import threshold

    def exact(records, alpha):
        return (threshold("x", 0.0, "<=", 1.0, n=1),)

    def statistical(records, alpha):
        return (ks_test([0.1, 0.5, 0.9], lambda q: q, alpha=1e-2, name="U(0, 1)"),)

    cell = PerCell(
        lambda pop: None, exact, tests=1, measurements=(), quantity="", headline=lambda r: Headline(0, 0, {})
    )
    claim = Claim("toy.x", "", "", (), "", lambda p: {}, lambda p: 1, lambda ctx, pops: None, cell=cell)
    with pytest.raises(AssertionError, match="declares 1 statistical tests per cell but made 0"):
        decide_cell(claim, None, 1e-3)
    claim = replace(claim, cell=replace(cell, decide=statistical))
    with pytest.raises(AssertionError, match="above its share"):
        decide_cell(claim, None, 1e-3)
    assert decide_cell(claim, None, 1e-2)[1].passed


def test_a_claim_that_leaves_out_some_cells_says_where_it_applies(capsys):
    grid = [
        SMALL_POINT | {"optimizer": opt, "weight_decay": lam, "train_output": out, "m": m}
        for opt in ("gd", "sgd", "momentum", "flow", "adam")
        for lam in (0.0, 0.01)
        for out in (True, False)
        for m in (SMALL_POINT["m"], 400)
    ]
    for cid, claim in cell_claims().items():
        outside = [p for p in grid if claim.cell.scope(p) is not None]
        assert bool(outside) == bool(claim.cell.scope.where), cid
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    rows = listed(out)
    line = rows["R8.shrinkage"][PER_CELL]
    assert "yes, where weight_decay > 0" in line
    line = rows["R6.exact"][PER_CELL]
    assert f"yes, where m <= {EXACT_CELL['m']} and d <= {EXACT_CELL['d']}" in line  # small cells only
    for cid, claim in cell_claims().items():  # the list's words are the scope's own, not retyped
        where = claim.cell.scope.where
        assert per_cell(claim).startswith(f"yes, where {where}" if where else "yes"), cid
