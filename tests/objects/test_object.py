"""HOIObject: point clouds, normalisation, articulation, validation, immutability."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
import trimesh

from openhoi.errors import InputError
from openhoi.objects import Articulation, HOIObject, ObjectPart, load_object


def _box_object(offset=(0.0, 0.0, 0.05), **kwargs) -> HOIObject:
    mesh = trimesh.creation.box((0.1, 0.1, 0.1))
    mesh.apply_translation(offset)
    defaults = dict(
        name="cube",
        mesh=mesh,
        parts=(ObjectPart("body", np.arange(12)),),
        face_affordance=np.zeros((12, 18), np.float32),
    )
    defaults.update(kwargs)
    return HOIObject(**defaults)


def test_points_shapes_dtypes_and_surface():
    obj = load_object("bottle")
    points = obj.points
    assert points.points.shape == (1024, 3) and points.points.dtype == np.float32
    assert points.normals.shape == (1024, 3) and points.affordance.shape == (1024, 18)
    assert points.part_ids.shape == (1024,) and points.part_ids.dtype == np.int64
    np.testing.assert_allclose(np.linalg.norm(points.normals, axis=1), 1.0, atol=1e-4)
    _, distance, _ = trimesh.proximity.closest_point(obj.mesh, points.points[:200])
    assert distance.max() < 1e-5
    assert not points.points.flags.writeable


def test_affordance_mask_follows_parts():
    obj = load_object("bottle")
    mask = obj.affordance_mask("open")
    cap = obj.part_names.index("cap")
    assert mask.shape == (1024,)
    assert mask[obj.points.part_ids == cap].min() == 1.0
    assert mask[obj.points.part_ids != cap].max() == 0.0
    with pytest.raises(InputError, match=r"unknown affordance type"):
        obj.affordance_mask("drink")


def test_normalised_points_unit_sphere_and_round_trip():
    obj = load_object("mug")
    normalised = obj.normalised_points
    assert normalised.points.shape == (2048, 3) and normalised.affordance.shape == (2048, 18)
    norms = np.linalg.norm(normalised.points, axis=1)
    assert norms.max() <= 1.0 + 1e-6 and norms.max() > 0.999
    np.testing.assert_allclose(normalised.points.mean(0), 0.0, atol=1e-5)
    # FPS prefixes agree, so the first 1024 map back onto `points` exactly.
    back = normalised.to_object_frame(normalised.points[:1024])
    np.testing.assert_allclose(back, obj.points.points, atol=1e-6)
    again = normalised.to_normalised_frame(back)
    np.testing.assert_allclose(again, normalised.points[:1024], atol=1e-6)
    back_torch = normalised.to_object_frame(torch.tensor(normalised.points))
    assert isinstance(back_torch, torch.Tensor)
    np.testing.assert_allclose(back_torch.numpy()[:1024], obj.points.points, atol=1e-6)


def test_laptop_lid_rotates_about_hinge_and_base_stays():
    laptop = load_object("laptop")
    joint = laptop.articulation
    rest = np.asarray(laptop.mesh.vertices, np.float32)
    np.testing.assert_allclose(laptop.vertices_at(0.0), rest, atol=1e-7)
    opened = laptop.vertices_at(math.pi / 2)
    lid = laptop.parts[laptop.part_index("lid")]
    base = laptop.parts[laptop.part_index("base")]
    lid_vertices = np.unique(laptop.mesh.faces[lid.face_ids])
    base_vertices = np.unique(laptop.mesh.faces[base.face_ids])
    np.testing.assert_array_equal(opened[base_vertices], rest[base_vertices])
    assert opened[lid_vertices, 2].max() > 0.2  # the lid now stands up, ~0.22 m deep

    def axis_distance(p):
        rel = p - joint.origin
        return np.linalg.norm(rel - np.outer(rel @ joint.axis, joint.axis), axis=1)

    np.testing.assert_allclose(
        axis_distance(opened[lid_vertices]), axis_distance(rest[lid_vertices]), atol=1e-5
    )
    # part_transform agrees with vertices_at; fixed parts get the identity.
    transform = laptop.part_transform("lid", math.pi / 2)
    moved = trimesh.transform_points(rest[lid_vertices], transform)
    np.testing.assert_allclose(moved, opened[lid_vertices], atol=1e-5)
    np.testing.assert_allclose(laptop.part_transform("base", 1.0), np.eye(4))
    assert laptop.part_transform("lid", np.array([0.0, 1.0])).shape == (2, 4, 4)


def test_vertices_at_batched_torch_differentiable():
    laptop = load_object("laptop")
    angles = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64, requires_grad=True)
    vertices = laptop.vertices_at(angles)
    assert vertices.shape == (3, len(laptop.mesh.vertices), 3)
    assert vertices.dtype == torch.float64
    vertices[:, :, 2].max(dim=1).values.sum().backward()
    assert angles.grad is not None and torch.isfinite(angles.grad).all()
    batched = laptop.vertices_at(np.array([0.2, 0.4]))
    assert batched.shape == (2, len(laptop.mesh.vertices), 3) and batched.dtype == np.float32
    np.testing.assert_allclose(batched[1], laptop.vertices_at(0.4), atol=1e-6)


def test_rigid_object_vertices_repeat():
    mug = load_object("mug")
    vertices = mug.vertices_at(np.zeros(2))
    np.testing.assert_allclose(vertices[1], np.asarray(mug.mesh.vertices, np.float32))


def test_part_meshes_cover_the_mesh():
    kettle = load_object("kettle")
    meshes = kettle.part_meshes()
    assert [len(m.faces) for m in meshes] == [len(p.face_ids) for p in kettle.parts]
    with pytest.raises(InputError, match=r"no part 'lever'.*body"):
        kettle.part_transform("lever", 0.0)


def test_summary_fields():
    summary = load_object("laptop").summary()
    assert summary["name"] == "laptop" and summary["watertight"] is True
    assert {p["name"] for p in summary["parts"]} == {"base", "lid"}
    assert "press" in summary["parts"][0]["affordances"]
    assert summary["articulation"]["part"] == "lid"
    assert summary["faces"] > 0 and len(summary["size_m"]) == 3


def test_object_is_immutable():
    obj = load_object("cup")
    with pytest.raises(dataclasses.FrozenInstanceError):
        obj.name = "other"
    assert not obj.face_affordance.flags.writeable


def test_validation_errors():
    _box_object()  # valid
    with pytest.raises(InputError, match=r"belong to no part"):
        _box_object(parts=(ObjectPart("body", np.arange(10)),))
    with pytest.raises(InputError, match=r"shares faces"):
        _box_object(parts=(ObjectPart("a", np.arange(12)), ObjectPart("b", np.arange(1))))
    with pytest.raises(InputError, match=r"canonical frame"):
        _box_object(offset=(0.3, 0.0, 0.05))
    with pytest.raises(InputError, match=r"face_affordance must have shape"):
        _box_object(face_affordance=np.zeros((12, 17)))
    with pytest.raises(InputError, match=r"not one of the parts"):
        _box_object(articulation=Articulation("lid", (1, 0, 0), (0, 0, 0), (0, 1)))
    with pytest.raises(InputError, match=r"lo <= 0 <= hi"):
        Articulation("lid", (1, 0, 0), (0, 0, 0), (0.5, 1.0))


def test_scaled_object_keeps_frame_labels_and_hinge():
    laptop = load_object("laptop")
    big = load_object("laptop@1.2")
    assert big.name == "laptop@1.2" and big is load_object("laptop@1.2")
    np.testing.assert_allclose(big.points.points, 1.2 * laptop.points.points, atol=1e-6)
    np.testing.assert_array_equal(big.points.affordance, laptop.points.affordance)
    np.testing.assert_allclose(big.size, 1.2 * laptop.size, rtol=1e-9)
    assert big.mesh.bounds[0, 2] == pytest.approx(0.0, abs=1e-9)
    # The lid still turns about its own (scaled) hinge: the scaled pose is the pose scaled.
    np.testing.assert_allclose(big.vertices_at(1.0), 1.2 * laptop.vertices_at(1.0), atol=1e-6)
    assert load_object("laptop@1") is laptop


@pytest.mark.parametrize("name", ["laptop@big", "laptop@0.1", "laptop@", "@1.2"])
def test_bad_scaled_name_is_one_clear_error(name):
    with pytest.raises(InputError, match="NAME@SCALE"):
        load_object(name)
