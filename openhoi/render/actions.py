"""HandWorld's 138-D per-frame action: camera extrinsics and both hands' 21 joints.

Layout of one row of `actions.npy` (float32, `(T, 138)`):

- `[0:9]`   R, the world → camera rotation (OpenCV axes, as in camera.json), row-major;
- `[9:12]`  t, the world → camera translation, metres (x_camera = R x_world + t);
- `[12:75]` the left hand's 21 keypoints in the camera frame, metres, `(21, 3)` row-major;
- `[75:138]` the right hand's 21 keypoints, likewise.

Keypoints are openhoi's 21 (16 MANO joints, then the index, middle, pinky, ring and thumb
tips; `openhoi.hand.KEYPOINT_NAMES`). `decode_actions` inverts `encode_actions` and also
returns the joints in the world frame (x_world = Rᵀ (x_camera − t)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from openhoi.errors import InputError

__all__ = ["ACTION_DIM", "ACTION_SLICES", "HandActions", "decode_actions", "encode_actions"]

NUM_HAND_KEYPOINTS = 21
ACTION_SLICES = {
    "rotation": slice(0, 9),
    "translation": slice(9, 12),
    "left_joints": slice(12, 12 + 3 * NUM_HAND_KEYPOINTS),
    "right_joints": slice(12 + 3 * NUM_HAND_KEYPOINTS, 12 + 6 * NUM_HAND_KEYPOINTS),
}
ACTION_DIM = ACTION_SLICES["right_joints"].stop  # 138


@dataclass(frozen=True)
class HandActions:
    """Decoded actions.

    Attributes:
        rotation: `(T, 3, 3)` world → camera rotations.
        translation: `(T, 3)` world → camera translations, metres.
        joints_camera: `(T, 2, 21, 3)` left (0) and right (1) keypoints, camera frame, metres.
        joints_world: `(T, 2, 21, 3)` the same keypoints in the world frame, metres.
    """

    rotation: np.ndarray
    translation: np.ndarray
    joints_camera: np.ndarray
    joints_world: np.ndarray


def encode_actions(
    rotation: np.ndarray, translation: np.ndarray, joints_world: np.ndarray
) -> np.ndarray:
    """`(T, 138)` float32 actions from extrinsics and world-frame joints.

    Args:
        rotation: `(T, 3, 3)` world → camera rotations.
        translation: `(T, 3)` world → camera translations, metres.
        joints_world: `(T, 2, 21, 3)` left and right keypoints, world frame, metres.
    """
    rotation = np.asarray(rotation, np.float64)
    translation = np.asarray(translation, np.float64)
    joints_world = np.asarray(joints_world, np.float64)
    num_frames = len(rotation)
    if (
        rotation.shape != (num_frames, 3, 3)
        or translation.shape != (num_frames, 3)
        or joints_world.shape != (num_frames, 2, NUM_HAND_KEYPOINTS, 3)
    ):
        raise InputError(
            "encode_actions needs rotation (T, 3, 3), translation (T, 3) and joints "
            f"(T, 2, 21, 3); got {rotation.shape}, {translation.shape}, {joints_world.shape}"
        )
    camera = np.einsum("tij,thkj->thki", rotation, joints_world) + translation[:, None, None]
    return np.concatenate(
        [rotation.reshape(num_frames, 9), translation, camera.reshape(num_frames, -1)], axis=1
    ).astype(np.float32)


def decode_actions(actions: np.ndarray) -> HandActions:
    """Split `(T, 138)` actions into extrinsics and joints (see the module docstring)."""
    actions = np.asarray(actions, np.float64)
    if actions.ndim != 2 or actions.shape[1] != ACTION_DIM:
        raise InputError(f"actions must be (T, {ACTION_DIM}), got shape {actions.shape}")
    num_frames = len(actions)
    rotation = actions[:, ACTION_SLICES["rotation"]].reshape(num_frames, 3, 3)
    translation = actions[:, ACTION_SLICES["translation"]]
    joints_camera = np.stack(
        [
            actions[:, ACTION_SLICES[f"{side}_joints"]].reshape(num_frames, NUM_HAND_KEYPOINTS, 3)
            for side in ("left", "right")
        ],
        axis=1,
    )
    joints_world = np.einsum("tji,thkj->thki", rotation, joints_camera - translation[:, None, None])
    return HandActions(rotation, translation, joints_camera, joints_world)
