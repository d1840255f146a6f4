"""`python -m verify audit` on networks a real client trained (tests/verify/audit/client.py): through the
command line, against the model's own autograd, every flip re-verified on the nn.Module, and every bad input
of the issue refused with one line, exit 2, nothing written and the user's files unchanged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from tests.verify.audit.client import digits_data, rotated_data, train_population
from verify.audit import audit
from verify.cli import main

POINT_KEYS = (
    "orthogonal_gradient_norm",
    "subspace_gradient_norm",
    "radius_orthogonal",
    "radius_on_manifold",
    "radius_unrestricted",
    "certified_orthogonal",
)


#: The files a trained population leaves (`train_population`, `rotated_data`), as audit arguments.
POPULATION = ("--model", "final_*.pt", "--init", "init_*.pt", "--data", "train.npz")


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "verify", "audit", *args], capture_output=True, text=True, timeout=600, cwd=cwd
    )


@pytest.fixture(scope="module")
def sgd(tmp_path_factory):
    """8 networks d=12 -> m=8 -> 1 trained by SGD on data in a rotated 4-dim subspace, audited by the CLI."""
    folder = tmp_path_factory.mktemp("sgd")
    basis = rotated_data(folder)
    models = train_population(folder, 8, m=8, steps=100, lr=0.1)
    out = _cli(
        *POPULATION,
        "--points",
        "points.npz",
        "--subspace",
        "basis.npy",
        "--lr",
        "0.1",
        "--steps",
        "100",
        "--format",
        "json",
        "--out",
        "report",
        cwd=folder,
    )
    return folder, basis, models, out


def test_sgd_population_passes_every_claim_through_the_command_line(sgd):
    folder, _, _, out = sgd
    assert out.returncode == 0, out.stderr + out.stdout[-3000:]
    record = json.loads(out.stdout)
    assert {c["id"]: c["verdict"] for c in record["claims"]} == {
        f"audit.R{k}": "pass" for k in (1, 3, 4, 5, 6)
    }
    assert (
        record["subspace"]["how"] == "basis"
        and record["subspace"]["ell"] == 8
        and record["subspace"]["data_in_p"]
    )
    assert len(record["networks"]) == 8
    for net in record["networks"]:
        assert len(net["points"]) == 5
        for point in net["points"]:
            assert set(POINT_KEYS) <= set(point)
            assert all(isinstance(point[key], float) for key in POINT_KEYS)
            # the sandwich: certified <= exact <= attack, and the exact radius is computed at this size
            if point["exact_orthogonal"] is not None:
                assert point["certified_orthogonal"] <= point["exact_orthogonal"] * (1 + 1e-6)
                assert point["exact_orthogonal"] <= point["radius_orthogonal"] * (1 + 1e-6)
    assert sum(p["exact_orthogonal"] is not None for n in record["networks"] for p in n["points"]) > 20
    # R3: PyTorch's default init is uniform, and the report says so
    assert record["hypotheses"]["gaussian_init"] is False
    assert abs(record["hypotheses"]["s_w"] - 3**-0.5) < 0.05
    r3 = next(c for c in record["claims"] if c["id"] == "audit.R3")
    assert not r3["within_hypotheses"] and "uniform" in r3["method"]
    # the report folder, written atomically, holds the same record
    written = json.loads((folder / "report" / "report.json").read_text())
    assert written["networks"] == record["networks"]
    assert {p.name for p in (folder / "report").iterdir()} == {
        "figures",
        "manifest.json",
        "report.json",
        "report.md",
        "report-tables.tex",
    }
    assert sorted(p.name for p in (folder / "report" / "figures").iterdir()) == [
        "audit_Q.png",
        "audit_radii.png",
    ]
    assert not [p for p in folder.iterdir() if p.name.startswith(".report")]


def test_gradient_split_is_the_models_autograd_gradient(sgd):
    folder, basis, models, out = sgd
    record = json.loads(out.stdout)
    X0 = torch.tensor(np.load(folder / "points.npz")["X"], dtype=torch.float64, requires_grad=True)
    B = torch.from_numpy(basis)
    for model, net in zip(models, record["networks"], strict=True):
        model = model.double()
        (grad,) = torch.autograd.grad(model(X0).sum(), X0)
        on = grad @ B
        off = grad - on @ B.T
        measured = np.array(
            [[p["orthogonal_gradient_norm"], p["subspace_gradient_norm"]] for p in net["points"]]
        )
        expected = torch.stack([off.norm(dim=1), on.norm(dim=1)], 1).detach().numpy()
        np.testing.assert_allclose(measured, expected, rtol=1e-10)


def test_every_flip_is_verified_on_the_module_and_the_api_matches_the_command_line(sgd):
    folder, basis, models, out = sgd
    data = np.load(folder / "train.npz")
    points = np.load(folder / "points.npz")["X"]
    init = [torch.load(folder / f"init_{i:02d}.pt", weights_only=True) for i in range(len(models))]
    result = audit(
        models, data["X"], data["y"], init=init, points=points, basis=basis, lr=0.1, steps=100, exact=False
    )
    cli = json.loads(out.stdout)
    for key in ("radius_orthogonal", "radius_on_manifold", "radius_unrestricted", "certified_orthogonal"):
        assert [p[key] for n in result.as_dict()["networks"] for p in n["points"]] == [
            p[key] for n in cli["networks"] for p in n["points"]
        ]
    X0 = torch.tensor(points, dtype=torch.float64)
    B = torch.from_numpy(basis)
    flips = 0
    for r, model in enumerate(models):
        model = model.double()
        with torch.no_grad():
            sign0 = torch.sign(model(X0)).squeeze(1)
            for name in ("orthogonal", "on_manifold", "unrestricted"):
                delta = torch.from_numpy(result.flips[name][r])
                radius = [p[f"radius_{name}"] for p in result.as_dict()["networks"][r]["points"]]
                for j, rad in enumerate(radius):
                    if rad == "inf":
                        continue
                    flips += 1
                    assert float(delta[j].norm()) == pytest.approx(rad, rel=1e-12)
                    after = model((X0[j] + (1 + 1e-9) * delta[j]).unsqueeze(0)).squeeze()
                    assert torch.sign(after) == -sign0[j], (name, r, j)
                    inside = float((delta[j] @ B).norm())
                    if name == "orthogonal":
                        assert inside <= 1e-9 * rad
                    if name == "on_manifold":
                        assert float((delta[j] - (delta[j] @ B) @ B.T).norm()) <= 1e-9 * rad
    assert flips == 3 * 8 * 5
    frame = result.to_frame()
    assert len(frame) == 40 and set(POINT_KEYS) <= set(frame.columns)


def test_adam_on_a_rotated_subspace_is_reported_as_breaking_r1(tmp_path):
    rotated_data(tmp_path)
    train_population(tmp_path, 4, m=8, steps=100, lr=1e-2, optimizer="adam")
    out = _cli(
        *POPULATION,
        "--points",
        "points.npz",
        "--steps",
        "100",
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert out.returncode == 1, out.stderr
    record = json.loads(out.stdout)
    claims = {c["id"]: c for c in record["claims"]}
    r1 = claims["audit.R1"]
    assert r1["verdict"] == "fail" and r1["decisive"]["value"] > 1e3  # far beyond float32 rounding
    assert record["subspace"]["how"] == "exact span" and record["subspace"]["ell"] == 8
    assert not claims["audit.R3"]["within_hypotheses"]
    assert claims["audit.R6"]["verdict"] == "pass"


def test_digits_in_a_pca_subspace_report_residuals_and_hypotheses(tmp_path):
    digits_data(tmp_path)
    train_population(tmp_path, 3, m=16, steps=100, lr=0.5)
    out = _cli(
        "--model",
        "final_*.pt",
        "--data",
        "train.npz",
        "--points",
        "points.npz",
        "--variance",
        "0.9",
        "--out",
        "report",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr + out.stdout
    assert "the data are NOT in P" in out.stdout and "off-subspace residual" in out.stdout
    assert "not decided: audit.R1: needs the initial weights (--init)" in out.stdout
    record = json.loads((tmp_path / "report" / "report.json").read_text())
    sub = record["subspace"]
    assert not sub["data_in_p"] and len(sub["residuals"]) == 120 and sub["residual_max"] > 0.1
    assert 0.9 <= sub["kept_energy"] < 1
    within = {c["id"]: c["within_hypotheses"] for c in record["claims"]}
    assert within == {"audit.R5": False, "audit.R6": True}
    # With the initial weights: the data are not in P, so SGD moves Pi W and R1 fails, outside its hypothesis:
    # reported and marked, and the exit status (the claims within their hypotheses) stays 0.
    data = np.load(tmp_path / "train.npz")
    init = [torch.load(tmp_path / f"init_{i:02d}.pt", weights_only=True) for i in range(3)]
    final = [str(tmp_path / f"final_{i:02d}.pt") for i in range(3)]
    result = audit(
        final, data["X"], data["y"], init=init, points=data["X"][:2], variance=0.9, lr=0.5, steps=100
    )
    r1 = next(c for c in result.as_dict()["claims"] if c["id"] == "audit.R1")
    assert r1["verdict"] == "fail" and not r1["within_hypotheses"] and result.exit_status == 0


def test_three_layer_networks_get_the_split_and_attacks_only(tmp_path):
    rotated_data(tmp_path)
    (model,) = train_population(tmp_path, 1, m=8, hidden=(6,), steps=50)
    data = np.load(tmp_path / "train.npz")
    points = np.load(tmp_path / "points.npz")["X"]
    result = audit([model], data["X"], data["y"], points=points)
    record = result.as_dict()
    assert record["claims"] == [] and "three-layer" in record["notes"][0]
    point = record["networks"][0]["points"][0]
    assert point["certified_orthogonal"] is None and isinstance(point["radius_orthogonal"], float)
    X0 = torch.tensor(points, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(model.double()(X0).sum(), X0)
    norms = [
        p["orthogonal_gradient_norm"] ** 2 + p["subspace_gradient_norm"] ** 2
        for p in record["networks"][0]["points"]
    ]
    np.testing.assert_allclose(norms, grad.norm(dim=1).detach().numpy() ** 2, rtol=1e-10)


def test_safetensors_npz_and_two_logits_read_as_the_same_network(tmp_path):
    from safetensors.torch import save_file

    rotated_data(tmp_path)
    (model,) = train_population(tmp_path, 1, m=8, steps=20)
    state = model.state_dict()
    save_file(state, str(tmp_path / "net.safetensors"))
    W, b, u, c = (state[k].numpy() for k in ("0.weight", "0.bias", "2.weight", "2.bias"))
    np.savez(tmp_path / "net.npz", W=W, b=b, u=u[0], c=c)
    two = nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 2))
    with torch.no_grad():
        two[0].load_state_dict(model[0].state_dict())
        two[2].weight.copy_(torch.cat([torch.zeros(1, 8), model[2].weight]))
        two[2].bias.copy_(torch.cat([torch.zeros(1), model[2].bias]))
    data = np.load(tmp_path / "train.npz")
    points = np.load(tmp_path / "points.npz")["X"][:2]
    results = [
        audit([source], data["X"], data["y"], points=points).as_dict()["networks"][0]["points"]
        for source in (
            str(tmp_path / "final_00.pt"),
            str(tmp_path / "net.safetensors"),
            str(tmp_path / "net.npz"),
            two,
        )
    ]
    assert results[1] == results[0] and results[2] == results[0] and results[3] == results[0]


def _bad_inputs(folder: Path) -> dict[str, tuple[list[str], str]]:
    """Each bad input of the issue: (arguments, the file the message must name)."""
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Linear(2, 1))
    torch.save(conv.state_dict(), folder / "conv.pt")
    torch.save(
        nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)).state_dict(), folder / "multiclass.pt"
    )
    torch.save(
        nn.Sequential(nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 1)), folder / "module.pt"
    )  # not a state_dict
    inf = torch.load(folder / "final_00.pt", weights_only=True)
    inf["0.weight"][0, 0] = float("inf")
    torch.save(inf, folder / "inf.pt")
    data = np.load(folder / "train.npz")
    X_nan = data["X"].copy()
    X_nan[3, 2] = np.nan
    np.savez(folder / "nan.npz", X=X_nan, y=data["y"])
    np.savez(folder / "labels.npz", X=data["X"], y=np.arange(len(data["y"])) % 3)
    np.save(folder / "skew.npy", 2 * np.load(folder / "basis.npy"))
    np.save(folder / "other.npy", np.linalg.qr(np.random.default_rng(5).standard_normal((12, 4)))[0])
    base = ["--data", "train.npz", "--points", "points.npz"]
    return {
        "another shape": (["--model", "conv.pt", *base], "conv.pt"),
        "multi-class head": (["--model", "multiclass.pt", *base], "multiclass.pt"),
        "inf in weights": (["--model", "inf.pt", *base], "inf.pt"),
        "NaN in data": (["--model", "final_00.pt", "--data", "nan.npz"], "nan.npz"),
        "labels": (["--model", "final_00.pt", "--data", "labels.npz"], "labels.npz"),
        "not orthonormal": (["--model", "final_00.pt", "--subspace", "skew.npy", *base], "skew.npy"),
        "basis misses data": (["--model", "final_00.pt", "--subspace", "other.npy", *base], "other.npy"),
        "unpaired": (["--model", "final_0*.pt", "--init", "init_00.pt", *base], "--init"),
        "not a state_dict": (["--model", "module.pt", *base], "module.pt"),
    }


def test_every_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path, capsys, monkeypatch):
    rotated_data(tmp_path)
    train_population(tmp_path, 2, m=8, steps=5)
    cases = _bad_inputs(tmp_path)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    monkeypatch.chdir(tmp_path)
    for name, (args, named) in cases.items():
        status = main(["audit", *args, "--out", "out"])
        err = capsys.readouterr().err
        assert status == 2, (name, err)
        assert err.count("\n") == 1 and named in err, (name, err)
        assert not (tmp_path / "out").exists(), name
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before
    assert "expected" in err


def test_help_names_the_audit_command(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["audit", "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for option in (
        "--model",
        "--init",
        "--data",
        "--points",
        "--subspace",
        "--rank",
        "--variance",
        "--out",
        "--format",
        "--seed",
    ):
        assert option in out


def test_a_certificate_above_a_verified_flip_is_an_internal_error(sgd, monkeypatch):
    """Our bug, never the theory's: the tight certificate inflated past the attack radius raises
    SandwichViolation, recorded as an error, exit status 3."""
    import verify.audit.measure as measure_module
    from numerics.certificates import certificates

    def inflated(*args, **kwargs):
        found = certificates(*args, **kwargs)
        found.radius = found.radius * 10
        return found

    monkeypatch.setattr(measure_module, "certificates", inflated)
    folder, basis, models, _ = sgd
    data = np.load(folder / "train.npz")
    points = np.load(folder / "points.npz")["X"][:2]
    result = audit(models[:2], data["X"], data["y"], points=points, basis=basis, exact=False)
    r6 = next(c for c in result.as_dict()["claims"] if c["id"] == "audit.R6")
    assert r6["verdict"] == "error" and "SandwichViolation" in r6["error"]
    assert result.exit_status == 3


def test_a_wrong_theory_fails_the_audit(sgd):
    """Predictions come from theory/: a wrong R5 flip distance or R6 radius fails the audit's claims."""
    import sympy as sp

    from theory.results import replaced
    from theory.symbols import N0, L, g_norm

    folder, basis, models, _ = sgd
    data = np.load(folder / "train.npz")
    points = np.load(folder / "points.npz")["X"]
    with (
        replaced("R5", flip_distance=1.01 * sp.Abs(N0) / g_norm),
        replaced("R6", certified_radius=2 * sp.Abs(N0) / L),
    ):
        result = audit(models, data["X"], data["y"], points=points, basis=basis, exact=False)
    record = result.as_dict()
    # R5's exact comparison needs points where t* precedes the first breakpoint: this population has some
    assert sum(p["first_segment"] for n in record["networks"] for p in n["points"]) > 0
    verdicts = {c["id"]: c["verdict"] for c in record["claims"]}
    assert verdicts == {"audit.R5": "fail", "audit.R6": "fail"} and result.exit_status == 1


def test_r1_reads_off_the_weight_decay_factor_and_holds_it_against_the_stated_one(tmp_path):
    """torch.optim.SGD's coupled weight decay multiplies Pi W by (1 - lr wd) per step: the factor read off the
    weights is R1's c_T at the stated lr, weight decay and steps, and a wrong statement fails R1."""
    rotated_data(tmp_path)
    models = train_population(tmp_path, 2, m=8, steps=50, lr=0.1, weight_decay=0.05)
    init = [torch.load(tmp_path / f"init_{i:02d}.pt", weights_only=True) for i in range(2)]
    data = np.load(tmp_path / "train.npz")
    points = np.load(tmp_path / "points.npz")["X"][:2]

    def r1(weight_decay: float) -> tuple[str, list[float]]:
        record = audit(
            models,
            data["X"],
            data["y"],
            init=init,
            points=points,
            lr=0.1,
            steps=50,
            weight_decay=weight_decay,
            exact=False,
        ).as_dict()
        verdict = next(c["verdict"] for c in record["claims"] if c["id"] == "audit.R1")
        return verdict, [n["read_off_factor"] for n in record["networks"]]

    verdict, factors = r1(0.05)
    assert verdict == "pass"
    np.testing.assert_allclose(factors, (1 - 0.1 * 0.05) ** 50, rtol=1e-5)
    assert r1(0.06)[0] == "fail"


def test_a_wrong_law_or_decay_factor_fails_r3_and_r1(sgd, tmp_path):
    """R3's law and R1's c_T come from theory/: twice the degrees of freedom fails R3 on the SGD population,
    and a decay factor off by one step fails R1 on a weight-decay population."""
    from theory.decay import C_T
    from theory.results import replaced
    from theory.symbols import ell, eta, lam

    folder, basis, models, _ = sgd
    data = np.load(folder / "train.npz")
    points = np.load(folder / "points.npz")["X"][:1]
    init = [torch.load(folder / f"init_{i:02d}.pt", weights_only=True) for i in range(len(models))]
    with replaced("R3", degrees_of_freedom=2 * ell):
        record = audit(models, data["X"], data["y"], init=init, points=points, basis=basis, exact=False)
    assert {c["id"]: c["verdict"] for c in record.as_dict()["claims"]}["audit.R3"] == "fail"

    rotated_data(tmp_path)
    decayed = train_population(tmp_path, 2, m=8, steps=50, lr=0.1, weight_decay=0.05)
    init = [torch.load(tmp_path / f"init_{i:02d}.pt", weights_only=True) for i in range(2)]
    train = np.load(tmp_path / "train.npz")
    with replaced("R1", decay_gd=C_T * (1 - eta * lam)):
        record = audit(
            decayed,
            train["X"],
            train["y"],
            init=init,
            points=train["X"][:1],
            lr=0.1,
            steps=50,
            weight_decay=0.05,
            exact=False,
        )
    assert {c["id"]: c["verdict"] for c in record.as_dict()["claims"]}["audit.R1"] == "fail"
