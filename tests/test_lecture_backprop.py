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


# ---------------------------------------------------------------------------------------
# These graphs can be huge: the scalar tape (lecture 05, sections 2 and 8)
# ---------------------------------------------------------------------------------------

def test_tape_by_hand_and_its_backward_sweep():
    tape = lb.ScalarTape()
    x, y, z = tape.leaf(-2.0), tape.leaf(5.0), tape.leaf(-4.0)
    f = tape.mul(tape.add(x, y), z)
    assert tape.values[f] == -12.0
    np.testing.assert_array_equal(tape.backward(f), [-4.0, -4.0, 3.0, -4.0, 1.0])
    assert (tape.node_count, tape.operation_count, tape.edge_count) == (5, 2, 4)
    u = tape.leaf(2.0)
    g = tape.sub(tape.log(tape.exp(tape.relu(u))), tape.mul(u, u))  # u - u^2 for u > 0
    assert tape.values[g] == pytest.approx(2.0 - 4.0)
    assert tape.backward(g)[u] == pytest.approx(1.0 - 2 * 2.0)  # a reused node adds its paths
    v = tape.leaf(-1.0)
    assert tape.backward(tape.relu(v))[v] == 0.0


@pytest.mark.parametrize("sizes, batch", [((4, 5, 3), 2), ((2, 3, 2), 1), ((3, 1, 4), 3)])
def test_mlp_tape_matches_the_array_loss_numerical_gradients_and_the_size_formula(sizes, batch):
    params = lb.mlp_params(sizes, seed=sum(sizes))
    rng = np.random.default_rng(batch)
    X = rng.normal(size=(batch, sizes[0]))
    labels = rng.integers(0, sizes[2], size=batch)
    tape, nodes, loss = lb.build_mlp_tape(params, X, labels)
    assert tape.values[loss] == pytest.approx(lb.mlp_loss(params, X, labels), rel=1e-12)
    grads = tape.backward(loss)
    for name, value in params.items():
        numeric = eval_numerical_gradient(lambda v, name=name: lb.mlp_loss({**params, name: v},
                                                                           X, labels),
                                          value.copy())
        assert rel_error(grads[nodes[name]], numeric) < 1e-7
    size = lb.mlp_graph_size(sizes, batch)
    assert (size.nodes, size.operations, size.edges) == (tape.node_count, tape.operation_count,
                                                         tape.edge_count)
    assert size.parameters == sum(v.size for v in params.values())


def test_what_lecture_05_prints_about_graph_sizes():
    """Section 2 prints 218 nodes (166 operations) for the 4-5-3 network on 2 examples and
    more than ten million nodes for 784-100-10 on 64 examples; section 8 says the backward pass
    does about two multiply-adds per forward operation, and the numerical gradient needs two
    forward passes per parameter."""
    tiny, big = lb.mlp_graph_size((4, 5, 3), 2), lb.mlp_graph_size((784, 100, 10), 64)
    assert (tiny.nodes, tiny.operations, tiny.edges) == (218, 166, 314)
    assert big.nodes > 10_000_000 and big.parameters == 79_510
    for size in (tiny, big):
        assert 1.8 <= size.edges / size.operations <= 2.05


# ---------------------------------------------------------------------------------------
# Initialisation and the overfitting sanity check (lecture 05, sections 9 and 10)
# ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def digits_centred():
    from utils.data import load_digits
    split = load_digits(num_val=200, num_test=300, seed=0)
    return (split.X_train - split.X_train.mean(axis=0)) / 16.0, split.y_train


def test_init_std_by_scheme():
    assert lb.init_std("zero", 50) == 0.0 and lb.init_std("small (0.01)", 50) == 0.01
    assert lb.init_std("Xavier", 100) == pytest.approx(0.1)
    assert lb.init_std("He", 50) == pytest.approx(0.2)
    with pytest.raises(ValueError, match="Unknown initialisation 'LeCun'"):
        lb.init_std("LeCun", 10)
    with pytest.raises(ValueError, match="'relu' or 'tanh'"):
        lb.activation_stds(np.ones((2, 3)), "He", "sigmoid")


def test_what_lecture_05_prints_about_activation_statistics(digits_centred):
    """Section 9: inputs of std about 0.27; with ReLU, He keeps the std steady, Xavier shrinks it
    by about sqrt(2) per layer (0.16 to 0.02 over 8 layers), 'large' grows it about 7-fold per
    layer, 'small' makes it vanish; with tanh, 'large' saturates near 1."""
    X = digits_centred[0][:500]
    assert np.std(X) == pytest.approx(0.27, abs=0.01)
    he = lb.activation_stds(X, "He", "relu")
    assert np.all((he > 0.2) & (he < 0.3))
    xavier = lb.activation_stds(X, "Xavier", "relu")
    assert round(xavier[0], 2) == 0.16 and round(xavier[-1], 2) == 0.02
    assert np.exp(np.mean(np.log(xavier[1:] / xavier[:-1]))) == pytest.approx(2 ** -0.5, rel=0.1)
    large = lb.activation_stds(X, "large (1.0)", "relu")
    assert np.all((large[1:] / large[:-1] > 6) & (large[1:] / large[:-1] < 8.5))
    assert lb.activation_stds(X, "small (0.01)", "relu")[-1] < 1e-8
    saturated = lb.activation_stds(X, "large (1.0)", "tanh")
    assert saturated[-1] > 0.9
    assert np.all(lb.activation_stds(X, "zero", "relu") == 0)


def test_two_layer_objective_gradients_match_numerical_ones():
    rng = np.random.default_rng(5)
    weights = {"V": rng.normal(size=(4, 6)), "c": rng.normal(size=6),
               "U": rng.normal(size=(6, 3)), "e": rng.normal(size=3)}
    X, labels = rng.normal(size=(7, 4)), rng.integers(0, 3, size=7)
    loss, grads = lb.two_layer_objective(weights, X, labels)
    assert loss == pytest.approx(lb.mlp_loss({"W1": weights["V"], "b1": weights["c"],
                                              "W2": weights["U"], "b2": weights["e"]},
                                             X, labels))
    for name, value in weights.items():
        numeric = eval_numerical_gradient(
            lambda v, name=name: lb.two_layer_objective({**weights, name: v}, X, labels)[0],
            value.copy())
        assert rel_error(grads[name], numeric) < 1e-7


def test_what_lecture_05_prints_about_training_from_each_initialisation(digits_centred):
    """Section 9's table: zero stays at log 10 with one hidden unit, constant weights keep
    one unit, small barely moves, large starts an order of magnitude above log 10, He ends
    lowest and below Xavier; inputs are never modified."""
    X, y = digits_centred
    ends, firsts, units = {}, {}, {}
    starts = {s: lb.init_two_layer(s, (64, 100, 10), seed=0) for s in lb.INIT_SCHEMES}
    starts["constant 0.05"] = {k: np.full_like(v, 0.05) for k, v in starts["He"].items()}
    for name, start in starts.items():
        before = {k: v.copy() for k, v in start.items()}
        history, trained = lb.train_two_layer(X, y, start, steps=100, lr=0.1, batch=100)
        assert all(np.array_equal(before[k], start[k]) for k in start)
        firsts[name], ends[name] = history[0], lb.two_layer_objective(trained, X, y)[0]
        units[name] = lb.distinct_hidden_units(trained["V"])
    assert ends["zero"] == pytest.approx(np.log(10), abs=0.01) and units["zero"] == 1
    assert units["constant 0.05"] == 1 and ends["constant 0.05"] > 2.0
    assert ends["small (0.01)"] > 2.0
    assert firsts["large (1.0)"] > 10 * np.log(10)
    for name in ("Xavier", "He"):
        assert firsts[name] == pytest.approx(np.log(10), abs=0.1) and units[name] == 100
    assert min(ends, key=ends.get) == "He" and ends["He"] < ends["Xavier"] < 1.0


def test_overfitting_twenty_digits_as_lecture_05_shows(digits_centred):
    X, y = digits_centred
    history, fitted = lb.train_two_layer(X[:20], y[:20], lb.init_two_layer("He", (64, 100, 10)),
                                         steps=200, lr=0.5)
    assert history[-1] < 0.01 and history[0] > 2.0
    assert np.all(lb.two_layer_predictions(fitted, X[:20]) == y[:20])


def test_init_view_follows_its_controls(digits_centred):
    view = lb.build_init_view(digits_centred[0][:200])
    _all_axes_labelled(view)
    view.update(activation="relu", scheme="He", gain=1.0, layers=6)
    xs, ys = view.artists["line"].get_data()
    np.testing.assert_array_equal(xs, np.arange(1, 7))
    np.testing.assert_allclose(ys, lb.activation_stds(digits_centred[0][:200], "He", "relu", 6))
    assert "std after layer 6" in view.artists["readout"].get_text()
    view.update(activation="relu", scheme="zero", gain=2.0, layers=3)
    assert view.artists["line"].get_ydata().min() == 1e-12  # drawn at the floor of the axis
    assert "all exactly 0" in view.artists["readout"].get_text()
    png = view.live.render_png()
    view.update(activation="tanh", scheme="large (1.0)", gain=1.0, layers=8)
    assert view.live.render_png() != png and view.live.full_draws == 1
    assert set(view.controls) == {"activation", "scheme", "gain", "layers"}
