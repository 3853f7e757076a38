"""Hidden suite for 05_backprop, Part 4: the small neural-network library (Neuron, Layer, MLP)
on the student's own ``Value``.

Points mirror the notebook's test cell ``test_mlp``: 3, in 6 parts of 0.5.

``Value`` objects live in the sandbox: the notebook's provided ``evaluate_model(kind, args,
weights, X, dout)`` builds a model with given weights (the provided ``load_weights``), runs it
on plain numbers, backpropagates ``sum(dout * outputs)`` and returns plain numbers (outputs,
gradients by weight, input gradients, the positions of ``parameters()`` and the gradients
after ``zero_grad()``). Both helpers must be the provided code (checked on their source text
with ``utils.selfchecks.value_mlp.provided_helpers_problem``, as the self-check does).

How one bug costs one part (the grading policy in autograder/README.md):
- A wrong ``Value`` (its own test): every value part also accepts what the reference's graph
  gives when built with the student's ``Value``, through the provided ``evaluate_expression``
  of Part 1 (for the usual ways of writing a neuron's sum), so a wrong ``relu`` or a
  ``backward()`` in the wrong order costs nothing here.
- A wrong ``Neuron``: the Layer part also accepts the student's own neurons side by side, and
  the MLP part the student's own layers chained (forward, then the input gradients of layer
  k as the upstream gradient of layer k - 1), so a neuron without its bias fails only the
  Neuron part.
- Parts compare numbers whatever the container: only the single-output part asks for the
  Value itself instead of a list of one. ``zero_grad()`` is also right when it zeroes
  exactly what the student's own ``parameters()`` lists (a missing bias costs only the
  ``parameters()`` part).

Edge cases present for every student: a neuron with a single input, an MLP without hidden
layer (``MLP(2, [1])``), plain numbers instead of Values as inputs, a Layer and an MLP with one
output, an MLP with the weights of ``two_layer_net`` (its scores and softmax-loss gradients).
Random weights and inputs keep every pre-activation at least 0.05 away from the ReLU kink,
and every layer gets both signs (rejection sampling), except in the single-output part, whose outputs are all positive (there a
ReLU on the last layer would not change anything: it is the MLP part's mistake).
"""

from __future__ import annotations

import numpy as np
import pytest

from autograder.errors import StudentError
from autograder.expect import same_as_one_of
from autograder.fixtures import describe_failure
from utils.selfchecks.backprop import provided_helper_problem
from utils.selfchecks.value_mlp import provided_helpers_problem

RTOL, ATOL = 1e-7, 1e-10
KINK = 0.05  # every pre-activation stays this far from 0


# ---------------------------------------------------------------------------------------
# Models as plain data
# ---------------------------------------------------------------------------------------


def _layer_specs(kind: str, args: tuple, weights) -> list[tuple[list, bool]]:
    """(rows of [w_1, ..., w_n, b], nonlin) of every layer of the model."""
    if kind == "Neuron":
        return [([weights], bool(args[1]))]
    if kind == "Layer":
        return [(weights, bool(args[2]))]
    last = len(weights) - 1
    return [(rows, k < last) for k, rows in enumerate(weights)]


def _forward(kind: str, args: tuple, weights, X) -> list[tuple[np.ndarray, bool]]:
    """(pre-activations (N, n_out), nonlin) of every layer, computed with numpy."""
    out, current = [], np.asarray(X, dtype=float)
    for rows, nonlin in _layer_specs(kind, args, weights):
        W = np.array(rows, dtype=float)
        pre = current @ W[:, :-1].T + W[:, -1]
        out.append((pre, nonlin))
        current = np.maximum(pre, 0.0) if nonlin else pre
    return out


def _well_placed(kind: str, args: tuple, weights, X, positive: bool = False) -> bool:
    """Pre-activations away from the kink, and both signs in every layer (so a ReLU on a
    linear last layer would show); with ``positive``, every output of the last layer positive
    instead (so a ReLU there would not matter)."""
    layers = _forward(kind, args, weights, X)
    for pre, nonlin in layers:
        if np.min(np.abs(pre)) < KINK:
            return False
        if nonlin and not (np.any(pre > 0) and np.any(pre < 0)):
            return False
    pre, nonlin = layers[-1]
    if positive:
        return bool(np.all(pre > 0))
    return bool(np.any(pre < 0) and np.any(pre > 0))


def _rows(rng, n_in: int, n_out: int) -> list[list[float]]:
    magnitude = rng.uniform(0.3, 1.5, size=(n_out, n_in + 1))
    sign = np.where(rng.random(size=magnitude.shape) < 0.5, -1.0, 1.0)
    rows = magnitude * sign
    rows[:, -1] *= 0.5
    return rows.tolist()


def _draw(rng, kind: str, args: tuple, n_examples: int, positive: bool = False):
    """Weights and inputs of a model, redrawn until they are well placed."""
    if kind == "Neuron":
        shapes = [(args[0], 1)]
    elif kind == "Layer":
        shapes = [(args[0], args[1])]
    else:
        sizes = list(args[1])
        shapes = list(zip([args[0], *sizes[:-1]], sizes, strict=True))
    for _ in range(10_000):
        weights = [_rows(rng, n_in, n_out) for n_in, n_out in shapes]
        weights = weights[0][0] if kind == "Neuron" else weights[0] if kind == "Layer" \
            else weights
        X = rng.uniform(-2.0, 2.0, size=(n_examples, args[0])).tolist()
        if _well_placed(kind, args, weights, X, positive):
            return weights, X
    raise RuntimeError("no well-placed draw")  # pragma: no cover - never happens


def _dout(rng, n_examples: int, n_out: int) -> list[list[float]]:
    magnitude = rng.uniform(0.5, 2.0, size=(n_examples, n_out))
    return (magnitude * np.where(rng.random(size=magnitude.shape) < 0.5, -1.0, 1.0)).tolist()


def _n_out(kind: str, args: tuple) -> int:
    return 1 if kind == "Neuron" else args[1] if kind == "Layer" else list(args[1])[-1]


def _describe(kind: str, args: tuple) -> str:
    if kind == "Neuron":
        return f"Neuron({args[0]}, nonlin={args[1]})"
    if kind == "Layer":
        return f"Layer({args[0]}, {args[1]}, nonlin={args[2]})"
    return f"MLP({args[0]}, {list(args[1])})"


# ---------------------------------------------------------------------------------------
# Running a side's model
# ---------------------------------------------------------------------------------------


def _helpers_unchanged(student) -> None:
    problem = provided_helpers_problem(student.source,
                                       lambda name: student.source(name) is not None)
    if problem:
        raise AssertionError(problem)


def _numbers(value, what: str) -> np.ndarray:
    try:
        array = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(f"{what}: expected numbers, got something else") from None
    return array


def _plain(result, n_examples: int, n_out: int, what: str) -> dict:
    """{"outputs": (N, n_out), "grads": flat} of an evaluate_model result, whatever the
    container of a single output."""
    if not isinstance(result, dict) or not {"outputs", "grads"} <= set(result):
        raise AssertionError(f"{what}: evaluate_model should return a dict with outputs and "
                             "grads (restore the provided function)")
    rows = [row if isinstance(row, list) else [row] for row in result["outputs"]]
    outputs = _numbers(rows, f"{what}: the outputs")
    if outputs.shape != (n_examples, n_out):
        raise AssertionError(f"{what}: expected {n_out} output(s) for each of {n_examples} "
                             f"examples, got an array of shape {outputs.shape}")
    return {"outputs": outputs, "grads": _numbers(_flat(result["grads"]), f"{what}: grads")}


def _flat(nested) -> list:
    if isinstance(nested, list | tuple):
        return [leaf for item in nested for leaf in _flat(item)]
    return [nested]


def _run(side, kind, args, weights, X, dout, values=True) -> dict:
    return side.evaluate_model(kind, args, weights, X, dout, values)


def _matches(got: dict, option: dict) -> bool:
    try:
        same_as_one_of(got, [option], rtol=RTOL, atol=ATOL)
    except AssertionError:
        return False
    return True


def _usable(option: dict) -> bool:
    """An alternative answer counts only when it is not trivial: finite, and some output not
    zero. (Its gradients may all be 0: a backward() that overwrites instead of adding up can
    leave every weight with the last example's 0.)"""
    return bool(np.all(np.isfinite(option["outputs"])) and np.all(np.isfinite(option["grads"]))
                and np.any(option["outputs"] != 0))


# ---------------------------------------------------------------------------------------
# Alternative 1: the reference's graph built with the student's Value (evaluate_expression)
# ---------------------------------------------------------------------------------------

#: The usual ways of writing a neuron: (bias first as in sum(products, b) or last as in
#: sum(products) + b, weight * input or input * weight). The first is the reference's.
STRUCTURES = ((True, True), (False, True), (True, False), (False, False))


def _expression(kind, args, weights, X, dout, values, structure):
    """evaluate_expression's (steps, inputs) for the model's graph and its loss, and the
    names of the outputs and of the weights (flat order)."""
    bias_first, weight_first = structure
    inputs, weight_names, steps = {}, [], []
    counter = iter(range(10**9))

    def step(op, arguments):
        name = f"n{next(counter)}"
        steps.append((name, op, arguments))
        return name

    specs = []
    for rows, nonlin in _layer_specs(kind, args, weights):
        named = []
        for row in rows:
            names = []
            for number in row:
                names.append(f"w{len(weight_names)}")
                weight_names.append(names[-1])
                inputs[names[-1]] = float(number)
            named.append(names)
        specs.append((named, nonlin))
    outputs = []
    for n, row in enumerate(X):
        if values:
            current = []
            for i, number in enumerate(row):
                inputs[f"x{n}_{i}"] = float(number)
                current.append(f"x{n}_{i}")
        else:
            current = [float(number) for number in row]
        for named, nonlin in specs:
            following = []
            for names in named:
                products = [step("*", (w, x) if weight_first else (x, w))
                            for w, x in zip(names[:-1], current, strict=True)]
                if bias_first:
                    total = names[-1]
                    for p in products:
                        total = step("+", (total, p))
                else:
                    total = step("+", (0.0, products[0]))
                    for p in products[1:]:
                        total = step("+", (total, p))
                    total = step("+", (total, names[-1]))
                following.append(step("relu", (total,)) if nonlin else total)
            current = following
        outputs.append(current)
    loss = None
    for out_row, d_row in zip(outputs, dout, strict=True):
        for o, d in zip(out_row, d_row, strict=True):
            term = step("*", (o, float(d)))
            loss = term if loss is None else step("+", (loss, term))
    return steps, inputs, outputs, weight_names


def _with_students_value(student, kind, args, weights, X, dout, values) -> list[dict]:
    """The reference's answer computed with the student's Value (one per structure), when the
    notebook's evaluate_expression is the provided one."""
    if provided_helper_problem(student.source("evaluate_expression"),
                               lambda name: student.source(name) is not None):
        return []
    options = []
    for structure in STRUCTURES:
        steps, inputs, outputs, weight_names = _expression(kind, args, weights, X, dout,
                                                           values, structure)
        try:
            result = student.evaluate_expression(steps, inputs, 1)
            _, grads, node_values = result
            option = {"outputs": np.array([[node_values[o] for o in row] for row in outputs],
                                          dtype=float),
                      "grads": np.array([grads[w] for w in weight_names], dtype=float)}
        except (StudentError, TypeError, ValueError, KeyError):
            continue
        if _usable(option):
            options.append(option)
    return options


# ---------------------------------------------------------------------------------------
# Alternative 2: the student's own parts put together
# ---------------------------------------------------------------------------------------


def _layer_from_students_neurons(student, args, weights, X, dout, values) -> dict:
    n_in, n_out, nonlin = args
    outputs, grads = [], []
    for j in range(n_out):
        result = _plain(_run(student, "Neuron", (n_in, nonlin), weights[j], X,
                             [[row[j]] for row in dout], values), len(X), 1, "a neuron")
        outputs.append(result["outputs"][:, 0])
        grads.extend(result["grads"].tolist())
    return {"outputs": np.stack(outputs, axis=1), "grads": np.array(grads)}


def _mlp_from_students_layers(student, args, weights, X, dout) -> dict:
    n_in, sizes = args[0], list(args[1])
    fan_in, last = [n_in, *sizes[:-1]], len(sizes) - 1
    layer_args = [(fan_in[k], sizes[k], k < last) for k in range(len(sizes))]
    inputs = [X]
    for k in range(last):  # forward through the hidden layers
        ones = [[1.0] * sizes[k] for _ in X]
        result = _run(student, "Layer", layer_args[k], weights[k], inputs[-1], ones)
        inputs.append(_plain(result, len(X), sizes[k], "a layer")["outputs"].tolist())
    grads, upstream, outputs = [None] * len(sizes), dout, None
    for k in reversed(range(len(sizes))):  # backward, the input gradients chained
        result = _run(student, "Layer", layer_args[k], weights[k], inputs[k], upstream)
        plain = _plain(result, len(X), sizes[k], "a layer")
        grads[k] = plain["grads"]
        if outputs is None:
            outputs = plain["outputs"]
        upstream = _numbers(result["input_grads"], "input gradients").tolist()
    return {"outputs": outputs, "grads": np.concatenate(grads)}


def _composed(student, kind, args, weights, X, dout, values) -> list[dict]:
    try:
        if kind == "Layer":
            option = _layer_from_students_neurons(student, args, weights, X, dout, values)
        elif kind == "MLP":
            option = _mlp_from_students_layers(student, args, weights, X, dout)
        else:
            return []
    except (StudentError, AssertionError, TypeError, ValueError, KeyError):
        return []
    # finite is enough: the student's own parts may rightly give only zeros (a neuron without
    # its bias can leave every ReLU of a layer off), and a layer or MLP that merely puts them
    # together is right
    finite = bool(np.all(np.isfinite(option["outputs"])) and np.all(np.isfinite(option["grads"])))
    return [option] if finite else []


# ---------------------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------------------


def _same_model(student, reference, kind, args, weights, X, dout, what, hint, values=True,
                expected=None):
    """The student's outputs and gradients equal the reference's (or ``expected``), or the
    reference's built with the student's Value, or the student's own parts put together."""
    n_out = _n_out(kind, args)
    what = f"{what or _describe(kind, args)} on {len(X)} examples"
    try:
        got = _plain(_run(student, kind, args, weights, X, dout, values), len(X), n_out, what)
    except StudentError as error:
        raise AssertionError(f"{what}: {describe_failure(error)}. Hint: {hint}") from None
    if expected is None:
        expected = _plain(_run(reference, kind, args, weights, X, dout, values), len(X),
                          n_out, what)
    options = [expected]
    if not _matches(got, expected):
        options += _with_students_value(student, kind, args, weights, X, dout, values)
        options += _composed(student, kind, args, weights, X, dout, values)
    try:
        same_as_one_of(got, options, rtol=RTOL, atol=ATOL, what=what)
    except AssertionError as error:
        raise AssertionError(f"{error}. Hint: {hint}") from None


def _random_model(rng, kind: str, args: tuple, n_examples: int, positive: bool = False):
    weights, X = _draw(rng, kind, args, n_examples, positive)
    return weights, X, _dout(rng, n_examples, _n_out(kind, args))


def _two_layer_case(rng, reference):
    """two_layer_net's params as MLP weights, with the layer-wise net's scores and gradients
    of the softmax loss (reg = 0) in the order of the weights."""
    D, H, C, N = (int(rng.integers(2, 5)), int(rng.integers(3, 6)), int(rng.integers(2, 4)),
                  int(rng.integers(3, 6)))
    for _ in range(10_000):
        params = {"W1": rng.normal(scale=0.8, size=(D, H)), "b1": rng.normal(scale=0.3, size=H),
                  "W2": rng.normal(scale=0.8, size=(H, C)), "b2": rng.normal(scale=0.3, size=C)}
        X = rng.normal(size=(N, D))
        weights = [[[*params["W1"][:, j], params["b1"][j]] for j in range(H)],
                   [[*params["W2"][:, k], params["b2"][k]] for k in range(C)]]
        if _well_placed("MLP", (D, [H, C]), weights, X):
            break
    y = rng.integers(0, C, size=N)
    scores = reference.two_layer_net(params, X)
    _, grads = reference.two_layer_net(params, X, y)
    _, dscores = reference.softmax_loss(scores, y)
    expected_grads = np.concatenate([
        np.column_stack([grads["W1"].T, grads["b1"]]).ravel(),
        np.column_stack([grads["W2"].T, grads["b2"]]).ravel()])
    return ((D, [H, C]), _plain_floats(weights), X.tolist(), dscores.tolist(),
            {"outputs": scores, "grads": expected_grads})


def _plain_floats(nested):
    if isinstance(nested, list | tuple):
        return [_plain_floats(item) for item in nested]
    return float(nested)


NEURON_HINT = ("a neuron computes b + w_1 x_1 + ... + w_n x_n with Value operations, then "
               "relu only when nonlin is True")
LAYER_HINT = "a layer returns the outputs of its neurons, in the order of self.neurons"
MLP_HINT = ("each layer reads the previous layer's outputs; ReLU on every hidden layer, the "
            "last layer linear (nonlin=False)")


@pytest.mark.points(3)
def test_mlp(student, reference, rng, partial):
    with partial.part("Neuron: b + w . x, then relu (nonlin=True) or not (nonlin=False); "
                      "Values or plain numbers as inputs"):
        _helpers_unchanged(student)
        n_in = int(rng.integers(2, 5))
        for nonlin, values in ((True, True), (False, True), (True, False)):
            args = (n_in, nonlin)
            weights, X, dout = _random_model(rng, "Neuron", args, 4)
            _same_model(student, reference, "Neuron", args, weights, X, dout,
                        None if values else f"{_describe('Neuron', args)} with plain numbers",
                        NEURON_HINT, values)
        # a single input (fixed for everyone): pre-activations -2.75 and 1.75
        for nonlin in (True, False):
            _same_model(student, reference, "Neuron", (1, nonlin), [-1.5, 0.25],
                        [[2.0], [-1.0]], [[1.5], [-0.5]], None, NEURON_HINT)
    with partial.part("Layer: one output per neuron, in order (ReLU and linear)"):
        _helpers_unchanged(student)
        for nonlin in (True, False):
            args = (int(rng.integers(2, 5)), int(rng.integers(2, 5)), nonlin)
            weights, X, dout = _random_model(rng, "Layer", args, 3)
            _same_model(student, reference, "Layer", args, weights, X, dout, None, LAYER_HINT)
    with partial.part("MLP: ReLU on the hidden layers, a linear last layer; with the weights "
                      "of two_layer_net it gives the layer-wise net's scores and gradients"):
        _helpers_unchanged(student)
        sizes = [int(rng.integers(2, 5)), int(rng.integers(2, 5)), int(rng.integers(2, 4))]
        args = (int(rng.integers(2, 4)), sizes)
        weights, X, dout = _random_model(rng, "MLP", args, 3)
        _same_model(student, reference, "MLP", args, weights, X, dout, None, MLP_HINT)
        _same_model(student, reference, "MLP", args, weights, X, dout,
                    f"{_describe('MLP', args)} with plain numbers", MLP_HINT, values=False)
        # no hidden layer (fixed for everyone): MLP(2, [1]) is one linear neuron
        _same_model(student, reference, "MLP", (2, [1]), [[[1.0, -2.0, 0.5]]],
                    [[1.0, 1.0], [0.5, -1.0]], [[1.0], [2.0]], None, MLP_HINT)
        args, weights, X, dout, expected = _two_layer_case(rng, reference)
        _same_model(student, reference, "MLP", args, weights, X, dout,
                    f"{_describe('MLP', args)} with the weights of two_layer_net (the "
                    "layer-wise net's scores and softmax-loss gradients)",
                    MLP_HINT + "; neuron j of layer 1 has the weights W1[:, j] and the bias "
                    "b1[j]", expected=expected)
    with partial.part("a Layer or an MLP with one output returns that Value, not a list"):
        _helpers_unchanged(student)
        n_in = int(rng.integers(2, 4))
        for kind, args in (("Layer", (n_in, 1, False)),
                           ("MLP", (n_in, [int(rng.integers(2, 5)), 1]))):
            # positive outputs: a ReLU on the last layer is the MLP part's mistake, not this one
            weights, X, dout = _random_model(rng, kind, args, 2, positive=True)
            _same_model(student, reference, kind, args, weights, X, dout, None,
                        LAYER_HINT if kind == "Layer" else MLP_HINT)
            outputs = _run(student, kind, args, weights, X, dout)["outputs"]
            if any(isinstance(row, list) for row in outputs):
                raise AssertionError(f"{_describe(kind, args)}(x) returned a list of one "
                                     "Value; with one output, return the Value itself")
    with partial.part("parameters(): every weight and bias, layer by layer, neuron by "
                      "neuron, weights before the bias"):
        _helpers_unchanged(student)
        n_in = int(rng.integers(2, 4))
        sizes = [int(rng.integers(2, 4)), int(rng.integers(2, 4))]
        for kind, args in (("Neuron", (n_in, True)), ("Layer", (n_in, 2, True)),
                           ("MLP", (n_in, sizes))):
            weights, X, dout = _random_model(rng, kind, args, 2)
            order = _run(student, kind, args, weights, X, dout)["order"]
            expected = list(range(len(_flat(weights))))
            if order != expected:
                raise AssertionError(_order_problem(_describe(kind, args), order, expected))
    with partial.part("zero_grad() sets .grad of every parameter to 0"):
        _helpers_unchanged(student)
        n_in = int(rng.integers(2, 4))
        for kind, args in (("Neuron", (n_in, True)), ("Layer", (n_in, 2, True)),
                           ("MLP", (n_in, [int(rng.integers(2, 4)), 2]))):
            weights, X, dout = _random_model(rng, kind, args, 2)
            result = _run(student, kind, args, weights, X, dout)
            _zeroed(_describe(kind, args), _flat(result["after_zero_grad"]), result["order"])


def _order_problem(what: str, order, expected) -> str:
    if not isinstance(order, list):
        return f"{what}.parameters() should return a list"
    if len(order) != len(expected):
        return (f"{what}.parameters() returned {len(order)} items, expected {len(expected)} "
                "(every weight and every bias)")
    if -1 in order:
        return (f"{what}.parameters() returned objects that are not the model's own weight "
                "and bias Values (neuron.w and neuron.b)")
    return (f"{what}.parameters() has every weight and bias but not in the order layer by "
            "layer, neuron by neuron, the weights before the bias")


def _zeroed(what: str, after: list, order) -> None:
    """Every weight and bias is 0 after zero_grad() (each was 1.0 before), or exactly those
    the student's own parameters() lists are (a wrong parameters() is its own part)."""
    after = np.array(after, dtype=float)
    if np.all(after == 0.0):
        return
    listed = {k for k in order if isinstance(k, int) and k >= 0} if isinstance(order, list) \
        else set()
    own = np.array([0.0 if k in listed else 1.0 for k in range(len(after))])
    if listed and np.array_equal(after, own):
        return
    left = int(np.sum(after != 0.0))
    raise AssertionError(f"after {what}.zero_grad(), {left} of {len(after)} parameters still "
                         "have a non-zero .grad (each was set to 1.0 before)")
