"""DSG for generated sub-task segments: each segment's loss terms and the guidance factory.

`SegmentLosses` builds the loss terms of one segment from its object, acting hands and
affordance mask, sharing the penetration and contact losses between segments with the same
object and hands (DSG then evaluates a shared loss once for all of them). `dsg_factory`
turns a `RefineConfig` into the guidance hook that `openhoi.motion.sample_segments` calls
for each sampler call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from openhoi.refine.config import RefineConfig
from openhoi.refine.guidance import DSGConfig, DSGGuidance
from openhoi.refine.losses import (
    AffordanceLoss,
    ContactLoss,
    LossTerm,
    PenetrationLoss,
    affordance_region,
)

__all__ = ["SegmentLosses", "dsg_config", "dsg_factory"]


def dsg_config(config: RefineConfig) -> DSGConfig:
    """The DSG step settings of `config`."""
    return DSGConfig(
        guidance_rate=config.guidance_rate,
        interval=config.interval,
        active_fraction=config.active_fraction,
    )


class SegmentLosses:
    """Loss terms per segment under one `RefineConfig`, shared where they can be.

    Args:
        hands: both hand models by side.
        config: weights (a weight of 0 leaves its loss out) and `use_guidance`.
    """

    def __init__(self, hands: Mapping, config: RefineConfig) -> None:
        self.hands = dict(hands)
        self.config = config
        self._shared: dict = {}

    def acting(self, hands: str) -> dict:
        """The hand models of "left", "right" or "both"."""
        sides = ("left", "right") if hands == "both" else (hands,)
        return {side: self.hands[side] for side in sides}

    def terms(self, obj, hands: str, affordance: np.ndarray) -> tuple[LossTerm, ...]:
        """The DSG terms of a segment of `obj` acted on by `hands`, region `affordance`.

        Empty when guidance is off. A mask with no point at or above 0.5 still guides
        (`affordance_region` takes its own top region); an all-zero mask has no region
        and gets no affordance term.
        """
        config = self.config
        if not config.use_guidance:
            return ()
        acting = self.acting(hands)
        terms = []
        if config.penetration_weight:
            stride = config.penetration_vertex_stride
            loss = self._once(
                obj,
                hands,
                "penetration",
                lambda: PenetrationLoss(obj, acting, vertex_stride=stride),
            )
            terms.append(LossTerm(loss, config.penetration_weight, "penetration"))
        if config.affordance_weight and affordance_region(affordance).any():
            loss = AffordanceLoss(obj, acting, affordance)
            terms.append(LossTerm(loss, config.affordance_weight, "affordance"))
        if config.contact_weight:
            loss = self._once(obj, hands, "contact", lambda: ContactLoss(obj, acting))
            terms.append(LossTerm(loss, config.contact_weight, "contact"))
        return tuple(terms)

    def _once(self, obj, hands: str, kind: str, make: Callable[[], object]):
        # Keyed by the object instance; the object is kept so its id stays unique.
        key = (id(obj), hands, kind)
        if key not in self._shared:
            self._shared[key] = (obj, make())
        return self._shared[key][1]


def dsg_factory(config: RefineConfig) -> Callable[[Sequence], DSGGuidance | None]:
    """`chunk -> DSGGuidance | None` for `sample_segments`; each request's `guidance` holds
    its terms. A chunk is guided only when every request in it has terms."""
    settings = dsg_config(config)

    def make(chunk: Sequence) -> DSGGuidance | None:
        if not config.use_guidance or not all(r.guidance for r in chunk):
            return None
        return DSGGuidance([list(r.guidance) for r in chunk], settings)

    return make
