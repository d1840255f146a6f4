"""User-defined sweeps: the empirical twin of `python -m verify bounds` over a grid of settings.

A TOML spec (`spec`) names axes over the parameters of a two-layer population and the claims to evaluate;
each grid point is one cell, one trained population (`cells`), on which every claim is decided by the
checks' own rules (`claims`); the cells run on the suite's executors, each written as it finishes
(`run`), and the tidy table, tables and phase diagrams are rendered from the cell files (`outputs`).
See docs/sweeps.md.
"""

__all__: list[str] = []
