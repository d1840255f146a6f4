"""Tests of numerics.minimal_flip: verified flips in the subspace, exact cases, validation, and an
independent cross-check against Foolbox's DDN and FMN on trained populations."""

from __future__ import annotations

import math

import pytest
import torch

from numerics.attacks import VERIFY_NUDGE, flip_along, orthogonal_gradient_flip
from numerics.minimal_flip import METHODS, minimal_flip
from numerics.model import InitConfig, Network, forward, initialize, input_gradient, preactivations
from numerics.subspace import make_subspace
from tests.numerics.trained_networks import trained
from theory.parameters import ParameterError

F64 = torch.float64


def verified(net: Network, X0: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    """The forward-pass check, recomputed here: N(x0) N(x0 + (1 + VERIFY_NUDGE) delta) < 0."""
    return forward(net, X0) * forward(net, X0 + (1 + VERIFY_NUDGE) * delta) < 0


@pytest.mark.parametrize("space", ["perp", "projector", "data", "all", "per-run"])
def test_flips_are_verified_and_lie_in_the_subspace(space):
    pop = trained(24, 30, 20, 40)
    B = {"perp": pop.perp_basis, "projector": pop.subspace.perp_projector(), "data": pop.subspace.basis,
         "all": None, "per-run": pop.perp_basis.expand(24, -1, -1).contiguous()}[space]  # fmt: skip
    res = minimal_flip(pop.net, pop.X0, B, seed=0, data_subspace=pop.subspace)
    assert bool(res.success.all())
    assert torch.equal(res.success, verified(pop.net, pop.X0, res.delta))
    torch.testing.assert_close(res.norm, res.delta.norm(dim=-1), rtol=1e-14, atol=0)
    if space in ("perp", "projector", "per-run"):
        off = pop.subspace.coordinates(res.delta).norm(dim=-1)  # the component in P
    elif space == "data":
        off = pop.subspace.project_perp(res.delta).norm(dim=-1)
    else:
        off = torch.zeros_like(res.norm)
    assert torch.all(off <= 1e-13 * res.norm)
    assert res.method is not None and res.polished is not None
    assert bool((res.method >= 0).all()) and bool((res.method < len(METHODS)).all())


def test_never_longer_than_the_flip_along_the_orthogonal_gradient():
    pop = trained(32, 30, 20, 40, seed=1)
    res = minimal_flip(pop.net, pop.X0, pop.perp_basis, seed=0)
    gradient = orthogonal_gradient_flip(pop.net, pop.X0, pop.subspace.perp_projector())
    found = gradient.success
    assert bool(found.any())
    assert torch.all(res.norm[found] <= gradient.norm[found] * (1 + 1e-12))
    assert bool((res.norm[found] < gradient.norm[found] * (1 - 1e-3)).any())  # and it does improve on it


def test_exact_when_the_network_is_affine_on_the_region_it_explores():
    # Large biases keep every h_i > 0 where the attack goes: N is affine and the minimal flip within
    # span(B) is |N(x0)| / ||B B^T grad||, which every candidate reaches.
    d, ell, R = 6, 3, 3
    sub = make_subspace(d, ell, seed=6)
    net = initialize(InitConfig(m=5), d, R, seed=7)
    net.b = torch.full_like(net.b, 20.0)
    net.u = torch.tensor([[1.0, 1.0, -1.0, 1.0, 1.0]], dtype=F64).expand(R, -1).contiguous() / math.sqrt(5)
    net.u[:, 2] *= 3.2
    X0 = sub.embed(torch.randn(R, 4, d - ell, generator=torch.Generator().manual_seed(8), dtype=F64))
    B = sub.complement_basis()
    res = minimal_flip(net, X0, B, seed=0)
    g = input_gradient(net, X0) @ B
    assert torch.all(preactivations(net, X0 + res.delta) > 0)
    torch.testing.assert_close(res.norm, forward(net, X0).abs() / g.norm(dim=-1), rtol=1e-12, atol=0)


def test_seeded_and_reproducible():
    pop = trained(16, 30, 20, 40, seed=2)
    a = minimal_flip(pop.net, pop.X0, pop.perp_basis, seed=3)
    b = minimal_flip(pop.net, pop.X0, pop.perp_basis, seed=3)
    assert torch.equal(a.norm, b.norm) and torch.equal(a.delta, b.delta)


def test_no_flip_and_no_sign_are_reported_as_failures():
    pop = trained(8, 30, 20, 40, seed=3)
    positive = Network(pop.net.W, pop.net.b, pop.net.u.abs())  # N >= 0 everywhere: nothing flips a positive N
    res = minimal_flip(positive, pop.X0, pop.perp_basis, seed=0)
    flippable = forward(positive, pop.X0) <= 0
    assert not bool(res.success[~flippable].any()) and torch.all(torch.isinf(res.norm[~flippable]))
    off = Network(pop.net.W, pop.net.b - 1e3, pop.net.u)  # every neuron off at x0: N(x0) = 0
    res = minimal_flip(off, pop.X0, pop.perp_basis, seed=0)
    assert not bool(res.success.any()) and torch.all(res.delta == 0)


def test_bad_input_gets_one_line_value_errors_naming_the_parameter():
    pop = trained(4, 12, 6, 8, seed=4)
    net, X0, B = pop.net, pop.X0, pop.perp_basis
    cases = [
        (dict(X0=X0 + 1e-3 * B[:, 0], data_subspace=pop.subspace), "X0 is invalid: a point is off"),
        (
            dict(net=Network(net.W, net.b, torch.zeros_like(net.u))),
            "net is invalid: run 0 is the zero network",
        ),
        (dict(net=Network(torch.zeros_like(net.W), torch.zeros_like(net.b), net.u)), "zero network"),
        (
            dict(net=Network(net.W.clone().index_fill_(2, torch.tensor([0]), math.nan), net.b, net.u)),
            "non-finite W",
        ),
        (dict(net=Network(net.W, net.b, net.u * math.inf)), "non-finite u"),
        (
            dict(net=Network(net.W * 1e300, net.b, net.u), X0=X0 * 1e10),
            "X0 is invalid: N\\(x0\\) is not finite",
        ),
        (dict(X0=X0[..., :-1]), "X of shape"),
        (dict(basis=B * 1.01), "basis is invalid: columns are not orthonormal"),
        (dict(basis=B[:-1]), "basis of shape"),
        (dict(seed=-1), "seed=-1 is invalid"),
        (dict(iterations=0), "max_iter=0 is invalid"),
        (dict(restarts=-1), "restarts=-1 is invalid"),
    ]
    for change, message in cases:
        args = dict(net=net, X0=X0, basis=B, seed=0) | change
        with pytest.raises(ParameterError, match=message) as info:
            minimal_flip(args.pop("net"), args.pop("X0"), args.pop("basis"), **args)
        assert "\n" not in str(info.value) and isinstance(info.value, ValueError)


# --- the independent cross-check ------------------------------------------------------------------------


def foolbox_radii(net: Network, X0: torch.Tensor, B: torch.Tensor, *, steps: int = 1000) -> torch.Tensor:
    """The better of Foolbox's L2 DDN and FMN on z -> N(x0 + B z), each polished by `flip_along`: (R, 1).

    The binary network is wrapped as logits [0, N(x)] with each row its own network; the bounds are
    large and finite (the input is unbounded). Their perturbation's direction gets our exact line search,
    so both sides are measured the same way.
    """
    fb = pytest.importorskip("foolbox")
    R = net.runs

    class Logits(torch.nn.Module):
        def forward(self, Z: torch.Tensor) -> torch.Tensor:
            out = forward(net, X0 + (Z @ B.T).unsqueeze(1)).squeeze(1)
            return torch.stack([torch.zeros_like(out), out], -1)

    model = fb.PyTorchModel(Logits().eval(), bounds=(-1e6, 1e6))
    labels = (forward(net, X0)[:, 0] > 0).long()
    Z0 = torch.zeros(R, B.shape[1], dtype=F64)
    radii = []
    for attack in (fb.attacks.DDNAttack(steps=steps), fb.attacks.L2FMNAttack(steps=steps)):
        Z = attack.run(model, Z0, labels)
        line = flip_along(net, X0, (Z @ B.T).unsqueeze(1))
        radii.append(torch.where(line.success, line.norm, math.inf))
    return torch.minimum(*radii)


@pytest.mark.parametrize(("d", "ell", "m"), [(50, 40, 100), (47, 38, 83)])
def test_at_least_as_strong_as_foolbox_ddn_and_fmn(d, ell, m):
    pop = trained(48, d, ell, m, seed=d)
    B = pop.perp_basis
    ours = minimal_flip(pop.net, pop.X0, B, seed=0, data_subspace=pop.subspace)
    assert bool(ours.success.all())
    assert torch.equal(ours.success, verified(pop.net, pop.X0, ours.delta))
    theirs = foolbox_radii(pop.net, pop.X0, B)
    assert bool(torch.isfinite(theirs).all())
    ratio = (ours.norm / theirs).flatten()
    assert float((ratio <= 1.01).double().mean()) >= 0.99, ratio.sort().values[-5:]
    assert float(ratio.max()) <= 1.05, ratio.sort().values[-5:]


def test_runs_on_simulated_cuda_with_the_same_numbers():
    from numerics.certificates import certificates
    from tests.cuda_simulation import CUDA, simulated_cuda

    pop = trained(8, 30, 20, 40, seed=1)
    perp = pop.subspace.perp_projector()
    attack = minimal_flip(pop.net, pop.X0, pop.perp_basis, seed=0)
    cert = certificates(pop.net, pop.X0, perp)
    with simulated_cuda():
        net, X0 = pop.net.to(device="cuda"), pop.X0.to("cuda")
        on_cuda = minimal_flip(net, X0, pop.perp_basis.to("cuda"), seed=0)
        cert_cuda = certificates(net, X0, perp.to("cuda"), upper=on_cuda.norm)
        assert on_cuda.norm.device == cert_cuda.radius.device == CUDA
        norm, radius = on_cuda.norm.cpu(), cert_cuda.radius.cpu()
    assert torch.equal(norm, attack.norm)
    torch.testing.assert_close(radius, cert.radius, rtol=1e-9, atol=0)
