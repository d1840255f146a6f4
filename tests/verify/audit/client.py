"""A real client of the audit: plain `nn.Sequential` networks with PyTorch's default initialization, trained
by `torch.optim.SGD` or Adam in an ordinary loop, saved with `torch.save(model.state_dict())`. Nothing here
uses the suite's trainer or its networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

__all__ = ["rotated_data", "digits_data", "train_population"]


def rotated_data(folder: Path, *, d: int = 12, r: int = 4, n: int = 40, seed: int = 0) -> np.ndarray:
    """Data in a random r-dimensional subspace of R^d: train.npz (float32 X, labels in {0, 1}), basis.npy,
    points.npz (the first 5 points). Returns the basis (d, r)."""
    rng = np.random.default_rng(seed)
    B = np.linalg.qr(rng.standard_normal((d, r)))[0]
    Z = rng.standard_normal((n, r))
    X = (Z @ B.T).astype(np.float32)
    y = (Z[:, 0] + 0.5 * Z[:, 1] > 0).astype(np.int64)
    np.savez(folder / "train.npz", X=X, y=y)
    np.savez(folder / "points.npz", X=X[:5])
    np.save(folder / "basis.npy", B)
    return B


def digits_data(folder: Path, *, n: int = 120) -> None:
    """Two digit classes (3 vs 8) of sklearn's handwritten digits, scaled to [0, 1], as train.npz (d = 64)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    keep = np.isin(digits.target, (3, 8))
    X, y = digits.data[keep][:n] / 16.0, (digits.target[keep][:n] == 8).astype(np.int64)
    np.savez(folder / "train.npz", X=X.astype(np.float32), y=y)
    np.savez(folder / "points.npz", X=X[:4].astype(np.float32))


def train_population(
    folder: Path,
    networks: int,
    *,
    m: int = 8,
    steps: int = 100,
    lr: float = 0.1,
    optimizer: str = "sgd",
    hidden: tuple[int, ...] = (),
    seed: int = 0,
    weight_decay: float = 0.0,
) -> list[nn.Sequential]:
    """Train `networks` models on folder/train.npz, saving init_i.pt and final_i.pt; returns the models."""
    # A client's process has PyTorch's own default dtype (float32); other tests in this process may have set
    # float64 (the suite's harness does), so the client states its own.
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        return _train_population(folder, networks, m, steps, lr, optimizer, hidden, seed, weight_decay)
    finally:
        torch.set_default_dtype(previous)


def _train_population(folder, networks, m, steps, lr, optimizer, hidden, seed, weight_decay):
    data = np.load(folder / "train.npz")
    X = torch.tensor(data["X"])
    y = torch.tensor(data["y"], dtype=torch.float32) * 2 - 1
    models = []
    for i in range(networks):
        torch.manual_seed(seed + i)
        widths = (X.shape[1], m, *hidden)
        layers: list[nn.Module] = []
        for a, b in zip(widths, widths[1:], strict=False):
            layers += [nn.Linear(a, b), nn.ReLU()]
        model = nn.Sequential(*layers, nn.Linear(widths[-1], 1))
        torch.save(model.state_dict(), folder / f"init_{i:02d}.pt")
        opt = (
            torch.optim.SGD(model.parameters(), lr=lr, weight_decay=weight_decay)
            if optimizer == "sgd"
            else torch.optim.Adam(model.parameters(), lr=lr)
        )
        for _ in range(steps):
            opt.zero_grad()
            loss = nn.functional.softplus(-y * model(X).squeeze(1)).mean()
            loss.backward()
            opt.step()
        torch.save(model.state_dict(), folder / f"final_{i:02d}.pt")
        models.append(model)
    return models
