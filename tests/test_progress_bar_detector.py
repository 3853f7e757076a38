"""The detector behind ``benchmarks/notebook_cell_times.py``: long cells without a progress bar.

Wall time is never a test verdict (the suite must pass on a loaded machine); the benchmark
measures it. This checks only that the detector can tell the cases apart.
"""

from __future__ import annotations

import nbformat
from helpers.progress_bars import cell_seconds, shows_progress, slow_cells_without_progress


def _cell(seconds: int, outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("work()")
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T10:00:00.000000Z",
                                  "shell.execute_reply": f"2026-01-01T10:00:{seconds:02d}.500000Z"}
    cell.outputs = outputs
    return cell


def test_a_long_cell_without_a_bar_is_flagged_and_one_with_a_bar_is_not():
    bar = nbformat.v4.new_output("stream", name="stderr", text="fit: 40%|####  | 4/10\n")
    nb = nbformat.v4.new_notebook(cells=[_cell(0, []), _cell(30, []), _cell(30, [bar]),
                                         _cell(3, [])])
    assert slow_cells_without_progress(nb) == [(1, 30.5)]
    assert slow_cells_without_progress(nb, long_cell_s=1.0) == [(1, 30.5), (3, 3.5)]


def test_widget_bars_count_and_cells_without_timing_are_zero_seconds():
    widget = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "x"},
        "text/plain": "sweep:  50%|#####     | 5/10 [00:01<00:01, 4.2it/s]"})
    assert shows_progress(_cell(30, [widget]))
    assert not shows_progress(_cell(30, [nbformat.v4.new_output("stream", name="stdout",
                                                                 text="done\n")]))
    assert cell_seconds(nbformat.v4.new_code_cell("x = 1")) == 0.0
