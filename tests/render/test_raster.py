"""The numpy rasteriser and the camera on closed-form scenes."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi.errors import InputError
from openhoi.render import auto_camera
from openhoi.render._raster import rasterize


def test_square_facing_camera_has_exact_area_and_depth():
    uv = np.array([[10.0, 10.0], [30.0, 10.0], [30.0, 20.0], [10.0, 20.0]])
    depth = np.full(4, 2.0)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    fragments = rasterize(uv, depth, faces, 40, 30)
    covered = fragments.face >= 0
    assert covered.sum() == 20 * 10
    assert np.all(fragments.depth[covered] == pytest.approx(2.0))
    assert np.all(np.isinf(fragments.depth[~covered]))


def test_nearer_triangle_occludes_and_depth_is_perspective_correct():
    # A slanted quad: depth 1 on the left edge, 3 on the right; camera focal 10 px.
    focal, width, height = 10.0, 32, 32
    points = np.array([[-1.0, -1.0, 1.0], [3.0, -3.0, 3.0], [3.0, 3.0, 3.0], [-1.0, 1.0, 1.0]])
    uv = focal * points[:, :2] / points[:, 2:] + (width / 2, height / 2)
    faces = np.array([[0, 1, 2], [0, 2, 3]])
    fragments = rasterize(uv, points[:, 2], faces, width, height)
    rows, cols = np.nonzero(fragments.face >= 0)
    # The plane x = 2z - 3 → along a pixel ray x/z = (u - cx)/f: z = 3 / (2 - (u - cx)/f).
    ray_x = (cols + 0.5 - width / 2) / focal
    np.testing.assert_allclose(fragments.depth[rows, cols], 3.0 / (2.0 - ray_x), rtol=1e-5)
    # A small triangle in front wins where it overlaps.
    front_uv = np.vstack([uv, [[14.0, 14.0], [20.0, 14.0], [14.0, 20.0]]])
    front_depth = np.concatenate([points[:, 2], [0.5, 0.5, 0.5]])
    both = rasterize(front_uv, front_depth, np.vstack([faces, [[4, 5, 6]]]), width, height)
    assert both.face[15, 15] == 2 and both.depth[15, 15] == pytest.approx(0.5)


def test_auto_camera_frames_every_point():
    rng = np.random.default_rng(0)
    points = rng.uniform(-0.3, 0.3, size=(500, 3)) + np.array([1.0, 2.0, 0.5])
    camera = auto_camera(points, (320, 240))
    uv, depth = camera.project(points)
    assert np.all(depth > 0)
    assert np.all((uv >= 0) & (uv <= (320, 240)))
    center_uv, _ = camera.project((points.min(0) + points.max(0)) / 2)
    np.testing.assert_allclose(center_uv, (160, 120), atol=1e-6)
    with pytest.raises(InputError, match="empty"):
        auto_camera(np.zeros((0, 3)))
