"""Preview videos that show the interaction: hands and object on a table, followed by the camera.

Each frame (1280×720 by default) shows:

- the scene from a camera that follows the action: every frame it frames the object and the
  active hands (idle hands are not drawn), and its centre and distance are smoothed over
  `FOLLOW_SMOOTHING_S` seconds so it glides rather than jitters;
- a table at the height the object rests on, with a faint 10 cm grid, a soft shadow of the
  hands and object and a contact darkening (ambient-occlusion-like) where they come near it;
- smooth-shaded skin and object materials (key, fill and sky light, specular highlights,
  outlines), and contact shading: hand skin turns green where it is within the contact
  distance of the object and red where it is inside it (`use_contact`);
- a second, side view inset at the bottom right (`use_inset`);
- the sub-task caption at the top and a timeline of the sub-tasks with the current frame at
  the bottom (`use_captions`).

Static scene objects (`static_objects`) are drawn in the object colour at their fixed pose and
framed too. Two backends draw the meshes through the same cameras (`openhoi.render.camera`):

- "software": the numpy z-buffer rasteriser (`_raster.rasterize`) with per-pixel shading
  computed here; needs no GL at all.
- "pyrender": OpenGL offscreen rendering (smooth lighting, vertex colours for contact; no
  table shadow). Headless, it needs EGL (Debian `libegl1`, `libgl1`) or OSMesa
  (`libosmesa6`); `PYOPENGL_PLATFORM` defaults to "egl" when unset.

"auto" (the default) uses pyrender when it opens a hardware-accelerated context and the
software rasteriser otherwise (a CPU GL such as Mesa llvmpipe is slower than numpy here).
Videos are H.264 (yuv420p) MP4 written by imageio-ffmpeg at the sequence's frame rate.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import tempfile
import textwrap
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openhoi.errors import DependencyError, InputError
from openhoi.export._static import resolve_static_objects
from openhoi.geometry.constants import CONTACT_THRESHOLD_M
from openhoi.render._raster import rasterize
from openhoi.render._scene import INSTANCE_IDS, SceneMeshes, scene_meshes
from openhoi.render.camera import DEFAULT_VIEW_DIRECTION, Camera, auto_camera

__all__ = [
    "BACKENDS",
    "DEFAULT_SIZE",
    "follow_cameras",
    "hand_object_distances",
    "iter_frames",
    "render_frames",
    "render_preview",
    "write_preview",
]

logger = logging.getLogger(__name__)

BACKENDS = ("auto", "pyrender", "software")
DEFAULT_SIZE = (1280, 720)

# --- camera ---------------------------------------------------------------------------------
# Gaussian smoothing (seconds) of the follow camera's centre and distance.
FOLLOW_SMOOTHING_S = 0.5
# The inset looks from the other side, lower: it shows what the main view hides.
INSET_VIEW_DIRECTION = (-1.0, -0.35, 0.32)
INSET_WIDTH_FRACTION = 0.27
# Object vertices used for framing (every k-th): framing needs the extent, not every vertex.
_FRAMING_STRIDE = 4
# Room around the framed sphere, so the table and shadow around the action show too.
FOLLOW_ROOM = 1.2

# --- look -----------------------------------------------------------------------------------
_SKY_TOP = np.array([0.93, 0.94, 0.96])
_SKY_BOTTOM = np.array([0.84, 0.86, 0.89])
_TABLE = np.array([0.86, 0.83, 0.78])
_GRID = np.array([0.70, 0.66, 0.60])
_GRID_SPACING_M = 0.10
_INSTANCE_COLORS = {
    INSTANCE_IDS["left_hand"]: (0.93, 0.71, 0.60),
    INSTANCE_IDS["right_hand"]: (0.86, 0.60, 0.50),
    INSTANCE_IDS["object"]: (0.52, 0.62, 0.78),
}
_MOVING_PART_COLOR = (0.36, 0.50, 0.76)
_CONTACT_COLOR = np.array([0.16, 0.72, 0.42])
_PENETRATION_COLOR = np.array([0.90, 0.12, 0.10])
# Distances are searched this far (metres); farther vertices read +_CONTACT_SEARCH_M, which
# colours them as plain skin just the same, and the search is several times faster.
_CONTACT_SEARCH_M = 0.05
# Red at full strength this deep inside the object, metres.
_PENETRATION_FULL_M = 0.005
# Lights (world frame, towards the light): key from the camera's upper right, fill from the
# left, sky from above. The shadow light is nearly overhead so the shadow sits under things.
_KEY_LIGHT = np.array([0.55, -0.65, 0.85]) / np.linalg.norm([0.55, -0.65, 0.85])
_FILL_LIGHT = np.array([-0.8, -0.2, 0.35]) / np.linalg.norm([-0.8, -0.2, 0.35])
_SHADOW_LIGHT = np.array([0.25, -0.30, 1.0]) / np.linalg.norm([0.25, -0.30, 1.0])
_LIGHTS = (_KEY_LIGHT, _FILL_LIGHT)
# (specular strength, shininess) per instance: the object is glossier than skin.
_SPECULAR = {
    INSTANCE_IDS["left_hand"]: (0.10, 12.0),
    INSTANCE_IDS["right_hand"]: (0.10, 12.0),
    INSTANCE_IDS["object"]: (0.35, 40.0),
}
# Diffuse light on meshes: ambient, sky (by how much a normal faces up), key, fill.
_LIGHT_WEIGHTS = (0.22, 0.20, 0.62, 0.20)
_NEAR_TABLE_DARKENING = 0.35  # meshes touching the table lose this much light
_SHADOW_GRID = 160  # shadow map cells per side, over 5 framing radii
_CONTACT_DARKENING_M = 0.015  # meshes darken within this height of the table
# GL_RENDERER names of CPU OpenGL implementations.
_CPU_GL_RENDERERS = ("llvmpipe", "softpipe", "swrast")


# --- per-frame data -------------------------------------------------------------------------


def hand_object_distances(
    sequence, obj, hand_vertices: np.ndarray, frames: np.ndarray | None = None
) -> np.ndarray:
    """Signed distance of hand vertices to the sequence's posed object.

    Args:
        sequence: the `HOISequence` (its object pose and articulation angle pose `obj`).
        obj: the `HOIObject`.
        hand_vertices: `(K, N, 3)` world points, metres, at `frames`.
        frames: `(K,)` frame indices (default: all T frames, K = T).

    Returns:
        `(K, N)` float32 signed distance in metres, < 0 inside the object; vertices farther
        than `_CONTACT_SEARCH_M` (5 cm) from the surface read +5 cm.
    """
    import torch

    from openhoi.geometry import signed_distance_parts

    frames = np.arange(sequence.num_frames) if frames is None else np.asarray(frames)
    body = np.asarray(sequence.object_transforms(), np.float64)[frames]
    angles = np.asarray(sequence.object_angle(), np.float64)[frames]
    transforms = [
        torch.from_numpy(body @ np.asarray(obj.part_transform(part.name, angles), np.float64))
        .float()
        for part in obj.parts
    ]  # fmt: skip
    points = torch.from_numpy(np.ascontiguousarray(hand_vertices, np.float32))
    with torch.no_grad():
        query = signed_distance_parts(
            points, obj.part_meshes(), transforms, max_distance=_CONTACT_SEARCH_M
        )
        sdf = query.sdf
    return sdf.cpu().numpy().astype(np.float32)


def _vertex_instances(scene: SceneMeshes) -> np.ndarray:
    instance = np.zeros(scene.vertices.shape[1], np.uint8)
    instance[scene.faces.reshape(-1)] = np.repeat(scene.face_instance, 3)
    return instance


def _vertex_colors(scene: SceneMeshes) -> np.ndarray:
    """`(N, 3)` base colour of every vertex in [0, 1] (the moving part in its own colour)."""
    colors = np.zeros((scene.vertices.shape[1], 3))
    for instance, color in _INSTANCE_COLORS.items():
        colors[scene.faces[scene.face_instance == instance].reshape(-1)] = color
    if scene.moving_part >= 0:
        colors[scene.faces[scene.face_part == scene.moving_part].reshape(-1)] = _MOVING_PART_COLOR
    return colors


def _contact_tint(base: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """`(N, 3)` colours: green within the contact distance, red inside (by depth)."""
    contact = np.clip(1.0 - distance / CONTACT_THRESHOLD_M, 0.0, 1.0) * (distance >= 0) * 0.85
    inside = np.clip(0.45 - distance / _PENETRATION_FULL_M, 0.0, 1.0) * (distance < 0)
    out = base * (1.0 - contact - inside)[:, None]
    return out + contact[:, None] * _CONTACT_COLOR + inside[:, None] * _PENETRATION_COLOR


def follow_cameras(
    scene: SceneMeshes,
    active_hands: np.ndarray,
    size: tuple[int, int],
    fps: float,
    *,
    view_direction=DEFAULT_VIEW_DIRECTION,
) -> list[Camera]:
    """One camera per frame that keeps the object and the active hands in view.

    The centre and radius of each frame's framed points are smoothed with a Gaussian of
    `FOLLOW_SMOOTHING_S` seconds (the radius after a running maximum over the same window,
    so smoothing never cuts a hand off); each camera is `auto_camera` of that sphere.

    Args:
        scene: the scene's meshes.
        active_hands: `(T, 2)` bool.
        size: `(width, height)` pixels.
        fps: frame rate of the sequence.
        view_direction: direction from the scene towards the camera (world frame).
    """
    centers, radii = _follow_path(scene, active_hands, fps)
    return _sphere_cameras(centers, radii, size, view_direction)


def _sphere_cameras(centers, radii, size, view_direction) -> list[Camera]:
    axes = np.concatenate([np.eye(3), -np.eye(3)])
    # Six points on the sphere: their bounding-box centre is the centre, the farthest is
    # `radius` away, so auto_camera frames exactly that sphere.
    return [
        auto_camera(center + axes * radius, size, view_direction=view_direction)
        for center, radius in zip(centers, radii, strict=True)
    ]


def _follow_path(scene: SceneMeshes, active_hands: np.ndarray, fps: float):
    """`(T, 3)` smoothed centres and `(T,)` radii (metres) of what each frame must show."""
    from scipy.ndimage import gaussian_filter1d, maximum_filter1d

    instance = _vertex_instances(scene)
    objects = np.flatnonzero(instance == INSTANCE_IDS["object"])[::_FRAMING_STRIDE]
    hands = [np.flatnonzero(instance == INSTANCE_IDS[f"{s}_hand"]) for s in ("left", "right")]
    num_frames = scene.vertices.shape[0]
    centers, radii = np.zeros((num_frames, 3)), np.zeros(num_frames)
    for frame in range(num_frames):
        ids = [objects] + [h for k, h in enumerate(hands) if active_hands[frame, k]]
        points = scene.vertices[frame, np.concatenate(ids)]
        if len(points) == 0:
            points = scene.vertices[frame]
        low, high = points.min(axis=0), points.max(axis=0)
        centers[frame] = (low + high) / 2.0
        radii[frame] = np.linalg.norm(points - centers[frame], axis=1).max()
    sigma = max(FOLLOW_SMOOTHING_S * fps, 1e-3)
    window = max(1, round(2 * sigma) | 1)
    centers = gaussian_filter1d(centers, sigma, axis=0, mode="nearest")
    radii = maximum_filter1d(radii, window, mode="nearest")
    radii = np.maximum(gaussian_filter1d(radii, sigma, mode="nearest"), 0.05)
    return centers, radii


# --- the software renderer ------------------------------------------------------------------


@dataclass(frozen=True)
class _Shadow:
    """A soft shadow on the table: `(N, N)` darkening in [0, 1] over a square of the table."""

    darkening: np.ndarray
    origin: np.ndarray  # (2,) world x, y of the grid's corner
    cell_m: float


def _table_shadow(vertices, faces, instance_per_vertex, ground_z, center, radius) -> _Shadow:
    """The shadow of `faces` cast by the (nearly overhead) shadow light onto z = `ground_z`,
    blurred, plus a contact darkening under whatever is close to the table."""
    from scipy.ndimage import gaussian_filter

    size = _SHADOW_GRID
    cell = 5.0 * radius / size
    origin = center[:2] - 2.5 * radius
    height = np.maximum(vertices[:, 2] - ground_z, 0.0)
    flat = vertices[:, :2] - _SHADOW_LIGHT[:2] * (height / _SHADOW_LIGHT[2])[:, None]
    uv = (flat - origin) / cell
    cover = rasterize(uv, 1.0 + height, faces, size, size).face.T >= 0  # (x, y)
    shadow = gaussian_filter(cover.astype(np.float32), 1.6)
    # Contact darkening: vertices near the table, splatted straight down and blurred wide.
    near = np.exp(-height / _CONTACT_DARKENING_M) * (instance_per_vertex > 0)
    cells = np.floor((vertices[:, :2] - origin) / cell).astype(np.int64)
    keep = (cells >= 0).all(axis=1) & (cells < size).all(axis=1) & (near > 0.05)
    splat = np.bincount(cells[keep, 0] * size + cells[keep, 1], near[keep], size * size)
    occlusion = gaussian_filter(splat.reshape(size, size).astype(np.float32), 3.0)
    occlusion = np.clip(occlusion / max(float(occlusion.max()), 1e-6), 0.0, 1.0)
    return _Shadow(np.clip(0.36 * shadow + 0.28 * occlusion, 0.0, 0.55), origin, cell)


@functools.lru_cache(maxsize=4)
def _pixel_rays(width: int, height: int, focal: float) -> tuple[np.ndarray, np.ndarray]:
    """Camera-frame ray directions (z = 1) of every pixel centre: `(H·W,)` x and y."""
    u = (np.arange(width) + 0.5 - width / 2.0) / focal
    v = (np.arange(height) + 0.5 - height / 2.0) / focal
    x, y = np.meshgrid(u, v)
    return x.reshape(-1).astype(np.float32), y.reshape(-1).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _sky(width: int, height: int) -> np.ndarray:
    ramp = np.linspace(0.0, 1.0, height)[:, None, None]
    sky = np.broadcast_to(_SKY_TOP * (1 - ramp) + _SKY_BOTTOM * ramp, (height, width, 3))
    sky = sky.astype(np.float32)
    sky.flags.writeable = False  # cached: callers copy
    return sky


class _SoftwareRenderer:
    """Per-pixel shaded frames from the numpy rasteriser (table, shadow, outlines)."""

    name = "software"

    def __init__(self, scene: SceneMeshes, ground_z: float) -> None:
        self.scene, self.ground_z = scene, ground_z
        self.vertex_instance = _vertex_instances(scene)
        self.specular = np.zeros((len(INSTANCE_IDS), 2))
        for instance, value in _SPECULAR.items():
            self.specular[instance] = value

    def shadow(self, frame: int, faces: np.ndarray, center, radius) -> _Shadow:
        """The table shadow of the drawn faces at `frame` (shared by both views)."""
        return _table_shadow(
            self.scene.vertices[frame], faces, self.vertex_instance, self.ground_z, center, radius
        )

    def __call__(
        self, frame: int, camera: Camera, faces: np.ndarray, face_ids: np.ndarray,
        colors: np.ndarray, shadow: _Shadow,
    ) -> np.ndarray:  # fmt: skip
        """`(H, W, 3)` float RGB in [0, 1] of `faces` (`face_ids` index the scene's faces)."""
        width, height = camera.width, camera.height
        vertices = self.scene.vertices[frame].astype(np.float64)
        uv, depth = camera.project(vertices)
        fragments = rasterize(uv, depth, faces, width, height)
        face_buffer = fragments.face.reshape(-1)
        zbuffer = fragments.depth.reshape(-1)
        # 1. The backdrop (sky, table, shadow); a mesh below the table is hidden by it.
        rotation = camera.world_to_camera[:3, :3]
        eye = -rotation.T @ camera.world_to_camera[:3, 3]
        image = _backdrop(camera, eye, self.ground_z, shadow).reshape(-1, 3)
        covered = np.flatnonzero(face_buffer >= 0)
        if covered.size:
            ray_x, ray_y = _pixel_rays(width, height, camera.focal_px)
            dir_z = ray_x[covered] * rotation[0, 2] + ray_y[covered] * rotation[1, 2]
            dir_z += rotation[2, 2]
            with np.errstate(divide="ignore", invalid="ignore"):
                reach = (self.ground_z - eye[2]) / dir_z
            covered = covered[~((dir_z < -1e-6) & (reach < zbuffer[covered] - 1e-4))]
        # 2. Meshes: barycentric interpolation of vertex normals and colours per pixel.
        if covered.size:
            self._shade_meshes(image, covered, face_buffer[covered], faces, face_ids, uv,
                               vertices, colors, camera, eye)  # fmt: skip
        image = image.reshape(height, width, 3)
        # 3. Outlines where the visible instance changes or the depth jumps.
        instance = np.zeros(width * height, np.int8)
        instance[covered] = self.scene.face_instance[face_ids[face_buffer[covered]]]
        _outline(image, instance.reshape(height, width), fragments.depth)
        return image

    def _shade_meshes(self, image, covered, visible, faces, face_ids, uv, vertices, colors,
                      camera, eye):  # fmt: skip
        # Columns of (P,) float32 arrays rather than (P, 3) blocks: numpy's reductions over a
        # short last axis are slow, plain elementwise arithmetic is not.
        tri = faces[visible]  # (P, 3) vertex ids
        uv = uv.astype(np.float32)
        ax, ay = uv[tri[:, 0], 0], uv[tri[:, 0], 1]
        bx, by = uv[tri[:, 1], 0] - ax, uv[tri[:, 1], 1] - ay
        cx, cy = uv[tri[:, 2], 0] - ax, uv[tri[:, 2], 1] - ay
        px = (covered % camera.width).astype(np.float32) + np.float32(0.5) - ax
        py = (covered // camera.width).astype(np.float32) + np.float32(0.5) - ay
        area = bx * cy - by * cx
        area[np.abs(area) < 1e-12] = 1e-12
        w1 = np.clip((px * cy - py * cx) / area, 0.0, 1.0)
        w2 = np.clip((bx * py - by * px) / area, 0.0, 1.0)
        w0 = np.clip(1.0 - w1 - w2, 0.0, 1.0)

        def interpolate(values):  # (N, 3) per vertex → three (P,) columns
            values = np.asarray(values, np.float32)
            v0, v1, v2 = values[tri[:, 0]], values[tri[:, 1]], values[tri[:, 2]]
            return [w0 * v0[:, k] + w1 * v1[:, k] + w2 * v2[:, k] for k in range(3)]

        nx, ny, nz = interpolate(_vertex_normals(vertices, faces))
        x, y, z = interpolate(vertices)
        vx, vy, vz = float(eye[0]) - x, float(eye[1]) - y, float(eye[2]) - z
        inverse = 1.0 / np.maximum(np.sqrt(vx * vx + vy * vy + vz * vz), 1e-12)
        vx, vy, vz = vx * inverse, vy * inverse, vz * inverse
        inverse = 1.0 / np.maximum(np.sqrt(nx * nx + ny * ny + nz * nz), 1e-12)
        facing = np.where(nx * vx + ny * vy + nz * vz < 0, -inverse, inverse)  # two-sided
        nx, ny, nz = nx * facing, ny * facing, nz * facing
        (kx, ky, kz), (fx, fy, fz) = (tuple(float(v) for v in light) for light in _LIGHTS)
        key = np.maximum(nx * kx + ny * ky + nz * kz, 0.0)
        fill = np.maximum(nx * fx + ny * fy + nz * fz, 0.0)
        sky = 0.5 + 0.5 * nz
        height = np.maximum(z - float(self.ground_z), 0.0)
        near_table = 1.0 - _NEAR_TABLE_DARKENING * np.exp(-height / _CONTACT_DARKENING_M)
        ambient, sky_weight, key_weight, fill_weight = _LIGHT_WEIGHTS
        light = (ambient + sky_weight * sky + key_weight * key + fill_weight * fill) * near_table
        hx, hy, hz = vx + kx, vy + ky, vz + kz
        cosine = (nx * hx + ny * hy + nz * hz) / np.maximum(
            np.sqrt(hx * hx + hy * hy + hz * hz), 1e-12
        )
        instance = self.scene.face_instance[face_ids[visible]]
        strength, shininess = self.specular[instance, 0], self.specular[instance, 1]
        specular = (strength * np.clip(cosine, 0.0, 1.0) ** shininess).astype(np.float32)
        red, green, blue = interpolate(colors)
        image[covered, 0] = red * light + specular
        image[covered, 1] = green * light + specular
        image[covered, 2] = blue * light + specular


def _backdrop(camera: Camera, eye: np.ndarray, ground_z: float, shadow: _Shadow) -> np.ndarray:
    """`(H, W, 3)` float32 sky and table (grid, soft shadow, fading into the sky far from
    the action), computed at half resolution: it is smooth, and this is half the frame time.
    """
    from scipy.ndimage import map_coordinates

    width, height = camera.width, camera.height
    half_w, half_h = (width + 1) // 2, (height + 1) // 2
    rotation = camera.world_to_camera[:3, :3].astype(np.float32)
    ray_x, ray_y = _pixel_rays(half_w, half_h, camera.focal_px / 2.0)
    dirs = [ray_x * rotation[0, k] + ray_y * rotation[1, k] + rotation[2, k] for k in range(3)]
    image = _sky(half_w, half_h).reshape(-1, 3).copy()
    table = dirs[2] < -1e-6
    eye = [float(v) for v in eye]  # Python floats keep the float32 arithmetic float32
    s = (float(ground_z) - eye[2]) / dirs[2][table]  # camera-frame depth of the table
    x = eye[0] + s * dirs[0][table]
    y = eye[1] + s * dirs[1][table]
    # Anti-aliased grid: darker within about one (full-size) pixel's footprint of a line.
    footprint = s / camera.focal_px * 2.4
    gx, gy = x / _GRID_SPACING_M, y / _GRID_SPACING_M
    gx = np.abs(gx - np.floor(gx + 0.5))
    gy = np.abs(gy - np.floor(gy + 0.5))
    line = np.clip(1.0 - np.minimum(gx, gy) * _GRID_SPACING_M / footprint, 0.0, 1.0) * 0.35
    size = shadow.darkening.shape[0]
    cells = (np.stack([x, y]) - shadow.origin[:, None]) / shadow.cell_m - 0.5
    dark = map_coordinates(shadow.darkening, cells, order=1, mode="constant", cval=0.0)
    centre = [float(v) for v in shadow.origin + shadow.cell_m * size / 2.0]
    reach_m = float(shadow.cell_m * size * 1.1)
    near = np.clip(1.0 - ((x - centre[0]) ** 2 + (y - centre[1]) ** 2) / reach_m**2, 0.0, 1.0)
    fade = near * (2.0 - near)  # 1 at the centre, 0 from reach_m on, smooth in between
    lit = (1.0 - dark) * fade
    for k in range(3):  # one channel at a time: plain (N,) arithmetic, all float32
        table_k, grid_k = float(_TABLE[k]), float(_GRID[k])
        sky_k = image[table, k]
        image[table, k] = (table_k + (grid_k - table_k) * line) * lit + sky_k * (1.0 - fade)
    doubled = np.broadcast_to(image.reshape(half_h, 1, half_w, 1, 3), (half_h, 2, half_w, 2, 3))
    return doubled.reshape(2 * half_h, 2 * half_w, 3)[:height, :width]


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """`(N, 3)` area-weighted vertex normals of the drawn faces (unit length where used)."""
    tri = vertices[faces]
    face_normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    ids = faces.reshape(-1)
    normals = np.stack(
        [np.bincount(ids, np.repeat(face_normal[:, k], 3), len(vertices)) for k in range(3)],
        axis=1,
    )
    return normals / np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)


def _outline(image: np.ndarray, instance: np.ndarray, depth: np.ndarray) -> None:
    """Darken, in place, pixels where the instance changes or the depth jumps (> 2 %).

    Only the meshes' bounding box (one pixel wider) can hold an edge, so only it is scanned.
    """
    rows = np.flatnonzero(instance.any(axis=1))
    columns = np.flatnonzero(instance.any(axis=0))
    if rows.size == 0:
        return
    box = (
        slice(max(rows[0] - 1, 0), rows[-1] + 2),
        slice(max(columns[0] - 1, 0), columns[-1] + 2),
    )
    instance, depth = instance[box], depth[box]
    edge = np.zeros(instance.shape, bool)
    finite = np.where(np.isfinite(depth), depth, 1e3)
    for axis in (0, 1):
        step = [slice(None), slice(None)]
        step[axis] = slice(1, None)
        back = [slice(None), slice(None)]
        back[axis] = slice(None, -1)
        jump = (instance[tuple(step)] != instance[tuple(back)]) | (
            np.abs(finite[tuple(step)] - finite[tuple(back)]) > 0.02 * finite[tuple(back)]
        )
        jump &= (instance[tuple(step)] > 0) | (instance[tuple(back)] > 0)
        edge[tuple(back)] |= jump
    image[box][edge] *= 0.55


# --- the pyrender backend -------------------------------------------------------------------


class _PyrenderRenderer:
    """Smooth-shaded frames from pyrender's offscreen OpenGL renderer (no table shadow)."""

    name = "pyrender"

    def __init__(self, scene: SceneMeshes, ground_z: float, renderer) -> None:
        import pyrender

        self.pyrender, self.scene, self.renderer, self.ground_z = (
            pyrender,
            scene,
            renderer,
            ground_z,
        )

    def shadow(self, frame, faces, center, radius) -> None:
        """No table shadow in OpenGL here."""

    def __call__(self, frame, camera, faces, face_ids, colors, shadow) -> np.ndarray:
        import trimesh

        pyrender = self.pyrender
        self.renderer.viewport_width, self.renderer.viewport_height = camera.width, camera.height
        scene = pyrender.Scene(bg_color=(*_SKY_BOTTOM, 1.0), ambient_light=(0.35, 0.35, 0.35))
        used, inverse = np.unique(faces.reshape(-1), return_inverse=True)
        rgba = np.concatenate([colors[used], np.ones((len(used), 1))], axis=1)
        mesh = trimesh.Trimesh(
            self.scene.vertices[frame][used], inverse.reshape(-1, 3), vertex_colors=rgba,
            process=False,
        )  # fmt: skip
        scene.add(pyrender.Mesh.from_trimesh(mesh, smooth=True))
        table = trimesh.creation.box((20.0, 20.0, 0.001))
        table.apply_translation((0.0, 0.0, self.ground_z - 0.0005))
        table.visual.vertex_colors = np.append(_TABLE, 1.0)
        scene.add(pyrender.Mesh.from_trimesh(table, smooth=False))
        camera_pose = np.linalg.inv(camera.world_to_camera) @ np.diag([1.0, -1.0, -1.0, 1.0])
        intrinsics = pyrender.IntrinsicsCamera(
            fx=camera.focal_px, fy=camera.focal_px, cx=camera.width / 2.0,
            cy=camera.height / 2.0, znear=0.01, zfar=100.0,
        )  # fmt: skip
        scene.add(intrinsics, pose=camera_pose)
        scene.add(pyrender.DirectionalLight(color=np.ones(3), intensity=3.0), pose=camera_pose)
        color, _ = self.renderer.render(scene)
        return color[:, :, :3].astype(np.float64) / 255.0

    def close(self) -> None:
        """Release the GL context."""
        self.renderer.delete()


def _make_renderer(backend: str, scene: SceneMeshes, ground_z: float, size: tuple[int, int]):
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if backend == "software":
        return _SoftwareRenderer(scene, ground_z)
    try:
        gl_renderer = _open_gl(*size)
    except Exception as exc:  # import errors, missing EGL/OSMesa libraries, no GL context
        if backend == "pyrender":
            raise DependencyError(
                f"the pyrender backend cannot render headless ({type(exc).__name__}: {exc}); "
                "install it with: pip install pyrender, and the GL libraries with: "
                "apt-get install libegl1 libgl1 (EGL) or libosmesa6 (then set "
                "PYOPENGL_PLATFORM=osmesa); or use backend='software'"
            ) from exc
        logger.info("pyrender unavailable (%s); using the software rasteriser", exc)
        return _SoftwareRenderer(scene, ground_z)
    if backend == "auto" and _is_software_gl():
        logger.info("OpenGL renders on the CPU; using the faster numpy rasteriser")
        gl_renderer.delete()
        return _SoftwareRenderer(scene, ground_z)
    return _PyrenderRenderer(scene, ground_z, gl_renderer)


def _is_software_gl() -> bool:
    """Whether the current GL context is a CPU implementation (Mesa llvmpipe, softpipe)."""
    from OpenGL.GL import GL_RENDERER, glGetString

    name = (glGetString(GL_RENDERER) or b"").decode("ascii", "replace").lower()
    return any(cpu in name for cpu in _CPU_GL_RENDERERS)


def _open_gl(width: int, height: int):
    """A pyrender offscreen renderer (headless EGL unless PYOPENGL_PLATFORM says otherwise)."""
    os.environ.setdefault("PYOPENGL_PLATFORM", "egl")
    import pyrender

    return pyrender.OffscreenRenderer(width, height)


# --- captions, timeline, inset --------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


_SEGMENT_COLORS = ((160, 184, 224), (224, 196, 150), (166, 210, 160), (228, 164, 180))


def _overlay(image, *, caption, frame, sequence, inset, inset_box, use_captions, use_contact):
    """Paste the inset and draw the caption band, the sub-task timeline and the legend."""
    try:
        from PIL import Image, ImageDraw
    except ImportError as exc:
        raise DependencyError(
            "drawing preview captions needs the package 'pillow'; install it with: "
            "pip install pillow"
        ) from exc
    height, width = image.shape[:2]
    if inset is not None:
        left, top = inset_box
        image[top - 2 : top + inset.shape[0] + 2, left - 2 : left + inset.shape[1] + 2] = 255
        image[top : top + inset.shape[0], left : left + inset.shape[1]] = inset
    if not use_captions and inset is None:
        return image
    picture = Image.fromarray(image)
    draw = ImageDraw.Draw(picture, "RGBA")
    font = _font(max(9, height // 24))
    small = _font(max(8, height // 40))
    if inset is not None:
        draw.text((inset_box[0] + 6, inset_box[1] + 4), "side view", fill=(40, 40, 40, 255),
                  font=small)  # fmt: skip
    if use_captions:
        char_width = max(1.0, draw.textlength("abcdefghij", font=font) / 10.0)
        lines = textwrap.wrap(caption, max(8, int((width - 16) / char_width)))[:2]
        line_height = font.getbbox("Ag")[3] + 4
        if lines:
            draw.rectangle((0, 0, width, 8 + line_height * len(lines)), fill=(20, 22, 30, 160))
            for row, line in enumerate(lines):
                draw.text((8, 4 + row * line_height), line, fill=(255, 255, 255, 255), font=font)
        # The timeline: one block per segment, the current frame as a bar.
        bar_height = max(4, height // 60)
        bar_top = height - bar_height - max(2, height // 120)
        total = sequence.num_frames
        for s, (start, end) in enumerate(sequence.segment_ranges):
            x0, x1 = start / total * width, end / total * width
            shade = _SEGMENT_COLORS[s % len(_SEGMENT_COLORS)] if sequence.texts[s] else (225,) * 3
            box = (x0, bar_top, max(x0, x1 - 1), bar_top + bar_height)
            draw.rectangle(box, fill=(*shade, 255), outline=(150, 150, 150, 255))
        cursor = (frame + 0.5) / total * width
        draw.rectangle((cursor - 1, bar_top - 3, cursor + 1, bar_top + bar_height + 3),
                       fill=(20, 20, 20, 255))  # fmt: skip
        corner = f"{frame}/{total - 1}"
        corner_width = draw.textlength(corner, font=small)
        text_top = bar_top - small.getbbox("Ag")[3] - 6
        draw.text((width - corner_width - 8, text_top), corner, fill=(40, 40, 40, 255), font=small)
        if use_contact:
            x = 8
            for label, color in (("contact", _CONTACT_COLOR), ("penetration", _PENETRATION_COLOR)):
                swatch = tuple(int(v * 255) for v in color)
                size = small.getbbox("Ag")[3]
                draw.rectangle((x, text_top + 2, x + size, text_top + 2 + size), fill=swatch)
                draw.text((x + size + 4, text_top), label, fill=(40, 40, 40, 255), font=small)
                x += size + 12 + draw.textlength(label, font=small)
    return np.asarray(picture)


def _frame_captions(sequence) -> list[str]:
    """Caption of every frame: "[k/S] sub-task text" of its segment."""
    segment = np.searchsorted(sequence.segment_starts, np.arange(sequence.num_frames), "right") - 1
    count = sequence.num_segments
    return [f"[{s + 1}/{count}] {sequence.texts[s]}".rstrip() for s in segment]


def _check_size(size: tuple[int, int]) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError) as exc:
        raise InputError(f"size must be (width, height) in pixels, got {size!r}") from exc
    if width < 16 or height < 16 or width % 2 or height % 2:
        raise InputError(
            f"size must be even numbers of pixels, at least 16×16 (H.264 yuv420p), got {size!r}"
        )
    return width, height


def _ground_height(scene: SceneMeshes) -> float:
    """The table's height: where the object rests at the first frame (z = 0 without one)."""
    instance = _vertex_instances(scene)
    objects = instance == INSTANCE_IDS["object"]
    if objects.any():
        return float(scene.vertices[0, objects, 2].min())
    return min(0.0, float(scene.vertices[:, :, 2].min()))


def iter_frames(
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
    size: tuple[int, int] = DEFAULT_SIZE,
    camera: Camera | None = None,
    backend: str = "auto",
    use_captions: bool = True,
    use_inset: bool = True,
    use_contact: bool = True,
    frames: Iterable[int] | None = None,
) -> Iterator[np.ndarray]:
    """Yield the `(H, W, 3)` uint8 RGB preview frames of `sequence`, one per frame.

    Args:
        sequence: the `HOISequence`.
        obj: its `HOIObject` (default `sequence.load_object()`; none if it names no object).
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand).
        static_objects: `(HOIObject, (4, 4) pose)` pairs of objects that stay still, pose
            canonical → world (metres, z up), drawn at rest pose.
        size: `(width, height)` pixels, even numbers.
        camera: a fixed camera for the main view; default `follow_cameras`.
        backend: "auto", "pyrender" or "software".
        use_captions: draw the sub-task caption, the timeline, the frame number and legend.
        use_inset: draw the side view inset (at least 64 pixels wide, else skipped).
        use_contact: colour hand skin by contact (green) and penetration (red).
        frames: the frame indices to draw (default: all, in order).
    """
    width, height = _check_size(size)
    scene = scene_meshes(sequence, obj, hands, static_objects)
    if obj is None and sequence.object_name:
        obj = sequence.load_object()
    active = np.asarray(sequence.active_hands, bool)
    centers, radii = _follow_path(scene, active, float(sequence.fps))
    if camera is not None:
        mains = [camera] * sequence.num_frames
    else:
        mains = _sphere_cameras(
            centers, radii * FOLLOW_ROOM, (width, height), DEFAULT_VIEW_DIRECTION
        )
    inset_width = int(width * INSET_WIDTH_FRACTION) // 2 * 2
    inset_size = (inset_width, int(inset_width * height / width) // 2 * 2)
    insets = None
    if use_inset and inset_width >= 64:
        insets = _sphere_cameras(centers, radii * FOLLOW_ROOM, inset_size, INSET_VIEW_DIRECTION)
    inset_box = (width - inset_size[0] - 12, height - inset_size[1] - max(14, height // 18))
    base_colors = _vertex_colors(scene)
    instance = _vertex_instances(scene)
    hand_ids = np.flatnonzero(
        (instance == INSTANCE_IDS["left_hand"]) | (instance == INSTANCE_IDS["right_hand"])
    )
    wanted = list(range(sequence.num_frames)) if frames is None else [int(f) for f in frames]
    for frame in wanted:
        if not 0 <= frame < sequence.num_frames:
            raise InputError(
                f"frame {frame} is outside the sequence (0..{sequence.num_frames - 1})"
            )
    distances = None
    if use_contact and obj is not None and wanted:
        points = scene.vertices[wanted][:, hand_ids]
        distances = hand_object_distances(sequence, obj, points, np.asarray(wanted))
    face_sets = _face_sets(scene)
    ground_z = _ground_height(scene)
    renderer = _make_renderer(backend, scene, ground_z, (width, height))
    captions = _frame_captions(sequence)
    try:
        for index, frame in enumerate(wanted):
            face_ids = face_sets[tuple(active[frame])]
            faces = scene.faces[face_ids]
            colors = base_colors
            if distances is not None:
                colors = base_colors.copy()
                colors[hand_ids] = _contact_tint(base_colors[hand_ids], distances[index])
            shadow = renderer.shadow(frame, faces, centers[frame], radii[frame])
            image = renderer(frame, mains[frame], faces, face_ids, colors, shadow)
            inset = None
            if insets is not None:
                inset = renderer(frame, insets[frame], faces, face_ids, colors, shadow)
                inset = _to_uint8(inset)
            yield _overlay(
                _to_uint8(image), caption=captions[frame], frame=frame, sequence=sequence,
                inset=inset, inset_box=inset_box, use_captions=use_captions,
                use_contact=distances is not None,
            )  # fmt: skip
    finally:
        close = getattr(renderer, "close", None)
        if close is not None:
            close()


def _to_uint8(image: np.ndarray) -> np.ndarray:
    """[0, 1] floats → uint8 (rounded); overwrites `image`, which is the caller's scratch."""
    np.multiply(image, 255.0, out=image)
    image += 0.5
    np.clip(image, 0.0, 255.0, out=image)
    return image.astype(np.uint8)


def _face_sets(scene: SceneMeshes) -> dict[tuple[bool, bool], np.ndarray]:
    """Indices of the faces drawn for each (left active, right active) combination."""
    out = {}
    for left in (False, True):
        for right in (False, True):
            hidden = []
            if not left:
                hidden.append(INSTANCE_IDS["left_hand"])
            if not right:
                hidden.append(INSTANCE_IDS["right_hand"])
            out[(left, right)] = np.flatnonzero(~np.isin(scene.face_instance, hidden))
    return out


def render_frames(sequence, **options) -> np.ndarray:
    """All preview frames as one `(T, H, W, 3)` uint8 array (options as `iter_frames`)."""
    return np.stack(list(iter_frames(sequence, **options)))


def render_preview(
    sequence,
    path: str | os.PathLike,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
    size: tuple[int, int] = DEFAULT_SIZE,
    backend: str = "auto",
) -> Path:
    """Render `sequence` to an H.264 MP4 at its frame rate, atomically; returns the path.

    Options as in `iter_frames` (captions, inset and contact shading on; the camera follows).

    Raises:
        InputError: `path` does not end in `.mp4`, a bad size/backend, or a static object
            that is not a `(HOIObject, rigid (4, 4) pose)` pair.
        DependencyError: imageio-ffmpeg or pillow is missing, or backend="pyrender" cannot
            open a headless GL context.
    """
    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise InputError(f"preview videos end in .mp4, got {str(path)!r}")
    width, height = _check_size(size)
    if backend not in BACKENDS:
        raise InputError(f"backend must be one of {BACKENDS}, got {backend!r}")
    try:
        import imageio_ffmpeg
    except ImportError as exc:
        raise DependencyError(
            "writing preview.mp4 needs the package 'imageio-ffmpeg'; install it with: "
            "pip install imageio-ffmpeg"
        ) from exc
    static_objects = resolve_static_objects(static_objects)
    frames = iter_frames(
        sequence,
        obj=obj,
        hands=hands,
        static_objects=static_objects,
        size=(width, height),
        backend=backend,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp.mp4", dir=path.parent
    )
    os.close(handle)
    try:
        writer = imageio_ffmpeg.write_frames(
            temp_name,
            (width, height),
            fps=float(sequence.fps),
            codec="libx264",
            pix_fmt_in="rgb24",
            pix_fmt_out="yuv420p",
            macro_block_size=2,
            ffmpeg_log_level="error",
            output_params=["-preset", "veryfast", "-movflags", "+faststart"],
        )
        writer.send(None)
        try:
            for image in frames:
                writer.send(np.ascontiguousarray(image))
        finally:
            writer.close()
        os.chmod(temp_name, 0o644)
        os.replace(temp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp_name)
        raise
    return path


def write_preview(
    path: str | os.PathLike,
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> Path:
    """Exporter-registry form of `render_preview` (path first, default size and backend)."""
    return render_preview(sequence, path, obj=obj, hands=hands, static_objects=static_objects)
