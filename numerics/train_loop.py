"""The pieces of `numerics.train.train`'s loop: the optimizer's update written in place, the minibatch
order, the bookkeeping of stopped runs and the batch's compaction, and the checks on the data and on
finiteness. Shapes and the objective as in `numerics.train`."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch

from numerics.gradients import LossGradients
from numerics.losses import empirical_loss
from numerics.model import Network, forward
from theory.parameters import ParameterError, validate

if TYPE_CHECKING:
    from numerics.train import TrainConfig

__all__ = [
    "at_checkpoint",
    "Batches",
    "check_data",
    "finite_runs",
    "keep_frozen",
    "reached",
    "run_status",
    "Stopped",
    "Update",
    "worth_compacting",
]


class Update:
    """theta_next = update(theta, grad + lambda theta) for the configured optimizer, written into `out`."""

    def __init__(self, config: TrainConfig, net: Network) -> None:
        self.config = config
        self.names = ["W"] + (["b"] if config.train_bias else []) + (["u"] if config.train_output else [])
        lam = config.weight_decay
        self.lam = {"W": lam, "b": lam, "u": lam if config.decay_output else 0.0}
        if config.optimizer == "flow":  # exponential Euler: exact on the linear decay term
            self.decay = {k: math.exp(-v * config.lr) for k, v in self.lam.items()}
            self.step = {k: -math.expm1(-v * config.lr) / v if v else config.lr for k, v in self.lam.items()}
        else:  # gd/sgd: theta - eta (grad + lambda theta) = (1 - eta lambda) theta - eta grad
            self.decay = {k: 1 - config.lr * v for k, v in self.lam.items()}
            self.step = {k: config.lr for k in self.lam}
        # gd/sgd/flow never form dL/dW: its update is fused into the backward matmul (about a third of
        # the memory traffic of a large step). Momentum and Adam need the gradient itself.
        self.fused = config.optimizer in ("gd", "sgd", "flow")
        # Optimizer state: momentum's velocity, Adam's two moments; gd/sgd/flow keep none (a zero-filled
        # (R, m, d) buffer is a page-faulting pass over the largest tensor, for nothing).
        buffers = {"momentum": 1, "adam": 2}.get(config.optimizer, 0)
        self.state = {k: [torch.zeros_like(getattr(net, k)) for _ in range(buffers)] for k in self.names}
        self.t = 0
        self.w_bound: torch.Tensor | None = None  # (R,) >= max |W| per run, kept while W is updated in place
        self._x_max: tuple[torch.Tensor, torch.Tensor] | None = None  # (X, max_k |x_jk| (R, n)) of the last X

    def __call__(
        self, net: Network, grads: LossGradients, out: Network, X: torch.Tensor, *, all_active: bool = False
    ) -> bool:
        """Write the next parameters into `out`; True if W was updated in place (out.W and net.W swapped)."""
        self.t += 1
        for k in self.names[1:] if self.fused else self.names:
            self._small_update(k, net, grads, out)
        if not self.fused:
            return False
        # W: decay W - step dh^T X inside the backward product itself. In place when nothing can be lost:
        # every run is active (no frozen run to keep), b and u stayed finite, and W provably stays finite,
        # so no run can need its previous W back. Out of place, torch first copies W into `out`: an extra
        # pass over the largest tensor. Both give the same bits (tests/numerics/test_train.py).
        args = (grads.dh_T, X)
        if all_active and self._finite_small(out) and self._stays_finite(net, grads, X):
            net.W.baddbmm_(*args, beta=self.decay["W"], alpha=-self.step["W"])
            out.W, net.W = net.W, out.W
            return True
        self.w_bound = None
        torch.baddbmm(net.W, *args, beta=self.decay["W"], alpha=-self.step["W"], out=out.W)
        return False

    def keep(self, index: torch.Tensor) -> None:
        """Keep the optimizer state of the runs at `index` only (the batch was compacted to them)."""
        self.state = {k: [s[index] for s in states] for k, states in self.state.items()}
        if self.w_bound is not None:
            self.w_bound = self.w_bound[index]
        self._x_max = None

    def _finite_small(self, out: Network) -> bool:
        return all(bool(torch.isfinite(getattr(out, k)).all()) for k in self.names[1:])

    def _stays_finite(self, net: Network, grads: LossGradients, X: torch.Tensor) -> bool:
        """Whether every entry of decay W - step dh^T X is certainly finite, from the bound
        |.| <= |decay| max|W| + step max|u| sum_j |c_j| max_k |x_jk| (|dh_ji| = |c_j u_i| 1[h_ji > 0]),
        tracked across steps so W itself is never re-read."""
        if self.w_bound is None:
            self.w_bound = torch.linalg.vector_norm(net.W.flatten(1), ord=math.inf, dim=1)
        if self._x_max is None or self._x_max[0] is not X:
            self._x_max = (X, torch.linalg.vector_norm(X, ord=math.inf, dim=2))
        u_max = torch.linalg.vector_norm(net.u, ord=math.inf, dim=1)
        step = u_max * (grads.dN.abs() * self._x_max[1]).sum(dim=1)
        bound = abs(self.decay["W"]) * self.w_bound + self.step["W"] * step
        # Below overflow by 1e8 per entry, and by the entry count too: the buffered path's finiteness test
        # sums W, and a sum that overflows counts as divergence there; both paths must agree.
        limit = torch.finfo(bound.dtype).max * 1e-8 / net.W[0].numel()
        if not bool((bound < limit).all()):  # also False for NaN
            return False
        self.w_bound = bound
        return True

    def _small_update(self, k: str, net: Network, grads: LossGradients, out: Network) -> None:
        """out.k <- the update of parameter k (every parameter but a fused W)."""
        c = self.config
        theta, grad, new = getattr(net, k), getattr(grads, k), getattr(out, k)
        if c.optimizer in ("gd", "sgd", "flow"):
            if self.decay[k] == 1:  # one pass instead of two: the common no-decay case
                torch.add(theta, grad, alpha=-self.step[k], out=new)
            else:
                torch.mul(theta, self.decay[k], out=new).add_(grad, alpha=-self.step[k])
            return
        if self.lam[k]:
            grad.add_(theta, alpha=self.lam[k])  # the gradient buffers are ours to overwrite
        if c.optimizer == "momentum":
            velocity = self.state[k][0].mul_(c.momentum).add_(grad)
            torch.add(theta, velocity, alpha=-c.lr, out=new)
        else:  # adam, bias-corrected, coordinate-wise
            (b1, b2), (m1, m2) = c.adam_betas, self.state[k]
            m1.mul_(b1).add_(grad, alpha=1 - b1)
            m2.mul_(b2).addcmul_(grad, grad, value=1 - b2)
            denom = torch.sqrt(m2, out=new).div_(math.sqrt(1 - b2**self.t)).add_(c.adam_eps)
            torch.addcdiv(theta, m1, denom, value=-c.lr / (1 - b1**self.t), out=new)


class Batches:
    """Per-run minibatches: each epoch visits every point once in a fresh order per run (seeded on the
    CPU); the last batch of an epoch is smaller when batch_size does not divide n."""

    def __init__(self, R: int, n: int, batch_size: int | None, gen: torch.Generator) -> None:
        self.R, self.n, self.size, self.gen = R, n, batch_size or n, gen
        self.full = batch_size is None or batch_size == n
        self.order: torch.Tensor | None = None
        self.pos = n
        self.rows: torch.Tensor | None = None  # the batch's runs among the R drawn (None: all of them)

    def keep(self, index: torch.Tensor) -> None:
        """Serve the runs at `index` of the current batch only. The orders are still drawn for all R runs,
        so every run sees the same minibatches as it would in the whole batch."""
        if self.full:
            return
        self.rows = index if self.rows is None else self.rows[index]
        if self.order is not None:
            self.order = self.order[index]

    def next(
        self, X: torch.Tensor, y: torch.Tensor, X_T: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The next minibatch of every run: points (R, b, d), labels (R, b) and the points transposed
        (R, d, b), gathered from X_T so that they are contiguous too."""
        if self.full:
            return X, y, X_T
        if self.pos >= self.n:
            self.order = torch.argsort(torch.rand(self.R, self.n, generator=self.gen), dim=1).to(X.device)
            if self.rows is not None:
                self.order = self.order[self.rows]
            self.pos = 0
        assert self.order is not None
        index = self.order[:, self.pos : self.pos + self.size]
        self.pos += self.size
        Xb = X.gather(1, index.unsqueeze(2).expand(-1, -1, X.shape[2]))
        return Xb, y.gather(1, index), X_T.gather(2, index.unsqueeze(1).expand(-1, X.shape[2], -1))


class Stopped:
    """The runs that have left the batch, at their rows of net0: final parameters, flags and step counts,
    and their outputs at those parameters with the route that computed them (the gradient pass or
    `forward`). The whole batch would compute a frozen run's outputs again at every check, by the route of
    that step; a stored value is reused where the routes agree and recomputed where they do not (the last
    step of full-batch training), so the results are computed as the whole batch computes them."""

    def __init__(self, net0: Network, n: int, *, loss: str, record: bool) -> None:
        self.net0, self.n, self.loss_name, self.record = net0, n, loss, record
        self.any = False

    def _allocate(self) -> None:
        net0, R = self.net0, self.net0.runs
        self.net = Network(*(torch.empty_like(getattr(net0, k)) for k in ("W", "b", "u")))
        self.outputs = torch.empty(R, self.n, dtype=net0.W.dtype, device=net0.W.device)
        self.via_forward = torch.zeros(R, dtype=torch.bool, device=net0.W.device)
        self.done = torch.zeros_like(self.via_forward)
        self.converged, self.diverged = torch.zeros_like(self.done), torch.zeros_like(self.done)
        self.steps = torch.zeros(R, dtype=torch.int64, device=net0.W.device)
        self.loss = torch.empty(R, dtype=net0.W.dtype, device=net0.W.device)
        self.margin = torch.empty_like(self.loss)
        self.any = True

    def add(self, rows, net, converged, diverged, steps, outputs, *, via_forward, X, y) -> None:
        """Store the runs at `rows` (their parameters `net`, flags, steps, and outputs or None)."""
        if not self.any:
            self._allocate()
        if outputs is None:
            outputs, via_forward = forward(net, X), True
        for k in ("W", "b", "u"):
            getattr(self.net, k)[rows] = getattr(net, k)
        self.converged[rows], self.diverged[rows], self.steps[rows] = converged, diverged, steps
        self._set_outputs(rows, outputs, via_forward, y)
        self.done[rows] = True

    def _set_outputs(self, rows, outputs, via_forward, y) -> None:
        self.outputs[rows], self.via_forward[rows] = outputs, via_forward
        if self.record:
            self.loss[rows] = empirical_loss(self.loss_name, outputs, y)
            self.margin[rows] = (y * outputs).amin(dim=1)

    def _refresh(self, via_forward: bool, X: torch.Tensor, y: torch.Tensor) -> None:
        """Recompute by `forward` the stored outputs that the gradient pass computed, when this step's
        route is `forward` (the gradient pass only ever runs on the whole data, before the last step)."""
        stale = (self.done & (self.via_forward != via_forward)).nonzero().squeeze(1)
        if stale.numel() == 0:
            return
        assert via_forward, "a stored run's outputs came from forward, but this step's from the gradient pass"
        self._set_outputs(stale, forward(self.net.select(stale), X[stale]), True, y[stale])

    def recorded(self, rows, loss, margin, *, via_forward, X, y) -> tuple[torch.Tensor, torch.Tensor]:
        """The history's (R,) loss and margin: the batch's at `rows`, the stopped runs' elsewhere."""
        if not self.any:
            return loss, margin
        self._refresh(via_forward, X, y)
        full_loss, full_margin = self.loss.clone(), self.margin.clone()
        full_loss[rows], full_margin[rows] = loss, margin
        return full_loss, full_margin

    def merge(self, rows, net, outputs, converged, diverged, steps, *, via_forward, X, y):
        """The whole batch again: parameters, outputs (R, n), flags and steps of every run of net0."""
        if not self.any:
            return net, outputs, converged, diverged, steps
        self._refresh(via_forward, X, y)
        for k in ("W", "b", "u"):
            getattr(self.net, k)[rows] = getattr(net, k)
        self.outputs[rows] = outputs
        self.converged[rows], self.diverged[rows], self.steps[rows] = converged, diverged, steps
        return self.net, self.outputs, self.converged, self.diverged, self.steps


def worth_compacting(active: torch.Tensor) -> bool:
    """Whether the stopped runs are an eighth of the batch (and some still train). Compacting costs about a
    step, and a batch at least 7/8 active wastes at most an eighth of one: at most log_{8/7} R compactions."""
    stopped = int((~active).sum())
    return 0 < stopped < active.numel() and 8 * stopped >= active.numel()


def run_status(converged: bool, diverged: bool) -> str:
    return "diverged" if diverged else "converged" if converged else "max_steps"


def at_checkpoint(t: int, config: TrainConfig) -> bool:
    """Whether step t needs the full-batch loss and margins (minibatch training only)."""
    targets = config.target_margin is not None or config.target_loss is not None
    return targets or t == config.steps or bool(config.record_every and t % config.record_every == 0)


def reached(loss: torch.Tensor | None, margin: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    reached = torch.zeros_like(margin, dtype=torch.bool)
    if config.target_margin is not None:
        reached |= margin >= config.target_margin
    if config.target_loss is not None and loss is not None:
        reached |= loss <= config.target_loss
    return reached


def finite_runs(net: Network) -> torch.Tensor:
    """(R,) True where every parameter is finite. A sum is non-finite iff an entry is (or the entries
    overflow together, which we count as divergence too); it costs one read, no (R, m, d) mask."""
    R = net.runs
    return torch.isfinite(net.W.reshape(R, -1).sum(1) + net.b.sum(1) + net.u.sum(1))


def keep_frozen(new: Network, old: Network, active: torch.Tensor) -> None:
    """new[r] = old[r] for every run r that is not active."""
    if bool(active.all()):
        return
    frozen = ~active
    for k in ("W", "b", "u"):
        getattr(new, k)[frozen] = getattr(old, k)[frozen]


def check_data(net0: Network, X: torch.Tensor, y: torch.Tensor, config: TrainConfig):
    """Validate the data against the networks: X (R, n, d), y (R, n) in {-1, +1}, same dtype/device."""
    R, m, d = net0.W.shape
    if X.ndim != 3 or X.shape[0] != R or X.shape[2] != d or y.shape != X.shape[:2]:
        raise ParameterError(
            f"X of shape {tuple(X.shape)} and y of shape {tuple(y.shape)} are invalid: expected (R, n, d) "
            f"and (R, n) with R={R}, d={d}"
        )
    if X.dtype != net0.W.dtype or y.dtype != X.dtype or X.device != net0.W.device or y.device != X.device:
        raise ParameterError(
            f"X ({X.dtype}, {X.device}) and y ({y.dtype}, {y.device}) are invalid: expected the networks' "
            f"{net0.W.dtype} on {net0.W.device}"
        )
    if not bool(torch.isfinite(X).all()):
        raise ParameterError("X is invalid: expected finite training points (it holds NaN or infinity)")
    if not bool(((y == 1) | (y == -1)).all()):
        raise ParameterError("y is invalid: expected labels in {-1, +1}")
    validate(n=X.shape[1])
    if config.batch_size is not None and config.batch_size > X.shape[1]:
        raise ParameterError(f"batch_size={config.batch_size!r} is invalid: expected <= n={X.shape[1]}")
    return X, y
