"""Condition renders: depth, instance masks and 2D keypoints from one camera."""

from __future__ import annotations

import json

import numpy as np

from openhoi.render import CONDITION_FILES, render_conditions


def test_conditions_are_consistent(tmp_path, laptop_sequence):
    renders = render_conditions(laptop_sequence, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(CONDITION_FILES)
    num_frames = laptop_sequence.num_frames
    assert renders.depth.shape == renders.masks.shape == (num_frames, 240, 320)
    assert set(np.unique(renders.masks)) == {0, 1, 2, 3}
    assert np.all((renders.depth > 0) == (renders.masks > 0))
    # Keypoints are the hand joints projected with the saved camera.
    with np.load(tmp_path / "keypoints.npz") as data:
        keypoints = data["keypoints"]
        assert keypoints.shape == (num_frames, 2, 21, 2) and data["in_image"].all()
    camera = json.loads((tmp_path / "camera.json").read_text())
    K, world_to_camera = np.array(camera["intrinsics"]), np.array(camera["world_to_camera"])
    joints = laptop_sequence.hand_joints("right")
    local = joints @ world_to_camera[:3, :3].T + world_to_camera[:3, 3]
    pixels = (local @ K.T)[..., :2] / local[..., 2:]
    np.testing.assert_allclose(keypoints[:, 1], pixels, atol=1e-3)
    # The surface seen at a fingertip pixel is the right hand, at about the tip's depth.
    u, v = np.floor(keypoints[0, 1, 17]).astype(int)
    if renders.masks[0, v, u] == 2:
        assert abs(renders.depth[0, v, u] - renders.keypoint_depth[0, 1, 17]) < 0.02
    with np.load(tmp_path / "masks.npz") as data:
        assert list(data["names"]) == ["background", "left_hand", "right_hand", "object"]
