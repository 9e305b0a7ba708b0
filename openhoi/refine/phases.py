"""Holding phases: when a hand holds the object (or one of its parts), and how it moves it.

A `HoldPhase` is a run of frames in which some hands hold the object: `carry` (the object
moves with the hands: lift, move, pour, drink, place until it lands, ...), `push` (it slides
on its support with the hand), `articulate` (the hand turns a part: open, close, twist) or
`press` (a finger presses it; it stays put). Two sources:

- the plan (`subtasks`): each sub-task's primitive says which part of its frames is held,
  as SynthHOI builds them (openhoi/synth/primitives.py): a grasp holds from its closing
  frames on, carrying primitives hold throughout, a place holds until the object stops
  moving down, articulating / pushing / pressing sub-tasks hold while the part or object
  moves (or the hand touches). Consecutive held runs of the same hands (a grasp, its
  transition and the lift after it) join into one phase: the hand never lets go there.
- the sequence alone (`subtasks=None`, any sequence): frames where a hand grips the object
  with at least two contact zones while the object moves nearby in time.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from scipy.ndimage import maximum_filter1d

from openhoi.data import HAND_SIDES, HOISequence
from openhoi.errors import InputError

if TYPE_CHECKING:
    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject

__all__ = [
    "PHASE_KINDS",
    "HoldPhase",
    "holding_phases",
    "part_world_poses",
    "primitive_behaviour",
]

PHASE_KINDS = ("carry", "push", "articulate", "press")

# How each primitive uses the object (see the module docstring).
_CARRY = ("lift", "move", "rotate", "pour", "drink", "shake", "cut", "handover")
_ARTICULATE = ("open", "close", "twist_open", "twist_close")
_BEHAVIOUR = {
    "grasp": "approach",
    "place": "place",
    "press": "press",
    "push": "push",
    **dict.fromkeys(_CARRY, "carry"),
    **dict.fromkeys(_ARTICULATE, "articulate"),
}
# A grasp holds over its last frames (SynthHOI: 0.45 s of closing, then 6 held frames).
_GRASP_HELD_FRAMES = 8
# Held runs of the same hands at most this many frames apart are one phase (a transition).
_JOIN_GAP_FRAMES = 20
# Motion thresholds: object speed (m/s) and articulation speed (rad/s) that count as moving.
_MOVING_SPEED = 0.03
_TURNING_SPEED = 0.15
# Detection without a plan: contact distance of a zone (m) and the shortest phase (frames).
_ZONE_CONTACT_M = 0.01
_MIN_PHASE_FRAMES = 5


@dataclass(frozen=True)
class HoldPhase:
    """Frames [start, end) in which `sides` hold the object body (`part` None) or a part.

    `moves_from`: the first frame at which the hands move what they hold (None: `start`);
    before it they hold it still (a grasp closing on an object that rests).
    """

    start: int
    end: int
    sides: tuple[str, ...]
    part: str | None
    kind: str
    moves_from: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise InputError(f"a hold phase needs 0 <= start < end, got [{self.start}, {self.end})")
        if not self.sides or any(side not in HAND_SIDES for side in self.sides):
            raise InputError(f"hold phase sides must be 'left'/'right', got {self.sides}")
        if self.kind not in PHASE_KINDS:
            raise InputError(f"hold phase kind must be one of {PHASE_KINDS}, got {self.kind!r}")
        if self.moves_from is not None and not self.start <= self.moves_from <= self.end:
            raise InputError(
                f"moves_from must lie in [{self.start}, {self.end}], got {self.moves_from}"
            )

    @property
    def motion_start(self) -> int:
        """The first frame at which the held object may move."""
        return self.start if self.moves_from is None else self.moves_from

    @property
    def frames(self) -> range:
        """The held frame indices."""
        return range(self.start, self.end)


def primitive_behaviour(primitive: str) -> str:
    """What a primitive does with the object: approach, carry, place, push, articulate, press."""
    try:
        return _BEHAVIOUR[primitive]
    except KeyError:
        raise InputError(f"unknown primitive {primitive!r}") from None


def _sides(hands: str) -> tuple[str, ...]:
    return HAND_SIDES if hands == "both" else (hands,)


def holding_phases(
    sequence: HOISequence,
    obj: HOIObject,
    hands: Mapping[str, HandModel] | None = None,
    *,
    subtasks: Sequence[tuple[str, str, tuple[int, int] | None]] | None = None,
) -> list[HoldPhase]:
    """The sequence's holding phases, in time order.

    Args:
        sequence: the motion (world frame).
        obj: its object.
        hands: side → hand model (default: the embedded hand); used without a plan.
        subtasks: per generated sub-task `(primitive, hands, (start, end))` in sequence
            frames (plan.json's "primitive", "hands", "frames"); entries with frames None
            are skipped. None: detect phases from contact and object motion.
    """
    if subtasks is None:
        return _detected_phases(sequence, obj, hands)
    runs: list[HoldPhase] = []
    speed = _object_speed(sequence, obj)
    for primitive, hand_choice, frames in subtasks:
        if frames is None:
            continue
        start, end = int(frames[0]), int(frames[1])
        if not 0 <= start < end <= sequence.num_frames:
            raise InputError(
                f"sub-task frames [{start}, {end}) lie outside the sequence's "
                f"{sequence.num_frames} frames"
            )
        behaviour = primitive_behaviour(primitive)
        phase = _subtask_phase(
            sequence, obj, hands, speed[start:end], behaviour, _sides(hand_choice), start, end
        )
        if phase is not None:
            runs.append(phase)
    return _join(runs)


def _subtask_phase(sequence, obj, hands, speed, behaviour, sides, start, end) -> HoldPhase | None:
    """The held part of one sub-task's frames (`speed`: the object's, over those frames)."""
    n = end - start
    if behaviour == "carry":
        return HoldPhase(start, end, sides, None, "carry")
    if behaviour == "approach":
        latest = max(start, end - min(_GRASP_HELD_FRAMES, n))
        touch = min(_touch_start(sequence, obj, hands, sides, start, end), latest)
        return HoldPhase(touch, end, sides, None, "carry", moves_from=end)
    if behaviour == "place":
        moving = np.flatnonzero(speed > _MOVING_SPEED)
        land = int(moving[-1]) + 1 if len(moving) else n // 2
        land = int(np.clip(land, round(0.35 * n), round(0.8 * n)))
        return HoldPhase(start, start + max(land, 1), sides, None, "carry")
    if behaviour == "articulate" and obj.articulation is not None:
        angle_speed = np.abs(np.gradient(sequence.object_angle()[start:end])) * sequence.fps
        span = _moving_span(angle_speed > _TURNING_SPEED, n, pad=3)
        return HoldPhase(start + span[0], start + span[1], sides[:1], obj.articulation.part,
                         "articulate")  # fmt: skip
    if behaviour == "push":
        span = _moving_span(speed > _MOVING_SPEED, n, pad=3)
        return HoldPhase(start + span[0], start + span[1], sides[:1], None, "push")
    # press (and open/close on an object without a moving part): the middle of the reach.
    lo, hi = round(0.45 * n), max(round(0.65 * n), round(0.45 * n) + 1)
    return HoldPhase(start + lo, start + hi, sides[:1], None, "press")


def _touch_start(sequence, obj, hands, sides, start, end) -> int:
    """First frame of [start, end) from which every hand in `sides` stays within
    `_ZONE_CONTACT_M` of the object (`end` when it never does): where a grasp closes."""
    from openhoi.geometry import signed_distance_parts
    from openhoi.hand import HandModel

    clip = sequence[start:end]
    poses = part_world_poses(clip, obj)
    near = np.ones(end - start, bool)
    for side in sides:
        model = (hands or {}).get(side) or HandModel(side=side)
        verts = torch.from_numpy(clip.hand_vertices(side, model)[:, ::4])
        sdf = signed_distance_parts(verts, obj.part_meshes(), poses).sdf
        near &= (sdf.amin(dim=1) < _ZONE_CONTACT_M).numpy()
    far = np.flatnonzero(~near)
    return start + (int(far[-1]) + 1 if len(far) else 0)


def part_world_poses(sequence: HOISequence, obj) -> list[torch.Tensor]:
    """Per part, `(T, 4, 4)` world poses."""
    transforms = sequence.object_transforms().astype(np.float64)
    angles = np.asarray(sequence.object_angle(), np.float64)
    return [
        torch.from_numpy(transforms @ np.asarray(obj.part_transform(p.name, angles))).float()
        for p in obj.parts
    ]


def _moving_span(moving: np.ndarray, n: int, pad: int) -> tuple[int, int]:
    """[first, last + 1) of the moving frames, padded; the middle third when none move."""
    index = np.flatnonzero(moving)
    if len(index) == 0:
        return n // 3, max(2 * n // 3, n // 3 + 1)
    return max(int(index[0]) - pad, 0), min(int(index[-1]) + 1 + pad, n)


def _object_speed(sequence: HOISequence, obj) -> np.ndarray:
    """`(T,)` speed of the object's centre, m/s."""
    centre = np.asarray(obj.points.points, np.float64).mean(axis=0)
    rotation = sequence.object_rotation().astype(np.float64)
    position = rotation @ centre + sequence.object_translation().astype(np.float64)
    if sequence.num_frames < 2:
        return np.zeros(sequence.num_frames)
    return np.linalg.norm(np.gradient(position, axis=0), axis=1) * sequence.fps


def _join(runs: list[HoldPhase]) -> list[HoldPhase]:
    """Merge held runs of the same hands, kind and part that are close in time."""
    out: list[HoldPhase] = []
    for phase in sorted(runs, key=lambda p: p.start):
        last = out[-1] if out else None
        if (
            last is not None
            and last.kind == phase.kind == "carry"
            and last.sides == phase.sides
            and last.part == phase.part
            and phase.start - last.end <= _JOIN_GAP_FRAMES
        ):
            out[-1] = HoldPhase(last.start, max(last.end, phase.end), last.sides, None, "carry",
                                moves_from=last.moves_from)  # fmt: skip
        elif last is not None and phase.start < last.end:
            # Overlap (two sub-tasks claiming the same frames): the later one starts after.
            if phase.end > last.end:
                out.append(HoldPhase(last.end, phase.end, phase.sides, phase.part, phase.kind))
        else:
            out.append(phase)
    return out


def _detected_phases(sequence, obj, hands) -> list[HoldPhase]:
    """Carry / articulate phases from grip contact and motion alone (no plan)."""
    from openhoi.geometry import signed_distance_parts
    from openhoi.hand import HandModel

    active = [s for k, s in enumerate(HAND_SIDES) if sequence.active_hands[:, k].any()]
    hands = {s: (hands or {}).get(s) or HandModel(side=s) for s in active}
    angles = np.asarray(sequence.object_angle(), np.float64)
    poses = part_world_poses(sequence, obj)
    speed = _object_speed(sequence, obj)
    turning = np.abs(np.gradient(angles)) * sequence.fps if len(angles) > 1 else np.zeros(1)
    # Moving within ±5 frames (the grip closes just before the object starts to move).
    moving = maximum_filter1d((speed > _MOVING_SPEED).astype(np.uint8), 11) > 0
    articulating = maximum_filter1d((turning > _TURNING_SPEED).astype(np.uint8), 11) > 0
    grips = {}
    for side, model in hands.items():
        verts = torch.from_numpy(sequence.hand_vertices(side, model))
        sdf = signed_distance_parts(verts, obj.part_meshes(), poses).sdf
        touching = [(sdf[:, torch.as_tensor(ids)] < _ZONE_CONTACT_M).any(dim=1)
                    for ids in model.contact_zones.values()]  # fmt: skip
        grips[side] = (torch.stack(touching, 1).sum(1) >= 2).numpy()
    phases = []
    for kind, motion in (("carry", moving & ~articulating), ("articulate", articulating)):
        if kind == "articulate" and obj.articulation is None:
            continue
        held = {side: grip & motion for side, grip in grips.items()}
        any_held = np.zeros(sequence.num_frames, bool)
        for value in held.values():
            any_held |= value
        for start, end in _runs(_fill_gaps(any_held, 10)):
            if end - start < _MIN_PHASE_FRAMES:
                continue
            sides = tuple(s for s in HAND_SIDES if s in held and held[s][start:end].mean() > 0.5)
            sides = sides or (max(held, key=lambda s: held[s][start:end].sum()),)
            part = obj.articulation.part if kind == "articulate" else None
            phases.append(HoldPhase(start, end, sides, part, kind))
    return sorted(phases, key=lambda p: p.start)


def _fill_gaps(flags: np.ndarray, gap: int) -> np.ndarray:
    """`flags` with False runs of at most `gap` frames between True runs set True."""
    out = flags.copy()
    runs = _runs(flags)
    for (_, end), (start, _) in itertools.pairwise(runs):
        if start - end <= gap:
            out[end:start] = True
    return out


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    padded = np.concatenate([[False], flags.astype(bool), [False]])
    edges = np.flatnonzero(np.diff(padded.astype(int)))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist(), strict=True))
