"""Accessibility of the lectures: text alternatives for figures, colour-blind-safe colours.

- **Captions.** Every lecture cell that shows a figure (``plt.show()``, a widget) has its own
  caption: a markdown paragraph starting with ``**Figure.**`` in the nearest markdown cell
  after it or, failing that, before it, and one caption never serves two figures.
- **Colours.** ``utils.plotting`` makes the Okabe-Ito palette the default colour cycle, with a
  line style per colour, and every lecture turns it on in its first code cell. Whether colours
  stay apart for colour-blind readers is measured, not assumed: each colour is passed through
  the simulation of Machado, Oliveira and Fernandes (2009, severity 1) of deuteranopia,
  protanopia and tritanopia, and every pair must stay at least ``MIN_DELTA_E`` apart in CIELAB
  (CIE76). matplotlib's old default palette fails this check (red and green merge).
- The browser test ``tests/browser/test_lectures_in_browser.py`` checks keyboard use of the
  sliders (Tab to focus, arrow keys to move).
"""

from __future__ import annotations

import itertools
import json
import re

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from conftest import ROOT, lecture_notebooks

from utils import plotting
from utils.graph_drawing import GRAD_COLOUR, VALUE_COLOUR
from utils.lecture_optim import RACE_COLOURS, SCHEDULE_STYLES

matplotlib.use("agg")

FIGURE_CALLS = ("plt.show()", ".widget(", "interactive_view(")
CAPTION = re.compile(r"^\*\*Figure\.\*\* (.+?)(?:\n\n|\Z)", re.M | re.S)
MIN_DELTA_E = 15.0
OLD_DEFAULT = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")

# Machado et al. (2009), severity 1.0, applied to linear RGB.
DEFICIENCIES = {
    "deuteranopia": [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                     [-0.011820, 0.042940, 0.968881]],
    "protanopia": [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                   [-0.003882, -0.048116, 1.051998]],
    "tritanopia": [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                   [0.004733, 0.691367, 0.303900]],
}


def _linear_rgb(colour: str) -> np.ndarray:
    srgb = np.array(matplotlib.colors.to_rgb(colour))
    return np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)


def _lab(linear: np.ndarray) -> np.ndarray:
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722],
                    [0.0193, 0.1192, 0.9505]]) @ linear / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest_pair_as_seen(colours, deficiency: str | None) -> float:
    """The smallest CIE76 distance between two of ``colours`` for a reader with ``deficiency``
    (None: normal colour vision)."""
    seen = []
    for colour in colours:
        linear = _linear_rgb(colour)
        if deficiency:
            linear = np.clip(np.array(DEFICIENCIES[deficiency]) @ linear, 0.0, 1.0)
        seen.append(_lab(linear))
    return min(float(np.linalg.norm(a - b)) for a, b in itertools.combinations(seen, 2))


def _distinguishable(colours) -> dict[str | None, float]:
    return {d: closest_pair_as_seen(colours, d) for d in (None, *DEFICIENCIES)}


# ------------------------------------------------------------------ colours

def test_the_colour_check_can_fail():
    assert closest_pair_as_seen(OLD_DEFAULT, "protanopia") < MIN_DELTA_E
    assert closest_pair_as_seen(["#2a7d2e", "#c0392b"], "deuteranopia") < MIN_DELTA_E


@pytest.mark.parametrize("name, colours", [
    ("default cycle", plotting.OKABE_ITO),
    ("class colours of 3-class plots", plotting.CLASS_COLOURS[:3]),
    ("graph values and gradients", (VALUE_COLOUR, GRAD_COLOUR)),
    ("schedules", [style[0] for style in SCHEDULE_STYLES.values()]),
])
def test_colours_stay_apart_for_colour_blind_readers(name, colours):
    distances = _distinguishable(colours)
    assert min(distances.values()) >= MIN_DELTA_E, f"{name}: {distances}"


def test_race_colours_are_colour_blind_safe_or_carry_a_marker():
    """Nine optimizers are more than a safe palette holds: every colour pair that comes close
    for some reader must differ in marker and line style (checked in test_lecture_optim)."""
    close = [(a, b) for a, b in itertools.combinations(RACE_COLOURS, 2)
             if min(_distinguishable([RACE_COLOURS[a], RACE_COLOURS[b]]).values()) < MIN_DELTA_E]
    assert len(close) <= 2, close


def test_the_default_cycle_pairs_each_colour_with_a_line_style():
    before = plt.rcParams["axes.prop_cycle"]
    try:
        plotting.use_colorblind_style()
        cycle = list(plt.rcParams["axes.prop_cycle"])
        assert [entry["color"] for entry in cycle] == list(plotting.OKABE_ITO)
        styles = [str(entry["linestyle"]) for entry in cycle]
        assert len(set(styles)) == len(styles)
        fig, ax = plt.subplots()
        first, second = ax.plot([0, 1]), ax.plot([1, 0])
        assert first[0].get_linestyle() != second[0].get_linestyle()
        plt.close(fig)
    finally:
        plt.rcParams["axes.prop_cycle"] = before
    assert list(plotting.class_colormap(3).colors) == list(plotting.CLASS_COLOURS[:3])
    with pytest.raises(ValueError, match="between 1 and 10"):
        plotting.class_colormap(11)


@pytest.mark.parametrize("path", lecture_notebooks(), ids=lambda p: p.name)
def test_every_lecture_turns_on_the_colour_blind_style_first(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    first_code = next(c["source"] for c in cells if c["cell_type"] == "code")
    assert "use_colorblind_style()" in first_code


# ------------------------------------------------------------------ captions

def uncaptioned_figures(cells: list[dict]) -> list[str]:
    """Figure cells without a caption of their own ("cell 7: ..."), given notebook cells."""
    captions = {i: [m.group(1) for m in CAPTION.finditer(c["source"])]
                for i, c in enumerate(cells) if c["cell_type"] == "markdown"}
    problems = []
    for i, c in enumerate(cells):
        if c["cell_type"] != "code" or not any(call in c["source"] for call in FIGURE_CALLS):
            continue
        after = next((j for j in range(i + 1, len(cells)) if j in captions), None)
        before = next((j for j in range(i - 1, -1, -1) if j in captions), None)
        for j in (after, before):
            if j is not None and captions[j]:
                text = captions[j].pop(0)
                if len(text.split()) < 8:
                    problems.append(f"cell {i}: caption too short to describe it: {text!r}")
                break
        else:
            problems.append(f"cell {i}: no **Figure.** caption next to it")
    return problems


def test_the_caption_check_can_fail():
    def cell(kind, source):
        return {"cell_type": kind, "source": source}

    shown = cell("code", "plt.plot([1]); plt.show()")
    assert uncaptioned_figures([cell("markdown", "# T"), shown]) == [
        "cell 1: no **Figure.** caption next to it"]
    caption = cell("markdown", "**Figure.** A line rising from left to right, one point each.")
    assert uncaptioned_figures([shown, caption]) == []
    assert uncaptioned_figures([shown, caption, shown]) == [
        "cell 2: no **Figure.** caption next to it"]  # one caption, one figure
    assert uncaptioned_figures([shown, cell("markdown", "**Figure.** A line.")]) == [
        "cell 0: caption too short to describe it: 'A line.'"]


@pytest.mark.parametrize("path", lecture_notebooks(), ids=lambda p: p.name)
def test_every_figure_of_a_lecture_has_a_caption(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    problems = uncaptioned_figures(cells)
    assert not problems, f"{path.relative_to(ROOT)}:\n" + "\n".join(problems)
