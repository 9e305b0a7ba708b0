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
import torch

from openhoi.data import HOISequence, layout
from openhoi.data.sequence import _interpolate_frames
from openhoi.data.transforms import chain_segments, minimum_jerk_at, orthonormalise_frames
from openhoi.errors import InputError

if TYPE_CHECKING:
    from openhoi.hand import HandModel

__all__ = ["TRANSITION_TEXT", "compose", "interpolation_bridge"]

TRANSITION_TEXT = "(transition)"

BridgeFunction = Callable[[HOISequence, HOISequence, int], HOISequence]


# Quintic Hermite basis for the end velocities (zero end accelerations): h(0) = h(1) = 0,
# h0'(0) = 1, h0'(1) = 0, h1'(0) = 0, h1'(1) = 1, h0'' = h1'' = 0 at both ends.
def _velocity_basis(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return s - 6 * s**3 + 8 * s**4 - 3 * s**5, -4 * s**3 + 7 * s**4 - 3 * s**5


def _end_velocity(frames: np.ndarray, at_end: bool, span: int = 3) -> np.ndarray:
    """Per-frame velocity of a segment's last (or first) frame, averaged over `span` steps
    so one noisy frame does not set the bridge's course."""
    span = min(span, len(frames) - 1)
    if span < 1:
        return np.zeros(frames.shape[1], np.float64)
    frames = np.asarray(frames, np.float64)
    if at_end:
        return (frames[-1] - frames[-1 - span]) / span
    return (frames[span] - frames[0]) / span


def interpolation_bridge(
    previous: HOISequence, following: HOISequence, num_frames: int
) -> HOISequence:
    """In-between frames from `previous`'s last frame to `following`'s first.

    Minimum-jerk timing with slerp for every rotation and a linear blend for translations
    and the angle, plus quintic Hermite terms that carry the velocity `previous` ends with
    and the velocity `following` starts with into the bridge, so the joins have no kink
    (each end velocity is averaged over 3 frames). The returned frames exclude both
    endpoints. Used when no model is available and as the starting point that model-based
    bridges refine.
    """
    if num_frames < 1:
        raise InputError(f"num_frames must be >= 1, got {num_frames}")
    pair = np.stack([previous.frames[-1], following.frames[0]])
    s = np.linspace(0.0, 1.0, num_frames + 2)[1:-1]
    progress = minimum_jerk_at(s).astype(np.float32)
    zeros = np.zeros(num_frames, np.int64)
    frames = _interpolate_frames(pair, zeros, zeros + 1, progress).astype(np.float64)
    # Velocities per frame → per unit of s (the bridge spans num_frames + 1 steps).
    steps = num_frames + 1
    start_velocity = _end_velocity(previous.frames, at_end=True) * steps
    end_velocity = _end_velocity(following.frames, at_end=False) * steps
    h0, h1 = _velocity_basis(s)
    frames += h0[:, None] * start_velocity[None] + h1[:, None] * end_velocity[None]
    # The velocity terms move the 6D rotation columns off the rotation manifold a little:
    # project them back (Gram-Schmidt).
    frames = orthonormalise_frames(torch.from_numpy(frames.astype(np.float32))).numpy()
    active = previous.active_hands[-1] | following.active_hands[0]
    return previous.replace(
        frames=frames.astype(np.float32),
        active_hands=np.repeat(active[None], num_frames, axis=0),
        segment_starts=np.zeros(1, np.int64),
        texts=(TRANSITION_TEXT,),
        affordance=None,
    )


def _carry_idle_hands(segments: Sequence[HOISequence]) -> list[HOISequence]:
    """A hand that does not act in a segment stays where the segment before left it.

    Each segment is sampled on its own, so an idle hand's (held) pose differs from one
    segment to the next; left as sampled, the bridges would fly it across the scene at
    every join. The first segment keeps its own.
    """
    out = [segments[0]]
    for segment in segments[1:]:
        acting = np.asarray(segment.active_hands).any(axis=0)
        frames = np.array(segment.frames)
        for index, side in enumerate(("left", "right")):
            if not acting[index]:
                block = layout.hand_slice(side)
                frames[:, block] = np.asarray(out[-1].frames)[-1, block]
        out.append(segment.replace(frames=frames))
    return out


def compose(
    segments: Sequence[HOISequence],
    *,
    bridge: BridgeFunction | None = None,
    bridge_frames: int = 15,
    hands: Mapping[str, HandModel] | None = None,
    overlap: int = 0,
) -> HOISequence:
    """One continuous sequence: chained segments with a bridge between each pair.

    Args:
        segments: canonical sub-task segments in plan order.
        bridge: `(previous, following, num_frames) -> HOISequence` making the in-between
            frames; default `interpolation_bridge`.
        bridge_frames: frames per bridge (0 joins segments directly).
        hands: hand models for the rest wrists of the rigid moves (default: embedded hand).
        overlap: every segment after the first starts with the last `overlap` frames of
            the one before (it was sampled to continue it); they are dropped at the join.
            Needs `bridge_frames=0`.

    A hand idle in a segment is held where the previous segment left it (see
    `_carry_idle_hands`), so it does not jump between sub-tasks.

    Returns:
        The joined sequence; sub-task segments keep their texts, bridges are segments with
        text `TRANSITION_TEXT`. Affordance masks are dropped when any part lacks one.
    """
    if overlap and bridge_frames:
        raise InputError("segments that overlap their predecessors join without bridges")
    if overlap < 0 or any(s.num_frames <= overlap for s in segments[1:]):
        raise InputError(f"overlap must be >= 0 and shorter than every segment, got {overlap}")
    # Chained on their overlapping frames: segment k+1's frame `overlap - 1` is put where
    # segment k's last frame is.
    chained = chain_segments(
        [s if k == 0 or not overlap else s[overlap - 1 :] for k, s in enumerate(segments)], hands
    )
    chained = _carry_idle_hands(chained)
    bridge = bridge or interpolation_bridge
    parts: list[HOISequence] = []
    for index, segment in enumerate(chained):
        if index and overlap:
            segment = segment[1:]
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
