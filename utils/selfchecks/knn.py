"""Self-checks for the 01_knn exercise (nearest neighbour and cross-validation).

Expected values come from hand-worked examples and from independent library code
(``scipy.spatial.distance.cdist``, scikit-learn's ``KNeighborsClassifier``), never from the
course's solutions.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from utils.checks import SelfCheck, expect, expect_array, expect_equal, python_loops


def _distance_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(description, X_train, X, expected distances (num_test, num_train))."""
    from scipy.spatial.distance import cdist

    X_train = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    X = np.array([[0.0, 0.0], [3.0, 0.0]])
    hand = np.array([[0.0, 5.0, 10.0], [3.0, 4.0, np.hypot(3.0, 8.0)]])
    rng = np.random.default_rng(7)
    Xr_train, Xr = rng.normal(size=(13, 5)), rng.normal(size=(4, 5))
    big_train = rng.normal(scale=1e3, size=(6, 3)) + 1e5
    return [
        ("a 3-4-5 example worked by hand (test rows against train rows)", X_train, X, hand),
        ("random points in 5-D, 4 test rows against 13 training rows", Xr_train, Xr,
         cdist(Xr, Xr_train)),
        ("identical points give distance 0, not NaN", X_train, X_train.copy(),
         cdist(X_train, X_train)),
        ("large coordinates (around 1e5)", big_train, big_train[:2] + 0.5,
         cdist(big_train[:2] + 0.5, big_train)),
    ]


def check_distances(fn, *, no_loops: bool = False) -> None:
    """Check a ``compute_distances_*(X_train, X) -> (num_test, num_train)`` function."""
    check = SelfCheck(fn.__name__)
    for description, X_train, X, expected in _distance_cases():
        with check.case(description):
            before = (X_train.copy(), X.copy())
            got = fn(X_train, X)
            rtol = 1e-6 if "large" not in description else 1e-4
            expect_array(got, expected, rtol=rtol, atol=1e-6 if "large" in description else 1e-8,
                         what="the distance matrix",
                         hint="rows are test points, columns are training points; take the "
                              "square root of the summed squared differences.")
            expect(np.array_equal(before[0], X_train) and np.array_equal(before[1], X),
                   "The function changed its inputs X_train or X; work on new arrays instead.")
    if no_loops:
        with check.case("uses no Python loops (for, while, comprehensions)"):
            fn(np.ones((2, 3)), np.zeros((1, 3)))  # a stub must not pass this case
            loops = python_loops(fn)
            expect(not loops, "Found Python loops: " + ", ".join(loops) +
                   ". Use broadcasting and matrix products instead.")
        with check.case("never builds a (num_test, num_train, D) array"):
            rng = np.random.default_rng(3)
            X_train, X = rng.normal(size=(300, 200)), rng.normal(size=(100, 200))
            tracemalloc.start()
            try:
                fn(X_train, X)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            three_d = 300 * 100 * 200 * 8
            expect(peak < three_d / 4,
                   f"Peak memory was {peak / 1e6:.1f} MB; a (num_test, num_train, D) array would "
                   f"take {three_d / 1e6:.0f} MB. Expand |x - y|^2 = |x|^2 + |y|^2 - 2 x.y "
                   "and use one matrix product.")
    check.report()


def check_predict_labels(fn) -> None:
    """Check ``predict_labels(dists, y_train, k=1) -> (num_test,)`` integer labels."""
    check = SelfCheck(fn.__name__)
    dists = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [1.0, 1.5, 0.5, 9.0]])
    y_train = np.array([2, 1, 1, 0])
    with check.case("k=1 picks the label of the single nearest training point"):
        got = fn(dists, y_train, k=1)
        expect_array(got, np.array([2, 0, 1]), what="the predicted labels", dtype_kind="iu")
    with check.case("k=3 takes the majority of the three nearest"):
        got = fn(dists, y_train, k=3)
        expect_array(got, np.array([1, 1, 1]), what="the predicted labels", dtype_kind="iu")
    with check.case("a tie in the vote goes to the smallest label"):
        got = fn(dists, y_train, k=2)
        expect_array(got, np.array([1, 0, 1]), what="the predicted labels", dtype_kind="iu",
                     hint="with k=2 the first row's neighbours have labels 2 and 1: a tie, so 1. "
                          "np.bincount(...).argmax() returns the smallest winner.")
    with check.case("does not change dists or y_train"):
        d, yt = dists.copy(), y_train.copy()
        fn(d, yt, k=3)
        expect(np.array_equal(d, dists) and np.array_equal(yt, y_train),
               "predict_labels changed its inputs; sort a copy (np.argsort) instead of in place.")
    check.report()


def _toy_folds() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = np.concatenate([rng.normal(0, 1, (20, 2)), rng.normal(2.2, 1, (20, 2))])
    y = np.repeat([0, 1], 20)
    order = rng.permutation(40)
    return X[order], y[order]


def check_cross_validate(fn) -> None:
    """Check ``cross_validate(X, y, k_choices, num_folds=5) -> {k: [accuracy per fold]}``."""
    from sklearn.neighbors import KNeighborsClassifier

    check = SelfCheck(fn.__name__)
    X, y = _toy_folds()
    k_choices = [1, 3, 5]
    folds_X, folds_y = np.array_split(X, 4), np.array_split(y, 4)
    expected = {}
    for k in k_choices:
        accs = []
        for i in range(4):
            train_X = np.concatenate([f for j, f in enumerate(folds_X) if j != i])
            train_y = np.concatenate([f for j, f in enumerate(folds_y) if j != i])
            model = KNeighborsClassifier(n_neighbors=k).fit(train_X, train_y)
            accs.append(float(np.mean(model.predict(folds_X[i]) == folds_y[i])))
        expected[k] = accs
    with check.case("returns a dict with one list of num_folds accuracies per k"):
        got = fn(X, y, k_choices, num_folds=4)
        expect(isinstance(got, dict), f"Expected a dict k -> list of accuracies, got "
                                      f"{type(got).__name__}.")
        expect_equal(sorted(got), k_choices, what="the keys of the result")
        for k in k_choices:
            expect(len(got[k]) == 4, f"Expected 4 accuracies for k={k}, got {len(got[k])}.")
    with check.case("fold accuracies match np.array_split folds held out in turn"):
        got = fn(X, y, k_choices, num_folds=4)
        for k in k_choices:
            expect_array(np.asarray(got[k], dtype=float), np.array(expected[k]),
                         what=f"the accuracies for k={k}",
                         hint="split with np.array_split(X, num_folds) in the given order, hold "
                              "out fold i, train on the concatenation of the others.")
    check.report()


def check_knn_class(cls) -> None:
    """Check ``KNearestNeighbor`` with ``train(X, y)`` and ``predict(X, k=1, num_loops=0)``."""
    from scipy.spatial.distance import cdist

    check = SelfCheck(cls.__name__)
    X, y = _toy_folds()
    X_train, y_train, X_test = X[:30], y[:30], X[30:]
    nearest = np.argsort(cdist(X_test, X_train), axis=1, kind="stable")[:, 0]
    for loops in (0, 1, 2):
        with check.case(f"predict with k=1 and num_loops={loops} returns the nearest label"):
            model = cls()
            model.train(X_train, y_train)
            got = model.predict(X_test, k=1, num_loops=loops)
            expect_array(got, y_train[nearest], what="the predictions", dtype_kind="iu")
    with check.case("an unknown num_loops is refused with a ValueError"):
        model = cls()
        model.train(X_train, y_train)
        try:
            model.predict(X_test, num_loops=3)
        except ValueError:
            pass
        else:
            expect(False, "predict(X, num_loops=3) should raise ValueError('...') naming the "
                          "valid choices 0, 1 and 2.")
    check.report()
