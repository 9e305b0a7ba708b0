"""Camera tracks: every point in view, determinism, the egocentric head, camera files, and the
depth of analytic surfaces rendered through a pack."""

from __future__ import annotations

import json

import numpy as np
import pytest

from openhoi.errors import InputError, MissingFileError
from openhoi.render import CameraTrack, PackConfig, render_pack
from openhoi.render.camera_track import (
    EGO_UP_M,
    ego_track,
    look_at,
    orbit_track,
    third_person_track,
)

SIZE = (120, 80)


@pytest.fixture(scope="module")
def clip_points(laptop_sequence):
    """(T, P, 3) hand and object vertices, (T, 2, 21, 3) keypoints of the laptop fixture."""
    from openhoi.render._scene import scene_meshes

    scene = scene_meshes(laptop_sequence)
    return scene.vertices, scene.keypoints


def _tracks(points, keypoints, seed):
    return {
        "third": third_person_track(points, SIZE, seed=seed),
        "orbit": orbit_track(points, SIZE, fps=30.0, seed=seed),
        "ego": ego_track(points, keypoints, SIZE, fps=30.0, seed=seed),
    }


def test_every_camera_keeps_every_point_in_view(clip_points):
    points, keypoints = clip_points
    for name, track in _tracks(points, keypoints, seed=0).items():
        assert track.num_frames == len(points), name
        uv, depth = track.project(points)
        assert (depth > track.near_m).all() and (depth < track.far_m).all(), name
        assert ((uv >= 0) & (uv <= SIZE)).all(), name
        np.testing.assert_allclose(
            track.rotation @ track.rotation.transpose(0, 2, 1),
            np.broadcast_to(np.eye(3), track.rotation.shape),
            atol=1e-9,
        )


def test_cameras_are_deterministic_given_the_seed(clip_points):
    points, keypoints = clip_points
    first, again, other = (_tracks(points, keypoints, seed) for seed in (5, 5, 6))
    for name in first:
        np.testing.assert_array_equal(first[name].world_to_camera, again[name].world_to_camera)
        assert not np.allclose(first[name].world_to_camera, other[name].world_to_camera), name


def test_ego_head_sits_above_the_action_and_moves_smoothly(clip_points):
    points, keypoints = clip_points
    track = ego_track(points, keypoints, SIZE, fps=30.0, seed=1)
    eye = -np.einsum("tji,tj->ti", track.rotation, track.translation)  # camera centres
    flat = points.reshape(-1, 3)
    center = (flat.min(0) + flat.max(0)) / 2
    np.testing.assert_allclose(eye[:, 2] - center[2], EGO_UP_M, atol=0.02)
    step = np.linalg.norm(np.diff(eye, axis=0), axis=1)
    assert 0 < step.max() < 0.005  # metres per frame: a small, smooth sway
    # It looks at the action: the scene centre projects near the image centre.
    uv, _ = track.project(np.broadcast_to(center, (len(eye), 1, 3)))
    assert np.abs(uv[:, 0] - np.asarray(SIZE) / 2).max() < 0.25 * SIZE[1]


def test_camera_files_round_trip_and_bad_ones_are_named(clip_points, tmp_path):
    points, _ = clip_points
    track = orbit_track(points, SIZE, fps=30.0, seed=2)
    path = track.save(tmp_path / "camera.json", fps=30.0)
    loaded = CameraTrack.load(path)
    np.testing.assert_allclose(loaded.world_to_camera, track.world_to_camera, atol=1e-12)
    assert (loaded.width, loaded.height, loaded.near_m, loaded.far_m) == (
        track.width, track.height, track.near_m, track.far_m
    )  # fmt: skip
    data = json.loads(path.read_text())
    with pytest.raises(InputError, match="missing key"):
        CameraTrack.from_dict({k: v for k, v in data.items() if k != "K"})
    with pytest.raises(InputError, match="not a rotation"):
        CameraTrack.from_dict({**data, "R": (2 * np.eye(3)).tolist(), "t": [0, 0, 0]})
    with pytest.raises(InputError, match="K must be"):
        CameraTrack.from_dict({**data, "K": [[0, 0, 1], [0, 1, 1], [0, 0, 1]]})
    with pytest.raises(InputError, match="near < far"):
        CameraTrack.from_dict({**data, "near": 2.0, "far": 1.0})
    with pytest.raises(MissingFileError, match="nope.json"):
        CameraTrack.load(tmp_path / "nope.json")
    assert CameraTrack.from_dict({**data, "R": data["R"][0], "t": data["t"][0]}).num_frames == 1


def _render_object_depth(tmp_path, mesh, eye, target):
    """Depth of `mesh` (the only object; hands parked beyond the far plane) from a camera at
    `eye` looking at `target`, through a pack and its files."""
    from openhoi import HOISequence
    from openhoi.objects import load_object

    mesh_path = tmp_path / "mesh.obj"
    mesh.export(mesh_path)
    obj = load_object(str(mesh_path))
    far_away = np.tile([0.0, 30.0, 0.0], (2, 1))
    sequence = HOISequence.from_parameters(left_transl=far_away, right_transl=far_away)
    rotation, translation = look_at(np.asarray(eye, float), np.asarray(target, float))
    focal = 70.0
    camera = {
        "width": SIZE[0], "height": SIZE[1], "near": 0.01, "far": 2.0,
        "K": [[focal, 0, SIZE[0] / 2], [0, focal, SIZE[1] / 2], [0, 0, 1]],
        "R": rotation.tolist(), "t": translation.tolist(),
    }  # fmt: skip
    (tmp_path / "camera.json").write_text(json.dumps(camera))
    config = PackConfig(pack="pam", clip=2, camera=str(tmp_path / "camera.json"))
    out = render_pack(sequence, tmp_path / "pack", config=config, obj=obj)
    with np.load(out.clips[0] / "depth.npz") as data:
        depth = data["depth"][0]
    # Each pixel centre's ray in the world: origin `eye`, direction R^T (x, y, 1).
    cols, rows = np.meshgrid(np.arange(SIZE[0]) + 0.5, np.arange(SIZE[1]) + 0.5)
    rays = np.stack(
        [(cols - SIZE[0] / 2) / focal, (rows - SIZE[1] / 2) / focal, np.ones_like(cols)], -1
    )
    return depth, rays @ rotation, np.asarray(obj.mesh.vertices)


def test_depth_of_an_analytic_plane(tmp_path):
    import trimesh

    slab = trimesh.creation.box(extents=(0.6, 0.4, 0.02))
    eye, target = (0.05, -0.45, 0.35), (0.0, 0.0, 0.0)
    depth, rays, vertices = _render_object_depth(tmp_path, slab, eye, target)
    top = vertices[:, 2].max()
    # Along a ray with unit camera-z component, the parameter is the depth itself.
    s = (top - eye[2]) / rays[..., 2]
    hit = np.asarray(eye) + s[..., None] * rays
    low, high = vertices.min(0), vertices.max(0)
    inside = ((hit[..., :2] > low[:2] + 0.01) & (hit[..., :2] < high[:2] - 0.01)).all(-1)
    assert inside.sum() > 1000
    np.testing.assert_allclose(depth[inside], s[inside], rtol=2e-6)


def test_depth_of_an_analytic_sphere(tmp_path):
    import trimesh

    radius = 0.08
    sphere = trimesh.creation.icosphere(subdivisions=5, radius=radius)
    eye = np.array([0.0, -0.35, 0.2])
    depth, rays, vertices = _render_object_depth(tmp_path, sphere, eye, (0.0, 0.0, 0.08))
    center = vertices.mean(0)
    # |eye + s d - c|^2 = r^2, nearer root.
    to_center = center - eye
    a = (rays**2).sum(-1)
    b = rays @ to_center
    disc = b**2 - a * ((to_center**2).sum() - radius**2)
    s = (b - np.sqrt(np.maximum(disc, 0))) / a
    # Pixels well inside the silhouette (the tessellation moves the rim by a fraction of a
    # pixel): the ray passes the centre at under 95% of the radius.
    miss_distance = np.sqrt(np.maximum((to_center**2).sum() - b**2 / a, 0.0))
    inside = miss_distance < 0.95 * radius
    assert inside.sum() > 500
    assert np.abs(depth[inside] - s[inside]).max() < 1e-4  # 0.1 mm: facets vs the sphere
    outside = miss_distance > 1.05 * radius
    assert (depth[outside] == 0).all()
