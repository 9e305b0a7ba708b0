"""Plain per-frame geometry (`meshes.npz`) for people who want vertices, not rigs.

Arrays (float32 metres, openhoi's world frame: right-handed, z up):

- `left_verts`, `right_verts`: `(T, V, 3)` posed MANO vertices of each hand;
- `hand_faces`: `(F, 3)` int64 triangles of the right hand; `left_hand_faces` and
  `right_hand_faces` give each hand's own (the left hand is a mirror image, so its triangles
  have the opposite winding to keep normals outward);
- `object_verts`: `(T, Vo, 3)` object vertices with pose and articulation applied;
- `object_faces`: `(Fo, 3)` int64 object triangles (`Vo = Fo = 0` when the sequence names
  no object);
- `fps`: float64 scalar; `active_hands`: `(T, 2)` bool (left, right).

Only when static scene objects are given (`static_objects`, N of them), also:

- `static_names`: `(N,)` str object names, in the order given;
- `static_{i}_verts`: `(Vi, 3)` rest-pose vertices of static object i, posed in the world
  (one set for all frames: it does not move);
- `static_{i}_faces`: `(Fi, 3)` int64 triangles of static object i;
- `static_{i}_pose`: `(4, 4)` float64 transform canonical → world of static object i.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from openhoi._io import save_npz_atomic
from openhoi.errors import InputError
from openhoi.export._rig import resolve_hand_models
from openhoi.export._static import resolve_static_objects

__all__ = ["to_meshes", "write_meshes"]


def to_meshes(
    sequence,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> dict[str, np.ndarray]:
    """Per-frame hand and object meshes of `sequence` (keys in the module docstring).

    Args:
        sequence: the `HOISequence`.
        obj: its `HOIObject`; default `sequence.load_object()`, none when the sequence
            names no object.
        hands: `{"left": HandModel, "right": HandModel}`; missing sides use the embedded hand.
        static_objects: `(HOIObject, (4, 4) pose)` pairs of objects that stay still, pose
            canonical → world (metres, z up), drawn at rest pose.

    Returns:
        Dict of arrays, as written to `meshes.npz`.

    Raises:
        InputError: bad hand models, or a static object that is not a `(HOIObject, rigid
            (4, 4) pose)` pair.
    """
    models = resolve_hand_models(hands)
    statics = resolve_static_objects(static_objects)
    if obj is None and sequence.object_name:
        obj = sequence.load_object()
    num_frames = sequence.num_frames
    if obj is None:
        object_verts = np.zeros((num_frames, 0, 3), np.float32)
        object_faces = np.zeros((0, 3), np.int64)
    else:
        object_verts = np.asarray(sequence.object_vertices(obj), np.float32)
        object_faces = np.asarray(obj.mesh.faces, np.int64)
    right_faces = np.asarray(models["right"].faces, np.int64)
    arrays = {
        "left_verts": np.asarray(sequence.hand_vertices("left", models["left"]), np.float32),
        "right_verts": np.asarray(sequence.hand_vertices("right", models["right"]), np.float32),
        "hand_faces": right_faces,
        "left_hand_faces": np.asarray(models["left"].faces, np.int64),
        "right_hand_faces": right_faces,
        "object_verts": object_verts,
        "object_faces": object_faces,
        "fps": np.array(sequence.fps, np.float64),
        "active_hands": np.asarray(sequence.active_hands, bool),
    }
    if statics:
        arrays["static_names"] = np.array([s.obj.name for s in statics], dtype=np.str_)
    for index, static in enumerate(statics):
        arrays[f"static_{index}_verts"] = static.world_vertices().astype(np.float32)
        arrays[f"static_{index}_faces"] = np.asarray(static.obj.mesh.faces, np.int64)
        arrays[f"static_{index}_pose"] = np.array(static.pose, np.float64)
    return arrays


def write_meshes(
    path: str | os.PathLike,
    sequence,
    *,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> Path:
    """Write `to_meshes(...)` to a compressed `.npz` atomically; returns the path."""
    path = Path(path)
    if path.suffix != ".npz":
        raise InputError(f"mesh files end in .npz, got {str(path)!r}")
    save_npz_atomic(path, to_meshes(sequence, obj, hands, static_objects))
    return path
