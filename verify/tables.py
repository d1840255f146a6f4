"""The tables of a claim's outcome: declared columns (a header and a format spec) and rows of plain values
(numbers, booleans, labels); the report writers format them. Re-exported by `verify.claim`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Column", "Table", "table"]


@dataclass(frozen=True)
class Column:
    """A declared table column: its header and how the report writers format its numbers.

    ``format`` is a Python format spec (".4g", ".3f", "d", ".2e"); "" prints the value as it is (labels).
    """

    name: str
    format: str = ""


@dataclass(frozen=True)
class Table:
    """A table of values: numbers (int, float), booleans and text labels; formatting is the writers' job."""

    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple[Any, ...], ...]

    def __post_init__(self) -> None:
        for row in self.rows:
            if len(row) != len(self.columns):
                raise ValueError(
                    f"table {self.title!r}: a row has {len(row)} cells for {len(self.columns)} columns"
                )
            for cell in row:
                if not (cell is None or isinstance(cell, (bool, int, float, str))):
                    raise TypeError(
                        f"table {self.title!r}: cell {cell!r} is a {type(cell).__name__}, not a number or "
                        f"label"
                    )


def table(
    title: str,
    columns: Iterable[Column | tuple[str, str] | str],
    rows: Iterable[Iterable[Any] | Mapping[str, Any]],
) -> Table:
    """A `Table`, with columns given as Column, (name, format) or a bare name; numpy scalars become floats.
    A row given as a mapping is read by column name and must name every column, and only those."""
    cols = tuple(
        c if isinstance(c, Column) else Column(*c) if isinstance(c, tuple) else Column(c) for c in columns
    )
    names = [c.name for c in cols]
    cells = []
    for row in rows:
        if isinstance(row, Mapping):
            if sorted(row) != sorted(names):
                raise ValueError(
                    f"table {title!r}: a row names {sorted(row)}, the columns are {sorted(names)}"
                )
            row = [row[name] for name in names]
        cells.append(tuple(_plain(cell) for cell in row))
    return Table(title, cols, tuple(cells))


def _plain(cell: Any) -> Any:
    if cell is None or isinstance(cell, (bool, int, float, str)):
        return cell
    if hasattr(cell, "item"):  # numpy and torch scalars
        return cell.item()
    return float(cell)
