"""Warp distance kernels: closed-form shapes, the PyTorch oracle, trimesh, poses, parts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from openhoi.errors import InputError
from openhoi.geometry.distance import (
    DistanceMesh,
    distance_mesh,
    nearest_points,
    signed_distance,
    signed_distance_parts,
)
from openhoi.geometry.distance_reference import signed_distance_reference
from openhoi.geometry.rotations import axis_angle_to_matrix


@pytest.fixture(scope="module")
def sphere() -> trimesh.Trimesh:
    # Subdivision 6: chord error of the unit icosphere ≈ 7e-5.
    return trimesh.creation.icosphere(subdivisions=6)


@pytest.fixture(scope="module")
def capsule() -> trimesh.Trimesh:
    return trimesh.creation.capsule(height=0.08, radius=0.03, count=[16, 16])


@pytest.fixture(scope="module")
def box() -> trimesh.Trimesh:
    return trimesh.creation.box(extents=(0.1, 0.2, 0.06))


@pytest.fixture(scope="module", autouse=True)
def compiled_kernels(box: trimesh.Trimesh) -> None:
    """Compile (or load) the Warp kernels once for the module."""
    signed_distance(torch.zeros(1, 3), box)


def _random_points(num: int, scale: float, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(num, 3, generator=g, dtype=dtype) * 2 - 1) * scale


def test_sphere_matches_analytic(sphere):
    g = torch.Generator().manual_seed(1)
    direction = torch.nn.functional.normalize(torch.randn(500, 3, generator=g), dim=-1)
    radius = torch.rand(500, 1, generator=g) * 1.4 + 0.3  # 0.3 .. 1.7, both sides
    points = direction * radius
    out = signed_distance(points, sphere)
    assert torch.allclose(out.sdf, radius[:, 0] - 1.0, atol=1e-4)
    # Closest points lie on the sphere, within one facet (edge ≈ 0.02) of the radial projection.
    assert torch.allclose(torch.linalg.vector_norm(out.closest, dim=-1), torch.ones(500), atol=1e-4)
    assert torch.allclose(out.closest, direction, atol=2e-2)
    assert torch.allclose(out.normal, direction, atol=3e-2)
    assert (out.sdf[radius[:, 0] < 1.0] < 0).all() and (out.sdf[radius[:, 0] > 1.0] > 0).all()


def test_box_matches_analytic(box):
    half = torch.tensor([0.05, 0.1, 0.03], dtype=torch.float64)
    points = _random_points(2000, 0.15)
    q = points.abs() - half
    outside = torch.linalg.vector_norm(q.clamp_min(0), dim=-1)
    expected = outside + q.max(-1).values.clamp_max(0)
    out = signed_distance(points, box)
    assert out.sdf.dtype == torch.float64
    assert torch.allclose(out.sdf, expected, atol=1e-6)
    # The closest point of an outside point is the clamp onto the box.
    is_out = expected > 0
    assert torch.allclose(out.closest[is_out], points[is_out].clamp(-half, half), atol=1e-5)


def test_warp_matches_reference_values_and_gradients(capsule):
    points = _random_points(3000, 0.1)
    reference = signed_distance_reference(
        points, torch.tensor(capsule.vertices), torch.tensor(capsule.faces)
    )
    query = points.clone().requires_grad_(True)
    out = signed_distance(query, capsule)
    assert torch.allclose(out.sdf, reference.sdf, atol=1e-5)
    assert torch.allclose(
        torch.linalg.vector_norm(out.closest - points, dim=-1), reference.sdf.abs(), atol=1e-5
    )
    (grad,) = torch.autograd.grad(out.sdf.sum(), query)
    # Central finite differences of the reference on points away from the medial axis.
    eps = 1e-5
    keep = reference.sdf.abs() > 1e-3
    subset = points[keep][:200]
    fd = torch.zeros_like(subset)
    verts, faces = torch.tensor(capsule.vertices), torch.tensor(capsule.faces)
    for axis in range(3):
        step = torch.zeros(3, dtype=points.dtype)
        step[axis] = eps
        plus = signed_distance_reference(subset + step, verts, faces).sdf
        minus = signed_distance_reference(subset - step, verts, faces).sdf
        fd[:, axis] = (plus - minus) / (2 * eps)
    assert torch.allclose(grad[keep][:200], fd, atol=1e-3)
    assert torch.allclose(torch.linalg.vector_norm(grad, dim=-1), torch.ones(len(points)).double())


def test_reference_winding_sign_matches_pseudo_normal(capsule):
    points = _random_points(500, 0.1)
    verts, faces = torch.tensor(capsule.vertices), torch.tensor(capsule.faces)
    pseudo = signed_distance_reference(points, verts, faces)
    winding = signed_distance_reference(points, verts, faces, sign="winding_number")
    assert torch.allclose(pseudo.sdf, winding.sdf)


def test_agrees_with_trimesh(capsule):
    points = _random_points(1000, 0.1)
    expected = -trimesh.proximity.signed_distance(capsule, points.numpy())  # trimesh: + inside
    out = signed_distance(points, capsule)
    np.testing.assert_allclose(out.sdf.numpy(), expected, atol=1e-5)


def test_pose_invariance_and_gradient_to_pose(capsule):
    frames, num = 4, 300
    canonical = _random_points(num, 0.1).reshape(1, num, 3).repeat(frames, 1, 1)
    g = torch.Generator().manual_seed(3)
    rotation = axis_angle_to_matrix(torch.randn(frames, 3, generator=g, dtype=torch.float64))
    translation = torch.randn(frames, 3, generator=g, dtype=torch.float64)
    world = torch.einsum("bij,bnj->bni", rotation, canonical) + translation[:, None]
    expected = signed_distance(canonical, capsule)
    translation.requires_grad_(True)
    out = signed_distance(world, capsule, rotation=rotation, translation=translation)
    assert torch.allclose(out.sdf, expected.sdf, atol=1e-5)
    closest_world = torch.einsum("bij,bnj->bni", rotation, expected.closest) + translation[:, None]
    assert torch.allclose(out.closest, closest_world.detach(), atol=1e-5)
    # Moving the object by +δ equals moving the points by −δ: d sdf/d t = −d sdf/d p.
    (grad_t,) = torch.autograd.grad(out.sdf.sum(), translation)
    grad_p = torch.einsum("bij,bnj->bni", rotation, expected.normal)  # not used directly
    assert grad_t.shape == (frames, 3) and torch.isfinite(grad_t).all()
    world_q = world.clone().requires_grad_(True)
    out_p = signed_distance(world_q, capsule, rotation=rotation, translation=translation.detach())
    (grad_world,) = torch.autograd.grad(out_p.sdf.sum(), world_q)
    assert torch.allclose(grad_t, -grad_world.sum(1), atol=1e-6)
    assert grad_p.shape == world.shape


def test_parts_take_the_minimum(box, capsule):
    points = _random_points(400, 0.2).float().reshape(2, 200, 3)
    shift = torch.eye(4).repeat(2, 1, 1)
    shift[:, 0, 3] = 0.08
    out = signed_distance_parts(points, [box, capsule], [torch.eye(4).repeat(2, 1, 1), shift])
    a = signed_distance(points, box)
    b = signed_distance(points - shift[:, None, :3, 3], capsule)
    assert torch.allclose(out.sdf, torch.minimum(a.sdf, b.sdf))
    take_b = b.sdf < a.sdf
    assert torch.allclose(out.closest[take_b], b.closest[take_b] + shift[0, :3, 3])
    single = signed_distance_parts(points[0], [box], [torch.eye(4)])
    assert torch.allclose(single.sdf, a.sdf[0])


def test_nearest_points_matches_brute_force():
    cloud = _random_points(700, 0.1, seed=5)
    points = _random_points(300, 0.12, seed=6).reshape(3, 100, 3).requires_grad_(True)
    out = nearest_points(points, cloud)
    brute = torch.cdist(points.detach().reshape(-1, 3), cloud).min(-1)
    assert torch.equal(out.index.reshape(-1), brute.indices)
    assert torch.allclose(out.distance.reshape(-1), brute.values)
    out.distance.sum().backward()
    assert torch.isfinite(points.grad).all()
    normals = torch.nn.functional.normalize(cloud, dim=-1)
    signed = nearest_points(points.detach(), cloud, normals)
    assert torch.allclose(signed.distance.abs(), out.distance.detach())


def test_open_mesh_gets_sensible_signs():
    closed = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
    # Drop the two triangles of one side: an open box.
    normals = closed.face_normals
    keep = ~np.isclose(normals[:, 2], 1.0)
    open_box = trimesh.Trimesh(closed.vertices, closed.faces[keep], process=False)
    assert not open_box.is_watertight
    assert not distance_mesh(open_box).is_watertight
    points = torch.tensor(
        [[0.0, 0.0, 0.0], [0.1, -0.2, -0.3], [0.0, 0.0, -1.0], [2.0, 0.0, 0.0], [0.3, 0.3, 0.1]]
    )
    out = signed_distance(points, open_box)
    assert (out.sdf[[0, 1, 4]] < 0).all()
    assert (out.sdf[[2, 3]] > 0).all()
    assert torch.allclose(out.sdf[0], torch.tensor(-0.5))


def test_cache_and_errors(box):
    assert distance_mesh(box) is distance_mesh(box)
    with pytest.raises(InputError, match="points"):
        signed_distance(torch.zeros(4, 2), box)
    with pytest.raises(InputError, match="rotation"):
        signed_distance(torch.zeros(2, 5, 3), box, rotation=torch.eye(3).repeat(3, 1, 1))
    inverted = box.copy()
    inverted.invert()
    with pytest.raises(InputError, match="invert"):
        distance_mesh(inverted)
    with pytest.raises(InputError, match="faces"):
        DistanceMesh(np.zeros((3, 3)), np.array([[0, 1, 5]]), is_watertight=True)


def test_max_distance_bounds_the_search(box):
    out = signed_distance(torch.tensor([[1.0, 0.0, 0.0], [0.06, 0.0, 0.0]]), box, max_distance=0.1)
    assert out.sdf[0] == pytest.approx(0.1)
    assert out.sdf[1] == pytest.approx(0.01, abs=1e-6)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_matches_cpu(capsule):
    points = _random_points(5000, 0.1).float()
    cpu = signed_distance(points, capsule)
    query = points.cuda().requires_grad_(True)
    gpu = signed_distance(query, capsule)
    gpu.sdf.sum().backward()
    assert gpu.sdf.device.type == "cuda"
    assert torch.allclose(gpu.sdf.cpu(), cpu.sdf, atol=1e-5)
    assert torch.isfinite(query.grad).all()


def test_points_between_two_bodies_of_one_mesh_are_outside():
    # Two separate closed boxes in one mesh (ear cups, a pair of handles): on the plane
    # halfway between them every point is equally near both, where the pseudo-normal sign
    # used to flip to "inside" (all 45 points here read 5 cm deep).
    left = trimesh.creation.box([0.04, 0.04, 0.04])
    left.apply_translation([-0.05, 0.0, 0.02])
    right = trimesh.creation.box([0.04, 0.04, 0.04])
    right.apply_translation([0.05, 0.0, 0.02])
    pair = trimesh.util.concatenate([left, right])
    grid = [[0.0, y, z] for y in np.linspace(-0.02, 0.02, 5) for z in np.linspace(0.0, 0.04, 9)]
    result = signed_distance(torch.tensor(grid, dtype=torch.float32), pair)
    assert bool((result.sdf > 0).all())
    np.testing.assert_allclose(result.sdf.numpy(), 0.03, atol=1e-5)
    # Inside either box still reads inside.
    inside = signed_distance(torch.tensor([[-0.05, 0.0, 0.02], [0.05, 0.0, 0.02]]), pair)
    np.testing.assert_allclose(inside.sdf.numpy(), -0.02, atol=1e-5)


def test_nearest_points_parts_poses_each_part_and_takes_the_minimum():
    from openhoi.geometry import nearest_points_parts

    # Part 0: one point at the origin, never moved. Part 1: one point at the origin of its
    # frame, carried 1 m along +x in item 0 and 1 m along +y in item 1. Part 2 is empty.
    moved = torch.eye(4).repeat(2, 1, 1)
    moved[0, 0, 3] = 1.0
    moved[1, 1, 3] = 1.0
    clouds = [torch.zeros(1, 3), torch.zeros(1, 3), torch.zeros(0, 3)]
    transforms = [torch.eye(4).repeat(2, 1, 1), moved, torch.eye(4).repeat(2, 1, 1)]
    query = torch.tensor([[[0.9, 0.0, 0.0], [0.3, 0.0, 0.0]], [[0.9, 0.0, 0.0], [0.0, 0.8, 0.0]]])
    distance = nearest_points_parts(query.requires_grad_(True), clouds, transforms)
    assert distance.shape == (2, 2)
    torch.testing.assert_close(
        distance.detach(), torch.tensor([[0.1, 0.3], [0.9, 0.2]]), atol=1e-6, rtol=0
    )
    # The gradient points from the query away from the nearest posed point.
    distance[0, 0].backward()
    torch.testing.assert_close(query.grad[0, 0], torch.tensor([-1.0, 0.0, 0.0]))
    with pytest.raises(InputError, match="non-empty"):
        nearest_points_parts(query.detach(), [torch.zeros(0, 3)], [torch.eye(4).repeat(2, 1, 1)])
