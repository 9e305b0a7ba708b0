"""Point-BERT / ReCon-style point-cloud encoder for the planner.

Pipeline (Point-BERT, Yu et al. 2022; ReCon, Qi et al. 2023, whose ReCon++ ShapeLLM uses):

1. Farthest-point sampling picks G group centres among the P input points.
2. Each centre gathers its K nearest neighbours; their coordinates are taken relative to
   the centre (translation-invariant local patches).
3. A mini-PointNet (shared MLP → max-pool → MLP on [point, pooled] → max-pool) embeds each
   patch into one D-dim group token.
4. A small transformer encoder mixes the G tokens, with a learned positional embedding of
   the centre coordinates.
5. Dense per-point features for the affordance decoder: the G group features are
   propagated back to all P points by inverse-distance kNN interpolation (PointNet++
   feature propagation) and fused with a per-point embedding of the raw inputs, so masks
   can follow fine geometry.

Input channels are xyz (normalised into the unit sphere, PIAD/LASO convention) plus
optional normals and/or rgb, `in_channels = 3 + 3·use_normals + 3·use_rgb`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import Tensor, nn

from openhoi.errors import InputError

__all__ = ["PointEncoder", "PointEncoderConfig", "PointEncoderOutput"]


@dataclass
class PointEncoderConfig:
    """Sizes of the point encoder."""

    # Patches: G centres by FPS, K neighbours each.
    num_groups: int = 32
    group_size: int = 32
    # Token width and transformer depth.
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    # Extra input channels besides xyz.
    use_normals: bool = True
    use_rgb: bool = False
    # Neighbours used to interpolate group features back to every point.
    num_interpolation_neighbours: int = 3

    def __post_init__(self) -> None:
        for name in ("num_groups", "group_size", "hidden_size", "num_layers", "num_heads"):
            if getattr(self, name) < 1:
                raise InputError(f"point encoder {name} must be >= 1, got {getattr(self, name)}")
        if self.hidden_size % self.num_heads:
            raise InputError(
                f"point encoder hidden_size ({self.hidden_size}) must be divisible by "
                f"num_heads ({self.num_heads})"
            )
        if not 1 <= self.num_interpolation_neighbours <= self.num_groups:
            raise InputError(
                "num_interpolation_neighbours must be 1..num_groups, got "
                f"{self.num_interpolation_neighbours}"
            )

    @property
    def in_channels(self) -> int:
        """Input channels per point: xyz, then normals, then rgb when enabled."""
        return 3 + 3 * self.use_normals + 3 * self.use_rgb


@dataclass(frozen=True)
class PointEncoderOutput:
    """What the encoder returns for a batch of B clouds of P points."""

    group_tokens: Tensor  # (B, G, D) one token per patch, fed to the LLM projector
    point_features: Tensor  # (B, P, D) per-point features for the affordance decoder
    centers: Tensor  # (B, G, 3) patch centres (xyz)


def farthest_point_indices(xyz: Tensor, num_samples: int) -> Tensor:
    """Batched farthest-point sampling, starting at point 0 of each cloud.

    Args:
        xyz: `(B, P, 3)` points.
        num_samples: G centres, 1 <= G <= P.

    Returns:
        `(B, G)` int64 indices into P.
    """
    batch, num_points, _ = xyz.shape
    indices = torch.zeros(batch, num_samples, dtype=torch.long, device=xyz.device)
    distance = torch.full((batch, num_points), float("inf"), device=xyz.device, dtype=xyz.dtype)
    current = torch.zeros(batch, dtype=torch.long, device=xyz.device)
    rows = torch.arange(batch, device=xyz.device)
    for i in range(num_samples):
        indices[:, i] = current
        chosen = xyz[rows, current].unsqueeze(1)  # (B, 1, 3)
        distance = torch.minimum(distance, ((xyz - chosen) ** 2).sum(-1))
        current = distance.argmax(-1)
    return indices


def _gather(values: Tensor, indices: Tensor) -> Tensor:
    """values `(B, P, C)`, indices `(B, ...)` → `(B, ..., C)`."""
    batch = values.shape[0]
    flat = indices.reshape(batch, -1)
    picked = torch.gather(values, 1, flat.unsqueeze(-1).expand(-1, -1, values.shape[-1]))
    return picked.reshape(*indices.shape, values.shape[-1])


class _MiniPointNet(nn.Module):
    """Point-BERT's patch embedding: two shared-MLP stages, each followed by a max-pool."""

    def __init__(self, in_channels: int, hidden_size: int) -> None:
        super().__init__()
        self.first = nn.Sequential(
            nn.Linear(in_channels, 64), nn.LayerNorm(64), nn.GELU(), nn.Linear(64, 128)
        )
        self.second = nn.Sequential(
            nn.Linear(256, 256), nn.LayerNorm(256), nn.GELU(), nn.Linear(256, hidden_size)
        )

    def forward(self, patches: Tensor) -> Tensor:
        """patches `(B, G, K, C)` → `(B, G, D)`."""
        local = self.first(patches)  # (B, G, K, 128)
        pooled = local.max(dim=2, keepdim=True).values.expand_as(local)
        fused = self.second(torch.cat([local, pooled], dim=-1))  # (B, G, K, D)
        return fused.max(dim=2).values


class PointEncoder(nn.Module):
    """FPS + kNN patches → mini-PointNet → transformer; tokens and per-point features."""

    def __init__(self, config: PointEncoderConfig) -> None:
        super().__init__()
        self.config = config
        size = config.hidden_size
        self.patch_embed = _MiniPointNet(config.in_channels, size)
        self.center_embed = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, size))
        layer = nn.TransformerEncoderLayer(
            size, config.num_heads, 4 * size, dropout=0.0, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(
            layer, config.num_layers, enable_nested_tensor=False
        )
        self.norm = nn.LayerNorm(size)
        self.point_embed = nn.Sequential(
            nn.Linear(config.in_channels, 64), nn.GELU(), nn.Linear(64, size)
        )
        self.point_fuse = nn.Sequential(nn.LayerNorm(size), nn.Linear(size, size))

    def forward(self, points: Tensor) -> PointEncoderOutput:
        """Encode clouds.

        Args:
            points: `(B, P, C)` with `C = config.in_channels`: xyz in the unit sphere,
                then normals / rgb as configured.

        Returns:
            :class:`PointEncoderOutput`.

        Raises:
            InputError: wrong channel count or fewer points than `group_size`/`num_groups`.
        """
        config = self.config
        if points.ndim != 3 or points.shape[-1] != config.in_channels:
            raise InputError(
                f"points must have shape (B, P, {config.in_channels}) (xyz"
                f"{' + normals' if config.use_normals else ''}"
                f"{' + rgb' if config.use_rgb else ''}), got {tuple(points.shape)}"
            )
        if points.shape[1] < max(config.group_size, config.num_groups):
            raise InputError(
                f"need at least {max(config.group_size, config.num_groups)} points, "
                f"got {points.shape[1]}"
            )
        xyz = points[..., :3]
        # 1. Centres and 2. patches (coordinates relative to their centre).
        with torch.no_grad():
            center_ids = farthest_point_indices(xyz.detach(), config.num_groups)
        centers = _gather(xyz, center_ids)  # (B, G, 3)
        distance = torch.cdist(centers, xyz)  # (B, G, P)
        neighbour_ids = distance.topk(config.group_size, dim=-1, largest=False).indices
        patches = _gather(points, neighbour_ids)  # (B, G, K, C)
        relative = patches[..., :3] - centers.unsqueeze(2)
        patches = torch.cat([relative, patches[..., 3:]], dim=-1)
        # 3. Patch tokens and 4. transformer mixing.
        tokens = self.patch_embed(patches) + self.center_embed(centers)
        tokens = self.norm(self.transformer(tokens))  # (B, G, D)
        # 5. Inverse-distance interpolation back to every point (PointNet++ propagation).
        point_to_center = rearrange(distance, "b g p -> b p g")
        nearest = point_to_center.topk(
            config.num_interpolation_neighbours, dim=-1, largest=False
        )  # (B, P, k)
        weights = 1.0 / (nearest.values + 1e-6)
        weights = weights / weights.sum(-1, keepdim=True)
        interpolated = (_gather(tokens, nearest.indices) * weights.unsqueeze(-1)).sum(2)
        point_features = self.point_fuse(interpolated + self.point_embed(points))
        return PointEncoderOutput(
            group_tokens=tokens, point_features=point_features, centers=centers
        )
