"""BVH export of the hand skeletons (and a small BVH reader used to check it).

Layout: one root `hands` at the origin (6 channels, always zero) with two children,
`left_wrist` and `right_wrist`, each with 6 channels `Xposition Yposition Zposition Zrotation
Yrotation Xrotation` and OFFSET 0 (so the position channels are the absolute wrist position
`J_0 + transl` whether an importer adds them to the offset or replaces it). Below each wrist
are its 15 finger joints in MANO order (`left_index1`, ...) with OFFSET = rest translation from
the parent joint and 3 channels `Zrotation Yrotation Xrotation`; each finger ends in an
`End Site` at its fingertip vertex.

Rotation channels are Euler angles in degrees in the order written, composed left to right:
`R = Rz(z) · Ry(y) · Rx(x)` (intrinsic Z, then Y, then X), the local rotation of that joint.
Coordinates are metres, y up (openhoi's z-up world converted by (x, y, z) → (x, z, −y)), as
Blender's BVH importer expects by default (scale 1 keeps metres). Frame time is `1 / fps`.
The skeleton's joint positions equal `HOISequence.hand_joints(side)[:, :16]`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from openhoi._io import atomic_open
from openhoi.errors import InputError
from openhoi.export._rig import HandRig, hand_rig, resolve_hand_models, rotations_to_y_up, to_y_up

__all__ = ["BVHMotion", "read_bvh", "to_bvh_text", "write_bvh"]

ROOT_NAME = "hands"
_POSITION_CHANNELS = ("Xposition", "Yposition", "Zposition")
_ROTATION_CHANNELS = ("Zrotation", "Yrotation", "Xrotation")
# Fingertip (End Site) of the last joint of each finger, as index into `tip_positions`.
_TIP_OF_JOINT = {3: 0, 6: 1, 9: 2, 12: 3, 15: 4}


def _euler_zyx_degrees(matrices: np.ndarray) -> np.ndarray:
    """`(..., 3, 3)` → `(..., 3)` (z, y, x) degrees with `R = Rz · Ry · Rx`."""
    from scipy.spatial.transform import Rotation

    shape = matrices.shape[:-2]
    angles = Rotation.from_matrix(matrices.reshape(-1, 3, 3)).as_euler("ZYX", degrees=True)
    return angles.reshape(*shape, 3)


def _fmt(values: np.ndarray) -> str:
    return " ".join(f"{v:.6f}" for v in np.asarray(values).reshape(-1))


def _hand_hierarchy(rig: HandRig, lines: list[str], depth: int) -> None:
    from openhoi.hand import JOINT_NAMES

    offsets = to_y_up(rig.rest_offsets)
    tips = to_y_up(rig.tip_positions)
    rest = to_y_up(rig.rest_joints)

    def emit(joint: int, depth: int) -> None:
        pad = "\t" * depth
        name = f"{rig.side}_{JOINT_NAMES[joint]}"
        if joint == 0:
            lines.append(f"{pad}JOINT {name}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}\tOFFSET 0.000000 0.000000 0.000000")
            lines.append(f"{pad}\tCHANNELS 6 {' '.join(_POSITION_CHANNELS + _ROTATION_CHANNELS)}")
        else:
            lines.append(f"{pad}JOINT {name}")
            lines.append(f"{pad}{{")
            lines.append(f"{pad}\tOFFSET {_fmt(offsets[joint])}")
            lines.append(f"{pad}\tCHANNELS 3 {' '.join(_ROTATION_CHANNELS)}")
        children = [c for c, p in enumerate(rig.parents) if p == joint]
        for child in children:
            emit(child, depth + 1)
        if not children:
            tip = _TIP_OF_JOINT.get(joint)
            end = tips[tip] - rest[joint] if tip is not None else np.zeros(3)
            lines.append(f"{pad}\tEnd Site")
            lines.append(f"{pad}\t{{")
            lines.append(f"{pad}\t\tOFFSET {_fmt(end)}")
            lines.append(f"{pad}\t}}")
        lines.append(f"{pad}}}")

    emit(0, depth)


def _hand_motion(rig: HandRig) -> np.ndarray:
    """`(T, 6 + 15·3)` channel values of one hand in hierarchy (depth-first) order."""
    wrist = to_y_up(rig.rest_joints[0] + rig.transl)  # (T, 3)
    angles = _euler_zyx_degrees(rotations_to_y_up(rig.rotations))  # (T, 16, 3)
    columns = [wrist, angles[:, 0]]
    for joint in _depth_first(rig.parents)[1:]:
        columns.append(angles[:, joint])
    return np.concatenate(columns, axis=1)


def _depth_first(parents: tuple[int, ...]) -> list[int]:
    order: list[int] = []

    def visit(joint: int) -> None:
        order.append(joint)
        for child, parent in enumerate(parents):
            if parent == joint:
                visit(child)

    visit(0)
    return order


def to_bvh_text(sequence, *, hands: Mapping[str, object] | None = None) -> str:
    """The BVH file of both hands of `sequence` (layout in the module docstring)."""
    models = resolve_hand_models(hands)
    rigs = [hand_rig(sequence, side, models[side]) for side in ("left", "right")]
    lines = [
        "HIERARCHY",
        f"ROOT {ROOT_NAME}",
        "{",
        "\tOFFSET 0.000000 0.000000 0.000000",
        f"\tCHANNELS 6 {' '.join(_POSITION_CHANNELS + _ROTATION_CHANNELS)}",
    ]
    for rig in rigs:
        _hand_hierarchy(rig, lines, 1)
    lines.append("}")
    motion = np.concatenate(
        [np.zeros((sequence.num_frames, 6))] + [_hand_motion(rig) for rig in rigs], axis=1
    )
    lines += ["MOTION", f"Frames: {sequence.num_frames}", f"Frame Time: {1.0 / sequence.fps:.8f}"]
    lines += [_fmt(row) for row in motion]
    return "\n".join(lines) + "\n"


def write_bvh(
    path: str | os.PathLike, sequence, *, hands: Mapping[str, object] | None = None
) -> Path:
    """Write the hand skeleton animation of `sequence` as BVH atomically; returns the path."""
    path = Path(path)
    if path.suffix.lower() != ".bvh":
        raise InputError(f"BVH files end in .bvh, got {str(path)!r}")
    text = to_bvh_text(sequence, hands=hands)
    with atomic_open(path) as handle:
        handle.write(text.encode("ascii"))
    return path


@dataclass(frozen=True)
class BVHMotion:
    """A parsed BVH file.

    Attributes:
        names: `J` joint names in file (depth-first) order; End Sites are not joints.
        parents: `J` parent index per joint, −1 for a root.
        offsets: `(J, 3)` OFFSET of each joint.
        channels: per joint, its channel names.
        motion: `(T, C)` channel values, C = total channel count.
        frame_time: seconds per frame.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    channels: tuple[tuple[str, ...], ...]
    motion: np.ndarray
    frame_time: float

    def joint_positions(self) -> np.ndarray:
        """`(T, J, 3)` world joint positions by forward kinematics (file's units and axes).

        A joint's local transform is translation `OFFSET + position channels`, then its
        rotation channels composed in the order written.
        """
        from scipy.spatial.transform import Rotation

        num_frames = self.motion.shape[0]
        world_rot = np.zeros((num_frames, len(self.names), 3, 3))
        world_pos = np.zeros((num_frames, len(self.names), 3))
        column = 0
        for joint, (parent, channels) in enumerate(zip(self.parents, self.channels, strict=True)):
            local_pos = np.tile(self.offsets[joint], (num_frames, 1))
            local_rot = np.tile(np.eye(3), (num_frames, 1, 1))
            for name in channels:
                values = self.motion[:, column]
                column += 1
                axis = "XYZ".index(name[0].upper())
                if name.lower().endswith("position"):
                    local_pos[:, axis] += values
                else:
                    step = Rotation.from_euler(name[0].upper(), values[:, None], degrees=True)
                    local_rot = local_rot @ step.as_matrix().reshape(num_frames, 3, 3)
            if parent < 0:
                world_rot[:, joint], world_pos[:, joint] = local_rot, local_pos
            else:
                world_pos[:, joint] = world_pos[:, parent] + np.einsum(
                    "tij,tj->ti", world_rot[:, parent], local_pos
                )
                world_rot[:, joint] = world_rot[:, parent] @ local_rot
        return world_pos


def read_bvh(path: str | os.PathLike) -> BVHMotion:
    """Parse a BVH file (any hierarchy, any channel order).

    Raises:
        InputError: the file is not well-formed BVH.
    """
    tokens = Path(path).read_text(encoding="ascii").split()
    names: list[str] = []
    parents: list[int] = []
    offsets: list[list[float]] = []
    channels: list[tuple[str, ...]] = []
    stack: list[int] = []
    position = 0
    in_end_site = False
    try:
        if tokens[0] != "HIERARCHY":
            raise InputError(f"{str(path)!r} does not start with HIERARCHY")
        position = 1
        while tokens[position] != "MOTION":
            token = tokens[position]
            if token in ("ROOT", "JOINT"):
                names.append(tokens[position + 1])
                parents.append(stack[-1] if stack else -1)
                position += 2
            elif token == "End":
                in_end_site = True
                position += 2
            elif token == "{":
                stack.append(-2 if in_end_site else len(names) - 1)
                position += 1
            elif token == "}":
                stack.pop()
                in_end_site = False
                position += 1
            elif token == "OFFSET":
                values = [float(v) for v in tokens[position + 1 : position + 4]]
                if not in_end_site:
                    offsets.append(values)
                position += 4
            elif token == "CHANNELS":
                count = int(tokens[position + 1])
                channels.append(tuple(tokens[position + 2 : position + 2 + count]))
                position += 2 + count
            else:
                raise InputError(f"{str(path)!r}: unexpected token {token!r} in HIERARCHY")
        num_frames = int(tokens[position + 2])
        frame_time = float(tokens[position + 5])
        values = np.array(tokens[position + 6 :], dtype=np.float64)
    except (IndexError, ValueError) as exc:
        raise InputError(f"{str(path)!r} is not a well-formed BVH file ({exc})") from exc
    width = sum(len(c) for c in channels)
    if values.size != num_frames * width or len(offsets) != len(names):
        raise InputError(
            f"{str(path)!r}: expected {num_frames} frames of {width} values, got {values.size}"
        )
    return BVHMotion(
        names=tuple(names),
        parents=tuple(parents),
        offsets=np.array(offsets, np.float64),
        channels=tuple(channels),
        motion=values.reshape(num_frames, width),
        frame_time=frame_time,
    )
