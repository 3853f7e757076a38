"""The 05_backprop neural-network library (Part 4: Neuron, Layer, MLP on the Value engine):
the reference against numpy, numerical gradients and the layer-wise two-layer net; the
provided helpers against the self-check's copy; the self-check against common mistakes; the
hidden suite's alternatives (the reference built with the student's Value, the student's own
parts put together) against the reference itself; and the visible self-check flagging every
deduction of the variant library (tests/variants/backprop.py, checked by tests/test_backprop.py).

The reference code is the solution notebook's graded cells, executed in a fresh namespace
holding ``np``, as the grader does.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import math
import random
import re

import numpy as np
import pytest
from conftest import ROOT
from helpers.loading import module_from_file
from helpers.reference import grade_with_pytest, load_graded_cells

from autograder.extract import GradedCell
from autograder.proxy import ReferenceProxy
from utils.checks import NotImplementedYet, SelfCheckFailed
from utils.gradcheck import eval_numerical_gradient
from utils.selfchecks import value_mlp as checks

NOTEBOOK = ROOT / "solutions" / "05_backprop" / "05_backprop.ipynb"
SUITE = ROOT / "autograder" / "suites" / "05_backprop"


def load_solution(replace: dict[str, tuple[str, str]] | None = None) -> dict:
    return load_graded_cells(NOTEBOOK, replace)


@pytest.fixture(scope="module")
def sol() -> dict:
    return load_solution()


def _suite_module():
    return module_from_file(SUITE / "test_value_mlp.py", "suite_value_mlp")


def _numpy_forward(weights, X):
    """Scores of an MLP given as nested lists, with numpy: ReLU on hidden layers only."""
    current = np.asarray(X, dtype=float)
    for k, rows in enumerate(weights):
        W = np.array(rows)
        current = current @ W[:, :-1].T + W[:, -1]
        if k < len(weights) - 1:
            current = np.maximum(current, 0.0)
    return current


def _random_weights(rng, n_in, sizes):
    fan_in = [n_in, *sizes[:-1]]
    return [rng.normal(size=(n_out, m + 1)).tolist() for m, n_out in zip(fan_in, sizes,
                                                                             strict=True)]


# ---------------------------------------------------------------------------------------
# The reference
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(4))
def test_mlp_matches_numpy_and_numerical_gradients(sol, seed):
    rng = np.random.default_rng(seed)
    n_in, sizes = 3, [4, 5, 2]
    weights = _random_weights(rng, n_in, sizes)
    X = rng.normal(size=(3, n_in))
    dout = rng.normal(size=(3, 2))
    result = sol["evaluate_model"]("MLP", (n_in, sizes), weights, X.tolist(), dout.tolist())
    np.testing.assert_allclose(result["outputs"], _numpy_forward(weights, X), rtol=1e-12)

    flat = np.concatenate([np.ravel(rows) for rows in weights])

    def loss_of(theta):
        nested, start = [], 0
        for rows in weights:
            size = np.size(rows)
            nested.append(theta[start:start + size].reshape(np.shape(rows)).tolist())
            start += size
        return float(np.sum(dout * _numpy_forward(nested, X)))

    numeric = eval_numerical_gradient(loss_of, flat.copy())
    analytic = np.concatenate([np.ravel(rows) for rows in result["grads"]])
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-8)
    input_grads = np.array(result["input_grads"])
    numeric_x = eval_numerical_gradient(
        lambda x: float(np.sum(dout * _numpy_forward(weights, x))), X.copy())
    np.testing.assert_allclose(input_grads, numeric_x, rtol=1e-5, atol=1e-8)


def test_mlp_equals_the_layer_wise_net(sol):
    rng = np.random.default_rng(7)
    D, H, C, N = 4, 5, 3, 6
    params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
              "W2": rng.normal(size=(H, C)), "b2": rng.normal(size=C)}
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    scores = sol["two_layer_net"](params, X)
    _, grads = sol["two_layer_net"](params, X, y)
    _, dscores = sol["softmax_loss"](scores, y)
    weights = checks._weights_of(params)
    result = sol["evaluate_model"]("MLP", (D, [H, C]), weights, X.tolist(), dscores.tolist())
    np.testing.assert_allclose(result["outputs"], scores, rtol=1e-12, atol=1e-14)
    first, second = np.array(result["grads"][0]), np.array(result["grads"][1])
    np.testing.assert_allclose(first[:, :-1].T, grads["W1"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(first[:, -1], grads["b1"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(second[:, :-1].T, grads["W2"], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(second[:, -1], grads["b2"], rtol=1e-10, atol=1e-14)


def test_parameters_order_zero_grad_and_single_outputs(sol):
    MLP, Layer, Neuron, Value = sol["MLP"], sol["Layer"], sol["Neuron"], sol["Value"]
    model = MLP(2, [3, 1])
    expected = [v for layer in model.layers for n in layer.neurons for v in [*n.w, n.b]]
    assert len(model.parameters()) == 13
    assert all(a is b for a, b in zip(model.parameters(), expected, strict=True))
    for p in model.parameters():
        p.grad = 2.0
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())
    assert isinstance(model([1.0, 2.0]), Value)
    assert isinstance(Layer(2, 1)([1.0, 2.0]), Value)
    assert isinstance(Neuron(2)([1.0, 2.0]), Value)
    assert len(MLP(2, [3, 2])([1.0, 2.0])) == 2
    result = sol["evaluate_model"]("Layer", (2, 3, True), [[1, 2, 0.5]] * 3, [[1.0, -1.0]],
                                   [[1.0, 1.0, 1.0]])
    assert result["order"] == list(range(9))
    assert result["after_zero_grad"] == [[0.0, 0.0, 0.0]] * 3


def test_initialisation_is_seeded_he_with_zero_biases(sol):
    MLP, Neuron = sol["MLP"], sol["Neuron"]
    a = [p.data for p in MLP(3, [4, 2], rng=random.Random(5)).parameters()]
    b = [p.data for p in MLP(3, [4, 2], rng=random.Random(5)).parameters()]
    c = [p.data for p in MLP(3, [4, 2], rng=random.Random(6)).parameters()]
    assert a == b and a != c
    model = MLP(3, [4, 2])
    first = model.layers[0].neurons
    assert len({tuple(w.data for w in n.w) for n in first}) == 4  # no two neurons alike
    assert all(n.b.data == 0.0 for layer in model.layers for n in layer.neurons)
    big = Neuron(2000, rng=random.Random(1))
    std = np.std([w.data for w in big.w])
    assert abs(std - math.sqrt(2 / 2000)) < 0.1 * math.sqrt(2 / 2000)


def test_a_trained_mlp_separates_the_moons(sol):
    """The notebook's training set-up, shortened: the library can learn."""
    from utils.data import make_toy_2d

    MLP = sol["MLP"]
    X, y = make_toy_2d("moons", n=30, noise=0.1, seed=0)
    points, signs = X.tolist(), (2.0 * y - 1.0).tolist()
    model = MLP(2, [8, 8, 1], rng=random.Random(0))
    for step in range(60):
        loss = sum((1 - s * model(x)).relu() for x, s in zip(points, signs, strict=True)) / len(points)
        model.zero_grad()
        loss.backward()
        for p in model.parameters():
            p.data -= 0.5 * (1 - 0.9 * step / 60) * p.grad
    accuracy = np.mean([(model(x).data > 0) == (label == 1) for x, label in zip(points, y, strict=True)])
    assert accuracy >= 0.9


# ---------------------------------------------------------------------------------------
# The provided helpers and the self-check
# ---------------------------------------------------------------------------------------

def test_selfcheck_knows_the_provided_helpers(sol):
    sources = {name: inspect.getsource(sol[name]) for name in checks.PROVIDED_HELPERS}
    assert checks.provided_helpers_problem(sources.get, lambda name: False) is None
    changed = dict(sources, evaluate_model=sources["evaluate_model"].replace(
        "model.zero_grad()", "pass"))
    assert "was changed" in checks.provided_helpers_problem(changed.get, lambda name: False)
    missing = dict(sources, load_weights=None)
    assert "missing" in checks.provided_helpers_problem(missing.get, lambda name: False)
    assert "redefine `len`" in checks.provided_helpers_problem(sources.get,
                                                               {"len"}.__contains__)


def _run_check(ns) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        checks.check_mlp(ns["Neuron"], ns["Layer"], ns["MLP"])
    return out.getvalue()


def test_selfcheck_passes_the_reference(sol):
    printed = _run_check(sol)
    assert re.search(r": (\d+)/\1 checks passed", printed), printed


MISTAKES = {
    "zero_grad does nothing": ("        for parameter in self.parameters():\n"
                               "            parameter.grad = 0.0", "        pass"),
    "parameters without biases": ("return [*self.w, self.b]", "return list(self.w)"),
    "relu on the last layer": ("nonlin=k < last", "nonlin=True"),
    "neuron without bias": ("        total = self.b\n", "        total = 0.0\n"),
    "layer returns a list for one output": ("return outs[0] if len(outs) == 1 else outs",
                                            "return outs"),
    "graph cut with .data": ("return total.relu() if self.nonlin else total",
                             "return Value(total.data).relu() if self.nonlin else "
                             "Value(total.data)"),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_selfcheck_catches_common_mistakes(mistake):
    ns = load_solution({"MLP": MISTAKES[mistake]})
    with pytest.raises(SelfCheckFailed):
        _run_check(ns)


def test_selfcheck_reports_stubs_as_not_implemented():
    exercise = load_graded_cells(ROOT / "exercises" / "05_backprop" / "05_backprop.ipynb")
    with pytest.raises(NotImplementedYet):
        _run_check(exercise)


# ---------------------------------------------------------------------------------------
# The hidden suite's alternatives and points
# ---------------------------------------------------------------------------------------

def _reference_proxy():
    cells = [GradedCell(grade_id, "", source)
             for grade_id, source in _graded_sources().items()]
    return ReferenceProxy(cells)


def _graded_sources():
    from helpers.reference import graded_sources

    return graded_sources(NOTEBOOK)


@pytest.mark.parametrize("kind, args", [("Neuron", (3, True)), ("Layer", (3, 4, False)),
                                        ("MLP", (3, [4, 3, 2])), ("MLP", (2, [1]))])
def test_suite_alternatives_equal_the_reference_on_the_reference(kind, args):
    """Built with a right Value, or from right parts, every alternative is the reference's
    answer (so accepting them never accepts a wrong class)."""
    suite = _suite_module()
    side = _reference_proxy()
    rng = np.random.default_rng(4)
    weights, X, dout = suite._random_model(rng, kind, args, 3)
    expected = suite._plain(suite._run(side, kind, args, weights, X, dout), 3,
                            suite._n_out(kind, args), "reference")
    options = suite._with_students_value(side, kind, args, weights, X, dout, True)
    assert len(options) == len(suite.STRUCTURES)
    options += suite._composed(side, kind, args, weights, X, dout, True)
    assert len(options) == len(suite.STRUCTURES) + (kind != "Neuron")
    for option in options:
        np.testing.assert_allclose(option["outputs"], expected["outputs"], rtol=1e-12,
                                   atol=1e-14)
        np.testing.assert_allclose(option["grads"], expected["grads"], rtol=1e-10,
                                   atol=1e-14)


def test_suite_test_has_the_points_of_its_cell():
    import json

    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id")
                == "test_mlp")
    source = (SUITE / "test_value_mlp.py").read_text(encoding="utf-8")
    assert cell["metadata"]["nbgrader"]["points"] == 3
    assert "@pytest.mark.points(3)\ndef test_mlp(" in source


@pytest.mark.slow
def test_hidden_suite_passes_the_reference_and_fails_the_stub():
    reference = grade_with_pytest(SUITE, NOTEBOOK)
    assert reference.get("test_mlp") == "PASSED"
    stub = grade_with_pytest(SUITE, ROOT / "exercises" / "05_backprop" / "05_backprop.ipynb")
    assert stub.get("test_mlp") == "FAILED"
