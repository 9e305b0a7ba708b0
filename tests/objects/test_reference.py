"""ObjectRef: the text forms round-trip, user meshes never turn into built-ins, and a
reference whose file moved or changed fails with the path and the hash it expected."""

from __future__ import annotations

import json

import numpy as np
import pytest
import trimesh

from openhoi.data import HOISequence
from openhoi.errors import InputError, MissingFileError, OpenHOIError
from openhoi.objects import HOIObject, ObjectPart, ObjectRef, load_object, object_ref
from openhoi.objects.store import save_object, stored_object_ref

HASH = "0123456789abcdef" * 4


def _user_can(folder) -> str:
    """A 12-face box saved as `can.obj`: a user mesh whose stem is a built-in name."""
    path = folder / "can.obj"
    trimesh.creation.box((0.05, 0.07, 0.1)).export(path)
    return path


@pytest.mark.parametrize(
    "text",
    [
        "bottle",
        "bottle@1.2",
        "spray_bottle@0.75",
        f"mesh:/data/my meshes/can.obj#sha256={HASH}",
        f"mesh:/data/a#b@c/can.glb#sha256={HASH}&affordance_sha256={HASH}&unit=0.001"
        "&max_faces=5000&gltf_y_up=0@1.5",
        f"stored:/data/prepared/h2o/objects/milk#sha256={HASH}",
        f"stored:/data/prepared/h2o/objects/milk#sha256={HASH}@0.9",
    ],
)
def test_every_form_round_trips(text):
    ref = ObjectRef.parse(text)
    assert str(ref) == text
    assert ObjectRef.parse(str(ref)) == ref


def test_parsed_fields_and_scale_normalisation():
    ref = ObjectRef.parse(f"mesh:/data/a#b@c/can.obj#sha256={HASH}&unit=0.001@1.5")
    assert (ref.kind, ref.target, ref.sha256, ref.unit, ref.scale) == (
        "mesh",
        "/data/a#b@c/can.obj",
        HASH,
        0.001,
        1.5,
    )
    assert ObjectRef.parse("bottle@1.0") == ObjectRef.parse("bottle")
    assert str(ObjectRef.parse("bottle@2.0")) == "bottle@2"
    assert ObjectRef("builtin", "cup", scale=1.1).scaled(1.2).scale == pytest.approx(1.32)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not one of the forms"),
        ("can.obj", "not one of the forms"),
        ("/abs/can.obj", "not one of the forms"),
        ("bottle@9", "scale must lie in"),
        ("bottle@big", "not a number"),
        ("mesh:/abs/can.obj", "expected mesh:PATH#sha256=HEX"),
        ("mesh:relative/can.obj#sha256=" + HASH, "must be absolute"),
        ("mesh:/abs/can.obj#sha256=abc", "64 lowercase hex"),
        ("mesh:/abs/can.obj#unit=2", "missing sha256"),
        (f"mesh:/abs/can.obj#sha256={HASH}&colour=red", "bad item 'colour=red'"),
        (f"stored:/abs/objects/milk#sha256={HASH}&unit=2", "bad item 'unit=2'"),
    ],
)
def test_malformed_references_are_refused_by_name(text, problem):
    with pytest.raises(InputError, match=problem):
        ObjectRef.parse(text)


def test_builtin_objects_carry_their_reference():
    bottle = load_object("bottle")
    assert str(bottle.ref) == "bottle" and object_ref(bottle) == ObjectRef("builtin", "bottle")
    scaled = load_object("bottle@1.2")
    assert str(scaled.ref) == scaled.name == "bottle@1.2"
    assert load_object(str(scaled.ref)) is scaled
    assert load_object(ObjectRef.parse("bottle@1.2")) is scaled
    # Scales multiply, in the name and in the reference.
    twice = scaled.scaled(1.5)
    assert twice.name == str(twice.ref) == "bottle@1.8"
    np.testing.assert_allclose(twice.size, load_object("bottle@1.8").size, rtol=1e-9)


def test_user_mesh_named_like_a_builtin_loads_as_itself(tmp_path):
    path = _user_can(tmp_path)
    builtin = load_object("can")
    user = load_object(path)
    assert len(user.mesh.faces) == 12 != len(builtin.mesh.faces)
    assert user.ref.kind == "mesh" and user.ref.target == str(path.resolve())
    text = str(user.ref)
    assert text.startswith(f"mesh:{path.resolve()}#sha256=")
    for again in (load_object(text), load_object(ObjectRef.parse(text))):
        assert len(again.mesh.faces) == 12
        np.testing.assert_allclose(again.mesh.vertices, user.mesh.vertices)
    # A scaled user mesh keeps pointing at the file.
    scaled = user.scaled(1.5)
    assert str(scaled.ref) == f"{text}@1.5"
    np.testing.assert_allclose(load_object(str(scaled.ref)).size, scaled.size, rtol=1e-9)


def test_relative_paths_are_stored_absolute(tmp_path, monkeypatch):
    _user_can(tmp_path)
    monkeypatch.chdir(tmp_path)
    ref = load_object("can.obj").ref
    assert ref.target == str((tmp_path / "can.obj").resolve())
    monkeypatch.chdir(tmp_path.parent)
    assert len(load_object(str(ref)).mesh.faces) == 12


def test_load_settings_are_part_of_the_reference(tmp_path):
    path = tmp_path / "crate.stl"
    trimesh.creation.box((50.0, 70.0, 100.0)).export(path)  # millimetres
    obj = load_object(path, scale=0.001)
    assert "&unit=0.001" in str(obj.ref)
    np.testing.assert_allclose(load_object(str(obj.ref)).size, [0.05, 0.07, 0.1], atol=1e-9)


def test_changed_file_fails_naming_path_and_expected_hash(tmp_path):
    path = _user_can(tmp_path)
    ref = load_object(path).ref
    trimesh.creation.box((0.05, 0.05, 0.05)).export(path)
    with pytest.raises(InputError, match="has changed since the reference was taken") as info:
        load_object(str(ref))
    message = str(info.value)
    assert str(path.resolve()) in message and f"expected sha256 {ref.sha256}" in message


def test_missing_file_fails_naming_path_and_expected_hash(tmp_path):
    path = _user_can(tmp_path)
    text = str(load_object(path).ref)
    path.unlink()
    with pytest.raises(MissingFileError, match="does not exist") as info:
        load_object(text)
    assert str(path.resolve()) in str(info.value)
    assert ObjectRef.parse(text).sha256 in str(info.value)


def test_added_or_changed_affordance_sidecar_is_detected(tmp_path):
    path = _user_can(tmp_path)
    ref = load_object(path).ref
    assert ref.affordance_sha256 == ""
    sidecar = tmp_path / "can.affordance.json"
    sidecar.write_text(json.dumps({"grasp": [0, 1]}))
    with pytest.raises(InputError, match="affordance sidecar"):
        load_object(str(ref))
    labelled = load_object(path)
    assert (
        labelled.ref.affordance_sha256
        and "grasp" in load_object(str(labelled.ref)).affordance_names
    )
    sidecar.write_text(json.dumps({"grasp": [2, 3]}))
    with pytest.raises(InputError, match="affordance sidecar"):
        load_object(str(labelled.ref))


def test_stored_object_reference(tmp_path):
    user = load_object(_user_can(tmp_path))
    save_object(user, tmp_path / "data")
    ref = stored_object_ref(tmp_path / "data", "can")
    assert ref.kind == "stored" and ref.target == str((tmp_path / "data/objects/can").resolve())
    stored = load_object(str(ref))
    assert stored.ref == ref and len(stored.mesh.faces) == 12
    assert str(load_object(str(ref.scaled(2.0))).ref) == f"{ref}@2"
    part = tmp_path / "data" / "objects" / "can" / "part-0.ply"
    part.write_bytes(part.read_bytes() + b"\n")
    with pytest.raises(InputError, match="has changed") as info:
        load_object(str(ref))
    assert ref.target in str(info.value) and ref.sha256 in str(info.value)
    part.unlink()
    with pytest.raises(MissingFileError, match="part-0.ply"):
        load_object(str(ref))


def test_in_memory_objects_have_no_reference():
    mesh = trimesh.creation.box((0.1, 0.1, 0.1))
    mesh.apply_translation((0.0, 0.0, 0.05))
    obj = HOIObject("cube", mesh, (ObjectPart("body", np.arange(12)),), np.zeros((12, 18)))
    assert obj.ref is None and obj.scaled(2.0).ref is None
    with pytest.raises(InputError, match="built in memory"):
        object_ref(obj)


def test_sequence_keeps_the_reference_through_a_file(tmp_path):
    user = load_object(_user_can(tmp_path))
    seq = HOISequence.from_parameters(num_frames=3, object_name=str(user.ref))
    back = HOISequence.load(seq.save(tmp_path / "seq.npz"))
    assert back.object_name == str(user.ref) and back.object_ref == user.ref
    assert len(back.load_object().mesh.faces) == 12  # the user's can, not the built-in
    vertices = back.object_vertices()
    assert vertices.shape == (3, len(user.mesh.vertices), 3)
    np.testing.assert_allclose(vertices[0], user.mesh.vertices, atol=1e-6)
    # Concatenation compares references, not spellings.
    joined = HOISequence.concatenate([seq, seq.replace(object_name=str(user.ref) + "@1.0")])
    assert joined.num_frames == 6
    with pytest.raises(InputError, match="refers to object"):
        HOISequence.concatenate([seq, seq.replace(object_name="can")])


def test_old_sequences_with_bare_names_still_load(tmp_path):
    arrays = HOISequence.from_parameters(num_frames=2).to_arrays()
    arrays["object_name"] = np.array("mug")
    np.savez(tmp_path / "old.npz", **arrays)
    seq = HOISequence.load(tmp_path / "old.npz")
    assert seq.object_name == "mug" and seq.load_object() is load_object("mug")
    path = _user_can(tmp_path)
    old_path = HOISequence.from_parameters(num_frames=2, object_name=str(path))
    assert len(old_path.load_object().mesh.faces) == 12  # a plain mesh path, as before


def test_all_reference_errors_are_openhoi_errors(tmp_path):
    for text in ("teapot", f"mesh:{tmp_path}/none.obj#sha256={HASH}"):
        with pytest.raises(OpenHOIError):
            load_object(text)
