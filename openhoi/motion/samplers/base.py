"""What every sampler shares: its outputs, the step moments, the noise helper, the grid."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from openhoi.errors import InputError
from openhoi.motion.schedule import NoiseSchedule

__all__ = [
    "Generators",
    "Sampler",
    "StepMoments",
    "StepOutput",
    "randn_like",
    "strided_timesteps",
]

# One generator for the batch, or one per sample (then sample i does not depend on the
# other samples of the batch).
Generators = torch.Generator | Sequence[torch.Generator] | None


@dataclass(frozen=True)
class StepOutput:
    """One reverse step.

    x_prev: `(B, T, D)` sample at the next-lower noise level t_prev.
    x0_pred: `(B, T, D)` the clean estimate the step used; guidance losses read this.
    """

    x_prev: Tensor
    x0_pred: Tensor


@dataclass(frozen=True)
class StepMoments:
    """The Gaussian of a reverse step: x_prev = mean + sigma · eps.

    mean: `(B, T, D)` μ_t (paper Eq. 8 / 26 for DDPM).
    sigma: `(B,)` standard deviation σ_t of the step (0 for deterministic DDIM).
    """

    mean: Tensor
    sigma: Tensor


def randn_like(x: Tensor, generator: Generators = None) -> Tensor:
    """Standard normal noise shaped like `x` (drawn on CPU for device-independent results)."""
    if generator is None or isinstance(generator, torch.Generator):
        noise = torch.randn(x.shape, generator=generator, dtype=torch.float32)
    else:
        if len(generator) != x.shape[0]:
            raise InputError(
                f"got {len(generator)} generators for a batch of {x.shape[0]}; pass one per sample"
            )
        noise = torch.stack(
            [torch.randn(x.shape[1:], generator=g, dtype=torch.float32) for g in generator]
        )
    return noise.to(device=x.device, dtype=x.dtype)


def strided_timesteps(num_timesteps: int, num_steps: int) -> Tensor:
    """`(num_steps,)` evenly spaced timesteps from T-1 down to 0 (inclusive), descending."""
    if not 1 <= num_steps <= num_timesteps:
        raise InputError(f"num_steps must be 1..{num_timesteps}, got {num_steps}")
    grid = torch.linspace(num_timesteps - 1, 0, num_steps, dtype=torch.float64).round().long()
    return grid


def previous_timestep(grid: Tensor, index: int) -> int:
    """The timestep after `grid[index]` in the chain (-1 after the last)."""
    return int(grid[index + 1]) if index + 1 < len(grid) else -1


def broadcast_sigma(sigma: Tensor, x: Tensor) -> Tensor:
    """`(B,)` → `(B, 1, ..., 1)` matching `x`."""
    return sigma.view((-1,) + (1,) * (x.ndim - 1)).to(device=x.device, dtype=x.dtype)


class Sampler(abc.ABC):
    """A stateless reverse-process update rule (STYLE §2.1): x_{t_prev} = μ_t + σ_t ε.

    Subclasses give `mean_and_sigma` and `draws_noise`; they are stateless, so `step`
    depends only on its arguments. `config.num_steps` is the default grid length.
    """

    def __init__(self, schedule: NoiseSchedule, config) -> None:
        self.schedule = schedule
        self.config = config

    def timesteps(self, num_steps: int | None = None) -> Tensor:
        """`(num_steps,)` descending grid from T-1 to 0 (default: config.num_steps)."""
        return strided_timesteps(self.schedule.num_timesteps, num_steps or self.config.num_steps)

    @abc.abstractmethod
    def mean_and_sigma(self, x0_pred: Tensor, t: int, t_prev: int, x_t: Tensor) -> StepMoments:
        """μ_t and σ_t of p(x_{t_prev} | x_t, x0_pred) for this sampler's update rule."""

    def draws_noise(self, t_prev: int) -> bool:
        """Whether the step to `t_prev` adds noise (not on the last step, t_prev = -1)."""
        return t_prev >= 0

    def step(
        self,
        x0_pred: Tensor,
        t: int,
        t_prev: int,
        x_t: Tensor,
        *,
        generator: Generators = None,
        noise: Tensor | None = None,
    ) -> StepOutput:
        """x_{t_prev} = μ_t + σ_t ε; no noise is drawn when `draws_noise(t_prev)` is False."""
        moments = self.mean_and_sigma(x0_pred, t, t_prev, x_t)
        if not self.draws_noise(t_prev):
            return StepOutput(x_prev=moments.mean, x0_pred=x0_pred)
        if noise is None:
            noise = randn_like(x_t, generator)
        x_prev = moments.mean + broadcast_sigma(moments.sigma, x_t) * noise
        return StepOutput(x_prev=x_prev, x0_pred=x0_pred)
