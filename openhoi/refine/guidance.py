"""DSG guidance inside the sampler: implements `openhoi.motion.guidance.Guidance`.

At each guided reverse step (every `interval` steps inside the active window) the sampling
loop hands over x_t, the CFG clean estimate x̂_0(x_t) with its graph, the step's moments
(μ_t, σ_t) and the noise draw ε. We evaluate the weighted loss on x̂_0 in physical units,
take g = ∇_{x_t} L through the network, and return the DSG point
x_{t−1} = μ_t + r·d_mix/‖d_mix‖ (`refine.dsg.dsg_update`, Eq. 13–14), with every norm per
sample. Guidance needs a stochastic step (σ_t > 0): with DDIM use η > 0 (the pipeline
uses η = 1 when refinement is on); on a deterministic step the plain mean is returned.

Each sample of the batch has its own losses (its own object, affordance mask, hands), so
terms are given per sample. A loss object shared by several samples (the pipeline builds
one penetration loss per object and hands) is evaluated once on all of them together:
on a big batch that is one posing and one distance query instead of one per sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from openhoi.errors import InputError
from openhoi.motion.guidance import GuidanceInput
from openhoi.refine.dsg import dsg_update
from openhoi.refine.losses import LossTerm

__all__ = ["DSGConfig", "DSGGuidance"]


@dataclass(frozen=True)
class DSGConfig:
    """Settings of DSG guidance."""

    # w in Eq. 14: 0 = plain sampling, 1 = pure steepest descent on the sphere.
    guidance_rate: float = 0.2
    # Guide every `interval`-th step of the sampler's grid.
    interval: int = 1
    # Guide only the last `active_fraction` of the steps (x̂_0 is uninformative early on).
    active_fraction: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.guidance_rate <= 1.0:
            raise InputError(f"guidance_rate must be in [0, 1], got {self.guidance_rate}")
        if self.interval < 1:
            raise InputError(f"interval must be >= 1, got {self.interval}")
        if not 0.0 < self.active_fraction <= 1.0:
            raise InputError(f"active_fraction must be in (0, 1], got {self.active_fraction}")


class DSGGuidance:
    """Spherical-Gaussian-constrained guidance with per-sample loss terms.

    Args:
        terms: one list of `LossTerm`s per sample of the batch (same order as the prompts).
        config: rate, interval, active window.
    """

    def __init__(self, terms: Sequence[Sequence[LossTerm]], config: DSGConfig | None = None):
        self.terms = [list(sample_terms) for sample_terms in terms]
        self.config = config or DSGConfig()
        self.num_guided_steps = 0
        # Terms grouped by loss object, once: {id: (loss, samples, weights)}; weight 0 left out.
        self._groups: dict[int, tuple[object, list[int], list[float]]] = {}
        for b, sample_terms in enumerate(self.terms):
            for term in sample_terms:
                if term.weight:
                    group = self._groups.setdefault(id(term.loss), (term.loss, [], []))
                    group[1].append(b)
                    group[2].append(term.weight)

    def is_active(self, step_index: int, num_steps: int, t: int) -> bool:
        """Inside the active window and on the interval grid."""
        first = num_steps - max(1, round(self.config.active_fraction * num_steps))
        return step_index >= first and (step_index - first) % self.config.interval == 0

    def loss(self, x0_physical: Tensor) -> Tensor:
        """`(B,)` weighted loss of each sample on its own terms.

        Terms are grouped by loss object: each distinct object runs once, on the samples
        that use it (with their weights), which equals the per-sample sum.
        """
        if len(self.terms) != x0_physical.shape[0]:
            raise InputError(
                f"DSGGuidance has terms for {len(self.terms)} samples, the batch has "
                f"{x0_physical.shape[0]}"
            )
        total = x0_physical.new_zeros(x0_physical.shape[0])
        for loss, samples, weights in self._groups.values():
            index = torch.tensor(samples, device=x0_physical.device)
            values = loss(x0_physical[index]) * x0_physical.new_tensor(weights)
            total = total.index_add(0, index, values)
        return total

    def guide(self, inputs: GuidanceInput) -> Tensor:
        """x_{t−1} `(B, T, 208)` by the DSG rule (normalised frames)."""
        self.num_guided_steps += 1
        mean = inputs.moments.mean.detach()
        sigma = inputs.moments.sigma.detach()
        if not bool((sigma > 0).any()):
            return mean
        if self.config.guidance_rate == 0.0:
            # Switched off: exactly the sampler's own ancestral step μ + σ ε.
            return mean + sigma.reshape(-1, *([1] * (mean.ndim - 1))) * inputs.noise
        x0_physical = inputs.context.to_physical(inputs.x0_pred)
        total = self.loss(x0_physical)
        if not total.requires_grad or float(total.detach().abs().sum()) == 0.0:
            grad = torch.zeros_like(inputs.x_t)
        else:
            (grad,) = torch.autograd.grad(total.sum(), inputs.x_t)
        return dsg_update(mean, sigma, inputs.noise, grad, self.config.guidance_rate)
