"""Support for the lecture 05_backprop: the worked examples as pure functions, and thin views.

The maths (first half) is plain functions of numbers, tested without a browser:
- the slides' example f(x, y, z) = (x + y) z, forward and backward, and the order in which
  the backward pass discovers its gradients;
- the gate rules: add distributes, multiply swaps, max routes;
- a sigmoid neuron f = σ(w0 x0 + w1 x1 + w2) written as a graph of small nodes;
- sigmoid saturation and the vanishing gradient of a chain of sigmoids.

The views (second half) build a figure once and return an ``update(**values)`` that only
changes artists; the lecture wires them to sliders with ``utils.widgets.interactive_view``.
These are the lecture's own examples, not the exercise's autodiff engine.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
from scipy.special import expit

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

LEGEND = "value above each node (green), gradient below (red)"


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
    ax.plot(grid, sigmoid(grid), color="C0", label="σ(x)")
    ax.plot(grid, sigmoid_local_gradient(grid), color="C3", label="σ'(x) = σ(1 - σ)")
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
