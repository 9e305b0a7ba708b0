"""Shared fixtures: a tiny synthetic hand in the MANO pickle format."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.hand.constants import FINGER_JOINTS, FINGER_NAMES, NUM_JOINTS, PARENTS


def tiny_mano_arrays() -> dict[str, np.ndarray]:
    """A 48-vertex hand skeleton: three vertices around each joint, one-hot skinning.

    Layout like MANO: fingers along -x, palm facing -y, thumb toward +z.
    """
    joints = np.zeros((NUM_JOINTS, 3))
    joints[0] = (0.09, 0.0, 0.0)
    lateral = {"index": 0.03, "middle": 0.01, "ring": -0.01, "pinky": -0.03}
    for finger, z in lateral.items():
        for n, joint in enumerate(FINGER_JOINTS[finger]):
            joints[joint] = (-0.035 * n, 0.0, z)
    for n, joint in enumerate(FINGER_JOINTS["thumb"]):
        joints[joint] = (0.07 - 0.03 * n, -0.005 * n, 0.03 + 0.025 * n)
    offsets = np.array([[0.0, 0.006, 0.0], [0.0, -0.003, 0.005], [0.0, -0.003, -0.005]])
    # Distal joints get their vertices pushed outward so they can be fingertips.
    vertices = []
    for joint in range(NUM_JOINTS):
        shift = np.zeros(3)
        if any(joint == FINGER_JOINTS[f][2] for f in FINGER_NAMES):
            parent = joints[PARENTS[joint]]
            shift = 0.5 * (joints[joint] - parent)
        vertices.append(joints[joint] + shift + offsets)
    vertices = np.concatenate(vertices)
    num = len(vertices)
    weights = np.zeros((num, NUM_JOINTS))
    weights[np.arange(num), np.arange(num) // 3] = 1.0
    regressor = np.zeros((NUM_JOINTS, num))
    for joint in range(NUM_JOINTS):
        regressor[joint, 3 * joint : 3 * joint + 3] = 1.0 / 3.0
    faces = np.array([[3 * j, 3 * j + 1, 3 * j + 2] for j in range(NUM_JOINTS)], dtype=np.int64)
    rng = np.random.default_rng(0)
    kintree = np.array([PARENTS, list(range(NUM_JOINTS))], dtype=np.int64)
    kintree[0, 0] = 4294967295
    return {
        "v_template": vertices,
        "shapedirs": rng.normal(scale=1e-3, size=(num, 3, 10)),
        "posedirs": np.zeros((num, 3, 135)),
        "J_regressor": regressor,
        "weights": weights,
        "kintree_table": kintree,
        "f": faces,
        "hands_components": np.eye(45),
        "hands_mean": np.zeros(45),
    }


@pytest.fixture
def tiny_arrays() -> dict[str, np.ndarray]:
    return tiny_mano_arrays()
