"""The analytic FLOP count of a trainer step, against torch's FLOP counter and a counted scalar GD step."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode, baddbmm_flop

from bench.flops import peak_matmul_gflops, step_flops, training_flops
from numerics.gradients import loss_and_gradients
from numerics.losses import loss_derivative
from numerics.model import InitConfig, Network, initialize
from numerics.train import TrainConfig, train
from theory.parameters import ParameterError

R, n, m, d = 2, 5, 3, 4


def _problem(seed=0):
    gen = torch.Generator().manual_seed(seed)
    X = torch.randn(R, n, d, generator=gen, dtype=torch.float64)
    y = torch.where(torch.randn(R, n, generator=gen) < 0, -1.0, 1.0).to(torch.float64)
    return initialize(InitConfig(m=m), d, R, seed=seed), X, y


def _matmul_flops(fn) -> int:
    # torch's table has baddbmm but not its in-place form, which the trainer uses for W when it can.
    in_place = {torch.ops.aten.baddbmm_: baddbmm_flop.__wrapped__}  # the formula, unwrapped
    with FlopCounterMode(display=False, custom_mapping=in_place) as counter:
        fn()
    return counter.get_total_flops()


@pytest.mark.parametrize("output", [True, False])
def test_matmul_part_matches_torch_flop_counter(output):
    net, X, y = _problem()
    counted = _matmul_flops(lambda: loss_and_gradients(net, X, y, bias=False, output=output))
    assert counted == step_flops(R, n, m, d, output=output).matmul


def test_trainer_does_the_counted_matmul_work_per_step():
    """Whatever the trainer does once (set-up, final evaluation), each extra step costs one step's matmuls."""
    net, X, y = _problem()
    runs = {s: _matmul_flops(lambda s=s: train(net, X, y, TrainConfig(lr=0.1, steps=s))) for s in (0, 7)}
    assert runs[7] - runs[0] == 7 * step_flops(R, n, m, d).matmul


class _Counter:
    """Python floats that count every +, -, * done through `op`."""

    def __init__(self) -> None:
        self.count = 0

    def add(self, a: float, b: float) -> float:
        self.count += 1
        return a + b

    def mul(self, a: float, b: float) -> float:
        self.count += 1
        return a * b


def _counted_gd_step(net: Network, X: torch.Tensor, y: torch.Tensor, lr: float, ops: _Counter):
    """One GD step of one run with scalar loops, every arithmetic operation counted (the loss derivative
    c_j, O(n), is not: the analytic count leaves it out too)."""
    W, u, x = net.W.tolist(), net.u.tolist(), X.tolist()
    h = [[0.0] * m for _ in range(n)]
    for j in range(n):
        for i in range(m):
            for k in range(d):
                h[j][i] = ops.add(h[j][i], ops.mul(W[i][k], x[j][k]))
    act = [[max(v, 0.0) for v in row] for row in h]
    ops.count += n * m  # relu
    out = [0.0] * n
    for j in range(n):
        for i in range(m):
            out[j] = ops.add(out[j], ops.mul(u[i], act[j][i]))
    z = torch.tensor(out, dtype=torch.float64) * y
    c = (loss_derivative("logistic", z) * y / n).tolist()
    dh = [[ops.mul(ops.mul(1.0 if act[j][i] > 0 else 0.0, u[i]), c[j]) for i in range(m)] for j in range(n)]
    ops.count += n * m  # the mask itself (sign of relu(h))
    gW = [[0.0] * d for _ in range(m)]
    for i in range(m):
        for k in range(d):
            for j in range(n):
                gW[i][k] = ops.add(gW[i][k], ops.mul(dh[j][i], x[j][k]))
    gu = [0.0] * m
    for i in range(m):
        for j in range(n):
            gu[i] = ops.add(gu[i], ops.mul(c[j], act[j][i]))
    W1 = [[ops.add(W[i][k], ops.mul(-lr, gW[i][k])) for k in range(d)] for i in range(m)]
    u1 = [ops.add(u[i], ops.mul(-lr, gu[i])) for i in range(m)]
    return torch.tensor(W1, dtype=torch.float64), torch.tensor(u1, dtype=torch.float64)


def test_total_matches_a_counted_scalar_gd_step_that_trains_the_same_network():
    net, X, y = _problem(seed=3)
    lr = 0.1
    step = train(net, X, y, TrainConfig(lr=lr, steps=1)).net
    ops = _Counter()
    for r in range(R):
        W1, u1 = _counted_gd_step(net.select([r]).select(0), X[r], y[r], lr, ops)
        torch.testing.assert_close(W1, step.W[r], rtol=1e-12, atol=1e-14)
        torch.testing.assert_close(u1, step.u[r], rtol=1e-12, atol=1e-14)
    assert ops.count == step_flops(R, n, m, d).total


def test_formula_terms_and_scaling():
    one = step_flops(1, 10, 20, 30)
    assert one.matmul == 4 * 10 * 20 * 30 + 4 * 10 * 20
    assert one.elementwise == 4 * 10 * 20 + 2 * 20 * 30 + 2 * 20
    assert step_flops(5, 10, 20, 30).total == 5 * one.total  # linear in R
    assert step_flops(1, 10, 20, 30, bias=True).elementwise == one.elementwise + 10 * 20 + 2 * 20
    assert training_flops(1, 10, 20, 30, 7) == 7 * one.total
    with pytest.raises(ParameterError, match="d="):
        step_flops(1, 10, 20, 0)


def test_peak_is_a_positive_rate():
    assert peak_matmul_gflops(torch.float64, size=64, repeats=2) > 0
    with pytest.raises(ParameterError, match="repeats"):
        peak_matmul_gflops(torch.float64, size=64, repeats=0)
