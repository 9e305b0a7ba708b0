"""Diffusion with Spherical Gaussian constraint (DSG) guidance: the paper's Eq. 13–14.

Code names ↔ paper / DSG symbols:

    x_t        noisy sample at step t                    x_t
    mean       posterior mean of the sampler step        μ_θ(x_t, t)
    sigma      posterior standard deviation              σ_t
    noise      the sampler's Gaussian draw               ε ~ N(0, I)
    grad       ∇_{x_t} L(x̂_0(x_t)) through the network   ∇ L
    radius     √d · σ_t, d = numel of ONE sample          r
    d_star     −r · g / ‖g‖ (steepest descent on the sphere)   d*
    d_sample   σ_t · ε                                   d_sample
    d_mix      d_sample + w · (d* − d_sample)            d_m
    x_prev     μ + r · d_mix / ‖d_mix‖                   x_{t−1}

Every norm is taken PER SAMPLE (over all dimensions of one sample), never over the batch:
the public OpenHOI code normalised over the whole batch, coupling unrelated prompts.
With w = 0 the step is x_{t−1} = μ + r·ε/‖ε‖, i.e. plain ancestral sampling with the noise
projected onto its typical sphere (‖σε‖ ≈ √d·σ in high dimension); with w = 1 it is the
pure steepest-descent point on the sphere of radius r around μ.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["dsg_update", "per_sample_norm"]

_EPS = 1e-12


def per_sample_norm(x: Tensor) -> Tensor:
    """Euclidean norm of each sample over all non-batch dimensions, shaped to broadcast."""
    flat = x.reshape(x.shape[0], -1)
    return flat.norm(dim=1).clamp_min(_EPS).reshape(-1, *([1] * (x.ndim - 1)))


def dsg_update(
    mean: Tensor, sigma: Tensor | float, noise: Tensor, grad: Tensor, guidance_rate: float
) -> Tensor:
    """One DSG step: the point on the sphere of radius √d·σ_t around `mean`.

    Args:
        mean: `(B, ...)` posterior mean μ_t of the plain sampler step.
        sigma: σ_t, a scalar or `(B,)`; σ_t = 0 (the last step) returns `mean`.
        noise: `(B, ...)` standard normal draw ε.
        grad: `(B, ...)` gradient of the guidance loss with respect to x_t.
        guidance_rate: w in [0, 1].

    Returns:
        `(B, ...)` x_{t−1} with ‖x_{t−1} − μ_t‖ = r for every sample (when σ_t > 0).
    """
    if not 0.0 <= guidance_rate <= 1.0:
        raise ValueError(f"guidance_rate must be in [0, 1], got {guidance_rate}")
    sigma = torch.as_tensor(sigma, dtype=mean.dtype, device=mean.device)
    sigma = sigma.reshape(-1, *([1] * (mean.ndim - 1))) if sigma.ndim else sigma
    dims = mean[0].numel()
    radius = (dims**0.5) * sigma
    d_star = -radius * grad / per_sample_norm(grad)
    d_sample = sigma * noise
    d_mix = d_sample + guidance_rate * (d_star - d_sample)
    step = radius * d_mix / per_sample_norm(d_mix)
    return mean + torch.where(radius > 0, step, torch.zeros_like(step))
