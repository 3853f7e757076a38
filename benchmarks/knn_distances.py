"""Benchmark: the reference no-loop kNN distances against a plain GEMM and scikit-learn.

    .venv/bin/python benchmarks/knn_distances.py [--repeats 7] [--quick]

At CIFAR-10 sizes (500 test rows and 5000 training rows of 3072 float64 features) it times,
in one process and on the same data:
- the reference ``compute_distances_no_loops`` extracted from solutions/01_knn/01_knn.ipynb,
- a plain GEMM ``X @ X_train.T`` (the floor: any exact method needs this product),
- scikit-learn's ``euclidean_distances`` (the peer),
- the textbook ``sqrt(|a|^2 + |b|^2 - 2ab)`` written with fresh temporaries,
and prints the median times and the ratios to the GEMM. Target: no-loop within 1.10x.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import nbformat
import numpy as np

ROOT = Path(__file__).resolve().parent.parent


def reference_functions(assignment: str = "01_knn") -> dict:
    """Execute the solution notebook's graded cells (nbgrader solution cells) in a namespace."""
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    namespace: dict = {"np": np}
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.metadata.get("nbgrader", {}).get("solution"):
            exec(compile(cell.source, f"<{assignment} solution cell>", "exec"), namespace)
    return namespace


def textbook(X_train: np.ndarray, X: np.ndarray) -> np.ndarray:
    sq = np.sum(X ** 2, axis=1)[:, None] + np.sum(X_train ** 2, axis=1)[None, :] - 2 * X @ X_train.T
    return np.sqrt(np.maximum(sq, 0))


def median_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: page faults, BLAS thread start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke test")
    args = parser.parse_args()
    num_test, num_train, dim = (50, 500, 307) if args.quick else (500, 5000, 3072)
    rng = np.random.default_rng(0)
    X_train = rng.uniform(0, 255, size=(num_train, dim))
    X = rng.uniform(0, 255, size=(num_test, dim))
    no_loops = reference_functions()["compute_distances_no_loops"]
    from sklearn.metrics.pairwise import euclidean_distances

    candidates = {
        "GEMM X @ X_train.T": lambda: X @ X_train.T,
        "reference no-loop": lambda: no_loops(X_train, X),
        "sklearn euclidean_distances": lambda: euclidean_distances(X, X_train),
        "textbook |a|^2+|b|^2-2ab": lambda: textbook(X_train, X),
    }
    assert np.allclose(no_loops(X_train, X), euclidean_distances(X, X_train), rtol=1e-7)
    times = {name: median_seconds(fn, args.repeats) for name, fn in candidates.items()}
    gemm = times["GEMM X @ X_train.T"]
    print(f"sizes: {num_test} x {dim} test rows against {num_train} x {dim} training rows, "
          f"float64, median of {args.repeats}")
    for name, seconds in times.items():
        print(f"{name:<30}{1e3 * seconds:9.1f} ms   {seconds / gemm:5.2f}x GEMM")
    print(f"ratio reference no-loop / GEMM: {times['reference no-loop'] / gemm:.3f} (target <= 1.10)")
    print(f"ratio sklearn / GEMM: {times['sklearn euclidean_distances'] / gemm:.3f}")


if __name__ == "__main__":
    main()
