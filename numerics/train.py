"""Batched training of R two-layer ReLU networks by GD, SGD, heavy-ball momentum, gradient flow or Adam.

Shapes: R runs, n points, m neurons, d inputs. X (R, n, d), y (R, n), W (R, m, d), b (R, m), u (R, m);
per-run flags and counters (R,). All R runs advance together in one set of tensors (bmm); a run that
meets its target is frozen, and a run whose parameters or outputs stop being finite is frozen with its
last finite parameters and status "diverged", so no run ever affects another. Stopped runs leave the
batch (`compact`) once they are an eighth of it, so a step costs what the runs still training cost: a
population whose runs mostly meet their target early pays for a straggler's steps, not for R of them.
Every kernel works run by run, so a run's steps and status are those of the whole batch; its floats agree
to the last bits only, since MKL's batched products (and vectorized exp/sigmoid on a batch's last few
elements) may round a run's sums differently in a batch of another size (tests/numerics/test_train.py).

Objective: L(theta) + (lambda/2) ||theta||^2 with coupled weight decay (every update uses
grad + lambda theta) on W, b and, if decay_output, u. Every update of GD/SGD/momentum/flow is a
combination of loss gradients (in P) and theta itself, so the theory (R1, theory.results) predicts
Pi w_i(T) = c_T Pi w_i(0); the trainer only trains, and the factor it applied is read off the weights
(verify.checks.helpers.invariance_rule), never computed here.
"flow" integrates gradient flow by exponential Euler: theta <- e^{-lambda eta} theta
- (1 - e^{-lambda eta})/lambda grad, exact for the decay term, first order in eta for the rest.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch

from numerics.gradients import LossGradients, Workspace, loss_and_gradients
from numerics.losses import LOSSES, empirical_loss
from numerics.model import Network, forward
from theory.parameters import ParameterError, choice, validate

__all__ = ["OPTIMIZERS", "train", "TrainConfig", "TrainResult"]

OPTIMIZERS: tuple[str, ...] = ("gd", "sgd", "momentum", "flow", "adam")
_FULL_BATCH_ONLY = ("gd", "flow")


@dataclass(frozen=True)
class TrainConfig:
    """How every run of a batch is trained (all validated on construction)."""

    optimizer: str = "gd"  # gd | sgd | momentum | flow | adam
    loss: str = "logistic"  # logistic | exponential | squared
    lr: float = 0.1  # step size eta (flow: integration step)
    steps: int = 1000  # maximal number of steps T
    weight_decay: float = 0.0  # lambda; coupled: the update uses grad + lambda*theta
    decay_output: bool = True  # decay both layers (True) or the first layer (W and b) only
    train_output: bool = True  # False: u stays at its initial value
    train_bias: bool = False  # True: b is trained too (for networks built with InitConfig(bias=True))
    batch_size: int | None = None  # minibatch size for sgd/momentum/adam (None = full batch)
    momentum: float = 0.9  # heavy-ball coefficient mu
    adam_betas: tuple[float, float] = (0.9, 0.999)  # Adam's moment decay rates
    adam_eps: float = 1e-8  # Adam's denominator offset
    target_margin: float | None = None  # stop a run once min_j y_j N(x_j) >= this
    target_loss: float | None = None  # stop a run once its loss <= this (either target stops it)
    seed: int = 0  # minibatch order
    record_every: int = 0  # 0: no history; else record loss/margin every k steps
    compact: bool = True  # drop stopped runs from the batch (a step costs only the runs still training)

    def __post_init__(self) -> None:
        choice("optimizer", self.optimizer, OPTIMIZERS)
        choice("loss", self.loss, LOSSES)
        validate(lr=self.lr, steps=self.steps, weight_decay=self.weight_decay, batch_size=self.batch_size,
                 momentum=self.momentum, adam_eps=self.adam_eps, target_margin=self.target_margin,
                 target_loss=self.target_loss, seed=self.seed, record_every=self.record_every)  # fmt: skip
        for name in ("decay_output", "train_output", "train_bias", "compact"):
            if not isinstance(getattr(self, name), bool):
                raise ParameterError(f"{name}={getattr(self, name)!r} is invalid: expected True or False")
        if not (isinstance(self.adam_betas, tuple) and len(self.adam_betas) == 2):
            raise ParameterError(f"adam_betas={self.adam_betas!r} is invalid: expected a pair (beta1, beta2)")
        for beta in self.adam_betas:
            validate(adam_beta=beta)
        if self.batch_size is not None and self.optimizer in _FULL_BATCH_ONLY:
            raise ParameterError(
                f"batch_size={self.batch_size!r} is invalid for optimizer {self.optimizer!r}: expected None"
            )


@dataclass
class TrainResult:
    """Trained networks, their starting point, and per-run outcomes (all (R,) tensors on the CPU)."""

    net: Network  # trained parameters
    net0: Network  # initial parameters (a clone; kept so Pi w(0) can be compared)
    status: list[str]  # per run: "converged" | "max_steps" | "diverged"
    steps_taken: torch.Tensor  # (R,) int64 updates applied
    final_loss: torch.Tensor  # (R,) L(theta(T)) without the decay term
    final_margin: torch.Tensor  # (R,) min_j y_j N(x_j)
    train_accuracy: torch.Tensor  # (R,) fraction of j with y_j N(x_j) > 0
    history: dict[str, list] = field(default_factory=dict)  # "step": [t], "loss"/"margin": [(R,) tensors]
    seconds: float = 0.0  # wall-clock time of the loop


def train(net0: Network, X: torch.Tensor, y: torch.Tensor, config: TrainConfig) -> TrainResult:
    """Train the R networks of `net0` on their own data (X (R, n, d), y (R, n) in {-1, +1}) for T steps.

    Each step computes one forward pass, the hand-written gradients (numerics.gradients), and the update
    of `config.optimizer` for all runs still training; see the module docstring for the update rules and c_T.
    """
    X, y = _check_data(net0, X, y, config)
    R, n, d = X.shape
    X_all, y_all = X, y
    # Seeding: the minibatch order is the only randomness of training.
    batches = _Batches(R, n, config.batch_size, torch.Generator(device="cpu").manual_seed(config.seed))
    X_T = X.transpose(1, 2).contiguous()  # (R, d, n): the forward product's fast layout (numerics.gradients)
    add_bias = config.train_bias or bool(net0.b.any())  # an untrained b never changes
    start = time.perf_counter()
    net, spare = net0.clone(), net0.clone()  # current parameters, and the buffer the next ones go into
    update = _Update(config, net)
    ws = Workspace()
    active = torch.ones(R, dtype=torch.bool, device=X.device)
    converged, diverged = torch.zeros_like(active), torch.zeros_like(active)
    steps_taken = torch.zeros(R, dtype=torch.int64, device=X.device)
    # The runs that have left the batch (config.compact): their final state, at their rows of net0.
    stopped = _Stopped(net0, n, loss=config.loss, record=bool(config.record_every))
    rows = torch.arange(R, device=X.device)  # the batch's runs, as rows of net0
    history: dict[str, list] = {"step": [], "loss": [], "margin": []} if config.record_every else {}
    targets = config.target_margin is not None or config.target_loss is not None
    for t in range(config.steps + 1):
        last, outputs = t == config.steps, None
        Xb, yb, Xb_T = batches.next(X, y, X_T)
        # The last step needs no gradient: only the stopping rules' (and the result's) outputs.
        grads = None if last else loss_and_gradients(
            net, Xb, yb, config.loss, bias=config.train_bias, output=config.train_output,
            weights=not update.fused, workspace=ws, X_T=Xb_T, add_bias=add_bias,
        )  # fmt: skip
        full = grads if grads is not None and batches.full else None  # gradients that saw all of X
        if full is not None or last or _checkpoint(t, config):  # divergence, stopping rules, history
            outputs = full.outputs if full is not None else forward(net, X)
            diverged |= active & ~torch.isfinite(outputs).all(dim=1)
            recording = bool(config.record_every and t % config.record_every == 0)
            if targets or recording:
                loss = None  # the loss (a few transcendental passes) only when a rule or the history reads it
                if config.target_loss is not None or recording:
                    loss = full.loss if full is not None else empirical_loss(config.loss, outputs, y)
                margin = (y * outputs).amin(dim=1)
                converged |= active & ~diverged & _reached(loss, margin, config)
                if recording and loss is not None:
                    loss, margin = stopped.recorded(
                        rows, loss, margin, via_forward=full is None, X=X_all, y=y_all
                    )
                    for key, value in (("step", t), ("loss", loss.cpu()), ("margin", margin.cpu())):
                        history[key].append(value)
            active &= ~(converged | diverged)
        if grads is None or not bool(active.any()):  # the last step, or every run has stopped
            break
        # spare <- next parameters. An in-place update has already proven every run active and finite.
        if not update(net, grads, spare, Xb, all_active=bool(active.all())):
            finite = _finite_runs(spare)
            diverged |= active & ~finite
            active &= finite
            _keep_frozen(spare, net, active)  # frozen and diverged runs keep their (last finite) parameters
        net, spare = spare, net
        steps_taken += active
        if config.compact and _worth_compacting(active):
            keep, out = active.nonzero().squeeze(1), (~active).nonzero().squeeze(1)
            stopped.add(rows[out], net.select(out), converged[out], diverged[out], steps_taken[out],
                        None if outputs is None else outputs[out], via_forward=full is None,
                        X=X[out], y=y[out])  # fmt: skip
            rows, net, spare = rows[keep], net.select(keep), spare.select(keep)
            X, y, X_T = X[keep], y[keep], X_T[keep]
            active, converged, diverged, steps_taken = (
                v[keep] for v in (active, converged, diverged, steps_taken)
            )
            update.keep(keep)
            batches.keep(keep)
            ws = Workspace()  # the large buffers of the larger batch are freed
    seconds = time.perf_counter() - start
    if outputs is None:  # the loop stopped early, on a step that did not look at all of X
        outputs = forward(net, X)
    net, outputs, converged, diverged, steps_taken = stopped.merge(
        rows, net, outputs, converged, diverged, steps_taken, via_forward=full is None, X=X_all, y=y_all
    )
    margins = y_all * outputs
    status = [_status(cv, dv) for cv, dv in zip(converged.tolist(), diverged.tolist(), strict=True)]
    return TrainResult(
        net=net,
        net0=net0.clone(),
        status=status,
        steps_taken=steps_taken.cpu(),
        final_loss=empirical_loss(config.loss, outputs, y_all).cpu().to(torch.float64),
        final_margin=margins.amin(dim=1).cpu().to(torch.float64),
        train_accuracy=(margins > 0).to(torch.float64).mean(dim=1).cpu(),
        history=history,
        seconds=seconds,
    )


# --- pieces of the loop ---------------------------------------------------------------------------------


class _Update:
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


class _Batches:
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


class _Stopped:
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


def _worth_compacting(active: torch.Tensor) -> bool:
    """Whether the stopped runs are an eighth of the batch (and some still train). Compacting costs about a
    step, and a batch at least 7/8 active wastes at most an eighth of one: at most log_{8/7} R compactions."""
    stopped = int((~active).sum())
    return 0 < stopped < active.numel() and 8 * stopped >= active.numel()


def _status(converged: bool, diverged: bool) -> str:
    return "diverged" if diverged else "converged" if converged else "max_steps"


def _checkpoint(t: int, config: TrainConfig) -> bool:
    """Whether step t needs the full-batch loss and margins (minibatch training only)."""
    targets = config.target_margin is not None or config.target_loss is not None
    return targets or t == config.steps or bool(config.record_every and t % config.record_every == 0)


def _reached(loss: torch.Tensor | None, margin: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    reached = torch.zeros_like(margin, dtype=torch.bool)
    if config.target_margin is not None:
        reached |= margin >= config.target_margin
    if config.target_loss is not None and loss is not None:
        reached |= loss <= config.target_loss
    return reached


def _finite_runs(net: Network) -> torch.Tensor:
    """(R,) True where every parameter is finite. A sum is non-finite iff an entry is (or the entries
    overflow together, which we count as divergence too); it costs one read, no (R, m, d) mask."""
    R = net.runs
    return torch.isfinite(net.W.reshape(R, -1).sum(1) + net.b.sum(1) + net.u.sum(1))


def _keep_frozen(new: Network, old: Network, active: torch.Tensor) -> None:
    """new[r] = old[r] for every run r that is not active."""
    if bool(active.all()):
        return
    frozen = ~active
    for k in ("W", "b", "u"):
        getattr(new, k)[frozen] = getattr(old, k)[frozen]


def _check_data(net0: Network, X: torch.Tensor, y: torch.Tensor, config: TrainConfig):
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
