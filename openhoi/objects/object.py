"""`HOIObject`: an immutable rigid or articulated object in its canonical frame.

Canonical frame (all objects, built-in or loaded): metres, right-handed, z up; the
object rests on the z = 0 support plane and the centre of its x,y bounding box is at
the origin. Articulated objects are described in their rest (closed) pose, angle 0.

Derived data (point clouds, per-part meshes) is computed on first use and cached with
`functools.cached_property`; nothing is ever invalidated, so do not mutate `mesh`.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any

import numpy as np
import torch
import trimesh

from openhoi.errors import InputError
from openhoi.geometry.sampling import farthest_point_sampling
from openhoi.objects.affordance import AFFORDANCE_TYPES, NUM_AFFORDANCES, affordance_index
from openhoi.objects.reference import (
    MAX_SCALE,
    MIN_SCALE,
    SCALE_SEPARATOR,
    ObjectRef,
    format_scale,
)

__all__ = [
    "NUM_DENSE_SAMPLES",
    "NUM_MLLM_POINTS",
    "NUM_OBJECT_POINTS",
    "Articulation",
    "HOIObject",
    "NormalisedPoints",
    "ObjectPart",
    "ObjectPoints",
]

# Point-cloud sizes of the two conventions in DESIGN.md.
NUM_OBJECT_POINTS = 1024  # FPS points + normals for the motion-diffusion condition (Text2HOI)
NUM_MLLM_POINTS = 2048  # unit-sphere points for the MLLM / affordance decoder (PIAD/LASO)
# Dense area-weighted surface sample that FPS draws from; fixed seed → same points every run.
NUM_DENSE_SAMPLES = 20_000
DENSE_SAMPLE_SEED = 0
# How far (metres) a mesh may sit off the canonical frame before we refuse it.
_CANONICAL_TOLERANCE_M = 1e-5


@dataclasses.dataclass(frozen=True, eq=False)
class ObjectPart:
    """A named set of mesh faces, e.g. a bottle's "cap"; parts partition the faces.

    Attributes:
        name: part name, unique within the object.
        face_ids: `(F_part,)` int64 indices into `HOIObject.mesh.faces`.
    """

    name: str
    face_ids: np.ndarray

    def __post_init__(self) -> None:
        face_ids = np.array(self.face_ids, dtype=np.int64).reshape(-1)
        face_ids.setflags(write=False)
        object.__setattr__(self, "face_ids", face_ids)


@dataclasses.dataclass(frozen=True, eq=False)
class Articulation:
    """A revolute joint: `part` rotates by angle θ about the line `origin + s·axis`.

    Attributes:
        part: name of the moving part; every other part stays fixed.
        axis: `(3,)` unit axis (normalised on construction); positive θ follows the
            right-hand rule about it and opens the object.
        origin: `(3,)` point on the axis, metres, canonical frame.
        angle_range: `(lo, hi)` radians, `lo <= 0 <= hi`; θ = 0 is the rest (closed) state.
    """

    part: str
    axis: np.ndarray
    origin: np.ndarray
    angle_range: tuple[float, float]

    def __post_init__(self) -> None:
        axis = np.asarray(self.axis, dtype=np.float64).reshape(-1)
        origin = np.asarray(self.origin, dtype=np.float64).reshape(-1)
        if axis.shape != (3,) or not np.isfinite(axis).all() or np.linalg.norm(axis) < 1e-9:
            raise InputError(f"articulation axis must be a finite non-zero (3,) vector, got {axis}")
        if origin.shape != (3,) or not np.isfinite(origin).all():
            raise InputError(f"articulation origin must be a finite (3,) point, got {origin}")
        lo, hi = (float(v) for v in self.angle_range)
        if not lo <= 0.0 <= hi:
            raise InputError(
                f"articulation angle_range must satisfy lo <= 0 <= hi (0 is the rest state), "
                f"got ({lo}, {hi})"
            )
        axis = axis / np.linalg.norm(axis)
        for array in (axis, origin):
            array.setflags(write=False)
        object.__setattr__(self, "axis", axis)
        object.__setattr__(self, "origin", origin)
        object.__setattr__(self, "angle_range", (lo, hi))


@dataclasses.dataclass(frozen=True, eq=False)
class ObjectPoints:
    """FPS surface points in the canonical frame (Text2HOI diffusion condition), P = 1024.

    Attributes:
        points: `(P, 3)` float32, metres.
        normals: `(P, 3)` float32 unit outward face normals.
        affordance: `(P, 18)` float32 in [0, 1], columns in `AFFORDANCE_TYPES` order.
        part_ids: `(P,)` int64 index into `HOIObject.parts`.
    """

    points: np.ndarray
    normals: np.ndarray
    affordance: np.ndarray
    part_ids: np.ndarray


@dataclasses.dataclass(frozen=True, eq=False)
class NormalisedPoints:
    """FPS surface points scaled into the unit sphere (PIAD/LASO MLLM input), P = 2048.

    `points = (p_object - center) / scale`, with `center` the mean of the sampled points
    and `scale` their largest distance from it, so `max ‖points‖ == 1`.

    Attributes:
        points: `(P, 3)` float32 in the unit ball.
        normals: `(P, 3)` float32 unit normals (unchanged by the similarity transform).
        affordance: `(P, 18)` float32 in [0, 1].
        part_ids: `(P,)` int64 index into `HOIObject.parts`.
        center: `(3,)` float64 metres, canonical frame.
        scale: metres per normalised unit.
    """

    points: np.ndarray
    normals: np.ndarray
    affordance: np.ndarray
    part_ids: np.ndarray
    center: np.ndarray
    scale: float

    def to_object_frame(self, points: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Map `(..., 3)` normalised points back to the canonical object frame (metres)."""
        if isinstance(points, torch.Tensor):
            center = torch.tensor(self.center, dtype=points.dtype, device=points.device)
            return points * self.scale + center
        points = np.asarray(points)
        return (points * self.scale + self.center).astype(points.dtype, copy=False)

    def to_normalised_frame(self, points: np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Map `(..., 3)` canonical-frame points (metres) into the normalised frame."""
        if isinstance(points, torch.Tensor):
            center = torch.tensor(self.center, dtype=points.dtype, device=points.device)
            return (points - center) / self.scale
        points = np.asarray(points)
        return ((points - self.center) / self.scale).astype(points.dtype, copy=False)


@dataclasses.dataclass(frozen=True, eq=False)
class HOIObject:
    """An object to interact with: mesh, parts, per-face affordances and an optional joint.

    Attributes:
        name: short identifier (a built-in name or the file stem).
        mesh: canonical-frame `trimesh.Trimesh` (rest pose), V vertices, F faces.
        parts: parts partitioning the faces; moving parts share no vertex with others.
        face_affordance: `(F, 18)` float32 in [0, 1], columns in `AFFORDANCE_TYPES` order.
        articulation: the revolute joint, or None for a rigid object.
        is_watertight: whether every part is a closed surface (else distance code uses
            winding-number sign).
        source: "builtin" or the path the mesh was loaded from.
        description: one line for `openhoi objects show`.
        canonical_offset: `(3,)` metres added to the source coordinates (after any
            scale) to reach the canonical frame; zeros for built-ins.
        ref: where the object comes from (`openhoi.objects.ObjectRef`: built-in name, mesh
            file + hash, or stored object + hash); `str(ref)` is what files store and
            `load_object` reads back. None for an object built in memory.
    """

    name: str
    mesh: trimesh.Trimesh
    parts: tuple[ObjectPart, ...]
    face_affordance: np.ndarray
    articulation: Articulation | None = None
    is_watertight: bool = True
    source: str = "builtin"
    description: str = ""
    canonical_offset: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(3))
    ref: ObjectRef | None = None

    def __post_init__(self) -> None:
        num_faces = len(self.mesh.faces)
        if num_faces == 0:
            raise InputError(f"object {self.name!r}: mesh has no faces")
        # 1. Parts partition the faces.
        parts = tuple(self.parts)
        names = [part.name for part in parts]
        if not parts or len(set(names)) != len(names):
            raise InputError(f"object {self.name!r}: part names must be unique, got {names}")
        face_part = np.full(num_faces, -1, dtype=np.int64)
        for index, part in enumerate(parts):
            ids = part.face_ids
            if ids.size and (ids.min() < 0 or ids.max() >= num_faces):
                raise InputError(
                    f"object {self.name!r}: part {part.name!r} has face ids outside "
                    f"0..{num_faces - 1}"
                )
            if (face_part[ids] != -1).any() or len(np.unique(ids)) != len(ids):
                raise InputError(
                    f"object {self.name!r}: part {part.name!r} shares faces with another part"
                )
            face_part[ids] = index
        if (face_part == -1).any():
            raise InputError(
                f"object {self.name!r}: {int((face_part == -1).sum())} faces belong to no part"
            )
        face_part.setflags(write=False)
        # 2. Affordances.
        affordance = np.array(self.face_affordance, dtype=np.float32)
        if affordance.shape != (num_faces, NUM_AFFORDANCES):
            raise InputError(
                f"object {self.name!r}: face_affordance must have shape ({num_faces}, "
                f"{NUM_AFFORDANCES}), got {affordance.shape}"
            )
        if not np.isfinite(affordance).all() or affordance.min() < 0 or affordance.max() > 1:
            raise InputError(f"object {self.name!r}: face_affordance values must lie in [0, 1]")
        affordance.setflags(write=False)
        # 3. Canonical frame.
        bounds = np.asarray(self.mesh.bounds, dtype=np.float64)
        center_xy = bounds.mean(axis=0)[:2]
        if abs(bounds[0, 2]) > _CANONICAL_TOLERANCE_M or np.abs(center_xy).max() > (
            _CANONICAL_TOLERANCE_M
        ):
            raise InputError(
                f"object {self.name!r}: mesh is not in the canonical frame (min z "
                f"{bounds[0, 2]:.6f} m, x,y centre {center_xy.round(6).tolist()} m; "
                "expected 0 and [0, 0])"
            )
        # 4. The joint's moving part must not share vertices with fixed parts.
        moving_vertices = np.zeros(len(self.mesh.vertices), dtype=bool)
        if self.articulation is not None:
            if self.articulation.part not in names:
                raise InputError(
                    f"object {self.name!r}: articulation part {self.articulation.part!r} is not "
                    f"one of the parts {names}"
                )
            moving = names.index(self.articulation.part)
            faces = np.asarray(self.mesh.faces)
            moving_vertices[faces[face_part == moving].reshape(-1)] = True
            if moving_vertices[faces[face_part != moving].reshape(-1)].any():
                raise InputError(
                    f"object {self.name!r}: moving part {self.articulation.part!r} shares "
                    "vertices with a fixed part"
                )
        moving_vertices.setflags(write=False)
        offset = np.array(self.canonical_offset, dtype=np.float64).reshape(3)
        offset.setflags(write=False)
        object.__setattr__(self, "parts", parts)
        object.__setattr__(self, "face_affordance", affordance)
        object.__setattr__(self, "is_watertight", bool(self.is_watertight))
        object.__setattr__(self, "canonical_offset", offset)
        object.__setattr__(self, "_face_part", face_part)
        object.__setattr__(self, "_moving_vertices", moving_vertices)

    # ------------------------------------------------------------------ geometry

    @property
    def part_names(self) -> tuple[str, ...]:
        """Names of the parts, in `parts` order."""
        return tuple(part.name for part in self.parts)

    @property
    def face_part_ids(self) -> np.ndarray:
        """`(F,)` int64: index into `parts` of each face."""
        return self._face_part

    @property
    def size(self) -> np.ndarray:
        """`(3,)` bounding-box extents in metres (x, y, z) in the rest pose."""
        return np.asarray(self.mesh.extents, dtype=np.float64)

    def part_index(self, part_name: str) -> int:
        """Index of `part_name` in `parts`; InputError listing the parts otherwise."""
        if part_name not in self.part_names:
            raise InputError(
                f"object {self.name!r} has no part {part_name!r}; parts are: "
                f"{', '.join(self.part_names)}"
            )
        return self.part_names.index(part_name)

    def vertices_at(self, angles: float | np.ndarray | torch.Tensor) -> np.ndarray | torch.Tensor:
        """Canonical vertices with the moving part rotated by `angles` (radians).

        Args:
            angles: scalar or `(T,)` articulation angles. Ignored (vertices are repeated)
                for rigid objects.

        Returns:
            `(V, 3)` for a scalar, `(T, V, 3)` otherwise. numpy in → float32 numpy out;
            torch in → tensor on the same device, differentiable in `angles`, in the
            angles' floating dtype (float32 for integer input).
        """
        is_torch = isinstance(angles, torch.Tensor)
        angle_t = angles if is_torch else torch.as_tensor(np.asarray(angles, dtype=np.float64))
        dtype = angle_t.dtype if angle_t.is_floating_point() and is_torch else torch.float32
        angle_t = angle_t.to(dtype)
        is_scalar = angle_t.ndim == 0
        angle_t = angle_t.reshape(-1)  # (T,)
        vertices = torch.tensor(
            np.asarray(self.mesh.vertices), dtype=dtype, device=angle_t.device
        )  # (V, 3)
        if self.articulation is None:
            out = vertices.expand(angle_t.shape[0], *vertices.shape).clone()
        else:
            rotation = _axis_rotation(self.articulation.axis, angle_t)  # (T, 3, 3)
            origin = torch.tensor(self.articulation.origin, dtype=dtype, device=angle_t.device)
            rotated = torch.einsum("tij,vj->tvi", rotation, vertices - origin) + origin
            mask = torch.tensor(self._moving_vertices, device=angle_t.device)[None, :, None]
            out = torch.where(mask, rotated, vertices)  # (T, V, 3)
        if is_scalar:
            out = out[0]
        return out if is_torch else out.numpy().astype(np.float32)

    def part_transform(
        self, part_name: str, angles: float | np.ndarray | torch.Tensor = 0.0
    ) -> np.ndarray | torch.Tensor:
        """Rigid transform taking part `part_name` from rest pose to articulation `angles`.

        Args:
            part_name: one of `part_names`.
            angles: scalar or `(T,)` radians.

        Returns:
            `(4, 4)` (scalar) or `(T, 4, 4)` homogeneous matrices, canonical frame; the
            identity for fixed parts. numpy float64 for numpy input, a tensor (angles'
            floating dtype, differentiable) for torch input.
        """
        index = self.part_index(part_name)
        is_torch = isinstance(angles, torch.Tensor)
        angle_t = angles if is_torch else torch.as_tensor(np.asarray(angles, dtype=np.float64))
        dtype = angle_t.dtype if angle_t.is_floating_point() else torch.float32
        angle_t = angle_t.to(dtype)
        is_scalar = angle_t.ndim == 0
        angle_t = angle_t.reshape(-1)
        count = angle_t.shape[0]
        out = torch.eye(4, dtype=dtype, device=angle_t.device).expand(count, 4, 4).clone()
        moving = self.articulation is not None and self.parts[index].name == self.articulation.part
        if moving:
            rotation = _axis_rotation(self.articulation.axis, angle_t)  # (T, 3, 3)
            origin = torch.tensor(self.articulation.origin, dtype=dtype, device=angle_t.device)
            translation = origin - torch.einsum("tij,j->ti", rotation, origin)
            top = torch.cat([rotation, translation[:, :, None]], dim=2)  # (T, 3, 4)
            out = torch.cat([top, out[:, 3:]], dim=1)
        if is_scalar:
            out = out[0]
        return out if is_torch else out.numpy()

    def part_meshes(self) -> tuple[trimesh.Trimesh, ...]:
        """One mesh per part, rest pose, canonical frame (copies; safe to modify)."""
        return tuple(mesh.copy() for mesh in self._part_meshes)

    @functools.cached_property
    def _part_meshes(self) -> tuple[trimesh.Trimesh, ...]:
        faces = np.asarray(self.mesh.faces)
        vertices = np.asarray(self.mesh.vertices)
        meshes = []
        for part in self.parts:
            part_faces = faces[np.sort(part.face_ids)]
            used, inverse = np.unique(part_faces.reshape(-1), return_inverse=True)
            meshes.append(trimesh.Trimesh(vertices[used], inverse.reshape(-1, 3), process=False))
        return tuple(meshes)

    # ------------------------------------------------------------------ point clouds

    @functools.cached_property
    def _dense_sample(self) -> tuple[np.ndarray, np.ndarray]:
        """`(N, 3)` area-weighted surface points and `(N,)` their face ids (fixed seed)."""
        points, face_ids = trimesh.sample.sample_surface(
            self.mesh, NUM_DENSE_SAMPLES, seed=DENSE_SAMPLE_SEED
        )
        return np.asarray(points, dtype=np.float64), np.asarray(face_ids, dtype=np.int64)

    @functools.cached_property
    def _fps_order(self) -> np.ndarray:
        """FPS indices into the dense sample; greedy FPS makes any prefix an FPS sample."""
        dense, _ = self._dense_sample
        return farthest_point_sampling(dense, max(NUM_OBJECT_POINTS, NUM_MLLM_POINTS))

    def _fps_sample(self, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        dense, dense_faces = self._dense_sample
        chosen = self._fps_order[:count]
        face_ids = dense_faces[chosen]
        normals = np.asarray(self.mesh.face_normals, dtype=np.float64)[face_ids]
        return (
            dense[chosen],
            normals.astype(np.float32),
            self.face_affordance[face_ids].copy(),
            self._face_part[face_ids].copy(),
        )

    @functools.cached_property
    def points(self) -> ObjectPoints:
        """1024 FPS surface points with normals, affordances and part ids (canonical frame)."""
        points, normals, affordance, part_ids = self._fps_sample(NUM_OBJECT_POINTS)
        return ObjectPoints(
            points=_readonly(points.astype(np.float32)),
            normals=_readonly(normals),
            affordance=_readonly(affordance),
            part_ids=_readonly(part_ids),
        )

    @functools.cached_property
    def normalised_points(self) -> NormalisedPoints:
        """2048 FPS surface points normalised into the unit sphere (PIAD/LASO convention)."""
        points, normals, affordance, part_ids = self._fps_sample(NUM_MLLM_POINTS)
        center = points.mean(axis=0)
        scale = float(np.linalg.norm(points - center, axis=1).max())
        return NormalisedPoints(
            points=_readonly(((points - center) / scale).astype(np.float32)),
            normals=_readonly(normals),
            affordance=_readonly(affordance),
            part_ids=_readonly(part_ids),
            center=_readonly(center),
            scale=scale,
        )

    # ------------------------------------------------------------------ affordances

    def affordance_mask(self, name: str) -> np.ndarray:
        """`(1024,)` float32 mask of affordance `name` on `points`."""
        return self.points.affordance[:, affordance_index(name)]

    @property
    def affordance_names(self) -> tuple[str, ...]:
        """Affordance types labelled on at least one face, in `AFFORDANCE_TYPES` order."""
        present = self.face_affordance.max(axis=0) > 0
        return tuple(name for name, has in zip(AFFORDANCE_TYPES, present, strict=True) if has)

    def part_affordances(self, part_name: str) -> tuple[str, ...]:
        """Affordance types labelled on at least one face of part `part_name`."""
        index = self.part_index(part_name)
        values = self.face_affordance[self.parts[index].face_ids]
        present = values.max(axis=0) > 0 if len(values) else np.zeros(NUM_AFFORDANCES, bool)
        return tuple(name for name, has in zip(AFFORDANCE_TYPES, present, strict=True) if has)

    def scaled(self, factor: float) -> HOIObject:
        """This object uniformly scaled by `factor` about the canonical origin.

        The canonical frame is kept (base on z = 0, centred in x,y), the hinge origin
        scales with the mesh, parts and affordances are unchanged, the name becomes
        `name@total` and `ref` scales too (scales multiply: `scaled(a).scaled(b)` is `@a*b`).
        The surface sample uses the same seed, so `scaled(f).points.points == f * points.points`.
        """
        factor = float(factor)
        if not np.isfinite(factor) or not MIN_SCALE <= factor <= MAX_SCALE:
            raise InputError(
                f"object {self.name!r}: scale must lie in [{MIN_SCALE}, {MAX_SCALE}], got {factor}"
            )
        if factor == 1.0:
            return self
        mesh = trimesh.Trimesh(
            np.asarray(self.mesh.vertices, np.float64) * factor,
            np.asarray(self.mesh.faces),
            process=False,
        )
        joint = self.articulation
        if joint is not None:
            joint = dataclasses.replace(joint, origin=joint.origin * factor)
        base, _, previous = self.name.partition(SCALE_SEPARATOR)
        try:
            total = factor * float(previous or 1.0)
        except ValueError:  # an "@" that is part of a file stem, not a scale
            base, total = self.name, factor
        return dataclasses.replace(
            self,
            name=f"{base}{SCALE_SEPARATOR}{format_scale(total)}",
            mesh=mesh,
            articulation=joint,
            canonical_offset=self.canonical_offset * factor,
            ref=None if self.ref is None else self.ref.scaled(factor),
        )

    def summary(self) -> dict[str, Any]:
        """JSON-friendly description for `openhoi objects show`."""
        articulation = None
        if self.articulation is not None:
            articulation = {
                "part": self.articulation.part,
                "axis": self.articulation.axis.round(6).tolist(),
                "origin_m": self.articulation.origin.round(6).tolist(),
                "angle_range_rad": list(self.articulation.angle_range),
            }
        return {
            "name": self.name,
            "description": self.description,
            "source": self.source,
            "ref": None if self.ref is None else str(self.ref),
            "parts": [
                {
                    "name": part.name,
                    "faces": len(part.face_ids),
                    "affordances": list(self.part_affordances(part.name)),
                }
                for part in self.parts
            ],
            "affordances": list(self.affordance_names),
            "size_m": self.size.round(4).tolist(),
            "faces": len(self.mesh.faces),
            "vertices": len(self.mesh.vertices),
            "watertight": self.is_watertight,
            "articulation": articulation,
        }

    def __repr__(self) -> str:
        size = "x".join(f"{v:.3f}" for v in self.size)
        return (
            f"HOIObject(name={self.name!r}, parts={list(self.part_names)}, faces="
            f"{len(self.mesh.faces)}, size_m={size}, articulated={self.articulation is not None})"
        )


def _axis_rotation(axis: np.ndarray, angles: torch.Tensor) -> torch.Tensor:
    """Rodrigues about a fixed unit `axis` (3,): `(T,)` angles → `(T, 3, 3)`, differentiable."""
    x, y, z = (float(v) for v in axis)
    skew = torch.tensor(
        [[0.0, -z, y], [z, 0.0, -x], [-y, x, 0.0]], dtype=angles.dtype, device=angles.device
    )
    eye = torch.eye(3, dtype=angles.dtype, device=angles.device)
    sin = torch.sin(angles)[:, None, None]
    cos = torch.cos(angles)[:, None, None]
    return eye + sin * skew + (1.0 - cos) * (skew @ skew)


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array
