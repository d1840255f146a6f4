"""`python -m verify list` read back as people read it: each claim's row, its wrapped cells joined."""

from __future__ import annotations

__all__ = ["listed"]


def listed(out: str) -> dict[str, dict[str, str]]:
    """claim id -> column header -> cell text (continuation lines of a wrapped cell joined by spaces), from
    tabulate's "simple" table: the dashes under the header give the column bounds."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    bounds, start = [], 0
    for dashes in lines[rule].split("  "):
        bounds.append((start, start + len(dashes)))
        start += len(dashes) + 2
    headers = [lines[rule - 1][a:b].strip() for a, b in bounds]
    rows: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        cells = [line[a:b].strip() for a, b in bounds]
        if cells[0]:
            current = rows.setdefault(cells[0], {h: [] for h in headers})
        for header, cell in zip(headers, cells, strict=True):
            if cell:
                current[header].append(cell)
    return {cid: {h: " ".join(parts) for h, parts in row.items()} for cid, row in rows.items()}
