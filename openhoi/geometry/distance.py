"""Signed distance from points to triangle meshes and nearest points in point clouds.

The mesh queries are NVIDIA Warp kernels over a BVH (`wp.Mesh`): one source runs on the CPU
and compiles to CUDA. They are wrapped in a `torch.autograd.Function` whose backward is
analytic: d sdf / d p = sign · (p − closest) / |p − closest| (the face normal when the point
lies on the surface). The closest point and the normal are returned detached.

Sign convention: sdf < 0 inside the object, > 0 outside (the opposite of trimesh's
`proximity.signed_distance`). Watertight meshes take their sign from the angle-weighted
pseudo-normal (`mesh_query_point_sign_normal`, fast); open meshes from the generalised
winding number (`mesh_query_point_sign_winding_number`, robust to holes).

Object poses map canonical to world coordinates, x_w = R x_c + t. Queries run in the
canonical frame, p_c = Rᵀ(p − t), with torch ops, so gradients reach R and t.
"""

import contextlib
import functools
import os
import sys
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
import trimesh
from torch import Tensor

from openhoi._deps import require
from openhoi.errors import InputError
from openhoi.geometry.constants import (
    GRADIENT_FALLBACK_DISTANCE_M,
    MAX_QUERY_DISTANCE_M,
    WINDING_NUMBER_INSIDE_THRESHOLD,
)

__all__ = [
    "DistanceMesh",
    "DistanceOutput",
    "NearestOutput",
    "distance_mesh",
    "nearest_points",
    "nearest_points_parts",
    "signed_distance",
    "signed_distance_parts",
]

# cdist chunk: (chunk_points × P) float matrix of at most ~16M entries (64 MB in float32).
_NEAREST_CHUNK_ELEMENTS = 1 << 24


@dataclass(frozen=True)
class DistanceOutput:
    """Result of a signed-distance query.

    Attributes:
        sdf: `(...)` signed distance in metres, negative inside, positive outside.
        closest: `(..., 3)` closest surface point (same frame as the query points), detached.
        normal: `(..., 3)` outward unit normal of the closest face (same frame), detached.
    """

    sdf: Tensor
    closest: Tensor
    normal: Tensor


@dataclass(frozen=True)
class NearestOutput:
    """Result of a nearest-point query against a point cloud.

    Attributes:
        distance: `(...)` distance in metres to the nearest cloud point, differentiable in the
            query points; signed (negative behind the nearest point's normal) when normals
            were given.
        index: `(...)` int64 index of the nearest cloud point.
        closest: `(..., 3)` the nearest cloud point.
        normal: `(..., 3)` its normal, or None when no normals were given.
    """

    distance: Tensor
    index: Tensor
    closest: Tensor
    normal: Tensor | None = None


# --------------------------------------------------------------------------------------
# Warp kernels (built on first use so importing this module does not import warp)


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null for the duration (native-library chatter)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


@functools.cache
def _warp():
    """Import warp and build the query kernels once (compiled per device on first launch)."""
    wp = require("warp", "signed distance kernels")
    # Warp logs a banner and per-module load lines at INFO level on stdout; library code
    # stays quiet (the CLI's stdout is for results). Older Warp releases use `quiet`.
    if hasattr(wp, "LOG_WARNING"):
        wp.config.log_level = wp.LOG_WARNING
    else:
        wp.config.quiet = True
    if torch.cuda.is_available():
        wp.init()
    else:
        # Without a CUDA driver Warp's native loader prints a warning straight to fd 2 that
        # says only what `torch.cuda.is_available()` already told us; silence init alone.
        with _native_stderr_silenced():
            wp.init()

    @wp.func
    def write_result(
        mesh_id: wp.uint64,
        tid: int,
        found: bool,
        face: int,
        bary_u: float,
        bary_v: float,
        sign: float,
        closest: wp.array(dtype=wp.vec3),
        normal: wp.array(dtype=wp.vec3),
        signs: wp.array(dtype=float),
    ):
        if found:
            closest[tid] = wp.mesh_eval_position(mesh_id, face, bary_u, bary_v)
            normal[tid] = wp.mesh_eval_face_normal(mesh_id, face)
            signs[tid] = wp.where(sign < 0.0, -1.0, 1.0)
        else:
            closest[tid] = wp.vec3(0.0, 0.0, 0.0)
            normal[tid] = wp.vec3(0.0, 0.0, 0.0)
            signs[tid] = 0.0

    @wp.kernel
    def query_sign_normal(
        mesh_id: wp.uint64,
        points: wp.array(dtype=wp.vec3),
        max_distance: float,
        closest: wp.array(dtype=wp.vec3),
        normal: wp.array(dtype=wp.vec3),
        signs: wp.array(dtype=float),
    ):
        tid = wp.tid()
        q = wp.mesh_query_point_sign_normal(mesh_id, points[tid], max_distance)
        write_result(mesh_id, tid, q.result, q.face, q.u, q.v, q.sign, closest, normal, signs)

    @wp.kernel
    def query_sign_winding(
        mesh_id: wp.uint64,
        points: wp.array(dtype=wp.vec3),
        max_distance: float,
        closest: wp.array(dtype=wp.vec3),
        normal: wp.array(dtype=wp.vec3),
        signs: wp.array(dtype=float),
    ):
        tid = wp.tid()
        q = wp.mesh_query_point_sign_winding_number(
            mesh_id, points[tid], max_distance, 2.0, WINDING_NUMBER_INSIDE_THRESHOLD
        )
        write_result(mesh_id, tid, q.result, q.face, q.u, q.v, q.sign, closest, normal, signs)

    return wp, query_sign_normal, query_sign_winding


def _warp_device(device: torch.device) -> str:
    if device.type == "cpu":
        return "cpu"
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    raise InputError(f"points must be on a cpu or cuda device, got {device}")


# --------------------------------------------------------------------------------------
# Mesh wrapper and cache


class DistanceMesh:
    """A triangle mesh prepared for Warp queries: one `wp.Mesh` (BVH) per device, built lazily.

    Args:
        vertices: `(V, 3)` float vertex positions in metres (canonical object frame).
        faces: `(F, 3)` int triangle indices, counter-clockwise seen from outside.
        is_watertight: closed, consistently wound surface → pseudo-normal sign (fast);
            otherwise the winding-number sign (robust to holes). `from_trimesh` also
            takes the winding-number sign for closed meshes of several bodies: where a
            point is equally near two bodies (the symmetry plane between two ear cups),
            Warp's pseudo-normal sign flips at random, so such points read as deep inside.
    """

    def __init__(self, vertices: np.ndarray, faces: np.ndarray, *, is_watertight: bool) -> None:
        vertices = np.ascontiguousarray(vertices, dtype=np.float32)
        faces = np.ascontiguousarray(faces, dtype=np.int32)
        if vertices.ndim != 2 or vertices.shape[1] != 3 or len(vertices) < 3:
            raise InputError(f"mesh vertices must be (V>=3, 3), got {vertices.shape}")
        if faces.ndim != 2 or faces.shape[1] != 3 or len(faces) == 0:
            raise InputError(f"mesh faces must be (F>=1, 3), got {faces.shape}")
        if faces.min() < 0 or faces.max() >= len(vertices):
            raise InputError(
                f"mesh faces must index vertices 0..{len(vertices) - 1}, "
                f"got {faces.min()}..{faces.max()}"
            )
        if not np.isfinite(vertices).all():
            raise InputError("mesh vertices contain NaN or inf")
        self.vertices = vertices
        self.faces = faces
        self.is_watertight = bool(is_watertight)
        self._warp_meshes: dict[str, object] = {}

    @classmethod
    def from_trimesh(cls, mesh: trimesh.Trimesh) -> "DistanceMesh":
        """Wrap a trimesh; an inward-wound closed mesh raises InputError (fix: mesh.invert())."""
        if not isinstance(mesh, trimesh.Trimesh):
            raise InputError(f"mesh must be a trimesh.Trimesh, got {type(mesh).__name__}")
        closed = bool(mesh.is_watertight and mesh.is_winding_consistent)
        if closed and mesh.volume < 0:
            raise InputError(
                "mesh is closed but its faces are wound inward (negative volume), so inside and "
                "outside would swap; fix it with mesh.invert()"
            )
        single_body = mesh.body_count == 1
        return cls(
            np.asarray(mesh.vertices), np.asarray(mesh.faces), is_watertight=closed and single_body
        )

    def warp_mesh(self, device: str):
        """The `wp.Mesh` on a Warp device ("cpu", "cuda:0", ...), built on first request."""
        cached = self._warp_meshes.get(device)
        if cached is None:
            wp = _warp()[0]
            points = wp.array(self.vertices, dtype=wp.vec3, device=device)
            indices = wp.array(self.faces.reshape(-1), dtype=wp.int32, device=device)
            cached = wp.Mesh(
                points=points, indices=indices, support_winding_number=not self.is_watertight
            )
            self._warp_meshes[device] = cached
        return cached


# id(mesh) -> (weak reference to the mesh, its DistanceMesh). Entries leave with the mesh.
# Meshes are treated as immutable (DESIGN.md); edit a mesh in place and you must make a new one.
_MESH_CACHE: dict[int, tuple[weakref.ref, DistanceMesh]] = {}


def distance_mesh(mesh: "trimesh.Trimesh | DistanceMesh") -> DistanceMesh:
    """The cached `DistanceMesh` of a trimesh (built once per mesh object)."""
    if isinstance(mesh, DistanceMesh):
        return mesh
    key = id(mesh)
    entry = _MESH_CACHE.get(key)
    if entry is not None and entry[0]() is mesh:
        return entry[1]
    prepared = DistanceMesh.from_trimesh(mesh)
    _MESH_CACHE[key] = (weakref.ref(mesh), prepared)
    weakref.finalize(mesh, _MESH_CACHE.pop, key, None)
    return prepared


# --------------------------------------------------------------------------------------
# Autograd function


def _query(points: Tensor, mesh: DistanceMesh, max_distance: float) -> tuple[Tensor, ...]:
    """Run the kernel on `(M, 3)` points on their own device → closest, normal, sign (float32)."""
    wp, kernel_normal, kernel_winding = _warp()
    device = _warp_device(points.device)
    query = points.detach().to(torch.float32).contiguous()
    num_points = query.shape[0]
    closest = torch.empty_like(query)
    normal = torch.empty_like(query)
    sign = torch.empty(num_points, dtype=torch.float32, device=query.device)
    if num_points == 0:
        return closest, normal, sign
    kernel = kernel_normal if mesh.is_watertight else kernel_winding
    inputs = [mesh.warp_mesh(device).id, wp.from_torch(query, dtype=wp.vec3), float(max_distance)]
    outputs = [
        wp.from_torch(closest, dtype=wp.vec3),
        wp.from_torch(normal, dtype=wp.vec3),
        wp.from_torch(sign),
    ]
    if query.is_cuda:
        # Launch on torch's current stream so no synchronisation or host copy is needed.
        with wp.ScopedStream(wp.stream_from_torch(query.device)):
            wp.launch(kernel, dim=num_points, inputs=inputs, outputs=outputs, device=device)
    else:
        wp.launch(kernel, dim=num_points, inputs=inputs, outputs=outputs, device=device)
    return closest, normal, sign


class _SignedDistanceFunction(torch.autograd.Function):
    """`(M, 3)` canonical points → sdf `(M,)`, closest and normal `(M, 3)`; analytic backward."""

    @staticmethod
    def forward(ctx, points: Tensor, mesh: DistanceMesh, max_distance: float):
        closest32, normal32, sign32 = _query(points, mesh, max_distance)
        closest = closest32.to(points.dtype)
        normal = normal32.to(points.dtype)
        sign = sign32.to(points.dtype)
        offset = points.detach() - closest
        distance = torch.linalg.vector_norm(offset, dim=-1)
        found = sign != 0
        sdf = torch.where(found, sign * distance, torch.full_like(distance, max_distance))
        # Points with no face within max_distance: closest = the point itself, zero normal.
        closest = torch.where(found[:, None], closest, points.detach())
        direction = torch.where(
            (distance > GRADIENT_FALLBACK_DISTANCE_M)[:, None],
            sign[:, None] * offset / distance.clamp_min(GRADIENT_FALLBACK_DISTANCE_M)[:, None],
            normal,
        )
        ctx.save_for_backward(direction)
        ctx.mark_non_differentiable(closest, normal)
        return sdf, closest, normal

    @staticmethod
    def backward(ctx, grad_sdf: Tensor, grad_closest: Tensor, grad_normal: Tensor):
        (direction,) = ctx.saved_tensors
        return grad_sdf[:, None] * direction, None, None


# --------------------------------------------------------------------------------------
# Public API


def _check_points(points: Tensor, name: str = "points") -> None:
    if not isinstance(points, Tensor):
        raise InputError(f"{name} must be a torch.Tensor, got {type(points).__name__}")
    if points.ndim < 1 or points.shape[-1] != 3:
        raise InputError(f"{name} must have shape (..., 3), got {tuple(points.shape)}")
    if points.dtype not in (torch.float32, torch.float64):
        raise InputError(f"{name} must be float32 or float64, got {points.dtype}")


def signed_distance(
    points: Tensor,
    mesh: "trimesh.Trimesh | DistanceMesh",
    *,
    rotation: Tensor | None = None,
    translation: Tensor | None = None,
    max_distance: float = MAX_QUERY_DISTANCE_M,
) -> DistanceOutput:
    """Signed distance, closest point and normal of `points` to a mesh (differentiable in points).

    Args:
        points: `(..., 3)` float32/float64 query points in metres (cpu or cuda); with a pose,
            `(B, N, 3)` world-frame points of B frames.
        mesh: the object in its canonical frame (a trimesh, cached, or a `DistanceMesh`).
        rotation: optional `(B, 3, 3)` per-frame object rotation R (canonical → world).
        translation: optional `(B, 3)` per-frame object translation t (x_w = R x_c + t).
        max_distance: search radius in metres. Points with no surface within it get
            sdf = +max_distance, closest = the point itself, zero normal and zero gradient;
            the default (1e6 m) makes every result exact.

    Returns:
        `DistanceOutput` with sdf `(...)`, closest `(..., 3)` and normal `(..., 3)` in the
        frame of `points` (world frame when a pose is given). Gradients of sdf reach
        `points`, `rotation` and `translation`.
    """
    _check_points(points)
    prepared = distance_mesh(mesh)
    if not max_distance > 0:
        raise InputError(f"max_distance must be > 0, got {max_distance}")
    if rotation is None and translation is None:
        flat = points.reshape(-1, 3)
        sdf, closest, normal = _SignedDistanceFunction.apply(flat, prepared, float(max_distance))
        lead = points.shape[:-1]
        return DistanceOutput(
            sdf.reshape(lead), closest.reshape(*lead, 3), normal.reshape(*lead, 3)
        )

    # 1. Validate the pose: (B, 3, 3) rotation and (B, 3) translation for (B, N, 3) points.
    if points.ndim != 3:
        raise InputError(
            f"with rotation/translation, points must be (B, N, 3), got {tuple(points.shape)}"
        )
    num_frames = points.shape[0]
    if rotation is None:
        rotation = torch.eye(3, dtype=points.dtype, device=points.device).expand(num_frames, 3, 3)
    if translation is None:
        translation = points.new_zeros(num_frames, 3)
    if rotation.shape != (num_frames, 3, 3):
        raise InputError(
            f"rotation must be (B, 3, 3) = ({num_frames}, 3, 3) to match points, "
            f"got {tuple(rotation.shape)}"
        )
    if translation.shape != (num_frames, 3):
        raise InputError(
            f"translation must be (B, 3) = ({num_frames}, 3) to match points, "
            f"got {tuple(translation.shape)}"
        )
    rotation = rotation.to(points.dtype)
    translation = translation.to(points.dtype)
    # 2. World → canonical: p_c = Rᵀ (p − t), i.e. p_c[j] = Σ_i R[i, j] (p − t)[i].
    points_canonical = torch.einsum("bij,bni->bnj", rotation, points - translation[:, None])
    sdf, closest, normal = _SignedDistanceFunction.apply(
        points_canonical.reshape(-1, 3), prepared, float(max_distance)
    )
    closest = closest.reshape(points.shape)
    normal = normal.reshape(points.shape)
    # 3. Canonical → world for the closest points and normals.
    closest_world = torch.einsum("bij,bnj->bni", rotation, closest) + translation[:, None]
    normal_world = torch.einsum("bij,bnj->bni", rotation, normal)
    return DistanceOutput(sdf.reshape(points.shape[:-1]), closest_world, normal_world)


def signed_distance_parts(
    points: Tensor,
    meshes: Sequence["trimesh.Trimesh | DistanceMesh"],
    transforms: Sequence[Tensor],
    *,
    max_distance: float = MAX_QUERY_DISTANCE_M,
) -> DistanceOutput:
    """Signed distance to an object made of rigid parts, each with its own pose: min over parts.

    Args:
        points: `(B, N, 3)` world points when the transforms are `(B, 4, 4)`, or `(..., 3)`
            when they are single `(4, 4)` matrices.
        meshes: the parts in their canonical frames (e.g. laptop base and lid).
        transforms: one canonical → world homogeneous transform per part, `(B, 4, 4)` per frame
            or `(4, 4)`.
        max_distance: search radius, as in `signed_distance`.

    Returns:
        `DistanceOutput` of the part with the smallest sdf per point (world frame).
    """
    _check_points(points)
    if len(meshes) == 0:
        raise InputError("meshes must hold at least one part, got none")
    if len(meshes) != len(transforms):
        raise InputError(
            f"need one transform per part: got {len(meshes)} meshes and "
            f"{len(transforms)} transforms"
        )
    results = []
    for index, (part, transform) in enumerate(zip(meshes, transforms, strict=True)):
        if not isinstance(transform, Tensor) or transform.shape[-2:] != (4, 4):
            raise InputError(f"transforms[{index}] must be a (B, 4, 4) or (4, 4) tensor")
        transform = transform.to(device=points.device, dtype=points.dtype)
        if transform.ndim == 2:
            flat = points.reshape(1, -1, 3)
            out = signed_distance(
                flat,
                part,
                rotation=transform[None, :3, :3],
                translation=transform[None, :3, 3],
                max_distance=max_distance,
            )
            lead = points.shape[:-1]
            out = DistanceOutput(
                out.sdf.reshape(lead), out.closest.reshape(*lead, 3), out.normal.reshape(*lead, 3)
            )
        elif transform.ndim == 3:
            out = signed_distance(
                points,
                part,
                rotation=transform[:, :3, :3],
                translation=transform[:, :3, 3],
                max_distance=max_distance,
            )
        else:
            raise InputError(
                f"transforms[{index}] must be (B, 4, 4) or (4, 4), got {tuple(transform.shape)}"
            )
        results.append(out)
    if len(results) == 1:
        return results[0]
    sdf_all = torch.stack([r.sdf for r in results], dim=-1)  # (..., num_parts)
    best = sdf_all.detach().argmin(dim=-1, keepdim=True)  # (..., 1)
    sdf = torch.gather(sdf_all, -1, best)[..., 0]
    index3 = best[..., None].expand(*best.shape[:-1], 1, 3)
    closest = torch.gather(torch.stack([r.closest for r in results], dim=-2), -2, index3)[..., 0, :]
    normal = torch.gather(torch.stack([r.normal for r in results], dim=-2), -2, index3)[..., 0, :]
    return DistanceOutput(sdf, closest, normal)


def nearest_points(
    points: Tensor, cloud: Tensor, cloud_normals: Tensor | None = None
) -> NearestOutput:
    """Nearest cloud point of each query point (e.g. hand joints ↔ affordance region).

    Chunked brute force with `torch.cdist` rather than a Warp kernel: cdist runs as a BLAS
    matrix product (‖p‖² − 2 p·q + ‖q‖²), which on CPU is several times faster than a
    scalar per-pair Warp loop for clouds of a few thousand points, and it runs on either
    device. The index comes from cdist; the returned distance is recomputed exactly as
    |p − cloud[index]| so it is accurate and differentiable in `points`.

    Args:
        points: `(..., 3)` query points in metres.
        cloud: `(P, 3)` cloud points, same frame.
        cloud_normals: optional `(P, 3)` outward unit normals; makes `distance` signed
            (negative when (p − closest) · normal < 0).

    Returns:
        `NearestOutput` with distance `(...)`, index `(...)`, closest `(..., 3)`, normal.
    """
    _check_points(points)
    _check_points(cloud, "cloud")
    if cloud.ndim != 2 or cloud.shape[0] == 0:
        raise InputError(f"cloud must be (P>=1, 3), got {tuple(cloud.shape)}")
    if cloud_normals is not None and cloud_normals.shape != cloud.shape:
        raise InputError(
            f"cloud_normals must match cloud {tuple(cloud.shape)}, got {tuple(cloud_normals.shape)}"
        )
    cloud = cloud.to(device=points.device, dtype=points.dtype)
    flat = points.reshape(-1, 3)
    chunk = max(1, _NEAREST_CHUNK_ELEMENTS // cloud.shape[0])
    with torch.no_grad():
        index = (
            torch.cat(
                [
                    torch.cdist(flat[start : start + chunk].detach(), cloud).argmin(dim=-1)
                    for start in range(0, flat.shape[0], chunk)
                ]
            )
            if flat.shape[0] > 0
            else torch.zeros(0, dtype=torch.long, device=points.device)
        )
    closest = cloud[index]
    distance = torch.linalg.vector_norm(flat - closest, dim=-1)
    normal = None
    if cloud_normals is not None:
        normal = cloud_normals.to(device=points.device, dtype=points.dtype)[index]
        side = ((flat - closest) * normal).sum(-1)
        distance = torch.where(side < 0, -distance, distance)
        normal = normal.reshape(*points.shape[:-1], 3)
    lead = points.shape[:-1]
    return NearestOutput(
        distance.reshape(lead), index.reshape(lead), closest.reshape(*lead, 3), normal
    )


def nearest_points_parts(
    points: Tensor, clouds: Sequence[Tensor | None], transforms: Sequence[Tensor]
) -> Tensor:
    """Distance from world points to a point cloud made of rigid parts: min over parts.

    The point-cloud counterpart of `signed_distance_parts` (e.g. an affordance region on
    a laptop lid and base): each part's cloud is in its canonical frame and posed by its
    own per-item transform; each query is made in the part frame, p_k = R_kᵀ (p − t_k).

    Args:
        points: `(N, ..., 3)` world points, item n posed by `transforms[k][n]`.
        clouds: per part, `(P_k, 3)` canonical points, or None for a part without any.
        transforms: per part, `(N, 4, 4)` canonical → world transforms.

    Returns:
        `(N, ...)` distance to the nearest point of any part (differentiable in `points`
        and the transforms).
    """
    _check_points(points)
    if len(clouds) != len(transforms):
        raise InputError(
            f"need one transform per part: got {len(clouds)} clouds and "
            f"{len(transforms)} transforms"
        )
    flat = points.reshape(points.shape[0], -1, 3)
    out = None
    for cloud, transform in zip(clouds, transforms, strict=True):
        if cloud is None or len(cloud) == 0:
            continue
        transform = transform.to(device=points.device, dtype=points.dtype)
        rotation, translation = transform[:, :3, :3], transform[:, None, :3, 3]
        local = torch.einsum("nji,nkj->nki", rotation, flat - translation)
        distance = nearest_points(local, cloud).distance
        out = distance if out is None else torch.minimum(out, distance)
    if out is None:
        raise InputError("clouds must hold at least one non-empty part")
    return out.reshape(points.shape[:-1])


def warp_devices() -> list[str]:
    """Names of the devices Warp can launch kernels on ("cpu", "cuda:0", ...)."""
    return [str(device) for device in _warp()[0].get_devices()]
