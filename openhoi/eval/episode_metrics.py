"""Per-episode measurement: a generated episode against its ground truth, on sequences.

Pure measurement, shared by the benchmark protocol (`openhoi.benchmark`) and
`tools/ablate_refine.py`: accuracy of each generated sub-task segment against its
ground-truth segment in the canonical frame (object starts at the origin), physics of a
composed episode, and the joins between its segments. Nothing here generates motion.

`hands` is always `{"left": HandModel, "right": HandModel}` (the pipeline's hand models).
"""

from __future__ import annotations

import math

import numpy as np

from openhoi.data.sequence import HAND_SIDES

__all__ = [
    "RAW_FID_FRAMES",
    "acting_sides",
    "active_sides",
    "canonical",
    "episode_physics",
    "join_features",
    "keypoints",
    "raw_frames",
    "segment_accuracy",
    "transition_metrics",
    "union_mask",
]

SIDES = tuple(HAND_SIDES)
# Frames per segment of the raw-parameter FID (segments are resampled to one length).
RAW_FID_FRAMES = 30


def active_sides(sequence) -> list[str]:
    """The hands that act in some frame."""
    return [side for k, side in enumerate(SIDES) if sequence.active_hands[:, k].any()]


def acting_sides(hands: str) -> list[str]:
    """The sides that `hands` ("left", "right" or "both") names."""
    return list(SIDES) if hands == "both" else [hands]


def keypoints(sequence, sides, hands) -> np.ndarray:
    """`(T, H, 21, 3)` keypoints (metres) of `sides`."""
    return np.stack([sequence.hand_joints(side, hands[side]) for side in sides], axis=1)


def canonical(sequence, hands):
    """The sequence moved so that its first object pose is the identity (model frame)."""
    from openhoi.data.transforms import transform_sequence

    pose = sequence.object_transforms()[0].astype(np.float64)
    if np.allclose(pose, np.eye(4), atol=1e-7):
        return sequence
    rotation = pose[:3, :3].T
    return transform_sequence(sequence, rotation, -rotation @ pose[:3, 3], hands)


def union_mask(episode) -> np.ndarray | None:
    """`(P,)` per-point maximum of the episode's ground-truth segment masks (None without)."""
    masks = [np.asarray(s.affordance, np.float32).max(axis=0) for s in episode.segments
             if s.affordance is not None]  # fmt: skip
    return np.max(masks, axis=0) if masks else None


def segment_accuracy(episode, segments, hands) -> tuple[list[float], list[float], list[float]]:
    """Per segment: MPJPE (mm), root-aligned MPJPE (mm), FOL (m), in the canonical frame.

    Only the hands the sub-task names are scored; the ground truth is cut to the generated
    segment's length (generation caps a segment at the model's frame limit).
    """
    from openhoi.eval.motion_metrics import (
        final_object_location_error,
        mpjpe_mm,
        root_aligned_mpjpe_mm,
    )

    mpjpe, aligned, fol = [], [], []
    for subtask, generated, truth in zip(episode.plan, segments, episode.segments, strict=True):
        sides = acting_sides(subtask.hands)
        target = canonical(truth, hands)[: generated.num_frames]
        mine = canonical(generated, hands)
        predicted, expected = keypoints(mine, sides, hands), keypoints(target, sides, hands)
        mpjpe.append(mpjpe_mm(predicted, expected))
        aligned.append(root_aligned_mpjpe_mm(predicted, expected))
        fol.append(
            final_object_location_error(mine.object_translation(), target.object_translation())
        )
    return mpjpe, aligned, fol


def episode_physics(sequence, obj, episode, hands) -> dict[str, float]:
    """`sequence_physics(...).summary()` on the acting hands and the episode's union mask."""
    from openhoi.eval.physics import sequence_physics

    sides = active_sides(sequence) or list(SIDES)
    report = sequence_physics(
        sequence, obj, {side: hands[side] for side in sides}, affordance_mask=union_mask(episode)
    )
    return {k: v for k, v in report.summary().items() if isinstance(v, (int, float))}


def join_features(sequence, hands) -> tuple[np.ndarray, list[int]]:
    """`(T, 126)` both hands' keypoints and the frames where a new segment starts."""
    positions = keypoints(sequence, list(SIDES), hands).reshape(sequence.num_frames, -1)
    return positions, [start for start, _ in sequence.segment_ranges[1:]]


def raw_frames(segments, hands, num_frames: int = RAW_FID_FRAMES) -> np.ndarray:
    """`(N, num_frames, 208)`: each canonical segment at `num_frames` evenly spaced frames.

    The raw-parameter FID needs one length; segments differ, so each is sampled at the same
    relative instants (nearest frame), after moving it to the canonical frame.
    """
    out = []
    for segment in segments:
        frames = canonical(segment, hands).frames
        picks = np.linspace(0, len(frames) - 1, num_frames).round().astype(int)
        out.append(np.asarray(frames, np.float64)[picks])
    return np.stack(out)


def transition_metrics(sequences, hands) -> dict[str, float]:
    """SmoothRate and boundary jerk (m/s³) over the joins of a set of composed sequences."""
    from openhoi.eval.motion_metrics import (
        DEFAULT_BOUNDARY_WINDOW_FRAMES,
        boundary_jerk,
        smooth_rate,
    )

    features, boundaries, jerks = [], [], []
    for sequence in sequences:
        positions, starts = join_features(sequence, hands)
        features.append(positions)
        boundaries.append(starts)
        if starts:
            jerk = boundary_jerk(positions.reshape(len(positions), -1, 3), starts, sequence.fps)
            jerks.append(jerk.max_jerk_m_s3)
    fps = float(sequences[0].fps)
    fits = any(
        b - DEFAULT_BOUNDARY_WINDOW_FRAMES >= 0 and b + DEFAULT_BOUNDARY_WINDOW_FRAMES < len(f)
        for f, starts in zip(features, boundaries, strict=True)
        for b in starts
    )
    return {
        "smooth_rate": smooth_rate(features, boundaries, fps).smooth_rate if fits else math.nan,
        "boundary_jerk_max_m_s3": float(np.mean(jerks)) if jerks else math.nan,
    }
