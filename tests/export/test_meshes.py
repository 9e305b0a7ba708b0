"""meshes.npz: per-frame hand and object vertices consistent with the sequence."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi import HOISequence
from openhoi.errors import InputError
from openhoi.export import available_formats, export_sequence
from openhoi.export.meshes import to_meshes, write_meshes
from openhoi.hand import HandModel


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
