"""utils.checks and the 01_knn self-checks: stubs never pass, wrong answers are explained."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from utils.checks import (
    CheckFailure,
    NotImplementedYet,
    SelfCheck,
    SelfCheckFailed,
    expect_array,
    expect_close,
)
from utils.selfchecks import knn


def test_passing_check_prints_a_summary(capsys):
    check = SelfCheck("f")
    with check.case("one"):
        expect_close(1.0, 1.0)
    assert check.report() is None
    assert "f: 1/1 checks passed" in capsys.readouterr().out


def test_stub_reads_as_not_implemented(capsys):
    check = SelfCheck("f")
    with check.case("one"):
        raise NotImplementedError
    with pytest.raises(NotImplementedYet):
        check.report()
    assert "f: not implemented yet" in capsys.readouterr().out


def test_failure_shows_expected_and_got(capsys):
    check = SelfCheck("f")
    with check.case("values"):
        expect_array(np.array([1.0, 2.0]), np.array([1.0, 3.0]), hint="look again")
    with pytest.raises(SelfCheckFailed, match="0/1 checks passed"):
        check.report()
    out = capsys.readouterr().out
    assert "expected: array of shape (2,)" in out and "got:" in out and "Hint: look again" in out


def test_zero_matrices_do_not_pass_and_none_is_explained():
    with pytest.raises(CheckFailure, match="differs"):
        expect_array(np.zeros((2, 2)), np.ones((2, 2)))
    with pytest.raises(CheckFailure, match="numpy array of shape"):
        expect_array(None, np.ones(2))
    with pytest.raises(CheckFailure, match="shape"):
        expect_array(np.ones(3), np.ones(2))
    with pytest.raises(CheckFailure, match="NaN"):
        expect_array(np.array([np.nan]), np.array([1.0]))


def test_student_errors_are_reported_with_their_line(capsys):
    def broken():
        return 1 / 0

    check = SelfCheck("broken")
    with check.case("divides"):
        broken()
    with pytest.raises(SelfCheckFailed):
        check.report()
    assert "raised ZeroDivisionError" in capsys.readouterr().out


def _cdist_version(X_train, X):
    return cdist(X, X_train)


def _squared_version(X_train, X):
    return cdist(X, X_train) ** 2


def test_knn_distance_check_accepts_a_right_answer_and_rejects_wrong_ones():
    knn.check_distances(_cdist_version)
    with pytest.raises(SelfCheckFailed):
        knn.check_distances(_squared_version)
    with pytest.raises(SelfCheckFailed):
        knn.check_distances(lambda X_train, X: np.zeros((len(X), len(X_train))))


def test_knn_no_loop_check_rejects_loops():
    def looped(X_train, X):
        return np.array([[np.linalg.norm(a - b) for b in X_train] for a in X])

    with pytest.raises(SelfCheckFailed):
        knn.check_distances(looped, no_loops=True)


def test_knn_vote_check_rejects_a_vote_that_breaks_ties_upwards():
    def largest_label_wins(dists, y_train, k=1):
        out = []
        for row in dists:
            counts = np.bincount(y_train[np.argsort(row, kind="stable")[:k]])
            out.append(len(counts) - 1 - np.argmax(counts[::-1]))
        return np.array(out)

    with pytest.raises(SelfCheckFailed):
        knn.check_predict_labels(largest_label_wins)


def test_knn_distance_check_names_a_write_into_the_inputs(capsys):
    def shifts_in_place(X_train, X):
        origin = X_train[0].copy()
        X_train -= origin  # the values stay right, the caller's arrays change
        X -= origin
        return cdist(X, X_train)

    with pytest.raises(SelfCheckFailed, match="6/7 checks passed"):
        knn.check_distances(shifts_in_place)
    assert "must not modify its input arrays" in capsys.readouterr().out


def test_knn_distance_check_wants_float_distances_for_integer_pixels(capsys):
    def integer_result(X_train, X):
        return cdist(X, X_train).astype(X.dtype)

    with pytest.raises(SelfCheckFailed, match="6/7 checks passed"):
        knn.check_distances(integer_result)
    assert "got dtype int64" in capsys.readouterr().out


def _row_norms(A):
    return np.array([a @ a for a in A])


def _loop_in_a_helper(X_train, X):
    squared = _row_norms(X)[:, None] + _row_norms(X_train) - 2 * X @ X_train.T
    return np.sqrt(np.maximum(squared, 0))


def test_knn_no_loop_check_follows_helpers():
    with pytest.raises(SelfCheckFailed, match="7/8 checks passed"):
        knn.check_distances(_loop_in_a_helper, no_loops=True)


def test_knn_vote_check_rejects_an_unstable_sort_and_float_labels(capsys):
    def unstable(dists, y_train, k=1):
        return np.array([np.bincount(y_train[np.argsort(r)[:k]]).argmax() for r in dists])

    def float_labels(dists, y_train, k=1):
        return np.array([np.bincount(y_train[np.argsort(r, kind="stable")[:k]]).argmax()
                         for r in dists], dtype=float)

    with pytest.raises(SelfCheckFailed, match="7/8 checks passed"):
        knn.check_predict_labels(unstable)
    assert "equal distances" in capsys.readouterr().out
    with pytest.raises(SelfCheckFailed, match="7/8 checks passed"):
        knn.check_predict_labels(float_labels)
    assert "got dtype float64" in capsys.readouterr().out
