"""Carry the object to a second object: "put the phone in the bowl", "pour into the mug".

The motion model knows one object; it puts things down where it picked them up and pours
over the table. When a plan step has a target object (`SubTask.target_index`, set by the
planner's review from the instruction, `openhoi.mllm.scene_roles`), the composed motion is
moved, hands and object together, so that the step happens at the target:

- **place in / on**: over the first 60 % of the place step, a horizontal offset grows
  (minimum jerk) until the object's footprint centre is over the target's receiving region
  (the plan's target mask, else the target's centre), and stays for the rest of the motion.
  The scene rules (`refine.scene.object_track` with a `refine.scene.Support` holding the
  target) then lift the object over the target's rim and land it on what is under it:
  the bowl's bottom, the book's cover.
- **place beside**: the same, to a spot beside the target on the side the object came
  from, with `GAP_M` between the two.
- **pour into**: over the first 40 % of the pour, the offset grows until the object's
  pouring region (its "pour" points, else its highest point) is over the target's
  receiving region at the middle of the pour; over the first 60 % of the next place step
  it shrinks back, so the object is put down where it was taken.

Only horizontal offsets are added: heights come from the generated motion and the support.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from openhoi.data import HAND_SIDES, HOISequence, layout
from openhoi.data.transforms import minimum_jerk_at
from openhoi.errors import InputError
from openhoi.vocab import AFFORDANCE_TYPES, TARGET_RELATIONS

__all__ = ["GAP_M", "Destination", "carry_to_target", "offsets_to_target"]

GAP_M = 0.03  # free space between an object put beside its target and the target
_PLACE_RAMP = 0.6  # share of the place step over which the offset grows
_POUR_RAMP = 0.4  # share of the pour step over which the offset grows


@dataclass(frozen=True)
class Destination:
    """One step that acts towards a target object.

    Attributes:
        relation: "in", "on", "beside" (a place step) or "into" (a pour step).
        frames: `[start, end)` frames of that step in the composed sequence.
        target: the target `HOIObject`.
        target_pose: `(4, 4)` its world pose (it stands still).
        region: `(P,)` mask over the target's normalised points (the receiving region),
            or None.
        back: for a pour, `[start, end)` of the place step after it (the offset returns
            to zero there); None otherwise.
    """

    relation: str
    frames: tuple[int, int]
    target: object
    target_pose: np.ndarray
    region: np.ndarray | None = None
    back: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.relation not in TARGET_RELATIONS:
            raise InputError(
                f"relation must be one of {list(TARGET_RELATIONS)}, got {self.relation!r}"
            )
        start, end = self.frames
        if not 0 <= start < end:
            raise InputError(f"frames must be [start, end) with start < end, got {self.frames}")


def _world(pose: np.ndarray, points: np.ndarray) -> np.ndarray:
    pose = np.asarray(pose, np.float64)
    return np.asarray(points, np.float64) @ pose[:3, :3].T + pose[:3, 3]


def _region_centre(target, pose: np.ndarray, region: np.ndarray | None) -> np.ndarray:
    """`(3,)` world centre of the target's receiving region (mask-weighted), or of its
    bounding box without a usable mask."""
    points = target.normalised_points
    canonical = points.to_object_frame(points.points)
    if region is not None and len(region) == len(canonical):
        weights = np.asarray(region, np.float64)
        strong = weights >= 0.5
        if strong.sum() >= 10:
            weights = np.where(strong, weights, 0.0)
        if weights.sum() > 0:
            return _world(pose, (weights[:, None] * canonical).sum(0) / weights.sum())
    bounds = np.asarray(target.mesh.bounds, np.float64)
    return _world(pose, bounds.mean(0))


def _radius(obj) -> float:
    """Horizontal radius of the object's footprint about its canonical origin."""
    return float(np.linalg.norm(np.asarray(obj.mesh.vertices)[:, :2], axis=1).max())


def _pour_points(mover) -> np.ndarray:
    """`(N, 3)` canonical points the liquid leaves from: the "pour" region, else the top."""
    points = mover.normalised_points
    canonical = points.to_object_frame(points.points)
    if "pour" in mover.affordance_names:
        column = np.asarray(points.affordance)[:, AFFORDANCE_TYPES.index("pour")]
        if (column >= 0.5).sum() >= 5:
            return canonical[column >= 0.5]
    return canonical[np.argsort(canonical[:, 2])[-20:]]


def _ramp(num: int, start: int, stop: int) -> np.ndarray:
    """`(num,)`: 0 before `start`, minimum jerk to 1 over `[start, stop)`, 1 after."""
    out = np.zeros(num)
    stop = max(stop, start + 1)
    frames = np.arange(start, min(stop, num))
    out[frames] = minimum_jerk_at((frames - start + 1) / (stop - start))
    out[min(stop, num) :] = 1.0
    return out


def offsets_to_target(sequence: HOISequence, mover, destination: Destination) -> np.ndarray:
    """`(T, 3)` horizontal offsets that take the step to its target (module docstring)."""
    num = sequence.num_frames
    start, end = destination.frames
    end = min(end, num)
    transforms = sequence.object_transforms().astype(np.float64)
    centre = _region_centre(destination.target, destination.target_pose, destination.region)
    if destination.relation == "into":
        middle = (start + end) // 2
        spout = _world(transforms[middle], _pour_points(mover)).mean(0)
        shift = centre - spout
        weight = _ramp(num, start, start + round(_POUR_RAMP * (end - start)))
        if destination.back is not None:
            back_start, back_end = destination.back
            ramp = round(_PLACE_RAMP * (back_end - back_start))
            weight = weight * (1.0 - _ramp(num, back_start, back_start + ramp))
    else:
        here = transforms[end - 1, :3, 3]
        if destination.relation == "beside":
            came_from = transforms[start, :3, 3] - centre
            came_from[2] = 0.0
            norm = np.linalg.norm(came_from)
            direction = came_from / norm if norm > 1e-6 else np.array([-1.0, 0.0, 0.0])
            reach = _radius(destination.target) + _radius(mover) + GAP_M
            goal = centre + direction * reach
        else:
            goal = centre
        shift = goal - here
        weight = _ramp(num, start, start + round(_PLACE_RAMP * (end - start)))
    shift[2] = 0.0
    return weight[:, None] * shift[None]


def carry_to_target(
    sequence: HOISequence, mover, destinations: Sequence[Destination]
) -> HOISequence:
    """`sequence` with hands and object moved by the offsets of every destination.

    Args:
        sequence: the composed motion (object `mover`).
        mover: its object.
        destinations: the steps that act towards a target, in order.
    """
    if not destinations:
        return sequence
    offsets = np.zeros((sequence.num_frames, 3))
    for destination in destinations:
        moved = sequence.replace(frames=_shifted(sequence.frames, offsets))
        offsets = offsets + offsets_to_target(moved, mover, destination)
    return sequence.replace(frames=_shifted(sequence.frames, offsets))


def _shifted(frames: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    out = np.array(frames, np.float32)
    shift = offsets.astype(np.float32)
    out[:, layout.OBJECT][:, layout.OBJECT_TRANSL] += shift  # slices: views into `out`
    for side in HAND_SIDES:
        out[:, layout.hand_slice(side)][:, layout.HAND_TRANSL] += shift
    return out
