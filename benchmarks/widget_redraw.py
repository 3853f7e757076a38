"""Redraw time of the decision-boundary widget (lecture 01): update in place versus re-create.

In one process, for the same 24 control settings (k, distance, noise, dataset), repeated:

- **in place** (the lecture's way): one figure is built once; each step calls
  ``view.update(**values)`` (kNN predictions on the grid, then ``set_data`` / ``set_offsets`` /
  ``set_text`` on the existing artists) and renders the PNG the notebook shows
  (``LiveFigure.render_png``: layout computed once, then frozen).
- **re-created**: every step builds a new figure (``boundary_view`` again), updates it with the
  same values and renders it the same way (a new figure needs its layout computed each time).
- for reference, **in place, IPython's default display path**: the same in-place update
  rendered by ``IPython.core.pylabtools.print_figure(fig, "png", bbox_inches="tight")`` with
  constrained layout on every draw (what ``display(fig)`` does in a notebook).

The three ways are measured interleaved, step by step in a rotating order, so that load from
other processes hits them alike. Prints the median milliseconds per step of each, the ratio
re-created / in place, and the median of the kNN work alone. Target: in place well under
100 ms per step. The lectures' two other widgets (digit neighbours, cross-validation) are
timed in place too.

    .venv/bin/python benchmarks/widget_redraw.py [--repeats 3] [--resolution 80]
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import matplotlib

matplotlib.use("agg")

from IPython.core.pylabtools import print_figure  # noqa: E402

from utils.data import load_digits  # noqa: E402
from utils.lecture_knn import (  # noqa: E402
    METRICS,
    boundary_view,
    cross_validation_view,
    digit_neighbours_view,
)

STEPS = [dict(k=k, metric=metric, noise=noise, dataset=dataset, points="train")
         for k, metric, noise, dataset in itertools.product(
             (1, 7, 25), ("L1", "L2"), (0.1, 0.5), ("blobs", "moons"))]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return 1e3 * (time.perf_counter() - start)


def measure(repeats: int, resolution: int) -> dict[str, list[float]]:
    """Milliseconds per step of each way, measured interleaved step by step (in a rotating
    order), so that load from other processes on a shared machine hits every way alike."""
    in_place = boundary_view(resolution=resolution)
    ipython_default = boundary_view(resolution=resolution)

    def step_in_place(values):
        in_place.update(**values)
        in_place.live.render_png()

    def step_recreated(values):
        view = boundary_view(resolution=resolution)
        view.update(**values)
        view.live.render_png()

    def step_ipython_default(values):
        ipython_default.update(**values)
        print_figure(ipython_default.live.fig, "png", bbox_inches="tight")

    ways = {"in place": step_in_place, "re-created": step_recreated,
            "IPython default": step_ipython_default}
    for step in ways.values():  # warm-up: font cache, first layout
        step(STEPS[0])
    times: dict[str, list[float]] = {name: [] for name in ways}
    times["kNN work alone"] = []
    names = list(ways)
    for repeat in range(repeats):
        for index, values in enumerate(STEPS):
            rotation = (repeat + index) % len(names)
            for name in names[rotation:] + names[:rotation]:
                times[name].append(_timed(lambda: ways[name](values)))  # noqa: B023
            times["kNN work alone"].append(_timed(lambda: in_place.update(**values)))  # noqa: B023
    return times


def measure_other_views(repeats: int) -> dict[str, list[float]]:
    """Milliseconds per in-place update + render of the lectures' two other widgets."""
    digits = digit_neighbours_view(load_digits())
    folds = cross_validation_view()
    settings = {
        "digit neighbours (lecture 01)": (digits, [dict(index=i, metric=m)
                                                   for i in range(0, 24, 2) for m in METRICS]),
        "cross-validation (lecture 02)": (folds, [dict(num_folds=f, noise=n, metric=m)
                                                  for f in range(2, 11) for n in (0.1, 0.5)
                                                  for m in METRICS]),
    }
    times: dict[str, list[float]] = {}
    for name, (view, steps) in settings.items():
        view.update(**steps[0])
        view.live.render_png()  # warm-up and layout
        times[name] = [_timed(lambda: (view.update(**values), view.live.render_png()))  # noqa: B023
                       for _ in range(repeats) for values in steps]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes over the 24 steps")
    parser.add_argument("--resolution", type=int, default=80, help="grid points per axis")
    args = parser.parse_args()

    times = measure(args.repeats, args.resolution)
    median = {name: statistics.median(values) for name, values in times.items()}
    print(f"decision-boundary widget: 2 panels, grid {args.resolution}x{args.resolution}, "
          f"{len(times['in place'])} steps per way, interleaved")
    labels = {
        "kNN work alone": "kNN work alone (update, no render)",
        "in place": "in place: update + render PNG",
        "re-created": "re-created: new figure + update + render",
        "IPython default": "in place, IPython default display path",
    }
    for name, label in labels.items():
        print(f"  {label:<44} median {median[name]:6.1f} ms  (max {max(times[name]):.1f})")
    print(f"  ratio re-created / in place: {median['re-created'] / median['in place']:.2f}x")
    verdict = "met" if median["in place"] < 100 else "MISSED"
    print(f"  target (in place well under 100 ms per update): {verdict}")
    print("other lecture widgets, in place: update + render PNG")
    for name, values in measure_other_views(args.repeats).items():
        print(f"  {name:<44} median {statistics.median(values):6.1f} ms  (max {max(values):.1f})")


if __name__ == "__main__":
    main()
