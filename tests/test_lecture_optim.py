"""The lecture 04_optimization support code: surfaces, optimizer generators, the race view.

No browser: the race's ``update`` is called directly and its artists inspected; its
``redraw`` renders PNG bytes headless.
"""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest

matplotlib.use("agg")

from helpers.torch_schedules import torch_rates  # noqa: E402

from utils import lecture_optim as lo  # noqa: E402
from utils.gradcheck import eval_numerical_gradient, rel_error  # noqa: E402
from utils.surfaces import SURFACES, get_surface  # noqa: E402

SURFACE_NAMES = list(SURFACES)


# ---- surfaces ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_surface_gradient_and_hessian_match_finite_differences(name):
    surface = get_surface(name)
    rng = np.random.default_rng(0)
    for _ in range(5):
        p = np.array([rng.uniform(*surface.xlim), rng.uniform(*surface.ylim)]) * 0.8
        numeric = eval_numerical_gradient(lambda q: float(surface.value(q)), p.copy(), h=1e-6)
        assert rel_error(surface.gradient(p), numeric) < 1e-6
        hessian = np.stack([eval_numerical_gradient(lambda q, i=i: float(surface.gradient(q)[i]),
                                                    p.copy(), h=1e-6) for i in range(2)])
        assert rel_error(surface.hessian(p), hessian) < 1e-5
        assert np.allclose(surface.hessian(p), surface.hessian(p).T)


@pytest.mark.parametrize("name", SURFACE_NAMES)
def test_surface_minima_have_zero_gradient_and_the_stated_value(name):
    surface = get_surface(name)
    minima = np.array(surface.minima)
    assert np.allclose(surface.gradient(minima), 0.0, atol=1e-12)
    assert np.allclose(surface.value(minima), surface.min_value, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(surface.hessian(minima)) > 0)
    grid = np.stack(np.meshgrid(np.linspace(*surface.xlim, 41), np.linspace(*surface.ylim, 41)),
                    -1)
    assert surface.gap(grid).min() >= -1e-12  # no point of the window lies below the minimum


def test_surfaces_are_vectorised_over_leading_axes():
    surface = get_surface("beale")
    points = np.random.default_rng(1).normal(size=(3, 4, 2))
    assert surface.value(points).shape == (3, 4)
    assert surface.gradient(points).shape == (3, 4, 2)
    assert surface.hessian(points).shape == (3, 4, 2, 2)
    assert np.allclose(surface.gradient(points)[1, 2], surface.gradient(points[1, 2]))


def test_saddle_is_indefinite_at_the_origin():
    assert sorted(np.linalg.eigvalsh(get_surface("saddle").hessian(np.zeros(2)))) == [-1.0, 1.0]


def test_bad_points_and_names_get_clear_errors():
    with pytest.raises(ValueError, match="last axis has length 2"):
        get_surface("rosenbrock").value(np.zeros(3))
    with pytest.raises(ValueError, match="choose one of"):
        get_surface("himmelblau")
    with pytest.raises(ValueError, match="Unknown optimizer"):
        lo.trajectory(lambda p: p, [0.0], "LBFGS", 3)
    with pytest.raises(ValueError, match="Unknown optimizer"):
        lo.race("saddle", (0, 0), ["Adamax"], 3)


# ---- the lecture's step generators -------------------------------------------------------
TORCH_EQUIVALENTS = [
    ("SGD", {"lr": 1e-3}, "SGD", {"lr": 1e-3}),
    ("momentum", {"lr": 1e-3, "momentum": 0.9}, "SGD", {"lr": 1e-3, "momentum": 0.9}),
    ("Nesterov", {"lr": 1e-3, "momentum": 0.9}, "SGD",
     {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
    ("AdaGrad", {"lr": 0.1}, "Adagrad", {"lr": 0.1, "eps": 1e-10}),
    ("RMSProp", {"lr": 0.01}, "RMSprop", {"lr": 0.01, "alpha": 0.99, "eps": 1e-8}),
    ("Adadelta", {}, "Adadelta", {"lr": 1.0, "rho": 0.9, "eps": 1e-6}),
    ("Adam", {"lr": 0.02, "beta1": 0.8}, "Adam", {"lr": 0.02, "betas": (0.8, 0.999)}),
]


@pytest.mark.parametrize("name, hyper, torch_name, torch_kwargs", TORCH_EQUIVALENTS,
                         ids=[c[0] for c in TORCH_EQUIVALENTS])
def test_race_trajectories_match_torch_optim_on_rosenbrock(name, hyper, torch_name,
                                                           torch_kwargs):
    torch = pytest.importorskip("torch")
    surface = get_surface("rosenbrock")
    ours = lo.trajectory(surface.gradient, surface.start, name, 200, **hyper)
    param = torch.tensor(surface.start, dtype=torch.float64, requires_grad=True)
    optimizer = getattr(torch.optim, torch_name)([param], **torch_kwargs)
    theirs = [param.detach().numpy().copy()]
    for _ in range(200):
        param.grad = torch.from_numpy(surface.gradient(param.detach().numpy()))
        optimizer.step()
        theirs.append(param.detach().numpy().copy())
    assert np.allclose(ours, np.array(theirs), rtol=1e-7, atol=1e-12)


def test_adam_without_bias_correction_takes_a_3_16_times_larger_first_step():
    g = np.array([1.0, -4.0])
    with_correction = lo.trajectory(lambda p: g, [0.0, 0.0], "Adam", 1, lr=0.1)
    without = lo.trajectory(lambda p: g, [0.0, 0.0], "Adam without bias correction", 1, lr=0.1)
    assert np.allclose(with_correction[1], -0.1 * np.sign(g), rtol=1e-7)
    assert np.allclose(without[1], -0.1 * 0.1 / np.sqrt(0.001) * np.sign(g), rtol=1e-6)


def test_divergence_leaves_nan_rows_and_a_good_rate_converges():
    bowl = get_surface("ill-conditioned bowl")
    diverged = lo.trajectory(bowl.gradient, bowl.start, "SGD", 400, lr=0.11)
    assert np.isnan(diverged[-1]).all() and np.isfinite(diverged[0]).all()
    first_nan = np.flatnonzero(np.isnan(diverged[:, 0]))[0]
    assert np.abs(diverged[first_nan - 1]).max() <= lo.DIVERGED
    converged = lo.trajectory(bowl.gradient, bowl.start, "SGD", 400, lr=0.05)
    assert bowl.gap(converged[-1]) < 1e-12
    assert lo.steps_to_reach(bowl.gap(converged), 1e-6) is not None
    assert lo.steps_to_reach(bowl.gap(diverged), 1e-6) is None


def test_newton_points_one_step_on_the_bowl_and_to_the_saddle_point():
    bowl, saddle = get_surface("ill-conditioned bowl"), get_surface("saddle")
    path = lo.newton_points(bowl.gradient, bowl.hessian, bowl.start, 3)
    assert np.allclose(path[1:], 0.0, atol=1e-14)
    path = lo.newton_points(saddle.gradient, saddle.hessian, (0.5, 0.3), 10)
    assert np.allclose(path[-1], 0.0, atol=1e-10)  # the saddle, not a minimum


def test_scipy_points_are_padded_to_the_step_count():
    surface = get_surface("ill-conditioned bowl")
    points = lo.scipy_points(surface, surface.start, 50)
    assert points.shape == (51, 2)
    assert np.allclose(points[0], surface.start)
    assert surface.gap(points[-1]) < 1e-10


def test_race_caches_and_returns_every_chosen_optimizer():
    out = lo.race("saddle", (-1.8, 1e-3), ["Adam", "momentum"], 30, adaptive_lr=0.1)
    again = lo.race("saddle", (-1.8, 1e-3), ["Adam", "momentum"], 30, adaptive_lr=0.1)
    assert set(out) == {"Adam", "momentum"} and out["Adam"].shape == (31, 2)
    assert out["Adam"] is again["Adam"]  # served from the cache


# ---- other lecture maths ----------------------------------------------------------------
def test_least_squares_gradient_has_the_one_over_n_factor():
    X, y, _ = lo.make_regression(n=50, d=4, seed=0)
    theta = np.random.default_rng(0).normal(size=4)
    loss, grad = lo.least_squares(theta, X, y)
    assert loss == pytest.approx(np.sum((X @ theta - y) ** 2) / 50)
    numeric = eval_numerical_gradient(lambda t: lo.least_squares(t, X, y)[0], theta.copy())
    assert rel_error(grad, numeric) < 1e-7
    assert np.allclose(grad, 2 / 50 * (X.T @ X @ theta - X.T @ y))


def test_forward_difference_error_is_first_order_in_h():
    f = lambda x: float(np.sum(np.exp(x)))  # noqa: E731
    x = np.array([0.3, -0.2])
    errors = [np.abs(lo.forward_difference_gradient(f, x, h) - np.exp(x)).max()
              for h in (1e-2, 1e-3)]
    assert errors[0] / errors[1] == pytest.approx(10, rel=0.05)


def test_sine_fit_gradient_and_its_many_minima():
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 6, 60)
    y = np.sin(1.5 * x)
    a = np.array([0.7, 2.2, 3.9])
    numeric = [eval_numerical_gradient(lambda v: float(lo.sine_fit_loss(v, x, y)[0][0]),
                                       np.array([ai])) for ai in a]
    assert np.allclose(lo.sine_fit_loss(a, x, y)[1], np.ravel(numeric), rtol=1e-6)
    grid = np.linspace(0.05, 5, 2000)
    loss = lo.sine_fit_loss(grid, x, y)[0]
    local_minima = np.sum((loss[1:-1] < loss[:-2]) & (loss[1:-1] < loss[2:]))
    assert local_minima >= 3


def test_bumpy_landscape_gradient():
    x = np.linspace(-3, 3, 13)
    assert np.allclose(lo.bumpy_gradient(x), (lo.bumpy(x + 1e-6) - lo.bumpy(x - 1e-6)) / 2e-6,
                       atol=1e-6)


def test_bumpy_minima_and_the_momentum_claim_of_the_lecture():
    """Lecture 04 says: from x = -3.2 (lr 0.05, 150 steps) gradient descent and momentum 0.5
    and 0.8 stop in the first valley; only momentum 0.9 reaches the lowest one."""
    minima = lo.bumpy_minima()
    assert np.allclose(minima, [-0.366, 1.513, 3.363], atol=1e-3)
    assert np.allclose(lo.bumpy_gradient(minima), 0, atol=1e-10)
    assert np.argmin(lo.bumpy(minima)) == 1  # the valley near 1.51 is the lowest

    def end(method, **hyper):
        x = lo.trajectory(lo.bumpy_gradient, [-3.2], method, 150, lr=0.05, **hyper)[-1, 0]
        return minima[np.argmin(np.abs(minima - x))]

    assert end("SGD") == minima[0]
    assert end("momentum", momentum=0.5) == minima[0]
    assert end("momentum", momentum=0.8) == minima[0]
    assert end("momentum", momentum=0.9) == minima[1]


def test_adaptive_step_sizes_per_coordinate_as_lecture_04_states():
    """Constant gradient (1, 0.1): AdaGrad steps 0.1/sqrt(t) along each coordinate; RMSProp's
    first step is 1/sqrt(1 - rho) = 10 learning rates; Adadelta's first step is about
    sqrt(delta / (1 - rho)) = 3.16 sqrt(delta), the same along both coordinates."""
    def slope(p):
        return np.array([1.0, 0.1])

    steps = {name: np.abs(np.diff(lo.trajectory(slope, np.zeros(2), name, 50, **hyper), axis=0))
             for name, hyper in [("AdaGrad", {"lr": 0.1}), ("RMSProp", {"lr": 0.1}),
                                 ("Adadelta", {})]}
    t = np.arange(1, 51)
    assert np.allclose(steps["AdaGrad"], (0.1 / np.sqrt(t))[:, None], rtol=1e-6)
    assert np.allclose(steps["RMSProp"][0], [1.0, 1.0], rtol=1e-6)
    assert np.allclose(steps["RMSProp"][-1], [0.1 / np.sqrt(1 - 0.99 ** 50)] * 2, rtol=1e-6)
    assert np.allclose(steps["Adadelta"][0], np.sqrt(1e-6 / 0.1), rtol=1e-3)


def test_minibatch_sgd_counts_steps_and_learns():
    X, y, theta = lo.make_regression(n=100, d=3, noise=0.1, seed=2)
    batch, full = lo.minibatch_sgd_losses(X, y, batch_size=32, lr=0.05, epochs=20)
    assert batch.shape == full.shape == (20 * 3,)
    assert full[-1] < 0.05 * full[0]
    with pytest.raises(ValueError, match="batch_size"):
        lo.minibatch_sgd_losses(X, y, batch_size=0, lr=0.1, epochs=1)


def test_power_law_exponent_recovers_a_cubic():
    sizes = np.array([100, 200, 400, 800])
    assert lo.power_law_exponent(sizes, 3e-9 * sizes**3.0) == pytest.approx(3.0)
    assert lo.solve_times([20, 40], repeats=1).shape == (2,)


# ---- the race view ----------------------------------------------------------------------
VALUES = dict(surface="rosenbrock", optimizers=("SGD", "Adam", "Newton"), steps=100,
              start_x=0.0, start_y=0.0, suggested_start=True, sgd_lr=1e-3, momentum=0.9,
              adaptive_lr=0.05, beta1=0.9)


@pytest.fixture
def race():
    return lo.OptimizerRace()


def test_update_moves_existing_artists_only(race):
    lines_before = (list(race.ax_map.lines), list(race.ax_loss.lines))
    results = race.update(**VALUES)
    assert (list(race.ax_map.lines), list(race.ax_loss.lines)) == lines_before
    assert set(results) == {"SGD", "Adam", "Newton"}
    for name in lo.RACE_OPTIMIZERS:
        shown = name in results
        assert race.paths[name].get_visible() == shown
        assert race.curves[name].get_visible() == shown
    x, y = race.paths["Adam"].get_data()
    assert np.allclose(x, results["Adam"][:, 0]) and np.allclose(y, results["Adam"][:, 1])
    steps, log_gap = race.curves["Newton"].get_data()
    assert len(steps) == 101 and log_gap[-1] == pytest.approx(-16)  # Newton reaches (1, 1)
    assert race.start_marker.get_data()[0][0] == get_surface("rosenbrock").start[0]
    texts = [t.get_text() for t in race.ax_loss.get_legend().get_texts()]
    assert texts == ["SGD", "Adam", "Newton"]
    assert race.ax_map.get_title().startswith("rosenbrock")
    assert race.final_gaps["Newton"] == 0.0 and race.final_gaps["SGD"] > 1.0


def test_update_follows_the_controls(race):
    race.update(**VALUES)
    slow = race.final_gaps["SGD"]
    race.update(**{**VALUES, "sgd_lr": 1.5e-3})
    assert race.final_gaps["SGD"] != slow
    race.update(**{**VALUES, "surface": "saddle", "suggested_start": False, "start_x": 4.0,
                   "start_y": -3.0, "optimizers": ("momentum",)})
    assert race.ax_map.get_xlim()[1] >= 4.0 and race.ax_map.get_ylim()[0] <= -3.0
    assert race.start_marker.get_data()[0][0] == 4.0
    assert not race.paths["SGD"].get_visible() and race.paths["momentum"].get_visible()
    assert len(race.contours.get_segments()) > 0


def test_redraw_blits_when_only_hyper_parameters_change(race):
    race.update(**VALUES)
    png = race.live.render_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert race.live.full_draws == 1
    race.update(**{**VALUES, "adaptive_lr": 0.02, "momentum": 0.5})
    changed = race.live.render_png()
    assert race.live.full_draws == 1 and changed != png  # blitted, and the paths moved
    race.update(**{**VALUES, "steps": 150})
    race.live.render_png()
    assert race.live.full_draws == 2  # axes changed: full draw


def test_widget_wires_every_control_to_update(race):
    box = race.widget(surface="saddle", optimizers=("Adam",))
    assert race.results and set(race.results) == {"Adam"}
    controls = race.controls()
    assert set(controls) == set(VALUES)
    assert box.children[-1] is race.live.output
    assert race.live.last_redraw_ms == race.live.last_redraw_ms  # a number, not NaN
    slider = next(w for row in box.children[:-1] for w in row.children
                  if getattr(w, "description", "") == "lr (adaptive)")
    before = race.final_gaps["Adam"]
    slider.value = slider.value * 3
    assert race.final_gaps["Adam"] != before


# ---- learning-rate schedules (lecture 04, section 10) -----------------------------------
def test_schedules_by_hand():
    t = np.arange(8)
    np.testing.assert_array_equal(lo.constant_rate(t, 0.3), np.full(8, 0.3))
    np.testing.assert_allclose(lo.step_decay(t, 1.0, every=3, factor=0.5),
                               [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25])
    np.testing.assert_allclose(lo.exponential_decay(t, 2.0, gamma=0.5), 2.0 * 0.5 ** t)
    np.testing.assert_allclose(lo.cosine_decay([0, 50, 100, 150], 0.2, 100), [0.2, 0.1, 0.0, 0.0],
                               atol=1e-15)
    np.testing.assert_allclose(lo.cosine_decay(25, 1.0, 100, final_lr=0.5), 0.5 + 0.25 * (1 + np.sqrt(0.5)))
    warm = lo.warmup_cosine(np.arange(12), 1.0, warmup_steps=4, total_steps=12)
    np.testing.assert_allclose(warm[:4], [0.25, 0.5, 0.75, 1.0])  # step 0 already moves
    np.testing.assert_allclose(warm[4:], lo.cosine_decay(np.arange(8), 1.0, 8))
    assert np.all(np.diff(warm[3:]) <= 0)


@pytest.mark.parametrize("call, message", [
    (lambda: lo.step_decay(1, 0.1, every=0), "every >= 1"),
    (lambda: lo.exponential_decay(1, 0.1, gamma=1.5), "0 < gamma <= 1"),
    (lambda: lo.cosine_decay(1, 0.1, total_steps=0), "total_steps >= 1"),
    (lambda: lo.warmup_cosine(1, 0.1, warmup_steps=10, total_steps=10), "warmup_steps < total"),
    (lambda: lo.schedule_rates("linear", 10, 0.1), "Unknown schedule 'linear'"),
])
def test_bad_schedule_settings_are_explained(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_schedules_match_torch_lr_schedulers():
    t = np.arange(40)
    np.testing.assert_allclose(
        lo.step_decay(t, 0.1, every=10, factor=0.5),
        torch_rates(lambda s, o: s.StepLR(o, 10, gamma=0.5), 40, 0.1), rtol=1e-12)
    np.testing.assert_allclose(
        lo.exponential_decay(t, 0.1, gamma=0.9),
        torch_rates(lambda s, o: s.ExponentialLR(o, gamma=0.9), 40, 0.1),
        rtol=1e-9)
    np.testing.assert_allclose(
        lo.cosine_decay(t, 0.1, total_steps=40),
        torch_rates(lambda s, o: s.CosineAnnealingLR(o, T_max=40), 40, 0.1),
        rtol=1e-9, atol=1e-12)


def test_schedule_rates_has_the_lectures_settings():
    rates = {name: lo.schedule_rates(name, 200, 0.05, warmup_steps=20) for name in lo.SCHEDULES}
    assert all(r.shape == (200,) and r[0] > 0 for r in rates.values())
    assert rates["step"][49] == 0.05 and rates["step"][50] == 0.025
    assert rates["exponential"][-1] == pytest.approx(0.05 * 0.01 ** (199 / 200))
    assert rates["cosine"].max() == 0.05 and rates["warm-up + cosine"][0] == pytest.approx(0.0025)
    assert rates["warm-up + cosine"].max() == pytest.approx(0.05)


def test_steep_bowl_gradient_curvature_and_minimum():
    p = np.array([-1.3, 0.7])
    value, gradient = lo.steep_bowl(p)
    numeric = eval_numerical_gradient(lambda q: float(lo.steep_bowl(q)[0]), p.copy(), h=1e-6)
    assert rel_error(gradient, numeric) < 1e-8
    hessian = np.stack([eval_numerical_gradient(lambda q, i=i: float(lo.steep_bowl(q)[1][i]),
                                                p.copy(), h=1e-6) for i in range(2)])
    assert lo.steep_bowl_curvature(p) == pytest.approx(np.linalg.eigvalsh(hessian)[-1], rel=1e-6)
    assert lo.steep_bowl(np.zeros(2))[0] == 0 and lo.steep_bowl_curvature((0, 0)) == 20.0
    assert lo.steep_bowl(np.zeros((3, 4, 2)))[1].shape == (3, 4, 2)


def test_scheduled_sgd_runs_every_schedule_on_the_same_noise():
    rates = np.stack([np.full(30, 0.02), np.full(30, 0.03)], axis=1)
    both = lo.scheduled_sgd_gaps(rates, noise=1.0, runs=5, seed=3)
    assert both.shape == (31, 2)
    np.testing.assert_allclose(both[:, 1], lo.scheduled_sgd_gaps(rates[:, 1], 1.0, 5, 3))
    # By hand: one noiseless step of size 0.01 from the start.
    start = np.array(lo.STEEP_BOWL_START)
    after = start - 0.01 * lo.steep_bowl(start)[1]
    one = lo.scheduled_sgd_gaps(np.array([0.01]), noise=0.0, runs=3)
    assert one[1] == pytest.approx(lo.steep_bowl(after)[0])
    diverged = lo.scheduled_sgd_gaps(np.full(50, 0.5), noise=0.0, runs=2)
    assert np.isnan(diverged[-1]) and np.isfinite(diverged[0])


def test_what_lecture_04_says_about_schedules():
    """Section 10 prints and says: the start's largest curvature is 50 (stable below 0.04);
    at base 0.05 with noise 1 the constant rate ends more than ten times above every decaying
    schedule; without noise the constant rate wins and exponential decay freezes early
    (far above cosine); at base 0.08 every schedule without warm-up diverges within ten steps
    and warm-up + cosine does not."""
    assert lo.steep_bowl_curvature(lo.STEEP_BOWL_START) == pytest.approx(50.0, abs=0.5)
    ends = {name: gaps[-1] for name, (_, gaps) in lo.schedule_race(0.05, 1.0, 20).items()}
    decaying = [v for name, v in ends.items() if name != "constant"]
    assert ends["constant"] > 10 * max(decaying)
    quiet = {name: gaps[-1] for name, (_, gaps) in lo.schedule_race(0.05, 0.0, 20).items()}
    assert min(quiet, key=quiet.get) == "constant"
    assert quiet["exponential"] > 10 * quiet["cosine"]
    fast = lo.schedule_race(0.08, 1.0, 20)
    for name, (_, gaps) in fast.items():
        if name == "warm-up + cosine":
            assert np.all(np.isfinite(gaps)) and gaps[-1] < 0.05
        else:
            assert np.flatnonzero(np.isnan(gaps))[0] <= 10


def test_schedule_view_draws_what_schedule_race_computes():
    view = lo.schedule_view()
    view.update(base_lr=0.08, noise=1.0, warmup_steps=20)
    expected = lo.schedule_race(0.08, 1.0, 20)
    for name, (rates, gaps) in expected.items():
        np.testing.assert_allclose(view.artists["rates"][name].get_ydata(), rates)
        np.testing.assert_allclose(view.artists["gaps"][name].get_ydata(), gaps)
    text = view.artists["summary"].get_text()
    assert "constant: diverged at step 6" in text and "warm-up + cosine: 5.4e-03" in text
    styles = {(line.get_color(), line.get_linestyle(), line.get_marker())
              for line in view.artists["gaps"].values()}
    assert len(styles) == len(lo.SCHEDULES)  # not told apart by colour alone
    png = view.live.render_png()
    view.update(base_lr=0.05, noise=0.5, warmup_steps=40)
    assert view.live.render_png() != png and view.live.full_draws == 1  # blitted
    for ax in view.live.axes:
        assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_schedule_view_widget_wires_its_sliders():
    view = lo.schedule_view()
    box = view.widget()
    assert box.children[-1] is view.live.output and set(view.controls) == {
        "base_lr", "noise", "warmup_steps"}
    view.controls["noise"].value = 0.0
    assert "constant: 2.3e-10" in view.artists["summary"].get_text()


def test_race_optimizers_differ_in_marker_and_line_style_too():
    race = lo.OptimizerRace()
    looks = {(line.get_marker(), str(line.get_linestyle()), line.get_color())
             for line in race.curves.values()}
    assert len(looks) == len(lo.RACE_OPTIMIZERS)
    assert len(set(lo.RACE_MARKERS.values())) == len(lo.RACE_OPTIMIZERS)


# ---- Adam's caveat (lecture 04, section 8) -------------------------------------------------
def test_adam_goes_to_the_worst_point_and_amsgrad_to_the_best():
    """Reddi et al. (2018): with beta1 = 0 and beta2 = 1/(1 + C^2), Adam drifts to x = +1 on
    the problem C x / -x / -x; AMSGrad reaches the optimum -1 (lecture 04 prints both)."""
    adam = lo.online_adam_counterexample(steps=3000, C=3.0, lr=0.5)
    amsgrad = lo.online_adam_counterexample(steps=3000, C=3.0, lr=0.5, amsgrad=True)
    assert adam.shape == (3001,) and adam[0] == 0.0
    assert adam[-300:].mean() > 0.95 and amsgrad[-300:].mean() < -0.95
    assert np.all(np.abs(adam) <= 1) and np.all(np.abs(amsgrad) <= 1)
    # The first step by hand: g = 3 at t = 1, r = 0.9 * 9, step 0.5 * 3 / sqrt(8.1).
    assert adam[1] == pytest.approx(-0.5 * 3 / np.sqrt(0.9 * 9), rel=1e-6)
    with pytest.raises(ValueError, match="C > 2"):
        lo.online_adam_counterexample(C=2.0)
