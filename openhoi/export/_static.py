"""Static scene objects: objects shown beside the manipulated one, at a fixed world pose.

A sequence animates one object; every other object of the scene is given to the exporters and
the preview as `static_objects`, a sequence of `(HOIObject, pose)` pairs where `pose` is a
`(4, 4)` rigid transform canonical → world (metres, z up, the sequence's world). The object is
drawn in its rest pose (articulation angle 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from openhoi.errors import InputError

if TYPE_CHECKING:
    from openhoi.objects import HOIObject

__all__ = ["StaticObject", "resolve_static_objects"]

# Largest entry of |RᵀR − I| and |det R − 1| accepted as a rotation: float32 poses are
# orthonormal to about 1e-6, a scale or shear of 0.01 % is already a different object.
_ROTATION_TOLERANCE = 1e-4


@dataclass(frozen=True)
class StaticObject:
    """One object that does not move during the sequence.

    Attributes:
        obj: the `HOIObject`, drawn at rest pose.
        pose: `(4, 4)` float64 rigid transform canonical → world (read-only).
    """

    obj: HOIObject
    pose: np.ndarray

    @property
    def rotation(self) -> np.ndarray:
        """`(3, 3)` float64 rotation canonical → world."""
        return self.pose[:3, :3]

    @property
    def translation(self) -> np.ndarray:
        """`(3,)` float64 world position of the canonical origin, metres."""
        return self.pose[:3, 3]

    def world_vertices(self) -> np.ndarray:
        """`(V, 3)` float64 rest-pose mesh vertices in the world frame."""
        vertices = np.asarray(self.obj.mesh.vertices, np.float64)
        return vertices @ self.rotation.T + self.translation


def resolve_static_objects(static_objects: Iterable) -> tuple[StaticObject, ...]:
    """Check `(HOIObject, (4, 4) pose)` pairs and return them as `StaticObject`s (copies).

    Args:
        static_objects: pairs `(obj, pose)`; `pose` a rigid `(4, 4)` transform canonical →
            world, last row `[0, 0, 0, 1]`. `StaticObject`s pass through unchanged.

    Returns:
        One `StaticObject` per pair, in the order given.

    Raises:
        InputError: an item is not a pair, its object is not a `HOIObject`, or its pose is
            not a finite rigid `(4, 4)` transform.
    """
    from openhoi.objects import HOIObject

    if static_objects is None:
        return ()
    resolved = []
    for index, item in enumerate(static_objects):
        if isinstance(item, StaticObject):  # already checked
            resolved.append(item)
            continue
        where = f"static_objects[{index}]"
        try:
            obj, pose = item
        except (TypeError, ValueError) as exc:
            raise InputError(
                f"{where} must be a pair (HOIObject, (4, 4) pose), got {type(item).__name__}"
            ) from exc
        if not isinstance(obj, HOIObject):
            raise InputError(
                f"{where}: the object must be a HOIObject (openhoi.objects.load_object), "
                f"got {type(obj).__name__}"
            )
        resolved.append(StaticObject(obj=obj, pose=_check_pose(pose, f"{where} ({obj.name})")))
    return tuple(resolved)


def _check_pose(pose, where: str) -> np.ndarray:
    """`pose` as a read-only `(4, 4)` float64 copy; InputError unless finite and rigid."""
    try:
        matrix = np.array(pose, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{where}: the pose must be a (4, 4) array of numbers") from exc
    if matrix.shape != (4, 4):
        raise InputError(f"{where}: the pose must have shape (4, 4), got {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise InputError(f"{where}: the pose has non-finite values")
    if np.abs(matrix[3] - (0.0, 0.0, 0.0, 1.0)).max() > _ROTATION_TOLERANCE:
        raise InputError(f"{where}: the pose's last row must be [0, 0, 0, 1], got {matrix[3]}")
    rotation = matrix[:3, :3]
    error = max(
        float(np.abs(rotation.T @ rotation - np.eye(3)).max()),
        abs(float(np.linalg.det(rotation)) - 1.0),
    )
    if error > _ROTATION_TOLERANCE:
        raise InputError(
            f"{where}: the pose's upper-left 3×3 block must be a rotation (orthonormal, "
            f"determinant +1; off by {error:.2g}); scale the object itself (HOIObject.scaled)"
        )
    matrix[3] = (0.0, 0.0, 0.0, 1.0)
    matrix.setflags(write=False)
    return matrix
