"""Joining a plan's segments: in-betweens from the model (the paper's) or interpolated.

`compose_segments` chains canonical sub-task segments into one sequence as a
`RefineConfig` says: continued segments join directly; otherwise consecutive segments are
bridged by `interpolation_bridge` (minimum-jerk, the default) or by `model_bridge`, the
unconditional diffusion model sampled under the transition and penetration losses of DSG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from openhoi.data import HOISequence
from openhoi.refine.compose import TRANSITION_TEXT, compose
from openhoi.refine.config import RefineConfig
from openhoi.refine.guidance import DSGConfig, DSGGuidance
from openhoi.refine.losses import LossTerm, PenetrationLoss, TransitionLoss

__all__ = ["compose_segments", "meet_endpoints", "model_bridge"]

# Bridges must meet their endpoints: they are guided at every step, at least at this rate.
_MIN_BRIDGE_RATE = 0.5
# Bridges draw their noise from seed + this offset (never a segment's own seed).
_BRIDGE_SEED_OFFSET = 10_000
_BRIDGE_VERTEX_STRIDE = 4


def compose_segments(
    obj,
    segments: Sequence[HOISequence],
    config: RefineConfig,
    *,
    hands: Mapping,
    generator=None,
    sampling=None,
    seed: int = 0,
) -> HOISequence:
    """One sequence from a plan's canonical segments, joined as `config` says.

    Args:
        obj: the object (`HOIObject`) the segments act on.
        segments: canonical segments in plan order.
        config: bridge kind and frames, continuation, loss weights for model bridges.
        hands: both hand models by side.
        generator, sampling: the `MotionGenerator` and resolved `SamplingConfig` that model
            bridges are sampled with (needed only when `config.bridge == "model"`).
        seed: the run's seed (model bridges use their own offset of it).
    """
    if config.continue_segments:  # each segment starts with its predecessor's last frame
        return compose(segments, bridge_frames=0, overlap=1, hands=hands)
    bridge = None  # compose's minimum-jerk interpolation
    if config.bridge == "model":

        def bridge(previous: HOISequence, following: HOISequence, num_frames: int):
            return model_bridge(
                generator,
                obj,
                previous,
                following,
                num_frames,
                config,
                sampling=sampling,
                hands=hands,
                seed=seed,
            )

    return compose(segments, bridge=bridge, bridge_frames=config.bridge_frames, hands=hands)


def model_bridge(
    generator,
    obj,
    previous: HOISequence,
    following: HOISequence,
    num_frames: int,
    config: RefineConfig,
    *,
    sampling,
    hands: Mapping,
    seed: int,
) -> HOISequence:
    """In-between motion from the unconditional model under the transition loss.

    The bridge is sampled in the frame where the object starts at the origin (the model's
    canonical frame), pulled by DSG onto the previous segment's last frame and the next
    segment's first, then moved back to the world frame.
    """
    import torch

    from openhoi.data.transforms import transform_sequence
    from openhoi.motion import MotionCondition

    pose = previous.object_transforms()[-1].astype(np.float64)
    inverse_r, inverse_t = pose[:3, :3].T, -pose[:3, :3].T @ pose[:3, 3]
    local_prev = transform_sequence(previous[-2:], inverse_r, inverse_t, hands)
    local_next = transform_sequence(following[:2], inverse_r, inverse_t, hands)
    start = torch.from_numpy(np.array(local_prev.frames[-1]))
    end = torch.from_numpy(np.array(local_next.frames[0]))
    terms = [
        LossTerm(
            TransitionLoss(
                start,
                end,
                start_velocity=torch.from_numpy(np.diff(local_prev.frames, axis=0)[-1]),
                end_velocity=torch.from_numpy(np.diff(local_next.frames, axis=0)[0]),
            ),
            config.transition_weight,
            "transition",
        ),
    ]
    active = previous.active_hands[-1] | following.active_hands[0]
    acting = {s: hands[s] for k, s in enumerate(("left", "right")) if active[k]}
    if acting and config.penetration_weight:
        loss = PenetrationLoss(obj, acting, vertex_stride=_BRIDGE_VERTEX_STRIDE)
        terms.append(LossTerm(loss, config.penetration_weight, "penetration"))
    which = "both" if active.all() else ("left" if active[0] else "right")
    condition = MotionCondition(
        object=obj,
        affordance=np.zeros(len(obj.points.points), np.float32),
        text="",
        hands=which,
    )
    rate = max(config.guidance_rate, _MIN_BRIDGE_RATE)
    guidance = DSGGuidance([terms], DSGConfig(guidance_rate=rate, interval=1))
    (local,) = generator.sample(
        [condition],
        num_frames,
        steps=sampling.steps,
        sampler=sampling.sampler,
        guidance_scale=0.0,
        seed=seed + _BRIDGE_SEED_OFFSET,
        guidance=guidance,
        eta=1.0,
    )
    local = local.replace(
        frames=meet_endpoints(
            np.array(local.frames),
            np.array(local_prev.frames[-1]) + np.diff(local_prev.frames, axis=0)[-1],
            np.array(local_next.frames[0]) - np.diff(local_next.frames, axis=0)[0],
        )
    )
    world = transform_sequence(local, pose[:3, :3], pose[:3, 3], hands)
    return world.replace(
        active_hands=np.repeat(active[None], num_frames, axis=0),
        texts=(TRANSITION_TEXT,),
        affordance=None,
    )


def meet_endpoints(frames: np.ndarray, first: np.ndarray, last: np.ndarray) -> np.ndarray:
    """Bend a bridge so its first/last frames continue the neighbours exactly.

    DSG pulls the bridge towards its endpoints but, with sigma_t -> 0 in the last steps,
    cannot guarantee they are met (measured: joints jumping tens of cm at boundaries). The
    residual offsets at both ends are removed with a smooth (minimum-jerk) blend across the
    bridge, which keeps the model's in-between motion; 6D blocks are re-orthonormalised.
    """
    import torch

    from openhoi.data.transforms import minimum_jerk_at, orthonormalise_frames

    weight = minimum_jerk_at(np.linspace(0.0, 1.0, len(frames)))[:, None]
    corrected = frames + (1 - weight) * (first - frames[0]) + weight * (last - frames[-1])
    return orthonormalise_frames(torch.from_numpy(corrected.astype(np.float32))).numpy()
