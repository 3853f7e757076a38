"""Datasets for the course: no downloads, clear errors.

- ``load_digits``: scikit-learn's bundled 8x8 handwritten digits, the default image data.
- ``load_cifar10``: a local copy of CIFAR-10's python-pickle batches (``data_batch_1`` ...).
- ``make_toy_2d``: small 2-D classification sets for plots.
- ``make_temperature_data``: the slides' building-temperature regression example.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class DataError(RuntimeError):
    """A dataset could not be loaded; the message says why and how to fix it."""


@dataclass(frozen=True)
class Split:
    """Train / validation / test arrays.

    X_* have shape (N_*, D) (or (N_*, H, W, C) for images kept as images); y_* have shape (N_*,).
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_digits(num_val: int = 200, num_test: int = 300, seed: int = 0) -> Split:
    """Load scikit-learn's bundled digits (1797 images of 8x8 pixels, 10 classes), split in three.

    Inputs:
    - num_val, num_test: sizes of the validation and test splits; the rest is training data.
    - seed: the shuffle before splitting is ``np.random.default_rng(seed).permutation``.

    Returns a ``Split`` whose X_* have shape (N, 64), dtype float64, pixel values 0..16,
    and whose y_* have shape (N,), dtype int64, labels 0..9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    digits = _sk_load_digits()
    X = digits.data.astype(np.float64)
    y = digits.target.astype(np.int64)
    if num_val < 0 or num_test < 0 or num_val + num_test >= len(y):
        raise DataError(
            f"num_val={num_val} and num_test={num_test} leave no training data: "
            f"the digits set has only {len(y)} images. Choose smaller splits."
        )
    order = np.random.default_rng(seed).permutation(len(y))
    X, y = X[order], y[order]
    n_train = len(y) - num_val - num_test
    return Split(
        X[:n_train], y[:n_train],
        X[n_train:n_train + num_val], y[n_train:n_train + num_val],
        X[n_train + num_val:], y[n_train + num_val:],
    )


DIGIT_IMAGE_SHAPE = (8, 8)
CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _load_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one CIFAR-10 python batch: X (N, 32, 32, 3) float64 in 0..255, y (N,) int64."""
    try:
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
    except FileNotFoundError:
        raise DataError(f"CIFAR-10 batch file {path} is missing.") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as err:
        raise DataError(
            f"CIFAR-10 batch file {path} is not a readable python-pickle batch ({err}). "
            "Download the 'CIFAR-10 python version' again and unpack it without modification."
        ) from None
    if not isinstance(batch, dict) or "data" not in batch or "labels" not in batch:
        raise DataError(f"{path} does not look like a CIFAR-10 batch: it has no 'data' and 'labels'.")
    data = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or len(labels) != len(data):
        raise DataError(
            f"{path} has data of shape {data.shape} and {len(labels)} labels; "
            "a CIFAR-10 batch holds (N, 3072) pixels and N labels."
        )
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).astype(np.float64)
    return images, labels


def load_cifar10(root: str | Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load a local copy of CIFAR-10 (the python-pickle version; nothing is downloaded).

    Inputs:
    - root: the folder ``cifar-10-batches-py`` holding ``data_batch_1`` ... ``data_batch_5``
      and ``test_batch``. Missing training batches are an error; only those present in a
      run of 1, 2, ... are read, so a smaller copy with fewer batches also works.

    Returns (X_train, y_train, X_test, y_test): X of shape (N, 32, 32, 3) float64 in 0..255,
    y of shape (N,) int64 in 0..9.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"No CIFAR-10 folder at {root}. Download the python version of CIFAR-10, unpack it, "
            "and pass the path of its 'cifar-10-batches-py' folder. The course works without it: "
            "utils.data.load_digits() needs no download."
        )
    train_files = sorted(root.glob("data_batch_*"), key=lambda p: p.name)
    if not train_files:
        raise DataError(f"{root} holds no 'data_batch_*' files: is it the 'cifar-10-batches-py' folder?")
    parts = [_load_cifar_batch(p) for p in train_files]
    X_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    X_test, y_test = _load_cifar_batch(root / "test_batch")
    return X_train, y_train, X_test, y_test


def make_toy_2d(kind: str = "blobs", n: int = 200, noise: float = 0.2, seed: int = 0,
                num_classes: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """2-D classification data for plots.

    Inputs:
    - kind: "blobs" (num_classes Gaussian clusters), "moons" (two interleaved half circles)
      or "circles" (two rings).
    - n: number of points; noise: standard deviation of the added Gaussian noise; seed: RNG seed.

    Returns X (n, 2) float64 and y (n,) int64.
    """
    rng = np.random.default_rng(seed)
    if n < 1:
        raise DataError(f"n must be a positive number of points, got {n}.")
    if noise < 0:
        raise DataError(f"noise is a standard deviation and cannot be negative, got {noise}.")
    if kind == "blobs":
        angles = 2 * np.pi * np.arange(num_classes) / num_classes
        centres = 2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1)
        y = rng.integers(0, num_classes, size=n)
        X = centres[y] + rng.normal(scale=0.5 + 2 * noise, size=(n, 2))
    elif kind == "moons":
        y = rng.integers(0, 2, size=n)
        t = rng.uniform(0, np.pi, size=n)
        X = np.where(y[:, None] == 0,
                     np.stack([np.cos(t), np.sin(t)], 1),
                     np.stack([1 - np.cos(t), 0.5 - np.sin(t)], 1))
        X = X + rng.normal(scale=noise, size=(n, 2))
    elif kind == "circles":
        y = rng.integers(0, 2, size=n)
        t = rng.uniform(0, 2 * np.pi, size=n)
        radius = np.where(y == 0, 1.0, 0.5)
        X = radius[:, None] * np.stack([np.cos(t), np.sin(t)], 1) + rng.normal(scale=noise, size=(n, 2))
    else:
        raise DataError(f"Unknown toy dataset kind {kind!r}: choose 'blobs', 'moons' or 'circles'.")
    return X.astype(np.float64), y.astype(np.int64)


TEMPERATURE_FEATURES = ("bias", "outside temperature (°C)", "number of people",
                        "sun hours", "heating power (kW)")
#: The true parameters of the temperature model, in the order of ``TEMPERATURE_FEATURES``:
#: building temperature (°C) = 12 + 0.35 outside + 0.04 people + 0.3 sun + 0.6 heating + noise.
TEMPERATURE_THETA = np.array([12.0, 0.35, 0.04, 0.3, 0.6])


def make_temperature_data(n: int = 100, noise_std: float = 0.8, seed: int = 0
                          ) -> tuple[np.ndarray, np.ndarray]:
    """The slides' regression example, synthetic and documented.

    A building's inside temperature (°C) is a linear function of the outside temperature
    (°C, uniform -5..30), the number of people inside (0..200), the hours of sunshine that day
    (0..12) and the heating power (kW, 0..10), plus Gaussian noise of standard deviation
    ``noise_std`` (°C): y = X @ TEMPERATURE_THETA + noise.

    Returns X (n, 5) float64 whose first column is all ones (the bias feature), and y (n,).
    """
    if n < 1:
        raise DataError(f"n must be a positive number of samples, got {n}.")
    if noise_std < 0:
        raise DataError(f"noise_std is a standard deviation and cannot be negative, got {noise_std}.")
    rng = np.random.default_rng(seed)
    X = np.column_stack([
        np.ones(n),
        rng.uniform(-5, 30, n),
        rng.integers(0, 201, n).astype(np.float64),
        rng.uniform(0, 12, n),
        rng.uniform(0, 10, n),
    ])
    y = X @ TEMPERATURE_THETA + rng.normal(scale=noise_std, size=n)
    return X, y
