"""Realistic 05_backprop mistakes and the exact score each earns from the hidden suite.

Parts per test (each part is worth points / parts): test_value 12 parts of 0.5; test_affine
3 of 1; test_relu 3 of 2/3; test_sigmoid 4 of 0.5; test_softmax_loss 4 of 0.75;
test_two_layer_net 5 of 0.8. A property part ("must not modify its input arrays") pays only
when the values of the same call are right, so a wrong result loses it too.

Each variant is the solution notebook with one or two graded cells edited (``_edit`` replaces
one exact piece of the solution's text). The "correct function next to a wrong helper"
variants show that a bug costs points once: ``two_layer_net`` keeps its 4 points next to a
wrong ``relu_backward``, a wrong ``affine_backward``, a ``softmax_loss`` that divides by N
twice and an ``affine_forward`` that reshapes its input in place; a ``sigmoid`` built from a
wrong ``exp`` keeps its parts.
"""

from __future__ import annotations

from variants import Variant, edited_cell, solution_cells

ASSIGNMENT = "05_backprop"


def _edit(grade_id: str, *pairs: tuple[str, str]) -> str:
    """The solution cell ``grade_id`` with each (old, new) text replaced (old must occur once)."""
    return edited_cell(ASSIGNMENT, grade_id, *pairs)

_SOLUTION = solution_cells(ASSIGNMENT)



VALUE_PART = 6 / 12
RELU_PART = 2 / 3
SIGMOID_PART = 2 / 4
SOFTMAX_PART = 3 / 4
NET_PART = 4 / 5

VARIANTS: list[Variant] = [
    # ---- Value ------------------------------------------------------------------------
    Variant(
        name="value_pow_gradient_without_minus_one",
        description="__pow__'s local gradient uses p * v**p instead of p * v**(p - 1); "
                    "`/` (built from **) keeps its marks",
        replace={"Value": _edit("Value", (
            "self.grad += exponent * self.data ** (exponent - 1) * out.grad",
            "self.grad += exponent * self.data ** exponent * out.grad"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_tanh_backward_uses_the_input",
        description="tanh's backward uses 1 - x**2 (the input) instead of 1 - tanh(x)**2",
        replace={"Value": _edit("Value", (
            "self.grad += (1.0 - t * t) * out.grad",
            "self.grad += (1.0 - self.data * self.data) * out.grad"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_backward_breadth_first_not_topological",
        description="backward() calls _backward in breadth-first order from the output, not in "
                    "reverse topological order (a shared node passes its gradient on too early)",
        replace={"Value": _edit("Value", (
            """        order, visited = [], set()
        stack = [(self, False)]
        while stack:  # iterative depth-first search: deep graphs do not hit the recursion limit
            node, children_done = stack.pop()
            if children_done:
                order.append(node)
                continue
            if id(node) in visited:
                continue
            visited.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node._prev if id(child) not in visited)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()""",
            """        order, seen, queue = [], set(), [self]
        while queue:
            node = queue.pop(0)
            if id(node) in seen:
                continue
            seen.add(id(node))
            order.append(node)
            queue.extend(node._prev)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in order:
            node._backward()"""))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_gradients_assigned_not_accumulated",
        description="every _backward overwrites the inputs' .grad with = instead of adding +=",
        replace={"Value": _SOLUTION["Value"].replace("self.grad +=", "self.grad =")
                 .replace("other.grad +=", "other.grad =")},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_backward_without_reset",
        description="backward() does not set the graph's .grad to 0 first: a second call adds "
                    "to the first",
        replace={"Value": _edit("Value", ("""        for node in order:
            node.grad = 0.0
""", ""))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_provided_helper_edited",
        description="evaluate_expression (provided, not to be changed) edited to call "
                    "backward() once, hiding a backward() without reset: Value gets nothing",
        replace={"Value": _edit("Value", ("""        for node in order:
            node.grad = 0.0
""", ""), ("""    for _ in range(backward_calls):
        out.backward()""", """    out.backward()"""))},
        scores={"test_value": 0.0},
        selfcheck_fails=("test_Value",),
    ),
    Variant(
        name="value_rsub_reversed",
        description="__rsub__ computes v - c instead of c - v",
        replace={"Value": _edit("Value", ("return Value._wrap(other) - self",
                                          "return self - Value._wrap(other)"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_sigmoid_overflows",
        description="sigmoid computes 1 / (1 + math.exp(-x)) for every x: OverflowError at "
                    "x = -1000 (the stability part only)",
        replace={"Value": _edit("Value", ("        if self.data >= 0:\n"
                                          "            s = 1.0 / (1.0 + math.exp(-self.data))",
                                          "        if True:\n"
                                          "            s = 1.0 / (1.0 + math.exp(-self.data))"))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    Variant(
        name="value_sigmoid_from_exp_next_to_a_wrong_exp",
        description="exp's backward multiplies by the input instead of exp(input); sigmoid is "
                    "built from exp and / and keeps its marks (also at -1000 and 1000)",
        replace={"Value": _edit("Value", (
            """        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += out.data * out.grad""",
            """        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad += self.data * out.grad"""), (
            """        if self.data >= 0:
            s = 1.0 / (1.0 + math.exp(-self.data))
        else:
            e = math.exp(self.data)
            s = e / (1.0 + e)
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1.0 - s) * out.grad

        out._backward = _backward
        return out""",
            """        if self.data >= 0:
            return 1 / (1 + (-self).exp())
        e = self.exp()
        return e / (1 + e)"""))},
        scores={"test_value": 6 - VALUE_PART},
    ),
    # ---- layers -----------------------------------------------------------------------
    Variant(
        name="affine_backward_dw_transposed",
        description="dw = dout.T @ x_flat (shape (M, D)); two_layer_net, which fails the same "
                    "way as the right network built on this layer, keeps its marks",
        replace={"affine": _edit("affine", ("dw = x.reshape(x.shape[0], -1).T @ dout",
                                            "dw = dout.T @ x.reshape(x.shape[0], -1)"))},
        scores={"test_affine": 1.0},
    ),
    Variant(
        name="affine_forward_flattens_x_in_place",
        description="affine_forward reshapes the caller's x in place (x.shape = ...); its "
                    "backward and two_layer_net keep their marks",
        replace={"affine": _edit("affine", ("    out = x.reshape(x.shape[0], -1) @ w + b",
                                            "    x.shape = (x.shape[0], -1)\n    out = x @ w + b"))},
        scores={"test_affine": 2.0},
        selfcheck_fails=("test_affine", "test_two_layer_net"),
    ),
    Variant(
        name="relu_backward_writes_into_the_cache",
        description="relu_backward turns its cache (the forward input x) into the mask in place",
        replace={"relu": _edit("relu", ("    x = cache\n    dx = dout * (x > 0)",
                                        "    x = cache\n    x[x > 0] = 1.0\n    x[x <= 0] = 0.0\n"
                                        "    dx = dout * x"))},
        scores={"test_relu": 2 - RELU_PART},
        selfcheck_fails=("test_relu",),
    ),
    Variant(
        name="relu_backward_masks_dout_in_place",
        description="relu_backward zeroes dout in place (dx = dout; dx[x <= 0] = 0)",
        replace={"relu": _edit("relu", ("    dx = dout * (x > 0)",
                                        "    dx = dout\n    dx[x <= 0] = 0"))},
        scores={"test_relu": 2 - RELU_PART},
        selfcheck_fails=("test_relu",),
    ),
    Variant(
        name="two_layer_net_next_to_relu_backward_without_dout",
        description="relu_backward returns the mask (x > 0) without multiplying by dout; "
                    "two_layer_net, correct given this layer, keeps its marks",
        replace={"relu": _edit("relu", ("    dx = dout * (x > 0)", "    dx = (x > 0) * 1.0"))},
        scores={"test_relu": RELU_PART},
    ),
    Variant(
        name="relu_gradient_passes_at_zero",
        description="relu_backward lets the gradient through at exactly x = 0 (x >= 0)",
        replace={"relu": _edit("relu", ("    dx = dout * (x > 0)", "    dx = dout * (x >= 0)"))},
        scores={"test_relu": RELU_PART},
    ),
    Variant(
        name="sigmoid_nan_for_large_positive_inputs",
        description="sigmoid_forward uses exp(x) / (1 + exp(x)) everywhere: NaN at x = 1000 "
                    "(the stability part only)",
        replace={"sigmoid": _edit("sigmoid", (
            "out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))",
            "out[pos] = np.exp(x[pos]) / (1.0 + np.exp(x[pos]))"))},
        scores={"test_sigmoid": 2 - SIGMOID_PART},
    ),
    # ---- softmax ----------------------------------------------------------------------
    Variant(
        name="softmax_shifts_scores_in_place",
        description="softmax_loss subtracts the row maximum in place (scores -= ...)",
        replace={"softmax_loss": _edit("softmax_loss", (
            "    shifted = scores - scores.max(axis=1, keepdims=True)",
            "    scores -= scores.max(axis=1, keepdims=True)\n    shifted = scores"))},
        scores={"test_softmax_loss": 3 - SOFTMAX_PART},
        selfcheck_fails=("test_softmax_loss",),
    ),
    Variant(
        name="softmax_without_max_subtraction",
        description="softmax_loss exponentiates the raw scores (NaN for rows near +-1000; the "
                    "stability part only)",
        replace={"softmax_loss": _edit("softmax_loss", (
            "shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores"))},
        scores={"test_softmax_loss": 3 - SOFTMAX_PART},
    ),
    Variant(
        name="softmax_probabilities_after_max_shift",
        description="the form the text teaches: subtract the row maximum, normalise the "
                    "probabilities, take -log of the right class (full marks)",
        replace={"softmax_loss": _edit("softmax_loss", (
            """    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(N), y].mean())
    dscores = np.exp(log_probs)
""", """    shifted = scores - scores.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs = probs / probs.sum(axis=1, keepdims=True)
    loss = float(-np.mean(np.log(probs[np.arange(N), y])))
    dscores = probs.copy()
"""))},
        scores={},
    ),
    Variant(
        name="softmax_loss_divided_by_n_twice",
        description="the mean loss is divided by N once more (right only for N = 1); "
                    "two_layer_net, built on it, keeps its marks",
        replace={"softmax_loss": _edit("softmax_loss", (
            "loss = float(-log_probs[np.arange(N), y].mean())",
            "loss = float(-log_probs[np.arange(N), y].mean()) / N"))},
        scores={"test_softmax_loss": SOFTMAX_PART},
    ),
    # ---- two-layer network ------------------------------------------------------------
    Variant(
        name="two_layer_net_regularization_gradient_without_two",
        description="the penalty's gradient is reg * W instead of 2 * reg * W",
        replace={"two_layer_net": _edit("two_layer_net", (
            '"W1": dW1 + 2 * reg * W1', '"W1": dW1 + reg * W1'))},
        scores={"test_two_layer_net": 2 * NET_PART},
    ),
    Variant(
        name="two_layer_net_writes_grads_into_params",
        description="grads = params: the gradients overwrite the caller's params dict",
        replace={"two_layer_net": _edit("two_layer_net", (
            '    grads = {"W1": dW1 + 2 * reg * W1, "b1": db1, "W2": dW2 + 2 * reg * W2, '
            '"b2": db2}',
            '    grads = params\n'
            '    grads["W1"], grads["b1"] = dW1 + 2 * reg * W1, db1\n'
            '    grads["W2"], grads["b2"] = dW2 + 2 * reg * W2, db2'))},
        scores={"test_two_layer_net": 4 - NET_PART},
        selfcheck_fails=("test_two_layer_net",),
    ),
]
