"""A vectorised numpy z-buffer triangle rasteriser (no OpenGL needed).

Each triangle's pixel bounding box is expanded into candidate pixels at once; a pixel is
covered when its centre has non-negative barycentric coordinates (top-left rule not
applied: shared edges may be drawn by either triangle). Depth is interpolated
perspective-correctly (1/z is linear in screen space) and the nearest fragment wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Fragments", "rasterize"]

# Triangles nearer than this (metres) to the camera plane are dropped, not clipped.
NEAR_PLANE_M = 1e-3
# Candidate pixels processed at once; bounds memory for large triangles.
MAX_CANDIDATES = 2_000_000


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
    zbuffer = np.full(width * height, np.inf)
    face_buffer = np.full(width * height, -1, np.int64)
    faces = np.asarray(faces, np.int64)
    tri_uv = np.asarray(uv, np.float64)[faces]  # (F, 3, 2)
    tri_z = np.asarray(depth, np.float64)[faces]  # (F, 3)
    edge1 = tri_uv[:, 1] - tri_uv[:, 0]
    edge2 = tri_uv[:, 2] - tri_uv[:, 0]
    area = edge1[:, 0] * edge2[:, 1] - edge1[:, 1] * edge2[:, 0]
    low = np.ceil(tri_uv.min(axis=1) - 0.5).astype(np.int64)
    high = np.floor(tri_uv.max(axis=1) - 0.5).astype(np.int64)
    low = np.maximum(low, 0)
    high = np.minimum(high, (width - 1, height - 1))
    keep = (tri_z > NEAR_PLANE_M).all(axis=1) & (np.abs(area) > 1e-12) & (high >= low).all(axis=1)
    ids = np.nonzero(keep)[0]
    box = high[ids] - low[ids] + 1  # (K, 2)
    counts = box[:, 0] * box[:, 1]
    # 1. Split the triangles into chunks of at most MAX_CANDIDATES candidate pixels.
    chunk_of = (np.cumsum(counts) - counts) // MAX_CANDIDATES
    splits = np.nonzero(np.diff(chunk_of))[0] + 1
    for chunk in np.split(np.arange(ids.size), splits):
        if chunk.size == 0:
            continue
        tri = np.repeat(ids[chunk], counts[chunk])
        start = np.repeat(np.cumsum(counts[chunk]) - counts[chunk], counts[chunk])
        local = np.arange(tri.size) - start
        box_w = np.repeat(box[chunk, 0], counts[chunk])
        px = np.repeat(low[ids[chunk], 0], counts[chunk]) + local % box_w
        py = np.repeat(low[ids[chunk], 1], counts[chunk]) + local // box_w
        # 2. Barycentric coordinates of the pixel centres.
        cx, cy = px + 0.5, py + 0.5
        a, b, c = tri_uv[tri, 0], tri_uv[tri, 1], tri_uv[tri, 2]
        w0 = ((b[:, 0] - cx) * (c[:, 1] - cy) - (b[:, 1] - cy) * (c[:, 0] - cx)) / area[tri]
        w1 = ((c[:, 0] - cx) * (a[:, 1] - cy) - (c[:, 1] - cy) * (a[:, 0] - cx)) / area[tri]
        w2 = 1.0 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0)
        tri, px, py = tri[inside], px[inside], py[inside]
        w0, w1, w2 = w0[inside], w1[inside], w2[inside]
        # 3. Perspective-correct depth, then keep the nearest fragment per pixel.
        z = 1.0 / (w0 / tri_z[tri, 0] + w1 / tri_z[tri, 1] + w2 / tri_z[tri, 2])
        pixel = py * width + px
        order = np.lexsort((z, pixel))
        first = np.ones(order.size, bool)
        first[1:] = pixel[order][1:] != pixel[order][:-1]
        win = order[first]
        closer = z[win] < zbuffer[pixel[win]]
        zbuffer[pixel[win][closer]] = z[win][closer]
        face_buffer[pixel[win][closer]] = tri[win][closer]
    return Fragments(
        depth=zbuffer.reshape(height, width).astype(np.float32),
        face=face_buffer.reshape(height, width),
    )
