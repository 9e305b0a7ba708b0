"""Post-hoc refinement of an existing sequence with the guidance losses.

For sequences that did not come from our sampler (another model's output, a dataset clip,
a hand-made animation): optimise a per-frame residual with Adam on the same losses the
sampler's guidance uses (penetration, affordance), plus a fidelity term keeping the motion
close to the input and an acceleration term keeping it smooth. The output is a new
`HOISequence`; the input is never modified.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from openhoi.data import HAND_SIDES, HOISequence, layout
from openhoi.data.transforms import orthonormalise_frames
from openhoi.errors import InputError
from openhoi.refine.losses import AffordanceLoss, LossTerm, PenetrationLoss, weighted_sum

if TYPE_CHECKING:
    from openhoi.hand import HandModel
    from openhoi.objects import HOIObject

__all__ = ["PostHocConfig", "RefineResult", "refine_sequence"]


@dataclass(frozen=True)
class PostHocConfig:
    """Settings of `refine_sequence`."""

    # Adam on the per-frame residual.
    num_steps: int = 60
    learning_rate: float = 1e-3
    # Loss weights (losses are in mm / mm², see refine.losses).
    penetration_weight: float = 1.0
    affordance_weight: float = 0.05
    # Keep close to the input (squared residual, translations ×10) and smooth (squared
    # second differences of the refined frames).
    fidelity_weight: float = 100.0
    smoothness_weight: float = 1000.0
    # Query every k-th hand vertex in the penetration loss (speed vs accuracy).
    vertex_stride: int = 2

    def __post_init__(self) -> None:
        if self.num_steps < 0 or self.learning_rate <= 0:
            raise InputError("num_steps must be >= 0 and learning_rate > 0")


@dataclass(frozen=True)
class RefineResult:
    """The refined sequence and the loss before and after."""

    sequence: HOISequence
    loss_before: float
    loss_after: float


def refine_sequence(
    sequence: HOISequence,
    obj: HOIObject,
    *,
    hands: Mapping[str, HandModel] | None = None,
    affordance_mask: np.ndarray | None = None,
    config: PostHocConfig | None = None,
) -> RefineResult:
    """Reduce penetration (and pull fingertips onto the affordance region) of a sequence.

    Args:
        sequence: any HOISequence; its object pose poses `obj`.
        obj: the object it interacts with.
        hands: side → hand model; default: the embedded hand for each active side.
        affordance_mask: `(1024,)` on `obj.points`; default the sequence's (max over
            segments) when it has masks, else no affordance term.
        config: settings.
    """
    from openhoi.hand import HandModel

    config = config or PostHocConfig()
    if hands is None:
        active = [s for k, s in enumerate(HAND_SIDES) if sequence.active_hands[:, k].any()]
        hands = {side: HandModel(side=side) for side in active}
    if not hands:
        raise InputError("nothing to refine: the sequence has no active hand")
    betas = torch.tensor(np.array(sequence.betas))[None]
    terms = [
        LossTerm(
            PenetrationLoss(obj, hands, betas, vertex_stride=config.vertex_stride),
            config.penetration_weight,
            "penetration",
        )
    ]
    if affordance_mask is None and sequence.affordance is not None:
        affordance_mask = sequence.affordance.max(axis=0)
    if affordance_mask is not None and config.affordance_weight:
        terms.append(
            LossTerm(AffordanceLoss(obj, hands, affordance_mask, betas), config.affordance_weight)
        )
    original = torch.tensor(np.array(sequence.frames))
    scale = torch.ones(layout.FRAME_DIM)
    for block in (layout.LEFT_HAND, layout.RIGHT_HAND, layout.OBJECT):
        scale[block.start : block.start + 3] = 10.0
    residual = torch.zeros_like(original, requires_grad=True)
    optimizer = torch.optim.Adam([residual], lr=config.learning_rate)

    def objective() -> tuple[torch.Tensor, torch.Tensor]:
        frames = original + residual
        task = weighted_sum(terms, frames[None])[0]
        fidelity = (residual * scale).pow(2).sum(dim=-1).mean()
        smooth = torch.zeros(())
        if frames.shape[0] >= 3:
            acceleration = frames[2:] - 2 * frames[1:-1] + frames[:-2]
            base = original[2:] - 2 * original[1:-1] + original[:-2]
            smooth = ((acceleration - base) * scale).pow(2).sum(dim=-1).mean()
        total = task + config.fidelity_weight * fidelity + config.smoothness_weight * smooth
        return total, task

    with torch.no_grad():
        loss_before = float(weighted_sum(terms, original[None])[0])
    for _ in range(config.num_steps):
        optimizer.zero_grad()
        total, _ = objective()
        total.backward()
        optimizer.step()
    with torch.no_grad():
        refined = orthonormalise_frames(original + residual)
        loss_after = float(weighted_sum(terms, refined[None])[0])
    if loss_after > loss_before:
        # Never hand back something worse than the input.
        refined, loss_after = original, loss_before
    return RefineResult(sequence.replace(frames=refined.numpy()), loss_before, loss_after)
