"""BVH export: hierarchy, frame time, and forward kinematics that reproduce the MANO joints."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.errors import InputError
from openhoi.export import export_sequence
from openhoi.export.bvh import read_bvh, write_bvh
from openhoi.hand import JOINT_NAMES

Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])


def test_bvh_round_trip_matches_hand_joints(tmp_path, sequence):
    motion = read_bvh(write_bvh(tmp_path / "sequence.bvh", sequence))
    assert motion.motion.shape[0] == sequence.num_frames
    assert motion.frame_time == pytest.approx(1.0 / sequence.fps)
    assert motion.names[0] == "hands" and motion.parents[0] == -1
    positions = motion.joint_positions() @ Y_UP_TO_Z_UP.T  # back to z up
    for side in ("left", "right"):
        names = [f"{side}_{name}" for name in JOINT_NAMES]
        index = [motion.names.index(name) for name in names]
        assert motion.parents[index[0]] == 0
        assert motion.channels[index[0]][:3] == ("Xposition", "Yposition", "Zposition")
        assert all(motion.channels[i] == ("Zrotation", "Yrotation", "Xrotation") for i in index[1:])
        error = np.abs(positions[:, index] - sequence.hand_joints(side)[:, :16]).max()
        assert error < 1e-3, f"{side}: {error * 1000:.3f} mm"


def test_bvh_via_registry_and_bad_input(tmp_path, sequence):
    path = export_sequence(sequence, tmp_path, "bvh")
    assert path.name == "sequence.bvh"
    assert len(read_bvh(path).names) == 1 + 2 * 16
    with pytest.raises(InputError, match=r"\.bvh"):
        write_bvh(tmp_path / "x.txt", sequence)
    broken = tmp_path / "broken.bvh"
    broken.write_text("HIERARCHY\nROOT a\n{\nOFFSET 0 0\n")
    with pytest.raises(InputError, match="BVH"):
        read_bvh(broken)
