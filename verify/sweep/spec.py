"""The sweep spec: a TOML file naming axes over a population's parameters, fixed values, and claims.

    [sweep]                       # optional: name, claims, false_fail_rate
    claims = ["R3", "R4"]         # ids or family prefixes (default: every sweep claim)
    false_fail_rate = 1e-3        # family rate, Bonferroni-split over cells x statistical claims
    [fixed]                       # every parameter not on an axis (defaults below)
    d = 1000
    [axes]                        # the grid is the Cartesian product, first axis slowest
    ell = {start = 10, stop = 990, num = 6, scale = "geometric"}
    m = [32, 128]
    [figures]                     # optional: the two axes of the phase diagrams (default: the first two)
    x = "ell"
    y = "m"

A range {start, stop, num, scale} holds num values from start to stop inclusive, equally spaced
(``linear``: start + i (stop - start)/(num - 1)) or in ratio (``geometric``: start (stop/start)^(i/(num-1)));
an integer parameter's values are rounded and must stay distinct. Every value is validated by the suite's
one table of accepted ranges, `theory.parameters.validate` (cross-constraints such as ell < d per cell),
and every named option against the numerics' own names; each error is one line naming the key.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import tomllib

from numerics.losses import LOSSES
from numerics.train import OPTIMIZERS
from theory.parameters import PARAMETERS, ParameterError, choice, validate
from verify.experiments.population import PopulationSpec

__all__ = [
    "check_point",
    "check_value",
    "DATASETS",
    "defaults",
    "describe",
    "FLAGS",
    "KEYS",
    "load",
    "NUMBERS",
    "OPTIONS",
    "parse",
    "REQUIRED",
    "SCALES",
    "show",
    "SpecError",
    "SweepSpec",
    "with_default",
]


class SpecError(ParameterError):
    """A spec that cannot run; the message is one line naming the key (exit 2, nothing written)."""


#: The data sets a sweep may use: those with a linear subspace P and free (d, ell, n).
DATASETS = ("gaussian_linear", "gaussian_teacher", "clusters")
#: Parameters given by name rather than by number, with their accepted names.
OPTIONS: dict[str, tuple[str, ...]] = {"optimizer": OPTIMIZERS, "loss": LOSSES, "dataset": DATASETS}
#: Parameters that are true or false.
FLAGS = ("bias", "train_output")
#: Numeric parameters, validated by theory.parameters.validate under these very names.
NUMBERS = ("d", "ell", "m", "n", "runs", "steps", "seed", "s_w", "s_u", "beta", "lr", "weight_decay",
           "momentum", "noise", "batch_size")  # fmt: skip
#: Every key a spec may set, in the order of the table's columns.
KEYS = (*NUMBERS[:7], "dataset", "optimizer", "loss", *NUMBERS[7:], *FLAGS)
REQUIRED = ("d", "ell")
#: A cell's own defaults (docs/sweeps.md), where the numerics' defaults are not a cell's: training points,
#: networks, master seed, and a shorter training than TrainConfig's (lr 0.2 for 300 steps, as the checks).
_OWN_DEFAULTS = {"n": 40, "runs": 100, "seed": 0, "batch_size": None, "lr": 0.2, "steps": 300}
_SECTIONS = {
    "sweep": ("name", "claims", "false_fail_rate"),
    "fixed": KEYS,
    "axes": KEYS,
    "figures": ("x", "y"),
}
_RANGE_KEYS = ("start", "stop", "num", "scale")
SCALES = ("linear", "geometric")


def defaults() -> dict[str, Any]:
    """Every optional key's default: PopulationSpec's and its configs' (InitConfig, TrainConfig) field
    defaults, then the sweep's own."""
    spec = PopulationSpec(runs=1)
    spec_defaults = {f.name: f.default for f in fields(PopulationSpec)}
    spec_defaults |= {f.name: getattr(spec.init, f.name) for f in fields(spec.init)}
    spec_defaults |= {f.name: getattr(spec.train, f.name) for f in fields(spec.train)}
    out = {key: spec_defaults[key] for key in KEYS if key in spec_defaults and key not in REQUIRED}
    return out | _OWN_DEFAULTS


@dataclass(frozen=True)
class SweepSpec:
    """A validated spec: the axes (name -> values), every other parameter, the claims, the rate."""

    name: str
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    fixed: tuple[tuple[str, Any], ...]
    claims: tuple[str, ...]
    false_fail_rate: float
    figure_axes: tuple[str, ...]  # the (x, y) of the phase diagrams; one name for a one-axis sweep
    text: str = ""  # the TOML as given, for the manifest
    given: tuple[str, ...] = ()  # the keys the spec sets itself (in [fixed] or [axes])

    def points(self) -> list[dict[str, Any]]:
        """Every cell's parameters, in grid order (the first axis varies slowest)."""
        names = [name for name, _ in self.axes]
        grid = itertools.product(*(values for _, values in self.axes))
        cells = (dict(self.fixed) | dict(zip(names, values, strict=True)) for values in grid)
        return [{key: cell[key] for key in KEYS} for cell in cells]


def _fail(where: str, message: str) -> SpecError:
    return SpecError(f"{where}: {message}")


def check_value(key: str, value: Any, where: str) -> Any:
    """`value` of `key` validated by the shared tables, normalised (reals as float); SpecError otherwise."""
    try:
        if key in OPTIONS:
            if not isinstance(value, str):
                raise ParameterError(f"{key}={value!r} is invalid: expected one of {', '.join(OPTIONS[key])}")
            return choice(key, value, OPTIONS[key])
        if key in FLAGS:
            if not isinstance(value, bool):
                raise ParameterError(f"{key}={value!r} is invalid: expected true or false")
            return value
        validate(**{key: value})
    except ParameterError as exc:
        raise _fail(where, str(exc)) from None
    return float(value) if PARAMETERS[key].kind == "real" else value


def _axis_values(key: str, axis: Any, where: str) -> tuple[Any, ...]:
    if isinstance(axis, list):
        if not axis:
            raise _fail(where, "an axis needs at least one value")
        values = tuple(check_value(key, v, f"{where}[{i}]") for i, v in enumerate(axis))
    elif isinstance(axis, dict):
        values = tuple(check_value(key, v, where) for v in _range(key, axis, where))
    else:
        raise _fail(where, f"expected a list of values or a range {{{', '.join(_RANGE_KEYS)}}}, got {axis!r}")
    if len(set(values)) != len(values):
        raise _fail(where, f"{key} takes a value twice ({list(values)}); give distinct values")
    return values


def _range(key: str, axis: dict[str, Any], where: str) -> list[Any]:
    """The values of {start, stop, num, scale}: linear or geometric, stop included; integers rounded."""
    unknown = sorted(set(axis) - set(_RANGE_KEYS))
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key; a range has {', '.join(_RANGE_KEYS)}")
    missing = [k for k in ("start", "stop", "num") if k not in axis]
    if missing:
        raise _fail(f"{where}.{missing[0]}", "missing; a range needs start, stop and num")
    start, stop, num, scale = axis["start"], axis["stop"], axis["num"], axis.get("scale", "linear")
    for name, bound in (("start", start), ("stop", stop)):
        if isinstance(bound, bool) or not isinstance(bound, (int, float)) or not math.isfinite(bound):
            raise _fail(f"{where}.{name}", f"{name}={bound!r} is invalid: expected a finite number")
    if isinstance(num, bool) or not isinstance(num, int) or num < 1:
        raise _fail(f"{where}.num", f"num={num!r} is invalid: expected an integer >= 1")
    if scale not in SCALES:
        raise _fail(f"{where}.scale", f"scale={scale!r} is invalid: expected one of {', '.join(SCALES)}")
    if scale == "geometric" and not (start > 0 and stop > 0):
        raise _fail(
            where, f"a geometric range needs start > 0 and stop > 0, got start={start!r}, stop={stop!r}"
        )
    steps = [i / (num - 1) if num > 1 else 0.0 for i in range(num)]
    if scale == "linear":
        raw = [start + s * (stop - start) for s in steps]
    else:
        raw = [start * (stop / start) ** s for s in steps]
    if PARAMETERS.get(key) is not None and PARAMETERS[key].kind == "int":
        return [round(v) for v in raw]
    return raw


def _table(data: dict[str, Any], section: str) -> dict[str, Any]:
    value = data.get(section, {})
    if not isinstance(value, dict):
        raise _fail(section, f"expected a table [{section}]")
    for key in value:
        if key not in _SECTIONS[section]:
            raise _fail(f"{section}.{key}", f"unknown key; accepted: {', '.join(_SECTIONS[section])}")
    return value


def parse(text: str, *, source: str = "spec") -> SweepSpec:
    """The validated spec of the TOML `text` (SpecError, one line naming the key, when it is not)."""
    from verify.per_cell import select

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise _fail(source, f"not valid TOML ({exc})") from None
    for section in data:
        if section not in _SECTIONS:
            raise _fail(section, f"unknown section; accepted: {', '.join(_SECTIONS)}")
    head, fixed, axes, figures = (_table(data, s) for s in ("sweep", "fixed", "axes", "figures"))
    for key in fixed:
        if key in axes:
            raise _fail(f"fixed.{key}", f"{key} is also an axis; give it in one place")
    values = defaults() | {key: check_value(key, v, f"fixed.{key}") for key, v in fixed.items()}
    grid = tuple((key, _axis_values(key, axis, f"axes.{key}")) for key, axis in axes.items())
    for key in REQUIRED:
        if key not in values and key not in axes:
            raise _fail(f"fixed.{key}", f"missing; {key} must be given in [fixed] or [axes]")
    rate = check_value("false_fail_rate", head.get("false_fail_rate", 1e-3), "sweep.false_fail_rate")
    name = head.get("name", Path(source).stem)
    if not isinstance(name, str):
        raise _fail("sweep.name", f"name={name!r} is invalid: expected a string")
    spec = SweepSpec(
        name=name,
        axes=grid,
        fixed=tuple((k, v) for k, v in values.items() if k not in axes),
        claims=(),
        false_fail_rate=rate,
        figure_axes=_figure_axes(figures, [k for k, _ in grid]),
        text=text,
        given=(*fixed, *axes),
    )
    keys = tuple(dict.fromkeys((*REQUIRED, *(k for k, _ in grid))))
    claims = select(head.get("claims"), _valid_points(spec, keys), where="sweep.claims")
    spec = dataclasses.replace(spec, claims=claims)
    for point in spec.points():
        check_point(point, claims, keys)
    return spec


def _valid_points(spec: SweepSpec, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """The spec's points, each first checked without claims (so a bad value is named before a claim)."""
    points = spec.points()
    for point in points:
        check_point(point, (), keys)
    return points


def with_default(spec: SweepSpec, key: str, value: Any) -> SweepSpec:
    """`spec` with `key` = `value` where the spec leaves `key` to its default (SpecError if it sets it)."""
    if key in spec.given:
        raise SpecError(f"{key}={value!r} is invalid: the spec sets {key} itself")
    value = check_value(key, value, key)
    return dataclasses.replace(spec, fixed=tuple((k, value if k == key else v) for k, v in spec.fixed))


def check_point(point: dict[str, Any], claims: tuple[str, ...], keys: tuple[str, ...] = REQUIRED) -> None:
    """One cell as a whole: cross-constraints (ell < d), the numerics' own checks, and every claim's scope."""
    from verify.per_cell import check_applicable
    from verify.sweep.cells import population_spec

    where = "cell " + describe(point, keys)
    try:
        validate(**{key: point[key] for key in NUMBERS if key in point})
        spec = population_spec(point, claims)
        spec.init_config()
        spec.train_config()
    except ParameterError as exc:
        raise _fail(where, str(exc)) from None
    check_applicable(point, claims, where)


def describe(point: dict[str, Any], keys: tuple[str, ...] | None = None) -> str:
    """'d=1000, ell=10, m=64': the point's values (of `keys`, by default the ones a reader needs first)."""
    return ", ".join(f"{key}={show(point[key])}" for key in keys or ("d", "ell", "m") if key in point)


def show(value: Any) -> str:
    """A parameter value as the spec writes it (true, 0.1, 'gd' -> gd)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _figure_axes(figures: dict[str, Any], axes: list[str]) -> tuple[str, ...]:
    chosen = []
    for which, default in (("x", axes[0] if axes else None), ("y", axes[1] if len(axes) > 1 else None)):
        name = figures.get(which, default)
        if name is None:
            continue
        if name not in axes:
            raise _fail(
                f"figures.{which}",
                f"{which}={name!r} is invalid: expected one of the axes ({', '.join(axes) or 'none'})",
            )
        chosen.append(name)
    if len(chosen) == 2 and chosen[0] == chosen[1]:
        raise _fail("figures.y", f"y={chosen[1]!r} is the x axis too; choose two different axes")
    return tuple(chosen)


def load(path: str | Path) -> SweepSpec:
    """The validated spec in the file `path`."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise SpecError(f"spec={str(path)!r} is invalid: cannot read it ({exc.strerror or exc})") from None
    return parse(text, source=str(path))
