"""How long each notebook cell runs, and whether long cells show a progress bar.

Executes the course map, every lecture and every solution notebook (one kernel each, headless)
with nbclient's timing record, then prints for each notebook its total time, its slowest cells,
and every cell over ``--long`` seconds that showed no progress bar (a student would stare at a
silent cell). A calibration workload (a fixed numpy matrix product loop) is timed in the same
run, and every figure is also printed as a ratio to it, so runs on machines of different speed
or load can be compared. Wall time is measured here, never asserted in tests.

    .venv/bin/python benchmarks/notebook_cell_times.py [--long 15] [--only lectures/04*]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers that run notebooks

from helpers.notebooks import run_cells  # noqa: E402
from helpers.progress_bars import cell_seconds, slow_cells_without_progress  # noqa: E402


def calibration_seconds() -> float:
    """Median seconds of a fixed workload: 20 products of two 300 x 300 float64 matrices."""
    rng = np.random.default_rng(0)
    a, b = rng.random((300, 300)), rng.random((300, 300))
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(20):
            a @ b
        runs.append(time.perf_counter() - start)
    return sorted(runs)[len(runs) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--long", type=float, default=15.0,
                        help="seconds after which a cell should show a progress bar")
    parser.add_argument("--only", default=None, help="glob of notebooks (relative to the root)")
    args = parser.parse_args()
    paths = sorted(ROOT.glob(args.only)) if args.only else [
        ROOT / "course_map.ipynb", *sorted(ROOT.glob("lectures/*.ipynb")),
        *sorted(ROOT.glob("solutions/*/*.ipynb"))]
    unit = calibration_seconds()
    print(f"calibration workload: {unit * 1000:.1f} ms (ratios below are cell time / this)")
    silent_total = 0
    for path in paths:
        nb = run_cells(nbformat.read(path, as_version=4), path.parent, timeout=1800,
                       record_timing=True)
        times = sorted(((cell_seconds(c), i) for i, c in enumerate(nb.cells)
                        if c.cell_type == "code"), reverse=True)
        total = sum(t for t, _ in times)
        slowest = ", ".join(f"cell {i} {t:.1f} s ({t / unit:.0f}x)" for t, i in times[:3])
        print(f"{path.relative_to(ROOT)}: {total:.1f} s in all ({total / unit:.0f}x); "
              f"slowest: {slowest}")
        for index, seconds in slow_cells_without_progress(nb, args.long):
            silent_total += 1
            print(f"  cell {index} ran {seconds:.1f} s without a progress bar "
                  "(wrap its loop in utils.progress.progress)")
    print(f"{silent_total} long cell(s) without a progress bar")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
