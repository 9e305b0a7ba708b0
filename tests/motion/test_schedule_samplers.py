"""Noise schedule and stateless samplers."""

from __future__ import annotations

import math

import pytest
import torch

from openhoi.errors import InputError
from openhoi.motion.config import DDIMSamplerConfig, DiffusionConfig
from openhoi.motion.samplers import available_samplers, make_sampler
from openhoi.motion.schedule import NoiseSchedule


def test_alpha_bar_is_monotone_and_matches_cosine_formula():
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=1000))
    alpha_bar = schedule.alpha_bar
    assert alpha_bar.shape == (1000,)
    assert torch.all(alpha_bar[1:] < alpha_bar[:-1])
    s = 0.008

    def f(u):
        return math.cos((u / 1000 + s) / (1 + s) * math.pi / 2) ** 2

    for t in (0, 10, 500, 900):
        assert alpha_bar[t].item() == pytest.approx(f(t + 1) / f(0), rel=1e-9)
    assert schedule.alpha_bar_at(-1).item() == 1.0
    with pytest.raises(InputError, match="timestep"):
        schedule.alpha_bar_at(1000)


def test_registry_lists_and_rejects_names():
    assert set(available_samplers()) == {"ddpm", "ddim"}
    with pytest.raises(InputError, match="known: ddpm, ddim"):
        make_sampler("euler", NoiseSchedule())


@pytest.mark.parametrize("name", ["ddpm", "ddim"])
def test_step_with_true_x0_and_no_noise_recovers_x0(name):
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=100))
    sampler = make_sampler(name, schedule)
    x0 = torch.randn(2, 5, 208, generator=torch.Generator().manual_seed(0))
    eps = torch.randn(2, 5, 208, generator=torch.Generator().manual_seed(1))
    grid = sampler.timesteps(10)
    assert grid[0] == 99 and grid[-1] == 0 and torch.all(grid[1:] < grid[:-1])
    x_t = schedule.add_noise(x0, eps, torch.full((2,), int(grid[0])))
    # Walk the chain with the true x0 and zero noise: x_t stays on the forward path's mean
    # direction and the last step lands on x0.
    for k in range(len(grid)):
        t = int(grid[k])
        t_prev = int(grid[k + 1]) if k + 1 < len(grid) else -1
        x_t = sampler.step(x0, t, t_prev, x_t, noise=torch.zeros_like(x0)).x_prev
    torch.testing.assert_close(x_t, x0)


def test_ddim_eta0_step_is_the_forward_process_at_t_prev():
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=100))
    sampler = make_sampler("ddim", schedule, DDIMSamplerConfig(eta=0.0))
    x0 = torch.randn(1, 4, 208)
    eps = torch.randn(1, 4, 208)
    x_t = schedule.add_noise(x0, eps, torch.tensor([80]))
    x_prev = sampler.step(x0, 80, 40, x_t).x_prev
    torch.testing.assert_close(x_prev, schedule.add_noise(x0, eps, torch.tensor([40])))


@pytest.mark.parametrize("name", ["ddpm", "ddim"])
def test_step_is_stateless_and_seeded(name):
    schedule = NoiseSchedule(DiffusionConfig(num_timesteps=50))
    config = DDIMSamplerConfig(eta=1.0) if name == "ddim" else None
    sampler = make_sampler(name, schedule, config)
    x0, x_t = torch.randn(3, 4, 208), torch.randn(3, 4, 208)
    a = sampler.step(x0, 30, 20, x_t, generator=torch.Generator().manual_seed(5)).x_prev
    sampler.step(x0, 10, 5, x_t, generator=torch.Generator().manual_seed(9))  # no hidden state
    b = sampler.step(x0, 30, 20, x_t, generator=torch.Generator().manual_seed(5)).x_prev
    assert torch.equal(a, b)
    moments = sampler.mean_and_sigma(x0, 30, 20, x_t)
    assert moments.mean.shape == x_t.shape and moments.sigma.shape == (3,)
    assert torch.all(moments.sigma > 0)
