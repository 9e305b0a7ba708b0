"""The noise schedule: cosine alpha_bar (Nichol & Dhariwal 2021), T = 1000 in the paper.

Index convention: diffusion timesteps are integers t = 0 .. T-1 (t = 0 is the least
noisy step); `alpha_bar(-1) = 1` stands for clean data. The forward process is the
paper's Eq. 15:  x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from openhoi.errors import InputError
from openhoi.motion.config import DiffusionConfig

__all__ = ["NoiseSchedule", "cosine_alpha_bar"]


def cosine_alpha_bar(num_timesteps: int, offset: float = 0.008, max_beta: float = 0.999) -> Tensor:
    """`(T,)` float64 alpha_bar_t of the cosine schedule, t = 0 .. T-1.

    alpha_bar(t) = f(t + 1) / f(0) with f(u) = cos²(((u / T) + s) / (1 + s) · π / 2), built
    through beta_t = 1 − alpha_bar(t + 1) / alpha_bar(t) clipped to `max_beta` (Improved
    DDPM, Eq. 17), so alpha_bar_t = ∏_{i ≤ t} (1 − beta_i).
    """

    def f(u: float) -> float:
        return math.cos((u / num_timesteps + offset) / (1 + offset) * math.pi / 2) ** 2

    betas = torch.tensor(
        [min(1 - f(t + 1) / f(t), max_beta) for t in range(num_timesteps)], dtype=torch.float64
    )
    return torch.cumprod(1 - betas, dim=0)


class NoiseSchedule:
    """alpha_bar_t and the forward process q(x_t | x_0); holds no weights and no state.

    Attributes:
        alpha_bar: `(T,)` float64 cumulative products, strictly decreasing in t.
    """

    def __init__(self, config: DiffusionConfig | None = None) -> None:
        self.config = config or DiffusionConfig()
        self.alpha_bar = cosine_alpha_bar(
            self.config.num_timesteps, self.config.cosine_offset, self.config.max_beta
        )

    @property
    def num_timesteps(self) -> int:
        """T."""
        return self.config.num_timesteps

    def alpha_bar_at(self, t: int | Tensor) -> Tensor:
        """alpha_bar_t as float64; t = -1 gives 1 (clean data). t: int or `(B,)` long."""
        t = torch.as_tensor(t, dtype=torch.long)
        if (t < -1).any() or (t >= self.num_timesteps).any():
            raise InputError(f"timestep must be -1..{self.num_timesteps - 1}, got {t.tolist()}")
        padded = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bar])
        return padded[t + 1]

    def add_noise(self, x0: Tensor, noise: Tensor, t: Tensor) -> Tensor:
        """x_t = sqrt(alpha_bar_t) x0 + sqrt(1 − alpha_bar_t) noise (Eq. 15).

        Args:
            x0: `(B, ...)` clean samples.
            noise: like `x0`, standard normal.
            t: `(B,)` long timesteps in 0 .. T-1.
        """
        alpha_bar = self.alpha_bar_at(t.cpu()).to(device=x0.device, dtype=x0.dtype)
        shape = (-1,) + (1,) * (x0.ndim - 1)
        alpha_bar = alpha_bar.view(shape)
        return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
