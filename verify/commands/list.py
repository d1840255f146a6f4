"""`python -m verify list`: every claim id, the theory results it asks, its rule (statistical or exact),
its title, and whether `sweep` and `at` decide it per cell (and why not where they do not)."""

from __future__ import annotations

from tabulate import tabulate

from verify.claim import all_claims, check_rate

__all__ = ["main"]


def main() -> int:
    """Print the claims table; 0."""
    claims = all_claims()
    rate = check_rate(1e-3)
    from verify.per_cell import why_not

    rows = [
        [c.id, ", ".join(c.results) or "-", "statistical" if c.statistical else "exact", c.title,
         "yes" if c.cell is not None else "no: " + why_not(c)]
        for c in claims
    ]  # fmt: skip
    print(
        tabulate(rows, headers=["id", "theory", "rule", "claim", "per cell (sweep, at)"], tablefmt="simple")
    )
    print(f"\n{len(claims)} claims; at the default family rate 1e-3 each statistical claim gets {rate:.2g}.")
    return 0
