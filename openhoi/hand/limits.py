"""Anatomical joint frames and joint limits for the 15 finger joints.

Each finger joint gets a frame built from the rest skeleton, so one definition works for
the embedded asset and for real MANO:

- twist axis   = bone direction (joint → child joint, or → fingertip for the last joint);
- flexion axis = twist × bend, where bend is the direction the finger curls toward (the palm
  normal for fingers; for the thumb the palm normal turned toward the little finger);
- abduction axis = the bend direction made perpendicular to the bone.

A joint's local rotation (MANO axis-angle, expressed in the rest-pose frame) is split into
its components along these axes: `angles = frames @ axis_angle`, in radians, ordered
(flexion, abduction, twist). Positive flexion curls the finger toward the palm. For the
left hand the abduction and twist axes are negated, so a pose and its mirror image
(:func:`openhoi.hand.mirror_pose`) have the same anatomical angles on either hand.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from openhoi.hand.constants import (
    FINGER_JOINTS,
    FINGER_NAMES,
    NUM_FINGER_JOINTS,
    THUMB_BEND_ANGLE_DEG,
    WRIST_JOINT,
)

__all__ = [
    "JointLimits",
    "anatomical_angles",
    "anatomical_frames",
    "angles_to_axis_angle",
    "bend_directions",
    "default_joint_limits",
    "limit_violation",
    "palm_axes",
    "side_sign",
]

# (flexion, abduction, twist) ranges in degrees per joint kind. Flexion > 0 curls toward the
# palm; the small negative flexion allows the slight hyperextension of a relaxed flat hand.
_LIMITS_DEG = {
    "mcp": ((-10.0, 90.0), (-20.0, 20.0), (-10.0, 10.0)),
    "pip": ((0.0, 110.0), (-5.0, 5.0), (-5.0, 5.0)),
    "dip": ((-5.0, 80.0), (-5.0, 5.0), (-5.0, 5.0)),
    "thumb_cmc": ((-20.0, 55.0), (-30.0, 30.0), (-25.0, 25.0)),
    "thumb_mcp": ((-10.0, 60.0), (-10.0, 10.0), (-10.0, 10.0)),
    "thumb_ip": ((-15.0, 80.0), (-5.0, 5.0), (-5.0, 5.0)),
}
_FINGER_KINDS = ("mcp", "pip", "dip")
_THUMB_KINDS = ("thumb_cmc", "thumb_mcp", "thumb_ip")


def side_sign(side: str) -> float:
    """+1 for the right hand, -1 for the left (its geometry is the mirror image)."""
    return 1.0 if side == "right" else -1.0


def _normalize(vector: np.ndarray) -> np.ndarray:
    return vector / np.linalg.norm(vector, axis=-1, keepdims=True)


def palm_axes(rest_joints: np.ndarray, side: str) -> tuple[np.ndarray, np.ndarray]:
    """Palm normal (pointing out of the palm) and radial axis (toward the thumb).

    Args:
        rest_joints: (16, 3) rest-pose joint positions, metres.
        side: "right" or "left".

    Returns:
        normal (3,) and radial (3,) unit vectors, orthogonal.
    """
    joints = np.asarray(rest_joints, dtype=np.float64)
    wrist = joints[WRIST_JOINT]
    index_mcp = joints[FINGER_JOINTS["index"][0]]
    pinky_mcp = joints[FINGER_JOINTS["pinky"][0]]
    normal = side_sign(side) * _normalize(np.cross(index_mcp - wrist, pinky_mcp - wrist))
    radial = index_mcp - pinky_mcp
    radial = _normalize(radial - radial.dot(normal) * normal)
    return normal, radial


def bend_directions(rest_joints: np.ndarray, side: str) -> np.ndarray:
    """(15, 3) direction each finger joint (joints 1..15) curls its bone toward."""
    normal, radial = palm_axes(rest_joints, side)
    angle = math.radians(THUMB_BEND_ANGLE_DEG)
    thumb_bend = _normalize(math.cos(angle) * normal - math.sin(angle) * radial)
    bends = np.tile(normal, (NUM_FINGER_JOINTS, 1))
    for joint in FINGER_JOINTS["thumb"]:
        bends[joint - 1] = thumb_bend
    return bends


def anatomical_frames(rest_joints: np.ndarray, tip_positions: np.ndarray, side: str) -> np.ndarray:
    """Per-joint anatomical frames from the rest skeleton.

    Args:
        rest_joints: (16, 3) rest-pose joints, metres.
        tip_positions: (5, 3) rest-pose fingertips in FINGER_NAMES order.
        side: "right" or "left".

    Returns:
        (15, 3, 3) float64; row 0 flexion axis, row 1 abduction axis, row 2 twist axis of
        joint j + 1, each a unit vector in the rest-pose (world) frame.
    """
    joints = np.asarray(rest_joints, dtype=np.float64)
    tips = np.asarray(tip_positions, dtype=np.float64)
    bends = bend_directions(joints, side)
    sign = side_sign(side)
    frames = np.zeros((NUM_FINGER_JOINTS, 3, 3))
    for finger_index, finger in enumerate(FINGER_NAMES):
        chain = FINGER_JOINTS[finger]
        children = [joints[chain[1]], joints[chain[2]], tips[finger_index]]
        for joint, child in zip(chain, children, strict=True):
            twist = _normalize(child - joints[joint])
            bend = bends[joint - 1]
            bend = _normalize(bend - bend.dot(twist) * twist)
            flexion = np.cross(twist, bend)
            frames[joint - 1] = np.stack([flexion, sign * bend, sign * twist])
    return frames


@dataclass(frozen=True)
class JointLimits:
    """Anatomical angle limits of the 15 finger joints (joint j + 1 in row j).

    lower, upper: (15, 3) radians, columns (flexion, abduction, twist).
    """

    lower: np.ndarray
    upper: np.ndarray


def default_joint_limits() -> JointLimits:
    """The limits of `_LIMITS_DEG` laid out in MANO joint order."""
    lower = np.zeros((NUM_FINGER_JOINTS, 3))
    upper = np.zeros((NUM_FINGER_JOINTS, 3))
    for finger in FINGER_NAMES:
        kinds = _THUMB_KINDS if finger == "thumb" else _FINGER_KINDS
        for joint, kind in zip(FINGER_JOINTS[finger], kinds, strict=True):
            ranges = np.radians(np.asarray(_LIMITS_DEG[kind]))
            lower[joint - 1], upper[joint - 1] = ranges[:, 0], ranges[:, 1]
    return JointLimits(lower=lower, upper=upper)


def anatomical_angles(finger_pose: Tensor, frames: Tensor) -> Tensor:
    """(B, 15, 3) axis-angle of joints 1..15 → (B, 15, 3) (flexion, abduction, twist) rad."""
    return torch.einsum("jkc,bjc->bjk", frames, finger_pose)


def angles_to_axis_angle(angles: Tensor, frames: Tensor) -> Tensor:
    """Inverse of :func:`anatomical_angles`: (B, 15, 3) angles → (B, 15, 3) axis-angle."""
    return torch.einsum("jkc,bjk->bjc", frames, angles)


def limit_violation(angles: Tensor, lower: Tensor, upper: Tensor) -> Tensor:
    """Sum over joints and axes of the squared excess beyond the limits, (B,) radians²."""
    excess = torch.relu(angles - upper) + torch.relu(lower - angles)
    return (excess * excess).sum(dim=(-2, -1))
