"""Physics metrics of an `HOISequence`: poses hands and object, then calls geometry.metrics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

from openhoi.data import HAND_SIDES, HOISequence
from openhoi.errors import InputError
from openhoi.geometry import PhysicsReport, physics_report

if TYPE_CHECKING:
    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject

__all__ = ["sequence_physics", "static_object_penetration"]


def sequence_physics(
    sequence: HOISequence,
    obj: HOIObject,
    hands: Mapping[str, HandModel] | None = None,
    *,
    affordance_mask: np.ndarray | None = None,
) -> PhysicsReport:
    """Penetration, contact, affordance contact and intersection volume of a sequence.

    Args:
        sequence: the motion; its object pose and articulation angle pose `obj`.
        obj: the object the sequence refers to.
        hands: side → hand model for the hands to measure. Default: the embedded hand for
            every side that is active in some frame.
        affordance_mask: `(1024,)` mask on `obj.points`; default: the per-point maximum of
            the sequence's segment masks, or none when it has none. Affordance points on a
            moving part move with it (an opened lid's edge is where the lid is).

    Returns:
        `PhysicsReport` with per-frame arrays and a `summary()`.
    """
    from openhoi.hand import HandModel

    if hands is None:
        active = [s for k, s in enumerate(HAND_SIDES) if sequence.active_hands[:, k].any()]
        hands = {side: HandModel(side=side) for side in active}
    if not hands:
        raise InputError("no hand to measure: the sequence has no active hand")
    vertices = {
        side: torch.from_numpy(sequence.hand_vertices(side, model)) for side, model in hands.items()
    }
    faces = torch.tensor(next(iter(hands.values())).faces)
    body = torch.from_numpy(sequence.object_transforms()).double()
    angles = np.asarray(sequence.object_angle(), np.float64)
    transforms = [
        (
            body @ torch.from_numpy(np.asarray(obj.part_transform(part.name, angles), np.float64))
        ).float()
        for part in obj.parts
    ]
    if affordance_mask is None and sequence.affordance is not None:
        affordance_mask = sequence.affordance.max(axis=0)
    kwargs = {}
    if affordance_mask is not None:
        mask = np.asarray(affordance_mask, np.float32)
        if mask.shape != (obj.points.points.shape[0],):
            raise InputError(
                f"affordance_mask must have one value per object point "
                f"({obj.points.points.shape[0]},), got {mask.shape}"
            )
        kwargs = {
            "affordance_points": torch.tensor(np.asarray(obj.points.points), dtype=torch.float32),
            "affordance_mask": torch.from_numpy(mask),
            "affordance_part_ids": torch.tensor(np.asarray(obj.points.part_ids), dtype=torch.int64),
        }
    zones = {side: model.contact_zones for side, model in hands.items()}
    return physics_report(
        vertices, faces, obj.part_meshes(), transforms, contact_zones=zones, **kwargs
    )


def static_object_penetration(
    sequence: HOISequence,
    obj: HOIObject,
    statics: Mapping[int, tuple[HOIObject, np.ndarray]],
    hands: Mapping[str, HandModel],
) -> dict[int, dict[str, float]]:
    """How deep the hands and the moved object go into the scene's other objects.

    Args:
        sequence: the motion of `obj`.
        obj: the moved object.
        statics: index → `(HOIObject, (4, 4) world pose)` of each object standing still.
        hands: side → hand model of the hands to measure.

    Returns:
        index → `hand_penetration_max_mm`, `object_penetration_max_mm` (deepest point of any
        hand / of the moved object inside it, over all frames) and `frames_over_2mm`
        (frames in which either goes deeper than 2 mm).
    """
    from openhoi.geometry.distance import DistanceMesh, signed_distance

    hand_points = [sequence.hand_vertices(side, model) for side, model in hands.items()]
    moved = sequence.object_vertices(obj)
    out: dict[int, dict[str, float]] = {}
    for index, (other, pose) in statics.items():
        mesh = other.mesh.copy()
        mesh.apply_transform(np.asarray(pose, np.float64))
        prepared = DistanceMesh.from_trimesh(mesh)

        def depth(points: np.ndarray, prepared=prepared) -> np.ndarray:
            flat = torch.from_numpy(np.ascontiguousarray(points, np.float32).reshape(-1, 3))
            sdf = signed_distance(flat, prepared).sdf.numpy().reshape(points.shape[:2])
            return np.clip(-sdf, 0.0, None).max(axis=1)  # (T,) deepest point per frame

        hand = np.max([depth(points) for points in hand_points], axis=0) if hand_points else 0.0
        body = depth(moved)
        out[index] = {
            "hand_penetration_max_mm": float(np.max(hand) * 1000.0),
            "object_penetration_max_mm": float(body.max() * 1000.0),
            "frames_over_2mm": int((np.maximum(hand, body) > 0.002).sum()),
        }
    return out
