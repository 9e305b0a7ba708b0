"""Building blocks for the procedural built-in objects: closed primitives and assembly.

Every part is one closed volume (a manifold union of primitives). Later parts are
carved by earlier ones (`manifold` boolean difference) so parts touch but never
overlap: a mug handle stops at the mug wall instead of passing through it, which
keeps inside/outside tests of the concatenated mesh meaningful.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import trimesh

from openhoi.objects.affordance import NUM_AFFORDANCES, affordance_index
from openhoi.objects.object import Articulation, HOIObject, ObjectPart
from openhoi.objects.reference import ObjectRef

# Callable labels get the part's face centroids (F, 3) and unit normals (F, 3), in the
# builder's frame (before canonicalisation), and return (F,) bools or floats in [0, 1].
FaceLabel = float | Callable[[np.ndarray, np.ndarray], np.ndarray]

_BOOLEAN_ENGINE = "manifold"
DEFAULT_SECTIONS = 40


@dataclasses.dataclass(frozen=True)
class PartSpec:
    """One part to assemble: closed `mesh`, affordance labels, and whether to carve it."""

    name: str
    mesh: trimesh.Trimesh
    affordance: dict[str, FaceLabel] = dataclasses.field(default_factory=dict)
    carve: bool = True  # subtract the earlier parts from this one
    max_edge: float = 0.012  # metres; refined so per-face labels follow the geometry


def assemble(
    name: str,
    description: str,
    parts: Sequence[PartSpec],
    articulation: Articulation | None = None,
) -> HOIObject:
    """Carve, label, concatenate and canonicalise parts into a built-in `HOIObject`."""
    meshes: list[trimesh.Trimesh] = []
    labels: list[np.ndarray] = []
    for index, spec in enumerate(parts):
        mesh = spec.mesh
        if spec.carve and index > 0:
            mesh = difference(mesh, union(meshes))
        mesh = _clean(refine(mesh, spec.max_edge))
        meshes.append(mesh)
        labels.append(_face_labels(mesh, spec.affordance))
    # Shift so that the object rests on z = 0, centred in x,y (the articulation moves too).
    vertices = np.concatenate([m.vertices for m in meshes])
    low, high = vertices.min(axis=0), vertices.max(axis=0)
    offset = np.array([-(low[0] + high[0]) / 2, -(low[1] + high[1]) / 2, -low[2]])
    faces, part_objects, start, face_start = [], [], 0, 0
    for spec, mesh in zip(parts, meshes, strict=True):
        faces.append(np.asarray(mesh.faces) + start)
        part_objects.append(
            ObjectPart(spec.name, np.arange(face_start, face_start + len(mesh.faces)))
        )
        start += len(mesh.vertices)
        face_start += len(mesh.faces)
    whole = trimesh.Trimesh(vertices + offset, np.concatenate(faces), process=False)
    if articulation is not None:
        articulation = Articulation(
            articulation.part,
            articulation.axis,
            articulation.origin + offset,
            articulation.angle_range,
        )
    return HOIObject(
        name=name,
        mesh=whole,
        parts=tuple(part_objects),
        face_affordance=np.concatenate(labels),
        articulation=articulation,
        is_watertight=all(m.is_watertight for m in meshes),
        source="builtin",
        description=description,
        ref=ObjectRef("builtin", name),
    )


def _face_labels(mesh: trimesh.Trimesh, spec: dict[str, FaceLabel]) -> np.ndarray:
    labels = np.zeros((len(mesh.faces), NUM_AFFORDANCES), dtype=np.float32)
    centroids = np.asarray(mesh.triangles_center)
    normals = np.asarray(mesh.face_normals)
    for affordance, value in spec.items():
        column = affordance_index(affordance)
        if callable(value):
            labels[:, column] = np.clip(np.asarray(value(centroids, normals), np.float32), 0, 1)
        else:
            labels[:, column] = float(value)
    return labels


def _clean(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Drop zero-area faces and unused vertices; make the volume positive (outward normals)."""
    mesh = trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)
    keep = mesh.area_faces > 1e-14
    if not keep.all():
        trimmed = mesh.copy()
        trimmed.update_faces(keep)
        trimmed.remove_unreferenced_vertices()
        # Slivers from booleans can be needed to close the surface; keep them then.
        if trimmed.is_watertight or not mesh.is_watertight:
            mesh = trimmed
    if mesh.is_watertight and mesh.volume < 0:
        mesh.invert()
    return trimesh.Trimesh(mesh.vertices, mesh.faces, process=False)


# ---------------------------------------------------------------------- booleans


def refine(mesh: trimesh.Trimesh, max_edge: float) -> trimesh.Trimesh:
    """Split edges longer than `max_edge` (metres) consistently, keeping the volume closed."""
    import manifold3d

    solid = manifold3d.Manifold(
        manifold3d.Mesh(
            vert_properties=np.asarray(mesh.vertices, dtype=np.float32),
            tri_verts=np.asarray(mesh.faces, dtype=np.uint32),
        )
    )
    if solid.is_empty():  # not a valid manifold (manifold3d reports it as empty): keep as is
        return mesh
    out = solid.refine_to_length(max_edge).to_mesh()
    return trimesh.Trimesh(
        np.asarray(out.vert_properties)[:, :3].astype(np.float64),
        np.asarray(out.tri_verts, dtype=np.int64),
        process=False,
    )


def union(meshes: Sequence[trimesh.Trimesh]) -> trimesh.Trimesh:
    """Manifold union of closed meshes (one mesh is returned unchanged)."""
    if len(meshes) == 1:
        return meshes[0]
    return trimesh.boolean.union(list(meshes), engine=_BOOLEAN_ENGINE)


def difference(mesh: trimesh.Trimesh, cutter: trimesh.Trimesh) -> trimesh.Trimesh:
    """`mesh` minus `cutter` (manifold boolean)."""
    return trimesh.boolean.difference([mesh, cutter], engine=_BOOLEAN_ENGINE)


# ---------------------------------------------------------------------- primitives


def revolve(profile: Sequence[tuple[float, float]], sections: int = DEFAULT_SECTIONS):
    """Closed solid of revolution about z from a `(radius, z)` profile.

    The profile must start and end on the axis (radius 0) so the result is closed.
    """
    profile = np.asarray(profile, dtype=np.float64)
    mesh = trimesh.creation.revolve(profile, sections=sections)
    return _clean(mesh)


def shell_profile(
    radii: Sequence[tuple[float, float]], wall: float, base: float
) -> list[tuple[float, float]]:
    """Profile of an open-topped vessel: outer `(r, z)` points bottom→rim, inset by `wall`."""
    outer = [(0.0, 0.0), *radii]
    inner = [(max(r - wall, 1e-4), max(z, base)) for r, z in reversed(radii)]
    inner[-1] = (inner[-1][0], base)
    return [*outer, *inner, (0.0, base)]


def cylinder(radius: float, height: float, z0: float = 0.0, sections: int = DEFAULT_SECTIONS):
    """Closed z-axis cylinder on [z0, z0 + height]."""
    mesh = trimesh.creation.cylinder(radius=radius, height=height, sections=sections)
    mesh.apply_translation([0.0, 0.0, z0 + height / 2])
    return mesh


def box(extents: Sequence[float], center: Sequence[float] = (0.0, 0.0, 0.0)) -> trimesh.Trimesh:
    """Axis-aligned closed box."""
    mesh = trimesh.creation.box(extents=extents)
    mesh.apply_translation(center)
    return mesh


def hull(points: Sequence[Sequence[float]]) -> trimesh.Trimesh:
    """Convex hull of points (closed)."""
    return trimesh.convex.convex_hull(np.asarray(points, dtype=np.float64))


def slab(outline: Sequence[tuple[float, float]], z0: float, z1: float) -> trimesh.Trimesh:
    """Convex x,y `outline` extruded over z in [z0, z1]."""
    points = [(x, y, z) for x, y in outline for z in (z0, z1)]
    return hull(points)


def rod(
    start: Sequence[float], end: Sequence[float], radius: float, sections: int = 20
) -> trimesh.Trimesh:
    """Closed capsule-free cylinder between two points."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    mesh = trimesh.creation.cylinder(
        radius=radius, segment=np.stack([start, end]), sections=sections
    )
    return mesh


def capsule(
    start: Sequence[float], end: Sequence[float], radius: float, count: int = 16
) -> trimesh.Trimesh:
    """Closed capsule (hemisphere-capped cylinder) between two points."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    length = float(np.linalg.norm(end - start))
    mesh = trimesh.creation.capsule(height=length, radius=radius, count=[count, count])
    # trimesh's capsule is centred on the origin along z.
    direction = (end - start) / length
    mesh.apply_transform(trimesh.geometry.align_vectors([0.0, 0.0, 1.0], direction))
    mesh.apply_translation((start + end) / 2)
    return mesh


def torus_arc(
    major: float,
    minor: float,
    transform: np.ndarray | None = None,
    major_sections: int = 32,
    minor_sections: int = 12,
) -> trimesh.Trimesh:
    """Closed torus about z (use as a handle and carve the part hidden in the body)."""
    mesh = trimesh.creation.torus(
        major_radius=major,
        minor_radius=minor,
        major_sections=major_sections,
        minor_sections=minor_sections,
    )
    if transform is not None:
        mesh.apply_transform(transform)
    return mesh


def rotation(axis: Sequence[float], angle: float) -> np.ndarray:
    """4x4 rotation about `axis` through the origin."""
    return trimesh.transformations.rotation_matrix(angle, axis)
