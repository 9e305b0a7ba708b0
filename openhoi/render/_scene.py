"""The renderable scene of a sequence: one triangle soup per frame with instance ids."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["INSTANCE_IDS", "SceneMeshes", "scene_meshes"]

# Instance mask ids (0 = background).
INSTANCE_IDS = {"background": 0, "left_hand": 1, "right_hand": 2, "object": 3}


@dataclass(frozen=True)
class SceneMeshes:
    """Everything drawn, world frame (metres, z up).

    Attributes:
        vertices: `(T, N, 3)` float32 vertices of left hand, right hand, the object, then
            the static objects (the same in every frame).
        faces: `(F, 3)` int64 triangles into `vertices`.
        face_instance: `(F,)` uint8 instance id of each triangle (`INSTANCE_IDS`; static
            objects are "object" too).
        face_part: `(F,)` int64 object part index of each triangle, −1 for hands and static
            objects.
        moving_part: index of the articulated part, −1 when none.
        keypoints: `(T, 2, 21, 3)` float32 left and right hand keypoints.
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_instance: np.ndarray
    face_part: np.ndarray
    moving_part: int
    keypoints: np.ndarray

    def framing_points(self, active_hands: np.ndarray) -> np.ndarray:
        """`(P, 3)` points the camera must see: the object always, hands when active."""
        vertex_instance = np.zeros(self.vertices.shape[1], np.uint8)
        vertex_instance[self.faces.reshape(-1)] = np.repeat(self.face_instance, 3)
        chunks = []
        for instance, column in (("left_hand", 0), ("right_hand", 1)):
            frames = np.asarray(active_hands[:, column], bool)
            if not frames.any():
                continue
            chunks.append(self.vertices[frames][:, vertex_instance == INSTANCE_IDS[instance]])
        chunks.append(self.vertices[:, vertex_instance == INSTANCE_IDS["object"]])
        points = np.concatenate([c.reshape(-1, 3) for c in chunks])
        if points.size == 0:  # no object and no active hand: frame everything
            points = self.vertices.reshape(-1, 3)
        return points


def scene_meshes(
    sequence,
    obj=None,
    hands: Mapping[str, object] | None = None,
    static_objects: Iterable = (),
) -> SceneMeshes:
    """Both hands, the object and the static objects of every frame as one triangle soup.

    Args:
        sequence: the `HOISequence`.
        obj: its `HOIObject` (default `sequence.load_object()`; none if it names no object).
        hands: `{"left": HandModel, "right": HandModel}` (default: the embedded hand).
        static_objects: `(HOIObject, (4, 4) pose)` pairs, pose canonical → world, drawn at
            rest pose in every frame.
    """
    from openhoi.export._rig import resolve_hand_models
    from openhoi.export._static import resolve_static_objects

    models = resolve_hand_models(hands)
    statics = resolve_static_objects(static_objects)
    if obj is None and sequence.object_name:
        obj = sequence.load_object()
    vertices, faces, instance, part = [], [], [], []
    keypoints = []
    offset = 0
    for side in ("left", "right"):
        model = models[side]
        hand_vertices = sequence.hand_vertices(side, model)
        vertices.append(hand_vertices)
        keypoints.append(sequence.hand_joints(side, model))
        hand_faces = np.asarray(model.faces, np.int64)
        faces.append(hand_faces + offset)
        instance.append(np.full(len(hand_faces), INSTANCE_IDS[f"{side}_hand"], np.uint8))
        part.append(np.full(len(hand_faces), -1, np.int64))
        offset += hand_vertices.shape[1]
    moving = -1
    if obj is not None:
        vertices.append(sequence.object_vertices(obj))
        object_faces = np.asarray(obj.mesh.faces, np.int64)
        faces.append(object_faces + offset)
        instance.append(np.full(len(object_faces), INSTANCE_IDS["object"], np.uint8))
        part.append(np.asarray(obj.face_part_ids, np.int64))
        if obj.articulation is not None:
            moving = obj.part_index(obj.articulation.part)
        offset += vertices[-1].shape[1]
    for static in statics:
        static_vertices = static.world_vertices()
        vertices.append(
            np.broadcast_to(static_vertices, (sequence.num_frames, *static_vertices.shape))
        )
        static_faces = np.asarray(static.obj.mesh.faces, np.int64)
        faces.append(static_faces + offset)
        instance.append(np.full(len(static_faces), INSTANCE_IDS["object"], np.uint8))
        part.append(np.full(len(static_faces), -1, np.int64))
        offset += len(static_vertices)
    return SceneMeshes(
        vertices=np.concatenate(vertices, axis=1).astype(np.float32),
        faces=np.concatenate(faces),
        face_instance=np.concatenate(instance),
        face_part=np.concatenate(part),
        moving_part=moving,
        keypoints=np.stack(keypoints, axis=1).astype(np.float32),
    )
