"""Store objects in a dataset folder (next to prepared episodes), and read them back.

A prepared dataset folder carries the meshes of its objects (real-dataset objects are not
built in)::

    <folder>/objects/<name>.ply              the whole rest-pose mesh (any mesh viewer,
                                             `episode_object_path`)
    <folder>/objects/<name>/part-<k>.ply     one PLY per part, canonical frame, metres
    <folder>/objects/<name>/object.json      parts, articulation, face affordances, offset

`object.json` fields: `format` ("openhoi-object"), `version`, `name`, `description`,
`source`, `is_watertight`, `canonical_offset` (metres added to source coordinates),
`parts` [{`name`, `file`, `num_faces`}], `articulation` ({`part`, `axis`, `origin`,
`angle_range`} or null) and `face_affordance` {affordance: {`faces`: [...], `values`:
[...]}} listing only non-zero entries, with face ids of the part-ordered mesh. Loading
concatenates the parts in order, so a stored object whose faces were not grouped by part
comes back with its faces reordered by part (affordances and parts move with them).
Every file is written atomically. A loaded object's `ref` is a `stored:` `ObjectRef` whose
hash covers `object.json` and its part files (`stored_object_sha256`).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import trimesh

from openhoi._io import atomic_open, save_json_atomic
from openhoi.errors import InputError, MissingFileError
from openhoi.objects.affordance import AFFORDANCE_TYPES
from openhoi.objects.object import Articulation, HOIObject, ObjectPart
from openhoi.objects.reference import ObjectRef, file_sha256

__all__ = [
    "load_stored_object",
    "save_object",
    "stored_object_names",
    "stored_object_ref",
    "stored_object_sha256",
]

OBJECTS_FOLDER = "objects"
OBJECT_FILE = "object.json"
OBJECT_FORMAT = "openhoi-object"
OBJECT_VERSION = 1


def _write_ply(path: Path, mesh: trimesh.Trimesh) -> None:
    data = trimesh.exchange.ply.export_ply(mesh, encoding="binary", include_attributes=False)
    with atomic_open(path) as handle:
        handle.write(data)


def save_object(obj: HOIObject, folder: str | os.PathLike) -> Path:
    """Write `obj` under `<folder>/objects/`; returns its folder."""
    root = Path(folder) / OBJECTS_FOLDER
    target = root / obj.name
    faces = np.asarray(obj.mesh.faces)
    vertices = np.asarray(obj.mesh.vertices, np.float64)
    parts, order = [], []
    for index, part in enumerate(obj.parts):
        ids = np.sort(part.face_ids)
        order.append(ids)
        part_faces = faces[ids]
        used, inverse = np.unique(part_faces.reshape(-1), return_inverse=True)
        mesh = trimesh.Trimesh(vertices[used], inverse.reshape(-1, 3), process=False)
        name = f"part-{index}.ply"
        _write_ply(target / name, mesh)
        parts.append({"name": part.name, "file": name, "num_faces": len(ids)})
    affordance = np.asarray(obj.face_affordance)[np.concatenate(order)]
    labels = {}
    for column, name in enumerate(AFFORDANCE_TYPES):
        nonzero = np.flatnonzero(affordance[:, column] > 0)
        if nonzero.size:
            labels[name] = {
                "faces": nonzero.tolist(),
                "values": affordance[nonzero, column].astype(float).round(6).tolist(),
            }
    joint = obj.articulation
    record = {
        "format": OBJECT_FORMAT,
        "version": OBJECT_VERSION,
        "name": obj.name,
        "description": obj.description,
        "source": obj.source,
        "is_watertight": bool(obj.is_watertight),
        "canonical_offset": np.asarray(obj.canonical_offset, float).tolist(),
        "parts": parts,
        "articulation": None
        if joint is None
        else {
            "part": joint.part,
            "axis": np.asarray(joint.axis, float).tolist(),
            "origin": np.asarray(joint.origin, float).tolist(),
            "angle_range": list(joint.angle_range),
        },
        "face_affordance": labels,
    }
    save_json_atomic(target / OBJECT_FILE, record)
    _write_ply(root / f"{obj.name}.ply", obj.mesh)
    return target


def stored_object_names(folder: str | os.PathLike) -> list[str]:
    """Names of the objects stored under `<folder>/objects/`."""
    root = Path(folder) / OBJECTS_FOLDER
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / OBJECT_FILE).is_file())


def _read_record(target: Path) -> dict:
    """The validated `object.json` of the stored-object folder `target`."""
    path = target / OBJECT_FILE
    if not path.is_file():
        raise MissingFileError(f"stored object {target.name!r}: {str(path)!r} does not exist")
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{str(path)!r} is not valid JSON ({exc})") from exc
    if not isinstance(record, dict) or record.get("format") != OBJECT_FORMAT:
        raise InputError(f"{str(path)!r} is not an openhoi object description")
    if int(record.get("version", 0)) > OBJECT_VERSION:
        raise InputError(f"{str(path)!r} has version {record['version']}; upgrade openhoi")
    for part in record.get("parts", []):
        if not (target / part["file"]).is_file():
            raise MissingFileError(
                f"stored object {target.name!r}: part file {str(target / part['file'])!r} "
                "is missing"
            )
    return record


def stored_object_sha256(target: str | os.PathLike) -> str:
    """sha256 of a stored-object folder: `object.json`, then each listed part file."""
    target = Path(target)
    record = _read_record(target)
    return file_sha256(target / OBJECT_FILE, *(target / part["file"] for part in record["parts"]))


def stored_object_ref(folder: str | os.PathLike, name: str) -> ObjectRef:
    """The `stored:` reference of the object stored as `name` under `<folder>/objects/`."""
    target = (Path(folder) / OBJECTS_FOLDER / name).resolve()
    return ObjectRef("stored", str(target), sha256=stored_object_sha256(target))


def load_stored_object(folder: str | os.PathLike, name: str) -> HOIObject:
    """The `HOIObject` stored as `name` under `<folder>/objects/` (its `ref` is `stored:`)."""
    target = Path(folder) / OBJECTS_FOLDER / name
    ref = stored_object_ref(folder, name)
    record = _read_record(target)
    vertices, faces, parts = [], [], []
    vertex_count = face_count = 0
    for part in record["parts"]:
        part_path = target / part["file"]
        with part_path.open("rb") as handle:
            mesh = trimesh.load(io.BytesIO(handle.read()), file_type="ply", process=False)
        vertices.append(np.asarray(mesh.vertices, np.float64))
        faces.append(np.asarray(mesh.faces, np.int64) + vertex_count)
        parts.append(ObjectPart(part["name"], np.arange(face_count, face_count + len(mesh.faces))))
        vertex_count += len(mesh.vertices)
        face_count += len(mesh.faces)
    affordance = np.zeros((face_count, len(AFFORDANCE_TYPES)), np.float32)
    for label, entry in record.get("face_affordance", {}).items():
        if label not in AFFORDANCE_TYPES:
            raise InputError(f"{str(target / OBJECT_FILE)!r}: unknown affordance type {label!r}")
        affordance[np.asarray(entry["faces"], np.int64), AFFORDANCE_TYPES.index(label)] = entry[
            "values"
        ]
    joint = record.get("articulation")
    return HOIObject(
        name=record["name"],
        mesh=trimesh.Trimesh(np.concatenate(vertices), np.concatenate(faces), process=False),
        parts=tuple(parts),
        face_affordance=affordance,
        articulation=None
        if joint is None
        else Articulation(
            part=joint["part"],
            axis=np.asarray(joint["axis"]),
            origin=np.asarray(joint["origin"]),
            angle_range=tuple(joint["angle_range"]),
        ),
        is_watertight=bool(record.get("is_watertight", True)),
        source=record.get("source", ""),
        description=record.get("description", ""),
        canonical_offset=np.asarray(record.get("canonical_offset", [0.0, 0.0, 0.0])),
        ref=ref,
    )
