"""Ancestral DDPM sampling with an x0-predicting model (Ho et al. 2020; paper Eq. 8, 26).

Code name → paper symbol:
    alpha_bar_t, alpha_bar_prev   ᾱ_t, ᾱ_{t−1}
    beta_t = 1 − ᾱ_t / ᾱ_{t−1}    β_t (of the possibly strided chain)
    mean                          μ_t = [√α_t (1 − ᾱ_{t−1}) x_t + √ᾱ_{t−1} β_t x̂_0] / (1 − ᾱ_t)
    sigma                         σ_t = √(β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t))  (a std; the paper
                                  writes the variance under the same name)
With num_steps = T the chain is the paper's; fewer steps give the respaced chain of
Improved DDPM (same formulas over the strided grid).
"""

from __future__ import annotations

import torch
from torch import Tensor

from openhoi.motion.config import DDPMSamplerConfig
from openhoi.motion.samplers.base import Sampler, StepMoments
from openhoi.motion.schedule import NoiseSchedule

__all__ = ["DDPMSampler"]


class DDPMSampler(Sampler):
    """Stateless ancestral sampler (Eq. 8); the last step (t_prev = -1) returns μ_t = x0_pred.

    Its default grid is every one of the T steps (config.num_steps).
    """

    def __init__(self, schedule: NoiseSchedule, config: DDPMSamplerConfig | None = None) -> None:
        super().__init__(schedule, config or DDPMSamplerConfig())

    def mean_and_sigma(self, x0_pred: Tensor, t: int, t_prev: int, x_t: Tensor) -> StepMoments:
        """Posterior q(x_{t_prev} | x_t, x0 = x0_pred): mean `(B, T, D)`, sigma `(B,)`."""
        alpha_bar_t = float(self.schedule.alpha_bar_at(t))
        alpha_bar_prev = float(self.schedule.alpha_bar_at(t_prev))
        # 1. β_t and α_t of the (possibly strided) step t → t_prev.
        beta_t = 1 - alpha_bar_t / alpha_bar_prev
        alpha_t = 1 - beta_t
        # 2. Posterior mean (Eq. 26) and standard deviation.
        coef_x0 = alpha_bar_prev**0.5 * beta_t / (1 - alpha_bar_t)
        coef_xt = alpha_t**0.5 * (1 - alpha_bar_prev) / (1 - alpha_bar_t)
        mean = coef_x0 * x0_pred + coef_xt * x_t
        variance = beta_t * (1 - alpha_bar_prev) / (1 - alpha_bar_t)
        sigma = torch.full((x_t.shape[0],), max(variance, 0.0) ** 0.5, dtype=x_t.dtype)
        return StepMoments(mean=mean, sigma=sigma.to(x_t.device))
