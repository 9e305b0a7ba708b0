"""DSG step: per-sample radius, w = 0 is plain sampling on the sphere, w = 1 is steepest descent."""

from __future__ import annotations

import pytest
import torch

from openhoi.refine.dsg import dsg_update, per_sample_norm


def _inputs(batch=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (batch, 20, 208)
    mean = torch.randn(shape, generator=g)
    noise = torch.randn(shape, generator=g)
    grad = torch.randn(shape, generator=g) * torch.tensor([1e-4, 1.0, 1e4])[:, None, None]
    sigma = torch.tensor([0.5, 0.1, 0.02])
    return mean, noise, grad, sigma


@pytest.mark.parametrize("w", [0.0, 0.3, 1.0])
def test_step_lies_on_the_sphere_of_each_sample(w):
    mean, noise, grad, sigma = _inputs()
    x_prev = dsg_update(mean, sigma, noise, grad, w)
    radius = (20 * 208) ** 0.5 * sigma
    torch.testing.assert_close(
        per_sample_norm(x_prev - mean).flatten(), radius, rtol=1e-5, atol=1e-6
    )


def test_norms_are_per_sample_not_per_batch():
    mean, noise, grad, sigma = _inputs()
    alone = dsg_update(mean[1:2], sigma[1:2], noise[1:2], grad[1:2], 0.5)
    together = dsg_update(mean, sigma, noise, grad, 0.5)[1:2]
    torch.testing.assert_close(alone, together)


def test_zero_rate_is_plain_sampling_direction():
    mean, noise, grad, sigma = _inputs()
    x_prev = dsg_update(mean, sigma, noise, grad, 0.0)
    direction = (x_prev - mean) / per_sample_norm(x_prev - mean)
    torch.testing.assert_close(direction, noise / per_sample_norm(noise))
    # The gradient plays no part at w = 0.
    torch.testing.assert_close(x_prev, dsg_update(mean, sigma, noise, -grad * 7, 0.0))


def test_full_rate_is_steepest_descent():
    mean, noise, grad, sigma = _inputs()
    x_prev = dsg_update(mean, sigma, noise, grad, 1.0)
    direction = (x_prev - mean) / per_sample_norm(x_prev - mean)
    torch.testing.assert_close(direction, -grad / per_sample_norm(grad))


def test_last_step_returns_the_mean_and_rate_is_checked():
    mean, noise, grad, _ = _inputs()
    torch.testing.assert_close(dsg_update(mean, 0.0, noise, grad, 0.5), mean)
    with pytest.raises(ValueError, match="guidance_rate"):
        dsg_update(mean, 0.1, noise, grad, 1.5)
