"""The batched trainer: orthogonal invariance (R1) with the theory's decay factors, Adam, flow, freezing,
divergence, determinism and validation."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

import numerics.train_loop as train_loop
from numerics.datasets import make_dataset
from numerics.model import InitConfig, forward, initialize
from numerics.train import OPTIMIZERS, TrainConfig, train
from theory.parameters import ParameterError
from verify.predictions import decay_factor as theory_decay_factor

R, M, D, ELL, N, T = 4, 24, 16, 10, 12, 200


def _setup(axis_aligned: bool = False, seed: int = 0, **init):
    ds = make_dataset("gaussian_linear", runs=R, seed=seed, d=D, ell=ELL, n=N, axis_aligned=axis_aligned)
    return ds, initialize(InitConfig(m=M, **init), D, R, seed=seed + 1)


def decay_factor(config: TrainConfig, steps: torch.Tensor) -> torch.Tensor:
    """The theory's c_T (R1) for `config` after `steps` (R,) updates: the factor the trainer must apply."""
    values = {
        "eta": config.lr,
        "lam": config.weight_decay,
        "mu": config.momentum,
        "T": steps.double().numpy(),
        "t": config.lr * steps.double().numpy(),
    }
    return torch.from_numpy(theory_decay_factor("R1", config.optimizer, values).copy())


def _orthogonal_error(result, subspace, config: TrainConfig | None = None) -> tuple[float, float]:
    """max_{r,i} ||Pi (w_i(T) - c_T w_i(0))||, and the scale max ||w_i(0)|| + ||w_i(T)|| it is judged on
    (c_T = 1 without a config: Adam, or no decay)."""
    c = (
        decay_factor(config, result.steps_taken)
        if config is not None
        else torch.ones(len(result.status), dtype=torch.float64)
    ).view(-1, 1, 1)
    error = (
        subspace.project_perp(result.net.W.double() - c * result.net0.W.double()).norm(dim=-1).max().item()
    )
    scale = (result.net0.W.norm(dim=-1) + result.net.W.norm(dim=-1)).max().item()
    return error, scale


# Tolerance of R1 in float64: each of the T steps rounds quantities of size <= scale a few times (the
# gradient's Pi-part is a rounding error of G^T X with X in P to 1e-16; the update adds eps |w|), so
# a worst-case linear accumulation is about T * 5 * eps * scale = 2.2e-13 scale at T = 200 (a random walk
# gives ~1e-14). 1e-12 scale covers the worst case; any real leak (Adam: ~1e-2) is 10 orders larger.
INVARIANCE_RTOL = 1e-12


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum", "flow"])
@pytest.mark.parametrize("decay", [False, True])
def test_orthogonal_part_evolves_only_by_the_decay_factor(optimizer: str, decay: bool) -> None:
    ds, net0 = _setup()
    # Heavy ball decays ~1/(1 - mu) = 10 times faster per step; lambda is chosen so that c_T is about
    # e^{-2} for every method, where a wrong c_T (e.g. (1 - eta lambda)^T for momentum) is caught.
    weight_decay = (0.005 if optimizer == "momentum" else 0.05) if decay else 0.0
    config = TrainConfig(optimizer=optimizer, lr=0.2, steps=T, weight_decay=weight_decay,
                         batch_size=5 if optimizer == "sgd" else None)  # fmt: skip
    result = train(net0, ds.X, ds.y, config)
    assert result.status == ["max_steps"] * R and result.steps_taken.tolist() == [T] * R
    error, scale = _orthogonal_error(result, ds.subspace, config)
    assert error <= INVARIANCE_RTOL * scale, (error, scale)
    c_T = decay_factor(config, result.steps_taken)
    # ... and training did move the weights (inside P), so the check is not vacuous.
    moved = ds.subspace.coordinates(result.net.W - c_T.view(-1, 1, 1) * net0.W).norm()
    assert moved > 1e-2 * net0.W.norm()
    assert ((0.05 < c_T) & (c_T < 0.5)).all() if decay else (c_T == 1).all()
    # A factor off by one step would be visible: the trainer applies exactly T of them.
    if decay and optimizer != "momentum":
        wrong = (1 - config.lr * weight_decay) * c_T
        off = ds.subspace.project_perp(result.net.W - wrong.view(-1, 1, 1) * net0.W).norm(dim=-1).max().item()
        assert off > 1e3 * INVARIANCE_RTOL * scale


def test_gd_decay_factor_is_one_minus_eta_lambda_to_the_T() -> None:
    ds, net0 = _setup()
    eta, lam = 0.2, 0.05
    result = train(net0, ds.X, ds.y, TrainConfig(lr=eta, steps=T, weight_decay=lam))
    c_T = (1 - eta * lam) ** T
    # Measured: Pi W(T) = (1 - eta lambda)^T Pi W(0) on every neuron.
    Pi_T, Pi_0 = ds.subspace.project_perp(result.net.W), ds.subspace.project_perp(net0.W)
    assert (Pi_T - c_T * Pi_0).norm(dim=-1).max() <= INVARIANCE_RTOL * net0.W.norm(dim=-1).max()
    # Without decay of the output layer u is only moved by its gradient; with it, by both.
    kept = train(net0, ds.X, ds.y, TrainConfig(lr=eta, steps=T, weight_decay=lam, decay_output=False))
    assert not torch.allclose(kept.net.u, result.net.u)


def test_momentum_and_flow_decay_factors_of_the_theory_match_a_hand_computation() -> None:
    steps = torch.tensor([0, 1, 2, 5])
    eta, lam, mu = 0.1, 0.3, 0.5
    flow = decay_factor(TrainConfig(optimizer="flow", lr=eta, weight_decay=lam), steps)
    assert torch.allclose(flow, torch.exp(-lam * eta * steps.double()), rtol=1e-15)
    heavy = decay_factor(TrainConfig(optimizer="momentum", lr=eta, weight_decay=lam, momentum=mu), steps)
    # By hand: p1 = 1 - eta lam = 0.97; q1 = mu lam + lam p1 = 0.441, p2 = p1 - eta q1 = 0.9259.
    assert heavy[:3].tolist() == pytest.approx([1.0, 0.97, 0.9259], rel=1e-14)
    assert math.isnan(decay_factor(TrainConfig(optimizer="adam"), steps)[3].item())
    assert decay_factor(TrainConfig(optimizer="momentum"), steps).tolist() == [1.0] * 4


def test_adam_breaks_the_invariance_for_a_rotated_subspace_and_keeps_it_for_an_axis_aligned_one() -> None:
    config = TrainConfig(optimizer="adam", lr=0.01, steps=100)
    ds, net0 = _setup()
    rotated = train(net0, ds.X, ds.y, config)
    error, scale = _orthogonal_error(rotated, ds.subspace)
    assert error > 1e-3 * scale  # coordinate-wise steps leave P: ~1e-2 relative here
    ds, net0 = _setup(axis_aligned=True)
    aligned = train(net0, ds.X, ds.y, config)
    # The gradient is exactly 0 in the last ell coordinates, so are both moments and Adam's step there.
    assert torch.equal(aligned.net.W[..., D - ELL :], net0.W[..., D - ELL :])
    assert not torch.equal(aligned.net.W, net0.W)


def test_flow_halving_the_step_changes_the_function_by_order_eta() -> None:
    # Exponential Euler is first order: f_eta(t) - f(t) ~ C eta, so successive differences at a fixed time
    # t = 2 shrink by 2 when eta halves (ratio 2 + O(eta)); a zeroth-order bug gives ratio ~1, a
    # second-order integrator ~4. Pi w(t) = e^{-lambda t} Pi w(0) exactly at every step size.
    ds, net0 = _setup()
    lam, time_ = 0.1, 2.0
    probe = make_dataset("gaussian_linear", runs=R, seed=0, d=D, ell=ELL, n=N, n_test=50).X_test
    assert probe is not None
    outputs = []
    for eta in (0.04, 0.02, 0.01):
        steps = round(time_ / eta)
        config = TrainConfig(optimizer="flow", lr=eta, steps=steps, weight_decay=lam)
        result = train(net0, ds.X, ds.y, config)
        assert torch.allclose(
            decay_factor(config, result.steps_taken),
            torch.full((R,), math.exp(-lam * time_), dtype=torch.float64),
        )
        error, scale = _orthogonal_error(result, ds.subspace, config)
        assert error <= INVARIANCE_RTOL * scale
        outputs.append(torch.cat([forward(result.net, ds.X), forward(result.net, probe)], dim=1))
    first, second = (outputs[0] - outputs[1]).norm().item(), (outputs[1] - outputs[2]).norm().item()
    assert 1.6 < first / second < 2.5, (first, second)
    assert second < 1e-2 * outputs[2].norm().item()


def test_divergence_is_flagged_per_run_and_never_touches_the_other_runs() -> None:
    ds, net0 = _setup()
    X = ds.X.clone()
    X[1] *= 1e120  # the same lr is huge for run 1 only
    config = TrainConfig(lr=0.5, steps=50)
    result = train(net0, X, ds.y, config)
    assert result.status == ["max_steps", "diverged", "max_steps", "max_steps"]
    assert 0 <= result.steps_taken[1] < 50
    for W in (result.net.W, result.net.b, result.net.u):
        assert torch.isfinite(W).all()  # restored to the last finite parameters
    # The same batch with run 1 healthy: runs 0 and 2 end bitwise the same. (A batch of another
    # size is not a fair comparison: MKL may pick other kernels for it, which differ at 1e-16.)
    healthy = train(net0, ds.X, ds.y, config)
    assert healthy.status == ["max_steps"] * R
    assert torch.equal(result.net.W[[0, 2]], healthy.net.W[[0, 2]])
    assert torch.equal(result.net.u[[0, 2]], healthy.net.u[[0, 2]])
    # Run 1 holds exactly what it had after its last finite update.
    before = train(net0, X, ds.y, TrainConfig(lr=0.5, steps=int(result.steps_taken[1])))
    assert torch.equal(before.net.W[1], result.net.W[1])


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_non_finite_training_data_is_refused_before_any_step(bad: float) -> None:
    ds, net0 = _setup()
    X = ds.X.clone()
    X[2, 0, 1] = bad
    with pytest.raises(ValueError, match="^X is invalid: expected finite"):
        train(net0, X, ds.y, TrainConfig(steps=5))


def test_a_huge_learning_rate_diverges_every_run_with_finite_parameters() -> None:
    ds, net0 = _setup()
    result = train(net0, ds.X, ds.y, TrainConfig(loss="exponential", lr=1e300, steps=20))
    assert result.status == ["diverged"] * R
    assert torch.isfinite(result.net.W).all() and torch.isfinite(result.net.u).all()


@pytest.mark.parametrize("target", [{"target_margin": 0.5}, {"target_loss": 0.2}])
def test_runs_that_reach_their_target_are_frozen(target: dict) -> None:
    ds, net0 = _setup()
    # The whole batch, to compare bits with whole batches below (compaction: the test after the next).
    config = TrainConfig(lr=0.5, steps=400, compact=False, **target)
    result = train(net0, ds.X, ds.y, config)
    assert set(result.status) == {"converged"}
    taken = result.steps_taken.tolist()
    assert len(set(taken)) > 1  # runs stopped at different steps while the others went on
    if "target_margin" in target:
        assert (result.final_margin >= 0.5).all()
    else:
        assert (result.final_loss <= 0.2).all()
    for r, steps in enumerate(taken):  # frozen at exactly the parameters of step steps_taken
        plain = train(net0, ds.X, ds.y, TrainConfig(lr=0.5, steps=steps))
        assert torch.equal(plain.net.W[r], result.net.W[r]) and torch.equal(plain.net.u[r], result.net.u[r])
        if steps:  # ... and not one step earlier
            early = train(net0, ds.X, ds.y, TrainConfig(lr=0.5, steps=steps - 1))
            met = early.final_margin[r] >= 0.5 if "target_margin" in target else early.final_loss[r] <= 0.2
            assert not met


def test_sgd_is_deterministic_given_its_seed() -> None:
    ds, net0 = _setup()
    config = TrainConfig(optimizer="sgd", lr=0.2, steps=30, batch_size=5, seed=3)
    a, b = train(net0, ds.X, ds.y, config), train(net0, ds.X, ds.y, config)
    assert torch.equal(a.net.W, b.net.W) and torch.equal(a.net.u, b.net.u)
    other = train(net0, ds.X, ds.y, TrainConfig(optimizer="sgd", lr=0.2, steps=30, batch_size=5, seed=4))
    assert not torch.equal(a.net.W, other.net.W)


def test_sgd_steps_are_autograd_steps_on_their_minibatches() -> None:
    # The trainer gathers each minibatch twice, as rows of X and as columns of X^T (the forward product's
    # layout); a mismatch between the two would still train, just wrongly. Reference: the same minibatch
    # order (drawn by Batches from the same seed, rows of X only), autograd, plain SGD. N = 12 points in
    # batches of 5 also exercises the short last batch of an epoch. 1e-12 relative: summation order only.
    ds, net0 = _setup(bias=True, s_b=0.1)
    config = TrainConfig(optimizer="sgd", lr=0.3, steps=9, batch_size=5, seed=2, train_bias=True)
    result = train(net0, ds.X, ds.y, config)
    batches = train_loop.Batches(R, N, 5, torch.Generator().manual_seed(2))
    W, b, u = (t.clone().requires_grad_() for t in (net0.W, net0.b, net0.u))
    for _ in range(config.steps):
        X, y, _ = batches.next(ds.X, ds.y, ds.X.transpose(1, 2).contiguous())
        outputs = (torch.relu(X @ W.transpose(1, 2) + b.unsqueeze(1)) @ u.unsqueeze(2)).squeeze(2)
        loss = torch.nn.functional.softplus(-y * outputs).mean(dim=1).sum()  # runs are independent
        grads = torch.autograd.grad(loss, (W, b, u))
        with torch.no_grad():
            W, b, u = (t - config.lr * g for t, g in zip((W, b, u), grads, strict=True))
        W, b, u = (t.requires_grad_() for t in (W, b, u))
    for got, want in ((result.net.W, W), (result.net.b, b), (result.net.u, u)):
        assert ((got - want).norm() / want.norm()).item() <= 1e-12


def test_sgd_reshuffles_every_epoch_and_visits_each_point_once() -> None:
    # Epochs of n = 12 points in batches of 5 (5, 5, 2): within an epoch every point of every run comes
    # exactly once; each epoch draws a new order, and runs draw different orders.
    ds = _setup()[0]
    index = torch.arange(N, dtype=ds.X.dtype).expand(R, N).unsqueeze(2).contiguous()  # point j carries j
    batches = train_loop.Batches(R, N, 5, torch.Generator().manual_seed(0))
    epochs = []
    for _ in range(4):
        seen = [
            batches.next(index, ds.y, index.transpose(1, 2).contiguous())[0][..., 0].long() for _ in range(3)
        ]
        assert [b.shape[1] for b in seen] == [5, 5, 2]
        order = torch.cat(seen, dim=1)  # (R, N)
        assert torch.equal(order.sort(dim=1).values, torch.arange(N).expand(R, N))
        epochs.append(order)
    assert all(not torch.equal(a, b) for i, a in enumerate(epochs) for b in epochs[i + 1 :])
    assert all(not torch.equal(epochs[0][0], epochs[0][r]) for r in range(1, R))


def test_layers_that_are_not_trained_stay_put() -> None:
    ds, net0 = _setup(bias=True, s_b=0.1)
    fixed = train(net0, ds.X, ds.y, TrainConfig(steps=20, weight_decay=0.1, train_output=False))
    assert torch.equal(fixed.net.u, net0.u) and torch.equal(fixed.net.b, net0.b)
    assert not torch.equal(fixed.net.W, net0.W)
    biased = train(net0, ds.X, ds.y, TrainConfig(steps=20, train_bias=True))
    assert not torch.equal(biased.net.b, net0.b)
    error, scale = _orthogonal_error(biased, ds.subspace)
    assert error <= INVARIANCE_RTOL * scale


def test_training_fits_separable_data_and_records_history() -> None:
    ds, net0 = _setup()
    result = train(net0, ds.X, ds.y, TrainConfig(optimizer="momentum", lr=0.2, steps=300, record_every=100))
    assert (result.train_accuracy == 1).all() and (result.final_margin > 0).all()
    assert result.history["step"] == [0, 100, 200, 300]
    losses = torch.stack(result.history["loss"])
    assert losses.shape == (4, R) and (losses[-1] < losses[0]).all()
    assert result.seconds > 0 and result.net0 is not net0 and torch.equal(result.net0.W, net0.W)


def test_float32_training_works() -> None:
    ds, net0 = _setup()
    result = train(net0.to(dtype=torch.float32), ds.X.float(), ds.y.float(), TrainConfig(lr=0.2, steps=50))
    assert result.net.W.dtype == torch.float32 and result.status == ["max_steps"] * R
    error, scale = _orthogonal_error(result, ds.subspace)
    assert error <= 1e-5 * scale  # the same argument as in float64, with eps = 1.2e-7


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu() -> None:
    ds, net0 = _setup()
    config = TrainConfig(lr=0.2, steps=50)
    cpu = train(net0, ds.X, ds.y, config)
    gpu = train(net0.to(device="cuda"), ds.X.cuda(), ds.y.cuda(), config)
    assert torch.allclose(gpu.net.W.cpu(), cpu.net.W, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        ({"optimizer": "rmsprop"}, "optimizer='rmsprop'.*gd, sgd, momentum, flow, adam"),
        ({"loss": "hinge"}, "loss='hinge'.*logistic"),
        ({"lr": 0.0}, "lr"),
        ({"lr": -1.0}, "lr"),
        ({"lr": math.inf}, "lr"),
        ({"lr": math.nan}, "lr"),
        ({"steps": -1}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"weight_decay": -0.1}, "weight_decay"),
        ({"momentum": 1.0}, "momentum"),
        ({"batch_size": 0, "optimizer": "sgd"}, "batch_size"),
        ({"batch_size": 4}, "batch_size=4.*'gd'"),
        ({"adam_betas": (0.9, 1.0)}, "adam_beta"),
        ({"adam_betas": (0.9,)}, "adam_betas"),
        ({"adam_eps": 0.0}, "adam_eps"),
        ({"target_margin": -1.0}, "target_margin"),
        ({"target_loss": 0.0}, "target_loss"),
        ({"seed": -1}, "seed"),
        ({"record_every": -2}, "record_every"),
        ({"train_output": 1}, "train_output"),
    ],
)
def test_bad_config_raises(fields: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        TrainConfig(**fields)


def test_bad_data_raise() -> None:
    ds, net0 = _setup()
    config = TrainConfig(steps=1)
    with pytest.raises(ParameterError, match="shape"):
        train(net0, ds.X[:, :, :-1], ds.y, config)
    with pytest.raises(ParameterError, match="shape"):
        train(net0, ds.X[:2], ds.y[:2], config)
    with pytest.raises(ParameterError, match="labels"):
        train(net0, ds.X, (ds.y + 1) / 2, config)
    with pytest.raises(ParameterError, match="float32"):
        train(net0, ds.X.float(), ds.y.float(), config)
    with pytest.raises(ParameterError, match="batch_size"):
        train(net0, ds.X, ds.y, TrainConfig(optimizer="sgd", batch_size=N + 1))


def test_every_optimizer_runs() -> None:
    ds, net0 = _setup()
    for optimizer in OPTIMIZERS:
        result = train(net0, ds.X, ds.y, TrainConfig(optimizer=optimizer, lr=0.01, steps=3))
        assert result.status == ["max_steps"] * R and result.steps_taken.tolist() == [3] * R


@pytest.mark.parametrize(
    "config",
    [
        TrainConfig(lr=0.5, steps=60),
        TrainConfig(optimizer="sgd", lr=0.3, steps=60, batch_size=5, weight_decay=0.05),
        TrainConfig(optimizer="flow", lr=0.2, steps=60, weight_decay=0.1, target_margin=0.3),
    ],
)
def test_in_place_weight_update_gives_the_same_bits_as_the_buffered_one(config, monkeypatch) -> None:
    """W is updated in place only when provably nothing is lost; the result must not depend on it."""
    ds, net0 = _setup()
    proven, stays_finite = [], train_loop.Update._stays_finite

    def spy(self, *args):
        proven.append(stays_finite(self, *args))
        return proven[-1]

    monkeypatch.setattr(train_loop.Update, "_stays_finite", spy)
    fast = train(net0, ds.X, ds.y, config)
    assert sum(proven) >= 10  # the in-place path did run
    monkeypatch.setattr(train_loop.Update, "_stays_finite", lambda self, *args: False)
    slow = train(net0, ds.X, ds.y, config)
    assert fast.status == slow.status and torch.equal(fast.steps_taken, slow.steps_taken)
    for name in ("W", "b", "u"):
        assert torch.equal(getattr(fast.net, name), getattr(slow.net, name))
    assert torch.equal(fast.net0.W, net0.W)  # the starting point is never written to


def _staggered(runs: int = 16, seed: int = 5):
    """Runs whose data differ in scale, so that they meet a target at many different steps."""
    ds = make_dataset("gaussian_linear", runs=runs, seed=seed, d=D, ell=ELL, n=N)
    scale = torch.linspace(0.3, 3.0, runs, dtype=torch.float64).view(runs, 1, 1)
    return ds.X * scale, ds.y, initialize(InitConfig(m=M), D, runs, seed=seed + 1)


@pytest.mark.parametrize(
    "config",
    [TrainConfig(lr=0.5, steps=300, target_margin=0.5),
     # 3 runs reach the cap; step 32 is recorded
     TrainConfig(lr=0.5, steps=32, target_margin=0.5, record_every=8),
     TrainConfig(lr=0.5, steps=400, target_loss=0.3, record_every=10),  # every run stops early
     TrainConfig(optimizer="sgd", lr=0.3, steps=300, batch_size=5, weight_decay=0.01, target_margin=0.3,
                 seed=2, record_every=9),
     TrainConfig(optimizer="flow", lr=0.3, steps=300, weight_decay=0.05, target_margin=0.4),
     TrainConfig(optimizer="momentum", lr=0.05, steps=300, target_margin=0.5, train_bias=True),
     TrainConfig(optimizer="adam", lr=0.01, steps=300, target_loss=0.2, batch_size=6, seed=1),
     TrainConfig(loss="exponential", lr=0.5, steps=60)],  # some runs diverge, none has a target
)  # fmt: skip
def test_compacting_the_batch_gives_every_run_its_steps_and_its_floats_to_the_last_bits(
    config, monkeypatch
) -> None:
    """Stopped runs leave the batch; each run's steps and status must be those of the whole batch
    (compact=False), its parameters, outputs and history equal to the last bits (MKL's batched products
    may round a run's sums differently in a batch of another size: 2.5e-16 relative is what it does here),
    and the batch must really have shrunk."""
    X, y, net0 = _staggered()
    if config.loss == "exponential":
        X = X.clone()
        X[::3] *= 1e100  # every third run diverges, at different steps
    sizes, keep = [], train_loop.Update.keep

    def spy(self, index):
        sizes.append(index.numel())
        keep(self, index)

    monkeypatch.setattr(train_loop.Update, "keep", spy)
    compact = train(net0, X, y, config)
    whole = train(net0, X, y, replace(config, compact=False))
    assert len(sizes) >= 2 and sizes[-1] < X.shape[0] // 2, sizes  # compacted several times, to a few runs
    assert len(set(whole.status)) > 1 or len(set(whole.steps_taken.tolist())) > 4
    assert compact.status == whole.status
    assert torch.equal(compact.steps_taken, whole.steps_taken)

    def last_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
        finite = torch.isfinite(b)
        if not torch.equal(finite, torch.isfinite(a)) or not torch.equal(a[~finite], b[~finite]):
            return False
        scale = b[finite].abs().max() if finite.any() else torch.tensor(1.0)
        return bool(((a[finite] - b[finite]).abs() <= 64 * torch.finfo(b.dtype).eps * scale).all())

    for name in ("W", "b", "u"):
        assert last_bits(getattr(compact.net, name), getattr(whole.net, name)), name
    for name in ("final_loss", "final_margin", "train_accuracy"):
        assert last_bits(getattr(compact, name), getattr(whole, name)), name
    assert compact.history.keys() == whole.history.keys()
    for key, values in whole.history.items():
        assert len(compact.history[key]) == len(values)
        for a, b in zip(compact.history[key], values, strict=True):
            assert a == b if key == "step" else last_bits(a, b), key


def test_compaction_keeps_every_tensor_on_the_device() -> None:
    """Under simulated CUDA (tests/cuda_simulation.py) a compacting run, minibatches and history included,
    mixes no CPU tensor into a CUDA operation and gives the CPU's numbers."""
    from tests.cuda_simulation import simulated_cuda

    X, y, net0 = _staggered()
    config = TrainConfig(optimizer="sgd", lr=0.3, steps=60, batch_size=5, target_margin=0.3, record_every=6)
    cpu = train(net0, X, y, config)
    assert len(set(cpu.steps_taken.tolist())) > 4  # runs stopped at many steps: the batch was compacted
    with simulated_cuda():
        cuda = train(net0.to(device="cuda"), X.to("cuda"), y.to("cuda"), config)
        assert cuda.net.W.device.type == "cuda"
    assert cuda.status == cpu.status and torch.equal(cuda.steps_taken, cpu.steps_taken)
    assert torch.equal(cuda.net.W.cpu(), cpu.net.W)
