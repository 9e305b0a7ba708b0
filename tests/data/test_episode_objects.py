"""Episodes read from a prepared folder resolve their objects from that folder's `objects/`,
even when a stored name is also a built-in (the H2O fixture's object is "book")."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from openhoi.data import HOISequence, folder_object_ref, load_episode_object, load_episodes
from openhoi.data.object_store import load_stored_object
from openhoi.data.prepare import prepare_dataset
from openhoi.errors import InputError
from openhoi.objects import load_object

sys.path.insert(0, str(Path(__file__).resolve().parent))
from fixtures_h2o import write_h2o_dataset


@pytest.fixture(scope="module")
def prepared_h2o(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("h2o")
    fixture = write_h2o_dataset(root / "raw")
    prepare_dataset("h2o", fixture.root, root / "out", progress=False)
    return root / "out"


def test_segments_pose_the_stored_mesh_not_the_builtin(prepared_h2o):
    (episode,) = list(load_episodes(prepared_h2o))
    stored = load_stored_object(prepared_h2o, "book")
    assert len(stored.mesh.faces) == 12 != len(load_object("book").mesh.faces)
    assert episode.object == "book"  # the name, as the instruction says it
    for segment in episode.segments:
        assert segment.object_name == str(stored.ref)
        assert segment.object_name.startswith(f"stored:{(prepared_h2o / 'objects/book').resolve()}")
        vertices = segment.object_vertices()
        transforms = segment.object_transforms()
        expected = (
            np.einsum("tij,vj->tvi", transforms[:, :3, :3], np.asarray(stored.mesh.vertices))
            + transforms[:, None, :3, 3]
        )
        np.testing.assert_allclose(vertices, expected, atol=1e-5)
    assert episode.object_ref == str(stored.ref)
    assert len(episode.load_object().mesh.faces) == 12
    for name in ("book", episode.object_ref, "book@1.5"):
        obj = load_episode_object(prepared_h2o, name)
        assert len(obj.mesh.faces) == 12
    assert load_episode_object(prepared_h2o, "book@1.5").ref == stored.ref.scaled(1.5)
    # The whole episode joins into one sequence that still resolves.
    assert len(episode.sequence().load_object().mesh.faces) == 12


def test_saved_segment_keeps_resolving_to_the_stored_object(prepared_h2o, tmp_path):
    (episode,) = list(load_episodes(prepared_h2o))
    path = episode.segments[0].save(tmp_path / "segment.npz")
    assert len(HOISequence.load(path).load_object().mesh.faces) == 12


def test_moved_folder_resolves_from_its_new_place(prepared_h2o, tmp_path):
    moved = tmp_path / "moved"
    shutil.copytree(prepared_h2o, moved)
    (episode,) = list(load_episodes(moved))
    assert str(moved.resolve()) in episode.object_ref
    assert len(episode.segments[0].object_vertices()[0]) == len(
        load_stored_object(moved, "book").mesh.vertices
    )
    # A stored object edited after loading is caught, naming the folder and the hash.
    part = moved / "objects" / "book" / "part-0.ply"
    part.write_bytes(part.read_bytes() + b"\n")
    with pytest.raises(InputError, match="has changed") as info:
        episode.segments[0].load_object()
    assert str((moved / "objects" / "book").resolve()) in str(info.value)


def test_folder_object_ref_leaves_other_names_alone(prepared_h2o):
    assert folder_object_ref(prepared_h2o, "mug") == "mug"  # built-in, not stored here
    assert folder_object_ref(prepared_h2o, "") == ""
    stored = folder_object_ref(prepared_h2o, "book@2")
    assert stored.startswith("stored:") and stored.endswith("@2")
    assert folder_object_ref(prepared_h2o, stored) == stored


def test_segment_dataset_reads_stored_objects(prepared_h2o, tmp_path):
    from openhoi.data.torch_dataset import SegmentDataset

    folder = tmp_path / "copy"
    shutil.copytree(prepared_h2o, folder)
    sample = SegmentDataset(folder, split="all")[0]
    assert sample.object_points.shape == (1024, 6)
    assert sample.object_name.startswith("stored:")
