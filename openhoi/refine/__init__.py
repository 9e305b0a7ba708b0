"""Training-free physical refinement: DSG guidance, its losses, composition, post-hoc refinement.

The module itself is callable: `openhoi.refine(sequence, obj, **options)` is
`openhoi.api.refine` (post-hoc refinement of any sequence). Importing this sub-package
binds `openhoi.refine` to the module, so the module must answer that call too.
"""

import sys
import types

from openhoi.refine.bridges import compose_segments, model_bridge
from openhoi.refine.compose import TRANSITION_TEXT, compose, interpolation_bridge
from openhoi.refine.config import RefineConfig
from openhoi.refine.dsg import dsg_update
from openhoi.refine.guidance import DSGConfig, DSGGuidance
from openhoi.refine.losses import (
    AffordanceLoss,
    ContactLoss,
    LossTerm,
    PenetrationLoss,
    TransitionLoss,
    affordance_region,
    is_weak_mask,
)
from openhoi.refine.posthoc import PostHocConfig, RefineResult, refine_sequence

__all__ = [
    "TRANSITION_TEXT",
    "AffordanceLoss",
    "ContactLoss",
    "DSGConfig",
    "DSGGuidance",
    "LossTerm",
    "PenetrationLoss",
    "PostHocConfig",
    "RefineConfig",
    "RefineResult",
    "TransitionLoss",
    "affordance_region",
    "compose",
    "compose_segments",
    "dsg_update",
    "interpolation_bridge",
    "is_weak_mask",
    "model_bridge",
    "refine_sequence",
]


class _CallableModule(types.ModuleType):
    """`openhoi.refine` as a module that can also be called like `openhoi.api.refine`."""

    def __call__(self, sequence, obj, **options):
        from openhoi.api import refine

        return refine(sequence, obj, **options)


sys.modules[__name__].__class__ = _CallableModule
