"""utils.lecture_knn: the pure functions of lectures 01/02 and their widgets' update functions.

Expected values are worked by hand or computed independently with scikit-learn
(``cross_val_score``, ``KFold``, ``NearestNeighbors``). Widgets are tested without a browser:
``update(**values)`` is called and the artists are inspected.
"""

from __future__ import annotations

import re

import ipywidgets as widgets
import numpy as np
import pytest
from sklearn.model_selection import KFold, cross_val_score
from sklearn.neighbors import KNeighborsClassifier, NearestNeighbors

from utils import lecture_knn as lk
from utils.data import load_digits, make_toy_2d
from utils.widgets import LiveFigure


@pytest.fixture(scope="module")
def digits():
    return load_digits(num_val=60, num_test=60, seed=1)


# ---- pure functions -------------------------------------------------------------------------

def test_metric_names_map_to_scikit_learn_and_bad_names_are_explained():
    assert lk.sklearn_metric("L1") == "manhattan"
    assert lk.sklearn_metric("L2") == "euclidean"
    with pytest.raises(ValueError, match="choose 'L1'"):
        lk.sklearn_metric("cosine")


@pytest.mark.parametrize("k, message", [(0, "positive integer"), (2.5, "positive integer"),
                                        (True, "positive integer"), (4, "only 3 training")])
def test_fit_knn_rejects_impossible_k_in_words(k, message):
    X, y = np.zeros((3, 2)), np.array([0, 1, 0])
    with pytest.raises(ValueError, match=message):
        lk.fit_knn(X, y, k)


def test_fit_knn_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"X_train must be \(N, D\)"):
        lk.fit_knn(np.zeros((3, 2)), np.zeros(4, dtype=int), 1)


def test_accuracy_of_a_hand_worked_example():
    assert lk.accuracy(np.array([0, 1, 2, 2]), np.array([0, 1, 1, 2])) == 0.75
    with pytest.raises(ValueError, match="same shape"):
        lk.accuracy(np.array([0, 1]), np.array([0]))


def test_regions_of_two_points_split_the_plane_at_the_midpoint():
    # Two training points, (0, 0) of class 0 and (2, 0) of class 1: 1-NN labels every grid
    # point by the side of the line x = 1 it lies on, under L1 and L2 alike.
    X = np.array([[0.0, 0.0], [2.0, 0.0]])
    y = np.array([0, 1])
    for metric in ("L1", "L2"):
        regions = lk.knn_regions(X, y, X, y, k=1, metric=metric, resolution=41)
        assert regions.grid_labels.shape == (41, 41)
        left, right = regions.xx < 0.99, regions.xx > 1.01
        assert (regions.grid_labels[left] == 0).all() and (regions.grid_labels[right] == 1).all()
        assert regions.train_accuracy == 1.0 and regions.test_accuracy == 1.0
        # grid points from -0.5 to 2.5 (x) and -0.5 to 0.5 (y) are pixel centres, 41 per axis
        assert np.allclose(regions.extent, (-0.5375, 2.5375, -0.5125, 0.5125))


def test_regions_accuracies_match_scikit_learn_scores():
    data = lk.toy_split("moons", noise=0.4, num_train=80, num_test=70, seed=4)
    regions = lk.knn_regions(data.X_train, data.y_train, data.X_test, data.y_test, k=7,
                             metric="L1", resolution=20)
    model = KNeighborsClassifier(7, metric="manhattan").fit(data.X_train, data.y_train)
    assert regions.train_accuracy == pytest.approx(model.score(data.X_train, data.y_train))
    assert regions.test_accuracy == pytest.approx(model.score(data.X_test, data.y_test))
    assert regions.train_accuracy < 1.0  # noisy moons: 7-NN does not memorise its data


def test_one_nn_is_perfect_on_its_own_distinct_training_points():
    data = lk.toy_split("blobs", noise=0.8, num_train=100, num_test=100, seed=2)
    regions = lk.knn_regions(data.X_train, data.y_train, data.X_test, data.y_test, k=1)
    assert regions.train_accuracy == 1.0
    assert regions.test_accuracy < 1.0


def test_knn_regions_refuses_points_that_are_not_2d():
    with pytest.raises(ValueError, match="2-D points"):
        lk.knn_regions(np.zeros((4, 3)), np.zeros(4, dtype=int), np.zeros((2, 3)),
                       np.zeros(2, dtype=int), k=1)


def test_l1_and_l2_can_disagree_on_the_nearest_neighbour():
    # From the origin: A = (3, 0) is at L1 3 and L2 3; B = (2, 2) at L1 4 and L2 2.83.
    X_train = np.array([[3.0, 0.0], [2.0, 2.0]])
    query = np.zeros(2)
    idx_l1, d_l1 = lk.nearest_training_points(X_train, query, 2, "L1")
    idx_l2, d_l2 = lk.nearest_training_points(X_train, query, 2, "L2")
    assert idx_l1.tolist() == [0, 1] and np.allclose(d_l1, [3.0, 4.0])
    assert idx_l2.tolist() == [1, 0] and np.allclose(d_l2, [np.sqrt(8.0), 3.0])


def test_nearest_training_points_explains_a_wrong_query_shape():
    with pytest.raises(ValueError, match="one row of shape"):
        lk.nearest_training_points(np.zeros((5, 4)), np.zeros((1, 4)), 2)


@pytest.mark.parametrize("metric", ["L1", "L2"])
def test_unit_circle_lies_at_distance_one(metric):
    points = lk.unit_circle(metric, 64)
    norms = np.abs(points).sum(1) if metric == "L1" else np.hypot(*points.T)
    assert points.shape == (64, 2) and np.allclose(norms, 1.0)
    assert np.allclose(points[0], points[-1])  # a closed curve


def test_fold_roles_match_kfold_and_hold_every_sample_out_once():
    for n, folds in [(10, 3), (12, 4), (7, 7), (101, 10)]:
        roles = lk.fold_roles(n, folds)
        assert roles.shape == (folds, n)
        assert (roles.sum(axis=0) == 1).all()
        sizes = roles.sum(axis=1)
        assert sizes.max() - sizes.min() <= 1
        for r, (_, validation) in enumerate(KFold(folds).split(np.zeros(n))):
            assert np.flatnonzero(roles[r]).tolist() == validation.tolist()
    assert lk.fold_roles(5, 2).tolist() == [[1, 1, 1, 0, 0], [0, 0, 0, 1, 1]]  # by hand


@pytest.mark.parametrize("n, folds, message", [(10, 1, "at least 2 folds"),
                                               (3, 4, "cannot be cut")])
def test_fold_roles_rejects_impossible_folds(n, folds, message):
    with pytest.raises(ValueError, match=message):
        lk.fold_roles(n, folds)


@pytest.mark.parametrize("metric, sk_metric", [("L1", "manhattan"), ("L2", "euclidean")])
def test_cross_validation_curve_equals_scikit_learn_cross_val_score(metric, sk_metric):
    X, y = make_toy_2d("blobs", 97, 0.5, seed=3)
    ks = [1, 2, 4, 7, 30]  # k=2 and k=4 can tie: both sides give ties to the smallest label
    curve = lk.cross_validation_curve(X, y, ks, num_folds=6, metric=metric)
    assert sorted(curve) == ks
    for k in ks:
        expected = cross_val_score(KNeighborsClassifier(k, metric=sk_metric), X, y, cv=KFold(6))
        assert curve[k] == pytest.approx(expected.tolist())


def test_cross_validation_curve_refuses_k_larger_than_a_training_part():
    X, y = make_toy_2d("blobs", 20, 0.2)
    with pytest.raises(ValueError, match="only 15 training points"):
        lk.cross_validation_curve(X, y, [1, 16], num_folds=4)
    with pytest.raises(ValueError, match="k_choices is empty"):
        lk.cross_validation_curve(X, y, [], num_folds=4)


def test_best_k_prefers_the_highest_mean_then_the_smallest_k():
    assert lk.best_k({1: [0.5, 0.7], 3: [0.8, 0.8], 5: [0.9, 0.7], 7: [0.1, 0.2]}) == 3
    assert lk.best_k({9: [0.9], 2: [0.6]}) == 9
    with pytest.raises(ValueError):
        lk.best_k({})


def test_train_and_validation_accuracy_on_digits(digits):
    train_acc, val_acc = lk.train_and_validation_accuracy(digits, [1, 5], metric="L2")
    assert train_acc[0] == 1.0  # 1-NN finds each training digit itself
    assert train_acc[1] < 1.0
    for i, k in enumerate([1, 5]):
        model = KNeighborsClassifier(k).fit(digits.X_train, digits.y_train)
        assert val_acc[i] == pytest.approx(model.score(digits.X_val, digits.y_val))


# ---- widget update functions ----------------------------------------------------------------

def _title_percentages(text: str) -> list[int]:
    return [int(p) for p in re.findall(r"(\d+)%", text)]


def test_boundary_view_update_redraws_regions_points_and_accuracies():
    view = lk.boundary_view(num_train=60, num_test=50, resolution=30, seed=5)
    ax1, axk = view.live.axes
    image = axk.images[0]
    view.update(k=9, metric="L2", noise=0.5, dataset="blobs", points="train")
    first = np.array(image.get_array()).copy()
    data = lk.toy_split("blobs", 0.5, 60, 50, seed=5)
    model = KNeighborsClassifier(9).fit(data.X_train, data.y_train)
    train_pct = round(100 * model.score(data.X_train, data.y_train))
    test_pct = round(100 * model.score(data.X_test, data.y_test))
    assert axk.get_title().startswith("9-NN, L2")
    assert _title_percentages(axk.get_title()) == [train_pct, test_pct]
    assert ax1.get_title().startswith("1-NN, L2: train 100%")
    assert first.shape == (30, 30)
    assert np.allclose(axk.collections[0].get_offsets(), data.X_train)

    view.update(k=1, metric="L2", noise=0.5, dataset="blobs", points="test")
    assert np.allclose(axk.collections[0].get_offsets(), data.X_test)
    assert not np.array_equal(np.array(image.get_array()), first)  # k changed the regions
    assert np.array_equal(np.array(image.get_array()), np.array(ax1.images[0].get_array()))

    view.update(k=1, metric="L2", noise=0.0, dataset="moons", points="train")
    assert "moons" in view.live.fig.get_suptitle()
    assert len(axk.images) == 1 and len(axk.collections) == 1  # updated, never added


def test_boundary_view_metric_changes_the_regions():
    view = lk.boundary_view(num_train=60, num_test=20, resolution=40, seed=0)
    image = view.live.axes[1].images[0]
    view.update(k=1, metric="L1", noise=0.6)
    l1 = np.array(image.get_array()).copy()
    view.update(k=1, metric="L2", noise=0.6)
    assert not np.array_equal(l1, np.array(image.get_array()))
    assert "L2" in view.live.axes[1].get_title()


def test_digit_neighbours_view_shows_scikit_learn_nearest_images(digits):
    view = lk.digit_neighbours_view(digits, num_neighbours=4)
    view.update(index=7, metric="L1")
    finder = NearestNeighbors(n_neighbors=4, metric="manhattan").fit(digits.X_train)
    _, idx = finder.kneighbors(digits.X_val[7:8])
    images = [ax.images[0] for ax in view.live.axes]
    assert np.array_equal(images[0].get_array(), digits.X_val[7].reshape(8, 8))
    for image, i in zip(images[1:], idx[0], strict=True):
        assert np.array_equal(image.get_array(), digits.X_train[i].reshape(8, 8))
    assert view.live.axes[1].get_xlabel().startswith(f"label {digits.y_train[idx[0][0]]}")
    agree = int(np.sum(digits.y_train[idx[0]] == digits.y_val[7]))
    assert f"{agree}/4 share its label" in view.live.fig.get_suptitle()


def test_cross_validation_view_draws_folds_and_the_scikit_learn_curve():
    ks = (1, 3, 5, 9)
    view = lk.cross_validation_view(num_samples=60, k_choices=ks, seed=2)
    ax_folds, ax_curve = view.live.axes
    for folds in (3, 7):
        view.update(num_folds=folds, noise=0.5, metric="L1")
        blocks = [path.vertices for path in ax_folds.collections[0].get_paths()]
        assert len(blocks) == folds
        for r, (_, validation) in enumerate(KFold(folds).split(np.zeros(60)), start=1):
            xs, ys = blocks[r - 1][:, 0], blocks[r - 1][:, 1]
            assert xs.min() == validation[0] - 0.5 and xs.max() == validation[-1] + 0.5
            assert ys.min() == r - 0.5 and ys.max() == r + 0.5
        assert ax_folds.get_ylim() == (folds + 0.5, 0.5)
        X, y = make_toy_2d("blobs", 60, 0.5, seed=2)
        means = [cross_val_score(KNeighborsClassifier(k, metric="manhattan"), X, y,
                                 cv=KFold(folds)).mean() for k in ks]
        assert np.allclose(ax_curve.lines[0].get_ydata(), means)
        assert len(ax_curve.collections[0].get_offsets()) == folds * len(ks)
        chosen_k = ks[int(np.argmax(means))]
        assert ax_curve.lines[1].get_xdata()[0] == chosen_k
        assert f"best k = {chosen_k}" in ax_curve.get_title()
        assert ax_curve.get_title().startswith(f"{folds}-fold")


def test_cross_validation_view_refuses_k_larger_than_two_folds_allow():
    with pytest.raises(ValueError, match="fewer than k=35"):
        lk.cross_validation_view(num_samples=30)


def test_views_wire_their_controls_without_a_browser():
    view = lk.cross_validation_view(num_samples=40, k_choices=(1, 3))
    box = view.widget()
    assert isinstance(box, widgets.VBox)
    assert view.live.axes[1].get_title().startswith("5-fold")
    view.controls["num_folds"].value = 4  # as if the student moved the slider
    assert view.live.axes[1].get_title().startswith("4-fold")
    assert view.values()["num_folds"] == 4


def test_every_view_labels_its_axes_and_has_a_title(digits):
    views = [lk.boundary_view(num_train=30, num_test=30, resolution=10),
             lk.digit_neighbours_view(digits, 3),
             lk.cross_validation_view(num_samples=30, k_choices=(1, 3, 5))]
    for view in views:
        view.update(**view.values())
        assert view.live.fig.get_suptitle() or all(ax.get_title() for ax in view.live.axes)
        for ax in np.ravel(view.live.axes):
            assert ax.get_xlabel(), f"an axis of {view.update.__qualname__} has no x label"


def test_the_digits_named_in_lecture_01_show_what_the_text_says():
    """Lecture 01 sends students to validation digits 163, 15 and 48 (digits split, seed 0)."""
    split = load_digits(num_val=200, num_test=300, seed=0)

    def neighbour_labels(index, metric):
        indices, _ = lk.nearest_training_points(split.X_train, split.X_val[index], 7, metric)
        return split.y_train[indices]

    assert split.y_val[163] == 9 and (neighbour_labels(163, "L2") == 9).sum() == 2
    for index in (15, 48):
        assert neighbour_labels(index, "L1")[0] != split.y_val[index]
        assert neighbour_labels(index, "L2")[0] == split.y_val[index]


def test_live_figure_freezes_its_layout_once_and_sends_png_bytes():
    live = LiveFigure(1, 2, figsize=(4, 2))
    for ax in live.axes:
        ax.plot([0, 1], [0, 1])
        ax.set_xlabel("x")
    assert not live.layout_frozen
    first = live.render_png()
    assert first.startswith(b"\x89PNG") and live.layout_frozen
    positions = [ax.get_position().bounds for ax in live.axes]
    live.axes[0].set_xlabel("a longer label than before")
    assert live.render_png() != first
    assert [ax.get_position().bounds for ax in live.axes] == positions  # layout kept
    live.redraw()
    assert live.last_redraw_ms > 0


# ---- recognition hard, generation easy (lecture 01, section 4) ------------------------------

def test_shift_digits_moves_pixels_and_fills_with_white():
    image = np.arange(1, 65, dtype=float).reshape(1, 64)
    grid = image.reshape(8, 8)
    right = lk.shift_digits(image, 1, 0).reshape(8, 8)
    np.testing.assert_array_equal(right[:, 1:], grid[:, :-1])
    np.testing.assert_array_equal(right[:, 0], 0)
    up_left = lk.shift_digits(image, -2, -1).reshape(8, 8)
    np.testing.assert_array_equal(up_left[:-1, :-2], grid[1:, 2:])
    assert np.all(up_left[-1] == 0) and np.all(up_left[:, -2:] == 0)
    np.testing.assert_array_equal(lk.shift_digits(image, 0, 0), image)
    assert image[0, 0] == 1  # the input is not changed
    with pytest.raises(ValueError, match="out of the frame"):
        lk.shift_digits(image, 8, 0)


def test_what_lecture_01_says_about_recognising_shifted_digits():
    """Lecture 01 prints 1-NN's validation accuracy on digits moved by 0, 1 and 2 pixels and
    says: one pixel costs about a third of the accuracy, two pixels leave it barely better
    than guessing (10 %); its figure shows validation digit 10 (a 5), recognised only unmoved."""
    split = load_digits(num_val=200, num_test=300, seed=0)
    shifts = [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2)]
    acc = lk.shifted_accuracy(split, shifts, k=1, metric="L2")
    expected = {}
    model = KNeighborsClassifier(n_neighbors=1).fit(split.X_train, split.y_train)
    for dx, dy in shifts:  # the same measurement with numpy's roll and an explicit blank edge
        images = np.roll(split.X_val.reshape(-1, 8, 8), (dy, dx), axis=(1, 2))
        if dx:
            images[:, :, :dx] = 0
        if dy:
            images[:, :dy, :] = 0
        expected[dx, dy] = np.mean(model.predict(images.reshape(-1, 64)) == split.y_val)
    assert acc == pytest.approx(expected)
    assert acc[0, 0] >= 0.95
    for one_pixel in ((1, 0), (0, 1)):
        assert 0.55 <= acc[one_pixel] <= 0.8
    for two_pixels in ((2, 0), (0, 2)):
        assert 0.1 < acc[two_pixels] < 0.25
    assert split.y_val[10] == 5
    answers = [model.predict(lk.shift_digits(split.X_val[[10]], dx, dy))[0] for dx, dy in shifts]
    assert answers[0] == 5 and 5 not in answers[1:]
