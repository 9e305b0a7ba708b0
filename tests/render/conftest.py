"""Shared fixture: a short sequence with both hands beside an articulated laptop."""

from __future__ import annotations

import numpy as np
import pytest

from openhoi import HOISequence


@pytest.fixture(scope="module")
def laptop_sequence() -> HOISequence:
    """20 frames, lid opening, hands sliding in from both sides, two captioned segments."""
    num_frames = 20
    ramp = np.linspace(0.0, 1.0, num_frames)[:, None]
    return HOISequence.from_parameters(
        left_transl=np.array([-0.25, 0.0, 0.08]) + ramp * np.array([0.08, 0.0, 0.0]),
        right_transl=np.array([0.15, 0.0, 0.08]) - ramp * np.array([0.08, 0.0, 0.0]),
        object_angle=np.linspace(0.0, 1.5, num_frames),
        object_name="laptop",
        segment_starts=np.array([0, 10]),
        texts=("open the laptop lid", "hold the laptop"),
    )


@pytest.fixture(scope="module")
def cup_beside() -> list:
    """A cup standing 0.45 m to the laptop's right, turned 0.5 rad about z (static object)."""
    from openhoi.objects import load_object

    pose = np.eye(4)
    pose[:3, :3] = [[np.cos(0.5), -np.sin(0.5), 0.0], [np.sin(0.5), np.cos(0.5), 0.0], [0, 0, 1]]
    pose[:3, 3] = (0.45, 0.0, 0.0)
    return [(load_object("cup"), pose)]
