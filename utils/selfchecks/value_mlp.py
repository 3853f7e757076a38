"""Self-checks for the small neural-network library of 05_backprop (Neuron, Layer, MLP on the
student's ``Value``).

Expected values come from examples worked by hand (in the comments), from plain numpy
formulas with ``scipy.special`` for the softmax, and from centred-difference numerical
gradients (``utils.gradcheck``), never from the course's solutions. The hidden suite tries
the same things: neurons, layers and MLPs with given weights (set by the provided
``load_weights``), a single output returned as the Value itself, the order of
``parameters()``, ``zero_grad()`` and an MLP with the weights of the layer-wise two-layer net.

The grader reaches the classes through the provided ``evaluate_model`` (and
``load_weights``), which must be the provided code: ``provided_helpers_problem`` tells why
not, with the same words here and in the suite.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

from utils.checks import SelfCheck, expect, expect_array, expect_close
from utils.gradcheck import eval_numerical_gradient
from utils.selfchecks.provided_code import ProvidedCode

#: The provided helpers of the MLP cell, docstrings left out. The grader tests the classes
#: through ``evaluate_model`` and requires the notebook's copies to be this code (compared as
#: syntax trees); tests/test_value_mlp.py keeps this text equal to the solution notebook's.
PROVIDED_HELPERS = {
    "load_weights": '''
def load_weights(model, weights):
    if hasattr(model, "layers"):
        if len(weights) != len(model.layers):
            raise ValueError(f"{len(weights)} layers of weights for {len(model.layers)} layers")
        for layer, layer_weights in zip(model.layers, weights, strict=True):
            load_weights(layer, layer_weights)
    elif hasattr(model, "neurons"):
        if len(weights) != len(model.neurons):
            raise ValueError(f"{len(weights)} neurons' weights for {len(model.neurons)} neurons")
        for neuron, neuron_weights in zip(model.neurons, weights, strict=True):
            load_weights(neuron, neuron_weights)
    else:
        if len(weights) != len(model.w) + 1:
            raise ValueError(f"{len(weights)} numbers for a neuron with {len(model.w)} inputs "
                             "(it needs the weights, then the bias)")
        for weight, number in zip(model.w, weights[:-1], strict=True):
            weight.data = float(number)
        model.b.data = float(weights[-1])
''',
    "evaluate_model": '''
def evaluate_model(kind, args, weights, X, dout, values_as_inputs=True):
    model = {"Neuron": Neuron, "Layer": Layer, "MLP": MLP}[kind](*args)
    load_weights(model, weights)

    def nodes_of(part):
        if hasattr(part, "layers"):
            return [nodes_of(layer) for layer in part.layers]
        if hasattr(part, "neurons"):
            return [nodes_of(neuron) for neuron in part.neurons]
        return list(part.w) + [part.b]

    def flat(nested):
        return [leaf for item in nested for leaf in (flat(item) if isinstance(item, list)
                                                     else [item])]

    def grads_of(nested):
        return [grads_of(item) if isinstance(item, list) else float(item.grad)
                for item in nested]

    nodes = nodes_of(model)
    inputs = [[Value(x) if values_as_inputs else float(x) for x in row] for row in X]
    outputs, loss = [], None
    for row, upstream in zip(inputs, dout, strict=True):
        out = model(row)
        if isinstance(out, Value):
            outs, reported = [out], float(out.data)
        elif isinstance(out, (list, tuple)) and all(isinstance(o, Value) for o in out):
            outs, reported = list(out), [float(o.data) for o in out]
        else:
            raise TypeError(f"{kind}(x) should return a Value or a list of Values, got "
                            f"{type(out).__name__}")
        if len(outs) != len(upstream):
            raise ValueError(f"{kind}(x) gave {len(outs)} outputs, expected {len(upstream)}")
        outputs.append(reported)
        for o, d in zip(outs, upstream, strict=True):
            loss = o * d if loss is None else loss + o * d
    loss.backward()
    position = {id(node): k for k, node in enumerate(flat(nodes))}
    result = {"outputs": outputs, "grads": grads_of(nodes),
              "input_grads": [[float(x.grad) for x in row] for row in inputs]
              if values_as_inputs else None,
              "order": [position.get(id(p), -1) for p in model.parameters()]}
    for node in flat(nodes):
        node.grad = 1.0
    model.zero_grad()
    result["after_zero_grad"] = grads_of(nodes)
    return result
''',
}

#: The provided code of the MLP cell; the student's cells define these names on purpose.
MLP_HELPERS = ProvidedCode(PROVIDED_HELPERS, cell="MLP", tested="Neuron, Layer and MLP",
                           user="evaluate_model",
                           own_names=frozenset({"Value", "Neuron", "Layer", "MLP", "Module"}))


def provided_helpers_problem(source_of: Callable[[str], str | None],
                             defined: Callable[[str], bool]) -> str | None:
    """Why the notebook's ``load_weights`` / ``evaluate_model`` are not the provided ones,
    or None.

    Inputs:
    - source_of: ``source_of(name)`` is the source text of the notebook's ``name`` (None if
      missing).
    - defined: ``defined(name)`` is True when the student's cells define ``name``.
    The hidden suite uses the same function on the notebook's text.
    """
    return MLP_HELPERS.problem(source_of, defined)


# ---------------------------------------------------------------------------------------
# The self-check
# ---------------------------------------------------------------------------------------


def _set_weights(model, weights) -> None:
    """Our own setter (independent of the notebook's load_weights), with friendly errors."""
    if hasattr(model, "layers"):
        for layer, layer_weights in zip(model.layers, weights, strict=True):
            _set_weights(layer, layer_weights)
    elif hasattr(model, "neurons"):
        for neuron, neuron_weights in zip(model.neurons, weights, strict=True):
            _set_weights(neuron, neuron_weights)
    else:
        expect(hasattr(model, "w") and hasattr(model, "b"),
               "A Neuron needs the attributes w (a list of Values) and b (a Value); a Layer "
               "the attribute neurons, an MLP the attribute layers.")
        expect(len(model.w) == len(weights) - 1,
               f"Neuron(n_in) should have n_in weights in .w; got {len(model.w)} for "
               f"n_in = {len(weights) - 1}.")
        for weight, number in zip(model.w, weights[:-1], strict=True):
            weight.data = float(number)
        model.b.data = float(weights[-1])


def _nodes(model) -> list:
    """Every weight and bias Value, layer by layer, neuron by neuron, weights then bias."""
    if hasattr(model, "layers"):
        return [v for layer in model.layers for v in _nodes(layer)]
    if hasattr(model, "neurons"):
        return [v for neuron in model.neurons for v in _nodes(neuron)]
    return [*model.w, model.b]


def _as_list(out, value_class, what: str) -> list:
    if isinstance(out, value_class):
        return [out]
    expect(isinstance(out, list | tuple) and all(isinstance(o, value_class) for o in out),
           f"{what} should return a Value or a list of Values, got {type(out).__name__}.")
    return list(out)


def _backward_of(outputs: list, dout) -> None:
    """Backward pass from loss = sum(dout * outputs), built with the student's Value."""
    loss = outputs[0] * float(dout[0])
    for o, d in zip(outputs[1:], dout[1:], strict=True):
        loss = loss + o * float(d)
    loss.backward()


def _grads(model) -> np.ndarray:
    return np.array([float(v.grad) for v in _nodes(model)])


# Worked by hand: a neuron with w = [2, -1], b = 0.5.
#   x = [1, 3]:  2 - 3 + 0.5 = -0.5 (relu: 0);  x = [1, -1]: 2 + 1 + 0.5 = 3.5
_NEURON_W = [2.0, -1.0, 0.5]
# A Layer(2, 3): rows are (w1, w2, b). At x = [2, -1]:
#   neuron 1: 2 -> 2;  neuron 2: -1 + 2 = 1 -> 1;  neuron 3: 2 - 1 - 3 = -2 -> relu 0
_LAYER_W = [[1.0, 0.0, 0.0], [0.0, 1.0, 2.0], [1.0, 1.0, -3.0]]
# An MLP(2, [2, 1]): h1 = relu(x1 - x2), h2 = relu(x1 + x2 - 1), out = 2 h1 - h2 + 0.5.
# At x = [1, 2]: h1 = relu(-1) = 0, h2 = relu(2) = 2, out = -2 + 0.5 = -1.5 (linear output).
# d out: layer 2 w = [h1, h2] = [0, 2], b = 1; neuron h1 is off: 0, 0, 0;
#        neuron h2: -1 * [x1, x2, 1] = [-1, -2, -1].
_MLP_W = [[[1.0, -1.0, 0.0], [1.0, 1.0, -1.0]], [[2.0, -1.0, 0.5]]]
_MLP_GRADS = np.array([0.0, 0.0, 0.0, -1.0, -2.0, -1.0, 0.0, 2.0, 1.0])


def _two_layer_case():
    """Weights of a 3-4-3 two-layer net, 5 examples and labels (fixed, any draw would do)."""
    rng = np.random.default_rng(11)
    D, H, C, N = 3, 4, 3, 5
    params = {"W1": rng.normal(scale=0.8, size=(D, H)), "b1": rng.normal(scale=0.3, size=H),
              "W2": rng.normal(scale=0.8, size=(H, C)), "b2": rng.normal(scale=0.3, size=C)}
    return params, rng.normal(size=(N, D)), rng.integers(0, C, size=N)


def _softmax_loss_of(params, X, y) -> float:
    """The layer-wise net's loss, written with numpy and scipy (independent code)."""
    from scipy.special import log_softmax

    scores = np.maximum(X @ params["W1"] + params["b1"], 0.0) @ params["W2"] + params["b2"]
    return float(-np.mean(log_softmax(scores, axis=1)[np.arange(len(y)), y]))


def _weights_of(params) -> list:
    """two_layer_net's params as the nested lists load_weights takes: neuron j of layer 1 has
    the weights W1[:, j] and the bias b1[j]."""
    return [[[*params["W1"][:, j], params["b1"][j]] for j in range(params["W1"].shape[1])],
            [[*params["W2"][:, k], params["b2"][k]] for k in range(params["W2"].shape[1])]]


def check_mlp(neuron_class, layer_class, mlp_class) -> None:
    """Check ``Neuron``, ``Layer`` and ``MLP`` (built on the notebook's ``Value``)."""
    from scipy.special import softmax

    namespace = _notebook_namespace(mlp_class)
    value_class = namespace.get("Value")
    if not isinstance(value_class, type):
        raise NameError("run the Value cell of Part 1 first: Neuron, Layer and MLP use Value")
    check = SelfCheck("Neuron / Layer / MLP")
    with check.case("a ReLU neuron and a linear neuron, w = [2, -1], b = 0.5, worked by hand"):
        for nonlin, x, expected, grads in [
                (False, [1.0, 3.0], -0.5, [1.0, 3.0, 1.0]),
                (True, [1.0, 3.0], 0.0, [0.0, 0.0, 0.0]),
                (True, [1.0, -1.0], 3.5, [1.0, -1.0, 1.0])]:
            neuron = neuron_class(2, nonlin=nonlin)
            _set_weights(neuron, _NEURON_W)
            out = neuron(x)
            expect(isinstance(out, value_class),
                   f"Neuron(x) should return a Value, got {type(out).__name__}.")
            what = f"Neuron(2, nonlin={nonlin}) at x = {x}"
            expect_close(out.data, expected, what=f"{what}: the output",
                         hint="b + w_1 x_1 + w_2 x_2, then relu only when nonlin is True.")
            out.backward()
            expect_array(_grads(neuron), np.array(grads), what=f"{what}: [w.grad, b.grad]",
                         hint="build the output with Value operations only (never from "
                              ".data), so that backward() reaches every weight.")
    with check.case("the neuron's inputs may be Values: d out / d x = w"):
        neuron = neuron_class(2, nonlin=False)
        _set_weights(neuron, _NEURON_W)
        x = [value_class(1.0), value_class(3.0)]
        neuron(x).backward()
        expect_array(np.array([x[0].grad, x[1].grad]), np.array([2.0, -1.0]), what="x.grad")
    with check.case("Layer(2, 3) at x = [2, -1], worked by hand (ReLU and linear)"):
        for nonlin, expected in [(True, [2.0, 1.0, 0.0]), (False, [2.0, 1.0, -2.0])]:
            layer = layer_class(2, 3, nonlin=nonlin)
            _set_weights(layer, _LAYER_W)
            outs = _as_list(layer([2.0, -1.0]), value_class, "Layer(x)")
            what = f"Layer(2, 3, nonlin={nonlin}): the outputs"
            expect_array(np.array([o.data for o in outs]), np.array(expected), what=what,
                         hint="one output per neuron, in the order of self.neurons.")
            _backward_of(outs, [1.0, 1.0, 1.0])
            last = [2.0, -1.0, 1.0] if not nonlin else [0.0, 0.0, 0.0]
            expect_array(_grads(layer), np.array([2.0, -1.0, 1.0, 2.0, -1.0, 1.0, *last]),
                         what=f"Layer(2, 3, nonlin={nonlin}): the gradients of sum(outputs)")
    with check.case("MLP(2, [2, 1]) at x = [1, 2], worked by hand: output -1.5 (linear last "
                    "layer) and every gradient"):
        model = mlp_class(2, [2, 1])
        _set_weights(model, _MLP_W)
        out = model([1.0, 2.0])
        expect(isinstance(out, value_class),
               f"An MLP with one output should return that Value, got {type(out).__name__}.")
        expect_close(out.data, -1.5, what="the output",
                     hint="ReLU on the hidden layers only: the last layer is linear (its "
                          "output is a score and may be negative).")
        out.backward()
        expect_array(_grads(model), _MLP_GRADS, what="the gradients, layer by layer")
    with check.case("a Layer and an MLP with one output return that Value, not a list"):
        layer = layer_class(2, 1, nonlin=False)
        _set_weights(layer, [_NEURON_W])
        out = layer([1.0, 3.0])
        expect(isinstance(out, value_class), "Layer(2, 1)(x) should return the Value itself "
               f"(n_out = 1), got {type(out).__name__}.")
        expect_close(out.data, -0.5, what="the output")
        model = mlp_class(2, [3, 2])
        outs = model([1.0, 3.0])
        expect(isinstance(outs, list) and len(outs) == 2,
               f"MLP(2, [3, 2])(x) should return a list of 2 Values, got {type(outs).__name__}.")
    with check.case("parameters(): every weight and bias, layer by layer, neuron by neuron, "
                    "weights before the bias"):
        for model, what in [(neuron_class(3), "Neuron(3)"), (layer_class(2, 3), "Layer(2, 3)"),
                            (mlp_class(2, [3, 2]), "MLP(2, [3, 2])")]:
            got, expected = list(model.parameters()), _nodes(model)
            expect(len(got) == len(expected),
                   f"{what}.parameters() returned {len(got)} Values, expected "
                   f"{len(expected)} (every weight and every bias).")
            expect(all(g is e for g, e in zip(got, expected, strict=True)),
                   f"{what}.parameters() has the right number of Values but not in the order "
                   "layer by layer, neuron by neuron, weights then bias (or not the model's "
                   "own Value objects).")
    with check.case("zero_grad() sets .grad of every parameter to 0"):
        for model, what in [(neuron_class(3), "Neuron(3)"), (layer_class(2, 3), "Layer(2, 3)"),
                            (mlp_class(2, [3, 2]), "MLP(2, [3, 2])")]:
            for node in _nodes(model):
                node.grad = 1.0
            model.zero_grad()
            left = sum(node.grad != 0.0 for node in _nodes(model))
            expect(left == 0, f"after {what}.zero_grad(), {left} parameters still have a "
                              "non-zero .grad.")
    with check.case("MLP(3, [4, 3]) with a two-layer net's weights gives the layer-wise "
                    "scores and the softmax loss's gradients (numpy, scipy and numerical "
                    "gradients)"):
        params, X, y = _two_layer_case()
        model = mlp_class(3, [4, 3])
        _set_weights(model, _weights_of(params))
        expected_scores = np.maximum(X @ params["W1"] + params["b1"], 0.0) @ params["W2"] + \
            params["b2"]
        rows = [_as_list(model(list(row)), value_class, "MLP(x)") for row in X]
        expect_array(np.array([[o.data for o in row] for row in rows]), expected_scores,
                     rtol=1e-9, atol=1e-12, what="the scores, one row per example")
        # d loss / d scores of the mean softmax loss, so sum(dout * scores) has its gradients
        dout = softmax(expected_scores, axis=1)
        dout[np.arange(len(y)), y] -= 1.0
        dout /= len(y)
        outputs = [o for row in rows for o in row]
        _backward_of(outputs, dout.ravel())
        for name, index in [("W1", 0), ("b1", 0), ("W2", 1), ("b2", 1)]:
            layer = model.layers[index]
            got = np.array([[w.grad for w in n.w] for n in layer.neurons]).T if name[0] == "W" \
                else np.array([n.b.grad for n in layer.neurons])

            def loss_of(value, name=name):
                return _softmax_loss_of({**params, name: value}, X, y)

            numeric = eval_numerical_gradient(loss_of, params[name].copy())
            expect_array(got, numeric, rtol=1e-5, atol=1e-8, what=f"the gradient of {name}",
                         hint="neuron j of layer 1 has the weights W1[:, j] and the bias b1[j]; "
                              "if the self-check of Value in Part 1 fails, fix Value first "
                              "(a hidden activation feeds every neuron of the next layer, so "
                              "its gradient must add up over all of them).")
    with check.case("the provided load_weights and evaluate_model are unchanged and report "
                    "what your classes compute (the grader tests them through these)"):
        def source_of(name):
            fn = namespace.get(name)
            try:
                return inspect.getsource(fn) if callable(fn) else None
            except (OSError, TypeError):
                return None

        problem = provided_helpers_problem(source_of, lambda name: name in namespace)
        expect(problem is None, f"{problem}.")
        result = namespace["evaluate_model"]("MLP", (2, [2, 1]), _MLP_W, [[1.0, 2.0]], [[1.0]])
        expect_close(result["outputs"][0], -1.5, what="the output evaluate_model reports")
        expect_array(np.array([g for layer in result["grads"] for row in layer for g in row]),
                     _MLP_GRADS, what="the gradients evaluate_model reports")
    return check.report()


def _notebook_namespace(cls) -> dict:
    """The globals of the notebook that defined ``cls`` (read from its methods)."""
    for klass in cls.__mro__:
        for member in vars(klass).values():
            namespace = getattr(getattr(member, "__func__", member), "__globals__", None)
            if isinstance(namespace, dict) and "evaluate_model" in namespace:
                return namespace
    for member in vars(cls).values():
        namespace = getattr(getattr(member, "__func__", member), "__globals__", None)
        if isinstance(namespace, dict):
            return namespace
    return {}
