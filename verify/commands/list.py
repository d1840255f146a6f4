"""`python -m verify list`: every claim id, the theory results it asks, its rule (statistical or exact),
its title, and whether `sweep` and `at` decide it per cell (and why not where they do not)."""

from __future__ import annotations

from tabulate import tabulate

from verify.claim import all_claims, check_rate

__all__ = ["main", "per_cell"]


def per_cell(c) -> str:
    """Whether `sweep` and `at` decide the claim per cell: where (its declared scope), or why not."""
    from verify.per_cell import why_not

    if c.cell is None:
        return "no: " + why_not(c)
    where = f"yes, where {c.cell.scope.where}" if c.cell.scope.where else "yes"
    return where + ("" if c.cell.default else "; only when named by its id")


def main() -> int:
    """Print the claims table; 0."""
    claims = all_claims()
    rate = check_rate(1e-3)

    rows = [
        [c.id, ", ".join(c.results) or "-", "statistical" if c.statistical else "exact", c.title,
         per_cell(c)]
        for c in claims
    ]  # fmt: skip
    print(
        tabulate(
            rows,
            headers=["id", "theory", "rule", "claim", "per cell (sweep, at)"],
            tablefmt="simple",
            maxcolwidths=[None, None, None, 22, 20],
        )
    )
    print(f"\n{len(claims)} claims; at the default family rate 1e-3 each statistical claim gets {rate:.2g}.")
    return 0
