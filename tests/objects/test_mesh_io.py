"""load_mesh_file: format round trips, sidecar labels and every validation error."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest
import trimesh

from openhoi.errors import InputError, MissingFileError
from openhoi.objects import load_mesh_file, load_object


def _box(extents=(0.1, 0.05, 0.2), offset=(0.3, -0.2, 0.5)) -> trimesh.Trimesh:
    mesh = trimesh.creation.box(extents)
    mesh.apply_translation(offset)
    return mesh


@pytest.mark.parametrize("suffix", ["obj", "ply", "stl", "off", "glb"])
def test_formats_round_trip(tmp_path, suffix):
    path = tmp_path / f"block.{suffix}"
    _box().export(path)
    obj = load_object(path, use_gltf_y_up=False)
    assert obj.name == "block" and obj.source == str(path)
    assert len(obj.mesh.faces) == 12 and obj.is_watertight
    np.testing.assert_allclose(obj.size, [0.1, 0.05, 0.2], atol=1e-6)
    bounds = obj.mesh.bounds
    np.testing.assert_allclose(bounds[0, 2], 0.0, atol=1e-9)
    np.testing.assert_allclose(bounds.mean(0)[:2], 0.0, atol=1e-9)
    np.testing.assert_allclose(obj.canonical_offset, [-0.3, 0.2, -0.4], atol=1e-6)
    assert [p.name for p in obj.parts] == ["body"] and obj.affordance_names == ()
    assert obj.points.points.shape == (1024, 3)


def test_gltf_is_converted_from_y_up(tmp_path):
    path = tmp_path / "block.glb"
    _box().export(path)
    np.testing.assert_allclose(load_mesh_file(path).size, [0.1, 0.2, 0.05], atol=1e-6)


def test_glb_scene_is_concatenated(tmp_path):
    scene = trimesh.Scene([_box(offset=(0, 0, 0)), _box(offset=(0.2, 0, 0))])
    path = tmp_path / "pair.glb"
    scene.export(path)
    obj = load_mesh_file(path, use_gltf_y_up=False)
    assert len(obj.mesh.faces) == 24
    np.testing.assert_allclose(obj.size[0], 0.3, atol=1e-6)


def test_sidecar_face_and_vertex_labels(tmp_path):
    path = tmp_path / "block.obj"
    mesh = _box()
    mesh.export(path)
    labels = {"grasp": [0, 1], "vertex_ids": {"pour": [0, 1, 2, 3, 4, 5, 6, 7]}}
    (tmp_path / "block.affordance.json").write_text(json.dumps(labels))
    obj = load_mesh_file(path)
    grasp = obj.face_affordance[:, 0]
    assert grasp[:2].tolist() == [1.0, 1.0] and grasp[2:].max() == 0.0
    assert obj.face_affordance[:, 8].min() == 1.0  # every face's vertices are listed
    assert obj.affordance_names == ("grasp", "pour")
    (tmp_path / "block.affordance.json").write_text(json.dumps({"drink": [0]}))
    with pytest.raises(InputError, match=r"block\.affordance\.json.*unknown affordance type"):
        load_mesh_file(path)
    (tmp_path / "block.affordance.json").write_text(json.dumps({"grasp": [99]}))
    with pytest.raises(InputError, match=r"face ids outside 0..11"):
        load_mesh_file(path)


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match=r"does not exist"):
        load_mesh_file(tmp_path / "nope.obj")
    with pytest.raises(MissingFileError):
        load_object(str(tmp_path / "nope.ply"))


def test_unsupported_and_unreadable(tmp_path):
    path = tmp_path / "mesh.fbx"
    path.write_text("x")
    with pytest.raises(InputError, match=r"unsupported suffix '.fbx'"):
        load_mesh_file(path)
    path = tmp_path / "junk.ply"
    path.write_text("garbage")
    with pytest.raises(InputError, match=r"junk\.ply could not be read"):
        load_mesh_file(path)


def test_empty_mesh(tmp_path):
    path = tmp_path / "empty.obj"
    path.write_text("# no geometry\n")
    with pytest.raises(InputError, match=r"empty\.obj.*empty"):
        load_mesh_file(path)


def test_nan_vertices(tmp_path):
    path = tmp_path / "nan.obj"
    path.write_text("v 0 0 0\nv nan 0 0\nv 0 0.1 0\nf 1 2 3\n")
    with pytest.raises(InputError, match=r"nan\.obj has 1 vertices with NaN"):
        load_mesh_file(path)


def test_faces_out_of_range(tmp_path):
    path = tmp_path / "bad.ply"
    path.write_text(
        "ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\n"
        "property float z\nelement face 1\nproperty list uchar int vertex_indices\n"
        "end_header\n0 0 0\n0.1 0 0\n0 0.1 0\n3 0 1 7\n"
    )
    with pytest.raises(InputError, match=r"bad\.ply has faces indexing vertices"):
        load_mesh_file(path)


def test_millimetre_hint_and_scale(tmp_path):
    path = tmp_path / "mm.obj"
    _box(extents=(100, 50, 200), offset=(0, 0, 0)).export(path)
    with pytest.raises(InputError, match=r"looks like millimetres; pass scale=0.001"):
        load_mesh_file(path)
    np.testing.assert_allclose(load_object(path, scale=0.001).size, [0.1, 0.05, 0.2])


def test_too_small(tmp_path):
    path = tmp_path / "tiny.obj"
    _box(extents=(0.001, 0.001, 0.001)).export(path)
    with pytest.raises(InputError, match=r"too small.*pass scale="):
        load_mesh_file(path)


def test_too_many_faces(tmp_path, caplog):
    path = tmp_path / "sphere.stl"
    trimesh.creation.icosphere(subdivisions=4, radius=0.05).export(path)  # 5120 faces
    with pytest.raises(InputError, match=r"5120 faces, more than max_faces=1000.*decimate=True"):
        load_mesh_file(path, max_faces=1000, decimate=False)
    with caplog.at_level(logging.INFO, logger="openhoi.objects.mesh_io"):
        obj = load_mesh_file(path, max_faces=1000)
    assert len(obj.mesh.faces) <= 1000 and obj.is_watertight
    assert "decimated from 5120" in caplog.text


def test_degenerate_faces_removed_or_refused(tmp_path, caplog):
    mesh = _box()
    vertices = np.asarray(mesh.vertices)
    faces = np.concatenate([mesh.faces, [[0, 0, 1], [2, 2, 2]]])
    path = tmp_path / "degenerate.ply"
    trimesh.Trimesh(vertices, faces, process=False).export(path)
    with caplog.at_level(logging.WARNING, logger="openhoi.objects.mesh_io"):
        obj = load_mesh_file(path)
    assert len(obj.mesh.faces) == 12 and obj.is_watertight
    assert "removed 2 degenerate" in caplog.text
    mostly = np.concatenate([mesh.faces[:2], np.repeat([[0, 0, 1]], 5, axis=0)])
    path = tmp_path / "mostly.ply"
    trimesh.Trimesh(vertices, mostly, process=False).export(path)
    with pytest.raises(InputError, match=r"5 of 7 faces are degenerate"):
        load_mesh_file(path)


def test_small_hole_is_filled(tmp_path):
    mesh = _box()
    mesh.update_faces(np.arange(12) >= 2)  # drop one square side (two triangles)
    path = tmp_path / "open.obj"
    mesh.export(path)
    obj = load_mesh_file(path)
    assert obj.is_watertight and len(obj.mesh.faces) == 12


def test_open_mesh_is_kept_and_flagged(tmp_path, caplog):
    mesh = trimesh.creation.cylinder(radius=0.05, height=0.1, sections=16)
    cap = np.abs(mesh.face_normals[:, 2]) > 0.9
    mesh.update_faces(~(cap & (mesh.triangles_center[:, 2] > 0)))  # open the top
    path = tmp_path / "cup.obj"
    mesh.export(path)
    with caplog.at_level(logging.WARNING, logger="openhoi.objects.mesh_io"):
        obj = load_mesh_file(path)
    assert not obj.is_watertight
    assert "not watertight" in caplog.text and "winding" in caplog.text
