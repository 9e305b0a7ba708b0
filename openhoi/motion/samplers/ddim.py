"""DDIM sampling with an x0-predicting model (Song et al. 2021, Eq. 12).

Code name → paper symbol (DDIM):
    alpha_bar_t, alpha_bar_prev   α_t, α_{t−1} (DDIM writes ᾱ without the bar)
    eps_pred                      ε̂ = (x_t − √ᾱ_t x̂_0) / √(1 − ᾱ_t)
    sigma                         σ_t(η) = η √((1 − ᾱ_{t−1}) / (1 − ᾱ_t)) √(1 − ᾱ_t / ᾱ_{t−1})
    mean                          √ᾱ_{t−1} x̂_0 + √(1 − ᾱ_{t−1} − σ_t²) ε̂
η = 0 is deterministic; η = 1 has DDPM's variance.
"""

from __future__ import annotations

import torch
from torch import Tensor

from openhoi.motion.config import DDIMSamplerConfig
from openhoi.motion.samplers.base import Sampler, StepMoments
from openhoi.motion.schedule import NoiseSchedule

__all__ = ["DDIMSampler"]


class DDIMSampler(Sampler):
    """Stateless DDIM sampler; `step` depends only on its arguments."""

    def __init__(self, schedule: NoiseSchedule, config: DDIMSamplerConfig | None = None) -> None:
        super().__init__(schedule, config or DDIMSamplerConfig())

    def mean_and_sigma(self, x0_pred: Tensor, t: int, t_prev: int, x_t: Tensor) -> StepMoments:
        """The DDIM step's mean `(B, T, D)` and sigma `(B,)`."""
        alpha_bar_t = float(self.schedule.alpha_bar_at(t))
        alpha_bar_prev = float(self.schedule.alpha_bar_at(t_prev))
        # 1. The noise the model's x0 implies.
        eps_pred = (x_t - alpha_bar_t**0.5 * x0_pred) / (1 - alpha_bar_t) ** 0.5
        # 2. σ_t(η) and the direction pointing to x_t.
        eta = self.config.eta
        variance = (1 - alpha_bar_prev) / (1 - alpha_bar_t) * (1 - alpha_bar_t / alpha_bar_prev)
        sigma = eta * max(variance, 0.0) ** 0.5
        direction = max(1 - alpha_bar_prev - sigma**2, 0.0) ** 0.5
        mean = alpha_bar_prev**0.5 * x0_pred + direction * eps_pred
        sigma_b = torch.full((x_t.shape[0],), sigma, dtype=x_t.dtype, device=x_t.device)
        return StepMoments(mean=mean, sigma=sigma_b)

    def draws_noise(self, t_prev: int) -> bool:
        """σ_t = 0 with η = 0 (deterministic DDIM) and on the last step."""
        return t_prev >= 0 and self.config.eta != 0
