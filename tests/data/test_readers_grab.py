"""GRAB reader on a fixture written in GRAB's exact npz format."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from openhoi.data._safe_arrays import load_npy_safe, load_npz_safe
from openhoi.data.readers import get_reader
from openhoi.errors import InputError, MissingFileError, UnsafeFileError
from openhoi.geometry import axis_angle_to_matrix, rotation_6d_to_matrix

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures_grab import write_grab_dataset, write_malicious_npz


def _read(root: Path):
    return list(get_reader("grab")(root).episodes())


def test_grab_values_round_trip(tmp_path):
    fixture = write_grab_dataset(tmp_path)
    (episode,) = _read(fixture.root)
    assert episode.source == "grab" and episode.metadata["subject"] == "s1"
    sequence = episode.sequence()
    assert sequence.fps == 30
    # 120 → 30 fps keeps 120-fps frames 0, 4, 8, …; the crop starts at the first contact.
    first = -(-fixture.contact_frames[0] // 4)
    last = fixture.contact_frames[1] // 4
    assert sequence.num_frames == last - first + 1
    assert episode.metadata["segment_source_frames"] == [[4 * first, 4 * last]]
    obj = get_reader("grab")(fixture.root).load_object(fixture.object_name)
    canonical = np.asarray(obj.mesh.vertices)
    transforms = sequence.object_transforms()
    for k in (0, 5, sequence.num_frames - 1):
        source = 4 * (first + k)
        rotation = axis_angle_to_matrix(torch.from_numpy(fixture.object_orient[source])).numpy()
        expected = (
            fixture.mesh_vertices @ rotation + fixture.object_transl[source]
        )  # GRAB: v @ R + t
        ours = canonical @ transforms[k, :3, :3].T + transforms[k, :3, 3]
        np.testing.assert_allclose(ours, expected, atol=1e-5)
        # The right-hand pose comes out as the same rotations, in 6D.
        want = axis_angle_to_matrix(torch.from_numpy(fixture.right_pose[source]))
        got = rotation_6d_to_matrix(torch.from_numpy(np.array(sequence.hand_pose_6d("right")[k])))
        torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
    # Only the right hand touches the object.
    assert episode.plan[0].hands == "right"
    assert sequence.active_hands[:, 1].all() and not sequence.active_hands[:, 0].any()
    assert episode.plan[0].primitive == "lift"
    assert episode.plan[0].text == "Lift the mug with the right hand."


def test_grab_long_sequence_is_split_into_segments(tmp_path):
    fixture = write_grab_dataset(tmp_path, num_frames=4 * 200, contact_frames=(0, 4 * 199))
    (episode,) = _read(fixture.root)
    lengths = [s.num_frames for s in episode.segments]
    assert sum(lengths) == 200 and max(lengths) <= 150 and len(lengths) == 2


def test_grab_npz_with_os_system_is_refused(tmp_path):
    path = tmp_path / "evil.npz"
    marker = tmp_path / "pwned"
    write_malicious_npz(path, marker)
    with pytest.raises(UnsafeFileError, match=r"evil\.npz.*system"):
        load_npz_safe(path)
    assert not marker.exists()


def test_grab_malicious_file_in_dataset_is_refused(tmp_path):
    fixture = write_grab_dataset(tmp_path)
    marker = tmp_path / "pwned"
    write_malicious_npz(fixture.root / "s1" / "zz_evil_1.npz", marker)
    with pytest.raises(UnsafeFileError, match="zz_evil_1.npz"):
        _read(fixture.root)
    assert not marker.exists()


def test_safe_arrays_read_plain_and_object_arrays(tmp_path):
    np.save(tmp_path / "plain.npy", np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(
        load_npy_safe(tmp_path / "plain.npy"), np.arange(6.0).reshape(2, 3)
    )
    np.save(
        tmp_path / "dict.npy",
        {"a": np.ones(3), "b": [1, 2], "s": np.float32(2.5)},
        allow_pickle=True,
    )
    value = load_npy_safe(tmp_path / "dict.npy").item()
    np.testing.assert_array_equal(value["a"], np.ones(3))
    assert value["b"] == [1, 2] and value["s"] == np.float32(2.5)
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(InputError, match="bad.npz"):
        load_npz_safe(tmp_path / "bad.npz")


def test_grab_missing_and_malformed_files(tmp_path):
    with pytest.raises(MissingFileError, match="no subject folders"):
        get_reader("grab")(tmp_path).sequence_keys()
    fixture = write_grab_dataset(tmp_path / "a")
    (fixture.root.parent / "tools" / "object_meshes" / "contact_meshes" / "mug.ply").unlink()
    with pytest.raises(MissingFileError, match=r"mug\.ply"):
        _read(fixture.root)
    fixture = write_grab_dataset(tmp_path / "b")
    data = dict(np.load(fixture.path, allow_pickle=True))
    del data["object"]
    np.savez(fixture.path, **data)
    with pytest.raises(InputError, match=r"mug_lift_1\.npz.*'object'"):
        _read(fixture.root)


def test_get_reader_lists_known_names():
    with pytest.raises(InputError, match="grab, arctic, h2o"):
        get_reader("humanml")


def test_betas_fit_to_a_subject_template_recovers_the_shape():
    import torch

    from openhoi.data.readers._common import HandSet
    from openhoi.hand import HandModel

    betas = np.linspace(-1.0, 1.0, 10)
    hand = HandModel("left")
    with torch.no_grad():
        template = hand(
            torch.zeros(1, 16, 3),
            torch.zeros(1, 3),
            betas=torch.tensor(betas[None], dtype=torch.float32),
        ).vertices[0]
    fitted = HandSet(None).fit_betas("left", template.numpy())
    np.testing.assert_allclose(fitted, betas, atol=1e-3)


def test_grab_release_root_and_its_grab_folder_read_alike(tmp_path):
    """`--root GRAB` (holding grab/s1 and tools/, as GRAB's own tools take it) or GRAB/grab."""
    fixture = write_grab_dataset(tmp_path / "GRAB")
    assert fixture.root == tmp_path / "GRAB" / "grab"
    from_release = get_reader("grab")(tmp_path / "GRAB")
    from_grab = get_reader("grab")(fixture.root)
    assert from_release.sequence_keys() == from_grab.sequence_keys() == ["s1/mug_lift_1"]
    (release_episode,) = from_release.episodes()
    (grab_episode,) = from_grab.episodes()
    assert release_episode.episode_id == grab_episode.episode_id
    np.testing.assert_array_equal(
        release_episode.segments[0].frames, grab_episode.segments[0].frames
    )
    assert len(from_release.load_object("mug").mesh.faces) == 12  # from GRAB/tools/
    with pytest.raises(MissingFileError, match="grab/s1"):
        get_reader("grab")(tmp_path).sequence_keys()
