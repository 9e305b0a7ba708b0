"""Long-horizon composition: chain canonical segments and bridge them with in-betweens.

Each generated segment lives in its own canonical frame (the object starts at the origin).
`chain_segments` moves every segment rigidly so that it starts where the previous one left
the object (articulation angle included); `compose` then inserts a bridge between
consecutive segments — by default from a bridge function the pipeline supplies (the
unconditional diffusion model under the transition loss, `openhoi.api`), or a
minimum-jerk interpolation when none is given — and joins everything into one sequence
whose segments are the sub-tasks and the transitions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from openhoi.data import HOISequence
from openhoi.data.sequence import _interpolate_frames
from openhoi.data.transforms import chain_segments, minimum_jerk_at
from openhoi.errors import InputError

if TYPE_CHECKING:
    from openhoi.hand import HandModel

__all__ = ["TRANSITION_TEXT", "compose", "interpolation_bridge"]

TRANSITION_TEXT = "(transition)"

BridgeFunction = Callable[[HOISequence, HOISequence, int], HOISequence]


def interpolation_bridge(
    previous: HOISequence, following: HOISequence, num_frames: int
) -> HOISequence:
    """In-between frames easing from `previous`'s last frame to `following`'s first.

    Minimum-jerk timing, slerp for every rotation, linear blend for translations and the
    angle; the returned frames exclude both endpoints. Used when no model is available and
    as the starting point that model-based bridges refine.
    """
    if num_frames < 1:
        raise InputError(f"num_frames must be >= 1, got {num_frames}")
    pair = np.stack([previous.frames[-1], following.frames[0]])
    progress = minimum_jerk_at(np.linspace(0.0, 1.0, num_frames + 2)[1:-1]).astype(np.float32)
    zeros = np.zeros(num_frames, np.int64)
    frames = _interpolate_frames(pair, zeros, zeros + 1, progress)
    active = previous.active_hands[-1] | following.active_hands[0]
    return previous.replace(
        frames=frames,
        active_hands=np.repeat(active[None], num_frames, axis=0),
        segment_starts=np.zeros(1, np.int64),
        texts=(TRANSITION_TEXT,),
        affordance=None,
    )


def compose(
    segments: Sequence[HOISequence],
    *,
    bridge: BridgeFunction | None = None,
    bridge_frames: int = 15,
    hands: Mapping[str, HandModel] | None = None,
) -> HOISequence:
    """One continuous sequence: chained segments with a bridge between each pair.

    Args:
        segments: canonical sub-task segments in plan order.
        bridge: `(previous, following, num_frames) -> HOISequence` making the in-between
            frames; default `interpolation_bridge`.
        bridge_frames: frames per bridge (0 joins segments directly).
        hands: hand models for the rest wrists of the rigid moves (default: embedded hand).

    Returns:
        The joined sequence; sub-task segments keep their texts, bridges are segments with
        text `TRANSITION_TEXT`. Affordance masks are dropped when any part lacks one.
    """
    chained = chain_segments(segments, hands)
    bridge = bridge or interpolation_bridge
    parts: list[HOISequence] = []
    for index, segment in enumerate(chained):
        if index and bridge_frames:
            made = bridge(parts[-1], segment, bridge_frames)
            parts.append(made.replace(object_name=segment.object_name, betas=segment.betas))
        parts.append(segment)
    # Bridges touch no particular region: give them all-zero masks, so the sub-tasks'
    # masks survive the join (they are dropped only when a sub-task itself has none).
    sizes = {part.affordance.shape[1] for part in parts if part.affordance is not None}
    if len(sizes) == 1 and all(
        part.affordance is not None or part.texts == (TRANSITION_TEXT,) for part in parts
    ):
        (size,) = sizes
        parts = [
            part
            if part.affordance is not None
            else part.replace(affordance=np.zeros((part.num_segments, size), np.float32))
            for part in parts
        ]
    else:
        parts = [part.replace(affordance=None) for part in parts]
    return HOISequence.concatenate(parts)
