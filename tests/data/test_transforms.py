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
