"""The sweep's answer to "how small is small", read from radius levels by name (verify.sweep.answer)."""

import json

from verify.reports.front_page import front_page
from verify.sweep.answer import EXAMPLE_TABLE, radius_answer, radius_answer_from_file

MANIFEST = {"profile": "quick", "seed": 0, "false_fail_rate": 1e-3}


def _cell(cell, d, ell, ratio, relative):
    row = {"cell": cell, "m": 64, "d": d, "ell": ell, "claim": "R6.sandwich"}
    for name, (q50, low, high) in (("orth_over_on", ratio), ("orth_over_x0", relative)):
        row |= {f"{name}_q50": q50, f"{name}_band_low": low, f"{name}_band_high": high}
    return row


def test_the_answer_names_the_lowest_ratio_and_the_cells_below_a_tenth_of_x0():
    rows = [
        _cell(0, 100, 10, (12.0, 11.0, 13.0), (0.5, 0.4, 0.6)),
        _cell(1, 100, 90, (1.4, 1.3, 1.5), (0.08, 0.06, 0.09)),
        _cell(2, 200, 100, (1.6, 1.5, 1.7), (0.05, 0.04, 0.2)),  # band reaches above 0.1: not counted
    ]
    ratio, relative = radius_answer(rows + [dict(rows[0], claim="R4.lower_bound")], ("m", "d", "ell"))
    assert "lowest at m = 64, d = 100, ell = 90 (r = d - ell = 10): 1.4 [1.3, 1.5]" in ratio
    assert "in none of the 3 cells does its band fall below 1" in ratio
    assert "below ||x0||/10 (band included) in 1 of 3 cells" in relative
    crossing = radius_answer([_cell(0, 100, 90, (0.7, 0.6, 0.8), (0.5, 0.4, 0.6))], ("d", "ell"))
    assert "its band lies below 1 in 1 of 1 cells" in crossing[0]
    assert "In no cell does the median orthogonal radius lie below ||x0||/10" in crossing[1]
    assert radius_answer([{"cell": 0, "orth_over_on_q50": None}], ("d",)) == []


def test_the_front_page_quotes_the_committed_example_sweep_as_such(tmp_path):
    assert radius_answer_from_file(tmp_path / "absent.json") == []
    table = tmp_path / "table.json"
    table.write_text(json.dumps([_cell(0, 100, 90, (1.4, 1.3, 1.5), (0.08, 0.06, 0.09))]))
    answer = radius_answer_from_file(table)
    page = front_page([], MANIFEST, sweep_answer=answer)
    assert page.beyond[-1].startswith('How small is "small" (the example sweep examples/small.toml')
    assert front_page([], MANIFEST).beyond == ()


def test_the_committed_example_sweep_has_an_answer():
    assert EXAMPLE_TABLE.is_file(), f"{EXAMPLE_TABLE}: run examples/small.toml (README) and commit table.json"
    assert len(radius_answer_from_file(EXAMPLE_TABLE)) == 2
