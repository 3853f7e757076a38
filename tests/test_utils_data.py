"""utils.data: bundled digits, the CIFAR-10 loader on a tiny local copy, toy sets, temperature."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from utils import data


def test_digits_split_shapes_and_types():
    split = data.load_digits(num_val=100, num_test=200, seed=1)
    assert split.X_train.shape == (1797 - 300, 64) and split.X_val.shape == (100, 64)
    assert split.X_test.shape == (200, 64) and split.y_test.shape == (200,)
    assert split.X_train.dtype == np.float64 and split.y_train.dtype == np.int64
    assert set(np.unique(split.y_train)) == set(range(10))
    again = data.load_digits(num_val=100, num_test=200, seed=1)
    assert np.array_equal(split.X_test, again.X_test)


def test_digits_refuses_splits_that_leave_no_training_data():
    with pytest.raises(data.DataError, match="leave no training data"):
        data.load_digits(num_val=1000, num_test=900)


def _write_batch(path, images, labels):
    """Write a batch in CIFAR-10's python-pickle format: 'data' (N, 3072) uint8 and 'labels'."""
    flat = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    with open(path, "wb") as f:
        pickle.dump({"data": flat, "labels": list(labels), "batch_label": "tiny"}, f)


def test_cifar10_loader_reads_the_python_batches(tmp_path):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    extra = rng.integers(0, 256, size=(2, 32, 32, 3), dtype=np.uint8)
    test = rng.integers(0, 256, size=(3, 32, 32, 3), dtype=np.uint8)
    _write_batch(tmp_path / "data_batch_1", train, [0, 1, 2, 3])
    _write_batch(tmp_path / "data_batch_2", extra, [9, 8])
    _write_batch(tmp_path / "test_batch", test, [5, 6, 7])
    X_train, y_train, X_test, y_test = data.load_cifar10(tmp_path)
    assert X_train.shape == (6, 32, 32, 3) and X_train.dtype == np.float64
    assert np.array_equal(X_train[:4], train) and np.array_equal(X_train[4:], extra)
    assert list(y_train) == [0, 1, 2, 3, 9, 8] and list(y_test) == [5, 6, 7]
    assert np.array_equal(X_test, test)


def test_cifar10_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(data.DataError, match="No CIFAR-10 folder.*load_digits"):
        data.load_cifar10(tmp_path / "nowhere")
    with pytest.raises(data.DataError, match="no 'data_batch_"):
        data.load_cifar10(tmp_path)


def test_cifar10_corrupt_or_wrong_files_give_clear_errors(tmp_path):
    (tmp_path / "data_batch_1").write_bytes(b"this is not a pickle")
    with pytest.raises(data.DataError, match="not a readable python-pickle batch"):
        data.load_cifar10(tmp_path)
    with open(tmp_path / "data_batch_1", "wb") as f:
        pickle.dump({"data": np.zeros((2, 10)), "labels": [0, 1]}, f)
    with pytest.raises(data.DataError, match=r"\(N, 3072\)"):
        data.load_cifar10(tmp_path)
    _write_batch(tmp_path / "data_batch_1", np.zeros((1, 32, 32, 3), np.uint8), [0])
    with pytest.raises(data.DataError, match="test_batch is missing"):
        data.load_cifar10(tmp_path)


@pytest.mark.parametrize("kind", ["blobs", "moons", "circles"])
def test_toy_sets_have_the_documented_shapes(kind):
    X, y = data.make_toy_2d(kind, n=50, noise=0.1, seed=3)
    assert X.shape == (50, 2) and y.shape == (50,) and y.dtype == np.int64
    assert np.all(np.isfinite(X))


def test_toy_sets_reject_bad_input():
    with pytest.raises(data.DataError, match="Unknown toy dataset kind 'spiral'"):
        data.make_toy_2d("spiral")
    with pytest.raises(data.DataError, match="cannot be negative"):
        data.make_toy_2d(noise=-1)


def test_temperature_data_follows_its_documented_model():
    X, y = data.make_temperature_data(n=5000, noise_std=0.5, seed=2)
    assert X.shape == (5000, 5) and np.all(X[:, 0] == 1)
    theta, *_ = np.linalg.lstsq(X, y, rcond=None)
    assert np.allclose(theta, data.TEMPERATURE_THETA, atol=0.05)
    residual = y - X @ data.TEMPERATURE_THETA
    assert abs(residual.std() - 0.5) < 0.03
    assert len(data.TEMPERATURE_FEATURES) == X.shape[1]
