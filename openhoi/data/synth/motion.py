"""Motion building blocks: minimum-jerk timing, pose blending, hands attached to objects."""

from __future__ import annotations

import numpy as np
import torch

from openhoi.geometry import axis_angle_to_matrix, matrix_to_axis_angle

__all__ = [
    "blend_poses",
    "hand_in_world",
    "minimum_jerk",
    "rest_transl_away",
]


def minimum_jerk(num_frames: int) -> np.ndarray:
    """`(num_frames,)` progress 0 → 1 of a minimum-jerk (quintic) profile, ends at rest."""
    if num_frames == 1:
        return np.ones(1)
    s = np.linspace(0.0, 1.0, num_frames)
    return 10 * s**3 - 15 * s**4 + 6 * s**5


def blend_poses(start: np.ndarray, end: np.ndarray, progress: np.ndarray) -> np.ndarray:
    """Per-joint slerp between `(J, 3)` axis-angle poses → `(T, J, 3)` at `progress` (T,)."""
    from scipy.spatial.transform import Rotation, Slerp

    start = np.asarray(start, np.float64).reshape(-1, 3)
    end = np.asarray(end, np.float64).reshape(-1, 3)
    out = np.empty((len(progress), len(start), 3))
    for joint in range(len(start)):
        keys = Rotation.from_rotvec(np.stack([start[joint], end[joint]]))
        out[:, joint] = Slerp([0.0, 1.0], keys)(np.clip(progress, 0.0, 1.0)).as_rotvec()
    return out


def hand_in_world(
    local_orient: np.ndarray,
    local_transl: np.ndarray,
    rest_wrist: np.ndarray,
    object_rotation: np.ndarray,
    object_transl: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A hand fixed in an object's frame, moved with the object (MANO root correction).

    MANO poses vertices as `x = G (x_rest − J0) + J0 + transl`, rotating about the rest wrist
    `J0`. Applying the object pose `(R, t)` gives global orient `R G` and translation
    `R (J0 + transl) + t − J0`.

    Args:
        local_orient: `(3,)` global orientation (axis-angle) in the object frame.
        local_transl: `(3,)` MANO translation in the object frame, metres.
        rest_wrist: `(3,)` rest wrist joint `J0` of the hand shape.
        object_rotation: `(T, 3, 3)` object rotations; object_transl: `(T, 3)`.

    Returns:
        `(T, 3)` world global orientation (axis-angle) and `(T, 3)` world translations.
    """
    local = axis_angle_to_matrix(torch.as_tensor(local_orient, dtype=torch.float64)).numpy()
    world = np.einsum("tij,jk->tik", object_rotation, local)
    orient = matrix_to_axis_angle(torch.from_numpy(world)).numpy()
    transl = (
        np.einsum("tij,j->ti", object_rotation, rest_wrist + local_transl)
        + object_transl
        - rest_wrist
    )
    return orient, transl


def rest_transl_away(side: str) -> np.ndarray:
    """A resting place for an idle hand: beside the object, off the table, out of the way."""
    return np.array([0.35 if side == "right" else -0.35, -0.30, 0.10])
