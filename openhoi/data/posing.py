"""Differentiable posing of batches of 208-D frames: hand joints/vertices and object poses.

The training losses of the motion model and the refinement losses both need, for a batch of
frames `(B, T, 208)` in metres (not normalised), the world-frame hand keypoints and
vertices and the object's pose per frame, with gradients back to the frames. This is the
one place that turns frames into geometry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from openhoi.data import layout
from openhoi.data.sequence import HAND_SIDES
from openhoi.errors import InputError
from openhoi.geometry import rotation_6d_to_matrix

if TYPE_CHECKING:
    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject

__all__ = ["PosedFrames", "object_part_transforms", "pose_frames"]


@dataclass(frozen=True)
class PosedFrames:
    """World-frame geometry of a batch of frames.

    Attributes:
        joints: side → `(B, T, 21, 3)` keypoints (16 MANO joints, then 5 tips), metres.
        vertices: side → `(B, T, V, 3)` hand vertices, or None when not asked for.
        object_rotation: `(B, T, 3, 3)` object rotation canonical → world.
        object_translation: `(B, T, 3)` metres.
        object_angle: `(B, T)` articulation angle, radians.
    """

    joints: dict[str, Tensor]
    vertices: dict[str, Tensor] | None
    object_rotation: Tensor
    object_translation: Tensor
    object_angle: Tensor


def pose_frames(
    frames: Tensor,
    hands: Mapping[str, HandModel],
    betas: Tensor | None = None,
    *,
    with_vertices: bool = True,
) -> PosedFrames:
    """Pose the hands in `hands` and the object for every frame of `frames`.

    Args:
        frames: `(B, T, 208)` frames in metres/radians (denormalised).
        hands: side → hand model; only these sides are posed.
        betas: `(B, 2, 10)` hand shapes (left row 0); zeros when None.
        with_vertices: also return the hand vertices (costlier).
    """
    if frames.ndim != 3 or frames.shape[-1] != layout.FRAME_DIM:
        raise InputError(
            f"frames must have shape (B, T, {layout.FRAME_DIM}), got {tuple(frames.shape)}"
        )
    batch, num_frames = frames.shape[:2]
    flat = frames.reshape(batch * num_frames, layout.FRAME_DIM)
    joints: dict[str, Tensor] = {}
    vertices: dict[str, Tensor] = {}
    for side, hand in hands.items():
        block = flat[:, layout.hand_slice(side)]
        pose = block[:, layout.HAND_GLOBAL_ORIENT.start :].reshape(-1, 16, 6)
        transl = block[:, layout.HAND_TRANSL]
        side_betas = None
        if betas is not None:
            side_betas = betas[:, HAND_SIDES.index(side)].repeat_interleave(num_frames, dim=0)
        if with_vertices:
            out = hand(pose, transl, side_betas)
            joints[side] = out.joints.reshape(batch, num_frames, -1, 3)
            vertices[side] = out.vertices.reshape(batch, num_frames, -1, 3)
        else:  # keypoints only: no skinning of the whole mesh
            keypoints = hand.keypoints(pose, transl, side_betas)
            joints[side] = keypoints.reshape(batch, num_frames, -1, 3)
    obj = frames[..., layout.OBJECT]
    return PosedFrames(
        joints=joints,
        vertices=vertices if with_vertices else None,
        object_rotation=rotation_6d_to_matrix(obj[..., layout.OBJECT_ROTATION]),
        object_translation=obj[..., layout.OBJECT_TRANSL],
        object_angle=obj[..., layout.OBJECT_ANGLE.start],
    )


def object_part_transforms(obj: HOIObject, posed: PosedFrames) -> list[Tensor]:
    """Per part, `(B·T, 4, 4)` canonical → world transforms (body pose ∘ articulation)."""
    rotation = posed.object_rotation.reshape(-1, 3, 3)
    translation = posed.object_translation.reshape(-1, 3)
    body = torch.cat([rotation, translation[:, :, None]], dim=2)
    bottom = body.new_tensor([0.0, 0.0, 0.0, 1.0]).expand(body.shape[0], 1, 4)
    body = torch.cat([body, bottom], dim=1)
    angles = posed.object_angle.reshape(-1)
    return [body @ obj.part_transform(part.name, angles).to(body.dtype) for part in obj.parts]
