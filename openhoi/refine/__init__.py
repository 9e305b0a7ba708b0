"""Training-free physical refinement: DSG guidance, its losses, composition, post-hoc refinement.

The module itself is callable: `openhoi.refine(sequence, obj, **options)` refines any
sequence post hoc (`refine_sequence` with `PostHocConfig(**options)`; `obj` an `HOIObject`,
built-in name, mesh path or reference). Importing a sub-package binds its name on the
parent package, so `openhoi.refine` is this module: it answers the call itself.
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
    """`openhoi.refine` as a module that can also be called (see the module docstring)."""

    def __call__(self, sequence, obj, **options) -> RefineResult:
        from openhoi.objects import HOIObject, load_object

        obj = obj if isinstance(obj, HOIObject) else load_object(obj)
        return refine_sequence(sequence, obj, config=PostHocConfig(**options))


sys.modules[__name__].__class__ = _CallableModule
