"""Throughput: this grader (sandbox on) against ``nbgrader autograde`` on the same submissions.

    python benchmarks/grading_throughput.py            # N = 20 and N = 200 (several minutes)
    python benchmarks/grading_throughput.py --quick    # N = 3, a smoke run for CI

The synthetic 01_knn submissions are built from autograder/examples (a quarter partly wrong, a
quarter untouched, half correct, each with a different student id). Their ungraded demo cells
(the image grid, the timing table, cross-validation on the whole data set) are removed: both
graders then do the same work, and nbgrader is spared running the demos (which cost it about
14 s per notebook here), so the ratio printed is conservative. Both commands are timed end to
end, start-up included, one run each; nbgrader's course preparation (generate_assignment) is
not timed. Prints submissions per second for each grader, the ratio, and whether both agree on
which submissions get full marks and which get zero.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the test helpers: crafted submissions, the nbgrader peer

from helpers import peer  # noqa: E402
from helpers.crafting import CORRECT_EXAMPLE, PARTLY_WRONG_EXAMPLE, UNTOUCHED_EXAMPLE  # noqa: E402

#: ids of the code cells that only demonstrate (no graded or test content): the image grid,
#: the timing table, cross-validation on all training data and the test accuracy.
DEMO_SOURCES = ("show_image_grid(", "def time_call(", "k_choices = [1, 3, 5, 8",
                "classifier = KNearestNeighbor()")


def lighten(path: Path) -> bytes:
    """The notebook without its ungraded demo cells."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    nb["cells"] = [c for c in nb["cells"] if not (
        c["cell_type"] == "code" and not c.get("metadata", {}).get("nbgrader")
        and any(marker in "".join(c["source"]) for marker in DEMO_SOURCES))]
    return json.dumps(nb).encode("utf-8")


def synthetic(n: int, prefix: str) -> dict[str, bytes]:
    bases = {"correct": lighten(CORRECT_EXAMPLE), "partly_wrong": lighten(PARTLY_WRONG_EXAMPLE),
             "untouched": lighten(UNTOUCHED_EXAMPLE)}
    kinds = ["correct", "partly_wrong", "correct", "untouched"]
    return {f"{prefix}_{i:04d}_{kinds[i % 4]}": bases[kinds[i % 4]] for i in range(n)}


def run_ours(submissions: dict[str, bytes], workdir: Path, jobs: int) -> tuple[dict, float]:
    folder = workdir / "ours_in"
    folder.mkdir(parents=True)
    for student_id, raw in submissions.items():
        (folder / f"{student_id}.ipynb").write_bytes(raw)
    out = workdir / "ours_out"
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder),
                           "--assignment", "01_knn", "--out", str(out), "--jobs", str(jobs),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the grader failed:\n{done.stderr[-3000:]}")
    with open(out / "grades.csv", newline="") as handle:
        scores = {row["student_id"]: float(row["score"]) for row in csv.DictReader(handle)}
    return scores, seconds


def agreement(ours: dict, theirs: dict, full: float) -> str:
    differ = [s for s in ours if (ours[s] == full) != (theirs[s] == full)
              or (ours[s] == 0) != (theirs[s] == 0)]
    if not differ:
        return "agree on full marks and zeros"
    shown = ", ".join(f"{s}: ours {ours[s]:g}, nbgrader {theirs[s]:g}" for s in differ[:5])
    return f"DISAGREE on {len(differ)} submission(s) ({shown})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 3 only (smoke run)")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--jobs", type=int, default=2, help="our grader's processes")
    args = parser.parse_args(argv)
    sizes = args.sizes or ([3] if args.quick else [20, 200])
    print(f"machine: {os.cpu_count()} cores; our grader with --jobs {args.jobs}, sandbox on; "
          "nbgrader autograde (one kernel per notebook)", flush=True)
    with tempfile.TemporaryDirectory(prefix="grading_throughput_") as tmp:
        tmp = Path(tmp)
        course = peer.prepare_course(ROOT, tmp, "01_knn")
        rows = []
        for n in sizes:
            submissions = synthetic(n, f"n{n}")
            ours, our_seconds = run_ours(submissions, tmp / f"n{n}", args.jobs)
            theirs, their_seconds = peer.autograde(course, "01_knn", submissions)
            ratio = (n / our_seconds) / (n / their_seconds)
            rows.append((n, our_seconds, their_seconds, ratio))
            print(f"N={n:4d}  ours {our_seconds:7.2f} s = {n / our_seconds:7.1f} subs/s | "
                  f"nbgrader {their_seconds:7.1f} s = {n / their_seconds:6.2f} subs/s | "
                  f"ratio {ratio:6.1f}x | {agreement(ours, theirs, 14.0)}", flush=True)
    print("per-submission time: " + ", ".join(
        f"N={n}: ours {1e3 * o / n:.0f} ms, nbgrader {1e3 * t / n:.0f} ms"
        for n, o, t, _ in rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
