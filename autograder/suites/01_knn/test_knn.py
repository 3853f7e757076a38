"""Hidden suite for 01_knn: distances (three versions), majority vote, classifier, cross-validation.

Points mirror the notebook's autograded test cells: 2 + 2 + 3 + 2 + 2 + 3 = 14. Every test
gives partial credit per part (points * passed parts / parts).

Grading policy (CONTRIBUTING.md, "Grading policy"):
- A grade depends on the code and the seed only: nothing is measured in seconds; whether the
  no-loop version is vectorised is read from its code (``student.loops``, which follows
  helpers and the final binding).
- Every student meets every edge case: they are fixed inputs (duplicate points whose
  |a|^2 + |b|^2 - 2 a.b rounds below zero, vote ties, equal distances, k = num_train, a single
  sample, integer pixels, large values, uneven folds). ``rng`` varies only the values of the
  generic parts, which are built far from every edge case (points well apart, no vote ties,
  no equal distances), so the same code gets the same score under every seed.
- One function, one grade: the classifier and cross_validate are compared with the reference
  and with the reference given the student's own helpers (``reference.using``), so a wrong
  vote costs points in predict_labels only.
- Property parts (inputs unchanged, no loops, integer labels, the ValueError) pay only when
  the test's first part (the values on generic inputs) passed, and then check only their
  property: zeros, constants, echoed inputs and ``raise`` earn nothing.
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.errors import StudentError
from autograder.expect import (
    raises_student_error,
    result_on_read_only_inputs,
    same_array,
    same_as_one_of,
    same_value,
)
from autograder.fixtures import describe_failure
from utils.rules import RULE_INTEGER_LABELS, RULE_NO_LOOPS

DISTANCE_FUNCTIONS = ("compute_distances_two_loops", "compute_distances_one_loop",
                      "compute_distances_no_loops")

# ----------------------------------------------------------------------------- fixed inputs
#: Four 4-D points whose squared distance to themselves, computed as |a|^2 + |b|^2 - 2 a.b,
#: rounds below zero with every common formulation (sums of squares, einsum or norms; `@`,
#: np.dot or np.matmul; either operand order): without a clamp, np.sqrt gives NaN for them.
ROUND_OFF_POINTS = np.array([[1.0, -1.5, 1.6, -1.7], [-1.2, 2.1, -2.3, 1.4],
                             [1.5, -1.0, -2.2, -0.7], [2.6, 0.7, -2.3, -2.3]])
_OTHERS = np.array([[0.3, 0.9, -0.4, 1.2], [-0.8, 0.1, 1.9, -0.6], [2.0, -0.3, 0.5, 0.8]])
#: 7 training and 5 test points; four test points duplicate training points.
DUPLICATES_TRAIN = np.vstack([ROUND_OFF_POINTS[:2], _OTHERS[:1], ROUND_OFF_POINTS[2:],
                              _OTHERS[1:]])
DUPLICATES_TEST = np.vstack([ROUND_OFF_POINTS[3], _OTHERS[2] + 0.25, ROUND_OFF_POINTS[0],
                             ROUND_OFF_POINTS[2], ROUND_OFF_POINTS[1]])

#: Vote ties with distinct distances: (distances, k). Labels TIE_LABELS; in every row the
#: nearest neighbour has a larger label than the tie's winner (the smallest tied label).
TIE_LABELS = np.array([4, 2, 3, 1, 3, 2])
TIE_CASES = (
    (np.array([[0.1, 0.2, 0.5, 0.6, 0.7, 0.8],      # 4 and 2 tie -> 2
               [0.5, 0.6, 0.1, 0.2, 0.7, 0.8],      # 3 and 1 tie -> 1
               [0.6, 0.2, 0.7, 0.8, 0.1, 0.5]]), 2),  # 3 and 2 tie -> 2
    (np.array([[0.1, 0.3, 0.2, 0.6, 0.7, 0.8]]), 3),  # 4, 3, 2 once each -> 2
    (np.array([[0.7, 0.2, 0.1, 0.8, 0.3, 0.4]]), 4),  # 3, 2, 3, 2 -> 2
)

#: Equal distances (40 training points, alternating 1.0 and 2.0): with k=3 the three
#: earliest of the equally close points vote; an unstable sort (np.argsort's default,
#: np.argpartition) picks others and so another label. No vote ties among the right three.
EQUAL_LABELS = np.array([1, 4, 2, 3, 2, 3, 1, 2] + [3] * 32)
EQUAL_DISTANCES = np.array([[1.0, 2.0] * 20, [2.0, 1.0] * 20])

#: Cross-validation with duplicated points (2 folds, each point of one fold repeated in the
#: other): the 1-NN of a held-out round-off point is its duplicate, at distance 0; a NaN there
#: makes a neighbour of the other label win.
_NEAR = ROUND_OFF_POINTS + np.array([[0.5, 0, 0, 0], [0, -0.5, 0, 0], [0, 0, 0.5, 0],
                                     [0, 0, 0, -0.5]])
_STRAY = np.array([[0.2, 0.1, 0.0, 0.3]])
CV_DUPLICATES_X = np.vstack([ROUND_OFF_POINTS, _NEAR + [0.1, 0, 0, 0], _STRAY,
                             ROUND_OFF_POINTS, _NEAR - [0, 0.1, 0, 0], _STRAY + 0.05])
CV_DUPLICATES_Y = np.array([1] * 4 + [0] * 4 + [1] + [1] * 4 + [0] * 4 + [0])

#: Cross-validation where k=2 votes tie (points on a line, all distances distinct, 2 folds).
CV_TIES_X = np.stack([np.array([41.0, 35, 57, 16, 28, 34, 3, 25, 43, 1]), np.zeros(10)],
                     axis=1)
CV_TIES_Y = np.array([1, 0, 1, 1, 0, 0, 0, 0, 1, 0])


# ----------------------------------------------------------------------------- helpers
def _exact_distances(X_train, X) -> np.ndarray:
    """The definition: sqrt of summed squared differences, (num_test, num_train), float64."""
    diff = np.asarray(X, dtype=float)[:, None, :] - np.asarray(X_train, dtype=float)[None]
    return np.sqrt(np.sum(diff ** 2, axis=-1))


def _apart(rng, num_train: int, num_test: int, dim: int, scale=1.0, offset=0.0):
    """Random training and test points, every test point at least 0.3 * scale from every
    training point (no near-duplicates: round-off never matters)."""
    for _ in range(1000):
        X_train = offset + rng.normal(scale=scale, size=(num_train, dim))
        X = offset + rng.normal(scale=scale, size=(num_test, dim))
        if _exact_distances(X_train, X).min() >= 0.3 * scale:
            return X_train, X
    raise RuntimeError("the suite could not draw separated points")  # pragma: no cover


def _passed(partial) -> bool:
    """Whether the part that just ended passed."""
    return partial.parts[-1].passed


def _needs(first_part_passed: bool, first_part: str) -> None:
    """A property earns its part only when the values are right."""
    if not first_part_passed:
        raise AssertionError(f"not checked until the part \"{first_part}\" passes (a property "
                             "such as this one earns points only when the values are right)")



def _same_given_own_helpers(got, expected, alternatives, what: str) -> None:
    """Pass when ``got`` matches the reference's ``expected`` value, or the reference's value
    given the student's own helpers (``alternatives``: (label, thunk) pairs, tried lazily,
    so a bug in a helper costs points only in the helper's test)."""
    try:
        same_value(got, expected, what=what)
        return
    except AssertionError as failure:
        first = failure
    options, notes = [expected], []
    for label, compute in alternatives:
        try:
            options.append(compute())
        except StudentError as error:
            notes.append(f"with your {label}: {describe_failure(error)}")
    try:
        same_as_one_of(got, options, what=what)
    except AssertionError:
        note = ("\n(it could not be compared with the right answer given your own helpers, "
                "because they failed: " + "; ".join(notes) + ")") if notes else ""
        raise AssertionError(f"{first}{note}") from None


def _has_vote_tie(row, labels, k) -> bool:
    counts = np.bincount(labels[np.argsort(row, kind="stable")[:k]])
    return int(np.sum(counts == counts.max())) > 1


def _votes(dists, labels, k) -> list[int]:
    """The rule (stable order, smallest label wins a tie), used only to build inputs."""
    return [int(np.bincount(labels[np.argsort(row, kind="stable")[:k]]).argmax())
            for row in dists]


def _untied_votes(rng, num_train: int, num_test: int, ks=(1, 3)):
    """Random distances (all distinct) and labels 0..4 where no k-vote of ``ks`` ties, every
    k in ``ks`` predicts at least two different labels, different k predict differently
    (a k that is ignored shows), and one label other than 0 is the strict majority of all
    training labels (so k = num_train has no tie either)."""
    for _ in range(1000):
        labels = rng.integers(0, 5, size=num_train)
        counts = np.bincount(labels, minlength=5)
        if np.sum(counts == counts.max()) == 1 and counts.argmax() != 0:
            break
    else:  # pragma: no cover
        raise RuntimeError("the suite could not draw untied labels")
    for _ in range(1000):
        rows = []
        while len(rows) < num_test:
            row = rng.random(num_train)
            if not any(_has_vote_tie(row, labels, k) for k in ks):
                rows.append(row)
        dists = np.array(rows)
        winners = [_votes(dists, labels, k) for k in ks]
        if all(len(set(w)) > 1 for w in winners) and \
                len({tuple(w) for w in winners}) == len(winners):
            return dists, labels
    raise RuntimeError("the suite could not draw varied votes")  # pragma: no cover


def _two_clusters(rng, n: int, dim: int = 4):
    """n labelled points (labels 0 and 1, both present) in two overlapping clusters."""
    labels = np.arange(n) % 2
    rng.shuffle(labels)
    centres = np.array([np.zeros(dim), np.full(dim, 1.2)])
    return centres[labels] + rng.normal(size=(n, dim)), labels


# ----------------------------------------------------------------------------- distances
def _distance_parts(name, student, rng, partial, extra_no_loops=False):
    def call(*args):
        return getattr(student, name)(*args)

    X_train, X = _apart(rng, 9, 5, 3)
    expected = _exact_distances(X_train, X)
    first = "random points"
    with partial.part(first):
        same_array(call(X_train, X), expected, what="the distance matrix for random points")
    values_right = _passed(partial)
    with partial.part("a single test point and a single training point"):
        a, b = _apart(rng, 1, 1, 3)
        same_array(call(a, b), _exact_distances(a, b), what="the 1x1 distance matrix")
    with partial.part("duplicate points are at distance 0 (never NaN)"):
        got = call(DUPLICATES_TRAIN, DUPLICATES_TEST)
        if isinstance(got, np.ndarray) and got.shape == (5, 7) and got.dtype.kind == "f" \
                and np.isnan(got).any():
            raise AssertionError(
                f"{int(np.isnan(got).sum())} distances between identical points are NaN: "
                "|x|^2 + |y|^2 - 2 x.y can round to a tiny negative number; clamp it at 0 "
                "(np.maximum(..., 0)) before np.sqrt")
        same_array(got, _exact_distances(DUPLICATES_TRAIN, DUPLICATES_TEST), atol=1e-6,
                   what="the distances between duplicated points")
    with partial.part("large values (around 5e4, spread 1e4)"):
        big_train, big = _apart(rng, 8, 6, 5, scale=1e4, offset=5e4)
        same_array(call(big_train, big), _exact_distances(big_train, big), rtol=1e-6,
                   what="the distances of large points")
    with partial.part("integer pixel values give float distances"):
        for _ in range(1000):
            ints_train = rng.integers(0, 256, size=(7, 6))
            ints = rng.integers(0, 256, size=(4, 6))
            if _exact_distances(ints_train, ints).min() >= 1:
                break
        same_array(call(ints_train, ints), _exact_distances(ints_train, ints),
                   what="the distances of integer pixel values (float values expected)")
    with partial.part("inputs are not modified"):
        _needs(values_right, first)
        same_array(result_on_read_only_inputs(student, name, X_train, X), expected,
                   what="the distance matrix computed from read-only inputs")
    if extra_no_loops:
        with partial.part("no Python loops (read from your code)"):
            _needs(values_right, first)
            loops = student.loops(name)
            assert not loops, f"`{name}`: {RULE_NO_LOOPS}; found " + ", ".join(loops)


@pytest.mark.points(2)
def test_compute_distances_two_loops(student, rng, partial):
    _distance_parts("compute_distances_two_loops", student, rng, partial)


@pytest.mark.points(2)
def test_compute_distances_one_loop(student, rng, partial):
    _distance_parts("compute_distances_one_loop", student, rng, partial)


@pytest.mark.points(3)
def test_compute_distances_no_loops(student, rng, partial):
    _distance_parts("compute_distances_no_loops", student, rng, partial, extra_no_loops=True)


# ----------------------------------------------------------------------------- the vote
@pytest.mark.points(2)
def test_predict_labels(student, reference, rng, partial):
    num_train, num_test = 11, 6
    dists, y_train = _untied_votes(rng, num_train, num_test)

    def check(d, labels, k, what):
        same_array(student.predict_labels(d, labels, k=k),
                   reference.predict_labels(d, labels, k=k), dtype_kind="iuf", what=what)

    first = "random distances, k=1"
    with partial.part(first):
        check(dists, y_train, 1, "the predicted labels for k=1")
    values_right = _passed(partial)
    with partial.part("random distances, k=3 (no vote ties)"):
        check(dists, y_train, 3, "the predicted labels for k=3")
    with partial.part("k = num_train: every training point votes"):
        check(dists, y_train, num_train, f"the predicted labels for k={num_train}")
        relabelled = (y_train + 1) % 5  # another majority label: a constant cannot pass
        check(dists, relabelled, num_train, f"the predicted labels for k={num_train} "
              "(other labels)")
    with partial.part("a vote tie goes to the smallest label"):
        for tie_dists, k in TIE_CASES:
            check(tie_dists, TIE_LABELS, k, f"the labels for tied votes with k={k}")
    with partial.part("equal distances: the earlier training point wins"):
        check(EQUAL_DISTANCES, EQUAL_LABELS, 3,
              "the labels when several training points are equally close (k=3)")
    with partial.part("a single test point"):
        by_k3 = _votes(dists, y_train, 3)
        other = next(i for i, label in enumerate(by_k3) if label != by_k3[0])
        for row in (0, other):  # two points with different labels: a constant cannot pass
            check(dists[row:row + 1], y_train, 3, "the predicted label of one test point")
    with partial.part("integer labels"):
        _needs(values_right, first)
        got = student.predict_labels(dists, y_train, k=3)
        kind = got.dtype.kind if isinstance(got, np.ndarray) else None
        assert kind in ("i", "u"), (
            f"predict_labels {RULE_INTEGER_LABELS}; got "
            + (f"an array of dtype {got.dtype}" if kind else f"a {type(got).__name__}"))
    with partial.part("inputs are not modified"):
        _needs(values_right, first)
        same_array(result_on_read_only_inputs(student, "predict_labels", dists, y_train, k=3),
                   reference.predict_labels(dists, y_train, k=3), dtype_kind="iuf",
                   what="the labels computed from read-only inputs")


# ----------------------------------------------------------------------------- the classifier
_ALL_HELPERS = (*DISTANCE_FUNCTIONS, "predict_labels")


def _classifier_alternatives(student, reference, predict):
    """(label, thunk) pairs: ``predict(proxy)`` on the reference given the student's helpers."""
    return [
        ("distance functions and predict_labels",
         lambda: predict(reference.using(student, *_ALL_HELPERS))),
        ("predict_labels", lambda: predict(reference.using(student, "predict_labels"))),
        ("distance functions", lambda: predict(reference.using(student, *DISTANCE_FUNCTIONS))),
    ]


def _trained(proxy, X, y):
    model = proxy.KNearestNeighbor()
    model.train(X, y)
    return model


def _self_labels_data(rng):
    """Training points for '1-NN on its own training points': random cluster points plus the
    round-off points, each labelled unlike its nearest other point (so a NaN self-distance
    changes the answer)."""
    for _ in range(1000):
        X, y = _two_clusters(rng, 16)
        others = _exact_distances(X, ROUND_OFF_POINTS).argmin(axis=1)
        X, y = np.vstack([X, ROUND_OFF_POINTS]), np.concatenate([y, 1 - y[others]])
        dists = _exact_distances(X, X)
        np.fill_diagonal(dists, np.inf)
        if np.all(y[dists.argmin(axis=1)[16:]] != y[16:]):
            return X, y
    raise RuntimeError("the suite could not draw labelled points")  # pragma: no cover


@pytest.mark.points(2)
def test_knn_classifier(student, reference, rng, partial):
    for _ in range(1000):  # points apart; both labels predicted; k=1 and k=3 differ
        X_train, y_train = _two_clusters(rng, 24)
        X_test, _ = _two_clusters(rng, 9)
        dists = _exact_distances(X_train, X_test)
        by_k = [_votes(dists, y_train, k) for k in (1, 3)]
        if dists.min() >= 0.1 and len(set(by_k[1])) > 1 and by_k[0] != by_k[1]:
            break
    else:  # pragma: no cover
        raise RuntimeError("the suite could not draw classifier data")
    first, values_right = "predict with num_loops=0, k=3", False
    for num_loops in (0, 1, 2):
        with partial.part(f"predict with num_loops={num_loops}, k=3"):
            def predict(proxy, num_loops=num_loops):
                return _trained(proxy, X_train, y_train).predict(X_test, k=3,
                                                                 num_loops=num_loops)
            _same_given_own_helpers(
                predict(student), predict(reference),
                _classifier_alternatives(student, reference, predict),
                what=f"predict(X, k=3, num_loops={num_loops})")
        if num_loops == 0:
            values_right = _passed(partial)
    with partial.part("k=1 on its own training points returns their labels"):
        X_self, y_self = _self_labels_data(rng)

        def predict_self(proxy):
            return _trained(proxy, X_self, y_self).predict(X_self, k=1)
        _same_given_own_helpers(predict_self(student), predict_self(reference),
                                _classifier_alternatives(student, reference, predict_self),
                                what="1-NN on its own training points")
    with partial.part("an unknown num_loops raises ValueError"):
        _needs(values_right, first)
        with raises_student_error("ValueError", what="predict(X, num_loops=3)"):
            _trained(student, X_train, y_train).predict(X_test, k=1, num_loops=3)


# ----------------------------------------------------------------------------- cross-validation
def _cross_validate_alternatives(student, reference, *args, **kwargs):
    def given(*names):
        return lambda: reference.using(student, *names).cross_validate(*args, **kwargs)
    return [("KNearestNeighbor", given("KNearestNeighbor")),
            ("compute_distances_no_loops and predict_labels",
             given("compute_distances_no_loops", "predict_labels")),
            ("predict_labels", given("predict_labels"))]


def _cross_validate_part(student, reference, what, *args, **kwargs):
    got = student.cross_validate(*args, **kwargs)
    _same_given_own_helpers(got, reference.cross_validate(*args, **kwargs),
                            _cross_validate_alternatives(student, reference, *args, **kwargs),
                            what=what)
    return got


@pytest.mark.points(3)
def test_cross_validate(student, reference, rng, partial):
    for _ in range(1000):  # accuracies differ between folds and between k (constants and
        X, y = _two_clusters(rng, 30)  # an ignored k cannot match)
        X_odd, y_odd = _two_clusters(rng, 22)
        accuracies = reference.cross_validate(X, y, [1, 3, 5], num_folds=5)
        uneven = reference.cross_validate(X_odd, y_odd, [1, 3], num_folds=4)
        if len({a for fold in accuracies.values() for a in fold}) > 1 and \
                len({tuple(a) for a in accuracies.values()}) > 1 and uneven[1] != uneven[3]:
            break
    else:  # pragma: no cover
        raise RuntimeError("the suite could not draw cross-validation data")
    first = "accuracies per k and fold (30 points, 5 folds, k = 1, 3, 5)"
    got = None
    with partial.part(first):
        got = _cross_validate_part(student, reference,
                                   "cross_validate(X, y, [1, 3, 5], num_folds=5)",
                                   X, y, [1, 3, 5], num_folds=5)
    values_right = _passed(partial)
    with partial.part("uneven folds (22 points, 4 folds, np.array_split order)"):
        _cross_validate_part(student, reference, "cross_validate(X, y, [1, 3], num_folds=4) "
                             "with 22 points", X_odd, y_odd, [1, 3], num_folds=4)
    with partial.part("duplicated points (distance 0, never NaN)"):
        _cross_validate_part(student, reference, "cross_validate on duplicated points",
                             CV_DUPLICATES_X, CV_DUPLICATES_Y, [1, 3], num_folds=2)
    with partial.part("a vote tie inside a fold (k=2: the smallest label wins)"):
        _cross_validate_part(student, reference, "cross_validate with tied votes (k=2)",
                             CV_TIES_X, CV_TIES_Y, [2], num_folds=2)
    with partial.part("inputs are not modified"):
        _needs(values_right, first)
        same_value(result_on_read_only_inputs(student, "cross_validate", X, y, [1, 3, 5], num_folds=5),
                   got, what="the accuracies computed from read-only inputs")
