"""Plots shared by the notebooks. Every function labels its axes and sets a title.

Functions draw into a given ``ax`` (or make a figure when none is given) and return the
artists they created, so widgets can update them in place instead of re-creating figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import ListedColormap

CLASS_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")


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
    cmap = ListedColormap(CLASS_COLOURS[:num_classes])
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
