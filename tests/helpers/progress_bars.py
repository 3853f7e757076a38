"""Which executed notebook cells ran long without showing a progress bar.

Used by ``benchmarks/notebook_cell_times.py`` (wall time is a measurement, never a test
verdict) and unit-tested by ``tests/test_progress_bar_detector.py``.
"""

from __future__ import annotations

import re
from datetime import datetime

LONG_CELL_S = 15.0


def cell_seconds(cell) -> float:
    """Wall seconds a cell ran, from nbclient's ``record_timing`` metadata (0.0 if absent)."""
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not (start and end):
        return 0.0
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def shows_progress(cell) -> bool:
    """True when the cell's outputs hold a tqdm bar (a widget or tqdm's text bar)."""
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if "application/vnd.jupyter.widget-view+json" in data and \
                re.search(r"\d+%|\bit/s|s/it", data.get("text/plain", "")):
            return True
        if output.get("output_type") == "stream" and re.search(r"\d+%\|", output.get("text", "")):
            return True
    return False


def slow_cells_without_progress(nb, long_cell_s: float = LONG_CELL_S
                                ) -> list[tuple[int, float]]:
    """(cell index, seconds) of code cells that ran longer than ``long_cell_s`` seconds and
    showed no progress bar, for a notebook executed with ``record_timing=True``."""
    return [(i, cell_seconds(c)) for i, c in enumerate(nb.cells)
            if c.cell_type == "code" and cell_seconds(c) > long_cell_s and not shows_progress(c)]
