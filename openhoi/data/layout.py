"""The 208-D per-frame vector: named slices so no code spells out 99 or 198.

Layout (DESIGN.md, the Text2HOI / HOIGPT representation)::

    [  0: 99]  left hand   = translation 3 | global orient 6D | 15 finger joints × 6D
    [ 99:198]  right hand  = same
    [198:208]  object      = translation 3 | rotation 6D | articulation angle 1 (radians)

Translations are in metres, world frame, z up. Hand translation is the MANO
`transl` parameter (added to the posed mesh; it is not the wrist position).
Rotations use the 6D form of :mod:`openhoi.geometry.rotations`.
"""

from __future__ import annotations

__all__ = [
    "FRAME_DIM",
    "HAND_DIM",
    "HAND_FINGERS",
    "HAND_GLOBAL_ORIENT",
    "HAND_TRANSL",
    "LEFT_HAND",
    "NUM_FINGER_JOINTS",
    "OBJECT",
    "OBJECT_ANGLE",
    "OBJECT_DIM",
    "OBJECT_ROTATION",
    "OBJECT_TRANSL",
    "RIGHT_HAND",
    "ROT6D_DIM",
    "hand_slice",
]

ROT6D_DIM = 6
NUM_FINGER_JOINTS = 15
HAND_DIM = 3 + ROT6D_DIM + NUM_FINGER_JOINTS * ROT6D_DIM  # 99
OBJECT_DIM = 3 + ROT6D_DIM + 1  # 10
FRAME_DIM = 2 * HAND_DIM + OBJECT_DIM  # 208

LEFT_HAND = slice(0, HAND_DIM)
RIGHT_HAND = slice(HAND_DIM, 2 * HAND_DIM)
OBJECT = slice(2 * HAND_DIM, FRAME_DIM)

# Offsets inside one hand block.
HAND_TRANSL = slice(0, 3)
HAND_GLOBAL_ORIENT = slice(3, 3 + ROT6D_DIM)
HAND_FINGERS = slice(3 + ROT6D_DIM, HAND_DIM)

# Offsets inside the object block.
OBJECT_TRANSL = slice(0, 3)
OBJECT_ROTATION = slice(3, 3 + ROT6D_DIM)
OBJECT_ANGLE = slice(3 + ROT6D_DIM, OBJECT_DIM)


def hand_slice(side: str) -> slice:
    """The frame slice of the `"left"` or `"right"` hand block."""
    if side == "left":
        return LEFT_HAND
    if side == "right":
        return RIGHT_HAND
    raise ValueError(f"side must be 'left' or 'right', got {side!r}")
