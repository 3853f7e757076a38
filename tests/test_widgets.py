"""utils.widgets: the update function is a plain function; the view redraws in place."""

from __future__ import annotations

import ipywidgets as widgets
import numpy as np

from utils.widgets import LiveFigure, interactive_view


def test_interactive_view_calls_update_and_redraws_the_same_figure():
    live = LiveFigure(figsize=(3, 2))
    (line,) = live.axes.plot([0, 1], [0, 0])
    calls = []

    def update(slope):
        calls.append(slope)
        line.set_ydata([0, slope])

    slider = widgets.FloatSlider(value=1.0, min=0, max=5)
    view = interactive_view({"slope": slider}, update, live)
    assert calls == [1.0] and isinstance(view, widgets.VBox)
    figure_before = live.fig
    slider.value = 3.0
    assert calls == [1.0, 3.0]
    assert np.allclose(line.get_ydata(), [0, 3.0])
    assert live.fig is figure_before and live.last_redraw_ms > 0
