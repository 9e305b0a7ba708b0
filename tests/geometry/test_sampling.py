"""Farthest point sampling: determinism, spread, numpy/torch agreement, speed, errors."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from scipy.spatial.distance import pdist

from openhoi.geometry.sampling import farthest_point_sampling


def _cloud(num_points: int = 5000, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(num_points, 3))


def test_fps_is_deterministic_unique_and_starts_at_start_index():
    points = _cloud()
    first = farthest_point_sampling(points, 256, start_index=7)
    second = farthest_point_sampling(points, 256, start_index=7)
    assert first.dtype == np.int64 and first.shape == (256,)
    np.testing.assert_array_equal(first, second)
    assert first[0] == 7
    assert len(np.unique(first)) == 256


def test_fps_spreads_points_better_than_random():
    points = _cloud()
    chosen = farthest_point_sampling(points, 128)
    random = np.random.default_rng(1).choice(len(points), 128, replace=False)
    assert pdist(points[chosen]).min() > pdist(points[random]).min()


def test_fps_prefix_property_and_second_point_is_farthest():
    points = _cloud(2000)
    long = farthest_point_sampling(points, 200)
    np.testing.assert_array_equal(farthest_point_sampling(points, 50), long[:50])
    assert long[1] == np.argmax(np.linalg.norm(points - points[0], axis=1))


def test_fps_torch_matches_numpy():
    points = _cloud(3000)
    from_numpy = farthest_point_sampling(points, 300)
    from_torch = farthest_point_sampling(torch.from_numpy(points), 300)
    assert isinstance(from_torch, torch.Tensor) and from_torch.dtype == torch.int64
    np.testing.assert_array_equal(from_torch.numpy(), from_numpy)


def test_fps_is_fast_enough():
    points = np.random.default_rng(0).random((20_000, 3))
    start = time.perf_counter()
    farthest_point_sampling(points, 2048)
    assert time.perf_counter() - start < 1.0


@pytest.mark.parametrize(
    ("shape", "num_samples", "start_index"),
    [((10, 3), 0, 0), ((10, 3), 11, 0), ((10, 3), 5, 10), ((10,), 2, 0), ((0, 3), 1, 0)],
)
def test_fps_rejects_bad_arguments(shape, num_samples, start_index):
    with pytest.raises(ValueError):
        farthest_point_sampling(np.zeros(shape), num_samples, start_index)


def test_accelerator_loop_matches_numpy_on_cpu():
    # The torch loop serves CUDA tensors; run it on CPU to pin it to the numpy result.
    from openhoi.geometry.sampling import _fps_torch

    points = _cloud(2000)
    expected = farthest_point_sampling(points, 100, start_index=3)
    result = _fps_torch(torch.from_numpy(points), 100, 3)
    np.testing.assert_array_equal(result.numpy(), expected)
