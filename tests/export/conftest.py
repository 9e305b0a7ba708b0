"""Shared fixtures: small random sequences on a rigid and an articulated built-in object."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi import HOISequence


def random_sequence(object_name: str, num_frames: int = 12, seed: int = 0) -> HOISequence:
    """Random small poses around the object, random hand shapes, two sub-task segments."""
    rng = np.random.default_rng(seed)
    return HOISequence.from_parameters(
        left_pose=rng.normal(scale=0.3, size=(num_frames, 16, 3)),
        left_transl=rng.normal(scale=0.1, size=(num_frames, 3)) + np.array([-0.15, 0.0, 0.1]),
        right_pose=rng.normal(scale=0.3, size=(num_frames, 16, 3)),
        right_transl=rng.normal(scale=0.1, size=(num_frames, 3)) + np.array([0.15, 0.0, 0.1]),
        object_rotation=rng.normal(scale=0.3, size=(num_frames, 3)),
        object_transl=rng.normal(scale=0.05, size=(num_frames, 3)),
        object_angle=np.linspace(0.0, 1.2, num_frames),
        object_name=object_name,
        betas=rng.normal(scale=0.5, size=(2, 10)),
        fps=30.0,
        segment_starts=np.array([0, num_frames // 2]),
        texts=("grasp the object", "lift it up"),
    )


@pytest.fixture(params=["mug", "laptop"])
def sequence(request) -> HOISequence:
    return random_sequence(request.param)


def static_pose(angle: float = 0.7, translation=(0.35, 0.1, 0.0)) -> np.ndarray:
    """`(4, 4)` rigid transform: a turn of `angle` radians about z, then `translation` (m)."""
    from scipy.spatial.transform import Rotation

    pose = np.eye(4)
    pose[:3, :3] = Rotation.from_euler("z", angle).as_matrix()
    pose[:3, 3] = translation
    return pose


@pytest.fixture(scope="module")
def static_objects() -> list:
    """A cup and a rest-pose laptop beside the manipulated object, at fixed world poses."""
    from openhoi.objects import load_object

    return [
        (load_object("cup"), static_pose()),
        (load_object("laptop"), static_pose(-0.4, (-0.45, 0.05, 0.0))),
    ]
