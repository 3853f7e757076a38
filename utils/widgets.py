"""Thin widget views over plain functions.

The pattern used by every lecture widget:

1. Build a ``LiveFigure`` once, keeping the artists to update.
2. Write an ``update(**values)`` function that changes those artists (``set_data``,
   ``set_offsets``, ``set_text``); it holds no maths of its own, it calls pure functions.
3. Return a ``View(live, controls, update, artists)``; ``view.widget()`` wires the controls
   to ``update`` and redraws the figure in place.

``update`` is a plain function: tests call it with values and look at the artists, without a
browser. Redrawing never creates a new figure.

Why redraws are fast (``benchmarks/widget_redraw.py`` and ``benchmarks/optimizer_race_redraw.py``
measure it): showing a figure the default Jupyter way (``display(fig)``) re-runs the layout
engine and a tight-bounding-box pass on every call. A ``LiveFigure`` lets the layout engine
place the axes once (``freeze_layout``), then renders one PNG per redraw with fast
compression. Artists marked with ``animate(...)`` are drawn over a cached background
(blitting): only they are re-rendered, until ``static_key`` changes (a new axis range, a new
surface), which forces one full draw.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import ipywidgets as widgets
import numpy as np
from IPython.display import Image, display
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image as PILImage


class LiveFigure:
    """A matplotlib figure displayed inside an ``ipywidgets.Output`` and redrawn in place.

    Inputs:
    - nrows, ncols, figsize (inches), dpi: as in ``plt.subplots``; extra keyword arguments go
      to ``Figure.subplots`` (``sharex``, ``width_ratios``, ...).
    Attributes: ``fig``, ``axes`` (an array when there are several), ``output`` (the widget),
    ``animated`` (artists drawn over the cached background), ``static_key`` (change it to force
    a full draw), ``full_draws`` (count, for tests), ``last_redraw_ms`` (for benchmarks).
    """

    def __init__(self, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4),
                 dpi: float = 100, **subplot_kw):
        # A bare Figure is not registered with pyplot, so Jupyter never shows it twice.
        self.fig = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.fig)
        self.axes = self.fig.subplots(nrows, ncols, **subplot_kw)
        self.output = widgets.Output()
        self.animated: list = []
        self.static_key: object = None
        self.full_draws = 0
        self.layout_frozen = False
        self.last_redraw_ms = float("nan")
        self._background = None
        self._background_key: object = None

    def animate(self, *artists) -> None:
        """Mark artists that change on every update; they are drawn over a cached background."""
        for artist in artists:
            artist.set_animated(True)
            self.animated.append(artist)

    def freeze_layout(self) -> None:
        """Let the layout engine place the axes for the current artists, then keep that layout.

        The first render does this by itself; views whose labels can grow call it once after
        an update with their widest content.
        """
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")
        self.layout_frozen = True

    def render_png(self) -> bytes:
        """Render the current state and return it as PNG bytes (what the notebook shows)."""
        if not self.layout_frozen:
            self.freeze_layout()
        canvas = self.fig.canvas
        if not self.animated:
            canvas.draw()
            self.full_draws += 1
        else:
            if self._background is None or self.static_key != self._background_key:
                canvas.draw()  # a full draw skips animated artists
                self._background = canvas.copy_from_bbox(self.fig.bbox)
                self._background_key = self.static_key
                self.full_draws += 1
            else:
                canvas.restore_region(self._background)
            for artist in self.animated:
                if artist.get_visible():
                    self.fig.draw_artist(artist)
        buffer = io.BytesIO()
        # Fast zlib level: a few percent larger PNG for much less encoding time.
        PILImage.fromarray(np.asarray(canvas.buffer_rgba())).save(buffer, format="png",
                                                                  compress_level=1)
        return buffer.getvalue()

    def redraw(self) -> None:
        """Show the current state in the output widget, replacing the previous image."""
        start = time.perf_counter()
        png = self.render_png()
        with self.output:
            self.output.clear_output(wait=True)
            display(Image(data=png, format="png"))
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


@dataclass
class View:
    """A lecture widget's parts: the live figure, its controls (name -> widget), the
    ``update(**values)`` that changes the artists, and those artists by name (for tests)."""

    live: LiveFigure
    controls: dict[str, widgets.ValueWidget]
    update: Callable[..., None]
    artists: dict[str, object] = field(default_factory=dict)

    def values(self) -> dict:
        """The controls' current values, as keyword arguments for ``update``."""
        return {name: w.value for name, w in self.controls.items()}

    def widget(self, columns: int = 3) -> widgets.VBox:
        """The controls (``columns`` per row) above the figure, wired to ``update``."""
        return interactive_view(self.controls, self.update, self.live, columns=columns)
