"""ARCTIC reader on a fixture written in ARCTIC's exact raw_seqs format."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from openhoi.data.readers import get_reader
from openhoi.errors import InputError, MissingFileError
from openhoi.geometry import axis_angle_to_matrix, rotation_6d_to_matrix

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures_arctic import write_arctic_dataset


def _reader(root: Path):
    return get_reader("arctic")(root, assume_flat_mean=True)


def test_arctic_without_mano_needs_an_explicit_choice(tmp_path):
    fixture = write_arctic_dataset(tmp_path)
    with pytest.raises(InputError, match="hands_mean"):
        get_reader("arctic")(fixture.root)


def test_arctic_values_round_trip(tmp_path):
    fixture = write_arctic_dataset(tmp_path)
    reader = _reader(fixture.root)
    (episode,) = list(reader.episodes())
    assert [s.num_frames for s in episode.segments] == [20, 40]
    assert [p.primitive for p in episode.plan] == ["grasp", "open"]
    assert episode.metadata["segment_source_frames"] == [[0, 19], [20, 59]]
    obj = reader.load_object("box")
    assert obj.articulation is not None and obj.articulation.part == "top"
    segment = episode.segments[1]
    for k in (20, 33, 59):
        local = k - 20
        angle, aa, trans_mm = (
            fixture.object_params[k, 0],
            fixture.object_params[k, 1:4],
            fixture.object_params[k, 4:],
        )
        # ARCTIC: top part turned about (0, 0, -1) by the angle, then x_w = R x + t_mm / 1000.
        axis = torch.tensor([0.0, 0.0, -1.0], dtype=torch.float64) * angle
        arti = axis_angle_to_matrix(axis).numpy()
        rotation = axis_angle_to_matrix(torch.from_numpy(aa)).numpy()
        source = fixture.mesh_vertices_mm / 1000.0
        source = np.where(fixture.top_vertex[:, None], source @ arti.T, source)
        expected = source @ rotation.T + trans_mm / 1000.0
        np.testing.assert_allclose(segment.object_angle()[local], angle, atol=1e-6)
        transform = segment.object_transforms()[local]
        canonical = obj.vertices_at(np.array(segment.object_angle()[local]))
        ours = canonical @ transform[:3, :3].T + transform[:3, 3]
        # Vertex order: the reader splits the mesh into top then bottom copies.
        top_count = int(fixture.top_vertex.sum())
        np.testing.assert_allclose(ours[:top_count], expected[fixture.top_vertex], atol=1e-5)
        np.testing.assert_allclose(ours[top_count:], expected[~fixture.top_vertex], atol=1e-5)
        want = axis_angle_to_matrix(torch.from_numpy(fixture.right_rot[k])).float()
        got = rotation_6d_to_matrix(
            torch.from_numpy(np.array(segment.hand_pose_6d("right")[local]))
        )
        torch.testing.assert_close(got[0], want, atol=1e-5, rtol=0)
        fingers = axis_angle_to_matrix(
            torch.from_numpy(fixture.right_pose[k].reshape(15, 3))
        ).float()
        torch.testing.assert_close(got[1:], fingers, atol=1e-5, rtol=0)
    np.testing.assert_allclose(
        segment.betas[1],
        np.load(fixture.root / "raw_seqs/s01/box_grab_01.mano.npy", allow_pickle=True).item()[
            "right"
        ]["shape"][0],
        atol=1e-6,
    )


def test_arctic_overlapping_descriptions_become_separate_episodes(tmp_path):
    fixture = write_arctic_dataset(
        tmp_path, descriptions="1-30 grasp left _\n10-40 lift right _\n41-60 place, both _\n"
    )
    episodes = list(_reader(fixture.root).episodes())
    assert [[p.primitive for p in e.plan] for e in episodes] == [["grasp", "place"], ["lift"]]
    assert [p.hands for p in episodes[0].plan] == ["left", "both"]


def test_arctic_malformed_and_missing_files(tmp_path):
    fixture = write_arctic_dataset(tmp_path / "a", descriptions="1-20 grasp both _\noops\n")
    with pytest.raises(InputError, match=r"description\.txt' line 2"):
        list(_reader(fixture.root).episodes())
    fixture = write_arctic_dataset(tmp_path / "b")
    (fixture.root / "raw_seqs/s01/box_grab_01.object.npy").unlink()
    with pytest.raises(MissingFileError, match=r"box_grab_01\.object\.npy"):
        list(_reader(fixture.root).episodes())
    fixture = write_arctic_dataset(tmp_path / "c")
    (fixture.root / "meta/object_vtemplates/box/parts.json").unlink()
    with pytest.raises(MissingFileError, match=r"parts\.json"):
        list(_reader(fixture.root).episodes())
    with pytest.raises(MissingFileError, match="raw_seqs"):
        _reader(tmp_path).sequence_keys()


def test_arctic_without_descriptions_uses_the_sequence_intent(tmp_path):
    import shutil

    fixture = write_arctic_dataset(tmp_path)
    shutil.rmtree(fixture.root / "description")
    (episode,) = list(_reader(fixture.root).episodes())
    assert [p.primitive for p in episode.plan] == ["grasp"]  # "box_grab_01" → grab
    assert episode.segments[0].num_frames == fixture.num_frames
