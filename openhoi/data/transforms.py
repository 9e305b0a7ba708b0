"""Rigid transforms of MANO parameters and of whole sequences (with the root-joint correction).

MANO poses its mesh about the rest wrist joint J0(β), not about the origin, so moving a
posed hand by a rigid transform changes its `transl` by more than the transform's
translation. Every frame change of hands (camera → world in H2O, composing canonical
segments, attaching a hand to a moving object) goes through `transform_mano_rigidly`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from openhoi.data import layout
from openhoi.data.sequence import HAND_SIDES, HOISequence
from openhoi.errors import InputError
from openhoi.geometry import matrix_to_rotation_6d, rotation_6d_to_matrix

if TYPE_CHECKING:
    from openhoi.hand import HandModel

__all__ = [
    "canonical_transform",
    "chain_segments",
    "minimum_jerk_at",
    "orthonormalise_frames",
    "smooth_frames",
    "transform_mano_rigidly",
    "transform_sequence",
]


def canonical_transform(rotation: np.ndarray, transl: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World change `x → R x + t` putting an object with this pose at x = y = 0, zero yaw.

    The segment convention of SynthHOI (and of every generated segment): the world is
    translated and turned about z so the object starts at x = y = 0 with zero yaw; its
    height and tilt are kept, so the table stays at z = 0. The yaw is read from the object's
    x axis, or from its y axis when x points (nearly) up.
    """
    rotation = np.asarray(rotation, np.float64)
    x = rotation[:, 0]
    if np.hypot(x[0], x[1]) < 0.2:
        y = rotation[:, 1]
        yaw = np.arctan2(y[1], y[0]) - np.pi / 2
    else:
        yaw = np.arctan2(x[1], x[0])
    c, s = np.cos(-yaw), np.sin(-yaw)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    shift = -rot @ np.array([transl[0], transl[1], 0.0])
    return rot, shift


def transform_mano_rigidly(
    rotation: np.ndarray,
    translation: np.ndarray,
    global_orient: np.ndarray,
    transl: np.ndarray,
    wrist_rest: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """MANO global orient and `transl` after moving the posed hand by x ↦ R x + t.

    MANO poses its mesh as `M(θ, β) + transl`, where the global rotation G turns the
    mesh about the rest wrist joint J0(β), not about the origin. Moving that mesh by
    (R, t) gives `R (G (x − J0) + J0 + transl) + t = R G (x − J0) + J0 + transl'`, so

        G' = R · G,        transl' = R (transl + J0) + t − J0.

    Args:
        rotation: `(3, 3)` or `(T, 3, 3)` rigid rotation R.
        translation: `(3,)` or `(T, 3)` rigid translation t, metres.
        global_orient: `(T, 3, 3)` MANO global rotation G.
        transl: `(T, 3)` MANO translation, metres.
        wrist_rest: `(T, 3)` or `(3,)` rest wrist joint J0 for the hand's betas, metres.

    Returns:
        `(T, 3, 3)` new global orient and `(T, 3)` new translation.
    """
    global_orient = np.asarray(global_orient, np.float64)
    num_frames = global_orient.shape[0]
    rotation = np.broadcast_to(np.asarray(rotation, np.float64), (num_frames, 3, 3))
    translation = np.broadcast_to(np.asarray(translation, np.float64), (num_frames, 3))
    wrist = np.broadcast_to(np.asarray(wrist_rest, np.float64), (num_frames, 3))
    new_orient = rotation @ global_orient
    new_transl = (
        np.einsum("tij,tj->ti", rotation, np.asarray(transl, np.float64) + wrist)
        + translation
        - wrist
    )
    return new_orient, new_transl


def transform_sequence(
    sequence: HOISequence,
    rotation: np.ndarray,
    translation: np.ndarray,
    hands: Mapping[str, HandModel] | None = None,
) -> HOISequence:
    """Move a whole sequence (both hands and the object) by x ↦ R x + t.

    Args:
        sequence: the sequence to move.
        rotation: `(3, 3)` rotation R; translation: `(3,)` metres.
        hands: side → hand model giving the rest wrist J0 for the sequence's betas
            (default: the embedded hand).
    """
    from openhoi.hand import HandModel

    rotation = np.asarray(rotation, np.float64)
    translation = np.asarray(translation, np.float64)
    frames = np.array(sequence.frames, np.float64)
    for index, side in enumerate(HAND_SIDES):
        hand = (hands or {}).get(side) or HandModel(side=side)
        betas = torch.from_numpy(np.array(sequence.betas[index : index + 1]))
        wrist = hand.rest_joints(betas)[0, 0].double().numpy()
        block = layout.hand_slice(side)
        orient6d = frames[:, block][:, layout.HAND_GLOBAL_ORIENT]
        orient = rotation_6d_to_matrix(torch.from_numpy(orient6d)).numpy()
        transl = frames[:, block][:, layout.HAND_TRANSL]
        new_orient, new_transl = transform_mano_rigidly(
            rotation, translation, orient, transl, wrist
        )
        start = block.start
        frames[:, start + layout.HAND_TRANSL.start : start + layout.HAND_TRANSL.stop] = new_transl
        frames[
            :, start + layout.HAND_GLOBAL_ORIENT.start : start + layout.HAND_GLOBAL_ORIENT.stop
        ] = matrix_to_rotation_6d(torch.from_numpy(new_orient)).numpy()
    start = layout.OBJECT.start
    obj_rot = rotation_6d_to_matrix(
        torch.from_numpy(
            frames[:, start + layout.OBJECT_ROTATION.start : start + layout.OBJECT_ROTATION.stop]
        )
    ).numpy()
    frames[:, start + layout.OBJECT_ROTATION.start : start + layout.OBJECT_ROTATION.stop] = (
        matrix_to_rotation_6d(torch.from_numpy(rotation @ obj_rot)).numpy()
    )
    obj_t = frames[:, start + layout.OBJECT_TRANSL.start : start + layout.OBJECT_TRANSL.stop]
    frames[:, start + layout.OBJECT_TRANSL.start : start + layout.OBJECT_TRANSL.stop] = (
        obj_t @ rotation.T + translation
    )
    return sequence.replace(frames=frames.astype(np.float32))


def chain_segments(
    segments: Sequence[HOISequence], hands: Mapping[str, HandModel] | None = None
) -> list[HOISequence]:
    """Each segment moved so its first object pose equals the previous segment's last."""
    if not segments:
        raise InputError("chain_segments needs at least one segment")
    chained = [segments[0]]
    for segment in segments[1:]:
        previous = chained[-1]
        end = previous.object_transforms()[-1].astype(np.float64)
        start = segment.object_transforms()[0].astype(np.float64)
        rotation = end[:3, :3] @ start[:3, :3].T
        translation = end[:3, 3] - rotation @ start[:3, 3]
        moved = transform_sequence(segment, rotation, translation, hands)
        # The articulation carries over too: shift the angle track to start where it ended.
        angle_column = layout.OBJECT.start + layout.OBJECT_ANGLE.start
        frames = np.array(moved.frames)
        frames[:, angle_column] += previous.object_angle()[-1] - segment.object_angle()[0]
        chained.append(moved.replace(frames=frames))
    return chained


def orthonormalise_frames(frames: torch.Tensor) -> torch.Tensor:
    """`(T, 208)` frames with every 6D block re-encoded as exact rotation rows."""
    out = frames.clone()
    columns = []
    for block in (layout.LEFT_HAND, layout.RIGHT_HAND):
        start = block.start + layout.HAND_GLOBAL_ORIENT.start
        columns += [range(start + 6 * j, start + 6 * j + 6) for j in range(16)]
    start = layout.OBJECT.start + layout.OBJECT_ROTATION.start
    columns.append(range(start, start + 6))
    index = torch.tensor([list(c) for c in columns])
    out[:, index] = matrix_to_rotation_6d(rotation_6d_to_matrix(frames[:, index]))
    return out


def smooth_frames(frames: np.ndarray, sigma: float) -> np.ndarray:
    """`(T, 208)` frames low-passed in time by a Gaussian of `sigma` frames.

    Removes frame-to-frame jitter (a sampled segment's fingers, say) while keeping its
    course: the ends are padded by point reflection about the first and last frames, so
    both end frames stay exactly where they were and motion at constant velocity passes
    unchanged. Every channel is filtered, then each 6D rotation is re-orthonormalised.
    `sigma` 0 returns the frames as they are.
    """
    from scipy.ndimage import gaussian_filter1d

    frames = np.asarray(frames, np.float32)
    if sigma < 0:
        raise InputError(f"sigma must be >= 0, got {sigma}")
    if sigma == 0 or len(frames) < 3:
        return frames.copy()
    data = frames.astype(np.float64)
    pad = min(int(np.ceil(3 * sigma)), len(data) - 1)
    head = 2 * data[:1] - data[pad:0:-1]
    tail = 2 * data[-1:] - data[-2 : -pad - 2 : -1]
    padded = np.concatenate([head, data, tail])
    smoothed = gaussian_filter1d(padded, sigma, axis=0, mode="nearest", truncate=3.0)
    smoothed = smoothed[pad : pad + len(data)].astype(np.float32)
    out = orthonormalise_frames(torch.from_numpy(smoothed)).numpy()
    out[[0, -1]] = frames[[0, -1]]  # exact, not merely to float rounding
    return out


def minimum_jerk_at(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk (quintic) progress 10s³ − 15s⁴ + 6s⁵ at normalised times `s` in [0, 1]."""
    s = np.asarray(s, np.float64)
    return 10 * s**3 - 15 * s**4 + 6 * s**5
