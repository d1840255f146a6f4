"""Symbolic half of offsub: the results of Melamed, Yehudai & Vardi (NeurIPS 2023) as SymPy expressions.

No torch here. Every expression is evaluated from exact inputs with mpmath at a chosen precision.

Modules (each imported on its own: importing `theory` itself loads nothing heavy, because
`theory.parameters` is imported by the numerics too):
- `parameters`: the declarative table of accepted parameter ranges, `validate`, `ParameterError`;
- `symbols`: the named SymPy symbols (d, ell, m, k, S, c_T's eta, lam, T, ...) with their assumptions;
- `precision`: exact inputs and `evaluate(expr, values, digits)` with mpmath, no float fallback;
- `chi_square`: the chi-square(ell) law and the Laurent-Massart / Chernoff / exact tails (R3, R4);
- `decay`: the weight-decay factor c_T = (1 - eta*lam)^T and its gradient-flow form exp(-lam*t);
- `results`: one `Result` per R1-R8 (statement, hypotheses, provenance, expressions, `predict`);
- `selfchecks`: symbolic self-checks of the derivations, each able to fail;
- `bounds`: `bounds_at(d, ell, m, k, ...)`, every bound at one point (behind `python -m verify bounds`).
The derivations are in docs/derivations.md.
"""

__all__: list[str] = []
