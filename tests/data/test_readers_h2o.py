"""H2O reader on a fixture written in H2O's per-frame text format; MANO frame changes."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from openhoi.data.readers import get_reader
from openhoi.data.transforms import transform_mano_rigidly
from openhoi.errors import InputError, MissingFileError
from openhoi.geometry import axis_angle_to_matrix
from openhoi.hand import HandModel

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures_h2o import write_h2o_dataset


def _posed(
    hand: HandModel, matrices: np.ndarray, transl: np.ndarray, betas: np.ndarray
) -> np.ndarray:
    with torch.no_grad():
        out = hand(
            torch.as_tensor(matrices, dtype=torch.float32),
            torch.as_tensor(transl, dtype=torch.float32),
            betas=torch.as_tensor(betas, dtype=torch.float32),
        )
    return out.vertices.numpy().astype(np.float64)


@pytest.mark.parametrize("side", ["left", "right"])
def test_rigid_transform_moves_the_posed_mesh_rigidly(side):
    rng = np.random.default_rng(1)
    hand = HandModel(side)
    count = 4
    pose = axis_angle_to_matrix(
        torch.from_numpy(rng.normal(scale=0.4, size=(count, 16, 3)))
    ).numpy()
    transl = rng.normal(scale=0.2, size=(count, 3))
    betas = rng.normal(scale=1.0, size=(count, 10))
    rotation = axis_angle_to_matrix(torch.from_numpy(rng.normal(size=(count, 3)))).numpy()
    translation = rng.normal(size=(count, 3))
    before = _posed(hand, pose, transl, betas)
    wrist = hand.rest_joints(torch.as_tensor(betas, dtype=torch.float32))[:, 0].numpy()
    orient, new_transl = transform_mano_rigidly(rotation, translation, pose[:, 0], transl, wrist)
    moved_pose = pose.copy()
    moved_pose[:, 0] = orient
    after = _posed(hand, moved_pose, new_transl, betas)
    expected = np.einsum("tij,tvj->tvi", rotation, before) + translation[:, None]
    np.testing.assert_allclose(after, expected, atol=2e-5)


def test_h2o_world_frame_matches_transformed_camera_vertices(tmp_path):
    fixture = write_h2o_dataset(tmp_path)
    reader = get_reader("h2o")(fixture.root)
    (episode,) = list(reader.episodes())
    assert [p.primitive for p in episode.plan] == ["grasp", "place"]
    assert episode.metadata["segment_source_frames"] == [[4, 23], [24, 43]]
    assert episode.object == "book"
    sequence = episode.sequence()
    frames = np.arange(4, 44)
    camera = fixture.cam_pose[frames]
    for side, base in (("left", 0), ("right", 62)):
        hand = HandModel(side)
        rows = fixture.hand_rows[frames]
        pose = axis_angle_to_matrix(
            torch.from_numpy(rows[:, base + 4 : base + 52].reshape(-1, 16, 3))
        ).numpy()
        camera_vertices = _posed(
            hand, pose, rows[:, base + 1 : base + 4], rows[:, base + 52 : base + 62]
        )
        expected = (
            np.einsum("tij,tvj->tvi", camera[:, :3, :3], camera_vertices) + camera[:, None, :3, 3]
        )
        ours = sequence.hand_vertices(side, hand)
        np.testing.assert_allclose(ours, expected, atol=5e-5)
    # The object pose is camera_pose @ obj_pose_rt, expressed for the canonical mesh.
    obj = reader.load_object("book")
    world = camera @ fixture.object_rt[frames]
    source = np.asarray(obj.mesh.vertices) - obj.canonical_offset
    expected = np.einsum("tij,vj->tvi", world[:, :3, :3], source) + world[:, None, :3, 3]
    transforms = sequence.object_transforms()
    ours = (
        np.einsum("tij,vj->tvi", transforms[:, :3, :3], np.asarray(obj.mesh.vertices))
        + transforms[:, None, :3, 3]
    )
    np.testing.assert_allclose(ours, expected, atol=1e-5)


def test_h2o_missing_and_malformed_frame_files(tmp_path):
    fixture = write_h2o_dataset(tmp_path / "a")
    (fixture.take / "cam_pose" / "000007.txt").unlink()
    with pytest.raises(MissingFileError, match=r"cam_pose/000007\.txt"):
        list(get_reader("h2o")(fixture.root).episodes())
    fixture = write_h2o_dataset(tmp_path / "b")
    (fixture.take / "hand_pose_mano" / "000003.txt").write_text("1 2 3")
    with pytest.raises(InputError, match=r"hand_pose_mano/000003\.txt.*124"):
        list(get_reader("h2o")(fixture.root).episodes())
    with pytest.raises(MissingFileError, match="not an H2O folder"):
        get_reader("h2o")(tmp_path / "b" / "object").sequence_keys()
