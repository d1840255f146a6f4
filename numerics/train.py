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

import time
from dataclasses import dataclass, field

import torch

from numerics.gradients import Workspace, loss_and_gradients
from numerics.losses import LOSSES, empirical_loss
from numerics.model import Network, forward
from numerics.train_loop import (
    Batches,
    Stopped,
    Update,
    at_checkpoint,
    check_data,
    finite_runs,
    keep_frozen,
    reached,
    run_status,
    worth_compacting,
)
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
    X, y = check_data(net0, X, y, config)
    R, n, d = X.shape
    X_all, y_all = X, y
    # Seeding: the minibatch order is the only randomness of training.
    batches = Batches(R, n, config.batch_size, torch.Generator(device="cpu").manual_seed(config.seed))
    X_T = X.transpose(1, 2).contiguous()  # (R, d, n): the forward product's fast layout (numerics.gradients)
    add_bias = config.train_bias or bool(net0.b.any())  # an untrained b never changes
    start = time.perf_counter()
    net, spare = net0.clone(), net0.clone()  # current parameters, and the buffer the next ones go into
    update = Update(config, net)
    ws = Workspace()
    active = torch.ones(R, dtype=torch.bool, device=X.device)
    converged, diverged = torch.zeros_like(active), torch.zeros_like(active)
    steps_taken = torch.zeros(R, dtype=torch.int64, device=X.device)
    # The runs that have left the batch (config.compact): their final state, at their rows of net0.
    stopped = Stopped(net0, n, loss=config.loss, record=bool(config.record_every))
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
        if full is not None or last or at_checkpoint(t, config):  # divergence, stopping rules, history
            outputs = full.outputs if full is not None else forward(net, X)
            diverged |= active & ~torch.isfinite(outputs).all(dim=1)
            recording = bool(config.record_every and t % config.record_every == 0)
            if targets or recording:
                loss = None  # the loss (a few transcendental passes) only when a rule or the history reads it
                if config.target_loss is not None or recording:
                    loss = full.loss if full is not None else empirical_loss(config.loss, outputs, y)
                margin = (y * outputs).amin(dim=1)
                converged |= active & ~diverged & reached(loss, margin, config)
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
            finite = finite_runs(spare)
            diverged |= active & ~finite
            active &= finite
            keep_frozen(spare, net, active)  # frozen and diverged runs keep their (last finite) parameters
        net, spare = spare, net
        steps_taken += active
        if config.compact and worth_compacting(active):
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
    status = [run_status(cv, dv) for cv, dv in zip(converged.tolist(), diverged.tolist(), strict=True)]
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
