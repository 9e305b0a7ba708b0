"""Rotation conversions between axis-angle, matrices and the continuous 6D form.

6D convention (Zhou et al. 2019, as in pytorch3d and Text2HOI): the first two
ROWS of the rotation matrix, flattened `[r00, r01, r02, r10, r11, r12]`. Decoding
Gram-Schmidt orthonormalises them and takes the cross product as the third row.
All functions are differentiable and accept any leading batch shape `(...)`.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "axis_angle_to_matrix",
    "matrix_to_axis_angle",
    "matrix_to_rotation_6d",
    "rotation_6d_to_matrix",
]

_EPS = 1e-8


def axis_angle_to_matrix(axis_angle: Tensor) -> Tensor:
    """Rodrigues' formula: `(..., 3)` axis-angle (radians) → `(..., 3, 3)` rotation matrices."""
    angle_sq = (axis_angle * axis_angle).sum(-1, keepdim=True)
    angle = torch.sqrt(angle_sq.clamp_min(_EPS * _EPS))
    small = angle_sq < 1e-12
    # sin(a)/a and (1-cos(a))/a^2 with their Taylor series near 0 so gradients stay finite.
    sinc = torch.where(small, 1.0 - angle_sq / 6.0, torch.sin(angle) / angle)
    cosc = torch.where(
        small, 0.5 - angle_sq / 24.0, (1.0 - torch.cos(angle)) / angle_sq.clamp_min(1e-12)
    )
    x, y, z = axis_angle.unbind(-1)
    zero = torch.zeros_like(x)
    skew = torch.stack([zero, -z, y, z, zero, -x, -y, x, zero], dim=-1).reshape(*x.shape, 3, 3)
    eye = torch.eye(3, dtype=axis_angle.dtype, device=axis_angle.device).expand_as(skew)
    return eye + sinc[..., None] * skew + cosc[..., None] * (skew @ skew)


def matrix_to_axis_angle(matrix: Tensor) -> Tensor:
    """`(..., 3, 3)` rotation matrices → `(..., 3)` axis-angle with angle in [0, π]."""
    # Through the quaternion: robust for all angles including π.
    m = matrix
    trace = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    candidates = torch.stack(
        [
            1.0 + trace,
            1.0 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
            1.0 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
            1.0 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
        ],
        dim=-1,
    )
    best = candidates.argmax(-1, keepdim=True)
    w_q = torch.stack(
        [
            1.0 + trace,
            m[..., 2, 1] - m[..., 1, 2],
            m[..., 0, 2] - m[..., 2, 0],
            m[..., 1, 0] - m[..., 0, 1],
        ],
        -1,
    )
    x_q = torch.stack(
        [
            m[..., 2, 1] - m[..., 1, 2],
            1.0 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
            m[..., 1, 0] + m[..., 0, 1],
            m[..., 0, 2] + m[..., 2, 0],
        ],
        -1,
    )
    y_q = torch.stack(
        [
            m[..., 0, 2] - m[..., 2, 0],
            m[..., 1, 0] + m[..., 0, 1],
            1.0 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
            m[..., 2, 1] + m[..., 1, 2],
        ],
        -1,
    )
    z_q = torch.stack(
        [
            m[..., 1, 0] - m[..., 0, 1],
            m[..., 0, 2] + m[..., 2, 0],
            m[..., 2, 1] + m[..., 1, 2],
            1.0 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
        ],
        -1,
    )
    quats = torch.stack([w_q, x_q, y_q, z_q], dim=-2)  # (..., 4 candidates, 4 comps)
    quat = torch.gather(quats, -2, best[..., None].expand(*best.shape[:-1], 1, 4)).squeeze(-2)
    quat = quat / quat.norm(dim=-1, keepdim=True).clamp_min(_EPS)
    quat = torch.where(quat[..., :1] < 0, -quat, quat)  # w >= 0 → angle in [0, π]
    sin_half = quat[..., 1:].norm(dim=-1, keepdim=True)
    angle = 2.0 * torch.atan2(sin_half, quat[..., :1])
    scale = torch.where(sin_half < 1e-6, 2.0 + angle**2 / 12.0, angle / sin_half.clamp_min(1e-12))
    return quat[..., 1:] * scale


def matrix_to_rotation_6d(matrix: Tensor) -> Tensor:
    """`(..., 3, 3)` → `(..., 6)`: the first two rows, flattened."""
    return matrix[..., :2, :].reshape(*matrix.shape[:-2], 6)


def rotation_6d_to_matrix(rot_6d: Tensor) -> Tensor:
    """`(..., 6)` → `(..., 3, 3)` via Gram-Schmidt; the inverse of `matrix_to_rotation_6d`."""
    a1, a2 = rot_6d[..., :3], rot_6d[..., 3:]
    b1 = torch.nn.functional.normalize(a1, dim=-1)
    b2 = torch.nn.functional.normalize(a2 - (b1 * a2).sum(-1, keepdim=True) * b1, dim=-1)
    b3 = torch.cross(b1, b2, dim=-1)
    return torch.stack([b1, b2, b3], dim=-2)
