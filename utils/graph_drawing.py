"""Draw computational graphs with their values and gradients, with matplotlib only.

No Graphviz or other system package is needed, so the drawings work on any machine that runs
the course. Three steps, as for every widget in the course:

1. ``layout_graph(nodes)`` is a pure function: node names -> (x, y) positions, inputs on the
   left, the output on the right.
2. ``draw_graph(ax, nodes)`` draws the graph once and returns a ``GraphArtists`` holding
   every artist (node circles, labels, value and gradient texts, arrows).
3. ``update_graph(artists, values, grads, highlight)`` changes only the texts and colours,
   so a widget can redraw the same figure quickly.

Values are written above each node (blue), gradients d(output)/d(node) below it (red, in bold
italics); the two are told apart by position and type face as well as by colour, and the
colours are from the colour-blind-safe Okabe-Ito palette. A gradient not known yet is shown
as "?".
``draw_value_graph(root)`` draws the graph behind an autodiff ``Value`` (any object with
``data``, ``grad``, ``_prev``, ``_op`` and optionally ``label`` attributes).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch
from matplotlib.text import Text

VALUE_COLOUR = "#0072B2"  # Okabe-Ito blue
GRAD_COLOUR = "#D55E00"  # Okabe-Ito vermillion (red)
NODE_FACE = "#f4f4f4"
HIGHLIGHT_FACE = "#ffe08a"
EDGE_COLOUR = "0.35"
NODE_RADIUS = 0.22


class GraphError(ValueError):
    """A graph description is inconsistent; the message says what is wrong."""


@dataclass(frozen=True)
class GraphNode:
    """One node of a computational graph.

    - name: unique key (used in ``values`` and ``grads`` dicts).
    - label: short text drawn inside the node ("x", "+", "*", "σ").
    - inputs: names of the nodes this one is computed from (empty for inputs/parameters).
    """

    name: str
    label: str
    inputs: tuple[str, ...] = ()


@dataclass
class GraphArtists:
    """The artists of one drawn graph, keyed by node name (edges by (source, target))."""

    ax: Axes
    nodes: dict[str, Circle] = field(default_factory=dict)
    labels: dict[str, Text] = field(default_factory=dict)
    values: dict[str, Text] = field(default_factory=dict)
    grads: dict[str, Text] = field(default_factory=dict)
    edges: dict[tuple[str, str], FancyArrowPatch] = field(default_factory=dict)
    prefixes: dict[str, str] = field(default_factory=dict)


def _check_nodes(nodes: Sequence[GraphNode]) -> dict[str, GraphNode]:
    by_name: dict[str, GraphNode] = {}
    for node in nodes:
        if node.name in by_name:
            raise GraphError(f"Two graph nodes share the name {node.name!r}; names must be unique.")
        by_name[node.name] = node
    for node in nodes:
        for source in node.inputs:
            if source not in by_name:
                raise GraphError(f"Node {node.name!r} uses input {source!r}, which is not a node "
                                 "of the graph.")
    return by_name


def _depths(by_name: Mapping[str, GraphNode]) -> dict[str, int]:
    """Longest distance from any input; raises GraphError on a cycle."""
    depth: dict[str, int] = {}
    state: dict[str, str] = {}
    for start in by_name:
        stack = [(start, False)]
        while stack:
            name, expanded = stack.pop()
            if expanded:
                inputs = by_name[name].inputs
                depth[name] = 1 + max((depth[s] for s in inputs), default=-1)
                state[name] = "done"
                continue
            if state.get(name) == "done":
                continue
            if state.get(name) == "open":
                raise GraphError(f"The graph has a cycle through {name!r}; a computational "
                                 "graph must be acyclic.")
            state[name] = "open"
            stack.append((name, True))
            for source in by_name[name].inputs:
                if state.get(source) == "open":
                    raise GraphError(f"The graph has a cycle through {source!r}; a "
                                     "computational graph must be acyclic.")
                if state.get(source) != "done":
                    stack.append((source, False))
    return depth


def layout_graph(nodes: Sequence[GraphNode], column_gap: float = 1.6,
                 row_gap: float = 1.1) -> dict[str, tuple[float, float]]:
    """Positions for a layered left-to-right drawing of the graph.

    Inputs:
    - nodes: the graph, each node listing its inputs (any order).
    - column_gap, row_gap: distances between columns and rows, in data units.

    Returns a dict node name -> (x, y). A computed node sits one column right of its deepest
    input; an input (leaf) sits one column left of its first user. Within a column, nodes are
    ordered by the mean height of the nodes they feed (fewer crossing edges) and centred on 0.
    Raises GraphError for duplicate names, unknown inputs or cycles.
    """
    by_name = _check_nodes(nodes)
    if not by_name:
        return {}
    depth = _depths(by_name)
    users: dict[str, list[str]] = {name: [] for name in by_name}
    for node in nodes:
        for source in node.inputs:
            users[source].append(node.name)
    column = dict(depth)
    for name, node in by_name.items():
        if not node.inputs and users[name]:
            column[name] = min(depth[u] for u in users[name]) - 1
    shift = min(column.values())
    column = {name: c - shift for name, c in column.items()}
    order = {name: i for i, name in enumerate(by_name)}
    y: dict[str, float] = {}
    for col in sorted(set(column.values()), reverse=True):
        members = [name for name in by_name if column[name] == col]

        def key(name: str) -> tuple[float, int]:
            placed = [y[u] for u in users[name] if u in y]
            return (-sum(placed) / len(placed) if placed else 0.0, order[name])

        members.sort(key=key)
        count = len(members)
        for i, name in enumerate(members):
            y[name] = row_gap * ((count - 1) / 2 - i)
    return {name: (column_gap * column[name], y[name]) for name in by_name}


def _format(number: float | None) -> str:
    if number is None:
        return "?"
    return f"{number:.3g}"


def draw_graph(ax: Axes, nodes: Sequence[GraphNode],
               positions: Mapping[str, tuple[float, float]] | None = None,
               title: str = "Computational graph", show_names: bool = False) -> GraphArtists:
    """Draw the graph into ``ax`` once; returns the artists for ``update_graph``.

    Inputs:
    - ax: the matplotlib axes to draw into (its ticks are hidden).
    - nodes: the graph; positions: from ``layout_graph`` (computed when None).
    - title: the axes title.
    - show_names: write "q = 3" instead of "3" above computed nodes whose label is not their name.
    Value and gradient texts start empty; call ``update_graph`` to fill them.
    """
    by_name = _check_nodes(nodes)
    positions = dict(positions) if positions is not None else layout_graph(nodes)
    art = GraphArtists(ax=ax)
    r = NODE_RADIUS
    for node in nodes:
        for source in node.inputs:
            arrow = FancyArrowPatch(positions[source], positions[node.name], arrowstyle="-|>",
                                    mutation_scale=12, color=EDGE_COLOUR, lw=1.2,
                                    shrinkA=0, shrinkB=0, zorder=1)
            art.edges[(source, node.name)] = ax.add_patch(arrow)
    for name, node in by_name.items():
        x, y = positions[name]
        circle = Circle((x, y), r, facecolor=NODE_FACE, edgecolor="0.2", lw=1.2, zorder=2)
        art.nodes[name] = ax.add_patch(circle)
        art.prefixes[name] = f"{name} = " if show_names and node.label != name else ""
        art.labels[name] = ax.text(x, y, node.label, ha="center", va="center", fontsize=11,
                                   zorder=3)
        art.values[name] = ax.text(x, y + r + 0.08, "", ha="center", va="bottom",
                                   color=VALUE_COLOUR, fontsize=10, fontweight="bold", zorder=3)
        art.grads[name] = ax.text(x, y - r - 0.08, "", ha="center", va="top",
                                  color=GRAD_COLOUR, fontsize=10, fontweight="bold",
                                  fontstyle="italic", zorder=3)
    _shrink_edges(art, positions)
    xs = [p[0] for p in positions.values()] or [0.0]
    ys = [p[1] for p in positions.values()] or [0.0]
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.75, max(ys) + 0.75)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_title(title)
    ax.set_xlabel("value above each node (blue), d out / d node below (red, italics)", fontsize=9)
    return art


def _shrink_edges(art: GraphArtists, positions: Mapping[str, tuple[float, float]]) -> None:
    """Start and end arrows on the node circles rather than their centres."""
    for (source, target), arrow in art.edges.items():
        (x0, y0), (x1, y1) = positions[source], positions[target]
        dx, dy = x1 - x0, y1 - y0
        length = max((dx * dx + dy * dy) ** 0.5, 1e-9)
        ux, uy = dx / length, dy / length
        r = NODE_RADIUS
        arrow.set_positions((x0 + r * ux, y0 + r * uy), (x1 - r * ux, y1 - r * uy))


def update_graph(art: GraphArtists, values: Mapping[str, float] | None = None,
                 grads: Mapping[str, float | None] | None = None,
                 highlight: Iterable[str] = (), labels: Mapping[str, str] | None = None
                 ) -> None:
    """Write values and gradients on a drawn graph and highlight some nodes.

    Inputs:
    - values: node name -> forward value (nodes left out show no value).
    - grads: node name -> gradient d(output)/d(node); None or a missing name shows "?".
      Pass ``grads=None`` to hide every gradient (forward pass only).
    - highlight: names of nodes to colour (for example the step of the backward pass shown).
    - labels: node name -> new text inside the node (for example to switch a gate's operation).
    Only texts and colours change; no artist is created or removed.
    """
    values = values or {}
    marked = set(highlight)
    unknown = (set(values) | set(grads or {}) | marked | set(labels or {})) - set(art.nodes)
    if unknown:
        raise GraphError(f"update_graph got names that are not nodes of the graph: "
                         f"{sorted(unknown)}.")
    for name in art.nodes:
        shown = f"{art.prefixes[name]}{_format(values[name])}" if name in values else ""
        art.values[name].set_text(shown)
        if grads is None:
            art.grads[name].set_text("")
        else:
            art.grads[name].set_text(_format(grads.get(name)))
        art.nodes[name].set_facecolor(HIGHLIGHT_FACE if name in marked else NODE_FACE)
    for name, text in (labels or {}).items():
        art.labels[name].set_text(text)
    for (_source, target), arrow in art.edges.items():
        hot = target in marked
        arrow.set_color(GRAD_COLOUR if hot else EDGE_COLOUR)
        arrow.set_linewidth(2.2 if hot else 1.2)


def value_graph(root) -> tuple[list[GraphNode], dict[str, float], dict[str, float]]:
    """The graph behind an autodiff node: (nodes, values, grads), keyed by generated names.

    ``root`` is any object with ``data``, ``grad``, ``_prev`` (its input nodes) and ``_op``
    (operation name, empty for leaves) attributes, and optionally ``label``.
    Leaves are labelled by their ``label`` (or their value); computed nodes by their operation.
    """
    for attribute in ("data", "grad", "_prev", "_op"):
        if not hasattr(root, attribute):
            raise GraphError(f"value_graph needs an object with data, grad, _prev and _op "
                             f"attributes; {type(root).__name__} has no {attribute!r}.")
    names: dict[int, str] = {}
    found = []
    pending = [root]
    while pending:
        node = pending.pop()
        if id(node) in names:
            continue
        names[id(node)] = f"n{len(names)}"
        found.append(node)
        pending.extend(node._prev)
    nodes, values, grads = [], {}, {}
    for node in found:
        name = names[id(node)]
        label = node._op or getattr(node, "label", "") or f"{float(node.data):.3g}"
        nodes.append(GraphNode(name, label, tuple(names[id(c)] for c in node._prev)))
        values[name] = float(node.data)
        grads[name] = float(node.grad)
    return nodes, values, grads


def draw_value_graph(root, ax: Axes | None = None,
                     title: str = "Expression graph after backward()") -> GraphArtists:
    """Draw the graph behind an autodiff node with every node's data and grad.

    Inputs:
    - root: the output node (see ``value_graph``); call ``root.backward()`` first to see
      gradients. ax: axes to draw into (a new figure when None); title: the axes title.
    Returns the artists (see ``draw_graph``).
    """
    nodes, values, grads = value_graph(root)
    if ax is None:
        positions = layout_graph(nodes)
        width = max(p[0] for p in positions.values()) + 1.2
        height = max(p[1] for p in positions.values()) * 2 + 1.5
        _, ax = plt.subplots(figsize=(min(2.0 + 1.2 * width, 14), min(1.5 + 1.2 * height, 9)))
    art = draw_graph(ax, nodes, title=title)
    update_graph(art, values, grads)
    return art
