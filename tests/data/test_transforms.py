"""Rigid moves of whole sequences keep every hand vertex and the object rigidly attached."""

from __future__ import annotations

import numpy as np
import torch

from openhoi import HOISequence
from openhoi.data.transforms import transform_sequence
from openhoi.geometry import axis_angle_to_matrix


def test_transform_sequence_moves_geometry_rigidly():
    rng = np.random.default_rng(0)
    seq = HOISequence.from_parameters(
        left_pose=rng.normal(scale=0.3, size=(4, 16, 3)),
        left_transl=rng.normal(scale=0.1, size=(4, 3)),
        right_pose=rng.normal(scale=0.3, size=(4, 16, 3)),
        right_transl=rng.normal(scale=0.1, size=(4, 3)),
        object_rotation=rng.normal(scale=0.5, size=(4, 3)),
        object_transl=rng.normal(scale=0.1, size=(4, 3)),
        betas=rng.normal(scale=0.5, size=(2, 10)),
        object_name="mug",
    )
    rotation = axis_angle_to_matrix(torch.tensor([0.2, -0.4, 1.1])).numpy()
    translation = np.array([0.3, -0.1, 0.05])
    moved = transform_sequence(seq, rotation, translation)
    for side in ("left", "right"):
        before = seq.hand_vertices(side)
        after = moved.hand_vertices(side)
        np.testing.assert_allclose(after, before @ rotation.T + translation, atol=2e-5)
    np.testing.assert_allclose(
        moved.object_vertices(), seq.object_vertices() @ rotation.T + translation, atol=2e-5
    )


def test_smooth_frames_removes_jitter_and_keeps_the_course():
    from openhoi.data.transforms import smooth_frames

    num = 60
    rng = np.random.default_rng(0)
    course = np.linspace([0.0, -0.1, 0.1], [0.3, 0.0, 0.25], num)
    clean = HOISequence.from_parameters(
        right_pose=np.zeros((num, 16, 3)),
        right_transl=course,
        object_transl=np.linspace([0.0, 0, 0], [0.2, 0, 0], num),
        object_name="mug",
        texts=("carry",),
    )
    # Constant-velocity motion passes unchanged (the ends are padded by point reflection).
    np.testing.assert_allclose(smooth_frames(clean.frames, 2.0), clean.frames, atol=1e-6)
    # Jitter on the wrist path and the finger rotations is damped; the end frames stay put.
    pose = rng.normal(scale=0.05, size=(num, 16, 3))
    noisy = HOISequence.from_parameters(
        right_pose=pose,
        right_transl=course + rng.normal(scale=0.003, size=course.shape),
        object_name="mug",
        texts=("carry",),
    )
    smoothed = noisy.replace(frames=smooth_frames(noisy.frames, 2.0))

    def jerk(sequence):
        return np.abs(np.diff(sequence.hand_translation("right"), n=3, axis=0)).mean()

    assert jerk(smoothed) < 0.2 * jerk(noisy)
    np.testing.assert_array_equal(smoothed.frames[[0, -1]], noisy.frames[[0, -1]])
    rotations = smoothed.object_rotation()
    np.testing.assert_allclose(
        rotations @ np.swapaxes(rotations, -1, -2),
        np.broadcast_to(np.eye(3), rotations.shape),
        atol=1e-5,
    )
    assert np.array_equal(smooth_frames(noisy.frames, 0.0), noisy.frames)
