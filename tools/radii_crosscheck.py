"""Measure the flip radii of the R5/R6 populations: our attack against Foolbox, and the certificates.

For every population of the suite's R5/R6 checks (the same recipe: "gaussian_linear" data with n = 40
points in a random subspace P of codimension ell, d = 10 + ell, standard initialization, full-batch GD
with lr 0.2 on the logistic loss, output layer trained, one held-out x0 in P per network, networks that
diverged or have no active neuron at x0 left out), it prints:

- the wall time of `numerics.minimal_flip.minimal_flip` (the best-of attack within P^perp) on the whole
  population, and of `numerics.certificates.certificates`;
- on a subsample, our radius over the better of Foolbox's L2 DDN and FMN (1000 steps each, on
  z -> [0, N(x0 + B z)] with large finite bounds, each polished by `numerics.attacks.flip_along` along
  its direction): median, 1st and 99th percentile, maximum, and how many exceed 1.01;
- certified / attack radius for the old certificate |N(x0)|/L and for the new one (median, 1st percentile).

With --exact it also solves the exact radius (`numerics.exact_radius`, SCIP) on small trained networks and
prints exact/attack and certified/exact. Reproduce the report's numbers with

    python tools/radii_crosscheck.py --profile both --exact
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
import zlib

import torch

from numerics.attacks import certified_orthogonal_radius, check_sandwich, flip_along
from numerics.certificates import certificates
from numerics.datasets import make_dataset
from numerics.minimal_flip import minimal_flip
from numerics.model import InitConfig, Network, forward, initialize, preactivations
from numerics.subspace import Subspace
from numerics.train import TrainConfig, train

#: The R5/R6 populations of the suite's profiles (verify/checks/r5_flip.py SIZES).
PROFILES = {
    "quick": dict(runs=200, r=10, ells=[10, 40], m=64, steps=200),
    "standard": dict(runs=600, r=10, ells=[10, 30, 90, 270], m=100, steps=400),
}
#: The small networks of the exact-radius study (tests/numerics/test_exact_radius.py).
EXACT_CONFIGS = [(8, 2, 6), (10, 3, 8), (11, 4, 10), (12, 5, 12), (14, 6, 14)]


def derive_seed(master: int, *parts: object) -> int:
    """The suite's seed derivation for one experiment (verify.experiments.derive_seed)."""
    return zlib.crc32(repr((master, *parts)).encode()) & 0x7FFFFFFF


def population(
    runs: int, d: int, ell: int, m: int, steps: int, seed: int
) -> tuple[Network, torch.Tensor, Subspace]:
    """Trained networks, their held-out points (R, 1, d) and P, by the R5/R6 recipe (module docstring)."""
    n = 40
    data = make_dataset("gaussian_linear", runs=runs, seed=seed, d=d, ell=ell, n=n + 1)
    assert data.subspace is not None
    result = train(initialize(InitConfig(m=m), d, runs, seed=seed + 1), data.X[:, :n], data.y[:, :n],
                   TrainConfig(lr=0.2, steps=steps))  # fmt: skip
    X0 = data.X[:, n:]
    keep = (
        torch.tensor([s != "diverged" for s in result.status])
        & (preactivations(result.net, X0) > 0).any(-1)[:, 0]
    )
    return result.net.select(keep), X0[keep], data.subspace


def foolbox_radii(net: Network, X0: torch.Tensor, B: torch.Tensor, steps: int) -> torch.Tensor | None:
    """The better of Foolbox's DDN and FMN within span(B), polished by our line search: (R,), or None."""
    try:
        import foolbox as fb
    except ImportError:
        return None

    class Logits(torch.nn.Module):
        def forward(self, Z: torch.Tensor) -> torch.Tensor:
            out = forward(net, X0 + (Z @ B.T).unsqueeze(1)).squeeze(1)
            return torch.stack([torch.zeros_like(out), out], -1)

    model = fb.PyTorchModel(Logits().eval(), bounds=(-1e6, 1e6))
    labels = (forward(net, X0)[:, 0] > 0).long()
    Z0 = torch.zeros(net.runs, B.shape[1], dtype=torch.float64)
    radii = []
    for attack in (fb.attacks.DDNAttack(steps=steps), fb.attacks.L2FMNAttack(steps=steps)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Z = attack.run(model, Z0, labels)
        line = flip_along(net, X0, (Z @ B.T).unsqueeze(1))
        radii.append(torch.where(line.success, line.norm, math.inf)[:, 0])
    return torch.minimum(*radii)


def quantiles(x: torch.Tensor, *qs: float) -> list[float]:
    x = x[torch.isfinite(x)].to(torch.float64)
    return [float(x.quantile(q)) for q in qs] if len(x) else [math.nan] * len(qs)


def measure(profile: str, seed: int, foolbox_points: int, foolbox_steps: int) -> list[dict]:
    rows = []
    s = PROFILES[profile]
    for ell in s["ells"]:
        d = s["r"] + ell
        net, X0, sub = population(s["runs"], d, ell, s["m"], s["steps"], derive_seed(seed, "R5", ell))
        B = sub.complement_basis()
        start = time.perf_counter()
        attack = minimal_flip(net, X0, B, seed=seed)
        attack_seconds = time.perf_counter() - start
        start = time.perf_counter()
        cert = certificates(net, X0, sub.perp_projector())
        cert_seconds = time.perf_counter() - start
        old = certified_orthogonal_radius(net, X0, sub.perp_projector())
        check_sandwich(cert.radius, attack.norm)  # raises on any violation
        row = dict(
            profile=profile,
            ell=ell,
            d=d,
            networks=net.runs,
            attack_s=attack_seconds,
            cert_s=cert_seconds,
            verified=float(attack.success.double().mean()),
            old=quantiles((old / attack.norm).flatten(), 0.5, 0.01),
            new=quantiles((cert.radius / attack.norm).flatten(), 0.5, 0.01),
            piecewise=quantiles((cert.piecewise / attack.norm).flatten(), 0.5),
            foolbox=None,
        )
        if foolbox_points:
            k = min(foolbox_points, net.runs)
            theirs = foolbox_radii(net.select(slice(0, k)), X0[:k], B, foolbox_steps)
            if theirs is not None:
                ratio = attack.norm[:k, 0] / theirs
                row["foolbox"] = (k, *quantiles(ratio, 0.5, 0.01, 0.99, 1.0), int((ratio > 1.01).sum()))
        rows.append(row)
        print_row(row)
    return rows


HEADER = (
    f"{'profile':9}{'ell':>5}{'d':>5}{'nets':>6}{'attack s':>10}{'cert s':>8}  "
    f"{'ours/Foolbox (n): median p01 p99 max >1.01':46}"
    f"{'old cert/attack med p01':>25}{'new cert/attack med p01':>25}"
)


def print_row(row: dict) -> None:
    fb = row["foolbox"]
    fb_text = "n/a" if fb is None else f"({fb[0]}) {fb[1]:.4f} {fb[2]:.4f} {fb[3]:.4f} {fb[4]:.4f} {fb[5]}"
    print(
        f"{row['profile']:9}{row['ell']:>5}{row['d']:>5}{row['networks']:>6}"
        f"{row['attack_s']:>10.2f}{row['cert_s']:>8.2f}  "
        f"{fb_text:46}{row['old'][0]:>13.3f}{row['old'][1]:>12.3f}{row['new'][0]:>13.3f}{row['new'][1]:>12.3f}",
        flush=True,
    )


def exact_study(seed: int) -> None:
    from numerics.exact_radius import exact_flip_radius

    ratios: dict[str, list[torch.Tensor]] = {
        "exact/attack": [],
        "certified/exact": [],
        "old certified/exact": [],
    }
    proven = total = 0
    for d, ell, m in EXACT_CONFIGS:
        net, X0, sub = population(48, d, ell, m, 300, 100 + d + seed)
        B = sub.complement_basis()
        attack = minimal_flip(net, X0, B, seed=seed)
        exact = exact_flip_radius(net, X0, B, attack.norm, starts=attack.delta)
        cert = certificates(net, X0, sub.perp_projector())
        ok = exact.proven
        proven, total = proven + int(ok.sum()), total + ok.numel()
        ratios["exact/attack"].append((exact.radius / attack.norm)[ok])
        ratios["certified/exact"].append((cert.radius / exact.radius)[ok])
        ratios["old certified/exact"].append((cert.global_ / exact.radius)[ok])
    print(
        f"\nexact radius (SCIP) on {total} small trained networks (d, ell, m) in {EXACT_CONFIGS}: {proven} "
        f"proven"
    )
    print(
        f"{'ratio':22}{'min':>8}{'p01':>8}{'p10':>8}{'median':>8}{'p90':>8}{'max':>8}"
        f"{'  share = 1 (1e-6)':>20}"
    )
    for name, parts in ratios.items():
        x = torch.cat(parts)
        q = quantiles(x, 0.0, 0.01, 0.1, 0.5, 0.9, 1.0)
        share = float((x >= 1 - 1e-6).double().mean())
        print(f"{name:22}" + "".join(f"{v:>8.4f}" for v in q) + f"{share:>20.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", choices=["quick", "standard", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0, help="master seed (the suite's default is 0)")
    parser.add_argument(
        "--foolbox-points", type=int, default=100, help="networks per population for Foolbox (0: skip)"
    )
    parser.add_argument("--foolbox-steps", type=int, default=1000)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (the suite runs one per worker)"
    )
    parser.add_argument(
        "--exact", action="store_true", help="also run the exact-radius study (needs pyscipopt)"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(HEADER)
    for profile in ["quick", "standard"] if args.profile == "both" else [args.profile]:
        measure(profile, args.seed, args.foolbox_points, args.foolbox_steps)
    if args.exact:
        exact_study(args.seed)


if __name__ == "__main__":
    main()
