"""The 03_linear_classifiers reference solution against independent references (the hinge loss
written from its definition, scipy's log_softmax, numerical gradients from utils.gradcheck, a
replay of the documented SGD recipe); its self-checks against common mistakes (among them the
slides' errata); its exercise stubs; its hidden suite's points and verdicts.

The reference code is the solution notebook's graded cells (``solution: true``), executed
here in a fresh namespace holding ``np``, as the grader does.
"""

from __future__ import annotations

import linecache
import re

import numpy as np
import pytest
from conftest import ROOT
from helpers.reference import (
    grade_with_pytest,
    graded_sources,
    load_graded_cells,
    mutated_notebook,
    notebook_points,
    suite_points,
)
from scipy.special import log_softmax

from utils.checks import NotImplementedYet, SelfCheckFailed
from utils.gradcheck import eval_numerical_gradient
from utils.rules import call_with_read_only_inputs
from utils.selfchecks import linear_classifiers as checks

NAME = "03_linear_classifiers"
NOTEBOOK = ROOT / "solutions" / NAME / f"{NAME}.ipynb"
EXERCISE = ROOT / "exercises" / NAME / f"{NAME}.ipynb"
SUITE = ROOT / "autograder" / "suites" / NAME
LOSSES = ["svm_loss_naive", "svm_loss_vectorized", "softmax_loss_naive",
          "softmax_loss_vectorized"]


def load_cells(path=NOTEBOOK, replace: dict[str, tuple[str, str]] | None = None) -> dict:
    """The graded cells of ``path`` executed (see helpers.reference.load_graded_cells)."""
    return load_graded_cells(path, replace)


@pytest.fixture(scope="module")
def sol() -> dict:
    return load_cells()


def _problem(seed, n=8, d=5, c=4, scale=0.5):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((d, c)), rng.standard_normal((n, d)), rng.integers(0, c, n)


def hinge_by_definition(W, X, y, reg):
    """(1/N) sum_i sum_{j != y_i} max(0, s_j - s_{y_i} + 1) + reg sum W^2, term by term."""
    total = 0.0
    for i in range(X.shape[0]):
        s = X[i] @ W
        total += sum(max(0.0, s[j] - s[y[i]] + 1.0) for j in range(W.shape[1]) if j != y[i])
    return total / X.shape[0] + reg * np.sum(W * W)


def cross_entropy_by_scipy(W, X, y, reg):
    return float(-np.mean(log_softmax(X @ W, axis=1)[np.arange(len(y)), y]) + reg * np.sum(W * W))


# ---- the reference against independent references --------------------------------------------

@pytest.mark.parametrize("name", ["svm_loss_naive", "svm_loss_vectorized"])
@pytest.mark.parametrize("seed, reg", [(0, 0.0), (1, 0.1), (2, 2.0)])
def test_svm_losses_match_the_definition_and_numerical_gradients(sol, name, seed, reg):
    W, X, y = _problem(seed)
    loss, dW = sol[name](W, X, y, reg)
    assert isinstance(loss, float) and dW.shape == W.shape
    assert np.isclose(loss, hinge_by_definition(W, X, y, reg), rtol=1e-12)
    numeric = eval_numerical_gradient(lambda w: hinge_by_definition(w, X, y, reg), W.copy())
    np.testing.assert_allclose(dW, numeric, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["svm_loss_naive", "svm_loss_vectorized"])
def test_svm_losses_on_the_hand_worked_example_with_a_tie(sol, name):
    loss, dW = sol[name](checks.HINGE_W, checks.HINGE_X, checks.HINGE_Y, 0.0)
    assert np.isclose(loss, 8.0 / 3.0)
    np.testing.assert_allclose(dW, checks.HINGE_DW, atol=1e-12)


@pytest.mark.parametrize("name", ["softmax_loss_naive", "softmax_loss_vectorized"])
@pytest.mark.parametrize("seed, reg", [(3, 0.0), (4, 0.1), (5, 2.0)])
def test_softmax_losses_match_scipy_and_numerical_gradients(sol, name, seed, reg):
    W, X, y = _problem(seed)
    loss, dW = sol[name](W, X, y, reg)
    assert isinstance(loss, float) and dW.shape == W.shape
    assert np.isclose(loss, cross_entropy_by_scipy(W, X, y, reg), rtol=1e-12)
    numeric = eval_numerical_gradient(lambda w: cross_entropy_by_scipy(w, X, y, reg), W.copy())
    np.testing.assert_allclose(dW, numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["softmax_loss_naive", "softmax_loss_vectorized"])
@pytest.mark.parametrize("magnitude", [1e4, 1e6])
def test_softmax_losses_are_stable_for_huge_scores(sol, name, magnitude):
    W, X, y = _problem(6)
    W = W * magnitude / np.abs(X @ W).max()
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        loss, dW = sol[name](W, X, y, 0.0)
    assert np.isclose(loss, cross_entropy_by_scipy(W, X, y, 0.0), rtol=1e-9)
    assert np.all(np.isfinite(dW))


@pytest.mark.parametrize("pair", [("svm_loss_naive", "svm_loss_vectorized"),
                                  ("softmax_loss_naive", "softmax_loss_vectorized")])
def test_naive_and_vectorized_agree_on_digits_sized_problems(sol, pair):
    W, X, y = _problem(7, n=200, d=65, c=10, scale=0.01)
    (l1, d1), (l2, d2) = (sol[name](W, X, y, 1e-3) for name in pair)
    assert np.isclose(l1, l2, rtol=1e-12)
    np.testing.assert_allclose(d1, d2, rtol=1e-9, atol=1e-12)


def test_numerical_gradient_is_centred_and_never_writes_into_x(sol):
    numerical_gradient = sol["numerical_gradient"]
    x = np.random.default_rng(8).normal(size=(2, 3, 4))
    grad = call_with_read_only_inputs(numerical_gradient,
                                      lambda v: float(np.sum(np.sin(v) * v)), x)
    np.testing.assert_allclose(grad, np.cos(x) * x + np.sin(x), rtol=1e-8, atol=1e-9)
    # integer points work too (the function perturbs a float copy)
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(v ** 2)),
                                                  np.array([1, -2])), [2.0, -4.0], rtol=1e-8)
    # Centred differences of x**3 give exactly 3 x**2 + h**2.
    x = np.array([0.5, -1.5])
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(v ** 3)), x, h=0.01),
                               3 * x ** 2 + 1e-4, rtol=1e-9)


@pytest.mark.parametrize("cls, loss", [("LinearSVM", hinge_by_definition),
                                       ("Softmax", cross_entropy_by_scipy)])
def test_training_follows_the_documented_random_number_recipe(sol, cls, loss):
    rng_data = np.random.default_rng(9)
    X, y = rng_data.normal(size=(40, 6)), rng_data.integers(0, 4, size=40)
    model = sol[cls]()
    history = model.train(X, y, learning_rate=0.1, reg=0.01, num_iters=25, batch_size=7, seed=5)
    # Replay: one generator; W from standard normals; minibatches with replacement.
    rng = np.random.default_rng(5)
    W = 0.001 * rng.standard_normal((6, 4))
    expected = []
    for _ in range(25):
        idx = rng.choice(40, 7, replace=True)
        expected.append(loss(W, X[idx], y[idx], 0.01))
        W = W - 0.1 * eval_numerical_gradient(lambda w, i=idx: loss(w, X[i], y[i], 0.01),
                                              W.copy())
    assert isinstance(history, list) and len(history) == 25
    np.testing.assert_allclose(history, expected, rtol=1e-6)
    np.testing.assert_allclose(model.W, W, rtol=1e-6, atol=1e-9)
    predictions = model.predict(X)
    assert predictions.dtype.kind == "i"
    np.testing.assert_array_equal(predictions, np.argmax(X @ W, axis=1))


def test_training_keeps_a_column_for_classes_missing_from_every_batch(sol):
    X = np.random.default_rng(10).normal(size=(30, 4))
    y = np.repeat([0, 1, 5], 10)  # classes 2, 3, 4 never occur
    model = sol["Softmax"]()
    model.train(X, y, learning_rate=0.1, num_iters=5, batch_size=2, seed=0)
    assert model.W.shape == (4, 6)


# ---- the self-checks: pass the reference, catch the usual mistakes, report stubs ------------

def _run_check(namespace, grade_id):
    if grade_id == "numerical_gradient":
        checks.check_numerical_gradient(namespace["numerical_gradient"])
    elif grade_id == "LinearClassifier":
        checks.check_linear_classifier(namespace["LinearSVM"], namespace["Softmax"])
    elif grade_id.startswith("svm"):
        checks.check_svm_loss(namespace[grade_id], vectorized="vectorized" in grade_id)
    else:
        checks.check_softmax_loss(namespace[grade_id], vectorized="vectorized" in grade_id)


GRADE_IDS = ["numerical_gradient", *LOSSES, "LinearClassifier"]


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_self_checks_pass_the_reference(sol, grade_id, capsys):
    _run_check(sol, grade_id)  # raises on any failed case
    out = capsys.readouterr().out
    assert re.search(r": (\d+)/\1 checks passed", out), out


@pytest.mark.parametrize("grade_id, old, new", [
    # The slides' hinge erratum: the score of example i's own class in place of s_j.
    ("svm_loss_naive", "margin = scores[j] - scores[y[i]] + 1.0",
     "margin = scores[i % num_classes] - scores[y[i]] + 1.0"),
    ("svm_loss_naive", "if margin > 0:", "if margin >= 0:"),
    ("svm_loss_naive", "dW = dW / num_train + 2 * reg * W", "dW = dW / num_train"),
    ("svm_loss_vectorized", "margins[rows, y] = 0.0", "pass"),
    ("svm_loss_vectorized", "positive = margins > 0", "positive = margins >= 0"),
    ("svm_loss_vectorized", "rows = np.arange(num_train)",
     "rows = np.array([i for i in range(num_train)])"),
    # The slides' softmax erratum: the probability itself as the loss.
    ("softmax_loss_naive", "loss += log_norm - shifted[y[i]]",
     "loss += np.exp(shifted[y[i]] - log_norm)"),
    ("softmax_loss_naive", "shifted = scores - np.max(scores)", "shifted = scores"),
    ("softmax_loss_vectorized", "shifted = scores - np.max(scores, axis=1, keepdims=True)",
     "shifted = scores"),
    ("softmax_loss_vectorized", "dscores[rows, y] -= 1.0", "pass"),
    ("numerical_gradient", "grad[ix] = (f_plus - f_minus) / (2 * h)",
     "grad[ix] = (f_plus - f(x)) / h"),
    ("numerical_gradient", "        x[ix] = old\n", "        pass\n"),
    ("LinearClassifier", "self.W -= learning_rate * dW", "self.W += learning_rate * dW"),
    ("LinearClassifier", "rng = np.random.default_rng(seed)", "rng = np.random.default_rng()"),
    ("LinearClassifier", "return np.argmax(X @ self.W, axis=1)",
     "return np.argmax(X @ self.W, axis=1).astype(float)"),
    # The rules: inputs changed in place, loops hidden in a helper or in np.vectorize,
    # minibatches without replacement, C from the labels present, W reset on every call.
    ("numerical_gradient", "    x = np.array(x, dtype=np.float64)", "    pass"),
    ("softmax_loss_vectorized", "log_probabilities[rows, y]",
     "np.vectorize(lambda i: log_probabilities[i, y[i]])(rows)"),
    ("softmax_loss_naive", "scores = X[i] @ W", "X[i] *= 1.0\n        scores = X[i] @ W"),
    ("LinearClassifier", "replace=True", "replace=False"),
    ("LinearClassifier", "num_classes = int(np.max(y)) + 1", "num_classes = len(np.unique(y))"),
    ("LinearClassifier", "if self.W is None:", "if True:"),
])
def test_self_checks_catch_common_mistakes(grade_id, old, new, capsys):
    broken = load_cells(replace={grade_id: (old, new)})
    with np.errstate(all="ignore"), pytest.raises(SelfCheckFailed):
        _run_check(broken, grade_id)
    assert "✗" in capsys.readouterr().out


def test_self_check_finds_a_loop_hidden_in_a_helper(capsys):
    """The vectorized check follows the student's helpers (utils.rules.loops_in_function)."""
    source = graded_sources(NOTEBOOK)["svm_loss_vectorized"]
    source = source.replace("    scores = X @ W\n", "    scores = _scores(X, W)\n") + (
        "\n\n\ndef _scores(X, W):\n    return np.array([x @ W for x in X])\n")
    filename = "<svm_loss_vectorized with a looping helper>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"np": np, "__name__": "helper_variant"}
    exec(compile(source, filename, "exec"), namespace)  # noqa: S102
    with pytest.raises(SelfCheckFailed):
        checks.check_svm_loss(namespace["svm_loss_vectorized"], vectorized=True)
    assert "a list comprehension on line 2 of `_scores`" in capsys.readouterr().out


@pytest.mark.parametrize("grade_id", GRADE_IDS)
def test_exercise_stubs_raise_not_implemented_and_self_checks_say_so(grade_id):
    stubs = load_cells(EXERCISE)
    with pytest.raises(NotImplementedYet):
        _run_check(stubs, grade_id)


# ---- the hidden suite ---------------------------------------------------------------------

def test_suite_points_equal_the_notebook_points():
    assert suite_points(SUITE) == notebook_points(NOTEBOOK) == 18


def _grade(submission) -> dict[str, str]:
    return grade_with_pytest(SUITE, submission)


def _mutated_notebook(tmp_path, grade_id, old, new):
    return mutated_notebook(NOTEBOOK, tmp_path, grade_id, old, new)


@pytest.mark.slow
def test_hidden_suite_passes_the_reference_and_fails_the_stub():
    reference = _grade(NOTEBOOK)
    assert set(reference.values()) == {"PASSED"} and len(reference) == 6
    stub = _grade(EXERCISE)
    assert set(stub.values()) == {"FAILED"} and len(stub) == 6


@pytest.mark.slow
@pytest.mark.parametrize("grade_id, old, new, failing", [
    ("svm_loss_naive", "if margin > 0:", "if margin >= 0:", "test_svm_loss_naive"),
    # LinearSVM trains with svm_loss_vectorized, but train is graded on the student's own
    # loss (reference.using): the bug costs points only in the loss's test.
    ("svm_loss_vectorized", "positive = margins > 0", "positive = margins >= 0",
     "test_svm_loss_vectorized"),
    ("softmax_loss_naive", "dW = dW / num_train + 2 * reg * W", "dW = dW / num_train",
     "test_softmax_loss_naive"),
    ("softmax_loss_vectorized", "shifted = scores - np.max(scores, axis=1, keepdims=True)",
     "shifted = scores", "test_softmax_loss_vectorized"),
    ("LinearClassifier", "idx = rng.choice(num_train, batch_size, replace=True)",
     "idx = rng.choice(num_train, batch_size, replace=False)", "test_linear_classifier"),
])
def test_hidden_suite_fails_exactly_the_broken_part(tmp_path, grade_id, old, new, failing):
    outcomes = _grade(_mutated_notebook(tmp_path, grade_id, old, new))
    failed = {name for name, outcome in outcomes.items() if outcome == "FAILED"}
    assert failed == set(failing.split())
