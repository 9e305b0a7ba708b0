"""Load a user's mesh file into a canonical, validated `HOIObject`.

Formats: .obj .ply .stl .off .glb .gltf (read by trimesh with `process=False`, so
vertices and faces keep the file's order; a glTF scene is flattened into one mesh
and, glTF being y-up, rotated to z-up unless `use_gltf_y_up=False`).

Steps, each failing with one clear error naming the file:
  1. read: missing file (MissingFileError), unsupported suffix, unreadable content,
     no triangles, NaN/inf vertices, face indices outside the vertex array;
  2. affordance sidecar (optional, below) on the faces as read;
  3. vertices at identical positions merged (STL files are triangle soups); degenerate
     (zero-area) faces removed with a warning, refused if more than half;
  4. units: `scale` is applied, then a bounding-box diagonal outside 1 cm .. 3 m is
     refused with a hint (e.g. "looks like millimetres; pass scale=0.001");
  5. more than `max_faces` faces: decimated with fast-simplification (logged), or
     refused when `decimate=False`;
  6. watertightness: `trimesh.repair.fill_holes` tried; a still-open mesh is kept with
     `is_watertight=False` (distance code then signs with winding numbers);
  7. canonical frame: translated so the bottom rests on z = 0 and the x,y centre of
     the bounding box is at the origin (`HOIObject.canonical_offset`).

Affordance sidecar: `<stem>.affordance.json` or `<file name>.affordance.json` beside the
mesh, a JSON object whose keys are affordance types (see `AFFORDANCE_TYPES`):

    {"grasp": [12, 13, 14], "pour": [0, 1]}            # face ids labelled 1.0
    {"vertex_ids": {"grasp": [3, 4, 5]}}              # a face gets the fraction of its
                                                      #   3 vertices that are listed
    {"vertex_values": {"grasp": [0.0, 0.5, ...]}}     # V floats in [0, 1]; face = mean
    {"face_values": {"grasp": [0.0, 1.0, ...]}}       # F floats in [0, 1]

Ids refer to the file's vertices/faces as read. Labels follow faces through steps 3-6
(new faces take the label of the nearest original face). Without a sidecar the object
has no affordance labels. A loaded object has one part, "body", and no articulation.

The object's `ref` is a `mesh:` `ObjectRef`: the absolute path, the sha256 of the file
(and of the sidecar, if any) and the non-default settings above, so that
`load_object(str(obj.ref))` loads this same mesh again, or fails if the file changed.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import trimesh

from openhoi.errors import InputError, MissingFileError
from openhoi.objects.affordance import AFFORDANCE_TYPES, NUM_AFFORDANCES, affordance_index
from openhoi.objects.object import HOIObject, ObjectPart
from openhoi.objects.reference import ObjectRef, file_sha256

__all__ = ["DEFAULT_MAX_FACES", "MESH_SUFFIXES", "load_mesh_file", "sidecar_path"]

logger = logging.getLogger(__name__)

MESH_SUFFIXES = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")
_GLTF_SUFFIXES = (".glb", ".gltf")
# Face budget of `load_mesh_file`; larger meshes are decimated to it.
DEFAULT_MAX_FACES = 200_000
# Plausible size of a hand-held object: bounding-box diagonal in metres.
MIN_DIAGONAL_M = 0.01
MAX_DIAGONAL_M = 3.0
# A typical hand-held object's diagonal, for guessing the unit of a mis-scaled mesh.
_TYPICAL_DIAGONAL_M = 0.15
# Faces with area below this fraction of diagonal² count as degenerate (scale-free).
_DEGENERATE_RELATIVE_AREA = 1e-12
MAX_DEGENERATE_FRACTION = 0.5
# glTF is y-up; (x, y, z)_gltf -> (x, -z, y)_ours, as Blender's importer does.
_GLTF_Y_UP_TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
_UNIT_GUESSES = (("millimetres", 0.001), ("centimetres", 0.01), ("inches", 0.0254))


def load_mesh_file(
    path: str | os.PathLike,
    *,
    scale: float = 1.0,
    max_faces: int = DEFAULT_MAX_FACES,
    decimate: bool = True,
    use_gltf_y_up: bool = True,
) -> HOIObject:
    """Read, validate and canonicalise a mesh file (see the module docstring for the steps).

    Args:
        path: mesh file with one of `MESH_SUFFIXES`.
        scale: factor from file units to metres (0.001 for millimetres).
        max_faces: face budget; larger meshes are decimated to it.
        decimate: if False, a mesh over `max_faces` is refused instead.
        use_gltf_y_up: treat .glb/.gltf coordinates as y-up (the glTF convention) and
            rotate them to z-up; pass False for files written z-up.

    Returns:
        A rigid `HOIObject` named after the file stem, one part "body", source = the path,
        `ref` = its `mesh:` reference (absolute path + content hash).

    Raises:
        MissingFileError: the file does not exist.
        InputError: bad arguments, unsupported or unreadable file, or invalid mesh content.
    """
    path = Path(path)
    if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
        raise InputError(f"scale must be a positive finite number, got {scale!r}")
    if int(max_faces) < 4:
        raise InputError(f"max_faces must be at least 4, got {max_faces}")
    # 1. Read and check the raw arrays.
    vertices, faces = _read(path)
    is_gltf = path.suffix.lower() in _GLTF_SUFFIXES
    if use_gltf_y_up and is_gltf:
        vertices = vertices @ _GLTF_Y_UP_TO_Z_UP.T
    # 2. Affordance labels on the faces as read.
    labels = _read_sidecar(path, len(vertices), faces)
    # 3. Degenerate faces.
    vertices = vertices * float(scale)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    # Merge vertices at identical positions (STL files are triangle soups); face order
    # is unchanged, so the labels still line up, and the geometry is the same.
    mesh.merge_vertices()
    keep = _non_degenerate(mesh)
    num_removed = int((~keep).sum())
    if num_removed:
        if num_removed > MAX_DEGENERATE_FRACTION * len(faces):
            raise InputError(
                f"mesh file {path}: {num_removed} of {len(faces)} faces are degenerate "
                "(zero area or repeated vertices); refusing a mesh that is mostly degenerate"
            )
        logger.warning(
            "mesh file %s: removed %d degenerate (zero-area) faces of %d",
            path,
            num_removed,
            len(faces),
        )
        mesh.update_faces(keep)
        mesh.remove_unreferenced_vertices()
        labels = labels[keep]
    # 4. Units.
    _check_scale(path, mesh, scale)
    # Labels are carried on these face centroids when later steps change the faces.
    label_centroids = np.asarray(mesh.triangles_center)
    # 5. Face budget.
    if len(mesh.faces) > max_faces:
        if not decimate:
            raise InputError(
                f"mesh file {path} has {len(mesh.faces)} faces, more than max_faces={max_faces}; "
                "pass decimate=True to simplify it or raise max_faces"
            )
        mesh = _decimate(path, mesh, int(max_faces))
        labels = _transfer_labels(label_centroids, labels, np.asarray(mesh.triangles_center))
        label_centroids = np.asarray(mesh.triangles_center)
    # 6. Watertightness.
    mesh, is_watertight = _close(path, mesh)
    if len(mesh.faces) != len(labels):
        extra = _transfer_labels(
            label_centroids, labels, np.asarray(mesh.triangles_center)[len(labels) :]
        )
        labels = np.concatenate([labels, extra])
    # 7. Canonical frame.
    bounds = np.asarray(mesh.bounds)
    offset = np.array(
        [-(bounds[0, 0] + bounds[1, 0]) / 2, -(bounds[0, 1] + bounds[1, 1]) / 2, -bounds[0, 2]]
    )
    canonical = trimesh.Trimesh(np.asarray(mesh.vertices) + offset, mesh.faces, process=False)
    sidecar = sidecar_path(path)
    ref = ObjectRef(
        "mesh",
        str(path.resolve()),
        sha256=file_sha256(path),
        affordance_sha256="" if sidecar is None else file_sha256(sidecar),
        unit=float(scale),
        max_faces=None if int(max_faces) == DEFAULT_MAX_FACES else int(max_faces),
        gltf_y_up=bool(use_gltf_y_up) or not is_gltf,
    )
    return HOIObject(
        name=path.stem,
        mesh=canonical,
        parts=(ObjectPart("body", np.arange(len(canonical.faces))),),
        face_affordance=labels,
        articulation=None,
        is_watertight=is_watertight,
        source=str(path),
        description=f"mesh loaded from {path.name} ({len(canonical.faces)} faces)",
        canonical_offset=offset,
        ref=ref,
    )


def _read(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """`(V, 3)` float64 vertices and `(F, 3)` int64 faces of a mesh file, validated."""
    if not path.is_file():
        raise MissingFileError(f"mesh file {path} does not exist")
    suffix = path.suffix.lower()
    if suffix not in MESH_SUFFIXES:
        raise InputError(
            f"mesh file {path} has unsupported suffix {suffix!r}; supported: "
            f"{', '.join(MESH_SUFFIXES)}"
        )
    try:
        loaded = trimesh.load(str(path), process=False)
        if isinstance(loaded, trimesh.Scene):
            if not loaded.geometry:
                raise InputError(f"mesh file {path} contains an empty scene (no geometry)")
            loaded = loaded.to_geometry()
    except InputError:
        raise
    except IndexError as exc:  # e.g. an OBJ face naming vertex 9 of 3
        raise InputError(
            f"mesh file {path} has faces indexing vertices that do not exist ({exc})"
        ) from exc
    except Exception as exc:  # trimesh raises many types for bad files
        raise InputError(
            f"mesh file {path} could not be read as {suffix} ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(loaded, trimesh.Trimesh):
        raise InputError(
            f"mesh file {path} holds a {type(loaded).__name__}, not a triangle mesh "
            "(point clouds and line sets are not supported)"
        )
    vertices = np.asarray(loaded.vertices, dtype=np.float64)
    faces = np.asarray(loaded.faces)
    if len(vertices) == 0 or len(faces) == 0:
        raise InputError(
            f"mesh file {path} is empty ({len(vertices)} vertices, {len(faces)} faces)"
        )
    bad = ~np.isfinite(vertices).all(axis=1)
    if bad.any():
        raise InputError(
            f"mesh file {path} has {int(bad.sum())} vertices with NaN or infinite coordinates"
        )
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise InputError(f"mesh file {path}: faces must be triangles, got shape {faces.shape}")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise InputError(
            f"mesh file {path} has faces indexing vertices outside 0..{len(vertices) - 1} "
            f"(min {int(faces.min())}, max {int(faces.max())})"
        )
    return vertices, faces.astype(np.int64)


def _non_degenerate(mesh: trimesh.Trimesh) -> np.ndarray:
    """`(F,)` bool: faces with three distinct vertices and non-negligible area."""
    faces = np.asarray(mesh.faces)
    distinct = (
        (faces[:, 0] != faces[:, 1]) & (faces[:, 1] != faces[:, 2]) & (faces[:, 0] != faces[:, 2])
    )
    diagonal_sq = float(np.sum(np.asarray(mesh.extents) ** 2))
    return distinct & (np.asarray(mesh.area_faces) > _DEGENERATE_RELATIVE_AREA * diagonal_sq)


def _check_scale(path: Path, mesh: trimesh.Trimesh, scale: float) -> None:
    diagonal = float(np.linalg.norm(mesh.extents))
    if MIN_DIAGONAL_M <= diagonal <= MAX_DIAGONAL_M:
        return
    problem = "too small" if diagonal < MIN_DIAGONAL_M else "too large"
    message = (
        f"mesh file {path}: bounding-box diagonal is {diagonal:.4g} m after scale={scale:g}, "
        f"{problem} for a hand-held object (expected {MIN_DIAGONAL_M}..{MAX_DIAGONAL_M} m)"
    )
    if diagonal > MAX_DIAGONAL_M:
        # Pick the unit that brings the object closest to a typical size.
        plausible = [
            (abs(math.log(diagonal * factor / _TYPICAL_DIAGONAL_M)), unit, factor)
            for unit, factor in _UNIT_GUESSES
            if MIN_DIAGONAL_M <= diagonal * factor <= MAX_DIAGONAL_M
        ]
        if plausible:
            _, unit, factor = min(plausible)
            raise InputError(f"{message}; looks like {unit}; pass scale={scale * factor:g}")
    raise InputError(f"{message}; pass scale= to convert the file's units to metres")


def _decimate(path: Path, mesh: trimesh.Trimesh, max_faces: int) -> trimesh.Trimesh:
    import fast_simplification

    num_faces = len(mesh.faces)
    vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
    target = max_faces
    for _ in range(4):
        reduction = 1.0 - target / num_faces
        new_vertices, new_faces = fast_simplification.simplify(
            vertices.astype(np.float32), faces.astype(np.int32), target_reduction=reduction
        )
        if len(new_faces) <= max_faces:
            break
        target = int(target * 0.95)
    else:
        raise InputError(
            f"mesh file {path}: could not decimate {num_faces} faces to max_faces={max_faces}"
        )
    logger.info(
        "mesh file %s: decimated from %d to %d faces (max_faces=%d)",
        path,
        num_faces,
        len(new_faces),
        max_faces,
    )
    return trimesh.Trimesh(
        np.asarray(new_vertices, np.float64), np.asarray(new_faces, np.int64), process=False
    )


def _close(path: Path, mesh: trimesh.Trimesh) -> tuple[trimesh.Trimesh, bool]:
    """Make the mesh watertight if `trimesh.repair.fill_holes` can."""
    if mesh.is_watertight:
        return mesh, True
    merged = mesh.copy()
    num_faces = len(merged.faces)
    if trimesh.repair.fill_holes(merged):
        logger.info(
            "mesh file %s: filled holes with %d faces; now watertight",
            path,
            len(merged.faces) - num_faces,
        )
        return merged, True
    logger.warning(
        "mesh file %s is not watertight (holes could not be filled); kept open, so distances "
        "will be signed with winding numbers",
        path,
    )
    return mesh, False


def _transfer_labels(
    source_centroids: np.ndarray, source_labels: np.ndarray, target_centroids: np.ndarray
) -> np.ndarray:
    """Labels of the nearest source face for each target face centroid."""
    if len(target_centroids) == 0:
        return np.zeros((0, NUM_AFFORDANCES), dtype=np.float32)
    if not source_labels.any():
        return np.zeros((len(target_centroids), NUM_AFFORDANCES), dtype=np.float32)
    from scipy.spatial import cKDTree

    _, nearest = cKDTree(source_centroids).query(target_centroids)
    return source_labels[nearest]


def sidecar_path(path: Path) -> Path | None:
    """The affordance sidecar beside mesh file `path`, or None."""
    for candidate in (
        path.with_name(f"{path.stem}.affordance.json"),
        path.with_name(f"{path.name}.affordance.json"),
    ):
        if candidate.is_file():
            return candidate
    return None


def _read_sidecar(path: Path, num_vertices: int, faces: np.ndarray) -> np.ndarray:
    """`(F, 18)` float32 face labels from the affordance sidecar, zeros if there is none."""
    labels = np.zeros((len(faces), NUM_AFFORDANCES), dtype=np.float32)
    sidecar = sidecar_path(path)
    if sidecar is None:
        return labels
    try:
        data = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"affordance file {sidecar} is not valid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise InputError(f"affordance file {sidecar} must hold a JSON object")

    def check_type(name: str) -> int:
        try:
            return affordance_index(name)
        except InputError as exc:
            raise InputError(f"affordance file {sidecar}: {exc}") from None

    def as_ids(name: str, values: Any, count: int, what: str) -> np.ndarray:
        ids = np.asarray(values)
        if ids.ndim != 1 or (ids.size and not np.issubdtype(ids.dtype, np.integer)):
            raise InputError(f"affordance file {sidecar}: {name!r} must be a list of {what} ids")
        if ids.size and (ids.min() < 0 or ids.max() >= count):
            raise InputError(
                f"affordance file {sidecar}: {name!r} has {what} ids outside 0..{count - 1}"
            )
        return ids.astype(np.int64)

    def as_values(name: str, values: Any, count: int, what: str) -> np.ndarray:
        array = np.asarray(values, dtype=np.float64)
        if array.shape != (count,) or not np.isfinite(array).all():
            raise InputError(
                f"affordance file {sidecar}: {name!r} must list {count} finite per-{what} values"
            )
        if array.min() < 0 or array.max() > 1:
            raise InputError(f"affordance file {sidecar}: {name!r} values must lie in [0, 1]")
        return array

    for key, value in data.items():
        if key in ("vertex_ids", "vertex_values", "face_values"):
            if not isinstance(value, dict):
                raise InputError(f"affordance file {sidecar}: {key!r} must map types to lists")
            for name, entries in value.items():
                column = check_type(name)
                if key == "vertex_ids":
                    listed = np.zeros(num_vertices)
                    listed[as_ids(name, entries, num_vertices, "vertex")] = 1.0
                    labels[:, column] = listed[faces].mean(axis=1)
                elif key == "vertex_values":
                    per_vertex = as_values(name, entries, num_vertices, "vertex")
                    labels[:, column] = per_vertex[faces].mean(axis=1)
                else:
                    labels[:, column] = as_values(name, entries, len(faces), "face")
        else:
            column = check_type(key)
            labels[as_ids(key, value, len(faces), "face"), column] = 1.0
    logger.info(
        "mesh file %s: affordance labels from %s (%s)",
        path,
        sidecar,
        ", ".join(
            t for t, has in zip(AFFORDANCE_TYPES, labels.max(axis=0) > 0, strict=True) if has
        ),
    )
    return labels
