"""Where objects that are not manipulated stand: in a row beside the manipulated one."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["STATIC_GAP_M", "place_beside"]

# Free space between neighbouring objects on the table, metres.
STATIC_GAP_M = 0.08


def place_beside(main, others: Sequence) -> list[np.ndarray]:
    """`(4, 4)` world poses for `others`, standing on the table (z = 0) in a row along +x.

    The manipulated object `main` starts at the origin of its segments (canonical frame,
    centred in x, y); each other object stands upright at rest, `STATIC_GAP_M` beyond the
    previous one's x-extent, centred on y = 0. Every object lives in its canonical frame
    (resting on z = 0), so a pure x-translation keeps it on the table.
    """
    poses = []
    edge = float(np.asarray(main.mesh.vertices)[:, 0].max())
    for obj in others:
        x = np.asarray(obj.mesh.vertices)[:, 0]
        pose = np.eye(4)
        pose[0, 3] = edge + STATIC_GAP_M - float(x.min())
        edge = pose[0, 3] + float(x.max())
        poses.append(pose)
    return poses
