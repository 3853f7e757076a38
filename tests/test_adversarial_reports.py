"""Reports are safe to open whatever the student sent: no spreadsheet formulas in any CSV
cell, control and bidi characters made visible in HTML and removed from the terminal, no
lone surrogates anywhere, every message capped (results.json stays small).

The hostile strings are in ``HOSTILE`` (add new ones there); every test runs over all of them.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata

import pytest

from autograder import limits
from autograder.grading import build_results
from autograder.reports import feedback_html, grades_csv, summary_html, write_student
from autograder.runner import TestOutcome
from autograder.safe_text import (
    for_csv,
    for_html,
    for_terminal,
    no_surrogates,
    safe_id,
    visible,
)

HOSTILE = [
    '=HYPERLINK("http://evil.example","click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
    "\t=1+1", "\r=1+1", "\x1b[2J\x1b]0;pwned\x07", "\u202eexe.txt", "a\u2066b\u2069c\u200fd",
    "lone \ud800 surrogate", "\udcff\udcfe", "zero\u200bwidth", "line\u2028sep", "nul\x00byte",
    "\x9b31m C1 CSI", "<script>alert(1)</script>", "'quoted", "x" * 200_000,
]
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _invisible(text: str, keep: str = "") -> list[str]:
    return [c for c in text if c not in keep and unicodedata.category(c) in
            ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")]


def _result(student_id: str, text: str) -> dict:
    outcomes = [TestOutcome("t.py::test_a", 0.0, 2.0, "failed", text),
                TestOutcome(f"t.py::{text[:50]}", 1.0, 1.0, "passed", "")]
    return build_results(student_id, text[:100], outcomes, [text] * 80,
                         {"printed": text, "seed": 1, "original_name": text,
                          "source": text, "time_budget_seconds": 100.0, "seconds": 0.5})


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_csv_cells_never_start_a_formula(text):
    cell = for_csv(text)
    assert not cell.startswith(FORMULA_START) and not _invisible(cell)
    table = grades_csv([_result(text, text)], ["t.py::test_a", f"t.py::{text[:50]}"])
    cells = [c for row in csv.reader(io.StringIO(table)) for c in row]
    assert len(cells) == 2 * 5
    assert not [c for c in cells if c.startswith(FORMULA_START)]
    assert not [c for c in cells if _invisible(c)]


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_html_shows_control_and_bidi_characters_and_escapes_markup(text):
    page = feedback_html(_result(text, text))
    assert not _invisible(page, keep="\n\t")
    assert "<script>" not in page
    summary = summary_html([_result(text, text)], ["t.py::test_a"], "01_knn", 3.0,
                           {"note": text[:200]})
    assert not _invisible(summary, keep="\n\t") and "<script>" not in summary
    shown = for_html(text)
    for char in _invisible(no_surrogates(text), keep="\n\t"):  # surrogates become U+FFFD
        assert f"&lt;U+{ord(char):04X}&gt;" in shown


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_terminal_text_has_no_escape_codes(text):
    shown = for_terminal(text)
    assert not _invisible(shown, keep="\n")
    shown.encode("utf-8")  # no lone surrogates


@pytest.mark.parametrize("text", HOSTILE, ids=lambda t: repr(t[:20]))
def test_results_are_capped_and_free_of_lone_surrogates(tmp_path, text):
    result = _result(text, text)
    raw = json.dumps(result)
    assert len(raw) <= limits.MAX_RESULTS_BYTES
    assert len(result["tests"][0]["output"]) <= limits.MAX_TEST_OUTPUT_CHARS + 100
    assert len(result["output"]) <= limits.MAX_NOTES_CHARS + 100
    assert len(result["extra_data"]["printed"]) <= limits.MAX_PRINTED_CHARS + 100
    write_student(tmp_path, result)  # never fails on encoding
    student = safe_id(text)
    written = json.loads((tmp_path / "students" / student / "results.json").read_text())
    strings = [written["output"], written["extra_data"]["original_name"],
               *(t["output"] for t in written["tests"])]
    assert not [s for s in strings if any(0xD800 <= ord(c) <= 0xDFFF for c in s)]


def test_results_stay_under_the_file_cap_with_many_long_messages():
    text = "\u202e\U0001F600" * 20_000  # 12 bytes per character once JSON-escaped
    outcomes = [TestOutcome(f"t.py::test_{i}", 0.0, 1.0, "failed", text) for i in range(60)]
    result = build_results("s", "a", outcomes, [text] * 100, {"printed": text})
    assert len(json.dumps(result)) <= limits.MAX_RESULTS_BYTES
    assert all(t["output"] for t in result["tests"])  # shortened, not dropped


def test_visible_names_every_hidden_character():
    assert visible("a\x1bb\u202ec\n", keep="\n") == "a<U+001B>b<U+202E>c\n"
    assert for_csv("=1+1") == "'=1+1" and for_csv("ok") == "ok" and for_csv("1.5") == "1.5"


def test_an_80_mb_failure_message_gives_small_reports():
    """A suite message that quotes a student value (e.g. ``config['t']`` set to 80 MB of
    text) once made a 79 MB results.json and an 86 MB feedback page."""
    huge = "config['t'] should be 1 after one step, got '" + "x" * (80 << 20) + "'"
    outcomes = [TestOutcome("t.py::test_adam", 0.0, 3.0, "failed", huge)]
    result = build_results("s", "04_optimizers", outcomes, [huge], {"printed": huge})
    assert len(json.dumps(result)) <= limits.MAX_RESULTS_BYTES
    assert len(feedback_html(result)) <= 2 * limits.MAX_RESULTS_BYTES
    assert result["tests"][0]["output"].startswith("config['t'] should be 1")
    assert "more characters cut" in result["tests"][0]["output"]
