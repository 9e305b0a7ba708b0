"""Motion building blocks: minimum-jerk timing, pose blending, hands attached to objects."""

from __future__ import annotations

import numpy as np

from openhoi.data.transforms import minimum_jerk_at

__all__ = [
    "blend_poses",
    "minimum_jerk",
    "rest_transl_away",
]


def minimum_jerk(num_frames: int) -> np.ndarray:
    """`(num_frames,)` progress 0 → 1 of a minimum-jerk (quintic) profile, ends at rest."""
    if num_frames == 1:
        return np.ones(1)
    return minimum_jerk_at(np.linspace(0.0, 1.0, num_frames))


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


def rest_transl_away(side: str) -> np.ndarray:
    """A resting place for an idle hand: beside the object, off the table, out of the way."""
    return np.array([0.35 if side == "right" else -0.35, -0.30, 0.10])
