"""Vertex regions of a hand mesh derived generically from skinning weights and geometry.

Used for real MANO (whose zones are not shipped) and by the asset builder, so the embedded
asset's stored zones follow the same rule.
"""

from __future__ import annotations

import numpy as np

from openhoi.hand.constants import (
    FINGER_JOINTS,
    FINGER_NAMES,
    WRIST_JOINT,
    ZONE_FINGER_MIN_COS,
    ZONE_PALM_MIN_COS,
    ZONE_PALM_SPAN,
)
from openhoi.hand.limits import bend_directions, palm_axes

__all__ = ["contact_zones", "fingertip_vertex_ids", "vertex_normals"]


def vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(V, 3) unit area-weighted vertex normals of a mesh with outward (CCW) faces."""
    vertices = np.asarray(vertices, dtype=np.float64)
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    return normals / np.maximum(length, np.finfo(np.float64).tiny)


def fingertip_vertex_ids(vertices: np.ndarray, weights: np.ndarray, rest_joints: np.ndarray):
    """Per finger (FINGER_NAMES order) the vertex of its last segment farthest from the wrist.

    Args:
        vertices: (V, 3) rest vertices. weights: (V, 16) skinning weights.
        rest_joints: (16, 3) rest joints.

    Returns:
        (5,) int64 vertex ids.
    """
    dominant = np.asarray(weights).argmax(axis=1)
    distance = np.linalg.norm(np.asarray(vertices) - rest_joints[WRIST_JOINT], axis=1)
    tips = []
    for finger in FINGER_NAMES:
        candidates = np.flatnonzero(dominant == FINGER_JOINTS[finger][2])
        if candidates.size == 0:
            candidates = np.flatnonzero(dominant == FINGER_JOINTS[finger][1])
        if candidates.size == 0:
            candidates = np.arange(len(distance))
        tips.append(candidates[np.argmax(distance[candidates])])
    return np.asarray(tips, dtype=np.int64)


def contact_zones(
    vertices: np.ndarray,
    faces: np.ndarray,
    weights: np.ndarray,
    rest_joints: np.ndarray,
    side: str,
) -> dict[str, np.ndarray]:
    """Palmar contact zones: per finger its middle+distal segments, and the palm.

    Args:
        vertices: (V, 3) rest vertices, metres. faces: (F, 3) outward faces.
        weights: (V, 16) skinning weights. rest_joints: (16, 3). side: "right" or "left".

    Returns:
        dict zone name (ZONE_NAMES) → sorted int64 vertex ids.
    """
    rest_joints = np.asarray(rest_joints, dtype=np.float64)
    normals = vertex_normals(vertices, faces)
    dominant = np.asarray(weights).argmax(axis=1)
    bends = bend_directions(rest_joints, side)
    zones: dict[str, np.ndarray] = {}
    for finger in FINGER_NAMES:
        _, middle_joint, distal_joint = FINGER_JOINTS[finger]
        on_segments = np.isin(dominant, (middle_joint, distal_joint))
        facing = normals @ bends[distal_joint - 1] > ZONE_FINGER_MIN_COS
        zones[finger] = np.flatnonzero(on_segments & facing).astype(np.int64)

    normal, _ = palm_axes(rest_joints, side)
    wrist = rest_joints[WRIST_JOINT]
    palm_axis = rest_joints[FINGER_JOINTS["middle"][0]] - wrist
    along = (np.asarray(vertices) - wrist) @ palm_axis / palm_axis.dot(palm_axis)
    in_palm = (along >= ZONE_PALM_SPAN[0]) & (along <= ZONE_PALM_SPAN[1])
    facing = normals @ normal > ZONE_PALM_MIN_COS
    zones["palm"] = np.flatnonzero((dominant == WRIST_JOINT) & in_palm & facing).astype(np.int64)
    return zones
