"""R9: the paper's Figures 2 and 3, reproduced, and the number each picture only suggests.

Figure 2 (7 points on the diagonal of R^2, width 100) and Figure 3 (a 5x5 chessboard at height 0.5 in
R^3, width 400) each compare three trainings: vanilla, a smaller initialization (beta < 1) and weight
decay (lam > 0), each stopped when the training margin min_j y_j N(x_j) reaches TARGET_MARGIN.
In both sets the directions off the data are one line, spanned by a unit normal n ((1, -1)/sqrt 2 for
the diagonal, e3 for the board), so the orthogonal flip radius of a data point x0 is exact:
r_perp(x0) = min(t_+, t_-), the first sign changes of N along x0 + t n and x0 - t n (`flip_along`).
The paper's pictures suggest r_perp is smaller for the vanilla network than for the other two (R7, R8);
the checks test that ordering over R independently seeded networks per setting.

The chessboard at height 0.5 is an affine plane: its points span all of R^3, so the e3 component of the
hidden weights is trained (R1 does not apply) and weight decay no longer shrinks it by exactly c_T.
`R9.affine` measures that, and the restored invariance of the same board at height 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.colors as mcolors
import matplotlib.pyplot as plt
import numpy as np
import torch
from scipy import stats

from numerics.attacks import (
    certified_orthogonal_radius,
    check_sandwich,
    flip_along,
    minimal_l2_attack,
    orthogonal_gradient_flip,
)
from numerics.datasets import make_dataset
from numerics.measure import batch_points, invariance_error
from numerics.model import InitConfig, Network, forward, initialize
from numerics.train import TrainConfig, TrainResult, train
from theory.parameters import validate
from verify import figures
from verify.population import derive_seed
from verify.registry import Context, Outcome, Table, check
from verify.statistics import _MANN_WHITNEY_EXACT_PAIRS, OrderingResult, mann_whitney_greater, split_rate
from verify.tolerance import float64_rounding_budget

SECTION = "R9: the paper's figures"

#: Training stops once min_j y_j N(x_j) >= 0.3: the authors' stopping rule for the diagonal
#: (github.com/odeliamel/off-manifold-robustness, diagonal/train.py, --margin 0.3), used for both figures
#: so the three settings are compared at the same training margin.
TARGET_MARGIN = 0.3
BASELINE = "vanilla"
#: DeepFool steps: on a 1-D complement it lands on the line's nearest breakpoint segment in one step for
#: most points (median 1 in a pilot); the rest chatter between two pieces, where more steps buy nothing.
DEEPFOOL_STEPS = 10
# Colours of the paper's figures: red for label +1, blue for label -1.
_LABEL_COLOURS = {1.0: "#d62728", -1.0: "#1f3fbf"}
_REGION_COLOURS = mcolors.ListedColormap(["#dbe4f7", "#f7dcdc"])  # N < 0, N > 0


@dataclass(frozen=True)
class FigureSpec:
    """One of the paper's figures: the data set, the width and the three training settings."""

    name: str  # "figure2" | "figure3"
    dataset: str  # a numerics.datasets name
    m: int  # width
    lr: float  # GD step eta, shared by the three settings
    beta: float  # small-initialization multiplier of the hidden layer (W and b)
    lam: float  # weight decay of the regularized setting (all parameters, coupled)
    max_steps: int  # step budget; a run that has not reached TARGET_MARGIN by then is reported as such
    normal: tuple[float, ...]  # unit normal n of the data line / plane: the orthogonal direction
    runs: dict[str, int]  # networks per setting, per profile


# lam: the largest value of a coarse pilot grid (8-16 networks; diagonal {1e-3, 3e-3, 5e-3, 1e-2}, board
# {3e-4, 1e-3}) at which GD on every parameter (as the authors' optim.SGD(weight_decay=...)) still reached
# the target margin; at 1e-2 / 1e-3 the margin stays below 0.3 within 15-30k steps. beta = 0.1.
# eta: the board oscillates without converging at eta = 1.5, so 1 is near the largest usable step.
# max_steps: a batch runs until its slowest run stops; on the board ~1 run in 100 stalls (one of 64 went past
# 10k steps, the rest stopped by 4.2k), so 5k keeps standard within budget; such runs are reported, not dropped.
# Runs: the one-sided Mann-Whitney test at the suite's per-check rate (5.6e-5 at the default family rate,
# halved: 2.8e-5) confirms only past `critical_effect`, e.g. P(A > B) >= 0.62 at R = 192, 0.70 at 64, 0.79
# at 32. The weight-decay effect is the weak one: in pilots P(r_wd > r_vanilla) was 0.65-0.85 on the
# diagonal (hence R = 192: cheap, m = 100, n = 7) and 0.83 on the board at two seeds (R = 32 on quick, whose
# GD runs need 2-4k steps at m = 400, ~20 s on two cores; 64 on standard).
# Pilots used seed 0, which is also the check's default seed, so the choice was re-validated afterwards
# on seeds 1 and 2 (`python -m verify run R9 --seed S`, standard): every test passes, with effects P(A > B)
# small init / weight decay vs vanilla of 0.947/0.718 (seed 0), 0.945/0.727 (1), 0.950/0.722 (2) on the
# diagonal and 0.922/0.808, 0.977/0.838, 0.924/0.848 on the board.
FIGURE2 = FigureSpec(
    "figure2",
    "diagonal",
    m=100,
    lr=0.3,
    beta=0.1,
    lam=5e-3,
    max_steps=20_000,
    normal=(1 / math.sqrt(2), -1 / math.sqrt(2)),
    runs={"quick": 192, "standard": 384, "full": 768},
)
FIGURE3 = FigureSpec(
    "figure3",
    "chessboard",
    m=400,
    lr=1.0,
    beta=0.1,
    lam=3e-4,
    max_steps=5_000,
    normal=(0.0, 0.0, 1.0),
    runs={"quick": 32, "standard": 64, "full": 128},
)


@dataclass(frozen=True)
class Setting:
    """One panel of a figure: how its networks are initialized and trained."""

    key: str  # "vanilla" | "small_init" | "weight_decay"
    title: str
    init: InitConfig
    config: TrainConfig


def settings(spec: FigureSpec, d: int) -> tuple[Setting, ...]:
    """The paper's three settings for a figure on R^d.

    The bias is initialized as one more hidden weight on a constant input, b_i ~ N(0, (s_w beta)^2/d), so
    the small initialization scales the whole hidden layer by beta (the output layer stays standard).
    """
    validate(d=d)

    def init(beta: float) -> InitConfig:
        return InitConfig(m=spec.m, beta=beta, bias=True, s_b=beta / math.sqrt(d))

    def config(lam: float) -> TrainConfig:
        return TrainConfig(
            optimizer="gd",
            loss="logistic",
            lr=spec.lr,
            steps=spec.max_steps,
            weight_decay=lam,
            train_bias=True,
            target_margin=TARGET_MARGIN,
        )

    return (
        Setting(BASELINE, "vanilla", init(1.0), config(0.0)),
        Setting("small_init", f"small init, beta={spec.beta:g}", init(spec.beta), config(0.0)),
        Setting("weight_decay", f"weight decay, lam={spec.lam:g}", init(1.0), config(spec.lam)),
    )


# --- exact radii ------------------------------------------------------------------------------------------


def normal_flip_radius(
    net: Network, X0: torch.Tensor, normal: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact orthogonal flip radius when P^perp is the line spanned by the unit vector n.

    r_perp(x0) = min(t_+, t_-) with t_+- the first sign change of N(x0 +- t n), t > 0 (`flip_along`
    walks the activation breakpoints, so both are exact). Every orthogonal perturbation is t n, t real,
    so nothing orthogonal shorter than r_perp flips the label.

    Args:
        net: R networks on R^d.
        X0: points (R, p, d) or (p, d).
        normal: the unit normal n, shape (d,).
    Returns:
        (radius (R, p): inf where neither direction flips, side (R, p): +1 where the nearest flip is
        along +n, -1 along -n).
    """
    X0 = batch_points(net, X0)
    V = normal.to(X0).expand_as(X0).contiguous()
    up, down = flip_along(net, X0, V).norm, flip_along(net, X0, -V).norm
    return torch.minimum(up, down), torch.where(up <= down, 1.0, -1.0).to(X0)


def per_network_median(radius: np.ndarray) -> np.ndarray:
    """Median of r_perp over the training points of each network: (R, p) -> (R,); inf where most are inf."""
    return np.median(np.asarray(radius, dtype=np.float64), axis=1)


def _capped(samples: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Replace inf ("no orthogonal flip at all") by one value above every finite sample.

    The tests below use ranks only, so any common value above all finite radii gives the same verdict as
    treating inf as the largest radius (two infs tie, as they should).
    """
    finite = np.concatenate([s[np.isfinite(s)] for s in samples.values()] + [np.array([1.0])])
    cap = 2.0 * float(np.max(np.abs(finite))) + 1.0
    return {k: np.where(np.isposinf(s), cap, s) for k, s in samples.items()}


def radius_ordering(
    medians: dict[str, np.ndarray], *, alpha: float, baseline: str = BASELINE
) -> dict[str, OrderingResult]:
    """One-sided Mann-Whitney tests of "r_perp(setting) > r_perp(baseline)" on per-network medians.

    The check's rate `alpha` is split (Bonferroni) over the comparisons, one per non-baseline setting.
    Networks are independently seeded across and within settings, so the samples are independent.

    Args:
        medians: setting key -> per-network median radii (R_setting,), inf allowed (no flip).
        alpha: false-fail rate of the whole comparison.
        baseline: the setting predicted to have the smallest radius.
    Returns:
        setting key -> OrderingResult; the prediction holds iff every one confirms its ordering.
    """
    others = [k for k in medians if k != baseline]
    share = split_rate(alpha, len(others))
    capped = _capped(medians)
    return {
        k: mann_whitney_greater(capped[k], capped[baseline], alpha=share, name=f"r_perp {k} > {baseline}")
        for k in others
    }


def critical_effect(n_a: int, n_b: int, alpha: float) -> float:
    """Smallest estimated P(A > B) = U/(n_a n_b) at which the one-sided Mann-Whitney test (no ties; exact
    law up to 1e4 pairs, normal approximation above, as `mann_whitney_greater`) reaches p < alpha;
    1 + 1/(n_a n_b) if even complete separation cannot (too few samples).

    A small pure helper for the report's "what the samples could detect" sentence: U = k is realized by
    samples where k of the n_a n_b pairs have a > b, and its p-value is read from scipy.
    """
    validate(runs=n_a, R=n_b, false_fail_rate=alpha)
    b = np.arange(n_b, dtype=np.float64)
    total = n_a * n_b
    method = "exact" if total <= _MANN_WHITNEY_EXACT_PAIRS else "asymptotic"  # as mann_whitney_greater

    def p_value(k: int) -> float:
        # a_j sits just above c_j of the b's (sum c_j = k); the jitter keeps values distinct.
        counts = np.minimum(np.maximum(k - n_b * np.arange(n_a), 0), n_b)
        a = counts - 0.5 + 1e-6 * np.arange(n_a)
        return float(stats.mannwhitneyu(a, b, alternative="greater", method=method).pvalue)

    if p_value(total) >= alpha:
        return 1.0 + 1.0 / total
    low, high = -1, total  # p is decreasing in k: p(low) >= alpha > p(high)
    while high - low > 1:
        mid = (low + high) // 2
        if p_value(mid) < alpha:
            high = mid
        else:
            low = mid
    return high / total


# --- one trained figure -------------------------------------------------------------------------------------


@dataclass
class SettingRun:
    """R trained networks of one setting and the radii at every training point (numpy, (R, n))."""

    setting: Setting
    result: TrainResult
    X: torch.Tensor  # (R, n, d) training points (identical across runs)
    y: torch.Tensor  # (R, n)
    ok: np.ndarray  # (R,) not diverged
    radius: np.ndarray  # exact r_perp
    side: np.ndarray  # +1 / -1: direction of the nearest flip along n
    gradient_flip: np.ndarray  # exact flip along -sign(N) Pi grad N (R5)
    deepfool: np.ndarray  # minimal_l2_attack within range(Pi)
    certified: np.ndarray  # |N(x0)| / L with L = sum |u_i| ||Pi w_i|| (R6)

    @property
    def medians(self) -> np.ndarray:
        return per_network_median(self.radius[self.ok])

    @property
    def representative(self) -> int:
        """The run whose median radius is the (lower) median over the setting's runs."""
        index = np.flatnonzero(self.ok)
        med = per_network_median(self.radius[index])
        return int(index[np.argsort(med, kind="stable")[(len(med) - 1) // 2]])


def _measure(
    setting: Setting, result: TrainResult, X: torch.Tensor, y: torch.Tensor, normal: torch.Tensor
) -> SettingRun:
    net = result.net
    perp = torch.outer(normal, normal)  # Pi = n n^T: the orthogonal complement is the line of n

    def np_(t: torch.Tensor) -> np.ndarray:
        return t.detach().cpu().numpy()

    radius, side = normal_flip_radius(net, X, normal)
    grad = orthogonal_gradient_flip(net, X, perp).norm
    fool = minimal_l2_attack(net, X, perp, max_iter=DEEPFOOL_STEPS).norm
    cert = certified_orthogonal_radius(net, X, perp)
    # R6's sandwich on every point: a violation raises (a bug in one of the routes, never a statistic).
    check_sandwich(cert, radius)
    check_sandwich(radius, grad)
    check_sandwich(radius, fool)
    ok = np.array([s != "diverged" for s in result.status])
    return SettingRun(setting, result, X, y, ok, np_(radius), np_(side), np_(grad), np_(fool), np_(cert))


#: Trained figures by (figure, profile, seed, device): each is trained once per run of the suite.
_TRAINED: dict[tuple[str, str, int, str], tuple[SettingRun, ...]] = {}


def figure_runs(ctx: Context, spec: FigureSpec) -> tuple[SettingRun, ...]:
    """The three trained and measured settings of a figure (trained once per profile, seed and device)."""
    key = (spec.name, ctx.profile, ctx.seed, ctx.device)
    if key not in _TRAINED:
        runs = spec.runs[ctx.profile]
        data = make_dataset(
            spec.dataset, runs=runs, seed=derive_seed(ctx.seed, "R9", spec.name, "data"), device=ctx.device
        )
        normal = torch.tensor(spec.normal, dtype=data.X.dtype, device=ctx.device)
        out = []
        for setting in ctx.progress(settings(spec, data.d), desc=f"R9.{spec.name}", total=3):
            # Independent initial draws per setting, so the two samples of each test are independent.
            seed = derive_seed(ctx.seed, "R9", spec.name, setting.key)
            net0 = initialize(setting.init, data.d, runs, seed=seed, device=ctx.device)
            result = train(net0, data.X, data.y, setting.config)
            out.append(_measure(setting, result, data.X, data.y, normal))
        _TRAINED[key] = tuple(out)
    return _TRAINED[key]


# --- pictures -------------------------------------------------------------------------------------------


def _scatter_labels(ax, points: np.ndarray, labels: np.ndarray, **kwargs) -> None:
    for label, colour in _LABEL_COLOURS.items():
        sel = labels == label
        ax.scatter(*points[sel].T, c=colour, s=22, edgecolors="black", linewidths=0.4, zorder=5, **kwargs)


def _grid_values(net: Network, points: np.ndarray) -> np.ndarray:
    """N at a (G, d) array of points for a single network."""
    X = torch.as_tensor(points, dtype=net.W.dtype, device=net.W.device).unsqueeze(0)
    return forward(net, X)[0].cpu().numpy()


def _boundary_panel(
    ax,
    net: Network,
    run: SettingRun,
    r: int,
    grid: tuple[np.ndarray, np.ndarray],
    axes_of: tuple[int, int],
    fixed: dict[int, float],
    rows: np.ndarray,
    normal: np.ndarray,
) -> None:
    """Sign regions and N = 0 of one network on a 2-D slice, the points of the slice, and their nearest
    orthogonal flips (a segment from x0 to x0 + side r_perp n)."""
    A, B = grid
    d = run.X.shape[-1]
    pts = np.zeros((A.size, d))
    pts[:, axes_of[0]], pts[:, axes_of[1]] = A.ravel(), B.ravel()
    for axis, value in fixed.items():
        pts[:, axis] = value
    Z = _grid_values(net, pts).reshape(A.shape)
    ax.contourf(A, B, np.sign(Z), levels=[-2, 0, 2], cmap=_REGION_COLOURS)
    ax.contour(A, B, Z, levels=[0.0], colors="dimgray", linewidths=1.3)
    X = run.X[r].cpu().numpy()[rows]
    y = run.y[r].cpu().numpy()[rows]
    radius, side = run.radius[r][rows], run.side[r][rows]
    for x0, t, s in zip(X, radius, side, strict=True):
        if np.isfinite(t):
            end = x0 + s * t * normal
            ax.plot(
                [x0[axes_of[0]], end[axes_of[0]]], [x0[axes_of[1]], end[axes_of[1]]], color="black", lw=0.9
            )
            ax.plot(end[axes_of[0]], end[axes_of[1]], "x", color="black", ms=4)
    _scatter_labels(ax, X[:, list(axes_of)], y)
    ax.set_xlim(A.min(), A.max())
    ax.set_ylim(B.min(), B.max())


def _radii_panel(ax, runs: tuple[SettingRun, ...]) -> None:
    """Per-network median r_perp of every setting (the sample each test uses), log scale; inf drawn at top."""
    capped = _capped({run.setting.key: run.medians for run in runs})
    for j, run in enumerate(runs):
        values, none = capped[run.setting.key], np.isposinf(run.medians)
        x = j + (np.linspace(-0.15, 0.15, len(values)) if len(values) > 1 else np.zeros(1))
        dots = ax.scatter(x[~none], values[~none], s=12, alpha=0.8)
        ax.scatter(
            x[none],
            values[none],
            s=22,
            marker="^",
            color=dots.get_facecolor(),
            label="no flip (inf)" if j == 0 else None,
        )
        ax.hlines(np.median(values), j - 0.3, j + 0.3, color="black", lw=1.5)
    if any(np.isposinf(run.medians).any() for run in runs):
        ax.legend(fontsize=7, loc="upper right")
    ax.set_yscale("log")
    ax.set_xticks(range(len(runs)), [run.setting.key.replace("_", "\n") for run in runs])
    ax.set_ylabel("per-network median r_perp")
    ax.set_title("orthogonal flip radius")


def _panel_title(letter: str, run: SettingRun, r: int) -> str:
    res = run.result
    return (
        f"({letter}) {run.setting.title}\nT={int(res.steps_taken[r])}, margin {float(res.final_margin[r]):.2f}, "
        f"median r_perp {np.median(run.radius[r]):.3g}"
    )


def _figure2_picture(ctx: Context, runs: tuple[SettingRun, ...]) -> str:
    fig, axes = figures.new(4, 1, width=3.7, height=3.7)
    side = np.linspace(-1.5, 1.5, 241)
    grid = np.meshgrid(side, side)
    normal = np.array(FIGURE2.normal)
    for j, run in enumerate(runs):
        r = run.representative
        ax = axes[0, j]
        _boundary_panel(
            ax, run.result.net.select([r]), run, r, grid, (0, 1), {}, np.arange(run.X.shape[1]), normal
        )
        ax.plot([-1.5, 1.5], [-1.5, 1.5], ls="--", color="gray", lw=0.7)  # the data line P
        ax.set_aspect("equal")
        ax.set_title(_panel_title("abc"[j], run, r), fontsize=8)
    _radii_panel(axes[0, 3], runs)
    return figures.save(fig, ctx.figure_path("R9_figure2.png"))


def _stacked_contours(ax3, net: Network, side: np.ndarray, levels: np.ndarray) -> None:
    """The decision boundary N = 0 in the box [0, 1]^3 drawn as its contours on horizontal slices x3 = z,
    each at its height and coloured by it (how the authors render the surface, chess/views.py)."""
    A, B = np.meshgrid(side, side)
    cmap, norm = plt.get_cmap("jet"), mcolors.Normalize(vmin=0.15, vmax=0.85)
    for z in levels:
        pts = np.stack([A.ravel(), B.ravel(), np.full(A.size, z)], axis=1)
        Z = _grid_values(net, pts).reshape(A.shape)
        if Z.min() < 0 < Z.max():
            ax3.contour(
                A, B, Z, levels=[0.0], zdir="z", offset=z, colors=[cmap(norm(z))], linewidths=1.2, alpha=0.7
            )


def _figure3_picture(ctx: Context, runs: tuple[SettingRun, ...], height: float) -> str:
    fig, axes = figures.new(4, 2, width=3.6, height=3.5)
    gs = axes[0, 0].get_gridspec()
    for ax in (axes[0, 3], axes[1, 3]):
        ax.remove()
    _radii_panel(fig.add_subplot(gs[:, 3]), runs)
    sheet_side, levels = np.linspace(0, 1, 51), np.linspace(0.025, 0.975, 20)
    slice_grid = np.meshgrid(np.linspace(-0.1, 1.1, 181), np.linspace(0, 1, 151))
    normal = np.array(FIGURE3.normal)
    for j, run in enumerate(runs):
        r = run.representative
        net = run.result.net.select([r])
        axes[0, j].remove()
        ax3 = fig.add_subplot(gs[0, j], projection="3d")
        _stacked_contours(ax3, net, sheet_side, levels)
        X, y = run.X[r].cpu().numpy(), run.y[r].cpu().numpy()
        for label, colour in _LABEL_COLOURS.items():
            sel = y == label
            ax3.scatter(*X[sel].T, c=colour, s=14, depthshade=False)
        ax3.set_xlim(0, 1)
        ax3.set_ylim(0, 1)
        ax3.set_zlim(0, 1)
        ax3.view_init(elev=30, azim=60)  # the authors' view (chess/views.py)
        ax3.set_title(_panel_title("abc"[j], run, r), fontsize=8)
        # Cross-section through the board's middle row x2 = 0.5, along the normal x3.
        ax = axes[1, j]
        row = np.flatnonzero(np.isclose(X[:, 1], 0.5))
        _boundary_panel(ax, net, run, r, slice_grid, (0, 2), {1: 0.5}, row, normal)
        ax.axhline(height, ls="--", color="gray", lw=0.7)  # the board
        ax.set_xlabel("x1 (x2 = 0.5)")
        ax.set_ylabel("x3")
        ax.set_title("cross-section: sign of N", fontsize=8)
    return figures.save(fig, ctx.figure_path("R9_figure3.png"))


# --- the figure checks ---------------------------------------------------------------------------------


def _ordering_outcome(
    ctx: Context,
    spec: FigureSpec,
    runs: tuple[SettingRun, ...],
    picture: str,
    extra_notes: str,
    decay_meaningful: bool,
) -> Outcome:
    tests = radius_ordering({run.setting.key: run.medians for run in runs}, alpha=ctx.false_fail_rate)
    passed = all(t.confirms_ordering for t in tests.values())
    n_base = int(runs[0].ok.sum())
    crit = {k: critical_effect(t.n_a, t.n_b, t.alpha) for k, t in tests.items()}
    train_rows, radius_rows = [], []
    for run in runs:
        res, s = run.result, run.setting
        steps = res.steps_taken.numpy()
        reached = sum(st == "converged" for st in res.status)
        c_T = f"{float(res.decay_factor.median()):.3g}" if decay_meaningful else "n/a (affine)"
        train_rows.append(
            (
                s.key,
                f"{s.init.beta:g}",
                f"{s.config.weight_decay:g}",
                s.config.lr,
                len(steps),
                f"{reached}/{len(steps)}",
                f"{int(np.median(steps))} [{steps.min()}-{steps.max()}]",
                f"{float(res.final_margin.median()):.3f}",
                f"{float(res.train_accuracy.mean()):.3f}",
                c_T,
            )
        )
        ok = run.ok
        finite = np.isfinite(run.radius[ok])
        radius_rows.append(
            (
                s.key,
                f"{np.median(run.radius[ok]):.4g}",
                f"{np.median(run.medians):.4g}",
                f"{np.median(run.certified[ok]):.4g}",
                f"{np.median(run.gradient_flip[ok]):.4g}",
                f"{np.median(run.deepfool[ok]):.4g}",
                f"{1 - finite.mean():.3f}",
                f"{np.max(run.certified[ok][finite] / run.radius[ok][finite]):.3f}" if finite.any() else "-",
            )
        )
    measured = "; ".join(f"{r[0]}: median r_perp {r[1]}" for r in radius_rows)
    detect = "; ".join(
        f"{k}: confirms only if the estimated P(r_{k} > r_vanilla) >= {c:.3f}" for k, c in crit.items()
    )
    return Outcome(
        passed=passed,
        predicted="r_perp(small init) > r_perp(vanilla) and r_perp(weight decay) > r_perp(vanilla) "
        "(per-network median radius, stochastically larger)",
        measured=measured,
        statistic="; ".join(t.summary() for t in tests.values()),
        notes=(
            f"**Training.** {spec.dataset} set, width m={spec.m}, full-batch GD on the logistic loss, eta={spec.lr}, "
            f"biases trained, stopped at training margin >= {TARGET_MARGIN} (the authors' rule) or after "
            f"{spec.max_steps} steps. Vanilla: w_i ~ N(0, I/d), b_i ~ N(0, 1/d), u_i = +-1/sqrt(m). Small init: "
            f"W and b scaled by beta={spec.beta}. Weight decay: coupled, lam={spec.lam} on every parameter. "
            f"{spec.runs[ctx.profile]} independently seeded networks per setting ({ctx.profile} profile; "
            f"{', '.join(f'{p} {n}' for p, n in spec.runs.items())}). "
            f"**Radii.** r_perp is exact: the smaller first flip along +-n, n = {tuple(round(v, 4) for v in spec.normal)} "
            "(flip_along walks the activation breakpoints). The gradient flip (R5) and DeepFool within range(Pi) "
            "are upper bounds and the certificate |N(x0)|/L (R6, Pi = n n^T) a lower bound; the sandwich "
            "certificate <= r_perp <= both attacks is asserted on every point (a violation raises). "
            f"**Test** (stated before running): per network, the median of r_perp over the {runs[0].X.shape[1]} "
            "training points (points of one network are dependent, networks are not); a one-sided Mann-Whitney "
            "test per non-vanilla setting against vanilla at half the check's rate each (Bonferroni). A network "
            "with no flip at all (inf) ranks above every finite radius. The test and its statistic were fixed "
            "before any run; beta, lam, eta and the network counts come from pilots of the training margin and "
            f"of the effect sizes (module comment). With {n_base} networks per setting: {detect}. "
            "Panels show the network of median radius in each setting; segments mark each point's nearest "
            f"orthogonal flip. {extra_notes}"
        ),
        tables=[
            Table(
                "Training (per setting)",
                (
                    "setting",
                    "beta",
                    "lam",
                    "eta",
                    "networks",
                    "reached margin",
                    "steps median [min-max]",
                    "median final margin",
                    "train acc",
                    "median c_T",
                ),
                tuple(train_rows),
            ),
            Table(
                "Orthogonal radii at the training points",
                (
                    "setting",
                    "median r_perp (all points)",
                    "median of per-network medians",
                    "median certified |N|/L",
                    "median gradient flip",
                    "median DeepFool(Pi)",
                    "fraction without flip",
                    "max certified/r_perp",
                ),
                tuple(radius_rows),
            ),
        ],
        figures=[picture],
        details={
            "tests": {k: t.as_dict() for k, t in tests.items()},
            # "inf" as text: strict JSON has no infinity.
            "medians": {
                run.setting.key: [v if math.isfinite(v) else "inf" for v in run.medians.tolist()]
                for run in runs
            },
            "steps": {run.setting.key: run.result.steps_taken.tolist() for run in runs},
            "critical_effect": crit,
        },
    )


@check(
    "R9.figure2",
    claim="Figure 2: the orthogonal flip radius of the diagonal points is smallest for the vanilla network",
    result="R9",
    statistical=True,
    section=SECTION,
)
def figure2(ctx: Context) -> Outcome:
    runs = figure_runs(ctx, FIGURE2)
    picture = _figure2_picture(ctx, runs)
    c_T = float(runs[2].result.decay_factor.median())
    return _ordering_outcome(
        ctx,
        FIGURE2,
        runs,
        picture,
        decay_meaningful=True,
        extra_notes="P = span{(1, 1)} is linear, so c_T = (1 - eta*lam)^T is the exact shrink factor of "
        f"Pi w_i under weight decay (R1, R8); at the target margin it is only {c_T:.2f} "
        "(median), against 0.1 for the small initialization's scale of Pi w_i(0), consistent with the weaker "
        "weight-decay ordering.",
    )


@check(
    "R9.figure3",
    claim="Figure 3: on the chessboard at height 0.5 the vanilla network's radius along e3 is "
    "the smallest (the paper: a smaller effect)",
    result="R9",
    statistical=True,
    section=SECTION,
)
def figure3(ctx: Context) -> Outcome:
    runs = figure_runs(ctx, FIGURE3)
    height = float(runs[0].X[0, 0, 2])
    picture = _figure3_picture(ctx, runs, height)
    return _ordering_outcome(
        ctx,
        FIGURE3,
        runs,
        picture,
        decay_meaningful=False,
        extra_notes="The board is affine (height 0.5), so the e3 component of w_i is trained like a bias "
        "(R9.affine) and c_T does not describe it. Top panels: the decision boundary N = 0 in the box "
        "[0, 1]^3, drawn as its contours on horizontal slices coloured by height (as in the paper); "
        "bottom panels: the sign of N on the cross-section x2 = 0.5 through the board's middle row.",
    )


# --- the chessboard explained ------------------------------------------------------------------------------

AFFINE_SIZES = {
    "quick": dict(runs=4, steps=500),
    "standard": dict(runs=16, steps=2000),
    "full": dict(runs=32, steps=5000),
}


@dataclass(frozen=True)
class BoardInvariance:
    """R1's defect along e3 for one board height."""

    dataset: str
    height: float
    relative_error: float  # max over runs of max_i |<w_i(T) - w_i(0), e3>| / max_i ||w_i||
    budget: float  # float64 rounding budget of T steps (relative)
    steps: int


def board_invariance(ctx: Context, dataset: str) -> BoardInvariance:
    """Train the vanilla Figure-3 setting for a fixed T (no target, no decay) and measure the e3 motion.

    The budget is the forward-error bound gamma_N with N = T (n + d), as in R1: each step forms a gradient
    from n points and applies it in d coordinates, and errors can add over T steps.
    """
    s = ctx.size(AFFINE_SIZES)
    data = make_dataset(
        dataset, runs=s["runs"], seed=derive_seed(ctx.seed, "R9", "affine", "data"), device=ctx.device
    )
    vanilla = settings(FIGURE3, data.d)[0]
    config = TrainConfig(optimizer="gd", lr=FIGURE3.lr, steps=s["steps"], train_bias=True)
    # The same initial networks on both boards: only the height differs.
    net0 = initialize(
        vanilla.init, data.d, s["runs"], seed=derive_seed(ctx.seed, "R9", "affine", "init"), device=ctx.device
    )
    res = train(net0, data.X, data.y, config)
    e3 = torch.zeros(data.d, dtype=data.X.dtype, device=ctx.device)
    e3[-1] = 1.0
    scale = torch.maximum(res.net.W.norm(dim=-1).amax(dim=-1), net0.W.norm(dim=-1).amax(dim=-1))
    rel = (invariance_error(res.net, res.net0, torch.outer(e3, e3)) / scale).max().item()
    budget = float64_rounding_budget(s["steps"] * (data.n + data.d))
    return BoardInvariance(dataset, float(data.X[0, 0, -1]), rel, budget, s["steps"])


@check(
    "R9.affine",
    claim="the board at height 0.5 spans R^3, so training moves w_i along e3 (R1 does not "
    "apply); at height 0 the e3 components stay fixed",
    result="R9",
    statistical=False,
    section=SECTION,
)
def affine(ctx: Context) -> Outcome:
    lifted, flat = (
        board_invariance(ctx, name)
        for name in ctx.progress(("chessboard", "chessboard_flat"), desc="R9.affine", total=2)
    )
    moved = lifted.relative_error > lifted.budget
    kept = flat.relative_error <= flat.budget
    rows = tuple(
        (
            b.dataset,
            b.height,
            b.steps,
            f"{b.relative_error:.3e}",
            f"{b.budget:.1e}",
            f"{b.relative_error / b.budget:.3g}",
            pred,
        )
        for b, pred in ((lifted, "> budget (moves)"), (flat, "<= budget (invariant)"))
    )
    return Outcome(
        passed=moved and kept,
        predicted="height 0.5: max_i |<w_i(T) - w_i(0), e3>| / max_i ||w_i|| above the rounding budget; "
        "height 0: within it",
        measured=f"height 0.5: {lifted.relative_error:.3g}; height 0: {flat.relative_error:.3g}",
        statistic=f"lifted/budget = {lifted.relative_error / lifted.budget:.3g} (pass iff > 1), "
        f"flat/budget = {flat.relative_error / flat.budget:.3g} (pass iff <= 1)",
        notes="Derivation: dL/dw_i is a combination of the training points x_j. At height 0 every x_j has x3 = 0, "
        "so no update has an e3 component (R1 with P = span{e1, e2}). At height 0.5 every x_j has "
        "x3 = 0.5: the data span R^3, the e3 weight acts as a second bias (<w_i, x> = <w_i', x'> + 0.5 w_i3) "
        "and is trained, so the mechanism of R1/R8 (Pi w_i frozen at its initial value, or shrunk by exactly "
        "c_T) does not operate on this board; consistent with the smaller effect the paper reports. Vanilla "
        f"Figure-3 networks (m={FIGURE3.m}, eta={FIGURE3.lr}, biases trained), the same initial draws on "
        f"both boards, T fixed, no weight decay; sizes {AFFINE_SIZES[ctx.profile]}. The budget is the "
        "worst-case float64 forward-error bound gamma_N, N = T (n + d), as in R1.",
        tables=[
            Table(
                "Motion of the hidden weights along e3 (relative to max_i ||w_i||)",
                (
                    "data set",
                    "height",
                    "T",
                    "relative e3 motion",
                    "rounding budget",
                    "motion/budget",
                    "predicted",
                ),
                rows,
            )
        ],
        details={"lifted": lifted.__dict__, "flat": flat.__dict__},
    )
