"""Tests of numerics.attacks: hand-solved rays, a dense scan, the R6 sandwich and DeepFool's exact cases."""

from __future__ import annotations

import math

import pytest
import torch

from numerics.attacks import (
    VERIFY_NUDGE,
    SandwichViolation,
    certified_orthogonal_radius,
    check_sandwich,
    flip_along,
    minimal_l2_attack,
    orthogonal_gradient_flip,
)
from numerics.measure import orthogonal_gradient, orthogonal_lipschitz
from numerics.model import InitConfig, Network, forward, initialize, input_gradient, preactivations
from tests.numerics.test_measure import points_in, subspace, trained_like
from theory.parameters import ParameterError

F64 = torch.float64
INF = float("inf")


def tensor(x) -> torch.Tensor:
    return torch.tensor(x, dtype=F64)


def net_of(W, b, u) -> Network:
    """One network (R = 1) from nested lists."""
    return Network(tensor([W]), tensor([b]), tensor([u]))


def ray(net: Network, x0, v) -> tuple[float, bool, bool, float]:
    res = flip_along(net, tensor([[x0]]), tensor([[v]]))
    return float(res.t), bool(res.success), bool(res.certified_first_segment), float(res.t_star)


# Each case: f(t) = N(x0 + t v) worked out by hand in the comment; expected (t, success, certified, t*).
HAND_CASES = [
    # relu(1) - 2 relu(t - 1): flat at 1 until the second neuron switches on at t = 1, zero at t = 1.5.
    ([[1, 0], [0, 1]], [0, 0], [1, -2], [1, -1], [0, 1], (1.5, True, False, INF)),
    # relu(1 - t): reaches 0 at t = 1 and stays there; 0 is not the other class, so no flip.
    ([[1, 0], [0, 1]], [0, 0], [1, -2], [1, -1], [-1, 0], (INF, False, False, 1.0)),
    # relu(1 + t) - relu(2) = t - 1 with no breakpoint at all: certified, flip at t* = 1.
    ([[1, 0], [0, 1]], [0, 0], [1, -1], [1, 2], [1, 0], (1.0, True, True, 1.0)),
    # As above plus 3 relu(t - 2) switching on at t = 2 > t* = 1: still certified.
    ([[1, 0], [0, 1], [1, -1.5]], [0, 0, 0], [1, -1, 3], [1, 2], [1, 0], (1.0, True, True, 1.0)),
    # The third neuron now switches on exactly at t* = 1: f = t - 1 then 4(t - 1); flips at 1, but the
    # certificate needs t* strictly before the first breakpoint.
    ([[1, 0], [0, 1], [1, -1]], [0, 0, 0], [1, -1, 3], [1, 2], [1, 0], (1.0, True, False, 1.0)),
    # relu(1 - t) + relu(t - 1) = |1 - t|: touches 0 at t = 1 and comes back: no flip.
    ([[-1, 0], [1, 0]], [0, 0], [1, 1], [-1, 0], [1, 0], (INF, False, False, 1.0)),
    # relu(1 - t) - relu(t - 2): exactly 0 on [1, 2], negative after: the flip is at t = 2.
    ([[1, 0], [-1, 0]], [0, -1], [1, -1], [1, 0], [-1, 0], (2.0, True, False, 1.0)),
    # Two identical neurons (tied breakpoints) and a third, in d = 3:
    # f = 2 relu(2 - t) - relu(t - 2.5).
    (
        [[-1, 0, 0], [-1, 0, 0], [1, 0, 0]],
        [0, 0, -0.5],
        [1, 1, -1],
        [-2, 0, 0],
        [1, 0, 0],
        # f(0) = 4 - 0 (third off: -2 - 0.5 < 0); slope -2 until t = 2 where both copies switch off,
        # f(2) = 0; then 0 until the third switches on at t = 2.5, negative after: flip at 2.5.
        (2.5, True, False, 2.0),
    ),
    # relu(1) - 2 relu(0 + t): the second neuron sits at h = 0 and switches on at once (no breakpoint).
    ([[1, 0], [0, 1]], [0, 0], [1, -2], [1, 0], [0, 1], (0.5, True, True, 0.5)),
    # N(x0) = 0: already on the boundary.
    ([[1, 0], [0, 1]], [0, 0], [1, -1], [1, 1], [1, 0], (0.0, False, False, 0.0)),
]


@pytest.mark.parametrize(("W", "b", "u", "x0", "v", "expected"), HAND_CASES)
def test_flip_along_hand_cases(W, b, u, x0, v, expected):
    t, success, certified, t_star = ray(net_of(W, b, u), x0, v)
    t_exp, success_exp, certified_exp, t_star_exp = expected
    assert t == pytest.approx(t_exp, rel=1e-15, abs=0)
    assert (success, certified) == (success_exp, certified_exp)
    assert t_star == pytest.approx(t_star_exp, rel=1e-15, abs=0)


def test_flip_along_is_not_fooled_by_rounding_on_an_exactly_zero_stretch():
    # f(t) = sum_{i<4} u_i relu(b_i - c_i t) - relu(t - 20), u_i, b_i, c_i > 0: every positive neuron switches
    # off before t = 10, f is exactly 0 on [10, 20] but the cumulative sums leave ~1e-17 there. The flip is
    # at t = 20; treating that residue as "the other side" would report a spurious flip before 10.
    gen = torch.Generator().manual_seed(20)
    R = 300
    u = torch.rand(R, 4, generator=gen, dtype=F64) * 0.9 + 0.1
    b = torch.rand(R, 4, generator=gen, dtype=F64) * 0.9 + 0.1
    c = torch.rand(R, 4, generator=gen, dtype=F64) * 0.9 + 0.1
    u[:, 3], b[:, 3], c[:, 3] = -1.0, -20.0, -1.0
    W = torch.stack([-c, torch.zeros_like(c)], -1)
    net = Network(W, b, u)
    res = flip_along(net, torch.zeros(R, 1, 2, dtype=F64), tensor([[1.0, 0.0]]).expand(R, 1, 2))
    torch.testing.assert_close(res.t, torch.full((R, 1), 20.0, dtype=F64), rtol=1e-13, atol=0)
    assert bool(res.success.all())


def test_flip_along_reports_delta_and_norm_for_non_unit_directions():
    # The first hand case at x0 = (1, -1), with the direction scaled by 2 (flip at t = 0.75, distance 1.5),
    # and the second scaled by 3 (no flip).
    net = net_of([[1, 0], [0, 1]], [0, 0], [1, -2])
    res = flip_along(net, tensor([[[1, -1], [1, -1]]]), tensor([[[0, 2], [-3, 0]]]))
    torch.testing.assert_close(res.t, tensor([[0.75, INF]]))
    torch.testing.assert_close(res.delta, tensor([[[0, 1.5], [0, 0]]]))
    torch.testing.assert_close(res.norm, tensor([[1.5, INF]]))


def random_rays(seed: int, R: int = 3, p: int = 8, d: int = 3, m: int = 6):
    gen = torch.Generator().manual_seed(seed)
    net = initialize(InitConfig(m=m, bias=True, s_b=0.5, output_init="gaussian"), d, R, seed=seed)
    X0 = torch.randn(R, p, d, generator=gen, dtype=F64)
    V = torch.randn(R, p, d, generator=gen, dtype=F64)
    return net, X0, V / V.norm(dim=-1, keepdim=True)


def test_flip_along_agrees_with_a_dense_scan():
    net, X0, V = random_rays(0)
    grid_size, t_max = 100_000, 6.0
    grid = torch.linspace(0, t_max, grid_size + 1, dtype=F64)
    R, p, d = X0.shape
    X = (X0.unsqueeze(2) + grid.reshape(1, 1, -1, 1) * V.unsqueeze(2)).reshape(R, -1, d)
    f = forward(net, X).reshape(R, p, -1)
    sigma = torch.sign(f[..., :1])
    beyond = sigma * f < 0
    res = flip_along(net, X0, V)
    flips = 0
    for r in range(R):
        for j in range(p):
            idx = torch.nonzero(beyond[r, j])
            t = float(res.t[r, j])
            if len(idx) == 0:
                assert t > t_max - t_max / grid_size and not (t < INF and not res.success[r, j])
            else:
                i = int(idx[0])
                flips += 1
                # The exact root lies in the last grid cell before the scan first sees the other side.
                assert float(grid[i - 1]) <= t <= float(grid[i]), (r, j, t, float(grid[i]))
                assert bool(res.success[r, j])
    assert flips >= 10  # the scan must actually exercise the comparison


def test_flip_along_lands_on_a_zero_and_verifies_by_forward_pass():
    net, X0, V = random_rays(1, R=4, p=50, d=5, m=12)
    res = flip_along(net, X0, V)
    ok = torch.isfinite(res.t)
    assert int(ok.sum()) > 50
    assert torch.equal(res.success, ok)  # generic rays: every finite root is a transversal crossing
    f_at = forward(net, X0 + res.delta)
    # Rounding scale of f at the root: sum_i |u_i| |h_i(t)|, times 1e-12 (a few hundred eps for m = 12).
    scale = (net.u.abs().unsqueeze(1) * preactivations(net, X0 + res.delta).abs()).sum(-1)
    assert torch.all(f_at[ok].abs() <= 1e-12 * scale[ok])
    f0 = forward(net, X0)
    assert torch.all(f0[ok] * forward(net, X0 + (1 + VERIFY_NUDGE) * res.delta)[ok] < 0)
    assert torch.all(res.delta[~ok] == 0) and torch.all(torch.isinf(res.norm[~ok]))


def test_certificate_means_the_first_segment_and_matches_a_direct_check():
    net, X0, V = random_rays(2, R=4, p=50, d=5, m=12)
    res = flip_along(net, X0, V)
    h = preactivations(net, X0)
    a = torch.bmm(V, net.W.transpose(1, 2))
    breakpoints = torch.where(-h / a > 0, -h / a, torch.full_like(h, INF)).amin(-1)
    f0 = forward(net, X0)
    slope = (input_gradient(net, X0) * V).sum(-1)  # valid away from h_i = 0, which a Gaussian never hits
    t_star = f0.abs() / slope.abs()
    torch.testing.assert_close(res.t_star, t_star)
    direct = (f0 * slope < 0) & (t_star < breakpoints)
    assert torch.equal(res.certified_first_segment, direct)
    assert 0 < int(direct.sum()) < direct.numel()  # both outcomes occur
    torch.testing.assert_close(res.t[direct], res.t_star[direct], rtol=1e-13, atol=0)


def sandwich_population(seed: int, *, R: int = 6, d: int = 24, ell: int = 16, m: int = 20, p: int = 10):
    B, perp = subspace(d, ell, seed)
    net0 = initialize(InitConfig(m=m, bias=True, s_b=0.3), d, R, seed=seed + 1)
    net = trained_like(net0, B, seed + 2)
    return B, perp, net, points_in(B, R, p, seed + 3)


def test_orthogonal_gradient_flip_is_R5_and_respects_the_certified_radius():
    B, perp, net, X0 = sandwich_population(3)
    res = orthogonal_gradient_flip(net, X0, perp)
    g = orthogonal_gradient(net, X0, perp)
    torch.testing.assert_close(res.t_star, forward(net, X0).abs() / g.norm(dim=-1))
    assert torch.all((res.delta @ B).norm(dim=-1) <= 1e-13 * res.delta.norm(dim=-1))
    assert float(res.success.double().mean()) > 0.9
    assert bool(res.certified_first_segment.any())
    certified = certified_orthogonal_radius(net, X0, perp)
    ratio = check_sandwich(certified, res.norm)
    assert 0 < ratio <= 1


def test_minimal_orthogonal_attack_respects_the_certified_radius_and_stays_in_P_perp():
    B, perp, net, X0 = sandwich_population(4)
    res = minimal_l2_attack(net, X0, perp, max_iter=20)
    assert float(res.success.double().mean()) > 0.9
    assert torch.all((res.delta @ B).norm(dim=-1) <= 1e-13 * res.delta.norm(dim=-1))
    torch.testing.assert_close(res.norm[res.success], res.delta.norm(dim=-1)[res.success])
    # The success flag is the forward pass; recompute it here.
    f0 = forward(net, X0)
    flipped = f0 * forward(net, X0 + (1 + VERIFY_NUDGE) * res.delta) < 0
    assert torch.equal(res.success, flipped)
    check_sandwich(certified_orthogonal_radius(net, X0, perp), res.norm)
    # The first DeepFool direction is R5's v, so the attack is never longer than the gradient flip and
    # succeeds wherever it does (up to the rounding of normalizing the same vector twice).
    grad_flip = orthogonal_gradient_flip(net, X0, perp)
    check_sandwich(res.norm, grad_flip.norm, rtol=1e-12)
    assert bool((res.success | ~grad_flip.success).all())
    assert bool((res.norm < grad_flip.norm * (1 - 1e-3)).any())  # and the iteration does improve on it


def test_unrestricted_and_on_manifold_attacks_stay_in_their_subspaces():
    B, perp, net, X0 = sandwich_population(5)
    orthogonal = minimal_l2_attack(net, X0, perp)
    unrestricted = minimal_l2_attack(net, X0)
    on_manifold = minimal_l2_attack(net, X0, B @ B.T, max_iter=20)
    assert bool(unrestricted.success.all())
    assert torch.all((on_manifold.delta @ perp).norm(dim=-1) <= 1e-13 * on_manifold.delta.norm(dim=-1))
    # The unrestricted minimum is at most the orthogonal one; DeepFool approximates both, so this holds
    # "typically": a fixed-seed regression guard, not a theorem.
    both = orthogonal.success
    assert float((unrestricted.norm[both] <= orthogonal.norm[both] * (1 + 1e-12)).double().mean()) >= 0.9


def test_deepfool_is_exact_when_every_neuron_stays_active():
    # Large biases keep every h_i > 0 over the whole region the attack visits, so N is affine there and
    # the minimal flip within range(P) is |N(x0)| / ||P grad||, reached in one step.
    d, ell, R, p = 6, 3, 3, 4
    B, perp = subspace(d, ell, 6)
    net = initialize(InitConfig(m=5), d, R, seed=7)
    net.b = torch.full_like(net.b, 20.0)
    net.u = torch.tensor([[1.0, 1.0, -1.0, 1.0, 1.0]], dtype=F64).expand(R, -1).contiguous() / math.sqrt(5)
    net.u[:, 2] *= 3.2  # so that N(x0) is small enough to be flipped within the all-active region
    X0 = points_in(B, R, p, 8)
    f0 = forward(net, X0)
    grad = input_gradient(net, X0)
    for projector in (perp, None, B @ B.T):
        res = minimal_l2_attack(net, X0, projector)
        pg = grad if projector is None else grad @ projector
        expected = f0.abs() / pg.norm(dim=-1)
        assert bool(res.success.all())
        assert torch.all(preactivations(net, X0 + res.delta) > 0)  # the all-active premise held
        torch.testing.assert_close(res.norm, expected, rtol=1e-12, atol=0)
        assert torch.all(res.iterations == 1)
    # Here L = ||g|| only if every Pi w_i is aligned, which they are not: the certificate is strictly below.
    assert torch.all(certified_orthogonal_radius(net, X0, perp) < minimal_l2_attack(net, X0, perp).norm)


def test_certified_radius_is_N_over_L_with_edge_cases():
    B, perp, net, X0 = sandwich_population(9, R=2, p=3)
    expected = forward(net, X0).abs() / orthogonal_lipschitz(net, perp).unsqueeze(-1)
    torch.testing.assert_close(certified_orthogonal_radius(net, X0, perp), expected)
    inside = Network(net.W @ B @ B.T * 0, net.b, net.u)  # L = 0: nothing orthogonal moves N
    assert torch.all(torch.isinf(certified_orthogonal_radius(inside, X0, perp)))
    flat = orthogonal_gradient_flip(inside, X0, perp)  # g = 0: no direction, no flip
    assert torch.all(torch.isinf(flat.t)) and not bool(flat.success.any())


def test_check_sandwich_raises_on_a_fabricated_violation():
    certified = tensor([[0.5, 1.0], [2.0, 0.1]])
    attack = tensor([[0.6, 1.0], [1.5, INF]])
    with pytest.raises(SandwichViolation, match=r"index \(1, 0\).*ratio 1\.3333"):
        check_sandwich(certified, attack)
    assert check_sandwich(tensor([1.0, 0.5]), tensor([1.0, INF])) == 1.0
    # The rounding allowance is relative and small: 1 + 1e-10 passes, 1 + 1e-8 does not.
    check_sandwich(tensor([1.0 + 1e-10]), tensor([1.0]))
    with pytest.raises(SandwichViolation):
        check_sandwich(tensor([1.0 + 1e-8]), tensor([1.0]))
    with pytest.raises(SandwichViolation, match="1 of 2"):
        check_sandwich(tensor([float("nan"), 0.1]), tensor([1.0, 1.0]))
    assert issubclass(SandwichViolation, AssertionError)


def test_inputs_are_validated():
    net, X0, V = random_rays(10)
    with pytest.raises(ParameterError, match="max_iter"):
        minimal_l2_attack(net, X0, max_iter=0)
    with pytest.raises(ParameterError, match="overshoot"):
        minimal_l2_attack(net, X0, overshoot=-0.1)
    with pytest.raises(ValueError, match="V of shape"):
        flip_along(net, X0, V[:, :2])
    with pytest.raises(ParameterError, match="rtol"):
        check_sandwich(tensor([1.0]), tensor([1.0]), rtol=-1.0)


def test_sandwich_holds_on_the_boundary_with_an_infinite_condition():
    # Both radii 0 at a point on the decision boundary, where the rounding bound is infinite.
    zero = torch.zeros(3, dtype=torch.float64)
    condition = torch.tensor([0.0, float("inf"), 1.0], dtype=torch.float64)
    check_sandwich(zero, zero, condition=condition)
    with pytest.raises(SandwichViolation):
        check_sandwich(torch.tensor([0.0, 1e-300, 0.0], dtype=torch.float64), zero, condition=condition)
    with pytest.raises(SandwichViolation):
        check_sandwich(torch.tensor([float("nan"), 0.0, 0.0], dtype=torch.float64), zero, condition=condition)
