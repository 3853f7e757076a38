"""Self-checks for the 01_knn exercise (nearest neighbour and cross-validation).

Expected values come from hand-worked examples and from independent library code
(``scipy.spatial.distance.cdist``, scikit-learn's ``KNeighborsClassifier``), never from the
course's solutions.

Every rule the hidden grader enforces is tried here with the same shared code
(``utils.rules``) and the same wording: each function is called once on read-only arrays
(``call_with_read_only_inputs``: a write into an input raises), the no-loop version is read
with ``loops_in_function`` (which follows helpers and the final definition of the name), and
the dtypes, tie rules, fold order, duplicate points and integer pixels all have a case.
The other cases pass the caller's arrays themselves (no protective copies).
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from utils.checks import SelfCheck, expect, expect_array, expect_equal, read_only_result
from utils.rules import (
    RULE_FLOAT_RESULT,
    RULE_INPUTS,
    RULE_INTEGER_LABELS,
    RULE_NO_LOOPS,
    loops_in_function,
)

#: Points whose squared distance to themselves, computed as |x|^2 + |y|^2 - 2 x.y, rounds to
#: a tiny negative number with the usual numpy formulations: np.sqrt of it is NaN.
ROUND_OFF_POINTS = np.array([[1.0, -1.5, 1.6, -1.7], [-1.2, 2.1, -2.3, 1.4],
                             [1.5, -1.0, -2.2, -0.7], [2.6, 0.7, -2.3, -2.3]])

_CLAMP_HINT = ("|x|^2 + |y|^2 - 2 x.y can round to a tiny negative number for identical points; "
               "clamp it at 0 (np.maximum(..., 0)) before np.sqrt.")


def _read_only_case(check: SelfCheck, fn, args: tuple, kwargs: dict, expected, *,
                    what: str, dtype_kind: str | None = None) -> None:
    """The rule "must not modify its input arrays": ``fn`` gets read-only copies (the shared
    code the grader uses), and must still return the right values."""
    name = getattr(fn, "__name__", "the function")
    with check.case(f"does not modify its inputs (called with read-only arrays): {name} "
                    f"{RULE_INPUTS}"):
        got = read_only_result(fn, *args, **kwargs)
        if isinstance(expected, np.ndarray):
            expect_array(got, expected, what=what, dtype_kind=dtype_kind)
        else:
            expect_equal(got, expected, what=what)


# ----------------------------------------------------------------------------- distances
def _distance_cases() -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray, dict]]:
    """(description, X_train, X, expected distances (num_test, num_train), options)."""
    from scipy.spatial.distance import cdist

    X_train = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    X = np.array([[0.0, 0.0], [3.0, 0.0]])
    hand = np.array([[0.0, 5.0, 10.0], [3.0, 4.0, np.hypot(3.0, 8.0)]])
    rng = np.random.default_rng(7)
    Xr_train, Xr = rng.normal(size=(13, 5)), rng.normal(size=(4, 5))
    big_train = rng.normal(scale=1e3, size=(6, 3)) + 1e5
    big = big_train[:2] + 0.5
    ints_train = rng.integers(0, 256, size=(5, 6))
    ints = rng.integers(0, 256, size=(3, 6))
    dup_train = np.vstack([ROUND_OFF_POINTS, [[0.3, 0.9, -0.4, 1.2]]])
    dup = ROUND_OFF_POINTS[::-1].copy()
    one_train, one = np.array([[1.0, 2.0, 2.0]]), np.array([[0.0, 0.0, 0.0]])
    return [
        ("a 3-4-5 example worked by hand (test rows against train rows)", X_train, X, hand,
         {}),
        ("random points in 5-D, 4 test rows against 13 training rows", Xr_train, Xr,
         cdist(Xr, Xr_train), {}),
        ("identical points give distance 0, never NaN", dup_train, dup, cdist(dup, dup_train),
         {"atol": 1e-6, "hint": _CLAMP_HINT}),
        ("large coordinates (around 1e5)", big_train, big, cdist(big, big_train),
         {"rtol": 1e-4, "atol": 1e-6}),
        (f"integer pixel values: the function {RULE_FLOAT_RESULT}", ints_train, ints,
         cdist(ints.astype(float), ints_train.astype(float)),
         {"dtype_kind": "f", "hint": "create the result with a float dtype (np.zeros(shape) "
                                     "is float64), not with the input's integer dtype."}),
        ("a single test point against a single training point (distance 3)", one_train, one,
         np.array([[3.0]]), {}),
    ]


def _memory_note(fn) -> None:
    """Print a note (not a failed check, not graded) when the no-loop version seems to build
    a (num_test, num_train, D) array."""
    rng = np.random.default_rng(3)
    X_train, X = rng.normal(size=(300, 200)), rng.normal(size=(100, 200))
    tracemalloc.start()
    try:
        fn(X_train, X)
        _, peak = tracemalloc.get_traced_memory()
    except Exception:  # noqa: BLE001 - the cases above already report errors
        return
    finally:
        tracemalloc.stop()
    three_d = 300 * 100 * 200 * 8
    if peak >= three_d / 4:
        print(f"  note (not graded): peak memory was {peak / 1e6:.1f} MB; a (num_test, "
              f"num_train, D) array would take {three_d / 1e6:.0f} MB, too much for CIFAR-10. "
              "Expand |x - y|^2 = |x|^2 + |y|^2 - 2 x.y and use one matrix product.")


def check_distances(fn, *, no_loops: bool = False) -> None:
    """Check a ``compute_distances_*(X_train, X) -> (num_test, num_train)`` function."""
    check = SelfCheck(fn.__name__)
    cases = _distance_cases()
    for description, X_train, X, expected, options in cases:
        with check.case(description):
            hint = options.get("hint", "rows are test points, columns are training points; "
                                       "take the square root of the summed squared "
                                       "differences.")
            expect_array(fn(X_train, X), expected, rtol=options.get("rtol", 1e-6),
                         atol=options.get("atol", 1e-8), what="the distance matrix",
                         hint=hint, dtype_kind=options.get("dtype_kind"))
    _, X_train, X, expected, _ = cases[1]
    _read_only_case(check, fn, (X_train, X), {}, expected, what="the distance matrix")
    if no_loops:
        with check.case(f"{RULE_NO_LOOPS} (the check reads your code)"):
            fn(np.ones((2, 3)), np.zeros((1, 3)))  # a stub must not pass this case
            loops = loops_in_function(fn)
            expect(not loops, f"{fn.__name__}: {RULE_NO_LOOPS}; found " + ", ".join(loops) +
                   ". Use broadcasting and one matrix product instead.")
        _memory_note(fn)
    check.report()


# ----------------------------------------------------------------------------- the vote
def check_predict_labels(fn) -> None:
    """Check ``predict_labels(dists, y_train, k=1) -> (num_test,)`` integer labels."""
    check = SelfCheck(fn.__name__)
    dists = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0], [1.0, 1.5, 0.5, 9.0]])
    y_train = np.array([2, 1, 1, 0])
    with check.case("k=1 picks the label of the single nearest training point"):
        expect_array(fn(dists, y_train, k=1), np.array([2, 0, 1]), what="the predicted labels",
                     dtype_kind="iuf")
    with check.case("k=3 takes the majority of the three nearest"):
        expect_array(fn(dists, y_train, k=3), np.array([1, 1, 1]), what="the predicted labels",
                     dtype_kind="iuf")
    with check.case("a tie in the vote goes to the smallest label"):
        expect_array(fn(dists, y_train, k=2), np.array([1, 0, 1]), what="the predicted labels",
                     dtype_kind="iuf",
                     hint="with k=2 the first row's neighbours have labels 2 and 1: a tie, so 1. "
                          "np.bincount(...).argmax() returns the smallest winner.")
    with check.case("equal distances: the earlier training point wins"):
        labels = np.array([1, 4, 2, 3, 2, 3, 1, 2] + [3] * 32)
        equal = np.array([[1.0, 2.0] * 20, [2.0, 1.0] * 20])
        expect_array(fn(equal, labels, k=3), np.array([2, 3]), what="the predicted labels",
                     dtype_kind="iuf",
                     hint="40 training points at distances 1, 2, 1, 2, ...: the three nearest "
                          "are the first three at distance 1 (indices 0, 2, 4 in the first row). "
                          "Sort with np.argsort(..., kind=\"stable\"); the default sort and "
                          "np.argpartition may pick others.")
    with check.case("k = num_train: every training point votes"):
        expect_array(fn(dists, y_train, k=4), np.array([1, 1, 1]), what="the predicted labels",
                     dtype_kind="iuf")
    with check.case("a single test point"):
        expect_array(fn(dists[:1], y_train, k=3), np.array([1]), what="the predicted label",
                     dtype_kind="iuf")
    with check.case(f"predict_labels {RULE_INTEGER_LABELS}"):
        got = fn(dists, y_train, k=3)
        expect_array(got, np.array([1, 1, 1]), what="the predicted labels", dtype_kind="iu",
                     hint="create y_pred with an integer dtype, e.g. np.zeros(num_test, "
                          "dtype=np.int64).")
    _read_only_case(check, fn, (dists, y_train), {"k": 3}, np.array([1, 1, 1]),
                    what="the predicted labels", dtype_kind="iuf")
    check.report()


# ----------------------------------------------------------------------------- cross-validation
def _toy_folds() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(11)
    X = np.concatenate([rng.normal(0, 1, (20, 2)), rng.normal(2.2, 1, (20, 2))])
    y = np.repeat([0, 1], 20)
    order = rng.permutation(40)
    return X[order], y[order]


def _sklearn_fold_accuracies(X, y, k_choices, num_folds) -> dict:
    """{k: [accuracy per fold]} with np.array_split folds and scikit-learn's classifier."""
    from sklearn.neighbors import KNeighborsClassifier

    folds_X, folds_y = np.array_split(X, num_folds), np.array_split(y, num_folds)
    expected = {}
    for k in k_choices:
        accs = []
        for i in range(num_folds):
            train_X = np.concatenate([f for j, f in enumerate(folds_X) if j != i])
            train_y = np.concatenate([f for j, f in enumerate(folds_y) if j != i])
            model = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(train_X, train_y)
            accs.append(float(np.mean(model.predict(folds_X[i]) == folds_y[i])))
        expected[k] = accs
    return expected


def _expect_accuracies(got, expected: dict, num_folds: int) -> None:
    expect(isinstance(got, dict), f"Expected a dict k -> list of accuracies, got "
                                  f"{type(got).__name__}.")
    expect_equal(sorted(got), sorted(expected), what="the keys of the result")
    for k in expected:
        expect(isinstance(got[k], list) and len(got[k]) == num_folds,
               f"Expected a list of {num_folds} accuracies for k={k}, got {got[k]!r:.80}.")
        expect_array(np.asarray(got[k], dtype=float), np.array(expected[k]),
                     what=f"the accuracies for k={k}",
                     hint="split with np.array_split(X, num_folds) in the given order, hold "
                          "out fold i, train on the concatenation of the others.")


def check_cross_validate(fn) -> None:
    """Check ``cross_validate(X, y, k_choices, num_folds=5) -> {k: [accuracy per fold]}``."""
    check = SelfCheck(fn.__name__)
    X, y = _toy_folds()
    k_choices = [1, 3, 5]
    expected = _sklearn_fold_accuracies(X, y, k_choices, 4)
    with check.case("returns a dict with one list of num_folds accuracies per k"):
        got = fn(X, y, k_choices, num_folds=4)
        expect(isinstance(got, dict), f"Expected a dict k -> list of accuracies, got "
                                      f"{type(got).__name__}.")
        expect_equal(sorted(got), k_choices, what="the keys of the result")
        for k in k_choices:
            expect(isinstance(got[k], list) and len(got[k]) == 4,
                   f"Expected a list of 4 accuracies for k={k}, got {got[k]!r:.80}.")
    with check.case("fold accuracies match np.array_split folds held out in turn"):
        _expect_accuracies(fn(X, y, k_choices, num_folds=4), expected, 4)
    with check.case("uneven folds: 38 points in 4 folds (np.array_split makes 10, 10, 9, 9)"):
        _expect_accuracies(fn(X[:38], y[:38], [1, 3], num_folds=4),
                           _sklearn_fold_accuracies(X[:38], y[:38], [1, 3], 4), 4)
    with check.case(f"does not modify its inputs (called with read-only arrays): "
                    f"cross_validate {RULE_INPUTS}"):
        got = read_only_result(fn, X, y, [1, 3], num_folds=4)
        _expect_accuracies(got, {k: expected[k] for k in (1, 3)}, 4)
    check.report()


# ----------------------------------------------------------------------------- the classifier
def check_knn_class(cls) -> None:
    """Check ``KNearestNeighbor`` with ``train(X, y)`` and ``predict(X, k=1, num_loops=0)``."""
    from scipy.spatial.distance import cdist
    from sklearn.neighbors import KNeighborsClassifier

    check = SelfCheck(cls.__name__)
    X, y = _toy_folds()
    X_train, y_train, X_test = X[:30], y[:30], X[30:]
    nearest = np.argsort(cdist(X_test, X_train), axis=1, kind="stable")[:, 0]
    for loops in (0, 1, 2):
        with check.case(f"predict with k=1 and num_loops={loops} returns the nearest label"):
            model = cls()
            model.train(X_train, y_train)
            expect_array(model.predict(X_test, k=1, num_loops=loops), y_train[nearest],
                         what="the predictions", dtype_kind="iuf")
    with check.case("predict with k=3 takes the majority of the three nearest"):
        # The nearest neighbour of the first test point has label 1, the next two label 0.
        small_train = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.2], [5.0, 5.0], [5.0, 6.1],
                                [6.3, 5.0]])
        small_labels = np.array([1, 0, 0, 1, 1, 0])
        small_test = np.array([[0.1, 0.1], [5.2, 5.3]])
        model = cls()
        model.train(small_train, small_labels)
        expected = KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(
            small_train, small_labels).predict(small_test)
        expect_array(model.predict(small_test, k=3), expected, what="the predictions",
                     dtype_kind="iuf", hint="pass k on to predict_labels.")
    with check.case("an unknown num_loops is refused with a ValueError"):
        model = cls()
        model.train(X_train, y_train)
        model.predict(X_test, k=1)  # a stub must not pass this case
        try:
            model.predict(X_test, num_loops=3)
        except ValueError:
            pass
        else:
            expect(False, "predict(X, num_loops=3) should raise ValueError('...') naming the "
                          "valid choices 0, 1 and 2.")
    check.report()
