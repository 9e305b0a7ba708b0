"""A vectorised numpy z-buffer triangle rasteriser (no OpenGL needed).

A pixel is covered when its centre has non-negative barycentric coordinates (top-left rule
not applied: shared edges may be drawn by either triangle). Rather than testing every pixel
of each triangle's bounding box, each row of the box is clipped to the triangle first: the
three edge functions are linear along a row, so the covered pixels of a row form one span
that is solved for directly. Only covered pixels are generated, about a third of the
bounding-box pixels on hand meshes. Depth is interpolated perspective-correctly (1/z is
linear in screen space) and the nearest fragment wins: depth (as float32 bits, which order
like the numbers for positive values) and triangle index are packed into one int64 key and
resolved per pixel with `np.minimum.at`, without sorting.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["EMPTY_KEY", "Fragments", "rasterize", "rasterize_keys", "unpack_keys"]

# Triangles nearer than this (metres) to the camera plane are dropped, not clipped.
NEAR_PLANE_M = 1e-3
# Candidate rows processed at once; bounds memory for large triangles.
MAX_ROWS = 400_000
# Twice-signed areas (pixels²) below this are degenerate and dropped.
MIN_DOUBLE_AREA = 1e-12
EMPTY_KEY = np.iinfo(np.int64).max


@dataclass(frozen=True)
class Fragments:
    """Per-pixel result of `rasterize`.

    Attributes:
        depth: `(H, W)` float32 camera-frame z in metres of the nearest surface, inf where empty.
        face: `(H, W)` int64 index of the visible triangle, −1 where empty.
    """

    depth: np.ndarray
    face: np.ndarray


def rasterize(
    uv: np.ndarray, depth: np.ndarray, faces: np.ndarray, width: int, height: int
) -> Fragments:
    """Rasterise triangles given in pixel coordinates.

    Args:
        uv: `(V, 2)` pixel coordinates (u right, v down) of the vertices.
        depth: `(V,)` camera-frame z of the vertices, metres (positive in front).
        faces: `(F, 3)` int vertex ids.
        width: image width, pixels.
        height: image height, pixels.

    Returns:
        The visible triangle and its depth per pixel.
    """
    return _fragments(rasterize_keys(uv, depth, faces, width, height), width, height)


def rasterize_keys(
    uv: np.ndarray, depth: np.ndarray, faces: np.ndarray, width: int, height: int
) -> np.ndarray:
    """`rasterize`'s raw result: `(H * W,)` int64 keys, `EMPTY_KEY` where nothing is drawn.

    A key holds the float32 depth's bits in its high 32 bits and the triangle index in the
    low 32; `unpack_keys` splits them. Callers that need only the covered pixels skip the
    full-image unpacking of `rasterize`.
    """
    keys = np.full(width * height, EMPTY_KEY, np.int64)
    faces = np.asarray(faces, np.int64).reshape(-1, 3)
    tri_uv = np.asarray(uv, np.float64)[faces]  # (F, 3, 2)
    tri_z = np.asarray(depth, np.float64)[faces]  # (F, 3)
    a, b, c = tri_uv[:, 0], tri_uv[:, 1], tri_uv[:, 2]
    area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
    low = np.maximum(np.ceil(tri_uv.min(axis=1) - 0.5).astype(np.int64), 0)
    high = np.minimum(np.floor(tri_uv.max(axis=1) - 0.5).astype(np.int64), (width - 1, height - 1))
    keep = (tri_z > NEAR_PLANE_M).all(axis=1) & (np.abs(area) > MIN_DOUBLE_AREA)
    keep &= (high >= low).all(axis=1)
    ids = np.nonzero(keep)[0]
    if ids.size == 0:
        return keys
    # 1. Edge functions w_i(x, y) = (gx_i x + gy_i y + g0_i) / area, i = 0, 1, 2, for the
    #    edges opposite a, b and c; a pixel centre is covered when all three are >= 0.
    tri_uv, tri_z, area = tri_uv[ids], tri_z[ids], area[ids]
    rolled = (tri_uv[:, [1, 2, 0]], tri_uv[:, [2, 0, 1]])  # (the edge start, the edge end)
    start, end = rolled
    gx = ((start[..., 1] - end[..., 1]) / area[:, None]).T  # (3, K)
    gy = ((end[..., 0] - start[..., 0]) / area[:, None]).T
    g0 = ((start[..., 0] * end[..., 1] - start[..., 1] * end[..., 0]) / area[:, None]).T
    # 1/z is linear in screen space: 1/z = sum_i w_i / z_i.
    inv_z = 1.0 / tri_z
    plane_x, plane_y, plane_0 = ((g * inv_z.T).sum(0) for g in (gx, gy, g0))  # (K,) each
    rows = high[ids, 1] - low[ids, 1] + 1
    # 2. One entry per (triangle, row); rows are processed in chunks of at most MAX_ROWS.
    row_end = np.cumsum(rows)
    chunk_of = (row_end - rows) // MAX_ROWS
    for chunk in np.split(np.arange(ids.size), np.nonzero(np.diff(chunk_of))[0] + 1):
        if chunk.size == 0:
            continue
        tri = np.repeat(chunk, rows[chunk])
        first_row = np.repeat(row_end[chunk] - rows[chunk], rows[chunk])
        py = np.repeat(low[ids[chunk], 1], rows[chunk]) + np.arange(tri.size) - first_row
        cy = py + 0.5
        # 3. Along the row, w_i >= 0 <=> gx_i * x >= -(gy_i * cy + g0_i): a half-line in x.
        x_low = low[ids[tri], 0].astype(np.float64) + 0.5
        x_high = high[ids[tri], 0].astype(np.float64) + 0.5
        is_empty = np.zeros(tri.size, bool)
        with np.errstate(divide="ignore", invalid="ignore"):
            for edge in range(3):
                slope = gx[edge][tri]
                offset = gy[edge][tri] * cy + g0[edge][tri]
                bound = -offset / slope
                x_low = np.where(slope > 0, np.maximum(x_low, bound), x_low)
                x_high = np.where(slope < 0, np.minimum(x_high, bound), x_high)
                is_empty |= (slope == 0) & (offset < 0)
        x_low = np.ceil(x_low - 0.5).astype(np.int64)
        x_high = np.floor(x_high - 0.5).astype(np.int64)
        span = np.where(is_empty, 0, np.maximum(x_high - x_low + 1, 0))
        # 4. Expand the spans into pixels, interpolate 1/z, keep the nearest per pixel.
        pixel_tri = np.repeat(tri, span)
        span_start = np.repeat(np.cumsum(span) - span, span)
        px = np.repeat(x_low, span) + np.arange(pixel_tri.size) - span_start
        pyy = np.repeat(py, span)
        z = 1.0 / (
            plane_x[pixel_tri] * (px + 0.5) + plane_y[pixel_tri] * (pyy + 0.5) + plane_0[pixel_tri]
        )
        key = z.astype(np.float32).view(np.int32).astype(np.int64) << 32
        key |= ids[pixel_tri]
        np.minimum.at(keys, pyy * width + px, key)
    return keys


def unpack_keys(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Non-empty `rasterize_keys` keys → float32 depth (metres) and int64 triangle index."""
    depth = (keys >> 32).astype(np.int32).view(np.float32)
    return depth, keys & 0xFFFFFFFF


def _fragments(keys: np.ndarray, width: int, height: int) -> Fragments:
    """Unpack the per-pixel (depth bits, triangle) keys."""
    empty = keys == EMPTY_KEY
    depth, face = unpack_keys(keys)
    depth[empty] = np.inf
    face[empty] = -1
    return Fragments(depth=depth.reshape(height, width), face=face.reshape(height, width))
