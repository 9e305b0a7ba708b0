"""Shared embeddings: sinusoidal encodings of positions and diffusion timesteps."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

__all__ = ["TimestepEmbedding", "sinusoidal_encoding"]


def sinusoidal_encoding(positions: Tensor, dim: int, max_period: float = 10_000.0) -> Tensor:
    """`(...,)` positions → `(..., dim)` [sin | cos] encoding (Vaswani et al. 2017)."""
    half = dim // 2
    freqs = torch.exp(
        -math.log(max_period)
        * torch.arange(half, dtype=torch.float32, device=positions.device)
        / half
    )
    angles = positions.to(torch.float32)[..., None] * freqs
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)


class TimestepEmbedding(nn.Module):
    """Diffusion timestep t `(B,)` → `(B, d)`: sinusoidal encoding, then a 2-layer MLP."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dim = dim
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, t: Tensor) -> Tensor:
        """(B,) long → (B, d)."""
        return self.mlp(sinusoidal_encoding(t, self.dim))
