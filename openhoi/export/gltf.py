"""glTF 2.0 binary (`.glb`) export: skinned MANO hands, the object, and their animation.

What the file holds (y up, metres, as glTF requires; openhoi's z-up world is converted by
(x, y, z) → (x, z, −y)):

- per hand, a non-joint parent node `left_hand` / `right_hand` (so Blender makes one armature
  per hand instead of merging both into a 32-bone one) holding the 16 MANO joints in MANO order
  (`left_wrist`, `left_index1`, ...), each joint node at its rest translation relative to its
  parent; a skinned mesh node `left_hand_mesh` at the scene root whose skin lists those joints
  in MANO order with column-major inverse bind matrices `[I | −J_j]`; `JOINTS_0`/`WEIGHTS_0`
  carry each vertex's 4 largest MANO skinning weights, renormalised to sum 1 (unused slots:
  joint 0, weight 0);
- the object: a node `object` (rigid pose) with one child node per part; the articulated part's
  node is animated by the articulation angle;
- per static scene object i (`static_objects`, only when given), after the object: a node
  `static_{i}_{name}` at the scene root holding its rest-pose mesh (mesh and material of the
  same name), placed by the node's translation and rotation, not animated; the scene's
  `extras.static_objects` lists the node names;
- one animation `motion`, sampled at the sequence frame rate (key times `frame / fps`, linear
  interpolation): wrist translation (`J_0 + transl`) and every joint rotation (quaternion of
  the 6D pose), the object's translation and rotation, and the moving part's transform.

glTF has no frame-rate field: importers map seconds to frames with their own scene rate
(Blender keeps 24 fps). The sequence fps is written to `asset.extras.fps` and the scene's
`extras.fps`; set Blender's scene frame rate to it (Output Properties › Frame Rate, or
`bpy.context.scene.render.fps = 30`) so frame k of the sequence is frame k in Blender.

The skeleton reproduces `HOISequence.hand_vertices` exactly up to the top-4 weight truncation
(< 0.2 mm for the embedded hand) and MANO's pose-corrective blend shapes, which have no glTF
counterpart: they are zero for the embedded hand v1, up to 6.5 mm for the embedded hand v2
(`embedded:v2`) and a few millimetres for the official MANO files.
"""

from __future__ import annotations

import json
import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openhoi._io import atomic_open
from openhoi.errors import InputError
from openhoi.export._rig import HandRig, hand_rig, resolve_hand_models, rotations_to_y_up, to_y_up
from openhoi.export._static import StaticObject, resolve_static_objects

__all__ = ["GlbFile", "read_glb", "to_glb_bytes", "write_glb"]

# glTF enums.
_FLOAT = 5126
_UNSIGNED_BYTE = 5121
_UNSIGNED_SHORT = 5123
_UNSIGNED_INT = 5125
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_COMPONENT_DTYPES = {
    _FLOAT: np.float32,
    _UNSIGNED_BYTE: np.uint8,
    _UNSIGNED_SHORT: np.uint16,
    _UNSIGNED_INT: np.uint32,
    5120: np.int8,
    5122: np.int16,
}
_TYPE_SIZES = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT4": 16}
_GLB_MAGIC = 0x46546C67  # "glTF"
_CHUNK_JSON = 0x4E4F534A
_CHUNK_BIN = 0x004E4942
# Influences per vertex in JOINTS_0 / WEIGHTS_0.
NUM_INFLUENCES = 4

_HAND_COLOR = (0.86, 0.62, 0.52, 1.0)
_OBJECT_COLOR = (0.55, 0.60, 0.68, 1.0)
_MOVING_PART_COLOR = (0.45, 0.52, 0.62, 1.0)


class _Builder:
    """Accumulates glTF JSON and one binary buffer (every view 4-byte aligned)."""

    def __init__(self) -> None:
        self.gltf: dict = {
            "asset": {"version": "2.0", "generator": "openhoi"},
            "scene": 0,
            "scenes": [],
            "nodes": [],
            "meshes": [],
            "materials": [],
            "skins": [],
            "animations": [],
            "accessors": [],
            "bufferViews": [],
            "buffers": [],
        }
        self._blob = bytearray()

    def view(self, data: bytes, target: int | None = None) -> int:
        offset = len(self._blob)
        self._blob += data
        self._blob += b"\0" * (-len(self._blob) % 4)
        view = {"buffer": 0, "byteOffset": offset, "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self.gltf["bufferViews"].append(view)
        return len(self.gltf["bufferViews"]) - 1

    def accessor(
        self,
        array: np.ndarray,
        component: int,
        kind: str,
        *,
        target: int | None = None,
        with_bounds: bool = False,
    ) -> int:
        data = np.ascontiguousarray(array, dtype=_COMPONENT_DTYPES[component])
        width = _TYPE_SIZES[kind]
        flat = data.reshape(-1, width)
        accessor = {
            "bufferView": self.view(flat.tobytes(), target),
            "componentType": component,
            "count": int(flat.shape[0]),
            "type": kind,
        }
        if with_bounds:
            accessor["min"] = [float(v) for v in flat.min(axis=0)]
            accessor["max"] = [float(v) for v in flat.max(axis=0)]
        self.gltf["accessors"].append(accessor)
        return len(self.gltf["accessors"]) - 1

    def add(self, key: str, item: dict) -> int:
        self.gltf[key].append(item)
        return len(self.gltf[key]) - 1

    def material(self, name: str, color: tuple[float, ...]) -> int:
        return self.add(
            "materials",
            {
                "name": name,
                "pbrMetallicRoughness": {
                    "baseColorFactor": list(color),
                    "metallicFactor": 0.0,
                    "roughnessFactor": 0.8,
                },
                "doubleSided": True,
            },
        )

    def mesh(
        self,
        name: str,
        vertices: np.ndarray,
        faces: np.ndarray,
        material: int,
        extra_attributes: Mapping[str, int] | None = None,
    ) -> int:
        """A one-primitive mesh; `vertices` (V, 3) already y up."""
        attributes = {
            "POSITION": self.accessor(vertices, _FLOAT, "VEC3", target=_ARRAY_BUFFER,
                                      with_bounds=True),
            "NORMAL": self.accessor(_vertex_normals(vertices, faces), _FLOAT, "VEC3",
                                    target=_ARRAY_BUFFER),
        }  # fmt: skip
        attributes.update(extra_attributes or {})
        index_type = _UNSIGNED_SHORT if len(vertices) <= np.iinfo(np.uint16).max else _UNSIGNED_INT
        indices = self.accessor(
            np.asarray(faces).reshape(-1), index_type, "SCALAR", target=_ELEMENT_ARRAY_BUFFER
        )
        primitive = {"attributes": attributes, "indices": indices, "material": material, "mode": 4}
        return self.add("meshes", {"name": name, "primitives": [primitive]})

    def to_bytes(self) -> bytes:
        gltf = {key: value for key, value in self.gltf.items() if value != []}
        gltf["buffers"] = [{"byteLength": len(self._blob)}]
        text = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
        text += b" " * (-len(text) % 4)
        blob = bytes(self._blob)
        total = 12 + 8 + len(text) + 8 + len(blob)
        return b"".join(
            [
                struct.pack("<III", _GLB_MAGIC, 2, total),
                struct.pack("<II", len(text), _CHUNK_JSON),
                text,
                struct.pack("<II", len(blob), _CHUNK_BIN),
                blob,
            ]
        )


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """`(V, 3)` unit area-weighted vertex normals; isolated vertices get +y."""
    vertices = np.asarray(vertices, np.float64)
    faces = np.asarray(faces, np.int64)
    face_normals = np.cross(
        vertices[faces[:, 1]] - vertices[faces[:, 0]], vertices[faces[:, 2]] - vertices[faces[:, 0]]
    )
    normals = np.zeros_like(vertices)
    for corner in range(3):
        np.add.at(normals, faces[:, corner], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    safe = length[:, 0] > 1e-12
    normals[safe] /= length[safe]
    normals[~safe] = (0.0, 1.0, 0.0)
    return normals


def _quaternions(matrices: np.ndarray) -> np.ndarray:
    """`(T, ..., 3, 3)` → `(T, ..., 4)` glTF (x, y, z, w) unit quaternions, sign-continuous in T."""
    from scipy.spatial.transform import Rotation

    shape = matrices.shape[:-2]
    quats = Rotation.from_matrix(matrices.reshape(-1, 3, 3)).as_quat().reshape(*shape, 4)
    for frame in range(1, shape[0]):
        flip = np.sum(quats[frame] * quats[frame - 1], axis=-1) < 0
        quats[frame][flip] *= -1
    return quats


def _top_influences(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`(V, 16)` weights → `(V, 4)` joint ids and renormalised weights (zero slots → joint 0)."""
    order = np.argsort(-weights, axis=1, kind="stable")[:, :NUM_INFLUENCES]
    top = np.take_along_axis(weights, order, axis=1)
    top = np.where(top > 0, top, 0.0)
    top = top / top.sum(axis=1, keepdims=True)
    joints = np.where(top > 0, order, 0)
    return joints, top


def _add_hand(builder: _Builder, rig: HandRig, material: int, times: int) -> list[int]:
    """Nodes, skin and animation of one hand; returns its scene root nodes."""
    from openhoi.hand import JOINT_NAMES

    prefix = rig.side
    rest_joints = to_y_up(rig.rest_joints)
    offsets = to_y_up(rig.rest_offsets)
    # 1. Joint nodes in MANO order, at their rest (bind) translations.
    first = len(builder.gltf["nodes"])
    joint_nodes = [first + j for j in range(len(rig.parents))]
    for joint, name in enumerate(JOINT_NAMES):
        children = [joint_nodes[c] for c, p in enumerate(rig.parents) if p == joint]
        node = {"name": f"{prefix}_{name}", "translation": offsets[joint].tolist()}
        if children:
            node["children"] = children
        builder.add("nodes", node)
    armature = builder.add("nodes", {"name": f"{prefix}_hand", "children": [joint_nodes[0]]})
    # 2. Skin: inverse bind matrices [I | −J_j], column-major, in the skin's joint order.
    inverse_bind = np.tile(np.eye(4), (len(rig.parents), 1, 1))
    inverse_bind[:, :3, 3] = -rest_joints
    skin = builder.add(
        "skins",
        {
            "name": f"{prefix}_skin",
            "joints": joint_nodes,
            "skeleton": joint_nodes[0],
            "inverseBindMatrices": builder.accessor(
                np.transpose(inverse_bind, (0, 2, 1)), _FLOAT, "MAT4"
            ),
        },
    )
    # 3. Skinned mesh at the scene root (glTF ignores a skinned mesh node's own transform).
    joints, weights = _top_influences(rig.weights)
    joint_type = _UNSIGNED_BYTE if len(rig.parents) <= np.iinfo(np.uint8).max else _UNSIGNED_SHORT
    mesh = builder.mesh(
        f"{prefix}_hand",
        to_y_up(rig.rest_vertices),
        rig.faces,
        material,
        {
            "JOINTS_0": builder.accessor(joints, joint_type, "VEC4", target=_ARRAY_BUFFER),
            "WEIGHTS_0": builder.accessor(weights, _FLOAT, "VEC4", target=_ARRAY_BUFFER),
        },
    )
    mesh_node = builder.add("nodes", {"name": f"{prefix}_hand_mesh", "mesh": mesh, "skin": skin})
    # 4. Animation: wrist translation J_0 + transl, every joint's local rotation.
    wrist = to_y_up(rig.rest_joints[0] + rig.transl)
    _channel(builder, times, joint_nodes[0], "translation", wrist)
    quats = _quaternions(rotations_to_y_up(rig.rotations))  # (T, 16, 4)
    for joint, node in enumerate(joint_nodes):
        _channel(builder, times, node, "rotation", quats[:, joint])
    return [armature, mesh_node]


def _channel(builder: _Builder, times: int, node: int, path: str, values: np.ndarray) -> None:
    animation = builder.gltf["animations"][0]
    kind = "VEC4" if path == "rotation" else "VEC3"
    animation["samplers"].append(
        {
            "input": times,
            "output": builder.accessor(values, _FLOAT, kind),
            "interpolation": "LINEAR",
        }
    )
    animation["channels"].append(
        {"sampler": len(animation["samplers"]) - 1, "target": {"node": node, "path": path}}
    )


def _add_object(builder: _Builder, sequence, obj, times: int) -> int:
    """The object's node tree and animation; returns its root node."""
    part_nodes = []
    moving = obj.articulation.part if obj.articulation is not None else None
    for part, part_mesh in zip(obj.parts, obj.part_meshes(), strict=True):
        color = _MOVING_PART_COLOR if part.name == moving else _OBJECT_COLOR
        material = builder.material(f"{obj.name}_{part.name}", color)
        mesh = builder.mesh(
            f"{obj.name}_{part.name}",
            to_y_up(np.asarray(part_mesh.vertices)),
            np.asarray(part_mesh.faces),
            material,
        )
        node = builder.add("nodes", {"name": f"object_{part.name}", "mesh": mesh})
        part_nodes.append(node)
        if part.name == moving:
            transforms = obj.part_transform(part.name, np.asarray(sequence.object_angle()))
            transforms = np.asarray(transforms, np.float64).reshape(-1, 4, 4)
            _channel(builder, times, node, "translation", to_y_up(transforms[:, :3, 3]))
            quats = _quaternions(rotations_to_y_up(transforms[:, :3, :3]))
            _channel(builder, times, node, "rotation", quats)
    root = builder.add("nodes", {"name": "object", "children": part_nodes})
    transforms = np.asarray(sequence.object_transforms(), np.float64)
    _channel(builder, times, root, "translation", to_y_up(transforms[:, :3, 3]))
    _channel(
        builder, times, root, "rotation", _quaternions(rotations_to_y_up(transforms[:, :3, :3]))
    )
    return root


def _add_static_object(builder: _Builder, static: StaticObject, index: int) -> int:
    """One unanimated node holding a static object's rest-pose mesh; returns the node."""
    name = f"static_{index}_{static.obj.name}"
    mesh = builder.mesh(
        name,
        to_y_up(np.asarray(static.obj.mesh.vertices)),
        np.asarray(static.obj.mesh.faces),
        builder.material(name, _OBJECT_COLOR),
    )
    rotation = _quaternions(rotations_to_y_up(static.rotation)[None])[0]
    return builder.add(
        "nodes",
        {
            "name": name,
            "mesh": mesh,
            "translation": to_y_up(static.translation).tolist(),
            "rotation": rotation.tolist(),
        },
    )


def _resolve_object(sequence, obj):
    if obj is not None:
        return obj
    return sequence.load_object() if sequence.object_name else None


def to_glb_bytes(
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> bytes:
    """The `.glb` file of `sequence` as bytes (see the module docstring for its layout).

    Args:
        sequence: the `HOISequence` to export.
        obj: its `HOIObject`; default `sequence.load_object()`, or no object when the
            sequence names none.
        hands: `{"left": HandModel, "right": HandModel}`; missing sides use the embedded hand.
        static_objects: `(HOIObject, (4, 4) pose)` pairs of objects that stay still, pose
            canonical → world (metres, z up), drawn at rest pose.

    Returns:
        The GLB bytes (JSON chunk + BIN chunk).
    """
    models = resolve_hand_models(hands)
    statics = resolve_static_objects(static_objects)
    obj = _resolve_object(sequence, obj)
    builder = _Builder()
    fps = float(sequence.fps)
    info = {
        "fps": fps,
        "frame_count": sequence.num_frames,
        "note": (
            "glTF stores seconds, not frames: set the scene frame rate to fps "
            f"(Blender: scene.render.fps = {fps:g}) so sequence frame k is scene frame k"
        ),
    }
    builder.gltf["asset"]["extras"] = info
    builder.gltf["animations"].append({"name": "motion", "samplers": [], "channels": []})
    times = builder.accessor(
        np.arange(sequence.num_frames, dtype=np.float64) / fps, _FLOAT, "SCALAR", with_bounds=True
    )
    hand_material = builder.material("hand", _HAND_COLOR)
    roots: list[int] = []
    for side in ("left", "right"):
        roots += _add_hand(builder, hand_rig(sequence, side, models[side]), hand_material, times)
    if obj is not None:
        roots.append(_add_object(builder, sequence, obj, times))
    static_roots = [_add_static_object(builder, s, i) for i, s in enumerate(statics)]
    extras = {
        **info,
        "object_name": sequence.object_name,
        "segment_starts": sequence.segment_starts.tolist(),
        "texts": list(sequence.texts),
        "active_hands": sequence.active_hands.astype(int).tolist(),
    }
    if static_roots:
        extras["static_objects"] = [builder.gltf["nodes"][n]["name"] for n in static_roots]
    builder.gltf["scenes"].append({"name": "hoi", "nodes": roots + static_roots, "extras": extras})
    return builder.to_bytes()


def write_glb(
    path: str | os.PathLike,
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> Path:
    """Write `sequence` as a glTF 2.0 binary file atomically; returns the path.

    Raises:
        InputError: `path` does not end in `.glb`, the object/hand models do not fit, or a
            static object is not a `(HOIObject, rigid (4, 4) pose)` pair.
    """
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise InputError(f"glTF binary files end in .glb, got {str(path)!r}")
    data = to_glb_bytes(sequence, obj=obj, hands=hands, static_objects=static_objects)
    with atomic_open(path) as handle:
        handle.write(data)
    return path


@dataclass(frozen=True)
class GlbFile:
    """A parsed `.glb`: its JSON document and binary chunk.

    Attributes:
        gltf: the JSON chunk as a dict.
        binary: the BIN chunk (buffer 0).
    """

    gltf: dict
    binary: bytes

    def accessor(self, index: int) -> np.ndarray:
        """Accessor `index` as an array `(count, width)` (`(count, 4, 4)` row-major for MAT4)."""
        accessor = self.gltf["accessors"][index]
        view = self.gltf["bufferViews"][accessor["bufferView"]]
        dtype = np.dtype(_COMPONENT_DTYPES[accessor["componentType"]])
        width = _TYPE_SIZES[accessor["type"]]
        start = view.get("byteOffset", 0) + accessor.get("byteOffset", 0)
        stride = view.get("byteStride", width * dtype.itemsize)
        count = accessor["count"]
        if stride != width * dtype.itemsize:
            raise InputError(f"accessor {index}: interleaved views are not supported")
        flat = np.frombuffer(self.binary, dtype=dtype, count=count * width, offset=start)
        if accessor["type"] == "MAT4":
            return flat.reshape(count, 4, 4).transpose(0, 2, 1)
        return flat.reshape(count, width)

    def node_index(self, name: str) -> int:
        """Index of the node called `name`."""
        for index, node in enumerate(self.gltf["nodes"]):
            if node.get("name") == name:
                return index
        raise InputError(f"the glTF file has no node named {name!r}")


def read_glb(path: str | os.PathLike) -> GlbFile:
    """Parse a `.glb` file (header, JSON chunk, BIN chunk) with consistency checks.

    Raises:
        InputError: the file is not a well-formed glTF 2.0 binary.
    """
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise InputError(f"{str(path)!r} is too short to be a .glb file")
    magic, version, length = struct.unpack_from("<III", data, 0)
    if magic != _GLB_MAGIC or version != 2 or length != len(data):
        raise InputError(
            f"{str(path)!r} is not a glTF 2.0 binary (magic {magic:#x}, version {version}, "
            f"length {length} vs {len(data)} bytes)"
        )
    json_length, json_type = struct.unpack_from("<II", data, 12)
    if json_type != _CHUNK_JSON:
        raise InputError(f"{str(path)!r}: the first chunk is not JSON")
    gltf = json.loads(data[20 : 20 + json_length].decode("utf-8"))
    binary = b""
    offset = 20 + json_length
    if offset < len(data):
        bin_length, bin_type = struct.unpack_from("<II", data, offset)
        if bin_type != _CHUNK_BIN:
            raise InputError(f"{str(path)!r}: the second chunk is not BIN")
        binary = data[offset + 8 : offset + 8 + bin_length]
    return GlbFile(gltf=gltf, binary=binary)
