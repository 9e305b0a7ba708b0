"""Per-frame physics figures and per-vertex contact distances of a run, for the viewer.

The figures come from `openhoi.geometry.physics_report` (the same numbers report.json
summarises) on the posed object parts of `RunScene.part_transforms`; the contact heat from
the preview's `hand_object_distances` (a signed-distance query per hand vertex and frame).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FrameFigures", "contact_distances", "frame_figures"]

# The intersection volume is only plotted: a coarser grid than report.json's is enough and
# halves the time.
FIGURE_VOXEL_PITCH_M = 0.004


@dataclass(frozen=True)
class FrameFigures:
    """Per-frame figures, each `(T,)`.

    Attributes:
        penetration_mm: deepest hand vertex inside the object, millimetres.
        in_contact: some hand vertex within the contact threshold.
        holding: some hand grips the object (at least two contact zones).
        affordance_contact: contact lands on the sub-task's region; None without masks.
        volume_cm3: hand ∩ object volume, cm³.
    """

    penetration_mm: np.ndarray
    in_contact: np.ndarray
    holding: np.ndarray
    affordance_contact: np.ndarray | None
    volume_cm3: np.ndarray


def _posed_inputs(scene):
    import torch

    transforms = [
        torch.from_numpy(np.ascontiguousarray(scene.part_transforms[:, k]))
        for k in range(len(scene.part_vertices))
    ]
    return transforms, scene.obj.part_meshes()


def frame_figures(scene, hands=None) -> FrameFigures | None:
    """Penetration, contact, holding and volume per frame of `scene` (a `RunScene`).

    Only the hands active in some frame are measured. Returns None when the run has no
    object or no active hand.
    """
    import torch

    from openhoi.export._rig import resolve_hand_models
    from openhoi.geometry import physics_report

    active = [k for k in range(2) if scene.active_hands[:, k].any()]
    if scene.obj is None or not active:
        return None
    models = resolve_hand_models(hands)
    sides = [("left", "right")[k] for k in active]
    vertices = {
        side: torch.from_numpy(scene.hand_vertices[:, k])
        for side, k in zip(sides, active, strict=True)
    }
    transforms, meshes = _posed_inputs(scene)
    extra = {}
    if scene.masks is not None:
        extra = {
            "affordance_points": torch.tensor(scene.points),
            "affordance_mask": torch.tensor(scene.masks.max(axis=0)),
            "affordance_part_ids": torch.tensor(scene.point_parts),
        }
    report = physics_report(
        vertices,
        torch.from_numpy(scene.hand_faces),
        meshes,
        transforms,
        voxel_pitch_m=FIGURE_VOXEL_PITCH_M,
        contact_zones={s: models[s].contact_zones for s in sides},
        **extra,
    )
    return FrameFigures(
        penetration_mm=report.penetration_depth_m * 1000.0,
        in_contact=np.asarray(report.in_contact, bool),
        holding=np.asarray(report.holding, bool),
        affordance_contact=report.affordance_contact,
        volume_cm3=np.asarray(report.intersection_volume_cm3, np.float64),
    )


def contact_distances(scene) -> np.ndarray | None:
    """`(T, 2, V)` float32 signed distance (metres, < 0 inside) of every hand vertex to the
    object, or None without an object."""
    from openhoi.render.preview import hand_object_distances

    if scene.obj is None:
        return None
    num_frames, _, num_vertices, _ = scene.hand_vertices.shape
    points = scene.hand_vertices.reshape(num_frames, -1, 3)
    distances = hand_object_distances(scene.sequence, scene.obj, points)
    return distances.reshape(num_frames, 2, num_vertices)
