"""The lecture 05_backprop's pure functions, its graph drawing and its widget updates
(called directly, no browser)."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest

from utils import lecture_backprop as lb
from utils.gradcheck import eval_numerical_gradient, rel_error
from utils.graph_drawing import (
    GraphError,
    GraphNode,
    draw_graph,
    draw_value_graph,
    layout_graph,
    update_graph,
    value_graph,
)

# ---------------------------------------------------------------------------------------
# Maths
# ---------------------------------------------------------------------------------------


def test_the_slides_example_by_hand():
    assert lb.example_forward(-2.0, 5.0, -4.0) == {"x": -2.0, "y": 5.0, "z": -4.0, "q": 3.0,
                                                   "f": -12.0}
    assert lb.example_backward(-2.0, 5.0, -4.0) == {"f": 1.0, "q": -4.0, "z": 3.0, "x": -4.0,
                                                    "y": -4.0}


@pytest.mark.parametrize("seed", range(4))
def test_example_gradients_match_numerical_ones(seed):
    point = np.random.default_rng(seed).uniform(-5, 5, size=3)
    numeric = eval_numerical_gradient(lambda p: lb.example_forward(*p)["f"], point.copy())
    grads = lb.example_backward(*point)
    assert rel_error(np.array([grads["x"], grads["y"], grads["z"]]), numeric) < 1e-8


def test_known_gradients_reveal_the_backward_pass_in_order():
    grads = lb.example_backward(-2.0, 5.0, -4.0)
    assert lb.known_gradients(grads, 0) == {"f": 1.0, "q": None, "z": None, "x": None,
                                            "y": None}
    assert lb.known_gradients(grads, 1) == {"f": 1.0, "q": -4.0, "z": 3.0, "x": None,
                                            "y": None}
    assert lb.known_gradients(grads, 2) == grads
    with pytest.raises(ValueError, match="between 0 and 2"):
        lb.known_gradients(grads, 3)
    assert "swaps" in lb.example_step_note(1, -2.0, 5.0, -4.0)
    with pytest.raises(ValueError, match="0, 1 or 2"):
        lb.example_step_note(-1, 0.0, 0.0, 0.0)


@pytest.mark.parametrize("gate, expected", [
    ("add", (2.0, 2.0, 2.0)),        # distributes
    ("multiply", (-3.0, -2.0, 6.0)),  # swaps: da = upstream * b, db = upstream * a
    ("max", (3.0, 2.0, 0.0)),         # routes to the larger input
])
def test_gate_rules_by_hand(gate, expected):
    assert lb.gate_rule(gate, 3.0, -1.0, 2.0) == expected


@pytest.mark.parametrize("gate", lb.GATES)
def test_gate_rules_match_numerical_gradients(gate):
    a, b, upstream = 0.7, -1.9, 1.3
    numeric = eval_numerical_gradient(lambda p: upstream * lb.gate_rule(gate, *p, 1.0)[0],
                                      np.array([a, b]))
    _, da, db = lb.gate_rule(gate, a, b, upstream)
    assert rel_error(np.array([da, db]), numeric) < 1e-8


def test_gate_edge_cases():
    assert lb.gate_rule("max", 2.0, 2.0, 5.0) == (2.0, 5.0, 0.0)  # a tie routes to a
    with pytest.raises(ValueError, match="Unknown gate 'min'"):
        lb.gate_rule("min", 1.0, 2.0, 1.0)


def test_neuron_matches_the_cs231n_numbers_and_numerical_gradients():
    values, grads = lb.neuron_forward_backward(2.0, -1.0, -3.0, -2.0, -3.0)
    assert values["t"] == 1.0 and values["out"] == pytest.approx(0.7310585786, rel=1e-9)
    # the classic worked example: dw0 = -0.20, dx0 = 0.39, dw1 = -0.39, dx1 = -0.59, dw2 = 0.20
    assert [round(grads[k], 2) for k in ("w0", "x0", "w1", "x1", "w2")] == \
        [-0.2, 0.39, -0.39, -0.59, 0.2]
    point = np.array([0.4, -1.2, 1.5, 0.3, -0.2])
    numeric = eval_numerical_gradient(lambda p: lb.neuron_forward_backward(*p)[0]["out"],
                                      point.copy())
    grads = lb.neuron_forward_backward(*point)[1]
    assert rel_error(np.array([grads[k] for k in ("w0", "x0", "w1", "x1", "w2")]),
                     numeric) < 1e-8


def test_sigmoid_local_gradient():
    x = np.linspace(-20, 20, 81)
    g = lb.sigmoid_local_gradient(x)
    assert g.max() == pytest.approx(0.25) and lb.sigmoid_local_gradient(0.0) == 0.25
    np.testing.assert_allclose(g, g[::-1])
    numeric = eval_numerical_gradient(lambda p: float(lb.sigmoid(p[0])), np.array([1.7]))
    assert lb.sigmoid_local_gradient(1.7) == pytest.approx(numeric[0], rel=1e-8)
    assert lb.sigmoid(-1000.0) == 0.0 and lb.sigmoid(1000.0) == 1.0


@pytest.mark.parametrize("x0, weight, depth", [(0.0, 1.0, 6), (0.3, -2.5, 4), (1.0, 4.0, 3)])
def test_sigmoid_chain_gradients_match_numerical_ones(x0, weight, depth):
    def chain(start, layers):
        h = start
        for _ in range(layers):
            h = 1.0 / (1.0 + math.exp(-weight * h))
        return h

    g = lb.sigmoid_chain_gradients(x0, weight, depth)
    assert g.shape == (depth + 1,) and g[-1] == 1.0
    numeric = eval_numerical_gradient(lambda p: chain(p[0], depth), np.array([x0]))[0]
    assert g[0] == pytest.approx(abs(numeric), rel=1e-6)
    assert np.all(np.diff(g) > 0)  # the gradient grows towards the output: it vanishes backwards


def test_sigmoid_chain_refuses_zero_layers():
    with pytest.raises(ValueError, match="at least 1 layer"):
        lb.sigmoid_chain_gradients(0.0, 1.0, 0)


# ---------------------------------------------------------------------------------------
# Graph drawing
# ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("nodes", [lb.EXAMPLE_NODES, lb.NEURON_NODES, lb.LEAST_SQUARES_NODES,
                                   lb.TWO_LAYER_NODES])
def test_layout_puts_inputs_left_of_their_users_without_overlaps(nodes):
    pos = layout_graph(nodes)
    assert set(pos) == {n.name for n in nodes}
    for node in nodes:
        for source in node.inputs:
            assert pos[source][0] < pos[node.name][0]
    points = np.array(list(pos.values()))
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    assert distances[~np.eye(len(points), dtype=bool)].min() > 0.5


@pytest.mark.parametrize("nodes, message", [
    ([GraphNode("a", "a"), GraphNode("a", "b")], "share the name"),
    ([GraphNode("a", "+", ("b",))], "not a node"),
    ([GraphNode("a", "+", ("b",)), GraphNode("b", "+", ("a",))], "cycle"),
])
def test_layout_refuses_bad_graphs_with_a_message(nodes, message):
    with pytest.raises(GraphError, match=message):
        layout_graph(nodes)


def test_update_graph_writes_texts_and_creates_no_artists():
    fig, ax = plt.subplots()
    art = draw_graph(ax, lb.EXAMPLE_NODES, title="t", show_names=True)
    before = len(ax.get_children())
    update_graph(art, {"x": -2.0, "f": -12.0}, {"f": 1.0, "x": None}, highlight=["f"],
                 labels={"f": "*"})
    assert len(ax.get_children()) == before
    assert art.values["x"].get_text() == "-2" and art.values["f"].get_text() == "f = -12"
    assert art.values["y"].get_text() == ""
    assert art.grads["f"].get_text() == "1" and art.grads["x"].get_text() == "?"
    assert art.labels["f"].get_text() == "*"
    assert art.nodes["f"].get_facecolor() != art.nodes["q"].get_facecolor()
    assert art.edges[("q", "f")].get_linewidth() > art.edges[("x", "q")].get_linewidth()
    update_graph(art, {"x": 1.0}, None)
    assert art.grads["f"].get_text() == "" and art.values["f"].get_text() == ""
    with pytest.raises(GraphError, match="not nodes of the graph"):
        update_graph(art, {"w": 1.0})
    assert ax.get_title() == "t" and ax.get_xlabel()
    plt.close(fig)


class _Node:
    """A minimal stand-in for an autodiff node (not the exercise's engine)."""

    def __init__(self, data, grad=0.0, prev=(), op="", label=""):
        self.data, self.grad, self._prev, self._op, self.label = data, grad, prev, op, label


def test_value_graph_reads_an_autodiff_graph_with_shared_nodes():
    a = _Node(3.0, 7.0, label="a")
    sq = _Node(9.0, 1.0, (a, a), "*")
    out = _Node(12.0, 1.0, (sq, a), "+")
    nodes, values, grads = value_graph(out)
    assert len(nodes) == 3
    by_label = {n.label: n for n in nodes}
    assert by_label["*"].inputs == (by_label["a"].name,) * 2
    assert values[by_label["+"].name] == 12.0 and grads[by_label["a"].name] == 7.0
    art = draw_value_graph(out, title="a*a + a")
    assert art.grads[by_label["a"].name].get_text() == "7"
    assert art.ax.get_title() == "a*a + a"
    plt.close(art.ax.figure)
    with pytest.raises(GraphError, match="float has no 'data'"):
        value_graph(3.0)


# ---------------------------------------------------------------------------------------
# Widgets: update(**values) called directly
# ---------------------------------------------------------------------------------------

def _all_axes_labelled(view):
    for ax in np.atleast_1d(view.live.axes):
        assert ax.get_title() and ax.get_xlabel()


def test_example_view_follows_the_sliders_and_the_step():
    view = lb.build_example_view()
    _all_axes_labelled(view)
    art = view.artists["graph"]
    view.update(x=1.0, y=2.0, z=3.0, step=0)
    assert art.values["f"].get_text() == "f = 9" and art.grads["x"].get_text() == "?"
    assert "step 0" in view.artists["note"].get_text()
    view.update(x=1.0, y=2.0, z=3.0, step=2)
    assert art.grads["x"].get_text() == "3" and art.grads["z"].get_text() == "3"
    assert set(view.controls) == {"x", "y", "z", "step"}


def test_gate_view_switches_gates():
    view = lb.build_gate_view()
    _all_axes_labelled(view)
    art = view.artists["graph"]
    view.update(gate="max", a=3.0, b=-1.0, upstream=2.0)
    assert art.labels["out"].get_text() == "max"
    assert (art.grads["a"].get_text(), art.grads["b"].get_text()) == ("2", "0")
    view.update(gate="multiply", a=3.0, b=-1.0, upstream=2.0)
    assert (art.grads["a"].get_text(), art.grads["b"].get_text()) == ("-2", "6")
    assert "swaps" in view.artists["rule"].get_text()


def test_neuron_view_shows_the_gradients():
    view = lb.build_neuron_view()
    _all_axes_labelled(view)
    view.update(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    assert view.artists["graph"].grads["x1"].get_text() == "-0.59"
    assert view.artists["graph"].values["out"].get_text() == "0.731"


def test_saturation_view_moves_the_markers():
    view = lb.build_saturation_view()
    _all_axes_labelled(view)
    view.update(x=3.0)
    _, y = view.artists["grad_marker"].get_data()
    assert y[0] == pytest.approx(lb.sigmoid_local_gradient(3.0))
    assert "σ'(3)" in view.artists["readout"].get_text()


def test_vanishing_view_follows_depth_and_weight():
    view = lb.build_vanishing_view()
    _all_axes_labelled(view)
    view.update(x0=0.5, weight=2.0, depth=7)
    xs, ys = view.artists["chain"].get_data()
    np.testing.assert_array_equal(xs, np.arange(8))
    np.testing.assert_allclose(ys, lb.sigmoid_chain_gradients(0.5, 2.0, 7))
    assert view.live.axes.get_xlim() == (-0.5, 7.5)
