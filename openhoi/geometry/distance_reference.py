"""Plain-PyTorch brute-force signed distance: the correctness oracle of the Warp kernels.

Every point is tested against every triangle (exact point–triangle distance, Ericson,
*Real-Time Collision Detection* §5.1.5), chunked over points and triangles so memory stays
bounded. O(N·F) work: use it in tests and benchmarks, not in training loops.

Sign: "pseudo_normal" (Bærentzen & Aanæs 2005; exact for closed, consistently wound meshes)
uses the angle-weighted normal of the closest feature — face, edge or vertex; "winding_number"
(Jacobson et al. 2013; robust for open meshes) counts a point as inside when the
generalised winding number Σ Ω_f / 4π exceeds 1/2. sdf < 0 inside, > 0 outside.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from openhoi.errors import InputError
from openhoi.geometry.distance import DistanceOutput

__all__ = ["signed_distance_reference"]

# Barycentric coordinates below this mark the closest point as on an edge / at a vertex.
_FEATURE_EPS = 1e-6


def _closest_on_triangles(p: Tensor, a: Tensor, b: Tensor, c: Tensor) -> Tensor:
    """Barycentric weights `(N, F, 3)` of the closest point on each triangle to each point.

    p: `(N, 1, 3)`; a, b, c: `(1, F, 3)` triangle corners. Ericson's region tests, evaluated
    for all pairs and selected with `torch.where` in reverse priority order.
    """
    ab, ac = b - a, c - a
    ap, bp, cp = p - a, p - b, p - c
    d1, d2 = (ab * ap).sum(-1), (ac * ap).sum(-1)
    d3, d4 = (ab * bp).sum(-1), (ac * bp).sum(-1)
    d5, d6 = (ab * cp).sum(-1), (ac * cp).sum(-1)
    va = d3 * d6 - d5 * d4
    vb = d5 * d2 - d1 * d6
    vc = d1 * d4 - d3 * d2
    tiny = torch.finfo(p.dtype).tiny
    # Face interior (default).
    denom = (va + vb + vc).clamp_min(tiny)
    v = vb / denom
    w = vc / denom
    u = 1.0 - v - w
    # Edge BC.
    d43, d56 = d4 - d3, d5 - d6
    on_bc = (va <= 0) & (d43 >= 0) & (d56 >= 0)
    t_bc = d43 / (d43 + d56).clamp_min(tiny)
    u, v, w = (
        torch.where(on_bc, 0.0, u),
        torch.where(on_bc, 1.0 - t_bc, v),
        torch.where(on_bc, t_bc, w),
    )
    # Edge AC.
    on_ac = (vb <= 0) & (d2 >= 0) & (d6 <= 0)
    t_ac = d2 / (d2 - d6).clamp_min(tiny)
    u, v, w = (
        torch.where(on_ac, 1.0 - t_ac, u),
        torch.where(on_ac, 0.0, v),
        torch.where(on_ac, t_ac, w),
    )
    # Vertex C.
    at_c = (d6 >= 0) & (d5 <= d6)
    u, v, w = torch.where(at_c, 0.0, u), torch.where(at_c, 0.0, v), torch.where(at_c, 1.0, w)
    # Edge AB.
    on_ab = (vc <= 0) & (d1 >= 0) & (d3 <= 0)
    t_ab = d1 / (d1 - d3).clamp_min(tiny)
    u, v, w = (
        torch.where(on_ab, 1.0 - t_ab, u),
        torch.where(on_ab, t_ab, v),
        torch.where(on_ab, 0.0, w),
    )
    # Vertex B.
    at_b = (d3 >= 0) & (d4 <= d3)
    u, v, w = torch.where(at_b, 0.0, u), torch.where(at_b, 1.0, v), torch.where(at_b, 0.0, w)
    # Vertex A.
    at_a = (d1 <= 0) & (d2 <= 0)
    u, v, w = torch.where(at_a, 1.0, u), torch.where(at_a, 0.0, v), torch.where(at_a, 0.0, w)
    return torch.stack([u, v, w], dim=-1)


def _pseudo_normals(vertices: Tensor, faces: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Face normals `(F,3)`, edge pseudo-normals `(E,3)`, face→edge ids `(F,3)`, vertex `(V,3)`."""
    tri = vertices[faces]  # (F, 3, 3)
    cross = torch.linalg.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    face_normal = cross / torch.linalg.vector_norm(cross, dim=-1, keepdim=True).clamp_min(1e-30)
    # Edge k of a face is opposite corner k: (1,2), (2,0), (0,1).
    edges = torch.stack([faces[:, [1, 2]], faces[:, [2, 0]], faces[:, [0, 1]]], dim=1)
    edges = edges.sort(dim=-1).values.reshape(-1, 2)
    unique, face_edge = torch.unique(edges, dim=0, return_inverse=True)
    edge_normal = torch.zeros(len(unique), 3, dtype=vertices.dtype, device=vertices.device)
    edge_normal.index_add_(0, face_edge, face_normal.repeat_interleave(3, dim=0))
    # Vertex pseudo-normal: face normals weighted by the face's interior angle at the vertex.
    vertex_normal = torch.zeros_like(vertices)
    for corner in range(3):
        e1 = tri[:, (corner + 1) % 3] - tri[:, corner]
        e2 = tri[:, (corner + 2) % 3] - tri[:, corner]
        cos = (e1 * e2).sum(-1) / (
            torch.linalg.vector_norm(e1, dim=-1) * torch.linalg.vector_norm(e2, dim=-1)
        ).clamp_min(1e-30)
        angle = torch.arccos(cos.clamp(-1.0, 1.0))
        vertex_normal.index_add_(0, faces[:, corner], face_normal * angle[:, None])
    return face_normal, edge_normal, face_edge.reshape(-1, 3), vertex_normal


def _winding_numbers(points: Tensor, tri: Tensor, chunk: int) -> Tensor:
    """Generalised winding number `(N,)` of a triangle soup `(F, 3, 3)` (Van Oosterom–Strackee)."""
    total = torch.zeros(points.shape[0], dtype=points.dtype, device=points.device)
    for start in range(0, tri.shape[0], chunk):
        corners = tri[None, start : start + chunk] - points[:, None, None]  # (N, Fc, 3, 3)
        a, b, c = corners.unbind(dim=2)
        la, lb, lc = (torch.linalg.vector_norm(x, dim=-1) for x in (a, b, c))
        det = (a * torch.linalg.cross(b, c)).sum(-1)
        div = la * lb * lc + (a * b).sum(-1) * lc + (b * c).sum(-1) * la + (c * a).sum(-1) * lb
        total += 2.0 * torch.atan2(det, div).sum(-1)
    return total / (4.0 * torch.pi)


def signed_distance_reference(
    points: Tensor,
    vertices: Tensor,
    faces: Tensor,
    *,
    chunk: int = 1 << 20,
    sign: Literal["pseudo_normal", "winding_number"] = "pseudo_normal",
) -> DistanceOutput:
    """Exact signed distance by brute force over all triangles (the test oracle and bench baseline).

    Args:
        points: `(..., 3)` query points in metres, in the mesh frame.
        vertices: `(V, 3)` mesh vertices.
        faces: `(F, 3)` int triangle indices (outward winding).
        chunk: number of point–triangle pairs evaluated at once (bounds memory, ~100 B each).
        sign: "pseudo_normal" for closed meshes, "winding_number" for open ones.

    Returns:
        `DistanceOutput`: sdf `(...)` (< 0 inside), closest `(..., 3)`, face normal `(..., 3)`.
        Not differentiable (computed under `no_grad`).
    """
    if points.shape[-1] != 3 or vertices.ndim != 2 or vertices.shape[-1] != 3:
        raise InputError(
            f"points must be (..., 3) and vertices (V, 3), got {tuple(points.shape)} "
            f"and {tuple(vertices.shape)}"
        )
    if faces.ndim != 2 or faces.shape[-1] != 3:
        raise InputError(f"faces must be (F, 3), got {tuple(faces.shape)}")
    if sign not in ("pseudo_normal", "winding_number"):
        raise InputError(f"sign must be 'pseudo_normal' or 'winding_number', got {sign!r}")
    with torch.no_grad():
        dtype, device = points.dtype, points.device
        vertices = vertices.to(device=device, dtype=dtype)
        faces = faces.to(device=device, dtype=torch.long)
        flat = points.reshape(-1, 3)
        num_points, num_faces = flat.shape[0], faces.shape[0]
        tri = vertices[faces]  # (F, 3, 3)
        face_normal, edge_normal, face_edge, vertex_normal = _pseudo_normals(vertices, faces)
        # Chunk sizes: points × triangles per block ≈ chunk.
        face_chunk = min(num_faces, max(1, chunk // 64))
        point_chunk = max(1, chunk // face_chunk)

        sdf = torch.empty(num_points, dtype=dtype, device=device)
        closest = torch.empty(num_points, 3, dtype=dtype, device=device)
        normal = torch.empty(num_points, 3, dtype=dtype, device=device)
        for p_start in range(0, num_points, point_chunk):
            p = flat[p_start : p_start + point_chunk]  # (n, 3)
            best_d2 = torch.full((p.shape[0],), torch.inf, dtype=dtype, device=device)
            best_face = torch.zeros(p.shape[0], dtype=torch.long, device=device)
            best_bary = torch.zeros(p.shape[0], 3, dtype=dtype, device=device)
            # 1. Closest triangle per point, scanning triangle blocks.
            for f_start in range(0, num_faces, face_chunk):
                t = tri[f_start : f_start + face_chunk]
                bary = _closest_on_triangles(
                    p[:, None], t[None, :, 0], t[None, :, 1], t[None, :, 2]
                )
                q = torch.einsum("nfk,fkd->nfd", bary, t)
                d2 = ((q - p[:, None]) ** 2).sum(-1)
                block_d2, block_idx = d2.min(dim=1)
                better = block_d2 < best_d2
                rows = torch.arange(p.shape[0], device=device)
                best_d2 = torch.where(better, block_d2, best_d2)
                best_face = torch.where(better, block_idx + f_start, best_face)
                best_bary = torch.where(better[:, None], bary[rows, block_idx], best_bary)
            # 2. Closest point and its distance.
            q = torch.einsum("nk,nkd->nd", best_bary, tri[best_face])
            offset = p - q
            dist = torch.linalg.vector_norm(offset, dim=-1)
            # 3. Sign.
            if sign == "winding_number":
                winding = _winding_numbers(p, tri, max(1, chunk // max(1, p.shape[0])))
                inside = winding > 0.5
            else:
                zero = best_bary < _FEATURE_EPS  # (n, 3) which corners have ~0 weight
                num_zero = zero.sum(-1)
                pseudo = face_normal[best_face]
                # On an edge: the zero-weight corner k names the opposite edge k.
                edge_slot = zero.to(torch.long).argmax(-1)
                on_edge = num_zero == 1
                pseudo = torch.where(
                    on_edge[:, None], edge_normal[face_edge[best_face, edge_slot]], pseudo
                )
                # At a vertex: the one corner with non-zero weight.
                vertex_slot = (~zero).to(torch.long).argmax(-1)
                at_vertex = num_zero == 2
                vertex_id = faces[best_face, vertex_slot]
                pseudo = torch.where(at_vertex[:, None], vertex_normal[vertex_id], pseudo)
                inside = (offset * pseudo).sum(-1) < 0
            sdf[p_start : p_start + point_chunk] = torch.where(inside, -dist, dist)
            closest[p_start : p_start + point_chunk] = q
            normal[p_start : p_start + point_chunk] = face_normal[best_face]
        lead = points.shape[:-1]
        return DistanceOutput(
            sdf.reshape(lead), closest.reshape(*lead, 3), normal.reshape(*lead, 3)
        )
