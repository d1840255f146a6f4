"""The accepted range of every command-line-only option (workers, threads, seeds of a calibration, the
benchmark's repeats and matmul size), beside the commands that take them; `theory.parameters` keeps the
mathematical parameters. A bad value is the same one-line ParameterError naming the option."""

from __future__ import annotations

import argparse
from typing import Any

from theory.parameters import ParameterError, Range

__all__ = ["OPTIONS", "add_rate_option", "validate_options"]

#: option -> accepted range.
OPTIONS: dict[str, Range] = {
    "threads": Range("int", 1, 1024, meaning="CPU threads for torch"),
    "jobs": Range("int", 1, 1024, meaning="worker processes running checks"),
    "seeds": Range("int", 1, 100000, meaning="master seeds of a calibration"),
    "repeats": Range("int", 1, meaning="timed runs per benchmark measurement"),
    "peak_size": Range("int", 1, meaning="side of the square matmul timed for the peak rate"),
}


def validate_options(**values: Any) -> None:
    """Raise `ParameterError` for the first option outside its range (None values are skipped)."""
    for name, value in values.items():
        if value is not None and not OPTIONS[name].accepts(value):
            raise ParameterError(f"{name}={value!r} is invalid: expected {OPTIONS[name].describe()}")


def add_rate_option(parser: argparse.ArgumentParser, over: str) -> None:
    """`--false-fail-rate A` (default 1e-3): the family-wise false-fail rate, split over `over`."""
    parser.add_argument(
        "--false-fail-rate",
        dest="false_fail_rate",
        metavar="A",
        type=float,
        default=1e-3,
        help=f"family-wise false-fail rate, split over {over} (default 1e-3)",
    )
