"""Shared pieces of the in-filling tests: the shipped model (loaded once) and toy endpoints."""

from __future__ import annotations

import functools

import numpy as np

from openhoi.data import HOISequence

OBJECT = "mug"


@functools.lru_cache(maxsize=1)
def shipped_infiller():
    """The shipped motion model and hands, loaded once per test session."""
    from openhoi.infill import Infiller

    return Infiller.from_pretrained()


def fast_config(**options):
    """2 DDIM steps, no DSG / contact stage / report: seconds per call."""
    from openhoi.generate_config import GenerateConfig

    settings = {"steps": 2, "refine": False, "optimise_contacts": False,
                "kinematic_carry": False, "report": False, **options}  # fmt: skip
    return GenerateConfig.from_options(**settings)


def toy_state(right_transl, *, turn: float = 0.0, object_transl=(0.0, 0.0, 0.0), frames: int = 1):
    """A mug at `object_transl` and a right hand at `right_transl` (metres), turned `turn`
    radians about z; the left hand rests aside. `frames` copies of that state."""
    pose = np.zeros((frames, 16, 3))
    pose[:, 0, 2] = turn
    pose[:, 1:, 0] = 0.2  # fingers a little bent
    return HOISequence.from_parameters(
        right_pose=pose,
        right_transl=np.tile(np.asarray(right_transl, float), (frames, 1)),
        left_transl=np.tile([-0.35, 0.0, 0.1], (frames, 1)),
        object_transl=np.tile(np.asarray(object_transl, float), (frames, 1)),
        object_name=OBJECT,
        active_hands=np.tile([False, True], (frames, 1)),
        texts=("grasp the mug by its handle with the right hand",),
    )


def straight_line(num_frames: int, step=(0.004, -0.002, 0.001)) -> HOISequence:
    """A right hand moving at constant velocity (metres per frame) beside a still mug."""
    start = np.array([0.25, 0.05, 0.12])
    transl = start + np.arange(num_frames)[:, None] * np.asarray(step)
    return HOISequence.from_parameters(
        right_transl=transl,
        left_transl=np.tile([-0.35, 0.0, 0.1], (num_frames, 1)),
        object_name=OBJECT,
        active_hands=np.tile([False, True], (num_frames, 1)),
        texts=("reach for the mug with the right hand",),
    )
