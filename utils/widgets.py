"""Thin widget views over plain functions.

The pattern used by every lecture widget:

1. Build a matplotlib ``Figure`` once (``LiveFigure``), keeping the artists to update.
2. Write an ``update(**values)`` function that changes those artists (``set_data``,
   ``set_offsets``, ``set_text``); it holds no maths of its own, it calls pure functions.
3. ``interactive_view(controls, update, live)`` wires the controls to ``update`` and
   redraws the figure in place.

``update`` is a plain function: tests call it with values and look at the artists, without a
browser. ``LiveFigure.redraw`` re-renders the same figure (no new figure is created).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import ipywidgets as widgets
from IPython.display import display
from matplotlib.figure import Figure


class LiveFigure:
    """A matplotlib figure displayed inside an ``ipywidgets.Output`` and redrawn in place.

    Inputs:
    - nrows, ncols, figsize: as in ``plt.subplots``; extra keyword arguments go to ``subplots``.
    Attributes: ``fig``, ``axes`` (an array when there are several), ``output`` (the widget),
    ``last_redraw_ms`` (time the last redraw took, for benchmarks).
    """

    def __init__(self, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4),
                 **subplot_kw):
        # A bare Figure is not registered with pyplot, so Jupyter never shows it twice.
        self.fig = Figure(figsize=figsize, layout="constrained")
        self.axes = self.fig.subplots(nrows, ncols, **subplot_kw)
        self.output = widgets.Output()
        self.last_redraw_ms = float("nan")

    def redraw(self) -> None:
        """Render the current state of the figure into the output widget."""
        start = time.perf_counter()
        self.fig.canvas.draw()
        with self.output:
            self.output.clear_output(wait=True)
            display(self.fig)
        self.last_redraw_ms = 1e3 * (time.perf_counter() - start)


def interactive_view(controls: Mapping[str, widgets.ValueWidget], update: Callable[..., None],
                     live: LiveFigure, columns: int = 3) -> widgets.VBox:
    """Wire ``controls`` (name -> widget) to ``update(**values)`` and redraw ``live`` after each call.

    Returns the widget to display: the controls in a grid above the figure. ``update`` is called
    once immediately so the figure shows the initial state.
    """
    def values() -> dict:
        return {name: w.value for name, w in controls.items()}

    def on_change(_change=None) -> None:
        update(**values())
        live.redraw()

    for w in controls.values():
        w.observe(on_change, names="value")
    on_change()
    boxes = list(controls.values())
    rows = [widgets.HBox(boxes[i:i + columns]) for i in range(0, len(boxes), columns)]
    return widgets.VBox([*rows, live.output])
