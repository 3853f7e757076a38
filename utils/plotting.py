"""Plots shared by the notebooks. Every function labels its axes and sets a title.

Functions draw into a given ``ax`` (or make a figure when none is given) and return the
artists they created, so widgets can update them in place instead of re-creating figures.

Colours are colour-blind safe: ``OKABE_ITO`` is the palette of Okabe and Ito (2008), which
readers with any common colour-vision deficiency can tell apart. ``use_colorblind_style()``
(called in the first code cell of every lecture) makes it matplotlib's default colour cycle,
in the order of matplotlib's own default (C0 blue, C1 orange, C2 green, C3 red, ...), and pairs
each colour with its own line style, so lines that are compared differ in more than colour.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

#: Okabe-Ito colours in the roles of matplotlib's default cycle: C0 blue, C1 orange, C2 bluish
#: green, C3 vermillion (red), C4 reddish purple, C5 sky blue, C6 yellow, C7 black.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442",
             "#000000")
#: One line style per colour of the cycle, so compared lines differ in more than colour.
CYCLE_LINESTYLES = ("-", "--", "-.", ":", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)), (0, (1, 3)),
                    (0, (8, 3)))
#: Markers to pair with the cycle where lines carry markers (paths of optimizers).
CYCLE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
#: Colours of up to ten classes (decision regions, scatter plots): the Okabe-Ito colours, then
#: grey and a wine red.
CLASS_COLOURS = (*OKABE_ITO[:7], "#7F7F7F", "#882255", "#000000")


def colorblind_cycle() -> cycler:
    """The default property cycle of the lectures: Okabe-Ito colours with a line style each."""
    return cycler(color=list(OKABE_ITO)) + cycler(linestyle=list(CYCLE_LINESTYLES))


def use_colorblind_style() -> None:
    """Make the colour-blind-safe cycle matplotlib's default for every figure made afterwards.

    Affects ``plt.plot`` colours "C0".."C7" and the default line styles; a format string or
    ``linestyle=`` given by a plot still wins. Call it once, in a notebook's first code cell.
    """
    plt.rcParams["axes.prop_cycle"] = colorblind_cycle()


def class_colormap(num_classes: int = 10) -> ListedColormap:
    """A colormap of the first ``num_classes`` class colours (1 to 10), for ``c=labels``."""
    if not 1 <= num_classes <= len(CLASS_COLOURS):
        raise ValueError(f"num_classes must be between 1 and {len(CLASS_COLOURS)}, "
                         f"got {num_classes}.")
    return ListedColormap(CLASS_COLOURS[:num_classes])


def _axes(ax: Axes | None, figsize: tuple[float, float] = (5, 4)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def show_image_grid(images: np.ndarray, labels: np.ndarray, image_shape: tuple[int, ...],
                    per_class: int = 6, class_names: Sequence[str] | None = None,
                    title: str = "Examples per class") -> plt.Figure:
    """A grid with one column per class and ``per_class`` examples in each.

    Inputs:
    - images: (N, D) flattened images; image_shape: how to reshape one row, e.g. (8, 8).
    - labels: (N,) integer class labels.
    - class_names: names for the column titles (defaults to the label numbers).
    """
    classes = np.unique(labels)
    fig, axes = plt.subplots(per_class, len(classes), figsize=(0.9 * len(classes), 0.9 * per_class),
                             squeeze=False)
    for col, c in enumerate(classes):
        idx = np.flatnonzero(labels == c)[:per_class]
        for row in range(per_class):
            ax = axes[row, col]
            ax.axis("off")
            if row < len(idx):
                img = images[idx[row]].reshape(image_shape)
                cmap = "gray_r" if img.ndim == 2 else None
                ax.imshow(img if img.ndim == 2 else img.astype(np.uint8), cmap=cmap)
            if row == 0:
                ax.set_title(class_names[col] if class_names else str(c), fontsize=9)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_accuracy_vs_k(accuracies: Mapping[int, Sequence[float]], ax: Axes | None = None,
                       title: str = "Cross-validation accuracy versus k") -> Axes:
    """Scatter every fold's accuracy and draw the mean with standard-deviation error bars.

    Inputs:
    - accuracies: dict k -> list of fold accuracies (fractions in 0..1).
    """
    ax = _axes(ax)
    ks = sorted(accuracies)
    for k in ks:
        ax.scatter([k] * len(accuracies[k]), accuracies[k], color="0.6", s=12)
    means = np.array([np.mean(accuracies[k]) for k in ks])
    stds = np.array([np.std(accuracies[k]) for k in ks])
    ax.errorbar(ks, means, yerr=stds, color="C0", marker="o", capsize=3, label="mean ± std")
    ax.set_xlabel("k (number of neighbours)")
    ax.set_ylabel("validation accuracy")
    ax.set_title(title)
    ax.legend(loc="lower left")
    return ax


def decision_grid(X: np.ndarray, resolution: int = 150, margin: float = 0.5
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A grid covering the 2-D points X (N, 2): returns xx, yy (resolution, resolution) and the
    grid points as a (resolution**2, 2) array."""
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def plot_decision_boundary(ax: Axes, xx: np.ndarray, yy: np.ndarray, labels_on_grid: np.ndarray,
                           X: np.ndarray, y: np.ndarray, num_classes: int | None = None,
                           title: str = "Decision regions"):
    """Colour the plane by predicted class and scatter the points on top.

    Inputs:
    - xx, yy: (R, R) grid from ``decision_grid``; labels_on_grid: (R*R,) predicted labels.
    - X (N, 2), y (N,): the points to scatter.
    Returns (image, scatter) artists; update them with ``set_data`` / ``set_offsets``.
    """
    num_classes = num_classes or int(max(y.max(), labels_on_grid.max()) + 1)
    cmap = class_colormap(num_classes)
    # Pixel centres sit on the grid points, so the image reaches half a cell beyond them.
    half_x = (xx.max() - xx.min()) / max(xx.shape[1] - 1, 1) / 2
    half_y = (yy.max() - yy.min()) / max(yy.shape[0] - 1, 1) / 2
    extent = (xx.min() - half_x, xx.max() + half_x, yy.min() - half_y, yy.max() + half_y)
    image = ax.imshow(labels_on_grid.reshape(xx.shape), origin="lower", cmap=cmap, alpha=0.3,
                      extent=extent, aspect="auto",
                      vmin=-0.5, vmax=num_classes - 0.5, interpolation="nearest")
    scatter = ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, vmin=-0.5, vmax=num_classes - 0.5,
                         edgecolors="k", linewidths=0.5, s=20)
    ax.set_xlabel("feature 1")
    ax.set_ylabel("feature 2")
    ax.set_title(title)
    return image, scatter
