"""How the denoiser sees a frame: world frames ↔ the model's (object-centric) frames.

The 208-D frame of the data contract holds both hands in the world frame. A held object
and the hand holding it then move together in the world, and a model has to produce two
trajectories that agree to the millimetre for the grasp to survive; reaching a region
means producing its world position from a point cloud. In the object-centric
representation (`kind="object_centric"`) an *acting* hand's wrist position and global
orientation are written in the object's frame, relative to the segment's affordance
anchor (the mask-weighted centroid of the condition points, canonical frame):

    R_rel = R_obj^T R_hand,        p = R_obj^T (transl + J0 − t_obj) − anchor

with J0 a fixed wrist pivot per side (MANO rotates the hand about its rest wrist, so
transl + J0 is where the wrist is). While an object is held, R_rel and p stay constant
whatever the object does; a grasp on the region is a few centimetres of p on any object.
Idle hands stay in the world frame (they rest beside the person), finger joints and the
object block are unchanged. Which hands act comes from the condition (known when
sampling), so the change of variables is exact and invertible for any frames:
`decode(encode(x)) == x` up to float rounding, for any pivot.

`kind="world"` is the identity (models trained before this module used it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from openhoi.data import layout
from openhoi.errors import InputError
from openhoi.geometry import matrix_to_rotation_6d, rotation_6d_to_matrix

__all__ = ["REPRESENTATIONS", "FrameCodec", "affordance_anchor", "default_wrist_pivot"]

REPRESENTATIONS = ("world", "object_centric")
SIDES = ("left", "right")
# Below this total mask weight a mask counts as empty: the anchor is the points' centroid.
_EMPTY_MASK = 1e-6


def default_wrist_pivot() -> list[list[float]]:
    """Rest wrist joint J0 of the embedded left and right hands (zero betas), metres."""
    from openhoi.hand import HandModel

    return [[float(v) for v in HandModel(side).rest_joints()[0, 0]] for side in SIDES]


def affordance_anchor(object_points: Tensor, affordance: Tensor) -> Tensor:
    """`(B, P, ≥3)` canonical points, `(B, P)` mask → `(B, 3)` mask-weighted centroid.

    An empty mask (unconditional bridges) anchors at the centroid of all points.
    """
    xyz = object_points[..., :3].float()
    weight = affordance.float().clamp(0.0, 1.0)
    total = weight.sum(dim=1, keepdim=True)
    uniform = torch.full_like(weight, 1.0 / weight.shape[1])
    weight = torch.where(total > _EMPTY_MASK, weight / total.clamp_min(_EMPTY_MASK), uniform)
    return torch.einsum("bp,bpc->bc", weight, xyz)


@dataclass(frozen=True)
class FrameCodec:
    """The change of variables between world frames and the denoiser's frames.

    kind: "world" (identity) or "object_centric" (see the module docstring).
    wrist_pivot: `[[x, y, z], [x, y, z]]` J0 of the left and right hand, metres
        (`default_wrist_pivot()`); stored with a model so decoding stays exact.
    """

    kind: str = "world"
    wrist_pivot: Sequence[Sequence[float]] | None = None

    def __post_init__(self) -> None:
        if self.kind not in REPRESENTATIONS:
            raise InputError(f"representation must be one of {REPRESENTATIONS}, got {self.kind!r}")
        if self.kind == "object_centric":
            pivot = self.wrist_pivot
            if pivot is None or len(pivot) != 2 or any(len(row) != 3 for row in pivot):
                raise InputError(
                    "an object_centric representation needs wrist_pivot [[x, y, z], [x, y, z]] "
                    f"(left, right), got {pivot!r}"
                )

    @property
    def is_identity(self) -> bool:
        """True for the world representation."""
        return self.kind == "world"

    def encode(self, frames: Tensor, anchor: Tensor, active: Tensor) -> Tensor:
        """World frames `(B, T, 208)` → model frames, for anchors `(B, 3)`, active `(B, 2)`."""
        return self._convert(frames, anchor, active, inverse=False)

    def decode(self, frames: Tensor, anchor: Tensor, active: Tensor) -> Tensor:
        """Model frames `(B, T, 208)` → world frames (differentiable; the inverse of encode)."""
        return self._convert(frames, anchor, active, inverse=True)

    def _convert(self, frames: Tensor, anchor: Tensor, active: Tensor, *, inverse: bool) -> Tensor:
        if self.is_identity:
            return frames
        if frames.ndim != 3 or frames.shape[-1] != layout.FRAME_DIM:
            raise InputError(
                f"frames must have shape (B, T, {layout.FRAME_DIM}), got {tuple(frames.shape)}"
            )
        batch = frames.shape[0]
        if anchor.shape != (batch, 3) or active.shape != (batch, 2):
            raise InputError(
                f"anchor must have shape ({batch}, 3) and active ({batch}, 2), got "
                f"{tuple(anchor.shape)} and {tuple(active.shape)}"
            )
        obj = frames[..., layout.OBJECT]
        r_obj = rotation_6d_to_matrix(obj[..., layout.OBJECT_ROTATION])  # (B, T, 3, 3)
        t_obj = obj[..., layout.OBJECT_TRANSL]  # (B, T, 3)
        anchor = anchor.to(frames)[:, None]  # (B, 1, 3)
        pivot = torch.as_tensor(self.wrist_pivot, dtype=frames.dtype, device=frames.device)
        blocks = []
        for k, side in enumerate(SIDES):
            block = frames[..., layout.hand_slice(side)]
            transl = block[..., layout.HAND_TRANSL]
            rot = rotation_6d_to_matrix(block[..., layout.HAND_GLOBAL_ORIENT])
            if inverse:  # object frame → world
                new_rot = r_obj @ rot
                wrist = torch.einsum("btij,btj->bti", r_obj, transl + anchor) + t_obj
                new_transl = wrist - pivot[k]
            else:  # world → object frame
                new_rot = r_obj.transpose(-1, -2) @ rot
                wrist = transl + pivot[k] - t_obj
                new_transl = torch.einsum("btji,btj->bti", r_obj, wrist) - anchor
            converted = torch.cat(
                [new_transl, matrix_to_rotation_6d(new_rot), block[..., layout.HAND_FINGERS]],
                dim=-1,
            )
            acting = active[:, k].bool().view(batch, 1, 1)
            blocks.append(torch.where(acting, converted, block))
        return torch.cat([*blocks, obj], dim=-1)
