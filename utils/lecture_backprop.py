"""Support for the lecture 05_backprop: the worked examples as pure functions, and thin views.

The maths (first half) is plain functions of numbers, tested without a browser:
- the slides' example f(x, y, z) = (x + y) z, forward and backward, and the order in which
  the backward pass discovers its gradients;
- the gate rules: add distributes, multiply swaps, max routes;
- a sigmoid neuron f = σ(w0 x0 + w1 x1 + w2) written as a graph of small nodes;
- sigmoid saturation and the vanishing gradient of a chain of sigmoids;
- "these graphs can be huge": ``ScalarTape``, a list of scalar operations, holds the whole
  graph of a small network's loss; ``mlp_graph_size`` counts it for any size, and the
  tape's reverse sweep shows why the backward pass costs about one forward pass;
- weight initialisation: activation statistics layer by layer for each scale
  (``activation_stds``), a small two-layer network trained from each initialisation
  (``train_two_layer``), and the sanity check "overfit a tiny subset first".

The views (second half) build a figure once and return an ``update(**values)`` that only
changes artists; the lecture wires them to sliders with ``utils.widgets.interactive_view``.
These are the lecture's own examples, not the exercise's autodiff engine.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scipy.special import expit
from threadpoolctl import threadpool_limits

from utils.graph_drawing import GraphNode, draw_graph, layout_graph, update_graph
from utils.widgets import LiveFigure, View

# ---------------------------------------------------------------------------------------
# The slides' example f(x, y, z) = (x + y) z
# ---------------------------------------------------------------------------------------

EXAMPLE_NODES = (GraphNode("x", "x"), GraphNode("y", "y"), GraphNode("z", "z"),
                 GraphNode("q", "+", ("x", "y")), GraphNode("f", "×", ("q", "z")))

#: Which gradients the backward pass knows after each step: first df/df = 1, then the
#: multiply node gives df/dq and df/dz, then the add node gives df/dx and df/dy.
EXAMPLE_BACKWARD_STEPS = (("f",), ("q", "z"), ("x", "y"))
#: The node whose local gradients are used in each step (None for the start, df/df = 1).
EXAMPLE_STEP_NODE = (None, "f", "q")


def example_forward(x: float, y: float, z: float) -> dict[str, float]:
    """Forward pass of f = (x + y) z through q = x + y. Returns every node's value."""
    q = x + y
    return {"x": x, "y": y, "z": z, "q": q, "f": q * z}


def example_backward(x: float, y: float, z: float) -> dict[str, float]:
    """Backward pass: d f / d node for every node, by the chain rule.

    df/df = 1; the multiply gate gives df/dq = z and df/dz = q; the add gate passes df/dq on:
    df/dx = df/dq * dq/dx = z * 1, and likewise df/dy = z.
    """
    q = x + y
    df_dq = z * 1.0
    return {"f": 1.0, "q": df_dq, "z": q * 1.0, "x": df_dq * 1.0, "y": df_dq * 1.0}


def example_step_note(step: int, x: float, y: float, z: float) -> str:
    """One sentence saying what backward step ``step`` (0, 1 or 2) of the example computes."""
    q = x + y
    notes = ("step 0: start with df/df = 1",
             f"step 1: × swaps: df/dq = z = {z:.3g}, df/dz = q = {q:.3g}",
             f"step 2: + distributes: df/dx = df/dy = df/dq = {z:.3g}")
    if not 0 <= step < len(notes):
        raise ValueError(f"step must be 0, 1 or 2, got {step}.")
    return notes[step]


def known_gradients(grads: Mapping[str, float], step: int,
                    steps: tuple[tuple[str, ...], ...] = EXAMPLE_BACKWARD_STEPS
                    ) -> dict[str, float | None]:
    """The gradients discovered after backward step ``step`` (0-based); later ones are None.

    Raises ValueError for a step outside 0 .. len(steps) - 1.
    """
    if not 0 <= step < len(steps):
        raise ValueError(f"step must be between 0 and {len(steps) - 1}, got {step}.")
    known = {name for names in steps[:step + 1] for name in names}
    return {name: (grads[name] if name in known else None) for name in grads}


# ---------------------------------------------------------------------------------------
# Gates
# ---------------------------------------------------------------------------------------

GATES = ("add", "multiply", "max")
GATE_LABELS = {"add": "+", "multiply": "×", "max": "max"}
GATE_RULES = {
    "add": "add distributes: both inputs receive the upstream gradient unchanged",
    "multiply": "multiply swaps: each input receives upstream × the OTHER input",
    "max": "max routes: the larger input receives all of it, the other gets 0",
}


def gate_rule(gate: str, a: float, b: float, upstream: float) -> tuple[float, float, float]:
    """Forward value and input gradients of a two-input gate.

    Inputs:
    - gate: "add", "multiply" or "max".
    - a, b: the inputs; upstream: d L / d out arriving from above.

    Returns (out, dL/da, dL/db). For max, a tie routes the gradient to ``a``.
    """
    if gate == "add":
        return a + b, upstream, upstream
    if gate == "multiply":
        return a * b, upstream * b, upstream * a
    if gate == "max":
        a_wins = a >= b
        return max(a, b), upstream * a_wins, upstream * (not a_wins)
    raise ValueError(f"Unknown gate {gate!r}; choose one of {', '.join(GATES)}.")


# ---------------------------------------------------------------------------------------
# A sigmoid neuron as a graph
# ---------------------------------------------------------------------------------------

NEURON_NODES = (GraphNode("w0", "w0"), GraphNode("x0", "x0"), GraphNode("w1", "w1"),
                GraphNode("x1", "x1"), GraphNode("w2", "w2"),
                GraphNode("m0", "×", ("w0", "x0")), GraphNode("m1", "×", ("w1", "x1")),
                GraphNode("s", "+", ("m0", "m1")), GraphNode("t", "+", ("s", "w2")),
                GraphNode("out", "σ", ("t",)))


def sigmoid(x):
    """The logistic sigmoid 1 / (1 + exp(-x)), elementwise (scipy's stable ``expit``)."""
    return expit(x)


def sigmoid_local_gradient(x):
    """d σ(x) / dx = σ(x) (1 - σ(x)), elementwise; at most 0.25 (at x = 0)."""
    s = expit(x)
    return s * (1.0 - s)


def neuron_forward_backward(w0: float, x0: float, w1: float, x1: float, w2: float
                            ) -> tuple[dict[str, float], dict[str, float]]:
    """Values and gradients d out / d node of out = σ(w0 x0 + w1 x1 + w2), node by node.

    Returns (values, grads), dicts keyed by the names of ``NEURON_NODES``.
    """
    m0, m1 = w0 * x0, w1 * x1
    s = m0 + m1
    t = s + w2
    out = float(sigmoid(t))
    values = {"w0": w0, "x0": x0, "w1": w1, "x1": x1, "w2": w2, "m0": m0, "m1": m1, "s": s,
              "t": t, "out": out}
    dt = out * (1.0 - out)  # the sigmoid node's local gradient times d out / d out = 1
    grads = {"out": 1.0, "t": dt, "s": dt, "w2": dt, "m0": dt, "m1": dt,
             "w0": dt * x0, "x0": dt * w0, "w1": dt * x1, "x1": dt * w1}
    return values, grads


def sigmoid_chain_gradients(x0: float, weight: float, depth: int) -> np.ndarray:
    """How the gradient shrinks through a chain h_{k+1} = σ(weight · h_k), h_0 = x0.

    Inputs:
    - x0: the input; weight: the same weight in every layer; depth: number of layers (>= 1).

    Returns an array g of shape (depth + 1,) with g[k] = |d h_depth / d h_k|, so g[depth] = 1
    and g[0] is what reaches the input. Each layer multiplies by |weight · σ'(weight · h_k)|,
    at most |weight| / 4.
    """
    if depth < 1:
        raise ValueError(f"depth must be at least 1 layer, got {depth}.")
    h = np.empty(depth + 1)
    h[0] = x0
    for k in range(depth):
        h[k + 1] = sigmoid(weight * h[k])
    local = np.abs(weight * sigmoid_local_gradient(weight * h[:-1]))  # (depth,)
    g = np.ones(depth + 1)
    for k in range(depth - 1, -1, -1):
        g[k] = g[k + 1] * local[k]
    return g


# ---------------------------------------------------------------------------------------
# These graphs can be huge: the scalar graph of a small network's loss
# ---------------------------------------------------------------------------------------

#: Local gradients d(node)/d(input) of each operation, from the input values and the output.
_LOCAL_GRADIENTS = {
    "add": lambda inputs, out: (1.0, 1.0),
    "sub": lambda inputs, out: (1.0, -1.0),
    "mul": lambda inputs, out: (inputs[1], inputs[0]),
    "relu": lambda inputs, out: (1.0 if inputs[0] > 0 else 0.0,),
    "exp": lambda inputs, out: (out,),
    "log": lambda inputs, out: (1.0 / inputs[0],),
}


@dataclass
class ScalarTape:
    """A computational graph of scalars, recorded as a list (a "tape", or Wengert list).

    Node k has an operation ``ops[k]`` ("leaf" for inputs and parameters), the indices of its
    inputs ``inputs[k]`` (always earlier nodes) and its value ``values[k]``. Building the
    tape *is* the forward pass; ``backward`` sweeps it once in reverse order.
    """

    ops: list[str] = field(default_factory=list)
    inputs: list[tuple[int, ...]] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def _record(self, op: str, inputs: tuple[int, ...], value: float) -> int:
        self.ops.append(op)
        self.inputs.append(inputs)
        self.values.append(float(value))
        return len(self.ops) - 1

    def leaf(self, value: float) -> int:
        """A new input or parameter node; returns its index."""
        return self._record("leaf", (), value)

    def add(self, a: int, b: int) -> int:
        return self._record("add", (a, b), self.values[a] + self.values[b])

    def sub(self, a: int, b: int) -> int:
        return self._record("sub", (a, b), self.values[a] - self.values[b])

    def mul(self, a: int, b: int) -> int:
        return self._record("mul", (a, b), self.values[a] * self.values[b])

    def relu(self, a: int) -> int:
        return self._record("relu", (a,), max(self.values[a], 0.0))

    def exp(self, a: int) -> int:
        return self._record("exp", (a,), np.exp(self.values[a]))

    def log(self, a: int) -> int:
        return self._record("log", (a,), np.log(self.values[a]))

    @property
    def node_count(self) -> int:
        """All nodes, leaves included."""
        return len(self.ops)

    @property
    def operation_count(self) -> int:
        """Nodes that compute something: the work of the forward pass."""
        return sum(op != "leaf" for op in self.ops)

    @property
    def edge_count(self) -> int:
        """Input edges: the backward pass does one multiply-add per edge."""
        return sum(len(inputs) for inputs in self.inputs)

    def backward(self, output: int) -> np.ndarray:
        """d values[output] / d values[k] for every node k, shape (node_count,).

        One sweep from the output back to the leaves: each node multiplies its upstream
        gradient by its local gradients and adds the products to its inputs' gradients.
        """
        grads = np.zeros(self.node_count)
        grads[output] = 1.0
        for k in range(output, -1, -1):
            if self.ops[k] == "leaf" or grads[k] == 0.0:
                continue
            values_in = [self.values[i] for i in self.inputs[k]]
            local = _LOCAL_GRADIENTS[self.ops[k]](values_in, self.values[k])
            for i, dk_di in zip(self.inputs[k], local, strict=True):
                grads[i] += grads[k] * dk_di
        return grads


def mlp_params(sizes: tuple[int, int, int], seed: int = 0, scale: float = 0.5
               ) -> dict[str, np.ndarray]:
    """Random parameters of a network D -> H (ReLU) -> C: "W1" (D, H), "b1" (H,), "W2" (H, C),
    "b2" (C,), all drawn from N(0, scale^2)."""
    d, h, c = sizes
    rng = np.random.default_rng(seed)
    return {"W1": scale * rng.normal(size=(d, h)), "b1": scale * rng.normal(size=h),
            "W2": scale * rng.normal(size=(h, c)), "b2": scale * rng.normal(size=c)}


def mlp_loss(params: Mapping[str, np.ndarray], X: np.ndarray, labels: np.ndarray) -> float:
    """The same network's mean softmax loss computed with arrays (no graph), for checking.

    Inputs: params as ``mlp_params``; X (B, D); labels (B,) in 0..C-1.
    """
    hidden = np.maximum(X @ params["W1"] + params["b1"], 0.0)
    scores = hidden @ params["W2"] + params["b2"]
    top = scores.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(scores - top).sum(axis=1))
    return float(np.mean(log_norm - scores[np.arange(len(labels)), labels]))


def build_mlp_tape(params: Mapping[str, np.ndarray], X: np.ndarray, labels: np.ndarray
                   ) -> tuple[ScalarTape, dict[str, np.ndarray], int]:
    """Record the mean softmax loss of the network D -> H (ReLU) -> C on a batch, scalar by
    scalar.

    Returns (tape, the node index of every parameter entry (name -> array shaped like the
    parameter), the index of the loss node). Every hidden unit and score is a running sum
    bias + x_1 w_1 + ... (one mul and one add per input); the loss of an example is
    log(sum_c exp(s_c)) - s_label, and the batch loss is their sum times the leaf 1/B.
    """
    tape = ScalarTape()
    index = {name: np.vectorize(tape.leaf, otypes=[int])(value)
             for name, value in params.items()}

    def unit(inputs: Sequence[int], weights: np.ndarray, bias: int) -> int:
        total = bias
        for node, weight in zip(inputs, weights, strict=True):
            total = tape.add(total, tape.mul(node, int(weight)))
        return total

    losses = []
    for x, label in zip(X, labels, strict=True):
        xs = [tape.leaf(v) for v in x]
        hidden = [tape.relu(unit(xs, index["W1"][:, j], int(index["b1"][j])))
                  for j in range(index["W1"].shape[1])]
        scores = [unit(hidden, index["W2"][:, c], int(index["b2"][c]))
                  for c in range(index["W2"].shape[1])]
        total = tape.exp(scores[0])
        for s in scores[1:]:
            total = tape.add(total, tape.exp(s))
        losses.append(tape.sub(tape.log(total), scores[int(label)]))
    batch = losses[0]
    for node in losses[1:]:
        batch = tape.add(batch, node)
    return tape, index, tape.mul(batch, tape.leaf(1.0 / len(losses)))


@dataclass(frozen=True)
class GraphSize:
    """Counts of the scalar graph of ``build_mlp_tape``: nodes (leaves included), operations
    (the forward pass's work), edges (the backward pass's multiply-adds), parameters."""

    nodes: int
    operations: int
    edges: int
    parameters: int


def mlp_graph_size(sizes: tuple[int, int, int], batch: int) -> GraphSize:
    """The size of ``build_mlp_tape``'s graph for a network D -> H -> C and a batch, by formula.

    Per example: 2DH + H + 2HC operations for the two layers and the ReLUs, and 2C + 1 for the
    loss (C exp, C - 1 adds, a log, a subtraction); B more for the batch mean. Leaves: the
    DH + H + HC + C parameters, B D inputs and the constant 1/B.
    """
    d, h, c = sizes
    parameters = d * h + h + h * c + c
    operations = batch * (2 * d * h + h + 2 * h * c + 2 * c + 1) + batch
    edges = batch * (4 * d * h + h + 4 * h * c + 3 * c + 1) + 2 * batch
    return GraphSize(parameters + batch * d + 1 + operations, operations, edges, parameters)


# ---------------------------------------------------------------------------------------
# Weight initialisation: why the scale matters
# ---------------------------------------------------------------------------------------

INIT_SCHEMES = ("zero", "small (0.01)", "large (1.0)", "Xavier", "He")


def init_std(scheme: str, fan_in: int) -> float:
    """Standard deviation of the weights of a layer with ``fan_in`` inputs under ``scheme``.

    "zero": 0; "small (0.01)": 0.01; "large (1.0)": 1; "Xavier": sqrt(1 / fan_in) (Glorot and
    Bengio 2010, the variance-preserving choice for tanh); "He": sqrt(2 / fan_in) (He et al.
    2015, for ReLU, which zeroes half of its inputs and so halves the variance).
    """
    stds = {"zero": 0.0, "small (0.01)": 0.01, "large (1.0)": 1.0,
            "Xavier": float(np.sqrt(1.0 / fan_in)), "He": float(np.sqrt(2.0 / fan_in))}
    if scheme not in stds:
        raise ValueError(f"Unknown initialisation {scheme!r}; choose one of "
                         f"{', '.join(INIT_SCHEMES)}.")
    return stds[scheme]


def activation_stds(X: np.ndarray, scheme: str, activation: str = "relu", layers: int = 8,
                    width: int = 100, gain: float = 1.0, seed: int = 0) -> np.ndarray:
    """Standard deviation of the activations after each layer of a deep network.

    Inputs: X (N, D) inputs; ``layers`` fully connected layers of ``width`` units without
    biases, weights N(0, (gain * init_std(scheme, fan_in))^2); activation "relu" or "tanh".
    Returns (layers,): the std over all units and examples after each layer's activation.
    """
    if activation not in ("relu", "tanh"):
        raise ValueError(f"activation must be 'relu' or 'tanh', got {activation!r}.")
    rng = np.random.default_rng(seed)
    h = np.asarray(X, dtype=np.float64)
    stds = np.empty(layers)
    for k in range(layers):
        weights = gain * init_std(scheme, h.shape[1]) * rng.standard_normal((h.shape[1], width))
        pre = h @ weights
        h = np.maximum(pre, 0.0) if activation == "relu" else np.tanh(pre)
        stds[k] = h.std()
    return stds


def init_two_layer(scheme: str, sizes: tuple[int, int, int], seed: int = 0
                   ) -> dict[str, np.ndarray]:
    """Weights "V" (D, H), "c" (H,), "U" (H, C), "e" (C,) of a two-layer network: the
    matrices drawn with ``init_std(scheme, fan_in)``, the biases 0."""
    d, h, c = sizes
    rng = np.random.default_rng(seed)
    return {"V": init_std(scheme, d) * rng.standard_normal((d, h)), "c": np.zeros(h),
            "U": init_std(scheme, h) * rng.standard_normal((h, c)), "e": np.zeros(c)}


def two_layer_objective(weights: Mapping[str, np.ndarray], X: np.ndarray, labels: np.ndarray
                        ) -> tuple[float, dict[str, np.ndarray]]:
    """Mean softmax loss of relu(X V + c) U + e and its gradients (same keys and shapes).

    The backward pass goes through the graph in reverse: d scores = (P - Y) / N; the output
    layer gives dU = hidden^T d scores and de = column sums; the ReLU passes the gradient
    where its input was positive; the input layer gives dV and dc the same way.
    """
    pre = X @ weights["V"] + weights["c"]
    hidden = np.where(pre > 0, pre, 0.0)
    scores = hidden @ weights["U"] + weights["e"]
    log_p = scores - scores.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    target = np.zeros_like(log_p)
    target[np.arange(len(labels)), labels] = 1.0
    count = len(labels)
    d_scores = (np.exp(log_p) - target) / count
    d_pre = (d_scores @ weights["U"].T) * (pre > 0)
    grads = {"U": hidden.T @ d_scores, "e": d_scores.sum(axis=0),
             "V": X.T @ d_pre, "c": d_pre.sum(axis=0)}
    return -float(np.sum(target * log_p)) / count, grads


def two_layer_predictions(weights: Mapping[str, np.ndarray], X: np.ndarray) -> np.ndarray:
    """The class with the highest score of relu(X V + c) U + e for each row of X, shape (N,)."""
    hidden = np.maximum(X @ weights["V"] + weights["c"], 0.0)
    return np.argmax(hidden @ weights["U"] + weights["e"], axis=1)


def train_two_layer(X: np.ndarray, labels: np.ndarray, weights: Mapping[str, np.ndarray],
                    steps: int, lr: float, batch: int | None = None, seed: int = 0
                    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Plain SGD on ``two_layer_objective`` from ``weights`` (not modified).

    ``batch``: examples drawn (with replacement) per step, or None for the whole data set.
    Returns (the loss of the data used at each step, shape (steps,), the final weights).
    """
    rng = np.random.default_rng(seed)
    current = {name: np.array(value, dtype=np.float64) for name, value in weights.items()}
    history = np.empty(steps)
    for step in range(steps):
        rows = slice(None) if batch is None else rng.integers(0, len(labels), batch)
        history[step], grads = two_layer_objective(current, X[rows], labels[rows])
        current = {name: current[name] - lr * grads[name] for name in current}
    return history, current


def distinct_hidden_units(V: np.ndarray, decimals: int = 8) -> int:
    """How many different weight vectors (columns of V, rounded) the hidden units have."""
    return len(np.unique(np.round(V.T, decimals), axis=0))


# ---------------------------------------------------------------------------------------
# Structure-only graphs
# ---------------------------------------------------------------------------------------

#: J(θ) = (y - Xθ)ᵀ (y - Xθ) + λ R(θ), the regularized least-squares loss of the slides.
LEAST_SQUARES_NODES = (GraphNode("X", "X"), GraphNode("θ", "θ"), GraphNode("y", "y"),
                       GraphNode("λ", "λ"),
                       GraphNode("Xθ", "@", ("X", "θ")), GraphNode("r", "−", ("y", "Xθ")),
                       GraphNode("rᵀr", "rᵀr", ("r",)), GraphNode("R", "R", ("θ",)),
                       GraphNode("λR", "×", ("λ", "R")), GraphNode("J", "+", ("rᵀr", "λR")))

#: The exercise's two-layer network as a graph of layers.
#: (Listed so that ties in the layout put the data path in the middle of each column.)
TWO_LAYER_NODES = (GraphNode("W1", "W1"), GraphNode("x", "x"), GraphNode("b1", "b1"),
                   GraphNode("h", "aff", ("x", "W1", "b1")), GraphNode("W2", "W2"),
                   GraphNode("a", "relu", ("h",)), GraphNode("b2", "b2"),
                   GraphNode("s", "aff", ("a", "W2", "b2")), GraphNode("labels", "y"),
                   GraphNode("L", "loss", ("s", "labels")))


# ---------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------

LEGEND = "value above each node (blue), gradient below (red, italics)"


def _slider(value: float, low: float, high: float, description: str, step: float = 0.5
            ) -> widgets.FloatSlider:
    return widgets.FloatSlider(value=value, min=low, max=high, step=step,
                               description=description, continuous_update=True)


def build_example_view() -> View:
    """The slides' example graph with sliders for x, y, z and the backward step shown."""
    live = LiveFigure(figsize=(6.5, 3.6))
    art = draw_graph(live.axes, EXAMPLE_NODES, layout_graph(EXAMPLE_NODES),
                     title="f(x, y, z) = (x + y) z", show_names=True)
    note = live.axes.xaxis.label  # the step's explanation goes above the colour legend

    def update(x: float, y: float, z: float, step: int) -> None:
        values = example_forward(x, y, z)
        grads = known_gradients(example_backward(x, y, z), step)
        node = EXAMPLE_STEP_NODE[step]
        update_graph(art, values, grads, highlight=[node] if node else [])
        note.set_text(example_step_note(step, x, y, z) + "\n" + LEGEND)

    update(x=-2.0, y=5.0, z=-4.0, step=2)
    live.freeze_layout()
    controls = {"x": _slider(-2.0, -5, 5, "x"), "y": _slider(5.0, -5, 5, "y"),
                "z": _slider(-4.0, -5, 5, "z"),
                "step": widgets.IntSlider(value=2, min=0, max=2, description="step")}
    return View(live, controls, update, {"graph": art, "note": note})


GATE_NODES = (GraphNode("a", "a"), GraphNode("b", "b"), GraphNode("out", "+", ("a", "b")))


def build_gate_view() -> View:
    """One gate with inputs a, b and an upstream gradient; the drawing shows its backward."""
    live = LiveFigure(figsize=(6.0, 3.2))
    art = draw_graph(live.axes, GATE_NODES, layout_graph(GATE_NODES),
                     title="How a gate passes the gradient back")
    rule = live.axes.xaxis.label

    def update(gate: str, a: float, b: float, upstream: float) -> None:
        out, da, db = gate_rule(gate, a, b, upstream)
        update_graph(art, {"a": a, "b": b, "out": out}, {"a": da, "b": db, "out": upstream},
                     highlight=["out"], labels={"out": GATE_LABELS[gate]})
        rule.set_text(GATE_RULES[gate] + "\n" + LEGEND)

    update(gate="multiply", a=3.0, b=-1.0, upstream=2.0)
    live.freeze_layout()
    controls = {"gate": widgets.Dropdown(options=list(GATES), value="multiply",
                                         description="gate"),
                "a": _slider(3.0, -5, 5, "a"), "b": _slider(-1.0, -5, 5, "b"),
                "upstream": _slider(2.0, -5, 5, "upstream dL/dout")}
    return View(live, controls, update, {"graph": art, "rule": rule})


def build_neuron_view() -> View:
    """The sigmoid neuron graph with sliders for its inputs and weights."""
    live = LiveFigure(figsize=(8.5, 4.6))
    art = draw_graph(live.axes, NEURON_NODES, layout_graph(NEURON_NODES),
                     title="A neuron σ(w0 x0 + w1 x1 + w2) as a computational graph")

    def update(w0: float, x0: float, w1: float, x1: float, w2: float) -> None:
        values, grads = neuron_forward_backward(w0, x0, w1, x1, w2)
        update_graph(art, values, grads)

    update(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    live.freeze_layout()
    controls = {"w0": _slider(2.0, -4, 4, "w0"), "x0": _slider(-1.0, -4, 4, "x0"),
                "w1": _slider(-3.0, -4, 4, "w1"), "x1": _slider(-2.0, -4, 4, "x1"),
                "w2": _slider(-3.0, -4, 4, "w2")}
    return View(live, controls, update, {"graph": art})


def build_saturation_view() -> View:
    """σ and σ' over x with markers at the chosen pre-activation x."""
    live = LiveFigure(figsize=(6.0, 3.6))
    ax = live.axes
    grid = np.linspace(-10, 10, 401)
    ax.plot(grid, sigmoid(grid), color="C0", linestyle="-", label="σ(x)")
    ax.plot(grid, sigmoid_local_gradient(grid), color="C3", linestyle="--",
            label="σ'(x) = σ(1 - σ)")
    marker_value, = ax.plot([], [], "o", color="C0")
    marker_grad, = ax.plot([], [], "o", color="C3")
    readout = ax.text(-9.5, 0.9, "", fontsize=9, va="top")
    ax.set_xlabel("pre-activation x")
    ax.set_ylabel("value")
    ax.set_title("Sigmoid saturation: σ' is tiny for large |x|")
    ax.legend(loc="center right", fontsize=8)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xticks([-10, -5, 0, 5, 10])
    ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])

    def update(x: float) -> None:
        s, ds = float(sigmoid(x)), float(sigmoid_local_gradient(x))
        marker_value.set_data([x], [s])
        marker_grad.set_data([x], [ds])
        readout.set_text(f"σ({x:.2g}) = {s:.4f}\nσ'({x:.2g}) = {ds:.2e}")

    update(x=0.0)
    live.freeze_layout()
    controls = {"x": _slider(0.0, -10, 10, "x")}
    return View(live, controls, update, {"value_marker": marker_value, "grad_marker": marker_grad,
                                         "readout": readout})


def build_vanishing_view() -> View:
    """|d h_depth / d h_k| through a chain of sigmoid layers, on a log scale."""
    live = LiveFigure(figsize=(6.0, 3.6))
    ax = live.axes
    chain_line, = ax.semilogy([], [], "o-", color="C3")
    ax.set_xlabel("layer k (0 = input)")
    ax.set_ylabel("|d h_depth / d h_k|")
    ax.set_title("Vanishing gradient through a chain of sigmoids")
    ax.set_ylim(1e-16, 10.0)
    # Few fixed ticks with plain labels keep each redraw fast (text layout dominates).
    ax.yaxis.set_major_locator(FixedLocator([1e-16, 1e-12, 1e-8, 1e-4, 1.0]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1e{np.log10(v):.0f}"))
    ax.grid(True, which="major", alpha=0.3)

    def update(x0: float, weight: float, depth: int) -> None:
        g = sigmoid_chain_gradients(x0, weight, depth)
        chain_line.set_data(np.arange(depth + 1), g)
        ax.set_xlim(-0.5, depth + 0.5)
        ax.xaxis.set_major_locator(FixedLocator(np.arange(0, depth + 1, max(1, depth // 6))))

    update(x0=0.0, weight=1.0, depth=30)
    live.freeze_layout()
    controls = {"x0": _slider(0.0, -5, 5, "input x0"), "weight": _slider(1.0, -6, 6, "weight"),
                "depth": widgets.IntSlider(value=10, min=1, max=30, description="layers")}
    return View(live, controls, update, {"chain": chain_line})


def build_init_view(X: np.ndarray, width: int = 100, max_layers: int = 15) -> View:
    """Activation statistics layer by layer for an initialisation chosen with the controls.

    Controls: the activation (ReLU or tanh), the scheme (``INIT_SCHEMES``), a gain multiplying
    the scheme's standard deviation, and the number of layers. The figure shows the standard
    deviation of the activations after each layer (log scale) next to the input's.
    Artists for tests: ``line`` (the curve), ``readout`` (the title text).
    """
    live = LiveFigure(figsize=(6.5, 3.8))
    ax = live.axes
    input_std = float(np.std(X))
    line, = ax.semilogy([], [], "o-", color="C0", label="std after each layer")
    ax.axhline(input_std, color="0.4", linestyle="--", lw=1,
               label=f"std of the input ({input_std:.2f})")
    ax.set_xlim(0.5, max_layers + 0.5)
    ax.set_ylim(1e-12, 1e8)
    ax.yaxis.set_major_locator(FixedLocator([1e-12, 1e-8, 1e-4, 1.0, 1e4, 1e8]))
    ax.yaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"1e{np.log10(v):.0f}"))
    ax.set_xlabel(f"layer ({width} units each)")
    ax.set_ylabel("std of the activations")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper right", fontsize=8)
    readout = ax.set_title(" ")
    live.animate(line, readout)

    def update(activation: str, scheme: str, gain: float, layers: int) -> None:
        # Small products: one BLAS thread is faster than several fighting over the cores.
        with threadpool_limits(limits=1):
            stds = activation_stds(X, scheme, activation, int(layers), width, gain)
        line.set_data(np.arange(1, int(layers) + 1), np.maximum(stds, 1e-12))
        last = "all exactly 0" if stds[-1] == 0 else f"{stds[-1]:.2g}"
        readout.set_text(f"{scheme} × {gain:.2g}, {activation}: std after layer {int(layers)} "
                         f"= {last}")

    update(activation="relu", scheme="large (1.0)", gain=1.0, layers=max_layers)
    live.freeze_layout()
    controls = {"activation": widgets.Dropdown(options=["relu", "tanh"], value="relu",
                                               description="activation"),
                "scheme": widgets.Dropdown(options=list(INIT_SCHEMES), value="He",
                                           description="init"),
                "gain": widgets.FloatLogSlider(value=1.0, base=2, min=-2, max=2, step=0.25,
                                               description="gain"),
                "layers": widgets.IntSlider(value=8, min=1, max=max_layers,
                                            description="layers")}
    return View(live, controls, update, {"line": line, "readout": readout})
