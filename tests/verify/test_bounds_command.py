"""verify/commands/bounds.py: `python -m verify bounds` output formats, digits and error handling."""

from __future__ import annotations

import argparse
import json
import re

import mpmath
import pytest

from theory.bounds import DESCRIPTIONS
from verify.commands import bounds as bounds_command
from verify.commands.bounds import configure, format_bounds, main

POINT = ["--d", "10001", "--ell", "10000", "--m", "512", "--k", "256"]


@pytest.fixture(autouse=True)
def mpmath_precision():
    """Every test starts at mpmath's default precision and must leave it there."""
    mpmath.mp.dps = 15
    yield
    leaked, mpmath.mp.dps = mpmath.mp.dps, 15
    assert leaked == 15, f"mpmath precision leaked: dps={leaked}"


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="bounds")
    configure(parser)
    code = main(parser.parse_args(argv))
    out, err = capsys.readouterr()
    return code, out, err


def significant_digits(text: str) -> int:
    mantissa = text.lstrip("+-").split("e")[0].replace(".", "").lstrip("0")
    return len(mantissa)


def test_json_is_one_object_with_every_key_at_the_digits_asked(capsys):
    code, out, err = run([*POINT, "--output-value", "0.5", "--format", "json", "--digits", "40"], capsys)
    assert code == 0 and err == ""
    assert out.count("\n") == 1  # one JSON object on one line
    values = json.loads(out)
    assert set(values) == set(DESCRIPTIONS)
    for key, text in values.items():
        assert isinstance(text, str) and significant_digits(text) == 40, (key, text)
    assert values["failure_probability_exact"].startswith("4.350115460174301410385078988836100298381e-422")


@pytest.mark.parametrize("digits", ["1", "7", "64"])
def test_digits_are_honored(capsys, digits):
    code, out, _ = run([*POINT, "--format", "json", "--digits", digits], capsys)
    assert code == 0
    assert all(significant_digits(v) == int(digits) for v in json.loads(out).values())


def test_table_has_the_three_columns_and_every_quantity(capsys):
    code, out, err = run(
        [*POINT, "--lr", "0.1", "--weight-decay", "0.01", "--steps", "100", "--output-value", "-2"], capsys
    )
    assert code == 0 and err == ""
    header = out.splitlines()[0].split()
    assert header[:2] == ["quantity", "value"] and "meaning" in header
    for key in DESCRIPTIONS:
        assert re.search(rf"^{key}\s", out, flags=re.MULTILINE), key
    # The table keeps the 30 digits (tabulate must not reparse them as floats).
    assert "4.35011546017430141038507898884e-422" in out
    assert "0.904792147113709042032214606240" in out  # (1 - 0.001)^100


def test_format_bounds_rejects_an_unknown_format():
    with pytest.raises(ValueError, match="format='xml'"):
        format_bounds({}, "xml", 5)


@pytest.mark.parametrize(
    ("argv", "parameter"),
    [
        (["--d", "10", "--ell", "10", "--m", "5", "--k", "2"], "ell"),
        (["--d", "10", "--ell", "12", "--m", "5", "--k", "2"], "ell"),
        (["--d", "10", "--ell", "5", "--m", "5", "--k", "6"], "k"),
        (["--d", "10", "--ell", "5", "--m", "5", "--k", "2", "--beta", "-1"], "beta"),
        (["--d", "10", "--ell", "5", "--m", "5", "--k", "2", "--digits", "0"], "digits"),
        (["--d", "10", "--ell", "5", "--m", "5", "--k", "2", "--weight-decay", "0.1"], "weight_decay"),
        (["--d", "x", "--ell", "5", "--m", "5", "--k", "2"], "d"),
    ],
)
def test_invalid_point_is_one_line_on_stderr_and_status_two(capsys, argv, parameter):
    code, out, err = run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"error: {parameter}=")
    assert "Traceback" not in err


def test_registered_as_a_sub_command_of_verify():
    # The lead's parser builds `bounds` from this module; parsing must give our defaults.
    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(POINT)
    assert (args.format, args.digits, args.beta) == ("table", "30", None)
    assert bounds_command.FORMATS == ("table", "json")


def test_a_point_outside_the_decay_hypothesis_is_flagged(capsys):
    code, out, err = run([*POINT, "--lr", "1", "--weight-decay", "2.5", "--steps", "10"], capsys)
    assert code == 0 and out
    assert err.count("\n") == 1 and err.startswith("warning: eta*lam = 5/2 is outside R8's hypothesis")
    code, out, err = run([*POINT, "--lr", "1", "--weight-decay", "1.5", "--steps", "10"], capsys)
    assert code == 0 and err == ""


def test_the_former_spellings_are_accepted_with_a_note_naming_the_new_one(capsys):
    code, new, err = run(
        [*POINT, "--beta", "0.3", "--lr", "0.1", "--weight-decay", "0.01", "--steps", "10"], capsys
    )
    assert code == 0 and err == ""
    code, old, err = run(
        [*POINT, "--init-scale", "0.3", "--eta", "0.1", "--lam", "0.01", "--steps", "10"], capsys
    )
    assert code == 0 and old == new
    assert err.splitlines() == [
        "note: --init-scale is now --beta",
        "note: --eta is now --lr",
        "note: --lam is now --weight-decay",
    ]
