"""R8: weight decay shrinks the orthogonal weights by exactly c_T = (1 - eta*lam)^T.

Exact checks: along a regularized GD run, ||Pi W(t)||_F = c_t ||Pi W(0)||_F at every recorded t, the
orthogonal gradient equals c_T sum_{i in I} u_i(T) Pi w_i(0), and the orthogonal Lipschitz constant
equals c_T sum_i |u_i(T)| ||Pi w_i(0)||. As T grows, c_T -> 0, so N(x0 + z) - N(x0) -> 0 for every
orthogonal z: the regularized network becomes constant along P^perp (stationary points have Pi w_i = 0).
"""

from __future__ import annotations

import numpy as np
import torch

from numerics.datasets import make_dataset
from numerics.measure import (
    active_set,
    orthogonal_gradient,
    orthogonal_lipschitz,
    orthogonal_weight_norm,
    output_variation_along,
)
from numerics.model import InitConfig, initialize
from numerics.train import TrainConfig, train
from theory.results import get as result
from verify import figures
from verify.checks.invariance import invariance_budget
from verify.population import derive_seed
from verify.registry import Context, Outcome, Table, check
from verify.tolerance import compare

SECTION = "R8: weight decay"

SIZES = {
    "quick": dict(runs=32, d=60, ell=40, m=64, n=40, segments=8, steps=250),
    "standard": dict(runs=128, d=100, ell=70, m=100, n=50, segments=10, steps=500),
    "full": dict(runs=512, d=200, ell=150, m=256, n=100, segments=20, steps=1000),
}
ETA, LAM = 0.1, 0.005


@check(
    "R8.shrinkage",
    claim="GD with weight decay shrinks Pi W, g and L by exactly c_T = (1 - eta*lam)^T",
    result="R8",
    statistical=False,
    section=SECTION,
)
def shrinkage(ctx: Context) -> Outcome:
    s = ctx.size(SIZES)
    seed = derive_seed(ctx.seed, "R8")
    data = make_dataset(
        "gaussian_linear", runs=s["runs"], seed=seed, d=s["d"], ell=s["ell"], n=s["n"] + 1, device=ctx.device
    )
    X, y, X0 = data.X[:, :-1], data.y[:, :-1], data.X[:, -1:]
    assert data.subspace is not None
    perp = data.subspace.perp_projector()
    net0 = initialize(InitConfig(m=s["m"]), s["d"], s["runs"], seed=seed + 1, device=ctx.device)
    cfg = TrainConfig(optimizer="gd", lr=ETA, weight_decay=LAM, steps=s["steps"])
    PiW0 = orthogonal_weight_norm(net0, perp)
    net, t, curve = net0, 0, [(0, 1.0, 1.0, 0.0)]
    for _ in ctx.progress(range(s["segments"]), desc="R8"):
        net = train(net, X, y, cfg).net  # continuing from the last segment: c factors multiply
        t += s["steps"]
        c_t = float(result("R8").predict({"eta": str(ETA), "lam": str(LAM), "T": t}, digits=20)["decay_gd"])
        ratio = orthogonal_weight_norm(net, perp) / PiW0
        curve.append((t, c_t, ratio.mean().item(), (ratio - c_t).abs().max().item()))
    c_T = curve[-1][1]
    budget = invariance_budget(t, s["n"], s["d"])
    weights = compare(
        np.array([r[2] for r in curve]),
        np.array([r[1] for r in curve]),
        rtol=budget,
        what="||Pi W(t)|| / ||Pi W(0)|| = c_t",
    )
    # g and L predicted from the initial orthogonal weights and the trained output layer.
    act = active_set(net, X0)
    Pi_W0 = net0.W @ perp
    g_pred = c_T * torch.einsum("rpm,rm,rmd->rpd", act.mask.to(X0.dtype), net.u, Pi_W0)
    g = compare(
        orthogonal_gradient(net, X0, perp).cpu().numpy(),
        g_pred.cpu().numpy(),
        rtol=budget,
        atol=budget * g_pred.abs().max().item(),
        what="g = c_T sum_I u_i Pi w_i(0)",
    )
    L_pred = c_T * (net.u.abs() * Pi_W0.norm(dim=-1)).sum(-1)
    L = compare(
        orthogonal_lipschitz(net, perp).cpu().numpy(),
        L_pred.cpu().numpy(),
        rtol=budget,
        what="L = c_T sum |u_i| ||Pi w_i(0)||",
    )
    # Output along random orthogonal directions of norm ||x0||: bounded by L ||z||, and shrinking with c_T.
    gen = torch.Generator().manual_seed(seed + 2)
    Z = torch.randn(X0.shape, generator=gen, dtype=X0.dtype).to(X0.device) @ perp
    Z = Z / Z.norm(dim=-1, keepdim=True) * X0.norm(dim=-1, keepdim=True)
    var = output_variation_along(net, X0, Z).abs()[:, 0]
    var_bound = orthogonal_lipschitz(net, perp) * Z.norm(dim=-1)[:, 0]
    within = bool((var <= var_bound * (1 + 1e-9)).all())
    fig, ax = figures.new()
    ts = [r[0] for r in curve]
    ax[0, 0].plot(ts, [r[1] for r in curve], "k-", label="(1 - eta*lam)^t (theory)")
    ax[0, 0].plot(ts, [r[2] for r in curve], "o", label="measured ||Pi W(t)||/||Pi W(0)||")
    ax[0, 0].set_yscale("log")
    ax[0, 0].set_xlabel("GD step t")
    ax[0, 0].legend(fontsize=7)
    ax[0, 0].set_title(f"eta={ETA}, lam={LAM}")
    name = figures.save(fig, ctx.figure_path("R8_shrinkage.png"))
    return Outcome(
        passed=weights.passed and g.passed and L.passed and within,
        predicted=f"||Pi W(T)||/||Pi W(0)|| = c_T = {c_T:.6g} at T={t}; g, L scaled by c_T",
        measured=f"ratio {curve[-1][2]:.12g}; max |N(x0+z)-N(x0)| = {var.max().item():.3g} for ||z|| = ||x0||",
        statistic=f"max abs err: ratio {weights.max_abs_error:.1e}, g {g.max_abs_error:.1e}, L {L.max_abs_error:.1e} "
        f"(budget rtol {budget:.1e}); |N(x0+z)-N(x0)| <= L||z|| on every network: {within}",
        notes=f"Rounding budget {budget:.1e} (forward-error bound over T (n + d) operations). The output along "
        "random orthogonal directions is bounded by L ||z|| on every network (checked) and shrinks with "
        "c_T: long regularized training makes the network constant orthogonally to the data, as at the "
        "stationary points of the regularized objective, where Pi w_i = 0.",
        tables=[
            Table(
                "Shrinkage of the orthogonal weights",
                ("step t", "c_t (theory)", "mean measured ratio", "max |ratio - c_t|"),
                tuple((r[0], f"{r[1]:.10g}", f"{r[2]:.10g}", f"{r[3]:.1e}") for r in curve),
            )
        ],
        figures=[name],
        details={
            "weights": weights.as_dict(),
            "g": g.as_dict(),
            "L": L.as_dict(),
            "summaries": [weights.summary(), g.summary(), L.summary()],
        },
    )
