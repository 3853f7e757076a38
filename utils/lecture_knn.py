"""Support for the lectures 01_nearest_neighbor and 02_cross_validation.

Two layers, as in every lecture module:

- **Pure functions** (no plotting): kNN predictions on a grid for decision-region plots,
  accuracies, nearest training images of a query, the fold layout of k-fold
  cross-validation and accuracy-versus-k curves. All kNN work is done by scikit-learn
  (``KNeighborsClassifier`` with metric ``"manhattan"`` for L1 and ``"euclidean"`` for L2),
  never by the exercise's graded code.
- **Views**: ``boundary_view``, ``digit_neighbours_view`` and ``cross_validation_view`` build a
  figure once and return a ``View`` whose ``update(**values)`` changes the existing artists
  (``set_data``, ``set_offsets``, ``set_text``) by calling the pure functions. Tests call
  ``update`` directly; in a notebook ``view.widget()`` wires it to sliders. Their figures are
  ``utils.widgets.LiveFigure``s, which lay out once and send one PNG per redraw, to stay well
  under 100 ms per update.

Distances are called "L1" (Manhattan, sum of absolute differences) and "L2" (Euclidean).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.ticker import MaxNLocator, PercentFormatter
from scipy import stats
from sklearn.neighbors import KNeighborsClassifier

from utils.data import DIGIT_IMAGE_SHAPE, Split, make_toy_2d
from utils.plotting import CLASS_COLOURS, decision_grid, plot_decision_boundary
from utils.widgets import LiveFigure, View

#: The two distances of the lecture and scikit-learn's names for them.
METRICS = {"L1": "manhattan", "L2": "euclidean"}


# --------------------------------------------------------------------------------------------
# Pure functions
# --------------------------------------------------------------------------------------------

def sklearn_metric(metric: str) -> str:
    """scikit-learn's name of the distance ``metric`` ("L1" -> "manhattan", "L2" -> "euclidean")."""
    try:
        return METRICS[metric]
    except (KeyError, TypeError):
        raise ValueError(f"Unknown distance {metric!r}: choose 'L1' (sum of absolute "
                         "differences) or 'L2' (Euclidean distance).") from None


def _check_k(k: int, num_train: int) -> None:
    if not isinstance(k, int | np.integer) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k is the number of neighbours that vote: a positive integer, got {k!r}.")
    if k > num_train:
        raise ValueError(f"k={k} neighbours asked for, but there are only {num_train} "
                         "training points. Choose a smaller k.")


def fit_knn(X_train: np.ndarray, y_train: np.ndarray, k: int, metric: str = "L2"
            ) -> KNeighborsClassifier:
    """A scikit-learn kNN classifier fitted ("trained": it only memorises) on the data.

    Inputs:
    - X_train: (N, D) points; y_train: (N,) integer labels.
    - k: number of neighbours that vote (1 <= k <= N); metric: "L1" or "L2".
    Returns the fitted ``KNeighborsClassifier``.
    """
    X_train, y_train = np.asarray(X_train), np.asarray(y_train)
    if X_train.ndim != 2 or y_train.shape != (len(X_train),):
        raise ValueError(f"X_train must be (N, D) and y_train (N,); got shapes {X_train.shape} "
                         f"and {y_train.shape}.")
    _check_k(k, len(X_train))
    return KNeighborsClassifier(n_neighbors=int(k), metric=sklearn_metric(metric)).fit(X_train, y_train)


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction (0..1) of entries where the (N,) predictions equal the (N,) true labels."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise ValueError(f"Need two non-empty label arrays of the same shape; got {y_true.shape} "
                         f"and {y_pred.shape}.")
    return float(np.mean(y_true == y_pred))


@dataclass(frozen=True)
class Regions:
    """kNN decision regions on a grid and the accuracies of the same classifier.

    - xx, yy: (R, R) grid coordinates; grid_labels: (R, R) predicted class of each grid point.
    - train_accuracy, test_accuracy: fractions in 0..1.
    """

    xx: np.ndarray
    yy: np.ndarray
    grid_labels: np.ndarray
    train_accuracy: float
    test_accuracy: float

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) for ``imshow(..., extent=...)``: the grid points are the
        centres of the image's pixels, so the edges lie half a grid step beyond them."""
        half_x = (self.xx[0, -1] - self.xx[0, 0]) / (2 * (self.xx.shape[1] - 1))
        half_y = (self.yy[-1, 0] - self.yy[0, 0]) / (2 * (self.yy.shape[0] - 1))
        return (float(self.xx.min() - half_x), float(self.xx.max() + half_x),
                float(self.yy.min() - half_y), float(self.yy.max() + half_y))


def knn_regions(X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray,
                y_test: np.ndarray, k: int, metric: str = "L2", resolution: int = 90) -> Regions:
    """Predict every point of a grid covering train and test points with k-NN.

    Inputs:
    - X_train (N, 2), y_train (N,); X_test (M, 2), y_test (M,): 2-D points and labels.
    - k, metric: the classifier; resolution: grid points per axis (R).
    Returns ``Regions`` with (R, R) predictions and the train and test accuracies.
    """
    if np.shape(X_train)[1:] != (2,) or np.shape(X_test)[1:] != (2,):
        raise ValueError("Decision regions are drawn for 2-D points: X_train and X_test must have "
                         f"shape (N, 2); got {np.shape(X_train)} and {np.shape(X_test)}.")
    if resolution < 2:
        raise ValueError(f"resolution must be at least 2 grid points per axis, got {resolution}.")
    model = fit_knn(X_train, y_train, k, metric)
    xx, yy, grid = decision_grid(np.vstack([X_train, X_test]), resolution=resolution)
    return Regions(xx, yy, model.predict(grid).reshape(xx.shape),
                   accuracy(y_train, model.predict(X_train)),
                   accuracy(y_test, model.predict(X_test)))


@dataclass(frozen=True)
class ToySplit:
    """2-D training and test points drawn from the same distribution (different seeds)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def toy_split(kind: str = "blobs", noise: float = 0.3, num_train: int = 150,
              num_test: int = 150, seed: int = 0) -> ToySplit:
    """Training and test points from ``utils.data.make_toy_2d`` (seeds ``seed`` and ``seed + 1``).

    With fixed seeds, changing ``noise`` moves the same points further from their class centre,
    so a noise slider changes the picture smoothly.
    """
    X_train, y_train = make_toy_2d(kind, num_train, noise, seed=seed)
    X_test, y_test = make_toy_2d(kind, num_test, noise, seed=seed + 1)
    return ToySplit(X_train, y_train, X_test, y_test)


def unit_circle(metric: str, num_points: int = 200) -> np.ndarray:
    """Points at distance exactly 1 from the origin under ``metric``, as a closed (num_points, 2)
    curve: a circle for L2, a diamond (|x| + |y| = 1) for L1."""
    sklearn_metric(metric)
    t = np.linspace(0, 2 * np.pi, num_points)
    direction = np.column_stack([np.cos(t), np.sin(t)])
    norm = np.abs(direction).sum(axis=1) if metric == "L1" else np.hypot(*direction.T)
    return direction / norm[:, None]


def nearest_training_points(X_train: np.ndarray, query: np.ndarray, num_neighbours: int,
                            metric: str = "L2") -> tuple[np.ndarray, np.ndarray]:
    """The ``num_neighbours`` training rows closest to one query row, nearest first.

    Inputs:
    - X_train: (N, D); query: (D,); metric: "L1" or "L2".
    Returns (indices (num_neighbours,) int, distances (num_neighbours,) float), distances in the
    units of the features (for digits: summed grey levels 0..16).
    """
    X_train, query = np.asarray(X_train, dtype=float), np.asarray(query, dtype=float)
    if query.shape != X_train.shape[1:]:
        raise ValueError(f"The query must be one row of shape {X_train.shape[1:]}, got {query.shape}.")
    _check_k(num_neighbours, len(X_train))
    model = KNeighborsClassifier(n_neighbors=num_neighbours, metric=sklearn_metric(metric))
    model.fit(X_train, np.zeros(len(X_train), dtype=np.int64))
    distances, indices = model.kneighbors(query[None, :])
    return indices[0], distances[0]


def fold_roles(num_samples: int, num_folds: int) -> np.ndarray:
    """Which samples are held out in each round of k-fold cross-validation.

    The data is cut, in the given order and without shuffling, into ``num_folds`` contiguous
    folds whose sizes differ by at most one (the first folds take the extra samples), the
    layout of ``np.array_split`` and of scikit-learn's ``KFold(shuffle=False)``.

    Returns roles of shape (num_folds, num_samples), int: roles[r, i] is 1 when sample i is in
    the validation fold of round r and 0 when it is used for training.
    """
    if not isinstance(num_folds, int | np.integer) or num_folds < 2:
        raise ValueError(f"Cross-validation needs at least 2 folds, got {num_folds!r}.")
    if num_folds > num_samples:
        raise ValueError(f"{num_folds} folds cannot be cut from {num_samples} samples: each fold "
                         "needs at least one sample.")
    roles = np.zeros((num_folds, num_samples), dtype=np.int64)
    for r, members in enumerate(np.array_split(np.arange(num_samples), num_folds)):
        roles[r, members] = 1
    return roles


def cross_validation_curve(X: np.ndarray, y: np.ndarray, k_choices: Sequence[int],
                           num_folds: int = 5, metric: str = "L2") -> dict[int, list[float]]:
    """k-fold cross-validation accuracy of k-NN for several k, folds as in ``fold_roles``.

    Gives the same numbers as ``sklearn.model_selection.cross_val_score(KNeighborsClassifier(k,
    metric=...), X, y, cv=KFold(num_folds))`` for each k, but asks scikit-learn for the
    neighbours only once per fold (the k nearest are the first k of the max(k) nearest) and
    takes the vote with ``scipy.stats.mode`` (ties go to the smallest label, as in scikit-learn).

    Inputs:
    - X: (N, D) points; y: (N,) integer labels; k_choices: the k to try; metric: "L1" or "L2".
    Returns a dict k -> list of ``num_folds`` validation accuracies (fractions in 0..1).
    """
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or y.shape != (len(X),):
        raise ValueError(f"X must be (N, D) and y (N,); got shapes {X.shape} and {y.shape}.")
    k_choices = [int(k) for k in k_choices]
    if not k_choices:
        raise ValueError("k_choices is empty: give at least one k to try.")
    roles = fold_roles(len(X), num_folds)
    smallest_train = int(len(X) - roles.sum(axis=1).max())
    for k in k_choices:
        _check_k(k, smallest_train)
    # Row i: labels of the max(k) training neighbours of sample i, found by the model of the
    # round in which sample i is held out.
    held_out_masks = roles.astype(bool)
    neighbour_labels = np.empty((len(X), max(k_choices)), dtype=y.dtype)
    for held_out in held_out_masks:
        model = fit_knn(X[~held_out], y[~held_out], max(k_choices), metric)
        neighbour_labels[held_out] = y[~held_out][model.kneighbors(X[held_out],
                                                                   return_distance=False)]
    curve: dict[int, list[float]] = {}
    for k in k_choices:
        votes = stats.mode(neighbour_labels[:, :k], axis=1, keepdims=False).mode
        curve[k] = [accuracy(y[held_out], votes[held_out]) for held_out in held_out_masks]
    return curve


def best_k(curve: Mapping[int, Sequence[float]]) -> int:
    """The k with the highest mean accuracy (the smallest such k on a tie)."""
    if not curve:
        raise ValueError("The curve is empty: there is no k to choose from.")
    return max(sorted(curve), key=lambda k: (np.mean(curve[k]), -k))


def train_and_validation_accuracy(split: Split, k_choices: Sequence[int], metric: str = "L2"
                                  ) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy of k-NN on its own training data and on the validation data, for each k.

    Inputs:
    - split: a ``utils.data.Split`` (only the train and validation parts are used).
    Returns (train_accuracies, validation_accuracies), each of shape (len(k_choices),).
    """
    train_acc, val_acc = [], []
    for k in k_choices:
        model = fit_knn(split.X_train, split.y_train, k, metric)
        train_acc.append(accuracy(split.y_train, model.predict(split.X_train)))
        val_acc.append(accuracy(split.y_val, model.predict(split.X_val)))
    return np.array(train_acc), np.array(val_acc)


def shift_digits(X: np.ndarray, dx: int, dy: int, image_shape: tuple[int, int] = DIGIT_IMAGE_SHAPE
                 ) -> np.ndarray:
    """Every image moved ``dx`` pixels to the right and ``dy`` pixels down (negative: left, up).

    Inputs: X (N, H * W) flattened images, image_shape (H, W). Pixels that enter the frame are
    0 (white), pixels pushed out of it are lost. Returns a new (N, H * W) array; X is unchanged.
    This is "generation": given a digit and a shift, drawing the new image is one line.
    """
    height, width = image_shape
    if abs(dx) >= width or abs(dy) >= height:
        raise ValueError(f"A shift of ({dx}, {dy}) pixels moves the whole {height}x{width} "
                         "image out of the frame; use smaller shifts.")
    images = np.asarray(X, dtype=np.float64).reshape(-1, height, width)
    moved = np.zeros_like(images)
    moved[:, max(dy, 0):height + min(dy, 0), max(dx, 0):width + min(dx, 0)] = \
        images[:, max(-dy, 0):height + min(-dy, 0), max(-dx, 0):width + min(-dx, 0)]
    return moved.reshape(len(images), height * width)


def shifted_accuracy(split: Split, shifts: Sequence[tuple[int, int]], k: int = 1,
                     metric: str = "L2") -> dict[tuple[int, int], float]:
    """Validation accuracy of k-NN (trained on the unshifted training digits) when every
    validation digit is shifted by (dx, dy) pixels; returns shift -> accuracy (0..1).

    "Recognition": the classifier must undo a change that a generator makes in one line.
    """
    model = fit_knn(split.X_train, split.y_train, k, metric)
    return {(int(dx), int(dy)): accuracy(split.y_val, model.predict(shift_digits(split.X_val,
                                                                                 dx, dy)))
            for dx, dy in shifts}


# --------------------------------------------------------------------------------------------
# Views: build once, update artists in place
# --------------------------------------------------------------------------------------------

def _percent(fraction: float) -> str:
    return f"{100 * fraction:.0f}%"


def boundary_view(num_train: int = 150, num_test: int = 150, resolution: int = 80,
                  seed: int = 0) -> View:
    """1-NN next to k-NN on 2-D toy data: decision regions, points and accuracies.

    Controls: k (neighbours of the right panel), metric (L1/L2), noise (of the data),
    dataset (blobs, moons, circles), points (show the training or the test points).
    The panel titles give the training and test accuracy of each classifier.
    """
    live = LiveFigure(1, 2, figsize=(8.8, 3.8), sharex=True, sharey=True)
    num_classes = 3
    panels = []
    empty = np.zeros((resolution, resolution))
    dummy_xy = np.zeros((num_train, 2))
    for ax in live.axes:
        xx, yy = np.meshgrid(np.linspace(0, 1, resolution), np.linspace(0, 1, resolution))
        image, scatter = plot_decision_boundary(ax, xx, yy, empty.ravel(), dummy_xy,
                                                np.zeros(num_train, dtype=np.int64),
                                                num_classes=num_classes)
        panels.append((ax, image, scatter))
        ax.xaxis.set_major_locator(MaxNLocator(4))  # fewer tick labels: text is costly to draw
        ax.yaxis.set_major_locator(MaxNLocator(4))
    live.fig.suptitle("k-nearest-neighbour decision regions")

    controls = {
        "k": widgets.IntSlider(value=5, min=1, max=35, step=1, description="k"),
        "metric": widgets.ToggleButtons(options=list(METRICS), value="L2", description="distance"),
        "noise": widgets.FloatSlider(value=0.3, min=0.0, max=0.8, step=0.05, description="noise"),
        "dataset": widgets.Dropdown(options=["blobs", "moons", "circles"], value="blobs",
                                    description="data"),
        "points": widgets.ToggleButtons(options=["train", "test"], value="train",
                                        description="show"),
    }

    def update(k: int, metric: str, noise: float, dataset: str = "blobs",
               points: str = "train") -> None:
        data = toy_split(dataset, noise, num_train, num_test, seed)
        shown_X, shown_y = ((data.X_train, data.y_train) if points == "train"
                            else (data.X_test, data.y_test))
        for (ax, image, scatter), k_panel in zip(panels, (1, k), strict=True):
            regions = knn_regions(data.X_train, data.y_train, data.X_test, data.y_test,
                                  k_panel, metric, resolution)
            image.set_data(regions.grid_labels)
            image.set_extent(regions.extent)
            scatter.set_offsets(shown_X)
            scatter.set_array(shown_y)
            ax.set_xlim(regions.extent[:2])
            ax.set_ylim(regions.extent[2:])
            ax.set_title(f"{k_panel}-NN, {metric}: train {_percent(regions.train_accuracy)}, "
                         f"test {_percent(regions.test_accuracy)}")
        live.fig.suptitle(f"k-NN decision regions on '{dataset}' (noise {noise:.2f}); "
                          f"dots: {points} points")

    return View(live, controls, update)


def digit_neighbours_view(split: Split, num_neighbours: int = 7) -> View:
    """A validation digit and its nearest training digits under L1 or L2.

    Controls: index (which validation digit), metric. Each neighbour's label and distance is
    written under it; the title counts how many neighbours carry the right label.
    """
    live = LiveFigure(1, num_neighbours + 1, figsize=(1.3 * (num_neighbours + 1), 2.3))
    blank = np.zeros(DIGIT_IMAGE_SHAPE)
    images = []
    for i, ax in enumerate(live.axes):
        images.append(ax.imshow(blank, cmap="gray_r", vmin=0, vmax=16))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("query" if i == 0 else f"#{i}", fontsize=9)
    controls = {
        "index": widgets.IntSlider(value=0, min=0, max=len(split.y_val) - 1,
                                   description="digit"),
        "metric": widgets.ToggleButtons(options=list(METRICS), value="L2", description="distance"),
    }

    def update(index: int, metric: str) -> None:
        query, label = split.X_val[index], split.y_val[index]
        indices, distances = nearest_training_points(split.X_train, query, num_neighbours, metric)
        images[0].set_data(query.reshape(DIGIT_IMAGE_SHAPE))
        live.axes[0].set_xlabel(f"label {label}")
        for ax, image, i, d in zip(live.axes[1:], images[1:], indices, distances, strict=True):
            image.set_data(split.X_train[i].reshape(DIGIT_IMAGE_SHAPE))
            ax.set_xlabel(f"label {split.y_train[i]}\n{metric} = {d:.0f}")
        agree = int(np.sum(split.y_train[indices] == label))
        live.fig.suptitle(f"Validation digit {index} (a {label}) and its {num_neighbours} nearest "
                          f"training digits ({metric}): {agree}/{num_neighbours} share its label")

    return View(live, controls, update)


def _fold_rectangle(members: np.ndarray, round_number: int) -> np.ndarray:
    """Corners (4, 2) of the block covering samples ``members`` (contiguous) in row
    ``round_number`` of the folds diagram."""
    left, right = members[0] - 0.5, members[-1] + 0.5
    top, bottom = round_number - 0.5, round_number + 0.5
    return np.array([[left, top], [right, top], [right, bottom], [left, bottom]])


#: k values of the cross-validation demo.
DEMO_K_CHOICES = (1, 3, 5, 7, 9, 13, 17, 21, 27, 35)


def cross_validation_view(num_samples: int = 120, dataset: str = "blobs", seed: int = 0,
                          k_choices: Sequence[int] = DEMO_K_CHOICES) -> View:
    """k-fold cross-validation on 2-D toy data: the folds (left) and accuracy versus k (right).

    Controls: folds (2..10), noise, metric. Left: one row per round, one column per training
    sample, the validation fold highlighted. Right: every fold's accuracy (grey dots), the mean
    (line) with a band of one standard deviation, and the chosen k (dashed line).
    """
    if max(k_choices) > num_samples // 2:
        raise ValueError(f"With {num_samples} samples and 2 folds only {num_samples // 2} points "
                         f"train each round, fewer than k={max(k_choices)}: use more samples or "
                         "smaller k_choices.")
    live = LiveFigure(1, 2, figsize=(9.5, 3.8), width_ratios=(1, 1.3))
    ax_folds, ax_curve = live.axes
    # Training samples are the grey background; each round's validation fold is one orange
    # rectangle (a PolyCollection updated with set_verts: cheaper to draw than an image).
    ax_folds.set_facecolor("#d9d9d9")
    fold_blocks = PolyCollection([], facecolors=CLASS_COLOURS[1], edgecolors="white")
    ax_folds.add_collection(fold_blocks)
    ax_folds.set_xlim(-0.5, num_samples - 0.5)
    ax_folds.xaxis.set_major_locator(MaxNLocator(4, integer=True))
    ax_folds.yaxis.set_major_locator(MaxNLocator(5, integer=True))
    ax_folds.set_xlabel(f"training sample (in data order, {num_samples} in all)")
    ax_folds.set_ylabel("round")
    ax_folds.set_title("Folds: orange = validation, grey = training")

    ks = np.array(list(k_choices), dtype=float)
    fold_dots = ax_curve.scatter([], [], color="0.55", s=12, label="one fold")
    band = ax_curve.fill_between(ks, ks * 0, ks * 0, color="C0", alpha=0.2, label="mean ± std")
    (mean_line,) = ax_curve.plot(ks, ks * 0, color="C0", marker="o", label="mean")
    chosen = ax_curve.axvline(ks[0], color="C3", linestyle="--", label="chosen k")
    ax_curve.set_xlabel("k (number of neighbours)")
    ax_curve.set_ylabel("validation accuracy")
    # Percent labels, at most "100%" wide: the frozen layout keeps room for them.
    ax_curve.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
    ax_curve.yaxis.set_major_locator(MaxNLocator(nbins=4, steps=[1, 2, 5, 10]))
    ax_curve.set_xlim(0, ks.max() + 1)
    ax_curve.xaxis.set_major_locator(MaxNLocator(5, steps=[1, 2, 5, 10], integer=True))
    ax_curve.set_ylim(0, 1.02)
    ax_curve.legend(loc="lower center", ncols=4, fontsize=8)

    controls = {
        "num_folds": widgets.IntSlider(value=5, min=2, max=10, description="folds"),
        "noise": widgets.FloatSlider(value=0.4, min=0.0, max=0.8, step=0.05, description="noise"),
        "metric": widgets.ToggleButtons(options=list(METRICS), value="L2", description="distance"),
    }

    def update(num_folds: int, noise: float, metric: str) -> None:
        X, y = make_toy_2d(dataset, num_samples, noise, seed=seed)
        roles = fold_roles(num_samples, num_folds)
        fold_blocks.set_verts([_fold_rectangle(np.flatnonzero(held_out), r)
                               for r, held_out in enumerate(roles, start=1)])
        ax_folds.set_ylim(num_folds + 0.5, 0.5)

        curve = cross_validation_curve(X, y, k_choices, num_folds, metric)
        fold_dots.set_offsets(np.array([(k, a) for k in k_choices for a in curve[k]]))
        means = np.array([np.mean(curve[k]) for k in k_choices])
        stds = np.array([np.std(curve[k]) for k in k_choices])
        mean_line.set_ydata(means)
        lowest = min(min(accs) for accs in curve.values())
        ax_curve.set_ylim(max(0.0, lowest - 0.15), 1.02)  # room for the legend below the dots
        upper, lower = np.minimum(means + stds, 1.0), means - stds
        band.set_verts([np.vstack([np.column_stack([ks, upper]),
                                   np.column_stack([ks[::-1], lower[::-1]])])])
        k_best = best_k(curve)
        chosen.set_xdata([k_best, k_best])
        best_mean = means[list(k_choices).index(k_best)]
        ax_curve.set_title(f"{num_folds}-fold cross-validation ({metric}, noise {noise:.2f})\n"
                           f"best k = {k_best}: mean accuracy {_percent(best_mean)}")

    # Lay out for the widest labels (two-digit fold numbers), then keep that layout.
    update(num_folds=controls["num_folds"].max, noise=0.8, metric="L2")
    live.freeze_layout()
    return View(live, controls, update)
