"""meshes.npz: per-frame hand and object vertices consistent with the sequence."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi import HOISequence
from openhoi.errors import InputError
from openhoi.export import available_formats, export_sequence
from openhoi.export.meshes import to_meshes, write_meshes
from openhoi.hand import HandModel

from .conftest import random_sequence


def test_meshes_match_sequence(tmp_path, sequence):
    path = write_meshes(tmp_path / "meshes.npz", sequence)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    num_frames = sequence.num_frames
    obj = sequence.load_object()
    assert arrays["left_verts"].shape == (num_frames, 778, 3)
    assert arrays["left_verts"].dtype == np.float32
    np.testing.assert_allclose(arrays["left_verts"], sequence.hand_vertices("left"), atol=1e-6)
    np.testing.assert_allclose(arrays["right_verts"], sequence.hand_vertices("right"), atol=1e-6)
    np.testing.assert_array_equal(arrays["hand_faces"], HandModel("right").faces)
    np.testing.assert_array_equal(arrays["left_hand_faces"], HandModel("left").faces)
    assert arrays["object_verts"].shape == (num_frames, len(obj.mesh.vertices), 3)
    np.testing.assert_allclose(arrays["object_verts"], sequence.object_vertices(obj), atol=1e-6)
    np.testing.assert_array_equal(arrays["object_faces"], obj.mesh.faces)
    assert float(arrays["fps"]) == sequence.fps


def test_meshes_without_object():
    sequence = HOISequence(frames=np.zeros((3, 208)))
    arrays = to_meshes(sequence)
    assert arrays["object_verts"].shape == (3, 0, 3) and arrays["object_faces"].shape == (0, 3)


def test_registry_lists_formats_and_writes_defaults(tmp_path, sequence):
    assert set(available_formats()) == {"npz", "meshes", "glb", "bvh", "mp4"}
    assert export_sequence(sequence, tmp_path, "meshes").name == "meshes.npz"
    saved = export_sequence(sequence, tmp_path, "npz")
    assert saved.name == "sequence.npz"
    np.testing.assert_array_equal(HOISequence.load(saved).frames, sequence.frames)
    with pytest.raises(InputError, match=r"\.npz"):
        export_sequence(sequence, tmp_path / "meshes.glb", "meshes")
    with pytest.raises(InputError, match="hands"):
        to_meshes(sequence, hands={"middle": None})


def test_meshes_with_static_objects(tmp_path, static_objects):
    sequence = random_sequence("mug", num_frames=4)
    path = export_sequence(sequence, tmp_path, "meshes", static_objects=static_objects)
    with np.load(path, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    plain = to_meshes(sequence)
    # The manipulated object and the hands are unchanged; static arrays come on top.
    assert set(arrays) - set(plain) == {"static_names"} | {
        f"static_{i}_{what}" for i in range(2) for what in ("verts", "faces", "pose")
    }
    for key, value in plain.items():
        np.testing.assert_array_equal(arrays[key], value)
    assert arrays["static_names"].tolist() == ["cup", "laptop"]
    for index, (obj, pose) in enumerate(static_objects):
        vertices = np.asarray(obj.mesh.vertices)
        expected = vertices @ pose[:3, :3].T + pose[:3, 3]
        assert arrays[f"static_{index}_verts"].dtype == np.float32
        np.testing.assert_allclose(arrays[f"static_{index}_verts"], expected, atol=1e-6)
        np.testing.assert_array_equal(arrays[f"static_{index}_faces"], obj.mesh.faces)
        np.testing.assert_array_equal(arrays[f"static_{index}_pose"], pose)


def test_static_objects_are_checked(static_objects):
    sequence = random_sequence("mug", num_frames=2)
    cup, pose = static_objects[0]
    with pytest.raises(InputError, match=r"static_objects\[0\].*pair"):
        to_meshes(sequence, static_objects=[cup])
    with pytest.raises(InputError, match="HOIObject"):
        to_meshes(sequence, static_objects=[("cup", pose)])
    with pytest.raises(InputError, match=r"\(4, 4\)"):
        to_meshes(sequence, static_objects=[(cup, pose[:3])])
    with pytest.raises(InputError, match="rotation"):
        to_meshes(sequence, static_objects=[(cup, np.diag([2.0, 2.0, 2.0, 1.0]))])
    with pytest.raises(InputError, match="last row"):
        to_meshes(sequence, static_objects=[(cup, np.ones((4, 4)))])
