"""Redraw time of the optimizer race (lecture 04): update in place versus re-create the figure.

    .venv/bin/python benchmarks/optimizer_race_redraw.py [--repeats 3]

In one process, for the same sequence of slider moves (the learning rates, the momentum and
Adam's beta1 on each of the four surfaces, six optimizers), it times per move:

- **in place** (the lecture's way): one ``OptimizerRace`` built once; each move calls
  ``update(**values)`` (the race, then ``set_data`` on the existing lines) and renders the
  PNG the notebook shows (``LiveFigure.render_png``: the static part is kept and only the
  paths and curves are drawn again);
- **re-created**: each move builds a new ``OptimizerRace`` (a new figure), updates it with
  the same values and renders it the same way (necessarily a full draw).

Every move uses learning rates not seen before, so the trajectories are recomputed in both
paths (no help from the race's cache). Prints the median milliseconds per move of each and
the ratio re-created / in place. Target: in place well under 100 ms per move.
"""

from __future__ import annotations

import argparse
import statistics
import time

import matplotlib

matplotlib.use("agg")

from utils.lecture_optim import SUGGESTED, OptimizerRace  # noqa: E402

OPTIMIZERS = ("SGD", "momentum", "Nesterov", "RMSProp", "Adam", "Newton")


def moves(repeats: int) -> list[dict]:
    """Slider settings: per surface, a first draw, then moves of one slider at a time."""
    out = []
    for surface, hint in SUGGESTED.items():
        base = dict(surface=surface, optimizers=OPTIMIZERS, steps=hint["steps"], start_x=0.0,
                    start_y=0.0, suggested_start=True, sgd_lr=hint["sgd_lr"], momentum=0.9,
                    adaptive_lr=hint["adaptive_lr"], beta1=0.9)
        out.append(("surface change", base))
        for i in range(repeats):
            tweak = 1.0 + 0.01 * (i + 1)
            out.append(("slider", {**base, "sgd_lr": base["sgd_lr"] * tweak}))
            out.append(("slider", {**base, "adaptive_lr": base["adaptive_lr"] * tweak}))
            out.append(("slider", {**base, "momentum": 0.9 - 0.01 * (i + 1),
                                   "adaptive_lr": base["adaptive_lr"] / tweak}))
            out.append(("slider", {**base, "beta1": 0.9 - 0.01 * (i + 1),
                                   "sgd_lr": base["sgd_lr"] / tweak}))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="slider moves per slider")
    args = parser.parse_args()
    steps = moves(args.repeats)

    from utils import lecture_optim

    in_place, recreated, surface_changes, update_only = [], [], [], []
    race = OptimizerRace()
    race.update(**steps[0][1])
    race.live.render_png()  # warm-up: fonts, contour cache
    for kind, values in steps:
        lecture_optim._race_one.cache_clear()
        start = time.perf_counter()
        race.update(**values)
        middle = time.perf_counter()
        race.live.render_png()
        seconds = time.perf_counter() - start
        (in_place if kind == "slider" else surface_changes).append(seconds)
        if kind == "slider":
            update_only.append(middle - start)
    for kind, values in steps:
        if kind != "slider":
            continue
        lecture_optim._race_one.cache_clear()
        start = time.perf_counter()
        fresh = OptimizerRace()
        fresh.update(**values)
        fresh.live.render_png()
        recreated.append(time.perf_counter() - start)

    ms = lambda xs: 1e3 * statistics.median(xs)  # noqa: E731
    print(f"{len(in_place)} slider moves over {len(SUGGESTED)} surfaces, {len(OPTIMIZERS)} "
          f"optimizers, median per move:")
    print(f"  in place (update + blitted render): {ms(in_place):7.1f} ms "
          f"(of which update, i.e. the race maths and set_data: {ms(update_only):.1f} ms)")
    print(f"  re-created figure (build + update + full render): {ms(recreated):7.1f} ms")
    print(f"  in place, surface change (full render): {ms(surface_changes):7.1f} ms")
    print(f"ratio re-created / in place: {statistics.median(recreated) / statistics.median(in_place):.2f}"
          f"  (target: in place well under 100 ms)")


if __name__ == "__main__":
    main()
