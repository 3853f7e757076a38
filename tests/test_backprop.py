"""The 05_backprop reference solution against numerical gradients, hand-worked values and
PyTorch's autograd; its self-checks against common mistakes; its hidden suite's points; and
the three sources of truth (visible self-check, nbgrader hidden tests, hidden suite) agreeing
on the variant library (tests/variants/backprop.py).

The reference code is the solution notebook's graded cells (``solution: true``), executed
here in a fresh namespace holding ``np``, as the grader does.
"""

from __future__ import annotations

import linecache
import math
import re

import numpy as np
import pytest
from conftest import ROOT
from helpers.reference import (
    grade_with_pytest,
    load_graded_cells,
    mutated_notebook,
    notebook_points,
    suite_points,
)

from utils.checks import NotImplementedYet, SelfCheckFailed
from utils.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from utils.selfchecks import backprop as checks

NOTEBOOK = ROOT / "solutions" / "05_backprop" / "05_backprop.ipynb"
SUITE = ROOT / "autograder" / "suites" / "05_backprop"


def load_solution(replace: dict[str, tuple[str, str]] | None = None) -> dict:
    """The solution's graded cells executed (see helpers.reference.load_graded_cells)."""
    return load_graded_cells(NOTEBOOK, replace)


@pytest.fixture(scope="module")
def sol() -> dict:
    return load_solution()


# ---------------------------------------------------------------------------------------
# Value
# ---------------------------------------------------------------------------------------

def test_value_on_the_slides_example(sol):
    Value = sol["Value"]
    x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
    f = (x + y) * z
    f.backward()
    assert f.data == -12.0
    assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0)


def _random_expression(rng, leaves, exp, tanh, sigmoid):
    """A random expression over leaves, built the same way for Values and for floats."""
    nodes = list(leaves)
    ops = rng.integers(0, 7, size=30)
    picks = rng.integers(0, 10**6, size=(30, 2))
    for op, (i, j) in zip(ops, picks, strict=True):
        a, b = nodes[i % len(nodes)], nodes[j % len(nodes)]
        if op == 0:
            nodes.append(a + b)
        elif op == 1:
            nodes.append(a * b)
        elif op == 2:
            nodes.append(a - 0.5 * b)
        elif op == 3:
            nodes.append(tanh(a))
        elif op == 4:
            nodes.append(sigmoid(a) / (1.5 + b * b))
        elif op == 5:
            nodes.append(exp(0.3 * a) ** 2)
        else:
            nodes.append(2.0 - a)
    return nodes[-1] + nodes[-2] + nodes[-3]


@pytest.mark.parametrize("seed", range(6))
def test_value_matches_numerical_gradients_on_random_expressions(sol, seed):
    Value = sol["Value"]
    point = np.random.default_rng(seed).uniform(-1, 1, size=4)

    def as_floats(p):
        return _random_expression(np.random.default_rng(100 + seed), list(p), math.exp,
                                  math.tanh, lambda v: 1 / (1 + math.exp(-v)))

    leaves = [Value(v) for v in point]
    out = _random_expression(np.random.default_rng(100 + seed), leaves, Value.exp,
                             Value.tanh, Value.sigmoid)
    out.backward()
    analytic = np.array([v.grad for v in leaves])
    numeric = eval_numerical_gradient(as_floats, point.copy())
    assert out.data == pytest.approx(as_floats(point), rel=1e-12)
    assert rel_error(analytic, numeric) < 1e-7


def test_value_matches_torch_autograd(sol):
    torch = pytest.importorskip("torch")
    Value = sol["Value"]
    values = [0.7, -1.3, 2.2]
    leaves = [Value(v) for v in values]
    t = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]

    def build(a, b, c, log, relu):
        return ((a * b).tanh() + log(c) * a - b / (1 + a.exp()) + relu(b + c) * a.sigmoid()) ** 2

    out = build(*leaves, Value.log, Value.relu)
    out.backward()
    ref = build(*t, torch.log, torch.relu)
    ref.backward()
    assert out.data == pytest.approx(ref.item(), rel=1e-12)
    for leaf, tt in zip(leaves, t, strict=True):
        assert leaf.grad == pytest.approx(tt.grad.item(), rel=1e-10)


def test_value_reuse_reset_and_deep_graphs(sol):
    Value = sol["Value"]
    a = Value(3.0)
    out = a * a + a
    out.backward()
    out.backward()
    assert a.grad == 7.0  # 2a + 1 once, not summed over the two calls
    total = Value(0.0)
    for _ in range(3000):  # deeper than Python's recursion limit
        total = total + a
    total.backward()
    assert a.grad == 3000.0


def test_value_edge_cases_and_messages(sol):
    Value = sol["Value"]
    s = Value(-1000.0).sigmoid()
    s.backward()
    assert s.data == 0.0 and np.isfinite(s.grad)
    with pytest.raises(ValueError, match="positive"):
        Value(0.0).log()
    with pytest.raises(TypeError, match="number exponent"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="numbers and Values"):
        Value(2.0) + "3"
    zero = Value(0.0)
    r = zero.relu()
    r.backward()
    assert (r.data, zero.grad) == (0.0, 0.0)  # the gradient at the kink is taken as 0


def test_selfcheck_knows_the_provided_evaluate_expression():
    """The copy in utils.selfchecks.backprop (used by the self-check and the suite) is the
    notebook's provided function."""
    import inspect

    source = inspect.getsource(load_solution()["evaluate_expression"])
    assert checks.provided_helper_problem(source, lambda name: False) is None
    changed = source.replace("for _ in range(backward_calls):", "for _ in range(1):")
    assert "was changed" in checks.provided_helper_problem(changed, lambda name: False)
    assert "redefine `float`" in checks.provided_helper_problem(source, {"float"}.__contains__)


def test_evaluate_expression_returns_plain_values(sol):
    out, grads, values = sol["evaluate_expression"](
        [("q", "+", ("x", "y")), ("f", "*", ("q", "z")), ("n", "neg", ("f",))],
        {"x": -2.0, "y": 5.0, "z": -4.0}, backward_calls=2)
    assert out == 12.0 and grads == {"x": 4.0, "y": 4.0, "z": -3.0}
    assert values["q"] == 3.0 and all(type(v) is float for v in values.values())
    with pytest.raises(ValueError, match="unknown operation"):
        sol["evaluate_expression"]([("o", "sqrt", ("x",))], {"x": 1.0})


# ---------------------------------------------------------------------------------------
# Layers
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3, 5), (2, 3, 4), (4, 2, 2, 3)])
def test_affine_matches_numerical_gradients(sol, shape):
    rng = np.random.default_rng(len(shape))
    D = int(np.prod(shape[1:]))
    x, w, b = rng.normal(size=shape), rng.normal(size=(D, 6)), rng.normal(size=6)
    dout = rng.normal(size=(shape[0], 6))
    forward, backward = sol["affine_forward"], sol["affine_backward"]
    out, cache = forward(x, w, b)
    np.testing.assert_allclose(out, np.einsum("nd,dm->nm", x.reshape(shape[0], D), w) + b)
    dx, dw, db = backward(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(lambda v: forward(v, w, b)[0],
                                                       x.copy(), dout)) < 1e-7
    assert rel_error(dw, eval_numerical_gradient_array(lambda v: forward(x, v, b)[0],
                                                       w.copy(), dout)) < 1e-7
    assert rel_error(db, eval_numerical_gradient_array(lambda v: forward(x, w, v)[0],
                                                       b.copy(), dout)) < 1e-7


@pytest.mark.parametrize("seed", range(3))
def test_relu_and_sigmoid_match_numerical_gradients(sol, seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(scale=3.0, size=(4, 3, 2))
    x[np.abs(x) < 1e-3] = 0.5
    dout = rng.normal(size=x.shape)
    for name in ("relu", "sigmoid"):
        forward, backward = sol[f"{name}_forward"], sol[f"{name}_backward"]
        _, cache = forward(x)
        numeric = eval_numerical_gradient_array(lambda v, f=forward: f(v)[0], x.copy(), dout)
        assert rel_error(backward(dout, cache), numeric) < 1e-6, name


def test_sigmoid_is_stable_and_matches_scipy(sol):
    from scipy.special import expit

    x = np.array([-1000.0, -745.0, -30.0, 0.0, 30.0, 1000.0])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, cache = sol["sigmoid_forward"](x)
        dx = sol["sigmoid_backward"](np.ones_like(x), cache)
    np.testing.assert_allclose(out, expit(x), rtol=1e-12, atol=1e-300)  # denormals at -745
    assert np.all(np.isfinite(dx)) and dx[0] == 0.0 and dx[-1] == 0.0


@pytest.mark.parametrize("scale", [1.0, 1e3])
def test_softmax_loss_against_scipy_and_numerical_gradient(sol, scale):
    from scipy.special import log_softmax

    rng = np.random.default_rng(4)
    scores, y = scale * rng.normal(size=(7, 5)), rng.integers(0, 5, size=7)
    loss, dscores = sol["softmax_loss"](scores, y)
    assert type(loss) is float
    assert loss == pytest.approx(-log_softmax(scores, axis=1)[np.arange(7), y].mean(), rel=1e-12)
    if scale == 1.0:
        numeric = eval_numerical_gradient(lambda s: sol["softmax_loss"](s, y)[0], scores.copy())
        assert rel_error(dscores, numeric) < 1e-7
    np.testing.assert_allclose(dscores.sum(axis=1), 0.0, atol=1e-12)


def test_two_layer_net_matches_numerical_gradients_and_torch(sol):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    N, D, H, C, reg = 6, 5, 7, 4, 0.2
    params = {"W1": rng.normal(size=(D, H)), "b1": rng.normal(size=H),
              "W2": rng.normal(size=(H, C)), "b2": rng.normal(size=C)}
    X, y = rng.normal(size=(N, D)), rng.integers(0, C, size=N)
    loss, grads = sol["two_layer_net"](params, X, y, reg=reg)
    for name in params:
        def loss_of(v, name=name):
            return sol["two_layer_net"]({**params, name: v}, X, y, reg=reg)[0]
        assert rel_error(grads[name], eval_numerical_gradient(loss_of, params[name].copy())) \
            < 1e-6, name
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    scores = torch.relu(torch.tensor(X) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    t_loss = torch.nn.functional.cross_entropy(scores, torch.tensor(y)) + \
        reg * ((t["W1"] ** 2).sum() + (t["W2"] ** 2).sum())
    t_loss.backward()
    assert loss == pytest.approx(t_loss.item(), rel=1e-12)
    for name in params:
        np.testing.assert_allclose(grads[name], t[name].grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(sol["two_layer_net"](params, X), scores.detach().numpy())


def test_dropout_is_inverted_dropout_with_a_train_and_a_test_mode(sol):
    forward, backward = sol["dropout_forward"], sol["dropout_backward"]
    rng = np.random.default_rng(11)
    x = 1.0 + rng.normal(size=(400, 500))
    for p in (0.2, 0.5, 0.9):
        out, mask = forward(x, {"mode": "train", "p": p, "seed": 3})
        kept = out != 0
        np.testing.assert_allclose(out[kept], x[kept] / p, rtol=1e-15)
        assert abs(kept.mean() - p) < 0.01
        assert abs(out.mean() - x.mean()) < 0.02  # inverted: the expectation is kept
        np.testing.assert_array_equal(mask, np.where(kept, 1.0 / p, 0.0))
    first = forward(x, {"mode": "train", "p": 0.5, "seed": 3})[0]
    np.testing.assert_array_equal(first, forward(x, {"mode": "train", "p": 0.5, "seed": 3})[0])
    assert np.any(first != forward(x, {"mode": "train", "p": 0.5, "seed": 4})[0])
    out, cache = forward(x, {"mode": "test", "p": 0.5})
    np.testing.assert_array_equal(out, x)
    dout = rng.normal(size=x.shape)
    np.testing.assert_array_equal(backward(dout, cache), dout)
    np.testing.assert_array_equal(forward(x, {"mode": "train", "p": 1.0, "seed": 0})[0], x)


def test_dropout_backward_matches_numerical_gradients_with_zeros_in_x(sol):
    forward, backward = sol["dropout_forward"], sol["dropout_backward"]
    rng = np.random.default_rng(12)
    x = rng.normal(size=(3, 4, 5))
    x.flat[::3] = 0.0
    dout = rng.normal(size=x.shape)
    param = {"mode": "train", "p": 0.6, "seed": 7}
    _, cache = forward(x, param)
    numeric = eval_numerical_gradient_array(lambda v: forward(v, param)[0], x.copy(), dout)
    assert rel_error(backward(dout, cache), numeric) < 1e-8
    assert np.any(backward(dout, cache)[x == 0] != 0)  # kept units at x = 0 pass the gradient


# ---------------------------------------------------------------------------------------
# Self-checks: pass the reference, reject stubs and common mistakes
# ---------------------------------------------------------------------------------------

def _run_check(ns, which):
    runners = {
        "Value": lambda: checks.check_value(ns["Value"]),
        "affine": lambda: checks.check_affine(ns["affine_forward"], ns["affine_backward"]),
        "relu": lambda: checks.check_relu(ns["relu_forward"], ns["relu_backward"]),
        "sigmoid": lambda: checks.check_sigmoid(ns["sigmoid_forward"], ns["sigmoid_backward"]),
        "softmax_loss": lambda: checks.check_softmax_loss(ns["softmax_loss"]),
        "dropout": lambda: checks.check_dropout(ns["dropout_forward"], ns["dropout_backward"]),
        "two_layer_net": lambda: checks.check_two_layer_net(ns["two_layer_net"]),
    }
    return runners[which]()


@pytest.mark.parametrize("which", ["Value", "affine", "relu", "sigmoid", "softmax_loss",
                                   "dropout", "two_layer_net"])
def test_selfchecks_pass_the_reference(sol, which, capsys):
    _run_check(sol, which)  # raises on any failed case
    printed = capsys.readouterr().out
    assert re.search(r": (\d+)/\1 checks passed", printed), printed


MISTAKES = {
    "Value: overwrites instead of accumulating": (
        "Value", ("self.grad += other.data * out.grad", "self.grad = other.data * out.grad")),
    "Value: no reset between backward() calls": ("Value", ("node.grad = 0.0", "pass")),
    "Value: no topological order": (
        "Value", ("for node in reversed(order):", "for node in order[::-1][:1] + order[:-1]:")),
    "Value: 1 - v computed as v - 1": (
        "Value", ("return Value._wrap(other) - self", "return self - Value._wrap(other)")),
    "Value: overflowing sigmoid": (
        "Value", ("        if self.data >= 0:\n            s = 1.0 / (1.0 + math.exp(-self.data))",
                  "        if True:\n            s = 1.0 / (1.0 + math.exp(-self.data))")),
    "affine: db not summed over the batch": ("affine", ("dout.sum(axis=0)", "dout[0]")),
    "relu: gradient passes at x = 0": ("relu", ("dout * (x > 0)", "dout * (x >= 0)")),
    "sigmoid: NaN for x = 1000": (
        "sigmoid", ("out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))",
                    "out[pos] = np.exp(x[pos]) / (1.0 + np.exp(x[pos]))")),
    "relu: backward writes into its cache": (
        "relu", ("    dx = dout * (x > 0)", "    x[x <= 0] = 0.0\n    dx = dout * (x > 0)")),
    "relu: backward masks dout in place": (
        "relu", ("    dx = dout * (x > 0)", "    dx = dout\n    dx[x <= 0] = 0")),
    "softmax: shifts the scores in place": (
        "softmax_loss", ("    shifted = scores - scores.max(axis=1, keepdims=True)",
                         "    scores -= scores.max(axis=1, keepdims=True)\n"
                         "    shifted = scores")),
    "affine: forward writes into x": (
        "affine", ("    out = x.reshape(x.shape[0], -1) @ w + b",
                   "    x *= 1.0\n    out = x.reshape(x.shape[0], -1) @ w + b")),
    "softmax: no max shift": (
        "softmax_loss", ("shifted = scores - scores.max(axis=1, keepdims=True)",
                         "shifted = scores")),
    "softmax: summed instead of averaged": ("softmax_loss", ("dscores /= N", "dscores /= 1")),
    "two_layer_net: regularization gradient without the 2": (
        "two_layer_net", ('"W1": dW1 + 2 * reg * W1', '"W1": dW1 + reg * W1')),
    "dropout: no inverse scaling": (
        "dropout", ("np.where(uniform < p, 1.0 / p, 0.0)", "np.where(uniform < p, 1.0, 0.0)")),
    "dropout: p read as the probability of dropping": (
        "dropout", ("np.where(uniform < p, 1.0 / p, 0.0)", "np.where(uniform < p, 0.0, 1.0 / p)")),
    "dropout: scales at test time": (
        "dropout", ("mask = np.ones(x.shape)", "mask = np.full(x.shape, p)")),
    "dropout: drops at test time": ("dropout", ('    if mode == "train":', "    if True:")),
    "dropout: ignores the seed": (
        "dropout", ('np.random.default_rng(dropout_param.get("seed"))', "np.random.default_rng()")),
    "dropout: backward forgets the mask": ("dropout", ("dx = dout * mask", "dx = dout + 0.0")),
    "dropout: backward writes into dout": (
        "dropout", ("    dx = dout * mask", "    dx = dout\n    dx *= mask")),
}


@pytest.mark.parametrize("mistake", sorted(MISTAKES))
def test_selfchecks_catch_common_mistakes(mistake, capsys):
    which, replacement = MISTAKES[mistake]
    ns = load_solution({which: replacement})
    with pytest.raises(SelfCheckFailed):
        _run_check(ns, which)


ACCEPTED = {
    "softmax: probabilities after the max shift (the form section 2.4 teaches)": (
        "softmax_loss", ("""    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(N), y].mean())
    dscores = np.exp(log_probs)
""", """    probs = np.exp(shifted)
    probs = probs / probs.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(probs[np.arange(N), y])))
    dscores = probs.copy()
""")),
    "sigmoid: 1 / (1 + np.exp(-x)) everywhere (numpy warns at -1000, the values are right)": (
        "sigmoid", ("out[~pos] = e / (1.0 + e)", "out[~pos] = 1.0 / (1.0 + np.exp(-x[~pos]))")),
    "dropout: CS231n's np.random.seed and np.random.rand": (
        "dropout", ("""        uniform = np.random.default_rng(dropout_param.get("seed")).random(x.shape)
        mask = np.where(uniform < p, 1.0 / p, 0.0)""",
                    """        if "seed" in dropout_param:
            np.random.seed(dropout_param["seed"])
        mask = (np.random.rand(*x.shape) < p) / p""")),
    "relu: masks a copy of dout": (
        "relu", ("    dx = dout * (x > 0)", "    dx = dout.copy()\n    dx[x <= 0] = 0")),
}


@pytest.mark.parametrize("variant", sorted(ACCEPTED))
def test_selfchecks_accept_other_right_answers(variant, capsys):
    which, replacement = ACCEPTED[variant]
    with np.errstate(all="ignore"):
        _run_check(load_solution({which: replacement}), which)


def test_selfchecks_report_stubs_as_not_implemented(capsys):
    def stub(*args, **kwargs):
        raise NotImplementedError

    class StubValue:
        def __init__(self, *args, **kwargs):
            raise NotImplementedError

    ns = {"Value": StubValue, **{name: stub for name in (
        "affine_forward", "affine_backward", "relu_forward", "relu_backward", "sigmoid_forward",
        "sigmoid_backward", "softmax_loss", "dropout_forward", "dropout_backward",
        "two_layer_net")}}
    for which in ("Value", "affine", "relu", "sigmoid", "softmax_loss", "dropout",
                  "two_layer_net"):
        with pytest.raises(NotImplementedYet):
            _run_check(ns, which)


# ---------------------------------------------------------------------------------------
# Hidden suite
# ---------------------------------------------------------------------------------------

#: The tests of this suite file (other files of the suite grade other parts of the notebook).
LAYER_TESTS = {"test_value", "test_affine", "test_relu", "test_sigmoid", "test_softmax_loss",
               "test_dropout", "test_two_layer_net"}


def test_suite_points_equal_the_notebook_points():
    assert suite_points(SUITE) == notebook_points(NOTEBOOK)
    own = re.findall(r"@pytest\.mark\.points\((\d+)\)", (SUITE / "test_backprop.py").read_text())
    assert sum(int(n) for n in own) == 23 and len(own) == len(LAYER_TESTS)


def _grade(submission) -> dict[str, str]:
    return grade_with_pytest(SUITE, submission)


def _mutated_notebook(tmp_path, grade_id, old, new):
    return mutated_notebook(NOTEBOOK, tmp_path, grade_id, old, new)


@pytest.mark.slow
def test_hidden_suite_passes_the_reference_and_fails_the_stub():
    reference = _grade(NOTEBOOK)
    assert set(reference.values()) == {"PASSED"} and LAYER_TESTS <= set(reference)
    stub = _grade(ROOT / "exercises" / "05_backprop" / "05_backprop.ipynb")
    assert set(stub.values()) == {"FAILED"} and LAYER_TESTS <= set(stub)


@pytest.mark.slow
@pytest.mark.parametrize("grade_id, old, new, failing", [
    ("Value", "node.grad = 0.0", "pass", "test_value"),
    ("Value", "self.grad += other.data * out.grad", "self.grad = other.data * out.grad",
     "test_value"),
    ("sigmoid", "out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))",
     "out[pos] = np.exp(x[pos]) / (1.0 + np.exp(x[pos]))", "test_sigmoid"),
    ("softmax_loss", "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores",
     "test_softmax_loss"),
    ("two_layer_net", '"b1": db1', '"b1": 0 * db1', "test_two_layer_net"),
    ("dropout", "mask = np.ones(x.shape)", "mask = np.full(x.shape, p)", "test_dropout"),
    # the provided evaluate_expression, changed to hide a backward() that does not reset
    ("Value", "    for _ in range(backward_calls):\n        out.backward()",
     "    out.backward()", "test_value"),
])
def test_hidden_suite_fails_exactly_the_broken_part(tmp_path, grade_id, old, new, failing):
    outcomes = _grade(_mutated_notebook(tmp_path, grade_id, old, new))
    failed = {name for name, outcome in outcomes.items() if outcome == "FAILED"}
    assert failed == {failing}


# ---------------------------------------------------------------------------------------
# One truth: the variant library against the visible self-checks and nbgrader's hidden tests
# ---------------------------------------------------------------------------------------

def _variant_library():
    import variants
    from variants import backprop as library

    return variants, library


def _cell_of_test(test_name: str) -> str:
    """Suite test name -> its notebook test cell ("test_value" -> "test_Value")."""
    return {"test_value": "test_Value"}.get(test_name, test_name)


def _run_test_cell(sources: dict[str, str], test_cell: str) -> BaseException | None:
    """Run a test cell's visible self-check after the graded cells. (Its hidden regions call
    the suite itself through autograder.nbgrader_bridge: tests/test_autograder_nbgrader.py.)"""
    import contextlib
    import io

    variants, library = _variant_library()
    namespace = {"np": np, "math": math, "__name__": "truth_check"}
    for grade_id, source in sources.items():
        filename = f"<truth:{grade_id}:{hash(source) & 0xFFFFFFFF:08x}>"
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - our own variants
    exec(variants.selfcheck_imports(library.ASSIGNMENT), namespace)  # noqa: S102
    cell = variants.test_cells(library.ASSIGNMENT)[test_cell]
    code = variants.visible_part(cell)
    with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
        try:
            exec(compile(code, f"<{test_cell}>", "exec"), namespace)  # noqa: S102
        except Exception as error:  # noqa: BLE001 - returned to the caller
            return error
    return None


def _variant_ids():
    return [v.name for v in _variant_library()[1].VARIANTS]


@pytest.mark.parametrize("name", _variant_ids())
def test_every_suite_deduction_is_flagged_by_the_visible_selfcheck(name):
    """No hidden rule: wherever the suite takes points, the student's own self-check fails."""
    variants, library = _variant_library()
    variant = next(v for v in library.VARIANTS if v.name == name)
    sources = variants.graded_sources(library.ASSIGNMENT, variant.replace)
    for test_name in variant.scores:
        error = _run_test_cell(sources, _cell_of_test(test_name))
        assert isinstance(error, AssertionError), \
            f"{name}: the suite deducts on {test_name} but its self-check passes ({error!r})"
